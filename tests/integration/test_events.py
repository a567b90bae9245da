#!/usr/bin/python3
"""
test_events.py: the tenant's event log and GET /v1/events (issue 13,
the feed's part), on a real fanfared, Redis and SMTP sink.

1. A campaign to three contacts through the SMTP sink, then a browser's
   open and click, a prefetch (HEAD) open, a DNT open, a one-click
   opt-out, an opt-out through the API, a hard bounce and a complaint
   sent to the bounce listener: the feed lists exactly the events
   expected (sent x3, opened, opened machine, clicked with the URL,
   unsubscribed by link and by API, bounced, complained), each with its
   email, campaign and contact, and nothing for the DNT hit.
2. Stable: two reads give the same ids; paging by cursor (limit 2)
   gives the same sequence; the types and campaign filters; after a
   kill -9 of fanfared in the middle of a burst of opens and a restart,
   no id changed, none is lost, none is there twice.
3. Tenant isolation: another tenant's feed is empty, also when it asks
   for the first tenant's campaign.
4. Erasure removes every event of the subject from the log.
6. Retention: the janitor trims the log by the tenant's retention_days.
7. Two nodes on one Redis: the node holding a tenant's pump lease is
   killed -9; the other takes the lease once it expires and goes on,
   each event once.
5. Bad parameters: 422 with an error code.
8. A 5xx at RCPT while sending: the bounced event carries the reply's
   enhanced status code ("550 5.1.1 ..." gives "5.1.1"), or the class's
   "5.0.0" when the relay sends none ("550 no such user").

Runs on one Redis and, with FF_TEST_REDIS=cluster, on a Redis Cluster.
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, can_connect,
                     done, free_port, launch, must, new_campaign, new_list,
                     new_template, new_tenant, ok, run, wait_done, wait_for)
from test_bounces import BOUNCE_DOMAIN, arf, dsn, secret_of, send, verp_local

ADMIN = "admin-" + "v" * 40
URL = "https://shop.example/sale?x=1"


def feed(ff, key, **q):
    path = "/v1/events"
    if q:
        path += "?" + "&".join("%s=%s" % (k, v) for k, v in q.items())
    return call(ff, "GET", path, key)


def feed_all(ff, key, limit=1000, **q):
    """Every item, paging; (items, pages)."""
    items, cursor, pages = [], None, 0
    while pages < 100:
        args = dict(q, limit=limit)
        if cursor:
            args["cursor"] = cursor
        js = must("GET /v1/events", feed(ff, key, **args))
        pages += 1
        items += js["items"]
        if not js["items"]:
            break
        cursor = js["next_cursor"]
    return items, pages


def summary(items):
    return sorted((e["type"], e["contact"], e.get("machine", False),
                   e.get("reason"), e.get("url")) for e in items)


def hit(ff, kind, tid, camp, cid, link=None, headers=None, method="GET"):
    path = ff.token(kind, int(tid), int(camp), int(cid), link=link)
    if kind == "unsubscribe":
        return ff.http("POST", path, headers={
            "Content-Type": "application/x-www-form-urlencoded"},
            body=b"List-Unsubscribe=One-Click")[0]
    return ff.http(method, path, headers=headers)[0]


def setup(ff, name, emails):
    tid, key = new_tenant(ff, name)
    add_contacts(ff, key, [{"email": e} for e in emails])
    ids = [must("GET contact", call(ff, "GET", "/v1/contacts/%s" % e,
                                    key))["id"] for e in emails]
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Sale", '<a href="%s">sale</a>' % URL,
                       "Sale %s {{unsubscribe_url}}" % URL)
    camp = new_campaign(ff, key, tpl, lid)
    launch(ff, key, camp)
    js = wait_done(ff, key, camp)
    return tid, key, ids, camp, js


def link_index(redis, tid, camp):
    links = redis.hgetall("{t:%s:c:%s}:links" % (tid, camp))
    return next((int(k) for k, v in links.items() if v == URL), None)


def test_feed(ff, redis, relay, state):
    relay.fresh()
    emails = ["ann@ev.test", "bob@ev.test", "cat@ev.test"]
    tid, key, ids, camp, js = setup(ff, "Events", emails)
    a, b, c = ids
    ok(js.get("status") == "done", "the campaign is sent", repr(js))
    ok(len(relay.accepted()) == 3, "three mails reached the SMTP sink")
    li = link_index(redis, tid, camp)
    ok(li is not None, "the link is in the campaign's table")
    sts = [hit(ff, "open", tid, camp, a),
           hit(ff, "click", tid, camp, a, link=li),
           hit(ff, "open", tid, camp, b, method="HEAD"),
           hit(ff, "open", tid, camp, b, headers={"DNT": "1"}),
           hit(ff, "open", tid, camp, c, headers={"Sec-GPC": "1"}),
           hit(ff, "unsubscribe", tid, camp, c)]
    ok(all(s in (200, 302) for s in sts), "the hits are answered", repr(sts))
    must("API opt-out", call(ff, "POST", "/v1/optouts", key,
                             {"email": emails[1]}))
    # The bounce listener: a hard bounce of ann, a complaint of bob.
    sec = secret_of(ff)
    rcpt = {x: "%s@%s" % (verp_local(sec, tid, camp, cid), BOUNCE_DOMAIN)
            for x, cid in zip(emails, ids)}
    ok(send(ff.bounce_port, rcpt[emails[0]],
            dsn(emails[0], "failed", "5.1.1", "550 5.1.1 no such user"))[0]
       == 250 and
       send(ff.bounce_port, rcpt[emails[1]], arf(emails[1]))[0] == 250,
       "a DSN and a complaint are taken by the bounce listener")

    want = sorted([
        ("sent", a, False, None, None), ("sent", b, False, None, None),
        ("sent", c, False, None, None),
        ("opened", a, False, None, None), ("clicked", a, False, None, URL),
        ("opened", b, True, None, None),
        ("unsubscribed", c, False, "link", None),
        ("unsubscribed", b, False, "api", None),
        ("bounced", a, False, None, None),
        ("complained", b, False, None, None)])
    got = wait_for(lambda: (lambda it: it if summary(it) == want else None)(
        feed_all(ff, key)[0]), timeout=15)
    items = got or feed_all(ff, key)[0]
    ok(got is not None, "the feed lists exactly the events: 3 sent, the "
       "open, the click with its URL, the prefetch open (machine), the "
       "opt-outs by link and by API, the bounce and the complaint; none "
       "for the DNT and GPC hits", json.dumps(summary(items)))
    time.sleep(2.5)             # the pump's next runs add nothing
    again = feed_all(ff, key)[0]
    ok(again == items, "read again later: the same events, the same ids",
       "%d then %d" % (len(items), len(again)))
    byid = {e["id"]: e for e in items}
    ok(len(byid) == len(items), "every id is unique")
    email_of = dict(zip(ids, emails))
    ok(all(e["email"] == email_of[e["contact"]] and e["campaign"] == camp
           and e["time"].endswith("Z") and "T" in e["time"]
           for e in items if e["type"] != "unsubscribed" or
           e.get("reason") == "link"),
       "each event names its contact, email, campaign and an RFC 3339 "
       "time", json.dumps(items[:3]))
    bo = [e for e in items if e["type"] == "bounced"]
    ok(bo and bo[0].get("kind") == "hard" and bo[0].get("status") ==
       "5.1.1" and "no such user" in bo[0].get("diagnostic", ""),
       "the bounce carries kind, status and diagnostic", repr(bo))
    api_out = [e for e in items if e.get("reason") == "api"]
    ok(api_out and api_out[0]["email"] == emails[1] and
       api_out[0]["campaign"] is None,
       "the API opt-out names the contact and no campaign", repr(api_out))
    state.update(tid=tid, key=key, ids=ids, camp=camp, items=items,
                 emails=emails)


def test_paging_and_filters(ff, redis, relay, state):
    key, camp, items = state["key"], state["camp"], state["items"]
    paged, pages = feed_all(ff, key, limit=2)
    ok([e["id"] for e in paged] == [e["id"] for e in items] and
       pages >= len(items) // 2,
       "paging by cursor, 2 a page: the same events in the same order",
       "%d pages, %d items" % (pages, len(paged)))
    js = must("feed", feed(ff, key, limit=3))
    ok(len(js["items"]) == 3 and js["next_cursor"],
       "limit=3: three items and a next_cursor")
    last = must("feed", feed(ff, key, cursor=js["next_cursor"], limit=1000))
    tail = must("feed", feed(ff, key, cursor=last["next_cursor"]))
    ok(tail["items"] == [] and tail["next_cursor"] == last["next_cursor"],
       "at the end: no items, and the same cursor to poll from",
       repr(tail))
    opened = must("feed", feed(ff, key, types="opened,clicked"))["items"]
    ok(sorted(e["type"] for e in opened) == ["clicked", "opened", "opened"],
       "types=opened,clicked", repr(opened))
    mine = must("feed", feed(ff, key, campaign=camp))["items"]
    ok(len(mine) == len(items) - 1 and all(e["campaign"] == camp
                                           for e in mine),
       "campaign=C: its events (not the API opt-out, which has none)")
    none = must("feed", feed(ff, key, campaign=int(camp) + 1000))["items"]
    ok(none == [], "campaign of another id: nothing")


def test_kill9(ff, redis, relay, state):
    tid, key, ids, camp = (state[k] for k in ("tid", "key", "ids", "camp"))
    before = feed_all(ff, key)[0]
    paths = [ff.token("open", int(tid), int(camp), int(ids[2]))
             for _ in range(1)]
    n = 40
    sts = []
    for i in range(n):
        sts.append(ff.http("GET", paths[0])[0])
        if i == n // 2:
            time.sleep(0.6)     # some shipped and pumped, some not yet
    ff.kill9()
    ok(sts.count(200) == n, "%d opens answered before the kill -9" % n)
    ff.start()
    want = len(before) + n
    got = wait_for(lambda: (lambda it: it if len(it) >= want else None)(
        feed_all(ff, key)[0]), timeout=20)
    time.sleep(2.5)
    after = feed_all(ff, key)[0]
    ok(len(after) == want and
       [e["id"] for e in after[:len(before)]] == [e["id"] for e in before]
       and after[:len(before)] == before,
       "after kill -9 and a restart: the events before are unchanged, "
       "and the %d opens are there" % n,
       "want %d, got %d (waited: %s)" % (want, len(after), got is not None))
    ids_after = [e["id"] for e in after]
    ok(len(set(ids_after)) == len(ids_after), "no event twice")
    state["items"] = after


def test_isolation(ff, redis, relay, state):
    _, key2 = new_tenant(ff, "Other")
    js = must("feed", feed(ff, key2))
    ok(js["items"] == [] and js["next_cursor"] is None,
       "another tenant's feed is empty", repr(js))
    js = must("feed", feed(ff, key2, campaign=state["camp"]))
    ok(js["items"] == [], "also when it names the first tenant's campaign")
    cur = state["items"][2]["id"]
    st, js, _ = feed(ff, key2, limit=5)
    ok(st == 200 and js["items"] == [], "and with any cursor")
    st, _, _ = call(ff, "GET", "/v1/events")
    ok(st == 401, "no key: 401")
    del cur


def test_erasure(ff, redis, relay, state):
    tid, key, ids, emails = (state[k] for k in ("tid", "key", "ids",
                                                  "emails"))
    a = ids[0]
    before = feed_all(ff, key)[0]
    mine = [e for e in before if e["contact"] == a]
    ok(len(mine) >= 4, "ann has events (sent, open, click, bounce)")
    st, js, raw = call(ff, "GET", "/v1/subjects/%s" % emails[0], key)
    ok(st == 200 and js.get("event_log") == mine,
       "the subject export holds the person's entries of the event log, "
       "as the feed gives them", raw[:300])
    js = must("erase", call(ff, "DELETE", "/v1/subjects/%s" % emails[0],
                            key))
    after = feed_all(ff, key)[0]
    # The log holds the senders' and bounces' events itself; the opens
    # and clicks it refers to in the campaign's records, which the
    # erasure rewrites (counted in "events").
    tracked = [e for e in mine if e["id"].startswith("trk:")]
    ok(js["erased"].get("event_log") == len(mine) - len(tracked) and
       js["erased"].get("events", 0) >= len(tracked) > 0,
       "the answer counts the entries deleted from the log (event_log) "
       "and the records its opens and clicks came from (events)",
       repr(js))
    ok(not any(e["contact"] == a or e.get("email") == emails[0]
               for e in after) and
       [e["id"] for e in after] ==
       [e["id"] for e in before if e["contact"] != a],
       "after the erasure no event names the subject; the others stay, "
       "with the same ids in the same order",
       "%d -> %d, erased %r" % (len(before), len(after), js))
    raw = redis.cmd("XRANGE", "{t:%s}:events" % tid, "-", "+")
    ok(not any(emails[0] in json.dumps(x) for x in raw),
       "the stream holds nothing of the address")
    # A late hit of the erased contact: no event comes back.
    hit(ff, "open", tid, state["camp"], a)
    time.sleep(2.5)
    late = feed_all(ff, key)[0]
    ok(not any(e["contact"] == a for e in late),
       "a late open of the erased contact makes no event")


def test_bad_params(ff, redis, relay, state):
    key = state["key"]
    for q, code in ((dict(limit=0), "invalid_limit"),
                    (dict(limit=1001), "invalid_limit"),
                    (dict(limit="x"), "invalid_limit"),
                    (dict(types="nope"), "invalid_types"),
                    (dict(types="opened,"), "invalid_types"),
                    (dict(cursor="abc"), "invalid_cursor"),
                    (dict(cursor="1-2-3"), "invalid_cursor"),
                    (dict(campaign="x"), "invalid_campaign")):
        st, js, raw = feed(ff, key, **q)
        ok(st == 422 and js and js["error"]["code"] == code,
           "%r: 422 %s" % (q, code), "%d %r" % (st, raw[:200]))
    st, js, _ = feed(ff, key, limit=1000, types="sent")
    ok(st == 200 and all(e["type"] == "sent" for e in js["items"]),
       "limit=1000 and one type: 200")


def test_retention(ff, redis, relay, state):
    js = must("tenant", call(ff, "POST", "/v1/tenants", ADMIN,
                             {"name": "Short", "retention_days": 30}), 201)
    tid, key = js["id"], js["api_key"]
    add_contacts(ff, key, [{"email": "ret@ev.test"}])
    day = 86400000
    now = int(time.time() * 1000)
    log = "{t:%s}:events" % tid
    for age, eid in ((40, "old"), (20, "recent")):
        redis.cmd("XADD", log, "%d-0" % (now - age * day), "e",
                  json.dumps({"id": eid, "type": "sent"}), "ty", "sent",
                  "c", "", "ca", "")
    must("opt-out", call(ff, "POST", "/v1/optouts", key,
                         {"email": "ret@ev.test"}))
    before = [e["id"] for e in feed_all(ff, key)[0]]
    rc, out, err = ff.ctl("janitor")
    after = [e["id"] for e in feed_all(ff, key)[0]]
    ok(rc == 0 and before[:2] == ["old", "recent"] and len(before) == 3
       and after == before[1:],
       "the janitor trims the event log by retention_days (40 days old: "
       "gone; 20 days and now: kept)", "%r -> %r %s" % (before, after,
                                                        out + err))


def test_second_node(ff, redis, relay, state):
    tid, key, ids, camp = (state[k] for k in ("tid", "key", "ids", "camp"))
    other = Fanfare(redis=redis, admin_key=ADMIN, secret=secret_of(ff),
                    node_id="events-second")
    before = feed_all(ff, key)[0]
    lease = redis.cmd("GET", "{t:%s}:events:lease" % tid)
    ok(lease == ff.directives["node_id"],
       "the first node holds the tenant's lease", repr(lease))
    ff.kill9()
    n = 5
    sts = [hit(other, "open", tid, camp, ids[1]) for _ in range(n)]
    ok(sts == [200] * n, "opens on the second node")
    t0 = time.monotonic()
    got = wait_for(lambda: len(feed_all(other, key)[0]) >= len(before) + n,
                   timeout=25)
    took = time.monotonic() - t0
    after = feed_all(other, key)[0]
    ok(got and len(after) == len(before) + n and
       after[:len(before)] == before and
       redis.cmd("GET", "{t:%s}:events:lease" % tid) == "events-second",
       "the second node takes the lease when it expires and copies the "
       "new opens, once each (%.1f s)" % took,
       "%d -> %d, lease %r, before kept: %s" % (
           len(before), len(after),
           redis.cmd("GET", "{t:%s}:events:lease" % tid),
           after[:len(before)] == before))
    other.stop()
    ff.start()
    state["items"] = after


def test_rcpt_bounce(ff, redis, relay, state):
    coded, plain, fine = "coded@rb.test", "plain@rb.test", "fine@rb.test"
    relay.fresh({"reject_rcpts": [coded], "reject_plain_rcpts": [plain]})
    tid, key, ids, camp, js = setup(ff, "RcptBounce", [coded, plain, fine])
    ok(js.get("status") == "done" and
       js.get("progress", {}).get("sent") == 1,
       "the campaign is done: 1 sent, 2 refused at RCPT", repr(js))
    refused = sorted((e.get("rcpt", "").lower(), e.get("refused"))
                     for e in relay.refused() if e.get("stage") == "rcpt")
    ok(refused == [(coded, 550), (plain, 550)],
       "the relay said 550 at RCPT to both", repr(refused))
    got = wait_for(lambda: (lambda it: it if len(
        [e for e in it if e["type"] == "bounced"]) == 2 else None)(
        feed_all(ff, key, types="bounced")[0]), timeout=15)
    items = got or feed_all(ff, key, types="bounced")[0]
    by = {e["email"]: e for e in items}
    ok(set(by) == {coded, plain} and
       all(e["kind"] == "hard" and e["campaign"] == camp for e in items),
       "two hard bounced events, of the refused two", json.dumps(items))
    ok(by.get(coded, {}).get("status") == "5.1.1",
       "550 5.1.1 at RCPT: the event's status is 5.1.1",
       json.dumps(by.get(coded)))
    ok(by.get(plain, {}).get("status") == "5.0.0",
       "550 with no enhanced code: the event's status is the class's "
       "5.0.0", json.dumps(by.get(plain)))


def main():
    redis = Redis()
    relay = Relay()
    bounce_port = free_port()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off", retry_schedule="1s",
                 retry_lifetime="1h", bounce_domain=BOUNCE_DOMAIN,
                 bounce_listen="127.0.0.1:%d" % bounce_port)
    ff.bounce_port = bounce_port
    ok(wait_for(lambda: can_connect(bounce_port), timeout=10),
       "the bounce listener is up")
    state = {}
    run(test_feed, ff, redis, relay, state)
    if state:
        run(test_paging_and_filters, ff, redis, relay, state)
        run(test_kill9, ff, redis, relay, state)
        run(test_isolation, ff, redis, relay, state)
        run(test_erasure, ff, redis, relay, state)
        run(test_bad_params, ff, redis, relay, state)
        run(test_retention, ff, redis, relay, state)
        run(test_second_node, ff, redis, relay, state)
    run(test_rcpt_bounce, ff, redis, relay, state)
    ff.stop()
    relay.close()
    done()


if __name__ == "__main__":
    main()
