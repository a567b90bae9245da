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
 * made by the operator is made and hashed exactly as the API's.  What
 * is in Redis is store_tenant.c's: this file makes keys and answers.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store_tenant.h"

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

/* The tenant and the random part of a key of a tenant key's form; -1
 * when it has not that form. */
static int
key_parse(const char *key, uint64_t *tenant, const char **rnd)
{
	const char	*p;

	if (strncmp(key, "ff_", 3) != 0)
		return -1;
	for (p = key + 3; *p >= '0' && *p <= '9'; p++)
		;
	if (*p != '_' || parse_u64(key + 3, (size_t)(p - key - 3),
	    tenant) == -1 || *tenant == 0)
		return -1;
	*rnd = p + 1;
	if (strlen(*rnd) != KEY_RANDOM_HEX ||
	    strspn(*rnd, "0123456789abcdef") != KEY_RANDOM_HEX)
		return -1;
	return 0;
}

int
api_tenant_key_form(const char *key)
{
	const char	*rnd;
	uint64_t	 tenant;

	return key_parse(key, &tenant, &rnd);
}

int
api_tenant_auth(struct db *db, const char *key, uint64_t *tenant_out,
    char *prefix, size_t plen)
{
	const char	*rnd;
	char		 prefix_want[KEY_PREFIX_LEN + 1], stored[65], want[65];
	uint64_t	 tenant;
	int		 rc;

	if (key == NULL || key_parse(key, &tenant, &rnd) == -1)
		return 0;
	memcpy(prefix_want, rnd, KEY_PREFIX_LEN);
	prefix_want[KEY_PREFIX_LEN] = '\0';
	/* -1 (Redis cannot tell) is not the same as a wrong key. */
	if ((rc = store_tenant_key_lookup(db, tenant, prefix_want,
	    stored)) != 1)
		return rc;
	sha256_hex(key, strlen(key), want);
	if (CRYPTO_memcmp(stored, want, 64) != 0)
		return 0;
	*tenant_out = tenant;
	snprintf(prefix, plen, "%.*s", KEY_PREFIX_LEN, rnd);
	return 1;
}

/* Creates a key for the tenant; key holds 3 + 20 + 1 + 64 + 1 bytes. */
static int
key_create(struct db *db, uint64_t tenant, char *key, size_t keylen,
    char *prefix)
{
	char		 rnd[KEY_RANDOM_HEX + 1], hash[65];
	int		 rc = -1;

	api_random_hex(rnd, KEY_RANDOM_HEX / 2);
	snprintf(key, keylen, "ff_%llu_%s", (unsigned long long)tenant, rnd);
	memcpy(prefix, rnd, KEY_PREFIX_LEN);
	prefix[KEY_PREFIX_LEN] = '\0';
	sha256_hex(key, strlen(key), hash);
	/* A prefix collision (1 in 4e9) must not replace a key. */
	if (store_tenant_key_add(db, tenant, prefix, hash) == 1)
		rc = 0;
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
	uint64_t	 tenant;
	json_int_t	 days = default_days;
	char		 id[24];

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

	if (store_tenant_create(db, json_string_value(name),
	    json_string_length(name), (long long)days, now_ms(), &tenant) ==
	    -1) {
		api_err_unavailable(err);
		return NULL;
	}
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
	o = api_tenant_create(r->db, r->a->conf->retention_days, body,
	    &err);
	json_decref(body);
	if (o == NULL)
		api_reply_err(r, &err);
	else
		api_json(r, 201, o);
}

/* 0 when the tenant is active; else -1 with 404 or 503 in err. */
static int
tenant_active(struct db *db, uint64_t tenant, struct api_err *err)
{
	int	rc;

	if ((rc = store_tenant_state(db, tenant)) == TENANT_ACTIVE)
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
	int	rc;

	if (tenant_active(db, tenant, err) == -1)
		return -1;
	if ((rc = store_tenant_key_remove(db, tenant, prefix)) == -1) {
		api_err_unavailable(err);
		return -1;
	}
	if (rc == 0) {
		api_err_set(err, 404, "not_found", "no key with that prefix");
		return -1;
	}
	return 0;
}

/* One tenant of the list.  A tenant whose hash is gone (purged
 * meanwhile) is an item with a null name. */
static json_t *
tenant_json(const struct tenant *t)
{
	json_t		*o, *prefixes;
	char		 id[24];
	size_t		 i;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)t->id);
	o = json_pack("{s:s, s:n, s:n, s:n, s:n}", "id", id, "name", "status",
	    "retention_days", "created_at");
	if (t->name != NULL)
		json_object_set_new(o, "name", json_stringn(t->name,
		    t->name_len));
	if (t->status != NULL)
		json_object_set_new(o, "status", json_string(t->status));
	if (t->retention_days != -1)
		json_object_set_new(o, "retention_days",
		    json_integer(t->retention_days));
	api_set_time(o, "created_at", t->created_at);
	api_set_time(o, "purge_at", t->purge_at);
	prefixes = json_array();
	for (i = 0; i < t->nkey_prefixes; i++)
		json_array_append_new(prefixes, json_string(
		    t->key_prefixes[i]));
	json_object_set_new(o, "key_prefixes", prefixes);
	return o;
}

json_t *
api_tenant_list(struct db *db, struct api_err *err)
{
	struct tenant	 t;
	json_t		*items;
	uint64_t	*ids;
	size_t		 n, i;

	if (store_tenant_ids(db, &ids, &n) == -1) {
		api_err_unavailable(err);
		return NULL;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		if (store_tenant_get(db, ids[i], &t) == -1) {
			free(ids);
			json_decref(items);
			api_err_unavailable(err);
			return NULL;
		}
		json_array_append_new(items, tenant_json(&t));
		store_tenant_free(&t);
	}
	free(ids);
	return json_pack("{s:o}", "items", items);
}

static void
tenant_delete(struct api_req *r, uint64_t tenant)
{
	struct api	*a = r->a;
	char		 now_arg[8], when[32];
	uint64_t	 purge_at;
	int		 now_flag, rc;

	now_flag = api_query(r, "now", now_arg, sizeof(now_arg)) != NULL &&
	    strcmp(now_arg, "true") == 0;
	/* A tenant already being deleted can still be purged at once. */
	if ((rc = store_tenant_state(r->db, tenant)) == -1) {
		api_unavailable(r);
		return;
	}
	if (rc == TENANT_NONE || (rc == TENANT_DELETING && !now_flag)) {
		api_error(r, 404, "not_found", "no such tenant");
		return;
	}
	purge_at = now_ms() + (now_flag ? 0 :
	    (uint64_t)a->conf->tenant_grace_s * 1000);
	/* Stop sending first: its campaigns are cancelled and leave
	 * ff:sending.  Done before the status changes, so a failure here
	 * leaves the tenant as it was and the DELETE can be sent again. */
	if (api_launch_stop_tenant(r, tenant) == -1) {
		api_unavailable(r);
		return;
	}
	/* Then keys fail, and launches and senders see the status. */
	if (store_tenant_mark_deleting(r->db, tenant, purge_at) == -1) {
		api_unavailable(r);
		return;
	}
	/* Again, for a launch another node made in between (its snapshot
	 * and the senders stop on the status anyway; this cancels it). */
	if (api_launch_stop_tenant(r, tenant) == -1)
		log_warnx("tenant %llu: deleting, but redis failed while "
		    "cancelling its campaigns", (unsigned long long)tenant);
	/* Not scheduled, a deleting tenant keeps its data until it is
	 * deleted again with ?now=true: its keys fail all the same. */
	if (store_tenant_schedule_purge(r->db, tenant, purge_at) == -1)
		log_warnx("tenant %llu: deleting, but redis failed while "
		    "scheduling its purge", (unsigned long long)tenant);
	if (now_flag && store_tenant_purge(r->db, tenant) == -1) {
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
		if ((o = api_tenant_key_create(r->db, tenant, &err)) == NULL)
			api_reply_err(r, &err);
		else
			api_json(r, 201, o);
		return;
	}
	if (r->nseg == 5 && r->method == HTTP_DELETE) {
		if (api_tenant_key_revoke(r->db, tenant, r->seg[4], &err) ==
		    -1)
			api_reply_err(r, &err);
		else
			api_nocontent(r);
		return;
	}
	/* An unknown tenant is a 404 whatever the method. */
	if (tenant_active(r->db, tenant, &err) == -1)
		api_reply_err(r, &err);
	else
		api_error(r, 405, "method_not_allowed", "method not allowed "
		    "here");
}
