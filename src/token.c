/*
 * token.c: signs and verifies the opaque tokens of tracking links
 * (/o/TOKEN.gif, /c/TOKEN, /u/TOKEN) and of the sign-up pages (/f/, /s/,
 * /p/: signup.c), each kind for its own path.
 *
 * A token is base64url (no padding) of
 *
 *	kid(1) kind(1) varint(tenant) varint(campaign) varint(contact)
 *	[varint(link), kind 'c' only] MAC(16)
 *
 * where kid is the first byte of SHA-256(secret), the varints are
 * unsigned LEB128 and MAC is HMAC-SHA256(secret, everything before it)
 * truncated to TOKEN_MAC_LEN bytes.  Every byte string has exactly one
 * encoding (minimal varints, zero trailing base64 bits), so changing any
 * character of a token makes it invalid.
 *
 * token_verify runs on every pixel, click and opt-out request: it must
 * not allocate, block or log.  The HMAC key blocks are hashed once per
 * key at token_keyring_add; a verify only copies the two precomputed
 * SHA-256 states and hashes the short message and the inner digest.
 * The module is pure (bytes in, bytes out) so it is fuzzed directly.
 */

/* The low-level SHA256_* calls are deprecated in OpenSSL 3 but still
 * there, and they let us reuse precomputed HMAC states without EVP
 * allocations: the fastest path for the hot request path. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "fanfare.h"

#define TOKEN_HMAC_BLOCK	64	/* SHA-256 block size */
#define TOKEN_VARINT_MAX	10	/* bytes for a 64-bit value */
#define TOKEN_MIN_RAW		(2 + 3 + TOKEN_MAC_LEN)
#define TOKEN_SECRET_FILE_MAX	4096

_Static_assert(sizeof(SHA256_CTX) <= 128,
    "SHA256_CTX does not fit struct token_key's ipad/opad_state");
_Static_assert(2 + 4 * TOKEN_VARINT_MAX + TOKEN_MAC_LEN <= TOKEN_MAX_RAW,
    "the largest token does not fit TOKEN_MAX_RAW");

int
token_keyring_add(struct token_keyring *ring, const uint8_t *secret,
    size_t len, char *err, size_t errlen)
{
	struct token_key	*key;
	SHA256_CTX		 ctx;
	uint8_t			 digest[SHA256_DIGEST_LENGTH];
	uint8_t			 block[TOKEN_HMAC_BLOCK];
	uint8_t			 pad[TOKEN_HMAC_BLOCK];
	uint8_t			 kid;
	size_t			 i;
	int			 k;

	if (len < TOKEN_MIN_SECRET) {
		snprintf(err, errlen, "secret is shorter than %d bytes",
		    TOKEN_MIN_SECRET);
		return -1;
	}
	if (ring->nkeys >= FF_MAX_SECRETS) {
		snprintf(err, errlen, "too many token secrets (at most %d)",
		    FF_MAX_SECRETS);
		return -1;
	}
	SHA256(secret, len, digest);
	kid = digest[0];
	/* The kid picks the one key to try; two keys sharing it would make
	 * tokens of one fail against the other. */
	for (k = 0; k < ring->nkeys; k++) {
		if (ring->keys[k].kid == kid) {
			snprintf(err, errlen, "secret has key id %u like "
			    "another secret on the ring; generate another "
			    "secret", kid);
			return -1;
		}
	}

	/* RFC 2104: a key longer than the block is replaced by its hash. */
	memset(block, 0, sizeof(block));
	if (len > TOKEN_HMAC_BLOCK)
		memcpy(block, digest, sizeof(digest));
	else
		memcpy(block, secret, len);

	key = &ring->keys[ring->nkeys];
	memset(key, 0, sizeof(*key));
	key->kid = kid;

	for (i = 0; i < sizeof(pad); i++)
		pad[i] = block[i] ^ 0x36;
	SHA256_Init(&ctx);
	SHA256_Update(&ctx, pad, sizeof(pad));
	memcpy(key->ipad_state, &ctx, sizeof(ctx));

	for (i = 0; i < sizeof(pad); i++)
		pad[i] = block[i] ^ 0x5c;
	SHA256_Init(&ctx);
	SHA256_Update(&ctx, pad, sizeof(pad));
	memcpy(key->opad_state, &ctx, sizeof(ctx));

	ring->nkeys++;
	OPENSSL_cleanse(&ctx, sizeof(ctx));
	OPENSSL_cleanse(digest, sizeof(digest));
	OPENSSL_cleanse(block, sizeof(block));
	OPENSSL_cleanse(pad, sizeof(pad));
	return 0;
}

/* Not isspace(3): the locale must not change what a secret is. */
static int
token_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

int
token_keyring_load(struct token_keyring *ring, const struct config *conf,
    char *err, size_t errlen)
{
	struct token_keyring	 tmp;
	char			 reason[256];
	const char		*path;
	char			*buf;
	size_t			 len;
	int			 i, rc;

	if (conf->ntoken_secret_files <= 0) {
		snprintf(err, errlen, "no token_secret_file configured");
		return -1;
	}
	/* Build aside so a failed reload leaves the working ring alone. */
	memset(&tmp, 0, sizeof(tmp));
	for (i = 0; i < conf->ntoken_secret_files; i++) {
		path = conf->token_secret_files[i];
		if ((buf = read_file(path, TOKEN_SECRET_FILE_MAX, &len)) ==
		    NULL) {
			snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
			    "secret file is larger than 4096 bytes" :
			    strerror(errno));
			OPENSSL_cleanse(&tmp, sizeof(tmp));
			return -1;
		}
		/* Editors add a final newline; it is not part of the key. */
		while (len > 0 && token_is_space(buf[len - 1]))
			len--;
		rc = token_keyring_add(&tmp, (const uint8_t *)buf, len,
		    reason, sizeof(reason));
		OPENSSL_cleanse(buf, len);
		free(buf);
		if (rc == -1) {
			snprintf(err, errlen, "%s: %s", path, reason);
			OPENSSL_cleanse(&tmp, sizeof(tmp));
			return -1;
		}
	}
	*ring = tmp;
	OPENSSL_cleanse(&tmp, sizeof(tmp));
	return 0;
}

/* HMAC-SHA256(key, msg) from the precomputed states.  SHA256_Final
 * leaves only the output digest in the context, so no key-equivalent
 * state stays on the stack. */
void
token_hmac(const struct token_key *key, const char *prefix, size_t plen,
    const uint8_t *msg, size_t len, uint8_t mac[SHA256_DIGEST_LENGTH])
{
	SHA256_CTX	ctx;
	uint8_t		inner[SHA256_DIGEST_LENGTH];

	memcpy(&ctx, key->ipad_state, sizeof(ctx));
	SHA256_Update(&ctx, prefix, plen);
	SHA256_Update(&ctx, msg, len);
	SHA256_Final(inner, &ctx);
	memcpy(&ctx, key->opad_state, sizeof(ctx));
	SHA256_Update(&ctx, inner, sizeof(inner));
	SHA256_Final(mac, &ctx);
}

size_t
token_put_varint(uint8_t *p, uint64_t v)
{
	size_t	n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Strict LEB128: no reading past end, no value over 64 bits, and no
 * redundant high zero groups, so each value has exactly one encoding. */
int
token_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t	*p = *pp;
	uint64_t	 v = 0;
	unsigned	 shift = 0;
	uint8_t		 b;

	for (;;) {
		if (p == end)
			return -1;
		b = *p++;
		if (shift == 63 && b > 1)
			return -1;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			break;
		shift += 7;
	}
	/* A last byte of zero after other bytes is a padded encoding. */
	if (b == 0 && p - *pp > 1)
		return -1;
	*pp = p;
	*out = v;
	return 0;
}

static int
token_kind_valid(uint8_t kind)
{
	return kind == TOKEN_OPEN || kind == TOKEN_CLICK ||
	    kind == TOKEN_UNSUB || kind == TOKEN_FORM ||
	    kind == TOKEN_CONFIRM || kind == TOKEN_PREFS;
}

size_t
token_sign(const struct token_keyring *ring, const struct token *t,
    char *out)
{
	const struct token_key	*key;
	uint8_t			 raw[TOKEN_MAX_RAW];
	uint8_t			 mac[SHA256_DIGEST_LENGTH];
	size_t			 n = 0;

	out[0] = '\0';
	if (ring->nkeys <= 0 || !token_kind_valid(t->kind))
		return 0;
	if (t->kind != TOKEN_CLICK && t->link != 0)
		return 0;
	key = &ring->keys[0];
	raw[n++] = key->kid;
	raw[n++] = t->kind;
	n += token_put_varint(raw + n, t->tenant);
	n += token_put_varint(raw + n, t->campaign);
	n += token_put_varint(raw + n, t->contact);
	if (t->kind == TOKEN_CLICK)
		n += token_put_varint(raw + n, t->link);
	token_hmac(key, "", 0, raw, n, mac);
	memcpy(raw + n, mac, TOKEN_MAC_LEN);
	n += TOKEN_MAC_LEN;
	return base64url_encode(raw, n, out);
}

int
token_verify(const struct token_keyring *ring, const char *s, size_t len,
    struct token *out)
{
	const struct token_key	*key = NULL;
	const uint8_t		*p, *end;
	uint8_t			 raw[TOKEN_MAX_RAW];
	uint8_t			 mac[SHA256_DIGEST_LENGTH];
	struct token		 t;
	uint64_t		 link = 0;
	ssize_t			 n;
	int			 k;

	if (len > TOKEN_MAX_LEN)
		return -1;
	if ((n = base64url_decode(s, len, raw, sizeof(raw))) == -1 ||
	    n < TOKEN_MIN_RAW)
		return -1;
	for (k = 0; k < ring->nkeys; k++) {
		if (ring->keys[k].kid == raw[0]) {
			key = &ring->keys[k];
			break;
		}
	}
	if (key == NULL)
		return -1;
	end = raw + n - TOKEN_MAC_LEN;
	token_hmac(key, "", 0, raw, (size_t)(end - raw), mac);
	if (CRYPTO_memcmp(mac, end, TOKEN_MAC_LEN) != 0)
		return -1;

	/* Signed by us, but parse as strictly as if it were not: a token
	 * from a buggy or future signer must not half-verify. */
	memset(&t, 0, sizeof(t));
	t.kind = raw[1];
	if (!token_kind_valid(t.kind))
		return -1;
	p = raw + 2;
	if (token_get_varint(&p, end, &t.tenant) == -1 ||
	    token_get_varint(&p, end, &t.campaign) == -1 ||
	    token_get_varint(&p, end, &t.contact) == -1)
		return -1;
	if (t.kind == TOKEN_CLICK) {
		if (token_get_varint(&p, end, &link) == -1 ||
		    link > UINT32_MAX)
			return -1;
		t.link = (uint32_t)link;
	}
	if (p != end)
		return -1;
	*out = t;
	return 0;
}

/*
 * A keyed hash of data under key i of the ring (64 hex digits + NUL):
 * what an erased address leaves behind in the suppression set.  Domain
 * separated from tokens by a prefix no token starts with.  -1 when the
 * ring has no key i.
 */
int
token_keyed_hash(const struct token_keyring *ring, int i, const char *data,
    size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	SHA256_CTX	ctx;
	uint8_t		inner[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];
	int		k;

	if (i < 0 || i >= ring->nkeys)
		return -1;
	memcpy(&ctx, ring->keys[i].ipad_state, sizeof(ctx));
	SHA256_Update(&ctx, "fanfare-suppress:", 17);
	SHA256_Update(&ctx, data, len);
	SHA256_Final(inner, &ctx);
	memcpy(&ctx, ring->keys[i].opad_state, sizeof(ctx));
	SHA256_Update(&ctx, inner, sizeof(inner));
	SHA256_Final(mac, &ctx);
	/* By table: the trackers hash every distinct contact of a chunk
	 * sent to a campaign with erasure tombstones (store.c), where
	 * snprintf per byte cost 20 times the HMAC itself. */
	for (k = 0; k < SHA256_DIGEST_LENGTH; k++) {
		out[2 * k] = hex[mac[k] >> 4];
		out[2 * k + 1] = hex[mac[k] & 0xf];
	}
	out[2 * SHA256_DIGEST_LENGTH] = '\0';
	return 0;
}
