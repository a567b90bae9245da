/*
 * store_domain.c: a tenant's sending domains in Redis (store_domain.h
 * says what each key holds and each function answers).  Both keys are in
 * the tenant's {t:T} slot, so a tenant purge's SCAN takes them, and a
 * write of several commands is one pipeline to one node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "store_domain.h"
#include "store_tenant.h"

#define SEALED_PREFIX	"sealed:"
#define DOMAIN_FIELD_MAX	96	/* "sealed:" and a selector */

int
store_domain_lookup(struct db *db, uint64_t tenant, const char *name,
    uint64_t *id)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	rep = db_cmd(db, "HGET %s %s", key_domains(&k, tenant), name);
	if (rep == NULL || reply_is_error(rep, ""))
		rc = -1;
	else if (reply_str(rep, NULL) == NULL)
		rc = 0;
	else
		rc = reply_u64(rep, id) == 0 ? 1 : 0;
	freeReplyObject(rep);
	return rc;
}

int
store_domain_names(struct db *db, uint64_t tenant, char ***names,
    uint64_t **ids, size_t *n)
{
	redisReply	*rep;
	struct key	 k;
	const char	*f, *v;
	size_t		 i = 0, flen, vlen;
	uint64_t	 id;

	*names = NULL;
	*ids = NULL;
	*n = 0;
	rep = db_cmd(db, "HGETALL %s", key_domains(&k, tenant));
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	*names = xcalloc(rep->elements / 2 + 1, sizeof(**names));
	*ids = xcalloc(rep->elements / 2 + 1, sizeof(**ids));
	while (reply_hash_next(rep, &i, &f, &flen, &v, &vlen) == 1) {
		if (parse_u64(v, vlen, &id) == -1)
			continue;
		(*names)[*n] = xstrndup(f, flen);
		(*ids)[(*n)++] = id;
	}
	freeReplyObject(rep);
	return 0;
}

void
store_domain_names_free(char **names, uint64_t *ids, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ids);
}

static void
domain_field(void *arg, const char *f, size_t flen, const char *v,
    size_t vlen)
{
	struct domain_rec	*d = arg;
	size_t			 plen = sizeof(SEALED_PREFIX) - 1;

	if (strcmp(f, "name") == 0 && d->name == NULL)
		d->name = xstrndup(v, vlen);
	else if (strcmp(f, "status") == 0 && d->status == NULL)
		d->status = xstrndup(v, vlen);
	else if (strcmp(f, "doc") == 0 && d->doc == NULL)
		d->doc = xstrndup(v, vlen);
	else if (strcmp(f, "version") == 0)
		(void)parse_u64(v, vlen, &d->version);
	else if (flen > plen && memcmp(f, SEALED_PREFIX, plen) == 0 &&
	    d->nsealed < STORE_DOMAIN_KEYS_MAX) {
		d->sealed_selector[d->nsealed] = xstrndup(f + plen,
		    flen - plen);
		d->sealed[d->nsealed++] = xstrndup(v, vlen);
	}
}

int
store_domain_get(struct db *db, uint64_t tenant, uint64_t id,
    struct domain_rec *d)
{
	struct key	k;
	int		rc;

	memset(d, 0, sizeof(*d));
	d->id = id;
	rc = db_hash_each(db, key_domain(&k, tenant, id), domain_field, d);
	if (rc == 1 && (d->name == NULL || d->doc == NULL)) {
		store_domain_rec_free(d);
		rc = 0;		/* half-created: as if absent */
	}
	return rc;
}

void
store_domain_rec_free(struct domain_rec *d)
{
	size_t	i;

	free(d->name);
	free(d->status);
	free(d->doc);
	for (i = 0; i < d->nsealed; i++) {
		free(d->sealed_selector[i]);
		free(d->sealed[i]);
	}
	memset(d, 0, sizeof(*d));
}

int
store_domain_create(struct db *db, uint64_t tenant, const char *name,
    uint64_t *id)
{
	struct key	k;
	long long	set;

	if (store_tenant_next_id(db, tenant, "domain", id) == -1)
		return -1;
	if (db_cmd_int(db, &set, "HSETNX %s %s %llu", key_domains(&k, tenant),
	    name, (unsigned long long)*id) == -1)
		return -1;
	return set == 1 ? 1 : 0;
}

int
store_domain_save(struct db *db, uint64_t tenant, uint64_t id,
    const char *name, const char *status, const char *doc,
    const char *const *sel, const char *const *sealed, size_t nadd,
    const char *const *drop, size_t ndrop)
{
	const char	*argv[8 + 2 * STORE_DOMAIN_KEYS_MAX];
	size_t		 argl[8 + 2 * STORE_DOMAIN_KEYS_MAX];
	char		 fields[STORE_DOMAIN_KEYS_MAX][DOMAIN_FIELD_MAX];
	redisReply	*rep;
	struct key	 k;
	size_t		 i;
	int		 argc = 0, rc = 0;

	if (nadd > STORE_DOMAIN_KEYS_MAX || ndrop > STORE_DOMAIN_KEYS_MAX)
		return -1;
	key_domain(&k, tenant, id);
	argv[argc++] = "HSET";
	argv[argc++] = k.s;
	argv[argc++] = "name";
	argv[argc++] = name;
	argv[argc++] = "status";
	argv[argc++] = status;
	argv[argc++] = "doc";
	argv[argc++] = doc;
	for (i = 0; i < nadd; i++) {
		snprintf(fields[i], sizeof(fields[i]), SEALED_PREFIX "%s",
		    sel[i]);
		argv[argc++] = fields[i];
		argv[argc++] = sealed[i];
	}
	for (i = 0; i < (size_t)argc; i++)
		argl[i] = strlen(argv[i]);
	if (db_appendargv(db, argc, argv, argl) == -1)
		return -1;
	if (ndrop > 0) {
		argc = 0;
		argv[argc++] = "HDEL";
		argv[argc++] = k.s;
		for (i = 0; i < ndrop; i++) {
			snprintf(fields[i], sizeof(fields[i]),
			    SEALED_PREFIX "%s", drop[i]);
			argv[argc++] = fields[i];
		}
		for (i = 0; i < (size_t)argc; i++)
			argl[i] = strlen(argv[i]);
		if (db_appendargv(db, argc, argv, argl) == -1)
			return -1;
	}
	if (db_append(db, "HINCRBY %s version 1", k.s) == -1)
		return -1;
	for (i = 0; i < (ndrop > 0 ? 3u : 2u); i++) {
		rep = db_reply(db);
		if (!reply_ok(rep))
			rc = -1;
		freeReplyObject(rep);
	}
	return rc;
}

int
store_domain_delete(struct db *db, uint64_t tenant, const char *name,
    uint64_t id)
{
	struct key	k, k2;
	redisReply	*rep;
	int		 i, rc = 0;

	if (db_append(db, "HDEL %s %s", key_domains(&k, tenant), name) == -1 ||
	    db_append(db, "UNLINK %s", key_domain(&k2, tenant, id)) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		rep = db_reply(db);
		if (!reply_ok(rep))
			rc = -1;
		freeReplyObject(rep);
	}
	return rc;
}

int
store_domain_version(struct db *db, uint64_t tenant, const char *name,
    uint64_t *id, uint64_t *version)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	if ((rc = store_domain_lookup(db, tenant, name, id)) != 1)
		return rc;
	rep = db_cmd(db, "HGET %s version", key_domain(&k, tenant, *id));
	if (rep == NULL || reply_is_error(rep, ""))
		rc = -1;
	else if (reply_str(rep, NULL) == NULL)
		rc = 0;
	else
		rc = reply_u64(rep, version) == 0 ? 1 : 0;
	freeReplyObject(rep);
	return rc;
}
