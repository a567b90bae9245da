/*
 * store_list.c: lists and their members (store_list.h).  A membership
 * is written twice, in the list's members and in the contact's lists,
 * always in the same pipeline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "store_list.h"
#include "store_tenant.h"

int
store_list_create(struct db *db, uint64_t tenant, const char *name,
    size_t len, uint64_t now, uint64_t *list)
{
	redisReply	*rep;
	struct key	 k;
	long long	 id;

	if (db_cmd_int(db, &id, "HINCRBY %s list 1", key_seq(&k, tenant)) ==
	    -1 || id <= 0)
		return -1;
	if ((rep = db_cmd(db, "HSET %s name %b created_at %llu",
	    key_list(&k, tenant, (uint64_t)id), name, len,
	    (unsigned long long)now)) == NULL)
		return -1;
	*list = (uint64_t)id;
	return reply_done(rep);
}

int
store_list_name(struct db *db, uint64_t tenant, uint64_t list, char **name)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc;

	*name = NULL;
	if ((rep = db_cmd(db, "HGET %s name", key_list(&k, tenant, list))) ==
	    NULL)
		return -1;
	if ((s = reply_str(rep, &len)) != NULL) {
		*name = xstrndup(s, len);
		rc = 1;
	} else
		rc = rep->type == REDIS_REPLY_NIL ? 0 : -1;
	freeReplyObject(rep);
	return rc;
}

int
store_list_size(struct db *db, uint64_t tenant, uint64_t list, long long *n)
{
	struct key	k;

	return db_cmd_int(db, n, "SCARD %s", key_list_members(&k, tenant,
	    list));
}

int
store_list_change(struct db *db, uint64_t tenant, uint64_t list,
    const uint64_t *contacts, size_t n, int add, long long *changed)
{
	redisReply	*rep;
	struct key	 members, lists;
	const char	*verb = add ? "SADD" : "SREM";
	long long	 one;
	size_t		 i;
	int		 k, ret = 0;

	*changed = 0;
	key_list_members(&members, tenant, list);
	for (i = 0; i < n; i++)
		if (db_append(db, "%s %s %llu", verb, members.s,
		    (unsigned long long)contacts[i]) == -1 ||
		    db_append(db, "%s %s %llu", verb,
		    key_contact_lists(&lists, tenant, contacts[i]),
		    (unsigned long long)list) == -1)
			return -1;
	/* Every reply is read, so a failure leaves no pipeline behind. */
	for (i = 0; i < n; i++)
		for (k = 0; k < 2; k++) {
			if ((rep = db_reply(db)) == NULL ||
			    reply_int(rep, &one) == -1)
				ret = -1;
			else if (k == 0)
				*changed += one;
			freeReplyObject(rep);
		}
	return ret;
}

int
store_list_of_contact(struct db *db, uint64_t tenant, uint64_t contact,
    uint64_t **lists, size_t *n)
{
	struct key	 k;

	return reply_take_ids(db_cmd(db, "SMEMBERS %s",
	    key_contact_lists(&k, tenant, contact)), lists, n);
}

int
store_list_forget_contact(struct db *db, uint64_t tenant, uint64_t contact,
    long long *count)
{
	redisReply	*rep;
	struct key	 k;
	uint64_t	*lists;
	size_t		 n, i;
	int		 ret = 0;

	if (store_list_of_contact(db, tenant, contact, &lists, &n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (db_append(db, "SREM %s %llu", key_list_members(&k, tenant,
		    lists[i]), (unsigned long long)contact) == -1) {
			free(lists);
			return -1;
		}
	free(lists);
	if (db_append(db, "DEL %s", key_contact_lists(&k, tenant,
	    contact)) == -1)
		return -1;
	for (i = 0; i <= n; i++) {
		if ((rep = db_reply(db)) == NULL || reply_is_error(rep, NULL))
			ret = -1;
		freeReplyObject(rep);
	}
	if (ret == 0 && count != NULL)
		*count = (long long)n;
	return ret;
}

/* ------------------------------------------------- the app's listing */

void
store_list_infos_free(struct list_info *l, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(l[i].name);
	free(l);
}

int
store_list_all(struct db *db, uint64_t tenant, struct list_info **out,
    size_t *nout)
{
	redisReply	*name, *size;
	struct key	 k;
	struct list_info *l = NULL;
	uint64_t	 last, from, to, id;
	const char	*s;
	size_t		 n = 0, cap = 0, len;
	long long	 members;
	int		 ret = 0;

	*out = NULL;
	*nout = 0;
	if (store_tenant_last_id(db, tenant, "list", &last) == -1)
		return -1;
	/* Ids 1 to the last one given, STORE_LIST_BATCH a round trip:
	 * a tenant's lists are few, and this needs no index of them. */
	for (from = 1; from <= last && ret == 0; from = to + 1) {
		to = last - from >= STORE_LIST_BATCH ? from + STORE_LIST_BATCH -
		    1 : last;
		for (id = from; id <= to; id++)
			if (db_append(db, "HGET %s name", key_list(&k, tenant,
			    id)) == -1 || db_append(db, "SCARD %s",
			    key_list_members(&k, tenant, id)) == -1) {
				db_discard(db);
				store_list_infos_free(l, n);
				return -1;
			}
		/* Every reply is read, so a failure leaves no pipeline. */
		for (id = from; id <= to; id++) {
			name = db_reply(db);
			size = db_reply(db);
			if (name == NULL || size == NULL ||
			    reply_is_error(name, NULL) ||
			    reply_int(size, &members) == -1)
				ret = -1;
			else if ((s = reply_str(name, &len)) != NULL) {
				if (n == cap) {
					cap = cap ? 2 * cap : 16;
					l = xreallocarray(l, cap, sizeof(*l));
				}
				l[n].id = id;
				l[n].name = xstrndup(s, len);
				l[n++].members = members;
			}
			freeReplyObject(name);
			freeReplyObject(size);
		}
	}
	if (ret == -1) {
		store_list_infos_free(l, n);
		return -1;
	}
	*out = l;
	*nout = n;
	return 0;
}
