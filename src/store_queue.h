/*
 * store_queue.h: a campaign's recipient queue, in Redis: the stream
 * {t:T}:camp:C:q, read through its consumer group "senders" (launch.lua
 * makes both).  An entry holds up to 100 contact ids in its field "ids",
 * comma-separated: launch_step.lua adds the list's members, and
 * send_retry.lua (store_send.h) puts due retries back.
 *
 * A consumer is one sender thread, named node_id/N.  It reads its own
 * pending entries first, so after a restart it takes back what it held,
 * then new ones; a dead consumer's entries are claimed by anyone once
 * idle for claim_idle.  A live consumer claims its entry again (XCLAIM
 * JUSTID) before each chunk of it and with each outcome, so the entry
 * never looks idle to another node however slow the relay or the rate,
 * and acks it once every recipient has an outcome.
 *
 * Typed functions over the sync connection, for sender.c: -1 when Redis
 * failed (no answer, or an error reply, logged here).  A queue without
 * its group (NOGROUP: the campaign was cancelled under the sender) is
 * empty, not a failure.  No reply object leaves store_queue.c.  Storage
 * only: nothing here knows SMTP.
 */
#ifndef FANFARE_STORE_QUEUE_H
#define FANFARE_STORE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define QUEUE_ENTRY_ID_MAX	48	/* a stream id "ms-seq", NUL included */
#define QUEUE_ENTRY_IDS		128	/* ids read of one entry */

struct queue_entry {
	char		id[QUEUE_ENTRY_ID_MAX];
	uint64_t	ids[QUEUE_ENTRY_IDS];	/* its contacts, in order; an
						 * id that is no number is
						 * skipped */
	size_t		nids;			/* 0: an entry deleted
						 * meanwhile: ack it */
	int		variant;		/* an A/B test's (field v),
						 * 1..; 0: the campaign's */
};

enum queue_read {
	QUEUE_OWN,		/* the consumer's own pending entries */
	QUEUE_NEW		/* entries never delivered to the group */
};

/* Reads one entry for consumer: 1 with e filled, 0 when there is none,
 * -1. */
int	 store_queue_read(struct db *, uint64_t tenant, uint64_t campaign,
	    const char *consumer, enum queue_read, struct queue_entry *e);

/* Claims for consumer one entry idle for idle_ms or more (another
 * consumer's, dead or stuck): 1 with e filled, 0 when none, -1. */
int	 store_queue_claim_idle(struct db *, uint64_t tenant,
	    uint64_t campaign, const char *consumer, uint64_t idle_ms,
	    struct queue_entry *e);

/*
 * Claims entry for consumer again, resetting its idle time: 0 or -1.
 * store_queue_keep_append does it in the caller's pipeline instead (see
 * redis_sync.h), unsent until the next db_flush; its reply, read in its
 * turn with store_queue_keep_reply, is 0 or -1 (Redis failed, and the
 * rest of the pipeline with it).  An append that fails (-1) dropped the
 * whole pipeline.
 */
int	 store_queue_keep(struct db *, uint64_t tenant, uint64_t campaign,
	    const char *consumer, const char *entry);
int	 store_queue_keep_append(struct db *, uint64_t tenant,
	    uint64_t campaign, const char *consumer, const char *entry);
int	 store_queue_keep_reply(struct db *);

/* Acknowledges entry: it leaves the group's pending list.  0 or -1. */
int	 store_queue_ack(struct db *, uint64_t tenant, uint64_t campaign,
	    const char *entry);

/*
 * Appends one recipient to the campaign's queue, in an entry of its own,
 * and counts it in the record's queued: 0 or -1.  For a campaign whose
 * recipients come one at a time (a form's confirmation mails,
 * store_form.c) rather than from a launch's list snapshot; nothing here
 * checks the campaign's state: the senders' check does, at send time.
 */
int	 store_queue_add_one(struct db *, uint64_t tenant, uint64_t campaign,
	    uint64_t contact);

#endif
