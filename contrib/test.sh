#!/usr/bin/env bash
# test.sh: the test command.  Installs and builds (setup.sh), runs every
# test (make check: the Criterion unit tests, the fuzz corpora replayed,
# and the integration tests against a real fanfared and redis-server),
# runs the tracking, API, delivery and fanfarectl tests again on a Redis
# Cluster (FF_NO_CLUSTER=1 skips that), runs them all again in a
# sanitizer build (ASan, LeakSanitizer, UBSan, -Werror: any report
# fails), then make distcheck, and ends with one line "N passed, N
# failed[, N skipped]" counting every run.  Exit 0 only when everything
# passed.
#
# The sanitizer build is a VPATH build of this tree's make dist, in
# _build-san/ (a tree configured in place cannot host a VPATH build of
# itself); FF_NO_SANITIZERS=1 skips it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
export AM_COLOR_TESTS=no

passed=0 failed=0 skipped=0
finish() {   # STATUS
	local line="$passed passed, $failed failed"
	((skipped)) && line+=", $skipped skipped"
	echo "$line"
	exit "$1"
}

if ! FF_TEST_DEPS=1 bash contrib/setup.sh; then
	echo "test: setup/build failed" >&2
	failed=1
	finish 1
fi

# A sanitizer build a failed run left for a post-mortem goes now, so
# that its logs are not taken for this run's.
rm -rf _build-san
log=$(mktemp /tmp/fanfare-check.XXXXXX)
trap 'rm -f "$log"' EXIT
make -j2 check 2>&1 | tee "$log"
check_rc=${PIPESTATUS[0]}

# Automake's summary: "# PASS:  12" ... (one TAP line is one test).
# Adds a make check's counts (from its log) to the totals.
count() { awk -v k="# $1:" '$1 " " $2 == k { n = $3 } END { print n + 0 }' "$2"; }
add_counts() {   # LOG
	passed=$((passed + $(count PASS "$1")))
	failed=$((failed + $(count FAIL "$1") + $(count ERROR "$1") + $(count XPASS "$1")))
	skipped=$((skipped + $(count SKIP "$1")))
}
# Prints the logs of the failing tests under DIR (not in PRUNE).
failing_logs() {   # DIR PRUNE
	local found=0 trs
	echo
	echo "==== logs of the failing tests ===="
	while IFS= read -r trs; do
		found=1
		echo "---- ${trs%.trs}.log"
		cat "${trs%.trs}.log" 2>/dev/null
	done < <(find "$1" -name '*.trs' -not -path "$2" -print0 2>/dev/null |
	    xargs -0 -r grep -l -E '^:test-result: (FAIL|ERROR|XPASS)')
	((found)) || echo "(no failing test log: the build or the harness failed; see above)"
}
add_counts "$log"

if ((check_rc != 0)); then
	failing_logs . './fanfare-*'
	((failed)) || failed=1
	finish 1
fi

# The tests of tracking, the API (tenant isolation and erasure), a full
# campaign, fanfarectl, and each feature that stores entities of its own
# (the event log and webhooks, forms, segments, sequences, schedules,
# users, the app's endpoints, account mail) once more, each on a Redis
# Cluster of its own (three masters, three replicas:
# tests/integration/rcluster.py).
if [[ ${FF_NO_CLUSTER:-0} != 1 ]]; then
	cluster_log=$(mktemp /tmp/fanfare-check-cluster.XXXXXX)
	trap 'rm -f "$log" "$cluster_log"' EXIT
	start=$SECONDS
	cluster_tests="tests/integration/test_tracking.py"
	cluster_tests+=" tests/integration/test_api.py"
	cluster_tests+=" tests/integration/test_delivery.py"
	cluster_tests+=" tests/integration/test_ctl.py"
	for t in events webhooks forms segments sequences users appapi appmail \
	    audit_page contact_lists; do
		cluster_tests+=" tests/integration/test_$t.py"
	done
	cluster_tests+=" tests/integration/test_schedule.py"
	FF_TEST_REDIS=cluster make -j2 check TESTS="$cluster_tests" 2>&1 |
	    tee "$cluster_log"
	cluster_rc=${PIPESTATUS[0]}
	echo "test: the cluster run: $((SECONDS - start)) s"
	add_counts "$cluster_log"
	if ((cluster_rc != 0)); then
		failing_logs . './fanfare-*'
		((failed)) || failed=1
		finish 1
	fi
fi

# The same tests under ASan, LeakSanitizer and UBSan, warnings as
# errors.  Built from make dist, so it also proves the tarball builds.
if [[ ${FF_NO_SANITIZERS:-0} != 1 ]]; then
	san=_build-san
	version=$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)
	rm -rf "$san"
	mkdir -p "$san/build"
	san_log=$(mktemp /tmp/fanfare-check-san.XXXXXX)
	trap 'rm -f "$log" "${cluster_log:-}" "$san_log"' EXIT
	start=$SECONDS
	if ! make dist-gzip >/dev/null ||
	   ! tar -C "$san" -xzf "fanfare-$version.tar.gz" ||
	   ! (cd "$san/build" &&
	      "../fanfare-$version/configure" -q --enable-sanitizers --enable-werror); then
		echo "test: sanitizer build: dist or configure failed" >&2
		failed=$((failed + 1))
		finish 1
	fi
	(cd "$san/build" && make -j2 check) 2>&1 | tee "$san_log"
	san_rc=${PIPESTATUS[0]}
	echo "test: sanitizer make check: $((SECONDS - start)) s"
	add_counts "$san_log"
	if ((san_rc != 0)); then
		failing_logs "$san/build" /
		for f in "$san"/build/tests/sanitizer.*; do
			[[ -e $f ]] || continue
			echo "---- $f"
			cat "$f"
		done
		((failed)) || failed=1
		finish 1
	fi
	rm -rf "$san"
fi

if ! make -j2 distcheck; then
	echo "test: make distcheck failed" >&2
	# Its own make check runs in fanfare-VERSION/_build: show what failed.
	find ./fanfare-* -name '*.trs' -print0 2>/dev/null |
	    xargs -0 -r grep -l -E '^:test-result: (FAIL|ERROR|XPASS)' |
	    while IFS= read -r trs; do echo "---- ${trs%.trs}.log"; cat "${trs%.trs}.log"; done
	failed=$((failed + 1))
	finish 1
fi
finish 0
