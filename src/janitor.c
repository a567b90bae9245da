/*
 * janitor.c: retention and scheduled tenant purges, run by fanfared on a
 * timer (api.c's, every 10 minutes, as a job on one of the API's worker
 * threads, so its Redis calls never hold the main loop) and by
 * `fanfarectl janitor` on demand.
 *
 * Per tenant: the events of each campaign older than the tenant's
 * retention_days are trimmed from its stream (one command per campaign,
 * so no single call holds Redis long), and so are its message records
 * (all at once for a campaign that finished before the cutoff), and so
 * are the tenant's event log's ({t:T}:events).  Tenants whose purge time has
 * come (DELETE /v1/tenants after the grace period) lose every key
 * (store_tenant_purge).  What is in Redis is the stores': this file
 * only decides what is due.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "janitor.h"
#include "store_campaign.h"
#include "store_event.h"
#include "store_send.h"
#include "store_stats.h"
#include "store_tenant.h"

struct janitor_walk {
	struct db		*db;
	uint64_t		 now;
	struct janitor_report	*report;
};

/* Trims one tenant's event streams to its retention; store_tenant_each's
 * callback. */
static int
trim_tenant(void *arg, uint64_t tenant)
{
	struct janitor_walk	*w = arg;
	uint64_t		 days, minid, *camps;
	size_t			 i, n;
	long long		 trimmed;
	int			 rc;

	if ((rc = store_tenant_retention(w->db, tenant, &days)) != 1)
		return rc;		/* -1, or none: nothing to trim */
	minid = w->now - days * 86400000ULL;
	if (store_campaign_ids(w->db, tenant, &camps, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((trimmed = store_stats_trim_events(w->db, tenant, camps[i],
		    minid)) == -1) {
			free(camps);
			return -1;
		}
		w->report->entries_trimmed += trimmed;
		w->report->streams++;
		if ((trimmed = store_send_trim_messages(w->db, tenant,
		    camps[i], minid)) == -1) {
			free(camps);
			return -1;
		}
		w->report->messages_trimmed += trimmed;
	}
	free(camps);
	/* The tenant's event log, by the same retention. */
	if ((trimmed = store_event_trim(w->db, tenant, minid)) == -1)
		return -1;
	w->report->entries_trimmed += trimmed;
	w->report->streams++;
	return 0;
}

int
janitor_run(struct db *db, uint64_t now, struct janitor_report *out)
{
	struct janitor_walk	 w = { db, now, out };
	uint64_t		*due;
	long long		 n;
	size_t			 i, ndue;

	memset(out, 0, sizeof(*out));
	if (store_tenant_due_purges(db, now, &due, &ndue) == -1)
		return -1;
	for (i = 0; i < ndue; i++) {
		if ((n = store_tenant_purge(db, due[i])) == -1) {
			free(due);
			return -1;
		}
		out->tenants_purged++;
		out->keys_purged += n;
	}
	free(due);
	return store_tenant_each(db, trim_tenant, &w);
}

void
janitor_tick(struct db *db)
{
	struct janitor_report	 rep;

	if (janitor_run(db, now_ms(), &rep) == -1) {
		log_warnx("janitor: redis failed; trying again at the next "
		    "run");
		return;
	}
	if (rep.tenants_purged || rep.entries_trimmed ||
	    rep.messages_trimmed)
		log_info("janitor: %lld tenants purged (%lld keys), %lld event "
		    "entries and %lld message records past retention trimmed",
		    rep.tenants_purged, rep.keys_purged, rep.entries_trimmed,
		    rep.messages_trimmed);
}
