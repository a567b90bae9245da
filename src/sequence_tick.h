/*
 * sequence_tick.h: the due-step job (sequence_tick.c), run by every
 * fanfared node once a second on an API worker (api_sequence.c).
 */
#ifndef FANFARE_SEQUENCE_TICK_H
#define FANFARE_SEQUENCE_TICK_H

#include <stdint.h>

struct db;

struct sequence_tick_report {
	long long	sequences;	/* active ones looked at */
	long long	claimed;	/* enrollments due and claimed */
	long long	queued;		/* steps put in a campaign's queue */
	long long	skipped;	/* a condition not met */
	long long	exited;		/* ended: opt-out, bounce... */
	long long	completed;	/* past their last step */
};

/* One pass over the active sequences at now_ms, each claimed
 * enrollment held for lease_ms: 0, or -1 when Redis failed (the report
 * says what was done before). */
int	 sequence_tick_run(struct db *, uint64_t now_ms, uint64_t lease_ms,
	    struct sequence_tick_report *);

#endif
