/*
 * event_pump.c: copies the trackers' per-person records into each
 * tenant's event log, so that the pixel and click path gains nothing:
 * the shipper (store.c, record.lua) already writes every human or
 * machine open, click and link opt-out of a campaign, as record lines
 * in {t:T:c:C}:events; DNT/GPC hits are never there, so they make no
 * event here either.
 *
 * DESIGN.  Once a second, on a thread of its own with its own Redis
 * connection, at a lower priority than the tracking threads
 * (background.c: when the CPU is short the pixel wins it, the copy
 * catches up in the gaps), for each tenant: a lease
 * ({t:T}:events:lease, the node_id, 10 s) shares the tenants among the
 * nodes; the node holding it reads each campaign's stream past the
 * tenant's mark for that campaign ({t:T}:events:pumped), and hands the
 * events of consecutive stream entries (whole entries, up to
 * PUMP_ADD_MAX events) to event_add.lua with the last entry's id as
 * the new mark.  The script adds them only when the mark moves
 * forward, in the same step, in the tenant's slot: a copy made twice
 * (a kill -9 between the read and the reply, a lease that changed
 * hands mid-run) adds nothing, so the log holds each record once, at
 * least once.  An event's id comes from where its record is (campaign,
 * entry, line): the same record always makes the same id.  The
 * contact's address is read by the script when the event is added
 * (none for an erased contact: no event).
 *
 * Cost, per tenant held and second: the lease, the campaign ids, then
 * per 256 campaigns one HMGET of the marks and one pipeline of XRANGEs
 * (a round trip per Redis node), plus a script call per PUMP_ADD_MAX
 * events copied (or per 100 entries read, if fewer); a link's URL is
 * read once per run and campaign.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "background.h"
#include "config.h"
#include "fanfare.h"
#include "event.h"
#include "event_pump.h"
#include "redis_sync.h"
#include "store_campaign.h"
#include "store_event.h"
#include "store_tenant.h"

#define PUMP_INTERVAL_MS	1000
#define PUMP_LEASE_MS		10000
#define PUMP_ENTRIES		100	/* stream entries read per step */
#define PUMP_STEPS		20	/* steps per campaign per run */
#define PUMP_LINKS		64	/* URLs remembered per campaign */
#define PUMP_GROUP		256	/* campaigns read in one pipeline */
#define PUMP_ADD_MAX		1000	/* events per event_add.lua call */

struct link_cache {
	uint64_t	 link[PUMP_LINKS];
	char		*url[PUMP_LINKS];
	int		 n;
};

struct pump_walk {
	struct db			*db;
	const char			*node;
	struct event_pump_report	*report;
};

static void
links_free(struct link_cache *c)
{
	int	i;

	for (i = 0; i < c->n; i++)
		free(c->url[i]);
	c->n = 0;
}

/* The URL of a link of the campaign, or NULL (not in its table); -1 when
 * Redis failed. */
static int
link_url(struct db *db, uint64_t tenant, uint64_t campaign,
    struct link_cache *c, uint64_t link, const char **url)
{
	char	*u;
	int	 i;

	for (i = 0; i < c->n; i++)
		if (c->link[i] == link) {
			*url = c->url[i];
			return 0;
		}
	if (store_event_link(db, tenant, campaign, link, &u) == -1)
		return -1;
	if (c->n == PUMP_LINKS) {
		free(c->url[0]);
		memmove(c->link, c->link + 1, (PUMP_LINKS - 1) *
		    sizeof(c->link[0]));
		memmove(c->url, c->url + 1, (PUMP_LINKS - 1) *
		    sizeof(c->url[0]));
		c->n--;
	}
	c->link[c->n] = link;
	c->url[c->n++] = u;
	*url = u;
	return 0;
}

/* A growing list of events for one event_add.lua call. */
struct pump_events {
	struct event_entry	*ev;
	size_t			 n, cap;
};

static void
pump_events_clear(struct pump_events *pe)
{
	size_t	i;

	for (i = 0; i < pe->n; i++)
		free(pe->ev[i].json);
	pe->n = 0;
}

/* The events of one stream entry's lines appended to pe (the caller
 * clears it): 0, or -1 when Redis failed. */
static int
entry_events(struct db *db, uint64_t tenant, uint64_t campaign,
    const struct record_entry *r, struct link_cache *links,
    struct pump_events *pe)
{
	struct event_record	 rec;
	struct event_fields	 e;
	struct event_entry	*x;
	const char		*p, *end, *nl, *url;
	unsigned		 line = 0;

	for (p = r->text, end = r->text + r->len; p < end; p = nl + 1,
	    line++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (event_record_parse(p, (size_t)(nl - p), &rec) == -1)
			continue;
		memset(&e, 0, sizeof(e));
		e.type = rec.type;
		e.time_ms = rec.ts_ms;
		e.campaign = campaign;
		e.contact = rec.contact;
		e.machine = rec.machine;
		if (rec.type == EVENT_CLICKED) {
			if (link_url(db, tenant, campaign, links, rec.link,
			    &url) == -1)
				return -1;
			e.url = url != NULL ? url : "";
		} else if (rec.type == EVENT_UNSUBSCRIBED)
			e.reason = "link";
		if (pe->n == pe->cap) {
			pe->cap = pe->cap ? pe->cap * 2 : 256;
			pe->ev = xreallocarray(pe->ev, pe->cap,
			    sizeof(*pe->ev));
		}
		x = &pe->ev[pe->n];
		memset(x, 0, sizeof(*x));
		event_id_tracked(x->id, campaign, r->id, line);
		x->contact = rec.contact;
		x->campaign = campaign;
		x->type = rec.type;
		if ((x->json = event_json(&e)) == NULL)
			continue;
		pe->n++;
	}
	return 0;
}

/*
 * Copies one batch of a campaign's records: the events of consecutive
 * entries go to event_add.lua together (up to PUMP_ADD_MAX events a
 * call, whole entries only), with the last entry's id as the mark, so
 * a call moves the mark past every entry it holds or past none.  One
 * script call per group rather than per entry: an entry holds one
 * tracker chunk's records of the campaign, often a handful, and each
 * call is a round trip and a script run in Redis, which the pixel's
 * shipper needs too.  0 or -1.
 */
static int
pump_batch(struct pump_walk *w, uint64_t tenant, uint64_t campaign,
    const struct record_batch *b, struct link_cache *links,
    char mark[EVENT_CURSOR_MAX])
{
	struct pump_events	 pe = { NULL, 0, 0 };
	size_t			 i, first;
	long long		 added;
	int			 rc = 0;

	for (first = i = 0; i < b->n && rc == 0; i++) {
		if (entry_events(w->db, tenant, campaign, &b->entries[i],
		    links, &pe) == -1) {
			rc = -1;
			break;
		}
		/* An entry with no event still moves the mark. */
		if (i + 1 < b->n && pe.n < PUMP_ADD_MAX)
			continue;
		added = store_event_add_pumped(w->db, tenant, campaign,
		    b->entries[i].id, pe.ev, pe.n);
		pump_events_clear(&pe);
		if (added == -1) {
			rc = -1;
			break;
		}
		w->report->entries += (long long)(i + 1 - first);
		w->report->added += added;
		snprintf(mark, EVENT_CURSOR_MAX, "%s", b->entries[i].id);
		first = i + 1;
	}
	pump_events_clear(&pe);
	free(pe.ev);
	return rc;
}

/* One campaign, from the batch read for it (first) on, a bounded
 * number of steps: 0 or -1. */
static int
pump_campaign(struct pump_walk *w, uint64_t tenant, uint64_t campaign,
    char mark[EVENT_CURSOR_MAX], const struct record_batch *first)
{
	struct record_batch	 b;
	struct link_cache	 links = { .n = 0 };
	int			 step, rc;
	size_t			 n = first->n;

	rc = pump_batch(w, tenant, campaign, first, &links, mark);
	for (step = 1; rc == 0 && n == PUMP_ENTRIES && step < PUMP_STEPS;
	    step++) {
		if (store_event_records(w->db, tenant, campaign, mark,
		    PUMP_ENTRIES, &b) == -1) {
			rc = -1;
			break;
		}
		rc = pump_batch(w, tenant, campaign, &b, &links, mark);
		n = b.n;
		record_batch_free(&b);
	}
	links_free(&links);
	return rc;
}

/* A group of a tenant's campaigns: their marks in one command, their
 * new records in one pipeline, then the campaigns that have some. */
static int
pump_group(struct pump_walk *w, uint64_t tenant, const uint64_t *camps,
    size_t n)
{
	char			(*marks)[EVENT_CURSOR_MAX];
	struct record_batch	*b;
	size_t			 i;
	int			 rc = 0;

	marks = xcalloc(n, sizeof(*marks));
	b = xcalloc(n, sizeof(*b));
	if (store_event_marks(w->db, tenant, camps, n, marks) == -1 ||
	    store_event_records_many(w->db, tenant, camps, marks, n,
	    PUMP_ENTRIES, b) == -1)
		rc = -1;
	for (i = 0; i < n && rc == 0; i++)
		if (b[i].n > 0)
			rc = pump_campaign(w, tenant, camps[i], marks[i], &b[i]);
	for (i = 0; i < n; i++)
		record_batch_free(&b[i]);
	free(b);
	free(marks);
	return rc;
}

/* store_tenant_each's callback: one tenant, if the lease is ours. */
static int
pump_tenant(void *arg, uint64_t tenant)
{
	struct pump_walk	*w = arg;
	uint64_t		*camps;
	size_t			 i, n, k;
	int			 rc;

	if ((rc = store_event_lease(w->db, tenant, w->node,
	    PUMP_LEASE_MS)) != 1)
		return rc;		/* -1, or another node's */
	w->report->tenants++;
	if (store_campaign_ids(w->db, tenant, &camps, &n) == -1)
		return -1;
	for (i = 0; i < n && rc != -1; i += k) {
		k = n - i < PUMP_GROUP ? n - i : PUMP_GROUP;
		rc = pump_group(w, tenant, camps + i, k);
	}
	free(camps);
	return rc == -1 ? -1 : 0;
}

int
event_pump_run(struct db *db, const char *node,
    struct event_pump_report *out)
{
	struct pump_walk	w = { db, node, out };

	memset(out, 0, sizeof(*out));
	return store_tenant_each(db, pump_tenant, &w);
}

/* ----------------------------------------------- fanfared's thread */

struct event_pump {
	const struct config	*conf;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	int			 stop;		/* under lock */
	uint64_t		 warned_ms;
};

/* Waits until mono ms at, or until stopped: 1 stopped, else 0. */
static int
pump_sleep(struct event_pump *p, uint64_t at)
{
	struct timespec	ts;
	uint64_t	now;
	int		stop;

	pthread_mutex_lock(&p->lock);
	while (!p->stop && (now = mono_ms()) < at) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)((at - now) / 1000);
		ts.tv_nsec += (long)((at - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	}
	stop = p->stop;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static void *
pump_main(void *arg)
{
	struct event_pump		*p = arg;
	struct event_pump_report	 rep;
	struct db			*db;
	uint64_t			 start;

	/* The copy may wait a little; the tracking threads' answers may
	 * not: when the CPU is short, the pixel wins it. */
	if (background_lower_priority() == -1)
		log_warn("event pump: setpriority");
	db = db_open(&p->conf->redis);
	for (start = mono_ms(); !pump_sleep(p, start + PUMP_INTERVAL_MS);) {
		start = mono_ms();
		if (event_pump_run(db, p->conf->node_id, &rep) == -1 &&
		    mono_ms() - p->warned_ms > 60000) {
			/* Once a minute at most: Redis down says it
			 * elsewhere. */
			p->warned_ms = mono_ms();
			log_warnx("event pump: redis failed; trying again");
		}
	}
	db_close(db);
	return NULL;
}

struct event_pump *
event_pump_start(const struct config *conf)
{
	struct event_pump	*p;
	pthread_condattr_t	 ca;

	p = xcalloc(1, sizeof(*p));
	p->conf = conf;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((errno = pthread_create(&p->thread, NULL, pump_main, p)) != 0)
		fatal("event pump: pthread_create");
	return p;
}

void
event_pump_stop(struct event_pump *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
