/*
 * sender_sched.h: which tenant a sender thread may serve now, so that no
 * tenant's work can hold every sender (sender_sched.c).
 *
 * Pure bookkeeping, no lock, no I/O, no clock: the sender pool keeps
 * one under its own mutex, tells it what the threads see (the campaigns
 * in ff:sending, a queue found empty or not) and do (a batch begun or
 * ended), and passes the time in.  tests/test_sender_sched.c checks it.
 *
 * The rule (README, "Fair sending"):
 *  - a tenant has work while one of its sending campaigns is not known
 *    to be idle: a thread found nothing to take in its queue less than
 *    SENDER_SCHED_IDLE_MS ago;
 *  - while another tenant has work, a tenant may hold at most
 *    ceil(senders / 2) senders (one of two, two of four...); alone, all
 *    of them;
 *  - a tenant with work and no sender is starving: a sender of the tenant
 *    that holds the most senders hands its entry back after the chunk it
 *    is on (it is taken up again later, nobody mailed twice), and so
 *    does a sender of a tenant over its share.
 * Each thread also takes entries round-robin across tenants, one entry
 * per tenant per turn however many campaigns it has (sender.c).
 */
#ifndef FANFARE_SENDER_SCHED_H
#define FANFARE_SENDER_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define SENDER_SCHED_IDLE_MS	5000	/* an empty queue, believed for */

struct sender_sched;

struct sender_sched	*sender_sched_new(int senders);
void			 sender_sched_free(struct sender_sched *);

/* The campaigns now in ff:sending (tenants[i], campaigns[i]); what was
 * known of those already there is kept. */
void	 sender_sched_campaigns(struct sender_sched *,
	    const uint64_t *tenants, const uint64_t *campaigns, size_t n,
	    uint64_t now_ms);

/* A thread looked at a campaign: it took an entry (work 1), or found
 * nothing it could send (work 0: empty queue, paused, not loadable). */
void	 sender_sched_found(struct sender_sched *, uint64_t tenant,
	    uint64_t campaign, int work, uint64_t now_ms);

/* 1, counted as one more sender of tenant, when it is within its share;
 * 0 when it must leave the tenant's campaigns to the others now. */
int	 sender_sched_enter(struct sender_sched *, uint64_t tenant);
void	 sender_sched_leave(struct sender_sched *, uint64_t tenant);

/* 1 when a sender of tenant should hand its entry back now (between
 * two chunks): over its share, or another tenant is starving and this
 * one holds the most senders. */
int	 sender_sched_yield(const struct sender_sched *, uint64_t tenant);

/* 1 (and not again for every_ms) when a campaign with nothing to take
 * is due for its retry pump and end check: once for all the senders,
 * and 1 for a campaign not known yet. */
int	 sender_sched_pump_due(struct sender_sched *, uint64_t tenant,
	    uint64_t campaign, uint64_t now_ms, uint64_t every_ms);

/* The senders tenant may hold now, and how many it holds. */
int	 sender_sched_share(const struct sender_sched *, uint64_t tenant);
int	 sender_sched_running(const struct sender_sched *, uint64_t tenant);

#endif /* FANFARE_SENDER_SCHED_H */
