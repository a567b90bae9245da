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
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

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
	if (db_append(a->db, "HGET {t:%llu}:keys %s",
	    (unsigned long long)tenant, want) == -1 ||
	    db_append(a->db, "HGET {t:%llu}:tenant status",
	    (unsigned long long)tenant) == -1)
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
key_create(struct api *a, uint64_t tenant, char *key, size_t keylen,
    char *prefix)
{
	redisReply	*r;
	char		 rnd[KEY_RANDOM_HEX + 1], hash[65];
	int		 rc = -1;

	api_random_hex(rnd, KEY_RANDOM_HEX / 2);
	snprintf(key, keylen, "ff_%llu_%s", (unsigned long long)tenant, rnd);
	memcpy(prefix, rnd, KEY_PREFIX_LEN);
	prefix[KEY_PREFIX_LEN] = '\0';
	sha256_hex(key, strlen(key), hash);
	/* HSETNX: a prefix collision (1 in 4e9) must not replace a key. */
	if ((r = db_cmd(a->db, "HSETNX {t:%llu}:keys %s %s",
	    (unsigned long long)tenant, prefix, hash)) != NULL &&
	    r->type == REDIS_REPLY_INTEGER && r->integer == 1)
		rc = 0;
	if (r != NULL)
		freeReplyObject(r);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return rc;
}

static void
tenant_create(struct api_req *r)
{
	static const char *const fields[] = { "name", "retention_days", NULL };
	struct api	*a = r->a;
	json_t		*body, *name, *ret;
	redisReply	*rep;
	uint64_t	 tenant;
	json_int_t	 days = a->conf->retention_days;
	char		 key[128], prefix[KEY_PREFIX_LEN + 1], id[24];
	int		 created = 0;

	if (api_body_json(r, &body) == -1)
		return;
	if (!json_is_object(body)) {
		json_decref(body);
		api_error(r, 400, "invalid_body", "expected a JSON object");
		return;
	}
	if (api_check_fields(r, body, fields) == -1) {
		json_decref(body);
		return;
	}
	name = json_object_get(body, "name");
	ret = json_object_get(body, "retention_days");
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) > 200) {
		json_decref(body);
		api_error(r, 422, "invalid_name", "name: a string of 1 to 200 "
		    "characters is required");
		return;
	}
	if (ret != NULL && (!json_is_integer(ret) ||
	    json_integer_value(ret) < 1 || json_integer_value(ret) > 3650)) {
		json_decref(body);
		api_error(r, 422, "invalid_retention_days", "retention_days: "
		    "an integer from 1 to 3650");
		return;
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
		rep = db_cmd(a->db, "HSETNX {t:%llu}:tenant status active",
		    (unsigned long long)tenant);
		if (rep == NULL) {
			json_decref(body);
			api_unavailable(r);
			return;
		}
		created = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
	} while (!created);

	rep = db_cmd(a->db, "HSET {t:%llu}:tenant name %b retention_days %lld "
	    "created_at %llu", (unsigned long long)tenant,
	    json_string_value(name), json_string_length(name), (long long)days,
	    (unsigned long long)now_ms());
	json_decref(body);
	if (rep == NULL) {
		api_unavailable(r);
		return;
	}
	freeReplyObject(rep);
	if ((rep = db_cmd(a->db, "SADD ff:tenants %llu",
	    (unsigned long long)tenant)) != NULL)
		freeReplyObject(rep);
	if (key_create(a, tenant, key, sizeof(key), prefix) == -1) {
		api_unavailable(r);
		return;
	}
	snprintf(id, sizeof(id), "%llu", (unsigned long long)tenant);
	api_json(r, 201, json_pack("{s:s, s:s, s:s}", "id", id, "api_key", key,
	    "key_prefix", prefix));
	OPENSSL_cleanse(key, sizeof(key));
}

/* 2 active, 1 being deleted, 0 no such tenant, -1 Redis is down. */
static int
tenant_state(struct api *a, uint64_t tenant)
{
	redisReply	*rep;
	int		 rc = 0;

	if ((rep = db_cmd(a->db, "HGET {t:%llu}:tenant status",
	    (unsigned long long)tenant)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_STRING)
		rc = strcmp(rep->str, "active") == 0 ? 2 : 1;
	freeReplyObject(rep);
	return rc;
}

static void
tenant_delete(struct api_req *r, uint64_t tenant)
{
	struct api	*a = r->a;
	redisReply	*rep;
	char		 now_arg[8], when[32];
	uint64_t	 purge_at;
	int		 now_flag, rc;

	now_flag = api_query(r, "now", now_arg, sizeof(now_arg)) != NULL &&
	    strcmp(now_arg, "true") == 0;
	/* A tenant already being deleted can still be purged at once. */
	if ((rc = tenant_state(a, tenant)) == -1) {
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
	rep = db_cmd(a->db, "HSET {t:%llu}:tenant status deleting purge_at "
	    "%llu", (unsigned long long)tenant, (unsigned long long)purge_at);
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
	if ((rep = db_cmd(a->db, "ZADD ff:purge %llu %llu",
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
	struct api	*a = r->a;
	redisReply	*rep;
	uint64_t	 tenant;
	char		 key[128], prefix[KEY_PREFIX_LEN + 1];
	int		 rc;

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
	if ((rc = tenant_state(a, tenant)) != 2) {
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 404, "not_found", "no such tenant");
		return;
	}
	if (r->nseg == 4 && r->method == HTTP_POST) {
		if (key_create(a, tenant, key, sizeof(key), prefix) == -1) {
			api_unavailable(r);
			return;
		}
		api_json(r, 201, json_pack("{s:s, s:s}", "api_key", key,
		    "key_prefix", prefix));
		OPENSSL_cleanse(key, sizeof(key));
		return;
	}
	if (r->nseg == 5 && r->method == HTTP_DELETE) {
		if ((rep = db_cmd(a->db, "HDEL {t:%llu}:keys %s",
		    (unsigned long long)tenant, r->seg[4])) == NULL) {
			api_unavailable(r);
			return;
		}
		rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
		if (rc)
			api_nocontent(r);
		else
			api_error(r, 404, "not_found", "no key with that prefix");
		return;
	}
	api_error(r, 405, "method_not_allowed", "method not allowed here");
}
