/*
 * api_tenant.c: tenants and their API keys (admin key only), and the
 * check of a tenant key on every tenant request.
 *
 * A tenant key is "ff_" TENANT "_" 64 hex digits of randomness, shown
 * once.  Only its SHA-256 is stored, under its prefix (the first 8 hex
 * digits), in the tenant's own {t:T}:keys hash: a key names its tenant,
 * so checking it reads one slot and compares in constant time.
 * Deleting a tenant stops it at once (its keys fail, sending stops) and
 * schedules the purge of all its keys after tenant_grace.
 *
 * Creating a tenant, creating and revoking a key and listing tenants
 * are core functions over a struct db, shared with fanfarectl, so a key
 * made by the operator is made and hashed exactly as the API's.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"

#define KEY_RANDOM_HEX	64
#define KEY_PREFIX_LEN	8

static void
sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char	md[32];
	unsigned int	mdlen = 0;
	int		i;

	EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

uint64_t
api_tenant_auth(struct api *a, const char *key, char *prefix, size_t plen)
{
	redisReply	*hash, *status;
	const char	*p, *rnd;
	char		 want[65];
	struct key	 k;
	uint64_t	 tenant;
	int		 ok = 0;

	if (strncmp(key, "ff_", 3) != 0)
		return 0;
	for (p = key + 3; *p >= '0' && *p <= '9'; p++)
		;
	if (*p != '_' || parse_u64(key + 3, (size_t)(p - key - 3),
	    &tenant) == -1 || tenant == 0)
		return 0;
	rnd = p + 1;
	if (strlen(rnd) != KEY_RANDOM_HEX ||
	    strspn(rnd, "0123456789abcdef") != KEY_RANDOM_HEX)
		return 0;
	memcpy(want, rnd, KEY_PREFIX_LEN);
	want[KEY_PREFIX_LEN] = '\0';
	if (db_append(a->db, "HGET %s %s", key_tenant_keys(&k, tenant),
	    want) == -1 ||
	    db_append(a->db, "HGET %s status", key_tenant(&k, tenant)) == -1)
		return 0;
	hash = db_reply(a->db);
	status = db_reply(a->db);
	sha256_hex(key, strlen(key), want);
	if (hash != NULL && hash->type == REDIS_REPLY_STRING &&
	    hash->len == 64 && CRYPTO_memcmp(hash->str, want, 64) == 0 &&
	    status != NULL && status->type == REDIS_REPLY_STRING &&
	    strcmp(status->str, "active") == 0)
		ok = 1;
	if (hash != NULL)
		freeReplyObject(hash);
	if (status != NULL)
		freeReplyObject(status);
	if (!ok)
		return 0;
	snprintf(prefix, plen, "%.*s", KEY_PREFIX_LEN, rnd);
	return tenant;
}

/* Creates a key for the tenant; key holds 3 + 20 + 1 + 64 + 1 bytes. */
static int
key_create(struct db *db, uint64_t tenant, char *key, size_t keylen,
    char *prefix)
{
	redisReply	*r;
	struct key	 k;
	char		 rnd[KEY_RANDOM_HEX + 1], hash[65];
	int		 rc = -1;

	api_random_hex(rnd, KEY_RANDOM_HEX / 2);
	snprintf(key, keylen, "ff_%llu_%s", (unsigned long long)tenant, rnd);
	memcpy(prefix, rnd, KEY_PREFIX_LEN);
	prefix[KEY_PREFIX_LEN] = '\0';
	sha256_hex(key, strlen(key), hash);
	/* HSETNX: a prefix collision (1 in 4e9) must not replace a key. */
	if ((r = db_cmd(db, "HSETNX %s %s %s", key_tenant_keys(&k, tenant),
	    prefix, hash)) != NULL &&
	    r->type == REDIS_REPLY_INTEGER && r->integer == 1)
		rc = 0;
	if (r != NULL)
		freeReplyObject(r);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return rc;
}

/* A new key as the API shows it, once; with the id when one is given. */
static json_t *
key_json(struct db *db, uint64_t tenant, const char *id, struct api_err *err)
{
	json_t	*o;
	char	 key[128], prefix[KEY_PREFIX_LEN + 1];

	if (key_create(db, tenant, key, sizeof(key), prefix) == -1) {
		api_err_unavailable(err);
		return NULL;
	}
	o = id != NULL ? json_pack("{s:s, s:s, s:s}", "id", id, "api_key", key,
	    "key_prefix", prefix) : json_pack("{s:s, s:s}", "api_key", key,
	    "key_prefix", prefix);
	OPENSSL_cleanse(key, sizeof(key));
	return o;
}

json_t *
api_tenant_create(struct db *db, int default_days, json_t *body,
    struct api_err *err)
{
	static const char *const fields[] = { "name", "retention_days", NULL };
	json_t		*name, *ret;
	redisReply	*rep;
	struct key	 k;
	uint64_t	 tenant;
	json_int_t	 days = default_days;
	char		 id[24];
	int		 created = 0;

	if (!json_is_object(body)) {
		api_err_set(err, 400, "invalid_body", "expected a JSON object");
		return NULL;
	}
	if (api_fields_check(body, fields, err) == -1)
		return NULL;
	name = json_object_get(body, "name");
	ret = json_object_get(body, "retention_days");
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) > 200) {
		api_err_set(err, 422, "invalid_name", "name: a string of 1 to "
		    "200 characters is required");
		return NULL;
	}
	if (ret != NULL && (!json_is_integer(ret) ||
	    json_integer_value(ret) < 1 || json_integer_value(ret) > 3650)) {
		api_err_set(err, 422, "invalid_retention_days",
		    "retention_days: an integer from 1 to 3650");
		return NULL;
	}
	if (ret != NULL)
		days = json_integer_value(ret);

	/* A random id (53 bits, exact in any JSON reader): ids of other
	 * tenants cannot be guessed from one's own. */
	do {
		if (RAND_bytes((unsigned char *)&tenant, sizeof(tenant)) != 1)
			fatalx("RAND_bytes");
		tenant &= (1ULL << 53) - 1;
		if (tenant == 0)
			continue;
		rep = db_cmd(db, "HSETNX %s status active",
		    key_tenant(&k, tenant));
		if (rep == NULL) {
			api_err_unavailable(err);
			return NULL;
		}
		created = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
	} while (!created);

	rep = db_cmd(db, "HSET %s name %b retention_days %lld "
	    "created_at %llu", key_tenant(&k, tenant),
	    json_string_value(name), json_string_length(name), (long long)days,
	    (unsigned long long)now_ms());
	if (rep == NULL) {
		api_err_unavailable(err);
		return NULL;
	}
	freeReplyObject(rep);
	if ((rep = db_cmd(db, "SADD %s %llu", key_tenants(),
	    (unsigned long long)tenant)) != NULL)
		freeReplyObject(rep);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)tenant);
	return key_json(db, tenant, id, err);
}

static void
tenant_create(struct api_req *r)
{
	struct api_err	 err;
	json_t		*body, *o;

	if (api_body_json(r, &body) == -1)
		return;
	o = api_tenant_create(r->a->db, r->a->conf->retention_days, body,
	    &err);
	json_decref(body);
	if (o == NULL)
		api_reply_err(r, &err);
	else
		api_json(r, 201, o);
}

int
api_tenant_state(struct db *db, uint64_t tenant)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc = 0;

	if ((rep = db_cmd(db, "HGET %s status", key_tenant(&k, tenant))) ==
	    NULL)
		return -1;
	if (rep->type == REDIS_REPLY_STRING)
		rc = strcmp(rep->str, "active") == 0 ? 2 : 1;
	freeReplyObject(rep);
	return rc;
}

/* 0 when the tenant is active; else -1 with 404 or 503 in err. */
static int
tenant_active(struct db *db, uint64_t tenant, struct api_err *err)
{
	int	rc;

	if ((rc = api_tenant_state(db, tenant)) == 2)
		return 0;
	if (rc == -1)
		api_err_unavailable(err);
	else
		api_err_set(err, 404, "not_found", "no such tenant");
	return -1;
}

json_t *
api_tenant_key_create(struct db *db, uint64_t tenant, struct api_err *err)
{
	if (tenant_active(db, tenant, err) == -1)
		return NULL;
	return key_json(db, tenant, NULL, err);
}

int
api_tenant_key_revoke(struct db *db, uint64_t tenant, const char *prefix,
    struct api_err *err)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	if (tenant_active(db, tenant, err) == -1)
		return -1;
	if ((rep = db_cmd(db, "HDEL %s %s", key_tenant_keys(&k, tenant),
	    prefix)) == NULL) {
		api_err_unavailable(err);
		return -1;
	}
	rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!rc) {
		api_err_set(err, 404, "not_found", "no key with that prefix");
		return -1;
	}
	return 0;
}

static int
tenant_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One tenant of the list; NULL when Redis failed.  A tenant whose hash
 * is gone (purged meanwhile) is an item with a null name. */
static json_t *
tenant_item(struct db *db, uint64_t tenant)
{
	redisReply	*h, *keys;
	json_t		*o, *prefixes;
	struct key	 k;
	char		 id[24], when[32];
	size_t		 i;

	if (db_append(db, "HGETALL %s", key_tenant(&k, tenant)) == -1 ||
	    db_append(db, "HKEYS %s", key_tenant_keys(&k, tenant)) == -1)
		return NULL;
	h = db_reply(db);
	keys = db_reply(db);
	if (h == NULL || keys == NULL || h->type != REDIS_REPLY_ARRAY ||
	    keys->type != REDIS_REPLY_ARRAY) {
		if (h != NULL)
			freeReplyObject(h);
		if (keys != NULL)
			freeReplyObject(keys);
		return NULL;
	}
	snprintf(id, sizeof(id), "%llu", (unsigned long long)tenant);
	o = json_pack("{s:s, s:n, s:n, s:n, s:n}", "id", id, "name", "status",
	    "retention_days", "created_at");
	for (i = 0; i + 1 < h->elements; i += 2) {
		const char *f = h->element[i]->str, *v = h->element[i + 1]->str;

		if (strcmp(f, "name") == 0 || strcmp(f, "status") == 0)
			json_object_set_new(o, f, json_stringn(v,
			    h->element[i + 1]->len));
		else if (strcmp(f, "retention_days") == 0)
			json_object_set_new(o, f, json_integer(strtoll(v, NULL,
			    10)));
		else if (strcmp(f, "created_at") == 0 ||
		    strcmp(f, "purge_at") == 0)
			json_object_set_new(o, f, json_string(api_iso_time(
			    strtoull(v, NULL, 10), when, sizeof(when))));
	}
	prefixes = json_array();
	for (i = 0; i < keys->elements; i++)
		json_array_append_new(prefixes, json_string(
		    keys->element[i]->str));
	json_object_set_new(o, "key_prefixes", prefixes);
	freeReplyObject(h);
	freeReplyObject(keys);
	return o;
}

json_t *
api_tenant_list(struct db *db, struct api_err *err)
{
	redisReply	*rep;
	json_t		*items, *o;
	uint64_t	*ids = NULL;
	size_t		 n = 0, cap = 0, i;

	if ((rep = db_cmd(db, "SMEMBERS %s", key_tenants())) == NULL ||
	    rep->type != REDIS_REPLY_ARRAY) {
		if (rep != NULL)
			freeReplyObject(rep);
		api_err_unavailable(err);
		return NULL;
	}
	for (i = 0; i < rep->elements; i++) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			ids = xreallocarray(ids, cap, sizeof(*ids));
		}
		if (parse_u64(rep->element[i]->str, rep->element[i]->len,
		    &ids[n]) == 0)
			n++;
	}
	freeReplyObject(rep);
	qsort(ids, n, sizeof(*ids), tenant_cmp);
	items = json_array();
	for (i = 0; i < n; i++) {
		if ((o = tenant_item(db, ids[i])) == NULL) {
			free(ids);
			json_decref(items);
			api_err_unavailable(err);
			return NULL;
		}
		json_array_append_new(items, o);
	}
	free(ids);
	return json_pack("{s:o}", "items", items);
}

static void
tenant_delete(struct api_req *r, uint64_t tenant)
{
	struct api	*a = r->a;
	redisReply	*rep;
	struct key	 k;
	char		 now_arg[8], when[32];
	uint64_t	 purge_at;
	int		 now_flag, rc;

	now_flag = api_query(r, "now", now_arg, sizeof(now_arg)) != NULL &&
	    strcmp(now_arg, "true") == 0;
	/* A tenant already being deleted can still be purged at once. */
	if ((rc = api_tenant_state(a->db, tenant)) == -1) {
		api_unavailable(r);
		return;
	}
	if (rc == 0 || (rc == 1 && !now_flag)) {
		api_error(r, 404, "not_found", "no such tenant");
		return;
	}
	purge_at = now_ms() + (now_flag ? 0 :
	    (uint64_t)a->conf->tenant_grace_s * 1000);
	/* Stop sending first: its campaigns are cancelled and leave
	 * ff:sending.  Done before the status changes, so a failure here
	 * leaves the tenant as it was and the DELETE can be sent again. */
	if (api_launch_stop_tenant(a, tenant) == -1) {
		api_unavailable(r);
		return;
	}
	/* Then keys fail, and launches and senders see the status. */
	rep = db_cmd(a->db, "HSET %s status deleting purge_at %llu",
	    key_tenant(&k, tenant), (unsigned long long)purge_at);
	if (rep == NULL) {
		api_unavailable(r);
		return;
	}
	freeReplyObject(rep);
	/* Again, for a launch another node made in between (its snapshot
	 * and the senders stop on the status anyway; this cancels it). */
	if (api_launch_stop_tenant(a, tenant) == -1)
		log_warnx("tenant %llu: deleting, but redis failed while "
		    "cancelling its campaigns", (unsigned long long)tenant);
	if ((rep = db_cmd(a->db, "ZADD %s %llu %llu", key_purge(),
	    (unsigned long long)purge_at, (unsigned long long)tenant)) != NULL)
		freeReplyObject(rep);
	if (now_flag && janitor_purge_tenant(a->db, tenant) == -1) {
		api_unavailable(r);
		return;
	}
	api_json(r, 202, json_pack("{s:s}", "purge_at",
	    api_iso_time(purge_at, when, sizeof(when))));
}

void
api_tenants(struct api_req *r)
{
	struct api_err	 err;
	json_t		*o;
	uint64_t	 tenant;

	if (r->nseg == 2 && r->method == HTTP_POST) {
		tenant_create(r);
		return;
	}
	if (r->nseg < 3 || parse_u64(r->seg[2], strlen(r->seg[2]),
	    &tenant) == -1) {
		api_error(r, 404, "not_found", "no such tenant");
		return;
	}
	if (r->nseg == 3 && r->method == HTTP_DELETE) {
		tenant_delete(r, tenant);
		return;
	}
	if (r->nseg < 4 || strcmp(r->seg[3], "keys") != 0 || r->nseg > 5) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (r->nseg == 4 && r->method == HTTP_POST) {
		if ((o = api_tenant_key_create(r->a->db, tenant, &err)) == NULL)
			api_reply_err(r, &err);
		else
			api_json(r, 201, o);
		return;
	}
	if (r->nseg == 5 && r->method == HTTP_DELETE) {
		if (api_tenant_key_revoke(r->a->db, tenant, r->seg[4], &err) ==
		    -1)
			api_reply_err(r, &err);
		else
			api_nocontent(r);
		return;
	}
	/* An unknown tenant is a 404 whatever the method. */
	if (tenant_active(r->a->db, tenant, &err) == -1)
		api_reply_err(r, &err);
	else
		api_error(r, 405, "method_not_allowed", "method not allowed "
		    "here");
}
