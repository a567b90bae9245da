/*
 * smtp_session.c: the libesmtp session with smtp_relay.  One call sends
 * a batch of built messages over one connection (several messages per
 * connection): connect, STARTTLS with our TLS context, AUTH PLAIN when
 * smtp_user is set, then each message, whose recipient's status and
 * transfer status become its outcome, reported to the caller the moment
 * libesmtp knows it.
 *
 * libesmtp is blocking, so this runs on a sender thread, never on an
 * event loop.  The TLS context and the settings (struct smtp_relay) are
 * shared by every thread, read-only once open; a session and its
 * messages live within one smtp_session_send().
 *
 * Never here: Redis, message assembly, rate buckets or a decision about
 * what an outcome means for the campaign: the caller's callbacks own
 * those, so this file calls nothing of the sender's.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/ssl.h>	/* before libesmtp.h: smtp_starttls_set_ctx */
#include <auth-client.h>	/* before libesmtp.h: smtp_auth_set_context */
#include <libesmtp.h>

#include "fanfare.h"
#include "smtp_session.h"

#define SMTP_TIMEOUT_MS		30000

struct smtp_relay {
	const struct config	*conf;
	SSL_CTX			*tls;		/* NULL: smtp_starttls off */
	int			 port;		/* to find libesmtp's sockets */
	/* Did the relay's last EHLO offer 8BITMIME?  The one thing here
	 * that changes once open: every session writes what it learnt,
	 * every message build reads it (__atomic, relaxed: a stale value
	 * costs one QP batch, or one retried batch, nothing more). */
	int			 eightbit;
};

/* One smtp_session_send(): what its libesmtp callbacks reach. */
struct smtp_session_run {
	const struct smtp_relay		*relay;
	int				 who;
	struct smtp_envelope		*env;
	const struct smtp_session_cb	*cb;
	void				*arg;
	int				 in_ehlo, saw_8bitmime;
};

/*
 * The relay's TLS context, ours rather than libesmtp's default: that one
 * trusts only ~/.authenticate/ca.pem or the system's CAs, and a daemon
 * (DynamicUser, no home) relaying through a private CA needs a file it
 * names.  Shared by every session of every thread: an SSL_CTX is safe to
 * use from many threads once set up.  libesmtp still checks the
 * certificate's name against smtp_relay's host.
 */
static SSL_CTX *
tls_context(const struct config *conf, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		snprintf(err, errlen, "smtp: cannot create a TLS context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (conf->smtp_ca_file != NULL ? !SSL_CTX_load_verify_locations(ctx,
	    conf->smtp_ca_file, NULL) : !SSL_CTX_set_default_verify_paths(ctx)) {
		snprintf(err, errlen, "smtp_ca_file %s: no certificate could "
		    "be loaded", conf->smtp_ca_file ? conf->smtp_ca_file :
		    "(system default)");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct smtp_relay *
smtp_relay_open(const struct config *conf, char *err, size_t errlen)
{
	struct smtp_relay	*r;

	r = xcalloc(1, sizeof(*r));
	r->conf = conf;
	r->port = conf->smtp_relay.port;
	if (conf->smtp_starttls != SMTP_TLS_OFF &&
	    (r->tls = tls_context(conf, err, errlen)) == NULL) {
		free(r);
		return NULL;
	}
	if (conf->smtp_user != NULL)
		auth_client_init();	/* once, before any thread uses it */
	return r;
}

int
smtp_relay_8bitmime(const struct smtp_relay *r)
{
	return r != NULL && __atomic_load_n(&r->eightbit, __ATOMIC_RELAXED);
}

void
smtp_relay_close(struct smtp_relay *r)
{
	if (r == NULL)
		return;
	SSL_CTX_free(r->tls);
	free(r);
}

/* ------------------------------------------------------------ callbacks */

static const char *
message_cb(void **ctx, int *len, void *arg)
{
	struct smtp_envelope	*e = arg;
	struct smtp_session_run	*run = e->run;

	(void)ctx;
	if (len == NULL) {		/* rewind */
		e->fed = 0;
		return NULL;
	}
	if (e->fed) {
		*len = 0;
		return NULL;
	}
	/* Paced here, as the data goes out, not before the session: a
	 * rate is a rate at the relay, not an average over a batch. */
	if (!e->paced) {
		e->paced = 1;
		run->cb->pace(run->arg, (size_t)(e - run->env));
	}
	e->fed = 1;
	*len = (int)e->len;
	return e->data;
}

static void
report(struct smtp_session_run *run, struct smtp_envelope *e, char what)
{
	if (e->done)
		return;
	e->done = 1;
	run->cb->outcome(run->arg, (size_t)(e - run->env), what);
}

static char
status_outcome(const smtp_status_t *st)
{
	if (st == NULL || st->code == 0)
		return 't';
	if (st->code >= 200 && st->code < 300)
		return 's';
	if (st->code >= 500)
		return 'b';
	return 't';
}

/*
 * libesmtp writes the end of each message (".\r\n") as a small segment
 * after the data, and offers no way to set TCP_NODELAY: with Nagle and
 * the relay's delayed ACK every message then waits ~40 ms (measured
 * against Postfix's smtp-sink: 45 messages/s).  So at connect time we
 * find our relay socket that still has Nagle on and turn it off.
 * Sockets of other threads found first are set too, which is harmless:
 * each connect event turns off one, so all end up off.
 */
static void
relay_nodelay(const struct smtp_relay *r)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, on, max = getdtablesize();

	for (fd = 3; fd < max; fd++) {
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (!((ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)
		    &ss)->sin_port) == r->port) ||
		    (ss.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)
		    &ss)->sin6_port) == r->port)))
			continue;
		len = sizeof(on);
		if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len) == -1 ||
		    on)
			continue;
		on = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		return;
	}
}

/* The relay is const to sessions but for this one learnt flag. */
static void
relay_learn_8bitmime(const struct smtp_relay *r, int offered)
{
	__atomic_store_n(&((struct smtp_relay *)r)->eightbit, offered,
	    __ATOMIC_RELAXED);
}

/*
 * libesmtp's protocol monitor (commands and replies, never message
 * data): learns from each EHLO reply whether the relay offers 8BITMIME,
 * as libesmtp keeps that to itself.  Messages are built before their
 * session, so what this session learns serves the next batches; one
 * built 8bit for a relay that no longer offers it makes libesmtp end
 * the session (SMTP_EV_EXTNA_8BITMIME below), and the batch is retried,
 * built again, quoted-printable.  A reply split across two reads may
 * hide the keyword: then QP, which is always safe.
 */
static void
monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct smtp_session_run	*run = arg;
	const char		*p = buf, *e = buf + len, *nl;
	size_t			 n;

	if (writing) {
		if (len >= 5 && strncasecmp(buf, "EHLO ", 5) == 0) {
			run->in_ehlo = 1;
			run->saw_8bitmime = 0;
		}
		return;
	}
	while (run->in_ehlo && p < e) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		n = (size_t)(nl - p);
		if (n >= 12 && memcmp(p, "250", 3) == 0 &&
		    strncasecmp(p + 4, "8BITMIME", 8) == 0 &&
		    (n == 12 || p[12] == '\r' || p[12] == ' '))
			run->saw_8bitmime = 1;
		if (n >= 4 && p[3] == ' ') {	/* the reply's last line */
			run->in_ehlo = 0;
			if (memcmp(p, "250", 3) == 0)
				relay_learn_8bitmime(run->relay,
				    run->saw_8bitmime);
		}
		p = nl + 1;
	}
}

static void
event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct smtp_session_run	*run = arg;
	struct smtp_envelope	*e;
	smtp_message_t		 msg;
	const smtp_status_t	*st;
	va_list			 ap;

	(void)session;
	switch (event) {
	case SMTP_EV_CONNECT:
		relay_nodelay(run->relay);
		return;
	case SMTP_EV_MESSAGESENT:
		break;
	case SMTP_EV_EXTNA_8BITMIME:
		/* Our 8bit messages cannot go: libesmtp ends the session,
		 * they are retried, built quoted-printable this time. */
		relay_learn_8bitmime(run->relay, 0);
		log_warnx("sender %d: smtp: the relay no longer offers "
		    "8BITMIME; the batch is retried quoted-printable",
		    run->who);
		return;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		/* libesmtp leaves *ok at 0: the session ends and the batch
		 * is retried.  A relay must present a certificate we trust. */
		log_warnx("sender %d: smtp: the relay's TLS certificate is "
		    "not trusted (event %d); not sending", run->who, event);
		return;
	default:
		return;
	}
	va_start(ap, arg);
	msg = va_arg(ap, smtp_message_t);
	va_end(ap);
	if ((e = smtp_message_get_application_data(msg)) == NULL)
		return;
	st = smtp_message_transfer_status(msg);
	/* Reported now: a kill -9 after the caller records it repeats
	 * nothing. */
	if (st != NULL && st->code >= 200 && st->code < 300 &&
	    (st = smtp_recipient_status(e->rcpt)) != NULL &&
	    st->code >= 200 && st->code < 300)
		report(run, e, 's');
}

static int
auth_interact(auth_client_request_t req, char **result, int fields,
    void *arg)
{
	const struct config	*conf = arg;
	int			 i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_PASS)
			result[i] = conf->smtp_password;
		else if (req[i].flags & AUTH_USER)
			result[i] = conf->smtp_user;
		else
			return 0;
	}
	return 1;
}

/* -------------------------------------------------------------- session */

void
smtp_session_send(const struct smtp_relay *r, int who,
    const char *reverse_path, struct smtp_envelope *env, size_t n,
    const struct smtp_session_cb *cb, void *arg)
{
	const struct config	*conf = r->conf;
	struct smtp_session_run	 run = { r, who, env, cb, arg, 0, 0 };
	smtp_session_t		 session;
	auth_context_t		 auth = NULL;
	struct smtp_envelope	*e;
	const smtp_status_t	*rs, *ms;
	char			 server[300], to[FF_EMAIL_MAX + 1];
	size_t			 i, started = 0;
	char			 o;

	for (i = 0; i < n; i++) {
		env[i].m = NULL;
		env[i].rcpt = NULL;
		env[i].fed = env[i].paced = 0;
		env[i].run = &run;
	}
	if ((session = smtp_create_session()) == NULL)
		fatalx("libesmtp: cannot create a session");
	snprintf(server, sizeof(server), "%s:%d", conf->smtp_relay.host,
	    conf->smtp_relay.port);
	smtp_set_server(session, server);
	smtp_set_hostname(session, conf->smtp_helo ? conf->smtp_helo :
	    conf->node_id);
	smtp_starttls_enable(session, conf->smtp_starttls == SMTP_TLS_OFF ?
	    Starttls_DISABLED : conf->smtp_starttls == SMTP_TLS_REQUIRED ?
	    Starttls_REQUIRED : Starttls_ENABLED);
	if (r->tls != NULL)
		smtp_starttls_set_ctx(session, r->tls);	/* its own ref */
	/* RFC 5321's minimums are minutes: a stuck relay would hold the
	 * batch that long. */
	for (i = Timeout_GREETING; i <= Timeout_DATA2; i++)
		smtp_set_timeout(session, (int)i |
		    Timeout_OVERRIDE_RFC2822_MINIMUM, SMTP_TIMEOUT_MS);
	smtp_set_eventcb(session, event_cb, &run);
	smtp_set_monitorcb(session, monitor_cb, &run, 0);
	if (conf->smtp_user != NULL) {
		auth = auth_create_context();
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, auth_interact, (void *)conf);
		smtp_auth_set_context(session, auth);
	}
	for (i = 0; i < n; i++) {
		e = &env[i];
		if (e->done)
			continue;
		if (cb->stopping(arg))
			break;		/* the rest stays queued */
		snprintf(to, sizeof(to), "%.*s", (int)e->tolen, e->to);
		e->m = smtp_add_message(session);
		smtp_message_set_application_data_release(e->m, e, NULL);
		smtp_set_reverse_path(e->m, e->from != NULL ? e->from :
		    reverse_path);
		smtp_set_messagecb(e->m, message_cb, e);
		if (e->eightbit)
			smtp_8bitmime_set_body(e->m, E8bitmime_8BITMIME);
		e->rcpt = smtp_add_recipient(e->m, to);
		started++;
	}
	if (started > 0 && !smtp_start_session(session)) {
		char err[128];

		log_warnx("sender %d: smtp %s: %s", who, server,
		    smtp_strerror(smtp_errno(), err, sizeof(err)));
	}
	for (i = 0; i < n; i++) {
		e = &env[i];
		if (e->done || e->m == NULL)
			continue;
		rs = smtp_recipient_status(e->rcpt);
		ms = smtp_message_transfer_status(e->m);
		o = status_outcome(rs);
		/* Never reached (the connection failed first): not a try. */
		if (rs == NULL || rs->code == 0)
			o = 'r';
		if (o == 's') {
			o = status_outcome(ms);
			if (o == 'b')
				o = 'f';	/* DATA refused: not the address */
		}
		report(&run, e, o);
	}
	smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	/* Nothing reachable points into the session or at run. */
	for (i = 0; i < n; i++) {
		env[i].m = NULL;
		env[i].rcpt = NULL;
		env[i].run = NULL;
	}
}
