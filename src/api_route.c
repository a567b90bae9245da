/*
 * api_route.c: the API's route table, and the pure code that reads it:
 * a request path split into decoded segments, the segments and method
 * matched against the table.  Bytes in, a match out: no Redis, no
 * connection, no reply (api.c's api_dispatch authenticates and answers;
 * tests/test_api_route.c checks every row).
 *
 * A pattern is "/"-separated segments, each a literal or a {name}
 * capture of one whole non-empty segment.  Order matters: the first
 * pattern that matches a path names it, so a literal row goes before a
 * capture that would take the same segment (/v1/contacts/import before
 * /v1/contacts/{id}).  Rows that share a pattern share a path: their
 * methods are the path's Allow, and they must share auth and label.
 *
 * What a path that matches no row answers (404, or 405 with Allow) is
 * asked of the first row whose first two segments match it, the
 * "resource": its auth level is checked first, so an unauthenticated
 * client learns nothing of what exists under /v1/.  The last row has no
 * methods: it only lends a tenant-key auth to unknown /v1/ names.
 *
 * Not here: what a handler does with its segments.  Today the handlers
 * still read r->seg and tell their own endpoints apart; a handler per
 * row, reading r->match.arg, can replace that one resource at a time.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>	/* evhttp_uridecode */

#include "api.h"

const struct api_endpoint api_endpoints[] = {
	{ API_GET | API_HEAD, "/healthz", api_healthz,
	    API_AUTH_NONE, API_ROUTE_HEALTHZ, 0 },
	{ API_GET | API_HEAD, "/metrics", api_metrics,
	    API_AUTH_NONE, API_ROUTE_METRICS, 0 },
	{ API_GET | API_HEAD, "/", dashboard_serve,
	    API_AUTH_NONE, API_ROUTE_DASHBOARD, 0 },
	{ API_GET | API_HEAD, "/dashboard", dashboard_serve,
	    API_AUTH_NONE, API_ROUTE_DASHBOARD, 0 },
	{ API_GET | API_HEAD, "/dashboard/{file}", dashboard_serve,
	    API_AUTH_NONE, API_ROUTE_DASHBOARD, 0 },

	{ API_POST, "/v1/tenants", api_tenants,
	    API_AUTH_ADMIN, API_ROUTE_TENANTS, 0 },
	{ API_DELETE, "/v1/tenants/{id}", api_tenants,
	    API_AUTH_ADMIN, API_ROUTE_TENANTS, 0 },
	{ API_POST, "/v1/tenants/{id}/keys", api_tenants,
	    API_AUTH_ADMIN, API_ROUTE_TENANTS, 0 },
	{ API_DELETE, "/v1/tenants/{id}/keys/{prefix}", api_tenants,
	    API_AUTH_ADMIN, API_ROUTE_TENANTS, 0 },

	{ API_POST, "/v1/contacts", api_contacts,
	    API_AUTH_TENANT, API_ROUTE_CONTACTS, 0 },
	{ API_POST, "/v1/contacts/import", api_contacts_import,
	    API_AUTH_TENANT, API_ROUTE_CONTACTS, 1 },
	{ API_GET | API_PATCH | API_DELETE, "/v1/contacts/{id}", api_contacts,
	    API_AUTH_TENANT, API_ROUTE_CONTACTS, 0 },

	{ API_POST, "/v1/lists", api_lists,
	    API_AUTH_TENANT, API_ROUTE_LISTS, 0 },
	{ API_GET, "/v1/lists/{id}", api_lists,
	    API_AUTH_TENANT, API_ROUTE_LISTS, 0 },
	{ API_POST | API_DELETE, "/v1/lists/{id}/members", api_lists,
	    API_AUTH_TENANT, API_ROUTE_LISTS, 0 },

	{ API_GET | API_POST, "/v1/optouts", api_optouts,
	    API_AUTH_TENANT, API_ROUTE_OPTOUTS, 0 },
	{ API_DELETE, "/v1/optouts/{email}", api_optouts,
	    API_AUTH_TENANT, API_ROUTE_OPTOUTS, 0 },
	{ API_GET | API_POST, "/v1/blocklist", api_blocklist,
	    API_AUTH_TENANT, API_ROUTE_BLOCKLIST, 0 },
	{ API_DELETE, "/v1/blocklist/{pattern}", api_blocklist,
	    API_AUTH_TENANT, API_ROUTE_BLOCKLIST, 0 },

	{ API_POST, "/v1/templates", api_templates,
	    API_AUTH_TENANT, API_ROUTE_TEMPLATES, 0 },
	/* The app's preview: a literal, so before the {id} row. */
	{ API_POST, "/v1/templates/preview", api_templates_preview,
	    API_AUTH_TENANT, API_ROUTE_TEMPLATES, 0 },
	{ API_GET | API_PUT, "/v1/templates/{id}", api_templates,
	    API_AUTH_TENANT, API_ROUTE_TEMPLATES, 0 },

	{ API_GET | API_POST, "/v1/campaigns", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },
	{ API_GET, "/v1/campaigns/{id}", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },
	{ API_GET, "/v1/campaigns/{id}/stats", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },
	{ API_GET, "/v1/campaigns/{id}/timeseries", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },
	{ API_POST, "/v1/campaigns/{id}/launch", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },
	{ API_POST, "/v1/campaigns/{id}/pause", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },
	{ API_POST, "/v1/campaigns/{id}/resume", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },
	{ API_POST, "/v1/campaigns/{id}/cancel", api_campaigns,
	    API_AUTH_TENANT, API_ROUTE_CAMPAIGNS, 0 },

	{ API_GET | API_DELETE, "/v1/subjects/{email}", api_subjects,
	    API_AUTH_TENANT, API_ROUTE_SUBJECTS, 0 },

	{ API_GET | API_POST, "/v1/domains", api_domains,
	    API_AUTH_TENANT, API_ROUTE_DOMAINS, 0 },
	{ API_GET | API_DELETE, "/v1/domains/{domain}", api_domains,
	    API_AUTH_TENANT, API_ROUTE_DOMAINS, 0 },
	{ API_POST, "/v1/domains/{domain}/verify", api_domains,
	    API_AUTH_TENANT, API_ROUTE_DOMAINS, 0 },
	{ API_POST, "/v1/domains/{domain}/rotate", api_domains,
	    API_AUTH_TENANT, API_ROUTE_DOMAINS, 0 },
	{ API_GET, "/v1/bounces", api_bounces,
	    API_AUTH_TENANT, API_ROUTE_BOUNCES, 0 },

	{ API_GET | API_PUT | API_DELETE, "/v1/relay", api_relay,
	    API_AUTH_TENANT, API_ROUTE_RELAY, 0 },

	{ API_GET | API_POST, "/v1/sequences", api_sequences,
	    API_AUTH_TENANT, API_ROUTE_SEQUENCES, 0 },
	{ API_GET, "/v1/sequences/{id}", api_sequences,
	    API_AUTH_TENANT, API_ROUTE_SEQUENCES, 0 },
	{ API_POST, "/v1/sequences/{id}/activate", api_sequences,
	    API_AUTH_TENANT, API_ROUTE_SEQUENCES, 0 },
	{ API_POST, "/v1/sequences/{id}/pause", api_sequences,
	    API_AUTH_TENANT, API_ROUTE_SEQUENCES, 0 },
	{ API_POST, "/v1/sequences/{id}/enroll", api_sequences,
	    API_AUTH_TENANT, API_ROUTE_SEQUENCES, 0 },
	{ API_GET | API_POST, "/v1/segments", api_segments,
	    API_AUTH_TENANT, API_ROUTE_SEGMENTS, 0 },
	{ API_GET | API_PATCH | API_DELETE, "/v1/segments/{id}", api_segments,
	    API_AUTH_TENANT, API_ROUTE_SEGMENTS, 0 },
	{ API_GET, "/v1/segments/{id}/count", api_segments,
	    API_AUTH_TENANT, API_ROUTE_SEGMENTS, 0 },
	{ API_GET | API_POST, "/v1/forms", api_forms,
	    API_AUTH_TENANT, API_ROUTE_FORMS, 0 },
	{ API_GET | API_PATCH | API_DELETE, "/v1/forms/{id}", api_forms,
	    API_AUTH_TENANT, API_ROUTE_FORMS, 0 },
	{ API_GET, "/v1/events", api_events,
	    API_AUTH_TENANT, API_ROUTE_EVENTS, 0 },
	/* The marketer's logins (api_user.c): owners manage users; anyone
	 * may try to log in; a session ends itself; a user sets up their
	 * own second factor (an owner anyone's). */
	{ API_GET | API_POST, "/v1/users", api_users,
	    API_AUTH_TENANT, API_ROUTE_USERS, 0 },
	{ API_DELETE, "/v1/users/{id}", api_users,
	    API_AUTH_TENANT, API_ROUTE_USERS, 0 },
	{ API_POST, "/v1/users/{id}/totp", api_users,
	    API_AUTH_TENANT, API_ROUTE_SESSION, 0 },
	{ API_POST | API_DELETE, "/v1/session", api_session,
	    API_AUTH_LOGIN, API_ROUTE_SESSION, 0 },
	{ API_GET, "/v1/audit", api_audit,
	    API_AUTH_TENANT, API_ROUTE_USERS, 0 },
	{ API_GET | API_POST, "/v1/webhooks", api_webhooks,
	    API_AUTH_TENANT, API_ROUTE_WEBHOOKS, 0 },
	{ API_GET | API_PATCH | API_DELETE, "/v1/webhooks/{id}", api_webhooks,
	    API_AUTH_TENANT, API_ROUTE_WEBHOOKS, 0 },
	{ API_POST, "/v1/webhooks/{id}/rotate", api_webhooks,
	    API_AUTH_TENANT, API_ROUTE_WEBHOOKS, 0 },
	{ API_GET, "/v1/webhooks/{id}/deliveries", api_webhooks,
	    API_AUTH_TENANT, API_ROUTE_WEBHOOKS, 0 },
	/* The marketer's app (issue 16): listings for its screens, the
	 * session's own view (a login's row: a cookie, no key), a webhook's
	 * test event. */
	{ API_GET, "/v1/session", api_session,
	    API_AUTH_LOGIN, API_ROUTE_SESSION, 0 },
	{ API_GET, "/v1/contacts", api_contacts_page,
	    API_AUTH_TENANT, API_ROUTE_CONTACTS, 0 },
	{ API_GET, "/v1/lists", api_lists_index,
	    API_AUTH_TENANT, API_ROUTE_LISTS, 0 },
	{ API_GET, "/v1/templates", api_templates_index,
	    API_AUTH_TENANT, API_ROUTE_TEMPLATES, 0 },
	{ API_POST, "/v1/webhooks/{id}/test", api_webhooks_test,
	    API_AUTH_TENANT, API_ROUTE_WEBHOOKS, 0 },

	/* No methods: any other /v1/ name is a 404 for a tenant key. */
	{ 0, "/v1/{resource}", NULL, API_AUTH_TENANT, API_ROUTE_OTHER, 0 },
};
const size_t api_nendpoints = FF_NELEM(api_endpoints);

int
api_route_split(char *path, char **seg, int max)
{
	char	*p, *s, *dec;
	size_t	 n;
	int	 nseg = 0;

	/* Leading slashes and one trailing slash say nothing. */
	for (p = path; *p == '/'; p++)
		;
	while (*p != '\0') {
		if (nseg == max)
			return -1;
		s = p;
		while (*p != '\0' && *p != '/')
			p++;
		if (*p == '/')
			*p++ = '\0';
		if ((dec = evhttp_uridecode(s, 0, &n)) == NULL)
			return -1;
		if (strlen(dec) != n || n > strlen(s)) {
			free(dec);
			return -1;	/* %00 */
		}
		memcpy(s, dec, n + 1);	/* decoding never lengthens */
		free(dec);
		seg[nseg++] = s;
	}
	return nseg;
}

/*
 * Matches the first `upto` segments of pattern (all of them when upto is
 * -1) against seg; 1 when they match, with the captures in m when m is
 * not NULL.  A pattern with more captures than API_ROUTE_MAX_ARGS
 * matches nothing.
 */
static int
pattern_match(const char *pattern, char *const *seg, int nseg, int upto,
    struct api_match *m)
{
	const char	*p = pattern, *end, *arg[API_ROUTE_MAX_ARGS];
	size_t		 len;
	int		 i = 0, narg = 0;

	while (*p == '/')
		p++;
	while (*p != '\0' && (upto == -1 || i < upto)) {
		if ((end = strchr(p, '/')) == NULL)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (i == nseg)
			return 0;	/* the path is shorter */
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (seg[i][0] == '\0' || narg == API_ROUTE_MAX_ARGS)
				return 0;
			arg[narg++] = seg[i];
		} else if (strlen(seg[i]) != len || memcmp(seg[i], p, len) != 0)
			return 0;
		i++;
		p = *end == '/' ? end + 1 : end;
	}
	if (upto == -1 && i != nseg)
		return 0;		/* the path is longer */
	if (upto != -1 && i < upto)
		return 0;		/* the pattern is shorter */
	if (m != NULL) {
		memcpy(m->arg, arg, (size_t)narg * sizeof(arg[0]));
		m->narg = narg;
	}
	return 1;
}

/* The first row whose pattern matches (pattern_match's upto and m), or n. */
static size_t
route_find(const struct api_endpoint *table, size_t n, char *const *seg,
    int nseg, int upto, struct api_match *m)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (pattern_match(table[i].pattern, seg, nseg, upto, m))
			break;
	return i;
}

void
api_route_match(const struct api_endpoint *table, size_t n,
    enum http_method method, char *const *seg, int nseg,
    struct api_match *m)
{
	size_t	i;

	memset(m, 0, sizeof(*m));
	if ((i = route_find(table, n, seg, nseg, -1, m)) < n) {
		m->resource = &table[i];
		for (; i < n; i++) {
			if (strcmp(table[i].pattern, m->resource->pattern) != 0)
				continue;
			m->allow |= table[i].methods;
			if (m->endpoint == NULL && method != HTTP_OTHER &&
			    (table[i].methods & API_METHOD(method)) != 0)
				m->endpoint = &table[i];
		}
		return;
	}
	if ((i = route_find(table, n, seg, nseg, 2, NULL)) < n)
		m->resource = &table[i];
}

size_t
api_route_allow(unsigned methods, char *buf, size_t len)
{
	static const struct {
		enum http_method	 method;
		const char		*name;
	} names[] = {
		{ HTTP_GET, "GET" }, { HTTP_HEAD, "HEAD" },
		{ HTTP_POST, "POST" }, { HTTP_PUT, "PUT" },
		{ HTTP_PATCH, "PATCH" }, { HTTP_DELETE, "DELETE" },
	};
	size_t	i, off = 0;
	int	w;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	for (i = 0; i < FF_NELEM(names); i++) {
		if ((methods & API_METHOD(names[i].method)) == 0)
			continue;
		w = snprintf(buf + off, len - off, "%s%s", off > 0 ? ", " : "",
		    names[i].name);
		if (w < 0 || (size_t)w >= len - off) {
			buf[off] = '\0';	/* cut after a whole name */
			return off;
		}
		off += (size_t)w;
	}
	return off;
}
