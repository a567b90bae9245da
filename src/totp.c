/*
 * totp.c: RFC 6238 one-time passwords and base32 (totp.h).  Pure: the
 * caller passes the time, so tests replay RFC 6238's vectors.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string.h>

#include "totp.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

uint32_t
totp_hotp(const uint8_t *secret, size_t len, uint64_t counter, int digits)
{
	uint8_t		msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned int	maclen = 0;
	uint32_t	bin, mod = 1;
	int		i, off;

	for (i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(counter & 0xff);
		counter >>= 8;
	}
	if (HMAC(EVP_sha1(), secret, (int)len, msg, sizeof(msg), mac,
	    &maclen) == NULL || maclen < 20)
		return UINT32_MAX;	/* never equals a code */
	/* RFC 4226 5.3: dynamic truncation. */
	off = mac[maclen - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
	    ((uint32_t)mac[off + 1] << 16) | ((uint32_t)mac[off + 2] << 8) |
	    (uint32_t)mac[off + 3];
	for (i = 0; i < digits; i++)
		mod *= 10;
	return bin % mod;
}

int
totp_verify(const uint8_t *secret, size_t len, uint64_t now,
    const char *code, uint64_t *step)
{
	uint64_t	 t = now / TOTP_STEP_S;
	uint32_t	 want = 0;
	int		 i, d, ok = 0;

	if (code == NULL || strlen(code) != TOTP_DIGITS)
		return 0;
	for (i = 0; i < TOTP_DIGITS; i++) {
		if (code[i] < '0' || code[i] > '9')
			return 0;
		want = want * 10 + (uint32_t)(code[i] - '0');
	}
	/* Every step is computed, so the time does not tell which matched. */
	for (d = -1; d <= 1; d++) {
		uint64_t	c = t + (uint64_t)(int64_t)d;

		if (d == -1 && t == 0)
			continue;
		if (totp_hotp(secret, len, c, TOTP_DIGITS) == want && !ok) {
			ok = 1;
			if (step != NULL)
				*step = c;
		}
	}
	return ok;
}

size_t
totp_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	uint32_t	buf = 0;
	size_t		i, n = 0;
	int		bits = 0;

	if (outlen == 0)
		return 0;
	for (i = 0; i < len; i++) {
		buf = (buf << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			if (n + 1 >= outlen)
				goto out;
			out[n++] = b32_alphabet[(buf >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0 && n + 1 < outlen)
		out[n++] = b32_alphabet[(buf << (5 - bits)) & 31];
out:
	out[n] = '\0';
	return n;
}

int
totp_base32_decode(const char *in, uint8_t *out, size_t outlen)
{
	uint32_t	buf = 0;
	size_t		n = 0;
	int		bits = 0, v;
	char		c;

	for (; *in != '\0' && *in != '='; in++) {
		c = *in;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= '2' && c <= '7')
			v = c - '2' + 26;
		else
			return -1;
		buf = (buf << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			if (n == outlen)
				return -1;
			out[n++] = (uint8_t)(buf >> (bits - 8));
			bits -= 8;
		}
	}
	for (; *in == '='; in++)
		;
	return *in == '\0' ? (int)n : -1;
}
