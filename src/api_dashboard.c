/*
 * api_dashboard.c: the dashboard's static files on the API listener
 * (main thread): GET /dashboard/ and its assets, GET / redirects there.
 *
 * The files are a fixed list, read once from TEMPLATES_DIR/dashboard/ at
 * start-up and answered from memory: a request names one of them or gets
 * a 404, so no path a client sends ever reaches the file system.  The
 * page needs no login to load; its script logs the user in with a
 * password and calls the JSON API with the session cookie and its CSRF
 * token (templates/dashboard/app.js).
 *
 * Every answer forbids inline script, framing and type sniffing, and is
 * not cached: the page is small, and a stale script after an upgrade
 * would talk to an API it does not know.  One page, preview.html (no
 * file: a constant), may be framed by the app itself: the template
 * preview's, see DASHBOARD_PREVIEW_HEADERS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"

#define DASHBOARD_FILE_MAX	(1024 * 1024)

/* Sent with every file. */
#define DASHBOARD_HEADERS \
	"Content-Security-Policy: default-src 'self'; script-src 'self'; " \
	    "style-src 'self'; img-src 'self'; connect-src 'self'; " \
	    "object-src 'none'; base-uri 'none'; form-action 'none'; " \
	    "frame-ancestors 'none'\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"X-Frame-Options: DENY\r\n" \
	"Referrer-Policy: no-referrer\r\n"

/*
 * The template editor's preview frame (templates.js), a page of no file:
 * empty, and with a policy of its own.  A mail's HTML is rendered in an
 * <iframe sandbox="" srcdoc> the editor puts inside it; a srcdoc frame
 * keeps the policy of the page it is in, and the app's (style-src
 * 'self') would drop the mail's inline styles.  Here nothing may run
 * (default-src 'none': the sandbox forbids it too), styles may be
 * inline, images come from https: or data: only, and only the app may
 * frame it.
 */
#define DASHBOARD_PREVIEW_PAGE \
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" \
	"<title>Preview</title></head><body></body></html>\n"
#define DASHBOARD_PREVIEW_HEADERS \
	"Content-Security-Policy: default-src 'none'; " \
	    "style-src 'unsafe-inline'; img-src https: data:; " \
	    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"X-Frame-Options: SAMEORIGIN\r\n" \
	"Referrer-Policy: no-referrer\r\n"

static const struct dashboard_asset {
	const char	*name;
	const char	*ctype;
} dashboard_assets[] = {
	{ "index.html",	"text/html; charset=utf-8" },
	{ "app.js",	"text/javascript; charset=utf-8" },
	{ "chart.js",	"text/javascript; charset=utf-8" },
	{ "style.css",	"text/css; charset=utf-8" },
	{ "favicon.svg", "image/svg+xml" },
	{ "campaigns.js",	"text/javascript; charset=utf-8" },
	{ "sequences.js",	"text/javascript; charset=utf-8" },
	{ "contacts.js",	"text/javascript; charset=utf-8" },
	{ "lists.js",	"text/javascript; charset=utf-8" },
	{ "templates.js",	"text/javascript; charset=utf-8" },
	{ "suppression.js",	"text/javascript; charset=utf-8" },
	{ "privacy.js",	"text/javascript; charset=utf-8" },
	{ "domains.js",	"text/javascript; charset=utf-8" },
	{ "webhooks.js",	"text/javascript; charset=utf-8" },
	{ "users.js",	"text/javascript; charset=utf-8" },
	{ "account.js",	"text/javascript; charset=utf-8" },
};

#define DASHBOARD_NFILES	FF_NELEM(dashboard_assets)

struct dashboard {
	char	*data[DASHBOARD_NFILES];
	size_t	 len[DASHBOARD_NFILES];
};

int
dashboard_load(struct dashboard **out, const char *dir, char *err,
    size_t errlen)
{
	struct dashboard	*d;
	struct stat		 sb;
	char			 path[1024];
	size_t			 i;

	*out = NULL;
	snprintf(path, sizeof(path), "%s/dashboard", dir);
	if (stat(path, &sb) == -1 && errno == ENOENT) {
		/* A templates_dir of an older install: run without it. */
		log_warnx("%s: no such directory; the dashboard is off", path);
		return 0;
	}
	d = xcalloc(1, sizeof(*d));
	for (i = 0; i < DASHBOARD_NFILES; i++) {
		snprintf(path, sizeof(path), "%s/dashboard/%s", dir,
		    dashboard_assets[i].name);
		if ((d->data[i] = read_file(path, DASHBOARD_FILE_MAX,
		    &d->len[i])) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			dashboard_free(d);
			return -1;
		}
	}
	*out = d;
	return 0;
}

void
dashboard_free(struct dashboard *d)
{
	size_t	i;

	if (d == NULL)
		return;
	for (i = 0; i < DASHBOARD_NFILES; i++)
		free(d->data[i]);
	free(d);
}

void
dashboard_serve(struct api_req *r)
{
	const struct dashboard	*d = r->a->dashboard;
	const char		*name;
	size_t			 i;

	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		api_error(r, 405, "method_not_allowed", "use GET");
		return;
	}
	/* Relative asset URLs need the trailing slash. */
	if (r->nseg == 0 || strcmp(r->target, "/dashboard") == 0) {
		api_static(r, 302, NULL, "Location: /dashboard/\r\n", NULL, 0);
		return;
	}
	if (d == NULL) {
		api_error(r, 404, "not_found", "the dashboard is not installed "
		    "(TEMPLATES_DIR/dashboard)");
		return;
	}
	name = r->nseg == 1 ? "index.html" : r->nseg == 2 ? r->seg[1] : "";
	if (strcmp(name, "preview.html") == 0) {
		api_static(r, 200, "text/html; charset=utf-8",
		    DASHBOARD_PREVIEW_HEADERS, DASHBOARD_PREVIEW_PAGE,
		    sizeof(DASHBOARD_PREVIEW_PAGE) - 1);
		return;
	}
	for (i = 0; i < DASHBOARD_NFILES; i++)
		if (strcmp(name, dashboard_assets[i].name) == 0) {
			api_static(r, 200, dashboard_assets[i].ctype,
			    DASHBOARD_HEADERS, d->data[i], d->len[i]);
			return;
		}
	api_error(r, 404, "not_found", "no such dashboard file");
}
