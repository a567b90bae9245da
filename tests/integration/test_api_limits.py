#!/usr/bin/python3
"""
test_api_limits.py: nothing a stranger (or a careless client) does to the
API listener exhausts fanfared, and Redis going away stalls nothing that
does not need it; against a real fanfared and a real redis-server.

  1. pre-auth: 200 connections without a key each start a 15 MB body:
     401 on the head (Connection: close, the body never read); fanfared's
     RSS stays under idle + 64 MB and is back near idle after they close;
     an authenticated client is answered all along.
  2. the body budget: bodies that do not fit in api_body_budget get 503
     busy at once; freed, the budget serves again.  Big bodies with a
     good key, once answered, give their memory back.
  3. pipelining without reading the answers: RSS stays bounded.
  4. 1,100 idle or half-sent connections: another client is still
     answered at once (the longest idle one is closed for it).
  5. HTTP/1.0: keep-alive only when asked, and then said.
  6. the outage: Redis SIGSTOPped for 10 s while the API (reads and
     writes with a tenant key), the dashboard and the tracking listener
     are driven: /healthz and /metrics answer in under 100 ms and
     /healthz says redis down; a storage-bound request gets 503 within
     OUTAGE_BOUND_S, never 401; a pixel gets 200; connections closed while
     their request waits on Redis harm nothing.  After SIGCONT everything
     works again.

Loops are bounded in count and time; every figure is printed as a TAP
diagnostic.
"""
import http.client
import json
import os
import resource
import select
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness
from harness import (GIF, HUMAN_UA, Fanfare, Redis, call, diag, done, must,
                     new_tenant, ok, run, skip, wait_for)

ADMIN = "admin-" + "k" * 40
BIG = 15 * 1024 * 1024
OUTAGE_BOUND_S = 3.0        # README: a storage-bound request's 503
SLACK_MB = 64


def rss_kb(ff):
    with open("/proc/%d/status" % ff.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def settle(ff, secs=1.5):
    """RSS once it stops moving (bounded wait)."""
    time.sleep(secs)
    return rss_kb(ff)


class Poller:
    """A thread calling fn() every interval s until stopped; keeps
    (start time, seconds taken, result or exception)."""

    def __init__(self, fn, interval):
        self.fn = fn
        self.interval = interval
        self.results = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self.stopping.is_set():
            t0 = time.monotonic()
            try:
                res = self.fn()
            except Exception as e:   # noqa: BLE001 - kept as a result
                res = e
            self.results.append((t0, time.monotonic() - t0, res))
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.thread.join(30)
        return self.results


def raw_exchange(port, data, timeout=3.0):
    """Sends data, returns what comes back until close or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, OSError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


# ----------------------------------------------------------------- 1.


def test_preauth(ff, key):
    must("warm-up", call(ff, "GET", "/v1/campaigns", key))
    idle = settle(ff)
    # What a stranger gets: 401 on the head, and the connection closes.
    s = socket.create_connection(("127.0.0.1", ff.api_port), timeout=5)
    s.sendall(b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/json\r\nContent-Length: %d\r\n\r\n" % BIG
              + b"[" * 65536)
    head = b""
    try:
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    except OSError:
        pass
    s.close()
    ok(head.startswith(b"HTTP/1.1 401 ") and
       b"connection: close" in head.lower(),
       "no key: 401 on the head with Connection: close, body unread",
       head[:300])

    # Nor through a path that needs no key: those take no body.
    out = raw_exchange(ff.api_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: %d\r\n\r\n" % BIG + b" " * 65536)
    ok(out.startswith(b"HTTP/1.1 413 ") and b"connection: close"
       in out.lower(), "a body to /healthz: 413 on the head, unread",
       out[:300])

    auth = Poller(lambda: call(ff, "GET", "/v1/campaigns", key)[0],
                  0.05).start()
    socks = []
    for _ in range(200):
        c = socket.create_connection(("127.0.0.1", ff.api_port), timeout=5)
        c.sendall(b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/json\r\nContent-Length: %d\r\n\r\n" % BIG)
        c.setblocking(False)
        socks.append(c)
    sent = {c: 0 for c in socks}
    chunk = b" " * 65536
    peak = idle
    deadline = time.monotonic() + 40
    next_look = 0
    live = list(socks)
    while live and time.monotonic() < deadline:
        _, writable, _ = select.select([], live, [], 0.2)
        for c in writable:
            try:
                n = c.send(chunk[:min(len(chunk), BIG - sent[c])])
                sent[c] += n
                if sent[c] >= BIG:
                    live.remove(c)
            except BlockingIOError:
                pass
            except OSError:
                live.remove(c)      # answered and closed: done with it
        if time.monotonic() >= next_look:
            next_look = time.monotonic() + 0.1
            peak = max(peak, rss_kb(ff))
            if peak > idle + SLACK_MB * 1024:
                break           # failing: stop before the machine suffers
    total = sum(sent.values())
    for c in socks:
        c.close()
    statuses = auth.stop()
    after = idle
    back = wait_for(lambda: rss_kb(ff) < idle + 8 * 1024, timeout=10,
                    interval=0.2)
    after = rss_kb(ff)
    diag("pre-auth: 200 connections sent %.1f MB in all; fanfared RSS idle "
         "%.1f MB, peak %.1f MB, after close %.1f MB"
         % (total / 1e6, idle / 1024, peak / 1024, after / 1024))
    if harness.SANITIZED:
        skip("pre-auth RSS bounds", "sanitizer build: ASan's quarantine "
             "and shadow memory hold what is freed")
    else:
        ok(peak < idle + SLACK_MB * 1024,
           "200 x 15 MB without a key: RSS stays under idle + %d MB (peak "
           "+%.1f MB)" % (SLACK_MB, (peak - idle) / 1024))
        ok(back, "after they close RSS is back near idle (+%.1f MB)"
           % ((after - idle) / 1024))
    codes = [r for _, _, r in statuses]
    ok(codes and all(c == 200 for c in codes),
       "an authenticated client was answered all along (%d requests)"
       % len(codes), [c for c in codes if c != 200][:5])


# ----------------------------------------------------------------- 2.


def test_budget(ff, key):
    # api_body_budget is 32M here: two 16 MB bodies hold all of it.
    held = []
    for _ in range(2):
        c = socket.create_connection(("127.0.0.1", ff.api_port), timeout=5)
        c.sendall(b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: "
                  b"Bearer %s\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n[" % (key.encode(), 16 << 20))
        held.append(c)

    def reserved():
        st, body = ff.metrics()
        for line in body.splitlines():
            if line.startswith("fanfare_api_body_bytes "):
                return int(line.split()[1])
        return -1
    ok(wait_for(lambda: reserved() == 32 << 20, timeout=5),
       "two 16 MB bodies being sent reserve 32 MB (fanfare_api_body_bytes "
       "%d)" % reserved())
    body = b"[" + b" " * (1 << 20) + b"]"
    st, h, out = ff.api("POST", "/v1/contacts", body=body, headers={
        "Authorization": "Bearer " + key,
        "Content-Type": "application/json"}, timeout=10)
    try:
        code = json.loads(out)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = None
    ok(st == 503 and code == "busy" and h.get("retry-after") == "1",
       "the budget used up: a third body gets 503 busy, Retry-After: 1",
       (st, out[:200]))
    for c in held:
        c.close()
    ok(wait_for(lambda: reserved() == 0, timeout=5),
       "their connections closed: the budget is free again")
    st, h, out = ff.api("POST", "/v1/contacts", body=body, headers={
        "Authorization": "Bearer " + key,
        "Content-Type": "application/json"}, timeout=10)
    ok(st == 200, "and a body fits again", (st, out[:200]))


def test_memory_back(ff, key):
    """Big bodies with a good key are read and parsed; once answered,
    their memory goes back to the system."""
    idle = settle(ff, 0.5)
    body = b'{"x": "' + b"a" * (12 << 20) + b'"}'
    peak = idle
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_kb(ff))
            time.sleep(0.02)
    w = threading.Thread(target=watch, daemon=True)
    w.start()
    codes = []
    for _ in range(4):
        st, _, out = ff.api("POST", "/v1/contacts", body=body, headers={
            "Authorization": "Bearer " + key,
            "Content-Type": "application/json"}, timeout=30)
        codes.append(st)
    stop.set()
    w.join(5)
    back = wait_for(lambda: rss_kb(ff) < idle + 8 * 1024, timeout=5,
                    interval=0.2)
    after = rss_kb(ff)
    diag("4 authenticated 12 MB bodies: RSS idle %.1f MB, peak %.1f MB, "
         "after %.1f MB" % (idle / 1024, peak / 1024, after / 1024))
    ok(codes == [400] * 4, "12 MB bodies read and answered (400 "
       "unknown_field)", codes)
    if harness.SANITIZED:
        skip("big bodies' memory goes back", "sanitizer build: ASan's "
             "quarantine holds freed memory")
        return
    ok(back, "their memory goes back: RSS within 8 MB of idle after them "
       "(+%.1f MB, peak +%.1f MB)" % ((after - idle) / 1024,
                                     (peak - idle) / 1024))


# ----------------------------------------------------------------- 3.


def test_pipelining(ff, key):
    idle = settle(ff, 0.5)
    s = socket.create_connection(("127.0.0.1", ff.api_port), timeout=5)
    s.setblocking(False)
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 64
    sent = 0
    peak = idle
    t0 = time.monotonic()
    next_look = 0
    while time.monotonic() - t0 < 10:
        _, w, _ = select.select([], [s], [], 0.1)
        if w:
            try:
                sent += s.send(req)
            except BlockingIOError:
                pass
            except OSError:
                break
        if time.monotonic() >= next_look:
            next_look = time.monotonic() + 0.1
            peak = max(peak, rss_kb(ff))
            if peak > idle + SLACK_MB * 1024:
                break
    other = ff.api("GET", "/healthz", timeout=5)[0]
    s.close()
    diag("pipelining without reading: %.1f MB of requests sent in %.1f s; "
         "RSS idle %.1f MB, peak %.1f MB" % (sent / 1e6,
                                             time.monotonic() - t0,
                                             idle / 1024, peak / 1024))
    if harness.SANITIZED:
        skip("pipelining RSS bound", "sanitizer build: ASan's quarantine "
             "holds freed memory")
    else:
        ok(peak < idle + 16 * 1024,
           "a client that pipelines and never reads: RSS under idle + 16 "
           "MB (peak +%.1f MB)" % ((peak - idle) / 1024))
    ok(other == 200, "meanwhile another client is answered", other)


# ----------------------------------------------------------------- 4.


def test_idle(ff, key):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1100
    if soft < want + 200:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (min(hard, 4096), hard))
        except (ValueError, OSError):
            pass
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < want + 100:
        skip("1,100 idle connections", "RLIMIT_NOFILE too low here")
        return
    socks = []
    t0 = time.monotonic()
    try:
        for i in range(want):
            try:
                c = socket.create_connection(("127.0.0.1", ff.api_port),
                                             timeout=3)
            except OSError:
                continue
            if i % 2:
                try:    # a head that never ends: pre-auth, half sent
                    c.sendall(b"GET /v1/campaigns HTTP/1.1\r\nHost: x\r\n")
                except OSError:
                    pass
            socks.append(c)
        opened = time.monotonic() - t0
        time.sleep(0.3)
        t1 = time.monotonic()
        try:
            st = ff.api("GET", "/v1/campaigns", headers={
                "Authorization": "Bearer " + key}, timeout=5)[0]
        except OSError as e:
            st = repr(e)
        secs = time.monotonic() - t1
    finally:
        for c in socks:
            c.close()
    diag("%d idle connections opened in %.1f s; another client answered "
         "%s in %.3f s" % (len(socks), opened, st, secs))
    ok(st == 200 and secs < 2,
       "%d idle and half-sent connections: another client is answered "
       "(%s in %.3f s)" % (len(socks), st, secs))


# ----------------------------------------------------------------- 5.


def test_http10(ff):
    out = raw_exchange(ff.api_port, b"GET /healthz HTTP/1.0\r\n"
                       b"Connection: keep-alive\r\n\r\n"
                       b"GET /healthz HTTP/1.0\r\n\r\n")
    first = out.split(b"\r\n\r\n", 1)[0].lower()
    ok(out.count(b"HTTP/1.1 200 ") == 2 and
       b"connection: keep-alive" in first,
       "HTTP/1.0 with keep-alive: kept, and said (Connection: keep-alive)",
       out[:400])
    ok(b"connection: close" in out.split(b"HTTP/1.1 200 ")[2].lower()
       if out.count(b"HTTP/1.1 200 ") == 2 else False,
       "HTTP/1.0 without keep-alive: Connection: close, then closed")


# ----------------------------------------------------------------- 6.


def test_outage(ff, redis, key, tid):
    lid = must("POST /v1/lists", call(ff, "POST", "/v1/lists", key,
                                      {"name": "outage"}), 201)["id"]
    pixel = ff.token("open", tid, 1, 1)
    dash = "/dashboard/"
    st = ff.api("GET", dash)[0]
    if st != 200:
        dash = "/"

    def healthz():
        st, _, body = ff.api("GET", "/healthz", timeout=10)
        return st, json.loads(body).get("redis")

    def metrics():
        return ff.api("GET", "/metrics", timeout=10)[0]

    def reads():
        st, js, _ = call(ff, "GET", "/v1/lists/%s" % lid, key)
        return st, (js or {}).get("error", {}).get("code")

    def writes():
        st, js, _ = call(ff, "POST", "/v1/optouts", key,
                         {"email": "x%d@example.org" % time.monotonic_ns()})
        return st, (js or {}).get("error", {}).get("code")

    def dashboard():
        return ff.api("GET", dash, timeout=10)[0]

    def track():
        st, _, body = ff.http("GET", pixel, timeout=10)
        return st, body == GIF

    def abandon():
        # A storage-bound request whose client goes away at once.
        s = socket.create_connection(("127.0.0.1", ff.api_port), timeout=2)
        s.sendall(b"GET /v1/campaigns HTTP/1.1\r\nHost: x\r\n"
                  b"Authorization: Bearer %s\r\n\r\n" % key.encode())
        s.close()
        return "closed"

    ok(healthz() == (200, "up"), "before: /healthz says redis up")
    pollers = {
        "healthz": Poller(healthz, 0.1), "metrics": Poller(metrics, 0.2),
        "reads": Poller(reads, 0.05), "writes": Poller(writes, 0.05),
        "reads2": Poller(reads, 0.05), "dashboard": Poller(dashboard, 0.2),
        "track": Poller(track, 0.1), "abandon": Poller(abandon, 0.2),
    }
    for p in pollers.values():
        p.start()
    time.sleep(0.5)
    t_stop = time.monotonic()
    redis.sigstop()
    try:
        time.sleep(10)
    finally:
        t_cont = time.monotonic()
        redis.sigcont()
    time.sleep(0.2)
    for p in pollers.values():
        p.stop()

    def during(name, lag=0.0):
        return [(t, secs, r) for t, secs, r in pollers[name].results
                if t_stop + lag <= t and t + secs <= t_cont]

    for name in ("healthz", "metrics", "dashboard"):
        rs = during(name)
        slow = max([secs for _, secs, _ in rs] or [99])
        errors = [r for _, _, r in rs if isinstance(r, Exception)]
        diag("outage: %s: %d answers, slowest %.3f s" % (name, len(rs), slow))
        ok(rs and slow < 0.1 and not errors,
           "Redis stopped: %s answers in under 100 ms throughout (slowest "
           "%.3f s)" % (name, slow), errors[:3])
    rs = during("healthz", lag=3.0)
    ok(rs and all(r == (200, "down") for _, _, r in rs),
       "Redis stopped: /healthz says redis down (from 3 s in)",
       [r for _, _, r in rs if r != (200, "down")][:5])
    api = during("reads") + during("reads2") + during("writes")
    bad = [(round(secs, 2), r) for _, secs, r in api
           if isinstance(r, Exception) or r[0] not in (200, 201, 503)
           or (r[0] == 503 and r[1] != "unavailable")]
    slow = max([secs for _, secs, _ in api] or [99])
    n503 = sum(1 for _, _, r in api if not isinstance(r, Exception)
               and r[0] == 503)
    diag("outage: %d storage-bound API requests, %d got 503, slowest "
         "%.2f s" % (len(api), n503, slow))
    ok(api and not bad, "Redis stopped: storage-bound requests get 200 or "
       "503 unavailable, never 401", bad[:5])
    ok(n503 > 0 and slow <= OUTAGE_BOUND_S + 0.5,
       "Redis stopped: a storage-bound request is answered within %.1f s "
       "(slowest %.2f s)" % (OUTAGE_BOUND_S, slow))
    tr = during("track")
    ok(tr and all(r == (200, True) for _, _, r in tr),
       "Redis stopped: the tracking listener keeps answering pixels "
       "(%d, all 200)" % len(tr),
       [r for _, _, r in tr if r != (200, True)][:5])
    # Back.
    ok(wait_for(lambda: healthz() == (200, "up"), timeout=10),
       "Redis back: /healthz says up again")
    ok(wait_for(lambda: reads() == (200, None), timeout=5) and
       writes() == (200, None),
       "Redis back: reads and writes work again")
    ok(ff.running(), "fanfared survived connections closed while their "
       "request waited on Redis")


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, api_body_budget="32M")
    tid, key = new_tenant(ff, "limits")
    run(test_preauth, ff, key)
    run(test_budget, ff, key)
    run(test_memory_back, ff, key)
    run(test_pipelining, ff, key)
    run(test_idle, ff, key)
    run(test_http10, ff)
    run(test_outage, ff, redis, key, tid)
    ok(ff.stop() == 0, "SIGTERM: exit 0")
    done()


if __name__ == "__main__":
    main()
