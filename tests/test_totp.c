/*
 * test_totp.c: src/totp.c against RFC 6238's appendix B (SHA-1, the
 * 20-byte ASCII secret "12345678901234567890") and RFC 4648's base32
 * vectors.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "totp.h"

static const uint8_t rfc_secret[] = "12345678901234567890";

/* RFC 6238 appendix B: time, 8-digit TOTP (SHA-1 rows). */
static const struct {
	uint64_t	time;
	uint32_t	code;
} vectors[] = {
	{ 59, 94287082 },
	{ 1111111109, 7081804 },
	{ 1111111111, 14050471 },
	{ 1234567890, 89005924 },
	{ 2000000000, 69279037 },
	{ 20000000000ULL, 65353130 },
};

Test(totp, rfc6238_vectors)
{
	size_t	i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		cr_assert_eq(totp_hotp(rfc_secret, 20, vectors[i].time /
		    TOTP_STEP_S, 8), vectors[i].code, "time %llu",
		    (unsigned long long)vectors[i].time);
		/* Six digits are the last six of the eight. */
		cr_assert_eq(totp_hotp(rfc_secret, 20, vectors[i].time /
		    TOTP_STEP_S, 6), vectors[i].code % 1000000);
	}
}

Test(totp, verify_window)
{
	char		code[8];
	uint64_t	step = 0;

	/* 1111111109 -> 081804: a leading zero is a digit like any. */
	snprintf(code, sizeof(code), "%06u", 7081804 % 1000000);
	cr_assert_str_eq(code, "081804");
	cr_assert(totp_verify(rfc_secret, 20, 1111111109, code, &step));
	cr_assert_eq(step, 1111111109 / 30);
	/* One step late or early still passes; two do not. */
	cr_assert(totp_verify(rfc_secret, 20, 1111111109 + 30, code, NULL));
	cr_assert(totp_verify(rfc_secret, 20, 1111111109 - 30, code, NULL));
	cr_assert_not(totp_verify(rfc_secret, 20, 1111111109 + 61, code,
	    NULL));
	cr_assert_not(totp_verify(rfc_secret, 20, 1111111109 - 60, code,
	    NULL));
	/* Not six digits. */
	cr_assert_not(totp_verify(rfc_secret, 20, 1111111109, "81804", NULL));
	cr_assert_not(totp_verify(rfc_secret, 20, 1111111109, "0818041",
	    NULL));
	cr_assert_not(totp_verify(rfc_secret, 20, 1111111109, "08180a", NULL));
	cr_assert_not(totp_verify(rfc_secret, 20, 1111111109, NULL, NULL));
	/* Another secret. */
	cr_assert_not(totp_verify((const uint8_t *)"12345678901234567891", 20,
	    1111111109, code, NULL));
}

/* RFC 4648 section 10. */
Test(totp, base32)
{
	static const struct {
		const char	*in, *out;
	} v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" },
		{ "foobar", "MZXW6YTBOI" },
	};
	char	out[64];
	uint8_t	back[64];
	size_t	i;
	int	n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		totp_base32_encode((const uint8_t *)v[i].in, strlen(v[i].in),
		    out, sizeof(out));
		cr_assert_str_eq(out, v[i].out);
		n = totp_base32_decode(v[i].out, back, sizeof(back));
		cr_assert_eq(n, (int)strlen(v[i].in));
		cr_assert_eq(memcmp(back, v[i].in, (size_t)n), 0);
	}
	/* Lower case and padding are read; anything else is refused. */
	cr_assert_eq(totp_base32_decode("mzxw6ytboi======", back,
	    sizeof(back)), 6);
	cr_assert_eq(totp_base32_decode("MZXW1", back, sizeof(back)), -1);
	cr_assert_eq(totp_base32_decode("MZ=XW", back, sizeof(back)), -1);
	cr_assert_eq(totp_base32_decode("MZXW6YTBOI", back, 3), -1);
	/* The secret of the RFC as an app reads it. */
	totp_base32_encode(rfc_secret, 20, out, sizeof(out));
	cr_assert_str_eq(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	cr_assert_eq(strlen(out), TOTP_B32_LEN);
}
