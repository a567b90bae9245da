/*
 * api.c: the private API (main thread): the API object (api_new,
 * api_free), a request's life from api_http.c's head to a handler, and
 * the request's helpers (JSON body, query, fields, its tenant's view).
 *
 * api_dispatch routes through api_route.c's table, checks the row's
 * auth level (Bearer: the admin key, or a tenant key checked against
 * Redis; a Redis failure there is 503, never 401), then calls the row's
 * handler, or answers 404 or 405 itself.  Replies are api_reply.c's,
 * /healthz and /metrics api_metrics.c's, resource handlers api_*.c's.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>	/* evhttp_parse_query_str */

#include "api.h"
#include "janitor.h"

void
api_req_free(struct api_req *r)
{
	if (r->stream_free != NULL)
		r->stream_free(r->stream_arg);
	evbuffer_free(r->body);
	free(r->strings);
	free(r->path);
	free(r);
}

void
api_req_abort(struct api_req *r)
{
	api_req_free(r);
}

int
api_req_streaming(const struct api_req *r)
{
	return r->stream_end != NULL;
}

void
api_req_stream_data(struct api_req *r, const char *p, size_t len)
{
	r->stream_data(r, p, len);
}

void
api_req_stream_end(struct api_req *r)
{
	r->stream_end(r);
}

int
api_body_json(struct api_req *r, json_t **out)
{
	struct evbuffer	*in = r->body;
	size_t		 len = evbuffer_get_length(in);
	json_error_t	 jerr;
	const char	*ctype = r->ctype;
	json_t		*o;

	if (len > (size_t)r->a->conf->api_max_body_bytes) {
		api_error(r, 413, "body_too_large", "the body is %zu bytes; the "
		    "limit is %d", len, r->a->conf->api_max_body_bytes);
		return -1;
	}
	/* curl -d labels JSON as a form: take it, so the README's curl
	 * lines work as written; any other type is a client mistake. */
	if (ctype != NULL && strncasecmp(ctype, "application/json", 16) != 0 &&
	    strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0) {
		api_error(r, 415, "unsupported_media_type", "send "
		    "application/json");
		return -1;
	}
	o = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		api_error(r, 400, "invalid_json", "%s at offset %d (line %d, "
		    "column %d)", jerr.text, jerr.position, jerr.line,
		    jerr.column);
		return -1;
	}
	*out = o;
	return 0;
}

int
api_found(struct api_req *r, int rc, const char *what)
{
	if (rc == 1)
		return 0;
	if (rc == -1)
		api_unavailable(r);
	else
		api_error(r, 404, "not_found", "no such %s", what);
	return -1;
}

int
api_body_object(struct api_req *r, json_t **out)
{
	if (api_body_json(r, out) == -1)
		return -1;
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		api_error(r, 400, "invalid_body", "expected a JSON object");
		return -1;
	}
	return 0;
}

void
api_req_ctx(const struct api_req *r, struct api_ctx *ctx)
{
	ctx->db = r->a->db;
	ctx->keys = &r->a->live->keys; /* a reload swaps it on this thread */
	ctx->tenant = r->tenant;
	ctx->actor = r->key_prefix;
}

int
api_fields_check(json_t *o, const char *const *allowed, struct api_err *err)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			api_err_set(err, 400, "unknown_field", "unknown field "
			    "'%.100s'", k);
			return -1;
		}
	}
	return 0;
}

int
api_check_fields(struct api_req *r, json_t *o, const char *const *allowed)
{
	struct api_err	err;

	if (api_fields_check(o, allowed, &err) == -1) {
		api_reply_err(r, &err);
		return -1;
	}
	return 0;
}

const char *
api_query(struct api_req *r, const char *name, char *buf, size_t len)
{
	struct evkeyvalq	 q;
	const char		*query = r->query, *v;

	if (query == NULL)
		return NULL;
	memset(&q, 0, sizeof(q));
	if (evhttp_parse_query_str(query, &q) == -1)
		return NULL;
	if ((v = evhttp_find_header(&q, name)) != NULL) {
		snprintf(buf, len, "%s", v);
		v = buf;
	}
	evhttp_clear_headers(&q);
	return v;
}

void
api_random_hex(char *out, size_t bytes)
{
	unsigned char	rnd[64];
	size_t		i;

	if (bytes > sizeof(rnd) || RAND_bytes(rnd, (int)bytes) != 1)
		fatalx("RAND_bytes");
	for (i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	OPENSSL_cleanse(rnd, sizeof(rnd));
}

char *
api_iso_time(uint64_t ms, char *buf, size_t len)
{
	return fmt_iso_time(ms, buf, len);
}

void
api_set_time(json_t *o, const char *name, uint64_t ms)
{
	char	when[32];

	if (ms != 0)
		json_object_set_new(o, name, json_string(fmt_iso_time(ms,
		    when, sizeof(when))));
}

/* ------------------------------------------------------------ routing */

/* Which key the Authorization header holds. */
enum api_key {
	API_KEY_NONE,		/* none, or not one we issued */
	API_KEY_ADMIN,
	API_KEY_TENANT		/* r->tenant and r->key_prefix set */
};

/* The request's key; -1 when Redis could not check a tenant key. */
static int
api_key_of(struct api_req *r, enum api_key *kind)
{
	const struct config	*conf = r->a->conf;
	const char		*h, *key, *admin;
	size_t			 len;

	*kind = API_KEY_NONE;
	h = r->auth;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	for (key = h + 7; *key == ' '; key++)
		;
	len = strlen(key);
	admin = getenv("FANFARE_ADMIN_KEY");
	if (admin == NULL || *admin == '\0')
		admin = conf->admin_key;
	if (admin != NULL && strlen(admin) == len &&
	    CRYPTO_memcmp(admin, key, len) == 0) {
		*kind = API_KEY_ADMIN;
		return 0;
	}
	switch (api_tenant_auth(r->a, key, &r->tenant, r->key_prefix,
	    sizeof(r->key_prefix))) {
	case -1:
		return -1;
	case 1:
		*kind = API_KEY_TENANT;
		break;
	}
	return 0;
}

/* 0 when the request may go on at this auth level; -1 after answering
 * 401, 403, or 503 when Redis cannot say whether a tenant key is valid
 * (a client would drop a good key on a 401). */
static int
api_auth(struct api_req *r, enum api_auth level)
{
	enum api_key	kind;

	if (level == API_AUTH_NONE)
		return 0;
	if (api_key_of(r, &kind) == -1) {
		api_unavailable(r);
		return -1;
	}
	switch (kind) {
	case API_KEY_NONE:
		api_error(r, 401, "unauthorized", "a valid 'Authorization: "
		    "Bearer KEY' header is required");
		return -1;
	case API_KEY_ADMIN:
		if (level == API_AUTH_ADMIN)
			return 0;
		/* The admin key manages tenants and reads no contact data. */
		api_error(r, 403, "forbidden", "the admin key manages tenants "
		    "only; use a tenant key");
		return -1;
	case API_KEY_TENANT:
		if (level == API_AUTH_TENANT)
			return 0;
		api_error(r, 403, "forbidden", "tenant management needs the "
		    "admin key");
		return -1;
	}
	return -1;
}

/* Splits and matches the request once (api_streams asks first, before
 * the body): 0, or -1 when the path is malformed. */
static int
api_route(struct api_req *r)
{
	if (r->routed == 0) {
		r->path = xstrdup(r->target);
		if ((r->nseg = api_route_split(r->path, r->seg,
		    API_MAX_SEGS)) == -1) {
			r->nseg = 0;
			r->routed = -1;
			return -1;
		}
		api_route_match(api_endpoints, api_nendpoints, r->method,
		    r->seg, r->nseg, &r->match);
		r->routed = 1;
	}
	return r->routed == 1 ? 0 : -1;
}

int
api_streams(struct api_req *r)
{
	return api_route(r) == 0 && r->match.endpoint != NULL &&
	    r->match.endpoint->streams;
}

void
api_dispatch(struct api_req *r)
{
	const struct api_match		*m = &r->match;
	const struct api_endpoint	*row;

	if (api_route(r) == -1) {
		api_error(r, 400, "bad_request", "malformed request path");
		return;
	}
	/* A 404 or 405 under a resource asks for its key first, so that
	 * only its callers learn which paths exist. */
	row = m->endpoint != NULL ? m->endpoint : m->resource;
	if (row != NULL) {
		r->route = row->label;
		if (api_auth(r, row->auth) == -1)
			return;
	}
	if (m->endpoint != NULL)
		m->endpoint->handler(r);
	else if (m->allow != 0)
		api_method_not_allowed(r, m->allow);
	else
		api_error(r, 404, "not_found", "no such endpoint");
}

struct api *
api_new(struct event_base *base, const struct config *conf,
    struct live *live, struct worker *workers, int nworkers, char *err,
    size_t errlen)
{
	struct api	*a = xcalloc(1, sizeof(*a));

	a->base = base;
	TAILQ_INIT(&a->conns);
	api_launch_init(a);
	a->conf = conf;
	a->workers = workers;
	a->nworkers = nworkers;
	a->live = live_ref(live);
	if ((a->special = special_load(conf->special_categories_file, err,
	    errlen)) == NULL ||
	    dashboard_load(&a->dashboard, conf->templates_dir, err,
	    errlen) == -1)
		goto fail;
	a->db = db_open(&conf->redis);
	if (api_http_listen(a, err, errlen) == -1)
		goto fail;
	a->janitor = janitor_timer_new(base, a->db);
	return a;
fail:
	api_free(a);
	return NULL;
}

void
api_set_senders(struct api *a, const struct sender_pool *p)
{
	a->senders = p;
}

/* The API runs on the main thread, as the reload does: a plain swap. */
void
api_set_live(struct api *a, struct live *l)
{
	live_unref(a->live);
	a->live = live_ref(l);
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	if (a->janitor != NULL)
		event_free(a->janitor);		/* before db_close: it runs on db */
	api_launch_free(a);
	api_http_close(a);
	dashboard_free(a->dashboard);	/* no connection refers to it now */
	db_close(a->db);
	special_free(a->special);
	live_unref(a->live);
	free(a);
}
