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
 * the snapshot; a Redis failure retries the step a second later.
 *
 * Nodes are stateless, so the node that launched may die and never
 * come back: each step also renews a lease, {t:T}:camp:C:scan = node_id
 * for claim_idle, as the senders' XCLAIM keeps a queue entry theirs.
 * Every node looks at the sending campaigns at start-up and every
 * claim_idle / 2 after, and goes on with an unfinished snapshot whose
 * lease has expired (taken with SET NX) or names itself (its own,
 * before a restart).  Two nodes going on with the same snapshot (a step
 * slower than claim_idle) cost double work, never a recipient twice.
 *
 * State changes are scripts too, made only from the state they were
 * checked against, because senders set "done" concurrently.  Every key
 * a script touches is the tenant's ({t:T}...), one Redis Cluster slot;
 * the global ff:sending is changed by commands of its own.
 *
 * A campaign with a segment (api_segment.c) is launched with the
 * segment's definition frozen into its record (segment_def): each step
 * reads a page of the list's members, or of every contact, evaluates
 * it on that definition (store_segment.c) and queues only the matching
 * ids through the same script, so the guarantees above hold as they
 * are, and the recipients are those that matched when the snapshot
 * passed them: a contact changed later is queued or not as it was.
 *
 * Never: call Redis on the main thread, or hold more than one page of
 * ids.  What is in Redis, the scripts included,
 * is store_launch.c's and store_campaign.c's: this file schedules the
 * steps and answers.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "segment.h"
#include "store_campaign.h"
#include "store_launch.h"

#define SNAPSHOT_RETRY_S	1
#define SNAPSHOT_ADOPT_MIN_S	1	/* the lease check, at most this often */

struct launch_snapshot {
	TAILQ_ENTRY(launch_snapshot) entry;
	struct api	*a;
	struct event	*ev;
	struct api_job	 job;		/* its step, at a worker */
	int		 busy;
	int		 stopped;	/* out of the list: freed when back */
	int		 step_rc;	/* the step: 0, or -1 Redis failed */
	struct snapshot_step st;
	uint64_t	 tenant;
	uint64_t	 campaign;
	uint64_t	 list;
	struct segment	*seg;		/* the frozen segment_def, or NULL */
	int		 seg_read;	/* looked for it (the first step) */
	char		 cursor[LAUNCH_CURSOR_MAX];	/* of the next page */
	int		 registered;	/* in ff:sending */
	int		 failing;	/* Redis failed: warn once */
	uint64_t	 started_ms;
	long long	 queued;	/* by this process, for the log */
};

static const struct transition {
	const char	*verb;
	const char	*to;
	const char	*from[4];	/* NULL-terminated unless full */
	const char	*allowed;	/* for the 409's message */
} transitions[] = {
	{ "pause", "paused", { "sending", "scheduled" },
	    "a sending or scheduled campaign" },
	{ "resume", "sending", { "paused" }, "a paused campaign" },
	{ "cancel", "cancelled", { "draft", "sending", "paused", "scheduled" },
	    "a draft, scheduled, sending or paused campaign" },
};

/* What the resume job found: unfinished snapshots now this node's. */
struct sending_resume {
	uint64_t	 tenant;
	uint64_t	 campaign;
	uint64_t	 list;
	char		 cursor[LAUNCH_CURSOR_MAX];
};

static void	snapshot_step(evutil_socket_t, short, void *);

/* A snapshot's lease: a node that renewed it no longer for this long
 * is taken for dead. */
static uint64_t
lease_ms(const struct api *a)
{
	return (uint64_t)a->conf->claim_idle_s * 1000;
}

/* The state change t on one campaign: 0 with r filled, or -1. */
static int
state_change(struct db *db, uint64_t tenant, uint64_t campaign,
    const struct transition *t, struct launch_result *r)
{
	size_t	nfrom;

	for (nfrom = 0; nfrom < FF_NELEM(t->from) && t->from[nfrom] != NULL;
	    nfrom++)
		;
	return store_launch_transition(db, tenant, campaign, t->to,
	    t->from, nfrom, r);
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

/* The memory, once no worker has it. */
static void
snapshot_release(struct launch_snapshot *s)
{
	segment_free(s->seg);
	free(s);
}

/* Out of the list; freed now, or when its step comes back. */
static void
snapshot_free(struct launch_snapshot *s)
{
	struct api	*a = s->a;

	if (!s->stopped) {
		pthread_mutex_lock(&a->snapshots_lock);
		TAILQ_REMOVE(&a->snapshots, s, entry);
		pthread_mutex_unlock(&a->snapshots_lock);
		event_free(s->ev);
		s->ev = NULL;
		s->stopped = 1;
	}
	if (!s->busy)
		snapshot_release(s);
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
	pthread_mutex_lock(&a->snapshots_lock);
	TAILQ_INSERT_TAIL(&a->snapshots, s, entry);
	pthread_mutex_unlock(&a->snapshots_lock);
	snapshot_arm(s, 0);
}

static void
snapshot_stop(struct api *a, uint64_t tenant, uint64_t campaign)
{
	struct launch_snapshot	*s;

	if ((s = snapshot_find(a, tenant, campaign)) != NULL)
		snapshot_free(s);
}

/*
 * On a worker, before the first step: the segment frozen at launch, if
 * the campaign has one.  It was checked then, so it is read without the
 * special-category list (a list grown since does not stop a launch
 * half-way).  0, or -1 when Redis failed or the record is unreadable
 * (the step is tried again).
 */
static int
snapshot_segment(struct launch_snapshot *s, struct db *db)
{
	struct segment_error	 err;
	json_t			*j;
	char			*def;
	int			 rc;

	if ((rc = store_launch_segment_def(db, s->tenant, s->campaign,
	    &def)) == -1)
		return -1;
	if (rc == 1) {
		j = json_loads(def, 0, NULL);
		free(def);
		if (j == NULL || (s->seg = segment_parse(j, NULL, 0, &err)) ==
		    NULL) {
			log_warnx("campaign %llu of tenant %llu: its "
			    "segment_def is unreadable",
			    (unsigned long long)s->campaign,
			    (unsigned long long)s->tenant);
			json_decref(j);
			return -1;
		}
		json_decref(j);
	}
	s->seg_read = 1;
	return 0;
}

/* On a worker: one page of the list into the queue. */
static void
step_run(struct api_job *j, struct db *db)
{
	struct launch_snapshot	*s = (struct launch_snapshot *)((char *)j -
				    offsetof(struct launch_snapshot, job));
	struct api		*a = s->a;

	s->step_rc = -1;
	if (!s->registered) {
		/* The launch could not add it; senders look nowhere else. */
		if (store_sending_add(db, s->tenant, s->campaign) == -1)
			return;
		s->registered = 1;
	}
	if (!s->seg_read && snapshot_segment(s, db) == -1)
		return;
	s->step_rc = store_launch_step(db, s->tenant, s->campaign, s->list,
	    s->seg, s->cursor, a->conf->node_id, lease_ms(a), &s->st);
}

/* Back on the main thread: the next step, the end, or a retry. */
static void
step_done(struct api_job *j)
{
	struct launch_snapshot	*s = (struct launch_snapshot *)((char *)j -
				    offsetof(struct launch_snapshot, job));
	struct snapshot_step	*st = &s->st;

	s->busy = 0;
	if (s->stopped) {
		snapshot_release(s);
		return;
	}
	if (j->cancelled || s->step_rc == -1)
		goto retry;
	if (st->skipped)
		log_warnx("campaign %llu of tenant %llu: %d list members that "
		    "are no contact id skipped", (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant, st->skipped);
	s->queued += st->queued;
	s->failing = 0;
	switch (st->verdict) {
	case SNAPSHOT_STOP:
	case SNAPSHOT_COMPLETE:
		log_info("campaign %llu of tenant %llu: snapshot stopped (%s)",
		    (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant,
		    st->verdict == SNAPSHOT_COMPLETE ? "completed elsewhere" :
		    "no longer sending");
		snapshot_free(s);
		return;
	case SNAPSHOT_DONE:
		log_info("campaign %llu of tenant %llu: snapshot complete, "
		    "%lld recipients queued in %llu ms",
		    (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant, s->queued,
		    (unsigned long long)(now_ms() - s->started_ms));
		snapshot_free(s);
		return;
	case SNAPSHOT_RESTART:
		log_warnx("campaign %llu of tenant %llu: snapshot: redis is "
		    "another process now; scanning the list again",
		    (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant);
		break;
	case SNAPSHOT_NEXT:
		break;
	}
	snprintf(s->cursor, sizeof(s->cursor), "%s", st->next);
	snapshot_arm(s, 0);
	return;
retry:
	if (!s->failing)
		log_warnx("campaign %llu of tenant %llu: snapshot: redis "
		    "failed; retrying every %d s", (unsigned long long)s->campaign,
		    (unsigned long long)s->tenant, SNAPSHOT_RETRY_S);
	s->failing = 1;
	snapshot_arm(s, SNAPSHOT_RETRY_S);
}

/* The timer: the next step goes to a worker (a full queue: later). */
static void
snapshot_step(evutil_socket_t fd, short what, void *arg)
{
	struct launch_snapshot	*s = arg;

	(void)fd;
	(void)what;
	s->job.run = step_run;
	s->job.done = step_done;
	s->job.patient = 1;
	s->busy = 1;
	if (api_pool_submit(s->a->pool, &s->job) == -1) {
		s->busy = 0;
		snapshot_arm(s, SNAPSHOT_RETRY_S);
	}
}

/* Whether this process runs a snapshot of the campaign; any thread. */
static int
snapshot_running(struct api *a, uint64_t tenant, uint64_t campaign)
{
	int	found;

	pthread_mutex_lock(&a->snapshots_lock);
	found = snapshot_find(a, tenant, campaign) != NULL;
	pthread_mutex_unlock(&a->snapshots_lock);
	return found;
}

/*
 * On a worker, at start-up, then every claim_idle / 2: takes the
 * unfinished snapshots of ff:sending whose node is gone (its lease
 * expired) or was this one before a restart; resume_done starts them.
 */
static void
resume_run(struct api_job *j, struct db *db)
{
	struct api		*a = (struct api *)((char *)j -
				    offsetof(struct api, resume_job));
	struct sending_campaign	*all, *c;
	struct sending_resume	*f;
	size_t			 i, n;
	int			 rc;

	a->resume_nfound = 0;
	a->resume_found = NULL;
	if (store_sending_all(db, &all, &n) == -1) {
		a->resume_rc = -1;
		return;
	}
	a->resume_found = xcalloc(n ? n : 1, sizeof(*a->resume_found));
	for (i = 0, rc = 0; i < n && rc != -1; i++) {
		c = &all[i];
		f = &a->resume_found[a->resume_nfound];
		if (snapshot_running(a, c->tenant, c->campaign) ||
		    (rc = store_launch_unfinished(db, c->tenant,
		    c->campaign, &f->list, f->cursor)) != 1 ||
		    (rc = store_launch_adopt(db, c->tenant, c->campaign,
		    a->conf->node_id, lease_ms(a))) != 1)
			continue;
		f->tenant = c->tenant;
		f->campaign = c->campaign;
		a->resume_nfound++;
	}
	free(all);
	a->resume_rc = rc == -1 ? -1 : 0;
}

static void
resume_done(struct api_job *j)
{
	struct api		*a = (struct api *)((char *)j -
				    offsetof(struct api, resume_job));
	struct timeval		 tv = { SNAPSHOT_RETRY_S, 0 };
	struct sending_resume	*f;
	size_t			 i;

	a->resume_busy = 0;
	for (i = 0; i < a->resume_nfound && !a->launch_stopping; i++) {
		f = &a->resume_found[i];
		snapshot_start(a, f->tenant, f->campaign, f->list, f->cursor,
		    1);
	}
	if (a->resume_nfound && !a->launch_stopping)
		log_info("api: going on with %zu unfinished list snapshots",
		    a->resume_nfound);
	free(a->resume_found);
	a->resume_found = NULL;
	a->resume_nfound = 0;
	if (a->launch_stopping)
		return;
	if (j->cancelled || a->resume_rc == -1) {
		if (!a->launch_resume_failed)
			log_warnx("api: redis failed reading the sending "
			    "campaigns; unfinished snapshots resume when it "
			    "answers");
		a->launch_resume_failed = 1;
	} else {
		a->launch_resume_failed = 0;
		tv.tv_sec = a->conf->claim_idle_s / 2;
		if (tv.tv_sec < SNAPSHOT_ADOPT_MIN_S)
			tv.tv_sec = SNAPSHOT_ADOPT_MIN_S;
	}
	evtimer_add(a->launch_resume, &tv);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;
	struct timeval	 tv = { SNAPSHOT_RETRY_S, 0 };

	(void)fd;
	(void)what;
	a->resume_job.run = resume_run;
	a->resume_job.done = resume_done;
	a->resume_job.patient = 1;
	a->resume_busy = 1;
	if (api_pool_submit(a->pool, &a->resume_job) == -1) {
		a->resume_busy = 0;
		evtimer_add(a->launch_resume, &tv);
	}
}

void
api_launch_init(struct api *a)
{
	struct timeval	tv = { 0, 0 };

	TAILQ_INIT(&a->snapshots);
	if (pthread_mutex_init(&a->snapshots_lock, NULL) != 0)
		fatalx("api: pthread_mutex_init");
	/* On the first loop turn: start-up must not wait for Redis. */
	if ((a->launch_resume = evtimer_new(a->base, resume_cb, a)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(a->launch_resume, &tv);
}

void
api_launch_free(struct api *a)
{
	struct launch_snapshot	*s;

	a->launch_stopping = 1;
	while ((s = TAILQ_FIRST(&a->snapshots)) != NULL)
		snapshot_free(s);
	if (a->launch_resume != NULL)
		event_free(a->launch_resume);
	a->launch_resume = NULL;
	/* The resume job, if at a worker, comes back in api_pool_free. */
}

void
api_launch_note(struct api *a, const struct launch_note *n)
{
	struct launch_snapshot	*s, *next;

	if (a->launch_stopping)
		return;
	switch (n->kind) {
	case LAUNCH_NOTE_NONE:
		break;
	case LAUNCH_NOTE_START:
		snapshot_start(a, n->tenant, n->campaign, n->list, "0",
		    n->registered);
		break;
	case LAUNCH_NOTE_STOP:
		snapshot_stop(a, n->tenant, n->campaign);
		break;
	case LAUNCH_NOTE_STOP_TENANT:
		for (s = TAILQ_FIRST(&a->snapshots); s != NULL; s = next) {
			next = TAILQ_NEXT(s, entry);
			if (s->tenant == n->tenant)
				snapshot_free(s);
		}
		break;
	}
}

/* ----------------------------------------------------------- handlers */

/*
 * The From was checked when the draft was made; its domain may have
 * been deleted, or have failed verification, since (API.md: a tenant
 * sends only from a verified domain of its own).  0 to go on, -1 after
 * answering.  Only a draft: any other state is store_launch's 409.  A
 * domain deleted between this read and the launch is not caught: the
 * check narrows the gap to one request, it does not lock the domain.
 */
static int
launch_from_check(struct api_req *r, uint64_t id)
{
	struct campaign	c;
	struct api_err	err;
	int		rc, draft;

	if (r->a->conf->allow_unverified_from)
		return 0;
	if ((rc = store_campaign_get(r->db, r->tenant, id, &c)) == -1) {
		api_unavailable(r);
		return -1;
	}
	if (rc == 0)
		return 0;		/* store_launch's 404 */
	draft = c.status != NULL && strcmp(c.status, "draft") == 0;
	rc = draft ? api_domain_check_from(r->a, r->db, r->tenant,
	    c.from != NULL ? c.from : "", &err) : 0;
	store_campaign_free(&c);
	if (rc == -1) {
		api_reply_err(r, &err);
		return -1;
	}
	return 0;
}
/* The answer to a launch launch.lua refused (res->verdict not
 * LAUNCH_OK), the API's own and the schedule's alike. */
void
api_launch_refused(struct api_req *r, const struct launch_result *res,
    uint64_t list, uint64_t template_id)
{
	switch (res->verdict) {
	case LAUNCH_OK:
		break;
	case LAUNCH_STATE:
		api_error(r, 409, "invalid_state", "the campaign is %s; only a "
		    "draft can be launched", res->state);
		break;
	case LAUNCH_NO_LIST:
		api_error(r, 422, "invalid_campaign", "the campaign's list %llu "
		    "no longer exists", (unsigned long long)list);
		break;
	case LAUNCH_NO_TEMPLATE:
		api_error(r, 422, "invalid_campaign", "the campaign's template "
		    "%llu no longer exists", (unsigned long long)template_id);
		break;
	case LAUNCH_TENANT:
		api_error(r, 403, "tenant_inactive", "the tenant is being "
		    "deleted");
		break;
	case LAUNCH_NOT_FOUND:
		api_error(r, 404, "not_found", "no such campaign");
		break;
	}
}


void
api_campaign_launch(struct api_req *r, uint64_t id)
{
	struct launch_result	 res;
	uint64_t		 lid, tid;
	char			*segment_def = NULL;
	int			 rc, registered;

	if ((rc = store_campaign_refs(r->db, r->tenant, id, &lid, &tid)) ==
	    -1) {
		api_unavailable(r);
		return;
	}
	if (rc == 0) {
		api_error(r, 422, "invalid_campaign", "the campaign names no "
		    "list or template");
		return;
	}
	if (launch_from_check(r, id) == -1)
		return;
	if (api_segment_launch_def(r, id, &segment_def) == -1)
		return;
	/* A send_at still to come: scheduled, launched by the due job,
	 * which checks and freezes the segment's definition then. */
	if (api_schedule_launch(r, id, lid, tid, segment_def != NULL) != 0) {
		free(segment_def);
		return;
	}
	rc = store_launch(r->db, r->tenant, id, lid, tid, segment_def,
	    now_ms(), &res);
	free(segment_def);
	if (rc == -1) {
		api_unavailable(r);
		return;
	}
	if (res.verdict != LAUNCH_OK) {
		api_launch_refused(r, &res, lid, tid);
		return;
	}
	/* Launched: a failed SADD is retried by the snapshot's first step. */
	registered = store_sending_add(r->db, r->tenant, id) == 0;
	(void)api_schedule_launched(r->db, r->tenant, id, now_ms());
	r->note = (struct launch_note){ LAUNCH_NOTE_START, r->tenant, id, lid,
	    registered };
	log_info("campaign %llu of tenant %llu: launched, %lld recipients",
	    (unsigned long long)id, (unsigned long long)r->tenant, res.count);
	/* queued: the list's size being queued; GET shows the live count. */
	api_json(r, 202, json_pack("{s:s, s:I}", "status", "sending", "queued",
	    (json_int_t)res.count));
}

void
api_campaign_transition(struct api_req *r, uint64_t id, const char *verb)
{
	const struct transition	*t = NULL;
	struct launch_result	 res;
	size_t			 i;

	for (i = 0; i < FF_NELEM(transitions); i++)
		if (strcmp(transitions[i].verb, verb) == 0)
			t = &transitions[i];
	if (t == NULL) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (state_change(r->db, r->tenant, id, t, &res) == -1) {
		api_unavailable(r);
		return;
	}
	if (res.verdict == LAUNCH_OK) {
		if (strcmp(t->to, "cancelled") == 0) {
			r->note = (struct launch_note){ LAUNCH_NOTE_STOP,
			    r->tenant, id, 0, 0 };
			/* Cancelled stays cancelled: senders check the status,
			 * so a failed SREM only leaves them a look to spare. */
			if (store_sending_remove(r->db, r->tenant, id) == -1)
				log_warnx("campaign %llu of tenant %llu: "
				    "cancelled, but still among the sending "
				    "campaigns", (unsigned long long)id,
				    (unsigned long long)r->tenant);
		}
		api_schedule_transition(r, id, res.state);
		api_json(r, 200, json_pack("{s:s}", "status", res.state));
	} else if (res.verdict == LAUNCH_STATE)
		api_error(r, 409, "invalid_state", "the campaign is %s; %s needs "
		    "%s", res.state, verb, t->allowed);
	else
		api_error(r, 404, "not_found", "no such campaign");
}

/* The tenant being deleted: its campaign leaves ff:sending cancelled
 * (done or cancelled already, it only leaves). */
static const struct transition stop = { "stop", "cancelled",
    { "sending", "paused" }, NULL };

struct stop_tenant {
	struct db	*db;
	uint64_t	 tenant;
};

static int
stop_campaign(void *arg, uint64_t campaign)
{
	struct stop_tenant	*st = arg;
	struct launch_result	 res;

	return state_change(st->db, st->tenant, campaign, &stop, &res);
}

int
api_launch_stop_tenant(struct api_req *r, uint64_t tenant)
{
	struct api		*a = r->a;
	struct launch_snapshot	*s;
	struct stop_tenant	 st = { r->db, tenant };
	struct launch_result	 res;
	uint64_t		*camps = NULL;
	size_t			 i, n = 0, cap = 0;

	/* Any of its own the main loop is still queueing, registered or
	 * not: the list is the main thread's, read under its lock. */
	pthread_mutex_lock(&a->snapshots_lock);
	TAILQ_FOREACH(s, &a->snapshots, entry) {
		if (s->tenant != tenant)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			camps = xreallocarray(camps, cap, sizeof(*camps));
		}
		camps[n++] = s->campaign;
	}
	pthread_mutex_unlock(&a->snapshots_lock);
	for (i = 0; i < n; i++)
		if (state_change(r->db, tenant, camps[i], &stop, &res) == -1) {
			free(camps);
			return -1;
		}
	free(camps);
	r->note = (struct launch_note){ LAUNCH_NOTE_STOP_TENANT, tenant, 0, 0,
	    0 };
	return store_sending_drain_tenant(r->db, tenant, stop_campaign, &st);
}
