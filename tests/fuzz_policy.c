/*
 * fuzz_policy.c: libFuzzer target for src/policy.c: what a stranger
 * controls on the tracking listener (X-Forwarded-For, Forwarded,
 * User-Agent, the URL a click redirects to) and what an operator or a
 * tenant writes (trusted_proxies CIDRs, link URLs).  make fuzz builds
 * it with clang (fuzz/policy); make check replays tests/fuzz/policy/.
 *
 * Input: "PEER\0XFF\0FORWARDED\0REST" (missing parts are absent).  PEER
 * is an address (or a CIDR to parse); XFF and FORWARDED go to
 * policy_client_addr as headers, by length, never NUL-terminated; the
 * whole input is also a User-Agent, a click URL and a CIDR.  It aborts
 * when a result breaks a contract:
 *  - cidr_parse: a family, a prefix within it, no host bit set below
 *    the prefix, and the parsed network matches itself;
 *  - policy_url_is_safe: only http(s) URLs of printable ASCII without
 *    '\\' or '@' before the path;
 *  - policy_client_addr: an untrusted peer is the client whatever the
 *    headers say; a trusted one yields an address from the headers or
 *    the peer itself; the answer never depends on bytes past a header's
 *    length.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static const char *const fuzz_trusted_text[] = {
	"127.0.0.0/8", "10.0.0.0/8", "::1", "fd00::/8",
	"::ffff:192.168.0.0/112",
};

static const char *
fuzz_part(const char *in, size_t size, size_t *off, size_t *len)
{
	const char	*p, *nul;

	if (*off > size)
		return NULL;
	p = in + *off;
	if ((nul = memchr(p, '\0', size - *off)) == NULL) {
		*len = size - *off;
		*off = size + 1;
	} else {
		*len = (size_t)(nul - p);
		*off += *len + 1;
	}
	return p;
}

static void
fuzz_cidr(const char *s)
{
	struct ff_cidr		 c;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	int			 bits, i;

	if (cidr_parse(s, &c) == -1)
		return;
	CHECK(c.family == AF_INET || c.family == AF_INET6);
	bits = c.family == AF_INET ? 32 : 128;
	CHECK(c.prefix >= 0 && c.prefix <= bits);
	for (i = c.prefix; i < bits; i++)
		CHECK((c.addr[i / 8] & (0x80 >> (i % 8))) == 0);
	for (i = bits / 8; i < 16; i++)
		CHECK(c.addr[i] == 0);
	if (c.family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, c.addr, 4);
		CHECK(cidr_match(&c, 1, (struct sockaddr *)&sin));
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, c.addr, 16);
		CHECK(cidr_match(&c, 1, (struct sockaddr *)&sin6));
	}
}

static void
fuzz_url(const char *in, size_t size)
{
	size_t	i, start;

	if (!policy_url_is_safe(in, size))
		return;
	CHECK(size > 0);
	for (i = 0; i < size; i++)
		CHECK((unsigned char)in[i] > 0x20 &&
		    (unsigned char)in[i] < 0x7f && in[i] != '\\');
	if (strncasecmp(in, "http://", 7) == 0)
		start = 7;
	else {
		CHECK(size >= 8 && strncasecmp(in, "https://", 8) == 0);
		start = 8;
	}
	CHECK(start < size);
	for (i = start; i < size && in[i] != '/' && in[i] != '?' &&
	    in[i] != '#'; i++)
		CHECK(in[i] != '@');
	CHECK(i > start);
}

/* The peer: an address when PEER parses as one, else from its bytes. */
static void
fuzz_peer(const char *p, size_t len, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	char			 buf[INET6_ADDRSTRLEN];

	memset(ss, 0, sizeof(*ss));
	if (len < sizeof(buf)) {
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			return;
		}
		if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			return;
		}
	}
	if (len == 4 && memcmp(p, "unix", 4) == 0) {
		sun->sun_family = AF_UNIX;
		return;
	}
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, p, len < 4 ? len : 4);
}

/* An address in policy.c's one space: IPv6, IPv4 as ::ffff:a.b.c.d
 * (a v4-mapped peer comes back as plain IPv4).  0 for no address. */
static int
fuzz_addr16(const struct sockaddr_storage *ss, uint8_t a[16])
{
	static const uint8_t	mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (ss->ss_family == AF_INET) {
		memcpy(a, mapped, 12);
		memcpy(a + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 1;
	}
	if (ss->ss_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 1;
	}
	memset(a, 0, 16);
	return 0;
}

static int
fuzz_same_addr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	uint8_t	x[16], y[16];

	return fuzz_addr16(a, x) == fuzz_addr16(b, y) &&
	    memcmp(x, y, 16) == 0;
}

/* A heap copy of exactly len bytes, so ASan sees any read past it. */
static char *
fuzz_copy(const char *p, size_t len)
{
	char	*c = malloc(len == 0 ? 1 : len);

	CHECK(c != NULL);
	memcpy(c, p, len);
	return c;
}

static void
fuzz_client(const char *peerp, size_t peerlen, const char *xff,
    size_t xfflen, const char *fwd, size_t fwdlen)
{
	struct ff_cidr		 trusted[FF_NELEM(fuzz_trusted_text)];
	struct sockaddr_storage	 peer, out, again;
	char			*x = NULL, *f = NULL, *xx, *ff;
	size_t			 i;

	for (i = 0; i < FF_NELEM(fuzz_trusted_text); i++)
		CHECK(cidr_parse(fuzz_trusted_text[i], &trusted[i]) == 0);
	fuzz_peer(peerp, peerlen, &peer);
	if (xff != NULL)
		x = fuzz_copy(xff, xfflen);
	if (fwd != NULL)
		f = fuzz_copy(fwd, fwdlen);

	policy_client_addr((struct sockaddr *)&peer, x, xfflen, f, fwdlen,
	    trusted, (int)FF_NELEM(trusted), &out);
	CHECK(out.ss_family == AF_INET || out.ss_family == AF_INET6 ||
	    out.ss_family == AF_UNSPEC);
	if (peer.ss_family != AF_UNIX && !cidr_match(trusted,
	    (int)FF_NELEM(trusted), (struct sockaddr *)&peer)) {
		CHECK(fuzz_same_addr(&out, &peer));
	}
	if (out.ss_family != AF_UNSPEC)
		(void)policy_machine_addr((struct sockaddr *)&out);

	/* The same headers followed by other bytes: the same answer. */
	xx = malloc(xfflen + 8);
	ff = malloc(fwdlen + 8);
	CHECK(xx != NULL && ff != NULL);
	if (x != NULL)
		memcpy(xx, x, xfflen);
	if (f != NULL)
		memcpy(ff, f, fwdlen);
	memcpy(xx + xfflen, ", 1.2.3.4", 8);
	memcpy(ff + fwdlen, ";for=9.9", 8);
	policy_client_addr((struct sockaddr *)&peer, x ? xx : NULL, xfflen,
	    f ? ff : NULL, fwdlen, trusted, (int)FF_NELEM(trusted), &again);
	CHECK(fuzz_same_addr(&out, &again));

	/* Nothing trusted: the peer, always. */
	policy_client_addr((struct sockaddr *)&peer, x, xfflen, f, fwdlen,
	    NULL, 0, &again);
	if (peer.ss_family != AF_UNIX)
		CHECK(fuzz_same_addr(&again, &peer));
	free(xx);
	free(ff);
	free(x);
	free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*peer, *xff, *fwd;
	size_t		 off = 0, peerlen = 0, xfflen = 0, fwdlen = 0;
	char		*in, *str;

	in = malloc(size == 0 ? 1 : size);
	CHECK(in != NULL);
	memcpy(in, data, size);

	peer = fuzz_part(in, size, &off, &peerlen);
	xff = fuzz_part(in, size, &off, &xfflen);
	fwd = fuzz_part(in, size, &off, &fwdlen);
	if (peer == NULL)
		peer = "", peerlen = 0;
	fuzz_client(peer, peerlen, xff, xfflen, fwd, fwdlen);

	(void)policy_machine_agent(in, size);
	fuzz_url(in, size);

	str = malloc(size + 1);
	CHECK(str != NULL);
	memcpy(str, in, size);
	str[size] = '\0';
	fuzz_cidr(str);
	if (peerlen < size) {
		str[peerlen] = '\0';
		fuzz_cidr(str);
	}
	free(str);
	free(in);
	return 0;
}
