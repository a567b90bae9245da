/*
 * store_send.h: what sending does to a campaign in Redis, through the
 * scripts send_check.lua, send_outcome.lua, send_retry.lua and
 * send_finish.lua (script.h).  The queue they work from is
 * store_queue.h's; sender.c's DESIGN comment says when each runs.
 *
 * Every key a script touches is the tenant's ({t:T}...), so each runs
 * in one Redis Cluster slot:
 *  - send_check: at the moment of sending, one round trip per chunk of
 *    an entry: the campaign still sending and the tenant active, then
 *    per recipient: not final already (done bitmap) nor waiting for a
 *    retry, contact not erased, not quarantined (special category), not
 *    opted out (by id from /u/, by address, or erased before and
 *    imported again), not bounced before, address and domain not on the
 *    blocklist.  A suppressed recipient is made final there (done bit)
 *    and counted by reason.
 *  - send_outcome: what the relay said of one message, pipelined (one
 *    call per message, pushed to the socket without waiting; replies
 *    read once the batch is over).  A call that finds the script
 *    missing (NOSCRIPT: a flushed or failed-over Redis) is sent again in
 *    full, synchronously, with store_send_outcome.
 *  - send_retry: due retries back into the queue, one entry at a time.
 *  - send_finish: the campaign done when nothing is left to send.
 *
 * send_outcome also writes the message record ({t:T}:camp:C:msgs:
 * contact id -> "TIME OUTCOME"), the subject export's "messages", in
 * the same call, while the contact exists (an erased contact's late
 * outcome counts, but names nobody); and writes nothing at all once the
 * campaign or its tenant is gone (a purge).  The janitor trims the
 * records by the tenant's retention (store_send_trim_messages).
 *
 * Typed functions over the sync connection, for sender.c: -1 when Redis
 * failed (no answer, or an error reply, logged here).  No reply object
 * leaves store_send.c.  Storage only: nothing here knows SMTP.
 */
#ifndef FANFARE_STORE_SEND_H
#define FANFARE_STORE_SEND_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define SEND_CHECK_MAX		128	/* recipients of one check */

/* A recipient's fields, in send_check.lua's order (smtp_message.h's
 * enum smtp_field is the same). */
#define SEND_CHECK_FIELDS	7	/* email, key, first_name, last_name,
					 * gender, date_of_birth, attributes
					 * (a JSON object) */

struct send_recipient {
	uint64_t	 id;
	const char	*field[SEND_CHECK_FIELDS];	/* NUL-terminated;
							 * "": none */
	size_t		 len[SEND_CHECK_FIELDS];
};

/*
 * A check's answer.  Zero it before the first check; each check reuses
 * its memory (the recipients' fields live in it until the next check or
 * store_send_check_free).
 */
struct send_check {
	int			 stop;	/* the campaign is not sending, or
					 * its tenant not active: nothing
					 * was checked */
	struct send_recipient	*to;	/* the recipients to send to */
	size_t			 nto;
	char			*text;	/* their fields */
	size_t			 text_cap;
};

/* Checks ids (nids <= SEND_CHECK_MAX) of the campaign now: 0 with c
 * filled, or -1. */
int	 store_send_check(struct db *, uint64_t tenant, uint64_t campaign,
	    const uint64_t *ids, size_t nids, struct send_check *c);
/* The same for a form's confirmation campaign (store_form.h): the ids
 * are pending sign-ups, read from {t:T}:signup:ID, whose fields are a
 * contact's (one gone, expired or confirmed, counts as erased). */
int	 store_send_check_signups(struct db *, uint64_t tenant,
	    uint64_t campaign, const uint64_t *ids, size_t nids,
	    struct send_check *c);
/* The same for a system campaign (store_sysmail.h): the ids are account
 * mails, read from {t:T}:sysmail:ID (one gone counts as erased); a
 * transactional one (a password reset) skips the opt-out and complaint
 * checks, never the others. */
int	 store_send_check_sysmail(struct db *, uint64_t tenant,
	    uint64_t campaign, const uint64_t *ids, size_t nids,
	    struct send_check *c);
void	 store_send_check_free(struct send_check *);

/* One message's outcome, as send_outcome.lua takes it. */
struct send_outcome {
	uint64_t	 tenant, campaign, contact;
	char		 what;		/* s sent, b bounced, f failed, t try
					 * again, r requeue (never reached
					 * the relay: not a try) */
	const char	*status;	/* b: the relay's enhanced status
					 * code ("5.1.1"), the bounced
					 * event's; NULL or "" otherwise */
	const char	*key;		/* the normalised address: bounces */
	size_t		 key_len;
	uint64_t	 now_ms;	/* wall clock */
	uint64_t	 lifetime_ms;	/* retry_lifetime */
	const int	*schedule;	/* retry_schedule, seconds */
	size_t		 nschedule;	/* at most FF_MAX_RETRIES */
};

/*
 * store_send_outcome_append appends the outcome to the caller's
 * pipeline (EVALSHA, or EVAL with the script's text when full_text: a
 * chunk's first, so that the EVALSHAs behind it find the script) and
 * pushes the pipeline to Redis now, without waiting: 0, or
 * -1 when the connection is gone (the whole pipeline dropped).  Its
 * reply, read in its turn with store_send_outcome_reply: 0, with
 * *noscript set when the script was missing (write it again with
 * store_send_outcome), or -1 when Redis failed (and the rest of the
 * pipeline with it).
 *
 * store_send_outcome writes it at once, with the script's whole text:
 * 0 or -1.
 */
int	 store_send_outcome_append(struct db *, const struct send_outcome *,
	    int full_text);
int	 store_send_outcome_reply(struct db *, int *noscript);
int	 store_send_outcome(struct db *, const struct send_outcome *);

/* Puts the campaign's retries due by now_ms back into its queue: how
 * many (0 when it is not sending), or -1. */
long long store_send_retry_due(struct db *, uint64_t tenant,
	    uint64_t campaign, uint64_t now_ms);

/* Marks the campaign done (at now_ms) when nothing is left to send:
 * 1 done now, 0 not, -1.  The caller then takes it out of ff:sending
 * (store_launch.h). */
int	 store_send_finish(struct db *, uint64_t tenant, uint64_t campaign,
	    uint64_t now_ms);

/* Retention of the campaign's message records ({t:T}:camp:C:msgs):
 * removes those older than cutoff_ms (all at once when the campaign
 * finished before it); how many, or -1. */
long long store_send_trim_messages(struct db *, uint64_t tenant,
	    uint64_t campaign, uint64_t cutoff_ms);

#endif
