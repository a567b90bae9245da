/*
 * smtp_campaign.h: a campaign as a sender thread sends it, read from
 * Redis and compiled once, kept in the thread's own small cache
 * (smtp_campaign.c).
 */
#ifndef FANFARE_SMTP_CAMPAIGN_H
#define FANFARE_SMTP_CAMPAIGN_H

#include <stdint.h>

#include "smtp_domain.h"
#include "smtp_message.h"
#include "smtp_tenant_relay.h"

#define SMTP_CAMPAIGN_CACHE	16	/* compiled campaigns per thread */
#define SMTP_CAMPAIGN_TTL_MS	30000	/* then its template's version
					 * is read again */

struct db;

struct smtp_campaign {
	uint64_t		 tenant, campaign;
	int			 variant;	/* an A/B test's, 1..; 0:
						 * the campaign itself */
	uint64_t		 loaded_ms;	/* mono */
	int			 ok;		/* 0: could not load (retried
						 * later) */
	int			 rate;		/* per second; 0: none */
	uint64_t		 template_id;
	uint64_t		 template_version; /* compiled from */
	uint64_t		 form;		/* a form's confirmation
						 * campaign: its recipients
						 * are pending sign-ups */
	int			 sysmail;	/* a system campaign
						 * (store_sysmail.h): its
						 * recipients are account
						 * mails, and its template's
						 * version is read at each
						 * use (a test send shows the
						 * template as it is now) */
	struct smtp_template	 message;
	struct smtp_domain_keys	 keys;		/* its From domain's; kept
						 * across reloads */
	struct smtp_tenant_relay relay;		/* its tenant's own, if any;
						 * kept across reloads */
};

/*
 * The campaign from the thread's cache.  Every SMTP_CAMPAIGN_TTL_MS the
 * version of its template is read (one HGET) and its From domain's key
 * version (smtp_domain.h): it is loaded and compiled again only when the
 * template changed since (a PUT), or when it could not be loaded; keys
 * are opened again only when theirs changed.  A new one replaces the
 * entry loaded longest ago.  NULL when it cannot be loaded now (logged;
 * tried again next time).  variant (an A/B test's, 0: none) takes its
 * subject and template in place of the campaign's; each variant is an
 * entry of the cache of its own.  who names the thread in log lines; data_key
 * opens the From domain's DKIM keys (smtp_domain.h) and the tenant
 * relay's password (smtp_tenant_relay.h), both read again with the
 * template's version.
 */
struct smtp_campaign *smtp_campaign_get(struct smtp_campaign *cache,
	    struct db *, const struct seal_key *data_key,
	    const char *node_id, int who, uint64_t tenant,
	    uint64_t campaign, int variant);
void	 smtp_campaign_clear(struct smtp_campaign *);

#endif /* FANFARE_SMTP_CAMPAIGN_H */
