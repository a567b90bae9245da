/*
 * webhook_deliver.h: the webhook delivery thread of fanfared
 * (webhook_deliver.c).  One thread, its own event base, its own Redis
 * connection: a slow endpoint never touches the tracking workers, the
 * API or the senders.
 */
#ifndef FANFARE_WEBHOOK_DELIVER_H
#define FANFARE_WEBHOOK_DELIVER_H

#include <stddef.h>

struct config;
struct live;
struct webhook_deliverer;

/* Starts the thread (the caller has blocked the signals it must not
 * take): NULL with err on failure. */
struct webhook_deliverer *webhook_deliver_start(const struct config *,
	    struct live *, char *err, size_t errlen);
/* A reload's snapshot: its data_key opens the secrets from now on. */
void	 webhook_deliver_set_live(struct webhook_deliverer *, struct live *);
/* Stops and joins the thread; requests in flight are dropped unanswered
 * (their events stay pending and are sent again: at least once). */
void	 webhook_deliver_stop(struct webhook_deliverer *);

#endif
