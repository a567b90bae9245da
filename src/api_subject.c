/*
 * api_subject.c: data-subject rights (GDPR Art. 15 access, Art. 17
 * erasure; CCPA) for one address within one tenant.
 *
 * GET gathers everything held: the contact, its lists, opt-out and
 * blocklist state, every tracking event of the contact in the tenant's
 * campaigns, and its bounces and complaints (store_bounce.c).  DELETE erases all of it: contact, address index,
 * list memberships, opt-out entries, the per-person events (each
 * campaign's stream is rewritten without them by erase.lua, atomically
 * against the tracker's writes) and unique-count memberships.  What
 * stays is a keyed hash of the address (HMAC with the token secret) in
 * {t:T}:suppressed, so a later import of the address is never mailed.
 * Both requests are written to the tenant's audit stream with the key
 * prefix (fanfarectl's: "fanfarectl") and the counts, never the address.
 *
 * api_subject_export and api_subject_erase are the whole of it, over an
 * api_ctx: the HTTP handler and fanfarectl call them, and nothing else
 * erases a person.  They compose the stores (store_contact.c,
 * store_list.c, store_suppress.c, store_subject.c) and build the
 * answer; none of them touches Redis itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store_bounce.h"
#include "store_contact.h"
#include "store_list.h"
#include "store_subject.h"
#include "store_suppress.h"

static void
audit(const struct api_ctx *ctx, const char *action, json_t *counts)
{
	char	*text = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);

	if (store_subject_audit(ctx->db, ctx->tenant, ctx->actor, action,
	    text) == -1)
		log_warnx("tenant %llu: audit record of %s not written",
		    (unsigned long long)ctx->tenant, action);
	free(text);
}

/* The address's match key and its contact id (0: none); -1 after
 * setting err (not an address: 404, as the API's path names nothing). */
static int
subject_find(const struct api_ctx *ctx, const char *address,
    char key[FF_EMAIL_MAX + 1], uint64_t *id, struct api_err *err)
{
	char	addr[FF_EMAIL_MAX + 1];

	*id = 0;
	if (validate_email(address, strlen(address), addr, key) == -1) {
		api_err_set(err, 404, "not_found", "a data subject is named by "
		    "an email address: /v1/subjects/EMAIL");
		return -1;
	}
	if (store_contact_find(ctx->db, ctx->tenant, key, id) == -1) {
		api_err_unavailable(err);
		return -1;
	}
	return 0;
}

/* The contact as the API shows it, or null when it is gone; NULL when
 * Redis failed. */
static json_t *
export_contact(const struct api_ctx *ctx, uint64_t id)
{
	struct contact	 c;
	json_t		*o = NULL;

	switch (store_contact_get(ctx->db, ctx->tenant, ctx->keys, id, &c)) {
	case 1:
		o = contact_json(&c);
		break;
	case 0:
		o = json_null();
		break;
	}
	contact_clear(&c);
	return o;
}

/* [{"id"}] of the contact's lists; NULL when Redis failed. */
static json_t *
export_lists(const struct api_ctx *ctx, uint64_t id)
{
	json_t		*o;
	uint64_t	*lists;
	size_t		 n, i;
	char		 buf[24];

	if (store_list_of_contact(ctx->db, ctx->tenant, id, &lists, &n) == -1)
		return NULL;
	o = json_array();
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)lists[i]);
		json_array_append_new(o, json_pack("{s:s}", "id", buf));
	}
	free(lists);
	return o;
}

/* The contact's tracking events; NULL when Redis failed. */
static json_t *
export_events(const struct api_ctx *ctx, uint64_t id)
{
	struct subject_event	*ev;
	json_t			*o, *e;
	size_t			 n, i;
	char			 cid[24], ts[32];

	if (store_subject_events(ctx->db, ctx->tenant, id, &ev, &n) == -1)
		return NULL;
	o = json_array();
	for (i = 0; i < n; i++) {
		snprintf(cid, sizeof(cid), "%llu",
		    (unsigned long long)ev[i].campaign);
		e = json_pack("{s:s, s:s, s:s, s:o, s:b}", "campaign", cid,
		    "time", api_iso_time(ev[i].time, ts, sizeof(ts)),
		    "kind", ev[i].kind == 'o' ? "open" :
		    ev[i].kind == 'c' ? "click" : "unsubscribe",
		    "country", strcmp(ev[i].country, "--") == 0 ?
		    json_null() : json_string(ev[i].country),
		    "machine", ev[i].machine);
		if (ev[i].kind == 'c')
			json_object_set_new(e, "link",
			    json_integer((json_int_t)ev[i].link));
		json_array_append_new(o, e);
	}
	free(ev);
	return o;
}

/* The contact's bounces and complaints, oldest first; NULL when Redis
 * failed. */
static json_t *
export_bounces(const struct api_ctx *ctx, uint64_t id)
{
	struct bounce_page	 page;
	json_t			*o;
	size_t			 i;
	char			 cid[24], ts[32];

	if (store_bounce_subject(ctx->db, ctx->tenant, id, &page) == -1)
		return NULL;
	o = json_array();
	for (i = 0; i < page.n; i++) {
		snprintf(cid, sizeof(cid), "%llu",
		    (unsigned long long)page.items[i].campaign);
		json_array_append_new(o, json_pack("{s:s, s:s, s:s, s:s, s:s}",
		    "kind", page.items[i].kind, "status",
		    page.items[i].status, "diagnostic",
		    page.items[i].diagnostic, "campaign", cid, "at",
		    api_iso_time(page.items[i].at, ts, sizeof(ts))));
	}
	bounce_page_free(&page);
	return o;
}

json_t *
api_subject_export(const struct api_ctx *ctx, const char *address,
    struct api_err *err)
{
	json_t		*o = NULL, *contact = NULL, *lists = NULL;
	json_t		*events = NULL, *bounces = NULL, *counts;
	char		 key[FF_EMAIL_MAX + 1], ts[32];
	uint64_t	 id, at;
	int		 opted, blocked;

	if (subject_find(ctx, address, key, &id, err) == -1)
		return NULL;
	if (id != 0) {
		if ((contact = export_contact(ctx, id)) == NULL ||
		    (lists = export_lists(ctx, id)) == NULL)
			goto fail;
	} else {
		contact = json_null();
		lists = json_array();
	}
	if ((opted = store_optout_time(ctx->db, ctx->tenant, key,
	    &at)) == -1 ||
	    (blocked = store_blocklist_match(ctx->db, ctx->tenant,
	    key)) == -1)
		goto fail;
	if ((events = id != 0 ? export_events(ctx, id) : json_array()) ==
	    NULL)
		goto fail;
	if ((bounces = id != 0 ? export_bounces(ctx, id) : json_array()) ==
	    NULL) {
		json_decref(events);
		goto fail;
	}
	o = json_pack("{s:s, s:o, s:o, s:[], s:b}", "email", key, "contact",
	    contact, "lists", lists, "messages", "opted_out", opted);
	if (opted)
		json_object_set_new(o, "opted_out_at", json_string(
		    api_iso_time(at, ts, sizeof(ts))));
	json_object_set_new(o, "blocklisted", json_boolean(blocked));
	json_object_set_new(o, "events", events);
	json_object_set_new(o, "bounces", bounces);
	counts = json_pack("{s:b, s:I}", "contact", id != 0, "events",
	    (json_int_t)json_array_size(events));
	audit(ctx, "access", counts);
	json_decref(counts);
	return o;
fail:
	json_decref(contact);
	json_decref(lists);
	api_err_unavailable(err);
	return NULL;
}

json_t *
api_subject_erase(const struct api_ctx *ctx, const char *address,
    struct api_err *err)
{
	json_t		*counts;
	char		 key[FF_EMAIL_MAX + 1];
	uint64_t	 id;
	long long	 events = 0, members = 0, lists = 0, optouts = 0;
	long long	 removed = 0, contacts = 0, bounces = 0;
	int		 blocked;

	if (subject_find(ctx, address, key, &id, err) == -1)
		return NULL;
	/* The keyed hash first: the address is suppressed before any of
	 * its data goes, so no send can slip in between. */
	if (store_erased_add(ctx->db, ctx->tenant, ctx->keys, key) == -1)
		goto fail;
	if (id != 0) {
		if (store_subject_erase_events(ctx->db, ctx->tenant, id,
		    &events, &members) == -1 ||
		    store_bounce_subject_erase(ctx->db, ctx->tenant, id, key,
		    &bounces) == -1 ||
		    store_contact_remove(ctx->db, ctx->tenant, id,
		    &lists) == -1)
			goto fail;
		contacts = 1;
		if (store_optout_remove_contact(ctx->db, ctx->tenant, id,
		    &removed) == -1)
			goto fail;
		optouts += removed;
	}
	if (store_optout_remove(ctx->db, ctx->tenant, key, &removed) == -1)
		goto fail;
	optouts += removed;
	if ((blocked = store_blocklist_remove(ctx->db, ctx->tenant,
	    key)) == -1)
		goto fail;
	counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "contacts", (json_int_t)contacts, "events", (json_int_t)events,
	    "list_memberships", (json_int_t)lists,
	    "unique_memberships", (json_int_t)members,
	    "optouts", (json_int_t)optouts, "blocklist", (json_int_t)blocked,
	    "bounces", (json_int_t)bounces);
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
