#!/usr/bin/python3
"""
test_forms.py: signup forms with double opt-in, consent records, the
abuse limits and the preference page (issue 14, items 1-4), on the real
fanfared with its real senders, a real redis-server (or, with
FF_TEST_REDIS=cluster, a Redis Cluster) and contrib/smtp-capture.py.

  1. a person signs up on the hosted page in Debian's headless Chromium
     (tests/browser/signup.mjs, screenshots in test_forms.d/); the
     confirmation mail reaches the capture server through the senders;
     a GET of its link confirms nothing, the POST does; the contact is
     then active on the form's list; the subject export shows the
     consent record (form, consent text and its version, asked and
     confirmed times, method, no IP); erasure removes it;
  2. abuse: 1,000 sign-ups of one address within a minute (from 1,000
     client addresses, so only the per-address limit holds them) give one
     mail; a filled honeypot gives none and stores nothing; a known and
     an unknown address get byte-identical answers; one client past
     signup_rate gets 429; a body over max_body_bytes gets 413; a forged
     or changed token, or a token of another kind, gets 404; a form of
     tenant A never writes to tenant B;
  3. the API: a special-category attribute field is 422
     special_category_reference, a redirect_url off the tenant's verified
     domains 422, a new consent text a new version;
  4. single opt-in subscribes at once (consent method single, no mail);
     a field with a special-category term stores the sign-up
     quarantined, never mailed;
  5. the preference page: a recipient leaves a list and opts out; the
     next campaign to the other list skips the recipient (opted_out).
"""
import email
import email.policy
import json
import os
import re
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, diag, done,
                     launch, must, new_campaign, new_list, new_template,
                     new_tenant, ok, public_path, run, wait_done, wait_for)
from browserkit import have_browser, out_dir, run_node

ADMIN = "admin-" + "f" * 40
RATE = 5                            # signup_rate of the test's fanfared
FROM = "Acme News <news@acme.test>"
CONSENT = "I agree to receive Acme's monthly newsletter."
POLICY = email.policy.default
FORM_CT = {"Content-Type": "application/x-www-form-urlencoded"}
_xff = [0]


def client():
    """A new client address (X-Forwarded-For from a trusted proxy)."""
    _xff[0] += 1
    n = _xff[0]
    return "10.%d.%d.%d" % (n >> 16 & 255, n >> 8 & 255, n & 255)


def post(ff, path, fields, xff=None):
    h = dict(FORM_CT)
    h["X-Forwarded-For"] = xff or client()
    return ff.http("POST", path, headers=h,
                   body=urllib.parse.urlencode(fields).encode())


def new_form(ff, key, lid, **extra):
    body = {"name": "Acme news", "list_id": lid,
            "fields": ["email", "first_name"], "consent_text": CONSENT,
            "from": FROM}
    body.update(extra)
    return must("POST /v1/forms", call(ff, "POST", "/v1/forms", key, body),
                201)


def mails_to(relay, addr):
    return relay.by_rcpt().get(addr.lower(), [])


def text_of(raw):
    msg = email.message_from_bytes(raw, policy=POLICY)
    part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    return msg, part.get_content()


def confirm_path(ff, raw):
    _, text = text_of(raw)
    m = re.search(r"(https?://\S+/s/[A-Za-z0-9_-]+)", text)
    return public_path(ff, m.group(1)) if m else None


def list_members(ff, key, lid):
    return must("GET list", call(ff, "GET", "/v1/lists/%s" % lid,
                                 key))["members"]


def sending(redis):
    return [x.decode() if isinstance(x, bytes) else x
            for x in redis.cmd("SMEMBERS", "ff:sending")]


def strip_date(headers):
    return {k: v for k, v in headers.items() if k != "date"}


# -------------------------------------------------------------- browser

def browser_signup(ff, url, addr, first):
    """Runs signup.mjs; True when its checks passed."""
    if not have_browser():
        return False
    return run_node("signup.mjs", {"FF_FORM_URL": url, "FF_EMAIL": addr,
                                   "FF_FIRST_NAME": first,
                                   "FF_OUT": out_dir("test_forms")}, 6)


# ---------------------------------------------------------------- tests

def test_double_opt_in(ff, relay, redis, tid, key):
    relay.fresh()
    lid = new_list(ff, key, [], name="Newsletter")
    form = new_form(ff, key, lid)
    ok(form["url"].startswith(ff.directives["public_url"] + "/f/") and
       "<form" in form["html"] and 'name="website"' in form["html"],
       "POST /v1/forms answers the hosted page's URL and an HTML snippet "
       "with the honeypot", repr(form))
    addr = "rita@forms.test"
    browser_signup(ff, form["url"], addr, "Rita")
    got = wait_for(lambda: mails_to(relay, addr), timeout=20)
    ok(got and len(got) == 1, "the confirmation mail reaches the SMTP "
       "server, once", repr(relay.log())[:2000])
    if not got:
        return
    msg, text = text_of(got[0][1])
    ok(msg["From"] == FROM and msg["List-Unsubscribe"] is not None and
       msg["Message-ID"] is not None,
       "it went through the senders: the form's From, List-Unsubscribe, "
       "Message-ID", str(msg)[:1500])
    path = confirm_path(ff, got[0][1])
    ok(path is not None, "it holds a confirm link /s/TOKEN", text)
    pending = [k for k in redis.keys("{t:%s}:signup:*" % tid)]
    ttl = redis.cmd("PTTL", pending[0]) if pending else -1
    ok(len(pending) == 1 and 6 * 86400000 < int(ttl) <= 7 * 86400000,
       "the pending sign-up is stored with a TTL of signup_expiry (7d)",
       "%r %r" % (pending, ttl))
    st, _, body = ff.http("GET", path)
    ok(st == 200 and b'method="post"' in body and b"Confirm" in body,
       "GET of the link shows a confirm button", body[:500])
    st, _, _ = call(ff, "GET", "/v1/contacts/" + addr, key)
    ok(st == 404 and list_members(ff, key, lid) == 0,
       "the GET confirmed nothing: no contact, the list empty")
    st, _, body = ff.http("POST", path, headers=FORM_CT, body=b"")
    ok(st == 200 and b"confirmed" in body, "POST of the link confirms",
       body[:500])
    c = must("GET contact", call(ff, "GET", "/v1/contacts/" + addr, key))
    ok(c["status"] == "active" and c.get("first_name") == "Rita" and
       list_members(ff, key, lid) == 1,
       "the contact is active on the form's list, with its first name",
       repr(c))
    ok(redis.keys("{t:%s}:signup:*" % tid) == [],
       "the pending sign-up is gone once confirmed")
    st, _, _ = ff.http("POST", path, headers=FORM_CT, body=b"")
    ok(st == 404, "the link confirms once (then 404)", st)
    ev = must("GET /v1/events", call(ff, "GET",
                                     "/v1/events?types=subscribed", key))
    subs = [e for e in ev.get("items", []) if e.get("email") == addr]
    ok(len(subs) == 1 and subs[0].get("type") == "subscribed" and
       subs[0].get("contact") == c.get("id") and
       str(subs[0].get("id", "")).startswith("subscribed:%s:" % form["id"]),
       "the confirmation is a 'subscribed' event in the event log (what "
       "webhooks deliver)", repr(ev))
    sub = must("GET subject", call(ff, "GET", "/v1/subjects/" + addr, key))
    cons = sub.get("consents") or []
    rec = cons[0] if cons else {}
    ok(len(cons) == 1 and rec.get("form") == form["id"] and
       rec.get("consent_version") == 1 and
       rec.get("consent_text") == CONSENT and
       rec.get("method") == "double_opt_in" and rec.get("asked_at") and
       rec.get("confirmed_at") and rec["asked_at"] <= rec["confirmed_at"]
       and rec.get("list_id") == lid,
       "the subject export shows the consent record", repr(sub))
    ok(not any(re.search(r"\b127\.0\.0\.1\b|\b10\.\d+\.\d+\.\d+\b",
                         json.dumps(x)) for x in cons),
       "the consent record holds no IP address", repr(cons))
    er = must("DELETE subject", call(ff, "DELETE", "/v1/subjects/" + addr,
                                     key))
    ok(er["erased"].get("consents") == 1, "erasure counts the consent "
       "record", repr(er))
    sub = must("GET subject", call(ff, "GET", "/v1/subjects/" + addr, key))
    ok(sub.get("consents") == [] and
       redis.keys("{t:%s}:ct:*:consents" % tid) == [],
       "after erasure no consent record is left", repr(sub))


def test_erase_pending(ff, relay, redis, tid, key):
    """A sign-up not yet confirmed is personal data too: the subject
    export shows it, erasure deletes it, its link then finds nothing."""
    relay.fresh()
    lid = new_list(ff, key, [], name="Pending")
    form = new_form(ff, key, lid, fields=["email", "first_name"])
    addr = "quinn@forms.test"
    st, _, _ = post(ff, public_path(ff, form["url"]),
                    {"email": addr, "first_name": "Quinn"})
    got = wait_for(lambda: mails_to(relay, addr), timeout=20)
    ok(st in (200, 303) and got, "a sign-up is pending, its confirmation "
       "mailed", st)
    if not got:
        return
    path = confirm_path(ff, got[0][1])
    sub = must("GET subject", call(ff, "GET", "/v1/subjects/" + addr, key))
    pend = sub.get("pending_signups") or []
    ok(len(pend) == 1 and pend[0].get("form") == form["id"] and
       pend[0].get("first_name") == "Quinn" and pend[0].get("asked_at"),
       "the subject export shows the pending sign-up and its fields",
       repr(sub))
    er = must("DELETE subject", call(ff, "DELETE", "/v1/subjects/" + addr,
                                     key))
    ok(er["erased"].get("pending_signups") == 1, "erasure counts the "
       "pending sign-up", repr(er))
    left = [k for k in redis.keys("{t:%s}:signup*" % tid)
            if b"signup_mailed" not in (k if isinstance(k, bytes)
                                         else k.encode())]
    ok(left == [], "no pending sign-up or index of it is left in Redis",
       repr(left))
    st, _, _ = ff.http("POST", path, headers=FORM_CT, body=b"")
    st2, _, _ = call(ff, "GET", "/v1/contacts/" + addr, key)
    ok(st == 404 and st2 == 404, "its confirmation link then finds "
       "nothing (404) and no contact appears", (st, st2))


def test_abuse(ff, relay, redis, tid, key, tid_b, key_b):
    relay.fresh()
    lid = new_list(ff, key, [], name="Abuse")
    form = new_form(ff, key, lid)
    fpath = public_path(ff, form["url"])

    # One address, 1,000 times within a minute, from 1,000 clients.
    addr = "flood@forms.test"
    t0 = time.monotonic()
    answers = set()
    for i in range(1000):
        st, h, body = post(ff, fpath, {"email": addr, "first_name": "F"})
        answers.add((st, body))
    took = time.monotonic() - t0
    diag("1,000 sign-ups of one address: %.1f s" % took)
    ok(took < 60 and answers == {(200, answers and next(iter(answers))[1])},
       "1,000 sign-ups of one address within a minute, all answered the "
       "same 200 page", repr([a[0] for a in answers]))
    time.sleep(4)       # the senders would have mailed a second by now
    got = mails_to(relay, addr)
    ok(len(got) == 1, "they give exactly one confirmation mail",
       len(got))
    ok(len(redis.keys("{t:%s}:signup:*" % tid)) == 1,
       "and one pending sign-up is stored")

    # The honeypot.
    bot = "bot@forms.test"
    st, h, body = post(ff, fpath, {"email": bot, "website": "http://x"})
    st2, h2, body2 = post(ff, fpath, {"email": "human@forms.test"})
    ok(st == st2 == 200 and body == body2,
       "a filled honeypot gets the same answer", body[:300])
    time.sleep(3)
    ok(mails_to(relay, bot) == [] and
       len(mails_to(relay, "human@forms.test")) == 1,
       "the honeypot gives no mail (the other sign-up did)")
    ok(not any(bot in json.dumps(redis.hgetall(k))
               for k in redis.keys("{t:%s}:signup:*" % tid)),
       "and stores nothing of the address")

    # Known and unknown addresses: the same bytes.
    add_contacts(ff, key, [{"email": "known@forms.test"}])
    must("POST members", call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                              {"emails": ["known@forms.test"]}))
    must("POST /v1/optouts", call(ff, "POST", "/v1/optouts", key,
                                  {"email": "optedout@forms.test"}))
    seen = []
    for a in ("known@forms.test", "unknown@forms.test",
              "optedout@forms.test", "flood@forms.test"):
        st, h, body = post(ff, fpath, {"email": a})
        seen.append((st, strip_date(h), body))
    ok(all(s == seen[0] for s in seen), "known, unknown, opted-out and "
       "limited addresses get byte-identical answers (status, headers "
       "but Date, body)", repr(seen)[:2000])

    # One client past signup_rate.
    who = client()
    sts = [post(ff, fpath, {"email": "r%d@forms.test" % i}, xff=who)[0]
           for i in range(RATE + 1)]
    ok(sts == [200] * RATE + [429], "one client's sign-up %d in a minute "
       "gets 429 (signup_rate %d)" % (RATE + 1, RATE), sts)

    # Body size.
    st, _, _ = post(ff, fpath, {"email": "big@forms.test",
                                "first_name": "x" * 5000})
    ok(st == 413, "a body over max_body_bytes gets 413", st)

    # Forged and changed tokens.
    tok = fpath[3:]
    forged = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB")
    st1, _, _ = ff.http("GET", "/f/" + forged)
    st2, _, _ = post(ff, "/f/" + forged, {"email": "x@forms.test"})
    st3, _, _ = ff.http("POST", "/s/" + forged, headers=FORM_CT, body=b"")
    st4, _, _ = ff.http("GET", "/p/" + forged)
    st5, _, _ = ff.http("POST", "/s/" + tok, headers=FORM_CT, body=b"")
    st6, _, _ = ff.http("GET", "/p/" + tok)
    unsub = ff.token("u", tid, 1, 1)
    st7, _, _ = ff.http("GET", "/f/" + unsub)
    ok([st1, st2, st3, st4, st5, st6, st7] == [404] * 7,
       "a forged token, or a token of another kind, gets 404 on /f/, /s/ "
       "and /p/", [st1, st2, st3, st4, st5, st6, st7])

    # Tenant A's form never writes to tenant B.
    shared = "both@forms.test"
    add_contacts(ff, key_b, [{"email": "other@forms.test"}])
    lid_b = new_list(ff, key_b, ["other@forms.test"], name="B")
    relay.fresh()
    post(ff, fpath, {"email": shared})
    got = wait_for(lambda: mails_to(relay, shared), timeout=20)
    path = confirm_path(ff, got[0][1]) if got else None
    if path:
        ff.http("POST", path, headers=FORM_CT, body=b"")
    st_a, _, _ = call(ff, "GET", "/v1/contacts/" + shared, key)
    st_b, _, _ = call(ff, "GET", "/v1/contacts/" + shared, key_b)
    ok(path and st_a == 200 and st_b == 404 and
       list_members(ff, key_b, lid_b) == 1 and
       not any(shared in json.dumps(redis.hgetall(k))
               for k in redis.keys("{t:%s}:*" % tid_b)
               if redis.cmd("TYPE", k) in ("hash", b"hash")),
       "a form of tenant A adds to tenant A only", (st_a, st_b))


def test_api(ff, key, tid, redis):
    lid = new_list(ff, key, [], name="API")
    st, js, _ = call(ff, "POST", "/v1/forms", key, {
        "name": "x", "list_id": lid, "consent_text": CONSENT, "from": FROM,
        "fields": ["email", "attributes.religion"]})
    ok(st == 422 and js["error"]["code"] == "special_category_reference",
       "a special-category attribute field is 422 "
       "special_category_reference", js)
    st, js, _ = call(ff, "POST", "/v1/forms", key, {
        "name": "x", "list_id": lid, "consent_text": CONSENT, "from": FROM,
        "fields": ["email"], "redirect_url": "https://evil.test/x"})
    ok(st == 422 and js["error"]["code"] == "invalid_redirect_url",
       "a redirect_url off the tenant's verified domains is 422", js)
    st, js, _ = call(ff, "POST", "/v1/forms", key, {
        "name": "x", "list_id": "999999", "consent_text": CONSENT,
        "from": FROM, "fields": ["email"]})
    ok(st == 422 and js["error"]["code"] == "invalid_list",
       "a form of a list that does not exist is 422", js)
    st, js, _ = call(ff, "POST", "/v1/forms", key, {
        "name": "x", "list_id": lid, "consent_text": CONSENT,
        "fields": ["email"], "colour": "red"})
    ok(st == 400 and js["error"]["code"] == "unknown_field",
       "an unknown member is 400 unknown_field", js)
    before = set(sending(redis))
    form = new_form(ff, key, lid)
    new = set(sending(redis)) - before
    camp_before = new.pop() if len(new) == 1 else None
    hidden = camp_before.split(":")[1] if camp_before else "0"
    st1, _, _ = call(ff, "GET", "/v1/campaigns/" + hidden, key)
    st2, _, _ = call(ff, "POST", "/v1/campaigns/%s/cancel" % hidden, key)
    lst = must("GET campaigns", call(ff, "GET", "/v1/campaigns", key))
    ok(camp_before and st1 == 404 and st2 == 404 and
       hidden not in json.dumps(lst),
       "the form's confirmation campaign is hidden from the campaign API "
       "(GET, cancel, the list)", (camp_before, st1, st2))
    got = must("GET form", call(ff, "GET", "/v1/forms/" + form["id"], key))
    ok(got["consent_version"] == 1 and got["double_opt_in"] is True and
       got["url"] == form["url"], "GET shows the form", got)
    got = must("PATCH form", call(ff, "PATCH", "/v1/forms/" + form["id"],
                                  key, {"consent_text": "New terms."}))
    ok(got["consent_version"] == 2 and got["consent_text"] == "New terms.",
       "a new consent text is a new version", got)
    got = must("PATCH form", call(ff, "PATCH", "/v1/forms/" + form["id"],
                                  key, {"name": "Renamed"}))
    ok(got["consent_version"] == 2 and got["name"] == "Renamed",
       "a change of something else keeps the version", got)
    lst = must("GET forms", call(ff, "GET", "/v1/forms", key))
    ok(any(f["id"] == form["id"] for f in lst["items"]),
       "GET /v1/forms lists it")
    st, _, _ = call(ff, "DELETE", "/v1/forms/" + form["id"], key)
    st2, _, _ = call(ff, "GET", "/v1/forms/" + form["id"], key)
    st3, _, _ = ff.http("GET", public_path(ff, form["url"]))
    ok(st == 204 and st2 == 404 and st3 == 404,
       "DELETE removes it; its page is 404", (st, st2, st3))
    ok(camp_before is not None and camp_before not in sending(redis),
       "its hidden confirmation campaign was in ff:sending, and left it",
       (camp_before, sending(redis)))


def test_single_and_screening(ff, relay, redis, tid, key):
    """Single opt-in subscribes at once (method single, no mail); a
    sign-up whose field holds a special-category term is stored
    quarantined and never mailed."""
    relay.fresh()
    lid = new_list(ff, key, [], name="Single")
    form = new_form(ff, key, lid, double_opt_in=False,
                    fields=["email", "first_name", "attributes.note"])
    fpath = public_path(ff, form["url"])
    st, _, body = post(ff, fpath, {"email": "sue@forms.test",
                                   "first_name": "Sue"})
    c = call(ff, "GET", "/v1/contacts/sue@forms.test", key)[1] or {}
    sub = must("GET subject", call(ff, "GET", "/v1/subjects/sue@forms.test",
                                   key))
    ok(st == 200 and c.get("status") == "active" and
       list_members(ff, key, lid) == 1 and
       [x.get("method") for x in sub.get("consents", [])] == ["single"],
       "a single opt-in form subscribes at once, consent method single",
       (st, c, sub.get("consents")))
    lid2 = new_list(ff, key, [], name="Screened")
    form2 = new_form(ff, key, lid2, fields=["email", "attributes.note"])
    st, _, body2 = post(ff, public_path(ff, form2["url"]),
                        {"email": "ann@forms.test",
                         "attributes.note": "ethnic minority"})
    st2, _, body3 = post(ff, public_path(ff, form2["url"]),
                         {"email": "ben@forms.test", "attributes.note": "x"})
    time.sleep(4)
    quarantined = [redis.hgetall(k) for k in
                   redis.keys("{t:%s}:signup:*" % tid)]
    q = [h for h in quarantined if "ann@forms.test" in json.dumps(h)]
    ok(st == st2 == 200 and body2 == body3 and
       mails_to(relay, "ann@forms.test") == [] and
       len(mails_to(relay, "ben@forms.test")) == 1 and len(q) == 1 and
       (q[0].get("quarantined") or q[0].get(b"quarantined")) in ("1", b"1"),
       "a sign-up with a special-category term is answered alike, stored "
       "quarantined and never mailed", (st, st2, q))


def test_preferences(ff, relay, redis, tid, key):
    relay.fresh()
    pat = "pat@forms.test"
    add_contacts(ff, key, [{"email": pat, "first_name": "Pat"},
                           {"email": "sam@forms.test"}])
    l1 = new_list(ff, key, [pat, "sam@forms.test"], name="Weekly")
    l2 = new_list(ff, key, [pat, "sam@forms.test"], name="Offers")
    tpl = new_template(ff, key, "Weekly", "<html><body><p>Hi</p><p><a "
                       "href=\"{{preferences_url}}\">Preferences</a></p>"
                       "</body></html>", "Hi\n{{preferences_url}}\n")
    c1 = new_campaign(ff, key, tpl, l1)
    launch(ff, key, c1)
    wait_done(ff, key, c1)
    got = mails_to(relay, pat)
    _, text = text_of(got[0][1]) if got else (None, "")
    m = re.search(r"(https?://\S+/p/[A-Za-z0-9_-]+)", text)
    ok(m is not None, "{{preferences_url}} renders a /p/ link", text)
    if not m:
        return
    path = public_path(ff, m.group(1))
    st, _, body = ff.http("GET", path)
    ok(st == 200 and b"Weekly" in body and b"Offers" in body and
       b'name="optout"' in body and pat.encode() not in body,
       "GET /p/ lists the contact's lists and an opt-out (not the "
       "address)", body[:1500])
    st, _, body = ff.http("POST", path, headers=FORM_CT,
                          body=("list=%s&optout=1" % l2).encode())
    ok(st == 200, "POST /p/ saves", body[:500])
    c = must("GET contact", call(ff, "GET", "/v1/contacts/" + pat, key))
    ok(list_members(ff, key, l1) == 1 and list_members(ff, key, l2) == 2
       and c["status"] == "opted_out",
       "the contact left Weekly, stays on Offers, and is opted out", c)
    relay.fresh()
    c2 = new_campaign(ff, key, tpl, l2)
    launch(ff, key, c2)
    js = wait_done(ff, key, c2)
    ok(js.get("status") == "done" and mails_to(relay, pat) == [] and
       len(mails_to(relay, "sam@forms.test")) == 1 and
       js["progress"]["suppressed"]["opted_out"] == 1,
       "the next campaign skips the contact (opted out)", js)


def main():
    relay = Relay()
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off", trusted_proxies="127.0.0.1/32",
                 signup_rate=str(RATE))
    tid, key = new_tenant(ff, "Acme")
    tid_b, key_b = new_tenant(ff, "Other")
    run(test_api, ff, key, tid, redis)
    run(test_double_opt_in, ff, relay, redis, tid, key)
    run(test_erase_pending, ff, relay, redis, tid, key)
    run(test_abuse, ff, relay, redis, tid, key, tid_b, key_b)
    run(test_single_and_screening, ff, relay, redis, tid, key)
    run(test_preferences, ff, relay, redis, tid, key)
    relay.close()
    done()


if __name__ == "__main__":
    main()
