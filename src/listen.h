/*
 * listen.h: a listener on a configured endpoint, for the tracking
 * workers (http.c) and the API (api_http.c): TCP, or a unix stream
 * socket for the endpoints that allow one (config.c says which).
 */
#ifndef FANFARE_LISTEN_H
#define FANFARE_LISTEN_H

#include <event2/listener.h>

#include "fanfare.h"

/* Binds to ep with LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC and the
 * extra flags.  A TCP endpoint (host and numeric port) also gets
 * LEV_OPT_REUSEABLE.  A unix endpoint ("unix:/path") replaces a stale
 * socket file at path (one nobody listens on; any other file, or a live
 * socket, is refused) and gets ep->unix_mode before it accepts anything;
 * listen_unix_remove() takes it away at exit.  NULL with
 * "DIRECTIVE ENDPOINT: reason" in err.  The name stays for its callers;
 * it binds either kind. */
struct evconnlistener *listen_tcp(struct event_base *, const char *directive,
	    const struct ff_endpoint *ep, unsigned flags, int backlog,
	    evconnlistener_cb, void *arg, char *err, size_t errlen);

/* After the listener on ep is freed: unlinks its socket file if it is
 * still a socket that nobody listens on (so never a successor's live
 * one).  Nothing for a TCP endpoint. */
void	 listen_unix_remove(const struct ff_endpoint *ep);

#endif
