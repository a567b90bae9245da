/*
 * store_webhook.c: webhook endpoints and their deliveries in Redis
 * (store_webhook.h says what each key holds).  Every key but the global
 * list ff:webhooks is in the tenant's {t:T} slot, with its event log,
 * so a tenant purge's SCAN takes them with the rest, and the consumer
 * group lives and dies with the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "store_webhook.h"
#include "webhook.h"

#define LOG_MAXLEN	1000	/* delivery log entries per endpoint */

/* The consumer group of endpoint id, and its one consumer: the lease
 * says which node reads, so a node that takes over finds the pending
 * entries of the one before under the same name. */

void
store_webhook_rec_free(struct webhook_rec *r)
{
	free(r->url);
	free(r->secret);
	free(r->old_secret);
	memset(r, 0, sizeof(*r));
}

static int
rec_decode(uint64_t id, const char *text, size_t len, struct webhook_rec *r)
{
	json_t		*doc, *v;
	const char	*s;
	size_t		 i;
	enum event_type	 t;

	memset(r, 0, sizeof(*r));
	if ((doc = json_loadb(text, len, 0, NULL)) == NULL)
		return -1;
	r->id = id;
	if ((s = json_string_value(json_object_get(doc, "url"))) == NULL ||
	    json_string_value(json_object_get(doc, "secret")) == NULL) {
		json_decref(doc);
		return -1;
	}
	r->url = xstrdup(s);
	r->secret = xstrdup(json_string_value(json_object_get(doc, "secret")));
	if ((s = json_string_value(json_object_get(doc, "old_secret"))) !=
	    NULL)
		r->old_secret = xstrdup(s);
	json_array_foreach(json_object_get(doc, "events"), i, v) {
		if ((s = json_string_value(v)) != NULL &&
		    event_type_parse(s, json_string_length(v), &t) == 0)
			r->mask |= 1u << t;
	}
	r->enabled = !json_is_false(json_object_get(doc, "enabled"));
	r->old_until = (uint64_t)json_integer_value(json_object_get(doc,
	    "old_until"));
	r->created_at = (uint64_t)json_integer_value(json_object_get(doc,
	    "created_at"));
	r->updated_at = (uint64_t)json_integer_value(json_object_get(doc,
	    "updated_at"));
	json_decref(doc);
	return 0;
}

static char *
rec_encode(const struct webhook_rec *r)
{
	json_t	*doc;
	char	*text;

	doc = json_pack("{s:s, s:o, s:b, s:s, s:I, s:I}", "url", r->url,
	    "events", webhook_types_json(r->mask), "enabled", r->enabled,
	    "secret", r->secret, "created_at", (json_int_t)r->created_at,
	    "updated_at", (json_int_t)r->updated_at);
	if (doc == NULL)
		return NULL;
	if (r->old_secret != NULL) {
		json_object_set_new(doc, "old_secret",
		    json_string(r->old_secret));
		json_object_set_new(doc, "old_until",
		    json_integer((json_int_t)r->old_until));
	}
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

int
store_webhook_put(struct db *db, uint64_t tenant,
    const struct webhook_rec *r)
{
	redisReply	*rep;
	struct key	 k;
	char		*text, idbuf[24];
	int		 rc;

	if ((text = rec_encode(r)) == NULL)
		return -1;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)r->id);
	rep = db_cmd(db, "HSET %s %s %s", key_webhooks(&k, tenant), idbuf,
	    text);
	rc = reply_ok(rep) ? 0 : -1;
	freeReplyObject(rep);
	free(text);
	return rc;
}

/* The endpoint's delivery cursor at the log's end: it takes the events
 * that come after it was made. */
static int
cursor_init(struct db *db, uint64_t tenant, uint64_t id)
{
	redisReply	*rep;
	struct key	 k, st;
	const char	*last = "0-0", *s;
	size_t		 len;
	int		 rc;

	rep = db_cmd(db, "XREVRANGE %s + - COUNT 1", key_events(&k, tenant));
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	if (rep->elements == 1 && rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements == 2 &&
	    (s = reply_str(rep->element[0]->element[0], &len)) != NULL)
		last = s;
	rc = reply_done(db_cmd(db, "HSET %s cursor %s",
	    key_webhook_state(&st, tenant, id), last));
	freeReplyObject(rep);
	return rc;
}

int
store_webhook_create(struct db *db, uint64_t tenant, struct webhook_rec *r)
{
	if (cursor_init(db, tenant, r->id) == -1 ||
	    store_webhook_put(db, tenant, r) == -1)
		return -1;
	return reply_done(db_cmd(db, "SADD %s %llu:%llu", key_webhooks_all(),
	    (unsigned long long)tenant, (unsigned long long)r->id));
}

int
store_webhook_count(struct db *db, uint64_t tenant, long long *n)
{
	struct key	k;

	return db_cmd_int(db, n, "HLEN %s", key_webhooks(&k, tenant));
}

int
store_webhook_get(struct db *db, uint64_t tenant, uint64_t id,
    struct webhook_rec *r)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc;

	memset(r, 0, sizeof(*r));
	rep = db_cmd(db, "HGET %s %llu", key_webhooks(&k, tenant),
	    (unsigned long long)id);
	if (rep == NULL || reply_is_error(rep, ""))
		rc = -1;
	else if ((s = reply_str(rep, &len)) == NULL)
		rc = 0;
	else if (rec_decode(id, s, len, r) == -1) {
		log_warnx("tenant %llu: webhook %llu: the stored endpoint is "
		    "damaged", (unsigned long long)tenant,
		    (unsigned long long)id);
		rc = 0;
	} else
		rc = 1;
	freeReplyObject(rep);
	return rc;
}

static int
rec_cmp(const void *a, const void *b)
{
	const struct webhook_rec *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

int
store_webhook_list(struct db *db, uint64_t tenant, struct webhook_rec **recs,
    size_t *n)
{
	redisReply	*rep;
	struct key	 k;
	const char	*f, *v;
	size_t		 i = 0, flen, vlen;
	uint64_t	 id;

	*recs = NULL;
	*n = 0;
	rep = db_cmd(db, "HGETALL %s", key_webhooks(&k, tenant));
	if (rep == NULL || reply_is_error(rep, "")) {
		freeReplyObject(rep);
		return -1;
	}
	while (reply_hash_next(rep, &i, &f, &flen, &v, &vlen) == 1) {
		if (parse_u64(f, flen, &id) == -1)
			continue;
		*recs = xreallocarray(*recs, *n + 1, sizeof(**recs));
		if (rec_decode(id, v, vlen, &(*recs)[*n]) == 0)
			(*n)++;
	}
	freeReplyObject(rep);
	if (*n > 1)
		qsort(*recs, *n, sizeof(**recs), rec_cmp);
	return 0;
}

int
store_webhook_delete(struct db *db, uint64_t tenant, uint64_t id)
{
	struct key	k;
	long long	removed;

	if (db_cmd_int(db, &removed, "HDEL %s %llu", key_webhooks(&k, tenant),
	    (unsigned long long)id) == -1)
		return -1;
	if (removed == 0)
		return 0;
	if (reply_done(db_cmd(db, "UNLINK %s", key_webhook_state(&k, tenant,
	    id))) == -1 ||
	    reply_done(db_cmd(db, "UNLINK %s", key_webhook_lease(&k, tenant,
	    id))) == -1 ||
	    reply_done(db_cmd(db, "UNLINK %s", key_webhook_log(&k, tenant,
	    id))) == -1)
		return -1;
	if (store_webhook_forget(db, tenant, id) == -1)
		return -1;
	return 1;
}

static void
state_field(void *arg, const char *f, size_t flen, const char *v,
    size_t vlen)
{
	struct webhook_state	*s = arg;
	uint64_t		 u = 0;
	char			*dst = NULL;
	size_t			 cap = 0;

#define IS(name)	(flen == sizeof(name) - 1 && memcmp(f, name, flen) == 0)
	(void)parse_u64(v, vlen, &u);
	if (IS("attempts"))
		s->attempts = u > 1000000 ? 1000000 : (int)u;
	else if (IS("failing_since"))
		s->failing_since = u;
	else if (IS("next_at"))
		s->next_at = u;
	else if (IS("last_success"))
		s->last_success = u;
	else if (IS("last_code"))
		s->last_code = u > 999 ? 0 : (int)u;
	else if (IS("delivery")) {
		dst = s->delivery;
		cap = sizeof(s->delivery);
	} else if (IS("last_error")) {
		dst = s->last_error;
		cap = sizeof(s->last_error);
	} else if (IS("disabled_reason")) {
		dst = s->disabled_reason;
		cap = sizeof(s->disabled_reason);
	}
#undef IS
	if (dst != NULL)
		snprintf(dst, cap, "%.*s", (int)vlen, v);
}

int
store_webhook_state_get(struct db *db, uint64_t tenant, uint64_t id,
    struct webhook_state *s)
{
	struct key	k;

	memset(s, 0, sizeof(*s));
	return db_hash_each(db, key_webhook_state(&k, tenant, id), state_field,
	    s) == -1 ? -1 : 0;
}

int
store_webhook_state_reset(struct db *db, uint64_t tenant, uint64_t id)
{
	struct key	k;

	return reply_done(db_cmd(db, "HSET %s attempts 0 failing_since 0 "
	    "next_at 0 disabled_reason %s", key_webhook_state(&k, tenant, id),
	    ""));
}

int
store_webhook_all(struct db *db, uint64_t **tenants, uint64_t **ids,
    size_t *n)
{
	redisReply	*rep;
	const char	*s, *colon;
	size_t		 i, len;

	*tenants = NULL;
	*ids = NULL;
	*n = 0;
	rep = db_cmd(db, "SMEMBERS %s", key_webhooks_all());
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	*tenants = xcalloc(rep->elements + 1, sizeof(**tenants));
	*ids = xcalloc(rep->elements + 1, sizeof(**ids));
	for (i = 0; i < rep->elements; i++) {
		if ((s = reply_str(rep->element[i], &len)) == NULL ||
		    (colon = memchr(s, ':', len)) == NULL ||
		    parse_u64(s, (size_t)(colon - s), &(*tenants)[*n]) == -1 ||
		    parse_u64(colon + 1, len - (size_t)(colon - s) - 1,
		    &(*ids)[*n]) == -1)
			continue;
		(*n)++;
	}
	freeReplyObject(rep);
	return 0;
}

int
store_webhook_forget(struct db *db, uint64_t tenant, uint64_t id)
{
	return reply_done(db_cmd(db, "SREM %s %llu:%llu", key_webhooks_all(),
	    (unsigned long long)tenant, (unsigned long long)id));
}

int
store_webhook_lease(struct db *db, uint64_t tenant, uint64_t id,
    const char *node, uint64_t ms)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc;

	key_webhook_lease(&k, tenant, id);
	rep = db_cmd(db, "SET %s %s NX PX %llu", k.s, node,
	    (unsigned long long)ms);
	if (rep == NULL || reply_is_error(rep, "")) {
		freeReplyObject(rep);
		return -1;
	}
	rc = reply_ok(rep);
	freeReplyObject(rep);
	if (rc)
		return 1;
	rep = db_cmd(db, "GET %s", k.s);
	if (rep == NULL || reply_is_error(rep, "")) {
		freeReplyObject(rep);
		return -1;
	}
	s = reply_str(rep, &len);
	rc = s != NULL && len == strlen(node) && memcmp(s, node, len) == 0;
	freeReplyObject(rep);
	if (!rc)
		return 0;
	return reply_done(db_cmd(db, "PEXPIRE %s %llu", k.s,
	    (unsigned long long)ms)) == -1 ? -1 : 1;
}

int
store_webhook_read(struct db *db, uint64_t tenant, uint64_t id,
    unsigned mask, size_t count, char cursor[EVENT_POS_MAX],
    struct event_page *page)
{
	struct event_filter	 f = { mask, 0, id, 0 };
	struct key		 k;
	redisReply		*rep;
	const char		*s;
	size_t			 len;

	memset(page, 0, sizeof(*page));
	rep = db_cmd(db, "HGET %s cursor", key_webhook_state(&k, tenant, id));
	if (rep == NULL || reply_is_error(rep, "")) {
		freeReplyObject(rep);
		return -1;
	}
	/* None (its state lost): from the log's oldest, at least once. */
	cursor[0] = '\0';
	if ((s = reply_str(rep, &len)) != NULL && len < EVENT_POS_MAX) {
		memcpy(cursor, s, len);
		cursor[len] = '\0';
	}
	freeReplyObject(rep);
	if (cursor[0] != '\0') {
		struct event_pos p;

		if (event_pos_parse(cursor, &p) == -1) {
			log_warnx("tenant %llu: webhook %llu: its cursor %s is "
			    "damaged; delivering from the oldest event",
			    (unsigned long long)tenant, (unsigned long long)id,
			    cursor);
			cursor[0] = '\0';
		}
	}
	return store_event_read(db, tenant, cursor, &f, count,
	    WEBHOOK_SCAN_MAX, page);
}

int
store_webhook_ack(struct db *db, uint64_t tenant, uint64_t id,
    const char *next)
{
	struct key	k;

	if (*next == '\0')
		return 0;
	return reply_done(db_cmd(db, "HSET %s cursor %s",
	    key_webhook_state(&k, tenant, id), next));
}

int
store_webhook_outcome(struct db *db, uint64_t tenant, uint64_t id,
    const char *next, const struct webhook_state *s, const char *log,
    uint64_t retention_ms)
{
	struct key	 whs, state, wlog;
	const char	*argv[28];
	size_t		 lens[28];
	char		 idbuf[24], maxlen[24], minid[24], attempts[24];
	char		 failing[24], next_at[24], success[24], code[24];
	uint64_t	 now = now_ms();
	long long	 done = -1;
	int		 i, argc = 0;

	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	snprintf(maxlen, sizeof(maxlen), "%d", LOG_MAXLEN);
	minid[0] = '\0';
	if (retention_ms != 0 && retention_ms < now)
		snprintf(minid, sizeof(minid), "%llu",
		    (unsigned long long)(now - retention_ms));
	snprintf(attempts, sizeof(attempts), "%d", s->attempts);
	snprintf(failing, sizeof(failing), "%llu",
	    (unsigned long long)s->failing_since);
	snprintf(next_at, sizeof(next_at), "%llu",
	    (unsigned long long)s->next_at);
	snprintf(success, sizeof(success), "%llu",
	    (unsigned long long)s->last_success);
	snprintf(code, sizeof(code), "%d", s->last_code);
	argv[argc++] = NULL;		/* EVALSHA and sha: script_run's */
	argv[argc++] = NULL;
	argv[argc++] = "3";
	argv[argc++] = key_webhooks(&whs, tenant);
	argv[argc++] = key_webhook_state(&state, tenant, id);
	argv[argc++] = key_webhook_log(&wlog, tenant, id);
	argv[argc++] = idbuf;
	argv[argc++] = next;
	argv[argc++] = log;
	argv[argc++] = maxlen;
	argv[argc++] = minid;
	argv[argc++] = s->delivery;
	argv[argc++] = "attempts";
	argv[argc++] = attempts;
	argv[argc++] = "delivery";
	argv[argc++] = s->delivery;
	argv[argc++] = "failing_since";
	argv[argc++] = failing;
	argv[argc++] = "next_at";
	argv[argc++] = next_at;
	argv[argc++] = "last_success";
	argv[argc++] = success;
	argv[argc++] = "last_code";
	argv[argc++] = code;
	argv[argc++] = "last_error";
	argv[argc++] = s->last_error;
	argv[argc++] = "disabled_reason";
	argv[argc++] = s->disabled_reason;
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (script_run_int(db, SCRIPT_WEBHOOK_OUTCOME, tenant, argc, argv,
	    lens, &done) == -1)
		return -1;
	return done == 1;
}

int
store_webhook_log_page(struct db *db, uint64_t tenant, uint64_t id,
    const char *cursor, size_t limit, json_t *items, char *next,
    size_t nextlen)
{
	redisReply	*rep;
	struct key	 k;
	const char	*eid, *v;
	size_t		 i, j, eidlen, vlen;
	json_t		*d;
	char		 from[WEBHOOK_ENTRY_MAX + 2];

	next[0] = '\0';
	if (cursor != NULL)
		snprintf(from, sizeof(from), "(%s", cursor);
	else
		snprintf(from, sizeof(from), "+");
	rep = db_cmd(db, "XREVRANGE %s %s - COUNT %llu", key_webhook_log(&k,
	    tenant, id), from, (unsigned long long)limit + 1);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	for (i = 0; i < rep->elements && i < limit; i++) {
		const redisReply *e = rep->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    (eid = reply_str(e->element[0], &eidlen)) == NULL ||
		    e->element[1]->type != REDIS_REPLY_ARRAY)
			continue;
		if (rep->elements > limit && i == limit - 1)
			snprintf(next, nextlen, "%.*s", (int)eidlen, eid);
		for (j = 0; j + 1 < e->element[1]->elements; j += 2) {
			if ((v = reply_str(e->element[1]->element[j + 1],
			    &vlen)) == NULL ||
			    (d = json_loadb(v, vlen, 0, NULL)) == NULL)
				continue;
			json_array_append_new(items, d);
		}
	}
	freeReplyObject(rep);
	return 0;
}

int
store_webhook_test_add(struct db *db, uint64_t tenant, uint64_t id,
    const char *json, char *entry)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc = -1;

	/* ty "test" is no event_type: the feed skips it (store_event.c
	 * shows typed entries only), each other endpoint drops it. */
	rep = db_cmd(db, "XADD %s * e %s ty test wh %llu",
	    key_events(&k, tenant), json, (unsigned long long)id);
	if (rep != NULL && rep->type == REDIS_REPLY_STRING &&
	    (s = reply_str(rep, &len)) != NULL && len < WEBHOOK_ENTRY_MAX) {
		memcpy(entry, s, len);
		entry[len] = '\0';
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}
