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
	awk -v lua="$2" '
	BEGIN { state = "code" }
	{
		line = $0; out = ""; n = length(line); i = 1
		if (state == "line") state = "code"
		while (i <= n) {
			c = substr(line, i, 1); d = substr(line, i, 2)
			if (state == "block") {
				if (d == "*/") { state = "code"; i += 2 }
				else i++
				out = out " "
				continue
			}
			if (state == "str" || state == "chr") {
				out = out c
				if (c == "\\") { out = out substr(line, i + 1, 1); i += 2; continue }
				if ((state == "str" && c == "\"") || (state == "chr" && c == "'"'"'"))
					state = "code"
				i++
				continue
			}
			if (!lua && d == "/*") { state = "block"; i += 2; out = out "  "; continue }
			if ((!lua && d == "//") || (lua && d == "--")) break
			if (c == "\"") state = "str"
			else if (c == "'"'"'") state = "chr"
			out = out c
			i++
		}
		if (state == "str" || state == "chr") state = "code"
		print out
	}' "$1"
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
