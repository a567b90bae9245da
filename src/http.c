/*
 * http.c: the tracking listener's connections, on raw libevent events.
 *
 * evhttp allocates a request object and a list node per header, and its
 * timeouts restart on every byte; the tracking path needs none of that.
 * Here a connection is one allocation holding its read buffer (sized
 * max_header_bytes + max_body_bytes, so a request that fits is never
 * copied), requests are parsed in place by http_parser.c, and answers are
 * appended to one output buffer written with a single write(2).
 *
 * Limits: the request head must fit max_header_bytes (431), a body
 * max_body_bytes (413), a whole request must arrive within
 * header_timeout counted from its first byte (408), an idle keep-alive
 * connection lives idle_timeout, a request waiting on storage gets 503
 * after FF_WAIT_MS, and a worker takes at most max_connections.
 *
 * Every complete request gets an answer: a client that half-closes
 * (shutdown(SHUT_WR) after its request) is answered, then closed; so is
 * a draining worker's.  Reading pauses while the read buffer is full
 * and resumes once the answers have made room; a paused connection
 * keeps a header_timeout timer, so none is left without one.  Each
 * answer's Connection line says what happens next (http_keep_of).  A
 * request that asks "Expect: 100-continue" gets its 100 once its head
 * is accepted, so a client that waits for it before the body does not
 * wait in vain.
 *
 * Each connection has one free path, conn_free(), taken as soon as it
 * closes: a lookup in flight holds only a weak reference (*c->waiter),
 * which conn_close clears, so a reply that comes late finds NULL.
 *
 * No routes here: each complete request goes to the handler given to
 * http_listen (track.c's track_handle), which answers through
 * http_respond, http_error and http_conn_out.  So calls go one way,
 * track.c -> http.c, and this file names nothing of track.c's.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "worker.h"

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static int	conn_drive(struct conn *);
static int	conn_write(struct conn *);
static void	conn_close(struct conn *);

static void
conn_free(struct conn *c)
{
	struct worker	*w = c->w;

	TAILQ_REMOVE(&w->conns, c, entry);
	w->nconns--;
	free(c->out);
	free(c);
}

/* The connection stops waiting: its waiter no longer points here. */
static void
conn_unwait(struct conn *c)
{
	if (!c->waiting)
		return;
	*c->waiter = NULL;
	c->waiter = NULL;
	c->waiting = 0;
	event_del(&c->wait_ev);
}

/* Stops all I/O and frees the connection (a lookup's reply that comes
 * later finds its weak reference cleared). */
static void
conn_close(struct conn *c)
{
	struct worker	*w = c->w;

	conn_unwait(c);
	event_del(&c->rev);
	event_del(&c->wev);
	close(c->fd);
	if (c->held)
		TAILQ_REMOVE(&w->held, c, hold_entry);
	conn_free(c);
}

/*
 * Reading stops (the buffer is full, or the input ended) but the read
 * event stays as a timer of header_timeout: a client that neither reads
 * its answers nor sends is closed by conn_timeout like any other.
 */
static void
conn_pause_read(struct conn *c)
{
	struct worker	*w = c->w;

	if (c->paused)
		return;
	c->paused = 1;
	event_del(&c->rev);
	event_assign(&c->rev, w->base, -1, EV_PERSIST, conn_read_cb, c);
	event_add(&c->rev, w->header_tv);
}

static void
conn_resume_read(struct conn *c)
{
	struct worker	*w = c->w;

	if (!c->paused || c->eof || c->inlen == c->incap)
		return;
	c->paused = 0;
	event_del(&c->rev);
	event_assign(&c->rev, w->base, c->fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	event_add(&c->rev, c->inlen == 0 ? w->idle_tv : w->header_tv);
}

/*
 * Nothing more will be read (the client half-closed, or the worker
 * drains): every complete request still gets its answer, then
 * conn_drive closes.  Returns -1 when c is gone.
 */
static int
conn_end_input(struct conn *c)
{
	c->eof = 1;
	conn_pause_read(c);
	if (c->held || c->waiting)
		return 0;	/* their answers drive the rest */
	return conn_drive(c);
}

void
http_conn_out(struct conn *c, const void *p, size_t n)
{
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 1024;

		while (cap < c->outlen + n)
			cap *= 2;
		c->out = xreallocarray(c->out, cap, 1);
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
}

/* Writes the batch to the spool: after this the events survive kill -9. */
static void
worker_spool_batch(struct worker *w)
{
	uint64_t	now;

	if (w->nbatch == 0)
		return;
	if (spool_append(w->spool, w->batch, w->nbatch) == -1) {
		/* No room or no disk: the events are lost, loudly. */
		if (errno == ENOSPC)
			METRIC_ADD(w, spool_full, w->nbatch);
		else
			METRIC_ADD(w, spool_errors, w->nbatch);
		now = mono_ms();
		if (now - w->last_spool_warn_ms >= 10000) {
			w->last_spool_warn_ms = now;
			log_warn("worker %d: spool %s: %zu events not recorded",
			    w->id, spool_name(w->spool), w->nbatch);
		}
	}
	w->nbatch = 0;
}

void
http_conn_record(struct conn *c, const struct ff_event *ev)
{
	struct worker	*w = c->w;

	if (w->nbatch == FF_BATCH_MAX)
		worker_spool_batch(w);
	w->batch[w->nbatch++] = *ev;
	if (!c->held) {
		c->held = 1;
		TAILQ_INSERT_TAIL(&w->held, c, hold_entry);
	}
	if (!w->flush_pending) {
		w->flush_pending = 1;
		event_active(w->flush_ev, EV_WRITE, 0);
	}
}

/* The flush event: runs once per loop turn, after the turn's reads. */
void
http_worker_flush(struct worker *w)
{
	struct conn_list	 ready;
	struct conn		*c;

	w->flush_pending = 0;
	worker_spool_batch(w);
	/* Answer only what this spool write covers: a pipelined request
	 * driven below may hold its connection again, for the next flush. */
	TAILQ_INIT(&ready);
	TAILQ_CONCAT(&ready, &w->held, hold_entry);
	while ((c = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, c, hold_entry);
		c->held = 0;
		if (conn_write(c) == 0 && (c->inlen > 0 || c->eof))
			conn_drive(c);
	}
	store_kick(w->store);
}

/* Appends the cached "Date: ...\r\n" line (RFC 9110 wants one). */
void
http_conn_out_date(struct conn *c)
{
	struct worker	*w = c->w;

	http_date(w);
	http_conn_out(c, w->date, w->date_len);
}

const char *
http_date(struct worker *w)
{
	struct timeval	tv;
	struct tm	tm;

	event_base_gettimeofday_cached(w->base, &tv);
	if (tv.tv_sec != w->date_sec) {
		w->date_sec = tv.tv_sec;
		gmtime_r(&tv.tv_sec, &tm);
		w->date_len = strftime(w->date, sizeof(w->date),
		    "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
	}
	return w->date;
}

/*
 * Sends what is in the output buffer.  Returns 0 when the connection is
 * still open, -1 when it was closed (and maybe freed).
 */
static int
conn_write(struct conn *c)
{
	ssize_t	n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->writing) {
				c->writing = 1;
				event_add(&c->wev, NULL);
			}
			return 0;
		}
		if (n == -1) {
			conn_close(c);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	c->outlen = c->outoff = 0;
	if (c->writing) {
		c->writing = 0;
		event_del(&c->wev);
	}
	if (c->closing) {
		shutdown(c->fd, SHUT_WR);
		conn_close(c);
		return -1;
	}
	return 0;
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (conn_write(c) == 0 && c->outlen == 0 && (c->inlen > 0 || c->eof))
		conn_drive(c);
}

static int
parse_error_status(int r)
{
	switch (r) {
	case HTTP_PARSE_TOO_LARGE:
		return 431;
	case HTTP_PARSE_UNSUPPORTED:
		return 501;
	case HTTP_PARSE_VERSION:
		return 505;
	default:
		return 400;
	}
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 302: return "Found";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static void
count_status(struct worker *w, int status)
{
	if (status < 300)
		METRIC_ADD(w, status_2xx, 1);
	else if (status < 400)
		METRIC_ADD(w, status_3xx, 1);
	else if (status < 500)
		METRIC_ADD(w, status_4xx, 1);
	else
		METRIC_ADD(w, status_5xx, 1);
}

enum http_keep
http_keep_of(const struct http_request *req)
{
	if (!req->keepalive)
		return HTTP_CLOSE;
	/* An HTTP/1.0 client keeps the connection only if told so. */
	return req->minor == 0 ? HTTP_KEEP_SAID : HTTP_KEEP;
}

/* The end of an answer's head, by enum http_keep. */
static const struct {
	const char	*s;
	size_t		 len;
} head_end[] = {
#define HEAD_END(s)	{ s, sizeof(s) - 1 }
	[HTTP_CLOSE] =		HEAD_END("Connection: close\r\n\r\n"),
	[HTTP_KEEP] =		HEAD_END("\r\n"),
	[HTTP_KEEP_SAID] =	HEAD_END("Connection: keep-alive\r\n\r\n"),
#undef HEAD_END
};

void
http_conn_out_end_head(struct conn *c, enum http_keep keep)
{
	http_conn_out(c, head_end[keep].s, head_end[keep].len);
	if (keep == HTTP_CLOSE)
		c->closing = 1;
}

void
http_respond(struct conn *c, int status, const char *ctype,
    const char *extra, enum http_keep keep, int head_only, const char *b1,
    size_t n1, const char *b2, size_t n2, const char *b3, size_t n3)
{
	char	head[512];
	int	len;

	len = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\nServer: fanfare\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n" HTTP_NO_CACHE "%s",
	    status, status_text(status), ctype, n1 + n2 + n3, extra);
	http_conn_out(c, head, (size_t)len);
	http_conn_out_date(c);
	http_conn_out_end_head(c, keep);
	if (!head_only) {
		http_conn_out(c, b1, n1);
		http_conn_out(c, b2, n2);
		http_conn_out(c, b3, n3);
	}
	count_status(c->w, status);
}

void
http_error(struct conn *c, int status, enum http_keep keep, int head_only)
{
	char	body[64];
	int	len;

	if (status == 404) {
		http_respond(c, 404, "text/html; charset=utf-8", "", keep,
		    head_only, c->w->live->pages.notfound,
		    c->w->live->pages.notfound_len, "", 0, "", 0);
		return;
	}
	len = snprintf(body, sizeof(body), "%d %s\n", status,
	    status_text(status));
	http_respond(c, status, "text/plain; charset=utf-8",
	    status == 405 ? "Allow: GET, HEAD, POST\r\n" :
	    status == 503 ? "Retry-After: 5\r\n" : "", keep, head_only,
	    body, (size_t)len, "", 0, "", 0);
}

/* The request of need bytes at the head of the buffer is answered. */
static void
conn_consume(struct conn *c, size_t need, enum http_keep keep)
{
	if (keep == HTTP_CLOSE)
		c->closing = 1;
	c->continued = 0;
	c->inlen -= need;
	if (c->inlen > 0) {
		memmove(c->in, c->in + need, c->inlen);
		c->req_start_ms = mono_ms();
	}
}

/*
 * Answers every complete request in the read buffer, then writes unless
 * the answers wait for the spool.  Output above FF_OUT_HIGH stops the
 * parsing until it is written: at once when the socket takes it, else
 * from conn_write_cb.  Returns -1 when c is gone.
 */
static int
conn_drive(struct conn *c)
{
	struct worker		*w = c->w;
	const struct config	*conf = w->conf;
	struct http_request	 req;
	size_t			 need;
	int			 r, full;

again:
	while (c->inlen > 0 && !c->waiting && !c->closing &&
	    c->outlen < FF_OUT_HIGH) {
		r = http_parse_request(c->in, c->inlen,
		    (size_t)conf->max_header_bytes, &req);
		if (r == HTTP_PARSE_INCOMPLETE) {
			if (mono_ms() - c->req_start_ms >
			    (uint64_t)conf->header_timeout_ms)
				http_error(c, 408, HTTP_CLOSE, 0);
			break;
		}
		if (r < 0) {
			http_error(c, parse_error_status(r), HTTP_CLOSE, 0);
			break;
		}
		/* Refused on the head: a body over the limit is never
		 * read, let alone buffered. */
		if (req.content_length > conf->max_body_bytes) {
			http_error(c, 413, HTTP_CLOSE, 0);
			break;
		}
		need = (size_t)r + (req.content_length > 0 ?
		    (size_t)req.content_length : 0);
		if (c->inlen < need) {
			/* RFC 9110 10.1.1; never to HTTP/1.0. */
			if (req.expect_continue && req.minor >= 1 &&
			    !c->continued) {
				http_conn_out(c, "HTTP/1.1 100 Continue\r\n\r\n",
				    25);
				c->continued = 1;
			}
			break;
		}
		if (w->handler(c, &req, c->in + r, need - (size_t)r) == 1) {
			/* The request stays in the buffer, parsed again on
			 * resume; the deadline answers it without that. */
			if (!c->waiting)
				fatalx("http: a handler waits without "
				    "http_conn_wait");
			c->wait_need = need;
			c->wait_keep = http_keep_of(&req);
			c->wait_head = req.method == HTTP_HEAD;
			break;
		}
		conn_consume(c, need, http_keep_of(&req));
	}
	full = c->outlen >= FF_OUT_HIGH;
	if (c->inlen < c->incap)
		conn_resume_read(c);
	/* After the input's end, what is left is at most part of a
	 * request, never to be completed: close once the answers are out
	 * (unless one still waits, or more output must drain first). */
	if (c->eof && !c->waiting && !full)
		c->closing = 1;
	if (c->held || c->waiting)
		return 0;
	if (conn_write(c) == -1)
		return -1;
	if (full && c->outlen == 0)
		goto again;	/* written at once: the rest of the buffer */
	return 0;
}

void
http_conn_wait(struct conn *c, struct conn **waiter)
{
	*waiter = c;
	c->waiter = waiter;
	c->waiting = 1;
	event_add(&c->wait_ev, c->w->wait_tv);
}

void
http_conn_resume(struct conn *c)
{
	conn_unwait(c);
	c->resumed = 1;
	conn_drive(c);
}

void
http_conn_finish(struct conn *c)
{
	conn_unwait(c);
	conn_consume(c, c->wait_need, c->wait_keep);
	conn_drive(c);
}

/* The wait's deadline: 503, whatever comes later (the waiter is told). */
static void
conn_wait_expired(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (!c->waiting)
		return;
	conn_unwait(c);
	http_error(c, 503, c->wait_keep, c->wait_head);
	conn_consume(c, c->wait_need, c->wait_keep);
	conn_drive(c);
}

static void
conn_timeout(struct conn *c)
{
	if (c->waiting || c->held)
		return;		/* an answer is on its way */
	if (c->inlen > 0 && c->outlen == 0 && !c->eof) {
		http_error(c, 408, HTTP_CLOSE, 0);
		conn_write(c);
		return;
	}
	conn_close(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct worker	*w = c->w;
	size_t		 before = c->inlen;
	ssize_t		 n;

	if (what & EV_TIMEOUT) {
		conn_timeout(c);
		return;
	}
	if (c->inlen == c->incap) {
		/* Full and not yet answered (held, waiting or blocked on
		 * output): stop reading until the answers make room. */
		conn_pause_read(c);
		return;
	}
	n = read(fd, c->in + c->inlen, c->incap - c->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n == -1) {
		conn_close(c);		/* reset: nobody left to answer */
		return;
	}
	if (n == 0) {
		conn_end_input(c);	/* half-closed: answer, then close */
		return;
	}
	c->inlen += (size_t)n;
	if (before == 0)
		c->req_start_ms = mono_ms();
	if (c->held || c->waiting || c->closing)
		return;
	if (conn_drive(c) == -1)
		return;
	/* Switch between the idle and the request timeout only when the
	 * state changes, so a keep-alive hit costs no timer update. */
	if ((before == 0) != (c->inlen == 0))
		event_add(&c->rev, c->inlen == 0 ? w->idle_tv : w->header_tv);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker	*w = arg;
	struct conn	*c;
	size_t		 incap;
	int		 one = 1;

	if (w->nconns >= w->conf->max_connections) {
		close(fd);
		return;
	}
	incap = (size_t)w->conf->max_header_bytes +
	    (size_t)w->conf->max_body_bytes;
	c = xcalloc(1, sizeof(*c) + incap);
	c->w = w;
	c->fd = fd;
	c->incap = incap;
	if ((size_t)salen <= sizeof(c->peer))
		memcpy(&c->peer, sa, (size_t)salen);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	event_assign(&c->rev, w->base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	event_assign(&c->wev, w->base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	evtimer_assign(&c->wait_ev, w->base, conn_wait_expired, c);
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	w->nconns++;
	METRIC_ADD(w, connections, 1);
	event_add(&c->rev, w->idle_tv);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct worker	*w = arg;

	/* EMFILE and friends: the listener retries on the next event. */
	log_warn("worker %d: accept", w->id);
}

int
http_listen(struct worker *w, http_handler handler, char *err, size_t errlen)
{
	struct timeval	tv = { FF_WAIT_MS / 1000, (FF_WAIT_MS % 1000) * 1000 };

	w->handler = handler;
	w->wait_tv = event_base_init_common_timeout(w->base, &tv);
	/* One socket per worker on the same port: the kernel spreads
	 * connections, and no accept lock is shared. */
	if ((w->listener = listen_tcp(w->base, "track_listen",
	    &w->conf->track_listen, LEV_OPT_REUSEABLE_PORT, 1024, accept_cb, w,
	    err, errlen)) == NULL)
		return -1;
	evconnlistener_set_error_cb(w->listener, accept_error_cb);
	return 0;
}

/*
 * Graceful stop, step by step on the worker's own thread: the listener
 * goes, nothing more is read (as if every client had half-closed), and
 * a connection closes itself once it has nothing left to answer (no
 * output pending, no answer held for the spool, no lookup waited on).
 * Requests already in its buffer are still answered; a half-received
 * one is dropped unanswered, so it is not counted either.  Called again
 * until it returns 0 or the stop deadline passes.
 */
int
http_drain(struct worker *w)
{
	struct conn	*c, *next;

	if (w->listener != NULL) {
		evconnlistener_free(w->listener);
		w->listener = NULL;
	}
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);	/* c may go, no other */
		if (!c->eof)
			conn_end_input(c);
	}
	return w->nconns;
}

/* Closes the listener and every connection; pending answers are dropped
 * (their events are already spooled). */
void
http_shutdown(struct worker *w)
{
	struct conn	*c, *next;

	if (w->listener != NULL) {
		evconnlistener_free(w->listener);
		w->listener = NULL;
	}
	worker_spool_batch(w);
	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_close(c);
	}
}
