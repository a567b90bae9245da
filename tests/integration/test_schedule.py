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
  6. segments (segment_id, no list): send_at launches with the segment
     as it is at send_at (its definition frozen then), local_time queues
     only the matching contacts at their zones' times, and an A/B test
     with a segment is refused (422 invalid_ab).
"""
import datetime
import email
import email.policy
import json
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



def next_local(zone, hms, after):
    """Python's own answer (zoneinfo): the first unix time >= after whose
    wall clock in zone reads hms (h, m, s); a skipped time moves on by
    the gap, a repeated one is its first instance."""
    from zoneinfo import ZoneInfo
    z = ZoneInfo(zone)
    day = datetime.datetime.fromtimestamp(after, z).date()
    for d in range(-1, 3):
        date = day + datetime.timedelta(days=d)
        naive = datetime.datetime(date.year, date.month, date.day, *hms)
        cands = set()
        for fold in (0, 1):
            t = naive.replace(tzinfo=z, fold=fold).timestamp()
            back = datetime.datetime.fromtimestamp(t, z).replace(tzinfo=None)
            if back == naive:
                cands.add(t)
        if not cands:       # in a gap: with the offset before it
            cands.add(naive.replace(tzinfo=z, fold=1).timestamp())
        for t in sorted(cands):
            if t >= after:
                return int(t)
    return None


def test_local_time(ff, relay, redis):
    zones = {"lt0@local.test": "Europe/Berlin",
             "lt1@local.test": "Asia/Tokyo",
             "lt2@local.test": "America/New_York",
             "lt3@local.test": None}           # the campaign's zone
    tid, key = new_tenant(ff, "Local")
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       [{"email": "bad@local.test", "timezone": "Mars/Base"}])
    ok(st == 200 and js["rejected"] and
       js["rejected"][0]["error"] == "invalid_timezone",
       "a contact with an unknown time zone is rejected (invalid_timezone)",
       raw)
    st, js, raw = call(ff, "POST", "/v1/contacts", key,
                       [{"email": a, "timezone": z} if z else {"email": a}
                        for a, z in zones.items()])
    ok(st == 200 and not js["rejected"], "contacts in three zones stored",
       raw)
    st, js, raw = call(ff, "PATCH", "/v1/contacts/lt3@local.test", key,
                       {"timezone": "Nowhere/City"})
    ok(st == 422 and js["error"]["code"] == "invalid_timezone",
       "PATCH with an unknown zone: 422 invalid_timezone", raw)
    csv = (b"email,timezone\r\ncsv1@local.test,Australia/Sydney\r\n"
           b"csv2@local.test,Moon/Crater\r\n")
    st, _, out = ff.api("POST", "/v1/contacts/import", body=csv,
                        headers={"Content-Type": "text/csv",
                                 "Authorization": "Bearer " + key})
    js = json.loads(out) if out else {}
    g = must("GET", call(ff, "GET", "/v1/contacts/csv1@local.test", key))
    ok(st == 200 and js.get("created") == 1 and
       [r["error"] for r in js.get("rejected", [])] == ["invalid_timezone"]
       and g.get("timezone") == "Australia/Sydney",
       "CSV import: a timezone column, an unknown zone rejected",
       "%r %r" % (out, g))
    g = must("GET contact", call(ff, "GET", "/v1/contacts/lt1@local.test",
                                 key))
    ok(g.get("timezone") == "Asia/Tokyo", "GET shows the contact's zone",
       repr(g))
    lid = new_list(ff, key, list(zones))
    tpl = new_template(ff, key, "Morning", "<p>Hi</p>", "Hi")
    st, js, raw = call(ff, "POST", "/v1/campaigns", key,
                       {"name": "c", "template_id": tpl, "list_id": lid,
                        "from": "News <news@acme.test>",
                        "local_time": "25:00"})
    ok(st == 422 and js["error"]["code"] == "invalid_local_time",
       "local_time 25:00: 422", raw)
    st, js, raw = call(ff, "POST", "/v1/campaigns", key,
                       {"name": "c", "template_id": tpl, "list_id": lid,
                        "from": "News <news@acme.test>",
                        "local_time": "09:00", "timezone": "Mars/Base"})
    ok(st == 422 and js["error"]["code"] == "invalid_timezone",
       "an unknown campaign timezone: 422", raw)
    # Berlin's wall clock 6 s from now: lt0 is due during the test.
    from zoneinfo import ZoneInfo
    soon = datetime.datetime.fromtimestamp(time.time() + 6,
                                           ZoneInfo("Europe/Berlin"))
    hms = (soon.hour, soon.minute, soon.second)
    cid = new_campaign(ff, key, tpl, lid,
                       local_time="%02d:%02d:%02d" % hms,
                       timezone="America/Sao_Paulo")
    launch(ff, key, cid)
    g = campaign(ff, key, cid)
    launched = datetime.datetime.strptime(
        g["launched_at"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
    # launched_at is shown to the second; the server used its ms.
    later = "{t:%s}:camp:%s:later" % (tid, cid)
    ids = {}
    for a in zones:
        ids[a] = must("GET", call(ff, "GET", "/v1/contacts/" + a, key))["id"]

    def stored():
        out = {}
        for a in zones:
            sc = redis.cmd("ZSCORE", later, ids[a])
            out[a] = int(float(sc)) // 1000 if sc is not None else None
        return out
    got = wait_for(lambda: (lambda s: s if all(s.values()) else None)(
        stored()), timeout=5) or stored()
    want = {a: next_local(z or "America/Sao_Paulo", hms,
                          launched.timestamp()) for a, z in zones.items()}
    # launched_at has whole seconds; the launch may be up to 1 s later.
    ok(all(got[a] is not None and abs(got[a] - want[a]) <= 1
           for a in zones),
       "each recipient's stored due time is its zone's next %02d:%02d:%02d"
       % hms, "got %r want %r" % (got, want))
    ok(got.get("lt0@local.test") and
       got["lt0@local.test"] - launched.timestamp() < 10,
       "the Berlin recipient is due within seconds", repr(got))
    ok(all(v is None or v > time.time() for v in got.values()),
       "nobody is due before their time", repr(got))
    berlin_due = got.get("lt0@local.test") or 0
    arrived = wait_for(lambda: rcpts_of(relay, ["lt0@local.test"]),
                       timeout=20) or {}
    others = rcpts_of(relay, ["lt1@local.test", "lt2@local.test",
                              "lt3@local.test"])
    ok(arrived and len(arrived["lt0@local.test"]) == 1 and
       arrived["lt0@local.test"][0] >= berlin_due - 0.01,
       "the Berlin recipient got its mail at its local time, once",
       "%r due %r" % (arrived, berlin_due))
    ok(not others, "the others wait for theirs", repr(others))
    ok(redis.cmd("ZSCORE", later, ids["lt0@local.test"]) is None and
       redis.cmd("ZCARD", later) == 3, "sent: out of :later; 3 wait")
    g = campaign(ff, key, cid)
    ok(g.get("status") == "sending" and g.get("local_time") ==
       "%02d:%02d:%02d" % hms and g.get("timezone") == "America/Sao_Paulo",
       "GET: still sending, with local_time and timezone", repr(g))
    call(ff, "POST", "/v1/campaigns/%s/cancel" % cid, key)


def test_segment(ff, relay, redis):
    plans = {"sg0@seg.test": "pro", "sg1@seg.test": "pro",
             "sg2@seg.test": "free", "sg3@seg.test": "team"}
    tid, key = new_tenant(ff, "Seg")
    add_contacts(ff, key, [{"email": a, "attributes": {"plan": p},
                            "timezone": "Asia/Tokyo"}
                           for a, p in plans.items()])
    tpl = new_template(ff, key, "Segment", "<p>Hi</p>", "Hi")
    sid = must("segment", call(ff, "POST", "/v1/segments", key, {
        "name": "pro", "match": "all",
        "rules": [{"field": "attributes.plan", "op": "eq",
                   "value": "pro"}]}), 201)["id"]

    def seg_campaign(**extra):
        body = {"name": "s", "template_id": tpl, "segment_id": sid,
                "from": "News <news@acme.test>"}
        body.update(extra)
        return must("POST campaign", call(ff, "POST", "/v1/campaigns", key,
                                          body), 201)["id"]
    # send_at: scheduled without a list; the segment is changed before
    # send_at, and the launch then sends to it as it is.
    at = time.time() + 3
    cid = seg_campaign(send_at=iso(at))
    js = must("launch", call(ff, "POST", "/v1/campaigns/%s/launch" % cid,
                             key), 202)
    ok(js.get("status") == "scheduled",
       "a segment campaign (no list) with send_at: 202 scheduled", repr(js))
    must("PATCH segment", call(ff, "PATCH", "/v1/segments/%s" % sid, key, {
        "rules": [{"field": "attributes.plan", "op": "eq",
                   "value": "team"}]}))
    js = wait_done(ff, key, cid, timeout=20)
    got = rcpts_of(relay, plans)
    ok(js.get("status") == "done" and sorted(got) == ["sg3@seg.test"] and
       len(got["sg3@seg.test"]) == 1 and
       min(got["sg3@seg.test"]) >= at - 0.01,
       "at send_at: the segment as it was then, once, not early",
       "%r %r" % (js, got))
    frozen = redis.cmd("HGET", "{t:%s}:camp:%s" % (tid, cid), "segment_def")
    ok(frozen is not None and '"team"' in frozen,
       "the due launch froze the segment's definition into the record",
       repr(frozen))
    # local_time: only the matching contact waits in :later, at Tokyo's
    # next wall-clock time an hour ago (a day ahead, give or take).
    from zoneinfo import ZoneInfo
    ago = datetime.datetime.fromtimestamp(time.time() - 3600,
                                          ZoneInfo("Asia/Tokyo"))
    hms = (ago.hour, ago.minute, ago.second)
    cid2 = seg_campaign(local_time="%02d:%02d:%02d" % hms)
    launch(ff, key, cid2)
    later = "{t:%s}:camp:%s:later" % (tid, cid2)
    cid_of = must("GET", call(ff, "GET", "/v1/contacts/sg3@seg.test",
                              key))["id"]
    got = wait_for(lambda: redis.cmd("ZRANGE", later, "0", "-1",
                                     "WITHSCORES") or None, timeout=5)
    want = next_local("Asia/Tokyo", hms, time.time() - 5)
    ok(got and len(got) == 2 and str(got[0]) == str(cid_of) and
       abs(int(float(got[1])) // 1000 - want) <= 10,
       "local_time with a segment: only its contact waits, due at its "
       "zone's next %02d:%02d:%02d" % hms, "%r want %r" % (got, want))
    call(ff, "POST", "/v1/campaigns/%s/cancel" % cid2, key)
    # A/B: the test share is a prefix of a total a segment lacks.
    cid3 = seg_campaign(ab={"variants": [{"subject": "A"},
                                         {"subject": "B"}]})
    st, js, raw = call(ff, "POST", "/v1/campaigns/%s/launch" % cid3, key)
    ok(st == 422 and js["error"]["code"] == "invalid_ab" and
       campaign(ff, key, cid3).get("status") == "draft",
       "an A/B test with a segment: 422 invalid_ab, still a draft", raw)


PIXEL_RE = re.compile(r'/o/[A-Za-z0-9_-]+\.gif')
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, "
           "like Gecko) Chrome/120.0 Safari/537.36")
PROXY = ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
         "(via ggpht.com GoogleImageProxy)")


def messages(relay, emails):
    """{address: [(subject, pixel path), ...]}."""
    out = {}
    want = set(emails)
    for rcpt, lst in relay.by_rcpt().items():
        if rcpt not in want:
            continue
        for e, raw in lst:
            m = email.message_from_bytes(raw, policy=POLICY)
            body = m.get_body(("html",))
            px = PIXEL_RE.search(body.get_content()) if body else None
            out.setdefault(rcpt, []).append(
                (str(m["Subject"]), px.group(0) if px else None))
    return out


def test_ab(ff, relay, redis):
    tid, key, emails, lid, tpl = setup(ff, "Split", 10)
    st, js, raw = call(ff, "POST", "/v1/campaigns", key,
                       {"name": "c", "template_id": tpl, "list_id": lid,
                        "from": "News <news@acme.test>",
                        "ab": {"variants": [{"subject": "A"}]}})
    ok(st == 422 and js["error"]["code"] == "invalid_ab",
       "ab with one variant: 422 invalid_ab", raw)
    st, js, raw = call(ff, "POST", "/v1/campaigns", key,
                       {"name": "c", "template_id": tpl, "list_id": lid,
                        "from": "News <news@acme.test>",
                        "ab": {"variants": [{"subject": "A"},
                                            {"subject": "B"}],
                               "metric": "likes"}})
    ok(st == 422 and js["error"]["code"] == "invalid_ab",
       "ab with an unknown metric: 422 invalid_ab", raw)
    linked = new_template(ff, key, "L", '<html><body><a href="https://'
                          'acme.test/x">x</a></body></html>', "x")
    st, js, raw = call(ff, "POST", "/v1/campaigns", key,
                       {"name": "c", "template_id": tpl, "list_id": lid,
                        "from": "News <news@acme.test>",
                        "ab": {"variants": [{"subject": "A"},
                                            {"subject": "B",
                                             "template_id": linked}]}})
    ok(st == 422 and js["error"]["code"] == "invalid_ab",
       "a variant template with other links than the campaign's: 422", raw)
    other = new_template(ff, key, "O", "<html><body><p>Other body</p>"
                         "</body></html>", "Other body")
    cid = new_campaign(ff, key, tpl, lid, ab={
        "variants": [{"subject": "Variant A"},
                     {"subject": "Variant B", "template_id": other}],
        "test_fraction": 0.4, "metric": "opens", "wait": "6s"})
    launch(ff, key, cid)
    # The test share: 4 of 10, two per variant.
    test = wait_for(lambda: (lambda m: m if sum(map(len, m.values())) >= 4
                             else None)(messages(relay, emails)),
                    timeout=15) or messages(relay, emails)
    subjects = sorted(s for v in test.values() for s, _ in v)
    ok(subjects == ["Variant A"] * 2 + ["Variant B"] * 2,
       "the test share: 4 of 10 recipients, 2 per variant", repr(test))
    # A: opened only by a mail proxy (twice each); B: one human open.
    a = [px for v in test.values() for s, px in v if s == "Variant A"]
    b = [px for v in test.values() for s, px in v if s == "Variant B"]
    for px in a * 2:
        ff.http("GET", px, headers={"User-Agent": PROXY},
                port=ff.track_port)
    if b:
        ff.http("GET", b[0], headers={"User-Agent": BROWSER},
                port=ff.track_port)
    g = campaign(ff, key, cid)
    ab = g.get("ab") or {}
    ok(ab.get("winner") is None and len(ab.get("variants", [])) == 2,
       "before the wait: no winner yet", repr(ab))
    g = wait_for(lambda: (lambda js: js if (js.get("ab") or {}).get(
        "winner") else None)(campaign(ff, key, cid)), timeout=20) or \
        campaign(ff, key, cid)
    ab = g.get("ab") or {}
    vs = ab.get("variants") or [{}, {}]
    ok(ab.get("winner") == 2,
       "the winner is the variant a human opened, not the one a proxy "
       "opened more", repr(ab))
    ok(vs[0].get("sent") == 2 and vs[1].get("sent") == 2 and
       vs[0].get("opens") == 0 and vs[1].get("opens") == 1 and
       vs[1].get("open_rate") == 0.5,
       "per-variant figures: sent 2 and 2, human unique opens 0 and 1",
       repr(vs))
    js = wait_done(ff, key, cid, timeout=30)
    allm = messages(relay, emails)
    rest = [s for a_, v in allm.items() for s, _ in v]
    ok(js.get("status") == "done" and len(allm) == 10 and
       all(len(v) == 1 for v in allm.values()) and
       rest.count("Variant B") == 8 and rest.count("Variant A") == 2,
       "the rest of the list (6) got the winner's subject, each once",
       "%r %r" % (js.get("status"), allm))
    bodies = [raw for a_, lst in relay.by_rcpt().items() if a_ in emails
              for e, raw in lst
              if b"Subject: Variant B" in raw]
    ok(len(bodies) == 8 and all(b"Other body" in r for r in bodies),
       "variant B's messages carry its own template's body", len(bodies))
    st = must("stats", call(ff, "GET", "/v1/campaigns/%s/stats" % cid, key))
    ok(st["opens"]["machine"] >= 2 and st["opens"]["unique"] == 1,
       "the stats count the proxy's hits as machine", repr(st["opens"]))

def main():
    relay = Relay()
    relay.fresh()
    redis = Redis()
    diag("redis: %s" % type(redis).__name__)
    ff = node(redis, relay)
    run(test_send_at, ff, relay, redis)
    run(test_pause_cancel, ff, relay, redis)
    run(test_local_time, ff, relay, redis)
    run(test_ab, ff, relay, redis)
    run(test_segment, ff, relay, redis)
    ff.stop()
    run(test_restart, redis, relay)
    relay.close()
    done()


if __name__ == "__main__":
    main()
