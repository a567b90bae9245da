#!/usr/bin/env bash
# fuzz-run.sh: make fuzz-run.  Runs each libFuzzer target of make fuzz
# for SECONDS on a work copy of its seed corpus, one after the other,
# then prints a line per target: CPU seconds, executions, findings.
#
#   contrib/fuzz-run.sh SECONDS SEEDS_DIR FUZZ_DIR TARGET...
#
# With FUZZ_CPU=1 (make fuzz-run FUZZ_CPU=1), SECONDS are CPU seconds of
# the target's process rather than wall-clock ones: on a shared or
# niced machine each target then gets the same work, whatever the load
# (the run is stopped with SIGINT once it has used them; libFuzzer
# prints its final stats).  Running the same targets again continues on
# the same work corpus, so two runs add up.
#
# SEEDS_DIR/TARGET is the seed corpus (never written); the work corpus
# grows in FUZZ_DIR/corpus/TARGET and findings (crash-*, leak-*,
# timeout-*, oom-*) land in FUZZ_DIR/findings/ as TARGET-crash-...; a
# run stops at its first finding.  The target's own stderr (log lines
# of the code under test) is dropped; libFuzzer's and the sanitizers'
# reports are kept, in FUZZ_DIR/TARGET.log.  Exit 1 when anything was
# found.
set -uo pipefail
(($# >= 4)) || { echo "usage: $0 SECONDS SEEDS_DIR FUZZ_DIR TARGET..." >&2; exit 2; }
secs=$1 seeds=$2 dir=$3
shift 3

found_any=0
report=()
hz=$(getconf CLK_TCK)
for t in "$@"; do
	bin=$dir/$t
	[[ -x $bin ]] || { echo "fuzz-run: no $bin (make fuzz)" >&2; exit 2; }
	mkdir -p "$dir/corpus/$t" "$dir/findings"
	before=$(find "$dir/findings" -name "$t-*" | wc -l)
	echo "fuzz-run: $t for ${secs}s" >&2
	args=(-timeout=10 -rss_limit_mb=2048 -max_len=4096 -close_fd_mask=2
	    -print_final_stats=1 -artifact_prefix="$dir/findings/$t-"
	    "$dir/corpus/$t" "$seeds/$t")
	if [[ ${FUZZ_CPU:-0} == 1 ]]; then
		# Wall time only as a backstop: 100 times the budget.
		"$bin" -max_total_time=$((secs * 100)) "${args[@]}" \
		    >"$dir/$t.log" 2>&1 &
		pid=$! ticks=0
		while kill -0 "$pid" 2>/dev/null; do
			read -r -a st <"/proc/$pid/stat" 2>/dev/null || break
			ticks=$((st[13] + st[14]))
			((ticks >= secs * hz)) && { kill -INT "$pid"; break; }
			sleep 1
		done
		wait "$pid"
		cpu=$(awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
	else
		TIMEFORMAT='%3U %3S'
		cpu=$( { time "$bin" -max_total_time="$secs" "${args[@]}" \
		    >"$dir/$t.log" 2>&1; } 2>&1 )
		read -r user sys <<<"$cpu"
		cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
	fi
	execs=$(awk '/stat::number_of_executed_units:/ { n = $2 } END { print n + 0 }' "$dir/$t.log")
	after=$(find "$dir/findings" -name "$t-*" | wc -l)
	findings=$((after - before))
	((findings)) && found_any=1
	report+=("$(printf '%-12s %8s CPU s %12s execs %3d findings' "$t" "$cpu" "$execs" "$findings")")
	if ((findings)); then
		find "$dir/findings" -name "$t-*" -newer "$bin" | sed 's/^/    /' >&2
		grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|deadly signal' "$dir/$t.log" | sed 's/^/    /' >&2
	fi
done
echo "---- fuzz-run: ${secs}s per target$([[ ${FUZZ_CPU:-0} == 1 ]] && echo ' (CPU)')"
printf '%s\n' "${report[@]}"
exit "$found_any"
