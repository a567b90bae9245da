/*
 * redis_sync.c: the synchronous Redis connection, to one Redis or to a
 * Redis Cluster (hiredis 0.14 knows neither slots nor redirects, so the
 * routing is ours).
 *
 * DESIGN.  A struct db holds one hiredis context per node: one node for
 * a plain Redis, one per master on a cluster, where the slot map of
 * CLUSTER SLOTS (redis_slot.c) names each slot's master.  Every command
 * is formatted once (RESP), routed by the slot of its key, and sent
 * as it is; the formatted bytes are kept until its reply is read, so a
 * MOVED (the map is stale: refresh it) or an ASK (a slot migrating: one
 * ASKING on the named node) can send the same command again.  Keyless
 * commands go to any master.
 *
 * A pipeline may span nodes: each node answers its own commands in
 * order, so the first db_reply reads every reply of the pipeline, node
 * by node, and then retries the redirected ones on idle connections;
 * db_reply hands them out in the order they were appended.
 *
 * A lost or timed-out node is closed; the next command reconnects, but
 * not before a backoff (50 ms doubling to 1 s) so that an outage costs a
 * failing caller one connect timeout, not one per command.  On a
 * cluster a failed node also marks the map stale: after a failover the
 * next command learns the new master.
 *
 * Bounds for a caller that must answer in time (the API's workers):
 * db_set_timeout shortens the connect and command timeouts, and a stall
 * limit (db_set_stall_limit, clock reset by db_begin) fails every
 * command at once when Redis has not answered for that long since the
 * first command it left unanswered, so a caller that goes on after a
 * failure (or a cluster map refresh that asks node after node) costs at
 * most the limit plus one timeout; the caller's own work between
 * commands does not count.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_slot.h"
#include "redis_sync.h"

#define DB_TIMEOUT_S		5
#define DB_BACKOFF_MIN_MS	50
#define DB_BACKOFF_MAX_MS	1000
#define DB_REDIRECTS		5	/* MOVED/ASK hops for one command */
#define DB_ROUTE_ARGS		16	/* arguments read to find the key */
#define DB_MAP_TIMEOUT_MS	1000	/* CLUSTER SLOTS, per node asked */
#define DB_MAP_TRIES		3	/* nodes asked for the map */
#define DB_MAP_RETRY_MS		1000	/* after a failed refresh */

struct db_node {
	char		 host[256];	/* "" for a unix socket */
	int		 port;
	redisContext	*rc;
	uint64_t	 retry_ms;	/* no connect before this */
	int		 backoff_ms;
};

struct db_call {			/* one appended command */
	char		*cmd;		/* RESP, for a redirect */
	size_t		 len;
	int		 node;
	redisReply	*reply;
};

struct db {
	const struct ff_endpoint *ep;
	int			  cluster;
	int			  nnodes;
	struct db_node		  nodes[SLOT_MAX_NODES];
	struct slot_map		 *map;		/* cluster only */
	int			  map_stale;
	uint64_t		  map_retry_ms;	/* no refresh before */
	struct db_call		 *calls;	/* the pipeline */
	size_t			  ncalls, callcap, next;
	int			  collected;	/* replies read */
	int			  timeout_ms;	/* connect and command */
	int			  backoff_max_ms;
	int			  stall_ms;	/* 0: no stall limit */
	uint64_t		  waiting_ms;	/* since when no command has been
						 * answered; 0: not waiting */
};

static void	pipeline_reset(struct db *);

struct db *
db_open(const struct ff_endpoint *ep)
{
	struct db	*db = xcalloc(1, sizeof(*db));

	db->ep = ep;
	db->timeout_ms = DB_TIMEOUT_S * 1000;
	db->backoff_max_ms = DB_BACKOFF_MAX_MS;
	db->cluster = ep->nseeds > 0;
	if (db->cluster) {
		db->map = xcalloc(1, sizeof(*db->map));
		slot_map_init(db->map);
		db->map_stale = 1;
	} else {
		db->nnodes = 1;
		if (ep->unix_path == NULL) {
			snprintf(db->nodes[0].host, sizeof(db->nodes[0].host),
			    "%s", ep->host);
			db->nodes[0].port = ep->port;
		}
	}
	return db;
}

static void
node_close(struct db_node *n)
{
	if (n->rc != NULL)
		redisFree(n->rc);
	n->rc = NULL;
}

void
db_close(struct db *db)
{
	int	i;

	if (db == NULL)
		return;
	pipeline_reset(db);
	free(db->calls);
	for (i = 0; i < db->nnodes; i++)
		node_close(&db->nodes[i]);
	free(db->map);
	free(db);
}

int
db_is_cluster(const struct db *db)
{
	return db->cluster;
}

void
db_set_timeout(struct db *db, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };
	int		i;

	db->timeout_ms = ms;
	for (i = 0; i < db->nnodes; i++)
		if (db->nodes[i].rc != NULL)
			redisSetTimeout(db->nodes[i].rc, tv);
}

void
db_set_backoff(struct db *db, int max_ms)
{
	db->backoff_max_ms = max_ms < DB_BACKOFF_MIN_MS ? DB_BACKOFF_MIN_MS :
	    max_ms;
}

void
db_set_stall_limit(struct db *db, int ms)
{
	db->stall_ms = ms;
	db_begin(db);
}

void
db_begin(struct db *db)
{
	db->waiting_ms = 0;
}

/* A command begins: the wait for Redis starts now, unless it had. */
static void
waiting(struct db *db)
{
	if (db->waiting_ms == 0)
		db->waiting_ms = mono_ms();
}

static void
answered(struct db *db)
{
	db->waiting_ms = 0;
}

/* Redis has not answered for longer than the stall limit, counted from
 * the first command it has not answered (time the caller spends on its
 * own work does not count): try nothing. */
static int
stalled(const struct db *db)
{
	return db->stall_ms > 0 && db->waiting_ms != 0 &&
	    mono_ms() - db->waiting_ms > (uint64_t)db->stall_ms;
}

static void
node_fail(struct db *db, struct db_node *n, const char *why)
{
	uint64_t	now = mono_ms();

	log_warnx("redis %s:%d: %s", n->host[0] ? n->host : "unix", n->port,
	    why);
	node_close(n);
	n->backoff_ms = n->backoff_ms == 0 ? DB_BACKOFF_MIN_MS :
	    n->backoff_ms * 2 > db->backoff_max_ms ? db->backoff_max_ms :
	    n->backoff_ms * 2;
	n->retry_ms = now + (uint64_t)n->backoff_ms;
	if (db->cluster)
		db->map_stale = 1;
}

static redisContext *
connect_to(const char *host, int port, const char *unix_path, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	redisContext	*rc;

	if (unix_path != NULL)
		rc = redisConnectUnixWithTimeout(unix_path, tv);
	else
		rc = redisConnectWithTimeout(host, port, tv);
	if (rc != NULL && !rc->err)
		redisSetTimeout(rc, tv);
	return rc;
}

/* An idle connection with something to read has been closed by its
 * server (a restart, a timeout): RESP sends nothing unasked.  Only
 * asked with no pipeline under way, when no reply can be due. */
static int
idle_conn_dead(redisContext *rc)
{
	struct pollfd	pfd = { rc->fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) != 0;
}

/* The node's context, connected; NULL while its backoff runs or when
 * the connect failed. */
static redisContext *
node_ctx(struct db *db, int i)
{
	struct db_node	*n = &db->nodes[i];

	waiting(db);
	if (stalled(db))
		return NULL;
	if (n->rc != NULL && db->ncalls == 0 && idle_conn_dead(n->rc))
		node_close(n);	/* no backoff: reconnect at once */
	if (n->rc != NULL)
		return n->rc;
	if (mono_ms() < n->retry_ms)
		return NULL;
	n->rc = connect_to(n->host, n->port, n->host[0] ? NULL :
	    db->ep->unix_path, db->timeout_ms);
	if (n->rc == NULL) {
		node_fail(db, n, "out of memory");
		return NULL;
	}
	if (n->rc->err) {
		node_fail(db, n, n->rc->errstr);
		return NULL;
	}
	n->backoff_ms = 0;
	/* A connect that took the rest of the caller's patience: kept for
	 * later, no command now. */
	if (stalled(db))
		return NULL;
	return n->rc;
}

/* ------------------------------------------------------- the slot map */

/* Adopts a new map, keeping the connections to the nodes it still has. */
static void
map_adopt(struct db *db, const struct slot_map *m)
{
	struct db_node	old[SLOT_MAX_NODES];
	int		i, j, nold = db->nnodes;

	memcpy(old, db->nodes, sizeof(old));
	memset(db->nodes, 0, sizeof(db->nodes));
	for (i = 0; i < m->nnodes; i++) {
		snprintf(db->nodes[i].host, sizeof(db->nodes[i].host), "%s",
		    m->nodes[i].host);
		db->nodes[i].port = m->nodes[i].port;
		for (j = 0; j < nold; j++)
			if (old[j].rc != NULL && old[j].port == m->nodes[i].port &&
			    strcmp(old[j].host, m->nodes[i].host) == 0) {
				db->nodes[i] = old[j];
				old[j].rc = NULL;
				break;
			}
	}
	for (j = 0; j < nold; j++)
		node_close(&old[j]);
	db->nnodes = m->nnodes;
	*db->map = *m;
	db->map_stale = 0;
}

/* CLUSTER SLOTS with a short timeout: a frozen node must not hold the
 * refresh for a whole command timeout. */
static int
slots_from(struct db *db, redisContext *rc, const char *host,
    struct slot_map *m)
{
	int		 ms = db->timeout_ms < DB_MAP_TIMEOUT_MS ? db->timeout_ms :
			    DB_MAP_TIMEOUT_MS;
	struct timeval	 shortwait = { ms / 1000, (ms % 1000) * 1000 };
	struct timeval	 normal = { db->timeout_ms / 1000,
	    (db->timeout_ms % 1000) * 1000 };
	redisReply	*r;
	int		 rv = -1;

	redisSetTimeout(rc, shortwait);
	r = redisCommand(rc, "CLUSTER SLOTS");
	redisSetTimeout(rc, normal);
	if (r == NULL)
		return -1;
	answered(db);
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
		rv = slot_map_parse(m, r, host);
	freeReplyObject(r);
	return rv;
}

/*
 * Reads CLUSTER SLOTS from the first node that answers: the known
 * masters first, then the configured seeds, DB_MAP_TRIES of them at
 * most; after a failure, not again for DB_MAP_RETRY_MS.  So an outage
 * costs a caller at most one command timeout and a few short ones.
 * Only between pipelines.
 */
static int
map_refresh(struct db *db)
{
	struct slot_map	*m;
	redisContext	*rc;
	int		 i, ok = -1, tries = 0;

	if (mono_ms() < db->map_retry_ms)
		return -1;
	m = xmalloc(sizeof(*m));
	slot_map_init(m);
	for (i = 0; i < db->nnodes && ok == -1 && tries < DB_MAP_TRIES; i++) {
		if ((rc = node_ctx(db, i)) == NULL)
			continue;
		tries++;
		if ((ok = slots_from(db, rc, db->nodes[i].host, m)) == -1 &&
		    rc->err)
			node_fail(db, &db->nodes[i], rc->errstr);
	}
	for (i = 0; i < db->ep->nseeds && ok == -1 && tries < DB_MAP_TRIES &&
	    !stalled(db); i++) {
		tries++;
		rc = connect_to(db->ep->seeds[i].host, db->ep->seeds[i].port,
		    NULL, db->timeout_ms);
		if (rc != NULL && !rc->err && !stalled(db))
			ok = slots_from(db, rc, db->ep->seeds[i].host, m);
		if (rc != NULL)
			redisFree(rc);
	}
	if (ok == 0)
		map_adopt(db, m);
	else {
		db->map_retry_ms = mono_ms() + DB_MAP_RETRY_MS;
		log_warnx("redis cluster: no node gave the slot map");
	}
	free(m);
	return ok;
}

/* --------------------------------------------------------- routing */

/* The node a formatted command goes to; -1 when none can be had. */
static int
route(struct db *db, const char *cmd, size_t len)
{
	const char	*argv[DB_ROUTE_ARGS];
	size_t		 lens[DB_ROUTE_ARGS];
	int		 argc, k, owner;
	unsigned	 slot;

	if (!db->cluster)
		return 0;
	if (db->map_stale && map_refresh(db) == -1 && db->nnodes == 0)
		return -1;
	if ((argc = slot_resp_args(cmd, len, argv, lens, DB_ROUTE_ARGS)) <= 0)
		return -1;
	if ((k = slot_command_key(argc, argv, lens)) < 0)
		return db->nnodes > 0 ? 0 : -1;
	slot = slot_of_key(argv[k], lens[k]);
	if ((owner = db->map->owner[slot]) < 0) {
		/* An unassigned slot: perhaps the map is older than a
		 * failover. */
		if (map_refresh(db) == -1 || (owner = db->map->owner[slot]) < 0)
			return -1;
	}
	return owner;
}

/* One round trip on one node, with ASKING first when asked to. */
static redisReply *
roundtrip(struct db *db, int node, const char *cmd, size_t len, int asking)
{
	redisContext	*rc;
	void		*r = NULL, *ok = NULL;

	if ((rc = node_ctx(db, node)) == NULL)
		return NULL;
	if ((asking && redisAppendCommand(rc, "ASKING") != REDIS_OK) ||
	    redisAppendFormattedCommand(rc, cmd, len) != REDIS_OK ||
	    (asking && redisGetReply(rc, &ok) != REDIS_OK) ||
	    redisGetReply(rc, &r) != REDIS_OK) {
		freeReplyObject(ok);
		node_fail(db, &db->nodes[node], rc->errstr);
		return NULL;
	}
	freeReplyObject(ok);
	answered(db);
	return r;
}

/* After a MOVED or ASK reply: the node to try, or -1 (reply kept). */
static int
redirect(struct db *db, const redisReply *r, int *asking)
{
	char		host[256];
	unsigned	slot;
	int		ask, port, node;

	if (!db->cluster || r == NULL || r->type != REDIS_REPLY_ERROR ||
	    slot_parse_redirect(r->str, r->len, &ask, &slot, host,
	    sizeof(host), &port) == -1)
		return -1;
	if (!ask) {
		/* The slot moved for good: the whole map is likely stale
		 * (a failover or a resharding), learn it again. */
		if (map_refresh(db) == -1)
			return -1;
		*asking = 0;
		if (db->map->owner[slot] >= 0)
			return db->map->owner[slot];
	}
	if ((node = slot_map_node(db->map, host, port)) == -1)
		return -1;
	if (node >= db->nnodes) {	/* a node the map did not list */
		memset(&db->nodes[node], 0, sizeof(db->nodes[node]));
		snprintf(db->nodes[node].host, sizeof(db->nodes[node].host),
		    "%s", host);
		db->nodes[node].port = port;
		db->nnodes = node + 1;
	}
	*asking = ask;
	return node;
}

/* A formatted command on its node, following redirects. */
static redisReply *
exec_formatted(struct db *db, const char *cmd, size_t len)
{
	redisReply	*r;
	int		 node, asking = 0, hop;

	if ((node = route(db, cmd, len)) == -1)
		return NULL;
	for (hop = 0; hop < DB_REDIRECTS; hop++) {
		if ((r = roundtrip(db, node, cmd, len, asking)) == NULL) {
			/* On a cluster, a dead master may have a successor
			 * by now: one more try on a fresh map. */
			if (!db->cluster || hop > 0 || map_refresh(db) == -1 ||
			    (node = route(db, cmd, len)) == -1)
				return NULL;
			continue;
		}
		if ((node = redirect(db, r, &asking)) == -1)
			return r;
		freeReplyObject(r);
	}
	log_warnx("redis cluster: too many redirects");
	return NULL;
}

static redisReply *
db_vcmd(struct db *db, const char *fmt, va_list ap)
{
	redisReply	*r;
	char		*cmd;
	int		 len;

	db_discard(db);
	if ((len = redisvFormatCommand(&cmd, fmt, ap)) < 0)
		return NULL;
	r = exec_formatted(db, cmd, (size_t)len);
	free(cmd);
	return r;
}

redisReply *
db_cmd(struct db *db, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = db_vcmd(db, fmt, ap);
	va_end(ap);
	return r;
}

int
db_cmd_int(struct db *db, long long *n, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;
	int		 rc;

	va_start(ap, fmt);
	r = db_vcmd(db, fmt, ap);
	va_end(ap);
	rc = reply_int(r, n);
	freeReplyObject(r);
	return rc;
}

redisReply *
db_cmdargv(struct db *db, int argc, const char **argv, const size_t *lens)
{
	redisReply	*r;
	char		*cmd;
	int		 len;

	db_discard(db);
	if ((len = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0)
		return NULL;
	r = exec_formatted(db, cmd, (size_t)len);
	free(cmd);
	return r;
}

/* -------------------------------------------------------- pipelines */

static void
pipeline_reset(struct db *db)
{
	size_t	i;

	for (i = 0; i < db->ncalls; i++) {
		free(db->calls[i].cmd);
		if (db->calls[i].reply != NULL)
			freeReplyObject(db->calls[i].reply);
	}
	db->ncalls = db->next = 0;
	db->collected = 0;
}

/* A pipeline that cannot go on: its connections hold replies nobody
 * will read, so they are closed. */
static void
pipeline_abort(struct db *db)
{
	size_t	i;

	if (!db->collected)
		for (i = 0; i < db->ncalls; i++)
			if (db->calls[i].node >= 0)
				node_close(&db->nodes[db->calls[i].node]);
	pipeline_reset(db);
}

/* Takes ownership of a formatted command. */
static int
append_formatted(struct db *db, char *cmd, size_t len)
{
	struct db_call	*c;
	redisContext	*rc;
	int		 node;

	if (db->collected)	/* a new pipeline after an unread one */
		db_discard(db);
	if ((node = route(db, cmd, len)) == -1 ||
	    (rc = node_ctx(db, node)) == NULL ||
	    redisAppendFormattedCommand(rc, cmd, len) != REDIS_OK) {
		free(cmd);
		pipeline_abort(db);
		return -1;
	}
	if (db->ncalls == db->callcap) {
		db->callcap = db->callcap ? db->callcap * 2 : 16;
		db->calls = xreallocarray(db->calls, db->callcap,
		    sizeof(*db->calls));
	}
	c = &db->calls[db->ncalls++];
	c->cmd = cmd;
	c->len = len;
	c->node = node;
	c->reply = NULL;
	return 0;
}

int
db_append(struct db *db, const char *fmt, ...)
{
	va_list	 ap;
	char	*cmd;
	int	 len;

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0) {
		pipeline_abort(db);
		return -1;
	}
	return append_formatted(db, cmd, (size_t)len);
}

int
db_appendargv(struct db *db, int argc, const char **argv, const size_t *lens)
{
	char	*cmd;
	int	 len;

	if ((len = redisFormatCommandArgv(&cmd, argc, argv, lens)) < 0) {
		pipeline_abort(db);
		return -1;
	}
	return append_formatted(db, cmd, (size_t)len);
}

int
db_flush(struct db *db)
{
	int	i, done, rv = 0;

	for (i = 0; i < db->nnodes; i++) {
		if (db->nodes[i].rc == NULL)
			continue;
		done = 0;
		while (!done)
			if (redisBufferWrite(db->nodes[i].rc, &done) ==
			    REDIS_ERR) {
				node_fail(db, &db->nodes[i],
				    db->nodes[i].rc->errstr);
				rv = -1;
				break;
			}
	}
	return rv;
}

/* Reads every reply of the pipeline, then retries the redirected ones
 * (every connection is idle by then). */
static void
collect(struct db *db)
{
	struct db_call	*c;
	redisContext	*rc;
	void		*r;
	size_t		 i;
	int		 asking;

	for (i = 0; i < db->ncalls; i++) {
		c = &db->calls[i];
		if ((rc = db->nodes[c->node].rc) == NULL)
			continue;	/* failed earlier: NULL */
		r = NULL;
		if (redisGetReply(rc, &r) != REDIS_OK) {
			node_fail(db, &db->nodes[c->node], rc->errstr);
			continue;
		}
		answered(db);
		c->reply = r;
	}
	db->collected = 1;
	for (i = 0; i < db->ncalls; i++) {
		c = &db->calls[i];
		asking = 0;
		if (c->reply != NULL && redirect(db, c->reply, &asking) != -1) {
			freeReplyObject(c->reply);
			c->reply = exec_formatted(db, c->cmd, c->len);
		}
	}
}

redisReply *
db_reply(struct db *db)
{
	redisReply	*r;

	if (db->next >= db->ncalls)
		return NULL;
	if (!db->collected)
		collect(db);
	r = db->calls[db->next].reply;
	db->calls[db->next++].reply = NULL;
	if (db->next == db->ncalls)
		pipeline_reset(db);
	return r;
}

int
db_reply_arrays(struct db *db, redisReply **r, size_t n)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < n; i++)
		if ((r[i] = db_reply(db)) == NULL ||
		    r[i]->type != REDIS_REPLY_ARRAY)
			rc = -1;
	return rc;
}

void
db_replies_free(redisReply **r, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		freeReplyObject(r[i]);
}

void
db_discard(struct db *db)
{
	if (db->ncalls == 0)
		return;
	if (!db->collected)
		collect(db);
	pipeline_reset(db);
}

/* ----------------------------------------------------------- scans */

static long long
unlink_on(struct db *db, int node, const char *match)
{
	redisReply	*r, *u, *keys;
	char		 cursor[32] = "0", *cmd;
	long long	 total = 0;
	size_t		 i;
	int		 len;

	do {
		len = redisFormatCommand(&cmd, "SCAN %s MATCH %s COUNT 1000",
		    cursor, match);
		if (len < 0)
			return -1;
		r = roundtrip(db, node, cmd, (size_t)len, 0);
		free(cmd);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY ||
		    r->elements != 2 || r->element[0]->type !=
		    REDIS_REPLY_STRING) {
			freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		keys = r->element[1];
		for (i = 0; i < keys->elements; i++) {
			u = db_cmd(db, "UNLINK %b", keys->element[i]->str,
			    keys->element[i]->len);
			if (u == NULL) {
				freeReplyObject(r);
				return -1;
			}
			total += u->type == REDIS_REPLY_INTEGER ? u->integer : 0;
			freeReplyObject(u);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return total;
}

long long
db_unlink_prefix(struct db *db, const char *match)
{
	long long	n, total = 0;
	int		i;

	db_discard(db);
	if (db->cluster && map_refresh(db) == -1)
		return -1;
	for (i = 0; i < db->nnodes; i++) {
		if ((n = unlink_on(db, i, match)) == -1)
			return -1;
		total += n;
	}
	return total;
}

int
db_hash_each(struct db *db, const char *key, db_hash_fn *fn, void *arg)
{
	redisReply	*rep;
	const char	*f, *v;
	size_t		 i, flen, vlen;
	int		 rc;

	if ((rep = db_cmd(db, "HGETALL %s", key)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	for (i = 0; reply_hash_next(rep, &i, &f, &flen, &v, &vlen);)
		fn(arg, f, flen, v, vlen);
	rc = rep->elements > 0;
	freeReplyObject(rep);
	return rc;
}

/* ---------------------------------------------------------- replies */

int
reply_int(const redisReply *r, long long *out)
{
	if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
		*out = r->integer;
		return 0;
	}
	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return -1;
	return parse_ll(r->str, r->len, out);
}

int
reply_u64(const redisReply *r, uint64_t *out)
{
	if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= 0) {
		*out = (uint64_t)r->integer;
		return 0;
	}
	if (r == NULL || r->type != REDIS_REPLY_STRING)
		return -1;
	return parse_u64(r->str, r->len, out);
}

int
reply_ok(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_INTEGER ||
	    (r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0));
}

const char *
reply_str(const redisReply *r, size_t *len)
{
	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_STATUS))
		return NULL;
	if (len != NULL)
		*len = r->len;
	return r->str;
}

int
reply_is_error(const redisReply *r, const char *prefix)
{
	return r != NULL && r->type == REDIS_REPLY_ERROR && (prefix == NULL ||
	    strncmp(r->str, prefix, strlen(prefix)) == 0);
}

int
reply_hash_next(const redisReply *r, size_t *i, const char **f, size_t *flen,
    const char **v, size_t *vlen)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return 0;
	for (; *i + 1 < r->elements; *i += 2)
		if ((*f = reply_str(r->element[*i], flen)) != NULL &&
		    (*v = reply_str(r->element[*i + 1], vlen)) != NULL) {
			*i += 2;
			return 1;
		}
	return 0;
}

int
reply_done(redisReply *r)
{
	int	rc = reply_ok(r) ? 0 : -1;

	freeReplyObject(r);
	return rc;
}

int
reply_take_ids(redisReply *r, uint64_t **ids, size_t *n)
{
	size_t	i;

	*ids = NULL;
	*n = 0;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	*ids = xcalloc(r->elements + 1, sizeof(**ids));
	for (i = 0; i < r->elements; i++)
		if (reply_u64(r->element[i], &(*ids)[*n]) == 0)
			(*n)++;
	freeReplyObject(r);
	return 0;
}
