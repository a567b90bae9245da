#!/bin/sh
# check-keys.sh: fails when a file of src/ other than keys.c and keys.h
# builds a Redis key name itself (the rule of src/keys.h).  Comments are
# dropped first, so a comment may still name a key; a string may not:
# "{t:" (a hash tag), "ff:x" (a global key), "%s:x" or "}:x" (a suffix
# pasted onto a key).  TAP, for automake's tap-driver.
#
# Usage: check-keys.sh [SRCDIR]  (default: $FF_SRCDIR/src, else the
# src/ beside this script).

dir=${1:-${FF_SRCDIR:+$FF_SRCDIR/src}}
[ -n "$dir" ] || dir=$(dirname "$0")/../src

echo "1..1"
if [ ! -f "$dir/keys.c" ]; then
	echo "not ok 1 - no $dir/keys.c"
	exit 0
fi

# Blanks C comments (/* */ and //) and Lua ones (--, in .lua files),
# keeping strings and line numbers.
strip() {
	awk -v lua="$2" -f "$(dirname "$0")/strip-comments.awk" "$1"
}

bad=$(
	for f in "$dir"/*.c "$dir"/*.h "$dir"/lua/*.lua; do
		[ -f "$f" ] || continue
		case ${f##*/} in
		keys.c|keys.h) continue ;;
		esac
		lua=0
		case $f in *.lua) lua=1 ;; esac
		strip "$f" "$lua" | grep -nE '\{t:|(^|["[:space:]])ff:[a-z_]|%s:[a-z_]|\}:[a-z_]' |
		    sed "s|^|${f##*/}:|"
	done
)

if [ -n "$bad" ]; then
	echo "not ok 1 - keys formatted outside src/keys.c"
	echo "$bad" | sed 's/^/# /'
	echo "# build the key with a key_*() function of src/keys.h"
else
	echo "ok 1 - only src/keys.c formats a Redis key"
fi
