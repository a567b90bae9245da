/*
 * worker.h: the event-loop side of fanfared, shared by main.c, http.c,
 * track.c, store.c and api*.c.
 *
 * DESIGN.  The tracking listener runs on `threads` workers.  Each worker
 * owns an event base, its own SO_REUSEPORT listening socket, its
 * connections, a spool, an asynchronous Redis connection (store) and a
 * link cache: nothing on the hot path is shared, so nothing is locked.
 *
 * A request that produces an event (open, click, unsubscribe) appends the
 * event to the worker's batch and its answer to the connection's output,
 * and the connection is "held".  When the loop has run every ready read
 * callback, the flush event (activated by the first hold) writes the whole batch to the
 * spool in one write(2), then sends the held answers, then lets the store
 * ship the spool to Redis.  So an answered event is always on disk
 * (kill -9 safe) and Redis sees one pipelined script per campaign per
 * batch, never a round trip per hit.
 */
#ifndef FANFARE_WORKER_H
#define FANFARE_WORKER_H

#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>	/* struct event embedded in conn */
#include <event2/listener.h>
#include <pthread.h>

#include "fanfare.h"

#define FF_BATCH_MAX	1024	/* events per spool write */
#define FF_LINK_CACHE	4096	/* link cache slots per worker, power of 2 */
#define FF_OPEN_CACHE	4096	/* recent machine opens per worker */
#define FF_OUT_HIGH	16384	/* stop parsing above this much output */
#define FF_DRAIN_MS	5000	/* SIGTERM: longest wait for answers to go */
#define FF_DRAIN_POLL_MS 20
/* Longest wait of a request on storage (an uncached click's link
 * lookup): then 503 with Retry-After, whatever Redis does.  README
 * states it. */
#define FF_WAIT_MS	2000

struct store;
struct geoip;
struct signup_state;

/* Counters a worker bumps with relaxed atomics; api_metrics.c sums
 * them. */
struct worker_metrics {
	uint64_t	requests[8];		/* by enum http_route; [0]:
						 * other */
	uint64_t	status_2xx, status_3xx, status_4xx, status_5xx;
	uint64_t	events[4];		/* by enum ff_event_kind */
	uint64_t	events_private;
	uint64_t	events_machine;
	uint64_t	events_stored;		/* acked by Redis */
	uint64_t	spool_full;		/* events that found no room */
	uint64_t	spool_errors;
	uint64_t	spool_bytes;		/* gauge, set by the store */
	uint64_t	redis_up;
	uint64_t	redis_reconnects;
	uint64_t	link_lookups;
	uint64_t	connections;
};

#define METRIC_ADD(w, field, n) \
	__atomic_fetch_add(&(w)->metrics.field, (n), __ATOMIC_RELAXED)
#define METRIC_GET(w, field) \
	__atomic_load_n(&(w)->metrics.field, __ATOMIC_RELAXED)
#define METRIC_SET(w, field, v) \
	__atomic_store_n(&(w)->metrics.field, (v), __ATOMIC_RELAXED)

/* A cached answer for one (tenant, campaign, link). */
struct link_entry {
	uint64_t	 tenant, campaign;
	uint32_t	 link;
	int		 found;		/* 0: known to be missing or unsafe */
	uint64_t	 expires_ms;	/* mono_ms() */
	char		*url;
};

struct open_entry {
	uint64_t	 tenant, campaign, contact;
	uint64_t	 at_ms;		/* last machine open */
};

/* Pages and precomputed answers, loaded once, shared read-only. */
struct track_pages {
	char		*unsub_head;	/* unsubscribe.html before {{action}} */
	size_t		 unsub_head_len;
	char		*unsub_tail;
	size_t		 unsub_tail_len;
	char		*done;		/* unsubscribed.html */
	size_t		 done_len;
	char		*notfound;	/* notfound.html */
	size_t		 notfound_len;
	char		*signup;	/* signup.html, the sign-up pages'
					 * shell (signup.c) */
	size_t		 signup_title;	/* offset of its {{title}} */
	size_t		 signup_content; /* offset of its {{content}} */
};

/*
 * What a SIGHUP may change while fanfared runs, as one immutable,
 * reference-counted snapshot (live.c).  Every thread that reads one
 * holds a reference: each worker (swapped on its own thread, from a
 * message on its control socket), each sender thread (taken between
 * batches) and the API.  The last live_unref() frees it, on whichever
 * thread that is, so nothing is ever freed under a reader and the
 * pixel/click path takes no lock: it only follows w->live.
 */
struct live {
	int			 refs;		/* atomic */
	struct token_keyring	 keys;		/* keys[0] signs */
	struct track_pages	 pages;
	struct ff_cidr		 trusted_proxies[FF_MAX_PROXIES];
	int			 ntrusted_proxies;
	int			 send_rate_max;	/* msgs/s; 0: no cap */
	struct seal_key		 data_key;	/* data_key_file's; set 0:
						 * none configured */
};

/* Messages of the main thread to a worker (its control socket). */
enum worker_msg_type {
	WORKER_MSG_STOP = 1,	/* answer what is held, then stop */
	WORKER_MSG_LIVE,	/* take this snapshot (a reference is ours) */
};

struct worker_msg {
	enum worker_msg_type	 type;
	struct live		*live;
};

struct conn;
TAILQ_HEAD(conn_list, conn);

/* The listener's answer to one parsed request (http_listen's; track.c
 * has the tracking one): 0 when answered, 1 when it called
 * http_conn_wait and the answer follows (http_conn_resume, or 503 at
 * the wait's deadline). */
typedef int (*http_handler)(struct conn *, const struct http_request *,
	    const char *body, size_t bodylen);

struct worker {
	int			 id;
	pthread_t		 thread;
	struct event_base	*base;
	struct evconnlistener	*listener;
	http_handler		 handler;	/* each request's answer */
	const struct config	*conf;		/* as started: never reloaded */
	struct live		*live;		/* this thread's reference */
	struct geoip		*geoip;
	struct store		*store;
	struct spool		*spool;		/* this worker's journal */

	struct ff_event		 batch[FF_BATCH_MAX];
	size_t			 nbatch;
	struct conn_list	 held;		/* answers waiting for flush */
	struct event		*flush_ev;
	struct event		*ctl_ev;	/* main thread's messages */
	int			 ctl_fd[2];	/* [1] main writes, [0] we read */
	int			 stopping;	/* draining answers, then out */
	struct event		*drain_ev;	/* polls until drained */
	uint64_t		 drain_deadline_ms;	/* mono_ms() */
	int			 flush_pending;

	struct conn_list	 conns;		/* all, for shutdown */
	int			 nconns;
	const struct timeval	*idle_tv;	/* common timeouts */
	const struct timeval	*header_tv;
	const struct timeval	*wait_tv;	/* FF_WAIT_MS */

	time_t			 date_sec;	/* Date: header cache */
	char			 date[40];	/* "Date: ...\r\n" */
	size_t			 date_len;

	struct link_entry	 links[FF_LINK_CACHE];
	struct open_entry	 opens[FF_OPEN_CACHE];
	uint64_t		 last_spool_warn_ms;

	struct worker_metrics	 metrics;
	struct signup_state	*signup;	/* signup.c's; NULL until the
						 * first sign-up request */
};

/* What an answer says about its connection (RFC 9112 9.3, 9.6). */
enum http_keep {
	HTTP_CLOSE = 0,		/* "Connection: close", then closed */
	HTTP_KEEP,		/* HTTP/1.1: persistent, nothing to say */
	HTTP_KEEP_SAID,		/* HTTP/1.0 keep-alive: "Connection:
				 * keep-alive", or the client must close */
};

/*
 * One client connection of the tracking listener.  Its one free path is
 * http.c's conn_free, at once when it closes: whatever waits on its
 * behalf (a link lookup) holds only a weak reference, *waiter, that
 * http.c clears first.
 */
struct conn {
	struct worker		*w;
	int			 fd;
	struct event		 rev;		/* reads; a timer only once
						 * paused */
	struct event		 wev;
	struct event		 wait_ev;	/* the wait's deadline */
	struct sockaddr_storage	 peer;
	uint64_t		 req_start_ms;	/* first byte of this request */
	struct conn		**waiter;	/* cleared when we stop waiting */
	size_t			 wait_need;	/* the waiting request's bytes */
	enum http_keep		 wait_keep;	/* ... and its answer's */
	unsigned		 wait_head:1;	/* ... a HEAD: no body */
	unsigned		 held:1;	/* on w->held */
	unsigned		 waiting:1;	/* the answer waits (a lookup) */
	unsigned		 closing:1;	/* close once output is sent */
	unsigned		 eof:1;		/* no more input: answer, close */
	unsigned		 paused:1;	/* not reading (full, or eof) */
	unsigned		 writing:1;	/* wev is armed */
	unsigned		 resumed:1;	/* request seen before a lookup */
	unsigned		 continued:1;	/* 100 Continue sent for it */
	TAILQ_ENTRY(conn)	 entry;		/* w->conns */
	TAILQ_ENTRY(conn)	 hold_entry;	/* w->held */
	char			*out;
	size_t			 outlen, outoff, outcap;
	size_t			 inlen, incap;
	char			 in[];		/* max_header + max_body */
};

/* live.c */
/* Loads the keyring and the pages the config names; NULL with "file:
 * reason" in err.  The snapshot starts with one reference. */
struct live *live_load(const struct config *, char *err, size_t);
struct live *live_ref(struct live *);
void	 live_unref(struct live *);

/* http.c */
/* The no-cache headers every tracking answer carries (the contract). */
#define HTTP_NO_CACHE \
	"Cache-Control: no-store, no-cache, must-revalidate, private, " \
	"max-age=0\r\nPragma: no-cache\r\nExpires: 0\r\n"
int	 http_listen(struct worker *, http_handler, char *err, size_t);
/* Stops accepting; closes idle connections.  Returns the number of
 * connections still sending an answer (the caller waits for them). */
int	 http_drain(struct worker *);
void	 http_worker_flush(struct worker *);
/*
 * The handler's answer waits for something asynchronous: *waiter = c
 * now, and http.c sets *waiter to NULL when the connection stops
 * waiting on its own (closed, or answered 503 after FF_WAIT_MS).  The
 * owner of *waiter calls http_conn_resume(*waiter) if it is still set.
 */
void	 http_conn_wait(struct conn *, struct conn **waiter);
/* The request is parsed and handed to the handler again. */
void	 http_conn_resume(struct conn *);
/* The waiting request was answered (http_respond with c->wait_keep and
 * c->wait_head) by whoever it waited for: the next one is read. */
void	 http_conn_finish(struct conn *);
enum http_keep http_keep_of(const struct http_request *);
/* Appends the answer's last header line(s) for keep, and the blank line
 * that ends the head; the connection closes after the answer if keep
 * says so.  Static strings: no allocation on the pixel's path. */
void	 http_conn_out_end_head(struct conn *, enum http_keep);
void	 http_conn_out(struct conn *, const void *, size_t);
/* Adds an event to the worker's batch; the connection's output is held
 * until the batch is on disk. */
void	 http_conn_record(struct conn *, const struct ff_event *);
void	 http_shutdown(struct worker *);
const char *http_date(struct worker *);
void	 http_conn_out_date(struct conn *);
/* Status line, the no-cache headers, extra (zero or more complete header
 * lines), then the body parts unless head_only; counts the status. */
void	 http_respond(struct conn *, int status, const char *ctype,
	    const char *extra, enum http_keep, int head_only,
	    const char *b1, size_t n1, const char *b2, size_t n2,
	    const char *b3, size_t n3);
/* "STATUS Reason" as text/plain; 404 is the notfound page; 503 says
 * Retry-After. */
void	 http_error(struct conn *, int status, enum http_keep, int head_only);

/* track.c */
int	 track_pages_load(struct track_pages *, const char *dir,
	    char *err, size_t);
void	 track_pages_free(struct track_pages *);
/* The tracking listener's http_handler: the routes of the contract.
 * 1 when the connection waits for a link lookup. */
int	 track_handle(struct conn *, const struct http_request *,
	    const char *body, size_t bodylen);
void	 track_links_free(struct worker *);

/* signup.c */
/* The sign-up pages' routes (/f/, /s/, /p/) of track_handle: valid says
 * the token verified, into t.  As track_handle, 1 when it waits. */
int	 signup_handle(struct conn *, const struct http_request *,
	    enum http_route, const struct token *t, int valid,
	    const char *tok, size_t toklen, const char *body, size_t bodylen);
/* After http_shutdown: the worker's storage thread, and its state. */
void	 signup_worker_free(struct worker *);

/* geoip.c */
struct geoip *geoip_open(const char *path, char *err, size_t);
void	 geoip_close(struct geoip *);
/* Writes two letters into cc and returns 0, or -1 when unknown. */
int	 geoip_country(struct geoip *, const struct sockaddr *, char cc[2]);

/* store.c */
struct store *store_new(struct worker *, const struct ff_endpoint *);
void	 store_free(struct store *);
void	 store_adopt_spool(struct store *, struct spool *);
void	 store_kick(struct store *);		/* ship what is spooled */
int	 store_connected(const struct store *);
typedef void (*store_link_cb)(void *arg, int status, const char *url,
	    size_t len);				/* 1 found, 0 none, -1 error */
/* -1 when Redis is not reachable now: the caller answers 503 itself. */
int	 store_link_get(struct store *, uint64_t tenant, uint64_t campaign,
	    uint32_t link, store_link_cb, void *arg);

/* sender.c */
struct sender_pool;
struct sender_metrics {
	uint64_t	sent, bounced, deferred, failed;	/* messages */
};
/* NULL when this node does not send (senders 0 or no smtp_relay) or, with
 * err set, when it cannot (a bad DKIM key). */
struct sender_pool *sender_start(const struct config *, struct live *,
	    char *err, size_t);
/* The snapshot senders take at their next batch (a reference of its own). */
void	 sender_set_live(struct sender_pool *, struct live *);
void	 sender_stop(struct sender_pool *);
void	 sender_metrics(const struct sender_pool *, struct sender_metrics *);

/* api.c */
struct api;
struct api *api_new(struct event_base *, const struct config *,
	    struct live *, struct worker *workers, int nworkers, char *err,
	    size_t);
void	 api_free(struct api *);
void	 api_set_senders(struct api *, const struct sender_pool *);
void	 api_set_live(struct api *, struct live *);

#endif /* FANFARE_WORKER_H */
