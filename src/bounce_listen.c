/*
 * bounce_listen.c: the SMTP server that takes delivery status
 * notifications and complaints sent back to VERP envelope senders
 * (bounce_listen directive), on the main thread's event loop.
 *
 * It accepts mail only for bTOKEN@bounce_domain (or @bounces.D, the
 * name a sending domain D points here by CNAME) where TOKEN verifies
 * (verp.c): anything else is refused at RCPT with 550, so the listener
 * is no open relay and no mailbox for strangers.  At the end of DATA the
 * message is read by report.c and recorded by store_bounce.c for each
 * recipient; 451 when Redis failed, so the sending MTA tries again.
 *
 * Everything is bounded before anything is authenticated: at most
 * BOUNCE_MAX_CONNS connections (more get 421 and are closed), a command
 * line of BOUNCE_LINE_MAX, a data line of BOUNCE_DATA_LINE_MAX (longer:
 * 500 and close), bounce_max_message bytes of message (more: read and
 * dropped, then 552), BOUNCE_MAX_RCPTS recipients (452), BOUNCE_IDLE_S
 * between reads and BOUNCE_SESSION_S a connection.  Parsing a message
 * of at most bounce_max_message (16M at most) is linear, about 4 ms a
 * MiB at worst (report.c bounds the recipients it reads), so it
 * runs here, as the API's handlers do, like its Redis round trip.
 *
 * One connection is one struct bounce_conn with one free path,
 * conn_free().
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "bounce_listen.h"
#include "bounce_smtp.h"
#include "listen.h"
#include "redis_sync.h"
#include "report.h"
#include "store_bounce.h"
#include "verp.h"
#include "worker.h"

#define BOUNCE_MAX_CONNS	64
#define BOUNCE_LINE_MAX		1000	/* RFC 5321: a text line */
#define BOUNCE_DATA_LINE_MAX	65536	/* generous: some MTAs do not wrap */
#define BOUNCE_MAX_RCPTS	16
#define BOUNCE_IDLE_S		60
#define BOUNCE_SESSION_S	600
#define BOUNCE_MAX_ERRORS	10	/* refused commands before we hang up */
#define BOUNCE_LINGER_S		2
#define BOUNCE_LINGER_BYTES	(1024 * 1024)

struct bounce_conn;
static void	conn_event(struct bufferevent *, short, void *);
TAILQ_HEAD(bounce_conn_list, bounce_conn);

struct bounce_listener {
	struct event_base	*base;
	struct evconnlistener	*listener;
	const struct config	*conf;
	struct live		*live;
	struct db		*db;
	struct bounce_conn_list	 conns;
	int			 nconns;
};

struct bounce_conn {
	struct bounce_listener	*l;
	struct bufferevent	*bev;
	TAILQ_ENTRY(bounce_conn) entry;
	uint64_t		 started_ms;	/* mono */
	int			 mail;		/* MAIL given */
	int			 data;		/* reading DATA */
	int			 too_big;	/* the message passed the limit */
	int			 closing;	/* close once output is sent */
	size_t			 lingered;	/* input dropped after that */
	int			 errors;
	struct verp		 rcpts[BOUNCE_MAX_RCPTS];
	int			 nrcpts;
	struct evbuffer		*msg;		/* DATA, dot-unstuffed */
};

static void
conn_free(struct bounce_conn *c)
{
	struct bounce_listener	*l = c->l;

	TAILQ_REMOVE(&l->conns, c, entry);
	l->nconns--;
	bufferevent_free(c->bev);
	evbuffer_free(c->msg);
	free(c);
}

static void
reply(struct bounce_conn *c, const char *line)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	evbuffer_add(out, line, strlen(line));
	evbuffer_add(out, "\r\n", 2);
}

/* Sends what is queued, then closes. */
static void
conn_close_after(struct bounce_conn *c, const char *line)
{
	if (line != NULL)
		reply(c, line);
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
}

static void
transaction_reset(struct bounce_conn *c)
{
	c->mail = c->data = c->too_big = 0;
	c->nrcpts = 0;
	evbuffer_drain(c->msg, evbuffer_get_length(c->msg));
}

/* Days since 1970, for a token's age. */
static uint64_t
today(void)
{
	return now_ms() / (86400ULL * 1000);
}

static void
cmd_rcpt(struct bounce_conn *c, const struct smtp_command *cmd)
{
	const struct config	*conf = c->l->conf;
	struct verp		 v;
	size_t			 dlen = strlen(conf->bounce_domain);

	if (!c->mail) {
		reply(c, "503 5.5.1 MAIL first");
		return;
	}
	if (c->nrcpts == BOUNCE_MAX_RCPTS) {
		reply(c, "452 4.5.3 too many recipients");
		return;
	}
	/* bTOKEN@bounce_domain, or @bounces.D of a sending domain D (its
	 * CNAME leads here): the token, not the domain, says whose. */
	if (!((cmd->domainlen == dlen && strncasecmp(cmd->domain,
	    conf->bounce_domain, dlen) == 0) || (cmd->domainlen > 8 &&
	    strncasecmp(cmd->domain, "bounces.", 8) == 0)) ||
	    verp_verify(&c->l->live->keys, cmd->local, cmd->locallen,
	    today(), &v) == -1) {
		c->errors++;
		reply(c, "550 5.1.1 no such bounce address");
		return;
	}
	c->rcpts[c->nrcpts++] = v;
	reply(c, "250 2.1.5 ok");
}

/* The message is in: read it and record it for every recipient. */
static void
data_done(struct bounce_conn *c)
{
	struct bounce_listener	*l = c->l;
	struct bounce_record	 b;
	struct report		 r;
	const char		*msg;
	size_t			 len;
	int			 i, rc, failed = 0, suppressed;

	if (c->too_big) {
		reply(c, "552 5.3.4 message too big");
		transaction_reset(c);
		return;
	}
	len = evbuffer_get_length(c->msg);
	msg = (const char *)evbuffer_pullup(c->msg, -1);
	report_parse(msg != NULL ? msg : "", msg != NULL ? len : 0, &r);
	for (i = 0; i < c->nrcpts; i++) {
		memset(&b, 0, sizeof(b));
		b.tenant = c->rcpts[i].tenant;
		b.campaign = c->rcpts[i].campaign;
		b.contact = c->rcpts[i].contact;
		b.kind = report_kind_name(r.kind);
		b.status = r.status;
		b.diagnostic = r.diagnostic;
		b.now_ms = now_ms();
		b.soft_limit = l->conf->soft_bounce_limit;
		rc = store_bounce_record(l->db, &b, &suppressed);
		if (rc == -1) {
			failed = 1;
			break;
		}
		log_info("bounce: tenant %llu campaign %llu contact %llu: %s "
		    "%s%s%s", (unsigned long long)b.tenant,
		    (unsigned long long)b.campaign,
		    (unsigned long long)b.contact, b.kind, r.status,
		    rc == 0 ? " (no such contact: ignored)" : "",
		    suppressed ? " (suppressed)" : "");
	}
	/* A retry records again what was recorded before the failure:
	 * hard bounces and complaints count once per address anyway. */
	reply(c, failed ? "451 4.3.0 cannot record now, try again later" :
	    "250 2.0.0 ok");
	transaction_reset(c);
}

/* One line of DATA (without its end of line). */
static void
data_line(struct bounce_conn *c, const char *line, size_t n)
{
	if (n == 1 && line[0] == '.') {
		c->data = 0;
		data_done(c);
		return;
	}
	if (n > 0 && line[0] == '.') {
		line++;
		n--;
	}
	if (c->too_big)
		return;
	if (evbuffer_get_length(c->msg) + n + 2 >
	    (size_t)c->l->conf->bounce_max_message_bytes) {
		c->too_big = 1;
		evbuffer_drain(c->msg, evbuffer_get_length(c->msg));
		return;
	}
	evbuffer_add(c->msg, line, n);
	evbuffer_add(c->msg, "\r\n", 2);
}

static void
command_line(struct bounce_conn *c, const char *line, size_t n)
{
	struct smtp_command	 cmd;
	const char		*err;
	char			 buf[128];

	if (bounce_smtp_parse(line, n, &cmd, &err) == -1) {
		reply(c, err);
		if (++c->errors >= BOUNCE_MAX_ERRORS)
			conn_close_after(c, "421 4.7.0 too many errors");
		return;
	}
	switch (cmd.verb) {
	case SMTP_HELO:
		reply(c, "250 fanfare");
		break;
	case SMTP_EHLO:
		snprintf(buf, sizeof(buf), "250-fanfare\r\n250-PIPELINING\r\n"
		    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE %d",
		    c->l->conf->bounce_max_message_bytes);
		reply(c, buf);
		break;
	case SMTP_MAIL:
		if (c->mail) {
			reply(c, "503 5.5.1 nested MAIL");
			break;
		}
		c->mail = 1;
		reply(c, "250 2.1.0 ok");
		break;
	case SMTP_RCPT:
		cmd_rcpt(c, &cmd);
		if (c->errors >= BOUNCE_MAX_ERRORS)
			conn_close_after(c, "421 4.7.0 too many errors");
		break;
	case SMTP_DATA:
		if (c->nrcpts == 0) {
			reply(c, "554 5.5.1 no valid recipients");
			break;
		}
		c->data = 1;
		reply(c, "354 end with <CRLF>.<CRLF>");
		break;
	case SMTP_RSET:
		transaction_reset(c);
		reply(c, "250 2.0.0 ok");
		break;
	case SMTP_NOOP:
		reply(c, "250 2.0.0 ok");
		break;
	case SMTP_VRFY:
		reply(c, "252 2.5.2 cannot verify");
		break;
	case SMTP_STARTTLS:
		reply(c, "502 5.5.1 not here: loopback or a private network");
		break;
	case SMTP_QUIT:
		conn_close_after(c, "221 2.0.0 bye");
		break;
	default:
		reply(c, "500 5.5.1 command not recognised");
		break;
	}
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct bounce_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len, n, max;
	char			*line;

	if (c->closing) {
		/* A lingering close: what the client still sends is dropped,
		 * so our last reply is not lost to a reset. */
		c->lingered += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->lingered > BOUNCE_LINGER_BYTES)
			conn_free(c);
		return;
	}
	if (mono_ms() - c->started_ms > BOUNCE_SESSION_S * 1000ULL) {
		conn_close_after(c, "421 4.4.2 session too long");
		return;
	}
	while (!c->closing) {
		max = c->data ? BOUNCE_DATA_LINE_MAX : BOUNCE_LINE_MAX;
		eol = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_CRLF);
		if (eol.pos == -1) {
			if (evbuffer_get_length(in) > max)
				conn_close_after(c, "500 5.5.2 line too long");
			return;
		}
		n = (size_t)eol.pos;
		if (n > max) {
			conn_close_after(c, "500 5.5.2 line too long");
			return;
		}
		line = (char *)evbuffer_pullup(in, (ssize_t)(n + eol_len));
		if (c->data)
			data_line(c, line, n);
		else
			command_line(c, line, n);
		evbuffer_drain(in, n + eol_len);
	}
}

static void
conn_written(struct bufferevent *bev, void *arg)
{
	struct bounce_conn	*c = arg;
	struct timeval		 tv = { BOUNCE_LINGER_S, 0 };

	if (!c->closing || evbuffer_get_length(bufferevent_get_output(bev)) >
	    0)
		return;
	/* Said all: a reset now (unread input) could destroy our last
	 * reply at the client, so shut our side and drop input a while. */
	shutdown(bufferevent_getfd(bev), SHUT_WR);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_setcb(bev, conn_read, NULL, conn_event, c);
	bufferevent_enable(bev, EV_READ);
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;	/* EOF, error or timeout: all end the connection */
	conn_free(arg);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	static const char	 busy[] = "421 4.3.2 too many connections\r\n";
	struct bounce_listener	*l = arg;
	struct bounce_conn	*c;
	struct timeval		 tv = { BOUNCE_IDLE_S, 0 };
	ssize_t			 w;

	(void)lev;
	(void)sa;
	(void)salen;
	if (l->nconns >= BOUNCE_MAX_CONNS) {
		/* Best effort: the socket is new, its buffer empty. */
		w = send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT);
		(void)w;
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->l = l;
	c->started_ms = mono_ms();
	if ((c->bev = bufferevent_socket_new(l->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL || (c->msg = evbuffer_new()) ==
	    NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&l->conns, c, entry);
	l->nconns++;
	bufferevent_setcb(c->bev, conn_read, conn_written, conn_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	/* Stop reading past what one line may hold plus a pipeline. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    BOUNCE_DATA_LINE_MAX + 4096);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	reply(c, "220 fanfare bounce listener ESMTP");
}

struct bounce_listener *
bounce_listen_new(struct event_base *base, const struct config *conf,
    struct live *live, char *err, size_t errlen)
{
	struct bounce_listener	*l = xcalloc(1, sizeof(*l));

	l->base = base;
	l->conf = conf;
	l->live = live_ref(live);
	TAILQ_INIT(&l->conns);
	l->db = db_open(&conf->redis);
	if ((l->listener = listen_tcp(base, "bounce_listen",
	    &conf->bounce_listen, 0, 64, accept_cb, l, err, errlen)) ==
	    NULL) {
		bounce_listen_free(l);
		return NULL;
	}
	return l;
}

void
bounce_listen_set_live(struct bounce_listener *l, struct live *live)
{
	if (l == NULL)
		return;
	live_unref(l->live);
	l->live = live_ref(live);
}

void
bounce_listen_free(struct bounce_listener *l)
{
	struct bounce_conn	*c;

	if (l == NULL)
		return;
	if (l->listener != NULL)
		evconnlistener_free(l->listener);
	while ((c = TAILQ_FIRST(&l->conns)) != NULL)
		conn_free(c);
	db_close(l->db);
	live_unref(l->live);
	free(l);
}
