/*
 * api_sysmail.c: who a tenant's account mail (password resets, test
 * sends: store_sysmail.h) comes from.
 *
 * The tenant's first verified sending domain D gives "noreply@D": its
 * DKIM keys sign the mail and its bounce CNAME aligns SPF, so the mail
 * passes DMARC as the tenant's own, and a tenant relay accepts it.  A
 * tenant without one falls back on system_from, the operator's address
 * (signed by dkim_domain's key if the server has one).  Neither: no
 * account mail can go (the caller says so, or logs it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store_domain.h"

int
api_sysmail_from(struct db *db, const struct config *conf, uint64_t tenant,
    char **from)
{
	struct domain_rec	 d;
	char			**names = NULL;
	uint64_t		*ids = NULL;
	size_t			 n = 0, i;
	int			 rc = 0, got;

	*from = NULL;
	if (store_domain_names(db, tenant, &names, &ids, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if ((got = store_domain_get(db, tenant, ids[i], &d)) ==
		    -1) {
			rc = -1;
			break;
		}
		if (got == 1 && d.status != NULL &&
		    strcmp(d.status, "verified") == 0) {
			if (xasprintf(from, "noreply@%s", d.name) == -1)
				fatal("xasprintf");
			rc = 1;
		}
		if (got == 1)
			store_domain_rec_free(&d);
	}
	store_domain_names_free(names, ids, n);
	if (rc != 0)
		return rc;
	if (conf->system_from != NULL) {
		*from = xstrdup(conf->system_from);
		return 1;
	}
	return 0;
}
