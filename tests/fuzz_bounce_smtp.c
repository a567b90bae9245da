/*
 * fuzz_bounce_smtp.c: libFuzzer target for src/bounce_smtp.c, every
 * command line a stranger sends the bounce listener.  make fuzz builds
 * it (fuzz/bounce_smtp); make check replays tests/fuzz/bounce_smtp/.
 *
 * Contract: a refused line has a 5xx reply; an accepted MAIL or RCPT
 * has its path inside the line, and an accepted RCPT a non-empty local
 * part and domain that make up the path around one '@'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce_smtp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct smtp_command	 c;
	const char		*reply, *line;
	char			*copy;

	copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	line = copy;
	if (bounce_smtp_parse(line, len, &c, &reply) == -1) {
		CHECK(reply != NULL && reply[0] == '5');
	} else {
		CHECK(c.verb != SMTP_UNKNOWN);
		if (c.verb == SMTP_MAIL || c.verb == SMTP_RCPT)
			CHECK(c.path >= line && c.path + c.pathlen <=
			    line + len);
		if (c.verb == SMTP_RCPT) {
			CHECK(c.locallen > 0 && c.domainlen > 0);
			CHECK(c.local == c.path && c.local[c.locallen] == '@' &&
			    c.domain == c.local + c.locallen + 1 &&
			    c.locallen + 1 + c.domainlen == c.pathlen);
		}
	}
	free(copy);
	return 0;
}
