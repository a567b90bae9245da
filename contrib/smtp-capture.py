#!/usr/bin/python3
"""
smtp-capture.py: a local SMTP server that accepts mail and stores every
message byte for byte, for contrib/ demos and the integration tests.  Built
on Debian's python3-aiosmtpd, so it runs under /usr/bin/python3 only (the
reading helpers below need nothing but the standard library).

  smtp-capture.py --listen HOST:PORT --dir DIR [--faults FILE] [--quiet]
                  [--tls-cert PEM --tls-key PEM] [--max-line-length N]
                  [--data-size-limit BYTES] [--no-pipelining] [--fsync]
                  [--stock-data] [--auth-password PW] [--no-8bitmime]

It binds (port 0 picks a free port), prints one line "listening HOST:PORT"
on stdout when ready, and runs until SIGTERM or SIGINT, then exits 0.
It offers SIZE (50 MB), 8BITMIME (not with --no-8bitmime: a relay that
only takes 7-bit bodies), SMTPUTF8 and PIPELINING, and STARTTLS
with --tls-cert/--tls-key (then AUTH PLAIN/LOGIN too, any password
accepted, or only PW with --auth-password: another gets 535).  Many messages per connection, RSET, HELO and EHLO work as
aiosmtpd does them; a DATA line longer than 1001 octets as sent (998, the
transparent dot, CRLF) gets "500 Line too long" after the data, as in
aiosmtpd (--max-line-length changes that).  DATA is read in
bulk rather than line by line (same replies, same bytes: --stock-data
switches back to aiosmtpd's reader); a few thousand 20 KB messages a
second, more with DIR on a tmpfs.

What it writes, under DIR:
  new/<seq>-<rcpt>.eml  one file per accepted message (several recipients:
                        still one file, named after the first), the exact
                        DATA bytes after dot-unstuffing, CRLFs as received;
                        written in DIR/tmp/ then renamed into DIR/new/.
                        <seq> is a global, zero-padded counter; a restart on
                        the same DIR continues after the highest one there.
  log.jsonl             one JSON object a line, appended after the rename:
    accepted: {"seq", "mail_from", "rcpt_tos", "size", "file", "peer",
               "time", "conn", "helo", "tls", "mail_options"}
    refused:  {"refused": CODE, "stage": "rcpt"|"mail"|"data"|..., "rcpt"
               (at RCPT), "reply", "mail_from", "peer", "time", "conn"};
               every 4xx/5xx reply is logged, the faults' and aiosmtpd's own
               (e.g. 500 for a line that is too long, 503 for bad sequence).
               A drop_after_data drop is {"refused": "drop", "stage": "data"}.
  "time" is time.time() (float seconds), "conn" numbers the connections.

Faults: --faults FILE is read again at every MAIL FROM, so a test can
rewrite it while the server runs (a missing or empty file means no faults;
an unparsable one keeps the previous faults, with a warning):
  {"tempfail_first": N,          451 4.3.0 at RCPT the first N times each
                                 address is tried (per address, counted for
                                 the process lifetime: an address gets N
                                 451s in all, from when N was set)
   "tempfail_rcpts": ["a@x"],    451 4.3.0 at RCPT, always
   "reject_rcpts": ["b@x"],      550 5.1.1 at RCPT
   "reject_domains": ["bad.example"],   550 5.1.1 at RCPT
   "drop_after_data": N,         the first N DATA transactions: read the whole
                                 content, store nothing, close the connection
                                 without a reply (add "drop_rst": true to
                                 send a TCP RST instead of a FIN)
   "delay_ms": M,                sleep M ms before the reply to each DATA end
   "tempfail_mail": true,        451 4.3.0 at MAIL FROM, always
   "reject_plain_rcpts": ["c@x"]}   550 at RCPT with no enhanced status
                                 code ("550 no such user")
Addresses and domains compare case-insensitively.  Checks run in the order
reject, tempfail_rcpts, tempfail_first.

From a test (the file name has a dash, so no plain "import"; either of):
  sys.path.insert(0, CONTRIB_DIR)
  smtp_capture = importlib.import_module("smtp-capture")
or, by path:
  spec = importlib.util.spec_from_file_location("smtp_capture", PATH)
  smtp_capture = importlib.util.module_from_spec(spec); spec.loader.exec_module(smtp_capture)
aiosmtpd is imported only when the server runs, so this works under any
python3; then smtp_capture.read_log(DIR), smtp_capture.messages(DIR) -> [(path,
bytes)] by seq, smtp_capture.wait_log(DIR, pred, timeout),
smtp_capture.write_faults(FILE, dict) (atomic) and
  with smtp_capture.CaptureServer(DIR, faults=FILE) as srv: srv.host, srv.port
which runs this file under /usr/bin/python3 and stops it on exit.
"""
import argparse
import asyncio
import functools
import itertools
import json
import logging
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

PYTHON = "/usr/bin/python3"
SEQ_WIDTH = 8
DATA_SIZE_LIMIT = 50 * 1024 * 1024
_NAME_RE = re.compile(r"^(\d+)-.*\.eml$")


# ---------------------------------------------------------------------------
# Reading side: standard library only, usable from any python3.

def read_log(dir):
    """All entries of DIR/log.jsonl, in order ([] if there is none yet).
    A last line still being written (no newline yet) is left out."""
    try:
        with open(os.path.join(dir, "log.jsonl"), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:
        if line.strip():
            out.append(json.loads(line.decode("utf-8")))
    return out


def messages(dir):
    """[(path, bytes)] of the stored messages (DIR/new/*.eml), by seq."""
    new = os.path.join(dir, "new")
    try:
        names = os.listdir(new)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        m = _NAME_RE.match(name)
        if m:
            found.append((int(m.group(1)), name))
    found.sort()
    out = []
    for _, name in found:
        path = os.path.join(new, name)
        with open(path, "rb") as f:
            out.append((path, f.read()))
    return out


def wait_log(dir, pred, timeout=10.0, interval=0.02):
    """Polls read_log(DIR) until pred(entries) is true; returns the
    entries, or raises TimeoutError.  pred may be an int: that many
    accepted messages."""
    if isinstance(pred, int):
        n = pred
        pred = lambda log: sum(1 for e in log if "seq" in e) >= n
    end = time.monotonic() + timeout
    while True:
        log = read_log(dir)
        if pred(log):
            return log
        if time.monotonic() >= end:
            raise TimeoutError("smtp-capture log in %s: condition not met "
                               "after %.1fs (%d entries)"
                               % (dir, timeout, len(log)))
        time.sleep(interval)


def write_faults(path, faults):
    """Writes the faults file atomically (None or {} means no faults)."""
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(faults or {}, f)
    os.replace(tmp, path)


def _login_of(data):
    login = getattr(data, "login", None)
    return login.decode("utf-8", "replace") if login is not None else None


def _login(session):
    """The AUTH login of the session (aiosmtpd's LoginPassword), or None."""
    data = getattr(session, "auth_data", None)
    login = getattr(data, "login", None)
    return login.decode("utf-8", "replace") if login is not None else None


class CaptureServer:
    """Runs this file as a child process (under /usr/bin/python3).
    .host, .port, .proc; stop() sends SIGTERM and waits.  A context
    manager."""

    def __init__(self, dir, faults=None, listen="127.0.0.1:0", args=(),
                 python=PYTHON, quiet=True, timeout=10.0):
        cmd = [python, os.path.abspath(__file__), "--listen", listen,
               "--dir", dir]
        if faults:
            cmd += ["--faults", faults]
        if quiet:
            cmd.append("--quiet")
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE)
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("listening "):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("smtp-capture did not start: %r" % line)
        hostport = line.split(" ", 1)[1]
        host, _, port = hostport.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.dir = dir

    def stop(self, timeout=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------------------
# Server side.

FAULT_KEYS = {
    "tempfail_first": int, "tempfail_rcpts": list, "reject_rcpts": list,
    "reject_domains": list, "drop_after_data": int, "delay_ms": (int, float),
    "drop_rst": bool, "tempfail_mail": bool,
    "reject_plain_rcpts": list,
}


def _safe(s, limit=100):
    return re.sub(r"[^A-Za-z0-9@._+=-]", "_", s)[:limit] or "_"


def _peer(p):
    if isinstance(p, tuple) and len(p) >= 2:
        host = p[0]
        return ("[%s]:%d" if ":" in host else "%s:%d") % (host, p[1])
    return str(p)


def _now_seq(dir):
    """Highest seq already in DIR/new, so a restart does not reuse names."""
    best = 0
    for name in os.listdir(os.path.join(dir, "new")):
        m = _NAME_RE.match(name)
        if m:
            best = max(best, int(m.group(1)))
    return best


class Capture:
    """The aiosmtpd handler: faults, storage, log."""

    def __init__(self, dir, faults_path, quiet, pipelining, fsync):
        self.dir = dir
        self.tmp = os.path.join(dir, "tmp")
        self.new = os.path.join(dir, "new")
        self.faults_path = faults_path
        self.quiet = quiet
        self.pipelining = pipelining
        self.fsync = fsync
        self.seq = _now_seq(dir)
        self.conns = itertools.count(1)
        self.tempfails = {}     # address -> 451s given by tempfail_first
        self.drops = 0          # connections dropped by drop_after_data
        self.faults = {}
        self.faults_sig = None
        self.active = set()     # live SMTP protocol objects
        self.logf = open(os.path.join(dir, "log.jsonl"), "ab", buffering=0)

    def say(self, msg):
        if not self.quiet:
            sys.stderr.write("smtp-capture: %s\n" % msg)
            sys.stderr.flush()

    def log(self, entry):
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        self.logf.write(line.encode("utf-8", "surrogateescape"))

    def load_faults(self):
        if not self.faults_path:
            return {}
        try:
            with open(self.faults_path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            self.faults = {}
            return self.faults
        except OSError as e:
            self.say("faults: %s (keeping the previous ones)" % e)
            return self.faults
        if not raw.strip():
            self.faults = {}
            return self.faults
        try:
            got = json.loads(raw)
            if not isinstance(got, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            sys.stderr.write("smtp-capture: faults file %s: %s (keeping the "
                             "previous faults)\n" % (self.faults_path, e))
            return self.faults
        faults = {}
        for k, v in got.items():
            want = FAULT_KEYS.get(k)
            if want is None or not isinstance(v, want) or \
                    (want is not bool and isinstance(v, bool)):
                sys.stderr.write("smtp-capture: faults: ignoring %s=%r\n"
                                 % (k, v))
                continue
            if want is list:
                v = {str(x).lower() for x in v}
            faults[k] = v
        sig = json.dumps(got, sort_keys=True)
        if sig != self.faults_sig:
            self.faults_sig = sig
            self.say("faults now %s" % sig)
        self.faults = faults
        return faults

    # -- aiosmtpd hooks --------------------------------------------------
    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        if getattr(self, "no_8bitmime", False):
            responses = [r for r in responses
                         if r[4:].upper() != "8BITMIME"]
        return responses

    async def handle_MAIL(self, server, session, envelope, address,
                          mail_options):
        envelope.x_faults = self.load_faults()
        if envelope.x_faults.get("tempfail_mail"):
            return "451 4.3.0 mail from refused for now"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        server.x_rcpt = address
        f = getattr(envelope, "x_faults", {})
        a = address.lower()
        domain = a.rpartition("@")[2]
        if a in f.get("reject_rcpts", ()) or \
                domain in f.get("reject_domains", ()):
            return "550 5.1.1 user unknown"
        if a in f.get("reject_plain_rcpts", ()):
            return "550 no such user"
        if a in f.get("tempfail_rcpts", ()):
            return "451 4.3.0 try again later"
        n = f.get("tempfail_first", 0)
        if n > 0 and self.tempfails.get(a, 0) < n:
            self.tempfails[a] = self.tempfails.get(a, 0) + 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        f = getattr(envelope, "x_faults", {})
        delay = f.get("delay_ms", 0)
        if delay > 0:
            await asyncio.sleep(delay / 1000.0)
        if self.drops < f.get("drop_after_data", 0):
            self.drops += 1
            self.log({"refused": "drop", "stage": "data",
                      "mail_from": envelope.mail_from,
                      "rcpt_tos": envelope.rcpt_tos,
                      "size": len(envelope.original_content),
                      "peer": _peer(session.peer), "time": time.time(),
                      "conn": server.x_conn})
            self.say("dropped the connection after DATA (%s -> %s)"
                     % (envelope.mail_from, ",".join(envelope.rcpt_tos)))
            transport = server.transport
            if f.get("drop_rst"):
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
            transport.abort()
            # connection_lost() cancels this coroutine: no reply is sent.
            await asyncio.sleep(3600)
            return "421 4.3.0 dropped"
        data = envelope.original_content  # == .content with decode_data=False
        self.seq += 1
        seq = self.seq
        name = "%0*d-%s.eml" % (SEQ_WIDTH, seq, _safe(envelope.rcpt_tos[0]))
        tmp = os.path.join(self.tmp, name)
        with open(tmp, "wb") as out:
            out.write(data)
            if self.fsync:
                out.flush()
                os.fsync(out.fileno())
        os.rename(tmp, os.path.join(self.new, name))
        self.log({"seq": seq, "mail_from": envelope.mail_from,
                  "rcpt_tos": envelope.rcpt_tos, "size": len(data),
                  "file": os.path.join("new", name),
                  "peer": _peer(session.peer), "time": time.time(),
                  "conn": server.x_conn, "helo": session.host_name,
                  "tls": session.ssl is not None,
                  "auth_user": _login(session),
                  "mail_options": envelope.mail_options})
        self.say("accepted %0*d %s -> %s (%d bytes)"
                 % (SEQ_WIDTH, seq, envelope.mail_from,
                    ",".join(envelope.rcpt_tos), len(data)))
        return "250 2.0.0 OK queued as %0*d" % (SEQ_WIDTH, seq)


def _make_smtp_class(line_length_limit, stock_data):
    from aiosmtpd.smtp import SMTP, syntax

    class CaptureSMTP(SMTP):
        """Numbers connections, logs every 4xx/5xx reply with the command
        it answered, and reads DATA in bulk."""

        def __init__(self, handler, **kw):
            super().__init__(handler, **kw)
            # SMTP.__init__ sized its StreamReader from the class attribute
            # (1 MiB below, unless --stock-data); DATA lines are checked
            # against this instance value.
            self.line_length_limit = line_length_limit
            self.x_conn = next(handler.conns)
            self.x_cmd = None
            self.x_rcpt = None
            for name, method in list(self._smtp_methods.items()):
                self._smtp_methods[name] = self._x_track(name, method)

        def _x_track(self, name, method):
            @functools.wraps(method)
            async def run(arg):
                self.x_cmd = name
                self.x_rcpt = None
                try:
                    await method(arg)
                finally:
                    self.x_cmd = None
            return run

        def connection_made(self, transport):
            super().connection_made(transport)
            self.event_handler.active.add(self)

        def connection_lost(self, error):
            self.event_handler.active.discard(self)
            super().connection_lost(error)

        async def push(self, status):
            s = status if isinstance(status, str) else \
                status.decode("utf-8", "replace")
            if s[:1] in ("4", "5") and s[1:3].isdigit() and s[3:4] != "-":
                h = self.event_handler
                e = {"refused": int(s[:3]),
                     "stage": (self.x_cmd or "command").lower()}
                if self.x_cmd == "RCPT" and self.x_rcpt is not None:
                    e["rcpt"] = self.x_rcpt
                e.update({"reply": s,
                          "mail_from": self.envelope.mail_from
                          if self.envelope else None,
                          "peer": _peer(self.session.peer if self.session
                                        else None),
                          "time": time.time(), "conn": self.x_conn})
                h.log(e)
                h.say("refused %s%s: %s" % (e["stage"],
                      " " + e["rcpt"] if "rcpt" in e else "", s))
            await super().push(status)

        @syntax("DATA")
        async def smtp_DATA(self, arg):
            """aiosmtpd's smtp_DATA, same replies and the same result, but
            reading up to each ".CRLF" instead of line by line (about twice
            the throughput).  --stock-data uses aiosmtpd's own."""
            if stock_data or self._decode_data:
                return await SMTP.smtp_DATA(self, arg)
            if await self.check_helo_needed():
                return
            if await self.check_auth_needed("DATA"):
                return
            if not self.envelope.rcpt_tos:
                await self.push("503 Error: need RCPT command")
                return
            if arg:
                await self.push("501 Syntax: DATA")
                return
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            reader = self._reader
            limit = self.data_size_limit
            parts = []
            size = 0            # bytes so far, terminator included
            too_much = False
            prev = b"\r\n"     # the last bytes before chunk (DATA's CRLF)
            while True:
                try:
                    chunk = await reader.readuntil(b".\r\n")
                except asyncio.LimitOverrunError as e:
                    # No ".CRLF" in the reader's limit: take what is there.
                    chunk = await reader.read(e.consumed)
                except asyncio.CancelledError:
                    self._writer.close()
                    raise
                except asyncio.IncompleteReadError:
                    return      # connection gone in the middle of DATA
                size += len(chunk)
                if chunk.endswith(b".\r\n") and \
                        (prev + chunk[-5:]).endswith(b"\r\n.\r\n"):
                    if not too_much:
                        parts.append(chunk)
                    break
                if not too_much:
                    parts.append(chunk)
                    if limit and size > limit:
                        too_much = True     # drain, keep nothing
                        parts = []
                prev = (prev + chunk[-4:])[-4:]
            if too_much or (limit and size - 3 > limit):
                await self.push("552 Error: Too much mail data")
                self._set_post_data_state()
                return
            data = b"".join(parts)[:-3]     # the content ends with its CRLF
            if data and max(map(len, data.split(b"\r\n"))) + 2 > \
                    self.line_length_limit:
                await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
                self._set_post_data_state()
                return
            # RFC 5321 4.5.2: a leading dot at each line start goes.
            data = data.replace(b"\r\n.", b"\r\n")
            if data.startswith(b"."):
                data = data[1:]
            self.envelope.content = self.envelope.original_content = data
            status = await self._call_handler_hook("DATA")
            self._set_post_data_state()
            await self.push(status)

    CaptureSMTP.line_length_limit = \
        line_length_limit if stock_data else max(line_length_limit, 1 << 20)
    return CaptureSMTP


def _parse_listen(s):
    m = re.match(r"^\[(.*)\]:(\d+)$", s) or re.match(r"^(.*):(\d+)$", s)
    if not m:
        raise argparse.ArgumentTypeError("want HOST:PORT, got %r" % s)
    host = m.group(1) or "0.0.0.0"
    return host, int(m.group(2))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Local SMTP capture server (see the file's docstring).")
    ap.add_argument("--listen", required=True, type=_parse_listen,
                    metavar="HOST:PORT", help="port 0 picks a free port")
    ap.add_argument("--dir", required=True, help="where new/, tmp/ and "
                    "log.jsonl go (made if missing)")
    ap.add_argument("--faults", help="JSON faults file, read at each MAIL")
    ap.add_argument("--quiet", action="store_true",
                    help="no per-message lines on stderr")
    ap.add_argument("--tls-cert", help="PEM certificate: offer STARTTLS")
    ap.add_argument("--tls-key", help="PEM key for --tls-cert")
    ap.add_argument("--max-line-length", type=int, default=1001,
                    help="longest DATA line accepted, in bytes as sent: "
                    "transparent dot and CRLF included (default 1001, "
                    "aiosmtpd's: 998 + dot + CRLF); longer lines get 500 "
                    "after the data")
    ap.add_argument("--data-size-limit", type=int, default=DATA_SIZE_LIMIT,
                    help="SIZE limit in bytes (default %(default)s)")
    ap.add_argument("--no-8bitmime", action="store_true",
                    help="do not offer 8BITMIME in the EHLO reply")
    ap.add_argument("--no-pipelining", action="store_true",
                    help="do not advertise PIPELINING")
    ap.add_argument("--stock-data", action="store_true",
                    help="read DATA with aiosmtpd's own smtp_DATA (line by "
                    "line, about half the throughput)")
    ap.add_argument("--auth-password", default=None,
                    help="AUTH takes only this password (535 otherwise)")
    ap.add_argument("--fsync", action="store_true",
                    help="fsync each message before renaming it into new/")
    args = ap.parse_args(argv)

    try:
        from aiosmtpd.smtp import AuthResult
    except ImportError:
        sys.exit("smtp-capture: needs python3-aiosmtpd; run it with "
                 "/usr/bin/python3 (not %s)" % sys.executable)

    logging.basicConfig(format="smtp-capture: aiosmtpd: %(message)s")
    logging.getLogger("mail.log").setLevel(
        logging.ERROR if args.quiet else logging.WARNING)

    for sub in ("tmp", "new"):
        os.makedirs(os.path.join(args.dir, sub), exist_ok=True)
    # Stale temporaries from a killed run are never renamed into new/.
    for name in os.listdir(os.path.join(args.dir, "tmp")):
        try:
            os.unlink(os.path.join(args.dir, "tmp", name))
        except OSError:
            pass

    tls = None
    if args.tls_cert:
        import ssl
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)

    handler = Capture(args.dir, args.faults, args.quiet,
                      not args.no_pipelining, args.fsync)
    handler.no_8bitmime = args.no_8bitmime
    smtp_class = _make_smtp_class(args.max_line_length, args.stock_data)

    def accept_any(server, session, envelope, mechanism, auth_data):
        # Any password is taken (or only --auth-password's); the login
        # is kept to be logged.
        if args.auth_password is not None:
            pw = getattr(auth_data, "password", None)
            if pw is None or pw.decode("utf-8", "replace") != \
                    args.auth_password:
                handler.log({"refused": 535, "stage": "auth",
                             "login": _login_of(auth_data),
                             "time": time.time()})
                return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    host, port = args.listen
    kw = dict(data_size_limit=args.data_size_limit, enable_SMTPUTF8=True,
              decode_data=False, tls_context=tls, authenticator=accept_any,
              loop=loop)

    def factory():
        return smtp_class(handler, **kw)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        ai = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(ai[0], ai[1], ai[2])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(ai[4])
        sock.listen(512)
    except OSError as e:
        sys.exit("smtp-capture: cannot listen on %s:%d: %s" % (host, port, e))
    server = loop.run_until_complete(
        loop.create_server(factory, sock=sock))
    print("listening %s" % _peer(sock.getsockname()[:2]), flush=True)
    handler.say("storing into %s" % os.path.abspath(args.dir))
    loop.run_until_complete(stop.wait())

    server.close()
    loop.run_until_complete(server.wait_closed())
    for proto in list(handler.active):
        if proto.transport is not None:
            proto.transport.close()
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        loop.run_until_complete(
            asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    handler.logf.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
