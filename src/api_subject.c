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
 * prefix and the counts, never the address.
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
campaign_ids(struct api_req *r)
{
	redisReply	*rep;

	rep = db_cmd(r->a->db, "ZRANGE {t:%llu}:camps 0 -1",
	    (unsigned long long)r->tenant);
	if (rep != NULL && rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static void
audit(struct api_req *r, const char *action, json_t *counts)
{
	redisReply	*rep;
	char		*text = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);

	rep = db_cmd(r->a->db, "XADD {t:%llu}:audit * time %llu key_prefix %s "
	    "action %s counts %s", (unsigned long long)r->tenant,
	    (unsigned long long)now_ms(), r->key_prefix, action, text);
	if (rep == NULL)
		log_warnx("tenant %llu: audit record of %s not written",
		    (unsigned long long)r->tenant, action);
	else
		freeReplyObject(rep);
	free(text);
}

/* Appends the contact's events of one campaign to events; -1 on failure. */
static int
campaign_events(struct api_req *r, const char *campaign, uint64_t contact,
    json_t *events)
{
	redisReply	*rep;
	char		 start[48] = "-", ts[32], *text, *line, *save;
	size_t		 i, k;
	int		 more;

	do {
		rep = db_cmd(r->a->db, "XRANGE {t:%llu:c:%s}:events %s + "
		    "COUNT 500", (unsigned long long)r->tenant, campaign, start);
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
blocklisted(struct api_req *r, const char *key)
{
	redisReply	*a, *b;
	int		 rc;

	if (db_append(r->a->db, "ZSCORE {t:%llu}:blocklist %s",
	    (unsigned long long)r->tenant, key) == -1 ||
	    db_append(r->a->db, "ZSCORE {t:%llu}:blocklist %s",
	    (unsigned long long)r->tenant, strchr(key, '@')) == -1)
		return -1;
	a = db_reply(r->a->db);
	b = db_reply(r->a->db);
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

static void
subject_get(struct api_req *r, const char *key, uint64_t id)
{
	json_t		*o, *contact = json_null(), *lists = json_array();
	json_t		*events = json_array();
	redisReply	*rep, *camps;
	char		 ts[32];
	size_t		 i;
	int		 down = 0, bl;

	if (id != 0) {
		contact = api_contact_json(r, id, &down);
		if (down)
			goto fail;
		if (contact == NULL)
			contact = json_null();
		if ((rep = db_cmd(r->a->db, "SMEMBERS {t:%llu}:ct:%llu:lists",
		    (unsigned long long)r->tenant, (unsigned long long)id)) ==
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
	if ((rep = db_cmd(r->a->db, "HGET {t:%llu}:optouts:at %s",
	    (unsigned long long)r->tenant, key)) == NULL) {
		json_decref(o);
		goto fail;
	}
	json_object_set_new(o, "opted_out", json_boolean(rep->type ==
	    REDIS_REPLY_STRING));
	if (rep->type == REDIS_REPLY_STRING)
		json_object_set_new(o, "opted_out_at", json_string(api_iso_time(
		    strtoull(rep->str, NULL, 10), ts, sizeof(ts))));
	freeReplyObject(rep);
	if ((bl = blocklisted(r, key)) == -1) {
		json_decref(o);
		goto fail;
	}
	json_object_set_new(o, "blocklisted", json_boolean(bl));
	if (id != 0) {
		if ((camps = campaign_ids(r)) == NULL) {
			json_decref(o);
			goto fail;
		}
		for (i = 0; i < camps->elements; i++)
			if (campaign_events(r, camps->element[i]->str, id,
			    events) == -1) {
				freeReplyObject(camps);
				json_decref(o);
				goto fail;
			}
		freeReplyObject(camps);
	}
	json_object_set_new(o, "events", events);
	audit(r, "access", json_pack("{s:b, s:I}", "contact", id != 0,
	    "events", (json_int_t)json_array_size(events)));
	api_json(r, 200, o);
	return;
fail:
	if (contact != NULL)
		json_decref(contact);
	if (lists != NULL)
		json_decref(lists);
	json_decref(events);
	api_unavailable(r);
}

static void
subject_erase(struct api_req *r, const char *key, uint64_t id)
{
	struct api	*a = r->a;
	redisReply	*rep, *camps;
	json_t		*counts;
	char		 hash[65], keys[5][96], contact[24];
	long long	 events = 0, members = 0, lists = 0, optouts = 0;
	long long	 blocked = 0, contacts = 0;
	size_t		 i, k;
	static const char *const sfx[5] = { "events", "openers", "clickers",
	    "unsubscribers", "link_clickers" };

	/* The keyed hash first: the address is suppressed before any of
	 * its data goes, so no send can slip in between. */
	if (token_keyed_hash(&a->live->keys, 0, key, strlen(key), hash) == -1 ||
	    (rep = db_cmd(a->db, "SADD {t:%llu}:suppressed %s",
	    (unsigned long long)r->tenant, hash)) == NULL)
		goto fail;
	freeReplyObject(rep);
	if (id != 0) {
		snprintf(contact, sizeof(contact), "%llu",
		    (unsigned long long)id);
		if ((camps = campaign_ids(r)) == NULL)
			goto fail;
		for (i = 0; i < camps->elements; i++) {
			for (k = 0; k < 5; k++)
				snprintf(keys[k], sizeof(keys[k]),
				    "{t:%llu:c:%s}:%s",
				    (unsigned long long)r->tenant,
				    camps->element[i]->str, sfx[k]);
			rep = db_cmd(a->db, "EVAL %s 5 %s %s %s %s %s %s",
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
		if ((rep = db_cmd(a->db, "SCARD {t:%llu}:ct:%llu:lists",
		    (unsigned long long)r->tenant, (unsigned long long)id)) ==
		    NULL)
			goto fail;
		lists = rep->integer;
		freeReplyObject(rep);
		if (api_contact_remove(a, r->tenant, id) == -1)
			goto fail;
		contacts = 1;
		if ((rep = db_cmd(a->db, "ZREM {t:%llu}:optout_ids %llu",
		    (unsigned long long)r->tenant, (unsigned long long)id)) ==
		    NULL)
			goto fail;
		optouts += rep->integer;
		freeReplyObject(rep);
	}
	if ((rep = db_cmd(a->db, "ZREM {t:%llu}:optouts %s",
	    (unsigned long long)r->tenant, key)) == NULL)
		goto fail;
	optouts += rep->integer;
	freeReplyObject(rep);
	if ((rep = db_cmd(a->db, "HDEL {t:%llu}:optouts:at %s",
	    (unsigned long long)r->tenant, key)) == NULL)
		goto fail;
	freeReplyObject(rep);
	if ((rep = db_cmd(a->db, "ZREM {t:%llu}:blocklist %s",
	    (unsigned long long)r->tenant, key)) == NULL)
		goto fail;
	blocked = rep->integer;
	freeReplyObject(rep);
	if ((rep = db_cmd(a->db, "HDEL {t:%llu}:blocklist:at %s",
	    (unsigned long long)r->tenant, key)) != NULL)
		freeReplyObject(rep);
	counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
	    "contacts", (json_int_t)contacts, "events", (json_int_t)events,
	    "list_memberships", (json_int_t)lists,
	    "unique_memberships", (json_int_t)members,
	    "optouts", (json_int_t)optouts, "blocklist", (json_int_t)blocked);
	audit(r, "erase", counts);
	api_json(r, 200, json_pack("{s:o}", "erased", counts));
	return;
fail:
	api_unavailable(r);
}

void
api_subjects(struct api_req *r)
{
	redisReply	*rep;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	uint64_t	 id = 0;

	if (r->nseg != 3 || validate_email(r->seg[2], strlen(r->seg[2]), addr,
	    key) == -1) {
		api_error(r, 404, "not_found", "a data subject is named by an "
		    "email address: /v1/subjects/EMAIL");
		return;
	}
	if ((rep = db_cmd(r->a->db, "HGET {t:%llu}:ct:bykey %s",
	    (unsigned long long)r->tenant, key)) == NULL) {
		api_unavailable(r);
		return;
	}
	if (rep->type == REDIS_REPLY_STRING)
		parse_u64(rep->str, rep->len, &id);
	freeReplyObject(rep);
	if (r->method == HTTP_GET)
		subject_get(r, key, id);
	else if (r->method == HTTP_DELETE)
		subject_erase(r, key, id);
	else
		api_error(r, 405, "method_not_allowed", "use GET or DELETE");
}

/* 1 when the address was erased before (its keyed hash is suppressed,
 * under any key of the ring), 0 not, -1 on failure. */
int
api_suppressed(struct api *a, uint64_t tenant, const char *key)
{
	redisReply	*rep;
	char		 hash[65];
	int		 i, rc = 0;

	for (i = 0; i < a->live->keys.nkeys && rc == 0; i++) {
		token_keyed_hash(&a->live->keys, i, key, strlen(key), hash);
		if ((rep = db_cmd(a->db, "SISMEMBER {t:%llu}:suppressed %s",
		    (unsigned long long)tenant, hash)) == NULL)
			return -1;
		rc = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
		freeReplyObject(rep);
	}
	return rc;
}
