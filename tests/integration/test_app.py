#!/usr/bin/python3
"""
test_app.py: the marketer's app (issue 16) in a real browser.  Starts
redis-server, smtp-capture.py and fanfared (harness.py), creates a tenant
with an owner, a marketer and a viewer, seeds names that try to inject
script (a contact, a list, a template, a campaign, a segment and a
sequence), then runs tests/browser/app.mjs: Debian's headless Chromium,
driven by npm's playwright-core, logs in with a password and works every
screen (tests/browser/app/*.mjs), each checked by axe-core, screenshotted
at 1280 px and at a phone's width, and searched for the injected markup;
then the viewer logs in and may only read.

Screenshots go to test_app.d/ beside this test's log (FF_BROWSER_OUT);
FF_SCREENS=contacts,lists runs only those screens' modules.
"""
import json
import os
import sys

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, diag, done,
                     must, new_list, new_tenant, ok, run)
from harness import free_port, tmpdir
from browserkit import have_browser, node_modules, out_dir, run_node

ADMIN = "admin-" + "a" * 40
FROM = "Acme News <news@acme.test>"
# Names that would run script if a screen put them in as HTML.
XSS = ['<script>window.__xss=1</script>',
       '"><img src=x onerror="window.__xss=2">',
       "<svg onload=window.__xss=3>"]
USERS = {"owner": ("owner@app.test", "owner password 1"),
         "marketer": ("marketer@app.test", "marketer password 1"),
         "viewer": ("viewer@app.test", "viewer password 1")}


def seed(ff, key):
    """The users, and one of each object named after the payloads."""
    for role, (email, pw) in USERS.items():
        must("POST /v1/users " + role, call(ff, "POST", "/v1/users", key, {
            "email": email, "password": pw, "role": role}), 201)
    add_contacts(ff, key, [{"email": "xss%d@app.test" % i, "first_name": x,
                            "last_name": x} for i, x in enumerate(XSS)])
    lid = new_list(ff, key, ["xss0@app.test"], name=XSS[1])
    tpl = must("POST /v1/templates", call(ff, "POST", "/v1/templates", key, {
        "name": XSS[0], "subject": "Hello {{first_name}}",
        "html": "<p>Hello {{first_name}}</p>", "text": "Hello\n"}), 201)["id"]
    must("POST /v1/campaigns", call(ff, "POST", "/v1/campaigns", key, {
        "name": XSS[1], "template_id": tpl, "list_id": lid, "from": FROM}),
        201)
    must("POST /v1/segments", call(ff, "POST", "/v1/segments", key, {
        "name": XSS[2], "match": "all",
        "rules": [{"field": "list", "value": lid}]}), 201)
    must("POST /v1/sequences", call(ff, "POST", "/v1/sequences", key, {
        "name": XSS[0], "from": FROM,
        "steps": [{"template_id": tpl, "delay": "0s"}]}), 201)
    return True


def browse(ff, key, relay, out):
    env = {"FF_APP": "http://127.0.0.1:%d/dashboard/" % ff.api_port,
           "FF_KEY": key, "FF_OUT": out, "FF_XSS": json.dumps(XSS),
           "FF_OWNER": "%s:%s" % USERS["owner"],
           "FF_MARKETER": "%s:%s" % USERS["marketer"],
           "FF_VIEWER": "%s:%s" % USERS["viewer"],
           "FF_FROM": FROM, "FF_MAIL_DIR": relay.dir,
           "FF_TRACK": "http://127.0.0.1:%d" % ff.track_port,
           "FF_DNS_PORT": str(ff.directives["dns_resolver"].split(":")[1]),
           "FF_RELAY_PORT": str(relay.port),
           "FF_BOUNCE_PORT": ff.directives["bounce_listen"].split(":")[1]}
    run_node("app.mjs", env, 10, timeout=600, dirs=("app",))


def admin_conf():
    """The owner's screens (domains, relay, webhooks) need the data key
    that seals DKIM keys, relay passwords and webhook secrets; the relay
    screen sets the tenant's relay to the SMTP capture on loopback; the
    domains screen's verify asks a DNS server on loopback that
    tests/browser/app/domains.mjs runs (node:dgram) on dns_resolver's
    port; the suppression screen's bounces come through the bounce
    listener."""
    keydir = tmpdir("ff-datakey-")
    data_key = os.path.join(keydir, "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)
    return {"data_key_file": data_key, "relay_allow": "127.0.0.1/32",
            "dns_resolver": "127.0.0.1:%d" % free_port(),
            # suppression.mjs sends a DSN and a complaint here.
            "bounce_listen": "127.0.0.1:%d" % free_port(),
            "bounce_domain": "bounces.app.test"}


def main():
    if not have_browser() or node_modules() is None:
        done()
    out = out_dir("test_app")
    diag("screenshots in %s" % out)
    relay = Relay().fresh()
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN,
                 smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                 smtp_starttls="off", webhook_allow="127.0.0.1/32",
                 # A template's test send has a From (the tenant has no
                 # verified domain): ff-appmail's directive.
                 system_from="Fanfare <app@fanfare.test>", **admin_conf())
    _, key = new_tenant(ff, "App")
    if run(seed, ff, key) is not None:
        run(browse, ff, key, relay, out)
    relay.close()
    done()


if __name__ == "__main__":
    main()
