/*
 * sender_sched.c: the share of the senders each tenant may hold
 * (sender_sched.h states the rule).  Two sorted arrays, found by binary
 * search: the campaigns of ff:sending with what the threads last saw of
 * their queues, and the tenants with their count of campaigns that have
 * work and of senders they hold.  Every call is O(log n) but a refresh
 * (O(n log n), once a second a thread) and a yield check (O(tenants),
 * once a chunk), so ten thousand campaigns cost the threads nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "sender_sched.h"

struct sched_campaign {
	uint64_t	tenant, campaign;
	int		idle;		/* its queue was found empty */
	uint64_t	idle_until;	/* then it is believed to have work */
	uint64_t	pump_at;	/* its next retry pump, end check */
};

struct sched_tenant {
	uint64_t	tenant;
	size_t		nwork;		/* its campaigns not idle */
	int		running;	/* senders in one of its batches */
};

struct sender_sched {
	int			 senders;
	struct sched_campaign	*c;		/* by tenant, campaign */
	size_t			 nc;
	struct sched_tenant	*t;		/* by tenant */
	size_t			 nt, tcap;
	size_t			 with_work;	/* tenants whose nwork > 0 */
};

struct sender_sched *
sender_sched_new(int senders)
{
	struct sender_sched	*s = xcalloc(1, sizeof(*s));

	s->senders = senders < 1 ? 1 : senders;
	return s;
}

void
sender_sched_free(struct sender_sched *s)
{
	if (s == NULL)
		return;
	free(s->c);
	free(s->t);
	free(s);
}

static int
campaign_cmp(const void *a, const void *b)
{
	const struct sched_campaign *x = a, *y = b;

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	if (x->campaign != y->campaign)
		return x->campaign < y->campaign ? -1 : 1;
	return 0;
}

static struct sched_campaign *
campaign_find(const struct sender_sched *s, uint64_t tenant,
    uint64_t campaign)
{
	struct sched_campaign	key;

	if (s->nc == 0)
		return NULL;
	key.tenant = tenant;
	key.campaign = campaign;
	return bsearch(&key, s->c, s->nc, sizeof(*s->c), campaign_cmp);
}

/* Index of tenant, or where it would go. */
static size_t
tenant_pos(const struct sender_sched *s, uint64_t tenant)
{
	size_t	lo = 0, hi = s->nt, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->t[mid].tenant < tenant)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct sched_tenant *
tenant_find(const struct sender_sched *s, uint64_t tenant)
{
	size_t	i = tenant_pos(s, tenant);

	return i < s->nt && s->t[i].tenant == tenant ? &s->t[i] : NULL;
}

static struct sched_tenant *
tenant_get(struct sender_sched *s, uint64_t tenant)
{
	size_t	i = tenant_pos(s, tenant);

	if (i < s->nt && s->t[i].tenant == tenant)
		return &s->t[i];
	if (s->nt == s->tcap) {
		s->tcap = s->tcap ? s->tcap * 2 : 16;
		s->t = xreallocarray(s->t, s->tcap, sizeof(*s->t));
	}
	memmove(&s->t[i + 1], &s->t[i], (s->nt - i) * sizeof(*s->t));
	memset(&s->t[i], 0, sizeof(*s->t));
	s->t[i].tenant = tenant;
	s->nt++;
	return &s->t[i];
}

void
sender_sched_campaigns(struct sender_sched *s, const uint64_t *tenants,
    const uint64_t *campaigns, size_t n, uint64_t now_ms)
{
	struct sched_campaign	*c, *old;
	struct sched_tenant	*t;
	size_t			 i, j, keep;

	c = xcalloc(n + 1, sizeof(*c));
	for (i = 0; i < n; i++) {
		c[i].tenant = tenants[i];
		c[i].campaign = campaigns[i];
		if ((old = campaign_find(s, tenants[i], campaigns[i])) ==
		    NULL)
			continue;
		c[i].pump_at = old->pump_at;
		if (old->idle && now_ms < old->idle_until) {
			c[i].idle = 1;
			c[i].idle_until = old->idle_until;
		}
	}
	qsort(c, n, sizeof(*c), campaign_cmp);
	free(s->c);
	s->c = c;
	s->nc = n;

	/* The tenants again: those with a campaign, and those a sender
	 * still serves (its campaign may just have left ff:sending). */
	for (i = 0, keep = 0; i < s->nt; i++)
		if (s->t[i].running > 0) {
			s->t[keep] = s->t[i];
			s->t[keep++].nwork = 0;
		}
	s->nt = keep;
	for (i = 0; i < n; i = j) {
		t = tenant_get(s, c[i].tenant);
		for (j = i; j < n && c[j].tenant == c[i].tenant; j++)
			if (!c[j].idle)
				t->nwork++;
	}
	s->with_work = 0;
	for (i = 0; i < s->nt; i++)
		if (s->t[i].nwork > 0)
			s->with_work++;
}

void
sender_sched_found(struct sender_sched *s, uint64_t tenant,
    uint64_t campaign, int work, uint64_t now_ms)
{
	struct sched_campaign	*c;
	struct sched_tenant	*t;

	if ((c = campaign_find(s, tenant, campaign)) == NULL ||
	    (t = tenant_find(s, tenant)) == NULL)
		return;		/* not in ff:sending (yet, or any more) */
	if (work && c->idle) {
		c->idle = 0;
		if (t->nwork++ == 0)
			s->with_work++;
	} else if (!work) {
		c->idle_until = now_ms + SENDER_SCHED_IDLE_MS;
		if (!c->idle) {
			c->idle = 1;
			if (--t->nwork == 0)
				s->with_work--;
		}
	}
}

int
sender_sched_pump_due(struct sender_sched *s, uint64_t tenant,
    uint64_t campaign, uint64_t now_ms, uint64_t every_ms)
{
	struct sched_campaign	*c = campaign_find(s, tenant, campaign);

	if (c == NULL)
		return 1;
	if (now_ms < c->pump_at)
		return 0;
	c->pump_at = now_ms + every_ms;
	return 1;
}

int
sender_sched_share(const struct sender_sched *s, uint64_t tenant)
{
	const struct sched_tenant *t = tenant_find(s, tenant);
	size_t	others = s->with_work - (t != NULL && t->nwork > 0);

	return others > 0 ? (s->senders + 1) / 2 : s->senders;
}

int
sender_sched_running(const struct sender_sched *s, uint64_t tenant)
{
	const struct sched_tenant *t = tenant_find(s, tenant);

	return t != NULL ? t->running : 0;
}

int
sender_sched_enter(struct sender_sched *s, uint64_t tenant)
{
	int	share = sender_sched_share(s, tenant);
	struct sched_tenant *t = tenant_get(s, tenant);

	if (t->running >= share)
		return 0;
	t->running++;
	return 1;
}

void
sender_sched_leave(struct sender_sched *s, uint64_t tenant)
{
	struct sched_tenant	*t = tenant_find(s, tenant);

	if (t != NULL && t->running > 0)
		t->running--;
}

int
sender_sched_yield(const struct sender_sched *s, uint64_t tenant)
{
	const struct sched_tenant *t = tenant_find(s, tenant);
	size_t	i;
	int	starving = 0, most = 0;

	if (t == NULL || t->running == 0)
		return 0;
	if (t->running > sender_sched_share(s, tenant))
		return 1;
	for (i = 0; i < s->nt; i++) {
		if (s->t[i].tenant != tenant && s->t[i].nwork > 0 &&
		    s->t[i].running == 0)
			starving = 1;
		if (s->t[i].running > most)
			most = s->t[i].running;
	}
	return starving && t->running >= most;
}
