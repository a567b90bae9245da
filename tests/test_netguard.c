/*
 * test_netguard.c: netguard.c, which addresses a tenant may make the node
 * connect to: each class (loopback, private, ULA, link-local, CGNAT,
 * multicast, broadcast, unspecified, reserved) of both families and the
 * IPv6 forms that carry an IPv4 address, the allow list (relay_allow's
 * CIDRs) and its parsing, and the resolver check on literals and on
 * "localhost" (/etc/hosts: no DNS server needed).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "netguard.h"

static int
klass(const char *s)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	else
		cr_assert_fail("not an address: %s", s);
	return netguard_classify_sockaddr((struct sockaddr *)&ss);
}

static int
check(const char *s, const char *allow)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	struct ff_cidr		list[8];
	const char		*bad;
	size_t			badlen;
	int			n = 0;

	if (allow != NULL)
		cr_assert_eq(netguard_list_parse(allow, list, 8, &n, &bad,
		    &badlen), 0);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else
		cr_assert_eq(inet_pton(AF_INET6, s, &sin6->sin6_addr), 1);
	if (sin->sin_family == 0)
		sin6->sin6_family = AF_INET6;
	return netguard_check((struct sockaddr *)&ss, list, n);
}

Test(netguard, ipv4_classes)
{
	cr_assert_eq(klass("127.0.0.1"), NETGUARD_LOOPBACK);
	cr_assert_eq(klass("127.255.255.254"), NETGUARD_LOOPBACK);
	cr_assert_eq(klass("10.1.2.3"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("172.16.0.1"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("172.31.255.255"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("172.32.0.1"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("172.15.255.255"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("192.168.1.1"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("169.254.169.254"), NETGUARD_LINK_LOCAL);
	cr_assert_eq(klass("100.64.0.1"), NETGUARD_SHARED);
	cr_assert_eq(klass("100.127.255.255"), NETGUARD_SHARED);
	cr_assert_eq(klass("100.128.0.1"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("0.0.0.0"), NETGUARD_UNSPECIFIED);
	cr_assert_eq(klass("0.1.2.3"), NETGUARD_UNSPECIFIED);
	cr_assert_eq(klass("224.0.0.1"), NETGUARD_MULTICAST);
	cr_assert_eq(klass("239.255.255.250"), NETGUARD_MULTICAST);
	cr_assert_eq(klass("255.255.255.255"), NETGUARD_BROADCAST);
	cr_assert_eq(klass("240.0.0.1"), NETGUARD_RESERVED);
	cr_assert_eq(klass("192.0.2.10"), NETGUARD_RESERVED);
	cr_assert_eq(klass("198.18.0.1"), NETGUARD_RESERVED);
	cr_assert_eq(klass("198.51.100.1"), NETGUARD_RESERVED);
	cr_assert_eq(klass("203.0.113.9"), NETGUARD_RESERVED);
	cr_assert_eq(klass("8.8.8.8"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("93.184.216.34"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("11.0.0.1"), NETGUARD_PUBLIC);
}

Test(netguard, ipv6_classes)
{
	cr_assert_eq(klass("::1"), NETGUARD_LOOPBACK);
	cr_assert_eq(klass("::"), NETGUARD_UNSPECIFIED);
	cr_assert_eq(klass("fc00::1"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("fd12:3456::1"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("fe80::1"), NETGUARD_LINK_LOCAL);
	cr_assert_eq(klass("febf::1"), NETGUARD_LINK_LOCAL);
	cr_assert_eq(klass("fec0::1"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("ff02::1"), NETGUARD_MULTICAST);
	cr_assert_eq(klass("2001:db8::1"), NETGUARD_RESERVED);
	cr_assert_eq(klass("::2"), NETGUARD_RESERVED);
	cr_assert_eq(klass("100::1"), NETGUARD_RESERVED);
	cr_assert_eq(klass("2606:4700::1111"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("2a00:1450:4001::1"), NETGUARD_PUBLIC);
}

/* An IPv4 address inside IPv6 is judged as itself. */
Test(netguard, ipv6_carrying_ipv4)
{
	cr_assert_eq(klass("::ffff:127.0.0.1"), NETGUARD_LOOPBACK);
	cr_assert_eq(klass("::ffff:10.0.0.1"), NETGUARD_PRIVATE);
	cr_assert_eq(klass("::ffff:8.8.8.8"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("64:ff9b::169.254.169.254"), NETGUARD_LINK_LOCAL);
	cr_assert_eq(klass("64:ff9b::8.8.8.8"), NETGUARD_PUBLIC);
	cr_assert_eq(klass("2002:7f00:1::1"), NETGUARD_LOOPBACK);
	cr_assert_eq(klass("2002:0808:0808::1"), NETGUARD_PUBLIC);
}

Test(netguard, allow_list)
{
	cr_assert_eq(check("127.0.0.1", NULL), NETGUARD_LOOPBACK);
	cr_assert_eq(check("127.0.0.1", "127.0.0.0/8"), 0);
	cr_assert_eq(check("127.0.0.1", "10.0.0.0/8"), NETGUARD_LOOPBACK);
	cr_assert_eq(check("::ffff:127.0.0.1", "127.0.0.0/8"), 0);
	cr_assert_eq(check("2002:7f00:1::1", "127.0.0.0/8"), 0);
	cr_assert_eq(check("10.9.8.7", "192.168.0.0/16, 10.9.0.0/16"), 0);
	cr_assert_eq(check("10.8.8.7", "10.9.0.0/16"), NETGUARD_PRIVATE);
	cr_assert_eq(check("fd00::5", "fd00::/8"), 0);
	cr_assert_eq(check("fe80::5", "fd00::/8"), NETGUARD_LINK_LOCAL);
	/* A public address needs no allowance. */
	cr_assert_eq(check("8.8.8.8", NULL), 0);
	cr_assert_eq(check("8.8.8.8", "10.0.0.0/8"), 0);
}

Test(netguard, list_parse)
{
	struct ff_cidr	list[3];
	const char	*bad = NULL;
	size_t		 badlen = 0;
	int		 n = 0;

	cr_assert_eq(netguard_list_parse("10.0.0.0/8, ::1 ,", list, 3, &n,
	    &bad, &badlen), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(list[0].prefix, 8);
	cr_assert_eq(list[1].family, AF_INET6);
	/* Appends, as a repeated directive does. */
	cr_assert_eq(netguard_list_parse("192.168.1.7", list, 3, &n, &bad,
	    &badlen), 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(list[2].prefix, 32);
	cr_assert_eq(netguard_list_parse("1.2.3.4", list, 3, &n, &bad,
	    &badlen), -2);
	n = 0;
	cr_assert_eq(netguard_list_parse("10.0.0.0/8 localhost", list, 3, &n,
	    &bad, &badlen), -1);
	cr_assert_eq(badlen, strlen("localhost"));
	cr_assert_eq(strncmp(bad, "localhost", badlen), 0);
	cr_assert_eq(n, 1);
	n = 0;
	cr_assert_eq(netguard_list_parse("10.0.0.0/33", list, 3, &n, &bad,
	    &badlen), -1);
	cr_assert_eq(netguard_list_parse("", list, 3, &n, &bad, &badlen), 0);
	cr_assert_eq(n, 0);
}

Test(netguard, class_names)
{
	cr_assert_str_eq(netguard_class_name(NETGUARD_LOOPBACK), "loopback");
	cr_assert_str_eq(netguard_class_name(NETGUARD_LINK_LOCAL),
	    "link-local");
	cr_assert_str_eq(netguard_class_name(-1), "reserved");
	cr_assert_str_eq(netguard_class_name(NETGUARD_NCLASSES), "reserved");
}

/* The resolver: literals, and "localhost" from /etc/hosts. */
Test(netguard, resolve)
{
	struct netguard_verdict	v;
	struct ff_cidr		allow[2];
	const char		*bad;
	size_t			 badlen;
	int			 n = 0;

	netguard_resolve("127.0.0.1", NULL, 0, 2000, &v);
	cr_assert_eq(v.result, NETGUARD_FORBIDDEN);
	cr_assert_eq(v.klass, NETGUARD_LOOPBACK);
	cr_assert_str_eq(v.addr, "127.0.0.1");
	netguard_resolve("169.254.169.254", NULL, 0, 2000, &v);
	cr_assert_eq(v.result, NETGUARD_FORBIDDEN);
	cr_assert_eq(v.klass, NETGUARD_LINK_LOCAL);
	netguard_resolve("localhost", NULL, 0, 2000, &v);
	cr_assert_eq(v.result, NETGUARD_FORBIDDEN);
	cr_assert_eq(v.klass, NETGUARD_LOOPBACK);
	cr_assert_eq(netguard_list_parse("127.0.0.0/8 ::1", allow, 2, &n,
	    &bad, &badlen), 0);
	netguard_resolve("127.0.0.1", allow, n, 2000, &v);
	cr_assert_eq(v.result, NETGUARD_OK);
	cr_assert_str_eq(v.addr, "127.0.0.1");
	netguard_resolve("localhost", allow, n, 2000, &v);
	cr_assert_eq(v.result, NETGUARD_OK);
	netguard_resolve("8.8.8.8", NULL, 0, 2000, &v);
	cr_assert_eq(v.result, NETGUARD_OK);
	cr_assert_str_eq(v.addr, "8.8.8.8");
	/* .invalid never resolves (RFC 6761). */
	netguard_resolve("no-such-host.invalid", NULL, 0, 2000, &v);
	cr_assert_eq(v.result, NETGUARD_UNRESOLVABLE);
}
