#!/usr/bin/python3
"""
test_browser.py: the dashboard in a real browser.  Starts redis-server,
smtp-capture.py and fanfared (harness.py), sends a campaign, writes one
captured mail's HTML part to a file, creates an owner user with the
tenant key, then runs tests/browser/dashboard.mjs under node: Debian's
headless Chromium driven by npm's playwright-core, which logs in with
that user's password, reads the campaign on the app's campaigns screen,
opens the mail (its pixel loads),
clicks its link and waits for the dashboard to show one more open and
one more click.  Its checks are reported here as TAP lines; the stats
API confirms them.

Screenshots go to FF_BROWSER_OUT, by default test_browser.d/ beside this
test's log in the build tree (make clean removes it); their paths are
printed.  Node's packages: browserkit.py.
"""
import email
import email.policy
import os
import subprocess
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HERE, Fanfare, Redis, Relay, add_contacts, call, diag,
                     done, launch, must, new_campaign, new_list,
                     new_template, new_tenant, ok, run, stats, tmpdir,
                     wait_done)
from browserkit import have_browser, node_modules, out_dir, run_node

ADMIN = "admin-" + "w" * 40
PEOPLE = [{"email": "reader@browser.test", "first_name": "Rita"},
          {"email": "other@browser.test", "first_name": "Otto"},
          {"email": "gone@browser.test", "first_name": "Olga"}]
OPTED_OUT = "gone@browser.test"     # suppressed at send time
READER_ADDR = "81.2.69.10"          # GB in make-mmdb.pl's database
OWNER = ("owner@browser.test", "the owner's password 1")


def send(ff, relay, key):
    """A campaign whose link leads back to the dashboard (no network
    beyond this machine), one recipient opted out; (cid, one mail's
    HTML)."""
    relay.fresh()
    add_contacts(ff, key, PEOPLE)
    lid = new_list(ff, key, [p["email"] for p in PEOPLE])
    must("POST /v1/optouts", call(ff, "POST", "/v1/optouts", key,
                                  {"email": OPTED_OUT}))
    back = "http://127.0.0.1:%d/dashboard/" % ff.api_port
    html = ('<html><head><title>Spring news</title></head><body>'
            '<h1>Hello {{first_name}}</h1><p>Our spring news is out.</p>'
            '<p><a href="%s">Read it on the site</a></p></body></html>'
            % back)
    tpl = new_template(ff, key, "Spring news for {{first_name}}", html,
                       "Hello {{first_name}}\n")
    cid = new_campaign(ff, key, tpl, lid, name="Spring news")
    launch(ff, key, cid)
    js = wait_done(ff, key, cid)
    ok(js.get("status") == "done" and
       js["progress"]["sent"] == len(PEOPLE) - 1 and
       js["progress"]["suppressed"]["opted_out"] == 1,
       "a campaign of %d is sent through the capture server, 1 opted out "
       "skipped" % len(PEOPLE), repr(js))
    raw = relay.by_rcpt()["reader@browser.test"][0][1]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    part = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    return cid, part.get_content()


def browse(ff, key, cid, mail_html, out):
    mail = os.path.join(out, "mail.html")
    with open(mail, "w") as f:
        f.write(mail_html)
    # The app logs in with a user's password, not with the key.
    must("POST /v1/users", call(ff, "POST", "/v1/users", key, {
        "email": OWNER[0], "password": OWNER[1], "role": "owner"}), 201)
    env = dict(FF_DASHBOARD="http://127.0.0.1:%d/dashboard/" % ff.api_port,
               FF_EMAIL=OWNER[0], FF_PASSWORD=OWNER[1], FF_KEY=key,
               FF_CAMPAIGN=cid, FF_MAIL=mail, FF_OUT=out,
               FF_READER_ADDR=READER_ADDR, FF_SUPPRESSED="1")
    before = stats(ff, key, cid)
    run_node("dashboard.mjs", env, 10)
    after = stats(ff, key, cid)
    ok(after["opens"]["total"] == before["opens"]["total"] + 1 and
       after["clicks"]["total"] == before["clicks"]["total"] + 1 and
       after["opens"]["machine"] == before["opens"]["machine"] and
       after["clicks"]["machine"] == before["clicks"]["machine"] and
       after["by_country"].get("GB", 0) == before["by_country"].get(
           "GB", 0) + 2,
       "the stats API agrees: one more human open and click, from GB",
       "%r\n%r" % (before, after))


def main():
    if not have_browser() or node_modules() is None:
        done()
    out = out_dir("test_browser")
    diag("screenshots in %s" % out)
    mmdb = os.path.join(tmpdir("ff-mmdb-"), "countries.mmdb")
    p = subprocess.run(["/usr/bin/perl", os.path.join(HERE, "make-mmdb.pl"),
                        mmdb], capture_output=True)
    ok(p.returncode == 0, "make-mmdb.pl writes a test GeoIP database",
       p.stderr.decode("utf-8", "replace"))
    relay = Relay()
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off", geoip_db=mmdb,
                 trusted_proxies="127.0.0.1/32")
    _, key = new_tenant(ff, "Browser")
    sent = run(send, ff, relay, key)
    if sent:
        run(browse, ff, key, sent[0], sent[1], out)
    relay.close()
    done()


if __name__ == "__main__":
    main()
