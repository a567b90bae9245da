#!/usr/bin/python3
"""
test_tracking.py: the public tracking listener of a real fanfared against
a real redis-server: the pixel, the click redirect, the unsubscribe page
and POST, privacy signals, machine detection, GeoIP behind a trusted
proxy, HTTP error handling, `fanfared -t`, fanfarectl, and at the end the
exact stats of every hit this script made.

Campaigns (tenant 7) keep the checks apart:
  42  opens and clicks whose exact totals are compared at the end
  43  DNT / Sec-GPC hits          44  unsubscribes
  45  GeoIP via a trusted proxy   46  GeoIP, proxy not trusted (second server: short timeouts)
  47  URLs planted in Redis behind fanfarectl's back
  49  POST /u/ bodies: only the one-click one opts out
"""
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (GIF, HUMAN_UA, NO_CACHE, Fanfare, Redis, counters,
                     diag, done, events, ok, run, stats_key, status_lines,
                     tmpdir, wait_for, CONTRIB, HERE)

T = 7
C = 42
URL1 = "https://example.com/landing?a=1&b=%C3%A9#top"

# What campaign 42 must hold at the end; every hit below adds to it.
expect = {"opens": 0, "opens_unique": 0, "opens_machine": 0,
          "clicks": 0, "clicks_unique": 0, "clicks_machine": 0,
          "link1": 0, "link1_unique": 0}


def find_mmdb_writer():
    for p in (os.path.join(HERE, "make-mmdb.pl"),
              os.path.join(CONTRIB, "bench", "make-mmdb.pl")):
        if os.path.exists(p):
            return p
    return None


def settle(redis, tenant, campaign, want, timeout=5.0):
    """Waits until the counters named in want reach their values, then a
    little longer so late, unwanted increments show up too."""
    def reached():
        c = counters(redis, tenant, campaign)
        return c if all(c.get(k, 0) >= v for k, v in want.items()) else None
    wait_for(reached, timeout)
    time.sleep(0.3)
    return counters(redis, tenant, campaign)


def check_no_cache(h, what):
    bad = {k: h.get(k) for k, v in NO_CACHE.items() if h.get(k) != v}
    ok(not bad, "%s: no-cache headers" % what, "got %r" % bad)


def check_pixel(ff, path, what, method="GET", headers=None):
    st, h, body = ff.http(method, path, headers=headers)
    want_body = b"" if method == "HEAD" else GIF
    good = (st == 200 and h.get("content-type") == "image/gif"
            and body == want_body
            and h.get("content-length") in ("43", None))
    ok(good, "%s: %s 200 image/gif, the 43-byte GIF" % (what, method),
       "status %s, content-type %r, content-length %r, body %r"
       % (st, h.get("content-type"), h.get("content-length"), body[:60]))
    check_no_cache(h, what)
    return st


def mutate(tok, i):
    """The token with character i replaced by another base64url one; for
    the last character, one that differs only in its lowest bit (the
    bits a lax decoder ignores)."""
    alpha = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
             "0123456789-_")
    c = tok[i]
    if c in alpha:
        n = alpha[alpha.index(c) ^ 1]
    else:
        n = "A"
    return tok[:i] + n + tok[i + 1:]


# ------------------------------------------------------------- the tests

def test_pixel_valid(ff, redis):
    p = ff.token("open", T, C, 1001)
    ok(p.startswith("/o/") and p.endswith(".gif"),
       "fanfarectl token open prints /o/TOKEN.gif", repr(p))
    check_pixel(ff, p, "valid open token")
    expect["opens"] += 1
    expect["opens_unique"] += 1
    check_pixel(ff, p, "same contact again")
    expect["opens"] += 1
    p2 = ff.token("open", T, C, 1002)
    check_pixel(ff, p2, "second contact")
    expect["opens"] += 1
    expect["opens_unique"] += 1
    c = settle(redis, T, C, {"opens": expect["opens"]})
    ok(c.get("opens") == expect["opens"],
       "3 human opens counted", "stats %r" % c)
    ok(c.get("opens_unique") == 2,
       "unique opens counted once per contact (2 contacts, 3 opens)",
       "stats %r" % c)
    members = sorted(redis.cmd("SMEMBERS", stats_key(T, C, "openers")))
    ok(members == ["1001", "1002"], "openers set holds the two contacts",
       repr(members))
    entries = redis.cmd("XRANGE", stats_key(T, C, "events"), "-", "+")
    bad = []
    for _id, fields in entries:
        f = dict(zip(fields[0::2], fields[1::2]))
        lines = [l for l in f.get("e", "").split("\n") if l]
        if str(len(lines)) != f.get("n") or any(len(l.split()) != 6
                                                for l in lines):
            bad.append(f)
    ok(entries and not bad,
       "events entries: n = number of 6-field records in e", repr(bad))
    ok(redis.cmd("HLEN", stats_key(T, C, "applied")) >= 1,
       "applied hash (replay guard) written")
    recs = [r for r in events(redis, T, C) if len(r) >= 6]
    mine = [r for r in recs if r[1] == "o" and r[2] == "1001"]
    ok(len(mine) == 2 and all(r[5] == "-" for r in mine),
       "events stream has the 2 human opens of contact 1001",
       "records %r" % recs)
    return p


def test_pixel_bad(ff, ff_other, redis, good):
    tok = good[len("/o/"):-len(".gif")]
    before = counters(redis, T, C)
    forged = ff_other.token("open", T, C, 1009)
    check_pixel(ff, forged, "forged token (other secret)")
    check_pixel(ff, "/o/%s.gif" % tok[:-1], "truncated token (-1 char)")
    check_pixel(ff, "/o/%s.gif" % tok[:len(tok) // 2],
                "truncated token (half)")
    check_pixel(ff, "/o/.gif", "empty token")
    check_pixel(ff, "/o/%s!.gif" % tok[:-1],
                "token with a character outside base64url")
    for i in sorted({0, 1, len(tok) // 3, len(tok) // 2, len(tok) - 2,
                     len(tok) - 1}):
        check_pixel(ff, "/o/%s.gif" % mutate(tok, i),
                    "token mutated at char %d of %d" % (i, len(tok)))
    check_pixel(ff, "/o/%s.gif" % ("A" * 10240), "over-long 10 KB token")
    check_pixel(ff, "/o/%s%s.gif" % (tok, "A" * 10000),
                "valid token + 10 KB tail")
    time.sleep(1.5)        # the batcher ships within ~1 s
    after = counters(redis, T, C)
    ok(after == before, "none of the bad tokens counted",
       "before %r\nafter  %r" % (before, after))
    openers = redis.cmd("SISMEMBER", stats_key(T, C, "openers"), 1009)
    ok(openers == 0, "forged contact 1009 not in openers")


def test_pixel_machine(ff, redis):
    p = ff.token("open", T, C, 1004)
    check_pixel(ff, p, "HEAD pixel", method="HEAD")
    expect["opens_machine"] += 1
    c = settle(redis, T, C, {"opens_machine": expect["opens_machine"]})
    ok(c.get("opens_machine") == expect["opens_machine"]
       and c.get("opens") == expect["opens"],
       "HEAD counted as machine, not as an open", "stats %r" % c)
    ok(redis.cmd("SISMEMBER", stats_key(T, C, "openers"), 1004) == 0,
       "HEAD contact not in openers")
    recs = [r for r in events(redis, T, C) if len(r) >= 6 and r[2] == "1004"]
    ok(len(recs) == 1 and recs[0][1] == "o" and recs[0][5] == "m",
       "HEAD open recorded in events with flag m", repr(recs))

    uas = [("GoogleImageProxy", 1005,
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
            "(via ggpht.com GoogleImageProxy)"),
           ("YahooMailProxy", 1006,
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-"
            "SLN28749.html"),
           ("no User-Agent", 1008, None)]
    for name, contact, ua in uas:
        p = ff.token("open", T, C, contact)
        check_pixel(ff, p, "%s pixel" % name, headers={"User-Agent": ua})
        expect["opens_machine"] += 1
        c = settle(redis, T, C, {"opens_machine": expect["opens_machine"]})
        ok(c.get("opens_machine") == expect["opens_machine"]
           and c.get("opens") == expect["opens"]
           and c.get("opens_unique") == expect["opens_unique"],
           "%s counted as machine open only" % name, "stats %r" % c)


def test_private(ff, redis):
    for hdr, contact in (("DNT", 3001), ("Sec-GPC", 3002)):
        p = ff.token("open", T, 43, contact)
        check_pixel(ff, p, "%s: 1 pixel" % hdr, headers={hdr: "1"})
    c = settle(redis, T, 43, {"opens": 2})
    ok(c.get("opens") == 2 and c.get("opens_machine", 0) == 0,
       "DNT and Sec-GPC opens counted in the aggregates", "stats %r" % c)
    diag("DNT/GPC campaign stats: %r" % c)
    recs = events(redis, T, 43)
    ok(not [r for r in recs if len(r) > 2 and r[2] in ("3001", "3002")],
       "no per-person event for DNT / Sec-GPC contacts", repr(recs))
    members = redis.cmd("SMEMBERS", stats_key(T, 43, "openers"))
    ok(not set(members) & {"3001", "3002"},
       "DNT / Sec-GPC contacts not in the openers set", repr(members))
    # A human open without the signals in the same campaign does show up.
    p = ff.token("open", T, 43, 3003)
    ff.http("GET", p, headers={"DNT": "0"})
    wait_for(lambda: [r for r in events(redis, T, 43) if r[2] == "3003"])
    recs = events(redis, T, 43)
    ok([r for r in recs if r[2] == "3003"],
       "DNT: 0 open does get its per-person event", repr(recs))


def test_click(ff, redis):
    rc, out, err = ff.link_set(T, C, 1, URL1)
    ok(rc == 0, "fanfarectl link set accepts an https URL",
       "rc %d out %r err %r" % (rc, out, err))
    got = redis.cmd("HGET", stats_key(T, C, "links"), 1)
    ok(got == URL1, "link stored in the links hash", repr(got))
    p = ff.token("click", T, C, 1001, link=1)
    ok(p.startswith("/c/") and "." not in p,
       "fanfarectl token click prints /c/TOKEN", repr(p))
    st, h, body = ff.http("GET", p)
    ok(st == 302 and h.get("location") == URL1,
       "click: 302 with the exact registered Location",
       "status %s location %r" % (st, h.get("location")))
    check_no_cache(h, "click 302")
    expect["clicks"] += 1
    expect["clicks_unique"] += 1
    expect["link1"] += 1
    expect["link1_unique"] += 1
    st, h, body = ff.http("GET", p)
    ok(st == 302 and h.get("location") == URL1, "click again (cached): 302",
       "status %s location %r" % (st, h.get("location")))
    expect["clicks"] += 1
    expect["link1"] += 1
    p2 = ff.token("click", T, C, 1002, link=1)
    st, h, _ = ff.http("GET", p2)
    ok(st == 302, "click by a second contact: 302", "status %s" % st)
    expect["clicks"] += 1
    expect["clicks_unique"] += 1
    expect["link1"] += 1
    expect["link1_unique"] += 1
    p3 = ff.token("click", T, C, 1003, link=1)
    st, h, body = ff.http("HEAD", p3)
    ok(st == 302 and h.get("location") == URL1 and body == b"",
       "HEAD click: 302, no body", "status %s location %r body %r"
       % (st, h.get("location"), body[:40]))
    expect["clicks_machine"] += 1
    c = settle(redis, T, C, {"clicks": expect["clicks"],
                             "clicks_machine": expect["clicks_machine"]})
    ok(c.get("clicks") == expect["clicks"]
       and c.get("clicks_unique") == expect["clicks_unique"]
       and c.get("clicks_machine") == expect["clicks_machine"]
       and c.get("link:1") == expect["link1"]
       and c.get("link_unique:1") == expect["link1_unique"],
       "clicks, unique clicks, machine clicks and per-link counters",
       "stats %r\nexpected %r" % (c, expect))
    lc = sorted(redis.cmd("SMEMBERS", stats_key(T, C, "link_clickers")))
    ok(lc == ["1:1001", "1:1002"], "link_clickers holds N:contact", repr(lc))

    before = counters(redis, T, C)
    p9 = ff.token("click", T, C, 1001, link=9)
    st, h, body = ff.http("GET", p9)
    ok(st == 404 and (h.get("content-type") or "").startswith("text/html")
       and "location" not in h,
       "click on an unknown link index: 404 HTML, no Location",
       "status %s headers %r" % (st, h))
    check_no_cache(h, "click 404")
    tok = p[len("/c/"):]
    for i in (0, len(tok) // 2, len(tok) - 1):
        st, h, _ = ff.http("GET", "/c/" + mutate(tok, i))
        ok(st == 404 and "location" not in h,
           "click with a token mutated at char %d: 404" % i,
           "status %s headers %r" % (st, h))
    st, h, _ = ff.http("GET", "/c/" + "A" * 10240)
    ok(st == 404, "click with a 10 KB token: 404", "status %s" % st)
    # An open token is not a click token, even with a valid MAC.
    po = ff.token("open", T, C, 1001)
    st, h, _ = ff.http("GET", "/c/" + po[len("/o/"):-len(".gif")])
    ok(st == 404, "open token on /c/: 404", "status %s" % st)
    time.sleep(1.5)
    after = counters(redis, T, C)
    ok(after == before, "bad clicks not counted",
       "before %r\nafter  %r" % (before, after))


def test_click_unsafe(ff, redis):
    links = stats_key(T, 47, "links")
    for n, url in ((5, "//evil.example"), (6, "javascript:alert(1)"),
                   (7, "http://user:pw@evil.example/")):
        redis.cmd("HSET", links, n, url)
        p = ff.token("click", T, 47, 4001, link=n)
        st, h, _ = ff.http("GET", p)
        ok(st == 404 and "location" not in h,
           "URL %r planted in Redis: 404, no redirect" % url,
           "status %s location %r" % (st, h.get("location")))
    for url in ("//evil.example", "javascript:alert(1)", "ftp://example.com/",
                "http://user:pw@example.com/", "https://exa mple.com/",
                "example.com/x", "https://example.com/\r\nSet-Cookie: a=b"):
        rc, out, err = ff.link_set(T, 47, 8, url)
        ok(rc == 1 and err.strip() != "",
           "fanfarectl link set refuses %r (exit 1, message)" % url,
           "rc %d stderr %r" % (rc, err))
    ok(redis.cmd("HEXISTS", links, 8) == 0, "refused URLs not stored")
    time.sleep(1.2)
    c = counters(redis, T, 47)
    ok(not c.get("clicks") and not c.get("clicks_machine"),
       "clicks to unsafe URLs not counted", repr(c))


def test_unsubscribe(ff, redis):
    zkey = "{t:%d}:optout_ids" % T  # by contact id; by email when known
    p = ff.token("unsubscribe", T, 44, 5001)
    ok(p.startswith("/u/"), "fanfarectl token unsubscribe prints /u/TOKEN",
       repr(p))
    st, h, body = ff.http("GET", p)
    text = body.decode("utf-8", "replace")
    ok(st == 200 and (h.get("content-type") or "").startswith("text/html"),
       "GET /u/: 200 text/html", "status %s headers %r" % (st, h))
    check_no_cache(h, "GET /u/")
    low = text.lower()
    ok("<form" in low and 'method="post"' in low
       and ('action="%s"' % p) in text,
       "GET /u/: a form posting to /u/TOKEN", text[:800])
    ok('name="list-unsubscribe"' in low and 'value="one-click"' in low,
       "GET /u/: the form carries List-Unsubscribe=One-Click", text[:800])
    ok("{{" not in text, "GET /u/: no template tag left", text[:800])
    time.sleep(1.2)
    ok(redis.cmd("ZSCORE", zkey, 5001) is None,
       "GET /u/ does not opt out")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    st, h, body = ff.http("POST", p, headers=form,
                          body=b"List-Unsubscribe=One-Click")
    ok(st == 200 and (h.get("content-type") or "").startswith("text/html")
       and "location" not in h,
       "POST /u/: 200 text/html, no redirect", "status %s headers %r"
       % (st, h))
    check_no_cache(h, "POST /u/")
    score = wait_for(lambda: redis.cmd("ZSCORE", zkey, 5001))
    ok(score is not None, "POST /u/: contact in the optout_ids zset")
    try:
        ms = float(score)
        ok(abs(ms - time.time() * 1000) < 60000,
           "opt-out time is in milliseconds, now", repr(score))
    except (TypeError, ValueError):
        ok(False, "opt-out time is a number", repr(score))
    card = redis.cmd("ZCARD", zkey)
    st, _, _ = ff.http("POST", p, headers=form,
                       body=b"List-Unsubscribe=One-Click")
    ok(st == 200, "second POST /u/: 200", "status %s" % st)
    time.sleep(1.2)
    card2 = redis.cmd("ZCARD", zkey)
    ok(card2 == card, "second POST idempotent (zset card unchanged)",
       "%r -> %r" % (card, card2))
    score2 = redis.cmd("ZSCORE", zkey, 5001)
    ok(score2 == score, "second POST keeps the first opt-out time",
       "%r -> %r" % (score, score2))
    c = counters(redis, T, 44)
    ok(c.get("unsubscribes") == 1, "unsubscribes counted once per contact",
       "stats %r" % c)
    # Bad tokens.
    st, h, _ = ff.http("POST", "/u/" + mutate(p[3:], 2), headers=form,
                       body=b"List-Unsubscribe=One-Click")
    ok(st == 404, "POST /u/ with a tampered token: 404", "status %s" % st)
    st, h, _ = ff.http("GET", "/u/" + "x" * 40)
    ok(st == 404, "GET /u/ with a bad token: 404", "status %s" % st)
    po = ff.token("open", T, 44, 5002)
    st, h, _ = ff.http("POST", "/u/" + po[3:-4], headers=form,
                       body=b"List-Unsubscribe=One-Click")
    ok(st == 404, "POST /u/ with an open token: 404", "status %s" % st)
    time.sleep(0.5)
    ok(redis.cmd("ZCARD", zkey) == card, "bad opt-outs not recorded")
    st, _, big = ff.http("POST", p, headers=form, body=b"x" * 5000)
    ok(st == 413, "POST /u/ with a 5000-byte body: 413", "status %s" % st)


def test_unsubscribe_body(ff, redis):
    """RFC 8058: the POST's body is List-Unsubscribe=One-Click, form-
    urlencoded or multipart/form-data; the page's form sends the same
    field.  Nothing else opts out."""
    zkey = "{t:%d}:optout_ids" % T
    form = "application/x-www-form-urlencoded"
    b = "x0fanfare-boundary"
    multi = ("--%s\r\nContent-Disposition: form-data; "
             "name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--%s--\r\n"
             % (b, b)).encode()
    refused = [
        ("an empty body", form, b""),
        ("no body and no Content-Type", None, None),
        ("another field", form, b"foo=bar"),
        ("the key without a value", form, b"List-Unsubscribe"),
        ("another value", form, b"List-Unsubscribe=Yes"),
        ("the value in other case", form, b"List-Unsubscribe=one-click"),
        ("the key twice", form,
         b"List-Unsubscribe=One-Click&List-Unsubscribe=One-Click"),
        ("a bad escape", form, b"List-Unsubscribe=One-Click&a=%zz"),
        ("JSON", "application/json",
         b'{"List-Unsubscribe":"One-Click"}'),
        ("text/plain", "text/plain", b"List-Unsubscribe=One-Click"),
        ("multipart without a boundary", "multipart/form-data", multi),
        ("multipart with another boundary",
         "multipart/form-data; boundary=other", multi),
        ("multipart cut short", "multipart/form-data; boundary=" + b,
         multi[:-8]),
        ("multipart with another field",
         "multipart/form-data; boundary=" + b,
         multi.replace(b"List-Unsubscribe", b"Unsubscribe")),
    ]
    for i, (what, ctype, body) in enumerate(refused):
        p = ff.token("unsubscribe", T, 49, 7001 + i)
        h = {"Content-Type": ctype} if ctype else {}
        st, hh, data = ff.http("POST", p, headers=h, body=body)
        ok(st == 400 and b"List-Unsubscribe=One-Click" in data,
           "POST /u/ with %s: 400 saying what is expected" % what,
           "status %s body %r" % (st, data[:200]))
    accepted = [
        ("the RFC 8058 body", form, b"List-Unsubscribe=One-Click"),
        ("the body and a charset", form + "; charset=utf-8",
         b"List-Unsubscribe=One-Click"),
        ("no Content-Type", None, b"List-Unsubscribe=One-Click"),
        ("percent-encoding", form, b"List%2DUnsubscribe=One%2dClick"),
        ("the field and a button's", form,
         b"List-Unsubscribe=One-Click&submit=Unsubscribe"),
        ("multipart/form-data", "multipart/form-data; boundary=" + b,
         multi),
        ("multipart, quoted boundary",
         "multipart/form-data; boundary=\"%s\"" % b, multi),
    ]
    for i, (what, ctype, body) in enumerate(accepted):
        p = ff.token("unsubscribe", T, 49, 7101 + i)
        h = {"Content-Type": ctype} if ctype else {}
        st, hh, data = ff.http("POST", p, headers=h, body=body)
        ok(st == 200, "POST /u/ with %s: 200" % what,
           "status %s body %r" % (st, data[:200]))
    # The page's own form, as a browser submits it.
    p = ff.token("unsubscribe", T, 49, 7201)
    st, _, page = ff.http("GET", p)
    import html.parser

    class Form(html.parser.HTMLParser):
        fields = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "input" and a.get("name"):
                self.fields.append((a["name"], a.get("value") or ""))
    f = Form()
    f.feed(page.decode("utf-8"))
    import urllib.parse
    body = urllib.parse.urlencode(f.fields).encode()
    st, _, _ = ff.http("POST", p, headers={"Content-Type": form}, body=body)
    ok(st == 200, "POST /u/ with what the page's form sends: 200",
       "status %s body %r" % (st, body))
    time.sleep(1.5)
    got = {int(float(m)) for m in redis.cmd("ZRANGE", zkey, 0, -1)}
    wrong = sorted(got & set(range(7001, 7001 + len(refused))))
    missing = sorted(set(range(7101, 7101 + len(accepted))) - got)
    ok(not wrong and not missing and 7201 in got,
       "only the accepted POSTs opted out",
       "refused but recorded %r, accepted but missing %r" % (wrong,
                                                            missing))
    c = wait_for(lambda: (counters(redis, T, 49).get("unsubscribes") ==
                          len(accepted) + 1) or None, 5)
    ok(c, "unsubscribes counted for the accepted POSTs only",
       "stats %r" % counters(redis, T, 49))


def test_geoip(ff, ff2, redis):
    xff = {"X-Forwarded-For": "81.2.69.142"}
    p = ff.token("open", T, 45, 6001)
    check_pixel(ff, p, "open via trusted proxy, XFF 81.2.69.142",
                headers=xff)
    c = settle(redis, T, 45, {"country:GB": 1})
    ok(c.get("country:GB") == 1, "trusted proxy: XFF 81.2.69.142 -> GB",
       "stats %r" % c)
    recs = events(redis, T, 45)
    ok([r for r in recs if r[2] == "6001" and r[4] == "GB"],
       "events record carries GB", repr(recs))
    p = ff.token("open", T, 45, 6002)
    ff.http("GET", p, headers={"Forwarded": 'for="[::ffff:2.125.160.216]"'})
    p = ff.token("open", T, 45, 6003)
    ff.http("GET", p, headers={"Forwarded": "for=2.125.160.216;proto=https"})
    c = settle(redis, T, 45, {"country:DE": 2})
    ok(c.get("country:DE") == 2, "trusted proxy: Forwarded for= -> DE (x2)",
       "stats %r" % c)
    # A proxy we do not trust: the header is ignored.
    p2 = ff2.token("open", T, 46, 6101)
    check_pixel(ff2, p2, "open via untrusted peer, XFF 81.2.69.142",
                headers=xff)
    c = settle(redis, T, 46, {"opens": 1})
    ok(c.get("opens") == 1 and "country:GB" not in c,
       "untrusted peer: XFF ignored, no GB", "stats %r" % c)
    # The client address is never stored, anywhere.
    leaks = []
    for key in redis.cmd("KEYS", "*"):
        tp = redis.cmd("TYPE", key)
        if tp == "string":
            vals = [redis.cmd("GET", key)]
        elif tp == "hash":
            vals = redis.cmd("HGETALL", key)
        elif tp == "set":
            vals = redis.cmd("SMEMBERS", key)
        elif tp == "zset":
            vals = redis.cmd("ZRANGE", key, 0, -1)
        elif tp == "list":
            vals = redis.cmd("LRANGE", key, 0, -1)
        elif tp == "stream":
            vals = [json.dumps(redis.cmd("XRANGE", key, "-", "+"))]
        else:
            vals = []
        blob = key + " " + " ".join(map(str, vals))
        for ip in ("81.2.69.142", "2.125.160.216"):
            if ip in blob:
                leaks.append("%s in %s" % (ip, key))
    ok(not leaks, "no client IP address stored in Redis", "\n".join(leaks))


def test_protocol(ff):
    port = ff.track_port
    good = ff.token("open", T, C, 1002)
    st, h, body = ff.http("GET", "/nothing-here")
    ok(st == 404, "unknown path: 404", "status %s" % st)
    check_no_cache(h, "unknown path 404")
    st, h, body = ff.http("DELETE", good)
    ok(st == 405, "DELETE on the pixel: 405", "status %s" % st)
    check_no_cache(h, "405")
    st, h, body = ff.http("PUT", good, body=b"x")
    ok(st == 405, "PUT on the pixel: 405", "status %s" % st)

    big = (b"GET " + good.encode() + b" HTTP/1.1\r\nHost: x\r\n"
           b"X-Big: " + b"a" * 20480 + b"\r\n\r\n")
    r = ff.raw(big)
    ok(status_lines(r)[:1] == [431], "20 KB header block: 431",
       repr(r[:200]))
    ok(ff.raw_eof, "connection closed after 431")

    r = ff.raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    ok(status_lines(r)[:1] == [400] or (r == b"" and ff.raw_eof),
       "TLS-ish garbage: 400 (or closed)", repr(r[:200]))
    r = ff.raw(b"HELLO THERE\r\n\r\n")
    ok(status_lines(r)[:1] == [400], "garbage request line: 400",
       repr(r[:200]))
    ok(ff.raw_eof, "connection closed after 400")
    r = ff.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    ok(status_lines(r)[:1] == [400], "header line without colon: 400",
       repr(r[:200]))

    r = ff.raw(b"POST " + b"/u/" + good[3:-4].encode() + b" HTTP/1.1\r\n"
               b"Host: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"1a\r\nList-Unsubscribe=One-Click\r\n0\r\n\r\n")
    ok(status_lines(r)[:1] == [501], "Transfer-Encoding: chunked: 501",
       repr(r[:200]))
    ok(ff.raw_eof, "connection closed after 501")

    ua = b"User-Agent: " + HUMAN_UA.encode() + b"\r\n"
    two = (b"GET " + good.encode() + b" HTTP/1.1\r\nHost: x\r\n" + ua +
           b"\r\n" + b"GET " + good.encode() + b" HTTP/1.1\r\nHost: x\r\n" +
           ua + b"Connection: close\r\n\r\n")
    r = ff.raw(two)
    ok(status_lines(r) == [200, 200] and r.count(GIF) == 2,
       "two pipelined GETs in one write: two 200 GIF responses",
       repr(r[:400]))
    expect["opens"] += 2
    r = ff.raw(b"GET /healthz HTTP/1.0\r\n\r\n")
    ok(status_lines(r)[:1] == [200] and ff.raw_eof,
       "HTTP/1.0 without keep-alive: 200 then close", repr(r[:200]))
    st, h, _ = ff.http("GET", "/healthz")
    ok(st == 200, "GET /healthz: 200", "status %s" % st)


def test_timeouts(ff):
    """ff runs with header_timeout 2s and idle_timeout 3s."""
    t0 = time.monotonic()
    ff.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", timeout=8)
    dt = time.monotonic() - t0
    ok(ff.raw_eof and 1.0 <= dt < 6,
       "a request head still incomplete after header_timeout: closed",
       "closed %s after %.1f s" % (ff.raw_eof, dt))
    t0 = time.monotonic()
    r = ff.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=9)
    dt = time.monotonic() - t0
    ok(status_lines(r)[:1] == [200] and ff.raw_eof and 2.0 <= dt < 7,
       "an idle keep-alive connection: closed after idle_timeout",
       "closed %s after %.1f s, %r" % (ff.raw_eof, dt, r[:60]))


def test_config_check(ff):
    d = tmpdir()
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write("# a comment\ntrack_listen 127.0.0.1:1\nthreads banana\n")
    p = subprocess.run([os.environ.get("FANFARED", "fanfared"), "-t", "-c",
                        bad], capture_output=True, timeout=10)
    err = p.stderr.decode("utf-8", "replace")
    ok(p.returncode == 1 and (bad + ":3:") in err,
       "fanfared -t on a bad value: exit 1, FILE:3: reason",
       "rc %d stderr %r" % (p.returncode, err))
    with open(bad, "w") as f:
        f.write("frobnicate yes\n")
    p = subprocess.run([os.environ.get("FANFARED", "fanfared"), "-t", "-c",
                        bad], capture_output=True, timeout=10)
    err = p.stderr.decode("utf-8", "replace")
    ok(p.returncode == 1 and (bad + ":1:") in err,
       "fanfared -t on an unknown directive: exit 1, FILE:1: reason",
       "rc %d stderr %r" % (p.returncode, err))
    short = os.path.join(d, "short.secret")
    with open(short, "w") as f:
        f.write("too-short\n")
    with open(bad, "w") as f:
        f.write("token_secret_file %s\n" % short)
    p = subprocess.run([os.environ.get("FANFARED", "fanfared"), "-t", "-c",
                        bad], capture_output=True, timeout=10)
    ok(p.returncode == 1, "fanfared -t: a secret under 32 bytes is refused",
       "rc %d stderr %r" % (p.returncode, p.stderr))
    p = subprocess.run([os.environ.get("FANFARED", "fanfared"), "-t", "-c",
                        ff.conf], capture_output=True, timeout=10)
    ok(p.returncode == 0, "fanfared -t on a good config: exit 0",
       "rc %d stderr %r" % (p.returncode, p.stderr))


def test_ctl(ff, ff_other):
    p = ff.token("click", T, C, 1001, link=3)
    tok = p[len("/c/"):]
    rc, out, err = ff.ctl("token", "verify", "--token", tok)
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    ok(rc == 0 and isinstance(j, dict)
       and [str(j.get(k)) for k in ("tenant", "campaign", "contact", "link")]
       == ["7", "42", "1001", "3"],
       "fanfarectl token verify prints the fields as JSON",
       "rc %d out %r err %r" % (rc, out, err))
    rc, out, err = ff.ctl("token", "verify", "--token", mutate(tok, 5))
    ok(rc == 1, "fanfarectl token verify: tampered token exits 1",
       "rc %d out %r" % (rc, out))
    forged = ff_other.token("open", T, C, 1001)[3:-4]
    rc, out, err = ff.ctl("token", "verify", "--", forged)
    ok(rc == 1, "fanfarectl token verify: other secret exits 1",
       "rc %d out %r" % (rc, out))
    for args in (("token", "open", "--tenant", "7", "--campaign", "42"),
                 ("token", "open", "--tenant", "x", "--campaign", "42",
                  "--contact", "1"),
                 ("token", "frob", "--tenant", "1", "--campaign", "1",
                  "--contact", "1"),
                 ("frobnicate",)):
        rc, out, err = ff.ctl(*args)
        ok(rc == 2 and err.strip() != "",
           "fanfarectl %s: exit 2 with a message" % " ".join(args),
           "rc %d out %r err %r" % (rc, out, err))


def test_api(ff):
    st, h, body = ff.api("GET", "/healthz")
    try:
        j = json.loads(body)
    except ValueError:
        j = None
    ok(st == 200 and j == {"status": "ok", "redis": "up"},
       "API /healthz: ok, redis up", "status %s body %r" % (st, body))
    st, text = ff.metrics()
    names = ['fanfare_events_total{kind="open"}',
             'fanfare_events_total{kind="click"}',
             'fanfare_events_total{kind="unsubscribe"}',
             "fanfare_events_stored_total", "fanfare_spool_bytes",
             "fanfare_spool_full_total", "fanfare_redis_up",
             "fanfare_redis_reconnects_total"]
    missing = [n for n in names if n not in text]
    ok(st == 200 and not missing, "API /metrics has the fanfare_* metrics",
       "status %s missing %r" % (st, missing))
    ok("\nfanfare_redis_up 1" in "\n" + text, "fanfare_redis_up is 1",
       text[:1500])


def project(got, shape):
    """got reduced to the keys of shape (lists: of its first element);
    by_country is data, so it is kept whole."""
    if isinstance(shape, dict) and isinstance(got, dict):
        return {k: (got[k] if k == "by_country" else project(got[k], v))
                for k, v in shape.items() if k in got}
    if isinstance(shape, list) and shape and isinstance(got, list):
        return [project(g, shape[0]) for g in got]
    return got


def test_final_stats(ff, redis):
    c = settle(redis, T, C, {"opens": expect["opens"]})
    want = {"sent": 0, "delivered": 0, "bounced": 0,
            "opens": {"total": expect["opens"],
                      "unique": expect["opens_unique"],
                      "machine": expect["opens_machine"]},
            "clicks": {"total": expect["clicks"],
                       "unique": expect["clicks_unique"],
                       "machine": expect["clicks_machine"],
                       "by_link": [{"url": URL1, "total": expect["link1"],
                                    "unique": expect["link1_unique"]}]},
            "unsubscribes": 0, "by_country": {}}
    got = ff.stats(T, C)
    # API.md allows new fields: compare the documented ones.
    ok(project(got, want) == want,
       "fanfarectl stats: exact counts of this test's hits",
       "got  %s\nwant %s\nredis %r" % (json.dumps(got, sort_keys=True),
                                       json.dumps(want, sort_keys=True), c))
    g = ff.stats(T, 45)
    ok(g.get("by_country") == {"GB": 1, "DE": 2},
       "fanfarectl stats: by_country", json.dumps(g))


def test_sigterm(ff, name):
    rc = ff.stop()
    ok(rc == 0, "%s: SIGTERM -> clean exit 0" % name, "exit %r" % (rc,))


def main():
    redis = Redis()
    mmdb = None
    writer = find_mmdb_writer()
    if writer:
        mmdb = os.path.join(tmpdir(), "test-country.mmdb")
        p = subprocess.run(["/usr/bin/perl", writer, mmdb],
                           capture_output=True, timeout=60)
        ok(p.returncode == 0 and os.path.exists(mmdb),
           "test GeoIP database built", p.stderr.decode(errors="replace"))
    else:
        ok(False, "make-mmdb.pl found", "looked in %s and %s/bench"
           % (HERE, CONTRIB))
    # The main server trusts the loopback proxy; a 10 KB token must reach
    # the handler, so the header limit is raised above it.
    ff = Fanfare(redis=redis, geoip_db=mmdb,
                 trusted_proxies=["127.0.0.1/32", "::1/128"],
                 max_header_bytes="16384")
    # Another secret, trusts no proxy: forged tokens and the XFF check.
    ff2 = Fanfare(redis=redis, geoip_db=mmdb, header_timeout="2s",
                  idle_timeout="3s")

    good = run(test_pixel_valid, ff, redis)
    if good:
        run(test_pixel_bad, ff, ff2, redis, good)
    run(test_pixel_machine, ff, redis)
    run(test_private, ff, redis)
    run(test_click, ff, redis)
    run(test_click_unsafe, ff, redis)
    run(test_unsubscribe, ff, redis)
    run(test_unsubscribe_body, ff, redis)
    if mmdb:
        run(test_geoip, ff, ff2, redis)
    run(test_protocol, ff)
    run(test_timeouts, ff2)
    run(test_config_check, ff)
    run(test_ctl, ff, ff2)
    run(test_api, ff)
    run(test_final_stats, ff, redis)
    run(test_sigterm, ff2, "second fanfared")
    run(test_sigterm, ff, "main fanfared")
    done()


if __name__ == "__main__":
    main()
