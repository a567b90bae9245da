/*
 * store_webhook.h: a tenant's webhook endpoints and their deliveries,
 * in Redis (keys.h names the keys, README's "Redis keys" says what they
 * hold):
 *   ff:webhooks            every endpoint "T:ID", walked by the delivery
 *                          threads of every node;
 *   {t:T}:webhooks         id -> the endpoint as configured (JSON; the
 *                          secrets sealed by seal.c, never in clear);
 *   {t:T}:wh:ID:state      what the delivering node found (attempts,
 *                          failing since, disabled, last error);
 *   {t:T}:wh:ID:lease      the node delivering the endpoint;
 *   {t:T}:wh:ID:log        the delivery log;
 * and the consumer group "webhook-ID" on the tenant's event log
 * {t:T}:events (store_event.c writes it): its pending entries are the
 * events read but not yet acknowledged by a 2xx.
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
#define WEBHOOK_DELIVERY_MAX	72
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

/* One event read from the log for an endpoint. */
#define WEBHOOK_ENTRY_MAX	48
struct webhook_event {
	char		 entry[WEBHOOK_ENTRY_MAX];	/* the stream id */
	char		*json;		/* field e; NULL: erased or trimmed */
	int		 type;		/* field ty, enum event_type; -1 unknown;
					 * WEBHOOK_EVENT_TEST: a test event */
	uint64_t	 target;	/* a test event's endpoint (field wh) */
};

void	 store_webhook_rec_free(struct webhook_rec *);
/* Creates r's consumer group at the log's end, stores r (r->id from
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

/* 1 when the endpoint is still stored, 0 not (deleted, or its tenant
 * purged), -1. */
int	 store_webhook_exists(struct db *, uint64_t tenant, uint64_t id);
/* 0 with s filled (zeros when nothing is stored), -1. */
int	 store_webhook_state_get(struct db *, uint64_t tenant, uint64_t id,
	    struct webhook_state *s);
int	 store_webhook_state_put(struct db *, uint64_t tenant, uint64_t id,
	    const struct webhook_state *s);
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
 * Up to count events of the endpoint's consumer group: pending ones
 * (read before, not acknowledged: a retry sends the same) when pending,
 * else new ones, which become pending.  0 with *ev (free with
 * store_webhook_events_free) and *n, -1.  A group that is gone (the
 * endpoint deleted, the tenant purged) gives nothing.
 */
int	 store_webhook_read(struct db *, uint64_t tenant, uint64_t id,
	    int pending, size_t count, struct webhook_event **ev, size_t *n);
void	 store_webhook_events_free(struct webhook_event *, size_t);
/* XACK of the entries: 0 or -1. */
int	 store_webhook_ack(struct db *, uint64_t tenant, uint64_t id,
	    const struct webhook_event *, size_t n);

/* Appends a delivery log entry (JSON text), trimming to the last 1,000
 * and to retention_ms: 0 or -1. */
int	 store_webhook_log_add(struct db *, uint64_t tenant, uint64_t id,
	    const char *json, uint64_t retention_ms);
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
#define WEBHOOK_EVENT_TEST	(EVENT_NTYPES + 1)
int	 store_webhook_test_add(struct db *, uint64_t tenant, uint64_t id,
	    const char *json, char *entry);

#endif
