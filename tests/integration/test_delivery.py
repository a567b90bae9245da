#!/usr/bin/python3
"""
test_delivery.py: real campaigns through fanfared's libesmtp senders to a
real SMTP server (contrib/smtp-capture.py, Debian's python3-aiosmtpd),
with the mail read back through Python's email package (policy.default)
and Debian's python3-dkim.

  1. personalisation and MIME structure (one message per member, QP,
     CRLF only, <= 998 octets, HTML escaping, Date, Message-ID);
  2. tracking: the rewritten links and the pixel answer from the running
     tracking listener and are counted; List-Unsubscribe one-click works;
  3. DKIM: every message verifies, a changed body or header does not;
  4. suppression at send time: opted out, blocklisted (address, domain),
     quarantined, erased (before launch, and while the campaign waits),
     erased and imported again: nobody of them is mailed, counted by
     reason;
  5. an opt-out while the campaign is sending stops that recipient's
     message; the relay sees the campaign's rate; a queue entry that
     takes longer than claim_idle to send is still sent once; nothing
     goes out once GET says done;
  6. header injection through attribute values: nothing gets in;
  7. relay faults: 451s retried per retry_schedule, 550s bounced and
     never mailed again, connections dropped after DATA retried (and
     the messages a dropped connection never reached are not charged a
     try);
  8. kill -9 of fanfared three times during a 20,000-recipient campaign:
     nobody lost, duplicates bounded.
  9. an address the sender cannot mail (a UTF-8 local part, stored
     before the API refused them): the API refuses a new one with
     unsupported_address; a stored one fails, and the log says why.

The SMTP server runs on one port for the whole file, restarted with a
fresh directory (and fresh fault counters) for each test; the 20,000
messages of test 8 go to /dev/shm (removed at the end).  Figures are
printed as TAP diagnostics.
"""
import atexit
import base64
import collections
import datetime
import email
import email.policy
import html
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (GIF, Fanfare, Redis, Relay, add_contacts, call,
                     campaign, diag, done, launch, must, new_campaign,
                     new_list, new_template, new_tenant, ok, public_path,
                     run, stats, tmpdir, wait_done, wait_for)
import harness

import dkim                         # Debian's python3-dkim

smtp_capture = harness.smtp_capture()

ADMIN = "admin-" + "d" * 40
SENDERS = 2
RETRY = [1, 2, 3]                   # retry_schedule, seconds
DKIM_DOMAIN = "acme.test"
DKIM_SELECTOR = "ff2026"
FROM = "News Team <news@acme.test>"     # harness.new_campaign's
FROM_ADDR = "news@acme.test"
KNOWN_HEADERS = {"dkim-signature", "date", "from", "to", "reply-to",
                 "subject", "message-id", "list-unsubscribe",
                 "list-unsubscribe-post", "list-id", "feedback-id",
                 "mime-version", "content-type",
                 "content-transfer-encoding"}
MSGID_RE = re.compile(r"^<c\.(\d+)\.k\.(\d+)\.t\.(\d+)@([A-Za-z0-9.-]+)>$")
POLICY = email.policy.default


# ---------------------------------------------------------------- relay


# ------------------------------------------------------------------ API


def contact(ff, key, who):
    st, js, _ = call(ff, "GET", "/v1/contacts/%s" % who, key)
    return js if st == 200 else None


def camp_hash(redis, tid, cid):
    """For diagnostics: the campaign's hash as Redis holds it."""
    h = redis.hgetall("{t:%s}:camp:%s" % (tid, cid))
    return "campaign hash: %r" % ({k: v for k, v in h.items()
                                   if k not in ("html", "text")},)


def progress_total(p):
    return (p.get("sent", 0) + p.get("failed", 0) + p.get("deferred", 0)
            + sum((p.get("suppressed") or {}).values()))


# -------------------------------------------------------------- messages


def parse(raw):
    return email.message_from_bytes(raw, policy=POLICY)


def raw_problems(raw):
    """What RFC 5322/5321 forbid in the bytes on the wire."""
    probs = []
    if re.search(rb"\r(?!\n)", raw):
        probs.append("bare CR")
    if re.search(rb"(?<!\r)\n", raw):
        probs.append("bare LF")
    if not raw.endswith(b"\r\n"):
        probs.append("does not end in CRLF")
    longest = max(len(l) for l in raw.split(b"\r\n"))
    if longest > 998:
        probs.append("a line of %d octets" % longest)
    if any(b > 0x7e or (b < 0x20 and b not in (9, 10, 13)) for b in raw):
        probs.append("a byte that is not printable ASCII")
    return probs


def header_problems(raw):
    """Reads the header block by hand: every line is "Name: value" with a
    known name, each once, or a continuation starting with SP or HTAB."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    probs, seen = [], collections.Counter()
    for i, line in enumerate(head.split(b"\r\n")):
        if line[:1] in (b" ", b"\t"):
            if i == 0:
                probs.append("starts with a continuation line")
            continue
        m = re.match(rb"^([\x21-\x39\x3b-\x7e]+):", line)
        if not m:
            probs.append("not a header line: %r" % line[:80])
            continue
        name = m.group(1).decode().lower()
        seen[name] += 1
        if name not in KNOWN_HEADERS:
            probs.append("unexpected header %r" % line[:120])
    for name, n in seen.items():
        if n > 1:
            probs.append("%s %d times" % (name, n))
    for name in ("date", "from", "to", "subject", "message-id",
                 "mime-version", "content-type"):
        if not seen[name]:
            probs.append("no %s" % name)
    return probs


def parts(msg):
    """{"text/plain": part, "text/html": part} and the order they came."""
    got = list(msg.iter_parts()) if msg.is_multipart() else [msg]
    return {p.get_content_type(): p for p in got}, [
        p.get_content_type() for p in got]


def norm_nl(s):
    return s.replace("\r\n", "\n").replace("\r", "\n")


# ------------------------------------------------------------------ DKIM


def make_dkim_key(dir):
    key = os.path.join(dir, "dkim.pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    os.chmod(key, 0o600)
    return key, base64.b64encode(der).decode()


def dnsfunc_for(pub):
    want = ("%s._domainkey.%s." % (DKIM_SELECTOR, DKIM_DOMAIN)).encode()

    def dnsfunc(name, timeout=5):
        if isinstance(name, str):
            name = name.encode()
        if name.rstrip(b".") + b"." == want:
            return ("v=DKIM1; k=rsa; p=%s" % pub).encode()
        return None
    return dnsfunc


# ---------------------------------------------------------------- tests


SUBJECT1 = ('Hello {{first_name | default "friend"}}, your '
            '{{attributes.plan}} plan')
HTML1 = ('<html><head><title>Sale</title></head><body>'
         '<p>Hi {{first_name | default "friend"}}!</p>'
         '<p>Your plan: {{attributes.plan}}</p>'
         '<a href="https://shop.example/sale?x=1&amp;y=2">Sale</a> '
         '<a href="https://shop.example/about">About</a> '
         '<a href="{{unsubscribe_url}}">Unsubscribe</a>'
         '</body></html>')
TEXT1 = ('Hi {{first_name | default "friend"}},\n'
         'plan {{attributes.plan}}, seats {{attributes.seats}}\n'
         'Unsubscribe: {{unsubscribe_url}}\n')
PEOPLE1 = [
    {"email": "ada@d1.test", "first_name": "Ada",
     "attributes": {"plan": "pro", "seats": 5}},
    {"email": "bob@d1.test", "first_name": '<b>&"',
     "attributes": {"plan": "free", "seats": 1}},
    {"email": "cem@d1.test", "first_name": "\u00c7em",
     "attributes": {"plan": "team", "seats": 12}},
    {"email": "dee@d1.test", "attributes": {"plan": "basic", "seats": 2}},
    {"email": "eve@d1.test", "first_name": "Eve",
     "attributes": {"plan": "pro", "seats": 3}},
]


def test_personalisation(ff, relay, redis, tid, key):
    """Returns {email: message bytes} for the tests that follow."""
    relay.fresh()
    add_contacts(ff, key, PEOPLE1)
    emails = [p["email"] for p in PEOPLE1]
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, SUBJECT1, HTML1, TEXT1)
    cid = new_campaign(ff, key, tpl, lid, reply_to="help@acme.test")
    t0 = time.monotonic()
    launch(ff, key, cid)
    js = wait_done(ff, key, cid)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == len(emails) and
       p.get("failed") == 0 and p.get("deferred") == 0 and
       p.get("total") == len(emails),
       "5 recipients: GET says done, sent 5 (%.2f s)"
       % (time.monotonic() - t0), "%r\n%s" % (js, camp_hash(redis, tid, cid)))
    got = relay.by_rcpt()
    ok(sorted(got) == sorted(emails) and all(len(v) == 1
                                              for v in got.values()),
       "every list member received exactly one message, nobody else",
       "%r" % {k: len(v) for k, v in got.items()})
    log = relay.accepted()
    ok(all(e["rcpt_tos"] and len(e["rcpt_tos"]) == 1 and
           e["mail_from"] == FROM_ADDR for e in log),
       "one envelope recipient per message, MAIL FROM the campaign's "
       "address", repr([(e["mail_from"], e["rcpt_tos"]) for e in log]))
    ok(not relay.refused(), "the relay refused nothing", repr(relay.refused()))
    msgs, ids = {}, {}
    now = datetime.datetime.now(datetime.timezone.utc)
    for person in PEOPLE1:
        addr = person["email"]
        if addr not in got:
            continue
        raw = got[addr][0][1]
        msgs[addr] = raw
        m = parse(raw)
        name = person.get("first_name", "friend")
        a = person["attributes"]
        probs = raw_problems(raw)
        ok(not probs, "%s: CRLF only, no line over 998, ASCII" % addr,
           repr(probs))
        to = m["To"].addresses if m["To"] else ()
        ok(len(to) == 1 and to[0].addr_spec == addr,
           "%s: To is the envelope recipient" % addr, repr(m["To"]))
        frm = m["From"].addresses if m["From"] else ()
        ok(len(frm) == 1 and frm[0].addr_spec == FROM_ADDR and
           frm[0].display_name == "News Team" and
           str(m["Reply-To"]) == "help@acme.test",
           "%s: From and Reply-To" % addr, "%r %r" % (m["From"],
                                                      m["Reply-To"]))
        want = "Hello %s, your %s plan" % (name, a["plan"])
        ok(str(m["Subject"]) == want, "%s: Subject %r" % (addr, want),
           repr(str(m["Subject"])))
        if person.get("first_name", "").isascii() is False:
            ok(b"=?UTF-8?" in raw.split(b"\r\n\r\n")[0],
               "%s: a non-ASCII subject travels as encoded words" % addr)
        ok(m["MIME-Version"] == "1.0" and
           m.get_content_type() == "multipart/alternative",
           "%s: MIME-Version 1.0, multipart/alternative" % addr,
           repr(m.get_content_type()))
        ps, order = parts(m)
        ok(order == ["text/plain", "text/html"],
           "%s: text/plain then text/html" % addr, repr(order))
        ok(all(x["Content-Transfer-Encoding"] == "quoted-printable" and
               x.get_content_charset() == "utf-8" for x in ps.values()),
           "%s: both parts quoted-printable utf-8" % addr,
           repr([(x["Content-Transfer-Encoding"], x.get_content_charset())
                 for x in ps.values()]))
        body = raw.split(b"\r\n\r\n", 1)[1]
        qp_long = [l for l in body.split(b"\r\n") if len(l) > 76]
        ok(not qp_long, "%s: body lines of at most 76 octets (QP)" % addr,
           repr(qp_long[:2]))
        text = norm_nl(ps["text/plain"].get_content()) \
            if "text/plain" in ps else ""
        hpart = ps["text/html"].get_content() if "text/html" in ps else ""
        unsub = str(m["List-Unsubscribe"] or "").strip("<>")
        ok(text == "Hi %s,\nplan %s, seats %d\nUnsubscribe: %s\n"
           % (name, a["plan"], a["seats"], unsub) and unsub,
           "%s: the text part, merge tags filled (a number too)" % addr,
           repr(text))
        want_html = "<p>Hi %s!</p><p>Your plan: %s</p>" % (
            html.escape(name, quote=True).replace("&#x27;", "&#39;"),
            a["plan"])
        ok(want_html in hpart, "%s: the html part, values HTML-escaped"
           % addr, "want %r in\n%r" % (want_html, hpart))
        if name == '<b>&"':
            ok("&lt;b&gt;&amp;&quot;" in hpart and '<b>&"' not in hpart,
               "a first_name <b>&\" is escaped in the html, not in the text",
               repr(hpart))
        d = m["Date"]
        dt = getattr(d, "datetime", None)
        ok(dt is not None and dt.tzinfo is not None and
           abs((dt - now).total_seconds()) < 300,
           "%s: Date present, parseable, now" % addr, repr(str(d)))
        mid = MSGID_RE.match(str(m["Message-ID"] or ""))
        c = contact(ff, key, addr) or {}
        ok(mid and mid.group(1) == str(cid) and mid.group(2) == str(
            c.get("id")) and mid.group(3) == str(tid) and
           mid.group(4) == DKIM_DOMAIN,
           "%s: Message-ID <c.CAMPAIGN.k.CONTACT.t.TENANT@acme.test>"
           % addr, "%r (campaign %s contact %s tenant %s)"
           % (str(m["Message-ID"]), cid, c.get("id"), tid))
        ids[addr] = str(m["Message-ID"])
        hp = header_problems(raw)
        ok(not hp, "%s: a clean header block" % addr, repr(hp))
    ok(len(set(ids.values())) == len(emails),
       "Message-IDs unique per recipient", repr(ids))
    return cid, msgs


def test_tracking(ff, relay, redis, tid, key, cid, msgs):
    m = parse(msgs["ada@d1.test"])
    hpart = parts(m)[0]["text/html"].get_content()
    links = dict((t, u) for u, t in re.findall(
        r'<a href="([^"]*)">([^<]*)</a>', hpart))
    base = ff.directives["public_url"]
    ok(re.match(re.escape(base) + r"/c/[A-Za-z0-9_-]+$", links.get("Sale", ""))
       and re.match(re.escape(base) + r"/c/[A-Za-z0-9_-]+$",
                    links.get("About", "")) and
       links["Sale"] != links["About"] and "shop.example" not in hpart,
       "both https links are rewritten to /c/ links", repr(links))
    ok(re.match(re.escape(base) + r"/u/[A-Za-z0-9_-]+$",
                links.get("Unsubscribe", "")),
       "{{unsubscribe_url}} in the html is the /u/ link", repr(links))
    pix = re.search(r'<img src="(%s/o/[A-Za-z0-9_-]+\.gif)"[^>]*></body>'
                    % re.escape(base), hpart)
    ok(pix, "the open pixel is right before </body>", repr(hpart[-300:]))
    for text, want in (("Sale", "https://shop.example/sale?x=1&y=2"),
                       ("About", "https://shop.example/about")):
        path = public_path(ff, links.get(text, ""))
        st, h, _ = ff.http("GET", path) if path else (None, {}, b"")
        ok(st == 302 and h.get("location") == want,
           "the %s link answers 302 to %s" % (text, want),
           "%s %r" % (st, h))
    if pix:
        st, h, body = ff.http("GET", public_path(ff, pix.group(1)))
        ok(st == 200 and h.get("content-type") == "image/gif" and
           body == GIF, "the pixel answers the 43-byte GIF", "%s %r %r"
           % (st, h, body[:60]))

    def counted():
        s = stats(ff, key, cid)
        c, o = s.get("clicks", {}), s.get("opens", {})
        return s if (o.get("total") == 1 and o.get("unique") == 1 and
                     c.get("total") == 2 and c.get("unique") == 1) else None
    s = wait_for(counted, timeout=10, interval=0.1) or stats(ff, key, cid)
    ok(counted() is not None, "stats: 1 open and 2 clicks by 1 person",
       repr(s))
    by = {l.get("url"): (l.get("total"), l.get("unique"))
          for l in s.get("clicks", {}).get("by_link", [])}
    ok(by == {"https://shop.example/sale?x=1&y=2": (1, 1),
              "https://shop.example/about": (1, 1)},
       "stats: one click on each link", repr(s))
    ok(s.get("sent") == len(PEOPLE1) and s.get("delivered") == len(PEOPLE1)
       and s.get("bounced") == 0, "stats: sent = delivered = 5, 0 bounced",
       repr(s))
    # One-click unsubscribe (RFC 8058) with the header's URL.
    m = parse(msgs["dee@d1.test"])
    lu = str(m["List-Unsubscribe"] or "")
    ok(re.match(r"^<%s/u/[A-Za-z0-9_-]+>$" % re.escape(base), lu) and
       str(m["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click",
       "List-Unsubscribe: <.../u/TOKEN>, List-Unsubscribe-Post One-Click",
       "%r %r" % (lu, m["List-Unsubscribe-Post"]))
    ok((contact(ff, key, "dee@d1.test") or {}).get("status") == "active",
       "dee is active before the one-click POST")
    path = public_path(ff, lu.strip("<>"))
    st, h, body = ff.http("POST", path, headers={
        "Content-Type": "application/x-www-form-urlencoded"},
        body=b"List-Unsubscribe=One-Click") if path else (None, {}, b"")
    ok(st == 200, "POST List-Unsubscribe=One-Click to it: 200",
       "%s %r" % (st, body[:200]))
    got = wait_for(lambda: (contact(ff, key, "dee@d1.test") or {}).get(
        "status") == "opted_out", timeout=10, interval=0.1)
    ok(got, "GET /v1/contacts/dee@d1.test shows opted_out",
       repr(contact(ff, key, "dee@d1.test")))
    ok(wait_for(lambda: stats(ff, key, cid).get("unsubscribes") == 1,
                timeout=10, interval=0.1),
       "stats: 1 unsubscribe", repr(stats(ff, key, cid)))
    ok((contact(ff, key, "ada@d1.test") or {}).get("status") == "active",
       "clicking and opening opted nobody out")


def test_dkim(msgs, pub, other_pub):
    dns = dnsfunc_for(pub)
    good = [a for a, raw in msgs.items() if dkim.verify(raw, dnsfunc=dns)]
    ok(msgs and len(good) == len(msgs),
       "DKIM: all %d messages verify" % len(msgs),
       "failing: %r" % sorted(set(msgs) - set(good)))
    raw = msgs[sorted(msgs)[0]]
    sig = parse(raw)["DKIM-Signature"]
    tags = dict(t.strip().split("=", 1) for t in
                re.sub(r"\s+", "", str(sig or "")).split(";") if "=" in t)
    h = tags.get("h", "").lower().split(":")
    ok(tags.get("d") == DKIM_DOMAIN and tags.get("s") == DKIM_SELECTOR and
       tags.get("a") == "rsa-sha256" and
       all(x in h for x in ("from", "to", "subject", "date", "message-id",
                            "list-unsubscribe", "list-unsubscribe-post")),
       "DKIM-Signature: d=, s=, a=rsa-sha256, the headers that matter signed",
       repr(tags))
    head, body = raw.split(b"\r\n\r\n", 1)
    i = body.find(b"plan ")
    bad_body = head + b"\r\n\r\n" + body[:i] + b"plan X" + body[i + 6:]
    ok(i > 0 and not dkim.verify(bad_body, dnsfunc=dns),
       "DKIM: one changed body byte fails")
    bad_head = re.sub(rb"\r\nSubject: ", b"\r\nSubject: Re: ", raw, count=1)
    ok(bad_head != raw and not dkim.verify(bad_head, dnsfunc=dns),
       "DKIM: a changed Subject fails")
    ok(not dkim.verify(raw, dnsfunc=dnsfunc_for(other_pub)),
       "DKIM: another public key fails")


def test_suppression(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Suppress")
    d = "sup.test"
    fine = ["ok%d@%s" % (i, d) for i in range(4)]
    rows = [{"email": a, "first_name": "Ok"} for a in fine] + [
        {"email": "optout@" + d},
        {"email": "blocked@" + d},
        {"email": "someone@blocked-domain.test"},
        {"email": "quarantine@" + d, "attributes": {"church": "Catholic"}},
        {"email": "erased@" + d},
        {"email": "again@" + d},
        {"email": "late-optout@" + d},
        {"email": "late-erased@" + d},
    ]
    add_contacts(ff, key, rows)
    ok((contact(ff, key, "quarantine@" + d) or {}).get("status") ==
       "quarantined", "a 'Catholic' attribute value quarantines the contact")
    every = [r["email"] for r in rows]
    lid = new_list(ff, key, every)
    must("optout", call(ff, "POST", "/v1/optouts", key,
                        {"email": "optout@" + d}))
    must("blocklist", call(ff, "POST", "/v1/blocklist", key,
                           {"pattern": "blocked@" + d}))
    must("blocklist", call(ff, "POST", "/v1/blocklist", key,
                           {"pattern": "@blocked-domain.test"}))
    must("erase", call(ff, "DELETE", "/v1/subjects/erased@" + d, key))
    must("erase", call(ff, "DELETE", "/v1/subjects/again@" + d, key))
    add_contacts(ff, key, [{"email": "again@" + d, "first_name": "Again"}])
    must("members", call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                         {"emails": ["again@" + d]}))
    ok((contact(ff, key, "again@" + d) or {}).get("status") == "opted_out",
       "erased then imported again: the contact reads opted_out")
    members = must("list", call(ff, "GET", "/v1/lists/%s" % lid,
                                key))["members"]
    ok(members == len(every) - 1,
       "the erasure took the erased contact off the list (%d members)"
       % members)
    tpl = new_template(ff, key, "Hi {{first_name}}", "<p>Hi</p>",
                       "Hi {{unsubscribe_url}}")
    cid = new_campaign(ff, key, tpl, lid)
    # Launched and paused at once: a paused campaign checks nobody, so
    # what happens meanwhile is seen at each recipient's turn.
    launch(ff, key, cid)
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/pause" % cid, key)
    ok(st == 200, "pause right after launch", raw)
    time.sleep(1.5)             # the senders look at ff:sending every 1 s
    p = campaign(ff, key, cid).get("progress", {})
    untouched = progress_total(p) == 0 and not relay.log()
    late = ["late-optout@" + d, "late-erased@" + d]
    if not untouched:
        # A sender took the entry between launch and pause (a window of
        # a few ms): legitimate, but then the late ones prove nothing.
        diag("a sender checked the batch before the pause (%r): the "
             "opt-out and erasure while paused are not tested" % p)
    must("optout", call(ff, "POST", "/v1/optouts", key,
                        {"email": "late-optout@" + d}))
    must("erase", call(ff, "DELETE", "/v1/subjects/late-erased@" + d, key))
    must("resume", call(ff, "POST", "/v1/campaigns/%s/resume" % cid, key))
    js = wait_done(ff, key, cid)
    got = relay.by_rcpt()
    # Mailed anyway only when the race above was lost.
    late_mailed = [a for a in late if not untouched and got.pop(a, None)]
    ok(sorted(got) == sorted(fine) and all(len(v) == 1
                                            for v in got.values()),
       "only the 4 who may be mailed got a message, once",
       "received: %r" % sorted(got))
    tried = {e.get("rcpt", "").lower() for e in relay.refused()}
    ok(not tried, "no RCPT was even tried for the others", repr(tried))
    p = js.get("progress", {})
    want = {"opted_out": 3, "blocklisted": 2, "special_category": 1,
            "bounced": 0, "erased": 1, "complained": 0}
    for a, why in zip(late, ("opted_out", "erased")):
        if a in late_mailed:
            want[why] -= 1
    ok(js.get("status") == "done" and p.get("total") == members and
       p.get("sent") == 4 + len(late_mailed) and
       p.get("failed") == 0 and p.get("suppressed") == want,
       "progress: done, total %d, sent 4, suppressed %r (opted_out: the "
       "opt-outs and the re-imported erased address; erased: the one "
       "erased while paused)" % (members, want),
       "%r\n%s" % (js, camp_hash(redis, tid, cid)))
    ok(progress_total(p) == p.get("total"),
       "sent + failed + suppressed = total", repr(p))


def after_done(relay, redis, tid, cid, grace):
    """Waits (bounded) until grace seconds after the campaign's
    finished_at; returns (finished_at in seconds or None, the messages
    the relay accepted after it)."""
    fin = redis.cmd("HGET", "{t:%s}:camp:%s" % (tid, cid), "finished_at")
    if not fin:
        return None, []
    fin = int(fin) / 1000.0
    end = min(fin + grace, time.time() + grace)
    while time.time() < end:
        time.sleep(0.2)
    # The relay logs a message after it has answered 250, and that answer
    # is what lets the campaign finish: allow 0.25 s between the clocks.
    return fin, [e for e in relay.accepted() if e["time"] > fin + 0.25]


def check_once(got, late, fin, t0, grace):
    """Nobody got two messages; nothing was sent once GET said done."""
    dups = sorted(a for a, v in got.items() if len(v) > 1)
    ok(not dups, "nobody received two messages",
       "%d recipients twice, e.g. %r; arrivals (s after launch) of %s: %r"
       % (len(dups), dups[:5], dups[0] if dups else None,
          [round(e["time"] - t0, 3) for e, _ in got.get(
              dups[0] if dups else "", [])]))
    ok(fin is not None and not late,
       "no message reaches the relay after the campaign is done (watched "
       "%.0f s)" % grace, "%d messages after finished_at (%.3f s after "
       "launch), the last %.3f s after it" % (
           len(late), (fin or t0) - t0,
           max([e["time"] for e in late] or [fin or t0]) - (fin or t0)))


def test_optout_mid(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Mid")
    n, rate = 200, 20
    emails = ["m%03d@mid.test" % i for i in range(n)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Mid", "<p>x</p>", "x")
    cid = new_campaign(ff, key, tpl, lid, rate_per_second=rate)
    t0 = time.time()
    launch(ff, key, cid)
    try:
        smtp_capture.wait_log(relay.dir, 1, timeout=30)
    except TimeoutError:
        return ok(False, "the first message arrives", camp_hash(
            redis, tid, cid))
    mailed = {r.lower() for e in relay.accepted() for r in e["rcpt_tos"]}
    # The queue as it is now: which entry holds whom, which are taken.
    q = "{t:%s}:camp:%s:q" % (tid, cid)
    pend = {x[0] for x in redis.cmd("XPENDING", q, "senders", "-", "+",
                                    1000)}
    ids = {}
    for eid, f in redis.cmd("XRANGE", q, "-", "+"):
        for cid_ in dict(zip(f[0::2], f[1::2])).get("ids", "").split(","):
            ids[cid_] = eid
    cands = [a for a in reversed(emails) if a not in mailed]
    victim = cands[0] if cands else None
    vid = str((contact(ff, key, victim) or {}).get("id"))
    t_opt = time.time()
    must("optout", call(ff, "POST", "/v1/optouts", key, {"email": victim}))
    diag("opt-out mid-campaign: %d of %d mailed %.2f s after launch; "
         "%s (contact %s) opted out, its queue entry %s %s"
         % (len(mailed), n, t_opt - t0, victim, vid, ids.get(vid),
            "already taken by a sender" if ids.get(vid) in pend
            else "not taken yet"))
    js = wait_done(ff, key, cid, timeout=60)
    fin, late = after_done(relay, redis, tid, cid, n / rate + 2)
    got = relay.by_rcpt()
    ok(victim and victim not in got,
       "a recipient not yet mailed and opted out mid-campaign receives "
       "nothing", "%s received %d message(s), at %s (opt-out at %.3f)"
       % (victim, len(got.get(victim, [])),
          [round(e["time"] - t0, 3) for e, _ in got.get(victim, [])],
          t_opt - t0))
    check_once(got, late, fin, t0, n / rate + 2)
    p = js.get("progress", {})
    sup = p.get("suppressed", {})
    ok(js.get("status") == "done" and progress_total(p) == n and
       p.get("sent") == len(got) and sup.get("opted_out", 0) == n - len(got),
       "counts add up: sent %s = recipients mailed %d, opted_out %s = the "
       "others, total %d" % (p.get("sent"), len(got), sup.get("opted_out"),
                             n),
       "%r\n%s" % (js, camp_hash(redis, tid, cid)))
    # The relay's view of the rate: never much more than rate_per_second
    # messages within one second.
    times = sorted(e["time"] for e in relay.accepted())
    worst, span = rate_seen(times)
    diag("rate_per_second %d: %d messages over %.2f s, at most %d within "
         "one second" % (rate, len(times), span, worst))
    ok(worst <= 2 * rate and span >= (n - 1 - rate) / rate * 0.9,
       "rate_per_second %d as the relay sees it: at most %d messages "
       "within any one second, %d messages over at least %.1f s"
       % (rate, 2 * rate, n, (n - 1 - rate) / rate * 0.9),
       "at most %d within one second; %d messages over %.2f s"
       % (worst, len(times), span))


def test_slow_batch(ff, relay, redis):
    """One queue entry (100 recipients) that takes longer than claim_idle
    to send (rate_per_second 20: 5 s), while the other sender has
    nothing to do: still one message per recipient."""
    relay.fresh()
    tid, key = new_tenant(ff, "Slow")
    n, rate = 100, 20
    emails = ["s%03d@slow.test" % i for i in range(n)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Slow", "<p>x</p>", "x")
    cid = new_campaign(ff, key, tpl, lid, rate_per_second=rate)
    t0 = time.time()
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=60)
    fin, late = after_done(relay, redis, tid, cid, n / rate + 2)
    got = relay.by_rcpt()
    conns = collections.Counter(e["conn"] for e in relay.accepted())
    p = js.get("progress", {})
    diag("slow batch (%d at %d/s, claim_idle 2 s): done %.1f s after "
         "launch, %d messages for %d recipients over %d SMTP connections "
         "%r" % (n, rate, (fin or time.time()) - t0, len(relay.accepted()),
                 len(got), len(conns), dict(conns)))
    ok(sorted(got) == emails, "every recipient got the message",
       "missing %r" % sorted(set(emails) - set(got))[:5])
    check_once(got, late, fin, t0, n / rate + 2)
    ok(js.get("status") == "done" and p.get("sent") == n,
       "progress: done, sent %d" % n, repr(js))


INJECT = [
    ("crlf", "line one\r\nBcc: x@evil.test\r\nX-Evil: 1"),
    ("lf", "line one\nBcc: x@evil.test\nX-Evil: 1"),
    ("cr", "line one\rBcc: x@evil.test"),
    ("ew", "=?UTF-8?Q?=0A?=Bcc: x@evil.test"),
    ("ew2", "=?UTF-8?Q?=0D=0A?=X-Evil: 1 "
            "=?UTF-8?B?DQpCY2M6IHhAZXZpbC50ZXN0?="),
    ("dot", ".\r\n.leading dot\r\n.\r\nMAIL FROM:<x@evil.test>\r\n"
            "RCPT TO:<x@evil.test>\r\nDATA\r\n"),
    ("from", "From x@evil.test Mon Jan  1 00:00:00 2024\nFrom: x@evil.test"),
    ("u2028", "line one\u2028Bcc: x@evil.test\u2029X-Evil: 1\u0085Y: 2"),
    ("ctl", "a\x01b\x0bc\x1bd\x7fe\tf\x0cg\x08h"),
    ("long", "A" * 5000),
    ("longsp", ("word " * 1000).strip()),
    ("longmix", ("\u00e9" * 700 + "\r\n") * 3 + "=" * 998),
]


def header_text(v):
    """A value as the Subject shows it: C0 controls and DEL dropped (the
    renderer), C1 controls dropped and U+2028/9 made spaces (mime.c);
    whitespace runs made one."""
    v = re.sub(r"[\x00-\x1f\x7f\u0080-\u009f]", "", v)
    v = re.sub(r"[\u2028\u2029]", " ", v)
    return " ".join(v.split())


def test_injection(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Inject")
    st, js, raw = call(ff, "POST", "/v1/contacts", key, {
        "email": "nl@inj.test", "first_name": "a\r\nBcc: x@evil.test"})
    ok(st == 200 and [r.get("error") for r in js.get("rejected", [])] ==
       ["invalid_field"], "first_name with CR/LF: rejected invalid_field",
       raw)
    rows = [{"email": "%s@inj.test" % name, "attributes": {"note": v}}
            for name, v in INJECT]
    add_contacts(ff, key, rows)
    emails = [r["email"] for r in rows]
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Note: {{attributes.note}}",
                       "<html><body><p>{{attributes.note}}</p></body></html>",
                       "[{{attributes.note}}]\n")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == len(emails),
       "%d recipients with hostile values: all sent" % len(emails),
       "%r\n%s" % (js, camp_hash(redis, tid, cid)))
    log = relay.log()
    rcpts = sorted({r.lower() for e in log if "seq" in e
                    for r in e["rcpt_tos"]} |
                   {e["rcpt"].lower() for e in log if e.get("rcpt")})
    ok(rcpts == sorted(emails) and
       all(len(e["rcpt_tos"]) == 1 for e in log if "seq" in e) and
       all(e["mail_from"] == FROM_ADDR for e in log if "seq" in e),
       "the relay saw only the intended recipients, one per message, and "
       "the campaign's MAIL FROM", repr(rcpts))
    ok(not relay.refused(), "the relay refused nothing (no 500 line too "
       "long, no bad sequence)", repr(relay.refused()[:3]))
    got = relay.by_rcpt()
    for name, v in INJECT:
        addr = "%s@inj.test" % name
        if len(got.get(addr, [])) != 1:
            ok(False, "%s: exactly one message" % name,
               repr(len(got.get(addr, []))))
            continue
        raw = got[addr][0][1]
        m = parse(raw)
        probs = raw_problems(raw) + header_problems(raw)
        probs += ["python sees %s" % h for h in ("Bcc", "Cc", "X-Evil",
                                                 "Y", "Received")
                  if m[h] is not None]
        probs += ["defect %r" % dfx for dfx in m.defects]
        ok(not probs, "%s: no injected header, CRLF only, no line over 998"
           % name, "%r\n%r" % (probs, raw[:1500]))
        subj = str(m["Subject"] or "")
        ok(" ".join(subj.split()) == header_text("Note: " + v),
           "%s: the Subject decodes to the value, CR/LF and controls "
           "dropped" % name, "%r\nwant %r" % (subj[:300],
                                             header_text("Note: " + v)[:300]))
        ps, _ = parts(m)
        want = norm_nl(v)
        text = norm_nl(ps["text/plain"].get_content()) \
            if "text/plain" in ps else ""
        ok(text == "[%s]\n" % want,
           "%s: the text part decodes to exactly the value" % name,
           "%r\nwant %r" % (text[:300], want[:300]))
        hp = norm_nl(html.unescape(ps["text/html"].get_content())) \
            if "text/html" in ps else ""
        ok(("<p>%s</p>" % want) in hp,
           "%s: the html part decodes to the value, HTML-escaped" % name,
           "%r" % hp[:300])


def test_unsendable_address(ff, relay, redis):
    relay.fresh()
    tid, key = new_tenant(ff, "Utf8Local")
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       {"email": "j\u00f6rg@utf.test"})
    ok(st == 200 and js.get("created") == 0 and
       [r.get("error") for r in js.get("rejected", [])] ==
       ["unsupported_address"],
       "POST a UTF-8 local part: rejected unsupported_address", raw)
    add_contacts(ff, key, [{"email": "legacy@utf.test"},
                           {"email": "fine@utf.test"}])
    lid = new_list(ff, key, ["legacy@utf.test", "fine@utf.test"])
    legacy = contact(ff, key, "legacy@utf.test")["id"]
    # As a contact stored before the API refused such addresses is.
    redis.cmd("HSET", "{t:%s}:ct:%s" % (tid, legacy), "email",
              "j\u00f6rg@utf.test".encode())
    tpl = new_template(ff, key, "Hi", "<p>Hi</p>", "Hi\n")
    cid = new_campaign(ff, key, tpl, lid)
    with open(ff.log, "rb") as f:
        before = len(f.read())
    launch(ff, key, cid)
    js = wait_done(ff, key, cid)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == 1 and
       p.get("failed") == 1, "the stored UTF-8 address fails, the other "
       "is sent", repr(js))
    with open(ff.log, "rb") as f:
        log = f.read()[before:].decode("utf-8", "replace")
    want = ("campaign %s of tenant %s: contact %s failed: the address "
            "cannot be sent: a non-ASCII local part needs SMTPUTF8"
            % (cid, tid, legacy))
    ok(want in log, "the log says which contact failed and why", log[-800:])
    ok("j\u00f6rg" not in log, "... without the address itself")
    ok(sorted(relay.by_rcpt()) == ["fine@utf.test"],
       "the relay saw only the sendable address", repr(relay.by_rcpt()))


def test_tempfail(ff, relay, redis):
    relay.fresh({"tempfail_first": 2})
    tid, key = new_tenant(ff, "Tempfail")
    emails = ["t%d@tf.test" % i for i in range(4)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "x", "<p>x</p>", "x")
    cid = new_campaign(ff, key, tpl, lid)
    t0 = time.monotonic()
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=40)
    secs = time.monotonic() - t0
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == len(emails) and
       p.get("deferred") == 0 and p.get("failed") == 0,
       "451 twice for each: done, sent %d, deferred 0, failed 0 (%.1f s)"
       % (len(emails), secs), "%r\n%s" % (js, camp_hash(redis, tid, cid)))
    got = relay.by_rcpt()
    ok(sorted(got) == emails and all(len(v) == 1 for v in got.values()),
       "every recipient delivered once after its two 451s",
       repr({k: len(v) for k, v in got.items()}))
    gaps1, gaps2 = [], []
    for a in emails:
        ref = sorted(e["time"] for e in relay.refused()
                     if e.get("rcpt", "").lower() == a and
                     e.get("refused") == 451)
        acc = [e["time"] for e, _ in got.get(a, [])]
        if len(ref) != 2 or len(acc) != 1:
            ok(False, "%s: two 451s then one delivery" % a,
               "451s at %r, delivered at %r" % (ref, acc))
            continue
        gaps1.append(ref[1] - ref[0])
        gaps2.append(acc[0] - ref[1])
    diag("retry gaps: 451 -> 451 %s s, 451 -> delivery %s s (schedule "
         "%s s)" % (["%.2f" % g for g in gaps1], ["%.2f" % g for g in gaps2],
                    RETRY))
    slack = 0.1
    ok(gaps1 and min(gaps1) >= RETRY[0] - slack and
       min(gaps2) >= RETRY[1] - slack,
       "the retries wait at least the schedule: %d s, then %d s"
       % (RETRY[0], RETRY[1]))
    ok(gaps1 and max(gaps1) <= RETRY[0] + 2 and max(gaps2) <= RETRY[1] + 2,
       "and not much more (within 2 s)")


def test_bounce(ff, relay, redis):
    rejected = ["nobody%d@bo.test" % i for i in range(2)]
    relay.fresh({"reject_rcpts": rejected})
    tid, key = new_tenant(ff, "Bounce")
    fine = ["b%d@bo.test" % i for i in range(4)]
    emails = fine + rejected
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "x", "<p>x</p>", "x")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == 4 and
       p.get("failed") == 2 and p.get("deferred") == 0,
       "550 at RCPT for 2 of 6: done, sent 4, failed 2",
       "%r\n%s" % (js, camp_hash(redis, tid, cid)))
    s = stats(ff, key, cid)
    ok(s.get("bounced") == 2 and s.get("sent") == 4,
       "stats: bounced 2, sent 4", repr(s))
    ok(all(redis.cmd("ZSCORE", "{t:%s}:bounces" % tid, a) is not None
           for a in rejected) and
       all(redis.cmd("ZSCORE", "{t:%s}:bounces" % tid, a) is None
           for a in fine),
       "the two addresses are in {t:T}:bounces, the others not",
       repr(redis.cmd("ZRANGE", "{t:%s}:bounces" % tid, 0, -1)))
    tries = collections.Counter(e.get("rcpt", "").lower()
                                for e in relay.refused()
                                if e.get("stage") == "rcpt")
    ok(all(tries[a] == 1 for a in rejected) and sum(tries.values()) == 2,
       "each bounced address was tried once, not retried", repr(tries))
    ok(sorted(relay.by_rcpt()) == sorted(fine), "the 4 others received it")
    # Again to the same list, the relay now accepting everyone.
    relay.set_faults({})
    n_log = len(relay.log())
    cid2 = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid2)
    js = wait_done(ff, key, cid2)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == 4 and
       p.get("failed") == 0 and
       (p.get("suppressed") or {}).get("bounced") == 2,
       "a second campaign: sent 4, suppressed.bounced 2",
       "%r\n%s" % (js, camp_hash(redis, tid, cid2)))
    later = relay.log()[n_log:]
    again = {r.lower() for e in later for r in e.get("rcpt_tos", [])} | {
        e.get("rcpt", "").lower() for e in later if e.get("rcpt")}
    ok(sorted(again) == sorted(fine),
       "the bounced addresses were not mailed (nor tried) again",
       repr(sorted(again)))


def test_drop(ff, relay, redis):
    relay.fresh({"drop_after_data": 3})
    tid, key = new_tenant(ff, "Drop")
    emails = ["d%02d@dr.test" % i for i in range(10)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "x", "<p>x</p>", "x")
    cid = new_campaign(ff, key, tpl, lid)
    t0 = time.monotonic()
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=40)
    secs = time.monotonic() - t0
    drops = [e for e in relay.refused() if e.get("refused") == "drop"]
    dropped = {r.lower() for e in drops for r in e.get("rcpt_tos", [])}
    got = relay.by_rcpt()
    dups = {a for a, v in got.items() if len(v) > 1}
    p = js.get("progress", {})
    diag("drop_after_data 3: %d drops (%s), done in %.1f s, %d duplicates"
         % (len(drops), sorted(dropped), secs, len(dups)))
    ok(len(drops) == 3, "the relay dropped 3 connections after DATA",
       repr(drops))
    ok(sorted(got) == emails, "every recipient finally received it",
       "missing %r" % sorted(set(emails) - set(got)))
    ok(dups <= dropped, "duplicates only among the dropped ones",
       repr(sorted(dups)))
    ok(js.get("status") == "done" and p.get("sent") == len(emails) and
       p.get("failed") == 0 and p.get("deferred") == 0,
       "done, sent %d, failed 0" % len(emails),
       "%r\n%s" % (js, camp_hash(redis, tid, cid)))


def test_drop_untried(ff, relay, redis):
    """One more drop than the schedule has retries: the message that was
    dropped each time may give up, but the others of its session were
    never tried, so they must not."""
    drops_n = 1 + len(RETRY)
    relay.fresh({"drop_after_data": drops_n})
    tid, key = new_tenant(ff, "Drop2")
    emails = ["u%02d@dr2.test" % i for i in range(10)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "x", "<p>x</p>", "x")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=40)
    log = relay.log()
    seen = collections.Counter(r.lower() for e in log
                               for r in e.get("rcpt_tos", []))
    seen.update(e["rcpt"].lower() for e in log if e.get("rcpt"))
    got = relay.by_rcpt()
    p = js.get("progress", {})
    never = sorted(a for a in emails if seen[a] == 0)
    diag("drop_after_data %d: relay saw %s; progress sent %s failed %s; "
         "never tried at all: %d" % (drops_n, dict(seen), p.get("sent"),
                                      p.get("failed"), len(never)))
    gave_up = [a for a in emails if a not in got]
    ok(all(seen[a] >= drops_n for a in gave_up),
       "drop_after_data %d: only a recipient tried %d times may be given "
       "up on, not one that the relay never saw" % (drops_n, drops_n),
       "given up on %d: %r, never tried: %r\n%r\n%s"
       % (len(gave_up), gave_up, never, js, camp_hash(redis, tid, cid)))
    ok(js.get("status") == "done" and p.get("sent") == len(got) and
       p.get("sent", 0) + p.get("failed", 0) == len(emails),
       "done, sent %s = messages received, sent + failed = %d"
       % (p.get("sent"), len(emails)), repr(js))


def test_crash(ff, relay, redis, n=20000, kills=(0.2, 0.5, 0.8)):
    relay.fresh(base="/dev/shm")
    tid, key = new_tenant(ff, "Crash")
    emails = ["r%05d@crash.test" % i for i in range(n)]
    t0 = time.monotonic()
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    t_setup = time.monotonic() - t0
    tpl = new_template(ff, key, "Hi {{email}}", "<p>Hi {{email}}</p>",
                       "Hi {{email}}")
    cid = new_campaign(ff, key, tpl, lid)
    tail = harness.LogTail(relay.dir)
    t1 = time.monotonic()
    launch(ff, key, cid)
    kill_at, restart_s = [], []
    for frac in kills:
        want = int(n * frac)
        deadline = time.monotonic() + 120
        while tail.poll() < want and time.monotonic() < deadline:
            time.sleep(0.005)
        if tail.poll() < want:
            return ok(False, "%d%% of the messages arrive" % (frac * 100),
                      "%d of %d\n%s" % (len(tail.accepted), n,
                                        camp_hash(redis, tid, cid)))
        ff.kill9()
        kill_at.append((time.time(), tail.poll()))
        r0 = time.monotonic()
        ff.start()
        restart_s.append(time.monotonic() - r0)
    js = wait_done(ff, key, cid, timeout=120)
    secs = time.monotonic() - t1
    tail.poll()
    per = collections.Counter(r.lower() for e in tail.accepted
                              for r in e["rcpt_tos"])
    lost = [a for a in emails if per[a] == 0]
    dups = sorted(a for a in emails if per[a] > 1)
    extra = sum(per[a] - 1 for a in dups)
    # Which kill each duplicate follows: the second copy's arrival.
    copies = collections.defaultdict(list)
    for e in tail.accepted:
        for r in e["rcpt_tos"]:
            if per[r.lower()] > 1:
                copies[r.lower()].append(e["time"])
    by_kill = collections.Counter()
    for a, ts in copies.items():
        second = sorted(ts)[1]
        k = max([i for i, (t, _) in enumerate(kill_at) if t <= second],
                default=-1)
        by_kill[k] += 1
    p = js.get("progress", {})
    diag("crash test: %d contacts and list in %.1f s; campaign done in "
         "%.1f s (%.0f msg/s) across 3 kill -9 at %s messages; restarts "
         "took %s s" % (n, t_setup, secs, len(tail.accepted) / secs,
                        [c for _, c in kill_at],
                        ["%.2f" % r for r in restart_s]))
    diag("crash test: lost %d, duplicated %d (%d extra copies); per kill: "
         "%s; relay refusals %d" % (
             len(lost), len(dups), extra,
             [by_kill[i] for i in range(len(kill_at))], len(tail.refused)))
    ok(not lost, "kill -9 x3: no recipient lost (0 of %d without a message)"
       % n, "lost %d, e.g. %r" % (len(lost), lost[:10]))
    bound = len(kills) * SENDERS * 2
    ok(len(dups) <= bound, "kill -9 x3: %d recipients got 2 copies (at most "
       "%d = 3 kills x %d senders x 2 in flight)" % (len(dups), bound,
                                                      SENDERS),
       repr(dups[:20]))
    ok(js.get("status") == "done" and p.get("sent") == n and
       p.get("failed") == 0 and p.get("deferred") == 0 and
       progress_total(p) == n,
       "kill -9 x3: status done, progress sent %d" % n,
       "%r\n%s" % (js, camp_hash(redis, tid, cid)))


def rate_seen(times):
    """(most messages within any one second, first-to-last span) of
    sorted arrival times."""
    worst, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        worst = max(worst, i - j + 1)
    return worst, (times[-1] - times[0] if times else 0)


def test_global_cap(redis):
    """send_rate_max caps the node over all its campaigns and senders:
    two campaigns with no rate of their own, sent at once by two
    threads, reach the relay at no more than the cap."""
    relay = Relay().fresh()
    cap, n = 25, 50
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders="2",
                 smtp_relay="127.0.0.1:%d" % relay.port, smtp_starttls="off",
                 send_rate_max=str(cap))
    tid, key = new_tenant(ff, "Cap")
    cids = []
    for c in range(2):
        emails = ["g%d-%02d@cap.test" % (c, i) for i in range(n)]
        add_contacts(ff, key, [{"email": a} for a in emails])
        lid = new_list(ff, key, emails, name="cap%d" % c)
        tpl = new_template(ff, key, "Cap", "<p>x</p>", "x")
        cids.append(new_campaign(ff, key, tpl, lid))
    for cid in cids:
        launch(ff, key, cid)
    done_all = [wait_done(ff, key, cid, timeout=60) for cid in cids]
    times = sorted(e["time"] for e in relay.accepted())
    worst, span = rate_seen(times)
    diag("send_rate_max %d: %d messages of 2 campaigns over %.2f s, at "
         "most %d within one second" % (cap, len(times), span, worst))
    ok(all(js.get("status") == "done" for js in done_all) and
       len(times) == 2 * n, "both campaigns done, %d messages" % (2 * n),
       repr(done_all))
    ok(worst <= 2 * cap and span >= (2 * n - 1 - cap) / cap * 0.9,
       "send_rate_max %d over two campaigns: at most %d within any one "
       "second, over at least %.1f s" % (cap, 2 * cap,
                                         (2 * n - 1 - cap) / cap * 0.9),
       "at most %d within one second; %d messages over %.2f s"
       % (worst, len(times), span))
    ff.stop()
    relay.close()


def make_relay_cert(d, cn="127.0.0.1"):
    """A CA and a relay certificate for cn signed by it (openssl(1)):
    (ca.pem, cert.pem, key.pem)."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr = os.path.join(d, "relay.key"), os.path.join(d, "relay.csr")
    cert, ext = os.path.join(d, "relay.pem"), os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s,IP:%s\n" % (cn, cn))
    q = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
                    "-subj", "/CN=Fanfare test CA"], **q)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn], **q)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca,
                    "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                    "-days", "2", "-extfile", ext], **q)
    return ca, cert, key


def test_starttls(redis):
    """smtp_starttls required with smtp_ca_file and SMTP AUTH, against a
    capture server with a certificate of a private CA: the mail arrives
    over TLS, authenticated; a fanfared trusting another CA sends
    nothing."""
    d = tmpdir("ff-tls-")
    ca, cert, key = make_relay_cert(d)
    other_ca, _, _ = make_relay_cert(tmpdir("ff-tls2-"))
    cap = os.path.join(d, "cap")
    os.makedirs(cap)
    srv = smtp_capture.CaptureServer(cap, args=["--tls-cert", cert,
                                                "--tls-key", key])
    atexit.register(srv.stop)

    def node(ca_file):
        return Fanfare(redis=redis, admin_key=ADMIN, senders="1",
                       smtp_relay="127.0.0.1:%d" % srv.port,
                       smtp_starttls="required", smtp_ca_file=ca_file,
                       smtp_user="relay-user", smtp_password="s3cret",
                       retry_schedule="1s", retry_lifetime="1h")

    def send(ff, n, label):
        tid, tkey = new_tenant(ff, label)
        emails = ["t%d@%s.test" % (i, label.lower()) for i in range(n)]
        add_contacts(ff, tkey, [{"email": a} for a in emails])
        lid = new_list(ff, tkey, emails)
        tpl = new_template(ff, tkey, "Hi", "<p>Hi</p>", "Hi")
        cid = new_campaign(ff, tkey, tpl, lid)
        launch(ff, tkey, cid)
        return tkey, cid, set(emails)

    ff = node(ca)
    tkey, cid, emails = send(ff, 3, "TLS")
    # Beyond one 30 s SMTP timeout and a retry: aiosmtpd's switch to TLS
    # has been seen to stall a first session now and then.
    t0 = time.monotonic()
    js = wait_done(ff, tkey, cid, timeout=75)
    diag("STARTTLS campaign done in %.1f s" % (time.monotonic() - t0))
    got = [e for e in smtp_capture.read_log(cap) if "seq" in e]
    rcpts = {r.lower() for e in got for r in e["rcpt_tos"]}
    ok(js.get("status") == "done" and rcpts == emails,
       "STARTTLS required, private CA: 3 messages arrive", "%r %r" % (js, got))
    ok(got and all(e["tls"] for e in got),
       "every message came over TLS", repr(got))
    ok(got and all(e.get("auth_user") == "relay-user" for e in got),
       "every message came after AUTH as smtp_user", repr(got))
    ff.stop()

    ff = node(other_ca)
    tkey, cid, emails = send(ff, 2, "Untrusted")
    time.sleep(3)
    got = [e for e in smtp_capture.read_log(cap) if "seq" in e and
           {r.lower() for r in e["rcpt_tos"]} & emails]
    js = campaign(ff, tkey, cid)
    ok(not got and js.get("progress", {}).get("sent") == 0,
       "a relay certificate of another CA: nothing sent in 3 s",
       "%r %r" % (got, js))
    with open(ff.log) as f:
        log = f.read()
    ok("certificate is not trusted" in log,
       "fanfared says why it does not send", "\n".join(log.splitlines()[-8:]))
    ff.stop()
    srv.stop()


def main():
    # A relay without 8BITMIME: this file checks the quoted-printable,
    # all-ASCII bodies; test_eightbit.py checks the 8bit ones.
    relay = Relay(args=["--no-8bitmime"])
    confdir = tmpdir("ff-dkim-")
    keyfile, pub = make_dkim_key(confdir)
    _, other_pub = make_dkim_key(tmpdir("ff-dkim2-"))
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, api_max_body="16M",
                 smtp_relay="127.0.0.1:%d" % relay.port,
                 senders=str(SENDERS), smtp_starttls="off",
                 retry_schedule=",".join("%ds" % s for s in RETRY),
                 retry_lifetime="1h", claim_idle="2s",
                 dkim_domain=DKIM_DOMAIN, dkim_selector=DKIM_SELECTOR,
                 dkim_key_file=keyfile)
    # The API answers before the senders have started: wait for the line.
    def dkim_on():
        with open(ff.log, "rb") as f:
            return b"DKIM on" in f.read()
    ok(wait_for(dkim_on, timeout=10), "fanfared starts its senders, DKIM on",
       "\n".join(open(ff.log).read().splitlines()[-5:]))
    t0 = time.monotonic()
    tid, key = new_tenant(ff, "Deliver")
    first = run(test_personalisation, ff, relay, redis, tid, key)
    if first:
        cid, msgs = first
        run(test_tracking, ff, relay, redis, tid, key, cid, msgs)
        run(test_dkim, msgs, pub, other_pub)
    run(test_suppression, ff, relay, redis)
    run(test_optout_mid, ff, relay, redis)
    run(test_slow_batch, ff, relay, redis)
    run(test_injection, ff, relay, redis)
    run(test_unsendable_address, ff, relay, redis)
    run(test_tempfail, ff, relay, redis)
    run(test_bounce, ff, relay, redis)
    run(test_drop, ff, relay, redis)
    run(test_drop_untried, ff, relay, redis)
    # A Redis of their own: the senders of every fanfared on a Redis take
    # its campaigns, and ff's would send these to its own relay.
    for fn in (test_starttls, test_global_cap):
        own = Redis()
        run(fn, own)
        own.stop()
    run(test_crash, ff, relay, redis, n=int(os.environ.get("FF_CRASH_RECIPIENTS", "20000")))
    relay.close()
    diag("test_delivery: %.1f s in all" % (time.monotonic() - t0))
    done()


if __name__ == "__main__":
    main()
