#!/bin/sh
# check-storage.sh: fails when a file of src/ other than the storage
# layer speaks Redis itself.  The storage layer is redis_*.[ch] (the
# connections), script.[ch] (the Lua scripts) and store*.[ch] (the
# stores); anyone else calls a store.  Speaking Redis is calling the
# sync connection's commands and pipelines (db_cmd, db_cmdargv,
# db_append, db_appendargv, db_flush, db_reply, db_discard), running a
# script (script_run, script_append), or naming a hiredis reply
# (redisReply, freeReplyObject).  Comments are dropped first, so a
# comment may still name them.  TAP, for automake's tap-driver.
#
# Usage: check-storage.sh [SRCDIR]  (default: $FF_SRCDIR/src, else the
# src/ beside this script).

dir=${1:-${FF_SRCDIR:+$FF_SRCDIR/src}}
[ -n "$dir" ] || dir=$(dirname "$0")/../src

echo "1..1"
if [ ! -f "$dir/redis_sync.h" ]; then
	echo "not ok 1 - no $dir/redis_sync.h"
	exit 0
fi

calls='db_cmd|db_cmdargv|db_append|db_appendargv|db_flush|db_reply|db_discard'
calls="$calls|script_run|script_append|freeReplyObject"
bad=$(
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -f "$f" ] || continue
		case ${f##*/} in
		redis_*.[ch]|script.[ch]|store*.[ch]) continue ;;
		esac
		awk -v lua=0 -f "$(dirname "$0")/strip-comments.awk" "$f" |
		    grep -nE "(^|[^[:alnum:]_])(($calls)[[:space:]]*\(|redisReply([^[:alnum:]_]|$))" |
		    sed "s|^|${f##*/}:|"
	done
)

if [ -n "$bad" ]; then
	echo "not ok 1 - Redis spoken outside the storage layer"
	echo "$bad" | sed 's/^/# /'
	echo "# call a store (src/store_*.h) instead; a new query is a new store function"
else
	echo "ok 1 - only src/redis_*, src/script.* and src/store* speak Redis"
fi
