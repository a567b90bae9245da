#!/usr/bin/python3
"""
test_audit_page.py: GET /v1/audit pages by cursor (an extension the
app's users screen pages the audit log with), on a real fanfared and a
real Redis (or a Redis Cluster: FF_TEST_REDIS=cluster).

  1. seven records (user creations, logins, a failed login): limit=1000
     answers them all, newest first, next_cursor null;
  2. walked with limit=2 by next_cursor: the same ids in the same order,
     no record twice, the last page's next_cursor null; limit=7 exactly
     the stream: next_cursor null (no empty page after it);
  3. a cursor that is no stream id: 400 invalid_cursor; an empty cursor
     is the first page.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Fanfare, Redis, call, done, must, new_tenant, ok, run

ADMIN = "admin-" + "p" * 40


def audit(ff, key, query):
    st, js, _ = call(ff, "GET", "/v1/audit?" + query, key)
    return st, js


def test_pages(ff, key):
    for i in range(3):
        must("POST /v1/users", call(ff, "POST", "/v1/users", key, {
            "email": "u%d@audit.test" % i, "password": "audit password %d" % i,
            "role": "viewer"}), 201)
    for i in range(3):
        st, _, _ = call(ff, "POST", "/v1/session", None, {
            "email": "u%d@audit.test" % i,
            "password": "audit password %d" % i})
        ok(st == 200, "login %d" % i, st)
    st, _, _ = call(ff, "POST", "/v1/session", None, {
        "email": "u0@audit.test", "password": "wrong password"})
    ok(st == 401, "a failed login", st)

    st, js = audit(ff, key, "limit=1000")
    ids = [it["id"] for it in js["items"]]
    ok(st == 200 and len(ids) == 7 and js.get("next_cursor") is None and
       ids == sorted(ids, key=lambda s: tuple(map(int, s.split("-"))),
                     reverse=True),
       "all seven records, newest first, next_cursor null", js)

    walked, cursor, pages = [], "", 0
    while pages < 10:
        st, js = audit(ff, key, "limit=2" + (
            "&cursor=" + cursor if cursor else ""))
        if st != 200:
            break
        pages += 1
        walked += [it["id"] for it in js["items"]]
        cursor = js.get("next_cursor")
        if not cursor:
            break
        ok(cursor == js["items"][-1]["id"], "page %d: next_cursor is its "
           "last id" % pages, js)
    ok(walked == ids and pages == 4, "limit=2 by next_cursor: the same "
       "records in the same order, none twice, in 4 pages",
       {"walked": walked, "ids": ids, "pages": pages})

    st, js = audit(ff, key, "limit=7")
    ok(st == 200 and len(js["items"]) == 7 and
       js.get("next_cursor") is None,
       "limit equal to the stream: next_cursor null", js)
    st, js = audit(ff, key, "limit=3&cursor=" + ids[3])
    ok(st == 200 and [it["id"] for it in js["items"]] == ids[4:7] and
       js.get("next_cursor") is None, "a cursor: the records older than "
       "it", js)

    for bad in ("x", "1-", "-1", "1-2-3", "%271-0"):
        st, js = audit(ff, key, "cursor=" + bad)
        ok(st == 400 and js["error"]["code"] == "invalid_cursor",
           "cursor=%s: 400 invalid_cursor" % bad, js)
    st, js = audit(ff, key, "limit=2&cursor=")
    ok(st == 200 and [it["id"] for it in js["items"]] == ids[:2],
       "an empty cursor is the first page", js)


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN)
    _, key = new_tenant(ff, "Audit")
    run(test_pages, ff, key)
    done()


if __name__ == "__main__":
    main()
