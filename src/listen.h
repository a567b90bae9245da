/*
 * listen.h: a TCP listener on a configured endpoint, for the tracking
 * workers (http.c) and the API (api_http.c).
 */
#ifndef FANFARE_LISTEN_H
#define FANFARE_LISTEN_H

#include <event2/listener.h>

#include "fanfare.h"

/* Binds to ep (host and numeric port; a unix socket is refused) with
 * LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE and
 * the extra flags.  NULL with "DIRECTIVE HOST:PORT: reason" in err. */
struct evconnlistener *listen_tcp(struct event_base *, const char *directive,
	    const struct ff_endpoint *ep, unsigned flags, int backlog,
	    evconnlistener_cb, void *arg, char *err, size_t errlen);

#endif
