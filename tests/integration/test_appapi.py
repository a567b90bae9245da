#!/usr/bin/python3
"""
test_appapi.py: the JSON endpoints the marketer's app (issue 16) reads,
on a real fanfared and a real Redis (or a Redis Cluster:
FF_TEST_REDIS=cluster), with real HTTP receivers for the webhooks.

  1. GET /v1/session: with the cookie of a login, 200 with the user,
     tenant, role, email and the login's CSRF token; no cookie, a cookie
     that names no session, an API key, or the cookie after logout: 401
     no_session;
  2. GET /v1/contacts: pages of 50 by default, newest first, walked to
     the end by next_cursor: every contact once; q matches email,
     first_name and last_name ignoring ASCII case; an opted-out contact
     says so; limit 0, 501, x, a cursor of 0 or x, a q of 201 bytes: 422
     with a code; another tenant sees none of them; over 12,000
     contacts a search whose only hits are the oldest answers short
     pages with a cursor (at most 5,000 ids a call) and still finds all
     (time per call printed);
  3. GET /v1/lists with names and member counts; GET /v1/templates with
     names and subjects and no bodies; each tenant its own;
  4. POST /v1/templates/preview: rendered by the senders' engine for
     Jane by default or the contact given (HTML escaped in html, not in
     text); tracked links stay as written and {{unsubscribe_url}} is a
     harmless placeholder; a syntax error is the same 422 template_syntax
     (part, line, column) as POST /v1/templates; nothing is stored;
  5. POST /v1/webhooks/{id}/test: 202 with the event id; that endpoint
     alone receives it (signature verified with its secret), even when it
     takes other types; it is in the endpoint's delivery log, not in GET
     /v1/events; another tenant's endpoint is 404;
  6. roles: a viewer's session reads every listing but its preview and
     test are 403 forbidden_role; a marketer's preview and test work
     with the CSRF token and are 403 csrf_required without it.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, add_contacts, call, diag, done, must,
                     new_list, new_template, new_tenant, ok, run, tmpdir,
                     wait_for)
from harness import session_call as api
from test_webhooks import RX_HOST, Receiver

ADMIN = "admin-" + "p" * 40
PW = {"marketer": "market-pass-Appapi1!", "viewer": "viewer-pass-Appapi2!"}


def code_of(js):
    return ((js or {}).get("error") or {}).get("code")


def login(ff, email, password):
    st, js, hdrs, raw = api(ff, "POST", "/v1/session",
                            body={"email": email, "password": password})
    if st != 200:
        raise AssertionError("login %s: %d %s" % (email, st, raw[:300]))
    cookie = hdrs.get("set-cookie", "").split(";")[0].strip()
    return cookie, js


# ------------------------------------------------------------ 1. session

def test_session(ff, key, tid, users):
    email = users["marketer"]["email"]
    cookie, js = login(ff, email, PW["marketer"])
    st, me, hdrs, raw = api(ff, "GET", "/v1/session", cookie=cookie)
    ok(st == 200 and me == {"user": users["marketer"]["id"], "tenant": tid,
                            "role": "marketer", "email": email,
                            "csrf_token": js["csrf_token"]},
       "GET /v1/session with the cookie: 200, the user, tenant, role, "
       "email and the login's CSRF token", raw[:300])
    ok("no-store" in hdrs.get("cache-control", ""),
       "GET /v1/session: Cache-Control no-store", repr(hdrs))
    for what, kw in (("no cookie", {}),
                     ("a cookie naming no session",
                      {"cookie": "fanfare_session=%s.%s" % (tid, "ab" * 32)}),
                     ("a garbled cookie", {"cookie": "fanfare_session=x"}),
                     ("an API key", {"key": key}),
                     ("an API key and the cookie", {"key": key,
                                                    "cookie": cookie})):
        st, js2, _, raw = api(ff, "GET", "/v1/session", **kw)
        ok(st == 401 and code_of(js2) == "no_session",
           "GET /v1/session with %s: 401 no_session" % what, raw[:200])
    st, _, _, raw = api(ff, "DELETE", "/v1/session", cookie=cookie,
                        csrf=js["csrf_token"])
    ok(st == 204, "logout: 204", raw[:200])
    st, js2, _, raw = api(ff, "GET", "/v1/session", cookie=cookie)
    ok(st == 401 and code_of(js2) == "no_session",
       "GET /v1/session after logout: 401 no_session", raw[:200])


# ----------------------------------------------------------- 2. contacts

def walk(ff, path, key=None, cookie=None, limit_calls=1000):
    """Every item of a paged listing, the pages' sizes, the calls' times."""
    items, sizes, times, cursor = [], [], [], None
    for _ in range(limit_calls):
        sep = "&" if "?" in path else "?"
        p = path + (sep + "cursor=" + cursor if cursor else "")
        t0 = time.monotonic()
        st, js, _, raw = api(ff, "GET", p, key=key, cookie=cookie)
        times.append(time.monotonic() - t0)
        if st != 200:
            raise AssertionError("GET %s: %d %s" % (p, st, raw[:300]))
        items += js["items"]
        sizes.append(len(js["items"]))
        cursor = js["next_cursor"]
        if cursor is None:
            return items, sizes, times
    raise AssertionError("GET %s: no end after %d pages" % (path,
                                                           limit_calls))


def test_contacts(ff, key, key2):
    rows = [{"email": "c%03d@acme.test" % i} for i in range(120)]
    rows[7].update({"first_name": "MALICE", "last_name": "Alicia"})
    rows[30].update({"last_name": "MacALICE"})
    rows[55]["email"] = "ALICE.smith@acme.test"
    rows[90].update({"first_name": "Zoë", "last_name": "Ålice"})
    add_contacts(ff, key, rows)
    add_contacts(ff, key2, [{"email": "alice@other.test"}])
    st, js, _, raw = api(ff, "GET", "/v1/contacts", key=key)
    ids = [int(c["id"]) for c in (js or {}).get("items", [])]
    ok(st == 200 and len(ids) == 50 and ids == sorted(ids, reverse=True)
       and js["next_cursor"] is not None and
       js["items"][0]["email"] == "c119@acme.test" and
       "status" in js["items"][0] and "attributes" in js["items"][0],
       "GET /v1/contacts: 50 contacts, newest first, with a next_cursor",
       raw[:300])
    items, sizes, _ = walk(ff, "/v1/contacts?limit=17", key=key)
    emails = [c["email"] for c in items]
    ok(len(emails) == 120 and
       sorted(e.lower() for e in emails) ==
       sorted(r["email"].lower() for r in rows),
       "limit=17 walked by next_cursor: all 120 contacts, each once",
       repr(sizes))
    ok(max(sizes) == 17, "no page over its limit", repr(sizes))
    items, _, _ = walk(ff, "/v1/contacts?q=aLiCe", key=key)
    got = sorted(c["email"].lower() for c in items)
    want = sorted(["c007@acme.test", "c030@acme.test",
                   "alice.smith@acme.test"])
    ok(got == want, "q=aLiCe: first_name, last_name and email ignoring "
       "ASCII case (Ålice is not alice)", repr(got))
    items, _, _ = walk(ff, "/v1/contacts?q=Zo%C3%AB", key=key)
    ok([c["email"] for c in items] == ["c090@acme.test"],
       "q=Zoë (UTF-8, percent-encoded): the contact", repr(items)[:300])
    st, js, raw = call(ff, "POST", "/v1/optouts", key,
                       {"email": "c005@acme.test"})
    ok(st in (200, 201, 204), "POST /v1/optouts: done", raw[:200])
    items, _, _ = walk(ff, "/v1/contacts?q=c005@", key=key)
    ok(len(items) == 1 and items[0]["status"] == "opted_out",
       "an opted-out contact's status: opted_out", repr(items)[:300])
    items, _, _ = walk(ff, "/v1/contacts?q=c006@", key=key)
    ok(len(items) == 1 and items[0]["status"] == "active",
       "another contact's status: active", repr(items)[:300])
    for q, code in (("limit=0", "invalid_limit"),
                    ("limit=501", "invalid_limit"),
                    ("limit=x", "invalid_limit"),
                    ("limit=-1", "invalid_limit"),
                    ("cursor=0", "invalid_cursor"),
                    ("cursor=x", "invalid_cursor"),
                    ("cursor=99999999999999999999", "invalid_cursor"),
                    ("q=" + "a" * 201, "invalid_query")):
        st, js, _, raw = api(ff, "GET", "/v1/contacts?" + q, key=key)
        ok(st == 422 and code_of(js) == code,
           "GET /v1/contacts?%s: 422 %s" % (q[:20], code), raw[:200])
    st, js, _, raw = api(ff, "GET", "/v1/contacts?limit=500", key=key)
    ok(st == 200 and len(js["items"]) == 120 and js["next_cursor"] is None,
       "limit=500: all 120 on one page, next_cursor null", raw[:200])
    items, _, _ = walk(ff, "/v1/contacts?q=acme", key=key2)
    ok(items == [], "another tenant: none of them", repr(items)[:200])
    items, _, _ = walk(ff, "/v1/contacts", key=key2)
    ok([c["email"] for c in items] == ["alice@other.test"],
       "another tenant: its own contact only", repr(items)[:200])


def test_contacts_bounded(ff, key):
    # The needles are the oldest contacts of the tenant: 12,000 newer
    # ones come before them, newest first.
    add_contacts(ff, key, [{"email": "needle%d@big.test" % i,
                            "first_name": "Needle"} for i in range(3)])
    add_contacts(ff, key, [{"email": "hay%05d@big.test" % i}
                           for i in range(12000)])
    items, sizes, times = walk(ff, "/v1/contacts?q=NEEDLE&limit=50",
                               key=key)
    ok(sorted(c["email"] for c in items) ==
       ["needle%d@big.test" % i for i in range(3)],
       "q over 12,003 contacts: the 3 oldest found", repr(items)[:300])
    ok(len(sizes) >= 3 and sizes[0] == 0,
       "the search took %d calls (at most 5,000 ids each), the first an "
       "empty page with a cursor" % len(sizes), repr(sizes))
    diag("GET /v1/contacts?q= over 12,003 contacts: %d calls, slowest "
         "%.1f ms, total %.1f ms" % (len(times), max(times) * 1000,
                                     sum(times) * 1000))
    items, sizes, times = walk(ff, "/v1/contacts?limit=500", key=key)
    ok(len(items) == 12003 and len(set(c["id"] for c in items)) == 12003,
       "limit=500 over 12,003: every contact once", repr(sizes[:5]))
    diag("GET /v1/contacts?limit=500 over 12,003 contacts: %d calls, "
         "slowest %.1f ms" % (len(times), max(times) * 1000))


# ------------------------------------------------- 3. lists and templates

def test_lists_templates(ff, key, key2):
    add_contacts(ff, key, [{"email": "l%d@acme.test" % i} for i in range(5)])
    l1 = new_list(ff, key, ["l%d@acme.test" % i for i in range(5)],
                  name="Customers <b>")
    l2 = new_list(ff, key, [], name="Empty")
    st, js, _, raw = api(ff, "GET", "/v1/lists", key=key)
    ok(st == 200 and js == {"items": [
        {"id": l1, "name": "Customers <b>", "members": 5},
        {"id": l2, "name": "Empty", "members": 0}]},
       "GET /v1/lists: ids, names and member counts", raw[:300])
    st, js, _, raw = api(ff, "GET", "/v1/lists", key=key2)
    ok(st == 200 and js == {"items": []}, "another tenant: no lists",
       raw[:200])
    t1 = new_template(ff, key, "Hello {{first_name}}", "<p>BODY-HTML</p>",
                      "BODY-TEXT")
    t2 = new_template(ff, key, "Second", "<p>x</p>", "x")
    st, js, _, raw = api(ff, "GET", "/v1/templates", key=key)
    ok(st == 200 and js == {"items": [
        {"id": t1, "name": "t", "subject": "Hello {{first_name}}"},
        {"id": t2, "name": "t", "subject": "Second"}]} and
       b"BODY-" not in raw,
       "GET /v1/templates: ids, names and subjects, no bodies", raw[:300])
    st, js, _, raw = api(ff, "GET", "/v1/templates", key=key2)
    ok(st == 200 and js == {"items": []}, "another tenant: no templates",
       raw[:200])
    return len(js["items"])


# ------------------------------------------------------------ 4. preview

HTML = ('<p>Hi {{first_name | default "you"}} {{last_name}}</p>'
        '<a href="https://shop.example/a?x=1&amp;y=2">Shop</a> '
        '<a href="{{unsubscribe_url}}">Unsubscribe</a>')


def test_preview(ff, key):
    st, js, _, _ = api(ff, "GET", "/v1/templates", key=key)
    before = js["items"]
    st, js, _, raw = api(ff, "POST", "/v1/templates/preview", key=key,
                         body={"subject": "Hello {{first_name}}",
                               "html": HTML,
                               "text": "To {{email}} {{attributes.city | "
                                       "default \"nowhere\"}}\n"})
    ok(st == 200 and js["subject"] == "Hello Jane" and
       js["text"] == "To jane@example.com nowhere\n" and
       "<p>Hi Jane </p>" in js["html"],
       "preview: rendered for Jane <jane@example.com> by default",
       raw[:400])
    ok('href="https://shop.example/a?x=1&amp;y=2"' in js["html"] and
       "/c/" not in js["html"] and "/u/" not in js["html"] and
       "/o/" not in js["html"] and 'href="#preview"' in js["html"],
       "preview: the tracked link as written, unsubscribe_url a "
       "placeholder, no pixel, no token", js["html"])
    st, js, _, raw = api(ff, "POST", "/v1/templates/preview", key=key,
                         body={"subject": "Hi {{first_name}}\r\nBcc: x",
                               "html": HTML,
                               "text": "{{first_name}} {{attributes.city}} "
                                       "{{attributes.n}}",
                               "contact": {"email": "bob@x.test",
                                           "first_name": "<b>Bob</b>",
                                           "last_name": "O'Neil",
                                           "attributes": {"city": "Paris",
                                                          "n": 3}}})
    ok(st == 200 and "&lt;b&gt;Bob&lt;/b&gt; O&#39;Neil" in js["html"]
       and js["text"] == "<b>Bob</b> Paris 3" and
       "\r" not in js["subject"] and "\n" not in js["subject"],
       "preview with a contact: its fields, HTML escaped in html only, "
       "no line break in the subject", raw[:400])
    st, js, _, raw = api(ff, "POST", "/v1/templates/preview", key=key,
                         body={"subject": "S"})
    ok(st == 200 and js == {"subject": "S", "html": "", "text": ""},
       "preview of a subject alone: empty bodies", raw[:200])
    bad = {"subject": "ok", "html": "<p>one</p>\n<p>{{first_name</p>",
           "text": "x"}
    st, js, _, raw = api(ff, "POST", "/v1/templates/preview", key=key,
                         body=bad)
    st2, js2, raw2 = call(ff, "POST", "/v1/templates", key,
                          dict(bad, name="n"))
    ok(st == 422 and code_of(js) == "template_syntax" and
       js["error"].get("part") == "html" and js["error"]["line"] == 2 and
       st2 == 422 and js2 == js,
       "a syntax error: 422 template_syntax, the same part, line and "
       "column as POST /v1/templates", raw[:300] + b" / " + raw2[:300])
    for body, status, code in (
            ({"subject": "x", "name": "n"}, 400, "unknown_field"),
            ({"subject": "x", "contact": {"phone": "1"}}, 400,
             "unknown_field"),
            ({"subject": "x", "contact": "jane"}, 422, "invalid_contact"),
            ({"subject": "x", "contact": {"first_name": 5}}, 422,
             "invalid_contact"),
            ({"subject": "x", "contact": {"attributes": [1]}}, 422,
             "invalid_contact"),
            ({"subject": 5}, 422, "invalid_template"),
            ({"subject": "x", "html": "{{__open_url}}"}, 422,
             "template_syntax"),
            ({"subject": "x", "html": "a" * (1 << 20)}, 422,
             "template_too_large")):
        st, js, _, raw = api(ff, "POST", "/v1/templates/preview", key=key,
                             body=body)
        ok(st == status and code_of(js) == code,
           "preview %s: %d %s" % (json.dumps(body)[:50], status, code),
           raw[:200])
    st, js, _, raw = api(ff, "POST", "/v1/templates/preview", key=key,
                         body=None)
    ok(st == 400, "preview without a body: 400", raw[:200])
    st, js, _, _ = api(ff, "GET", "/v1/templates", key=key)
    ok(js["items"] == before, "the previews stored no template",
       repr(js)[:200])


# ------------------------------------------------------- 5. webhook test

def received(rx, eid):
    return [p for p in rx.all_posts() if eid in p["ids"]]


def test_webhook_test(ff, key, key2):
    rx, rx2 = Receiver().start(), Receiver().start()
    try:
        js = must("POST /v1/webhooks", call(
            ff, "POST", "/v1/webhooks", key,
            {"url": rx.url(), "events": ["opened"]}), 201)
        wid, secret = js["id"], js["secret"]
        rx.secrets.append(secret)
        js2 = must("POST /v1/webhooks", call(
            ff, "POST", "/v1/webhooks", key, {"url": rx2.url()}), 201)
        rx2.secrets.append(js2["secret"])
        st, js, raw = call(ff, "POST", "/v1/webhooks/%s/test" % wid, key)
        ok(st == 202 and js.get("event_id", "").startswith("test:"),
           "POST /v1/webhooks/{id}/test: 202 with the event id", raw[:200])
        eid = js["event_id"]
        ok(wait_for(lambda: received(rx, eid), timeout=15),
           "the endpoint received the test event", repr(rx.all_posts())[:300])
        posts = received(rx, eid)
        ev = [e for e in posts[0]["events"] if e["id"] == eid][0]
        ok(posts[0]["verified_by"] == [secret] and ev["type"] == "test" and
           ev["test"] is True and ev["webhook"] == wid and
           ev["contact"] is None and ev["email"] is None,
           "signed with the endpoint's secret, type test, says it is a "
           "test", repr(ev))
        time.sleep(2.0)   # the other endpoint polls every 100 ms
        ok(not received(rx2, eid) and len(received(rx, eid)) == 1,
           "the other endpoint never got it; the endpoint got it once",
           repr(rx2.all_posts())[:300])
        st, js, raw = call(ff, "GET", "/v1/webhooks/%s/deliveries" % wid,
                           key)
        ok(st == 200 and any(eid in d["events"] and
                             d["status"] == "delivered"
                             for d in js["items"]),
           "the delivery log has it, delivered", raw[:300])
        st, js, raw = call(ff, "GET", "/v1/events?limit=1000", key)
        ok(st == 200 and eid.encode() not in raw and b'"test"' not in raw,
           "GET /v1/events does not show it", raw[:200])
        st, js, raw = call(ff, "POST", "/v1/webhooks/%s/test" % wid, key2)
        ok(st == 404, "another tenant's key: 404", raw[:200])
        st, js, raw = call(ff, "POST", "/v1/webhooks/999999/test", key)
        ok(st == 404, "no such endpoint: 404", raw[:200])
        return wid, rx
    finally:
        rx2.stop()


# -------------------------------------------------------------- 6. roles

def test_roles(ff, users, wid, rx):
    vc, _ = login(ff, users["viewer"]["email"], PW["viewer"])
    mc, mjs = login(ff, users["marketer"]["email"], PW["marketer"])
    for path in ("/v1/contacts?limit=2", "/v1/lists", "/v1/templates",
                 "/v1/session"):
        st, _, _, raw = api(ff, "GET", path, cookie=vc)
        ok(st == 200, "viewer: GET %s 200" % path, raw[:200])
    st, js, _, raw = api(ff, "GET", "/v1/session", cookie=vc)
    vcsrf = js["csrf_token"]
    for path, body in (("/v1/templates/preview", {"subject": "x"}),
                       ("/v1/webhooks/%s/test" % wid, None)):
        st, js, _, raw = api(ff, "POST", path, cookie=vc, csrf=vcsrf,
                             body=body)
        ok(st == 403 and code_of(js) == "forbidden_role",
           "viewer: POST %s 403 forbidden_role" % path, raw[:200])
        st, js, _, raw = api(ff, "POST", path, cookie=mc, body=body)
        ok(st == 403 and code_of(js) == "csrf_required",
           "marketer without the CSRF token: POST %s 403" % path, raw[:200])
    st, js, _, raw = api(ff, "POST", "/v1/templates/preview", cookie=mc,
                         csrf=mjs["csrf_token"],
                         body={"subject": "Hi {{first_name}}"})
    ok(st == 200 and js["subject"] == "Hi Jane",
       "marketer with the CSRF token: preview 200", raw[:200])
    st, js, _, raw = api(ff, "POST", "/v1/webhooks/%s/test" % wid, cookie=mc,
                         csrf=mjs["csrf_token"])
    ok(st == 202, "marketer with the CSRF token: test 202", raw[:200])
    eid = (js or {}).get("event_id")
    ok(eid and wait_for(lambda: received(rx, eid), timeout=15),
       "the marketer's test event arrived", repr(js))


def main():
    redis = Redis()
    data_key = os.path.join(tmpdir("ff-appkey-"), "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)
    ff = Fanfare(redis=redis, admin_key=ADMIN, data_key_file=data_key,
                 webhook_allow="%s/32" % RX_HOST, webhook_poll="100ms",
                 webhook_retry_base="200ms", webhook_retry_max="2s",
                 webhook_timeout="2s")
    tid, key = new_tenant(ff, "acme")
    _, key2 = new_tenant(ff, "other")
    _, key3 = new_tenant(ff, "big")
    users = {}
    for role in PW:
        email = "%s@acme.test" % role
        js = must("POST /v1/users", call(ff, "POST", "/v1/users", key,
                                         {"email": email, "password": PW[role],
                                          "role": role}), 201)
        users[role] = {"id": js["id"], "email": email}
    run(test_session, ff, key, tid, users)
    run(test_contacts, ff, key, key2)
    run(test_contacts_bounded, ff, key3)
    run(test_lists_templates, ff, key, key2)
    run(test_preview, ff, key)
    res = run(test_webhook_test, ff, key, key2)
    if res:
        run(test_roles, ff, users, res[0], res[1])
        res[1].stop()
    ff.stop()
    done()


if __name__ == "__main__":
    main()
