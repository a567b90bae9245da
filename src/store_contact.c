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
#include "script.h"
#include "store_contact.h"
#include "store_list.h"
#include "store_suppress.h"
#include "store_tenant.h"

/* The most arguments of a contact's HSET: HSET, the key, and 11 pairs
 * (email, key, updated_at, created_at, 4 texts, attributes,
 * quarantined, suppressed). */
#define CONTACT_ARGV_MAX	(32 + FF_MAX_SECRETS)

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
	    "gender", "date_of_birth", "timezone", NULL };
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

/*
 * contact_write.lua's calls, WRITE_ROWS rows each (one round trip for a
 * batch, and Redis runs one script per 64 rows, not one per row).  The
 * rows' strings must live until the call is flushed.
 */
#define WRITE_ROWS	64
#define ROW_ARGS	(8 + FF_MAX_SECRETS + CONTACT_ARGV_MAX)

struct write_call {
	struct db			*db;
	const struct token_keyring	*ring;
	struct key			 bykey, sup;
	int				 rows;	/* in this call */
	int				 nargs;
	struct key			 ct[WRITE_ROWS];
	char				 id[WRITE_ROWS][24];
	char				 nf[WRITE_ROWS][24];
	char				 hash[WRITE_ROWS][FF_MAX_SECRETS][65];
	char				 nhash[24], numkeys[24];
	const char			*args[WRITE_ROWS * ROW_ARGS];
	size_t				 alens[WRITE_ROWS * ROW_ARGS];
	const char			*argv[6 + WRITE_ROWS * (1 + ROW_ARGS)];
	size_t				 lens[6 + WRITE_ROWS * (1 + ROW_ARGS)];
};

static struct write_call *
write_new(struct db *db, uint64_t tenant, const struct token_keyring *ring)
{
	struct write_call	*w = xcalloc(1, sizeof(*w));

	w->db = db;
	w->ring = ring;
	key_contact_bykey(&w->bykey, tenant);
	key_suppressed(&w->sup, tenant);
	w->nhash[fmt_u64(w->nhash, ring != NULL ?
	    (uint64_t)ring->nkeys : 0)] = '\0';
	return w;
}

/* Adds one row: mode "new" or "old", its email key (hashed under every
 * key of the ring when there is one), its id, and its field and value
 * pairs (fields[0..nfields)); 0, or -1 when a hash failed. */
static int
write_row(struct write_call *w, uint64_t tenant, const char *mode,
    const char *key, uint64_t id, const char **fields, const size_t *flens,
    int nfields)
{
	int	r = w->rows, n = w->nargs, k, nkeys;

	nkeys = w->ring != NULL ? w->ring->nkeys : 0;
	key_contact(&w->ct[r], tenant, id);
	w->args[n] = mode; w->alens[n++] = strlen(mode);
	w->args[n] = key; w->alens[n++] = strlen(key);
	w->args[n] = w->id[r]; w->alens[n++] = fmt_u64(w->id[r], id);
	for (k = 0; k < nkeys && k < FF_MAX_SECRETS; k++) {
		if (token_keyed_hash(w->ring, k, key, strlen(key),
		    w->hash[r][k]) == -1)
			return -1;
		w->args[n] = w->hash[r][k]; w->alens[n++] = 64;
	}
	w->args[n] = w->nf[r];
	w->alens[n++] = fmt_u64(w->nf[r], (uint64_t)nfields);
	memcpy(&w->args[n], fields, (size_t)nfields * sizeof(*fields));
	memcpy(&w->alens[n], flens, (size_t)nfields * sizeof(*flens));
	w->nargs = n + nfields;
	w->rows++;
	return 0;
}

/* Builds the call of the rows so far into w->argv (argv[0] and argv[1]
 * left for the script registry) and starts the next: its argc. */
static int
write_build(struct write_call *w)
{
	int	argc = 2, i;

	w->argv[argc] = w->numkeys;
	w->lens[argc++] = fmt_u64(w->numkeys, (uint64_t)(2 + w->rows));
	w->argv[argc] = w->bykey.s; w->lens[argc++] = w->bykey.len;
	w->argv[argc] = w->sup.s; w->lens[argc++] = w->sup.len;
	for (i = 0; i < w->rows; i++) {
		w->argv[argc] = w->ct[i].s;
		w->lens[argc++] = w->ct[i].len;
	}
	w->argv[argc] = w->nhash; w->lens[argc++] = strlen(w->nhash);
	memcpy(&w->argv[argc], w->args, (size_t)w->nargs * sizeof(w->args[0]));
	memcpy(&w->lens[argc], w->alens, (size_t)w->nargs *
	    sizeof(w->alens[0]));
	argc += w->nargs;
	w->rows = w->nargs = 0;
	return argc;
}

/* The call so far, to the pipeline, each as EVAL with the script's
 * text (1.7 KB a call of 64 rows): an EVALSHA behind a first EVAL met
 * NOSCRIPT on a Redis Cluster in CI, and a pipelined reply cannot fall
 * back to EVAL as script_run does; 0 or -1. */
static int
write_flush(struct write_call *w)
{
	int	argc;

	if (w->rows == 0)
		return 0;
	argc = write_build(w);
	return script_append(w->db, SCRIPT_CONTACT_WRITE, 1,
	    argc, w->argv, w->lens);
}

/* One call's reply: its rows' answers (1 stored, 0 gone) into
 * written[0..rows), rows the call's count; 0 or -1. */
static int
write_reply(struct db *db, int *written, size_t rows)
{
	redisReply	*rep;
	long long	 v;
	size_t		 i;
	int		 rc = -1;

	if ((rep = db_reply(db)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == rows) {
		rc = 0;
		for (i = 0; i < rows; i++) {
			if (reply_int(rep->element[i], &v) == -1)
				rc = -1;
			written[i] = v == 1;
		}
	} else if (reply_is_error(rep, NULL))
		log_warnx("redis: contact_write: %.*s", (int)rep->len,
		    rep->str);
	freeReplyObject(rep);
	return rc;
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
	struct write_call *w = NULL;
	char		 now[24];
	struct key	 bykey;
	uint64_t	 first, id;
	int		 argc, rc, written[WRITE_ROWS];

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
	/* Round trip 3: the writes, by contact_write.lua, atomic against
	 * an erasure since round trip 1 (see its header). */
	w = write_new(db, tenant, ring);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms());
	for (i = 0; i < n; i++) {
		struct contact_row *row = &rows[i];

		id = row->same ? row->same->id : row->id;
		argc = 0;
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
		if (write_row(w, tenant, row->is_new ? "new" : "old", row->key,
		    id, argv, lens, argc) == -1)
			goto down;
		if (w->rows == WRITE_ROWS && write_flush(w) == -1)
			goto down;
	}
	if (write_flush(w) == -1)
		goto down;
	/* A row whose contact was erased meanwhile (0) is not stored, and
	 * counts as updated: the request did what it could. */
	for (i = 0; i < n; i += WRITE_ROWS)
		if (write_reply(db, written, n - i < WRITE_ROWS ? n - i :
		    WRITE_ROWS) == -1)
			goto down;
	for (i = 0; i < n; i++) {
		if (rows[i].is_new)
			ncreated++;
		else
			nupdated++;
	}
	*created += ncreated;
	*updated += nupdated;
	free(w);
	return 0;
down:
	free(w);
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
	struct write_call *w;
	char		 nowbuf[24];
	struct key	 k;
	long long	 set, written = 0;
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
	/* contact_write.lua ("old"): nothing is written when the contact
	 * was erased or deleted since the caller read it. */
	snprintf(nowbuf, sizeof(nowbuf), "%llu", (unsigned long long)now);
	argc = 0;
	argv[argc] = "updated_at"; lens[argc++] = 10;
	argv[argc] = nowbuf; lens[argc++] = strlen(nowbuf);
	if (old_key != NULL) {
		argv[argc] = "email"; lens[argc++] = 5;
		argv[argc] = row->addr; lens[argc++] = strlen(row->addr);
		argv[argc] = "key"; lens[argc++] = 3;
		argv[argc] = row->key; lens[argc++] = strlen(row->key);
	}
	argc = row_fields(row, argv, lens, argc);
	w = write_new(db, tenant, NULL);
	(void)write_row(w, tenant, "old", row->key, id, argv, lens, argc);
	argc = write_build(w);
	rep = script_run(db, SCRIPT_CONTACT_WRITE, argc, w->argv, w->lens);
	free(w);
	if (rep == NULL)
		return -1;
	rc = rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    reply_int(rep->element[0], &written) == 0 ? 1 : -1;
	freeReplyObject(rep);
	/* Gone meanwhile: the new address's index entry must not stay
	 * behind, in clear, naming nobody.  The caller finds it gone. */
	if (rc == 1 && written == 0 && old_key != NULL &&
	    strcmp(old_key, row->key) != 0)
		(void)reply_done(db_cmd(db, "HDEL %s %s",
		    key_contact_bykey(&k, tenant), row->key));
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

/* ------------------------------------------------- the app's listing */

/* The next ids to look at, newest first: start, start - 1, ... down
 * to 1, at most budget of them; their number. */
static size_t
page_ids(uint64_t start, size_t budget, uint64_t *ids)
{
	size_t	n;

	for (n = 0; n < budget && n < start; n++)
		ids[n] = start - n;
	return n;
}

/*
 * Phase one: HMGET of the three searched fields of each id of the
 * batch; the ids that are contacts and match, in order, appended to
 * hits (up to limit); *looked the number of ids whose answer was used
 * (all of them, or fewer when hits filled).  0 or -1.
 */
static int
page_probe(struct db *db, uint64_t tenant, const uint64_t *ids, size_t n,
    store_contact_match_fn *match, void *arg, uint64_t *hits,
    size_t *nhits, size_t limit, size_t *looked)
{
	redisReply	**rep;
	struct key	  k;
	const char	 *f[3];
	size_t		  len[3], i, j;
	int		  rc = 0;

	*looked = 0;
	for (i = 0; i < n; i++)
		if (db_append(db, "HMGET %s email first_name last_name",
		    key_contact(&k, tenant, ids[i])) == -1) {
			db_discard(db);
			return -1;
		}
	rep = xcalloc(n, sizeof(*rep));
	if (db_reply_arrays(db, rep, n) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < n && *nhits < limit; i++) {
		if (rep[i]->elements != 3) {
			rc = -1;
			break;
		}
		for (j = 0; j < 3; j++) {
			f[j] = reply_str(rep[i]->element[j], &len[j]);
			if (f[j] == NULL)
				len[j] = 0;
		}
		(*looked)++;
		/* Every stored contact has an address: none, no contact
		 * (erased, or an id reserved by an import that failed). */
		if (f[0] != NULL && match(arg, f, len))
			hits[(*nhits)++] = ids[i];
	}
	db_replies_free(rep, n);
	free(rep);
	return rc;
}

/* Phase two: the hits' hashes and their opt-out state, one round trip
 * (ZMSCORE: Redis 6.2, as SMISMEMBER elsewhere).  0 or -1. */
static int
page_read(struct db *db, uint64_t tenant, const uint64_t *hits, size_t n,
    struct contact *out, size_t *nout)
{
	redisReply	**rep = NULL, *byid = NULL, *bykey = NULL;
	struct key	  k;
	const char	**argv = NULL, *f, *v;
	size_t		 *argl = NULL, i, j, fl, vl;
	char		(*nums)[24] = NULL;
	int		  rc = -1;

	*nout = 0;
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (db_append(db, "HGETALL %s", key_contact(&k, tenant,
		    hits[i])) == -1)
			goto fail;
	nums = xcalloc(n, sizeof(*nums));
	argv = xcalloc(n + 2, sizeof(*argv));
	argl = xcalloc(n + 2, sizeof(*argl));
	argv[0] = "ZMSCORE";
	argv[1] = key_optout_ids(&k, tenant);
	for (i = 0; i < n; i++) {
		snprintf(nums[i], sizeof(nums[i]), "%llu",
		    (unsigned long long)hits[i]);
		argv[i + 2] = nums[i];
	}
	for (i = 0; i < n + 2; i++)
		argl[i] = strlen(argv[i]);
	if (db_appendargv(db, (int)n + 2, argv, argl) == -1)
		goto fail;
	rep = xcalloc(n, sizeof(*rep));
	/* Both read whatever the first gives: no reply left behind. */
	j = db_reply_arrays(db, rep, n) == -1;
	byid = db_reply(db);
	if (j || byid == NULL || byid->type != REDIS_REPLY_ARRAY ||
	    byid->elements != n)
		goto out;
	for (i = 0; i < n; i++) {
		if (rep[i]->elements == 0)
			continue;	/* gone since phase one */
		contact_init(&out[*nout], hits[i]);
		j = 0;
		while (reply_hash_next(rep[i], &j, &f, &fl, &v, &vl))
			contact_hash_set(&out[*nout], f, fl, v, vl);
		/* Opted out by the one-click link (by id), or erased
		 * before and stored again (suppressed). */
		out[*nout].opted_out = out[*nout].suppressed ||
		    byid->element[i]->type != REDIS_REPLY_NIL;
		(*nout)++;
	}
	/* By address: the keys are known only now. */
	argv[0] = "ZMSCORE";
	argv[1] = key_optouts(&k, tenant);
	for (i = 0; i < *nout; i++)
		argv[i + 2] = out[i].key;
	for (i = 0; i < *nout + 2; i++)
		argl[i] = strlen(argv[i]);
	if (*nout > 0) {
		bykey = db_cmdargv(db, (int)*nout + 2, argv, argl);
		if (bykey == NULL || bykey->type != REDIS_REPLY_ARRAY ||
		    bykey->elements != *nout)
			goto out;
		for (i = 0; i < *nout; i++)
			if (bykey->element[i]->type != REDIS_REPLY_NIL &&
			    out[i].key[0] != '\0')
				out[i].opted_out = 1;
	}
	rc = 0;
	goto out;
fail:
	db_discard(db);
out:
	if (rep != NULL)
		db_replies_free(rep, n);
	free(rep);
	freeReplyObject(byid);
	freeReplyObject(bykey);
	free(nums);
	free(argv);
	free(argl);
	if (rc == -1) {
		for (i = 0; i < *nout; i++)
			contact_clear(&out[i]);
		*nout = 0;
	}
	return rc;
}

int
store_contact_page(struct db *db, uint64_t tenant, uint64_t start,
    size_t limit, store_contact_match_fn *match, void *arg,
    struct contact *out, size_t *nout, uint64_t *next)
{
	uint64_t	*ids, *hits;
	size_t		 n, looked, scanned = 0, nhits = 0;
	int		 rc = 0;

	*nout = 0;
	*next = 0;
	if (start == 0 && (store_tenant_last_id(db, tenant, "contact",
	    &start) == -1))
		return -1;
	ids = xcalloc(STORE_CONTACT_PAGE_BATCH, sizeof(*ids));
	hits = xcalloc(limit ? limit : 1, sizeof(*hits));
	/* Newest first, STORE_CONTACT_PAGE_BATCH ids a round trip, at
	 * most STORE_CONTACT_PAGE_SCAN per call whatever matches: the
	 * caller gets *next to go on from, even with a short page. */
	while (start > 0 && nhits < limit &&
	    scanned < STORE_CONTACT_PAGE_SCAN) {
		n = page_ids(start, STORE_CONTACT_PAGE_SCAN - scanned <
		    STORE_CONTACT_PAGE_BATCH ? STORE_CONTACT_PAGE_SCAN -
		    scanned : STORE_CONTACT_PAGE_BATCH, ids);
		if (page_probe(db, tenant, ids, n, match, arg, hits, &nhits,
		    limit, &looked) == -1) {
			rc = -1;
			break;
		}
		scanned += looked;
		start -= looked;
	}
	if (rc == 0 && page_read(db, tenant, hits, nhits, out, nout) == -1)
		rc = -1;
	if (rc == 0)
		*next = start;
	free(ids);
	free(hits);
	return rc;
}
