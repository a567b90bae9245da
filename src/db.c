/*
 * db.c: the API's synchronous Redis connection.  The API runs on the
 * main thread, never on a tracking worker, so a blocking round trip here
 * delays other API calls only; the tracking hot path uses store.c.
 *
 * A lost connection is noticed by the command that fails (it returns
 * NULL, the handler answers 503) and reopened by the next command.
 * Replies belong to the caller: freeReplyObject() them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"

#define DB_TIMEOUT_S	5

struct db {
	const struct ff_endpoint *ep;
	redisContext		 *rc;
	int			  pending;	/* appended, not read */
};

struct db *
db_open(const struct ff_endpoint *ep)
{
	struct db	*db = xcalloc(1, sizeof(*db));

	db->ep = ep;
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->rc != NULL)
		redisFree(db->rc);
	free(db);
}

static void
db_drop(struct db *db, const char *why)
{
	log_warnx("api: redis: %s", why);
	redisFree(db->rc);
	db->rc = NULL;
	db->pending = 0;
}

static int
db_connect(struct db *db)
{
	struct timeval	tv = { DB_TIMEOUT_S, 0 };

	if (db->rc != NULL)
		return 0;
	if (db->ep->unix_path != NULL)
		db->rc = redisConnectUnixWithTimeout(db->ep->unix_path, tv);
	else
		db->rc = redisConnectWithTimeout(db->ep->host, db->ep->port, tv);
	if (db->rc == NULL)
		return -1;
	if (db->rc->err) {
		db_drop(db, db->rc->errstr);
		return -1;
	}
	redisSetTimeout(db->rc, tv);
	return 0;
}

redisReply *
db_cmd(struct db *db, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	if (db_connect(db) == -1)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(db->rc, fmt, ap);
	va_end(ap);
	if (r == NULL)
		db_drop(db, db->rc->errstr);
	return r;
}

redisReply *
db_cmdargv(struct db *db, int argc, const char **argv, const size_t *lens)
{
	redisReply	*r;

	if (db_connect(db) == -1)
		return NULL;
	r = redisCommandArgv(db->rc, argc, argv, lens);
	if (r == NULL)
		db_drop(db, db->rc->errstr);
	return r;
}

/* Pipelining: append commands, then read their replies in order. */
int
db_append(struct db *db, const char *fmt, ...)
{
	va_list	ap;
	int	rc;

	if (db_connect(db) == -1)
		return -1;
	va_start(ap, fmt);
	rc = redisvAppendCommand(db->rc, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK) {
		/* The context keeps the error: start over on a new one. */
		db_drop(db, db->rc->errstr);
		return -1;
	}
	db->pending++;
	return 0;
}

int
db_appendargv(struct db *db, int argc, const char **argv, const size_t *lens)
{
	if (db_connect(db) == -1)
		return -1;
	if (redisAppendCommandArgv(db->rc, argc, argv, lens) != REDIS_OK) {
		db_drop(db, db->rc->errstr);
		return -1;
	}
	db->pending++;
	return 0;
}

/* Pushes what db_append queued to Redis now, without waiting for the
 * replies (db_reply reads them later). */
int
db_flush(struct db *db)
{
	int	done = 0;

	if (db->rc == NULL)
		return -1;
	while (!done)
		if (redisBufferWrite(db->rc, &done) == REDIS_ERR) {
			db_drop(db, db->rc->errstr);
			return -1;
		}
	return 0;
}

/* The next pipelined reply, or NULL when the connection failed (then
 * every later db_reply of the batch returns NULL too). */
redisReply *
db_reply(struct db *db)
{
	void	*r = NULL;

	if (db->rc == NULL || db->pending == 0)
		return NULL;
	if (redisGetReply(db->rc, &r) != REDIS_OK) {
		db_drop(db, db->rc->errstr);
		return NULL;
	}
	db->pending--;
	return r;
}

/* Reads and drops the replies still due (after an early error). */
void
db_discard(struct db *db)
{
	redisReply	*r;

	while (db->pending > 0 && (r = db_reply(db)) != NULL)
		freeReplyObject(r);
}

/* Deletes every key with one of the given prefixes (SCAN MATCH, UNLINK
 * in batches); returns the count or -1 on a Redis failure. */
long long
db_unlink_prefix(struct db *db, const char *match)
{
	redisReply	*r, *u;
	char		 cursor[32] = "0";
	long long	 total = 0;
	size_t		 i;

	do {
		if ((r = db_cmd(db, "SCAN %s MATCH %s COUNT 1000", cursor,
		    match)) == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2) {
			if (r != NULL)
				freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (i = 0; i < r->element[1]->elements; i++) {
			u = db_cmd(db, "UNLINK %b", r->element[1]->element[i]->str,
			    r->element[1]->element[i]->len);
			if (u == NULL) {
				freeReplyObject(r);
				return -1;
			}
			total += u->type == REDIS_REPLY_INTEGER ? u->integer : 0;
			freeReplyObject(u);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return total;
}

static long long
hash_get(const redisReply *r, const char *field)
{
	size_t	i;

	for (i = 0; i + 1 < r->elements; i += 2)
		if (strcmp(r->element[i]->str, field) == 0)
			return strtoll(r->element[i + 1]->str, NULL, 10);
	return 0;
}

static int
link_cmp(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "link"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "link"));

	return x < y ? -1 : x > y;
}

/* An element of an HMGET reply as a number; 0 when missing. */
static long long
hmget_num(const redisReply *r, size_t i)
{
	if (i >= r->elements || r->element[i]->type != REDIS_REPLY_STRING)
		return 0;
	return strtoll(r->element[i]->str, NULL, 10);
}

/*
 * The stats object of API.md for one campaign; NULL if Redis failed.
 * Delivery counts are the senders', in the campaign hash (the tenant's
 * slot; "delivered" is what the relay accepted, i.e. sent); the tracking
 * counts are in {t:T:c:C}, another slot: separate commands, pipelined.
 */
json_t *
db_campaign_stats(struct db *db, uint64_t tenant, uint64_t campaign)
{
	redisReply	*stats, *links, *camp;
	json_t		*o, *by_link, *by_country, **items;
	size_t		 i, n = 0;
	struct key	 k;
	char		 field[48];

	if (db_append(db, "HGETALL %s",
	    key_camp_stats(&k, tenant, campaign)) == -1 ||
	    db_append(db, "HGETALL %s",
	    key_camp_links(&k, tenant, campaign)) == -1 ||
	    db_append(db, "HMGET %s sent bounced",
	    key_campaign(&k, tenant, campaign)) == -1)
		return NULL;
	stats = db_reply(db);
	links = db_reply(db);
	camp = db_reply(db);
	if (stats == NULL || links == NULL || camp == NULL || stats->type !=
	    REDIS_REPLY_ARRAY || links->type != REDIS_REPLY_ARRAY ||
	    camp->type != REDIS_REPLY_ARRAY) {
		if (stats != NULL)
			freeReplyObject(stats);
		if (links != NULL)
			freeReplyObject(links);
		if (camp != NULL)
			freeReplyObject(camp);
		return NULL;
	}
	items = xcalloc(links->elements / 2 + 1, sizeof(*items));
	for (i = 0; i + 1 < links->elements; i += 2) {
		const char *idx = links->element[i]->str;

		snprintf(field, sizeof(field), "link:%s", idx);
		items[n] = json_pack("{s:I, s:s, s:I}", "link",
		    (json_int_t)strtoll(idx, NULL, 10), "url",
		    links->element[i + 1]->str, "total",
		    (json_int_t)hash_get(stats, field));
		snprintf(field, sizeof(field), "link_unique:%s", idx);
		json_object_set_new(items[n], "unique",
		    json_integer(hash_get(stats, field)));
		n++;
	}
	qsort(items, n, sizeof(items[0]), link_cmp);
	by_link = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(by_link, items[i]);
	free(items);
	by_country = json_object();
	for (i = 0; i + 1 < stats->elements; i += 2) {
		const char *f = stats->element[i]->str;

		if (strncmp(f, "country:", 8) == 0)
			json_object_set_new(by_country, f + 8, json_integer(
			    strtoll(stats->element[i + 1]->str, NULL, 10)));
	}
	o = json_pack("{s:I, s:I, s:I, s:{s:I, s:I, s:I}, "
	    "s:{s:I, s:I, s:I, s:o}, s:I, s:o}",
	    "sent", (json_int_t)hmget_num(camp, 0),
	    "delivered", (json_int_t)hmget_num(camp, 0),
	    "bounced", (json_int_t)hmget_num(camp, 1),
	    "opens",
	    "total", (json_int_t)hash_get(stats, "opens"),
	    "unique", (json_int_t)hash_get(stats, "opens_unique"),
	    "machine", (json_int_t)hash_get(stats, "opens_machine"),
	    "clicks",
	    "total", (json_int_t)hash_get(stats, "clicks"),
	    "unique", (json_int_t)hash_get(stats, "clicks_unique"),
	    "machine", (json_int_t)hash_get(stats, "clicks_machine"),
	    "by_link", by_link,
	    "unsubscribes", (json_int_t)hash_get(stats, "unsubscribes"),
	    "by_country", by_country);
	freeReplyObject(stats);
	freeReplyObject(links);
	freeReplyObject(camp);
	return o;
}
