/*
 * esmtp-ceiling.c: what libesmtp alone sends to a relay, with none of
 * Fanfare's work (no Redis, no rendering, no MIME, no DKIM), for
 * bench-smtp.sh to set beside smtp-source and fanfared in one run.
 *
 *	esmtp-ceiling HOST:PORT THREADS MESSAGES SIZE
 *
 * THREADS threads, each sending sessions of up to 100 messages (as a
 * fanfared sender does) until MESSAGES are sent in all; every message is
 * the same SIZE-byte text, handed to libesmtp in one piece.  TCP_NODELAY
 * is set at connect as fanfared's smtp_session.c does (libesmtp cannot).
 * Prints "sent N failed F wall_s S msgs_per_s R" on stdout.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libesmtp.h>

#define BATCH	100

static const char	*server;
static int		 port;
static long		 total;
static long		 next;		/* messages handed out */
static long		 sent, failed;
static char		*body;
static size_t		 bodylen;
static pthread_mutex_t	 mu = PTHREAD_MUTEX_INITIALIZER;

static void
nodelay(void)
{
	struct sockaddr_in	sin;
	socklen_t		len;
	int			fd, on, max = getdtablesize();

	for (fd = 3; fd < max; fd++) {
		len = sizeof(sin);
		if (getpeername(fd, (struct sockaddr *)&sin, &len) == -1 ||
		    sin.sin_family != AF_INET || ntohs(sin.sin_port) != port)
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

static void
event_cb(smtp_session_t s, int event, void *arg, ...)
{
	(void)s;
	(void)arg;
	if (event == SMTP_EV_CONNECT)
		nodelay();
}

/* The whole message in one piece, then the end; arg is the message's
 * "fed" flag (libesmtp frees *ctx itself, so it stays NULL here). */
static const char *
message_cb(void **ctx, int *len, void *arg)
{
	int	*fed = arg;

	(void)ctx;
	if (len == NULL) {		/* rewind */
		*fed = 0;
		return NULL;
	}
	if (*fed) {
		*len = 0;
		return NULL;
	}
	*fed = 1;
	*len = (int)bodylen;
	return body;
}

static long
take(long want)
{
	long	n;

	pthread_mutex_lock(&mu);
	n = total - next < want ? total - next : want;
	next += n;
	pthread_mutex_unlock(&mu);
	return n;
}

static void *
worker(void *arg)
{
	smtp_session_t		 s;
	smtp_message_t		 m[BATCH];
	int			 fed[BATCH];
	const smtp_status_t	*st;
	long			 n, i, ok, bad;

	(void)arg;
	while ((n = take(BATCH)) > 0) {
		if ((s = smtp_create_session()) == NULL)
			abort();
		smtp_set_server(s, server);
		smtp_set_hostname(s, "ceiling.example");
		smtp_set_eventcb(s, event_cb, NULL);
		for (i = 0; i < n; i++) {
			m[i] = smtp_add_message(s);
			smtp_set_reverse_path(m[i], "from@example.com");
			fed[i] = 0;
			smtp_set_messagecb(m[i], message_cb, &fed[i]);
			smtp_add_recipient(m[i], "to@example.com");
		}
		smtp_start_session(s);
		ok = bad = 0;
		for (i = 0; i < n; i++) {
			st = smtp_message_transfer_status(m[i]);
			if (st != NULL && st->code / 100 == 2)
				ok++;
			else
				bad++;
		}
		smtp_destroy_session(s);
		pthread_mutex_lock(&mu);
		sent += ok;
		failed += bad;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct timespec	 t0, t1;
	pthread_t	*th;
	const char	*colon;
	long		 nthreads, i, size, line;
	double		 wall;
	char		*p;

	if (argc != 5 || (colon = strrchr(argv[1], ':')) == NULL) {
		fprintf(stderr, "usage: esmtp-ceiling HOST:PORT THREADS "
		    "MESSAGES SIZE\n");
		return 2;
	}
	server = argv[1];
	port = atoi(colon + 1);
	nthreads = atol(argv[2]);
	total = atol(argv[3]);
	size = atol(argv[4]);
	if (port <= 0 || nthreads < 1 || nthreads > 256 || total < 1 ||
	    size < 100 || size > 10000000) {
		fprintf(stderr, "esmtp-ceiling: bad arguments\n");
		return 2;
	}
	/* Headers, then lines of 76 'x' and CRLF up to size bytes. */
	if ((body = malloc((size_t)size + 80)) == NULL)
		return 1;
	p = body + sprintf(body, "From: from@example.com\r\nTo: "
	    "to@example.com\r\nSubject: ceiling\r\n\r\n");
	while (p - body < size) {
		for (line = 0; line < 76; line++)
			*p++ = 'x';
		*p++ = '\r';
		*p++ = '\n';
	}
	bodylen = (size_t)(p - body);
	if ((th = calloc((size_t)nthreads, sizeof(*th))) == NULL)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			return 1;
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	wall = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("sent %ld failed %ld wall_s %.3f msgs_per_s %.1f\n", sent,
	    failed, wall, (double)sent / wall);
	return failed != 0;
}
