/*
 * smtp_session.h: one libesmtp session with the relay, sending a batch
 * of built messages over one connection (smtp_session.c).
 *
 * Blocking: called on a sender thread only, never on an event loop.
 */
#ifndef FANFARE_SMTP_SESSION_H
#define FANFARE_SMTP_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct smtp_message;		/* libesmtp's */
struct smtp_recipient;		/* libesmtp's */
struct smtp_session_run;	/* one call of smtp_session_send */

/* The relay as every session reaches it: its settings and TLS context,
 * shared read-only by all the sender threads once open. */
struct smtp_relay;

/* NULL with err set when the TLS context cannot be made (smtp_ca_file). */
struct smtp_relay *smtp_relay_open(const struct config *, char *err,
	    size_t errlen);
void	 smtp_relay_close(struct smtp_relay *);
/* 1 when the relay's last EHLO offered 8BITMIME (learnt by each session,
 * for the messages built after it), else 0: unknown or not offered. */
int	 smtp_relay_8bitmime(const struct smtp_relay *);

/*
 * Where one session goes when it is not the node's relay: a tenant's own
 * (PUT /v1/relay; smtp_tenant_relay.c fills it).  The password is in
 * clear here only, in the sender thread's memory.
 */
struct smtp_endpoint {
	uint64_t	 tenant;
	char		 host[254];
	int		 port;
	int		 starttls;		/* SMTP_TLS_* */
	char		*user;			/* NULL: no AUTH */
	char		*password;
	int		 unusable;		/* its password does not open:
						 * defer, never connect */
	int		 eightbit;		/* its last EHLO offered
						 * 8BITMIME: what the sessions
						 * learnt, this thread's own */
};

/* One message of a session: the caller fills the first fields. */
struct smtp_envelope {
	const char		*to;		/* the recipient's address */
	size_t			 tolen;
	const char		*data;		/* the message, CRLF, not
						 * dot-stuffed */
	size_t			 len;
	const char		*from;		/* its own reverse-path (VERP);
						 * NULL: the session's */
	int			 done;		/* has its outcome: skip it
						 * (the session sets it too) */
	int			 eightbit;	/* an 8bit body: sent with
						 * BODY=8BITMIME */
	/* The session's own. */
	struct smtp_message	*m;
	struct smtp_recipient	*rcpt;
	int			 fed, paced;
	struct smtp_session_run	*run;
};

/*
 * What the session tells its caller, on the sender thread:
 *  pace: once per message, just before its data goes out (a rate is a
 *	rate at the relay, not an average over a batch; the caller may
 *	also wait there for the earlier outcomes to be recorded);
 *  outcome: once per message, as soon as it is known: 's' sent, 'b'
 *	bounced (5xx to RCPT), 'f' failed (DATA refused), 't' temporary
 *	(4xx), 'r' never reached (the connection failed first); with
 *	status, for 'b', the reply's enhanced status code ("5.1.1", or
 *	"5.0.0" when the relay gave none: report_reply_status), else "";
 *  stopping: nonzero when no further message should be started.
 */
struct smtp_session_cb {
	void	(*pace)(void *arg, size_t i);
	void	(*outcome)(void *arg, size_t i, char what,
		    const char *status);
	int	(*stopping)(void *arg);
};

/*
 * Sends env[0..n) that are not done from reverse_path over one
 * connection, to ep, or to the node's relay when ep is NULL; every
 * message started gets exactly one outcome.  who names the thread in
 * log lines.  A tenant relay that fails (connect, TLS, 4xx) leaves its
 * messages 't' or 'r', and is logged at most once a minute per tenant,
 * with the reason, never the password.
 */
void	 smtp_session_send(const struct smtp_relay *,
	    struct smtp_endpoint *ep, int who,
	    const char *reverse_path, struct smtp_envelope *env, size_t n,
	    const struct smtp_session_cb *, void *arg);

#endif /* FANFARE_SMTP_SESSION_H */
