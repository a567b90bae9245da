#!/usr/bin/python3
"""
test_rcluster.py: rcluster.RedisCluster, the real Redis Cluster the
cluster tests stand on, checked on its own.

  1. Three masters and three replicas start and agree (cluster_state:ok
     everywhere); the slot arithmetic agrees with CLUSTER KEYSLOT.
  2. cmd() follows ASK during a slot migration and MOVED after it.
  3. 1000 keys over many slots, written through cmd() and confirmed by
     WAIT 1 1000 on every master, read back; SCAN over the masters
     finds them all.
  4. kill -9 of one master: a replica takes over, and every confirmed
     write is still there; writes to the lost master's slots work again.

Start-up and failover times are printed as TAP diagnostics.
"""
import os
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RedisError, diag, done, ok, run
import rcluster

N = 1000


def key(i):
    return "rc:%d" % i


def test_start():
    t0 = time.monotonic()
    c = rcluster.RedisCluster()
    diag("cluster start (6 nodes, create, cluster_state:ok, replicas "
         "online): %.2f s" % (time.monotonic() - t0))
    ok(c.running(), "cluster running")
    ok(len(c.masters()) == 3, "three masters", c.masters())
    ok(len(c.replicas()) == 3, "three replicas", c.replicas())
    seeds = c.seeds()
    ok(seeds.startswith("cluster:") and len(seeds[8:].split(",")) == 3
       and all(s.startswith("127.0.0.1:") for s in seeds[8:].split(",")),
       "seeds() is cluster:127.0.0.1:P1,...", seeds)
    ok(rcluster.crc16(b"123456789") == 0x31C3, "CRC16 test vector")
    probes = ["foo", "{user1000}.following", "foo{}{bar}", "foo{{bar}}zap",
              "foo{bar}{zap}", "{t:7}:ct:1", "{t:7:c:3}:stats", ""]
    bad = [(k, rcluster.slot_of(k), c.cmd("CLUSTER", "KEYSLOT", k))
           for k in probes
           if rcluster.slot_of(k) != c.cmd("CLUSTER", "KEYSLOT", k)]
    ok(not bad, "slot_of agrees with CLUSTER KEYSLOT", bad)
    return c


def test_redirects(c):
    """A slot half-migrated: a missing key is ASKed to the importing
    node; once the slot is moved, the stale map gets a MOVED."""
    k = "rc:ask-probe"
    slot = rcluster.slot_of(k)
    src = c.slot_owner(slot)
    dst = [a for a, _ in c.masters() if a != src][0]
    src_id = c.cmd_at(src, "CLUSTER", "MYID")
    dst_id = c.cmd_at(dst, "CLUSTER", "MYID")
    c.cmd_at(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    c.cmd_at(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    asks = c.redirects["ASK"]
    ok(c.cmd("SET", k, "v") == "OK" and c.redirects["ASK"] == asks + 1,
       "SET during a migration follows ASK", c.redirects)
    ok(c.cmd_at(dst, "ASKING") == "OK" and
       c.cmd_at(dst, "EXISTS", k) == 1, "the key went to the importing node")
    for addr in [dst, src] + [a for a, _ in c.masters()
                              if a not in (src, dst)]:
        c.cmd_at(addr, "CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    moved = c.redirects["MOVED"]
    ok(c.slot_owner(slot) == src, "the map is stale before the MOVED")
    ok(c.cmd("GET", k) == "v" and c.redirects["MOVED"] == moved + 1
       and c.slot_owner(slot) == dst,
       "GET after the migration follows MOVED and refreshes the map",
       (c.redirects, c.slot_owner(slot), dst))


def test_write_read(c):
    t0 = time.monotonic()
    for i in range(N):
        c.cmd("SET", key(i), "v%d" % i)
    c.cmd("HSET", "{t:7}:ct:1", "email", "a@b.test", "name", "A")
    slots = set(rcluster.slot_of(key(i)) for i in range(N))
    owners = set(c.slot_owner(s) for s in slots)
    ok(len(slots) > 900 and len(owners) == 3,
       "%d keys over %d slots on %d masters" % (N, len(slots), len(owners)))
    acked = c.wait_replicas(1, 1000)
    ok(acked >= 1, "WAIT 1 1000: every master's writes reached a replica",
       acked)
    diag("%d SETs + WAIT: %.2f s" % (N, time.monotonic() - t0))
    wrong = [i for i in range(N) if c.cmd("GET", key(i)) != "v%d" % i]
    ok(not wrong, "all %d keys read back" % N, wrong[:10])
    ok(c.hgetall("{t:7}:ct:1") == {"email": "a@b.test", "name": "A"},
       "hgetall")
    found = c.keys("rc:*")
    ok(len(found) == N + 1 and set(key(i) for i in range(N)) <= set(found),
       "keys() SCANs every master", len(found))


def test_failover(c):
    victim = key(0)
    slot = rcluster.slot_of(victim)
    addr, pid = c.kill_master_of(victim)
    t0 = time.monotonic()
    ok(addr not in [a for a, _ in c.masters()], "master %s killed" % addr)
    took = c.wait_failover(30)
    ok(took is not None, "failover within 30 s")
    if took is None:
        diag(c._state_summary())
        return
    diag("failover (kill -9 to cluster_state:ok everywhere): %.2f s"
         % (time.monotonic() - t0))
    new = c.slot_owner(slot)
    ok(new is not None and new != addr, "%s now serves slot %d" % (new, slot))
    ok(len(c.masters()) == 3 and len(c.replicas()) == 2,
       "three masters again (a replica promoted), two replicas",
       (c.masters(), c.replicas()))
    wrong = [i for i in range(N) if c.cmd("GET", key(i)) != "v%d" % i]
    ok(not wrong, "every confirmed write survived the failover", wrong[:10])
    ok(c.cmd("GET", "rc:ask-probe") == "v", "the migrated key too")
    ok(c.cmd("SET", victim, "after") == "OK" and
       c.cmd("GET", victim) == "after", "the lost master's slots take writes")
    try:
        c.cmd_at(addr, "PING", timeout=1)
        reached = True
    except OSError:
        reached = False
    ok(not reached, "the killed master is gone")


c = run(test_start)
if c is not None:
    run(test_redirects, c)
    run(test_write_read, c)
    run(test_failover, c)
    c.stop()
    ok(not c.running(), "stop() stops every node")
done()
