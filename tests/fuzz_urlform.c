/*
 * fuzz_urlform.c: libFuzzer target for src/urlform.c, the parser of the
 * bodies strangers post to /f/, /s/ and /p/ on the tracking listener.
 * make fuzz builds it with clang (fuzz/urlform); make check replays
 * tests/fuzz/urlform/.
 *
 * It aborts when a result breaks the contract: at most
 * URLFORM_FIELDS_MAX fields, each half NUL-terminated at its length
 * within the scratch buffer, no longer than the input, valid UTF-8
 * without a NUL; and parsing is a function of the bytes (the same input
 * twice gives the same fields).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "urlform.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
check_half(const char *s, size_t len, const char *scratch, size_t cap,
    size_t inlen)
{
	uint32_t	cp;
	size_t		i, step;

	CHECK(s >= scratch && s + len < scratch + cap);
	CHECK(s[len] == '\0' && len <= inlen);
	CHECK(memchr(s, '\0', len) == NULL);
	for (i = 0; i < len; i += step)
		CHECK((step = utf8_decode((const unsigned char *)s + i,
		    len - i, &cp)) > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct urlform_field	 f[URLFORM_FIELDS_MAX], g[URLFORM_FIELDS_MAX];
	char			*scratch, *again;
	size_t			 cap = urlform_scratch_len(size), i;
	int			 n, m;

	if ((scratch = malloc(cap)) == NULL || (again = malloc(cap)) ==
	    NULL) {
		free(scratch);
		return 0;
	}
	n = urlform_parse((const char *)data, size, scratch, f,
	    URLFORM_FIELDS_MAX);
	m = urlform_parse((const char *)data, size, again, g,
	    URLFORM_FIELDS_MAX);
	CHECK(n == m);
	CHECK(n >= -1 && n <= URLFORM_FIELDS_MAX);
	for (i = 0; n > 0 && i < (size_t)n; i++) {
		check_half(f[i].name, f[i].namelen, scratch, cap, size);
		check_half(f[i].value, f[i].valuelen, scratch, cap, size);
		CHECK(f[i].namelen == g[i].namelen &&
		    memcmp(f[i].name, g[i].name, f[i].namelen) == 0);
		CHECK(f[i].valuelen == g[i].valuelen &&
		    memcmp(f[i].value, g[i].value, f[i].valuelen) == 0);
	}
	free(scratch);
	free(again);
	return 0;
}
