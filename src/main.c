/*
 * main.c: fanfared's start-up and teardown.  Reads the configuration,
 * loads token secrets, pages and the GeoIP database, opens each worker's
 * spool and listener (any failure stops start-up with a message), then
 * runs the workers on their own threads and the API listener and the
 * signals on the main thread.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "worker.h"

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

/* The main thread writes a byte: answer what is held, then stop. */
static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	http_worker_flush(w);
	event_base_loopbreak(w->base);
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
    const struct token_keyring *keys, struct geoip *geoip,
    const struct track_pages *pages, char *err, size_t errlen)
{
	struct timeval	 tv;
	char		 name[256];

	w->id = id;
	w->conf = conf;
	w->keys = keys;
	w->geoip = geoip;
	w->pages = pages;
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
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    w->stop_fd) == -1) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	w->stop_ev = event_new(w->base, w->stop_fd[0], EV_READ, stop_cb, w);
	event_add(w->stop_ev, NULL);

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
	if (http_listen(w, err, errlen) == -1)
		return -1;
	w->store = store_new(w, &conf->redis);
	return 0;
}

/* One free path for a worker, in dependency order: the store first (its
 * callbacks still find their connections), then connections, spool. */
static void
worker_free(struct worker *w)
{
	store_free(w->store);
	w->store = NULL;
	http_shutdown(w);
	track_links_free(w);
	if (w->spool != NULL)
		spool_close(w->spool);
	if (w->flush_ev != NULL)
		event_free(w->flush_ev);
	if (w->stop_ev != NULL)
		event_free(w->stop_ev);
	if (w->stop_fd[0] > 0) {
		close(w->stop_fd[0]);
		close(w->stop_fd[1]);
	}
	if (w->base != NULL)
		event_base_free(w->base);
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

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(arg);
}

int
main(int argc, char *argv[])
{
	struct config		 conf;
	struct token_keyring	 keys;
	struct track_pages	 pages;
	struct geoip		*geoip = NULL;
	struct worker		*workers;
	struct event_base	*base;
	struct event		*sigterm, *sigint;
	struct api		*api;
	struct sender_pool	*senders;
	const char		*path = NULL;
	char			 err[1024];
	int			 ch, check_only = 0, debug = 0, i;

	log_init("fanfared", 0);
	while ((ch = getopt(argc, argv, "c:dt")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 't':
			check_only = 1;
			break;
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc)
		usage();

	memset(&keys, 0, sizeof(keys));
	if (config_load(&conf, path, err, sizeof(err)) == -1 ||
	    token_keyring_load(&keys, &conf, err, sizeof(err)) == -1 ||
	    track_pages_load(&pages, conf.templates_dir, err,
	    sizeof(err)) == -1 || (conf.geoip_db != NULL &&
	    (geoip = geoip_open(conf.geoip_db, err, sizeof(err))) == NULL)) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (check_only) {
		fprintf(stderr, "%s: configuration OK\n", path);
		return 0;
	}
	log_init("fanfared", debug || conf.verbose);
	signal(SIGPIPE, SIG_IGN);

	workers = xcalloc((size_t)conf.threads, sizeof(*workers));
	for (i = 0; i < conf.threads; i++)
		if (worker_init(&workers[i], i, &conf, &keys, geoip, &pages,
		    err, sizeof(err)) == -1)
			fatalx("%s", err);
	adopt_spools(workers, conf.threads, &conf);

	if ((base = event_base_new()) == NULL)
		fatalx("cannot create event base");
	if ((api = api_new(base, &conf, workers, conf.threads, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, base);
	sigint = evsignal_new(base, SIGINT, signal_cb, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);

	for (i = 0; i < conf.threads; i++)
		if ((errno = pthread_create(&workers[i].thread, NULL,
		    worker_main, &workers[i])) != 0)
			fatal("pthread_create");
	err[0] = '\0';
	if ((senders = sender_start(&conf, &keys, err, sizeof(err))) == NULL &&
	    err[0] != '\0')
		fatalx("%s", err);
	api_set_senders(api, senders);
	log_info("fanfare %s: tracking on %s:%d (%d threads), api on %s:%d",
	    PACKAGE_VERSION, conf.track_listen.host, conf.track_listen.port,
	    conf.threads, conf.api_listen.host ? conf.api_listen.host :
	    conf.api_listen.unix_path, conf.api_listen.port);

	event_base_dispatch(base);

	sender_stop(senders);	/* each finishes its batch */

	for (i = 0; i < conf.threads; i++)
		if (write(workers[i].stop_fd[1], "", 1) == -1)
			log_warn("worker %d: stop", i);
	for (i = 0; i < conf.threads; i++)
		pthread_join(workers[i].thread, NULL);
	for (i = 0; i < conf.threads; i++)
		worker_free(&workers[i]);
	free(workers);
	api_free(api);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	geoip_close(geoip);
	track_pages_free(&pages);
	config_free(&conf);
	log_info("stopped");
	return 0;
}
