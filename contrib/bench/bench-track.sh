#!/usr/bin/env bash
# bench-track.sh: fanfared's pixel and click side by side with the peer
# servers of shared/bench/peers (nginx empty_gif "a1", nginx+lua+redis
# "b"), in one interleaved wrk run, then the ratios and how many of the
# answered hits reached Redis.
#
#   contrib/bench/bench-track.sh          (or: make bench)
#
# Environment: PEERS (the peers dir; default ../../../shared/bench/peers
# from this script), THREADS (fanfared threads, 1), FANFARED, FANFARECTL
# (default ./fanfared, ./fanfarectl, else the source tree's), TRACK_PORT
# (18090; the API gets the next port); REDIS=cluster runs fanfared on a
# Redis Cluster of its own (3 masters, 3 replicas on 127.0.0.1:17001-
# 17006, AOF on) instead of the peers' redis; REPS, DURATION, LOADS, OUT
# pass through to bench-http.sh.
#
# fanfared listens on 127.0.0.1:TRACK_PORT and uses the peers' redis on
# 127.0.0.1:16379 (or the cluster).  Stops only what it started.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=${PEERS:-$HERE/../../../shared/bench/peers}
THREADS=${THREADS:-1}
TRACK_PORT=${TRACK_PORT:-18090}
API_PORT=${API_PORT:-$((TRACK_PORT + 1))}
REDIS_PORT=16379
T=1

if [[ ! -x $PEERS/bench-http.sh || ! -x $PEERS/servers.sh ]]; then
	echo "bench-track: peer benchmarks not found in $PEERS" >&2
	echo "  (shared/bench/peers beside the repository; set PEERS=DIR)" >&2
	exit 1
fi
PEERS=$(cd "$PEERS" && pwd)

pick() {   # NAME: ./NAME from the build dir, else the source tree's
	if [[ -x ./$1 ]]; then echo "$PWD/$1"; else echo "$ROOT/$1"; fi
}
FANFARED=${FANFARED:-$(pick fanfared)}
FANFARECTL=${FANFARECTL:-$(pick fanfarectl)}
[[ -x $FANFARED && -x $FANFARECTL ]] || {
	echo "bench-track: build first (no $FANFARED or $FANFARECTL)" >&2; exit 1; }

# Every part of the peers, as their install.sh checks them: on a fresh
# machine any one may be missing (the nginx Lua module of peer "b" is the
# one nothing else installs).
peers_ready() {
	local t
	for t in nginx redis-server redis-cli wrk; do
		command -v "$t" >/dev/null || return 1
	done
	[[ -e /usr/lib/nginx/modules/ngx_http_lua_module.so &&
	    -e /usr/share/lua/5.1/resty/core.lua ]]
}
if ! peers_ready; then
	echo "bench-track: a peer's part is missing: running $PEERS/install.sh" >&2
	bash "$PEERS/install.sh"
	peers_ready || { echo "bench-track: still missing after install.sh" >&2; exit 1; }
fi
REDIS=${REDIS:-one}
CLUSTER_PIDS=()

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $TRACK_PORT $API_PORT; do
	if in_use $p; then echo "bench-track: port $p already in use" >&2; exit 1; fi
done

TMP=$(mktemp -d /tmp/fanfare-bench.XXXXXX)
FF_PID=
REDIS_STARTED=0
cleanup() {
	if [[ -n $FF_PID ]] && kill -0 "$FF_PID" 2>/dev/null; then
		kill -TERM "$FF_PID"
		for _ in $(seq 100); do kill -0 "$FF_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$FF_PID" 2>/dev/null || true
	fi
	if ((REDIS_STARTED)); then "$PEERS/servers.sh" stop redis || true; fi
	if ((${#CLUSTER_PIDS[@]})); then
		kill -TERM "${CLUSTER_PIDS[@]}" 2>/dev/null || true
		wait "${CLUSTER_PIDS[@]}" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The peer "b" counts in the peers' redis, so it runs in both modes.
if ! "$PEERS/servers.sh" status | grep -q '^redis running'; then
	"$PEERS/servers.sh" start redis
	REDIS_STARTED=1
fi
rcli() { redis-cli -h 127.0.0.1 -p $REDIS_PORT "$@"; }
REDIS_DIRECTIVE="redis 127.0.0.1:$REDIS_PORT"
if [[ $REDIS == cluster ]]; then
	nodes=()
	for port in 17001 17002 17003 17004 17005 17006; do
		in_use $port && { echo "bench-track: port $port in use" >&2; exit 1; }
		mkdir -p "$TMP/rc-$port"
		redis-server --bind 127.0.0.1 --port $port --cluster-enabled yes \
		    --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
		    --dir "$TMP/rc-$port" --appendonly yes --save '' \
		    --repl-diskless-sync-delay 0 \
		    --logfile "$TMP/rc-$port/redis.log" &
		CLUSTER_PIDS+=($!)
		nodes+=(127.0.0.1:$port)
	done
	for port in 17001 17002 17003 17004 17005 17006; do
		for _ in $(seq 100); do
			redis-cli -p $port ping >/dev/null 2>&1 && break; sleep 0.05
		done
	done
	redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 \
	    --cluster-yes >"$TMP/cluster-create.log" 2>&1 || {
		echo "bench-track: cluster create failed" >&2
		cat "$TMP/cluster-create.log" >&2; exit 1; }
	for _ in $(seq 200); do
		redis-cli -p 17001 cluster info | grep -q cluster_state:ok && break
		sleep 0.1
	done
	rcli() { redis-cli -c -h 127.0.0.1 -p 17001 "$@"; }
	REDIS_DIRECTIVE="redis cluster:127.0.0.1:17001,127.0.0.1:17002,127.0.0.1:17003"
fi

# A campaign of its own per run, so the counters start from zero.
C=$(date +%s)
head -c 32 /dev/urandom | base64 >"$TMP/token.secret"
chmod 600 "$TMP/token.secret"
mkdir -p "$TMP/spool"
CONF=$TMP/fanfare.conf
cat >"$CONF" <<EOC
track_listen 127.0.0.1:$TRACK_PORT
api_listen 127.0.0.1:$API_PORT
$REDIS_DIRECTIVE
token_secret_file $TMP/token.secret
public_url http://127.0.0.1:$TRACK_PORT
spool_dir $TMP/spool
templates_dir $ROOT/templates
special_categories_file $ROOT/contrib/special-categories.conf
threads $THREADS
max_connections 10000
EOC
"$FANFARED" -c "$CONF" 2>"$TMP/fanfared.log" &
FF_PID=$!
for _ in $(seq 100); do
	curl -fsS -o /dev/null "http://127.0.0.1:$TRACK_PORT/healthz" 2>/dev/null && break
	sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$TRACK_PORT/healthz" || {
	echo "bench-track: fanfared did not start:" >&2; tail -20 "$TMP/fanfared.log" >&2; exit 1; }

ids=(--config "$CONF" --tenant "$T" --campaign "$C")
"$FANFARECTL" link set "${ids[@]}" --link 1 --url https://example.com/bench
OPEN=$("$FANFARECTL" token open "${ids[@]}" --contact 1)
CLICK=$("$FANFARECTL" token click "${ids[@]}" --contact 1 --link 1)
KEY="{t:$T:c:$C}:stats"
# wrk sends no User-Agent: every hit counts as a machine hit.
recorded() {   # open|click -> human + machine count
	local a b
	a=$(rcli HGET "$KEY" "${1}s"); b=$(rcli HGET "$KEY" "${1}s_machine")
	echo $(( ${a:-0} + ${b:-0} ))
}
o0=$(recorded open) c0=$(recorded click)

# bench-http.sh throws away the output of its 2 s warm-up runs, which hit
# our server too: a wrk wrapper on PATH keeps it, so the counter delta
# can be set against every answered request.
REAL_WRK=$(command -v wrk)
mkdir -p "$TMP/bin"
cat >"$TMP/bin/wrk" <<EOW
#!/usr/bin/env bash
case " \$* " in *" --latency "*) exec "$REAL_WRK" "\$@" ;; esac
"$REAL_WRK" "\$@" | tee -a "$TMP/warmup.txt"
EOW
chmod +x "$TMP/bin/wrk"

OUT=${OUT:-/tmp/peers/results/$(date +%Y%m%d-%H%M%S)-fanfare}
export OUT
PIXEL_URL=http://127.0.0.1:$TRACK_PORT$OPEN
CLICK_URL=http://127.0.0.1:$TRACK_PORT$CLICK
echo "bench-track: fanfared pid $FF_PID, threads $THREADS, results in $OUT" >&2
PATH="$TMP/bin:$PATH" "$PEERS/bench-http.sh" a1 b "ours=$PIXEL_URL@$FF_PID" \
    a1-click b-click "ours-click=$CLICK_URL@$FF_PID"

# Wait until the counters stop moving (the spool drains within ~1 s).
settle() {
	local last=-1 now
	for _ in $(seq 60); do
		now="$(recorded open) $(recorded click)"
		[[ $now == "$last" ]] && break
		last=$now; sleep 1
	done
}
settle
o1=$(recorded open) c1=$(recorded click)

answered() {   # NAME URL -> 2xx/3xx responses of the runs + the warm-up
	local runs warm
	runs=$(cat "$OUT/http/$1"-t*-c*-r*.txt 2>/dev/null | awk '/^RESULT/ {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n += v["requests"] - v["err_status"] } END { print n + 0 }')
	warm=$(awk -v url="$2" '
		/^Running / { mine = ($NF == url) }
		mine && / requests in / { n += $1 }
		mine && /Non-2xx or 3xx responses:/ { n -= $NF }
		END { print n + 0 }' "$TMP/warmup.txt" 2>/dev/null || echo 0)
	echo $((runs + warm))
}
ro=$(answered ours "$PIXEL_URL")
rc=$(answered ours-click "$CLICK_URL")

echo
"$PEERS/summarize.sh" "$OUT" || true
echo
echo "fanfared (threads $THREADS, redis: $REDIS) against the peers, medians per load:"
awk -F, '
NR == 1 { next }
{ k = $2 " " $3; loads[k] = 1; rps[$1, k] = rps[$1, k] " " $5; p99[$1, k] = p99[$1, k] " " $8 }
function med(s,   a, n, i, j, t) {
	n = split(s, a, " "); if (n == 0) return 0
	for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function ratio(x, y) { return (y > 0) ? sprintf("%.3f", x / y) : "-" }
END {
	for (k in loads) {
		split(k, tc, " ")
		printf "  -t%s -c%s\n", tc[1], tc[2]
		n = split("a1 b ours a1-click b-click ours-click", t, " ")
		for (i = 1; i <= n; i++)
			printf "    %-11s %9.0f req/s  p99 %7.3f ms\n", t[i], med(rps[t[i], k]), med(p99[t[i], k]) / 1000
		printf "    pixel  ours/a1 %s  ours/b %s\n", ratio(med(rps["ours", k]), med(rps["a1", k])), ratio(med(rps["ours", k]), med(rps["b", k]))
		printf "    click  ours/a1 %s  ours/b %s\n", ratio(med(rps["ours-click", k]), med(rps["a1-click", k])), ratio(med(rps["ours-click", k]), med(rps["b-click", k]))
	}
}' "$OUT/http.csv"
echo
printf 'recorded / 2xx+3xx responses (incl. warm-up): pixel %d / %d = %s, click %d / %d = %s\n' \
    $((o1 - o0)) "$ro" "$(awk -v a=$((o1 - o0)) -v b="$ro" 'BEGIN { printf (b ? "%.4f" : "-"), a / (b ? b : 1) }')" \
    $((c1 - c0)) "$rc" "$(awk -v a=$((c1 - c0)) -v b="$rc" 'BEGIN { printf (b ? "%.4f" : "-"), a / (b ? b : 1) }')"
if grep -qiE 'warn|error|fatal' "$TMP/fanfared.log"; then
	echo "fanfared log (warnings):"; grep -iE 'warn|error|fatal' "$TMP/fanfared.log" | tail -10
fi
