#!/usr/bin/python3
"""
rcluster.py: a real Redis Cluster for the integration tests.  N masters
and N replicas of Debian's redis-server on free loopback ports, each in
its own temporary directory with AOF on and a 2 s node timeout (so a
failover takes seconds, not the default 15+), joined with
`redis-cli --cluster create --cluster-replicas 1`.

RedisCluster has harness.Redis's cmd, hgetall, running and stop, so a
test can take either; cmd routes by key slot (CRC16 with the hash-tag
rule, as src/redis_slot.c does), follows MOVED and ASK, and refreshes
its slot map from CLUSTER SLOTS.  For fanfared, seeds() is the value of
the `redis` directive.

Standard library only, for Debian's /usr/bin/python3.  The processes and
directories come from harness.spawn and harness.tmpdir, so harness's
exit cleanup removes them even when a test dies.

Environment: REDIS_SERVER as in harness; REDIS_CLI (default: the
redis-cli beside REDIS_SERVER, else redis-cli on PATH).
"""
import atexit
import os
import signal
import socket
import subprocess
import threading
import time

import harness
from harness import (REDIS_SERVER, RedisError, _Reader, _resp_encode,
                     free_port, spawn, tail, tmpdir, wait_for)

SLOTS = 16384
HOST = "127.0.0.1"


def _redis_cli():
    p = os.environ.get("REDIS_CLI")
    if p:
        return p
    if os.path.isabs(REDIS_SERVER):
        sib = os.path.join(os.path.dirname(REDIS_SERVER), "redis-cli")
        if os.access(sib, os.X_OK):
            return sib
    return "redis-cli"


REDIS_CLI = _redis_cli()

# ------------------------------------------------------ slots, as in C


def _crc16_table():
    t = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        t.append(c & 0xffff)
    return t


_CRC16 = _crc16_table()


def crc16(data):
    """CRC16-CCITT (XMODEM): crc16(b"123456789") == 0x31C3."""
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xffff) ^ _CRC16[((crc >> 8) ^ b) & 0xff]
    return crc


def _b(x):
    if isinstance(x, bytes):
        return x
    return str(x).encode()


def slot_of(key):
    """The hash slot of a key (str or bytes), with the hash-tag rule."""
    key = _b(key)
    s = key.find(b"{")
    if s != -1:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) % SLOTS


# Mirrors slot_command_key() in src/redis_slot.c.
_KEYLESS = frozenset("""ACL ASKING AUTH BGREWRITEAOF BGSAVE CLIENT CLUSTER
    COMMAND CONFIG DBSIZE DEBUG DISCARD ECHO EXEC FAILOVER FLUSHALL FLUSHDB
    FUNCTION HELLO INFO KEYS LASTSAVE LATENCY LOLWUT MODULE MONITOR MULTI
    PING PSUBSCRIBE PSYNC PUBLISH PUBSUB PUNSUBSCRIBE QUIT RANDOMKEY
    READONLY READWRITE REPLICAOF RESET ROLE SAVE SCAN SCRIPT SELECT
    SHUTDOWN SLAVEOF SLOWLOG SUBSCRIBE SWAPDB SYNC TIME UNSUBSCRIBE UNWATCH
    WAIT WAITAOF""".split())
_NUMKEYS = frozenset("EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO".split())
_KEY_SECOND = frozenset("BITOP OBJECT XGROUP XINFO".split())


def command_key(args):
    """Index in args of the key that routes the command, or None."""
    if len(args) < 2:
        return None
    a = [_b(x).upper() for x in args]
    name = a[0].decode("latin-1")
    if name in _KEYLESS:
        return None
    if name in _NUMKEYS:
        n = a[2] if len(a) > 2 else b""
        if not n.isdigit() or not 0 < int(n) <= len(a) - 3:
            return None
        return 3
    if name in ("XREAD", "XREADGROUP"):
        i = 1
        while i < len(a):
            if a[i] in (b"BLOCK", b"COUNT"):
                i += 2
            elif a[i] == b"GROUP":
                i += 3
            elif a[i] == b"NOACK":
                i += 1
            elif a[i] == b"STREAMS":
                rest = len(a) - i - 1
                return i + 1 if rest and rest % 2 == 0 else None
            else:
                return None
        return None
    if name in _KEY_SECOND:
        return 2 if len(a) >= 3 else None
    if name == "MEMORY":
        return 2 if len(a) >= 3 and a[1] == b"USAGE" else None
    return 1


def command_slot(args):
    k = command_key(args)
    return None if k is None else slot_of(args[k])


def parse_redirect(msg):
    """("MOVED"|"ASK", slot, "host:port") from an error's text, or None.
    An empty host (the cluster does not know its endpoints) is ours."""
    parts = str(msg).split(" ")
    if len(parts) != 3 or parts[0] not in ("MOVED", "ASK"):
        return None
    host, _, port = parts[2].rpartition(":")
    if not parts[1].isdigit() or not port.isdigit():
        return None
    return parts[0], int(parts[1]), "%s:%s" % (host or HOST, port)

# ----------------------------------------------------------------- nodes


class Node:
    """One redis-server of the cluster: TCP port, bus port, directory."""

    def __init__(self, node_timeout_ms, appendfsync):
        self.node_timeout_ms = node_timeout_ms
        self.appendfsync = appendfsync
        self.dir = None
        self._pick_ports()
        self.proc = None

    def _pick_ports(self):
        """Free ports now; another process may take one before redis binds
        it (see rebind)."""
        self.port = free_port()
        self.bus_port = free_port()
        while self.bus_port == self.port:
            self.bus_port = free_port()
        self.addr = "%s:%d" % (HOST, self.port)
        if self.dir is None:
            self.dir = tmpdir("ff-rc-%d-" % self.port)
        self.log = os.path.join(self.dir, "redis.log")
        self.conf = os.path.join(self.dir, "redis.conf")
        # cluster-port: the default bus port (port + 10000) may be taken,
        # or past 65535 for an ephemeral port.  No 5 s wait before a
        # replica's first sync: the cluster is only ready once they are.
        with open(self.conf, "w") as f:
            f.write("bind %s\nport %d\ncluster-port %d\n"
                    "cluster-enabled yes\ncluster-config-file nodes.conf\n"
                    "cluster-node-timeout %d\n"
                    "dir %s\nappendonly yes\nappendfsync %s\n"
                    "save \"\"\ndaemonize no\nlogfile %s\n"
                    "repl-diskless-sync-delay 0\n"
                    % (HOST, self.port, self.bus_port, self.node_timeout_ms,
                       self.dir, self.appendfsync, self.log))

    def lost_a_port(self):
        """Exited because a port it was given was taken meanwhile."""
        return (not self.running() and any(
            "Address already in use" in line for line in self.why_dead()))

    def rebind(self):
        """New ports and a fresh start (before the cluster is created)."""
        for f in ("redis.log", "redis.log.out", "nodes.conf"):
            try:
                os.unlink(os.path.join(self.dir, f))
            except OSError:
                pass
        self._pick_ports()
        return self.start()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self):
        self.proc = spawn([REDIS_SERVER, self.conf], self.log + ".out")
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def why_dead(self):
        return tail(self.log + ".out") + tail(self.log)


class RedisCluster:
    """masters masters and as many replicas, joined, cluster_state:ok on
    every node before the constructor returns.

    Not for concurrent use from several threads beyond what its lock
    serialises: one connection per node, kept open so that WAIT counts
    the writes cmd() sent on it."""

    def __init__(self, masters=3, replicas_per_master=1,
                 node_timeout_ms=2000, appendfsync="everysec",
                 timeout=60.0):
        self.nodes = [Node(node_timeout_ms, appendfsync)
                      for _ in range(masters * (1 + replicas_per_master))]
        self.by_addr = {n.addr: n for n in self.nodes}
        self.nmasters = masters
        self.killed = []                # addrs kill_master_of took down
        self.redirects = {"MOVED": 0, "ASK": 0}
        self._conns = {}                # addr -> (socket, _Reader)
        self._owner = [None] * SLOTS    # slot -> addr of its master
        self._lock = threading.RLock()
        self._stopped = False
        self.start_seconds = None
        harness._diag_hooks.append(self._diag)
        # Registered after harness's cleanup, so it runs first: a clean
        # SIGTERM before harness's SIGKILL and rmtree.
        atexit.register(self.stop)
        self._start(replicas_per_master, timeout)

    # -- start

    def _start(self, replicas_per_master, timeout):
        t0 = time.monotonic()
        for n in self.nodes:
            n.start()
        for n in self.nodes:
            self._wait_ping(n, t0 + timeout)
        # The first `masters` nodes listed become the masters (one host:
        # redis-cli takes them in order); the seeds are those.
        self._seeds = [n.addr for n in self.nodes[:self.nmasters]]
        p = subprocess.run(
            [REDIS_CLI, "--cluster", "create"]
            + [n.addr for n in self.nodes]
            + ["--cluster-replicas", str(replicas_per_master),
               "--cluster-yes"],
            stdin=subprocess.DEVNULL, capture_output=True,
            timeout=max(1.0, t0 + timeout - time.monotonic()))
        if p.returncode != 0:
            raise RuntimeError("redis-cli --cluster create: %s\n%s" % (
                p.returncode, (p.stdout + p.stderr).decode("utf-8",
                                                             "replace")))
        ok = wait_for(self._formed, timeout=max(
            0.1, t0 + timeout - time.monotonic()), interval=0.1)
        if not ok:
            raise RuntimeError("cluster not ok within %.0f s: %s"
                               % (timeout, self._state_summary()))
        self.refresh()
        self.start_seconds = time.monotonic() - t0

    def _wait_ping(self, node, deadline):
        rebinds = 0
        while time.monotonic() < deadline:
            if node.lost_a_port() and rebinds < 5:
                rebinds += 1
                old = node.addr
                node.rebind()
                del self.by_addr[old]
                self.by_addr[node.addr] = node
                continue
            if not node.running():
                raise RuntimeError("redis-server %s exited:\n%s"
                                   % (node.addr, "\n".join(node.why_dead())))
            try:
                if self.cmd_at(node.addr, "PING", timeout=1.0) == "PONG":
                    return
            except (OSError, RedisError):
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server %s did not answer PING" % node.addr)

    def _formed(self):
        """Every node ok and covering every slot, and every master with
        its replicas online (WAIT needs their link up)."""
        if not self._all_ok():
            return False
        want = (len(self.nodes) - self.nmasters) // self.nmasters
        for addr, _ in self.masters():
            info = self._info(addr, "replication")
            online = sum(1 for k, v in info.items()
                         if k.startswith("slave") and k[5:].isdigit()
                         and "state=online" in v)
            if online < want:
                return False
        return True

    # -- connections

    def _conn(self, addr, timeout):
        c = self._conns.get(addr)
        if c is None:
            host, _, port = addr.rpartition(":")
            s = socket.create_connection((host, int(port)), timeout=timeout)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c = self._conns[addr] = (s, _Reader(s))
        return c

    def _drop(self, addr):
        c = self._conns.pop(addr, None)
        if c is not None:
            c[0].close()

    def _call(self, addr, args, timeout, asking=False):
        """One command on addr's kept connection; the reply, errors as
        RedisError values.  A dead or desynchronised connection is
        dropped and the OSError raised."""
        with self._lock:
            s, reader = self._conn(addr, timeout)
            try:
                s.settimeout(timeout)
                s.sendall((_resp_encode(["ASKING"]) if asking else b"")
                          + _resp_encode(args))
                if asking:
                    reader.reply()
                return reader.reply()
            except OSError:
                self._drop(addr)
                raise

    def cmd_at(self, addr, *args, timeout=5.0):
        """A command on one node ("host:port"), no routing."""
        r = self._call(addr, args, timeout)
        if isinstance(r, RedisError):
            raise r
        return r

    # -- routing

    def refresh(self):
        """The slot map again, from the first live node that answers
        CLUSTER SLOTS (seeds first).  False when none did."""
        with self._lock:
            order = self._seeds + [n.addr for n in self.nodes
                                   if n.addr not in self._seeds]
            for addr in order:
                if not self.by_addr[addr].running():
                    continue
                try:
                    reply = self.cmd_at(addr, "CLUSTER", "SLOTS", timeout=2.0)
                except (OSError, RedisError):
                    continue
                self._owner = self._slot_owners(reply, addr)
                return True
            return False

    @staticmethod
    def _slot_owners(reply, asked):
        owner = [None] * SLOTS
        for r in reply or []:
            host, port = r[2][0], r[2][1]
            addr = "%s:%d" % (host or asked.rpartition(":")[0], port)
            for s in range(r[0], r[1] + 1):
                owner[s] = addr
        return owner

    def _some_master(self):
        for addr in self._owner:
            if addr is not None and self.by_addr.get(addr) and \
                    self.by_addr[addr].running():
                return addr
        for n in self.nodes:
            if n.running():
                return n.addr
        raise RedisError("no redis-server of the cluster is running")

    def cmd(self, *args, timeout=5.0):
        """A command sent to the master of its key's slot (any master for
        a keyless one), following MOVED and ASK.  A node that cannot be
        reached makes it refresh the slot map and try once more; errors
        other than redirects (CLUSTERDOWN, TRYAGAIN...) are raised."""
        with self._lock:
            slot = command_slot(args)
            addr = self._owner[slot] if slot is not None else None
            addr = addr or self._some_master()
            asking = False
            retried = False
            for _ in range(16):
                try:
                    r = self._call(addr, args, timeout, asking)
                except OSError:
                    if retried:
                        raise
                    retried = True
                    self.refresh()
                    addr = ((self._owner[slot] if slot is not None
                             else None) or self._some_master())
                    asking = False
                    continue
                asking = False
                if isinstance(r, RedisError):
                    red = parse_redirect(r)
                    if red is None:
                        raise r
                    kind, rslot, addr = red
                    self.redirects[kind] += 1
                    if kind == "MOVED":
                        # One slot moved means a map that is out of date.
                        self._owner[rslot] = addr
                        self.refresh()
                    else:
                        asking = True
                    continue
                return r
            raise RedisError("too many redirects for %s" % (args[:2],))

    def hgetall(self, key):
        r = self.cmd("HGETALL", key) or []
        return dict(zip(r[0::2], r[1::2]))

    def slot_owner(self, key_or_slot):
        """The addr of the master that owns a slot (or a key's), as the
        slot map says (refresh() first for the cluster's word)."""
        slot = (key_or_slot if isinstance(key_or_slot, int)
                else slot_of(key_or_slot))
        return self._owner[slot]

    # -- the cluster

    def seeds(self):
        """The fanfare.conf `redis` directive value for this cluster."""
        return "cluster:" + ",".join(self._seeds)

    def _roles(self):
        out = []
        for n in self.nodes:
            if not n.running():
                continue
            try:
                role = self.cmd_at(n.addr, "ROLE", timeout=2.0)[0]
            except (OSError, RedisError):
                continue
            out.append((n, role))
        return out

    def masters(self):
        """[("host:port", pid)] of the running masters, by their own
        ROLE."""
        return [(n.addr, n.pid) for n, role in self._roles()
                if role == "master"]

    def replicas(self):
        """[("host:port", pid)] of the running replicas."""
        return [(n.addr, n.pid) for n, role in self._roles()
                if role == "slave"]

    def kill_master_of(self, key_or_slot):
        """kill -9 of the master owning a slot (an int) or a key's slot;
        returns ("host:port", pid) of the node killed."""
        with self._lock:
            self.refresh()
            addr = self.slot_owner(key_or_slot)
            if addr is None or addr not in self.by_addr:
                raise RuntimeError("no known master owns %r" % (key_or_slot,))
            node = self.by_addr[addr]
            pid = node.pid
            node.proc.kill()
            node.proc.wait(5)
            self._drop(addr)
            self.killed.append(addr)
            return addr, pid

    def revive(self, addr):
        """Starts a killed node again from its directory (nodes.conf and
        AOF): it rejoins, as a replica once its slots moved on."""
        node = self.by_addr[addr]
        if not node.running():
            node.start()
            self._wait_ping(node, time.monotonic() + 10.0)
            if addr in self.killed:
                self.killed.remove(addr)
        return node

    def _info(self, addr, section=None):
        args = ("INFO", section) if section else ("INFO",)
        raw = self.cmd_at(addr, *args, timeout=2.0)
        out = {}
        for line in raw.splitlines():
            k, sep, v = line.partition(":")
            if sep:
                out[k] = v.strip()
        return out

    def _node_ok(self, addr, live):
        """This node says cluster_state:ok and maps every slot to a
        running master."""
        try:
            info = self.cmd_at(addr, "CLUSTER", "INFO", timeout=2.0)
            if "cluster_state:ok" not in info:
                return False
            owners = self._slot_owners(
                self.cmd_at(addr, "CLUSTER", "SLOTS", timeout=2.0), addr)
        except (OSError, RedisError):
            return False
        return all(o in live for o in owners)

    def _all_ok(self):
        live = set(n.addr for n in self.nodes if n.running())
        return bool(live) and all(self._node_ok(a, live) for a in live)

    def wait_failover(self, timeout=30.0):
        """Waits until every running node says cluster_state:ok and sees
        every slot served by a running master.  Returns the seconds it
        took, or None at the timeout."""
        t0 = time.monotonic()
        if not wait_for(self._all_ok, timeout=timeout, interval=0.05):
            return None
        with self._lock:
            self.refresh()
        return time.monotonic() - t0

    def wait_replicas(self, numreplicas=1, timeout_ms=1000):
        """WAIT on every master's connection (the one cmd() wrote on):
        the fewest replicas that acknowledged a master's writes."""
        acks = []
        with self._lock:
            for addr in sorted(set(a for a in self._owner if a)):
                acks.append(self.cmd_at(addr, "WAIT", numreplicas,
                                        timeout_ms,
                                        timeout=timeout_ms / 1000.0 + 5.0))
        return min(acks) if acks else 0

    def keys(self, pattern="*"):
        """Every key matching pattern, SCANned on every running master."""
        out = []
        for addr, _ in self.masters():
            cursor = "0"
            while True:
                cursor, ks = self.cmd_at(addr, "SCAN", cursor, "MATCH",
                                         pattern, "COUNT", 1000)
                out.extend(ks)
                if cursor == "0":
                    break
        return sorted(out)

    def endpoint(self):
        """The value of fanfare.conf's redis directive."""
        return self.seeds()

    def start(self, timeout=30.0):
        """Starts every node stopped by stop() again (each keeps its
        nodes.conf and AOF) and waits for cluster_state:ok."""
        for n in self.nodes:
            if not n.running():
                n.start()
        self._stopped = False
        if not wait_for(self._all_ok, timeout=timeout, interval=0.1):
            raise RuntimeError("cluster not ok after a restart: %s"
                               % self._state_summary())
        self.refresh()
        return self

    def restart(self):
        self.stop()
        return self.start()

    def sigstop(self):
        """Freezes every node (an outage that keeps the sockets open)."""
        for n in self.nodes:
            if n.running():
                os.kill(n.pid, signal.SIGSTOP)

    def sigcont(self):
        for n in self.nodes:
            if n.running():
                os.kill(n.pid, signal.SIGCONT)

    def kill(self):
        """kill -9 of every node."""
        for n in self.nodes:
            if n.running():
                n.proc.kill()
                n.proc.wait(5)

    def running(self):
        """True until stop(): some node of the cluster is running."""
        return any(n.running() for n in self.nodes)

    def stop(self):
        """SIGTERM to every node, then wait (SIGKILL after 15 s)."""
        with self._lock:
            for addr in list(self._conns):
                self._drop(addr)
        live = [n for n in self.nodes if n.running()]
        for n in live:
            try:
                os.kill(n.pid, signal.SIGCONT)
                n.proc.terminate()
            except OSError:
                pass
        for n in live:
            try:
                n.proc.wait(15)
            except subprocess.TimeoutExpired:
                n.proc.kill()
                n.proc.wait(5)

    # -- diagnostics

    def _state_summary(self):
        out = []
        for n in self.nodes:
            if not n.running():
                out.append("%s: not running" % n.addr)
                continue
            try:
                info = self.cmd_at(n.addr, "CLUSTER", "INFO", timeout=1.0)
                state = [l for l in info.splitlines()
                         if l.startswith(("cluster_state",
                                          "cluster_slots_ok"))]
                out.append("%s: %s" % (n.addr, " ".join(state)))
            except (OSError, RedisError) as e:
                out.append("%s: %s" % (n.addr, e))
        return "; ".join(out)

    def _diag(self):
        out = []
        for n in self.nodes:
            if n.proc is not None and not n.running() \
                    and n.addr not in self.killed and self.running():
                out.append("cluster node %s died; its last lines:" % n.addr)
                out += ["  " + l for l in n.why_dead()[-10:]]
        return out
