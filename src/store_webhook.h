/*
 * store_webhook.h: a tenant's webhook endpoints and their deliveries,
 * in Redis (keys.h names the keys, README's "Redis keys" says what they
 * hold):
 *   ff:webhooks            every endpoint "T:ID", walked by the delivery
 *                          threads of every node;
 *   {t:T}:webhooks         id -> the endpoint as configured (JSON; the
 *                          secrets sealed by seal.c, never in clear);
 *   {t:T}:wh:ID:state      what the delivering node found (attempts,
 *                          failing since, disabled, last error) and the
 *                          delivery cursor: the position (event.h) in
 *                          the tenant's log {t:T}:events before which
 *                          every event it takes was acknowledged;
 *   {t:T}:wh:ID:lease      the node delivering the endpoint;
 *   {t:T}:wh:ID:log        the delivery log;
 * The cursor moves only after a 2xx, so a retry, a restart after kill
 * -9 or another node reads the same events again, with the same ids.
 *
 * Typed functions over the sync connection for api_webhook.c and
 * webhook_deliver.c: -1 when Redis failed; no reply leaves the file.
 */
#ifndef FANFARE_STORE_WEBHOOK_H
#define FANFARE_STORE_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"
#include "store_event.h"

struct db;

/* An endpoint as configured. */
struct webhook_rec {
	uint64_t	 id;
	char		*url;
	unsigned	 mask;		/* 1 << enum event_type */
	int		 enabled;	/* 0: PATCH status "disabled" */
	char		*secret;	/* sealed (seal.c text) */
	char		*old_secret;	/* sealed, or NULL */
	uint64_t	 old_until;	/* ms: the old one signs until then */
	uint64_t	 created_at;
	uint64_t	 updated_at;	/* ms: also the version the delivery
					 * threads compare */
};

/* What the delivering node wrote. */
#define WEBHOOK_ERROR_MAX	200
#define WEBHOOK_DELIVERY_MAX	(EVENT_POS_MAX + 24)
struct webhook_state {
	int		 attempts;		/* of the delivery below */
	char		 delivery[WEBHOOK_DELIVERY_MAX];
	uint64_t	 failing_since;		/* ms; 0: not failing */
	uint64_t	 next_at;		/* ms; 0: now */
	uint64_t	 last_success;
	int		 last_code;		/* HTTP status; 0: none */
	char		 last_error[WEBHOOK_ERROR_MAX];
	char		 disabled_reason[WEBHOOK_ERROR_MAX]; /* "": active */
};

void	 store_webhook_rec_free(struct webhook_rec *);
/* The tenant's endpoints, counted into *n: 0 or -1. */
int	 store_webhook_count(struct db *, uint64_t tenant, long long *n);
/* Sets r's delivery cursor at the log's end, stores r (r->id from
 * store_tenant_next_id's "webhook" sequence), lists it in ff:webhooks:
 * 0 or -1. */
int	 store_webhook_create(struct db *, uint64_t tenant,
	    struct webhook_rec *r);
/* 1 with r filled, 0 none, -1. */
int	 store_webhook_get(struct db *, uint64_t tenant, uint64_t id,
	    struct webhook_rec *r);
/* Every endpoint of the tenant by id: 0 with *recs (free each and the
 * array) and *n, or -1. */
int	 store_webhook_list(struct db *, uint64_t tenant,
	    struct webhook_rec **recs, size_t *n);
/* Replaces the stored endpoint: 0 or -1. */
int	 store_webhook_put(struct db *, uint64_t tenant,
	    const struct webhook_rec *r);
/* Removes the endpoint, its state, lease, log and consumer group:
 * 1, 0 when there was none, -1. */
int	 store_webhook_delete(struct db *, uint64_t tenant, uint64_t id);

/* 0 with s filled (zeros when nothing is stored), -1. */
int	 store_webhook_state_get(struct db *, uint64_t tenant, uint64_t id,
	    struct webhook_state *s);
/* A PATCH's "active": no longer disabled or failing; 0 or -1. */
int	 store_webhook_state_reset(struct db *, uint64_t tenant, uint64_t id);

/* ff:webhooks: 0 with the pairs in *tenants and *ids (the caller frees
 * both), -1.  store_webhook_forget drops a pair whose endpoint is gone. */
int	 store_webhook_all(struct db *, uint64_t **tenants, uint64_t **ids,
	    size_t *n);
int	 store_webhook_forget(struct db *, uint64_t tenant, uint64_t id);

/*
 * Takes or renews the endpoint's lease for node for ms: 1 held, 0
 * another node holds it, -1.  SET NX PX, else the holder is read and,
 * when it is node, the lease renewed (a window of one round trip, only
 * for a lease already expired: a second node then sends the same events
 * too, which at-least-once allows).
 */
int	 store_webhook_lease(struct db *, uint64_t tenant, uint64_t id,
	    const char *node, uint64_t ms);

/*
 * Up to count events of the types in mask (and the endpoint's test
 * events) after its cursor, which is copied into cursor: 0 with page
 * (page->next: the cursor once they are acknowledged), -1.  An
 * endpoint without a cursor is read from the log's oldest event.
 */
#define WEBHOOK_SCAN_MAX	10000	/* log entries a read looks at */
int	 store_webhook_read(struct db *, uint64_t tenant, uint64_t id,
	    unsigned mask, size_t count, char cursor[EVENT_POS_MAX],
	    struct event_page *page);
/* Moves the cursor to next (a 2xx took what was before it): 0 or -1. */
int	 store_webhook_ack(struct db *, uint64_t tenant, uint64_t id,
	    const char *next);

/*
 * What an attempt leaves, in one step (webhook_outcome.lua): the cursor
 * moved to next (a 2xx; "": it stays), the state s, and the delivery
 * log line log (JSON text; the log trimmed to its last 1,000 and to
 * retention_ms), which replaces the line of an earlier attempt at the
 * same delivery (s->delivery): one line per delivery.  1 written, 0 the endpoint is gone (deleted, or its
 * tenant purged, while the request was out: nothing written), -1.
 */
int	 store_webhook_outcome(struct db *, uint64_t tenant, uint64_t id,
	    const char *next, const struct webhook_state *s, const char *log,
	    uint64_t retention_ms);
/* Newest first, before cursor (a stream id; NULL: the newest): 0 with
 * the entries appended to items and next set ("" at the end), -1. */
int	 store_webhook_log_page(struct db *, uint64_t tenant, uint64_t id,
	    const char *cursor, size_t limit, json_t *items, char *next,
	    size_t nextlen);

/*
 * A test event (POST /v1/webhooks/{id}/test): json (the whole event)
 * appended to the tenant's log with type "test" and field wh = the
 * endpoint, so that it goes the normal way (signed, retried, logged)
 * to that endpoint only: the others' groups read it and drop it, and
 * GET /v1/events, which shows known types only, never shows it.  0 with
 * the entry's id in entry (WEBHOOK_ENTRY_MAX), or -1.
 */
#define WEBHOOK_ENTRY_MAX	EVENT_CURSOR_MAX	/* a log entry id */
#define WEBHOOK_EVENT_TEST	(EVENT_NTYPES + 1)
int	 store_webhook_test_add(struct db *, uint64_t tenant, uint64_t id,
	    const char *json, char *entry);

#endif
