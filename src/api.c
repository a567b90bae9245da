/*
 * api.c: the private API: the API object (api_new, api_free), a
 * request's life from api_http.c's head to a handler and back, and the
 * request's helpers (JSON body, query, fields, its tenant's view).
 *
 * A request's life, all on the main thread but for the two marked:
 *   head    api_authenticate: routes through api_route.c's table, and
 *           checks the row's auth level before any body byte is read.
 *           No key, or one of no key's form: 401 at once (the
 *           connection closes).  The admin key: compared here.  A tenant
 *           key: checked against Redis on a worker (auth_work*); a Redis
 *           failure there is 503, never 401.  A path under a resource
 *           that names no endpoint: 404 or 405 once authenticated.
 *   body    read by api_http.c within the body budget (api_budget_take).
 *   handler api_dispatch: rows that need no Redis (health, metrics, the
 *           dashboard) and a stream's start here; any other on a worker
 *           (handle_work*).
 *   answer  recorded by api_reply.c; sent and freed here (req_deliver),
 *           at once or when the worker hands the request back (req_done).
 * A request's connection that dies while a worker has it only loses its
 * pointer (api_req_abort); req_done frees the request.  Replies are
 * api_reply.c's, /healthz and /metrics api_metrics.c's, resource
 * handlers api_*.c's, the threads api_pool.c's.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>	/* evhttp_parse_query_str */

#include "api.h"
#include "janitor.h"
#include "event_pump.h"
#include "session.h"

#define API_THREADS		4	/* workers: requests at Redis at once */
#define API_QUEUE_WAIT_MS	500	/* then, with Redis down: 503 */
#define API_PATIENT_BODY	(64 * 1024)	/* a big write: long timeouts */
#define API_TRIM_BYTES		(1024 * 1024)	/* bodies freed, then */
#define API_TRIM_DELAY_S	1		/* ... malloc_trim after */
#define JANITOR_INTERVAL_S	600
#define API_LOGIN_BODY_MAX	4096	/* a stranger's login: small */

struct api_req *
api_req_new(struct api *a, struct api_conn *c)
{
	struct api_req	*r = xcalloc(1, sizeof(*r));

	r->a = a;
	r->conn = c;
	r->live = live_ref(a->live);
	r->start_us = api_now_us();
	r->body = evbuffer_new();
	return r;
}

void
api_req_free(struct api_req *r)
{
	struct api	*a = r->a;

	if (r->stream_free != NULL)
		r->stream_free(r->stream_arg);
	evbuffer_free(r->body);
	if (r->reply_body != NULL)
		evbuffer_free(r->reply_body);
	free(r->reply_headers);
	free(r->strings);
	free(r->path);
	live_unref(r->live);
	/* Big bodies leave the heap in pieces glibc keeps: give them back
	 * to the system a moment later, once for many. */
	a->body_used -= r->budget;
	a->body_freed += r->budget;
	if (a->body_freed >= API_TRIM_BYTES && a->trim != NULL &&
	    !evtimer_pending(a->trim, NULL)) {
		struct timeval	tv = { API_TRIM_DELAY_S, 0 };

		evtimer_add(a->trim, &tv);
	}
	free(r);
}

void
api_req_abort(struct api_req *r)
{
	/* At a worker: freed when it comes back (req_done). */
	if (r->busy)
		r->conn = NULL;
	else
		api_req_free(r);
}

/* Counts, sends and frees an answered request (main thread). */
static void
req_deliver(struct api_req *r)
{
	api_count_reply(r, r->status);
	if (r->conn != NULL)
		api_conn_reply(r, r->status, r->reply_ctype, r->reply_headers,
		    r->reply_body);
	api_req_free(r);
}

void
api_req_answered(struct api_req *r)
{
	if (!r->busy)
		req_deliver(r);
	/* else the worker returns it, and req_done delivers */
}

static void
req_run(struct api_job *j, struct db *db)
{
	struct api_req	*r = (struct api_req *)((char *)j -
			    offsetof(struct api_req, job));

	r->db = db;
	r->work(r);
	/* A big body's JSON lived in this worker's own malloc arena. */
	if (r->budget >= API_TRIM_BYTES)
		malloc_trim(0);
}

static void
req_done(struct api_job *j)
{
	struct api_req	*r = (struct api_req *)((char *)j -
			    offsetof(struct api_req, job));
	struct api_conn	*c = r->conn;

	r->busy = 0;
	r->db = NULL;
	r->work = NULL;
	/* Done in Redis, whether or not anyone still listens. */
	if (r->note.kind != LAUNCH_NOTE_NONE) {
		api_launch_note(r->a, &r->note);
		r->note.kind = LAUNCH_NOTE_NONE;
	}
	if (c == NULL) {
		api_req_free(r);
		return;
	}
	if (r->answered)
		req_deliver(r);
	else if (j->cancelled)
		api_unavailable(r);
	else if (r->after != NULL)
		r->after(r);
	api_conn_resume(c);
}

void
api_req_submit(struct api_req *r, void (*work)(struct api_req *))
{
	r->work = work;
	r->job.run = req_run;
	r->job.done = req_done;
	r->job.patient = r->budget >= API_PATIENT_BODY || r->stream_arg != NULL;
	r->busy = 1;
	if (api_pool_submit(r->a->pool, &r->job) == -1) {
		r->busy = 0;
		r->work = NULL;
		api_busy(r, "too many requests wait for the data store; try "
		    "again");
	}
}

/* On a worker: a request that waited long in the queue while the probe
 * finds Redis down is answered 503 without trying, which bounds its
 * answer (api_pool.c's bounds, plus this wait). */
static int
req_too_late(struct api_req *r)
{
	if (mono_ms() - r->job.queued_ms <= API_QUEUE_WAIT_MS ||
	    api_pool_redis_up(r->a->pool))
		return 0;
	api_unavailable(r);
	return 1;
}

int
api_budget_take(struct api_req *r, size_t n)
{
	struct api	*a = r->a;

	if (n > a->body_budget - a->body_used)
		return -1;
	a->body_used += n;
	r->budget += n;
	return 0;
}

static void
api_trim(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;

	(void)fd;
	(void)what;
	a->body_freed = 0;
	malloc_trim(0);
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
	ctx->db = r->db;
	ctx->keys = &r->live->keys;
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

/* The key of a "Bearer KEY" header, or NULL. */
static const char *
bearer_key(const char *h)
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		;
	return h;
}

static int
is_admin_key(const struct config *conf, const char *key)
{
	const char	*admin;
	size_t		 len = strlen(key);

	admin = getenv("FANFARE_ADMIN_KEY");
	if (admin == NULL || *admin == '\0')
		admin = conf->admin_key;
	return admin != NULL && strlen(admin) == len &&
	    CRYPTO_memcmp(admin, key, len) == 0;
}

/* 401, and the connection closes (api_http.c): its body is never read. */
static void
unauthorized(struct api_req *r)
{
	api_error(r, 401, "unauthorized", "a valid 'Authorization: Bearer "
	    "KEY' header is required");
}

/* Authenticated: a path under a resource that names no endpoint is
 * answered now, before any body is read. */
static int
route_known(struct api_req *r)
{
	const struct api_match	*m = &r->match;

	if (m->endpoint != NULL)
		return 1;
	if (m->allow != 0)
		api_method_not_allowed(r, m->allow);
	else
		api_error(r, 404, "not_found", "no such endpoint");
	return 0;
}

static int	api_route(struct api_req *);

/* On a worker: the tenant key against Redis; a Redis failure is 503,
 * never 401 (a client would drop a good key).  Then, when the body is
 * all there is (none), the handler at once, saving a round trip. */
static void
auth_work(struct api_req *r)
{
	const struct api_endpoint *row = r->match.endpoint != NULL ?
				    r->match.endpoint : r->match.resource;

	if (req_too_late(r))
		return;
	switch (api_tenant_auth(r->db, bearer_key(r->auth), &r->tenant,
	    r->key_prefix, sizeof(r->key_prefix))) {
	case -1:
		api_unavailable(r);
		return;
	case 0:
		unauthorized(r);
		return;
	}
	if (row->auth == API_AUTH_ADMIN) {
		api_error(r, 403, "forbidden", "tenant management needs the "
		    "admin key");
		return;
	}
	r->role = ROLE_OWNER;	/* a tenant key may do everything */
	r->authed = 1;
	if (!route_known(r))
		return;
	if (!r->match.endpoint->streams && r->bodyless)
		r->match.endpoint->handler(r);
}

/* On a worker: a request with a session cookie and no key (api_user.c
 * checks the session, its CSRF token and its role), then as auth_work. */
static void
auth_session_work(struct api_req *r)
{
	const struct api_endpoint *row = r->match.endpoint != NULL ?
				    r->match.endpoint : r->match.resource;

	if (req_too_late(r) || !api_session_auth(r))
		return;
	if (row->auth == API_AUTH_ADMIN) {
		api_error(r, 403, "forbidden", "tenant management needs the "
		    "admin key");
		return;
	}
	r->authed = 1;
	if (!route_known(r) || api_role_check(r) == -1)
		return;
	if (!r->match.endpoint->streams && r->bodyless)
		r->match.endpoint->handler(r);
}

enum api_auth_next
api_authenticate(struct api_req *r)
{
	const struct api_match		*m = &r->match;
	const struct api_endpoint	*row;
	const char			*key;

	if (api_route(r) == -1) {
		api_error(r, 400, "bad_request", "malformed request path");
		return API_AUTH_ANSWERED;
	}
	/* A 404 or 405 under a resource asks for its key first, so that
	 * only its callers learn which paths exist. */
	if ((row = m->endpoint != NULL ? m->endpoint : m->resource) == NULL) {
		api_error(r, 404, "not_found", "no such endpoint");
		return API_AUTH_ANSWERED;
	}
	r->route = row->label;
	if (row->auth == API_AUTH_NONE) {
		r->authed = 1;
		if (!route_known(r))
			return API_AUTH_ANSWERED;
		/* Health, metrics and the dashboard take no body: a stranger
		 * must not fill the body budget through them. */
		if (!r->bodyless) {
			api_error(r, 413, "body_too_large", "this path takes no "
			    "body");
			return API_AUTH_ANSWERED;
		}
		return API_AUTH_GO;
	}
	if (row->auth == API_AUTH_LOGIN) {
		/* A stranger's body: read only when small; the handler runs
		 * on a worker (api_dispatch). */
		r->authed = 1;
		if (!route_known(r))
			return API_AUTH_ANSWERED;
		if (r->content_length > API_LOGIN_BODY_MAX) {
			api_error(r, 413, "body_too_large", "a login is at most "
			    "%d bytes", API_LOGIN_BODY_MAX);
			return API_AUTH_ANSWERED;
		}
		return API_AUTH_GO;
	}
	if ((key = bearer_key(r->auth)) == NULL) {
		/* No key: a marketer's session, when its cookie is there. */
		if (row->auth == API_AUTH_TENANT && r->auth == NULL &&
		    r->cookie != NULL &&
		    strstr(r->cookie, SESSION_COOKIE "=") != NULL) {
			api_req_submit(r, auth_session_work);
			return r->busy ? API_AUTH_WAIT : API_AUTH_ANSWERED;
		}
		unauthorized(r);
		return API_AUTH_ANSWERED;
	}
	if (is_admin_key(r->a->conf, key)) {
		/* The admin key manages tenants and reads no contact data. */
		if (row->auth != API_AUTH_ADMIN) {
			api_error(r, 403, "forbidden", "the admin key manages "
			    "tenants only; use a tenant key");
			return API_AUTH_ANSWERED;
		}
		r->authed = 1;
		return route_known(r) ? API_AUTH_GO : API_AUTH_ANSWERED;
	}
	if (api_tenant_key_form(key) == -1) {
		unauthorized(r);
		return API_AUTH_ANSWERED;
	}
	api_req_submit(r, auth_work);
	return r->busy ? API_AUTH_WAIT : API_AUTH_ANSWERED;
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

/* On a worker: the handler of an authenticated request. */
static void
handle_work(struct api_req *r)
{
	if (req_too_late(r))
		return;
	r->match.endpoint->handler(r);
}

void
api_dispatch(struct api_req *r)
{
	const struct api_endpoint	*row = r->match.endpoint;

	/* What needs no Redis (health, metrics, the dashboard), and a
	 * stream's start (its handler only sets its callbacks), run here. */
	if (row->auth == API_AUTH_NONE || row->streams)
		row->handler(r);
	else
		api_req_submit(r, handle_work);
}

static void
janitor_work(struct api_job *j, struct db *db)
{
	(void)j;
	janitor_tick(db);
}

static void
janitor_done(struct api_job *j)
{
	struct api	*a = (struct api *)((char *)j -
			    offsetof(struct api, janitor_job));

	a->janitor_busy = 0;
}

/* The janitor runs on a worker, one run at a time; if the queue is
 * full, the next tick tries again. */
static void
janitor_timer(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;

	(void)fd;
	(void)what;
	if (a->janitor_busy)
		return;
	a->janitor_job.run = janitor_work;
	a->janitor_job.done = janitor_done;
	a->janitor_job.patient = 1;
	if (api_pool_submit(a->pool, &a->janitor_job) == 0)
		a->janitor_busy = 1;
}

struct api *
api_new(struct event_base *base, const struct config *conf,
    struct live *live, struct worker *workers, int nworkers, char *err,
    size_t errlen)
{
	struct api	*a = xcalloc(1, sizeof(*a));

	struct timeval	 tv = { JANITOR_INTERVAL_S, 0 };

	a->base = base;
	TAILQ_INIT(&a->conns);
	a->conf = conf;
	/* A body over the budget could never be read. */
	a->body_budget = (size_t)(conf->api_body_budget_bytes >
	    conf->api_max_body_bytes ? conf->api_body_budget_bytes :
	    conf->api_max_body_bytes);
	a->pool = api_pool_new(base, &conf->redis, API_THREADS);
	api_user_init(a);
	api_launch_init(a);
	api_sequence_init(a);
	api_schedule_init(a);
	a->workers = workers;
	a->nworkers = nworkers;
	a->live = live_ref(live);
	if ((a->special = special_load(conf->special_categories_file, err,
	    errlen)) == NULL ||
	    dashboard_load(&a->dashboard, conf->templates_dir, err,
	    errlen) == -1)
		goto fail;
	if ((a->trim = evtimer_new(base, api_trim, a)) == NULL ||
	    (a->janitor = event_new(base, -1, EV_PERSIST, janitor_timer,
	    a)) == NULL || event_add(a->janitor, &tv) == -1)
		fatalx("api: timers");
	if (api_http_listen(a, err, errlen) == -1)
		goto fail;
	a->pump = event_pump_start(conf);
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
		event_free(a->janitor);
	event_pump_stop(a->pump);
	a->pump = NULL;
	/* Connections first: their requests at a worker are let go of;
	 * then the snapshots; then the pool hands every job back, so each
	 * is freed by its own done. */
	api_http_close(a);
	api_launch_free(a);
	api_sequence_free(a);
	api_schedule_free(a);
	api_pool_free(a->pool);
	api_user_free(a);
	if (a->trim != NULL)
		event_free(a->trim);
	dashboard_free(a->dashboard);	/* no connection refers to it now */
	special_free(a->special);
	live_unref(a->live);
	free(a);
}
