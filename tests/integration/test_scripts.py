#!/usr/bin/python3
"""
test_scripts.py: every Lua script of src/lua, run with EVAL on a real
redis-server against keys prepared by hand, and checked by its effects:
what it guarantees in its header comment (record.lua applies a chunk
once, optout.lua keeps the first time, the sender's checks suppress and
count once, the launch snapshot queues each contact once, ...).

Then the registry's NOSCRIPT fallback against a real fanfared: it caches
exactly the files' texts, and after SCRIPT FLUSH the tracker still
records hits and opt-outs, a campaign still launches and sends with
every outcome counted, and an erasure still erases.

The scripts are read from FF_TOP/src/lua (make check sets FF_TOP to the
source tree; a VPATH build keeps them there), else from beside this file.
"""
import hashlib
import json
import os
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, RedisError, Relay, add_contacts, call,
                     counters, done, launch, new_campaign, new_list,
                     new_template, new_tenant, ok, run, wait_done, wait_for,
                     HERE)

TOP = os.environ.get("FF_TOP") or os.path.dirname(os.path.dirname(HERE))
LUA = os.path.join(TOP, "src", "lua")
SCRIPTS = ["record", "optout", "send_check", "send_outcome", "send_retry",
           "send_finish", "launch", "launch_step", "launch_state", "erase",
           "bounce", "contact_write"]
SCRIPTS += ["sequence_enroll", "sequence_claim", "sequence_advance",
            "sequence_state"]
SCRIPTS += ["event_add", "event_lease"]
SCRIPTS += ["user_index"]
# schedules and A/B tests
SCRIPTS += ["schedule", "ab_release"]
SCRIPTS += ["webhook_outcome"]
ADMIN = "admin-" + "s" * 40


def text(name):
    with open(os.path.join(LUA, name + ".lua"), "rb") as f:
        return f.read()


def sha(name):
    return hashlib.sha1(text(name)).hexdigest()


def ev(redis, name, keys, args=()):
    return redis.cmd("EVAL", text(name), len(keys), *keys, *args)


def snapshot(redis, pattern):
    """Every key matching pattern with its whole value, to compare."""
    out = {}
    for k in sorted(redis.cmd("KEYS", pattern)):
        t = redis.cmd("TYPE", k)
        if t == "hash":
            out[k] = redis.hgetall(k)
        elif t == "set":
            out[k] = sorted(redis.cmd("SMEMBERS", k))
        elif t == "zset":
            out[k] = redis.cmd("ZRANGE", k, 0, -1, "WITHSCORES")
        elif t == "stream":
            out[k] = redis.cmd("XRANGE", k, "-", "+")
        else:
            out[k] = redis.cmd("GET", k)
    return out


# ------------------------------------------------------------- scripts

def test_files(redis):
    missing = [n for n in SCRIPTS
               if not os.path.exists(os.path.join(LUA, n + ".lua"))]
    ok(not missing, "src/lua holds the %d scripts" % len(SCRIPTS),
       "missing %r in %s" % (missing, LUA))
    for n in SCRIPTS:
        t = text(n).decode()
        head = t.split("\n\n", 1)[0]
        ok("KEYS" in head and "ARGV" in head and "Guarantees" in head,
           "%s.lua: a header with KEYS, ARGV and what it guarantees" % n,
           head)
        got = redis.cmd("SCRIPT", "LOAD", t)
        ok(got == sha(n), "%s.lua compiles; SCRIPT LOAD gives its SHA1" % n,
           repr(got))


def record_args(spool, pos, incr=(), opens=(), clicks=(), links=(),
                unsubs=(), ts=(), recs=None, hashes=None):
    """hashes: {contact: keyed hash} sent for the tombstone check (one
    key on the ring), or None: the store saw no tombstone."""
    a = [spool, pos, "0-0"]
    if hashes:
        a += [1, len(hashes)]
        for c, h in hashes.items():
            a += [c, h]
    else:
        a += [0, 0]
    a.append(len(incr))
    for f, d in incr:
        a += [f, d]
    for lst in (opens, clicks, links, unsubs):
        a += [len(lst)] + list(lst)
    a.append(len(ts))
    for f, d in ts:
        a += [f, d]
    if recs:
        a += [len(recs), "".join(r + "\n" for r in recs)]
    else:
        a.append(0)
    return a


def test_record(redis):
    tag = "{t:1:c:2}"
    keys = [tag + ":" + s for s in ("stats", "openers", "clickers",
                                    "link_clickers", "events", "applied",
                                    "unsubscribers", "ts", "erased")]
    pos1 = "%016x%016x" % (1, 0x100)
    args = record_args(
        "w0", pos1, incr=[("opens", 3), ("clicks", 1), ("link:1", 1)],
        opens=[11, 12], clicks=[11], links=["1:11"], ts=[("om:100", 3)],
        recs=["1000 o 11 0 -- -", "1001 o 12 0 -- -", "1002 o 11 0 -- -",
              "1003 c 11 1 -- -"])
    ok(ev(redis, "record", keys, args) == 1, "record: a chunk is applied")
    st = counters(redis, 1, 2)
    ok(st == {"opens": 3, "clicks": 1, "link:1": 1, "opens_unique": 2,
              "clicks_unique": 1, "link_unique:1": 1},
       "record: counters and unique counters", repr(st))
    ok(sorted(redis.cmd("SMEMBERS", keys[1])) == ["11", "12"] and
       redis.cmd("HGET", keys[7], "om:100") == "3",
       "record: openers set and time bucket")
    xs = redis.cmd("XRANGE", keys[4], "-", "+")
    ok(len(xs) == 1 and xs[0][1][:2] == ["n", "4"] and
       xs[0][1][3].count("\n") == 4, "record: one stream entry, 4 records",
       repr(xs))
    ok(redis.cmd("HGET", keys[5], "w0") == pos1,
       "record: applied holds the spool's position")

    before = snapshot(redis, tag + "*")
    ok(ev(redis, "record", keys, args) == 0 and
       snapshot(redis, tag + "*") == before,
       "record: the same chunk again returns 0 and changes nothing")
    older = record_args("w0", "%016x%016x" % (1, 0x80),
                        incr=[("opens", 1)], opens=[13])
    ok(ev(redis, "record", keys, older) == 0 and
       snapshot(redis, tag + "*") == before,
       "record: an earlier position changes nothing either")

    pos2 = "%016x%016x" % (2, 0x20)
    args2 = record_args("w0", pos2, incr=[("opens", 1)], opens=[12],
                        unsubs=[12])
    ok(ev(redis, "record", keys, args2) == 1, "record: the next chunk")
    st = counters(redis, 1, 2)
    ok(st["opens"] == 4 and st["opens_unique"] == 2 and
       st["unsubscribes"] == 1,
       "record: a known opener adds an open, no unique one; an "
       "unsubscribe counts", repr(st))
    args3 = record_args("w0", "%016x%016x" % (2, 0x40), unsubs=[12])
    ev(redis, "record", keys, args3)
    ok(counters(redis, 1, 2)["unsubscribes"] == 1,
       "record: the same contact's second unsubscribe is not counted")
    other = record_args("w1", "%016x%016x" % (0, 0x10), incr=[("opens", 1)])
    ok(ev(redis, "record", keys, other) == 1 and
       counters(redis, 1, 2)["opens"] == 5,
       "record: positions are per spool (another spool's low position "
       "applies)")

    # Erasure tombstones: contact 21's keyed hash is in erased.
    redis.cmd("SADD", keys[8], "h21")
    late = dict(incr=[("opens", 2), ("clicks", 1), ("link:1", 1)],
                opens=[21, 22], clicks=[21], links=["1:21"], unsubs=[21],
                recs=["2000 o 21 0 -- -", "2001 o 22 0 -- -",
                      "2002 c 21 1 -- -"])
    try:
        r = ev(redis, "record", keys, record_args(
            "w2", "%016x%016x" % (1, 0x10), **late))
    except RedisError as e:
        r = str(e)
    ok("TOMBSTONE" in repr(r) and redis.cmd("HGET", keys[5], "w2") is None,
       "record: tombstones but no hashes sent: refused, nothing applied "
       "(the store sends the chunk again)", repr(r))
    st0 = counters(redis, 1, 2)
    r = ev(redis, "record", keys, record_args(
        "w2", "%016x%016x" % (1, 0x10), hashes={21: "h21", 22: "h22"},
        **late))
    st = counters(redis, 1, 2)
    lines = [x for _, f in redis.cmd("XRANGE", keys[4], "-", "+")
             for x in f[3].split("\n") if x]
    ok(r == 1 and "21" not in redis.cmd("SMEMBERS", keys[1]) and
       "22" in redis.cmd("SMEMBERS", keys[1]) and
       "21" not in redis.cmd("SMEMBERS", keys[2]) and
       "1:21" not in redis.cmd("SMEMBERS", keys[3]) and
       "21" not in redis.cmd("SMEMBERS", keys[6]) and
       not any(x.split()[2] == "21" for x in lines) and
       any(x.split()[2] == "22" for x in lines),
       "record: an erased contact gets no set membership and no record "
       "line; the others do", repr(lines))
    ok(st["opens"] == st0["opens"] + 2 and st["clicks"] == st0["clicks"] + 1
       and st["opens_unique"] == st0["opens_unique"] + 1 and
       st.get("clicks_unique") == st0.get("clicks_unique") and
       st.get("unsubscribes") == st0.get("unsubscribes"),
       "record: its hits count in the totals, not in the unique counts",
       repr((st0, st)))


def test_optout(redis):
    keys = ["{t:1}:ct:5", "{t:1}:optout_ids", "{t:1}:optouts",
            "{t:1}:optouts:at", "{t:1}:suppressed"]
    redis.cmd("HSET", keys[0], "email", "A@x.test", "key", "a@x.test")
    ok(ev(redis, "optout", keys, [5, 1000]) == 1, "optout: returns 1")
    ok(redis.cmd("ZSCORE", keys[1], 5) == "1000" and
       redis.cmd("ZSCORE", keys[2], "a@x.test") == "0" and
       redis.cmd("HGET", keys[3], "a@x.test") == "1000",
       "optout: by contact id and by email key, with its time")
    ev(redis, "optout", keys, [5, 2000])
    ok(redis.cmd("ZSCORE", keys[1], 5) == "1000" and
       redis.cmd("HGET", keys[3], "a@x.test") == "1000",
       "optout: a replay keeps the first time")
    keys6 = ["{t:1}:ct:6"] + keys[1:]
    ev(redis, "optout", keys6, [6, 3000])
    ok(redis.cmd("ZSCORE", keys[1], 6) == "3000" and
       redis.cmd("ZCARD", keys[2]) == 1,
       "optout: an unknown contact is opted out by id only")
    redis.cmd("SADD", keys[4], "hash-of-7")
    keys7 = ["{t:1}:ct:7"] + keys[1:]
    ok(ev(redis, "optout", keys7, [7, 4000, "old-key-hash", "hash-of-7"])
       == 0 and redis.cmd("ZSCORE", keys[1], 7) is None,
       "optout: an erased contact (its keyed hash suppressed, under any "
       "key of the ring) is not written back")


SEND_KEYS = ["camp", "tenant", "camp:done", "optouts", "optout_ids",
             "blocklist", "bounces", "camp:retry", "complaints"]


def send_keys(t, c):
    out = []
    for k in SEND_KEYS:
        k = k.replace("camp", "camp:%d" % c)
        out.append("{t:%d}:%s" % (t, k))
    return out


def test_send_check(redis):
    t, c = 3, 9
    keys = send_keys(t, c)
    camp = keys[0]
    redis.cmd("HSET", camp, "status", "sending")
    redis.cmd("HSET", keys[1], "status", "active")
    people = {1: "ok@a.test", 3: "special@a.test", 4: "flag@a.test",
              5: "byid@a.test", 6: "bykey@a.test", 7: "bounced@a.test",
              8: "bad@a.test", 9: "x@bad.test", 10: "done@a.test",
              11: "retry@a.test"}
    for i, e in people.items():
        redis.cmd("HSET", "{t:%d}:ct:%d" % (t, i), "email", e, "key", e,
                  "first_name", "F%d" % i, "attributes", "{}")
    redis.cmd("HSET", "{t:%d}:ct:3" % t, "quarantined", "1")
    redis.cmd("HSET", "{t:%d}:ct:4" % t, "suppressed", "1")
    redis.cmd("ZADD", keys[4], 1, 5)
    redis.cmd("ZADD", keys[3], 0, "bykey@a.test")
    redis.cmd("ZADD", keys[6], 1, "bounced@a.test")
    redis.cmd("ZADD", keys[5], 0, "bad@a.test", 0, "@bad.test")
    redis.cmd("SETBIT", keys[2], 10, 1)
    redis.cmd("ZADD", keys[7], 1, 11)
    ids = list(range(1, 12))
    cts = ["{t:%d}:ct:%d" % (t, i) for i in ids]
    r = ev(redis, "send_check", keys + cts, ids)
    ok(r == ["ok", "1", "ok@a.test", "ok@a.test", "F1", "", "", "", "{}"],
       "send_check: only the one clean recipient comes back, with its "
       "fields", repr(r))
    h = redis.hgetall(camp)
    want = {"sup_erased": "1", "sup_special_category": "1",
            "sup_opted_out": "3", "sup_bounced": "1", "sup_blocklisted": "2"}
    ok({k: v for k, v in h.items() if k.startswith("sup_")} == want,
       "send_check: suppressed counted by reason (erased, special, 3 opted "
       "out, bounced, address and domain blocklisted)", repr(h))
    bits = [redis.cmd("GETBIT", keys[2], i) for i in ids]
    ok(bits == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
       "send_check: suppressed recipients are final (done bit); the one "
       "to send and the one waiting for a retry are not", repr(bits))
    r = ev(redis, "send_check", keys + cts, ids)
    h2 = redis.hgetall(camp)
    ok(r[:2] == ["ok", "1"] and len(r) == 9 and h2 == h,
       "send_check: again, nobody is counted twice", repr((r, h2)))
    # A complaint (bounce.lua) suppresses as complained, before opt-outs.
    redis.cmd("HSET", "{t:%d}:ct:12" % t, "email", "fbl@a.test", "key",
              "fbl@a.test")
    redis.cmd("ZADD", keys[8], 1, "fbl@a.test")
    redis.cmd("ZADD", keys[3], 0, "fbl@a.test")
    r = ev(redis, "send_check", keys + ["{t:%d}:ct:12" % t], [12])
    ok(r == ["ok"] and redis.cmd("HGET", camp, "sup_complained") == "1" and
       redis.cmd("HGET", camp, "sup_opted_out") == "3",
       "send_check: a complainer is suppressed as complained",
       repr((r, redis.hgetall(camp))))
    h = redis.hgetall(camp)
    redis.cmd("HSET", camp, "status", "paused")
    ok(ev(redis, "send_check", keys + cts, ids) == ["stop", "paused"],
       "send_check: a paused campaign stops the batch")
    redis.cmd("HSET", camp, "status", "sending")
    redis.cmd("HSET", keys[1], "status", "suspended")
    ok(ev(redis, "send_check", keys + cts, ids) == ["stop", "tenant"],
       "send_check: a tenant not active stops the batch")
    gone = send_keys(t, 99)
    ok(ev(redis, "send_check", gone + cts, ids) == ["stop", "gone"],
       "send_check: a campaign that does not exist stops the batch")


def test_send_outcome(redis):
    t, c = 4, 1
    camp, done_, retry, tries = ("{t:%d}:camp:%d%s" % (t, c, s) for s in
                                 ("", ":done", ":retry", ":tries"))
    bounces = "{t:%d}:bounces" % t
    tenant, msgs = "{t:%d}:tenant" % t, "{t:%d}:camp:%d:msgs" % (t, c)
    now = int(time.time() * 1000)
    redis.cmd("HSET", camp, "launched_at", now)
    redis.cmd("HSET", tenant, "status", "active")
    for i in range(1, 6):
        redis.cmd("HSET", "{t:%d}:ct:%d" % (t, i), "key", "k%d@a.test" % i,
                  "email", "K%d@a.test" % i)

    log = "{t:%d}:events" % t

    def out(i, o, life=3600000, sched=(1, 2), camp_key=camp):
        keys = [camp_key, done_, retry, tries, bounces, tenant,
                "{t:%d}:ct:%d" % (t, i), msgs, log]
        eid, partial = "", ""
        if o in ("s", "b"):
            eid = "%s:%d:%d" % ("sent" if o == "s" else "bounce", c, i)
            partial = '{"type":"%s"}' % ("sent" if o == "s" else "bounced")
        return ev(redis, "send_outcome", keys,
                  [i, o, "k%d@a.test" % i, now, life, eid, partial, c] +
                  list(sched))

    ok(out(1, "s") == 1 and redis.cmd("HGET", camp, "sent") == "1" and
       redis.cmd("GETBIT", done_, 1) == 1, "send_outcome: sent is final")
    ok(out(1, "s") == 0 and out(1, "b") == 0 and
       redis.cmd("HGET", camp, "sent") == "1" and
       redis.cmd("HGET", camp, "bounced") is None,
       "send_outcome: a final recipient's outcome is written once only")
    ok(out(2, "b") == 1 and redis.cmd("HGET", camp, "bounced") == "1" and
       redis.cmd("HGET", camp, "failed") == "1" and
       redis.cmd("ZSCORE", bounces, "k2@a.test") is not None,
       "send_outcome: a bounce counts bounced and failed, the address "
       "joins bounces")
    ok(out(3, "t") == 2 and redis.cmd("ZSCORE", retry, 3) == str(now + 1000)
       and redis.cmd("HGET", tries, 3) == "1" and
       redis.cmd("HGET", camp, "deferred") == "1",
       "send_outcome: try again: retry after schedule[0], one try")
    ok(out(3, "t") == 2 and redis.cmd("ZSCORE", retry, 3) == str(now + 2000)
       and redis.cmd("HGET", tries, 3) == "2",
       "send_outcome: the second try waits schedule[1]")
    ok(out(3, "t") == 1 and redis.cmd("GETBIT", done_, 3) == 1 and
       redis.cmd("HGET", camp, "failed") == "2" and
       redis.cmd("HGET", tries, 3) is None,
       "send_outcome: past the schedule, failed and final")
    ok(out(4, "r") == 2 and redis.cmd("HGET", tries, 4) is None,
       "send_outcome: a requeue is retried and not charged a try")
    ok(out(5, "t", life=0) == 1 and redis.cmd("GETBIT", done_, 5) == 1,
       "send_outcome: past the retry lifetime, failed")
    m = redis.hgetall(msgs)
    ok(m.get("1") == "%d sent" % now and m.get("2") == "%d bounced" % now
       and m.get("3") == "%d failed" % now and "4" not in m,
       "send_outcome: the message record holds each one's time and "
       "outcome (a requeue that never reached the relay: none)", repr(m))
    # An erased contact (no contact hash): counted, but nothing names it.
    sent = redis.cmd("HGET", camp, "bounced")
    ok(out(6, "b") == 1 and redis.cmd("HGET", camp, "bounced") ==
       str(int(sent) + 1) and redis.cmd("HGET", msgs, 6) is None and
       redis.cmd("ZSCORE", bounces, "k6@a.test") is None,
       "send_outcome: an erased contact's late bounce counts, but writes "
       "no message record and no address")
    evs = [(dict(zip(f[::2], f[1::2]))) for _, f in
           redis.cmd("XRANGE", "{t:%d}:events" % t, "-", "+")]
    got = [(e["ty"], e["c"], json.loads(e["e"])) for e in evs]
    ok([(ty, c_, js["id"], js["email"]) for ty, c_, js in got] ==
       [("sent", "1", "sent:1:1", "K1@a.test"),
        ("bounced", "2", "bounce:1:2", "K2@a.test")],
       "send_outcome: one event per final sent or bounced outcome, with "
       "its id and the contact's address; none for failures, retries, a "
       "repeated outcome or an erased contact", repr(got))
    # An A/B test's recipient: KEYS 10 (after the event log) is the
    # variant map, and its sent counts for its variant too.
    ab, ct9 = "{t:%d}:camp:%d:ab" % (t, c), "{t:%d}:ct:9" % t
    redis.cmd("HSET", ab, 9, 2)
    redis.cmd("HSET", ct9, "key", "k9@a.test", "email", "K9@a.test")
    ok(ev(redis, "send_outcome", [camp, done_, retry, tries, bounces,
                                  tenant, ct9, msgs, log, ab],
          [9, "s", "k9@a.test", now, 3600000, "sent:%d:9" % c,
           '{"type":"sent"}', c, 1, 2]) == 1 and
       redis.cmd("HGET", camp, "ab_sent:2") == "1" and
       redis.cmd("XLEN", log) == 3,
       "send_outcome: an A/B recipient's sent counts for its variant "
       "(KEYS 10), and its event is logged (KEYS 9)")
    # A purged campaign or tenant: nothing written, nothing recreated.
    gone = "{t:%d}:camp:77" % t
    ok(out(7, "s", camp_key=gone) == -1 and
       redis.cmd("EXISTS", gone) == 0 and
       redis.cmd("GETBIT", done_, 7) == 0,
       "send_outcome: a campaign that is gone: -1, nothing written")
    redis.cmd("DEL", tenant)
    before = redis.cmd("HGET", camp, "sent")
    ok(out(8, "s") == -1 and redis.cmd("HGET", camp, "sent") == before and
       redis.cmd("GETBIT", done_, 8) == 0,
       "send_outcome: a tenant that is gone (a purge deletes its record "
       "first): -1, nothing written")


def test_send_retry(redis):
    camp, retry, q = "{t:5}:camp:1", "{t:5}:camp:1:retry", "{t:5}:camp:1:q"
    now = int(time.time() * 1000)
    redis.cmd("HSET", camp, "status", "paused", "deferred", 3)
    redis.cmd("ZADD", retry, now - 10, 7, now - 5, 8, now + 60000, 9)
    ok(ev(redis, "send_retry", [camp, retry, q], [now]) == 0 and
       redis.cmd("ZCARD", retry) == 3,
       "send_retry: nothing moves unless the campaign is sending")
    redis.cmd("HSET", camp, "status", "sending")
    ok(ev(redis, "send_retry", [camp, retry, q], [now]) == 2,
       "send_retry: the two due ids are queued again")
    xs = redis.cmd("XRANGE", q, "-", "+")
    ok(len(xs) == 1 and xs[0][1] == ["ids", "7,8", "try", "1"] and
       redis.cmd("ZRANGE", retry, 0, -1) == ["9"] and
       redis.cmd("HGET", camp, "deferred") == "1",
       "send_retry: one entry (try 1), the later retry stays, deferred "
       "drops by 2", repr(xs))
    # local_time recipients: the due ones move, in entries of 100, once
    # no retry is due; the others stay.
    later, rest = "{t:5}:camp:1:later", "{t:5}:camp:1:ab_rest"
    redis.cmd("DEL", q)
    redis.cmd("ZADD", later, *[x for i in range(1, 251)
                               for x in (1000 + i, 10000 + i)])
    redis.cmd("ZADD", later, 9999999, 99)
    n = ev(redis, "send_retry", [camp, retry, q, later, rest], [2000])
    lens = [len(e[1][1].split(",")) for e in redis.cmd("XRANGE", q, "-", "+")]
    ok(n == 250 and lens == [100, 100, 50] and
       redis.cmd("ZRANGE", later, 0, -1) == ["99"] and
       all(e[1][3] == "0" for e in redis.cmd("XRANGE", q, "-", "+")),
       "send_retry: 250 due local_time recipients queued (try 0) in "
       "entries of 100, the one not due stays", repr((n, lens)))


def test_send_finish(redis):
    camp, q, retry = "{t:6}:camp:1", "{t:6}:camp:1:q", "{t:6}:camp:1:retry"
    keys = [camp, q, retry]

    def fin():
        return ev(redis, "send_finish", keys, [12345])

    redis.cmd("HSET", camp, "status", "sending", "snapshot", "0")
    redis.cmd("XGROUP", "CREATE", q, "senders", "0", "MKSTREAM")
    redis.cmd("XADD", q, "*", "ids", "1,2", "try", "0")
    ok(fin() == 0, "send_finish: not while the snapshot is incomplete")
    redis.cmd("HSET", camp, "snapshot", "1")
    redis.cmd("ZADD", retry, 1, 5)
    ok(fin() == 0, "send_finish: not while a retry waits")
    redis.cmd("DEL", retry)
    ok(fin() == 0, "send_finish: not while an entry is undelivered")
    r = redis.cmd("XREADGROUP", "GROUP", "senders", "n/0", "COUNT", 10,
                  "STREAMS", q, ">")
    ok(fin() == 0, "send_finish: not while an entry is pending")
    redis.cmd("XACK", q, "senders", r[0][1][0][0])
    ok(fin() == 1 and redis.cmd("HGET", camp, "status") == "done" and
       redis.cmd("HGET", camp, "finished_at") == "12345",
       "send_finish: all delivered and acked: done, finished_at")
    ok(fin() == 0, "send_finish: done once only")


def launch_keys(t, c, lid=1, tpl=1):
    camp = "{t:%d}:camp:%d" % (t, c)
    return [camp, "{t:%d}:tenant" % t, "{t:%d}:list:%d" % (t, lid),
            "{t:%d}:list:%d:members" % (t, lid), "{t:%d}:tpl:%d" % (t, tpl),
            camp + ":q", camp + ":queued"]


def run_id(redis):
    for line in redis.cmd("INFO", "server").splitlines():
        if line.startswith("run_id:"):
            return line.split(":", 1)[1].strip()
    return None


def test_launch(redis):
    t = 7
    keys = launch_keys(t, 1)
    ok(ev(redis, "launch", keys, [1000]) == ["gone"],
       "launch: a campaign that does not exist")
    redis.cmd("HSET", keys[0], "status", "draft")
    ok(ev(redis, "launch", keys, [1000]) == ["tenant"],
       "launch: not for a tenant that is not active")
    redis.cmd("HSET", keys[1], "status", "active")
    ok(ev(redis, "launch", keys, [1000]) == ["list"],
       "launch: not without its list")
    redis.cmd("HSET", keys[2], "name", "L")
    redis.cmd("SADD", keys[3], 1, 2, 3)
    ok(ev(redis, "launch", keys, [1000]) == ["template"],
       "launch: not without its template")
    redis.cmd("HSET", keys[4], "name", "T")
    redis.cmd("SETBIT", keys[6], 1, 1)     # left from nothing: cleared
    ok(ev(redis, "launch", keys, [1000]) == ["ok", 3], "launch: ok, total 3")
    h = redis.hgetall(keys[0])
    ok(h.get("status") == "sending" and h.get("launched_at") == "1000" and
       h.get("total") == "3" and h.get("queued") == "0" and
       h.get("snapshot") == "0" and h.get("scan_runid") == run_id(redis) and
       h.get("sent") == "0",
       "launch: status sending, counters zero, cursor tied to this "
       "Redis process", repr(h))
    groups = redis.cmd("XINFO", "GROUPS", keys[5])
    ok(redis.cmd("EXISTS", keys[6]) == 0 and len(groups) == 1 and
       groups[0][1] == "senders",
       "launch: empty queue with the group senders, no queued bitmap")
    ok(ev(redis, "launch", keys, [2000]) == ["state", "sending"],
       "launch: a second launch is refused")


def test_launch_step(redis):
    t = 8
    lk = launch_keys(t, 1)
    redis.cmd("HSET", lk[0], "status", "draft")
    redis.cmd("HSET", lk[1], "status", "active")
    redis.cmd("HSET", lk[2], "name", "L")
    redis.cmd("HSET", lk[4], "name", "T")
    ev(redis, "launch", lk, [1000])
    camp, q, queued = lk[0], lk[5], lk[6]
    scan = camp + ":scan"
    keys = [q, queued, camp, lk[1], scan]
    lease = ["nodeA", 60000]
    r = ev(redis, "launch_step", keys, ["17"] + lease + [1, 2, 3, 2])
    xs = redis.cmd("XRANGE", q, "-", "+")
    ttl = redis.cmd("PTTL", scan)
    ok(redis.cmd("GET", scan) == "nodeA" and 0 < ttl <= 60000,
       "launch_step: the lease names the node, for claim_idle", ttl)
    ok(r == ["next", 3] and len(xs) == 1 and
       xs[0][1] == ["ids", "1,2,3", "try", "0"] and
       redis.cmd("HGET", camp, "scan_cursor") == "17" and
       redis.cmd("HGET", camp, "queued") == "3",
       "launch_step: a page queued once (a duplicate in the page too), "
       "the cursor kept", repr((r, xs)))
    r = ev(redis, "launch_step", keys, ["17"] + lease + [3, 2, 1])
    ok(r == ["next", 0] and redis.cmd("XLEN", q) == 1,
       "launch_step: the same page again queues nobody", repr(r))
    page = list(range(100, 350))
    r = ev(redis, "launch_step", keys, ["0"] + lease + page)
    lens = [len(e[1][1].split(",")) for e in redis.cmd("XRANGE", q, "-", "+")]
    ok(r == ["done", 250] and lens == [3, 100, 100, 50] and
       redis.cmd("HGET", camp, "snapshot") == "1" and
       redis.cmd("HGET", camp, "queued") == "253",
       "launch_step: the last page: entries of at most 100, snapshot "
       "complete", repr((r, lens)))
    ok(redis.cmd("EXISTS", scan) == 0, "launch_step: then no lease")
    ok(ev(redis, "launch_step", keys, ["0"] + lease + [999]) ==
       ["complete", 0] and
       redis.cmd("GETBIT", queued, 999) == 0,
       "launch_step: after completion, nothing more")

    lk2 = launch_keys(t, 2)
    redis.cmd("HSET", lk2[0], "status", "paused", "snapshot", "0",
              "scan_cursor", "55", "scan_runid", "f" * 40)
    keys2 = [lk2[5], lk2[6], lk2[0], lk2[1], lk2[0] + ":scan"]
    r = ev(redis, "launch_step", keys2, ["60"] + lease + [5])
    h = redis.hgetall(lk2[0])
    ok(r == ["restart", 1] and h["scan_cursor"] == "0" and
       h["scan_runid"] == run_id(redis),
       "launch_step: another Redis process's cursor: restart from 0 "
       "(paused campaigns go on too)", repr((r, h)))
    redis.cmd("HSET", lk2[0], "status", "cancelled")
    ok(ev(redis, "launch_step", keys2, ["0"] + lease + [6]) == ["stop", 0]
       and redis.cmd("EXISTS", keys2[4]) == 0,
       "launch_step: a cancelled campaign stops the snapshot, and its "
       "lease goes")


def test_launch_state(redis):
    camp = "{t:9}:camp:1"
    keys = [camp, camp + ":q", camp + ":queued"]
    ok(ev(redis, "launch_state", keys, ["paused", "sending"]) == ["gone"],
       "launch_state: a campaign that does not exist")
    redis.cmd("HSET", camp, "status", "sending")
    redis.cmd("XADD", keys[1], "*", "ids", "1", "try", "0")
    redis.cmd("SETBIT", keys[2], 1, 1)
    ok(ev(redis, "launch_state", keys, ["paused", "sending"]) ==
       ["ok", "sending", "paused"] and
       redis.cmd("HGET", camp, "status") == "paused",
       "launch_state: pause a sending campaign")
    ok(ev(redis, "launch_state", keys, ["paused", "sending"]) ==
       ["state", "paused"], "launch_state: not from another state")
    ok(ev(redis, "launch_state", keys,
          ["cancelled", "draft", "sending", "paused"]) ==
       ["ok", "paused", "cancelled"]
       and redis.cmd("EXISTS", keys[1], keys[2]) == 0,
       "launch_state: cancel drops the queue and its bitmap")
    # A scheduled campaign paused before its launch resumes scheduled.
    camp2 = "{t:9}:camp:2"
    keys2 = [camp2, camp2 + ":q", camp2 + ":queued"]
    redis.cmd("HSET", camp2, "status", "scheduled", "send_at", 5000)
    ok(ev(redis, "launch_state", keys2, ["paused", "sending", "scheduled"])
       == ["ok", "scheduled", "paused"],
       "launch_state: pause a scheduled campaign")
    ok(ev(redis, "launch_state", keys2, ["sending", "paused"]) ==
       ["ok", "paused", "scheduled"] and
       redis.cmd("HGET", camp2, "status") == "scheduled",
       "launch_state: resumed before its launch, it is scheduled again")
    redis.cmd("HSET", camp2, "status", "paused", "launched_at", 4000)
    ok(ev(redis, "launch_state", keys2, ["sending", "paused"]) ==
       ["ok", "paused", "sending"],
       "launch_state: resumed after its launch, it is sending")
    keys5 = keys2 + [camp2 + ":later", camp2 + ":ab_rest"]
    redis.cmd("ZADD", keys5[3], 9000, 7)
    redis.cmd("RPUSH", keys5[4], "8,9")
    ok(ev(redis, "launch_state", keys5, ["cancelled", "sending"]) ==
       ["ok", "sending", "cancelled"] and
       redis.cmd("EXISTS", keys5[3], keys5[4]) == 0,
       "launch_state: cancel drops the recipients held for later and the "
       "A/B rest")


def test_schedule(redis):
    t = "{t:11}"
    camp, tenant = t + ":camp:1", t + ":tenant"
    lst, tpl = t + ":list:1", t + ":tpl:1"
    keys = [camp, tenant, lst, tpl]
    lk = [camp, tenant, lst, lst + ":members", tpl, camp + ":q",
          camp + ":queued"]
    ok(ev(redis, "schedule", keys, [1000]) == ["gone"],
       "schedule: a campaign that does not exist")
    redis.cmd("HSET", camp, "status", "draft", "send_at", 5000)
    redis.cmd("HSET", tenant, "status", "active")
    ok(ev(redis, "schedule", keys, [1000]) == ["list"],
       "schedule: its list must exist")
    redis.cmd("HSET", lst, "name", "L")
    redis.cmd("SADD", lst + ":members", 1, 2)
    redis.cmd("HSET", tpl, "name", "T")
    ok(ev(redis, "schedule", keys, [6000]) == ["due"] and
       redis.cmd("HGET", camp, "status") == "draft",
       "schedule: send_at passed: due (launch now), still a draft")
    ok(ev(redis, "schedule", keys, [1000]) == ["ok"] and
       redis.cmd("HGET", camp, "status") == "scheduled" and
       redis.cmd("EXISTS", camp + ":q") == 0,
       "schedule: a draft becomes scheduled, nothing queued")
    ok(ev(redis, "schedule", keys, [1000]) == ["state", "scheduled"],
       "schedule: only a draft")
    ok(ev(redis, "launch", lk, [1000]) == ["state", "scheduled"],
       "launch: a scheduled campaign is no draft")
    ok(ev(redis, "launch", lk, [4999, "scheduled"]) == ["early"] and
       redis.cmd("HGET", camp, "status") == "scheduled",
       "launch from scheduled: never before send_at")
    ok(ev(redis, "launch", lk, [5000, "scheduled"]) == ["ok", 2] and
       redis.cmd("HGET", camp, "status") == "sending",
       "launch from scheduled at send_at: sending")
    ok(ev(redis, "launch", lk, [5001, "scheduled"]) == ["state", "sending"],
       "launch from scheduled: once (a second node finds it sending)")
    # A campaign with a segment of every contact (no list, KEYS name
    # list 0): scheduled, then launched from scheduled with the segment
    # frozen at send_at.
    camp2, lst0 = t + ":camp:2", t + ":list:0"
    keys2 = [camp2, tenant, lst0, tpl]
    lk2 = [camp2, tenant, lst0, lst0 + ":members", tpl, camp2 + ":q",
           camp2 + ":queued"]
    redis.cmd("HSET", camp2, "status", "draft", "send_at", 5000)
    ok(ev(redis, "schedule", keys2, [1000]) == ["list"],
       "schedule: without \"none\", its list must exist")
    ok(ev(redis, "schedule", keys2, [1000, "none"]) == ["ok"] and
       redis.cmd("HGET", camp2, "status") == "scheduled",
       "schedule: a segment campaign needs no list")
    seg = '{"match":"all","rules":[],"name":"s"}'
    ok(ev(redis, "launch", lk2, [4999, "scheduled", "none", seg]) ==
       ["early"] and redis.cmd("HEXISTS", camp2, "segment_def") == 0,
       "launch from scheduled with a segment: not before send_at, "
       "nothing frozen")
    ok(ev(redis, "launch", lk2, [5000, "scheduled", "none", seg]) ==
       ["ok", 0] and redis.cmd("HGET", camp2, "segment_def") == seg and
       redis.cmd("HGET", camp2, "status") == "sending",
       "launch from scheduled with a segment: its definition frozen")


def test_erase(redis):
    tag = "{t:10:c:1}"
    keys = [tag + ":" + s for s in ("events", "openers", "clickers",
                                    "unsubscribers", "link_clickers",
                                    "erased")]
    redis.cmd("XADD", keys[0], "1-1", "n", 2,
              "e", "100 o 5 0 -- -\n101 o 6 0 -- -\n")
    redis.cmd("XADD", keys[0], "2-1", "n", 1, "e", "102 c 5 1 -- -\n")
    redis.cmd("XADD", keys[0], "3-1", "n", 1, "e", "103 o 55 0 -- -\n")
    redis.cmd("SADD", keys[1], 5, 6)
    redis.cmd("SADD", keys[2], 5)
    redis.cmd("SADD", keys[3], 5)
    redis.cmd("SADD", keys[4], "1:5", "1:6", "2:5", "1:55")
    r = ev(redis, "erase", keys, [5, "hash-of-5"])
    ok(r == [2, 5], "erase: 2 events and 5 memberships removed", repr(r))
    ok(redis.cmd("SMEMBERS", keys[5]) == ["hash-of-5"],
       "erase: the tombstone (the contact's keyed hash) is set")
    xs = redis.cmd("XRANGE", keys[0], "-", "+")
    ok(xs == [["1-1", ["n", "1", "e", "-\n101 o 6 0 -- -\n"]],
              ["3-1", ["n", "1", "e", "103 o 55 0 -- -\n"]]],
       "erase: the stream keeps the others' lines, at their line numbers "
       "(a removed line is '-'), and entry ids; an emptied entry goes "
       "(contact 55 is not 5)", repr(xs))
    ok(sorted(redis.cmd("SMEMBERS", keys[4])) == ["1:55", "1:6"] and
       redis.cmd("SMEMBERS", keys[1]) == ["6"],
       "erase: the contact leaves every unique set, nobody else does")
    ok(ev(redis, "erase", keys, [5, "hash-of-5"]) == [0, 0],
       "erase: again finds nothing")


def test_event_add(redis):
    t, c = 906, 3
    log, pumped = "{t:%d}:events" % t, "{t:%d}:events:pumped" % t
    ct = ["{t:%d}:ct:%d" % (t, i) for i in (1, 2)]
    redis.cmd("HSET", ct[0], "email", 'a"1@a.test')

    tenant = "{t:%d}:tenant" % t

    def add(mark, evs, camp=c):
        keys = [log, pumped, tenant] + [x[1] and "{t:%d}:ct:%s" % (t, x[1])
                                        or log for x in evs]
        args = ["" if camp is None else camp, mark, len(evs)]
        for eid, contact, ty in evs:
            args += [eid, contact, c, ty, '{"type":"%s","x":1}' % ty]
        return ev(redis, "event_add", keys, args)

    ok(add("5-0", [("a", "1", "opened")]) == 0 and
       redis.cmd("EXISTS", log) == 0 and redis.cmd("EXISTS", pumped) == 0,
       "event_add: a tenant that is gone (purged): nothing written")
    redis.cmd("HSET", tenant, "status", "active")
    ok(add("5-0", [("a", "1", "opened"), ("b", "2", "clicked")]) == 1,
       "event_add: a contact that is not there (erased) gets no event")
    ok(add("5-0", [("a", "1", "opened")]) == 0 and
       add("4-9", [("a", "1", "opened")]) == 0,
       "event_add: a batch at or below the mark adds nothing (a copy "
       "made again)")
    ok(add("10-0", [("c", "1", "opened")]) == 1 and
       redis.cmd("HGET", pumped, c) == "10-0",
       "event_add: past the mark it adds and moves the mark")
    ok(add("", [("d", "", "subscribed")], camp=None) == 1,
       "event_add: a producer's event (no mark), with no contact")
    es = [dict(zip(f[::2], f[1::2])) for _, f in
          redis.cmd("XRANGE", log, "-", "+")]
    js = [json.loads(e["e"]) for e in es]
    ok([(j["id"], j["email"], j["type"], j["x"]) for j in js] ==
       [("a", 'a"1@a.test', "opened", 1), ("c", 'a"1@a.test', "opened", 1),
        ("d", None, "subscribed", 1)] and
       [e["c"] for e in es] == ["1", "1", ""],
       "event_add: each entry's e is the whole JSON event (id and "
       "address, escaped, in front), c the contact", repr(es))

    # The pump's step: a reference to record entries, by the same mark.
    def ref(first, mark, nrec, nent=2):
        return ev(redis, "event_add", [log, pumped, tenant],
                  [c, mark, 0, first, nrec, nent])
    n0 = redis.cmd("XLEN", log)
    ok(ref("11-0", "12-0", 7) == 1 and redis.cmd("HGET", pumped, c) ==
       "12-0", "event_add: the pump's step adds a reference, moves the "
       "mark")
    last = redis.cmd("XRANGE", log, "-", "+")[-1][1]
    ok(last == ["r", str(c), "a", "11-0", "b", "12-0", "n", "7", "m", "2"],
       "event_add: the reference names the campaign, its first and last "
       "record entries, their record and entry counts", repr(last))
    ok(ref("11-0", "12-0", 7) == 0 and ref("12-1", "12-0", 3) == 0 and
       redis.cmd("XLEN", log) == n0 + 1,
       "event_add: the same step again (at or below the mark) adds "
       "nothing")
    ok(ref("13-0", "14-0", 0) == 0 and redis.cmd("HGET", pumped, c) ==
       "14-0" and redis.cmd("XLEN", log) == n0 + 1,
       "event_add: entries with no record move the mark, add no entry")


def test_event_lease(redis):
    t = 907
    lease, tenant = "{t:%d}:events:lease" % t, "{t:%d}:tenant" % t

    def take(node, ttl=10000):
        return ev(redis, "event_lease", [lease, tenant], [node, ttl])

    ok(take("a") == 0 and redis.cmd("EXISTS", lease) == 0,
       "event_lease: no lease on a tenant that is gone")
    redis.cmd("HSET", tenant, "status", "active")
    ok(take("a") == 1 and take("b") == 0 and take("a") == 1 and
       redis.cmd("GET", lease) == "a",
       "event_lease: one holder; it renews, another node is refused")
    ok(take("a", 50) == 1 and wait_for(lambda: take("b") == 1, timeout=5)
       and take("a") == 0,
       "event_lease: once it expires the next node takes it")


def test_webhook_outcome(redis):
    t, wid = 908, 3
    whs = "{t:%d}:webhooks" % t
    state, log = "{t:%d}:wh:%d:state" % (t, wid), "{t:%d}:wh:%d:log" % (t, wid)
    fields = ["attempts", "2", "delivery", "3-9-0", "last_code", "200"]

    def out(cursor, line, delivery="3-9-0"):
        return ev(redis, "webhook_outcome", [whs, state, log],
                  [wid, cursor, line, 1000, "", delivery] + fields)

    ok(out("9-0", '{"id":"3-9-0"}') == 0 and
       redis.cmd("EXISTS", state, log) == 0,
       "webhook_outcome: an endpoint deleted meanwhile gets no key back")
    redis.cmd("HSET", whs, wid, "{}")
    ok(out("9-0", '{"id":"3-9-0"}') == 1 and
       redis.cmd("HGET", state, "cursor") == "9-0" and
       redis.cmd("HGET", state, "attempts") == "2" and
       redis.cmd("XLEN", log) == 1,
       "webhook_outcome: the cursor, the state and the log line in one step")
    ok(out("", '{"id":"3-9-0","n":2}') == 1 and
       redis.cmd("HGET", state, "cursor") == "9-0" and
       [e[1] for e in redis.cmd("XRANGE", log, "-", "+")] ==
       [["d", '{"id":"3-9-0","n":2}']],
       "webhook_outcome: a failed attempt leaves the cursor where it was; "
       "an attempt at the same delivery replaces its log line")
    fields[3] = "3-10-0"
    ok(out("", '{"id":"3-10-0"}', delivery="3-10-0") == 1 and
       redis.cmd("XLEN", log) == 2,
       "webhook_outcome: another delivery gets a line of its own")


def test_contact_write(redis):
    bykey, sup = "{t:11}:ct:bykey", "{t:11}:suppressed"

    def ct(cid):
        return "{t:11}:ct:%d" % cid

    def write(rows, nhash=1):
        """rows: (mode, id, key, hashes, fields); the answers per row."""
        keys, args = [bykey, sup], [nhash]
        for mode, cid, key, hashes, fields in rows:
            keys.append(ct(cid))
            f = ["email", key, "key", key] + list(fields)
            args += [mode, key, cid] + list(hashes) + [len(f)] + f
        return ev(redis, "contact_write", keys, args)

    ok(write([("new", 1, "a@x.test", ["h-a"], ("first_name", "A")),
              ("new", 3, "c@x.test", ["h-c"], ())]) == [1, 1] and
       redis.hgetall(ct(1)).get("first_name") == "A" and
       redis.cmd("HGET", bykey, "a@x.test") == "1" and
       redis.cmd("HGET", bykey, "c@x.test") == "3" and
       redis.cmd("HGET", ct(1), "suppressed") is None,
       "contact_write: new rows are stored and indexed, several a call")
    ok(write([("old", 1, "a@x.test", [], ("first_name", "B"))], 0) == [1]
       and redis.cmd("HGET", ct(1), "first_name") == "B",
       "contact_write: an old row that still exists is updated")
    # Erased between the upsert's read and its write.
    redis.cmd("DEL", ct(1))
    redis.cmd("HDEL", bykey, "a@x.test")
    redis.cmd("SADD", sup, "h-a")
    ok(write([("old", 1, "a@x.test", ["h-a"], ()),
              ("old", 3, "c@x.test", ["h-c"], ("first_name", "C"))]) ==
       [0, 1] and redis.cmd("EXISTS", ct(1)) == 0 and
       redis.cmd("HGET", ct(3), "first_name") == "C",
       "contact_write: an old contact erased meanwhile is not recreated "
       "(no address in clear off every index); the next row is stored")
    ok(write([("new", 2, "a@x.test", ["h-old-key", "h-a"], ())], 2) ==
       [1] and redis.cmd("HGET", ct(2), "suppressed") == "1",
       "contact_write: a new contact whose address was erased meanwhile "
       "is stored suppressed (its keyed hash, under any key of the ring)")


# ------------------------------------------- NOSCRIPT with fanfared

def hits_counted(redis, t, c, n):
    return wait_for(lambda: counters(redis, t, c).get("opens", 0) >= n,
                    timeout=10)


def test_sequence_scripts(redis):
    """Claim, crash, claim again, advance twice: each step queued once."""
    t, s, c = 8, 1, 5
    seq, ten = "{t:%d}:sequence:%d" % (t, s), "{t:%d}:tenant" % t
    enr, due, fl = seq + ":enrolled", seq + ":due", seq + ":flight"
    camp = "{t:%d}:camp:%d" % (t, c)
    sup = ["{t:%d}:optouts" % t, "{t:%d}:optout_ids" % t,
           "{t:%d}:bounces" % t, "{t:%d}:complaints" % t]
    redis.cmd("HSET", ten, "status", "active")
    redis.cmd("HSET", seq, "status", "draft", "step:0:delay", 1000)
    for i in (1, 2, 3):
        redis.cmd("HSET", "{t:%d}:ct:%d" % (t, i), "email", "c%d@x.test" % i,
                  "key", "c%d@x.test" % i)
    redis.cmd("ZADD", "{t:%d}:optouts" % t, 0, "c3@x.test")
    cts = ["{t:%d}:ct:%d" % (t, i) for i in (1, 2, 3, 4)]
    got = ev(redis, "sequence_enroll", [seq, enr, due] + sup + cts,
             [5000, 1, 2, 3, 4])
    ok(got == ["ok", "", "", "opted_out", "not_found"] and
       redis.cmd("ZRANGE", due, 0, -1, "WITHSCORES") == ["1", "6000", "2",
                                                         "6000"],
       "sequence_enroll: enrolled due at now + delay; reasons for others",
       repr(got))
    again = ev(redis, "sequence_enroll", [seq, enr, due] + sup + cts[:1],
               [5000, 1])
    ok(again == ["ok", "already_enrolled"], "sequence_enroll: once",
       repr(again))
    ck = [seq, ten, enr, due, fl]
    ok(ev(redis, "sequence_claim", ck, [7000, 10, 2000]) == ["stop"],
       "sequence_claim: nothing from a draft")
    redis.cmd("HSET", seq, "status", "active")
    ok(ev(redis, "sequence_claim", ck, [5999, 10, 2000]) == ["ok"],
       "sequence_claim: nothing before its time")
    got = ev(redis, "sequence_claim", ck, [7000, 1, 2000])
    ok(got == ["ok", "1", "0"] and redis.cmd("ZSCORE", fl, 1) == "9000",
       "sequence_claim: LIMIT, into flight with its lease", repr(got))
    got = ev(redis, "sequence_claim", ck, [7001, 10, 2000])
    ok(got == ["ok", "2", "0"], "sequence_claim: a held one is not claimed "
       "twice", repr(got))
    # The holder of 1 "dies": after its lease anyone claims it again.
    got = ev(redis, "sequence_claim", ck, [9000, 10, 2000])
    ok(got == ["ok", "1", "0"], "sequence_claim: after the lease, again",
       repr(got))
    redis.cmd("XGROUP", "CREATE", camp + ":q", "senders", "0", "MKSTREAM")
    ak = [seq, enr, due, fl, camp, camp + ":q", camp + ":queued"] + sup
    adv = lambda ids, now=9500: ev(redis, "sequence_advance", ak + [
        "{t:%d}:ct:%d" % (t, i) for i in ids], [now, 0, 3000] +
        [x for i in ids for x in (i, 1)])
    ok(adv([1, 2]) == [2, 0, 0, 0] and redis.cmd("XLEN", camp + ":q") == 1
       and redis.cmd("HGET", camp, "queued") == "2" and
       redis.cmd("HGETALL", enr) == ["1", "1", "2", "1"] and
       redis.cmd("ZRANGE", due, 0, -1, "WITHSCORES") == ["1", "12500",
                                                         "2", "12500"],
       "sequence_advance: queued once, next step due at now + delay",
       repr(redis.cmd("HGETALL", enr)))
    ok(adv([1, 2]) == [0, 0, 0, 0] and redis.cmd("XLEN", camp + ":q") == 1,
       "sequence_advance: a repeat (two holders) queues nothing")
    # At step 1 (the last): 1's condition failed (skipped, completes), 2
    # opted out meanwhile (exits, nothing queued though its "send").
    redis.cmd("ZADD", "{t:%d}:optouts" % t, 0, "c2@x.test")
    ev(redis, "sequence_claim", ck, [12500, 10, 2000])
    got = ev(redis, "sequence_advance", ak + cts[:2],
             [12600, 1, -1, 1, 0, 2, 1])
    ok(got == [0, 1, 1, 1] and redis.cmd("HGET", enr, 2) == "x" and
       redis.cmd("HGET", enr, 1) == "c" and
       redis.cmd("HMGET", seq, "active", "completed", "exited",
                 "step:1:skipped") == ["0", "1", "1", "1"],
       "sequence_advance: an opted-out contact exits, a skipped last "
       "step completes", repr(got))


def test_noscript_tracking(ff, redis):
    t, c = 21, 1
    st, _, _ = ff.http("GET", ff.token("open", t, c, 501))
    ok(st == 200 and hits_counted(redis, t, c, 1),
       "fanfared records a pixel hit", repr(counters(redis, t, c)))
    exists = redis.cmd("SCRIPT", "EXISTS", sha("record"))
    ok(exists == [1], "the script Redis ran is record.lua byte for byte "
       "(its SHA1 is cached)", repr(exists))
    redis.cmd("SCRIPT", "FLUSH")
    for contact in (502, 503):
        ff.http("GET", ff.token("open", t, c, contact))
    ok(hits_counted(redis, t, c, 3) and
       counters(redis, t, c).get("opens_unique") == 3,
       "after SCRIPT FLUSH, fanfared still records hits",
       repr(counters(redis, t, c)))
    redis.cmd("SCRIPT", "FLUSH")
    p = ff.token("unsubscribe", t, c, 504)
    st, _, _ = ff.http("POST", p, headers={
        "Content-Type": "application/x-www-form-urlencoded"},
        body=b"List-Unsubscribe=One-Click")
    ok(st == 200 and wait_for(lambda: redis.cmd(
        "ZSCORE", "{t:%d}:optout_ids" % t, 504), timeout=10),
       "after SCRIPT FLUSH, a one-click opt-out is still recorded")
    ok(wait_for(lambda: redis.cmd("SCRIPT", "EXISTS", sha("record"),
                                  sha("optout")) == [1, 1]),
       "both tracking scripts are cached again")


def send_campaign(ff, relay, key, tag, n):
    emails = ["%s-%02d@scripts.test" % (tag, i) for i in range(n)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails, name=tag)
    tpl = new_template(ff, key, "Hi", "<p>hi</p>", "hi")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=60)
    got = [r for r in relay.by_rcpt() if r.startswith(tag + "-")]
    return js, sorted(got) == sorted(emails), cid


def test_noscript_delivery(ff, relay, redis):
    tid, key = new_tenant(ff, "Scripts")
    n = 6
    js, all_got, _ = send_campaign(ff, relay, key, "first", n)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == n and all_got,
       "a campaign sends (%d messages)" % n, repr(js))
    names = ["send_check", "send_outcome", "send_finish", "launch",
             "launch_step"]
    ex = redis.cmd("SCRIPT", "EXISTS", *[sha(x) for x in names])
    ok(ex == [1] * len(names), "the sender and launch scripts Redis ran "
       "are the files' texts", repr(dict(zip(names, ex))))
    # The senders check with EVALSHA, fall back to EVAL, then pipeline
    # the outcomes with EVALSHA of a script Redis no longer holds: each
    # must be written again, not lost.
    redis.cmd("SCRIPT", "FLUSH")
    js, all_got, cid = send_campaign(ff, relay, key, "second", n)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == n and
       p.get("failed") == 0 and all_got,
       "after SCRIPT FLUSH, a campaign launches and sends, every outcome "
       "counted", repr(js))
    final = redis.cmd("BITCOUNT", "{t:%s}:camp:%s:done" % (tid, cid))
    ok(final == n, "after SCRIPT FLUSH, every recipient is final "
       "(done bit)", "%r done bits" % final)
    redis.cmd("SCRIPT", "FLUSH")
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/cancel" % cid, key)
    ok(st == 409, "after SCRIPT FLUSH, launch_state.lua answers (a done "
       "campaign cannot be cancelled: 409)", raw)

    # Erasure: the subject's events leave the campaign's stream.
    who = "second-00@scripts.test"
    contact = call(ff, "GET", "/v1/contacts/%s" % who, key)[1]["id"]
    ff.http("GET", ff.token("open", int(tid), int(cid), int(contact)))
    ev_key = "{t:%s:c:%s}:events" % (tid, cid)
    wait_for(lambda: redis.cmd("XLEN", ev_key), timeout=10)
    redis.cmd("SCRIPT", "FLUSH")
    st, js, raw = call(ff, "DELETE", "/v1/subjects/%s" % who, key)
    er = (js or {}).get("erased", {})
    ok(st == 200 and er.get("events") == 1 and
       redis.cmd("XLEN", ev_key) == 0,
       "after SCRIPT FLUSH, an erasure still runs erase.lua", raw)
    ok(redis.cmd("SCRIPT", "EXISTS", sha("erase")) == [1],
       "erase.lua is cached now: the next erasure goes by EVALSHA")


def test_launch_segment(redis):
    """launch.lua and launch_step.lua for a campaign with a segment: no
    list needed, the definition frozen, total set at the snapshot's end."""
    t = 91
    lk = launch_keys(t, 1, lid=0)
    redis.cmd("HSET", lk[0], "status", "draft")
    redis.cmd("HSET", lk[1], "status", "active")
    redis.cmd("HSET", lk[4], "name", "T")
    seg = '{"match":"all","rules":[],"name":"s"}'
    ok(ev(redis, "launch", lk, [1000, "draft", "none", seg]) == ["ok", 0],
       "launch: a segment campaign needs no list; total 0 until known")
    camp, q, queued = lk[0], lk[5], lk[6]
    ok(redis.cmd("HGET", camp, "segment_def") == seg,
       "launch: the segment's definition frozen into the record")
    keys = [q, queued, camp, lk[1], camp + ":scan"]
    lease = ["nodeA", 60000]
    ok(ev(redis, "launch_step", keys, ["5"] + lease + [4, 9]) ==
       ["next", 2] and redis.cmd("HGET", camp, "total") == "0",
       "launch_step: the matching ids of a page queued")
    ok(ev(redis, "launch_step", keys, ["0"] + lease + [9, 12]) ==
       ["done", 1] and redis.cmd("HGET", camp, "total") == "3",
       "launch_step: the last page sets total to the ids queued")
    lk2 = launch_keys(t, 2, lid=0)
    redis.cmd("HSET", lk2[0], "status", "draft", "segment_def", "stale")
    ok(ev(redis, "launch", lk2, [1000]) == ["list"] and
       redis.cmd("HGET", lk2[0], "status") == "draft",
       "launch: without a segment, still not without its list")
def test_user_index(redis):
    idx = "{users}:byemail"
    ok(ev(redis, "user_index", [idx], ["a@x.test", "", "1:1"]) == 1 and
       redis.cmd("HGET", idx, "a@x.test") == "1:1",
       "user_index: a free email is claimed")
    ok(ev(redis, "user_index", [idx], ["a@x.test", "", "2:5"]) == 0 and
       redis.cmd("HGET", idx, "a@x.test") == "1:1",
       "user_index: a taken email is not claimed again")
    ok(ev(redis, "user_index", [idx], ["a@x.test", "1:1", "2:5"]) == 1 and
       redis.cmd("HGET", idx, "a@x.test") == "2:5",
       "user_index: a stale claim is taken over from the value read")
    ok(ev(redis, "user_index", [idx], ["a@x.test", "1:1", ""]) == 0 and
       redis.cmd("HGET", idx, "a@x.test") == "2:5",
       "user_index: a delete of the old user leaves the new one's entry")
    ok(ev(redis, "user_index", [idx], ["a@x.test", "2:5", ""]) == 1 and
       redis.cmd("HGET", idx, "a@x.test") is None,
       "user_index: the user's own delete removes it")


def main():
    redis = Redis()
    run(test_files, redis)
    run(test_launch_segment, redis)
    run(test_event_add, redis)
    run(test_event_lease, redis)
    run(test_webhook_outcome, redis)
    for fn in (test_record, test_optout, test_send_check, test_send_outcome,
               test_send_retry, test_send_finish, test_launch,
               test_launch_step, test_launch_state, test_erase,
               test_contact_write, test_user_index, test_schedule):
        run(fn, redis)
    run(test_sequence_scripts, redis)
    redis.stop()

    redis = Redis()
    relay = Relay().fresh()
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders="1",
                 smtp_relay="127.0.0.1:%d" % relay.port, smtp_starttls="off")
    run(test_noscript_tracking, ff, redis)
    run(test_noscript_delivery, ff, relay, redis)
    ff.stop()
    relay.close()
    done()


if __name__ == "__main__":
    main()
