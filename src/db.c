/*
 * db.c: a campaign's stats object (API.md), read from Redis through the
 * synchronous connection (redis_sync.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"

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
