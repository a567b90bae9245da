/*
 * api_contact.c: contacts and lists.
 *
 * A POST of contacts (one object or an array of up to API_MAX_BATCH) is
 * validated row by row first; a row that fails is reported in
 * `rejected` and not written at all, never half.  Then the rows are
 * upserted by email match key with three pipelined round trips, however
 * many rows: look up the ids, reserve ids for the new ones, write.
 * Attributes named on the special-category list are dropped and
 * reported; values holding a special-category term store the contact
 * quarantined.  Every key is the tenant's ({t:T}...), so a request can
 * never see, change or count another tenant's data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"

#define CONTACT_TEXT_MAX	200
#define ATTR_NAME_MAX	64

/* Appends "field value" pairs of the row's given fields to argv. */
static int
row_fields(struct contact_row *row, const char **argv, size_t *lens, int argc)
{
	static const char *const text[] = { "first_name", "last_name",
	    "gender", "date_of_birth", NULL };
	json_t	*v;
	size_t	 i;

	for (i = 0; text[i] != NULL; i++) {
		if ((v = json_object_get(row->obj, text[i])) == NULL)
			continue;
		argv[argc] = text[i];
		lens[argc++] = strlen(text[i]);
		argv[argc] = json_is_string(v) ? json_string_value(v) : "";
		lens[argc++] = json_is_string(v) ? json_string_length(v) : 0;
	}
	if (row->attrs != NULL) {
		argv[argc] = "attributes";
		lens[argc++] = 10;
		argv[argc] = row->attrs;
		lens[argc++] = strlen(row->attrs);
		argv[argc] = "quarantined";
		lens[argc++] = 11;
		argv[argc] = row->quarantined ? "1" : "0";
		lens[argc++] = 1;
	}
	return argc;
}

int
api_contacts_apply(struct api *a, uint64_t tenant, json_t *items,
    size_t base, json_t *rejected, long long *created, long long *updated,
    const char **bad_field, size_t *bad_index)
{
	struct contact_row	*rows;
	redisReply	*rep;
	json_t		*seen;
	const char	*argv[40];
	size_t		 lens[40], n = json_array_size(items), i, nrows = 0;
	size_t		 nnew = 0;
	char		 now[24];
	struct key	 bykey, supkey, ct, seq;
	char		 hashes[FF_MAX_SECRETS][65];
	uint64_t	 first;
	int		 argc, rc, k, ret = -1;

	rows = xcalloc(n ? n : 1, sizeof(*rows));
	seen = json_object();
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(items, i);

		if (!json_is_object(o)) {
			contact_reject(rejected, base + i, NULL,
			    "invalid_contact", NULL);
			continue;
		}
		rc = contact_check(a->special, o, base + i, 1, rejected,
		    &rows[nrows], bad_field);
		if (rc == -1) {
			*bad_index = base + i;
			ret = -2;
			goto out;
		}
		if (rc == 0) {
			/* The same address twice: the later row updates. */
			json_t *prev = json_object_get(seen, rows[nrows].key);

			if (prev != NULL)
				rows[nrows].same =
				    &rows[json_integer_value(prev)];
			else
				json_object_set_new(seen, rows[nrows].key,
				    json_integer((json_int_t)nrows));
			nrows++;
		}
	}

	/* Round trip 1: the ids of the addresses we know, and whether an
	 * address was erased before (its keyed hash, under any key of the
	 * ring, is suppressed): then it is stored but never mailed. */
	key_contact_bykey(&bykey, tenant);
	key_suppressed(&supkey, tenant);
	for (i = 0; i < nrows; i++) {
		if (rows[i].same != NULL)
			continue;
		if (db_append(a->db, "HGET %s %s", bykey.s, rows[i].key) == -1)
			goto down;
		argc = 0;
		argv[argc] = "SMISMEMBER"; lens[argc++] = 10;
		argv[argc] = supkey.s; lens[argc++] = supkey.len;
		for (k = 0; k < a->live->keys.nkeys && k < FF_MAX_SECRETS; k++) {
			token_keyed_hash(&a->live->keys, k, rows[i].key,
			    strlen(rows[i].key), hashes[k]);
			argv[argc] = hashes[k];
			lens[argc++] = 64;
		}
		if (db_appendargv(a->db, argc, argv, lens) == -1)
			goto down;
	}
	for (i = 0; i < nrows; i++) {
		if (rows[i].same != NULL)
			continue;
		if ((rep = db_reply(a->db)) == NULL)
			goto down;
		if (rep->type == REDIS_REPLY_STRING)
			parse_u64(rep->str, rep->len, &rows[i].id);
		else {
			rows[i].is_new = 1;
			nnew++;
		}
		freeReplyObject(rep);
		if ((rep = db_reply(a->db)) == NULL)
			goto down;
		for (k = 0; rep->type == REDIS_REPLY_ARRAY &&
		    k < (int)rep->elements; k++)
			if (rep->element[k]->type == REDIS_REPLY_INTEGER &&
			    rep->element[k]->integer == 1)
				rows[i].erased_before = 1;
		freeReplyObject(rep);
	}
	/* Round trip 2: a block of ids for the new ones. */
	if (nnew > 0) {
		if ((rep = db_cmd(a->db, "HINCRBY %s contact %llu",
		    key_seq(&seq, tenant), (unsigned long long)nnew)) == NULL ||
		    rep->type != REDIS_REPLY_INTEGER) {
			if (rep != NULL)
				freeReplyObject(rep);
			goto down;
		}
		first = (uint64_t)rep->integer - nnew + 1;
		freeReplyObject(rep);
		for (i = 0; i < nrows; i++)
			if (rows[i].is_new)
				rows[i].id = first++;
	}
	/* Round trip 3: the writes. */
	snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms());
	for (i = 0; i < nrows; i++) {
		struct contact_row *row = &rows[i];
		uint64_t id = row->same ? row->same->id : row->id;

		key_contact(&ct, tenant, id);
		argc = 0;
		argv[argc] = "HSET"; lens[argc++] = 4;
		argv[argc] = ct.s; lens[argc++] = ct.len;
		argv[argc] = "email"; lens[argc++] = 5;
		argv[argc] = row->addr; lens[argc++] = strlen(row->addr);
		argv[argc] = "key"; lens[argc++] = 3;
		argv[argc] = row->key; lens[argc++] = strlen(row->key);
		argv[argc] = "updated_at"; lens[argc++] = 10;
		argv[argc] = now; lens[argc++] = strlen(now);
		if (row->is_new) {
			argv[argc] = "created_at"; lens[argc++] = 10;
			argv[argc] = now; lens[argc++] = strlen(now);
		}
		argc = row_fields(row, argv, lens, argc);
		if ((row->same ? row->same : row)->erased_before) {
			argv[argc] = "suppressed"; lens[argc++] = 10;
			argv[argc] = "1"; lens[argc++] = 1;
		}
		if (db_appendargv(a->db, argc, argv, lens) == -1)
			goto down;
		if (row->is_new) {
			if (db_append(a->db, "HSET %s %s %llu", bykey.s,
			    row->key, (unsigned long long)id) == -1)
				goto down;
			(*created)++;
		} else
			(*updated)++;
	}
	for (i = 0; i < nrows; i++) {
		for (k = rows[i].is_new ? 2 : 1; k > 0; k--) {
			if ((rep = db_reply(a->db)) == NULL)
				goto down;
			rc = rep->type == REDIS_REPLY_ERROR;
			freeReplyObject(rep);
			if (rc)
				goto down;
		}
	}
	ret = 0;
	goto out;
down:
	db_discard(a->db);
out:
	json_decref(seen);
	for (i = 0; i < nrows; i++)
		free(rows[i].attrs);
	free(rows);
	return ret;
}

static void
contacts_upsert(struct api_req *r)
{
	json_t		*body, *items, *rejected;
	const char	*bad_field = NULL;
	size_t		 n, bad_index = 0;
	long long	 created = 0, updated = 0;

	if (api_body_json(r, &body) == -1)
		return;
	if (json_is_object(body)) {
		items = json_array();
		json_array_append(items, body);
	} else if (json_is_array(body)) {
		items = json_incref(body);
	} else {
		api_error(r, 400, "invalid_body", "expected a contact object "
		    "or an array of them");
		json_decref(body);
		return;
	}
	json_decref(body);
	if ((n = json_array_size(items)) > API_MAX_BATCH) {
		api_error(r, 413, "too_many_items", "%zu contacts; at most %d "
		    "per request (use /v1/contacts/import for more)", n,
		    API_MAX_BATCH);
		json_decref(items);
		return;
	}
	rejected = json_array();
	switch (api_contacts_apply(r->a, r->tenant, items, 0, rejected,
	    &created, &updated, &bad_field, &bad_index)) {
	case 0:
		api_json(r, 200, json_pack("{s:I, s:I, s:O}", "created",
		    (json_int_t)created, "updated", (json_int_t)updated,
		    "rejected", rejected));
		break;
	case -2:
		api_error(r, 400, "unknown_field", "contact %zu: unknown "
		    "field '%.100s'", bad_index, bad_field);
		break;
	default:
		api_unavailable(r);
	}
	json_decref(rejected);
	json_decref(items);
}

/* Resolves "ID" or an address to a contact id: 1 found, 0 not, -1 down. */
static int
contact_find(struct api_req *r, const char *ref, uint64_t *id)
{
	redisReply	*rep;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	struct key	 k;
	int		 rc = 0;

	if (parse_u64(ref, strlen(ref), id) == 0) {
		rep = db_cmd(r->a->db, "EXISTS %s",
		    key_contact(&k, r->tenant, *id));
		if (rep == NULL)
			return -1;
		rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
		return rc;
	}
	if (validate_email(ref, strlen(ref), addr, key) == -1)
		return 0;
	if ((rep = db_cmd(r->a->db, "HGET %s %s",
	    key_contact_bykey(&k, r->tenant), key)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_STRING &&
	    parse_u64(rep->str, rep->len, id) == 0)
		rc = 1;
	freeReplyObject(rep);
	return rc;
}

/* The contact as JSON (API.md's shape), or NULL when it is gone. */
json_t *
api_contact_json(const struct api_ctx *ctx, uint64_t id, int *down)
{
	static const char *const text[] = { "first_name", "last_name",
	    "gender", "date_of_birth" };
	redisReply	*h, *opt, *optid;
	json_t		*o = NULL, *attrs;
	const char	*key = NULL, *status = "active";
	char		 ts[32], idbuf[24];
	struct key	 kb;
	size_t		 i, k;

	*down = 0;
	if (db_append(ctx->db, "HGETALL %s",
	    key_contact(&kb, ctx->tenant, id)) == -1 ||
	    (h = db_reply(ctx->db)) == NULL) {
		*down = 1;
		return NULL;
	}
	if (h->type != REDIS_REPLY_ARRAY || h->elements == 0) {
		freeReplyObject(h);
		return NULL;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	o = json_pack("{s:s, s:n, s:n, s:n, s:n, s:{}, s:n, s:n}", "id", idbuf,
	    "first_name", "last_name", "gender", "date_of_birth", "attributes",
	    "created_at", "updated_at");
	for (i = 0; i + 1 < h->elements; i += 2) {
		const char *f = h->element[i]->str;
		const char *v = h->element[i + 1]->str;

		if (strcmp(f, "email") == 0)
			json_object_set_new(o, "email", json_string(v));
		else if (strcmp(f, "key") == 0)
			key = v;
		else if (strcmp(f, "attributes") == 0 &&
		    (attrs = json_loads(v, 0, NULL)) != NULL)
			json_object_set_new(o, "attributes", attrs);
		else if (strcmp(f, "created_at") == 0 ||
		    strcmp(f, "updated_at") == 0)
			json_object_set_new(o, f, json_string(api_iso_time(
			    strtoull(v, NULL, 10), ts, sizeof(ts))));
		else if (strcmp(f, "quarantined") == 0 && strcmp(v, "1") == 0)
			status = "quarantined";
		else
			for (k = 0; k < FF_NELEM(text); k++)
				if (strcmp(f, text[k]) == 0 && *v != '\0')
					json_object_set_new(o, f,
					    json_string(v));
	}
	if (db_append(ctx->db, "ZSCORE %s %s",
	    key_optouts(&kb, ctx->tenant), key ? key : "") == 0 &&
	    db_append(ctx->db, "ZSCORE %s %llu",
	    key_optout_ids(&kb, ctx->tenant), (unsigned long long)id) == 0) {
		opt = db_reply(ctx->db);
		optid = db_reply(ctx->db);
		if ((opt && opt->type == REDIS_REPLY_STRING) ||
		    (optid && optid->type == REDIS_REPLY_STRING))
			status = "opted_out";
		if (opt)
			freeReplyObject(opt);
		if (optid)
			freeReplyObject(optid);
	}
	/* An address erased before stays suppressed when re-imported. */
	if (strcmp(status, "opted_out") != 0 && key != NULL &&
	    api_suppressed(ctx, key) == 1)
		status = "opted_out";
	json_object_set_new(o, "status", json_string(status));
	freeReplyObject(h);
	return o;
}

static void
contact_get(struct api_req *r, uint64_t id)
{
	struct api_ctx	 ctx;
	json_t		*o;
	int		 down;

	api_req_ctx(r, &ctx);
	if ((o = api_contact_json(&ctx, id, &down)) == NULL) {
		if (down)
			api_unavailable(r);
		else
			api_error(r, 404, "not_found", "no such contact");
		return;
	}
	api_json(r, 200, o);
}

/* PATCH: given fields change, attributes merge (null removes one). */
static void
contact_patch(struct api_req *r, uint64_t id)
{
	struct api	*a = r->a;
	struct api_ctx	 ctx;
	json_t		*body, *cur, *attrs, *merged, *rejected = json_array(), *v;
	struct contact_row	 row;
	redisReply	*rep;
	const char	*bad_field = NULL, *argv[40], *k, *code = NULL;
	size_t		 lens[40];
	char		 now[24], oldkey[FF_EMAIL_MAX + 1] = "";
	struct key	 kb;
	int		 argc, down, rc;

	api_req_ctx(r, &ctx);
	if (api_body_json(r, &body) == -1)
		goto out;
	if (!json_is_object(body)) {
		api_error(r, 400, "invalid_body", "expected a JSON object");
		goto out_body;
	}
	if ((cur = api_contact_json(&ctx, id, &down)) == NULL) {
		if (down)
			api_unavailable(r);
		else
			api_error(r, 404, "not_found", "no such contact");
		goto out_body;
	}
	/* Merge attributes into the current ones, then validate all. */
	if ((attrs = json_object_get(body, "attributes")) != NULL &&
	    json_is_object(attrs)) {
		merged = json_deep_copy(json_object_get(cur, "attributes"));
		json_object_foreach(attrs, k, v) {
			if (json_is_null(v))
				json_object_del(merged, k);
			else
				json_object_set(merged, k, v);
		}
		json_object_set_new(body, "attributes", merged);
	} else if (attrs == NULL) {
		/* Quarantine is decided again from the stored attributes. */
		json_object_set(body, "attributes",
		    json_object_get(cur, "attributes"));
	}
	snprintf(oldkey, sizeof(oldkey), "%s", json_string_value(
	    json_object_get(cur, "email")) ? json_string_value(
	    json_object_get(cur, "email")) : "");
	rc = contact_check(a->special, body, 0, 0, rejected, &row, &bad_field);
	if (rc == -1) {
		api_error(r, 400, "unknown_field", "unknown field '%.100s'",
		    bad_field);
		goto out_cur;
	}
	if (rc == 1) {
		json_t *e = json_array_get(rejected, 0);

		code = json_string_value(json_object_get(e, "error"));
		if (strcmp(code, "special_category_attribute") != 0) {
			api_error(r, 422, code, "the contact was not changed");
			free(row.attrs);
			goto out_cur;
		}
	}
	if (json_object_get(body, "email") != NULL) {
		/* A new address must not belong to another contact. */
		char oaddr[FF_EMAIL_MAX + 1], okey[FF_EMAIL_MAX + 1];

		validate_email(oldkey, strlen(oldkey), oaddr, okey);
		if (strcmp(okey, row.key) != 0) {
			rep = db_cmd(a->db, "HSETNX %s %s %llu",
			    key_contact_bykey(&kb, r->tenant), row.key,
			    (unsigned long long)id);
			if (rep == NULL)
				goto down;
			rc = rep->type == REDIS_REPLY_INTEGER &&
			    rep->integer == 1;
			freeReplyObject(rep);
			if (!rc) {
				api_error(r, 409, "email_taken", "another "
				    "contact has that address");
				free(row.attrs);
				goto out_cur;
			}
			if ((rep = db_cmd(a->db, "HDEL %s %s",
			    key_contact_bykey(&kb, r->tenant), okey)) != NULL)
				freeReplyObject(rep);
		}
	}
	key_contact(&kb, r->tenant, id);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms());
	argc = 0;
	argv[argc] = "HSET"; lens[argc++] = 4;
	argv[argc] = kb.s; lens[argc++] = kb.len;
	argv[argc] = "updated_at"; lens[argc++] = 10;
	argv[argc] = now; lens[argc++] = strlen(now);
	if (json_object_get(body, "email") != NULL) {
		argv[argc] = "email"; lens[argc++] = 5;
		argv[argc] = row.addr; lens[argc++] = strlen(row.addr);
		argv[argc] = "key"; lens[argc++] = 3;
		argv[argc] = row.key; lens[argc++] = strlen(row.key);
	}
	argc = row_fields(&row, argv, lens, argc);
	rep = db_cmdargv(a->db, argc, argv, lens);
	free(row.attrs);
	if (rep == NULL)
		goto down;
	freeReplyObject(rep);
	json_decref(cur);
	if ((cur = api_contact_json(&ctx, id, &down)) == NULL) {
		api_unavailable(r);
		goto out_body;
	}
	json_object_set(cur, "rejected", rejected);
	if (json_array_size(rejected) == 0)
		json_object_del(cur, "rejected");
	api_json(r, 200, cur);
	goto out_body;
down:
	api_unavailable(r);
out_cur:
	json_decref(cur);
out_body:
	json_decref(body);
out:
	json_decref(rejected);
}

/* Removes the contact, its address index entry and list memberships. */
int
api_contact_remove(struct db *db, uint64_t tenant, uint64_t id)
{
	redisReply	*lists, *key, *rep;
	struct key	 k, k2;
	uint64_t	 list;
	size_t		 i;

	if ((lists = db_cmd(db, "SMEMBERS %s",
	    key_contact_lists(&k, tenant, id))) == NULL)
		return -1;
	for (i = 0; lists->type == REDIS_REPLY_ARRAY && i < lists->elements;
	    i++)
		if (parse_u64(lists->element[i]->str, lists->element[i]->len,
		    &list) == 0 &&
		    (rep = db_cmd(db, "SREM %s %llu",
		    key_list_members(&k, tenant, list),
		    (unsigned long long)id)) != NULL)
			freeReplyObject(rep);
	freeReplyObject(lists);
	if ((key = db_cmd(db, "HGET %s key", key_contact(&k, tenant, id))) ==
	    NULL)
		return -1;
	if (key->type == REDIS_REPLY_STRING &&
	    (rep = db_cmd(db, "HDEL %s %s", key_contact_bykey(&k, tenant),
	    key->str)) != NULL)
		freeReplyObject(rep);
	freeReplyObject(key);
	if ((rep = db_cmd(db, "DEL %s %s", key_contact(&k, tenant, id),
	    key_contact_lists(&k2, tenant, id))) == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

void
api_contacts(struct api_req *r)
{
	uint64_t	id;
	int		rc;

	if (r->nseg == 2 && r->method == HTTP_POST) {
		contacts_upsert(r);
		return;
	}
	if (r->nseg != 3) {
		api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (strcmp(r->seg[2], "import") == 0) {
		api_error(r, 405, "method_not_allowed", "POST a CSV file");
		return;
	}
	if ((rc = contact_find(r, r->seg[2], &id)) != 1) {
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 404, "not_found", "no such contact");
		return;
	}
	switch (r->method) {
	case HTTP_GET:
		contact_get(r, id);
		break;
	case HTTP_PATCH:
		contact_patch(r, id);
		break;
	case HTTP_DELETE:
		if (api_contact_remove(r->a->db, r->tenant, id) == -1)
			api_unavailable(r);
		else
			api_nocontent(r);
		break;
	default:
		api_error(r, 405, "method_not_allowed", "use GET, PATCH or "
		    "DELETE");
	}
}

/* ---------------------------------------------------------------- lists */

static int
list_exists(struct api_req *r, uint64_t list, char **name)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	if ((rep = db_cmd(r->a->db, "HGET %s name",
	    key_list(&k, r->tenant, list))) == NULL)
		return -1;
	rc = rep->type == REDIS_REPLY_STRING;
	if (rc && name != NULL)
		*name = xstrdup(rep->str);
	freeReplyObject(rep);
	return rc;
}

static void
list_create(struct api_req *r)
{
	static const char *const fields[] = { "name", NULL };
	json_t		*body, *name;
	redisReply	*rep;
	struct key	 k;
	char		 id[24];
	long long	 list;

	if (api_body_json(r, &body) == -1)
		return;
	if (!json_is_object(body) || api_check_fields(r, body, fields) == -1) {
		if (!json_is_object(body))
			api_error(r, 400, "invalid_body", "expected a JSON "
			    "object");
		json_decref(body);
		return;
	}
	name = json_object_get(body, "name");
	if (!contact_valid_text(name) || !json_is_string(name) ||
	    json_string_length(name) == 0) {
		json_decref(body);
		api_error(r, 422, "invalid_name", "name: a string of 1 to %d "
		    "characters is required", CONTACT_TEXT_MAX);
		return;
	}
	if ((rep = db_cmd(r->a->db, "HINCRBY %s list 1",
	    key_seq(&k, r->tenant))) == NULL ||
	    rep->type != REDIS_REPLY_INTEGER) {
		if (rep != NULL)
			freeReplyObject(rep);
		json_decref(body);
		api_unavailable(r);
		return;
	}
	list = rep->integer;
	freeReplyObject(rep);
	rep = db_cmd(r->a->db, "HSET %s name %b created_at %llu",
	    key_list(&k, r->tenant, (uint64_t)list),
	    json_string_value(name), json_string_length(name),
	    (unsigned long long)now_ms());
	json_decref(body);
	if (rep == NULL) {
		api_unavailable(r);
		return;
	}
	freeReplyObject(rep);
	snprintf(id, sizeof(id), "%lld", list);
	api_json(r, 201, json_pack("{s:s}", "id", id));
}

/* Adds or removes the contacts named by emails or contact_ids. */
static void
list_members(struct api_req *r, uint64_t list, int add)
{
	static const char *const fields[] = { "emails", "contact_ids", NULL };
	struct api	*a = r->a;
	json_t		*body, *emails, *ids, *arr, *missing = json_array(), *v;
	redisReply	*rep;
	uint64_t	*found = NULL, id;
	size_t		 n, i, nfound = 0;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	struct key	 k;
	long long	 changed = 0;

	if (api_body_json(r, &body) == -1)
		goto out;
	if (!json_is_object(body)) {
		api_error(r, 400, "invalid_body", "expected a JSON object");
		goto out_body;
	}
	if (api_check_fields(r, body, fields) == -1)
		goto out_body;
	emails = json_object_get(body, "emails");
	ids = json_object_get(body, "contact_ids");
	if ((emails == NULL) == (ids == NULL)) {
		api_error(r, 422, "invalid_body", "give either emails or "
		    "contact_ids");
		goto out_body;
	}
	arr = emails ? emails : ids;
	if (!json_is_array(arr) || (n = json_array_size(arr)) > API_MAX_BATCH) {
		api_error(r, json_is_array(arr) ? 413 : 422, "invalid_body",
		    "an array of at most %d items is required", API_MAX_BATCH);
		goto out_body;
	}
	found = xcalloc(n ? n : 1, sizeof(*found));
	/* Resolve all in one pipelined round trip. */
	for (i = 0; i < n; i++) {
		v = json_array_get(arr, i);
		if (emails != NULL) {
			if (!json_is_string(v) || validate_email(
			    json_string_value(v), json_string_length(v), addr,
			    key) == -1)
				key[0] = '\0';
			if (db_append(a->db, "HGET %s %s",
			    key_contact_bykey(&k, r->tenant), key) == -1)
				goto down;
		} else {
			if (!json_is_string(v) || parse_u64(json_string_value(v),
			    json_string_length(v), &id) == -1)
				id = 0;
			if (db_append(a->db, "HGET %s email",
			    key_contact(&k, r->tenant, id)) == -1)
				goto down;
		}
	}
	for (i = 0; i < n; i++) {
		if ((rep = db_reply(a->db)) == NULL)
			goto down;
		v = json_array_get(arr, i);
		id = 0;
		if (rep->type == REDIS_REPLY_STRING) {
			if (emails != NULL)
				parse_u64(rep->str, rep->len, &id);
			else
				parse_u64(json_string_value(v),
				    json_string_length(v), &id);
		}
		freeReplyObject(rep);
		if (id == 0)
			json_array_append(missing, v);
		else
			found[nfound++] = id;
	}
	for (i = 0; i < nfound; i++) {
		if (db_append(a->db, "%s %s %llu", add ? "SADD" : "SREM",
		    key_list_members(&k, r->tenant, list),
		    (unsigned long long)found[i]) == -1 ||
		    db_append(a->db, "%s %s %llu", add ? "SADD" : "SREM",
		    key_contact_lists(&k, r->tenant, found[i]),
		    (unsigned long long)list) == -1)
			goto down;
	}
	for (i = 0; i < nfound; i++) {
		if ((rep = db_reply(a->db)) == NULL)
			goto down;
		if (rep->type == REDIS_REPLY_INTEGER)
			changed += rep->integer;
		freeReplyObject(rep);
		if ((rep = db_reply(a->db)) == NULL)
			goto down;
		freeReplyObject(rep);
	}
	if (add)
		api_json(r, 200, json_pack("{s:I, s:O}", "added",
		    (json_int_t)changed, "missing", missing));
	else
		api_json(r, 200, json_pack("{s:I, s:O}", "removed",
		    (json_int_t)changed, "missing", missing));
	goto out_body;
down:
	db_discard(a->db);
	api_unavailable(r);
out_body:
	json_decref(body);
out:
	free(found);
	json_decref(missing);
}

void
api_lists(struct api_req *r)
{
	redisReply	*rep;
	struct key	 k;
	uint64_t	 list;
	char		*name = NULL;
	int		 rc;

	if (r->nseg == 2 && r->method == HTTP_POST) {
		list_create(r);
		return;
	}
	if (r->nseg < 3 || r->nseg > 4 || parse_u64(r->seg[2],
	    strlen(r->seg[2]), &list) == -1 ||
	    (r->nseg == 4 && strcmp(r->seg[3], "members") != 0)) {
		api_error(r, 404, "not_found", "no such list");
		return;
	}
	if ((rc = list_exists(r, list, &name)) != 1) {
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 404, "not_found", "no such list");
		return;
	}
	if (r->nseg == 3 && r->method == HTTP_GET) {
		char id[24];

		rep = db_cmd(r->a->db, "SCARD %s",
		    key_list_members(&k, r->tenant, list));
		if (rep == NULL)
			api_unavailable(r);
		else {
			snprintf(id, sizeof(id), "%llu",
			    (unsigned long long)list);
			api_json(r, 200, json_pack("{s:s, s:s, s:I}", "id", id,
			    "name", name, "members", (json_int_t)rep->integer));
			freeReplyObject(rep);
		}
	} else if (r->nseg == 4 && (r->method == HTTP_POST ||
	    r->method == HTTP_DELETE))
		list_members(r, list, r->method == HTTP_POST);
	else
		api_error(r, 405, "method_not_allowed", "method not allowed "
		    "here");
	free(name);
}
