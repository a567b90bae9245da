/*
 * fuzz_validate.c: libFuzzer target for src/validate.c, the email
 * address and date checks every contact a tenant sends goes through.
 * make fuzz builds it with clang (fuzz/validate); make check replays
 * tests/fuzz/validate/.
 *
 * The input is an address and a date, from a heap copy of exactly its
 * bytes (no NUL after them).  It aborts when a result breaks the
 * contract:
 *  - an accepted address gives addr and key of at most FF_EMAIL_MAX
 *    bytes, printable, one '@', a lowercase ASCII domain; key is addr
 *    with the local part lowercased; addr validates again to itself
 *    (what is stored passes the check it passed);
 *  - validate_date agrees with a plain reading of YYYY-MM-DD and the
 *    Gregorian leap years, for the years 1900 to 2100.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
fuzz_email(const char *in, size_t size)
{
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	char		 addr2[FF_EMAIL_MAX + 1], key2[FF_EMAIL_MAX + 1];
	const char	*at;
	size_t		 len, i, local;

	memset(addr, 0x55, sizeof(addr));
	memset(key, 0x55, sizeof(key));
	if (validate_email(in, size, addr, key) == -1)
		return;
	CHECK(memchr(addr, '\0', sizeof(addr)) != NULL);
	CHECK(memchr(key, '\0', sizeof(key)) != NULL);
	len = strlen(addr);
	CHECK(len > 0 && len <= FF_EMAIL_MAX && strlen(key) == len);
	CHECK((at = strchr(addr, '@')) != NULL && strchr(at + 1, '@') == NULL);
	local = (size_t)(at - addr);
	CHECK(local >= 1 && local <= 64);
	for (i = 0; i < len; i++)
		CHECK((unsigned char)addr[i] > 0x20 && addr[i] != 0x7f);
	for (i = local + 1; i < len; i++)
		CHECK((addr[i] >= 'a' && addr[i] <= 'z') ||
		    (addr[i] >= '0' && addr[i] <= '9') || addr[i] == '-' ||
		    addr[i] == '.');
	for (i = 0; i < len; i++)
		CHECK(key[i] == (i < local ?
		    (char)tolower((unsigned char)addr[i]) : addr[i]));

	CHECK(validate_email(addr, len, addr2, key2) == 0);
	CHECK(strcmp(addr, addr2) == 0 && strcmp(key, key2) == 0);
}

static int
fuzz_digits(const char *s, size_t n, int *v)
{
	size_t	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static void
fuzz_date(const char *s, size_t len)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int	y, m, d, max, want;

	want = -1;
	if (len == 10 && s[4] == '-' && s[7] == '-' &&
	    fuzz_digits(s, 4, &y) == 0 && fuzz_digits(s + 5, 2, &m) == 0 &&
	    fuzz_digits(s + 8, 2, &d) == 0 && m >= 1 && m <= 12) {
		max = mdays[m - 1];
		if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
			max = 29;
		if (d >= 1 && d <= max)
			want = 0;
	}
	/* Within 1900..2100, the years validate.c takes. */
	if (want == 0 && (y < 1900 || y > 2100))
		want = -1;
	CHECK(validate_date(s, len) == want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*in;

	in = malloc(size == 0 ? 1 : size);
	CHECK(in != NULL);
	memcpy(in, data, size);
	fuzz_email(in, size);
	fuzz_date(in, size);
	if (size > 10)
		fuzz_date(in + size - 10, 10);
	free(in);
	return 0;
}
