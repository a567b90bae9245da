/*
 * api_sequence.c: sequences (automation) over HTTP: create, read,
 * activate, pause, enroll; the trigger list's enrollment; and the
 * timer that runs the due-step job (sequence_tick.c) on a worker once a
 * second.
 *
 * A sequence's From is checked as a campaign's (api_campaign.c's
 * form, api_domain.c's verified domain unless allow_unverified_from),
 * at creation and again at each activation.  What is in Redis is
 * store_sequence.c's: this file checks requests and shapes the JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "sequence.h"
#include "sequence_tick.h"
#include "store_campaign.h"
#include "store_contact.h"
#include "store_list.h"
#include "store_sequence.h"
#include "store_stats.h"
#include "store_template.h"

#define SEQUENCE_TICK_S		1
#define SEQUENCE_WARN_EVERY_MS	60000

/* ----------------------------------------------------------- create */

static void
sequence_create(struct api_req *r)
{
	struct sequence_def	 d;
	struct sequence_error	 e;
	struct sequence_links	 links[SEQUENCE_STEPS_MAX];
	struct template		 tpl[SEQUENCE_STEPS_MAX];
	struct api_err		 err;
	const char		**urls[SEQUENCE_STEPS_MAX];
	json_t			*body;
	char			*name = NULL, idbuf[24];
	uint64_t		 id;
	size_t			 k, i, ntpl = 0;
	int			 rc;

	memset(urls, 0, sizeof(urls));
	if (api_body_object(r, &body) == -1)
		return;
	if (sequence_def_parse(body, &d, &e) == -1) {
		api_error(r, e.status, e.code, "%s", e.msg);
		goto out;
	}
	if (api_from_answer(r, json_object_get(body, "from"), "from",
	    "invalid_from") == -1)
		goto out;
	/* API.md: a tenant sends only as itself (api_domain.c). */
	if (api_domain_check_from(r->a, r->db, r->tenant, d.from, &err) ==
	    -1) {
		api_reply_err(r, &err);
		goto out;
	}
	if (d.trigger_list != 0) {
		if ((rc = store_list_name(r->db, r->tenant, d.trigger_list,
		    &name)) != 1) {
			if (rc == -1)
				api_unavailable(r);
			else
				api_error(r, 422, "invalid_trigger", "trigger: "
				    "no such list");
			goto out;
		}
	}
	for (k = 0; k < d.nsteps; k++, ntpl++) {
		if ((rc = store_template_get(r->db, r->tenant,
		    d.steps[k].template_id, &tpl[k])) != 1) {
			if (rc == -1)
				api_unavailable(r);
			else
				api_error(r, 422, "invalid_reference",
				    "steps[%zu]: no such template", k);
			goto out;
		}
		/* As a campaign: only the links a click may go to. */
		urls[k] = xcalloc(tpl[k].nlinks + 1, sizeof(*urls[k]));
		for (i = 0; i < tpl[k].nlinks; i++)
			if (policy_url_is_safe(tpl[k].links[i],
			    strlen(tpl[k].links[i])))
				urls[k][i] = tpl[k].links[i];
		links[k].links = urls[k];
		links[k].n = tpl[k].nlinks;
	}
	if (store_sequence_create(r->db, r->tenant, &d, links, now_ms(),
	    &id) == -1) {
		api_unavailable(r);
		goto out;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	api_json(r, 201, json_pack("{s:s, s:s}", "id", idbuf, "status",
	    "draft"));
out:
	for (k = 0; k < ntpl; k++) {
		free(urls[k]);
		store_template_free(&tpl[k]);
	}
	free(name);
	json_decref(body);
}

/* ------------------------------------------------------------- read */

static void
set_id(json_t *o, const char *name, uint64_t id)
{
	char	buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	json_object_set_new(o, name, json_string(buf));
}

/* One step as GET shows it: its definition and its campaign's figures
 * (sent by the senders, human unique opens and clicks). */
static json_t *
step_json(struct db *db, uint64_t tenant, const struct sequence_record *q,
    size_t k)
{
	struct campaign		 c;
	struct campaign_stats	 s;
	json_t			*o;
	char			 delay[SEQUENCE_DELAY_TEXT];
	int			 rc;

	o = json_pack("{s:s, s:s}", "delay", sequence_format_delay(
	    q->steps[k].delay_ms, delay, sizeof(delay)), "if",
	    sequence_if_name(q->steps[k].cond));
	set_id(o, "template_id", q->steps[k].template_id);
	set_id(o, "campaign_id", q->steps[k].campaign);
	if ((rc = store_campaign_get(db, tenant, q->steps[k].campaign,
	    &c)) == -1)
		goto fail;
	json_object_set_new(o, "queued", json_integer(rc == 1 ?
	    c.count[CAMPAIGN_QUEUED] : 0));
	json_object_set_new(o, "sent", json_integer(rc == 1 ?
	    c.count[CAMPAIGN_SENT] : 0));
	json_object_set_new(o, "failed", json_integer(rc == 1 ?
	    c.count[CAMPAIGN_FAILED] : 0));
	if (rc == 1)
		store_campaign_free(&c);
	json_object_set_new(o, "skipped", json_integer(q->steps[k].skipped));
	if (store_stats_get(db, tenant, q->steps[k].campaign, &s) == -1)
		goto fail;
	json_object_set_new(o, "opens", json_integer(s.opens_unique));
	json_object_set_new(o, "clicks", json_integer(s.clicks_unique));
	json_object_set_new(o, "bounced", json_integer(s.bounced));
	store_stats_free(&s);
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* The sequence as GET shows it; NULL when Redis failed. */
static json_t *
sequence_json(struct db *db, uint64_t tenant,
    const struct sequence_record *q)
{
	json_t		*o, *steps, *st;
	size_t		 k;

	o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
	    "name", q->name ? q->name : "", "from", q->from ? q->from : "",
	    "status", q->status, "enrolled", (json_int_t)q->enrolled,
	    "active", (json_int_t)q->active,
	    "completed", (json_int_t)q->completed,
	    "exited", (json_int_t)q->exited);
	set_id(o, "id", q->id);
	if (q->trigger_list != 0) {
		st = json_object();
		set_id(st, "list_id", q->trigger_list);
		json_object_set_new(o, "trigger", st);
	}
	api_set_time(o, "created_at", q->created_at);
	steps = json_array();
	json_object_set_new(o, "steps", steps);
	for (k = 0; k < q->nsteps; k++) {
		if ((st = step_json(db, tenant, q, k)) == NULL) {
			json_decref(o);
			return NULL;
		}
		json_array_append_new(steps, st);
	}
	return o;
}

static void
sequence_list(struct api_req *r)
{
	struct sequence_record	 q;
	json_t			*arr, *o;
	uint64_t		*ids;
	size_t			 n, i;
	int			 rc;

	if (store_sequence_ids(r->db, r->tenant, &ids, &n) == -1) {
		api_unavailable(r);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if ((rc = store_sequence_get(r->db, r->tenant, ids[i], &q)) ==
		    0)
			continue;
		o = rc == 1 ? sequence_json(r->db, r->tenant, &q) : NULL;
		if (rc == 1)
			store_sequence_free(&q);
		if (o == NULL) {
			free(ids);
			json_decref(arr);
			api_unavailable(r);
			return;
		}
		json_array_append_new(arr, o);
	}
	free(ids);
	api_json(r, 200, json_pack("{s:o}", "items", arr));
}

/* ------------------------------------------------------------ state */

static void
sequence_state(struct api_req *r, struct sequence_record *q, const char *to)
{
	enum sequence_verdict	 v;
	struct api_err		 err;

	/* The From's domain may have gone since the sequence was made. */
	if (strcmp(to, "active") == 0 && api_domain_check_from(r->a, r->db,
	    r->tenant, q->from ? q->from : "", &err) == -1) {
		api_reply_err(r, &err);
		return;
	}
	if (store_sequence_set_state(r->db, r->tenant, q, to, &v) == -1) {
		api_unavailable(r);
		return;
	}
	switch (v) {
	case SEQUENCE_OK:
		api_json(r, 200, json_pack("{s:s}", "status", to));
		break;
	case SEQUENCE_GONE:
		api_error(r, 404, "not_found", "no such sequence");
		break;
	case SEQUENCE_TENANT:
		api_error(r, 403, "tenant_inactive", "the tenant is being "
		    "deleted");
		break;
	case SEQUENCE_STATE:
		api_error(r, 409, "invalid_state", "the sequence is %s; only "
		    "an active sequence can be paused", q->status);
		break;
	}
}

/* ----------------------------------------------------------- enroll */

static void
sequence_enroll(struct api_req *r, uint64_t id)
{
	static const char *const fields[] = { "emails", NULL };
	json_t		*body, *arr, *v, *skipped = NULL;
	char		(*keys)[FF_EMAIL_MAX + 1] = NULL;
	const char	**keyv = NULL, **why = NULL;
	uint64_t	*ids = NULL;
	size_t		 n = 0, i;
	long long	 enrolled = 0;
	int		 rc;

	if (api_body_object(r, &body) == -1)
		return;
	if (api_check_fields(r, body, fields) == -1)
		goto out;
	arr = json_object_get(body, "emails");
	if (!json_is_array(arr) || (n = json_array_size(arr)) >
	    SEQUENCE_ENROLL_MAX) {
		api_error(r, json_is_array(arr) ? 413 : 422, "invalid_body",
		    "emails: an array of at most %d addresses is required",
		    SEQUENCE_ENROLL_MAX);
		goto out;
	}
	keys = xcalloc(n ? n : 1, sizeof(*keys));
	keyv = xcalloc(n ? n : 1, sizeof(*keyv));
	ids = xcalloc(n ? n : 1, sizeof(*ids));
	why = xcalloc(n ? n : 1, sizeof(*why));
	json_array_foreach(arr, i, v) {
		char	addr[FF_EMAIL_MAX + 1];

		if (!json_is_string(v) || validate_email(json_string_value(v),
		    json_string_length(v), addr, keys[i]) == -1)
			keys[i][0] = '\0';
		keyv[i] = keys[i];
	}
	if (store_contact_find_many(r->db, r->tenant, keyv, n, ids) == -1 ||
	    (rc = store_sequence_enroll(r->db, r->tenant, id, ids, n,
	    now_ms(), why)) == -1) {
		api_unavailable(r);
		goto out;
	}
	if (rc == 0) {
		api_error(r, 404, "not_found", "no such sequence");
		goto out;
	}
	skipped = json_array();
	json_array_foreach(arr, i, v) {
		if (why[i] == NULL) {
			enrolled++;
			continue;
		}
		json_array_append_new(skipped, json_pack("{s:O, s:s}", "email",
		    v, "reason", keys[i][0] == '\0' ? "invalid_email" :
		    why[i]));
	}
	api_json(r, 200, json_pack("{s:I, s:O}", "enrolled",
	    (json_int_t)enrolled, "skipped", skipped));
out:
	json_decref(skipped);
	free(why);
	free(ids);
	free(keyv);
	free(keys);
	json_decref(body);
}

int
api_sequence_trigger(struct api_req *r, uint64_t list, const uint64_t *ids,
    size_t n)
{
	const char	**why;
	uint64_t	 *seqs = NULL;
	size_t		  nseq = 0, i;
	int		  rc = 0;

	if (n == 0)
		return 0;
	if (store_sequence_triggered_by(r->db, r->tenant, list, &seqs,
	    &nseq) == -1)
		return -1;
	why = xcalloc(n, sizeof(*why));
	for (i = 0; i < nseq && rc == 0; i++)
		if (store_sequence_enroll(r->db, r->tenant, seqs[i], ids, n,
		    now_ms(), why) == -1)
			rc = -1;
	free(why);
	free(seqs);
	return rc;
}

/* ---------------------------------------------------------- handler */

void
api_sequences(struct api_req *r)
{
	struct sequence_record	 q;
	json_t			*o;
	uint64_t		 id;

	if (r->nseg == 2) {
		if (r->method == HTTP_POST)
			sequence_create(r);
		else
			sequence_list(r);
		return;
	}
	if (parse_u64(r->seg[2], strlen(r->seg[2]), &id) == -1) {
		api_error(r, 404, "not_found", "no such sequence");
		return;
	}
	if (api_found(r, store_sequence_get(r->db, r->tenant, id, &q),
	    "sequence") == -1)
		return;
	if (r->nseg == 3 && r->method == HTTP_GET) {
		if ((o = sequence_json(r->db, r->tenant, &q)) == NULL)
			api_unavailable(r);
		else
			api_json(r, 200, o);
	} else if (r->nseg == 4 && strcmp(r->seg[3], "activate") == 0)
		sequence_state(r, &q, "active");
	else if (r->nseg == 4 && strcmp(r->seg[3], "pause") == 0)
		sequence_state(r, &q, "paused");
	else if (r->nseg == 4 && strcmp(r->seg[3], "enroll") == 0)
		sequence_enroll(r, id);
	else
		api_error(r, 404, "not_found", "no such endpoint");
	store_sequence_free(&q);
}

/* ------------------------------------------------------------- timer */

static void
tick_work(struct api_job *j, struct db *db)
{
	struct api			*a = (struct api *)((char *)j -
					    offsetof(struct api, sequence_job));
	struct sequence_tick_report	 rep;
	uint64_t			 start = mono_ms();
	int				 rc;

	rc = sequence_tick_run(db, now_ms(), (uint64_t)a->conf->claim_idle_s *
	    1000, &rep);
	if (rc == -1)
		log_warnx_every(&a->sequence_warned_ms, SEQUENCE_WARN_EVERY_MS,
		    "sequences: redis failed in the due-step job; what is due "
		    "is sent when it answers");
	if (rep.claimed > 0)
		log_info("sequences: %lld due, %lld queued, %lld skipped, "
		    "%lld exited, %lld completed in %llu ms", rep.claimed,
		    rep.queued, rep.skipped, rep.exited, rep.completed,
		    (unsigned long long)(mono_ms() - start));
}

static void
tick_done(struct api_job *j)
{
	struct api	*a = (struct api *)((char *)j -
			    offsetof(struct api, sequence_job));

	a->sequence_busy = 0;
}

/* One pass at a time; a full queue skips this second's. */
static void
tick_timer(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;

	(void)fd;
	(void)what;
	if (a->sequence_busy)
		return;
	a->sequence_job.run = tick_work;
	a->sequence_job.done = tick_done;
	a->sequence_job.patient = 1;
	if (api_pool_submit(a->pool, &a->sequence_job) == 0)
		a->sequence_busy = 1;
}

void
api_sequence_init(struct api *a)
{
	struct timeval	tv = { SEQUENCE_TICK_S, 0 };

	if ((a->sequence_timer = event_new(a->base, -1, EV_PERSIST,
	    tick_timer, a)) == NULL || event_add(a->sequence_timer, &tv) == -1)
		fatalx("api: the sequences' timer");
}

void
api_sequence_free(struct api *a)
{
	if (a->sequence_timer != NULL)
		event_free(a->sequence_timer);
	a->sequence_timer = NULL;
	/* The job, if at a worker, comes back in api_pool_free. */
}
