/*
 * verp.c: signs and verifies the VERP local parts of envelope senders
 * (verp.h).  A local part is "b" and the base32 of
 *
 *	kid(1) varint(day) varint(tenant) varint(campaign) varint(contact)
 *	MAC(10)
 *
 * where kid is the signing key's (token.c's keyring), the varints are
 * strict LEB128 and MAC is HMAC-SHA256(secret, "fanfare-verp:" || all
 * before it) truncated to 80 bits.  The prefix separates the purpose:
 * a tracking token's MAC covers no such prefix, so neither kind of token
 * verifies as the other.  Base32 because MTAs may lowercase an address;
 * 80 bits of MAC because a local part holds only 64 octets, and a
 * forger gets one guess per RCPT, each refused with a 550.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "fanfare.h"
#include "verp.h"

#define VERP_MAC_LEN	10
#define VERP_VARINT_MAX	10
#define VERP_RAW_MAX	(1 + 4 * VERP_VARINT_MAX + VERP_MAC_LEN)
#define VERP_PREFIX	"fanfare-verp:"

static const char verp_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

size_t
verp_base32_encode(const uint8_t *in, size_t n, char *out)
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = verp_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = verp_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return o;
}

static int
verp_base32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

long
verp_base32_decode(const char *s, size_t len, uint8_t *out, size_t outlen)
{
	uint32_t	acc = 0;
	size_t		i, o = 0;
	int		bits = 0, v;

	/* Lengths 1, 3 and 6 mod 8 are no whole number of bytes. */
	if (len % 8 == 1 || len % 8 == 3 || len % 8 == 6)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = verp_base32_value(s[i])) == -1)
			return -1;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o == outlen)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

size_t
verp_sign(const struct token_keyring *ring, const struct verp *v, char *out)
{
	const struct token_key	*key;
	uint8_t			 raw[VERP_RAW_MAX];
	uint8_t			 mac[SHA256_DIGEST_LENGTH];
	size_t			 n = 0;

	out[0] = '\0';
	if (ring->nkeys <= 0)
		return 0;
	key = &ring->keys[0];
	raw[n++] = key->kid;
	n += token_put_varint(raw + n, v->day);
	n += token_put_varint(raw + n, v->tenant);
	n += token_put_varint(raw + n, v->campaign);
	n += token_put_varint(raw + n, v->contact);
	token_hmac(key, VERP_PREFIX, sizeof(VERP_PREFIX) - 1, raw, n,
	    mac);
	memcpy(raw + n, mac, VERP_MAC_LEN);
	n += VERP_MAC_LEN;
	if (1 + (n * 8 + 4) / 5 > VERP_LOCAL_MAX)
		return 0;
	out[0] = 'b';
	return 1 + verp_base32_encode(raw, n, out + 1);
}

int
verp_verify(const struct token_keyring *ring, const char *s, size_t len,
    uint64_t today, struct verp *out)
{
	const struct token_key	*key = NULL;
	const uint8_t		*p, *end;
	uint8_t			 raw[VERP_RAW_MAX];
	uint8_t			 mac[SHA256_DIGEST_LENGTH];
	struct verp		 v;
	long			 n;
	int			 k;

	if (len < 2 || len > VERP_LOCAL_MAX || (s[0] != 'b' && s[0] != 'B'))
		return -1;
	if ((n = verp_base32_decode(s + 1, len - 1, raw, sizeof(raw))) == -1 ||
	    n < 1 + 4 + VERP_MAC_LEN)
		return -1;
	for (k = 0; k < ring->nkeys; k++)
		if (ring->keys[k].kid == raw[0]) {
			key = &ring->keys[k];
			break;
		}
	if (key == NULL)
		return -1;
	end = raw + n - VERP_MAC_LEN;
	token_hmac(key, VERP_PREFIX, sizeof(VERP_PREFIX) - 1, raw,
	    (size_t)(end - raw), mac);
	if (CRYPTO_memcmp(mac, end, VERP_MAC_LEN) != 0)
		return -1;
	p = raw + 1;
	if (token_get_varint(&p, end, &v.day) == -1 ||
	    token_get_varint(&p, end, &v.tenant) == -1 ||
	    token_get_varint(&p, end, &v.campaign) == -1 ||
	    token_get_varint(&p, end, &v.contact) == -1 || p != end)
		return -1;
	/* Stale, or from a clock far ahead: a replayed old address must
	 * not reach a contact forever. */
	if (v.day + VERP_MAX_AGE_DAYS < today || v.day > today + 1)
		return -1;
	*out = v;
	return 0;
}
