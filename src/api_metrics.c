/*
 * api_metrics.c: what the API tells monitoring.  GET /healthz (is Redis
 * up: the API's probe (api_pool.c) answers its PING and every tracking
 * worker is connected) and GET /metrics in Prometheus text: the
 * tracking workers' counters, summed with relaxed atomic loads (each
 * worker writes only its own), the senders' totals, and the API's own
 * responses by route label and status class and its latency histogram,
 * which api_count_reply keeps on the main thread.
 *
 * Route labels are a fixed set (enum api_route, named by the route
 * table's rows), never a path: a client cannot grow the series.
 *
 * Both run on the main thread and ask Redis nothing, so they answer at
 * once whatever Redis does.
 */
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <event2/buffer.h>

#include "api.h"

static const char *const route_labels[API_NROUTES] = { "other", "healthz",
    "metrics", "dashboard", "tenants", "contacts", "lists", "optouts", "blocklist",
    "templates", "campaigns", "subjects", "domains", "bounces", "relay",
    "sequences",
    "segments",
    "forms",
    "events",
    "users", "session",
    "webhooks" };

static const double latency_bounds[8] = {	/* seconds */
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5
};

uint64_t
api_now_us(void)
{
	return clock_units(CLOCK_MONOTONIC, 1000000);
}

void
api_count(struct api *a, enum api_route route, int status)
{
	if (status / 100 >= 1 && status / 100 <= 5)
		a->by_status[route][status / 100]++;
}

void
api_count_reply(const struct api_req *r, int status)
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

	if (!api_pool_redis_up(a->pool))
		return 0;
	for (i = 0; i < a->nworkers; i++)
		if (!METRIC_GET(&a->workers[i], redis_up))
			return 0;
	return 1;
}

void
api_healthz(struct api_req *r)
{
	api_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "redis",
	    redis_up(r->a) ? "up" : "down"));
}

/* A counter with one series per value of its label, in their order. */
static void
put_counter(struct evbuffer *buf, const char *name, const char *label,
    const char *const *values, const uint64_t *counts, size_t n)
{
	size_t	i;

	evbuffer_add_printf(buf, "# TYPE %s counter\n", name);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(buf, "%s{%s=\"%s\"} %llu\n", name, label,
		    values[i], (unsigned long long)counts[i]);
}

void
api_metrics(struct api_req *r)
{
	static const char *const routes[] = { "other", "open", "click",
	    "unsubscribe", "healthz", "form", "confirm", "preferences" };
	static const char *const classes[] = { "2xx", "3xx", "4xx", "5xx" };
	static const char *const kinds[] = { "open", "click", "unsubscribe" };
	static const char *const outcomes[] = { "sent", "bounced",
	    "deferred", "failed" };
	struct api	*a = r->a;
	struct evbuffer	*buf = evbuffer_new();
	uint64_t	 n[FF_NELEM(routes)];
	size_t		 i, k;

	for (i = 0; i < FF_NELEM(routes); i++)
		n[i] = sum(a, offsetof(struct worker_metrics, requests[i]));
	put_counter(buf, "fanfare_track_requests_total", "route", routes, n,
	    FF_NELEM(routes));
	n[0] = SUM(a, status_2xx);
	n[1] = SUM(a, status_3xx);
	n[2] = SUM(a, status_4xx);
	n[3] = SUM(a, status_5xx);
	put_counter(buf, "fanfare_track_responses_total", "class", classes, n,
	    FF_NELEM(classes));
	/* events[0] is no kind. */
	for (i = 0; i < FF_NELEM(kinds); i++)
		n[i] = sum(a, offsetof(struct worker_metrics, events[i + 1]));
	put_counter(buf, "fanfare_events_total", "kind", kinds, n,
	    FF_NELEM(kinds));
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
				    "class=\"%zuxx\"} %llu\n", route_labels[k], i,
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
		n[0] = sm.sent;
		n[1] = sm.bounced;
		n[2] = sm.deferred;
		n[3] = sm.failed;
		put_counter(buf, "fanfare_messages_total", "outcome",
		    outcomes, n, FF_NELEM(outcomes));
	}
	evbuffer_add_printf(buf, "# TYPE fanfare_api_connections gauge\n"
	    "fanfare_api_connections %d\n"
	    "# HELP fanfare_api_body_bytes request body bytes reserved of "
	    "api_body_budget\n"
	    "# TYPE fanfare_api_body_bytes gauge\n"
	    "fanfare_api_body_bytes %zu\n", a->nconns, a->body_used);
	api_reply_buffer(r, 200, "text/plain; version=0.0.4", buf);
}
