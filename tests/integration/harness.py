#!/usr/bin/python3
"""
harness.py: what the integration tests share.  A TAP reporter, a
throw-away redis-server on a unix socket with a 40-line RESP client, and a
throw-away fanfared (config, secret, free ports) with helpers to mint
tokens through fanfarectl and to talk HTTP to it, politely or not.

Standard library only, for Debian's /usr/bin/python3.  Every process and
temporary directory made here is removed at exit, even when a test dies.

Environment: FANFARED, FANFARECTL (binaries), FF_TEMPLATES (templates dir),
REDIS_SERVER (default redis-server), FF_CONTRIB (contrib dir), FF_KEEP=1
keeps the temporary directories for a post-mortem.
"""
import atexit
import collections
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def _bin(env, name):
    p = os.environ.get(env)
    if p:
        return p
    # Run by hand from the source tree, after `make`.
    return os.path.join(TOP, name)


FANFARED = _bin("FANFARED", "fanfared")
FANFARECTL = _bin("FANFARECTL", "fanfarectl")
TEMPLATES = os.environ.get("FF_TEMPLATES") or os.path.join(TOP, "templates")
CONTRIB = os.environ.get("FF_CONTRIB") or os.path.join(TOP, "contrib")
REDIS_SERVER = os.environ.get("REDIS_SERVER") or "redis-server"

# The 43-byte transparent GIF the pixel must answer with, byte for byte.
GIF = bytes.fromhex(
    "474946383961010001008001000000"
    "00ffffff21f90401000000002c0000"
    "0000010001000002024401003b")
assert len(GIF) == 43

NO_CACHE = {
    "cache-control": "no-store, no-cache, must-revalidate, private, max-age=0",
    "pragma": "no-cache",
    "expires": "0",
}

# A browser: http.client sends no User-Agent at all, which is a machine.
HUMAN_UA = ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
            "Firefox/128.0")

# ------------------------------------------------------------------ TAP

_n = 0
_failed = 0
_diag_hooks = []        # callables returning lines to show under a failure


def diag(msg):
    """Prints TAP diagnostic lines ("# ...")."""
    _diag_print(msg)


def _diag_print(msg):
    for line in str(msg).splitlines() or [""]:
        sys.stdout.write("# " + line + "\n")
    sys.stdout.flush()


def ok(cond, name, diag=None):
    """One TAP test line; on failure the diagnostics, then the tail of
    every fanfared's stderr."""
    global _n, _failed
    _n += 1
    name = " ".join(str(name).split()).replace("#", "")
    sys.stdout.write("%s %d - %s\n" % ("ok" if cond else "not ok", _n, name))
    sys.stdout.flush()
    if not cond:
        _failed += 1
        if diag is not None:
            _diag_print(diag)
        for hook in _diag_hooks:
            try:
                for line in hook():
                    _diag_print(line)
            except Exception:       # a broken hook must not hide the failure
                pass
    return bool(cond)


def skip(name, reason):
    """One TAP test line that did not run ("ok N - name # SKIP reason")."""
    global _n
    _n += 1
    name = " ".join(str(name).split()).replace("#", "")
    sys.stdout.write("ok %d - %s # SKIP %s\n" % (_n, name, reason))
    sys.stdout.flush()


def run(fn, *args, **kwargs):
    """Runs one test function; a crash is a "not ok" with its traceback,
    never a silent exit.  Returns the function's value, or None."""
    try:
        return fn(*args, **kwargs)
    except Exception:
        ok(False, "%s ran to completion" % fn.__name__,
           traceback.format_exc())
        return None


def done():
    """Prints the plan and exits: 0 iff every test was ok."""
    _check_sanitizer_reports()
    sys.stdout.write("1..%d\n" % _n)
    sys.stdout.flush()
    sys.exit(1 if _failed or _n == 0 else 0)


def _excepthook(tp, val, tb):
    # A crash outside run(): still TAP, still a plan, still non-zero.
    ok(False, "test script ran to completion",
       "".join(traceback.format_exception(tp, val, tb)))
    sys.stdout.write("1..%d\n" % _n)
    sys.stdout.flush()


sys.excepthook = _excepthook


def _on_signal(signo, frame):
    # make's timeout or Ctrl-C: leave through atexit so nothing lingers.
    sys.exit(128 + signo)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)

# -------------------------------------------------------------- cleanup

_procs = []
_dirs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait(5)
            except Exception:
                pass
    if os.environ.get("FF_KEEP") != "1":
        for d in _dirs:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def tmpdir(prefix="ff-"):
    # Short paths: a unix socket path must fit in 108 bytes.
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    _dirs.append(d)
    return d


def spawn(argv, logpath, **kw):
    log = open(logpath, "ab")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT, **kw)
    log.close()
    _procs.append(p)
    return p


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return ["(%s)" % e]
    return lines[-n:]


def wait_for(fn, timeout=5.0, interval=0.05):
    """Polls fn() until it returns something true; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


_given_ports = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A free port below the kernel's ephemeral range: a port the kernel
    gave out (bind to 0) may be taken as the source port of an outgoing
    connection (wrk, fanfared's Redis links) before the server meant to
    have it binds it, which made loaded runs fail now and then."""
    import random
    high = min(_ephemeral_low(), 65536) - 1
    low = max(1024, high - 12000)
    for _ in range(200):
        port = random.randint(low, high)
        if port in _given_ports:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _given_ports.add(port)
        return port
    raise RuntimeError("no free port in %d-%d" % (low, high))

# ---------------------------------------------------------------- redis


class RedisError(Exception):
    pass


def _resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self.line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.exact(n).decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RedisError("bad RESP type %r" % line)


CLUSTER = os.environ.get("FF_TEST_REDIS") == "cluster"


def Redis(dir=None, start=True, appendfsync="everysec"):
    """A throw-away Redis for one test: one redis-server (OneRedis), or
    with FF_TEST_REDIS=cluster a Redis Cluster of three masters and three
    replicas (rcluster.py), so that the same tests run on either."""
    if CLUSTER:
        import rcluster
        return rcluster.RedisCluster(appendfsync=appendfsync)
    return OneRedis(dir=dir, start=start, appendfsync=appendfsync)


class OneRedis:
    """redis-server on a unix socket in its own directory, AOF on."""

    def __init__(self, dir=None, start=True, appendfsync="everysec"):
        self.dir = dir or tmpdir("ff-redis-")
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "redis.sock")
        self.log = os.path.join(self.dir, "redis.log")
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("port 0\nunixsocket %s\nunixsocketperm 700\n"
                    "dir %s\nappendonly yes\nappendfsync %s\n"
                    "save \"\"\ndaemonize no\nlogfile %s\n"
                    % (self.sock, self.dir, appendfsync, self.log))
        self.proc = None
        _diag_hooks.append(self._diag)
        if start:
            self.start()

    def _diag(self):
        if self.proc is None or self.proc.poll() is not None:
            return ["redis %s is not running" % self.sock]
        return []

    def start(self, timeout=10.0):
        self.proc = spawn([REDIS_SERVER, self.conf], self.log + ".out")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: %s"
                                   % "\n".join(tail(self.log + ".out")
                                               + tail(self.log)))
            try:
                if self.cmd("PING") == "PONG":
                    return self
            except (OSError, RedisError):
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def cmd(self, *args, timeout=5.0):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            s.sendall(_resp_encode(args))
            r = _Reader(s).reply()
        finally:
            s.close()
        if isinstance(r, RedisError):
            raise r
        return r

    def hgetall(self, key):
        r = self.cmd("HGETALL", key) or []
        return dict(zip(r[0::2], r[1::2]))

    def keys(self, pattern="*"):
        """Every key matching a SCAN pattern (RedisCluster: on every
        master)."""
        out, cursor = [], "0"
        while True:
            cursor, keys = self.cmd("SCAN", cursor, "MATCH", pattern,
                                    "COUNT", 1000)
            out += [k.decode() if isinstance(k, bytes) else k for k in keys]
            cursor = cursor.decode() if isinstance(cursor, bytes) else cursor
            if cursor == "0":
                return sorted(set(out))

    def endpoint(self):
        """The value of fanfare.conf's redis directive."""
        return "unix:%s" % self.sock

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.running():
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(15)

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(5)

    def sigstop(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def sigcont(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def restart(self):
        self.stop()
        return self.start()

# -------------------------------------------------------------- fanfare


def stats_key(tenant, campaign, what="stats"):
    return "{t:%d:c:%d}:%s" % (tenant, campaign, what)


# ----------------------------------------------------------- sanitizers

# A sanitizer build (configure --enable-sanitizers) runs the tests with
# ASAN_OPTIONS set.  Every fanfared and fanfarectl started from here (or
# by a script started from here) then writes any ASan, LeakSanitizer or
# UBSan report to a file of this directory, named report.PID, instead
# of a stderr that a test may never read; done() fails on any such file.
# Python and redis-server are not built with sanitizers: the variables
# mean nothing to them.
_san_dir = None
_fanfares = []          # every Fanfare, to stop before the check
if os.environ.get("ASAN_OPTIONS") is not None:
    _san_dir = tmpdir("ff-san-")
    for _var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        os.environ[_var] = ":".join(
            [o for o in os.environ.get(_var, "").split(":")
             if o and not o.startswith("log_path=")]
            + ["log_path=" + os.path.join(_san_dir, "report")])


# Memory figures mean nothing under ASan: it keeps freed memory in
# quarantine (256 MB by default) and pads every allocation.
SANITIZED = _san_dir is not None


def _check_sanitizer_reports():
    if _san_dir is None:
        return
    # A daemon still running would be SIGKILLed at exit, unchecked: stop
    # it as an operator would, so its shutdown is checked for leaks too.
    for ff in _fanfares:
        if ff.running():
            ff.stop()
    reports = sorted(os.listdir(_san_dir))
    text = []
    for name in reports:
        with open(os.path.join(_san_dir, name), errors="replace") as f:
            text.append("---- %s\n%s" % (name, f.read()[-6000:]))
    ok(not reports, "no sanitizer report from fanfared or fanfarectl",
       "\n".join(text))


class Fanfare:
    """A fanfared of its own: secret, config, spool, free ports.

    directives override or add config lines (a list value repeats the
    directive, None drops it).  start=False only writes the config (to
    mint tokens with another secret, or to start later)."""

    def __init__(self, dir=None, redis=None, start=True, secret=None,
                 **directives):
        self.dir = dir or tmpdir("ff-fanfare-")
        os.makedirs(self.dir, exist_ok=True)
        self.redis = redis
        self.track_port = free_port()
        self.api_port = free_port()
        self.secret_file = os.path.join(self.dir, "token.secret")
        if secret is None:
            import base64
            secret = base64.b64encode(os.urandom(32))
        with open(self.secret_file, "wb") as f:
            f.write(secret if isinstance(secret, bytes) else secret.encode())
        os.chmod(self.secret_file, 0o600)
        self.conf = os.path.join(self.dir, "fanfare.conf")
        self.log = os.path.join(self.dir, "fanfared.log")
        d = {
            "track_listen": "127.0.0.1:%d" % self.track_port,
            "api_listen": "127.0.0.1:%d" % self.api_port,
            "redis": redis.endpoint() if redis else None,
            "token_secret_file": self.secret_file,
            "public_url": "http://127.0.0.1:%d" % self.track_port,
            "spool_dir": os.path.join(self.dir, "spool"),
            "templates_dir": TEMPLATES,
            "special_categories_file": os.path.join(
                CONTRIB, "special-categories.conf"),
            "threads": "2",
            "node_id": os.path.basename(self.dir),
            # The tests send from made-up domains (acme.test ...);
            # test_domains.py turns it off (None) to test the check.
            "allow_unverified_from": "on",
        }
        d.update(directives)
        self.directives = d
        os.makedirs(d["spool_dir"], exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("# written by tests/integration/harness.py\n")
            for k, v in d.items():
                for one in (v if isinstance(v, (list, tuple)) else [v]):
                    if one is not None:
                        f.write("%s %s\n" % (k, one))
        self.proc = None
        self.raw_eof = None
        _diag_hooks.append(self._diag)
        _fanfares.append(self)
        if start:
            self.start()

    def _diag(self):
        if self.proc is None:
            return []
        state = ("running" if self.proc.poll() is None
                 else "exited %s" % self.proc.returncode)
        return (["fanfared on :%d (%s), last lines of its stderr:"
                 % (self.track_port, state)]
                + ["  " + l for l in tail(self.log, 20)])

    # -- process

    def start(self, timeout=10.0):
        with open(self.log, "ab") as f:
            f.write(b"---- start %f\n" % time.time())
        self.proc = spawn([FANFARED, "-c", self.conf], self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("fanfared exited with %s:\n%s" % (
                    self.proc.returncode, "\n".join(tail(self.log))))
            try:
                if self.http("GET", "/healthz", timeout=1)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("fanfared: no 200 on /healthz within %.0f s:\n%s"
                           % (timeout, "\n".join(tail(self.log))))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.running():
            self.proc.kill()
            self.proc.wait(5)

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit status (None: had to kill)."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def restart(self):
        self.stop()
        return self.start()

    # -- fanfarectl

    def ctl(self, *args, config=True, timeout=20):
        """Runs fanfarectl; --config goes after the command words
        ("token open --config F ...", "stats --config F ...")."""
        args = [str(a) for a in args]
        if config:
            i = 0
            while i < min(2, len(args)) and not args[i].startswith("-"):
                i += 1
            args[i:i] = ["--config", self.conf]
        p = subprocess.run([FANFARECTL] + args, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def token(self, kind, tenant, campaign, contact, link=None):
        kind = {"o": "open", "c": "click", "u": "unsubscribe"}.get(kind, kind)
        args = ["token", kind, "--tenant", tenant, "--campaign", campaign,
                "--contact", contact]
        if link is not None:
            args += ["--link", link]
        rc, out, err = self.ctl(*args)
        if rc != 0:
            raise RuntimeError("fanfarectl %s: exit %d: %s"
                               % (" ".join(map(str, args)), rc, err.strip()))
        return out.strip()

    def link_set(self, tenant, campaign, link, url):
        return self.ctl("link", "set", "--tenant", tenant, "--campaign",
                        campaign, "--link", link, "--url", url)

    def stats(self, tenant, campaign):
        rc, out, err = self.ctl("stats", "--tenant", tenant,
                                "--campaign", campaign)
        if rc != 0:
            raise RuntimeError("fanfarectl stats: exit %d: %s" % (rc, err))
        return json.loads(out)

    # -- HTTP

    def http(self, method, path, headers=None, body=None, port=None,
             timeout=10):
        """(status, headers with lowercased names, body bytes).  Sends a
        browser User-Agent unless headers say otherwise ({"User-Agent":
        None} sends none)."""
        h = {"User-Agent": HUMAN_UA}
        for k, v in (headers or {}).items():
            for old in [x for x in h if x.lower() == k.lower()]:
                del h[old]
            h[k] = v
        h = {k: v for k, v in h.items() if v is not None}
        c = http.client.HTTPConnection("127.0.0.1", port or self.track_port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return (r.status, {k.lower(): v for k, v in r.getheaders()},
                    data)
        finally:
            c.close()

    def api(self, method, path, **kw):
        return self.http(method, path, port=self.api_port, **kw)

    def raw(self, data, port=None, timeout=5.0):
        """Sends bytes as they are, returns all bytes read until the
        server closes (self.raw_eof = True) or timeout passes."""
        s = socket.create_connection(("127.0.0.1", port or self.track_port),
                                     timeout=timeout)
        out = b""
        self.raw_eof = False
        deadline = time.monotonic() + timeout
        try:
            try:
                s.sendall(data)
            except OSError:
                pass            # answered and closed early: read what came
            while time.monotonic() < deadline:
                s.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except OSError:
                    self.raw_eof = True
                    break
                if not chunk:
                    self.raw_eof = True
                    break
                out += chunk
        finally:
            s.close()
        return out

    def metrics(self):
        st, _, body = self.api("GET", "/metrics")
        return st, body.decode("utf-8", "replace")


def counters(redis, tenant, campaign):
    """The stats hash as ints (missing fields are 0 via .get)."""
    return {k: int(v) for k, v in
            redis.hgetall(stats_key(tenant, campaign)).items()}


def events(redis, tenant, campaign):
    """All per-person records of the events stream, as lists of fields
    [ts_ms, kind, contact, link, country, flags]."""
    out = []
    for _id, fields in redis.cmd("XRANGE", stats_key(tenant, campaign,
                                                      "events"), "-", "+"):
        f = dict(zip(fields[0::2], fields[1::2]))
        for line in (f.get("e") or "").split("\n"):
            if line.strip():
                out.append(line.split())
    return out


def status_lines(raw):
    """The status codes of every HTTP response found in raw bytes (a
    status line may follow a body directly, with no CRLF before it)."""
    return [int(m.group(1)) for m in
            re.finditer(rb"HTTP/1\.[01] (\d{3}) ", raw)]


def dump_keys(redis, patterns):
    """Every key matching one of the SCAN patterns, with everything it
    holds, as (key, type, [strings])."""
    out = []
    for pattern in patterns:
        for k in redis.keys(pattern):
            t = redis.cmd("TYPE", k)
            t = t.decode() if isinstance(t, bytes) else t
            if t == "string":
                vals = [redis.cmd("GET", k)]
            elif t == "hash":
                vals = redis.cmd("HGETALL", k)
            elif t == "set":
                vals = redis.cmd("SMEMBERS", k)
            elif t == "zset":
                vals = redis.cmd("ZRANGE", k, 0, -1)
            elif t == "stream":
                vals = []
                for _, fields in redis.cmd("XRANGE", k, "-", "+"):
                    vals += fields
            else:
                vals = []
            vals = [v.decode("utf-8", "replace") if isinstance(v, bytes)
                    else str(v) for v in vals]
            out.append((k, t, vals))
    return out


def dump_tenant(redis, tid):
    """Every key of the tenant with everything it holds, as strings."""
    return dump_keys(redis, ("{t:%s}*" % tid, "{t:%s:c:*" % tid))


def address_leaks(dump, email):
    """The (key, value) pairs of a dump that hold the address."""
    low = email.lower()
    return [(k, v) for k, t, vals in dump for v in [k] + vals
            if low in v.lower()]


def contact_id_leaks(dump, cid):
    """The keys of a tenant's dump that still name contact cid: its own
    keys, sets of contact ids, event lines and the address index."""
    idleaks = []
    for k, t, vals in dump:
        if (":ct:%s" % cid) in k + ":":
            idleaks.append(k)
        # Sets whose members are contact ids ("N:contact" for links).
        holds_contacts = k.endswith((":openers", ":clickers",
                                     ":unsubscribers", ":link_clickers",
                                     ":members", ":optout_ids"))
        if holds_contacts and any(v == cid or v.endswith(":" + cid)
                                  for v in vals):
            idleaks.append(k)
        if t == "stream" and "events" in k:
            for v in vals:
                for line in v.splitlines():
                    parts = line.split()
                    if len(parts) == 6 and parts[2] == cid:
                        idleaks.append(k)
        if t == "hash" and k.endswith(":ct:bykey") and cid in vals:
            idleaks.append(k)
    return idleaks


# ---------------------------------------- campaigns: relay and JSON API
# For the tests that send real campaigns (test_delivery, test_dashboard).

_smtp_capture = None


def smtp_capture():
    """contrib/smtp-capture.py as a module, loaded on first use (it is a
    script, not a package; its reading side is standard library only)."""
    global _smtp_capture
    if _smtp_capture is None:
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            "smtp_capture", os.path.join(CONTRIB, "smtp-capture.py"))
        _smtp_capture = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_smtp_capture)
    return _smtp_capture



class Relay:
    """smtp-capture.py on one fixed port (fanfared's smtp_relay), started
    afresh, with a new directory and a new faults file, for each test."""

    def __init__(self, args=()):
        self.port = free_port()
        self.args = list(args)  # smtp-capture.py's options, e.g.
        self.srv = None         # ["--no-8bitmime"]
        self.dir = None
        self.faults = None
        self.owned = []         # directories outside /tmp to remove
        atexit.register(self.close)

    def fresh(self, faults=None, base=None):
        self.stop()
        if base is None:
            parent = tmpdir("ff-smtp-")
        else:
            parent = tempfile.mkdtemp(prefix="ff-smtp-", dir=base)
            self.owned.append(parent)
        self.dir = os.path.join(parent, "cap")
        os.makedirs(self.dir)
        self.faults = os.path.join(parent, "faults.json")
        smtp_capture().write_faults(self.faults, faults)
        self.srv = smtp_capture().CaptureServer(
            self.dir, faults=self.faults,
            listen="127.0.0.1:%d" % self.port, args=self.args)
        return self

    def set_faults(self, faults):
        smtp_capture().write_faults(self.faults, faults)

    def stop(self):
        if self.srv is not None:
            self.srv.stop()
            self.srv = None

    def close(self):
        self.stop()
        if os.environ.get("FF_KEEP") != "1":
            for d in self.owned:
                shutil.rmtree(d, ignore_errors=True)
        self.owned = []

    def log(self):
        return smtp_capture().read_log(self.dir)

    def accepted(self):
        return [e for e in self.log() if "seq" in e]

    def refused(self):
        return [e for e in self.log() if "refused" in e]

    def by_rcpt(self):
        """{recipient (lowercase): [(log entry, message bytes)]}."""
        out = collections.defaultdict(list)
        for e in self.accepted():
            with open(os.path.join(self.dir, e["file"]), "rb") as f:
                raw = f.read()
            for r in e["rcpt_tos"]:
                out[r.lower()].append((e, raw))
        return out




def call(ff, method, path, key=None, body=None):
    """(status, decoded JSON or None, raw bytes)."""
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    data = json.dumps(body).encode() if body is not None else None
    st, _, out = ff.api(method, path, headers=h, body=data, timeout=60)
    try:
        return st, json.loads(out) if out else None, out
    except ValueError:
        return st, None, out


def session_call(ff, method, path, key=None, body=None, cookie=None,
                 csrf=None):
    """call() with a session cookie and CSRF token as well:
    (status, JSON or None, headers, raw)."""
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    if cookie is not None:
        h["Cookie"] = cookie
    if csrf is not None:
        h["X-CSRF-Token"] = csrf
    data = json.dumps(body).encode() if body is not None else None
    st, hdrs, out = ff.api(method, path, headers=h, body=data, timeout=60)
    try:
        js = json.loads(out) if out else None
    except ValueError:
        js = None
    return st, js, hdrs, out


def must(what, res, status=200):
    st, js, raw = res
    if st != status:
        raise AssertionError("%s: want %d, got %d %s"
                             % (what, status, st, raw[:500]))
    return js


def new_tenant(ff, name):
    admin = ff.directives.get("admin_key")
    js = must("POST /v1/tenants", call(ff, "POST", "/v1/tenants", admin,
                                       {"name": name}), 201)
    return js["id"], js["api_key"]


def add_contacts(ff, key, rows):
    """POST /v1/contacts in arrays of up to 10,000; every row accepted."""
    for b in range(0, len(rows), 10000):
        chunk = rows[b:b + 10000]
        js = must("POST /v1/contacts", call(ff, "POST", "/v1/contacts", key,
                                            chunk))
        if js["rejected"] or js["created"] + js["updated"] != len(chunk):
            raise AssertionError("contacts: %r" % (js,))


def new_list(ff, key, emails, name="L"):
    lid = must("POST /v1/lists", call(ff, "POST", "/v1/lists", key,
                                      {"name": name}), 201)["id"]
    for b in range(0, len(emails), 10000):
        js = must("POST members", call(
            ff, "POST", "/v1/lists/%s/members" % lid, key,
            {"emails": emails[b:b + 10000]}))
        if js["added"] != len(emails[b:b + 10000]) or js["missing"]:
            raise AssertionError("list members: %r" % (js,))
    return lid


def new_template(ff, key, subject, html_src, text):
    return must("POST /v1/templates", call(
        ff, "POST", "/v1/templates", key, {"name": "t", "subject": subject,
                                           "html": html_src, "text": text}),
        201)["id"]


def new_campaign(ff, key, tpl, lid, **extra):
    body = {"name": "c", "template_id": tpl, "list_id": lid,
            "from": "News Team <news@acme.test>"}
    body.update(extra)
    js = must("POST /v1/campaigns", call(ff, "POST", "/v1/campaigns", key,
                                         body), 201)
    return js["id"]


def launch(ff, key, cid):
    return must("launch", call(ff, "POST", "/v1/campaigns/%s/launch" % cid,
                               key), 202)


def campaign(ff, key, cid):
    st, js, _ = call(ff, "GET", "/v1/campaigns/%s" % cid, key)
    return js if st == 200 and js else {}


def stats(ff, key, cid):
    st, js, _ = call(ff, "GET", "/v1/campaigns/%s/stats" % cid, key)
    return js if st == 200 and js else {}


def wait_done(ff, key, cid, timeout=30.0):
    """The campaign once GET says done (or as it is at the timeout)."""
    got = wait_for(lambda: (lambda js: js if js.get("status") == "done"
                            else None)(campaign(ff, key, cid)),
                   timeout=timeout, interval=0.1)
    return got or campaign(ff, key, cid)


def public_path(ff, url):
    base = ff.directives["public_url"]
    return url[len(base):] if url.startswith(base) else None


class LogTail:
    """smtp-capture's log.jsonl, read incrementally (big tests poll it
    often): .accepted and .refused grow; poll() returns len(accepted)."""

    def __init__(self, dir):
        self.path = os.path.join(dir, "log.jsonl")
        self.off = 0
        self.rest = b""
        self.accepted = []
        self.refused = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return len(self.accepted)
        self.off += len(data)
        data = self.rest + data
        lines = data.split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            if line.strip():
                e = json.loads(line)
                (self.accepted if "seq" in e else self.refused).append(e)
        return len(self.accepted)


# ---------------------------------------------------------------- nginx

NGINX_MAIN = """daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections %(conns)d; }
http {
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    include %(d)s/tracking.conf;
}
"""


def can_connect(port, host="127.0.0.1"):
    """Whether something accepts connections on host:port now."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def nginx_binary():
    """Debian's nginx, or None when it is not installed."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def nginx_main_conf(d, conns=64):
    """The main nginx.conf of a private nginx in d, which includes
    d/tracking.conf (the server block a test writes)."""
    return NGINX_MAIN % {"d": d, "conns": conns}
