/*
 * store_form.h: signup forms, their pending sign-ups and the consent
 * records of confirmed ones, in Redis (keys.c documents each key):
 *   {t:T}:forms, {t:T}:form:ID, {t:T}:form:ID:consent   the forms
 *   {t:T}:signup:ID          a pending sign-up, deleted by its TTL
 *   {t:T}:signup_mailed:H    one confirmation mail a day per address
 *   {t:T}:ct:ID:consents     a contact's consent records
 *
 * A double opt-in form owns a hidden system campaign ("kind"
 * confirmation, never in {t:T}:camps, its snapshot "system" so that no
 * launch step and no send_finish ever touches it) and its template:
 * each sign-up appends one recipient, the pending sign-up's id, to the
 * campaign's queue (store_queue_add_one), and the senders mail it like
 * any campaign's, with the checks of send_check.lua at send time, the
 * From domain's DKIM keys and the tenant's relay.  For such a campaign
 * the senders read the recipient from {t:T}:signup:ID instead of a
 * contact hash (store_send_check): the same fields, so the script is
 * the same.  Sign-up ids come from the tenant's contact counter, so no
 * sign-up shares an id with a contact (the campaign's bitmaps, the
 * opt-out ids).
 *
 * Typed functions over the sync connection, for api_form.c and the
 * tracking workers' sign-up jobs (signup.c): -1 when Redis failed,
 * never for "not found".  No reply leaves store_form.c.
 */
#ifndef FANFARE_STORE_FORM_H
#define FANFARE_STORE_FORM_H

#include <stddef.h>
#include <stdint.h>

#include "form.h"

struct db;

/* Hex digits of the keyed hash of an address that store_signup_add's
 * day limit is keyed by (keys.h's KEY_SIGNUP_HASH_MAX). */
#define SIGNUP_HASH_LEN		32

struct token_keyring;
/* That hash of an address's key (validate_email's), NUL-terminated. */
void	 signup_hash(const struct token_keyring *, const char *key,
	    char out[SIGNUP_HASH_LEN + 1]);

/* A stored form; every string its own (store_form_rec_free). */
struct form_rec {
	uint64_t	 id;
	char		*name;
	uint64_t	 list_id;
	char		*fields[FORM_FIELDS_MAX];
	size_t		 nfields;
	char		*consent_text;	/* of consent_version */
	uint64_t	 consent_version;
	int		 double_opt_in;
	char		*redirect_url;	/* NULL: none */
	char		*from;		/* NULL: none (single opt-in) */
	uint64_t	 campaign;	/* the hidden confirmation one */
	uint64_t	 template_id;
	uint64_t	 created_at, updated_at;
};

/* spec's view of rec (borrowed strings). */
void	 store_form_spec(const struct form_rec *, struct form_spec *);
void	 store_form_rec_free(struct form_rec *);

/* A new form (with its confirmation campaign and template): 0 with
 * *id, or -1. */
int	 store_form_create(struct db *, uint64_t tenant,
	    const struct form_spec *, uint64_t now_ms, uint64_t *id);
/* 1 with rec filled, 0 when there is no such form, -1. */
int	 store_form_get(struct db *, uint64_t tenant, uint64_t id,
	    struct form_rec *);
/* Writes spec over the form; a consent text that differs from the
 * stored one becomes a new version.  0 or -1. */
int	 store_form_update(struct db *, uint64_t tenant,
	    const struct form_rec *old, const struct form_spec *,
	    uint64_t now_ms);
/* The text of a consent version (the caller frees): 1, 0 none, -1. */
int	 store_form_consent(struct db *, uint64_t tenant, uint64_t id,
	    uint64_t version, char **text);
/* Removes the form, its campaign and template: 1, 0 none, -1.  Consent
 * records keep their own copy of the text they name. */
int	 store_form_delete(struct db *, uint64_t tenant, uint64_t id);
/* The tenant's form ids, ascending (the caller frees): 0 or -1. */
int	 store_form_ids(struct db *, uint64_t tenant, uint64_t **ids,
	    size_t *n);

/* A pending sign-up, as signup.c makes it and store_signup_get reads
 * it back. */
struct signup_rec {
	uint64_t	 id;
	uint64_t	 form;
	char		 email[FF_EMAIL_MAX + 1];
	char		 key[FF_EMAIL_MAX + 1];
	char		*first_name;	/* NULL: not given */
	char		*last_name;
	char		*attributes;	/* a JSON object, or NULL */
	int		 quarantined;	/* a field hit a special term */
	uint64_t	 consent_version;
	uint64_t	 asked_at;	/* ms */
	char		 country[3];	/* "" unknown */
};
void	 store_signup_rec_free(struct signup_rec *);

/*
 * Queues the confirmation of a sign-up, unless one was queued for the
 * same address (mailed_hash, hex) in the last day: 1 queued (s->id
 * set), 0 limited (nothing stored), -1.  The pending sign-up lives
 * expiry_ms.
 */
int	 store_signup_add(struct db *, uint64_t tenant,
	    const struct form_rec *, struct signup_rec *s,
	    const char *mailed_hash, uint64_t expiry_ms);
/* 1 with s filled, 0 when it is gone (expired, confirmed), -1. */
int	 store_signup_get(struct db *, uint64_t tenant, uint64_t id,
	    struct signup_rec *s);
int	 store_signup_delete(struct db *, uint64_t tenant, uint64_t id);
/*
 * The ids of the pending sign-ups of an address (hash: signup_hash's),
 * some perhaps gone already (store_signup_get says): 0 with *ids
 * allocated (free()), or -1.  Erasure: store_signups_erase deletes them
 * and the index, with how many were still pending in *n.
 */
int	 store_signup_ids(struct db *, uint64_t tenant, const char *hash,
	    uint64_t **ids, size_t *n);
int	 store_signups_erase(struct db *, uint64_t tenant, const char *hash,
	    long long *n);

/* Appends one consent record (JSON text) to the contact's: 0 or -1. */
int	 store_consent_add(struct db *, uint64_t tenant, uint64_t contact,
	    const char *json);
/* The contact's records as JSON texts (store_consents_free): 0 or -1. */
int	 store_consents(struct db *, uint64_t tenant, uint64_t contact,
	    char ***items, size_t *n);
void	 store_consents_free(char **items, size_t n);
/* Erasure: removes them all; 0 with how many in *n, or -1. */
int	 store_consents_erase(struct db *, uint64_t tenant, uint64_t contact,
	    long long *n);

#endif
