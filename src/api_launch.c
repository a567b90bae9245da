/*
 * api_launch.c: a campaign's launch, its list snapshot, and its state
 * changes (pause, resume, cancel).  The sending itself is sender.c's.
 *
 * DESIGN.  Launching freezes the audience: every member of the list is
 * put once in the campaign's queue {t:T}:camp:C:q, a stream the senders
 * read through their consumer group.  A list may hold millions of
 * contacts, so the snapshot is neither one Redis command nor held in
 * memory here: it is a chain of steps on the main loop, one per loop
 * turn (a zero-second timer armed again after each step), so API
 * requests are served between steps.  A step is one SSCAN page and one
 * script that, atomically, sets each id's bit in {t:T}:camp:C:queued,
 * appends the ids whose bit was clear (SSCAN may return a member twice)
 * in entries of at most 100 ids, adds their count to queued
 * and stores the next cursor.  The cursor lives in Redis beside what it
 * covers, so after a crash the snapshot goes on from there
 * (api_launch_init): a page scanned again only finds its bits set.  A
 * cursor means something only to the Redis process that made it (a
 * restarted or promoted server hashes the set anew), so it is stored
 * with that server's run_id and, when Redis is another process, the
 * scan starts over from 0; again, the bitmap queues nobody twice.  A
 * step that finds the campaign neither sending nor paused, its snapshot
 * complete (another node finished it), or its tenant not active, ends
 * the snapshot; a Redis failure retries the step a second later.  Two
 * nodes going on with the same snapshot after a restart cost double
 * work, never a recipient twice.
 *
 * State changes are scripts too, made only from the state they were
 * checked against, because senders set "done" concurrently.  Every key
 * a script touches is the tenant's ({t:T}...), one Redis Cluster slot;
 * the global ff:sending is changed by commands of its own.
 *
 * Never: block the loop for more than one step's round trips, or hold
 * more than one page of ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"
#include "script.h"

#define SNAPSHOT_PAGE		1000	/* SSCAN COUNT */
#define SNAPSHOT_RETRY_S	1
#define SNAPSHOT_MAX_ID		(1ULL << 32)	/* SETBIT's offset limit */

struct launch_snapshot {
	TAILQ_ENTRY(launch_snapshot) entry;
	struct api	*a;
	struct event	*ev;
	uint64_t	 tenant;
	uint64_t	 campaign;
	uint64_t	 list;
	char		 cursor[32];	/* SSCAN's, of the next page */
	int		 registered;	/* in ff:sending */
	int		 failing;	/* Redis failed: warn once */
	uint64_t	 started_ms;
	long long	 queued;	/* by this process, for the log */
};

/* The scripts: src/lua/launch.lua, launch_step.lua, launch_state.lua. */

static const struct transition {
	const char	*verb;
	const char	*to;
	const char	*from[3];	/* NULL-terminated unless full */
	const char	*allowed;	/* for the 409's message */
} transitions[] = {
	{ "pause", "paused", { "sending" }, "a sending campaign" },
	{ "resume", "sending", { "paused" }, "a paused campaign" },
	{ "cancel", "cancelled", { "draft", "sending", "paused" },
	    "a draft, sending or paused campaign" },
};

static void	snapshot_step(evutil_socket_t, short, void *);

/* ------------------------------------------------------------ scripts */

/* The first element of a script's array reply, or "" when it is not. */
static const char *
reply_word(const redisReply *rep)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0 ||
	    rep->element[0]->type != REDIS_REPLY_STRING)
		return "";
	return rep->element[0]->str;
}

/*
 * launch_state.lua on one campaign: rep is its reply (the caller frees it);
 * -1 when Redis failed.
 */
static int
state_change(struct api *a, uint64_t tenant, uint64_t campaign,
    const struct transition *t, redisReply **out)
{
	const char	*argv[16];
	size_t		 lens[16];
	struct key	 camp, q, queued;
	int		 argc = 2, i;
	redisReply	*rep;

	argv[argc++] = "3";
	argv[argc++] = key_campaign(&camp, tenant, campaign);
	argv[argc++] = key_campaign_queue(&q, tenant, campaign);
	argv[argc++] = key_campaign_queued(&queued, tenant, campaign);
	argv[argc++] = t->to;
	for (i = 0; i < (int)FF_NELEM(t->from) && t->from[i] != NULL; i++)
		argv[argc++] = t->from[i];
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_run(a->db, SCRIPT_LAUNCH_STATE, argc, argv, lens)) ==
	    NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		log_warnx("api: campaign %llu of tenant %llu: %s: %s",
		    (unsigned long long)campaign, (unsigned long long)tenant,
		    t->verb, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	*out = rep;
	return 0;
}

/* SREM ff:sending T:C; -1 when Redis failed. */
static int
unregister(struct api *a, uint64_t tenant, uint64_t campaign)
{
	redisReply	*rep;

	if ((rep = db_cmd(a->db, "SREM %s %llu:%llu", key_sending(),
	    (unsigned long long)tenant, (unsigned long long)campaign)) == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

/* ---------------------------------------------------------- snapshots */

static struct launch_snapshot *
snapshot_find(struct api *a, uint64_t tenant, uint64_t campaign)
{
	struct launch_snapshot	*s;

	TAILQ_FOREACH(s, &a->snapshots, entry)
		if (s->tenant == tenant && s->campaign == campaign)
			return s;
	return NULL;
}

static void
snapshot_free(struct launch_snapshot *s)
{
	TAILQ_REMOVE(&s->a->snapshots, s, entry);
	event_free(s->ev);
	free(s);
}

static void
snapshot_arm(struct launch_snapshot *s, int secs)
{
	struct timeval	tv = { secs, 0 };

	evtimer_add(s->ev, &tv);
}

/* Starts (or goes on with) a campaign's snapshot at cursor. */
static void
snapshot_start(struct api *a, uint64_t tenant, uint64_t campaign,
    uint64_t list, const char *cursor, int registered)
{
	struct launch_snapshot	*s;

	if (snapshot_find(a, tenant, campaign) != NULL)
		return;
	s = xcalloc(1, sizeof(*s));
	s->a = a;
	s->tenant = tenant;
	s->campaign = campaign;
	s->list = list;
	snprintf(s->cursor, sizeof(s->cursor), "%s", cursor);
	s->registered = registered;
	s->started_ms = now_ms();
	if ((s->ev = evtimer_new(a->base, snapshot_step, s)) == NULL)
		fatalx("evtimer_new");
	TAILQ_INSERT_TAIL(&a->snapshots, s, entry);
	snapshot_arm(s, 0);
}

static void
snapshot_stop(struct api *a, uint64_t tenant, uint64_t campaign)
{
	struct launch_snapshot	*s;

	if ((s = snapshot_find(a, tenant, campaign)) != NULL)
		snapshot_free(s);
}

/* One page of the list into the queue; armed again until the end. */
static void
snapshot_step(evutil_socket_t fd, short what, void *arg)
{
	struct launch_snapshot	*s = arg;
	struct api		*a = s->a;
	redisReply		*page = NULL, *rep = NULL, *m;
	const char		**argv = NULL, *next, *verdict;
	size_t			*lens = NULL, i, n;
	struct key		 camp, q, queued, tenant, members;
	int			 argc = 2, skipped = 0;
	uint64_t		 id;

	if (!s->registered) {
		/* The launch could not add it; senders look nowhere else. */
		if ((rep = db_cmd(a->db, "SADD %s %llu:%llu", key_sending(),
		    (unsigned long long)s->tenant,
		    (unsigned long long)s->campaign)) == NULL)
			goto retry;
		freeReplyObject(rep);
		rep = NULL;
		s->registered = 1;
	}
	page = db_cmd(a->db, "SSCAN %s %s COUNT %d",
	    key_list_members(&members, s->tenant, s->list), s->cursor,
	    SNAPSHOT_PAGE);
	if (page == NULL || page->type != REDIS_REPLY_ARRAY ||
	    page->elements != 2 ||
	    page->element[0]->type != REDIS_REPLY_STRING ||
	    page->element[1]->type != REDIS_REPLY_ARRAY)
		goto retry;
	next = page->element[0]->str;
	n = page->element[1]->elements;
	argv = xcalloc(n + 8, sizeof(*argv));
	lens = xcalloc(n + 8, sizeof(*lens));
	argv[argc++] = "4";
	argv[argc++] = key_campaign_queue(&q, s->tenant, s->campaign);
	argv[argc++] = key_campaign_queued(&queued, s->tenant, s->campaign);
	argv[argc++] = key_campaign(&camp, s->tenant, s->campaign);
	argv[argc++] = key_tenant(&tenant, s->tenant);
	argv[argc++] = next;
	for (i = 2; i < (size_t)argc; i++)
		lens[i] = strlen(argv[i]);
	for (i = 0; i < n; i++) {
		m = page->element[1]->element[i];
		/* A bad offset would stop the script half-way. */
		if (m->type != REDIS_REPLY_STRING ||
		    parse_u64(m->str, m->len, &id) == -1 ||
		    id >= SNAPSHOT_MAX_ID) {
			skipped++;
			continue;
		}
		argv[argc] = m->str;
		lens[argc++] = m->len;
	}
	if (skipped)
		log_warnx("campaign %llu of tenant %llu: %d list members that "
		    "are no contact id skipped", (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant, skipped);
	if ((rep = script_run(a->db, SCRIPT_LAUNCH_STEP, argc, argv, lens)) ==
	    NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
			log_warnx("campaign %llu of tenant %llu: snapshot: %s",
			    (unsigned long long)s->campaign,
			    (unsigned long long)s->tenant, rep->str);
		goto retry;
	}
	verdict = reply_word(rep);
	s->queued += rep->element[1]->integer;
	s->failing = 0;
	if (strcmp(verdict, "stop") == 0 || strcmp(verdict, "complete") == 0) {
		log_info("campaign %llu of tenant %llu: snapshot stopped (%s)",
		    (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant, *verdict == 'c' ?
		    "completed elsewhere" : "no longer sending");
		snapshot_free(s);
		goto out;
	}
	if (strcmp(verdict, "done") == 0) {
		log_info("campaign %llu of tenant %llu: snapshot complete, "
		    "%lld recipients queued in %llu ms",
		    (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant, s->queued,
		    (unsigned long long)(now_ms() - s->started_ms));
		snapshot_free(s);
		goto out;
	}
	if (strcmp(verdict, "restart") == 0) {
		log_warnx("campaign %llu of tenant %llu: snapshot: redis is "
		    "another process now; scanning the list again",
		    (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant);
		next = "0";
	}
	snprintf(s->cursor, sizeof(s->cursor), "%s", next);
	snapshot_arm(s, 0);
	goto out;
retry:
	if (!s->failing)
		log_warnx("campaign %llu of tenant %llu: snapshot: redis "
		    "failed; retrying every %d s", (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant, SNAPSHOT_RETRY_S);
	s->failing = 1;
	snapshot_arm(s, SNAPSHOT_RETRY_S);
out:
	if (rep != NULL)
		freeReplyObject(rep);
	if (page != NULL)
		freeReplyObject(page);
	free(argv);
	free(lens);
}

/* Goes on with the snapshots a previous run left unfinished. */
static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;
	struct timeval	 tv = { SNAPSHOT_RETRY_S, 0 };
	redisReply	*set, *rep;
	uint64_t	 tenant, campaign, list;
	struct key	 k;
	const char	*p, *st;
	size_t		 i;
	int		 resumed = 0;

	if ((set = db_cmd(a->db, "SMEMBERS %s", key_sending())) == NULL ||
	    set->type != REDIS_REPLY_ARRAY)
		goto retry;
	for (i = 0; i < set->elements; i++) {
		p = set->element[i]->str;
		if (set->element[i]->type != REDIS_REPLY_STRING ||
		    (p = strchr(p, ':')) == NULL ||
		    parse_u64(set->element[i]->str,
		    (size_t)(p - set->element[i]->str), &tenant) == -1 ||
		    parse_u64(p + 1, strlen(p + 1), &campaign) == -1)
			continue;
		if ((rep = db_cmd(a->db, "HMGET %s status snapshot scan_cursor "
		    "list_id", key_campaign(&k, tenant, campaign))) == NULL)
			goto retry;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4 &&
		    rep->element[0]->type == REDIS_REPLY_STRING &&
		    rep->element[1]->type == REDIS_REPLY_STRING &&
		    rep->element[3]->type == REDIS_REPLY_STRING &&
		    parse_u64(rep->element[3]->str, rep->element[3]->len,
		    &list) == 0) {
			st = rep->element[0]->str;
			if ((strcmp(st, "sending") == 0 ||
			    strcmp(st, "paused") == 0) &&
			    strcmp(rep->element[1]->str, "0") == 0) {
				snapshot_start(a, tenant, campaign, list,
				    rep->element[2]->type == REDIS_REPLY_STRING ?
				    rep->element[2]->str : "0", 1);
				resumed++;
			}
		}
		freeReplyObject(rep);
	}
	freeReplyObject(set);
	if (resumed)
		log_info("api: resuming %d unfinished list snapshots", resumed);
	return;
retry:
	if (set != NULL)
		freeReplyObject(set);
	if (!a->launch_resume_failed)
		log_warnx("api: redis failed reading %s; unfinished "
		    "snapshots resume when it answers", key_sending());
	a->launch_resume_failed = 1;
	evtimer_add(a->launch_resume, &tv);
}

void
api_launch_init(struct api *a)
{
	struct timeval	tv = { 0, 0 };

	TAILQ_INIT(&a->snapshots);
	/* On the first loop turn: start-up must not wait for Redis. */
	if ((a->launch_resume = evtimer_new(a->base, resume_cb, a)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(a->launch_resume, &tv);
}

void
api_launch_free(struct api *a)
{
	struct launch_snapshot	*s;

	while ((s = TAILQ_FIRST(&a->snapshots)) != NULL)
		snapshot_free(s);
	if (a->launch_resume != NULL)
		event_free(a->launch_resume);
	a->launch_resume = NULL;
}

/* ----------------------------------------------------------- handlers */

void
api_campaign_launch(struct api_req *r, uint64_t id)
{
	struct api	*a = r->a;
	redisReply	*rep;
	const char	*argv[12], *why;
	size_t		 lens[12];
	struct key	 camp, tenant, list, members, tpl, q, queued;
	char		 now[24];
	uint64_t	 lid, tid;
	long long	 total;
	int		 argc = 2, i, registered = 0;

	if ((rep = db_cmd(a->db, "HMGET %s list_id template_id",
	    key_campaign(&camp, r->tenant, id))) == NULL) {
		api_unavailable(r);
		return;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[1]->type != REDIS_REPLY_STRING ||
	    parse_u64(rep->element[0]->str, rep->element[0]->len, &lid) == -1 ||
	    parse_u64(rep->element[1]->str, rep->element[1]->len, &tid) == -1) {
		freeReplyObject(rep);
		api_error(r, 422, "invalid_campaign", "the campaign names no "
		    "list or template");
		return;
	}
	freeReplyObject(rep);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms());
	argv[argc++] = "7";
	argv[argc++] = key_campaign(&camp, r->tenant, id);
	argv[argc++] = key_tenant(&tenant, r->tenant);
	argv[argc++] = key_list(&list, r->tenant, lid);
	argv[argc++] = key_list_members(&members, r->tenant, lid);
	argv[argc++] = key_template(&tpl, r->tenant, tid);
	argv[argc++] = key_campaign_queue(&q, r->tenant, id);
	argv[argc++] = key_campaign_queued(&queued, r->tenant, id);
	argv[argc++] = now;
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_run(a->db, SCRIPT_LAUNCH, argc, argv, lens)) ==
	    NULL || rep->type == REDIS_REPLY_ERROR) {
		if (rep != NULL) {
			log_warnx("api: campaign %llu of tenant %llu: launch: "
			    "%s", (unsigned long long)id,
			    (unsigned long long)r->tenant, rep->str);
			freeReplyObject(rep);
		}
		api_unavailable(r);
		return;
	}
	why = reply_word(rep);
	if (strcmp(why, "ok") != 0) {
		if (strcmp(why, "state") == 0 && rep->elements == 2 &&
		    rep->element[1]->type == REDIS_REPLY_STRING)
			api_error(r, 409, "invalid_state", "the campaign is %s; "
			    "only a draft can be launched", rep->element[1]->str);
		else if (strcmp(why, "list") == 0)
			api_error(r, 422, "invalid_campaign", "the campaign's "
			    "list %llu no longer exists", (unsigned long long)lid);
		else if (strcmp(why, "template") == 0)
			api_error(r, 422, "invalid_campaign", "the campaign's "
			    "template %llu no longer exists",
			    (unsigned long long)tid);
		else if (strcmp(why, "tenant") == 0)
			api_error(r, 403, "tenant_inactive", "the tenant is "
			    "being deleted");
		else
			api_error(r, 404, "not_found", "no such campaign");
		freeReplyObject(rep);
		return;
	}
	total = rep->elements == 2 && rep->element[1]->type ==
	    REDIS_REPLY_INTEGER ? rep->element[1]->integer : 0;
	freeReplyObject(rep);
	/* Launched: a failed SADD is retried by the snapshot's first step. */
	if ((rep = db_cmd(a->db, "SADD %s %llu:%llu", key_sending(),
	    (unsigned long long)r->tenant, (unsigned long long)id)) != NULL) {
		freeReplyObject(rep);
		registered = 1;
	}
	snapshot_start(a, r->tenant, id, lid, "0", registered);
	log_info("campaign %llu of tenant %llu: launched, %lld recipients",
	    (unsigned long long)id, (unsigned long long)r->tenant, total);
	/* queued: the list's size being queued; GET shows the live count. */
	api_json(r, 202, json_pack("{s:s, s:I}", "status", "sending", "queued",
	    (json_int_t)total));
}

void
api_campaign_transition(struct api_req *r, uint64_t id, const char *verb)
{
	const struct transition	*t = NULL;
	redisReply		*rep;
	const char		*why;
	size_t			 i;

	for (i = 0; i < FF_NELEM(transitions); i++)
		if (strcmp(transitions[i].verb, verb) == 0)
			t = &transitions[i];
	if (t == NULL) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (state_change(r->a, r->tenant, id, t, &rep) == -1) {
		api_unavailable(r);
		return;
	}
	why = reply_word(rep);
	if (strcmp(why, "ok") == 0) {
		if (strcmp(t->to, "cancelled") == 0) {
			snapshot_stop(r->a, r->tenant, id);
			/* Cancelled stays cancelled: senders check the status,
			 * so a failed SREM only leaves them a look to spare. */
			if (unregister(r->a, r->tenant, id) == -1)
				log_warnx("campaign %llu of tenant %llu: "
				    "cancelled, but still in %s",
				    (unsigned long long)id,
				    (unsigned long long)r->tenant,
				    key_sending());
		}
		api_json(r, 200, json_pack("{s:s}", "status", t->to));
	} else if (strcmp(why, "state") == 0 && rep->elements == 2 &&
	    rep->element[1]->type == REDIS_REPLY_STRING)
		api_error(r, 409, "invalid_state", "the campaign is %s; %s needs "
		    "%s", rep->element[1]->str, verb, t->allowed);
	else
		api_error(r, 404, "not_found", "no such campaign");
	freeReplyObject(rep);
}

int
api_launch_stop_tenant(struct api *a, uint64_t tenant)
{
	static const struct transition stop = { "stop", "cancelled",
	    { "sending", "paused" }, NULL };
	struct launch_snapshot	*s, *next;
	redisReply		*page, *rep, *m;
	uint64_t		 campaign;
	char			 cursor[32] = "0", match[32];
	const char		*p;
	size_t			 i;

	/* Any of its own the loop is still queueing, registered or not. */
	for (s = TAILQ_FIRST(&a->snapshots); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->tenant != tenant)
			continue;
		if (state_change(a, tenant, s->campaign, &stop, &rep) == -1)
			return -1;
		freeReplyObject(rep);
		snapshot_free(s);
	}
	snprintf(match, sizeof(match), "%llu:*", (unsigned long long)tenant);
	do {
		if ((page = db_cmd(a->db, "SSCAN %s %s MATCH %s COUNT 1000",
		    key_sending(), cursor, match)) == NULL ||
		    page->type != REDIS_REPLY_ARRAY || page->elements != 2 ||
		    page->element[0]->type != REDIS_REPLY_STRING ||
		    page->element[1]->type != REDIS_REPLY_ARRAY) {
			if (page != NULL)
				freeReplyObject(page);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", page->element[0]->str);
		for (i = 0; i < page->element[1]->elements; i++) {
			m = page->element[1]->element[i];
			if (m->type != REDIS_REPLY_STRING ||
			    (p = strchr(m->str, ':')) == NULL ||
			    parse_u64(p + 1, strlen(p + 1), &campaign) == -1)
				continue;
			/* Done or cancelled already: only leaves the set. */
			if (state_change(a, tenant, campaign, &stop, &rep) ==
			    -1) {
				freeReplyObject(page);
				return -1;
			}
			freeReplyObject(rep);
			if ((rep = db_cmd(a->db, "SREM %s %b", key_sending(),
			    m->str, m->len)) == NULL) {
				freeReplyObject(page);
				return -1;
			}
			freeReplyObject(rep);
		}
		freeReplyObject(page);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}
