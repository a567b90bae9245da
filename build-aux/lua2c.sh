#!/bin/sh
# lua2c.sh SRCDIR NAME.lua...: writes to stdout a C source holding each
# script's text as a NUL-terminated byte array lua_NAME[] and its length
# lua_NAME_len (without the NUL), byte for byte, so the SHA1 fanfared
# computes is the one of the file.  POSIX sh, od and sed only.
set -e
srcdir=$1
shift
echo '/* Generated from src/lua/NAME.lua by build-aux/lua2c.sh: do not edit. */'
echo '#include <stddef.h>'
for f in "$@"; do
	name=$(basename "$f" .lua)
	echo
	echo "extern const unsigned char lua_${name}[];"
	echo "extern const size_t lua_${name}_len;"
	echo "const unsigned char lua_${name}[] = {"
	od -An -v -t x1 "$srcdir/$f" |
	    sed -e 's/[0-9a-f][0-9a-f]/0x&,/g' -e 's/^ */	/' -e 's/ *$//'
	echo '	0x00'
	echo '};'
	echo "const size_t lua_${name}_len = sizeof(lua_${name}) - 1;"
done
