/*
 * smtp_campaign.c: the campaign cache of a sender thread.  A campaign is
 * read through the stores (its record, its template, its link table:
 * three round trips, its From domain's key version: smtp_domain.c, and
 * its tenant's relay: smtp_tenant_relay.c),
 * compiled by smtp_message.c, and read again after
 * SMTP_CAMPAIGN_TTL_MS, so a batch costs no template work.
 *
 * Each thread owns its cache: nothing here is shared or locked.  Never
 * here: a write, or a Redis command (store_campaign.h and
 * store_template.h read for it).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_campaign.h"
#include "store_campaign.h"
#include "store_template.h"

void
smtp_campaign_clear(struct smtp_campaign *c)
{
	smtp_template_clear(&c->message);
	smtp_domain_keys_clear(&c->keys);
	smtp_tenant_relay_clear(&c->relay);
	memset(c, 0, sizeof(*c));
}

static int
campaign_load(struct smtp_campaign *c, struct db *db,
    const struct seal_key *data_key, const char *node_id, int who,
    uint64_t tenant, uint64_t campaign)
{
	struct smtp_domain_keys	 keys = c->keys;	/* kept: versioned */
	struct smtp_tenant_relay relay = c->relay;	/* the same */
	struct campaign		 camp;
	struct template		 tpl;
	struct smtp_template_source src;
	char			**links = NULL;
	char			 err[256] = "";
	size_t			 nlinks = 0;
	int			 ok = -1;

	memset(&c->keys, 0, sizeof(c->keys));
	memset(&c->relay, 0, sizeof(c->relay));
	smtp_campaign_clear(c);
	c->keys = keys;
	c->relay = relay;
	c->tenant = tenant;
	c->campaign = campaign;
	c->loaded_ms = mono_ms();
	campaign_init(&camp, campaign);
	memset(&tpl, 0, sizeof(tpl));
	if (store_campaign_get(db, tenant, campaign, &camp) != 1 ||
	    camp.template_id == 0 ||
	    store_template_get(db, tenant, camp.template_id, &tpl) == -1 ||
	    store_campaign_links(db, tenant, campaign, &links, &nlinks) == -1)
		goto out;
	if (tpl.part[TEMPLATE_SUBJECT] == NULL || camp.from == NULL)
		goto out;
	c->rate = camp.rate_per_second <= 0 ? 0 :
	    camp.rate_per_second > INT_MAX ? INT_MAX :
	    (int)camp.rate_per_second;

	memset(&src, 0, sizeof(src));
	src.tenant = tenant;
	src.campaign = campaign;
	src.from = camp.from;
	src.reply_to = camp.reply_to;
	src.subject = tpl.part[TEMPLATE_SUBJECT];
	src.html = tpl.part[TEMPLATE_HTML];
	src.text = tpl.part[TEMPLATE_TEXT];
	/* Tracked unless the record says 0. */
	src.track_opens = camp.track_opens != 0;
	src.track_clicks = camp.track_clicks != 0;
	src.node_id = node_id;
	src.links = (const char *const *)links;
	src.nlinks = nlinks;
	if (smtp_template_compile(&c->message, &src, err, sizeof(err)) == -1) {
		if (*err != '\0')
			log_warnx("sender %d: %s", who, err);
		goto out;
	}
	smtp_domain_refresh(&c->keys, db, data_key, tenant,
	    c->message.from_addr, who);
	memcpy(c->message.dkim, c->keys.keys, sizeof(c->message.dkim));
	c->message.ndkim = c->keys.n;
	smtp_tenant_relay_refresh(&c->relay, db, data_key, tenant, who);
	ok = 0;
out:
	if (ok == -1)
		log_warnx("sender %d: campaign %llu of tenant %llu cannot be "
		    "loaded; retrying later", who,
		    (unsigned long long)campaign, (unsigned long long)tenant);
	c->ok = ok == 0;
	store_campaign_links_free(links, nlinks);
	store_template_free(&tpl);
	store_campaign_free(&camp);
	return ok;
}

struct smtp_campaign *
smtp_campaign_get(struct smtp_campaign *cache, struct db *db,
    const struct seal_key *data_key, const char *node_id, int who,
    uint64_t tenant, uint64_t campaign)
{
	struct smtp_campaign	*c, *old = &cache[0];
	uint64_t		 now = mono_ms();
	size_t			 i;

	for (i = 0; i < SMTP_CAMPAIGN_CACHE; i++) {
		c = &cache[i];
		if (c->tenant == tenant && c->campaign == campaign) {
			if (now - c->loaded_ms > SMTP_CAMPAIGN_TTL_MS || !c->ok)
				campaign_load(c, db, data_key, node_id, who,
				    tenant, campaign);
			return c->ok ? c : NULL;
		}
		if (c->loaded_ms < old->loaded_ms)
			old = c;
	}
	campaign_load(old, db, data_key, node_id, who, tenant, campaign);
	return old->ok ? old : NULL;
}
