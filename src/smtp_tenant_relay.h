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
struct smtp_endpoint *smtp_tenant_relay_endpoint(
	    struct smtp_tenant_relay *t);
/* Wipes the password. */
void	 smtp_tenant_relay_clear(struct smtp_tenant_relay *t);

/*
 * What one sender thread learnt of tenant relays' 8BITMIME, across
 * campaigns: a campaign's copy of its tenant's relay is new with each
 * campaign, the relay (same tenant, same version) is not.  A few slots,
 * the oldest reused: forgetting costs one quoted-printable batch.
 */
#define SMTP_RELAY_MEMO_SLOTS	16
struct smtp_relay_memo {
	struct {
		uint64_t	 tenant;	/* 0: empty */
		char		 version[RELAY_VERSION_MAX + 1];
		int		 eightbit;
	}		 slot[SMTP_RELAY_MEMO_SLOTS];
	unsigned	 next;
};
/* Before a batch is built: t's endpoint gets what the thread knows. */
void	 smtp_relay_memo_recall(const struct smtp_relay_memo *,
	    struct smtp_tenant_relay *t);
/* After a session: what it learnt is kept. */
void	 smtp_relay_memo_keep(struct smtp_relay_memo *,
	    const struct smtp_tenant_relay *t);

#endif
