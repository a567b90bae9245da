/*
 * form.c: what a signup form may be, and its HTML (form.h says what
 * each function answers).  Pure: no Redis, no clock.
 *
 * Fields are the contact's own: email (always, first), first_name,
 * last_name, and attributes.NAME with NAME a merge-tag name
 * ([A-Za-z0-9_], at most CONTACT_ATTR_NAME_MAX).  An attribute name the
 * special-category list names is refused here, before any person can
 * type into it: a form never asks what Art. 9 data the contacts API
 * would not store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "form.h"

static int	problem(struct form_problem *, int, const char *,
		    const char *, ...) FF_ATTR_PRINTF(4, 5);

static int
problem(struct form_problem *p, int status, const char *code,
    const char *fmt, ...)
{
	va_list	ap;

	p->status = status;
	p->code = code;
	va_start(ap, fmt);
	vsnprintf(p->message, sizeof(p->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* A string member without a NUL, of 1 to max bytes: 1 with *out, 0 when
 * absent (or null), -1 when it is something else. */
static int
text_member(json_t *body, const char *name, size_t max, const char **out)
{
	json_t	*v = json_object_get(body, name);
	size_t	 len;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	len = json_string_length(v);
	if (len == 0 || len > max || strlen(json_string_value(v)) != len)
		return -1;
	*out = json_string_value(v);
	return 1;
}

static int
attr_name_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > CONTACT_ATTR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int
check_fields(json_t *v, const struct special *sp, struct form_spec *spec,
    struct form_problem *p)
{
	json_t		*f;
	const char	*s, *cat;
	size_t		 i, j, n;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > FORM_FIELDS_MAX)
		return problem(p, 422, "invalid_fields", "fields: an array of "
		    "1 to 16 names, \"email\" first%s", "");
	spec->nfields = 0;
	json_array_foreach(v, i, f) {
		if (!json_is_string(f))
			return problem(p, 422, "invalid_fields",
			    "fields: names are strings%s", "");
		s = json_string_value(f);
		n = json_string_length(f);
		if (i == 0 && strcmp(s, "email") != 0)
			return problem(p, 422, "invalid_fields",
			    "fields: \"email\" comes first%s", "");
		if (strlen(s) != n || !(strcmp(s, "email") == 0 ||
		    strcmp(s, "first_name") == 0 ||
		    strcmp(s, "last_name") == 0 ||
		    (n > 11 && memcmp(s, "attributes.", 11) == 0 &&
		    attr_name_valid(s + 11, n - 11))))
			return problem(p, 422, "invalid_fields", "fields: %s is "
			    "not email, first_name, last_name or "
			    "attributes.NAME", s);
		if (n > 11 && memcmp(s, "attributes.", 11) == 0 && sp != NULL &&
		    (cat = special_name(sp, s + 11, n - 11)) != NULL)
			return problem(p, 422, "special_category_reference",
			    "fields: %s would ask for special-category data "
			    "(GDPR Art. 9)", s);
		for (j = 0; j < spec->nfields; j++)
			if (strcmp(spec->fields[j], s) == 0)
				return problem(p, 422, "invalid_fields",
				    "fields: %s twice", s);
		spec->fields[spec->nfields++] = s;
	}
	return 0;
}

int
form_check(json_t *body, int patch, const struct special *sp,
    struct form_spec *spec, struct form_problem *p)
{
	json_t		*v;
	const char	*s = NULL;
	char		 host[256];
	uint64_t	 id;
	int		 rc;

	if (!patch) {
		memset(spec, 0, sizeof(*spec));
		spec->double_opt_in = 1;
	}
	if ((rc = text_member(body, "name", FORM_NAME_MAX, &s)) == -1 ||
	    (rc == 0 && !patch))
		return problem(p, 422, "invalid_name", "name: a string of 1 to "
		    "200 bytes%s", "");
	if (rc == 1)
		spec->name = s;
	v = json_object_get(body, "list_id");
	if (v != NULL || !patch) {
		if (json_is_integer(v) && json_integer_value(v) > 0)
			id = (uint64_t)json_integer_value(v);
		else if (!json_is_string(v) ||
		    parse_u64(json_string_value(v), json_string_length(v),
		    &id) == -1 || id == 0)
			return problem(p, 422, "invalid_list", "list_id: a "
			    "list's id%s", "");
		spec->list_id = id;
	}
	v = json_object_get(body, "fields");
	if (v != NULL || !patch) {
		if (check_fields(v, sp, spec, p) == -1)
			return -1;
	}
	if ((rc = text_member(body, "consent_text", FORM_CONSENT_MAX,
	    &s)) == -1 || (rc == 0 && !patch))
		return problem(p, 422, "invalid_consent_text", "consent_text: "
		    "the text a person agrees to, 1 to 4000 bytes%s", "");
	if (rc == 1)
		spec->consent_text = s;
	v = json_object_get(body, "double_opt_in");
	if (v != NULL) {
		if (!json_is_boolean(v))
			return problem(p, 422, "invalid_double_opt_in",
			    "double_opt_in: true or false%s", "");
		spec->double_opt_in = json_is_true(v);
	}
	v = json_object_get(body, "redirect_url");
	if (v != NULL && json_is_null(v))
		spec->redirect_url = NULL;
	else if (v != NULL) {
		if ((rc = text_member(body, "redirect_url", FORM_URL_MAX,
		    &s)) != 1 || form_url_host(s, host, sizeof(host)) == -1)
			return problem(p, 422, "invalid_redirect_url",
			    "redirect_url: an absolute http(s) URL%s", "");
		spec->redirect_url = s;
	}
	if ((rc = text_member(body, "from", 998, &s)) == -1)
		return problem(p, 422, "invalid_from", "from: \"Name "
		    "<addr@domain>\" or an address%s", "");
	if (rc == 1)
		spec->from = s;
	if (spec->double_opt_in && spec->from == NULL)
		return problem(p, 422, "invalid_from", "from: a double opt-in "
		    "form needs the From of its confirmation mail%s", "");
	return 0;
}

int
form_url_host(const char *url, char *host, size_t hostlen)
{
	const char	*h, *end, *at;
	size_t		 len = strlen(url), i, n;

	if (!policy_url_is_safe(url, len))
		return -1;
	h = url + (url[4] == ':' ? 7 : 8);
	for (end = h; *end != '\0' && *end != '/' && *end != '?' &&
	    *end != '#'; end++)
		;
	/* user@host: the host is after the last '@'. */
	for (at = h; at < end; at++)
		if (*at == '@')
			h = at + 1;
	for (n = 0; h + n < end && h[n] != ':'; n++)
		;
	if (n == 0 || n >= hostlen || h[0] == '[')
		return -1;
	for (i = 0; i < n; i++)
		host[i] = (h[i] >= 'A' && h[i] <= 'Z') ? h[i] + 32 : h[i];
	host[n] = '\0';
	if (host[n - 1] == '.')
		host[n - 1] = '\0';
	return host[0] == '\0' ? -1 : 0;
}

void
form_html_escape(const char *s, size_t len, struct buf *out)
{
	size_t	i;

	for (i = 0; i < len; i++)
		switch (s[i]) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		case '\'': buf_adds(out, "&#39;"); break;
		default: buf_add(out, s + i, 1);
		}
}

static void
escs(struct buf *out, const char *s)
{
	form_html_escape(s, strlen(s), out);
}

/* "First name" for first_name, "plan" for attributes.plan. */
static void
field_label(const char *f, struct buf *out)
{
	if (strcmp(f, "email") == 0)
		buf_adds(out, "Email");
	else if (strcmp(f, "first_name") == 0)
		buf_adds(out, "First name");
	else if (strcmp(f, "last_name") == 0)
		buf_adds(out, "Last name");
	else
		escs(out, f + 11);
}

void
form_html(const struct form_spec *spec, const char *action, struct buf *out)
{
	size_t	i;

	buf_adds(out, "<form class=\"fanfare-signup\" method=\"post\" "
	    "action=\"");
	escs(out, action);
	buf_adds(out, "\" accept-charset=\"utf-8\">\n");
	for (i = 0; i < spec->nfields; i++) {
		buf_adds(out, "<p><label>");
		field_label(spec->fields[i], out);
		buf_adds(out, "<br><input name=\"");
		escs(out, spec->fields[i]);
		if (i == 0)
			buf_adds(out, "\" type=\"email\" required "
			    "autocomplete=\"email\" maxlength=\"320\">");
		else
			buf_adds(out, "\" type=\"text\" maxlength=\"200\">");
		buf_adds(out, "</label></p>\n");
	}
	/* Off-screen, not display:none (some bots skip hidden inputs),
	 * and out of the tab order and of autofill. */
	buf_adds(out, "<p style=\"position:absolute;left:-10000px\" "
	    "aria-hidden=\"true\"><label>Leave this empty<input name=\""
	    FORM_HONEYPOT "\" tabindex=\"-1\" autocomplete=\"off\">"
	    "</label></p>\n");
	buf_adds(out, "<p class=\"fanfare-consent\">");
	escs(out, spec->consent_text != NULL ? spec->consent_text : "");
	buf_adds(out, "</p>\n<p><button type=\"submit\">Sign up</button>"
	    "</p>\n</form>\n");
}

void
form_confirm_mail(const struct form_spec *spec, struct buf *subject,
    struct buf *html, struct buf *text)
{
	const char	*name = spec->name != NULL ? spec->name : "our list";

	/* Braces of the tenant's text must not become merge tags: the
	 * name goes through the template compiler, so {{ is broken up. */
	buf_adds(subject, "Please confirm your subscription");
	buf_adds(html, "<!DOCTYPE html>\n<html><body>\n<p>Please confirm "
	    "that you want to receive emails from ");
	for (; *name != '\0'; name++) {
		if (*name == '{' || *name == '}')
			buf_addf(html, "&#%d;", *name);
		else
			form_html_escape(name, 1, html);
	}
	buf_adds(html, ".</p>\n<p><a href=\"{{__confirm_url}}\">Confirm my "
	    "subscription</a></p>\n<p>If you did not sign up, ignore this "
	    "message: without a confirmation nothing happens, and we keep "
	    "nothing.</p>\n</body></html>\n");
	buf_adds(text, "Please confirm your subscription:\n\n"
	    "{{__confirm_url}}\n\nIf you did not sign up, ignore this "
	    "message: without a confirmation nothing happens, and we keep "
	    "nothing.\n");
}
