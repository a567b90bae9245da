/*
 * api_http.c: the API listener's HTTP/1.1 connections (main thread).
 *
 * Why not evhttp: libevent 2.1's evhttp reads a whole request body into
 * memory before it calls back, so a CSV import of any size could not be
 * streamed, and a stranger's body would be read before the key is
 * checked.  This layer reads request heads with http_parser.c (the same
 * strict, fuzzed parser as the tracking listener), has api.c check the
 * key on the head (api_authenticate; a tenant key on a worker thread),
 * and only then reads a body of at most api_max_body within the body
 * budget and calls api_dispatch, or, for a route that streams
 * (api_streams), hands the body to the handler piece by piece as it
 * arrives, so memory stays flat whatever the upload's size.
 *
 * One request at a time per connection: while it is at a worker (busy)
 * the connection reads nothing, and pipelined requests wait in the
 * input buffer, which is capped (API_INPUT_HIGH: libevent stops reading
 * above it).  No new request is started while the answers not yet
 * taken by the client are over API_OUTPUT_HIGH, so a client that
 * pipelines and never reads costs at most those two buffers.  A request
 * answered before its body was read (a bad key, an error mid-upload)
 * ends the connection: the reply says "Connection: close", then the
 * socket is shut for writing and what the client still sends is read
 * and dropped for a moment (a lingering close), so the client sees the
 * reply rather than a reset.  Every 401 closes the connection.
 *
 * Limits: API_MAX_HEADERS of head, which must arrive within
 * API_HEAD_TIMEOUT_S (and the first byte of the next request within as
 * long: idle and half-sent heads cannot hold the listener); api_max_body
 * of body (413 without reading it), all bodies together within
 * api_body_budget (503 busy without reading it); API_BODY_TIMEOUT_S
 * without progress on a body or an answer.  At API_MAX_CONNS
 * connections, or when accept() finds no file descriptor, the
 * connection that has waited longest for a request head (or lingers)
 * is closed for the new one.  Transfer-Encoding is refused (411): send
 * Content-Length.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "api.h"
#include "listen.h"

#define API_MAX_HEADERS		16384
#define API_MAX_CONNS		1024
#define API_BACKLOG		512
#define API_HEAD_TIMEOUT_S	10
#define API_BODY_TIMEOUT_S	60
#define API_LINGER_S		2
#define API_LINGER_BYTES	(1024 * 1024)
#define API_INPUT_HIGH		(64 * 1024)	/* > API_MAX_HEADERS */
#define API_OUTPUT_HIGH		(256 * 1024)
#define API_ACCEPT_PAUSE_MS	100	/* no fd and none to take back */

enum api_conn_state {
	API_CONN_HEAD,		/* waiting for a request head */
	API_CONN_AUTH,		/* the head is read; its key is checked */
	API_CONN_BODY,		/* reading a body into req->body */
	API_CONN_STREAM,	/* passing a body to the handler */
	API_CONN_DISPATCH,	/* the body is read; the handler runs */
	API_CONN_LINGER,	/* answered; dropping input until close */
};

struct api_conn {
	struct api		*a;
	struct bufferevent	*bev;
	TAILQ_ENTRY(api_conn)	 entry;
	enum api_conn_state	 state;
	uint64_t		 since_ms;	/* in this state since */
	struct api_req		*req;		/* being read or handled */
	uint64_t		 body_left;	/* bytes of body still to come */
	size_t			 lingered;
	int			 keepalive;
	int			 http10;	/* keep-alive must be said */
	int			 expect_continue;
	int			 closing;	/* close once output is sent */
	int			 write_wait;	/* output over API_OUTPUT_HIGH */
	char			 peer[64];	/* the client's address */
};

static void	api_conn_process(struct api_conn *);

/* Enters a state, with its read timeout. */
static void
api_conn_state(struct api_conn *c, enum api_conn_state st)
{
	struct timeval	 head = { API_HEAD_TIMEOUT_S, 0 };
	struct timeval	 body = { API_BODY_TIMEOUT_S, 0 };

	c->state = st;
	c->since_ms = mono_ms();
	if (st == API_CONN_HEAD)
		bufferevent_set_timeouts(c->bev, &head, &body);
	else if (st == API_CONN_BODY || st == API_CONN_STREAM)
		bufferevent_set_timeouts(c->bev, &body, &body);
}

static void
api_conn_free(struct api_conn *c)
{
	struct api	*a = c->a;

	if (c->req != NULL)
		api_req_abort(c->req);
	TAILQ_REMOVE(&a->conns, c, entry);
	a->nconns--;
	bufferevent_free(c->bev);
	free(c);
}

/* The output is sent: close, linger, or go on with the next request. */
static void
api_conn_written(struct bufferevent *bev, void *arg)
{
	struct api_conn	*c = arg;
	struct timeval	 tv = { API_LINGER_S, 0 };

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	if (c->write_wait) {
		c->write_wait = 0;
		api_conn_resume(c);
		return;
	}
	if (!c->closing)
		return;
	if (c->state != API_CONN_LINGER) {
		api_conn_free(c);
		return;
	}
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_enable(bev, EV_READ);
}

static void
api_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct api_conn	*c = arg;

	/* A client that half-closes after its request still gets the
	 * answer being written; else EOF, error or timeout end it. */
	if ((what & BEV_EVENT_EOF) && c->state != API_CONN_LINGER &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
		c->keepalive = 0;
		c->closing = 1;
		bufferevent_disable(bev, EV_READ);
		return;
	}
	api_conn_free(c);
}

/* Called by api_send for every reply: queues the bytes. */
void
api_conn_reply(struct api_req *r, int status, const char *ctype,
    const char *headers, struct evbuffer *body)
{
	struct api_conn	*c = r->conn;
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 len = body ? evbuffer_get_length(body) : 0;

	/* Answered before the body was read: this connection is done.  So
	 * is one that gave no valid key. */
	if (c->body_left > 0 || status == 401) {
		c->keepalive = 0;
		api_conn_state(c, API_CONN_LINGER);
	}
	if (!c->keepalive)
		c->closing = 1;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
	    api_status_text(status));
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (status != 204)
		evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	if (headers != NULL)
		evbuffer_add(out, headers, strlen(headers));
	/* HTTP/1.0 closes unless both sides say keep-alive. */
	evbuffer_add_printf(out, "Cache-Control: no-store\r\n%s\r\n",
	    !c->keepalive ? "Connection: close\r\n" : c->http10 ?
	    "Connection: keep-alive\r\n" : "");
	if (body != NULL && r->method != HTTP_HEAD)
		evbuffer_add_buffer(out, body);
	c->req = NULL;
	if (c->state != API_CONN_LINGER)
		api_conn_state(c, API_CONN_HEAD);
	if (c->closing)
		bufferevent_disable(c->bev, EV_READ);
}

/* A reply to a request we could not even parse; then close. */
static void
api_conn_refuse(struct api_conn *c, int status, const char *code,
    const char *msg)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	char		 body[256];
	int		 n;

	n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\","
	    "\"message\":\"%s\"}}\n", code, msg);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %d\r\nCache-Control: "
	    "no-store\r\nConnection: close\r\n\r\n%s", status,
	    api_status_text(status), n, body);
	api_count(c->a, API_ROUTE_OTHER, status);
	c->closing = 1;
	api_conn_state(c, API_CONN_LINGER);
	bufferevent_disable(c->bev, EV_READ);
}

/* Makes the request of a parsed head; its strings live in one block. */
static struct api_req *
api_conn_request(struct api_conn *c, const struct http_request *h)
{
	struct api_req	*r = api_req_new(c->a, c);
	size_t		 n = h->pathlen + h->querylen + h->authlen +
			    h->ctypelen + h->cookielen + h->csrflen + 6;
	char		*p;

	r->method = h->method;
	r->strings = p = xmalloc(n);
	r->target = p;
	memcpy(p, h->path, h->pathlen);
	p += h->pathlen;
	*p++ = '\0';
	r->query = h->query ? p : NULL;
	memcpy(p, h->query ? h->query : "", h->querylen);
	p += h->querylen;
	*p++ = '\0';
	r->auth = h->auth ? p : NULL;
	memcpy(p, h->auth ? h->auth : "", h->authlen);
	p += h->authlen;
	*p++ = '\0';
	r->ctype = h->ctype ? p : NULL;
	memcpy(p, h->ctype ? h->ctype : "", h->ctypelen);
	p += h->ctypelen;
	*p++ = '\0';
	r->cookie = h->cookie ? p : NULL;
	memcpy(p, h->cookie ? h->cookie : "", h->cookielen);
	p += h->cookielen;
	*p++ = '\0';
	r->csrf = h->csrf ? p : NULL;
	memcpy(p, h->csrf ? h->csrf : "", h->csrflen);
	p += h->csrflen;
	*p = '\0';
	memcpy(r->client, c->peer, sizeof(r->client));
	r->content_length = h->content_length;
	return r;
}

/* Reads one head; 1 when a request is now under way, 0 to wait. */
static int
api_conn_head(struct api_conn *c, struct evbuffer *in)
{
	struct http_request	 h;
	size_t			 len = evbuffer_get_length(in);
	struct api_req		*r;
	int			 rc;

	rc = http_parse_request((const char *)evbuffer_pullup(in,
	    len < API_MAX_HEADERS ? (ssize_t)len : API_MAX_HEADERS),
	    len < API_MAX_HEADERS ? len : API_MAX_HEADERS, API_MAX_HEADERS, &h);
	switch (rc) {
	case HTTP_PARSE_INCOMPLETE:
		/* A head sent a byte at a time must still come in time. */
		if (mono_ms() - c->since_ms > API_HEAD_TIMEOUT_S * 1000)
			api_conn_refuse(c, 408, "request_timeout", "the request "
			    "head took too long");
		return 0;
	case HTTP_PARSE_TOO_LARGE:
		api_conn_refuse(c, 431, "headers_too_large", "the request "
		    "head is over 16384 bytes");
		return 0;
	case HTTP_PARSE_UNSUPPORTED:
		api_conn_refuse(c, 411, "length_required", "Transfer-Encoding "
		    "is not accepted; send Content-Length");
		return 0;
	case HTTP_PARSE_VERSION:
		api_conn_refuse(c, 505, "http_version", "HTTP/1.x only");
		return 0;
	case HTTP_PARSE_BAD:
		api_conn_refuse(c, 400, "bad_request", "malformed request");
		return 0;
	}
	if (h.method == HTTP_OTHER) {
		api_conn_refuse(c, 405, "method_not_allowed", "unknown method");
		return 0;
	}
	r = api_conn_request(c, &h);
	evbuffer_drain(in, h.header_len);
	c->keepalive = h.keepalive;
	c->http10 = h.minor == 0;
	c->expect_continue = h.expect_continue;
	c->req = r;
	c->body_left = h.content_length > 0 ? (uint64_t)h.content_length : 0;
	r->bodyless = c->body_left == 0;
	api_conn_state(c, API_CONN_AUTH);
	return 1;
}

/* The key is good: the body, streamed or read within the budget. */
static void
api_conn_authed(struct api_conn *c)
{
	struct api_req	*r = c->req;
	size_t		 max = (size_t)c->a->conf->api_max_body_bytes;

	if (api_streams(r)) {
		api_conn_state(c, API_CONN_STREAM);
		api_dispatch(r);	/* sets its callbacks, or answers */
		if (c->req == NULL)
			return;
		if (!api_req_streaming(r)) {
			api_error(r, 500, "internal", "the handler did not "
			    "answer");
			return;
		}
	} else if (c->body_left > max) {
		api_error(r, 413, "body_too_large", "the body is %llu bytes; "
		    "the limit is %zu", (unsigned long long)c->body_left, max);
		return;
	} else if (c->body_left > 0 &&
	    api_budget_take(r, (size_t)c->body_left) == -1) {
		api_busy(r, "the API's memory for request bodies is in use; "
		    "try again");
		return;
	} else
		api_conn_state(c, API_CONN_BODY);
	if (c->expect_continue && c->body_left > 0)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
}

/* Whatever can be done with the input now; returns when it must wait. */
static void
api_conn_process(struct api_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec	 v;
	size_t			 len, n;

	while (!c->closing || c->state == API_CONN_LINGER) {
		/* At a worker: nothing is read until it is back. */
		if (c->req != NULL && c->req->busy) {
			bufferevent_disable(c->bev, EV_READ);
			return;
		}
		len = evbuffer_get_length(in);
		switch (c->state) {
		case API_CONN_LINGER:
			c->lingered += len;
			evbuffer_drain(in, len);
			if (c->lingered > API_LINGER_BYTES)
				api_conn_free(c);
			return;
		case API_CONN_HEAD:
			/* Answers the client does not take: read no more. */
			if (evbuffer_get_length(out) > API_OUTPUT_HIGH) {
				c->write_wait = 1;
				bufferevent_disable(c->bev, EV_READ);
				return;
			}
			if (len == 0 || !api_conn_head(c, in))
				return;
			break;
		case API_CONN_AUTH:
			if (c->req->authed)
				api_conn_authed(c);
			else
				api_authenticate(c->req);
			break;
		case API_CONN_BODY:
			n = len < c->body_left ? len : (size_t)c->body_left;
			evbuffer_remove_buffer(in, c->req->body, n);
			c->body_left -= n;
			if (c->body_left > 0)
				return;
			api_conn_state(c, API_CONN_DISPATCH);
			api_dispatch(c->req);
			break;
		case API_CONN_DISPATCH:
			/* Back from a worker unanswered: not reached. */
			api_error(c->req, 500, "internal", "the handler did not "
			    "answer");
			break;
		case API_CONN_STREAM:
			if (c->body_left == 0) {
				api_conn_state(c, API_CONN_DISPATCH);
				api_req_stream_end(c->req);
				break;
			}
			if (len == 0)
				return;
			/* One contiguous piece at a time, as it arrived. */
			if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
				return;
			n = v.iov_len < c->body_left ? v.iov_len :
			    (size_t)c->body_left;
			c->body_left -= n;
			api_req_stream_data(c->req, v.iov_base, n);
			evbuffer_drain(in, n);
			break;
		}
	}
}

static void
api_conn_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	api_conn_process(arg);
}

void
api_conn_resume(struct api_conn *c)
{
	if (!c->closing || c->state == API_CONN_LINGER)
		bufferevent_enable(c->bev, EV_READ);
	api_conn_process(c);
}

/* The connection that has waited longest for a request head (idle
 * between requests, or sending one slowly), or lingers; NULL if none. */
static struct api_conn *
api_conn_oldest_idle(struct api *a)
{
	struct api_conn	*c, *best = NULL;

	TAILQ_FOREACH(c, &a->conns, entry)
		if ((c->state == API_CONN_HEAD || c->state ==
		    API_CONN_LINGER) && c->req == NULL &&
		    (best == NULL || c->since_ms < best->since_ms))
			best = c;
	return best;
}

/* The client's address as text ("unix" on a socket file): what the
 * login throttle counts failures of. */
static void
peer_name(const struct sockaddr *sa, int salen, char *out, size_t len)
{
	const void	*addr = NULL;

	if (sa->sa_family == AF_INET && salen >= (int)sizeof(struct sockaddr_in))
		addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 &&
	    salen >= (int)sizeof(struct sockaddr_in6))
		addr = &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr;
	if (addr == NULL || inet_ntop(sa->sa_family, addr, out,
	    (socklen_t)len) == NULL)
		snprintf(out, len, "unix");
}

static void
api_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct api	*a = arg;
	struct api_conn	*c;

	(void)lev;
	if (a->nconns >= API_MAX_CONNS) {
		if ((c = api_conn_oldest_idle(a)) == NULL) {
			log_warnx("api: %d connections, all busy; refusing one",
			    a->nconns);
			close(fd);
			return;
		}
		log_debug("api: %d connections; closing the longest idle",
		    a->nconns);
		api_conn_free(c);
	}
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	peer_name(sa, salen, c->peer, sizeof(c->peer));
	if ((c->bev = bufferevent_socket_new(a->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&a->conns, c, entry);
	a->nconns++;
	bufferevent_setcb(c->bev, api_conn_read, api_conn_written,
	    api_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, API_INPUT_HIGH);
	api_conn_state(c, API_CONN_HEAD);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
api_accept_again(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;

	(void)fd;
	(void)what;
	if (a->listener != NULL)
		evconnlistener_enable(a->listener);
}

/* accept() failed: out of file descriptors, most likely.  An idle
 * connection gives its own back; with none, accepting pauses a moment
 * rather than spinning on a listener that stays readable. */
static void
api_accept_error(struct evconnlistener *lev, void *arg)
{
	struct api	*a = arg;
	struct api_conn	*c;
	struct timeval	 tv = { 0, API_ACCEPT_PAUSE_MS * 1000 };
	int		 e = EVUTIL_SOCKET_ERROR();

	if ((e == EMFILE || e == ENFILE) &&
	    (c = api_conn_oldest_idle(a)) != NULL) {
		api_conn_free(c);
		return;
	}
	log_warnx("api: accept: %s; pausing %d ms", strerror(e),
	    API_ACCEPT_PAUSE_MS);
	evconnlistener_disable(lev);
	evtimer_add(a->accept_retry, &tv);
}

int
api_http_listen(struct api *a, char *err, size_t errlen)
{
	a->listener = listen_tcp(a->base, "api_listen", &a->conf->api_listen,
	    0, API_BACKLOG, api_accept, a, err, errlen);
	if (a->listener == NULL)
		return -1;
	if ((a->accept_retry = evtimer_new(a->base, api_accept_again, a)) ==
	    NULL)
		fatalx("api: evtimer_new");
	evconnlistener_set_error_cb(a->listener, api_accept_error);
	return 0;
}

void
api_http_close(struct api *a)
{
	struct api_conn	*c;

	if (a->listener != NULL)
		evconnlistener_free(a->listener);
	a->listener = NULL;
	if (a->accept_retry != NULL)
		event_free(a->accept_retry);
	a->accept_retry = NULL;
	while ((c = TAILQ_FIRST(&a->conns)) != NULL)
		api_conn_free(c);
}
