/*
 * main.c: fanfared's start-up, reload and teardown.  Reads the
 * configuration, loads token secrets, pages and the GeoIP database, opens
 * each worker's spool and listener (any failure stops start-up with a
 * message), then runs the workers on their own threads and the API
 * listener and the signals on the main thread.  SIGHUP reloads what can
 * change while running (reload()); nothing after start-up exits on a bad
 * file.  SIGTERM and SIGINT stop gracefully: no new connections, held
 * answers sent, the senders' batches finished.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <pthread.h>

#include "bounce_listen.h"
#include "config.h"
#include "api.h"
#include "listen.h"
#include "smtp_session.h"
#include "webhook_deliver.h"
#include "worker.h"

#include <curl/curl.h>

/*
 * What start-up loads past live_load() and the GeoIP database, loaded
 * and dropped, so that -t fails on what start-up would fail on: the
 * API's special-category rules and dashboard files (api_new), and on a
 * node that sends the DKIM key and the relay's CAs (sender_start).
 */
static int
check_start_files(const struct config *conf, char *err, size_t errlen)
{
	struct special		*special;
	struct dashboard	*dashboard = NULL;
	struct dkim_key		*dkim = NULL;
	struct smtp_relay	*relay;

	if ((special = special_load(conf->special_categories_file, err,
	    errlen)) == NULL)
		return -1;
	special_free(special);
	if (dashboard_load(&dashboard, conf->templates_dir, err, errlen) == -1)
		return -1;
	dashboard_free(dashboard);
	if (conf->senders == 0 || conf->smtp_relay.host == NULL)
		return 0;
	if (conf->dkim_key_file != NULL && (dkim = dkim_key_load(
	    conf->dkim_key_file, conf->dkim_domain, conf->dkim_selector, err,
	    errlen)) == NULL)
		return -1;
	dkim_key_free(dkim);
	if ((relay = smtp_relay_open(conf, err, errlen)) == NULL)
		return -1;
	smtp_relay_close(relay);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fanfared [-dt] -c config-file\n");
	exit(2);
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	http_worker_flush(arg);
}

/* Polled while stopping: out once every answer is sent, or at the
 * deadline (a client that does not read loses its answer). */
static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	if (http_drain(w) == 0 || mono_ms() >= w->drain_deadline_ms)
		event_base_loopbreak(w->base);
}

static void
worker_stop(struct worker *w)
{
	struct timeval	tv = { 0, FF_DRAIN_POLL_MS * 1000 };

	if (w->stopping)
		return;
	w->stopping = 1;
	w->drain_deadline_ms = mono_ms() + FF_DRAIN_MS;
	http_worker_flush(w);		/* answer what is held */
	if (http_drain(w) == 0) {
		event_base_loopbreak(w->base);
		return;
	}
	w->drain_ev = event_new(w->base, -1, EV_PERSIST, drain_cb, w);
	event_add(w->drain_ev, &tv);
}

/*
 * The main thread's messages, read on the worker's own thread: so the
 * snapshot is swapped between two requests, never under a handler.
 */
static void
ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct worker_msg	 m;
	struct live		*old;
	ssize_t			 n;

	while ((n = recv(fd, &m, sizeof(m), 0)) == (ssize_t)sizeof(m)) {
		switch (m.type) {
		case WORKER_MSG_STOP:
			worker_stop(w);
			break;
		case WORKER_MSG_LIVE:
			old = w->live;
			w->live = m.live;	/* its reference is ours now */
			live_unref(old);
			break;
		}
	}
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("worker %d: control socket", w->id);
}

/* -1 when the worker's socket is full: it has not read for a while. */
static int
worker_send(struct worker *w, enum worker_msg_type type, struct live *l)
{
	struct worker_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.live = l;
	if (send(w->ctl_fd[1], &m, sizeof(m), MSG_DONTWAIT) !=
	    (ssize_t)sizeof(m)) {
		log_warn("worker %d: control message", w->id);
		return -1;
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	if (event_base_dispatch(w->base) == -1)
		log_warnx("worker %d: event loop failed", w->id);
	return NULL;
}

static int
worker_init(struct worker *w, int id, const struct config *conf,
    struct live *live, struct geoip *geoip, char *err, size_t errlen)
{
	struct timeval	 tv;
	char		 name[256];

	w->id = id;
	w->conf = conf;
	w->live = live_ref(live);
	w->geoip = geoip;
	w->ctl_fd[0] = w->ctl_fd[1] = -1;
	TAILQ_INIT(&w->held);
	TAILQ_INIT(&w->conns);
	if ((w->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "worker %d: cannot create event base", id);
		return -1;
	}
	/* Activated from a read callback, the flush event joins the tail of
	 * the active queue: it runs after every read of this loop turn and
	 * before the next epoll_wait.  (A lower priority would starve it
	 * for as long as reads keep coming.) */
	w->flush_ev = event_new(w->base, -1, 0, flush_cb, w);
	/* Datagrams: one message per send, never half of one. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    w->ctl_fd) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	w->ctl_ev = event_new(w->base, w->ctl_fd[0], EV_READ | EV_PERSIST,
	    ctl_cb, w);
	event_add(w->ctl_ev, NULL);

	tv.tv_sec = conf->idle_timeout_ms / 1000;
	tv.tv_usec = (conf->idle_timeout_ms % 1000) * 1000;
	w->idle_tv = event_base_init_common_timeout(w->base, &tv);
	tv.tv_sec = conf->header_timeout_ms / 1000;
	tv.tv_usec = (conf->header_timeout_ms % 1000) * 1000;
	w->header_tv = event_base_init_common_timeout(w->base, &tv);

	snprintf(name, sizeof(name), "%s-t%d", conf->node_id, id);
	if ((w->spool = spool_open(conf->spool_dir, name,
	    conf->spool_max_bytes, err, errlen)) == NULL)
		return -1;
	if (http_listen(w, track_handle, err, errlen) == -1)
		return -1;
	w->store = store_new(w, &conf->redis);
	return 0;
}

/* One free path for a worker, in dependency order: the store first (its
 * callbacks still find their connections), then connections, spool. */
static void
worker_free(struct worker *w)
{
	struct worker_msg	m;

	/* A snapshot sent after the worker stopped reading is still ours. */
	if (w->ctl_fd[0] != -1)
		while (recv(w->ctl_fd[0], &m, sizeof(m), 0) ==
		    (ssize_t)sizeof(m))
			if (m.type == WORKER_MSG_LIVE)
				live_unref(m.live);
	store_free(w->store);
	w->store = NULL;
	http_shutdown(w);
	signup_worker_free(w);
	track_links_free(w);
	if (w->spool != NULL)
		spool_close(w->spool);
	if (w->flush_ev != NULL)
		event_free(w->flush_ev);
	if (w->ctl_ev != NULL)
		event_free(w->ctl_ev);
	if (w->drain_ev != NULL)
		event_free(w->drain_ev);
	if (w->ctl_fd[0] != -1) {
		close(w->ctl_fd[0]);
		close(w->ctl_fd[1]);
	}
	if (w->base != NULL)
		event_base_free(w->base);
	live_unref(w->live);
	w->live = NULL;
}

/* Spools of names no worker has now (a run with more threads, another
 * node id) are replayed by the workers in turn. */
static void
adopt_spools(struct worker *workers, int n, const struct config *conf)
{
	char		*names[256];
	char		 err[512];
	struct spool	*sp;
	int		 count, i, j, mine, next = 0;

	if ((count = spool_list(conf->spool_dir, names, 256)) == -1) {
		log_warn("spool_dir %s", conf->spool_dir);
		return;
	}
	for (i = 0; i < count; i++) {
		mine = 0;
		for (j = 0; j < n; j++)
			if (strcmp(names[i], spool_name(workers[j].spool)) == 0)
				mine = 1;
		if (!mine) {
			if ((sp = spool_open(conf->spool_dir, names[i],
			    UINT64_MAX, err, sizeof(err))) == NULL)
				log_warnx("%s", err);
			else {
				log_info("replaying spool %s", names[i]);
				store_adopt_spool(workers[next].store, sp);
				next = (next + 1) % n;
			}
		}
		free(names[i]);
	}
}

/* What the signal handlers and a reload need. */
struct fanfared {
	const char		*path;
	int			 debug;		/* -d */
	struct config		 conf;		/* as started */
	struct live		*live;		/* the newest snapshot */
	struct worker		*workers;
	struct api		*api;
	struct bounce_listener	*bounces;	/* NULL: no bounce_listen */
	struct sender_pool	*senders;
	struct event_base	*base;
	struct webhook_deliverer *webhooks;
};

/*
 * SIGHUP: the config file and the secret files again.  A bad file is
 * logged with its file:line and changes nothing.  What the new snapshot
 * holds (struct live) goes to each worker as a message, to the senders
 * and to the API; every other directive keeps its start-up value, and
 * the ones that changed are named, since they need a restart.
 */
static void
reload(struct fanfared *d)
{
	struct config	 next;
	struct live	*l;
	char		 err[1024], applied[1024], restart[1024], kids[64];
	size_t		 used = 0;
	int		 i;

	log_info("SIGHUP: reloading %s", d->path);
	if (config_load(&next, d->path, err, sizeof(err)) == -1) {
		log_warnx("reload failed: %s; still running on the previous "
		    "configuration", err);
		return;
	}
	if ((l = live_load(&next, err, sizeof(err))) == NULL) {
		log_warnx("reload failed: %s; still running on the previous "
		    "configuration", err);
		config_free(&next);
		return;
	}
	config_diff(&d->conf, &next, applied, sizeof(applied), restart,
	    sizeof(restart));
	log_set_verbose(d->debug || next.verbose);
	for (i = 0; i < d->conf.threads; i++)
		if (worker_send(&d->workers[i], WORKER_MSG_LIVE,
		    live_ref(l)) == -1)
			live_unref(l);	/* it keeps its old snapshot */
	sender_set_live(d->senders, l);
	api_set_live(d->api, l);
	bounce_listen_set_live(d->bounces, l);
	webhook_deliver_set_live(d->webhooks, l);
	live_unref(d->live);
	d->live = l;

	kids[0] = '\0';
	for (i = 0; i < l->keys.nkeys && used < sizeof(kids); i++)
		used += (size_t)snprintf(kids + used, sizeof(kids) - used,
		    "%s%u", i ? "," : "", l->keys.keys[i].kid);
	log_info("reloaded: token key ids %s (%u signs); changed: %s", kids,
	    l->keys.keys[0].kid, applied[0] ? applied : "nothing");
	if (restart[0] != '\0')
		log_warnx("reload: %s changed; that takes a restart, "
		    "the running values stay", restart);
	config_free(&next);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct fanfared	*d = arg;

	if (sig == SIGHUP) {
		reload(d);
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(d->base);
}

/* Threads start with these blocked, so the signals reach the main
 * thread's loop and never interrupt a sender's SMTP exchange. */
static void
signals_block(int how)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if ((errno = pthread_sigmask(how, &set, NULL)) != 0)
		fatal("pthread_sigmask");
}

int
main(int argc, char *argv[])
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct fanfared		 d;
	struct geoip		*geoip = NULL;
	struct event		*sigev[FF_NELEM(sigs)];
	char			 err[1024];
	int			 ch, check_only = 0, i;
	size_t			 k;

	memset(&d, 0, sizeof(d));
	log_init("fanfared", 0);
	/* A reload sent while starting must not kill us (the default
	 * action); the loop's handler replaces this before it runs. */
	signal(SIGHUP, SIG_IGN);
	while ((ch = getopt(argc, argv, "c:dt")) != -1) {
		switch (ch) {
		case 'c':
			d.path = optarg;
			break;
		case 'd':
			d.debug = 1;
			break;
		case 't':
			check_only = 1;
			break;
		default:
			usage();
		}
	}
	if (d.path == NULL || optind != argc)
		usage();

	if (config_load(&d.conf, d.path, err, sizeof(err)) == -1 ||
	    (d.live = live_load(&d.conf, err, sizeof(err))) == NULL ||
	    (d.conf.geoip_db != NULL &&
	    (geoip = geoip_open(d.conf.geoip_db, err, sizeof(err))) == NULL) ||
	    (check_only && check_start_files(&d.conf, err, sizeof(err)) == -1)) {
		geoip_close(geoip);
		fprintf(stderr, "%s\n", err);
		live_unref(d.live);
		config_free(&d.conf);
		return 1;
	}
	if (check_only) {
		fprintf(stderr, "%s: configuration OK\n", d.path);
		geoip_close(geoip);
		live_unref(d.live);
		config_free(&d.conf);
		return 0;
	}
	log_init("fanfared", d.debug || d.conf.verbose);
	signal(SIGPIPE, SIG_IGN);
	/* Give memory back.  glibc raises its mmap and trim thresholds up to
	 * 32 and 64 MB as big blocks come and go (API bodies, import
	 * batches), and every thread's arena then keeps that much free:
	 * fixed thresholds make freed big blocks and heap tops go back to
	 * the system.  Before any thread starts. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	/* libcurl's global state (OpenSSL's, for https webhooks): once,
	 * before any thread. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");

	d.workers = xcalloc((size_t)d.conf.threads, sizeof(*d.workers));
	for (i = 0; i < d.conf.threads; i++)
		if (worker_init(&d.workers[i], i, &d.conf, d.live, geoip,
		    err, sizeof(err)) == -1)
			fatalx("%s", err);
	adopt_spools(d.workers, d.conf.threads, &d.conf);

	if ((d.base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	if ((d.api = api_new(d.base, &d.conf, d.live, d.workers,
	    d.conf.threads, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (d.conf.bounce_listen.host != NULL &&
	    (d.bounces = bounce_listen_new(d.base, &d.conf, d.live, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	for (k = 0; k < FF_NELEM(sigs); k++) {
		sigev[k] = evsignal_new(d.base, sigs[k], signal_cb, &d);
		evsignal_add(sigev[k], NULL);
	}

	signals_block(SIG_BLOCK);
	for (i = 0; i < d.conf.threads; i++)
		if ((errno = pthread_create(&d.workers[i].thread, NULL,
		    worker_main, &d.workers[i])) != 0)
			fatal("pthread_create");
	err[0] = '\0';
	if ((d.senders = sender_start(&d.conf, d.live, err, sizeof(err))) ==
	    NULL && err[0] != '\0')
		fatalx("%s", err);
	if ((d.webhooks = webhook_deliver_start(&d.conf, d.live, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	signals_block(SIG_UNBLOCK);
	api_set_senders(d.api, d.senders);
	if (d.conf.api_listen.unix_path != NULL)
		log_info("fanfare %s: tracking on %s:%d (%d threads), api on "
		    "unix:%s", PACKAGE_VERSION, d.conf.track_listen.host,
		    d.conf.track_listen.port, d.conf.threads,
		    d.conf.api_listen.unix_path);
	else
		log_info("fanfare %s: tracking on %s:%d (%d threads), api on "
		    "%s:%d", PACKAGE_VERSION, d.conf.track_listen.host,
		    d.conf.track_listen.port, d.conf.threads,
		    d.conf.api_listen.host, d.conf.api_listen.port);

	event_base_dispatch(d.base);

	/* Workers and senders wind down side by side: the workers answer
	 * what they hold and what is sent to them, the senders finish
	 * their batch (outcomes written). */
	for (i = 0; i < d.conf.threads; i++)
		worker_send(&d.workers[i], WORKER_MSG_STOP, NULL);
	sender_stop(d.senders);
	webhook_deliver_stop(d.webhooks);
	for (i = 0; i < d.conf.threads; i++)
		pthread_join(d.workers[i].thread, NULL);
	for (i = 0; i < d.conf.threads; i++)
		worker_free(&d.workers[i]);
	free(d.workers);
	bounce_listen_free(d.bounces);
	api_free(d.api);
	listen_unix_remove(&d.conf.api_listen);
	for (k = 0; k < FF_NELEM(sigs); k++)
		event_free(sigev[k]);
	event_base_free(d.base);
	geoip_close(geoip);
	live_unref(d.live);
	config_free(&d.conf);
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
