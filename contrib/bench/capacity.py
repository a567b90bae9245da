#!/usr/bin/python3
"""
capacity.py: what one hit, one message and one contact cost: fanfared's
and redis-server's CPU time (from /proc, user + system) and Redis memory
(used_memory), each measured over a bounded run against a throw-away
Redis and fanfared of the integration harness.  The README's capacity
section comes from its output.

    /usr/bin/python3 contrib/bench/capacity.py      (after make)

Environment: HITS (wrk seconds, 10), CONTACTS (100000), RECIPIENTS
(5000), FF_TEST_REDIS=cluster to measure on a Redis Cluster (the CPU
and memory are then summed over every node).  Loopback only.
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import harness  # noqa: E402
from harness import (Fanfare, Redis, Relay, add_contacts, launch,  # noqa
                     new_campaign, new_list, new_template, new_tenant,
                     wait_done)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def redis_pids(redis):
    if harness.CLUSTER:
        return [n.pid for n in redis.nodes if n.running()]
    return [redis.proc.pid]


def redis_cpu(redis):
    return sum(cpu_seconds(p) for p in redis_pids(redis))


def redis_memory(redis):
    """used_memory over every node (a cluster: masters and replicas;
    the replicas double what a master holds)."""
    total = 0
    if harness.CLUSTER:
        for n in redis.nodes:
            if n.running():
                info = redis.cmd_at(n.addr, "INFO", "memory")
                total += int(re.search(r"used_memory:(\d+)", info).group(1))
        return total
    info = redis.cmd("INFO", "memory")
    return int(re.search(r"used_memory:(\d+)", info).group(1))


class Meter:
    """CPU of fanfared and Redis, and Redis memory, between two points."""

    def __init__(self, ff, redis):
        self.ff, self.redis = ff, redis
        self.ff_cpu = cpu_seconds(ff.proc.pid)
        self.redis_cpu = redis_cpu(redis)
        self.mem = redis_memory(redis)

    def per(self, n, what):
        ff = (cpu_seconds(self.ff.proc.pid) - self.ff_cpu) / n * 1e6
        rd = (redis_cpu(self.redis) - self.redis_cpu) / n * 1e6
        mem = (redis_memory(self.redis) - self.mem) / n
        print("%-34s n=%-8d fanfared %7.1f us CPU, redis %7.1f us CPU, "
              "redis memory %7.1f bytes" % (what, n, ff, rd, mem))
        return ff, rd, mem


def settle(ff, key_fn, timeout=30):
    """Waits until a counter stops moving."""
    last, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = key_fn()
        if now == last:
            return now
        last = now
        time.sleep(1)
    return last


def hits(ff, redis, seconds):
    tenant, campaign = 1, 1
    ff.link_set(tenant, campaign, 1, "https://example.com/x")
    # Distinct contacts, as real mail has: each a unique opener.
    paths = [ff.token("open", tenant, campaign, c) for c in range(1, 201)]
    script = os.path.join(ff.dir, "paths.lua")
    with open(script, "w") as f:
        f.write("local p = {%s}\nlocal i = 0\n"
                "request = function()\n  i = i %% #p + 1\n"
                "  return wrk.format('GET', p[i])\nend\n"
                % ",".join('"%s"' % p for p in paths))
    key = harness.stats_key(tenant, campaign)
    recorded = lambda: sum(int(v) for k, v in redis.hgetall(key).items()
                           if k in ("opens", "opens_machine"))
    before = recorded()
    m = Meter(ff, redis)
    port = ff.directives["track_listen"].rsplit(":", 1)[1]
    out = subprocess.run(["wrk", "-t1", "-c20", "-d%ds" % seconds, "-s",
                          script, "http://127.0.0.1:%s" % port],
                         capture_output=True, text=True, timeout=seconds + 30)
    settle(ff, recorded)
    n = recorded() - before
    answered = int(re.search(r"(\d+) requests in", out.stdout).group(1))
    print("# wrk answered %d, recorded %d" % (answered, n))
    return m.per(n, "tracking hit (open, 200 contacts)")


def contacts(ff, redis, n):
    _, key = new_tenant(ff, "capacity")
    rows = [{"email": "person%d@example.test" % i, "first_name": "P%d" % i,
             "attributes": {"plan": "pro" if i % 3 else "free"}}
            for i in range(n)]
    m = Meter(ff, redis)
    add_contacts(ff, key, rows)
    return key, rows, m.per(n, "contact (API upsert, batches 10k)")


def messages(ff, redis, key, rows, n):
    emails = [r["email"] for r in rows[:n]]
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Hello {{first_name}}",
                       "<p>Hi {{first_name}}</p>" + "".join(
                           '<a href="https://example.com/%d">l%d</a>' % (i, i)
                           for i in range(10)) + "<p>" + "x" * 10000 + "</p>",
                       "Hi {{first_name}}")
    cid = new_campaign(ff, key, tpl, lid)
    m = Meter(ff, redis)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=600)
    sent = js.get("progress", {}).get("sent", 0)
    print("# campaign: %s, sent %s" % (js.get("status"), sent))
    return m.per(max(sent, 1), "message (launch, render, send)")


def main():
    seconds = int(os.environ.get("HITS", "10"))
    ncontacts = int(os.environ.get("CONTACTS", "100000"))
    nrcpt = int(os.environ.get("RECIPIENTS", "5000"))
    redis = Redis()
    relay = Relay().fresh()
    ff = Fanfare(redis=redis, admin_key="capacity-admin-key-0123456789",
                 threads=1, smtp_relay="127.0.0.1:%d" % relay.port)
    print("# redis: %s" % ("cluster (3 masters, 3 replicas)"
                           if harness.CLUSTER else "one"))
    hits(ff, redis, seconds)
    key, rows, _ = contacts(ff, redis, ncontacts)
    messages(ff, redis, key, rows, nrcpt)
    ff.stop()


if __name__ == "__main__":
    main()
