/*
 * fuzz_netguard.c: libFuzzer target for src/netguard.c's pure part, what
 * an operator's relay_allow (and later webhook_allow) lines and a
 * tenant's addresses feed it.  make fuzz builds it with clang
 * (fuzz/netguard); make check replays tests/fuzz/netguard/.
 *
 * The input is a CIDR list, a NUL, then 16 bytes of an address (fewer:
 * zero-padded).  It aborts when a result breaks the contract:
 *  - netguard_list_parse: the count never passes max, never goes down,
 *    and on error names a piece of the input;
 *  - netguard_classify: a class in range, the same for an IPv4 address
 *    given as a sockaddr_in and as its v4-mapped sockaddr_in6;
 *  - netguard_check: 0 for every public address, the address's class
 *    (or 0) otherwise, and 0 when the list covers the address itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "netguard.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)
#define MAX		8

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ff_cidr		 list[MAX];
	struct sockaddr_in6	 sin6;
	struct sockaddr_in	 sin;
	const char		*bad = NULL;
	char			*copy;
	size_t			 badlen = 0, textlen;
	uint8_t			 a[16];
	int			 n = 0, rc, k, c;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	textlen = strlen(copy);
	rc = netguard_list_parse(copy, list, MAX, &n, &bad, &badlen);
	CHECK(rc == 0 || rc == -1 || rc == -2);
	CHECK(n >= 0 && n <= MAX);
	if (rc != 0)
		CHECK(bad >= copy && bad + badlen <= copy + textlen);
	/* Again from where it stopped: the count only grows. */
	k = n;
	(void)netguard_list_parse(copy, list, MAX, &n, &bad, &badlen);
	CHECK(n >= k && n <= MAX);

	memset(a, 0, sizeof(a));
	if (textlen + 1 < size)
		memcpy(a, data + textlen + 1, size - textlen - 1 > 16 ? 16 :
		    size - textlen - 1);
	k = netguard_classify(a);
	CHECK(k >= 0 && k < NETGUARD_NCLASSES);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, a, 16);
	CHECK(netguard_classify_sockaddr((struct sockaddr *)&sin6) == k);
	c = netguard_check((struct sockaddr *)&sin6, list, n);
	CHECK(c == 0 || c == k);
	if (k == NETGUARD_PUBLIC)
		CHECK(c == 0);
	if (cidr_match(list, n, (struct sockaddr *)&sin6))
		CHECK(c == 0);
	/* An IPv4 address, plain or v4-mapped, is one address. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	memcpy(&sin.sin_addr, a + 12, 4);
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	CHECK(netguard_classify_sockaddr((struct sockaddr *)&sin) ==
	    netguard_classify(a));
	memcpy(&sin6.sin6_addr, a, 16);
	CHECK(netguard_check((struct sockaddr *)&sin, list, n) ==
	    netguard_check((struct sockaddr *)&sin6, list, n));
	free(copy);
	return 0;
}
