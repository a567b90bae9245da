/*
 * smtp_domain.h: the DKIM keys a sender thread signs a campaign's copies
 * with: its From domain's signing generation, opened from their sealed
 * PEMs once and kept with the domain's version (smtp_domain.c).
 */
#ifndef FANFARE_SMTP_DOMAIN_H
#define FANFARE_SMTP_DOMAIN_H

#include <stdint.h>

#include "domain.h"
#include "smtp_message.h"		/* SMTP_DKIM_MAX */

struct db;

struct smtp_domain_keys {
	uint64_t		 tenant, id, version;	/* 0: none loaded */
	char			 domain[DOMAIN_NAME_MAX + 1];
	size_t			 n;
	struct dkim_key		*keys[SMTP_DKIM_MAX];
	int			 verified;	/* the domain's DNS checked */
};

/*
 * Brings k up to date for the tenant's From address: one or two Redis
 * reads (the domain's id and version), and the record itself only when
 * the version changed.  A From domain that is not the tenant's, or has
 * no keys that open, leaves k empty (the node's dkim_* key signs, if
 * any).  A Redis failure keeps what k had.  who names the thread in log
 * lines (never a key).
 */
void	 smtp_domain_refresh(struct smtp_domain_keys *k, struct db *,
	    const struct seal_key *, uint64_t tenant, const char *from_addr,
	    int who);
void	 smtp_domain_keys_clear(struct smtp_domain_keys *);

#endif
