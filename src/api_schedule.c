/*
 * api_schedule.c: scheduled launches and A/B tests: the "scheduled"
 * step of a launch with a send_at still to come, the state changes
 * around it, and the due job that, on every node, launches the
 * campaigns whose send_at has come and picks the A/B winners whose
 * wait is over.
 *
 * DESIGN.  Nodes are stateless and several may run, so what is due
 * lives in Redis: ff:scheduled and ff:ab_due, sorted sets of "T:C" by
 * time (node-wide, like ff:sending: a Redis Cluster routes each by its
 * own slot; the campaign's own keys stay in its tenant's).  Every
 * node's due job (a worker job every DUE_TICK_S) reads what is due.  A
 * launch happens once because launch.lua changes "scheduled" to
 * "sending" only from "scheduled" and only once send_at has come: of
 * two nodes, one gets "ok" and the other finds it "sending".  A member
 * leaves the set only after its launch is complete (in ff:sending), so
 * a node killed in between leaves it for the next look, which finds it
 * "sending" and adds it to ff:sending (its list snapshot is then taken
 * over by api_launch.c's resume job, the lease being free).  A restart
 * therefore never launches early (the script checks the time) nor twice
 * (the status).  A paused scheduled campaign stays in the set, looked
 * at again every DUE_PAUSED_S; its resume puts it back at send_at.
 *
 * An A/B winner is set once (ab_release.lua: HSETNX), with the figures
 * it was chosen on; the held-back rest moves into the queue in rounds
 * of AB_RELEASE_BATCHES batches, the member leaving ff:ab_due when none
 * is left, so a node killed half-way leaves the rest to the next look.
 *
 * Never: call Redis on the main thread.  What is in Redis is
 * store_schedule.c's and store_launch.c's.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store_campaign.h"
#include "store_launch.h"
#include "store_schedule.h"
#include "store_template.h"

#define DUE_TICK_S		1
#define DUE_MAX			100	/* per set and tick */
#define DUE_PAUSED_S		60
#define AB_RELEASE_BATCHES	100	/* of 100 ids, per call */

struct due_launch {
	uint64_t	tenant, campaign, list;
	int		registered;
};

struct api_schedule {
	struct api		*a;
	struct event		*ev;
	struct api_job		 job;
	int			 busy;
	int			 stopping;
	int			 failed;	/* warned once */
	int			 rc;
	struct due_launch	*launched;	/* the job's, for the main
						 * thread's snapshots */
	size_t			 nlaunched;
};

/* ------------------------------------------------------------ the job */

/* A campaign launched by this job: in ff:sending, then the A/B wait. */
static void
launched(struct api_schedule *s, struct db *db, uint64_t tenant,
    uint64_t campaign, uint64_t list, uint64_t now)
{
	struct due_launch	*l = &s->launched[s->nlaunched++];

	l->tenant = tenant;
	l->campaign = campaign;
	l->list = list;
	l->registered = store_sending_add(db, tenant, campaign) == 0;
	(void)api_schedule_launched(db, tenant, campaign, now);
	log_info("campaign %llu of tenant %llu: scheduled launch",
	    (unsigned long long)campaign, (unsigned long long)tenant);
}

/* One due launch; -1 when Redis failed (it stays in the set). */
static int
due_launch(struct api_schedule *s, struct db *db, uint64_t tenant,
    uint64_t campaign, uint64_t now)
{
	struct campaign_schedule sc;
	struct launch_result	 res;
	uint64_t		 list, tpl;
	char			*segment_def = NULL;
	int			 rc;

	if ((rc = store_campaign_refs(db, tenant, campaign, &list, &tpl)) ==
	    -1)
		return -1;
	if (rc == 0)
		return store_due_remove(db, DUE_LAUNCH, tenant, campaign);
	/* A segment is evaluated as it is at send_at, frozen by the launch
	 * (API.md: at launch); one gone since leaves the campaign
	 * scheduled, out of the set, as a deleted list does. */
	if ((rc = api_segment_due_def(s->a, db, tenant, campaign,
	    &segment_def)) == -1)
		return -1;
	if (rc == -2)
		return store_due_remove(db, DUE_LAUNCH, tenant, campaign);
	rc = store_launch_due(db, tenant, campaign, list, tpl, segment_def,
	    now, &res);
	free(segment_def);
	if (rc == -1)
		return -1;
	if (res.verdict == LAUNCH_OK) {
		launched(s, db, tenant, campaign, list, now);
		return store_due_remove(db, DUE_LAUNCH, tenant, campaign);
	}
	if (res.verdict == LAUNCH_STATE && strcmp(res.state, "paused") == 0)
		return store_due_add(db, DUE_LAUNCH, tenant, campaign,
		    now + DUE_PAUSED_S * 1000);
	if (res.verdict == LAUNCH_STATE &&
	    strcmp(res.state, "scheduled") == 0) {
		/* Not yet (its score was early): at its send_at. */
		if ((rc = store_schedule_get(db, tenant, campaign, &sc)) == -1)
			return -1;
		rc = store_due_add(db, DUE_LAUNCH, tenant, campaign,
		    sc.send_at > now ? sc.send_at : now + 1000);
		store_schedule_free(&sc);
		return rc;
	}
	/* Launched by a node that died before it was done here. */
	if (res.verdict == LAUNCH_STATE && strcmp(res.state, "sending") == 0 &&
	    store_sending_add(db, tenant, campaign) == -1)
		return -1;
	return store_due_remove(db, DUE_LAUNCH, tenant, campaign);
}

/* One A/B test whose wait is over; -1 when Redis failed. */
static int
due_ab(struct db *db, uint64_t tenant, uint64_t campaign, uint64_t now)
{
	struct campaign_schedule sc;
	struct ab_figures	 fig[AB_MAX_VARIANTS];
	struct ab_test		 t;
	json_t			*o;
	char			 err[160];
	long long		 left = 0;
	int			 rc, winner, chosen, decided;

	if ((rc = store_schedule_get(db, tenant, campaign, &sc)) == -1)
		return -1;
	o = sc.ab != NULL ? json_loads(sc.ab, 0, NULL) : NULL;
	rc = o != NULL ? ab_parse(o, &t, err, sizeof(err)) : -1;
	json_decref(o);
	winner = sc.ab_winner;
	decided = winner != 0;
	store_schedule_free(&sc);
	if (rc == -1)
		return store_due_remove(db, DUE_AB, tenant, campaign);
	if (winner == 0) {
		if (store_ab_figures(db, tenant, campaign, t.nvariants, fig) ==
		    -1)
			return -1;
		winner = ab_winner(t.metric, fig, t.nvariants);
	} else
		memset(fig, 0, sizeof(fig));	/* not written again */
	if (store_ab_release(db, tenant, campaign, winner, fig, t.nvariants,
	    now, AB_RELEASE_BATCHES, &chosen, &left) == -1)
		return -1;
	if (chosen != 0 && !decided)
		log_info("campaign %llu of tenant %llu: A/B winner: variant %d",
		    (unsigned long long)campaign, (unsigned long long)tenant,
		    chosen);
	return left > 0 ? 0 : store_due_remove(db, DUE_AB, tenant, campaign);
}

static void
due_run(struct api_job *j, struct db *db)
{
	struct api_schedule	*s = (struct api_schedule *)((char *)j -
				    offsetof(struct api_schedule, job));
	struct sending_campaign	*due = NULL;
	uint64_t		 now = now_ms();
	size_t			 i, n = 0;

	s->rc = -1;
	s->nlaunched = 0;
	if (store_due_list(db, DUE_LAUNCH, now, DUE_MAX, &due, &n) == -1)
		return;
	s->launched = xcalloc(n + 1, sizeof(*s->launched));
	for (i = 0; i < n; i++)
		if (due_launch(s, db, due[i].tenant, due[i].campaign, now) ==
		    -1)
			goto out;
	free(due);
	due = NULL;
	if (store_due_list(db, DUE_AB, now, DUE_MAX, &due, &n) == -1)
		return;
	for (i = 0; i < n; i++)
		if (due_ab(db, due[i].tenant, due[i].campaign, now) == -1)
			goto out;
	s->rc = 0;
out:
	free(due);
}

static void
due_done(struct api_job *j)
{
	struct api_schedule	*s = (struct api_schedule *)((char *)j -
				    offsetof(struct api_schedule, job));
	struct timeval		 tv = { DUE_TICK_S, 0 };
	struct launch_note	 note;
	size_t			 i;

	s->busy = 0;
	if (s->stopping) {
		free(s->launched);
		free(s);
		return;
	}
	for (i = 0; i < s->nlaunched; i++) {
		note = (struct launch_note){ LAUNCH_NOTE_START,
		    s->launched[i].tenant, s->launched[i].campaign,
		    s->launched[i].list, s->launched[i].registered };
		api_launch_note(s->a, &note);
	}
	free(s->launched);
	s->launched = NULL;
	s->nlaunched = 0;
	if (j->cancelled || s->rc == -1) {
		if (!s->failed)
			log_warnx("api: redis failed reading the due "
			    "launches and A/B tests; trying every %d s",
			    DUE_TICK_S);
		s->failed = 1;
	} else
		s->failed = 0;
	evtimer_add(s->ev, &tv);
}

static void
due_tick(evutil_socket_t fd, short what, void *arg)
{
	struct api_schedule	*s = arg;
	struct timeval		 tv = { DUE_TICK_S, 0 };

	(void)fd;
	(void)what;
	s->job.run = due_run;
	s->job.done = due_done;
	s->job.patient = 1;
	s->busy = 1;
	if (api_pool_submit(s->a->pool, &s->job) == -1) {
		s->busy = 0;
		evtimer_add(s->ev, &tv);
	}
}

void
api_schedule_init(struct api *a)
{
	struct api_schedule	*s = xcalloc(1, sizeof(*s));
	struct timeval		 tv = { 0, 0 };

	s->a = a;
	if ((s->ev = evtimer_new(a->base, due_tick, s)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(s->ev, &tv);
	a->schedule = s;
}

void
api_schedule_free(struct api *a)
{
	struct api_schedule	*s = a->schedule;

	if (s == NULL)
		return;
	a->schedule = NULL;
	event_free(s->ev);
	s->stopping = 1;
	/* At a worker: its done frees it (api_pool_free hands it back). */
	if (!s->busy) {
		free(s->launched);
		free(s);
	}
}

/* ------------------------------------------------- the handlers' part */

int
api_schedule_launched(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t now)
{
	struct campaign_schedule sc;
	struct ab_test		 t;
	json_t			*o;
	char			 err[160];
	int			 rc;

	if ((rc = store_schedule_get(db, tenant, campaign, &sc)) != 1) {
		store_schedule_free(&sc);
		return rc;
	}
	o = sc.ab != NULL ? json_loads(sc.ab, 0, NULL) : NULL;
	rc = 0;
	if (o != NULL && ab_parse(o, &t, err, sizeof(err)) == 0)
		rc = store_due_add(db, DUE_AB, tenant, campaign,
		    (sc.launched_at ? sc.launched_at : now) + t.wait_ms);
	json_decref(o);
	store_schedule_free(&sc);
	if (rc == -1)
		log_warnx("campaign %llu of tenant %llu: its A/B test's wait "
		    "could not be stored: the winner is not picked",
		    (unsigned long long)campaign, (unsigned long long)tenant);
	return rc;
}

int
api_schedule_launch(struct api_req *r, uint64_t id, uint64_t list,
    uint64_t template_id, int segment)
{
	struct campaign_schedule sc;
	struct launch_result	 res;
	char			 when[40];
	uint64_t		 now = now_ms();
	int			 rc;

	if ((rc = store_schedule_get(r->db, r->tenant, id, &sc)) == -1) {
		api_unavailable(r);
		return -1;
	}
	/* The test share is the first round(total x test_fraction)
	 * recipients queued, and a segment's total is known only when its
	 * snapshot ends. */
	if (rc == 1 && segment && sc.ab != NULL) {
		store_schedule_free(&sc);
		api_error(r, 422, "invalid_ab", "an A/B test cannot be sent to "
		    "a segment (its size is known only once its snapshot "
		    "ends); use a list");
		return -1;
	}
	if (rc == 0 || sc.send_at <= now) {
		store_schedule_free(&sc);
		return 0;
	}
	/* In the due set first: a scheduled campaign is never out of it
	 * (one whose script then refuses is dropped by the due job). */
	if (store_due_add(r->db, DUE_LAUNCH, r->tenant, id, sc.send_at) ==
	    -1 || (rc = store_schedule(r->db, r->tenant, id, list,
	    template_id, segment, now, &res)) == -1) {
		store_schedule_free(&sc);
		api_unavailable(r);
		return -1;
	}
	if (rc == 0) {			/* its time came meanwhile */
		store_schedule_free(&sc);
		return 0;
	}
	switch (res.verdict) {
	case LAUNCH_OK:
		api_json(r, 202, json_pack("{s:s, s:s}", "status", "scheduled",
		    "send_at", api_iso_time(sc.send_at, when, sizeof(when))));
		log_info("campaign %llu of tenant %llu: scheduled for %s",
		    (unsigned long long)id, (unsigned long long)r->tenant,
		    when);
		break;
	default:
		api_launch_refused(r, &res, list, template_id);
		break;
	}
	store_schedule_free(&sc);
	return 1;
}

void
api_schedule_transition(struct api_req *r, uint64_t id, const char *status)
{
	struct campaign_schedule sc;

	if (strcmp(status, "cancelled") == 0) {
		/* Else the due job drops it at its time. */
		(void)store_due_remove(r->db, DUE_LAUNCH, r->tenant, id);
		(void)store_due_remove(r->db, DUE_AB, r->tenant, id);
		return;
	}
	if (strcmp(status, "scheduled") != 0 ||
	    store_schedule_get(r->db, r->tenant, id, &sc) != 1)
		return;
	/* Resumed before its launch: due at send_at again (else the
	 * paused look of DUE_PAUSED_S finds it). */
	(void)store_due_add(r->db, DUE_LAUNCH, r->tenant, id, sc.send_at);
	store_schedule_free(&sc);
}

/* ---------------------------------------------------- fields and JSON */

/* Whether two templates track the same links, in the same order: a
 * variant's clicks redirect through the campaign's link table. */
static int
same_links(const struct template *a, const struct template *b)
{
	size_t	i;

	if (a->nlinks != b->nlinks)
		return 0;
	for (i = 0; i < a->nlinks; i++)
		if (strcmp(a->links[i], b->links[i]) != 0)
			return 0;
	return 1;
}

/* The variants' templates: each exists and tracks the links of the
 * campaign's template (base, from the body; its own absence is the
 * caller's 422).  0, or -1 after answering. */
static int
variant_templates(struct api_req *r, json_t *body, const struct ab_test *t)
{
	struct template	 base, vt;
	json_t		*v = json_object_get(body, "template_id");
	uint64_t	 base_id;
	int		 i, rc, ret = 0;

	if (!json_is_string(v) || parse_u64(json_string_value(v),
	    json_string_length(v), &base_id) == -1)
		return 0;
	if ((rc = store_template_get(r->db, r->tenant, base_id, &base)) !=
	    1) {
		if (rc == -1)
			api_unavailable(r);
		return rc == -1 ? -1 : 0;
	}
	for (i = 0; i < t->nvariants && ret == 0; i++) {
		if (t->variant[i].template_id == 0)
			continue;
		if ((rc = store_template_get(r->db, r->tenant,
		    t->variant[i].template_id, &vt)) == -1) {
			api_unavailable(r);
			ret = -1;
			break;
		}
		if (rc == 0) {
			api_error(r, 422, "invalid_reference", "ab.variants[%d]: "
			    "no such template", i);
			ret = -1;
			break;
		}
		if (!same_links(&base, &vt)) {
			api_error(r, 422, "invalid_ab", "ab.variants[%d]: its "
			    "template must track the links of the campaign's "
			    "template, in the same order (clicks redirect "
			    "through the campaign's link table)", i);
			ret = -1;
		}
		store_template_free(&vt);
	}
	store_template_free(&base);
	return ret;
}

int
api_schedule_parse(struct api_req *r, json_t *body,
    struct campaign_schedule *sc)
{
	struct ab_test	 t;
	json_t		*v;
	char		 err[200];

	campaign_schedule_init(sc);
	if ((v = json_object_get(body, "send_at")) != NULL &&
	    (!json_is_string(v) || tz_parse_rfc3339(json_string_value(v),
	    json_string_length(v), &sc->send_at) == -1)) {
		api_error(r, 422, "invalid_send_at", "send_at: an RFC 3339 time "
		    "such as \"2026-12-03T09:00:00Z\" or "
		    "\"2026-12-03T10:00:00+01:00\"");
		return -1;
	}
	if ((v = json_object_get(body, "local_time")) != NULL &&
	    (!json_is_string(v) || tz_parse_hhmm(json_string_value(v),
	    json_string_length(v), &sc->local_time) == -1)) {
		api_error(r, 422, "invalid_local_time", "local_time: \"HH:MM\" "
		    "(or \"HH:MM:SS\"), 00:00 to 23:59");
		return -1;
	}
	if ((v = json_object_get(body, "timezone")) != NULL) {
		if (!json_is_string(v) || !tz_exists(TZ_DIR_DEFAULT,
		    json_string_value(v), json_string_length(v))) {
			api_error(r, 422, "invalid_timezone", "timezone: an IANA "
			    "time zone of the system's zoneinfo, such as "
			    "\"Europe/Berlin\"");
			return -1;
		}
		snprintf(sc->timezone, sizeof(sc->timezone), "%s",
		    json_string_value(v));
	}
	if ((v = json_object_get(body, "ab")) == NULL)
		return 0;
	if (ab_parse(v, &t, err, sizeof(err)) == -1) {
		api_error(r, 422, "invalid_ab", "%s", err);
		return -1;
	}
	if (sc->local_time >= 0) {
		api_error(r, 422, "invalid_ab", "ab: an A/B test with "
		    "local_time is not supported (the test's wait would start "
		    "before most of its recipients get their mail)");
		return -1;
	}
	if (variant_templates(r, body, &t) == -1)
		return -1;
	v = ab_json(&t);
	sc->ab = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return 0;
}

int
api_schedule_show(struct db *db, uint64_t tenant, uint64_t campaign,
    json_t *o)
{
	struct campaign_schedule sc;
	struct ab_figures	 live[AB_MAX_VARIANTS];
	const struct ab_figures	*fig;
	struct ab_test		 t;
	json_t			*ab, *vs, *v;
	char			 err[160], hhmm[16];
	int			 rc, i;

	if ((rc = store_schedule_get(db, tenant, campaign, &sc)) != 1) {
		store_schedule_free(&sc);
		return rc;
	}
	api_set_time(o, "send_at", sc.send_at);
	if (sc.local_time >= 0) {
		if (sc.local_time % 60 == 0)
			snprintf(hhmm, sizeof(hhmm), "%02d:%02d",
			    sc.local_time / 3600, sc.local_time / 60 % 60);
		else
			snprintf(hhmm, sizeof(hhmm), "%02d:%02d:%02d",
			    sc.local_time / 3600, sc.local_time / 60 % 60,
			    sc.local_time % 60);
		json_object_set_new(o, "local_time", json_string(hhmm));
	}
	if (sc.timezone[0] != '\0')
		json_object_set_new(o, "timezone", json_string(sc.timezone));
	ab = sc.ab != NULL ? json_loads(sc.ab, 0, NULL) : NULL;
	if (ab == NULL || ab_parse(ab, &t, err, sizeof(err)) == -1) {
		json_decref(ab);
		store_schedule_free(&sc);
		return 1;
	}
	/* Decided: the figures the winner was chosen on.  Else live. */
	fig = sc.ab_fig;
	if (sc.ab_winner == 0) {
		if (sc.launched_at != 0 && store_ab_figures(db, tenant,
		    campaign, t.nvariants, live) == -1) {
			json_decref(ab);
			store_schedule_free(&sc);
			return -1;
		}
		if (sc.launched_at == 0)
			memset(live, 0, sizeof(live));
		fig = live;
	}
	vs = json_object_get(ab, "variants");
	for (i = 0; i < t.nvariants; i++) {
		v = json_array_get(vs, (size_t)i);
		json_object_set_new(v, "variant", json_integer(i + 1));
		json_object_set_new(v, "queued", json_integer(sc.ab_queued[i]));
		json_object_set_new(v, "sent", json_integer(fig[i].sent));
		json_object_set_new(v, "opens", json_integer(fig[i].opens));
		json_object_set_new(v, "clicks", json_integer(fig[i].clicks));
		json_object_set_new(v, "open_rate",
		    json_real(ab_rate(AB_OPENS, &fig[i])));
		json_object_set_new(v, "click_rate",
		    json_real(ab_rate(AB_CLICKS, &fig[i])));
	}
	json_object_set_new(ab, "winner", sc.ab_winner ?
	    json_integer(sc.ab_winner) : json_null());
	if (sc.launched_at != 0)
		api_set_time(ab, "decide_at", sc.launched_at + t.wait_ms);
	api_set_time(ab, "decided_at", sc.ab_decided_at);
	json_object_set_new(o, "ab", ab);
	store_schedule_free(&sc);
	return 1;
}
