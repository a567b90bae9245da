/*
 * store.c: what a tracking worker stores in Redis: it ships the spool's
 * events and looks up click targets, through the worker's asynchronous
 * connection (redis_async.c) on the worker's event base.
 *
 * DESIGN.  The store ships the worker's spool to Redis: it reads a chunk
 * of events (never more than one chunk in flight), groups them by
 * campaign, and sends one call of record.lua per campaign, pipelined.
 * All keys of one call share the hash tag {t:TENANT:c:CAMPAIGN}, so the
 * same calls work on Redis Cluster.  Every event has a position in its
 * spool (segment, offset).  Each campaign's `applied` hash holds, per
 * spool, the position of the last event of that spool applied to it.
 * A chunk goes in two pipelined steps: first the applied positions of
 * its campaigns (HGET), then, per campaign, only the events past that
 * position, with the position of the last one as the new mark (the
 * script checks it once more).  A replay after a lost reply, a
 * reconnect or a kill -9 may cut chunks elsewhere than the first time;
 * the per-event positions still count each event once.  Only when every
 * call of the chunk succeeded
 * is the chunk acked in the spool; otherwise the spool is rewound and
 * the chunk is sent again later.  A NOSCRIPT reply (a flushed Redis)
 * fails the chunk like any error; the next sending of that script is an
 * EVAL with its text (script.h), which caches it again, then EVALSHA
 * once a chunk went through.  A new connection starts with EVAL too.
 * The connection (reconnects, a cluster's routing, replies that do not
 * come) is redis_async.c's; a 250 ms tick drives it.
 *
 * On a Redis Cluster each campaign's call goes to its slot's master,
 * and a chunk is acked only when every master it wrote to says (WAIT)
 * that redis_wait_replicas replicas have it: a failover loses nothing
 * that the spool forgot.
 *
 * Erasure holds against everything in flight here.  An erasure leaves
 * in each campaign a tombstone, the keyed hash of the contact id
 * ({t:T:c:C}:erased, erase.lua), and record.lua stores no per-person
 * data (set memberships, record lines) of a contact whose hash is
 * there: atomically in Redis, so a spool replayed after a kill -9, a
 * chunk sent again, a pipeline in flight or another node's spool all
 * meet it, whatever the order.  The hashes cost an HMAC per distinct
 * contact, so the first step also asks whether the campaign has any
 * tombstone (EXISTS), and only then are they sent; a campaign that got
 * its first tombstone between the two steps fails the call (TOMBSTONE)
 * and the chunk goes again.  Opt-outs (optout.lua) look for the same
 * hash in the tenant's {t:T}:suppressed.
 *
 * A purged tenant's hits (old mails keep being opened) are dropped:
 * the first step asks whether the tenant is in ff:purged (a purge puts
 * it there before it unlinks anything), and its campaigns get no call,
 * so nothing recreates the keys the purge removed.
 *
 * Keys: RECORD_LUA writes a campaign's {t:T:c:C} keys (stats, openers,
 * clickers, link_clickers, unsubscribers, events, applied, ts; links is
 * read for clicks; erased is read), OPTOUT_LUA the tenant's opt-out
 * keys (suppressed is read); keys.c names them all and documents what
 * each holds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "keys.h"
#include "redis_async.h"
#include "script.h"
#include "store_suppress.h"
#include "worker.h"

#define FF_CHUNK_MAX		2048	/* events per chunk */
#define FF_MAX_SPOOLS		(FF_MAX_THREADS + 1)
#define STORE_TICK_MS		250
#define STORE_WAIT_MS		1000	/* WAIT's timeout, on a cluster */
/* Worst case per event: 4 counter arguments (2 new fields: link and
 * country), 2 set members, 4 time bucket arguments (its minute and its
 * hour); 100 bytes of record and 32 of each other argument. */
#define ARG_MAX			(32 + (13 + FF_MAX_SECRETS) * FF_CHUNK_MAX)
#define TEXT_MAX		((340 + 64 * FF_MAX_SECRETS) * FF_CHUNK_MAX)
#define HASH_LEN		64	/* store_erased_contact_hash, hex */

struct field {
	char		name[24];
	long long	delta;
};

/* One time bucket of one kind (series.c), with its count in a chunk. */
struct bucket {
	uint64_t	bucket;		/* unix time / step */
	uint32_t	delta;
	uint8_t		kind;		/* enum series_kind */
	uint8_t		hourly;
};

struct store {
	struct worker		*w;
	const struct ff_endpoint *ep;
	struct ra		*ra;
	int			 closing;
	unsigned		 noscript;	/* 1 << script_id: send EVAL */
	uint64_t		 reconnects;	/* ra_reconnects seen */
	int			 wait_replicas;	/* a cluster: WAIT per chunk */
	struct event		*tick;

	struct spool		*spools[FF_MAX_SPOOLS];	/* [0]: own */
	int			 nspools;

	/* The one chunk in flight. */
	int			 busy;
	int			 failed;
	unsigned		 scripts;	/* 1 << script_id: sent */
	int			 pending;	/* replies still due */
	int			 spool_idx;
	uint64_t		 seg, off;
	size_t			 nevents;
	uint64_t		 last_error_log_ms;

	struct ff_event		 events[FF_CHUNK_MAX];
	uint32_t		 order[FF_CHUNK_MAX];	/* by campaign */
	uint32_t		 sel[FF_CHUNK_MAX];	/* one campaign's new */
	struct group {
		struct store	*st;
		uint32_t	 from, to;	/* in order[] */
		uint64_t	 seg, off;	/* applied mark, 0 0: none */
		int		 tombstones;	/* :erased exists: send
						 * the contacts' hashes */
		int		 purged;	/* its tenant is in
						 * ff:purged: drop */
	}			 groups[FF_CHUNK_MAX];
	uint64_t		 contacts[FF_CHUNK_MAX];	/* scratch */
	int			 ngroups;
	struct field		 fields[2 * FF_CHUNK_MAX + 8];
	struct bucket		 buckets[2 * FF_CHUNK_MAX];
	const char		*argv[ARG_MAX];
	size_t			 argvlen[ARG_MAX];
	char			*text;		/* TEXT_MAX bytes of scratch */
};

struct link_lookup {
	store_link_cb	 cb;
	void		*arg;
};


static void
store_log_error(struct store *st, const char *what, const char *detail)
{
	log_warnx_every(&st->last_error_log_ms, 10000,
	    "worker %d: redis: %s%s%s", st->w->id, what, detail ? ": " : "",
	    detail ? detail : "");
}

static void
chunk_done(struct store *st)
{
	struct spool	*sp = st->spools[st->spool_idx];

	st->busy = 0;
	if (st->failed) {
		spool_rewind(sp);
		return;		/* the tick sends it again */
	}
	st->noscript &= ~st->scripts;	/* they ran: cached now */
	if (spool_ack(sp, st->seg, st->off) == -1)
		log_warn("worker %d: spool %s: ack", st->w->id, spool_name(sp));
	METRIC_ADD(st->w, events_stored, st->nevents);
	if (!st->closing)
		store_kick(st);
}

static void
chunk_reply(struct store *st, const redisReply *reply, enum script_id id)
{
	if (reply == NULL) {
		st->failed = 1;
	} else if (reply->type == REDIS_REPLY_ERROR) {
		st->failed = 1;
		if (script_is_noscript(reply))
			st->noscript |= 1u << id;
		store_log_error(st, script_name(id), reply->str);
	}
	if (--st->pending == 0)
		chunk_done(st);
}

static void
record_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	chunk_reply(privdata, r, SCRIPT_RECORD);
}

static void
optout_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	chunk_reply(privdata, r, SCRIPT_OPTOUT);
}

/* A chunk counts as stored once a replica has it too: a master that
 * dies before replicating loses what it confirmed, and a failed WAIT
 * keeps the chunk in the spool to be applied again (once: positions). */
static void
wait_done(void *arg, int ok)
{
	struct store	*st = arg;

	if (!ok) {
		st->failed = 1;
		store_log_error(st, "WAIT", "fewer replicas than "
		    "redis_wait_replicas have the chunk");
	}
	if (--st->pending == 0)
		chunk_done(st);
}

/* ------------------------------------------------ building one chunk */

static int
event_cmp(const void *a, const void *b, void *arg)
{
	const struct ff_event	*ev = arg;
	const struct ff_event	*x = &ev[*(const uint32_t *)a];
	const struct ff_event	*y = &ev[*(const uint32_t *)b];

	if (x->tenant != y->tenant)
		return x->tenant < y->tenant ? -1 : 1;
	if (x->campaign != y->campaign)
		return x->campaign < y->campaign ? -1 : 1;
	/* Stable within a campaign: keep spool order for the records. */
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

struct builder {
	struct store	*st;
	int		 argc;
	size_t		 used;
	int		 overflow;
};

static char *
b_reserve(struct builder *b, size_t n)
{
	if (b->used + n > TEXT_MAX || b->argc >= ARG_MAX) {
		b->overflow = 1;
		return NULL;
	}
	return b->st->text + b->used;
}

/* Appends an argument of n bytes already written at b_reserve(). */
static void
b_commit(struct builder *b, size_t n)
{
	b->st->argv[b->argc] = b->st->text + b->used;
	b->st->argvlen[b->argc] = n;
	b->argc++;
	b->used += n;
}

static void
b_str(struct builder *b, const char *s, size_t n)
{
	char	*p;

	if ((p = b_reserve(b, n)) == NULL)
		return;
	memcpy(p, s, n);
	b_commit(b, n);
}

static void
b_u64(struct builder *b, uint64_t v)
{
	char	*p;

	if ((p = b_reserve(b, 20)) == NULL)
		return;
	b_commit(b, fmt_u64(p, v));
}

/*
 * A list's length comes before its members but is known only after them:
 * the argument at count_at was written as "0"; point it at the number.
 */
static int
b_set_count(struct builder *b, int count_at, uint64_t n)
{
	char	*p;

	if (b->overflow || (p = b_reserve(b, 20)) == NULL)
		return -1;
	b->st->argv[count_at] = p;
	b->st->argvlen[count_at] = fmt_u64(p, n);
	b->used += b->st->argvlen[count_at];
	return 0;
}

static void
field_add(struct field *f, size_t *nf, const char *name, long long delta)
{
	size_t	i;

	for (i = 0; i < *nf; i++)
		if (strcmp(f[i].name, name) == 0) {
			f[i].delta += delta;
			return;
		}
	snprintf(f[*nf].name, sizeof(f[*nf].name), "%s", name);
	f[*nf].delta = delta;
	(*nf)++;
}

/*
 * Counts the event in its minute and its hour.  A chunk's events are in
 * spool order, hence nearly in time order: the search starts from the
 * newest bucket, so it usually stops at once.
 */
static void
bucket_add(struct bucket *bk, size_t *nb, enum series_kind kind,
    uint64_t ts_ms)
{
	uint64_t	when[2] = { ts_ms / 60000, ts_ms / 3600000 };
	size_t		i, h;

	for (h = 0; h < 2; h++) {
		for (i = *nb; i-- > 0; )
			if (bk[i].bucket == when[h] && bk[i].kind == kind &&
			    bk[i].hourly == h)
				break;
		if (i == (size_t)-1) {
			i = (*nb)++;
			bk[i].bucket = when[h];
			bk[i].kind = (uint8_t)kind;
			bk[i].hourly = (uint8_t)h;
			bk[i].delta = 0;
		}
		bk[i].delta++;
	}
}

static int
has_country(const struct ff_event *ev)
{
	return ev->country[0] >= 'A' && ev->country[0] <= 'Z' &&
	    ev->country[1] >= 'A' && ev->country[1] <= 'Z';
}

/* Spool offset of the end of event i of the chunk (one segment). */
static uint64_t
event_off(const struct store *st, uint32_t i)
{
	return st->off - (uint64_t)(st->nevents - 1 - i) *
	    sizeof(struct ff_event);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * record.lua's nhash, ncontact and its contacts with their keyed hashes
 * (one per key of the ring, so a tombstone made under an older signing
 * key still matches): none unless the campaign has tombstones.  -1 if
 * they did not fit.
 */
static int
b_tombstone_hashes(struct builder *b, const struct group *g, size_t count)
{
	struct store			*st = b->st;
	const struct token_keyring	*ring = &st->w->live->keys;
	size_t				 i, n = 0;
	int				 k;
	char				*p, hash[HASH_LEN + 1];

	if (!g->tombstones || ring->nkeys == 0) {
		b_str(b, "0", 1);
		b_str(b, "0", 1);
		return b->overflow ? -1 : 0;
	}
	for (i = 0; i < count; i++)
		st->contacts[i] = st->events[st->sel[i]].contact;
	qsort(st->contacts, count, sizeof(st->contacts[0]), u64_cmp);
	for (i = 0; i < count; i++)
		if (n == 0 || st->contacts[n - 1] != st->contacts[i])
			st->contacts[n++] = st->contacts[i];
	b_u64(b, (uint64_t)ring->nkeys);
	b_u64(b, n);
	for (i = 0; i < n; i++) {
		b_u64(b, st->contacts[i]);
		for (k = 0; k < ring->nkeys; k++) {
			if ((p = b_reserve(b, HASH_LEN)) == NULL ||
			    store_erased_contact_hash(ring, k,
			    st->contacts[i], hash) == -1)
				return -1;
			memcpy(p, hash, HASH_LEN);
			b_commit(b, HASH_LEN);
		}
	}
	return b->overflow ? -1 : 0;
}

/*
 * One record.lua for the events sel[0..count) of one campaign, in spool
 * order; pos is the position of the last one.  Returns -1 if the
 * arguments did not fit (impossible with the sizes above).
 */
static int
send_campaign(struct store *st, const struct group *g, size_t count,
    const char *pos, const char *minid)
{
	const struct ff_event	*ev0 = &st->events[st->sel[0]];
	struct builder		 b = { st, 2, 0, 0 };	/* 0, 1: script */
	struct field		*f = st->fields;
	struct bucket		*bk = st->buckets;
	size_t			 nf = 0, nb = 0, i, n;
	int			 count_at, k;
	char			 name[24], *p;
	struct key		 key;
	uint64_t		 prev;
	/* RECORD_LUA's KEYS, in its order. */
	static const char *(*const keyfn[9])(struct key *, uint64_t,
	    uint64_t) = { key_camp_stats, key_camp_openers, key_camp_clickers,
	    key_camp_link_clickers, key_camp_events, key_camp_applied,
	    key_camp_unsubscribers, key_camp_ts, key_camp_erased };

	script_argv(SCRIPT_RECORD, (st->noscript >> SCRIPT_RECORD) & 1,
	    st->argv, st->argvlen);
	b_str(&b, "9", 1);
	for (k = 0; k < 9; k++) {
		keyfn[k](&key, ev0->tenant, ev0->campaign);
		b_str(&b, key.s, key.len);
	}
	b_str(&b, spool_name(st->spools[st->spool_idx]),
	    strlen(spool_name(st->spools[st->spool_idx])));
	b_str(&b, pos, 32);
	b_str(&b, minid, strlen(minid));
	if (b_tombstone_hashes(&b, g, count) == -1)
		return -1;

	/* Counters. */
	for (i = 0; i < count; i++) {
		const struct ff_event *ev = &st->events[st->sel[i]];
		int machine = (ev->flags & EVF_MACHINE) != 0;

		switch (ev->kind) {
		case EV_OPEN:
			field_add(f, &nf, machine ? "opens_machine" : "opens",
			    1);
			bucket_add(bk, &nb, machine ? SERIES_OPEN_MACHINE :
			    SERIES_OPEN, ev->ts_ms);
			break;
		case EV_CLICK:
			field_add(f, &nf, machine ? "clicks_machine" :
			    "clicks", 1);
			bucket_add(bk, &nb, machine ? SERIES_CLICK_MACHINE :
			    SERIES_CLICK, ev->ts_ms);
			if (!machine) {
				snprintf(name, sizeof(name), "link:%u",
				    ev->link);
				field_add(f, &nf, name, 1);
			}
			break;
		case EV_UNSUB:
			break;	/* counted once per contact, below */
		}
		if (!machine && ev->kind != EV_UNSUB && has_country(ev)) {
			snprintf(name, sizeof(name), "country:%c%c",
			    ev->country[0], ev->country[1]);
			field_add(f, &nf, name, 1);
		}
	}
	b_u64(&b, nf);
	for (i = 0; i < nf; i++) {
		b_str(&b, f[i].name, strlen(f[i].name));
		b_u64(&b, (uint64_t)f[i].delta);
	}

	/*
	 * Sets that make counts unique: openers, clickers and link clickers
	 * (human, not DNT: remembering who needs consent), unsubscribers
	 * (all: an opt-out is kept per person whatever the headers said).
	 */
	for (k = 0; k < 4; k++) {
		count_at = b.argc;
		b_str(&b, "0", 1);
		n = 0;
		prev = UINT64_MAX;
		for (i = 0; i < count; i++) {
			const struct ff_event *ev = &st->events[st->sel[i]];

			if (k == 3) {
				if (ev->kind != EV_UNSUB)
					continue;
			} else if ((ev->flags & (EVF_MACHINE | EVF_PRIVATE)) ||
			    ev->kind != (k == 0 ? EV_OPEN : EV_CLICK))
				continue;
			if (k != 2) {
				if (ev->contact == prev)
					continue;	/* cheap dedup */
				prev = ev->contact;
				b_u64(&b, ev->contact);
			} else {
				if ((p = b_reserve(&b, 32)) == NULL)
					break;
				size_t len = fmt_u64(p, ev->link);
				p[len++] = ':';
				len += fmt_u64(p + len, ev->contact);
				b_commit(&b, len);
			}
			n++;
		}
		if (b_set_count(&b, count_at, n) == -1)
			return -1;
	}

	/* Time buckets: aggregates, so DNT/GPC hits count as above. */
	b_u64(&b, nb);
	for (i = 0; i < nb; i++) {
		if ((p = b_reserve(&b, SERIES_FIELD_MAX)) == NULL)
			break;
		b_commit(&b, series_field(p, (enum series_kind)bk[i].kind,
		    bk[i].hourly ? SERIES_HOUR : SERIES_MINUTE, bk[i].bucket));
		b_u64(&b, bk[i].delta);
	}

	/* Per-person records, in spool order; never for DNT/GPC hits. */
	count_at = b.argc;
	b_str(&b, "0", 1);
	n = 0;
	p = b_reserve(&b, 0);
	if (p != NULL) {
		size_t len = 0;

		for (i = 0; i < count; i++) {
			const struct ff_event *ev = &st->events[st->sel[i]];

			if (ev->flags & EVF_PRIVATE)
				continue;
			if (b.used + len + 100 > TEXT_MAX) {
				b.overflow = 1;
				break;
			}
			len += fmt_u64(p + len, ev->ts_ms);
			p[len++] = ' ';
			p[len++] = ev->kind == EV_OPEN ? 'o' :
			    ev->kind == EV_CLICK ? 'c' : 'u';
			p[len++] = ' ';
			len += fmt_u64(p + len, ev->contact);
			p[len++] = ' ';
			len += fmt_u64(p + len, ev->link);
			p[len++] = ' ';
			p[len++] = has_country(ev) ? ev->country[0] : '-';
			p[len++] = has_country(ev) ? ev->country[1] : '-';
			p[len++] = ' ';
			p[len++] = (ev->flags & EVF_MACHINE) ? 'm' : '-';
			p[len++] = '\n';
			n++;
		}
		if (n > 0)
			b_commit(&b, len);
	}
	if (b_set_count(&b, count_at, n) == -1)
		return -1;

	if (ra_command_argv(st->ra, record_reply_cb, st, b.argc,
	    st->argv, st->argvlen) == -1)
		return -1;
	st->scripts |= 1u << SCRIPT_RECORD;
	st->pending++;
	return 0;
}

static int
send_optout(struct store *st, const struct ff_event *ev)
{
	const struct token_keyring *ring = &st->w->live->keys;
	struct key	 ct, ids, opt, at, sup;
	char		 ts[24], contact[24];
	char		 hashes[FF_MAX_SECRETS][HASH_LEN + 1];
	const char	*argv[10 + FF_MAX_SECRETS];
	size_t		 lens[10 + FF_MAX_SECRETS];
	int		 argc, i;

	key_contact(&ct, ev->tenant, ev->contact);
	key_optout_ids(&ids, ev->tenant);
	key_optouts(&opt, ev->tenant);
	key_optouts_at(&at, ev->tenant);
	key_suppressed(&sup, ev->tenant);
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)ev->ts_ms);
	snprintf(contact, sizeof(contact), "%llu",
	    (unsigned long long)ev->contact);
	script_argv(SCRIPT_OPTOUT, (st->noscript >> SCRIPT_OPTOUT) & 1, argv,
	    lens);
	argv[2] = "5";
	argv[3] = ct.s;
	argv[4] = ids.s;
	argv[5] = opt.s;
	argv[6] = at.s;
	argv[7] = sup.s;
	argv[8] = contact;
	argv[9] = ts;
	argc = 10;
	/* Under every key of the ring: an erasure made under an older
	 * signing key still holds. */
	for (i = 0; i < ring->nkeys && i < FF_MAX_SECRETS; i++)
		if (store_erased_contact_hash(ring, i, ev->contact,
		    hashes[i]) == 0)
			argv[argc++] = hashes[i];
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (ra_command_argv(st->ra, optout_reply_cb, st, argc, argv,
	    lens) == -1)
		return -1;
	st->scripts |= 1u << SCRIPT_OPTOUT;
	st->pending++;
	return 0;
}

static void	guards_done(struct store *);

/* Each HGET carries its group: on a cluster the campaigns' marks come
 * from several masters, and their replies in no order across them. */
static void
guard_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;
	struct group	*g = privdata;
	struct store	*st = g->st;
	char		 hex[17];

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		st->failed = 1;
	else if (reply->type == REDIS_REPLY_STRING && reply->len == 32) {
		memcpy(hex, reply->str, 16);
		hex[16] = '\0';
		g->seg = strtoull(hex, NULL, 16);
		g->off = strtoull(reply->str + 16, NULL, 16);
	}
	if (--st->pending == 0)
		guards_done(st);
}

/* Whether the campaign has erasure tombstones (record.lua then needs
 * the contacts' hashes). */
static void
tombstone_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;
	struct group	*g = privdata;
	struct store	*st = g->st;

	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
		st->failed = 1;
	else
		g->tombstones = reply->integer > 0;
	if (--st->pending == 0)
		guards_done(st);
}

/* Whether the campaign's tenant was purged: its events are dropped
 * (acked with the chunk) rather than recreate its keys. */
static void
purged_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply	*reply = r;
	struct group	*g = privdata;
	struct store	*st = g->st;

	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
		st->failed = 1;
	else
		g->purged = reply->integer == 1;
	if (--st->pending == 0)
		guards_done(st);
}

/* Step two: per campaign, the events past its mark. */
static void
guards_done(struct store *st)
{
	const struct group	*g;
	char			 pos[33], minid[32];
	uint64_t		 retention_ms, off;
	size_t			 count, i;
	int			 k, n;

	if (st->failed) {
		chunk_done(st);
		return;
	}
	retention_ms = (uint64_t)st->w->conf->retention_days * 86400000ULL;
	snprintf(minid, sizeof(minid), "%llu-0",
	    (unsigned long long)(now_ms() - retention_ms));
	st->pending = 1;	/* held until every command is queued */
	for (k = 0; k < st->ngroups && !st->failed; k++) {
		g = &st->groups[k];
		if (g->purged)
			continue;
		count = 0;
		for (i = g->from; i < g->to; i++) {
			off = event_off(st, st->order[i]);
			if (st->seg < g->seg || (st->seg == g->seg &&
			    off <= g->off))
				continue;	/* applied before */
			st->sel[count++] = st->order[i];
		}
		if (count == 0)
			continue;
		snprintf(pos, sizeof(pos), "%016llx%016llx",
		    (unsigned long long)st->seg, (unsigned long long)
		    event_off(st, st->sel[count - 1]));
		if (send_campaign(st, g, count, pos, minid) == -1) {
			st->failed = 1;
			store_log_error(st, "record", "cannot queue command");
		}
	}
	for (k = 0; k < st->ngroups && !st->failed; k++) {
		g = &st->groups[k];
		for (i = g->from; i < g->to && !g->purged && !st->failed; i++)
			if (st->events[st->order[i]].kind == EV_UNSUB &&
			    send_optout(st, &st->events[st->order[i]]) == -1)
				st->failed = 1;
	}
	if (st->wait_replicas > 0 && !st->failed) {
		if ((n = ra_wait_written(st->ra, wait_done, st,
		    st->wait_replicas, STORE_WAIT_MS)) == -1)
			st->failed = 1;
		else
			st->pending += n;
	}
	if (--st->pending == 0)
		chunk_done(st);
}

/* Step one: the applied marks of the chunk's campaigns. */
static void
ship_chunk(struct store *st, size_t n)
{
	const struct ff_event	*a, *e;
	const char		*name = spool_name(st->spools[st->spool_idx]);
	struct group		*g;
	struct key		 applied, erased;
	size_t			 i;

	for (i = 0; i < n; i++)
		st->order[i] = (uint32_t)i;
	qsort_r(st->order, n, sizeof(st->order[0]), event_cmp, st->events);

	st->busy = 1;
	st->failed = 0;
	st->scripts = 0;
	st->nevents = n;
	st->ngroups = 0;
	st->pending = 1;	/* held until every command is queued */
	for (i = 0; i < n; ) {
		g = &st->groups[st->ngroups++];
		g->st = st;
		g->from = (uint32_t)i;
		g->seg = g->off = 0;
		a = &st->events[st->order[i]];
		for (i++; i < n; i++) {
			e = &st->events[st->order[i]];
			if (e->tenant != a->tenant || e->campaign != a->campaign)
				break;
		}
		g->to = (uint32_t)i;
		g->tombstones = 0;
		g->purged = 0;
		key_camp_applied(&applied, a->tenant, a->campaign);
		key_camp_erased(&erased, a->tenant, a->campaign);
		if (ra_command(st->ra, guard_reply_cb, g, "HGET %b %s",
		    applied.s, applied.len, name) == -1) {
			st->failed = 1;
			st->ngroups--;
			break;
		}
		st->pending++;
		if (ra_command(st->ra, tombstone_reply_cb, g, "EXISTS %b",
		    erased.s, erased.len) == -1) {
			st->failed = 1;
			break;
		}
		st->pending++;
		if (ra_command(st->ra, purged_reply_cb, g, "SISMEMBER %s %llu",
		    key_purged(), (unsigned long long)a->tenant) == -1) {
			st->failed = 1;
			break;
		}
		st->pending++;
	}
	if (--st->pending == 0)
		guards_done(st);
}

void
store_kick(struct store *st)
{
	struct spool	*sp;
	ssize_t		 n;
	int		 i;

	if (st->busy || st->closing || !ra_ready(st->ra))
		return;
	if (ra_reconnects(st->ra) != st->reconnects) {
		/* Maybe another Redis process than before: the next chunk
		 * sends the scripts' texts rather than fail on NOSCRIPT. */
		st->reconnects = ra_reconnects(st->ra);
		st->noscript = ~0u;
	}
	/* Adopted spools (older runs) first, then our own. */
	for (i = st->nspools - 1; i >= 0; i--) {
		sp = st->spools[i];
		n = spool_read(sp, st->events, FF_CHUNK_MAX, &st->seg,
		    &st->off);
		if (n == -1) {
			log_warn("worker %d: spool %s: read", st->w->id,
			    spool_name(sp));
			continue;
		}
		if (n == 0) {
			if (i > 0 && spool_unacked_bytes(sp) == 0) {
				log_info("worker %d: spool %s replayed",
				    st->w->id, spool_name(sp));
				spool_close(sp);
				st->spools[i] = st->spools[--st->nspools];
			}
			continue;
		}
		st->spool_idx = i;
		ship_chunk(st, (size_t)n);
		return;
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store	*st = arg;
	uint64_t	 bytes = 0;
	int		 i;

	for (i = 0; i < st->nspools; i++)
		bytes += spool_bytes(st->spools[i]);
	METRIC_SET(st->w, spool_bytes, bytes);
	ra_tick(st->ra);
	METRIC_SET(st->w, redis_up, (uint64_t)ra_ready(st->ra));
	METRIC_SET(st->w, redis_reconnects, ra_reconnects(st->ra));
	store_kick(st);
}

struct store *
store_new(struct worker *w, const struct ff_endpoint *ep)
{
	struct store	*st = xcalloc(1, sizeof(*st));
	struct timeval	 tv = { 0, STORE_TICK_MS * 1000 };
	char		 who[32];

	st->w = w;
	st->ep = ep;
	st->text = xmalloc(TEXT_MAX);
	st->spools[st->nspools++] = w->spool;
	/* One Redis has no replica to wait for (a Redis with replicas of
	 * its own is not what "one box" means here). */
	st->wait_replicas = ep->nseeds > 0 ? w->conf->redis_wait_replicas : 0;
	snprintf(who, sizeof(who), "worker %d", w->id);
	st->ra = ra_new(w->base, ep, who);
	st->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, st);
	event_add(st->tick, &tv);
	return st;
}

void
store_adopt_spool(struct store *st, struct spool *sp)
{
	if (st->nspools == FF_MAX_SPOOLS) {
		log_warnx("spool %s: too many spools to adopt; left for the "
		    "next start", spool_name(sp));
		spool_close(sp);
		return;
	}
	st->spools[st->nspools++] = sp;
}

int
store_connected(const struct store *st)
{
	return ra_ready(st->ra);
}

static void
link_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	redisReply		*reply = r;
	struct link_lookup	*lk = privdata;

	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		lk->cb(lk->arg, -1, NULL, 0);
	else if (reply->type == REDIS_REPLY_STRING)
		lk->cb(lk->arg, 1, reply->str, reply->len);
	else
		lk->cb(lk->arg, 0, NULL, 0);
	free(lk);
}

int
store_link_get(struct store *st, uint64_t tenant, uint64_t campaign,
    uint32_t link, store_link_cb cb, void *arg)
{
	struct link_lookup	*lk;
	struct key		 key;
	char			 field[16];

	if (st->closing)
		return -1;
	key_camp_links(&key, tenant, campaign);
	snprintf(field, sizeof(field), "%u", link);
	lk = xmalloc(sizeof(*lk));
	lk->cb = cb;
	lk->arg = arg;
	if (ra_command(st->ra, link_reply_cb, lk, "HGET %s %s", key.s,
	    field) == -1) {
		free(lk);
		return -1;
	}
	return 0;
}

/* Drops the connection; callbacks due run now with NULL replies.  The
 * spools stay open: the caller closes them. */
void
store_free(struct store *st)
{
	int	i;

	if (st == NULL)
		return;
	st->closing = 1;
	event_free(st->tick);
	ra_free(st->ra);
	for (i = 1; i < st->nspools; i++)
		spool_close(st->spools[i]);
	free(st->text);
	free(st);
}
