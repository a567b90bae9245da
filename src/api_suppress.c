/*
 * api_suppress.c: the tenant's opt-outs and blocklist.
 *
 * Both are sorted sets with score 0, so they list in lexical order and a
 * cursor is simply the last item returned (ZRANGEBYLEX from just after
 * it): stable under inserts, no server-side state.  Opt-outs are kept by
 * email match key (validate_email), the same form contacts are matched
 * on; the one-click link adds the contact id to optout_ids as well (see
 * store.c).  Blocklist patterns are a whole address or "@domain".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "keys.h"

#define LIST_DEFAULT	100
#define LIST_MAX	1000

/* "user@x" -> its match key; "@domain" -> "@" + the domain in ASCII. */
static int
blocklist_pattern(const char *in, size_t len, char *out)
{
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	char	probe[FF_EMAIL_MAX + 8];

	if (len > 0 && in[0] == '@') {
		if (len + 1 >= sizeof(probe))
			return -1;
		/* Validate the domain as the domain of an address. */
		probe[0] = 'x';
		memcpy(probe + 1, in, len);
		probe[len + 1] = '\0';
		if (validate_email(probe, len + 1, addr, key) == -1)
			return -1;
		snprintf(out, FF_EMAIL_MAX + 1, "%s", strchr(key, '@'));
		return 0;
	}
	if (validate_email(in, len, addr, key) == -1)
		return -1;
	snprintf(out, FF_EMAIL_MAX + 1, "%s", key);
	return 0;
}

/* Reads {"field": "..."}; 0 with the string, -1 after answering. */
static int
body_string(struct api_req *r, const char *field, json_t **body,
    const char **s, size_t *len)
{
	const char *const fields[] = { field, NULL };
	json_t		*v;

	if (api_body_json(r, body) == -1)
		return -1;
	if (!json_is_object(*body)) {
		json_decref(*body);
		api_error(r, 400, "invalid_body", "expected a JSON object");
		return -1;
	}
	if (api_check_fields(r, *body, fields) == -1) {
		json_decref(*body);
		return -1;
	}
	if (!json_is_string(v = json_object_get(*body, field))) {
		json_decref(*body);
		api_error(r, 422, "invalid_body", "'%s' (a string) is required",
		    field);
		return -1;
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

/*
 * GET ?cursor=&limit= over the lexical zset key set; at (may be NULL)
 * is the key of the hash of times, added to each item as "FIELD_at" in
 * RFC 3339.
 */
static void
list_page(struct api_req *r, const char *set, const char *at,
    const char *field)
{
	struct api	*a = r->a;
	redisReply	*rep, *times = NULL;
	json_t		*items = json_array(), *o;
	char		 cbuf[FF_EMAIL_MAX + 2], lbuf[16], min[FF_EMAIL_MAX + 3];
	char		 ts[32], name[32];
	const char	*cursor, *lim;
	uint64_t	 limit = LIST_DEFAULT;
	size_t		 i, n;

	cursor = api_query(r, "cursor", cbuf, sizeof(cbuf));
	if ((lim = api_query(r, "limit", lbuf, sizeof(lbuf))) != NULL &&
	    (parse_u64(lim, strlen(lim), &limit) == -1 || limit == 0 ||
	    limit > LIST_MAX)) {
		json_decref(items);
		api_error(r, 400, "invalid_limit", "limit: 1 to %d", LIST_MAX);
		return;
	}
	if (cursor != NULL && *cursor != '\0')
		snprintf(min, sizeof(min), "(%s", cursor);
	else
		snprintf(min, sizeof(min), "-");
	if ((rep = db_cmd(a->db, "ZRANGEBYLEX %s %s + LIMIT 0 %llu", set, min,
	    (unsigned long long)limit + 1)) == NULL ||
	    rep->type != REDIS_REPLY_ARRAY) {
		if (rep != NULL)
			freeReplyObject(rep);
		json_decref(items);
		api_unavailable(r);
		return;
	}
	n = rep->elements > limit ? limit : rep->elements;
	if (at != NULL && n > 0) {
		for (i = 0; i < n; i++)
			db_append(a->db, "HGET %s %s", at,
			    rep->element[i]->str);
	}
	snprintf(name, sizeof(name), "%s_at", field);
	for (i = 0; i < n; i++) {
		o = json_pack("{s:s}", field, rep->element[i]->str);
		if (at != NULL && (times = db_reply(a->db)) != NULL) {
			if (times->type == REDIS_REPLY_STRING)
				json_object_set_new(o, name, json_string(
				    api_iso_time(strtoull(times->str, NULL, 10),
				    ts, sizeof(ts))));
			freeReplyObject(times);
		}
		json_array_append_new(items, o);
	}
	o = json_pack("{s:o}", "items", items);
	json_object_set_new(o, "next_cursor", rep->elements > limit ?
	    json_string(rep->element[n - 1]->str) : json_null());
	freeReplyObject(rep);
	api_json(r, 200, o);
}

void
api_optouts(struct api_req *r)
{
	struct api	*a = r->a;
	json_t		*body;
	redisReply	*rep;
	const char	*s;
	size_t		 len;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	struct key	 set, at, k;
	uint64_t	 now = now_ms();

	key_optouts(&set, r->tenant);
	key_optouts_at(&at, r->tenant);
	if (r->nseg == 2 && r->method == HTTP_GET) {
		list_page(r, set.s, at.s, "email");
		return;
	}
	if (r->nseg == 2 && r->method == HTTP_POST) {
		if (body_string(r, "email", &body, &s, &len) == -1)
			return;
		if (validate_email(s, len, addr, key) == -1) {
			json_decref(body);
			api_error(r, 422, "invalid_email", "not an address we "
			    "can mail");
			return;
		}
		json_decref(body);
		if (db_append(a->db, "ZADD %s 0 %s", set.s, key) == -1 ||
		    db_append(a->db, "HSETNX %s %s %llu", at.s, key,
		    (unsigned long long)now) == -1 ||
		    (rep = db_reply(a->db)) == NULL) {
			db_discard(a->db);
			api_unavailable(r);
			return;
		}
		freeReplyObject(rep);
		db_discard(a->db);
		api_json(r, 200, json_pack("{s:s, s:s}", "email", key,
		    "status", "opted_out"));
		return;
	}
	if (r->nseg == 3 && r->method == HTTP_DELETE) {
		if (validate_email(r->seg[2], strlen(r->seg[2]), addr,
		    key) == -1) {
			api_error(r, 404, "not_found", "no such opt-out");
			return;
		}
		/* The caller vouches for the person's consent. */
		if (db_append(a->db, "ZREM %s %s", set.s, key) == -1 ||
		    db_append(a->db, "HDEL %s %s", at.s, key) == -1 ||
		    (rep = db_reply(a->db)) == NULL) {
			db_discard(a->db);
			api_unavailable(r);
			return;
		}
		freeReplyObject(rep);
		db_discard(a->db);
		/* A one-click opt-out of this contact goes too. */
		if ((rep = db_cmd(a->db, "HGET %s %s",
		    key_contact_bykey(&k, r->tenant), key)) != NULL) {
			if (rep->type == REDIS_REPLY_STRING) {
				redisReply *z = db_cmd(a->db, "ZREM %s %s",
				    key_optout_ids(&k, r->tenant), rep->str);

				if (z != NULL)
					freeReplyObject(z);
			}
			freeReplyObject(rep);
		}
		api_nocontent(r);
		return;
	}
	api_error(r, r->nseg <= 3 ? 405 : 404, r->nseg <= 3 ?
	    "method_not_allowed" : "not_found", "no such endpoint or method");
}

void
api_blocklist(struct api_req *r)
{
	struct api	*a = r->a;
	json_t		*body;
	redisReply	*rep;
	const char	*s;
	size_t		 len;
	char		 pat[FF_EMAIL_MAX + 1];
	struct key	 set, at;
	int		 rc;

	key_blocklist(&set, r->tenant);
	key_blocklist_at(&at, r->tenant);
	if (r->nseg == 2 && r->method == HTTP_GET) {
		list_page(r, set.s, at.s, "pattern");
		return;
	}
	if (r->nseg == 2 && r->method == HTTP_POST) {
		if (body_string(r, "pattern", &body, &s, &len) == -1)
			return;
		rc = blocklist_pattern(s, len, pat);
		json_decref(body);
		if (rc == -1) {
			api_error(r, 422, "invalid_pattern", "an address "
			    "(user@x.test) or a domain (@x.test) is required");
			return;
		}
		if (db_append(a->db, "ZADD %s 0 %s", set.s, pat) == -1 ||
		    db_append(a->db, "HSETNX %s %s %llu", at.s, pat,
		    (unsigned long long)now_ms()) == -1 ||
		    (rep = db_reply(a->db)) == NULL) {
			db_discard(a->db);
			api_unavailable(r);
			return;
		}
		freeReplyObject(rep);
		db_discard(a->db);
		api_json(r, 200, json_pack("{s:s}", "pattern", pat));
		return;
	}
	if (r->nseg == 3 && r->method == HTTP_DELETE) {
		if (blocklist_pattern(r->seg[2], strlen(r->seg[2]), pat) == -1) {
			api_error(r, 404, "not_found", "no such pattern");
			return;
		}
		if ((rep = db_cmd(a->db, "ZREM %s %s", set.s, pat)) == NULL) {
			api_unavailable(r);
			return;
		}
		rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
		if ((rep = db_cmd(a->db, "HDEL %s %s", at.s, pat)) != NULL)
			freeReplyObject(rep);
		if (rc)
			api_nocontent(r);
		else
			api_error(r, 404, "not_found", "no such pattern");
		return;
	}
	api_error(r, r->nseg <= 3 ? 405 : 404, r->nseg <= 3 ?
	    "method_not_allowed" : "not_found", "no such endpoint or method");
}
