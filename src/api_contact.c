/*
 * api_contact.c: contacts and lists.
 *
 * A POST of contacts (one object or an array of up to API_MAX_BATCH) is
 * validated row by row first; a row that fails is reported in
 * `rejected` and not written at all, never half.  Then the rows are
 * upserted by email match key, in three pipelined round trips however
 * many rows (store_contact_upsert).
 * Attributes named on the special-category list are dropped and
 * reported; attribute values, names or gender holding a
 * special-category term store the contact quarantined.
 *
 * HTTP only: the stores (store_contact.c, store_list.c) read and write
 * Redis, every key the tenant's, so a request can never see, change or
 * count another tenant's data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store_contact.h"
#include "store_list.h"

int
api_contacts_apply(struct api_req *r, json_t *items,
    size_t base, json_t *rejected, long long *created, long long *updated,
    const char **bad_field, size_t *bad_index)
{
	struct contact_row	*rows;
	json_t		*seen;
	size_t		 n = json_array_size(items), i, nrows = 0;
	int		 rc, ret = -1;

	rows = xcalloc(n ? n : 1, sizeof(*rows));
	seen = json_object();
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(items, i);

		if (!json_is_object(o)) {
			contact_reject(rejected, base + i, NULL,
			    "invalid_contact", NULL);
			continue;
		}
		rc = contact_check(r->a->special, o, base + i, 1, rejected,
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
	ret = store_contact_upsert(r->db, r->tenant, &r->live->keys, rows, nrows,
	    created, updated);
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
	switch (api_contacts_apply(r, items, 0, rejected,
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
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];

	if (parse_u64(ref, strlen(ref), id) == 0)
		return store_contact_exists(r->db, r->tenant, *id);
	if (validate_email(ref, strlen(ref), addr, key) == -1)
		return 0;
	return store_contact_find(r->db, r->tenant, key, id);
}

/* Reads the contact; 0, or -1 after answering 404 or 503. */
static int
contact_load(struct api_req *r, uint64_t id, struct contact *c)
{
	switch (store_contact_get(r->db, r->tenant, &r->live->keys, id,
	    c)) {
	case 1:
		return 0;
	case 0:
		api_error(r, 404, "not_found", "no such contact");
		break;
	default:
		api_unavailable(r);
	}
	contact_clear(c);
	return -1;
}

static int
id_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* GET one contact adds "lists": the ids of the lists it is on, by id
 * (the app's contact page shows them; the contact's own index is one
 * SMEMBERS, so the lists need not be walked). */
static void
contact_get(struct api_req *r, uint64_t id)
{
	struct contact	 c;
	json_t		*o, *lists;
	uint64_t	*ids;
	size_t		 i, n;
	char		 buf[24];

	if (contact_load(r, id, &c) == -1)
		return;
	if (store_list_of_contact(r->db, r->tenant, id, &ids, &n) == -1) {
		contact_clear(&c);
		api_unavailable(r);
		return;
	}
	qsort(ids, n, sizeof(*ids), id_cmp);
	lists = json_array();
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ids[i]);
		json_array_append_new(lists, json_string(buf));
	}
	free(ids);
	o = contact_json(&c);
	json_object_set_new(o, "lists", lists);
	api_json(r, 200, o);
	contact_clear(&c);
}

/* A field the PATCH does not give: checked, and written back, as
 * stored (NULL: not set). */
static void
patch_keep(json_t *body, const char *field, const char *stored)
{
	json_t	*v;

	if (json_object_get(body, field) != NULL)
		return;
	v = stored != NULL ? json_string(stored) : NULL;
	json_object_set_new(body, field, v != NULL ? v : json_null());
}

/* PATCH: given fields change, attributes merge (null removes one). */
static void
contact_patch(struct api_req *r, uint64_t id)
{
	struct api	*a = r->a;
	struct contact	 cur;
	json_t		*body, *attrs, *merged, *rejected = json_array(), *v, *o;
	struct contact_row	 row;
	const char	*bad_field = NULL, *k, *code = NULL;
	int		 rc;

	if (api_body_object(r, &body) == -1)
		goto out;
	if (contact_load(r, id, &cur) == -1)
		goto out_body;
	/* Merge attributes into the current ones, then validate all. */
	if ((attrs = json_object_get(body, "attributes")) != NULL &&
	    json_is_object(attrs)) {
		merged = json_deep_copy(cur.attributes);
		json_object_foreach(attrs, k, v) {
			if (json_is_null(v))
				json_object_del(merged, k);
			else
				json_object_set(merged, k, v);
		}
		json_object_set_new(body, "attributes", merged);
	} else if (attrs == NULL) {
		/* Quarantine is decided again from the stored attributes. */
		json_object_set(body, "attributes", cur.attributes);
	}
	/* ... and from the stored names and gender: a PATCH of one field
	 * must not clear what another one caused. */
	patch_keep(body, "first_name", cur.first_name);
	patch_keep(body, "last_name", cur.last_name);
	patch_keep(body, "gender", cur.gender);
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
	/* With an address, the index moves from the current one. */
	rc = store_contact_update(r->db, r->tenant, id, &row,
	    json_object_get(body, "email") != NULL ? cur.key : NULL, now_ms());
	free(row.attrs);
	if (rc != 1) {
		if (rc == 0)
			api_error(r, 409, "email_taken", "another contact has "
			    "that address");
		else
			api_unavailable(r);
		goto out_cur;
	}
	contact_clear(&cur);
	if (contact_load(r, id, &cur) == -1)
		goto out_body;
	o = contact_json(&cur);
	if (json_array_size(rejected) > 0)
		json_object_set(o, "rejected", rejected);
	api_json(r, 200, o);
out_cur:
	contact_clear(&cur);
out_body:
	json_decref(body);
out:
	json_decref(rejected);
}

void
api_contacts(struct api_req *r)
{
	uint64_t	id;

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
	if (api_found(r, contact_find(r, r->seg[2], &id), "contact") == -1)
		return;
	switch (r->method) {
	case HTTP_GET:
		contact_get(r, id);
		break;
	case HTTP_PATCH:
		contact_patch(r, id);
		break;
	case HTTP_DELETE:
		if (store_contact_remove(r->db, r->tenant, id, NULL) == -1)
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

static void
list_create(struct api_req *r)
{
	static const char *const fields[] = { "name", NULL };
	json_t		*body, *name;
	char		 id[24];
	uint64_t	 list;
	int		 rc;

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
	rc = store_list_create(r->db, r->tenant, json_string_value(name),
	    json_string_length(name), now_ms(), &list);
	json_decref(body);
	if (rc == -1) {
		api_unavailable(r);
		return;
	}
	snprintf(id, sizeof(id), "%llu", (unsigned long long)list);
	api_json(r, 201, json_pack("{s:s}", "id", id));
}

/*
 * The contacts the members body names, by emails or by contact_ids, in
 * one round trip: found[] gets the ids of those that exist, missing the
 * items that name none.  0, or -1 when Redis failed.
 */
static int
members_resolve(struct api_req *r, json_t *arr, int by_email,
    uint64_t *found, size_t *nfound, json_t *missing)
{
	json_t		*v;
	char		(*keys)[FF_EMAIL_MAX + 1] = NULL;
	const char	**keyv = NULL;
	char		 addr[FF_EMAIL_MAX + 1];
	uint64_t	*ids;
	size_t		 n = json_array_size(arr), i;
	int		 rc;

	ids = xcalloc(n ? n : 1, sizeof(*ids));
	if (by_email) {
		keys = xcalloc(n ? n : 1, sizeof(*keys));
		keyv = xcalloc(n ? n : 1, sizeof(*keyv));
		json_array_foreach(arr, i, v) {
			if (!json_is_string(v) || validate_email(
			    json_string_value(v), json_string_length(v), addr,
			    keys[i]) == -1)
				keys[i][0] = '\0';
			keyv[i] = keys[i];
		}
		rc = store_contact_find_many(r->db, r->tenant, keyv, n,
		    ids);
	} else {
		json_array_foreach(arr, i, v)
			if (!json_is_string(v) || parse_u64(json_string_value(v),
			    json_string_length(v), &ids[i]) == -1)
				ids[i] = 0;
		rc = store_contact_exist_many(r->db, r->tenant, ids, n);
	}
	*nfound = 0;
	for (i = 0; rc == 0 && i < n; i++) {
		if (ids[i] == 0)
			json_array_append(missing, json_array_get(arr, i));
		else
			found[(*nfound)++] = ids[i];
	}
	free(keyv);
	free(keys);
	free(ids);
	return rc;
}

/* Adds or removes the contacts named by emails or contact_ids. */
static void
list_members(struct api_req *r, uint64_t list, int add)
{
	static const char *const fields[] = { "emails", "contact_ids", NULL };
	json_t		*body, *emails, *ids, *arr, *missing = json_array();
	uint64_t	*found = NULL;
	size_t		 n, nfound = 0;
	long long	 changed = 0;

	if (api_body_object(r, &body) == -1)
		goto out;
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
	if (members_resolve(r, arr, emails != NULL, found, &nfound,
	    missing) == -1 ||
	    store_list_change(r->db, r->tenant, list, found, nfound, add,
	    &changed) == -1 ||
	    /* A trigger list: its new members enter its sequences. */
	    (add && api_sequence_trigger(r, list, found, nfound) == -1)) {
		api_unavailable(r);
		goto out_body;
	}
	api_json(r, 200, json_pack("{s:I, s:O}", add ? "added" : "removed",
	    (json_int_t)changed, "missing", missing));
out_body:
	json_decref(body);
out:
	free(found);
	json_decref(missing);
}

void
api_lists(struct api_req *r)
{
	uint64_t	 list;
	long long	 size;
	char		*name = NULL, id[24];

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
	if (api_found(r, store_list_name(r->db, r->tenant, list, &name), "list") == -1)
		return;
	if (r->nseg == 3 && r->method == HTTP_GET) {
		if (store_list_size(r->db, r->tenant, list, &size) == -1)
			api_unavailable(r);
		else {
			snprintf(id, sizeof(id), "%llu",
			    (unsigned long long)list);
			api_json(r, 200, json_pack("{s:s, s:s, s:I}", "id", id,
			    "name", name, "members", (json_int_t)size));
		}
	} else if (r->nseg == 4 && (r->method == HTTP_POST ||
	    r->method == HTTP_DELETE))
		list_members(r, list, r->method == HTTP_POST);
	else
		api_error(r, 405, "method_not_allowed", "method not allowed "
		    "here");
	free(name);
}

/* ------------------------------------------------- the app's listings */

#define CONTACTS_PAGE_DEFAULT	50
#define CONTACTS_PAGE_MAX	500
#define CONTACTS_QUERY_MAX	200	/* bytes of q */

struct contact_query {
	const char	*q;
	size_t		 len;
};

static int
contact_query_match(void *arg, const char *const f[3], const size_t len[3])
{
	const struct contact_query *cq = arg;
	size_t			    i;

	for (i = 0; i < 3; i++)
		if (contact_text_contains(f[i], len[i], cq->q, cq->len))
			return 1;
	return 0;
}

/* A query parameter that must be a whole number in [min, max]: 0 with
 * *v (left as it was when absent), or -1 after answering 422 code. */
static int
query_u64(struct api_req *r, const char *name, uint64_t min, uint64_t max,
    const char *code, uint64_t *v)
{
	char		 buf[32];
	const char	*s = api_query(r, name, buf, sizeof(buf));

	if (s == NULL)
		return 0;
	if (parse_u64(s, strlen(s), v) == -1 || *v < min || *v > max) {
		api_error(r, 422, code, "'%s' must be a whole number from "
		    "%llu to %llu", name, (unsigned long long)min,
		    (unsigned long long)max);
		return -1;
	}
	return 0;
}

/*
 * GET /v1/contacts?q=&cursor=&limit=: a page of contacts, newest first,
 * whose email, first_name or last_name holds q (ASCII case ignored).
 * Bounded work a call (store_contact_page): a page may be short, or
 * empty, with a next_cursor to go on from; next_cursor null is the end.
 */
void
api_contacts_page(struct api_req *r)
{
	struct contact_query	 cq;
	struct contact		*out;
	char			 qbuf[CONTACTS_QUERY_MAX + 2], next[24];
	uint64_t		 limit = CONTACTS_PAGE_DEFAULT, cursor = 0, to;
	size_t			 n, i;
	json_t			*items;

	cq.q = api_query(r, "q", qbuf, sizeof(qbuf));
	if (cq.q == NULL)
		cq.q = "";
	if ((cq.len = strlen(cq.q)) > CONTACTS_QUERY_MAX) {
		api_error(r, 422, "invalid_query", "'q' is at most %d bytes",
		    CONTACTS_QUERY_MAX);
		return;
	}
	if (query_u64(r, "limit", 1, CONTACTS_PAGE_MAX, "invalid_limit",
	    &limit) == -1 ||
	    query_u64(r, "cursor", 1, UINT32_MAX, "invalid_cursor",
	    &cursor) == -1)
		return;
	out = xcalloc((size_t)limit, sizeof(*out));
	if (store_contact_page(r->db, r->tenant, cursor, (size_t)limit,
	    contact_query_match, &cq, out, &n, &to) == -1) {
		free(out);
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(items, contact_json(&out[i]));
		contact_clear(&out[i]);
	}
	free(out);
	snprintf(next, sizeof(next), "%llu", (unsigned long long)to);
	api_json(r, 200, json_pack("{s:o, s:o}", "items", items,
	    "next_cursor", to > 0 ? json_string(next) : json_null()));
}

/* GET /v1/lists: every list with its number of members, by id. */
void
api_lists_index(struct api_req *r)
{
	struct list_info	*l;
	size_t			 n, i;
	char			 id[24];
	json_t			*items;

	if (store_list_all(r->db, r->tenant, &l, &n) == -1) {
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)l[i].id);
		json_array_append_new(items, json_pack("{s:s, s:s%, s:I}",
		    "id", id, "name", l[i].name, strlen(l[i].name), "members",
		    (json_int_t)l[i].members));
	}
	store_list_infos_free(l, n);
	api_json(r, 200, json_pack("{s:o}", "items", items));
}
