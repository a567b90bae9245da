#!/usr/bin/env bash
# bench-smtp.sh: fanfared's campaign delivery side by side with the peer of
# shared/bench/peers (Postfix's smtp-source -> smtp-sink), in one run:
#
#  1. peer: smtp-source -4 -d -s SESSIONS -m MSGS -l SIZE into smtp-sink;
#  2. fanfared (senders SENDERS, smtp_starttls off) sends one campaign of N
#     personalised ~20 KB messages (first_name in subject and body, tracked
#     links, the open pixel) to the same smtp-sink: launch -> status done;
#  3. the same with DKIM on (RSA 2048), set against
#     `openssl speed -seconds 3 rsa2048` sign/s measured here too; with
#     DKIM_KEYS=domain, signed instead by both keys of a sending domain
#     (POST /v1/domains bench.example: RSA 2048 and Ed25519, as every
#     tenant's mail is), set against what one core signs of both,
#     1 / (1/rsa2048 + 1/ed25519) from `openssl speed rsa2048 ed25519`;
#  4. the peer again (its two runs bracket ours); right after the first
#     peer run, libesmtp alone (esmtp-ceiling.c: the same message count and
#     size, no Fanfare work) with SENDERS and with SESSIONS threads;
#  5. (LAUNCH_1M=1) a 1,000,000-member list launched on a fanfared without
#     smtp_relay: time to the end of the snapshot, fanfared's and Redis's
#     memory.
# The size of the messages is taken from one message of each kind sent
# beforehand to contrib/smtp-capture.py (smtp-sink stores nothing); the
# DKIM one is also verified with python3-dkim.  Then a summary table.
#
#   contrib/bench/bench-smtp.sh          (or: make bench, after the others)
#
# Environment: N (100000 recipients), SENDERS (SESSIONS: as many
# connections as the peer), MSGS (20000 smtp-source
# messages), SIZE (20000 smtp-source payload bytes), SESSIONS (16, smtp-source
# -s), DKIM_KEYS (node: the node's RSA key; domain: a domain's two), LAUNCH_1M (1; 0 skips step 5), N_1M (1000000), PERF (0; 1 records
# `perf record -g` of fanfared during the DKIM-off send and prints the top
# symbols; the send is slower then), OUT (a directory to keep results.json,
# the summary and the perf report in), KEEP (1 keeps the temp directory),
# FANFARED (default ./fanfared, else the source tree's; copied into the temp
# directory first, so a rebuild during the run cannot mix two binaries).
#
# Everything runs on 127.0.0.1 on free ports: smtp-sink, smtp-capture.py,
# private redis-servers (unix socket, AOF on) and fanfared; all of it under
# one mktemp directory, and everything started here is stopped on exit,
# failure or Ctrl-C included.  Installs postfix (smtp-source, smtp-sink)
# when missing, without leaving its daemon running.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-100000}
MSGS=${MSGS:-20000}
SIZE=${SIZE:-20000}
SESSIONS=${SESSIONS:-16}
# As many SMTP connections as the peer keeps open (smtp-source -s).
SENDERS=${SENDERS:-$SESSIONS}
LAUNCH_1M=${LAUNCH_1M:-1}
N_1M=${N_1M:-1000000}
PERF=${PERF:-0}
DKIM_KEYS=${DKIM_KEYS:-node}
[[ $DKIM_KEYS == node || $DKIM_KEYS == domain ]] ||
    { echo "bench-smtp: DKIM_KEYS is node or domain" >&2; exit 1; }
OUT=${OUT:-}
PY=/usr/bin/python3
ADMIN=bench-admin-key-0123456789abcdef

pick() {   # NAME: ./NAME from the build dir, else the source tree's
	if [[ -x ./$1 ]]; then echo "$PWD/$1"; else echo "$ROOT/$1"; fi
}
FANFARED=${FANFARED:-$(pick fanfared)}
[[ -x $FANFARED ]] || { echo "bench-smtp: build first (no $FANFARED)" >&2; exit 1; }
FANFARED_SRC=$FANFARED
log() { printf '[%s] bench-smtp: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------ packages
installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}
PKGS=(postfix redis-server redis-tools openssl curl python3 python3-aiosmtpd
      python3-dkim)
((PERF)) && PKGS+=(linux-perf)
missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
	log "installing ${missing[*]}"
	SUDO=()
	[[ $(id -u) -eq 0 ]] || SUDO=(sudo)
	# No daemon of Debian's may start (postfix master on :25, redis on
	# :6379): a policy-rc.d that exits 101 while installing, and postfix
	# with "No configuration" asked beforehand.
	made_policy=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\n# temporary, from fanfare contrib/bench/bench-smtp.sh\nexit 101\n' |
		    "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
		"${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	trap '[[ $made_policy == 1 ]] && "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
	echo "postfix postfix/main_mailer_type select No configuration" |
	    "${SUDO[@]}" debconf-set-selections
	"${SUDO[@]}" apt-get update -qq
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}" >/dev/null
	if [[ $made_policy == 1 ]]; then
		"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
		made_policy=0
	fi
	trap - EXIT
	# Should a daemon have started anyway, stop it by its own pid file.
	for pf in /var/spool/postfix/pid/master.pid:master \
	    /run/redis/redis-server.pid:redis-server; do
		f=${pf%%:*} comm=${pf##*:}
		[[ -s $f ]] || continue
		pid=$(tr -dc '0-9' <"$f")
		if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]; then
			log "stopping Debian's $comm (pid $pid)"
			"${SUDO[@]}" kill -TERM "$pid" || true
		fi
	done
fi
for t in smtp-sink smtp-source redis-server redis-cli openssl curl $PY; do
	command -v "$t" >/dev/null || { echo "bench-smtp: $t missing" >&2; exit 1; }
done
((PERF)) && { command -v perf >/dev/null || { echo "bench-smtp: perf missing" >&2; exit 1; }; }

# ------------------------------------------------------------ lifecycle
TMP=$(mktemp -d /tmp/fanfare-bsmtp.XXXXXX)
PIDS=()		# everything started here, stopped in reverse order
cleanup() {
	local i p
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		p=${PIDS[i]}
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[[ ${KEEP:-0} == 1 ]] && { log "kept $TMP"; return; }
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Every phase runs this copy: a rebuild during the run changes nothing.
cp "$FANFARED_SRC" "$TMP/fanfared"
FANFARED=$TMP/fanfared

forget() {   # PID: no longer ours to stop
	local i keep=()
	for i in "${PIDS[@]}"; do [[ $i == "$1" ]] || keep+=("$i"); done
	PIDS=("${keep[@]}")
}
stop_pid() {   # PID: TERM, wait up to 10 s, KILL; then forget it
	local p=$1
	if kill -0 "$p" 2>/dev/null; then
		kill -TERM "$p" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	fi
	wait "$p" 2>/dev/null || true
	forget "$p"
}

# ------------------------------------------------------------ helper (python)
cat >"$TMP/bench.py" <<'PYEOF'
import http.client, json, os, resource, socket, subprocess, sys, time

TMP = os.environ["TMP"]
RES = os.path.join(TMP, "results.json")
HZ = os.sysconf("SC_CLK_TCK")


def load():
    try:
        with open(RES) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save(key, val):
    """Results of one label merge with what it had (dicts)."""
    r = load()
    if isinstance(val, dict) and isinstance(r.get(key), dict):
        r[key].update(val)
    else:
        r[key] = val
    with open(RES + ".new", "w") as f:
        json.dump(r, f, indent=1)
    os.replace(RES + ".new", RES)


class Redis:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def cmd(self, *a):
        a = [x if isinstance(x, bytes) else str(x).encode() for x in a]
        self.s.sendall(b"*%d\r\n" % len(a) + b"".join(
            b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, v = line[:1], line[1:]
        if t == b"+":
            return v.decode()
        if t == b"-":
            raise RuntimeError(v.decode())
        if t == b":":
            return int(v)
        if t == b"$":
            n = int(v)
            return None if n < 0 else self.f.read(n + 2)[:-2].decode()
        if t == b"*":
            n = int(v)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("RESP: %r" % line)

    def info(self, section):
        out = {}
        for l in self.cmd("INFO", section).split("\r\n"):
            if ":" in l:
                k, v = l.split(":", 1)
                out[k] = v
        return out


class Api:
    def __init__(self, port, key):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.key = key

    def call(self, method, path, body=None, ok=(200, 201, 202), raw=None,
             ctype="application/json"):
        h = {"Authorization": "Bearer " + self.key, "Content-Type": ctype}
        if raw is not None:
            h["Content-Length"] = str(os.fstat(raw.fileno()).st_size)
            data = raw
        else:
            data = json.dumps(body) if body is not None else None
        self.c.request(method, path, body=data, headers=h)
        r = self.c.getresponse()
        js = json.loads(r.read() or b"null")
        if r.status not in ok:
            sys.exit("bench.py: %s %s: %d %s" % (method, path, r.status,
                                                 json.dumps(js)[:400]))
        return js


def ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        return int(st[11]) + int(st[12])
    except (OSError, ValueError, IndexError):
        return 0


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith(field + ":"):
                return int(l.split()[1])
    return 0


def sink_count(path):
    with open(path, "rb") as f:
        f.seek(max(0, os.fstat(f.fileno()).st_size - 300))
        tail = f.read().decode("ascii", "replace")
    last = [p for p in tail.replace("\n", "\r").split("\r") if "mesg=" in p]
    return int(last[-1].split("mesg=")[1].split()[0]) if last else 0


class Cpu:
    def __init__(self, pids):
        self.pids = pids
        self.t0 = time.monotonic()
        self.k0 = {n: ticks(p) for n, p in pids.items()}
        self.m0 = machine_busy()
        self.load0 = loadavg()

    def end(self):
        wall = time.monotonic() - self.t0
        out = {n: round((ticks(p) - self.k0[n]) * 100.0 / HZ / wall, 1)
               for n, p in self.pids.items()}
        b1, t1 = machine_busy()
        out["machine_busy_pct"] = round(
            100.0 * (b1 - self.m0[0]) / max(1, t1 - self.m0[1]), 1)
        out["load1"] = [self.load0, loadavg()]
        return out


# ---- subcommands

def cmd_ceiling(label, exe, sink_out, sink_pid, port, threads, msgs, size):
    """libesmtp alone (esmtp-ceiling.c): no Fanfare work at all."""
    m0 = sink_count(sink_out)
    cpu = Cpu({"sink_cpu_pct": int(sink_pid)})
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["timeout", "600", exe, "127.0.0.1:" + port,
                          threads, msgs, size], check=True,
                         capture_output=True, text=True).stdout.split()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c = cpu.end()
    time.sleep(0.3)
    v = dict(zip(out[0::2], out[1::2]))
    wall = float(v["wall_s"])
    r = {"threads": int(threads), "msgs": int(v["sent"]),
         "failed": int(v["failed"]), "wall_s": wall,
         "msgs_per_s": float(v["msgs_per_s"]),
         "sink_received": sink_count(sink_out) - m0,
         "source_cpu_pct": round((ru1.ru_utime + ru1.ru_stime - ru0.ru_utime
                                  - ru0.ru_stime) * 100 / wall, 1)}
    r.update(c)
    save(label, r)


def cmd_ports(n):
    socks = []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))


def cmd_peer(label, sink_out, sink_pid, port, msgs, size, sessions):
    msgs, sink_pid = int(msgs), int(sink_pid)
    m0 = sink_count(sink_out)
    cpu = Cpu({"sink_cpu_pct": sink_pid})
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(["timeout", "600", "smtp-source", "-4", "-d", "-s",
                    sessions, "-m", str(msgs), "-l", size, "-f",
                    "from@example.com", "-t", "to@example.com", "-M",
                    "bench.example", "127.0.0.1:" + port], check=True)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c = cpu.end()
    time.sleep(0.3)
    got = sink_count(sink_out) - m0
    r = {"msgs": msgs, "wall_s": round(wall, 3),
         "msgs_per_s": round(msgs / wall, 1), "sink_received": got,
         "source_cpu_pct": round((ru1.ru_utime + ru1.ru_stime - ru0.ru_utime
                                  - ru0.ru_stime) * 100 / wall, 1)}
    r.update(c)
    save(label, r)
    print("%s: %d msgs in %.3f s = %.0f msgs/s, sink got %d" % (
        label, msgs, wall, msgs / wall, got), file=sys.stderr)


def template():
    """~20 KB once rendered, as MIME with both parts: the first name in the
    subject and both bodies, 10 tracked links, the pixel added by fanfared."""
    para = ("<p style=\"margin:0 0 12px;font:15px/22px Arial,sans-serif;"
            "color:#333\">Our spring selection is in: linen shirts, light "
            "jackets and the trainers you asked about, {{first_name}}. "
            "Every order ships free this week and returns stay free for "
            "thirty days, so take your time and choose what fits.</p>\n")
    rows = []
    for i in range(1, 11):
        rows.append(
            "<tr><td style=\"padding:8px;border-bottom:1px solid #eee\">"
            "<a href=\"https://shop.bench.example/spring/item-%d?utm_source="
            "newsletter&amp;utm_medium=email&amp;utm_campaign=spring\" "
            "style=\"color:#0a58ca;text-decoration:none\">Item %d of the "
            "spring selection</a></td></tr>\n" % (i, i)
            + para * 3)
    html = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<title>Spring</title></head><body style=\"margin:0\">\n"
            "<h1 style=\"font:24px Arial,sans-serif\">Hello {{first_name}}!"
            "</h1>\n<table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\">"
            "\n" + "".join(rows) + "</table>\n<p>Not interested any more? "
            "<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>.</p>\n"
            "</body></html>\n")
    text = ("Hello {{first_name}}!\n\n" + (
        "Our spring selection is in: linen shirts, light jackets and the "
        "trainers you asked about. Every order ships free this week and "
        "returns stay free for thirty days.\n\n") * 44 +
        "Unsubscribe: {{unsubscribe_url}}\n")
    return {"name": "Spring", "html": html, "text": text,
            "subject": "{{first_name}}, our spring selection is here"}


def cmd_setup(label, port, n, csv, probe_email):
    n = int(n)
    adm = Api(int(port), os.environ["ADMIN"])
    t = adm.call("POST", "/v1/tenants", {"name": "Bench " + label})
    api = Api(int(port), t["api_key"])
    t0 = time.monotonic()
    with open(csv, "rb") as f:
        im = api.call("POST", "/v1/contacts/import", raw=f, ctype="text/csv")
    t1 = time.monotonic()
    if im["created"] != n:
        sys.exit("bench.py: import created %d of %d" % (im["created"], n))
    lid = api.call("POST", "/v1/lists", {"name": "All"})["id"]
    added = 0
    for b in range(1, n + 1, 10000):
        added += api.call("POST", "/v1/lists/%s/members" % lid, {
            "emails": ["user%d@bench.example" % i
                       for i in range(b, min(n, b + 9999) + 1)]})["added"]
    t2 = time.monotonic()
    if added != n:
        sys.exit("bench.py: %d list members added of %d" % (added, n))
    probe = api.call("POST", "/v1/lists", {"name": "Probe"})["id"]
    api.call("POST", "/v1/lists/%s/members" % probe,
             {"emails": [probe_email]})
    tpl = api.call("POST", "/v1/templates", template())
    r = {"tenant": t["id"], "key": t["api_key"], "list": lid,
         "probe_list": probe, "template": tpl["id"], "links": len(tpl["links"]),
         "contacts": n, "import_s": round(t1 - t0, 2),
         "members_s": round(t2 - t1, 2)}
    save(label, r)
    print("%s: %d contacts imported in %.1f s, list of %d in %.1f s" % (
        label, n, t1 - t0, added, t2 - t1), file=sys.stderr)


def cmd_campaign(setup, port, list_field, name):
    s = load()[setup]
    api = Api(int(port), s["key"])
    print(api.call("POST", "/v1/campaigns", {
        "name": name, "template_id": s["template"],
        "list_id": s[list_field], "from": "Bench News <news@bench.example>"
    })["id"])


def cmd_run(label, setup, port, camp, sock, wait, pids):
    """Launch; the snapshot's end from the campaign hash (polled every
    2 ms); then GET /v1/campaigns/ID every 50 ms until done (wait=done)."""
    s = load()[setup]
    api = Api(int(port), s["key"])
    red = Redis(sock)
    h = "{t:%s}:camp:%s" % (s["tenant"], camp)
    pids = {k: int(v) for k, v in (x.split("=") for x in pids.split(","))}
    forks0 = int(red.info("stats").get("total_forks", 0))
    cpu = Cpu({k + "_cpu_pct": v for k, v in pids.items()})
    t0 = time.monotonic()
    js = api.call("POST", "/v1/campaigns/%s/launch" % camp)
    t_launch = time.monotonic() - t0
    while red.cmd("HGET", h, "snapshot") != "1":
        if time.monotonic() - t0 > 600:
            sys.exit("bench.py: no snapshot after 600 s")
        time.sleep(0.002)
    t_snap = time.monotonic() - t0
    r = {"queued": js.get("queued"), "launch_request_s": round(t_launch, 4),
         "snapshot_s": round(t_snap, 3)}
    if wait == "done":
        t_sent = None
        last_sent, last_t = 0, t0
        while True:
            g = api.call("GET", "/v1/campaigns/%s" % camp)
            now = time.monotonic()
            p = g["progress"]
            if t_sent is None and p["sent"] + p["failed"] >= p["total"]:
                t_sent = now - t0
            if g["status"] == "done":
                break
            if g["status"] != "sending":
                sys.exit("bench.py: campaign %s" % g["status"])
            if p["sent"] != last_sent:
                last_sent, last_t = p["sent"], now
            elif now - last_t > 120:
                sys.exit("bench.py: no progress for 120 s: %r" % p)
            time.sleep(0.05)
        t_done = time.monotonic() - t0
        r.update(cpu.end())
        r.update({"done_s": round(t_done, 3),
                  "all_sent_s": round(t_sent or t_done, 3),
                  "progress": p,
                  "msgs_per_s": round(p["sent"] / t_done, 1),
                  "msgs_per_s_to_last_sent": round(p["sent"] /
                                                   (t_sent or t_done), 1)})
    else:
        r.update(cpu.end())
    r["redis_forks"] = int(red.info("stats").get("total_forks", 0)) - forks0
    save(label, r)
    print("%s: launch -> snapshot %.3f s%s" % (label, t_snap, (
        ", -> done %.2f s, %d sent, %.0f msgs/s" % (
            r["done_s"], r["progress"]["sent"], r["msgs_per_s"]))
        if wait == "done" else ""), file=sys.stderr)


def cmd_mem(label, sock, ffpid, prefix):
    red = Redis(sock)
    m = red.info("memory")
    r = load().get(label, {})
    r[prefix + "redis_used_memory"] = int(m["used_memory"])
    r[prefix + "redis_rss"] = int(m["used_memory_rss"])
    if int(ffpid):
        r[prefix + "ff_vmrss_kb"] = status_kb(int(ffpid), "VmRSS")
        r[prefix + "ff_vmhwm_kb"] = status_kb(int(ffpid), "VmHWM")
    save(label, r)


def cmd_set(label, key, val):
    r = load().get(label, {})
    try:
        r[key] = json.loads(val)
    except ValueError:
        r[key] = val
    save(label, r)


def cmd_capture(label, capdir, pubkey_b64):
    """Size of the one captured message; with a key, its DKIM verified."""
    sys.path.insert(0, os.environ["CONTRIB"])
    import importlib
    cap = importlib.import_module("smtp-capture")
    msgs = cap.messages(capdir)
    if len(msgs) != 1:
        sys.exit("bench.py: %d messages captured, 1 expected" % len(msgs))
    data = msgs[0][1]
    head, _, body = data.partition(b"\r\n\r\n")
    r = {"bytes": len(data), "header_bytes": len(head) + 4,
         "subject": next((l.decode() for l in head.split(b"\r\n")
                          if l.startswith(b"Subject:")), ""),
         "tracked_links": data.count(b"/c/"), "pixel": b"/o/" in data}
    if pubkey_b64 == "domain":
        # Both signatures, against the records POST /v1/domains gave.
        import dkim
        txt = {d["name"].rstrip("."): d["value"].encode()
               for d in load()["domain"]["dns"]}
        d = dkim.DKIM(data)
        fn = (lambda name, timeout=5: txt.get(
            (name.decode() if isinstance(name, bytes) else name).rstrip(".")))
        n = data.split(b"\r\n\r\n")[0].lower().count(b"dkim-signature:")
        r["dkim_signatures"] = n
        r["dkim_valid"] = n == 2 and all(d.verify(idx=i, dnsfunc=fn)
                                         for i in range(n))
    elif pubkey_b64 != "-":
        import dkim
        txt = ("v=DKIM1; k=rsa; p=" + pubkey_b64).encode()
        r["dkim_valid"] = bool(dkim.verify(
            data, dnsfunc=lambda name, timeout=5: txt))
        r["dkim_header_bytes"] = len(data) - load().get(
            "size_off", {}).get("bytes", len(data))
    save(label, r)
    print("%s: %d bytes%s" % (label, len(data), "" if pubkey_b64 == "-"
          else ", DKIM valid: %s" % r["dkim_valid"]), file=sys.stderr)


def cmd_domain(label, port):
    """POST /v1/domains bench.example for the setup tenant: its DKIM
    records, to verify the captured message with."""
    api = Api(int(port), load()["setup"]["key"])
    js = api.call("POST", "/v1/domains", {"domain": "bench.example"})
    save(label, {"dns": [d for d in js.get("dns", [])
                         if d.get("purpose") == "dkim"]})


def cmd_speed(label, path):
    sign = ed = None
    with open(path) as f:
        for l in f:
            w = l.split()
            if l.startswith("rsa 2048 bits") and len(w) >= 7:
                sign = float(w[5])
            if "(Ed25519)" in l and len(w) >= 8:
                ed = float(w[6])
    if sign is None:
        sys.exit("bench.py: no 'rsa 2048 bits' line in openssl speed output")
    r = {"rsa_sign_per_s": sign, "sign_per_s": sign}
    if ed is not None:
        # One core signing each message with both keys.
        r["ed25519_sign_per_s"] = ed
        if os.environ.get("DKIM_KEYS") == "domain":
            r["sign_per_s"] = 1 / (1 / sign + 1 / ed)
    save(label, r)


def cmd_summary():
    r = load()
    p1, p2 = r.get("peer1"), r.get("peer2")
    peers = [p["msgs_per_s"] for p in (p1, p2) if p]
    peer = sum(peers) / len(peers) if peers else 0
    sign = r.get("openssl", {}).get("sign_per_s")
    off, on = r.get("off"), r.get("on")
    so, sd = r.get("size_off", {}), r.get("size_on", {})
    env = r.get("env", {})

    def ratio(a, b):
        return "%.3f" % (a / b) if a and b else "-"

    print()
    print("fanfared delivery against smtp-source -> smtp-sink (%s)" %
          env.get("when", ""))
    print("  host: %s cores, load before %s; fanfared senders %s, %s "
          "recipients; smtp-source -4 -d -s %s -m %s -l %s" % (
              env.get("cores"), env.get("load"), env.get("senders"),
              env.get("n"), env.get("sessions"), env.get("msgs"),
              env.get("size")))
    print("  fanfared: %s" % env.get("fanfared"))
    near = all(18000 <= x.get("bytes", 0) <= 22000 for x in (so, sd))
    print("  message size at the sink (one message captured with "
          "smtp-capture.py): DKIM off %s bytes (%s header), DKIM on %s "
          "bytes (%s), DKIM signature verified: %s; %s tracked links + "
          "pixel; smtp-source: %s payload bytes" % (
              so.get("bytes"), so.get("header_bytes"), sd.get("bytes"),
              "~20 KB" if near else "NOT ~20 KB", sd.get("dkim_valid"),
              so.get("tracked_links"), env.get("size")))
    print()
    fmt = "| %-38s | %9s | %13s | %14s | %8s | %7s | %7s | %7s | %7s |"
    print(fmt % ("", "msgs/s", "/ smtp-source", "/ openssl sign", "wall s",
                 "ff CPU%", "sink %", "redis %", "busy %"))
    print("|" + "|".join("-" * (w + 2) for w in (38, 9, 13, 14, 8, 7, 7, 7,
                                                  7)) + "|")
    for name, p in (("peer smtp-source (run before)", p1),
                    ("peer smtp-source (run after)", p2)):
        if p:
            print(fmt % (name, "%.0f" % p["msgs_per_s"], "", "",
                         "%.2f" % p["wall_s"],
                         "src %.0f" % p["source_cpu_pct"],
                         "%.0f" % p["sink_cpu_pct"], "-",
                         "%.0f" % p["machine_busy_pct"]))
    if peers:
        print(fmt % ("peer smtp-source (mean)", "%.0f" % peer, "1.000", "",
                     "", "", "", "", ""))
    for k in ("ceiling_senders", "ceiling_sessions"):
        x = r.get(k)
        if x:
            print(fmt % ("libesmtp alone, %d threads" % x["threads"],
                         "%.0f" % x["msgs_per_s"],
                         ratio(x["msgs_per_s"], peer), "",
                         "%.2f" % x["wall_s"],
                         "src %.0f" % x["source_cpu_pct"],
                         "%.0f" % x["sink_cpu_pct"], "-",
                         "%.0f" % x["machine_busy_pct"]))
    both = os.environ.get("DKIM_KEYS") == "domain"
    for name, x in (("fanfared DKIM off", off),
                    ("fanfared DKIM on (RSA 2048 + Ed25519)" if both else
                     "fanfared DKIM on (RSA 2048)", on)):
        if x:
            print(fmt % (name, "%.0f" % x["msgs_per_s"],
                         ratio(x["msgs_per_s"], peer),
                         ratio(x["msgs_per_s"], sign) if x is on else "",
                         "%.2f" % x["done_s"], "%.0f" % x["ff_cpu_pct"],
                         "%.0f" % x["sink_cpu_pct"],
                         "%.0f" % x["redis_cpu_pct"],
                         "%.0f" % x["machine_busy_pct"]))
    if sign:
        print(fmt % ("openssl speed rsa2048 (1 core) sign/s" if not both else
                     "openssl: rsa2048+ed25519 pairs/s (1 core)",
                     "%.0f" % sign, "", "1.000", "", "", "", "", ""))
    if both and r.get("openssl", {}).get("ed25519_sign_per_s"):
        print("  (openssl speed, 1 core: rsa2048 %.0f sign/s, ed25519 %.0f "
              "sign/s; both per message: 1/(1/rsa + 1/ed) = %.0f/s)" % (
                  r["openssl"]["rsa_sign_per_s"],
                  r["openssl"]["ed25519_sign_per_s"], sign))
    print("  (busy %%: all CPUs of the machine, other processes included; "
          "1-min load average at start -> end of each row: %s)" % ", ".join(
              "%s %s->%s" % (k, r[k]["load1"][0], r[k]["load1"][1])
              for k in ("peer1", "ceiling_senders", "ceiling_sessions",
                        "off", "on", "peer2")
              if "load1" in r.get(k, {})))
    print()
    for name, x in (("DKIM off", off), ("DKIM on", on)):
        if x:
            print("fanfared %s: %d sent, %d failed, %d deferred; launch -> "
                  "snapshot done %.3f s (%s in the log); launch -> last sent "
                  "%.2f s (%.0f msgs/s), -> status done %.2f s; peak RSS "
                  "(VmHWM) %.1f MB; redis forks during the send: %d" % (
                      name, x["progress"]["sent"], x["progress"]["failed"],
                      x["progress"]["deferred"], x["snapshot_s"],
                      x.get("log_snapshot", "?"), x["all_sent_s"],
                      x["msgs_per_s_to_last_sent"], x["done_s"],
                      x.get("ff_vmhwm_kb", 0) / 1024.0, x["redis_forks"]))
            print("  sink received %s of %s" % (x.get("sink_received"),
                                                 x["progress"]["sent"]))
    big = r.get("launch1m")
    if big:
        n = big.get("queued") or 1
        d = big["after_redis_used_memory"] - big["before_redis_used_memory"]
        print()
        print("launch of a %d-member list, no smtp_relay (nothing sent): "
              "launch -> snapshot done %.2f s (%s in the log); queued %s, "
              "stream %s entries" % (
                  n, big["snapshot_s"], big.get("log_snapshot", "?"),
                  big.get("hash_queued"), big.get("xlen")))
        print("  fanfared: VmRSS %.1f MB before launch, %.1f MB after, peak "
              "(VmHWM, fresh process) %.1f MB; CPU %.0f%% of a core during "
              "the snapshot, redis %.0f%%" % (
                  big["before_ff_vmrss_kb"] / 1024.0,
                  big["after_ff_vmrss_kb"] / 1024.0,
                  big["after_ff_vmhwm_kb"] / 1024.0, big["ff_cpu_pct"],
                  big["redis_cpu_pct"]))
        print("  redis used_memory: %.1f MB before launch (%d contacts + "
              "list), %.1f MB after (+%.1f MB = %.0f bytes per recipient "
              "for the queue and its bitmap); RSS %.1f MB after" % (
                  big["before_redis_used_memory"] / 1048576.0,
                  r.get("setup1m", {}).get("contacts", 0),
                  big["after_redis_used_memory"] / 1048576.0,
                  d / 1048576.0, d / n, big["after_redis_rss"] / 1048576.0))
        s1 = r.get("setup1m", {})
        print("  setup: import %s s, list members %s s" % (
            s1.get("import_s"), s1.get("members_s")))


if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
PYEOF
export TMP ADMIN CONTRIB=$ROOT/contrib
# In the background and waited for, so that a signal stops the run at
# once (bash runs traps only between foreground commands).
bp() {
	local p rc=0
	$PY "$TMP/bench.py" "$@" &
	p=$!
	PIDS+=("$p")
	wait "$p" || rc=$?
	forget "$p"
	return "$rc"
}

# ------------------------------------------------------------ servers
REDIS_PID=
start_redis() {   # NAME
	redis-server --port 0 --unixsocket "$TMP/$1.sock" --appendonly yes \
	    --dir "$TMP" --appendfilename "$1.aof" --appenddirname "$1-aof" \
	    --save '' >"$TMP/$1-redis.log" 2>&1 &
	REDIS_PID=$!
	PIDS+=("$REDIS_PID")
	for _ in $(seq 50); do
		redis-cli -s "$TMP/$1.sock" ping >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "bench-smtp: redis $1 did not start" >&2; tail "$TMP/$1-redis.log" >&2; exit 1
}

head -c 32 /dev/urandom | base64 >"$TMP/secret"
chmod 600 "$TMP/secret"
mkdir -p "$TMP/spool"
FF_PID='' API_PORT=''
start_ff() {   # NAME REDIS RELAY(host:port or -) DKIM(0/1)
	local name=$1 tp
	read -r tp API_PORT < <(bp ports 2)
	{
		echo "track_listen 127.0.0.1:$tp"
		echo "api_listen 127.0.0.1:$API_PORT"
		echo "redis unix:$TMP/$2.sock"
		echo "token_secret_file $TMP/secret"
		echo "public_url https://t.bench.example"
		echo "spool_dir $TMP/spool"
		echo "templates_dir $ROOT/templates"
		echo "special_categories_file $ROOT/contrib/special-categories.conf"
		echo "admin_key $ADMIN"
		echo "threads 1"
		echo "node_id bench"
		echo "senders $SENDERS"
		echo "allow_unverified_from on"	# From: bench.example
		# The domain's sealed keys open only with the data key: a
		# DKIM-off run without it signs nothing.
		if [[ $4 == 1 && $DKIM_KEYS == domain ]]; then
			echo "data_key_file $TMP/data.key"
		fi
		if [[ $3 != - ]]; then
			echo "smtp_relay $3"
			echo "smtp_starttls off"
			echo "smtp_helo bench.example"
		fi
		if [[ $4 == 1 && $DKIM_KEYS == node ]]; then
			echo "dkim_domain bench.example"
			echo "dkim_selector bench"
			echo "dkim_key_file $TMP/dkim.key"
		fi
	} >"$TMP/$name.conf"
	"$FANFARED" -t -c "$TMP/$name.conf" >"$TMP/$name.check" 2>&1 ||
	    { cat "$TMP/$name.check" >&2; exit 1; }
	"$FANFARED" -c "$TMP/$name.conf" >"$TMP/$name.log" 2>&1 &
	FF_PID=$!
	PIDS+=("$FF_PID")
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null 2>&1 && return
		sleep 0.05
	done
	echo "bench-smtp: fanfared $name did not start:" >&2; tail -20 "$TMP/$name.log" >&2; exit 1
}
log_snapshot() {   # LOGFILE CAMPAIGN: "N ms" from "snapshot complete"
	sed -n "s/.*campaign $2 of tenant [0-9]*: snapshot complete, .* in \([0-9]*\) ms.*/\1 ms/p" "$1" | tail -1
}
warnings() {   # NAME
	if grep -qiE 'warn|error|fatal' "$TMP/$1.log"; then
		log "fanfared $1 log (warnings):"
		grep -iE 'warn|error|fatal' "$TMP/$1.log" | tail -5 >&2
	fi
}

bp set env when "\"$(date '+%Y-%m-%d %H:%M')\""
bp set env fanfared "\"$FANFARED_SRC, built $(date -r "$FANFARED_SRC" '+%Y-%m-%d %H:%M:%S'), sha256 $(sha256sum "$FANFARED" | cut -c1-12)\""
bp set env cores "$(nproc)"
bp set env load "\"$(cut -d' ' -f1-3 /proc/loadavg)\""
for v in N SENDERS MSGS SIZE SESSIONS; do
	bp set env "${v,,}" "${!v}"
done

# ------------------------------------------------------------ 1. the sink, the peer
read -r SINK_PORT < <(bp ports 1)
SINK_USER=()
# smtp-sink refuses to run as root without -u (it drops to that user
# after binding); as another user -u would fail, so it is left out.
[[ $(id -u) -eq 0 ]] && SINK_USER=(-u nobody)
(cd "$TMP" && exec smtp-sink -4 -c "${SINK_USER[@]}" "127.0.0.1:$SINK_PORT" 1024) \
    >"$TMP/sink.out" 2>&1 &
SINK_PID=$!
PIDS+=("$SINK_PID")
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null && break; sleep 0.1; done
kill -0 "$SINK_PID" || { echo "bench-smtp: smtp-sink did not start:" >&2; cat "$TMP/sink.out" >&2; exit 1; }
log "smtp-sink pid $SINK_PID on 127.0.0.1:$SINK_PORT"
bp peer peer1 "$TMP/sink.out" "$SINK_PID" "$SINK_PORT" "$MSGS" "$SIZE" "$SESSIONS"
# libesmtp alone (no Redis, no rendering, no MIME, no DKIM), with
# fanfared's thread count and with smtp-source's session count: how much
# of the gap is the SMTP library's, how much Fanfare's own work.
if cc -O2 -o "$TMP/esmtp-ceiling" "$HERE/esmtp-ceiling.c" -lesmtp -lpthread; then
	log "libesmtp alone: $SENDERS and $SESSIONS threads"
	bp ceiling ceiling_senders "$TMP/esmtp-ceiling" "$TMP/sink.out" "$SINK_PID" \
	    "$SINK_PORT" "$SENDERS" "$MSGS" "$SIZE"
	if [[ $SESSIONS != "$SENDERS" ]]; then
		bp ceiling ceiling_sessions "$TMP/esmtp-ceiling" "$TMP/sink.out" \
		    "$SINK_PID" "$SINK_PORT" "$SESSIONS" "$MSGS" "$SIZE"
	fi
else
	log "libesmtp alone: cannot build esmtp-ceiling.c (libesmtp-dev?): skipped"
fi

# ------------------------------------------------------------ 2. data, message size
openssl genrsa -out "$TMP/dkim.key" 2048 2>/dev/null
chmod 600 "$TMP/dkim.key"
PUB=$(openssl rsa -in "$TMP/dkim.key" -pubout -outform DER 2>/dev/null | base64 -w0)
head -c 48 /dev/urandom >"$TMP/data.key"
chmod 600 "$TMP/data.key"

log "generating $N contacts"
seq 1 "$N" | awk 'BEGIN { print "email,first_name,last_name" }
    { print "user" $1 "@bench.example,First" $1 ",Last" }' >"$TMP/contacts.csv"
start_redis main
MAIN_REDIS=$REDIS_PID

capture_one() {   # LABEL DKIM(0/1)
	local dir=$TMP/capture-$1 camp port cap_pid
	mkdir -p "$dir"
	coproc CAP { exec $PY "$ROOT/contrib/smtp-capture.py" --listen 127.0.0.1:0 --dir "$dir" --quiet; }
	# shellcheck disable=SC2153  # set by coproc
	cap_pid=$CAP_PID
	PIDS+=("$cap_pid")
	read -r _ port <&"${CAP[0]}"
	port=${port##*:}
	start_ff "cap-$1" main "127.0.0.1:$port" "$2"
	if [[ $1 == off ]]; then
		log "setup: tenant, import of $N contacts, list, template"
		bp setup setup "$API_PORT" "$N" "$TMP/contacts.csv" user1@bench.example
	fi
	if [[ $1 == on && $DKIM_KEYS == domain ]]; then
		bp domain domain "$API_PORT"
	fi
	camp=$(bp campaign setup "$API_PORT" probe_list "probe-$1")
	bp run "probe_$1" setup "$API_PORT" "$camp" "$TMP/main.sock" "done" \
	    "ff=$FF_PID,redis=$MAIN_REDIS" 2>/dev/null
	warnings "cap-$1"
	stop_pid "$FF_PID"
	stop_pid "$cap_pid"
	if [[ $2 == 1 && $DKIM_KEYS == domain ]]; then
		bp capture "size_$1" "$dir" domain
	elif [[ $2 == 1 ]]; then bp capture "size_$1" "$dir" "$PUB"
	else bp capture "size_$1" "$dir" -; fi
}
capture_one off 0
capture_one on 1

# ------------------------------------------------------------ 3. sends
send_run() {   # LABEL DKIM(0/1)
	local camp perf_pid='' m0 m1
	start_ff "send-$1" main "127.0.0.1:$SINK_PORT" "$2"
	camp=$(bp campaign setup "$API_PORT" list "bench-$1")
	if ((PERF)) && [[ $1 == off ]]; then
		perf record -g -o "$TMP/perf.data" -p "$FF_PID" >"$TMP/perf.log" 2>&1 &
		perf_pid=$!
		PIDS+=("$perf_pid")
		sleep 0.5
	fi
	m0=$(tr '\r' '\n' <"$TMP/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
	log "campaign $camp: sending $N messages, DKIM $1"
	bp run "$1" setup "$API_PORT" "$camp" "$TMP/main.sock" "done" \
	    "ff=$FF_PID,sink=$SINK_PID,redis=$MAIN_REDIS"
	if [[ -n $perf_pid ]]; then
		kill -INT "$perf_pid" 2>/dev/null || true
		wait "$perf_pid" 2>/dev/null || true
		stop_pid "$perf_pid"
	fi
	sleep 0.3
	m1=$(tr '\r' '\n' <"$TMP/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
	bp set "$1" sink_received $((m1 - m0))
	bp set "$1" log_snapshot "\"$(log_snapshot "$TMP/send-$1.log" "$camp")\""
	bp mem "$1" "$TMP/main.sock" "$FF_PID" ""
	warnings "send-$1"
	stop_pid "$FF_PID"
}
send_run off 0
log "openssl speed -seconds 3 rsa2048 ed25519"
openssl speed -seconds 3 rsa2048 ed25519 >"$TMP/speed.txt" 2>/dev/null
bp speed openssl "$TMP/speed.txt"
send_run on 1
bp peer peer2 "$TMP/sink.out" "$SINK_PID" "$SINK_PORT" "$MSGS" "$SIZE" "$SESSIONS"
stop_pid "$SINK_PID"
stop_pid "$MAIN_REDIS"

# ------------------------------------------------------------ 5. launch 1M
if [[ $LAUNCH_1M == 1 ]]; then
	log "launch of $N_1M: generating contacts"
	seq 1 "$N_1M" | awk 'BEGIN { print "email,first_name,last_name" }
	    { print "user" $1 "@bench.example,First" $1 ",Last" }' >"$TMP/contacts1m.csv"
	start_redis big
	BIG_REDIS=$REDIS_PID
	start_ff setup-1m big - 0
	log "launch of $N_1M: import and list"
	bp setup setup1m "$API_PORT" "$N_1M" "$TMP/contacts1m.csv" user1@bench.example
	camp=$(bp campaign setup1m "$API_PORT" list "launch-1m")
	stop_pid "$FF_PID"
	rm -f "$TMP/contacts1m.csv"
	# A fresh process: its VmHWM is the launch's, not the import's.
	start_ff launch-1m big - 0
	sleep 0.5
	bp mem launch1m "$TMP/big.sock" "$FF_PID" before_
	bp run launch1m setup1m "$API_PORT" "$camp" "$TMP/big.sock" snapshot \
	    "ff=$FF_PID,redis=$BIG_REDIS"
	sleep 0.5
	bp mem launch1m "$TMP/big.sock" "$FF_PID" after_
	T1M=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["setup1m"]["tenant"])' "$TMP/results.json")
	bp set launch1m xlen "$(redis-cli -s "$TMP/big.sock" XLEN "{t:$T1M}:camp:$camp:q")"
	bp set launch1m hash_queued "$(redis-cli -s "$TMP/big.sock" HGET "{t:$T1M}:camp:$camp" queued)"
	bp set launch1m log_snapshot "\"$(log_snapshot "$TMP/launch-1m.log" "$camp")\""
	warnings launch-1m
	stop_pid "$FF_PID"
	stop_pid "$BIG_REDIS"
fi

# ------------------------------------------------------------ 4. summary
bp summary | tee "$TMP/summary.txt"
if ((PERF)) && [[ -s $TMP/perf.data ]]; then
	echo
	echo "perf: fanfared during the DKIM-off send, top symbols (children excluded)"
	perf report -i "$TMP/perf.data" --no-children --stdio --sort dso,symbol \
	    -g none --percent-limit 0.7 2>/dev/null | grep -v '^#' | grep -v '^$' |
	    head -40 | tee "$TMP/perf-top.txt"
fi
if [[ -n $OUT ]]; then
	mkdir -p "$OUT"
	cp "$TMP/results.json" "$TMP/summary.txt" "$OUT/"
	[[ -s $TMP/perf-top.txt ]] && cp "$TMP/perf-top.txt" "$OUT/"
	log "results in $OUT"
fi
