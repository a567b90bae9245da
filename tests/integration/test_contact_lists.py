#!/usr/bin/python3
"""
test_contact_lists.py: GET /v1/contacts/{id} names the lists the contact
is on ("lists": ids, by id), as the app's contact page shows them: after
adding to two lists, after removing from one, after the list membership
is gone, for a contact on none, and never another tenant's list.
"""
import os
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, add_contacts, call, done, must,
                     new_list, new_tenant, ok, run)

ADMIN = "admin-" + "b" * 40


def lists_of(ff, key, ref):
    js = must("GET /v1/contacts/" + ref,
              call(ff, "GET", "/v1/contacts/" + ref, key))
    return js.get("lists"), js


def check(ff):
    _, key = new_tenant(ff, "A")
    _, other = new_tenant(ff, "B")
    add_contacts(ff, key, [{"email": "ann@x.test", "first_name": "Ann"},
                           {"email": "bob@x.test"}])
    add_contacts(ff, other, [{"email": "ann@x.test"}])
    # Ids in this order, so "by id" is seen: the contact joins b first.
    a = new_list(ff, key, [], name="a")
    b = new_list(ff, key, ["ann@x.test"], name="b")
    must("POST members", call(ff, "POST", "/v1/lists/%s/members" % a, key,
                              {"emails": ["ann@x.test"]}))
    o = new_list(ff, other, ["ann@x.test"], name="other tenant's")

    got, js = lists_of(ff, key, "ann@x.test")
    ok(got == sorted([a, b], key=int), "a contact on two lists: both ids, "
       "by id", js)
    ok(js.get("first_name") == "Ann" and js.get("status") == "active",
       "the contact's own fields are still there", js)
    got, js = lists_of(ff, key, js["id"])
    ok(got == sorted([a, b], key=int), "the same by contact id", js)
    got, js = lists_of(ff, key, "bob@x.test")
    ok(got == [], "a contact on no list: an empty array", js)
    got, js = lists_of(ff, other, "ann@x.test")
    ok(got == [o], "the other tenant's contact (same address) shows its "
       "own tenant's list only", js)

    must("DELETE members", call(ff, "DELETE", "/v1/lists/%s/members" % a,
                                key, {"emails": ["ann@x.test"]}))
    got, js = lists_of(ff, key, "ann@x.test")
    ok(got == [b], "removed from one list: the other remains", js)

    st, js, _ = call(ff, "GET", "/v1/contacts/nobody@x.test", key)
    ok(st == 404, "no such contact: still 404", (st, js))


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN)
    run(check, ff)
    done()


if __name__ == "__main__":
    main()
