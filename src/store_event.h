/*
 * store_event.h: a tenant's event log {t:T}:events in Redis
 * (store_event.c): what GET /v1/events pages through and the webhooks
 * deliver.  One stream per tenant; each entry is one event: `e` its
 * JSON text as delivered (event.h), `ty` its type, `c` its contact id
 * (or empty), `ca` its campaign id (or empty).  The trackers' opens,
 * clicks and link opt-outs are not copied there: the event pump
 * appends a reference to them instead, `r` the campaign, `a` and `b`
 * the first and last entry of {t:T:c:C}:events it covers, `n` their
 * record count; readers make the events from those records when they
 * read (the contact's address then: an erased one gets none).  So the
 * pixel's hits cost Redis one small entry per pump step, not an entry,
 * a script's work and a consumer group's bookkeeping per hit.  A
 * position in the log (event.h's event_pos) is the feed's cursor and
 * each endpoint's delivery cursor.
 *
 * Producers: event_add.lua appends, with the contact's address read in
 * the same script (an erased contact gets nothing); the send outcome
 * (send_outcome.lua) and the bounce listener (bounce.lua) append their
 * own in the script that stores the outcome.  The event pump
 * (event_pump.c) adds the references, with a mark per campaign that
 * makes a step made twice add nothing.
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

/* The pump's step: a reference to campaign's record entries first to
 * mark (nrec records in nent entries; no record: only the mark moves),
 * unless the mark was reached before: 1 added, 0 not (already, or the
 * tenant is gone), or -1. */
int	 store_event_add_ref(struct db *, uint64_t tenant, uint64_t campaign,
	    const char *first, const char *mark, size_t nrec, size_t nent);

/* Events read from the log, oldest first. */
struct event_page {
	char		**items;	/* each event's JSON text */
	size_t		  n;
	char		  first[EVENT_POS_MAX];	/* where items[0] is */
	char		  next[EVENT_POS_MAX];	/* "": none */
};

/* What a read takes. */
struct event_filter {
	unsigned	 mask;		/* 1 << enum event_type */
	uint64_t	 campaign;	/* 0: any */
	uint64_t	 endpoint;	/* its test events too; 0: none */
	uint64_t	 contact;	/* 0: any */
};

/*
 * At most limit events after the position cursor (NULL or "": from the
 * oldest; a position event_pos_parse takes, else -1) that f takes,
 * looking at most at scan_max entries.  next is the position after the
 * last event looked at (so a reader goes on from there, even when f
 * kept nothing), or the cursor given when there was none; "" on an
 * empty log and no cursor.  A page may hold fewer than limit items with
 * more behind next.  0 or -1.
 */
int	 store_event_read(struct db *, uint64_t tenant, const char *cursor,
	    const struct event_filter *f, size_t limit, size_t scan_max,
	    struct event_page *);
void	 event_page_free(struct event_page *);

/* Erasure: deletes every entry about the contact (the whole log is
 * read in pages; retention bounds it), with the count in *n.  0 or
 * -1. */
int	 store_event_erase(struct db *, uint64_t tenant, uint64_t contact,
	    long long *n);
/* A data subject's access request: every entry about the contact, oldest
 * first, in page (next left ""): 0 or -1. */
int	 store_event_subject(struct db *, uint64_t tenant, uint64_t contact,
	    struct event_page *);

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
