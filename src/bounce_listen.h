/*
 * bounce_listen.h: the SMTP listener for bounces and complaints
 * (bounce_listen.c), on the main thread's event loop.
 */
#ifndef FANFARE_BOUNCE_LISTEN_H
#define FANFARE_BOUNCE_LISTEN_H

#include <stddef.h>

struct event_base;
struct config;
struct live;
struct bounce_listener;

/* Listens on conf->bounce_listen (the caller checks it is set); NULL
 * with "bounce_listen HOST:PORT: reason" in err. */
struct bounce_listener *bounce_listen_new(struct event_base *,
	    const struct config *, struct live *, char *err, size_t errlen);
/* A reload's keys: tokens signed by a retired secret stop verifying. */
void	 bounce_listen_set_live(struct bounce_listener *, struct live *);
void	 bounce_listen_free(struct bounce_listener *);

#endif
