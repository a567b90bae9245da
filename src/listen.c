/*
 * listen.c: the one way Fanfare binds a listener (listen.h), TCP or a
 * unix stream socket.  Only at start-up (and the unix socket's removal
 * at exit): the lookup is numeric for the port, but the host may still
 * be a name.
 *
 * A unix socket file outlives a crash, so start-up must replace a stale
 * one, and must never take the path from a running server or remove a
 * file that is not a socket: a socket file is stale when a connect() to
 * it is refused (nobody listens).  The file gets its mode between
 * bind() and listen(), when no client can connect yet, so there is no
 * moment with the umask's mode.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/util.h>

#include "listen.h"

/* -1 when path does not fit a sockaddr_un. */
static int
unix_addr(const char *path, struct sockaddr_un *sa)
{
	size_t	len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, len);
	return 0;
}

/* 1: path is a socket nobody listens on; 0: nothing there; -1: a live
 * socket or another kind of file (errno EADDRINUSE or EEXIST), or an
 * error (errno set). */
static int
unix_stale(const char *path)
{
	struct sockaddr_un	 sa;
	struct stat		 st;
	int			 fd, rc, saved;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	if (unix_addr(path, &sa) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	saved = errno;
	close(fd);
	if (rc == -1 && saved == ECONNREFUSED)
		return 1;
	/* Accepted, or a full backlog (EAGAIN): somebody is there. */
	errno = rc == 0 || saved == EAGAIN ? EADDRINUSE : saved;
	return -1;
}

static struct evconnlistener *
listen_unix(struct event_base *base, const char *directive,
    const struct ff_endpoint *ep, unsigned flags, int backlog,
    evconnlistener_cb cb, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un	 sa;
	struct evconnlistener	*l;
	const char		*path = ep->unix_path;
	int			 fd = -1;

	if (unix_addr(path, &sa) == -1)
		goto fail;
	switch (unix_stale(path)) {
	case 1:
		if (unlink(path) == -1 && errno != ENOENT)
			goto fail;
		break;
	case 0:
		break;
	default:
		if (errno == EEXIST) {
			errorf(err, errlen, "%s unix:%s: exists and is not "
			    "a socket", directive, path);
			return NULL;
		}
		if (errno == EADDRINUSE) {
			errorf(err, errlen, "%s unix:%s: another process "
			    "listens on it", directive, path);
			return NULL;
		}
		goto fail;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto fail;
	if (chmod(path, ep->unix_mode) == -1 ||
	    listen(fd, backlog) == -1) {
		int saved = errno;

		unlink(path);
		errno = saved;
		goto fail;
	}
	/* Backlog 0: the socket already listens. */
	if ((l = evconnlistener_new(base, cb, arg, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC | flags, 0, fd)) == NULL) {
		unlink(path);
		close(fd);
		errorf(err, errlen, "%s unix:%s: cannot make a listener",
		    directive, path);
	}
	return l;
fail:
	errorf(err, errlen, "%s unix:%s: %s", directive, path,
	    strerror(errno));
	if (fd != -1)
		close(fd);
	return NULL;
}

struct evconnlistener *
listen_tcp(struct event_base *base, const char *directive,
    const struct ff_endpoint *ep, unsigned flags, int backlog,
    evconnlistener_cb cb, void *arg, char *err, size_t errlen)
{
	struct evutil_addrinfo	 hints, *res = NULL;
	struct evconnlistener	*l;
	char			 port[16];
	int			 rc, saved;

	if (ep->unix_path != NULL)
		return listen_unix(base, directive, ep, flags, backlog, cb,
		    arg, err, errlen);
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

void
listen_unix_remove(const struct ff_endpoint *ep)
{
	if (ep->unix_path == NULL)
		return;
	if (unix_stale(ep->unix_path) == 1 && unlink(ep->unix_path) == -1 &&
	    errno != ENOENT)
		log_warn("unlink %s", ep->unix_path);
}
