/*
 * test_sender_sched.c: sender_sched.c's rule that no tenant's work holds
 * every sender: a tenant alone takes them all; beside another tenant
 * with work, at most ceil(senders / 2); a starving tenant makes the
 * tenant holding the most senders hand one back; an empty queue is
 * believed for SENDER_SCHED_IDLE_MS, then the campaign counts again;
 * and ten thousand campaigns of one tenant change nothing of that.
 */
#include <stdint.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "sender_sched.h"

#define A	1
#define B	2
#define C	3

static void
sending(struct sender_sched *s, const uint64_t (*pairs)[2], size_t n,
    uint64_t now)
{
	uint64_t	*t = calloc(n + 1, sizeof(*t));
	uint64_t	*c = calloc(n + 1, sizeof(*c));
	size_t		 i;

	for (i = 0; i < n; i++) {
		t[i] = pairs[i][0];
		c[i] = pairs[i][1];
	}
	sender_sched_campaigns(s, t, c, n, now);
	free(t);
	free(c);
}

Test(sched, alone_takes_every_sender)
{
	static const uint64_t only_a[][2] = { { A, 10 }, { A, 11 } };
	struct sender_sched	*s = sender_sched_new(4);
	int			 i;

	sending(s, only_a, 2, 0);
	for (i = 0; i < 4; i++)
		cr_assert_eq(sender_sched_enter(s, A), 1, "sender %d", i);
	cr_assert_eq(sender_sched_enter(s, A), 0, "no fifth sender");
	cr_assert_eq(sender_sched_yield(s, A), 0);
	sender_sched_free(s);
}

Test(sched, two_senders_one_each)
{
	static const uint64_t ab[][2] = { { A, 10 }, { A, 11 }, { B, 20 } };
	struct sender_sched	*s = sender_sched_new(2);

	sending(s, ab, 3, 0);
	cr_assert_eq(sender_sched_share(s, A), 1);
	cr_assert_eq(sender_sched_enter(s, A), 1);
	cr_assert_eq(sender_sched_enter(s, A), 0, "A may not hold both");
	cr_assert_eq(sender_sched_enter(s, B), 1, "the other is B's");
	cr_assert_eq(sender_sched_enter(s, B), 0);
	sender_sched_leave(s, A);
	cr_assert_eq(sender_sched_running(s, A), 0);
	sender_sched_free(s);
}

Test(sched, share_is_half_rounded_up)
{
	static const uint64_t ab[][2] = { { A, 1 }, { B, 2 } };
	static const int want[][2] = { { 1, 1 }, { 2, 1 }, { 3, 2 },
	    { 4, 2 }, { 8, 4 }, { 9, 5 } };
	struct sender_sched	*s;
	size_t			 i;
	int			 k;

	for (i = 0; i < FF_NELEM(want); i++) {
		s = sender_sched_new(want[i][0]);
		sending(s, ab, 2, 0);
		cr_assert_eq(sender_sched_share(s, A), want[i][1],
		    "%d senders", want[i][0]);
		for (k = 0; k < want[i][1]; k++)
			cr_assert_eq(sender_sched_enter(s, A), 1);
		cr_assert_eq(sender_sched_enter(s, A), 0);
		if (want[i][0] > 1)
			cr_assert_eq(sender_sched_enter(s, B), 1,
			    "%d senders: B still gets one", want[i][0]);
		sender_sched_free(s);
	}
}

/* A holds both senders, then B launches: A is over its share and one
 * of its senders hands its entry back; then B has one and A one. */
Test(sched, newcomer_preempts)
{
	static const uint64_t a[][2] = { { A, 10 } };
	static const uint64_t ab[][2] = { { A, 10 }, { B, 20 } };
	struct sender_sched	*s = sender_sched_new(2);

	sending(s, a, 1, 0);
	cr_assert_eq(sender_sched_enter(s, A), 1);
	cr_assert_eq(sender_sched_enter(s, A), 1);
	sending(s, ab, 2, 1000);
	cr_assert_eq(sender_sched_yield(s, A), 1, "over its share");
	sender_sched_leave(s, A);
	cr_assert_eq(sender_sched_enter(s, B), 1);
	cr_assert_eq(sender_sched_yield(s, A), 0);
	cr_assert_eq(sender_sched_yield(s, B), 0);
	sender_sched_free(s);
}

/* Three tenants, two senders: C starves while A and B hold one each;
 * whoever holds the most hands back after its chunk, so the tenants
 * take turns. */
Test(sched, starving_tenant)
{
	static const uint64_t abc[][2] = { { A, 1 }, { B, 2 }, { C, 3 } };
	struct sender_sched	*s = sender_sched_new(2);

	sending(s, abc, 3, 0);
	cr_assert_eq(sender_sched_enter(s, A), 1);
	cr_assert_eq(sender_sched_enter(s, B), 1);
	cr_assert_eq(sender_sched_yield(s, A), 1, "C starves");
	cr_assert_eq(sender_sched_yield(s, B), 1, "C starves");
	sender_sched_leave(s, A);
	cr_assert_eq(sender_sched_enter(s, C), 1);
	/* Now A starves: the senders take turns, a chunk at a time. */
	cr_assert_eq(sender_sched_yield(s, B), 1, "A starves now");
	sender_sched_leave(s, B);
	cr_assert_eq(sender_sched_enter(s, A), 1);
	cr_assert_eq(sender_sched_yield(s, A), 1, "B starves now");
	sender_sched_free(s);
}

/* A tenant whose queue is empty has no work: the other gets every
 * sender; after SENDER_SCHED_IDLE_MS it is believed to have work again
 * until a sender looks. */
Test(sched, empty_queue_is_believed_for_a_while)
{
	static const uint64_t ab[][2] = { { A, 10 }, { B, 20 }, { B, 21 } };
	struct sender_sched	*s = sender_sched_new(2);

	sending(s, ab, 3, 0);
	sender_sched_found(s, B, 20, 0, 100);
	cr_assert_eq(sender_sched_share(s, A), 1, "B 21 still has work");
	sender_sched_found(s, B, 21, 0, 100);
	cr_assert_eq(sender_sched_share(s, A), 2, "B has nothing to take");
	sending(s, ab, 3, 100 + SENDER_SCHED_IDLE_MS - 1);
	cr_assert_eq(sender_sched_share(s, A), 2);
	sending(s, ab, 3, 100 + SENDER_SCHED_IDLE_MS);
	cr_assert_eq(sender_sched_share(s, A), 1, "believed again");
	sender_sched_found(s, B, 21, 0, 100 + SENDER_SCHED_IDLE_MS);
	sender_sched_found(s, B, 20, 1, 100 + SENDER_SCHED_IDLE_MS);
	cr_assert_eq(sender_sched_share(s, A), 1, "B 20 took an entry");
	sender_sched_free(s);
}

/* A sender still in a batch of a campaign that left ff:sending keeps
 * its count until it leaves. */
Test(sched, running_outlives_the_campaign)
{
	static const uint64_t a[][2] = { { A, 10 } };
	struct sender_sched	*s = sender_sched_new(2);

	sending(s, a, 1, 0);
	cr_assert_eq(sender_sched_enter(s, A), 1);
	sending(s, NULL, 0, 10);
	cr_assert_eq(sender_sched_running(s, A), 1);
	sender_sched_leave(s, A);
	cr_assert_eq(sender_sched_running(s, A), 0);
	sender_sched_found(s, A, 10, 1, 20);	/* unknown: ignored */
	sender_sched_free(s);
}

/* Ten thousand campaigns of A and one of B: B still gets its sender,
 * and each call stays cheap (a generous bound, no timing assertion). */
Test(sched, many_campaigns_one_tenant, .timeout = 10)
{
	uint64_t		(*pairs)[2];
	struct sender_sched	*s = sender_sched_new(2);
	size_t			 i, n = 10001;

	pairs = calloc(n, sizeof(*pairs));
	for (i = 0; i < n - 1; i++) {
		pairs[i][0] = A;
		pairs[i][1] = i + 1;
	}
	pairs[n - 1][0] = B;
	pairs[n - 1][1] = 1;
	sending(s, (const uint64_t (*)[2])pairs, n, 0);
	cr_assert_eq(sender_sched_enter(s, A), 1);
	cr_assert_eq(sender_sched_enter(s, A), 0);
	for (i = 0; i < 1000000; i++)
		sender_sched_found(s, A, i % (n - 1) + 1, 1, i);
	cr_assert_eq(sender_sched_enter(s, B), 1);
	free(pairs);
	sender_sched_free(s);
}

/* A campaign with nothing to take is pumped once per period for all the
 * senders; one not known yet always. */
Test(sched, pump_once_per_period)
{
	static const uint64_t a[][2] = { { A, 10 } };
	struct sender_sched	*s = sender_sched_new(2);

	cr_assert_eq(sender_sched_pump_due(s, A, 10, 0, 1000), 1, "unknown");
	sending(s, a, 1, 0);
	cr_assert_eq(sender_sched_pump_due(s, A, 10, 5, 1000), 1);
	cr_assert_eq(sender_sched_pump_due(s, A, 10, 6, 1000), 0,
	    "the other sender: not yet");
	sending(s, a, 1, 500);		/* kept across a refresh */
	cr_assert_eq(sender_sched_pump_due(s, A, 10, 1004, 1000), 0);
	cr_assert_eq(sender_sched_pump_due(s, A, 10, 1005, 1000), 1);
	cr_assert_eq(sender_sched_pump_due(s, B, 20, 1005, 1000), 1,
	    "not in ff:sending yet");
	sender_sched_free(s);
}
