/*
 * store_template.c: a tenant's templates, in Redis (store_template.h
 * says what each function answers).  The links are stored as a JSON
 * array of strings, which the senders read too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_tenant.h"
#include "store_template.h"

static const char *const part_names[TEMPLATE_NPARTS] = {
	"name", "subject", "html", "text"
};

const char *
template_part_name(enum template_part p)
{
	return p < TEMPLATE_NPARTS ? part_names[p] : NULL;
}

/* The links field's text: a JSON array of the URLs (the caller frees). */
static char *
links_encode(const char *const *links, size_t n)
{
	json_t	*a = json_array();
	char	*text;
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(links[i]));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (text == NULL)
		fatalx("json_dumps: out of memory");
	return text;
}

/* 0 with the URLs in t, -1 when the text is no JSON array. */
static int
links_decode(struct template *t, const char *text, size_t len)
{
	json_t		*a, *v;
	size_t		 i;

	if ((a = json_loadb(text, len, 0, NULL)) == NULL)
		return -1;
	if (!json_is_array(a)) {
		json_decref(a);
		return -1;
	}
	t->links = xcalloc(json_array_size(a) + 1, sizeof(*t->links));
	json_array_foreach(a, i, v)
		if (json_is_string(v))
			t->links[t->nlinks++] = xstrndup(json_string_value(v),
			    json_string_length(v));
	json_decref(a);
	return 0;
}

/* One field of the template hash: a part or the links. */
static void
template_field(void *arg, const char *f, size_t flen, const char *v,
    size_t len)
{
	struct template	*t = arg;
	int		 p;

	(void)flen;
	if (strcmp(f, "version") == 0) {
		(void)parse_u64(v, len, &t->version);
		return;
	}
	if (strcmp(f, "links") == 0) {
		if (!t->has_links && links_decode(t, v, len) == 0)
			t->has_links = 1;
		return;
	}
	for (p = 0; p < TEMPLATE_NPARTS; p++)
		if (strcmp(f, part_names[p]) == 0 && t->part[p] == NULL) {
			t->part[p] = xstrndup(v, len);
			t->part_len[p] = len;
		}
}

int
store_template_get(struct db *db, uint64_t tenant, uint64_t id,
    struct template *t)
{
	struct key	k;

	memset(t, 0, sizeof(*t));
	return db_hash_each(db, key_template(&k, tenant, id), template_field,
	    t);
}

void
store_template_free(struct template *t)
{
	size_t	i;

	for (i = 0; i < TEMPLATE_NPARTS; i++)
		free(t->part[i]);
	for (i = 0; i < t->nlinks; i++)
		free(t->links[i]);
	free(t->links);
	memset(t, 0, sizeof(*t));
}

int
store_template_put(struct db *db, uint64_t tenant, uint64_t id,
    const char *const part[TEMPLATE_NPARTS],
    const size_t part_len[TEMPLATE_NPARTS], const char *const *links,
    size_t nlinks, uint64_t updated_at)
{
	redisReply	*rep;
	struct key	 k;
	char		*ltext;
	long long	 version;
	int		 rc;

	ltext = links_encode(links, nlinks);
	rep = db_cmd(db, "HSET %s name %b subject %b html %b text %b "
	    "links %s updated_at %llu", key_template(&k, tenant, id),
	    part[TEMPLATE_NAME], part_len[TEMPLATE_NAME],
	    part[TEMPLATE_SUBJECT], part_len[TEMPLATE_SUBJECT],
	    part[TEMPLATE_HTML], part_len[TEMPLATE_HTML],
	    part[TEMPLATE_TEXT], part_len[TEMPLATE_TEXT], ltext,
	    (unsigned long long)updated_at);
	free(ltext);
	rc = reply_ok(rep) ? 0 : -1;
	if (rep != NULL)
		freeReplyObject(rep);
	/* After the parts: a sender that sees the new version sees the new
	 * parts (one that read the new parts under the old version only
	 * compiles them once more). */
	if (rc == 0 && db_cmd_int(db, &version, "HINCRBY %s version 1",
	    key_template(&k, tenant, id)) == -1)
		rc = -1;
	return rc;
}

int
store_template_version(struct db *db, uint64_t tenant, uint64_t id,
    uint64_t *version)
{
	redisReply	*rep;
	struct key	 k;
	const char	*v;
	size_t		 len;
	int		 rc = -1;

	*version = 0;
	if ((rep = db_cmd(db, "HGET %s version", key_template(&k, tenant,
	    id))) == NULL)
		return -1;
	if (!reply_is_error(rep, NULL)) {
		rc = 1;
		if ((v = reply_str(rep, &len)) != NULL &&
		    parse_u64(v, len, version) == -1)
			*version = 0;
	}
	freeReplyObject(rep);
	return rc;
}

int
store_template_create(struct db *db, uint64_t tenant,
    const char *const part[TEMPLATE_NPARTS],
    const size_t part_len[TEMPLATE_NPARTS], const char *const *links,
    size_t nlinks, uint64_t updated_at, uint64_t *id)
{
	if (store_tenant_next_id(db, tenant, "template", id) == -1)
		return -1;
	return store_template_put(db, tenant, *id, part, part_len, links,
	    nlinks, updated_at);
}

/* ------------------------------------------------- the app's listing */

void
store_template_infos_free(struct template_info *t, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].subject);
	}
	free(t);
}

int
store_template_all(struct db *db, uint64_t tenant, struct template_info **out,
    size_t *nout)
{
	redisReply	*rep;
	struct key	 k;
	struct template_info *t = NULL;
	uint64_t	 last, from, to, id;
	const char	*s;
	size_t		 n = 0, cap = 0, len;
	int		 ret = 0;

	*out = NULL;
	*nout = 0;
	if (store_tenant_last_id(db, tenant, "template", &last) == -1)
		return -1;
	/* As store_list_all: ids 1 to the last, no index needed; HMGET of
	 * two short fields, never the bodies. */
	for (from = 1; from <= last && ret == 0; from = to + 1) {
		to = last - from >= STORE_TEMPLATE_BATCH ? from +
		    STORE_TEMPLATE_BATCH - 1 : last;
		for (id = from; id <= to; id++)
			if (db_append(db, "HMGET %s name subject",
			    key_template(&k, tenant, id)) == -1) {
				db_discard(db);
				store_template_infos_free(t, n);
				return -1;
			}
		for (id = from; id <= to; id++) {
			rep = db_reply(db);
			if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
			    rep->elements != 2)
				ret = -1;
			else if ((s = reply_str(rep->element[0], &len)) !=
			    NULL) {
				if (n == cap) {
					cap = cap ? 2 * cap : 16;
					t = xreallocarray(t, cap, sizeof(*t));
				}
				t[n].id = id;
				t[n].name = xstrndup(s, len);
				s = reply_str(rep->element[1], &len);
				t[n++].subject = s != NULL ? xstrndup(s, len) :
				    NULL;
			}
			freeReplyObject(rep);
		}
	}
	if (ret == -1) {
		store_template_infos_free(t, n);
		return -1;
	}
	*out = t;
	*nout = n;
	return 0;
}
