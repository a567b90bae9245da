/*
 * store_tenant.c: tenants and their API keys, in Redis (store_tenant.h
 * says what each function answers).  Every key is keys.c's; the
 * commands are built here and nowhere else.
 */
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_tenant.h"

#define TENANT_SCAN_PAGE	100

static int
id_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
store_tenant_state(struct db *db, uint64_t tenant)
{
	redisReply	*rep;
	const char	*status;
	struct key	 k;
	int		 rc = TENANT_NONE;

	if ((rep = db_cmd(db, "HGET %s status", key_tenant(&k, tenant))) ==
	    NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		rc = -1;
	else if ((status = reply_str(rep, NULL)) != NULL)
		rc = strcmp(status, "active") == 0 ? TENANT_ACTIVE :
		    TENANT_DELETING;
	freeReplyObject(rep);
	return rc;
}

int
store_tenant_create(struct db *db, const char *name, size_t name_len,
    long long retention_days, uint64_t created_at, uint64_t *out)
{
	redisReply	*rep;
	struct key	 k;
	uint64_t	 tenant;
	long long	 created = 0;

	do {
		if (RAND_bytes((unsigned char *)&tenant, sizeof(tenant)) != 1)
			fatalx("RAND_bytes");
		tenant &= (1ULL << 53) - 1;
		if (tenant == 0)
			continue;
		/* Taken (1 in 2^53 per tenant): another id. */
		rep = db_cmd(db, "HSETNX %s status active",
		    key_tenant(&k, tenant));
		if (reply_int(rep, &created) == -1) {
			freeReplyObject(rep);
			return -1;
		}
		freeReplyObject(rep);
	} while (created != 1);

	if (reply_done(db_cmd(db, "HSET %s name %b retention_days %lld "
	    "created_at %llu", key_tenant(&k, tenant), name, name_len,
	    retention_days, (unsigned long long)created_at)) == -1)
		return -1;
	/* Only the janitor's retention walks ff:tenants, and a tenant it
	 * misses keeps its data a little longer: not worth a failure. */
	(void)reply_done(db_cmd(db, "SADD %s %llu", key_tenants(),
	    (unsigned long long)tenant));
	*out = tenant;
	return 0;
}

int
store_tenant_get(struct db *db, uint64_t tenant, struct tenant *t)
{
	redisReply	*r[2], *h, *keys;
	struct key	 k;
	const char	*f, *v;
	size_t		 i, len;
	uint64_t	 u;
	int		 rc;

	memset(t, 0, sizeof(*t));
	t->id = tenant;
	t->retention_days = -1;
	if (db_append(db, "HGETALL %s", key_tenant(&k, tenant)) == -1 ||
	    db_append(db, "HKEYS %s", key_tenant_keys(&k, tenant)) == -1)
		return -1;
	if ((rc = db_reply_arrays(db, r, 2)) == -1)
		goto out;
	h = r[0];
	keys = r[1];
	for (i = 0; reply_hash_next(h, &i, &f, NULL, &v, &len);) {
		if (strcmp(f, "name") == 0 && t->name == NULL) {
			t->name = xstrndup(v, len);
			t->name_len = len;
		} else if (strcmp(f, "status") == 0 && t->status == NULL)
			t->status = xstrndup(v, len);
		else if (strcmp(f, "retention_days") == 0)
			(void)parse_ll(v, len, &t->retention_days);
		else if (strcmp(f, "created_at") == 0 &&
		    parse_u64(v, len, &u) == 0)
			t->created_at = u;
		else if (strcmp(f, "purge_at") == 0 &&
		    parse_u64(v, len, &u) == 0)
			t->purge_at = u;
	}
	t->key_prefixes = xcalloc(keys->elements + 1,
	    sizeof(*t->key_prefixes));
	for (i = 0; i < keys->elements; i++)
		if ((v = reply_str(keys->element[i], &len)) != NULL)
			t->key_prefixes[t->nkey_prefixes++] = xstrndup(v, len);
out:
	db_replies_free(r, 2);
	if (rc == -1)
		store_tenant_free(t);
	return rc;
}

void
store_tenant_free(struct tenant *t)
{
	size_t	i;

	free(t->name);
	free(t->status);
	for (i = 0; i < t->nkey_prefixes; i++)
		free(t->key_prefixes[i]);
	free(t->key_prefixes);
	t->name = t->status = NULL;
	t->key_prefixes = NULL;
	t->nkey_prefixes = 0;
}

int
store_tenant_ids(struct db *db, uint64_t **ids, size_t *n)
{
	int	rc;

	rc = reply_take_ids(db_cmd(db, "SMEMBERS %s", key_tenants()), ids, n);
	if (rc == 0)
		qsort(*ids, *n, sizeof(**ids), id_cmp);
	return rc;
}

int
store_tenant_each(struct db *db, int (*fn)(void *, uint64_t), void *arg)
{
	redisReply	*page;
	const char	*next;
	char		 cursor[32] = "0";
	uint64_t	 tenant;
	size_t		 i;
	int		 rc = 0;

	do {
		page = db_cmd(db, "SSCAN %s %s COUNT %d", key_tenants(), cursor,
		    TENANT_SCAN_PAGE);
		if (page == NULL || page->type != REDIS_REPLY_ARRAY ||
		    page->elements != 2 ||
		    (next = reply_str(page->element[0], NULL)) == NULL ||
		    page->element[1]->type != REDIS_REPLY_ARRAY) {
			rc = -1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", next);
		for (i = 0; i < page->element[1]->elements && rc == 0; i++)
			if (reply_u64(page->element[1]->element[i],
			    &tenant) == 0)
				rc = fn(arg, tenant);
		freeReplyObject(page);
		page = NULL;
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	freeReplyObject(page);
	return rc;
}

int
store_tenant_retention(struct db *db, uint64_t tenant, uint64_t *days)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	if ((rep = db_cmd(db, "HGET %s retention_days",
	    key_tenant(&k, tenant))) == NULL)
		return -1;
	rc = reply_u64(rep, days) == 0;
	freeReplyObject(rep);
	return rc;
}

int
store_tenant_next_id(struct db *db, uint64_t tenant, const char *kind,
    uint64_t *id)
{
	struct key	k;
	long long	n;

	if (db_cmd_int(db, &n, "HINCRBY %s %s 1", key_seq(&k, tenant),
	    kind) == -1 || n <= 0)
		return -1;
	*id = (uint64_t)n;
	return 0;
}

int
store_tenant_key_add(struct db *db, uint64_t tenant, const char *prefix,
    const char *sha256_hex)
{
	struct key	k;
	long long	added;

	if (db_cmd_int(db, &added, "HSETNX %s %s %s", key_tenant_keys(&k,
	    tenant), prefix, sha256_hex) == -1)
		return -1;
	return added == 1;
}

int
store_tenant_key_remove(struct db *db, uint64_t tenant, const char *prefix)
{
	struct key	k;
	long long	removed;

	if (db_cmd_int(db, &removed, "HDEL %s %s", key_tenant_keys(&k, tenant),
	    prefix) == -1)
		return -1;
	return removed == 1;
}

int
store_tenant_key_lookup(struct db *db, uint64_t tenant, const char *prefix,
    char sha256_hex[65])
{
	redisReply	*hash, *status;
	struct key	 k;
	const char	*h, *st;
	size_t		 len;
	int		 rc = 0;

	if (db_append(db, "HGET %s %s", key_tenant_keys(&k, tenant),
	    prefix) == -1 ||
	    db_append(db, "HGET %s status", key_tenant(&k, tenant)) == -1) {
		db_discard(db);
		return -1;
	}
	hash = db_reply(db);
	status = db_reply(db);
	/* No reply, or an error reply (LOADING, MISCONF...): the key cannot
	 * be checked, which is not the same as a wrong key. */
	if (hash == NULL || status == NULL || reply_is_error(hash, NULL) ||
	    reply_is_error(status, NULL))
		rc = -1;
	else if (hash->type == REDIS_REPLY_STRING &&
	    (h = reply_str(hash, &len)) != NULL && len == 64 &&
	    status->type == REDIS_REPLY_STRING &&
	    (st = reply_str(status, NULL)) != NULL &&
	    strcmp(st, "active") == 0) {
		memcpy(sha256_hex, h, 64);
		sha256_hex[64] = '\0';
		rc = 1;
	}
	freeReplyObject(hash);
	freeReplyObject(status);
	return rc;
}

int
store_tenant_mark_deleting(struct db *db, uint64_t tenant, uint64_t purge_at)
{
	struct key	k;

	return reply_done(db_cmd(db, "HSET %s status deleting purge_at %llu",
	    key_tenant(&k, tenant), (unsigned long long)purge_at));
}

int
store_tenant_schedule_purge(struct db *db, uint64_t tenant, uint64_t purge_at)
{
	return reply_done(db_cmd(db, "ZADD %s %llu %llu", key_purge(),
	    (unsigned long long)purge_at, (unsigned long long)tenant));
}

int
store_tenant_due_purges(struct db *db, uint64_t now, uint64_t **ids,
    size_t *n)
{
	return reply_take_ids(db_cmd(db, "ZRANGEBYSCORE %s -inf %llu",
	    key_purge(), (unsigned long long)now), ids, n);
}

/* The integer of a DEL's reply (freed), or -1. */
static long long
reply_del(redisReply *rep)
{
	long long	n;

	if (reply_int(rep, &n) == -1)
		n = -1;
	freeReplyObject(rep);
	return n;
}

long long
store_tenant_purge(struct db *db, uint64_t tenant)
{
	struct key	 match, k;
	long long	 n, total = 0;

	/* Marked gone first: the trackers drop the tenant's hits from then
	 * on (ff:purged), and the senders' outcome script writes nothing
	 * once the tenant record is gone, so neither a late hit nor a
	 * message in flight during the purge recreates a key the scan below
	 * has passed already. */
	if (reply_done(db_cmd(db, "SADD %s %llu", key_purged(),
	    (unsigned long long)tenant)) == -1)
		return -1;
	if ((n = reply_del(db_cmd(db, "DEL %s", key_tenant(&k, tenant)))) ==
	    -1)
		return -1;
	total += n;
	if ((n = db_unlink_prefix(db, key_tenant_match(&match, tenant))) ==
	    -1)
		return -1;
	total += n;
	if ((n = db_unlink_prefix(db, key_tenant_campaigns_match(&match,
	    tenant))) == -1)
		return -1;
	total += n;
	/* Its keys are gone: a tenant left in these two is only looked at
	 * again (and found empty) by the next janitor run. */
	(void)reply_done(db_cmd(db, "SREM %s %llu", key_tenants(),
	    (unsigned long long)tenant));
	(void)reply_done(db_cmd(db, "ZREM %s %llu", key_purge(),
	    (unsigned long long)tenant));
	return total;
}

int
store_tenant_last_id(struct db *db, uint64_t tenant, const char *kind,
    uint64_t *id)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc = 0;

	*id = 0;
	if ((rep = db_cmd(db, "HGET %s %s", key_seq(&k, tenant), kind)) ==
	    NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		rc = -1;
	else if ((s = reply_str(rep, &len)) != NULL &&
	    parse_u64(s, len, id) == -1)
		rc = -1;
	freeReplyObject(rep);
	return rc;
}
