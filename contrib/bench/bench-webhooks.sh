#!/usr/bin/env bash
# bench-webhooks.sh: does the webhook pipeline keep up with the pixel, and
# what does it cost the pixel?  (issue 13, "A benchmark".)  All on
# 127.0.0.1, bounded in time:
#
#   nginx empty_gif (peer A's conf) | fanfared's pixel, no endpoint |
#   fanfared's pixel, one endpoint taking every event type | nginx ...
#
# per webhook_batch of BATCHES, REPS times, each wrk run DURATION s.  The
# pixel hits are opens of a real campaign: a tenant, N contacts, a list,
# a template and a campaign made through the API and sent to smtp-sink;
# wrk cycles over the open tokens of those sent messages, so every hit is
# an `opened` event going record.lua -> event pump -> {t:T}:events ->
# webhook delivery.  The receiver (Python, a thread per connection)
# answers 204 and counts unique event ids; its own ceiling is measured
# first with wrk POSTing 100-event bodies.
#
#   contrib/bench/bench-webhooks.sh
#
# Environment: BATCHES ("100 1000"), REPS (1), DURATION (10), CONNS (32),
# N (200 contacts), KEEPUP_S (5: "kept up" = every recorded hit delivered
# within this many seconds after wrk ended), DRAIN_MAX (120 s), THREADS
# (fanfared threads, 1), FANFARED, FANFARECTL, PEERS, BASE_PORT (18190:
# nginx, fanfared track/API, redis, smtp-sink, receiver on the next ports),
# RX_NICE (0: the receiver's nice value; 19 makes it yield the CPU to
# everything else, as a receiver on another host would), PIN (0; 1: the
# servers measured -- nginx, fanfared and its Redis -- on CPU 0, the
# world outside -- wrk and the customer's receiver -- on CPU 1: the
# scheduler's placement of wrk beside one server or another then no
# longer moves the rates by 20 % from run to run).
# Stops only what it started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$HERE/../../../shared/bench/peers}
BATCHES=${BATCHES:-100 1000}
REPS=${REPS:-1}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
N=${N:-200}
KEEPUP_S=${KEEPUP_S:-5}
DRAIN_MAX=${DRAIN_MAX:-120}
THREADS=${THREADS:-1}
RX_NICE=${RX_NICE:-0}
PIN=${PIN:-0}
SRV=() CLI=()
if [[ $PIN == 1 ]]; then SRV=(taskset -c 0) CLI=(taskset -c 1); fi
BASE_PORT=${BASE_PORT:-18190}
NGINX_PORT=$BASE_PORT
TRACK_PORT=$((BASE_PORT + 1))
API_PORT=$((BASE_PORT + 2))
REDIS_PORT=$((BASE_PORT + 3))
SMTP_PORT=$((BASE_PORT + 4))
RX_PORT=$((BASE_PORT + 5))
PY=/usr/bin/python3; [[ -x $PY ]] || PY=python3

pick() {   # NAME: ./NAME from the build dir, else the source tree's
	if [[ -x ./$1 ]]; then echo "$PWD/$1"; else echo "$ROOT/$1"; fi
}
FANFARED=${FANFARED:-$(pick fanfared)}
FANFARECTL=${FANFARECTL:-$(pick fanfarectl)}
[[ -x $FANFARED && -x $FANFARECTL ]] || {
	echo "bench-webhooks: build first (no $FANFARED or $FANFARECTL)" >&2; exit 1; }
for t in nginx wrk redis-server redis-cli smtp-sink curl; do
	if ! command -v $t >/dev/null; then
		[[ -x $PEERS/install.sh ]] || { echo "bench-webhooks: no $t" >&2; exit 1; }
		echo "bench-webhooks: no $t: running $PEERS/install.sh" >&2
		bash "$PEERS/install.sh"
	fi
done
NGINX_CONF=$PEERS/conf/nginx-a.conf
[[ -r $NGINX_CONF ]] || { echo "bench-webhooks: no $NGINX_CONF (set PEERS=DIR)" >&2; exit 1; }

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $NGINX_PORT $TRACK_PORT $API_PORT $REDIS_PORT $SMTP_PORT $RX_PORT; do
	if in_use $p; then echo "bench-webhooks: port $p already in use" >&2; exit 1; fi
done
wait_port() { for _ in $(seq 100); do in_use "$1" && return 0; sleep 0.1; done
	echo "bench-webhooks: nothing on port $1" >&2; return 1; }

TMP=$(mktemp -d /tmp/fanfare-whbench.XXXXXX)
PIDS=()        # every server started here, each wrapped in timeout(1)
FF_PID=
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
	[[ -n $FF_PID ]] && stop_pid "$FF_PID"
	local p
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
MAX_S=$((600 + 200 * REPS * $(wc -w <<<"$BATCHES")))
bg() { timeout "$MAX_S" "$@" & PIDS+=($!); }

# ---- the servers: redis, nginx (peer A's conf), smtp-sink, the receiver
bg "${SRV[@]}" redis-server --bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no \
    --dir "$TMP" --logfile "$TMP/redis.log"
mkdir -p "$TMP/nginx/tmp"
sed -e "s#@WORKERS@#1#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@PREFIX@#$TMP/nginx#g" \
    "$NGINX_CONF" >"$TMP/nginx/nginx.conf"
bg "${SRV[@]}" nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
SINK_USER=(); (( $(id -u) == 0 )) && SINK_USER=(-u nobody)
bg smtp-sink -4 "${SINK_USER[@]}" 127.0.0.1:$SMTP_PORT 1024

cat >"$TMP/rx.py" <<'EOP'
# The webhook receiver: 204 at once, counts events and unique ids.
import json, re, sys, threading, time
OPENED = re.compile(rb'"id":"([^"]+)","email":"[^"]*","type":"opened"')
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
lock = threading.Lock()
st = {"posts": 0, "events": 0, "t_last": 0.0}
ids = set()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204); self.send_header("Content-Length", "0")
        self.end_headers()
        # The ids by a pattern over fanfared's own layout (id, email,
        # type first), not json.loads: a stand-in for a customer's
        # system elsewhere should cost this machine little.
        nev = body.count(b'{"id":')
        got = OPENED.findall(body)
        with lock:
            st["posts"] += 1; st["events"] += nev
            ids.update(got); st["t_last"] = time.time()
    def do_GET(self):
        with lock:    # /stats, or /reset: the counts, then zero them
            out = json.dumps(dict(st, unique=len(ids))).encode()
            if self.path == "/reset":
                ids.clear(); st.update(posts=0, events=0, t_last=0.0)
        self.send_response(200); self.send_header("Content-Length", str(len(out)))
        self.end_headers(); self.wfile.write(out)
srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.daemon_threads = True
srv.serve_forever()
EOP
bg "${CLI[@]}" nice -n "$RX_NICE" "$PY" "$TMP/rx.py" $RX_PORT 2>"$TMP/rx.log"
for p in $REDIS_PORT $NGINX_PORT $SMTP_PORT $RX_PORT; do wait_port $p; done
REDIS_PID=$(pgrep -P "${PIDS[0]}")   # the children of their timeout(1)
RX_PID=$(pgrep -P "${PIDS[3]}")
rx() { curl -fsS "http://127.0.0.1:$RX_PORT/$1"; }
jget() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# ---- the receiver's own ceiling: wrk POSTing 100-event batches
"$PY" - "$TMP/rx-post.lua" <<'EOP'
import json, sys
evs = [{"id": "x:%d" % i, "email": "a@example.test", "type": "opened",
        "time": "2026-12-03T13:54:21.123Z", "campaign": "1", "contact": "1"}
       for i in range(100)]
body = json.dumps({"events": evs}, separators=(",", ":"))
open(sys.argv[1], "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    'wrk.body = [[%s]]\n' % body)
EOP
"${CLI[@]}" nice wrk -t1 -c1 -d3s -s "$TMP/rx-post.lua" "http://127.0.0.1:$RX_PORT/" >"$TMP/rx-wrk.txt"
RX_POSTS=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/rx-wrk.txt")
RX_RATE=$(awk -v p="$RX_POSTS" 'BEGIN { printf "%.0f", p * 100 }')
RX_SEEN=$(rx reset | jget events)    # what it parsed and counted
echo "bench-webhooks: receiver counted $RX_SEEN events in $(awk '/ requests in / { print $1 }' "$TMP/rx-wrk.txt") POSTs" >&2
echo "bench-webhooks: receiver ceiling (1 connection, 100 events a POST, as fanfared sends): $RX_RATE events/s" >&2

# ---- fanfared
head -c 32 /dev/urandom | base64 >"$TMP/token.secret"
head -c 32 /dev/urandom >"$TMP/data.key"
chmod 600 "$TMP/token.secret" "$TMP/data.key"
mkdir -p "$TMP/spool"
ADMIN=bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
CONF=$TMP/fanfare.conf
start_ff() {   # BATCH
	cat >"$CONF" <<EOC
track_listen 127.0.0.1:$TRACK_PORT
api_listen 127.0.0.1:$API_PORT
redis 127.0.0.1:$REDIS_PORT
token_secret_file $TMP/token.secret
data_key_file $TMP/data.key
admin_key $ADMIN
public_url http://127.0.0.1:$TRACK_PORT
spool_dir $TMP/spool
templates_dir $ROOT/templates
special_categories_file $ROOT/contrib/special-categories.conf
threads $THREADS
max_connections 10000
smtp_relay 127.0.0.1:$SMTP_PORT
allow_unverified_from on
webhook_allow 127.0.0.1/32
webhook_batch $1
EOC
	"${SRV[@]}" "$FANFARED" -c "$CONF" 2>>"$TMP/fanfared.log" &
	FF_PID=$!
	for _ in $(seq 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:$TRACK_PORT/healthz" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsS -o /dev/null "http://127.0.0.1:$TRACK_PORT/healthz" || {
		echo "bench-webhooks: fanfared did not start:" >&2
		tail -20 "$TMP/fanfared.log" >&2; exit 1; }
	wait_port $API_PORT
}
stop_ff() { stop_pid "$FF_PID"; wait "$FF_PID" 2>/dev/null || true; FF_PID=; }
api() {   # METHOD PATH KEY [BODY] -> the answer's body; fails on non-2xx
	local args=(-fsS -X "$1" -H "Authorization: Bearer $3" "http://127.0.0.1:$API_PORT$2")
	[[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl "${args[@]}"
}

set -- $BATCHES
start_ff "$1"

# ---- a real campaign, sent to smtp-sink
TJS=$(api POST /v1/tenants "$ADMIN" '{"name":"bench-webhooks"}')
T=$(jget id <<<"$TJS"); KEY=$(jget api_key <<<"$TJS")
"$PY" -c '
import json, sys
print(json.dumps([{"email": "c%d@bench.example" % i} for i in range(int(sys.argv[1]))]))' "$N" >"$TMP/contacts.json"
api POST /v1/contacts "$KEY" "@$TMP/contacts.json" >/dev/null
LID=$(api POST /v1/lists "$KEY" '{"name":"bench"}' | jget id)
"$PY" -c '
import json, sys
print(json.dumps({"emails": ["c%d@bench.example" % i for i in range(int(sys.argv[1]))]}))' "$N" >"$TMP/members.json"
api POST "/v1/lists/$LID/members" "$KEY" "@$TMP/members.json" >/dev/null
TPL=$(api POST /v1/templates "$KEY" '{"name":"t","subject":"Hello","html":"<p>Hi</p><a href=\"https://shop.example/a\">A</a><a href=\"{{unsubscribe_url}}\">Unsubscribe</a>","text":"Hi {{unsubscribe_url}}\n"}' | jget id)
C=$(api POST /v1/campaigns "$KEY" "{\"name\":\"c\",\"template_id\":\"$TPL\",\"list_id\":\"$LID\",\"from\":\"News <news@bench.example>\"}" | jget id)
api POST "/v1/campaigns/$C/launch" "$KEY" >/dev/null
for _ in $(seq 600); do
	s=$(api GET "/v1/campaigns/$C" "$KEY" | jget status)
	[[ $s == done ]] && break; sleep 0.1
done
[[ $s == done ]] || { echo "bench-webhooks: campaign $C not sent ($s)" >&2; exit 1; }
SENT=$(api GET "/v1/campaigns/$C" "$KEY" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["progress"]["sent"])')
echo "bench-webhooks: tenant $T campaign $C sent to $N contacts (sent=$SENT)" >&2

# The open token of each sent message (the pixel path in its mail).
: >"$TMP/paths"
for ct in $(redis-cli -p $REDIS_PORT --scan --pattern "{t:$T}:ct:*" | sed 's/.*:ct://' | grep -E '^[0-9]+$' | sort -n); do
	"$FANFARECTL" token open --config "$CONF" --tenant "$T" --campaign "$C" --contact "$ct" >>"$TMP/paths"
done
NP=$(wc -l <"$TMP/paths")
((NP > 0)) || { echo "bench-webhooks: no contacts found" >&2; exit 1; }
{
	echo 'local paths, i = {}, 0'
	while read -r p; do echo "paths[#paths + 1] = \"$p\""; done <"$TMP/paths"
	echo 'request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end'
} >"$TMP/pixel.lua"

KEYS_STATS="{t:$T:c:$C}:stats"
recorded() {
	local a b
	a=$(redis-cli -p $REDIS_PORT HGET "$KEYS_STATS" opens)
	b=$(redis-cli -p $REDIS_PORT HGET "$KEYS_STATS" opens_machine)
	echo $(( ${a:-0} + ${b:-0} ))
}
# Wait until the counter and the tenant's event log stop moving (the
# event pump copies a run's hits into {t:T}:events once a second, so a
# backlog of the run before must be in the log before an endpoint is made
# at its end, and must not be pumped during the next run); print the
# counter.
settle() {
	local last=-1 now
	for _ in $(seq 60); do
		now="$(recorded) $(redis-cli -p $REDIS_PORT XLEN "{t:$T}:events")"
		[[ $now == "$last" ]] && break
		last=$now; sleep 1.5
	done
	echo "${now%% *}"
}
now() { date +%s.%N; }
ticks() {   # user+system clock ticks of fanfared, redis, the receiver
	local p
	for p in "$FF_PID" "$REDIS_PID" "$RX_PID"; do
		awk '{ printf "%d ", $14 + $15 }' "/proc/$p/stat"
	done
}
per_hit() {   # TICKS_BEFORE TICKS_AFTER HITS -> CPU microseconds a hit, each
	awk -v a="$1" -v b="$2" -v h="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i++) printf "%.1f%s", (h > 0) ? (y[i] - x[i]) / hz / h * 1e6 : 0, (i < n) ? "," : ""
	}'
}
cores() {   # TICKS_BEFORE TICKS_AFTER SECONDS -> CPU cores used by each
	awk -v a="$1" -v b="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 1; i <= n; i++) printf "%.2f%s", (y[i] - x[i]) / hz / s, (i < n) ? "," : ""
	}'
}
runwrk() {   # URL [script] -> req/s; the output kept in $TMP/last-wrk.txt
	local s=()
	[[ $# -ge 2 ]] && s=(-s "$2")
	"${CLI[@]}" nice wrk -t1 -c"$CONNS" -d"${DURATION}s" "${s[@]}" "$1" >"$TMP/last-wrk.txt"
	awk '/^Requests\/sec:/ { print $2 }' "$TMP/last-wrk.txt"
}
RES=$TMP/results.txt   # kind batch rep rate [more]
: >"$RES"

run_nginx() { echo "nginx $1 $2 $(runwrk "http://127.0.0.1:$NGINX_PORT/o/c42.gif")" >>"$RES"; }
run_off() {   # BATCH REP
	local c0 c1 r0 rate
	r0=$(settle)
	c0=$(ticks)
	rate=$(runwrk "http://127.0.0.1:$TRACK_PORT/" "$TMP/pixel.lua")
	c1=$(ticks)
	# CPU a hit: from wrk's start until every hit is recorded.
	echo "off $1 $2 $rate $(cores "$c0" "$c1" "$DURATION") $(per_hit "$c0" "$(settle >/dev/null; ticks)" $(( $(recorded) - r0 )))" >>"$RES"
}
run_on() {   # BATCH REP
	local wid r0 r1 hits t0 t1 u0 u1 uk= td=- u=0 rate ans c0 c1 c2 la
	r0=$(settle)
	wid=$(api POST /v1/webhooks "$KEY" "{\"url\":\"http://127.0.0.1:$RX_PORT/hook\"}" | jget id)
	sleep 1.5            # the delivery thread reads the new endpoint
	rx reset >/dev/null
	la=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(now); u0=$(rx stats | jget unique); c0=$(ticks)
	rate=$(runwrk "http://127.0.0.1:$TRACK_PORT/" "$TMP/pixel.lua")
	c1=$(ticks); t1=$(now); u1=$(rx stats | jget unique)
	ans=$(awk '/ requests in / { print $1 }' "$TMP/last-wrk.txt")
	while :; do   # until every recorded hit has been delivered
		r1=$(recorded); u=$(rx stats | jget unique)
		if [[ $uk == "" ]] && awk -v a="$(now)" -v b="$t1" -v k="$KEEPUP_S" 'BEGIN { exit !(a - b >= k) }'; then
			uk=$u
		fi
		if ((u >= r1 - r0)) && [[ $r1 == "$(sleep 0.5; recorded)" ]] && ((u >= $(recorded) - r0)); then
			td=$(awk -v a="$(now)" -v b="$t1" 'BEGIN { printf "%.1f", a - b }'); break
		fi
		awk -v a="$(now)" -v b="$t1" -v m="$DRAIN_MAX" 'BEGIN { exit !(a - b > m) }' && break
		sleep 0.2
	done
	[[ -n $uk ]] || uk=$u
	c2=$(ticks)   # CPU a hit: from wrk's start until every hit is delivered
	hits=$(( $(recorded) - r0 ))
	# kind batch rep rate hits during_events_per_s overall_events_per_s drain_s keptup_fraction unique
	awk -v k="on $1 $2 $rate $hits" -v t0="$t0" -v t1="$t1" -v u0="$u0" -v u1="$u1" -v u="$u" \
	    -v td="$td" -v uk="$uk" -v hits="$hits" -v ans="$ans" -v cpu="$(cores "$c0" "$c1" "$DURATION")" \
	    -v la="$la" -v ph="$(per_hit "$c0" "$c2" "$hits")" 'BEGIN {
		overall = (td != "-") ? u / (t1 - t0 + td) : 0
		printf "%s %.0f %.0f %s %.4f %d %d %s %s %s\n", k, (u1 - u0) / (t1 - t0), overall, td,
		    hits ? uk / hits : 0, u, ans, cpu, la, ph }' >>"$RES"
	api DELETE "/v1/webhooks/$wid" "$KEY" >/dev/null
}

# A warm-up (its hits are not counted in any run).
"${CLI[@]}" nice wrk -t1 -c"$CONNS" -d2s -s "$TMP/pixel.lua" "http://127.0.0.1:$TRACK_PORT/" >/dev/null
settle >/dev/null
first=1
for b in $BATCHES; do
	if ((!first)); then stop_ff; start_ff "$b"; fi
	first=0
	echo "bench-webhooks: webhook_batch $b: nginx, then (off, on, nginx) x $REPS, wrk -t1 -c$CONNS -d${DURATION}s" >&2
	run_nginx "$b" 0
	for r in $(seq "$REPS"); do
		run_off "$b" "$r"
		run_on "$b" "$r"
		run_nginx "$b" "$r"
	done
done

echo
echo "bench-webhooks: wrk -t1 -c$CONNS -d${DURATION}s on 127.0.0.1, fanfared threads $THREADS, $NP tokens of campaign $C (every hit an opened event); receiver ceiling $RX_RATE events/s"
awk -v keep="$KEEPUP_S" '
function med(s,   a, n, i, j, t) {
	n = split(s, a, " "); if (n == 0) return 0
	for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$1 == "off" && !seen[$2]++ { order[++nb] = $2 }
$1 == "nginx" { ng[$2, $3] = $4; next }
$1 == "off" { off[$2, $3] = $4; coff[$2, $3] = $5; poff[$2, $3] = $6; bs[$2] = 1; if ($3 > reps) reps = $3; next }
$1 == "on" { on[$2, $3] = $4; hits[$2, $3] = $5; dur[$2, $3] = $6; all[$2, $3] = $7
	drain[$2, $3] = $8; kept[$2, $3] = $9; uniq[$2, $3] = $10; ans[$2, $3] = $11; con[$2, $3] = $12
	load[$2, $3] = $13; pon[$2, $3] = $14; next }
END {
	printf "%-6s %-4s %9s %9s %9s %9s %9s %9s %8s %10s %10s %8s %9s %6s\n", "batch", "rep", "nginx/s",
	    "off/s", "ratio", "on/s", "ratio", "on/off", "hits", "ev/s wrk", "ev/s all", "drain s", "in " keep " s", "load"
	for (i = 1; i <= nb; i++) for (r = 1; r <= reps; r++) { b = order[i]
		n = (ng[b, r - 1] + ng[b, r]) / 2
		ro = off[b, r] / n; rn = on[b, r] / n
		printf "%-6s %-4s %9.0f %9.0f %9.3f %9.0f %9.3f %9.3f %8d %10d %10d %8s %9.3f %6s\n", b, r, n,
		    off[b, r], ro, on[b, r], rn, rn / ro, hits[b, r], dur[b, r], all[b, r], drain[b, r], kept[b, r],
		    load[b, r]
		oo[b] = oo[b] " " rn / ro; if (kmin[b] == "" || kept[b, r] < kmin[b]) kmin[b] = kept[b, r]
	}
	print ""
	for (i = 1; i <= nb; i++) { b = order[i]
		m = med(oo[b])
		printf "batch %s: median on/off %.3f (target >= 0.9: %s); least delivered within %s s %.3f (kept up: %s)\n",
		    b, m, (m >= 0.9) ? "met" : "NOT met", keep, kmin[b], (kmin[b] >= 1) ? "yes" : "NO" }
	print ""
	for (i = 1; i <= nb; i++) for (r = 1; r <= reps; r++) { b = order[i]
		printf "batch %s rep %d, webhooks on: wrk answered %d, recorded %d opens, receiver got %d unique opened ids\n",
		    b, r, ans[b, r], hits[b, r], uniq[b, r] }
	print ""
	print "CPU cores used during the wrk runs (fanfared,redis,receiver; 2 cores shared with wrk and other jobs):"
	for (i = 1; i <= nb; i++) for (r = 1; r <= reps; r++) { b = order[i]
		printf "batch %s rep %d: off %s  on %s\n", b, r, coff[b, r], con[b, r] }
	print ""
	print "CPU microseconds a hit, from wrk start until every hit was recorded (off) or delivered (on):"
	print "fanfared,redis,receiver; the webhooks cost on - off (less sensitive to the machine load than req/s):"
	for (i = 1; i <= nb; i++) for (r = 1; r <= reps; r++) { b = order[i]
		split(poff[b, r], x, ","); split(pon[b, r], y, ",")
		printf "batch %s rep %d: off %s  on %s  on-off %.1f,%.1f,%.1f\n", b, r, poff[b, r], pon[b, r],
		    y[1] - x[1], y[2] - x[2], y[3] - x[3] }
	print ""
	print "ratio = pixel / mean of the nginx empty_gif runs either side; on/off target >= 0.9;"
	print "ev/s wrk: unique opened events received during the wrk run / its length; ev/s all:"
	print "every hit delivered, from wrk start to the last delivery; drain s: after wrk ended;"
	print "in " keep " s: fraction of the recorded hits delivered within " keep " s after wrk ended (kept up: 1.000);"
	print "load: the 1-minute load average as the webhooks-on run began (the machine is shared)."
}' "$RES"
if grep -qiE 'warn|error|fatal' "$TMP/fanfared.log"; then
	echo "fanfared log (warnings):"; grep -iE 'warn|error|fatal' "$TMP/fanfared.log" | tail -10
fi
