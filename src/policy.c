/*
 * policy.c: the rules that decide what a request is allowed to mean and
 * what a send is allowed to do.  Pure: bytes and socket addresses in,
 * answers out.  No I/O, no allocation, no state but constant tables, so
 * every function here may run on any tracking thread at once and is unit
 * tested and fuzzed on bytes alone.
 *
 * Header values handed in here point into a request buffer and are NOT
 * NUL-terminated: they are read by length only, and copied to a bounded
 * local buffer before anything (inet_pton) that needs a C string.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <string.h>

#include "fanfare.h"

/* Tracking: client address, machine traffic, redirect targets. */

/*
 * Addresses are compared in one space: IPv6, with an IPv4 address held
 * as its v4-mapped form ::ffff:a.b.c.d and an IPv4 CIDR a/p as
 * ::ffff:a/(96+p).  So a v4-mapped peer (a dual-stack listener) matches
 * IPv4 CIDRs, and "::ffff:10.0.0.0/104" matches plain 10.x peers.
 */
#define POLICY_ADDR_LEN		16
#define POLICY_MAX_HOPS		64	/* header entries examined */
#define POLICY_NODE_MAX		64	/* "[v6]:port" fits */
#define POLICY_URL_MAX		8192

static const uint8_t policy_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int
policy_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive compare; no locale, no NUL needed. */
static int
policy_caseeq(const char *a, const char *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (policy_lower((unsigned char)a[i]) !=
		    policy_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int
policy_is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* -1 when sa is neither AF_INET nor AF_INET6. */
static int
policy_addr_from_sockaddr(const struct sockaddr *sa, uint8_t a[POLICY_ADDR_LEN])
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (sa == NULL)
		return -1;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		memcpy(a, policy_v4mapped, sizeof(policy_v4mapped));
		memcpy(a + 12, &sin->sin_addr, 4);
		return 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		memcpy(a, &sin6->sin6_addr, POLICY_ADDR_LEN);
		return 0;
	}
	return -1;
}

/* A v4-mapped address comes out as a sockaddr_in: GeoIP databases and
 * logs want 192.0.2.1, not ::ffff:192.0.2.1.  The port is always 0. */
static void
policy_addr_to_sockaddr(const uint8_t a[POLICY_ADDR_LEN],
    struct sockaddr_storage *out)
{
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;

	memset(out, 0, sizeof(*out));
	if (memcmp(a, policy_v4mapped, sizeof(policy_v4mapped)) == 0) {
		sin = (struct sockaddr_in *)out;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a + 12, 4);
	} else {
		sin6 = (struct sockaddr_in6 *)out;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, POLICY_ADDR_LEN);
	}
}

static int
policy_prefix_eq(const uint8_t *a, const uint8_t *net, int bits)
{
	int	full = bits / 8, rest = bits % 8;
	uint8_t	mask;

	if (memcmp(a, net, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (net[full] & mask);
}

static int
policy_cidr_match_addr(const struct ff_cidr *list, int n,
    const uint8_t a[POLICY_ADDR_LEN])
{
	uint8_t	net[POLICY_ADDR_LEN];
	int	i, bits;

	if (list == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		if (list[i].family == AF_INET && list[i].prefix >= 0 &&
		    list[i].prefix <= 32) {
			memcpy(net, policy_v4mapped, sizeof(policy_v4mapped));
			memcpy(net + 12, list[i].addr, 4);
			bits = 96 + list[i].prefix;
		} else if (list[i].family == AF_INET6 && list[i].prefix >= 0 &&
		    list[i].prefix <= 128) {
			memcpy(net, list[i].addr, POLICY_ADDR_LEN);
			bits = list[i].prefix;
		} else
			continue;	/* not from cidr_parse */
		if (policy_prefix_eq(a, net, bits))
			return 1;
	}
	return 0;
}

/*
 * "10.0.0.0/8", "192.0.2.7" (a host: /32), "2001:db8::/32", "::1" (/128),
 * "::ffff:10.0.0.0/104".  The whole string must be the CIDR: no spaces,
 * no host names, a decimal prefix no longer than the family allows.
 * Host bits below the prefix ("10.1.2.3/8") are accepted and cleared,
 * as most routers do, so the stored network is always 10.0.0.0/8.
 */
int
cidr_parse(const char *s, struct ff_cidr *out)
{
	struct ff_cidr	 c;
	const char	*slash;
	char		 host[INET6_ADDRSTRLEN];
	size_t		 hostlen;
	uint64_t	 prefix;
	int		 bits, i;

	if (s == NULL || out == NULL)
		return -1;
	memset(&c, 0, sizeof(c));
	slash = strchr(s, '/');
	hostlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hostlen == 0 || hostlen >= sizeof(host))
		return -1;
	memcpy(host, s, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		bits = 128;
	} else
		return -1;

	if (slash == NULL)
		prefix = bits;
	else if (parse_u64(slash + 1, strlen(slash + 1), &prefix) == -1 ||
	    prefix > (uint64_t)bits)
		return -1;
	c.prefix = (int)prefix;

	for (i = c.prefix; i < bits; i++)
		c.addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	*out = c;
	return 0;
}

int
cidr_match(const struct ff_cidr *list, int n, const struct sockaddr *sa)
{
	uint8_t	a[POLICY_ADDR_LEN];

	if (policy_addr_from_sockaddr(sa, a) == -1)
		return 0;
	return policy_cidr_match_addr(list, n, a);
}

/*
 * Forwarding headers: each is parsed left to right into the last
 * POLICY_MAX_HOPS entries (a ring), then walked from the right.  An entry
 * is an address or unusable: "unknown", an obfuscated "_name", garbage,
 * an element without for=.
 */
struct policy_hops {
	uint8_t	addr[POLICY_MAX_HOPS][POLICY_ADDR_LEN];
	uint8_t	usable[POLICY_MAX_HOPS];
	size_t	n;		/* seen; the ring keeps the last */
};

static void
policy_hops_push(struct policy_hops *h, const uint8_t *a)
{
	size_t	slot = h->n % POLICY_MAX_HOPS;

	h->usable[slot] = a != NULL;
	if (a != NULL)
		memcpy(h->addr[slot], a, POLICY_ADDR_LEN);
	h->n++;
}

/*
 * Walk from the right.  Each usable entry becomes the best guess; the
 * first one that is not a trusted proxy is the client.  An unusable entry
 * stops the walk: everything left of it was written by someone we cannot
 * vouch for, so the last good address (or the peer) stands.
 */
static void
policy_hops_pick(const struct policy_hops *h, const struct ff_cidr *trusted,
    int ntrusted, uint8_t best[POLICY_ADDR_LEN], int *have)
{
	size_t	i, kept, slot;

	kept = h->n < POLICY_MAX_HOPS ? h->n : POLICY_MAX_HOPS;
	for (i = 0; i < kept; i++) {
		slot = (h->n - 1 - i) % POLICY_MAX_HOPS;
		if (!h->usable[slot])
			return;
		memcpy(best, h->addr[slot], POLICY_ADDR_LEN);
		*have = 1;
		if (!policy_cidr_match_addr(trusted, ntrusted, best))
			return;
	}
}

/* "_" 1*(ALPHA / DIGIT / "." / "_" / "-"): RFC 7239 obfuscated port. */
static int
policy_obfuscated(const char *s, size_t len)
{
	size_t	i;

	if (len < 2 || s[0] != '_')
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/*
 * One node: "192.0.2.1", "192.0.2.1:80", "[2001:db8::1]", "[2001:db8::1]:4711"
 * or a bare "2001:db8::1" (X-Forwarded-For writes v6 so).  The port is
 * checked and dropped.  "unknown" and "_hidden" are not addresses: -1.
 */
static int
policy_node_parse(const char *s, size_t len, uint8_t a[POLICY_ADDR_LEN])
{
	char		 buf[INET6_ADDRSTRLEN];
	const char	*host = s, *port = NULL, *rb;
	size_t		 hostlen = len, portlen = 0, i, colons = 0;
	uint64_t	 v;
	int		 v6;

	if (len == 0)
		return -1;
	if (s[0] == '[') {
		if ((rb = memchr(s, ']', len)) == NULL)
			return -1;
		host = s + 1;
		hostlen = rb - host;
		if (rb + 1 < s + len) {
			if (rb[1] != ':')
				return -1;
			port = rb + 2;
			portlen = s + len - port;
		}
		v6 = 1;
	} else {
		for (i = 0; i < len; i++)
			if (s[i] == ':')
				colons++;
		if (colons == 1) {
			hostlen = (const char *)memchr(s, ':', len) - s;
			port = s + hostlen + 1;
			portlen = len - hostlen - 1;
		}
		v6 = colons > 1;
	}
	if (port != NULL && !policy_obfuscated(port, portlen) &&
	    (portlen > 5 || parse_u64(port, portlen, &v) == -1 || v > 65535))
		return -1;
	if (hostlen == 0 || hostlen >= sizeof(buf))
		return -1;
	memcpy(buf, host, hostlen);
	buf[hostlen] = '\0';
	if (v6)
		return inet_pton(AF_INET6, buf, a) == 1 ? 0 : -1;
	memcpy(a, policy_v4mapped, sizeof(policy_v4mapped));
	return inet_pton(AF_INET, buf, a + 12) == 1 ? 0 : -1;
}

/* "203.0.113.9, 10.0.0.2": commas, optional spaces; empty list elements
 * are ignored as RFC 7230 section 7 asks. */
static void
policy_xff_parse(const char *s, size_t len, struct policy_hops *h)
{
	uint8_t	a[POLICY_ADDR_LEN];
	size_t	i = 0, start, end;

	while (i < len) {
		start = i;
		while (i < len && s[i] != ',')
			i++;
		end = i++;
		while (start < end && policy_is_ows((unsigned char)s[start]))
			start++;
		while (end > start && policy_is_ows((unsigned char)s[end - 1]))
			end--;
		if (end == start)
			continue;
		if (policy_node_parse(s + start, end - start, a) == 0)
			policy_hops_push(h, a);
		else
			policy_hops_push(h, NULL);
	}
}

/* RFC 7230 tchar. */
static int
policy_is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* After a syntax error: on to the next element, minding quoted commas. */
static size_t
policy_skip_element(const char *s, size_t len, size_t i)
{
	int	quoted = 0;

	for (; i < len; i++) {
		if (quoted && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == ',')
			break;
	}
	return i;
}

/*
 * RFC 7239: Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43,
 *     For="[2001:db8:cafe::17]:4711"
 * Elements separated by commas, pairs by semicolons, names case-insensitive,
 * values a token or a quoted-string.  Unquoted ':' and brackets are
 * tolerated (proxies write "for=192.0.2.1:80").  An element with a syntax
 * error, a repeated for= or no for= at all is one unusable entry.
 */
static void
policy_forwarded_parse(const char *s, size_t len, struct policy_hops *h)
{
	uint8_t		 a[POLICY_ADDR_LEN];
	char		 val[POLICY_NODE_MAX];
	const char	*name;
	size_t		 i = 0, namelen, vallen;
	int		 bad, nfor, gotfor, nonempty, toolong;

	while (i < len) {
		bad = nfor = gotfor = nonempty = 0;
		for (;;) {
			while (i < len && policy_is_ows((unsigned char)s[i]))
				i++;
			if (i >= len || s[i] == ',')
				break;
			nonempty = 1;

			name = s + i;
			while (i < len && policy_is_tchar((unsigned char)s[i]))
				i++;
			namelen = s + i - name;
			if (namelen == 0 || i >= len || s[i] != '=') {
				bad = 1;
				break;
			}
			i++;

			vallen = 0;
			toolong = 0;
			if (i < len && s[i] == '"') {
				for (i++; i < len && s[i] != '"'; i++) {
					if (s[i] == '\\' && ++i >= len)
						break;
					if (vallen < sizeof(val))
						val[vallen++] = s[i];
					else
						toolong = 1;
				}
				if (i >= len) {
					bad = 1;	/* unterminated */
					break;
				}
				i++;
			} else {
				for (; i < len && (policy_is_tchar(
				    (unsigned char)s[i]) || s[i] == ':' ||
				    s[i] == '[' || s[i] == ']'); i++) {
					if (vallen < sizeof(val))
						val[vallen++] = s[i];
					else
						toolong = 1;
				}
				if (vallen == 0) {
					bad = 1;
					break;
				}
			}

			if (namelen == 3 && policy_caseeq(name, "for", 3) &&
			    nfor++ == 0)
				gotfor = !toolong &&
				    policy_node_parse(val, vallen, a) == 0;

			while (i < len && policy_is_ows((unsigned char)s[i]))
				i++;
			if (i < len && s[i] == ';') {
				i++;
				continue;
			}
			if (i >= len || s[i] == ',')
				break;
			bad = 1;
			break;
		}
		if (bad)
			i = policy_skip_element(s, len, i);
		if (nonempty)
			policy_hops_push(h,
			    !bad && nfor == 1 && gotfor ? a : NULL);
		i++;	/* the comma */
	}
}

/*
 * The peer's own address unless the peer is a trusted proxy; then the
 * forwarding headers decide.  Forwarded wins when it has any element;
 * both headers are the proxy's to overwrite, so the operator's proxy must
 * set (or strip) both, or a client can pick its own apparent address for
 * the one the proxy passes through untouched.  A unix-socket peer is a
 * local process (the reverse proxy): it is trusted like a listed proxy.
 * When no address is known, out->ss_family is AF_UNSPEC.
 */
void
policy_client_addr(const struct sockaddr *peer,
    const char *xff, size_t xfflen, const char *fwd, size_t fwdlen,
    const struct ff_cidr *trusted, int ntrusted,
    struct sockaddr_storage *out)
{
	struct policy_hops	hops;
	uint8_t			best[POLICY_ADDR_LEN];
	int			have = 0;

	memset(out, 0, sizeof(*out));
	if (peer == NULL)
		return;
	if (policy_addr_from_sockaddr(peer, best) == 0) {
		have = 1;
		if (!policy_cidr_match_addr(trusted, ntrusted, best))
			goto done;
	} else if (peer->sa_family != AF_UNIX)
		return;

	hops.n = 0;
	if (fwd != NULL)
		policy_forwarded_parse(fwd, fwdlen, &hops);
	if (hops.n == 0 && xff != NULL)
		policy_xff_parse(xff, xfflen, &hops);
	policy_hops_pick(&hops, trusted, ntrusted, best, &have);
done:
	if (have)
		policy_addr_to_sockaddr(best, out);
}

/*
 * Machine traffic: requests that no person caused, so an open or click
 * they make must not count as one.  Matched as ASCII case-insensitive
 * substrings of the User-Agent.  Only nonzero matters to callers; the
 * reason tells a debugger which rule fired.
 */
enum policy_machine_reason {
	POLICY_HUMAN = 0,
	POLICY_MACHINE_NO_AGENT,	/* empty or missing User-Agent */
	POLICY_MACHINE_MAIL_PROXY,	/* fetches images for a mailbox */
	POLICY_MACHINE_PREFETCH,	/* Office probing before the browser */
	POLICY_MACHINE_SCANNER,		/* security product clicking */
	POLICY_MACHINE_BOT,		/* crawlers, HTTP libraries */
};

static const struct policy_machine_agent {
	const char	*needle;
	const char	*not_after;	/* no hit right after this */
	int		 reason;
} policy_machine_agents[] = {
	/* Gmail fetches every image once, through its cache:
	 * "Mozilla/5.0 (...) (via ggpht.com GoogleImageProxy)". */
	{ "GoogleImageProxy", NULL, POLICY_MACHINE_MAIL_PROXY },
	{ "ggpht.com", NULL, POLICY_MACHINE_MAIL_PROXY },
	/* Yahoo and AOL Mail: "YahooMailProxy; https://help.yahoo.com/...". */
	{ "YahooMailProxy", NULL, POLICY_MACHINE_MAIL_PROXY },
	/*
	 * Office asks whether a link exists before handing it to the
	 * browser, which then makes the real request.  Not listed: "Microsoft
	 * Office" (Outlook desktop loads images as "Microsoft Office/16.0
	 * (...; Microsoft Outlook 16.0...)") and "ms-office" (Outlook
	 * 2010-2013: "...; ms-office; MSOffice 15)"): those are people.
	 * Defender Safe Links detonates links with ordinary browser agents,
	 * so no entry can catch it; the click-soon-after-open window
	 * (scanner_window_s) does.
	 */
	{ "Microsoft Office Existence Discovery", NULL,
	    POLICY_MACHINE_PREFETCH },
	{ "Microsoft Office Protocol Discovery", NULL,
	    POLICY_MACHINE_PREFETCH },
	/* Mail security gateways that fetch every link they rewrite; no
	 * browser names a security vendor in its User-Agent. */
	{ "Barracuda", NULL, POLICY_MACHINE_SCANNER },
	{ "Mimecast", NULL, POLICY_MACHINE_SCANNER },
	{ "Proofpoint", NULL, POLICY_MACHINE_SCANNER },
	{ "Symantec", NULL, POLICY_MACHINE_SCANNER },
	{ "Forcepoint", NULL, POLICY_MACHINE_SCANNER },
	{ "Trend Micro", NULL, POLICY_MACHINE_SCANNER },
	{ "TrendMicro", NULL, POLICY_MACHINE_SCANNER },
	{ "Bitdefender", NULL, POLICY_MACHINE_SCANNER },
	/* Sandboxes detonating links in a browser nobody looks at. */
	{ "HeadlessChrome", NULL, POLICY_MACHINE_SCANNER },
	{ "PhantomJS", NULL, POLICY_MACHINE_SCANNER },
	/*
	 * Crawlers and link unfurlers: "bot" covers Googlebot, bingbot,
	 * Slackbot, Twitterbot, LinkedInBot, Discordbot, TelegramBot...
	 * but not Cubot phones ("Android 9; CUBOT_X19").
	 */
	{ "bot", "cu", POLICY_MACHINE_BOT },
	{ "crawler", NULL, POLICY_MACHINE_BOT },
	{ "spider", NULL, POLICY_MACHINE_BOT },
	{ "preview", NULL, POLICY_MACHINE_BOT },
	{ "facebookexternalhit", NULL, POLICY_MACHINE_BOT },
	/*
	 * HTTP libraries: no mail client introduces itself so.  curl and
	 * Wget stay human on purpose: operators test their links with them.
	 * Dalvik and okhttp stay human too: Android mail apps use them.
	 */
	{ "python-requests", NULL, POLICY_MACHINE_BOT },
	{ "Python-urllib", NULL, POLICY_MACHINE_BOT },
	{ "aiohttp", NULL, POLICY_MACHINE_BOT },
	{ "Go-http-client", NULL, POLICY_MACHINE_BOT },
	{ "libwww-perl", NULL, POLICY_MACHINE_BOT },
	{ "Java/", NULL, POLICY_MACHINE_BOT },
	{ "node-fetch", NULL, POLICY_MACHINE_BOT },
	{ "axios/", NULL, POLICY_MACHINE_BOT },
};

static int
policy_agent_has(const char *ua, size_t len, size_t i,
    const struct policy_machine_agent *m)
{
	size_t	nlen = strlen(m->needle), plen;

	if (i + nlen > len || !policy_caseeq(ua + i, m->needle, nlen))
		return 0;
	plen = m->not_after != NULL ? strlen(m->not_after) : 0;
	if (plen > 0 && i >= plen &&
	    policy_caseeq(ua + i - plen, m->not_after, plen))
		return 0;
	return 1;
}

/*
 * The first two lowercase bytes of every needle, as a 65536-bit set:
 * this runs on every pixel, and a browser's agent of ~100 bytes should
 * cost one table probe per byte, not one compare per needle per byte.
 */
static uint64_t		policy_agent_bigrams[65536 / 64];
static pthread_once_t	policy_agent_once = PTHREAD_ONCE_INIT;

static unsigned
policy_bigram(const char *p)
{
	return (unsigned)policy_lower((unsigned char)p[0]) << 8 |
	    (unsigned)policy_lower((unsigned char)p[1]);
}

static void
policy_agent_init(void)
{
	size_t		i;
	unsigned	b;

	for (i = 0; i < FF_NELEM(policy_machine_agents); i++) {
		b = policy_bigram(policy_machine_agents[i].needle);
		policy_agent_bigrams[b / 64] |= (uint64_t)1 << (b % 64);
	}
}

int
policy_machine_agent(const char *ua, size_t len)
{
	size_t		i, pos;
	unsigned	b;

	if (ua == NULL)
		return POLICY_MACHINE_NO_AGENT;
	while (len > 0 && policy_is_ows((unsigned char)ua[0])) {
		ua++;
		len--;
	}
	while (len > 0 && policy_is_ows((unsigned char)ua[len - 1]))
		len--;
	if (len == 0)
		return POLICY_MACHINE_NO_AGENT;
	/* Apple Mail Privacy Protection fetches with exactly this and
	 * nothing else; every real browser says more. */
	if (len == 11 && policy_caseeq(ua, "Mozilla/5.0", 11))
		return POLICY_MACHINE_MAIL_PROXY;
	pthread_once(&policy_agent_once, policy_agent_init);
	for (pos = 0; pos + 1 < len; pos++) {
		b = policy_bigram(ua + pos);
		if (!(policy_agent_bigrams[b / 64] & ((uint64_t)1 << (b % 64))))
			continue;
		for (i = 0; i < FF_NELEM(policy_machine_agents); i++)
			if (policy_agent_has(ua, len, pos,
			    &policy_machine_agents[i]))
				return policy_machine_agents[i].reason;
	}
	return POLICY_HUMAN;
}

/* Egress of the proxies that fetch images for a mailbox, not a person. */
static const struct ff_cidr policy_machine_nets[] = {
	/* Apple owns 17.0.0.0/8; Mail Privacy Protection fetches from it
	 * (and sends the bare "Mozilla/5.0" agent). */
	{ AF_INET, { 17, 0, 0, 0 }, 8 },
	/* Google's image proxy (Gmail "GoogleImageProxy") egress. */
	{ AF_INET, { 66, 102, 0, 0 }, 20 },
	{ AF_INET, { 66, 249, 80, 0 }, 20 },
	{ AF_INET, { 64, 233, 160, 0 }, 19 },
	{ AF_INET, { 72, 14, 192, 0 }, 18 },
	{ AF_INET, { 74, 125, 0, 0 }, 16 },
};

int
policy_machine_addr(const struct sockaddr *sa)
{
	return cidr_match(policy_machine_nets, FF_NELEM(policy_machine_nets),
	    sa);
}

/* Letters, digits, '-' and '.', no empty label (a single trailing dot,
 * the root, is fine).  Punycode ("xn--bcher-kva.example") passes. */
static int
policy_url_hostname(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '.' && i + 1 < len && s[i + 1] == '.')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

/*
 * host [":" port], where host is a name or "[v6]".  Userinfo is refused:
 * "https://good.example@evil.example" goes to evil.example.
 */
static int
policy_url_authority(const char *s, size_t len)
{
	char		 buf[INET6_ADDRSTRLEN];
	struct in6_addr	 in6;
	const char	*end = s + len, *p, *rb;
	uint64_t	 port;

	if (len == 0 || memchr(s, '@', len) != NULL)
		return 0;
	if (s[0] == '[') {
		if ((rb = memchr(s, ']', len)) == NULL ||
		    (size_t)(rb - s - 1) >= sizeof(buf) || rb == s + 1)
			return 0;
		memcpy(buf, s + 1, rb - s - 1);
		buf[rb - s - 1] = '\0';
		if (inet_pton(AF_INET6, buf, &in6) != 1)
			return 0;
		p = rb + 1;
	} else {
		p = memchr(s, ':', len);
		if (p == NULL)
			p = end;
		if (!policy_url_hostname(s, p - s))
			return 0;
	}
	if (p == end)
		return 1;
	if (*p != ':' || end - p - 1 > 5 ||
	    parse_u64(p + 1, end - p - 1, &port) == -1 ||
	    port == 0 || port > 65535)
		return 0;
	return 1;
}

/*
 * The only URLs a click may redirect to.  Every byte must be printable
 * ASCII: no controls (header splitting), no spaces, nothing >= 0x80
 * (stored URLs are percent-encoded), no backslash (browsers read it as
 * '/', so "http://good\@evil" would fool the host check).
 */
int
policy_url_is_safe(const char *url, size_t len)
{
	size_t	i, start;

	if (url == NULL || len == 0 || len > POLICY_URL_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = url[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\')
			return 0;
	}
	if (len >= 7 && policy_caseeq(url, "http://", 7))
		start = 7;
	else if (len >= 8 && policy_caseeq(url, "https://", 8))
		start = 8;
	else
		return 0;
	for (i = start; i < len; i++)
		if (url[i] == '/' || url[i] == '?' || url[i] == '#')
			break;
	return policy_url_authority(url + start, i - start);
}
