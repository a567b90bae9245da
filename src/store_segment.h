/*
 * store_segment.h: a tenant's segments in Redis, and a segment's
 * evaluation over the tenant's contacts, a page at a time.
 *
 * A segment is the hash {t:T}:seg:ID (def: its canonical JSON,
 * created_at, updated_at) and its place in {t:T}:segs; ids come from
 * the "segment" field of {t:T}:seq.
 *
 * Evaluation never holds more than a page: a page is one SSCAN (a
 * list's members) or HSCAN ({t:T}:ct:bykey, every contact) of
 * STORE_SEGMENT_PAGE, then one pipelined round trip that reads each
 * contact's hash and asks each set the segment names (segment_sets)
 * about the whole page at once: SMISMEMBER of a list's members, of a
 * campaign's openers or clickers ({t:T:c:C}, another Redis Cluster
 * slot: a command of its own), HMGET of its message record.  A contact
 * gone between the scan and the read matches nothing.
 *
 * Typed functions over the sync connection: -1 is always "Redis
 * failed", which the API answers with 503; "no such segment" is 0.  No
 * reply object leaves this file.  Storage only: the rules are
 * segment.c's, answers the API's.
 */
#ifndef FANFARE_STORE_SEGMENT_H
#define FANFARE_STORE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct segment;

#define STORE_SEGMENT_PAGE	1000	/* SSCAN/HSCAN COUNT */
#define STORE_SEGMENT_CURSOR	32	/* a cursor, NUL included */

/* A new segment of definition def (canonical JSON text); 0 with *id, or
 * -1. */
int	 store_segment_create(struct db *, uint64_t tenant, const char *def,
	    uint64_t now_ms, uint64_t *id);
/* 1 with its definition in *def (the caller frees) and its times, 0
 * when there is no such segment, -1. */
int	 store_segment_get(struct db *, uint64_t tenant, uint64_t id,
	    char **def, uint64_t *created_at, uint64_t *updated_at);
/* Replaces the definition: 1, 0 when there is no such segment, -1. */
int	 store_segment_update(struct db *, uint64_t tenant, uint64_t id,
	    const char *def, uint64_t now_ms);
/* 1 removed, 0 when there was no such segment, -1. */
int	 store_segment_delete(struct db *, uint64_t tenant, uint64_t id);
/* The tenant's segment ids, ascending, in *ids (the caller frees); 0 or
 * -1. */
int	 store_segment_ids(struct db *, uint64_t tenant, uint64_t **ids,
	    size_t *n);

/* Where a scan walks: the members of list, or (list 0) every contact. */
struct segment_scan {
	uint64_t	 list;
	char		 cursor[STORE_SEGMENT_CURSOR];	/* "0" at first */
	int		 done;		/* the last page was read */
	size_t		 seen;		/* ids looked at so far */
	size_t		 skipped;	/* members that are no contact id */
};

/*
 * One page from scan->cursor: the ids of the page's contacts that match
 * seg in *ids (the caller frees; *n of them), the cursor moved on (done
 * set after the last page).  0, or -1.
 */
int	 store_segment_page(struct db *, uint64_t tenant,
	    const struct segment *, struct segment_scan *, uint64_t **ids,
	    size_t *n);

/* Every page: the number of contacts that match, in *count; 0, or -1. */
int	 store_segment_count(struct db *, uint64_t tenant,
	    const struct segment *, uint64_t list, long long *count);

#endif
