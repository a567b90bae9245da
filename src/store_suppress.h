/*
 * store_suppress.h: who a tenant must not mail, in Redis.
 *
 * Three things, each a tenant's ({t:T}):
 *   opt-outs   email match keys (validate_email) in a lexical sorted
 *              set, with the time of each in a hash; the one-click
 *              link (store.c, optout.lua) adds the contact id to
 *              optout_ids as well;
 *   blocklist  an address's match key or "@domain", the same way;
 *   erased     the keyed hashes (token_keyed_hash) of erased addresses,
 *              so a later import of one is stored but never mailed;
 *              and of erased contact ids (store_erased_contact_hash),
 *              so that a late one-click opt-out (optout.lua) of one
 *              stores nothing;
 *   bounces    email match keys that got a 5xx, with the time.
 *
 * Typed functions over the sync connection: -1 is always "Redis
 * failed" (no answer, or an error reply), which the API answers with
 * 503; "not there" is 0.  No reply object leaves this file.  Storage
 * only: nothing here knows the API.
 */
#ifndef FANFARE_STORE_SUPPRESS_H
#define FANFARE_STORE_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct token_keyring;

enum suppress_set {
	SUPPRESS_OPTOUTS,	/* match keys */
	SUPPRESS_BLOCKLIST	/* match keys and "@domain" */
};

/* A page of a set, in lexical order; suppress_page_free frees it. */
struct suppress_item {
	char		*value;
	uint64_t	 at;		/* ms when added; 0: unknown */
};
struct suppress_page {
	struct suppress_item	*items;
	size_t			 n;
	int			 more;	/* items[n - 1].value is the cursor */
};

/* At most limit items after the value after (NULL or "": from the
 * start), with their times; 0 or -1. */
int	 store_suppress_page(struct db *, uint64_t tenant, enum suppress_set,
	    const char *after, size_t limit, struct suppress_page *);
void	 suppress_page_free(struct suppress_page *);

/* Opt-outs by match key.  add keeps the first time; remove: 0 or -1,
 * with the number removed (0 or 1) in *removed when not NULL. */
int	 store_optout_add(struct db *, uint64_t tenant, const char *key,
	    uint64_t now_ms);
int	 store_optout_remove(struct db *, uint64_t tenant, const char *key,
	    long long *removed);
/* 1 when the address is opted out, with its time in *at (0: unknown),
 * 0 when not, -1. */
int	 store_optout_time(struct db *, uint64_t tenant, const char *key,
	    uint64_t *at);
/* The one-click opt-out of a contact id: as store_optout_remove. */
int	 store_optout_remove_contact(struct db *, uint64_t tenant,
	    uint64_t contact, long long *removed);
/* 1 when the address (key; "" for none) or the contact id is opted out,
 * 0 when neither is, -1.  One round trip. */
int	 store_optout_check(struct db *, uint64_t tenant, const char *key,
	    uint64_t contact);

/* The blocklist: add keeps the first time; remove is 1 when the
 * pattern was listed, 0 when not, -1. */
int	 store_blocklist_add(struct db *, uint64_t tenant, const char *pattern,
	    uint64_t now_ms);
int	 store_blocklist_remove(struct db *, uint64_t tenant,
	    const char *pattern);
/* 1 when the address (a match key) or its "@domain" is listed. */
int	 store_blocklist_match(struct db *, uint64_t tenant, const char *key);

/*
 * Erased addresses.  store_erased_add suppresses the key's hash under
 * the ring's signing key: 0 or -1.  store_erased_check: 1 when its hash
 * under any key of the ring is suppressed, 0 when none, -1.  For a
 * pipeline of many: store_erased_append, then, in its turn,
 * store_erased_reply (1, 0 or -1, as store_erased_check).
 */
int	 store_erased_add(struct db *, uint64_t tenant,
	    const struct token_keyring *, const char *key);
int	 store_erased_check(struct db *, uint64_t tenant,
	    const struct token_keyring *, const char *key);
int	 store_erased_append(struct db *, uint64_t tenant,
	    const struct token_keyring *, const char *key);
int	 store_erased_reply(struct db *);

/*
 * Erased contact ids.  store_erased_contact_hash writes the keyed hash
 * of a contact id under key i of the ring (64 hex digits + NUL; -1 when
 * the ring has no key i): the erasure tombstone that optout.lua (in
 * {t:T}:suppressed) and record.lua (in each campaign's :erased) look
 * for.  The input "contact:ID" can never be an address's match key (no
 * '@'), so the two kinds of hash never meet.  store_erased_add_contact
 * adds it (signing key) to {t:T}:suppressed: 0 or -1.
 */
int	 store_erased_contact_hash(const struct token_keyring *, int i,
	    uint64_t contact, char out[65]);
int	 store_erased_add_contact(struct db *, uint64_t tenant,
	    const struct token_keyring *, uint64_t contact);

/* Takes the address (a match key) off {t:T}:bounces (erasure: its
 * keyed hash in :suppressed keeps it unmailed): 1 when it was there,
 * 0 when not, -1.  store_bounce_time: 1 with its time in *at, 0, -1. */
int	 store_bounce_remove(struct db *, uint64_t tenant, const char *key);
int	 store_bounce_time(struct db *, uint64_t tenant, const char *key,
	    uint64_t *at);

#endif
