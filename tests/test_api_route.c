/*
 * test_api_route.c: api_route.c's table and matcher: every row resolves
 * to itself, a known path with another method is a 405 with its Allow,
 * anything else a 404 under the right resource (auth, label), and the
 * path splitter's edges (slashes, too many segments, escapes, captures).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "api.h"

struct split {
	char	 buf[512];
	char	*seg[API_MAX_SEGS];
	int	 nseg;
};

static int
split(struct split *s, const char *path)
{
	snprintf(s->buf, sizeof(s->buf), "%s", path);
	return s->nseg = api_route_split(s->buf, s->seg, API_MAX_SEGS);
}

static void
match(const char *path, enum http_method method, struct api_match *m)
{
	struct split	s;

	cr_assert_neq(split(&s, path), -1, "%s does not split", path);
	api_route_match(api_endpoints, api_nendpoints, method, s.seg, s.nseg,
	    m);
}

/* A path for a pattern: each {name} becomes "7". */
static void
concrete(const char *pattern, char *out, size_t len, int *ncapture)
{
	const char	*p;
	size_t		 o = 0;

	*ncapture = 0;
	for (p = pattern; *p != '\0' && o + 2 < len; p++) {
		if (*p == '{') {
			out[o++] = '7';
			(*ncapture)++;
			while (*p != '}')
				p++;
		} else
			out[o++] = *p;
	}
	out[o] = '\0';
}

static int
nsegments(const char *pattern)
{
	int	n = 0;

	for (; *pattern != '\0'; pattern++)
		if (*pattern == '/' && pattern[1] != '\0')
			n++;
	return n;
}

Test(api_route, every_row_resolves_to_itself)
{
	const enum http_method methods[] = { HTTP_GET, HTTP_HEAD, HTTP_POST,
	    HTTP_PUT, HTTP_PATCH, HTTP_DELETE };
	struct api_match	m;
	char			path[256];
	size_t			i, k;
	int			ncapture, j;

	for (i = 0; i < api_nendpoints; i++) {
		const struct api_endpoint *e = &api_endpoints[i];

		concrete(e->pattern, path, sizeof(path), &ncapture);
		for (k = 0; k < FF_NELEM(methods); k++) {
			if ((e->methods & API_METHOD(methods[k])) == 0)
				continue;
			match(path, methods[k], &m);
			cr_expect_eq(m.endpoint, e, "%s %s: row %zu, got %s",
			    path, e->pattern, i, m.endpoint ?
			    m.endpoint->pattern : "none");
			cr_expect_eq(m.narg, ncapture, "%s", e->pattern);
			for (j = 0; j < m.narg; j++)
				cr_expect_str_eq(m.arg[j], "7");
		}
	}
}

Test(api_route, table_is_consistent)
{
	size_t	i, j;
	int	nstreams = 0, ncapture;
	char	path[256];

	cr_assert_gt(api_nendpoints, 30);
	for (i = 0; i < api_nendpoints; i++) {
		const struct api_endpoint *e = &api_endpoints[i];

		cr_expect_eq(e->pattern[0], '/', "%s", e->pattern);
		cr_expect_leq(nsegments(e->pattern), API_MAX_SEGS, "%s",
		    e->pattern);
		concrete(e->pattern, path, sizeof(path), &ncapture);
		cr_expect_leq(ncapture, API_ROUTE_MAX_ARGS, "%s", e->pattern);
		cr_expect_eq(e->methods != 0, e->handler != NULL, "%s",
		    e->pattern);
		cr_expect_lt(e->label, API_NROUTES);
		nstreams += e->streams;
		for (j = 0; j < i; j++) {
			const struct api_endpoint *o = &api_endpoints[j];

			if (strcmp(o->pattern, e->pattern) != 0)
				continue;
			cr_expect_eq(o->methods & e->methods, 0u,
			    "%s: a method twice", e->pattern);
			cr_expect_eq(o->auth, e->auth, "%s", e->pattern);
			cr_expect_eq(o->label, e->label, "%s", e->pattern);
		}
	}
	/* api_http.c reads every other body whole. */
	cr_expect_eq(nstreams, 1);
}

Test(api_route, auth_levels_and_labels)
{
	struct api_match	m;

	match("/healthz", HTTP_GET, &m);
	cr_expect_eq(m.endpoint->auth, API_AUTH_NONE);
	cr_expect_eq(m.endpoint->label, API_ROUTE_HEALTHZ);
	match("/metrics", HTTP_HEAD, &m);
	cr_expect_eq(m.endpoint->label, API_ROUTE_METRICS);
	match("/", HTTP_GET, &m);
	cr_expect_eq(m.endpoint->label, API_ROUTE_DASHBOARD);
	cr_expect_eq(m.endpoint->auth, API_AUTH_NONE);
	match("/dashboard/app.js", HTTP_GET, &m);
	cr_expect_eq(m.endpoint->label, API_ROUTE_DASHBOARD);
	match("/v1/tenants/3/keys/abcdef", HTTP_DELETE, &m);
	cr_expect_eq(m.endpoint->auth, API_AUTH_ADMIN);
	cr_expect_eq(m.endpoint->label, API_ROUTE_TENANTS);
	match("/v1/subjects/a@b.test", HTTP_DELETE, &m);
	cr_expect_eq(m.endpoint->auth, API_AUTH_TENANT);
	cr_expect_eq(m.endpoint->label, API_ROUTE_SUBJECTS);
	match("/v1/contacts/import", HTTP_POST, &m);
	cr_expect(m.endpoint->streams);
	cr_expect_eq(m.endpoint->handler, api_contacts_import);
	match("/v1/contacts", HTTP_POST, &m);
	cr_expect_not(m.endpoint->streams);
}

Test(api_route, wrong_method_is_405_with_allow)
{
	struct api_match	m;
	char			allow[64];

	match("/v1/contacts/5", HTTP_PUT, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, API_GET | API_PATCH | API_DELETE);
	cr_expect_eq(m.resource->label, API_ROUTE_CONTACTS);
	cr_expect_eq(m.resource->auth, API_AUTH_TENANT);
	api_route_allow(m.allow, allow, sizeof(allow));
	cr_expect_str_eq(allow, "GET, PATCH, DELETE");

	match("/healthz", HTTP_POST, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, API_GET | API_HEAD);
	cr_expect_eq(m.resource->auth, API_AUTH_NONE);

	/* The literal row names the path, not the {id} after it. */
	match("/v1/contacts/import", HTTP_GET, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, API_POST);

	match("/v1/tenants", HTTP_GET, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, API_POST);
	cr_expect_eq(m.resource->auth, API_AUTH_ADMIN);

	match("/v1/optouts/a@b.test", HTTP_GET, &m);
	cr_expect_eq(m.allow, API_DELETE);
	match("/v1/campaigns/9/launch", HTTP_GET, &m);
	cr_expect_eq(m.allow, API_POST);
	match("/dashboard/", HTTP_POST, &m);
	cr_expect_eq(m.allow, API_GET | API_HEAD);

	/* An unknown method resolves nothing. */
	match("/healthz", HTTP_OTHER, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, API_GET | API_HEAD);
}

Test(api_route, unknown_paths_are_404_under_their_resource)
{
	struct api_match	m;

	match("/v1/contacts/5/lists", HTTP_GET, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, 0u);
	cr_expect_eq(m.resource->label, API_ROUTE_CONTACTS);
	cr_expect_eq(m.resource->auth, API_AUTH_TENANT);

	match("/v1/campaigns/5/frobnicate", HTTP_POST, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, 0u);
	cr_expect_eq(m.resource->label, API_ROUTE_CAMPAIGNS);

	match("/v1/tenants/1/secrets", HTTP_GET, &m);
	cr_expect_eq(m.allow, 0u);
	cr_expect_eq(m.resource->auth, API_AUTH_ADMIN);

	/* Any other /v1/ name wants a tenant key before its 404. */
	match("/v1/nothing", HTTP_GET, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, 0u);
	cr_expect_eq(m.resource->auth, API_AUTH_TENANT);
	cr_expect_eq(m.resource->label, API_ROUTE_OTHER);
	match("/v1/nothing/at/all", HTTP_GET, &m);
	cr_expect_eq(m.resource->auth, API_AUTH_TENANT);

	/* Outside /v1/: a 404 for anyone. */
	match("/nothing", HTTP_GET, &m);
	cr_expect_null(m.endpoint);
	cr_expect_null(m.resource);
	match("/healthz/deep", HTTP_GET, &m);
	cr_expect_null(m.resource);
	match("/v1", HTTP_GET, &m);
	cr_expect_null(m.resource);
	match("/dashboard/a/b", HTTP_GET, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, 0u);
	cr_expect_eq(m.resource->auth, API_AUTH_NONE);
}

Test(api_route, slashes)
{
	struct api_match	m;
	struct split		s;

	/* One trailing slash and any leading ones say nothing. */
	match("/v1/contacts/", HTTP_POST, &m);
	cr_expect_not_null(m.endpoint);
	cr_expect_str_eq(m.endpoint->pattern, "/v1/contacts");
	match("//v1/lists/4/members/", HTTP_DELETE, &m);
	cr_expect_not_null(m.endpoint);
	match("/dashboard/", HTTP_GET, &m);
	cr_expect_str_eq(m.endpoint->pattern, "/dashboard");
	cr_expect_eq(split(&s, "/"), 0);
	cr_expect_eq(split(&s, ""), 0);

	/* Inner or doubled slashes make empty segments: a capture never
	 * takes one. */
	cr_expect_eq(split(&s, "/v1/contacts//"), 3);
	cr_expect_str_eq(s.seg[2], "");
	match("/v1/contacts//", HTTP_GET, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, 0u);
	cr_expect_eq(m.resource->label, API_ROUTE_CONTACTS);
	match("/v1//contacts", HTTP_POST, &m);
	cr_expect_null(m.endpoint);
}

Test(api_route, too_many_segments)
{
	struct api_match	m;
	struct split		s;

	cr_expect_eq(split(&s, "/a/b/c/d/e/f/g/h"), API_MAX_SEGS);
	cr_expect_eq(split(&s, "/a/b/c/d/e/f/g/h/i"), -1);
	cr_expect_eq(split(&s, "/v1/tenants/1/keys/p/q/r/s/t"), -1);
	match("/v1/tenants/1/keys/p/q/r/s", HTTP_DELETE, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.allow, 0u);
	cr_expect_eq(m.resource->label, API_ROUTE_TENANTS);
}

Test(api_route, escapes_and_captures)
{
	struct api_match	m;
	struct split		s;

	match("/v1/subjects/a%40b.test", HTTP_GET, &m);
	cr_assert_not_null(m.endpoint);
	cr_expect_eq(m.narg, 1);
	cr_expect_str_eq(m.arg[0], "a@b.test");
	/* %2F is decoded inside its segment: still one capture. */
	match("/v1/blocklist/a%2Fb", HTTP_DELETE, &m);
	cr_assert_not_null(m.endpoint);
	cr_expect_str_eq(m.arg[0], "a/b");
	match("/v1/tenants/12/keys/0123abcd", HTTP_DELETE, &m);
	cr_assert_not_null(m.endpoint);
	cr_expect_eq(m.narg, 2);
	cr_expect_str_eq(m.arg[0], "12");
	cr_expect_str_eq(m.arg[1], "0123abcd");
	/* A literal matches the decoded segment. */
	match("/v1/%63ontacts", HTTP_POST, &m);
	cr_expect_not_null(m.endpoint);
	cr_expect_eq(split(&s, "/v1/contacts/a%00b"), -1);
	/* A '%' without two hex digits stays as it is (libevent's way). */
	cr_expect_eq(split(&s, "/v1/contacts/a%zzb"), 3);
	cr_expect_str_eq(s.seg[2], "a%zzb");
}

Test(api_route, captures_are_bounded)
{
	static const struct api_endpoint table[] = {
		{ API_GET, "/x/{a}/{b}/{c}/{d}/{e}", api_healthz,
		    API_AUTH_NONE, API_ROUTE_OTHER, 0 },
		{ API_GET, "/y/{a}/{b}/{c}/{d}", api_healthz, API_AUTH_NONE,
		    API_ROUTE_OTHER, 0 },
	};
	struct api_match	m;
	struct split		s;
	int			i;

	/* More captures than fit: the row never matches. */
	split(&s, "/x/1/2/3/4/5");
	api_route_match(table, FF_NELEM(table), HTTP_GET, s.seg, s.nseg, &m);
	cr_expect_null(m.endpoint);
	cr_expect_eq(m.narg, 0);
	split(&s, "/y/1/2/3/4");
	api_route_match(table, FF_NELEM(table), HTTP_GET, s.seg, s.nseg, &m);
	cr_expect_eq(m.endpoint, &table[1]);
	cr_expect_eq(m.narg, API_ROUTE_MAX_ARGS);
	for (i = 0; i < m.narg; i++)
		cr_expect_eq(m.arg[i][0], '1' + i);
	/* A capture is one segment, never part of one or two. */
	split(&s, "/y/1/2/3");
	api_route_match(table, FF_NELEM(table), HTTP_GET, s.seg, s.nseg, &m);
	cr_expect_null(m.endpoint);
	split(&s, "/y/1/2/3/4/5");
	api_route_match(table, FF_NELEM(table), HTTP_GET, s.seg, s.nseg, &m);
	cr_expect_null(m.endpoint);
}

Test(api_route, allow_text)
{
	char	buf[64], small[10];

	cr_expect_eq(api_route_allow(0, buf, sizeof(buf)), 0u);
	cr_expect_str_eq(buf, "");
	api_route_allow(API_DELETE | API_GET | API_HEAD, buf, sizeof(buf));
	cr_expect_str_eq(buf, "GET, HEAD, DELETE");
	/* Cut after a whole name. */
	api_route_allow(API_GET | API_POST | API_PATCH, small, sizeof(small));
	cr_expect_str_eq(small, "GET, POST");
}
