/*
 * fuzz_session.c: libFuzzer target for what a stranger feeds the
 * marketer's logins: the Cookie header (session.c's
 * session_cookie_parse, read before any authentication) and the TOTP
 * code and base32 secret (totp.c).  make fuzz builds it (fuzz/session);
 * make check replays tests/fuzz/session/.
 *
 * The first input byte picks what the rest is:
 *  0: a Cookie header: refused, or a tenant > 0 and a token of 64
 *     lowercase hex digits that occur in the header after "T.";
 *  1: base32 text: a decode that succeeds encodes back to the text,
 *     uppercased and without padding, and any code checks without a
 *     crash against the secret.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "totp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
fuzz_cookie(const char *s)
{
	char		tok[SESSION_TOKEN_HEX + 1], want[96];
	uint64_t	t = 0;
	size_t		i;

	if (session_cookie_parse(s, &t, tok) == -1)
		return;
	CHECK(t > 0);
	CHECK(strlen(tok) == SESSION_TOKEN_HEX);
	for (i = 0; i < SESSION_TOKEN_HEX; i++)
		CHECK((tok[i] >= '0' && tok[i] <= '9') ||
		    (tok[i] >= 'a' && tok[i] <= 'f'));
	snprintf(want, sizeof(want), "%llu.%s", (unsigned long long)t, tok);
	CHECK(strstr(s, want) != NULL);
}

static void
fuzz_base32(const char *s)
{
	uint8_t	bin[256];
	char	back[512], up[512];
	size_t	i, n = 0;
	int	len;

	if ((len = totp_base32_decode(s, bin, sizeof(bin))) < 0)
		return;
	totp_base32_encode(bin, (size_t)len, back, sizeof(back));
	for (i = 0; s[i] != '\0' && s[i] != '=' && n + 1 < sizeof(up); i++)
		up[n++] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	up[n] = '\0';
	/* Trailing bits past the last whole byte are dropped, so the text
	 * read back is a prefix of what was given. */
	CHECK(strncmp(back, up, strlen(back)) == 0);
	(void)totp_verify(bin, (size_t)len, 1700000000, s, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size < 1 || size > 4096)
		return 0;
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 2 == 0)
		fuzz_cookie(s);
	else
		fuzz_base32(s);
	free(s);
	return 0;
}
