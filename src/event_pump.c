/*
 * event_pump.c: puts the trackers' per-person records in each tenant's
 * event log by reference, so that the pixel and click path gains
 * nothing: the shipper (store.c, record.lua) already writes every
 * human or machine open, click and link opt-out of a campaign, as
 * record lines in {t:T:c:C}:events; DNT/GPC hits are never there, so
 * they make no event here either.
 *
 * DESIGN.  Once a second, on a thread of its own with its own Redis
 * connection, at a lower priority than the tracking threads
 * (background.c: when the CPU is short the pixel wins it, the pump
 * catches up in the gaps), for each tenant: a lease
 * ({t:T}:events:lease, the node_id, 10 s) shares the tenants among the
 * nodes; the node holding it reads each campaign's stream past the
 * tenant's mark for that campaign ({t:T}:events:pumped), and appends
 * one reference entry per run of consecutive stream entries (whole
 * entries, up to PUMP_REF_MAX records) through event_add.lua, with the
 * last entry's id as the new mark.  The script adds it only when the
 * mark moves forward, in the same step, in the tenant's slot: a step
 * made twice (a kill -9 between the read and the reply, a lease that
 * changed hands mid-run) adds nothing, so each record is referred to
 * once.  The events themselves are made by whoever reads the log
 * (store_event_read: the feed, the webhooks), with ids from where each
 * record is (campaign, entry, line) and the contact's address at that
 * moment (none for an erased contact: no event).
 *
 * Not copying is the point: a copy cost Redis an entry, a script's
 * string work and a consumer group's bookkeeping per hit, which the
 * pixel paid for on a shared machine (README, "Benchmark").
 *
 * Cost, per tenant held and second: the lease, the campaign ids, then
 * per 256 campaigns one HMGET of the marks and one pipeline of XRANGEs
 * (a round trip per Redis node), plus a script call per reference.
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
#define PUMP_GROUP		256	/* campaigns read in one pipeline */
#define PUMP_REF_MAX		1000	/* records per reference */

struct pump_walk {
	struct db			*db;
	const char			*node;
	struct event_pump_report	*report;
};

/* The records in one entry's lines (a line erase.lua blanked is
 * none). */
static size_t
entry_records(const struct record_entry *r)
{
	struct event_record	 rec;
	const char		*p, *end, *nl;
	size_t			 n = 0;

	for (p = r->text, end = r->text + r->len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (event_record_parse(p, (size_t)(nl - p), &rec) == 0)
			n++;
	}
	return n;
}

/*
 * One batch of a campaign's record entries: a reference to consecutive
 * entries (up to PUMP_REF_MAX records, whole entries only), with the
 * last entry's id as the mark, so a step moves the mark past every
 * entry it covers or past none.  0 or -1.
 */
static int
pump_batch(struct pump_walk *w, uint64_t tenant, uint64_t campaign,
    const struct record_batch *b, char mark[EVENT_CURSOR_MAX])
{
	size_t		 i, first, nrec = 0;
	int		 added;

	for (first = i = 0; i < b->n; i++) {
		nrec += entry_records(&b->entries[i]);
		/* An entry with no record still moves the mark. */
		if (i + 1 < b->n && nrec < PUMP_REF_MAX)
			continue;
		if ((added = store_event_add_ref(w->db, tenant, campaign,
		    b->entries[first].id, b->entries[i].id, nrec,
		    i + 1 - first)) == -1)
			return -1;
		w->report->entries += (long long)(i + 1 - first);
		w->report->added += added ? (long long)nrec : 0;
		snprintf(mark, EVENT_CURSOR_MAX, "%s", b->entries[i].id);
		first = i + 1;
		nrec = 0;
	}
	return 0;
}

/* One campaign, from the batch read for it (first) on, a bounded
 * number of steps: 0 or -1. */
static int
pump_campaign(struct pump_walk *w, uint64_t tenant, uint64_t campaign,
    char mark[EVENT_CURSOR_MAX], const struct record_batch *first)
{
	struct record_batch	 b;
	int			 step, rc;
	size_t			 n = first->n;

	rc = pump_batch(w, tenant, campaign, first, mark);
	for (step = 1; rc == 0 && n == PUMP_ENTRIES && step < PUMP_STEPS;
	    step++) {
		if (store_event_records(w->db, tenant, campaign, mark,
		    PUMP_ENTRIES, &b) == -1) {
			rc = -1;
			break;
		}
		rc = pump_batch(w, tenant, campaign, &b, mark);
		n = b.n;
		record_batch_free(&b);
	}
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
