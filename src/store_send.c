/*
 * store_send.c: what sending does to a campaign in Redis (store_send.h
 * says what each function answers).  Each script's KEYS and ARGV are
 * built here in the order its header comment (src/lua/send_*.lua)
 * gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "store_send.h"

/* rep when it is an answer; NULL, rep freed (and logged when Redis said
 * why), when Redis failed. */
static redisReply *
script_answer(redisReply *rep, enum script_id id, uint64_t tenant,
    uint64_t campaign)
{
	if (rep == NULL || !reply_is_error(rep, NULL))
		return rep;
	log_warnx("campaign %llu of tenant %llu: %s: %.*s",
	    (unsigned long long)campaign, (unsigned long long)tenant,
	    script_name(id), (int)rep->len, rep->str);
	freeReplyObject(rep);
	return NULL;
}

/* ------------------------------------------------------------- check */

/* A recipient of send_check.lua's reply: its id, then its fields. */
#define CHECK_STRIDE	(1 + SEND_CHECK_FIELDS)

/* Where a campaign's recipients are read from: contacts, a form's
 * pending sign-ups, a system campaign's account mails. */
enum send_source {
	SOURCE_CONTACTS,
	SOURCE_SIGNUPS,
	SOURCE_SYSMAIL
};

static int	send_check(struct db *, uint64_t, uint64_t, const uint64_t *,
		    size_t, struct send_check *, enum send_source);

int
store_send_check(struct db *db, uint64_t tenant, uint64_t campaign,
    const uint64_t *ids, size_t nids, struct send_check *c)
{
	return send_check(db, tenant, campaign, ids, nids, c,
	    SOURCE_CONTACTS);
}

int
store_send_check_signups(struct db *db, uint64_t tenant, uint64_t campaign,
    const uint64_t *ids, size_t nids, struct send_check *c)
{
	return send_check(db, tenant, campaign, ids, nids, c, SOURCE_SIGNUPS);
}

int
store_send_check_sysmail(struct db *db, uint64_t tenant, uint64_t campaign,
    const uint64_t *ids, size_t nids, struct send_check *c)
{
	return send_check(db, tenant, campaign, ids, nids, c, SOURCE_SYSMAIL);
}

static int
send_check(struct db *db, uint64_t tenant, uint64_t campaign,
    const uint64_t *ids, size_t nids, struct send_check *c,
    enum send_source source)
{
	const char		*argv[3 + 9 + 2 * SEND_CHECK_MAX];
	size_t			 lens[3 + 9 + 2 * SEND_CHECK_MAX];
	struct key		 keys[9], ck[SEND_CHECK_MAX];
	char			 idv[SEND_CHECK_MAX][24], nk[24];
	redisReply		*rep;
	const redisReply	*e;
	struct send_recipient	*r;
	const char		*first, *v;
	uint64_t		 id;
	size_t			 i, j, len, need, off;
	int			 argc = 2, rc = -1;

	c->stop = 0;
	c->nto = 0;
	if (nids > SEND_CHECK_MAX)
		return -1;
	/* KEYS: 9 of the campaign and tenant, then one contact per id. */
	key_campaign(&keys[0], tenant, campaign);
	key_tenant(&keys[1], tenant);
	key_campaign_done(&keys[2], tenant, campaign);
	key_optouts(&keys[3], tenant);
	key_optout_ids(&keys[4], tenant);
	key_blocklist(&keys[5], tenant);
	key_bounces(&keys[6], tenant);
	key_campaign_retry(&keys[7], tenant, campaign);
	key_complaints(&keys[8], tenant);
	argv[argc] = nk;
	lens[argc++] = (size_t)snprintf(nk, sizeof(nk), "%zu", 9 + nids);
	for (i = 0; i < 9; i++) {
		argv[argc] = keys[i].s;
		lens[argc++] = keys[i].len;
	}
	for (i = 0; i < nids; i++) {
		if (source == SOURCE_SIGNUPS)
			key_signup(&ck[i], tenant, ids[i]);
		else if (source == SOURCE_SYSMAIL)
			key_sysmail(&ck[i], tenant, ids[i]);
		else
			key_contact(&ck[i], tenant, ids[i]);
		argv[argc] = ck[i].s;
		lens[argc++] = ck[i].len;
	}
	for (i = 0; i < nids; i++) {
		argv[argc] = idv[i];
		lens[argc++] = (size_t)snprintf(idv[i], sizeof(idv[i]), "%llu",
		    (unsigned long long)ids[i]);
	}
	if ((rep = script_answer(script_run(db, SCRIPT_SEND_CHECK, argc, argv,
	    lens), SCRIPT_SEND_CHECK, tenant, campaign)) == NULL)
		return -1;
	/* {"stop", why} or {"ok", id, fields..., id, fields...}. */
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    (first = reply_str(rep->element[0], NULL)) == NULL)
		goto out;
	rc = 0;
	if (strcmp(first, "stop") == 0) {
		c->stop = 1;
		goto out;
	}

	/* One piece of memory for every field, kept for the next check. */
	need = 0;
	for (i = 1; i < rep->elements; i++)
		need += (reply_str(rep->element[i], &len) ? len : 0) + 1;
	if (need > c->text_cap) {
		c->text = xreallocarray(c->text, need, 1);
		c->text_cap = need;
	}
	if (c->to == NULL)
		c->to = xcalloc(SEND_CHECK_MAX, sizeof(*c->to));
	off = 0;
	for (i = 1; i + CHECK_STRIDE <= rep->elements &&
	    c->nto < SEND_CHECK_MAX; i += CHECK_STRIDE) {
		if (reply_u64(rep->element[i], &id) == -1)
			continue;
		r = &c->to[c->nto++];
		r->id = id;
		for (j = 0; j < SEND_CHECK_FIELDS; j++) {
			e = rep->element[i + 1 + j];
			if ((v = reply_str(e, &len)) == NULL) {
				v = "";
				len = 0;
			}
			memcpy(c->text + off, v, len);
			c->text[off + len] = '\0';
			r->field[j] = c->text + off;
			r->len[j] = len;
			off += len + 1;
		}
	}
out:
	freeReplyObject(rep);
	return rc;
}

void
store_send_check_free(struct send_check *c)
{
	free(c->to);
	free(c->text);
	memset(c, 0, sizeof(*c));
}

/* ----------------------------------------------------------- outcome */

/* send_outcome.lua's call, argv[0] and argv[1] left for script_argv. */
struct outcome_call {
	const char	*argv[3 + 10 + 8 + FF_MAX_RETRIES];
	size_t		 lens[3 + 10 + 8 + FF_MAX_RETRIES];
	int		 argc;
	struct key	 k[10];
	char		 id[24], now[24], life[24], camp[24];
	char		 event_id[EVENT_ID_MAX];
	char		*event;		/* the partial JSON, or NULL */
	char		 schedule[FF_MAX_RETRIES][16];
};

static void
outcome_call(struct outcome_call *call, const struct send_outcome *o)
{
	size_t	i, n;
	int	argc = 2;

	/* KEYS: camp, done, retry, tries, bounces, tenant, contact, msgs,
	 * events, ab (an A/B test's variant map: sent per variant). */
	key_campaign(&call->k[0], o->tenant, o->campaign);
	key_campaign_done(&call->k[1], o->tenant, o->campaign);
	key_campaign_retry(&call->k[2], o->tenant, o->campaign);
	key_campaign_tries(&call->k[3], o->tenant, o->campaign);
	key_bounces(&call->k[4], o->tenant);
	key_tenant(&call->k[5], o->tenant);
	key_contact(&call->k[6], o->tenant, o->contact);
	key_campaign_msgs(&call->k[7], o->tenant, o->campaign);
	key_events(&call->k[8], o->tenant);
	key_campaign_ab(&call->k[9], o->tenant, o->campaign);
	call->argv[argc] = "10";
	call->lens[argc++] = 2;
	for (i = 0; i < 10; i++) {
		call->argv[argc] = call->k[i].s;
		call->lens[argc++] = call->k[i].len;
	}
	/* ARGV: id, outcome, key, now, lifetime, then the schedule. */
	call->argv[argc] = call->id;
	call->lens[argc++] = (size_t)snprintf(call->id, sizeof(call->id),
	    "%llu", (unsigned long long)o->contact);
	call->argv[argc] = &o->what;
	call->lens[argc++] = 1;
	call->argv[argc] = o->key;
	call->lens[argc++] = strnlen(o->key, o->key_len < FF_EMAIL_MAX ?
	    o->key_len : FF_EMAIL_MAX);
	call->argv[argc] = call->now;
	call->lens[argc++] = (size_t)snprintf(call->now, sizeof(call->now),
	    "%llu", (unsigned long long)o->now_ms);
	call->argv[argc] = call->life;
	call->lens[argc++] = (size_t)snprintf(call->life, sizeof(call->life),
	    "%llu", (unsigned long long)o->lifetime_ms);
	/* The event of a final outcome: sent, or a 5xx to RCPT with the
	 * reply's enhanced status code (the relay's words are not kept:
	 * the diagnostic is empty). */
	call->event = NULL;
	call->event_id[0] = '\0';
	if (o->what == 's' || o->what == 'b') {
		struct event_fields	ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = o->what == 's' ? EVENT_SENT : EVENT_BOUNCED;
		ev.time_ms = o->now_ms;
		ev.campaign = o->campaign;
		ev.contact = o->contact;
		if (ev.type == EVENT_BOUNCED) {
			ev.kind = "hard";
			ev.status = o->status != NULL ? o->status : "";
			ev.diagnostic = "";
		}
		if ((call->event = event_json(&ev)) != NULL)
			event_id_send(call->event_id, ev.type, o->campaign,
			    o->contact);
	}
	call->argv[argc] = call->event_id;
	call->lens[argc++] = strlen(call->event_id);
	call->argv[argc] = call->event != NULL ? call->event : "";
	call->lens[argc] = strlen(call->argv[argc]);
	argc++;
	call->argv[argc] = call->camp;
	call->lens[argc++] = (size_t)snprintf(call->camp, sizeof(call->camp),
	    "%llu", (unsigned long long)o->campaign);
	n = o->nschedule < FF_MAX_RETRIES ? o->nschedule : FF_MAX_RETRIES;
	for (i = 0; i < n; i++) {
		call->argv[argc] = call->schedule[i];
		call->lens[argc++] = (size_t)snprintf(call->schedule[i],
		    sizeof(call->schedule[i]), "%d", o->schedule[i]);
	}
	call->argc = argc;
}

int
store_send_outcome_append(struct db *db, const struct send_outcome *o,
    int full_text)
{
	struct outcome_call	call;

	int			rc = 0;

	outcome_call(&call, o);
	if (script_append(db, SCRIPT_SEND_OUTCOME, full_text, call.argc,
	    call.argv,
	    call.lens) == -1 || db_flush(db) == -1)
		rc = -1;
	free(call.event);
	return rc;
}

int
store_send_outcome_reply(struct db *db, int *noscript)
{
	redisReply	*rep;

	*noscript = 0;
	if ((rep = db_reply(db)) == NULL)
		return -1;
	if (script_is_noscript(rep))
		*noscript = 1;
	else if (reply_is_error(rep, NULL))
		log_warnx("redis: %s: %.*s", script_name(SCRIPT_SEND_OUTCOME),
		    (int)rep->len, rep->str);
	freeReplyObject(rep);
	return 0;
}

int
store_send_outcome(struct db *db, const struct send_outcome *o)
{
	struct outcome_call	 call;
	redisReply		*rep;

	/* It was found missing: the whole text at once, not EVALSHA. */
	outcome_call(&call, o);
	script_argv(SCRIPT_SEND_OUTCOME, 1, call.argv, call.lens);
	rep = db_cmdargv(db, call.argc, call.argv, call.lens);
	free(call.event);
	if ((rep = script_answer(rep, SCRIPT_SEND_OUTCOME, o->tenant,
	    o->campaign)) == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

/* ------------------------------------------------------ retry, finish */

/* send_retry.lua or send_finish.lua: its integer answer, or -1. */
static long long
queue_script(struct db *db, enum script_id id, uint64_t tenant,
    uint64_t campaign, uint64_t now_ms)
{
	const char	*argv[9];
	size_t		 lens[9];
	struct key	 camp, q, retry, later, rest;
	char		 now[24];
	redisReply	*rep;
	long long	 n;

	/* KEYS: send_retry's camp, retry, q; send_finish's camp, q, retry;
	 * both then later and ab_rest (schedules, A/B tests).  ARGV: now. */
	key_campaign(&camp, tenant, campaign);
	key_campaign_queue(&q, tenant, campaign);
	key_campaign_retry(&retry, tenant, campaign);
	argv[2] = "5";
	lens[2] = 1;
	argv[3] = camp.s;
	lens[3] = camp.len;
	argv[4] = id == SCRIPT_SEND_RETRY ? retry.s : q.s;
	lens[4] = id == SCRIPT_SEND_RETRY ? retry.len : q.len;
	argv[5] = id == SCRIPT_SEND_RETRY ? q.s : retry.s;
	lens[5] = id == SCRIPT_SEND_RETRY ? q.len : retry.len;
	argv[6] = key_campaign_later(&later, tenant, campaign);
	lens[6] = later.len;
	argv[7] = key_campaign_ab_rest(&rest, tenant, campaign);
	lens[7] = rest.len;
	argv[8] = now;
	lens[8] = (size_t)snprintf(now, sizeof(now), "%llu",
	    (unsigned long long)now_ms);
	if ((rep = script_answer(script_run(db, id, 9, argv, lens), id,
	    tenant, campaign)) == NULL)
		return -1;
	if (reply_int(rep, &n) == -1)
		n = -1;
	freeReplyObject(rep);
	return n;
}

long long
store_send_retry_due(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t now_ms)
{
	return queue_script(db, SCRIPT_SEND_RETRY, tenant, campaign, now_ms);
}

int
store_send_finish(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t now_ms)
{
	long long	n;

	if ((n = queue_script(db, SCRIPT_SEND_FINISH, tenant, campaign,
	    now_ms)) == -1)
		return -1;
	return n == 1;
}

/* ------------------------------------------------------- retention */

#define TRIM_PAGE	1000	/* message records a round trip */

/* HDELs the records of one HSCAN page older than cutoff: the count, or
 * -1; *cursor moves on (0 at the end). */
static long long
trim_page(struct db *db, const struct key *msgs, char *cursor, size_t cap,
    uint64_t cutoff)
{
	redisReply		*rep, *del;
	const char		*f, *v, *c;
	size_t			 i = 0, flen, vlen, clen;
	long long		 n = 0, d;
	uint64_t		 at;

	if ((rep = db_cmd(db, "HSCAN %s %s COUNT %d", msgs->s, cursor,
	    TRIM_PAGE)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    (c = reply_str(rep->element[0], &clen)) == NULL || clen >= cap) {
		freeReplyObject(rep);
		return -1;
	}
	memcpy(cursor, c, clen);
	cursor[clen] = '\0';
	while (reply_hash_next(rep->element[1], &i, &f, &flen, &v, &vlen)) {
		/* "TIME OUTCOME": the time is what decides. */
		at = strtoull(v, NULL, 10);
		if (at >= cutoff)
			continue;
		if ((del = db_cmd(db, "HDEL %s %b", msgs->s, f, flen)) ==
		    NULL) {
			freeReplyObject(rep);
			return -1;
		}
		if (reply_int(del, &d) == 0)
			n += d;
		freeReplyObject(del);
	}
	freeReplyObject(rep);
	return n;
}

long long
store_send_trim_messages(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t cutoff_ms)
{
	redisReply	*rep;
	struct key	 camp, msgs;
	const char	*fin, *launched;
	char		 cursor[32] = "0";
	long long	 n = 0, page;
	uint64_t	 finished = 0, start = 0;

	if ((rep = db_cmd(db, "HMGET %s finished_at launched_at",
	    key_campaign(&camp, tenant, campaign))) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
		if ((fin = reply_str(rep->element[0], NULL)) != NULL)
			finished = strtoull(fin, NULL, 10);
		if ((launched = reply_str(rep->element[1], NULL)) != NULL)
			start = strtoull(launched, NULL, 10);
	}
	freeReplyObject(rep);
	key_campaign_msgs(&msgs, tenant, campaign);
	/* Every record is older than the end of its campaign: past the
	 * cutoff, all of them go at once. */
	if (finished != 0 && finished < cutoff_ms) {
		if ((rep = db_cmd(db, "HLEN %s", msgs.s)) == NULL)
			return -1;
		(void)reply_int(rep, &n);
		freeReplyObject(rep);
		if (n > 0 && reply_done(db_cmd(db, "UNLINK %s", msgs.s)) == -1)
			return -1;
		return n;
	}
	/* Not finished (sending, paused or cancelled) but launched before
	 * the cutoff: record by record. */
	if (start == 0 || start >= cutoff_ms)
		return 0;
	do {
		if ((page = trim_page(db, &msgs, cursor, sizeof(cursor),
		    cutoff_ms)) == -1)
			return -1;
		n += page;
	} while (strcmp(cursor, "0") != 0);
	return n;
}
