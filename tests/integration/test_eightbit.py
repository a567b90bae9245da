#!/usr/bin/python3
"""
test_eightbit.py: 8bit bodies when the relay offers 8BITMIME (issue 12,
part 6), through fanfared's libesmtp senders into contrib/smtp-capture.py
(Debian's python3-aiosmtpd, which offers 8BITMIME unless started with
--no-8bitmime), every message signed by both keys of a sending domain
(RSA and Ed25519) and verified with python3-dkim.

  1. before any session fanfared does not know what the relay offers:
     the first message is quoted-printable;
  2. the relay offers 8BITMIME: a UTF-8 text part with short lines goes
     8bit (a line starting with "." included: SMTP's dot-stuffing keeps
     it), an HTML part with a 1,200-octet line stays quoted-printable,
     and the message is sent with BODY=8BITMIME; an all-ASCII copy goes
     7bit without BODY=8BITMIME;
  3. the relay no longer offers it (restarted with --no-8bitmime) while
     fanfared still thinks it does: the 8bit batch is refused by
     libesmtp before MAIL, retried, and arrives quoted-printable, once;
  4. later campaigns to that relay are quoted-printable from the start;
  5. the tenant's own relay (PUT /v1/relay), which offers 8BITMIME while
     the node's relay does not: learnt for that relay alone, its first
     campaign quoted-printable, the next 8bit, none of it at the node's
     relay.
In every case both DKIM signatures verify over the bytes received, and
the decoded parts are exactly the rendered texts.
"""
import email
import email.policy
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, done,
                     launch, must, new_campaign, new_list, new_template,
                     new_tenant, ok, run, tmpdir, wait_done, diag)

import dkim                         # Debian's python3-dkim

ADMIN = "admin-" + "8" * 40
DOMAIN = "acme.test"
LONG = "x" * 1200                   # one HTML line over 998 octets

TEXT_8 = "Gr\u00fc\u00dfe, {{first_name}}!\n.a line starting with a dot\nBye\n"
HTML_LONG = "<p>" + LONG + " {{first_name}}</p>"
TEXT_ASCII = "Hello {{first_name}}\nBye\n"
HTML_ASCII = "<p>Hello {{first_name}}</p>"
PEOPLE = [{"email": "zoe@eight.test", "first_name": "Zo\u00eb"},
          {"email": "jo@eight.test", "first_name": "Jo"}]


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts(raw):
    m = parse(raw)
    got = list(m.iter_parts()) if m.is_multipart() else [m]
    return {p.get_content_type(): p for p in got}


def norm_nl(s):
    return s.replace("\r\n", "\n")


class Keys:
    """The domain's DKIM TXT records, as dkimpy's dnsfunc wants them."""

    def __init__(self, records):
        self.txt = {r["name"].rstrip("."): r["value"].encode()
                    for r in records if r.get("purpose") == "dkim"}

    def dnsfunc(self, name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return self.txt.get(name.rstrip("."))

    def verify(self, raw):
        """[(index, a=)] of the signatures that do not verify; 2 wanted."""
        d = dkim.DKIM(raw)
        algs = re.findall(rb"^DKIM-Signature:[^\r]*?a=([a-z0-9-]+)",
                          raw.split(b"\r\n\r\n", 1)[0], re.M | re.I)
        bad = [(i, a) for i, a in enumerate(algs)
               if not d.verify(idx=i, dnsfunc=self.dnsfunc)]
        return sorted(algs), bad


def send(ff, relay, key, tpl, emails, name):
    relay_lid = new_list(ff, key, emails, name=name)
    cid = new_campaign(ff, key, tpl, relay_lid)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=60)
    p = js.get("progress", {})
    if js.get("status") != "done" or p.get("sent") != len(emails):
        raise AssertionError("campaign %s: %r" % (name, js))
    got = relay.by_rcpt()
    return {a: got.get(a, []) for a in emails}


def check(keys, what, entry, raw, want_cte, want_body, texts):
    """want_cte: {type: CTE}; texts: {type: decoded text wanted, or
    a substring for text/html}."""
    ps = parts(raw)
    cte = {t: str(p["Content-Transfer-Encoding"]) for t, p in ps.items()}
    ok(cte == want_cte, "%s: Content-Transfer-Encoding %r" % (what, want_cte),
       repr(cte))
    body = [o for o in entry.get("mail_options", [])
            if o.upper().startswith("BODY=")]
    ok(body == ([want_body] if want_body else []),
       "%s: MAIL FROM %s" % (what, want_body or "without BODY="),
       repr(entry.get("mail_options")))
    if "8bit" not in cte.values():
        ok(all(b < 0x80 for b in raw), "%s: every octet ASCII" % what)
    lines = raw.split(b"\r\n")
    ok(max(len(l) for l in lines) <= 998 and b"\r" not in b"".join(lines)
       and b"\n" not in b"".join(lines),
       "%s: CRLF only, no line over 998 octets" % what)
    algs, bad = keys.verify(raw)
    ok(algs == [b"ed25519-sha256", b"rsa-sha256"] and not bad,
       "%s: both DKIM signatures (RSA, Ed25519) verify" % what,
       repr((algs, bad)))
    for t, want in texts.items():
        got = norm_nl(ps[t].get_content()) if t in ps else None
        if t == "text/html":
            ok(got is not None and want in got,
               "%s: the decoded %s holds what was rendered" % (what, t),
               repr(got[:200] if got else got))
        else:
            ok(got == want, "%s: the decoded %s is what was rendered"
               % (what, t), repr((got, want)))


def expect_8(name):
    return {"text/plain": "Gr\u00fc\u00dfe, %s!\n.a line starting with a "
            "dot\nBye\n" % name,
            "text/html": "<p>%s %s</p>" % (LONG, name)}


def expect_ascii(name):
    return {"text/plain": "Hello %s\nBye\n" % name,
            "text/html": "<p>Hello %s</p>" % name}


def test_first_unknown(ff, relay, key, tpl_ascii):
    relay.fresh()
    got = send(ff, relay, key, tpl_ascii, ["first@eight.test"], "first")
    msgs = got["first@eight.test"]
    ok(len(msgs) == 1, "first message: delivered once", repr(len(msgs)))
    e, raw = msgs[0]
    check(ff.keys, "first message (relay not yet known)", e, raw,
          {"text/plain": "quoted-printable",
           "text/html": "quoted-printable"}, None,
          expect_ascii("First"))


def test_offered(ff, relay, key, tpl8, tpl_ascii):
    relay.fresh()
    emails = [p["email"] for p in PEOPLE]
    got = send(ff, relay, key, tpl8, emails, "offered")
    for p in PEOPLE:
        msgs = got[p["email"]]
        ok(len(msgs) == 1, "8BITMIME offered, %s: delivered once"
           % p["email"], repr(len(msgs)))
        if msgs:
            e, raw = msgs[0]
            check(ff.keys, "8BITMIME offered, %s" % p["email"], e, raw,
                  {"text/plain": "8bit", "text/html": "quoted-printable"},
                  "BODY=8BITMIME", expect_8(p["first_name"]))
    relay.fresh()
    got = send(ff, relay, key, tpl_ascii, emails, "offered-ascii")
    e, raw = got["jo@eight.test"][0]
    check(ff.keys, "8BITMIME offered, ASCII copy", e, raw,
          {"text/plain": "7bit", "text/html": "7bit"}, None,
          expect_ascii("Jo"))
    e, raw = got["zoe@eight.test"][0]
    check(ff.keys, "8BITMIME offered, the same template with a UTF-8 name",
          e, raw, {"text/plain": "8bit", "text/html": "8bit"},
          "BODY=8BITMIME", expect_ascii("Zo\u00eb"))


def test_withdrawn(ff, relay, key, tpl8):
    relay.args = ["--no-8bitmime"]
    relay.fresh()
    emails = [p["email"] for p in PEOPLE]
    for label in ("8BITMIME withdrawn", "8BITMIME not offered, later"):
        got = send(ff, relay, key, tpl8, emails, label)
        for p in PEOPLE:
            msgs = got[p["email"]]
            ok(len(msgs) == 1, "%s, %s: delivered once" % (label,
                                                          p["email"]),
               repr(len(msgs)))
            if msgs:
                e, raw = msgs[0]
                check(ff.keys, "%s, %s" % (label, p["email"]), e, raw,
                      {"text/plain": "quoted-printable",
                       "text/html": "quoted-printable"}, None,
                      expect_8(p["first_name"]))
        relay.fresh()
    with open(ff.log, errors="replace") as f:
        log = f.read()
    ok("no longer offers 8BITMIME" in log,
       "fanfared logged the withdrawn 8BITMIME once it met it")


def test_tenant_relay(ff, relay, own, key, tpl8):
    relay.fresh()
    own.fresh()
    must("PUT /v1/relay", call(ff, "PUT", "/v1/relay", key, {
        "host": "127.0.0.1", "port": own.port, "starttls": "off"}), 200)
    emails = [p["email"] for p in PEOPLE]
    for label, cte, body in (
            ("tenant relay, first campaign (not yet known)",
             "quoted-printable", None),
            ("tenant relay offers 8BITMIME", "8bit", "BODY=8BITMIME")):
        got = send(ff, own, key, tpl8, emails, label)
        for p in PEOPLE:
            msgs = got[p["email"]]
            ok(len(msgs) == 1, "%s, %s: delivered once at the tenant's "
               "relay" % (label, p["email"]), repr(len(msgs)))
            if msgs:
                e, raw = msgs[0]
                check(ff.keys, "%s, %s" % (label, p["email"]), e, raw,
                      {"text/plain": cte, "text/html": "quoted-printable"},
                      body, expect_8(p["first_name"]))
        own.fresh()
    ok(relay.by_rcpt() == {}, "nothing went to the node's relay",
       repr(list(relay.by_rcpt())))
    must("DELETE /v1/relay", call(ff, "DELETE", "/v1/relay", key), 204)


def main():
    relay = Relay()
    own = Relay()                   # the tenant's own relay
    keydir = tmpdir("ff-datakey-")
    data_key = os.path.join(keydir, "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off", data_key_file=data_key,
                 retry_schedule="1s", retry_lifetime="1h",
                 relay_allow="127.0.0.0/8")
    tid, key = new_tenant(ff, "Eight")
    js = must("POST /v1/domains", call(ff, "POST", "/v1/domains", key,
                                       {"domain": DOMAIN}), 201)
    ff.keys = Keys(js.get("dns", []))
    diag("DKIM records: %s" % sorted(ff.keys.txt))
    add_contacts(ff, key, PEOPLE + [{"email": "first@eight.test",
                                     "first_name": "First"}])
    tpl8 = new_template(ff, key, "Hi {{first_name}}", HTML_LONG, TEXT_8)
    tpl_ascii = new_template(ff, key, "Hi {{first_name}}", HTML_ASCII,
                             TEXT_ASCII)
    run(test_first_unknown, ff, relay, key, tpl_ascii)
    run(test_offered, ff, relay, key, tpl8, tpl_ascii)
    run(test_withdrawn, ff, relay, key, tpl8)
    run(test_tenant_relay, ff, relay, own, key, tpl8)
    ff.stop()
    relay.close()
    own.close()
    done()


if __name__ == "__main__":
    main()
