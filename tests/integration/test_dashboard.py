#!/usr/bin/python3
"""
test_dashboard.py: the dashboard's static files on the API listener and
the timeseries behind its charts, against a real campaign sent through
a real SMTP capture server.

  1. /dashboard/ and its assets: the bytes of templates/dashboard/, the
     right Content-Type, no-store, a strict Content-Security-Policy,
     nosniff, DENY; HEAD; / and /dashboard redirect; 404 JSON for any
     other name (traversal attempts included) and 405 for other methods;
     no script from elsewhere and none inline;
  2. GET /v1/campaigns/ID/timeseries: the pixel and a link of a sent mail,
     through the tracking listener, move the minute (and hour) bucket of
     the hit, human and machine apart by User-Agent, DNT hits counted as
     the counters count them; the buckets agree with the stats; bad step
     or range: 400; another tenant's key: 404; no key: 401;
  3. a hit answered while Redis is stopped, shipped in a later minute,
     lands in the minute it was answered, once;
  4. erasing a data subject leaves the aggregate buckets; purging the
     tenant removes them with its other keys.
"""
import datetime
import email
import email.policy
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (TEMPLATES, Fanfare, Redis, Relay, add_contacts, call,
                     diag, done, launch, must, new_campaign, new_list,
                     new_template, new_tenant, ok, public_path, run, stats,
                     wait_done, wait_for)

ADMIN = "admin-" + "b" * 40
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "chart.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
# The app's screens, one script each (templates/dashboard/).
ASSETS.update({n + ".js": "text/javascript; charset=utf-8" for n in (
    "campaigns", "sequences", "contacts", "lists", "templates",
    "suppression", "privacy", "domains", "webhooks", "users", "account")})
PEOPLE = [{"email": "ann@dash.test", "first_name": "Ann"},
          {"email": "ben@dash.test", "first_name": "Ben"}]
HTML = ('<html><body><p>Hi {{first_name}}</p>'
        '<a href="https://shop.example/one">One</a> '
        '<a href="https://shop.example/two">Two</a>'
        '</body></html>')


def asset(name):
    with open(os.path.join(TEMPLATES, "dashboard", name), "rb") as f:
        return f.read()


# ------------------------------------------------------- static files


def test_static(ff):
    csp_ok = True
    for name, ctype in ASSETS.items():
        for path in (["/dashboard/", "/dashboard/index.html"]
                     if name == "index.html" else ["/dashboard/" + name]):
            st, h, body = ff.api("GET", path)
            csp = h.get("content-security-policy", "")
            good = (st == 200 and h.get("content-type") == ctype and
                    body == asset(name) and
                    h.get("cache-control") == "no-store" and
                    h.get("x-content-type-options") == "nosniff" and
                    h.get("x-frame-options") == "DENY")
            ok(good, "GET %s: 200 %s, the file's %d bytes, no-store, "
               "nosniff, DENY" % (path, ctype, len(asset(name))),
               "%s %r" % (st, h))
            csp_ok = csp_ok and ("default-src 'self'" in csp and
                                 "script-src 'self'" in csp and
                                 "frame-ancestors 'none'" in csp and
                                 "unsafe" not in csp)
    ok(csp_ok, "every file: CSP default-src 'self', script-src 'self', "
       "frame-ancestors 'none', nothing unsafe", h.get(
           "content-security-policy"))
    st, h, body = ff.api("HEAD", "/dashboard/app.js")
    ok(st == 200 and body == b"" and
       h.get("content-length") == str(len(asset("app.js"))),
       "HEAD /dashboard/app.js: 200, Content-Length, no body",
       "%s %r" % (st, h))
    for path in ("/", "/dashboard"):
        st, h, _ = ff.api("GET", path)
        ok(st == 302 and h.get("location") == "/dashboard/",
           "GET %s redirects to /dashboard/" % path, "%s %r" % (st, h))
    for path in ("/dashboard/nope.js", "/dashboard/../fanfare.conf",
                 "/dashboard/%2e%2e/unsubscribe.html",
                 "/dashboard/..%2funsubscribe.html",
                 "/dashboard/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                 "/dashboard//index.html", "/dashboard/index.html/x",
                 "/dashboard/INDEX.HTML", "/dashboard/app.js%00.html"):
        st, h, body = ff.api("GET", path)
        try:
            code = json.loads(body)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        ok(st in (400, 404) and h.get("content-type") ==
           "application/json" and code in ("not_found", "bad_request"),
           "GET %s: JSON %s, no file" % (path, st), "%s %r" % (st, body))
    st, h, body = ff.api("POST", "/dashboard/", body=b"{}")
    ok(st == 405 and b"method_not_allowed" in body,
       "POST /dashboard/: 405 JSON", "%s %r" % (st, body))
    html_src = asset("index.html").decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html_src, re.S)
    ok(scripts and all(re.search(r'\bsrc="[a-z]+\.js"', a) and not b.strip()
                       for a, b in scripts),
       "index.html: only same-origin script files, no inline script",
       repr(scripts))
    remote = [n for n in ASSETS if re.search(
        rb"(?:src|href)=\"(?:https?:)?//|@import|\burl\(\s*['\"]?(?:https?:)?//",
        asset(n))]
    ok(not remote, "no asset loads anything from another host", remote)
    stores = [n for n in ASSETS if n.endswith(".js") and re.search(
        r"localStorage|sessionStorage|document\.cookie|indexedDB",
        asset(n).decode())]
    ok(not stores, "no script stores anything: no cookie it can read, no "
       "web storage", stores)
    sinks = [n for n in ASSETS if n.endswith(".js") and re.search(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|"
        r"new Function", asset(n).decode())]
    ok(not sinks, "no script turns text into markup or code (innerHTML, "
       "document.write, eval)", sinks)


# --------------------------------------------------------- timeseries


def series(ff, key, cid, query="step=minute"):
    st, js, raw = call(ff, "GET", "/v1/campaigns/%s/timeseries?%s"
                       % (cid, query), key)
    return st, js, raw


def minute_of(iso):
    d = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) // 60


def totals(points):
    t = {"opens": 0, "opens_machine": 0, "clicks": 0, "clicks_machine": 0}
    for p in points:
        for k in t:
            t[k] += p[k]
    return t


def send_campaign(ff, relay, key):
    """A campaign to PEOPLE through the relay; (cid, {email: html})."""
    relay.fresh()
    add_contacts(ff, key, PEOPLE)
    lid = new_list(ff, key, [p["email"] for p in PEOPLE])
    tpl = new_template(ff, key, "Hello {{first_name}}", HTML,
                       "Hi {{first_name}}\n")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid)
    ok(js.get("status") == "done" and js["progress"]["sent"] == len(PEOPLE),
       "the campaign is sent to its %d recipients" % len(PEOPLE), repr(js))
    out = {}
    for rcpt, got in relay.by_rcpt().items():
        msg = email.message_from_bytes(got[0][1], policy=email.policy.default)
        for part in msg.walk():
            if part.get_content_type() == "text/html":
                out[rcpt] = part.get_content()
    return cid, out


def hits_of(ff, html_src):
    pixel = re.search(r'<img src="([^"]+/o/[^"]+\.gif)"', html_src)
    links = re.findall(r'<a href="([^"]+/c/[^"]+)"', html_src)
    return public_path(ff, pixel.group(1)), [public_path(ff, l)
                                             for l in links]


def test_timeseries(ff, redis, tid, key, other_key, cid, mails):
    st, js, raw = series(ff, key, cid)
    ok(st == 200 and js.get("step") == "minute" and
       totals(js.get("points", [])) == totals([]),
       "before any hit: 200, step minute, all zeros", raw[:300])
    pts = js.get("points", [])
    ok(1 <= len(pts) <= 3 and all(set(p) == {"t", "opens", "opens_machine",
                                             "clicks", "clicks_machine"}
                                  for p in pts),
       "the default range is the campaign's life: %d minute(s), each "
       "{t, opens, opens_machine, clicks, clicks_machine}" % len(pts),
       repr(pts))
    pixel, links = hits_of(ff, mails["ann@dash.test"])
    pixel2, links2 = hits_of(ff, mails["ben@dash.test"])
    m0 = int(time.time()) // 60
    # A person: a browser's User-Agent (harness default).  A machine:
    # no User-Agent at all.  DNT/GPC: counted in the aggregates all the
    # same.  The machine hits come last: a click soon after a machine
    # open of the same mail is the scanner's (scanner_window).
    answers = [
        ff.http("GET", pixel)[0],                                 # human
        ff.http("GET", pixel2, headers={"DNT": "1"})[0],          # human, DNT
        ff.http("GET", links[0])[0],                              # human
        ff.http("GET", links2[0], headers={"Sec-GPC": "1"})[0],  # human, GPC
        ff.http("GET", pixel, headers={"User-Agent": None})[0],   # machine
        ff.http("GET", links[1], headers={"User-Agent": None})[0],
    ]
    m1 = int(time.time()) // 60
    ok(answers == [200, 200, 302, 302, 200, 302],
       "3 pixels and 3 clicks answered", repr(answers))
    want = {"opens": 2, "opens_machine": 1, "clicks": 2, "clicks_machine": 1}

    def counted():
        st, js, _ = series(ff, key, cid)
        return js if st == 200 and totals(js["points"]) == want else None
    js = wait_for(counted, timeout=10, interval=0.1) or series(
        ff, key, cid)[1]
    ok(js and totals(js["points"]) == want,
       "timeseries: 2 human opens (one DNT), 1 machine open, 2 human clicks "
       "(one GPC), 1 machine click", repr(js))
    busy = [p for p in (js or {}).get("points", [])
            if any(p[k] for k in want)]
    ok(busy and all(m0 <= minute_of(p["t"]) <= m1 for p in busy),
       "the hits are in the minute they were answered (%d..%d)" % (m0, m1),
       repr(busy))
    fields = redis.hgetall("{t:%s:c:%s}:ts" % (tid, cid))
    raw_min = {k: 0 for k in want}
    names = {"o": "opens", "om": "opens_machine", "c": "clicks",
             "cm": "clicks_machine"}
    for f, v in fields.items():
        kind, _, bucket = f.partition(":")
        if kind in names and m0 <= int(bucket) <= m1:
            raw_min[names[kind]] += int(v)
    ok(raw_min == want and all(f.split(":")[0] in names or
                               f.split(":")[0] in ["h" + n for n in names]
                               for f in fields),
       "Redis: {t:T:c:C}:ts holds o/om/c/cm:MINUTE and h*:HOUR fields",
       repr(fields))
    st, jh, _ = series(ff, key, cid, "step=hour")
    ok(st == 200 and jh["step"] == "hour" and totals(jh["points"]) == want
       and all(p["t"].endswith(":00:00Z") for p in jh["points"]),
       "step=hour: the same totals, buckets on the hour", repr(jh))
    s = stats(ff, key, cid)
    ok(s["opens"]["total"] == want["opens"] and
       s["opens"]["machine"] == want["opens_machine"] and
       s["clicks"]["total"] == want["clicks"] and
       s["clicks"]["machine"] == want["clicks_machine"],
       "the buckets agree with the stats' counters", repr(s))
    # An explicit range around the hits, in both time forms.
    t0 = datetime.datetime.fromtimestamp(
        m0 * 60, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    st, jr, _ = series(ff, key, cid, "step=minute&from=%s&to=%d"
                       % (t0, m1 * 60 + 59))
    ok(st == 200 and len(jr["points"]) == m1 - m0 + 1 and
       jr["points"][0]["t"] == t0 and totals(jr["points"]) == want,
       "from (RFC 3339) and to (unix seconds): %d point(s), same totals"
       % (m1 - m0 + 1), repr(jr))
    for q, code in (("step=day", "invalid_step"),
                    ("step=", "invalid_step"),
                    ("step=minute&from=%d&to=%d" % (m1 * 60, m0 * 60 - 60),
                     "invalid_range"),
                    ("step=minute&from=0&to=%d" % (m1 * 60), "invalid_range"),
                    ("step=hour&from=yesterday", "invalid_range"),
                    ("step=minute&to=2026-13-01T00:00:00Z", "invalid_range")):
        st, jb, raw = series(ff, key, cid, q)
        ok(st == 400 and (jb or {}).get("error", {}).get("code") == code,
           "?%s: 400 %s" % (q, code), "%s %r" % (st, raw[:200]))
    st, jb, raw = series(ff, other_key, cid)
    ok(st == 404 and jb["error"]["code"] == "not_found",
       "another tenant's key: 404", "%s %r" % (st, raw[:200]))
    st, _, _ = series(ff, None, cid)
    ok(st == 401, "no key: 401", st)
    st, _, _ = series(ff, key, "999")
    ok(st == 404, "a campaign that does not exist: 404", st)
    return want


def test_replay_minute(ff, redis, key, cid, mails, before):
    """A hit answered while Redis is stopped is shipped a minute later;
    its bucket is the minute it was answered in, and it counts once."""
    # Hit at second >= 50 of a minute so that the shipping is in the next.
    now = time.time()
    if now % 60 < 50:
        time.sleep(50 - now % 60)
    pixel, _ = hits_of(ff, mails["ben@dash.test"])
    redis.sigstop()
    try:
        m_hit = int(time.time()) // 60
        st = ff.http("GET", pixel)[0]
        time.sleep(max(0.0, (m_hit + 1) * 60 + 1.5 - time.time()))
    finally:
        redis.sigcont()
    want = dict(before, opens=before["opens"] + 1)

    def counted():
        st, js, _ = series(ff, key, cid)
        return js if st == 200 and totals(js["points"]) == want else None
    js = wait_for(counted, timeout=15, interval=0.2) or series(
        ff, key, cid)[1]
    ok(st == 200 and js and totals(js["points"]) == want,
       "the pixel answered while Redis was stopped is counted once",
       repr(js))
    by_min = {minute_of(p["t"]): p["opens"] for p in js["points"]}
    ok(by_min.get(m_hit, 0) >= 1 and by_min.get(m_hit + 1, 0) == 0,
       "it is in the minute it was answered (%d), not the minute Redis got "
       "it (%d)" % (m_hit, m_hit + 1), repr(by_min))
    return want


def test_erase_and_purge(ff, redis, tid, key, cid, want):
    st, js, raw = call(ff, "DELETE", "/v1/subjects/ann@dash.test", key)
    ok(st == 200 and js["erased"]["events"] > 0,
       "a data subject with events is erased", raw[:300])
    # A worker whose connection failed while Redis was stopped (the test
    # before) may still answer 503 "try again" for its backoff: again.
    got = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(
        series(ff, key, cid)), timeout=10, interval=0.2)
    st, js, _ = got or series(ff, key, cid)
    ok(st == 200 and totals(js["points"]) == want,
       "the buckets stay after the erasure: aggregates, like the stats",
       repr(js))
    tskey = "{t:%s:c:%s}:ts" % (tid, cid)
    ok(redis.cmd("EXISTS", tskey) == 1, "%s exists before the purge" % tskey)
    st, js, raw = call(ff, "DELETE", "/v1/tenants/%s?now=true" % tid, ADMIN)
    ok(st in (200, 202), "the tenant is purged now", "%s %r" % (st, raw))
    gone = wait_for(lambda: redis.cmd("EXISTS", tskey) == 0, timeout=10)
    left = redis.cmd("SCAN", "0", "MATCH", "{t:%s:*" % tid, "COUNT", "100000")
    ok(gone and not left[1], "the purge removed %s with every other key "
       "of the tenant" % tskey, repr(left))


def main():
    relay = Relay()
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off")
    run(test_static, ff)
    tid, key = new_tenant(ff, "Dash")
    _, other_key = new_tenant(ff, "Other")
    sent = run(send_campaign, ff, relay, key)
    if sent:
        cid, mails = sent
        want = run(test_timeseries, ff, redis, tid, key, other_key, cid,
                   mails)
        if want:
            want = run(test_replay_minute, ff, redis, key, cid, mails,
                       want) or want
            run(test_erase_and_purge, ff, redis, tid, key, cid, want)
    relay.close()
    done()


if __name__ == "__main__":
    main()
