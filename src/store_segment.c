/*
 * store_segment.c: segments in Redis and their evaluation a page at a
 * time (store_segment.h says what each function answers and what a
 * page costs).  Never holds more than one page of contacts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "segment.h"
#include "store_segment.h"
#include "store_tenant.h"

int
store_segment_create(struct db *db, uint64_t tenant, const char *def,
    uint64_t now, uint64_t *id)
{
	struct key	k;

	if (store_tenant_next_id(db, tenant, "segment", id) == -1)
		return -1;
	if (reply_done(db_cmd(db, "HSET %s def %s created_at %llu "
	    "updated_at %llu", key_segment(&k, tenant, *id), def,
	    (unsigned long long)now, (unsigned long long)now)) == -1)
		return -1;
	return reply_done(db_cmd(db, "ZADD %s %llu %llu",
	    key_segments(&k, tenant), (unsigned long long)*id,
	    (unsigned long long)*id));
}

int
store_segment_get(struct db *db, uint64_t tenant, uint64_t id, char **def,
    uint64_t *created_at, uint64_t *updated_at)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc = 0;

	*def = NULL;
	*created_at = *updated_at = 0;
	if ((rep = db_cmd(db, "HMGET %s def created_at updated_at",
	    key_segment(&k, tenant, id))) == NULL)
		return -1;
	if (reply_is_error(rep, NULL) || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != 3)
		rc = -1;
	else if ((s = reply_str(rep->element[0], &len)) != NULL) {
		*def = xstrndup(s, len);
		(void)reply_u64(rep->element[1], created_at);
		(void)reply_u64(rep->element[2], updated_at);
		rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}

int
store_segment_update(struct db *db, uint64_t tenant, uint64_t id,
    const char *def, uint64_t now)
{
	struct key	k;
	long long	exists;

	/* A DELETE between the two leaves a record out of the index: it
	 * answers by id until deleted again, as a campaign does. */
	if (db_cmd_int(db, &exists, "EXISTS %s", key_segment(&k, tenant,
	    id)) == -1)
		return -1;
	if (exists != 1)
		return 0;
	if (reply_done(db_cmd(db, "HSET %s def %s updated_at %llu", k.s, def,
	    (unsigned long long)now)) == -1)
		return -1;
	return 1;
}

int
store_segment_delete(struct db *db, uint64_t tenant, uint64_t id)
{
	struct key	k;
	long long	n;

	if (db_cmd_int(db, &n, "DEL %s", key_segment(&k, tenant, id)) == -1)
		return -1;
	if (reply_done(db_cmd(db, "ZREM %s %llu", key_segments(&k, tenant),
	    (unsigned long long)id)) == -1)
		return -1;
	return n > 0;
}

int
store_segment_ids(struct db *db, uint64_t tenant, uint64_t **ids, size_t *n)
{
	struct key	k;

	return reply_take_ids(db_cmd(db, "ZRANGE %s 0 -1",
	    key_segments(&k, tenant)), ids, n);
}

/* ---------------------------------------------------------- evaluation */

/* A page's answers to the segment's sets: bit s of in[i] is contact i
 * in set s (at most 64 sets: segment.h's 2 per rule). */
struct page_probe {
	const uint64_t	*in;
	size_t		 i;
};

static int
page_in_set(void *arg, size_t set)
{
	const struct page_probe	*p = arg;

	return (int)((p->in[p->i] >> set) & 1);
}

/* The scan's next page of ids into ids (n of them); 0, or -1. */
static int
scan_page(struct db *db, uint64_t tenant, struct segment_scan *scan,
    uint64_t **ids, size_t *n)
{
	redisReply	*page, *items, *m;
	struct key	 k;
	const char	*next;
	size_t		 i, step;
	int		 rc = -1;

	*ids = NULL;
	*n = 0;
	if (scan->list != 0)
		page = db_cmd(db, "SSCAN %s %s COUNT %d", key_list_members(&k,
		    tenant, scan->list), scan->cursor, STORE_SEGMENT_PAGE);
	else
		page = db_cmd(db, "HSCAN %s %s COUNT %d", key_contact_bykey(&k,
		    tenant), scan->cursor, STORE_SEGMENT_PAGE);
	if (page == NULL || page->type != REDIS_REPLY_ARRAY ||
	    page->elements != 2 ||
	    page->element[0]->type != REDIS_REPLY_STRING ||
	    (next = reply_str(page->element[0], NULL)) == NULL ||
	    strlen(next) >= sizeof(scan->cursor) ||
	    page->element[1]->type != REDIS_REPLY_ARRAY)
		goto out;
	items = page->element[1];
	/* HSCAN: field, value pairs; the value is the contact id. */
	step = scan->list != 0 ? 1 : 2;
	*ids = xcalloc(items->elements / step + 1, sizeof(**ids));
	for (i = step - 1; i < items->elements; i += step) {
		m = items->element[i];
		/* Ids are SETBIT offsets of a launch's bitmap: < 2^32. */
		if (reply_u64(m, &(*ids)[*n]) == -1 || (*ids)[*n] == 0 ||
		    (*ids)[*n] >= (1ULL << 32)) {
			scan->skipped++;
			continue;
		}
		(*n)++;
	}
	snprintf(scan->cursor, sizeof(scan->cursor), "%s", next);
	scan->done = strcmp(next, "0") == 0;
	scan->seen += *n;
	rc = 0;
out:
	freeReplyObject(page);
	if (rc == -1) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

/* Appends the question to one set about the n ids: SMISMEMBER, or the
 * message record's HMGET; 0 or -1 (the pipeline is dropped). */
static int
ask_set(struct db *db, uint64_t tenant, const struct segment_set *set,
    const uint64_t *ids, size_t n, char *nums)
{
	const char	**argv;
	size_t		 *lens, i;
	struct key	  k;
	int		  rc;

	argv = xcalloc(n + 2, sizeof(*argv));
	lens = xcalloc(n + 2, sizeof(*lens));
	switch (set->kind) {
	case SEGMENT_SET_LIST:
		argv[0] = "SMISMEMBER";
		key_list_members(&k, tenant, set->id);
		break;
	case SEGMENT_SET_OPENERS:
		argv[0] = "SMISMEMBER";
		key_camp_openers(&k, tenant, set->id);
		break;
	case SEGMENT_SET_CLICKERS:
		argv[0] = "SMISMEMBER";
		key_camp_clickers(&k, tenant, set->id);
		break;
	case SEGMENT_SET_MAILED:
		argv[0] = "HMGET";
		key_campaign_msgs(&k, tenant, set->id);
		break;
	}
	lens[0] = strlen(argv[0]);
	argv[1] = k.s;
	lens[1] = k.len;
	for (i = 0; i < n; i++) {
		argv[i + 2] = nums + 24 * i;
		lens[i + 2] = strlen(nums + 24 * i);
	}
	rc = db_appendargv(db, (int)n + 2, argv, lens);
	free(argv);
	free(lens);
	return rc;
}

/* Whether element i of a set's answer says "in": 1 of SMISMEMBER, or a
 * message record whose outcome is "sent" ("time sent"). */
static int
set_answer(const struct segment_set *set, const redisReply *r)
{
	const char	*s, *sp;
	size_t		 len;
	long long	 v;

	if (set->kind != SEGMENT_SET_MAILED)
		return reply_int(r, &v) == 0 && v == 1;
	if ((s = reply_str(r, &len)) == NULL ||
	    (sp = memchr(s, ' ', len)) == NULL)
		return 0;
	return (size_t)(s + len - (sp + 1)) == 4 && memcmp(sp + 1, "sent",
	    4) == 0;
}

/* Evaluates the n ids on seg: the matching ones stay at the front of
 * ids, their number in *matched; 0, or -1. */
static int
eval_page(struct db *db, uint64_t tenant, const struct segment *seg,
    uint64_t *ids, size_t n, size_t *matched)
{
	const struct segment_set *sets;
	struct page_probe	  probe;
	struct contact		  c;
	redisReply		**rep = NULL, *h, *sr;
	struct key		  k;
	uint64_t		 *in = NULL;
	const char		 *f, *v;
	size_t			  nsets, i, s, fl, vl, j, kept = 0;
	char			 *nums = NULL;
	int			  rc = -1;

	*matched = 0;
	if (n == 0)
		return 0;
	sets = segment_sets(seg, &nsets);
	nums = xcalloc(n, 24);
	for (i = 0; i < n; i++)
		snprintf(nums + 24 * i, 24, "%llu", (unsigned long long)ids[i]);
	for (i = 0; i < n; i++)
		if (db_append(db, "HGETALL %s", key_contact(&k, tenant,
		    ids[i])) == -1)
			goto out;
	for (s = 0; s < nsets; s++)
		if (ask_set(db, tenant, &sets[s], ids, n, nums) == -1)
			goto out;
	rep = xcalloc(n + nsets, sizeof(*rep));
	if (db_reply_arrays(db, rep, n + nsets) == -1)
		goto out;
	in = xcalloc(n, sizeof(*in));
	for (s = 0; s < nsets; s++) {
		sr = rep[n + s];
		if (sr->elements != n)
			goto out;
		for (i = 0; i < n; i++)
			if (set_answer(&sets[s], sr->element[i]))
				in[i] |= 1ULL << s;
	}
	probe.in = in;
	for (i = 0; i < n; i++) {
		h = rep[i];
		if (h->elements == 0)
			continue;	/* gone since the scan */
		contact_init(&c, ids[i]);
		j = 0;
		while (reply_hash_next(h, &j, &f, &fl, &v, &vl))
			contact_hash_set(&c, f, fl, v, vl);
		probe.i = i;
		if (segment_match(seg, &c, page_in_set, &probe))
			ids[kept++] = ids[i];
		contact_clear(&c);
	}
	*matched = kept;
	rc = 0;
out:
	if (rep != NULL)
		db_replies_free(rep, n + nsets);
	else
		db_discard(db);
	free(rep);
	free(in);
	free(nums);
	return rc;
}

int
store_segment_page(struct db *db, uint64_t tenant, const struct segment *seg,
    struct segment_scan *scan, uint64_t **ids, size_t *n)
{
	size_t	got;

	if (scan_page(db, tenant, scan, ids, &got) == -1)
		return -1;
	if (eval_page(db, tenant, seg, *ids, got, n) == -1) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/*
 * SSCAN and HSCAN may give a member twice (the table was resized during
 * the scan): a bitmap of the ids counted so far keeps the count exact.
 * Ids are a tenant's sequence, so it costs one bit per id ever given
 * (125 kB a million), not a copy of the contacts.
 */
struct seen {
	uint8_t	*bits;
	size_t	 len;
};

/* 1 when id was seen already; marks it. */
static int
seen_test_set(struct seen *sn, uint64_t id)
{
	size_t	byte = (size_t)(id / 8), nlen;
	uint8_t	mask = (uint8_t)(1u << (id % 8));
	int	was;

	if (byte >= sn->len) {
		nlen = sn->len ? sn->len : 4096;
		while (nlen <= byte)
			nlen *= 2;
		sn->bits = xreallocarray(sn->bits, nlen, 1);
		memset(sn->bits + sn->len, 0, nlen - sn->len);
		sn->len = nlen;
	}
	was = (sn->bits[byte] & mask) != 0;
	sn->bits[byte] |= mask;
	return was;
}

int
store_segment_count(struct db *db, uint64_t tenant, const struct segment *seg,
    uint64_t list, long long *count)
{
	struct segment_scan	 scan;
	struct seen		 sn = { NULL, 0 };
	uint64_t		*ids;
	size_t			 n, i;
	int			 rc = 0;

	*count = 0;
	memset(&scan, 0, sizeof(scan));
	scan.list = list;
	snprintf(scan.cursor, sizeof(scan.cursor), "0");
	while (!scan.done) {
		if (store_segment_page(db, tenant, seg, &scan, &ids, &n) ==
		    -1) {
			rc = -1;
			break;
		}
		for (i = 0; i < n; i++)
			if (!seen_test_set(&sn, ids[i]))
				(*count)++;
		free(ids);
	}
	free(sn.bits);
	return rc;
}
