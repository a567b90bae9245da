#!/usr/bin/env bash
# run.sh: the main job.  On a Debian 12 machine it installs what is
# missing and builds (contrib/setup.sh), then starts, all under ./run/
# (kept between runs):
#   - its own redis-server (unix socket, append-only file),
#   - a local SMTP capture server (contrib/smtp-capture.py), which stores
#     every mail it gets in run/mail/new/*.eml,
#   - fanfared, relaying through that capture server,
# and runs a demo campaign through the JSON API: a tenant, the contacts of
# templates/demo-contacts.csv, a list, the demo-campaign template, one
# contact opted out before launch and one quarantined (a special-category
# value), then launch.  It shows the progress until the campaign is done,
# "opens" one captured mail like a reader would (its pixel, its first
# link), prints the campaign's stats and progress, says where to look,
# and stays in the foreground until Ctrl-C.
#
# A second run reuses the tenant, the list and the template (run/demo.env)
# and sends a new campaign.
#
#   contrib/run.sh
#   FF_TRACK_PORT=9080 FF_API_PORT=9081 FF_SMTP_PORT=2526 contrib/run.sh
#   FF_DEMO_ONESHOT=1 contrib/run.sh    everything, print, stop, exit 0
#
# More settings: FF_RUN_DIR (instead of ./run), FF_NO_SETUP=1 (no apt, no
# build: use the built binaries), FANFARED / FANFARECTL (the binaries to
# use, default ./fanfared and ./fanfarectl), FF_DEMO_TIMEOUT (seconds to
# wait for the campaign, default 120).
#
# It stops only the processes it started, by their pids.
set -euo pipefail
# Started in the background by a non-interactive shell (a CI step, a
# script), this shell gets SIGINT ignored, and bash cannot trap a signal
# ignored on entry: come back once with SIGINT restored, so that it stops
# the demo as Ctrl-C does.
sigign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/$$/status 2>/dev/null || true)
if [[ -z ${FF_RUN_REEXEC:-} && -n $sigign ]] && ((0x$sigign & 2)); then
	export FF_RUN_REEXEC=1
	exec env --default-signal=INT "$BASH" "${BASH_SOURCE[0]}" "$@"
fi
# A relative FF_RUN_DIR is the caller's, not the source tree's.
if [[ -n ${FF_RUN_DIR:-} ]]; then
	FF_RUN_DIR=$(realpath -m -- "$FF_RUN_DIR")
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TRACK_PORT=${FF_TRACK_PORT:-8080}
API_PORT=${FF_API_PORT:-8081}
RUN=${FF_RUN_DIR:-$ROOT/run}
TIMEOUT=${FF_DEMO_TIMEOUT:-120}
ONESHOT=${FF_DEMO_ONESHOT:-0}
PY=/usr/bin/python3
SOCK=$RUN/redis.sock
CONF=$RUN/fanfare.conf
MAIL=$RUN/mail
ENVF=$RUN/demo.env
CSV=$ROOT/templates/demo-contacts.csv
TPL=$ROOT/templates/demo-campaign
FROM="Fanfare Demo <demo@example.com>"
# The contact the demo opts out before the launch (in the CSV).
OPTOUT_EMAIL=oscar.lindqvist@example.net
# A browser: the tracking listener counts curl's own agent as a person
# too, but this is what a mail reader's click looks like.
UA="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
BASE=http://127.0.0.1:$TRACK_PORT
API=http://127.0.0.1:$API_PORT

die() { echo "run.sh: $*" >&2; exit 1; }

for v in TRACK_PORT API_PORT; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} == 0 || ${!v} > 65535)); then
		die "FF_$v=${!v} is not a port number"
	fi
done
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "FF_DEMO_TIMEOUT=$TIMEOUT is not a number of seconds"
# A unix socket path must fit in 108 bytes.
((${#SOCK} < 100)) || die "$SOCK is too long for a unix socket: set FF_RUN_DIR to a shorter directory"

if [[ ${FF_NO_SETUP:-0} != 1 ]]; then
	bash contrib/setup.sh
fi
FANFARED=${FANFARED:-$ROOT/fanfared}
FANFARECTL=${FANFARECTL:-$ROOT/fanfarectl}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
[[ -x $FANFARED && -x $FANFARECTL ]] ||
    die "no $FANFARED or $FANFARECTL: build first (make), or run without FF_NO_SETUP=1"
for c in "$REDIS_SERVER" redis-cli curl "$PY"; do
	command -v "$c" >/dev/null || die "$c is missing: run contrib/setup.sh (or without FF_NO_SETUP=1)"
done
"$PY" -c 'import aiosmtpd' 2>/dev/null ||
    die "$PY has no aiosmtpd: apt-get install python3-aiosmtpd (contrib/setup.sh does)"

mkdir -p "$RUN/redis" "$RUN/spool" "$MAIL"
chmod 700 "$RUN"
# Secrets: made once, kept between runs.
if [[ ! -s $RUN/token.secret ]]; then
	(umask 077; head -c 32 /dev/urandom | base64 >"$RUN/token.secret")
fi
# The key that seals sending domains' DKIM keys (POST /v1/domains).
if [[ ! -s $RUN/data.key ]]; then
	(umask 077; head -c 32 /dev/urandom | base64 >"$RUN/data.key")
fi
if [[ ! -s $RUN/admin.key ]]; then
	(umask 077; head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40 >"$RUN/admin.key")
fi
chmod 600 "$RUN/token.secret" "$RUN/admin.key" "$RUN/data.key"
ADMIN_KEY=$(<"$RUN/admin.key")
# Paths in it are absolute: rewritten only when the tree has moved.
if ! grep -qxF "unixsocket $SOCK" "$RUN/redis.conf" 2>/dev/null; then
	cat >"$RUN/redis.conf" <<EOC
# Fanfare's local redis (contrib/run.sh): unix socket only, AOF on.
port 0
unixsocket $SOCK
unixsocketperm 700
dir $RUN/redis
appendonly yes
appendfsync everysec
daemonize no
logfile $RUN/redis.log
EOC
fi

# ------------------------------------------------------------ processes

STARTED=() NAMES=()
# start NAME LOG CMD...: in the background, in a process group of its
# own, so that the terminal's Ctrl-C reaches only this script, which then
# stops everything in order (fanfared first, Redis last).
start() {
	local name=$1 log=$2
	shift 2
	set -m
	"$@" </dev/null 2>>"$log" &
	STARTED+=($!) NAMES+=("$name")
	set +m
}
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	local i pid
	for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
		pid=${STARTED[i]}
		kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; continue; }
		echo "stopping ${NAMES[i]} (pid $pid)" >&2
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done
	STARTED=() NAMES=()
}
trap cleanup EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM HUP

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
rcli() { redis-cli -s "$SOCK" "$@"; }

for p in "$TRACK_PORT" "$API_PORT"; do
	if in_use "$p"; then
		die "port $p is already in use: set FF_TRACK_PORT / FF_API_PORT"
	fi
done

# Redis.
if [[ $(rcli PING 2>/dev/null) == PONG ]]; then
	echo "using the redis-server already listening on $SOCK"
else
	start redis-server /dev/null "$REDIS_SERVER" "$RUN/redis.conf"
	for _ in $(seq 100); do [[ $(rcli PING 2>/dev/null) == PONG ]] && break; sleep 0.1; done
	if [[ $(rcli PING 2>/dev/null) != PONG ]]; then
		tail -5 "$RUN/redis.log" >&2 || true
		die "redis-server did not start; see $RUN/redis.log"
	fi
fi

# The SMTP capture server: FF_SMTP_PORT, or 2525, or any free port.
if [[ -n ${FF_SMTP_PORT:-} ]]; then
	SMTP_PORT=$FF_SMTP_PORT
	[[ $SMTP_PORT =~ ^[0-9]+$ ]] || die "FF_SMTP_PORT=$SMTP_PORT is not a port number"
	if in_use "$SMTP_PORT"; then
		die "port $SMTP_PORT (FF_SMTP_PORT) is already in use"
	fi
else
	SMTP_PORT=2525
	if in_use "$SMTP_PORT"; then
		echo "port 2525 is in use: the SMTP capture server takes a free port"
		SMTP_PORT=0
	fi
fi
: >"$RUN/smtp.out"
start smtp-capture "$RUN/smtp-capture.log" \
    "$PY" "$ROOT/contrib/smtp-capture.py" --listen "127.0.0.1:$SMTP_PORT" \
    --dir "$MAIL" --quiet >"$RUN/smtp.out"
SMTP_PID=${STARTED[-1]}
line=
for _ in $(seq 100); do
	line=$(grep -m1 '^listening ' "$RUN/smtp.out" || true)
	[[ -n $line ]] && break
	kill -0 "$SMTP_PID" 2>/dev/null || break
	sleep 0.1
done
if [[ -z $line ]]; then
	tail -5 "$RUN/smtp-capture.log" >&2 || true
	die "the SMTP capture server did not start; see $RUN/smtp-capture.log"
fi
SMTP_PORT=${line##*:}

# The bounce listener (DSNs and complaints come back to it): FF_BOUNCE_PORT,
# or 2526, or any free port.
BOUNCE_PORT=${FF_BOUNCE_PORT:-2526}
[[ $BOUNCE_PORT =~ ^[0-9]+$ ]] || die "FF_BOUNCE_PORT=$BOUNCE_PORT is not a port number"
if in_use "$BOUNCE_PORT"; then
	[[ -n ${FF_BOUNCE_PORT:-} ]] && die "port $BOUNCE_PORT (FF_BOUNCE_PORT) is already in use"
	BOUNCE_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi

# fanfared.  The file holds the admin key: private.
(umask 077; cat >"$CONF" <<EOC
# Written by contrib/run.sh (rewritten on every run).
track_listen 127.0.0.1:$TRACK_PORT
api_listen 127.0.0.1:$API_PORT
redis unix:$SOCK
token_secret_file $RUN/token.secret
public_url $BASE
spool_dir $RUN/spool
templates_dir $ROOT/templates
special_categories_file $ROOT/contrib/special-categories.conf
threads 2
admin_key $ADMIN_KEY
smtp_relay 127.0.0.1:$SMTP_PORT
smtp_starttls off
senders 2
# The demo sends as made-up domains (acme.test); a real node leaves this
# off, so a tenant sends only from the domains it verified (/v1/domains:
# the demo can add them, and verify asks the system's DNS).
allow_unverified_from on
data_key_file $RUN/data.key
# Every message leaves with its own envelope sender bTOKEN@bounce_domain;
# what comes back there (a DSN, a complaint) reaches this listener.
bounce_domain bounces.demo.test
bounce_listen 127.0.0.1:$BOUNCE_PORT
EOC
)
chmod 600 "$CONF"
if ! out=$("$FANFARED" -t -c "$CONF" 2>&1); then
	echo "$out" >&2
	die "fanfared refuses $CONF"
fi
# The key in the file is the one this script uses.
start fanfared "$RUN/fanfared.log" env -u FANFARE_ADMIN_KEY "$FANFARED" -c "$CONF"
FF_PID=${STARTED[-1]}
for _ in $(seq 100); do
	curl -fsS -o /dev/null "$API/healthz" 2>/dev/null &&
	    curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break
	kill -0 "$FF_PID" 2>/dev/null || break
	sleep 0.1
done
if ! curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
	echo "fanfared did not come up; last lines of $RUN/fanfared.log:" >&2
	tail -20 "$RUN/fanfared.log" >&2
	exit 1
fi
echo "Fanfare is up: tracking on $BASE, API on $API, SMTP capture on 127.0.0.1:$SMTP_PORT"

# ------------------------------------------------------------ the API

# api METHOD PATH KEY [curl args...]: sets ST (HTTP status) and BODY.
api() {
	local m=$1 p=$2 key=$3 out
	shift 3
	if ! out=$(curl -sS -X "$m" -H "Authorization: Bearer $key" \
	    -w '\n%{http_code}' "$@" "$API$p" 2>&1); then
		ST=000 BODY=$out
		return 0
	fi
	ST=${out##*$'\n'} BODY=${out%$'\n'*}
}
# expect STATUS WHAT: dies unless the last api call answered STATUS.
expect() {
	[[ $ST == "$1" ]] || die "$2: HTTP $ST (expected $1): $BODY"
}
# jval EXPR [ARG...]: EXPR (Python, on the JSON j read from stdin, the
# ARGs in sys.argv[2:]), printed.
jval() {
	"$PY" -c 'import json, sys
j = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$@"
}
JSON=(-H 'Content-Type: application/json' --data-binary)
pretty() { "$PY" -m json.tool --no-ensure-ascii <<<"$1" 2>/dev/null || echo "$1"; }

# The ids and key of earlier runs: KEY=VALUE lines, read, not sourced.
DEMO_TENANT='' DEMO_KEY='' DEMO_LIST='' DEMO_TEMPLATE='' DEMO_CAMPAIGN=''
if [[ -f $ENVF ]]; then
	while IFS='=' read -r k v; do
		case $k in
		DEMO_TENANT | DEMO_KEY | DEMO_LIST | DEMO_TEMPLATE | DEMO_CAMPAIGN)
			if [[ $v =~ ^[A-Za-z0-9_.-]*$ ]]; then printf -v "$k" '%s' "$v"; fi ;;
		esac
	done <"$ENVF"
fi
save_env() {
	(umask 077; cat >"$ENVF.tmp" <<EOE
# contrib/run.sh's demo: reused by the next run (delete to start afresh).
DEMO_TENANT=$DEMO_TENANT
DEMO_KEY=$DEMO_KEY
DEMO_LIST=$DEMO_LIST
DEMO_TEMPLATE=$DEMO_TEMPLATE
DEMO_CAMPAIGN=$DEMO_CAMPAIGN
EOE
	)
	mv -f "$ENVF.tmp" "$ENVF"
}

echo
# Still there?  (Redis's data may have been deleted since.)
if [[ -n $DEMO_KEY ]]; then
	api GET "/v1/lists/${DEMO_LIST:-0}" "$DEMO_KEY"
	case $ST in
	200) ;;
	404) DEMO_LIST='' ;;
	401 | 403) DEMO_TENANT='' DEMO_KEY='' DEMO_LIST='' DEMO_TEMPLATE='' ;;
	*) die "checking the demo tenant of $ENVF: HTTP $ST: $BODY" ;;
	esac
fi
if [[ -z $DEMO_KEY ]]; then
	api POST /v1/tenants "$ADMIN_KEY" "${JSON[@]}" '{"name": "Fanfare demo"}'
	expect 201 "creating the demo tenant"
	DEMO_TENANT=$(jval 'j["id"]' <<<"$BODY")
	DEMO_KEY=$(jval 'j["api_key"]' <<<"$BODY")
	DEMO_LIST='' DEMO_TEMPLATE=''
	save_env
	echo "tenant $DEMO_TENANT created (POST /v1/tenants)"
else
	echo "tenant $DEMO_TENANT reused (from $ENVF)"
fi
K=$DEMO_KEY

# Contacts: the CSV as it is (an upsert: harmless on a re-run).
api POST /v1/contacts/import "$K" -H 'Content-Type: text/csv' --data-binary "@$CSV"
expect 200 "importing $CSV"
jval '"%d contacts imported from %s (POST /v1/contacts/import): %d created, %d updated, %d rejected%s" % (
    j["rows"], sys.argv[2], j["created"], j["updated"], j["rejected_count"],
    "".join(", %s: %s" % (r.get("email"), r["error"]) for r in j["rejected"]))' \
    "${CSV#"$ROOT"/}" <<<"$BODY" 2>/dev/null || echo "contacts imported: $BODY"
EMAILS_JSON=$("$PY" -c 'import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    print(json.dumps({"emails": [r["email"] for r in csv.DictReader(f)]}))' "$CSV")

# The list: all of them.
if [[ -z $DEMO_LIST ]]; then
	api POST /v1/lists "$K" "${JSON[@]}" '{"name": "Fanfare demo newsletter"}'
	expect 201 "creating the demo list"
	DEMO_LIST=$(jval 'j["id"]' <<<"$BODY")
	save_env
fi
api POST "/v1/lists/$DEMO_LIST/members" "$K" "${JSON[@]}" "$EMAILS_JSON"
expect 200 "adding the contacts to list $DEMO_LIST"
added=$(jval 'j["added"]' <<<"$BODY")
api GET "/v1/lists/$DEMO_LIST" "$K"
expect 200 "reading list $DEMO_LIST"
echo "list $DEMO_LIST: $(jval 'j["members"]' <<<"$BODY") members ($added added now)"

# One reader asked to get no more mail.
api POST /v1/optouts "$K" "${JSON[@]}" "{\"email\": \"$OPTOUT_EMAIL\"}"
expect 200 "opting out $OPTOUT_EMAIL"
echo "opted out $OPTOUT_EMAIL (POST /v1/optouts): it will be skipped"
# What the server thinks of each contact: the opted-out one, and the one
# whose attributes reveal a special category, are not active.
"$PY" - "$API" "$K" "$CSV" <<'PY' || true
import csv, json, sys, urllib.parse, urllib.request
api, key, path = sys.argv[1:4]
with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
for r in rows:
    req = urllib.request.Request(
        api + "/v1/contacts/" + urllib.parse.quote(r["email"], safe="@"),
        headers={"Authorization": "Bearer " + key})
    with urllib.request.urlopen(req, timeout=10) as resp:
        c = json.load(resp)
    if c.get("status") != "active":
        why = {"quarantined": "a special-category value in its attributes "
               "(%s): never mailed" % json.dumps(c.get("attributes"),
                                                  ensure_ascii=False),
               "opted_out": "skipped"}.get(c.get("status"), "")
        print("  %-30s %s: %s" % (c["email"], c["status"], why))
PY

# The template, from the files (built as JSON by Python, not by hand).
TPL_JSON=$("$PY" -c 'import json, sys
base = sys.argv[1]
def read(ext):
    with open(base + ext, encoding="utf-8") as f:
        return f.read()
print(json.dumps({"name": "Fanfare demo newsletter",
                  "subject": read(".subject").strip(),
                  "html": read(".html"), "text": read(".txt")}))' "$TPL")
if [[ -n $DEMO_TEMPLATE ]]; then
	api PUT "/v1/templates/$DEMO_TEMPLATE" "$K" "${JSON[@]}" "$TPL_JSON"
	[[ $ST == 200 ]] || DEMO_TEMPLATE=''
fi
if [[ -z $DEMO_TEMPLATE ]]; then
	api POST /v1/templates "$K" "${JSON[@]}" "$TPL_JSON"
	expect 201 "saving the template $TPL.html/.txt/.subject"
	DEMO_TEMPLATE=$(jval 'j["id"]' <<<"$BODY")
	save_env
fi
echo "template $DEMO_TEMPLATE from ${TPL#"$ROOT"/}.{subject,html,txt}: $(jval 'len(j["links"])' <<<"$BODY") tracked links"

# A new campaign every run: a sent campaign is not launched again.
CAMP_JSON=$("$PY" -c 'import json, sys, time
print(json.dumps({"name": "Demo " + time.strftime("%Y-%m-%d %H:%M:%S"),
                  "template_id": sys.argv[1], "list_id": sys.argv[2],
                  "from": sys.argv[3]}))' "$DEMO_TEMPLATE" "$DEMO_LIST" "$FROM")
api POST /v1/campaigns "$K" "${JSON[@]}" "$CAMP_JSON"
expect 201 "creating the campaign"
C=$(jval 'j["id"]' <<<"$BODY")
DEMO_CAMPAIGN=$C
save_env
api POST "/v1/campaigns/$C/launch" "$K"
expect 202 "launching campaign $C"
echo "campaign $C launched (POST /v1/campaigns/$C/launch): $(jval 'j["queued"]' <<<"$BODY") queued"
echo

# ------------------------------------------------------------ progress

# progress_line JSON: "STATUS DONE LINE" (DONE: 1 when finished).
progress_line() {
	"$PY" -c 'import json, sys
j = json.loads(sys.argv[1]); p = j["progress"]; tty = sys.argv[2] == "1"
sup = p["suppressed"]; nsup = sum(sup.values())
total = p["total"]; handled = p["sent"] + p["failed"] + nsup
reasons = ", ".join("%s %d" % (k.replace("_", " "), v)
                    for k, v in sup.items() if v)
line = "sent %d/%d, suppressed %d%s" % (p["sent"], total, nsup,
                                         " (%s)" % reasons if reasons else "")
if p["failed"] or p["deferred"]:
    line += ", failed %d, deferred %d" % (p["failed"], p["deferred"])
if tty:
    w = 24
    n = w * handled // total if total else 0
    line = "[%s%s] %s" % ("#" * n, "." * (w - n), line)
print(j["status"], int(j["status"] in ("done", "cancelled")), line)' "$1" "$2"
}

TTY=0
[[ -t 1 ]] && TTY=1
echo "sending campaign $C through the capture server:"
start_s=$SECONDS last='' status=''
while :; do
	api GET "/v1/campaigns/$C" "$K"
	expect 200 "reading campaign $C"
	PROGRESS=$BODY
	read -r status fin line < <(progress_line "$PROGRESS" "$TTY") ||
	    die "campaign $C: unexpected answer: $PROGRESS"
	if ((TTY)); then
		printf '\r\033[K  %-8s %s' "$status" "$line"
	elif [[ "$status $line" != "$last" ]]; then
		printf '  %3ds %-8s %s\n' $((SECONDS - start_s)) "$status" "$line"
	fi
	last="$status $line"
	((fin)) && break
	if ! kill -0 "$FF_PID" 2>/dev/null; then
		((TTY)) && echo
		tail -20 "$RUN/fanfared.log" >&2
		die "fanfared exited while sending; see $RUN/fanfared.log"
	fi
	if ((SECONDS - start_s >= TIMEOUT)); then
		((TTY)) && echo
		die "campaign $C is still '$status' after $TIMEOUT s ($line); see $RUN/fanfared.log and $MAIL/log.jsonl (FF_DEMO_TIMEOUT waits longer)"
	fi
	sleep 0.2
done
((TTY)) && echo
[[ $status == "done" ]] || die "campaign $C ended '$status', not done"
echo "campaign $C is done in $((SECONDS - start_s)) s"
echo

# ------------------------------------------------------------ a reader

# One mail of this campaign (its Message-ID says <c.C.k.CONTACT.t.T@...>),
# the first contact of the CSV that got one: its pixel and first link.
MAILINFO=$("$PY" - "$MAIL/new" "$DEMO_TENANT" "$C" "$CSV" <<'PY'
import csv, email, email.policy, html.parser, os, re, sys
new, tenant, camp, path = sys.argv[1:5]
want = re.compile(r"<c\.%s\.k\.\d+\.t\.%s@" % (re.escape(camp), re.escape(tenant)))
with open(path, newline="", encoding="utf-8") as f:
    order = [r["email"].lower() for r in csv.DictReader(f)]
mails = {}
count = 0
for name in sorted(os.listdir(new)):
    if not name.endswith(".eml"):
        continue
    with open(os.path.join(new, name), "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    if not want.match(msg.get("Message-ID", "")):
        continue
    count += 1
    mails.setdefault(str(msg["To"]).lower(), (os.path.join(new, name), msg))
if not mails:
    sys.exit("no mail of campaign %s in %s" % (camp, new))
to = next((a for a in order if a in mails), sorted(mails)[0])
file, msg = mails[to]

class Links(html.parser.HTMLParser):
    pixel = click = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and "/o/" in (a.get("src") or "") and not self.pixel:
            self.pixel = a["src"]
        if tag == "a" and "/c/" in (a.get("href") or "") and not self.click:
            self.click = a["href"]

p = Links()
p.feed(msg.get_body(preferencelist=("html",)).get_content())
if not p.pixel or not p.click:
    sys.exit("%s: no open pixel or click link in its html part" % file)
print(count)
print(file)
print(msg["To"])
print(msg["Subject"])
print(p.pixel)
print(p.click)
PY
) || die "cannot read the captured mails in $MAIL/new"
{
	read -r NMAILS
	read -r MAILFILE
	read -r MAILTO
	read -r MAILSUBJ
	read -r PIXEL
	read -r CLICK
} <<<"$MAILINFO"
echo "$NMAILS mails of campaign $C captured in $MAIL/new/"
echo "opening the one to $MAILTO, as a reader would:"
echo "  file     $MAILFILE"
echo "  subject  $MAILSUBJ"
echo "  pixel    $PIXEL"
echo "  link     $CLICK"
tok=${CLICK##*/c/}
if fields=$("$FANFARECTL" token verify --config "$CONF" "$tok" 2>/dev/null); then
	echo "  (the link's token carries $fields)"
fi

api GET "/v1/campaigns/$C/stats" "$K"
expect 200 "reading the stats of campaign $C"
o0=$(jval 'j["opens"]["total"]' <<<"$BODY")
c0=$(jval 'j["clicks"]["total"]' <<<"$BODY")
curl -sS -A "$UA" -o /dev/null -w '  GET pixel  %{http_code} %{content_type}, %{size_download} bytes\n' "$PIXEL"
curl -sS -A "$UA" -o /dev/null -w '  GET link   %{http_code} -> %{redirect_url}\n' "$CLICK"
# Events reach Redis asynchronously (spool, then batches): wait for them.
moved=0
for _ in $(seq 100); do
	api GET "/v1/campaigns/$C/stats" "$K"
	if [[ $ST == 200 ]] && jval 'int(j["opens"]["total"] > int(sys.argv[2]) and j["clicks"]["total"] > int(sys.argv[3]))' "$o0" "$c0" <<<"$BODY" | grep -qx 1; then
		moved=1
		break
	fi
	sleep 0.1
done
STATS=$BODY
api GET "/v1/campaigns/$C" "$K"
PROGRESS=$BODY
echo
echo "campaign $C stats (GET /v1/campaigns/$C/stats):"
pretty "$STATS"
echo "campaign $C progress (GET /v1/campaigns/$C):"
pretty "$PROGRESS"
if ((!moved)); then
	echo "run.sh: the open and the click did not reach the counters within 10 s; see $RUN/fanfared.log" >&2
	((ONESHOT == 1)) && exit 1
fi

# ------------------------------------------------------------ identity, bounces

# A sending domain: its DKIM keys (RSA and Ed25519) and the records to
# publish.  The demo's From (example.com) is not ours to publish, so it
# stays pending; allow_unverified_from lets the demo send meanwhile.
echo
FROM_DOMAIN=${FROM##*@}
FROM_DOMAIN=${FROM_DOMAIN%>}
api POST /v1/domains "$K" -H 'Content-Type: application/json' \
    -d "{\"domain\": \"$FROM_DOMAIN\"}"
if [[ $ST == 409 ]]; then
	api GET "/v1/domains/$FROM_DOMAIN" "$K"
	expect 200 "reading the sending domain $FROM_DOMAIN"
else
	expect 201 "adding the sending domain $FROM_DOMAIN"
fi
echo "sending domain $FROM_DOMAIN ($(jval 'j["status"]' <<<"$BODY"); POST /v1/domains), the records to publish before POST /v1/domains/$FROM_DOMAIN/verify:"
jval '"\n".join("  %-6s %-34s %s" % (r["type"], r["name"], r["value"] if len(r["value"]) < 60 else r["value"][:57] + "...") for r in j["dns"])' <<<"$BODY"

# What a receiving MTA and a mailbox provider send back later, to the
# envelope sender of two of this campaign's mails: a DSN (RFC 3464, a
# hard bounce) and an ARF complaint (RFC 5965).
BOUNCED=$("$PY" - "$MAIL" "$DEMO_TENANT" "$C" "$MAILTO" "$BOUNCE_PORT" <<'PY'
import email, email.message, email.policy, email.utils, json, os, re, smtplib, sys
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
mail, tenant, camp, reader, port = sys.argv[1:6]
want = re.compile(r"<c\.%s\.k\.\d+\.t\.%s@" % (re.escape(camp), re.escape(tenant)))
picked = []
with open(os.path.join(mail, "log.jsonl"), "rb") as f:
    for line in f:
        e = json.loads(line)
        if "file" not in e or e["rcpt_tos"][0].lower() == reader.lower():
            continue
        with open(os.path.join(mail, e["file"]), "rb") as g:
            m = email.message_from_binary_file(g, policy=email.policy.default)
        if want.match(m.get("Message-ID", "")):
            picked.append((e["rcpt_tos"][0], e["mail_from"]))
        if len(picked) == 2:
            break
if len(picked) < 2:
    sys.exit(0)     # earlier runs bounced or opted out nearly everyone

def dsn(rcpt):
    m = MIMEMultipart("report", report_type="delivery-status")
    m["From"], m["Subject"] = "MAILER-DAEMON@mx.demo.test", "Undelivered Mail"
    m["Date"] = email.utils.formatdate()
    m.attach(MIMEText("Your message could not be delivered.\n"))
    ds = MIMEBase("message", "delivery-status")
    a, b = email.message.Message(), email.message.Message()
    a["Reporting-MTA"] = "dns; mx.demo.test"
    b["Final-Recipient"] = "rfc822; " + rcpt
    b["Action"], b["Status"] = "failed", "5.1.1"
    b["Diagnostic-Code"] = "smtp; 550 5.1.1 no such mailbox"
    ds.set_payload([a, b])
    m.attach(ds)
    return m

def arf(rcpt):
    m = MIMEMultipart("report", report_type="feedback-report")
    m["From"], m["Subject"] = "fbl@provider.demo.test", "Abuse report"
    m["Date"] = email.utils.formatdate()
    m.attach(MIMEText("A user marked this message as spam.\n"))
    fr = MIMEBase("message", "feedback-report")
    fr.set_payload("Feedback-Type: abuse\nUser-Agent: demo/1.0\nVersion: 1\n"
                   "Original-Rcpt-To: <%s>\n" % rcpt)
    m.attach(fr)
    o = email.message.EmailMessage()
    o["To"], o["Subject"] = rcpt, "the campaign"
    o.set_content("...\n")
    m.attach(MIMEMessage(o))
    return m

with smtplib.SMTP("127.0.0.1", int(port), timeout=10) as s:
    for (rcpt, verp), make in zip(picked, (dsn, arf)):
        s.sendmail("", [verp], make(rcpt).as_bytes(policy=email.policy.SMTP))
        print(rcpt, verp)
PY
) || die "cannot send the demo's DSN and complaint to the bounce listener (127.0.0.1:$BOUNCE_PORT)"
if [[ -z $BOUNCED ]]; then
	echo "(no DSN or complaint this time: earlier runs bounced or opted out"
	echo " all but one of the demo's contacts; rm -rf $RUN starts afresh)"
else
	{ read -r HARD HARD_VERP; read -r COMPLAINED COMPLAINED_VERP; } <<<"$BOUNCED"
	echo "the bounce listener (bounce_listen 127.0.0.1:$BOUNCE_PORT) took, as a receiving MTA would send them:"
	echo "  a DSN (550 5.1.1) to $HARD_VERP, the envelope sender of the mail to $HARD"
	echo "  an ARF complaint to $COMPLAINED_VERP, of the mail to $COMPLAINED"
	fed=0
	for _ in $(seq 100); do
		api GET "/v1/campaigns/$C/stats" "$K"
		if [[ $ST == 200 ]] && jval 'int(j["bounces"]["hard"] >= 1 and j["complaints"] >= 1)' <<<"$BODY" | grep -qx 1; then
			fed=1
			break
		fi
		sleep 0.1
	done
	jval '"  stats now: bounces.hard %d, bounces.soft %d, complaints %d" % (j["bounces"]["hard"], j["bounces"]["soft"], j["complaints"])' <<<"$BODY"
	api GET "/v1/bounces" "$K"
	expect 200 "listing the bounces"
	jval '"\n".join("  GET /v1/bounces: %s %s%s" % (i.get("email"), i.get("kind", ""), (" " + i["status"]) if i.get("status") else "") for i in j["items"][:4])' <<<"$BODY"
	echo "  $HARD is suppressed (bounced) and $COMPLAINED opted out (complained): the next campaign skips both"
	if ((!fed)); then
		echo "run.sh: the DSN and the complaint did not reach the stats within 10 s; see $RUN/fanfared.log" >&2
		((ONESHOT == 1)) && exit 1
	fi
fi

# ------------------------------------------------------------ audience, events

# A segment over this campaign's engagement, counted (evaluated in pages
# on an API worker), and a signup form for the demo list: its hosted
# page signs a person up with double opt-in (the confirmation mail lands
# in the capture directory like the campaign's).
echo
api POST /v1/segments "$K" -H 'Content-Type: application/json' \
    -d "{\"name\": \"opened campaign $C\", \"match\": \"all\", \"rules\": [{\"field\": \"opened\", \"campaign\": \"$C\"}]}"
expect 201 "creating a segment"
SEG=$(jval 'j["id"]' <<<"$BODY")
api GET "/v1/segments/$SEG/count" "$K"
expect 200 "counting segment $SEG"
echo "segment $SEG, the people who opened campaign $C (POST /v1/segments, GET /v1/segments/$SEG/count): $(jval 'j["count"]' <<<"$BODY")"
api POST /v1/forms "$K" -H 'Content-Type: application/json' \
    -d "$("$PY" -c 'import json, sys; print(json.dumps({"name": "Demo newsletter", "list_id": sys.argv[1], "fields": ["email", "first_name"], "consent_text": "I agree to receive the Fanfare demo newsletter.", "from": sys.argv[2]}))' "$DEMO_LIST" "$FROM")"
expect 201 "creating a signup form"
FORM_URL=$(jval 'j["url"]' <<<"$BODY")
echo "signup form $(jval 'j["id"]' <<<"$BODY") for list $DEMO_LIST (POST /v1/forms): $FORM_URL"
echo "  (open it in a browser: the confirmation mail arrives in $MAIL/new/)"
# The event log: what webhooks push and GET /v1/events pulls (the pump
# copies tracking events into it about once a second).
for _ in $(seq 50); do
	api GET "/v1/events?campaign=$C&limit=1000" "$K"
	[[ $ST == 200 ]] && jval 'int(any(e["type"] == "opened" for e in j["items"]))' <<<"$BODY" | grep -qx 1 && break
	sleep 0.1
done
expect 200 "reading the event feed"
echo "the event feed of campaign $C (GET /v1/events?campaign=$C), what webhooks deliver:"
jval '"  " + ", ".join("%s %d" % (t, n) for t, n in sorted(__import__("collections").Counter(e["type"] for e in j["items"]).items()))' <<<"$BODY"

# The marketer's app: an owner who logs in with a password (the key
# stays for machines).  Its password is made once and kept in the run
# directory; a re-run finds the user there already (409).
OWNER_EMAIL=owner@demo.test
[[ -s $RUN/owner.password ]] ||
	(umask 077; head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$RUN/owner.password")
OWNER_PASSWORD=$(cat "$RUN/owner.password")
api POST /v1/users "$K" "${JSON[@]}" "{\"email\": \"$OWNER_EMAIL\", \"password\": \"$OWNER_PASSWORD\", \"role\": \"owner\"}"
[[ $ST == 201 || $ST == 409 ]] || die "creating the app's owner: HTTP $ST: $BODY"
api POST /v1/session '' "${JSON[@]}" "{\"email\": \"$OWNER_EMAIL\", \"password\": \"$OWNER_PASSWORD\"}"
expect 200 "logging in as $OWNER_EMAIL (POST /v1/session)"
echo "user $OWNER_EMAIL, role $(jval 'j["role"]' <<<"$BODY"), logs in to the app with a password (POST /v1/users, POST /v1/session)"

echo
echo "Where to look:"
echo "  captured mails  $MAIL/new/  (this run's, one of them: $MAILFILE)"
echo "  the stats       curl -s $API/v1/campaigns/$C/stats -H 'Authorization: Bearer $K'"
echo "  the progress    curl -s $API/v1/campaigns/$C -H 'Authorization: Bearer $K'"
echo "  the events      curl -s '$API/v1/events?campaign=$C' -H 'Authorization: Bearer $K'"
echo "  a signup form   $FORM_URL"
# Printed only once it answers, so the line is a tested promise.
if curl -fsS -o /dev/null "$API/dashboard/" 2>/dev/null; then
	echo "  the app         $API/dashboard/  (log in as $OWNER_EMAIL, password in $RUN/owner.password)"
else
	echo "run.sh: the dashboard at $API/dashboard/ does not answer; see $RUN/fanfared.log" >&2
fi
echo "  API             $API  (tenant $DEMO_TENANT; ids and key in $ENVF, admin key in $RUN/admin.key)"
echo "  tracking        $BASE"
echo "  logs            $RUN/fanfared.log, $RUN/redis.log, $RUN/smtp-capture.log"

if ((ONESHOT == 1)); then
	exit 0
fi
echo
echo "Fanfare is running; Ctrl-C stops it"
rc=0
wait -n "${STARTED[@]}" || rc=$?
for i in "${!STARTED[@]}"; do
	kill -0 "${STARTED[i]}" 2>/dev/null || echo "${NAMES[i]} exited (status $rc)" >&2
done
exit "$rc"
