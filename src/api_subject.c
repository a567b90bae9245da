/*
 * api_subject.c: data-subject rights (GDPR Art. 15 access, Art. 17
 * erasure; CCPA) for one address within one tenant.
 *
 * GET gathers everything held: the contact, its lists, opt-out and
 * blocklist state, every message sent to it (each campaign's message
 * record: campaign, time, outcome), every bounce (5xx to RCPT, and the
 * reports store_bounce.c read: DSNs and complaints), and every tracking
 * event of the contact in the tenant's campaigns, and its consent
 * records (signup forms: store_form.c).  DELETE erases all of
 * it: contact, address index, list memberships, consent records,
 * opt-out entries, the
 * bounce entries (the address in clear), the message records, the
 * per-person events (each campaign's stream is rewritten without them
 * by erase.lua, atomically against the tracker's writes) and
 * unique-count memberships.  What stays is keyed hashes (HMAC with the
 * token secret): of the address in {t:T}:suppressed, so a later import
 * of the address is never mailed; of the contact id in
 * {t:T}:suppressed and in each campaign's {t:T:c:C}:erased, the
 * tombstones that stop whatever is still in flight (a spool not
 * shipped, a retry, another node, a late hit or outcome) from writing
 * per-person data back.  The hashes go in before anything is removed.
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
#include "store_event.h"
#include "store_contact.h"
#include "store_form.h"
#include "store_list.h"
#include "store_sequence.h"
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

static const char *
outcome_name(char o)
{
	switch (o) {
	case 's':
		return "sent";
	case 'b':
		return "bounced";
	case 'f':
		return "failed";
	default:
		return "deferred";
	}
}

/* The messages sent to the contact into *messages, and its bounces (the
 * bounced messages; the address's entry in {t:T}:bounces when no
 * message record names it) into *bounces; -1 when Redis failed. */
static int
export_messages(const struct api_ctx *ctx, uint64_t id, const char *key,
    json_t **messages, json_t **bounces)
{
	struct subject_message	*m = NULL;
	size_t			 n = 0, i;
	uint64_t		 at;
	char			 cid[24], ts[32];
	int			 listed;

	if (id != 0 && store_subject_messages(ctx->db, ctx->tenant, id, &m,
	    &n) == -1)
		return -1;
	if ((listed = store_bounce_time(ctx->db, ctx->tenant, key,
	    &at)) == -1) {
		free(m);
		return -1;
	}
	*messages = json_array();
	*bounces = json_array();
	for (i = 0; i < n; i++) {
		snprintf(cid, sizeof(cid), "%llu",
		    (unsigned long long)m[i].campaign);
		json_array_append_new(*messages, json_pack("{s:s, s:s, s:s}",
		    "campaign", cid, "time", api_iso_time(m[i].time, ts,
		    sizeof(ts)), "outcome", outcome_name(m[i].outcome)));
		if (m[i].outcome == 'b') {
			json_array_append_new(*bounces, json_pack("{s:s, s:s, "
			    "s:s}", "campaign", cid, "time", api_iso_time(
			    m[i].time, ts, sizeof(ts)), "kind", "hard"));
			listed = 0;
		}
	}
	/* A bounce from before message records (or of a contact since
	 * removed): the address's own entry. */
	if (listed)
		json_array_append_new(*bounces, json_pack("{s:n, s:s, s:s}",
		    "campaign", "time", api_iso_time(at, ts, sizeof(ts)),
		    "kind", "hard"));
	free(m);
	return 0;
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

/* The contact's entries of the tenant's event log (what the feed and
 * webhooks give out), oldest first, as delivered; NULL when Redis
 * failed. */
static json_t *
export_event_log(const struct api_ctx *ctx, uint64_t id)
{
	struct event_page	 page;
	json_t			*a, *e;
	size_t			 i;

	a = json_array();
	if (id == 0)
		return a;
	if (store_event_subject(ctx->db, ctx->tenant, id, &page) == -1) {
		json_decref(a);
		return NULL;
	}
	for (i = 0; i < page.n; i++)
		if ((e = json_loads(page.items[i], 0, NULL)) != NULL)
			json_array_append_new(a, e);
	event_page_free(&page);
	return a;
}

/* Appends to bounces the reports store_bounce.c read for the contact
 * (DSNs, complaints), oldest first; -1 when Redis failed. */
static int
append_reports(const struct api_ctx *ctx, uint64_t id, json_t *bounces)
{
	struct bounce_page	 page;
	size_t			 i;
	char			 cid[24], ts[32];

	if (store_bounce_subject(ctx->db, ctx->tenant, id, &page) == -1)
		return -1;
	for (i = 0; i < page.n; i++) {
		snprintf(cid, sizeof(cid), "%llu",
		    (unsigned long long)page.items[i].campaign);
		json_array_append_new(bounces, json_pack("{s:s, s:s, s:s, "
		    "s:s, s:s}", "campaign", cid, "time",
		    api_iso_time(page.items[i].at, ts, sizeof(ts)), "kind",
		    page.items[i].kind, "status", page.items[i].status,
		    "diagnostic", page.items[i].diagnostic));
	}
	bounce_page_free(&page);
	return 0;
}

/* The contact's consent records (signup.c writes them), as stored;
 * NULL when Redis failed. */
static json_t *
export_consents(const struct api_ctx *ctx, uint64_t id)
{
	json_t	*a = json_array(), *rec;
	char	**items;
	size_t	 i, n;

	if (id == 0)
		return a;
	if (store_consents(ctx->db, ctx->tenant, id, &items, &n) == -1) {
		json_decref(a);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((rec = json_loads(items[i], 0, NULL)) != NULL)
			json_array_append_new(a, rec);
	store_consents_free(items, n);
	return a;
}

/* The address's sign-ups still waiting for their confirmation (what a
 * form stored of the person); NULL when Redis failed. */
static json_t *
export_signups(const struct api_ctx *ctx, const char *key)
{
	struct signup_rec	 s;
	json_t			*a = json_array();
	uint64_t		*ids;
	char			 hash[SIGNUP_HASH_LEN + 1], ts[32], form[24];
	size_t			 i, n;
	int			 rc = 0;

	signup_hash(ctx->keys, key, hash);
	if (store_signup_ids(ctx->db, ctx->tenant, hash, &ids, &n) == -1) {
		json_decref(a);
		return NULL;
	}
	for (i = 0; i < n && rc != -1; i++) {
		if ((rc = store_signup_get(ctx->db, ctx->tenant, ids[i],
		    &s)) != 1)
			continue;
		snprintf(form, sizeof(form), "%llu",
		    (unsigned long long)s.form);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?, s:s?, "
		    "s:I, s:s, s:s}", "form", form, "email",
		    s.email, "first_name", s.first_name, "last_name",
		    s.last_name, "consent_version",
		    (json_int_t)s.consent_version, "asked_at",
		    api_iso_time(s.asked_at, ts, sizeof(ts)),
		    "country", s.country));
		store_signup_rec_free(&s);
	}
	free(ids);
	if (rc == -1) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *
api_subject_export(const struct api_ctx *ctx, const char *address,
    struct api_err *err)
{
	json_t		*o = NULL, *contact = NULL, *lists = NULL;
	json_t		*events = NULL, *messages = NULL, *bounces = NULL;
	json_t		*counts, *consents, *log, *signups;
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
	if (export_messages(ctx, id, key, &messages, &bounces) == -1)
		goto fail;
	if ((events = id != 0 ? export_events(ctx, id) : json_array()) ==
	    NULL)
		goto fail;
	if ((consents = export_consents(ctx, id)) == NULL) {
		json_decref(events);
		goto fail;
	}
	if (id != 0 && append_reports(ctx, id, bounces) == -1) {
		json_decref(events);
		json_decref(consents);
		goto fail;
	}
	if ((log = export_event_log(ctx, id)) == NULL) {
		json_decref(events);
		json_decref(consents);
		goto fail;
	}
	if ((signups = export_signups(ctx, key)) == NULL) {
		json_decref(events);
		json_decref(consents);
		json_decref(log);
		goto fail;
	}
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "email", key,
	    "contact", contact, "lists", lists, "messages", messages,
	    "bounces", bounces, "opted_out", opted);
	json_object_set_new(o, "consents", consents);
	if (opted)
		json_object_set_new(o, "opted_out_at", json_string(
		    api_iso_time(at, ts, sizeof(ts))));
	json_object_set_new(o, "blocklisted", json_boolean(blocked));
	json_object_set_new(o, "events", events);
	json_object_set_new(o, "event_log", log);
	json_object_set_new(o, "pending_signups", signups);
	counts = json_pack("{s:b, s:I, s:I}", "contact", id != 0, "events",
	    (json_int_t)json_array_size(events), "messages",
	    (json_int_t)json_array_size(messages));
	audit(ctx, "access", counts);
	json_decref(counts);
	return o;
fail:
	json_decref(contact);
	json_decref(lists);
	json_decref(messages);
	json_decref(bounces);
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
	long long	 removed = 0, contacts = 0, messages = 0, reports = 0;
	long long	 consents = 0;
	long long	 feed_events = 0, signups = 0;
	char		 hash[SIGNUP_HASH_LEN + 1];
	int		 blocked, bounced;

	if (subject_find(ctx, address, key, &id, err) == -1)
		return NULL;
	/* The keyed hash first: the address is suppressed before any of
	 * its data goes, so no send can slip in between. */
	if (store_erased_add(ctx->db, ctx->tenant, ctx->keys, key) == -1)
		goto fail;
	if (id != 0) {
		/* The contact id's tombstones, before its data goes: in
		 * {t:T}:suppressed for optout.lua, then each campaign's
		 * for record.lua (erase.lua sets it). */
		if (store_erased_add_contact(ctx->db, ctx->tenant, ctx->keys,
		    id) == -1 ||
		    store_subject_erase_events(ctx->db, ctx->tenant, ctx->keys,
		    id, &events, &members) == -1 ||
		    store_subject_erase_messages(ctx->db, ctx->tenant, id,
		    &messages) == -1 ||
		    store_bounce_subject_erase(ctx->db, ctx->tenant, id, key,
		    &reports) == -1 ||
		    store_consents_erase(ctx->db, ctx->tenant, id,
		    &consents) == -1 ||
		    store_contact_remove(ctx->db, ctx->tenant, id,
		    &lists) == -1 ||
		    store_sequence_forget_contact(ctx->db, ctx->tenant,
		    id) == -1)
			goto fail;
		/* The message records before the contact (a request that
		 * fails after the contact is gone cannot find them again)
		 * and after it: an outcome in between wrote one, and from
		 * now on none is written (send_outcome.lua writes a record
		 * only while the contact exists). */
		if (store_subject_erase_messages(ctx->db, ctx->tenant, id,
		    &messages) == -1)
			goto fail;
		/* The event log once the contact is gone: event_add.lua and
		 * the outcome scripts add an event only while it exists, so
		 * none comes back after this. */
		if (store_event_erase(ctx->db, ctx->tenant, id,
		    &feed_events) == -1)
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
	/* A sign-up not yet confirmed holds the address and its fields:
	 * it goes too, so its confirmation link finds nothing. */
	signup_hash(ctx->keys, key, hash);
	if (store_signups_erase(ctx->db, ctx->tenant, hash, &signups) == -1)
		goto fail;
	if ((blocked = store_blocklist_remove(ctx->db, ctx->tenant,
	    key)) == -1 ||
	    (bounced = store_bounce_remove(ctx->db, ctx->tenant, key)) == -1)
		goto fail;
	counts = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "contacts", (json_int_t)contacts, "events", (json_int_t)events,
	    "messages", (json_int_t)messages, "bounces",
	    (json_int_t)(bounced + reports),
	    "list_memberships", (json_int_t)lists,
	    "unique_memberships", (json_int_t)members,
	    "optouts", (json_int_t)optouts, "blocklist", (json_int_t)blocked);
	json_object_set_new(counts, "consents", json_integer(consents));
	/* The tenant's event log ({t:T}:events): its own count, "events"
	 * being the campaigns' record lines. */
	json_object_set_new(counts, "event_log", json_integer(feed_events));
	json_object_set_new(counts, "pending_signups", json_integer(signups));
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
