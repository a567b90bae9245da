/*
 * api_subject.c: data-subject rights (GDPR Art. 15 access, Art. 17
 * erasure; CCPA) for one address within one tenant.
 *
 * GET gathers everything held: the contact, its lists, opt-out and
 * blocklist state, and every tracking event of the contact in the
 * tenant's campaigns.  DELETE erases all of it: contact, address index,
 * list memberships, opt-out entries, the per-person events (each
 * campaign's stream is rewritten without them by ERASE_LUA, atomically
 * against the tracker's writes) and unique-count memberships.  What
 * stays is a keyed hash of the address (HMAC with the token secret) in
 * {t:T}:suppressed, so a later import of the address is never mailed.
 * Both requests are written to the tenant's audit stream with the key
 * prefix (fanfarectl's: "fanfarectl") and the counts, never the address.
 *
 * api_subject_export and api_subject_erase are the whole of it, over an
 * api_ctx: the HTTP handler and fanfarectl call them, and nothing else
 * erases a person.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* Removes one contact's lines from a campaign's events stream and the
 * contact from its unique sets.  Returns { events, memberships }. */
static const char ERASE_LUA[] =
"-- KEYS: events openers clickers unsubscribers link_clickers\n"
"-- ARGV: contact\n"
"local contact = ARGV[1]\n"
"local removed, rewrite = 0, {}\n"
"for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do\n"
"  local text = ''\n"
"  for i = 1, #e[2], 2 do\n"
"    if e[2][i] == 'e' then text = e[2][i + 1] end\n"
"  end\n"
"  local kept, n = {}, 0\n"
"  for line in string.gmatch(text, '[^\\n]+') do\n"
"    if string.match(line, '^%d+ %a (%d+) ') == contact then\n"
"      removed = removed + 1\n"
"    else\n"
"      n = n + 1\n"
"      kept[n] = line\n"
"    end\n"
"  end\n"
"  rewrite[#rewrite + 1] = { e[1], n, table.concat(kept, '\\n') }\n"
"end\n"
"if removed > 0 then\n"
"  redis.call('DEL', KEYS[1])\n"
"  for _, r in ipairs(rewrite) do\n"
"    if r[2] > 0 then\n"
"      redis.call('XADD', KEYS[1], r[1], 'n', r[2], 'e', r[3] .. '\\n')\n"
"    end\n"
"  end\n"
"end\n"
"local members = redis.call('SREM', KEYS[2], contact) +\n"
"    redis.call('SREM', KEYS[3], contact) +\n"
"    redis.call('SREM', KEYS[4], contact)\n"
"local cursor = '0'\n"
"repeat\n"
"  local r = redis.call('SSCAN', KEYS[5], cursor, 'MATCH', '*:' .. contact,\n"
"      'COUNT', 1000)\n"
"  cursor = r[1]\n"
"  for _, m in ipairs(r[2]) do\n"
"    members = members + redis.call('SREM', KEYS[5], m)\n"
"  end\n"
"until cursor == '0'\n"
"return { removed, members }\n";

/* The tenant's campaign ids; NULL when Redis failed. */
static redisReply *
campaign_ids(const struct api_ctx *ctx)
{
	redisReply	*rep;

	rep = db_cmd(ctx->db, "ZRANGE {t:%llu}:camps 0 -1",
	    (unsigned long long)ctx->tenant);
	if (rep != NULL && rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static void
audit(const struct api_ctx *ctx, const char *action, json_t *counts)
{
	redisReply	*rep;
	char		*text = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);

	rep = db_cmd(ctx->db, "XADD {t:%llu}:audit * time %llu key_prefix %s "
	    "action %s counts %s", (unsigned long long)ctx->tenant,
	    (unsigned long long)now_ms(), ctx->actor, action, text);
	if (rep == NULL)
		log_warnx("tenant %llu: audit record of %s not written",
		    (unsigned long long)ctx->tenant, action);
	else
		freeReplyObject(rep);
	free(text);
}

/* Appends the contact's events of one campaign to events; -1 on failure. */
static int
campaign_events(const struct api_ctx *ctx, const char *campaign,
    uint64_t contact, json_t *events)
{
	redisReply	*rep;
	char		 start[48] = "-", ts[32], *text, *line, *save;
	size_t		 i, k;
	int		 more;

	do {
		rep = db_cmd(ctx->db, "XRANGE {t:%llu:c:%s}:events %s + "
		    "COUNT 500", (unsigned long long)ctx->tenant, campaign,
		    start);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			if (rep != NULL)
				freeReplyObject(rep);
			return -1;
		}
		for (i = 0; i < rep->elements; i++) {
			redisReply *e = rep->element[i], *f = e->element[1];

			snprintf(start, sizeof(start), "(%s", e->element[0]->str);
			for (k = 0; k + 1 < f->elements; k += 2) {
				if (strcmp(f->element[k]->str, "e") != 0)
					continue;
				text = xstrdup(f->element[k + 1]->str);
				for (line = strtok_r(text, "\n", &save);
				    line != NULL;
				    line = strtok_r(NULL, "\n", &save)) {
					char kind, cc[3], fl;
					unsigned long long t, c, link;

					if (sscanf(line, "%llu %c %llu %llu %2s %c",
					    &t, &kind, &c, &link, cc, &fl) != 6 ||
					    c != contact)
						continue;
					json_array_append_new(events, json_pack(
					    "{s:s, s:s, s:s, s:o, s:b}",
					    "campaign", campaign, "time",
					    api_iso_time(t, ts, sizeof(ts)),
					    "kind", kind == 'o' ? "open" :
					    kind == 'c' ? "click" : "unsubscribe",
					    "country", strcmp(cc, "--") == 0 ?
					    json_null() : json_string(cc),
					    "machine", fl == 'm'));
					if (kind == 'c')
						json_object_set_new(
						    json_array_get(events,
						    json_array_size(events) - 1),
						    "link", json_integer(
						    (json_int_t)link));
				}
				free(text);
			}
		}
		more = rep->elements == 500;
		freeReplyObject(rep);
	} while (more);
	return 0;
}

/* 1 when key or its domain is on the blocklist, -1 on failure. */
static int
blocklisted(const struct api_ctx *ctx, const char *key)
{
	redisReply	*a, *b;
	int		 rc;

	if (db_append(ctx->db, "ZSCORE {t:%llu}:blocklist %s",
	    (unsigned long long)ctx->tenant, key) == -1 ||
	    db_append(ctx->db, "ZSCORE {t:%llu}:blocklist %s",
	    (unsigned long long)ctx->tenant, strchr(key, '@')) == -1)
		return -1;
	a = db_reply(ctx->db);
	b = db_reply(ctx->db);
	if (a == NULL || b == NULL)
		rc = -1;
	else
		rc = a->type == REDIS_REPLY_STRING ||
		    b->type == REDIS_REPLY_STRING;
	if (a != NULL)
		freeReplyObject(a);
	if (b != NULL)
		freeReplyObject(b);
	return rc;
}

/* The address's match key and its contact id (0: none); -1 after
 * setting err (not an address: 404, as the API's path names nothing). */
static int
subject_find(const struct api_ctx *ctx, const char *address,
    char key[FF_EMAIL_MAX + 1], uint64_t *id, struct api_err *err)
{
	redisReply	*rep;
	char		 addr[FF_EMAIL_MAX + 1];

	*id = 0;
	if (validate_email(address, strlen(address), addr, key) == -1) {
		api_err_set(err, 404, "not_found", "a data subject is named by "
		    "an email address: /v1/subjects/EMAIL");
		return -1;
	}
	if ((rep = db_cmd(ctx->db, "HGET {t:%llu}:ct:bykey %s",
	    (unsigned long long)ctx->tenant, key)) == NULL) {
		api_err_unavailable(err);
		return -1;
	}
	if (rep->type == REDIS_REPLY_STRING)
		parse_u64(rep->str, rep->len, id);
	freeReplyObject(rep);
	return 0;
}

json_t *
api_subject_export(const struct api_ctx *ctx, const char *address,
    struct api_err *err)
{
	json_t		*o, *contact = json_null(), *lists = json_array();
	json_t		*events = json_array(), *counts;
	redisReply	*rep, *camps;
	char		 key[FF_EMAIL_MAX + 1], ts[32];
	uint64_t	 id;
	size_t		 i;
	int		 down = 0, bl;

	if (subject_find(ctx, address, key, &id, err) == -1) {
		json_decref(lists);
		json_decref(events);
		return NULL;
	}
	if (id != 0) {
		contact = api_contact_json(ctx, id, &down);
		if (down)
			goto fail;
		if (contact == NULL)
			contact = json_null();
		if ((rep = db_cmd(ctx->db, "SMEMBERS {t:%llu}:ct:%llu:lists",
		    (unsigned long long)ctx->tenant, (unsigned long long)id)) ==
		    NULL)
			goto fail;
		for (i = 0; rep->type == REDIS_REPLY_ARRAY && i < rep->elements;
		    i++)
			json_array_append_new(lists, json_pack("{s:s}", "id",
			    rep->element[i]->str));
		freeReplyObject(rep);
	}
	o = json_pack("{s:s, s:o, s:o, s:[]}", "email", key, "contact",
	    contact, "lists", lists, "messages");
	contact = lists = NULL;
	if ((rep = db_cmd(ctx->db, "HGET {t:%llu}:optouts:at %s",
	    (unsigned long long)ctx->tenant, key)) == NULL) {
		json_decref(o);
		goto fail;
	}
	json_object_set_new(o, "opted_out", json_boolean(rep->type ==
	    REDIS_REPLY_STRING));
	if (rep->type == REDIS_REPLY_STRING)
		json_object_set_new(o, "opted_out_at", json_string(api_iso_time(
		    strtoull(rep->str, NULL, 10), ts, sizeof(ts))));
	freeReplyObject(rep);
	if ((bl = blocklisted(ctx, key)) == -1) {
		json_decref(o);
		goto fail;
	}
	json_object_set_new(o, "blocklisted", json_boolean(bl));
	if (id != 0) {
		if ((camps = campaign_ids(ctx)) == NULL) {
			json_decref(o);
			goto fail;
		}
		for (i = 0; i < camps->elements; i++)
			if (campaign_events(ctx, camps->element[i]->str, id,
			    events) == -1) {
				freeReplyObject(camps);
				json_decref(o);
				goto fail;
			}
		freeReplyObject(camps);
	}
	json_object_set_new(o, "events", events);
	counts = json_pack("{s:b, s:I}", "contact", id != 0, "events",
	    (json_int_t)json_array_size(events));
	audit(ctx, "access", counts);
	json_decref(counts);
	return o;
fail:
	if (contact != NULL)
		json_decref(contact);
	if (lists != NULL)
		json_decref(lists);
	json_decref(events);
	api_err_unavailable(err);
	return NULL;
}

json_t *
api_subject_erase(const struct api_ctx *ctx, const char *address,
    struct api_err *err)
{
	redisReply	*rep, *camps;
	json_t		*counts;
	char		 key[FF_EMAIL_MAX + 1], hash[65], keys[5][96];
	char		 contact[24];
	uint64_t	 id;
	long long	 events = 0, members = 0, lists = 0, optouts = 0;
	long long	 blocked = 0, contacts = 0;
	size_t		 i, k;
	static const char *const sfx[5] = { "events", "openers", "clickers",
	    "unsubscribers", "link_clickers" };

	if (subject_find(ctx, address, key, &id, err) == -1)
		return NULL;
	/* The keyed hash first: the address is suppressed before any of
	 * its data goes, so no send can slip in between. */
	if (token_keyed_hash(ctx->keys, 0, key, strlen(key), hash) == -1 ||
	    (rep = db_cmd(ctx->db, "SADD {t:%llu}:suppressed %s",
	    (unsigned long long)ctx->tenant, hash)) == NULL)
		goto fail;
	freeReplyObject(rep);
	if (id != 0) {
		snprintf(contact, sizeof(contact), "%llu",
		    (unsigned long long)id);
		if ((camps = campaign_ids(ctx)) == NULL)
			goto fail;
		for (i = 0; i < camps->elements; i++) {
			for (k = 0; k < 5; k++)
				snprintf(keys[k], sizeof(keys[k]),
				    "{t:%llu:c:%s}:%s",
				    (unsigned long long)ctx->tenant,
				    camps->element[i]->str, sfx[k]);
			rep = db_cmd(ctx->db, "EVAL %s 5 %s %s %s %s %s %s",
			    ERASE_LUA, keys[0], keys[1], keys[2], keys[3],
			    keys[4], contact);
			if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
			    rep->elements != 2) {
				if (rep != NULL) {
					log_warnx("erase: %s", rep->type ==
					    REDIS_REPLY_ERROR ? rep->str : "?");
					freeReplyObject(rep);
				}
				freeReplyObject(camps);
				goto fail;
			}
			events += rep->element[0]->integer;
			members += rep->element[1]->integer;
			freeReplyObject(rep);
		}
		freeReplyObject(camps);
		if ((rep = db_cmd(ctx->db, "SCARD {t:%llu}:ct:%llu:lists",
		    (unsigned long long)ctx->tenant, (unsigned long long)id)) ==
		    NULL)
			goto fail;
		lists = rep->integer;
		freeReplyObject(rep);
		if (api_contact_remove(ctx->db, ctx->tenant, id) == -1)
			goto fail;
		contacts = 1;
		if ((rep = db_cmd(ctx->db, "ZREM {t:%llu}:optout_ids %llu",
		    (unsigned long long)ctx->tenant, (unsigned long long)id)) ==
		    NULL)
			goto fail;
		optouts += rep->integer;
		freeReplyObject(rep);
	}
	if ((rep = db_cmd(ctx->db, "ZREM {t:%llu}:optouts %s",
	    (unsigned long long)ctx->tenant, key)) == NULL)
		goto fail;
	optouts += rep->integer;
	freeReplyObject(rep);
	if ((rep = db_cmd(ctx->db, "HDEL {t:%llu}:optouts:at %s",
	    (unsigned long long)ctx->tenant, key)) == NULL)
		goto fail;
	freeReplyObject(rep);
	if ((rep = db_cmd(ctx->db, "ZREM {t:%llu}:blocklist %s",
	    (unsigned long long)ctx->tenant, key)) == NULL)
		goto fail;
	blocked = rep->integer;
	freeReplyObject(rep);
	if ((rep = db_cmd(ctx->db, "HDEL {t:%llu}:blocklist:at %s",
	    (unsigned long long)ctx->tenant, key)) != NULL)
		freeReplyObject(rep);
	counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
	    "contacts", (json_int_t)contacts, "events", (json_int_t)events,
	    "list_memberships", (json_int_t)lists,
	    "unique_memberships", (json_int_t)members,
	    "optouts", (json_int_t)optouts, "blocklist", (json_int_t)blocked);
	audit(ctx, "erase", counts);
	return json_pack("{s:o}", "erased", counts);
fail:
	api_err_unavailable(err);
	return NULL;
}

void
api_subjects(struct api_req *r)
{
	struct api_ctx	 ctx;
	struct api_err	 err;
	json_t		*o;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];

	/* A path that names no address is a 404 whatever the method. */
	if (r->nseg != 3 || validate_email(r->seg[2], strlen(r->seg[2]), addr,
	    key) == -1) {
		api_error(r, 404, "not_found", "a data subject is named by an "
		    "email address: /v1/subjects/EMAIL");
		return;
	}
	if (r->method != HTTP_GET && r->method != HTTP_DELETE) {
		api_error(r, 405, "method_not_allowed", "use GET or DELETE");
		return;
	}
	api_req_ctx(r, &ctx);
	o = r->method == HTTP_GET ? api_subject_export(&ctx, r->seg[2], &err) :
	    api_subject_erase(&ctx, r->seg[2], &err);
	if (o == NULL)
		api_reply_err(r, &err);
	else
		api_json(r, 200, o);
}

/* 1 when the address was erased before (its keyed hash is suppressed,
 * under any key of the ring), 0 not, -1 on failure. */
int
api_suppressed(const struct api_ctx *ctx, const char *key)
{
	redisReply	*rep;
	char		 hash[65];
	int		 i, rc = 0;

	for (i = 0; i < ctx->keys->nkeys && rc == 0; i++) {
		token_keyed_hash(ctx->keys, i, key, strlen(key), hash);
		if ((rep = db_cmd(ctx->db, "SISMEMBER {t:%llu}:suppressed %s",
		    (unsigned long long)ctx->tenant, hash)) == NULL)
			return -1;
		rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
	}
	return rc;
}
