/*
 * sequence_tick.c: the due-step job: sends each sequence's due steps.
 *
 * DESIGN.  Nodes are stateless and any number run this job, so it
 * holds nothing between passes and never scans the enrollments: for
 * each active sequence (ff:sequences) it claims what is due by now from
 * the sorted set {t:T}:sequence:S:due, at most SEQUENCE_CLAIM_MAX at a
 * time, in one script that moves them to {t:T}:sequence:S:flight with
 * a lease (store_sequence.h).  A pass costs O(active sequences + due
 * enrollments), never O(enrolled).
 *
 * For each claimed enrollment at step k it judges k's condition on step
 * k - 1 from the step k - 1 campaign's human openers or clickers (the
 * tracker keeps machine hits, such as a mail scanner's prefetch, out of
 * those sets), then one script per step moves them all: checked (an
 * opt-out, bounce, complaint, quarantine or erasure ends the
 * enrollment), queued to step k's hidden campaign when the condition
 * holds, the next step due.  The senders then send it like any
 * campaign's mail, checking everything again at send time.
 *
 * Crashes.  A node killed after a claim leaves its enrollments in
 * flight: any node claims them again once the lease (claim_idle) ends.
 * The move is one script and only from step k, and a contact's bit in
 * the step campaign's queued bitmap queues it once, so a step is never
 * queued twice; a kill -9 only delays the claimed ones by the lease.
 */
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "sequence_tick.h"
#include "store_sequence.h"

#define TICK_ROUNDS	16	/* claims per sequence per pass, at most */

/* Step k of the claimed enrollments at step k. */
static int
tick_step(struct db *db, uint64_t tenant, const struct sequence_record *r,
    uint32_t k, const struct sequence_claim *cl, uint64_t now,
    uint64_t *ids, int *send, int *hit, struct sequence_tick_report *rep)
{
	struct sequence_advance	 a;
	enum sequence_if	 cond = r->steps[k].cond;
	long long		 next;
	size_t			 i, n = 0;
	int			 clicks;

	for (i = 0; i < cl->n; i++)
		if (cl->steps[i] == k)
			ids[n++] = cl->ids[i];
	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		send[i] = hit[i] = 0;
	if (k == 0 || cond == SEQUENCE_IF_ALWAYS)
		for (i = 0; i < n; i++)
			send[i] = 1;
	else {
		clicks = cond == SEQUENCE_IF_CLICKED ||
		    cond == SEQUENCE_IF_NOT_CLICKED;
		if (store_sequence_hits(db, tenant, r->steps[k - 1].campaign,
		    clicks, ids, n, hit) == -1)
			return -1;
		for (i = 0; i < n; i++)
			send[i] = sequence_if_met(cond, hit[i], hit[i]);
	}
	next = k + 1 < r->nsteps ? (long long)r->steps[k + 1].delay_ms : -1;
	if (store_sequence_advance(db, tenant, r->id, k, next,
	    r->steps[k].campaign, ids, send, n, now, &a) == -1)
		return -1;
	rep->queued += a.queued;
	rep->skipped += a.skipped;
	rep->exited += a.exited;
	rep->completed += a.completed;
	return 0;
}

static int
tick_sequence(struct db *db, const struct sequence_ref *ref, uint64_t now,
    uint64_t lease_ms, struct sequence_claim *cl, uint64_t *ids, int *send,
    int *hit, struct sequence_tick_report *rep)
{
	struct sequence_record	 r;
	uint32_t		 k;
	int			 rc, round;

	if ((rc = store_sequence_get(db, ref->tenant, ref->sequence, &r)) ==
	    -1)
		return -1;
	if (rc == 0)		/* deleted with its tenant */
		return store_sequence_active_remove(db, ref->tenant,
		    ref->sequence);
	rep->sequences++;
	for (round = 0, rc = 0; round < TICK_ROUNDS && rc == 0; round++) {
		if ((rc = store_sequence_claim(db, ref->tenant, r.id, now,
		    SEQUENCE_CLAIM_MAX, lease_ms, cl)) != 1)
			break;
		rc = 0;
		rep->claimed += (long long)cl->n;
		for (k = 0; k < r.nsteps && rc == 0; k++)
			rc = tick_step(db, ref->tenant, &r, k, cl, now, ids,
			    send, hit, rep);
		if (cl->n < SEQUENCE_CLAIM_MAX)
			break;
	}
	store_sequence_free(&r);
	return rc == -1 ? -1 : 0;
}

int
sequence_tick_run(struct db *db, uint64_t now, uint64_t lease_ms,
    struct sequence_tick_report *rep)
{
	struct sequence_ref	*all = NULL;
	struct sequence_claim	*cl;
	uint64_t		*ids;
	int			*send, *hit;
	size_t			 n, i;
	int			 rc = 0;

	memset(rep, 0, sizeof(*rep));
	if (store_sequence_active_all(db, &all, &n) == -1)
		return -1;
	cl = xcalloc(1, sizeof(*cl));
	ids = xcalloc(SEQUENCE_CLAIM_MAX, sizeof(*ids));
	send = xcalloc(SEQUENCE_CLAIM_MAX, sizeof(*send));
	hit = xcalloc(SEQUENCE_CLAIM_MAX, sizeof(*hit));
	/* One sequence's failure (its slot's master down) leaves the
	 * others to go on. */
	for (i = 0; i < n; i++)
		if (tick_sequence(db, &all[i], now, lease_ms, cl, ids, send,
		    hit, rep) == -1)
			rc = -1;
	free(hit);
	free(send);
	free(ids);
	free(cl);
	free(all);
	return rc;
}
