#!/usr/bin/python3
"""
test_relay.py: a tenant's own relay (API.md part 2, PUT /v1/relay)
against real SMTP servers started here (contrib/smtp-capture.py, Debian's
python3-aiosmtpd): the node's relay, tenant A's relay (STARTTLS with a
certificate of a private CA that fanfared trusts through smtp_ca_file,
AUTH that takes only A's password), tenant B's relay (plain), and a relay
whose certificate is of another CA.

  1. validation: 404 before any PUT; unknown fields 400; bad host, port,
     starttls, lone username or password, credentials without STARTTLS
     required: 422 with their codes; no key: 401;
  2. PUT answers the relay with "password_set" and never the password;
     a PUT without a password keeps the stored one for the same login;
  3. three tenants' campaigns at once: A's mail arrives only at A's relay,
     over TLS, after AUTH as A's login with A's password (the relay takes
     no other); B's only at B's; C (no relay of its own) only at the
     node's relay;
  4. the password is in no API answer, not in the subject export, not in
     fanfared's log, not in any Redis value in clear (the relay key holds
     seal.c's "v1." text);
  5. tenant D's relay fails (its server stopped: nobody listens on the
     port; then a server that answers 451 to MAIL FROM): B's campaign
     takes about as long as without the failure (both times printed);
     D's mail stays queued (nothing sent, nothing failed), the failure is
     logged with D's id and the reason, at most once per minute; once
     D's relay is back D's mail is delivered there.  D's relay is plain
     SMTP: aiosmtpd's switch to TLS stalls a session now and then (30 s,
     the SMTP timeout; test_delivery.py has seen it too), which would
     blur these timings;
  6. a tenant relay whose certificate is of another CA: nothing sent,
     "certificate is not trusted" in the log with the tenant's id;
  7. DELETE: 204, then 404, and B's next campaign goes to the node's
     relay; a tenant purge removes the relay key.
"""
import atexit
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Fanfare, Redis, Relay, add_contacts, call, campaign,
                     diag, done, free_port, launch, must, new_campaign,
                     new_list, new_template, new_tenant, ok, run, tmpdir,
                     wait_done, wait_for)
import harness

smtp_capture = harness.smtp_capture()

ADMIN = "admin-" + "r" * 40
PW_A = "Pw-of-tenant-A-" + os.urandom(6).hex()
PW_F = "Pw-of-tenant-F-" + os.urandom(6).hex()
LOGIN_A = "tenant-a-login"

answers = []        # every raw API answer, to look for the password


def api(ff, method, path, key=None, body=None):
    st, js, raw = call(ff, method, path, key, body)
    answers.append(raw)
    return st, js, raw


def raw_put(ff, key, data):
    """PUT /v1/relay with a body as given (bytes)."""
    st, _, out = ff.api("PUT", "/v1/relay", headers={
        "Content-Type": "application/json",
        "Authorization": "Bearer " + key}, body=data, timeout=30)
    answers.append(out)
    try:
        return st, json.loads(out)
    except ValueError:
        return st, None


def make_cert(d, cn="127.0.0.1"):
    """A CA and a relay certificate for cn signed by it (openssl(1)):
    (ca.pem, cert.pem, key.pem), as test_delivery.py makes them."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr = os.path.join(d, "relay.key"), os.path.join(d, "relay.csr")
    cert, ext = os.path.join(d, "relay.pem"), os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s,IP:%s\n" % (cn, cn))
    q = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
                    "-subj", "/CN=Fanfare test CA"], **q)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn], **q)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca,
                    "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
                    "-days", "2", "-extfile", ext], **q)
    return ca, cert, key


class Capture:
    """smtp-capture.py on a fixed port, stopped and started again."""

    def __init__(self, args=()):
        self.port = free_port()
        self.parent = tmpdir("ff-relay-")
        self.dir = os.path.join(self.parent, "cap")
        os.makedirs(self.dir)
        self.faults = os.path.join(self.parent, "faults.json")
        smtp_capture.write_faults(self.faults, None)
        self.args = list(args)
        self.srv = None
        atexit.register(self.stop)

    def start(self):
        self.srv = smtp_capture.CaptureServer(
            self.dir, faults=self.faults,
            listen="127.0.0.1:%d" % self.port, args=self.args)
        return self

    def stop(self):
        if self.srv is not None:
            self.srv.stop()
            self.srv = None

    def set_faults(self, faults):
        smtp_capture.write_faults(self.faults, faults)

    def accepted(self):
        return [e for e in smtp_capture.read_log(self.dir) if "seq" in e]

    def rcpts(self):
        return {r.lower() for e in self.accepted() for r in e["rcpt_tos"]}


def send(ff, key, label, n):
    """A campaign of n new contacts, launched: (cid, set of emails)."""
    emails = ["%s%03d@%s.test" % (label, i, label) for i in range(n)]
    add_contacts(ff, key, [{"email": a} for a in emails])
    lid = new_list(ff, key, emails, name=label)
    tpl = new_template(ff, key, "Hi", "<p>Hi</p>", "Hi")
    cid = new_campaign(ff, key, tpl, lid)
    launch(ff, key, cid)
    return cid, set(emails)


def log_text(ff):
    with open(ff.log, "rb") as f:
        return f.read().decode("utf-8", "replace")


# ---------------------------------------------------------------- tests


def test_validation(ff, key, port):
    st, js, _ = api(ff, "GET", "/v1/relay", key)
    ok(st == 404 and js and js.get("error", {}).get("code") == "not_found",
       "GET before any PUT: 404", "%d %r" % (st, js))
    good = {"host": "127.0.0.1", "port": port, "starttls": "off"}
    cases = [
        ("an unknown field", dict(good, tls="yes"), 400, "unknown_field"),
        ("a host with a space", dict(good, host="smtp example"), 422,
         "invalid_host"),
        ("a host with a port", dict(good, host="smtp.example:25"), 422,
         "invalid_host"),
        ("an IPv6 literal", dict(good, host="::1"), 422, "invalid_host"),
        ("no host", {"port": port, "starttls": "off"}, 422, "invalid_host"),
        ("port 0", dict(good, port=0), 422, "invalid_port"),
        ("port 65536", dict(good, port=65536), 422, "invalid_port"),
        ("port as a string", dict(good, port="25"), 422, "invalid_port"),
        ("starttls yes", dict(good, starttls="yes"), 422,
         "invalid_starttls"),
        ("a username alone", dict(good, starttls="required", username="u"),
         422, "incomplete_credentials"),
        ("a password alone", dict(good, starttls="required", password="p"),
         422, "incomplete_credentials"),
        ("a password over plain SMTP", dict(good, username="u",
                                            password="p"),
         422, "credentials_need_tls"),
        ("STARTTLS optional with a password",
         dict(good, starttls="optional", username="u", password="p"),
         422, "credentials_need_tls"),
        ("a username with a line break",
         dict(good, starttls="required", username="u\r\nRSET",
              password="p"), 422, "invalid_username"),
        ("a password of 256 bytes",
         dict(good, starttls="required", username="u", password="x" * 256),
         422, "invalid_password"),
        ("a numeric password", dict(good, starttls="required", username="u",
                                    password=1234), 422, "invalid_password"),
    ]
    bad = []
    for what, body, want, code in cases:
        st, js, raw = api(ff, "PUT", "/v1/relay", key, body)
        got = (js or {}).get("error", {}).get("code")
        if st != want or got != code:
            bad.append("%s: %d %s" % (what, st, raw[:200]))
    ok(not bad, "%d bad relays refused with their codes" % len(cases),
       "\n".join(bad))
    st, js = raw_put(ff, key, b"[1, 2]")
    st2, js2 = raw_put(ff, key, b'{"host": "x.example", "port": 25, '
                       b'"starttls": "off", "password": "a\\u0000b"}')
    ok(st == 400 and st2 in (400, 422),
       "a body that is no object: 400; a NUL in a string: refused",
       "%d %r / %d %r" % (st, js, st2, js2))
    st = api(ff, "PUT", "/v1/relay", None, good)[0]
    ok(st == 401, "no API key: 401", "%d" % st)
    st = api(ff, "GET", "/v1/relay", key)[0]
    ok(st == 404, "nothing was stored by the refusals", "%d" % st)


def test_put(ff, key_a, key_b, cap_a, cap_b):
    body = {"host": "127.0.0.1", "port": cap_a.port, "starttls": "required",
            "username": LOGIN_A, "password": PW_A}
    st, js, raw = api(ff, "PUT", "/v1/relay", key_a, body)
    ok(st == 200 and js and js.get("password_set") is True and
       js.get("username") == LOGIN_A and js.get("port") == cap_a.port and
       js.get("starttls") == "required" and "password" not in js and
       PW_A.encode() not in raw,
       "PUT: 200, the relay with password_set, never the password",
       "%d %s" % (st, raw[:300]))
    # Again without the password: the same login keeps it (the mail
    # below authenticates only with it).
    body.pop("password")
    st, js, raw = api(ff, "PUT", "/v1/relay", key_a, body)
    st2, js2, _ = api(ff, "GET", "/v1/relay", key_a)
    ok(st == 200 and js2 and js2.get("password_set") is True and
       js2.get("host") == "127.0.0.1",
       "PUT without a password for the same login keeps it; GET shows it",
       "%d %s %r" % (st, raw[:200], js2))
    st, js, _ = api(ff, "PUT", "/v1/relay", key_a,
                    dict(body, username="someone-else"))
    ok(st == 422 and js["error"]["code"] == "incomplete_credentials",
       "another login without a password: 422 incomplete_credentials",
       "%d %r" % (st, js))
    st, js, raw = api(ff, "PUT", "/v1/relay", key_b,
                      {"host": "127.0.0.1", "port": cap_b.port,
                       "starttls": "off"})
    ok(st == 200 and js.get("password_set") is False and
       "username" not in js, "tenant B: a plain relay, no login",
       "%d %s" % (st, raw[:200]))


def test_isolation(ff, keys, caps, node):
    """Each tenant's mail at its own relay, C's at the node's."""
    n = 6
    sent = {}
    for label, key in keys.items():
        sent[label] = send(ff, key, "iso" + label.lower(), n)
    res = {label: wait_done(ff, keys[label], sent[label][0], timeout=150)
           for label in keys}
    got = {"A": caps["A"].rcpts(), "B": caps["B"].rcpts(),
           "C": {r.lower() for e in node.accepted() for r in e["rcpt_tos"]}}
    for label in keys:
        want = sent[label][1]
        others = set().union(*(sent[o][1] for o in keys if o != label))
        ok(res[label].get("status") == "done" and want <= got[label] and
           not (others & got[label]),
           "tenant %s: its %d messages at its own relay%s, no other "
           "tenant's there" % (label, n, " (the node's)" if label == "C"
                               else ""),
           "%r\n%r" % (res[label], sorted(got[label])))
    a = [e for e in caps["A"].accepted()
         if {r.lower() for r in e["rcpt_tos"]} & sent["A"][1]]
    ok(a and all(e["tls"] for e in a) and
       all(e.get("auth_user") == LOGIN_A for e in a),
       "tenant A's relay: every message over TLS (private CA), after "
       "AUTH as A's login with A's password", repr(a[:2]))
    return sent["A"][1]


def test_no_password_in_clear(ff, redis, key_a, tid_a, a_email):
    pw = PW_A.encode()
    leaks = [raw[:100] for raw in answers if pw in raw]
    ok(answers and not leaks, "the password is in none of %d API answers"
       % len(answers), repr(leaks))
    st, _, raw = call(ff, "GET", "/v1/subjects/" + a_email, key_a)
    ok(st == 200 and pw not in raw and b"relay" not in raw.lower(),
       "nor in the subject export", "%d %s" % (st, raw[:200]))
    ok(PW_A not in log_text(ff) and PW_F not in log_text(ff),
       "nor in fanfared's log")
    dump = harness.dump_keys(redis, ("*",))
    blob = repr(dump)
    stored = redis.cmd("GET", "{t:%s}:relay" % tid_a)
    stored = json.loads(stored.decode() if isinstance(stored, bytes)
                        else stored)
    ok(PW_A not in blob and len(dump) > 10 and
       stored.get("password", "").startswith("v1.") and
       stored.get("username") == LOGIN_A,
       "nor in any of %d Redis keys: {t:A}:relay holds seal.c's v1. text"
       % len(dump), repr(stored)[:300])


def b_campaign_time(ff, key_b, cap_b, label, n):
    t0 = time.monotonic()
    cid, emails = send(ff, key_b, label, n)
    js = wait_done(ff, key_b, cid, timeout=120)
    dt = time.monotonic() - t0
    arrived = emails <= cap_b.rcpts()
    times = sorted(e["time"] for e in cap_b.accepted()
                   if {r.lower() for r in e["rcpt_tos"]} & emails)
    span = times[-1] - times[0] if times else 0
    diag("B's campaign %s: launch to done %.2f s, first to last message "
         "at its relay %.2f s" % (label, dt, span))
    return dt, js.get("status") == "done" and arrived


def fail_lines(ff, tid):
    return [ln for ln in log_text(ff).splitlines()
            if "tenant %s relay" % tid in ln]


def test_failing_relay(ff, key_d, tid_d, key_b, cap_d, cap_b):
    must("PUT D's relay", api(ff, "PUT", "/v1/relay", key_d, {
        "host": "127.0.0.1", "port": cap_d.port, "starttls": "off"}))
    n_b, n_d = 300, 60
    # The better of two: the first may pay for warming up.
    runs = [b_campaign_time(ff, key_b, cap_b, "base%d" % i, n_b)
            for i in range(2)]
    base = min(t for t, _ in runs)
    ok(all(good for _, good in runs), "B's campaign of %d without a "
       "failing relay: done in %.2f s (best of %s)"
       % (n_b, base, ", ".join("%.2f" % t for t, _ in runs)))

    # D's relay is down: nobody listens on its port.
    cap_d.stop()
    before = len(fail_lines(ff, tid_d))
    cid_d, emails_d = send(ff, key_d, "down", n_d)
    time.sleep(0.5)
    slow, slow_ok = b_campaign_time(ff, key_b, cap_b, "beside", n_b)
    diag("B's campaign of %d messages: %.2f s alone, %.2f s while D's "
         "relay refuses connections" % (n_b, base, slow))
    ok(slow_ok and slow <= 2 * base + 2.0,
       "B is not delayed by D's dead relay: %.2f s vs %.2f s (allowed "
       "2x + 2 s)" % (slow, base))
    time.sleep(1.5)
    js = campaign(ff, key_d, cid_d)
    p = js.get("progress", {})
    # Once a minute per tenant: a line of D's logged within the last
    # minute (an earlier failure, e.g. a stalled TLS session of the
    # first test) leaves none for this one.
    lines = fail_lines(ff, tid_d)
    ok(js.get("status") == "sending" and p.get("sent") == 0 and
       p.get("failed") == 0 and not (emails_d & cap_d.rcpts()),
       "D's mail stays queued while its relay is down: nothing sent, "
       "nothing failed", repr(js))
    new = lines[before:]
    ok(lines and len(new) <= 1 and all("stays queued" in ln and
                                       PW_A not in ln and PW_F not in ln for ln in lines),
       "the failure is logged with D's id and the reason, at most once a "
       "minute (%d line(s) in %.0f s of retries, %d in all)"
       % (len(new), slow + 2, len(lines)), "\n".join(lines))
    for ln in lines:
        diag("logged: %s" % ln.split("sender", 1)[-1])

    # D's relay is back on the same port: the queued mail goes there.
    cap_d.start()
    t0 = time.monotonic()
    js = wait_done(ff, key_d, cid_d, timeout=120)
    diag("D's %d queued messages delivered %.1f s after its relay came "
         "back" % (n_d, time.monotonic() - t0))
    ok(js.get("status") == "done" and emails_d <= cap_d.rcpts() and
       not (emails_d & cap_b.rcpts()),
       "D's relay back: D's queued mail is delivered there, not elsewhere",
       repr(js))

    # D's relay answers 451 to MAIL FROM.
    cap_d.set_faults({"tempfail_mail": True})
    cid_d, emails_d = send(ff, key_d, "mail451", n_d)
    time.sleep(0.5)
    slow, slow_ok = b_campaign_time(ff, key_b, cap_b, "beside451", n_b)
    diag("B's campaign of %d messages: %.2f s alone, %.2f s while D's "
         "relay answers 451 to MAIL" % (n_b, base, slow))
    ok(slow_ok and slow <= 2 * base + 2.0,
       "B is not delayed by D's relay answering 451: %.2f s vs %.2f s"
       % (slow, base))
    js = campaign(ff, key_d, cid_d)
    ok(js.get("status") == "sending" and
       js.get("progress", {}).get("sent") == 0 and
       js.get("progress", {}).get("failed") == 0,
       "D's mail stays queued while its relay answers 451 to MAIL",
       repr(js))
    cap_d.set_faults(None)
    js = wait_done(ff, key_d, cid_d, timeout=120)
    ok(js.get("status") == "done" and emails_d <= cap_d.rcpts(),
       "the 451s stop: D's mail is delivered at its relay", repr(js))


def test_untrusted(ff, redis, cap_f):
    tid, key = new_tenant(ff, "Untrusted")
    must("PUT relay", api(ff, "PUT", "/v1/relay", key, {
        "host": "127.0.0.1", "port": cap_f.port, "starttls": "required",
        "username": "f", "password": PW_F}))
    cid, emails = send(ff, key, "untrusted", 2)
    got = wait_for(lambda: [ln for ln in fail_lines(ff, tid)
                            if "certificate is not trusted" in ln],
                   timeout=10)
    js = campaign(ff, key, cid)
    ok(got and not cap_f.accepted() and
       js.get("progress", {}).get("sent") == 0,
       "a tenant relay with a certificate of another CA: nothing sent, "
       "'certificate is not trusted' logged with the tenant's id",
       "%r %r" % (got, js))
    # Stop it from retrying for the rest of the file.
    call(ff, "POST", "/v1/campaigns/%s/cancel" % cid, key)


def test_delete_and_purge(ff, redis, key_b, node, cap_b):
    st = api(ff, "DELETE", "/v1/relay", key_b)[0]
    st2 = api(ff, "GET", "/v1/relay", key_b)[0]
    ok(st == 204 and st2 == 404, "DELETE: 204, then GET 404",
       "%d %d" % (st, st2))
    cid, emails = send(ff, key_b, "afterdelete", 3)
    js = wait_done(ff, key_b, cid, timeout=60)
    at_node = {r.lower() for e in node.accepted() for r in e["rcpt_tos"]}
    ok(js.get("status") == "done" and emails <= at_node and
       not (emails & cap_b.rcpts()),
       "after DELETE, B's next campaign goes through the node's relay",
       repr(js))
    tid, key = new_tenant(ff, "Gone")
    must("PUT", api(ff, "PUT", "/v1/relay", key, {
        "host": "relay.gone.example", "port": 587, "starttls": "required",
        "username": "g", "password": "gone-secret"}))
    had = redis.keys("{t:%s}:relay" % tid)
    st = call(ff, "DELETE", "/v1/tenants/%s?now=true" % tid, ADMIN)[0]
    left = redis.keys("{t:%s}*" % tid)
    ok(len(had) == 1 and st == 202 and left == [],
       "a tenant purge removes its relay key", "%r %d %r" % (had, st, left))


def main():
    diag("redis: %s" % ("a cluster" if harness.CLUSTER else "one server"))
    d = tmpdir("ff-relay-tls-")
    ca, cert, key = make_cert(d)
    _, other_cert, other_key = make_cert(tmpdir("ff-relay-tls2-"))
    keydir = tmpdir("ff-datakey-")
    data_key = os.path.join(keydir, "data.key")
    with open(data_key, "wb") as f:
        f.write(os.urandom(48))
    os.chmod(data_key, 0o600)

    node = Relay().fresh()
    cap_a = Capture(["--tls-cert", cert, "--tls-key", key,
                     "--auth-password", PW_A]).start()
    cap_b = Capture().start()
    cap_f = Capture(["--tls-cert", other_cert, "--tls-key",
                     other_key]).start()
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders="2",
                 smtp_relay="127.0.0.1:%d" % node.port, smtp_starttls="off",
                 smtp_ca_file=ca, data_key_file=data_key,
                 retry_schedule="1s,2s,4s", retry_lifetime="1h")
    tid_a, key_a = new_tenant(ff, "A")
    tid_b, key_b = new_tenant(ff, "B")
    _, key_c = new_tenant(ff, "C")
    run(test_validation, ff, key_a, cap_a.port)
    run(test_put, ff, key_a, key_b, cap_a, cap_b)
    a_emails = run(test_isolation, ff, {"A": key_a, "B": key_b, "C": key_c},
                   {"A": cap_a, "B": cap_b}, node)
    # The failing relay is tenant D's, a plain one (see 5. above).
    tid_d, key_d = new_tenant(ff, "D")
    cap_d = Capture().start()
    run(test_failing_relay, ff, key_d, tid_d, key_b, cap_d, cap_b)
    run(test_untrusted, ff, redis, cap_f)
    run(test_no_password_in_clear, ff, redis, key_a, tid_a,
        sorted(a_emails)[0] if a_emails else "isoa000@isoa.test")
    run(test_delete_and_purge, ff, redis, key_b, node, cap_b)
    ff.stop()
    for c in (cap_a, cap_b, cap_d, cap_f):
        c.stop()
    node.close()
    done()


if __name__ == "__main__":
    main()
