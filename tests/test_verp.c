/*
 * test_verp.c: verp.c must round-trip every id, read its tokens back in
 * any case, agree with OpenSSL's HMAC() byte for byte, and refuse what
 * it did not sign or signed too long ago: other keys, a changed
 * character, a tracking token, stale and future days, non-canonical
 * base32.
 */
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "fanfare.h"
#include "verp.h"

static const uint8_t	 secret_a[] = "correct horse battery staple 0001";
static const uint8_t	 secret_b[] = "a different secret of 32+ bytes, B";
#define TODAY		20000ULL

static void
ring_init(struct token_keyring *ring, const uint8_t *secret, size_t len)
{
	char	err[256];

	memset(ring, 0, sizeof(*ring));
	cr_assert_eq(token_keyring_add(ring, secret, len, err, sizeof(err)),
	    0, "%s", err);
}

Test(verp, round_trip_any_case)
{
	static const uint64_t	 ids[] = { 0, 1, 127, 128, 1ULL << 32,
	    (1ULL << 35) - 1 };
	struct token_keyring	 ring;
	struct verp		 v, out;
	char			 s[VERP_LOCAL_MAX + 1], up[VERP_LOCAL_MAX + 1];
	size_t			 a, b, c, n, i;

	ring_init(&ring, secret_a, sizeof(secret_a) - 1);
	for (a = 0; a < FF_NELEM(ids); a++)
	for (b = 0; b < FF_NELEM(ids); b++)
	for (c = 0; c < FF_NELEM(ids); c++) {
		v.tenant = ids[a];
		v.campaign = ids[b];
		v.contact = ids[c];
		v.day = TODAY;
		n = verp_sign(&ring, &v, s);
		cr_assert(n > 0 && n <= VERP_LOCAL_MAX && n == strlen(s));
		cr_assert_eq(s[0], 'b');
		for (i = 0; i < n; i++)
			cr_assert(strchr("abcdefghijklmnopqrstuvwxyz234567",
			    s[i]) != NULL, "%s", s);
		cr_assert_eq(verp_verify(&ring, s, n, TODAY, &out), 0, "%s", s);
		cr_assert(out.tenant == v.tenant && out.campaign ==
		    v.campaign && out.contact == v.contact && out.day == TODAY);
		/* An MTA may change the case. */
		for (i = 0; i <= n; i++)
			up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 :
			    s[i]);
		cr_assert_eq(verp_verify(&ring, up, n, TODAY, &out), 0);
	}
}

Test(verp, too_long_is_not_made)
{
	struct token_keyring	ring;
	struct verp		v = { UINT64_MAX, UINT64_MAX, UINT64_MAX, TODAY };
	char			s[VERP_LOCAL_MAX + 1];

	ring_init(&ring, secret_a, sizeof(secret_a) - 1);
	cr_assert_eq(verp_sign(&ring, &v, s), 0);
	cr_assert_str_empty(s);
}

Test(verp, matches_openssl_hmac)
{
	struct token_keyring	ring;
	struct verp		v = { 7, 3, 300, TODAY };
	uint8_t			raw[64], want[EVP_MAX_MD_SIZE], md[32];
	unsigned		wlen;
	char			s[VERP_LOCAL_MAX + 1];
	size_t			n;
	long			m;
	uint8_t			msg[80];

	ring_init(&ring, secret_a, sizeof(secret_a) - 1);
	n = verp_sign(&ring, &v, s);
	m = verp_base32_decode(s + 1, n - 1, raw, sizeof(raw));
	cr_assert(m > 10);
	SHA256(secret_a, sizeof(secret_a) - 1, md);
	cr_assert_eq(raw[0], md[0], "the kid is the secret's");
	memcpy(msg, "fanfare-verp:", 13);
	memcpy(msg + 13, raw, (size_t)m - 10);
	HMAC(EVP_sha256(), secret_a, sizeof(secret_a) - 1, msg,
	    13 + (size_t)m - 10, want, &wlen);
	cr_assert(memcmp(raw + m - 10, want, 10) == 0);
}

Test(verp, refuses_what_it_did_not_sign)
{
	struct token_keyring	ring, other;
	struct verp		v = { 12, 34, 56, TODAY }, out;
	struct token		t = { TOKEN_UNSUB, 12, 34, 56, 0 };
	char			s[VERP_LOCAL_MAX + 1], bad[VERP_LOCAL_MAX + 2];
	char			tok[TOKEN_MAX_LEN + 2];
	size_t			n, i;
	const char		*alpha = "abcdefghijklmnopqrstuvwxyz234567";

	ring_init(&ring, secret_a, sizeof(secret_a) - 1);
	ring_init(&other, secret_b, sizeof(secret_b) - 1);
	n = verp_sign(&ring, &v, s);
	cr_assert_eq(verp_verify(&other, s, n, TODAY, &out), -1);
	/* Every single changed character. */
	for (i = 1; i < n; i++) {
		memcpy(bad, s, n + 1);
		bad[i] = alpha[(strchr(alpha, s[i]) - alpha + 1) % 32];
		cr_assert_eq(verp_verify(&ring, bad, n, TODAY, &out), -1,
		    "%s", bad);
	}
	/* Truncated, extended, without its 'b'. */
	cr_assert_eq(verp_verify(&ring, s, n - 1, TODAY, &out), -1);
	memcpy(bad, s, n);
	bad[n] = 'a';
	cr_assert_eq(verp_verify(&ring, bad, n + 1, TODAY, &out), -1);
	cr_assert_eq(verp_verify(&ring, s + 1, n - 1, TODAY, &out), -1);
	/* A tracking token of the same ids under the same key. */
	tok[0] = 'b';
	n = token_sign(&ring, &t, tok + 1);
	cr_assert(n > 0);
	cr_assert_eq(verp_verify(&ring, tok, n + 1, TODAY, &out), -1);
	cr_assert_eq(verp_verify(&ring, "", 0, TODAY, &out), -1);
	cr_assert_eq(verp_verify(&ring, "b", 1, TODAY, &out), -1);
}

Test(verp, stale_and_future)
{
	struct token_keyring	ring;
	struct verp		v = { 1, 2, 3, TODAY }, out;
	char			s[VERP_LOCAL_MAX + 1];
	size_t			n;

	ring_init(&ring, secret_a, sizeof(secret_a) - 1);
	n = verp_sign(&ring, &v, s);
	cr_assert_eq(verp_verify(&ring, s, n, TODAY + VERP_MAX_AGE_DAYS,
	    &out), 0);
	cr_assert_eq(verp_verify(&ring, s, n, TODAY + VERP_MAX_AGE_DAYS + 1,
	    &out), -1, "older than VERP_MAX_AGE_DAYS");
	cr_assert_eq(verp_verify(&ring, s, n, TODAY - 1, &out), 0,
	    "a clock a day behind");
	cr_assert_eq(verp_verify(&ring, s, n, TODAY - 2, &out), -1,
	    "signed in the future");
}

Test(verp, base32_is_canonical)
{
	uint8_t	out[8];
	char	s[16];

	cr_assert_eq(verp_base32_encode((const uint8_t *)"f", 1, s), 2);
	cr_assert_str_eq(s, "my");
	cr_assert_eq(verp_base32_decode("my", 2, out, sizeof(out)), 1);
	cr_assert_eq(verp_base32_decode("MY", 2, out, sizeof(out)), 1);
	/* Non-zero trailing bits: another text for the same byte. */
	cr_assert_eq(verp_base32_decode("mz", 2, out, sizeof(out)), -1);
	cr_assert_eq(verp_base32_decode("m", 1, out, sizeof(out)), -1);
	cr_assert_eq(verp_base32_decode("m1", 2, out, sizeof(out)), -1);
	cr_assert_eq(verp_base32_decode("m=", 2, out, sizeof(out)), -1);
	cr_assert_eq(verp_base32_encode((const uint8_t *)"foobar", 6, s), 10);
	cr_assert_str_eq(s, "mzxw6ytboi");
}
