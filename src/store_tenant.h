/*
 * store_tenant.h: tenants and their API keys, in Redis.
 *
 * Typed functions over the sync connection (redis_sync.h) for the API
 * handlers of api_tenant.c, the janitor and fanfarectl alike: none of
 * them builds a Redis command.  Every function returns -1 when Redis
 * failed (no answer, or an error reply), which callers answer with 503,
 * and something else (0, a count, a state) otherwise: "not found" is
 * never -1.  No reply object leaves this file.
 *
 * What a tenant is in Redis: the hash {t:T}:tenant (status "active" or
 * "deleting", name, retention_days, created_at, purge_at), its keys'
 * SHA-256 by prefix in {t:T}:keys, its id in ff:tenants, and, once
 * deleted, its purge time in ff:purge.  Storage only: nothing here
 * knows the API.
 */
#ifndef FANFARE_STORE_TENANT_H
#define FANFARE_STORE_TENANT_H

#include <stddef.h>
#include <stdint.h>

struct db;

enum tenant_state {
	TENANT_NONE = 0,	/* no such tenant (or purged) */
	TENANT_DELETING = 1,	/* deleted, waiting for its purge */
	TENANT_ACTIVE = 2
};

/* A tenant as listed; store_tenant_get fills it, store_tenant_free
 * frees what it holds. */
struct tenant {
	uint64_t	 id;
	char		*name;		/* NULL: the hash is gone */
	size_t		 name_len;
	char		*status;	/* NULL: the hash is gone */
	long long	 retention_days;	/* -1: not set */
	uint64_t	 created_at;	/* ms; 0: not set */
	uint64_t	 purge_at;	/* ms; 0: not being deleted */
	char		**key_prefixes;	/* of its API keys */
	size_t		 nkey_prefixes;
};

/* A TENANT_* state, or -1. */
int	 store_tenant_state(struct db *, uint64_t tenant);

/*
 * Makes an active tenant under a new random id (53 bits: exact in any
 * JSON reader, and no tenant can guess another's id from its own) and
 * puts it in ff:tenants; 0 with *tenant set, or -1.
 */
int	 store_tenant_create(struct db *, const char *name, size_t name_len,
	    long long retention_days, uint64_t created_at, uint64_t *tenant);

/* 0 with the tenant filled (name and status NULL when its hash is gone
 * but ff:tenants still names it), or -1. */
int	 store_tenant_get(struct db *, uint64_t tenant, struct tenant *);
void	 store_tenant_free(struct tenant *);

/* Every tenant id of ff:tenants, ascending, in *ids (the caller frees);
 * 0 or -1. */
int	 store_tenant_ids(struct db *, uint64_t **ids, size_t *n);

/*
 * Calls fn on every tenant of ff:tenants, a SCAN page at a time (so a
 * tenant added or removed meanwhile may be seen or not); fn's -1 stops
 * the walk.  0, or -1 when Redis or fn failed.
 */
int	 store_tenant_each(struct db *, int (*fn)(void *, uint64_t tenant),
	    void *arg);

/* The tenant's retention_days: 1 with *days, 0 when it has none. */
int	 store_tenant_retention(struct db *, uint64_t tenant, uint64_t *days);

/* The next id of one of the tenant's sequences ({t:T}:seq, a field per
 * kind: "template", "campaign"...); 0 with *id, or -1. */
int	 store_tenant_next_id(struct db *, uint64_t tenant, const char *kind,
	    uint64_t *id);
/* The last id given of a sequence (0: none yet), without taking one:
 * the app's listings walk ids 1 to it.  0 with *id, or -1. */
int	 store_tenant_last_id(struct db *, uint64_t tenant, const char *kind,
	    uint64_t *id);

/*
 * API keys.  Only a key's SHA-256 (64 lowercase hex digits) is stored,
 * under its prefix.  store_tenant_key_add: 1 added, 0 when the prefix
 * is taken (a key is never replaced), -1.  store_tenant_key_remove: 1
 * removed, 0 no key has that prefix, -1.
 */
int	 store_tenant_key_add(struct db *, uint64_t tenant, const char *prefix,
	    const char *sha256_hex);
int	 store_tenant_key_remove(struct db *, uint64_t tenant,
	    const char *prefix);
/* For the check of a key, one round trip: 1 with the stored hash in
 * sha256_hex when the prefix has one and the tenant is active, 0 when
 * not, -1 when Redis cannot tell. */
int	 store_tenant_key_lookup(struct db *, uint64_t tenant,
	    const char *prefix, char sha256_hex[65]);

/*
 * Deletion: store_tenant_mark_deleting sets the status (keys fail from
 * then on, senders and launches stop) and the purge time;
 * store_tenant_schedule_purge puts the tenant in ff:purge, which
 * store_tenant_due_purges reads (ids, the caller frees) and
 * store_tenant_purge empties: it marks the tenant gone (ff:purged, then
 * the tenant record deleted: the trackers and the senders' outcomes
 * write nothing of it from then on), unlinks every key of the tenant,
 * its campaigns' tracking data included, and forgets the tenant.  The
 * number of keys unlinked, or -1.
 */
int	 store_tenant_mark_deleting(struct db *, uint64_t tenant,
	    uint64_t purge_at);
int	 store_tenant_schedule_purge(struct db *, uint64_t tenant,
	    uint64_t purge_at);
int	 store_tenant_due_purges(struct db *, uint64_t now_ms, uint64_t **ids,
	    size_t *n);
long long store_tenant_purge(struct db *, uint64_t tenant);

#endif
