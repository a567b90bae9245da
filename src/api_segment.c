/*
 * api_segment.c: /v1/segments, a tenant's saved segments, and their
 * count (API.md "Segments"; the rules are segment.c's, the storage and
 * the paged evaluation store_segment.c's).
 *
 *   POST   /v1/segments              {"name", "match", "rules"} -> 201
 *   GET    /v1/segments              {"items": [segment...]}
 *   GET    /v1/segments/{id}         the segment
 *   PATCH  /v1/segments/{id}         name, match and/or rules -> 200
 *   DELETE /v1/segments/{id}         204
 *   GET    /v1/segments/{id}/count   {"count"}
 *
 * A count walks every contact of the tenant (or of the list every match
 * is on) a page at a time on the worker thread that has the request, so
 * the main loop goes on serving; at most SEGMENT_COUNTS_MAX counts run
 * at once, so the other workers stay free for everything else (one
 * more is answered 503 busy).  A campaign's launch evaluates its
 * segment the same way, once (api_launch.c).
 *
 * Never: store a definition segment_parse did not accept, or answer a
 * count from anything but a walk made now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "segment.h"
#include "store_campaign.h"
#include "store_list.h"
#include "store_segment.h"

#define SEGMENT_COUNTS_MAX	2	/* of api.c's 4 workers */

static int	counts_running;		/* atomic */

static void
segment_error(struct api_req *r, const struct segment_error *err)
{
	json_t	*e;

	if (err->rule < 0) {
		api_error(r, err->status, err->code, "%s", err->message);
		return;
	}
	e = json_pack("{s:{s:s, s:s, s:i}}", "error", "code", err->code,
	    "message", err->message, "rule", err->rule);
	api_json(r, err->status, e);
}

/*
 * The lists and campaigns the rules name must exist when the segment is
 * saved (a typo would select nobody, silently).  0, or -1 after
 * answering 422 invalid_reference or 503.
 */
static int
check_refs(struct api_req *r, const struct segment *seg)
{
	const struct segment_set *sets;
	struct campaign		  c;
	char			 *name = NULL;
	size_t			  n, i;
	int			  rc;

	sets = segment_sets(seg, &n);
	for (i = 0; i < n; i++) {
		if (sets[i].kind == SEGMENT_SET_LIST) {
			rc = store_list_name(r->db, r->tenant, sets[i].id,
			    &name);
			free(name);
			name = NULL;
		} else if (sets[i].kind == SEGMENT_SET_MAILED)
			continue;	/* its campaign's openers asked too */
		else {
			rc = store_campaign_get(r->db, r->tenant, sets[i].id,
			    &c);
			if (rc == 1)
				store_campaign_free(&c);
		}
		if (rc == -1) {
			api_unavailable(r);
			return -1;
		}
		if (rc == 0) {
			api_error(r, 422, "invalid_reference", "no such %s %llu",
			    sets[i].kind == SEGMENT_SET_LIST ? "list" :
			    "campaign", (unsigned long long)sets[i].id);
			return -1;
		}
	}
	return 0;
}

/* The segment's API object: its definition, id and times. */
static json_t *
segment_object(uint64_t id, const char *def, uint64_t created_at,
    uint64_t updated_at)
{
	json_t	*o;
	char	 idbuf[24];

	if ((o = json_loads(def, 0, NULL)) == NULL || !json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	json_object_set_new(o, "id", json_string(idbuf));
	api_set_time(o, "created_at", created_at);
	api_set_time(o, "updated_at", updated_at);
	return o;
}

/* Parses def (need_name as segment_parse) and checks what it names; a
 * new segment, or NULL after answering. */
static struct segment *
parse_checked(struct api_req *r, json_t *def, int need_name)
{
	struct segment_error	 err;
	struct segment		*seg;

	if ((seg = segment_parse(def, r->a->special, need_name, &err)) ==
	    NULL) {
		segment_error(r, &err);
		return NULL;
	}
	if (check_refs(r, seg) == -1) {
		segment_free(seg);
		return NULL;
	}
	return seg;
}

static void
segment_create(struct api_req *r)
{
	struct segment	*seg = NULL;
	json_t		*body, *canon = NULL;
	char		*def = NULL, idbuf[24];
	uint64_t	 id, now = now_ms();

	if (api_body_object(r, &body) == -1)
		return;
	if ((seg = parse_checked(r, body, 1)) == NULL)
		goto out;
	canon = segment_json(seg);
	def = json_dumps(canon, JSON_COMPACT);
	if (def == NULL || strlen(def) > SEGMENT_DEF_MAX) {
		api_error(r, 422, "invalid_segment", "the definition is over "
		    "%d bytes", SEGMENT_DEF_MAX);
		goto out;
	}
	if (store_segment_create(r->db, r->tenant, def, now, &id) == -1) {
		api_unavailable(r);
		goto out;
	}
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	json_object_set_new(canon, "id", json_string(idbuf));
	api_set_time(canon, "created_at", now);
	api_set_time(canon, "updated_at", now);
	api_json(r, 201, canon);
	canon = NULL;
out:
	free(def);
	json_decref(canon);
	segment_free(seg);
	json_decref(body);
}

static void
segment_list(struct api_req *r)
{
	uint64_t	*ids = NULL, ca, ua;
	json_t		*items;
	char		*def;
	size_t		 i, n;
	int		 rc;

	if (store_segment_ids(r->db, r->tenant, &ids, &n) == -1) {
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		if ((rc = store_segment_get(r->db, r->tenant, ids[i], &def,
		    &ca, &ua)) == -1) {
			json_decref(items);
			free(ids);
			api_unavailable(r);
			return;
		}
		if (rc == 1)
			json_array_append_new(items, segment_object(ids[i], def,
			    ca, ua));
		free(def);
	}
	free(ids);
	api_json(r, 200, json_pack("{s:o}", "items", items));
}

/* PATCH: the members given replace the stored ones, and the whole is
 * checked again. */
static void
segment_patch(struct api_req *r, uint64_t id, const char *old)
{
	struct segment	*seg = NULL;
	json_t		*body, *def, *canon = NULL;
	char		*text = NULL;
	uint64_t	 ca = 0, ua = 0;
	int		 rc;

	if (api_body_object(r, &body) == -1)
		return;
	if ((def = json_loads(old, 0, NULL)) == NULL)
		def = json_object();
	json_object_update(def, body);
	if ((seg = parse_checked(r, def, 1)) == NULL)
		goto out;
	canon = segment_json(seg);
	text = json_dumps(canon, JSON_COMPACT);
	if (text == NULL || strlen(text) > SEGMENT_DEF_MAX) {
		api_error(r, 422, "invalid_segment", "the definition is over "
		    "%d bytes", SEGMENT_DEF_MAX);
		goto out;
	}
	if ((rc = store_segment_update(r->db, r->tenant, id, text,
	    now_ms())) == 1) {
		free(text);
		text = NULL;
		rc = store_segment_get(r->db, r->tenant, id, &text, &ca, &ua);
	}
	if (api_found(r, rc, "segment") == 0)
		api_json(r, 200, segment_object(id, text, ca, ua));
out:
	free(text);
	json_decref(canon);
	json_decref(def);
	segment_free(seg);
	json_decref(body);
}

static void
segment_count(struct api_req *r, uint64_t id, const char *def)
{
	struct segment_error	 err;
	struct segment		*seg;
	json_t			*j;
	long long		 count;
	uint64_t		 t0 = mono_ms();
	int			 rc;

	if ((j = json_loads(def, 0, NULL)) == NULL) {
		api_unavailable(r);
		return;
	}
	/* As stored: the list of special categories may have grown since,
	 * and a saved segment that names one now is refused here too. */
	seg = segment_parse(j, r->a->special, 0, &err);
	json_decref(j);
	if (seg == NULL) {
		segment_error(r, &err);
		return;
	}
	if (__atomic_add_fetch(&counts_running, 1, __ATOMIC_SEQ_CST) >
	    SEGMENT_COUNTS_MAX) {
		__atomic_sub_fetch(&counts_running, 1, __ATOMIC_SEQ_CST);
		segment_free(seg);
		api_busy(r, "other segment counts are running");
		return;
	}
	rc = store_segment_count(r->db, r->tenant, seg,
	    segment_scan_list(seg), &count);
	__atomic_sub_fetch(&counts_running, 1, __ATOMIC_SEQ_CST);
	segment_free(seg);
	if (rc == -1) {
		api_unavailable(r);
		return;
	}
	log_debug("segment %llu of tenant %llu: %lld contacts in %llu ms",
	    (unsigned long long)id, (unsigned long long)r->tenant, count,
	    (unsigned long long)(mono_ms() - t0));
	api_json(r, 200, json_pack("{s:I}", "count", (json_int_t)count));
}

void
api_segments(struct api_req *r)
{
	uint64_t	 id, ca, ua;
	char		*def = NULL;
	int		 rc;

	if (r->nseg == 2) {
		if (r->method == HTTP_POST)
			segment_create(r);
		else
			segment_list(r);
		return;
	}
	if (parse_u64(r->seg[2], strlen(r->seg[2]), &id) == -1 ||
	    (r->nseg == 4 && strcmp(r->seg[3], "count") != 0)) {
		api_error(r, 404, "not_found", "no such segment");
		return;
	}
	if (r->method == HTTP_DELETE) {
		if ((rc = store_segment_delete(r->db, r->tenant, id)) == 1)
			api_nocontent(r);
		else
			(void)api_found(r, rc, "segment");
		return;
	}
	rc = store_segment_get(r->db, r->tenant, id, &def, &ca, &ua);
	if (api_found(r, rc, "segment") == -1)
		return;
	if (r->nseg == 4)
		segment_count(r, id, def);
	else if (r->method == HTTP_PATCH)
		segment_patch(r, id, def);
	else
		api_json(r, 200, segment_object(id, def, ca, ua));
	free(def);
}

/* The stored segment id, parsed and checked as a launch would: 1 with
 * *def (canonical text), 0 when there is no such segment, -2 when it no
 * longer parses (err says why), -1 when Redis failed.  Answers nothing:
 * the due job (no request) uses it too. */
static int
segment_load_def(struct api *a, struct db *db, uint64_t tenant,
    uint64_t id, char **def, struct segment_error *err)
{
	struct segment		*seg;
	json_t			*j, *canon;
	uint64_t		 ca, ua;
	char			*stored = NULL;
	int			 rc;

	*def = NULL;
	if ((rc = store_segment_get(db, tenant, id, &stored, &ca, &ua)) != 1)
		return rc;
	j = json_loads(stored, 0, NULL);
	free(stored);
	if (j == NULL)
		return -1;
	seg = segment_parse(j, a->special, 0, err);
	json_decref(j);
	if (seg == NULL)
		return -2;
	canon = segment_json(seg);
	segment_free(seg);
	*def = json_dumps(canon, JSON_COMPACT);
	json_decref(canon);
	return *def != NULL ? 1 : -1;
}

/* segment_load_def for a request: 1 with *def, 0 when there is no such
 * segment, -1 after answering. */
static int
segment_checked_def(struct api_req *r, uint64_t id, char **def)
{
	struct segment_error	 err;
	int			 rc;

	switch ((rc = segment_load_def(r->a, r->db, r->tenant, id, def,
	    &err))) {
	case -2:
		segment_error(r, &err);
		return -1;
	case -1:
		api_unavailable(r);
		return -1;
	default:
		return rc;
	}
}

int
api_segment_ref(struct api_req *r, json_t *v, uint64_t *id)
{
	char	*def = NULL;
	int	 rc;

	if (!json_is_string(v) || parse_u64(json_string_value(v),
	    json_string_length(v), id) == -1 || *id == 0) {
		api_error(r, 422, "invalid_reference", "segment_id: a segment "
		    "id (a string)");
		return -1;
	}
	if ((rc = segment_checked_def(r, *id, &def)) == 0)
		api_error(r, 422, "invalid_reference", "no such segment");
	free(def);
	return rc == 1 ? 0 : -1;
}

int
api_segment_launch_def(struct api_req *r, uint64_t campaign, char **def)
{
	struct campaign	c;
	uint64_t	id;
	int		rc, draft;

	*def = NULL;
	if ((rc = store_campaign_get(r->db, r->tenant, campaign, &c)) == -1) {
		api_unavailable(r);
		return -1;
	}
	if (rc == 0)
		return 0;		/* store_launch's 404 */
	id = c.segment_id;
	draft = c.status != NULL && strcmp(c.status, "draft") == 0;
	store_campaign_free(&c);
	/* Only a draft is launched: any other is store_launch's 409. */
	if (id == 0 || !draft)
		return 0;
	if ((rc = segment_checked_def(r, id, def)) == 0)
		api_error(r, 422, "invalid_campaign", "the campaign's segment "
		    "%llu no longer exists", (unsigned long long)id);
	return rc == 1 ? 1 : -1;
}

int
api_segment_due_def(struct api *a, struct db *db, uint64_t tenant,
    uint64_t campaign, char **def)
{
	struct segment_error	err;
	struct campaign		c;
	uint64_t		id;
	int			rc;

	*def = NULL;
	if ((rc = store_campaign_get(db, tenant, campaign, &c)) != 1)
		return rc;		/* -1, or 0: launch.lua's "gone" */
	id = c.segment_id;
	store_campaign_free(&c);
	if (id == 0)
		return 0;
	switch ((rc = segment_load_def(a, db, tenant, id, def, &err))) {
	case 0:
		log_warnx("campaign %llu of tenant %llu: its segment %llu no "
		    "longer exists: not launched", (unsigned long long)campaign,
		    (unsigned long long)tenant, (unsigned long long)id);
		return -2;
	case -2:
		log_warnx("campaign %llu of tenant %llu: its segment %llu: %s: "
		    "not launched", (unsigned long long)campaign,
		    (unsigned long long)tenant, (unsigned long long)id,
		    err.message);
		return -2;
	default:
		return rc;
	}
}
