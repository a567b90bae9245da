/*
 * fuzz_token.c: libFuzzer target for src/token.c (and the base64url
 * coding of src/util.c it rests on).  make fuzz builds it with clang
 * (fuzz/token); make check replays tests/fuzz/token/ through it.
 *
 * The first input byte picks what the rest is:
 *  0: a token as it arrives in a URL: token_verify must refuse it or
 *     return a well-formed struct token that signs back to exactly the
 *     same string (one encoding per token);
 *  1: the raw bytes of a token body, which the target MACs itself with
 *     the ring's first secret: this gets past the MAC to the strict
 *     varint parse, with the same round trip when it verifies;
 *  2: a struct token's fields, signed, verified back to the same
 *     fields; the token with any one character changed must not verify;
 *  3: a secret for token_keyring_add, refused below TOKEN_MIN_SECRET.
 * Any input is also base64url-decoded and re-encoded: a decode that
 * succeeds must encode back to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static const char	fuzz_secret0[] = "fuzz-token-secret-0-0123456789abcdef";
static const char	fuzz_secret1[] = "fuzz-token-secret-1-fedcba9876543210";

static struct token_keyring	fuzz_ring;

static void
fuzz_init(void)
{
	char	err[128];

	if (fuzz_ring.nkeys != 0)
		return;
	CHECK(token_keyring_add(&fuzz_ring, (const uint8_t *)fuzz_secret0,
	    strlen(fuzz_secret0), err, sizeof(err)) == 0);
	CHECK(token_keyring_add(&fuzz_ring, (const uint8_t *)fuzz_secret1,
	    strlen(fuzz_secret1), err, sizeof(err)) == 0);
	CHECK(fuzz_ring.nkeys == 2);
}

static int
fuzz_kind_valid(uint8_t k)
{
	return k == TOKEN_OPEN || k == TOKEN_CLICK || k == TOKEN_UNSUB;
}

/* A token that verified: well formed, and it is the one encoding. */
static void
fuzz_check_verified(const struct token *t, const char *s, size_t len)
{
	char	again[TOKEN_MAX_LEN + 1];
	uint8_t	raw[TOKEN_MAX_RAW];
	ssize_t	n;
	size_t	m;

	CHECK(fuzz_kind_valid(t->kind));
	CHECK(t->kind == TOKEN_CLICK || t->link == 0);
	n = base64url_decode(s, len, raw, sizeof(raw));
	CHECK(n > 0);
	if (raw[0] != fuzz_ring.keys[0].kid)
		return;		/* signed by the second key: signs anew */
	m = token_sign(&fuzz_ring, t, again);
	CHECK(m == len && memcmp(again, s, len) == 0);
}

static void
fuzz_as_token(const uint8_t *data, size_t size)
{
	struct token	 t;
	char		*s;

	/* Exactly the bytes, no NUL after them. */
	s = malloc(size == 0 ? 1 : size);
	CHECK(s != NULL);
	memcpy(s, data, size);
	memset(&t, 0xa5, sizeof(t));
	if (token_verify(&fuzz_ring, s, size, &t) == 0)
		fuzz_check_verified(&t, s, size);
	free(s);
}

static void
fuzz_as_body(const uint8_t *data, size_t size)
{
	uint8_t		 raw[TOKEN_MAX_RAW + 1], mac[EVP_MAX_MD_SIZE];
	char		 s[base64url_len(TOKEN_MAX_RAW + 1) + 1];
	unsigned int	 maclen = 0;
	struct token	 t;
	size_t		 n, len;

	/* Up to one byte more than a token may hold, kid and MAC included. */
	if (size > TOKEN_MAX_RAW - TOKEN_MAC_LEN)
		size = TOKEN_MAX_RAW - TOKEN_MAC_LEN;
	raw[0] = fuzz_ring.keys[0].kid;
	memcpy(raw + 1, data, size);
	n = 1 + size;
	CHECK(HMAC(EVP_sha256(), fuzz_secret0, (int)strlen(fuzz_secret0),
	    raw, n, mac, &maclen) != NULL && maclen >= TOKEN_MAC_LEN);
	memcpy(raw + n, mac, TOKEN_MAC_LEN);
	n += TOKEN_MAC_LEN;
	len = base64url_encode(raw, n, s);
	memset(&t, 0xa5, sizeof(t));
	if (token_verify(&fuzz_ring, s, len, &t) == 0)
		fuzz_check_verified(&t, s, len);
}

static uint64_t
fuzz_u64(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n && i < 8; i++)
		v = v << 8 | p[i];
	/* Small values too, not only 9- and 10-byte varints. */
	if (n > 0 && (p[0] & 0x80))
		v >>= p[0] & 0x3f;
	return v;
}

static void
fuzz_as_fields(const uint8_t *data, size_t size)
{
	static const uint8_t	 kinds[] = { TOKEN_OPEN, TOKEN_CLICK,
	    TOKEN_UNSUB, 'x' };
	struct token		 t, back;
	uint8_t			 in[30];
	char			 s[TOKEN_MAX_LEN + 1], c;
	size_t			 len, i;

	memset(in, 0, sizeof(in));
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	memset(&t, 0, sizeof(t));
	t.kind = kinds[in[0] & 3];
	t.tenant = fuzz_u64(in + 1, 8);
	t.campaign = fuzz_u64(in + 9, 8);
	t.contact = fuzz_u64(in + 17, 8);
	t.link = (uint32_t)fuzz_u64(in + 25, 4);
	if ((in[0] & 4) && t.kind != TOKEN_CLICK)
		t.link = 0;
	len = token_sign(&fuzz_ring, &t, s);
	if (!fuzz_kind_valid(t.kind) ||
	    (t.kind != TOKEN_CLICK && t.link != 0)) {
		CHECK(len == 0 && s[0] == '\0');
		return;
	}
	CHECK(len > 0 && len <= TOKEN_MAX_LEN && strlen(s) == len);
	memset(&back, 0xa5, sizeof(back));
	CHECK(token_verify(&fuzz_ring, s, len, &back) == 0);
	CHECK(back.kind == t.kind && back.tenant == t.tenant &&
	    back.campaign == t.campaign && back.contact == t.contact &&
	    back.link == t.link);
	/* One character changed, to one the input picks. */
	i = (in[29] * len) / 256;
	c = s[i];
	s[i] = "A-_z0Q"[in[28] % 6];
	if (s[i] == c)
		s[i] = c == 'A' ? 'B' : 'A';
	CHECK(token_verify(&fuzz_ring, s, len, &back) == -1);
	/* And one character short, or one more. */
	s[i] = c;
	CHECK(token_verify(&fuzz_ring, s, len - 1, &back) == -1);
	s[len] = 'A';
	CHECK(token_verify(&fuzz_ring, s, len + 1, &back) == -1);
}

static void
fuzz_as_secret(const uint8_t *data, size_t size)
{
	struct token_keyring	ring;
	char			err[128];
	int			rc;

	memset(&ring, 0, sizeof(ring));
	err[0] = '\0';
	rc = token_keyring_add(&ring, data, size, err, sizeof(err));
	if (size < TOKEN_MIN_SECRET)
		CHECK(rc == -1);
	if (rc == -1)
		CHECK(err[0] != '\0' && ring.nkeys == 0);
	else
		CHECK(ring.nkeys == 1);
}

static void
fuzz_base64url(const uint8_t *data, size_t size)
{
	uint8_t	 out[512];
	char	 again[base64url_len(sizeof(out)) + 1], *s;
	ssize_t	 n;

	if (size > base64url_len(sizeof(out)))
		return;
	s = malloc(size == 0 ? 1 : size);
	CHECK(s != NULL);
	memcpy(s, data, size);
	n = base64url_decode(s, size, out, sizeof(out));
	if (n >= 0) {
		CHECK(base64url_encode(out, (size_t)n, again) == size);
		CHECK(memcmp(again, s, size) == 0);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	fuzz_base64url(data, size);
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		fuzz_as_token(data + 1, size - 1);
		break;
	case 1:
		fuzz_as_body(data + 1, size - 1);
		break;
	case 2:
		fuzz_as_fields(data + 1, size - 1);
		break;
	default:
		fuzz_as_secret(data + 1, size - 1);
		break;
	}
	return 0;
}
