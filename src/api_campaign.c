/*
 * api_campaign.c: templates and campaigns: creation, reading, progress
 * (launch and the state changes are api_launch.c's, sending sender.c's).
 *
 * A template is compiled when it is saved: a syntax error is a 422 with
 * the part, line and column, and a merge tag naming a special-category
 * attribute is refused.  Its <a href> links are extracted then; a
 * campaign copies them, at creation, into its own link table
 * {t:T:c:C}:links, which is the only place a click may redirect to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define TEMPLATE_MAX	(2 * 1024 * 1024)

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

/* Compiles one part; -1 after answering 422. */
static int
check_part(struct api_req *r, const char *part, json_t *v)
{
	struct render_error	 err;
	struct ref_check	 rc = { r->a, "" };
	struct tmpl		*t;

	if (!json_is_string(v) || json_string_length(v) > TEMPLATE_MAX) {
		api_error(r, 422, "invalid_template", "%s: a string of at most "
		    "%d bytes is required", part, TEMPLATE_MAX);
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
	tmpl_free(t);
	if (rc.bad[0] != '\0') {
		api_error(r, 422, "special_category_reference", "%s: {{%s}} "
		    "names a special-category attribute", part, rc.bad);
		return -1;
	}
	return 0;
}

/* Saves the template under id; 201/200 reply.  -1 after answering. */
static void
template_save(struct api_req *r, uint64_t id, int create)
{
	struct api	*a = r->a;
	json_t		*body, *links;
	redisReply	*rep;
	char		**urls = NULL, *ltext, idbuf[24];
	size_t		 n = 0, i;
	const char	*part[] = { "name", "subject", "html", "text" };

	if (api_body_json(r, &body) == -1)
		return;
	if (!json_is_object(body)) {
		json_decref(body);
		api_error(r, 400, "invalid_body", "expected a JSON object");
		return;
	}
	if (api_check_fields(r, body, template_fields) == -1)
		goto out;
	if (!json_is_string(json_object_get(body, "name")) ||
	    json_string_length(json_object_get(body, "name")) == 0) {
		api_error(r, 422, "invalid_name", "name is required");
		goto out;
	}
	for (i = 1; i < FF_NELEM(part); i++)
		if (check_part(r, part[i], json_object_get(body, part[i])) == -1)
			goto out;
	n = render_links(json_string_value(json_object_get(body, "html")),
	    json_string_length(json_object_get(body, "html")), &urls);
	links = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(links, json_string(urls[i]));
	render_links_free(urls, n);
	ltext = json_dumps(links, JSON_COMPACT);
	json_decref(links);
	if (id == 0) {
		if ((rep = db_cmd(a->db, "HINCRBY {t:%llu}:seq template 1",
		    (unsigned long long)r->tenant)) == NULL ||
		    rep->type != REDIS_REPLY_INTEGER) {
			if (rep != NULL)
				freeReplyObject(rep);
			free(ltext);
			api_unavailable(r);
			goto out;
		}
		id = (uint64_t)rep->integer;
		freeReplyObject(rep);
	}
	rep = db_cmd(a->db, "HSET {t:%llu}:tpl:%llu name %b subject %b html %b "
	    "text %b links %s updated_at %llu", (unsigned long long)r->tenant,
	    (unsigned long long)id,
	    json_string_value(json_object_get(body, "name")),
	    json_string_length(json_object_get(body, "name")),
	    json_string_value(json_object_get(body, "subject")),
	    json_string_length(json_object_get(body, "subject")),
	    json_string_value(json_object_get(body, "html")),
	    json_string_length(json_object_get(body, "html")),
	    json_string_value(json_object_get(body, "text")),
	    json_string_length(json_object_get(body, "text")), ltext,
	    (unsigned long long)now_ms());
	free(ltext);
	if (rep == NULL) {
		api_unavailable(r);
		goto out;
	}
	freeReplyObject(rep);
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	api_json(r, create ? 201 : 200, json_pack("{s:s, s:I}", "id", idbuf,
	    "links", (json_int_t)n));
out:
	json_decref(body);
}

/* The stored template as JSON, NULL when missing (*down on failure). */
static json_t *
template_get(struct api_req *r, uint64_t id, int *down)
{
	redisReply	*rep;
	json_t		*o;
	char		 idbuf[24];
	size_t		 i;

	if ((rep = api_hgetall(r, "tpl", id, down)) == NULL)
		return NULL;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	o = json_pack("{s:s}", "id", idbuf);
	for (i = 0; i + 1 < rep->elements; i += 2) {
		const char *f = rep->element[i]->str;

		if (strcmp(f, "links") == 0)
			json_object_set_new(o, f, json_loads(
			    rep->element[i + 1]->str, 0, NULL));
		else if (strcmp(f, "updated_at") != 0)
			json_object_set_new(o, f, json_stringn(
			    rep->element[i + 1]->str, rep->element[i + 1]->len));
	}
	freeReplyObject(rep);
	return o;
}

void
api_templates(struct api_req *r)
{
	json_t		*o;
	uint64_t	 id;
	int		 down;

	if (r->nseg == 2 && r->method == HTTP_POST) {
		template_save(r, 0, 1);
		return;
	}
	if (r->nseg != 3 || parse_u64(r->seg[2], strlen(r->seg[2]), &id) ==
	    -1 || (o = template_get(r, id, &down)) == NULL) {
		if (r->nseg == 3 && down)
			api_unavailable(r);
		else
			api_error(r, 404, "not_found", "no such template");
		return;
	}
	if (r->method == HTTP_GET)
		api_json(r, 200, o);
	else if (r->method == HTTP_PUT) {
		json_decref(o);
		template_save(r, id, 0);
	} else {
		json_decref(o);
		api_error(r, 405, "method_not_allowed", "use GET or PUT");
	}
}

/* ---------------------------------------------------------- campaigns */

/* "Name <addr>" or "addr", one line, a valid address inside. */
static int
valid_from(const char *s, size_t len)
{
	const char	*lt, *gt;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	size_t		 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	lt = memchr(s, '<', len);
	gt = lt ? memchr(lt, '>', len - (size_t)(lt - s)) : NULL;
	if (lt != NULL) {
		if (gt == NULL || gt != s + len - 1)
			return 0;
		return validate_email(lt + 1, (size_t)(gt - lt - 1), addr,
		    key) == 0;
	}
	return validate_email(s, len, addr, key) == 0;
}

static const char *const campaign_fields[] = { "name", "template_id",
    "list_id", "from", "reply_to", "rate_per_second", "track_opens",
    "track_clicks", NULL };

/* Whether the tenant's KIND ("list", ...) with this id exists. */
static int
exists(struct api_req *r, const char *kind, uint64_t id)
{
	redisReply	*rep;
	char		 key[96];
	int		 rc;

	snprintf(key, sizeof(key), "{t:%llu}:%s:%llu",
	    (unsigned long long)r->tenant, kind, (unsigned long long)id);
	if ((rep = db_cmd(r->a->db, "EXISTS %s", key)) == NULL)
		return -1;
	rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	return rc;
}

static void
campaign_create(struct api_req *r)
{
	struct api	*a = r->a;
	json_t		*body, *v, *links, *tpl;
	redisReply	*rep;
	uint64_t	 tid = 0, lid = 0, id;
	const char	*s;
	char		 idbuf[24];
	size_t		 i;
	int		 down, rc;
	json_int_t	 rate = 0;

	if (api_body_json(r, &body) == -1)
		return;
	if (!json_is_object(body)) {
		json_decref(body);
		api_error(r, 400, "invalid_body", "expected a JSON object");
		return;
	}
	if (api_check_fields(r, body, campaign_fields) == -1)
		goto out;
	if (!json_is_string(v = json_object_get(body, "name")) ||
	    json_string_length(v) == 0 || json_string_length(v) > 200) {
		api_error(r, 422, "invalid_name", "name is required");
		goto out;
	}
	if (!json_is_string(v = json_object_get(body, "template_id")) ||
	    parse_u64(json_string_value(v), json_string_length(v), &tid) == -1 ||
	    !json_is_string(v = json_object_get(body, "list_id")) ||
	    parse_u64(json_string_value(v), json_string_length(v), &lid) == -1) {
		api_error(r, 422, "invalid_reference", "template_id and "
		    "list_id (strings) are required");
		goto out;
	}
	if (!json_is_string(v = json_object_get(body, "from")) ||
	    !valid_from(json_string_value(v), json_string_length(v))) {
		api_error(r, 422, "invalid_from", "from: \"Name <addr>\" or an "
		    "address");
		goto out;
	}
	if ((v = json_object_get(body, "reply_to")) != NULL &&
	    (!json_is_string(v) || !valid_from(json_string_value(v),
	    json_string_length(v)))) {
		api_error(r, 422, "invalid_reply_to", "reply_to: an address");
		goto out;
	}
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
	if ((tpl = template_get(r, tid, &down)) == NULL) {
		if (down)
			api_unavailable(r);
		else
			api_error(r, 422, "invalid_reference", "no such "
			    "template");
		goto out;
	}
	links = json_incref(json_object_get(tpl, "links"));
	json_decref(tpl);
	if ((rc = exists(r, "list", lid)) != 1) {
		json_decref(links);
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 422, "invalid_reference", "no such list");
		goto out;
	}
	if ((rep = db_cmd(a->db, "HINCRBY {t:%llu}:seq campaign 1",
	    (unsigned long long)r->tenant)) == NULL ||
	    rep->type != REDIS_REPLY_INTEGER) {
		if (rep != NULL)
			freeReplyObject(rep);
		json_decref(links);
		api_unavailable(r);
		goto out;
	}
	id = (uint64_t)rep->integer;
	freeReplyObject(rep);
	/* The link table first: a campaign never exists without it. */
	for (i = 0; i < json_array_size(links); i++)
		if ((s = json_string_value(json_array_get(links, i))) != NULL &&
		    policy_url_is_safe(s, strlen(s)) &&
		    (rep = db_cmd(a->db, "HSET {t:%llu:c:%llu}:links %llu %s",
		    (unsigned long long)r->tenant, (unsigned long long)id,
		    (unsigned long long)i, s)) != NULL)
			freeReplyObject(rep);
	json_decref(links);
	v = json_object_get(body, "reply_to");
	s = v ? json_string_value(v) : "";
	rep = db_cmd(a->db, "HSET {t:%llu}:camp:%llu name %b template_id %llu "
	    "list_id %llu from %s reply_to %s rate_per_second %lld "
	    "track_opens %d track_clicks %d status draft created_at %llu",
	    (unsigned long long)r->tenant, (unsigned long long)id,
	    json_string_value(json_object_get(body, "name")),
	    json_string_length(json_object_get(body, "name")),
	    (unsigned long long)tid, (unsigned long long)lid,
	    json_string_value(json_object_get(body, "from")), s,
	    (long long)rate,
	    !json_is_false(json_object_get(body, "track_opens")),
	    !json_is_false(json_object_get(body, "track_clicks")),
	    (unsigned long long)now_ms());
	if (rep == NULL) {
		api_unavailable(r);
		goto out;
	}
	freeReplyObject(rep);
	if ((rep = db_cmd(a->db, "ZADD {t:%llu}:camps %llu %llu",
	    (unsigned long long)r->tenant, (unsigned long long)id,
	    (unsigned long long)id)) != NULL)
		freeReplyObject(rep);
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	api_json(r, 201, json_pack("{s:s, s:s}", "id", idbuf, "status",
	    "draft"));
out:
	json_decref(body);
}

/* A field of an HGETALL reply, or NULL. */
static const char *
hash_field(const redisReply *rep, const char *name)
{
	size_t	i;

	for (i = 0; i + 1 < rep->elements; i += 2)
		if (strcmp(rep->element[i]->str, name) == 0)
			return rep->element[i + 1]->str;
	return NULL;
}

/* A counter of the campaign hash; 0 before launch. */
static json_int_t
hash_count(const redisReply *rep, const char *name)
{
	const char	*v = hash_field(rep, name);

	return v != NULL ? (json_int_t)strtoll(v, NULL, 10) : 0;
}

/* GET /v1/campaigns/{id}: the campaign, its status and its progress
 * (the counters of launch and of the senders). */
static json_t *
campaign_json(const struct api_ctx *ctx, uint64_t id, int *down)
{
	redisReply	*rep;
	json_t		*o;
	char		 idbuf[24], when[32];
	size_t		 i;

	if ((rep = api_ctx_hgetall(ctx, "camp", id, down)) == NULL)
		return NULL;
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	o = json_pack("{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, "
	    "s:I, s:I}}}", "id", idbuf, "progress",
	    "total", hash_count(rep, "total"),
	    "queued", hash_count(rep, "queued"),
	    "sent", hash_count(rep, "sent"),
	    "failed", hash_count(rep, "failed"),
	    "deferred", hash_count(rep, "deferred"),
	    "suppressed",
	    "opted_out", hash_count(rep, "sup_opted_out"),
	    "blocklisted", hash_count(rep, "sup_blocklisted"),
	    "special_category", hash_count(rep, "sup_special_category"),
	    "bounced", hash_count(rep, "sup_bounced"),
	    "erased", hash_count(rep, "sup_erased"));
	for (i = 0; i + 1 < rep->elements; i += 2) {
		const char *f = rep->element[i]->str, *v = rep->element[i + 1]->str;

		if (strcmp(f, "name") == 0 || strcmp(f, "status") == 0 ||
		    strcmp(f, "from") == 0 || strcmp(f, "template_id") == 0 ||
		    strcmp(f, "list_id") == 0 || (strcmp(f, "reply_to") == 0 &&
		    *v != '\0'))
			json_object_set_new(o, f, json_string(v));
		else if (strcmp(f, "track_opens") == 0 ||
		    strcmp(f, "track_clicks") == 0)
			json_object_set_new(o, f, json_boolean(*v == '1'));
		else if (strcmp(f, "rate_per_second") == 0 && strcmp(v, "0"))
			json_object_set_new(o, f, json_integer(strtoll(v, NULL,
			    10)));
		else if (strcmp(f, "launched_at") == 0 ||
		    strcmp(f, "finished_at") == 0)
			json_object_set_new(o, f, json_string(api_iso_time(
			    strtoull(v, NULL, 10), when, sizeof(when))));
	}
	freeReplyObject(rep);
	return o;
}

json_t *
api_campaign_get(const struct api_ctx *ctx, uint64_t id, struct api_err *err)
{
	json_t	*o;
	int	 down;

	if ((o = campaign_json(ctx, id, &down)) == NULL) {
		if (down)
			api_err_unavailable(err);
		else
			api_err_set(err, 404, "not_found", "no such campaign");
	}
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
	redisReply	*rep;
	json_t		*points;
	const char	*step_s, *from, *to, **argv = NULL;
	size_t		*argvlen = NULL, count, i, k, argc;
	uint64_t	 first, since = 0;
	char		 stepbuf[16], frombuf[40], tobuf[40], err[160], key[96];
	char		 when[32], *names = NULL;
	int		 step;

	step_s = api_query(r, "step", stepbuf, sizeof(stepbuf));
	if ((step = series_step(step_s)) == -1) {
		api_error(r, 400, "invalid_step", "step is minute or hour");
		return;
	}
	from = api_query(r, "from", frombuf, sizeof(frombuf));
	to = api_query(r, "to", tobuf, sizeof(tobuf));
	if ((rep = db_cmd(r->a->db, "HMGET {t:%llu}:camp:%llu launched_at "
	    "created_at", (unsigned long long)r->tenant,
	    (unsigned long long)id)) == NULL) {
		api_unavailable(r);
		return;
	}
	for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++)
		if (rep->element[i]->type == REDIS_REPLY_STRING &&
		    parse_u64(rep->element[i]->str, rep->element[i]->len,
		    &since) == 0)
			break;
	freeReplyObject(rep);
	if (series_range(step, from, to, since / 1000, now_ms() / 1000, &first,
	    &count, err, sizeof(err)) == -1) {
		api_error(r, 400, "invalid_range", "%s", err);
		return;
	}
	argc = 2 + SERIES_NKINDS * count;
	argv = xcalloc(argc, sizeof(*argv));
	argvlen = xcalloc(argc, sizeof(*argvlen));
	names = xmalloc(SERIES_NKINDS * count * SERIES_FIELD_MAX);
	argv[0] = "HMGET";
	argvlen[0] = 5;
	argvlen[1] = (size_t)snprintf(key, sizeof(key), "{t:%llu:c:%llu}:ts",
	    (unsigned long long)r->tenant, (unsigned long long)id);
	argv[1] = key;
	for (i = 0; i < count; i++)
		for (k = 0; k < SERIES_NKINDS; k++) {
			char *f = names + (i * SERIES_NKINDS + k) *
			    SERIES_FIELD_MAX;

			argv[2 + i * SERIES_NKINDS + k] = f;
			argvlen[2 + i * SERIES_NKINDS + k] = series_field(f,
			    (enum series_kind)k, step, first + i);
		}
	rep = db_cmdargv(r->a->db, (int)argc, argv, argvlen);
	free(argv);
	free(argvlen);
	free(names);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
	    rep->elements != argc - 2) {
		if (rep != NULL)
			freeReplyObject(rep);
		api_unavailable(r);
		return;
	}
	points = json_array();
	for (i = 0; i < count; i++) {
		json_int_t	n[SERIES_NKINDS];

		for (k = 0; k < SERIES_NKINDS; k++) {
			redisReply *e = rep->element[i * SERIES_NKINDS + k];

			n[k] = e->type == REDIS_REPLY_STRING ?
			    (json_int_t)strtoll(e->str, NULL, 10) : 0;
		}
		json_array_append_new(points, json_pack("{s:s, s:I, s:I, s:I, "
		    "s:I}", "t", api_iso_time((first + i) * (uint64_t)step *
		    1000, when, sizeof(when)),
		    "opens", n[SERIES_OPEN],
		    "opens_machine", n[SERIES_OPEN_MACHINE],
		    "clicks", n[SERIES_CLICK],
		    "clicks_machine", n[SERIES_CLICK_MACHINE]));
	}
	freeReplyObject(rep);
	api_json(r, 200, json_pack("{s:s, s:o}", "step", step == SERIES_HOUR ?
	    "hour" : "minute", "points", points));
}

void
api_campaigns(struct api_req *r)
{
	struct api_ctx	 ctx;
	struct api_err	 err;
	redisReply	*rep;
	json_t		*o, *arr;
	uint64_t	 id;
	size_t		 i;
	int		 down;

	api_req_ctx(r, &ctx);
	if (r->nseg == 2 && r->method == HTTP_POST) {
		campaign_create(r);
		return;
	}
	if (r->nseg == 2 && r->method == HTTP_GET) {
		if ((rep = db_cmd(r->a->db, "ZRANGE {t:%llu}:camps 0 -1",
		    (unsigned long long)r->tenant)) == NULL) {
			api_unavailable(r);
			return;
		}
		arr = json_array();
		for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements;
		    i++)
			if (parse_u64(rep->element[i]->str, rep->element[i]->len,
			    &id) == 0 && (o = campaign_json(&ctx, id, &down)) != NULL)
				json_array_append_new(arr, o);
		freeReplyObject(rep);
		api_json(r, 200, json_pack("{s:o}", "items", arr));
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
		if ((o = db_campaign_stats(r->a->db, r->tenant, id)) == NULL)
			api_unavailable(r);
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
