#!/usr/bin/python3
"""
bench-webhook-cost.py: what the webhook pipeline costs, per event, in
CPU time of fanfared and of Redis (not wall time: steadier than req/s
on a shared machine), on a throw-away Redis and fanfared of the
integration harness.

Writes EVENTS open records (store.c's format, as record.lua writes them
after the pixel: the trackers' own work is not measured here) into one
campaign's {t:T:c:C}:events, ENTRY records an entry (a tracker chunk),
for CONTACTS contacts, with one webhook endpoint taking every type
(webhook_batch BATCH) pointed at a receiver on 127.0.0.1 that answers
204 and counts unique ids.  It reads fanfared's and redis-server's
utime+stime from /proc before the first record and again once the
receiver has every event, and prints the microseconds an event cost
each.  Run it for two builds to compare them (FANFARED=...).

    /usr/bin/python3 contrib/bench/bench-webhook-cost.py   (after make)

Environment: EVENTS (200000), ENTRY (20), CONTACTS (200), BATCH (1000),
FANFARED.  Loopback only; bounded in count and time (300 s).
"""
import http.server
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from harness import (Fanfare, Redis, add_contacts, call, free_port,  # noqa
                     must, new_campaign, new_list, new_template,
                     new_tenant, tmpdir, wait_for)

EVENTS = int(os.environ.get("EVENTS", "200000"))
ENTRY = int(os.environ.get("ENTRY", "20"))
CONTACTS = int(os.environ.get("CONTACTS", "200"))
BATCH = int(os.environ.get("BATCH", "1000"))
ADMIN = "admin-" + "c" * 40
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """utime + stime of a process, every thread, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        f = f.read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


class Receiver:
    def __init__(self):
        self.port = free_port()
        self.ids = set()
        self.lock = threading.Lock()
        rx = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                ids = [e["id"] for e in json.loads(body)["events"]]
                with rx.lock:
                    rx.ids.update(ids)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port),
                                                   H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def count(self):
        with self.lock:
            return len(self.ids)


def main():
    redis = Redis()
    keydir = tmpdir("ff-whcost-")
    data_key = os.path.join(keydir, "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)
    rx = Receiver()
    ff = Fanfare(redis=redis, admin_key=ADMIN, threads="1",
                 data_key_file=data_key, webhook_allow="127.0.0.1/32",
                 webhook_poll="100ms", webhook_batch=str(BATCH))
    tid, key = new_tenant(ff, "Cost")
    emails = ["c%d@cost.test" % i for i in range(CONTACTS)]
    add_contacts(ff, key, [{"email": e} for e in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "s", "<p>x</p>", "x")
    camp = new_campaign(ff, key, tpl, lid)
    first = int(must("contact", call(ff, "GET", "/v1/contacts/%s"
                                      % emails[0], key))["id"])
    must("webhook", call(ff, "POST", "/v1/webhooks", key,
                         {"url": "http://127.0.0.1:%d/h" % rx.port}), 201)
    time.sleep(1.5)                     # the delivery thread sees it
    stream = "{t:%s:c:%s}:events" % (tid, camp)
    rpid = int(redis.cmd("INFO", "server").split("process_id:")[1]
               .split()[0])
    fpid = ff.proc.pid
    f0, r0, t0 = cpu_s(fpid), cpu_s(rpid), time.monotonic()
    now = int(time.time() * 1000)
    n = 0
    while n < EVENTS:
        lines = []
        for _ in range(min(ENTRY, EVENTS - n)):
            lines.append("%d o %d 0 FR -" % (now + n, first + n % CONTACTS))
            n += 1
        redis.cmd("XADD", stream, "*", "n", str(len(lines)),
                  "e", "\n".join(lines) + "\n")
    wrote = time.monotonic() - t0
    # The records' own writing cost Redis too: measured apart, below.
    r_write = cpu_s(rpid) - r0
    got = wait_for(lambda: rx.count() >= EVENTS, timeout=300,
                   interval=0.05)
    took = time.monotonic() - t0
    f1, r1 = cpu_s(fpid), cpu_s(rpid)
    print("webhook cost: %d events (%d records an entry, %d contacts, "
          "webhook_batch %d) %s in %.1f s (records written in %.1f s)"
          % (EVENTS, ENTRY, CONTACTS, BATCH,
             "delivered" if got else "NOT ALL delivered (%d)" % rx.count(),
             took, wrote))
    print("webhook cost: fanfared %.2f us an event, redis %.2f us an "
          "event (beyond writing the records: %.2f)"
          % ((f1 - f0) * 1e6 / EVENTS, (r1 - r0 - r_write) * 1e6 / EVENTS,
             r_write * 1e6 / EVENTS))
    ff.stop()


if __name__ == "__main__":
    main()
