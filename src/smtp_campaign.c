/*
 * smtp_campaign.c: the campaign cache of a sender thread.  A campaign is
 * read from Redis (its hash, its template, its link table: three
 * HGETALLs), compiled by smtp_message.c, and read again after
 * SMTP_CAMPAIGN_TTL_MS, so a batch costs no template work.
 *
 * Each thread owns its cache: nothing here is shared or locked.  Never
 * here: a write to Redis, a key built by hand (keys.h builds them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_sync.h"
#include "keys.h"
#include "smtp_campaign.h"

void
smtp_campaign_clear(struct smtp_campaign *c)
{
	smtp_template_clear(&c->message);
	memset(c, 0, sizeof(*c));
}

static const char *
reply_field(const redisReply *h, const char *name)
{
	size_t	i;

	if (h == NULL || h->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < h->elements; i += 2)
		if (h->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(h->element[i]->str, name) == 0 &&
		    h->element[i + 1]->type == REDIS_REPLY_STRING)
			return h->element[i + 1]->str;
	return NULL;
}

static int
campaign_load(struct smtp_campaign *c, struct db *db, const char *node_id,
    int who, uint64_t tenant, uint64_t campaign)
{
	redisReply	*camp = NULL, *tpl = NULL, *links = NULL;
	struct smtp_template_source src;
	const char	*v, **pairs = NULL;
	struct key	 k;
	char		 err[256] = "";
	uint64_t	 tid;
	size_t		 i;
	int		 ok = -1;

	smtp_campaign_clear(c);
	c->tenant = tenant;
	c->campaign = campaign;
	c->loaded_ms = mono_ms();
	if ((camp = db_cmd(db, "HGETALL %s",
	    key_campaign(&k, tenant, campaign))) == NULL ||
	    (v = reply_field(camp, "template_id")) == NULL ||
	    parse_u64(v, strlen(v), &tid) == -1)
		goto out;
	if ((tpl = db_cmd(db, "HGETALL %s",
	    key_template(&k, tenant, tid))) == NULL ||
	    (links = db_cmd(db, "HGETALL %s",
	    key_camp_links(&k, tenant, campaign))) == NULL)
		goto out;
	if (reply_field(tpl, "subject") == NULL ||
	    reply_field(camp, "from") == NULL)
		goto out;
	c->rate = (v = reply_field(camp, "rate_per_second")) ? atoi(v) : 0;

	memset(&src, 0, sizeof(src));
	src.tenant = tenant;
	src.campaign = campaign;
	src.from = reply_field(camp, "from");
	src.reply_to = reply_field(camp, "reply_to");
	src.subject = reply_field(tpl, "subject");
	src.html = reply_field(tpl, "html");
	src.text = reply_field(tpl, "text");
	src.track_opens = (v = reply_field(camp, "track_opens")) ?
	    strcmp(v, "0") != 0 : 1;
	src.track_clicks = (v = reply_field(camp, "track_clicks")) ?
	    strcmp(v, "0") != 0 : 1;
	src.node_id = node_id;
	if (links->type == REDIS_REPLY_ARRAY && links->elements >= 2) {
		pairs = xcalloc(links->elements, sizeof(*pairs));
		for (i = 0; i + 1 < links->elements; i += 2) {
			pairs[i] = links->element[i]->str;
			pairs[i + 1] = links->element[i + 1]->str;
		}
		src.links = pairs;
		src.nlinks = links->elements / 2;
	}
	if (smtp_template_compile(&c->message, &src, err, sizeof(err)) == -1) {
		if (*err != '\0')
			log_warnx("sender %d: %s", who, err);
		goto out;
	}
	ok = 0;
out:
	if (ok == -1)
		log_warnx("sender %d: campaign %llu of tenant %llu cannot be "
		    "loaded; retrying later", who,
		    (unsigned long long)campaign, (unsigned long long)tenant);
	c->ok = ok == 0;
	free(pairs);
	if (camp != NULL)
		freeReplyObject(camp);
	if (tpl != NULL)
		freeReplyObject(tpl);
	if (links != NULL)
		freeReplyObject(links);
	return ok;
}

struct smtp_campaign *
smtp_campaign_get(struct smtp_campaign *cache, struct db *db,
    const char *node_id, int who, uint64_t tenant, uint64_t campaign)
{
	struct smtp_campaign	*c, *old = &cache[0];
	uint64_t		 now = mono_ms();
	size_t			 i;

	for (i = 0; i < SMTP_CAMPAIGN_CACHE; i++) {
		c = &cache[i];
		if (c->tenant == tenant && c->campaign == campaign) {
			if (now - c->loaded_ms > SMTP_CAMPAIGN_TTL_MS || !c->ok)
				campaign_load(c, db, node_id, who, tenant,
				    campaign);
			return c->ok ? c : NULL;
		}
		if (c->loaded_ms < old->loaded_ms)
			old = c;
	}
	campaign_load(old, db, node_id, who, tenant, campaign);
	return old->ok ? old : NULL;
}
