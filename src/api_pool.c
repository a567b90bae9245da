/*
 * api_pool.c: the API's storage threads.  A few workers, each with its
 * own synchronous Redis connection, run what needs Redis (a tenant key's
 * check, a handler, a launch snapshot's step, the janitor) so that the
 * main thread, which does every socket's I/O, never waits on Redis; and
 * one probe that PINGs Redis every second, so /healthz tells the truth
 * at once without asking Redis itself: Redis is up when a PING was
 * answered in the last POOL_PROBE_MS + POOL_TIMEOUT_MS.
 *
 * DESIGN (as Redis's bio.c).  One FIFO queue under one mutex; a worker
 * takes a job, runs job->run(job, its db) without the lock, and puts the
 * job on the finished list; the first finished job writes a byte to a
 * pipe the main loop watches, and the main thread then calls each
 * finished job's done.  So done, like everything that touches a
 * connection, runs on the main thread, and a job's owner is touched by
 * one thread at a time, handed over under the mutex.
 *
 * Bounds: the workers' connections time out after POOL_TIMEOUT_MS, and
 * fail at once once Redis has not answered for POOL_STALL_MS during one
 * job (db_set_stall_limit), so a request whose Redis does not answer is
 * answered 503 within about POOL_STALL_MS + POOL_TIMEOUT_MS of reaching a
 * worker (api.c adds the bound on its wait in the queue).  A patient job
 * (launch steps, the janitor, a request with a big body, an import
 * batch) waits POOL_PATIENT_MS for both: one script over 10,000 contacts
 * may take more than a second on a busy Redis, and failing it would turn
 * slowness into errors.  The queue holds POOL_QUEUE_MAX jobs; more are
 * refused (the caller answers 503).
 *
 * Never: call done on a worker, or free a job's owner here.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"

#define POOL_TIMEOUT_MS		1000
#define POOL_STALL_MS		1500
#define POOL_PATIENT_MS		5000	/* redis_sync.c's own default */
#define POOL_QUEUE_MAX		1024
#define POOL_PROBE_MS		1000
#define POOL_BACKOFF_MS		200	/* a worker tries Redis again */

struct api_pool {
	struct event_base	*base;
	const struct ff_endpoint *ep;
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;		/* a job, or stopping */
	pthread_cond_t		 probe_wait;	/* stopping, for the probe */
	struct api_job_list	 todo;
	struct api_job_list	 finished;
	size_t			 ntodo;
	int			 stopping;
	int			 nthreads;
	pthread_t		*threads;
	pthread_t		 probe;
	int			 probe_started;
	uint64_t		 answered_ms;	/* the last PING answered;
						 * atomic */
	int			 wake[2];	/* finished: main, read this */
	struct event		*wake_ev;
};

static void *
pool_worker(void *arg)
{
	struct api_pool	*p = arg;
	struct api_job	*j;
	struct db	*db;
	int		 wake, patient = 0;

	db = db_open(p->ep);
	db_set_timeout(db, POOL_TIMEOUT_MS);
	db_set_backoff(db, POOL_BACKOFF_MS);
	db_set_stall_limit(db, POOL_STALL_MS);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && TAILQ_EMPTY(&p->todo))
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stopping)
			break;
		j = TAILQ_FIRST(&p->todo);
		TAILQ_REMOVE(&p->todo, j, entry);
		p->ntodo--;
		pthread_mutex_unlock(&p->lock);

		if (j->patient != patient) {
			patient = j->patient;
			db_set_timeout(db, patient ? POOL_PATIENT_MS :
			    POOL_TIMEOUT_MS);
			db_set_stall_limit(db, patient ? POOL_PATIENT_MS :
			    POOL_STALL_MS);
		}
		db_begin(db);
		j->run(j, db);

		pthread_mutex_lock(&p->lock);
		wake = TAILQ_EMPTY(&p->finished);
		TAILQ_INSERT_TAIL(&p->finished, j, entry);
		/* A full pipe already says "look": the byte is a doorbell. */
		if (wake && write(p->wake[1], "", 1) == -1 && errno != EAGAIN)
			log_warn("api pool: wake");
	}
	pthread_mutex_unlock(&p->lock);
	db_close(db);
	return NULL;
}

/* PINGs Redis every POOL_PROBE_MS with the workers' short timeouts. */
static void *
pool_probe(void *arg)
{
	struct api_pool	*p = arg;
	struct timespec	 until;
	struct db	*db;
	redisReply	*r;
	int		 up;

	db = db_open(p->ep);
	db_set_timeout(db, POOL_TIMEOUT_MS);
	db_set_backoff(db, POOL_BACKOFF_MS);
	db_set_stall_limit(db, POOL_STALL_MS);
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		pthread_mutex_unlock(&p->lock);
		db_begin(db);
		r = db_cmd(db, "PING");
		up = r != NULL && r->type == REDIS_REPLY_STATUS;
		freeReplyObject(r);
		if (up)
			__atomic_store_n(&p->answered_ms, mono_ms(),
			    __ATOMIC_RELAXED);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (POOL_PROBE_MS % 1000) * 1000000L;
		until.tv_sec += POOL_PROBE_MS / 1000 + until.tv_nsec /
		    1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&p->lock);
		if (!p->stopping)
			pthread_cond_timedwait(&p->probe_wait, &p->lock,
			    &until);
	}
	pthread_mutex_unlock(&p->lock);
	db_close(db);
	return NULL;
}

/* The doorbell: every finished job's done, on the main thread. */
static void
pool_wake(evutil_socket_t fd, short what, void *arg)
{
	struct api_pool		*p = arg;
	struct api_job_list	 ready;
	struct api_job		*j;
	char			 buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&ready);
	pthread_mutex_lock(&p->lock);
	TAILQ_CONCAT(&ready, &p->finished, entry);
	pthread_mutex_unlock(&p->lock);
	while ((j = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, j, entry);
		j->done(j);
	}
}

struct api_pool *
api_pool_new(struct event_base *base, const struct ff_endpoint *ep,
    int nthreads)
{
	struct api_pool	*p = xcalloc(1, sizeof(*p));
	int		 i;

	p->base = base;
	p->ep = ep;
	TAILQ_INIT(&p->todo);
	TAILQ_INIT(&p->finished);
	if (pthread_mutex_init(&p->lock, NULL) != 0 ||
	    pthread_cond_init(&p->work, NULL) != 0 ||
	    pthread_cond_init(&p->probe_wait, NULL) != 0)
		fatalx("api pool: pthread init");
	if (pipe(p->wake) == -1 ||
	    fcntl(p->wake[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(p->wake[1], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(p->wake[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(p->wake[1], F_SETFD, FD_CLOEXEC) == -1)
		fatal("api pool: pipe");
	if ((p->wake_ev = event_new(base, p->wake[0], EV_READ | EV_PERSIST,
	    pool_wake, p)) == NULL || event_add(p->wake_ev, NULL) == -1)
		fatalx("api pool: event");
	p->threads = xcalloc((size_t)nthreads, sizeof(*p->threads));
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, pool_worker, p) != 0)
			fatalx("api pool: cannot start a worker");
		p->nthreads++;
	}
	if (pthread_create(&p->probe, NULL, pool_probe, p) != 0)
		fatalx("api pool: cannot start the probe");
	p->probe_started = 1;
	return p;
}

int
api_pool_submit(struct api_pool *p, struct api_job *j)
{
	pthread_mutex_lock(&p->lock);
	if (p->stopping || p->ntodo >= POOL_QUEUE_MAX) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	j->queued_ms = mono_ms();
	j->cancelled = 0;
	TAILQ_INSERT_TAIL(&p->todo, j, entry);
	p->ntodo++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Up when a PING was answered lately: a probe stuck in a slow PING (or
 * a cluster map refresh) must not leave an old "up" standing. */
int
api_pool_redis_up(const struct api_pool *p)
{
	uint64_t	ok = __atomic_load_n(&p->answered_ms, __ATOMIC_RELAXED);

	return ok != 0 && mono_ms() - ok <= POOL_PROBE_MS + POOL_TIMEOUT_MS;
}

void
api_pool_free(struct api_pool *p)
{
	struct api_job	*j;
	int		 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->probe_wait);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	if (p->probe_started)
		pthread_join(p->probe, NULL);
	/* Alone now: the owners learn their jobs' end. */
	while ((j = TAILQ_FIRST(&p->finished)) != NULL) {
		TAILQ_REMOVE(&p->finished, j, entry);
		j->done(j);
	}
	while ((j = TAILQ_FIRST(&p->todo)) != NULL) {
		TAILQ_REMOVE(&p->todo, j, entry);
		j->cancelled = 1;
		j->done(j);
	}
	event_free(p->wake_ev);
	close(p->wake[0]);
	close(p->wake[1]);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->probe_wait);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
