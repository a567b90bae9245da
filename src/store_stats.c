/*
 * store_stats.c: a campaign's tracking data, read back (store_stats.h
 * says what each function answers).  The delivery counts are the
 * senders', in the campaign record (the tenant's slot; "delivered" is
 * what the relay accepted, i.e. sent); the tracking counts are in
 * {t:T:c:C}, another slot: separate commands, pipelined.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_stats.h"

void
campaign_stats_init(struct campaign_stats *s)
{
	memset(s, 0, sizeof(*s));
}

void
campaign_stats_add_link(struct campaign_stats *s, const char *index,
    size_t index_len, const char *url, size_t url_len)
{
	struct link_stats	*l;
	uint64_t		 link;

	if (parse_u64(index, index_len, &link) == -1)
		return;
	/* Appended: HGETALL's order is the hash's, and a sorted insert per
	 * row was quadratic in a tenant's number of links. */
	if (s->nlinks > 0 && link <= s->links[s->nlinks - 1].link)
		s->links_unsorted = 1;
	if (s->nlinks == s->linkcap) {
		s->linkcap = s->linkcap ? s->linkcap * 2 : 16;
		s->links = xreallocarray(s->links, s->linkcap,
		    sizeof(*s->links));
	}
	l = &s->links[s->nlinks++];
	memset(l, 0, sizeof(*l));
	l->link = link;
	l->url = xstrndup(url, url_len);
}

/* Orders positions in links (arg) by (index, position added). */
static int
links_cmp(const void *a, const void *b, void *arg)
{
	const struct link_stats	*base = arg;
	size_t	 i = *(const size_t *)a, j = *(const size_t *)b;

	if (base[i].link != base[j].link)
		return base[i].link < base[j].link ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Sorts the links by index once, keeping the first row of each index. */
static void
links_settle(struct campaign_stats *s)
{
	struct link_stats	*sorted;
	size_t			*order, i, n = 0;

	if (!s->links_unsorted)
		return;
	s->links_unsorted = 0;
	order = xcalloc(s->nlinks, sizeof(*order));
	for (i = 0; i < s->nlinks; i++)
		order[i] = i;
	qsort_r(order, s->nlinks, sizeof(*order), links_cmp, s->links);
	sorted = xcalloc(s->nlinks, sizeof(*sorted));
	for (i = 0; i < s->nlinks; i++) {
		const struct link_stats *l = &s->links[order[i]];

		if (n > 0 && sorted[n - 1].link == l->link)
			free(l->url);		/* a later row: dropped */
		else
			sorted[n++] = *l;
	}
	free(s->links);
	free(order);
	s->links = sorted;
	s->nlinks = n;
	s->linkcap = s->nlinks;	/* (sorted has room for the old count) */
}

/* The link of index, or NULL. */
static struct link_stats *
link_find(struct campaign_stats *s, const char *index)
{
	uint64_t	link;
	size_t		lo = 0, hi = s->nlinks, mid;

	if (parse_u64(index, strlen(index), &link) == -1)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->links[mid].link < link)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nlinks && s->links[lo].link == link ? &s->links[lo] :
	    NULL;
}

/* The counters of the stats hash, by field name. */
static const struct {
	const char	*field;
	size_t		 off;
} stats_counters[] = {
	{ "opens", offsetof(struct campaign_stats, opens) },
	{ "opens_unique", offsetof(struct campaign_stats, opens_unique) },
	{ "opens_machine", offsetof(struct campaign_stats, opens_machine) },
	{ "clicks", offsetof(struct campaign_stats, clicks) },
	{ "clicks_unique", offsetof(struct campaign_stats, clicks_unique) },
	{ "clicks_machine", offsetof(struct campaign_stats, clicks_machine) },
	{ "unsubscribes", offsetof(struct campaign_stats, unsubscribes) },
};

void
campaign_stats_parse_field(struct campaign_stats *s, const char *f,
    const char *v, size_t len)
{
	struct link_stats	*l;
	struct country_stats	*c;
	long long		 n;
	size_t			 i;

	links_settle(s);
	if (parse_ll(v, len, &n) == -1)
		return;
	for (i = 0; i < FF_NELEM(stats_counters); i++)
		if (strcmp(f, stats_counters[i].field) == 0) {
			*(long long *)(void *)((char *)s +
			    stats_counters[i].off) = n;
			return;
		}
	if (strncmp(f, "link:", 5) == 0) {
		if ((l = link_find(s, f + 5)) != NULL)
			l->total = n;
	} else if (strncmp(f, "link_unique:", 12) == 0) {
		if ((l = link_find(s, f + 12)) != NULL)
			l->unique = n;
	} else if (strncmp(f, "country:", 8) == 0) {
		s->countries = xreallocarray(s->countries, s->ncountries + 1,
		    sizeof(*s->countries));
		c = &s->countries[s->ncountries++];
		c->code = xstrdup(f + 8);
		c->count = n;
	}
}

void
store_stats_free(struct campaign_stats *s)
{
	size_t	i;

	for (i = 0; i < s->nlinks; i++)
		free(s->links[i].url);
	free(s->links);
	for (i = 0; i < s->ncountries; i++)
		free(s->countries[i].code);
	free(s->countries);
	campaign_stats_init(s);
}

/* An element of an HMGET reply as a number; 0 when missing. */
static long long
hmget_num(const redisReply *r, size_t i)
{
	long long	n;

	if (i >= r->elements || reply_int(r->element[i], &n) == -1)
		return 0;
	return n;
}

int
store_stats_get(struct db *db, uint64_t tenant, uint64_t campaign,
    struct campaign_stats *s)
{
	redisReply	*r[3];		/* stats, links, campaign */
	const char	*f, *v;
	size_t		 i, flen, len;
	struct key	 k;
	int		 rc;

	campaign_stats_init(s);
	if (db_append(db, "HGETALL %s",
	    key_camp_stats(&k, tenant, campaign)) == -1 ||
	    db_append(db, "HGETALL %s",
	    key_camp_links(&k, tenant, campaign)) == -1 ||
	    db_append(db, "HMGET %s sent bounced bounces_soft complaints",
	    key_campaign(&k, tenant, campaign)) == -1)
		return -1;
	if ((rc = db_reply_arrays(db, r, 3)) == 0) {
		for (i = 0; reply_hash_next(r[1], &i, &f, &flen, &v, &len);)
			campaign_stats_add_link(s, f, flen, v, len);
		links_settle(s);
		for (i = 0; reply_hash_next(r[0], &i, &f, NULL, &v, &len);)
			campaign_stats_parse_field(s, f, v, len);
		s->sent = hmget_num(r[2], 0);
		s->bounced = hmget_num(r[2], 1);
		s->bounces_soft = hmget_num(r[2], 2);
		s->complaints = hmget_num(r[2], 3);
	}
	db_replies_free(r, 3);
	if (rc == -1)
		store_stats_free(s);
	return rc;
}

int
store_stats_series(struct db *db, uint64_t tenant, uint64_t campaign,
    int step, uint64_t first, size_t count, long long *counts)
{
	redisReply	 *rep;
	const char	**argv;
	size_t		 *argvlen, argc, i, kind;
	char		 *names;
	struct key	  k;
	int		  rc = -1;

	argc = 2 + SERIES_NKINDS * count;
	argv = xcalloc(argc, sizeof(*argv));
	argvlen = xcalloc(argc, sizeof(*argvlen));
	names = xmalloc(SERIES_NKINDS * count * SERIES_FIELD_MAX + 1);
	argv[0] = "HMGET";
	argvlen[0] = 5;
	argv[1] = key_camp_ts(&k, tenant, campaign);
	argvlen[1] = k.len;
	for (i = 0; i < count; i++)
		for (kind = 0; kind < SERIES_NKINDS; kind++) {
			size_t	 at = i * SERIES_NKINDS + kind;
			char	*f = names + at * SERIES_FIELD_MAX;

			argv[2 + at] = f;
			argvlen[2 + at] = series_field(f,
			    (enum series_kind)kind, step, first + i);
		}
	rep = db_cmdargv(db, (int)argc, argv, argvlen);
	free(argv);
	free(argvlen);
	free(names);
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == argc - 2) {
		for (i = 0; i < argc - 2; i++)
			if (reply_int(rep->element[i], &counts[i]) == -1)
				counts[i] = 0;
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

long long
store_stats_trim_events(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t minid)
{
	redisReply	*rep;
	struct key	 k;
	long long	 n = 0;

	if ((rep = db_cmd(db, "XTRIM %s MINID %llu-0",
	    key_camp_events(&k, tenant, campaign),
	    (unsigned long long)minid)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_INTEGER || reply_int(rep, &n) == -1)
		n = 0;
	freeReplyObject(rep);
	return n;
}
