/*
 * fuzz_verp.c: libFuzzer target for src/verp.c, the local part of every
 * RCPT a stranger sends the bounce listener.  make fuzz builds it
 * (fuzz/verp); make check replays tests/fuzz/verp/.
 *
 * The first input byte picks what the rest is:
 *  0: a local part as it arrives at RCPT: verp_verify refuses it, or
 *     what it returns signs back to the same text, lowercased;
 *  1: four 8-byte ids, signed then verified back to the same ids (when
 *     the token fits a local part), and refused with any one character
 *     changed;
 *  2: base32 text: a decode that succeeds encodes back to it,
 *     lowercased.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "verp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)
#define FUZZ_TODAY	20000

static const char	fuzz_secret[] = "fuzz-verp-secret-0-0123456789abcdef0";
static struct token_keyring	ring;

static void
fuzz_init(void)
{
	char	err[128];

	if (ring.nkeys == 0 && token_keyring_add(&ring,
	    (const uint8_t *)fuzz_secret, sizeof(fuzz_secret) - 1, err,
	    sizeof(err)) == -1)
		abort();
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
lower(char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] + 32);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char		 s[VERP_LOCAL_MAX + 1], *in;
	char		 text[2 * VERP_LOCAL_MAX + 8];
	uint8_t		 raw[VERP_LOCAL_MAX];
	struct verp	 v, out;
	size_t		 n, i;
	long		 m;

	fuzz_init();
	if (len < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		in = malloc(len);
		memcpy(in, data + 1, len - 1);
		if (verp_verify(&ring, in, len - 1, FUZZ_TODAY, &v) == 0) {
			n = verp_sign(&ring, &v, s);
			lower(in, len - 1);
			CHECK(n == len - 1 && memcmp(s, in, n) == 0);
		}
		free(in);
		break;
	case 1:
		if (len < 1 + 32)
			return 0;
		v.tenant = get64(data + 1);
		v.campaign = get64(data + 9);
		v.contact = get64(data + 17);
		v.day = get64(data + 25) % (FUZZ_TODAY + 2);
		if ((n = verp_sign(&ring, &v, s)) == 0)
			return 0;
		CHECK(n <= VERP_LOCAL_MAX && strlen(s) == n);
		if (v.day + VERP_MAX_AGE_DAYS < FUZZ_TODAY) {
			CHECK(verp_verify(&ring, s, n, FUZZ_TODAY, &out) == -1);
			return 0;
		}
		CHECK(verp_verify(&ring, s, n, FUZZ_TODAY, &out) == 0);
		CHECK(out.tenant == v.tenant && out.campaign == v.campaign &&
		    out.contact == v.contact && out.day == v.day);
		for (i = 0; i < n; i++) {
			char	saved = s[i];

			s[i] = saved == 'a' ? 'b' : 'a';
			CHECK(verp_verify(&ring, s, n, FUZZ_TODAY, &out) == -1);
			s[i] = saved;
		}
		break;
	default:
		if (len - 1 > 2 * VERP_LOCAL_MAX)
			return 0;
		if ((m = verp_base32_decode((const char *)data + 1, len - 1,
		    raw, sizeof(raw))) >= 0) {
			n = verp_base32_encode(raw, (size_t)m, text);
			CHECK(n == len - 1);
			in = malloc(len);
			memcpy(in, data + 1, len - 1);
			lower(in, len - 1);
			CHECK(memcmp(in, text, n) == 0);
			free(in);
		}
		break;
	}
	return 0;
}
