/*
 * api_campaign.c: templates and campaigns: creation, reading, progress
 * (launch and the state changes are api_launch.c's, sending sender.c's).
 *
 * A template is compiled when it is saved: a syntax error is a 422 with
 * the part, line and column, and a merge tag naming a special-category
 * attribute is refused.  Its <a href> links are extracted then; a
 * campaign copies them, at creation, into its own link table
 * {t:T:c:C}:links, which is the only place a click may redirect to.
 *
 * What is in Redis is store_template.c's, store_campaign.c's and
 * store_stats.c's: this file checks requests and shapes the JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store_campaign.h"
#include "store_schedule.h"
#include "store_stats.h"
#include "store_template.h"

#define TEMPLATE_SUBJECT_MAX	998	/* RFC 5322's line, before merging */
#define NAME_MAX_BYTES	200	/* a template's or campaign's name */

static const char *const template_fields[] = { "name", "subject", "html",
    "text", NULL };

struct ref_check {
	struct api	*a;
	char		 bad[80];
};

static int
ref_cb(void *arg, const char *name, size_t len)
{
	struct ref_check	*rc = arg;

	if (len > 11 && memcmp(name, "attributes.", 11) == 0 &&
	    special_name(rc->a->special, name + 11, len - 11) != NULL) {
		snprintf(rc->bad, sizeof(rc->bad), "%.*s", (int)len, name);
		return 1;
	}
	return 0;
}

/*
 * 422 template_too_large: a part holds more than the directive allows.
 * Every copy of a campaign costs a render of each part, a token per
 * merge tag and tracked link, and the whole text on the wire: the caps
 * keep one tenant's template from making every copy expensive for the
 * senders all tenants share.
 */
static void
too_large(struct api_req *r, const char *part, const char *limit,
    const char *directive, long long max)
{
	char	msg[160];

	snprintf(msg, sizeof(msg), "%s: more %s than template_max_%s "
	    "allows (%lld)", part, limit, directive, max);
	api_json(r, 422, json_pack("{s:{s:s, s:s, s:s, s:s, s:I}}",
	    "error", "code", "template_too_large", "message", msg,
	    "part", part, "limit", limit, "max", (json_int_t)max));
}

/* Compiles one part; -1 after answering 422. */
static int
check_part(struct api_req *r, const char *part, json_t *v)
{
	const struct config	*conf = r->a->conf;
	struct render_error	 err;
	struct ref_check	 rc = { r->a, "" };
	struct tmpl		*t;
	size_t			 tags;

	if (!json_is_string(v)) {
		api_error(r, 422, "invalid_template", "%s: a string is "
		    "required", part);
		return -1;
	}
	if (json_string_length(v) > (size_t)conf->template_max_bytes) {
		too_large(r, part, "bytes", "bytes", conf->template_max_bytes);
		return -1;
	}
	if ((t = tmpl_compile(json_string_value(v), json_string_length(v),
	    &err)) == NULL) {
		api_json(r, 422, json_pack("{s:{s:s, s:s, s:s, s:i, s:i}}",
		    "error", "code", "template_syntax", "message", err.msg,
		    "part", part, "line", err.line, "column", err.col));
		return -1;
	}
	tmpl_fields(t, ref_cb, &rc);
	tags = tmpl_tags(t);
	tmpl_free(t);
	if (rc.bad[0] != '\0') {
		api_error(r, 422, "special_category_reference", "%s: {{%s}} "
		    "names a special-category attribute", part, rc.bad);
		return -1;
	}
	if (tags > (size_t)conf->template_max_tags) {
		too_large(r, part, "merge_tags", "tags",
		    conf->template_max_tags);
		return -1;
	}
	return 0;
}

/*
 * The links of the html as the API reports them: "links", those a
 * campaign tracks, with the index ("link") a campaign's link table and
 * its stats give them; "untracked", every other distinct <a href> with
 * the reason it stays as written.  A link tracked by render.c that a
 * click could not redirect to (policy.c) keeps its index but enters no
 * link table (campaign_create): it is reported as invalid_url.
 */
static void
links_json(json_t *o, const struct render_link_report *rep)
{
	json_t		*links = json_array(), *untracked = json_array();
	const char	*u;
	size_t		 i;

	for (i = 0; i < rep->ntracked; i++) {
		u = rep->tracked[i];
		if (policy_url_is_safe(u, strlen(u)))
			json_array_append_new(links, json_pack("{s:I, s:s}",
			    "link", (json_int_t)i, "url", u));
		else
			json_array_append_new(untracked, json_pack("{s:s, "
			    "s:s}", "url", u, "reason", "invalid_url"));
	}
	for (i = 0; i < rep->nuntracked; i++)
		json_array_append_new(untracked, json_pack("{s:s, s:s}", "url",
		    rep->untracked[i].url, "reason", rep->untracked[i].reason));
	json_object_set_new(o, "links", links);
	json_object_set_new(o, "untracked", untracked);
}

/* Saves the template under id (0: a new one) and answers 201 or 200. */
static void
template_save(struct api_req *r, uint64_t id, int create)
{
	struct api		*a = r->a;
	struct render_link_report rep;
	json_t			*body, *v, *o;
	char			 idbuf[24];
	const char		*part[TEMPLATE_NPARTS];
	size_t			 part_len[TEMPLATE_NPARTS], i;
	int			 rc;

	memset(&rep, 0, sizeof(rep));
	if (api_body_object(r, &body) == -1)
		return;
	if (api_check_fields(r, body, template_fields) == -1)
		goto out;
	if (!json_is_string(v = json_object_get(body, "name")) ||
	    json_string_length(v) == 0 ||
	    json_string_length(v) > NAME_MAX_BYTES) {
		api_error(r, 422, "invalid_name", "name: 1 to %d bytes is "
		    "required", NAME_MAX_BYTES);
		goto out;
	}
	if (json_is_string(v = json_object_get(body, "subject")) &&
	    json_string_length(v) > TEMPLATE_SUBJECT_MAX) {
		api_error(r, 422, "invalid_template", "subject: a string of at "
		    "most %d bytes is required", TEMPLATE_SUBJECT_MAX);
		goto out;
	}
	for (i = TEMPLATE_SUBJECT; i < TEMPLATE_NPARTS; i++)
		if (check_part(r, template_part_name(i), json_object_get(body,
		    template_part_name(i))) == -1)
			goto out;
	for (i = 0; i < TEMPLATE_NPARTS; i++) {
		v = json_object_get(body, template_part_name(i));
		part[i] = json_string_value(v);
		part_len[i] = json_string_length(v);
	}
	render_link_report(part[TEMPLATE_HTML], part_len[TEMPLATE_HTML], &rep);
	if (rep.hrefs > (size_t)a->conf->template_max_links) {
		too_large(r, "html", "links", "links",
		    a->conf->template_max_links);
		goto out;
	}
	if (id == 0)
		rc = store_template_create(r->db, r->tenant, part, part_len,
		    (const char *const *)rep.tracked, rep.ntracked, now_ms(),
		    &id);
	else
		rc = store_template_put(r->db, r->tenant, id, part, part_len,
		    (const char *const *)rep.tracked, rep.ntracked, now_ms());
	if (rc == -1) {
		api_unavailable(r);
		goto out;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	o = json_pack("{s:s}", "id", idbuf);
	links_json(o, &rep);
	api_json(r, create ? 201 : 200, o);
out:
	render_link_report_free(&rep);
	json_decref(body);
}

/* The stored template as the API shows it, its links as saving
 * reported them (the same html gives the same list, in the same
 * order, as the one stored when it was saved). */
static json_t *
template_json(uint64_t id, const struct template *t)
{
	struct render_link_report rep;
	json_t		*o;
	char		 idbuf[24];
	size_t		 i;

	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	o = json_pack("{s:s}", "id", idbuf);
	for (i = 0; i < TEMPLATE_NPARTS; i++)
		if (t->part[i] != NULL)
			json_object_set_new(o, template_part_name(i),
			    json_stringn(t->part[i], t->part_len[i]));
	if (t->part[TEMPLATE_HTML] != NULL) {
		render_link_report(t->part[TEMPLATE_HTML],
		    t->part_len[TEMPLATE_HTML], &rep);
		links_json(o, &rep);
		render_link_report_free(&rep);
	}
	return o;
}

void
api_templates(struct api_req *r)
{
	struct template	 t;
	uint64_t	 id;

	if (r->nseg == 2 && r->method == HTTP_POST) {
		template_save(r, 0, 1);
		return;
	}
	if (r->nseg != 3 || parse_u64(r->seg[2], strlen(r->seg[2]), &id) ==
	    -1) {
		api_error(r, 404, "not_found", "no such template");
		return;
	}
	if (api_found(r, store_template_get(r->db, r->tenant, id, &t), "template") == -1)
		return;
	if (r->method == HTTP_GET)
		api_json(r, 200, template_json(id, &t));
	else if (r->method == HTTP_PUT)
		template_save(r, id, 0);
	else
		api_error(r, 405, "method_not_allowed", "use GET or PUT");
	store_template_free(&t);
}

/* ---------------------------------------------------------- campaigns */

/*
 * "Name <addr>" or "addr", one line, a valid address inside: 0.  -1 when
 * not; -2 when valid but not one the sender can put in From or Reply-To
 * as given (a UTF-8 local part, an IDN domain not in its xn-- form): the
 * messages would all fail.
 */
static int
check_from(const char *s, size_t len)
{
	const char	*lt, *gt;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	size_t		 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	lt = memchr(s, '<', len);
	gt = lt ? memchr(lt, '>', len - (size_t)(lt - s)) : NULL;
	if (lt != NULL) {
		if (gt == NULL || gt != s + len - 1)
			return -1;
		s = lt + 1;
		len = (size_t)(gt - lt - 1);
	}
	if (validate_email(s, len, addr, key) == -1)
		return -1;
	return mime_address_valid(s, len) ? 0 : -2;
}

/* 0, or -1 after answering 422 for the from or reply_to value v. */
int
api_from_answer(struct api_req *r, json_t *v, const char *field,
    const char *code)
{
	const char	*s, *lt;
	size_t		 len;

	if (!json_is_string(v)) {
		api_error(r, 422, code, "%s: \"Name <addr>\" or an address",
		    field);
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	switch (check_from(s, len)) {
	case 0:
		return 0;
	case -2:
		if ((lt = memchr(s, '<', len)) != NULL) {
			len = (size_t)(s + len - 1 - (lt + 1));
			s = lt + 1;
		}
		api_error(r, 422, "unsupported_address", "%s: %s", field,
		    mime_address_problem(s, len));
		return -1;
	default:
		api_error(r, 422, code, "%s: \"Name <addr>\" or an address",
		    field);
		return -1;
	}
}

static const char *const campaign_fields[] = { "name", "template_id",
    "list_id", "from", "reply_to", "rate_per_second", "track_opens",
    "track_clicks",
    "segment_id",
    /* api_schedule.c's */
    "send_at", "local_time", "timezone", "ab",
    NULL };

static void
campaign_create(struct api_req *r)
{
	struct campaign_draft	 d;
	struct campaign_schedule sc;
	struct template		 tpl;
	struct api_err		 err;
	json_t			*body, *v;
	const char		**links = NULL;
	uint64_t		 tid = 0, lid = 0, sid = 0, id;
	char			 idbuf[24];
	size_t			 i;
	int			 rc;
	json_int_t		 rate = 0;

	campaign_schedule_init(&sc);
	if (api_body_object(r, &body) == -1)
		return;
	if (api_check_fields(r, body, campaign_fields) == -1)
		goto out;
	if (api_schedule_parse(r, body, &sc) == -1)
		goto out;
	if (!json_is_string(v = json_object_get(body, "name")) ||
	    json_string_length(v) == 0 ||
	    json_string_length(v) > NAME_MAX_BYTES) {
		api_error(r, 422, "invalid_name", "name: 1 to %d bytes is "
		    "required", NAME_MAX_BYTES);
		goto out;
	}
	/* A segment_id (api_segment.c) stands for the list or narrows it. */
	if ((v = json_object_get(body, "segment_id")) != NULL &&
	    api_segment_ref(r, v, &sid) == -1)
		goto out;
	if (!json_is_string(v = json_object_get(body, "template_id")) ||
	    parse_u64(json_string_value(v), json_string_length(v), &tid) == -1 ||
	    ((v = json_object_get(body, "list_id")) == NULL ? sid == 0 :
	    (!json_is_string(v) || parse_u64(json_string_value(v),
	    json_string_length(v), &lid) == -1 || lid == 0))) {
		api_error(r, 422, "invalid_reference", "template_id and "
		    "list_id or segment_id (strings) are required");
		goto out;
	}
	if (api_from_answer(r, v = json_object_get(body, "from"), "from",
	    "invalid_from") == -1)
		goto out;
	/* API.md: a tenant sends only as itself (api_domain.c). */
	if (api_domain_check_from(r->a, r->db, r->tenant, json_string_value(v),
	    &err) == -1) {
		api_reply_err(r, &err);
		goto out;
	}
	if ((v = json_object_get(body, "reply_to")) != NULL &&
	    api_from_answer(r, v, "reply_to", "invalid_reply_to") == -1)
		goto out;
	if ((v = json_object_get(body, "rate_per_second")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000000) {
			api_error(r, 422, "invalid_rate", "rate_per_second: an "
			    "integer from 1 to 1000000");
			goto out;
		}
		rate = json_integer_value(v);
	}
	for (i = 0; i < 2; i++) {
		v = json_object_get(body, i ? "track_clicks" : "track_opens");
		if (v != NULL && !json_is_boolean(v)) {
			api_error(r, 422, "invalid_field", "%s: true or false",
			    i ? "track_clicks" : "track_opens");
			goto out;
		}
	}
	if ((rc = store_template_get(r->db, r->tenant, tid, &tpl)) != 1) {
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 422, "invalid_reference", "no such "
			    "template");
		goto out;
	}
	/* Only the links a click may redirect to; the others keep their
	 * index, unused. */
	links = xcalloc(tpl.nlinks + 1, sizeof(*links));
	for (i = 0; i < tpl.nlinks; i++)
		if (policy_url_is_safe(tpl.links[i], strlen(tpl.links[i])))
			links[i] = tpl.links[i];
	memset(&d, 0, sizeof(d));
	v = json_object_get(body, "name");
	d.name = json_string_value(v);
	d.name_len = json_string_length(v);
	d.template_id = tid;
	d.list_id = lid;
	d.segment_id = sid;
	d.from = json_string_value(json_object_get(body, "from"));
	v = json_object_get(body, "reply_to");
	d.reply_to = v ? json_string_value(v) : "";
	d.rate_per_second = rate;
	d.track_opens = !json_is_false(json_object_get(body, "track_opens"));
	d.track_clicks = !json_is_false(json_object_get(body, "track_clicks"));
	d.created_at = now_ms();
	rc = store_campaign_create(r->db, r->tenant, &d, links, tpl.nlinks,
	    &id);
	free(links);
	store_template_free(&tpl);
	if (rc == -1) {
		api_unavailable(r);
		goto out;
	}
	if (rc == 0) {
		api_error(r, 422, "invalid_reference", "no such list");
		goto out;
	}
	/* A second write: a draft whose schedule failed to land is still
	 * a draft (503, and the client makes it again). */
	if (store_schedule_set(r->db, r->tenant, id, &sc) == -1) {
		api_unavailable(r);
		goto out;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	api_json(r, 201, json_pack("{s:s, s:s}", "id", idbuf, "status",
	    "draft"));
out:
	store_schedule_free(&sc);
	json_decref(body);
}

/* GET /v1/campaigns/{id}: the campaign, its status and its progress
 * (the counters of launch and of the senders). */
static json_t *
campaign_json(const struct campaign *c)
{
	json_t		*o;
	char		 idbuf[24];

	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)c->id);
	o = json_pack("{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, "
	    "s:I, s:I, s:I}}}", "id", idbuf, "progress",
	    "total", (json_int_t)c->count[CAMPAIGN_TOTAL],
	    "queued", (json_int_t)c->count[CAMPAIGN_QUEUED],
	    "sent", (json_int_t)c->count[CAMPAIGN_SENT],
	    "failed", (json_int_t)c->count[CAMPAIGN_FAILED],
	    "deferred", (json_int_t)c->count[CAMPAIGN_DEFERRED],
	    "suppressed",
	    "opted_out", (json_int_t)c->count[CAMPAIGN_SUP_OPTED_OUT],
	    "blocklisted", (json_int_t)c->count[CAMPAIGN_SUP_BLOCKLISTED],
	    "special_category",
	    (json_int_t)c->count[CAMPAIGN_SUP_SPECIAL_CATEGORY],
	    "bounced", (json_int_t)c->count[CAMPAIGN_SUP_BOUNCED],
	    "erased", (json_int_t)c->count[CAMPAIGN_SUP_ERASED],
	    "complained", (json_int_t)c->count[CAMPAIGN_SUP_COMPLAINED]);
	if (c->name != NULL)
		json_object_set_new(o, "name", json_string(c->name));
	if (c->template_id != 0) {
		snprintf(idbuf, sizeof(idbuf), "%llu",
		    (unsigned long long)c->template_id);
		json_object_set_new(o, "template_id", json_string(idbuf));
	}
	if (c->list_id != 0) {
		snprintf(idbuf, sizeof(idbuf), "%llu",
		    (unsigned long long)c->list_id);
		json_object_set_new(o, "list_id", json_string(idbuf));
	}
	if (c->segment_id != 0) {
		snprintf(idbuf, sizeof(idbuf), "%llu",
		    (unsigned long long)c->segment_id);
		json_object_set_new(o, "segment_id", json_string(idbuf));
	}
	if (c->from != NULL)
		json_object_set_new(o, "from", json_string(c->from));
	if (c->reply_to != NULL)
		json_object_set_new(o, "reply_to", json_string(c->reply_to));
	if (c->rate_per_second != 0)
		json_object_set_new(o, "rate_per_second",
		    json_integer(c->rate_per_second));
	if (c->track_opens != -1)
		json_object_set_new(o, "track_opens",
		    json_boolean(c->track_opens));
	if (c->track_clicks != -1)
		json_object_set_new(o, "track_clicks",
		    json_boolean(c->track_clicks));
	if (c->status != NULL)
		json_object_set_new(o, "status", json_string(c->status));
	api_set_time(o, "launched_at", c->launched_at);
	api_set_time(o, "finished_at", c->finished_at);
	return o;
}

json_t *
api_campaign_get(const struct api_ctx *ctx, uint64_t id, struct api_err *err)
{
	struct campaign	 c;
	json_t		*o;
	int		 rc;

	if ((rc = store_campaign_get(ctx->db, ctx->tenant, id, &c)) != 1 ||
	    c.form != 0) {
		/* A form's hidden confirmation campaign (store_form.h) is
		 * the form's: no campaign route shows, pauses or cancels
		 * it. */
		if (rc == -1)
			api_err_unavailable(err);
		else
			api_err_set(err, 404, "not_found", "no such campaign");
		if (rc == 1)
			store_campaign_free(&c);
		return NULL;
	}
	o = campaign_json(&c);
	store_campaign_free(&c);
	if (api_schedule_show(ctx->db, ctx->tenant, id, o) == -1) {
		json_decref(o);
		api_err_unavailable(err);
		return NULL;
	}
	return o;
}

/* GET /v1/campaigns/{id}/stats: the stats object of API.md. */
static json_t *
stats_json(const struct campaign_stats *s)
{
	json_t		*by_link, *by_country;
	size_t		 i;

	by_link = json_array();
	for (i = 0; i < s->nlinks; i++)
		json_array_append_new(by_link, json_pack("{s:I, s:s, s:I, "
		    "s:I}", "link", (json_int_t)s->links[i].link, "url",
		    s->links[i].url, "total", (json_int_t)s->links[i].total,
		    "unique", (json_int_t)s->links[i].unique));
	by_country = json_object();
	for (i = 0; i < s->ncountries; i++)
		json_object_set_new(by_country, s->countries[i].code,
		    json_integer(s->countries[i].count));
	return json_pack("{s:I, s:I, s:I, s:{s:I, s:I}, s:I, "
	    "s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:o}, s:I, s:o}",
	    "sent", (json_int_t)s->sent,
	    "delivered", (json_int_t)s->sent,
	    "bounced", (json_int_t)s->bounced,
	    "bounces",
	    "hard", (json_int_t)s->bounced,
	    "soft", (json_int_t)s->bounces_soft,
	    "complaints", (json_int_t)s->complaints,
	    "opens",
	    "total", (json_int_t)s->opens,
	    "unique", (json_int_t)s->opens_unique,
	    "machine", (json_int_t)s->opens_machine,
	    "clicks",
	    "total", (json_int_t)s->clicks,
	    "unique", (json_int_t)s->clicks_unique,
	    "machine", (json_int_t)s->clicks_machine,
	    "by_link", by_link,
	    "unsubscribes", (json_int_t)s->unsubscribes,
	    "by_country", by_country);
}

json_t *
api_campaign_stats(const struct api_ctx *ctx, uint64_t id,
    struct api_err *err)
{
	struct campaign_stats	 s;
	json_t			*o;

	if (store_stats_get(ctx->db, ctx->tenant, id, &s) == -1) {
		api_err_unavailable(err);
		return NULL;
	}
	o = stats_json(&s);
	store_stats_free(&s);
	return o;
}

/*
 * GET /v1/campaigns/{id}/timeseries?step=minute|hour&from=&to=: the
 * opens and clicks of each bucket, human and machine apart, every bucket
 * of the range (zeros too, so a chart needs no gap filling); one HMGET
 * of at most 4 * SERIES_MAX_POINTS fields.
 */
static void
campaign_timeseries(struct api_req *r, uint64_t id)
{
	json_t		*points;
	const char	*step_s, *from, *to;
	long long	*counts, *n;
	size_t		 count, i;
	uint64_t	 first, since;
	char		 stepbuf[16], frombuf[40], tobuf[40], err[160];
	char		 when[32];
	int		 step;

	step_s = api_query(r, "step", stepbuf, sizeof(stepbuf));
	if ((step = series_step(step_s)) == -1) {
		api_error(r, 400, "invalid_step", "step is minute or hour");
		return;
	}
	from = api_query(r, "from", frombuf, sizeof(frombuf));
	to = api_query(r, "to", tobuf, sizeof(tobuf));
	if (store_campaign_since(r->db, r->tenant, id, &since) == -1) {
		api_unavailable(r);
		return;
	}
	if (series_range(step, from, to, since / 1000, now_ms() / 1000, &first,
	    &count, err, sizeof(err)) == -1) {
		api_error(r, 400, "invalid_range", "%s", err);
		return;
	}
	counts = xcalloc(count * SERIES_NKINDS + 1, sizeof(*counts));
	if (store_stats_series(r->db, r->tenant, id, step, first, count,
	    counts) == -1) {
		free(counts);
		api_unavailable(r);
		return;
	}
	points = json_array();
	for (i = 0; i < count; i++) {
		n = counts + i * SERIES_NKINDS;
		json_array_append_new(points, json_pack("{s:s, s:I, s:I, s:I, "
		    "s:I}", "t", api_iso_time((first + i) * (uint64_t)step *
		    1000, when, sizeof(when)),
		    "opens", (json_int_t)n[SERIES_OPEN],
		    "opens_machine", (json_int_t)n[SERIES_OPEN_MACHINE],
		    "clicks", (json_int_t)n[SERIES_CLICK],
		    "clicks_machine", (json_int_t)n[SERIES_CLICK_MACHINE]));
	}
	free(counts);
	api_json(r, 200, json_pack("{s:s, s:o}", "step", step == SERIES_HOUR ?
	    "hour" : "minute", "points", points));
}

/* GET /v1/campaigns: every campaign of the tenant, by id. */
static void
campaign_list(struct api_req *r)
{
	struct campaign	 c;
	json_t		*arr;
	uint64_t	*ids;
	size_t		 n, i;
	int		 rc;

	if (store_campaign_ids(r->db, r->tenant, &ids, &n) == -1) {
		api_unavailable(r);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		/* One gone meanwhile is left out. */
		if ((rc = store_campaign_get(r->db, r->tenant, ids[i],
		    &c)) == -1) {
			free(ids);
			json_decref(arr);
			api_unavailable(r);
			return;
		}
		if (rc == 1) {
			json_array_append_new(arr, campaign_json(&c));
			store_campaign_free(&c);
		}
	}
	free(ids);
	api_json(r, 200, json_pack("{s:o}", "items", arr));
}

void
api_campaigns(struct api_req *r)
{
	struct api_ctx	 ctx;
	struct api_err	 err;
	json_t		*o;
	uint64_t	 id;

	api_req_ctx(r, &ctx);
	if (r->nseg == 2 && r->method == HTTP_POST) {
		campaign_create(r);
		return;
	}
	if (r->nseg == 2 && r->method == HTTP_GET) {
		campaign_list(r);
		return;
	}
	if (r->nseg < 3 || parse_u64(r->seg[2], strlen(r->seg[2]), &id) == -1) {
		api_error(r, 404, "not_found", "no such campaign");
		return;
	}
	if ((o = api_campaign_get(&ctx, id, &err)) == NULL) {
		api_reply_err(r, &err);
		return;
	}
	if (r->nseg == 3 && r->method == HTTP_GET) {
		api_json(r, 200, o);
		return;
	}
	json_decref(o);
	if (r->nseg == 4 && strcmp(r->seg[3], "stats") == 0 &&
	    r->method == HTTP_GET) {
		if ((o = api_campaign_stats(&ctx, id, &err)) == NULL)
			api_reply_err(r, &err);
		else
			api_json(r, 200, o);
		return;
	}
	if (r->nseg == 4 && strcmp(r->seg[3], "timeseries") == 0 &&
	    r->method == HTTP_GET) {
		campaign_timeseries(r, id);
		return;
	}
	if (r->nseg == 4 && r->method == HTTP_POST &&
	    strcmp(r->seg[3], "launch") == 0) {
		api_campaign_launch(r, id);
		return;
	}
	if (r->nseg == 4 && r->method == HTTP_POST &&
	    (strcmp(r->seg[3], "pause") == 0 || strcmp(r->seg[3], "resume") ==
	    0 || strcmp(r->seg[3], "cancel") == 0)) {
		api_campaign_transition(r, id, r->seg[3]);
		return;
	}
	api_error(r, 404, "not_found", "no such endpoint");
}

/* ------------------------------------------------- the app's templates */

int
api_template_check_parts(struct api_req *r, json_t *body)
{
	json_t	*v;
	size_t	 i;

	if (json_is_string(v = json_object_get(body, "subject")) &&
	    json_string_length(v) > TEMPLATE_SUBJECT_MAX) {
		api_error(r, 422, "invalid_template", "subject: a string of at "
		    "most %d bytes is required", TEMPLATE_SUBJECT_MAX);
		return -1;
	}
	for (i = TEMPLATE_SUBJECT; i < TEMPLATE_NPARTS; i++)
		if (check_part(r, template_part_name(i), json_object_get(body,
		    template_part_name(i))) == -1)
			return -1;
	return 0;
}

/* GET /v1/templates: every template's id, name and subject, by id
 * (the bodies are GET /v1/templates/{id}'s). */
void
api_templates_index(struct api_req *r)
{
	struct template_info	*t;
	size_t			 n, i;
	char			 id[24];
	json_t			*items, *o;

	if (store_template_all(r->db, r->tenant, &t, &n) == -1) {
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)t[i].id);
		o = json_pack("{s:s}", "id", id);
		json_object_set_new(o, "name", json_string(t[i].name));
		json_object_set_new(o, "subject", t[i].subject != NULL ?
		    json_string(t[i].subject) : json_null());
		json_array_append_new(items, o);
	}
	store_template_infos_free(t, n);
	api_json(r, 200, json_pack("{s:o}", "items", items));
}
