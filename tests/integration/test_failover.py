#!/usr/bin/python3
"""
test_failover.py: kill -9 of a Redis Cluster master under load, twice,
against a real fanfared and a real cluster (rcluster.py: 3 masters, 3
replicas, 2 s node timeout), whatever FF_TEST_REDIS says.

  1. Tracking.  wrk (-t1 -c20, 127.0.0.1) hits the open pixel of
     campaigns spread over every master ({t:T:c:C} hash tags); about 5 s
     in, the master of one of them is killed, its replica takes over, and
     the old master is started again (it rejoins as the new master's
     replica: with redis_wait_replicas 1 a chunk is acked only once a
     replica has it, so a master without one holds the spool back, by
     design).  Once the spool is drained: every hit answered is recorded
     (sum of the opens counters), none more, and the pixel answered
     200 throughout.
  2. Delivery.  A campaign of 3000 recipients through fanfared's senders
     to contrib/smtp-capture.py; the master of the tenant's slot ({t:T})
     is killed once a third of the mail arrived.  The campaign reaches
     done, every recipient got a message, and the duplicates stay within
     what the design allows (see DUP_BOUND).

The figures are printed as TAP diagnostics, and a last line sums them up.
"""
import collections
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness
from harness import (HUMAN_UA, Fanfare, Relay, add_contacts,
                     counters, diag, done, launch, new_campaign, new_list,
                     new_template, new_tenant, ok, run, tmpdir, wait_done,
                     wait_for)
import rcluster

ADMIN = "admin-" + "f" * 40
WRK = os.environ.get("WRK") or "wrk"

# Tracking: the tenant of the tokens (no API tenant needed to count a
# hit), campaigns per master, contacts per campaign.
TT = 9001
CAMPAIGNS_PER_MASTER = 2
CONTACTS = 4
WRK_SECONDS = 15
VALID_SECONDS = 12      # then 3 s of a bad token: see WRK_LUA
KILL_AT = 5.0

# Delivery.
RECIPIENTS = 3000
SENDERS = 2
ENTRY_IDS = 100         # ids per queue entry (api_launch.c)
# A sender writes each outcome as libesmtp reports it, and takes one
# queue entry (<= ENTRY_IDS recipients, one SMTP session) at a time.
# When its master dies, the rest of the session still goes out but no
# outcome is recorded, and outcomes the master took but had not yet
# replicated are lost with it: after the failover the entry is read
# again and its recipients without a done bit are sent again.  So at
# most one entry per sender is repeated, as long as replication lags
# less than a sender takes from one entry's last outcome to the next
# entry's first message (building 100 messages: most of an entry's
# time, so a kill often finds a whole entry still to go: the bound is
# reached, not just approached).
DUP_BOUND = SENDERS * ENTRY_IDS

# Valid pixel paths in turn until VALID_SECONDS have passed, then a bad
# token (the same 200 GIF, nothing recorded): a request cut off when wrk
# stops is never one that counts, and each connection's last counted
# request was answered before it sent a bad one (one request at a time
# per connection).  wrk calls the first thread's request() once more,
# before the run, to look for pipelining (script_verify_request): that
# call sends nothing and is not counted.  done() prints one line for the
# test.
WRK_LUA = r"""
local reqs, n, i, tail_req, valid_until
valid, tail, ok2xx, non2xx = 0, 0, 0, 0
verify_call = false
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("verify_call", #threads == 1)
end

function init(args)
  local hdrs = { ["User-Agent"] = args[4] }
  reqs = {}
  for line in io.lines(args[1]) do
    if #line > 0 then reqs[#reqs + 1] = wrk.format("GET", line, hdrs) end
  end
  n, i = #reqs, 0
  tail_req = wrk.format("GET", args[2], hdrs)
  valid_until = os.time() + tonumber(args[3])
end

function request()
  if verify_call then
    verify_call = false
    return reqs[1]
  end
  if os.time() < valid_until then
    i = i % n + 1
    valid = valid + 1
    return reqs[i]
  end
  tail = tail + 1
  return tail_req
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
  else
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local v, t, a, b = 0, 0, 0, 0
  for _, th in ipairs(threads) do
    v = v + th:get("valid")
    t = t + th:get("tail")
    a = a + th:get("ok2xx")
    b = b + th:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d valid=%d tail=%d ok2xx=%d non2xx=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d " ..
    "err_timeout=%d duration_us=%d p99_us=%d max_us=%d\n",
    summary.requests, v, t, a, b, e.connect, e.read, e.write, e.status,
    e.timeout, summary.duration, latency:percentile(99), latency.max))
end
"""

summary = {}


# ------------------------------------------------------------- helpers


def metrics(ff):
    """{name or name{labels}: value} of GET /metrics."""
    st, body = ff.metrics()
    if st != 200:
        raise AssertionError("GET /metrics: %d" % st)
    out = {}
    for line in body.splitlines():
        m = re.match(r"^([a-z_]+(?:\{[^}]*\})?) (\d+(?:\.\d+)?)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def spooled(m):
    return sum(v for k, v in m.items()
               if k.startswith("fanfare_events_total{"))


def replicas_online(rc, addr):
    try:
        info = rc.cmd_at(addr, "INFO", "replication", timeout=2.0)
    except (OSError, rcluster.RedisError):
        return 0
    return sum(1 for line in info.splitlines()
               if re.match(r"^slave\d+:.*state=online", line))


def every_master_replicated(rc):
    m = rc.masters()
    return len(m) == rc.nmasters and all(replicas_online(rc, a) >= 1
                                         for a, _ in m)


# ------------------------------------------------------------ tracking


def pick_campaigns(rc):
    """CAMPAIGNS_PER_MASTER campaign ids of tenant TT on every master:
    {master addr: [campaign ids]}."""
    rc.refresh()
    by_master = collections.defaultdict(list)
    c = 0
    while (len(by_master) < rc.nmasters or
           any(len(v) < CAMPAIGNS_PER_MASTER for v in by_master.values())):
        c += 1
        owner = rc.slot_owner("{t:%d:c:%d}" % (TT, c))
        if len(by_master[owner]) < CAMPAIGNS_PER_MASTER:
            by_master[owner].append(c)
    return dict(by_master)


def test_tracking(rc, ff):
    by_master = pick_campaigns(rc)
    camps = sorted(c for v in by_master.values() for c in v)
    victim_camp = camps[0]
    victim_key = "{t:%d:c:%d}:stats" % (TT, victim_camp)
    d = tmpdir("ff-wrk-")
    paths = os.path.join(d, "paths")
    with open(paths, "w") as f:
        for c in camps:
            for k in range(CONTACTS):
                f.write(ff.token("open", TT, c, 1000 + k) + "\n")
    lua = os.path.join(d, "failover.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    bad = "/o/%s.gif" % ("A" * 40)
    diag("tracking: %d campaigns of tenant %d, %d per master (%s), %d "
         "contacts each; kill -9 the master of campaign %d at %.0f s"
         % (len(camps), TT, CAMPAIGNS_PER_MASTER,
            ", ".join("%s: %s" % (a, v) for a, v in sorted(by_master.items())),
            CONTACTS, victim_camp, KILL_AT))

    t0 = time.monotonic()
    wrk = subprocess.Popen(
        [WRK, "-t1", "-c20", "-d%ds" % WRK_SECONDS, "--timeout", "10s",
         "-s", lua, "http://127.0.0.1:%d" % ff.track_port, "--", paths,
         bad, str(VALID_SECONDS), HUMAN_UA],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        time.sleep(max(0.0, t0 + KILL_AT - time.monotonic()))
        m_kill = metrics(ff)
        addr, pid = rc.kill_master_of(victim_key)
        t_kill = time.monotonic()
        failover_s = rc.wait_failover(timeout=30)
        m_failover = metrics(ff)
        ok(failover_s is not None, "tracking: the replica of %s took over"
           % addr, rc._state_summary())
        if failover_s is None:
            return
        new_owner = rc.slot_owner(victim_key)
        # The old master comes back (what systemd would do): it rejoins
        # as the new master's replica, and WAIT finds a replica again.
        rc.revive(addr)
        rejoined = wait_for(lambda: every_master_replicated(rc),
                            timeout=30, interval=0.2)
        rejoin_s = time.monotonic() - t_kill
        ok(rejoined, "tracking: %s rejoined as a replica, every master "
           "has an online replica" % addr, rc._state_summary())
        out, _ = wrk.communicate(timeout=WRK_SECONDS + 60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    out = out.decode("utf-8", "replace")
    line = [l for l in out.splitlines() if l.startswith("RESULT ")]
    if not ok(wrk.returncode == 0 and line, "wrk ran and reported", out):
        return
    w = {k: int(v) for k, v in
         (kv.split("=") for kv in line[-1].split()[1:])}
    wrk_s = w["duration_us"] / 1e6
    diag("wrk: %d requests in %.1f s (%.0f/s), %d counted + %d with a bad "
         "token; 2xx %d, non-2xx %d; socket errors connect %d read %d "
         "write %d timeout %d; p99 %.1f ms, max %.1f ms"
         % (w["requests"], wrk_s, w["requests"] / wrk_s, w["valid"],
            w["tail"], w["ok2xx"], w["non2xx"], w["err_connect"],
            w["err_read"], w["err_write"], w["err_timeout"],
            w["p99_us"] / 1e3, w["max_us"] / 1e3))
    during = (m_failover.get("fanfare_track_responses_total{class=\"2xx\"}",
                             0)
              - m_kill.get("fanfare_track_responses_total{class=\"2xx\"}", 0))
    diag("failover: %s killed (pid %d) at %.1f s; cluster ok again after "
         "%.2f s, slot now on %s; %d pixels answered 200 meanwhile; old "
         "master back as a replica %.1f s after the kill"
         % (addr, pid, t_kill - t0, failover_s, new_owner, during,
            rejoin_s))

    # Drained: every event spooled is stored (acked after WAIT), and
    # the counters no longer move.
    t_end = time.monotonic()
    state = {"last": None, "since": t_end}

    def drained():
        m = metrics(ff)
        now = (m.get("fanfare_events_stored_total", 0), spooled(m))
        if now != state["last"]:
            state["last"], state["since"] = now, time.monotonic()
        return (now[0] >= now[1] and
                time.monotonic() - state["since"] >= 1.0) and m
    m_end = wait_for(drained, timeout=90, interval=0.2)
    drain_s = time.monotonic() - t_end
    m_end = m_end or metrics(ff)
    stored = int(m_end.get("fanfare_events_stored_total", 0))
    events = int(spooled(m_end))
    per = {}
    for c in camps:
        cnt = counters(rc, TT, c)
        per[c] = (cnt.get("opens", 0), cnt.get("opens_machine", 0))
    recorded = sum(o for o, _ in per.values())
    machine = sum(mm for _, mm in per.values())
    answered = w["valid"]
    lost = answered - recorded
    diag("spool drained %.1f s after wrk (stored %d of %d events spooled; "
         "spool full %d, errors %d; redis reconnects %d)"
         % (drain_s, stored, events,
            m_end.get("fanfare_spool_full_total", 0),
            m_end.get("fanfare_spool_errors_total", 0),
            m_end.get("fanfare_redis_reconnects_total", 0)))
    diag("opens per campaign: %s" % ", ".join(
        "%d%s: %d" % (c, " (killed master)" if c == victim_camp else "",
                      per[c][0]) for c in camps))
    ok(m_end.get("fanfare_spool_full_total", 0) == 0 and
       m_end.get("fanfare_spool_errors_total", 0) == 0,
       "tracking: no event refused by the spool")
    ok(stored == events, "tracking: every event spooled was stored "
       "(%d of %d)" % (stored, events))
    ok(all(per[c][0] > 0 for c in camps),
       "tracking: every campaign (every master) was written to", repr(per))
    ok(w["non2xx"] == 0 and w["err_status"] == 0,
       "tracking: the pixel answered 200 throughout the failover "
       "(%d non-2xx)" % w["non2xx"])
    ok(w["err_connect"] + w["err_read"] + w["err_write"] +
       w["err_timeout"] == 0,
       "tracking: no socket error or timeout at wrk", line[-1])
    ok(w["ok2xx"] == w["requests"] and w["valid"] + w["tail"] >= w["requests"],
       "tracking: wrk's responses are its 2xx (%d)" % w["ok2xx"], line[-1])
    ok(events == answered, "tracking: fanfared spooled one open per hit "
       "answered (%d, %d)" % (events, answered))
    ok(recorded == answered and machine == 0,
       "tracking: recorded opens == answered hits (%d == %d, lost %d)"
       % (recorded, answered, lost),
       "machine opens %d, per campaign %r" % (machine, per))
    summary.update(answered=answered, recorded=recorded, lost=lost,
                   non2xx=w["non2xx"], failover_s=failover_s)


# ------------------------------------------------------------- delivery


def test_delivery(rc, ff, relay):
    relay.fresh(base="/dev/shm" if os.path.isdir("/dev/shm") else None)
    tid, key = new_tenant(ff, "Failover")
    emails = ["f%05d@failover.test" % i for i in range(RECIPIENTS)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Hi {{email}}", "<p>Hi {{email}}</p>",
                       "Hi {{email}}")
    cid = new_campaign(ff, key, tpl, lid)
    tkey = "{t:%s}" % tid
    rc.refresh()
    owner = rc.slot_owner(tkey)
    if not ok(replicas_online(rc, owner) >= 1,
              "delivery: the master of %s (%s) has a replica" % (tkey, owner),
              rc._state_summary()):
        return
    tail = harness.LogTail(relay.dir)
    t0 = time.monotonic()
    launch(ff, key, cid)
    want = RECIPIENTS // 3
    wait_for(lambda: tail.poll() >= want, timeout=120, interval=0.005)
    at_kill = tail.poll()
    if not ok(want <= at_kill < RECIPIENTS,
              "delivery: a third of the mail arrived, not all of it (%d)"
              % at_kill):
        return
    addr, pid = rc.kill_master_of(tkey)
    t_kill, wall_kill = time.monotonic(), time.time()
    failover_s = rc.wait_failover(timeout=30)
    ok(failover_s is not None, "delivery: the replica of %s took over" % addr,
       rc._state_summary())
    js = wait_done(ff, key, cid, timeout=120)
    secs = time.monotonic() - t0
    time.sleep(0.5)             # anything sent after done shows up too
    tail.poll()
    per = collections.Counter(r.lower() for e in tail.accepted
                              for r in e["rcpt_tos"])
    lost = [a for a in emails if per[a] == 0]
    dups = sorted(a for a in emails if per[a] > 1)
    extra = sum(per[a] - 1 for a in dups)
    strangers = sorted(set(per) - set(emails))
    after_kill = [e for e in tail.accepted if e["time"] >= wall_kill]
    # A duplicate whose first copy came after the kill: its session went
    # on without Redis (outcome not recorded); before: its outcome was
    # on the wire or not yet replicated when the master died.
    first, first_conn = {}, {}
    for e in tail.accepted:
        for r in e["rcpt_tos"]:
            first.setdefault(r.lower(), e["time"])
            first_conn.setdefault(r.lower(), e["conn"])
    sessions = len(set(first_conn[a] for a in dups))
    dups_late = sum(1 for a in dups if first[a] >= wall_kill)
    early_ms = max([(wall_kill - first[a]) * 1000 for a in dups
                    if first[a] < wall_kill] or [0])
    p = js.get("progress", {})
    diag("delivery: %d recipients, tenant %s on %s; kill -9 at %d messages "
         "(%.1f s after launch); cluster ok after %s s; done %.1f s after "
         "launch (%.0f msg/s); progress %r"
         % (RECIPIENTS, tid, addr, at_kill, t_kill - t0,
            "%.2f" % failover_s if failover_s is not None else "-",
            secs, len(tail.accepted) / secs, p))
    diag("delivery: received %d messages (%d after the kill), lost %d, "
         "duplicated %d recipients (%d extra copies; bound %d = %d senders "
         "x %d ids an entry); of the duplicates, %d first sent after the "
         "kill (outcome not written), %d in the %.0f ms before it (outcome "
         "in flight or not replicated), from %d SMTP sessions (entries); "
         "relay refusals %d"
         % (len(tail.accepted), len(after_kill), len(lost), len(dups), extra,
            DUP_BOUND, SENDERS, ENTRY_IDS, dups_late, len(dups) - dups_late,
            early_ms, sessions, len(tail.refused)))
    ok(js.get("status") == "done", "delivery: the campaign is done",
       repr(js))
    ok(not lost, "delivery: every recipient received a message (lost %d)"
       % len(lost), repr(lost[:10]))
    ok(not strangers, "delivery: nobody else was mailed", repr(strangers[:5]))
    ok(extra <= DUP_BOUND, "delivery: %d extra copies <= %d (one queue "
       "entry per sender)" % (extra, DUP_BOUND), repr(dups[:20]))
    ok(p.get("sent") == RECIPIENTS and p.get("failed", 0) == 0,
       "delivery: progress says %d sent" % RECIPIENTS, repr(p))
    summary.update(recipients=RECIPIENTS, received=len(tail.accepted),
                   mail_lost=len(lost), duplicated=len(dups),
                   extra=extra, mail_failover_s=failover_s)


def main():
    t0 = time.monotonic()
    rc = rcluster.RedisCluster()
    diag("cluster of %d masters and %d replicas up in %.1f s"
         % (rc.nmasters, len(rc.nodes) - rc.nmasters, rc.start_seconds))
    relay = Relay()
    ff = Fanfare(redis=rc, admin_key=ADMIN, api_max_body="16M",
                 smtp_relay="127.0.0.1:%d" % relay.port,
                 senders=str(SENDERS), smtp_starttls="off",
                 retry_schedule="1s,2s,3s", redis_wait_replicas="1")
    run(test_tracking, rc, ff)
    run(test_delivery, rc, ff, relay)
    s = collections.defaultdict(lambda: "-", summary)
    fmt = lambda v: "%.2f" % v if isinstance(v, float) else str(v)
    diag("FAILOVER hits: answered %s, recorded %s, lost %s, non-2xx %s, "
         "failover %s s | mails: recipients %s, received %s, lost %s, "
         "duplicated %s (%s extra copies), failover %s s | %.0f s in all"
         % (tuple(fmt(s[k]) for k in (
             "answered", "recorded", "lost", "non2xx", "failover_s",
             "recipients", "received", "mail_lost", "duplicated", "extra",
             "mail_failover_s")) + (time.monotonic() - t0,)))
    ff.stop()
    relay.close()
    rc.stop()
    done()


if __name__ == "__main__":
    main()
