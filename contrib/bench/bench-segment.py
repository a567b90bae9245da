#!/usr/bin/python3
"""
bench-segment.py: a segment over a big tenant, counted and launched,
with fanfared's RSS and the API's /healthz latency sampled meanwhile:
evaluation streams a page at a time (memory flat in the tenant size)
on the API's worker threads (the event loop keeps answering).  The
README's "Segments" figures come from its output.

    /usr/bin/python3 contrib/bench/bench-segment.py     (after make)

Environment: SIZES (contacts per tenant, comma-separated, default
"100000,1000000": one tenant each, so RSS can be compared across
sizes), FF_TEST_REDIS=cluster for a Redis Cluster.  fanfared runs with
senders 0: the launch's snapshot is measured, nothing is mailed.
Loopback only; every loop bounded in time.
"""
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

import harness  # noqa: E402
from harness import (Fanfare, Redis, add_contacts, call, must,  # noqa
                     new_template, new_tenant)

ADMIN = "admin-" + "b" * 40
PLANS = ["pro", "free", "team", "basic"]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """/healthz latency and fanfared's RSS every 10 ms until stopped."""

    def __init__(self, ff):
        self.ff, self.lat, self.rss, self.bad = ff, [], [], 0
        self.stop = threading.Event()
        self.th = threading.Thread(target=self.run)
        self.th.start()

    def run(self):
        deadline = time.monotonic() + 1800
        while not self.stop.is_set() and time.monotonic() < deadline:
            t = time.monotonic()
            st, _, _ = self.ff.api("GET", "/healthz")
            self.lat.append(time.monotonic() - t)
            self.bad += st != 200
            self.rss.append(rss_kb(self.ff.proc.pid))
            time.sleep(0.01)

    def done(self):
        self.stop.set()
        self.th.join(30)
        lat = sorted(self.lat) or [0]
        return {"health_n": len(lat), "health_bad": self.bad,
                "health_p50_ms": 1000 * lat[len(lat) // 2],
                "health_p99_ms": 1000 * lat[int(len(lat) * 0.99)],
                "health_max_ms": 1000 * lat[-1],
                "rss_max_mb": max(self.rss or [0]) / 1024}


def one_size(ff, n):
    tid, key = new_tenant(ff, "Big%d" % n)
    t0 = time.monotonic()
    rows = []
    for i in range(n):
        rows.append({"email": "u%d@big.test" % i,
                     "attributes": {"n": i, "plan": PLANS[i % 4]}})
        if len(rows) == 10000:
            add_contacts(ff, key, rows)
            rows = []
    if rows:
        add_contacts(ff, key, rows)
    print("# %d contacts added in %.1f s" % (n, time.monotonic() - t0))
    # Matches 750 of every tenant; the scan still reads every contact.
    sid = must("segment", call(ff, "POST", "/v1/segments", key, {
        "name": "few", "rules": [
            {"field": "attributes.n", "op": "lt", "value": 1000},
            {"field": "attributes.plan", "op": "neq", "value": "free"}]}),
        201)["id"]
    rss0 = rss_kb(ff.proc.pid) / 1024
    s = Sampler(ff)
    t0 = time.monotonic()
    got = must("count", call(ff, "GET", "/v1/segments/%s/count" % sid, key))
    t_count = time.monotonic() - t0
    m_count = s.done()
    tpl = new_template(ff, key, "Hi", "<p>Hi</p>", "Hi")
    cid = must("campaign", call(ff, "POST", "/v1/campaigns", key, {
        "name": "seg", "template_id": tpl, "segment_id": sid,
        "from": "News <news@acme.test>"}), 201)["id"]
    s = Sampler(ff)
    t0 = time.monotonic()
    must("launch", call(ff, "POST", "/v1/campaigns/%s/launch" % cid, key),
         202)
    total = 0
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        js = must("GET", call(ff, "GET", "/v1/campaigns/%s" % cid, key))
        total = js.get("progress", {}).get("total", 0)
        if total:
            break
        time.sleep(0.2)
    t_launch = time.monotonic() - t0
    m_launch = s.done()
    print("# %d contacts: count %d in %.1f s (healthz p50 %.1f p99 %.1f "
          "max %.1f ms, %d probes, %d not 200; RSS max %.1f MB, before "
          "%.1f MB)" % (n, got["count"], t_count, m_count["health_p50_ms"],
                        m_count["health_p99_ms"], m_count["health_max_ms"],
                        m_count["health_n"], m_count["health_bad"],
                        m_count["rss_max_mb"], rss0))
    print("# %d contacts: launch snapshot queued %d in %.1f s (healthz "
          "p50 %.1f p99 %.1f max %.1f ms, %d probes, %d not 200; RSS max "
          "%.1f MB)" % (n, total, t_launch, m_launch["health_p50_ms"],
                        m_launch["health_p99_ms"], m_launch["health_max_ms"],
                        m_launch["health_n"], m_launch["health_bad"],
                        m_launch["rss_max_mb"]))
    return got["count"] == 750 and total == 750


def main():
    sizes = [int(x) for x in os.environ.get(
        "SIZES", "100000,1000000").split(",")]
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders="0",
                 api_max_body="16M")
    good = True
    for n in sizes:
        good = one_size(ff, n) and good
    ff.stop()
    redis.stop()
    print("ok" if good else "not ok: a count or a total was not 750")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
