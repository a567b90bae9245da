#!/usr/bin/python3
"""
test_import.py: POST /v1/contacts/import (CSV, streamed) and the API
listener's HTTP handling (api_http.c) on a real fanfared and redis-server:
column mapping, per-row rejections, special-category columns and values,
malformed files, keep-alive, pipelining, Expect: 100-continue, limits;
then 1,000,000 rows with fanfared's peak RSS measured before and after,
to show memory does not grow with the file.
"""
import http.client
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness
from harness import Fanfare, Redis, diag, done, ok, run, skip, tmpdir

ADMIN = "admin-" + "k" * 40


def post(ff, path, key, body, ctype="text/csv", headers=None):
    h = {"Content-Type": ctype}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    st, _, out = ff.api("POST", path, headers=h, body=body, timeout=300)
    try:
        return st, json.loads(out), out
    except ValueError:
        return st, None, out


def get(ff, path, key):
    st, _, out = ff.api("GET", path,
                        headers={"Authorization": "Bearer " + key})
    return st, json.loads(out) if out else None


def error_code(js):
    return isinstance(js, dict) and js.get("error", {}).get("code")


def new_tenant(ff):
    st, js, raw = post(ff, "/v1/tenants", ADMIN, b'{"name": "Imp"}',
                       "application/json")
    return js["id"], js["api_key"]


def test_columns(ff, key):
    csv = ("email,First_Name,religion,attributes.plan,city\r\n"
           "a@example.com,Ann,x,gold,Berlin\r\n"
           "B@Example.COM,\"Bob, \"\"Jr\"\"\",,silver,\"New York\"\r\n"
           "not-an-address,Z,,,\r\n"
           "c@example.com,only-two\r\n"
           "d@example.com,Dee,,,catholic church\r\n"
           "a@EXAMPLE.com,Annie,,,\r\n")
    st, js, raw = post(ff, "/v1/contacts/import", key, csv.encode())
    ok(st == 200 and js["rows"] == 6 and js["created"] == 3
       and js["updated"] == 1 and js["rejected_count"] == 2,
       "import: 6 rows, 3 created, 1 updated, 2 rejected", raw)
    codes = sorted((r["index"], r["error"]) for r in js.get("rejected", []))
    ok(codes == [(2, "invalid_email"), (3, "invalid_row")],
       "rejected rows by index and code", raw)
    ok(js.get("dropped_columns") == [{"column": "religion",
                                      "error": "special_category_attribute"}],
       "a special-category column is dropped and reported once", raw)
    st, c = get(ff, "/v1/contacts/b@example.com", key)
    ok(st == 200 and c["first_name"] == 'Bob, "Jr"'
       and c["attributes"] == {"plan": "silver", "city": "New York"}
       and c["status"] == "active",
       "quoted cells, attributes.NAME and plain columns", c)
    st, c = get(ff, "/v1/contacts/a@example.com", key)
    ok(st == 200 and c["first_name"] == "Annie"
       and "religion" not in json.dumps(c),
       "the later row updates; the dropped column is not stored", c)
    st, c = get(ff, "/v1/contacts/d@example.com", key)
    ok(st == 200 and c["status"] == "quarantined",
       "a special-category value quarantines the contact", c)
    # No trailing newline, a BOM-free single row, a Latin-1 byte.
    st, js, raw = post(ff, "/v1/contacts/import", key,
                       b"email,first_name\ne@example.com,Eve")
    ok(st == 200 and js["created"] == 1, "last row without newline", raw)
    st, js, raw = post(ff, "/v1/contacts/import", key,
                       b"email,first_name\nf@example.com,Fran\xe7ois\n")
    ok(st == 200 and js["rejected"] and
       js["rejected"][0]["error"] == "invalid_encoding",
       "a cell that is not UTF-8: row rejected", raw)


def test_bad_files(ff, key):
    cases = [
        (b"first_name\nAnn\n", 400, "invalid_csv", "no email column"),
        (b"email,email\na@x.example,b@x.example\n", 400, "invalid_csv",
         "a column twice"),
        (b"email\n\"open quote\n", 400, "invalid_csv", "unterminated quote"),
        (b"", 400, "invalid_csv", "empty body"),
    ]
    for body, status, code, what in cases:
        st, js, raw = post(ff, "/v1/contacts/import", key, body)
        ok(st == status and error_code(js) == code, "import, %s: %d %s"
           % (what, status, code), raw)
    st, js, raw = post(ff, "/v1/contacts/import", key, b"email\n",
                       "application/json")
    ok(st == 415 and error_code(js) == "unsupported_media_type",
       "import of JSON: 415", raw)
    st, js, raw = post(ff, "/v1/contacts/import", None, b"email\na@b.c\n")
    ok(st == 401 and error_code(js) == "unauthorized", "import, no key: 401",
       raw)
    st, js, raw = post(ff, "/v1/contacts/import", ADMIN, b"email\na@b.c\n")
    ok(st == 403, "import with the admin key: 403", raw)


def raw_api(ff, data, timeout=3.0):
    return ff.raw(data, port=ff.api_port, timeout=timeout)


def test_transport(ff, key):
    auth = ("Authorization: Bearer %s\r\n" % key).encode()
    # Two requests in one write: two answers, in order.
    out = raw_api(ff, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /v1/contacts/b@example.com HTTP/1.1\r\nHost: x\r\n"
                  + auth + b"Connection: close\r\n\r\n")
    ok(out.count(b"HTTP/1.1 200 OK") == 2 and b'"status":"ok"' in out
       and out.lower().index(b'"status":"ok"') <
       out.lower().index(b"b@example.com")
       and ff.raw_eof, "pipelined requests: both answered, in order",
       out[:400])
    # Keep-alive: several requests on one connection.
    c = http.client.HTTPConnection("127.0.0.1", ff.api_port, timeout=5)
    seen = []
    for i in range(3):
        c.request("GET", "/v1/contacts/b@example.com",
                  headers={"Authorization": "Bearer " + key})
        r = c.getresponse()
        seen.append((r.status, r.getheader("Connection")))
        r.read()
    c.close()
    ok(seen == [(200, None)] * 3, "keep-alive: three answers on one "
       "connection", seen)
    out = raw_api(ff, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n"
                  b"Connection: close\r\n\r\n")
    ok(out.startswith(b"HTTP/1.1 200") and out.endswith(b"\r\n\r\n"),
       "HEAD: head only", out)
    out = raw_api(ff, b"BREW /healthz HTTP/1.1\r\n\r\n")
    ok(out.startswith(b"HTTP/1.1 405") and b"method_not_allowed" in out
       and ff.raw_eof, "unknown method: 405 JSON and close", out)
    out = raw_api(ff, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 20000
                  + b"\r\n\r\n")
    ok(out.startswith(b"HTTP/1.1 431") and b"headers_too_large" in out,
       "a 20 KB header: 431", out[:200])
    out = raw_api(ff, b"GET /he\x01lthz HTTP/1.1\r\n\r\n")
    ok(out.startswith(b"HTTP/1.1 400") and b"bad_request" in out,
       "a control byte in the target: 400", out[:200])
    out = raw_api(ff, b"POST /v1/contacts/import HTTP/1.1\r\n" + auth
                  + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    ok(out.startswith(b"HTTP/1.1 411") and b"length_required" in out,
       "Transfer-Encoding: 411 length_required", out[:200])
    # Announced too big: 413 at once, without waiting for the body.
    t0 = time.monotonic()
    out = raw_api(ff, b"POST /v1/contacts HTTP/1.1\r\n" + auth
                  + b"Content-Type: application/json\r\n"
                  b"Content-Length: 999999999\r\n\r\n[", timeout=5)
    ok(out.startswith(b"HTTP/1.1 413") and b"body_too_large" in out
       and b"Connection: close" in out and time.monotonic() - t0 < 4.5,
       "a Content-Length over api_max_body: 413 before the body", out[:300])
    # Expect: 100-continue: the interim answer, then the real one.
    s = socket.create_connection(("127.0.0.1", ff.api_port), timeout=5)
    body = b"email\nexpect@example.com\n"
    s.sendall(b"POST /v1/contacts/import HTTP/1.1\r\nHost: x\r\n" + auth +
              b"Content-Type: text/csv\r\nExpect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    first = s.recv(4096)
    s.sendall(body)
    rest = b""
    while b'"rows"' not in rest:
        chunk = s.recv(4096)
        if not chunk:
            break
        rest += chunk
    s.close()
    ok(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
       and b"HTTP/1.1 200" in first + rest and b'"created":1' in rest,
       "Expect: 100-continue: 100, then 200", first + rest)
    # A client that goes away mid-upload: the server carries on.
    s = socket.create_connection(("127.0.0.1", ff.api_port), timeout=5)
    s.sendall(b"POST /v1/contacts/import HTTP/1.1\r\nHost: x\r\n" + auth +
              b"Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\n"
              b"email\ngone@example.com\n")
    s.close()
    time.sleep(0.2)
    st, _, _ = ff.api("GET", "/healthz")
    ok(st == 200, "a client that left mid-upload: server still up")


def vm(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])   # kB
    return -1


def write_csv(path, rows, start=0):
    with open(path, "w") as f:
        f.write("email,first_name,last_name,attributes.plan\n")
        for i in range(start, start + rows):
            f.write("user%d@bulk.example,First%d,Last%d,p%d\n"
                    % (i, i, i, i % 7))
    return os.path.getsize(path)


def import_file(ff, key, path):
    c = http.client.HTTPConnection("127.0.0.1", ff.api_port, timeout=600)
    with open(path, "rb") as f:
        c.request("POST", "/v1/contacts/import", body=f, headers={
            "Authorization": "Bearer " + key,
            "Content-Type": "text/csv",
            "Content-Length": str(os.path.getsize(path))})
        r = c.getresponse()
        out = r.read()
    c.close()
    return r.status, json.loads(out)


def test_million(ff, redis, key, tid):
    d = tmpdir("ff-import-")
    pid = ff.proc.pid
    small = os.path.join(d, "100k.csv")
    big = os.path.join(d, "1m.csv")
    size_small = write_csv(small, 100000)
    size_big = write_csv(big, 1000000, start=100000)
    base = vm(pid, "VmHWM")
    st, js = import_file(ff, key, small)
    after_small = vm(pid, "VmHWM")
    ok(st == 200 and js["created"] == 100000, "100,000-row import", js)
    t0 = time.monotonic()
    st, js = import_file(ff, key, big)
    secs = time.monotonic() - t0
    after_big = vm(pid, "VmHWM")
    ok(st == 200 and js["rows"] == 1000000 and js["created"] == 1000000
       and js["rejected_count"] == 0, "1,000,000-row import: all created",
       {k: v for k, v in js.items() if k != "rejected"})
    n = redis.cmd("HLEN", "{t:%s}:ct:bykey" % tid)
    ok(n >= 1100000, "Redis holds the 1,100,000 imported addresses", n)
    diag("CSV import: %d rows (%.1f MB) in %.1f s = %.0f rows/s; fanfared "
         "peak RSS %.1f MB (at start %.1f MB, after 100,000 rows "
         "(%.1f MB) %.1f MB)" % (1000000, size_big / 1e6, secs,
                                 1000000 / secs, after_big / 1024,
                                 base / 1024, size_small / 1e6,
                                 after_small / 1024))
    # Ten times the rows must not mean more memory: the body is never
    # held, only one batch of 10,000 rows.
    if harness.SANITIZED:
        skip("peak RSS flat between 100k and 1M rows",
             "sanitizer build: ASan's quarantine holds freed memory")
        return
    # The import's own memory is measured from the RSS at start: the
    # threads and libraries a node starts with (webhooks' libcurl, ...)
    # are not the import's.
    ok(after_big - after_small < 16 * 1024 and
       after_big - base < size_big / 1024,
       "peak RSS flat between 100k and 1M rows (grew %d kB; %d kB over "
       "the %d kB at start; file %d kB)" % (after_big - after_small,
                                           after_big - base, base,
                                           size_big // 1024))


def main():
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, api_max_body="1M")
    tid, key = new_tenant(ff)
    run(test_columns, ff, key)
    run(test_bad_files, ff, key)
    run(test_transport, ff, key)
    run(test_million, ff, redis, key, tid)
    done()


if __name__ == "__main__":
    main()
