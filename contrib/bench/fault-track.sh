#!/usr/bin/env bash
# fault-track.sh: faults under wrk load, then the books are checked.
#
#   contrib/bench/fault-track.sh
#
# One private redis-server (unix socket, AOF on) and fanfared (THREADS,
# default 2) on 127.0.0.1:TRACK_PORT (18095).  Two phases, each a wrk run
# against one pixel URL (-t1 -c50, DURATION seconds, default 30):
#   redis-stop: SIGSTOP redis at 1/3 of the run, SIGCONT 10 s later;
#   kill-9:     kill -9 fanfared at 1/3 of the run and start it again at
#               once (its spool is replayed).
# Printed per phase: answered (wrk's completed requests), non-2xx, socket
# errors, and recorded ÷ answered once the counters settle.  wrk sends no
# User-Agent, so every hit is a machine open: the count is opens_machine.
# Everything listens on loopback; everything started here is stopped here.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
THREADS=${THREADS:-2}
TRACK_PORT=${TRACK_PORT:-18095}
API_PORT=$((TRACK_PORT + 1))
DURATION=${DURATION:-30}
FANFARED=${FANFARED:-$ROOT/fanfared}
FANFARECTL=${FANFARECTL:-$ROOT/fanfarectl}
[[ -x $FANFARED && -x $FANFARECTL ]] || {
	echo "fault-track: build first (no $FANFARED)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "fault-track: wrk is missing" >&2; exit 1; }

TMP=$(mktemp -d /tmp/fanfare-fault.XXXXXX)
REDIS_PID= FF_PID=
cleanup() {
	[[ -n $FF_PID ]] && kill -9 "$FF_PID" 2>/dev/null || true
	[[ -n $REDIS_PID ]] && { kill -CONT "$REDIS_PID" 2>/dev/null;
	    kill "$REDIS_PID" 2>/dev/null; } || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

head -c 32 /dev/urandom | base64 > "$TMP/secret"
redis-server --port 0 --unixsocket "$TMP/redis.sock" --appendonly yes \
    --dir "$TMP" --save '' > "$TMP/redis.log" 2>&1 &
REDIS_PID=$!
cat > "$TMP/fanfare.conf" <<EOF
track_listen 127.0.0.1:$TRACK_PORT
api_listen 127.0.0.1:$API_PORT
redis unix:$TMP/redis.sock
token_secret_file $TMP/secret
spool_dir $TMP/spool
templates_dir $ROOT/templates
special_categories_file $ROOT/contrib/special-categories.conf
threads $THREADS
EOF
rcli() { redis-cli -s "$TMP/redis.sock" "$@"; }
for _ in $(seq 50); do rcli ping >/dev/null 2>&1 && break; sleep 0.1; done

start_ff() {
	"$FANFARED" -c "$TMP/fanfare.conf" >> "$TMP/fanfared.log" 2>&1 &
	FF_PID=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$TRACK_PORT/healthz" >/dev/null && return
		sleep 0.05
	done
	echo "fault-track: fanfared did not start" >&2; exit 1
}
start_ff

counted() { rcli hget "{t:1:c:$1}:stats" opens_machine | tr -dc 0-9; }
settle() {   # CAMPAIGN WANT: wait up to 30 s for the counter to stop moving
	local last=-1 now
	for _ in $(seq 60); do
		now=$(counted "$1"); now=${now:-0}
		[[ $now == "$last" && $now -ge $2 ]] && break
		last=$now; sleep 0.5
	done
	counted "$1"
}

phase() {   # NAME CAMPAIGN ACTION
	local name=$1 c=$2 action=$3 path out answered non2xx errors rec
	path=$("$FANFARECTL" token open --config "$TMP/fanfare.conf" \
	    --tenant 1 --campaign "$c" --contact 1)
	wrk -t1 -c50 -d"${DURATION}s" "http://127.0.0.1:$TRACK_PORT$path" \
	    > "$TMP/wrk-$name.out" 2>&1 &
	local wrk_pid=$!
	sleep $((DURATION / 3))
	case $action in
	redis-stop)
		kill -STOP "$REDIS_PID"; sleep 10; kill -CONT "$REDIS_PID" ;;
	kill-9)
		kill -9 "$FF_PID"; wait "$FF_PID" 2>/dev/null || true
		start_ff ;;
	esac
	wait "$wrk_pid" || true
	out=$(cat "$TMP/wrk-$name.out")
	answered=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$out")
	non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' <<<"$out")
	errors=$(sed -n 's/^ *Socket errors: *\(.*\)/\1/p' <<<"$out")
	rec=$(settle "$c" "$answered")
	printf '%-10s answered=%s non2xx=%s socket_errors=[%s] recorded=%s ratio=%s\n' \
	    "$name" "$answered" "${non2xx:-0}" "${errors:-none}" "$rec" \
	    "$(awk -v r="$rec" -v a="$answered" 'BEGIN { printf "%.5f", r / a }')"
}

echo "fanfared threads=$THREADS, wrk -t1 -c50 -d${DURATION}s per phase"
phase redis-stop 101 redis-stop
phase kill-9 102 kill-9
grep -E "warning|replay" "$TMP/fanfared.log" | sed 's/^/  log: /' | head -20
