# strip-comments.awk: prints a source file with its comments blanked --
# C's /* */ and //, or Lua's -- when run with -v lua=1 -- keeping its
# strings and its line numbers, for the checks of tests/check-*.sh.
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
			if ((state == "str" && c == "\"") || (state == "chr" && c == "'"))
				state = "code"
			i++
			continue
		}
		if (!lua && d == "/*") { state = "block"; i += 2; out = out "  "; continue }
		if ((!lua && d == "//") || (lua && d == "--")) break
		if (c == "\"") state = "str"
		else if (c == "'") state = "chr"
		out = out c
		i++
	}
	if (state == "str" || state == "chr") state = "code"
	print out
}
