/*
 * api_event.c: GET /v1/events?cursor=&types=&campaign=&limit=, the
 * tenant's event feed (store_event.c's log), oldest first, for a CRM
 * that polls: the same events, with the same ids, that webhooks
 * deliver.  next_cursor is where to go on from (the last entry looked
 * at), also when the page is empty, so a poller keeps it and asks
 * again later.  HTTP only.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "event.h"
#include "store_event.h"

#define FEED_DEFAULT	100
#define FEED_MAX	1000
#define FEED_SCAN	10000	/* log entries a page looks at, at most */

void
api_events(struct api_req *r)
{
	struct event_page	 page;
	json_t			*items, *o, *ev;
	struct event_filter	 f;
	struct event_pos	 pos;
	char			 cbuf[EVENT_POS_MAX + 8], tbuf[256], lbuf[24];
	char			 campbuf[24];
	const char		*cursor, *types, *lim, *camp;
	uint64_t		 limit = FEED_DEFAULT, campaign = 0;
	unsigned		 mask = EVENT_ALL_TYPES;
	size_t			 i;

	cursor = api_query(r, "cursor", cbuf, sizeof(cbuf));
	if (cursor != NULL && *cursor != '\0' && event_pos_parse(cursor, &pos) == -1) {
		api_error(r, 422, "invalid_cursor", "cursor: a next_cursor "
		    "this endpoint gave");
		return;
	}
	if ((types = api_query(r, "types", tbuf, sizeof(tbuf))) != NULL &&
	    event_types_parse(types, &mask) == -1) {
		api_error(r, 422, "invalid_types", "types: a comma-separated "
		    "list of sent, bounced, complained, opened, clicked, "
		    "unsubscribed, subscribed");
		return;
	}
	if ((lim = api_query(r, "limit", lbuf, sizeof(lbuf))) != NULL &&
	    (parse_u64(lim, strlen(lim), &limit) == -1 || limit == 0 ||
	    limit > FEED_MAX)) {
		api_error(r, 422, "invalid_limit", "limit: 1 to %d", FEED_MAX);
		return;
	}
	if ((camp = api_query(r, "campaign", campbuf, sizeof(campbuf))) !=
	    NULL && *camp != '\0' && (parse_u64(camp, strlen(camp),
	    &campaign) == -1 || campaign == 0)) {
		api_error(r, 422, "invalid_campaign", "campaign: a campaign "
		    "id");
		return;
	}
	memset(&f, 0, sizeof(f));
	f.mask = mask;
	f.campaign = campaign;
	if (store_event_read(r->db, r->tenant, cursor, &f, (size_t)limit,
	    FEED_SCAN, &page) == -1) {
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < page.n; i++)
		if ((ev = json_loads(page.items[i], 0, NULL)) != NULL)
			json_array_append_new(items, ev);
	o = json_pack("{s:o}", "items", items);
	json_object_set_new(o, "next_cursor", page.next[0] != '\0' ?
	    json_string(page.next) : json_null());
	event_page_free(&page);
	api_json(r, 200, o);
}
