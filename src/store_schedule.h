/*
 * store_schedule.h: a campaign's schedule and A/B test, in Redis: their
 * fields of the record {t:T}:camp:C (send_at, local_time, timezone, ab
 * and the test's outcome), the node-wide due sets ff:scheduled and
 * ff:ab_due ("T:C" by time), the script schedule.lua (a draft becomes
 * "scheduled") and ab_release.lua (a winner's rest queued).
 *
 * Typed functions over the sync connection: -1 when Redis failed, never
 * for "not found"; no reply object leaves store_schedule.c.  What is
 * due and what to do about it is api_schedule.c's.
 */
#ifndef FANFARE_STORE_SCHEDULE_H
#define FANFARE_STORE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "abtest.h"
#include "tzsched.h"

struct db;
struct launch_result;
struct sending_campaign;

/* A campaign's schedule and test, as stored (store_schedule_free). */
struct campaign_schedule {
	uint64_t	 send_at;	/* ms; 0: none */
	int		 local_time;	/* second of the day; -1: none */
	char		 timezone[TZ_NAME_MAX + 1];	/* "": UTC */
	char		*ab;		/* the test, JSON; NULL: none */
	uint64_t	 launched_at;	/* ms; 0: not launched */
	long long	 total;		/* the list's size at launch */
	int		 ab_winner;	/* 0: not chosen yet */
	uint64_t	 ab_decided_at;	/* ms */
	/* The figures the winner was chosen on, by variant (index 0 is
	 * variant 1); ab_queued grows as the test share is queued. */
	struct ab_figures ab_fig[AB_MAX_VARIANTS];
	long long	 ab_queued[AB_MAX_VARIANTS];
	long long	 ab_sent[AB_MAX_VARIANTS];
};

void	 campaign_schedule_init(struct campaign_schedule *);
/* Pure: one field of the record into s (unknown ones ignored); the
 * unit test's and store_schedule_get's. */
void	 campaign_schedule_field(struct campaign_schedule *, const char *f,
	    size_t flen, const char *v, size_t vlen);
void	 store_schedule_free(struct campaign_schedule *);

/* Writes the schedule's fields into the campaign's record (a draft's,
 * just made); 0 or -1. */
int	 store_schedule_set(struct db *, uint64_t tenant, uint64_t campaign,
	    const struct campaign_schedule *);
/* 1 with s filled, 0 when there is no such campaign, -1. */
int	 store_schedule_get(struct db *, uint64_t tenant, uint64_t campaign,
	    struct campaign_schedule *s);

/*
 * A draft whose send_at is still to come becomes "scheduled" (its list
 * and template checked as launch checks them; with segment set and list
 * 0, no list: a segment of every contact): 1 with r->verdict
 * LAUNCH_OK, or another verdict of store_launch.h; 0 when send_at has
 * come already (launch it now); -1.
 */
int	 store_schedule(struct db *, uint64_t tenant, uint64_t campaign,
	    uint64_t list, uint64_t template_id, int segment, uint64_t now_ms,
	    struct launch_result *r);

/* The due sets: ff:scheduled (launches) and ff:ab_due (A/B winners). */
enum due_set {
	DUE_LAUNCH,
	DUE_AB
};

/* Adds (or moves) the campaign to at (ms); 0 or -1. */
int	 store_due_add(struct db *, enum due_set, uint64_t tenant,
	    uint64_t campaign, uint64_t at_ms);
int	 store_due_remove(struct db *, enum due_set, uint64_t tenant,
	    uint64_t campaign);
/* Those due at now_ms, at most max, in *out (the caller frees); 0, -1. */
int	 store_due_list(struct db *, enum due_set, uint64_t now_ms,
	    size_t max, struct sending_campaign **out, size_t *n);

/*
 * The A/B test's human figures of each variant, now: how many were
 * sent (ab_sent:V) and how many of those opened or clicked as humans
 * (the tracking's openers and clickers sets, machine hits not in them,
 * matched with the campaign's contact → variant map).  Reads sets as
 * large as the test's human openers: for the due job and for the GET of
 * an undecided test, never the hot path.  0 or -1.
 */
int	 store_ab_figures(struct db *, uint64_t tenant, uint64_t campaign,
	    int nvariants, struct ab_figures *fig);

/*
 * Sets the winner (once: a winner already set stays, and is answered in
 * *winner) with the figures, and moves at most max batches of the held
 * rest into the queue as the winner's; *left: batches still held.  0
 * or -1.
 */
int	 store_ab_release(struct db *, uint64_t tenant, uint64_t campaign,
	    int winner, const struct ab_figures *fig, int nvariants,
	    uint64_t now_ms, int max, int *winner_out, long long *left);

#endif
