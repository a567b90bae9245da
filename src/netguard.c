/*
 * netguard.c: the addresses a tenant may make the node connect to
 * (netguard.h).  A tenant's relay (PUT /v1/relay) and, later, its webhook
 * URLs name hosts the node connects to from inside the operator's
 * network: without this, "127.0.0.1:6379" is a way to talk to Redis and
 * 169.254.169.254 a way to read cloud credentials.  So every address a
 * name gives must be public, or in a range the operator allows
 * (relay_allow, webhook_allow CIDRs).
 *
 * The classes and the list checks are pure (tests/test_netguard.c,
 * tests/fuzz_netguard.c).  netguard_resolve is the one blocking call: it
 * asks the system's resolver, as libesmtp does, because a check of other
 * answers than the ones the connection will use proves nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fanfare.h"
#include "netguard.h"

static const char *const class_names[NETGUARD_NCLASSES] = {
	[NETGUARD_PUBLIC] = "public",
	[NETGUARD_UNSPECIFIED] = "unspecified",
	[NETGUARD_LOOPBACK] = "loopback",
	[NETGUARD_PRIVATE] = "private",
	[NETGUARD_SHARED] = "shared (carrier-grade NAT)",
	[NETGUARD_LINK_LOCAL] = "link-local",
	[NETGUARD_MULTICAST] = "multicast",
	[NETGUARD_BROADCAST] = "broadcast",
	[NETGUARD_RESERVED] = "reserved",
};

const char *
netguard_class_name(int c)
{
	if (c < 0 || c >= NETGUARD_NCLASSES)
		return "reserved";
	return class_names[c];
}

/* A range of one family: the first bytes of the network, its prefix. */
struct range {
	uint8_t	net[16];
	int	prefix;
	int	klass;
};

/* IPv4, most specific first where ranges nest (none do today). */
static const struct range v4_ranges[] = {
	{ { 0 }, 8, NETGUARD_UNSPECIFIED },		/* "this network" */
	{ { 10 }, 8, NETGUARD_PRIVATE },
	{ { 100, 64 }, 10, NETGUARD_SHARED },
	{ { 127 }, 8, NETGUARD_LOOPBACK },
	{ { 169, 254 }, 16, NETGUARD_LINK_LOCAL },
	{ { 172, 16 }, 12, NETGUARD_PRIVATE },
	{ { 192, 0, 0 }, 24, NETGUARD_RESERVED },	/* IETF assignments */
	{ { 192, 0, 2 }, 24, NETGUARD_RESERVED },	/* TEST-NET-1 */
	{ { 192, 88, 99 }, 24, NETGUARD_RESERVED },	/* 6to4 relays */
	{ { 192, 168 }, 16, NETGUARD_PRIVATE },
	{ { 198, 18 }, 15, NETGUARD_RESERVED },		/* benchmarking */
	{ { 198, 51, 100 }, 24, NETGUARD_RESERVED },	/* TEST-NET-2 */
	{ { 203, 0, 113 }, 24, NETGUARD_RESERVED },	/* TEST-NET-3 */
	{ { 224 }, 4, NETGUARD_MULTICAST },
	{ { 255, 255, 255, 255 }, 32, NETGUARD_BROADCAST },
	{ { 240 }, 4, NETGUARD_RESERVED },		/* after broadcast */
};

/* IPv6, once the forms carrying IPv4 are taken out. */
static const struct range v6_ranges[] = {
	{ { 0 }, 128, NETGUARD_UNSPECIFIED },
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128,
	    NETGUARD_LOOPBACK },
	{ { 0 }, 96, NETGUARD_RESERVED },		/* IPv4-compatible */
	{ { 0x01, 0x00 }, 64, NETGUARD_RESERVED },	/* discard, 100::/64 */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32, NETGUARD_RESERVED },	/* docs */
	{ { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48,
	    NETGUARD_RESERVED },			/* local NAT64 */
	{ { 0xfc }, 7, NETGUARD_PRIVATE },		/* ULA */
	{ { 0xfe, 0x80 }, 10, NETGUARD_LINK_LOCAL },
	{ { 0xfe, 0xc0 }, 10, NETGUARD_PRIVATE },	/* site-local, old */
	{ { 0xff }, 8, NETGUARD_MULTICAST },
};

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff };
static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0,
    0, 0, 0, 0 };

static int
prefix_eq(const uint8_t *a, const uint8_t *net, int bits)
{
	int	full = bits / 8, rest = bits % 8;
	uint8_t	mask;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (net[full] & mask);
}

static int
classify_in(const uint8_t *a, const struct range *r, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (prefix_eq(a, r[i].net, r[i].prefix))
			return r[i].klass;
	return NETGUARD_PUBLIC;
}

/* The IPv4 address a carries, if any: 1 with v4[4] set. */
static int
embedded_v4(const uint8_t a[16], uint8_t v4[4])
{
	if (memcmp(a, v4mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
		memcpy(v4, a + 12, 4);
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x02) {		/* 6to4 */
		memcpy(v4, a + 2, 4);
		return 1;
	}
	return 0;
}

int
netguard_classify(const uint8_t a[16])
{
	uint8_t	v4[4];

	if (embedded_v4(a, v4))
		return classify_in(v4, v4_ranges, FF_NELEM(v4_ranges));
	return classify_in(a, v6_ranges, FF_NELEM(v6_ranges));
}

/* -1 when sa is neither AF_INET nor AF_INET6. */
static int
addr16(const struct sockaddr *sa, uint8_t a[16])
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(a, v4mapped, 12);
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

int
netguard_classify_sockaddr(const struct sockaddr *sa)
{
	uint8_t	a[16];

	if (addr16(sa, a) == -1)
		return NETGUARD_RESERVED;
	return netguard_classify(a);
}

int
netguard_list_parse(const char *s, struct ff_cidr *list, int max,
    int *count, const char **bad, size_t *badlen)
{
	char	one[INET6_ADDRSTRLEN + sizeof("/128")];
	size_t	n;

	for (;;) {
		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return 0;
		for (n = 0; s[n] != '\0' && s[n] != ',' && s[n] != ' ' &&
		    s[n] != '\t'; n++)
			;
		*bad = s;
		*badlen = n;
		if (n >= sizeof(one))
			return -1;
		memcpy(one, s, n);
		one[n] = '\0';
		if (*count >= max)
			return -2;
		if (cidr_parse(one, &list[*count]) == -1)
			return -1;
		(*count)++;
		s += n;
	}
}

int
netguard_check(const struct sockaddr *sa, const struct ff_cidr *allow,
    int nallow)
{
	struct sockaddr_in	sin;
	uint8_t			a[16], v4[4];
	int			klass;

	if (addr16(sa, a) == -1)
		return NETGUARD_RESERVED;
	if ((klass = netguard_classify(a)) == NETGUARD_PUBLIC)
		return 0;
	if (cidr_match(allow, nallow, sa))
		return 0;
	if (embedded_v4(a, v4)) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, v4, 4);
		if (cidr_match(allow, nallow, (struct sockaddr *)&sin))
			return 0;
	}
	return klass;
}

/* ------------------------------------------------------------ resolving */

/*
 * One getaddrinfo_a request, owned by two: the caller, who may give up
 * at its bound, and glibc's thread, whose notification comes when the
 * lookup ends.  The last of the two frees it, so an abandoned lookup
 * never writes into freed memory.
 */
struct lookup {
	pthread_mutex_t	 lock;
	int		 refs;
	struct gaicb	 cb;
	struct addrinfo	 hints;
	char		*host;
};

static void
lookup_unref(struct lookup *l)
{
	int	refs;

	pthread_mutex_lock(&l->lock);
	refs = --l->refs;
	pthread_mutex_unlock(&l->lock);
	if (refs > 0)
		return;
	if (l->cb.ar_result != NULL)
		freeaddrinfo(l->cb.ar_result);
	pthread_mutex_destroy(&l->lock);
	free(l->host);
	free(l);
}

static void
lookup_done(union sigval sv)
{
	lookup_unref(sv.sival_ptr);
}

void
netguard_resolve(const char *host, const struct ff_cidr *allow, int nallow,
    int timeout_ms, struct netguard_verdict *v)
{
	struct lookup		*l;
	struct gaicb		*list[1];
	struct sigevent		 sev;
	struct timespec		 ts;
	struct addrinfo		*ai;
	int			 rc, klass;

	memset(v, 0, sizeof(*v));
	v->result = NETGUARD_UNRESOLVABLE;
	l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->refs = 2;
	l->host = xstrdup(host);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->cb.ar_name = l->host;
	l->cb.ar_request = &l->hints;
	list[0] = &l->cb;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = lookup_done;
	sev.sigev_value.sival_ptr = l;
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, &sev) != 0) {
		l->refs = 1;		/* no notification will come */
		lookup_unref(l);
		return;
	}
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	/* gai_suspend also returns early on a signal (EAI_INTR): wait
	 * again, the bound is approximate, not a deadline to the ms. */
	while ((rc = gai_error(&l->cb)) == EAI_INPROGRESS &&
	    gai_suspend((const struct gaicb *const *)list, 1, &ts) ==
	    EAI_INTR)
		;
	if ((rc = gai_error(&l->cb)) != 0) {
		/* Still waiting for glibc's thread: a request taken off
		 * its queue is never notified, so its reference is ours;
		 * one running ends on its own and is notified. */
		if (rc == EAI_INPROGRESS && gai_cancel(&l->cb) == EAI_CANCELED)
			lookup_unref(l);
		lookup_unref(l);
		return;
	}
	for (ai = l->cb.ar_result; ai != NULL; ai = ai->ai_next) {
		if ((klass = netguard_check(ai->ai_addr, allow, nallow)) != 0) {
			v->result = NETGUARD_FORBIDDEN;
			v->klass = klass;
			if (ai->ai_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)
				    ai->ai_addr)->sin_addr, v->addr,
				    sizeof(v->addr));
			else if (ai->ai_family == AF_INET6)
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
				    ai->ai_addr)->sin6_addr, v->addr,
				    sizeof(v->addr));
			lookup_unref(l);
			return;
		}
		if (v->addr[0] == '\0' && ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)
			    ai->ai_addr)->sin_addr, v->addr, sizeof(v->addr));
	}
	v->result = l->cb.ar_result != NULL ? NETGUARD_OK :
	    NETGUARD_UNRESOLVABLE;
	lookup_unref(l);
}
