#!/usr/bin/python3
"""
test_nodes.py: three fanfared nodes on one Redis Cluster (3 masters, 3
replicas, rcluster.py), with one token secret and their own node_id,
spool_dir and ports, behind a real nginx (Debian's, loopback only) whose
upstream round-robins over the three tracking listeners.

  1. hits through nginx are all counted: N pixel and click requests on
     keep-alive connections, each answered 200 or 302, are all in the
     campaign's counters, and every node answered a share;
  2. the API on any node: tenant, contacts, list, template and campaign
     made on node 1, launched on node 2, followed to done on node 3;
  3. a 100,000-recipient campaign (contacts by CSV import) is sent to
     every recipient exactly once, by the senders of all three nodes;
  4. the same list again, and kill -9 of one node midway, while the
     tenant's Redis master lags (no write run for LAG_S before): the
     others take over its pending queue entries (XAUTOCLAIM after
     claim_idle); nobody is lost and the duplicates stay within the
     design's bound;
  5. kill -9 of the node that launched, while it is still queuing the
     list (an API-only fourth node): another node goes on with the
     snapshot once its lease has expired, and the campaign completes;
  6. kill -9 of a node in its first chunks after every master lost its
     scripts (SCRIPT FLUSH, as after a restart or a failover): still no
     more duplicates than the bound of test 4.

The relay is tests/integration/smtpsink.py, which stores nothing but one
line per recipient of each message it accepted.  Figures (times, shares,
duplicates) are printed as TAP diagnostics.

Environment: FF_NODES_RECIPIENTS (100000), FF_NODES_KILL_RECIPIENTS (the
size of the list of test 4; default: the same list as test 3),
FF_NODES_SCRIPT_RECIPIENTS (20000, test 6), FF_NODES_HITS (3000).
"""
import base64
import collections
import http.client
import json
import os
import re
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import (CONTRIB, GIF, HUMAN_UA, Fanfare, add_contacts, call,
                     campaign, counters, diag, done, free_port, launch,
                     must, new_campaign, new_list, new_template, new_tenant,
                     ok, run, spawn, tail, tmpdir, wait_done, wait_for)
import harness
import rcluster

ADMIN = "admin-" + "n" * 40
NODES = 3
SENDERS = 2                 # per node
CLAIM_IDLE_S = 5            # claim_idle: a dead node's entries move after
ENTRY_IDS = 100             # contact ids per queue entry (api_launch.c)
# The duplicate bound of a kill -9.  Each sender thread holds one queue
# entry (up to ENTRY_IDS recipients) at a time, so the dead node's work
# in flight is SENDERS entries, SENDERS x ENTRY_IDS = 200 recipients.
# Whoever takes an entry over skips the recipients already final (the
# done bitmap), so what is sent again is what the relay took and Redis
# does not hold.  An outcome is pushed to Redis as its 250 is read, but
# pushed is not recorded: a Redis that lags (busy, descheduled, its
# writes paused) has not run it yet, and once the kill -9 resets the
# connection (the sender's replies unread) Redis drops the client with
# what it had not run.  That is
# why the sender reads the outcomes' replies before the next message's
# data goes out (sender.c, session_pace); libesmtp sends one message at
# a time (its DATA waits for the 354, its end for the 250).  So for
# message k+1 to reach the relay, the outcomes of 1..k were in Redis;
# at the kill only the last message whose data went out can be at the
# relay and not in Redis (its 250 on its way, or its outcome unread):
# IN_FLIGHT = 1 a sender, SENDERS x IN_FLIGHT = 2 for the node.  Without
# the wait, test 4 (the master running no write for LAG_S before the
# kill) gives dozens: what the dead sender streamed meanwhile.
IN_FLIGHT = 1
LAG_S = 0.3                 # test 4: the tenant's master lags this long
T = 71                      # tenant of the fanfarectl-minted hit tokens
HIT_CAMPAIGN = 7


# ----------------------------------------------------------------- relay


class Sink:
    """smtpsink.py on a fixed port, with a fresh log for each run."""

    def __init__(self):
        self.port = free_port()
        self.dir = tmpdir("ff-sink-")
        self.proc = None
        self.runs = 0
        self.log = None

    def fresh(self):
        self.stop()
        self.runs += 1
        self.log = os.path.join(self.dir, "rcpts.%d" % self.runs)
        open(self.log, "w").close()
        self.off = 0
        self.rest = b""
        self.per = collections.Counter()
        self.total = 0
        self.proc = spawn(["/usr/bin/python3", os.path.join(
            HERE, "smtpsink.py"), "--listen", "127.0.0.1:%d" % self.port,
            "--log", self.log], os.path.join(self.dir, "sink.out"))
        if not wait_for(lambda: harness.can_connect(self.port), timeout=10):
            raise RuntimeError("smtpsink.py did not listen:\n%s" % "\n".join(
                tail(os.path.join(self.dir, "sink.out"))))
        return self

    def poll(self):
        """Reads what the sink logged since; the messages so far."""
        with open(self.log, "rb") as f:
            f.seek(self.off)
            data = f.read()
        self.off += len(data)
        lines = (self.rest + data).split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            self.per[line.decode().lower()] += 1
        self.total += len(lines)
        return self.total

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None



# ----------------------------------------------------------------- nginx



def start_nginx(nodes):
    """contrib/nginx-tracking.conf with an upstream of the nodes'
    tracking listeners (nginx's default: round robin), on a free
    loopback port; (port, process) or None when nginx is missing."""
    nginx = harness.nginx_binary()
    if nginx is None:
        return None
    d = tmpdir("ff-nginx-")
    port = free_port()
    with open(os.path.join(CONTRIB, "nginx-tracking.conf")) as f:
        snippet = f.read()
    servers = "".join("server 127.0.0.1:%d;\n\t" % n.track_port
                      for n in nodes)
    snippet = snippet.replace("server 127.0.0.1:8080;\n\t", servers)
    snippet = snippet.replace("\tlisten 80;", "\tlisten 127.0.0.1:%d;" % port)
    snippet = snippet.replace("\tlisten [::]:80;\n", "")
    with open(os.path.join(d, "tracking.conf"), "w") as f:
        f.write(snippet)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(harness.nginx_main_conf(d, 512))
    argv = [nginx, "-p", d, "-e", os.path.join(d, "error.log"),
            "-c", os.path.join(d, "nginx.conf")]
    proc = spawn(argv, os.path.join(d, "nginx.out"))
    if not wait_for(lambda: harness.can_connect(port), timeout=10):
        raise RuntimeError("nginx did not listen:\n%s" % "\n".join(
            tail(os.path.join(d, "error.log"))))
    return port, proc, snippet


# --------------------------------------------------------------- metrics


def metric(ff, name):
    """{labels: value} of one metric on one node's /metrics."""
    st, text = ff.metrics()
    out = {}
    if st != 200:
        return out
    for m in re.finditer(r"^%s(\{[^}]*\})? (\d+)$" % re.escape(name), text,
                         re.M):
        out[m.group(1) or ""] = int(m.group(2))
    return out


def sent_by(ff):
    return metric(ff, "fanfare_messages_total").get('{outcome="sent"}', 0)


def hits_by(ff):
    m = metric(ff, "fanfare_track_requests_total")
    return m.get('{route="open"}', 0) + m.get('{route="click"}', 0)


# ----------------------------------------------------------------- tests


def test_hits(nodes, redis, nginx_port, n):
    """n requests through nginx on 4 keep-alive connections, half pixel,
    half click, over 20 contacts; every answer counted once."""
    ff = nodes[0]
    ff.link_set(T, HIT_CAMPAIGN, 0, "https://example.com/landing")
    pixels = [ff.token("open", T, HIT_CAMPAIGN, k) for k in range(1, 21)]
    clicks = [ff.token("click", T, HIT_CAMPAIGN, k, link=0)
              for k in range(1, 21)]
    before = [hits_by(x) for x in nodes]
    nconn = 4
    results = [collections.Counter() for _ in range(nconn)]
    bad = []

    def worker(i):
        c = http.client.HTTPConnection("127.0.0.1", nginx_port, timeout=10)
        h = {"User-Agent": HUMAN_UA}
        for j in range(i, n, nconn):
            path = (pixels if j % 2 == 0 else clicks)[(j // 2) % 20]
            try:
                c.request("GET", path, headers=h)
                r = c.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                results[i]["error"] += 1
                c.close()
                if len(bad) < 5:
                    bad.append(repr(e))
                continue
            if j % 2 == 0 and r.status == 200 and body != GIF:
                results[i]["bad gif"] += 1
            elif j % 2 == 1 and r.status == 302 and r.getheader(
                    "Location") != "https://example.com/landing":
                results[i]["bad location"] += 1
            else:
                results[i][r.status] += 1
        c.close()
    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(nconn)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.monotonic() - t0
    got = sum(results, collections.Counter())
    diag("hits: %d requests through nginx on %d keep-alive connections in "
         "%.1f s (%.0f/s): %r" % (n, nconn, secs, n / secs, dict(got)))
    ok(got[200] == n // 2 + n % 2 and got[302] == n // 2,
       "%d pixels answered 200 with the GIF, %d clicks 302 to the link"
       % (n // 2 + n % 2, n // 2), "%r %r" % (dict(got), bad))

    def counted():
        c = counters(redis, T, HIT_CAMPAIGN)
        return c if (c.get("opens", 0) >= got[200] and
                     c.get("clicks", 0) >= got[302]) else None
    t1 = time.monotonic()
    wait_for(counted, timeout=30, interval=0.2)
    c = counters(redis, T, HIT_CAMPAIGN)
    diag("hits: counters %r, %.1f s after the last answer"
         % ({k: v for k, v in c.items() if not k.startswith("link")},
            time.monotonic() - t1))
    ok(c.get("opens") == got[200] and c.get("clicks") == got[302] and
       not c.get("opens_machine") and not c.get("clicks_machine"),
       "every answered hit is in {t:%d:c:%d}:stats: opens %d, clicks %d"
       % (T, HIT_CAMPAIGN, got[200], got[302]), repr(c))
    ok(c.get("opens_unique") == 20 and c.get("clicks_unique") == 20,
       "and 20 unique openers and clickers, however many nodes saw them",
       repr(c))
    share = [hits_by(x) - b for x, b in zip(nodes, before)]
    diag("hits: answered per node (fanfare_track_requests_total open + "
         "click): %s" % share)
    ok(all(s >= n // (NODES * 3) for s in share) and sum(share) == n,
       "each of the %d nodes answered a share (at least %d), %d in all"
       % (NODES, n // (NODES * 3), n), repr(share))


def test_api_any_node(nodes, sink):
    """Made on node 1, launched on node 2, followed on node 3."""
    sink.fresh()
    n1, n2, n3 = nodes
    tid, key = new_tenant(n1, "Anywhere")
    emails = ["a%02d@any.test" % i for i in range(20)]
    add_contacts(n1, key, [{"email": a} for a in emails])
    lid = new_list(n1, key, emails)
    tpl = new_template(n1, key, "Hi", "<p>Hi {{email}}</p>", "Hi {{email}}")
    cid = new_campaign(n1, key, tpl, lid)
    st, js, raw = call(n2, "GET", "/v1/campaigns/%s" % cid, key)
    ok(st == 200 and js.get("status") == "draft",
       "node 2 knows the key and the campaign node 1 made", raw[:300])
    st, js, raw = call(n2, "POST", "/v1/campaigns/%s/launch" % cid, key)
    ok(st == 202, "node 2 launches it", raw[:300])
    t0 = time.monotonic()
    js = wait_done(n3, key, cid, timeout=30)
    p = js.get("progress", {})
    ok(js.get("status") == "done" and p.get("sent") == len(emails) and
       p.get("total") == len(emails),
       "node 3 follows it to done, sent %d (%.1f s)"
       % (len(emails), time.monotonic() - t0), repr(js))
    wait_for(lambda: sink.poll() >= len(emails), timeout=5)
    ok(sorted(sink.per) == emails and set(sink.per.values()) == {1},
       "the relay got one message for each of the %d, nobody else"
       % len(emails), repr(dict(sink.per)))
    views = [campaign(x, key, cid) for x in nodes]
    ok(all(v.get("status") == "done" and v.get("progress") == p
           for v in views), "all three nodes tell the same progress",
       repr([v.get("progress") for v in views]))
    return tid, key


def import_contacts(node, key, emails):
    """The contacts by one CSV import; seconds."""
    t0 = time.monotonic()
    body = ("email,first_name\n" + "".join(
        "%s,F%d\n" % (a, i) for i, a in enumerate(emails))).encode()
    st, _, out = node.api("POST", "/v1/contacts/import", headers={
        "Authorization": "Bearer " + key, "Content-Type": "text/csv"},
        body=body, timeout=300)
    js = json.loads(out) if out else {}
    if st != 200 or js.get("created") != len(emails):
        raise AssertionError("import: %d %s" % (st, out[:500]))
    return time.monotonic() - t0


def make_list(nodes, key, emails, name):
    """A list of the emails, filled 10,000 at a time through each node
    in turn; (list id, seconds)."""
    t0 = time.monotonic()
    lid = must("POST /v1/lists", call(nodes[1], "POST", "/v1/lists", key,
                                      {"name": name}), 201)["id"]
    for i, b in enumerate(range(0, len(emails), 10000)):
        chunk = emails[b:b + 10000]
        js = must("POST members", call(
            nodes[i % NODES], "POST", "/v1/lists/%s/members" % lid, key,
            {"emails": chunk}))
        if js["added"] != len(chunk) or js["missing"]:
            raise AssertionError("list members: %r" % (js,))
    return lid, time.monotonic() - t0


def pending_of(redis, q, prefix):
    """Queue entries pending for the consumers named prefix*."""
    try:
        p = redis.cmd("XPENDING", q, "senders")
    except harness.RedisError:
        return None
    return sum(int(c) for name, c in (p[3] or []) if name.startswith(prefix))


def send_and_wait(nodes, redis, tid, key, tpl, lid, sink, n, kill=None,
                  lag=0.0):
    """Launches a campaign of the list on node 1 and waits on node 1 for
    done; with kill=(fraction, node), kill -9 of that node once the
    relay has that fraction of n, and watches its consumers' pending
    entries go to the others.  With lag (seconds), the tenant's Redis
    master runs no write (CLIENT PAUSE WRITE, as during a manual
    failover) from that long before the kill until just after it: what
    the senders wrote meanwhile is not run yet when the kill lands, as
    with a busy or descheduled Redis.  (campaign id, campaign JSON,
    seconds, what the kill saw or None)."""
    cid = new_campaign(nodes[0], key, tpl, lid)
    q = "{t:%s}:camp:%s:q" % (tid, cid)
    t0 = time.monotonic()
    launch(nodes[0], key, cid)
    k = None
    if kill is not None:
        frac, victim = kill
        prefix = victim.directives["node_id"] + "/"
        want = int(n * frac)
        wait_for(lambda: sink.poll() >= want, timeout=180, interval=0.01)
        sent_before = sent_by(victim)
        master = redis.slot_owner(q) if lag > 0 else None
        if master is not None:
            # It reads the senders' commands and runs none that writes.
            redis.cmd_at(master, "CLIENT", "PAUSE",
                         str(int(lag * 1000) + 5000), "WRITE")
            time.sleep(lag)
        try:
            victim.kill9()
        finally:
            if master is not None:
                time.sleep(0.05)
                redis.cmd_at(master, "CLIENT", "UNPAUSE")
        k = {"at": sink.poll(), "t": time.monotonic() - t0,
             "victim_sent": sent_before,
             "pending": pending_of(redis, q, prefix), "taken_s": None,
             "lag": lag if master is not None else None}
    deadline = time.monotonic() + 240
    js = {}
    while time.monotonic() < deadline:
        if k is not None and k["taken_s"] is None and \
                pending_of(redis, q, prefix) == 0:
            k["taken_s"] = time.monotonic() - t0 - k["t"]
        js = campaign(nodes[0], key, cid)
        if js.get("status") == "done":
            break
        time.sleep(0.25)
    secs = time.monotonic() - t0
    if k is not None:
        k["pending_end"] = pending_of(redis, q, prefix)
    time.sleep(0.2)                 # the sink's last flush
    sink.poll()
    return cid, js, secs, k


def test_big(nodes, redis, tid, key, sink, n):
    sink.fresh()
    emails = ["r%06d@big.test" % i for i in range(n)]
    t_import = import_contacts(nodes[0], key, emails)
    lid, t_list = make_list(nodes, key, emails, "big")
    diag("big: %d contacts imported (CSV, node 1) in %.1f s, listed in "
         "%.1f s" % (n, t_import, t_list))
    tpl = new_template(nodes[0], key, "Hello {{first_name}}",
                       "<p>Hello {{first_name}}</p>", "Hello {{first_name}}")
    before = [sent_by(x) for x in nodes]
    cid, js, secs, _ = send_and_wait(nodes, redis, tid, key, tpl, lid,
                                       sink, n)
    p = js.get("progress", {})
    diag("big: %d recipients sent in %.1f s (%.0f msg/s) by %d nodes x %d "
         "senders" % (n, secs, sink.total / secs, NODES, SENDERS))
    ok(js.get("status") == "done" and p.get("sent") == n and
       p.get("failed") == 0 and p.get("deferred") == 0,
       "%d recipients: done, progress sent %d" % (n, n), repr(js))
    lost = [a for a in emails if sink.per[a] == 0]
    dups = [a for a in emails if sink.per[a] > 1]
    extra = set(sink.per) - set(emails)
    ok(not lost and not dups and not extra and sink.total == n,
       "every recipient got exactly one message (%d at the relay)"
       % sink.total, "lost %d %r, duplicated %d %r, strangers %r"
       % (len(lost), lost[:5], len(dups), dups[:5], sorted(extra)[:5]))
    share = [sent_by(x) - b for x, b in zip(nodes, before)]
    diag("big: sent per node (fanfare_messages_total sent): %s = %s"
         % (share, ["%.0f%%" % (100.0 * s / n) for s in share]))
    ok(all(s > 0 for s in share) and sum(share) == n,
       "the senders of every node sent some, %d in all" % n, repr(share))
    return lid, emails, tpl


def test_kill(nodes, redis, tid, key, sink, lid, emails, tpl, frac=0.4):
    """The same list again; kill -9 of node 3 once the relay has 40%."""
    sink.fresh()
    n = len(emails)
    victim = nodes[2]
    live = [x for x in nodes if x is not victim]
    before = [sent_by(x) for x in live]
    victim_before = sent_by(victim)
    cid, js, secs, k = send_and_wait(nodes, redis, tid, key, tpl, lid,
                                     sink, n, kill=(frac, victim), lag=LAG_S)
    p = js.get("progress", {})
    lost = [a for a in emails if sink.per[a] == 0]
    dups = [a for a in emails if sink.per[a] > 1]
    extra = sum(sink.per[a] - 1 for a in dups)
    bound = SENDERS * IN_FLIGHT
    share = [sent_by(x) - b for x, b in zip(live, before)]
    diag("kill: %d recipients; node 3 killed -9 at %.1f s with %d at the "
         "relay (it had sent %d), the tenant's Redis master paused %s s "
         "before; done in %.1f s (%.0f msg/s)"
         % (n, k["t"], k["at"], k["victim_sent"] - victim_before,
            k["lag"], secs, sink.total / secs))
    diag("kill: sent by nodes 1 and 2 %s; node 3 at most %d before the "
         "kill" % (share, k["victim_sent"] - victim_before))
    diag("kill: lost %d, duplicated %d recipients (%d extra copies); bound "
         "%d = %d senders of the dead node x %d message in flight (an "
         "entry holds up to %d recipients, but a message's data goes out "
         "once the outcomes before it are in Redis)" % (len(lost), len(dups), extra, bound, SENDERS,
                               IN_FLIGHT, ENTRY_IDS))
    diag("kill: node 3's consumers held %s queue entries at the kill; none "
         "after %s s (claim_idle %d s)" % (k["pending"], "%.1f" % k[
             "taken_s"] if k["taken_s"] is not None else "(never)",
             CLAIM_IDLE_S))
    ok(k["pending"] and k["pending_end"] == 0,
       "the dead node's pending entries (%s) were taken over by the others"
       % k["pending"], repr(k))
    ok(js.get("status") == "done" and p.get("sent") == n and
       p.get("failed") == 0 and p.get("deferred") == 0,
       "kill -9 of node 3 midway: done on node 1, progress sent %d" % n,
       repr(js))
    ok(not lost, "nobody lost (0 of %d without a message)" % n,
       "lost %d, e.g. %r" % (len(lost), lost[:10]))
    ok(len(dups) <= bound, "%d recipients got a second copy (at most %d)"
       % (len(dups), bound), repr(dups[:20]))
    ok(all(s > 0 for s in share),
       "nodes 1 and 2 went on sending after the kill", repr(share))


def test_launcher_dies(nodes, redis, secret, tid, key, sink, lid, emails,
                      tpl):
    """Launched on an API-only node, killed -9 while it queues the list:
    its snapshot's lease expires and a node that sends goes on."""
    sink.fresh()
    n = len(emails)
    api_only = Fanfare(redis=redis, secret=secret, admin_key=ADMIN,
                       node_id="node4", threads="1",
                       claim_idle="%ds" % CLAIM_IDLE_S)
    cid = new_campaign(api_only, key, tpl, lid)
    camp = "{t:%s}:camp:%s" % (tid, cid)
    scan = camp + ":scan"
    t0 = time.monotonic()
    launch(api_only, key, cid)

    def queuing():
        h = redis.hgetall(camp)
        return h if int(h.get("queued", 0)) > 0 or \
            h.get("snapshot") == "1" else None
    h = wait_for(queuing, timeout=10, interval=0.002) or {}
    lease = redis.cmd("GET", scan)
    api_only.kill9()
    t_kill = time.monotonic() - t0
    ok(h.get("snapshot") == "0" and lease == "node4",
       "node 4 killed -9 while queuing the list (%s of %d queued), its "
       "lease on the snapshot" % (h.get("queued"), n),
       "%r lease %r" % ({k: v for k, v in h.items()
                         if k in ("queued", "snapshot", "status")}, lease))
    t_adopt = None
    deadline = time.monotonic() + 240
    js = {}
    while time.monotonic() < deadline:
        if t_adopt is None and redis.cmd("GET", scan) not in (None,
                                                                "node4"):
            t_adopt = time.monotonic() - t0 - t_kill
        js = campaign(nodes[0], key, cid)
        if js.get("status") == "done":
            break
        time.sleep(0.1)
    secs = time.monotonic() - t0
    time.sleep(0.2)
    sink.poll()
    p = js.get("progress", {})
    lost = [a for a in emails if sink.per[a] == 0]
    dups = [a for a in emails if sink.per[a] > 1]
    diag("launcher: node 4 killed %.2f s after the launch with %s of %d "
         "queued; snapshot taken over %s s later (claim_idle %d s, looked "
         "at every %d s); done %.1f s after the launch"
         % (t_kill, h.get("queued"), n, "%.1f" % t_adopt
            if t_adopt is not None else "(not seen)", CLAIM_IDLE_S,
            max(1, CLAIM_IDLE_S // 2), secs))
    ok(js.get("status") == "done" and p.get("queued") == n and
       p.get("sent") == n, "another node went on with the snapshot: done, "
       "%d queued and sent" % n, repr(js))
    ok(not lost and not dups,
       "every recipient got exactly one message",
       "lost %d %r, duplicated %d %r" % (len(lost), lost[:5], len(dups),
                                         dups[:5]))
    ok(redis.cmd("EXISTS", scan) == 0, "and the lease is gone")


def test_fresh_scripts(nodes, redis, tid, key, sink, emails, tpl):
    """SCRIPT FLUSH on every master, then kill -9 of node 3 in its first
    chunks of the campaign: each outcome must be in Redis before the next
    message goes out even when the first EVALSHA of a chunk would find
    no script.
    Nodes 1 and 2 are stopped (SIGSTOP) until the kill, so that no
    sender of theirs loads the script first."""
    sink.fresh()
    n = len(emails)
    victim = nodes[2]
    lid, _ = make_list(nodes, key, emails, "fresh")
    cid = new_campaign(victim, key, tpl, lid)
    before = sent_by(victim)
    others = nodes[:2]
    try:
        for x in others:
            os.kill(x.proc.pid, signal.SIGSTOP)
        flushed = [redis.cmd_at(addr, "SCRIPT", "FLUSH")
                   for addr, _ in redis.masters()]
        t0 = time.monotonic()
        launch(victim, key, cid)
        wait_for(lambda: sent_by(victim) - before >= 30, timeout=30,
                 interval=0.002)
        victim.kill9()
        time.sleep(0.1)             # the sink's flush
        k_at = sink.poll()
    finally:
        for x in others:
            os.kill(x.proc.pid, signal.SIGCONT)
    js = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        js = campaign(nodes[0], key, cid)
        if js.get("status") == "done":
            break
        time.sleep(0.25)
    secs = time.monotonic() - t0
    time.sleep(0.2)
    sink.poll()
    p = js.get("progress", {})
    lost = [a for a in emails if sink.per[a] == 0]
    dups = [a for a in emails if sink.per[a] > 1]
    bound = SENDERS * IN_FLIGHT
    diag("fresh scripts: SCRIPT FLUSH on %d masters, nodes 1 and 2 "
         "stopped, node 3 killed -9 after its first 30 messages (%d at the "
         "relay); done in %.1f s; "
         "lost %d, duplicated %d (bound %d)" % (len(flushed), k_at, secs,
                                                len(lost), len(dups), bound))
    ok(js.get("status") == "done" and p.get("sent") == n and not lost,
       "scripts flushed, node 3 killed in its first chunks: done, "
       "nobody lost", "%r lost %r" % (js, lost[:5]))
    ok(len(dups) <= bound, "%d recipients got a second copy (at most %d: "
       "not the chunks in flight)" % (len(dups), bound), repr(dups[:20]))


def main():
    t0 = time.monotonic()
    n_hits = int(os.environ.get("FF_NODES_HITS", "3000"))
    n_big = int(os.environ.get("FF_NODES_RECIPIENTS", "100000"))
    n_kill = int(os.environ.get("FF_NODES_KILL_RECIPIENTS", "0"))
    n_fresh = int(os.environ.get("FF_NODES_SCRIPT_RECIPIENTS", "20000"))
    cluster = rcluster.RedisCluster()
    diag("cluster of 3 masters and 3 replicas up in %.1f s"
         % cluster.start_seconds)
    sink = Sink()
    secret = base64.b64encode(os.urandom(32))
    nodes = [Fanfare(redis=cluster, secret=secret, admin_key=ADMIN,
                     node_id="node%d" % (i + 1), threads="1",
                     senders=str(SENDERS), api_max_body="16M",
                     smtp_relay="127.0.0.1:%d" % sink.port,
                     smtp_starttls="off", claim_idle="%ds" % CLAIM_IDLE_S,
                     trusted_proxies="127.0.0.1/32")
             for i in range(NODES)]
    ok(all(x.running() for x in nodes),
       "three fanfared nodes on one Redis Cluster, one secret")
    ng = start_nginx(nodes)
    if ng is None:
        harness._n += 1
        sys.stdout.write("ok %d - hits through nginx # SKIP nginx is not "
                         "installed\n" % harness._n)
    else:
        run(test_hits, nodes, cluster, ng[0], n_hits)
    got = run(test_api_any_node, nodes, sink)
    if got:
        tid, key = got
        big = run(test_big, nodes, cluster, tid, key, sink, n_big)
        if big and 0 < n_kill < len(big[1]):
            # A smaller list of the same contacts.
            emails = big[1][:n_kill]
            lid = run(make_list, nodes, key, emails, "kill")
            big = (lid[0], emails, big[2]) if lid else None
        if big:
            run(test_kill, nodes, cluster, tid, key, sink, *big)
        if big:
            try:
                ok(nodes[2].start() is not None, "node 3 starts again")
            except RuntimeError as e:
                ok(False, "node 3 starts again", str(e))
            run(test_launcher_dies, nodes, cluster, secret, tid, key, sink,
                *big)
            run(test_fresh_scripts, nodes, cluster, tid, key, sink,
                big[1][:n_fresh], big[2])
    live = [x for x in nodes if x.running()]
    codes = [x.stop() for x in live]
    ok(codes == [0] * len(live), "the %d live nodes exit 0 on SIGTERM"
       % len(live), repr(codes))
    sink.stop()
    if ng is not None:
        os.kill(ng[1].pid, signal.SIGQUIT)
        ng[1].wait(10)
    diag("test_nodes: %.1f s in all" % (time.monotonic() - t0))
    done()


if __name__ == "__main__":
    main()
