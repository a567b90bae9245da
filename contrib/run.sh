#!/usr/bin/env bash
# run.sh: builds Fanfare if needed and runs it on this machine, with its
# own redis-server, everything under ./run/ (kept between runs: the token
# secret, Redis's append-only file, the spool).  Then it registers a link,
# mints an open pixel and a click URL, fetches both with curl, prints the
# URLs and the campaign's stats, and stays in the foreground until Ctrl-C.
#
#   contrib/run.sh
#   FF_TRACK_PORT=9080 FF_API_PORT=9081 contrib/run.sh   other ports
#   FF_DEMO_ONESHOT=1 contrib/run.sh                     print, then stop
#
# It stops only the processes it started, by their pids.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
TRACK_PORT=${FF_TRACK_PORT:-8080}
API_PORT=${FF_API_PORT:-8081}
RUN=$ROOT/run
SOCK=$RUN/redis.sock
CONF=$RUN/fanfare.conf
UA="Mozilla/5.0 (X11; Linux x86_64) fanfare-demo curl"
TENANT=1 CAMPAIGN=1 CONTACT=1 LINK=1 URL=https://example.com/welcome

bash contrib/setup.sh

mkdir -p "$RUN/redis" "$RUN/spool"
chmod 700 "$RUN"
if [[ ! -s $RUN/token.secret ]]; then
	(umask 077; head -c 32 /dev/urandom | base64 >"$RUN/token.secret")
fi
chmod 600 "$RUN/token.secret"
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

STARTED=()
cleanup() {
	local i pid
	for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
		pid=${STARTED[i]}
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done
	STARTED=()
}
trap cleanup EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
rcli() { redis-cli -s "$SOCK" "$@"; }

if [[ $(rcli PING 2>/dev/null) == PONG ]]; then
	echo "using the redis-server already listening on $SOCK"
else
	redis-server "$RUN/redis.conf" &
	STARTED+=($!)
	for _ in $(seq 100); do [[ $(rcli PING 2>/dev/null) == PONG ]] && break; sleep 0.1; done
	[[ $(rcli PING 2>/dev/null) == PONG ]] || { echo "redis-server did not start; see $RUN/redis.log" >&2; tail -5 "$RUN/redis.log" >&2; exit 1; }
fi

for p in "$TRACK_PORT" "$API_PORT"; do
	if in_use "$p"; then
		echo "port $p is already in use: set FF_TRACK_PORT / FF_API_PORT" >&2
		exit 1
	fi
done

cat >"$CONF" <<EOC
# Written by contrib/run.sh (rewritten on every run).
track_listen 127.0.0.1:$TRACK_PORT
api_listen 127.0.0.1:$API_PORT
redis unix:$SOCK
token_secret_file $RUN/token.secret
public_url http://127.0.0.1:$TRACK_PORT
spool_dir $RUN/spool
templates_dir $ROOT/templates
special_categories_file $ROOT/contrib/special-categories.conf
threads 2
EOC

./fanfared -t -c "$CONF"
./fanfared -c "$CONF" 2>>"$RUN/fanfared.log" &
FF_PID=$!
STARTED+=("$FF_PID")
for _ in $(seq 100); do
	curl -fsS -o /dev/null "http://127.0.0.1:$TRACK_PORT/healthz" 2>/dev/null && break
	kill -0 "$FF_PID" 2>/dev/null || break
	sleep 0.1
done
if ! curl -fsS -o /dev/null "http://127.0.0.1:$TRACK_PORT/healthz" 2>/dev/null; then
	echo "fanfared did not come up; last lines of $RUN/fanfared.log:" >&2
	tail -20 "$RUN/fanfared.log" >&2
	exit 1
fi

ctl() { local cmd=$1 sub=$2; shift 2; ./fanfarectl "$cmd" "$sub" --config "$CONF" "$@"; }
ids=(--tenant "$TENANT" --campaign "$CAMPAIGN")
./fanfarectl link set --config "$CONF" "${ids[@]}" --link "$LINK" --url "$URL"
OPEN=$(ctl token open "${ids[@]}" --contact "$CONTACT")
CLICK=$(ctl token click "${ids[@]}" --contact "$CONTACT" --link "$LINK")
UNSUB=$(ctl token unsubscribe "${ids[@]}" --contact "$CONTACT")
BASE=http://127.0.0.1:$TRACK_PORT
KEY="{t:$TENANT:c:$CAMPAIGN}:stats"
c0=$(rcli HGET "$KEY" clicks); c0=${c0:-0}

echo
echo "Fanfare is up: tracking on $BASE, API on http://127.0.0.1:$API_PORT"
echo "  open pixel   $BASE$OPEN"
echo "  click        $BASE$CLICK  -> $URL"
echo "  unsubscribe  $BASE$UNSUB"
echo
curl -sS -A "$UA" -o /dev/null -w '  GET pixel:  %{http_code} %{content_type}, %{size_download} bytes\n' "$BASE$OPEN"
curl -sS -A "$UA" -o /dev/null -w '  GET click:  %{http_code} -> %{redirect_url}\n' "$BASE$CLICK"
# Events reach Redis asynchronously (spool, then batches): wait for them.
for _ in $(seq 50); do
	c1=$(rcli HGET "$KEY" clicks); [[ ${c1:-0} -gt $c0 ]] && break; sleep 0.1
done
echo
echo "stats (fanfarectl stats --config $CONF --tenant $TENANT --campaign $CAMPAIGN):"
out=$(./fanfarectl stats --config "$CONF" "${ids[@]}")
/usr/bin/python3 -m json.tool <<<"$out" 2>/dev/null || echo "$out"
echo
echo "logs: $RUN/fanfared.log, $RUN/redis.log"

if [[ ${FF_DEMO_ONESHOT:-0} == 1 ]]; then
	exit 0
fi
echo "Fanfare is running; Ctrl-C stops it"
wait "$FF_PID" || rc=$?
echo "fanfared exited (status ${rc:-0})" >&2
exit "${rc:-0}"
