#!/usr/bin/python3
"""
test_daemon.py: fanfared as a daemon, against a real redis-server and a
real SMTP capture server.

  1. SIGHUP rotates the token secrets: a keep-alive connection opened
     before the HUP still answers after it; the senders sign mails minted
     after the HUP with the new first key (its key id), and those verify;
     tokens of a key still listed verify; a key removed from the config
     no longer does.
  2. A bad reload (a broken config line, a too-short secret) is logged
     with its file:line or file and the server runs on, on the old keys.
  3. A reload applies templates_dir and log_level, and names the
     directives that need a restart (threads, spool_dir).
  4. SIGTERM under a small load (pixels from Python threads): exit 0,
     and every 200 seen is counted in Redis (after a restart, which
     replays the spool), no more and no fewer.
  5. make install DESTDIR=... lays out the binaries, pages, sample config
     and man pages; the man pages render without a warning (groff -ww,
     and mandoc -T lint where installed).
  6. contrib/fanfared.service passes systemd-analyze verify (where
     systemd-analyze is installed).
  7. contrib/nginx-tracking.conf in a private nginx (where nginx is
     installed) in front of fanfared: a pixel, a click, the API not
     reachable, and the client address seen through the trusted proxy.
  8. api_listen unix:/path (the systemd unit's form): fanfared -t and
     start-up agree; the API answers over the socket (curl
     --unix-socket where curl is installed), the file has
     api_listen_mode, a stale file left by kill -9 is replaced, a live
     one or a regular file at the path is refused, SIGTERM removes it.
     What -t passes, start-up accepts: track_listen unix:, a bad
     api_listen_mode, a DKIM key or CA file or special-categories file
     that does not load, a node_id that cannot name a spool file are
     refused by -t with the directive or file named.

Missing optional tools (mandoc, systemd-analyze, nginx) are reported as
TAP skips, never as passes.
"""
import base64
import hashlib
import http.client
import os
import re
import json
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # the source tree may be read-only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CONTRIB, GIF, HUMAN_UA, TEMPLATES, TOP, Fanfare, Redis,
                     add_contacts, counters, diag, done, free_port, launch,
                     new_campaign, new_list, new_template, new_tenant, ok,
                     run, tail, tmpdir, wait_for)
import harness

smtp_capture = harness.smtp_capture()

ADMIN = "admin-" + "h" * 40
T = 9           # tenant of the fanfarectl-minted tokens
BUILDDIR = os.environ.get("FF_BUILDDIR") or TOP
SRCDIR = os.path.dirname(CONTRIB)


def skip(name, why):
    """A TAP skip: counted by automake's driver as SKIP, not PASS."""
    harness._n += 1
    sys.stdout.write("ok %d - %s # SKIP %s\n" % (harness._n, name, why))
    sys.stdout.flush()


def kid_of_secret(secret):
    """The key id a secret gives (token.c): SHA-256(secret)[0]; trailing
    whitespace is not part of the secret."""
    return hashlib.sha256(secret.rstrip(b" \t\r\n\v\f")).digest()[0]


def kid_of_token(tok):
    raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
    return raw[0]


def new_secret(path):
    secret = base64.b64encode(os.urandom(36)) + b"\n"
    with open(path, "wb") as f:
        f.write(secret)
    os.chmod(path, 0o600)
    return secret


def write_conf(ff, **changes):
    """Rewrites ff's config file with changes applied (None drops a
    directive, a list repeats it), as the harness wrote it."""
    ff.directives.update(changes)
    tmp = ff.conf + ".tmp"
    with open(tmp, "w") as f:
        f.write("# rewritten by test_daemon.py\n")
        for k, v in ff.directives.items():
            for one in (v if isinstance(v, (list, tuple)) else [v]):
                if one is not None:
                    f.write("%s %s\n" % (k, one))
    os.replace(tmp, ff.conf)


def log_text(ff):
    with open(ff.log, "rb") as f:
        return f.read().decode("utf-8", "replace")


def hup(ff, marker):
    """SIGHUP, then waits for the reload's outcome line after the HUP;
    returns the log text written since."""
    before = len(log_text(ff))
    os.kill(ff.proc.pid, signal.SIGHUP)
    got = wait_for(lambda: re.search(marker, log_text(ff)[before:]),
                   timeout=10)
    time.sleep(0.2)     # the workers take the snapshot on their threads
    return log_text(ff)[before:] if got else None


def status_of(ff, path, method="GET"):
    return ff.http(method, path)[0]


# ----------------------------------------------------------- API helpers


class Shop:
    """A tenant with one contact on a list and a template with a link:
    each send() launches a new campaign and returns its captured mail."""

    def __init__(self, ff, relay_dir):
        self.ff, self.dir = ff, relay_dir
        _, self.key = new_tenant(ff, "HUP")
        add_contacts(ff, self.key, [{"email": "ada@example.test"}])
        self.lid = new_list(ff, self.key, ["ada@example.test"])
        self.tpl = new_template(
            ff, self.key, "Hi",
            '<p><a href="https://shop.example/a">A</a></p>',
            "{{unsubscribe_url}}")
        self.sent = 0

    def send(self):
        cid = new_campaign(self.ff, self.key, self.tpl, self.lid,
                           name="c%d" % self.sent)
        launch(self.ff, self.key, cid)
        self.sent += 1
        smtp_capture.wait_log(self.dir, self.sent, timeout=30)
        raw = smtp_capture.messages(self.dir)[-1][1]
        text = raw.decode("ascii", "replace").replace("=\r\n", "")
        text = text.replace("=3D", "=")
        m = re.search(r"/o/([A-Za-z0-9_-]+)\.gif", text)
        return cid, (m.group(1) if m else None), text


# ------------------------------------------------------------ the tests


class KeepAlive:
    """One HTTP/1.1 connection kept open across the reloads."""

    def __init__(self, ff):
        self.c = http.client.HTTPConnection("127.0.0.1", ff.track_port,
                                            timeout=10)
        self.c.connect()
        self.local = self.c.sock.getsockname()

    def get(self, path):
        self.c.request("GET", path, headers={"User-Agent": HUMAN_UA})
        r = self.c.getresponse()
        return r.status, r.read(), self.c.sock.getsockname()


def test_rotation(ff, shop, dirs):
    secret_a, path_a, path_b = dirs
    kid_a = kid_of_secret(secret_a)

    ff.link_set(T, 1, 0, "https://example.com/one")
    tok_a_click = ff.token("click", T, 1, 5, link=0)
    ok(status_of(ff, tok_a_click) == 302, "key A: click token redirects")

    ka = KeepAlive(ff)
    st, body, _ = ka.get(ff.token("open", T, 1, 5))
    ok(st == 200 and body == GIF, "keep-alive connection answers before "
       "the HUP")

    cid1, tok1, _ = shop.send()
    ok(tok1 is not None and kid_of_token(tok1) == kid_a,
       "before the HUP, the sender signs with key A (key id %d)" % kid_a,
       "token %r" % tok1)

    # Rotation: B is new and signs, A still verifies.
    secret_b = new_secret(path_b)
    kid_b = kid_of_secret(secret_b)
    write_conf(ff, token_secret_file=[path_b, path_a])
    out = hup(ff, r"reloaded:|reload failed")
    ok(out is not None and ("token key ids %d,%d (%d signs)"
                            % (kid_b, kid_a, kid_b)) in out,
       "SIGHUP: new keys logged, B first", out)
    ok(ff.running(), "fanfared still runs after the HUP")

    st, body, local = ka.get(ff.token("open", T, 1, 6))
    ok(st == 200 and body == GIF and local == ka.local,
       "the keep-alive connection opened before the HUP answers after it "
       "(same socket)", "status %s, socket %r vs %r" % (st, local, ka.local))

    tok_b_click = ff.token("click", T, 1, 5, link=0)
    ok(kid_of_token(tok_b_click[3:]) == kid_b,
       "fanfarectl now mints with key B")
    ok(status_of(ff, tok_b_click) == 302, "key B token verifies after the HUP")
    ok(status_of(ff, tok_a_click) == 302,
       "key A token still verifies while A is listed")

    cid2, tok2, text2 = shop.send()
    ok(tok2 is not None and kid_of_token(tok2) == kid_b,
       "a mail sent after the HUP is signed with key B (key id %d)" % kid_b,
       "token %r" % tok2)
    # The daemon verifies what its sender minted: the mail's link redirects.
    m = re.search(r'href="http://127\.0\.0\.1:\d+(/c/[A-Za-z0-9_-]+)"', text2)
    ok(m is not None and status_of(ff, m.group(1)) == 302,
       "the mail's tracked link (key B) redirects",
       m.group(1) if m else text2[:2000])
    ok(status_of(ff, "/o/%s.gif" % tok1) == 200, "pixel of the key-A mail")

    # A removed from the config: its tokens stop verifying.
    write_conf(ff, token_secret_file=[path_b])
    out = hup(ff, r"reloaded:|reload failed")
    ok(out is not None and ("token key ids %d (%d signs)" % (kid_b, kid_b))
       in out, "second HUP: only key B left", out)
    ok(status_of(ff, tok_a_click) == 404,
       "a token of the removed key A no longer verifies (404)")
    ok(status_of(ff, tok_b_click) == 302, "key B token still verifies")
    st, body, local = ka.get(tok_b_click)
    ok(st == 302 and local == ka.local,
       "the pre-HUP keep-alive connection still answers after two HUPs")
    return tok_b_click


def test_bad_reload(ff, tok_b_click, path_b):
    conf_before = open(ff.conf).read()
    with open(ff.conf, "a") as f:
        f.write("no_such_directive 1\n")
    nlines = len(open(ff.conf).read().splitlines())
    out = hup(ff, r"reloaded:|reload failed")
    want = "%s:%d: unknown directive 'no_such_directive'" % (ff.conf, nlines)
    ok(out is not None and "reload failed" in out and want in out,
       "a bad config line on HUP is logged with file:line", out)
    time.sleep(0.3)
    ok(ff.running(), "fanfared still runs after a bad config")
    ok(status_of(ff, tok_b_click) == 302 and
       status_of(ff, "/healthz") == 200,
       "and still answers, on the old keys")

    # A secret too short to be one.
    with open(ff.conf, "w") as f:
        f.write(conf_before)
    short = os.path.join(ff.dir, "short.secret")
    with open(short, "wb") as f:
        f.write(b"too short\n")
    write_conf(ff, token_secret_file=[short])
    out = hup(ff, r"reloaded:|reload failed")
    ok(out is not None and "reload failed: %s: secret is shorter" % short
       in out, "a bad secret file on HUP is logged with its name", out)
    ok(ff.running() and status_of(ff, tok_b_click) == 302,
       "fanfared runs on, key B still verifies")

    # A missing secret file.
    write_conf(ff, token_secret_file=[os.path.join(ff.dir, "missing")])
    out = hup(ff, r"reloaded:|reload failed")
    ok(out is not None and "reload failed" in out and "missing" in out,
       "a missing secret file on HUP is logged", out)
    write_conf(ff, token_secret_file=[path_b])
    out = hup(ff, r"reloaded:|reload failed")
    ok(out is not None and "reloaded:" in out, "a good config reloads again",
       out)


def test_apply(ff):
    # Pages: a copy of the templates with another not-found page.
    tdir = os.path.join(ff.dir, "templates")
    shutil.copytree(TEMPLATES, tdir)
    with open(os.path.join(tdir, "notfound.html"), "w") as f:
        f.write("<!doctype html><title>gone</title><p>RELOADED-PAGE</p>\n")
    write_conf(ff, templates_dir=tdir, log_level="debug", threads="3",
               spool_dir=os.path.join(ff.dir, "spool2"))
    os.makedirs(os.path.join(ff.dir, "spool2"), exist_ok=True)
    out = hup(ff, r"reloaded:|reload failed")
    ok(out is not None and re.search(
        r"changed: token_secret_file|changed: templates_dir, log_level"
        r"|changed: .*templates_dir.*log_level", out or ""),
       "the reload names what it applied (templates_dir, log_level)", out)
    ok(out is not None and re.search(r"threads.*spool_dir changed; that "
                                     r"takes a restart", out),
       "and the directives that need a restart (threads, spool_dir)", out)
    st, _, body = ff.http("GET", "/c/not-a-token")
    ok(st == 404 and b"RELOADED-PAGE" in body,
       "the new not-found page is served after the HUP", body[:200])
    # Back to the start-up values for what needs a restart.
    write_conf(ff, threads="2", spool_dir=os.path.join(ff.dir, "spool"),
               log_level="info")
    out = hup(ff, r"reloaded:|reload failed")
    ok(out is not None and "takes a restart" not in out,
       "back to the running values: no restart named", out)


def test_sigterm(redis):
    """A few hundred pixels from threads; SIGTERM in the middle."""
    ff = Fanfare(redis=redis, threads="2")
    campaign = 77
    toks = [ff.token("open", T, campaign, k) for k in range(1, 9)]
    seen = [0]
    errors = []
    lock = threading.Lock()
    started = threading.Event()
    stop = threading.Event()

    def client(i):
        n = 0
        while not stop.is_set() and n < 150:
            try:
                c = http.client.HTTPConnection("127.0.0.1", ff.track_port,
                                               timeout=10)
                while not stop.is_set() and n < 150:
                    c.request("GET", toks[(i + n) % len(toks)],
                              headers={"User-Agent": HUMAN_UA})
                    r = c.getresponse()
                    body = r.read()
                    n += 1
                    if r.status == 200 and body == GIF:
                        with lock:
                            seen[0] += 1
                            if seen[0] >= 250:
                                started.set()
                c.close()
            except (OSError, http.client.HTTPException) as e:
                errors.append(repr(e))
                return

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    started.wait(20)
    ff.proc.send_signal(signal.SIGTERM)
    try:
        rc = ff.proc.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
    stop.set()
    for t in threads:
        t.join(15)
    ok(rc == 0, "SIGTERM under load: fanfared exits 0", "exit %r" % rc)
    diag("%d pixels answered before the stop, %d client errors after it"
         % (seen[0], len(errors)))
    ok(seen[0] >= 250, "some hundreds of pixels were answered (%d)" % seen[0])
    text = log_text(ff)
    ok("shutting down" in text and "stopped" in text,
       "the log says it shut down and stopped", "\n".join(tail(ff.log)))

    def opens():
        c = counters(redis, T, campaign)
        return c.get("opens", 0)
    wait_for(lambda: opens() >= seen[0], timeout=3)
    if opens() < seen[0]:
        ff.start()      # replays what the old process spooled
        wait_for(lambda: opens() >= seen[0], timeout=15)
    time.sleep(0.5)
    ok(opens() == seen[0], "every answered pixel is counted once: Redis %d "
       "== %d 200s seen" % (opens(), seen[0]))
    if ff.running():
        ok(ff.stop() == 0, "the restarted fanfared exits 0 on SIGTERM too")


def test_journal(redis):
    """Under systemd (JOURNAL_STREAM names stderr) lines carry their
    sd-daemon priority instead of a timestamp; elsewhere they do not."""
    ff = Fanfare(redis=redis, start=False)
    open(ff.log, "ab").close()
    st = os.stat(ff.log)
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    proc = harness.spawn([harness.FANFARED, "-c", ff.conf], ff.log, env=env)
    wait_for(lambda: "tracking on" in log_text(ff), timeout=10)
    os.kill(proc.pid, signal.SIGHUP)
    wait_for(lambda: "reloaded:" in log_text(ff), timeout=10)
    proc.terminate()
    rc = proc.wait(15)
    lines = [l for l in log_text(ff).splitlines() if l.strip()]
    ok(rc == 0 and lines and all(re.match(r"^<[2467]>fanfared ", l)
                                 for l in lines) and
       any(l.startswith("<6>fanfared info: reloaded:") for l in lines),
       "stderr to the journal: every line starts with its priority",
       "\n".join(lines[:20]))
    ff2 = Fanfare(redis=redis)
    ff2.stop()
    ok(re.search(r"^\d{4}-\d\d-\d\dT\S+Z fanfared info: ",
                 log_text(ff2), re.M),
       "stderr to a file: lines start with a UTC time", log_text(ff2)[:500])


# ------------------------------------------------ install, man, contrib


def make_vars(builddir):
    """prefix, sbindir, ... as the build's Makefile has them, expanded."""
    raw = {}
    with open(os.path.join(builddir, "Makefile")) as f:
        for line in f:
            m = re.match(r"^([a-zA-Z_]+) = (.*)$", line.rstrip("\n"))
            if m:
                raw[m.group(1)] = m.group(2)

    def expand(v, depth=0):
        return re.sub(r"\$[({]([a-zA-Z_]+)[)}]",
                      lambda m: expand(raw.get(m.group(1), ""), depth + 1)
                      if depth < 10 else "", v)
    return {k: expand(v) for k, v in raw.items()}


def make_env():
    # A make of its own, not a child of the make check that runs us.
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(k, None)
    return env


def test_install():
    """make install DESTDIR=...: the layout, then make uninstall."""
    v = make_vars(BUILDDIR)
    dest = tmpdir("ff-inst-")
    p = subprocess.run(["make", "-C", BUILDDIR, "install", "DESTDIR=" + dest],
                       capture_output=True, env=make_env(), timeout=300)
    if not ok(p.returncode == 0, "make install DESTDIR=%s" % dest,
              (p.stdout + p.stderr).decode("utf-8", "replace")[-3000:]):
        return None
    d = lambda path: dest + path
    pkgdata = os.path.join(v["datadir"], "fanfare")
    want = {
        os.path.join(v["sbindir"], "fanfared"): "x",
        os.path.join(v["bindir"], "fanfarectl"): "x",
        os.path.join(pkgdata, "unsubscribe.html"): "r",
        os.path.join(pkgdata, "unsubscribed.html"): "r",
        os.path.join(pkgdata, "notfound.html"): "r",
        os.path.join(pkgdata, "special-categories.conf"): "r",
        os.path.join(v["sysconfdir"], "fanfare", "fanfare.conf.sample"): "r",
        os.path.join(v["mandir"], "man8", "fanfared.8"): "r",
        os.path.join(v["mandir"], "man5", "fanfare.conf.5"): "r",
    }
    if v.get("systemdsystemunitdir"):
        want[os.path.join(v["systemdsystemunitdir"], "fanfared.service")] = "r"
    missing = [f for f, mode in want.items()
               if not os.path.isfile(d(f)) or
               (mode == "x" and not os.access(d(f), os.X_OK))]
    ok(not missing, "make install lays out %d files (daemon in sbin, pages, "
       "sample under sysconfdir/fanfare, man pages)" % len(want),
       "missing: %r" % missing)
    ok(not os.path.exists(d(os.path.join(v["bindir"], "fanfared"))),
       "fanfared is not in bin")
    ok(not os.path.exists(d(os.path.join(v["sysconfdir"], "fanfare",
                                         "fanfare.conf"))),
       "make install writes no fanfare.conf of its own")

    # The installed daemon checks a config that uses the installed pages.
    conf = os.path.join(dest, "check.conf")
    secret = os.path.join(dest, "token.secret")
    new_secret(secret)
    with open(conf, "w") as f:
        f.write("token_secret_file %s\ntemplates_dir %s\n"
                "special_categories_file %s/special-categories.conf\n"
                % (secret, d(pkgdata), d(pkgdata)))
    p = subprocess.run([d(os.path.join(v["sbindir"], "fanfared")), "-t",
                        "-c", conf], capture_output=True, timeout=30)
    ok(p.returncode == 0, "installed fanfared -t accepts the installed "
       "pages", p.stderr.decode("utf-8", "replace"))
    return dest, v


def test_uninstall(dest):
    p = subprocess.run(["make", "-C", BUILDDIR, "uninstall",
                        "DESTDIR=" + dest], capture_output=True,
                       env=make_env(), timeout=300)
    left = []
    for root, _dirs, files in os.walk(dest):
        for f in files:
            path = os.path.join(root, f)
            if not path.endswith(("/check.conf", "/token.secret")):
                left.append(path)
    ok(p.returncode == 0 and not left, "make uninstall removes every file",
       "rc %d, left %r" % (p.returncode, left[:20]))


def test_man(dest, v):
    mandir = dest + v["mandir"]
    pages = [os.path.join(mandir, "man8", "fanfared.8"),
             os.path.join(mandir, "man5", "fanfare.conf.5")]
    env = dict(os.environ, MANWIDTH="80", LANG="C.UTF-8")
    for page in pages:
        name = os.path.basename(page)
        p = subprocess.run(["groff", "-mandoc", "-Tutf8", "-ww", "-z", page],
                           capture_output=True, timeout=60)
        ok(p.returncode == 0 and not p.stderr,
           "%s: groff -mandoc -ww renders it without a warning" % name,
           p.stderr.decode("utf-8", "replace"))
        p = subprocess.run(["man", "-l", page], capture_output=True,
                           env=env, timeout=60)
        ok(p.returncode == 0 and len(p.stdout) > 1000 and not p.stderr,
           "%s: man -l renders it" % name,
           "rc %d, %d bytes, stderr %r" % (p.returncode, len(p.stdout),
                                          p.stderr[:500]))
        if shutil.which("mandoc"):
            p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                                page], capture_output=True, timeout=60)
            ok(p.returncode == 0 and not p.stdout and not p.stderr,
               "%s: mandoc -T lint -W warning finds nothing" % name,
               (p.stdout + p.stderr).decode("utf-8", "replace"))
        else:
            skip("%s: mandoc -T lint" % name, "mandoc is not installed")
    p = subprocess.run(["man", "-w", "fanfared"], capture_output=True,
                       env=dict(env, MANPATH=mandir), timeout=60)
    ok(p.returncode == 0 and p.stdout.decode().startswith(mandir),
       "man finds fanfared(8) under the installed mandir",
       (p.stdout + p.stderr).decode("utf-8", "replace"))


def directive_table():
    """{name: default or None} from config.c's table, and the names the
    reload applies."""
    with open(os.path.join(SRCDIR, "src", "config.c")) as f:
        src = f.read()
    table = src[src.index("config_table[] = {"):]
    table = table[:table.index("\n};")]
    out, reload = {}, set()
    for m in re.finditer(r'\{ "([a-z_]+)", CF_[A-Z_]+,(.*?)\},', table, re.S):
        body = m.group(2)
        dm = re.search(r'\.def = "([^"]*)"', body)
        out[m.group(1)] = dm.group(1) if dm else None
        if ".reload = 1" in body:
            reload.add(m.group(1))
    return out, reload


def test_directives_documented():
    table, reload = directive_table()
    ok(len(table) >= 38, "config.c's table read (%d directives)" % len(table))
    with open(os.path.join(SRCDIR, "man", "fanfare.conf.5")) as f:
        man = f.read()
    with open(os.path.join(SRCDIR, "README.md")) as f:
        readme = f.read()
    entries = {}
    for m in re.finditer(r"^\.It Ic ([a-z_]+)(.*?)(?=^\.It |^\.El)", man,
                         re.S | re.M):
        entries[m.group(1)] = m.group(2)
    # Grouped entries (smtp_user/smtp_password, dkim_*) share one text.
    shared = {}
    names = list(entries)
    for i, n in enumerate(names):
        j = i
        while j < len(names) - 1 and not entries[names[j]].strip(" \n"
                                                                 "").count("\n"):
            j += 1
        shared[n] = entries[names[j]]
    missing_man = [n for n in table if n not in entries]
    ok(not missing_man, "fanfare.conf(5) lists every directive of config.c",
       "missing: %r" % missing_man)
    extra = [n for n in entries if n not in table]
    ok(not extra, "fanfare.conf(5) lists no directive config.c lacks",
       repr(extra))
    rows = dict(re.findall(r"^\| `([a-z_]+)`(?:, `[a-z_]+`)* \| ([^|]*) \|",
                           readme, re.M))
    for m in re.finditer(r"^\| ((?:`[a-z_]+`, )+`[a-z_]+`) \| ([^|]*) \|",
                         readme, re.M):
        for n in re.findall(r"`([a-z_]+)`", m.group(1)):
            rows[n] = m.group(2)
    missing_readme = [n for n in table if n not in rows]
    ok(not missing_readme, "the README table lists every directive",
       "missing: %r" % missing_readme)
    bad = []
    for n, default in table.items():
        text = shared.get(n, "")
        cell = rows.get(n, "").strip()
        lit = re.fullmatch(r"`([^`]*)`", cell)
        if default is not None and not default.startswith("/") and \
                "FF_" not in default:
            if ".Li %s ." % default not in text.replace("\n", " "):
                bad.append("man %s: default %r not shown" % (n, default))
            if lit and lit.group(1) != default:
                bad.append("README %s: %r, config.c %r" % (n, cell, default))
        if (n in reload) != (".Sy reload" in text):
            bad.append("man %s: reload mark %s" % (n, n in reload))
    ok(not bad, "defaults and reload marks agree: config.c, fanfare.conf(5), "
       "README", "\n".join(bad))


def test_systemd(dest, v):
    src = os.path.join(SRCDIR, "contrib", "fanfared.service.in")
    built = os.path.join(BUILDDIR, "fanfared.service")
    with open(src) as f:
        text = f.read()
    want = text.replace("@sbindir@", v["sbindir"]).replace(
        "@sysconfdir@", v["sysconfdir"])
    ok(os.path.exists(built) and open(built).read() == want,
       "make writes fanfared.service with the build's paths")
    need = ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
            "PrivateTmp=yes", "StateDirectory=fanfare",
            "ExecReload=/bin/kill -HUP $MAINPID", "RestrictAddressFamilies=",
            "SystemCallFilter=", "LimitNOFILE="]
    ok(all(n in text for n in need), "the unit has the hardening lines",
       repr([n for n in need if n not in text]))
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze verify fanfared.service",
             "systemd-analyze is not installed")
        return
    # The installed binary and man pages, so verify checks ExecStart= and
    # Documentation= for real.
    udir = tmpdir("ff-unit-")
    unit = os.path.join(udir, "fanfared.service")
    with open(unit, "w") as f:
        f.write(text.replace("@sbindir@", dest + v["sbindir"]).replace(
            "@sysconfdir@", dest + v["sysconfdir"]))
    p = subprocess.run(["systemd-analyze", "verify", unit],
                       capture_output=True, timeout=120,
                       env=dict(os.environ, MANPATH=dest + v["mandir"]))
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    ok(p.returncode == 0 and "fanfared.service" not in out,
       "systemd-analyze verify fanfared.service: no complaint", out)




def test_nginx(redis):
    nginx = harness.nginx_binary()
    if nginx is None:
        skip("nginx in front of fanfared", "nginx is not installed")
        return
    mmdb = os.path.join(tmpdir(), "countries.mmdb")
    p = subprocess.run(["/usr/bin/perl", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "make-mmdb.pl"), mmdb],
        capture_output=True, timeout=60)
    if not ok(p.returncode == 0, "test GeoIP database written", p.stderr):
        return
    ff = Fanfare(redis=redis, geoip_db=mmdb, trusted_proxies="127.0.0.1/32")
    d = tmpdir("ff-nginx-")
    port = free_port()
    with open(os.path.join(CONTRIB, "nginx-tracking.conf")) as f:
        snippet = f.read()
    snippet = snippet.replace("server 127.0.0.1:8080;",
                              "server 127.0.0.1:%d;" % ff.track_port)
    snippet = snippet.replace("\tlisten 80;", "\tlisten 127.0.0.1:%d;" % port)
    snippet = snippet.replace("\tlisten [::]:80;\n", "")
    with open(os.path.join(d, "tracking.conf"), "w") as f:
        f.write(snippet)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(harness.nginx_main_conf(d, 64))
    argv = [nginx, "-p", d, "-e", os.path.join(d, "error.log"),
            "-c", os.path.join(d, "nginx.conf")]
    p = subprocess.run(argv + ["-t"], capture_output=True, timeout=60)
    if not ok(p.returncode == 0, "nginx -t accepts contrib/nginx-tracking.conf",
              p.stderr.decode("utf-8", "replace")):
        return
    proc = harness.spawn(argv, os.path.join(d, "nginx.out"))
    up = wait_for(lambda: harness.can_connect(port), timeout=10)
    if not ok(up, "nginx listens on 127.0.0.1:%d" % port,
              "\n".join(tail(os.path.join(d, "error.log")))):
        return

    def get(method, path, headers=None, body=None):
        # From 127.0.0.2: a client that is not a trusted proxy.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                       source_address=("127.0.0.2", 0))
        h = {"User-Agent": HUMAN_UA}
        h.update(headers or {})
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return (r.status, {k.lower(): v for k, v in r.getheaders()},
                    r.read())
        finally:
            c.close()

    campaign = 88
    pix = ff.token("open", T, campaign, 1)
    st, h, body = get("GET", pix)
    ok(st == 200 and body == GIF and h.get("cache-control", "").startswith(
        "no-store"), "through nginx: the pixel, no-store passed on",
       "%s %r" % (st, h))
    # A forged header from the client is not believed: the address nginx
    # saw (127.0.0.2, FR in the test database) is.
    st, _, _ = get("GET", ff.token("open", T, campaign, 2),
                   headers={"X-Forwarded-For": "81.2.69.142"})
    ok(st == 200, "through nginx: a pixel with a forged X-Forwarded-For")
    ff.link_set(T, campaign, 0, "https://example.com/n")
    st, h, _ = get("GET", ff.token("click", T, campaign, 1, link=0))
    ok(st == 302 and h.get("location") == "https://example.com/n",
       "through nginx: the click redirects to the campaign's link",
       "%s %r" % (st, h.get("location")))
    unsub = ff.token("unsubscribe", T, campaign, 3)
    st, _, _ = get("POST", unsub, headers={
        "Content-Type": "application/x-www-form-urlencoded"},
        body="List-Unsubscribe=One-Click")
    ok(st == 200, "through nginx: POST /u/ (one-click unsubscribe)")
    st, _, _ = get("POST", pix, body="x")
    ok(st == 403, "through nginx: POST on /o/ is refused", st)
    for path in ("/v1/tenants", "/metrics", "/healthz", "/"):
        st, _, body = get("GET", path)
        ok(st == 404 and b"fanfare" not in body.lower(),
           "through nginx: %s is not proxied (404 from nginx)" % path, st)

    def stats():
        return counters(redis, T, campaign)
    wait_for(lambda: stats().get("opens", 0) >= 2 and
             stats().get("unsubscribes", 0) >= 1, timeout=10)
    c = stats()
    ok(c.get("country:FR") == 3 and "country:GB" not in c,
       "fanfared sees the client through the trusted proxy: 127.0.0.2 -> FR "
       "(pixel, pixel, click), the forged 81.2.69.142 ignored", repr(c))
    ok(c.get("opens") == 2 and c.get("clicks") == 1 and
       c.get("unsubscribes") == 1, "every hit through nginx counted once",
       repr(c))
    os.kill(proc.pid, signal.SIGQUIT)
    proc.wait(10)
    ff.stop()



def test_main(redis):
    relay_dir = os.path.join(tmpdir("ff-smtp-"), "cap")
    os.makedirs(relay_dir)
    relay = smtp_capture.CaptureServer(relay_dir)
    try:
        d = tmpdir("ff-hup-")
        path_a = os.path.join(d, "a.secret")
        path_b = os.path.join(d, "b.secret")
        secret_a = new_secret(path_a)
        ff = Fanfare(dir=d, redis=redis, secret=secret_a,
                     token_secret_file=path_a, admin_key=ADMIN,
                     smtp_relay="127.0.0.1:%d" % relay.port, senders="1",
                     smtp_starttls="off")
        shop = Shop(ff, relay_dir)
        tok_b = run(test_rotation, ff, shop, (secret_a, path_a, path_b))
        if tok_b:
            run(test_bad_reload, ff, tok_b, path_b)
        run(test_apply, ff)
        ok(ff.stop() == 0, "fanfared exits 0 on SIGTERM after the reloads")
    finally:
        relay.stop()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def unix_api(path, method, url, key=None, body=None):
    c = UnixHTTPConnection(path)
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    try:
        c.request(method, url, body=json.dumps(body).encode()
                  if body is not None else None, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def check_only(conf):
    p = subprocess.run([harness.FANFARED, "-t", "-c", conf],
                       capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def test_unix_api(redis):
    d = tmpdir("ff-unix-")
    sock = os.path.join(d, "api.sock")
    ff = Fanfare(dir=d, redis=redis, start=False, admin_key=ADMIN,
                 api_listen="unix:" + sock, api_listen_mode="0640")
    rc, out = check_only(ff.conf)
    ok(rc == 0, "fanfared -t accepts api_listen unix:PATH", out)
    try:
        ff.start()
    except RuntimeError as e:
        ok(False, "fanfared starts with api_listen unix:PATH", str(e))
        return
    ok(True, "fanfared starts with api_listen unix:PATH")
    st = os.lstat(sock)
    ok(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o640,
       "the socket file has api_listen_mode 0640",
       oct(stat.S_IMODE(st.st_mode)))
    status, body = unix_api(sock, "POST", "/v1/tenants", ADMIN,
                            {"name": "unix"})
    ok(status == 201 and b'"api_key"' in body,
       "POST /v1/tenants over the unix socket: 201", body[:300])
    status, body = unix_api(sock, "GET", "/v1/tenants", "wrong-key")
    ok(status == 401, "a wrong key over the unix socket: 401", body[:200])
    curl = shutil.which("curl")
    if curl:
        p = subprocess.run([curl, "-s", "--unix-socket", sock,
                            "http://fanfare/healthz"], capture_output=True,
                           timeout=30)
        ok(p.returncode == 0 and b'"status":"ok"' in p.stdout,
           "curl --unix-socket reaches /healthz", p.stdout + p.stderr)
    else:
        skip("curl --unix-socket", "curl is not installed")

    # A second server on the same path: refused, the first keeps it.
    other = os.path.join(d, "other.conf")
    with open(ff.conf) as f:
        text = f.read()
    with open(other, "w") as f:
        f.write(re.sub(r"(?m)^track_listen .*$", "track_listen 127.0.0.1:%d"
                       % free_port(), text))
    p = subprocess.run([harness.FANFARED, "-c", other], capture_output=True,
                       timeout=30)
    ok(p.returncode != 0 and b"another process listens" in p.stderr,
       "a second fanfared on a live socket path is refused", p.stderr[-500:])
    ok(unix_api(sock, "GET", "/healthz")[0] == 200,
       "the first server still answers on its socket")

    # kill -9 leaves the file; the next start replaces the stale socket.
    ff.kill9()
    ok(os.path.exists(sock), "kill -9 leaves the socket file (stale)")
    try:
        ff.start()
        ok(unix_api(sock, "GET", "/healthz")[0] == 200,
           "a restart replaces the stale socket and answers on it")
    except RuntimeError as e:
        ok(False, "a restart replaces the stale socket", str(e))
        return
    ok(ff.stop() == 0 and not os.path.exists(sock),
       "SIGTERM: exit 0 and the socket file removed")

    # A file that is not a socket is never removed.
    with open(sock, "w") as f:
        f.write("precious")
    try:
        ff.start()
        ok(False, "a regular file at the socket path is refused")
        ff.stop()
    except RuntimeError as e:
        ok("is not a socket" in str(e),
           "a regular file at the socket path is refused", str(e))
    with open(sock) as f:
        ok(f.read() == "precious", "... and left as it was")
    os.unlink(sock)

    # What start-up would refuse, -t refuses.
    for name, changes, want in [
            ("track_listen unix:", {"track_listen": "unix:" + sock},
             "track_listen"),
            ("api_listen_mode 0999", {"api_listen_mode": "0999"},
             "api_listen_mode"),
            ("api_listen_mode 01777", {"api_listen_mode": "01777"},
             "api_listen_mode"),
            ("a DKIM key file that is not a key",
             {"smtp_relay": "127.0.0.1:25", "dkim_domain": "example.com",
              "dkim_selector": "s1", "dkim_key_file": ff.secret_file},
             ff.secret_file),
            ("an smtp_ca_file that holds no certificate",
             {"smtp_relay": "127.0.0.1:25", "smtp_starttls": "required",
              "smtp_ca_file": ff.secret_file}, "smtp_ca_file"),
            ("api_listen on track_listen's address",
             {"api_listen": ff.directives["track_listen"]}, "api_listen"),
            ("a node_id that cannot name a spool file",
             {"node_id": "web/1"}, "node_id"),
            ("a special_categories_file that is not there",
             {"special_categories_file": os.path.join(d, "nope.conf")},
             "nope.conf")]:
        saved = dict(ff.directives)
        write_conf(ff, **changes)
        rc, out = check_only(ff.conf)
        ok(rc == 1 and want in out, "fanfared -t refuses " + name, out)
        ff.directives = saved
        write_conf(ff)


def main():
    redis = Redis()
    run(test_main, redis)
    run(test_sigterm, redis)
    run(test_journal, redis)
    run(test_nginx, redis)
    run(test_unix_api, redis)
    run(test_directives_documented)
    inst = run(test_install)
    if inst:
        run(test_man, *inst)
        run(test_systemd, *inst)
        run(test_uninstall, inst[0])
    done()


if __name__ == "__main__":
    main()
