#!/usr/bin/python3
"""
test_erasure.py: an erasure holds whatever is still in flight, leaves no
address in clear, and the export shows every message and bounce; a
tenant purged while it sends stays purged (issue 11, defects 1, 2, 3, 9).

1. Hits answered while Redis was away stay in a spool; fanfared is
   killed -9; the subject is erased (fanfarectl subject erase); a new
   fanfared on the same spool_dir replays them.  No per-person key,
   membership, record line or opt-out of the contact may come back, on
   the replaying node or from a late hit on another node sharing the
   Redis; the aggregate counters still count the hits.
2. After the erasure of a contact that bounced, no key of the tenant
   holds the address, nor does the AOF once rewritten; no spool segment
   on disk holds the contact's shipped events.
3. GET /v1/subjects after a real send to the SMTP sink (one recipient
   refused with 550) lists each message (campaign, time, outcome) and
   the bounce; the message records are trimmed by retention.
9. DELETE /v1/tenants then a purge while one of its campaigns is
   sending: no key of the tenant comes back once the messages in flight
   end, nor when its old mails are opened afterwards.

Runs on one Redis and, with FF_TEST_REDIS=cluster, on a Redis Cluster.
"""
import os
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, address_leaks,
                     call, contact_id_leaks, counters, diag, done,
                     dump_tenant, events, launch, must, new_campaign,
                     new_list, new_template, new_tenant, ok, run, tmpdir,
                     wait_done, wait_for)

ADMIN = "admin-" + "e" * 40
SECRET = b"erasure-test-secret-" + b"s" * 24
REC = 48                        # struct ff_event, fanfare.h


class DeadRedis:
    """A Redis that is not there: fanfared answers into its spool."""

    def __init__(self):
        self.sock = os.path.join(tmpdir("ff-dead-"), "none.sock")

    def endpoint(self):
        return "unix:%s" % self.sock


def spool_records(spool_dir):
    """(tenant, campaign, contact) of every record of every segment file
    under spool_dir."""
    out = []
    for root, _, files in os.walk(spool_dir):
        for f in files:
            if not f.endswith(".spool"):
                continue
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            for off in range(0, len(data) - REC + 1, REC):
                _, t, c, ct = struct.unpack_from("<QQQQ", data, off)
                out.append((t, c, ct))
    return out


def redis_dirs(redis):
    """[(data dir, cmd)] of every Redis process holding data."""
    if hasattr(redis, "nodes"):
        return [(n.dir, (lambda a: lambda *args: redis.cmd_at(a, *args))
                 (n.addr)) for n in redis.nodes if n.running()]
    return [(redis.dir, redis.cmd)]


def aof_holds(redis, needle):
    """Rewrites every AOF as plain commands (no RDB preamble, whose
    compression could hide a string) and returns the files holding
    needle."""
    nodes = redis_dirs(redis)
    for _, cmd in nodes:
        cmd("CONFIG", "SET", "aof-use-rdb-preamble", "no")
        cmd("BGREWRITEAOF")

    def rewritten():
        for _, cmd in nodes:
            info = cmd("INFO", "persistence")
            info = info.decode() if isinstance(info, bytes) else info
            if ("aof_rewrite_in_progress:0" not in info or
                    "aof_rewrite_scheduled:0" not in info):
                return False
        return True
    wait_for(rewritten, timeout=20, interval=0.1)
    time.sleep(0.3)             # the old increments are removed after
    hits = []
    for d, _ in nodes:
        for root, _, files in os.walk(d):
            for f in files:
                if ".aof" not in f:
                    continue
                p = os.path.join(root, f)
                with open(p, "rb") as fh:
                    if needle.lower().encode() in fh.read().lower():
                        hits.append(p)
    return hits


def setup_subjects(ff, tag):
    tid, key = new_tenant(ff, "Erasure " + tag)
    emails = ["%s-target@erase.test" % tag, "%s-other@erase.test" % tag]
    add_contacts(ff, key, [{"email": e} for e in emails])
    ids = [must("GET contact", call(ff, "GET", "/v1/contacts/%s" % e,
                                    key))["id"] for e in emails]
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "s", '<a href="https://e.example/x">x</a>',
                       "t {{unsubscribe_url}}")
    camp = new_campaign(ff, key, tpl, lid)
    return tid, key, emails, ids, camp


def hit(ff, kind, tid, camp, cid):
    path = ff.token(kind, int(tid), int(camp), int(cid))
    if kind == "unsubscribe":
        return ff.http("POST", path, headers={
            "Content-Type": "application/x-www-form-urlencoded"},
            body=b"List-Unsubscribe=One-Click")[0]
    return ff.http("GET", path)[0]


# ------------------------------------------------- 1. the spool replay

def test_spool_replay(redis, api):
    """api: a fanfared on the real Redis (another node for the spool's)."""
    tid, key, emails, ids, camp = setup_subjects(api, "replay")
    target, other = ids
    T, C = int(tid), int(camp)

    # A node whose Redis is away: its answers wait in its spool.
    spool_dir = os.path.join(tmpdir("ff-erasure-spool-"), "spool")
    away = Fanfare(redis=DeadRedis(), secret=SECRET, admin_key=ADMIN,
                   spool_dir=spool_dir, node_id="replayer", threads="1")
    sts = [hit(away, k, tid, camp, c) for c in (target, other)
           for k in ("open", "open", "unsubscribe")]
    ok(sts == [200] * 6, "Redis away: opens and opt-outs answered 200 "
       "(into the spool)", repr(sts))
    held = [r for r in spool_records(spool_dir) if r[0] == T]
    ok(len(held) == 6, "the six hits wait in the spool on disk",
       repr(held))
    away.kill9()

    rc, out, err = api.ctl("subject", "erase", "--tenant", tid, "--email",
                           emails[0])
    ok(rc == 0, "fanfarectl subject erase", out + err)

    # The same node again, now with Redis: it replays its spool.
    back = Fanfare(dir=away.dir, redis=redis, secret=SECRET,
                   admin_key=ADMIN, spool_dir=spool_dir,
                   node_id="replayer", threads="1")
    replayed = wait_for(lambda: str(other) in (redis.cmd(
        "SMEMBERS", "{t:%d:c:%d}:openers" % (T, C)) or []), timeout=20)
    ok(replayed, "the spool is replayed (the other contact's open "
       "arrives)")
    wait_for(lambda: counters(redis, T, C).get("opens", 0) >= 4,
             timeout=10)
    dump = dump_tenant(redis, tid)
    idleaks = contact_id_leaks(dump, str(target))
    ok(idleaks == [], "after the replay, no key, set or event line names "
       "the erased contact", repr(idleaks))
    leaks = address_leaks(dump, emails[0])
    ok(leaks == [], "after the replay, no key holds the erased address",
       repr(leaks[:5]))
    lines = events(redis, T, C)
    ok(any(l[2] == str(other) for l in lines) and
       not any(l[2] == str(target) for l in lines),
       "the events stream: the other contact's lines, none of the erased "
       "one's", repr(lines))
    c = counters(redis, T, C)
    ok(c.get("opens") == 4 and c.get("opens_unique") == 1 and
       c.get("unsubscribes") == 1,
       "the aggregates count the erased contact's hits (opens 4), the "
       "unique counts do not (opens_unique 1, unsubscribes 1)", repr(c))

    # A late hit of the erased contact, on another node sharing Redis
    # (its mail still shows the pixel): counted, not stored per person.
    for node in (api, back):
        ok(hit(node, "open", tid, camp, target) == 200 and
           hit(node, "unsubscribe", tid, camp, target) == 200,
           "a late open and opt-out of the erased contact: answered")
    wait_for(lambda: counters(redis, T, C).get("opens", 0) >= 6,
             timeout=10)
    time.sleep(0.5)             # the opt-outs ship in the same chunks
    dump = dump_tenant(redis, tid)
    idleaks = contact_id_leaks(dump, str(target))
    ok(counters(redis, T, C).get("opens") == 6 and idleaks == [],
       "late hits on two nodes: counted (opens 6), and still nothing names "
       "the erased contact", repr(idleaks))

    # Defect 2, the spool side: shipped events do not stay on disk.
    def spool_clean():
        return [r for d in (spool_dir, api.directives["spool_dir"])
                for r in spool_records(d) if r[0] == T and
                r[2] == int(target)]
    left = wait_for(lambda: spool_clean() == [], timeout=10)
    ok(left, "no spool segment on disk holds the erased contact's shipped "
       "events", repr(spool_clean()[:5]))
    back.stop()


# ---------------------------------------- 2 and 3. export, erasure, AOF

def test_export_and_erase(redis, ff, relay):
    refused = "bounce-me@erase.test"
    relay.fresh({"reject_rcpts": [refused]})
    tid, key = new_tenant(ff, "Export")
    fine = "reader@erase.test"
    add_contacts(ff, key, [{"email": fine}, {"email": refused}])
    lid = new_list(ff, key, [fine, refused])
    tpl = new_template(ff, key, "Hi", "<p>hi</p>", "hi")
    cids = []
    for n in range(2):
        cid = new_campaign(ff, key, tpl, lid)
        launch(ff, key, cid)
        js = wait_done(ff, key, cid, timeout=60)
        p = js.get("progress", {})
        # The second campaign suppresses the bounced address: no message.
        ok(js.get("status") == "done" and p.get("sent") == 1 and
           p.get("failed") == (1 if n == 0 else 0),
           "campaign %s sent: one delivered, %s" % (
               cid, "one refused (550)" if n == 0 else "one suppressed"),
           repr(js))
        cids.append(cid)

    st, js, raw = call(ff, "GET", "/v1/subjects/%s" % fine, key)
    msgs = (js or {}).get("messages", [])
    ok(st == 200 and sorted(m.get("campaign") for m in msgs) == sorted(cids)
       and all(m.get("outcome") == "sent" and
               m.get("time", "").endswith("Z") for m in msgs) and
       js.get("bounces") == [],
       "export: every message sent (campaign, time, outcome sent), no "
       "bounce", raw)
    st, js, raw = call(ff, "GET", "/v1/subjects/%s" % refused, key)
    msgs = (js or {}).get("messages", [])
    b = (js or {}).get("bounces", [])
    ok(st == 200 and [(m.get("campaign"), m.get("outcome")) for m in msgs]
       == [(cids[0], "bounced")] and len(b) == 1 and
       b[0].get("campaign") == cids[0] and b[0].get("time", "")[:4] ==
       time.strftime("%Y", time.gmtime()),
       "export of the refused address: its message (bounced) and its "
       "bounce", raw)

    rid = must("GET contact", call(ff, "GET", "/v1/contacts/%s" % refused,
                                   key))["id"]
    st, js, raw = call(ff, "DELETE", "/v1/subjects/%s" % refused, key)
    er = (js or {}).get("erased", {})
    ok(st == 200 and er.get("messages") == 1 and er.get("bounces") == 1,
       "erase: its message record and its bounce entry go", raw)
    dump = dump_tenant(redis, tid)
    leaks = address_leaks(dump, refused)
    ok(leaks == [], "after the erasure no key of the tenant holds the "
       "address in clear (bounces included)", repr(leaks[:5]))
    idleaks = [k for k, t, vals in dump if k.endswith(":msgs") and
               str(rid) in vals]
    ok(idleaks == [], "no message record names the contact", repr(idleaks))
    aof = aof_holds(redis, refused)
    ok(aof == [], "the rewritten AOF holds the address nowhere", repr(aof))
    # Suppression rests on the keyed hash: imported again, never mailed.
    add_contacts(ff, key, [{"email": refused}])
    st, js, raw = call(ff, "GET", "/v1/contacts/%s" % refused, key)
    ok(st == 200 and js.get("status") == "opted_out",
       "imported again: suppressed by the keyed hash alone", raw)
    st, js, raw = call(ff, "GET", "/v1/subjects/%s" % refused, key)
    ok(st == 200 and js.get("messages") == [] and js.get("bounces") == [],
       "the new contact's export: no message, no bounce", raw)

    # Retention: a campaign that finished longer than retention_days ago
    # loses its message records at the janitor's next run.
    redis.cmd("HSET", "{t:%s}:camp:%s" % (tid, cids[0]), "finished_at", 1000)
    rc, out, err = ff.ctl("janitor")
    st, js, raw = call(ff, "GET", "/v1/subjects/%s" % fine, key)
    ok(rc == 0 and '"messages_trimmed":1' in out.replace(" ", "") and
       [m.get("campaign") for m in (js or {}).get("messages", [])] ==
       [cids[1]] and redis.cmd("EXISTS", "{t:%s}:camp:%s:msgs"
                               % (tid, cids[0])) == 0,
       "janitor: the old campaign's message records are trimmed by "
       "retention, the recent one's kept", out + err + raw.decode())


# ------------------------------------------- 9. purge while sending

def test_purge_while_sending(redis, ff, relay):
    relay.fresh({"delay_ms": 400})
    tid, key = new_tenant(ff, "Purged")
    emails = ["p%02d@purge.test" % i for i in range(12)]
    add_contacts(ff, key, [{"email": e} for e in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Hi", "<p>hi</p>", "hi")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    camp = "{t:%s}:camp:%s" % (tid, cid)
    ok(wait_for(lambda: int(redis.hgetall(camp).get("sent", 0)) >= 1,
                timeout=20), "the campaign is sending (slow relay)")
    st, js, raw = call(ff, "DELETE", "/v1/tenants/%s" % tid, ADMIN)
    ok(st == 202, "DELETE tenant while it sends: 202", raw)
    redis.cmd("ZADD", "ff:purge", int(time.time() * 1000) - 1000, tid)
    rc, out, err = ff.ctl("janitor")
    ok(rc == 0 and '"tenants_purged":1' in out.replace(" ", ""),
       "the janitor purges it", out + err)
    # The messages in flight end; their outcomes must not write.
    time.sleep(3)
    left = [k for k, _, _ in dump_tenant(redis, tid)]
    ok(left == [], "after the purge no key of the tenant comes back (the "
       "outcomes of the messages in flight write nothing)", repr(left))
    # Its mails are still read: their hits are answered, not stored.
    sts = [hit(ff, k, tid, cid, 1) for k in ("open", "unsubscribe")]
    probe = must("tenant", call(ff, "POST", "/v1/tenants", ADMIN,
                                {"name": "probe"}), 201)["id"]
    hit(ff, "open", probe, 1, 1)
    wait_for(lambda: counters(redis, int(probe), 1).get("opens"),
             timeout=10)        # the chunk after the purged one shipped
    left = [k for k, _, _ in dump_tenant(redis, tid)]
    ok(sts == [200, 200] and left == [],
       "a purged tenant's late open and opt-out: answered, and no key "
       "recreated", repr((sts, left)))


def main():
    redis = Redis()
    relay = Relay()
    ff = Fanfare(redis=redis, secret=SECRET, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off", retry_schedule="1s",
                 retry_lifetime="1h", claim_idle="2s", threads="1")
    run(test_spool_replay, redis, ff)
    run(test_export_and_erase, redis, ff, relay)
    run(test_purge_while_sending, redis, ff, relay)
    ff.stop()
    relay.close()
    done()


if __name__ == "__main__":
    main()
