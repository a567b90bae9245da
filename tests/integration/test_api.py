#!/usr/bin/python3
"""
test_api.py: the JSON API of a real fanfared over a real redis-server:
authentication, tenants and keys, contacts (upsert, IDN, validation,
special categories and the walk-arounds of their screening), lists, opt-outs, blocklist, error shapes and limits,
tenant isolation, tenant deletion, and campaign launch: the list
snapshot into the queue (25,000 members, and 200,000 across a kill -9),
pause/resume/cancel, progress and stats.
"""
import json
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness
from harness import (Fanfare, Redis, address_leaks, contact_id_leaks, done,
                     dump_tenant, ok, run, wait_for)

ADMIN = "admin-" + "k" * 40


def call(ff, method, path, key=None, body=None, raw=None, headers=None):
    """(status, decoded JSON or None, raw bytes)."""
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    st, _, out = ff.api(method, path, headers=h, body=data)
    try:
        return st, json.loads(out) if out else None, out
    except ValueError:
        return st, None, out


def is_error(st, js, status, code):
    return (st == status and isinstance(js, dict)
            and isinstance(js.get("error"), dict)
            and js["error"].get("code") == code
            and isinstance(js["error"].get("message"), str))


def new_tenant(ff, name="Acme"):
    st, js, raw = call(ff, "POST", "/v1/tenants", ADMIN, {"name": name})
    ok(st == 201 and js.get("id") and js.get("api_key", "").startswith(
        "ff_" + js.get("id", "?") + "_"),
       "POST /v1/tenants: 201 with id and a key naming it", raw)
    return js["id"], js["api_key"]


def test_auth(ff):
    st, js, raw = call(ff, "POST", "/v1/tenants", None, {"name": "x"})
    ok(is_error(st, js, 401, "unauthorized"), "no key: 401 unauthorized", raw)
    st, js, raw = call(ff, "POST", "/v1/tenants", "ff_1_" + "0" * 64,
                       {"name": "x"})
    ok(is_error(st, js, 401, "unauthorized"), "forged key: 401", raw)
    st, js, raw = call(ff, "GET", "/v1/nothing", ADMIN)
    ok(st in (403, 404) and js and "error" in js,
       "unknown route: JSON error", raw)
    st, js, raw = call(ff, "POST", "/v1/tenants", ADMIN, raw=b'{"name": ')
    ok(is_error(st, js, 400, "invalid_json") and "offset" in
       js["error"]["message"], "malformed JSON: 400 with the offset", raw)
    st, js, raw = call(ff, "POST", "/v1/tenants", ADMIN,
                       {"name": "x", "colour": "red"})
    ok(is_error(st, js, 400, "unknown_field"), "unknown field: 400", raw)
    st, js, raw = call(ff, "POST", "/v1/tenants", ADMIN, {"name": 5})
    ok(st == 422 and "error" in js, "wrong type: 422", raw)
    st, js, raw = call(ff, "POST", "/v1/tenants", ADMIN,
                       raw=json.dumps({"name": "x" * 1100000}).encode())
    ok(is_error(st, js, 413, "body_too_large"),
       "body over api_max_body: 413 JSON", raw[:200])
    tid, key = new_tenant(ff)
    st, js, raw = call(ff, "POST", "/v1/tenants", key, {"name": "y"})
    ok(is_error(st, js, 403, "forbidden"), "tenant key on admin route: 403",
       raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/a@b.test", ADMIN)
    ok(is_error(st, js, 403, "forbidden"),
       "admin key reads no contact data: 403", raw)
    # Keys: a second key works, revoking it by prefix stops it.
    st, js, raw = call(ff, "POST", "/v1/tenants/%s/keys" % tid, ADMIN)
    ok(st == 201 and js.get("api_key", "").startswith("ff_%s_" % tid),
       "POST keys: 201 with a new key", raw)
    key2, prefix2 = js["api_key"], js["key_prefix"]
    st, js, raw = call(ff, "POST", "/v1/lists", key2, {"name": "k2"})
    ok(st == 201, "the new key works", raw)
    st, _, raw = call(ff, "DELETE", "/v1/tenants/%s/keys/%s" % (tid, prefix2),
                      ADMIN)
    ok(st == 204, "DELETE key by prefix: 204", raw)
    st, js, raw = call(ff, "POST", "/v1/lists", key2, {"name": "k2"})
    ok(is_error(st, js, 401, "unauthorized"), "revoked key: 401", raw)
    st, js, raw = call(ff, "POST", "/v1/lists", key, {"name": "k1"})
    ok(st == 201, "the first key still works", raw)
    st, js, raw = call(ff, "POST", "/v1/tenants/999/keys", ADMIN)
    ok(is_error(st, js, 404, "not_found"), "keys of no tenant: 404", raw)


def test_routes(ff, key):
    """The route table as a client sees it: a path that exists with
    another method is 405 with Allow, anything else 404, each after the
    key its resource needs."""
    def allow(method, path, k, want):
        st, h, out = ff.api(method, path, headers={
            "Authorization": "Bearer " + k} if k else {})
        js = json.loads(out) if out else None
        ok(is_error(st, js, 405, "method_not_allowed")
           and h.get("allow") == want,
           "%s %s: 405, Allow: %s" % (method, path, want),
           "%s %s %r" % (st, h.get("allow"), out))
    allow("PUT", "/v1/contacts/1", key, "GET, PATCH, DELETE")
    allow("GET", "/v1/contacts/import", key, "POST")
    allow("DELETE", "/v1/campaigns", key, "GET, POST")
    allow("GET", "/v1/tenants", ADMIN, "POST")
    allow("POST", "/healthz", None, "GET, HEAD")
    allow("DELETE", "/metrics", None, "GET, HEAD")
    st, js, raw = call(ff, "PUT", "/v1/contacts/1")
    ok(is_error(st, js, 401, "unauthorized"), "a 405 needs the key first",
       raw)
    st, js, raw = call(ff, "GET", "/v1/tenants", key)
    ok(is_error(st, js, 403, "forbidden"),
       "a 405 under /v1/tenants needs the admin key first", raw)
    st, js, raw = call(ff, "GET", "/v1/nothing")
    ok(is_error(st, js, 401, "unauthorized"),
       "an unknown /v1/ name needs a key first", raw)
    for path in ("/v1/nothing", "/v1/contacts/1/lists",
                 "/v1/campaigns/1/frobnicate", "/v1/a/b/c/d/e/f/g"):
        st, js, raw = call(ff, "GET", path, key)
        ok(is_error(st, js, 404, "not_found"), "GET %s: 404" % path, raw)
    st, js, raw = call(ff, "GET", "/nothing")
    ok(is_error(st, js, 404, "not_found"), "GET /nothing: 404, no key",
       raw)
    st, js, raw = call(ff, "GET", "/v1/a/b/c/d/e/f/g/h", key)
    ok(is_error(st, js, 400, "bad_request"),
       "more than 8 segments: 400 bad_request", raw)
    st, js, raw = call(ff, "GET", "/v1/campaigns/", key)
    ok(st == 200 and "items" in js, "a trailing slash says nothing", raw)


def test_contacts(ff, redis, key):
    st, js, raw = call(ff, "POST", "/v1/contacts", key, {
        "email": "Alice@Example.TEST", "first_name": "Alice",
        "date_of_birth": "1990-02-28",
        "attributes": {"plan": "pro", "seats": 5, "vip": True}})
    ok(st == 200 and js == {"created": 1, "updated": 0, "rejected": []},
       "POST one contact: created 1", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/alice@example.test", key)
    ok(st == 200 and js.get("email") == "Alice@example.test"
       and js.get("first_name") == "Alice"
       and js.get("attributes") == {"plan": "pro", "seats": 5, "vip": True}
       and js.get("status") == "active" and js.get("created_at"),
       "GET by email, case-insensitively: the stored contact", raw)
    cid = js.get("id")
    st, js2, raw = call(ff, "GET", "/v1/contacts/%s" % cid, key)
    ok(st == 200 and js2.get("email") == "Alice@example.test",
       "GET by id", raw)
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       {"email": "ALICE@example.test", "last_name": "Liddell"})
    ok(st == 200 and js.get("created") == 0 and js.get("updated") == 1,
       "upsert by email: updated, not created", raw)
    st, js, raw = call(ff, "POST", "/v1/contacts", key, [
        {"email": "user@bücher.example"},
        {"email": "not-an-address"},
        {"email": "bob@x.test", "date_of_birth": "2023-02-29"},
        {"email": "carol@x.test", "attributes": {"religion": "x",
                                                 "city": "Berlin"}},
        {"email": "dave@x.test", "attributes": {"note": "HIV positive"}},
        {"email": "erin@x.test", "attributes": {"nested": {"a": 1}}},
        "just a string",
        {"email": "bob@x.test"},
        {"email": "Bob@X.test", "first_name": "Bobby"},
    ])
    rej = {(r["index"], r["error"]) for r in (js or {}).get("rejected", [])}
    ok(st == 200 and js.get("created") == 4 and js.get("updated") == 1,
       "array: valid rows created (IDN, carol, dave, bob), the second bob "
       "updates", raw)
    ok((1, "invalid_email") in rej and (2, "invalid_date") in rej
       and (3, "special_category_attribute") in rej
       and (5, "invalid_attribute_value") in rej
       and (6, "invalid_contact") in rej, "array: per-row errors", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/user@xn--bcher-kva.example",
                       key)
    ok(st == 200 and js.get("email") == "user@xn--bcher-kva.example",
       "IDN domain stored in ASCII form, found by it", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/carol@x.test", key)
    ok(st == 200 and js.get("attributes") == {"city": "Berlin"},
       "special-category attribute name: stored without it", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/dave@x.test", key)
    ok(st == 200 and js.get("status") == "quarantined",
       "special-category value: contact quarantined", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/dave@x.test", key,
                       {"attributes": {"note": None}})
    ok(st == 200 and js.get("status") == "active" and js.get(
        "attributes") == {}, "PATCH removing the value clears quarantine", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/bob@x.test", key)
    ok(st == 200 and js.get("first_name") == "Bobby",
       "same address twice in one batch: the later row wins", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/bob@x.test", key,
                       {"email": "alice@example.test"})
    ok(is_error(st, js, 409, "email_taken"),
       "PATCH to another contact's address: 409", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/bob@x.test", key,
                       {"shoe_size": 44})
    ok(is_error(st, js, 400, "unknown_field"), "PATCH unknown field: 400", raw)
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       [{"email": "a%d@x.test" % i} for i in range(10001)])
    ok(is_error(st, js, 413, "too_many_items"), "10,001 contacts: 413",
       raw[:200])
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       [{"email": "z@x.test", "surname": "x"}])
    ok(is_error(st, js, 400, "unknown_field"),
       "unknown field in an array element: 400", raw)
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       {"email": "zz@x.test", "first_name": ["x"]})
    ok(st == 200 and js.get("rejected", [{}])[0].get("error") ==
       "invalid_field", "wrong type of a field: rejected row", raw)
    st, _, raw = call(ff, "DELETE", "/v1/contacts/carol@x.test", key)
    ok(st == 204, "DELETE contact: 204", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/carol@x.test", key)
    ok(is_error(st, js, 404, "not_found"), "deleted contact: 404", raw)
    return cid


def test_unsendable(ff):
    """An address valid by RFC 6531 but one the sender cannot mail (a
    UTF-8 local part: no SMTPUTF8; an IDN domain as From unless in its
    xn-- form) is refused where it comes in, with its own code."""
    _, key = new_tenant(ff, "Unsendable")
    lid = call(ff, "POST", "/v1/lists", key, {"name": "L"})[1]["id"]
    st, js, raw = call(ff, "POST", "/v1/contacts", key, [
        {"email": "j\u00f6rg@x.test"}, {"email": "jorg@b\u00fccher.example"}])
    rej = [(r["index"], r["error"]) for r in (js or {}).get("rejected", [])]
    ok(st == 200 and js.get("created") == 1 and
       rej == [(0, "unsupported_address")],
       "POST a UTF-8 local part: rejected unsupported_address (the IDN "
       "domain is sent in ASCII: created)", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/jorg@xn--bcher-kva.example",
                       key, {"email": "\u7528\u6237@x.test"})
    ok(is_error(st, js, 422, "unsupported_address"),
       "PATCH to a UTF-8 local part: 422 unsupported_address", raw)
    csv = "email,first_name\nj\u00f6rg@x.test,J\nplain@x.test,P\n"
    st, js, raw = call(ff, "POST", "/v1/contacts/import", key,
                       raw=csv.encode(), headers={"Content-Type": "text/csv"})
    ok(st == 200 and js.get("created") == 1 and
       [(r["index"], r["error"]) for r in js.get("rejected", [])] ==
       [(0, "unsupported_address")],
       "CSV import of a UTF-8 local part: rejected unsupported_address", raw)
    tpl = call(ff, "POST", "/v1/templates", key, {
        "name": "U", "subject": "Hi", "html": "<p>Hi</p>",
        "text": "Hi"})[1]["id"]
    camp = {"name": "U", "template_id": tpl, "list_id": lid}
    for field, value in [("from", "J\u00f6rg <j\u00f6rg@x.test>"),
                         ("from", "info@b\u00fccher.example"),
                         ("reply_to", "\u7528\u6237@x.test")]:
        body = dict(camp, **{"from": "News <news@acme.test>"})
        body[field] = value
        st, js, raw = call(ff, "POST", "/v1/campaigns", key, body)
        ok(is_error(st, js, 422, "unsupported_address"),
           "campaign %s %r: 422 unsupported_address" % (field, value), raw)
    st, js, raw = call(ff, "POST", "/v1/campaigns", key, dict(
        camp, **{"from": "J\u00f6rg <info@xn--bcher-kva.example>"}))
    ok(st == 201, "a UTF-8 display name and an xn-- domain: 201", raw)


def test_limits(ff):
    """Every tenant-supplied field has a bound, with its own code: a
    contact's attributes (count, value bytes, all together), template
    names and subjects, a list page's cursor."""
    _, key = new_tenant(ff, "Limits")
    def rejected(rows):
        st, js, raw = call(ff, "POST", "/v1/contacts", key, rows)
        return st, [(r["index"], r["error"], r.get("attribute"))
                    for r in (js or {}).get("rejected", [])], js, raw

    st, rej, js, raw = rejected([
        {"email": "lim0@x.test", "attributes": {"bio": "x" * 900000}}])
    ok(st == 200 and rej == [(0, "attribute_value_too_long", "bio")],
       "a 900 KB attribute value: rejected attribute_value_too_long",
       raw[:300])
    st, rej, js, raw = rejected([
        {"email": "lim2@x.test",
         "attributes": {"a%d" % i: 1 for i in range(50000)}}])
    ok(st == 200 and rej == [(0, "too_many_attributes", None)],
       "50,000 attributes: rejected too_many_attributes", raw[:300])
    st, rej, js, raw = rejected([
        {"email": "lim1@x.test", "attributes": {"bio": "x" * 8193}},
        {"email": "lim3@x.test",
         "attributes": {"a%d" % i: i for i in range(101)}},
        {"email": "lim4@x.test",
         "attributes": {"a%d" % i: "w" * 700 for i in range(100)}},
        {"email": "lim5@x.test", "attributes": {"bio": "x" * 8192}},
        {"email": "lim6@x.test",
         "attributes": {"a%d" % i: i for i in range(100)}}])
    ok(st == 200 and js.get("created") == 2 and rej == [
        (0, "attribute_value_too_long", "bio"),
        (1, "too_many_attributes", None),
        (2, "attributes_too_large", None)],
       "attribute bounds: a value over 8 KB, over 100 attributes, "
       "over 64 KB in all rejected with their codes; at the bounds created",
       raw[:600])
    st, js, raw = call(ff, "GET", "/v1/contacts/lim0@x.test", key)
    ok(st == 404, "the 900 KB value was not stored", raw[:200])
    st, js, raw = call(ff, "PATCH", "/v1/contacts/lim6@x.test", key,
                       {"attributes": {"one_more": 1}})
    ok(is_error(st, js, 422, "too_many_attributes"),
       "PATCH adding a 101st attribute: 422 too_many_attributes", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/lim6@x.test", key,
                       {"attributes": {"a0": None, "one_more": 1}})
    ok(st == 200 and len(js.get("attributes", {})) == 100,
       "PATCH replacing one of 100: 200", raw[:200])
    csv = "email,bio\nlimc@x.test,%s\nlimd@x.test,ok\n" % ("y" * 8193)
    st, js, raw = call(ff, "POST", "/v1/contacts/import", key,
                       raw=csv.encode(), headers={"Content-Type": "text/csv"})
    ok(st == 200 and js.get("created") == 1 and
       [(r["index"], r["error"]) for r in js.get("rejected", [])] ==
       [(0, "attribute_value_too_long")],
       "CSV import: an 8,193-byte cell rejected attribute_value_too_long", raw)
    tpl = {"name": "T", "subject": "S", "html": "<p>x</p>", "text": "x"}
    st, js, raw = call(ff, "POST", "/v1/templates", key,
                       dict(tpl, name="n" * 201))
    ok(is_error(st, js, 422, "invalid_name"),
       "template name of 201 bytes: 422 invalid_name", raw[:200])
    st, js, raw = call(ff, "POST", "/v1/templates", key,
                       dict(tpl, subject="s" * 999))
    ok(is_error(st, js, 422, "invalid_template"),
       "template subject of 999 bytes: 422 invalid_template", raw[:200])
    st, js, raw = call(ff, "POST", "/v1/templates", key,
                       dict(tpl, name="n" * 200, subject="s" * 998))
    ok(st == 201, "name of 200 and subject of 998 bytes: 201", raw[:200])
    st, js, raw = call(ff, "POST", "/v1/lists", key, {"name": "l" * 201})
    ok(st == 422, "list name of 201 bytes: 422", raw[:200])
    st, js, raw = call(ff, "GET", "/v1/optouts?cursor=%s@x.test" % ("c" * 400),
                       key)
    ok(is_error(st, js, 400, "invalid_cursor"),
       "a cursor longer than any address: 400 invalid_cursor", raw[:200])


def test_special_evasions(ff, key):
    """Issue 11, defect 6: the walk-arounds of the Art. 9 screening reach
    the same outcome as a plain hit (quarantined, or the attribute
    dropped), through POST, PATCH and the CSV import alike; ordinary
    contacts with common names stay active."""
    st, js, raw = call(ff, "POST", "/v1/contacts", key, [
        {"email": "zw@sc.test", "attributes": {"note": "HIV\u200bpositive"}},
        {"email": "mu@sc.test", "attributes": {"note": "\u039cuslim"}},
        {"email": "fn@sc.test", "first_name": "Ada (HIV positive)"},
        {"email": "ln@sc.test", "last_name": "Diabetiker"},
        {"email": "gd@sc.test", "gender": "L.G.B.T."},
        {"email": "ri@sc.test", "attributes": {"rel_igion": "x",
                                               "denomination": "y",
                                               "city": "Berlin"}},
        {"email": "ok1@sc.test", "first_name": "Christian",
         "last_name": "Islam", "gender": "male",
         "attributes": {"company": "Christian Dior", "city": "Islamabad",
                        "note": "archive"}},
        {"email": "ok2@sc.test", "first_name": "Kristen",
         "last_name": "Krebs", "gender": "female",
         "attributes": {"company": "Union Square Hospitality",
                        "plan": "Pro"}},
        {"email": "ok3@sc.test", "first_name": "Shia", "last_name": "Gay",
         "attributes": {"company": "McDonald's", "plan": "iPhone 15"}},
    ])
    rej = {(r["index"], r["error"], r.get("attribute"))
           for r in (js or {}).get("rejected", [])}
    ok(st == 200 and js.get("created") == 9,
       "evasions: every row stored", raw)
    ok((5, "special_category_attribute", "rel_igion") in rej
       and (5, "special_category_attribute", "denomination") in rej,
       "'rel_igion' and 'denomination': special_category_attribute", raw)
    for email, what in (("zw@sc.test", "HIV<ZWSP>positive in an attribute"),
                        ("mu@sc.test", "Greek capital Mu in 'Muslim'"),
                        ("fn@sc.test", "a term in first_name"),
                        ("ln@sc.test", "a term in last_name"),
                        ("gd@sc.test", "a dotted term in gender")):
        st, js, raw = call(ff, "GET", "/v1/contacts/" + email, key)
        ok(st == 200 and js.get("status") == "quarantined",
           what + ": contact quarantined", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/ri@sc.test", key)
    ok(st == 200 and js.get("attributes") == {"city": "Berlin"}
       and js.get("status") == "active",
       "'rel_igion', 'denomination': stored without them", raw)
    for email in ("ok1@sc.test", "ok2@sc.test", "ok3@sc.test"):
        st, js, raw = call(ff, "GET", "/v1/contacts/" + email, key)
        ok(st == 200 and js.get("status") == "active",
           "common names and business words (%s): active" % email, raw)

    # A write of clean attributes alone does not clear what the stored
    # first_name causes; a PATCH of the name does.
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       {"email": "fn@sc.test", "attributes": {"plan": "Pro"}})
    st, js, raw = call(ff, "GET", "/v1/contacts/fn@sc.test", key)
    ok(st == 200 and js.get("status") == "quarantined",
       "POST of clean attributes only: still quarantined", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/fn@sc.test", key,
                       {"attributes": {"plan": "Team"}})
    ok(st == 200 and js.get("status") == "quarantined",
       "PATCH of an attribute: the stored first_name still counts", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/fn@sc.test", key,
                       {"first_name": "Ada"})
    ok(st == 200 and js.get("status") == "active",
       "PATCH of the name clears the quarantine", raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/ok1@sc.test", key,
                       {"gender": "gay"})
    ok(st == 200 and js.get("status") == "quarantined",
       "PATCH of gender to a term: quarantined", raw)

    # The CSV import goes through the same checks.
    body = ("email,first_name,last_name,rel_igion,note\r\n"
            "csv1@sc.test,Ada (HIV positive),Lovelace,x,\r\n"
            "csv2@sc.test,Christian,Islam,,Christian Dior\r\n"
            "csv3@sc.test,Bo,Berg,,Is\u2067lam\r\n"
            "csv4@sc.test,Bo,H.I.V.,,\r\n").encode()
    st, js, raw = call(ff, "POST", "/v1/contacts/import", key, raw=body,
                       headers={"Content-Type": "text/csv"})
    ok(st == 200 and js.get("created") == 4 and {
        "column": "rel_igion", "error": "special_category_attribute"} in
       js.get("dropped_columns", []),
       "import: 'rel_igion' column dropped, rows stored", raw)
    for email, want in (("csv1@sc.test", "quarantined"),
                        ("csv2@sc.test", "active"),
                        ("csv3@sc.test", "quarantined"),
                        ("csv4@sc.test", "quarantined")):
        st, js, raw = call(ff, "GET", "/v1/contacts/" + email, key)
        ok(st == 200 and js.get("status") == want
           and "rel_igion" not in js.get("attributes", {}),
           "import %s: %s" % (email, want), raw)


def test_lists(ff, key):
    st, js, raw = call(ff, "POST", "/v1/lists", key, {"name": "Newsletter"})
    ok(st == 201 and js.get("id"), "POST /v1/lists: 201", raw)
    lid = js["id"]
    st, js, raw = call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                       {"emails": ["alice@example.test", "BOB@x.test",
                                   "nobody@x.test", "junk"]})
    ok(st == 200 and js.get("added") == 2 and sorted(js.get("missing")) ==
       ["junk", "nobody@x.test"], "add members by email: added, missing",
       raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/dave@x.test", key)
    st, js, raw = call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                       {"contact_ids": [js["id"], "99999"]})
    ok(st == 200 and js.get("added") == 1 and js.get("missing") == ["99999"],
       "add members by id", raw)
    st, js, raw = call(ff, "GET", "/v1/lists/%s" % lid, key)
    ok(st == 200 and js == {"id": lid, "name": "Newsletter", "members": 3},
       "GET list: 3 members", raw)
    st, js, raw = call(ff, "DELETE", "/v1/lists/%s/members" % lid, key,
                       {"emails": ["bob@x.test"]})
    ok(st == 200 and js.get("removed") == 1, "remove a member", raw)
    st, js, raw = call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                       {"emails": ["a@x.test"], "contact_ids": ["1"]})
    ok(st == 422, "both emails and contact_ids: 422", raw)
    return lid


def test_suppression(ff, key):
    for e in ["c@x.test", "a@x.test", "B@x.test"]:
        st, js, raw = call(ff, "POST", "/v1/optouts", key, {"email": e})
        ok(st == 200, "POST /v1/optouts %s: 200" % e, raw)
    st, js, raw = call(ff, "POST", "/v1/optouts", key, {"email": "a@x.test"})
    ok(st == 200, "opt-out again: 200 (idempotent)", raw)
    st, js, raw = call(ff, "GET", "/v1/optouts?limit=2", key)
    ok(st == 200 and [i["email"] for i in js.get("items", [])] ==
       ["a@x.test", "b@x.test"] and js.get("next_cursor") == "b@x.test"
       and all(i.get("email_at") for i in js["items"]),
       "GET /v1/optouts: first page of 2 and a cursor", raw)
    st, js, raw = call(ff, "GET", "/v1/optouts?limit=2&cursor=b@x.test", key)
    ok(st == 200 and [i["email"] for i in js.get("items", [])] ==
       ["c@x.test"] and js.get("next_cursor") is None,
       "GET /v1/optouts: last page", raw)
    st, js, raw = call(ff, "POST", "/v1/optouts", key,
                       {"email": "bob@x.test"})
    st, js, raw = call(ff, "GET", "/v1/contacts/bob@x.test", key)
    ok(st == 200 and js.get("status") == "opted_out",
       "an opted-out contact shows status opted_out", raw)
    st, _, raw = call(ff, "DELETE", "/v1/optouts/bob@x.test", key)
    ok(st == 204, "DELETE /v1/optouts/EMAIL: 204", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/bob@x.test", key)
    ok(st == 200 and js.get("status") == "active", "re-subscribed", raw)
    st, js, raw = call(ff, "POST", "/v1/blocklist", key,
                       {"pattern": "@Spam.TEST"})
    ok(st == 200 and js.get("pattern") == "@spam.test",
       "POST /v1/blocklist domain: normalised", raw)
    st, js, raw = call(ff, "POST", "/v1/blocklist", key,
                       {"pattern": "Evil@x.test"})
    ok(st == 200 and js.get("pattern") == "evil@x.test",
       "POST /v1/blocklist address", raw)
    st, js, raw = call(ff, "POST", "/v1/blocklist", key, {"pattern": "@"})
    ok(st == 422, "bad pattern: 422", raw)
    st, js, raw = call(ff, "GET", "/v1/blocklist", key)
    ok(st == 200 and [i["pattern"] for i in js.get("items", [])] ==
       ["@spam.test", "evil@x.test"], "GET /v1/blocklist", raw)
    st, _, raw = call(ff, "DELETE", "/v1/blocklist/@spam.test", key)
    ok(st == 204, "DELETE /v1/blocklist/@domain: 204", raw)


HTML = ('<html><body><p>Hi {{first_name | default "there"}}</p>'
        '<a href="https://shop.example/sale?a=1&amp;b=2">Sale</a>'
        '<a href=\'https://shop.example/about\'>About</a>'
        '<a href="https://shop.example/sale?a=1&b=2">again</a>'
        '<a href="mailto:x@y.test">mail</a>'
        '<a href="{{unsubscribe_url}}">unsubscribe</a></body></html>')


def test_templates_campaigns(ff, key, lid):
    tpl = {"name": "Sale", "subject": "Hello {{first_name}}", "html": HTML,
           "text": "Hi {{first_name}}\n{{unsubscribe_url}}"}
    bad = dict(tpl, html="<p>\nline two {{first_name</p>")
    st, js, raw = call(ff, "POST", "/v1/templates", key, bad)
    e = (js or {}).get("error", {})
    ok(st == 422 and e.get("code") == "template_syntax" and
       e.get("part") == "html" and e.get("line") == 2 and
       e.get("column") == 10, "template syntax error: 422 with part, line, "
       "column", raw)
    bad = dict(tpl, text="{{attributes.religion}}")
    st, js, raw = call(ff, "POST", "/v1/templates", key, bad)
    ok(is_error(st, js, 422, "special_category_reference"),
       "template naming a special-category attribute: 422", raw)
    st, js, raw = call(ff, "POST", "/v1/templates", key, dict(tpl, x=1))
    ok(is_error(st, js, 400, "unknown_field"), "template unknown field: 400",
       raw)
    st, js, raw = call(ff, "POST", "/v1/templates", key, tpl)
    want = [{"link": 0, "url": "https://shop.example/sale?a=1&b=2"},
            {"link": 1, "url": "https://shop.example/about"}]
    ok(st == 201 and js.get("links") == want,
       "POST template: 201, two distinct http(s) links", raw)
    tid = js["id"]
    st, js, raw = call(ff, "GET", "/v1/templates/%s" % tid, key)
    ok(st == 200 and js.get("links") == want
       and js.get("subject") == tpl["subject"], "GET template", raw)
    st, js, raw = call(ff, "PUT", "/v1/templates/%s" % tid, key,
                       dict(tpl, subject="Sale ends soon"))
    ok(st == 200, "PUT template: 200", raw)
    camp = {"name": "Spring", "template_id": tid, "list_id": lid,
            "from": "News <news@acme.test>", "rate_per_second": 50}
    st, js, raw = call(ff, "POST", "/v1/campaigns", key,
                       dict(camp, **{"from": "News <not an address>"}))
    ok(st == 422 and js["error"]["code"] == "invalid_from",
       "campaign with a bad from: 422", raw)
    st, js, raw = call(ff, "POST", "/v1/campaigns", key,
                       dict(camp, template_id="999"))
    ok(st == 422 and js["error"]["code"] == "invalid_reference",
       "campaign with no such template: 422", raw)
    st, js, raw = call(ff, "POST", "/v1/campaigns", key, camp)
    ok(st == 201 and js.get("status") == "draft" and js.get("id"),
       "POST campaign: 201 draft", raw)
    cid = js["id"]
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s" % cid, key)
    ok(st == 200 and js.get("status") == "draft" and
       js.get("progress", {}).get("total") == 0 and
       js.get("progress", {}).get("suppressed", {}).get("opted_out") == 0,
       "GET campaign: draft with progress", raw)
    st, js, raw = call(ff, "GET", "/v1/campaigns", key)
    ok(st == 200 and [c["id"] for c in js.get("items", [])] == [cid],
       "GET /v1/campaigns lists it", raw)
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s/stats" % cid, key)
    ok(st == 200 and js.get("opens") == {"total": 0, "unique": 0,
                                         "machine": 0}
       and [l["url"] for l in js["clicks"]["by_link"]] ==
       ["https://shop.example/sale?a=1&b=2", "https://shop.example/about"],
       "GET stats: zeros and the campaign's link table", raw)
    members = call(ff, "GET", "/v1/lists/%s" % lid, key)[1]["members"]
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/launch" % cid, key)
    ok(st == 202 and js == {"status": "sending", "queued": members},
       "launch: 202 sending, queued = the list's %d members" % members, raw)
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/launch" % cid, key)
    ok(is_error(st, js, 409, "invalid_state"),
       "a second launch: 409 invalid_state", raw)
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s" % cid, key)
    ok(st == 200 and js.get("status") == "sending" and
       js.get("progress", {}).get("total") == members and
       js.get("launched_at", "").endswith("Z") and js.get("name") == "Spring"
       and js.get("rate_per_second") == 50,
       "GET campaign after launch: sending, total, launched_at, and the "
       "fields it had", raw)
    return tid, cid


def test_campaign_click(ff, tenant, cid):
    p = ff.token("click", int(tenant), int(cid), 1, link=1)
    st, h, _ = ff.http("GET", p)
    ok(st == 302 and h.get("location") == "https://shop.example/about",
       "a click on the new campaign's link 1 redirects to its URL",
       "%s %r" % (st, h))


def test_isolation(ff, redis, key_a, cid_a, lid_a, tpl_a=None, camp_a=None):
    tid_b, key_b = new_tenant(ff, "Other")
    routes = [
        ("GET", "/v1/contacts/%s" % cid_a, None),
        ("GET", "/v1/contacts/alice@example.test", None),
        ("PATCH", "/v1/contacts/%s" % cid_a, {"first_name": "Mallory"}),
        ("DELETE", "/v1/contacts/alice@example.test", None),
        ("GET", "/v1/lists/%s" % lid_a, None),
        ("POST", "/v1/lists/%s/members" % lid_a, {"contact_ids": [cid_a]}),
        ("DELETE", "/v1/lists/%s/members" % lid_a, {"contact_ids": [cid_a]}),
        ("DELETE", "/v1/blocklist/evil@x.test", None),
    ]
    if tpl_a:
        routes += [("GET", "/v1/templates/%s" % tpl_a, None),
                   ("PUT", "/v1/templates/%s" % tpl_a, {"name": "x"}),
                   ("GET", "/v1/campaigns/%s" % camp_a, None),
                   ("GET", "/v1/campaigns/%s/stats" % camp_a, None),
                   ("POST", "/v1/campaigns/%s/launch" % camp_a, None),
                   ("POST", "/v1/campaigns/%s/pause" % camp_a, None),
                   ("POST", "/v1/campaigns/%s/resume" % camp_a, None),
                   ("POST", "/v1/campaigns/%s/cancel" % camp_a, None)]
    for method, path, body in routes:
        st, js, raw = call(ff, method, path, key_b, body)
        ok(is_error(st, js, 404, "not_found"),
           "tenant B: %s %s -> 404" % (method, path), raw)
    st, js, raw = call(ff, "GET", "/v1/optouts", key_b)
    ok(st == 200 and js.get("items") == [], "tenant B sees no opt-outs", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/alice@example.test", key_a)
    ok(st == 200 and js.get("first_name") == "Alice",
       "tenant A's contact is untouched", raw)
    st, js, raw = call(ff, "POST", "/v1/contacts", key_b,
                       {"email": "alice@example.test"})
    ok(st == 200 and js.get("created") == 1,
       "the same address is a new contact in tenant B", raw)
    if camp_a:
        st, js, raw = call(ff, "GET", "/v1/campaigns/%s" % camp_a, key_a)
        ok(st == 200 and js.get("status") == "sending",
           "tenant A's campaign is still sending", raw)


def test_one_click(ff, redis, tid, key):
    st, js, raw = call(ff, "GET", "/v1/contacts/alice@example.test", key)
    cid = js["id"]
    p = ff.token("unsubscribe", int(tid), 1, int(cid))
    st, _, _ = ff.http("POST", p, headers={
        "Content-Type": "application/x-www-form-urlencoded"},
        body=b"List-Unsubscribe=One-Click")
    ok(st == 200, "POST /u/ for a real contact: 200")
    got = wait_for(lambda: call(ff, "GET", "/v1/contacts/alice@example.test",
                                key)[1].get("status") == "opted_out")
    ok(got, "the one-click opt-out shows on the contact")
    st, js, raw = call(ff, "GET", "/v1/optouts?cursor=a@x.test", key)
    ok(st == 200 and "alice@example.test" in [i["email"] for i in
                                              js.get("items", [])],
       "and in GET /v1/optouts by address", raw)


def test_subjects(ff, redis):
    tid, key = new_tenant(ff, "Subjects")
    email = "Subject.Person@Example.TEST"
    call(ff, "POST", "/v1/contacts", key, [
        {"email": email, "first_name": "Sam", "attributes": {"plan": "x"}},
        {"email": "other@example.test", "first_name": "Olga"}])
    cid = call(ff, "GET", "/v1/contacts/%s" % email, key)[1]["id"]
    other = call(ff, "GET", "/v1/contacts/other@example.test", key)[1]["id"]
    lid = call(ff, "POST", "/v1/lists", key, {"name": "L"})[1]["id"]
    call(ff, "POST", "/v1/lists/%s/members" % lid, key,
         {"contact_ids": [cid, other]})
    tpl = call(ff, "POST", "/v1/templates", key, {
        "name": "t", "subject": "s", "text": "t",
        "html": '<a href="https://s.example/x">x</a>'})[1]["id"]
    camp = call(ff, "POST", "/v1/campaigns", key, {
        "name": "c", "template_id": tpl, "list_id": lid,
        "from": "a@s.example"})[1]["id"]
    for contact in (cid, other):
        ff.http("GET", ff.token("open", int(tid), int(camp), int(contact)))
        ff.http("GET", ff.token("click", int(tid), int(camp), int(contact),
                                link=0))
    call(ff, "POST", "/v1/optouts", key, {"email": email})
    stats = "{t:%s:c:%s}:stats" % (tid, camp)
    wait_for(lambda: redis.cmd("HGET", stats, "clicks") == b"2")
    st, js, raw = call(ff, "GET", "/v1/subjects/%s" % email.lower(), key)
    kinds = sorted(e.get("kind") for e in (js or {}).get("events", []))
    ok(st == 200 and js["contact"]["id"] == cid and js["opted_out"] is True
       and js["lists"] == [{"id": lid}] and kinds == ["click", "open"]
       and all(e["campaign"] == camp for e in js["events"]),
       "GET /v1/subjects: contact, lists, opt-out, its 2 events", raw)
    st, js, raw = call(ff, "DELETE", "/v1/subjects/%s" % email, key)
    er = (js or {}).get("erased", {})
    ok(st == 200 and er.get("contacts") == 1 and er.get("events") == 2 and
       er.get("list_memberships") == 1 and er.get("optouts") == 1 and
       er.get("unique_memberships") == 3,
       "DELETE /v1/subjects: counts of what was erased", raw)
    dump = dump_tenant(redis, tid)
    low = email.lower()
    leaks = address_leaks(dump, email)
    ok(leaks == [], "erased: the address is in no key, field or value",
       repr(leaks[:5]))
    idleaks = contact_id_leaks(dump, cid)
    ok(idleaks == [], "erased: the contact id is in no key, member or event",
       repr(idleaks))
    st, js, raw = call(ff, "GET", "/v1/subjects/other@example.test", key)
    ok(st == 200 and len(js.get("events", [])) == 2,
       "the other contact's events are kept", raw)
    c = redis.hgetall(stats)
    ok(c.get("opens") == "2" and c.get("clicks") == "2",
       "aggregate counters are kept", repr(c))
    audit = redis.cmd("XRANGE", "{t:%s}:audit" % tid, "-", "+")
    text = repr(audit)
    # The test's opt-out is audited too (optout_add), before these.
    subject = [e for e in audit if "optout_add" not in repr(e)]
    ok(len(subject) == 3 and len(audit) == 4 and
       low not in text.lower() and "erase" in text
       and "access" in text, "audit log: the opt-out, access and erase, "
       "no address",
       text[:500])
    st, js, raw = call(ff, "POST", "/v1/contacts", key, {"email": email})
    ok(st == 200 and js.get("created") == 1, "re-import: stored again", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/%s" % email, key)
    ok(st == 200 and js.get("status") == "opted_out",
       "re-imported erased address stays suppressed (opted_out)", raw)


def test_janitor(ff, redis):
    st, js, raw = call(ff, "POST", "/v1/tenants", ADMIN,
                       {"name": "Short memory", "retention_days": 1})
    tid, key = js["id"], js["api_key"]
    lid = call(ff, "POST", "/v1/lists", key, {"name": "L"})[1]["id"]
    tpl = call(ff, "POST", "/v1/templates", key, {
        "name": "t", "subject": "s", "text": "t", "html": "h"})[1]["id"]
    camp = call(ff, "POST", "/v1/campaigns", key, {
        "name": "c", "template_id": tpl, "list_id": lid,
        "from": "a@s.example"})[1]["id"]
    ev = "{t:%s:c:%s}:events" % (tid, camp)
    old = int(time.time() * 1000) - 2 * 86400000
    redis.cmd("XADD", ev, "%d-0" % old, "n", "1", "e", "%d o 1 0 -- -\n" % old)
    redis.cmd("XADD", ev, "*", "n", "1", "e", "%d o 2 0 -- -\n" % (old + 1))
    rc, out, err = ff.ctl("janitor")
    try:
        rep = json.loads(out)
    except ValueError:
        rep = {}
    ok(rc == 0 and rep.get("entries_trimmed", 0) >= 1,
       "fanfarectl janitor: trims past retention", out + err)
    ok(redis.cmd("XLEN", ev) == 1,
       "the event older than retention_days is gone, the recent one kept")
    tid2, key2 = new_tenant(ff, "Gone later")
    call(ff, "POST", "/v1/contacts", key2, {"email": "p@gone.test"})
    call(ff, "DELETE", "/v1/tenants/%s" % tid2, ADMIN)
    ok(redis.cmd("EXISTS", "{t:%s}:ct:1" % tid2) == 1,
       "before the purge time: data still there")
    redis.cmd("ZADD", "ff:purge", int(time.time() * 1000) - 1000, tid2)
    rc, out, err = ff.ctl("janitor")
    ok(rc == 0 and '"tenants_purged":' in out and
       redis.cmd("KEYS", "{t:%s}*" % tid2) == [],
       "after the purge time the janitor removes every key", out + err)


def test_tenant_delete(ff, redis):
    tid, key = new_tenant(ff, "Leaving")
    call(ff, "POST", "/v1/contacts", key, {"email": "x@leaving.test"})
    st, js, raw = call(ff, "DELETE", "/v1/tenants/%s" % tid, ADMIN)
    ok(st == 202 and js.get("purge_at", "").endswith("Z"),
       "DELETE tenant: 202 with purge_at", raw)
    st, js, raw = call(ff, "GET", "/v1/contacts/x@leaving.test", key)
    ok(is_error(st, js, 401, "unauthorized"),
       "a deleted tenant's key stops at once", raw)
    ok(redis.cmd("EXISTS", "{t:%s}:ct:1" % tid) == 1,
       "data kept during the grace period")
    st, js, raw = call(ff, "DELETE", "/v1/tenants/%s?now=true" % tid, ADMIN)
    ok(st == 202, "DELETE ?now=true: 202", raw)
    left = redis.cmd("KEYS", "{t:%s}*" % tid) + redis.cmd(
        "KEYS", "{t:%s:c:*" % tid)
    ok(left == [], "purged: no key of the tenant is left", repr(left))
    st, js, raw = call(ff, "DELETE", "/v1/tenants/%s" % tid, ADMIN)
    ok(is_error(st, js, 404, "not_found"), "deleting it again: 404", raw)


# ------------------------------------------------------------ delivery


def queue_ids(redis, tenant, camp):
    """The queue's entries as lists of contact ids (strings), and the
    entries' other fields."""
    entries, extra = [], []
    for _id, fields in redis.cmd("XRANGE", "{t:%s}:camp:%s:q"
                                 % (tenant, camp), "-", "+"):
        f = dict(zip(fields[0::2], fields[1::2]))
        entries.append(f.get("ids", "").split(","))
        extra.append((f.get("try"), sorted(f)))
    return entries, extra


def list_members(redis, tenant, lid):
    return set(redis.cmd("SMEMBERS", "{t:%s}:list:%s:members"
                         % (tenant, lid)))


def check_queue(redis, tenant, lid, camp, n, what):
    """The queue holds every list member exactly once, in entries of at
    most 100, and the hash agrees."""
    entries, extra = queue_ids(redis, tenant, camp)
    flat = [i for e in entries for i in e]
    want = list_members(redis, tenant, lid)
    ok(len(want) == n and len(flat) == n and set(flat) == want,
       "%s: the queue holds each of the %d list members exactly once"
       % (what, n), "list %d, queued ids %d, distinct %d"
       % (len(want), len(flat), len(set(flat))))
    ok(entries and max(len(e) for e in entries) <= 100 and
       all(t == "0" and keys == ["ids", "try"] for t, keys in extra),
       "%s: %d entries of at most 100 ids, fields ids and try = 0"
       % (what, len(entries)), repr(extra[:3]))
    h = redis.hgetall("{t:%s}:camp:%s" % (tenant, camp))
    ok(h.get("total") == str(n) and h.get("queued") == str(n) and
       h.get("snapshot") == "1" and h.get("scan_cursor") == "0",
       "%s: total = queued = %d, snapshot 1" % (what, n), repr(h))


def add_contacts(ff, key, lid, prefix, n):
    """n contacts through POST /v1/contacts, and onto the list through
    POST /v1/lists/ID/members, 10,000 a request."""
    for b in range(0, n, 10000):
        emails = ["%s%d@launch.test" % (prefix, i)
                  for i in range(b, min(n, b + 10000))]
        st, js, raw = call(ff, "POST", "/v1/contacts", key,
                           [{"email": e} for e in emails])
        if st != 200 or js.get("created") != len(emails):
            return ok(False, "create %d contacts" % n, raw[:300])
        st, js, raw = call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                           {"emails": emails})
        if st != 200 or js.get("added") != len(emails):
            return ok(False, "add %d list members" % n, raw[:300])
    return True


def new_campaign(ff, key, lid, name="c"):
    tpl = call(ff, "POST", "/v1/templates", key, {
        "name": "t", "subject": "s", "text": "t {{unsubscribe_url}}",
        "html": '<a href="https://s.example/x">x</a>'})[1]["id"]
    return tpl, call(ff, "POST", "/v1/campaigns", key, {
        "name": name, "template_id": tpl, "list_id": lid,
        "from": "a@s.example"})[1]["id"]


def healthz_ms(ff):
    t = time.monotonic()
    st, _, _ = ff.api("GET", "/healthz")
    return (time.monotonic() - t) * 1000 if st == 200 else 1e9


def snapshot_done(redis, tenant, camp):
    return redis.cmd("HGET", "{t:%s}:camp:%s" % (tenant, camp),
                     "snapshot") == "1"


def test_launch_snapshot(ff, redis):
    """25,000 contacts: launch, the snapshot while the API answers, then
    the queue, progress and the state changes."""
    tid, key = new_tenant(ff, "Launch")
    lid = call(ff, "POST", "/v1/lists", key, {"name": "All"})[1]["id"]
    if not add_contacts(ff, key, lid, "r", 25000):
        return
    tpl, camp = new_campaign(ff, key, lid, "Big")
    base = max(healthz_ms(ff) for _ in range(20))
    t0 = time.monotonic()
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/launch" % camp, key)
    ok(st == 202 and js == {"status": "sending", "queued": 25000},
       "launch 25,000: 202 queued 25000", raw)
    lat = []
    while not snapshot_done(redis, tid, camp) and time.monotonic() - t0 < 60:
        lat.append(healthz_ms(ff))
    secs = time.monotonic() - t0
    ok(snapshot_done(redis, tid, camp), "the snapshot completes (%.3f s)"
       % secs)
    ok(not lat or max(lat) < 250, "GET /healthz during the snapshot: %d "
       "answered, max %.1f ms (before launch: max %.1f ms)"
       % (len(lat), max(lat or [0]), base))
    check_queue(redis, tid, lid, camp, 25000, "25,000")
    groups = redis.cmd("XINFO", "GROUPS", "{t:%s}:camp:%s:q" % (tid, camp))
    ok(len(groups) == 1 and "senders" in groups[0],
       "the queue has the consumer group senders", repr(groups))
    ok(redis.cmd("SISMEMBER", "ff:sending", "%s:%s" % (tid, camp)) == 1,
       "the campaign is in ff:sending")
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s" % camp, key)
    p = (js or {}).get("progress", {})
    ok(st == 200 and js.get("status") == "sending" and p == {
        "total": 25000, "queued": 25000, "sent": 0, "failed": 0,
        "deferred": 0, "suppressed": {
            "opted_out": 0, "blocklisted": 0, "special_category": 0,
            "bounced": 0, "erased": 0, "complained": 0}},
       "GET campaign: progress with every key", raw)
    # What the senders will write shows up (they HINCRBY the hash).
    h = "{t:%s}:camp:%s" % (tid, camp)
    for f, v in (("sent", 7), ("failed", 1), ("deferred", 2),
                 ("bounced", 3), ("sup_opted_out", 4), ("sup_erased", 5),
                 ("sup_blocklisted", 6), ("sup_special_category", 8),
                 ("sup_bounced", 9)):
        redis.cmd("HINCRBY", h, f, v)
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s" % camp, key)
    p = (js or {}).get("progress", {})
    ok(p.get("sent") == 7 and p.get("failed") == 1 and
       p.get("deferred") == 2 and p.get("suppressed") == {
           "opted_out": 4, "blocklisted": 6, "special_category": 8,
           "bounced": 9, "erased": 5, "complained": 0},
       "progress reads the senders' counters", raw)
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s/stats" % camp, key)
    ok(st == 200 and js.get("sent") == 7 and js.get("delivered") == 7 and
       js.get("bounced") == 3, "stats: sent, delivered, bounced from the "
       "campaign", raw)
    got = ff.stats(int(tid), int(camp))
    ok(got.get("sent") == 7 and got.get("delivered") == 7 and
       got.get("bounced") == 3, "fanfarectl stats: the same", repr(got))
    test_transitions(ff, redis, tid, key, camp)
    return secs, lat, base


def test_transitions(ff, redis, tid, key, camp):
    def post(verb, c=camp):
        return call(ff, "POST", "/v1/campaigns/%s/%s" % (c, verb), key)

    h = "{t:%s}:camp:%s" % (tid, camp)
    for verb, want in (("resume", None), ("pause", "paused"),
                       ("pause", None), ("launch", None),
                       ("resume", "sending"), ("resume", None),
                       ("pause", "paused")):
        st, js, raw = post(verb)
        if want:
            ok(st == 200 and js == {"status": want} and
               redis.cmd("HGET", h, "status") == want,
               "%s: 200 %s" % (verb, want), raw)
        else:
            ok(is_error(st, js, 409, "invalid_state"),
               "%s of a %s campaign: 409 invalid_state" % (
                   verb, redis.cmd("HGET", h, "status")), raw)
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s" % camp, key)
    ok(st == 200 and js.get("status") == "paused", "GET shows paused", raw)
    st, js, raw = post("cancel")
    ok(st == 200 and js == {"status": "cancelled"},
       "cancel a paused campaign: 200 cancelled", raw)
    q = "{t:%s}:camp:%s:q" % (tid, camp)
    ok(redis.cmd("EXISTS", q, q[:-2] + ":queued") == 0,
       "cancel deletes the queue and its bitmap")
    ok(redis.cmd("SISMEMBER", "ff:sending", "%s:%s" % (tid, camp)) == 0,
       "cancel takes it out of ff:sending")
    for verb in ("cancel", "pause", "resume", "launch"):
        st, js, raw = post(verb)
        ok(is_error(st, js, 409, "invalid_state"),
           "%s of a cancelled campaign: 409" % verb, raw)
    # A draft can be cancelled; a done campaign changes no more.
    lid = call(ff, "POST", "/v1/lists", key, {"name": "L2"})[1]["id"]
    _, c2 = new_campaign(ff, key, lid)
    st, js, raw = post("pause", c2)
    ok(is_error(st, js, 409, "invalid_state"), "pause a draft: 409", raw)
    st, js, raw = post("cancel", c2)
    ok(st == 200 and js == {"status": "cancelled"},
       "cancel a draft: 200", raw)
    _, c3 = new_campaign(ff, key, lid)
    st, js, raw = post("launch", c3)
    ok(st == 202 and js == {"status": "sending", "queued": 0},
       "launch on an empty list: 202 queued 0", raw)
    ok(wait_for(lambda: snapshot_done(redis, tid, c3)),
       "an empty list's snapshot completes")
    redis.cmd("HSET", "{t:%s}:camp:%s" % (tid, c3), "status", "done")
    for verb in ("pause", "resume", "cancel", "launch"):
        st, js, raw = post(verb, c3)
        ok(is_error(st, js, 409, "invalid_state") and "done" in
           js["error"]["message"], "%s of a done campaign: 409" % verb, raw)
    # Its list or template gone: 422, and it stays a draft.
    for what in ("list", "tpl"):
        lid4 = call(ff, "POST", "/v1/lists", key, {"name": "L4"})[1]["id"]
        tpl4, c4 = new_campaign(ff, key, lid4)
        redis.cmd("DEL", "{t:%s}:%s:%s" % (tid, what,
                                           lid4 if what == "list" else tpl4))
        st, js, raw = post("launch", c4)
        ok(is_error(st, js, 422, "invalid_campaign") and
           redis.cmd("HGET", "{t:%s}:camp:%s" % (tid, c4), "status") ==
           "draft", "launch with its %s deleted: 422 invalid_campaign"
           % ("list" if what == "list" else "template"), raw)
    st, js, raw = post("launch", "999999")
    ok(is_error(st, js, 404, "not_found"), "launch of no campaign: 404", raw)
    st, js, raw = post("stop")
    ok(is_error(st, js, 404, "not_found"), "an unknown verb: 404", raw)


def test_tenant_delete_stops(ff, redis):
    tid, key = new_tenant(ff, "Stops")
    lid = call(ff, "POST", "/v1/lists", key, {"name": "L"})[1]["id"]
    add_contacts(ff, key, lid, "s", 300)
    camps = [new_campaign(ff, key, lid, n)[1] for n in ("a", "b", "c")]
    call(ff, "POST", "/v1/campaigns/%s/launch" % camps[0], key)
    call(ff, "POST", "/v1/campaigns/%s/launch" % camps[1], key)
    call(ff, "POST", "/v1/campaigns/%s/pause" % camps[1], key)
    st, js, raw = call(ff, "DELETE", "/v1/tenants/%s" % tid, ADMIN)
    ok(st == 202, "DELETE a tenant with sending campaigns: 202", raw)
    got = [redis.cmd("HGET", "{t:%s}:camp:%s" % (tid, c), "status")
           for c in camps]
    ok(got == ["cancelled", "cancelled", "draft"],
       "its sending and paused campaigns are cancelled, the draft not",
       repr(got))
    left = [m for m in redis.cmd("SMEMBERS", "ff:sending")
            if m.startswith(tid + ":")]
    ok(left == [], "none of them is left in ff:sending", repr(left))
    ok(redis.cmd("EXISTS", "{t:%s}:camp:%s:q" % (tid, camps[0])) == 0,
       "their queues are gone")


def test_snapshot_restart(ff, redis):
    """kill -9 in the middle of a 200,000-member snapshot: the restarted
    fanfared goes on from the stored cursor; each member is queued once."""
    n = 200000
    tid, key = new_tenant(ff, "Restart")
    lid = call(ff, "POST", "/v1/lists", key, {"name": "Huge"})[1]["id"]
    if not add_contacts(ff, key, lid, "k", n):
        return
    _, camp = new_campaign(ff, key, lid, "Huge")
    h = "{t:%s}:camp:%s" % (tid, camp)
    t0 = time.monotonic()
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/launch" % camp, key)
    ok(st == 202 and js.get("queued") == n, "launch 200,000: 202", raw)
    # Freeze it part-way, so what we read is what the kill leaves.
    wait_for(lambda: int(redis.cmd("HGET", h, "queued") or 0) >= 20000,
             timeout=30, interval=0.002)
    os.kill(ff.proc.pid, signal.SIGSTOP)
    time.sleep(0.2)             # a step already sent finishes in Redis
    at_kill = redis.hgetall(h)
    ff.kill9()
    ok(at_kill.get("snapshot") == "0" and 0 < int(at_kill.get("queued")) < n
       and at_kill.get("scan_cursor") not in (None, "0"),
       "kill -9 in the middle of the snapshot (queued %s, cursor %s)"
       % (at_kill.get("queued"), at_kill.get("scan_cursor")))
    ff.start()
    t1 = time.monotonic()
    ok(wait_for(lambda: snapshot_done(redis, tid, camp), timeout=60),
       "after the restart the snapshot completes (%.3f s)"
       % (time.monotonic() - t1))
    check_queue(redis, tid, lid, camp, n, "200,000 across a kill -9")
    # A clean stop mid-snapshot (the loop frees what it was doing).
    _, c2 = new_campaign(ff, key, lid, "Again")
    lat = []
    t2 = time.monotonic()
    call(ff, "POST", "/v1/campaigns/%s/launch" % c2, key)
    while not snapshot_done(redis, tid, c2) and time.monotonic() - t2 < 60:
        lat.append(healthz_ms(ff))
    secs = time.monotonic() - t2
    ok(snapshot_done(redis, tid, c2), "an uninterrupted 200,000 snapshot: "
       "%.3f s, GET /healthz max %.1f ms over %d" % (
           secs, max(lat or [0]), len(lat)))
    # Not blocked by it: many answers while it ran, none kept waiting
    # for much of it (a bound relative to its length, as a loaded
    # machine slows both).
    bound = max(250.0, secs * 1000 / 3)
    ok(len(lat) >= 3 and max(lat) < bound,
       "the API answers during it (%d answers, max %.1f ms < %.0f ms)"
       % (len(lat), max(lat or [0]), bound))
    _, c3 = new_campaign(ff, key, lid, "Stopped")
    call(ff, "POST", "/v1/campaigns/%s/launch" % c3, key)
    rc = ff.stop()
    mid = redis.cmd("HGET", "{t:%s}:camp:%s" % (tid, c3), "snapshot")
    ok(rc == 0, "SIGTERM during a snapshot: clean exit (snapshot was %s)"
       % mid)
    ff.start()
    ok(wait_for(lambda: snapshot_done(redis, tid, c3), timeout=60),
       "and the next start completes it")
    check_queue(redis, tid, lid, c3, n, "200,000 across a SIGTERM")
    # Redis restarting mid-snapshot: the step is retried a second later
    # and the script sent again in full (NOSCRIPT, then EVAL).
    _, c4 = new_campaign(ff, key, lid, "Redis restart")
    h4 = "{t:%s}:camp:%s" % (tid, c4)
    call(ff, "POST", "/v1/campaigns/%s/launch" % c4, key)
    wait_for(lambda: int(redis.cmd("HGET", h4, "queued") or 0) >= 20000,
             timeout=30, interval=0.002)
    os.kill(ff.proc.pid, signal.SIGSTOP)
    redis.restart()
    before = int(redis.cmd("HGET", h4, "queued"))
    os.kill(ff.proc.pid, signal.SIGCONT)
    ok(before < n and wait_for(lambda: snapshot_done(redis, tid, c4),
                               timeout=60),
       "Redis restarted at %d queued: the snapshot goes on and completes"
       % before)
    with open(ff.log) as f:
        log = f.read()
    # The data layer finds an idle connection its server closed before
    # using it (and on a cluster sends a command once more on a fresh
    # slot map): the step may not fail at all, but it must learn that
    # Redis is another process and scan again.
    ok("campaign %s of tenant %s: snapshot: redis failed" % (c4, tid) in log
       or "campaign %s of tenant %s: snapshot: redis is another process"
       % (c4, tid) in log or harness.CLUSTER,
       "the step after the restart was retried or scanned again")
    check_queue(redis, tid, lid, c4, n, "200,000 across a Redis restart")
    return time.monotonic() - t0


def test_auth_redis_down(ff, redis):
    """A valid key while Redis is away: the key cannot be checked, so the
    answer is 503 unavailable, never 401 (a client would drop a good
    key).  Keys that need no lookup to refuse still get 401."""
    tid, key = new_tenant(ff, "Outage")
    st, js, raw = call(ff, "GET", "/v1/campaigns", key)
    ok(st == 200, "before the outage: the key works", raw)
    redis.sigstop()
    try:
        t0 = time.monotonic()
        st, js, raw = call(ff, "GET", "/v1/campaigns", key)
        secs = time.monotonic() - t0
    finally:
        redis.sigcont()
    ok(is_error(st, js, 503, "unavailable"),
       "Redis not answering: a valid key gets 503 unavailable, not 401 "
       "(after %.1f s)" % secs, raw)
    redis.stop()
    try:
        st, js, raw = call(ff, "GET", "/v1/campaigns", key)
        ok(is_error(st, js, 503, "unavailable"),
           "Redis stopped: a valid key gets 503 unavailable", raw)
        st, js, raw = call(ff, "GET", "/v1/campaigns",
                           "ff_%s_%s" % (tid, "0" * 64))
        ok(is_error(st, js, 503, "unavailable"),
           "Redis stopped: a well-formed key cannot be refuted: 503", raw)
        st, js, raw = call(ff, "GET", "/v1/campaigns", "not-a-key")
        ok(is_error(st, js, 401, "unauthorized"),
           "Redis stopped: a malformed key is still 401", raw)
        st, js, raw = call(ff, "GET", "/v1/campaigns")
        ok(is_error(st, js, 401, "unauthorized"),
           "Redis stopped: no key is still 401", raw)
    finally:
        redis.start()
    st, js, raw = call(ff, "GET", "/v1/campaigns", key)
    ok(st == 200, "Redis back: the same key works again", raw)


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, api_max_body="1M")
    run(test_auth, ff)
    tid, key = new_tenant(ff, "Main")
    run(test_routes, ff, key)
    cid = run(test_contacts, ff, redis, key)
    run(test_special_evasions, ff, key)
    lid = run(test_lists, ff, key)
    run(test_suppression, ff, key)
    run(test_unsendable, ff)
    run(test_limits, ff)
    tc = run(test_templates_campaigns, ff, key, lid) if lid else None
    if tc:
        run(test_campaign_click, ff, tid, tc[1])
    if cid and lid:
        run(test_isolation, ff, redis, key, cid, lid, *(tc or ()))
    run(test_one_click, ff, redis, tid, key)
    run(test_subjects, ff, redis)
    run(test_janitor, ff, redis)
    run(test_tenant_delete, ff, redis)
    run(test_launch_snapshot, ff, redis)
    run(test_tenant_delete_stops, ff, redis)
    run(test_snapshot_restart, ff, redis)
    run(test_auth_redis_down, ff, redis)
    done()


if __name__ == "__main__":
    main()
