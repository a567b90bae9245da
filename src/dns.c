/*
 * dns.c: the DNS lookups of domain verification, with glibc's libresolv
 * (res_nquery on a resolver state of our own, so the dns_resolver
 * directive's server is asked and no global state is shared between
 * threads).  TXT strings are joined by domain.c, since servers split a
 * long DKIM key into strings of 255 bytes.
 *
 * Blocking, with a short bound (one try of DNS_TIMEOUT_S): it runs in the
 * API's handler for POST /v1/domains/D/verify, a request an operator
 * makes by hand; the resolver is one the operator chose.
 */
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"

#define DNS_REPLY_MAX	65535

void
dns_answers_free(struct dns_answers *a)
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		free(a->text[i]);
	a->n = 0;
}

/* One answer RR of the wanted type into a->text; -1 when malformed. */
static int
dns_rr(ns_msg *msg, ns_rr *rr, int type, struct dns_answers *a)
{
	struct buf	 b = { NULL, 0, 0 };
	char		 name[NS_MAXDNAME];

	if (a->n == DNS_ANSWERS_MAX)
		return 0;
	if (type == ns_t_txt) {
		if (domain_txt_join(ns_rr_rdata(*rr), ns_rr_rdlen(*rr),
		    &b) == -1) {
			buf_free(&b);
			return -1;
		}
		a->text[a->n++] = b.p != NULL ? b.p : xstrdup("");
		return 0;
	}
	if (ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg),
	    ns_rr_rdata(*rr), name, sizeof(name)) == -1)
		return -1;
	a->text[a->n++] = xstrdup(name);
	return 0;
}

enum dns_result
dns_lookup(const struct ff_endpoint *server, const char *name,
    const char *typename, struct dns_answers *a)
{
	struct __res_state	 st;
	struct sockaddr_in	 sin;
	unsigned char		*reply = NULL;
	ns_msg			 msg;
	ns_rr			 rr;
	enum dns_result		 rv = DNS_FAILED;
	int			 type, n, i;

	memset(a, 0, sizeof(*a));
	type = strcmp(typename, "TXT") == 0 ? ns_t_txt : ns_t_cname;
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) == -1) {
		snprintf(a->error, sizeof(a->error), "res_ninit failed");
		return DNS_FAILED;
	}
	st.retrans = DNS_TIMEOUT_S;
	st.retry = 1;		/* one try: a lost reply is an "error" */
	st.options &= ~(RES_DNSRCH | RES_DEFNAMES);
	if (server != NULL && server->host != NULL) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)server->port);
		if (inet_pton(AF_INET, server->host, &sin.sin_addr) != 1) {
			snprintf(a->error, sizeof(a->error), "dns_resolver: "
			    "%s is not an IPv4 address", server->host);
			goto done;
		}
		st.nsaddr_list[0] = sin;
		st.nscount = 1;
	}
	reply = xcalloc(1, DNS_REPLY_MAX);
	n = res_nquery(&st, name, ns_c_in, type, reply, DNS_REPLY_MAX);
	if (n < 0) {
		/* h_errno of the state: NXDOMAIN and NODATA are answers. */
		if (st.res_h_errno == HOST_NOT_FOUND ||
		    st.res_h_errno == NO_DATA) {
			rv = DNS_NONE;
			goto done;
		}
		snprintf(a->error, sizeof(a->error), "%s", st.res_h_errno ==
		    TRY_AGAIN ? "no answer from the resolver (timeout or "
		    "SERVFAIL)" : "the resolver failed");
		goto done;
	}
	if (ns_initparse(reply, n, &msg) == -1) {
		snprintf(a->error, sizeof(a->error), "malformed reply");
		goto done;
	}
	for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) == -1) {
			snprintf(a->error, sizeof(a->error), "malformed "
			    "record");
			dns_answers_free(a);
			goto done;
		}
		if ((int)ns_rr_type(rr) != type ||
		    ns_rr_class(rr) != ns_c_in)
			continue;
		if (dns_rr(&msg, &rr, type, a) == -1) {
			snprintf(a->error, sizeof(a->error), "malformed "
			    "record");
			dns_answers_free(a);
			goto done;
		}
	}
	rv = a->n > 0 ? DNS_FOUND : DNS_NONE;
done:
	free(reply);
	res_nclose(&st);
	return rv;
}
