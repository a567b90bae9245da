/*
 * listen.c: the one way Fanfare binds a TCP listener (listen.h).  Only
 * at start-up: the lookup is numeric for the port, but the host may
 * still be a name.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/util.h>

#include "listen.h"

struct evconnlistener *
listen_tcp(struct event_base *base, const char *directive,
    const struct ff_endpoint *ep, unsigned flags, int backlog,
    evconnlistener_cb cb, void *arg, char *err, size_t errlen)
{
	struct evutil_addrinfo	 hints, *res = NULL;
	struct evconnlistener	*l;
	char			 port[16];
	int			 rc, saved;

	if (ep->host == NULL) {
		errorf(err, errlen, "%s: unix sockets are not supported",
		    directive);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", ep->port);
	if ((rc = evutil_getaddrinfo(ep->host, port, &hints, &res)) != 0) {
		errorf(err, errlen, "%s %s:%d: %s", directive, ep->host,
		    ep->port, evutil_gai_strerror(rc));
		return NULL;
	}
	l = evconnlistener_new_bind(base, cb, arg, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE | flags, backlog,
	    res->ai_addr, (int)res->ai_addrlen);
	saved = errno;
	evutil_freeaddrinfo(res);
	if (l == NULL)
		errorf(err, errlen, "%s %s:%d: cannot bind: %s", directive,
		    ep->host, ep->port, strerror(saved));
	return l;
}
