/*
 * netguard.h: may the node connect to this address on a tenant's say-so
 * (netguard.c)?  A tenant names a host (its relay today, a webhook URL
 * later); the node must not become the tenant's way into loopback, the
 * private network or the cloud's metadata address, unless the operator
 * allows that range (relay_allow, webhook_allow).
 */
#ifndef FANFARE_NETGUARD_H
#define FANFARE_NETGUARD_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>

struct ff_cidr;

/* What an address is; every class but PUBLIC is refused by default. */
enum netguard_class {
	NETGUARD_PUBLIC = 0,
	NETGUARD_UNSPECIFIED,	/* 0.0.0.0/8, :: */
	NETGUARD_LOOPBACK,	/* 127/8, ::1 */
	NETGUARD_PRIVATE,	/* RFC 1918, fc00::/7, fec0::/10 */
	NETGUARD_SHARED,	/* 100.64/10 (carrier-grade NAT) */
	NETGUARD_LINK_LOCAL,	/* 169.254/16 (cloud metadata), fe80::/10 */
	NETGUARD_MULTICAST,	/* 224/4, ff00::/8 */
	NETGUARD_BROADCAST,	/* 255.255.255.255 */
	NETGUARD_RESERVED,	/* 240/4, documentation, benchmarking,
				 * 192.0.0/24, ::/96, 100::/64, ... */
	NETGUARD_NCLASSES
};

/* "loopback", "private", ...: for log lines and error messages. */
const char *netguard_class_name(int);

/*
 * The class of a 16-byte address (IPv6, an IPv4 one as ::ffff:a.b.c.d).
 * IPv6 forms that carry an IPv4 address a relay would reach (v4-mapped,
 * NAT64 64:ff9b::/96, 6to4 2002::/16) take the class of that address.
 */
int	 netguard_classify(const uint8_t a[16]);
/* The same for an AF_INET or AF_INET6 sockaddr; RESERVED otherwise. */
int	 netguard_classify_sockaddr(const struct sockaddr *);

/*
 * Appends the CIDRs of s ("10.0.0.0/8, 192.168.0.0/16 ::1": commas and
 * spaces both separate; cidr_parse's syntax) to list[*count..max).
 * 0 when all were taken; -1 when one is not a CIDR (*bad, *badlen name
 * it); -2 when there are more than max.  Nothing is appended on error
 * but the CIDRs before the bad one.
 */
int	 netguard_list_parse(const char *s, struct ff_cidr *list, int max,
	    int *count, const char **bad, size_t *badlen);

/*
 * 0 when the node may connect to sa: a public address, or one the allow
 * list covers (the address itself, or the IPv4 address it carries).
 * Otherwise the class that forbids it.
 */
int	 netguard_check(const struct sockaddr *sa, const struct ff_cidr *allow,
	    int nallow);

/* What netguard_resolve found. */
enum netguard_result {
	NETGUARD_OK = 0,	/* every address may be reached */
	NETGUARD_FORBIDDEN,	/* one may not: addr, klass say which */
	NETGUARD_UNRESOLVABLE,	/* no address (or the lookup timed out) */
};

struct netguard_verdict {
	enum netguard_result	 result;
	int			 klass;		/* FORBIDDEN: its class */
	char			 addr[INET6_ADDRSTRLEN];  /* FORBIDDEN: it;
						 * OK: the first IPv4 one,
						 * or "" */
};

/*
 * Resolves host (a name or an IPv4/IPv6 literal) with the system's
 * resolver, as libesmtp will (getaddrinfo: /etc/hosts, then DNS), and
 * checks every address it gives.  Blocking, but at most timeout_ms: the
 * lookup runs on glibc's getaddrinfo_a thread and is abandoned (freed
 * by that thread when it ends) after the bound.  For a thread that may
 * wait that long (an API worker, a sender), never an event loop.
 */
#define NETGUARD_RESOLVE_MS	3000
void	 netguard_resolve(const char *host, const struct ff_cidr *allow,
	    int nallow, int timeout_ms, struct netguard_verdict *v);

#endif /* FANFARE_NETGUARD_H */
