/*
 * api_suppress.c: the tenant's opt-outs and blocklist.
 *
 * Both list in lexical order and a cursor is simply the last item
 * returned: stable under inserts, no server-side state
 * (store_suppress.c).  Opt-outs are kept by email match key
 * (validate_email), the same form contacts are matched on; the one-click
 * link adds the contact id as well (see store.c).  Blocklist patterns
 * are a whole address or "@domain".  HTTP only: store_suppress.c reads
 * and writes Redis.
 *
 * Each add and remove is a privacy action: it is written to the
 * tenant's audit stream (optout_add, optout_remove, blocklist_add,
 * blocklist_remove) with who did it, the key's prefix or a session's
 * "user:U", and never the address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "event.h"
#include "store_event.h"
#include "store_contact.h"
#include "store_subject.h"
#include "store_suppress.h"

#define LIST_DEFAULT	100
#define LIST_MAX	1000

/* The audit record of an add or a remove: n, the entries it names (a
 * remove: those it took away, 0 when none was there). */
static void
audit(struct api_req *r, const char *action, long long n)
{
	char	counts[48];

	snprintf(counts, sizeof(counts), "{\"entries\":%lld}", n);
	if (store_subject_audit(r->db, r->tenant, r->key_prefix, action,
	    counts) == -1)
		log_warnx("tenant %llu: audit record of %s not written",
		    (unsigned long long)r->tenant, action);
}

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

	if (api_body_object(r, body) == -1)
		return -1;
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

/* GET ?cursor=&limit= over one of the sets; each item is {field, and
 * "FIELD_at" in RFC 3339 when its time is known}. */
static void
list_page(struct api_req *r, enum suppress_set which, const char *field)
{
	struct suppress_page	 page;
	json_t		*items, *o;
	char		 cbuf[FF_EMAIL_MAX + 2], lbuf[16], name[32];
	const char	*cursor, *lim;
	uint64_t	 limit = LIST_DEFAULT;
	size_t		 i;

	/* cbuf holds one byte more than an address: a longer cursor
	 * would be cut silently and start the page elsewhere. */
	if ((cursor = api_query(r, "cursor", cbuf, sizeof(cbuf))) != NULL &&
	    strlen(cursor) > FF_EMAIL_MAX) {
		api_error(r, 400, "invalid_cursor", "cursor: at most %d bytes",
		    FF_EMAIL_MAX);
		return;
	}
	if ((lim = api_query(r, "limit", lbuf, sizeof(lbuf))) != NULL &&
	    (parse_u64(lim, strlen(lim), &limit) == -1 || limit == 0 ||
	    limit > LIST_MAX)) {
		api_error(r, 400, "invalid_limit", "limit: 1 to %d", LIST_MAX);
		return;
	}
	if (store_suppress_page(r->db, r->tenant, which, cursor,
	    (size_t)limit, &page) == -1) {
		api_unavailable(r);
		return;
	}
	snprintf(name, sizeof(name), "%s_at", field);
	items = json_array();
	for (i = 0; i < page.n; i++) {
		o = json_pack("{s:s}", field, page.items[i].value);
		api_set_time(o, name, page.items[i].at);
		json_array_append_new(items, o);
	}
	o = json_pack("{s:o}", "items", items);
	json_object_set_new(o, "next_cursor", page.more ?
	    json_string(page.items[page.n - 1].value) : json_null());
	suppress_page_free(&page);
	api_json(r, 200, o);
}

/*
 * The unsubscribed event of an opt-out through the API, when this call
 * made it (the first time is kept: a repeated POST makes none) and the
 * address is a contact's: its id, "optout:CONTACT:TIME", is the same
 * whenever it is made again.  0, or -1 when Redis failed.
 */
static int
optout_event(struct api_req *r, const char *key, uint64_t now)
{
	struct event_fields	 ev;
	char			 id[EVENT_ID_MAX];
	uint64_t		 at, contact;
	int			 rc;

	if ((rc = store_optout_time(r->db, r->tenant, key, &at)) != 1 ||
	    at != now)
		return rc == -1 ? -1 : 0;
	if ((rc = store_contact_find(r->db, r->tenant, key, &contact)) != 1)
		return rc == -1 ? -1 : 0;
	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_UNSUBSCRIBED;
	ev.time_ms = at;
	ev.contact = contact;
	ev.reason = "api";
	snprintf(id, sizeof(id), "optout:%llu:%llu",
	    (unsigned long long)contact, (unsigned long long)at);
	return store_event_add(r->db, r->tenant, &ev, id) == -1 ? -1 : 0;
}

void
api_optouts(struct api_req *r)
{
	json_t		*body;
	const char	*s;
	size_t		 len;
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	uint64_t	 id, now;
	long long	 removed = 0, removed_id = 0;

	if (r->nseg == 2 && r->method == HTTP_GET) {
		list_page(r, SUPPRESS_OPTOUTS, "email");
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
		now = now_ms();
		if (store_optout_add(r->db, r->tenant, key, now) == -1 ||
		    optout_event(r, key, now) == -1) {
			api_unavailable(r);
			return;
		}
		audit(r, "optout_add", 1);
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
		if (store_optout_remove(r->db, r->tenant, key, &removed) ==
		    -1) {
			api_unavailable(r);
			return;
		}
		/* A one-click opt-out of this contact goes too, if it can:
		 * the address's own is gone already. */
		if (store_contact_find(r->db, r->tenant, key, &id) == 1 &&
		    store_optout_remove_contact(r->db, r->tenant, id,
		    &removed_id) == 0)
			removed += removed_id;
		audit(r, "optout_remove", removed);
		api_nocontent(r);
		return;
	}
	api_error(r, r->nseg <= 3 ? 405 : 404, r->nseg <= 3 ?
	    "method_not_allowed" : "not_found", "no such endpoint or method");
}

void
api_blocklist(struct api_req *r)
{
	json_t		*body;
	const char	*s;
	size_t		 len;
	char		 pat[FF_EMAIL_MAX + 1];
	int		 rc;

	if (r->nseg == 2 && r->method == HTTP_GET) {
		list_page(r, SUPPRESS_BLOCKLIST, "pattern");
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
		if (store_blocklist_add(r->db, r->tenant, pat, now_ms()) ==
		    -1) {
			api_unavailable(r);
			return;
		}
		audit(r, "blocklist_add", 1);
		api_json(r, 200, json_pack("{s:s}", "pattern", pat));
		return;
	}
	if (r->nseg == 3 && r->method == HTTP_DELETE) {
		if (blocklist_pattern(r->seg[2], strlen(r->seg[2]), pat) == -1) {
			api_error(r, 404, "not_found", "no such pattern");
			return;
		}
		if ((rc = store_blocklist_remove(r->db, r->tenant, pat)) == -1)
			api_unavailable(r);
		else if (rc == 1) {
			audit(r, "blocklist_remove", 1);
			api_nocontent(r);
		}
		else
			api_error(r, 404, "not_found", "no such pattern");
		return;
	}
	api_error(r, r->nseg <= 3 ? 405 : 404, r->nseg <= 3 ?
	    "method_not_allowed" : "not_found", "no such endpoint or method");
}
