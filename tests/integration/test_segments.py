#!/usr/bin/python3
"""
test_segments.py: segments on a real fanfared over a real Redis (or,
with FF_TEST_REDIS=cluster, a real Redis Cluster), with a real campaign
sent to the test's SMTP server (contrib/smtp-capture.py) and opened and
clicked through the real tracking listener.

  1. counts: contacts with attributes and lists, a campaign opened and
     clicked by some (a browser's User-Agent) and opened by an image
     proxy for one (a machine open: not an open to a segment); a segment
     of each rule kind, all and any, counted: each count is what the
     test works out from the same data;
  2. launch: a campaign with segment_id (and one with list_id and
     segment_id: both must hold) mails exactly the contacts that matched
     at launch; contacts changed after the snapshot change nothing;
  3. refusals: special_category_reference, bad rules (422, 400), a
     missing list, campaign or segment; CRUD (GET, PATCH, DELETE);
  4. tenant isolation;
  5. 20,000 contacts counted exactly while the API goes on answering
     (the count runs on a worker thread, not the event loop): figures as
     TAP diagnostics.
"""
import datetime
import email
import email.policy
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, campaign,
                     diag, done, launch, must, new_campaign, new_list,
                     new_template, new_tenant, ok, public_path, run, stats,
                     wait_done, wait_for)

ADMIN = "admin-" + "s" * 40
PROXY_UA = ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
            "(via ggpht.com GoogleImageProxy)")
HTML = ('<html><body><p>Hi {{first_name | default "friend"}}</p>'
        '<a href="https://shop.example/sale">Sale</a>'
        '<a href="{{unsubscribe_url}}">Unsubscribe</a></body></html>')
TEXT = "Hi\nUnsubscribe: {{unsubscribe_url}}\n"
PLANS = ["pro", "free", "team", "basic"]


def people(n, domain, first=0):
    out = []
    for i in range(first, first + n):
        p = {"email": "p%d@%s" % (i, domain),
             "attributes": {"plan": PLANS[i % 4], "seats": i,
                            "vip": i % 3 == 0,
                            "renews": "2026-%02d-15" % (1 + i % 12)}}
        if i % 2 == 0:
            p["first_name"] = "Name%d" % i
        out.append(p)
    return out


def html_of(raw):
    m = email.message_from_bytes(raw, policy=email.policy.default)
    for part in m.walk():
        if part.get_content_type() == "text/html":
            return part.get_content()
    return ""


def segment(ff, key, rules, match="all", name="s"):
    return call(ff, "POST", "/v1/segments", key,
                {"name": name, "match": match, "rules": rules})


def count(ff, key, sid):
    st, js, raw = call(ff, "GET", "/v1/segments/%s/count" % sid, key)
    return js.get("count") if st == 200 and js else ("%d %r" % (st, raw))


# ------------------------------------------------------------ 1. counts


def test_counts(ff, relay, tid, key):
    """Returns the state the launch test goes on from."""
    relay.fresh()
    batch1 = people(12, "a.test")
    add_contacts(ff, key, batch1)
    time.sleep(1.1)
    cut = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(1.1)
    batch2 = people(6, "b.test", first=12)
    add_contacts(ff, key, batch2)
    everyone = batch1 + batch2
    by_email = {p["email"]: p for p in everyone}
    l1 = [p["email"] for p in everyone if p["attributes"]["seats"] % 2 == 0]
    l2 = [p["email"] for p in everyone if p["attributes"]["seats"] < 9]
    lid1 = new_list(ff, key, l1, "even")
    lid2 = new_list(ff, key, l2, "small")
    tpl = new_template(ff, key, "Hello", HTML, TEXT)
    c0 = new_campaign(ff, key, tpl, lid1)
    launch(ff, key, c0)
    js = wait_done(ff, key, c0)
    got = relay.by_rcpt()
    ok(js.get("status") == "done" and sorted(got) == sorted(l1),
       "campaign 0 mailed its list (%d)" % len(l1),
       "%r %r" % (js, sorted(got)))
    # Opens and clicks, through the tracking listener: human ones by
    # the first four of the list (a browser's UA), clicks by two of
    # them; an image proxy fetches the pixel of a fifth (machine).
    openers, clickers = l1[:4], l1[:2]
    machine_only = l1[4]
    for addr in l1[:5]:
        h = html_of(got[addr][0][1])
        pix = re.search(r'<img src="([^"]*/o/[^"]+)"', h)
        link = re.search(r'<a href="([^"]*/c/[^"]+)">Sale', h)
        ua = PROXY_UA if addr == machine_only else None
        st, _, _ = ff.http("GET", public_path(ff, pix.group(1)),
                           headers={"User-Agent": ua} if ua else None)
        if addr in clickers:
            ff.http("GET", public_path(ff, link.group(1)))

    def tracked():
        s = stats(ff, key, c0)
        o, c = s.get("opens", {}), s.get("clicks", {})
        return s if (o.get("unique") == len(openers) and
                     o.get("machine", 0) >= 1 and
                     c.get("unique") == len(clickers)) else None
    s = wait_for(tracked, timeout=15, interval=0.2)
    ok(s is not None, "stats: %d human openers, a machine open, %d clickers"
       % (len(openers), len(clickers)), repr(stats(ff, key, c0)))

    # Each rule kind, counted; the expected figure from the same data.
    A = lambda p: p["attributes"]
    created_after_cut = {p["email"] for p in batch2}
    cases = [
        ("attributes eq", [{"field": "attributes.plan", "op": "eq",
                            "value": "PRO"}], "all",
         lambda p: A(p)["plan"] == "pro"),
        ("attributes neq", [{"field": "attributes.plan", "op": "neq",
                             "value": "pro"}], "all",
         lambda p: A(p)["plan"] != "pro"),
        ("attributes contains", [{"field": "attributes.plan",
                                  "op": "contains", "value": "r"}], "all",
         lambda p: "r" in A(p)["plan"]),
        ("attributes gt", [{"field": "attributes.seats", "op": "gt",
                            "value": 10}], "all",
         lambda p: A(p)["seats"] > 10),
        ("attributes lt (numeric string)",
         [{"field": "attributes.seats", "op": "lt", "value": "3"}], "all",
         lambda p: A(p)["seats"] < 3),
        ("attributes eq boolean", [{"field": "attributes.vip", "op": "eq",
                                    "value": True}], "all",
         lambda p: A(p)["vip"]),
        ("attributes before", [{"field": "attributes.renews",
                                "op": "before", "value": "2026-04-01"}],
         "all", lambda p: A(p)["renews"] < "2026-04-01"),
        ("attributes exists", [{"field": "attributes.renews",
                                "op": "exists"}], "all", lambda p: True),
        ("first_name exists", [{"field": "first_name", "op": "exists"}],
         "all", lambda p: "first_name" in p),
        ("first_name exists false", [{"field": "first_name", "op": "exists",
                                      "value": False}], "all",
         lambda p: "first_name" not in p),
        ("email contains", [{"field": "email", "op": "contains",
                             "value": "@B.test"}], "all",
         lambda p: p["email"].endswith("@b.test")),
        ("email eq", [{"field": "email", "op": "eq",
                       "value": "p3@a.test"}], "all",
         lambda p: p["email"] == "p3@a.test"),
        ("created_at after", [{"field": "created_at", "op": "after",
                               "value": cut.strftime("%Y-%m-%dT%H:%M:%SZ")}],
         "all", lambda p: p["email"] in created_after_cut),
        ("created_at before", [{"field": "created_at", "op": "before",
                                "value": cut.strftime(
                                    "%Y-%m-%dT%H:%M:%SZ")}],
         "all", lambda p: p["email"] not in created_after_cut),
        ("list", [{"field": "list", "value": lid2}], "all",
         lambda p: p["email"] in l2),
        ("list neq", [{"field": "list", "op": "neq", "value": lid2}], "all",
         lambda p: p["email"] not in l2),
        ("opened (human only)", [{"field": "opened", "campaign": c0}], "all",
         lambda p: p["email"] in openers),
        ("not_opened (mailed, no human open)",
         [{"field": "not_opened", "campaign": c0}], "all",
         lambda p: p["email"] in l1 and p["email"] not in openers),
        ("clicked", [{"field": "clicked", "campaign": c0}], "all",
         lambda p: p["email"] in clickers),
        ("not_clicked", [{"field": "not_clicked", "campaign": c0}], "all",
         lambda p: p["email"] in l1 and p["email"] not in clickers),
        ("all: plan pro and on list small",
         [{"field": "attributes.plan", "op": "eq", "value": "pro"},
          {"field": "list", "value": lid2}], "all",
         lambda p: A(p)["plan"] == "pro" and p["email"] in l2),
        ("any: plan team or opened",
         [{"field": "attributes.plan", "op": "eq", "value": "team"},
          {"field": "opened", "campaign": c0}], "any",
         lambda p: A(p)["plan"] == "team" or p["email"] in openers),
        ("all of no rules: everyone", [], "all", lambda p: True),
        ("any of no rules: nobody", [], "any", lambda p: False),
    ]
    for what, rules, match, pred in cases:
        want = sum(1 for p in everyone if pred(p))
        st, js, raw = segment(ff, key, rules, match, name=what)
        if st != 201:
            ok(False, "segment %s: 201" % what, "%d %r" % (st, raw))
            continue
        got_n = count(ff, key, js["id"])
        ok(got_n == want, "count of %s: %d" % (what, want),
           "got %r" % (got_n,))
    ok(machine_only not in openers, "the contact opened only by an image "
       "proxy is among the not_opened (machine opens do not count)")
    return {"everyone": everyone, "by_email": by_email, "l1": l1, "l2": l2,
            "lid1": lid1, "lid2": lid2, "c0": c0, "tpl": tpl,
            "openers": openers}


# ------------------------------------------------------------ 2. launch


def test_launch(ff, relay, tid, key, st0):
    relay.fresh()
    by_email, c0, tpl = st0["by_email"], st0["c0"], st0["tpl"]
    # Plan pro, or an opener of campaign 0 (any).
    rules = [{"field": "attributes.plan", "op": "eq", "value": "pro"},
             {"field": "opened", "campaign": c0}]
    sid = must("segment", segment(ff, key, rules, "any"), 201)["id"]
    want = sorted(e for e, p in by_email.items()
                  if p["attributes"]["plan"] == "pro" or
                  e in st0["openers"])
    # One message a second: the snapshot is done long before the last
    # message, and contacts change in between.
    cid = must("campaign", call(ff, "POST", "/v1/campaigns", key, {
        "name": "seg", "template_id": tpl, "segment_id": sid,
        "from": "News <news@acme.test>", "rate_per_second": 1}), 201)["id"]
    js = must("GET campaign", call(ff, "GET", "/v1/campaigns/%s" % cid, key))
    ok(js.get("segment_id") == sid and "list_id" not in js,
       "GET shows the campaign's segment_id", repr(js))
    launch(ff, key, cid)
    snap = wait_for(lambda: (lambda j: j if j.get("progress", {}).get(
        "total", 0) > 0 else None)(campaign(ff, key, cid)), timeout=10)
    ok(snap is not None and snap["progress"]["total"] == len(want),
       "the snapshot's total is the segment's size at launch (%d)"
       % len(want), repr(snap))
    # Now a matching contact leaves the segment and one joins it: the
    # recipients were fixed at launch.
    leaver = next(e for e in want if by_email[e]["attributes"]["plan"] ==
                  "pro" and e not in st0["openers"])
    joiner = next(e for e in sorted(by_email) if e not in want)
    must("PATCH leaver", call(ff, "PATCH", "/v1/contacts/%s" % leaver, key,
                              {"attributes": {"plan": "free"}}))
    must("PATCH joiner", call(ff, "PATCH", "/v1/contacts/%s" % joiner, key,
                              {"attributes": {"plan": "pro"}}))
    js = wait_done(ff, key, cid, timeout=60)
    got = relay.by_rcpt()
    ok(js.get("status") == "done" and sorted(got) == want and
       all(len(v) == 1 for v in got.values()),
       "a segment_id campaign mailed exactly the %d contacts that matched "
       "at launch, once each" % len(want),
       "want %r\ngot %r\n%r" % (want, sorted(got), js))
    ok(leaver in got and joiner not in got,
       "a contact changed after launch changes nothing (%s still mailed, "
       "%s not)" % (leaver, joiner))
    # The segment itself follows the contacts now.
    n = count(ff, key, sid)
    ok(n == len(want), "the segment's count now: one out, one in (%d)"
       % len(want), repr(n))

    # A launched campaign keeps its frozen segment: deleting the segment
    # leaves a second launch the usual 409; a draft whose segment is
    # gone cannot be launched.
    draft = must("campaign", call(ff, "POST", "/v1/campaigns", key, {
        "name": "later", "template_id": tpl, "segment_id": sid,
        "from": "News <news@acme.test>"}), 201)["id"]
    must("DELETE segment", call(ff, "DELETE", "/v1/segments/%s" % sid, key),
         204)
    st, js, _ = call(ff, "POST", "/v1/campaigns/%s/launch" % cid, key)
    st2, js2, _ = call(ff, "POST", "/v1/campaigns/%s/launch" % draft, key)
    ok(st == 409 and js["error"]["code"] == "invalid_state" and
       st2 == 422 and js2["error"]["code"] == "invalid_campaign",
       "segment deleted: a sent campaign's launch is 409, a draft's 422 "
       "invalid_campaign", "%d %r / %d %r" % (st, js, st2, js2))

    # list_id and segment_id: both must hold.
    relay.fresh()
    sid2 = must("segment", segment(ff, key, [
        {"field": "attributes.seats", "op": "gt", "value": 4}]), 201)["id"]
    cid2 = must("campaign", call(ff, "POST", "/v1/campaigns", key, {
        "name": "both", "template_id": tpl, "segment_id": sid2,
        "list_id": st0["lid2"], "from": "News <news@acme.test>"}),
        201)["id"]
    launch(ff, key, cid2)
    js = wait_done(ff, key, cid2, timeout=30)
    want2 = sorted(e for e in st0["l2"]
                   if by_email[e]["attributes"]["seats"] > 4)
    got2 = relay.by_rcpt()
    ok(sorted(got2) == want2 and js.get("progress", {}).get("total") ==
       len(want2), "list_id and segment_id: the %d list members that match"
       % len(want2), "want %r got %r %r" % (want2, sorted(got2), js))


# ---------------------------------------------------------- 3. refusals


def test_refusals(ff, key, st0):
    def refused(what, res, status, code):
        st, js, raw = res
        ok(st == status and js and js.get("error", {}).get("code") == code,
           "%s: %d %s" % (what, status, code), "%d %r" % (st, raw))

    refused("a rule on a special-category attribute", segment(ff, key, [
        {"field": "attributes.religion", "op": "eq", "value": "x"}]),
        422, "special_category_reference")
    refused("a rule seeking a special-category value", segment(ff, key, [
        {"field": "attributes.notes", "op": "contains",
         "value": "diabetes"}]), 422, "special_category_reference")
    refused("an unknown op", segment(ff, key, [
        {"field": "attributes.plan", "op": "like", "value": "x"}]),
        422, "invalid_rule")
    refused("gt of a word", segment(ff, key, [
        {"field": "attributes.seats", "op": "gt", "value": "many"}]),
        422, "invalid_rule")
    refused("before of no date", segment(ff, key, [
        {"field": "created_at", "op": "before", "value": "soon"}]),
        422, "invalid_rule")
    refused("an unknown field", segment(ff, key, [
        {"field": "shoe_size", "op": "eq", "value": "9"}]),
        422, "invalid_rule")
    refused("opened without a campaign", segment(ff, key, [
        {"field": "opened"}]), 422, "invalid_rule")
    refused("a value over 256 bytes", segment(ff, key, [
        {"field": "email", "op": "contains", "value": "x" * 257}]),
        422, "invalid_rule")
    refused("33 rules", segment(ff, key, [
        {"field": "list", "value": st0["lid1"]}] * 33), 422,
        "invalid_rules")
    refused("match some", segment(ff, key, [], "some"), 422,
            "invalid_match")
    refused("an unknown member of a rule", segment(ff, key, [
        {"field": "list", "value": st0["lid1"], "x": 1}]), 400,
        "unknown_field")
    refused("no name", call(ff, "POST", "/v1/segments", key,
                            {"rules": []}), 422, "invalid_name")
    refused("a list that does not exist", segment(ff, key, [
        {"field": "list", "value": "999"}]), 422, "invalid_reference")
    refused("a campaign that does not exist", segment(ff, key, [
        {"field": "clicked", "campaign": "999"}]), 422, "invalid_reference")
    refused("a campaign with a segment that does not exist", call(
        ff, "POST", "/v1/campaigns", key, {
            "name": "x", "template_id": st0["tpl"], "segment_id": "999",
            "from": "News <news@acme.test>"}), 422, "invalid_reference")
    refused("a campaign with neither list nor segment", call(
        ff, "POST", "/v1/campaigns", key, {
            "name": "x", "template_id": st0["tpl"],
            "from": "News <news@acme.test>"}), 422, "invalid_reference")
    st, js, _ = call(ff, "GET", "/v1/segments/999/count", key)
    ok(st == 404, "count of a segment that does not exist: 404", repr(js))

    # CRUD.
    sid = must("segment", segment(ff, key, [
        {"field": "attributes.plan", "op": "eq", "value": "pro"}],
        name="pros"), 201)["id"]
    js = must("GET", call(ff, "GET", "/v1/segments/%s" % sid, key))
    ok(js.get("name") == "pros" and js.get("match") == "all" and
       js.get("rules") == [{"field": "attributes.plan", "op": "eq",
                            "value": "pro"}] and js.get("created_at"),
       "GET gives the segment back", repr(js))
    n_pro = count(ff, key, sid)
    js = must("PATCH", call(ff, "PATCH", "/v1/segments/%s" % sid, key,
                            {"rules": [{"field": "attributes.plan",
                                        "op": "neq", "value": "pro"}]}))
    n_not = count(ff, key, sid)
    ok(js.get("name") == "pros" and n_pro + n_not == len(st0["everyone"]),
       "PATCH replaces the rules (%r + %r)" % (n_pro, n_not), repr(js))
    refused("PATCH to a special-category rule", call(
        ff, "PATCH", "/v1/segments/%s" % sid, key, {"rules": [
            {"field": "attributes.ethnicity", "op": "exists"}]}), 422,
        "special_category_reference")
    lst = must("list", call(ff, "GET", "/v1/segments", key))
    ok(sid in [s["id"] for s in lst.get("items", [])],
       "GET /v1/segments lists it")
    st, _, _ = call(ff, "DELETE", "/v1/segments/%s" % sid, key)
    st2, _, _ = call(ff, "GET", "/v1/segments/%s" % sid, key)
    ok(st == 204 and st2 == 404, "DELETE: 204, then 404", "%d %d"
       % (st, st2))


# --------------------------------------------------------- 4. isolation


def test_isolation(ff, key_a, st0):
    tid_b, key_b = new_tenant(ff, "Other")
    add_contacts(ff, key_b, people(3, "other.test"))
    sid_a = must("segment A", segment(ff, key_a, []), 201)["id"]
    st, js, _ = call(ff, "GET", "/v1/segments/%s" % sid_a, key_b)
    st2, _, _ = call(ff, "GET", "/v1/segments/%s/count" % sid_a, key_b)
    st3, _, _ = call(ff, "DELETE", "/v1/segments/%s" % sid_a, key_b)
    ok(st == 404 and st2 == 404 and st3 == 404,
       "tenant B cannot see, count or delete tenant A's segment",
       "%d %d %d" % (st, st2, st3))
    sid_b = must("segment B", segment(ff, key_b, []), 201)["id"]
    n_b, n_a = count(ff, key_b, sid_b), count(ff, key_a, sid_a)
    ok(n_b == 3 and n_a == len(st0["everyone"]),
       "each tenant's segment counts only its own contacts (3, %d)"
       % len(st0["everyone"]), "%r %r" % (n_b, n_a))
    st, js, _ = segment(ff, key_b, [{"field": "opened",
                                     "campaign": st0["c0"]}])
    ok(st == 422, "tenant B cannot name tenant A's campaign", repr(js))


# ------------------------------------------------------------- 5. scale


def test_big_count(ff, n=20000):
    tid, key = new_tenant(ff, "Big")
    rows = [{"email": "u%d@big.test" % i,
             "attributes": {"n": i, "plan": PLANS[i % 4]}}
            for i in range(n)]
    t0 = time.monotonic()
    add_contacts(ff, key, rows)
    diag("%d contacts added in %.1f s" % (n, time.monotonic() - t0))
    sid = must("segment", segment(ff, key, [
        {"field": "attributes.n", "op": "lt", "value": n // 4},
        {"field": "attributes.plan", "op": "neq", "value": "free"}]),
        201)["id"]
    want = sum(1 for i in range(n // 4) if PLANS[i % 4] != "free")
    result = {}

    def counter():
        t = time.monotonic()
        result["n"] = count(ff, key, sid)
        result["s"] = time.monotonic() - t
    th = threading.Thread(target=counter)
    th.start()
    lat, answers = [], 0
    deadline = time.monotonic() + 60
    while th.is_alive() and time.monotonic() < deadline:
        t = time.monotonic()
        st, _, _ = ff.api("GET", "/healthz")
        st2, _, _ = call(ff, "GET", "/v1/segments/%s" % sid, key)
        lat.append(time.monotonic() - t)
        answers += st == 200 and st2 == 200
        time.sleep(0.01)
    th.join(60)
    ok(result.get("n") == want, "a count over %d contacts is exact (%d)"
       % (n, want), repr(result))
    diag("count of %d contacts: %.2f s; meanwhile %d /healthz + GET "
         "segment pairs answered, slowest %.1f ms" % (
             n, result.get("s", -1), answers,
             1000 * max(lat) if lat else -1))
    ok(answers == len(lat) and (not lat or max(lat) < 1.0),
       "the API kept answering during the count (%d pairs, none over 1 s)"
       % len(lat))


def main():
    relay = Relay().fresh()
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders="1",
                 smtp_relay="127.0.0.1:%d" % relay.port,
                 smtp_starttls="off", claim_idle="2s")
    tid, key = new_tenant(ff, "Seg")
    st0 = run(test_counts, ff, relay, tid, key)
    if st0:
        run(test_launch, ff, relay, tid, key, st0)
        run(test_refusals, ff, key, st0)
        run(test_isolation, ff, key, st0)
    run(test_big_count, ff, int(os.environ.get("FF_SEGMENT_CONTACTS",
                                               "20000")))
    relay.close()
    done()


if __name__ == "__main__":
    main()
