/*
 * store_campaign.c: a tenant's campaigns, in Redis (store_campaign.h
 * says what each function answers).  campaign_parse_field is pure: the
 * record's encoding, read back, in one place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_campaign.h"
#include "store_tenant.h"

static const char *const count_names[CAMPAIGN_NCOUNTS] = {
	"total", "queued", "sent", "failed", "deferred",
	"sup_opted_out", "sup_blocklisted", "sup_special_category",
	"sup_bounced", "sup_erased", "sup_complained"
};

const char *
campaign_count_name(enum campaign_count n)
{
	return n < CAMPAIGN_NCOUNTS ? count_names[n] : NULL;
}

void
campaign_init(struct campaign *c, uint64_t id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->track_opens = c->track_clicks = -1;
}

void
campaign_parse_field(struct campaign *c, const char *f, const char *v,
    size_t len)
{
	char		**str = NULL;
	uint64_t	 *u64 = NULL, u;
	size_t		  i;

	if (strcmp(f, "name") == 0)
		str = &c->name;
	else if (strcmp(f, "status") == 0)
		str = &c->status;
	else if (strcmp(f, "from") == 0)
		str = &c->from;
	else if (strcmp(f, "reply_to") == 0) {
		if (len > 0)
			str = &c->reply_to;
	} else if (strcmp(f, "template_id") == 0)
		u64 = &c->template_id;
	else if (strcmp(f, "list_id") == 0)
		u64 = &c->list_id;
	else if (strcmp(f, "created_at") == 0)
		u64 = &c->created_at;
	else if (strcmp(f, "segment_id") == 0)
		u64 = &c->segment_id;
	else if (strcmp(f, "launched_at") == 0)
		u64 = &c->launched_at;
	else if (strcmp(f, "finished_at") == 0)
		u64 = &c->finished_at;
	else if (strcmp(f, "form") == 0)
		u64 = &c->form;
	else if (strcmp(f, "sysmail") == 0)
		c->sysmail = len > 0 && v[0] == '1';
	else if (strcmp(f, "subject_prefix") == 0) {
		if (len > 0)
			str = &c->subject_prefix;
	}
	else if (strcmp(f, "rate_per_second") == 0)
		(void)parse_ll(v, len, &c->rate_per_second);
	else if (strcmp(f, "track_opens") == 0)
		c->track_opens = len > 0 && v[0] == '1';
	else if (strcmp(f, "track_clicks") == 0)
		c->track_clicks = len > 0 && v[0] == '1';
	else
		for (i = 0; i < CAMPAIGN_NCOUNTS; i++)
			if (strcmp(f, count_names[i]) == 0)
				(void)parse_ll(v, len, &c->count[i]);
	if (str != NULL && *str == NULL)
		*str = xstrndup(v, len);
	if (u64 != NULL && parse_u64(v, len, &u) == 0)
		*u64 = u;
}

static void
campaign_field(void *c, const char *f, size_t flen, const char *v,
    size_t vlen)
{
	(void)flen;
	campaign_parse_field(c, f, v, vlen);
}

int
store_campaign_get(struct db *db, uint64_t tenant, uint64_t id,
    struct campaign *c)
{
	struct key	k;

	campaign_init(c, id);
	return db_hash_each(db, key_campaign(&k, tenant, id), campaign_field,
	    c);
}

void
store_campaign_free(struct campaign *c)
{
	free(c->name);
	free(c->status);
	free(c->from);
	free(c->reply_to);
	free(c->subject_prefix);
	campaign_init(c, c->id);
}

int
store_campaign_ids(struct db *db, uint64_t tenant, uint64_t **ids,
    size_t *n)
{
	struct key	 k;

	/* The index's scores are the ids: ascending. */
	return reply_take_ids(db_cmd(db, "ZRANGE %s 0 -1",
	    key_campaigns(&k, tenant)), ids, n);
}

/* The link table in one HSET: index, URL, ... (links[i] NULL skipped).
 * 0, or -1 when Redis failed. */
static int
links_put(struct db *db, uint64_t tenant, uint64_t id,
    const char *const *links, size_t nlinks)
{
	redisReply	 *rep;
	struct key	  k;
	const char	**argv;
	size_t		 *lens, i;
	char		 *nums;
	int		  argc = 0, rc;

	argv = xcalloc(2 + 2 * nlinks, sizeof(*argv));
	lens = xcalloc(2 + 2 * nlinks, sizeof(*lens));
	nums = xcalloc(nlinks + 1, 24);
	argv[argc] = "HSET";
	lens[argc++] = 4;
	argv[argc] = key_camp_links(&k, tenant, id);
	lens[argc++] = k.len;
	for (i = 0; i < nlinks; i++) {
		if (links[i] == NULL)
			continue;
		argv[argc] = nums + 24 * i;
		lens[argc++] = (size_t)snprintf(nums + 24 * i, 24, "%zu", i);
		argv[argc] = links[i];
		lens[argc++] = strlen(links[i]);
	}
	rc = 0;
	if (argc > 2) {
		rep = db_cmdargv(db, argc, argv, lens);
		rc = reply_ok(rep) ? 0 : -1;
		if (rep != NULL)
			freeReplyObject(rep);
	}
	free(argv);
	free(lens);
	free(nums);
	return rc;
}

int
store_campaign_create(struct db *db, uint64_t tenant,
    const struct campaign_draft *d, const char *const *links, size_t nlinks,
    uint64_t *id)
{
	redisReply	*rep;
	struct key	 k;
	long long	 exists;
	int		 rc;

	if (d->list_id != 0 || d->segment_id == 0) {
		if (db_cmd_int(db, &exists, "EXISTS %s", key_list(&k, tenant,
		    d->list_id)) == -1)
			return -1;
		if (exists != 1)
			return 0;
	}
	if (store_tenant_next_id(db, tenant, "campaign", id) == -1 ||
	    links_put(db, tenant, *id, links, nlinks) == -1)
		return -1;
	rep = db_cmd(db, "HSET %s name %b template_id %llu "
	    "list_id %llu from %s reply_to %s rate_per_second %lld "
	    "track_opens %d track_clicks %d status draft created_at %llu "
	    "segment_id %llu",
	    key_campaign(&k, tenant, *id), d->name, d->name_len,
	    (unsigned long long)d->template_id,
	    (unsigned long long)d->list_id, d->from, d->reply_to,
	    d->rate_per_second, d->track_opens != 0, d->track_clicks != 0,
	    (unsigned long long)d->created_at,
	    (unsigned long long)d->segment_id);
	rc = reply_ok(rep) ? 0 : -1;
	if (rep != NULL)
		freeReplyObject(rep);
	if (rc == -1)
		return -1;
	/* Out of the index, a campaign is only missing from the list of
	 * campaigns: it is answered by id, launched and sent. */
	if ((rep = db_cmd(db, "ZADD %s %llu %llu", key_campaigns(&k, tenant),
	    (unsigned long long)*id, (unsigned long long)*id)) != NULL)
		freeReplyObject(rep);
	return 1;
}

/* Two fields of the campaign record read as numbers, by one HMGET: bit
 * i of the answer set when field i is one, with it in v[i]; -1 when
 * Redis failed. */
static int
campaign_numbers(struct db *db, uint64_t tenant, uint64_t id,
    const char *f0, const char *f1, uint64_t v[2])
{
	redisReply	*rep;
	struct key	 k;
	size_t		 i;
	int		 found = 0;

	if ((rep = db_cmd(db, "HMGET %s %s %s", key_campaign(&k, tenant, id),
	    f0, f1)) == NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		found = -1;
	else
		for (i = 0; rep->type == REDIS_REPLY_ARRAY &&
		    i < rep->elements && i < 2; i++)
			if (reply_u64(rep->element[i], &v[i]) == 0)
				found |= 1 << i;
	freeReplyObject(rep);
	return found;
}

int
store_campaign_refs(struct db *db, uint64_t tenant, uint64_t id,
    uint64_t *list, uint64_t *template_id)
{
	uint64_t	v[2] = { 0, 0 };
	int		found;

	if ((found = campaign_numbers(db, tenant, id, "list_id",
	    "template_id", v)) == -1)
		return -1;
	*list = v[0];
	*template_id = v[1];
	return found == 3;
}

int
store_campaign_since(struct db *db, uint64_t tenant, uint64_t id,
    uint64_t *since)
{
	uint64_t	v[2] = { 0, 0 };
	int		found;

	*since = 0;
	if ((found = campaign_numbers(db, tenant, id, "launched_at",
	    "created_at", v)) == -1)
		return -1;
	*since = found & 1 ? v[0] : found & 2 ? v[1] : 0;
	return 0;
}

int
store_campaign_sending(struct db *db, uint64_t tenant, uint64_t id)
{
	redisReply	*rep;
	struct key	 k;
	const char	*st;
	int		 rc;

	if ((rep = db_cmd(db, "HGET %s status", key_campaign(&k, tenant,
	    id))) == NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		rc = -1;
	else
		rc = (st = reply_str(rep, NULL)) != NULL &&
		    strcmp(st, "sending") == 0;
	freeReplyObject(rep);
	return rc;
}

/* store_campaign_links' table as it grows (doubling: a realloc per row
 * would copy it over and over), NULL-terminated. */
struct link_table {
	char	**pairs;
	size_t	  n, cap;	/* rows; room for cap rows and the NULL */
};

static void
link_add(void *arg, const char *f, size_t flen, const char *v, size_t vlen)
{
	struct link_table	*t = arg;

	if (t->n + 1 > t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->pairs = xreallocarray(t->pairs, 2 * t->cap + 1,
		    sizeof(*t->pairs));
	}
	t->pairs[2 * t->n] = xstrndup(f, flen);
	t->pairs[2 * t->n + 1] = xstrndup(v, vlen);
	t->pairs[2 * ++t->n] = NULL;
}

int
store_campaign_links(struct db *db, uint64_t tenant, uint64_t id,
    char ***pairs, size_t *n)
{
	struct link_table	t;
	struct key		k;

	t.pairs = xcalloc(1, sizeof(*t.pairs));
	t.n = t.cap = 0;
	if (db_hash_each(db, key_camp_links(&k, tenant, id), link_add, &t) ==
	    -1) {
		store_campaign_links_free(t.pairs, t.n);
		t.pairs = NULL;
		t.n = 0;
	}
	*pairs = t.pairs;
	*n = t.n;
	return t.pairs == NULL ? -1 : 0;
}

void
store_campaign_links_free(char **pairs, size_t n)
{
	size_t	i;

	for (i = 0; i < 2 * n; i++)
		free(pairs[i]);
	free(pairs);
}

int
store_campaign_link_set(struct db *db, uint64_t tenant, uint64_t id,
    uint32_t link, const char *url)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	rep = db_cmd(db, "HSET %s %u %s", key_camp_links(&k, tenant, id), link,
	    url);
	rc = reply_ok(rep) ? 0 : -1;
	if (rep != NULL)
		freeReplyObject(rep);
	return rc;
}

int
store_campaign_known(struct db *db, uint64_t tenant, uint64_t id)
{
	redisReply	*camp, *track;
	struct key	 k, k2;
	long long	 ncamp, ntrack;
	int		 rc = -1;

	if (db_append(db, "EXISTS %s", key_campaign(&k, tenant, id)) == -1 ||
	    db_append(db, "EXISTS %s %s", key_camp_stats(&k, tenant, id),
	    key_camp_links(&k2, tenant, id)) == -1)
		return -1;
	camp = db_reply(db);
	track = db_reply(db);
	if (camp != NULL && track != NULL &&
	    camp->type == REDIS_REPLY_INTEGER &&
	    track->type == REDIS_REPLY_INTEGER &&
	    reply_int(camp, &ncamp) == 0 && reply_int(track, &ntrack) == 0)
		rc = ncamp > 0 || ntrack > 0;
	if (camp != NULL)
		freeReplyObject(camp);
	if (track != NULL)
		freeReplyObject(track);
	return rc;
}
