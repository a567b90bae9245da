/*
 * store_sysmail.c: hidden system campaigns (a form's confirmations, a
 * tenant's account mail, a template's test sends) and the one-off mails
 * they carry, in Redis.  store_sysmail.h says why such mail goes through
 * a campaign and what each function answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_launch.h"
#include "store_queue.h"
#include "store_suppress.h"
#include "store_sysmail.h"
#include "store_tenant.h"

#define QUEUE_GROUP	"senders"	/* store_queue.c's */
#define SYSMAIL_TTL_S	86400		/* a mail's recipient: long enough
					 * for the retry schedule's first
					 * day */

int
store_system_campaign_put(struct db *db, uint64_t tenant, uint64_t camp,
    const struct system_campaign *c, uint64_t now)
{
	redisReply	*rep;
	struct key	 k, q;
	int		 rc;

	/* Sending for ever, its snapshot never "1": nothing finishes it;
	 * no tracking: a confirmation or a reset link is not a click to
	 * count. */
	if (reply_done(db_cmd(db, "HSET %s name %s template_id %llu from %s "
	    "reply_to %s rate_per_second 0 track_opens 0 track_clicks 0 "
	    "status sending snapshot system kind %s %s %llu "
	    "created_at %llu launched_at %llu", key_campaign(&k, tenant, camp),
	    c->name, (unsigned long long)c->template_id,
	    c->from ? c->from : "", "", c->kind, c->owner_field,
	    (unsigned long long)c->owner, (unsigned long long)now,
	    (unsigned long long)now)) == -1)
		return -1;
	if (c->subject_prefix != NULL && reply_done(db_cmd(db, "HSET %s "
	    "subject_prefix %s", k.s, c->subject_prefix)) == -1)
		return -1;
	rep = db_cmd(db, "XGROUP CREATE %s %s $ MKSTREAM",
	    key_campaign_queue(&q, tenant, camp), QUEUE_GROUP);
	rc = rep != NULL && (!reply_is_error(rep, NULL) ||
	    reply_is_error(rep, "BUSYGROUP")) ? 0 : -1;
	freeReplyObject(rep);
	return rc;
}

int
store_system_template_put(struct db *db, uint64_t tenant, uint64_t id,
    const char *name, const char *subject, size_t subject_len,
    const char *html, size_t html_len, const char *text, size_t text_len,
    uint64_t now)
{
	struct key	k;
	long long	v;

	if (reply_done(db_cmd(db, "HSET %s name %s subject %b html %b "
	    "text %b links [] updated_at %llu", key_template(&k, tenant, id),
	    name, subject, subject_len, html, html_len, text, text_len,
	    (unsigned long long)now)) == -1)
		return -1;
	return db_cmd_int(db, &v, "HINCRBY %s version 1", k.s);
}

/* The campaign's id in *camp: 1, 0 when there is none yet, -1. */
static int
sysmail_lookup(struct db *db, uint64_t tenant, const char *name,
    uint64_t *camp)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	rep = db_cmd(db, "HGET %s %s", key_system_campaigns(&k, tenant), name);
	if (rep == NULL || reply_is_error(rep, NULL)) {
		freeReplyObject(rep);
		return -1;
	}
	rc = reply_str(rep, NULL) == NULL ? 0 : reply_u64(rep, camp) == 0;
	freeReplyObject(rep);
	return rc;
}

/* Makes the campaign of s, and its template when it has its own. */
static int
sysmail_create(struct db *db, uint64_t tenant, const struct sysmail_spec *s,
    uint64_t now, uint64_t *camp)
{
	struct system_campaign	 c;
	struct key		 k;
	uint64_t		 tpl = s->template_id;
	long long		 won;

	if (store_tenant_next_id(db, tenant, "campaign", camp) == -1)
		return -1;
	if (tpl == 0 && (store_tenant_next_id(db, tenant, "template", &tpl) ==
	    -1 || store_system_template_put(db, tenant, tpl, s->name,
	    s->subject, strlen(s->subject), s->html, strlen(s->html), s->text,
	    strlen(s->text), now) == -1))
		return -1;
	memset(&c, 0, sizeof(c));
	c.name = s->name;
	c.kind = s->kind;
	c.template_id = tpl;
	c.from = s->from;
	c.owner_field = "sysmail";
	c.owner = 1;
	c.subject_prefix = s->subject_prefix;
	if (store_system_campaign_put(db, tenant, *camp, &c, now) == -1)
		return -1;
	/* Two requests may make one each at once: the first named wins,
	 * the other's is left unnamed and never started (no sender looks
	 * at it; the tenant's purge takes it). */
	if (db_cmd_int(db, &won, "HSETNX %s %s %llu", key_system_campaigns(&k,
	    tenant), s->name, (unsigned long long)*camp) == -1)
		return -1;
	if (!won)
		return sysmail_lookup(db, tenant, s->name, camp) == 1 ? 0 : -1;
	return store_sending_add(db, tenant, *camp);
}

int
store_sysmail_campaign(struct db *db, uint64_t tenant,
    const struct sysmail_spec *s, uint64_t now, uint64_t *camp)
{
	redisReply	*rep;
	struct key	 k, t;
	const char	*from, *tv;
	uint64_t	 tpl = 0;
	long long	 v;
	int		 rc, same;

	if ((rc = sysmail_lookup(db, tenant, s->name, camp)) == -1)
		return -1;
	if (rc == 0)
		return sysmail_create(db, tenant, s, now, camp);
	rep = db_cmd(db, "HMGET %s from template_id", key_campaign(&k, tenant,
	    *camp));
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2) {
		freeReplyObject(rep);
		return -1;
	}
	from = reply_str(rep->element[0], NULL);
	tv = reply_str(rep->element[1], NULL);
	if (from == NULL || tv == NULL) {
		/* Its record is gone (a purge under way): a new one. */
		freeReplyObject(rep);
		if (reply_done(db_cmd(db, "HDEL %s %s",
		    key_system_campaigns(&k, tenant), s->name)) == -1)
			return -1;
		return sysmail_create(db, tenant, s, now, camp);
	}
	same = strcmp(from, s->from != NULL ? s->from : "") == 0;
	(void)parse_u64(tv, strlen(tv), &tpl);
	freeReplyObject(rep);
	if (same)
		return 0;
	/* The senders read a campaign's record again only with a new
	 * template version. */
	if (reply_done(db_cmd(db, "HSET %s from %s", k.s, s->from != NULL ?
	    s->from : "")) == -1)
		return -1;
	return tpl == 0 ? 0 : db_cmd_int(db, &v, "HINCRBY %s version 1",
	    key_template(&t, tenant, tpl));
}

int
store_sysmail_queue(struct db *db, uint64_t tenant, uint64_t camp,
    const struct sysmail_to *to, uint64_t *id)
{
	struct key	k;

	if (store_tenant_next_id(db, tenant, "contact", id) == -1)
		return -1;
	/* The fields send_check.lua reads of a contact, and ours. */
	if (reply_done(db_cmd(db, "HSET %s email %s key %s first_name %s "
	    "last_name %s attributes %s transactional %d",
	    key_sysmail(&k, tenant, *id), to->email, to->key,
	    to->first_name ? to->first_name : "",
	    to->last_name ? to->last_name : "",
	    to->attributes ? to->attributes : "", to->transactional)) == -1 ||
	    reply_done(db_cmd(db, "EXPIRE %s %d", k.s, to->ttl_s > 0 &&
	    to->ttl_s < SYSMAIL_TTL_S ? to->ttl_s : SYSMAIL_TTL_S)) == -1)
		return -1;
	return store_queue_add_one(db, tenant, camp, *id);
}

int
store_sysmail_forget(struct db *db, uint64_t tenant, uint64_t id)
{
	struct key	k;

	return reply_done(db_cmd(db, "UNLINK %s", key_sysmail(&k, tenant,
	    id)));
}

int
store_sysmail_suppressed(struct db *db, uint64_t tenant, const char *key,
    const char **why)
{
	redisReply	*rep;
	struct key	 k;
	uint64_t	 at;
	int		 rc;

	*why = NULL;
	if ((rc = store_optout_check(db, tenant, key, 0)) != 0) {
		*why = "opted_out";
		return rc == 1 ? 0 : -1;
	}
	if ((rc = store_blocklist_match(db, tenant, key)) != 0) {
		*why = "blocklisted";
		return rc == 1 ? 0 : -1;
	}
	if ((rc = store_bounce_time(db, tenant, key, &at)) != 0) {
		*why = "bounced";
		return rc == 1 ? 0 : -1;
	}
	rep = db_cmd(db, "ZSCORE %s %s", key_complaints(&k, tenant), key);
	if (rep == NULL || reply_is_error(rep, NULL)) {
		freeReplyObject(rep);
		return -1;
	}
	if (rep->type != REDIS_REPLY_NIL)
		*why = "complained";
	freeReplyObject(rep);
	return 0;
}
