/*
 * smtp_tenant_relay.h: a tenant's own relay as a sender thread holds it
 * (smtp_tenant_relay.c): read with the campaign, kept with its version,
 * its password opened once.
 */
#ifndef FANFARE_SMTP_TENANT_RELAY_H
#define FANFARE_SMTP_TENANT_RELAY_H

#include <stdint.h>

#include "store_relay.h"
#include "smtp_session.h"

struct db;
struct seal_key;

struct smtp_tenant_relay {
	int			 set;	/* 0: the node's relay */
	uint64_t		 tenant;
	char			 version[RELAY_VERSION_MAX + 1];
	struct smtp_endpoint	 ep;
};

/*
 * Brings t up to date for the tenant: one Redis read (the relay is one
 * small string), and a decryption only when its version changed.  No
 * relay: t is cleared (the node's relay).  A Redis failure keeps what t
 * had.  A password that does not open leaves t set and ep.unusable
 * (logged): the tenant's mail waits rather than going elsewhere.
 */
void	 smtp_tenant_relay_refresh(struct smtp_tenant_relay *t, struct db *,
	    const struct seal_key *, uint64_t tenant, int who);
/* Where a session goes: &t->ep, or NULL for the node's relay. */
const struct smtp_endpoint *smtp_tenant_relay_endpoint(
	    const struct smtp_tenant_relay *t);
/* Wipes the password. */
void	 smtp_tenant_relay_clear(struct smtp_tenant_relay *t);

#endif
