#!/usr/bin/python3
"""
test_webhooks.py: webhook endpoints and their deliveries (API.md part 2,
"Webhooks and the event feed"; issue 13) against real HTTP receivers
started here (http.server in threads, on 127.0.0.2: a loopback address
that only webhook_allow 127.0.0.2/32 lets fanfared reach).  The events
come from real campaigns: mails sent through an SMTP sink, then their
pixels, links and one-click opt-outs fetched on the tracking listener.

  1. the API: 201 with the secret once, never again (GET, list); 422
     invalid_url for other schemes, user info, fragments; 422
     invalid_events; 400 unknown_field; 422 forbidden_target for
     http://127.0.0.1/ (another loopback address), http://[::1]/ and
     http://localhost/; 404 for another tenant's endpoint;
  2. delivery: the receiver is down for 30 s from the start, answers
     500 to the first attempt of some batches and sleeps past
     webhook_timeout on the first attempt of others; fanfared is
     killed -9 while batches are failing and again while they are being
     delivered.  Every event of {t:T}:events reaches the receiver with
     a 2xx, the set of ids received equals the log's, each delivery id
     carries the same event ids on every attempt, every signature
     verifies, nothing is left pending; the delivery log shows the
     retries; GET showed last_error while the receiver was down;
  3. rotation: during webhook_rotate_overlap each delivery has two v1=,
     one per secret, and either secret alone verifies it; after it, only
     the new one does;
  4. isolation: tenant B's events reach B's receiver as fast while
     tenant A's endpoint hangs every request to the timeout (latencies
     printed);
  5. erasure: the events of an erased subject queued for a receiver that
     is down are never delivered; the other contact's are;
  6. connect time: fanfared restarted without webhook_allow refuses the
     stored endpoint when it connects (GET says forbidden target, the
     receiver sees nothing); a receiver's redirect to another loopback
     address is not followed;
  7. an endpoint failing longer than webhook_disable_after is disabled
     (GET: status disabled, disabled_reason, last_error); PATCH status
     active and a working url deliver its events;
  8. no secret is in any API answer but the first, the subject export,
     fanfared's log or any Redis value;
  9. two nodes on the same Redis: one holds an endpoint's lease, and
     every batch is acknowledged once (no delivery id answered 2xx
     twice), whichever node sends it;
 10. a deleted tenant's queued events are not delivered while it waits
     for its purge;
 11. PATCH status disabled stops a backlog being sent batch after batch.

Runs on one Redis and, with FF_TEST_REDIS=cluster, on a Redis Cluster.
"""
import collections
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, diag, done,
                     dump_tenant, free_port, launch, must, new_campaign,
                     new_list, new_template, new_tenant, ok, public_path,
                     run, tmpdir, wait_done, wait_for)

ADMIN = "admin-" + "w" * 40
RX_HOST = "127.0.0.2"           # the receivers; webhook_allow's only range
DOWN_S = 30                     # the receiver is down this long (issue 13)
HTML = ('<p>Hi</p><a href="https://shop.example/a">A</a>'
        '<a href="{{unsubscribe_url}}">Unsubscribe</a>')
SECRETS = []                    # every secret fanfared gave


def verify(secret, t, body, sigs):
    mac = hmac.new(secret.encode(), t.encode() + b"." + body,
                   hashlib.sha256).hexdigest()
    return mac in sigs


class Receiver:
    """An HTTP endpoint on RX_HOST:port that records every POST: its
    delivery id, its event ids, its signatures checked against the
    secrets it knows.  Behaviour per delivery id (attempt n counts from
    1): fail(d, n) -> answer 500; hang(d, n) -> sleep hang_s first."""

    def __init__(self, host=RX_HOST, port=None):
        self.host = host
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.secrets = []
        self.posts = []
        self.attempts = collections.Counter()
        self.order = {}                 # delivery id -> 0, 1, 2... as seen
        self.fail = lambda d, n: False
        self.hang = lambda d, n: False
        self.hang_s = 0.0
        self.slow_s = 0.0               # every answer this late
        self.redirect = None
        self.srv = None

    def url(self, path="/hook"):
        return "http://%s:%d%s" % (self.host, self.port, path)

    def start(self):
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                sig = self.headers.get("Fanfare-Signature", "")
                d = self.headers.get("Fanfare-Delivery", "")
                parts = [p.split("=", 1) for p in sig.split(",") if "=" in p]
                t = [v for k, v in parts if k == "t"]
                v1 = [v for k, v in parts if k == "v1"]
                try:
                    events = json.loads(body)["events"]
                except (ValueError, KeyError, TypeError):
                    events = None
                with rx.lock:
                    rx.attempts[d] += 1
                    attempt = rx.attempts[d]
                    rx.order.setdefault(d, len(rx.order))
                    secrets = list(rx.secrets)
                rec = {"delivery": d, "attempt": attempt, "at": time.time(),
                       "t": t[0] if t else "", "v1": v1, "body": body,
                       "events": events,
                       "ids": [e.get("id") for e in events or []],
                       "verified_by": [s for s in secrets if t and
                                       verify(s, t[0], body, v1)],
                       "ctype": self.headers.get("Content-Type"),
                       "path": self.path, "code": None}
                code = 200
                time.sleep(rx.slow_s)
                if rx.redirect is not None:
                    code = 302
                elif rx.hang(d, attempt):
                    time.sleep(rx.hang_s)
                    code = None         # fanfared gave up: no answer
                elif rx.fail(d, attempt):
                    code = 500
                rec["code"] = code
                with rx.lock:
                    rx.posts.append(rec)
                try:
                    self.send_response(code or 200)
                    if code == 302:
                        self.send_header("Location", rx.redirect)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

        self.srv = http.server.ThreadingHTTPServer((self.host, self.port),
                                                   Handler)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.srv is not None:
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None

    def acked(self):
        """The posts answered 2xx."""
        with self.lock:
            return [p for p in self.posts if p["code"] == 200]

    def acked_ids(self):
        return set(i for p in self.acked() for i in p["ids"])

    def all_posts(self):
        with self.lock:
            return list(self.posts)


# ------------------------------------------------------------ helpers

def feed_after(ff, key, cursor=None):
    """[event] of the tenant's event log after cursor (None: all), as
    GET /v1/events pages it: the events recorded, whether stored in the
    log or made from the campaigns' records it refers to."""
    out = []
    while True:
        q = "/v1/events?limit=1000" + (
            "&cursor=%s" % cursor if cursor else "")
        js = must("GET /v1/events", call(ff, "GET", q, key))
        out += js["items"]
        if not js["items"] and js["next_cursor"] == cursor:
            return out
        cursor = js["next_cursor"]


def log_events(ff, key):
    """{id: event} of the tenant's event log."""
    return {e["id"]: e for e in feed_after(ff, key)}


def settle(ff, key, least, timeout=30.0):
    """The log once it holds at least least events and has not grown for
    1.5 s."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = len(log_events(ff, key))
        if n != last:
            last, since = n, time.monotonic()
        elif n >= least and time.monotonic() - since >= 1.5:
            break
        time.sleep(0.1)
    return log_events(ff, key)


def pending(ff, key, redis, tid, wid):
    """The events after the endpoint's delivery cursor (it takes every
    type): what a 2xx has not acknowledged yet."""
    cur = redis.cmd("HGET", "{t:%s}:wh:%s:state" % (tid, wid), "cursor")
    if cur is None:
        return None
    cur = cur.decode() if isinstance(cur, bytes) else cur
    return len(feed_after(ff, key, cur))


def create(ff, key, url, events=None):
    body = {"url": url}
    if events is not None:
        body["events"] = events
    js = must("POST /v1/webhooks", call(ff, "POST", "/v1/webhooks", key,
                                        body), 201)
    SECRETS.append(js["secret"])
    return js["id"], js["secret"]


def send_campaign(ff, key, relay, emails):
    """A real campaign to emails through the SMTP sink; {email: (pixel
    path, link path, one-click opt-out path)}."""
    relay.fresh()
    add_contacts(ff, key, [{"email": e} for e in emails])
    lid = new_list(ff, key, emails)
    tpl = new_template(ff, key, "Hello", HTML, "Hi {{unsubscribe_url}}\n")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    js = wait_done(ff, key, cid, timeout=60)
    ok(js.get("status") == "done" and
       js.get("progress", {}).get("sent") == len(emails),
       "campaign %s sent to its %d recipients" % (cid, len(emails)),
       repr(js))
    out = {}
    for rcpt, got in relay.by_rcpt().items():
        msg = email.message_from_bytes(got[0][1], policy=email.policy.default)
        html = ""
        for part in msg.walk():
            if part.get_content_type() == "text/html":
                html = part.get_content()
        pix = re.search(r'<img src="([^"]+/o/[^"]+\.gif)"', html)
        link = re.search(r'<a href="([^"]+/c/[^"]+)"', html)
        lu = str(msg["List-Unsubscribe"] or "").strip("<>")
        out[rcpt] = (public_path(ff, pix.group(1)) if pix else None,
                     public_path(ff, link.group(1)) if link else None,
                     public_path(ff, lu) if lu else None)
    return cid, out


def hit_open(ff, paths):
    return ff.http("GET", paths[0])[0]


def hit_click(ff, paths):
    return ff.http("GET", paths[1])[0]


def hit_optout(ff, paths):
    return ff.http("POST", paths[2], headers={
        "Content-Type": "application/x-www-form-urlencoded"},
        body=b"List-Unsubscribe=One-Click")[0]


def reconfigure(ff, **changes):
    """fanfared again on its own directory (spool, token secret) with
    some directives changed (None drops one)."""
    ff.stop()
    ff.directives.update(changes)
    with open(ff.conf, "w") as f:
        for k, v in ff.directives.items():
            for one in (v if isinstance(v, (list, tuple)) else [v]):
                if one is not None:
                    f.write("%s %s\n" % (k, one))
    ff.start()


def get_hook(ff, key, wid):
    return call(ff, "GET", "/v1/webhooks/%s" % wid, key)[1] or {}


# ------------------------------------------------------------ 1. the API

def test_api(ff, key, other_key, rx):
    st, js, raw = call(ff, "POST", "/v1/webhooks", key,
                       {"url": rx.url(), "events": ["opened", "clicked"]})
    ok(st == 201 and re.match(r"^whsec_[0-9a-f]{64}$", js.get("secret", ""))
       and js.get("events") == ["opened", "clicked"] and
       js.get("status") == "active",
       "POST /v1/webhooks: 201 with the id, the events and the secret",
       raw[:300])
    wid, secret = js["id"], js["secret"]
    SECRETS.append(secret)
    for path in ("/v1/webhooks/%s" % wid, "/v1/webhooks"):
        st, js, raw = call(ff, "GET", path, key)
        ok(st == 200 and secret.encode() not in raw and
           b"whsec_" not in raw and b"secret\"" not in raw,
           "GET %s: 200, no secret in it" % path, raw[:300])
    st, js, raw = call(ff, "GET", "/v1/webhooks/%s" % wid, other_key)
    ok(st == 404, "another tenant's key: 404", raw[:200])
    for body, want, code in (
            ({"url": "ftp://%s:%d/" % (RX_HOST, rx.port)}, 422,
             "invalid_url"),
            ({"url": "http://user:pw@%s:%d/" % (RX_HOST, rx.port)}, 422,
             "invalid_url"),
            ({"url": rx.url() + "#x"}, 422, "invalid_url"),
            ({"url": "not a url"}, 422, "invalid_url"),
            ({"events": ["opened"]}, 422, "invalid_url"),
            ({"url": rx.url(), "events": ["read"]}, 422, "invalid_events"),
            ({"url": rx.url(), "events": []}, 422, "invalid_events"),
            ({"url": rx.url(), "secret": "x"}, 400, "unknown_field"),
            ({"url": "http://127.0.0.1:%d/" % rx.port}, 422,
             "forbidden_target"),
            ({"url": "http://[::1]:%d/" % rx.port}, 422, "forbidden_target"),
            ({"url": "http://localhost:%d/" % rx.port}, 422,
             "forbidden_target")):
        st, js, raw = call(ff, "POST", "/v1/webhooks", key, body)
        ok(st == want and (js or {}).get("error", {}).get("code") == code,
           "POST %s: %d %s" % (json.dumps(body), want, code), raw[:300])
    st, js, raw = call(ff, "PATCH", "/v1/webhooks/%s" % wid, key,
                       {"events": ["sent"]})
    ok(st == 200 and js.get("events") == ["sent"] and b"whsec_" not in raw,
       "PATCH events: 200 with the new filter, no secret", raw[:300])
    # The app's webhooks screen (test_app.py drives it in a browser).
    st, _, page = ff.api("GET", "/dashboard/index.html")
    st2, _, js = ff.api("GET", "/dashboard/webhooks.js")
    ok(st == 200 and b'src="webhooks.js"' in page and st2 == 200 and
       b'"/v1/webhooks"' in js and b'"/deliveries' in js,
       "the app's webhooks screen lists the endpoints and their "
       "deliveries")
    st, _, raw = call(ff, "DELETE", "/v1/webhooks/%s" % wid, key)
    ok(st == 204, "DELETE: 204", raw[:200])
    st, _, raw = call(ff, "GET", "/v1/webhooks/%s" % wid, key)
    ok(st == 404, "GET after DELETE: 404", raw[:200])
    # At most 20 endpoints a tenant.
    have = len(must("list", call(ff, "GET", "/v1/webhooks", key))["items"])
    made = [create(ff, key, rx.url())[0] for _ in range(20 - have)]
    st, js, raw = call(ff, "POST", "/v1/webhooks", key, {"url": rx.url()})
    ok(st == 409 and js["error"]["code"] == "too_many_webhooks",
       "the 21st endpoint of a tenant: 409 too_many_webhooks", raw[:200])
    st, _, _ = call(ff, "POST", "/v1/webhooks", other_key, {"url": rx.url()})
    ok(st == 201, "another tenant still makes its own: 201")
    for w in made:
        call(ff, "DELETE", "/v1/webhooks/%s" % w, key)
    st, _, raw = call(ff, "POST", "/v1/webhooks", key, {"url": rx.url()})
    ok(st == 201, "after deleting some: 201 again", raw[:200])
    call(ff, "DELETE", "/v1/webhooks/%s" % json.loads(raw)["id"], key)


# ------------------------------------------------------ 2. delivery

def test_delivery(ff, redis, relay):
    tid, key = new_tenant(ff, "Deliveries")
    rx = Receiver()                     # down: not started yet
    down_since = time.monotonic()
    wid, secret = create(ff, key, rx.url())
    rx.secrets = [secret]
    emails = ["p%02d@hooks.test" % i for i in range(12)]
    cid, mails = send_campaign(ff, key, relay, emails)
    codes = []
    for i, e in enumerate(emails):
        codes.append(hit_open(ff, mails[e]))
        if i % 2 == 0:
            hit_click(ff, mails[e])
        if i % 4 == 0:
            codes.append(hit_optout(ff, mails[e]))
    ok(all(c == 200 for c in codes), "the pixels and opt-outs answer 200",
       repr(codes))
    logged = settle(ff, key, len(emails) + 12 + 6 + 3)
    types = collections.Counter(e.get("type") for e in logged.values())
    ok(types["opened"] >= 12 and types["clicked"] >= 6 and
       types["unsubscribed"] >= 3,
       "the event log holds the campaign's opens, clicks and opt-outs",
       repr(types))

    js = wait_for(lambda: (lambda h: h if h.get("last_error") else None)(
        get_hook(ff, key, wid)), timeout=10)
    ok(js and js.get("status") == "active" and js.get("failing_since")
       and js.get("next_attempt_at"),
       "receiver down: GET shows last_error, failing_since, "
       "next_attempt_at", repr(js))
    st, dl, raw = call(ff, "GET", "/v1/webhooks/%s/deliveries" % wid, key)
    items = (dl or {}).get("items", [])
    ok(st == 200 and items and all(
        set(d) >= {"id", "events", "attempts", "status", "last_code",
                   "next_at"} for d in items) and
       items[0]["status"] == "retrying" and items[0]["next_at"],
       "the delivery log: retrying entries with next_at", raw[:400])
    n_pending = pending(ff, key, redis, tid, wid)
    ok(n_pending and n_pending > 0, "events after the endpoint's "
       "cursor while the receiver is down", repr(n_pending))

    # kill -9 while batches fail, then the rest of the 30 s down.
    ff.kill9()
    ff.start()
    time.sleep(max(0.0, DOWN_S - (time.monotonic() - down_since)))
    # Some batches: 500 to the first attempt; others: the first attempt
    # sleeps past webhook_timeout (1 s).
    # (the first, fourth... delivery seen, and the second, fifth...).
    rx.fail = lambda d, n: n == 1 and rx.order[d] % 3 == 0
    rx.hang = lambda d, n: n == 1 and rx.order[d] % 3 == 1
    rx.hang_s = 1.6
    rx.start()
    up_at = time.monotonic()
    # kill -9 again once deliveries flow, before all have arrived.
    got = wait_for(lambda: rx.acked() or None, timeout=15, interval=0.01)
    killed_midway = bool(got) and rx.acked_ids() != set(logged)
    ff.kill9()
    diag("killed -9 %.1f s after the receiver came up, %d of %d events "
         "received" % (time.monotonic() - up_at, len(rx.acked_ids()),
                       len(logged)))
    ff.start()
    ok(killed_midway, "fanfared killed -9 while deliveries were under way")
    all_in = wait_for(lambda: rx.acked_ids() >= set(logged), timeout=45,
                      interval=0.1)
    diag("all events received %.1f s after the receiver came up"
         % (time.monotonic() - up_at))
    posts = rx.all_posts()
    ok(all_in, "every event of the log reached the receiver with a 2xx",
       "missing %r" % sorted(set(logged) - rx.acked_ids())[:10])
    ok(rx.acked_ids() == set(logged) and
       set(i for p in posts for i in p["ids"]) == set(logged),
       "the ids received are exactly the log's (%d)" % len(logged),
       repr(sorted(set(i for p in posts for i in p["ids"]) ^
                   set(logged))[:10]))
    st, feed, _ = call(ff, "GET", "/v1/events?limit=1000", key)
    if st == 200:
        ids = set(e.get("id") for e in feed.get("items", []))
        ok(ids == rx.acked_ids(), "the ids received are GET /v1/events'",
           repr(sorted(ids ^ rx.acked_ids())[:10]))
    bad = [p for p in posts if not p["verified_by"]]
    ok(not bad, "every POST's Fanfare-Signature verifies (%d POSTs)"
       % len(posts), repr([(p["delivery"], p["v1"]) for p in bad][:3]))
    ok(all(p["ctype"] == "application/json" and p["delivery"] and
           abs(int(p["t"]) - p["at"]) < 300 for p in posts),
       "Content-Type application/json, a Fanfare-Delivery id, t is now")
    by_delivery = collections.defaultdict(set)
    for p in posts:
        by_delivery[p["delivery"]].add(tuple(p["ids"]))
    ok(all(len(v) == 1 for v in by_delivery.values()),
       "each delivery id carries the same event ids on every attempt",
       repr([k for k, v in by_delivery.items() if len(v) > 1][:3]))
    ok(all(len(p["ids"]) <= 5 for p in posts),
       "at most webhook_batch (5) events a POST")
    ok(any(p["code"] == 500 for p in posts) and
       any(p["code"] is None for p in posts),
       "some first attempts were answered 500, some timed out")
    retried = [d for d in by_delivery if rx.attempts[d] > 1]
    ok(retried and all(any(p["code"] == 200 for p in posts
                           if p["delivery"] == d) for d in retried),
       "the batches answered 500 or timed out were delivered again",
       repr(retried[:3]))
    for e in list(logged.values())[:3]:
        ok(set(e) >= {"id", "type", "time", "campaign", "contact", "email"},
           "event %s has id, type, time, campaign, contact, email"
           % e.get("id"), repr(e))
    ok(wait_for(lambda: pending(ff, key, redis, tid, wid) == 0, timeout=5),
       "nothing left after the endpoint's cursor",
       repr(pending(ff, key, redis, tid, wid)))
    js = get_hook(ff, key, wid)
    ok(js.get("status") == "active" and "failing_since" not in js and
       js.get("last_code") == 200, "GET after: active, not failing, "
       "last_code 200", repr(js))
    st, dl, raw = call(ff, "GET", "/v1/webhooks/%s/deliveries?limit=500"
                       % wid, key)
    statuses = collections.Counter(d["status"] for d in dl["items"])
    ids = [d["id"] for d in dl["items"]]
    ok(statuses["delivered"] >= 1 and len(set(ids)) == len(ids) and
       any(d["status"] == "delivered" and d["attempts"] >= 2
           for d in dl["items"]),
       "the delivery log: one line per delivery, a retried one delivered "
       "with its attempts", repr(statuses))
    page = call(ff, "GET", "/v1/webhooks/%s/deliveries?limit=2" % wid,
                key)[1]
    nxt = call(ff, "GET", "/v1/webhooks/%s/deliveries?limit=2&cursor=%s"
               % (wid, page["next_cursor"]), key)[1]
    ok(page["next_cursor"] and nxt["items"] and
       nxt["items"][0] == dl["items"][2],
       "the delivery log pages with next_cursor", repr(nxt)[:300])
    st, _, raw = call(ff, "GET", "/v1/webhooks/%s/deliveries?cursor=x"
                      % wid, key)
    ok(st == 400, "a bad cursor: 400", raw[:200])
    rx.stop()
    return tid, key, mails


# ----------------------------------------------------- 3. rotation

def test_rotation(ff, redis, relay, overlap_s):
    tid, key = new_tenant(ff, "Rotation")
    rx = Receiver().start()
    wid, s1 = create(ff, key, rx.url(), ["opened"])
    emails = ["r%d@hooks.test" % i for i in range(3)]
    cid, mails = send_campaign(ff, key, relay, emails)

    def one(email_, what):
        n = len(rx.acked())
        hit_open(ff, mails[email_])
        wait_for(lambda: len(rx.acked()) > n, timeout=10)
        posts = rx.acked()[n:]
        ok(posts, "%s: delivered" % what)
        return posts

    rx.secrets = [s1]
    before = one(emails[0], "before the rotation")
    ok(all(len(p["v1"]) == 1 and p["verified_by"] == [s1] for p in before),
       "before: one v1=, by the first secret")
    st, js, raw = call(ff, "POST", "/v1/webhooks/%s/rotate" % wid, key)
    ok(st == 200 and js.get("secret", "").startswith("whsec_") and
       js["secret"] != s1, "rotate: 200 with a new secret", raw[:200])
    s2 = js["secret"]
    SECRETS.append(s2)
    rotated = time.monotonic()
    rx.secrets = [s1, s2]
    # The delivery thread reads the endpoints again every second.
    time.sleep(1.2)
    during = one(emails[1], "during the overlap")
    ok(time.monotonic() - rotated < overlap_s and
       all(len(p["v1"]) == 2 and sorted(p["verified_by"]) == sorted([s1, s2])
           for p in during),
       "during the overlap: two v1=, each secret alone verifies",
       repr([(p["v1"], p["verified_by"] == [s1, s2]) for p in during]))
    time.sleep(max(0.0, overlap_s + 0.5 - (time.monotonic() - rotated)))
    after = one(emails[2], "after the overlap")
    ok(all(len(p["v1"]) == 1 and p["verified_by"] == [s2] for p in after),
       "after the overlap: one v1=, only the new secret verifies",
       repr([p["v1"] for p in after]))
    rx.stop()


# ----------------------------------------------------- 4. isolation

def test_isolation(ff, redis, relay):
    tid_a, key_a = new_tenant(ff, "Hangs")
    tid_b, key_b = new_tenant(ff, "Fast")
    rx_b = Receiver().start()
    rx_a = Receiver()
    rx_a.hang = lambda d, n: True
    rx_a.hang_s = 1.5
    rx_a.start()
    create(ff, key_b, rx_b.url(), ["opened"])
    emails_b = ["b%d@hooks.test" % i for i in range(8)]
    _, mails_b = send_campaign(ff, key_b, relay, emails_b)
    emails_a = ["a%d@hooks.test" % i for i in range(10)]
    _, mails_a = send_campaign(ff, key_a, relay, emails_a)

    def latency(email_):
        n = len(rx_b.acked())
        t0 = time.monotonic()
        hit_open(ff, mails_b[email_])
        wait_for(lambda: len(rx_b.acked()) > n, timeout=15, interval=0.01)
        return time.monotonic() - t0

    alone = [latency(e) for e in emails_b[:4]]
    create(ff, key_a, rx_a.url(), ["opened", "clicked"])
    for e in emails_a:
        hit_open(ff, mails_a[e])
        hit_click(ff, mails_a[e])
    wait_for(lambda: len(rx_a.all_posts()) >= 1, timeout=10)
    shared = [latency(e) for e in emails_b[4:]]
    diag("tenant B's delivery latency (hit to receipt): alone %s s; while "
         "A's endpoint hangs %s s" % (
             ", ".join("%.2f" % x for x in alone),
             ", ".join("%.2f" % x for x in shared)))
    ok(len(rx_a.all_posts()) >= 1 and max(shared) < max(alone) + 1.0 and
       max(shared) < 5.0,
       "B's deliveries keep their pace while A's endpoint hangs",
       "alone %r shared %r" % (alone, shared))
    rx_a.stop()
    rx_b.stop()


# ------------------------------------------------------- 5. erasure

def test_erasure(ff, redis, relay):
    tid, key = new_tenant(ff, "Erasure")
    rx = Receiver()                     # down while the erasure runs
    create(ff, key, rx.url())
    gone, kept = "gone@hooks.test", "kept@hooks.test"
    _, mails = send_campaign(ff, key, relay, [gone, kept])
    for e in (gone, kept):
        hit_open(ff, mails[e])
        hit_click(ff, mails[e])
    logged = settle(ff, key, 6)
    ids_gone = set(i for i, e in logged.items() if e.get("email") == gone)
    ok(ids_gone, "the log held events of the subject before the erasure",
       repr(logged)[:300])
    st, _, raw = call(ff, "DELETE", "/v1/subjects/%s" % gone, key)
    ok(st == 200, "DELETE /v1/subjects/%s: 200" % gone, raw[:200])
    rx.start()
    left = set(log_events(ff, key))
    wait_for(lambda: rx.acked_ids() >= left, timeout=20)
    time.sleep(1.0)
    posts = rx.all_posts()
    ok(left and rx.acked_ids() >= left and not ids_gone & set(
        i for p in posts for i in p["ids"]) and
       not any(gone.encode() in p["body"] for p in posts),
       "the erased subject's queued events were never delivered; the "
       "other contact's were", "got %r, erased %r" % (
           sorted(rx.acked_ids()), sorted(ids_gone)))
    rx.stop()


# ------------------------------------------- 6. connect-time check

def test_connect_time(ff, redis, relay):
    tid, key = new_tenant(ff, "Rebind")
    rx = Receiver().start()
    wid, _ = create(ff, key, rx.url(), ["opened"])
    _, mails = send_campaign(ff, key, relay, ["x@hooks.test",
                                              "y@hooks.test"])
    # The node's operator no longer allows the range: the stored
    # endpoint is refused when curl is about to connect.
    allow = ff.directives["webhook_allow"]
    reconfigure(ff, webhook_allow=None)
    hit_open(ff, mails["x@hooks.test"])
    js = wait_for(lambda: (lambda h: h if "forbidden target" in h.get(
        "last_error", "") else None)(get_hook(ff, key, wid)), timeout=10)
    ok(js and not rx.all_posts(),
       "without webhook_allow: refused at connect time (last_error "
       "forbidden target), nothing reached the receiver", repr(js))
    reconfigure(ff, webhook_allow=allow)
    ok(wait_for(lambda: rx.acked(), timeout=10),
       "the range allowed again: the same events are delivered")
    # A redirect to another loopback address is not followed.
    other = Receiver(host="127.0.0.1").start()
    rx.redirect = other.url("/stolen")
    n = len(rx.all_posts())
    hit_open(ff, mails["y@hooks.test"])
    wait_for(lambda: len(rx.all_posts()) >= n + 2, timeout=10)
    js = get_hook(ff, key, wid)
    ok(len(rx.all_posts()) >= n + 2 and not other.all_posts() and
       js.get("last_code") == 302 and js.get("failing_since"),
       "a 302 to 127.0.0.1 is not followed: a failed attempt, retried",
       repr(js))
    rx.redirect = None
    ok(wait_for(lambda: get_hook(ff, key, wid).get("last_code") == 200,
                timeout=10), "the redirect gone, delivered")
    other.stop()
    rx.stop()


# ------------------------------------------------------ 7. disabled

def test_disabled(ff, redis, relay):
    tid, key = new_tenant(ff, "Dead")
    dead = Receiver()                   # nobody listens
    wid, _ = create(ff, key, dead.url(), ["opened"])
    _, mails = send_campaign(ff, key, relay, ["d@hooks.test"])
    reconfigure(ff, webhook_disable_after="2s")
    hit_open(ff, mails["d@hooks.test"])
    js = wait_for(lambda: (lambda h: h if h.get("status") == "disabled"
                           else None)(get_hook(ff, key, wid)), timeout=15)
    ok(js and js.get("disabled_reason") and js.get("last_error"),
       "failing longer than webhook_disable_after: GET says disabled, "
       "with disabled_reason and last_error", repr(js))
    n = len(call(ff, "GET", "/v1/webhooks/%s/deliveries" % wid,
                 key)[1]["items"])
    time.sleep(1.0)
    dl = call(ff, "GET", "/v1/webhooks/%s/deliveries" % wid, key)[1]
    ok(len(dl["items"]) == n and dl["items"][0]["status"] == "failed",
       "disabled: no more attempts, the last one logged failed",
       repr(dl["items"][:1]))
    rx = Receiver().start()
    st, js, raw = call(ff, "PATCH", "/v1/webhooks/%s" % wid, key,
                       {"url": rx.url(), "status": "active"})
    ok(st == 200 and js.get("status") == "active" and
       "disabled_reason" not in js, "PATCH status active: 200, active",
       raw[:300])
    ok(wait_for(lambda: rx.acked(), timeout=10),
       "re-enabled: the queued event is delivered")
    rx.stop()
    reconfigure(ff, webhook_disable_after=None)


# ---------------------------------------------------- 9. two nodes

def test_two_nodes(ff, redis, relay):
    tid, key = new_tenant(ff, "Two nodes")
    rx = Receiver().start()
    wid, secret = create(ff, key, rx.url())
    rx.secrets = [secret]
    with open(ff.secret_file, "rb") as f:
        token_secret = f.read()
    same = dict((k, v) for k, v in ff.directives.items()
                if k not in ("track_listen", "api_listen", "public_url",
                             "spool_dir", "token_secret_file", "redis",
                             "node_id"))
    other = Fanfare(redis=redis, secret=token_secret,
                    node_id="webhook-test-node-2", **same)
    emails = ["n%d@hooks.test" % i for i in range(10)]
    _, mails = send_campaign(ff, key, relay, emails)
    for e in emails:
        hit_open(ff if e < "n5" else other, mails[e])
        hit_click(other if e < "n5" else ff, mails[e])
    logged = settle(ff, key, 30)
    ok(wait_for(lambda: rx.acked_ids() >= set(logged), timeout=20),
       "two nodes: every event delivered")
    lease = redis.cmd("GET", "{t:%s}:wh:%s:lease" % (tid, wid))
    lease = lease.decode() if isinstance(lease, bytes) else lease
    once = collections.Counter(p["delivery"] for p in rx.acked())
    ok(lease in ("webhook-test-node", "webhook-test-node-2") and
       all(n == 1 for n in once.values()) and
       sum(len(p["ids"]) for p in rx.acked()) == len(logged),
       "one node holds the lease (%s); each batch acknowledged once, no "
       "event twice" % lease, repr(once))
    other.stop()
    rx.stop()


# ------------------------------------------- 10. a deleted tenant

def test_deleted_tenant(ff, redis, relay):
    tid, key = new_tenant(ff, "Leaving")
    rx = Receiver()                     # down while the tenant is deleted
    create(ff, key, rx.url())
    _, mails = send_campaign(ff, key, relay, ["l@hooks.test"])
    hit_open(ff, mails["l@hooks.test"])
    logged = settle(ff, key, 2)
    ok(len(logged) >= 2, "events queued for the endpoint", repr(logged))
    st, _, raw = call(ff, "DELETE", "/v1/tenants/%s" % tid, ADMIN)
    ok(st in (200, 202, 204), "DELETE /v1/tenants/%s" % tid, raw[:200])
    time.sleep(1.5)                     # the endpoints are read each second
    rx.start()
    time.sleep(3.0)
    ok(not rx.all_posts(), "a deleted tenant's events are not delivered",
       repr([p["ids"] for p in rx.all_posts()]))
    rx.stop()


# ------------------------------------------ 11. PATCH stops a backlog

def test_patch_stops(ff, redis, relay):
    tid, key = new_tenant(ff, "Backlog")
    rx = Receiver()
    rx.slow_s = 0.4                     # answered, slowly: a long chain
    rx.start()
    wid, _ = create(ff, key, rx.url())
    emails = ["k%02d@hooks.test" % i for i in range(15)]
    _, mails = send_campaign(ff, key, relay, emails)
    for e in emails:
        hit_open(ff, mails[e])
        hit_click(ff, mails[e])
    wait_for(lambda: len(rx.all_posts()) >= 1, timeout=15, interval=0.01)
    st, js, raw = call(ff, "PATCH", "/v1/webhooks/%s" % wid, key,
                       {"status": "disabled"})
    ok(st == 200 and js.get("status") == "disabled",
       "PATCH status disabled: 200", raw[:200])
    time.sleep(2.5)             # the thread reads the endpoint again
    n = len(rx.all_posts())
    time.sleep(2.0)
    logged = log_events(ff, key)
    ok(len(rx.all_posts()) == n and rx.acked_ids() < set(logged),
       "disabled: no POST after it was seen, the rest stays queued "
       "(%d POSTs, %d of %d events)" % (n, len(rx.acked_ids()),
                                         len(logged)))
    rx.slow_s = 0.0
    call(ff, "PATCH", "/v1/webhooks/%s" % wid, key, {"status": "active"})
    ok(wait_for(lambda: rx.acked_ids() >= set(log_events(ff, key)),
                timeout=20), "active again: the rest is delivered")
    rx.stop()


# ---------------------------------------------------- 8. the secrets

def test_secrets_kept(ff, redis, key, mails):
    st, js, raw = call(ff, "GET", "/v1/subjects/%s" % "p00@hooks.test",
                       key)
    answers = [raw, call(ff, "GET", "/v1/webhooks", key)[2]]
    with open(ff.log, "rb") as f:
        log = f.read()
    dump = "\n".join(v for tid in redis.cmd("SMEMBERS", "ff:tenants")
                     for k, t, vals in dump_tenant(
                         redis, tid.decode() if isinstance(tid, bytes)
                         else tid)
                     for v in [k] + vals)
    ok(SECRETS and st == 200 and
       not any(s.encode() in a for s in SECRETS for a in answers),
       "no secret in GET /v1/webhooks or the subject export (%d secrets)"
       % len(SECRETS))
    ok(not any(s.encode() in log for s in SECRETS),
       "no secret in fanfared's log")
    ok(not any(s in dump for s in SECRETS) and
       re.search(r'"secret":"v1\.', dump),
       "no secret in clear in Redis (sealed: \"v1.\" text)")


def main():
    redis = Redis()
    relay = Relay()
    keydir = tmpdir("ff-whkey-")
    data_key = os.path.join(keydir, "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)
    overlap_s = 4
    conf = dict(admin_key=ADMIN, smtp_relay="127.0.0.1:%d" % relay.port,
                senders="1", smtp_starttls="off", retry_schedule="1s",
                retry_lifetime="1h", claim_idle="2s", threads="1",
                data_key_file=data_key, node_id="webhook-test-node",
                webhook_allow="%s/32" % RX_HOST, webhook_poll="100ms",
                webhook_retry_base="200ms", webhook_retry_max="2s",
                webhook_timeout="1s", webhook_connect_timeout="500ms",
                webhook_batch="5", webhook_rotate_overlap="%ds" % overlap_s)
    ff = Fanfare(redis=redis, **conf)
    _, key1 = new_tenant(ff, "API")
    _, key2 = new_tenant(ff, "Other")
    run(test_api, ff, key1, key2, Receiver())
    res = run(test_delivery, ff, redis, relay)
    run(test_rotation, ff, redis, relay, overlap_s)
    run(test_isolation, ff, redis, relay)
    run(test_erasure, ff, redis, relay)
    run(test_connect_time, ff, redis, relay)
    run(test_disabled, ff, redis, relay)
    run(test_two_nodes, ff, redis, relay)
    run(test_deleted_tenant, ff, redis, relay)
    run(test_patch_stops, ff, redis, relay)
    if res:
        run(test_secrets_kept, ff, redis, res[1], res[2])
    ff.stop()
    relay.close()
    done()


if __name__ == "__main__":
    main()
