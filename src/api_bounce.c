/*
 * api_bounce.c: GET /v1/bounces, the tenant's bounce log newest first
 * (store_bounce.c): what came back to VERP addresses after the relay
 * said 250.  A cursor is the stream id of the last item returned.
 * HTTP only.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "store_bounce.h"

#define LIST_DEFAULT	100
#define LIST_MAX	1000

/* A stream id: digits, '-', digits. */
static int
cursor_valid(const char *s)
{
	size_t	a = strspn(s, "0123456789");

	return a > 0 && a <= 20 && s[a] == '-' &&
	    strspn(s + a + 1, "0123456789") > 0 &&
	    strspn(s + a + 1, "0123456789") <= 20 &&
	    s[a + 1 + strspn(s + a + 1, "0123456789")] == '\0';
}

void
api_bounces(struct api_req *r)
{
	struct bounce_page	 page;
	const struct bounce_item *it;
	json_t			*items, *o;
	char			 cbuf[48], lbuf[16], camp[24];
	const char		*cursor, *lim;
	uint64_t		 limit = LIST_DEFAULT;
	size_t			 i;

	cursor = api_query(r, "cursor", cbuf, sizeof(cbuf));
	if (cursor != NULL && *cursor != '\0' && !cursor_valid(cursor)) {
		api_error(r, 400, "invalid_cursor", "cursor: a next_cursor "
		    "this endpoint gave");
		return;
	}
	if ((lim = api_query(r, "limit", lbuf, sizeof(lbuf))) != NULL &&
	    (parse_u64(lim, strlen(lim), &limit) == -1 || limit == 0 ||
	    limit > LIST_MAX)) {
		api_error(r, 400, "invalid_limit", "limit: 1 to %d", LIST_MAX);
		return;
	}
	if (store_bounce_page(r->db, r->tenant, cursor, (size_t)limit,
	    &page) == -1) {
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < page.n; i++) {
		it = &page.items[i];
		snprintf(camp, sizeof(camp), "%llu",
		    (unsigned long long)it->campaign);
		/* s?: a contact that is gone has a null email. */
		o = json_pack("{s:s?, s:s, s:s, s:s, s:s}", "email", it->email,
		    "kind", it->kind, "status", it->status, "diagnostic",
		    it->diagnostic, "campaign", camp);
		api_set_time(o, "at", it->at);
		json_array_append_new(items, o);
	}
	o = json_pack("{s:o}", "items", items);
	json_object_set_new(o, "next_cursor", page.more ?
	    json_string(page.items[page.n - 1].id) : json_null());
	bounce_page_free(&page);
	api_json(r, 200, o);
}
