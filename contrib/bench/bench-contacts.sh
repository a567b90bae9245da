#!/usr/bin/env bash
# bench-contacts.sh: contact upsert throughput through the API, and Redis
# memory per contact, against a peer in the same run: the same writes
# (one HSET per contact and one HSET of its address index) piped straight
# into Redis with `redis-cli --pipe`, i.e. what the API costs on top of
# Redis itself.
#
#   contrib/bench/bench-contacts.sh          (N=1000000 BATCH=10000)
#
# Private redis-server (unix socket, AOF on) and fanfared on loopback;
# everything started here is stopped here.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-1000000}
BATCH=${BATCH:-10000}
PORT=${PORT:-18097}
FANFARED=${FANFARED:-$ROOT/fanfared}
[[ -x $FANFARED ]] || { echo "bench-contacts: build first" >&2; exit 1; }

TMP=$(mktemp -d /tmp/fanfare-bc.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

start_redis() {   # NAME
	redis-server --port 0 --unixsocket "$TMP/$1.sock" --appendonly yes \
	    --dir "$TMP" --appendfilename "$1.aof" --save '' \
	    > "$TMP/$1.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do
		redis-cli -s "$TMP/$1.sock" ping >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "bench-contacts: redis did not start" >&2; exit 1
}
used() { redis-cli -s "$TMP/$1.sock" info memory |
    sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

# ---- peer: the same records straight into Redis
start_redis peer
before=$(used peer)
/usr/bin/python3 - "$N" > "$TMP/peer.resp" <<'EOF'
import sys, time
n = int(sys.argv[1]); now = str(int(time.time() * 1000))
w = sys.stdout.buffer.write
def cmd(*a):
    w(b"*%d\r\n" % len(a))
    for x in a:
        x = x.encode()
        w(b"$%d\r\n%s\r\n" % (len(x), x))
for i in range(1, n + 1):
    e = "user%d@bench.example" % i
    cmd("HSET", "{t:1}:ct:%d" % i, "email", e, "key", e, "updated_at", now,
        "created_at", now, "first_name", "First%d" % i, "last_name", "Last",
        "attributes", '{"plan":"pro","seats":%d}' % (i % 50), "quarantined",
        "0")
    cmd("HSET", "{t:1}:ct:bykey", e, str(i))
EOF
t0=$(date +%s.%N)
redis-cli -s "$TMP/peer.sock" --pipe < "$TMP/peer.resp" > "$TMP/pipe.out"
t1=$(date +%s.%N)
peer_mem=$(( $(used peer) - before ))
peer_rate=$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')

# ---- fanfared
start_redis ff
head -c 32 /dev/urandom | base64 > "$TMP/secret"
cat > "$TMP/fanfare.conf" <<EOF
track_listen 127.0.0.1:$PORT
api_listen 127.0.0.1:$((PORT + 1))
redis unix:$TMP/ff.sock
token_secret_file $TMP/secret
spool_dir $TMP/spool
templates_dir $ROOT/templates
special_categories_file $ROOT/contrib/special-categories.conf
admin_key bench-admin-key-0123456789abcdef
threads 1
EOF
"$FANFARED" -c "$TMP/fanfare.conf" > "$TMP/fanfared.log" 2>&1 &
FF=$!
PIDS+=($FF)
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null && break
	sleep 0.05
done
before=$(used ff)
result=$(/usr/bin/python3 - "$N" "$BATCH" "$((PORT + 1))" <<'EOF'
import http.client, json, sys, time
n, batch, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
def call(method, path, key, body):
    c.request(method, path, body=json.dumps(body), headers={
        "Authorization": "Bearer " + key,
        "Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read() or b"null")
st, t = call("POST", "/v1/tenants", "bench-admin-key-0123456789abcdef",
             {"name": "Bench"})
key = t["api_key"]
bodies = []
for start in range(1, n + 1, batch):
    bodies.append([{"email": "user%d@bench.example" % i,
                    "first_name": "First%d" % i, "last_name": "Last",
                    "attributes": {"plan": "pro", "seats": i % 50}}
                   for i in range(start, min(start + batch, n + 1))])
created = 0
t0 = time.monotonic()
for b in bodies:
    st, r = call("POST", "/v1/contacts", key, b)
    if st != 200:
        sys.exit("POST /v1/contacts: %d %r" % (st, r))
    created += r["created"]
t1 = time.monotonic()
print(created, "%.3f" % (t1 - t0))
EOF
)
created=${result% *}
secs=${result#* }
ff_mem=$(( $(used ff) - before ))
rss=$(sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$FF/status")
ff_rate=$(awk -v n="$created" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')

echo "contacts: $N in batches of $BATCH"
printf 'fanfared API     %9s contacts/s  (%s created in %s s)\n' \
    "$ff_rate" "$created" "$secs"
printf 'redis-cli --pipe %9s contacts/s  (same records, no API)\n' "$peer_rate"
awk -v a="$ff_rate" -v b="$peer_rate" \
    'BEGIN { printf "ratio API / raw Redis: %.3f\n", a / b }'
awk -v m="$ff_mem" -v n="$created" \
    'BEGIN { printf "redis memory per contact (API): %.0f bytes\n", m / n }'
awk -v m="$peer_mem" -v n="$N" \
    'BEGIN { printf "redis memory per contact (peer): %.0f bytes\n", m / n }'
echo "fanfared peak RSS: $rss kB"
