/*
 * store_list.h: a tenant's lists of contacts, in Redis.
 *
 * A list is the hash {t:T}:list:ID (name, created_at) and the set of
 * its contact ids, {t:T}:list:ID:members; each contact has the set of
 * its list ids, {t:T}:ct:ID:lists, written with it, so a contact leaves
 * all its lists without a scan.  Ids come from the "list" field of
 * {t:T}:seq.
 *
 * Typed functions over the sync connection: -1 is always "Redis
 * failed" (no answer, or an error reply), which the API answers with
 * 503; "no such list" is 0.  No reply object leaves this file.  Storage
 * only: nothing here knows the API.
 */
#ifndef FANFARE_STORE_LIST_H
#define FANFARE_STORE_LIST_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* A new list named name (len bytes); 0 with *list, or -1. */
int	 store_list_create(struct db *, uint64_t tenant, const char *name,
	    size_t len, uint64_t now_ms, uint64_t *list);
/* 1 with its name in *name (the caller frees), 0 when there is no such
 * list, -1. */
int	 store_list_name(struct db *, uint64_t tenant, uint64_t list,
	    char **name);
/* The number of its members: 0 with *n, or -1. */
int	 store_list_size(struct db *, uint64_t tenant, uint64_t list,
	    long long *n);

/*
 * Adds (add) or removes the n contacts to or from the list, in one
 * round trip; 0 with the number that were not members (added) or were
 * (removed) in *changed, or -1.  The ids must be of contacts that exist.
 */
int	 store_list_change(struct db *, uint64_t tenant, uint64_t list,
	    const uint64_t *contacts, size_t n, int add, long long *changed);

/* The contact's list ids, in *lists (the caller frees); 0 or -1. */
int	 store_list_of_contact(struct db *, uint64_t tenant, uint64_t contact,
	    uint64_t **lists, size_t *n);
/* Takes the contact out of every list it is on; 0 with how many in
 * *n (when not NULL), or -1. */
int	 store_list_forget_contact(struct db *, uint64_t tenant,
	    uint64_t contact, long long *n);

/* The app's listing (GET /v1/lists): every list, by id, with its
 * name and its number of members; STORE_LIST_BATCH ids per pipelined
 * round trip.  0 with *l (store_list_infos_free) and *n, or -1. */
#define STORE_LIST_BATCH	500
struct list_info {
	uint64_t	 id;
	char		*name;
	long long	 members;
};
int	 store_list_all(struct db *, uint64_t tenant, struct list_info **l,
	    size_t *n);
void	 store_list_infos_free(struct list_info *, size_t);

#endif
