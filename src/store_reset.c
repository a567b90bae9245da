/*
 * store_reset.c: password resets and the end of a user's sessions, in
 * Redis (store_reset.h says what each function answers and why the
 * keys are the tenant's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_reset.h"

int
store_reset_create(struct db *db, uint64_t tenant, const char *hash,
    uint64_t user, uint64_t now, uint64_t ttl_ms)
{
	struct key	k;

	key_password_reset(&k, tenant, hash);
	if (reply_done(db_cmd(db, "HSET %s user %llu expires_at %llu", k.s,
	    (unsigned long long)user, (unsigned long long)(now + ttl_ms))) ==
	    -1)
		return -1;
	return reply_done(db_cmd(db, "PEXPIRE %s %llu", k.s,
	    (unsigned long long)(ttl_ms > 0 ? ttl_ms : 1)));
}

int
store_reset_take(struct db *db, uint64_t tenant, const char *hash,
    uint64_t now, uint64_t *user)
{
	redisReply	*rep;
	struct key	 k;
	const char	*u, *e;
	uint64_t	 expires = 0;
	long long	 deleted;
	int		 found = 0;

	key_password_reset(&k, tenant, hash);
	rep = db_cmd(db, "HMGET %s user expires_at", k.s);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 2) {
		freeReplyObject(rep);
		return -1;
	}
	u = reply_str(rep->element[0], NULL);
	e = reply_str(rep->element[1], NULL);
	if (u != NULL && e != NULL && parse_u64(u, strlen(u), user) == 0 &&
	    parse_u64(e, strlen(e), &expires) == 0 && *user != 0)
		found = 1;
	freeReplyObject(rep);
	if (!found)
		return 0;
	/* Whoever deletes it uses it; an expired one goes too. */
	if (db_cmd_int(db, &deleted, "DEL %s", k.s) == -1)
		return -1;
	return deleted == 1 && expires > now ? 1 : 0;
}

int
store_user_sessions_end(struct db *db, uint64_t tenant, uint64_t user,
    long long *n)
{
	redisReply	*rep;
	struct key	 k, s;
	const char	*h;
	size_t		 i;
	int		 rc = 0;

	*n = 0;
	key_user_sessions(&k, tenant, user);
	rep = db_cmd(db, "SMEMBERS %s", k.s);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	for (i = 0; i < rep->elements && rc == 0; i++) {
		long long	d;

		if ((h = reply_str(rep->element[i], NULL)) == NULL)
			continue;
		if (db_cmd_int(db, &d, "UNLINK %s", key_session(&s, tenant,
		    h)) == -1)
			rc = -1;
		else
			*n += d;
	}
	freeReplyObject(rep);
	if (rc == -1)
		return -1;
	return reply_done(db_cmd(db, "UNLINK %s", k.s));
}
