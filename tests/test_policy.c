/*
 * test_policy.c: src/policy.c on bytes alone.  Every header and URL is
 * copied into a heap buffer of exactly its length, without a NUL, so a
 * read past the end shows up under valgrind.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"

/* A heap copy of s without its NUL; NULL stays NULL. */
static char *
exact(const char *s)
{
	char	*p;
	size_t	 n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

static struct sockaddr_storage
sa(const char *text, int port)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else {
		cr_assert_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1,
		    "bad test address %s", text);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
	}
	return ss;
}

/* "v4 a.b.c.d", "v6 x::y" or "none", for readable assertions. */
static const char *
show(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char	a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;

		cr_assert_eq(sin->sin_port, 0);
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "v4 %s", a);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;

		cr_assert_eq(sin6->sin6_port, 0);
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "v6 %s", a);
	} else
		snprintf(buf, len, "none");
	return buf;
}

static struct ff_cidr	trusted[8];
static int		ntrusted;

static void
trust(const char *list[])
{
	for (ntrusted = 0; list[ntrusted] != NULL; ntrusted++)
		cr_assert_eq(cidr_parse(list[ntrusted], &trusted[ntrusted]), 0,
		    "cidr_parse(%s)", list[ntrusted]);
}

/* Runs policy_client_addr on exact-length copies and checks show(). */
static void
check_client(const char *peer, const char *xff, const char *fwd,
    const char *want)
{
	struct sockaddr_storage	 p = sa(peer, 44321), out;
	char			*x = exact(xff), *f = exact(fwd), buf[80];

	memset(&out, 0xa5, sizeof(out));
	policy_client_addr((struct sockaddr *)&p, x, xff ? strlen(xff) : 0,
	    f, fwd ? strlen(fwd) : 0, trusted, ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), want,
	    "peer %s xff [%s] fwd [%s]", peer, xff ? xff : "(null)",
	    fwd ? fwd : "(null)");
	free(x);
	free(f);
}

/* ------------------------------------------------------------ cidr_parse */

Test(cidr_parse, good)
{
	static const struct {
		const char	*in;
		int		 family, prefix;
		const char	*addr;
	} t[] = {
		{ "10.0.0.0/8", AF_INET, 8, "10.0.0.0" },
		{ "192.168.1.7", AF_INET, 32, "192.168.1.7" },
		{ "0.0.0.0/0", AF_INET, 0, "0.0.0.0" },
		{ "10.1.2.3/8", AF_INET, 8, "10.0.0.0" },	/* host bits */
		{ "172.16.5.4/12", AF_INET, 12, "172.16.0.0" },
		{ "172.31.255.255/12", AF_INET, 12, "172.16.0.0" },
		{ "192.0.2.1/32", AF_INET, 32, "192.0.2.1" },
		{ "::1", AF_INET6, 128, "::1" },
		{ "2001:db8::/32", AF_INET6, 32, "2001:db8::" },
		{ "2001:db8:ffff::1/33", AF_INET6, 33, "2001:db8:8000::" },
		{ "::/0", AF_INET6, 0, "::" },
		{ "::ffff:10.0.0.0/104", AF_INET6, 104, "::ffff:10.0.0.0" },
		{ "fe80::1/128", AF_INET6, 128, "fe80::1" },
		{ "10.0.0.0/08", AF_INET, 8, "10.0.0.0" },
	};
	struct ff_cidr	c;
	char		a[INET6_ADDRSTRLEN];
	size_t		i;

	for (i = 0; i < FF_NELEM(t); i++) {
		memset(&c, 0xa5, sizeof(c));
		cr_assert_eq(cidr_parse(t[i].in, &c), 0, "%s", t[i].in);
		cr_expect_eq(c.family, t[i].family, "%s", t[i].in);
		cr_expect_eq(c.prefix, t[i].prefix, "%s", t[i].in);
		inet_ntop(c.family, c.addr, a, sizeof(a));
		cr_expect_str_eq(a, t[i].addr, "%s", t[i].in);
	}
}

Test(cidr_parse, bad)
{
	static const char *t[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8a", "10.0.0.0/a", "10.0.0.0/8/8",
		"10.0.0.0/ 8", "10.0.0.0 /8", " 10.0.0.0/8", "10.0.0.0/8 ",
		"10.0.0.0/8\n", "10.0.0/8", "10.0.0.256", "256.0.0.0/8",
		"010.0.0.0/8", "1.2.3.4.5", "localhost", "example.com/24",
		"::1/129", "2001:db8::/1280", "2001:db8:::/32", "fe80::1%eth0",
		"[::1]/128", "::1 ", "junk", "10.0.0.0/99999999999999999999999",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999/64",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/8",
	};
	struct ff_cidr	c, before;
	size_t		i;

	memset(&before, 0x5a, sizeof(before));
	for (i = 0; i < FF_NELEM(t); i++) {
		c = before;
		cr_expect_eq(cidr_parse(t[i], &c), -1, "[%s]", t[i]);
		cr_expect_eq(memcmp(&c, &before, sizeof(c)), 0,
		    "[%s] wrote out on failure", t[i]);
	}
	cr_expect_eq(cidr_parse(NULL, &c), -1);
}

/* ------------------------------------------------------------ cidr_match */

static int
match(const char *cidrs[], const char *addr)
{
	struct ff_cidr		l[8];
	struct sockaddr_storage	s = sa(addr, 80);
	int			n;

	for (n = 0; cidrs[n] != NULL; n++)
		cr_assert_eq(cidr_parse(cidrs[n], &l[n]), 0, "%s", cidrs[n]);
	return cidr_match(l, n, (struct sockaddr *)&s);
}

Test(cidr_match, table)
{
	static const char *v4[] = { "10.0.0.0/8", "192.0.2.0/20", NULL };
	static const char *v6[] = { "2001:db8::/32", "::1", NULL };
	static const char *mapped[] = { "::ffff:10.0.0.0/104", NULL };
	static const char *all4[] = { "0.0.0.0/0", NULL };
	static const char *all6[] = { "::/0", NULL };
	static const char *none[] = { NULL };

	cr_expect(match(v4, "10.0.0.0"));
	cr_expect(match(v4, "10.255.255.255"));
	cr_expect(!match(v4, "11.0.0.0"));
	cr_expect(!match(v4, "9.255.255.255"));
	cr_expect(match(v4, "192.0.15.255"));		/* /20 edge */
	cr_expect(!match(v4, "192.0.16.0"));
	cr_expect(match(v4, "::ffff:10.1.2.3"));	/* v4-mapped */
	cr_expect(!match(v4, "::ffff:11.1.2.3"));
	cr_expect(!match(v4, "::10.1.2.3"));		/* v4-compatible */
	cr_expect(!match(v4, "2001:db8::1"));

	cr_expect(match(v6, "2001:db8:ffff::1"));
	cr_expect(!match(v6, "2001:db9::1"));
	cr_expect(match(v6, "::1"));
	cr_expect(!match(v6, "::2"));
	cr_expect(!match(v6, "10.0.0.1"));

	cr_expect(match(mapped, "10.9.8.7"));
	cr_expect(match(mapped, "::ffff:10.9.8.7"));
	cr_expect(!match(mapped, "11.9.8.7"));

	cr_expect(match(all4, "203.0.113.1"));
	cr_expect(match(all4, "::ffff:203.0.113.1"));
	cr_expect(!match(all4, "2001:db8::1"));
	cr_expect(match(all6, "2001:db8::1"));
	cr_expect(match(all6, "203.0.113.1"));	/* v4 lives in ::ffff:0:0/96 */

	cr_expect(!match(none, "10.0.0.1"));
}

Test(cidr_match, odd_input)
{
	struct ff_cidr		c, junk = { .family = 99, .prefix = 0 };
	struct sockaddr_storage	s = sa("10.0.0.1", 0);
	struct sockaddr_un	un = { .sun_family = AF_UNIX };

	cr_assert_eq(cidr_parse("0.0.0.0/0", &c), 0);
	cr_expect(!cidr_match(&c, 1, (struct sockaddr *)&un));
	cr_expect(!cidr_match(&c, 1, NULL));
	cr_expect(!cidr_match(NULL, 0, (struct sockaddr *)&s));
	cr_expect(!cidr_match(&c, 0, (struct sockaddr *)&s));
	cr_expect(!cidr_match(&junk, 1, (struct sockaddr *)&s));
	junk.family = AF_INET;
	junk.prefix = 40;	/* out of range: never matches */
	cr_expect(!cidr_match(&junk, 1, (struct sockaddr *)&s));
}

/* ---------------------------------------------------- policy_client_addr */

static const char *proxies[] = {
	"10.0.0.0/8", "2001:db8:1::/48", "198.51.100.0/24", NULL
};

Test(client_addr, untrusted_peer_ignores_headers)
{
	trust(proxies);
	check_client("203.0.113.50", "1.2.3.4", NULL, "v4 203.0.113.50");
	check_client("203.0.113.50", NULL, "for=1.2.3.4", "v4 203.0.113.50");
	check_client("203.0.113.50", "10.0.0.1", "for=10.0.0.2",
	    "v4 203.0.113.50");
	check_client("2001:db8:2::1", "1.2.3.4", NULL, "v6 2001:db8:2::1");
	check_client("203.0.113.50", NULL, NULL, "v4 203.0.113.50");
	/* Nothing trusted at all. */
	ntrusted = 0;
	check_client("10.0.0.1", "1.2.3.4", "for=1.2.3.4", "v4 10.0.0.1");
}

Test(client_addr, trusted_peer_no_headers)
{
	trust(proxies);
	check_client("10.0.0.1", NULL, NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "", "", "v4 10.0.0.1");
	check_client("10.0.0.1", " , ,", " ", "v4 10.0.0.1");
	check_client("2001:db8:1::5", NULL, NULL, "v6 2001:db8:1::5");
}

Test(client_addr, xff_chain)
{
	trust(proxies);
	check_client("10.0.0.1", "203.0.113.9", NULL, "v4 203.0.113.9");
	check_client("10.0.0.1", "203.0.113.9, 10.0.0.2", NULL,
	    "v4 203.0.113.9");
	check_client("10.0.0.1", "203.0.113.9,10.0.0.2,198.51.100.7", NULL,
	    "v4 203.0.113.9");
	/* The client wrote the leftmost one itself: not believed. */
	check_client("10.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.2", NULL,
	    "v4 203.0.113.9");
	/* All trusted: the leftmost. */
	check_client("10.0.0.1", "10.0.0.5, 10.0.0.2", NULL, "v4 10.0.0.5");
	check_client("10.0.0.1", " \t203.0.113.9 \t", NULL, "v4 203.0.113.9");
	check_client("10.0.0.1", "203.0.113.9,,10.0.0.2,", NULL,
	    "v4 203.0.113.9");
	check_client("10.0.0.1", "2001:db8:2::9, 2001:db8:1::2", NULL,
	    "v6 2001:db8:2::9");
	check_client("10.0.0.1", "::ffff:203.0.113.9", NULL, "v4 203.0.113.9");
}

Test(client_addr, xff_ports)
{
	trust(proxies);
	check_client("10.0.0.1", "203.0.113.9:5678", NULL, "v4 203.0.113.9");
	check_client("10.0.0.1", "[2001:db8:2::9]:443, 10.0.0.2:80", NULL,
	    "v6 2001:db8:2::9");
	check_client("10.0.0.1", "[2001:db8:2::9]", NULL, "v6 2001:db8:2::9");
	check_client("10.0.0.1", "203.0.113.9:65535", NULL, "v4 203.0.113.9");
	/* Bad ports make the entry garbage. */
	check_client("10.0.0.1", "203.0.113.9:65536", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "203.0.113.9:", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "203.0.113.9:x", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "[2001:db8:2::9]x", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "[2001:db8:2::9", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "[203.0.113.9]", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "[]:80", NULL, "v4 10.0.0.1");
}

Test(client_addr, xff_garbage)
{
	trust(proxies);
	/* Garbage where the walk stops: the last good address. */
	check_client("10.0.0.1", "203.0.113.9, garbage", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "garbage, 10.0.0.2", NULL, "v4 10.0.0.2");
	check_client("10.0.0.1", "garbage, 203.0.113.9", NULL,
	    "v4 203.0.113.9");
	check_client("10.0.0.1", "unknown", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "203.0.113.9 10.0.0.2", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "203.0.113.9;10.0.0.2", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "999.0.0.1", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "fe80::1%eth0", NULL, "v4 10.0.0.1");
	check_client("10.0.0.1",
	    "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd",
	    NULL, "v4 10.0.0.1");
	check_client("10.0.0.1", "\"203.0.113.9\"", NULL, "v4 10.0.0.1");
}

Test(client_addr, forwarded)
{
	trust(proxies);
	check_client("10.0.0.1", NULL, "for=192.0.2.60;proto=http;by=10.0.0.1",
	    "v4 192.0.2.60");
	check_client("10.0.0.1", NULL, "for=\"[2001:db8:cafe::17]:4711\"",
	    "v6 2001:db8:cafe::17");
	check_client("10.0.0.1", NULL, "For=\"[2001:db8:cafe::17]\"",
	    "v6 2001:db8:cafe::17");
	check_client("10.0.0.1", NULL, "FOR=192.0.2.1:80", "v4 192.0.2.1");
	check_client("10.0.0.1", NULL, "for=\"192.0.2.1:80\"", "v4 192.0.2.1");
	check_client("10.0.0.1", NULL, "for=\"192.0.2.1:_p0rt\"",
	    "v4 192.0.2.1");
	check_client("10.0.0.1", NULL, "for=192.0.2.43, for=198.51.100.17",
	    "v4 192.0.2.43");
	check_client("10.0.0.1", NULL, "for=192.0.2.43,for=203.0.113.1",
	    "v4 203.0.113.1");
	check_client("10.0.0.1", NULL,
	    "for=192.0.2.43 ; proto=https , for=10.0.0.9;by=10.0.0.1",
	    "v4 192.0.2.43");
	/* Quoted commas and escapes do not split elements. */
	check_client("10.0.0.1", NULL,
	    "for=192.0.2.1;ext=\"a, \\\"b, for=1.1.1.1\", for=10.0.0.3",
	    "v4 192.0.2.1");
	check_client("10.0.0.1", NULL, "for=\"\\1\\9\\2.0.2.1\"",
	    "v4 192.0.2.1");
	/* Forwarded wins over X-Forwarded-For. */
	check_client("10.0.0.1", "203.0.113.1", "for=192.0.2.1",
	    "v4 192.0.2.1");
	/* Whitespace-only Forwarded is absent: X-Forwarded-For decides. */
	check_client("10.0.0.1", "203.0.113.1", " \t ", "v4 203.0.113.1");
	check_client("10.0.0.1", "203.0.113.1", ",,", "v4 203.0.113.1");
}

Test(client_addr, forwarded_unusable)
{
	trust(proxies);
	check_client("10.0.0.1", NULL, "for=unknown", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=\"unknown\"", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=_hidden", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=192.0.2.1, for=_hidden",
	    "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=192.0.2.1, for=10.0.0.3",
	    "v4 192.0.2.1");
	check_client("10.0.0.1", NULL, "for=_hidden, for=10.0.0.3",
	    "v4 10.0.0.3");
	check_client("10.0.0.1", NULL, "for=unknown, for=203.0.113.4",
	    "v4 203.0.113.4");
	/* An element with no for= tells us nothing: stop there. */
	check_client("10.0.0.1", NULL, "for=192.0.2.1, by=10.0.0.1",
	    "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "proto=https", "v4 10.0.0.1");
	/* A repeated for= makes the element void. */
	check_client("10.0.0.1", NULL, "for=192.0.2.1;for=192.0.2.2",
	    "v4 10.0.0.1");
	/* Syntax errors. */
	check_client("10.0.0.1", NULL, "for=\"192.0.2.1", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=192.0.2.1, for=\"10.0.0.3",
	    "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=\"192.0.2.1\\", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "=192.0.2.1", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for =192.0.2.1", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=192.0.2.1 x", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=192.0.2.1\"", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "for=[2001:db8::1", "v4 10.0.0.1");
	check_client("10.0.0.1", NULL, "garbage", "v4 10.0.0.1");
	/* Garbage on the left of a good untrusted entry is never reached. */
	check_client("10.0.0.1", NULL, "x=\"unterminated, ;, for=1.1.1.1\" y, "
	    "for=203.0.113.4", "v4 203.0.113.4");
	/* Recovery after an error skips quoted strings, escapes included. */
	check_client("10.0.0.1", NULL,
	    "x y=\"a\\\", for=1.1.1.1\", for=203.0.113.4", "v4 203.0.113.4");
	/* A node too long to be an address. */
	check_client("10.0.0.1", NULL,
	    "for=\"[2001:db8::1]:_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", "v4 10.0.0.1");
}

Test(client_addr, mapped_and_v6_peers)
{
	trust(proxies);
	/* A dual-stack listener sees a v4 proxy as ::ffff:10.0.0.2. */
	check_client("::ffff:10.0.0.2", "203.0.113.9", NULL, "v4 203.0.113.9");
	check_client("::ffff:203.0.113.5", "1.2.3.4", NULL, "v4 203.0.113.5");
	check_client("2001:db8:1::2", NULL, "for=\"[2001:db8:2::1]\"",
	    "v6 2001:db8:2::1");
	check_client("2001:db8:1::2", "2001:db8:2::1, 2001:db8:1::77", NULL,
	    "v6 2001:db8:2::1");
}

Test(client_addr, long_headers)
{
	struct sockaddr_storage	 p = sa("10.0.0.1", 1), out;
	char			*h, buf[80];
	size_t			 i, len, n = 10000;

	trust(proxies);
	/* 10000 trusted hops: only the last 64 are examined, so the answer
	 * is the 64th from the right (hop 9936). */
	h = xmalloc(n * 16);
	for (len = 0, i = 0; i < n; i++)
		len += snprintf(h + len, n * 16 - len, "10.0.%zu.%zu,",
		    (i / 250) % 250, i % 250);
	policy_client_addr((struct sockaddr *)&p, h, len, NULL, 0, trusted,
	    ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), "v4 10.0.39.186");

	/* The same length as Forwarded, client on the right. */
	for (len = 0, i = 0; i < n - 1; i++)
		len += snprintf(h + len, n * 16 - len, "for=1.1.1.1,");
	len += snprintf(h + len, n * 16 - len, "for=203.0.113.9");
	policy_client_addr((struct sockaddr *)&p, NULL, 0, h, len, trusted,
	    ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), "v4 203.0.113.9");

	/* Pure garbage bytes, including NULs and quotes. */
	for (i = 0; i < n * 16; i++)
		h[i] = (char)(i * 7919 % 251);
	policy_client_addr((struct sockaddr *)&p, h, n * 16, h, n * 16,
	    trusted, ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), "v4 10.0.0.1");
	policy_client_addr((struct sockaddr *)&p, h, n * 16, NULL, 0,
	    trusted, ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), "v4 10.0.0.1");
	free(h);
}

Test(client_addr, header_length_respected)
{
	static const char	 x[] = "203.0.113.9, 10.0.0.2X, 1.1.1.1";
	struct sockaddr_storage	 p = sa("10.0.0.1", 1), out;
	char			 buf[80];

	trust(proxies);
	/* Only the first 21 bytes belong to the header. */
	policy_client_addr((struct sockaddr *)&p, x, 21, NULL, 0, trusted,
	    ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), "v4 203.0.113.9");
	policy_client_addr((struct sockaddr *)&p, x, 0, NULL, 0, trusted,
	    ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), "v4 10.0.0.1");
}

Test(client_addr, odd_peers)
{
	struct sockaddr_un	 un = { .sun_family = AF_UNIX };
	struct sockaddr_storage	 out;
	char			 buf[80];
	static const char	 x[] = "203.0.113.9";

	trust(proxies);
	/* A unix-socket peer is the local reverse proxy. */
	policy_client_addr((struct sockaddr *)&un, x, strlen(x), NULL, 0,
	    trusted, ntrusted, &out);
	cr_expect_str_eq(show(&out, buf, sizeof(buf)), "v4 203.0.113.9");
	policy_client_addr((struct sockaddr *)&un, NULL, 0, NULL, 0,
	    trusted, ntrusted, &out);
	cr_expect_eq(out.ss_family, AF_UNSPEC);
	policy_client_addr((struct sockaddr *)&un, "junk", 4, NULL, 0,
	    trusted, ntrusted, &out);
	cr_expect_eq(out.ss_family, AF_UNSPEC);
	policy_client_addr(NULL, x, strlen(x), NULL, 0, trusted, ntrusted,
	    &out);
	cr_expect_eq(out.ss_family, AF_UNSPEC);
}

/* --------------------------------------------------- policy_machine_agent */

static int
agent(const char *ua)
{
	char	*p = exact(ua);
	int	 r;

	r = policy_machine_agent(p, ua ? strlen(ua) : 0);
	free(p);
	return r;
}

Test(machine_agent, machines)
{
	static const char *t[] = {
		"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
		    "(via ggpht.com GoogleImageProxy)",
		"GoogleImageProxy",
		"Mozilla/5.0 (via ggpht.com)",
		"YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-"
		    "SLN28749.html",
		"Mozilla/5.0",
		"mozilla/5.0",
		" Mozilla/5.0 ",
		"Microsoft Office Existence Discovery",
		"Microsoft Office Protocol Discovery",
		"Mozilla/5.0 Barracuda Sentinel",
		"Mimecast URL Protect",
		"Proofpoint URL Defense",
		"Symantec Email Security.cloud",
		"Forcepoint Email Security",
		"Trend Micro Email Security",
		"TrendMicro InterScan",
		"Bitdefender Link Checker",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
		    "Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, "
		    "like Gecko) PhantomJS/2.1.1 Safari/538.1",
		"Mozilla/5.0 (compatible; Googlebot/2.1; "
		    "+http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; "
		    "+http://www.bing.com/bingbot.htm)",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"Twitterbot/1.0",
		"LinkedInBot/1.0 (compatible; Mozilla/5.0)",
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
		"TelegramBot (like TwitterBot)",
		"Some Crawler 1.0",
		"Baiduspider+(+http://www.baidu.com/search/spider.htm)",
		"Link Preview Generator",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"python-requests/2.31.0",
		"Python-urllib/3.11",
		"Python/3.11 aiohttp/3.9.1",
		"Go-http-client/1.1",
		"Go-http-client/2.0",
		"libwww-perl/6.72",
		"Java/1.8.0_392",
		"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
		"axios/1.6.2",
		"cubot and a bot",
		"BOT",
		"",
		" ",
		"\t \t",
	};
	size_t	i;

	for (i = 0; i < FF_NELEM(t); i++)
		cr_expect_neq(agent(t[i]), 0, "[%s]", t[i]);
	cr_expect_neq(agent(NULL), 0);
	cr_expect_neq(policy_machine_agent(NULL, 0), 0);
	cr_expect_neq(policy_machine_agent("x", 0), 0);
}

Test(machine_agent, people)
{
	static const char *t[] = {
		/* Chrome, Firefox, Safari, Edge */
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
		    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
		    "Firefox/121.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/"
		    "605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
		    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 "
		    "Edg/120.0.0.0",
		/* Mobile Safari and Apple Mail on iOS (MPP off) */
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) "
		    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
		    "Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) "
		    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		/* Outlook desktop, 2016+ and 2013 */
		"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook "
		    "16.0.17126; Pro)",
		"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1; WOW64; "
		    "Trident/7.0; .NET4.0C; .NET4.0E; Microsoft Outlook "
		    "15.0.5023; ms-office; MSOffice 15)",
		/* Thunderbird */
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) "
		    "Gecko/20100101 Thunderbird/115.6.0",
		/* Android: a Cubot phone, a Dalvik/okhttp mail app */
		"Mozilla/5.0 (Linux; Android 9; CUBOT_X19) AppleWebKit/537.36 "
		    "(KHTML, like Gecko) Chrome/96.0.4664.45 Mobile "
		    "Safari/537.36",
		"Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7 Build/TQ3A.230901.001)",
		"okhttp/4.12.0",
		/* Operators testing. */
		"curl/8.5.0",
		"Wget/1.21.3",
		/* Close to the special case, but more. */
		"Mozilla/5.0 (Windows NT 10.0)",
		"Mozilla/5.0x",
		"Mozilla/4.0",
		"Bo",
	};
	size_t	i;

	for (i = 0; i < FF_NELEM(t); i++)
		cr_expect_eq(agent(t[i]), 0, "[%s]", t[i]);
}

Test(machine_agent, length_respected)
{
	static const char	ua[] = "Mozilla/5.0 (X11; Linux) bot";

	/* Only "Mozilla/5.0" is the header: the MPP agent. */
	cr_expect_neq(policy_machine_agent(ua, 11), 0);
	/* Stops before "bot": a person. */
	cr_expect_eq(policy_machine_agent(ua, strlen(ua) - 3), 0);
	cr_expect_neq(policy_machine_agent(ua, strlen(ua)), 0);
	/* Bytes after len must not complete a needle. */
	cr_expect_eq(policy_machine_agent(ua, strlen(ua) - 1), 0);
}

/* ---------------------------------------------------- policy_machine_addr */

static int
maddr(const char *a)
{
	struct sockaddr_storage	s = sa(a, 443);

	return policy_machine_addr((struct sockaddr *)&s);
}

Test(machine_addr, table)
{
	static const char *hit[] = {
		"17.0.0.0", "17.58.63.1", "17.255.255.255", "::ffff:17.1.2.3",
		"66.102.0.0", "66.102.15.255", "66.249.80.0", "66.249.95.255",
		"64.233.160.0", "64.233.191.255", "72.14.192.0",
		"72.14.255.255", "74.125.0.0", "74.125.255.255",
		"::ffff:74.125.1.1",
	};
	static const char *miss[] = {
		"16.255.255.255", "18.0.0.0", "66.102.16.0", "66.101.255.255",
		"66.249.79.255", "66.249.96.0", "64.233.159.255",
		"64.233.192.0", "72.14.191.255", "72.14.0.1", "74.124.255.255",
		"74.126.0.0", "203.0.113.1", "::ffff:18.0.0.1", "2001:db8::17",
		"::1", "::17.0.0.1", "2620:149::1",
	};
	struct sockaddr_un	un = { .sun_family = AF_UNIX };
	size_t			i;

	for (i = 0; i < FF_NELEM(hit); i++)
		cr_expect_neq(maddr(hit[i]), 0, "%s", hit[i]);
	for (i = 0; i < FF_NELEM(miss); i++)
		cr_expect_eq(maddr(miss[i]), 0, "%s", miss[i]);
	cr_expect_eq(policy_machine_addr((struct sockaddr *)&un), 0);
	cr_expect_eq(policy_machine_addr(NULL), 0);
}

/* ----------------------------------------------------- policy_url_is_safe */

static int
url(const char *u)
{
	char	*p = exact(u);
	int	 r;

	r = policy_url_is_safe(p, strlen(u));
	free(p);
	return r;
}

Test(url_is_safe, good)
{
	static const char *t[] = {
		"http://example.com",
		"https://example.com",
		"https://example.com/",
		"HTTPS://Example.COM/Path",
		"HtTp://example.com",
		"https://example.com/a/b?c=d&e=f%20g",
		"https://example.com?q=1",
		"https://example.com#frag",
		"https://example.com/#/route?x=y",
		"https://example.com:8443/x",
		"https://example.com:1",
		"https://example.com:65535/",
		"https://example.com:443?x",
		"http://[2001:db8::1]/",
		"http://[2001:db8::1]:8080/x",
		"http://[::ffff:192.0.2.1]",
		"http://192.0.2.1:80/",
		"https://xn--bcher-kva.example/",
		"https://sub-domain.example-1.com.",
		"https://a",
		"https://example.com/p@th?u=a@b",
		"https://example.com/?next=//evil.example",
		"https://example.com/%E2%9C%93",
		"https://example.com/<>\"{}|^`~!$&'()*+,;=:@",
	};
	size_t	i;

	for (i = 0; i < FF_NELEM(t); i++)
		cr_expect_neq(url(t[i]), 0, "[%s]", t[i]);
}

Test(url_is_safe, bad)
{
	static const char *t[] = {
		"",
		"http://",
		"https://",
		"http:/x",
		"https:///x",
		"http:///",
		"//evil.example",
		"/relative",
		"relative/path",
		"javascript:alert(1)",
		"JavaScript://example.com/%0aalert(1)",
		"data:text/html,<script>alert(1)</script>",
		"ftp://example.com/",
		"httpx://example.com/",
		"http//example.com/",
		"https:example.com",
		"https://good.example@evil.example",
		"https://user:pass@example.com/",
		"https://@example.com/",
		"https://good.example\\@evil.example",
		"https://example.com\\x",
		"https://example.com/a\\b",
		"https://example.com/a b",
		" https://example.com/",
		"https://example.com/ ",
		"https://example.com/\r\nSet-Cookie: x=y",
		"https://example.com/\n",
		"https://example.com/\t",
		"https://exa\tmple.com/",
		"https://example.com/\x7f",
		"https://example.com/\x01",
		"https://b\xc3\xbc" "cher.example/",
		"https://example.com/\xe2\x9c\x93",
		"https://example.com:/",
		"https://example.com:0/",
		"https://example.com:65536/",
		"https://example.com:99999/",
		"https://example.com:080808/",
		"https://example.com:80:80/",
		"https://example.com:http/",
		"https://example.com:-1/",
		"https://exa_mple.com/",
		"https://exa%2emple.com/",
		"https://.example.com/",
		"https://example..com/",
		"https://./",
		"https://[2001:db8::1/",
		"https://[2001:db8::1]x/",
		"https://[]/",
		"https://[example.com]/",
		"https://[192.0.2.1]/",
		"https://[fe80::1%25eth0]/",
		"https://[2001:db8::1]:/",
		"https://2001:db8::1/",
		"https://:80/",
	};
	size_t	i;

	for (i = 0; i < FF_NELEM(t); i++)
		cr_expect_eq(url(t[i]), 0, "[%s]", t[i]);
	cr_expect_eq(policy_url_is_safe(NULL, 0), 0);
	cr_expect_eq(policy_url_is_safe("https://example.com", 0), 0);
	/* An embedded NUL. */
	cr_expect_eq(policy_url_is_safe("https://example.com/\0x", 22), 0);
}

Test(url_is_safe, length)
{
	char	*u;
	size_t	 n = 8192;

	u = xmalloc(n + 1);
	memcpy(u, "https://example.com/", 20);
	memset(u + 20, 'a', n + 1 - 20);
	cr_expect_neq(policy_url_is_safe(u, n), 0);
	cr_expect_eq(policy_url_is_safe(u, n + 1), 0);
	/* Length cuts the scheme short. */
	cr_expect_eq(policy_url_is_safe(u, 7), 0);
	cr_expect_eq(policy_url_is_safe(u, 8), 0);
	cr_expect_neq(policy_url_is_safe(u, 9), 0);
	/* "https://e" then ":" bytes past len do not count. */
	free(u);
	u = exact("https://e:");
	cr_expect_neq(policy_url_is_safe(u, 9), 0);
	cr_expect_eq(policy_url_is_safe(u, 10), 0);
	free(u);
}
