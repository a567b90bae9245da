#!/usr/bin/python3
"""
test_sequences.py: sequences (automation) on the real fanfared, its
senders, a real Redis (or a Redis Cluster with FF_TEST_REDIS=cluster) and
a real SMTP server (contrib/smtp-capture.py), with delays in seconds.

  1. the API refuses what it must (bad delays, conditions, fields,
     templates, a pause of a draft) with the documented codes;
  2. a two-step sequence whose step 2 is "if": "not_opened": one
     recipient opens step 1 with a browser User-Agent through the real
     tracking listener; step 2 goes to the others only; GET shows the
     per-step figures (sent, opens, skipped) and the enrollment counts;
  3. an opt-out between the steps stops step 2 for that contact (its
     enrollment exits) and only for it;
  4. a kill -9 of fanfared between the steps: after the restart every
     contact gets step 2 exactly once, and step 1 was not repeated;
  5. a trigger list: a contact added to it is enrolled and mailed;
  6. erasure removes the enrollment.

What a recipient got is read back from the SMTP capture (subjects).
"""
import email
import email.policy
import os
import re
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Relay, add_contacts, call, diag, done, must,
                     new_list, new_template, new_tenant, ok, public_path,
                     run, wait_for)
import harness

ADMIN = "admin-" + "s" * 40
FROM = "News Team <news@acme.test>"
BROWSER = ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
           "Firefox/128.0")
POLICY = email.policy.default


def subjects(relay, domain):
    """{recipient: [subject, ...]} of what the relay accepted for the
    addresses @domain."""
    out = {}
    for rcpt, msgs in relay.by_rcpt().items():
        if not rcpt.endswith("@" + domain):
            continue
        out[rcpt] = sorted(str(email.message_from_bytes(
            raw, policy=POLICY)["subject"]) for _, raw in msgs)
    return out


def raw_of(relay, rcpt, subject):
    for _, raw in relay.by_rcpt().get(rcpt, []):
        m = email.message_from_bytes(raw, policy=POLICY)
        if str(m["subject"]) == subject:
            return m
    return None


def sequence(ff, key, sid):
    st, js, _ = call(ff, "GET", "/v1/sequences/%s" % sid, key)
    return js if st == 200 and js else {}


def new_sequence(ff, key, steps, **extra):
    body = {"name": "welcome", "from": FROM, "steps": steps}
    body.update(extra)
    js = must("POST /v1/sequences", call(ff, "POST", "/v1/sequences", key,
                                         body), 201)
    return js


def enroll(ff, key, sid, emails):
    return must("enroll", call(ff, "POST", "/v1/sequences/%s/enroll" % sid,
                               key, {"emails": emails}))


def ended(ff, key, sid, n, timeout=40):
    """The sequence once completed + exited reaches n (or as it is)."""
    got = wait_for(lambda: (lambda js: js if js.get("completed", 0) +
                            js.get("exited", 0) >= n else None)(
        sequence(ff, key, sid)), timeout=timeout, interval=0.2)
    return got or sequence(ff, key, sid)


def wait_mails(relay, domain, want, timeout=30):
    """Until every address of want (address -> count) has at least its
    count of messages; the subjects then."""
    def enough():
        s = subjects(relay, domain)
        return s if all(len(s.get(a, [])) >= n for a, n in want.items()) \
            else None
    return wait_for(enough, timeout=timeout, interval=0.2) or \
        subjects(relay, domain)


def templates(ff, key):
    t1 = new_template(ff, key, "Step one", "<p>Hello {{first_name}}</p>"
                      "<a href=\"https://shop.example/one\">one</a>", "one")
    t2 = new_template(ff, key, "Step two", "<p>Still there?</p>", "two")
    return t1, t2


# ----------------------------------------------------------------- tests


def test_refusals(ff, key):
    t1, t2 = templates(ff, key)
    cases = [
        ({"name": "x", "from": FROM, "steps": [
            {"template_id": t1, "delay": "3x"}]}, 422, "invalid_delay"),
        ({"name": "x", "from": FROM, "steps": [
            {"template_id": t1, "delay": "400d"}]}, 422, "invalid_delay"),
        ({"name": "x", "from": FROM, "steps": [
            {"template_id": t1, "if": "opened"}]}, 422,
         "invalid_condition"),
        ({"name": "x", "from": FROM, "steps": [
            {"template_id": t1}, {"template_id": t2, "if": "maybe"}]}, 422,
         "invalid_condition"),
        ({"name": "x", "from": FROM, "steps": []}, 422, "invalid_steps"),
        ({"name": "x", "from": FROM, "steps": [{"template_id": t1}] * 21},
         422, "invalid_steps"),
        ({"name": "x", "from": FROM, "steps": [
            {"template_id": "999999"}]}, 422, "invalid_reference"),
        ({"name": "x", "from": FROM, "steps": [
            {"template_id": t1, "wait": "1d"}]}, 400, "unknown_field"),
        ({"name": "x", "from": "not an address", "steps": [
            {"template_id": t1}]}, 422, "invalid_from"),
        ({"name": "x", "from": FROM, "steps": [{"template_id": t1}],
          "trigger": {"list_id": "999999"}}, 422, "invalid_trigger"),
        ({"name": "x", "from": FROM, "steps": [{"template_id": t1}],
          "colour": "red"}, 400, "unknown_field"),
    ]
    for body, status, code in cases:
        st, js, raw = call(ff, "POST", "/v1/sequences", key, body)
        got = ((js or {}).get("error") or {}).get("code")
        ok(st == status and got == code, "POST /v1/sequences %s -> %d %s"
           % (json_short(body), status, code), "%s %r" % (st, raw[:300]))
    big = new_sequence(ff, key, [{"template_id": t1, "delay": "%dm" % i}
                                 for i in range(20)])["id"]
    js = sequence(ff, key, big)
    ok(len(js.get("steps", [])) == 20 and js["steps"][19]["delay"] ==
       "19m" and len({s["campaign_id"] for s in js["steps"]}) == 20,
       "a sequence of 20 steps (the most) is made, each with its campaign",
       repr(js)[:300])
    sid = new_sequence(ff, key, [{"template_id": t1}])["id"]
    st, js, raw = call(ff, "POST", "/v1/sequences/%s/pause" % sid, key)
    ok(st == 409 and js["error"]["code"] == "invalid_state",
       "pausing a draft sequence: 409 invalid_state", raw[:200])
    st, _, _ = call(ff, "GET", "/v1/sequences/99999", key)
    ok(st == 404, "GET of an unknown sequence: 404")
    st, _, raw = call(ff, "POST", "/v1/sequences/%s/enroll" % sid, key,
                      {"emails": "a@b.test"})
    ok(st == 422, "enroll with emails not an array: 422", raw[:200])


def json_short(body):
    s = repr(body)
    return s if len(s) < 90 else s[:87] + "..."


def test_unverified_from(redis):
    """A fanfared that checks the From (the default), alone on the Redis
    while no sequence is active: its senders take no campaign."""
    ff2 = Fanfare(redis=redis, admin_key=ADMIN, senders="0",
                  allow_unverified_from=None)
    try:
        _, key = new_tenant(ff2, "Unverified")
        t1, _ = templates(ff2, key)
        st, js, raw = call(ff2, "POST", "/v1/sequences", key, {
            "name": "x", "from": FROM, "steps": [{"template_id": t1}]})
        ok(st == 422 and js["error"]["code"] == "unverified_domain",
           "a From on a domain the tenant has not verified: 422 "
           "unverified_domain, as for a campaign", raw[:300])
    finally:
        ff2.stop()


def test_not_opened(ff, relay, key):
    dom = "no.test"
    people = ["ann@" + dom, "bob@" + dom, "cat@" + dom]
    add_contacts(ff, key, [{"email": a, "first_name": a[:3]}
                           for a in people])
    t1, t2 = templates(ff, key)
    js = new_sequence(ff, key, [
        {"template_id": t1, "delay": "0s"},
        {"template_id": t2, "delay": "6s", "if": "not_opened"}])
    ok(js.get("status") == "draft", "POST /v1/sequences: 201 draft",
       repr(js))
    sid = js["id"]
    res = enroll(ff, key, sid, people + ["nobody@" + dom, "not an address",
                                         people[0]])
    reasons = {s["email"]: s["reason"] for s in res["skipped"]}
    ok(res["enrolled"] == 3 and len(res["skipped"]) == 3 and reasons == {
        "nobody@" + dom: "not_found", "not an address": "invalid_email",
        people[0]: "already_enrolled"},
       "enroll: 3 enrolled; the unknown, the invalid and the repeated "
       "skipped with their reasons", repr(res))
    dup = enroll(ff, key, sid, [people[1]])
    ok(dup["enrolled"] == 0 and dup["skipped"] == [
        {"email": people[1], "reason": "already_enrolled"}],
       "a contact is enrolled once", repr(dup))
    time.sleep(1.5)
    ok(subjects(relay, dom) == {}, "a draft sequence sends nothing",
       repr(subjects(relay, dom)))
    must("activate", call(ff, "POST", "/v1/sequences/%s/activate" % sid,
                          key))
    t0 = time.monotonic()
    got = wait_mails(relay, dom, {a: 1 for a in people})
    ok(all(got.get(a) == ["Step one"] for a in people),
       "step 1 reaches the three enrolled once activated", repr(got))
    # ann opens step 1 in a browser, through the tracking listener.
    m = raw_of(relay, people[0], "Step one")
    html = m.get_body(("html",)).get_content() if m else ""
    pix = re.search(r'<img src="([^"]+/o/[A-Za-z0-9_-]+\.gif)"', html)
    st = None
    if pix:
        st, _, _ = ff.http("GET", public_path(ff, pix.group(1)),
                           headers={"User-Agent": BROWSER})
    ok(st == 200, "ann's pixel answers 200", "%s %s" % (st, html[-300:]))
    seen = wait_for(lambda: sequence(ff, key, sid)["steps"][0]["opens"] == 1,
                    timeout=5, interval=0.1)
    ok(seen and time.monotonic() - t0 < 6,
       "the open is counted on step 1 before step 2 is due",
       "%.1f s %r" % (time.monotonic() - t0, sequence(ff, key, sid)))
    js = ended(ff, key, sid, 3)
    time.sleep(1.5)                  # a late step 2 would arrive now
    got = subjects(relay, dom)
    ok(got.get(people[0]) == ["Step one"],
       "ann, who opened step 1, does not get step 2", repr(got))
    ok(got.get(people[1]) == ["Step one", "Step two"] and
       got.get(people[2]) == ["Step one", "Step two"],
       "bob and cat, who did not open, get step 2 once", repr(got))
    # completed counts a last step queued; its campaign counts it sent.
    js = wait_for(lambda: (lambda q: q if q["steps"][1]["sent"] == 2 else
                           None)(sequence(ff, key, sid)),
                  timeout=10, interval=0.2) or sequence(ff, key, sid)
    s = js.get("steps") or [{}, {}]
    ok(js.get("enrolled") == 3 and js.get("completed") == 3 and
       js.get("active") == 0 and js.get("exited") == 0,
       "GET: enrolled 3, completed 3, active 0, exited 0", repr(js))
    ok(s[0].get("sent") == 3 and s[0].get("opens") == 1 and
       s[0].get("clicks") == 0 and s[1].get("sent") == 2 and
       s[1].get("skipped") == 1 and s[1].get("opens") == 0 and
       s[1].get("if") == "not_opened" and s[1].get("delay") == "6s",
       "GET: per step sent, opens, clicks, skipped", repr(s))
    st, js, _ = call(ff, "GET", "/v1/sequences", key)
    ok(st == 200 and sid in [x["id"] for x in js["items"]],
       "GET /v1/sequences lists it")


def test_optout_between(ff, relay, key):
    dom = "opt.test"
    people = ["dan@" + dom, "eve@" + dom]
    add_contacts(ff, key, [{"email": a} for a in people])
    t1, t2 = templates(ff, key)
    sid = new_sequence(ff, key, [{"template_id": t1},
                                 {"template_id": t2, "delay": "4s"}])["id"]
    must("activate", call(ff, "POST", "/v1/sequences/%s/activate" % sid,
                          key))
    enroll(ff, key, sid, people)
    got = wait_mails(relay, dom, {a: 1 for a in people})
    ok(all(got.get(a) == ["Step one"] for a in people),
       "step 1 reaches both", repr(got))
    must("optout", call(ff, "POST", "/v1/optouts", key,
                        {"email": people[0]}))
    js = ended(ff, key, sid, 2)
    time.sleep(1.5)
    got = subjects(relay, dom)
    ok(got.get(people[0]) == ["Step one"],
       "opted out between the steps: no step 2", repr(got))
    ok(got.get(people[1]) == ["Step one", "Step two"],
       "the other contact gets step 2", repr(got))
    ok(js.get("exited") == 1 and js.get("completed") == 1 and
       js.get("active") == 0, "GET: one exited, one completed", repr(js))
    # Opted out already: refused at enrollment.
    sid2 = new_sequence(ff, key, [{"template_id": t1}])["id"]
    res = enroll(ff, key, sid2, [people[0]])
    ok(res["enrolled"] == 0 and res["skipped"] == [
        {"email": people[0], "reason": "opted_out"}],
       "an opted-out contact is not enrolled", repr(res))


def test_kill9(ff, relay, key):
    dom = "kill.test"
    people = ["k%02d@%s" % (i, dom) for i in range(20)]
    add_contacts(ff, key, [{"email": a} for a in people])
    t1, t2 = templates(ff, key)
    sid = new_sequence(ff, key, [{"template_id": t1},
                                 {"template_id": t2, "delay": "5s"}])["id"]
    must("activate", call(ff, "POST", "/v1/sequences/%s/activate" % sid,
                          key))
    enroll(ff, key, sid, people)
    got = wait_mails(relay, dom, {a: 1 for a in people})
    ok(all(got.get(a) == ["Step one"] for a in people),
       "step 1 reaches all 20 before the kill", repr(got))
    ff.kill9()
    time.sleep(1)
    ff.start()
    js = ended(ff, key, sid, len(people), timeout=60)
    time.sleep(2)
    got = subjects(relay, dom)
    bad = {a: s for a, s in got.items() if s != ["Step one", "Step two"]}
    ok(len(got) == len(people) and not bad,
       "after a kill -9 between the steps each contact got step 1 and "
       "step 2 exactly once", repr(bad or got))
    ok(js.get("completed") == len(people), "GET: all completed", repr(js))


def test_trigger(ff, relay, key):
    dom = "trig.test"
    people = ["tia@" + dom, "tom@" + dom]
    add_contacts(ff, key, [{"email": a} for a in people])
    lid = new_list(ff, key, [], name="signups")
    t1, _ = templates(ff, key)
    sid = new_sequence(ff, key, [{"template_id": t1}],
                       trigger={"list_id": lid})["id"]
    must("activate", call(ff, "POST", "/v1/sequences/%s/activate" % sid,
                          key))
    must("members", call(ff, "POST", "/v1/lists/%s/members" % lid, key,
                         {"emails": [people[0]]}))
    got = wait_mails(relay, dom, {people[0]: 1})
    js = sequence(ff, key, sid)
    ok(got.get(people[0]) == ["Step one"] and people[1] not in got,
       "a contact added to the trigger list is enrolled and mailed",
       repr(got))
    ok(js.get("enrolled") == 1 and
       (js.get("trigger") or {}).get("list_id") == lid,
       "GET: enrolled 1, the trigger list shown", repr(js))


def test_erasure(ff, relay, key, redis, tid):
    dom = "erase.test"
    who = "zed@" + dom
    add_contacts(ff, key, [{"email": who}])
    t1, t2 = templates(ff, key)
    sid = new_sequence(ff, key, [{"template_id": t1},
                                 {"template_id": t2, "delay": "1h"}])["id"]
    must("activate", call(ff, "POST", "/v1/sequences/%s/activate" % sid,
                          key))
    enroll(ff, key, sid, [who])
    wait_mails(relay, dom, {who: 1})
    must("erase", call(ff, "DELETE", "/v1/subjects/%s" % who, key))
    h = redis.hgetall("{t:%s}:sequence:%s:enrolled" % (tid, sid))
    due = redis.cmd("ZCARD", "{t:%s}:sequence:%s:due" % (tid, sid))
    js = sequence(ff, key, sid)
    ok(h == {} and due == 0 and js.get("exited") == 1 and
       js.get("active") == 0,
       "erasure removes the enrollment and its due step",
       "%r due %r %r" % (h, due, js))


def main():
    relay = Relay()
    redis = harness.Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="2",
                 smtp_starttls="off", claim_idle="2s")
    relay.fresh()
    tid, key = new_tenant(ff, "Seq")
    run(test_unverified_from, redis)
    run(test_refusals, ff, key)
    run(test_not_opened, ff, relay, key)
    run(test_optout_between, ff, relay, key)
    run(test_trigger, ff, relay, key)
    run(test_erasure, ff, relay, key, redis, tid)
    run(test_kill9, ff, relay, key)
    relay.close()
    done()


if __name__ == "__main__":
    main()
