/*
 * api.c: the private API (main thread): routing, Bearer authentication,
 * JSON bodies and errors, /healthz and the Prometheus /metrics.  The
 * connections are api_http.c's; resource handlers live in api_*.c.
 *
 * Every request ends in exactly one of api_json, api_error or
 * api_nocontent, which also free the struct api_req.  Errors are always
 * {"error": {"code", "message"}}, never an HTML page.  Worker counters
 * are read with relaxed atomic loads.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>	/* evhttp_uridecode, evhttp_parse_query_str */

#include "api.h"

#define JANITOR_INTERVAL_S	600

static const char *const api_routes[API_NROUTES] = { "other", "healthz",
    "metrics", "dashboard", "tenants", "contacts", "lists", "optouts", "blocklist",
    "templates", "campaigns", "subjects" };

static const double latency_bounds[8] = {	/* seconds */
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5
};

uint64_t
api_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
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

const char *
api_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

void
api_count(struct api *a, enum api_route route, int status)
{
	if (status / 100 >= 1 && status / 100 <= 5)
		a->by_status[route][status / 100]++;
}

/* Counts, sends and frees: the one way out of a request. */
static void
api_send(struct api_req *r, int status, const char *ctype,
    const char *headers, struct evbuffer *body)
{
	struct api	*a = r->a;
	double		 secs = (double)(api_now_us() - r->start_us) / 1e6;
	size_t		 i;

	api_count(a, r->route, status);
	for (i = 0; i < FF_NELEM(latency_bounds); i++)
		if (secs <= latency_bounds[i])
			a->latency_le[i]++;
	a->latency_count++;
	a->latency_sum += secs;
	api_conn_reply(r, status, ctype, headers, body);
	api_req_free(r);
}

void
api_json(struct api_req *r, int status, json_t *o)
{
	struct evbuffer	*buf = evbuffer_new();
	char		*s;

	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		fatalx("api: cannot encode a reply");
	evbuffer_add(buf, s, strlen(s));
	evbuffer_add(buf, "\n", 1);
	free(s);
	api_send(r, status, "application/json", NULL, buf);
	evbuffer_free(buf);
}

void
api_error(struct api_req *r, int status, const char *code, const char *fmt,
    ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_json(r, status, json_pack("{s:{s:s, s:s}}", "error", "code", code,
	    "message", msg));
}

void
api_nocontent(struct api_req *r)
{
	api_send(r, 204, NULL, NULL, NULL);
}

void
api_static(struct api_req *r, int status, const char *ctype,
    const char *headers, const char *data, size_t len)
{
	struct evbuffer	*buf = evbuffer_new();

	/* By reference: the bytes are the dashboard's, kept until api_free,
	 * which closes every connection first. */
	if (len > 0)
		evbuffer_add_reference(buf, data, len, NULL, NULL);
	api_send(r, status, ctype, headers, buf);
	evbuffer_free(buf);
}

void
api_unavailable(struct api_req *r)
{
	struct api_err	err;

	api_err_unavailable(&err);
	api_reply_err(r, &err);
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

void
api_req_ctx(const struct api_req *r, struct api_ctx *ctx)
{
	ctx->db = r->a->db;
	ctx->keys = &r->a->live->keys; /* a reload swaps it on this thread */
	ctx->tenant = r->tenant;
	ctx->actor = r->key_prefix;
}

void
api_err_set(struct api_err *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list	ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void
api_err_unavailable(struct api_err *err)
{
	api_err_set(err, 503, "unavailable", "the data store is not "
	    "reachable; try again");
}

void
api_reply_err(struct api_req *r, const struct api_err *err)
{
	api_error(r, err->status, err->code, "%s", err->message);
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

redisReply *
api_hgetall(struct api_req *r, const char *key, int *down)
{
	struct api_ctx	ctx;

	api_req_ctx(r, &ctx);
	return api_ctx_hgetall(&ctx, key, down);
}

redisReply *
api_ctx_hgetall(const struct api_ctx *ctx, const char *key, int *down)
{
	redisReply	*rep;

	*down = 0;
	if ((rep = db_cmd(ctx->db, "HGETALL %s", key)) == NULL) {
		*down = 1;
		return NULL;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
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
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---------------------------------------------------- health, metrics */

static uint64_t
sum(struct api *a, size_t offset)
{
	uint64_t	total = 0;
	int		i;

	for (i = 0; i < a->nworkers; i++)
		total += __atomic_load_n((uint64_t *)((char *)
		    &a->workers[i].metrics + offset), __ATOMIC_RELAXED);
	return total;
}

#define SUM(a, field)	sum((a), offsetof(struct worker_metrics, field))

static int
redis_up(struct api *a)
{
	int	i;

	for (i = 0; i < a->nworkers; i++)
		if (!METRIC_GET(&a->workers[i], redis_up))
			return 0;
	return 1;
}

static void
api_healthz(struct api_req *r)
{
	api_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "redis",
	    redis_up(r->a) ? "up" : "down"));
}

static void
api_metrics(struct api_req *r)
{
	static const char *const routes[] = { "other", "open", "click",
	    "unsubscribe", "healthz" };
	static const char *const kinds[] = { NULL, "open", "click",
	    "unsubscribe" };
	struct api	*a = r->a;
	struct evbuffer	*buf = evbuffer_new();
	size_t		 i, k;

	evbuffer_add_printf(buf, "# TYPE fanfare_track_requests_total "
	    "counter\n");
	for (i = 0; i < FF_NELEM(routes); i++)
		evbuffer_add_printf(buf, "fanfare_track_requests_total"
		    "{route=\"%s\"} %llu\n", routes[i], (unsigned long long)
		    sum(a, offsetof(struct worker_metrics, requests[i])));
	evbuffer_add_printf(buf, "# TYPE fanfare_track_responses_total "
	    "counter\n"
	    "fanfare_track_responses_total{class=\"2xx\"} %llu\n"
	    "fanfare_track_responses_total{class=\"3xx\"} %llu\n"
	    "fanfare_track_responses_total{class=\"4xx\"} %llu\n"
	    "fanfare_track_responses_total{class=\"5xx\"} %llu\n",
	    (unsigned long long)SUM(a, status_2xx),
	    (unsigned long long)SUM(a, status_3xx),
	    (unsigned long long)SUM(a, status_4xx),
	    (unsigned long long)SUM(a, status_5xx));
	evbuffer_add_printf(buf, "# TYPE fanfare_events_total counter\n");
	for (i = 1; i < FF_NELEM(kinds); i++)
		evbuffer_add_printf(buf, "fanfare_events_total{kind=\"%s\"} "
		    "%llu\n", kinds[i], (unsigned long long)
		    sum(a, offsetof(struct worker_metrics, events[i])));
	evbuffer_add_printf(buf,
	    "# TYPE fanfare_events_machine_total counter\n"
	    "fanfare_events_machine_total %llu\n"
	    "# TYPE fanfare_events_private_total counter\n"
	    "fanfare_events_private_total %llu\n"
	    "# TYPE fanfare_events_stored_total counter\n"
	    "fanfare_events_stored_total %llu\n"
	    "# HELP fanfare_spool_full_total events not recorded: spool full\n"
	    "# TYPE fanfare_spool_full_total counter\n"
	    "fanfare_spool_full_total %llu\n"
	    "# TYPE fanfare_spool_errors_total counter\n"
	    "fanfare_spool_errors_total %llu\n"
	    "# TYPE fanfare_spool_bytes gauge\n"
	    "fanfare_spool_bytes %llu\n"
	    "# TYPE fanfare_redis_up gauge\n"
	    "fanfare_redis_up %d\n"
	    "# TYPE fanfare_redis_reconnects_total counter\n"
	    "fanfare_redis_reconnects_total %llu\n"
	    "# TYPE fanfare_link_lookups_total counter\n"
	    "fanfare_link_lookups_total %llu\n"
	    "# TYPE fanfare_track_connections_total counter\n"
	    "fanfare_track_connections_total %llu\n",
	    (unsigned long long)SUM(a, events_machine),
	    (unsigned long long)SUM(a, events_private),
	    (unsigned long long)SUM(a, events_stored),
	    (unsigned long long)SUM(a, spool_full),
	    (unsigned long long)SUM(a, spool_errors),
	    (unsigned long long)SUM(a, spool_bytes),
	    redis_up(a),
	    (unsigned long long)SUM(a, redis_reconnects),
	    (unsigned long long)SUM(a, link_lookups),
	    (unsigned long long)SUM(a, connections));
	evbuffer_add_printf(buf, "# TYPE fanfare_api_responses_total counter\n");
	for (k = 0; k < API_NROUTES; k++)
		for (i = 1; i <= 5; i++)
			if (a->by_status[k][i] != 0)
				evbuffer_add_printf(buf,
				    "fanfare_api_responses_total{route=\"%s\","
				    "class=\"%zuxx\"} %llu\n", api_routes[k], i,
				    (unsigned long long)a->by_status[k][i]);
	evbuffer_add_printf(buf, "# TYPE fanfare_api_request_seconds "
	    "histogram\n");
	for (i = 0; i < FF_NELEM(latency_bounds); i++)
		evbuffer_add_printf(buf, "fanfare_api_request_seconds_bucket"
		    "{le=\"%g\"} %llu\n", latency_bounds[i],
		    (unsigned long long)a->latency_le[i]);
	evbuffer_add_printf(buf, "fanfare_api_request_seconds_bucket"
	    "{le=\"+Inf\"} %llu\nfanfare_api_request_seconds_sum %.6f\n"
	    "fanfare_api_request_seconds_count %llu\n",
	    (unsigned long long)a->latency_count, a->latency_sum,
	    (unsigned long long)a->latency_count);
	{
		struct sender_metrics sm;

		sender_metrics(a->senders, &sm);
		evbuffer_add_printf(buf, "# TYPE fanfare_messages_total "
		    "counter\n"
		    "fanfare_messages_total{outcome=\"sent\"} %llu\n"
		    "fanfare_messages_total{outcome=\"bounced\"} %llu\n"
		    "fanfare_messages_total{outcome=\"deferred\"} %llu\n"
		    "fanfare_messages_total{outcome=\"failed\"} %llu\n",
		    (unsigned long long)sm.sent,
		    (unsigned long long)sm.bounced,
		    (unsigned long long)sm.deferred,
		    (unsigned long long)sm.failed);
	}
	evbuffer_add_printf(buf, "# TYPE fanfare_api_connections gauge\n"
	    "fanfare_api_connections %d\n", a->nconns);
	api_send(r, 200, "text/plain; version=0.0.4", NULL, buf);
	evbuffer_free(buf);
}

/* ------------------------------------------------------------ routing */

/* Splits the path into percent-decoded segments; -1 on junk. */
static int
api_split(struct api_req *r, const char *path)
{
	char	*p, *s, *dec;
	size_t	 n;

	r->path = xstrdup(path);
	for (p = r->path; *p == '/'; p++)
		;
	while (*p != '\0') {
		if (r->nseg == API_MAX_SEGS)
			return -1;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		if (*p == '/')
			*p++ = '\0';
		if ((dec = evhttp_uridecode(s, 0, &n)) == NULL)
			return -1;
		if (strlen(dec) != n || n > strlen(s)) {
			free(dec);
			return -1;	/* %00 */
		}
		memcpy(s, dec, n + 1);	/* decoding never lengthens */
		free(dec);
		r->seg[r->nseg++] = s;
	}
	return 0;
}

/* 1 admin, 0 tenant (r->tenant set), -1 after answering 401. */
static int
api_auth(struct api_req *r)
{
	const struct config	*conf = r->a->conf;
	const char		*h, *key, *admin;
	size_t			 len;

	h = r->auth;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		goto fail;
	for (key = h + 7; *key == ' '; key++)
		;
	len = strlen(key);
	admin = getenv("FANFARE_ADMIN_KEY");
	if (admin == NULL || *admin == '\0')
		admin = conf->admin_key;
	if (admin != NULL && strlen(admin) == len &&
	    CRYPTO_memcmp(admin, key, len) == 0)
		return 1;
	if ((r->tenant = api_tenant_auth(r->a, key, r->key_prefix,
	    sizeof(r->key_prefix))) != 0)
		return 0;
fail:
	api_error(r, 401, "unauthorized", "a valid 'Authorization: Bearer "
	    "KEY' header is required");
	return -1;
}

/* POST /v1/contacts/import reads its body as it arrives. */
int
api_streams(struct api_req *r)
{
	static const char	path[] = "/v1/contacts/import";

	return r->method == HTTP_POST && strcmp(r->target, path) == 0;
}

void
api_dispatch(struct api_req *r)
{
	int	admin, i;

	if (api_split(r, r->target) == -1) {
		api_error(r, 400, "bad_request", "malformed request path");
		return;
	}
	if (r->nseg == 1 && (strcmp(r->seg[0], "healthz") == 0 ||
	    strcmp(r->seg[0], "metrics") == 0)) {
		if (r->method != HTTP_GET && r->method != HTTP_HEAD)
			api_error(r, 405, "method_not_allowed", "use GET");
		else if (r->seg[0][0] == 'h') {
			r->route = API_ROUTE_HEALTHZ;
			api_healthz(r);
		} else {
			r->route = API_ROUTE_METRICS;
			api_metrics(r);
		}
		return;
	}
	if (r->nseg == 0 || strcmp(r->seg[0], "dashboard") == 0) {
		r->route = API_ROUTE_DASHBOARD;
		dashboard_serve(r);
		return;
	}
	if (r->nseg < 2 || strcmp(r->seg[0], "v1") != 0) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	for (i = API_ROUTE_TENANTS; i < API_NROUTES; i++)
		if (strcmp(r->seg[1], api_routes[i]) == 0)
			r->route = (enum api_route)i;
	if ((admin = api_auth(r)) == -1)
		return;
	if (r->route == API_ROUTE_TENANTS) {
		if (!admin)
			api_error(r, 403, "forbidden", "tenant management "
			    "needs the admin key");
		else
			api_tenants(r);
		return;
	}
	if (admin) {
		/* The admin key manages tenants and reads no contact data. */
		api_error(r, 403, "forbidden", "the admin key manages tenants "
		    "only; use a tenant key");
		return;
	}
	switch (r->route) {
	case API_ROUTE_CONTACTS:
		if (api_streams(r))
			api_contacts_import(r);
		else
			api_contacts(r);
		break;
	case API_ROUTE_LISTS:
		api_lists(r);
		break;
	case API_ROUTE_OPTOUTS:
		api_optouts(r);
		break;
	case API_ROUTE_BLOCKLIST:
		api_blocklist(r);
		break;
	case API_ROUTE_TEMPLATES:
		api_templates(r);
		break;
	case API_ROUTE_CAMPAIGNS:
		api_campaigns(r);
		break;
	case API_ROUTE_SUBJECTS:
		api_subjects(r);
		break;
	default:
		api_error(r, 404, "not_found", "no such endpoint");
	}
}

/* Retention and scheduled purges, every JANITOR_INTERVAL_S. */
static void
api_janitor_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api		*a = arg;
	struct janitor_report	 rep;

	if (janitor_run(a->db, now_ms(), &rep) == -1) {
		log_warnx("janitor: redis failed; next run in %d s",
		    JANITOR_INTERVAL_S);
		return;
	}
	if (rep.tenants_purged || rep.entries_trimmed)
		log_info("janitor: %lld tenants purged (%lld keys), %lld event "
		    "entries past retention trimmed", rep.tenants_purged,
		    rep.keys_purged, rep.entries_trimmed);
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
	{
		struct timeval tv = { JANITOR_INTERVAL_S, 0 };

		a->janitor = event_new(base, -1, EV_PERSIST, api_janitor_cb, a);
		event_add(a->janitor, &tv);
	}
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
	api_launch_free(a);
	api_http_close(a);
	dashboard_free(a->dashboard);	/* no connection refers to it now */
	db_close(a->db);
	special_free(a->special);
	live_unref(a->live);
	free(a);
}
