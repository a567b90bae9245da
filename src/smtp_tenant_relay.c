/*
 * smtp_tenant_relay.c: a sender thread's copy of a tenant's own relay
 * (PUT /v1/relay), one per compiled campaign (smtp_campaign.c).  A
 * campaign reload (every SMTP_CAMPAIGN_TTL_MS) reads the relay's one
 * string; only a new version is decrypted, so a message never costs a
 * Redis read or a decryption.
 *
 * The password is in clear only here, in the thread's memory, between
 * seal_decrypt and smtp_tenant_relay_clear, which wipes it; never in a
 * log line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fanfare.h"
#include "smtp_tenant_relay.h"

void
smtp_tenant_relay_clear(struct smtp_tenant_relay *t)
{
	if (t->ep.password != NULL) {
		OPENSSL_cleanse(t->ep.password, strlen(t->ep.password));
		free(t->ep.password);
	}
	free(t->ep.user);
	memset(t, 0, sizeof(*t));
}

struct smtp_endpoint *
smtp_tenant_relay_endpoint(struct smtp_tenant_relay *t)
{
	return t->set ? &t->ep : NULL;
}

void
smtp_tenant_relay_refresh(struct smtp_tenant_relay *t, struct db *db,
    const struct seal_key *dk, uint64_t tenant, int who)
{
	struct relay_rec	 r;
	char			 aad[64];
	size_t			 len;
	int			 rc;

	if ((rc = store_relay_get(db, tenant, &r)) == -1)
		return;		/* keep what we have */
	if (rc == 0) {
		smtp_tenant_relay_clear(t);
		return;
	}
	if (t->set && t->tenant == tenant && strcmp(t->version,
	    r.version) == 0) {
		store_relay_rec_free(&r);
		return;
	}
	smtp_tenant_relay_clear(t);
	t->set = 1;
	t->tenant = tenant;
	snprintf(t->version, sizeof(t->version), "%s", r.version);
	t->ep.tenant = tenant;
	snprintf(t->ep.host, sizeof(t->ep.host), "%s", r.host);
	t->ep.port = r.port;
	t->ep.starttls = r.starttls;
	if (r.user != NULL) {
		t->ep.user = r.user;
		r.user = NULL;
		relay_password_aad(aad, sizeof(aad), tenant);
		if (r.sealed_password == NULL || dk == NULL || !dk->set ||
		    (t->ep.password = seal_decrypt(dk, aad, r.sealed_password,
		    strlen(r.sealed_password), &len)) == NULL) {
			log_warnx("sender %d: tenant %llu: the relay password "
			    "does not open with data_key_file; its mail stays "
			    "queued", who, (unsigned long long)tenant);
			t->ep.unusable = 1;
		}
	}
	store_relay_rec_free(&r);
}

static int
memo_find(const struct smtp_relay_memo *m, const struct smtp_tenant_relay *t)
{
	int	i;

	for (i = 0; i < SMTP_RELAY_MEMO_SLOTS; i++)
		if (m->slot[i].tenant == t->tenant &&
		    strcmp(m->slot[i].version, t->version) == 0)
			return i;
	return -1;
}

void
smtp_relay_memo_recall(const struct smtp_relay_memo *m,
    struct smtp_tenant_relay *t)
{
	int	i;

	if (t->set && (i = memo_find(m, t)) != -1)
		t->ep.eightbit = m->slot[i].eightbit;
}

void
smtp_relay_memo_keep(struct smtp_relay_memo *m,
    const struct smtp_tenant_relay *t)
{
	int	i;

	if (!t->set)
		return;
	if ((i = memo_find(m, t)) == -1) {
		i = (int)(m->next++ % SMTP_RELAY_MEMO_SLOTS);
		m->slot[i].tenant = t->tenant;
		snprintf(m->slot[i].version, sizeof(m->slot[i].version), "%s",
		    t->version);
	}
	m->slot[i].eightbit = t->ep.eightbit;
}
