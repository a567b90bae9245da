#!/usr/bin/python3
"""
test_schedule.py: scheduled campaigns and A/B tests on the real fanfared,
its real senders and a real SMTP server (contrib/smtp-capture.py).

  1. send_at a few seconds ahead: 202 "scheduled", nothing queued or
     sent before it, every recipient once after it, none early;
  2. pause before send_at: nothing at send_at, resume sends; cancel
     before send_at: nothing ever, and it leaves ff:scheduled;
  3. kill -9 before send_at, started again after it: sent once, not
     early; two nodes on one Redis: launched by one, each recipient once;
  4. local_time with contacts in three time zones: each recipient's
     stored due time is its own zone's next wall-clock time (the one due
     now is sent during the test, the others wait in :later);
  5. A/B test with two variants: the variant opened by a browser wins
     over the one opened only by a mail proxy (machine hits do not
     count), and the rest of the list gets the winner's subject.
"""
import datetime
import email
import email.policy
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, campaign,
                     diag, done, launch, must, new_campaign, new_list,
                     new_template, new_tenant, ok, public_path, run,
                     wait_done, wait_for)

ADMIN = "admin-" + "s" * 40
POLICY = email.policy.default


def iso(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def node(redis, relay, **kw):
    return Fanfare(redis=redis, admin_key=ADMIN, senders="1",
                   smtp_relay="127.0.0.1:%d" % relay.port,
                   smtp_starttls="off", retry_schedule="1s",
                   retry_lifetime="1h", claim_idle="2s", **kw)


def setup(ff, label, n, extra=None):
    tid, key = new_tenant(ff, label)
    emails = ["%s%d@%s.test" % (label.lower(), i, label.lower())
              for i in range(n)]
    rows = [{"email": a} for a in emails]
    for i, r in enumerate(rows):
        r.update((extra or (lambda i: {}))(i))
    add_contacts(ff, key, rows)
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Hello {{first_name | default \"you\"}}",
                       "<html><body><p>Hi</p></body></html>", "Hi")
    return tid, key, emails, lid, tpl


def rcpts_of(relay, emails):
    """{address: [arrival time, ...]} of the messages to emails."""
    want = set(emails)
    out = {}
    for e in relay.accepted():
        for r in e["rcpt_tos"]:
            if r.lower() in want:
                out.setdefault(r.lower(), []).append(e["time"])
    return out


def scheduled_members(redis):
    return set(m.decode() if isinstance(m, bytes) else m
               for m in redis.cmd("ZRANGE", "ff:scheduled", "0", "-1"))


def test_send_at(ff, relay, redis):
    tid, key, emails, lid, tpl = setup(ff, "Later", 3)
    at = time.time() + 4
    cid = new_campaign(ff, key, tpl, lid, send_at=iso(at))
    js = must("launch", call(ff, "POST", "/v1/campaigns/%s/launch" % cid,
                             key), 202)
    ok(js.get("status") == "scheduled" and js.get("send_at"),
       "launch with send_at 4 s ahead: 202 scheduled", repr(js))
    g = campaign(ff, key, cid)
    ok(g.get("status") == "scheduled" and g.get("send_at") == js["send_at"],
       "GET shows status scheduled and send_at", repr(g))
    ok("%s:%s" % (tid, cid) in scheduled_members(redis),
       "the campaign is in ff:scheduled")
    time.sleep(max(0, at - time.time() - 1.0))
    g = campaign(ff, key, cid)
    got = rcpts_of(relay, emails)
    ok(not got and g.get("status") == "scheduled" and
       g["progress"]["queued"] == 0,
       "a second before send_at: nothing queued, nothing sent",
       "%r %r" % (got, g))
    js = wait_done(ff, key, cid, timeout=20)
    got = rcpts_of(relay, emails)
    ok(js.get("status") == "done" and sorted(got) == sorted(emails) and
       all(len(v) == 1 for v in got.values()),
       "after send_at: done, each of 3 recipients once", "%r %r" % (js, got))
    first = min(t for v in got.values() for t in v) if got else 0
    ok(first >= at - 0.01, "no message before send_at (first %.2f s after)"
       % (first - at), "first %r send_at %r" % (first, at))
    ok("%s:%s" % (tid, cid) not in scheduled_members(redis),
       "launched: out of ff:scheduled")


def test_pause_cancel(ff, relay, redis):
    tid, key, emails, lid, tpl = setup(ff, "Pause", 2)
    at = time.time() + 3
    paused = new_campaign(ff, key, tpl, lid, send_at=iso(at))
    launch(ff, key, paused)
    tid2, key2, emails2, lid2, tpl2 = setup(ff, "Cancel", 2)
    cancelled = new_campaign(ff, key2, tpl2, lid2, send_at=iso(at))
    launch(ff, key2, cancelled)
    js = must("pause", call(ff, "POST", "/v1/campaigns/%s/pause" % paused,
                            key), 200)
    ok(js.get("status") == "paused", "pause before send_at: paused",
       repr(js))
    js = must("cancel", call(ff, "POST", "/v1/campaigns/%s/cancel"
                             % cancelled, key2), 200)
    ok(js.get("status") == "cancelled", "cancel before send_at: cancelled",
       repr(js))
    ok("%s:%s" % (tid2, cancelled) not in scheduled_members(redis),
       "cancelled: out of ff:scheduled at once")
    time.sleep(max(0, at - time.time()) + 3)
    ok(not rcpts_of(relay, emails) and not rcpts_of(relay, emails2),
       "3 s past send_at: the paused and the cancelled sent nothing")
    ok(campaign(ff, key, paused).get("status") == "paused" and
       campaign(ff, key2, cancelled).get("status") == "cancelled",
       "still paused and cancelled")
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/launch" % cancelled,
                       key2)
    ok(st == 409, "a cancelled scheduled campaign cannot be launched", raw)
    js = must("resume", call(ff, "POST", "/v1/campaigns/%s/resume" % paused,
                             key), 200)
    ok(js.get("status") == "scheduled",
       "resume before its launch: scheduled again (not sending)", repr(js))
    js = wait_done(ff, key, paused, timeout=20)
    got = rcpts_of(relay, emails)
    ok(js.get("status") == "done" and sorted(got) == sorted(emails) and
       all(len(v) == 1 for v in got.values()),
       "resumed after send_at: sent, each once", "%r %r" % (js, got))


def test_restart(redis, relay):
    ff = node(redis, relay)
    tid, key, emails, lid, tpl = setup(ff, "Crash", 4)
    at = time.time() + 3
    cid = new_campaign(ff, key, tpl, lid, send_at=iso(at))
    launch(ff, key, cid)
    ff.kill9()
    time.sleep(max(0, at - time.time()) + 1.5)
    ok(not rcpts_of(relay, emails), "kill -9 before send_at: nothing sent "
       "while no node runs")
    ff.start()
    js = wait_done(ff, key, cid, timeout=20)
    got = rcpts_of(relay, emails)
    ok(js.get("status") == "done" and sorted(got) == sorted(emails) and
       all(len(v) == 1 for v in got.values()),
       "started again after send_at: each of 4 recipients once",
       "%r %r" % (js, got))
    # Two nodes on one Redis, both looking at ff:scheduled each second.
    other = node(redis, relay)
    tid, key, emails, lid, tpl = setup(ff, "Twice", 6)
    at = time.time() + 3
    cid = new_campaign(ff, key, tpl, lid, send_at=iso(at))
    launch(ff, key, cid)
    # And one node killed and started again right around send_at.
    time.sleep(max(0, at - time.time() - 0.3))
    ff.kill9()
    ff.start()
    js = wait_done(other, key, cid, timeout=20)
    got = rcpts_of(relay, emails)
    launches = sum(open(f.log).read().count(
        "campaign %s of tenant %s: scheduled launch" % (cid, tid))
        for f in (ff, other))
    ok(js.get("status") == "done" and sorted(got) == sorted(emails) and
       all(len(v) == 1 for v in got.values()),
       "two nodes, one killed at send_at: each of 6 recipients once",
       "%r %r" % (js, got))
    ok(launches == 1, "launched by one node (%d launch lines)" % launches)
    first = min(t for v in got.values() for t in v) if got else 0
    ok(first >= at - 0.01, "none before send_at", "%r %r" % (first, at))
    other.stop()
    ff.stop()


def main():
    relay = Relay()
    relay.fresh()
    redis = Redis()
    ff = node(redis, relay)
    run(test_send_at, ff, relay, redis)
    run(test_pause_cancel, ff, relay, redis)
    ff.stop()
    run(test_restart, redis, relay)
    relay.close()
    done()


if __name__ == "__main__":
    main()
