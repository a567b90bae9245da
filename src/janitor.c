/*
 * janitor.c: retention and scheduled tenant purges, run by fanfared on a
 * timer (main thread) and by `fanfarectl janitor` on demand.
 *
 * Per tenant: the events of each campaign older than the tenant's
 * retention_days are trimmed from its stream (XTRIM MINID, one command
 * per campaign, so no single call holds Redis long).  Tenants whose
 * purge time has come (DELETE /v1/tenants after the grace period) lose
 * every key, found with SCAN and removed with UNLINK in batches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"

long long
janitor_purge_tenant(struct db *db, uint64_t tenant)
{
	redisReply	*rep;
	struct key	 match;
	long long	 n, total = 0;

	if ((n = db_unlink_prefix(db, key_tenant_match(&match, tenant))) ==
	    -1)
		return -1;
	total += n;
	if ((n = db_unlink_prefix(db, key_tenant_campaigns_match(&match,
	    tenant))) == -1)
		return -1;
	total += n;
	if ((rep = db_cmd(db, "SREM %s %llu", key_tenants(),
	    (unsigned long long)tenant)) != NULL)
		freeReplyObject(rep);
	if ((rep = db_cmd(db, "ZREM %s %llu", key_purge(),
	    (unsigned long long)tenant)) != NULL)
		freeReplyObject(rep);
	return total;
}

/* Trims one tenant's event streams to its retention. */
static int
trim_tenant(struct db *db, uint64_t tenant, uint64_t now,
    struct janitor_report *rep_out)
{
	redisReply	*days, *camps, *rep;
	struct key	 k;
	uint64_t	 minid, d, campaign;
	size_t		 i;

	if ((days = db_cmd(db, "HMGET %s retention_days status",
	    key_tenant(&k, tenant))) == NULL)
		return -1;
	if (days->type != REDIS_REPLY_ARRAY || days->elements != 2 ||
	    days->element[0]->type != REDIS_REPLY_STRING ||
	    parse_u64(days->element[0]->str, days->element[0]->len, &d) == -1) {
		freeReplyObject(days);
		return 0;
	}
	freeReplyObject(days);
	minid = now - d * 86400000ULL;
	if ((camps = db_cmd(db, "ZRANGE %s 0 -1", key_campaigns(&k, tenant))) ==
	    NULL)
		return -1;
	for (i = 0; camps->type == REDIS_REPLY_ARRAY && i < camps->elements;
	    i++) {
		if (parse_u64(camps->element[i]->str, camps->element[i]->len,
		    &campaign) == -1)
			continue;
		rep = db_cmd(db, "XTRIM %s MINID %llu-0",
		    key_camp_events(&k, tenant, campaign),
		    (unsigned long long)minid);
		if (rep == NULL) {
			freeReplyObject(camps);
			return -1;
		}
		if (rep->type == REDIS_REPLY_INTEGER)
			rep_out->entries_trimmed += rep->integer;
		freeReplyObject(rep);
		rep_out->streams++;
	}
	freeReplyObject(camps);
	return 0;
}

int
janitor_run(struct db *db, uint64_t now, struct janitor_report *out)
{
	redisReply	*rep;
	char		 cursor[32] = "0";
	uint64_t	 tenant;
	long long	 n;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	if ((rep = db_cmd(db, "ZRANGEBYSCORE %s -inf %llu", key_purge(),
	    (unsigned long long)now)) == NULL)
		return -1;
	for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		if (parse_u64(rep->element[i]->str, rep->element[i]->len,
		    &tenant) == -1)
			continue;
		if ((n = janitor_purge_tenant(db, tenant)) == -1) {
			freeReplyObject(rep);
			return -1;
		}
		out->tenants_purged++;
		out->keys_purged += n;
	}
	freeReplyObject(rep);
	do {
		if ((rep = db_cmd(db, "SSCAN %s %s COUNT 100", key_tenants(),
		    cursor)) == NULL || rep->type != REDIS_REPLY_ARRAY ||
		    rep->elements != 2) {
			if (rep != NULL)
				freeReplyObject(rep);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		for (i = 0; i < rep->element[1]->elements; i++) {
			redisReply *m = rep->element[1]->element[i];

			if (parse_u64(m->str, m->len, &tenant) == 0 &&
			    trim_tenant(db, tenant, now, out) == -1) {
				freeReplyObject(rep);
				return -1;
			}
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}
