#!/usr/bin/python3
"""
test_fairness.py: one tenant's templates and campaigns cannot stall
another tenant's delivery (issue 11, defect 5), and what POST
/v1/templates says of a template's links (defect 10).

  1. caps: a template at template_max_bytes, template_max_links and
     template_max_tags is saved; one byte, link or merge tag more is
     422 template_too_large naming the part and the limit; the tester's
     template (1.8 MB, 50,000 distinct links) is refused;
  2. links: POST and GET report the tracked links with their index and
     every other href with the reason it is left as written;
  3. fairness: tenant B's one-recipient campaign is timed alone, then
     again while tenant A sends its worst template (the largest the
     server accepts: the tester's 50,000 links where it is accepted,
     else one at every cap) in a 5,000-recipient campaign, four
     one-recipient ones and two of 200 recipients at 1 message a second
     (an entry of those would hold a sender 100 s), on the default two
     senders.  B beside A must arrive within BOUND_S of B alone.  Both
     figures are printed;
  4. a campaign is compiled once per sender and template version: not
     again at the 30 s re-read, again after a PUT.

The relay is tests/integration/smtpsink.py (one line per recipient, no
message kept: A's 5,000 copies of half a megabyte would be 2.5 GB).
"""
import collections
import os
import sys
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, add_contacts, call, campaign, diag,
                     done, free_port, launch, must, new_campaign, new_list,
                     new_tenant, ok, run, spawn, tail, tmpdir, wait_for)
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN = "admin-" + "f" * 40
SENDERS = 2
MAX_BYTES = 512 * 1024          # the defaults of fanfare.conf(5)
MAX_LINKS = 2000
MAX_TAGS = 1000
BIG = 5000                      # tenant A's large campaign
BOUND_S = 5.0                   # B beside A: at most this much later


class Sink:
    """smtpsink.py: who got a message, and when we first saw it."""

    def __init__(self):
        self.port = free_port()
        self.dir = tmpdir("ff-sink-")
        self.log = os.path.join(self.dir, "rcpts")
        open(self.log, "w").close()
        self.off = 0
        self.rest = b""
        self.per = collections.Counter()
        self.first = {}
        self.proc = spawn(["/usr/bin/python3", os.path.join(
            HERE, "smtpsink.py"), "--listen", "127.0.0.1:%d" % self.port,
            "--log", self.log], os.path.join(self.dir, "sink.out"))
        if not wait_for(lambda: harness.can_connect(self.port), timeout=10):
            raise RuntimeError("smtpsink.py did not listen:\n%s" % "\n".join(
                tail(os.path.join(self.dir, "sink.out"))))

    def poll(self):
        with open(self.log, "rb") as f:
            f.seek(self.off)
            data = f.read()
        self.off += len(data)
        lines = (self.rest + data).split(b"\n")
        self.rest = lines.pop()
        now = time.monotonic()
        for line in lines:
            r = line.decode().lower()
            self.per[r] += 1
            self.first.setdefault(r, now)

    def wait_for_rcpt(self, rcpt, timeout):
        """Seconds until rcpt was seen (polled every 20 ms), or None."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            self.poll()
            if rcpt in self.first:
                return self.first[rcpt] - t0
            time.sleep(0.02)
        return None

    def count(self, domain):
        self.poll()
        return sum(n for r, n in self.per.items() if r.endswith(domain))


# ------------------------------------------------------------ templates


def links_html(n, distinct=None, pad_to=0, tags=0):
    """n <a href>s (distinct ones first, then repeats), tags merge tags,
    padded with a comment to pad_to bytes."""
    distinct = n if distinct is None else distinct
    parts = ["<html><body>"]
    for i in range(n):
        parts.append('<a href="https://a.test/%d">x</a>' % (i % distinct))
    parts.append("{{first_name}}" * tags)
    body = "".join(parts)
    end = "</body></html>"
    pad = pad_to - len(body) - len(end) - len("<!---->")
    if pad > 0:
        body += "<!--" + "p" * pad + "-->"
    return body + end


def tester_html():
    """The tester's template: 1.8 MB, 50,000 distinct links."""
    return "".join('<a href="https://x.test/%d">l</a>' % i
                   for i in range(50000)) + "x" * 40000


def save(ff, key, html, text="{{unsubscribe_url}}", subject="s"):
    return call(ff, "POST", "/v1/templates", key, {
        "name": "t", "subject": subject, "html": html, "text": text})


def too_large(res, part, limit):
    st, js, raw = res
    e = (js or {}).get("error") or {}
    return (st == 422 and e.get("code") == "template_too_large" and
            e.get("part") == part and e.get("limit") == limit and
            isinstance(e.get("max"), int))


def test_caps(ff):
    _, key = new_tenant(ff, "caps")
    html = links_html(10, pad_to=MAX_BYTES)
    st, js, raw = save(ff, key, html)
    ok(len(html) == MAX_BYTES and st == 201,
       "html of template_max_bytes (%d): 201" % MAX_BYTES, raw[:300])
    res = save(ff, key, html + " ")
    ok(too_large(res, "html", "bytes"),
       "one byte more: 422 template_too_large, part html, limit bytes",
       res[2][:300])
    res = save(ff, key, "<p>x</p>", text="x" * (MAX_BYTES + 1))
    ok(too_large(res, "text", "bytes"), "text over the size: 422",
       res[2][:300])

    st, js, raw = save(ff, key, links_html(MAX_LINKS, distinct=1500))
    ok(st == 201 and len(js.get("links", [])) == 1500,
       "%d links (1,500 distinct): 201, 1,500 tracked" % MAX_LINKS,
       raw[:300])
    res = save(ff, key, links_html(MAX_LINKS, distinct=1500) +
               '<a href="mailto:x@a.test">m</a>')
    ok(too_large(res, "html", "links"),
       "one link more (a mailto: counts too): 422, limit links",
       res[2][:300])

    st, js, raw = save(ff, key, "<p>x</p>", text="{{email}}" * MAX_TAGS)
    ok(st == 201, "%d merge tags: 201" % MAX_TAGS, raw[:300])
    res = save(ff, key, "<p>x</p>", text="{{email}}" * (MAX_TAGS + 1))
    ok(too_large(res, "text", "merge_tags"),
       "one merge tag more: 422, limit merge_tags", res[2][:300])
    res = save(ff, key, "<p>{{first_name}}</p>" * (MAX_TAGS + 1))
    ok(too_large(res, "html", "merge_tags"), "in the html too: 422",
       res[2][:300])

    t0 = time.monotonic()
    res = save(ff, key, tester_html())
    ok(too_large(res, "html", "bytes") or too_large(res, "html", "links"),
       "the tester's template (1.8 MB, 50,000 links): 422 in %.2f s"
       % (time.monotonic() - t0), res[2][:300])


def test_links_report(ff):
    _, key = new_tenant(ff, "links")
    html = ('<a href="https://shop.test/a?x=1&amp;y=2">a</a>'
            '<a href="mailto:help@shop.test">m</a>'
            '<a href="tel:+33123">t</a>'
            '<a href="#top">anchor</a>'
            '<a href="/relative">r</a>'
            '<a href="{{unsubscribe_url}}">u</a>'
            '<a href="https://shop.test/p?e={{email}}">p</a>'
            '<a href="javascript:alert(1)">j</a>'
            '<a href="https://shop.test/b">b</a>'
            '<a href="https://shop.test/a?x=1&y=2">a again</a>'
            '<a href="http://bad_host!/">h</a>')
    want_links = [{"link": 0, "url": "https://shop.test/a?x=1&y=2"},
                  {"link": 1, "url": "https://shop.test/b"}]
    want_untracked = {
        "mailto:help@shop.test": "mailto", "tel:+33123": "tel",
        "#top": "anchor", "/relative": "relative",
        "{{unsubscribe_url}}": "unsubscribe_url",
        "https://shop.test/p?e={{email}}": "merge_tag",
        "javascript:alert(1)": "scheme",
        "http://bad_host!/": "invalid_url"}
    st, js, raw = save(ff, key, html)
    got = {u["url"]: u["reason"] for u in (js or {}).get("untracked", [])}
    ok(st == 201 and js.get("links") == want_links,
       "POST: the tracked links with their index", raw)
    ok(got == want_untracked and len(js["untracked"]) == len(got),
       "POST: every other href once, with its reason", raw)
    st, js2, raw = call(ff, "GET", "/v1/templates/%s" % js["id"], key)
    ok(st == 200 and js2.get("links") == js["links"] and
       js2.get("untracked") == js["untracked"], "GET: the same report",
       raw[:500])


# -------------------------------------------------------------- fairness


def one_recipient(ff, key, tpl, email, name):
    lid = new_list(ff, key, [email], name=name)
    return new_campaign(ff, key, tpl, lid)


def test_fairness(ff, sink):
    _, kb = new_tenant(ff, "B")
    add_contacts(ff, kb, [{"email": "b-alone@b.test"},
                          {"email": "b-beside@b.test"}])
    tb = must("template B", save(ff, kb, "<p>Hello {{first_name}}</p>"
                                 '<a href="https://b.test/">b</a>'), 201)["id"]
    b1 = one_recipient(ff, kb, tb, "b-alone@b.test", "B1")
    b2 = one_recipient(ff, kb, tb, "b-beside@b.test", "B2")

    launch(ff, kb, b1)
    alone = sink.wait_for_rcpt("b-alone@b.test", 60)
    ok(alone is not None, "B alone: delivered in %s s" % (
       "%.2f" % alone if alone is not None else "(none in 60)"))
    if alone is None:
        return

    # Tenant A: its worst template is the largest this server accepts.
    _, ka = new_tenant(ff, "A")
    st, js, raw = save(ff, ka, tester_html())
    if st == 201:
        worst, what = js["id"], "the tester's 1.8 MB, 50,000 links"
    else:
        html = links_html(MAX_LINKS, pad_to=MAX_BYTES - 100,
                          tags=MAX_TAGS - 1)
        worst = must("A's template at the caps", save(ff, ka, html), 201)[
            "id"]
        what = "%d bytes, %d links, %d merge tags" % (len(html), MAX_LINKS,
                                                      MAX_TAGS)
    diag("tenant A's template: %s" % what)
    a_emails = ["a%d@a.test" % i for i in range(BIG)]
    add_contacts(ff, ka, [{"email": e, "first_name": "A"} for e in a_emails])
    a_camps = [new_campaign(ff, ka, worst, new_list(ff, ka, a_emails,
                                                    name="big"))]
    for i in range(4):
        a_camps.append(one_recipient(ff, ka, worst, a_emails[i], "A%d" % i))
    # And two slow ones: at 1 message a second, a 100-recipient entry
    # would hold a sender for 100 s.
    for i in range(2):
        a_camps.append(new_campaign(ff, ka, worst, new_list(
            ff, ka, a_emails[1000 * (i + 1):1000 * (i + 1) + 200],
            name="slow%d" % i), rate_per_second=1))
    for c in a_camps:
        launch(ff, ka, c)
    # A holds the senders (or tries to) before B comes.
    busy = wait_for(lambda: sink.count("@a.test") > 0, timeout=120,
                    interval=0.1)
    ok(busy, "tenant A is sending (%d delivered)" % sink.count("@a.test"))
    time.sleep(1.0)

    a_before = sink.count("@a.test")
    launch(ff, kb, b2)
    beside = sink.wait_for_rcpt("b-beside@b.test", 120)
    a_during = sink.count("@a.test") - a_before
    diag("B alone: %.2f s; B beside A: %s; A delivered meanwhile: %d "
         "(bound: B alone + %.1f s)" % (
             alone, "%.2f s" % beside if beside is not None else "none in 120 s",
             a_during, BOUND_S))
    ok(beside is not None and beside <= alone + BOUND_S,
       "B beside A's worst: within %.1f s of B alone (%.2f s vs %.2f s)"
       % (BOUND_S, beside if beside is not None else -1, alone))
    ok(campaign(ff, ka, a_camps[0]).get("status") == "sending",
       "A's large campaign is still sending: B did not wait for it")
    for c in a_camps:
        call(ff, "POST", "/v1/campaigns/%s/cancel" % c, ka)


def compiles(ff, tid, cid):
    """The senders' "compiled" debug lines of one campaign so far."""
    with open(ff.log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return [l for l in text.splitlines() if "campaign %s of tenant %s "
            "compiled" % (cid, tid) in l]


def test_compile_once(redis, sink):
    """A campaign is compiled once per sender and template version: at
    the 30 s re-read its template's version is read, and only a PUT
    makes the sender compile it again.  Two campaigns of two templates
    send at 2 a second; after 33 s one template is changed, both are
    paused and resumed (the entry is taken up again: the sender looks
    at its cache): only the changed one is compiled again."""
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders=str(SENDERS),
                 smtp_relay="127.0.0.1:%d" % sink.port,
                 smtp_starttls="off", log_level="debug")
    tid, key = new_tenant(ff, "C")
    emails = ["c%d@c.test" % i for i in range(90)]
    add_contacts(ff, key, [{"email": e} for e in emails])
    html = links_html(MAX_LINKS, distinct=50, pad_to=100000)
    tpls, cids = [], []
    for name in ("changed", "same"):
        tpls.append(must("template", save(ff, key, html), 201)["id"])
        cids.append(new_campaign(ff, key, tpls[-1], new_list(
            ff, key, emails, name=name), rate_per_second=2))
    t0 = time.monotonic()
    for c in cids:
        launch(ff, key, c)
    wait_for(lambda: all(compiles(ff, tid, c) for c in cids), timeout=10)
    first = [compiles(ff, tid, c) for c in cids]
    diag("compile of the 100 KB, 2,000-link template: %s" % "; ".join(
        l.split("compiled: ")[-1] for l in first[0] + first[1]))
    time.sleep(max(0, 33 - (time.monotonic() - t0)))   # past the TTL
    must("PUT template", call(ff, "PUT", "/v1/templates/%s" % tpls[0],
                              key, {"name": "t", "subject": "new",
                                    "html": "<p>new</p>", "text": "x"}))
    for c in cids:
        must("pause", call(ff, "POST", "/v1/campaigns/%s/pause" % c, key))
    time.sleep(2.5)
    for c in cids:
        must("resume", call(ff, "POST", "/v1/campaigns/%s/resume" % c, key))
    again = wait_for(lambda: len(compiles(ff, tid, cids[0])) >
                     len(first[0]), timeout=15, interval=0.5)
    time.sleep(2)
    same = compiles(ff, tid, cids[1])
    ok(again, "changed template: compiled again once its sender came "
       "back to it after the 30 s re-read", "\n".join(
           compiles(ff, tid, cids[0])))
    ok(first[1] and same == first[1] and
       campaign(ff, key, cids[1]).get("status") == "sending",
       "unchanged template: compiled once (%d), not again after the 30 s "
       "re-read" % len(first[1]), "\n".join(same))
    for c in cids:
        call(ff, "POST", "/v1/campaigns/%s/cancel" % c, key)
    ff.stop()


def main():
    redis = Redis()
    sink = Sink()
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders=str(SENDERS),
                 smtp_relay="127.0.0.1:%d" % sink.port,
                 smtp_starttls="off", api_max_body="16M")
    run(test_caps, ff)
    run(test_links_report, ff)
    run(test_fairness, ff, sink)
    ff.stop()
    run(test_compile_once, redis, sink)
    done()


if __name__ == "__main__":
    main()
