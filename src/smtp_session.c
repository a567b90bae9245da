/*
 * smtp_session.c: the libesmtp session with smtp_relay, or with the
 * tenant's own relay when the campaign's tenant has one (struct
 * smtp_endpoint: PUT /v1/relay).  One call sends a batch of built
 * messages over one connection (several messages per connection):
 * connect, STARTTLS with our TLS context, AUTH PLAIN when the relay has a
 * login (smtp_user, or the tenant's), then each message, whose
 * recipient's status and transfer status become its outcome, reported
 * to the caller the moment libesmtp knows it.
 *
 * A tenant relay's failures are that tenant's: its messages come back
 * 't' or 'r' (retried later, as for the node's relay) and the failure is
 * logged at most once per FAIL_LOG_MS per tenant, so a dead relay does
 * not fill the log.  Nothing here logs a password.
 *
 * A tenant relay's host is resolved and checked (netguard.c) before
 * each connection, as PUT /v1/relay checked it: a name that now gives a
 * loopback, private, link-local... address outside relay_allow is not
 * connected to (DNS rebinding between the PUT and the send).  libesmtp
 * resolves the name again itself, so a window of one lookup remains,
 * except with starttls "off", where nothing checks a certificate's name
 * and libesmtp is given the checked IPv4 address instead of the name.
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

#include <pthread.h>
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
#include "netguard.h"
#include "report.h"
#include "smtp_session.h"

#define SMTP_TIMEOUT_MS		30000
#define FAIL_LOG_MS		60000	/* a tenant relay's failure, once */
#define FAIL_LOG_SLOTS		64

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
	struct smtp_endpoint		*ep;	/* NULL: the node's relay */
	int				 port;
	const char			*user, *password;
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
	/* Made even when the node's relay is plain: a tenant's may not be. */
	if ((r->tls = tls_context(conf, err, errlen)) == NULL) {
		if (conf->smtp_starttls != SMTP_TLS_OFF) {
			free(r);
			return NULL;
		}
		log_warnx("%s; a tenant relay with STARTTLS cannot be used",
		    err);
	}
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

/* ------------------------------------------------------- failure log */

static pthread_mutex_t	fail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t	tenant, at_ms;
} fail_log[FAIL_LOG_SLOTS];

/* 1 when the tenant's relay failure may be logged now (and then not
 * again for FAIL_LOG_MS); shared by every sender thread. */
static int
fail_log_due(uint64_t tenant)
{
	uint64_t	now = mono_ms();
	size_t		i, old = 0;
	int		due = 1;

	pthread_mutex_lock(&fail_lock);
	for (i = 0; i < FAIL_LOG_SLOTS; i++) {
		if (fail_log[i].tenant == tenant)
			break;
		if (fail_log[i].at_ms < fail_log[old].at_ms)
			old = i;
	}
	if (i == FAIL_LOG_SLOTS) {
		i = old;
		fail_log[i].tenant = tenant;
		fail_log[i].at_ms = 0;
	}
	if (fail_log[i].at_ms != 0 && now - fail_log[i].at_ms < FAIL_LOG_MS)
		due = 0;
	else
		fail_log[i].at_ms = now;
	pthread_mutex_unlock(&fail_lock);
	return due;
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

/* status: a 'b''s enhanced code (rcpt_status), else "". */
static void
report(struct smtp_session_run *run, struct smtp_envelope *e, char what,
    const char *status)
{
	if (e->done)
		return;
	e->done = 1;
	run->cb->outcome(run->arg, (size_t)(e - run->env), what, status);
}

/*
 * The enhanced status code of a recipient's reply, "5.1.1": libesmtp's
 * own triplet when the relay offered ENHANCEDSTATUSCODES (libesmtp then
 * takes it off the text), else the one that leads the text (a relay
 * that sends them without offering them), else the basic code's class,
 * "5.0.0".  Both read by report.c, which checks the syntax and class.
 */
static void
rcpt_status(const smtp_status_t *st, char out[REPORT_STATUS_MAX])
{
	char	enh[40];

	if (st->enh_class != 0) {
		snprintf(enh, sizeof(enh), "%d.%d.%d", st->enh_class,
		    st->enh_subject, st->enh_detail);
		report_reply_status(st->code, enh, out);
	} else
		report_reply_status(st->code, st->text, out);
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
relay_nodelay(int port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, on, max = getdtablesize();

	for (fd = 3; fd < max; fd++) {
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
			continue;
		if (!((ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)
		    &ss)->sin_port) == port) ||
		    (ss.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)
		    &ss)->sin6_port) == port)))
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

/*
 * What a session learnt of its relay's 8BITMIME: a tenant's relay keeps
 * it in the endpoint (the sender thread's own copy); the node's relay,
 * shared by every thread, is const to sessions but for this one flag.
 */
static void
relay_learn_8bitmime(struct smtp_session_run *run, int offered)
{
	if (run->ep != NULL)
		run->ep->eightbit = offered;
	else
		__atomic_store_n(&((struct smtp_relay *)run->relay)->eightbit,
		    offered, __ATOMIC_RELAXED);
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
				relay_learn_8bitmime(run, run->saw_8bitmime);
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
		relay_nodelay(run->port);
		return;
	case SMTP_EV_MESSAGESENT:
		break;
	case SMTP_EV_EXTNA_8BITMIME:
		/* Our 8bit messages cannot go: libesmtp ends the session,
		 * they are retried, built quoted-printable this time. */
		relay_learn_8bitmime(run, 0);
		log_warnx("sender %d: smtp: the relay no longer offers "
		    "8BITMIME; the batch is retried quoted-printable",
		    run->who);
		return;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		/* libesmtp leaves *ok at 0: the session ends and the batch
		 * is retried.  A relay must present a certificate we trust. */
		if (run->ep == NULL)
			log_warnx("sender %d: smtp: the relay's TLS certificate "
			    "is not trusted (event %d); not sending", run->who,
			    event);
		else if (fail_log_due(run->ep->tenant))
			log_warnx("sender %d: tenant %llu relay %s:%d: the "
			    "relay's TLS certificate is not trusted (event %d); "
			    "its mail stays queued", run->who,
			    (unsigned long long)run->ep->tenant, run->ep->host,
			    run->ep->port, event);
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
		report(run, e, 's', "");
}

static int
auth_interact(auth_client_request_t req, char **result, int fields,
    void *arg)
{
	const struct smtp_session_run	*run = arg;
	int				 i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_PASS)
			result[i] = (char *)run->password;
		else if (req[i].flags & AUTH_USER)
			result[i] = (char *)run->user;
		else
			return 0;
	}
	return 1;
}

/* -------------------------------------------------------------- session */

/* A tenant relay that failed, logged once per FAIL_LOG_MS: why, from
 * libesmtp's error or the first reply that was not a 2xx. */
static void
tenant_fail_log(const struct smtp_session_run *run, const char *server,
    const char *session_err, const smtp_status_t *st)
{
	if (!fail_log_due(run->ep->tenant))
		return;
	if (session_err != NULL)
		log_warnx("sender %d: tenant %llu relay %s: %s; its mail stays "
		    "queued", run->who, (unsigned long long)run->ep->tenant,
		    server, session_err);
	else
		log_warnx("sender %d: tenant %llu relay %s: %d %.200s; its "
		    "mail stays queued", run->who,
		    (unsigned long long)run->ep->tenant, server,
		    st != NULL ? st->code : 0, st != NULL && st->text != NULL ?
		    st->text : "");
}

/* Every message not done: 'r', not a try (its relay cannot be used). */
static void
all_unreached(struct smtp_session_run *run, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!run->env[i].done && !run->cb->stopping(run->arg))
			report(run, &run->env[i], 'r', "");
}

void
smtp_session_send(const struct smtp_relay *r, struct smtp_endpoint *ep,
    int who, const char *reverse_path, struct smtp_envelope *env, size_t n,
    const struct smtp_session_cb *cb, void *arg)
{
	const struct config	*conf = r->conf;
	struct smtp_session_run	 run;
	smtp_session_t		 session;
	auth_context_t		 auth = NULL;
	struct smtp_envelope	*e;
	const smtp_status_t	*rs, *ms, *why = NULL;
	const char		*host, *session_err = NULL;
	char			 server[300], to[FF_EMAIL_MAX + 1], err[128];
	char			 connect_to[300], why_not[200];
	char			 status[REPORT_STATUS_MAX];
	struct netguard_verdict	 v;
	size_t			 i, started = 0;
	int			 tls;
	char			 o;

	memset(&run, 0, sizeof(run));
	run.relay = r;
	run.ep = ep;
	run.who = who;
	run.env = env;
	run.cb = cb;
	run.arg = arg;
	if (ep != NULL) {
		host = ep->host;
		run.port = ep->port;
		tls = ep->starttls;
		run.user = ep->user;
		run.password = ep->password;
	} else {
		host = conf->smtp_relay.host;
		run.port = conf->smtp_relay.port;
		tls = conf->smtp_starttls;
		run.user = conf->smtp_user;
		run.password = conf->smtp_password;
	}
	snprintf(server, sizeof(server), "%s:%d", host, run.port);
	snprintf(connect_to, sizeof(connect_to), "%s", server);
	for (i = 0; i < n; i++) {
		env[i].m = NULL;
		env[i].rcpt = NULL;
		env[i].fed = env[i].paced = 0;
		env[i].run = &run;
	}
	if (ep != NULL && (ep->unusable || (tls != SMTP_TLS_OFF &&
	    r->tls == NULL))) {
		tenant_fail_log(&run, server, ep->unusable ? "its password "
		    "does not open with data_key_file" : "no TLS context "
		    "(smtp_ca_file)", NULL);
		all_unreached(&run, n);
		goto out;
	}
	if (ep != NULL) {
		netguard_resolve(host, conf->relay_allow, conf->nrelay_allow,
		    NETGUARD_RESOLVE_MS, &v);
		if (v.result != NETGUARD_OK) {
			if (v.result == NETGUARD_FORBIDDEN)
				snprintf(why_not, sizeof(why_not), "forbidden "
				    "target: %s is a %s address, outside "
				    "relay_allow; not connecting", v.addr,
				    netguard_class_name(v.klass));
			else
				snprintf(why_not, sizeof(why_not), "the host "
				    "does not resolve");
			tenant_fail_log(&run, server, why_not, NULL);
			all_unreached(&run, n);
			goto out;
		}
		/* No certificate name to check: connect to what was
		 * checked, not to what a second lookup may give. */
		if (tls == SMTP_TLS_OFF && v.addr[0] != '\0')
			snprintf(connect_to, sizeof(connect_to), "%s:%d",
			    v.addr, run.port);
	}
	if ((session = smtp_create_session()) == NULL)
		fatalx("libesmtp: cannot create a session");
	smtp_set_server(session, connect_to);
	smtp_set_hostname(session, conf->smtp_helo ? conf->smtp_helo :
	    conf->node_id);
	smtp_starttls_enable(session, tls == SMTP_TLS_OFF ?
	    Starttls_DISABLED : tls == SMTP_TLS_REQUIRED ?
	    Starttls_REQUIRED : Starttls_ENABLED);
	if (r->tls != NULL && tls != SMTP_TLS_OFF)
		smtp_starttls_set_ctx(session, r->tls);	/* its own ref */
	/* RFC 5321's minimums are minutes: a stuck relay would hold the
	 * batch that long. */
	for (i = Timeout_GREETING; i <= Timeout_DATA2; i++)
		smtp_set_timeout(session, (int)i |
		    Timeout_OVERRIDE_RFC2822_MINIMUM, SMTP_TIMEOUT_MS);
	smtp_set_eventcb(session, event_cb, &run);
	/* What the relay offers (the node's, or the tenant's). */
	smtp_set_monitorcb(session, monitor_cb, &run, 0);
	if (run.user != NULL && run.password != NULL) {
		auth = auth_create_context();
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, auth_interact, &run);
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
		session_err = smtp_strerror(smtp_errno(), err, sizeof(err));
		if (ep == NULL)
			log_warnx("sender %d: smtp %s: %s", who, server,
			    session_err);
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
		/* The relay's failure, not one address's 4xx at RCPT. */
		if (why == NULL && o != 's' && (o == 'r' || (ms != NULL &&
		    ms->code >= 400)))
			why = ms != NULL && ms->code >= 400 ? ms : rs;
		status[0] = '\0';
		if (o == 'b')
			rcpt_status(rs, status);
		report(&run, e, o, status);
	}
	if (ep != NULL && (session_err != NULL || why != NULL)) {
		/* No reply to show (a timeout, a closed connection): say
		 * what libesmtp says. */
		if (session_err == NULL && why->code == 0)
			session_err = smtp_errno() != 0 ? smtp_strerror(
			    smtp_errno(), err, sizeof(err)) : "the relay did "
			    "not answer";
		tenant_fail_log(&run, server, session_err, why);
	}
	smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
out:
	/* Nothing reachable points into the session or at run. */
	for (i = 0; i < n; i++) {
		env[i].m = NULL;
		env[i].rcpt = NULL;
		env[i].run = NULL;
	}
}
