/*
 * store_contact.c: contacts (store_contact.h).  Every key is the
 * tenant's ({t:T}...), so no call can see, change or count another
 * tenant's data.  Opt-out state comes from store_suppress.c and list
 * memberships go through store_list.c; neither calls back here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "store_contact.h"
#include "store_list.h"
#include "store_suppress.h"

/* The most arguments of a contact's HSET: HSET, the key, and 11 pairs
 * (email, key, updated_at, created_at, 4 texts, attributes,
 * quarantined, suppressed). */
#define CONTACT_ARGV_MAX	24

/* Reads the next reply of a pipeline; 0 unless it is missing or an
 * error. */
static int
next_ok(struct db *db)
{
	redisReply	*rep;
	int		 rc;

	if ((rep = db_reply(db)) == NULL)
		return -1;
	rc = reply_is_error(rep, NULL) ? -1 : 0;
	freeReplyObject(rep);
	return rc;
}

/* An id from an index reply: 1 with *id, 0 for nil, -1 otherwise. */
static int
reply_id(const redisReply *rep, uint64_t *id)
{
	const char	*s;
	size_t		 len;

	if (rep != NULL && rep->type == REDIS_REPLY_NIL)
		return 0;
	if ((s = reply_str(rep, &len)) == NULL || parse_u64(s, len, id) == -1)
		return -1;
	return 1;
}

/* ------------------------------------------------------------ lookups */

int
store_contact_find(struct db *db, uint64_t tenant, const char *key,
    uint64_t *id)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	if ((rep = db_cmd(db, "HGET %s %s", key_contact_bykey(&k, tenant),
	    key)) == NULL)
		return -1;
	rc = reply_id(rep, id);
	freeReplyObject(rep);
	return rc;
}

int
store_contact_exists(struct db *db, uint64_t tenant, uint64_t id)
{
	struct key	k;
	long long	n;

	if (db_cmd_int(db, &n, "EXISTS %s", key_contact(&k, tenant, id)) ==
	    -1)
		return -1;
	return n == 1;
}

int
store_contact_find_many(struct db *db, uint64_t tenant,
    const char *const *keys, size_t n, uint64_t *ids)
{
	redisReply	*rep;
	struct key	 k;
	size_t		 i;
	int		 ret = 0;

	key_contact_bykey(&k, tenant);
	for (i = 0; i < n; i++)
		if (keys[i][0] != '\0' &&
		    db_append(db, "HGET %s %s", k.s, keys[i]) == -1)
			return -1;
	for (i = 0; i < n; i++) {
		ids[i] = 0;
		if (keys[i][0] == '\0')
			continue;
		rep = db_reply(db);
		if (reply_id(rep, &ids[i]) == -1)
			ret = -1;
		freeReplyObject(rep);
	}
	return ret;
}

int
store_contact_exist_many(struct db *db, uint64_t tenant, uint64_t *ids,
    size_t n)
{
	redisReply	*rep;
	struct key	 k;
	long long	 exists;
	size_t		 i;
	int		 ret = 0;

	for (i = 0; i < n; i++)
		if (ids[i] != 0 && db_append(db, "EXISTS %s",
		    key_contact(&k, tenant, ids[i])) == -1)
			return -1;
	for (i = 0; i < n; i++) {
		if (ids[i] == 0)
			continue;
		rep = db_reply(db);
		if (reply_int(rep, &exists) == -1)
			ret = -1;
		else if (exists != 1)
			ids[i] = 0;
		freeReplyObject(rep);
	}
	return ret;
}

static void
contact_field(void *c, const char *f, size_t flen, const char *v,
    size_t vlen)
{
	contact_hash_set(c, f, flen, v, vlen);
}

int
store_contact_get(struct db *db, uint64_t tenant,
    const struct token_keyring *ring, uint64_t id, struct contact *c)
{
	struct key	k;
	int		rc;

	contact_init(c, id);
	if ((rc = db_hash_each(db, key_contact(&k, tenant, id), contact_field,
	    c)) != 1)
		return rc;
	if ((rc = store_optout_check(db, tenant, c->key, id)) == -1)
		return -1;
	/* An address erased before stays suppressed when re-imported. */
	if (rc == 0 && c->key[0] != '\0' &&
	    (rc = store_erased_check(db, tenant, ring, c->key)) == -1)
		return -1;
	c->opted_out = rc == 1;
	return 1;
}

/* ------------------------------------------------------------- writes */

/* Appends "field value" pairs of the row's given fields to argv. */
static int
row_fields(const struct contact_row *row, const char **argv, size_t *lens,
    int argc)
{
	static const char *const text[] = { "first_name", "last_name",
	    "gender", "date_of_birth", NULL };
	json_t	*v;
	size_t	 i;

	for (i = 0; text[i] != NULL; i++) {
		if ((v = json_object_get(row->obj, text[i])) == NULL)
			continue;
		argv[argc] = text[i];
		lens[argc++] = strlen(text[i]);
		argv[argc] = json_is_string(v) ? json_string_value(v) : "";
		lens[argc++] = json_is_string(v) ? json_string_length(v) : 0;
	}
	if (row->attrs != NULL) {
		argv[argc] = "attributes";
		lens[argc++] = 10;
		argv[argc] = row->attrs;
		lens[argc++] = strlen(row->attrs);
	}
	/* A hit in any screened field quarantines; only a check that saw
	 * them all (or a new contact) clears. */
	if (row->quarantined || row->screened_all || row->is_new) {
		argv[argc] = "quarantined";
		lens[argc++] = 11;
		argv[argc] = row->quarantined ? "1" : "0";
		lens[argc++] = 1;
	}
	return argc;
}

/* A block of n new contact ids: 0 with the first, or -1. */
static int
reserve_ids(struct db *db, uint64_t tenant, size_t n, uint64_t *first)
{
	redisReply	*rep;
	struct key	 k;
	long long	 last;
	int		 rc = -1;

	if ((rep = db_cmd(db, "HINCRBY %s contact %llu", key_seq(&k, tenant),
	    (unsigned long long)n)) == NULL)
		return -1;
	if (reply_int(rep, &last) == 0 && last >= (long long)n) {
		*first = (uint64_t)last - n + 1;
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

int
store_contact_upsert(struct db *db, uint64_t tenant,
    const struct token_keyring *ring, struct contact_row *rows, size_t n,
    long long *created, long long *updated)
{
	redisReply	*rep;
	const char	*argv[CONTACT_ARGV_MAX];
	size_t		 lens[CONTACT_ARGV_MAX], i, nnew = 0;
	long long	 ncreated = 0, nupdated = 0;
	char		 now[24];
	struct key	 bykey, ct;
	uint64_t	 first, id;
	int		 argc, k, rc;

	/* Round trip 1: the ids of the addresses we know, and whether an
	 * address was erased before. */
	key_contact_bykey(&bykey, tenant);
	for (i = 0; i < n; i++) {
		if (rows[i].same != NULL)
			continue;
		if (db_append(db, "HGET %s %s", bykey.s, rows[i].key) == -1 ||
		    store_erased_append(db, tenant, ring, rows[i].key) == -1)
			goto down;
	}
	for (i = 0; i < n; i++) {
		if (rows[i].same != NULL)
			continue;
		rep = db_reply(db);
		rc = reply_id(rep, &rows[i].id);
		freeReplyObject(rep);
		if (rc == -1)
			goto down;
		if (rc == 0) {
			rows[i].is_new = 1;
			nnew++;
		}
		if ((rc = store_erased_reply(db)) == -1)
			goto down;
		rows[i].erased_before = rc;
	}
	/* Round trip 2: a block of ids for the new ones. */
	if (nnew > 0) {
		if (reserve_ids(db, tenant, nnew, &first) == -1)
			goto down;
		for (i = 0; i < n; i++)
			if (rows[i].is_new)
				rows[i].id = first++;
	}
	/* Round trip 3: the writes. */
	snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms());
	for (i = 0; i < n; i++) {
		struct contact_row *row = &rows[i];

		id = row->same ? row->same->id : row->id;
		key_contact(&ct, tenant, id);
		argc = 0;
		argv[argc] = "HSET"; lens[argc++] = 4;
		argv[argc] = ct.s; lens[argc++] = ct.len;
		argv[argc] = "email"; lens[argc++] = 5;
		argv[argc] = row->addr; lens[argc++] = strlen(row->addr);
		argv[argc] = "key"; lens[argc++] = 3;
		argv[argc] = row->key; lens[argc++] = strlen(row->key);
		argv[argc] = "updated_at"; lens[argc++] = 10;
		argv[argc] = now; lens[argc++] = strlen(now);
		if (row->is_new) {
			argv[argc] = "created_at"; lens[argc++] = 10;
			argv[argc] = now; lens[argc++] = strlen(now);
		}
		argc = row_fields(row, argv, lens, argc);
		if ((row->same ? row->same : row)->erased_before) {
			argv[argc] = "suppressed"; lens[argc++] = 10;
			argv[argc] = "1"; lens[argc++] = 1;
		}
		if (db_appendargv(db, argc, argv, lens) == -1)
			goto down;
		if (row->is_new && db_append(db, "HSET %s %s %llu", bykey.s,
		    row->key, (unsigned long long)id) == -1)
			goto down;
	}
	for (i = 0; i < n; i++) {
		for (k = rows[i].is_new ? 2 : 1; k > 0; k--)
			if (next_ok(db) == -1)
				goto down;
		if (rows[i].is_new)
			ncreated++;
		else
			nupdated++;
	}
	*created += ncreated;
	*updated += nupdated;
	return 0;
down:
	db_discard(db);
	return -1;
}

int
store_contact_update(struct db *db, uint64_t tenant, uint64_t id,
    const struct contact_row *row, const char *old_key, uint64_t now)
{
	redisReply	*rep;
	const char	*argv[CONTACT_ARGV_MAX];
	size_t		 lens[CONTACT_ARGV_MAX];
	char		 nowbuf[24];
	struct key	 k;
	long long	 set;
	int		 argc, rc;

	if (old_key != NULL && strcmp(old_key, row->key) != 0) {
		/* A new address must not belong to another contact. */
		if (db_cmd_int(db, &set, "HSETNX %s %s %llu",
		    key_contact_bykey(&k, tenant), row->key,
		    (unsigned long long)id) == -1)
			return -1;
		if (set != 1)
			return 0;
		if ((rep = db_cmd(db, "HDEL %s %s", k.s, old_key)) == NULL)
			return -1;
		freeReplyObject(rep);
	}
	key_contact(&k, tenant, id);
	snprintf(nowbuf, sizeof(nowbuf), "%llu", (unsigned long long)now);
	argc = 0;
	argv[argc] = "HSET"; lens[argc++] = 4;
	argv[argc] = k.s; lens[argc++] = k.len;
	argv[argc] = "updated_at"; lens[argc++] = 10;
	argv[argc] = nowbuf; lens[argc++] = strlen(nowbuf);
	if (old_key != NULL) {
		argv[argc] = "email"; lens[argc++] = 5;
		argv[argc] = row->addr; lens[argc++] = strlen(row->addr);
		argv[argc] = "key"; lens[argc++] = 3;
		argv[argc] = row->key; lens[argc++] = strlen(row->key);
	}
	argc = row_fields(row, argv, lens, argc);
	if ((rep = db_cmdargv(db, argc, argv, lens)) == NULL)
		return -1;
	rc = reply_ok(rep) ? 1 : -1;
	freeReplyObject(rep);
	return rc;
}

int
store_contact_remove(struct db *db, uint64_t tenant, uint64_t id,
    long long *lists)
{
	redisReply	*rep;
	struct key	 k, bykey;
	const char	*key;
	size_t		 len;
	int		 indexed = 0, rc = 0;

	if (store_list_forget_contact(db, tenant, id, lists) == -1)
		return -1;
	if ((rep = db_cmd(db, "HGET %s key", key_contact(&k, tenant, id))) ==
	    NULL)
		return -1;
	if ((key = reply_str(rep, &len)) != NULL) {
		indexed = 1;
		if (db_append(db, "HDEL %s %b", key_contact_bykey(&bykey,
		    tenant), key, len) == -1)
			rc = -1;
	} else if (rep->type != REDIS_REPLY_NIL)
		rc = -1;
	freeReplyObject(rep);
	if (rc == -1)
		return -1;
	/* With the HDEL, if any: one round trip. */
	if (db_append(db, "DEL %s", k.s) == -1)
		return -1;
	if (indexed && next_ok(db) == -1)
		rc = -1;
	if (next_ok(db) == -1)
		rc = -1;
	return rc;
}
