/*
 * store_relay.h: a tenant's own relay, in Redis:
 *   {t:T}:relay  string  JSON: host, port, starttls ("required",
 *                        "optional", "off"), username, password (seal.c's
 *                        text: never in clear), version (new at each
 *                        write: the senders' caches compare it),
 *                        updated_at (ms)
 *
 * One string, so a write replaces the relay at once: a sender never
 * reads one relay's host with another's login.  Typed functions over
 * the sync connection for api_relay.c and the senders
 * (smtp_tenant_relay.c): -1 when Redis failed, never for "not found";
 * no reply leaves store_relay.c.
 */
#ifndef FANFARE_STORE_RELAY_H
#define FANFARE_STORE_RELAY_H

#include <stdint.h>

#include "relay.h"

struct db;

#define RELAY_VERSION_MAX	32

struct relay_rec {
	char		 host[RELAY_HOST_MAX + 1];
	int		 port;
	int		 starttls;		/* SMTP_TLS_* */
	char		*user;			/* NULL: no AUTH */
	char		*sealed_password;	/* seal.c's text, or NULL */
	char		 version[RELAY_VERSION_MAX + 1];
	uint64_t	 updated_at;		/* ms */
};

/* 1 with r filled, 0 none (or a record that is not ours: logged), -1.
 * store_relay_rec_free after a 1. */
int	 store_relay_get(struct db *, uint64_t tenant, struct relay_rec *r);
void	 store_relay_rec_free(struct relay_rec *);
/* Writes r as the tenant's relay, all at once: 0 or -1. */
int	 store_relay_put(struct db *, uint64_t tenant,
	    const struct relay_rec *r);
/* Removes it (the node's relay again): 0 or -1. */
int	 store_relay_delete(struct db *, uint64_t tenant);

#endif
