/*
 * smtp_campaign.c: the campaign cache of a sender thread.  A campaign is
 * read through the stores (its record, its template, its link table:
 * three round trips, its From domain's key version: smtp_domain.c, and
 * its tenant's relay: smtp_tenant_relay.c)
 * and compiled by smtp_message.c once per version of its template:
 * after SMTP_CAMPAIGN_TTL_MS only the versions are read again, so a
 * batch costs no template work, and a template that does not change is
 * never compiled twice by a thread, however large.  (A campaign's record
 * and link table do not change once it is created.)  The tenant's relay
 * is read with the versions (one GET) and its password opened again only
 * when it changed.
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
#include "store_schedule.h"
#include "store_template.h"

void
smtp_campaign_clear(struct smtp_campaign *c)
{
	smtp_template_clear(&c->message);
	smtp_domain_keys_clear(&c->keys);
	smtp_tenant_relay_clear(&c->relay);
	memset(c, 0, sizeof(*c));
}

/* The From domain's keys and the tenant's relay, opened again only when
 * their version changed. */
static void
campaign_keys(struct smtp_campaign *c, struct db *db,
    const struct seal_key *data_key, int who)
{
	smtp_domain_refresh(&c->keys, db, data_key, c->tenant,
	    c->message.from_addr, who);
	memcpy(c->message.dkim, c->keys.keys, sizeof(c->message.dkim));
	c->message.ndkim = c->keys.n;
	c->message.own_bounces = c->keys.n > 0 && c->keys.verified;
	smtp_tenant_relay_refresh(&c->relay, db, data_key, c->tenant, who);
}

/* The A/B test's variant v of the campaign into *subject (the caller
 * frees) and *template_id (kept when the variant names none): 0, or -1
 * when the campaign has no such variant (or Redis failed). */
static int
variant_of(struct db *db, uint64_t tenant, uint64_t campaign, int v,
    char **subject, uint64_t *template_id)
{
	struct campaign_schedule sc;
	struct ab_test		 t;
	json_t			*o = NULL;
	char			 err[160];
	int			 rc = -1;

	if (store_schedule_get(db, tenant, campaign, &sc) == 1 &&
	    sc.ab != NULL && (o = json_loads(sc.ab, 0, NULL)) != NULL &&
	    ab_parse(o, &t, err, sizeof(err)) == 0 && v >= 1 &&
	    v <= t.nvariants) {
		*subject = xstrdup(t.variant[v - 1].subject);
		if (t.variant[v - 1].template_id != 0)
			*template_id = t.variant[v - 1].template_id;
		rc = 0;
	}
	json_decref(o);
	store_schedule_free(&sc);
	return rc;
}

static int
campaign_load(struct smtp_campaign *c, struct db *db,
    const struct seal_key *data_key, const char *node_id, int who,
    uint64_t tenant, uint64_t campaign, int variant)
{
	struct smtp_domain_keys	 keys = c->keys;	/* kept: versioned */
	struct smtp_tenant_relay relay = c->relay;	/* the same */
	struct campaign		 camp;
	struct template		 tpl;
	struct smtp_template_source src;
	char			**links = NULL, *subject = NULL, *prefixed = NULL;
	char			 err[256] = "";
	uint64_t		 template_id;
	size_t			 nlinks = 0;
	int			 ok = -1;

	memset(&c->keys, 0, sizeof(c->keys));
	memset(&c->relay, 0, sizeof(c->relay));
	smtp_campaign_clear(c);
	c->keys = keys;
	c->relay = relay;
	c->tenant = tenant;
	c->campaign = campaign;
	c->variant = variant;
	c->loaded_ms = mono_ms();
	campaign_init(&camp, campaign);
	memset(&tpl, 0, sizeof(tpl));
	if (store_campaign_get(db, tenant, campaign, &camp) != 1 ||
	    camp.template_id == 0)
		goto out;
	template_id = camp.template_id;
	if (variant != 0 && variant_of(db, tenant, campaign, variant, &subject,
	    &template_id) == -1)
		goto out;
	if (store_template_get(db, tenant, template_id, &tpl) == -1 ||
	    store_campaign_links(db, tenant, campaign, &links, &nlinks) == -1)
		goto out;
	if (tpl.part[TEMPLATE_SUBJECT] == NULL || camp.from == NULL)
		goto out;
	c->template_id = template_id;
	c->template_version = tpl.version;
	c->rate = camp.rate_per_second <= 0 ? 0 :
	    camp.rate_per_second > INT_MAX ? INT_MAX :
	    (int)camp.rate_per_second;

	memset(&src, 0, sizeof(src));
	src.tenant = tenant;
	src.campaign = campaign;
	src.from = camp.from;
	src.reply_to = camp.reply_to;
	src.subject = subject != NULL ? subject : tpl.part[TEMPLATE_SUBJECT];
	/* A test send's "[Test] " (store_sysmail.h). */
	if (camp.subject_prefix != NULL) {
		if (xasprintf(&prefixed, "%s%s", camp.subject_prefix,
		    src.subject) == -1)
			fatal("xasprintf");
		src.subject = prefixed;
	}
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
	c->form = c->message.form = camp.form;
	c->sysmail = camp.sysmail;
	campaign_keys(c, db, data_key, who);
	log_debug("sender %d: campaign %llu of tenant %llu compiled: template "
	    "%llu version %llu, %llu ms", who, (unsigned long long)campaign,
	    (unsigned long long)tenant, (unsigned long long)template_id,
	    (unsigned long long)tpl.version,
	    (unsigned long long)(mono_ms() - c->loaded_ms));
	ok = 0;
out:
	if (ok == -1)
		log_warnx("sender %d: campaign %llu of tenant %llu cannot be "
		    "loaded; retrying later", who,
		    (unsigned long long)campaign, (unsigned long long)tenant);
	c->ok = ok == 0;
	store_campaign_links_free(links, nlinks);
	free(subject);
	free(prefixed);
	store_template_free(&tpl);
	store_campaign_free(&camp);
	return ok;
}

/* Nonzero when c's template is still the version it was compiled from
 * (then it counts as loaded now, its keys refreshed); a Redis failure
 * keeps it too. */
static int
campaign_current(struct smtp_campaign *c, struct db *db,
    const struct seal_key *data_key, int who, uint64_t now)
{
	uint64_t	version;
	int		rc;

	rc = store_template_version(db, c->tenant, c->template_id, &version);
	if (rc == 1 && version != c->template_version)
		return 0;
	campaign_keys(c, db, data_key, who);
	c->loaded_ms = now;
	return 1;
}

struct smtp_campaign *
smtp_campaign_get(struct smtp_campaign *cache, struct db *db,
    const struct seal_key *data_key, const char *node_id, int who,
    uint64_t tenant, uint64_t campaign, int variant)
{
	struct smtp_campaign	*c, *old = &cache[0];
	uint64_t		 now = mono_ms();
	size_t			 i;

	for (i = 0; i < SMTP_CAMPAIGN_CACHE; i++) {
		c = &cache[i];
		if (c->tenant == tenant && c->campaign == campaign &&
		    c->variant == variant) {
			if (!c->ok || ((c->sysmail || now - c->loaded_ms >
			    SMTP_CAMPAIGN_TTL_MS) && !campaign_current(c, db,
			    data_key, who, now)))
				campaign_load(c, db, data_key, node_id, who,
				    tenant, campaign, variant);
			return c->ok ? c : NULL;
		}
		if (c->loaded_ms < old->loaded_ms)
			old = c;
	}
	campaign_load(old, db, data_key, node_id, who, tenant, campaign,
	    variant);
	return old->ok ? old : NULL;
}
