/*
 * store_domain.h: a tenant's sending domains, in Redis:
 *   {t:T}:domains    hash  domain name -> id
 *   {t:T}:domain:ID  hash  name, status, doc (JSON: keys' public halves,
 *                          selectors, the last checks), version (bumped
 *                          by every write: the senders' key caches
 *                          compare it), sealed:SELECTOR (a private key,
 *                          seal.c's text: never in clear)
 *
 * Typed functions over the sync connection for api_domain.c,
 * api_campaign.c and the senders (smtp_domain.c): -1 when Redis failed,
 * never for "not found"; no reply leaves store_domain.c.
 */
#ifndef FANFARE_STORE_DOMAIN_H
#define FANFARE_STORE_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define STORE_DOMAIN_KEYS_MAX	8	/* sealed keys of one domain */

struct domain_rec {
	uint64_t	 id;
	char		*name;
	char		*status;	/* "pending", "verified" */
	char		*doc;		/* JSON object text */
	uint64_t	 version;
	size_t		 nsealed;
	char		*sealed_selector[STORE_DOMAIN_KEYS_MAX];
	char		*sealed[STORE_DOMAIN_KEYS_MAX];
};

/* 1 with *id of the tenant's domain name, 0 none, -1. */
int	 store_domain_lookup(struct db *, uint64_t tenant, const char *name,
	    uint64_t *id);
/* The tenant's domains as name/id pairs, by name order of Redis (caller
 * frees with store_domain_names_free).  0 or -1. */
int	 store_domain_names(struct db *, uint64_t tenant, char ***names,
	    uint64_t **ids, size_t *n);
void	 store_domain_names_free(char **names, uint64_t *ids, size_t n);
/* 1 with d filled, 0 none, -1.  store_domain_rec_free after. */
int	 store_domain_get(struct db *, uint64_t tenant, uint64_t id,
	    struct domain_rec *d);
void	 store_domain_rec_free(struct domain_rec *);
/* A new id for name: 1, 0 when the tenant has the name already, -1. */
int	 store_domain_create(struct db *, uint64_t tenant, const char *name,
	    uint64_t *id);
/*
 * Writes name, status and doc, adds the sealed keys sel[i] -> sealed[i]
 * and removes the sealed keys of drop[], and bumps version: 0 or -1.
 */
int	 store_domain_save(struct db *, uint64_t tenant, uint64_t id,
	    const char *name, const char *status, const char *doc,
	    const char *const *sel, const char *const *sealed, size_t nadd,
	    const char *const *drop, size_t ndrop);
/* Removes the domain: 0 or -1. */
int	 store_domain_delete(struct db *, uint64_t tenant, const char *name,
	    uint64_t id);
/* The version of the tenant's domain name: 1 with *id and *version, 0
 * when there is no such domain, -1.  Two reads, for the senders. */
int	 store_domain_version(struct db *, uint64_t tenant, const char *name,
	    uint64_t *id, uint64_t *version);

#endif
