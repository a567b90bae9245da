/*
 * api.c: the private API listener (evhttp on the main thread).  Serves
 * /healthz and the Prometheus /metrics; the /v1 JSON API joins it here.
 * Every callback ends in exactly one evhttp_send_reply.  Worker counters
 * are read with relaxed atomic loads: a scrape may see one worker a
 * moment later than another, never a torn value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "worker.h"

struct api {
	struct evhttp		*http;
	const struct config	*conf;
	struct worker		*workers;
	int			 nworkers;
};

#define API_MAX_HEADERS		8192
#define API_MAX_BODY		(1 << 20)
#define API_TIMEOUT_S		30

static void
api_json_reply(struct evhttp_request *req, int status, const char *body)
{
	struct evbuffer	*buf = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evbuffer_add(buf, body, strlen(body));
	evhttp_send_reply(req, status, NULL, buf);
	evbuffer_free(buf);
}

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
api_healthz(struct api *a, struct evhttp_request *req)
{
	api_json_reply(req, 200, redis_up(a) ?
	    "{\"status\":\"ok\",\"redis\":\"up\"}" :
	    "{\"status\":\"ok\",\"redis\":\"down\"}");
}

static void
api_metrics(struct api *a, struct evhttp_request *req)
{
	static const char *const routes[] = { "other", "open", "click",
	    "unsubscribe", "healthz" };
	static const char *const kinds[] = { NULL, "open", "click",
	    "unsubscribe" };
	struct evbuffer	*buf = evbuffer_new();
	size_t		 i;

	evbuffer_add_printf(buf, "# TYPE fanfare_track_requests_total "
	    "counter\n");
	for (i = 0; i < FF_NELEM(routes); i++)
		evbuffer_add_printf(buf, "fanfare_track_requests_total"
		    "{route=\"%s\"} %llu\n", routes[i], (unsigned long long)
		    sum(a, offsetof(struct worker_metrics, requests[i])));
	evbuffer_add_printf(buf, "# TYPE fanfare_track_responses_total "
	    "counter\n");
	evbuffer_add_printf(buf, "fanfare_track_responses_total{class=\"2xx\"}"
	    " %llu\n", (unsigned long long)SUM(a, status_2xx));
	evbuffer_add_printf(buf, "fanfare_track_responses_total{class=\"3xx\"}"
	    " %llu\n", (unsigned long long)SUM(a, status_3xx));
	evbuffer_add_printf(buf, "fanfare_track_responses_total{class=\"4xx\"}"
	    " %llu\n", (unsigned long long)SUM(a, status_4xx));
	evbuffer_add_printf(buf, "fanfare_track_responses_total{class=\"5xx\"}"
	    " %llu\n", (unsigned long long)SUM(a, status_5xx));
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
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, NULL, buf);
	evbuffer_free(buf);
}

static void
api_request_cb(struct evhttp_request *req, void *arg)
{
	struct api	*a = arg;
	const char	*path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (path == NULL) {
		api_json_reply(req, 400, "{\"error\":{\"code\":\"bad_request\","
		    "\"message\":\"malformed request target\"}}");
		return;
	}
	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0) {
		if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
			api_json_reply(req, 405, "{\"error\":{\"code\":"
			    "\"method_not_allowed\",\"message\":\"use GET\"}}");
			return;
		}
		if (path[1] == 'h')
			api_healthz(a, req);
		else
			api_metrics(a, req);
		return;
	}
	api_json_reply(req, 404, "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no such endpoint\"}}");
}

struct api *
api_new(struct event_base *base, const struct config *conf,
    struct worker *workers, int nworkers, char *err, size_t errlen)
{
	struct api	*a = xcalloc(1, sizeof(*a));

	a->conf = conf;
	a->workers = workers;
	a->nworkers = nworkers;
	if ((a->http = evhttp_new(base)) == NULL)
		goto fail;
	/* evhttp has no limits by default: set them. */
	evhttp_set_max_headers_size(a->http, API_MAX_HEADERS);
	evhttp_set_max_body_size(a->http, API_MAX_BODY);
	evhttp_set_timeout(a->http, API_TIMEOUT_S);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
	    EVHTTP_REQ_DELETE);
	evhttp_set_gencb(a->http, api_request_cb, a);
	if (conf->api_listen.host == NULL) {
		snprintf(err, errlen, "api_listen: unix sockets are not "
		    "supported yet");
		goto fail;
	}
	if (evhttp_bind_socket(a->http, conf->api_listen.host,
	    (ev_uint16_t)conf->api_listen.port) == -1) {
		snprintf(err, errlen, "api_listen %s:%d: cannot bind",
		    conf->api_listen.host, conf->api_listen.port);
		goto fail;
	}
	return a;
fail:
	if (a->http == NULL)
		snprintf(err, errlen, "api: cannot create listener");
	api_free(a);
	return NULL;
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	if (a->http != NULL)
		evhttp_free(a->http);
	free(a);
}
