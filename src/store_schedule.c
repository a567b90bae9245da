/*
 * store_schedule.c: a campaign's schedule and A/B test in Redis
 * (store_schedule.h says what each function answers).  The due sets
 * ff:scheduled and ff:ab_due are node-wide, like ff:sending, and are
 * changed by commands of their own; every script's keys are the
 * tenant's ({t:T}...), one Redis Cluster slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "store_launch.h"
#include "store_schedule.h"

#define AB_FIGURES_PAGE	1000	/* HMGET of the variant map, per call */

void
campaign_schedule_init(struct campaign_schedule *s)
{
	memset(s, 0, sizeof(*s));
	s->local_time = -1;
}

void
store_schedule_free(struct campaign_schedule *s)
{
	free(s->ab);
	campaign_schedule_init(s);
}

/* "prefix:V" with V in 1..AB_MAX_VARIANTS: V - 1, else -1. */
static int
variant_field(const char *f, size_t flen, const char *prefix)
{
	size_t	plen = strlen(prefix);

	if (flen != plen + 1 || memcmp(f, prefix, plen) != 0 ||
	    f[plen] < '1' || f[plen] > '0' + AB_MAX_VARIANTS)
		return -1;
	return f[plen] - '1';
}

void
campaign_schedule_field(struct campaign_schedule *s, const char *f,
    size_t flen, const char *v, size_t vlen)
{
	uint64_t	u;
	long long	n;
	int		i;

#define IS(name)	(flen == sizeof(name) - 1 && memcmp(f, name, flen) == 0)
	if (IS("send_at") && parse_u64(v, vlen, &u) == 0)
		s->send_at = u;
	else if (IS("local_time") && parse_ll(v, vlen, &n) == 0 && n >= 0 &&
	    n < 86400)
		s->local_time = (int)n;
	else if (IS("timezone") && vlen <= TZ_NAME_MAX) {
		memcpy(s->timezone, v, vlen);
		s->timezone[vlen] = '\0';
	} else if (IS("ab") && s->ab == NULL && vlen > 0)
		s->ab = xstrndup(v, vlen);
	else if (IS("launched_at") && parse_u64(v, vlen, &u) == 0)
		s->launched_at = u;
	else if (IS("total"))
		(void)parse_ll(v, vlen, &s->total);
	else if (IS("ab_winner") && parse_ll(v, vlen, &n) == 0 && n >= 1 &&
	    n <= AB_MAX_VARIANTS)
		s->ab_winner = (int)n;
	else if (IS("ab_decided_at") && parse_u64(v, vlen, &u) == 0)
		s->ab_decided_at = u;
	else if ((i = variant_field(f, flen, "ab_queued:")) >= 0)
		(void)parse_ll(v, vlen, &s->ab_queued[i]);
	else if ((i = variant_field(f, flen, "ab_sent:")) >= 0)
		(void)parse_ll(v, vlen, &s->ab_sent[i]);
	else if ((i = variant_field(f, flen, "ab_fig_sent:")) >= 0)
		(void)parse_ll(v, vlen, &s->ab_fig[i].sent);
	else if ((i = variant_field(f, flen, "ab_fig_opens:")) >= 0)
		(void)parse_ll(v, vlen, &s->ab_fig[i].opens);
	else if ((i = variant_field(f, flen, "ab_fig_clicks:")) >= 0)
		(void)parse_ll(v, vlen, &s->ab_fig[i].clicks);
#undef IS
}

static void
schedule_field(void *arg, const char *f, size_t flen, const char *v,
    size_t vlen)
{
	campaign_schedule_field(arg, f, flen, v, vlen);
}

int
store_schedule_get(struct db *db, uint64_t tenant, uint64_t campaign,
    struct campaign_schedule *s)
{
	struct key	k;

	campaign_schedule_init(s);
	return db_hash_each(db, key_campaign(&k, tenant, campaign),
	    schedule_field, s);
}

int
store_schedule_set(struct db *db, uint64_t tenant, uint64_t campaign,
    const struct campaign_schedule *s)
{
	const char	*argv[12];
	size_t		 lens[12];
	char		 at[24], lt[16];
	struct key	 k;
	int		 argc = 0, i;

	argv[argc++] = "HSET";
	argv[argc++] = key_campaign(&k, tenant, campaign);
	if (s->send_at != 0) {
		snprintf(at, sizeof(at), "%llu", (unsigned long long)s->send_at);
		argv[argc++] = "send_at";
		argv[argc++] = at;
	}
	if (s->local_time >= 0) {
		snprintf(lt, sizeof(lt), "%d", s->local_time);
		argv[argc++] = "local_time";
		argv[argc++] = lt;
	}
	if (s->timezone[0] != '\0') {
		argv[argc++] = "timezone";
		argv[argc++] = s->timezone;
	}
	if (s->ab != NULL) {
		argv[argc++] = "ab";
		argv[argc++] = s->ab;
	}
	if (argc == 2)
		return 0;
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return reply_done(db_cmdargv(db, argc, argv, lens));
}

int
store_schedule(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t list, uint64_t template_id, int segment, uint64_t now,
    struct launch_result *r)
{
	redisReply	*rep;
	const char	*argv[9], *why = "";
	size_t		 lens[9];
	struct key	 camp, t, l, tpl;
	char		 nowbuf[24];
	int		 argc = 2, i, rc = 1;

	memset(r, 0, sizeof(*r));
	snprintf(nowbuf, sizeof(nowbuf), "%llu", (unsigned long long)now);
	argv[argc++] = "4";
	argv[argc++] = key_campaign(&camp, tenant, campaign);
	argv[argc++] = key_tenant(&t, tenant);
	argv[argc++] = key_list(&l, tenant, list);
	argv[argc++] = key_template(&tpl, tenant, template_id);
	argv[argc++] = nowbuf;
	argv[argc++] = list != 0 || !segment ? "list" : "none";
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_run(db, SCRIPT_SCHEDULE, argc, argv, lens)) == NULL)
		return -1;
	if (reply_is_error(rep, NULL)) {
		log_warnx("campaign %llu of tenant %llu: schedule: %.*s",
		    (unsigned long long)campaign, (unsigned long long)tenant,
		    (int)rep->len, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_STRING)
		why = rep->element[0]->str;
	if (strcmp(why, "ok") == 0)
		r->verdict = LAUNCH_OK;
	else if (strcmp(why, "due") == 0)
		rc = 0;
	else if (strcmp(why, "state") == 0 && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_STRING) {
		r->verdict = LAUNCH_STATE;
		snprintf(r->state, sizeof(r->state), "%s",
		    rep->element[1]->str);
	} else if (strcmp(why, "list") == 0)
		r->verdict = LAUNCH_NO_LIST;
	else if (strcmp(why, "template") == 0)
		r->verdict = LAUNCH_NO_TEMPLATE;
	else if (strcmp(why, "tenant") == 0)
		r->verdict = LAUNCH_TENANT;
	else
		r->verdict = LAUNCH_NOT_FOUND;
	freeReplyObject(rep);
	return rc;
}

/* ---------------------------------------------------------- due sets */

static const char *
due_key(enum due_set which)
{
	return which == DUE_AB ? key_ab_due() : key_scheduled();
}

int
store_due_add(struct db *db, enum due_set which, uint64_t tenant,
    uint64_t campaign, uint64_t at)
{
	return reply_done(db_cmd(db, "ZADD %s %llu %llu:%llu", due_key(which),
	    (unsigned long long)at, (unsigned long long)tenant,
	    (unsigned long long)campaign));
}

int
store_due_remove(struct db *db, enum due_set which, uint64_t tenant,
    uint64_t campaign)
{
	return reply_done(db_cmd(db, "ZREM %s %llu:%llu", due_key(which),
	    (unsigned long long)tenant, (unsigned long long)campaign));
}

int
store_due_list(struct db *db, enum due_set which, uint64_t now,
    size_t max, struct sending_campaign **out, size_t *n)
{
	redisReply	*rep;
	const char	*s, *colon;
	size_t		 i, len;

	*out = NULL;
	*n = 0;
	if ((rep = db_cmd(db, "ZRANGEBYSCORE %s -inf %llu LIMIT 0 %llu",
	    due_key(which), (unsigned long long)now,
	    (unsigned long long)max)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	*out = xcalloc(rep->elements + 1, sizeof(**out));
	for (i = 0; i < rep->elements; i++) {
		if ((s = reply_str(rep->element[i], &len)) == NULL ||
		    (colon = memchr(s, ':', len)) == NULL ||
		    parse_u64(s, (size_t)(colon - s), &(*out)[*n].tenant) ==
		    -1 || parse_u64(colon + 1, len - (size_t)(colon - s) - 1,
		    &(*out)[*n].campaign) == -1)
			continue;
		(*n)++;
	}
	freeReplyObject(rep);
	return 0;
}

/* ------------------------------------------------------------ A/B test */

/* Adds to hits[v - 1] one for each member of the set whose variant
 * (the campaign's map) is v. */
static int
count_by_variant(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *set, int nvariants, long long *hits)
{
	redisReply	*members, *vs;
	const char	**argv;
	size_t		 *lens, i, j, n, chunk;
	struct key	  map;
	long long	  v;
	int		  rc = 0;

	if ((members = db_cmd(db, "SMEMBERS %s", set)) == NULL)
		return -1;
	if (members->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(members);
		return -1;
	}
	n = members->elements;
	argv = xcalloc(AB_FIGURES_PAGE + 2, sizeof(*argv));
	lens = xcalloc(AB_FIGURES_PAGE + 2, sizeof(*lens));
	argv[0] = "HMGET";
	argv[1] = key_campaign_ab(&map, tenant, campaign);
	lens[0] = 5;
	lens[1] = strlen(argv[1]);
	for (i = 0; i < n && rc == 0; i += chunk) {
		chunk = n - i < AB_FIGURES_PAGE ? n - i : AB_FIGURES_PAGE;
		for (j = 0; j < chunk; j++) {
			argv[2 + j] = members->element[i + j]->str;
			lens[2 + j] = members->element[i + j]->len;
		}
		if ((vs = db_cmdargv(db, (int)chunk + 2, argv, lens)) == NULL ||
		    vs->type != REDIS_REPLY_ARRAY || vs->elements != chunk) {
			freeReplyObject(vs);
			rc = -1;
			break;
		}
		for (j = 0; j < chunk; j++)
			if (reply_int(vs->element[j], &v) == 0 && v >= 1 &&
			    v <= nvariants)
				hits[v - 1]++;
		freeReplyObject(vs);
	}
	free(argv);
	free(lens);
	freeReplyObject(members);
	return rc;
}

int
store_ab_figures(struct db *db, uint64_t tenant, uint64_t campaign,
    int nvariants, struct ab_figures *fig)
{
	struct campaign_schedule	 s;
	long long			 opens[AB_MAX_VARIANTS] = { 0 };
	long long			 clicks[AB_MAX_VARIANTS] = { 0 };
	struct key			 k;
	int				 i, rc;

	memset(fig, 0, sizeof(*fig) * (size_t)nvariants);
	if ((rc = store_schedule_get(db, tenant, campaign, &s)) != 1) {
		store_schedule_free(&s);
		return rc;
	}
	if (count_by_variant(db, tenant, campaign, key_camp_openers(&k,
	    tenant, campaign), nvariants, opens) == -1 ||
	    count_by_variant(db, tenant, campaign, key_camp_clickers(&k,
	    tenant, campaign), nvariants, clicks) == -1) {
		store_schedule_free(&s);
		return -1;
	}
	for (i = 0; i < nvariants; i++) {
		fig[i].sent = s.ab_sent[i];
		fig[i].opens = opens[i];
		fig[i].clicks = clicks[i];
	}
	store_schedule_free(&s);
	return 0;
}

int
store_ab_release(struct db *db, uint64_t tenant, uint64_t campaign,
    int winner, const struct ab_figures *fig, int nvariants, uint64_t now,
    int max, int *winner_out, long long *left)
{
	const char	*argv[8 + 6 * AB_MAX_VARIANTS];
	size_t		 lens[8 + 6 * AB_MAX_VARIANTS];
	char		 num[4 + 3 * AB_MAX_VARIANTS][24];
	char		 name[3 * AB_MAX_VARIANTS][32];
	struct key	 camp, rest, q;
	redisReply	*rep;
	long long	 w;
	int		 argc = 2, i, nn = 0, nf = 0, rc = -1;

	argv[argc++] = "3";
	argv[argc++] = key_campaign(&camp, tenant, campaign);
	argv[argc++] = key_campaign_ab_rest(&rest, tenant, campaign);
	argv[argc++] = key_campaign_queue(&q, tenant, campaign);
	snprintf(num[nn], 24, "%d", winner);
	argv[argc++] = num[nn++];
	snprintf(num[nn], 24, "%llu", (unsigned long long)now);
	argv[argc++] = num[nn++];
	snprintf(num[nn], 24, "%d", max);
	argv[argc++] = num[nn++];
	for (i = 0; i < nvariants; i++) {
		snprintf(name[nf], sizeof(name[nf]), "ab_fig_sent:%d", i + 1);
		argv[argc++] = name[nf++];
		snprintf(num[nn], 24, "%lld", fig[i].sent);
		argv[argc++] = num[nn++];
		snprintf(name[nf], sizeof(name[nf]), "ab_fig_opens:%d", i + 1);
		argv[argc++] = name[nf++];
		snprintf(num[nn], 24, "%lld", fig[i].opens);
		argv[argc++] = num[nn++];
		snprintf(name[nf], sizeof(name[nf]), "ab_fig_clicks:%d", i + 1);
		argv[argc++] = name[nf++];
		snprintf(num[nn], 24, "%lld", fig[i].clicks);
		argv[argc++] = num[nn++];
	}
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_run(db, SCRIPT_AB_RELEASE, argc, argv, lens)) ==
	    NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		log_warnx("campaign %llu of tenant %llu: ab_release: %.*s",
		    (unsigned long long)campaign, (unsigned long long)tenant,
		    (int)rep->len, rep->str);
	else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    reply_int(rep->element[0], &w) == 0 &&
	    reply_int(rep->element[1], left) == 0) {
		*winner_out = (int)w;
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}
