/*
 * sender.c: the sender pool: campaign delivery on `senders` threads.
 * Which campaign and entry a thread takes next (round robin across
 * tenants, each within its share of the senders: sender_sched.h keeps
 * the rule, under sched_lock), the rate caps, and what each outcome
 * does to the campaign (sent, bounced, retried, failed).
 * Redis only through the stores: store_launch.h (ff:sending),
 * store_campaign.h, store_queue.h (a campaign's recipient queue) and
 * store_send.h (the checks and the outcomes of sending).
 *
 * DESIGN.  libesmtp is blocking, so sending runs on threads of its own,
 * never on an event loop.  Each thread owns a synchronous Redis
 * connection (redis_sync.h), its libesmtp sessions, its compiled
 * campaigns (smtp_campaign.c) and its buffers; the threads share only
 * the read-only configuration, the relay (smtp_session.c: TLS context),
 * the DKIM key, the rate buckets (one mutex), the tenants' shares
 * (another) and the newest struct live (token keys, send_rate_max;
 * a third mutex): each thread holds a reference to a snapshot of its
 * own and takes the newest one between two batches, so a reload never
 * changes the keys under a message.
 *
 * The work is in Redis (see api.h and api_launch.c): a launched
 * campaign is in ff:sending and its recipients are in its queue,
 * entries of up to 100 contact ids.  A thread is the queue's consumer
 * node_id/N, so after a restart it first takes back its own pending
 * entries; a dead node's entries are claimed by anyone after claim_idle
 * (store_queue.h says how the consumers share a queue).
 *
 * One batch (one entry), in chunks of about a second's worth at the
 * campaign's rate (batch_run):
 *  1. The check (store_send_check), one round trip per chunk: the
 *     campaign is still sending and the tenant active (else the entry
 *     stays pending until resumed), then per recipient the suppressions
 *     store_send.h lists (done or waiting for a retry, erased,
 *     quarantined, opted out, bounced, blocklisted).  A suppressed
 *     recipient is final at once and counted by reason; the others come
 *     back with their fields.
 *  2. Each message is built (smtp_message.c: render, MIME, sign), then
 *     all of them go over one SMTP connection (smtp_session.c).
 *  3. Each outcome is written the moment libesmtp reports it
 *     (store_send_outcome_append: pipelined and pushed to the socket
 *     without waiting, with a claim that keeps the entry ours at most
 *     every quarter of claim_idle (1 s at most), not per message; a
 *     chunk's first one goes in full, EVAL, so that a Redis that lost
 *     its scripts has it for the others), and its reply is read before
 *     the next message's data goes out (session_pace: an outcome that
 *     found the script missing all the same is written again in full
 *     then).  Pushed is not recorded: a lagging Redis drops what it had
 *     not run from a connection that a kill -9 reset.  So a kill -9
 *     repeats at most the one message whose data went out last.
 *     2xx: sent.  5xx to RCPT: bounced, the address joins the tenant's
 *     bounces.  4xx or a broken connection: retried after
 *     retry_schedule[n], until the schedule or retry_lifetime runs out
 *     (then failed).
 *  4. The entry is acked.  A campaign with nothing to take has its due
 *     retries put back in its queue (store_send_retry_due); one with
 *     its snapshot complete, nothing pending, nothing undelivered and no
 *     retry waiting is done (store_send_finish) and leaves ff:sending.
 *
 * Calls go one way: sender.c -> smtp_campaign.c -> smtp_message.c, and
 * sender.c -> smtp_session.c, which reports back through callbacks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "redis_sync.h"
#include "report.h"
#include "sender_sched.h"
#include "smtp_campaign.h"
#include "smtp_message.h"
#include "smtp_session.h"
#include "store_campaign.h"
#include "store_launch.h"
#include "store_queue.h"
#include "store_send.h"
#include "store_sysmail.h"
#include "worker.h"

#define SEND_IDLE_MS		200	/* nothing to do: sleep this long */
#define SEND_CAMPAIGNS_MS	1000	/* re-read ff:sending */
#define SEND_RETRY_PUMP_MS	1000	/* per campaign */
#define SEND_BATCH_MAX		128
#define SEND_RATE_SLOTS		64

/* An entry's recipients and their fields fit one batch. */
_Static_assert(SEND_BATCH_MAX >= QUEUE_ENTRY_IDS &&
    SEND_BATCH_MAX >= SEND_CHECK_MAX, "a batch holds a queue entry");
_Static_assert(SEND_CHECK_FIELDS == SMTP_FIELDS,
    "send_check.lua's fields are smtp_message.h's");

/* -------------------------------------------------------------- types */

#define METRIC_POOL_ADD(p, field, n) \
	__atomic_fetch_add(&(p)->metrics.field, (n), __ATOMIC_RELAXED)

struct send_rate {			/* a token bucket */
	uint64_t	tenant, campaign;	/* 0, 0: the global cap */
	double		tokens;
	uint64_t	last_us;
};

struct sender_pool {
	const struct config	*conf;
	pthread_mutex_t		 live_lock;
	struct live		*live;		/* newest; a reference */
	struct dkim_key		*dkim;
	struct smtp_relay	*relay;
	int			 retry[FF_MAX_RETRIES];
	int			 nretry;
	pthread_mutex_t		 rate_lock;
	struct send_rate	 global;
	struct send_rate	 rates[SEND_RATE_SLOTS];
	int			 stop;		/* atomic */
	pthread_mutex_t		 sched_lock;
	struct sender_sched	*sched;		/* each tenant's share */
	struct sender		*threads;
	int			 nthreads;
	struct sender_metrics	 metrics;
};

/* One recipient of a batch; its SMTP side is envs[] of the same index. */
struct send_msg {
	struct smtp_contact contact;	/* fields in the sender's check */
	struct buf	 data;		/* the message as sent */
	int		 recorded;	/* an outcome was written */
	char		 what;		/* its outcome: store_send.h's */
	char		 status[REPORT_STATUS_MAX];	/* a 'b''s enhanced
					 * code ("5.1.1"), else "": kept for
					 * a write again (NOSCRIPT) */
	int		 noscript;	/* it found no script: again */
};

struct sender {
	struct sender_pool	*pool;
	struct live		*live;		/* this thread's reference */
	int			 id;
	pthread_t		 thread;
	struct db		*db;
	char			 consumer[160];
	struct smtp_campaign	 cache[SMTP_CAMPAIGN_CACHE];
	struct sending_campaign	*active;	/* ff:sending, by tenant */
	size_t			 nactive;
	struct sending_campaign	*turn;		/* this turn's copy */
	size_t			 next;		/* the tenant first */
	uint64_t		 nturns;
	int			 blocked;	/* tenant at its share */
	uint64_t		 active_ms;
	int			 yielded;	/* batch_run handed back */
	uint64_t		 claim_ms;
	struct queue_entry	 entry;		/* the entry being sent */
	struct send_check	 check;		/* its chunk's recipients */
	struct send_msg		 msgs[SEND_BATCH_MAX];
	struct smtp_envelope	 envs[SEND_BATCH_MAX];
	size_t			 nmsgs;
	struct smtp_campaign	*cur;		/* in the cache: the session learns
					 * its tenant relay's 8BITMIME */
	uint64_t		 cur_tenant;
	size_t			 pending;	/* pipelined replies to read */
	struct send_msg		*due[2 * SEND_BATCH_MAX]; /* [i]: whose
						 * outcome reply i is; NULL:
						 * a keep's */
	int			 outcome_failed;	/* in this batch */
	int			 keeping;	/* outcomes keep the entry */
	uint64_t		 kept_us;	/* the last keep sent */
	int			 outcome_loaded;	/* this chunk's
					 * send_outcome.lua went in full */
	struct buf		 tmp, tmp2;
	struct smtp_relay_memo	 relay_memo;	/* tenant relays' 8BITMIME */
};


static void	sender_take_live(struct sender *);

/* ------------------------------------------------------------- helpers */

static uint64_t
mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
stopping(const struct sender_pool *p)
{
	return __atomic_load_n(&p->stop, __ATOMIC_RELAXED);
}

static void
nap_ms(const struct sender_pool *p, int ms)
{
	struct timespec	ts;

	while (ms > 0 && !stopping(p)) {
		ts.tv_sec = 0;
		ts.tv_nsec = (ms > 100 ? 100 : ms) * 1000000L;
		nanosleep(&ts, NULL);
		ms -= 100;
	}
}

/* Waits for a token of the campaign's bucket and of the global cap. */
static void
rate_take(struct sender_pool *p, uint64_t tenant, uint64_t campaign,
    int rate, int max)
{
	struct send_rate	*b;
	uint64_t		 now;
	double			 wait_s, w;
	int			 i;

	for (;;) {
		wait_s = 0;
		pthread_mutex_lock(&p->rate_lock);
		now = mono_us();
		b = NULL;
		if (rate > 0) {
			for (i = 0; i < SEND_RATE_SLOTS; i++)
				if (p->rates[i].tenant == tenant &&
				    p->rates[i].campaign == campaign)
					break;
			if (i == SEND_RATE_SLOTS) {
				/* Reuse the slot idle longest. */
				for (i = 0; i < SEND_RATE_SLOTS; i++)
					if (b == NULL ||
					    p->rates[i].last_us < b->last_us)
						b = &p->rates[i];
				b->tenant = tenant;
				b->campaign = campaign;
				b->tokens = 1;
				b->last_us = now;
			} else
				b = &p->rates[i];
			b->tokens += (double)(now - b->last_us) / 1e6 * rate;
			if (b->tokens > 1)
				b->tokens = 1;	/* paced, never a burst */
			b->last_us = now;
			if (b->tokens < 1)
				wait_s = (1 - b->tokens) / rate;
		}
		if (max > 0) {
			struct send_rate *g = &p->global;

			g->tokens += (double)(now - g->last_us) / 1e6 *
			    max;
			if (g->tokens > 1 + max / 10)
				g->tokens = 1 + max / 10;
			g->last_us = now;
			if (g->tokens < 1 && (w = (1 - g->tokens) /
			    max) > wait_s)
				wait_s = w;
		}
		if (wait_s == 0) {
			if (b != NULL)
				b->tokens -= 1;
			if (max > 0)
				p->global.tokens -= 1;
		}
		pthread_mutex_unlock(&p->rate_lock);
		if (wait_s == 0 || stopping(p))
			return;
		nap_ms(p, (int)(wait_s * 1000) + 1);
	}
}

/* ------------------------------------------------------------ results */

/*
 * Writes m's outcome (m->what): pipelined and pushed to Redis now,
 * without waiting (outcomes_wait reads the reply), or, again, once more
 * in full and synchronously, after the first call found no script.  -1
 * when Redis failed.
 */
static int
outcome_write(struct sender *s, struct send_msg *m, int again)
{
	const struct smtp_campaign	*c = s->cur;
	struct send_outcome		 o;

	o.tenant = c->tenant;
	o.campaign = c->campaign;
	o.contact = m->contact.id;
	o.what = m->what;
	o.status = m->status;
	o.key = m->contact.fields[SMTP_FIELD_KEY];
	o.key_len = m->contact.lens[SMTP_FIELD_KEY];
	o.now_ms = now_ms();
	o.lifetime_ms = (uint64_t)s->pool->conf->retry_lifetime_s * 1000;
	o.schedule = s->pool->retry;
	o.nschedule = (size_t)s->pool->nretry;
	if (again)
		return store_send_outcome(s->db, &o);
	/*
	 * A chunk's first outcome goes in full, so that Redis holds the
	 * script before the EVALSHAs behind it arrive.  A Redis that lost
	 * its scripts (restarted, failed over, a cluster master that never
	 * ran this one) would otherwise answer NOSCRIPT to every outcome of
	 * the chunk, read only once the chunk is sent: a kill -9 meanwhile
	 * would leave the whole chunk to be sent again, not one message.
	 */
	if (store_send_outcome_append(s->db, &o, !s->outcome_loaded) == -1) {
		log_warnx("sender %d: redis: an outcome of contact %llu is not "
		    "recorded; the recipient will be tried again", s->id,
		    (unsigned long long)m->contact.id);
		/* The connection is gone and its replies with it; the next
		 * outcome may go to a new master, without the script. */
		s->pending = 0;
		s->outcome_failed = 1;
		s->outcome_loaded = 0;
		return -1;
	}
	s->outcome_loaded = 1;
	s->due[s->pending++] = m;
	return 0;
}

/* How often a sending entry is kept: a quarter of claim_idle, at
 * most a second. */
static uint64_t
keep_us(const struct sender_pool *p)
{
	uint64_t	us = (uint64_t)p->conf->claim_idle_s * 1000000 / 4;

	return us < 1000000 ? us : 1000000;
}

/* Queues one outcome and pushes it to Redis now, without waiting;
 * status: a bounce's enhanced code (smtp_session.h), else "". */
static void
outcome(struct sender *s, struct send_msg *m, char what, const char *status)
{
	if (m->recorded)
		return;
	m->recorded = 1;
	m->what = what;
	snprintf(m->status, sizeof(m->status), "%s", status);
	m->noscript = 0;
	if (outcome_write(s, m, 0) == -1)
		return;
	/*
	 * The outcomes keep the entry ours: never idle to XAUTOCLAIM.  One
	 * keep per keep_us, not per message: an XCLAIM per message was
	 * half the Redis commands of a send (bench-smtp.sh), and an entry
	 * kept every quarter of claim_idle never looks idle.
	 */
	if (s->keeping && mono_us() - s->kept_us >= keep_us(s->pool)) {
		s->kept_us = mono_us();
		if (store_queue_keep_append(s->db, s->cur->tenant,
		    s->cur->campaign, s->consumer, s->entry.id) == 0)
			s->due[s->pending++] = NULL;
		else {
			s->pending = 0;
			s->outcome_failed = 1;
			s->outcome_loaded = 0;
		}
	}
	switch (what) {
	case 's':
		METRIC_POOL_ADD(s->pool, sent, 1);
		break;
	case 'b':
		METRIC_POOL_ADD(s->pool, bounced, 1);
		break;
	case 't':
	case 'r':
		METRIC_POOL_ADD(s->pool, deferred, 1);
		break;
	default:
		METRIC_POOL_ADD(s->pool, failed, 1);
	}
}

/*
 * Reads the replies of the outcomes written so far, then writes again,
 * in full, those that found no script (a flushed Redis).  -1 when Redis
 * failed.
 */
static int
outcomes_wait(struct sender *s)
{
	size_t	i, n = s->pending;
	int	rc, noscript;

	for (i = 0; i < n; i++, s->pending--) {
		noscript = 0;
		rc = s->due[i] != NULL ?
		    store_send_outcome_reply(s->db, &noscript) :
		    store_queue_keep_reply(s->db);
		if (rc == -1) {
			s->pending = 0;
			return -1;
		}
		if (noscript)
			s->due[i]->noscript = 1;
	}
	for (i = 0; i < s->nmsgs; i++) {
		if (!s->msgs[i].noscript)
			continue;
		s->msgs[i].noscript = 0;
		if (outcome_write(s, &s->msgs[i], 1) == -1)
			return -1;
	}
	return 0;
}

/* -------------------------------------------------------------- batches */

static void
batch_clear(struct sender *s)
{
	size_t	i;

	for (i = 0; i < s->nmsgs; i++) {
		json_decref(s->msgs[i].contact.attrs);
		s->msgs[i].contact.attrs = NULL;
		s->msgs[i].recorded = 0;
	}
	s->nmsgs = 0;
}

/* Renders, builds and signs one message into m->data; -1 if unusable,
 * logged with the reason (the recipient then fails). */
static int
message_build(struct sender *s, struct send_msg *m)
{
	struct smtp_signing	 sig;
	struct smtp_endpoint	*ep;
	char			 err[256];

	sig.keys = &s->live->keys;
	sig.public_url = s->pool->conf->public_url;
	sig.dkim = s->pool->dkim;
	sig.bounce_domain = s->pool->conf->bounce_domain;
	smtp_relay_memo_recall(&s->relay_memo, &s->cur->relay);
	ep = smtp_tenant_relay_endpoint(&s->cur->relay);
	sig.relay_8bitmime = ep != NULL ? ep->eightbit :
	    smtp_relay_8bitmime(s->pool->relay);
	if (smtp_message_build(&s->cur->message, &m->contact, &sig,
	    time(NULL), (unsigned long)random(), &m->data, &s->tmp, &s->tmp2,
	    err, sizeof(err)) == 0)
		return 0;
	log_warnx("sender %d: campaign %llu of tenant %llu: contact %llu "
	    "failed: %s", s->id, (unsigned long long)s->cur->campaign,
	    (unsigned long long)s->cur->tenant,
	    (unsigned long long)m->contact.id, err);
	return -1;
}

/* smtp_session's callbacks: arg is the sender, i a message of the batch. */
static void
session_pace(void *arg, size_t i)
{
	struct sender	*s = arg;

	(void)i;
	/*
	 * No message's data goes to the relay before Redis has answered the
	 * outcomes written so far: written is not recorded.  A Redis that
	 * lags (busy, descheduled, its writes paused) has not run them yet,
	 * and when a kill -9 resets our connection (its replies unread),
	 * Redis drops the client with what it had not run: a lag's worth of
	 * messages sent again, not one (test_nodes.py, test 4).  The reply
	 * came during this message's MAIL, RCPT and DATA round trips, so
	 * this is seldom a wait.
	 */
	if (s->pending > 0 && outcomes_wait(s) == -1) {
		log_warnx("sender %d: redis: outcomes not recorded; their "
		    "recipients will be tried again", s->id);
		s->outcome_failed = 1;
		s->outcome_loaded = 0;
	}
	rate_take(s->pool, s->cur->tenant, s->cur->campaign, s->cur->rate,
	    s->live->send_rate_max);
}

static void
session_outcome(void *arg, size_t i, char what, const char *status)
{
	struct sender	*s = arg;

	/* Written now, and answered before the next message's data goes
	 * out (session_pace): a kill -9 repeats this message at most. */
	outcome(s, &s->msgs[i], what, status);
}

static int
session_stopping(void *arg)
{
	struct sender	*s = arg;

	return stopping(s->pool);
}

/* Sends the built messages over one connection; records every outcome. */
static void
batch_send(struct sender *s)
{
	static const struct smtp_session_cb cb = { session_pace,
	    session_outcome, session_stopping };
	struct send_msg		*m;
	size_t			 i;

	for (i = 0; i < s->nmsgs; i++) {
		m = &s->msgs[i];
		s->envs[i].to = m->contact.fields[SMTP_FIELD_EMAIL];
		s->envs[i].tolen = m->contact.lens[SMTP_FIELD_EMAIL];
		s->envs[i].data = m->data.p;
		s->envs[i].len = m->data.len;
		s->envs[i].from = m->contact.return_path[0] != '\0' ?
		    m->contact.return_path : NULL;
		s->envs[i].done = m->recorded;
		s->envs[i].eightbit = m->contact.body_8bit;
	}
	smtp_session_send(s->pool->relay,
	    smtp_tenant_relay_endpoint(&s->cur->relay), s->id,
	    s->cur->message.from_addr,
	    s->envs, s->nmsgs, &cb, s);
	smtp_relay_memo_keep(&s->relay_memo, &s->cur->relay);
}

/*
 * Checks and sends one chunk of the entry's recipients (see batch_run).
 * 0 when every one got an outcome, 1 when the campaign is not sending
 * now or we are stopping, -1 on a Redis failure.
 */
static int
chunk_run(struct sender *s, const uint64_t *ids, size_t nids)
{
	const struct send_recipient	*r;
	size_t				 i, j;
	int				 rc;

	if ((s->cur->form != 0 ? store_send_check_signups :
	    s->cur->sysmail ? store_send_check_sysmail :
	    store_send_check)(s->db, s->cur->tenant, s->cur->campaign, ids,
	    nids, &s->check) == -1)
		return -1;
	if (s->check.stop)
		return 1;
	/* Build every message first: a session then streams them. */
	batch_clear(s);
	s->outcome_failed = 0;
	s->outcome_loaded = 0;
	for (i = 0; i < s->check.nto && s->nmsgs < SEND_BATCH_MAX; i++) {
		struct send_msg *m = &s->msgs[s->nmsgs];

		r = &s->check.to[i];
		m->contact.id = r->id;
		for (j = 0; j < SMTP_FIELDS; j++) {
			m->contact.fields[j] = r->field[j];
			m->contact.lens[j] = r->len[j];
		}
		s->nmsgs++;
		if (message_build(s, m) == -1)
			outcome(s, m, 'f', "");	/* logged: an address MIME
						 * refuses, ... */
	}
	if (s->nmsgs > 0)
		batch_send(s);
	rc = -1;
	if (outcomes_wait(s) == -1)
		goto out;
	/* Not all tried (shutting down): the entry stays pending and is
	 * taken again; the done bits skip what was sent. */
	rc = s->outcome_failed ? -1 : 0;
	for (i = 0; i < s->nmsgs && rc == 0; i++)
		if (!s->msgs[i].recorded)
			rc = 1;
	/* An account mail's record (a reset link in clear) goes as soon as
	 * its outcome is final: it is never needed again. */
	for (i = 0; i < s->nmsgs && rc == 0 && s->cur->sysmail; i++)
		if (strchr("sbf", s->msgs[i].what) != NULL &&
		    store_sysmail_forget(s->db, s->cur->tenant,
		    s->msgs[i].contact.id) == -1)
			log_warnx("sender %d: redis: account mail %llu of "
			    "tenant %llu not deleted; it expires", s->id,
			    (unsigned long long)s->msgs[i].contact.id,
			    (unsigned long long)s->cur->tenant);
out:
	batch_clear(s);
	return rc;
}

static int	refresh_active(struct sender *);

/* Between two chunks: whether another tenant needs this sender more
 * (sender_sched.h); ff:sending is read again first when due, so a
 * campaign launched meanwhile is seen. */
static int
sender_yield(struct sender *s, uint64_t tenant)
{
	int	y;

	(void)refresh_active(s);
	pthread_mutex_lock(&s->pool->sched_lock);
	y = sender_sched_yield(s->pool->sched, tenant);
	pthread_mutex_unlock(&s->pool->sched_lock);
	return y;
}

static void
sched_found(struct sender *s, uint64_t tenant, uint64_t campaign, int work)
{
	pthread_mutex_lock(&s->pool->sched_lock);
	sender_sched_found(s->pool->sched, tenant, campaign, work, mono_ms());
	pthread_mutex_unlock(&s->pool->sched_lock);
}

/*
 * The entry s->entry.  0 when handled (ack it), 1 when the campaign is
 * not sending now or another tenant needs this sender (s->yielded; leave
 * it pending either way), -1 on a Redis failure.
 *
 * The recipients are checked and sent in chunks of about one second's
 * worth at the campaign's rate (all of them when it has none), so "at
 * the moment of sending" means within a second even for a slow
 * campaign: an opt-out stops the next chunk, still one round trip per
 * chunk.  Before each chunk the entry is claimed again, so a live
 * sender's entry never looks idle to another node's claim, however slow
 * the relay or the rate.
 */
static int
batch_run(struct sender *s)
{
	const struct smtp_campaign *c = s->cur;
	const struct queue_entry *e = &s->entry;
	size_t		 off, chunk;
	int		 rc = 0;

	chunk = e->nids;
	if (c->rate > 0 && (size_t)c->rate < chunk)
		chunk = (size_t)c->rate;
	if (s->live->send_rate_max > 0 &&
	    (size_t)s->live->send_rate_max < chunk)
		chunk = (size_t)s->live->send_rate_max;
	s->keeping = 1;
	s->kept_us = 0;		/* the first outcome keeps it */
	s->yielded = 0;
	for (off = 0; off < e->nids && rc == 0; off += chunk) {
		if (off > 0 && sender_yield(s, c->tenant)) {
			/* The rest stays pending, ours, for a later turn. */
			s->yielded = 1;
			rc = 1;
			break;
		}
		if (off > 0 && store_queue_keep(s->db, c->tenant, c->campaign,
		    s->consumer, e->id) == -1) {
			rc = -1;
			break;
		}
		if (off > 0)
			s->kept_us = mono_us();
		rc = chunk_run(s, e->ids + off,
		    e->nids - off < chunk ? e->nids - off : chunk);
		if (rc == 0 && stopping(s->pool) && off + chunk < e->nids)
			rc = 1;
	}
	s->keeping = 0;
	return rc;
}

/*
 * Takes one entry of the campaign's queue: own pending first, then new,
 * then a dead consumer's.  1 when one was handled, 0 when none, or when
 * the tenant holds its share of the senders already (s->blocked: its
 * other campaigns wait too, without a round trip).
 */
static int
campaign_step(struct sender *s, uint64_t tenant, uint64_t campaign)
{
	struct sender_pool	*p = s->pool;
	struct smtp_campaign	*c;
	uint64_t		 now = mono_ms();
	int			 rc, entered, pump;

	/* Counted before the queue is read: an entry once read is ours. */
	pthread_mutex_lock(&p->sched_lock);
	entered = sender_sched_enter(p->sched, tenant);
	pthread_mutex_unlock(&p->sched_lock);
	s->blocked = !entered;
	if (s->blocked)
		return 0;
	if ((rc = store_campaign_sending(s->db, tenant, campaign)) != 1) {
		if (rc == 0)
			sched_found(s, tenant, campaign, 0);
		goto leave;
	}

	rc = store_queue_read(s->db, tenant, campaign, s->consumer, QUEUE_OWN,
	    &s->entry);
	if (rc == 0)
		rc = store_queue_read(s->db, tenant, campaign, s->consumer,
		    QUEUE_NEW, &s->entry);
	if (rc == 0 && now >= s->claim_ms) {
		rc = store_queue_claim_idle(s->db, tenant, campaign,
		    s->consumer, (uint64_t)p->conf->claim_idle_s * 1000,
		    &s->entry);
		if (rc != 1)
			s->claim_ms = now + SEND_RETRY_PUMP_MS;
	}
	/*
	 * Compiled only for an entry: a tenant's campaigns with nothing to
	 * take (waiting for retries, for days) cost each turn a few round
	 * trips, never a load and a compile each (a thread caches 16).
	 * One that cannot be loaded keeps the entry pending, ours.
	 */
	if (rc == 1 && (c = smtp_campaign_get(s->cache, s->db,
	    &s->live->data_key, p->conf->node_id, s->id, tenant,
	    campaign, s->entry.variant)) == NULL) {
		sched_found(s, tenant, campaign, 0);
		rc = 0;
		goto leave;
	}
	if (rc == 1) {
		s->cur = c;
		sched_found(s, tenant, campaign, 1);
		/* Not acked (not sending now, handed back, or Redis
		 * failed): it stays pending, ours, and is taken again. */
		rc = batch_run(s);
		if (rc == 0)
			(void)store_queue_ack(s->db, tenant, campaign,
			    s->entry.id);
		else if (rc == 1 && !s->yielded)
			sched_found(s, tenant, campaign, 0);	/* paused */
		rc = 1;
	}
	if (rc != 0)
		goto leave;
	sched_found(s, tenant, campaign, 0);

	/* Nothing to take: due retries back in, or maybe the end (once a
	 * second for all the senders).  A Redis failure here waits for the
	 * next pump. */
	pthread_mutex_lock(&p->sched_lock);
	pump = sender_sched_pump_due(p->sched, tenant, campaign, now,
	    SEND_RETRY_PUMP_MS);
	pthread_mutex_unlock(&p->sched_lock);
	if (pump) {
		if (store_send_retry_due(s->db, tenant, campaign,
		    now_ms()) > 0) {
			sched_found(s, tenant, campaign, 1);
			rc = 1;
		} else if (store_send_finish(s->db, tenant, campaign,
		    now_ms()) == 1) {
			(void)store_sending_remove(s->db, tenant, campaign);
			log_info("campaign %llu of tenant %llu: done",
			    (unsigned long long)campaign,
			    (unsigned long long)tenant);
		}
	}
leave:
	pthread_mutex_lock(&p->sched_lock);
	sender_sched_leave(p->sched, tenant);
	pthread_mutex_unlock(&p->sched_lock);
	return rc;
}

static int
sending_cmp(const void *a, const void *b)
{
	const struct sending_campaign *x = a, *y = b;

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	if (x->campaign != y->campaign)
		return x->campaign < y->campaign ? -1 : 1;
	return 0;
}

/* Re-reads ff:sending now and then, sorted by tenant; the pool's
 * scheduler learns it too. */
static int
refresh_active(struct sender *s)
{
	struct sending_campaign	*all;
	uint64_t		*tenants, *campaigns;
	size_t			 n, i;

	if (mono_ms() < s->active_ms)
		return 0;
	s->active_ms = mono_ms() + SEND_CAMPAIGNS_MS;
	if (store_sending_all(s->db, &all, &n) == -1)
		return -1;
	qsort(all, n, sizeof(*all), sending_cmp);
	free(s->active);
	s->active = all;
	s->nactive = n;
	tenants = xcalloc(n + 1, sizeof(*tenants));
	campaigns = xcalloc(n + 1, sizeof(*campaigns));
	for (i = 0; i < n; i++) {
		tenants[i] = all[i].tenant;
		campaigns[i] = all[i].campaign;
	}
	pthread_mutex_lock(&s->pool->sched_lock);
	sender_sched_campaigns(s->pool->sched, tenants, campaigns, n,
	    mono_ms());
	pthread_mutex_unlock(&s->pool->sched_lock);
	free(tenants);
	free(campaigns);
	return 0;
}

/*
 * One turn: round robin across tenants, one entry per tenant, whatever
 * the number of its campaigns (they take turns among themselves from
 * one turn to the next).  The turn works on a copy: ff:sending may be
 * read again in the middle of it (sender_yield).  1 when something was
 * done, 0 when nothing, -1 on a Redis failure.
 */
static int
sender_turn(struct sender *s)
{
	const struct sending_campaign *t, *sc;
	size_t		*starts, ntenants = 0, g, i, k, first, len, start, nt;
	int		 worked = 0, rc = 0;

	nt = s->nactive;
	s->turn = xreallocarray(s->turn, nt + 1, sizeof(*s->turn));
	memcpy(s->turn, s->active, nt * sizeof(*s->turn));
	t = s->turn;
	/* starts[g]: the first campaign of the gth tenant (sorted). */
	starts = xcalloc(nt + 1, sizeof(*starts));
	for (i = 0; i < nt; i++)
		if (i == 0 || t[i].tenant != t[i - 1].tenant)
			starts[ntenants++] = i;
	starts[ntenants] = nt;
	start = ntenants > 0 ? s->next++ % ntenants : 0;
	for (g = 0; g < ntenants && !stopping(s->pool) && rc != -1; g++) {
		first = starts[(start + g) % ntenants];
		len = starts[(start + g) % ntenants + 1] - first;
		for (k = 0; k < len && !stopping(s->pool); k++) {
			sc = &t[first + (k + s->nturns) % len];
			sender_take_live(s);
			if ((rc = campaign_step(s, sc->tenant,
			    sc->campaign)) != 0 || s->blocked)
				break;	/* the next tenant's turn */
		}
		worked |= rc == 1;
	}
	free(starts);
	s->nturns++;
	return rc == -1 ? -1 : worked;
}

static void *
sender_main(void *arg)
{
	struct sender	*s = arg;
	int		 rc;

	while (!stopping(s->pool)) {
		if (refresh_active(s) == -1) {
			nap_ms(s->pool, 1000);
			continue;
		}
		if ((rc = sender_turn(s)) == -1)
			nap_ms(s->pool, 1000);
		else if (rc == 0)
			nap_ms(s->pool, SEND_IDLE_MS);
	}
	return NULL;
}

/* --------------------------------------------------------------- pool */

struct sender_pool *
sender_start(const struct config *conf, struct live *live, char *err,
    size_t errlen)
{
	struct sender_pool	*p;
	int			 i;

	if (conf->senders == 0 || conf->smtp_relay.host == NULL)
		return NULL;	/* this node does not send */
	p = xcalloc(1, sizeof(*p));
	p->conf = conf;
	p->live = live_ref(live);
	if ((p->nretry = config_retry_schedule(conf->retry_schedule, p->retry,
	    FF_MAX_RETRIES)) == -1) {
		snprintf(err, errlen, "retry_schedule: invalid");
		live_unref(p->live);
		free(p);
		return NULL;
	}
	if (conf->dkim_key_file != NULL && (p->dkim = dkim_key_load(
	    conf->dkim_key_file, conf->dkim_domain, conf->dkim_selector, err,
	    errlen)) == NULL) {
		live_unref(p->live);
		free(p);
		return NULL;
	}
	if ((p->relay = smtp_relay_open(conf, err, errlen)) == NULL) {
		dkim_key_free(p->dkim);
		live_unref(p->live);
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->rate_lock, NULL);
	pthread_mutex_init(&p->live_lock, NULL);
	pthread_mutex_init(&p->sched_lock, NULL);
	p->sched = sender_sched_new(conf->senders);
	p->global.last_us = mono_us();
	p->nthreads = conf->senders;
	p->threads = xcalloc((size_t)p->nthreads, sizeof(*p->threads));
	for (i = 0; i < p->nthreads; i++) {
		struct sender *s = &p->threads[i];

		s->pool = p;
		s->live = live_ref(live);
		s->id = i;
		s->db = db_open(&conf->redis);
		snprintf(s->consumer, sizeof(s->consumer), "%s/%d",
		    conf->node_id, i);
		if ((errno = pthread_create(&s->thread, NULL, sender_main,
		    s)) != 0)
			fatal("pthread_create");
	}
	log_info("delivery: %d senders to %s:%d%s", p->nthreads,
	    conf->smtp_relay.host, conf->smtp_relay.port,
	    p->dkim ? ", DKIM on" : "");
	return p;
}

/* Lets each thread finish its batch (outcomes written), then joins. */
void
sender_stop(struct sender_pool *p)
{
	size_t	j;
	int	i;

	if (p == NULL)
		return;
	__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < p->nthreads; i++) {
		struct sender *s = &p->threads[i];

		pthread_join(s->thread, NULL);
		for (j = 0; j < SMTP_CAMPAIGN_CACHE; j++)
			smtp_campaign_clear(&s->cache[j]);
		free(s->active);
		free(s->turn);
		store_send_check_free(&s->check);
		for (j = 0; j < SEND_BATCH_MAX; j++)
			buf_free(&s->msgs[j].data);
		buf_free(&s->tmp);
		buf_free(&s->tmp2);
		db_close(s->db);
		live_unref(s->live);
	}
	free(p->threads);
	dkim_key_free(p->dkim);
	smtp_relay_close(p->relay);
	pthread_mutex_destroy(&p->rate_lock);
	pthread_mutex_destroy(&p->live_lock);
	pthread_mutex_destroy(&p->sched_lock);
	sender_sched_free(p->sched);
	live_unref(p->live);
	free(p);
}

/* Main thread, on a reload; the threads take it at their next batch. */
void
sender_set_live(struct sender_pool *p, struct live *l)
{
	struct live	*old;

	if (p == NULL)
		return;
	live_ref(l);
	pthread_mutex_lock(&p->live_lock);
	old = p->live;
	p->live = l;
	pthread_mutex_unlock(&p->live_lock);
	live_unref(old);
}

/* Between two batches: the thread's snapshot becomes the newest one. */
static void
sender_take_live(struct sender *s)
{
	struct sender_pool	*p = s->pool;
	struct live		*old = NULL;

	pthread_mutex_lock(&p->live_lock);
	if (s->live != p->live) {
		old = s->live;
		s->live = live_ref(p->live);
	}
	pthread_mutex_unlock(&p->live_lock);
	live_unref(old);
}

void
sender_metrics(const struct sender_pool *p, struct sender_metrics *out)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return;
	out->sent = __atomic_load_n(&p->metrics.sent, __ATOMIC_RELAXED);
	out->bounced = __atomic_load_n(&p->metrics.bounced, __ATOMIC_RELAXED);
	out->deferred = __atomic_load_n(&p->metrics.deferred,
	    __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&p->metrics.failed, __ATOMIC_RELAXED);
}
