#!/usr/bin/python3
"""
test_faults.py: "nothing lost" under faults, against a real fanfared and
a real redis-server, in well under a minute.

  1. kill -9 fanfared under load, restart it: every answered pixel is
     counted, at most the requests in flight at the kill on top.
  2. SIGSTOP redis for 3 s under load: every answer is still 200, and the
     counters catch up exactly once redis runs again.
  3. redis kill -9 under load, restarted 1.5 s later from its AOF
     (appendfsync always, so Redis itself loses nothing it acknowledged):
     every answer 200, the counters catch up exactly.
  4. redis not running at start, fanfared killed -9 and restarted while
     it is still down (the spool is replayed by the new process), then
     redis starts: the counters catch up exactly.  A cold click while
     redis is down answers 503.

Each phase prints its figures as TAP diagnostics.
"""
import http.client
import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (GIF, HUMAN_UA, Fanfare, Redis, counters, diag, done,
                     ok, run, wait_for)

T = 9


class Load:
    """Client threads, each on its own keep-alive connection, each with
    its own contact's pixel, counting what came back."""

    def __init__(self, ff, campaign, nthreads=8):
        self.ff = ff
        self.paths = [ff.token("open", T, campaign, 100 + i)
                      for i in range(nthreads)]
        self.lock = threading.Lock()
        self.ok200 = 0          # 200 with the GIF
        self.other = 0          # any other answer
        self.lost = 0           # sent (or sending), then the connection died
        self.lost_at_kill = 0   # ... on a connection made before the kill
        self.lost_dying = 0     # ... made while the killed process died
        self.kill_time = None
        self.dead_time = None
        self.refused = 0        # could not connect: never reached a server
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._work, args=(p,),
                                         daemon=True) for p in self.paths]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(30)

    def mark_kill(self):
        """Call just before killing the server: losses on connections
        made before this moment are the requests in flight at the kill."""
        self.kill_time = time.monotonic()

    def mark_dead(self):
        """Call once the killed process is gone: a connection made before
        this may have been accepted by the kernel for the dying process
        and is reset unread; one made after reaches the new process."""
        self.dead_time = time.monotonic()

    def _add(self, what):
        with self.lock:
            setattr(self, what, getattr(self, what) + 1)

    def _work(self, path):
        conn = None
        hdrs = {"User-Agent": HUMAN_UA}
        while not self.stopping.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(
                    "127.0.0.1", self.ff.track_port, timeout=10)
                try:
                    conn.connect()
                    since = time.monotonic()
                except OSError:
                    self._add("refused")
                    conn = None
                    time.sleep(0.01)
                    continue
            try:
                conn.request("GET", path, headers=hdrs)
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException):
                self._add("lost")
                if self.kill_time is not None and since < self.kill_time:
                    self._add("lost_at_kill")
                elif self.dead_time is None or since < self.dead_time:
                    self._add("lost_dying")
                conn.close()
                conn = None
                continue
            if r.status == 200 and body == GIF:
                self._add("ok200")
            else:
                self._add("other")
            if r.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def figures(self):
        return ("responses=%d non200=%d lost=%d (in flight at the kill %d,"
                " connected to the dying process %d) refused=%d"
                % (self.ok200, self.other, self.lost, self.lost_at_kill,
                   self.lost_dying, self.refused))


def recorded(redis, campaign):
    c = counters(redis, T, campaign)
    return c.get("opens", 0) + c.get("opens_machine", 0)


def settle(redis, campaign, at_least, timeout=10.0):
    """Waits until the count reaches at_least and then stops moving for
    a second; returns it."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = recorded(redis, campaign)
        if n != last:
            last, since = n, time.monotonic()
        elif n >= at_least and time.monotonic() - since >= 1.0:
            break
        time.sleep(0.1)
    return last


def metric(ff, name):
    try:
        st, text = ff.metrics()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return line
    return None


def test_kill9(redis, ff):
    camp = 1
    load = Load(ff, camp).start()
    try:
        time.sleep(1.0)
        load.mark_kill()
        ff.kill9()
        load.mark_dead()
        t0 = time.monotonic()
        ff.start()
        restart_s = time.monotonic() - t0
        time.sleep(1.0)
    finally:
        load.stop()
    n = settle(redis, camp, load.ok200)
    diag("kill -9: %s recorded=%d restart=%.2fs"
         % (load.figures(), n, restart_s))
    ok(load.ok200 > 0 and load.other == 0,
       "kill -9 under load: only 200 GIF answers", load.figures())
    ok(n >= load.ok200,
       "kill -9 under load: recorded >= 200 responses (nothing lost)",
       "recorded %d, %s" % (n, load.figures()))
    ok(n <= load.ok200 + load.lost_at_kill <= load.ok200 + 8,
       "kill -9 under load: recorded <= responses + in flight (<= 8)",
       "recorded %d, %s" % (n, load.figures()))
    ok(load.lost == load.lost_at_kill + load.lost_dying,
       "kill -9 under load: no request lost on the restarted server",
       load.figures())


def test_redis_stopped(redis, ff):
    camp = 2
    if not ff.running():
        ff.start()
    load = Load(ff, camp).start()
    try:
        time.sleep(0.5)
        mid = load.ok200
        redis.sigstop()
        try:
            time.sleep(3.0)
            during = load.ok200 - mid
        finally:
            redis.sigcont()
        time.sleep(0.5)
    finally:
        load.stop()
    n = settle(redis, camp, load.ok200)
    diag("redis SIGSTOP 3 s: %s answered_while_stopped=%d recorded=%d"
         % (load.figures(), during, n))
    ok(load.other == 0 and load.lost == 0 and load.refused == 0,
       "redis stopped: every answer 200 (non-200 = 0, no errors)",
       load.figures())
    ok(during > 0, "redis stopped: pixels kept being answered",
       "%d answers in the 3 s" % during)
    ok(n == load.ok200, "redis stopped: recorded == responses after SIGCONT",
       "recorded %d, %s" % (n, load.figures()))


def test_redis_killed(redis, ff):
    camp = 4
    if not ff.running():
        ff.start()
    load = Load(ff, camp).start()
    try:
        time.sleep(0.5)
        redis.kill()
        time.sleep(1.5)
        redis.start()
        time.sleep(1.0)
    finally:
        load.stop()
    n = settle(redis, camp, load.ok200)
    m = metric(ff, "fanfare_redis_reconnects_total")
    diag("redis kill -9 for 1.5 s, restarted from its AOF: %s recorded=%d; %s"
         % (load.figures(), n, m))
    ok(load.other == 0 and load.lost == 0 and load.refused == 0,
       "redis killed: every answer 200", load.figures())
    ok(n == load.ok200, "redis killed and restarted: recorded == responses",
       "recorded %d, %s" % (n, load.figures()))
    ok(m is not None and m.split()[-1] != "0",
       "fanfare_redis_reconnects_total counted the reconnect", m)


def test_redis_down_at_start():
    camp = 3
    r3 = Redis(start=False)
    ff3 = Fanfare(redis=r3, start=False)
    try:
        ff3.start()
    except RuntimeError as e:
        ok(False, "fanfared starts while redis is down", str(e))
        return
    ok(True, "fanfared starts while redis is down")
    st, _, body = ff3.api("GET", "/healthz")
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    ok(isinstance(j, dict) and j.get("redis") == "down",
       "API /healthz says redis down", "status %s body %r" % (st, body))
    up = metric(ff3, "fanfare_redis_up")
    ok(up is not None and up.split()[-1] == "0", "fanfare_redis_up 0", up)

    click = ff3.token("click", T, camp, 1, link=1)
    st, h, _ = ff3.http("GET", click)
    ok(st == 503, "cold click while redis is down: 503", "status %s" % st)

    load = Load(ff3, camp, nthreads=4).start()
    time.sleep(0.7)
    load.stop()
    first = load.ok200
    spool = metric(ff3, "fanfare_spool_bytes")
    diag("redis down, first process: %s; %s" % (load.figures(), spool))
    ok(load.other == 0 and load.lost == 0 and first > 0,
       "redis down: pixels answered 200", load.figures())

    ff3.kill9()
    files = sorted(os.listdir(ff3.directives["spool_dir"]))
    size = sum(os.path.getsize(os.path.join(ff3.directives["spool_dir"], f))
               for f in files)
    diag("spool after kill -9: %d files, %d bytes" % (len(files), size))
    ok(size >= first * 48,
       "spool holds every answered event after kill -9 (48 bytes each)",
       "%d bytes for %d events: %r" % (size, first, files))
    ff3.start()
    load2 = Load(ff3, camp, nthreads=4).start()
    time.sleep(0.7)
    load2.stop()
    ok(load2.other == 0 and load2.lost == 0 and load2.ok200 > 0,
       "redis still down after restart: pixels answered 200",
       load2.figures())
    total = first + load2.ok200

    r3.start()
    n = settle(r3, camp, total)
    diag("redis started late: responses=%d (%d + %d) recorded=%d"
         % (total, first, load2.ok200, n))
    ok(n == total, "spool replayed after restart: recorded == responses",
       "recorded %d responses %d" % (n, total))
    rc, out, err = ff3.link_set(T, camp, 1, "https://example.com/late")
    st, h, _ = ff3.http("GET", click)
    ok(rc == 0 and st == 302 and h.get("location") == "https://example.com/late",
       "the same click once redis is up: 302",
       "link set rc %d %r; status %s location %r"
       % (rc, err, st, h.get("location")))
    up = wait_for(lambda: (metric(ff3, "fanfare_redis_up") or "x 0")
                  .split()[-1] == "1", 5)
    ok(up, "fanfare_redis_up 1 after redis starts",
       metric(ff3, "fanfare_redis_up"))
    rc = ff3.stop()
    ok(rc == 0, "SIGTERM: exit 0", "exit %r" % (rc,))


def main():
    t0 = time.monotonic()
    redis = Redis(appendfsync="always")
    ff = Fanfare(redis=redis)
    run(test_kill9, redis, ff)
    run(test_redis_stopped, redis, ff)
    run(test_redis_killed, redis, ff)
    ff.stop()
    run(test_redis_down_at_start)
    diag("test_faults took %.1f s" % (time.monotonic() - t0))
    done()


if __name__ == "__main__":
    main()
