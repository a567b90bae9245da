/*
 * store_event.h: a tenant's event log {t:T}:events in Redis
 * (store_event.c): what GET /v1/events pages through and the webhooks
 * deliver.  One stream per tenant; each entry is one event: `e` its
 * JSON text as delivered (event.h), `ty` its type, `c` its contact id
 * (or empty), `ca` its campaign id (or empty).  The entry id is the
 * feed's cursor.
 *
 * Producers: event_add.lua appends, with the contact's address read in
 * the same script (an erased contact gets nothing); the send outcome
 * (send_outcome.lua) and the bounce listener (bounce.lua) append their
 * own in the script that stores the outcome.  The event pump
 * (event_pump.c) copies the trackers' records from each campaign's
 * {t:T:c:C}:events, with a mark per campaign that makes a copy made
 * twice add nothing.
 *
 * Typed functions over the sync connection: -1 is always "Redis
 * failed".  No reply object leaves this file.  Storage only.
 */
#ifndef FANFARE_STORE_EVENT_H
#define FANFARE_STORE_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct db;

/* One event to append: its id and the partial JSON of event_json. */
struct event_entry {
	char		 id[EVENT_ID_MAX];
	uint64_t	 contact;	/* 0: none */
	uint64_t	 campaign;	/* 0: none */
	enum event_type	 type;
	char		*json;		/* event_json's, the caller's */
};

/* Appends one event (a producer's: a signup form, an API opt-out):
 * 1 added, 0 when its contact is gone (nothing written), -1. */
int	 store_event_add(struct db *, uint64_t tenant, const struct event_fields *,
	    const char *id);

/* The pump's step: appends n events copied from campaign's stream up
 * to its entry mark, unless the mark was reached before: the number
 * added (0 when already), or -1. */
long long store_event_add_pumped(struct db *, uint64_t tenant,
	    uint64_t campaign, const char *mark,
	    const struct event_entry *, size_t n);

/* A page of the feed, oldest first. */
struct event_page {
	char		**items;	/* each event's JSON text */
	size_t		  n;
	char		  next[EVENT_CURSOR_MAX];	/* "": none */
};

/*
 * At most limit events after the entry cursor (NULL or "": from the
 * oldest), of the types in mask, of campaign (0: any).  next is the
 * last entry looked at (so a client polls on from there, even when a
 * filter kept nothing), or the cursor given when there was none; "" on
 * an empty log and no cursor.  A filter reads at most a bounded number
 * of entries per call: a page may hold fewer than limit items with
 * more behind next.  0 or -1.
 */
int	 store_event_page(struct db *, uint64_t tenant, const char *cursor,
	    unsigned mask, uint64_t campaign, size_t limit,
	    struct event_page *);
void	 event_page_free(struct event_page *);

/* Erasure: deletes every entry about the contact (the whole log is
 * read in pages; retention bounds it), with the count in *n.  0 or
 * -1. */
int	 store_event_erase(struct db *, uint64_t tenant, uint64_t contact,
	    long long *n);

/* Retention: removes the entries older than cutoff_ms (exactly, as
 * the campaigns' streams: the janitor runs every 10 minutes); how many,
 * or -1. */
long long store_event_trim(struct db *, uint64_t tenant, uint64_t cutoff_ms);

/* ---------------------------------------------------- the event pump */

/* The tenant's pump lease for node: 1 held (taken or renewed for
 * ttl_ms), 0 another node's, -1. */
int	 store_event_lease(struct db *, uint64_t tenant, const char *node,
	    int ttl_ms);

/* The pump's marks of n campaigns (the last entry copied of each) into
 * marks, "" when none: one HMGET.  0 or -1. */
int	 store_event_marks(struct db *, uint64_t tenant,
	    const uint64_t *campaigns, size_t n,
	    char (*marks)[EVENT_CURSOR_MAX]);

/* Entries of {t:T:c:C}:events after the entry after ("": from the
 * first), at most count. */
struct record_entry {
	char	 id[EVENT_CURSOR_MAX];
	char	*text;		/* the record lines */
	size_t	 len;
};
struct record_batch {
	struct record_entry	*entries;
	size_t			 n;
};
int	 store_event_records(struct db *, uint64_t tenant, uint64_t campaign,
	    const char *after, size_t count, struct record_batch *);
/* The same for n campaigns at once, each after its mark, pipelined
 * (one round trip per Redis node): batches[i] for campaigns[i].  0, or
 * -1 (every batch empty). */
int	 store_event_records_many(struct db *, uint64_t tenant,
	    const uint64_t *campaigns, char (*marks)[EVENT_CURSOR_MAX],
	    size_t n, size_t count, struct record_batch *batches);
void	 record_batch_free(struct record_batch *);

/* The URL of the campaign's link index into a malloc'ed *url (NULL
 * when the link is not in the table): 0 or -1. */
int	 store_event_link(struct db *, uint64_t tenant, uint64_t campaign,
	    uint64_t link, char **url);

#endif
