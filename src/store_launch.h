/*
 * store_launch.h: a campaign's launch, its list snapshot and its state
 * changes, in Redis, through the scripts launch.lua, launch_step.lua and
 * launch_state.lua (script.h); a snapshot's lease, {t:T}:camp:C:scan;
 * and ff:sending, the set of campaigns the senders look at.
 * api_launch.c's DESIGN comment says how a snapshot goes; this file
 * runs one step of it.
 *
 * Typed functions over the sync connection: -1 when Redis failed (no
 * answer, or an error reply, which is logged here), and otherwise a
 * verdict in a struct: a campaign in the wrong state or not found is
 * never -1.  No reply object leaves store_launch.c.  Storage only:
 * nothing here knows the API.
 */
#ifndef FANFARE_STORE_LAUNCH_H
#define FANFARE_STORE_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct segment;

#define LAUNCH_CURSOR_MAX	32	/* an SSCAN cursor, NUL included */
#define LAUNCH_STATE_MAX	32	/* a campaign status, NUL included */

enum launch_verdict {
	LAUNCH_OK,		/* sending; total recipients in count */
	LAUNCH_STATE,		/* not a draft: its status in state */
	LAUNCH_NO_LIST,		/* its list is gone */
	LAUNCH_NO_TEMPLATE,	/* its template is gone */
	LAUNCH_TENANT,		/* the tenant is not active */
	LAUNCH_NOT_FOUND	/* no such campaign */
};

struct launch_result {
	enum launch_verdict	 verdict;
	char			 state[LAUNCH_STATE_MAX];
	long long		 count;
};

/*
 * Launches a draft whose list and template are given (its record's):
 * the queue and its bitmap start empty, the status is "sending", the
 * snapshot's cursor is 0.  The caller then adds it to ff:sending and
 * runs the snapshot's steps.  0 with r filled, or -1.  segment_def (or
 * NULL) is the campaign's segment as checked now, frozen into the
 * record for the snapshot (list 0: a segment of every contact); count
 * is then 0, the total being known at the snapshot's end.
 */
int	 store_launch(struct db *, uint64_t tenant, uint64_t campaign,
	    uint64_t list, uint64_t template_id, const char *segment_def,
	    uint64_t now_ms, struct launch_result *r);

/* The due job's launch of a "scheduled" campaign (api_schedule.c):
 * as store_launch (segment_def: its segment as checked at the due
 * time, frozen then), from "scheduled" and only once its send_at has
 * come (else LAUNCH_STATE "scheduled").  Of several nodes, one gets
 * LAUNCH_OK: the status changes in the script. */
int	 store_launch_due(struct db *, uint64_t tenant, uint64_t campaign,
	    uint64_t list, uint64_t template_id, const char *segment_def,
	    uint64_t now_ms, struct launch_result *r);

/*
 * Sets the status to to when it is one of from (nfrom of them), in one
 * script, since the senders set "done" concurrently: LAUNCH_OK (with
 * the status set in state: "scheduled" for a campaign resumed before
 * its launch),
 * LAUNCH_STATE with the status found, or LAUNCH_NOT_FOUND; -1.
 */
int	 store_launch_transition(struct db *, uint64_t tenant,
	    uint64_t campaign, const char *to, const char *const *from,
	    size_t nfrom, struct launch_result *r);

enum snapshot_verdict {
	SNAPSHOT_NEXT,		/* go on at next */
	SNAPSHOT_RESTART,	/* Redis is another process: next is "0" */
	SNAPSHOT_DONE,		/* every member queued */
	SNAPSHOT_STOP,		/* the campaign is no longer sending, or
				 * its tenant no longer active */
	SNAPSHOT_COMPLETE	/* another node finished it */
};

struct snapshot_step {
	enum snapshot_verdict	 verdict;
	char			 next[LAUNCH_CURSOR_MAX];
	long long		 queued;	/* by this step */
	int			 skipped;	/* members that are no id */
};

/*
 * One page of the list's members from cursor into the campaign's
 * queue; 0 with st filled, or -1.  With seg (the record's segment_def),
 * only the page's contacts that match it, the page being the list's
 * members, or with list 0 those of the list segment_scan_list names or
 * every contact (store_segment.h).  A step that goes on also renews the
 * snapshot's lease, {t:T}:camp:C:scan = node_id for lease_ms; one that
 * ends the snapshot deletes it.  A campaign with a local_time has each
 * recipient's due time computed here (its contact's zone, else the
 * campaign's, else UTC: tzsched.h), those not due yet going to
 * {t:T}:camp:C:later; one with an A/B test has its test share split
 * among the variants and the rest held in {t:T}:camp:C:ab_rest
 * (launch_step.lua says how).
 */
int	 store_launch_step(struct db *, uint64_t tenant, uint64_t campaign,
	    uint64_t list, const struct segment *seg, const char *cursor,
	    const char *node_id, uint64_t lease_ms, struct snapshot_step *st);

/* The segment definition frozen at launch: 1 with *def (the caller
 * frees), 0 when the campaign has none, -1. */
int	 store_launch_segment_def(struct db *, uint64_t tenant,
	    uint64_t campaign, char **def);

/*
 * Whether node_id may go on with the campaign's unfinished snapshot: 1
 * when its lease was free (it is node_id's now, for lease_ms) or was
 * node_id's already (before a restart), 0 when another node holds it,
 * -1 when Redis failed.  Not one atomic step: a lease that expires in
 * between answers 0, and the next look takes it.
 */
int	 store_launch_adopt(struct db *, uint64_t tenant, uint64_t campaign,
	    const char *node_id, uint64_t lease_ms);

/* 1 when the campaign is sending or paused and its snapshot unfinished,
 * with its list (0: none, a segment's) and the cursor to go on from; 0
 * when not; -1. */
int	 store_launch_unfinished(struct db *, uint64_t tenant,
	    uint64_t campaign, uint64_t *list,
	    char cursor[LAUNCH_CURSOR_MAX]);

/* ff:sending, "T:C" a member. */
struct sending_campaign {
	uint64_t	tenant;
	uint64_t	campaign;
};

int	 store_sending_add(struct db *, uint64_t tenant, uint64_t campaign);
int	 store_sending_remove(struct db *, uint64_t tenant, uint64_t campaign);
/* Every member (those that are no "T:C" skipped), in *all (the caller
 * frees); 0 or -1. */
int	 store_sending_all(struct db *, struct sending_campaign **all,
	    size_t *n);
/*
 * Calls fn on each of the tenant's campaigns in ff:sending, a SCAN page
 * at a time, and takes it out of the set when fn returns 0; fn's -1
 * stops.  0, or -1 when Redis or fn failed.
 */
int	 store_sending_drain_tenant(struct db *, uint64_t tenant,
	    int (*fn)(void *, uint64_t campaign), void *arg);

#endif
