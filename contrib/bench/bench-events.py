#!/usr/bin/python3
"""
bench-events.py: how fast the event pump (src/event_pump.c) puts the
trackers' records in a tenant's event log {t:T}:events (by reference),
and how fast the feed makes and pages the events, on a throw-away Redis
and fanfared of the integration harness.

Writes ENTRIES stream entries of LINES record lines each (store.c's
format, as record.lua writes them: the trackers' work is not measured
here) into one campaign's {t:T:c:C}:events, for CONTACTS contacts, and
times how long the pump takes until its mark is past them all; then reads
the whole feed through GET /v1/events (1000 a page) and times that.

    /usr/bin/python3 contrib/bench/bench-events.py      (after make)

Environment: ENTRIES (50), LINES (2000), CONTACTS (1000),
FF_TEST_REDIS=cluster.  Loopback only; bounded in count and time.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from harness import (Fanfare, Redis, add_contacts, call, must,  # noqa
                     new_campaign, new_list, new_template, new_tenant,
                     wait_for)

ENTRIES = int(os.environ.get("ENTRIES", "50"))
LINES = int(os.environ.get("LINES", "2000"))
CONTACTS = int(os.environ.get("CONTACTS", "1000"))
ADMIN = "admin-" + "p" * 40


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN)
    tid, key = new_tenant(ff, "Bench")
    emails = ["b%d@bench.test" % i for i in range(CONTACTS)]
    add_contacts(ff, key, [{"email": e} for e in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "s", "<p>x</p>", "x")
    camp = new_campaign(ff, key, tpl, lid)
    first = int(must("contact", call(ff, "GET", "/v1/contacts/%s"
                                      % emails[0], key))["id"])
    stream = "{t:%s:c:%s}:events" % (tid, camp)
    now = int(time.time() * 1000)
    n = 0
    t0 = time.monotonic()
    for e in range(ENTRIES):
        lines = []
        for i in range(LINES):
            kind = "oc"[n % 2]
            lines.append("%d %s %d 0 FR %s" % (now + n, kind,
                                               first + n % CONTACTS,
                                               "m" if n % 7 == 0 else "-"))
            n += 1
        last = redis.cmd("XADD", stream, "*", "n", str(LINES),
                         "e", "\n".join(lines) + "\n")
    log = "{t:%s}:events" % tid
    pumped = "{t:%s}:events:pumped" % tid
    got = wait_for(lambda: redis.cmd("HGET", pumped, str(camp)) == last,
                   timeout=300, interval=0.05)
    took = time.monotonic() - t0
    # The records the log's references cover.
    have = 0
    for _, f in redis.cmd("XRANGE", log, "-", "+"):
        f = dict(zip(f[::2], f[1::2]))
        have += int(f.get("n", 0))
    print("pump: %d events in %.2f s: %.0f events/s (%s)"
          % (have, took, have / took, "complete" if got else "INCOMPLETE"))
    t0 = time.monotonic()
    cursor, read = None, 0
    while True:
        q = "/v1/events?limit=1000" + ("&cursor=" + cursor if cursor else "")
        js = must("feed", call(ff, "GET", q, key))
        if not js["items"] and js["next_cursor"] == cursor:
            break
        read += len(js["items"])
        cursor = js["next_cursor"]
    took = time.monotonic() - t0
    print("feed: %d events read in %.2f s: %.0f events/s"
          % (read, took, read / took))
    ff.stop()


if __name__ == "__main__":
    main()
