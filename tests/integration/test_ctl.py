#!/usr/bin/python3
"""
test_ctl.py: fanfarectl against a real fanfared and a real redis-server,
checked through the API: a tenant it creates works with its key, a key it
revokes gets 401, its campaign progress and stats are the API's JSON, its
subject export is GET /v1/subjects's JSON and its erasure leaves nothing
of the person (a SCAN of every key), audits itself as "fanfarectl" and
keeps the address suppressed; bad arguments exit 2, what does not exist
exits 1, and every --json output parses.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, address_leaks, contact_id_leaks, done,
                     dump_keys, dump_tenant, ok, run, stats_key, wait_for)

ADMIN = "admin-" + "c" * 40


def call(ff, method, path, key=None, body=None):
    """(status, decoded JSON or None, raw bytes)."""
    h = {"Content-Type": "application/json"}
    if key is not None:
        h["Authorization"] = "Bearer " + key
    data = json.dumps(body).encode() if body is not None else None
    st, _, out = ff.api(method, path, headers=h, body=data)
    try:
        return st, json.loads(out) if out else None, out
    except ValueError:
        return st, None, out


def ctl_json(ff, *args):
    """Runs fanfarectl with --json: (exit status, parsed stdout or None,
    stdout, stderr)."""
    rc, out, err = ff.ctl(*(list(args) + ["--json"]))
    try:
        js = json.loads(out)
    except ValueError:
        js = None
    return rc, js, out, err


def test_usage(ff):
    rc, out, err = ff.ctl("--help", config=False)
    words = ["tenant create", "tenant list", "key create", "key revoke",
             "campaign show", "stats", "subject export", "subject erase",
             "janitor", "check", "token open|click|unsubscribe",
             "token verify", "link set"]
    missing = [w for w in words if "fanfarectl " + w not in out]
    ok(rc == 0 and not missing and "exit status" in out,
       "fanfarectl --help: every command and the exit codes",
       "rc %d missing %r\n%s" % (rc, missing, out))
    bad = [("tenant", "create"),
           ("tenant", "create", "--name", ""),
           ("tenant", "create", "--name", "x", "--retention-days", "0"),
           ("tenant", "create", "--name", "x", "--retention-days", "abc"),
           ("tenant", "frob"),
           ("tenant",),
           ("key", "create"),
           ("key", "revoke", "--tenant", "1"),
           ("key", "revoke", "--tenant", "-1", "--prefix", "ab"),
           ("campaign", "show", "--tenant", "1"),
           ("stats", "--tenant", "1", "--campaign", "1", "extra"),
           ("subject", "export", "--tenant", "1", "--email", "not-an-addr"),
           ("subject", "erase", "--tenant", "1"),
           ("janitor", "--nope"),
           ("frobnicate",)]
    for args in bad:
        rc, out, err = ff.ctl(*args)
        ok(rc == 2 and err.strip() != "",
           "fanfarectl %s: exit 2 with a message" % " ".join(
               a if a else "''" for a in args),
           "rc %d out %r err %r" % (rc, out, err))
    rc, out, err = ff.ctl("check", config=False)
    ok(rc == 2 and "--config" in err, "no --config: exit 2, says so", err)


def test_tenant(ff, redis):
    rc, js, out, err = ctl_json(ff, "tenant", "create", "--name", "CLI Corp",
                                "--retention-days", "30")
    good = (rc == 0 and isinstance(js, dict) and
            set(js) == {"id", "api_key", "key_prefix"} and
            js["api_key"].startswith("ff_%s_" % js["id"]) and
            js["api_key"][len("ff_%s_" % js["id"]):][:8] == js["key_prefix"])
    ok(good, "tenant create --json: the API's {id, api_key, key_prefix}",
       "rc %d out %r err %r" % (rc, out, err))
    if not good:
        return None
    tid, key, prefix = js["id"], js["api_key"], js["key_prefix"]
    st, body, raw = call(ff, "GET", "/v1/campaigns", key)
    ok(st == 200 and body == {"items": []},
       "the key fanfarectl made works on the API", raw)
    st, body, raw = call(ff, "POST", "/v1/contacts", key,
                         {"email": "first@cli.test"})
    ok(st == 200 and body.get("created") == 1,
       "... and writes the tenant's data", raw)
    h = redis.hgetall("{t:%s}:tenant" % tid)
    ok(h.get("name") == "CLI Corp" and h.get("retention_days") == "30" and
       h.get("status") == "active" and
       redis.cmd("SISMEMBER", "ff:tenants", tid) == 1,
       "the tenant is stored as the API stores it", repr(h))
    stored = redis.hgetall("{t:%s}:keys" % tid)
    ok(list(stored) == [prefix] and key not in repr(stored) and
       len(stored[prefix]) == 64,
       "only the key's hash is stored, under its prefix", repr(stored))
    st, body, raw = call(ff, "POST", "/v1/tenants/%s/keys" % tid, ADMIN)
    ok(st == 201, "the admin API manages the tenant fanfarectl made", raw)
    admin_prefix = (body or {}).get("key_prefix")

    rc, out, err = ff.ctl("tenant", "create", "--name", "Human")
    ok(rc == 0 and "api key: ff_" in out and "key prefix: " in out,
       "tenant create: the key in plain text, once", out + err)
    rc, js, out, err = ctl_json(ff, "tenant", "list")
    items = {i.get("id"): i for i in (js or {}).get("items", [])}
    mine = items.get(tid, {})
    ok(rc == 0 and mine.get("name") == "CLI Corp" and
       mine.get("status") == "active" and mine.get("retention_days") == 30 and
       sorted(mine.get("key_prefixes", [])) ==
       sorted([prefix, admin_prefix]) and
       mine.get("created_at", "").endswith("Z") and len(items) == 2,
       "tenant list --json: both tenants, with their key prefixes",
       "rc %d out %r err %r" % (rc, out, err))
    rc, out, err = ff.ctl("tenant", "list")
    line = [l for l in out.splitlines() if l.startswith(tid + " ")]
    ok(rc == 0 and line and "active" in line[0] and
       line[0].endswith("CLI Corp"),
       "tenant list: one line per tenant", out + err)
    return tid, key, prefix


def test_keys(ff, tid, key, prefix):
    rc, js, out, err = ctl_json(ff, "key", "create", "--tenant", tid)
    good = (rc == 0 and isinstance(js, dict) and
            set(js) == {"api_key", "key_prefix"} and
            js["api_key"].startswith("ff_%s_" % tid))
    ok(good, "key create --json: the API's {api_key, key_prefix}",
       "rc %d out %r err %r" % (rc, out, err))
    if not good:
        return key
    new = js["api_key"]
    st, _, raw = call(ff, "GET", "/v1/campaigns", new)
    ok(st == 200, "the new key works", raw)
    rc, js, out, err = ctl_json(ff, "key", "revoke", "--tenant", tid,
                                "--prefix", prefix)
    ok(rc == 0 and js == {"revoked": prefix},
       "key revoke --json: the old key's prefix", out + err)
    st, body, raw = call(ff, "GET", "/v1/campaigns", key)
    ok(st == 401 and body["error"]["code"] == "unauthorized",
       "the revoked key gets 401", raw)
    st, _, raw = call(ff, "GET", "/v1/campaigns", new)
    ok(st == 200, "the new key still works", raw)
    rc, out, err = ff.ctl("key", "revoke", "--tenant", tid, "--prefix",
                          prefix)
    ok(rc == 1 and "no key with that prefix" in err,
       "revoking it again: exit 1", "rc %d err %r" % (rc, err))
    rc, out, err = ff.ctl("key", "create", "--tenant", "999999")
    ok(rc == 1 and "no such tenant" in err,
       "key create for an unknown tenant: exit 1", "rc %d err %r" % (rc, err))
    rc, js, out, err = ctl_json(ff, "key", "revoke", "--tenant", "999999",
                                "--prefix", "abcdef01")
    ok(rc == 1 and (js or {}).get("error", {}).get("code") == "not_found",
       "key revoke, unknown tenant, --json: exit 1, the API's error object",
       "rc %d out %r err %r" % (rc, out, err))
    rc, out, err = ff.ctl("key", "create", "--tenant", tid)
    ok(rc == 0 and "api key: ff_%s_" % tid in out,
       "key create: the key in plain text", out + err)
    return new


def setup_campaign(ff, redis, tid, key):
    """Three contacts on a list, a template with one link, a launched
    campaign with an open and a click of the subject, and a draft."""
    emails = ["Subject.Person@Example.TEST", "other@example.test",
              "third@example.test"]
    call(ff, "POST", "/v1/contacts", key,
         [{"email": e, "first_name": "N%d" % i} for i, e in enumerate(emails)])
    ids = [call(ff, "GET", "/v1/contacts/%s" % e, key)[1]["id"]
           for e in emails]
    lid = call(ff, "POST", "/v1/lists", key, {"name": "L"})[1]["id"]
    call(ff, "POST", "/v1/lists/%s/members" % lid, key, {"contact_ids": ids})
    tpl = call(ff, "POST", "/v1/templates", key, {
        "name": "t", "subject": "s", "text": "t",
        "html": '<a href="https://s.example/x">x</a>'})[1]["id"]
    camp = call(ff, "POST", "/v1/campaigns", key, {
        "name": "Spring", "template_id": tpl, "list_id": lid,
        "from": "a@s.example"})[1]["id"]
    draft = call(ff, "POST", "/v1/campaigns", key, {
        "name": "Later", "template_id": tpl, "list_id": lid,
        "from": "a@s.example"})[1]["id"]
    st, _, raw = call(ff, "POST", "/v1/campaigns/%s/launch" % camp, key)
    ok(st == 202, "campaign launched", raw)
    wait_for(lambda: redis.hgetall("{t:%s}:camp:%s" % (tid, camp)).get(
        "snapshot") == "1", 10)
    for contact in ids[:2]:
        ff.http("GET", ff.token("open", int(tid), int(camp), int(contact)))
        ff.http("GET", ff.token("click", int(tid), int(camp), int(contact),
                                link=0))
    wait_for(lambda: redis.cmd("HGET", stats_key(int(tid), int(camp)),
                               "clicks") == "2", 10)
    call(ff, "POST", "/v1/optouts", key, {"email": emails[0]})
    return emails, ids, lid, camp, draft


def test_campaign(ff, tid, key, camp, draft):
    for c in (camp, draft):
        st, api, raw = call(ff, "GET", "/v1/campaigns/%s" % c, key)
        rc, js, out, err = ctl_json(ff, "campaign", "show", "--tenant", tid,
                                    "--campaign", c)
        ok(st == 200 and rc == 0 and js == api,
           "campaign show --json %s: the API's JSON" % api.get("status"),
           "api %r\nctl %r %r" % (api, out, err))
    rc, out, err = ff.ctl("campaign", "show", "--tenant", tid, "--campaign",
                          camp)
    ok(rc == 0 and out.startswith('campaign %s "Spring": sending, 3/3 '
                                  'queued, 0 sent' % camp) and
       len(out.splitlines()) == 1,
       "campaign show: one progress line", out + err)
    st, api, raw = call(ff, "GET", "/v1/campaigns/%s/stats" % camp, key)
    for flag in ([], ["--json"]):
        rc, out, err = ff.ctl("stats", "--tenant", tid, "--campaign", camp,
                              *flag)
        try:
            js = json.loads(out)
        except ValueError:
            js = None
        ok(st == 200 and rc == 0 and js == api and
           api["opens"]["total"] == 2 and api["clicks"]["unique"] == 2,
           "stats %s: the API's JSON" % " ".join(flag),
           "api %r\nctl %r %r" % (api, out, err))
    for args, what in (
            (("campaign", "show", "--tenant", tid, "--campaign", "999"),
             "campaign show, unknown campaign"),
            (("campaign", "show", "--tenant", "999999", "--campaign", camp),
             "campaign show, unknown tenant"),
            (("stats", "--tenant", tid, "--campaign", "999"),
             "stats, unknown campaign"),
            (("stats", "--tenant", "999999", "--campaign", camp),
             "stats, unknown tenant")):
        rc, js, out, err = ctl_json(ff, *args)
        ok(rc == 1 and err.strip() != "" and
           (js or {}).get("error", {}).get("code") == "not_found",
           "%s: exit 1, message, the API's error object" % what,
           "rc %d out %r err %r" % (rc, out, err))


def test_export(ff, redis, tid, key, email):
    # The event log refers to the opens once the pump has run (each
    # second): compare exports after that, not across it.
    def referred():
        st, js, _ = call(ff, "GET", "/v1/subjects/%s" % email, key)
        return st == 200 and len([e for e in js.get("event_log", [])
                                  if e["id"].startswith("trk:")]) >= \
            len(js.get("events", []))
    wait_for(referred, timeout=15)
    st, api, raw = call(ff, "GET", "/v1/subjects/%s" % email, key)
    rc, js, out, err = ctl_json(ff, "subject", "export", "--tenant", tid,
                                "--email", email)
    ok(st == 200 and rc == 0 and js == api and len(api["events"]) == 2 and
       api["opted_out"] is True,
       "subject export --json: GET /v1/subjects's JSON",
       "api %r\nctl %r %r" % (api, out, err))
    rc, out, err = ff.ctl("subject", "export", "--tenant", tid, "--email",
                          email.upper())
    try:
        js = json.loads(out)
    except ValueError:
        js = None
    ok(rc == 0 and js == api and "\n  " in out,
       "subject export: the same, indented, for any spelling of the address",
       out + err)
    audit = redis.cmd("XRANGE", "{t:%s}:audit" % tid, "-", "+")
    last = dict(zip(audit[-1][1][0::2], audit[-1][1][1::2])) if audit else {}
    ok(last.get("key_prefix") == "fanfarectl" and
       last.get("action") == "access" and
       email.lower() not in repr(audit).lower(),
       "the export is audited, as fanfarectl, without the address",
       repr(audit)[:600])
    rc, out, err = ff.ctl("subject", "export", "--tenant", "999999",
                          "--email", email)
    ok(rc == 1 and "no such tenant" in err,
       "subject export, unknown tenant: exit 1", "rc %d err %r" % (rc, err))


def test_erase(ff, redis, tid, key, emails, ids, camp):
    email, cid = emails[0], ids[0]
    n_audit = len(redis.cmd("XRANGE", "{t:%s}:audit" % tid, "-", "+"))
    rc, js, out, err = ctl_json(ff, "subject", "erase", "--tenant", tid,
                                "--email", email)
    er = (js or {}).get("erased", {})
    ok(rc == 0 and set(er) == {"contacts", "events", "messages", "bounces",
                               "list_memberships", "unique_memberships",
                               "optouts", "blocklist", "consents",
                               "event_log", "pending_signups"} and
       er["contacts"] == 1 and er["events"] == 2 and
       er["list_memberships"] == 1 and er["optouts"] == 1 and
       er["unique_memberships"] == 3,
       "subject erase --json: the API's {erased: counts}", out + err)
    everything = dump_keys(redis, ("*",))
    ok(address_leaks(everything, email) == [],
       "erased: a SCAN of every key finds the address nowhere",
       repr(address_leaks(everything, email)[:5]))
    ok(contact_id_leaks(dump_tenant(redis, tid), cid) == [],
       "erased: the contact id is in no key, member or event",
       repr(contact_id_leaks(dump_tenant(redis, tid), cid)))
    audit = redis.cmd("XRANGE", "{t:%s}:audit" % tid, "-", "+")
    last = dict(zip(audit[-1][1][0::2], audit[-1][1][1::2])) if audit else {}
    try:
        counts = json.loads(last.get("counts", ""))
    except ValueError:
        counts = None
    ok(len(audit) == n_audit + 1 and last.get("key_prefix") == "fanfarectl"
       and last.get("action") == "erase" and counts == er and
       email.lower() not in repr(audit).lower(),
       "audit log: fanfarectl's erase record, with the counts, no address",
       repr(audit)[:800])
    st, body, raw = call(ff, "GET", "/v1/subjects/%s" % emails[1], key)
    ok(st == 200 and len(body.get("events", [])) == 2,
       "the other contact's events are kept", raw)
    c = redis.hgetall(stats_key(int(tid), int(camp)))
    ok(c.get("opens") == "2" and c.get("clicks") == "2",
       "aggregate counters are kept", repr(c))
    st, body, raw = call(ff, "POST", "/v1/contacts", key, {"email": email})
    ok(st == 200 and body.get("created") == 1, "re-import: stored again", raw)
    st, body, raw = call(ff, "GET", "/v1/contacts/%s" % email, key)
    ok(st == 200 and body.get("status") == "opted_out",
       "the re-imported erased address stays suppressed", raw)
    rc, out, err = ff.ctl("subject", "erase", "--tenant", tid, "--email",
                          emails[2])
    ok(rc == 0 and out.startswith("erased: contacts 1, events 0, "
                                  "messages 0, bounces 0, "
                                  "list_memberships 1"),
       "subject erase: the counts on one line", out + err)
    st, body, raw = call(ff, "GET", "/v1/contacts/%s" % emails[2], key)
    ok(st == 404, "... and that contact is gone from the API", raw)


def test_deleting(ff, redis):
    rc, js, out, err = ctl_json(ff, "tenant", "create", "--name", "Leaving")
    tid, key = js["id"], js["api_key"]
    call(ff, "POST", "/v1/contacts", key, {"email": "x@leaving.test"})
    st, _, raw = call(ff, "DELETE", "/v1/tenants/%s" % tid, ADMIN)
    ok(st == 202, "tenant deleted through the API", raw)
    for args in (("key", "create", "--tenant", tid),
                 ("subject", "export", "--tenant", tid, "--email",
                  "x@leaving.test"),
                 ("subject", "erase", "--tenant", tid, "--email",
                  "x@leaving.test")):
        rc, out, err = ff.ctl(*args)
        ok(rc == 1 and err.strip() != "",
           "%s on a tenant being deleted: exit 1, as its keys get 401"
           % " ".join(args[:2]), "rc %d out %r err %r" % (rc, out, err))
    rc, js, out, err = ctl_json(ff, "tenant", "list")
    mine = [i for i in (js or {}).get("items", []) if i.get("id") == tid]
    ok(rc == 0 and mine and mine[0].get("status") == "deleting" and
       mine[0].get("purge_at", "").endswith("Z"),
       "tenant list: the tenant being deleted, with its purge time", out)


def test_json_everywhere(ff, tid, camp):
    """Every command's --json output is one JSON document."""
    cmds = [("janitor",), ("check",), ("tenant", "list"),
            ("campaign", "show", "--tenant", tid, "--campaign", camp),
            ("stats", "--tenant", tid, "--campaign", camp),
            ("token", "open", "--tenant", tid, "--campaign", camp,
             "--contact", "1"),
            ("link", "set", "--tenant", tid, "--campaign", camp, "--link",
             "5", "--url", "https://s.example/y")]
    for args in cmds:
        rc, js, out, err = ctl_json(ff, *args)
        ok(rc == 0 and isinstance(js, dict) and len(out.splitlines()) == 1,
           "%s --json: one JSON object" % " ".join(args[:2]),
           "rc %d out %r err %r" % (rc, out, err))
    rc, js, out, err = ctl_json(ff, "token", "click", "--tenant", tid,
                                "--campaign", camp, "--contact", "2",
                                "--link", "0")
    ok(rc == 0 and js["path"] == "/c/" + js["token"],
       "token click --json: the token and its path", out)
    rc, v, out, err = ctl_json(ff, "token", "verify", "--token", js["token"])
    ok(rc == 0 and v == {"kind": "click", "tenant": int(tid),
                         "campaign": int(camp), "contact": 2, "link": 0},
       "token verify --json: its fields", out + err)
    rc, js, out, err = ctl_json(ff, "check")
    ok(js == {"config": ff.conf, "ok": True, "token_secrets": 1},
       "check --json: the file and its secrets", out)


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN)
    run(test_usage, ff)
    t = run(test_tenant, ff, redis)
    if t:
        tid, key, prefix = t
        key = run(test_keys, ff, tid, key, prefix) or key
        c = run(setup_campaign, ff, redis, tid, key)
        if c:
            emails, ids, lid, camp, draft = c
            run(test_campaign, ff, tid, key, camp, draft)
            run(test_export, ff, redis, tid, key, emails[0])
            run(test_erase, ff, redis, tid, key, emails, ids, camp)
            run(test_json_everywhere, ff, tid, camp)
    run(test_deleting, ff, redis)
    done()


if __name__ == "__main__":
    main()
