#!/usr/bin/python3
"""
test_domains.py: sending domains (API.md part 2) against a real DNS
server: Debian's dnsmasq, started by this test on a free loopback port
(--no-resolv --no-hosts, answering only for *.test), serving the records
POST /v1/domains asked for, and fanfared's dns_resolver pointing at it.

  1. POST /v1/domains: 201 pending, every record listed (two DKIM TXT,
     SPF, DMARC, the bounce CNAME); no private key in the answer; bad
     names 422, twice 409, another tenant sees 404;
  2. verify before the records exist: pending, each check "missing";
     a campaign from the domain: 422 unverified_domain (and from a
     domain the tenant never added);
  3. the records published (dnsmasq restarted with them; its TXT strings
     are split at 255 bytes, fanfared joins them): verify says verified,
     each record "match";
  4. a campaign from the domain is sent to the SMTP capture: each message
     has two DKIM-Signature headers, a=rsa-sha256 and a=ed25519-sha256,
     d= the From domain, each verifying with python3-dkim (and
     python3-nacl for Ed25519) against the published records; List-Id
     and Feedback-ID are there and signed;
  5. rotate: new selectors to publish, the old ones still sign; once the
     new records are in DNS, verify promotes them and they sign;
  6. no private key in clear anywhere: API answers, the subject export,
     fanfared's log, every Redis value (sealed fields are "v1." text);
  7. DELETE: 204, then 404, and the From is refused again, also at
     launch: a draft made while the domain was verified, launched after
     the DELETE, is 422 unverified_domain and stays a draft;
  8. a tenant purge removes its domains with its other keys.
"""
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, done,
                     free_port, launch, must, new_list, new_template,
                     new_tenant, ok, run, skip, tmpdir, wait_done, diag)
import harness

import dkim                         # Debian's python3-dkim

ADMIN = "admin-" + "e" * 40
DNSMASQ = "/usr/sbin/dnsmasq"
DOMAIN = "acme.test"
BOUNCE = "bounce.fanfare.test"
FROM = "News <news@acme.test>"
# What PKCS#8 PEMs of the two key types start with, base64: in any stored
# or printed text they would mean a private key in clear.
PEM_MARKS = [b"PRIVATE KEY", b"MC4CAQAwBQYDK2VwBCIEI", b"MIIEvQIBADANBgkq",
             b"MIIEvAIBADANBgkq", b"MIIEvgIBADANBgkq"]


class DNS:
    """dnsmasq on loopback, restarted with each new set of records."""

    def __init__(self):
        self.port = free_port()
        self.dir = tmpdir("ff-dns-")
        self.proc = None
        self.records = []

    def start(self, records):
        self.stop()
        self.records = list(records)
        argv = [DNSMASQ, "--no-daemon", "--no-resolv", "--no-hosts",
                "--conf-file=/dev/null", "--port=%d" % self.port,
                "--listen-address=127.0.0.1", "--bind-interfaces",
                "--local=/test/", "--user=root",
                "--pid-file=" + os.path.join(self.dir, "pid"),
                "--log-facility=-",
                "--host-record=%s,127.0.0.1" % BOUNCE]
        for r in records:
            if r["type"] == "TXT":
                argv.append("--txt-record=%s,%s" % (r["name"], r["value"]))
            elif r["type"] == "CNAME":
                argv.append("--cname=%s,%s" % (r["name"], r["value"]))
        self.proc = harness.spawn(argv, os.path.join(self.dir, "log"))
        # Ready when it answers a TXT query on its port.
        def ready():
            import socket
            import struct
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            q = struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0) + \
                b"\x04ping\x04test\x00" + struct.pack(">HH", 16, 1)
            try:
                s.sendto(q, ("127.0.0.1", self.port))
                return s.recv(512)
            except OSError:
                return None
            finally:
                s.close()
        if not harness.wait_for(ready, timeout=5):
            raise RuntimeError("dnsmasq does not answer")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
            self.proc = None

    def txt(self, name):
        """The TXT records as dkimpy's dnsfunc wants them."""
        for r in self.records:
            if r["type"] == "TXT" and r["name"] == name:
                return r["value"].encode()
        return None


def api(ff, method, path, key, body=None):
    st, js, raw = call(ff, method, path, key, body)
    api.answers.append(raw)
    return st, js, raw


api.answers = []


def by_purpose(js, purpose):
    return [r for r in js.get("dns", []) if r.get("purpose") == purpose]


def test_create(ff, key, key_b):
    st, js, raw = api(ff, "POST", "/v1/domains", key, {"domain": "Acme.Test"})
    ok(st == 201 and js.get("domain") == DOMAIN and
       js.get("status") == "pending",
       "POST /v1/domains: 201 pending, the name lowered", raw[:300])
    dkims = by_purpose(js, "dkim")
    kinds = sorted(re.search(r"k=(\w+)", r["value"]).group(1)
                   for r in dkims)
    ok(len(dkims) == 2 and kinds == ["ed25519", "rsa"] and
       all(r["type"] == "TXT" and
           r["name"].endswith("._domainkey." + DOMAIN) for r in dkims),
       "two DKIM TXT records, RSA and Ed25519", repr(dkims)[:400])
    spf = by_purpose(js, "spf")
    dmarc = by_purpose(js, "dmarc")
    bounce = by_purpose(js, "bounce")
    ok(len(spf) == 1 and spf[0]["name"] == DOMAIN and
       spf[0]["value"] == "v=spf1 include:%s ~all" % BOUNCE and
       len(dmarc) == 1 and dmarc[0]["name"] == "_dmarc." + DOMAIN and
       dmarc[0]["value"].startswith("v=DMARC1;") and
       len(bounce) == 1 and bounce[0]["type"] == "CNAME" and
       bounce[0]["name"] == "bounces." + DOMAIN and
       bounce[0]["value"] == BOUNCE,
       "SPF, DMARC and the bounce CNAME are listed", repr(js)[:600])
    st2, js2, _ = api(ff, "POST", "/v1/domains", key, {"domain": DOMAIN})
    ok(st2 == 409, "the same domain twice: 409", "%d" % st2)
    bad = [api(ff, "POST", "/v1/domains", key, {"domain": d})[0]
           for d in ("", "nodot", "a..b.test", "-a.test", "a b.test",
                     "x" * 64 + ".test")]
    st3 = api(ff, "POST", "/v1/domains", key, {"domain": "a.test",
                                               "keys": 1})[0]
    ok(bad == [422] * 6 and st3 == 400,
       "bad names 422, an unknown field 400", "%r %d" % (bad, st3))
    st4 = api(ff, "GET", "/v1/domains/" + DOMAIN, key_b)[0]
    st5, js5, _ = api(ff, "GET", "/v1/domains", key_b)
    ok(st4 == 404 and st5 == 200 and js5["items"] == [],
       "another tenant sees no such domain", "%d %r" % (st4, js5))
    return js


def campaign_status(ff, key, tpl, lid, frm):
    st, js, raw = api(ff, "POST", "/v1/campaigns", key,
                      {"name": "c", "template_id": tpl, "list_id": lid,
                       "from": frm})
    code = (js or {}).get("error", {}).get("code")
    return st, code, (js or {}).get("id")


def test_pending(ff, dns, key, tpl, lid, created):
    dns.start([])
    st, js, raw = api(ff, "POST", "/v1/domains/%s/verify" % DOMAIN, key)
    results = {r["purpose"] + ":" + r["name"]: r.get("check", {}).get(
        "result") for r in js.get("dns", [])}
    ok(st == 200 and js.get("status") == "pending" and
       results and all(v == "missing" for v in results.values()),
       "verify before the records exist: pending, each one missing",
       raw[:600])
    st, code, _ = campaign_status(ff, key, tpl, lid, FROM)
    ok(st == 422 and code == "unverified_domain",
       "a campaign from the pending domain: 422 unverified_domain",
       "%d %s" % (st, code))
    st, code, _ = campaign_status(ff, key, tpl, lid, "x@other.test")
    ok(st == 422 and code == "unverified_domain",
       "a campaign from a domain the tenant never added: 422",
       "%d %s" % (st, code))


def test_verified(ff, dns, key, created):
    dns.start(created["dns"])
    st, js, raw = api(ff, "POST", "/v1/domains/%s/verify" % DOMAIN, key)
    results = {r["purpose"] + ":" + r["name"]: r.get("check", {}).get(
        "result") for r in js.get("dns", [])}
    ok(st == 200 and js.get("status") == "verified" and
       all(v == "match" for v in results.values()) and len(results) == 5,
       "the records published: verified, each one matches "
       "(the 2048-bit key's TXT came in 255-byte strings)", raw[:800])
    rsa = [r for r in js["dns"] if "k=rsa" in r["value"]][0]
    ok(len(rsa["value"]) > 255, "the RSA record is longer than one TXT "
       "string (%d bytes)" % len(rsa["value"]))
    st, js2, _ = api(ff, "GET", "/v1/domains/" + DOMAIN, key)
    st3, js3, _ = api(ff, "GET", "/v1/domains", key)
    ok(st == 200 and js2["status"] == "verified" and
       all("check" in r for r in js2["dns"]) and
       [d["domain"] for d in js3["items"]] == [DOMAIN],
       "GET shows the status and each record's last check",
       repr(js2)[:400])
    return js


def signatures(raw):
    """{a=: (d=, s=)} of the message's DKIM-Signature headers."""
    out = {}
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    for m in re.finditer(r"^DKIM-Signature:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head,
                         re.M | re.I):
        v = re.sub(r"\s+", "", m.group(1))
        tags = dict(t.split("=", 1) for t in v.split(";") if "=" in t)
        out[tags.get("a")] = (tags.get("d"), tags.get("s"), tags.get("h"))
    return out


def send(ff, relay, key, tpl, lid, n):
    relay.fresh()
    st, code, cid = campaign_status(ff, key, tpl, lid, FROM)
    if st != 201:
        raise AssertionError("campaign: %d %s" % (st, code))
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=60)
    if js.get("status") != "done":
        raise AssertionError("not done: %r" % js)
    got = [e for lst in relay.by_rcpt().values() for e in lst]
    if len(got) != n:
        raise AssertionError("%d messages, want %d" % (len(got), n))
    send.envelopes = [e.get("mail_from", "") for e, _ in got]
    return cid, [raw for _, raw in got]


def verify_all(msgs, dns):
    def dnsfunc(name, timeout=5):
        return dns.txt(name.decode().rstrip("."))
    bad = []
    for raw in msgs:
        d = dkim.DKIM(raw)
        for i in range(2):
            if not d.verify(idx=i, dnsfunc=dnsfunc):
                bad.append((i, raw[:200]))
    return bad


def test_signed(ff, dns, relay, key, tid, tpl, lid, n):
    cid, msgs = send(ff, relay, key, tpl, lid, n)
    sigs = [signatures(raw) for raw in msgs]
    ok(all(set(s) == {"rsa-sha256", "ed25519-sha256"} for s in sigs),
       "each of %d messages has two signatures, rsa-sha256 and "
       "ed25519-sha256" % n, repr(sigs[:1]))
    ok(all(v[0] == DOMAIN for s in sigs for v in s.values()),
       "d= is the From domain", repr(sigs[:1]))
    bad = verify_all(msgs, dns)
    ok(not bad, "both signatures of every message verify with python3-dkim "
       "against the published records", repr(bad[:2]))
    def mangled(raw):
        return raw.replace(b"Hello", b"Hallo", 1)
    ok(all(not dkim.DKIM(mangled(raw)).verify(
        idx=i, dnsfunc=lambda nm, timeout=5: dns.txt(
            nm.decode().rstrip("."))) for raw in msgs[:1] for i in range(2)),
       "a changed body verifies with neither")
    head = msgs[0].split(b"\r\n\r\n", 1)[0]
    lid_h = re.search(rb"^List-Id: <([^>]+)>\r$", head, re.M)
    fid_h = re.search(rb"^Feedback-ID: (\S+)\r$", head, re.M)
    ok(lid_h is not None and lid_h.group(1) ==
       ("tenant-%s.%s" % (tid, DOMAIN)).encode(),
       "List-Id: <tenant-T.acme.test>", head[:600])
    ok(fid_h is not None and fid_h.group(1) ==
       ("%s:%s:campaign:fanfare" % (cid, tid)).encode(),
       "Feedback-ID: C:T:campaign:fanfare (Google's a:b:c:SenderId)",
       head[:600])
    hs = [v[2].lower().split(":") for s in sigs[:1] for v in s.values()]
    ok(all("list-id" in h and "feedback-id" in h for h in hs),
       "both signatures cover List-Id and Feedback-ID", repr(hs))
    ok(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head,
       "the RFC 8058 headers as before")
    env = send.envelopes
    ok(len(env) == n and all(re.match(r"^b[A-Za-z0-9_-]+@bounces\.%s$" %
                                      re.escape(DOMAIN), a) for a in env),
       "the envelope sender is a VERP address at bounces.%s (the CNAME "
       "published; SPF aligned with From)" % DOMAIN, repr(env[:2]))
    return {v[1] for s in sigs for v in s.values()}


def test_rotate(ff, dns, relay, key, tpl, lid, n, old_selectors):
    st, js, raw = api(ff, "POST", "/v1/domains/%s/rotate" % DOMAIN, key)
    new = set(js.get("new_selectors", []))
    dkims = by_purpose(js, "dkim")
    ok(st == 200 and len(new) == 2 and not (new & old_selectors) and
       len(dkims) == 4 and js.get("status") == "verified",
       "rotate: two new selectors to publish, the old two still listed, "
       "still verified", raw[:500])
    # The senders read the domain's version when they reload a campaign:
    # a new campaign is loaded afresh.
    _, msgs = send(ff, relay, key, tpl, lid, n)
    used = {v[1] for raw in msgs for v in signatures(raw).values()}
    ok(used == old_selectors and not verify_all(msgs, dns),
       "before the new records are in DNS the old selectors sign",
       "%r %r" % (used, old_selectors))
    records = [r for r in js["dns"]]
    dns.start(records)
    st, js2, raw = api(ff, "POST", "/v1/domains/%s/verify" % DOMAIN, key)
    dk2 = by_purpose(js2, "dkim")
    ok(st == 200 and js2["status"] == "verified" and len(dk2) == 2 and
       {r["selector"] for r in dk2} == new,
       "once they are in DNS, verify promotes the new selectors and drops "
       "the old", raw[:500])
    _, msgs = send(ff, relay, key, tpl, lid, n)
    used = {v[1] for raw in msgs for v in signatures(raw).values()}
    ok(used == new and not verify_all(msgs, dns),
       "then the new selectors sign, and verify", repr(used))


def test_no_key_in_clear(ff, redis, key, tid):
    leaks = [m for raw in api.answers for m in PEM_MARKS if m in raw]
    ok(not leaks and api.answers, "no private key in any of %d API answers"
       % len(api.answers), repr(leaks))
    st, _, raw = call(ff, "GET", "/v1/subjects/a0@example.org", key)
    ok(st == 200 and not [m for m in PEM_MARKS if m in raw],
       "nor in the subject export", "%d" % st)
    with open(ff.log, "rb") as f:
        log = f.read()
    ok(not [m for m in PEM_MARKS if m in log], "nor in fanfared's log")
    dump = harness.dump_tenant(redis, tid)
    blob = repr(dump).encode()
    ok(not [m for m in PEM_MARKS if m in blob] and
       b"sealed:" in blob,
       "nor in Redis: the keys are sealed fields", blob[:300])
    def text(v):
        return v.decode() if isinstance(v, bytes) else str(v)
    ids = [text(v) for v in redis.cmd("HGETALL", "{t:%s}:domains" % tid)]
    dom = [text(v) for v in redis.cmd("HGETALL", "{t:%s}:domain:%s"
                                      % (tid, ids[1]))]
    fields = dict(zip(dom[::2], dom[1::2]))
    sealed = {f: v for f, v in fields.items() if f.startswith("sealed:")}
    ok(len(sealed) == 2 and all(v.startswith("v1.") and
                                len(set(v)) > 30 for v in sealed.values()),
       "two sealed keys (v1. AES-256-GCM text), the signing generation's",
       repr(list(sealed))[:200])


def test_delete(ff, key, tpl, lid, verified):
    draft = None
    if verified:
        st, code, draft = campaign_status(ff, key, tpl, lid, FROM)
        ok(st == 201, "a draft from the verified domain: 201",
           "%d %s" % (st, code))
    st = api(ff, "DELETE", "/v1/domains/" + DOMAIN, key)[0]
    st2 = api(ff, "GET", "/v1/domains/" + DOMAIN, key)[0]
    st3, code, _ = campaign_status(ff, key, tpl, lid, FROM)
    ok(st == 204 and st2 == 404 and st3 == 422 and
       code == "unverified_domain",
       "DELETE: 204, then 404, and the From is refused again",
       "%d %d %d %s" % (st, st2, st3, code))
    if draft is None:
        skip("launch after DELETE", "the domain never verified")
        return
    st, js, raw = api(ff, "POST", "/v1/campaigns/%s/launch" % draft, key)
    code = (js or {}).get("error", {}).get("code")
    st2, js2, _ = api(ff, "GET", "/v1/campaigns/%s" % draft, key)
    ok(st == 422 and code == "unverified_domain" and st2 == 200 and
       js2.get("status") == "draft",
       "a draft made while the domain was verified, launched after the "
       "DELETE: 422 unverified_domain, and it stays a draft",
       "%d %s / %d %r" % (st, raw[:300], st2, js2))


def test_purge(ff, redis):
    tid, key = new_tenant(ff, "Gone")
    st = api(ff, "POST", "/v1/domains", key, {"domain": "gone.test"})[0]
    had = redis.keys("{t:%s}:domain*" % tid)
    st2 = call(ff, "DELETE", "/v1/tenants/%s?now=true" % tid, ADMIN)[0]
    left = redis.keys("{t:%s}*" % tid)
    ok(st == 201 and len(had) == 2 and st2 == 202 and left == [],
       "a tenant purge takes its domains and sealed keys",
       "%d %r %d %r" % (st, had, st2, left))


def main():
    if not os.access(DNSMASQ, os.X_OK):
        skip("sending domains", "no dnsmasq (contrib/setup.sh "
             "FF_TEST_DEPS=1 installs dnsmasq-base)")
        return done()
    diag("redis: %s" % ("a cluster" if harness.CLUSTER else "one server"))
    dns = DNS()
    relay = Relay()
    keydir = tmpdir("ff-datakey-")
    data_key = os.path.join(keydir, "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off", allow_unverified_from=None,
                 data_key_file=data_key, bounce_domain=BOUNCE,
                 dns_resolver="127.0.0.1:%d" % dns.port)
    tid, key = new_tenant(ff, "Acme")
    _, key_b = new_tenant(ff, "Other")
    n = 3
    emails = ["a%d@example.org" % i for i in range(n)]
    add_contacts(ff, key, [{"email": e} for e in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Hello {{email}}", "<p>Hello</p>",
                       "Hello there")
    created = run(test_create, ff, key, key_b)
    if created:
        run(test_pending, ff, dns, key, tpl, lid, created)
        verified = run(test_verified, ff, dns, key, created)
        if verified:
            sel = run(test_signed, ff, dns, relay, key, tid, tpl, lid, n)
            if sel:
                run(test_rotate, ff, dns, relay, key, tpl, lid, n, sel)
        run(test_no_key_in_clear, ff, redis, key, tid)
        run(test_delete, ff, key, tpl, lid, bool(verified))
    run(test_purge, ff, redis)
    st, code, _ = campaign_status(ff, key_b, tpl, lid, FROM)
    ok(st == 422 and code == "unverified_domain",
       "tenant B cannot send as acme.test", "%d %s" % (st, code))
    ff.stop()
    dns.stop()
    relay.close()
    done()


if __name__ == "__main__":
    main()
