/*
 * store_contact.h: a tenant's contacts, in Redis.
 *
 * A contact is the hash {t:T}:ct:ID (email, key: its match key,
 * first_name, last_name, gender, date_of_birth, attributes: JSON,
 * quarantined, suppressed, created_at, updated_at; contact.c reads it)
 * and its entry key -> ID in {t:T}:ct:bykey, the index that makes an
 * address one contact.  Ids come from the "contact" field of {t:T}:seq.
 *
 * Typed functions over the sync connection: -1 is always "Redis
 * failed" (no answer, or an error reply), which the API answers with
 * 503; "no such contact" is 0.  No reply object leaves this file.
 * Storage only: validation is contact.c's, answers are the API's.
 */
#ifndef FANFARE_STORE_CONTACT_H
#define FANFARE_STORE_CONTACT_H

#include <stddef.h>
#include <stdint.h>

#include "fanfare.h"

struct db;

/* By match key (validate_email): 1 with *id, 0 when no contact has the
 * address, -1. */
int	 store_contact_find(struct db *, uint64_t tenant, const char *key,
	    uint64_t *id);
/* 1 when the contact exists, 0 when not, -1. */
int	 store_contact_exists(struct db *, uint64_t tenant, uint64_t id);
/* Many at once, in one round trip: ids[i] is the contact of keys[i],
 * or 0 (none, or keys[i] is ""); 0 or -1. */
int	 store_contact_find_many(struct db *, uint64_t tenant,
	    const char *const *keys, size_t n, uint64_t *ids);
/* Sets ids[i] to 0 where no such contact exists; 0 or -1. */
int	 store_contact_exist_many(struct db *, uint64_t tenant, uint64_t *ids,
	    size_t n);

/*
 * The contact, its opt-out state included (by address, by id, or its
 * keyed hash erased before under a key of ring): 1 with *c filled (the
 * caller contact_clears it, whatever the result), 0 when there is no
 * such contact, -1.
 */
int	 store_contact_get(struct db *, uint64_t tenant,
	    const struct token_keyring *, uint64_t id, struct contact *);

/*
 * Upserts n checked rows (contact_check) by match key in three
 * pipelined round trips however many rows: looks up the ids and
 * whether each address was erased before (then it is stored with
 * "suppressed"), reserves ids for the new ones, writes.  A row whose
 * same is set updates that earlier row's contact.  Fills each row's id,
 * is_new and erased_before; 0 with the counts added to *created and
 * *updated, or -1 (rows before the failure may be written).
 */
int	 store_contact_upsert(struct db *, uint64_t tenant,
	    const struct token_keyring *, struct contact_row *, size_t n,
	    long long *created, long long *updated);

/*
 * Writes a checked row (contact_check, need_email 0) over contact id:
 * the fields the row's object gives, its attributes when it has them,
 * and, when old_key is not NULL, its address, moving the index entry
 * from old_key when the match key changes.  1 done (or the contact is
 * gone, erased meanwhile: nothing written, and the caller's next read
 * finds it gone), 0 when another contact has the new address (nothing
 * written), -1.
 */
int	 store_contact_update(struct db *, uint64_t tenant, uint64_t id,
	    const struct contact_row *, const char *old_key, uint64_t now_ms);

/* Removes the contact, its index entry and list memberships; 0 with
 * the number of lists it was on in *lists (when not NULL), or -1. */
int	 store_contact_remove(struct db *, uint64_t tenant, uint64_t id,
	    long long *lists);

/*
 * The app's listing (GET /v1/contacts): contacts by id, newest first,
 * from id start (0: the newest), those for which match(arg, f, len)
 * holds, f and len the stored email, first_name and last_name (NULL, 0
 * when not set).  Bounded work whatever the tenant's size: one
 * pipelined HMGET of the three fields per STORE_CONTACT_PAGE_BATCH ids,
 * at most STORE_CONTACT_PAGE_SCAN ids a call, then one round trip for
 * the (at most limit) hits' hashes and opt-outs by id, one for those by
 * address.  0 with out[0..*nout) filled (the caller contact_clears
 * each; out holds limit) and *next the id to go on from (0: none left),
 * or -1.
 */
#define STORE_CONTACT_PAGE_BATCH	1000
#define STORE_CONTACT_PAGE_SCAN		5000
typedef int	 store_contact_match_fn(void *arg, const char *const f[3],
		    const size_t len[3]);
int	 store_contact_page(struct db *, uint64_t tenant, uint64_t start,
	    size_t limit, store_contact_match_fn *match, void *arg,
	    struct contact *out, size_t *nout, uint64_t *next);

#endif
