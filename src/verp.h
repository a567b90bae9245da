/*
 * verp.h: the VERP envelope sender of a campaign message (verp.c).
 *
 * Each message leaves with MAIL FROM:<bTOKEN@bounce_domain>, where TOKEN
 * names the tenant, campaign and contact under the tracking keyring's
 * secret, so a delivery status notification or a complaint sent back to
 * that address names its recipient even when the report itself does
 * not.  Pure: bytes in, bytes out, fuzzed (tests/fuzz_verp.c).
 */
#ifndef FANFARE_VERP_H
#define FANFARE_VERP_H

#include <stddef.h>
#include <stdint.h>

struct token_keyring;

/* An RFC 5321 local part is at most 64 octets: a token longer than that
 * (ids near 2^64) is not made, and the message keeps its From address. */
#define VERP_LOCAL_MAX	64
/* How old (in days) a token may be and still be honoured: DSNs come
 * within Postfix's 5-day queue lifetime, complaints within weeks. */
#define VERP_MAX_AGE_DAYS 60

struct verp {
	uint64_t	tenant;
	uint64_t	campaign;
	uint64_t	contact;
	uint64_t	day;		/* days since 1970 when signed */
};

/*
 * The local part for v (with v->day the day of sending) into out
 * (VERP_LOCAL_MAX + 1 bytes): its length, or 0 when the ring is empty or
 * the token would not fit.  Lowercase base32, so an MTA that lowercases
 * the address changes nothing.
 */
size_t	 verp_sign(const struct token_keyring *, const struct verp *v,
	    char *out);

/*
 * Verifies a local part (any case) signed by a key of the ring: 0 with
 * *out filled, or -1 when it is malformed, forged, signed by a key no
 * longer on the ring, or stale: signed more than VERP_MAX_AGE_DAYS
 * before today, or after tomorrow.  No allocation, no logging.
 */
int	 verp_verify(const struct token_keyring *, const char *local,
	    size_t len, uint64_t today, struct verp *out);

/* Base32 (RFC 4648 alphabet, lowercase, no padding) of n bytes into out
 * (base32 length + 1): the length.  Decoding takes either case and
 * refuses non-zero trailing bits, so each byte string has one text:
 * -1, or the number of bytes. */
size_t	 verp_base32_encode(const uint8_t *, size_t n, char *out);
long	 verp_base32_decode(const char *, size_t len, uint8_t *out,
	    size_t outlen);

#endif
