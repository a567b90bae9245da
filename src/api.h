/*
 * api.h: the JSON API's shared types, for api*.c, fanfarectl.c and
 * sender.c.
 *
 * A request is one struct api_req, made by api_http.c when its head has
 * been read, routed and authenticated by api.c through api_route.c's
 * table, and answered by exactly one reply function of api_reply.c
 * (api_json, api_error, api_nocontent, api_static).  A streaming handler
 * (a row with streams set) answers from its stream_end, or earlier on an
 * error; api_req_abort lets go of a request whose connection died first.
 *
 * Threads.  The main thread does all socket I/O, parsing, routing, the
 * admin key, /healthz, /metrics and the dashboard.  Whatever needs Redis
 * (a tenant key's check, a handler) runs on one of api_pool.c's worker
 * threads with that worker's own connection (r->db); the reply it
 * records is sent by the main thread.  While a request is at a worker
 * (r->busy) only that worker touches it; the main thread frees it, always
 * (api_req_free), once it is back.
 *
 * Redis: the handlers of tenants, templates, campaigns and launches
 * call the stores (store_*.h), which alone build commands; every key is
 * named by a function of keys.h, whose top comment lists them
 * (README.md's "Redis keys" says what each holds).
 */
#ifndef FANFARE_API_H
#define FANFARE_API_H

#include <pthread.h>

#include <event2/buffer.h>
#include <event2/listener.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "redis_sync.h"
#include "worker.h"

#define API_MAX_SEGS	8
#define API_MAX_BATCH	10000	/* contacts per POST */

struct db;
struct dashboard;
struct api_pool;

/*
 * A request's work apart from HTTP, so that fanfared's handlers and
 * fanfarectl run the same code: a core function takes the connection,
 * the tenant and who acts, and returns its JSON answer (or 0), or NULL
 * (or -1) with the error in *err, which the handler answers and
 * fanfarectl prints.
 */
struct api_ctx {
	struct db			*db;
	const struct token_keyring	*keys;	/* keyed hashes of erased */
	uint64_t			 tenant;
	const char			*actor;	/* audit: the key prefix, or
						 * "fanfarectl" */
};

struct api_err {
	int		 status;	/* as the API answers: 404, 422, 503 */
	const char	*code;		/* API.md's snake_case code */
	char		 message[256];
};

/* Route labels of the API metrics (fanfare_api_responses_total). */
enum api_route {
	API_ROUTE_OTHER,
	API_ROUTE_HEALTHZ,
	API_ROUTE_METRICS,
	API_ROUTE_DASHBOARD,	/* static files: not a /v1/ name */
	API_ROUTE_TENANTS,
	API_ROUTE_CONTACTS,
	API_ROUTE_LISTS,
	API_ROUTE_OPTOUTS,
	API_ROUTE_BLOCKLIST,
	API_ROUTE_TEMPLATES,
	API_ROUTE_CAMPAIGNS,
	API_ROUTE_SUBJECTS,
	API_ROUTE_DOMAINS,
	API_ROUTE_BOUNCES,
	API_ROUTE_RELAY,
	API_ROUTE_SEQUENCES,
	API_ROUTE_SEGMENTS,
	API_ROUTE_FORMS,
	API_ROUTE_EVENTS,
	API_ROUTE_USERS,
	API_ROUTE_SESSION,
	API_ROUTE_WEBHOOKS,
	API_NROUTES
};

/* Who may call an endpoint. */
enum api_auth {
	API_AUTH_NONE,		/* anyone: health, metrics, the dashboard */
	API_AUTH_ADMIN,		/* the admin key: tenant management only */
	API_AUTH_TENANT,	/* a tenant key: its own tenant's data only;
				 * or a user's session, within its role */
	API_AUTH_LOGIN		/* anyone, with a small body, on a worker:
				 * POST /v1/session */
};

/* The methods of an endpoint, as bits. */
#define API_METHOD(m)	(1u << (m))
#define API_GET		API_METHOD(HTTP_GET)
#define API_HEAD	API_METHOD(HTTP_HEAD)
#define API_POST	API_METHOD(HTTP_POST)
#define API_PUT		API_METHOD(HTTP_PUT)
#define API_PATCH	API_METHOD(HTTP_PATCH)
#define API_DELETE	API_METHOD(HTTP_DELETE)

#define API_ROUTE_MAX_ARGS	4	/* {name} captures in a pattern */

struct api_req;

/* One row of the route table (api_route.c says how it is read). */
struct api_endpoint {
	unsigned	 methods;	/* API_GET | API_HEAD ... */
	const char	*pattern;	/* "/v1/tenants/{id}/keys/{prefix}" */
	void		(*handler)(struct api_req *);	/* answers */
	enum api_auth	 auth;
	enum api_route	 label;		/* the metrics route label */
	int		 streams;	/* the body is handed over as it
					 * arrives (api_streams) */
};

/* What a request's method and segments found in the table. */
struct api_match {
	const struct api_endpoint *endpoint;	/* the row to call, or NULL */
	const struct api_endpoint *resource;	/* the row whose auth and
						 * label a 404 or 405 takes;
						 * NULL: a 404 for anyone */
	unsigned		 allow;		/* the path's methods: not 0
						 * and no endpoint is a 405 */
	const char		*arg[API_ROUTE_MAX_ARGS];	/* {name}s */
	int			 narg;
};

struct api_conn;
TAILQ_HEAD(api_conn_list, api_conn);
struct launch_snapshot;
TAILQ_HEAD(launch_snapshot_list, launch_snapshot);

/*
 * api_pool.c: work for a worker thread.  run is called on a worker with
 * its Redis connection, then done on the main thread, exactly once each
 * (done alone, with cancelled set, when the pool stopped first).  The
 * job is embedded in its owner (a request, a snapshot, the janitor),
 * which must live until done.  A patient job gets the sync connection's
 * usual 5 s timeouts instead of the short ones (api_pool.c says why).
 */
struct api_job {
	TAILQ_ENTRY(api_job)	 entry;
	void			(*run)(struct api_job *, struct db *);
	void			(*done)(struct api_job *);
	uint64_t		 queued_ms;
	int			 patient;	/* long timeouts: background
						 * work, big writes */
	int			 cancelled;
};
TAILQ_HEAD(api_job_list, api_job);

/* What a handler at a worker asks of the main thread's launch snapshots
 * (api_launch.c), done when the request comes back, answered or not. */
enum launch_note_kind {
	LAUNCH_NOTE_NONE,
	LAUNCH_NOTE_START,	/* a launch: snapshot its list */
	LAUNCH_NOTE_STOP,	/* a cancel: stop its snapshot */
	LAUNCH_NOTE_STOP_TENANT	/* a tenant deleted: stop all of its */
};

struct launch_note {
	enum launch_note_kind	 kind;
	uint64_t		 tenant;
	uint64_t		 campaign;
	uint64_t		 list;
	int			 registered;	/* in ff:sending already */
};

struct api {
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct api_conn_list	 conns;
	int			 nconns;
	const struct config	*conf;
	struct worker		*workers;
	int			 nworkers;
	struct api_pool		*pool;		/* the worker threads */
	struct event		*janitor;	/* the janitor's timer */
	struct api_job		 janitor_job;
	int			 janitor_busy;
	size_t			 body_budget;	/* bytes all bodies may hold */
	size_t			 body_used;	/* reserved by requests */
	size_t			 body_freed;	/* since the last malloc_trim */
	struct event		*trim;		/* gives freed memory back */
	struct event		*accept_retry;	/* after EMFILE, nothing to
						 * evict */
	struct special		*special;
	struct dashboard	*dashboard;	/* NULL: not installed */
	const struct sender_pool *senders;	/* NULL: this node sends not */
	struct live		*live;		/* its keys: keyed hashes of
						 * erased addresses */
	/* api_metrics.c's counters, main thread only. */
	uint64_t		 by_status[API_NROUTES][6]; /* [route][1..5xx] */
	uint64_t		 latency_le[8];	/* histogram buckets */
	uint64_t		 latency_count;
	double			 latency_sum;
	struct launch_snapshot_list snapshots;	/* lists being queued;
						 * changed on the main thread
						 * under snapshots_lock, read
						 * by workers under it */
	pthread_mutex_t		 snapshots_lock;
	struct event		*launch_resume;	/* dead nodes' snapshots */
	struct api_job		 resume_job;
	int			 resume_busy;
	int			 launch_stopping;	/* api_launch_free ran */
	struct sending_resume	*resume_found;	/* the job's finds */
	size_t			 resume_nfound;
	int			 resume_rc;	/* the job's: 0, or -1 */
	int			 launch_resume_failed;	/* warned once */
	/* api_sequence.c's due-step job, once a second on a worker. */
	struct event		*sequence_timer;
	struct api_job		 sequence_job;
	int			 sequence_busy;
	uint64_t		 sequence_warned_ms;	/* Redis failed */
	/* event_pump.c's thread. */
	struct event_pump	*pump;
	struct throttle		*login_throttle;	/* api_user.c's: per
							 * account */
	struct throttle		*client_throttle;	/* per client */
	struct api_schedule	*schedule;	/* the due job's */
	struct throttle		*reset_throttle;	/* api_reset.c's: per
							 * address */
	struct throttle		*reset_client_throttle;	/* per client */
};

struct api_req {
	struct api		*a;
	struct api_conn		*conn;		/* NULL: the connection died
						 * while a worker had it */
	struct live		*live;		/* a reference: a reload swaps
						 * a->live on the main thread */
	struct api_job		 job;
	int			 busy;		/* at a worker: hands off */
	struct db		*db;		/* the worker's, while at one */
	void			(*work)(struct api_req *);	/* to run there */
	void			(*after)(struct api_req *);	/* then, on the
						 * main thread, unless the
						 * work answered */
	int			 authed;	/* the key was found good */
	int			 bodyless;	/* Content-Length 0 or none */
	size_t			 budget;	/* body bytes reserved */
	struct launch_note	 note;
	/* The answer, kept until the main thread sends it. */
	int			 answered;
	int			 status;
	const char		*reply_ctype;	/* static, or the dashboard's */
	char			*reply_headers;
	struct evbuffer		*reply_body;
	enum http_method	 method;
	char			*strings;	/* the four below, one block */
	const char		*target;	/* the path as sent */
	const char		*query;		/* after '?', or NULL */
	const char		*auth;		/* Authorization, or NULL */
	const char		*ctype;		/* Content-Type, or NULL */
	struct evbuffer		*body;		/* all of it, unless streamed */
	char			*path;		/* decoded segments live here */
	char			*seg[API_MAX_SEGS];
	int			 nseg;
	uint64_t		 tenant;	/* 0: the admin key */
	char			 key_prefix[16];
	uint64_t		 start_us;
	enum api_route		 route;		/* the metrics label */
	int			 routed;	/* 1 matched, -1 malformed
						 * path, 0 not yet */
	struct api_match	 match;

	/* Set by a streaming handler: the body as it arrives, then its end
	 * (which answers).  stream_free releases stream_arg, always. */
	void			(*stream_data)(struct api_req *, const char *,
				    size_t);
	void			(*stream_end)(struct api_req *);
	void			(*stream_free)(void *);
	void			*stream_arg;

	/* The marketer's sessions (api_user.c).  Strings in r->strings. */
	const char		*cookie;	/* Cookie, or NULL */
	const char		*csrf;		/* X-CSRF-Token, or NULL */
	char			 client[64];	/* the peer's address: the
						 * login throttle's, never
						 * stored */
	int64_t			 content_length;	/* -1: none */
	int			 role;		/* enum user_role; a key:
						 * owner */
	uint64_t		 user;		/* the session's; 0: a key */
	char			 session[65];	/* its token's SHA-256 hex */
};

/* api.c: the API object, a request's life, dispatch and authentication */
struct api_req *api_req_new(struct api *, struct api_conn *);
int	 api_streams(struct api_req *);	/* the body is streamed */
/* After the head, before any body byte: what api_http.c does next. */
enum api_auth_next {
	API_AUTH_GO,		/* authenticated: read the body */
	API_AUTH_WAIT,		/* a worker checks the key (r->busy) */
	API_AUTH_ANSWERED	/* 400, 401, 403, 404, 405 or 503 sent */
};
enum api_auth_next api_authenticate(struct api_req *);
void	 api_dispatch(struct api_req *);	/* after the body: answers,
						 * or hands it to a worker */
/* Runs r->work on a worker; then api_conn_resume.  503 busy when the
 * queue is full. */
void	 api_req_submit(struct api_req *, void (*work)(struct api_req *));
/* Called by api_reply.c with a recorded reply: sends it at once on the
 * main thread, or when the request comes back from its worker. */
void	 api_req_answered(struct api_req *);
/* Reserves the body's bytes from the budget: 0, or -1 (none left). */
int	 api_budget_take(struct api_req *, size_t);
int	 api_req_streaming(const struct api_req *);
void	 api_req_stream_data(struct api_req *, const char *, size_t);
void	 api_req_stream_end(struct api_req *);
void	 api_req_abort(struct api_req *);	/* unanswered; conn gone */
void	 api_req_free(struct api_req *);	/* api_reply.c's, once */
/* Parses the body as JSON; -1 after answering 400, 413 or 415. */
int	 api_body_json(struct api_req *, json_t **);
/* After a store's lookup (1 found, 0 not, -1 Redis failed): 0 when
 * found, else -1 after answering 503, or 404 "no such WHAT". */
int	 api_found(struct api_req *, int rc, const char *what);
/* The same, and the body must be an object: -1 after answering 400
 * invalid_body too (nothing is left to free). */
int	 api_body_object(struct api_req *, json_t **);
/* 0 when every member of obj is in allowed (NULL-terminated); else -1
 * after answering 400 unknown_field. */
int	 api_check_fields(struct api_req *, json_t *, const char *const *);
const char *api_query(struct api_req *, const char *name, char *buf,
	    size_t len);
/* The core's view of a request: its tenant, key prefix, db and keys
 * (on a worker: the worker's connection). */
void	 api_req_ctx(const struct api_req *, struct api_ctx *);
/* 0 when every member of obj is in allowed, else -1 (400 unknown_field). */
int	 api_fields_check(json_t *, const char *const *, struct api_err *);
void	 api_random_hex(char *out, size_t bytes);	/* 2*bytes+1 */
char	*api_iso_time(uint64_t ms, char *buf, size_t len);
/* o[name] = ms as RFC 3339 UTC; nothing when ms is 0 (not set). */
void	 api_set_time(json_t *o, const char *name, uint64_t ms);

/* api_route.c: the route table and its matcher (pure) */
extern const struct api_endpoint api_endpoints[];
extern const size_t api_nendpoints;
/* Splits path in place into at most max percent-decoded segments; their
 * count, or -1 when there are more or one decodes a NUL (%00). */
int	 api_route_split(char *path, char **seg, int max);
void	 api_route_match(const struct api_endpoint *, size_t,
	    enum http_method, char *const *seg, int nseg, struct api_match *);
/* "GET, HEAD" of methods into buf; its length. */
size_t	 api_route_allow(unsigned methods, char *buf, size_t len);

/* api_reply.c: the one way out of a request; each frees it */
const char *api_status_text(int);
void	 api_error(struct api_req *, int status, const char *code,
	    const char *fmt, ...) FF_ATTR_PRINTF(4, 5);
void	 api_json(struct api_req *, int status, json_t *);	/* steals */
void	 api_nocontent(struct api_req *);
/* A body the caller keeps alive until the API is freed (static files),
 * with extra header lines ("Name: value\r\n"...) or NULL. */
void	 api_static(struct api_req *, int status, const char *ctype,
	    const char *headers, const char *data, size_t len);
/* As api_static, for a body the reply takes (and frees) or NULL. */
void	 api_reply_buffer(struct api_req *, int status, const char *ctype,
	    struct evbuffer *body);
/* api_json with extra header lines ("Name: value\r\n"...); o NULL: no
 * body (a 204). */
void	 api_json_headers(struct api_req *, int status, const char *headers,
	    json_t *o);
/* For a handler whose Redis call failed: 503. */
void	 api_unavailable(struct api_req *);
/* 503 busy with Retry-After: the API's memory or queue is full. */
void	 api_busy(struct api_req *, const char *why);
/* 405 with Allow: the methods the path takes. */
void	 api_method_not_allowed(struct api_req *, unsigned methods);
void	 api_err_set(struct api_err *, int status, const char *code,
	    const char *fmt, ...) FF_ATTR_PRINTF(4, 5);
void	 api_err_vset(struct api_err *, int status, const char *code,
	    const char *fmt, va_list) FF_ATTR_PRINTF(4, 0);
void	 api_err_unavailable(struct api_err *);		/* 503 */
void	 api_reply_err(struct api_req *, const struct api_err *);

/* api_metrics.c: the API's counters, /healthz and /metrics */
uint64_t api_now_us(void);
void	 api_count(struct api *, enum api_route, int status);
/* api_count and the latency histogram, for a request being answered. */
void	 api_count_reply(const struct api_req *, int status);
void	 api_healthz(struct api_req *);	/* GET /healthz */
void	 api_metrics(struct api_req *);	/* GET /metrics, Prometheus text */

/* api_http.c */
int	 api_http_listen(struct api *, char *err, size_t);
void	 api_http_close(struct api *);
void	 api_conn_reply(struct api_req *, int status, const char *ctype,
	    const char *headers, struct evbuffer *body);
/* The connection's request came back from a worker: go on reading. */
void	 api_conn_resume(struct api_conn *);

/* api_pool.c: the worker threads and the Redis probe */
struct api_pool *api_pool_new(struct event_base *, const struct ff_endpoint *,
	    int nthreads);
/* Queues a job: 0, or -1 when the queue is full (nothing called). */
int	 api_pool_submit(struct api_pool *, struct api_job *);
/* Stops and joins the threads, then calls done of every job left. */
void	 api_pool_free(struct api_pool *);
/* The probe's last word on Redis: 1 up, 0 down. */
int	 api_pool_redis_up(const struct api_pool *);

/* api_dashboard.c */
/* Reads TEMPLATES_DIR/dashboard/; *out stays NULL when the directory
 * does not exist.  -1 with err when a file of it cannot be read. */
int	 dashboard_load(struct dashboard **out, const char *dir, char *err,
	    size_t errlen);
void	 dashboard_free(struct dashboard *);
/* GET or HEAD of /, /dashboard or /dashboard/...; answers. */
void	 dashboard_serve(struct api_req *);

/* api_tenant.c */
void	 api_tenants(struct api_req *);
/* POST /v1/tenants: body {"name", "retention_days"?} (default_days when
 * absent); {"id", "api_key", "key_prefix"}, the key shown this once. */
json_t	*api_tenant_create(struct db *, int default_days, json_t *body,
	    struct api_err *);
/* POST /v1/tenants/T/keys: {"api_key", "key_prefix"}; 404 unless the
 * tenant is active. */
json_t	*api_tenant_key_create(struct db *, uint64_t tenant,
	    struct api_err *);
/* DELETE /v1/tenants/T/keys/PREFIX: 0, or -1 (404, 503). */
int	 api_tenant_key_revoke(struct db *, uint64_t tenant,
	    const char *prefix, struct api_err *);
/* Every tenant: {"items": [{"id", "name", "status", "retention_days",
 * "created_at", "purge_at"?, "key_prefixes"}]}, by id. */
json_t	*api_tenant_list(struct db *, struct api_err *);
/* 0 when key has a tenant key's form, else -1 (no Redis: a stranger's
 * garbage is refused on the main thread). */
int	 api_tenant_key_form(const char *key);
/* Checks a Bearer tenant key: 1 with *tenant and its prefix set, 0 when
 * it is not a key of an active tenant, -1 when Redis could not tell. */
int	 api_tenant_auth(struct db *, const char *key, uint64_t *tenant,
	    char *prefix, size_t);

/* api_contact.c */
void	 api_contacts(struct api_req *);
void	 api_contacts_import(struct api_req *);	/* streams */
/* Validates and upserts a JSON array of contact objects; the index of
 * item i in rejected is base + i.  0; -1 when Redis failed; -2 on an
 * unknown field (*bad_field of item *bad_index; nothing written). */
int	 api_contacts_apply(struct api_req *, json_t *items,
	    size_t base, json_t *rejected, long long *created,
	    long long *updated, const char **bad_field, size_t *bad_index);
void	 api_lists(struct api_req *);

/* api_subject.c */
void	 api_subjects(struct api_req *);
/* GET /v1/subjects/ADDRESS: everything the tenant holds on the address,
 * an "access" record in the audit stream. */
json_t	*api_subject_export(const struct api_ctx *, const char *address,
	    struct api_err *);
/* DELETE /v1/subjects/ADDRESS: {"erased": {counts}}; the keyed hash is
 * suppressed first, an "erase" record (no address) is audited. */
json_t	*api_subject_erase(const struct api_ctx *, const char *address,
	    struct api_err *);

/* api_suppress.c */
void	 api_optouts(struct api_req *);
void	 api_bounces(struct api_req *);		/* api_bounce.c */
void	 api_blocklist(struct api_req *);

/* api_event.c: GET /v1/events, the tenant's event feed. */
void	 api_events(struct api_req *);

/* api_campaign.c */
void	 api_templates(struct api_req *);
void	 api_campaigns(struct api_req *);
/* GET /v1/campaigns/C: the campaign with its status and progress. */
json_t	*api_campaign_get(const struct api_ctx *, uint64_t campaign,
	    struct api_err *);
/* GET /v1/campaigns/C/stats: API.md's stats object (zeros for a campaign
 * nothing happened to: the caller says whether it exists). */
json_t	*api_campaign_stats(const struct api_ctx *, uint64_t campaign,
	    struct api_err *);

/* api_relay.c */
void	 api_relay(struct api_req *);
/* api_form.c */
void	 api_forms(struct api_req *);
/* api_webhook.c */
void	 api_webhooks(struct api_req *);
/* api_domain.c */
void	 api_domains(struct api_req *);
/* 0 when from ("Name <addr>" or "addr") is on a verified sending domain
 * of the tenant, or allow_unverified_from is on; else -1 with err (422
 * unverified_domain, or 503). */
int	 api_domain_check_from(struct api *, struct db *, uint64_t tenant,
	    const char *from, struct api_err *);
/* api_launch.c */
void	 api_launch_init(struct api *);	/* resumes unfinished snapshots */
/* Stops the snapshots; those at a worker are freed as they come back. */
void	 api_launch_free(struct api *);
/* On the main thread: what a request's handler asked (r->note). */
void	 api_launch_note(struct api *, const struct launch_note *);
struct launch_result;
/* Answers a launch launch.lua refused (api_launch.c). */
void	 api_launch_refused(struct api_req *, const struct launch_result *,
	    uint64_t list, uint64_t template_id);
void	 api_campaign_launch(struct api_req *, uint64_t campaign);
/* verb: "pause", "resume" or "cancel". */
void	 api_campaign_transition(struct api_req *, uint64_t campaign,
	    const char *verb);
/* Cancels the tenant's sending and paused campaigns and takes all of
 * them out of ff:sending (on a worker: r->db); 0, or -1 when Redis
 * failed.  Its snapshots stop when r comes back (r->note). */
int	 api_launch_stop_tenant(struct api_req *, uint64_t tenant);

/* api_campaign.c: 0, or -1 after answering 422 for a From (field
 * "from") or Reply-To value v that is no "Name <addr>" or address the
 * sender can write as given. */
int	 api_from_answer(struct api_req *, json_t *v, const char *field,
	    const char *code);

/* api_sequence.c */
void	 api_sequences(struct api_req *);
/* The due-step job's timer (sequence_tick.c). */
void	 api_sequence_init(struct api *);
void	 api_sequence_free(struct api *);
/* Contacts ids were added to list (on a worker): enrolls them in the
 * sequences the list triggers; 0, or -1 when Redis failed. */
int	 api_sequence_trigger(struct api_req *, uint64_t list,
	    const uint64_t *ids, size_t n);
/* api_segment.c: /v1/segments and their counts */
void	 api_segments(struct api_req *);
/* A campaign's "segment_id" (v, a string): 0 with *id when the segment
 * exists and may be used, else -1 after answering 422 (invalid_reference,
 * special_category_reference) or 503. */
int	 api_segment_ref(struct api_req *, json_t *v, uint64_t *id);
/*
 * At launch: the campaign's segment checked again and its definition as
 * the launch freezes it: 1 with *def (the caller frees), 0 when the
 * campaign has no segment, -1 after answering (422 when the segment is
 * gone or names a special category now, 503).
 */
int	 api_segment_launch_def(struct api_req *, uint64_t campaign,
	    char **def);
/*
 * The due job's (api_schedule.c, on a worker): a scheduled campaign's
 * segment checked at its send_at and its definition as the launch
 * freezes it: 1 with *def (the caller frees), 0 when the campaign has
 * no segment, -2 when the segment is gone or no longer valid (logged),
 * -1 when Redis failed.
 */
int	 api_segment_due_def(struct api *, struct db *, uint64_t tenant,
	    uint64_t campaign, char **def);

/* ctl_format.c: fanfarectl's text (pure) */
int	 ctl_exit_status(int http_status);	/* 0, 1 or 2 */
char	*ctl_progress_line(const json_t *campaign);
char	*ctl_erased_line(const json_t *answer);
char	*ctl_tenant_line(const json_t *tenant);

/* api_user.c: users, sessions and their second factor */
void	 api_users(struct api_req *);		/* /v1/users... */
void	 api_session(struct api_req *);		/* /v1/session */
void	 api_audit(struct api_req *);		/* GET /v1/audit */
/* On a worker: authenticates r by its session cookie (api.c's
 * auth_work for a request without a key): 1 with r->tenant, r->user,
 * r->role set and the CSRF token checked; 0 after answering. */
int	 api_session_auth(struct api_req *);
/* The role's check of an authenticated request: 0, or -1 after
 * answering 403 forbidden_role. */
int	 api_role_check(struct api_req *);
void	 api_user_init(struct api *);
void	 api_user_free(struct api *);
/* The audit record of a user's action (login, user_create,
 * password_reset...): the actor is the session's user or the key. */
void	 api_user_audit(struct api_req *, uint64_t tenant, const char *action,
	    uint64_t user);
/* The SHA-256 of a NUL-terminated token, as 64 hex digits and a NUL. */
void	 api_sha256_hex(const char *in, char *out);
/* body's "password": the policy's check (0, or -1 after answering 422
 * weak_password), then its argon2id hash into hash, which holds
 * libsodium's crypto_pwhash_STRBYTES (0, or -1 after answering 503). */
int	 api_password_check(struct api_req *, json_t *body);
int	 api_password_hash(struct api_req *, json_t *body, char *hash);

/* api_reset.c: password resets by a mailed link (no auth), with their
 * throttles (made and freed by api_user_init and api_user_free). */
void	 api_password_reset(struct api_req *);	/* /v1/password_reset... */
void	 api_reset_init(struct api *);
void	 api_reset_free(struct api *);
/* api_sysmail.c: the From of a tenant's account mail (a verified
 * sending domain's noreply@, else system_from) into *from (the caller
 * frees): 1, 0 when there is none, -1 when Redis failed. */
int	 api_sysmail_from(struct db *, const struct config *, uint64_t tenant,
	    char **from);
/* api_template_test.c: POST /v1/templates/{id}/test. */
void	 api_template_test(struct api_req *);
/* api_schedule.c: scheduled launches (send_at) and A/B winners. */
struct api_schedule;
void	 api_schedule_init(struct api *);	/* the due job, each second */
void	 api_schedule_free(struct api *);
/* At launch, on a worker: 1 when the campaign's send_at is still to come
 * and the request was answered (202 scheduled, or an error), -1 when it
 * was answered with an error before (an A/B test with a segment: 422
 * invalid_ab), 0 to launch now.  segment: the campaign has a segment
 * (api_segment_launch_def found one). */
int	 api_schedule_launch(struct api_req *, uint64_t campaign,
	    uint64_t list, uint64_t template_id, int segment);
/* After any launch: an A/B test's wait starts (its due time stored);
 * 0 or -1. */
int	 api_schedule_launched(struct db *, uint64_t tenant,
	    uint64_t campaign, uint64_t now_ms);
/* The schedule's and test's fields of a campaign's body (send_at,
 * local_time, timezone, ab) into sc: 0, or -1 after answering 422. */
struct campaign_schedule;
int	 api_schedule_parse(struct api_req *, json_t *body,
	    struct campaign_schedule *sc);
/* Adds them to a campaign's JSON, the test with its figures and winner:
 * 1, 0 when there is no such campaign, -1 when Redis failed. */
int	 api_schedule_show(struct db *, uint64_t tenant, uint64_t campaign,
	    json_t *o);
/* After a state change to status (cancelled, scheduled...). */
void	 api_schedule_transition(struct api_req *, uint64_t campaign,
	    const char *status);

/* The marketer's app (issue 16): listings, the template preview, a
 * webhook's test event, the session's own view. */
/* api_contact.c: GET /v1/contacts?q=&cursor=&limit=, GET /v1/lists */
void	 api_contacts_page(struct api_req *);
void	 api_lists_index(struct api_req *);
/* api_campaign.c: GET /v1/templates */
void	 api_templates_index(struct api_req *);
/* api_campaign.c: a template body's subject, html and text checked as
 * POST /v1/templates checks them: 0, or -1 after answering 422
 * (template_syntax with part, line and column, ...). */
int	 api_template_check_parts(struct api_req *, json_t *body);
/* api_template_preview.c: POST /v1/templates/preview */
void	 api_templates_preview(struct api_req *);
/* api_webhook.c: POST /v1/webhooks/{id}/test */
void	 api_webhooks_test(struct api_req *);

#endif /* FANFARE_API_H */
