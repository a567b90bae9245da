/*
 * smtp_domain.c: a sender thread's DKIM keys of a sending domain
 * (smtp_domain.h).  Each compiled campaign holds one struct
 * smtp_domain_keys; a campaign reload (smtp_campaign.c, every
 * SMTP_CAMPAIGN_TTL_MS) asks Redis only for the domain's version, so a
 * message never costs a Redis read or a decryption.
 *
 * Only the signing generation's keys are opened: after a rotate the old
 * selectors sign until a verify promotes the new ones (api_domain.c),
 * which bumps the version.  A PEM lives in clear only between
 * seal_decrypt and dkim_key_parse here, then is wiped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "smtp_domain.h"
#include "store_domain.h"

void
smtp_domain_keys_clear(struct smtp_domain_keys *k)
{
	size_t	i;

	for (i = 0; i < k->n; i++)
		dkim_key_free(k->keys[i]);
	memset(k, 0, sizeof(*k));
}

/* Opens the signing generation's keys of d into k. */
static void
keys_open(struct smtp_domain_keys *k, const struct seal_key *dk,
    uint64_t tenant, const struct domain_rec *d, int who)
{
	json_t		*doc, *key;
	json_int_t	 signing;
	const char	*sel;
	char		 aad[512], err[256], *pem;
	size_t		 i, j, len;

	if ((doc = json_loads(d->doc, 0, NULL)) == NULL)
		return;
	signing = json_integer_value(json_object_get(doc, "signing"));
	json_array_foreach(json_object_get(doc, "keys"), i, key) {
		if (json_integer_value(json_object_get(key, "generation")) !=
		    signing || k->n == SMTP_DKIM_MAX ||
		    (sel = json_string_value(json_object_get(key,
		    "selector"))) == NULL)
			continue;
		for (j = 0; j < d->nsealed; j++)
			if (strcmp(d->sealed_selector[j], sel) == 0)
				break;
		if (j == d->nsealed)
			continue;
		domain_key_aad(aad, sizeof(aad), tenant, d->name, sel);
		if ((pem = seal_decrypt(dk, aad, d->sealed[j],
		    strlen(d->sealed[j]), &len)) == NULL) {
			log_warnx("sender %d: the DKIM key %s of %s does not "
			    "open with data_key_file", who, sel, d->name);
			continue;
		}
		if ((k->keys[k->n] = dkim_key_parse(pem, len, d->name, sel,
		    "sealed key", err, sizeof(err))) != NULL)
			k->n++;
		else
			log_warnx("sender %d: %s: %s", who, d->name, err);
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	json_decref(doc);
}

void
smtp_domain_refresh(struct smtp_domain_keys *k, struct db *db,
    const struct seal_key *dk, uint64_t tenant, const char *from_addr,
    int who)
{
	struct domain_rec	 d;
	char			 name[DOMAIN_NAME_MAX + 1];
	uint64_t		 id, version;
	int			 rc;

	if (domain_of_from(from_addr, name, sizeof(name)) == -1 ||
	    dk == NULL || !dk->set) {
		smtp_domain_keys_clear(k);
		return;
	}
	if ((rc = store_domain_version(db, tenant, name, &id,
	    &version)) == -1)
		return;		/* keep what we have */
	if (rc == 0) {
		smtp_domain_keys_clear(k);
		return;
	}
	if (k->tenant == tenant && k->id == id && k->version == version &&
	    strcmp(k->domain, name) == 0)
		return;
	if ((rc = store_domain_get(db, tenant, id, &d)) == -1)
		return;
	smtp_domain_keys_clear(k);
	if (rc == 1) {
		keys_open(k, dk, tenant, &d, who);
		k->verified = d.status != NULL &&
		    strcmp(d.status, "verified") == 0;
		store_domain_rec_free(&d);
	}
	k->tenant = tenant;
	k->id = id;
	k->version = version;
	snprintf(k->domain, sizeof(k->domain), "%s", name);
}
