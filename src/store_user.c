/*
 * store_user.c: users, the login index, sessions and their audit
 * records in Redis (store_user.h says the order of the two slots).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "session.h"
#include "store_user.h"


void
store_user_rec_free(struct user_rec *u)
{
	free(u->email);
	free(u->role);
	free(u->hash);
	free(u->totp);
	free(u->totp_pending);
	memset(u, 0, sizeof(*u));
}

/* The index's compare-and-set: 1 done, 0 the entry was another, -1. */
static int
index_cas(struct db *db, const char *email, const char *expect,
    const char *value)
{
	const char	*argv[7];
	size_t		 lens[7];
	redisReply	*rep;
	long long	 n;
	int		 i, rc;

	argv[2] = "1";
	argv[3] = key_user_index();
	argv[4] = email;
	argv[5] = expect;
	argv[6] = value;
	for (i = 2; i < 7; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_run(db, SCRIPT_USER_INDEX, 7, argv, lens)) == NULL)
		return -1;
	rc = reply_int(rep, &n) == 0 ? (n == 1) : -1;
	freeReplyObject(rep);
	return rc;
}

/* "T:U" of an index entry: 0, or -1 when it is not of that form. */
static int
entry_parse(const char *s, uint64_t *tenant, uint64_t *user)
{
	unsigned long long	t, u;
	int			n = 0;

	if (s == NULL || sscanf(s, "%llu:%llu%n", &t, &u, &n) != 2 ||
	    s[n] != '\0' || t == 0 || u == 0)
		return -1;
	*tenant = t;
	*user = u;
	return 0;
}

static int
user_exists(struct db *db, uint64_t tenant, uint64_t id)
{
	struct key	k;
	long long	n;

	if (db_cmd_int(db, &n, "EXISTS %s", key_user(&k, tenant, id)) == -1)
		return -1;
	return n > 0;
}

int
store_user_create(struct db *db, uint64_t tenant, const char *email,
    const char *role, const char *hash, uint64_t *id)
{
	struct key	 k, k2;
	redisReply	*rep;
	char		 entry[48], cur[48];
	const char	*s;
	uint64_t	 t, u, now = now_ms();
	long long	 n;
	int		 rc;

	if (db_cmd_int(db, &n, "HINCRBY %s user 1", key_seq(&k, tenant)) ==
	    -1)
		return -1;
	*id = (uint64_t)n;
	snprintf(entry, sizeof(entry), "%llu:%llu", (unsigned long long)tenant,
	    (unsigned long long)*id);
	/* 1. The claim. */
	if ((rc = index_cas(db, email, "", entry)) == -1)
		return -1;
	if (rc == 0) {
		/* Taken: by a user, or a claim a crash left behind. */
		rep = db_cmd(db, "HGET %s %s", key_user_index(), email);
		if (rep == NULL || reply_is_error(rep, "")) {
			freeReplyObject(rep);
			return -1;
		}
		s = reply_str(rep, NULL);
		snprintf(cur, sizeof(cur), "%s", s != NULL ? s : "");
		freeReplyObject(rep);
		if (entry_parse(cur, &t, &u) == 0 &&
		    (rc = user_exists(db, t, u)) != 0)
			return rc == 1 ? 0 : -1;
		if ((rc = index_cas(db, email, cur, entry)) != 1)
			return rc;
	}
	/* 2. The user. */
	rep = db_cmd(db, "HSET %s email %s role %s hash %s created_at %llu",
	    key_user(&k, tenant, *id), email, role, hash,
	    (unsigned long long)now);
	if (reply_done(rep) == -1 || reply_done(db_cmd(db, "ZADD %s %llu %llu",
	    key_users(&k2, tenant), (unsigned long long)now,
	    (unsigned long long)*id)) == -1) {
		/* Undone in the same order as a delete; what is left is a
		 * stale claim. */
		reply_done(db_cmd(db, "UNLINK %s", key_user(&k, tenant, *id)));
		index_cas(db, email, entry, "");
		return -1;
	}
	return 1;
}

int
store_user_get(struct db *db, uint64_t tenant, uint64_t id,
    struct user_rec *u)
{
	redisReply	*rep;
	struct key	 k;
	const char	*f, *v;
	size_t		 i = 0, vlen;

	memset(u, 0, sizeof(*u));
	rep = db_cmd(db, "HGETALL %s", key_user(&k, tenant, id));
	if (rep == NULL || reply_is_error(rep, "")) {
		freeReplyObject(rep);
		return -1;
	}
	while (reply_hash_next(rep, &i, &f, NULL, &v, &vlen)) {
		char	**dst = NULL;

		if (strcmp(f, "email") == 0)
			dst = &u->email;
		else if (strcmp(f, "role") == 0)
			dst = &u->role;
		else if (strcmp(f, "hash") == 0)
			dst = &u->hash;
		else if (strcmp(f, "totp") == 0)
			dst = &u->totp;
		else if (strcmp(f, "totp_pending") == 0)
			dst = &u->totp_pending;
		else if (strcmp(f, "totp_step") == 0)
			u->totp_step = strtoull(v, NULL, 10);
		else if (strcmp(f, "created_at") == 0)
			u->created_at = strtoull(v, NULL, 10);
		if (dst != NULL && *dst == NULL)
			*dst = xstrndup(v, vlen);
	}
	freeReplyObject(rep);
	if (u->email == NULL || u->role == NULL || u->hash == NULL) {
		store_user_rec_free(u);
		return 0;
	}
	u->id = id;
	u->tenant = tenant;
	return 1;
}

int
store_user_by_email(struct db *db, const char *email, struct user_rec *u)
{
	redisReply	*rep;
	uint64_t	 t = 0, id = 0;
	int		 found;

	memset(u, 0, sizeof(*u));
	rep = db_cmd(db, "HGET %s %s", key_user_index(), email);
	if (rep == NULL || reply_is_error(rep, "")) {
		freeReplyObject(rep);
		return -1;
	}
	found = entry_parse(reply_str(rep, NULL), &t, &id) == 0;
	freeReplyObject(rep);
	if (!found)
		return 0;
	if ((found = store_user_get(db, t, id, u)) != 1)
		return found;
	/* An address given to a new user after a crash: the old record's
	 * email is not this one. */
	if (strcmp(u->email, email) != 0) {
		store_user_rec_free(u);
		return 0;
	}
	return 1;
}

int
store_user_ids(struct db *db, uint64_t tenant, uint64_t **ids, size_t *n)
{
	struct key	k;

	return reply_take_ids(db_cmd(db, "ZRANGE %s 0 -1", key_users(&k,
	    tenant)), ids, n);
}

int
store_user_delete(struct db *db, uint64_t tenant, uint64_t id)
{
	struct user_rec	 u;
	struct key	 k;
	char		 entry[48];
	int		 rc;

	if ((rc = store_user_get(db, tenant, id, &u)) != 1)
		return rc;
	/* The user first, then its index entry (store_user.h). */
	if (reply_done(db_cmd(db, "UNLINK %s", key_user(&k, tenant, id))) ==
	    -1 || reply_done(db_cmd(db, "ZREM %s %llu", key_users(&k, tenant),
	    (unsigned long long)id)) == -1) {
		store_user_rec_free(&u);
		return -1;
	}
	snprintf(entry, sizeof(entry), "%llu:%llu", (unsigned long long)tenant,
	    (unsigned long long)id);
	if (index_cas(db, u.email, entry, "") == -1)
		log_warnx("tenant %llu: user %llu deleted, its login index "
		    "entry stays until the address is used again",
		    (unsigned long long)tenant, (unsigned long long)id);
	store_user_rec_free(&u);
	return 1;
}

int
store_user_set(struct db *db, uint64_t tenant, uint64_t id,
    const char *field, const char *value)
{
	struct key	k;

	if (value == NULL)
		return reply_done(db_cmd(db, "HDEL %s %s", key_user(&k, tenant,
		    id), field));
	return reply_done(db_cmd(db, "HSET %s %s %s", key_user(&k, tenant, id),
	    field, value));
}

int
store_session_create(struct db *db, uint64_t tenant, const char *hash,
    uint64_t user, const char *csrf, uint64_t expires_at_ms,
    uint64_t idle_ms)
{
	struct key	k;
	uint64_t	now = now_ms(), ttl;

	ttl = expires_at_ms > now ? expires_at_ms - now : 1;
	if (idle_ms > 0 && idle_ms < ttl)
		ttl = idle_ms;
	key_session(&k, tenant, hash);
	if (reply_done(db_cmd(db, "HSET %s user %llu csrf %s expires_at %llu",
	    k.s, (unsigned long long)user, csrf,
	    (unsigned long long)expires_at_ms)) == -1 ||
	    reply_done(db_cmd(db, "PEXPIRE %s %llu", k.s,
	    (unsigned long long)ttl)) == -1)
		return -1;
	/* The user's sessions, so that a password reset can end them all
	 * (store_reset.h); the set lives as long as its newest session
	 * may (every session has the same lifetime). */
	ttl = expires_at_ms > now ? expires_at_ms - now : 1;
	if (reply_done(db_cmd(db, "SADD %s %s", key_user_sessions(&k, tenant,
	    user), hash)) == -1)
		return -1;
	return reply_done(db_cmd(db, "PEXPIRE %s %llu", k.s,
	    (unsigned long long)ttl));
}

int
store_session_touch(struct db *db, uint64_t tenant, const char *hash,
    uint64_t idle_ms, uint64_t now, uint64_t *user, char *csrf)
{
	redisReply	*rep;
	struct key	 k;
	const char	*u, *c, *e;
	uint64_t	 expires = 0, ttl;
	int		 rc = 0;

	key_session(&k, tenant, hash);
	rep = db_cmd(db, "HMGET %s user csrf expires_at", k.s);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 3) {
		freeReplyObject(rep);
		return -1;
	}
	u = reply_str(rep->element[0], NULL);
	c = reply_str(rep->element[1], NULL);
	e = reply_str(rep->element[2], NULL);
	if (u != NULL && c != NULL && e != NULL &&
	    strlen(c) == SESSION_CSRF_HEX) {
		*user = strtoull(u, NULL, 10);
		expires = strtoull(e, NULL, 10);
		memcpy(csrf, c, SESSION_CSRF_HEX + 1);
		rc = *user != 0 && expires > now;
	}
	freeReplyObject(rep);
	if (rc != 1)
		return rc;
	/* Idle expiry: each use pushes it on, never past the lifetime. */
	ttl = expires - now;
	if (idle_ms > 0 && idle_ms < ttl)
		ttl = idle_ms;
	if (reply_done(db_cmd(db, "PEXPIRE %s %llu", k.s,
	    (unsigned long long)ttl)) == -1)
		return -1;
	return 1;
}

int
store_session_delete(struct db *db, uint64_t tenant, const char *hash)
{
	struct key	k;

	return reply_done(db_cmd(db, "UNLINK %s", key_session(&k, tenant,
	    hash)));
}

int
store_user_audit(struct db *db, uint64_t tenant, const char *actor,
    const char *action, uint64_t user)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	/* No MAXLEN: the stream holds the privacy requests' records too,
	 * which a trim must not drop. */
	if ((rep = db_cmd(db, "XADD %s * time %llu key_prefix %s action %s "
	    "user %llu", key_audit(&k, tenant), (unsigned long long)now_ms(),
	    actor, action,
	    (unsigned long long)user)) == NULL)
		return -1;
	rc = reply_str(rep, NULL) != NULL ? 0 : -1;
	freeReplyObject(rep);
	return rc;
}

int
store_audit_list(struct db *db, uint64_t tenant, const char *before,
    size_t count, json_t *items)
{
	redisReply	*rep, *e, *f;
	struct key	 k;
	size_t		 i, j;
	const char	*id;
	char		 end[64];

	/* "(ID": exclusive (Redis 6.2), so a page never repeats the last
	 * record of the one before it. */
	snprintf(end, sizeof(end), "%s%s", before != NULL ? "(" : "+",
	    before != NULL ? before : "");
	rep = db_cmd(db, "XREVRANGE %s %s - COUNT %llu", key_audit(&k, tenant),
	    end, (unsigned long long)count);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	for (i = 0; i < rep->elements; i++) {
		json_t	*o;

		e = rep->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    (id = reply_str(e->element[0], NULL)) == NULL ||
		    (f = e->element[1])->type != REDIS_REPLY_ARRAY)
			continue;
		o = json_pack("{s:s}", "id", id);
		for (j = 0; j + 1 < f->elements; j += 2) {
			const char	*name = reply_str(f->element[j], NULL);
			const char	*v = reply_str(f->element[j + 1], NULL);

			if (name != NULL && v != NULL && strcmp(name, "id") != 0)
				json_object_set_new(o, name, json_string(v));
		}
		json_array_append_new(items, o);
	}
	freeReplyObject(rep);
	return 0;
}
