#!/usr/bin/env bash
# test.sh: the test command.  Installs and builds (setup.sh), runs every
# test (make check: the Criterion unit tests and the integration tests
# against a real fanfared and redis-server), then make distcheck, and
# ends with one line "N passed, N failed[, N skipped]".  Exit 0 only
# when everything passed.
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

log=$(mktemp /tmp/fanfare-check.XXXXXX)
trap 'rm -f "$log"' EXIT
make -j2 check 2>&1 | tee "$log"
check_rc=${PIPESTATUS[0]}

# Automake's summary: "# PASS:  12" ... (one TAP line is one test).
count() { awk -v k="# $1:" '$1 " " $2 == k { n = $3 } END { print n + 0 }' "$log"; }
passed=$(count PASS)
failed=$(( $(count FAIL) + $(count ERROR) + $(count XPASS) ))
skipped=$(count SKIP)

if ((check_rc != 0)); then
	echo
	echo "==== logs of the failing tests ===="
	found=0
	while IFS= read -r trs; do
		found=1
		echo "---- ${trs%.trs}.log"
		cat "${trs%.trs}.log" 2>/dev/null
	done < <(find . -name '*.trs' -not -path './fanfare-*' -print0 2>/dev/null |
	    xargs -0 -r grep -l -E '^:test-result: (FAIL|ERROR|XPASS)')
	((found)) || echo "(no failing test log: the build or the harness failed; see above)"
	((failed)) || failed=1
	finish 1
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
