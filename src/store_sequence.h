/*
 * store_sequence.h: a tenant's sequences (automation), in Redis: the
 * record {t:T}:sequence:S, its enrollments ({t:T}:sequence:S:enrolled,
 * one small field per contact), the due steps by time
 * ({t:T}:sequence:S:due, a sorted set) and those a node claimed
 * ({t:T}:sequence:S:flight), the index {t:T}:sequences, the trigger
 * sets {t:T}:list:L:sequences, and ff:sequences, the active ones the
 * due-step job (sequence_tick.c) looks at.
 *
 * Each step is backed by a hidden campaign ("kind" sequence_step, made
 * with the sequence): sending step k to a contact is appending it to
 * that campaign's queue, so the senders send it as any campaign's mail,
 * with every check at send time, DKIM, tracking and the campaign's own
 * counters (the step's sent, opens and clicks).  The scripts are
 * sequence_enroll.lua, sequence_claim.lua, sequence_advance.lua and
 * sequence_state.lua (script.h); each touches one tenant's keys only.
 *
 * Typed functions over the sync connection: -1 when Redis failed (no
 * answer, or an error reply, logged here); "no such sequence" is never
 * -1.  No reply object leaves store_sequence.c.  Storage only: nothing
 * here knows the API or SMTP.
 */
#ifndef FANFARE_STORE_SEQUENCE_H
#define FANFARE_STORE_SEQUENCE_H

#include <stddef.h>
#include <stdint.h>

#include "sequence.h"

struct db;

/* A step's hidden campaign's link table (the template's links a click
 * may go to; links[i] NULL skips index i), as campaigns take theirs. */
struct sequence_links {
	const char *const	*links;
	size_t			 n;
};

/* A stored sequence, as store_sequence_get fills it (the strings are
 * its own: store_sequence_free). */
struct sequence_record {
	uint64_t	 id;
	char		*name;
	char		*from;
	char		*status;	/* draft, active, paused */
	uint64_t	 trigger_list;	/* 0: none */
	uint64_t	 created_at;	/* ms */
	size_t		 nsteps;
	struct {
		uint64_t	 template_id;
		uint64_t	 delay_ms;
		enum sequence_if cond;
		uint64_t	 campaign;	/* its hidden campaign */
		long long	 skipped;	/* its condition not met */
	}		 steps[SEQUENCE_STEPS_MAX];
	long long	 enrolled, active, completed, exited;
};

/*
 * A new sequence from d (status draft) under a new id (*id), with one
 * hidden campaign per step (links[k] its link table; status paused
 * until the sequence is active), in the index, and in its trigger
 * list's set.  The caller checked that the templates and the list
 * exist.  0 or -1 (a failure may leave hidden campaigns behind, never
 * a sequence without its campaigns).
 */
int	 store_sequence_create(struct db *, uint64_t tenant,
	    const struct sequence_def *d, const struct sequence_links *links,
	    uint64_t now_ms, uint64_t *id);

/* 1 with r filled, 0 when there is no such sequence, -1. */
int	 store_sequence_get(struct db *, uint64_t tenant, uint64_t id,
	    struct sequence_record *r);
void	 store_sequence_free(struct sequence_record *);

/* The tenant's sequence ids, ascending, in *ids (the caller frees). */
int	 store_sequence_ids(struct db *, uint64_t tenant, uint64_t **ids,
	    size_t *n);

enum sequence_verdict {
	SEQUENCE_OK,
	SEQUENCE_GONE,		/* no such sequence */
	SEQUENCE_TENANT,	/* the tenant is not active */
	SEQUENCE_STATE		/* not from its status (pausing a draft) */
};

/*
 * Sets the status to "active" or "paused" with its step campaigns
 * ("sending" or "paused"), then adds it to or takes it out of
 * ff:sequences and its campaigns to or out of ff:sending.  0 with
 * *verdict, or -1.
 */
int	 store_sequence_set_state(struct db *, uint64_t tenant,
	    const struct sequence_record *r, const char *to,
	    enum sequence_verdict *verdict);

/*
 * Enrolls the n contacts ids (0: a contact not found): 1 with why[i]
 * set to NULL for each one enrolled and to a static reason for each
 * other ("not_found", "already_enrolled", "opted_out", "quarantined",
 * "bounced", "complained"), 0 when the sequence does not exist, -1.
 */
int	 store_sequence_enroll(struct db *, uint64_t tenant,
	    uint64_t sequence, const uint64_t *ids, size_t n, uint64_t now_ms,
	    const char **why);

/* The sequences that list triggers, in *ids (the caller frees). */
int	 store_sequence_triggered_by(struct db *, uint64_t tenant,
	    uint64_t list, uint64_t **ids, size_t *n);

/* ff:sequences, "T:S" a member. */
struct sequence_ref {
	uint64_t	tenant;
	uint64_t	sequence;
};
/* Every member (others skipped), in *all (the caller frees). */
int	 store_sequence_active_all(struct db *, struct sequence_ref **all,
	    size_t *n);
int	 store_sequence_active_remove(struct db *, uint64_t tenant,
	    uint64_t sequence);

#define SEQUENCE_CLAIM_MAX	1000	/* enrollments of one claim */

/* What one claim took: enrollment i is contact ids[i] at step
 * steps[i]. */
struct sequence_claim {
	uint64_t	ids[SEQUENCE_CLAIM_MAX];
	uint32_t	steps[SEQUENCE_CLAIM_MAX];
	size_t		n;
};

/*
 * Claims up to max (<= SEQUENCE_CLAIM_MAX) enrollments due by now_ms,
 * leases ended first, each for lease_ms: 1 with c filled, 0 when the
 * sequence is gone or not active or its tenant not active (nothing
 * claimed), -1.
 */
int	 store_sequence_claim(struct db *, uint64_t tenant, uint64_t sequence,
	    uint64_t now_ms, size_t max, uint64_t lease_ms,
	    struct sequence_claim *c);

/* Which of ids opened (clicked: 0) or clicked (1) campaign, humans
 * only ({t:T:c:C}:openers, :clickers): hit[i] 1 or 0.  0 or -1. */
int	 store_sequence_hits(struct db *, uint64_t tenant, uint64_t campaign,
	    int clicks, const uint64_t *ids, size_t n, int *hit);

struct sequence_advance {
	long long	queued, skipped, exited, completed;
};

/*
 * Step k of the n enrollments ids (claimed, at step k): send[i] says
 * whether its condition was met.  Those still in flight at step k are
 * checked (erased, opted out, quarantined, bounced, complained: ended),
 * queued to the step's campaign or skipped, and moved on: the next
 * step due at now + next_delay_ms, or complete when next_delay_ms is
 * -1.  0 with a filled, or -1.
 */
int	 store_sequence_advance(struct db *, uint64_t tenant,
	    uint64_t sequence, uint32_t k, long long next_delay_ms,
	    uint64_t campaign, const uint64_t *ids, const int *send, size_t n,
	    uint64_t now_ms, struct sequence_advance *a);

/* Erasure: the contact's enrollment in every sequence of the tenant is
 * removed (an active one counts as exited).  0 or -1. */
int	 store_sequence_forget_contact(struct db *, uint64_t tenant,
	    uint64_t contact);

#endif
