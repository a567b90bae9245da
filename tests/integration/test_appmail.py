#!/usr/bin/python3
"""
test_appmail.py: the marketer's app's account mail (issue 16, item 1):
password resets by a mailed link, template test sends, and the audit of
privacy actions with their user, on the real fanfared with its real
senders, a real redis-server (or, with FF_TEST_REDIS=cluster, a Redis
Cluster) and contrib/smtp-capture.py as the relay.

  1. reset: POST /v1/password_reset for a user and for an unknown
     address answer the same status and bytes; the user's mail reaches
     the SMTP server through the senders (system_from's From,
     Message-ID), the unknown address gets none; its link is
     app_url/dashboard/#/reset/T.TOKEN, and Redis holds only the
     token's SHA-256; a weak password is 422 and leaves the link good;
     the reset is 200, ends the old session (401), the new password logs
     in and the old one fails; the link again is 404 invalid_token, as a
     forged one; an opted-out user still gets a reset (transactional);
     the audit stream has "password_reset_requested" (by "anonymous")
     and "password_reset" (by "user:U");
  2. retry: a reset the relay defers (451) is sent at the next try of
     the schedule, although the tenant's account campaign is older than
     retry_lifetime (a system campaign's mail counts its life from its
     own first try);
  3. expiry: a second fanfared on the same Redis with
     password_reset_ttl 2s: its link is 404 once 2 s have passed;
  4. a tenant with a verified sending domain: its reset comes from
     noreply@ the domain, with both DKIM signatures, which verify;
  5. throttle: the 4th request for one address in 15 minutes is 429 (a
     known or an unknown one alike), and from one client, after 20
     requests for different addresses, 429 too;
  6. test send: a marketer's session sends a template to one address
     with a contact's fields: the mail arrives with "[Test] " and the
     fields rendered; a template changed at once is sent as changed; a
     viewer is 403; an opted-out address, a blocklisted domain and an
     address with a special-category term are 422 and get no mail;
  7. audit: opt-out add/remove, blocklist add/remove, a subject export
     and an erasure made with a session carry "user:U", made with the
     tenant key its key prefix.
"""
import email
import email.policy
import hashlib
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, call, done, must, new_template,
                     new_tenant, ok, run, skip, tmpdir, wait_for)
from harness import session_call as api
from test_domains import DNS, DNSMASQ

ADMIN = "admin-" + "m" * 40
SYSTEM_FROM = "Acme Accounts <accounts@acme.test>"
APP_URL = "https://app.acme.test"
POLICY = email.policy.default
PW = {"owner": "owner-pass-Zq7#kd1", "marketer": "market-pass-Jx3!vw9",
      "viewer": "viewer-pass-Pk5$ta2"}
LINK = re.compile(re.escape(APP_URL) + r"/dashboard/#/reset/(\d+\.[0-9a-f]{64})")


def login(ff, email_, password):
    st, js, hdrs, raw = api(ff, "POST", "/v1/session",
                            body={"email": email_, "password": password})
    if st != 200:
        return st, None, None
    return st, hdrs.get("set-cookie", "").split(";")[0], js["csrf_token"]


def mails_to(relay, addr):
    return relay.by_rcpt().get(addr.lower(), [])


def parts_of(raw):
    msg = email.message_from_bytes(raw, policy=POLICY)
    text = html = ""
    for p in msg.walk():
        if p.get_content_type() == "text/plain":
            text = p.get_content()
        elif p.get_content_type() == "text/html":
            html = p.get_content()
    return msg, text, html


def audit(ff, key):
    return must("GET /v1/audit", call(ff, "GET", "/v1/audit?limit=1000",
                                      key))["items"]


def test_reset(ff, relay, redis, tid, key, users):
    relay.fresh()
    owner = "owner@acme.test"
    st0, old_cookie, old_csrf = login(ff, owner, PW["owner"])
    ok(st0 == 200, "the owner logs in with the first password")
    st, _, h1, known = api(ff, "POST", "/v1/password_reset",
                           body={"email": owner})
    st2, _, h2, unknown = api(ff, "POST", "/v1/password_reset",
                              body={"email": "nobody@acme.test"})
    ok(st == 202 and st2 == 202 and known == unknown and
       h1.get("content-type") == h2.get("content-type") and
       h1.get("content-length") == h2.get("content-length"),
       "a known and an unknown address: the same 202 and the same bytes",
       "%d %r / %d %r" % (st, known, st2, unknown))
    got = wait_for(lambda: mails_to(relay, owner), timeout=20)
    ok(got and len(got) == 1, "the reset mail reaches the SMTP server "
       "through the senders, once", repr(relay.log())[:2000])
    if not got:
        return
    msg, text, html = parts_of(got[0][1])
    ok(msg["From"] == SYSTEM_FROM and msg["Message-ID"] is not None and
       msg["Subject"] == "Reset your password",
       "its From is system_from (the tenant has no verified domain), with "
       "a Message-ID and the subject", str(msg)[:1500])
    m = LINK.search(text)
    ok(m is not None and LINK.search(html) is not None,
       "the text and the html hold the link app_url/dashboard/(hash)/reset/T.TOKEN",
       text[:1500])
    if m is None:
        return
    token = m.group(1)
    ok(token.startswith("%s." % tid), "the token names the tenant", token)
    hexpart = token.split(".", 1)[1]
    keys = redis.keys("{t:%s}:reset:*" % tid)
    ok(keys == ["{t:%s}:reset:%s" % (tid, hashlib.sha256(
        hexpart.encode()).hexdigest())] and
       not any(hexpart in k for k in redis.keys("*")),
       "Redis holds the token's SHA-256 only, under the tenant's tag", keys)
    ok(mails_to(relay, "nobody@acme.test") == [],
       "the unknown address gets no mail")
    gone = wait_for(lambda: redis.keys("{t:%s}:sysmail:*" % tid) == [],
                    timeout=10)
    ok(gone, "once sent, the queued mail's record (the link in clear) is "
       "deleted", redis.keys("{t:%s}:sysmail:*" % tid))

    st, js, _, raw = api(ff, "POST", "/v1/password_reset/" + token,
                         body={"password": "short"})
    ok(st == 422 and js["error"]["code"] == "weak_password",
       "a weak new password: 422 weak_password", raw)
    new_pw = "new-owner-Pass-88!"
    st, js, _, raw = api(ff, "POST", "/v1/password_reset/" + token,
                         body={"password": new_pw})
    ok(st == 200 and js == {"user": users["owner"], "sessions_ended": 1},
       "the link (still good after the 422) resets: 200 {user, "
       "sessions_ended}", raw)
    st, _, _, _ = api(ff, "GET", "/v1/users", cookie=old_cookie)
    ok(st == 401, "the session from before the reset is over: 401", st)
    ok(login(ff, owner, new_pw)[0] == 200, "the new password logs in")
    ok(login(ff, owner, PW["owner"])[0] == 401, "the old one fails: 401")
    st, js, _, raw = api(ff, "POST", "/v1/password_reset/" + token,
                         body={"password": "another-Pass-99!"})
    ok(st == 404 and js["error"]["code"] == "invalid_token",
       "the link used again: 404 invalid_token", raw)
    forged = "%s.%s" % (tid, "ab" * 32)
    st, js, _, raw = api(ff, "POST", "/v1/password_reset/" + forged,
                         body={"password": "another-Pass-99!"})
    st2, _, _, _ = api(ff, "POST", "/v1/password_reset/garbage",
                       body={"password": "another-Pass-99!"})
    ok(st == 404 and js["error"]["code"] == "invalid_token" and st2 == 404,
       "a forged or malformed token: 404 invalid_token", raw)
    PW["owner"] = new_pw

    # An opted-out user still gets the reset it asked for.
    marketer = "marketer@acme.test"
    must("opt out", call(ff, "POST", "/v1/optouts", key,
                         {"email": marketer}))
    st, _, _, _ = api(ff, "POST", "/v1/password_reset",
                      body={"email": marketer})
    got = wait_for(lambda: mails_to(relay, marketer), timeout=20)
    ok(st == 202 and got and LINK.search(parts_of(got[0][1])[1]),
       "an opted-out address still gets its reset (transactional)",
       repr(relay.log())[:1500])
    must("opt in", call(ff, "DELETE", "/v1/optouts/" + marketer, key),
         204)

    items = audit(ff, key)
    req = [i for i in items if i.get("action") == "password_reset_requested"]
    did = [i for i in items if i.get("action") == "password_reset"]
    ok(len(req) == 2 and req[-1]["user"] == users["owner"] and
       req[-1]["key_prefix"] == "anonymous" and len(did) == 1 and
       did[0]["user"] == users["owner"] and
       did[0]["key_prefix"] == "user:%s" % users["owner"],
       "the audit stream: password_reset_requested (anonymous) and "
       "password_reset (by the user)", json.dumps(items)[:2000])


def test_retry(ff, relay, redis, tid):
    """A reset deferred by the relay is tried again by the schedule,
    however long ago the tenant's account campaign was made."""
    camp = redis.cmd("HGET", "{t:%s}:syscamps" % tid, "account")
    camp = camp.decode() if isinstance(camp, bytes) else camp
    # As if made three days ago: older than retry_lifetime (2d).
    redis.cmd("HSET", "{t:%s}:camp:%s" % (tid, camp), "launched_at",
              str(int(time.time() * 1000) - 3 * 86400000))
    relay.fresh(faults={"tempfail_first": 1})
    addr = "marketer@acme.test"
    st, _, _, _ = api(ff, "POST", "/v1/password_reset", body={"email": addr})
    got = wait_for(lambda: mails_to(relay, addr), timeout=20)
    refused = [e for e in relay.refused()
               if addr in json.dumps(e).lower()]
    ok(st == 202 and got and len(got) == 1 and refused,
       "a reset the relay deferred (451) arrives at the retry, though its "
       "campaign is older than retry_lifetime", "%r %r" % (
           refused, relay.log()[:5]))


def test_expiry(ff2, relay, users):
    relay.fresh()
    viewer = "viewer@acme.test"
    t0 = time.monotonic()
    st, _, _, _ = api(ff2, "POST", "/v1/password_reset",
                      body={"email": viewer})
    got = wait_for(lambda: mails_to(relay, viewer), timeout=20)
    m = LINK.search(parts_of(got[0][1])[1]) if got else None
    ok(st == 202 and m is not None, "the second node's reset mail arrives")
    if m is None:
        return
    time.sleep(max(0, 2.5 - (time.monotonic() - t0)))
    st, js, _, raw = api(ff2, "POST", "/v1/password_reset/" + m.group(1),
                         body={"password": "late-Pass-1234"})
    ok(st == 404 and js["error"]["code"] == "invalid_token",
       "past password_reset_ttl (2s) the link is 404 invalid_token", raw)
    ok(login(ff2, viewer, PW["viewer"])[0] == 200,
       "and the password is the old one")


def test_verified_from(ff, relay, dns, key2):
    """A tenant with a verified sending domain: its reset comes from
    noreply@ that domain, signed by the domain's DKIM keys."""
    from test_domains import signatures, verify_all
    boss = "boss@beta.test"
    must("POST /v1/users", call(ff, "POST", "/v1/users", key2,
                                {"email": boss, "password": PW["owner"],
                                 "role": "owner"}), 201)
    js = must("POST /v1/domains", call(ff, "POST", "/v1/domains", key2,
                                       {"domain": "beta.test"}), 201)
    dns.start(js["dns"])
    js = must("verify", call(ff, "POST", "/v1/domains/beta.test/verify",
                             key2))
    ok(js.get("status") == "verified", "the second tenant's domain is "
       "verified", repr(js)[:300])
    relay.fresh()
    st, _, _, _ = api(ff, "POST", "/v1/password_reset", body={"email": boss})
    got = wait_for(lambda: mails_to(relay, boss), timeout=20)
    ok(st == 202 and got and len(got) == 1, "its user's reset arrives")
    if not got:
        return
    raw = got[0][1]
    sigs = signatures(raw)
    ok(parts_of(raw)[0]["From"] == "noreply@beta.test" and
       sorted(v[0] for v in sigs.values()) == ["beta.test", "beta.test"] and
       not verify_all([raw], dns),
       "from noreply@ the verified domain, with both of its DKIM "
       "signatures, which verify (python3-dkim)", repr(sigs))


def test_throttle(ff, ff2):
    answers = [api(ff, "POST", "/v1/password_reset",
                   body={"email": "viewer@acme.test"})[0]
               for _ in range(3)]
    st, js, hdrs, raw = api(ff, "POST", "/v1/password_reset",
                            body={"email": "viewer@acme.test"})
    st_u = [api(ff, "POST", "/v1/password_reset",
                body={"email": "ghost@acme.test"})[0] for _ in range(4)]
    ok(answers == [202] * 3 and st == 429 and
       js["error"]["code"] == "too_many_attempts" and
       hdrs.get("retry-after") == "900" and st_u == [202] * 3 + [429],
       "the 4th request for one address (known or not) within 15 min: "
       "429 with Retry-After", "%r %d %r %r" % (answers, st, raw, st_u))
    # ff2's own throttle: one client, many addresses (it made 1 so far).
    sts = [api(ff2, "POST", "/v1/password_reset",
               body={"email": "c%d@acme.test" % i})[0] for i in range(20)]
    ok(sts[:19] == [202] * 19 and sts[19] == 429,
       "the 21st request of one client within 15 min: 429", sts)


def test_send(ff, relay, tid, key, users):
    relay.fresh()
    tpl = new_template(ff, key, "Hello {{first_name}}",
                       "<p>Hi {{first_name}} from {{attributes.city}}</p>",
                       "Hi {{first_name}} from {{attributes.city}}")
    st, cookie, csrf = login(ff, "marketer@acme.test", PW["marketer"])
    path = "/v1/templates/%s/test" % tpl
    body = {"email": "qa@acme.test",
            "contact": {"first_name": "Zoé", "attributes": {"city": "Lyon"}}}
    st, js, _, raw = api(ff, "POST", path, body=body, cookie=cookie,
                         csrf=csrf)
    ok(st == 202 and js == {"status": "queued", "email": "qa@acme.test"},
       "a marketer's test send: 202 {status, email}", raw)
    got = wait_for(lambda: mails_to(relay, "qa@acme.test"), timeout=20)
    ok(got and len(got) == 1, "the test mail reaches the SMTP server",
       repr(relay.log())[:1500])
    if got:
        msg, text, html = parts_of(got[0][1])
        ok(msg["Subject"] == "[Test] Hello Zoé" and
           "Hi Zoé from Lyon" in text and "Hi Zoé from Lyon" in html and
           msg["From"] == SYSTEM_FROM,
           "rendered with the contact's fields, subject prefixed [Test]",
           str(msg)[:1500])
    must("PUT template", call(ff, "PUT", "/v1/templates/%s" % tpl, key,
                              {"name": "t", "subject": "Changed {{first_name}}",
                               "html": "<p>New {{first_name}}</p>",
                               "text": "New {{first_name}}"}))
    st, _, _, _ = api(ff, "POST", path, key=key,
                      body={"email": "qa2@acme.test",
                            "contact": {"first_name": "Max"}})
    got = wait_for(lambda: mails_to(relay, "qa2@acme.test"), timeout=20)
    ok(st == 202 and got and parts_of(got[0][1])[0]["Subject"] ==
       "[Test] Changed Max", "a template changed just before is sent as "
       "changed", got and str(parts_of(got[0][1])[0])[:800])

    st, vcookie, vcsrf = login(ff, "viewer@acme.test", PW["viewer"])
    st, js, _, raw = api(ff, "POST", path, body=body, cookie=vcookie,
                         csrf=vcsrf)
    ok(st == 403 and js["error"]["code"] == "forbidden_role",
       "a viewer's test send: 403 forbidden_role", raw)
    must("opt out", call(ff, "POST", "/v1/optouts", key,
                         {"email": "out@acme.test"}))
    must("block", call(ff, "POST", "/v1/blocklist", key,
                       {"pattern": "@blocked.test"}))
    refused = []
    for addr, contact in (("out@acme.test", {}), ("x@blocked.test", {}),
                          ("sick@acme.test",
                           {"attributes": {"note": "hiv positive"}})):
        st, js, _, raw = api(ff, "POST", path, key=key,
                             body={"email": addr, "contact": contact})
        refused.append((st, js and js["error"]["code"]))
    ok(refused == [(422, "suppressed"), (422, "suppressed"),
                   (422, "special_category")],
       "an opted-out address, a blocklisted domain: 422 suppressed; a "
       "special-category term: 422 special_category", refused)
    st, _, _, _ = api(ff, "POST", "/v1/templates/999999/test", key=key,
                      body={"email": "qa@acme.test"})
    ok(st == 404, "an unknown template: 404", st)
    time.sleep(2)
    ok(all(mails_to(relay, a) == [] for a in
           ("out@acme.test", "x@blocked.test", "sick@acme.test")),
       "none of them got a mail")


def test_audit(ff, tid, key, users):
    st, cookie, csrf = login(ff, "marketer@acme.test", PW["marketer"])
    actions = ["optout_add", "optout_remove", "blocklist_add",
               "blocklist_remove", "access", "erase"]
    prefix = key[len("ff_%s_" % tid):][:8]
    for n, (who, kw) in enumerate(((
            "user:%s" % users["marketer"], {"cookie": cookie, "csrf": csrf}),
            (prefix, {"key": key}))):
        addr = "subject%d@acme.test" % n
        steps = [("POST", "/v1/optouts", {"email": addr}, 200),
                 ("DELETE", "/v1/optouts/" + addr, None, 204),
                 ("POST", "/v1/blocklist", {"pattern": "@spam.test"}, 200),
                 ("DELETE", "/v1/blocklist/@spam.test", None, 204),
                 ("GET", "/v1/subjects/" + addr, None, 200),
                 ("DELETE", "/v1/subjects/" + addr, None, 200)]
        must("contact", call(ff, "POST", "/v1/contacts", key,
                             [{"email": addr, "first_name": "Sam"}]))
        before = len(audit(ff, key))
        sts = [api(ff, m, p, body=b, **kw)[0] for m, p, b, _ in steps]
        new = audit(ff, key)[:len(audit(ff, key)) - before]
        got = [(i.get("action"), i.get("key_prefix")) for i in reversed(new)]
        ok(sts == [s for _, _, _, s in steps] and
           got == [(a, who) for a in actions] and
           not any(addr in json.dumps(i) for i in new),
           "privacy actions by %s are audited with %s, never the address"
           % ("a session" if "cookie" in kw else "the key", who),
           "%r %r" % (sts, got))


def main():
    relay = Relay()
    redis = Redis()
    dns = DNS() if os.access(DNSMASQ, os.X_OK) else None
    data_key = os.path.join(tmpdir("ff-datakey-"), "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)
    common = dict(admin_key=ADMIN, smtp_relay="127.0.0.1:%d" % relay.port,
                  smtp_starttls="off", system_from=SYSTEM_FROM,
                  retry_schedule="1s,1s", data_key_file=data_key,
                  dns_resolver="127.0.0.1:%d" % (dns.port if dns else 53),
                  app_url=APP_URL)
    ff = Fanfare(redis=redis, senders="1", **common)
    ff2 = Fanfare(redis=redis, senders="0", password_reset_ttl="2s",
                  **common)
    tid, key = new_tenant(ff, "acme")
    users = {}
    for role, pw in PW.items():
        users[role] = must("POST /v1/users", call(
            ff, "POST", "/v1/users", key,
            {"email": "%s@acme.test" % role, "password": pw, "role": role}),
            201)["id"]
    run(test_reset, ff, relay, redis, tid, key, users)
    run(test_retry, ff, relay, redis, tid)
    run(test_expiry, ff2, relay, users)
    if dns is not None:
        run(test_verified_from, ff, relay, dns, new_tenant(ff, "beta")[1])
        dns.stop()
    else:
        skip("verified From", "no dnsmasq (contrib/setup.sh FF_TEST_DEPS=1 "
             "installs dnsmasq-base)")
    run(test_throttle, ff, ff2)
    run(test_send, ff, relay, tid, key, users)
    run(test_audit, ff, tid, key, users)
    relay.close()
    done()


if __name__ == "__main__":
    main()
