/*
 * test_token.c: token.c must round-trip every id, agree with OpenSSL's
 * HMAC() byte for byte, and reject everything it did not sign: other
 * keys, any changed character, truncation, over-long input, foreign
 * characters, swapped kinds and non-canonical encodings.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "fanfare.h"

static const char	 b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const uint8_t	 secret_a[] = "correct horse battery staple 0001";
static const uint8_t	 secret_b[] = "a different secret of 32+ bytes, B";

#define SECRET_A_LEN	(sizeof(secret_a) - 1)
#define SECRET_B_LEN	(sizeof(secret_b) - 1)

static const uint64_t	 ids[] = {
	0, 1, 127, 128, (uint64_t)1 << 32, UINT64_MAX,
};
static const uint32_t	 links[] = { 0, 1, 127, 128, UINT32_MAX };
static const uint8_t	 kinds[] = { TOKEN_OPEN, TOKEN_CLICK, TOKEN_UNSUB };

static void
ring_init(struct token_keyring *ring, const uint8_t *secret, size_t len)
{
	char	err[256];

	memset(ring, 0, sizeof(*ring));
	cr_assert_eq(token_keyring_add(ring, secret, len, err, sizeof(err)),
	    0, "token_keyring_add: %s", err);
}

static uint8_t
kid_of(const uint8_t *secret, size_t len)
{
	uint8_t	md[SHA256_DIGEST_LENGTH];

	SHA256(secret, len, md);
	return md[0];
}

static size_t
sign_ok(const struct token_keyring *ring, uint8_t kind, uint64_t tenant,
    uint64_t campaign, uint64_t contact, uint32_t link, char *out)
{
	struct token	t = { kind, tenant, campaign, contact, link };
	size_t		n;

	n = token_sign(ring, &t, out);
	cr_assert_gt(n, 0, "token_sign failed");
	cr_assert_leq(n, TOKEN_MAX_LEN);
	cr_assert_eq(strlen(out), n);
	return n;
}

static int
verify_str(const struct token_keyring *ring, const char *s, size_t len)
{
	struct token	t;

	return token_verify(ring, s, len, &t);
}

/* Signs raw body bytes (kid is written into raw[0]) the reference way,
 * with OpenSSL's HMAC(), and encodes them: hand-built tokens whose only
 * flaw is the one a test puts in. */
static size_t
hand_token(const uint8_t *secret, size_t slen, uint8_t *raw, size_t n,
    char *out)
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	cr_assert_leq(n + TOKEN_MAC_LEN, TOKEN_MAX_RAW + 8);
	raw[0] = kid_of(secret, slen);
	cr_assert_not_null(HMAC(EVP_sha256(), secret, (int)slen, raw, n, md,
	    &mdlen));
	memcpy(raw + n, md, TOKEN_MAC_LEN);
	return base64url_encode(raw, n + TOKEN_MAC_LEN, out);
}

/* ------------------------------------------------------------ basics */

Test(token, round_trip_all_kinds_and_boundary_ids)
{
	struct token_keyring	 ring;
	struct token		 t;
	char			 buf[TOKEN_MAX_LEN + 1];
	size_t			 k, a, b, c, l, n, nlinks;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	for (k = 0; k < FF_NELEM(kinds); k++)
	for (a = 0; a < FF_NELEM(ids); a++)
	for (b = 0; b < FF_NELEM(ids); b++)
	for (c = 0; c < FF_NELEM(ids); c++) {
		nlinks = kinds[k] == TOKEN_CLICK ? FF_NELEM(links) : 1;
		for (l = 0; l < nlinks; l++) {
			n = sign_ok(&ring, kinds[k], ids[a], ids[b], ids[c],
			    links[l], buf);
			memset(&t, 0xaa, sizeof(t));
			cr_assert_eq(token_verify(&ring, buf, n, &t), 0,
			    "kind %c ids %zu/%zu/%zu: %s", kinds[k], a, b, c,
			    buf);
			cr_assert_eq(t.kind, kinds[k]);
			cr_assert_eq(t.tenant, ids[a]);
			cr_assert_eq(t.campaign, ids[b]);
			cr_assert_eq(t.contact, ids[c]);
			cr_assert_eq(t.link, links[l]);
		}
	}
}

Test(token, output_is_url_safe_and_deterministic)
{
	struct token_keyring	 ring;
	char			 a[TOKEN_MAX_LEN + 1], b[TOKEN_MAX_LEN + 1];
	size_t			 n, i;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	n = sign_ok(&ring, TOKEN_CLICK, UINT64_MAX, UINT64_MAX, UINT64_MAX,
	    UINT32_MAX, a);
	sign_ok(&ring, TOKEN_CLICK, UINT64_MAX, UINT64_MAX, UINT64_MAX,
	    UINT32_MAX, b);
	cr_assert_str_eq(a, b);
	for (i = 0; i < n; i++)
		cr_assert_not_null(strchr(b64chars, a[i]), "char %zu", i);
}

Test(token, known_answer_matches_openssl_hmac)
{
	static const size_t	 lens[] = { 32, 33, 63, 64, 65, 100, 4096 };
	struct token_keyring	 ring;
	struct token		 t;
	uint8_t			 secret[4096], raw[TOKEN_MAX_RAW];
	uint8_t			 hraw[TOKEN_MAX_RAW + 8];
	uint8_t			 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;
	char			 buf[TOKEN_MAX_LEN + 1];
	size_t			 i, n;
	ssize_t			 rn;

	for (i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 131 + 7);
	for (i = 0; i < FF_NELEM(lens); i++) {
		ring_init(&ring, secret, lens[i]);
		/* tenant 300, campaign 1, contact 0, link 128 */
		n = sign_ok(&ring, TOKEN_CLICK, 300, 1, 0, 128, buf);
		rn = base64url_decode(buf, n, raw, sizeof(raw));
		cr_assert_eq(rn, 2 + 2 + 1 + 1 + 2 + TOKEN_MAC_LEN);
		cr_assert_eq(raw[0], kid_of(secret, lens[i]));
		cr_assert_eq(ring.keys[0].kid, raw[0]);
		cr_assert_eq(raw[1], 'c');
		cr_assert_eq(raw[2], 0xac);	/* 300 = 0b10_0101100 */
		cr_assert_eq(raw[3], 0x02);
		cr_assert_eq(raw[4], 0x01);
		cr_assert_eq(raw[5], 0x00);
		cr_assert_eq(raw[6], 0x80);	/* 128 */
		cr_assert_eq(raw[7], 0x01);
		mdlen = 0;
		cr_assert_not_null(HMAC(EVP_sha256(), secret, (int)lens[i],
		    raw, (size_t)rn - TOKEN_MAC_LEN, md, &mdlen));
		cr_assert_eq(mdlen, 32);
		cr_assert_eq(memcmp(raw + rn - TOKEN_MAC_LEN, md,
		    TOKEN_MAC_LEN), 0, "secret length %zu", lens[i]);

		/* And the other way: a token built with HMAC() verifies. */
		hraw[1] = 'o';
		hraw[2] = 0x05;
		hraw[3] = 0x7f;
		hraw[4] = 0x80;
		hraw[5] = 0x01;
		n = hand_token(secret, lens[i], hraw, 6, buf);
		cr_assert_eq(token_verify(&ring, buf, n, &t), 0);
		cr_assert_eq(t.kind, 'o');
		cr_assert_eq(t.tenant, 5);
		cr_assert_eq(t.campaign, 127);
		cr_assert_eq(t.contact, 128);
		cr_assert_eq(t.link, 0);
	}
}

/* ----------------------------------------------------------- forgery */

/* A secret other than `avoid` whose kid is `kid`: 256 tries on average. */
static void
secret_with_kid(uint8_t kid, const uint8_t *avoid, uint8_t out[32])
{
	uint32_t	i;

	for (i = 0; i < 1000000; i++) {
		memset(out, 'x', 32);
		memcpy(out, &i, sizeof(i));
		if (kid_of(out, 32) == kid && memcmp(out, avoid, 32) != 0)
			return;
	}
	cr_assert_fail("no secret with kid %u", kid);
}

Test(token, other_secret_is_rejected)
{
	struct token_keyring	 a, b, c;
	uint8_t			 same_kid[32];
	char			 buf[TOKEN_MAX_LEN + 1];
	size_t			 n;

	ring_init(&a, secret_a, SECRET_A_LEN);
	ring_init(&b, secret_b, SECRET_B_LEN);
	n = sign_ok(&a, TOKEN_OPEN, 1, 2, 3, 0, buf);
	cr_assert_eq(verify_str(&a, buf, n), 0);
	cr_assert_eq(verify_str(&b, buf, n), -1);

	/* Same kid, different key: only the MAC can reject it. */
	secret_with_kid(a.keys[0].kid, secret_a, same_kid);
	ring_init(&c, same_kid, sizeof(same_kid));
	cr_assert_eq(c.keys[0].kid, a.keys[0].kid);
	cr_assert_eq(verify_str(&c, buf, n), -1);
	n = sign_ok(&c, TOKEN_OPEN, 1, 2, 3, 0, buf);
	cr_assert_eq(verify_str(&c, buf, n), 0);
	cr_assert_eq(verify_str(&a, buf, n), -1);
}

static void
check_all_mutations(const struct token_keyring *ring, const char *tok,
    size_t n)
{
	char	buf[TOKEN_MAX_LEN + 1];
	size_t	i, j;

	cr_assert_eq(verify_str(ring, tok, n), 0);
	for (i = 0; i < n; i++) {
		for (j = 0; j < 64; j++) {
			if (b64chars[j] == tok[i])
				continue;
			memcpy(buf, tok, n + 1);
			buf[i] = b64chars[j];
			cr_assert_eq(verify_str(ring, buf, n), -1,
			    "position %zu -> '%c' accepted: %s", i,
			    b64chars[j], buf);
		}
	}
}

Test(token, every_single_character_mutation_is_rejected)
{
	struct token_keyring	 ring;
	char			 buf[TOKEN_MAX_LEN + 1];
	size_t			 n;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	n = sign_ok(&ring, TOKEN_OPEN, 0, 0, 0, 0, buf);
	check_all_mutations(&ring, buf, n);
	n = sign_ok(&ring, TOKEN_UNSUB, 42, 128, 1 << 20, 0, buf);
	check_all_mutations(&ring, buf, n);
	n = sign_ok(&ring, TOKEN_CLICK, 7, 8, 9, 3, buf);
	check_all_mutations(&ring, buf, n);
	n = sign_ok(&ring, TOKEN_CLICK, UINT64_MAX, UINT64_MAX, UINT64_MAX,
	    UINT32_MAX, buf);
	check_all_mutations(&ring, buf, n);
}

Test(token, truncated_at_every_length_is_rejected)
{
	struct token_keyring	 ring;
	char			 buf[TOKEN_MAX_LEN + 1];
	size_t			 n, i;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	n = sign_ok(&ring, TOKEN_CLICK, 1000, 2000, 3000, 4, buf);
	for (i = 0; i < n; i++) {
		cr_assert_eq(verify_str(&ring, buf, i), -1, "prefix %zu", i);
		cr_assert_eq(verify_str(&ring, buf + n - i, i), -1,
		    "suffix %zu", i);
	}
	/* Dropping the last varint group keeps a plausible shape. */
	n = sign_ok(&ring, TOKEN_OPEN, 0, 0, 0, 0, buf);
	for (i = 0; i < n; i++)
		cr_assert_eq(verify_str(&ring, buf, i), -1, "prefix %zu", i);
	cr_assert_eq(verify_str(&ring, "", 0), -1);
}

Test(token, over_long_and_trailing_input_is_rejected)
{
	struct token_keyring	 ring;
	char			 buf[TOKEN_MAX_LEN + 1];
	char			 longbuf[10 * 1024 + 1];
	size_t			 n, extra;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	n = sign_ok(&ring, TOKEN_OPEN, 1, 2, 3, 0, buf);

	/* The valid token followed by more alphabet characters. */
	for (extra = 1; n + extra <= sizeof(longbuf) - 1;
	    extra = extra < 8 ? extra + 1 : extra * 2) {
		memset(longbuf, 'A', sizeof(longbuf));
		memcpy(longbuf, buf, n);
		cr_assert_eq(verify_str(&ring, longbuf, n + extra), -1,
		    "token + %zu chars", extra);
	}
	memset(longbuf, 'A', sizeof(longbuf));
	memcpy(longbuf, buf, n);
	cr_assert_eq(verify_str(&ring, longbuf, TOKEN_MAX_LEN + 1), -1);
	cr_assert_eq(verify_str(&ring, longbuf, 10 * 1024), -1);
	memset(longbuf, 'A', sizeof(longbuf));
	cr_assert_eq(verify_str(&ring, longbuf, TOKEN_MAX_LEN), -1);
	cr_assert_eq(verify_str(&ring, longbuf, TOKEN_MAX_LEN + 1), -1);
	cr_assert_eq(verify_str(&ring, longbuf, 10 * 1024), -1);
}

Test(token, non_alphabet_characters_are_rejected)
{
	static const char	 bad[] = { '=', '+', '/', '%', '\0', ' ', '.',
	    '\n', '\r', '~', (char)0x80, (char)0xff };
	struct token_keyring	 ring;
	char			 tok[TOKEN_MAX_LEN + 1], buf[TOKEN_MAX_LEN + 8];
	size_t			 n, i, j;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	n = sign_ok(&ring, TOKEN_CLICK, 5, 6, 7, 8, tok);
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof(bad); j++) {
			memcpy(buf, tok, n + 1);
			buf[i] = bad[j];
			cr_assert_eq(verify_str(&ring, buf, n), -1,
			    "0x%02x at %zu", (unsigned char)bad[j], i);
		}
	}
	/* Padding, a path suffix or a NUL after the token. */
	for (j = 0; j < 3; j++) {
		static const char *suffix[] = { "=", "==", ".gif" };

		snprintf(buf, sizeof(buf), "%s%s", tok, suffix[j]);
		cr_assert_eq(verify_str(&ring, buf, strlen(buf)), -1, "%s",
		    buf);
	}
	memcpy(buf, tok, n + 1);
	cr_assert_eq(verify_str(&ring, buf, n + 1), -1);	/* the NUL */
}

Test(token, kind_is_bound_by_the_mac)
{
	struct token_keyring	 ring;
	struct token		 t;
	uint8_t			 raw[TOKEN_MAX_RAW];
	char			 o[TOKEN_MAX_LEN + 1], u[TOKEN_MAX_LEN + 1];
	char			 buf[TOKEN_MAX_LEN + 1];
	size_t			 n, i;
	ssize_t			 rn;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	n = sign_ok(&ring, TOKEN_OPEN, 11, 22, 33, 0, o);
	sign_ok(&ring, TOKEN_UNSUB, 11, 22, 33, 0, u);
	cr_assert_str_neq(o, u);
	cr_assert_eq(token_verify(&ring, o, n, &t), 0);
	cr_assert_eq(t.kind, TOKEN_OPEN);
	cr_assert_eq(token_verify(&ring, u, strlen(u), &t), 0);
	cr_assert_eq(t.kind, TOKEN_UNSUB);

	/* The open token's bytes with another kind, MAC kept. */
	rn = base64url_decode(o, n, raw, sizeof(raw));
	cr_assert_gt(rn, 0);
	for (i = 0; i < 256; i++) {
		if (i == TOKEN_OPEN)
			continue;
		raw[1] = (uint8_t)i;
		base64url_encode(raw, (size_t)rn, buf);
		cr_assert_eq(token_verify(&ring, buf, strlen(buf), &t), -1,
		    "kind 0x%02zx accepted", i);
	}
}

Test(token, rotation_verifies_old_and_signs_with_new)
{
	struct token_keyring	 old, both, fresh;
	struct token		 t;
	char			 err[256], buf[TOKEN_MAX_LEN + 1];
	uint8_t			 raw[TOKEN_MAX_RAW];
	size_t			 n;

	ring_init(&old, secret_a, SECRET_A_LEN);
	ring_init(&both, secret_b, SECRET_B_LEN);
	cr_assert_eq(token_keyring_add(&both, secret_a, SECRET_A_LEN, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(both.nkeys, 2);
	ring_init(&fresh, secret_b, SECRET_B_LEN);

	n = sign_ok(&old, TOKEN_CLICK, 1, 2, 3, 4, buf);
	cr_assert_eq(token_verify(&both, buf, n, &t), 0);
	cr_assert_eq(t.link, 4);
	cr_assert_eq(token_verify(&fresh, buf, n, &t), -1);

	n = sign_ok(&both, TOKEN_CLICK, 1, 2, 3, 4, buf);
	cr_assert_eq(base64url_decode(buf, n, raw, sizeof(raw)),
	    2 + 4 + TOKEN_MAC_LEN);
	cr_assert_eq(raw[0], kid_of(secret_b, SECRET_B_LEN));
	cr_assert_eq(token_verify(&fresh, buf, n, &t), 0);
	cr_assert_eq(token_verify(&both, buf, n, &t), 0);
	cr_assert_eq(token_verify(&old, buf, n, &t), -1);
}

/* ------------------------------------------------------------- keys */

Test(token, kid_collision_is_rejected)
{
	struct token_keyring	 ring;
	uint8_t			 other[32];
	char			 err[256];

	ring_init(&ring, secret_a, SECRET_A_LEN);
	secret_with_kid(ring.keys[0].kid, secret_a, other);
	err[0] = '\0';
	cr_assert_eq(token_keyring_add(&ring, other, sizeof(other), err,
	    sizeof(err)), -1);
	cr_assert_eq(ring.nkeys, 1);
	cr_assert_not_null(strstr(err, "generate another secret"), "%s", err);
	/* The same secret twice is a collision too. */
	cr_assert_eq(token_keyring_add(&ring, secret_a, SECRET_A_LEN, err,
	    sizeof(err)), -1);
	cr_assert_eq(ring.nkeys, 1);
}

Test(token, short_secret_and_full_ring_are_rejected)
{
	struct token_keyring	 ring;
	uint8_t			 s[64];
	char			 err[256];
	int			 i, added = 0;

	memset(&ring, 0, sizeof(ring));
	memset(s, 'k', sizeof(s));
	cr_assert_eq(token_keyring_add(&ring, s, TOKEN_MIN_SECRET - 1, err,
	    sizeof(err)), -1);
	cr_assert_str_eq(err, "secret is shorter than 32 bytes");
	cr_assert_eq(token_keyring_add(&ring, s, 0, err, sizeof(err)), -1);
	cr_assert_eq(ring.nkeys, 0);
	cr_assert_eq(token_keyring_add(&ring, s, TOKEN_MIN_SECRET, err,
	    sizeof(err)), 0, "%s", err);

	/* Fill the ring with secrets of distinct kids. */
	for (i = 0; ring.nkeys < FF_MAX_SECRETS && i < 100000; i++) {
		memcpy(s, &i, sizeof(i));
		if (token_keyring_add(&ring, s, sizeof(s), err,
		    sizeof(err)) == 0)
			added++;
	}
	cr_assert_eq(ring.nkeys, FF_MAX_SECRETS);
	cr_assert_eq(added, FF_MAX_SECRETS - 1);
	memcpy(s, &i, sizeof(i));
	cr_assert_eq(token_keyring_add(&ring, s, sizeof(s), err,
	    sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "too many"), "%s", err);
	cr_assert_eq(ring.nkeys, FF_MAX_SECRETS);
}

Test(token, empty_ring_and_bad_struct)
{
	struct token_keyring	 empty, ring;
	struct token		 t;
	char			 buf[TOKEN_MAX_LEN + 1];
	size_t			 n;

	memset(&empty, 0, sizeof(empty));
	ring_init(&ring, secret_a, SECRET_A_LEN);
	t = (struct token){ TOKEN_OPEN, 1, 2, 3, 0 };
	cr_assert_eq(token_sign(&empty, &t, buf), 0);
	n = sign_ok(&ring, TOKEN_OPEN, 1, 2, 3, 0, buf);
	cr_assert_eq(verify_str(&empty, buf, n), -1);

	t = (struct token){ 'x', 1, 2, 3, 0 };
	cr_assert_eq(token_sign(&ring, &t, buf), 0);
	t = (struct token){ 0, 1, 2, 3, 0 };
	cr_assert_eq(token_sign(&ring, &t, buf), 0);
	t = (struct token){ TOKEN_OPEN, 1, 2, 3, 9 };	/* link on open */
	cr_assert_eq(token_sign(&ring, &t, buf), 0);
	t = (struct token){ TOKEN_UNSUB, 1, 2, 3, 9 };
	cr_assert_eq(token_sign(&ring, &t, buf), 0);
}

/* ------------------------------------------------ canonical encoding */

struct raw_case {
	const char	*name;
	uint8_t		 bytes[TOKEN_MAX_RAW];	/* from byte 1 (kind) on */
	size_t		 len;
	int		 ok;
};

static const struct raw_case raw_cases[] = {
	{ "minimal open", { 'o', 0x00, 0x00, 0x00 }, 4, 1 },
	{ "minimal click", { 'c', 0x00, 0x00, 0x00, 0x00 }, 5, 1 },
	{ "unsub 128", { 'u', 0x80, 0x01, 0x00, 0x00 }, 5, 1 },
	{ "uint64 max", { 'o', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0x01, 0x00, 0x00 }, 13, 1 },
	{ "link uint32 max", { 'c', 0x00, 0x00, 0x00,
	    0xff, 0xff, 0xff, 0xff, 0x0f }, 9, 1 },

	{ "zero padded to 2 bytes", { 'o', 0x80, 0x00, 0x00, 0x00 }, 5, 0 },
	{ "one padded to 2 bytes", { 'o', 0x81, 0x00, 0x00, 0x00 }, 5, 0 },
	{ "padded contact", { 'o', 0x00, 0x00, 0x85, 0x80, 0x00 }, 6, 0 },
	{ "padded link", { 'c', 0x00, 0x00, 0x00, 0x80, 0x00 }, 6, 0 },
	{ "uint64 max padded to 11", { 'o', 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0x81, 0x00, 0x00, 0x00 }, 14, 0 },
	{ "2^64 overflow", { 'o', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x02, 0x00, 0x00 }, 13, 0 },
	{ "10th byte 0x7f", { 'o', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0x7f, 0x00, 0x00 }, 13, 0 },
	{ "11 byte varint", { 'o', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x01, 0x00, 0x00 }, 14, 0 },
	{ "link 2^32", { 'c', 0x00, 0x00, 0x00,
	    0x80, 0x80, 0x80, 0x80, 0x10 }, 9, 0 },
	{ "link uint64 max", { 'c', 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 14, 0 },
	{ "link on open", { 'o', 0x00, 0x00, 0x00, 0x00 }, 5, 0 },
	{ "link on unsub", { 'u', 0x01, 0x02, 0x03, 0x04 }, 5, 0 },
	{ "click without link", { 'c', 0x01, 0x02, 0x03 }, 4, 0 },
	{ "trailing byte on click", { 'c', 0x01, 0x02, 0x03, 0x04, 0x00 },
	    6, 0 },
	{ "missing contact", { 'o', 0x01, 0x02 }, 3, 0 },
	{ "contact runs into mac", { 'o', 0x01, 0x02, 0x83 }, 4, 0 },
	{ "link runs into mac", { 'c', 0x01, 0x02, 0x03, 0xff }, 5, 0 },
	{ "unknown kind", { 'x', 0x00, 0x00, 0x00 }, 4, 0 },
	{ "upper-case kind", { 'O', 0x00, 0x00, 0x00 }, 4, 0 },
	{ "kind zero", { 0x00, 0x00, 0x00, 0x00 }, 4, 0 },
	{ "max raw length of junk", { 'c', 0x01, 0x02, 0x03, 0x04, 0x05,
	    0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
	    0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
	    0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
	    0x2e }, TOKEN_MAX_RAW - 1 - TOKEN_MAC_LEN, 0 },
};

Test(token, only_canonical_encodings_verify)
{
	struct token_keyring	 ring;
	struct token		 t;
	uint8_t			 raw[TOKEN_MAX_RAW + 8];
	char			 buf[base64url_len(TOKEN_MAX_RAW + 8) + 1];
	size_t			 i, n;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	for (i = 0; i < FF_NELEM(raw_cases); i++) {
		const struct raw_case *rc = &raw_cases[i];

		memcpy(raw + 1, rc->bytes, rc->len);
		n = hand_token(secret_a, SECRET_A_LEN, raw, 1 + rc->len, buf);
		cr_assert_eq(token_verify(&ring, buf, n, &t), rc->ok ? 0 : -1,
		    "%s", rc->name);
	}
}

Test(token, canonical_cases_decode_to_their_values)
{
	struct token_keyring	 ring;
	struct token		 t;
	uint8_t			 raw[TOKEN_MAX_RAW + 8];
	char			 buf[base64url_len(TOKEN_MAX_RAW + 8) + 1];
	size_t			 n;

	ring_init(&ring, secret_a, SECRET_A_LEN);
	memcpy(raw + 1, raw_cases[3].bytes, raw_cases[3].len);
	n = hand_token(secret_a, SECRET_A_LEN, raw, 1 + raw_cases[3].len,
	    buf);
	cr_assert_eq(token_verify(&ring, buf, n, &t), 0);
	cr_assert_eq(t.tenant, UINT64_MAX);
	cr_assert_eq(t.campaign, 0);
	cr_assert_eq(t.contact, 0);

	memcpy(raw + 1, raw_cases[4].bytes, raw_cases[4].len);
	n = hand_token(secret_a, SECRET_A_LEN, raw, 1 + raw_cases[4].len,
	    buf);
	cr_assert_eq(token_verify(&ring, buf, n, &t), 0);
	cr_assert_eq(t.kind, TOKEN_CLICK);
	cr_assert_eq(t.link, UINT32_MAX);
}

/* ---------------------------------------------------- secret files */

static char *
write_temp(const void *data, size_t len)
{
	char	*path;
	int	 fd;

	path = xstrdup("/tmp/test_token.XXXXXX");
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(token, load_strips_trailing_whitespace)
{
	struct token_keyring	 loaded, added;
	struct config		 conf;
	char			 err[512], *p1, *p2;
	static const char	 f1[] = "correct horse battery staple 0001\n";
	static const char	 f2[] =
	    "a different secret of 32+ bytes, B \t\r\n\n";

	p1 = write_temp(f1, strlen(f1));
	p2 = write_temp(f2, strlen(f2));
	memset(&conf, 0, sizeof(conf));
	conf.token_secret_files[0] = p1;
	conf.token_secret_files[1] = p2;
	conf.ntoken_secret_files = 2;

	memset(&loaded, 0xee, sizeof(loaded));
	cr_assert_eq(token_keyring_load(&loaded, &conf, err, sizeof(err)), 0,
	    "%s", err);
	ring_init(&added, secret_a, SECRET_A_LEN);
	cr_assert_eq(token_keyring_add(&added, secret_b, SECRET_B_LEN, err,
	    sizeof(err)), 0);
	cr_assert_eq(loaded.nkeys, 2);
	cr_assert_eq(memcmp(&loaded.keys[0], &added.keys[0],
	    sizeof(loaded.keys[0])), 0);
	cr_assert_eq(memcmp(&loaded.keys[1], &added.keys[1],
	    sizeof(loaded.keys[1])), 0);

	unlink(p1);
	unlink(p2);
	free(p1);
	free(p2);
}

Test(token, load_errors_name_the_file_and_keep_the_ring)
{
	struct token_keyring	 ring, before;
	struct config		 conf;
	char			 err[512], want[512], *good, *shortf, *big;
	char			 bigdata[4097];
	static const char	 shortdata[] =
	    "only thirty-one bytes of key...\n\n\n";

	good = write_temp(secret_a, SECRET_A_LEN);
	shortf = write_temp(shortdata, strlen(shortdata));
	memset(bigdata, 'z', sizeof(bigdata));
	big = write_temp(bigdata, sizeof(bigdata));

	ring_init(&ring, secret_b, SECRET_B_LEN);
	before = ring;
	memset(&conf, 0, sizeof(conf));
	conf.token_secret_files[0] = good;
	conf.token_secret_files[1] = shortf;
	conf.ntoken_secret_files = 2;
	cr_assert_eq(token_keyring_load(&ring, &conf, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: secret is shorter than 32 bytes",
	    shortf);
	cr_assert_str_eq(err, want);
	cr_assert_eq(memcmp(&ring, &before, sizeof(ring)), 0);

	conf.token_secret_files[1] = big;
	cr_assert_eq(token_keyring_load(&ring, &conf, err, sizeof(err)), -1);
	cr_assert_eq(strncmp(err, big, strlen(big)), 0, "%s", err);
	cr_assert_eq(memcmp(&ring, &before, sizeof(ring)), 0);

	conf.token_secret_files[1] = "/nonexistent/fanfare/secret";
	cr_assert_eq(token_keyring_load(&ring, &conf, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "/nonexistent/fanfare/secret: "),
	    "%s", err);

	conf.token_secret_files[1] = good;	/* same key twice */
	cr_assert_eq(token_keyring_load(&ring, &conf, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "generate another secret"), "%s",
	    err);

	conf.ntoken_secret_files = 0;
	cr_assert_eq(token_keyring_load(&ring, &conf, err, sizeof(err)), -1);
	cr_assert_eq(memcmp(&ring, &before, sizeof(ring)), 0);

	/* Exactly 4096 bytes is still a valid secret file. */
	conf.token_secret_files[0] = big;
	conf.ntoken_secret_files = 1;
	cr_assert_eq(truncate(big, 4096), 0);
	cr_assert_eq(token_keyring_load(&ring, &conf, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(ring.nkeys, 1);
	cr_assert_eq(ring.keys[0].kid, kid_of((uint8_t *)bigdata, 4096));

	unlink(good);
	unlink(shortf);
	unlink(big);
	free(good);
	free(shortf);
	free(big);
}
