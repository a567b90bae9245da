#!/usr/bin/python3
"""
test_bounces.py: what comes back after the relay said 250.  Every message
leaves with a VERP envelope sender bTOKEN@bounces.test; fanfared's
bounce listener (bounce_listen) takes the DSNs and complaints sent to
those addresses.

  1. a real round trip: fanfared relays through a private Postfix
     instance (its own config, queue and ports, started and stopped here
     as root) whose next hop (contrib/smtp-capture.py) answers 550 for
     one recipient and 451 for another; Postfix itself writes the DSNs
     (a bounce at once, a delay warning after delay_warning_time) and
     delivers them to the bounce listener through a transport map.  The
     hard-bounced address is suppressed and skipped by the next campaign,
     the delayed one counted soft; stats and GET /v1/bounces show both;
  2. soft bounces in a row: soft_bounce_limit delay DSNs suppress;
  3. a complaint, an ARF report built with Python's email package as a
     provider sends it: opted out, counted, not mailed again;
  4. bad input: unknown, forged, stale and tracking-token addresses (550
     at RCPT), a wrong domain; a plain mail, a truncated DSN, a DSN
     naming someone else, a huge one, an overlong line, too many
     connections: refused or recorded as unrecognised, nobody else
     suppressed, the daemon still up;
  5. erasure of a person: their bounce log entries go, their address
     stays suppressed.

Postfix runs only as root (its master drops to the postfix user): the
round trip is skipped otherwise.
"""
import base64
import email.message
import email.policy
import email.utils
import hashlib
import hmac
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, campaign,
                     can_connect, diag, done, free_port, launch, must,
                     new_campaign,
                     new_list, new_template, new_tenant, ok, run, skip,
                     stats, tmpdir, wait_done, wait_for)

ADMIN = "admin-" + "b" * 40
BOUNCE_DOMAIN = "bounces.test"
SOFT_LIMIT = 3


# ------------------------------------------------------------- VERP, here

B32 = "abcdefghijklmnopqrstuvwxyz234567"


def b32(raw):
    return base64.b32encode(raw).decode().rstrip("=").lower()


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def verp_local(secret, tenant, campaign_id, contact, day=None):
    """verp.c's local part, made here from the secret file: to forge,
    age and compare tokens without asking fanfared."""
    if day is None:
        day = int(time.time()) // 86400
    kid = hashlib.sha256(secret).digest()[0]
    raw = bytes([kid]) + varint(day) + varint(int(tenant)) + \
        varint(int(campaign_id)) + varint(int(contact))
    mac = hmac.new(secret, b"fanfare-verp:" + raw, hashlib.sha256).digest()
    return "b" + b32(raw + mac[:10])


def secret_of(ff):
    with open(ff.secret_file, "rb") as f:
        return f.read().rstrip()


# ---------------------------------------------------------------- Postfix

MAIN_CF = """compatibility_level = 3.6
queue_directory = %(d)s/queue
data_directory = %(d)s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test
mydomain = relay.test
myorigin = relay.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:%(next_hop)d
transport_maps = texthash:%(d)s/transport
smtp_dns_support_level = disabled
maillog_file_prefixes = %(d)s
maillog_file = %(d)s/maillog
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 1s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
smtpd_tls_security_level = none
smtp_tls_security_level = none
biff = no
"""

MASTER_CF = """127.0.0.1:%(port)d inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def postfix_binary():
    return shutil.which("postfix") or (
        "/usr/sbin/postfix" if os.path.exists("/usr/sbin/postfix") else None)


class Postfix:
    """A private Postfix: its own config dir, queue dir and port; mail for
    the bounce domain goes to fanfared's bounce listener, the rest to
    next_hop."""

    def __init__(self, next_hop, bounce_port):
        self.dir = tmpdir("ff-postfix-")
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "queue"), mode=0o755)
        data = os.path.join(self.dir, "data")
        os.makedirs(data, mode=0o700)
        shutil.chown(data, user="postfix")
        # The postfix user must reach data/ and the queue: tmpdir makes
        # the directory 0700; 0755 keeps it unwritable by others, as
        # postfix check wants.
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(MAIN_CF % {"d": self.dir, "next_hop": next_hop})
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(MASTER_CF % {"port": self.port})
        with open(os.path.join(self.dir, "transport"), "w") as f:
            f.write("%s smtp:[127.0.0.1]:%d\n" % (BOUNCE_DOMAIN, bounce_port))
        self.started = False

    def _postfix(self, *args):
        return subprocess.run([postfix_binary(), "-c", self.dir] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=60)

    def start(self):
        p = self._postfix("start")
        self.started = True
        if p.returncode != 0:
            raise RuntimeError("postfix start: %s\n%s" % (
                p.stdout.decode(errors="replace"), self.log()[-2000:]))
        if not wait_for(lambda: can_connect(self.port), timeout=10):
            raise RuntimeError("postfix: nothing on :%d\n%s"
                               % (self.port, self.log()[-2000:]))
        return self

    def stop(self):
        if self.started:
            self._postfix("stop")
            self.started = False

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"),
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ---------------------------------------------------------------- helpers


def bounces(ff, key, limit=100, cursor=None):
    path = "/v1/bounces?limit=%d" % limit
    if cursor:
        path += "&cursor=" + cursor
    return call(ff, "GET", path, key)


def bounce_items(ff, key):
    st, js, _ = bounces(ff, key, limit=1000)
    return js["items"] if st == 200 and js else []


def by_email(items, addr, kind=None):
    return [i for i in items if i.get("email") == addr and
            (kind is None or i.get("kind") == kind)]


def contact_id(ff, key, addr):
    st, js, _ = call(ff, "GET", "/v1/contacts/%s" % addr, key)
    return js["id"] if st == 200 else None


def setup_campaign(ff, key, emails, name="L"):
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails, name=name)
    tpl = new_template(ff, key, "Hello", "<p>Hi</p>", "Hi")
    return lid, tpl


def send(port, rcpt, msg_bytes, mail_from=""):
    """One SMTP transaction with the bounce listener: the (code, text) of
    the reply to DATA, or of RCPT when it was refused."""
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo("mta.test")
        code, text = s.mail(mail_from)
        if code != 250:
            return code, text
        code, text = s.rcpt(rcpt)
        if code != 250:
            return code, text
        return s.data(msg_bytes)


def dsn(final_rcpt, action, status, diagnostic, truncate=False):
    """A DSN as an MTA writes it (RFC 3464), with the email package."""
    m = MIMEMultipart("report", report_type="delivery-status")
    m["From"] = "MAILER-DAEMON@mta.test"
    m["To"] = "bounce@%s" % BOUNCE_DOMAIN
    m["Subject"] = "Delivery Status Notification"
    m["Date"] = email.utils.formatdate()
    m.attach(MIMEText("Your message could not be delivered.\n"))
    ds = MIMEBase("message", "delivery-status")
    per_msg = email.message.Message()
    per_msg["Reporting-MTA"] = "dns; mta.test"
    per_msg["Arrival-Date"] = email.utils.formatdate()
    per_rcpt = email.message.Message()
    per_rcpt["Final-Recipient"] = "rfc822; %s" % final_rcpt
    per_rcpt["Action"] = action
    per_rcpt["Status"] = status
    per_rcpt["Diagnostic-Code"] = "smtp; %s" % diagnostic
    ds.set_payload([per_msg, per_rcpt])
    m.attach(ds)
    m.attach(MIMEText("Subject: Hello\nFrom: news@acme.test\n\n"
                      "the original message\n", "rfc822-headers"))
    raw = m.as_bytes(policy=email.policy.SMTP)
    if truncate:
        # Cut inside the delivery-status part: no closing delimiter.
        at = raw.index(b"Action:")
        raw = raw[:at + 8]
    return raw


def arf(original_rcpt):
    """An ARF complaint (RFC 5965) as a mailbox provider sends it."""
    m = MIMEMultipart("report", report_type="feedback-report")
    m["From"] = "fbl@provider.test"
    m["To"] = "fbl@%s" % BOUNCE_DOMAIN
    m["Subject"] = "FW: Hello"
    m["Date"] = email.utils.formatdate()
    m.attach(MIMEText("This is an email abuse report for an email message "
                      "received from IP 192.0.2.1.\n"))
    fr = MIMEBase("message", "feedback-report")
    fr.set_payload("Feedback-Type: abuse\n"
                   "User-Agent: SomeGenerator/1.0\n"
                   "Version: 1\n"
                   "Original-Mail-From: <b@%s>\n"
                   "Original-Rcpt-To: <%s>\n"
                   "Arrival-Date: %s\n"
                   "Source-IP: 192.0.2.1\n" % (
                       BOUNCE_DOMAIN, original_rcpt,
                       email.utils.formatdate()))
    m.attach(fr)
    orig = email.message.EmailMessage()
    orig["From"] = "News <news@acme.test>"
    orig["To"] = original_rcpt
    orig["Subject"] = "Hello"
    orig.set_content("Hi\n")
    m.attach(MIMEMessage(orig))
    return m.as_bytes(policy=email.policy.SMTP)


def suppressed_bounce(redis, tid, addr):
    return redis.cmd("ZSCORE", "{t:%s}:bounces" % tid, addr) is not None


# ------------------------------------------------------------------ tests


def test_round_trip(ff, relay, redis):
    if os.geteuid() != 0 or postfix_binary() is None:
        skip("round trip through Postfix", "needs root and Debian's postfix")
        return
    hard, soft = "hard@rt.test", "soft@rt.test"
    fine = ["ok%d@rt.test" % i for i in range(3)]
    relay.fresh({"reject_rcpts": [hard], "tempfail_rcpts": [soft]})
    pf = Postfix(relay.port, ff.bounce_port)
    try:
        pf.start()
        ff.stop()
        ff.directives["smtp_relay"] = "127.0.0.1:%d" % pf.port
        rewrite_conf(ff)
        ff.start()
        tid, key = new_tenant(ff, "RoundTrip")
        emails = fine + [hard, soft]
        lid, tpl = setup_campaign(ff, key, emails)
        cid = new_campaign(ff, key, tpl, lid)
        launch(ff, key, cid)
        js = wait_done(ff, key, cid, timeout=60)
        p = js.get("progress", {})
        ok(js.get("status") == "done" and p.get("sent") == 5,
           "Postfix accepts all 5 (the outcome comes later)", repr(js))
        # The next hop saw VERP envelope senders (once Postfix relayed).
        wait_for(lambda: len(relay.accepted()) >= len(fine), timeout=30)
        froms = {e["rcpt_tos"][0].lower(): e["mail_from"]
                 for e in relay.accepted()}
        want = {a: "%s@%s" % (verp_local(secret_of(ff), tid, cid,
                                         contact_id(ff, key, a)),
                              BOUNCE_DOMAIN) for a in fine}
        ok(all(froms.get(a, "").lower() == want[a] for a in fine),
           "each message leaves with its own VERP envelope sender",
           "got %r\nwant %r" % (froms, want))
        t0 = time.monotonic()
        got = wait_for(lambda: (lambda it: it if by_email(it, hard, "hard")
                                and by_email(it, soft, "soft") else None)(
            bounce_items(ff, key)), timeout=60, interval=0.5)
        secs = time.monotonic() - t0
        items = bounce_items(ff, key)
        ok(got, "Postfix's DSNs reach the bounce listener: a bounce and a "
           "delay warning (%.1f s)" % secs,
           "%r\n--- postfix log:\n%s\n--- fanfared:\n%s" % (
               items, pf.log()[-3000:], open(ff.log).read()[-2000:]))
        h = by_email(items, hard, "hard")
        s = by_email(items, soft, "soft")
        ok(h and h[0]["status"].startswith("5.") and
           "550" in h[0]["diagnostic"] and h[0]["campaign"] == cid and
           h[0].get("at"),
           "GET /v1/bounces: the hard bounce with its status, the next "
           "hop's 550 and the campaign", repr(h))
        ok(s and s[0]["status"].startswith("4.") and s[0]["campaign"] == cid,
           "GET /v1/bounces: the delayed one is soft, 4.x.x", repr(s))
        ok(not [i for i in items if i["email"] in fine],
           "nothing recorded for the delivered ones", repr(items))
        st = stats(ff, key, cid)
        ok(st.get("bounced") == 1 and st.get("bounces", {}).get("hard") == 1
           and st.get("bounces", {}).get("soft", 0) >= 1 and
           st.get("complaints") == 0,
           "stats: bounced 1, bounces.hard 1, bounces.soft >= 1, "
           "complaints 0", repr(st))
        ok(suppressed_bounce(redis, tid, hard) and
           not suppressed_bounce(redis, tid, soft) and
           not any(suppressed_bounce(redis, tid, a) for a in fine),
           "only the hard-bounced address is suppressed")
        # The next campaign skips it.
        n_log = len(relay.log())
        relay.set_faults({})
        cid2 = new_campaign(ff, key, tpl, lid)
        launch(ff, key, cid2)
        js = wait_done(ff, key, cid2, timeout=60)
        p = js.get("progress", {})
        ok(js.get("status") == "done" and
           (p.get("suppressed") or {}).get("bounced") == 1 and
           p.get("sent") == 4,
           "the next campaign: suppressed.bounced 1, sent 4", repr(js))
        seen = wait_for(lambda: (lambda rs: rs if len(rs) >= 4 else None)(
            {e["rcpt_tos"][0].lower() for e in relay.log()[n_log:]
             if "seq" in e}), timeout=30)
        ok(seen and hard not in seen,
           "the hard-bounced address is not mailed again", repr(seen))
    finally:
        pf.stop()


def rewrite_conf(ff):
    with open(ff.conf, "w") as f:
        for k, v in ff.directives.items():
            for one in (v if isinstance(v, (list, tuple)) else [v]):
                if one is not None:
                    f.write("%s %s\n" % (k, one))


def test_soft_limit(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Soft")
    addr = "flaky@soft.test"
    lid, tpl = setup_campaign(ff, key, [addr, "fine@soft.test"])
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    wait_done(ff, key, cid)
    rcpt = "%s@%s" % (verp_local(secret_of(ff), tid, cid,
                                 contact_id(ff, key, addr)), BOUNCE_DOMAIN)
    codes = []
    for i in range(SOFT_LIMIT):
        if i == SOFT_LIMIT - 1:
            ok(not suppressed_bounce(redis, tid, addr),
               "%d soft bounces: not suppressed yet" % i)
        codes.append(send(ff.bounce_port, rcpt.upper() if i == 1 else rcpt,
                          dsn(addr, "delayed", "4.2.2",
                              "452 4.2.2 mailbox full"))[0])
    ok(codes == [250] * SOFT_LIMIT,
       "%d delay DSNs accepted (one to the address in upper case, as an "
       "MTA may write it)" % SOFT_LIMIT, repr(codes))
    ok(suppressed_bounce(redis, tid, addr),
       "soft_bounce_limit (%d) in a row: suppressed" % SOFT_LIMIT)
    st = stats(ff, key, cid)
    ok(st.get("bounces", {}).get("soft") == SOFT_LIMIT and
       st.get("bounced") == 0,
       "stats: bounces.soft %d, bounced 0" % SOFT_LIMIT, repr(st))
    ok(not suppressed_bounce(redis, tid, "fine@soft.test"),
       "the other recipient is not suppressed")


def test_complaint(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Complaint")
    who, other = "angry@fbl.test", "happy@fbl.test"
    lid, tpl = setup_campaign(ff, key, [who, other])
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    wait_done(ff, key, cid)
    mail_from = [e["mail_from"] for e in relay.accepted()
                 if e["rcpt_tos"][0].lower() == who]
    ok(len(mail_from) == 1 and mail_from[0].endswith("@" + BOUNCE_DOMAIN),
       "the message went out with a VERP sender", repr(mail_from))
    code, text = send(ff.bounce_port, mail_from[0], arf(who))
    ok(code == 250, "the ARF report is accepted", "%s %r" % (code, text))
    st, js, _ = call(ff, "GET", "/v1/optouts", key)
    ok(st == 200 and [i for i in js["items"] if i["email"] == who] and
       not [i for i in js["items"] if i["email"] == other],
       "the complainer is opted out, the other not", repr(js))
    s = stats(ff, key, cid)
    ok(s.get("complaints") == 1, "stats: complaints 1", repr(s))
    items = bounce_items(ff, key)
    ok(by_email(items, who, "complaint") and
       by_email(items, who, "complaint")[0]["diagnostic"] == "abuse",
       "GET /v1/bounces lists the complaint", repr(items))
    # The same report again: counted once.
    send(ff.bounce_port, mail_from[0], arf(who))
    ok(stats(ff, key, cid).get("complaints") == 1,
       "a repeated report is not counted twice")
    n_log = len(relay.log())
    cid2 = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid2)
    js = wait_done(ff, key, cid2)
    p = js.get("progress", {})
    ok((p.get("suppressed") or {}).get("complained") == 1 and
       p.get("sent") == 1,
       "the next campaign: suppressed.complained 1, sent 1", repr(js))
    again = {e["rcpt_tos"][0].lower() for e in relay.log()[n_log:]
             if "seq" in e}
    ok(again == {other}, "the complainer is not mailed again", repr(again))


def smtp_raw(port, lines, timeout=10):
    """Sends lines (bytes, CRLF added) and reads until the server closes
    or goes quiet: all it said."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(2)
    out = b""
    try:
        out += s.recv(4096)
        for l in lines:
            s.sendall(l + b"\r\n")
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    except OSError:
        pass
    s.close()
    return out


def test_bad_input(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Bad")
    victim, sender = "victim@bad.test", "x@bad.test"
    lid, tpl = setup_campaign(ff, key, [victim, sender])
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    wait_done(ff, key, cid)
    sec = secret_of(ff)
    xid = contact_id(ff, key, sender)
    good = verp_local(sec, tid, cid, xid)
    port = ff.bounce_port
    msg = dsn(sender, "failed", "5.1.1", "550 5.1.1 unknown")

    def rcpt_code(local, domain=BOUNCE_DOMAIN):
        return send(port, "%s@%s" % (local, domain), msg)[0]

    forged = good[:-1] + ("a" if good[-1] != "a" else "b")
    stale = verp_local(sec, tid, cid, xid,
                       day=int(time.time()) // 86400 - 61)
    other_secret = verp_local(os.urandom(32), tid, cid, xid)
    tracking = ff.token("u", tid, cid, xid)
    codes = {
        "unknown": rcpt_code("postmaster"),
        "forged": rcpt_code(forged),
        "stale (61 days)": rcpt_code(stale),
        "another secret": rcpt_code(other_secret),
        "a tracking token": rcpt_code("b" + tracking),
        "wrong domain": rcpt_code(good, "elsewhere.test"),
        "a forged token at bounces.D": rcpt_code(forged, "bounces.acme.test"),
        "bare bounces.": rcpt_code(good, "bounces."),
    }
    ok(all(c == 550 for c in codes.values()),
       "550 at RCPT: unknown, forged, stale, other secret, tracking token, "
       "wrong domain", repr(codes))
    ok(not suppressed_bounce(redis, tid, sender) and
       bounce_items(ff, key) == [], "none of them recorded anything")

    rcpt = "%s@%s" % (good, BOUNCE_DOMAIN)
    plain = (b"From: someone@else.test\r\nSubject: hi\r\n\r\n"
             b"I am on holiday.\r\n")
    ok(send(port, rcpt, plain)[0] == 250, "a plain mail is accepted")
    ok(send(port, rcpt, dsn(sender, "failed", "5.1.1", "550 x",
                            truncate=True))[0] == 250,
       "a truncated DSN is accepted")
    items = bounce_items(ff, key)
    ok(len(items) == 2 and all(i["kind"] == "unrecognised" for i in items)
       and "text/plain is no multipart/report" in items[1]["diagnostic"] and
       "truncated" in items[0]["diagnostic"],
       "both recorded as unrecognised, with the reason", repr(items))
    ok(not suppressed_bounce(redis, tid, sender),
       "an unrecognised mail suppresses nobody")
    # A DSN to the sender's VERP address that names the victim.
    ok(send(port, rcpt, dsn(victim, "failed", "5.1.1", "550 no"))[0] == 250,
       "a DSN naming another recipient is accepted")
    ok(not suppressed_bounce(redis, tid, victim) and
       suppressed_bounce(redis, tid, sender),
       "it suppresses the address its VERP token names, never the one "
       "it names")
    # Huge: past bounce_max_message (256k here).
    big = dsn(sender, "failed", "5.1.1", "550 x").replace(
        b"the original", b"x" * 76 + b"\r\n") + (b"y" * 76 + b"\r\n") * 5000
    n_before = len(bounce_items(ff, key))
    code = send(port, rcpt, big)[0]
    ok(code == 552 and len(bounce_items(ff, key)) == n_before,
       "a message over bounce_max_message: 552, nothing recorded",
       "%s" % code)
    out = smtp_raw(port, [b"EHLO x", b"MAIL FROM:<" + b"a" * 2000 + b">"])
    ok(b"500 5.5.2 line too long" in out,
       "an overlong command line: 500 and the connection closed",
       repr(out[-200:]))
    out = smtp_raw(port, [b"EHLO x", b"MAIL FROM:<>",
                          b"RCPT TO:<" + rcpt.encode() + b">", b"DATA",
                          b"z" * 70000])
    ok(b"500 5.5.2 line too long" in out, "an overlong DATA line: 500",
       repr(out[-200:]))
    out = smtp_raw(port, [b"HELO x"] + [b"RCPT TO:<x@y>"] + [b"BOGUS"] * 12)
    ok(b"421" in out, "too many errors: 421", repr(out[-200:]))
    # Connections: at most 64, the 65th is told 421.  Postfix may still
    # hold a connection of its own to the listener, so count greetings:
    # of 65 held open, at most 64 are greeted 220, and the rest get 421.
    socks = []
    try:
        greetings = []
        for _ in range(65):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            socks.append(s)
            greetings.append(s.recv(100)[:3])
        ok(greetings.count(b"220") <= 64 and greetings[-1] == b"421"
           and set(greetings) <= {b"220", b"421"},
           "the 65th connection: 421",
           "%d greeted 220, the last %r" % (greetings.count(b"220"),
                                            greetings[-1]))
    finally:
        for s in socks:
            s.close()
    def takes_mail():
        try:
            return send(port, rcpt, plain)[0] == 250
        except smtplib.SMTPConnectError:   # the closes not seen yet
            return False
    ok(wait_for(takes_mail, timeout=10),
       "the listener takes mail again once they are closed")
    ok(ff.running() and ff.http("GET", "/healthz")[0] == 200,
       "fanfared is still up")


def test_bounces_api(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Paging")
    emails = ["p%d@page.test" % i for i in range(5)]
    lid, tpl = setup_campaign(ff, key, emails)
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    wait_done(ff, key, cid)
    sec = secret_of(ff)
    for i, a in enumerate(emails):
        # The first at bounces.D, as a verified sending domain D's
        # messages carry it (its CNAME leads to the listener).
        send(ff.bounce_port, "%s@%s" % (verp_local(
            sec, tid, cid, contact_id(ff, key, a)),
            "bounces.page.test" if i == 0 else BOUNCE_DOMAIN),
            dsn(a, "failed", "5.1.1", "550 5.1.1 no such user"))
    seen, cursor, pages = [], None, 0
    while pages < 10:
        st, js, raw = bounces(ff, key, limit=2, cursor=cursor)
        if st != 200:
            break
        pages += 1
        seen += [i["email"] for i in js["items"]]
        cursor = js["next_cursor"]
        if not cursor:
            break
    ok(pages == 3 and sorted(seen) == emails and
       seen == list(reversed(emails)),
       "GET /v1/bounces pages 2 at a time, newest first, each once",
       "%d pages: %r" % (pages, seen))
    st, js, _ = bounces(ff, key, limit=0)
    ok(st == 400 and js["error"]["code"] == "invalid_limit",
       "limit=0: 400 invalid_limit", repr(js))
    st, js, _ = call(ff, "GET", "/v1/bounces?cursor=nope", key)
    ok(st == 400, "a malformed cursor: 400", repr(js))
    # Another tenant sees none of them.
    _, key2 = new_tenant(ff, "Other")
    st, js, _ = bounces(ff, key2)
    ok(st == 200 and js["items"] == [] and js["next_cursor"] is None,
       "another tenant's list is empty", repr(js))


def test_erasure(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Erase")
    who, other = "gone@erase.test", "stays@erase.test"
    lid, tpl = setup_campaign(ff, key, [who, other])
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    wait_done(ff, key, cid)
    sec = secret_of(ff)
    rcpt = {a: "%s@%s" % (verp_local(sec, tid, cid, contact_id(ff, key, a)),
                          BOUNCE_DOMAIN) for a in (who, other)}
    send(ff.bounce_port, rcpt[who], arf(who))
    send(ff.bounce_port, rcpt[who], dsn(who, "delayed", "4.2.2", "452 x"))
    send(ff.bounce_port, rcpt[other], dsn(other, "delayed", "4.2.2", "452"))
    st, js, _ = call(ff, "GET", "/v1/subjects/%s" % who, key)
    kinds = sorted(b["kind"] for b in (js or {}).get("bounces", []))
    ok(st == 200 and kinds == ["complaint", "soft"] and
       all(b["campaign"] == cid and b["time"] for b in js["bounces"]),
       "the subject export shows the person's complaint and bounce",
       repr(js))
    st, js, _ = call(ff, "DELETE", "/v1/subjects/%s" % who, key)
    ok(st == 200 and js["erased"].get("bounces") == 2,
       "erasure counts 2 bounce log entries", repr(js))
    items = bounce_items(ff, key)
    left = redis.cmd("XRANGE", "{t:%s}:bounce_log" % tid, "-", "+")
    ok(len(items) == 1 and items[0]["email"] == other and len(left) == 1,
       "the log keeps only the other person's entry", repr(items))
    ok(redis.cmd("ZSCORE", "{t:%s}:complaints" % tid, who) is None and
       redis.cmd("HGET", "{t:%s}:soft_bounces" % tid, who) is None and
       redis.cmd("HGET", "{t:%s}:soft_bounces" % tid, other) == "1",
       "their complaint and soft count are gone, the other's count stays")
    # Imported again, they stay suppressed by the keyed hash.
    add_contacts(ff, key, [{"email": who}])
    must("members", call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                         {"emails": [who]}))
    n_log = len(relay.log())
    cid2 = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid2)
    js = wait_done(ff, key, cid2)
    again = {e["rcpt_tos"][0].lower() for e in relay.log()[n_log:]
             if "seq" in e}
    ok(again == {other}, "re-imported, the erased complainer is not mailed",
       "%r %r" % (again, js.get("progress")))


def main():
    relay = Relay()
    redis = Redis()
    bounce_port = free_port()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port,
                 senders="2", smtp_starttls="off",
                 retry_schedule="1s", retry_lifetime="1h",
                 bounce_domain=BOUNCE_DOMAIN,
                 bounce_listen="127.0.0.1:%d" % bounce_port,
                 bounce_max_message="256k",
                 soft_bounce_limit=str(SOFT_LIMIT))
    ff.bounce_port = bounce_port
    ok(wait_for(lambda: can_connect(bounce_port), timeout=10),
       "the bounce listener is up")
    run(test_soft_limit, ff, relay, redis)
    run(test_complaint, ff, relay, redis)
    run(test_bad_input, ff, relay, redis)
    run(test_bounces_api, ff, relay, redis)
    run(test_erasure, ff, relay, redis)
    run(test_round_trip, ff, relay, redis)
    relay.close()
    done()


if __name__ == "__main__":
    main()
