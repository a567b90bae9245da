/*
 * api_http.c: the API listener's HTTP/1.1 connections (main thread).
 *
 * Why not evhttp: libevent 2.1's evhttp reads a whole request body into
 * memory before it calls back, so a CSV import of any size could not be
 * streamed.  This layer reads request heads with http_parser.c (the same
 * strict, fuzzed parser as the tracking listener), then either reads a
 * body of at most api_max_body and calls api_dispatch, or, for a route
 * that streams (api_streams), calls api_dispatch after the head and
 * hands the body to the handler piece by piece as it arrives, so memory
 * stays flat whatever the upload's size.
 *
 * One request at a time per connection: handlers answer synchronously,
 * so pipelined requests simply wait in the input buffer.  A request
 * answered before its body was read (an error mid-upload) ends the
 * connection: the reply says "Connection: close", then the socket is
 * shut for writing and what the client still sends is read and dropped
 * for a moment (a lingering close), so the client sees the reply rather
 * than a reset.
 *
 * Limits: API_MAX_HEADERS of head, api_max_body of body (413 without
 * reading it), API_MAX_CONNS connections, API_TIMEOUT_S without progress.
 * Transfer-Encoding is refused (411): send Content-Length.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "api.h"
#include "listen.h"

#define API_MAX_HEADERS		16384
#define API_MAX_CONNS		1024
#define API_TIMEOUT_S		60
#define API_LINGER_S		2
#define API_LINGER_BYTES	(1024 * 1024)

enum api_conn_state {
	API_CONN_HEAD,		/* waiting for a request head */
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
	struct api_req		*req;		/* being read or streamed */
	uint64_t		 body_left;	/* bytes of body still to come */
	size_t			 lingered;
	int			 keepalive;
	int			 closing;	/* close once output is sent */
};

static void	api_conn_read(struct bufferevent *, void *);

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

/* The reply is out: close, linger, or go on with the next request. */
static void
api_conn_written(struct bufferevent *bev, void *arg)
{
	struct api_conn	*c = arg;
	struct timeval	 tv = { API_LINGER_S, 0 };

	if (!c->closing || evbuffer_get_length(bufferevent_get_output(bev)) > 0)
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
	(void)bev;
	(void)what;	/* EOF, error or timeout: all end the connection */
	api_conn_free(arg);
}

/* Called by api_send for every reply: queues the bytes. */
void
api_conn_reply(struct api_req *r, int status, const char *ctype,
    const char *headers, struct evbuffer *body)
{
	struct api_conn	*c = r->conn;
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 len = body ? evbuffer_get_length(body) : 0;

	/* Answered before the body was read: this connection is done. */
	if (c->state == API_CONN_BODY || (c->state == API_CONN_STREAM &&
	    c->body_left > 0)) {
		c->keepalive = 0;
		c->state = API_CONN_LINGER;
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
	evbuffer_add_printf(out, "Cache-Control: no-store\r\n%s\r\n",
	    c->keepalive ? "" : "Connection: close\r\n");
	if (body != NULL && r->method != HTTP_HEAD)
		evbuffer_add_buffer(out, body);
	c->req = NULL;
	if (c->state != API_CONN_LINGER)
		c->state = API_CONN_HEAD;
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
	c->state = API_CONN_LINGER;
	bufferevent_disable(c->bev, EV_READ);
}

/* Makes the request of a parsed head; its strings live in one block. */
static struct api_req *
api_conn_request(struct api_conn *c, const struct http_request *h)
{
	struct api_req	*r = xcalloc(1, sizeof(*r));
	size_t		 n = h->pathlen + h->querylen + h->authlen +
			    h->ctypelen + 4;
	char		*p;

	r->a = c->a;
	r->conn = c;
	r->method = h->method;
	r->start_us = api_now_us();
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
	*p = '\0';
	r->body = evbuffer_new();
	return r;
}

/* Reads one head; 1 when a request is now under way, 0 to wait. */
static int
api_conn_head(struct api_conn *c, struct evbuffer *in)
{
	struct http_request	 h;
	size_t			 len = evbuffer_get_length(in);
	size_t			 max = c->a->conf->api_max_body_bytes;
	struct api_req		*r;
	int			 rc, streams;

	rc = http_parse_request((const char *)evbuffer_pullup(in,
	    len < API_MAX_HEADERS ? (ssize_t)len : API_MAX_HEADERS),
	    len < API_MAX_HEADERS ? len : API_MAX_HEADERS, API_MAX_HEADERS, &h);
	switch (rc) {
	case HTTP_PARSE_INCOMPLETE:
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
	c->req = r;
	c->body_left = h.content_length > 0 ? (uint64_t)h.content_length : 0;
	streams = api_streams(r);
	if (!streams && c->body_left > max) {
		c->state = API_CONN_BODY;	/* so the reply lingers */
		api_error(r, 413, "body_too_large", "the body is %llu bytes; "
		    "the limit is %zu", (unsigned long long)c->body_left, max);
		return 0;
	}
	c->state = streams ? API_CONN_STREAM : API_CONN_BODY;
	if (streams) {
		api_dispatch(r);	/* may answer at once (401, 415) */
		if (c->req == NULL)
			return 1;
		if (!api_req_streaming(r)) {
			api_error(r, 500, "internal", "the handler did not "
			    "answer");
			return 1;
		}
	}
	if (h.expect_continue && c->body_left > 0)
		evbuffer_add_printf(bufferevent_get_output(c->bev),
		    "HTTP/1.1 100 Continue\r\n\r\n");
	return 1;
}

static void
api_conn_read(struct bufferevent *bev, void *arg)
{
	struct api_conn		*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_iovec	 v;
	size_t			 len, n;

	while (!c->closing || c->state == API_CONN_LINGER) {
		len = evbuffer_get_length(in);
		switch (c->state) {
		case API_CONN_LINGER:
			c->lingered += len;
			evbuffer_drain(in, len);
			if (c->lingered > API_LINGER_BYTES)
				api_conn_free(c);
			return;
		case API_CONN_HEAD:
			if (len == 0 || !api_conn_head(c, in))
				return;
			break;
		case API_CONN_BODY:
			if (len < c->body_left)
				return;
			evbuffer_remove_buffer(in, c->req->body, c->body_left);
			c->body_left = 0;
			c->state = API_CONN_DISPATCH;
			api_dispatch(c->req);
			if (c->req != NULL)	/* a handler that forgot */
				api_error(c->req, 500, "internal", "the handler "
				    "did not answer");
			break;
		case API_CONN_DISPATCH:
			return;		/* not reached: handlers answer */
		case API_CONN_STREAM:
			if (c->body_left == 0) {
				api_req_stream_end(c->req);
				if (c->req != NULL)
					api_error(c->req, 500, "internal", "the "
					    "handler did not answer");
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
api_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct api	*a = arg;
	struct api_conn	*c;
	struct timeval	 tv = { API_TIMEOUT_S, 0 };

	(void)lev;
	(void)sa;
	(void)salen;
	if (a->nconns >= API_MAX_CONNS) {
		log_warnx("api: %d connections; refusing one", a->nconns);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->a = a;
	c->state = API_CONN_HEAD;
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
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

int
api_http_listen(struct api *a, char *err, size_t errlen)
{
	a->listener = listen_tcp(a->base, "api_listen", &a->conf->api_listen,
	    0, 128, api_accept, a, err, errlen);
	return a->listener == NULL ? -1 : 0;
}

void
api_http_close(struct api *a)
{
	struct api_conn	*c;

	if (a->listener != NULL)
		evconnlistener_free(a->listener);
	a->listener = NULL;
	while ((c = TAILQ_FIRST(&a->conns)) != NULL)
		api_conn_free(c);
}
