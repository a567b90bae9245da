/*
 * janitor.h: retention and scheduled tenant purges (janitor.c), run by
 * fanfared on a timer and by `fanfarectl janitor` on demand.
 */
#ifndef FANFARE_JANITOR_H
#define FANFARE_JANITOR_H

#include <stdint.h>

struct db;

struct janitor_report {
	long long	tenants_purged;
	long long	keys_purged;
	long long	streams;		/* event streams looked at */
	long long	entries_trimmed;	/* stream entries removed */
	long long	messages_trimmed;	/* message records removed */
};

/* One run: the purges due at now_ms, then every tenant's retention.
 * 0, or -1 when Redis failed (the report says what was done before). */
int	 janitor_run(struct db *, uint64_t now_ms, struct janitor_report *);
/* fanfared's periodic run: janitor_run, and a log line of what it did
 * or of its failure. */
void	 janitor_tick(struct db *);

#endif
