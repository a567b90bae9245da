/*
 * test_form.c: form.c, what POST and PATCH /v1/forms accept (required
 * members, the fields' names and order, special-category attribute
 * names refused, a double opt-in form's From, redirect URLs), the host
 * of a redirect URL, and the HTML: the snippet escapes the tenant's
 * text and carries the honeypot; the confirmation mail holds its
 * merge tag and no tenant text that could become one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "form.h"

static char		 rules[64];
static struct special	*sp;

static void
setup(void)
{
	char	 err[256];
	FILE	*f;
	int	 fd;

	snprintf(rules, sizeof(rules), "/tmp/test_form.XXXXXX");
	cr_assert_neq(fd = mkstemp(rules), -1);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs("category health\nname diagnos*\nname blood_type\nterm hiv\n",
	    f);
	fclose(f);
	sp = special_load(rules, err, sizeof(err));
	cr_assert_not_null(sp, "rules: %s", err);
}

static void
teardown(void)
{
	special_free(sp);
	unlink(rules);
}

TestSuite(form, .init = setup, .fini = teardown);

static int
check(const char *text, int patch, struct form_spec *s,
    struct form_problem *p, json_t **body)
{
	json_error_t	e;

	*body = json_loads(text, 0, &e);
	cr_assert_not_null(*body, "%s: %s", text, e.text);
	return form_check(*body, patch, sp, s, p);
}

#define GOOD	"\"name\": \"News\", \"list_id\": \"4\", \"consent_text\": " \
		"\"I agree\", \"from\": \"News <n@acme.test>\""

Test(form, post_minimal)
{
	struct form_spec	s;
	struct form_problem	p;
	json_t			*b;

	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\", "
	    "\"first_name\", \"attributes.plan\"]}", 0, &s, &p, &b), 0,
	    "%s", p.message);
	cr_assert_str_eq(s.name, "News");
	cr_assert_eq(s.list_id, 4);
	cr_assert_eq(s.nfields, 3);
	cr_assert_str_eq(s.fields[2], "attributes.plan");
	cr_assert_eq(s.double_opt_in, 1);	/* the default */
	cr_assert_null(s.redirect_url);
	json_decref(b);
}

Test(form, post_refusals)
{
	struct form_spec	s;
	struct form_problem	p;
	json_t			*b;

	cr_assert_eq(check("{" GOOD ", \"fields\": [\"first_name\", "
	    "\"email\"]}", 0, &s, &p, &b), -1);
	cr_assert_str_eq(p.code, "invalid_fields");
	json_decref(b);
	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\", \"email\"]}",
	    0, &s, &p, &b), -1);
	json_decref(b);
	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\", "
	    "\"attributes.a-b\"]}", 0, &s, &p, &b), -1);
	json_decref(b);
	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\", "
	    "\"password\"]}", 0, &s, &p, &b), -1);
	json_decref(b);
	/* Art. 9: the form may not even ask. */
	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\", "
	    "\"attributes.blood_type\"]}", 0, &s, &p, &b), -1);
	cr_assert_eq(p.status, 422);
	cr_assert_str_eq(p.code, "special_category_reference");
	json_decref(b);
	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\", "
	    "\"attributes.diagnosis\"]}", 0, &s, &p, &b), -1);
	cr_assert_str_eq(p.code, "special_category_reference");
	json_decref(b);
	/* Required: name, list, consent text; a From for double opt-in. */
	cr_assert_eq(check("{\"list_id\": 4, \"fields\": [\"email\"], "
	    "\"consent_text\": \"x\", \"from\": \"a@b.test\"}", 0, &s, &p,
	    &b), -1);
	cr_assert_str_eq(p.code, "invalid_name");
	json_decref(b);
	cr_assert_eq(check("{\"name\": \"n\", \"list_id\": 4, \"fields\": "
	    "[\"email\"], \"consent_text\": \"x\"}", 0, &s, &p, &b), -1);
	cr_assert_str_eq(p.code, "invalid_from");
	json_decref(b);
	cr_assert_eq(check("{\"name\": \"n\", \"list_id\": 4, \"fields\": "
	    "[\"email\"], \"consent_text\": \"x\", \"double_opt_in\": "
	    "false}", 0, &s, &p, &b), 0);
	cr_assert_eq(s.double_opt_in, 0);
	json_decref(b);
	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\"], "
	    "\"consent_text\": \"\"}", 0, &s, &p, &b), -1);
	cr_assert_str_eq(p.code, "invalid_consent_text");
	json_decref(b);
	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\"], "
	    "\"redirect_url\": \"javascript:alert(1)\"}", 0, &s, &p, &b), -1);
	cr_assert_str_eq(p.code, "invalid_redirect_url");
	json_decref(b);
}

Test(form, patch_keeps_the_rest)
{
	struct form_spec	s;
	struct form_problem	p;
	json_t			*b, *b2;

	cr_assert_eq(check("{" GOOD ", \"fields\": [\"email\"]}", 0, &s, &p,
	    &b), 0);
	cr_assert_eq(check("{\"consent_text\": \"New text\"}", 1, &s, &p,
	    &b2), 0);
	cr_assert_str_eq(s.consent_text, "New text");
	cr_assert_str_eq(s.name, "News");
	cr_assert_eq(s.nfields, 1);
	json_decref(b2);
	json_decref(b);
}

Test(form, url_host)
{
	char	h[64];

	cr_assert_eq(form_url_host("https://Www.Acme.TEST/thanks?x=1", h,
	    sizeof(h)), 0);
	cr_assert_str_eq(h, "www.acme.test");
	cr_assert_eq(form_url_host("http://acme.test:8080/", h,
	    sizeof(h)), 0);
	cr_assert_str_eq(h, "acme.test");
	/* Userinfo misleads readers about the host: refused outright. */
	cr_assert_eq(form_url_host("https://acme.test@evil.test/", h,
	    sizeof(h)), -1);
	cr_assert_eq(form_url_host("//acme.test/", h, sizeof(h)), -1);
	cr_assert_eq(form_url_host("ftp://acme.test/", h, sizeof(h)), -1);
	cr_assert_eq(form_url_host("https://a b.test/", h, sizeof(h)), -1);
}

Test(form, html_escapes_and_honeypot)
{
	struct form_spec	s;
	struct buf		out = { 0 };

	memset(&s, 0, sizeof(s));
	s.fields[0] = "email";
	s.fields[1] = "attributes.plan";
	s.nfields = 2;
	s.consent_text = "I agree <b>\"now\"</b> & {{email}}";
	form_html(&s, "/f/abc", &out);
	cr_assert_not_null(strstr(out.p, "action=\"/f/abc\""));
	cr_assert_not_null(strstr(out.p, "name=\"email\" type=\"email\""));
	cr_assert_not_null(strstr(out.p, "name=\"attributes.plan\""));
	cr_assert_not_null(strstr(out.p, "name=\"" FORM_HONEYPOT "\""));
	cr_assert_not_null(strstr(out.p, "I agree &lt;b&gt;&quot;now&quot;"
	    "&lt;/b&gt; &amp; {{email}}"));
	cr_assert_null(strstr(out.p, "<b>"));
	buf_free(&out);
}

Test(form, confirmation_mail)
{
	struct form_spec	s;
	struct buf		subj = { 0 }, html = { 0 }, text = { 0 };
	struct render_error	e;
	struct tmpl		*t;

	memset(&s, 0, sizeof(s));
	s.name = "Acme {{email}} <news>";
	form_confirm_mail(&s, &subj, &html, &text);
	cr_assert_not_null(strstr(html.p, "{{__confirm_url}}"));
	cr_assert_not_null(strstr(text.p, "{{__confirm_url}}"));
	cr_assert_null(strstr(html.p, "{{email}}"));
	cr_assert_null(strstr(html.p, "<news>"));
	/* It compiles as the senders compile it, with its one tag. */
	t = tmpl_compile_internal(html.p, html.len, 1, &e);
	cr_assert_not_null(t, "%s", e.msg);
	cr_assert_eq(tmpl_tags(t), 1);
	tmpl_free(t);
	buf_free(&subj);
	buf_free(&html);
	buf_free(&text);
}
