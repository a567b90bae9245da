/*
 * track.c: the public tracking endpoints, /o/ pixel, /c/ click, /u/
 * opt-out and /healthz, on top of http.c's connections.
 *
 * Every answer carries the no-cache headers of the contract.  The pixel
 * is always the same 43 bytes with status 200, so a bad token is
 * indistinguishable from a good one to whoever guesses.  A click
 * redirects only to a URL registered in its campaign's link table (read
 * through a per-worker cache; a miss costs one asynchronous HGET) and
 * only if that URL passes policy_url_is_safe() again here; a lookup
 * Redis does not answer within FF_WAIT_MS gets 503 from http.c, and its
 * late reply still fills the cache.  GET /u/ never opts out: link
 * scanners prefetch GETs; POST /u/ does, only with the one-click body
 * (http_one_click: RFC 8058's, which is also what our page's form
 * sends).
 *
 * The connection layer is http.c's (it answers errors itself through
 * http_error); http.c never calls here: main.c hands track_handle to
 * http_listen.
 *
 * Never here: a blocking call, a log line per request, a raw IP stored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

/* The 43-byte transparent GIF89a, as nginx's empty_gif serves it. */
static const uint8_t FF_PIXEL_GIF[43] = {
	'G', 'I', 'F', '8', '9', 'a',	/* header */
	0x01, 0x00, 0x01, 0x00,		/* 1 x 1 */
	0x80, 0x01, 0x00,		/* global colour table of 2 */
	0x00, 0x00, 0x00,		/* colour 0: black */
	0xff, 0xff, 0xff,		/* colour 1: white */
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,	/* transparent */
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x02, 0x44, 0x01, 0x00,	/* image data */
	0x3b				/* trailer */
};

static const char pixel_head[] =
	"HTTP/1.1 200 OK\r\n"
	"Server: fanfare\r\n"
	"Content-Type: image/gif\r\n"
	"Content-Length: 43\r\n"
	HTTP_NO_CACHE;

/* How long a failed link lookup is remembered (Redis unreachable). */
#define LINK_ERROR_TTL_MS	1000
#define LINK_MISSING_TTL_MS	5000

/* What a POST /u/ that is not a one-click opt-out gets, with 400. */
static const char unsub_bad_body[] =
	"400 Bad Request: an opt-out is a POST whose body is "
	"List-Unsubscribe=One-Click (RFC 8058), form-encoded or "
	"multipart/form-data, as the opt-out page's button sends it.\n";

/* One link lookup in flight.  The store's callback owns it and frees
 * it; c is a weak reference that http.c clears if the connection stops
 * waiting first (closed, or answered 503 at the deadline). */
struct link_wait {
	struct worker	*w;
	uint64_t	 tenant, campaign;
	uint32_t	 link;
	struct conn	*c;
};

static void
respond_page(struct conn *c, int status, const char *page, size_t len,
    enum http_keep keep, int head_only)
{
	http_respond(c, status, "text/html; charset=utf-8", "", keep,
	    head_only, page, len, "", 0, "", 0);
}

/* The pixel: static head, the cached Date line, a static end of head by
 * keep, the static GIF; nothing allocated, nothing formatted. */
static void
respond_pixel(struct conn *c, enum http_keep keep, int head_only)
{
	http_conn_out(c, pixel_head, sizeof(pixel_head) - 1);
	http_conn_out_date(c);
	http_conn_out_end_head(c, keep);
	if (!head_only)
		http_conn_out(c, FF_PIXEL_GIF, sizeof(FF_PIXEL_GIF));
	METRIC_ADD(c->w, status_2xx, 1);
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static struct open_entry *
open_slot(struct worker *w, const struct token *t)
{
	uint64_t h = mix64(t->tenant ^ mix64(t->campaign ^ mix64(t->contact)));

	return &w->opens[h & (FF_OPEN_CACHE - 1)];
}

static struct link_entry *
link_slot(struct worker *w, uint64_t tenant, uint64_t campaign, uint32_t link)
{
	uint64_t h = mix64(tenant ^ mix64(campaign ^ mix64(link)));

	return &w->links[h & (FF_LINK_CACHE - 1)];
}

/* Classifies and records one hit; answers go out after the spool write. */
static void
track_record(struct conn *c, const struct http_request *req,
    const struct token *t, uint8_t kind)
{
	struct worker		*w = c->w;
	struct sockaddr_storage	 client;
	struct ff_event		 ev;
	struct open_entry	*oe;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ms = now_ms();
	ev.tenant = t->tenant;
	ev.campaign = t->campaign;
	ev.contact = t->contact;
	ev.link = t->link;
	ev.kind = kind;
	if (req->private)
		ev.flags |= EVF_PRIVATE;

	policy_client_addr((struct sockaddr *)&c->peer, req->xff, req->xfflen,
	    req->fwd, req->fwdlen, w->live->trusted_proxies,
	    w->live->ntrusted_proxies, &client);
	if (kind != EV_UNSUB && (req->method == HTTP_HEAD ||
	    policy_machine_agent(req->ua, req->ualen) ||
	    policy_machine_addr((struct sockaddr *)&client)))
		ev.flags |= EVF_MACHINE;
	if (w->geoip != NULL)
		geoip_country(w->geoip, (struct sockaddr *)&client, ev.country);

	/* A scanner that fetched the pixel and then follows the links
	 * within seconds: the click is the scanner's too. */
	oe = open_slot(w, t);
	if (kind == EV_OPEN && (ev.flags & EVF_MACHINE)) {
		oe->tenant = t->tenant;
		oe->campaign = t->campaign;
		oe->contact = t->contact;
		oe->at_ms = mono_ms();
	} else if (kind == EV_CLICK && oe->contact == t->contact &&
	    oe->campaign == t->campaign && oe->tenant == t->tenant &&
	    oe->at_ms != 0 && mono_ms() - oe->at_ms <=
	    (uint64_t)w->conf->scanner_window_s * 1000)
		ev.flags |= EVF_MACHINE;

	METRIC_ADD(w, events[kind], 1);
	if (ev.flags & EVF_MACHINE)
		METRIC_ADD(w, events_machine, 1);
	if (ev.flags & EVF_PRIVATE)
		METRIC_ADD(w, events_private, 1);
	http_conn_record(c, &ev);
}

static void
track_link_cb(void *arg, int status, const char *url, size_t len)
{
	struct link_wait	*lw = arg;
	struct worker		*w = lw->w;
	struct conn		*c = lw->c;
	struct link_entry	*le;

	/* The answer is cached even if the client has gone meanwhile. */
	le = link_slot(w, lw->tenant, lw->campaign, lw->link);
	free(le->url);
	le->url = NULL;
	le->tenant = lw->tenant;
	le->campaign = lw->campaign;
	le->link = lw->link;
	le->found = 0;
	if (status == 1 && policy_url_is_safe(url, len)) {
		le->url = xmalloc(len + 1);
		memcpy(le->url, url, len);
		le->url[len] = '\0';
		le->found = 1;
		le->expires_ms = mono_ms() +
		    (uint64_t)w->conf->link_cache_ttl_s * 1000;
	} else if (status == 1) {
		log_warnx("tenant %llu campaign %llu link %u: stored URL "
		    "is not a safe redirect target; answering 404",
		    (unsigned long long)lw->tenant,
		    (unsigned long long)lw->campaign, lw->link);
		le->expires_ms = mono_ms() + LINK_MISSING_TTL_MS;
	} else if (status == 0) {
		le->expires_ms = mono_ms() + LINK_MISSING_TTL_MS;
	} else {
		le->found = -1;
		le->expires_ms = mono_ms() + LINK_ERROR_TTL_MS;
	}
	/* Still waiting for this answer: resuming clears lw->c, so lw
	 * is freed after. */
	if (c != NULL)
		http_conn_resume(c);
	free(lw);
}

static int
track_click(struct conn *c, const struct http_request *req,
    const struct token *t)
{
	struct worker		*w = c->w;
	struct link_entry	*le;
	struct link_wait	*lw;
	enum http_keep		 keep = http_keep_of(req);
	int			 head_only = req->method == HTTP_HEAD;

	le = link_slot(w, t->tenant, t->campaign, t->link);
	if (le->tenant != t->tenant || le->campaign != t->campaign ||
	    le->link != t->link || le->expires_ms == 0 ||
	    mono_ms() >= le->expires_ms) {
		METRIC_ADD(w, link_lookups, 1);
		lw = xmalloc(sizeof(*lw));
		lw->w = w;
		lw->tenant = t->tenant;
		lw->campaign = t->campaign;
		lw->link = t->link;
		lw->c = NULL;
		if (store_link_get(w->store, t->tenant, t->campaign, t->link,
		    track_link_cb, lw) == -1) {
			free(lw);
			http_error(c, 503, keep, head_only);
			return 0;
		}
		http_conn_wait(c, &lw->c);
		return 1;
	}
	if (le->found == -1) {
		http_error(c, 503, keep, head_only);
		return 0;
	}
	if (!le->found) {
		respond_page(c, 404, w->live->pages.notfound,
		    w->live->pages.notfound_len, keep, head_only);
		return 0;
	}
	track_record(c, req, t, EV_CLICK);
	http_conn_out(c, "HTTP/1.1 302 Found\r\nServer: fanfare\r\nLocation: ",
	    47);
	http_conn_out(c, le->url, strlen(le->url));
	http_conn_out(c, "\r\nContent-Length: 0\r\n" HTTP_NO_CACHE,
	    sizeof("\r\nContent-Length: 0\r\n" HTTP_NO_CACHE) - 1);
	http_conn_out_date(c);
	http_conn_out_end_head(c, keep);
	METRIC_ADD(w, status_3xx, 1);
	return 0;
}

static void
track_unsub(struct conn *c, const struct http_request *req,
    const struct token *t, const char *tok, size_t toklen,
    const char *body, size_t bodylen)
{
	const struct track_pages *p = &c->w->live->pages;
	char			  action[8 + TOKEN_MAX_LEN];
	enum http_keep		  keep = http_keep_of(req);

	if (req->method == HTTP_POST) {
		/* Only the one-click body opts out: an empty or stray POST
		 * (a scanner, a misdirected form) must not. */
		if (!http_one_click(req->ctype, req->ctypelen, body,
		    bodylen)) {
			http_respond(c, 400, "text/plain; charset=utf-8", "",
			    keep, 0, unsub_bad_body,
			    sizeof(unsub_bad_body) - 1, "", 0, "", 0);
			return;
		}
		track_record(c, req, t, EV_UNSUB);
		respond_page(c, 200, p->done, p->done_len, keep, 0);
		return;
	}
	/* The token is base64url (checked by http_route), safe in HTML. */
	memcpy(action, "/u/", 3);
	memcpy(action + 3, tok, toklen);
	http_respond(c, 200, "text/html; charset=utf-8", "", keep,
	    req->method == HTTP_HEAD, p->unsub_head, p->unsub_head_len,
	    action, 3 + toklen, p->unsub_tail, p->unsub_tail_len);
}

int
track_handle(struct conn *c, const struct http_request *req,
    const char *body, size_t bodylen)
{
	struct worker	*w = c->w;
	enum http_route	 route;
	enum http_keep	 keep = http_keep_of(req);
	struct token	 t;
	const char	*tok = NULL;
	size_t		 toklen = 0;
	int		 valid, head_only = req->method == HTTP_HEAD;

	route = http_route(req->path, req->pathlen, &tok, &toklen);
	if (!c->resumed)	/* counted when first seen */
		METRIC_ADD(w, requests[route], 1);
	c->resumed = 0;
	if (route == ROUTE_NONE) {
		http_error(c, 404, keep, head_only);
		return 0;
	}
	/* PUT, PATCH, DELETE are parsed for the API listener only. */
	if ((req->method != HTTP_GET && req->method != HTTP_HEAD &&
	    req->method != HTTP_POST) || (req->method == HTTP_POST &&
	    route != ROUTE_UNSUB && route != ROUTE_FORM &&
	    route != ROUTE_CONFIRM && route != ROUTE_PREFS)) {
		http_error(c, 405, keep, 0);
		return 0;
	}
	if (route == ROUTE_HEALTH) {
		http_respond(c, 200, "text/plain; charset=utf-8", "", keep,
		    head_only, "ok\n", 3, "", 0, "", 0);
		return 0;
	}
	valid = token_verify(&w->live->keys, tok, toklen, &t) == 0;
	if (route == ROUTE_FORM || route == ROUTE_CONFIRM ||
	    route == ROUTE_PREFS)
		return signup_handle(c, req, route, &t, valid, tok, toklen,
		    body, bodylen);
	switch (route) {
	case ROUTE_OPEN:
		if (valid && t.kind == TOKEN_OPEN)
			track_record(c, req, &t, EV_OPEN);
		respond_pixel(c, keep, head_only);
		return 0;
	case ROUTE_CLICK:
		if (valid && t.kind == TOKEN_CLICK)
			return track_click(c, req, &t);
		break;
	case ROUTE_UNSUB:
		if (valid && t.kind == TOKEN_UNSUB) {
			track_unsub(c, req, &t, tok, toklen, body, bodylen);
			return 0;
		}
		break;
	default:
		break;
	}
	respond_page(c, 404, w->live->pages.notfound,
	    w->live->pages.notfound_len, keep, head_only);
	return 0;
}

void
track_links_free(struct worker *w)
{
	size_t	i;

	for (i = 0; i < FF_LINK_CACHE; i++) {
		free(w->links[i].url);
		w->links[i].url = NULL;
	}
}

static char *
load_page(const char *dir, const char *name, size_t *len, char *err,
    size_t errlen)
{
	char	 path[1024];
	char	*s;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((s = read_file(path, 1 << 20, len)) == NULL)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return s;
}

int
track_pages_load(struct track_pages *p, const char *dir, char *err,
    size_t errlen)
{
	char	*page, *mark;
	size_t	 len;

	memset(p, 0, sizeof(*p));
	if ((page = load_page(dir, "unsubscribe.html", &len, err, errlen)) ==
	    NULL)
		goto fail;
	if ((mark = strstr(page, "{{action}}")) == NULL) {
		snprintf(err, errlen, "%s/unsubscribe.html: no {{action}} "
		    "placeholder for the form", dir);
		free(page);
		goto fail;
	}
	p->unsub_head_len = (size_t)(mark - page);
	p->unsub_head = xmalloc(p->unsub_head_len + 1);
	memcpy(p->unsub_head, page, p->unsub_head_len);
	p->unsub_head[p->unsub_head_len] = '\0';
	p->unsub_tail = xstrdup(mark + strlen("{{action}}"));
	p->unsub_tail_len = strlen(p->unsub_tail);
	free(page);
	if ((p->done = load_page(dir, "unsubscribed.html", &p->done_len, err,
	    errlen)) == NULL)
		goto fail;
	if ((p->notfound = load_page(dir, "notfound.html", &p->notfound_len,
	    err, errlen)) == NULL)
		goto fail;
	/* The sign-up pages' shell (signup.c): {{title}} before
	 * {{content}}, each once. */
	if ((p->signup = load_page(dir, "signup.html", &len, err,
	    errlen)) == NULL)
		goto fail;
	if ((mark = strstr(p->signup, "{{title}}")) == NULL ||
	    strstr(mark, "{{content}}") == NULL) {
		snprintf(err, errlen, "%s/signup.html: no {{title}} then "
		    "{{content}} placeholder", dir);
		goto fail;
	}
	p->signup_title = (size_t)(mark - p->signup);
	p->signup_content = (size_t)(strstr(mark, "{{content}}") -
	    p->signup);
	return 0;
fail:
	track_pages_free(p);
	return -1;
}

void
track_pages_free(struct track_pages *p)
{
	free(p->unsub_head);
	free(p->unsub_tail);
	free(p->done);
	free(p->notfound);
	free(p->signup);
	memset(p, 0, sizeof(*p));
}
