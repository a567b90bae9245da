/*
 * redis_async.c: a tracking worker's asynchronous Redis connection, to
 * one Redis or to a Redis Cluster (hiredis 0.14 has no cluster support,
 * nor reconnects, nor command timeouts: all three are here).
 *
 * DESIGN.  One hiredis async context per node on the worker's event
 * base: the one Redis, or each master of the cluster's slot map
 * (redis_slot.c), learnt with CLUSTER SLOTS from a seed and again
 * whenever a reply says MOVED or ASK or a node is lost.  A command goes
 * to the master of its key's slot; commands to one node are pipelined
 * on its connection in the order they are sent.  Nothing here retries a
 * command: the caller's own retry (store.c replays a chunk from the
 * spool, idempotently) is the one that knows what may be sent twice.
 *
 * Each command carries a small call record so that its reply can be
 * looked at (redirects) before the caller's callback, which runs exactly
 * once.  A node that owes replies and has said nothing for RA_STALL_MS
 * is reset: its callbacks run with NULL and it reconnects after a
 * backoff (100 ms doubling to 5 s).
 *
 * Never blocks: connects, the slot map and WAIT are all asynchronous.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>

#include "redis_async.h"
#include "redis_slot.h"

#define RA_BACKOFF_MIN_MS	100
#define RA_BACKOFF_MAX_MS	5000
#define RA_STALL_MS		3000
#define RA_ROUTE_ARGS		16

struct ra;

struct ra_node {
	struct ra		*ra;
	char			 host[SLOT_HOST_MAX];	/* "" : unix socket */
	int			 port;
	redisAsyncContext	*ac;		/* NULL: down */
	int			 connected;
	int			 retired;	/* out of the map: free on
						 * disconnect */
	int			 written;	/* since ra_wait_written */
	uint64_t		 retry_ms;
	int			 backoff_ms;
	int			 replicas;	/* in the map */
	unsigned		 outstanding;	/* replies due */
	uint64_t		 progress_ms;	/* last reply, or first send */
};

struct ra_call {
	struct ra_node	*node;
	redisCallbackFn	*fn;
	ra_wait_fn	*wait_fn;	/* instead of fn, for a WAIT */
	int		 want;		/* replicas WAIT must report */
	void		*priv;
};

struct ra {
	struct event_base	 *base;
	const struct ff_endpoint *ep;
	char			  who[32];
	int			  cluster;
	int			  closing;
	struct ra_node		 *nodes[SLOT_MAX_NODES];	/* map order */
	int			  nnodes;
	struct slot_map		 *map;		/* cluster only */
	int			  map_stale;
	int			  map_asked;	/* CLUSTER SLOTS in flight */
	int			  next_seed;
	uint64_t		  reconnects;
	uint64_t		  last_log_ms;
};

static void	node_connect(struct ra_node *);

static void
ra_log(struct ra *ra, const char *what, const char *detail)
{
	log_warnx_every(&ra->last_log_ms, 10000, "%s: redis: %s%s%s", ra->who,
	    what, detail ? ": " : "", detail ? detail : "");
}

static struct ra_node *
node_new(struct ra *ra, const char *host, int port)
{
	struct ra_node	*n = xcalloc(1, sizeof(*n));

	n->ra = ra;
	snprintf(n->host, sizeof(n->host), "%s", host != NULL ? host : "");
	n->port = port;
	return n;
}

/* The context is gone (hiredis frees it): back off before the next. */
static void
node_gone(struct ra_node *n)
{
	n->ac = NULL;
	n->connected = 0;
	n->outstanding = 0;
	n->written = 0;
	n->backoff_ms = n->backoff_ms == 0 ? RA_BACKOFF_MIN_MS :
	    n->backoff_ms * 2 > RA_BACKOFF_MAX_MS ? RA_BACKOFF_MAX_MS :
	    n->backoff_ms * 2;
	n->retry_ms = mono_ms() + (uint64_t)n->backoff_ms;
	if (n->ra != NULL && n->ra->cluster)
		n->ra->map_stale = 1;
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	struct ra_node	*n = ac->data;

	if (n->ra == NULL)
		return;
	if (status != REDIS_OK) {
		ra_log(n->ra, "connect", ac->errstr);
		if (n->retired) {	/* hiredis frees ac after this */
			free(n);
			return;
		}
		node_gone(n);
		return;
	}
	n->connected = 1;
	n->backoff_ms = 0;
	log_info("%s: redis %s:%d connected", n->ra->who,
	    n->host[0] ? n->host : "unix", n->port);
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct ra_node	*n = ac->data;

	if (n->retired || n->ra == NULL) {
		free(n);
		return;
	}
	if (status != REDIS_OK)
		ra_log(n->ra, "disconnected", ac->errstr);
	node_gone(n);
}

static void
node_connect(struct ra_node *n)
{
	struct ra		*ra = n->ra;
	redisAsyncContext	*ac;

	if (n->host[0] == '\0')
		ac = redisAsyncConnectUnix(ra->ep->unix_path);
	else
		ac = redisAsyncConnect(n->host, n->port);
	if (ac == NULL || ac->err) {
		ra_log(ra, "connect", ac != NULL ? ac->errstr :
		    "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		node_gone(n);
		return;
	}
	ac->data = n;
	n->ac = ac;
	n->progress_ms = mono_ms();
	ra->reconnects++;
	redisLibeventAttach(ac, ra->base);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
}

/* Drops a node's connection now: its callbacks run with NULL. */
static void
node_reset(struct ra_node *n)
{
	redisAsyncContext	*ac = n->ac;
	int			 was_connected = n->connected;

	if (ac == NULL)
		return;
	redisAsyncFree(ac);
	/* A context that never connected gets no disconnect callback. */
	if (!was_connected && n->ac == ac)
		node_gone(n);
}

/* A node leaves the map: it finishes what it owes, then goes. */
static void
node_retire(struct ra_node *n)
{
	redisAsyncContext	*ac = n->ac;

	if (ac != NULL && n->connected) {
		n->retired = 1;		/* disconnect_cb frees it */
		redisAsyncDisconnect(ac);
		return;
	}
	if (ac != NULL) {	/* still connecting: no callback will come */
		n->ra = NULL;
		n->ac = NULL;
		redisAsyncFree(ac);
	}
	free(n);
}

struct ra *
ra_new(struct event_base *base, const struct ff_endpoint *ep,
    const char *who)
{
	struct ra	*ra = xcalloc(1, sizeof(*ra));

	ra->base = base;
	ra->ep = ep;
	snprintf(ra->who, sizeof(ra->who), "%s", who);
	ra->cluster = ep->nseeds > 0;
	if (ra->cluster) {
		ra->map = xcalloc(1, sizeof(*ra->map));
		slot_map_init(ra->map);
		ra->map_stale = 1;
	} else {
		ra->nodes[0] = node_new(ra, ep->unix_path ? NULL : ep->host,
		    ep->port);
		ra->nnodes = 1;
		node_connect(ra->nodes[0]);
	}
	ra_tick(ra);
	return ra;
}

void
ra_free(struct ra *ra)
{
	struct ra_node		*n;
	redisAsyncContext	*ac;
	int			 i, connected;

	if (ra == NULL)
		return;
	ra->closing = 1;
	for (i = 0; i < ra->nnodes; i++) {
		n = ra->nodes[i];
		n->ra = NULL;
		if ((ac = n->ac) == NULL) {
			free(n);
			continue;
		}
		/* A connected context's disconnect callback frees the node
		 * inside redisAsyncFree; one that never connected calls no
		 * callback, so the node is freed here. */
		connected = n->connected;
		n->ac = NULL;
		redisAsyncFree(ac);
		if (!connected)
			free(n);
	}
	free(ra->map);
	free(ra);
}

int
ra_is_cluster(const struct ra *ra)
{
	return ra->cluster;
}

uint64_t
ra_reconnects(const struct ra *ra)
{
	return ra->reconnects;
}

int
ra_ready(const struct ra *ra)
{
	int	i;

	if (ra->nnodes == 0 || (ra->cluster && ra->map->nnodes == 0))
		return 0;
	for (i = 0; i < ra->nnodes; i++)
		if (!ra->nodes[i]->connected)
			return 0;
	return 1;
}

/* -------------------------------------------------------- the map */

/* Adopts a new map: nodes still masters keep their connection. */
static void
map_adopt(struct ra *ra, const struct slot_map *m)
{
	struct ra_node	*old[SLOT_MAX_NODES], *n;
	int		 i, j, nold = ra->nnodes;

	memcpy(old, ra->nodes, sizeof(old));
	for (i = 0; i < m->nnodes; i++) {
		n = NULL;
		for (j = 0; j < nold; j++)
			if (old[j] != NULL && old[j]->port == m->nodes[i].port &&
			    strcmp(old[j]->host, m->nodes[i].host) == 0) {
				n = old[j];
				old[j] = NULL;
				break;
			}
		ra->nodes[i] = n != NULL ? n : node_new(ra, m->nodes[i].host,
		    m->nodes[i].port);
		ra->nodes[i]->replicas = m->nodes[i].replicas;
	}
	ra->nnodes = m->nnodes;
	for (j = 0; j < nold; j++)
		if (old[j] != NULL)
			node_retire(old[j]);
	*ra->map = *m;
	ra->map_stale = 0;
	ra->map_asked = 0;
	for (i = 0; i < ra->nnodes; i++)
		if (ra->nodes[i]->ac == NULL && mono_ms() >=
		    ra->nodes[i]->retry_ms)
			node_connect(ra->nodes[i]);
}

static void
slots_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct ra_node	*n = privdata;
	struct ra	*ra = n->ra;
	struct slot_map	*m;

	if (ra == NULL || ra->closing)
		return;
	ra->map_asked = 0;
	if (r == NULL || ((redisReply *)r)->type != REDIS_REPLY_ARRAY ||
	    ((redisReply *)r)->elements == 0) {
		ra_log(ra, "CLUSTER SLOTS", r != NULL && ((redisReply *)r)->
		    type == REDIS_REPLY_ERROR ? ((redisReply *)r)->str :
		    "no map");
		return;
	}
	m = xmalloc(sizeof(*m));
	slot_map_init(m);
	if (slot_map_parse(m, r, n->host) == 0)
		map_adopt(ra, m);
	else
		ra_log(ra, "CLUSTER SLOTS", "malformed reply");
	free(m);
}

/*
 * Asks a connected node for the map; with none, connects to the next
 * seed (as a node outside the map, retired once a map is adopted).
 */
static void
map_ask(struct ra *ra)
{
	struct ra_node	*n = NULL;
	int		 i;

	if (ra->map_asked)
		return;
	for (i = 0; i < ra->nnodes && n == NULL; i++)
		if (ra->nodes[i]->connected)
			n = ra->nodes[i];
	if (n == NULL) {
		const struct ff_seed *s = &ra->ep->seeds[ra->next_seed++ %
		    ra->ep->nseeds];

		for (i = 0; i < ra->nnodes; i++)
			if (ra->nodes[i]->port == s->port &&
			    strcmp(ra->nodes[i]->host, s->host) == 0)
				break;
		if (i == ra->nnodes) {
			if (ra->nnodes == SLOT_MAX_NODES)
				return;
			ra->nodes[ra->nnodes++] = node_new(ra, s->host,
			    s->port);
		}
		n = ra->nodes[i];
		if (n->ac == NULL) {
			n->retry_ms = 0;
			node_connect(n);
		}
		if (n->ac == NULL)
			return;
	}
	/* Queued behind the connect when it is still under way. */
	if (redisAsyncCommand(n->ac, slots_cb, n, "CLUSTER SLOTS") ==
	    REDIS_OK)
		ra->map_asked = 1;
}

/* ----------------------------------------------------------- sending */

static void
call_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct ra_call	*c = privdata;
	struct ra_node	*n = c->node;
	redisReply	*reply = r;

	if (n->ra != NULL && !n->ra->closing) {
		if (n->outstanding > 0)
			n->outstanding--;
		n->progress_ms = mono_ms();
		if (n->ra->cluster && reply != NULL &&
		    reply->type == REDIS_REPLY_ERROR &&
		    (strncmp(reply->str, "MOVED ", 6) == 0 ||
		    strncmp(reply->str, "ASK ", 4) == 0 ||
		    strncmp(reply->str, "CLUSTERDOWN", 11) == 0))
			n->ra->map_stale = 1;
	}
	if (c->wait_fn != NULL)
		c->wait_fn(c->priv, reply != NULL && reply->type ==
		    REDIS_REPLY_INTEGER && reply->integer >= c->want);
	else
		c->fn(ac, r, c->priv);
	free(c);
}

/* The node for a command's key; NULL when none is connected for it. */
static struct ra_node *
route(struct ra *ra, int argc, const char *const *argv, const size_t *lens)
{
	struct ra_node	*n;
	int		 k, owner;

	if (!ra->cluster)
		n = ra->nodes[0];
	else {
		if (ra->map->nnodes == 0)
			return NULL;
		if ((k = slot_command_key(argc, argv, lens)) < 0)
			owner = 0;
		else if ((owner = ra->map->owner[slot_of_key(argv[k],
		    lens[k])]) < 0) {
			ra->map_stale = 1;
			return NULL;
		}
		if (owner >= ra->nnodes)
			return NULL;
		n = ra->nodes[owner];
	}
	return n->ac != NULL ? n : NULL;
}

static struct ra_call *
call_new(struct ra_node *n, redisCallbackFn *fn, void *priv)
{
	struct ra_call	*c = xmalloc(sizeof(*c));

	c->node = n;
	c->fn = fn;
	c->wait_fn = NULL;
	c->want = 0;
	c->priv = priv;
	if (n->outstanding++ == 0)
		n->progress_ms = mono_ms();
	return c;
}

static void
call_unsent(struct ra_call *c)
{
	c->node->outstanding--;
	free(c);
}

int
ra_command_argv(struct ra *ra, redisCallbackFn *fn, void *priv, int argc,
    const char **argv, const size_t *lens)
{
	struct ra_node	*n;
	struct ra_call	*c;

	if (ra->closing || (n = route(ra, argc, argv, lens)) == NULL)
		return -1;
	c = call_new(n, fn, priv);
	if (redisAsyncCommandArgv(n->ac, call_cb, c, argc, argv, lens) !=
	    REDIS_OK) {
		call_unsent(c);
		return -1;
	}
	n->written = 1;
	return 0;
}

int
ra_command(struct ra *ra, redisCallbackFn *fn, void *priv, const char *fmt,
    ...)
{
	const char	*argv[RA_ROUTE_ARGS];
	size_t		 lens[RA_ROUTE_ARGS];
	struct ra_node	*n;
	struct ra_call	*c;
	va_list		 ap;
	char		*cmd;
	int		 len, argc, rv = -1;

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	if (!ra->closing && (argc = slot_resp_args(cmd, (size_t)len, argv,
	    lens, RA_ROUTE_ARGS)) > 0 &&
	    (n = route(ra, argc, argv, lens)) != NULL) {
		c = call_new(n, fn, priv);
		if (redisAsyncFormattedCommand(n->ac, call_cb, c, cmd,
		    (size_t)len) == REDIS_OK) {
			n->written = 1;
			rv = 0;
		} else
			call_unsent(c);
	}
	free(cmd);
	return rv;
}

int
ra_wait_written(struct ra *ra, ra_wait_fn *fn, void *priv, int replicas,
    int timeout_ms)
{
	struct ra_node	*n;
	struct ra_call	*c;
	int		 i, want, sent = 0;

	for (i = 0; i < ra->nnodes; i++) {
		n = ra->nodes[i];
		if (!n->written)
			continue;
		if (n->ac == NULL)
			return -1;
		n->written = 0;
		want = ra->cluster && n->replicas < replicas ? n->replicas :
		    replicas;
		if (want == 0)
			continue;
		c = call_new(n, NULL, priv);
		c->wait_fn = fn;
		c->want = want;
		if (redisAsyncCommand(n->ac, call_cb, c, "WAIT %d %d",
		    want, timeout_ms) != REDIS_OK) {
			call_unsent(c);
			return -1;
		}
		sent++;
	}
	return sent;
}

void
ra_tick(struct ra *ra)
{
	struct ra_node	*n;
	uint64_t	 now = mono_ms();
	int		 i;

	for (i = 0; i < ra->nnodes; i++) {
		n = ra->nodes[i];
		if (n->ac == NULL) {
			if (now >= n->retry_ms)
				node_connect(n);
		} else if (n->outstanding > 0 &&
		    now - n->progress_ms > RA_STALL_MS) {
			/* Replies due and none for too long: the callbacks
			 * get NULL now rather than at the end of an outage. */
			ra_log(ra, "no reply", "resetting the connection");
			node_reset(n);
		}
	}
	if (ra->cluster && ra->map_stale)
		map_ask(ra);
}
