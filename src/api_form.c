/*
 * api_form.c: signup forms (API.md part 2, "Signup forms with double
 * opt-in"): POST /v1/forms makes one and answers its hosted page's URL
 * and an embeddable HTML snippet; GET lists them or shows one, PATCH
 * changes one (a new consent text is a new version: consent records
 * name the version they were given under), DELETE removes one (its
 * page and pending confirm links then answer 404).
 *
 * What a form may be is form.c's; what is stored, store_form.c's; the
 * public pages, signup.c's.  Checked here, against the tenant's data:
 * the list exists, the confirmation's From is on a verified domain of
 * the tenant (as a campaign's, api_domain_check_from), and a
 * redirect_url's host is one of the tenant's verified domains or under
 * one (422 invalid_redirect_url otherwise: no open redirect, whatever
 * allow_unverified_from says).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "form.h"
#include "store_domain.h"
#include "store_form.h"
#include "store_list.h"

static const char *const form_fields[] = { "name", "list_id", "fields",
    "consent_text", "double_opt_in", "redirect_url", "from", NULL };

/* The hosted page's URL, public_url/f/TOKEN, into out; 0 or -1. */
static int
form_url(struct api_req *r, uint64_t id, char *out, size_t len)
{
	struct token	t;
	char		tok[TOKEN_MAX_LEN + 1];

	memset(&t, 0, sizeof(t));
	t.kind = TOKEN_FORM;
	t.tenant = r->tenant;
	t.campaign = id;
	if (r->live == NULL || token_sign(&r->live->keys, &t, tok) == 0)
		return -1;
	snprintf(out, len, "%s/f/%s", r->a->conf->public_url, tok);
	return 0;
}

static json_t *
form_json(struct api_req *r, const struct form_rec *f, int full)
{
	struct form_spec spec;
	struct buf	 html = { 0 };
	char		 url[1024], id[24];
	json_t		*o, *fields;
	size_t		 i;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)f->id);
	if (form_url(r, f->id, url, sizeof(url)) == -1)
		return NULL;
	store_form_spec(f, &spec);
	form_html(&spec, url, &html);
	o = json_pack("{s:s, s:s, s:s}", "id", id, "url", url, "html",
	    html.p);
	buf_free(&html);
	if (!full)
		return o;
	fields = json_array();
	for (i = 0; i < f->nfields; i++)
		json_array_append_new(fields, json_string(f->fields[i]));
	snprintf(id, sizeof(id), "%llu", (unsigned long long)f->list_id);
	json_object_set_new(o, "name", json_string(f->name));
	json_object_set_new(o, "list_id", json_string(id));
	json_object_set_new(o, "fields", fields);
	json_object_set_new(o, "consent_text", json_string(f->consent_text));
	json_object_set_new(o, "consent_version",
	    json_integer((json_int_t)f->consent_version));
	json_object_set_new(o, "double_opt_in",
	    json_boolean(f->double_opt_in));
	json_object_set_new(o, "redirect_url", f->redirect_url != NULL ?
	    json_string(f->redirect_url) : json_null());
	json_object_set_new(o, "from", f->from != NULL ?
	    json_string(f->from) : json_null());
	api_set_time(o, "created_at", f->created_at);
	api_set_time(o, "updated_at", f->updated_at);
	return o;
}

/* 1 when host is a verified domain of the tenant or a name under one,
 * 0 when not, -1 when Redis failed. */
static int
host_verified(struct api_req *r, const char *host)
{
	struct domain_rec	 d;
	const char		*name;
	uint64_t		 id;
	int			 rc, ok;

	for (name = host; name != NULL; name = strchr(name, '.'),
	    name = name != NULL ? name + 1 : NULL) {
		if ((rc = store_domain_lookup(r->db, r->tenant, name,
		    &id)) == -1)
			return -1;
		if (rc == 0)
			continue;
		if ((rc = store_domain_get(r->db, r->tenant, id, &d)) == -1)
			return -1;
		if (rc == 0)
			continue;
		ok = d.status != NULL && strcmp(d.status, "verified") == 0;
		store_domain_rec_free(&d);
		if (ok)
			return 1;
	}
	return 0;
}

/* The checks against the tenant's data: 0, or -1 after answering. */
static int
spec_check_stored(struct api_req *r, const struct form_spec *s)
{
	struct api_err	 err;
	char		*name = NULL, host[256];
	int		 rc;

	if ((rc = store_list_name(r->db, r->tenant, s->list_id,
	    &name)) != 1) {
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 422, "invalid_list", "list_id: no such "
			    "list");
		return -1;
	}
	free(name);
	if (s->from != NULL && api_domain_check_from(r->a, r->db, r->tenant,
	    s->from, &err) == -1) {
		api_reply_err(r, &err);
		return -1;
	}
	if (s->redirect_url != NULL) {
		if (form_url_host(s->redirect_url, host, sizeof(host)) == -1 ||
		    (rc = host_verified(r, host)) == 0) {
			api_error(r, 422, "invalid_redirect_url",
			    "redirect_url: its host must be one of the "
			    "tenant's verified sending domains");
			return -1;
		}
		if (rc == -1) {
			api_unavailable(r);
			return -1;
		}
	}
	return 0;
}

static void
form_create(struct api_req *r)
{
	struct form_spec	 spec;
	struct form_problem	 p;
	struct form_rec		 f;
	json_t			*body = NULL, *o;
	uint64_t		 id;

	if (api_body_object(r, &body) == -1)
		return;
	if (api_check_fields(r, body, form_fields) == -1)
		goto out;
	if (form_check(body, 0, r->a->special, &spec, &p) == -1) {
		api_error(r, p.status, p.code, "%s", p.message);
		goto out;
	}
	if (spec_check_stored(r, &spec) == -1)
		goto out;
	if (store_form_create(r->db, r->tenant, &spec, now_ms(), &id) == -1 ||
	    store_form_get(r->db, r->tenant, id, &f) != 1) {
		api_unavailable(r);
		goto out;
	}
	if ((o = form_json(r, &f, 0)) == NULL)
		api_unavailable(r);
	else
		api_json(r, 201, o);
	store_form_rec_free(&f);
out:
	json_decref(body);
}

static void
form_patch(struct api_req *r, struct form_rec *f)
{
	struct form_spec	 spec;
	struct form_problem	 p;
	json_t			*body = NULL, *o;
	uint64_t		 id;

	if (api_body_object(r, &body) == -1)
		return;
	if (api_check_fields(r, body, form_fields) == -1)
		goto out;
	store_form_spec(f, &spec);
	if (form_check(body, 1, r->a->special, &spec, &p) == -1) {
		api_error(r, p.status, p.code, "%s", p.message);
		goto out;
	}
	if (spec_check_stored(r, &spec) == -1)
		goto out;
	if (store_form_update(r->db, r->tenant, f, &spec, now_ms()) == -1) {
		api_unavailable(r);
		goto out;
	}
	id = f->id;
	store_form_rec_free(f);
	if (store_form_get(r->db, r->tenant, id, f) != 1 ||
	    (o = form_json(r, f, 1)) == NULL)
		api_unavailable(r);
	else
		api_json(r, 200, o);
out:
	json_decref(body);
}

static void
form_list(struct api_req *r)
{
	struct form_rec	 f;
	uint64_t	*ids;
	json_t		*a, *o;
	size_t		 i, n;
	int		 rc;

	if (store_form_ids(r->db, r->tenant, &ids, &n) == -1) {
		api_unavailable(r);
		return;
	}
	a = json_array();
	for (i = 0; i < n; i++) {
		if ((rc = store_form_get(r->db, r->tenant, ids[i], &f)) == -1)
			break;
		if (rc == 0)
			continue;
		o = form_json(r, &f, 1);
		store_form_rec_free(&f);
		if (o == NULL) {
			rc = -1;
			break;
		}
		json_array_append_new(a, o);
	}
	free(ids);
	if (i < n) {
		json_decref(a);
		api_unavailable(r);
		return;
	}
	api_json(r, 200, json_pack("{s:o}", "items", a));
}

void
api_forms(struct api_req *r)
{
	struct form_rec	 f;
	json_t		*o;
	uint64_t	 id;
	int		 rc;

	if (r->nseg == 2) {
		if (r->method == HTTP_POST)
			form_create(r);
		else
			form_list(r);
		return;
	}
	if (r->nseg != 3 || parse_u64(r->seg[2], strlen(r->seg[2]), &id) ==
	    -1) {
		api_error(r, 404, "not_found", "no such form");
		return;
	}
	if (r->method == HTTP_DELETE) {
		rc = store_form_delete(r->db, r->tenant, id);
		if (api_found(r, rc, "form") == 0)
			api_nocontent(r);
		return;
	}
	if (api_found(r, store_form_get(r->db, r->tenant, id, &f),
	    "form") == -1)
		return;
	if (r->method == HTTP_PATCH)
		form_patch(r, &f);
	else if ((o = form_json(r, &f, 1)) == NULL)
		api_unavailable(r);
	else
		api_json(r, 200, o);
	store_form_rec_free(&f);
}
