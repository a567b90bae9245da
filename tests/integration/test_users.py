#!/usr/bin/python3
"""
test_users.py: the marketer's logins (API.md, "Users and sessions") on a
real fanfared and a real Redis (or a Redis Cluster: FF_TEST_REDIS=cluster).

  1. users: owner, marketer and viewer created with the tenant key; a
     short password 422 weak_password, a bad role 422 invalid_role, an
     email taken (in this tenant or another) 409 email_taken; the stored
     hash is argon2id ($argon2id$), GET /v1/users shows no hash;
  2. POST /v1/session: the cookie is HttpOnly, SameSite=Strict, Path=/
     (no Secure on http); a session reads; a POST without X-CSRF-Token
     is 403 csrf_required, with it the call goes through; a new session
     id at each login (no fixation);
  3. roles: a viewer may read but not launch a campaign (403
     forbidden_role, with a good CSRF token); a marketer may write lists
     but not manage users, domains or the relay;
  4. logout: 204, and the same cookie is then 401 (its key is gone);
     a deleted user's session is 401 at once; a tenant being deleted:
     its sessions 401, its logins 401 as an unknown email;
  5. wrong password 401 invalid_credentials, an unknown email the same
     body in a similar time (both printed); the 6th wrong password in a
     row for one account 429, even with the right one; failures from one
     client over many accounts 429 too;
  6. TOTP: a secret given once (otpauth URI), confirmed by a code this
     test computes (RFC 6238 with Python's hmac); then a login needs the
     code: none 401 totp_required, a wrong one 401 invalid_totp, a good
     one 200, the same code again 401 (no replay);
  7. expiry: a fanfared with session_lifetime 3s and session_idle 1s: a
     session used every 0.4 s lives on past 1 s but is 401 after 3 s; an
     unused one is 401 after 1.3 s;
  8. the audit stream has the logins, failures, logouts, user creation
     and deletion with the user ids; no password appears in any answer,
     in fanfared's log or in Redis.
"""
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, call, diag, done, must, new_campaign,
                     new_list, new_template, new_tenant, ok, run,
                     session_call)

PASSWORDS = {
    "owner": "owner-pass-Zq7#kd1",
    "marketer": "market-pass-Jx3!vw9",
    "viewer": "viewer-pass-Pk5$ta2",
}
ADMIN = "admin-" + "k" * 40
answers = []        # every body the API gave, for the leak check


def api(ff, method, path, key=None, body=None, cookie=None, csrf=None):
    """session_call(), every answer kept for the leak check."""
    st, js, hdrs, out = session_call(ff, method, path, key, body, cookie,
                                     csrf)
    answers.append(out + json.dumps(hdrs).encode())
    return st, js, hdrs, out


def login(ff, email, password, totp=None):
    body = {"email": email, "password": password}
    if totp is not None:
        body["totp"] = totp
    return api(ff, "POST", "/v1/session", body=body)


def cookie_of(hdrs):
    """'fanfare_session=...' of a Set-Cookie header, and its attributes."""
    sc = hdrs.get("set-cookie", "")
    parts = [p.strip() for p in sc.split(";")]
    return parts[0], parts[1:]


def totp_code(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    n = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%06d" % (n % 1000000)


def session(ff, email, password):
    st, js, hdrs, raw = login(ff, email, password)
    if st != 200:
        raise AssertionError("login %s: %d %s" % (email, st, raw[:300]))
    return cookie_of(hdrs)[0], js["csrf_token"], js


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN)
    tid, key = new_tenant(ff, "acme")
    tid2, key2 = new_tenant(ff, "other")
    emails = {r: "%s@acme.test" % r for r in PASSWORDS}
    ids = {}

    # 1. users
    for role, pw in PASSWORDS.items():
        st, js, _, raw = api(ff, "POST", "/v1/users", key,
                             {"email": emails[role], "password": pw,
                              "role": role})
        ok(st == 201 and js and js.get("id"), "POST /v1/users %s: 201" % role,
           raw[:200])
        ids[role] = js["id"]
    st, js, _, _ = api(ff, "POST", "/v1/users", key,
                       {"email": "x@acme.test", "password": "short",
                        "role": "viewer"})
    ok(st == 422 and js["error"]["code"] == "weak_password",
       "a 5-byte password: 422 weak_password")
    st, js, _, _ = api(ff, "POST", "/v1/users", key,
                       {"email": "x@acme.test", "password": "l" * 1025,
                        "role": "viewer"})
    ok(st == 422 and js["error"]["code"] == "weak_password",
       "a 1025-byte password: 422 weak_password")
    st, js, _, _ = api(ff, "POST", "/v1/users", key,
                       {"email": "x@acme.test", "password": "long enough pw",
                        "role": "admin"})
    ok(st == 422 and js["error"]["code"] == "invalid_role",
       "role admin: 422 invalid_role")
    st, js, _, _ = api(ff, "POST", "/v1/users", key2,
                       {"email": "Owner@ACME.test", "password": "another pw 1",
                        "role": "owner"})
    ok(st == 409 and js["error"]["code"] == "email_taken",
       "the owner's email (other case) in another tenant: 409 email_taken")
    st, js, _, raw = api(ff, "GET", "/v1/users", key)
    ok(st == 200 and sorted(u["role"] for u in js["items"]) ==
       ["marketer", "owner", "viewer"] and
       all("hash" not in u for u in js["items"]),
       "GET /v1/users: the three, no hash", raw[:300])
    h = redis.cmd("HGET", "{t:%s}:user:%s" % (tid, ids["owner"]), "hash")
    h = h.decode() if isinstance(h, bytes) else h
    ok(h is not None and h.startswith("$argon2id$"),
       "the stored hash is argon2id", h)
    st, js, _, _ = api(ff, "GET", "/v1/users")
    ok(st == 401, "GET /v1/users with no key and no cookie: 401")

    # 2. sessions, cookie flags, CSRF
    st, js, hdrs, raw = login(ff, emails["owner"], PASSWORDS["owner"])
    ok(st == 200 and js["role"] == "owner" and js["user"] == ids["owner"]
       and js["tenant"] == tid and len(js["csrf_token"]) == 32,
       "POST /v1/session: 200 user, tenant, role, csrf_token", raw[:300])
    ocookie, attrs = cookie_of(hdrs)
    ok(ocookie.startswith("fanfare_session=%s." % tid) and
       "HttpOnly" in attrs and "SameSite=Strict" in attrs and
       "Path=/" in attrs and "Secure" not in attrs,
       "the cookie: HttpOnly; SameSite=Strict; Path=/ (no Secure on http)",
       hdrs.get("set-cookie"))
    ocsrf = js["csrf_token"]
    st2, js2, hdrs2, _ = login(ff, emails["owner"], PASSWORDS["owner"])
    ok(st2 == 200 and cookie_of(hdrs2)[0] != ocookie and
       js2["csrf_token"] != ocsrf,
       "a second login: a new session id and CSRF token (no fixation)")
    st, js, _, _ = api(ff, "GET", "/v1/users", cookie=ocookie)
    ok(st == 200 and len(js["items"]) == 3, "the owner's session reads")
    st, js, _, _ = api(ff, "POST", "/v1/lists", body={"name": "A"},
                       cookie=ocookie)
    ok(st == 403 and js["error"]["code"] == "csrf_required",
       "a POST on a session without X-CSRF-Token: 403 csrf_required")
    st, js, _, _ = api(ff, "POST", "/v1/lists", body={"name": "A"},
                       cookie=ocookie, csrf="0" * 32)
    ok(st == 403 and js["error"]["code"] == "csrf_required",
       "with a wrong X-CSRF-Token: 403")
    st, js, _, _ = api(ff, "POST", "/v1/lists", body={"name": "A"},
                       cookie=ocookie, csrf=ocsrf)
    ok(st == 201, "with the session's X-CSRF-Token: 201")
    st, js, _, _ = api(ff, "GET", "/v1/users",
                       cookie="fanfare_session=%s.%s" % (tid, "ab" * 32))
    ok(st == 401, "a made-up session: 401")

    # 3. roles
    must("contacts", call(ff, "POST", "/v1/contacts", key,
                          [{"email": "a@example.org"}]))
    lid = new_list(ff, key, ["a@example.org"])
    tpl = new_template(ff, key, "Hi", "<p>hi</p>", "hi")
    cid = new_campaign(ff, key, tpl, lid)
    vcookie, vcsrf, _ = session(ff, emails["viewer"], PASSWORDS["viewer"])
    st, js, _, _ = api(ff, "GET", "/v1/campaigns/%s" % cid, cookie=vcookie)
    ok(st == 200, "a viewer reads a campaign")
    st, js, _, raw = api(ff, "POST", "/v1/campaigns/%s/launch" % cid,
                         cookie=vcookie, csrf=vcsrf)
    ok(st == 403 and js["error"]["code"] == "forbidden_role",
       "a viewer's launch with a good CSRF token: 403 forbidden_role",
       raw[:200])
    st, js, _, _ = api(ff, "GET", "/v1/campaigns/%s" % cid, key)
    ok(js["status"] == "draft", "... and the campaign is still a draft")
    st, js, _, _ = api(ff, "GET", "/v1/users", cookie=vcookie)
    ok(st == 403, "a viewer cannot list users")
    mcookie, mcsrf, _ = session(ff, emails["marketer"],
                                PASSWORDS["marketer"])
    st, _, _, _ = api(ff, "POST", "/v1/lists", body={"name": "M"},
                      cookie=mcookie, csrf=mcsrf)
    ok(st == 201, "a marketer creates a list")
    for method, path, body in (
            ("POST", "/v1/users", {"email": "n@acme.test",
                                   "password": "long enough pw",
                                   "role": "owner"}),
            ("GET", "/v1/users", None),
            ("DELETE", "/v1/users/%s" % ids["owner"], None),
            ("GET", "/v1/domains", None),
            ("POST", "/v1/domains", {"name": "acme.test"}),
            ("GET", "/v1/relay", None),
            ("PUT", "/v1/relay", {"host": "relay.acme.test", "port": 25})):
        st, js, _, _ = api(ff, method, path, body=body, cookie=mcookie,
                           csrf=mcsrf)
        ok(st == 403 and js["error"]["code"] == "forbidden_role",
           "a marketer's %s %s: 403 forbidden_role" % (method, path))
    st, js, _, _ = api(ff, "GET", "/v1/users", key)
    ok(len(js["items"]) == 3, "... and no user was added or deleted")

    # 4. logout, deletion
    st, _, hdrs, _ = api(ff, "DELETE", "/v1/session", cookie=ocookie)
    ok(st == 403, "DELETE /v1/session without X-CSRF-Token: 403")
    st, _, hdrs, _ = api(ff, "DELETE", "/v1/session", cookie=ocookie,
                         csrf=ocsrf)
    ok(st == 204 and "Max-Age=0" in hdrs.get("set-cookie", ""),
       "DELETE /v1/session: 204, the cookie cleared")
    st, _, _, _ = api(ff, "GET", "/v1/users", cookie=ocookie)
    ok(st == 401, "the session after logout: 401")
    left = [k for k in redis.keys("{t:%s}:sess:*" % tid)]
    ok(len(left) == 3, "three sessions left in Redis (owner's second, "
       "viewer, marketer)", left)
    st, _, _, _ = api(ff, "DELETE", "/v1/users/%s" % ids["viewer"], key)
    ok(st == 204, "DELETE /v1/users/viewer: 204")
    st, _, _, _ = api(ff, "GET", "/v1/campaigns/%s" % cid, cookie=vcookie)
    ok(st == 401, "the deleted viewer's session: 401 at once")
    st, js, _, _ = login(ff, emails["viewer"], PASSWORDS["viewer"])
    ok(st == 401, "the deleted viewer cannot log in")
    st, js, _, _ = api(ff, "DELETE", "/v1/users/%s" % ids["viewer"], key)
    ok(st == 404, "DELETE again: 404")
    st, js, _, _ = api(ff, "POST", "/v1/users", key2,
                       {"email": emails["viewer"], "password": "new viewer pw",
                        "role": "viewer"})
    ok(st == 201, "the deleted user's email is free again (other tenant)")

    # 4b. a tenant being deleted: its sessions and logins stop, as its
    # keys do
    st, js, _, _ = api(ff, "POST", "/v1/users", key2,
                       {"email": "gone@other.test", "password": "gone tenant 1",
                        "role": "owner"})
    gcookie, gcsrf, _ = session(ff, "gone@other.test", "gone tenant 1")
    st, _, _, _ = api(ff, "GET", "/v1/users", cookie=gcookie)
    ok(st == 200, "tenant 2's owner reads")
    must("DELETE tenant", call(ff, "DELETE", "/v1/tenants/%s" % tid2,
                               ADMIN), 202)
    st, _, _, _ = api(ff, "GET", "/v1/users", cookie=gcookie)
    ok(st == 401, "a session of a tenant being deleted: 401")
    st, js, _, raw = login(ff, "gone@other.test", "gone tenant 1")
    ok(st == 401 and js["error"]["code"] == "invalid_credentials",
       "a login to a tenant being deleted: 401 as an unknown email", raw)

    # 5. wrong password, unknown email, throttling
    t0 = time.monotonic()
    st1, js1, _, raw1 = login(ff, emails["marketer"], "wrong password 1")
    t1 = time.monotonic()
    st2, js2, _, raw2 = login(ff, "nobody@acme.test", "wrong password 1")
    t2 = time.monotonic()
    ok(st1 == 401 and js1["error"]["code"] == "invalid_credentials",
       "a wrong password: 401 invalid_credentials")
    ok(st2 == 401 and raw1 == raw2,
       "an unknown email: 401 with the same body", (raw1, raw2))
    diag("wrong password %.0f ms, unknown email %.0f ms"
         % ((t1 - t0) * 1000, (t2 - t1) * 1000))
    ok((t2 - t1) > (t1 - t0) / 4,
       "an unknown email takes about as long (a dummy hash is verified)")
    st, js, _, _ = api(ff, "POST", "/v1/users", key,
                       {"email": "brute@acme.test", "password": "brute force 1",
                        "role": "viewer"})
    seen = []
    for i in range(5):
        st, js, _, _ = login(ff, "brute@acme.test", "not it %d" % i)
        seen.append(st)
    st, js, hdrs, _ = login(ff, "brute@acme.test", "not it 6")
    ok(seen == [401] * 5 and st == 429 and
       js["error"]["code"] == "too_many_attempts" and "retry-after" in hdrs,
       "5 wrong passwords 401, the 6th 429 with Retry-After", seen + [st])
    st, _, _, _ = login(ff, "brute@acme.test", "brute force 1")
    ok(st == 429, "... and then even the right password: 429")
    st, _, _, _ = login(ff, emails["owner"], PASSWORDS["owner"])
    ok(st == 200, "another account from the same client still logs in")

    # 6. TOTP
    mid = ids["marketer"]
    st, js, _, raw = api(ff, "POST", "/v1/users/%s/totp" % mid,
                         cookie=mcookie, csrf=mcsrf)
    ok(st == 200 and js["otpauth_uri"].startswith("otpauth://totp/") and
       "secret=" + js["secret"] in js["otpauth_uri"],
       "POST /v1/users/M/totp: a secret and its otpauth URI", raw[:300])
    secret = js["secret"]
    st, js, _, _ = api(ff, "POST", "/v1/users/%s/totp" % mid,
                       body={"code": "000000" if totp_code(
                           secret, int(time.time()) // 30) != "000000"
                           else "111111"}, cookie=mcookie, csrf=mcsrf)
    ok(st == 422 and js["error"]["code"] == "invalid_code",
       "a wrong confirmation code: 422 invalid_code")
    st, js, _, raw = login(ff, emails["marketer"], PASSWORDS["marketer"])
    ok(st == 200, "not confirmed yet: a login needs no code")
    st, js, _, raw = api(ff, "POST", "/v1/users/%s/totp" % mid,
                         body={"code": totp_code(secret,
                                                 int(time.time()) // 30)},
                         cookie=mcookie, csrf=mcsrf)
    ok(st == 200 and js == {"totp": True}, "confirmed by the current code",
       raw[:200])
    st, js, _, _ = login(ff, emails["marketer"], PASSWORDS["marketer"])
    ok(st == 401 and js["error"]["code"] == "totp_required",
       "then a login without a code: 401 totp_required")
    st, js, _, _ = login(ff, emails["marketer"], PASSWORDS["marketer"],
                         totp="123456" if totp_code(
                             secret, int(time.time()) // 30 + 1) != "123456"
                         else "654321")
    ok(st == 401 and js["error"]["code"] == "invalid_totp",
       "a wrong code: 401 invalid_totp")
    # The next step's code: the confirmation used this step's.
    code = totp_code(secret, int(time.time()) // 30 + 1)
    st, js, _, raw = login(ff, emails["marketer"], PASSWORDS["marketer"],
                           totp=code)
    ok(st == 200 and js["role"] == "marketer", "the right code: 200",
       raw[:200])
    st, js, _, _ = login(ff, emails["marketer"], PASSWORDS["marketer"],
                         totp=code)
    ok(st == 401, "the same code again: 401 (no replay)")
    st, js, _, _ = api(ff, "GET", "/v1/users", key)
    ok([u["totp"] for u in js["items"] if u["id"] == mid] == [True],
       "GET /v1/users shows totp on")

    # 8. the audit stream
    recs = redis.cmd("XRANGE", "{t:%s}:audit" % tid, "-", "+")
    got = []
    for _, fields in recs:
        f = [x.decode() if isinstance(x, bytes) else x for x in fields]
        d = dict(zip(f[0::2], f[1::2]))
        got.append((d.get("action"), d.get("user")))
    for want in (("user_create", ids["owner"]), ("login", ids["owner"]),
                 ("login_failed", ids["marketer"]),
                 ("logout", ids["owner"]), ("user_delete", ids["viewer"]),
                 ("totp_enable", mid)):
        ok(want in got, "audit: %s of user %s" % want, got[-12:])

    st, js, _, raw = api(ff, "GET", "/v1/audit?limit=1000", key)
    acts = [(x.get("action"), x.get("user")) for x in (js or {}).get(
        "items", [])]
    ok(st == 200 and acts and acts[0] == got[-1] and
       sorted(acts) == sorted(got) and
       all(x["time"].endswith("Z") for x in js["items"]),
       "GET /v1/audit: the same records, newest first, RFC 3339 times",
       raw[:300])
    st, js, _, _ = api(ff, "GET", "/v1/audit?limit=1", key)
    ok(st == 200 and len(js["items"]) == 1, "GET /v1/audit?limit=1: one")
    st, js, _, _ = api(ff, "GET", "/v1/audit?limit=0", key)
    ok(st == 400, "GET /v1/audit?limit=0: 400")
    st, js, _, _ = api(ff, "GET", "/v1/audit", cookie=mcookie)
    ok(st == 403 and js["error"]["code"] == "forbidden_role",
       "a marketer cannot read the audit log")

    # 5b. one client, many accounts: 429 after 20 failures in all
    st429 = None
    for i in range(30):
        st, _, _, _ = login(ff, "stranger%d@acme.test" % i, "some password")
        if st == 429:
            st429 = i
            break
    ok(st429 is not None and st429 <= 20,
       "failures over many accounts from one client: 429 (after %s more)"
       % st429)

    # 7. expiry: a second node with a 3 s lifetime and a 1 s idle
    # expiry, on the same Redis
    ff2 = Fanfare(redis=redis, admin_key=ADMIN, session_lifetime="3s",
                  session_idle="1s")
    st, js, hdrs, _ = login(ff2, emails["owner"], PASSWORDS["owner"])
    c2 = cookie_of(hdrs)[0]
    ttl = redis.cmd("PTTL", "{t:%s}:sess:%s" % (tid, hashlib.sha256(
        c2.split(".", 1)[1].encode()).hexdigest()))
    ok(0 < ttl <= 1000, "session_idle 1s: the key expires within 1 s", ttl)
    t0 = time.monotonic()
    alive = []
    while time.monotonic() - t0 < 2.0:
        time.sleep(0.4)
        alive.append(api(ff2, "GET", "/v1/users", cookie=c2)[0])
    ok(alive and all(s == 200 for s in alive),
       "a session used every 0.4 s outlives its 1 s idle expiry", alive)
    while time.monotonic() - t0 < 3.3:
        time.sleep(0.4)
        last = api(ff2, "GET", "/v1/users", cookie=c2)[0]
    ok(last == 401, "... and is 401 after its 3 s lifetime though in use")
    st, js, hdrs, _ = login(ff2, emails["owner"], PASSWORDS["owner"])
    c3 = cookie_of(hdrs)[0]
    st, _, _, _ = api(ff2, "GET", "/v1/users", cookie=c3)
    ok(st == 200, "a new session reads")
    time.sleep(1.3)
    st, _, _, _ = api(ff2, "GET", "/v1/users", cookie=c3)
    ok(st == 401, "... and is 401 after 1.3 s unused (idle expiry)")

    # 8b. no password anywhere
    blob = b"".join(answers)
    logs = b""
    for f in (ff, ff2):
        with open(f.log, "rb") as fh:
            logs += fh.read()
    dump = b""
    for k in redis.keys("*"):
        kk = k.decode() if isinstance(k, bytes) else k
        t = redis.cmd("TYPE", kk)
        t = t.decode() if isinstance(t, bytes) else t
        if t == "hash":
            dump += repr(redis.cmd("HGETALL", kk)).encode()
        elif t == "string":
            dump += repr(redis.cmd("GET", kk)).encode()
        elif t == "stream":
            dump += repr(redis.cmd("XRANGE", kk, "-", "+")).encode()
    for role, pw in PASSWORDS.items():
        ok(pw.encode() not in blob and pw.encode() not in logs and
           pw.encode() not in dump,
           "the %s's password is in no answer, log line or Redis value"
           % role)


run(main)
done()
