/*
 * domain.h: sending domains, the pure part (domain.c) and the DNS
 * lookups of their verification (dns.c).
 */
#ifndef FANFARE_DOMAIN_H
#define FANFARE_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "fanfare.h"

#define DOMAIN_NAME_MAX		253	/* RFC 1035, without the root dot */
#define DOMAIN_TXT_MAX		4096	/* one record, its strings joined */
#define DOMAIN_SELECTOR_MAX	64

/* in lowered into out: letters, digits and inner '-' in 2 or more dot-
 * separated labels of 1 to 63; a final dot dropped.  0 or -1. */
int	 domain_name_check(const char *in, size_t len, char *out,
	    size_t outlen);
/* The domain of "Name <local@domain>" or "local@domain", lowered; -1
 * when there is none that domain_name_check takes. */
int	 domain_of_from(const char *from, char *out, size_t outlen);
/* "ffTAG-rsa" or "ffTAG-ed25519": one generation's two selectors. */
void	 domain_selector(char *out, size_t len, const char *tag,
	    int ed25519);
/* The AAD a private key is sealed under (seal.c): the tenant, the domain
 * and the selector, so a sealed key moved to another record won't open. */
void	 domain_key_aad(char *out, size_t len, uint64_t tenant,
	    const char *domain, const char *selector);
/* The records' names and texts (domain.c's top comment lists them). */
void	 domain_dkim_name(char *out, size_t len, const char *selector,
	    const char *domain);
void	 domain_dkim_txt(struct buf *out, int ed25519, const char *pub);
void	 domain_spf_txt(struct buf *out, const char *bounce_domain);
void	 domain_dmarc_txt(struct buf *out);
void	 domain_bounce_name(char *out, size_t len, const char *domain);

/* A TXT record's RDATA (length-prefixed strings, each at most 255 bytes:
 * DNS servers split a long value) joined into one text in out.  -1 when a
 * length runs past the end. */
int	 domain_txt_join(const unsigned char *rdata, size_t len,
	    struct buf *out);
/* 1 when a joined TXT text is a DKIM key record of the type with p=pub
 * (whitespace inside p= ignored; no k= means rsa); else 0. */
int	 domain_dkim_matches(const char *txt, int ed25519, const char *pub);
int	 domain_txt_is_spf(const char *txt);	/* "v=spf1" ... */
int	 domain_txt_is_dmarc(const char *txt);	/* "v=DMARC1; ..." */
/* Case-insensitive, a final dot on either ignored. */
int	 domain_name_equal(const char *a, const char *b);

/* ---------------------------------------------------------------- dns.c */

#define DNS_ANSWERS_MAX		8

enum dns_result {
	DNS_FOUND,		/* answers[] holds 1 or more */
	DNS_NONE,		/* NXDOMAIN or no record of the type */
	DNS_FAILED,		/* no answer in time, SERVFAIL, bad reply */
};

struct dns_answers {
	size_t		 n;
	char		*text[DNS_ANSWERS_MAX];	/* TXT joined, CNAME target */
	char		 error[128];		/* DNS_FAILED: why */
};

/*
 * Looks up the TXT or CNAME records of name ("TXT" or "CNAME"), asking
 * server (HOST:PORT, IPv4; NULL: the system's resolv.conf) with a timeout
 * of DNS_TIMEOUT_S seconds, one try.  Blocking: the caller runs it
 * where a second's wait is acceptable.  dns_answers_free after.
 */
#define DNS_TIMEOUT_S		1
enum dns_result dns_lookup(const struct ff_endpoint *server,
	    const char *name, const char *type, struct dns_answers *);
void	 dns_answers_free(struct dns_answers *);

#endif /* FANFARE_DOMAIN_H */
