/*
 * store_queue.c: a campaign's recipient queue, in Redis (store_queue.h
 * says what each function answers).  The entry's encoding, read back, is
 * entry_parse's alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_queue.h"

#define QUEUE_GROUP	"senders"

/*
 * What a reply of the queue is: 1 an answer, 0 NOGROUP (the queue is
 * gone: nothing in it), -1 when Redis failed (an error reply logged).
 * rep is not freed.
 */
static int
queue_answer(const redisReply *rep, const char *what, uint64_t tenant,
    uint64_t campaign)
{
	if (rep == NULL)
		return -1;
	if (reply_is_error(rep, "NOGROUP"))
		return 0;
	if (!reply_is_error(rep, NULL))
		return 1;
	log_warnx("campaign %llu of tenant %llu: %s: %.*s",
	    (unsigned long long)campaign, (unsigned long long)tenant, what,
	    (int)rep->len, rep->str);
	return -1;
}

/* The entry [id, [field, value, ...]] into e: 1, or 0 when r is no
 * entry.  Fields may be nil (an entry deleted meanwhile): no ids. */
static int
entry_parse(const redisReply *r, struct queue_entry *e)
{
	const redisReply	*f;
	const char		*id, *name, *ids = "", *p, *end, *comma;
	size_t			 i, len, idslen = 0;

	e->nids = 0;
	e->variant = 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    (id = reply_str(r->element[0], &len)) == NULL ||
	    len >= sizeof(e->id))
		return 0;
	memcpy(e->id, id, len);
	e->id[len] = '\0';
	f = r->element[1];
	for (i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements;
	    i += 2)
		if ((name = reply_str(f->element[i], NULL)) != NULL &&
		    strcmp(name, "ids") == 0 &&
		    (p = reply_str(f->element[i + 1], &len)) != NULL) {
			ids = p;
			idslen = len;
		} else if (name != NULL && strcmp(name, "v") == 0 &&
		    (p = reply_str(f->element[i + 1], &len)) != NULL &&
		    len == 1 && *p >= '1' && *p <= '9')
			e->variant = *p - '0';
	for (p = ids, end = ids + idslen; p < end &&
	    e->nids < QUEUE_ENTRY_IDS; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (parse_u64(p, (size_t)(comma - p), &e->ids[e->nids]) == 0)
			e->nids++;
	}
	return 1;
}

/* XREADGROUP's entries: [[stream, [entry, ...]]], nil when nothing is
 * new. */
static const redisReply *
readgroup_entries(const redisReply *rep)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 ||
	    rep->element[0]->type != REDIS_REPLY_ARRAY ||
	    rep->element[0]->elements != 2)
		return NULL;
	return rep->element[0]->element[1];
}

/* XAUTOCLAIM's: [next cursor, [entry, ...], (deleted ids)]. */
static const redisReply *
autoclaim_entries(const redisReply *rep)
{
	return rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 ?
	    rep->element[1] : NULL;
}

/*
 * Takes (frees) the queue's reply to what: -1 when Redis failed, else 0
 * (the queue gone included), but with entries_of, which finds the
 * reply's array of entries, 1 with its first entry in *e.
 */
static int
queue_take(redisReply *rep, const char *what, uint64_t tenant,
    uint64_t campaign, const redisReply *(*entries_of)(const redisReply *),
    struct queue_entry *e)
{
	const redisReply	*entries;
	int			 rc;

	if ((rc = queue_answer(rep, what, tenant, campaign)) == 1) {
		rc = 0;
		if (entries_of != NULL &&
		    (entries = entries_of(rep)) != NULL &&
		    entries->type == REDIS_REPLY_ARRAY && entries->elements > 0)
			rc = entry_parse(entries->element[0], e);
	}
	freeReplyObject(rep);
	return rc;
}

int
store_queue_read(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *consumer, enum queue_read from, struct queue_entry *e)
{
	struct key	q;

	return queue_take(db_cmd(db, "XREADGROUP GROUP " QUEUE_GROUP " %s "
	    "COUNT 1 STREAMS %s %s", consumer, key_campaign_queue(&q, tenant,
	    campaign), from == QUEUE_OWN ? "0" : ">"), "XREADGROUP", tenant,
	    campaign, readgroup_entries, e);
}

int
store_queue_claim_idle(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *consumer, uint64_t idle_ms, struct queue_entry *e)
{
	struct key	q;

	return queue_take(db_cmd(db, "XAUTOCLAIM %s " QUEUE_GROUP " %s %llu "
	    "0-0 COUNT 1", key_campaign_queue(&q, tenant, campaign), consumer,
	    (unsigned long long)idle_ms), "XAUTOCLAIM", tenant, campaign,
	    autoclaim_entries, e);
}

int
store_queue_keep(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *consumer, const char *entry)
{
	struct key	q;

	return queue_take(db_cmd(db, "XCLAIM %s " QUEUE_GROUP " %s 0 %s JUSTID",
	    key_campaign_queue(&q, tenant, campaign), consumer, entry),
	    "XCLAIM", tenant, campaign, NULL, NULL);
}

int
store_queue_keep_append(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *consumer, const char *entry)
{
	struct key	q;

	return db_append(db, "XCLAIM %s " QUEUE_GROUP " %s 0 %s JUSTID",
	    key_campaign_queue(&q, tenant, campaign), consumer, entry);
}

int
store_queue_keep_reply(struct db *db)
{
	redisReply	*rep;

	if ((rep = db_reply(db)) == NULL)
		return -1;
	/* Logged, not a failure: it only kept the entry from looking
	 * idle, and the outcome before it was written. */
	if (reply_is_error(rep, NULL) && !reply_is_error(rep, "NOGROUP"))
		log_warnx("redis: XCLAIM: %.*s", (int)rep->len, rep->str);
	freeReplyObject(rep);
	return 0;
}

int
store_queue_ack(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *entry)
{
	struct key	q;

	return queue_take(db_cmd(db, "XACK %s " QUEUE_GROUP " %s",
	    key_campaign_queue(&q, tenant, campaign), entry), "XACK", tenant,
	    campaign, NULL, NULL);
}

int
store_queue_add_one(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t contact)
{
	redisReply	*rep;
	struct key	 q, c;
	long long	 n;
	int		 ok;

	/* XADD answers the new entry's id, a string. */
	rep = db_cmd(db, "XADD %s * ids %llu try 0", key_campaign_queue(&q,
	    tenant, campaign), (unsigned long long)contact);
	ok = reply_str(rep, NULL) != NULL;
	freeReplyObject(rep);
	if (!ok)
		return -1;
	return db_cmd_int(db, &n, "HINCRBY %s queued 1", key_campaign(&c,
	    tenant, campaign));
}
