/*
 * webhook_deliver.c: sends the tenants' events to their webhook
 * endpoints (API.md part 2, "Webhooks and the event feed").
 *
 * DESIGN.  One thread with its own libevent base drives libcurl's multi
 * interface (curl_multi_socket_action: curl says which sockets and
 * timeout to watch, libevent says when they are ready), so every
 * endpoint's request is in flight at once and none waits for another:
 * a tenant's endpoint that hangs to the timeout costs the others
 * nothing.  The thread's Redis calls are the sync connection's short
 * round trips; the tracking workers, the API and the senders share
 * nothing with it.
 *
 * Durability is the event log's: each endpoint has a cursor, a
 * position in its tenant's {t:T}:events (store_webhook.h).  A batch is
 * read after it, POSTed, and the cursor moved past it only after a
 * 2xx.  A failed batch is read again from the same cursor, so a retry,
 * a restart after kill -9 or another node sends the same events with
 * the same ids.  An event erased meanwhile is simply not read again.
 * No consumer group: its per-entry bookkeeping (a pending entry made
 * and acknowledged per event) was Redis work the pixel paid for.
 *
 * Several nodes may run: an endpoint is delivered by the node holding
 * its lease ({t:T}:wh:ID:lease, SET NX PX, renewed at each batch), one
 * request in flight per endpoint.  Its state (attempts, failing since,
 * the next attempt's time, disabled) is in {t:T}:wh:ID:state, so the
 * node that takes over keeps the schedule.  Failures back off
 * exponentially (webhook_retry_base doubled up to webhook_retry_max);
 * an endpoint failing for webhook_disable_after is disabled until a
 * PATCH sets it active.
 *
 * Safety per request: http and https only, no redirect followed, TLS
 * verified, connect and total timeouts, the answer's body read up to
 * WH_RESPONSE_MAX and dropped, no proxy from the environment, and every
 * address curl is about to connect to checked by netguard (the open
 * socket callback): a name that resolved to a public address when the
 * endpoint was made and to loopback now is refused at connect time.
 * Secrets are opened only here, in memory, and wiped when dropped.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "background.h"
#include "config.h"
#include "fanfare.h"
#include "netguard.h"
#include "redis_sync.h"
#include "store_tenant.h"
#include "store_webhook.h"
#include "webhook.h"
#include "webhook_deliver.h"
#include "worker.h"

#define WH_RESPONSE_MAX		(64 * 1024)	/* answer bytes read */
#define WH_REFRESH_MS		1000	/* endpoints read again */
#define WH_LEASE_MIN_MS		30000

TAILQ_HEAD(wh_ep_list, wh_ep);

struct webhook_deliverer {
	const struct config	*conf;
	pthread_t		 thread;
	atomic_int		 stop;
	pthread_mutex_t		 live_lock;
	struct live		*live;
	struct event_base	*base;
	struct event		*tick;
	struct event		*curl_timer;
	CURLM			*multi;
	struct db		*db;
	struct wh_ep_list	 eps;
	uint64_t		 last_refresh;
	uint64_t		 lease_ms;
	uint64_t		 warned_ms;
};

/* One endpoint this node knows, and its request when one is in flight. */
struct wh_ep {
	TAILQ_ENTRY(wh_ep)	 entry;
	struct webhook_deliverer *d;
	uint64_t		 tenant;
	uint64_t		 id;
	uint64_t		 version;	/* the record's updated_at */
	char			*url;
	unsigned		 mask;
	int			 enabled;
	int			 tenant_active;	/* not deleted (its grace) */
	char			*secret;	/* in clear: wiped on free */
	char			*old_secret;
	uint64_t		 old_until;
	uint64_t		 retention_ms;
	struct webhook_state	 st;
	uint64_t		 next_try;	/* ms: nothing to send, lease */
	uint64_t		 lease_until;	/* mono ms: ours, as far as we
					 * know (renewed past its half) */
	int			 seen;
	int			 gone;
	/* In flight. */
	CURL			*easy;
	struct curl_slist	*headers;
	struct buf		 body;
	struct event_page	 page;		/* the batch: page.next is
					 * the cursor after its 2xx */
	int			 attempt;
	size_t			 resp_bytes;
	int			 resp_over;
	int			 forbidden;	/* netguard's class, or 0 */
	char			 forbidden_addr[INET6_ADDRSTRLEN];
	char			 errbuf[CURL_ERROR_SIZE];
};

static void	ep_try(struct wh_ep *, uint64_t now);
static int	ep_due(const struct wh_ep *, uint64_t now);

static void
secret_free(char **s)
{
	if (*s != NULL) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

static void
ep_request_free(struct wh_ep *ep)
{
	if (ep->easy != NULL) {
		curl_multi_remove_handle(ep->d->multi, ep->easy);
		curl_easy_cleanup(ep->easy);
		ep->easy = NULL;
	}
	curl_slist_free_all(ep->headers);
	ep->headers = NULL;
	buf_free(&ep->body);
	event_page_free(&ep->page);
}

static void
ep_free(struct wh_ep *ep)
{
	ep_request_free(ep);
	free(ep->url);
	secret_free(&ep->secret);
	secret_free(&ep->old_secret);
	free(ep);
}

/* A sealed secret of the endpoint in clear, or NULL (logged). */
static char *
secret_open(struct webhook_deliverer *d, struct wh_ep *ep, const char *sealed)
{
	struct live	*l;
	char		 aad[64], *plain = NULL;
	size_t		 len;

	pthread_mutex_lock(&d->live_lock);
	l = live_ref(d->live);
	pthread_mutex_unlock(&d->live_lock);
	webhook_secret_aad(aad, sizeof(aad), ep->tenant, ep->id);
	if (l->data_key.set)
		plain = seal_decrypt(&l->data_key, aad, sealed, strlen(sealed),
		    &len);
	live_unref(l);
	if (plain == NULL)
		log_warnx_every(&d->warned_ms, 60000, "tenant %llu: webhook "
		    "%llu: its secret does not open with this node's "
		    "data_key_file; not delivering",
		    (unsigned long long)ep->tenant, (unsigned long long)ep->id);
	return plain;
}

/* The endpoint's configuration from its record. */
static void
ep_configure(struct wh_ep *ep, struct webhook_rec *rec)
{
	struct webhook_deliverer *d = ep->d;
	uint64_t		 days;

	free(ep->url);
	ep->url = rec->url;
	rec->url = NULL;
	ep->mask = rec->mask;
	ep->enabled = rec->enabled;
	ep->old_until = rec->old_until;
	secret_free(&ep->secret);
	secret_free(&ep->old_secret);
	ep->secret = secret_open(d, ep, rec->secret);
	if (rec->old_secret != NULL)
		ep->old_secret = secret_open(d, ep, rec->old_secret);
	ep->version = rec->updated_at;
	ep->retention_ms = store_tenant_retention(d->db, ep->tenant,
	    &days) == 1 ? days * 86400000ull : 0;
}

static struct wh_ep *
ep_find(struct webhook_deliverer *d, uint64_t tenant, uint64_t id)
{
	struct wh_ep	*ep;

	TAILQ_FOREACH(ep, &d->eps, entry)
		if (ep->tenant == tenant && ep->id == id)
			return ep;
	return NULL;
}

/* ff:webhooks and each endpoint's record and state, read again. */
static void
refresh(struct webhook_deliverer *d)
{
	struct webhook_rec	 rec;
	struct wh_ep		*ep, *next;
	uint64_t		*tenants = NULL, *ids = NULL;
	size_t			 i, n;
	int			 rc;

	if (store_webhook_all(d->db, &tenants, &ids, &n) == -1) {
		log_warnx_every(&d->warned_ms, 60000, "webhooks: Redis is "
		    "unavailable; deliveries wait");
		return;
	}
	TAILQ_FOREACH(ep, &d->eps, entry)
		ep->seen = 0;
	for (i = 0; i < n; i++) {
		if ((ep = ep_find(d, tenants[i], ids[i])) == NULL) {
			ep = xcalloc(1, sizeof(*ep));
			ep->d = d;
			ep->tenant = tenants[i];
			ep->id = ids[i];
			TAILQ_INSERT_TAIL(&d->eps, ep, entry);
		}
		if ((rc = store_webhook_get(d->db, ep->tenant, ep->id,
		    &rec)) == -1)
			break;
		if (rc == 0) {
			/* Deleted (its record goes first). */
			(void)store_webhook_forget(d->db, ep->tenant, ep->id);
			continue;
		}
		ep->seen = 1;
		if (rec.updated_at != ep->version || ep->secret == NULL)
			ep_configure(ep, &rec);
		store_webhook_rec_free(&rec);
		/* Ours is written at each outcome; a PATCH may have reset
		 * it.  Not while a request is out: its outcome writes. */
		if (ep->easy == NULL)
			(void)store_webhook_state_get(d->db, ep->tenant, ep->id,
			    &ep->st);
		/* A deleted tenant's endpoints wait for its purge. */
		ep->tenant_active = store_tenant_state(d->db, ep->tenant) !=
		    TENANT_DELETING;
	}
	if (i < n) {
		/* Redis failed midway: nothing is dropped on that. */
		TAILQ_FOREACH(ep, &d->eps, entry)
			ep->seen = 1;
	}
	free(tenants);
	free(ids);
	for (ep = TAILQ_FIRST(&d->eps); ep != NULL; ep = next) {
		next = TAILQ_NEXT(ep, entry);
		if (ep->seen)
			continue;
		if (ep->easy != NULL) {
			ep->gone = 1;	/* freed at its outcome */
			continue;
		}
		TAILQ_REMOVE(&d->eps, ep, entry);
		ep_free(ep);
	}
}

/* ---------------------------------------------------- libcurl's glue */

static void	check_done(struct webhook_deliverer *);

static void
socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct webhook_deliverer *d = arg;
	int			 running, action = 0;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(d->multi, fd, action, &running);
	check_done(d);
}

/* curl: watch s for what (CURL_POLL_*); socketp is our event for it. */
static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct webhook_deliverer *d = userp;
	struct event		*ev = socketp;
	short			 kind;

	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(d->multi, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (ev != NULL) {
		event_del(ev);
		event_assign(ev, d->base, s, kind, socket_event, d);
	} else {
		if ((ev = event_new(d->base, s, kind, socket_event,
		    d)) == NULL)
			return -1;
		curl_multi_assign(d->multi, s, ev);
	}
	event_add(ev, NULL);
	return 0;
}

static void
curl_timer_event(evutil_socket_t fd, short what, void *arg)
{
	struct webhook_deliverer *d = arg;
	int			 running;

	curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(d);
}

/* curl: call back in timeout_ms (-1: never). */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct webhook_deliverer *d = userp;
	struct timeval		 tv;

	if (timeout_ms < 0) {
		evtimer_del(d->curl_timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(d->curl_timer, &tv);
	return 0;
}

/* curl is about to connect to an address it resolved: the last word is
 * netguard's, so DNS that answers otherwise now than at POST time
 * (rebinding) does not lead the node inside. */
static curl_socket_t
open_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct wh_ep		*ep = clientp;
	const struct config	*conf = ep->d->conf;
	const void		*in;
	int			 klass, fd;

	if ((klass = netguard_check(&a->addr, conf->webhook_allow,
	    conf->nwebhook_allow)) != 0) {
		ep->forbidden = klass;
		in = a->family == AF_INET6 ?
		    (const void *)&((struct sockaddr_in6 *)&a->addr)->sin6_addr :
		    (const void *)&((struct sockaddr_in *)&a->addr)->sin_addr;
		if (inet_ntop(a->family, in, ep->forbidden_addr,
		    sizeof(ep->forbidden_addr)) == NULL)
			snprintf(ep->forbidden_addr,
			    sizeof(ep->forbidden_addr), "?");
		return CURL_SOCKET_BAD;
	}
	if ((fd = socket(a->family, a->socktype | SOCK_CLOEXEC,
	    a->protocol)) == -1)
		return CURL_SOCKET_BAD;
	return fd;
}

/* The answer's body: counted and dropped; past the limit, the transfer
 * stops (an answer's status is what counts). */
static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct wh_ep	*ep = arg;

	ep->resp_bytes += size * n;
	if (ep->resp_bytes > WH_RESPONSE_MAX) {
		ep->resp_over = 1;
		return 0;
	}
	return size * n;
}

/* ------------------------------------------------------- a delivery */

/* The batch to send: the events after the endpoint's cursor that it
 * takes (a retry: the same ones again).  0 with ep->page (maybe
 * empty), -1. */
static int
batch_read(struct wh_ep *ep)
{
	struct webhook_deliverer *d = ep->d;
	char			 cursor[EVENT_POS_MAX];

	if (store_webhook_read(d->db, ep->tenant, ep->id, ep->mask,
	    (size_t)d->conf->webhook_batch, cursor, &ep->page) == -1)
		return -1;
	/* Nothing it takes, but entries looked at: move past them, so
	 * they are not read again at every poll. */
	if (ep->page.n == 0 && strcmp(ep->page.next, cursor) != 0 &&
	    store_webhook_ack(d->db, ep->tenant, ep->id, ep->page.next) == -1)
		return -1;
	return 0;
}

static int
request_setup(struct wh_ep *ep, uint64_t now)
{
	struct webhook_deliverer *d = ep->d;
	const struct config	*conf = d->conf;
	const char		*secrets[WEBHOOK_MAX_SECRETS];
	char			 sig[WEBHOOK_SIG_MAX], line[WEBHOOK_SIG_MAX + 64];
	int			 nsecrets = 0;
	size_t			 i, total;

	/* The body in one allocation of its size: growing it by doubling
	 * cost a copy and, past glibc's mmap threshold, page faults. */
	buf_free(&ep->body);
	for (total = 13, i = 0; i < ep->page.n; i++)
		total += strlen(ep->page.items[i]) + 1;
	ep->body.p = xmalloc(total + 1);
	ep->body.cap = total + 1;
	buf_add(&ep->body, "{\"events\":[", 11);
	for (i = 0; i < ep->page.n; i++) {
		if (i > 0)
			buf_add(&ep->body, ",", 1);
		buf_adds(&ep->body, ep->page.items[i]);
	}
	buf_add(&ep->body, "]}", 2);
	secrets[nsecrets++] = ep->secret;
	if (ep->old_secret != NULL && now < ep->old_until)
		secrets[nsecrets++] = ep->old_secret;
	if (webhook_signature(sig, sizeof(sig), now / 1000, secrets, nsecrets,
	    ep->body.p, ep->body.len) == -1)
		return -1;
	if ((ep->easy = curl_easy_init()) == NULL)
		return -1;
	snprintf(line, sizeof(line), "Fanfare-Signature: %s", sig);
	ep->headers = curl_slist_append(ep->headers, line);
	snprintf(line, sizeof(line), "Fanfare-Delivery: %s", ep->st.delivery);
	ep->headers = curl_slist_append(ep->headers, line);
	ep->headers = curl_slist_append(ep->headers,
	    "Content-Type: application/json");
	/* No "Expect: 100-continue" wait on a big batch. */
	ep->headers = curl_slist_append(ep->headers, "Expect:");
	ep->resp_bytes = 0;
	ep->resp_over = 0;
	ep->forbidden = 0;
	ep->errbuf[0] = '\0';
	if (curl_easy_setopt(ep->easy, CURLOPT_URL, ep->url) != CURLE_OK ||
	    curl_easy_setopt(ep->easy, CURLOPT_PROTOCOLS_STR, "http,https") !=
	    CURLE_OK ||
	    curl_easy_setopt(ep->easy, CURLOPT_REDIR_PROTOCOLS_STR,
	    "http,https") != CURLE_OK)
		return -1;
	curl_easy_setopt(ep->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(ep->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ep->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(ep->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(ep->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(ep->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)conf->webhook_connect_timeout_ms);
	curl_easy_setopt(ep->easy, CURLOPT_TIMEOUT_MS,
	    (long)conf->webhook_timeout_ms);
	curl_easy_setopt(ep->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(ep->easy, CURLOPT_POSTFIELDS, ep->body.p);
	curl_easy_setopt(ep->easy, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)ep->body.len);
	curl_easy_setopt(ep->easy, CURLOPT_HTTPHEADER, ep->headers);
	curl_easy_setopt(ep->easy, CURLOPT_USERAGENT, "Fanfare-Webhooks/"
	    PACKAGE_VERSION);
	curl_easy_setopt(ep->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(ep->easy, CURLOPT_WRITEDATA, ep);
	curl_easy_setopt(ep->easy, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(ep->easy, CURLOPT_OPENSOCKETDATA, ep);
	curl_easy_setopt(ep->easy, CURLOPT_ERRORBUFFER, ep->errbuf);
	curl_easy_setopt(ep->easy, CURLOPT_PRIVATE, ep);
	if (curl_multi_add_handle(d->multi, ep->easy) != CURLM_OK)
		return -1;
	return 0;
}

/* The endpoint is due: its lease, its batch, its request. */
static void
ep_try(struct wh_ep *ep, uint64_t now)
{
	struct webhook_deliverer *d = ep->d;
	char			 delivery[WEBHOOK_DELIVERY_MAX];
	int			 rc;

	ep->next_try = now + (uint64_t)d->conf->webhook_poll_ms;
	if (ep->secret == NULL)
		return;			/* logged by secret_open */
	/* Renewed once half of it has gone, not at every poll: an idle
	 * endpoint costs two reads a poll, not five. */
	if (mono_ms() + d->lease_ms / 2 >= ep->lease_until) {
		if ((rc = store_webhook_lease(d->db, ep->tenant, ep->id,
		    d->conf->node_id, d->lease_ms)) != 1) {
			ep->lease_until = 0;
			return;
		}
		ep->lease_until = mono_ms() + d->lease_ms;
	}
	if (batch_read(ep) == -1 || ep->page.n == 0) {
		event_page_free(&ep->page);
		return;
	}
	/* The delivery id names the batch by its first event's position,
	 * so every attempt at it (on any node) carries the same. */
	snprintf(delivery, sizeof(delivery), "%llu-%s",
	    (unsigned long long)ep->id, ep->page.first);
	if (strcmp(delivery, ep->st.delivery) == 0)
		ep->attempt = ep->st.attempts + 1;
	else {
		ep->attempt = 1;
		snprintf(ep->st.delivery, sizeof(ep->st.delivery), "%s",
		    delivery);
	}
	if (request_setup(ep, now) == -1) {
		log_warnx("tenant %llu: webhook %llu: the request could not be "
		    "made", (unsigned long long)ep->tenant,
		    (unsigned long long)ep->id);
		ep_request_free(ep);
	}
}

/*
 * One line of the delivery log (API.md: id, events, attempts, status,
 * last_code, next_at; and time, error): the text, for the caller to
 * free.  Written by hand but for the error, which jansson escapes: a
 * JSON tree of every id of every batch was most of this thread's time
 * after the Redis round trips.  The ids are taken as event_add.lua
 * and event.c wrote them (no character to escape), an event parsed
 * only when its text does not start that way.
 */
static char *
log_line(const struct wh_ep *ep, const struct webhook_state *st,
    const char *status)
{
	struct buf	 b = { NULL, 0, 0 };
	json_t		*e;
	const char	*id;
	char		*err;
	size_t		 i, len;
	char		 when[32];

	buf_adds(&b, "{\"id\":\"");
	buf_adds(&b, st->delivery);
	buf_adds(&b, "\",\"events\":[");
	for (i = 0; i < ep->page.n; i++) {
		if (i > 0)
			buf_add(&b, ",", 1);
		if ((id = webhook_event_id(ep->page.items[i], &len)) != NULL) {
			buf_add(&b, "\"", 1);
			buf_add(&b, id, len);
			buf_add(&b, "\"", 1);
			continue;
		}
		e = json_loads(ep->page.items[i], 0, NULL);
		err = json_dumps(json_object_get(e, "id"), JSON_ENCODE_ANY);
		buf_adds(&b, err != NULL ? err : "null");
		free(err);
		json_decref(e);
	}
	buf_addf(&b, "],\"attempts\":%d,\"status\":\"%s\",\"last_code\":%d,"
	    "\"next_at\":", ep->attempt, status, st->last_code);
	if (strcmp(status, "retrying") == 0)
		buf_addf(&b, "\"%s\"", fmt_iso_time(st->next_at, when,
		    sizeof(when)));
	else
		buf_adds(&b, "null");
	buf_addf(&b, ",\"time\":\"%s\"", fmt_iso_time(now_ms(), when,
	    sizeof(when)));
	if (st->last_error[0] != '\0' && strcmp(status, "delivered") != 0) {
		e = json_string(st->last_error);
		err = json_dumps(e, JSON_ENCODE_ANY);
		buf_addf(&b, ",\"error\":%s", err != NULL ? err : "null");
		free(err);
		json_decref(e);
	}
	buf_add(&b, "}", 2);		/* with the NUL */
	return b.p;
}

/*
 * A request ended: acknowledge, or schedule the retry.  The cursor, the
 * state and the log line are written in one step (store_webhook_outcome),
 * which writes nothing for an endpoint deleted meanwhile.
 */
static void
ep_outcome(struct wh_ep *ep, CURLcode res)
{
	struct webhook_deliverer *d = ep->d;
	const struct config	*conf = d->conf;
	struct webhook_state	 st = ep->st;
	uint64_t		 now = now_ms();
	const char		*status;
	char			*line;
	long			 code = 0;
	int			 ok, rc;

	curl_easy_getinfo(ep->easy, CURLINFO_RESPONSE_CODE, &code);
	/* Deleted, or its tenant purged, while the request was out. */
	if (ep->gone) {
		ep_request_free(ep);
		return;
	}
	ok = (res == CURLE_OK || (res == CURLE_WRITE_ERROR &&
	    ep->resp_over)) && code >= 200 && code < 300;
	st.attempts = ep->attempt;
	st.last_code = (int)code;
	if (ok) {
		st.failing_since = 0;
		st.next_at = 0;
		st.last_success = now;
		st.last_error[0] = '\0';
		status = "delivered";
	} else {
		if (ep->forbidden)
			snprintf(st.last_error, sizeof(st.last_error),
			    "forbidden target: %s is a %s address",
			    ep->forbidden_addr,
			    netguard_class_name(ep->forbidden));
		else if (res != CURLE_OK)
			snprintf(st.last_error, sizeof(st.last_error),
			    "%.150s", ep->errbuf[0] != '\0' ? ep->errbuf :
			    curl_easy_strerror(res));
		else
			snprintf(st.last_error, sizeof(st.last_error),
			    "HTTP %ld", code);
		if (st.failing_since == 0)
			st.failing_since = now;
		if (now - st.failing_since >=
		    (uint64_t)conf->webhook_disable_after_s * 1000) {
			snprintf(st.disabled_reason,
			    sizeof(st.disabled_reason), "failing for %ds: "
			    "%.150s", conf->webhook_disable_after_s,
			    st.last_error);
			st.next_at = 0;
			status = "failed";
		} else {
			st.next_at = now + webhook_backoff_ms(ep->attempt,
			    (uint64_t)conf->webhook_retry_base_ms,
			    (uint64_t)conf->webhook_retry_max_ms);
			status = "retrying";
		}
	}
	line = log_line(ep, &st, status);
	rc = store_webhook_outcome(d->db, ep->tenant, ep->id, ok ?
	    ep->page.next : "", &st, line, ep->retention_ms);
	free(line);
	if (rc != 1) {
		/* Gone: nothing to keep.  Not written (Redis): the batch is
		 * sent again at the next poll, its state as before. */
		ep_request_free(ep);
		return;
	}
	ep->st = st;
	if (ok)
		ep->next_try = 0;
	if (st.disabled_reason[0] != '\0')
		log_warnx("tenant %llu: webhook %llu disabled: %s",
		    (unsigned long long)ep->tenant,
		    (unsigned long long)ep->id, st.disabled_reason);
	ep_request_free(ep);
	/* More may be waiting: go on at once rather than at the tick
	 * (unless a PATCH or a tenant deletion stopped it meanwhile). */
	if (ok && ep_due(ep, now))
		ep_try(ep, now);
}

static void
check_done(struct webhook_deliverer *d)
{
	struct wh_ep	*ep;
	CURLMsg		*msg;
	int		 left;

	while ((msg = curl_multi_info_read(d->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		ep = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&ep);
		if (ep == NULL)
			continue;
		ep_outcome(ep, msg->data.result);
		if (ep->gone && ep->easy == NULL) {
			TAILQ_REMOVE(&d->eps, ep, entry);
			ep_free(ep);
		}
	}
}

/* May the endpoint be sent to now (its configuration and state as last
 * read)? */
static int
ep_due(const struct wh_ep *ep, uint64_t now)
{
	return ep->easy == NULL && !ep->gone && ep->enabled &&
	    ep->tenant_active && ep->st.disabled_reason[0] == '\0' &&
	    now >= ep->next_try && now >= ep->st.next_at;
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct webhook_deliverer *d = arg;
	struct wh_ep		*ep;
	uint64_t		 now = now_ms();

	if (atomic_load(&d->stop)) {
		event_base_loopbreak(d->base);
		return;
	}
	if (now - d->last_refresh >= WH_REFRESH_MS) {
		d->last_refresh = now;
		refresh(d);
	}
	TAILQ_FOREACH(ep, &d->eps, entry)
		if (ep_due(ep, now))
			ep_try(ep, now);
}

static void *
deliver_main(void *arg)
{
	struct webhook_deliverer *d = arg;
	struct timeval		 tv;
	struct wh_ep		*ep;

	/* When the CPU is short, the pixel wins it; deliveries catch up
	 * in the gaps. */
	if (background_lower_priority() == -1)
		log_warn("webhooks: setpriority");

	tv.tv_sec = d->conf->webhook_poll_ms / 1000;
	tv.tv_usec = (d->conf->webhook_poll_ms % 1000) * 1000;
	event_add(d->tick, &tv);
	event_base_dispatch(d->base);
	while ((ep = TAILQ_FIRST(&d->eps)) != NULL) {
		TAILQ_REMOVE(&d->eps, ep, entry);
		ep_free(ep);
	}
	return NULL;
}

static void
deliverer_free(struct webhook_deliverer *d)
{
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	if (d->tick != NULL)
		event_free(d->tick);
	if (d->curl_timer != NULL)
		event_free(d->curl_timer);
	if (d->base != NULL)
		event_base_free(d->base);
	if (d->db != NULL)
		db_close(d->db);
	live_unref(d->live);
	pthread_mutex_destroy(&d->live_lock);
	free(d);
}

struct webhook_deliverer *
webhook_deliver_start(const struct config *conf, struct live *live,
    char *err, size_t errlen)
{
	struct webhook_deliverer *d;
	uint64_t		 lease;

	d = xcalloc(1, sizeof(*d));
	d->conf = conf;
	d->live = live_ref(live);
	pthread_mutex_init(&d->live_lock, NULL);
	TAILQ_INIT(&d->eps);
	lease = 3 * (uint64_t)(conf->webhook_connect_timeout_ms +
	    conf->webhook_timeout_ms);
	d->lease_ms = lease > WH_LEASE_MIN_MS ? lease : WH_LEASE_MIN_MS;
	if ((d->base = event_base_new()) == NULL ||
	    (d->tick = event_new(d->base, -1, EV_PERSIST, tick, d)) == NULL ||
	    (d->curl_timer = evtimer_new(d->base, curl_timer_event,
	    d)) == NULL ||
	    (d->multi = curl_multi_init()) == NULL) {
		errorf(err, errlen, "webhooks: cannot set up the delivery "
		    "loop");
		deliverer_free(d);
		return NULL;
	}
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
	d->db = db_open(&conf->redis);
	if ((errno = pthread_create(&d->thread, NULL, deliver_main, d)) != 0) {
		errorf(err, errlen, "webhooks: pthread_create: %s",
		    strerror(errno));
		deliverer_free(d);
		return NULL;
	}
	return d;
}

void
webhook_deliver_set_live(struct webhook_deliverer *d, struct live *l)
{
	struct live	*old;

	if (d == NULL)
		return;
	live_ref(l);
	pthread_mutex_lock(&d->live_lock);
	old = d->live;
	d->live = l;
	pthread_mutex_unlock(&d->live_lock);
	live_unref(old);
}

void
webhook_deliver_stop(struct webhook_deliverer *d)
{
	if (d == NULL)
		return;
	atomic_store(&d->stop, 1);
	pthread_join(d->thread, NULL);
	deliverer_free(d);
}
