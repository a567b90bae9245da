/*
 * store_launch.c: launch, snapshot steps, state changes and ff:sending,
 * in Redis (store_launch.h says what each function answers).  Every key
 * a script touches is the tenant's ({t:T}...), one Redis Cluster slot;
 * the global ff:sending is changed by commands of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "segment.h"
#include "store_launch.h"
#include "store_schedule.h"
#include "store_segment.h"
#include "tzsched.h"

#define SNAPSHOT_PAGE		1000	/* SSCAN COUNT */
#define SNAPSHOT_MAX_ID		(1ULL << 32)	/* SETBIT's offset limit */
#define SENDING_PAGE		1000

/* The first element of a script's array reply, or "" when it is not. */
static const char *
reply_word(const redisReply *rep)
{
	const char	*w;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    (w = reply_str(rep->element[0], NULL)) == NULL)
		return "";
	return w;
}

/* The status a script named as its second element into r->state; 0, or
 * -1 when it named none. */
static int
reply_state(const redisReply *rep, struct launch_result *r)
{
	const char	*st;

	if (rep->elements != 2 ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    (st = reply_str(rep->element[1], NULL)) == NULL)
		return -1;
	snprintf(r->state, sizeof(r->state), "%s", st);
	return 0;
}

/* A script's reply: NULL (and logged when Redis said why) unless it is
 * an answer. */
static redisReply *
script_answer(redisReply *rep, const char *what, uint64_t tenant,
    uint64_t campaign)
{
	size_t	len;

	if (rep == NULL || !reply_is_error(rep, NULL))
		return rep;
	len = rep->len;
	log_warnx("campaign %llu of tenant %llu: %s: %.*s",
	    (unsigned long long)campaign, (unsigned long long)tenant, what,
	    (int)len, rep->str);
	freeReplyObject(rep);
	return NULL;
}

/* launch.lua from the status from: "draft" or "scheduled". */
static int
launch_run(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t list_id, uint64_t template_id, const char *segment_def,
    uint64_t now, const char *from, struct launch_result *r)
{
	redisReply	*rep;
	const char	*argv[16], *why;
	size_t		 lens[16];
	struct key	 camp, t, list, members, tpl, q, queued;
	char		 nowbuf[24];
	int		 argc = 2, i;

	memset(r, 0, sizeof(*r));
	snprintf(nowbuf, sizeof(nowbuf), "%llu", (unsigned long long)now);
	argv[argc++] = "7";
	argv[argc++] = key_campaign(&camp, tenant, campaign);
	argv[argc++] = key_tenant(&t, tenant);
	argv[argc++] = key_list(&list, tenant, list_id);
	argv[argc++] = key_list_members(&members, tenant, list_id);
	argv[argc++] = key_template(&tpl, tenant, template_id);
	argv[argc++] = key_campaign_queue(&q, tenant, campaign);
	argv[argc++] = key_campaign_queued(&queued, tenant, campaign);
	argv[argc++] = nowbuf;
	argv[argc++] = from;
	argv[argc++] = list_id != 0 || segment_def == NULL ? "list" :
	    "none";
	if (segment_def != NULL)
		argv[argc++] = segment_def;
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_answer(script_run(db, SCRIPT_LAUNCH, argc, argv,
	    lens), "launch", tenant, campaign)) == NULL)
		return -1;
	why = reply_word(rep);
	if (strcmp(why, "ok") == 0) {
		r->verdict = LAUNCH_OK;
		if (rep->elements != 2 || reply_int(rep->element[1],
		    &r->count) == -1)
			r->count = 0;
	} else if (strcmp(why, "state") == 0 && reply_state(rep, r) == 0)
		r->verdict = LAUNCH_STATE;
	else if (strcmp(why, "list") == 0)
		r->verdict = LAUNCH_NO_LIST;
	else if (strcmp(why, "template") == 0)
		r->verdict = LAUNCH_NO_TEMPLATE;
	else if (strcmp(why, "tenant") == 0)
		r->verdict = LAUNCH_TENANT;
	else if (strcmp(why, "early") == 0) {
		r->verdict = LAUNCH_STATE;
		snprintf(r->state, sizeof(r->state), "scheduled");
	} else
		r->verdict = LAUNCH_NOT_FOUND;
	freeReplyObject(rep);
	return 0;
}

int
store_launch(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t list_id, uint64_t template_id, const char *segment_def,
    uint64_t now, struct launch_result *r)
{
	return launch_run(db, tenant, campaign, list_id, template_id,
	    segment_def, now, "draft", r);
}

int
store_launch_due(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t list_id, uint64_t template_id, const char *segment_def,
    uint64_t now, struct launch_result *r)
{
	return launch_run(db, tenant, campaign, list_id, template_id,
	    segment_def, now, "scheduled", r);
}

int
store_launch_transition(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *to, const char *const *from, size_t nfrom,
    struct launch_result *r)
{
	const char	*argv[18], *why;
	size_t		 lens[18], i;
	struct key	 camp, q, queued, later, rest;
	int		 argc = 2;
	redisReply	*rep;

	memset(r, 0, sizeof(*r));
	if (nfrom > FF_NELEM(argv) - 9)
		return -1;
	argv[argc++] = "5";
	argv[argc++] = key_campaign(&camp, tenant, campaign);
	argv[argc++] = key_campaign_queue(&q, tenant, campaign);
	argv[argc++] = key_campaign_queued(&queued, tenant, campaign);
	argv[argc++] = key_campaign_later(&later, tenant, campaign);
	argv[argc++] = key_campaign_ab_rest(&rest, tenant, campaign);
	argv[argc++] = to;
	for (i = 0; i < nfrom; i++)
		argv[argc++] = from[i];
	for (i = 2; i < (size_t)argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_answer(script_run(db, SCRIPT_LAUNCH_STATE, argc,
	    argv, lens), to, tenant, campaign)) == NULL)
		return -1;
	why = reply_word(rep);
	if (strcmp(why, "ok") == 0) {
		r->verdict = LAUNCH_OK;
		/* The status it took (a scheduled one resumes scheduled). */
		snprintf(r->state, sizeof(r->state), "%s", to);
		if (rep->elements == 3 &&
		    rep->element[2]->type == REDIS_REPLY_STRING)
			snprintf(r->state, sizeof(r->state), "%s",
			    rep->element[2]->str);
	} else if (strcmp(why, "state") == 0 && reply_state(rep, r) == 0)
		r->verdict = LAUNCH_STATE;
	else
		r->verdict = LAUNCH_NOT_FOUND;
	freeReplyObject(rep);
	return 0;
}

/*
 * What a step must know of the campaign's schedule and test, read once
 * per step (one HMGET): each recipient's due time for local_time, the
 * test's size.  The zones of a page are loaded once each (at most
 * STEP_ZONES; more than that in one page fall back to the campaign's).
 */
#define STEP_ZONES	16

struct step_plan {
	int		 on;		/* a schedule or a test: KEYS 6-8 */
	int		 local_time;	/* -1: none */
	uint64_t	 from_ms;	/* the launch: due times follow it */
	char		 ab[24];	/* "NVARIANTS:NTEST" */
	struct tz_zone	*zones[STEP_ZONES];
	char		 names[STEP_ZONES][TZ_NAME_MAX + 1];
	int		 nzones;
	struct tz_zone	*campaign_zone;	/* NULL: UTC */
};

static void
plan_free(struct step_plan *p)
{
	int	i;

	for (i = 0; i < p->nzones; i++)
		free(p->zones[i]);
	free(p->campaign_zone);
}

/* The zone named name (len bytes), loaded at most once per step; NULL
 * when there is none such (or too many in one page). */
static const struct tz_zone *
plan_zone(struct step_plan *p, const char *name, size_t len)
{
	struct tz_zone	*z;
	int		 i;

	for (i = 0; i < p->nzones; i++)
		if (strlen(p->names[i]) == len &&
		    memcmp(p->names[i], name, len) == 0)
			return p->zones[i];
	if (p->nzones == STEP_ZONES || len > TZ_NAME_MAX)
		return NULL;
	z = xmalloc(sizeof(*z));
	if (tz_load(TZ_DIR_DEFAULT, name, len, z) == -1) {
		free(z);
		z = NULL;
	}
	memcpy(p->names[p->nzones], name, len);
	p->names[p->nzones][len] = '\0';
	p->zones[p->nzones++] = z;
	return z;
}

/* 0 with p filled (p->on 0: neither schedule nor test), -1. */
static int
plan_read(struct db *db, uint64_t tenant, uint64_t campaign,
    struct step_plan *p)
{
	struct campaign_schedule sc;
	struct ab_test		 t;
	json_t			*o;
	char			 err[160];
	int			 rc;

	memset(p, 0, sizeof(*p));
	p->local_time = -1;
	if ((rc = store_schedule_get(db, tenant, campaign, &sc)) == -1)
		return -1;
	snprintf(p->ab, sizeof(p->ab), "0:0");
	o = sc.ab != NULL ? json_loads(sc.ab, 0, NULL) : NULL;
	if (o != NULL && ab_parse(o, &t, err, sizeof(err)) == 0) {
		snprintf(p->ab, sizeof(p->ab), "%d:%lld", t.nvariants,
		    ab_test_count(&t, sc.total));
		p->on = 1;
	}
	json_decref(o);
	if (sc.local_time >= 0) {
		p->on = 1;
		p->local_time = sc.local_time;
		p->from_ms = sc.launched_at;
		if (sc.timezone[0] != '\0') {
			p->campaign_zone = xmalloc(sizeof(*p->campaign_zone));
			if (tz_load(TZ_DIR_DEFAULT, sc.timezone,
			    strlen(sc.timezone), p->campaign_zone) == -1) {
				free(p->campaign_zone);
				p->campaign_zone = NULL;
			}
		}
	}
	store_schedule_free(&sc);
	return 0;
}

/* "ID@DUE" of each id of the page into out[] (n of them, each of
 * STEP_ARG_MAX bytes): the next local_time after the launch in the
 * contact's zone, else the campaign's, else UTC.  One pipelined HGET
 * per contact.  0 or -1. */
#define STEP_ARG_MAX	48

static int
plan_due(struct db *db, uint64_t tenant, struct step_plan *p,
    const char **ids, size_t n, char (*out)[STEP_ARG_MAX])
{
	static const struct tz_zone utc = { .ntypes = 1 };
	const struct tz_zone	*z;
	redisReply		*rep;
	struct key		 k;
	const char		*name;
	uint64_t		 id;
	size_t			 i, len;
	int64_t			 due;
	int			 rc = 0;

	for (i = 0; i < n; i++) {
		(void)parse_u64(ids[i], strlen(ids[i]), &id);
		if (db_append(db, "HGET %s timezone", key_contact(&k, tenant,
		    id)) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		if ((rep = db_reply(db)) == NULL || reply_is_error(rep, NULL))
			rc = -1;
		z = NULL;
		if (rc == 0 && (name = reply_str(rep, &len)) != NULL &&
		    len > 0)
			z = plan_zone(p, name, len);
		if (z == NULL)
			z = p->campaign_zone != NULL ? p->campaign_zone : &utc;
		due = tz_next_local(z, (int64_t)(p->from_ms / 1000),
		    p->local_time) * 1000;
		snprintf(out[i], STEP_ARG_MAX, "%s@%lld", ids[i],
		    (long long)due);
		freeReplyObject(rep);
	}
	return rc;
}

/*
 * The script of one step: the n ids (idv, idl) into the queue, the
 * cursor next stored; 0 with st's verdict and queued set, or -1.
 */
static int
queue_step(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *next, const char *const *idv, const size_t *idl, size_t n,
    const char *node_id, uint64_t lease_ms, struct snapshot_step *st)
{
	redisReply	 *rep = NULL;
	const char	**argv, *verdict;
	size_t		 *lens, i, first;
	struct key	  camp, q, queued, t, scan, later, ab, rest;
	struct step_plan  plan;
	char		  lease[24], nowbuf[24], (*due)[STEP_ARG_MAX] = NULL;
	int		  argc = 2, rc = -1;

	if (plan_read(db, tenant, campaign, &plan) == -1)
		return -1;
	snprintf(lease, sizeof(lease), "%llu", (unsigned long long)lease_ms);
	argv = xcalloc(n + 16, sizeof(*argv));
	lens = xcalloc(n + 16, sizeof(*lens));
	argv[argc++] = plan.on ? "8" : "5";
	argv[argc++] = key_campaign_queue(&q, tenant, campaign);
	argv[argc++] = key_campaign_queued(&queued, tenant, campaign);
	argv[argc++] = key_campaign(&camp, tenant, campaign);
	argv[argc++] = key_tenant(&t, tenant);
	argv[argc++] = key_campaign_scan(&scan, tenant, campaign);
	if (plan.on) {
		argv[argc++] = key_campaign_later(&later, tenant, campaign);
		argv[argc++] = key_campaign_ab(&ab, tenant, campaign);
		argv[argc++] = key_campaign_ab_rest(&rest, tenant, campaign);
	}
	argv[argc++] = next;
	argv[argc++] = node_id;
	argv[argc++] = lease;
	if (plan.on) {
		snprintf(nowbuf, sizeof(nowbuf), "%llu",
		    (unsigned long long)now_ms());
		argv[argc++] = nowbuf;
		argv[argc++] = plan.ab;
	}
	for (i = 2; i < (size_t)argc; i++)
		lens[i] = strlen(argv[i]);
	first = (size_t)argc;
	for (i = 0; i < n; i++) {
		argv[argc] = idv[i];
		lens[argc++] = idl[i];
	}
	/* local_time: each id becomes "ID@DUE" (launch_step.lua). */
	if (plan.local_time >= 0) {
		due = xcalloc(n + 1, sizeof(*due));
		if (plan_due(db, tenant, &plan, argv + first, n, due) == -1)
			goto out;
		for (i = 0; i < n; i++) {
			argv[first + i] = due[i];
			lens[first + i] = strlen(due[i]);
		}
	}
	if ((rep = script_answer(script_run(db, SCRIPT_LAUNCH_STEP, argc, argv,
	    lens), "snapshot", tenant, campaign)) == NULL ||
	    rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER ||
	    reply_int(rep->element[1], &st->queued) == -1)
		goto out;
	verdict = reply_word(rep);
	if (strcmp(verdict, "stop") == 0)
		st->verdict = SNAPSHOT_STOP;
	else if (strcmp(verdict, "complete") == 0)
		st->verdict = SNAPSHOT_COMPLETE;
	else if (strcmp(verdict, "done") == 0)
		st->verdict = SNAPSHOT_DONE;
	else if (strcmp(verdict, "restart") == 0) {
		st->verdict = SNAPSHOT_RESTART;
		next = "0";
	} else
		st->verdict = SNAPSHOT_NEXT;
	snprintf(st->next, sizeof(st->next), "%s", next);
	rc = 0;
out:
	freeReplyObject(rep);
	free(argv);
	free(lens);
	free(due);
	plan_free(&plan);
	return rc;
}

/* A segment's step: the page's matching contacts (store_segment.c). */
static int
segment_step(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t list, const struct segment *seg, const char *cursor,
    const char *node_id, uint64_t lease_ms, struct snapshot_step *st)
{
	struct segment_scan	  scan;
	uint64_t		 *ids = NULL;
	const char		**idv;
	size_t			 *idl, i, n;
	char			 *nums;
	int			  rc;

	memset(&scan, 0, sizeof(scan));
	scan.list = list != 0 ? list : segment_scan_list(seg);
	snprintf(scan.cursor, sizeof(scan.cursor), "%s", cursor);
	if (store_segment_page(db, tenant, seg, &scan, &ids, &n) == -1)
		return -1;
	st->skipped = (int)scan.skipped;
	idv = xcalloc(n + 1, sizeof(*idv));
	idl = xcalloc(n + 1, sizeof(*idl));
	nums = xcalloc(n + 1, 24);
	for (i = 0; i < n; i++) {
		idl[i] = fmt_u64(nums + 24 * i, ids[i]);
		idv[i] = nums + 24 * i;
	}
	rc = queue_step(db, tenant, campaign, scan.cursor, idv, idl, n,
	    node_id, lease_ms, st);
	free(ids);
	free(idv);
	free(idl);
	free(nums);
	return rc;
}

int
store_launch_step(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t list, const struct segment *seg, const char *cursor,
    const char *node_id, uint64_t lease_ms, struct snapshot_step *st)
{
	redisReply	 *page, *m;
	const char	**idv = NULL, *next;
	size_t		 *idl = NULL, i, n, k = 0;
	struct key	  members;
	int		  rc = -1;
	uint64_t	  id;

	memset(st, 0, sizeof(*st));
	if (seg != NULL)
		return segment_step(db, tenant, campaign, list, seg, cursor,
		    node_id, lease_ms, st);
	page = db_cmd(db, "SSCAN %s %s COUNT %d",
	    key_list_members(&members, tenant, list), cursor, SNAPSHOT_PAGE);
	if (page == NULL || page->type != REDIS_REPLY_ARRAY ||
	    page->elements != 2 ||
	    page->element[0]->type != REDIS_REPLY_STRING ||
	    (next = reply_str(page->element[0], NULL)) == NULL ||
	    page->element[1]->type != REDIS_REPLY_ARRAY)
		goto out;
	n = page->element[1]->elements;
	idv = xcalloc(n + 1, sizeof(*idv));
	idl = xcalloc(n + 1, sizeof(*idl));
	for (i = 0; i < n; i++) {
		m = page->element[1]->element[i];
		/* A bad offset would stop the script half-way. */
		if (m->type != REDIS_REPLY_STRING || reply_u64(m, &id) == -1 ||
		    id >= SNAPSHOT_MAX_ID) {
			st->skipped++;
			continue;
		}
		idv[k] = m->str;
		idl[k++] = m->len;
	}
	rc = queue_step(db, tenant, campaign, next, idv, idl, k, node_id,
	    lease_ms, st);
out:
	freeReplyObject(page);
	free(idv);
	free(idl);
	return rc;
}

int
store_launch_segment_def(struct db *db, uint64_t tenant, uint64_t campaign,
    char **def)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc = 0;

	*def = NULL;
	if ((rep = db_cmd(db, "HGET %s segment_def", key_campaign(&k, tenant,
	    campaign))) == NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		rc = -1;
	else if ((s = reply_str(rep, &len)) != NULL) {
		*def = xstrndup(s, len);
		rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}

int
store_launch_adopt(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *node_id, uint64_t lease_ms)
{
	redisReply	*rep;
	struct key	 scan;
	const char	*holder;
	int		 rc;

	if ((rep = db_cmd(db, "SET %s %s NX PX %llu",
	    key_campaign_scan(&scan, tenant, campaign), node_id,
	    (unsigned long long)lease_ms)) == NULL)
		return -1;
	/* OK: it was free.  Nil: someone holds it. */
	rc = reply_is_error(rep, NULL) ? -1 :
	    rep->type == REDIS_REPLY_STATUS ? 1 : 0;
	freeReplyObject(rep);
	if (rc != 0)
		return rc;
	if ((rep = db_cmd(db, "GET %s", scan.s)) == NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		rc = -1;
	else
		rc = rep->type == REDIS_REPLY_STRING &&
		    (holder = reply_str(rep, NULL)) != NULL &&
		    strcmp(holder, node_id) == 0;
	freeReplyObject(rep);
	return rc;
}

int
store_launch_unfinished(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t *list, char cursor[LAUNCH_CURSOR_MAX])
{
	redisReply	*rep;
	struct key	 k;
	const char	*st, *snapshot, *c;
	int		 rc = 0;

	if ((rep = db_cmd(db, "HMGET %s status snapshot scan_cursor list_id",
	    key_campaign(&k, tenant, campaign))) == NULL)
		return -1;
	if (reply_is_error(rep, NULL))
		rc = -1;
	else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4 &&
	    (st = reply_str(rep->element[0], NULL)) != NULL &&
	    (snapshot = reply_str(rep->element[1], NULL)) != NULL &&
	    reply_u64(rep->element[3], list) == 0 &&
	    (strcmp(st, "sending") == 0 || strcmp(st, "paused") == 0) &&
	    strcmp(snapshot, "0") == 0) {
		c = reply_str(rep->element[2], NULL);
		snprintf(cursor, LAUNCH_CURSOR_MAX, "%s", c != NULL ? c : "0");
		rc = 1;
	}
	freeReplyObject(rep);
	return rc;
}

/* ---------------------------------------------------------- ff:sending */

int
store_sending_add(struct db *db, uint64_t tenant, uint64_t campaign)
{
	return reply_done(db_cmd(db, "SADD %s %llu:%llu", key_sending(),
	    (unsigned long long)tenant, (unsigned long long)campaign));
}

int
store_sending_remove(struct db *db, uint64_t tenant, uint64_t campaign)
{
	return reply_done(db_cmd(db, "SREM %s %llu:%llu", key_sending(),
	    (unsigned long long)tenant, (unsigned long long)campaign));
}

/* A member "T:C" of ff:sending; -1 when it is not one. */
static int
sending_parse(const redisReply *m, struct sending_campaign *out)
{
	const char	*s, *colon;
	size_t		 len;

	if (m->type != REDIS_REPLY_STRING || (s = reply_str(m, &len)) ==
	    NULL || (colon = memchr(s, ':', len)) == NULL)
		return -1;
	if (parse_u64(s, (size_t)(colon - s), &out->tenant) == -1 ||
	    parse_u64(colon + 1, len - (size_t)(colon - s) - 1,
	    &out->campaign) == -1)
		return -1;
	return 0;
}

int
store_sending_all(struct db *db, struct sending_campaign **all, size_t *n)
{
	redisReply	*set;
	size_t		 i;

	*all = NULL;
	*n = 0;
	if ((set = db_cmd(db, "SMEMBERS %s", key_sending())) == NULL)
		return -1;
	if (set->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(set);
		return -1;
	}
	*all = xcalloc(set->elements + 1, sizeof(**all));
	for (i = 0; i < set->elements; i++)
		if (sending_parse(set->element[i], &(*all)[*n]) == 0)
			(*n)++;
	freeReplyObject(set);
	return 0;
}

int
store_sending_drain_tenant(struct db *db, uint64_t tenant,
    int (*fn)(void *, uint64_t), void *arg)
{
	struct sending_campaign	 sc;
	redisReply		*page = NULL, *m;
	const char		*next;
	char			 cursor[LAUNCH_CURSOR_MAX] = "0", match[32];
	size_t			 i;
	int			 rc = 0;

	snprintf(match, sizeof(match), "%llu:*", (unsigned long long)tenant);
	do {
		page = db_cmd(db, "SSCAN %s %s MATCH %s COUNT %d",
		    key_sending(), cursor, match, SENDING_PAGE);
		if (page == NULL || page->type != REDIS_REPLY_ARRAY ||
		    page->elements != 2 ||
		    page->element[0]->type != REDIS_REPLY_STRING ||
		    (next = reply_str(page->element[0], NULL)) == NULL ||
		    page->element[1]->type != REDIS_REPLY_ARRAY) {
			rc = -1;
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", next);
		for (i = 0; i < page->element[1]->elements && rc == 0; i++) {
			m = page->element[1]->element[i];
			if (sending_parse(m, &sc) == -1 || sc.tenant != tenant)
				continue;
			if (fn(arg, sc.campaign) == -1) {
				rc = -1;
				break;
			}
			/* The member as found, whatever its spelling. */
			if (reply_done(db_cmd(db, "SREM %s %b", key_sending(),
			    m->str, m->len)) == -1)
				rc = -1;
		}
		freeReplyObject(page);
		page = NULL;
	} while (rc == 0 && strcmp(cursor, "0") != 0);
	freeReplyObject(page);
	return rc;
}
