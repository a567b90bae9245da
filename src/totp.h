/*
 * totp.h: RFC 6238 time-based one-time passwords (HMAC-SHA-1, 30 s
 * steps) and the RFC 4648 base32 that authenticator apps read their
 * secret in.  Pure: bytes and times in, codes out; no Redis, no clock.
 */
#ifndef FANFARE_TOTP_H
#define FANFARE_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP_S	30
#define TOTP_DIGITS	6
#define TOTP_SECRET_LEN	20	/* bytes: RFC 4226 recommends 160 bits */
#define TOTP_B32_LEN	32	/* base32 of 20 bytes, no padding */

/* The HOTP value (RFC 4226) of secret at counter, with digits digits
 * (6 to 9): 0..10^digits-1. */
uint32_t totp_hotp(const uint8_t *secret, size_t len, uint64_t counter,
	    int digits);
/* 1 when code (exactly TOTP_DIGITS ASCII digits) is the TOTP of secret
 * at unix time now, or one step before or after (clock drift); else 0.
 * *step gets the counter that matched, so a caller can refuse a replay. */
int	 totp_verify(const uint8_t *secret, size_t len, uint64_t now,
	    const char *code, uint64_t *step);
/* Base32 (RFC 4648, upper case, no padding) of in into out, which holds
 * at least (len * 8 + 4) / 5 + 1 bytes; the length written. */
size_t	 totp_base32_encode(const uint8_t *in, size_t len, char *out,
	    size_t outlen);
/* The bytes of base32 text (either case, no padding or '=' padding);
 * their count, or -1 on a character outside the alphabet or too many. */
int	 totp_base32_decode(const char *in, uint8_t *out, size_t outlen);

#endif /* FANFARE_TOTP_H */
