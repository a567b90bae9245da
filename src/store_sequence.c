/*
 * store_sequence.c: sequences in Redis (see store_sequence.h for the
 * keys and what each function promises).  The enrollments, the due
 * set and the step campaigns' queues change only in the scripts, one
 * tenant slot each; the record and the hidden campaigns are written
 * here, once, when the sequence is made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "store_campaign.h"
#include "store_sequence.h"
#include "store_tenant.h"

/* A script call's argv, grown as it is filled; numbers live in nums. */
struct call {
	const char	**argv;
	size_t		 *lens;
	char		 *nums;		/* 24 bytes per argument */
	size_t		  argc, cap;
	struct key	 *keys;		/* KEYS built here */
	size_t		  nkeys;
};

static void
call_init(struct call *c, size_t cap)
{
	c->cap = cap + 3;
	c->argc = 2;			/* EVALSHA and the SHA: script_run's */
	c->argv = xcalloc(c->cap, sizeof(*c->argv));
	c->lens = xcalloc(c->cap, sizeof(*c->lens));
	c->nums = xcalloc(c->cap, 24);
	c->keys = xcalloc(c->cap, sizeof(*c->keys));
	c->nkeys = 0;
}

static void
call_free(struct call *c)
{
	free(c->argv);
	free(c->lens);
	free(c->nums);
	free(c->keys);
}

static void
call_str(struct call *c, const char *s, size_t len)
{
	c->argv[c->argc] = s;
	c->lens[c->argc++] = len;
}

static void
call_u64(struct call *c, uint64_t v)
{
	char	*p = c->nums + 24 * c->argc;

	call_str(c, p, (size_t)snprintf(p, 24, "%llu", (unsigned long long)v));
}

static void
call_ll(struct call *c, long long v)
{
	char	*p = c->nums + 24 * c->argc;

	call_str(c, p, (size_t)snprintf(p, 24, "%lld", v));
}

/* The next key slot, to fill with a key_*() and pass with call_key. */
static struct key *
call_key(struct call *c)
{
	return &c->keys[c->nkeys++];
}

/* argv[2] is the key count, then the keys in order. */
static void
call_keys_done(struct call *c)
{
	size_t	i;

	call_u64(c, c->nkeys);
	for (i = 0; i < c->nkeys; i++)
		call_str(c, c->keys[i].s, c->keys[i].len);
}

/* The script's reply, or NULL (logged) when Redis failed or answered an
 * error. */
static redisReply *
call_run(struct db *db, struct call *c, enum script_id id, uint64_t tenant,
    uint64_t sequence)
{
	redisReply	*rep;

	rep = script_run(db, id, (int)c->argc, c->argv, c->lens);
	if (rep != NULL && reply_is_error(rep, NULL)) {
		log_warnx("sequence %llu of tenant %llu: %s: %.*s",
		    (unsigned long long)sequence, (unsigned long long)tenant,
		    script_name(id), (int)rep->len, rep->str);
		freeReplyObject(rep);
		rep = NULL;
	}
	return rep;
}

/* ------------------------------------------------------------ create */

/* Step k's hidden campaign: its links, its record (paused, a snapshot
 * that never completes, so send_finish never calls it done), its queue
 * and group, its place in the campaign index (erasure walks it). */
static int
step_campaign_create(struct db *db, uint64_t tenant, uint64_t sequence,
    const struct sequence_def *d, size_t k, const struct sequence_links *l,
    uint64_t now, uint64_t *id)
{
	redisReply	*rep;
	struct key	 key;
	size_t		 i;
	int		 rc;

	if (store_tenant_next_id(db, tenant, "campaign", id) == -1)
		return -1;
	for (i = 0; i < l->n; i++)
		if (l->links[i] != NULL && store_campaign_link_set(db, tenant,
		    *id, (uint32_t)i, l->links[i]) == -1)
			return -1;
	rep = db_cmd(db, "HSET %s name %b%s%llu template_id %llu from %b "
	    "reply_to %s rate_per_second 0 track_opens 1 track_clicks 1 "
	    "status paused created_at %llu launched_at %llu kind "
	    "sequence_step sequence %llu step %llu total 0 queued 0 snapshot "
	    "sequence sent 0 failed 0 deferred 0 bounced 0 sup_opted_out 0 "
	    "sup_blocklisted 0 sup_special_category 0 sup_bounced 0 "
	    "sup_erased 0 sup_complained 0",
	    key_campaign(&key, tenant, *id), d->name, d->name_len, ": step ",
	    (unsigned long long)k + 1,
	    (unsigned long long)d->steps[k].template_id, d->from,
	    d->from_len, "", (unsigned long long)now,
	    (unsigned long long)now, (unsigned long long)sequence,
	    (unsigned long long)k);
	rc = reply_done(rep);
	if (rc == 0)
		rc = reply_done(db_cmd(db, "XGROUP CREATE %s senders 0 MKSTREAM",
		    key_campaign_queue(&key, tenant, *id)));
	if (rc == 0)
		rc = reply_done(db_cmd(db, "ZADD %s %llu %llu",
		    key_campaigns(&key, tenant), (unsigned long long)*id,
		    (unsigned long long)*id));
	return rc;
}

int
store_sequence_create(struct db *db, uint64_t tenant,
    const struct sequence_def *d, const struct sequence_links *links,
    uint64_t now, uint64_t *id)
{
	struct key	 key;
	uint64_t	 camp[SEQUENCE_STEPS_MAX];
	/* HSET, the key, 6 fields and values, 4 of each per step. */
	const char	*argv[14 + 8 * SEQUENCE_STEPS_MAX];
	size_t		 lens[14 + 8 * SEQUENCE_STEPS_MAX], k;
	char		 nums[4 * SEQUENCE_STEPS_MAX + 4][24];
	char		 fields[4 * SEQUENCE_STEPS_MAX][32];
	int		 argc = 0, nn = 0, nf = 0;

#define ARG(s, l)	do { argv[argc] = (s); lens[argc++] = (l); } while (0)
#define ARGS(s)		ARG((s), strlen(s))
#define NUM(v)		do {						\
	ARG(nums[nn], (size_t)snprintf(nums[nn], 24, "%llu",		\
	    (unsigned long long)(v)));					\
	nn++;								\
} while (0)
#define FIELD(fmt, k)	do {						\
	ARG(fields[nf], (size_t)snprintf(fields[nf], 32, fmt, k));	\
	nf++;								\
} while (0)

	if (store_tenant_next_id(db, tenant, "sequence", id) == -1)
		return -1;
	for (k = 0; k < d->nsteps; k++)
		if (step_campaign_create(db, tenant, *id, d, k, &links[k], now,
		    &camp[k]) == -1)
			return -1;
	ARGS("HSET");
	ARGS(key_sequence(&key, tenant, *id));
	ARGS("name");
	ARG(d->name, d->name_len);
	ARGS("from");
	ARG(d->from, d->from_len);
	ARGS("status");
	ARGS("draft");
	ARGS("created_at");
	NUM(now);
	ARGS("trigger_list");
	NUM(d->trigger_list);
	ARGS("nsteps");
	NUM(d->nsteps);
	for (k = 0; k < d->nsteps; k++) {
		FIELD("step:%zu:template", k);
		NUM(d->steps[k].template_id);
		FIELD("step:%zu:delay", k);
		NUM(d->steps[k].delay_ms);
		FIELD("step:%zu:if", k);
		ARGS(sequence_if_name(d->steps[k].cond));
		FIELD("step:%zu:campaign", k);
		NUM(camp[k]);
	}
#undef ARG
#undef ARGS
#undef NUM
#undef FIELD
	if (reply_done(db_cmdargv(db, argc, argv, lens)) == -1 ||
	    reply_done(db_cmd(db, "ZADD %s %llu %llu", key_sequences(&key,
	    tenant), (unsigned long long)*id, (unsigned long long)*id)) == -1)
		return -1;
	if (d->trigger_list != 0 && reply_done(db_cmd(db, "SADD %s %llu",
	    key_list_sequences(&key, tenant, d->trigger_list),
	    (unsigned long long)*id)) == -1)
		return -1;
	return 0;
}

/* --------------------------------------------------------------- read */

static void
record_field(struct sequence_record *r, const char *f, const char *v,
    size_t vlen)
{
	uint64_t	 u;
	unsigned	 k;
	int		 off = 0;
	char		 what[16];
	long long	 n;

	if (strcmp(f, "name") == 0 && r->name == NULL)
		r->name = xstrndup(v, vlen);
	else if (strcmp(f, "from") == 0 && r->from == NULL)
		r->from = xstrndup(v, vlen);
	else if (strcmp(f, "status") == 0 && r->status == NULL)
		r->status = xstrndup(v, vlen);
	else if (sscanf(f, "step:%u:%15s%n", &k, what, &off) == 2 &&
	    f[off] == '\0' && k < SEQUENCE_STEPS_MAX) {
		if (strcmp(what, "if") == 0)
			(void)sequence_parse_if(v, vlen, &r->steps[k].cond);
		else if (strcmp(what, "skipped") == 0) {
			if (parse_ll(v, vlen, &n) == 0)
				r->steps[k].skipped = n;
		} else if (parse_u64(v, vlen, &u) == 0) {
			if (strcmp(what, "template") == 0)
				r->steps[k].template_id = u;
			else if (strcmp(what, "delay") == 0)
				r->steps[k].delay_ms = u;
			else if (strcmp(what, "campaign") == 0)
				r->steps[k].campaign = u;
		}
	} else if (parse_ll(v, vlen, &n) == 0) {
		u = n < 0 ? 0 : (uint64_t)n;
		if (strcmp(f, "trigger_list") == 0)
			r->trigger_list = u;
		else if (strcmp(f, "created_at") == 0)
			r->created_at = u;
		else if (strcmp(f, "nsteps") == 0)
			r->nsteps = u > SEQUENCE_STEPS_MAX ?
			    SEQUENCE_STEPS_MAX : (size_t)u;
		else if (strcmp(f, "enrolled") == 0)
			r->enrolled = n;
		else if (strcmp(f, "active") == 0)
			r->active = n;
		else if (strcmp(f, "completed") == 0)
			r->completed = n;
		else if (strcmp(f, "exited") == 0)
			r->exited = n;
	}
}

int
store_sequence_get(struct db *db, uint64_t tenant, uint64_t id,
    struct sequence_record *r)
{
	redisReply	*rep;
	struct key	 key;
	const char	*f, *v;
	size_t		 i = 0, vlen;

	memset(r, 0, sizeof(*r));
	r->id = id;
	if ((rep = db_cmd(db, "HGETALL %s", key_sequence(&key, tenant,
	    id))) == NULL)
		return -1;
	if (reply_is_error(rep, NULL)) {
		freeReplyObject(rep);
		return -1;
	}
	while (reply_hash_next(rep, &i, &f, NULL, &v, &vlen))
		record_field(r, f, v, vlen);
	freeReplyObject(rep);
	if (r->status == NULL) {
		store_sequence_free(r);
		return 0;
	}
	return 1;
}

void
store_sequence_free(struct sequence_record *r)
{
	free(r->name);
	free(r->from);
	free(r->status);
	r->name = r->from = r->status = NULL;
}

int
store_sequence_ids(struct db *db, uint64_t tenant, uint64_t **ids,
    size_t *n)
{
	struct key	k;

	return reply_take_ids(db_cmd(db, "ZRANGE %s 0 -1",
	    key_sequences(&k, tenant)), ids, n);
}

int
store_sequence_triggered_by(struct db *db, uint64_t tenant, uint64_t list,
    uint64_t **ids, size_t *n)
{
	struct key	k;

	return reply_take_ids(db_cmd(db, "SMEMBERS %s",
	    key_list_sequences(&k, tenant, list)), ids, n);
}

/* -------------------------------------------------------------- state */

int
store_sequence_set_state(struct db *db, uint64_t tenant,
    const struct sequence_record *r, const char *to,
    enum sequence_verdict *verdict)
{
	struct call	 c;
	redisReply	*rep;
	const char	*first;
	size_t		 k;
	int		 rc = -1, active = strcmp(to, "active") == 0;

	call_init(&c, 3 + r->nsteps + 1);
	key_sequence(call_key(&c), tenant, r->id);
	key_tenant(call_key(&c), tenant);
	for (k = 0; k < r->nsteps; k++)
		key_campaign(call_key(&c), tenant, r->steps[k].campaign);
	call_keys_done(&c);
	call_str(&c, to, strlen(to));
	rep = call_run(db, &c, SCRIPT_SEQUENCE_STATE, tenant, r->id);
	call_free(&c);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
	    (first = reply_str(rep->element[0], NULL)) != NULL) {
		rc = 0;
		*verdict = strcmp(first, "ok") == 0 ? SEQUENCE_OK :
		    strcmp(first, "gone") == 0 ? SEQUENCE_GONE :
		    strcmp(first, "tenant") == 0 ? SEQUENCE_TENANT :
		    SEQUENCE_STATE;
	}
	freeReplyObject(rep);
	if (rc == -1 || *verdict != SEQUENCE_OK)
		return rc;
	/* The global sets after the script: a sequence found active and
	 * missing from them is only late (activate again adds it). */
	for (k = 0; k < r->nsteps; k++)
		if (reply_done(db_cmd(db, "%s %s %llu:%llu", active ? "SADD" :
		    "SREM", key_sending(), (unsigned long long)tenant,
		    (unsigned long long)r->steps[k].campaign)) == -1)
			return -1;
	return reply_done(db_cmd(db, "%s %s %llu:%llu", active ? "SADD" :
	    "SREM", key_sequences_active(), (unsigned long long)tenant,
	    (unsigned long long)r->id));
}

int
store_sequence_active_all(struct db *db, struct sequence_ref **all,
    size_t *n)
{
	redisReply		*rep;
	unsigned long long	 t, s;
	size_t			 i;
	int			 off;
	const char		*m;

	*all = NULL;
	*n = 0;
	if ((rep = db_cmd(db, "SMEMBERS %s", key_sequences_active())) ==
	    NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	*all = xcalloc(rep->elements + 1, sizeof(**all));
	for (i = 0; i < rep->elements; i++) {
		off = 0;
		if ((m = reply_str(rep->element[i], NULL)) == NULL ||
		    sscanf(m, "%llu:%llu%n", &t, &s, &off) != 2 ||
		    m[off] != '\0')
			continue;
		(*all)[*n].tenant = t;
		(*all)[(*n)++].sequence = s;
	}
	freeReplyObject(rep);
	return 0;
}

int
store_sequence_active_remove(struct db *db, uint64_t tenant,
    uint64_t sequence)
{
	return reply_done(db_cmd(db, "SREM %s %llu:%llu",
	    key_sequences_active(), (unsigned long long)tenant,
	    (unsigned long long)sequence));
}

/*
 * The keys enrolment and each step check a person against (opt-outs,
 * bounces, complaints), then each contact's: the order both scripts read.
 */
static void
suppression_keys(struct call *c, uint64_t tenant, const uint64_t *ids,
    size_t n)
{
	size_t	i;

	key_optouts(call_key(c), tenant);
	key_optout_ids(call_key(c), tenant);
	key_bounces(call_key(c), tenant);
	key_complaints(call_key(c), tenant);
	for (i = 0; i < n; i++)
		key_contact(call_key(c), tenant, ids[i]);
}

/* ------------------------------------------------------------ enroll */

/* The reasons sequence_enroll.lua gives, as static strings. */
static const char *const enroll_reasons[] = { "not_found",
    "already_enrolled", "quarantined", "opted_out", "bounced",
    "complained" };

int
store_sequence_enroll(struct db *db, uint64_t tenant, uint64_t sequence,
    const uint64_t *ids, size_t n, uint64_t now, const char **why)
{
	struct call	 c;
	redisReply	*rep;
	const char	*s;
	size_t		 i, j, len;
	int		 rc = -1;

	for (i = 0; i < n; i++)
		why[i] = "not_found";
	call_init(&c, 8 + 2 * n);
	key_sequence(call_key(&c), tenant, sequence);
	key_sequence_enrolled(call_key(&c), tenant, sequence);
	key_sequence_due(call_key(&c), tenant, sequence);
	suppression_keys(&c, tenant, ids, n);
	call_keys_done(&c);
	call_u64(&c, now);
	for (i = 0; i < n; i++)
		call_u64(&c, ids[i]);
	rep = call_run(db, &c, SCRIPT_SEQUENCE_ENROLL, tenant, sequence);
	call_free(&c);
	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    (s = reply_str(rep->element[0], NULL)) == NULL)
		goto out;
	if (strcmp(s, "gone") == 0) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < n && i + 1 < rep->elements; i++) {
		if ((s = reply_str(rep->element[i + 1], &len)) == NULL)
			continue;
		if (len == 0) {
			why[i] = NULL;
			continue;
		}
		for (j = 0; j < FF_NELEM(enroll_reasons); j++)
			if (strcmp(s, enroll_reasons[j]) == 0)
				why[i] = enroll_reasons[j];
	}
	rc = 1;
out:
	freeReplyObject(rep);
	return rc;
}

/* ------------------------------------------------------------- tick */

int
store_sequence_claim(struct db *db, uint64_t tenant, uint64_t sequence,
    uint64_t now, size_t max, uint64_t lease_ms, struct sequence_claim *cl)
{
	struct call	 c;
	redisReply	*rep;
	const char	*s;
	uint64_t	 id, step;
	size_t		 i;
	int		 rc = -1;

	cl->n = 0;
	if (max > SEQUENCE_CLAIM_MAX)
		max = SEQUENCE_CLAIM_MAX;
	call_init(&c, 10);
	key_sequence(call_key(&c), tenant, sequence);
	key_tenant(call_key(&c), tenant);
	key_sequence_enrolled(call_key(&c), tenant, sequence);
	key_sequence_due(call_key(&c), tenant, sequence);
	key_sequence_flight(call_key(&c), tenant, sequence);
	call_keys_done(&c);
	call_u64(&c, now);
	call_u64(&c, max);
	call_u64(&c, lease_ms);
	rep = call_run(db, &c, SCRIPT_SEQUENCE_CLAIM, tenant, sequence);
	call_free(&c);
	if (rep == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
	    (s = reply_str(rep->element[0], NULL)) == NULL)
		goto out;
	rc = strcmp(s, "ok") == 0 ? 1 : 0;
	for (i = 1; rc == 1 && i + 1 < rep->elements && cl->n < max; i += 2)
		if (reply_u64(rep->element[i], &id) == 0 &&
		    reply_u64(rep->element[i + 1], &step) == 0 &&
		    step < SEQUENCE_STEPS_MAX) {
			cl->ids[cl->n] = id;
			cl->steps[cl->n++] = (uint32_t)step;
		}
out:
	freeReplyObject(rep);
	return rc;
}

int
store_sequence_hits(struct db *db, uint64_t tenant, uint64_t campaign,
    int clicks, const uint64_t *ids, size_t n, int *hit)
{
	redisReply	*rep;
	struct key	 k;
	const char	**argv;
	size_t		*lens, i;
	char		*nums;
	long long	 v;
	int		 rc = -1;

	if (n == 0)
		return 0;
	argv = xcalloc(n + 2, sizeof(*argv));
	lens = xcalloc(n + 2, sizeof(*lens));
	nums = xcalloc(n, 24);
	argv[0] = "SMISMEMBER";
	lens[0] = 10;
	argv[1] = clicks ? key_camp_clickers(&k, tenant, campaign) :
	    key_camp_openers(&k, tenant, campaign);
	lens[1] = k.len;
	for (i = 0; i < n; i++) {
		argv[i + 2] = nums + 24 * i;
		lens[i + 2] = (size_t)snprintf(nums + 24 * i, 24, "%llu",
		    (unsigned long long)ids[i]);
	}
	rep = db_cmdargv(db, (int)n + 2, argv, lens);
	free(argv);
	free(lens);
	free(nums);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == n) {
		for (i = 0; i < n; i++)
			hit[i] = reply_int(rep->element[i], &v) == 0 && v == 1;
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

int
store_sequence_advance(struct db *db, uint64_t tenant, uint64_t sequence,
    uint32_t k, long long next_delay_ms, uint64_t campaign,
    const uint64_t *ids, const int *send, size_t n, uint64_t now,
    struct sequence_advance *a)
{
	struct call	 c;
	redisReply	*rep;
	long long	 v[4] = { 0, 0, 0, 0 };
	size_t		 i;
	int		 rc = -1;

	memset(a, 0, sizeof(*a));
	call_init(&c, 16 + 3 * n);
	key_sequence(call_key(&c), tenant, sequence);
	key_sequence_enrolled(call_key(&c), tenant, sequence);
	key_sequence_due(call_key(&c), tenant, sequence);
	key_sequence_flight(call_key(&c), tenant, sequence);
	key_campaign(call_key(&c), tenant, campaign);
	key_campaign_queue(call_key(&c), tenant, campaign);
	key_campaign_queued(call_key(&c), tenant, campaign);
	suppression_keys(&c, tenant, ids, n);
	call_keys_done(&c);
	call_u64(&c, now);
	call_u64(&c, k);
	call_ll(&c, next_delay_ms);
	for (i = 0; i < n; i++) {
		call_u64(&c, ids[i]);
		call_str(&c, send[i] ? "1" : "0", 1);
	}
	rep = call_run(db, &c, SCRIPT_SEQUENCE_ADVANCE, tenant, sequence);
	call_free(&c);
	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
		for (i = 0; i < 4; i++)
			(void)reply_int(rep->element[i], &v[i]);
		a->queued = v[0];
		a->skipped = v[1];
		a->exited = v[2];
		a->completed = v[3];
		rc = 0;
	}
	freeReplyObject(rep);
	return rc;
}

/* ------------------------------------------------------------ erasure */

int
store_sequence_forget_contact(struct db *db, uint64_t tenant,
    uint64_t contact)
{
	redisReply	*rep;
	struct key	 k;
	uint64_t	*ids = NULL, step;
	size_t		 n = 0, i;
	int		 rc = 0, was_active;

	if (store_sequence_ids(db, tenant, &ids, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if ((rep = db_cmd(db, "HGET %s %llu",
		    key_sequence_enrolled(&k, tenant, ids[i]),
		    (unsigned long long)contact)) == NULL) {
			rc = -1;
			break;
		}
		was_active = reply_u64(rep, &step) == 0;
		freeReplyObject(rep);
		/* The due entry first: a tick between the two finds no
		 * field and drops it. */
		if (reply_done(db_cmd(db, "ZREM %s %llu", key_sequence_due(&k,
		    tenant, ids[i]), (unsigned long long)contact)) == -1 ||
		    reply_done(db_cmd(db, "ZREM %s %llu",
		    key_sequence_flight(&k, tenant, ids[i]),
		    (unsigned long long)contact)) == -1 ||
		    (rep = db_cmd(db, "HDEL %s %llu",
		    key_sequence_enrolled(&k, tenant, ids[i]),
		    (unsigned long long)contact)) == NULL) {
			rc = -1;
			break;
		}
		/* Counted once, by whoever removed the field. */
		if (was_active && rep->type == REDIS_REPLY_INTEGER &&
		    rep->integer == 1 &&
		    (reply_done(db_cmd(db, "HINCRBY %s active -1",
		    key_sequence(&k, tenant, ids[i]))) == -1 ||
		    reply_done(db_cmd(db, "HINCRBY %s exited 1",
		    key_sequence(&k, tenant, ids[i]))) == -1))
			rc = -1;
		freeReplyObject(rep);
	}
	free(ids);
	return rc;
}
