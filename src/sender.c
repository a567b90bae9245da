/*
 * sender.c: the sender pool: campaign delivery on `senders` threads.
 * Which campaign and entry a thread takes next (ff:sending, each
 * campaign's stream), the rate caps, and what each outcome does to the
 * campaign (the send_* scripts of script.h: retries, bounces, the end).
 *
 * DESIGN.  libesmtp is blocking, so sending runs on threads of its own,
 * never on an event loop.  Each thread owns a synchronous Redis
 * connection (db.c), its libesmtp sessions, its compiled campaigns
 * (smtp_campaign.c) and its buffers; the threads share only the
 * read-only configuration, the relay (smtp_session.c: TLS context), the
 * DKIM key, the rate buckets (one mutex) and the newest struct live
 * (token keys, send_rate_max; another mutex): each thread holds a
 * reference to a snapshot of its own and takes the newest one between
 * two batches, so a reload never changes the keys under a message.
 *
 * The work is in Redis (see api.h and api_launch.c): a launched
 * campaign is in ff:sending and its recipients are in the stream
 * {t:T}:camp:C:q, entries of up to 100 contact ids, read through the
 * consumer group "senders".  A thread's consumer name is node_id/N, so
 * after a restart it first takes back its own pending entries; a dead
 * node's entries are claimed by anyone after claim_idle.
 *
 * One batch (one entry):
 *  1. send_check.lua, one round trip: the campaign is still sending and the
 *     tenant active (else the entry stays pending until resumed), then
 *     per recipient: not final already (done bitmap) nor waiting for a
 *     retry, contact not erased, not quarantined (special category),
 *     not opted out (by id from /u/, by address, or erased before and
 *     imported again), not bounced before, address and domain not on
 *     the blocklist.  A suppressed recipient is final at once and counted
 *     by reason; the others come back with their fields.
 *  2. Each message is built (smtp_message.c: render, MIME, sign), then
 *     all of them go over one SMTP connection (smtp_session.c).
 *  3. Each outcome is written the moment libesmtp reports it
 *     (send_outcome.lua, pipelined and pushed to the socket without
 *     waiting; a chunk's first one goes in full, EVAL, so that a Redis
 *     that lost its scripts has it for the others; one that finds the
 *     script missing all the same is sent again in full once the
 *     batch's replies are read), so a kill -9
 *     repeats at most the message whose 250 had just arrived.  2xx:
 *     sent.  5xx to RCPT: bounced, the address joins {t:T}:bounces.  4xx
 *     or a broken connection: retried after retry_schedule[n], until
 *     the schedule or retry_lifetime runs out (then failed).
 *  4. XACK.  Retries due are put back in the queue by send_retry.lua; a
 *     campaign with its snapshot complete, nothing pending, nothing
 *     undelivered and no retry waiting is done (send_finish.lua).
 *
 * Every key a script touches is the tenant's ({t:T}...), so each script
 * runs in one Redis Cluster slot; ff:sending is read on its own.
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

#include "api.h"
#include "keys.h"
#include "script.h"
#include "smtp_campaign.h"
#include "smtp_message.h"
#include "smtp_session.h"

#define SEND_IDLE_MS		200	/* nothing to do: sleep this long */
#define SEND_CAMPAIGNS_MS	1000	/* re-read ff:sending */
#define SEND_RETRY_PUMP_MS	1000	/* per campaign */
#define SEND_BATCH_MAX		128
#define SEND_RATE_SLOTS		64

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
	char			 retry_argv[FF_MAX_RETRIES][16];
	pthread_mutex_t		 rate_lock;
	struct send_rate	 global;
	struct send_rate	 rates[SEND_RATE_SLOTS];
	int			 stop;		/* atomic */
	struct sender		*threads;
	int			 nthreads;
	struct sender_metrics	 metrics;
};

/* One recipient of a batch; its SMTP side is envs[] of the same index. */
struct send_msg {
	struct smtp_contact contact;	/* from send_check.lua's reply */
	struct buf	 data;		/* the message as sent */
	int		 recorded;	/* an outcome was written */
	char		 what;		/* its outcome: send_outcome.lua */
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
	char			**active;	/* "T:C" of ff:sending */
	size_t			 nactive, next;
	uint64_t		 active_ms;
	uint64_t		 claim_ms;
	struct send_msg		 msgs[SEND_BATCH_MAX];
	struct smtp_envelope	 envs[SEND_BATCH_MAX];
	size_t			 nmsgs;
	const struct smtp_campaign *cur;
	uint64_t		 cur_tenant;
	size_t			 pending;	/* OUTCOME replies to read */
	struct send_msg		*due[2 * SEND_BATCH_MAX]; /* [i]: whose
						 * reply i is; NULL: XCLAIM's */
	int			 outcome_failed;	/* in this batch */
	int			 outcome_loaded;	/* this chunk's
					 * send_outcome.lua went in full */
	const char		*cur_q, *cur_eid;	/* the entry being sent */
	struct buf		 tmp, tmp2;
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

/* script_run, an error reply logged and NULL like a Redis failure. */
static redisReply *
send_eval(struct sender *s, enum script_id which, int argc,
    const char **argv, size_t *lens)
{
	redisReply	*rep;

	rep = script_run(s->db, which, argc, argv, lens);
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
		log_warnx("sender %d: %s: %s", s->id, script_name(which),
		    rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* ------------------------------------------------------------ results */

/*
 * Writes m's outcome (m->what) with send_outcome.lua: pipelined and
 * pushed to Redis now, without waiting (outcomes_wait reads the reply),
 * or, again, once more in full and synchronously, after the first call
 * found no script.  -1 when Redis failed.
 */
static int
outcome_write(struct sender *s, struct send_msg *m, int again)
{
	const struct smtp_campaign	*c = s->cur;
	const char			*argv[16 + FF_MAX_RETRIES];
	size_t				 lens[16 + FF_MAX_RETRIES];
	struct key			 k[5];
	char				 id[24], now[24], life[24];
	char				 key[FF_EMAIL_MAX + 1];
	redisReply			*rep;
	int				 argc = 2, i;

	/* OUTCOME_LUA's KEYS, in its order. */
	key_campaign(&k[0], c->tenant, c->campaign);
	key_campaign_done(&k[1], c->tenant, c->campaign);
	key_campaign_retry(&k[2], c->tenant, c->campaign);
	key_campaign_tries(&k[3], c->tenant, c->campaign);
	key_bounces(&k[4], c->tenant);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)m->contact.id);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms());
	snprintf(life, sizeof(life), "%llu",
	    (unsigned long long)s->pool->conf->retry_lifetime_s * 1000);
	snprintf(key, sizeof(key), "%.*s",
	    (int)m->contact.lens[SMTP_FIELD_KEY],
	    m->contact.fields[SMTP_FIELD_KEY]);
	argv[argc] = "5"; lens[argc++] = 1;
	for (i = 0; i < 5; i++) {
		argv[argc] = k[i].s;
		lens[argc++] = k[i].len;
	}
	argv[argc] = id; lens[argc++] = strlen(id);
	argv[argc] = &m->what; lens[argc++] = 1;
	argv[argc] = key; lens[argc++] = strlen(key);
	argv[argc] = now; lens[argc++] = strlen(now);
	argv[argc] = life; lens[argc++] = strlen(life);
	for (i = 0; i < s->pool->nretry; i++) {
		argv[argc] = s->pool->retry_argv[i];
		lens[argc++] = strlen(s->pool->retry_argv[i]);
	}
	if (again) {
		script_argv(SCRIPT_SEND_OUTCOME, 1, argv, lens);
		if ((rep = db_cmdargv(s->db, argc, argv, lens)) == NULL)
			return -1;
		if (rep->type == REDIS_REPLY_ERROR) {
			log_warnx("sender %d: outcome: %s", s->id, rep->str);
			freeReplyObject(rep);
			return -1;
		}
		freeReplyObject(rep);
		return 0;
	}
	/*
	 * A chunk's first outcome goes in full, so that Redis holds the
	 * script before the EVALSHAs behind it arrive.  A Redis that lost
	 * its scripts (restarted, failed over, a cluster master that never
	 * ran this one) would otherwise answer NOSCRIPT to every outcome of
	 * the chunk, read only once the chunk is sent: a kill -9 meanwhile
	 * would leave the whole chunk to be sent again, not one message.
	 */
	if (script_append(s->db, SCRIPT_SEND_OUTCOME, !s->outcome_loaded,
	    argc, argv, lens) == -1 || db_flush(s->db) == -1) {
		log_warnx("sender %d: redis: an outcome of contact %s is not "
		    "recorded; the recipient will be tried again", s->id, id);
		/* The connection is gone and its replies with it; the next
		 * one may be to a new master, without the script. */
		s->pending = 0;
		s->outcome_failed = 1;
		s->outcome_loaded = 0;
		return -1;
	}
	s->outcome_loaded = 1;
	s->due[s->pending++] = m;
	return 0;
}

/* Queues one outcome and pushes it to Redis now, without waiting. */
static void
outcome(struct sender *s, struct send_msg *m, char what)
{
	if (m->recorded)
		return;
	m->recorded = 1;
	m->what = what;
	m->noscript = 0;
	if (outcome_write(s, m, 0) == -1)
		return;
	/* Each message keeps the entry ours: never idle to XAUTOCLAIM. */
	if (s->cur_eid != NULL) {
		if (db_append(s->db, "XCLAIM %s senders %s 0 %s JUSTID",
		    s->cur_q, s->consumer, s->cur_eid) == 0)
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
	redisReply	*rep;
	size_t		 i, n = s->pending;

	for (i = 0; i < n; i++, s->pending--) {
		if ((rep = db_reply(s->db)) == NULL) {
			s->pending = 0;
			return -1;
		}
		if (script_is_noscript(rep) && s->due[i] != NULL)
			s->due[i]->noscript = 1;
		else if (rep->type == REDIS_REPLY_ERROR)
			log_warnx("sender %d: outcome: %s", s->id, rep->str);
		freeReplyObject(rep);
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

/* Renders, builds and signs one message into m->data; -1 if unusable. */
static int
message_build(struct sender *s, struct send_msg *m)
{
	struct smtp_signing	sig;

	sig.keys = &s->live->keys;
	sig.public_url = s->pool->conf->public_url;
	sig.dkim = s->pool->dkim;
	return smtp_message_build(&s->cur->message, &m->contact, &sig,
	    time(NULL), (unsigned long)random(), &m->data, &s->tmp, &s->tmp2);
}

/* smtp_session's callbacks: arg is the sender, i a message of the batch. */
static void
session_pace(void *arg, size_t i)
{
	struct sender	*s = arg;

	(void)i;
	rate_take(s->pool, s->cur->tenant, s->cur->campaign, s->cur->rate,
	    s->live->send_rate_max);
}

static void
session_outcome(void *arg, size_t i, char what)
{
	struct sender	*s = arg;

	/* Recorded now: a kill -9 after this repeats nothing. */
	outcome(s, &s->msgs[i], what);
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
		s->envs[i].done = m->recorded;
	}
	smtp_session_send(s->pool->relay, s->id, s->cur->message.from_addr,
	    s->envs, s->nmsgs, &cb, s);
}

/*
 * Checks and sends one chunk of an entry's recipients (see batch_run).
 * 0 when every one got an outcome, 1 when the campaign is not sending
 * now or we are stopping, -1 on a Redis failure.
 */
static int
chunk_run(struct sender *s, const struct key *keys, const struct key *ck,
    char (*idv)[24], size_t nids)
{
	const char	*argv[16 + SEND_BATCH_MAX * 2];
	size_t		 lens[16 + SEND_BATCH_MAX * 2];
	char		 nk[24];
	redisReply	*rep;
	size_t		 i, j, k;
	int		 argc = 2, rc = -1;

	snprintf(nk, sizeof(nk), "%zu", 8 + nids);
	argv[argc] = nk;
	lens[argc++] = strlen(nk);
	for (i = 0; i < 8; i++) {
		argv[argc] = keys[i].s;
		lens[argc++] = keys[i].len;
	}
	for (i = 0; i < nids; i++) {
		argv[argc] = ck[i].s;
		lens[argc++] = ck[i].len;
	}
	for (i = 0; i < nids; i++) {
		argv[argc] = idv[i];
		lens[argc++] = strlen(idv[i]);
	}
	if ((rep = send_eval(s, SCRIPT_SEND_CHECK, argc, argv, lens)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1)
		goto out;
	if (strcmp(rep->element[0]->str, "stop") == 0) {
		rc = 1;
		goto out;
	}
	/* Build every message first: a session then streams them. */
	batch_clear(s);
	s->outcome_failed = 0;
	s->outcome_loaded = 0;
	for (i = 1; i + 8 <= rep->elements && s->nmsgs < SEND_BATCH_MAX;
	    i += 8) {
		struct send_msg *m = &s->msgs[s->nmsgs];

		if (parse_u64(rep->element[i]->str, rep->element[i]->len,
		    &m->contact.id) == -1)
			continue;
		for (j = 0, k = i + 1; j < SMTP_FIELDS; j++, k++) {
			m->contact.fields[j] = rep->element[k]->str;
			m->contact.lens[j] = rep->element[k]->len;
		}
		s->nmsgs++;
		if (message_build(s, m) == -1)
			outcome(s, m, 'f');	/* an address MIME refuses */
	}
	if (s->nmsgs > 0)
		batch_send(s);
	if (outcomes_wait(s) == -1)
		goto out;
	/* Not all tried (shutting down): the entry stays pending and is
	 * taken again; the done bits skip what was sent. */
	rc = s->outcome_failed ? -1 : 0;
	for (i = 0; i < s->nmsgs && rc == 0; i++)
		if (!s->msgs[i].recorded)
			rc = 1;
out:
	batch_clear(s);
	freeReplyObject(rep);
	return rc;
}

/*
 * One queue entry: ids is its "ids" field.  0 when handled (ack it), 1
 * when the campaign is not sending now (leave it pending), -1 on a
 * Redis failure.
 *
 * The recipients are checked and sent in chunks of about one second's
 * worth at the campaign's rate (all of them when it has none), so "at
 * the moment of sending" means within a second even for a slow
 * campaign: an opt-out stops the next chunk, still one round trip per
 * chunk.  Before each chunk the entry is claimed again (XCLAIM JUSTID),
 * so a live sender's entry never looks idle to another node's
 * XAUTOCLAIM, however slow the relay or the rate.
 */
static int
batch_run(struct sender *s, const char *q, const char *eid, const char *ids,
    size_t idslen)
{
	const struct smtp_campaign *c = s->cur;
	struct key	 keys[8], ck[SEND_BATCH_MAX];
	char		 idv[SEND_BATCH_MAX][24];
	redisReply	*rep;
	const char	*p = ids, *end = ids + idslen, *comma;
	uint64_t	 id;
	size_t		 nids = 0, off, chunk;
	int		 rc = 0;

	while (p < end && nids < SEND_BATCH_MAX) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (parse_u64(p, (size_t)(comma - p), &id) == 0) {
			snprintf(idv[nids], sizeof(idv[nids]), "%llu",
			    (unsigned long long)id);
			key_contact(&ck[nids], c->tenant, id);
			nids++;
		}
		p = comma + 1;
	}
	/* CHECK_LUA's first KEYS, in its order; the contacts follow. */
	key_campaign(&keys[0], c->tenant, c->campaign);
	key_tenant(&keys[1], c->tenant);
	key_campaign_done(&keys[2], c->tenant, c->campaign);
	key_optouts(&keys[3], c->tenant);
	key_optout_ids(&keys[4], c->tenant);
	key_blocklist(&keys[5], c->tenant);
	key_bounces(&keys[6], c->tenant);
	key_campaign_retry(&keys[7], c->tenant, c->campaign);

	s->cur_q = q;
	s->cur_eid = eid;
	chunk = nids;
	if (c->rate > 0 && (size_t)c->rate < chunk)
		chunk = (size_t)c->rate;
	if (s->live->send_rate_max > 0 &&
	    (size_t)s->live->send_rate_max < chunk)
		chunk = (size_t)s->live->send_rate_max;
	for (off = 0; off < nids && rc == 0; off += chunk) {
		if (off > 0) {
			if ((rep = db_cmd(s->db, "XCLAIM %s senders %s 0 %s "
			    "JUSTID", q, s->consumer, eid)) == NULL)
				return -1;
			freeReplyObject(rep);
		}
		rc = chunk_run(s, keys, ck + off, idv + off,
		    nids - off < chunk ? nids - off : chunk);
		if (rc == 0 && stopping(s->pool) && off + chunk < nids)
			rc = 1;
	}
	s->cur_q = s->cur_eid = NULL;
	return rc;
}

/* Entry id and its ids field from an XREADGROUP/XAUTOCLAIM entry. */
static int
entry_fields(const redisReply *e, const char **eid, const char **ids,
    size_t *idslen)
{
	const redisReply	*f;
	size_t			 i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return -1;
	*eid = e->element[0]->str;
	f = e->element[1];
	*ids = "";
	*idslen = 0;
	if (f->type != REDIS_REPLY_ARRAY)
		return 0;	/* deleted meanwhile: ack it */
	for (i = 0; i + 1 < f->elements; i += 2)
		if (strcmp(f->element[i]->str, "ids") == 0) {
			*ids = f->element[i + 1]->str;
			*idslen = f->element[i + 1]->len;
		}
	return 0;
}

/* Takes one entry of the campaign's queue: own pending first, then new,
 * then a dead consumer's.  1 when one was handled, 0 when none. */
static int
campaign_step(struct sender *s, uint64_t tenant, uint64_t campaign)
{
	struct smtp_campaign	*c;
	redisReply		*rep = NULL, *st, *e = NULL;
	const char		*eid, *ids;
	struct key		 qk, campk, retryk;
	const char		*q, *camp, *retry;
	size_t			 idslen;
	uint64_t		 now = mono_ms();
	int			 rc, got = 0;

	camp = key_campaign(&campk, tenant, campaign);
	q = key_campaign_queue(&qk, tenant, campaign);
	retry = key_campaign_retry(&retryk, tenant, campaign);
	if ((st = db_cmd(s->db, "HGET %s status", camp)) == NULL)
		return -1;
	rc = st->type == REDIS_REPLY_STRING && strcmp(st->str, "sending") == 0;
	freeReplyObject(st);
	if (!rc)
		return 0;
	if ((c = smtp_campaign_get(s->cache, s->db, s->pool->conf->node_id,
	    s->id, tenant, campaign)) == NULL)
		return 0;
	s->cur = c;

	rep = db_cmd(s->db, "XREADGROUP GROUP senders %s COUNT 1 STREAMS %s 0",
	    s->consumer, q);
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 1 && rep->element[0]->element[1]->elements > 0)
		e = rep->element[0]->element[1]->element[0];
	else {
		if (rep != NULL)
			freeReplyObject(rep);
		rep = db_cmd(s->db, "XREADGROUP GROUP senders %s COUNT 1 "
		    "STREAMS %s >", s->consumer, q);
		if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
		    rep->elements == 1 &&
		    rep->element[0]->element[1]->elements > 0)
			e = rep->element[0]->element[1]->element[0];
	}
	if (e == NULL && now >= s->claim_ms) {
		if (rep != NULL)
			freeReplyObject(rep);
		rep = db_cmd(s->db, "XAUTOCLAIM %s senders %s %llu 0-0 COUNT 1",
		    q, s->consumer, (unsigned long long)
		    s->pool->conf->claim_idle_s * 1000);
		if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
		    rep->elements >= 2 && rep->element[1]->elements > 0)
			e = rep->element[1]->element[0];
		else
			s->claim_ms = now + SEND_RETRY_PUMP_MS;
	}
	if (rep == NULL)
		return -1;
	if (e != NULL && entry_fields(e, &eid, &ids, &idslen) == 0) {
		got = 1;
		rc = batch_run(s, q, eid, ids, idslen);
		if (rc == 0) {
			redisReply *ack = db_cmd(s->db, "XACK %s senders %s",
			    q, eid);

			if (ack != NULL)
				freeReplyObject(ack);
		}
	}
	freeReplyObject(rep);
	if (got)
		return 1;

	/* Nothing to take: due retries back in, or maybe the end. */
	if (now >= c->next_pump_ms) {
		const char	*argv[8];
		size_t		 lens[8];
		char		 nowbuf[24];

		c->next_pump_ms = now + SEND_RETRY_PUMP_MS;
		snprintf(nowbuf, sizeof(nowbuf), "%llu",
		    (unsigned long long)now_ms());
		argv[2] = "3"; lens[2] = 1;
		argv[3] = camp; lens[3] = strlen(camp);
		argv[4] = retry; lens[4] = strlen(retry);
		argv[5] = q; lens[5] = strlen(q);
		argv[6] = nowbuf; lens[6] = strlen(nowbuf);
		if ((rep = send_eval(s, SCRIPT_SEND_RETRY, 7, argv,
		    lens)) != NULL) {
			got = rep->type == REDIS_REPLY_INTEGER &&
			    rep->integer > 0;
			freeReplyObject(rep);
		}
		if (got)
			return 1;
		argv[2] = "3"; lens[2] = 1;
		argv[3] = camp; lens[3] = strlen(camp);
		argv[4] = q; lens[4] = strlen(q);
		argv[5] = retry; lens[5] = strlen(retry);
		if ((rep = send_eval(s, SCRIPT_SEND_FINISH, 7, argv,
		    lens)) != NULL) {
			if (rep->type == REDIS_REPLY_INTEGER &&
			    rep->integer == 1) {
				redisReply *r2 = db_cmd(s->db,
				    "SREM %s %llu:%llu", key_sending(),
				    (unsigned long long)tenant,
				    (unsigned long long)campaign);

				if (r2 != NULL)
					freeReplyObject(r2);
				log_info("campaign %llu of tenant %llu: done",
				    (unsigned long long)campaign,
				    (unsigned long long)tenant);
			}
			freeReplyObject(rep);
		}
	}
	return 0;
}

/* Re-reads ff:sending now and then. */
static int
refresh_active(struct sender *s)
{
	redisReply	*rep;
	size_t		 i;

	if (mono_ms() < s->active_ms)
		return 0;
	s->active_ms = mono_ms() + SEND_CAMPAIGNS_MS;
	if ((rep = db_cmd(s->db, "SMEMBERS %s", key_sending())) == NULL)
		return -1;
	for (i = 0; i < s->nactive; i++)
		free(s->active[i]);
	free(s->active);
	s->active = NULL;
	s->nactive = 0;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0) {
		s->active = xcalloc(rep->elements, sizeof(*s->active));
		for (i = 0; i < rep->elements; i++)
			if (rep->element[i]->type == REDIS_REPLY_STRING)
				s->active[s->nactive++] =
				    xstrdup(rep->element[i]->str);
	}
	freeReplyObject(rep);
	return 0;
}

static void *
sender_main(void *arg)
{
	struct sender	*s = arg;
	uint64_t	 tenant, campaign;
	size_t		 i;
	int		 worked, rc;
	char		*colon;

	while (!stopping(s->pool)) {
		if (refresh_active(s) == -1) {
			nap_ms(s->pool, 1000);
			continue;
		}
		worked = 0;
		/* Round robin: one entry per campaign per turn. */
		for (i = 0; i < s->nactive && !stopping(s->pool); i++) {
			const char *tc = s->active[(s->next + i) % s->nactive];

			tenant = strtoull(tc, &colon, 10);
			if (*colon != ':')
				continue;
			campaign = strtoull(colon + 1, NULL, 10);
			sender_take_live(s);
			if ((rc = campaign_step(s, tenant, campaign)) == -1) {
				nap_ms(s->pool, 1000);
				break;
			}
			worked |= rc;
		}
		if (s->nactive > 0)
			s->next = (s->next + 1) % s->nactive;
		if (!worked)
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
	for (i = 0; i < p->nretry; i++)
		snprintf(p->retry_argv[i], sizeof(p->retry_argv[i]), "%d",
		    p->retry[i]);
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
		for (j = 0; j < s->nactive; j++)
			free(s->active[j]);
		free(s->active);
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
