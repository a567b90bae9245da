/*
 * redis_async.h: a tracking worker's asynchronous Redis connection, to
 * one Redis or to a Redis Cluster, on the worker's event base.  Used by
 * store.c only; the synchronous side is redis_sync.h.
 */
#ifndef FANFARE_REDIS_ASYNC_H
#define FANFARE_REDIS_ASYNC_H

#include <stddef.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "fanfare.h"

struct ra;

/* who names the owner in log lines ("worker 0"). */
struct ra	*ra_new(struct event_base *, const struct ff_endpoint *,
		    const char *who);
/* Every callback still due runs now, with a NULL reply. */
void		 ra_free(struct ra *);

/* Every node is connected (on a cluster: the map is known and every
 * master connected): what /healthz and redis_up report. */
int		 ra_ready(const struct ra *);
int		 ra_is_cluster(const struct ra *);
uint64_t	 ra_reconnects(const struct ra *);

/*
 * Sends a command to the node that owns its key.  fn runs exactly once
 * with the reply (NULL when the connection was lost or reset), unless
 * the call returns -1: then the command was not sent (no node for its
 * slot, or that node is down) and fn never runs.  A MOVED or ASK reply
 * reaches fn as the error it is and makes the map stale: the caller
 * sends again later, and the command goes where it now belongs.
 */
int		 ra_command_argv(struct ra *, redisCallbackFn *, void *,
		    int argc, const char **argv, const size_t *lens);
int		 ra_command(struct ra *, redisCallbackFn *, void *,
		    const char *fmt, ...);

/*
 * WAIT on every node written since the last call, after those writes,
 * for as many replicas as asked or as the node has (a master that lost
 * its replica in a failover must not hold every write back): fn runs
 * once per WAIT sent with ok 1 when enough replicas have the writes.
 * Returns how many WAITs were sent, or -1.
 */
typedef void	 ra_wait_fn(void *, int ok);
int		 ra_wait_written(struct ra *, ra_wait_fn *, void *,
		    int replicas, int timeout_ms);

/* Every 250 ms or so: reconnects (with backoff), learns a stale map,
 * and resets a node that has not answered for too long. */
void		 ra_tick(struct ra *);

#endif
