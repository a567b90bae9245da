/*
 * store_suppress.c: opt-outs, the blocklist and erased addresses of a
 * tenant (store_suppress.h says what each is).
 *
 * Opt-outs and the blocklist are sorted sets with score 0, so they list
 * in lexical order and a cursor is simply the last item returned
 * (ZRANGEBYLEX from just after it): stable under inserts, no server-side
 * state.  Each has a hash of the time an item was first added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "store_suppress.h"

/* Reads the next reply of a pipeline: 0 when it came and is not an
 * error, with its integer in *n when n is not NULL and it has one. */
static int
next_reply(struct db *db, long long *n)
{
	redisReply	*rep;
	int		 rc = -1;

	if ((rep = db_reply(db)) == NULL)
		return -1;
	if (!reply_is_error(rep, NULL)) {
		rc = 0;
		if (n != NULL && reply_int(rep, n) == -1)
			*n = 0;
	}
	freeReplyObject(rep);
	return rc;
}

/* Reads the replies of a pipeline of two; -1 (the rest discarded) when
 * either failed.  *first: the first one's integer, when it has one. */
static int
two_replies(struct db *db, long long *first)
{
	int	a, b;

	a = next_reply(db, first);
	b = next_reply(db, NULL);
	return a == -1 || b == -1 ? -1 : 0;
}

static void
set_keys(uint64_t tenant, enum suppress_set which, struct key *set,
    struct key *at)
{
	if (which == SUPPRESS_OPTOUTS) {
		key_optouts(set, tenant);
		key_optouts_at(at, tenant);
	} else {
		key_blocklist(set, tenant);
		key_blocklist_at(at, tenant);
	}
}

/* ------------------------------------------------------------ pages */

void
suppress_page_free(struct suppress_page *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		free(p->items[i].value);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

int
store_suppress_page(struct db *db, uint64_t tenant, enum suppress_set which,
    const char *after, size_t limit, struct suppress_page *page)
{
	redisReply	*rep, *at;
	struct key	 set, times;
	const char	*v;
	char		*min = NULL;
	long long	 ms;
	size_t		 i, n, len;
	int		 ret = -1;

	memset(page, 0, sizeof(*page));
	set_keys(tenant, which, &set, &times);
	if (after != NULL && *after != '\0')
		xasprintf(&min, "(%s", after);
	rep = db_cmd(db, "ZRANGEBYLEX %s %s + LIMIT 0 %llu", set.s,
	    min != NULL ? min : "-", (unsigned long long)limit + 1);
	free(min);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		goto out;
	n = rep->elements > limit ? limit : rep->elements;
	page->items = xcalloc(n ? n : 1, sizeof(*page->items));
	for (i = 0; i < n; i++) {
		if ((v = reply_str(rep->element[i], &len)) == NULL)
			goto out;
		page->items[page->n++].value = xstrndup(v, len);
	}
	for (i = 0; i < n; i++)
		if (db_append(db, "HGET %s %s", times.s,
		    page->items[i].value) == -1)
			goto out;
	for (i = 0; i < n; i++) {
		if ((at = db_reply(db)) == NULL || reply_is_error(at, NULL)) {
			freeReplyObject(at);
			goto out;
		}
		if (reply_int(at, &ms) == 0 && ms > 0)
			page->items[i].at = (uint64_t)ms;
		freeReplyObject(at);
	}
	page->more = rep->elements > limit && n > 0;
	ret = 0;
out:
	db_discard(db);
	freeReplyObject(rep);
	if (ret == -1)
		suppress_page_free(page);
	return ret;
}

/* ------------------------------------------------ adding, removing */

static int
set_add(struct db *db, uint64_t tenant, enum suppress_set which,
    const char *value, uint64_t now)
{
	struct key	set, at;

	set_keys(tenant, which, &set, &at);
	if (db_append(db, "ZADD %s 0 %s", set.s, value) == -1 ||
	    db_append(db, "HSETNX %s %s %llu", at.s, value,
	    (unsigned long long)now) == -1)
		return -1;
	return two_replies(db, NULL);
}

static int
set_remove(struct db *db, uint64_t tenant, enum suppress_set which,
    const char *value, long long *removed)
{
	struct key	set, at;
	long long	n = 0;

	set_keys(tenant, which, &set, &at);
	if (db_append(db, "ZREM %s %s", set.s, value) == -1 ||
	    db_append(db, "HDEL %s %s", at.s, value) == -1 ||
	    two_replies(db, &n) == -1)
		return -1;
	if (removed != NULL)
		*removed = n;
	return 0;
}

int
store_optout_add(struct db *db, uint64_t tenant, const char *key,
    uint64_t now)
{
	return set_add(db, tenant, SUPPRESS_OPTOUTS, key, now);
}

int
store_optout_remove(struct db *db, uint64_t tenant, const char *key,
    long long *removed)
{
	return set_remove(db, tenant, SUPPRESS_OPTOUTS, key, removed);
}

int
store_blocklist_add(struct db *db, uint64_t tenant, const char *pattern,
    uint64_t now)
{
	return set_add(db, tenant, SUPPRESS_BLOCKLIST, pattern, now);
}

int
store_blocklist_remove(struct db *db, uint64_t tenant, const char *pattern)
{
	long long	n;

	if (set_remove(db, tenant, SUPPRESS_BLOCKLIST, pattern, &n) == -1)
		return -1;
	return n == 1;
}

int
store_optout_remove_contact(struct db *db, uint64_t tenant,
    uint64_t contact, long long *removed)
{
	struct key	k;
	long long	n;

	if (db_cmd_int(db, &n, "ZREM %s %llu", key_optout_ids(&k, tenant),
	    (unsigned long long)contact) == -1)
		return -1;
	if (removed != NULL)
		*removed = n;
	return 0;
}

/* --------------------------------------------------------- lookups */

int
store_optout_time(struct db *db, uint64_t tenant, const char *key,
    uint64_t *at)
{
	redisReply	*rep;
	struct key	 k;
	long long	 ms;
	int		 rc = -1;

	*at = 0;
	if ((rep = db_cmd(db, "HGET %s %s", key_optouts_at(&k, tenant),
	    key)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (reply_str(rep, NULL) != NULL) {
		rc = 1;
		if (reply_int(rep, &ms) == 0 && ms > 0)
			*at = (uint64_t)ms;
	}
	freeReplyObject(rep);
	return rc;
}

/* Reads n ZSCORE replies of a pipeline: 1 when one of them has a
 * score, 0 when none, -1 when one failed (the rest are read all the
 * same, so the pipeline is left empty). */
static int
any_score(struct db *db, int n)
{
	redisReply	*rep;
	int		 rc = 0;

	while (n-- > 0) {
		if ((rep = db_reply(db)) == NULL) {
			rc = -1;
			continue;
		}
		if (reply_is_error(rep, NULL))
			rc = -1;
		else if (rc == 0 && reply_str(rep, NULL) != NULL)
			rc = 1;
		freeReplyObject(rep);
	}
	return rc;
}

int
store_optout_check(struct db *db, uint64_t tenant, const char *key,
    uint64_t contact)
{
	struct key	k;

	if (db_append(db, "ZSCORE %s %s", key_optouts(&k, tenant), key) ==
	    -1 ||
	    db_append(db, "ZSCORE %s %llu", key_optout_ids(&k, tenant),
	    (unsigned long long)contact) == -1)
		return -1;
	return any_score(db, 2);
}

int
store_blocklist_match(struct db *db, uint64_t tenant, const char *key)
{
	struct key	 k;
	const char	*domain = strchr(key, '@');

	key_blocklist(&k, tenant);
	if (db_append(db, "ZSCORE %s %s", k.s, key) == -1 ||
	    db_append(db, "ZSCORE %s %s", k.s,
	    domain != NULL ? domain : key) == -1)
		return -1;
	return any_score(db, 2);
}

/* ------------------------------------------------- erased addresses */

int
store_erased_add(struct db *db, uint64_t tenant,
    const struct token_keyring *ring, const char *key)
{
	struct key	 k;
	char		 hash[65];

	if (token_keyed_hash(ring, 0, key, strlen(key), hash) == -1)
		return -1;
	return reply_done(db_cmd(db, "SADD %s %s", key_suppressed(&k, tenant),
	    hash));
}

int
store_erased_append(struct db *db, uint64_t tenant,
    const struct token_keyring *ring, const char *key)
{
	const char	*argv[2 + FF_MAX_SECRETS];
	size_t		 lens[2 + FF_MAX_SECRETS];
	char		 hashes[FF_MAX_SECRETS][65];
	struct key	 k;
	int		 argc = 0, i;

	key_suppressed(&k, tenant);
	argv[argc] = "SMISMEMBER"; lens[argc++] = 10;
	argv[argc] = k.s; lens[argc++] = k.len;
	for (i = 0; i < ring->nkeys && i < FF_MAX_SECRETS; i++) {
		if (token_keyed_hash(ring, i, key, strlen(key),
		    hashes[i]) == -1) {
			db_discard(db);
			return -1;
		}
		argv[argc] = hashes[i]; lens[argc++] = 64;
	}
	/* An empty ring erased nothing: ask for a member no hash is. */
	if (argc == 2) {
		argv[argc] = ""; lens[argc++] = 0;
	}
	return db_appendargv(db, argc, argv, lens);
}

int
store_erased_reply(struct db *db)
{
	redisReply	*rep;
	long long	 member;
	size_t		 i;
	int		 rc = 0;

	if ((rep = db_reply(db)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY)
		rc = -1;
	for (i = 0; rc == 0 && i < rep->elements; i++)
		if (reply_int(rep->element[i], &member) == 0 && member == 1)
			rc = 1;
	freeReplyObject(rep);
	return rc;
}

int
store_erased_check(struct db *db, uint64_t tenant,
    const struct token_keyring *ring, const char *key)
{
	db_discard(db);
	if (store_erased_append(db, tenant, ring, key) == -1)
		return -1;
	return store_erased_reply(db);
}

/* ------------------------------------------- erased contact ids */

int
store_erased_contact_hash(const struct token_keyring *ring, int i,
    uint64_t contact, char out[65])
{
	char	data[32] = "contact:";
	size_t	n = 8;

	n += fmt_u64(data + n, contact);
	return token_keyed_hash(ring, i, data, n, out);
}

int
store_erased_add_contact(struct db *db, uint64_t tenant,
    const struct token_keyring *ring, uint64_t contact)
{
	struct key	 k;
	char		 hash[65];

	if (store_erased_contact_hash(ring, 0, contact, hash) == -1)
		return -1;
	return reply_done(db_cmd(db, "SADD %s %s", key_suppressed(&k, tenant),
	    hash));
}

/* ---------------------------------------------------------- bounces */

int
store_bounce_remove(struct db *db, uint64_t tenant, const char *key)
{
	redisReply	*rep;
	struct key	 k;
	long long	 n;
	int		 rc = -1;

	if ((rep = db_cmd(db, "ZREM %s %s", key_bounces(&k, tenant),
	    key)) == NULL)
		return -1;
	if (reply_int(rep, &n) == 0)
		rc = n > 0;
	freeReplyObject(rep);
	return rc;
}

int
store_bounce_time(struct db *db, uint64_t tenant, const char *key,
    uint64_t *at)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	int		 rc = -1;

	*at = 0;
	if ((rep = db_cmd(db, "ZSCORE %s %s", key_bounces(&k, tenant),
	    key)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_NIL)
		rc = 0;
	else if ((s = reply_str(rep, NULL)) != NULL) {
		*at = (uint64_t)strtod(s, NULL);
		rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}
