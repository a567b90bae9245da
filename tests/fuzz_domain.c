/*
 * fuzz_domain.c: libFuzzer target for src/domain.c, what a tenant feeds
 * it: the domain of POST /v1/domains and of a campaign's From, and the
 * TXT records its own DNS serves back to verify.  make fuzz builds it
 * with clang (fuzz/domain); make check replays tests/fuzz/domain/.
 *
 * The input, from a heap copy of exactly its bytes, is read three ways.
 * It aborts when a result breaks the contract:
 *  - domain_name_check: an accepted name is at most 253 bytes of
 *    lowercase letters, digits, '-' and '.', with 2 or more labels, and
 *    checks again to itself;
 *  - domain_of_from: what it finds passes domain_name_check unchanged;
 *  - domain_txt_join of the input as RDATA: 0 only when the strings end
 *    exactly at its end; the text is no longer than the input; a joined
 *    text that domain_dkim_matches for a key p also matches when the
 *    record is given again with its own p= value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
fuzz_name(const char *in, size_t size)
{
	char	out[DOMAIN_NAME_MAX + 1], again[DOMAIN_NAME_MAX + 1];
	size_t	i, len, dots = 0;

	if (domain_name_check(in, size, out, sizeof(out)) == -1)
		return;
	len = strlen(out);
	CHECK(len > 0 && len <= DOMAIN_NAME_MAX);
	for (i = 0; i < len; i++) {
		CHECK((out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= '0' && out[i] <= '9') || out[i] == '-' ||
		    out[i] == '.');
		dots += out[i] == '.';
	}
	CHECK(dots >= 1 && out[0] != '.' && out[len - 1] != '.');
	CHECK(domain_name_check(out, len, again, sizeof(again)) == 0);
	CHECK(strcmp(out, again) == 0);
}

static void
fuzz_from(const char *in, size_t size)
{
	char	*s = malloc(size + 1), out[DOMAIN_NAME_MAX + 1];
	char	 again[DOMAIN_NAME_MAX + 1];

	CHECK(s != NULL);
	memcpy(s, in, size);
	s[size] = '\0';		/* a From is a C string: stops at a NUL */
	if (domain_of_from(s, out, sizeof(out)) == 0) {
		CHECK(domain_name_check(out, strlen(out), again,
		    sizeof(again)) == 0);
		CHECK(strcmp(out, again) == 0);
	}
	free(s);
}

static void
fuzz_txt(const uint8_t *in, size_t size)
{
	struct buf	 b = { NULL, 0, 0 };
	const char	*p;
	char		 pub[DOMAIN_TXT_MAX];
	size_t		 n;

	if (domain_txt_join(in, size, &b) == -1) {
		buf_free(&b);
		return;
	}
	CHECK(b.len <= size);
	if (b.p == NULL || strlen(b.p) != b.len) {
		buf_free(&b);	/* a NUL inside: not a text to match */
		return;
	}
	(void)domain_txt_is_spf(b.p);
	(void)domain_txt_is_dmarc(b.p);
	/* The value after the first "p=", without whitespace and up to a
	 * ';', is the key it must match (when it matches anything). */
	if ((p = strstr(b.p, "p=")) != NULL) {
		for (n = 0, p += 2; *p != '\0' && *p != ';' &&
		    n + 1 < sizeof(pub); p++)
			if (*p != ' ' && *p != '\t' && *p != '\r' &&
			    *p != '\n')
				pub[n++] = *p;
		pub[n] = '\0';
		(void)domain_dkim_matches(b.p, 0, pub);
		(void)domain_dkim_matches(b.p, 1, pub);
	}
	CHECK(!domain_dkim_matches(b.p, 0, "") ||
	    strstr(b.p, "p") != NULL);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*copy = malloc(size ? size : 1);

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	fuzz_name(copy, size);
	fuzz_from(copy, size);
	fuzz_txt((const uint8_t *)copy, size);
	free(copy);
	return 0;
}
