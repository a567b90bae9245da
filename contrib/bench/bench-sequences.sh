#!/usr/bin/env bash
# bench-sequences.sh: sequences at scale.  N (1,000,000) enrollments in
# one two-step sequence, DUE (1,000) of them due now: the time of the
# due-step job's pass that sends them (fanfared's own log line), the
# claim script's time with nothing due (what every idle pass costs, with
# N enrolled), Redis's used_memory per enrollment and fanfared's RSS.
#
#   nice contrib/bench/bench-sequences.sh     (N=1000000 DUE=1000 REPS=5)
#
# The sequence, its templates and the DUE contacts are made through the
# API; the N enrollments are then written straight into the real
# structures ({t:T}:sequence:ID:enrolled and :due, as
# sequence_enroll.lua writes them) with `redis-cli --pipe`, since
# enrolling a million contacts through the API would first need a
# million contacts (bench-contacts.sh measures those).  The due ones are
# the DUE real contacts; the others are due in a day.  The DUE steps go
# to Postfix's smtp-sink.  Private redis-server (unix socket) and
# fanfared on loopback; everything started here is stopped here.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-1000000}
DUE=${DUE:-1000}
REPS=${REPS:-5}
PORT=${PORT:-18191}
FANFARED=${FANFARED:-$ROOT/fanfared}
SINK=${SINK:-$(command -v smtp-sink || echo /usr/sbin/smtp-sink)}
[[ -x $FANFARED ]] || { echo "bench-sequences: build first" >&2; exit 1; }
[[ -x $SINK ]] || { echo "bench-sequences: needs Postfix's smtp-sink" >&2; exit 1; }

TMP=$(mktemp -d /tmp/fanfare-bq.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

SOCK=$TMP/redis.sock
redis-server --port 0 --unixsocket "$SOCK" --save '' --appendonly no \
    --dir "$TMP" > "$TMP/redis.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
	redis-cli -s "$SOCK" ping >/dev/null 2>&1 && break
	sleep 0.1
done
R() { redis-cli -s "$SOCK" "$@"; }
used() { R info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

"$SINK" -c -u "$(id -un)" 127.0.0.1:$((PORT + 2)) 1000 > "$TMP/sink.log" 2>&1 &
PIDS+=($!)

head -c 32 /dev/urandom | base64 > "$TMP/secret"
cat > "$TMP/fanfare.conf" <<EOF
track_listen 127.0.0.1:$PORT
api_listen 127.0.0.1:$((PORT + 1))
public_url http://127.0.0.1:$PORT
redis unix:$SOCK
token_secret_file $TMP/secret
spool_dir $TMP/spool
templates_dir $ROOT/templates
special_categories_file $ROOT/contrib/special-categories.conf
admin_key bench-admin-key-0123456789abcdef
allow_unverified_from on
smtp_relay 127.0.0.1:$((PORT + 2))
smtp_starttls off
senders 2
threads 1
EOF
mkdir -p "$TMP/spool"
"$FANFARED" -c "$TMP/fanfare.conf" > "$TMP/fanfared.log" 2>&1 &
FF=$!
PIDS+=($FF)
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$((PORT + 1))/healthz" >/dev/null && break
	sleep 0.05
done

# The tenant, DUE contacts, two templates, the sequence (a draft).
read -r TID SID KEY CONTACTS < <(/usr/bin/python3 - "$DUE" "$((PORT + 1))" <<'EOF'
import http.client, json, sys
due, port = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
def call(method, path, key, body=None, want=200):
    c.request(method, path, body=json.dumps(body) if body is not None
              else None, headers={"Authorization": "Bearer " + key,
                                  "Content-Type": "application/json"})
    r = c.getresponse()
    js = json.loads(r.read() or b"null")
    if r.status != want:
        sys.exit("%s %s: %d %r" % (method, path, r.status, js))
    return js
t = call("POST", "/v1/tenants", "bench-admin-key-0123456789abcdef",
         {"name": "Bench"}, 201)
key = t["api_key"]
emails = ["due%d@bench.example" % i for i in range(due)]
call("POST", "/v1/contacts", key, [{"email": e} for e in emails])
t1 = call("POST", "/v1/templates", key, {"name": "a", "subject": "One",
          "html": "<p>one</p>", "text": "one"}, 201)["id"]
t2 = call("POST", "/v1/templates", key, {"name": "b", "subject": "Two",
          "html": "<p>two</p>", "text": "two"}, 201)["id"]
s = call("POST", "/v1/sequences", key, {"name": "bench", "from":
         "Bench <b@bench.example>", "steps": [
             {"template_id": t1, "delay": "0s"},
             {"template_id": t2, "delay": "1d", "if": "not_opened"}]},
         201)["id"]
ids = [call("GET", "/v1/contacts/" + e, key)["id"] for e in emails]
print(t["id"], s, key, ",".join(ids))
EOF
)
ENR="{t:$TID}:sequence:$SID:enrolled"
DUEK="{t:$TID}:sequence:$SID:due"

mem0=$(used)
rss0=$(sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$FF/status")
# N enrollments as sequence_enroll.lua writes them: the DUE real
# contacts due a second ago, the others (ids past theirs) in a day.
/usr/bin/python3 - "$N" "$CONTACTS" "$ENR" "$DUEK" > "$TMP/enroll.resp" <<'EOF'
import sys, time
n, contacts, enr, due = int(sys.argv[1]), sys.argv[2].split(","), \
    sys.argv[3], sys.argv[4]
now = int(time.time() * 1000)
w = sys.stdout.buffer.write
def cmd(*a):
    w(b"*%d\r\n" % len(a))
    for x in a:
        x = str(x).encode()
        w(b"$%d\r\n%s\r\n" % (len(x), x))
for cid in contacts:
    cmd("HSET", enr, cid, "0")
    cmd("ZADD", due, now - 1000, cid)
base = 10 ** 7
for i in range(n - len(contacts)):
    cmd("HSET", enr, base + i, "0")
    cmd("ZADD", due, now + 86400000 + i, base + i)
EOF
t0=$(date +%s.%N)
R --pipe < "$TMP/enroll.resp" > "$TMP/pipe.out"
t1=$(date +%s.%N)
R hset "{t:$TID}:sequence:$SID" enrolled "$N" active "$N" >/dev/null
mem1=$(used)
load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

# The idle pass's claim with N enrolled and nothing due: the script
# itself, timed inside Redis (SLOWLOG with a 0 us threshold).
CLAIM=$(cat "$ROOT/src/lua/sequence_claim.lua")
R hset "{t:$TID}:sequence:$SID" status active >/dev/null
R config set slowlog-log-slower-than 0 >/dev/null
R slowlog reset >/dev/null
NOW=$(( $(date +%s) * 1000 - 60000 ))   # before the DUE ones' time
for _ in $(seq 100); do
	R eval "$CLAIM" 5 "{t:$TID}:sequence:$SID" "{t:$TID}:tenant" "$ENR" \
	    "$DUEK" "{t:$TID}:sequence:$SID:flight" "$NOW" 1000 60000 \
	    >/dev/null
done
idle_us=$(R slowlog get 100 | /usr/bin/python3 -c '
import sys
lines = sys.stdin.read().split("\n")
# redis-cli prints id, time, duration, then the argv: durations follow
# the timestamps; take every entry whose argv starts with "eval".
ds = []
for i in range(len(lines) - 3):
    if lines[i + 3].strip().lower() == "eval":
        ds.append(int(lines[i + 2]))
print(sorted(ds)[len(ds) // 2] if ds else "n/a")')
R config set slowlog-log-slower-than 10000 >/dev/null
R hset "{t:$TID}:sequence:$SID" status draft >/dev/null

# Activate: the next passes send the DUE steps; each rep makes the same
# DUE enrollments due again (they are at step 1 then; step 2's condition
# reads step 1's openers), and the pass's log line gives its time.
curl -sf -XPOST "http://127.0.0.1:$((PORT + 1))/v1/sequences/$SID/activate" \
    -H "Authorization: Bearer $KEY" > /dev/null
times=()
for rep in $(seq "$REPS"); do
	lines=$(grep -c "sequences: $DUE due" "$TMP/fanfared.log" || true)
	if [[ $rep -gt 1 ]]; then
		now=$(( $(date +%s) * 1000 - 1000 ))
		/usr/bin/python3 - "$CONTACTS" "$ENR" "$DUEK" "$now" "$rep" \
		    > "$TMP/again.resp" <<'EOF'
import sys
contacts, enr, due, now, rep = sys.argv[1].split(","), sys.argv[2], \
    sys.argv[3], sys.argv[4], int(sys.argv[5])
w = sys.stdout.buffer.write
def cmd(*a):
    w(b"*%d\r\n" % len(a))
    for x in a:
        x = str(x).encode()
        w(b"$%d\r\n%s\r\n" % (len(x), x))
# step 1 (0-based) again: its condition reads step 0's openers
for cid in contacts:
    cmd("HSET", enr, cid, "1")
    cmd("ZADD", due, now, cid)
EOF
		R --pipe < "$TMP/again.resp" > /dev/null
	fi
	for _ in $(seq 100); do
		[[ $(grep -c "sequences: $DUE due" "$TMP/fanfared.log" || true) \
		    -gt $lines ]] && break
		sleep 0.1
	done
	ms=$(grep "sequences: $DUE due" "$TMP/fanfared.log" | tail -1 |
	    sed -n 's/.* in \([0-9]*\) ms$/\1/p')
	times+=("${ms:-n/a}")
done
sleep 2
rss1=$(sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$FF/status")
hwm=$(sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$FF/status")
sent=$(R hget "{t:$TID}:camp:$(R hget "{t:$TID}:sequence:$SID" \
    step:0:campaign)" sent)

echo "enrollments: $N ($DUE due now), loaded with redis-cli --pipe in $load_s s"
echo "due-step pass with $DUE due (claim, condition, queue, advance), ms: ${times[*]}"
echo "claim script with nothing due, $N enrolled (SLOWLOG median): $idle_us us"
awk -v a="$mem0" -v b="$mem1" -v n="$N" \
    'BEGIN { printf "redis used_memory per enrollment: %.0f bytes (%.0f MB for %d)\n", (b - a) / n, (b - a) / 1048576, n }'
echo "fanfared RSS: $rss0 kB before loading, $rss1 kB after the passes (peak $hwm kB): it holds no enrollment"
echo "step 1 sent to the sink: ${sent:-0} of $DUE"
