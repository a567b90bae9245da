/*
 * test_render.c: render.c's merge tags (grammar, errors with line and
 * column, defaults, the three escape modes, field listing) and its link
 * scanner and rewriter, on good HTML, tricky HTML and random bytes.
 * Every input is handed over in a heap block of exactly its length, so
 * a read past the end shows under valgrind or ASan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"

/* ----------------------------------------------------------- helpers */

static char *
exact_copy(const char *s, size_t n)
{
	char	*p = malloc(n == 0 ? 1 : n);

	cr_assert_not_null(p);
	memcpy(p, s, n);
	return p;
}

static struct tmpl *
compile_n(const char *s, size_t n, struct render_error *err)
{
	struct tmpl	*t;
	char		*copy = exact_copy(s, n);

	t = tmpl_compile(copy, n, err);
	free(copy);		/* the template must not point into src */
	return t;
}

static struct tmpl *
compile(const char *s, struct render_error *err)
{
	return compile_n(s, strlen(s), err);
}

struct field_value {
	const char	*name;
	const char	*value;
	size_t		 len;		/* 0: strlen(value) */
};

/* "Zoe" with a diaeresis, two CJK characters and an emoji. */
#define UTF8_VALUE \
	"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89"

/* The recipient most tests render for.  last_name is missing and
 * attributes.empty is empty: both take the default. */
static const struct field_value recipient[] = {
	{ "first_name", "Ann", 0 },
	{ "email", "ann@example.com", 0 },
	{ "attributes.city", "<Paris & \"Co\" 'x'>", 0 },
	{ "attributes.empty", "", 0 },
	{ "attributes.utf8", UTF8_VALUE, 0 },
	{ "attributes.ctl", "a\r\nb\n\0c\td\x7f" "e\x1b", 12 },
	{ "unsubscribe_url", "https://u.example/u/T?a=1&b=2", 0 },
};

struct lookup_ctx {
	const struct field_value *fields;
	size_t		 n;
	int		 calls;
};

static const char *
lookup(void *arg, const char *name, size_t namelen, size_t *vlen)
{
	struct lookup_ctx	*c = arg;
	size_t			 i;

	c->calls++;
	cr_assert_eq(name[namelen], '\0', "names are NUL-terminated");
	for (i = 0; i < c->n; i++) {
		if (strlen(c->fields[i].name) == namelen &&
		    memcmp(c->fields[i].name, name, namelen) == 0) {
			*vlen = c->fields[i].len ? c->fields[i].len :
			    strlen(c->fields[i].value);
			return c->fields[i].value;
		}
	}
	return NULL;
}

static char *
render_str(const struct tmpl *t, enum render_escape esc, size_t *lenp)
{
	struct lookup_ctx	ctx = { recipient, FF_NELEM(recipient), 0 };
	struct buf		out = { NULL, 0, 0 };

	tmpl_render(t, esc, lookup, &ctx, &out);
	cr_assert_not_null(out.p);
	cr_assert_eq(out.p[out.len], '\0');
	if (lenp != NULL)
		*lenp = out.len;
	return out.p;
}

/* ---------------------------------------------------- good templates */

struct good_case {
	const char	*src;
	const char	*text;
	const char	*html;
	const char	*header;
};

static const struct good_case good_cases[] = {
	{ "", "", "", "" },
	{ "plain text", "plain text", "plain text", "plain text" },
	{ "Hello {{first_name}}!", "Hello Ann!", "Hello Ann!", "Hello Ann!" },
	{ "{{ first_name }}", "Ann", "Ann", "Ann" },
	{ "{{\tfirst_name\n}}", "Ann", "Ann", "Ann" },
	{ "{{email}}{{email}}", "ann@example.comann@example.com",
	    "ann@example.comann@example.com",
	    "ann@example.comann@example.com" },
	{ "[{{last_name}}]", "[]", "[]", "[]" },
	{ "{{last_name | default \"Friend\"}}", "Friend", "Friend", "Friend" },
	{ "{{last_name|default\"F\"}}", "F", "F", "F" },
	{ "{{  last_name  |  default  \"F\"  }}", "F", "F", "F" },
	{ "{{first_name | default \"X\"}}", "Ann", "Ann", "Ann" },
	{ "{{attributes.empty | default \"E\"}}", "E", "E", "E" },
	{ "{{attributes.empty}}", "", "", "" },
	{ "{{last_name | default \"\"}}", "", "", "" },
	{ "{{attributes.city}}", "<Paris & \"Co\" 'x'>",
	    "&lt;Paris &amp; &quot;Co&quot; &#39;x&#39;&gt;",
	    "<Paris & \"Co\" 'x'>" },
	/* The template's own markup is never escaped. */
	{ "<b>{{first_name}}</b> & \"co\"", "<b>Ann</b> & \"co\"",
	    "<b>Ann</b> & \"co\"", "<b>Ann</b> & \"co\"" },
	/* Defaults are values: escaped in HTML. */
	{ "{{last_name | default \"<a & \\\"b\\\" 'c'>\"}}",
	    "<a & \"b\" 'c'>", "&lt;a &amp; &quot;b&quot; &#39;c&#39;&gt;",
	    "<a & \"b\" 'c'>" },
	{ "{{last_name | default \"back\\\\slash\"}}", "back\\slash",
	    "back\\slash", "back\\slash" },
	/* Braces inside a default string are string content. */
	{ "{{last_name | default \"}}{{\"}}", "}}{{", "}}{{", "}}{{" },
	{ "{{last_name | default \"a|b\"}}", "a|b", "a|b", "a|b" },
	/* A lone }} (and a lone {) is text. */
	{ "a }} b { c }", "a }} b { c }", "a }} b { c }", "a }} b { c }" },
	{ "{{email}}}", "ann@example.com}", "ann@example.com}",
	    "ann@example.com}" },
	{ "{{unsubscribe_url}}", "https://u.example/u/T?a=1&b=2",
	    "https://u.example/u/T?a=1&amp;b=2",
	    "https://u.example/u/T?a=1&b=2" },
	{ "{{attributes.ABC_09_x}}", "", "", "" },
	{ "{{attributes.a234567890123456789012345678901234567890123456789"
	    "012345678901234}}", "", "", "" },
	{ "Subject\r\nBcc: x {{first_name}}", "Subject\r\nBcc: x Ann",
	    "Subject\r\nBcc: x Ann", "SubjectBcc: x Ann" },
	{ "a\tb\x01" "c\x7f" "d\x1f" "e", "a\tb\x01" "c\x7f" "d\x1f" "e",
	    "a\tb\x01" "c\x7f" "d\x1f" "e", "abcde" },
	{ "x{{attributes.ctl}}y", "xa\r\nb\n\0c\td\x7f" "e\x1by",
	    "xa\r\nb\n\0c\td\x7f" "e\x1by", "xabcdey" },
	{ "{{last_name | default \"l1\r\nl2\"}}", "l1\r\nl2", "l1\r\nl2",
	    "l1l2" },
	{ "{{attributes.utf8}} \xc3\xa9t\xc3\xa9",
	    UTF8_VALUE " \xc3\xa9t\xc3\xa9",
	    UTF8_VALUE " \xc3\xa9t\xc3\xa9",
	    UTF8_VALUE " \xc3\xa9t\xc3\xa9" },
};

/* Expected output lengths: the ctl cases hold a NUL. */
static size_t
expected_len(const char *s, const char *src)
{
	if (strstr(src, "attributes.ctl") != NULL)
		return strlen(s) + 1 + strlen(s + strlen(s) + 1);
	return strlen(s);
}

Test(tmpl, good_templates_all_modes)
{
	struct render_error	 err;
	struct tmpl		*t;
	char			*out;
	size_t			 i, n;

	for (i = 0; i < FF_NELEM(good_cases); i++) {
		const struct good_case *c = &good_cases[i];

		t = compile(c->src, &err);
		cr_assert_not_null(t, "case %zu: %d:%d %s", i, err.line,
		    err.col, err.msg);

		out = render_str(t, RENDER_TEXT, &n);
		if (strstr(c->src, "attributes.ctl") == NULL) {
			cr_assert_str_eq(out, c->text, "case %zu text", i);
		} else {
			cr_assert_eq(n, expected_len(c->text, c->src));
			cr_assert_eq(memcmp(out, c->text, n), 0, "case %zu", i);
		}
		free(out);

		out = render_str(t, RENDER_HTML, &n);
		if (strstr(c->src, "attributes.ctl") == NULL) {
			cr_assert_str_eq(out, c->html, "case %zu html", i);
		} else {
			cr_assert_eq(n, expected_len(c->html, c->src));
			cr_assert_eq(memcmp(out, c->html, n), 0, "case %zu", i);
		}
		free(out);

		out = render_str(t, RENDER_HEADER, &n);
		cr_assert_eq(n, strlen(c->header), "case %zu header", i);
		cr_assert_str_eq(out, c->header, "case %zu header", i);
		free(out);
		tmpl_free(t);
	}
}

Test(tmpl, render_appends_and_reuses_buffer)
{
	struct lookup_ctx	 ctx = { recipient, FF_NELEM(recipient), 0 };
	struct buf		 out = { NULL, 0, 0 };
	struct tmpl		*t;
	char			*cap_before;

	t = compile("Hi {{first_name}}", NULL);
	cr_assert_not_null(t);
	buf_adds(&out, "Subject: ");
	tmpl_render(t, RENDER_HEADER, lookup, &ctx, &out);
	cr_assert_str_eq(out.p, "Subject: Hi Ann");
	cr_assert_eq(ctx.calls, 1);

	/* Rendering again into a reset buffer does not reallocate. */
	cap_before = out.p;
	buf_reset(&out);
	tmpl_render(t, RENDER_TEXT, lookup, &ctx, &out);
	cr_assert_str_eq(out.p, "Hi Ann");
	cr_assert_eq(out.p, cap_before);
	buf_free(&out);
	tmpl_free(t);
}

Test(tmpl, null_lookup_renders_defaults)
{
	struct buf	 out = { NULL, 0, 0 };
	struct tmpl	*t;

	t = compile("{{first_name | default \"there\"}}-{{email}}-", NULL);
	cr_assert_not_null(t);
	tmpl_render(t, RENDER_HTML, NULL, NULL, &out);
	cr_assert_str_eq(out.p, "there--");
	buf_free(&out);
	tmpl_free(t);

	/* An empty template still leaves a usable empty string. */
	t = compile("", NULL);
	cr_assert_not_null(t);
	tmpl_render(t, RENDER_TEXT, NULL, NULL, &out);
	cr_assert_not_null(out.p);
	cr_assert_eq(out.len, 0);
	cr_assert_str_eq(out.p, "");
	buf_free(&out);
	tmpl_free(t);
	tmpl_free(NULL);
}

/* Header mode over every byte value: nothing below 0x20 or 0x7f comes
 * out, everything else comes out unchanged and in order. */
Test(tmpl, header_mode_every_byte)
{
	struct field_value	 fv[1];
	struct lookup_ctx	 ctx = { fv, 1, 0 };
	struct buf		 out = { NULL, 0, 0 };
	struct tmpl		*t;
	char			 all[256], want[256];
	size_t			 i, nwant = 0;

	for (i = 0; i < 256; i++) {
		all[i] = (char)i;
		if (i >= 0x20 && i != 0x7f && i != '{' && i != '}')
			want[nwant++] = (char)i;
	}
	fv[0].name = "attributes.x";
	fv[0].value = all;
	fv[0].len = sizeof(all);
	t = compile("{{attributes.x}}", NULL);
	cr_assert_not_null(t);
	tmpl_render(t, RENDER_HEADER, lookup, &ctx, &out);
	cr_assert_eq(out.len, 256 - 33);
	for (i = 0; i < out.len; i++)
		cr_assert((unsigned char)out.p[i] >= 0x20 &&
		    out.p[i] != 0x7f);
	tmpl_free(t);

	/* The same bytes as template text, braces left out. */
	{
		char	src[256];
		size_t	n = 0;

		for (i = 0; i < 256; i++)
			if (i != '{' && i != '}')
				src[n++] = (char)i;
		t = compile_n(src, n, NULL);
		cr_assert_not_null(t);
		buf_reset(&out);
		tmpl_render(t, RENDER_HEADER, lookup, &ctx, &out);
		cr_assert_eq(out.len, nwant);
		cr_assert_eq(memcmp(out.p, want, nwant), 0);
		tmpl_free(t);
	}
	buf_free(&out);
}

/* ---------------------------------------------------- syntax errors */

struct bad_case {
	const char	*src;
	int		 line;
	int		 col;
	const char	*msg;
};

static const struct bad_case bad_cases[] = {
	{ "Hi {{first_name", 1, 4, "{{ without }}" },
	{ "Hi {{first_name ", 1, 4, "{{ without }}" },
	{ "{{", 1, 1, "{{ without }}" },
	{ "{{ ", 1, 1, "{{ without }}" },
	{ "}} {{", 1, 4, "{{ without }}" },
	{ "{{email | default \"x\"", 1, 1, "{{ without }}" },
	{ "{{email | default \"x\" ", 1, 1, "{{ without }}" },
	{ "{{email |", 1, 1, "{{ without }}" },
	{ "{{email | default", 1, 1, "{{ without }}" },
	{ "{{}}", 1, 1, "empty tag" },
	{ "ab{{ \t }}", 1, 3, "empty tag" },
	{ "a\nb {{foo}}", 2, 3, "unknown field 'foo'" },
	{ "{{attributes.}}", 1, 1, "unknown field 'attributes.'" },
	{ "{{attributes.a.b}}", 1, 1, "unknown field 'attributes.a.b'" },
	{ "{{attributes.x-y}}", 1, 1, "unknown field 'attributes.x-y'" },
	{ "{{attributes}}", 1, 1, "unknown field 'attributes'" },
	{ "{{First_name}}", 1, 1, "unknown field 'First_name'" },
	{ "{{email2}}", 1, 1, "unknown field 'email2'" },
	{ "{{foo-bar | default \"x\"}}", 1, 1, "unknown field 'foo-bar'" },
	/* attributes. and 65 characters; the message shows 60 and "...". */
	{ "{{attributes.a2345678901234567890123456789"
	    "012345678901234567890123456789012345}}", 1, 1,
	    "unknown field 'attributes.a2345678901234567890123456789"
	    "01234567890123456789...'" },
	{ "{{pr\xc3\xa9nom}}", 1, 1, "unknown field 'pr??nom'" },
	{ "{{foo", 1, 1, "unknown field 'foo'" },
	{ "{{first_name {{email}}}}", 1, 14, "nested {{" },
	{ "{{ {{email}} }}", 1, 4, "nested {{" },
	{ "{{email | default \"x\" {{email}}", 1, 23, "nested {{" },
	{ "{{email | default }}", 1, 19, "missing string after default" },
	{ "{{email | default x}}", 1, 19, "missing string after default" },
	{ "{{email | default 'x'}}", 1, 19, "missing string after default" },
	{ "{{email | default \"x\" y}}", 1, 23, "text after default string" },
	{ "{{email | default \"x\"\"y\"}}", 1, 22,
	    "text after default string" },
	{ "{{email | default \"a\\nb\"}}", 1, 21, "bad escape \\n in string" },
	{ "{{email | default \"a\\'b\"}}", 1, 21, "bad escape \\' in string" },
	{ "{{email | default \"abc}}", 1, 19, "unterminated string" },
	{ "{{email|default \"\\", 1, 17, "unterminated string" },
	{ "{{email | fallback \"x\"}}", 1, 11, "expected default after |" },
	{ "{{email | defaults \"x\"}}", 1, 11, "expected default after |" },
	{ "{{email | }}", 1, 11, "expected default after |" },
	{ "{{email || default \"x\"}}", 1, 10, "expected default after |" },
	{ "{{email x}}", 1, 9, "expected }} after field name" },
	{ "{{email}", 1, 8, "expected }} after field name" },
	{ "{{email} }}", 1, 8, "expected }} after field name" },
	{ "{{first_name last_name}}", 1, 14, "expected }} after field name" },
	{ "{{ | default \"x\"}}", 1, 4, "missing field name" },
	{ "{{{email}}}", 1, 3, "missing field name" },
	{ "{{\"email\"}}", 1, 3, "missing field name" },
	{ "line1\nline2\n  {{bad}}", 3, 3, "unknown field 'bad'" },
	{ "a\r\n{{x}}", 2, 1, "unknown field 'x'" },
	{ "ok {{email}}\n\n\tbad {{email", 3, 6, "{{ without }}" },
	{ "{{email | default \"multi\nline\" x}}", 2, 7,
	    "text after default string" },
};

Test(tmpl, syntax_errors_line_col)
{
	struct render_error	 err;
	struct tmpl		*t;
	size_t			 i;

	for (i = 0; i < FF_NELEM(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];

		memset(&err, 0x55, sizeof(err));
		t = compile(c->src, &err);
		cr_assert_null(t, "case %zu compiled: %s", i, c->src);
		cr_assert_str_eq(err.msg, c->msg, "case %zu", i);
		cr_assert_eq(err.line, c->line, "case %zu line %d", i,
		    err.line);
		cr_assert_eq(err.col, c->col, "case %zu col %d", i, err.col);
		/* Without an error struct it fails the same, quietly. */
		cr_assert_null(compile(c->src, NULL));
	}
}

Test(tmpl, error_message_is_printable_and_bounded)
{
	struct render_error	 err;
	char			 src[600];
	size_t			 i;

	memcpy(src, "{{", 2);
	for (i = 2; i < sizeof(src) - 2; i++)
		src[i] = (char)(0x80 | (i & 0x3f));
	memcpy(src + sizeof(src) - 2, "}}", 2);
	cr_assert_null(compile_n(src, sizeof(src), &err));
	cr_assert_eq(err.line, 1);
	cr_assert_eq(err.col, 1);
	cr_assert_lt(strlen(err.msg), sizeof(err.msg));
	for (i = 0; err.msg[i] != '\0'; i++)
		cr_assert(err.msg[i] >= 0x20 && err.msg[i] < 0x7f);
	cr_assert(strstr(err.msg, "unknown field '") == err.msg);
}

Test(tmpl, success_clears_error)
{
	struct render_error	 err;
	struct tmpl		*t;

	memset(&err, 0x55, sizeof(err));
	t = compile("{{email}}", &err);
	cr_assert_not_null(t);
	cr_assert_eq(err.line, 0);
	cr_assert_eq(err.col, 0);
	cr_assert_str_eq(err.msg, "");
	tmpl_free(t);
}

Test(tmpl, nul_byte_in_text_is_text)
{
	struct buf	 out = { NULL, 0, 0 };
	struct tmpl	*t;

	t = compile_n("a\0{{email}}\0b", 13, NULL);
	cr_assert_not_null(t);
	tmpl_render(t, RENDER_TEXT, NULL, NULL, &out);
	cr_assert_eq(out.len, 4);
	cr_assert_eq(memcmp(out.p, "a\0\0b", 4), 0);
	buf_reset(&out);
	tmpl_render(t, RENDER_HEADER, NULL, NULL, &out);
	cr_assert_str_eq(out.p, "ab");
	buf_free(&out);
	tmpl_free(t);
}

/* ------------------------------------------------------- tmpl_fields */

struct names {
	char	*v[64];
	size_t	 n;
	size_t	 stop_at;	/* return 7 on this call (1-based) */
};

static int
collect_name(void *arg, const char *name, size_t len)
{
	struct names	*ns = arg;

	cr_assert_lt(ns->n, FF_NELEM(ns->v));
	cr_assert_eq(name[len], '\0');
	ns->v[ns->n++] = strndup(name, len);
	return ns->n == ns->stop_at ? 7 : 0;
}

static void
names_free(struct names *ns)
{
	size_t	i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
}

Test(tmpl, fields_first_appearance_dedup)
{
	struct names	 ns = { .n = 0, .stop_at = 0 };
	struct tmpl	*t;

	t = compile("{{email}} {{attributes.religion}} {{email}} "
	    "{{first_name | default \"x\"}} {{attributes.religion | default "
	    "\"y\"}} {{ first_name }} {{attributes.Religion}}", NULL);
	cr_assert_not_null(t);
	cr_assert_eq(tmpl_fields(t, collect_name, &ns), 0);
	cr_assert_eq(ns.n, 4);
	cr_assert_str_eq(ns.v[0], "email");
	cr_assert_str_eq(ns.v[1], "attributes.religion");
	cr_assert_str_eq(ns.v[2], "first_name");
	cr_assert_str_eq(ns.v[3], "attributes.Religion");
	names_free(&ns);

	/* A non-zero callback result stops the walk and is returned. */
	memset(&ns, 0, sizeof(ns));
	ns.stop_at = 2;
	cr_assert_eq(tmpl_fields(t, collect_name, &ns), 7);
	cr_assert_eq(ns.n, 2);
	names_free(&ns);
	tmpl_free(t);

	memset(&ns, 0, sizeof(ns));
	t = compile("no tags }} here", NULL);
	cr_assert_not_null(t);
	cr_assert_eq(tmpl_fields(t, collect_name, &ns), 0);
	cr_assert_eq(ns.n, 0);
	tmpl_free(t);
}

struct count_names {
	size_t	n;
	int	bad;
};

static int
count_name(void *arg, const char *name, size_t len)
{
	struct count_names	*c = arg;
	char			 want[32];

	snprintf(want, sizeof(want), "attributes.a%zu", c->n);
	if (strlen(want) != len || memcmp(want, name, len) != 0)
		c->bad = 1;
	c->n++;
	return 0;
}

/* Thousands of distinct names, each used twice, keep their order. */
Test(tmpl, many_distinct_fields)
{
	struct count_names	 c = { 0, 0 };
	struct buf		 src = { NULL, 0, 0 };
	struct tmpl		*t;
	size_t			 i;

	for (i = 0; i < 5000; i++)
		buf_addf(&src, "{{attributes.a%zu}}", i);
	for (i = 0; i < 5000; i++)
		buf_addf(&src, "{{attributes.a%zu|default \"d\"}}", i);
	t = compile_n(src.p, src.len, NULL);
	cr_assert_not_null(t);
	tmpl_fields(t, count_name, &c);
	cr_assert_eq(c.n, 5000);
	cr_assert_eq(c.bad, 0);
	tmpl_free(t);
	buf_free(&src);
}

/* ------------------------------------------------------------- large */

Test(tmpl, one_mebibyte_template)
{
	static const char	 unit[] = "Hello {{first_name}}, <b>"
	    "{{attributes.city | default \"x\"}}</b> {{last_name}}\n";
	static const char	 rendered[] = "Hello Ann, <b>"
	    "&lt;Paris &amp; &quot;Co&quot; &#39;x&#39;&gt;</b> \n";
	struct render_error	 err;
	struct buf		 src = { NULL, 0, 0 };
	struct tmpl		*t;
	char			*out;
	size_t			 i, n, units = 0;

	while (src.len < (1u << 20)) {
		buf_adds(&src, unit);
		units++;
	}
	t = compile_n(src.p, src.len, &err);
	cr_assert_not_null(t, "%d:%d %s", err.line, err.col, err.msg);
	out = render_str(t, RENDER_HTML, &n);
	cr_assert_eq(n, units * (sizeof(rendered) - 1));
	for (i = 0; i < units; i += units / 7)
		cr_assert_eq(memcmp(out + i * (sizeof(rendered) - 1),
		    rendered, sizeof(rendered) - 1), 0);
	free(out);
	out = render_str(t, RENDER_HEADER, &n);
	cr_assert_null(memchr(out, '\n', n));
	free(out);
	tmpl_free(t);

	/* An error at the very end is located on the last line. */
	buf_adds(&src, "  {{oops}}");
	cr_assert_null(compile_n(src.p, src.len, &err));
	cr_assert_eq(err.line, (int)units + 1);
	cr_assert_eq(err.col, 3);
	buf_free(&src);
}

/* ------------------------------------------------------- render_links */

struct links_case {
	const char	*html;
	const char	*want[5];	/* NULL-terminated */
};

static const struct links_case links_cases[] = {
	{ "", { NULL } },
	{ "no links at all < > <<", { NULL } },
	{ "<a href=\"http://a.example/\">a</a>", { "http://a.example/" } },
	{ "<a href='https://b.example/x'>", { "https://b.example/x" } },
	{ "<a href=http://c.example/y>", { "http://c.example/y" } },
	{ "<a href = 'https://b.example/x' >", { "https://b.example/x" } },
	{ "<a href\n=\n\"http://n.example/\"\n>", { "http://n.example/" } },
	{ "<a\thref=\"http://t.example/\">", { "http://t.example/" } },
	{ "<a/href=\"http://s.example/\">", { "http://s.example/" } },
	{ "<A HREF=\"HTTPS://X.EXAMPLE/Y\">", { "HTTPS://X.EXAMPLE/Y" } },
	{ "<a Href=\"hTTp://m.example/\">", { "hTTp://m.example/" } },
	{ "<a class=\"btn\" target=_blank href=\"http://z.example/\" "
	    "style=\"color:red\">", { "http://z.example/" } },
	{ "<a href=\"http://x.example/?a=1&amp;b=2&#38;c=&#x33;&#X34;"
	    "&lt;&gt;&quot;&#39;&apos;\">",
	    { "http://x.example/?a=1&b=2&c=34<>\"''" } },
	{ "<a href=\"http://x.example/&#233;&#x65e5;&#x1F389;\">",
	    { "http://x.example/\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\x89" } },
	/* Not entities we decode: left as written. */
	{ "<a href=\"http://x.example/?a&b=1&amp&nbsp;&#;&#x;&#0;&#xD800;"
	    "&#1114112;&#12\">",
	    { "http://x.example/?a&b=1&amp&nbsp;&#;&#x;&#0;&#xD800;"
	    "&#1114112;&#12" } },
	{ "<a href=\"  http://w.example/  \">", { "http://w.example/" } },
	/* Comments. */
	{ "<!-- <a href=\"http://x.example/\"> -->"
	    "<a href=\"http://y.example/\">",
	    { "http://y.example/" } },
	{ "<!--[if mso]><a href=\"http://o.example/\"><![endif]-->",
	    { NULL } },
	{ "<!--> <a href=\"http://c.example/\">", { "http://c.example/" } },
	{ "<!---> <a href=\"http://c.example/\">", { "http://c.example/" } },
	{ "<!-- x --!> <a href=\"http://c.example/\">",
	    { "http://c.example/" } },
	{ "<!-- never closed <a href=\"http://c.example/\">", { NULL } },
	/* Duplicates, order. */
	{ "<a href=\"http://1.example/\"><a href='http://2.example/'>"
	    "<a href=http://1.example/><a href=\"http://1.example/&#x2f;\">"
	    "<a href=\"http://3.example/\">",
	    { "http://1.example/", "http://2.example/", "http://1.example//",
	    "http://3.example/" } },
	{ "<a href=\"http://1.example/\" href=\"http://2.example/\">",
	    { "http://1.example/" } },
	/* Not tracked. */
	{ "<a href=\"mailto:x@example.com\"><a href=\"#top\">"
	    "<a href=\"/relative\"><a href=\"rel/x\">"
	    "<a href=\"//proto.example/\">"
	    "<a href=\"ftp://f.example/\"><a href=\"javascript:alert(1)\">"
	    "<a href=\"tel:+1\"><a href=\"http:x\">", { NULL } },
	{ "<a href=\"http://\"><a href=\"https:///path\"><a href=\"http://?q\">"
	    "<a href=\"http://#f\">", { NULL } },
	{ "<a href=\"https://p.example/?e={{email}}\">"
	    "<a href=\"{{unsubscribe_url}}\">"
	    "<a href=\"http://q.example/&#123;&#123;x\">", { NULL } },
	{ "<a href=\"http://s.example/a b\">"
	    "<a href=\"http://s.example/a&#9;b\">"
	    "<a href=\"http://s.example/a&#10;\">", { "http://s.example/a" } },
	{ "<a href><a href=><a href=\"\"><a>", { NULL } },
	/* Other tags, other attributes. */
	{ "<abbr href=\"http://x.example/\"><area href=\"http://x.example/\">"
	    "<link href=\"http://x.example/\"><base href=\"http://x.example/\">"
	    "<a:b href=\"http://x.example/\">", { NULL } },
	{ "<a title=\"href=http://evil.example/\" "
	    "href=\"http://good.example/\">",
	    { "http://good.example/" } },
	{ "<a data-href=\"http://evil.example/\" xhref=http://evil.example/ "
	    "href=\"http://good.example/\">", { "http://good.example/" } },
	{ "<img alt=\"<a href='http://i.example/'>\" src=x>"
	    "<a href=\"http://j.example/\">", { "http://j.example/" } },
	{ "<script>var s='<a href=\"http://s.example/\">';</script>"
	    "<a href=\"http://t.example/\">", { "http://t.example/" } },
	{ "<STYLE>a{}</a href=\"http://s.example/\"></style >"
	    "<a href=\"http://t.example/\">", { "http://t.example/" } },
	{ "<title><a href=\"http://s.example/\"></title>", { NULL } },
	{ "</a href=\"http://e.example/\">", { NULL } },
	{ "<!DOCTYPE html><?xml x?><a href=\"http://d.example/\">",
	    { "http://d.example/" } },
	/* Incomplete tags at the end are no tags. */
	{ "<a href=\"http://x.example/\"", { NULL } },
	{ "<a href=\"http://x.example/>", { NULL } },
	{ "<a href=http://x.example/", { NULL } },
	{ "<a href=", { NULL } },
	{ "<a", { NULL } },
	{ "<", { NULL } },
};

Test(links, table)
{
	char	**urls;
	char	 *html;
	size_t	  i, j, n, len;

	for (i = 0; i < FF_NELEM(links_cases); i++) {
		const struct links_case *c = &links_cases[i];

		len = strlen(c->html);
		html = exact_copy(c->html, len);
		n = render_links(html, len, &urls);
		for (j = 0; c->want[j] != NULL; j++) {
			cr_assert_lt(j, n, "case %zu: %zu links, want more",
			    i, n);
			cr_assert_str_eq(urls[j], c->want[j], "case %zu", i);
		}
		cr_assert_eq(n, j, "case %zu: %zu links, want %zu (%s)", i,
		    n, j, n > j ? urls[j] : "");
		render_links_free(urls, n);
		free(html);
	}
}

Test(links, many_distinct_links)
{
	struct buf	  html = { NULL, 0, 0 };
	char		**urls;
	char		  want[64];
	size_t		  i, n;

	for (i = 0; i < 20000; i++)
		buf_addf(&html, "<p><a href=\"https://l.example/%zu\">x</a>\n",
		    i);
	for (i = 0; i < 20000; i += 3)
		buf_addf(&html, "<a href='https://l.example/%zu'>again</a>",
		    i);
	n = render_links(html.p, html.len, &urls);
	cr_assert_eq(n, 20000);
	for (i = 0; i < n; i += 997) {
		snprintf(want, sizeof(want), "https://l.example/%zu", i);
		cr_assert_str_eq(urls[i], want);
	}
	render_links_free(urls, n);
	buf_free(&html);
}

/*
 * render_link_report: the untracked hrefs beside the tracked ones, each
 * distinct URL once with its reason, and every href counted (the API's
 * cap counts repeats: each costs a token in every copy).
 */
Test(links, report_reasons)
{
	static const struct {
		const char	*url;
		const char	*reason;
	} want[] = {
		{ "mailto:x@example.com", "mailto" },
		{ "tel:+331234", "tel" },
		{ "#top", "anchor" },
		{ "/relative", "relative" },
		{ "//proto.example/", "relative" },
		{ "javascript:alert(1)", "scheme" },
		{ "ftp://f.example/", "scheme" },
		{ "http:x", "no_host" },
		{ "https:///path", "no_host" },
		{ "https://p.example/?e={{email}}", "merge_tag" },
		{ "{{attributes.page}}", "merge_tag" },
		{ "{{ unsubscribe_url }}", "unsubscribe_url" },
		{ "http://s.example/a b", "invalid_url" },
	};
	static const char html[] =
	    "<a href=\"https://t.example/1\">"
	    "<a href=\"mailto:x@example.com\"><a href=\"tel:+331234\">"
	    "<a href=\"#top\"><a href=\"/relative\">"
	    "<a href=\"//proto.example/\">"
	    "<a href=\"javascript:alert(1)\"><a href=\"ftp://f.example/\">"
	    "<a href=\"http:x\"><a href=\"https:///path\">"
	    "<a href=\"https://p.example/?e={{email}}\">"
	    "<a href=\"{{attributes.page}}\">"
	    "<a href=\" {{ unsubscribe_url }} \">"
	    "<a href=\"http://s.example/a b\">"
	    "<a href=\"mailto:x@example.com\">"	/* a repeat */
	    "<a href=\"https://t.example/1\">"	/* a repeat */
	    "<a href=\"https://t.example/2\">"
	    "<!-- <a href=\"mailto:hidden@example.com\"> -->"
	    "<a href=\"\"><a>";			/* no value: no link */
	struct render_link_report	 rep;
	char				*copy;
	size_t				 i;

	copy = exact_copy(html, sizeof(html) - 1);
	render_link_report(copy, sizeof(html) - 1, &rep);
	cr_assert_eq(rep.ntracked, 2);
	cr_assert_str_eq(rep.tracked[0], "https://t.example/1");
	cr_assert_str_eq(rep.tracked[1], "https://t.example/2");
	cr_assert_eq(rep.nuntracked, FF_NELEM(want), "%zu untracked",
	    rep.nuntracked);
	for (i = 0; i < FF_NELEM(want); i++) {
		cr_assert_str_eq(rep.untracked[i].url, want[i].url, "%zu", i);
		cr_assert_str_eq(rep.untracked[i].reason, want[i].reason,
		    "%s", want[i].url);
	}
	cr_assert_eq(rep.hrefs, 17, "%zu hrefs", rep.hrefs);
	render_link_report_free(&rep);
	free(copy);
}

/* The counts the API's caps compare: exact at N and N + 1, repeats
 * included, and in one pass (50,000 of each in well under a second). */
Test(links, report_counts_every_href, .timeout = 10)
{
	struct render_link_report	rep;
	struct buf			html = { NULL, 0, 0 };
	size_t				i;

	for (i = 0; i < 2000; i++)
		buf_addf(&html, "<a href=\"https://c.example/%zu\">x</a>",
		    i % 1500);
	render_link_report(html.p, html.len, &rep);
	cr_assert_eq(rep.hrefs, 2000);
	cr_assert_eq(rep.ntracked, 1500);
	render_link_report_free(&rep);
	buf_adds(&html, "<a href=\"mailto:a@example.com\">");
	render_link_report(html.p, html.len, &rep);
	cr_assert_eq(rep.hrefs, 2001);
	cr_assert_eq(rep.nuntracked, 1);
	render_link_report_free(&rep);

	buf_reset(&html);
	for (i = 0; i < 50000; i++)
		buf_addf(&html, "<a href=\"https://c.example/%zu\">x</a>"
		    "<a href=\"/rel/%zu\">y</a>", i, i);
	render_link_report(html.p, html.len, &rep);
	cr_assert_eq(rep.hrefs, 100000);
	cr_assert_eq(rep.ntracked, 50000);
	cr_assert_eq(rep.nuntracked, 50000);
	render_link_report_free(&rep);
	buf_free(&html);
}

Test(tmpl, tags_counts_repeats)
{
	struct tmpl	*t;
	struct buf	 src = { NULL, 0, 0 };
	size_t		 i;

	t = compile("plain }} text", NULL);
	cr_assert_eq(tmpl_tags(t), 0);
	tmpl_free(t);
	for (i = 0; i < 1000; i++)
		buf_adds(&src, i % 2 ? "{{first_name}} " :
		    "{{email | default \"x\"}}");
	t = compile_n(src.p, src.len, NULL);
	cr_assert_not_null(t);
	cr_assert_eq(tmpl_tags(t), 1000);
	tmpl_free(t);
	buf_adds(&src, "{{unsubscribe_url}}");
	t = compile_n(src.p, src.len, NULL);
	cr_assert_eq(tmpl_tags(t), 1001);
	tmpl_free(t);
	buf_free(&src);
}

/* ------------------------------------------------------------ rewrite */

struct rewrite_ctx {
	char		 tmp[128];
	const char	*fixed;		/* returned when set */
	size_t		 calls;
};

static const char *
rewrite_numbered(void *arg, size_t idx, const char *url)
{
	struct rewrite_ctx	*r = arg;

	r->calls++;
	cr_assert_not_null(url);
	if (r->fixed != NULL)
		return r->fixed;
	snprintf(r->tmp, sizeof(r->tmp), "https://t.example/c/%zu", idx);
	return r->tmp;
}

static const char *
rewrite_none(void *arg, size_t idx, const char *url)
{
	return NULL;
}

static const char rewrite_in[] =
    "<p><a href=\"http://a.example/x?y=1&amp;z=2\">A</a>\n"
    "<a class=b href='https://b.example/'>B</a>\n"
    "<A HREF = http://c.example/ target=_blank>C</A>\n"
    "<a href=\"http://a.example/x?y=1&z=2\">A again</a>\n"
    "<a href=\"mailto:x@example.com\">M</a>\n"
    "<a href=\"https://p.example/{{email}}\">P</a>\n"
    "<a title='href=\"http://b.example/\"' href=\"#top\">T</a>\n"
    "<!-- <a href=\"http://a.example/x?y=1&amp;z=2\"> -->\n"
    "<area href=\"https://b.example/\">\n"
    "</p>";

static const char rewrite_out[] =
    "<p><a href=\"https://t.example/c/0\">A</a>\n"
    "<a class=b href='https://t.example/c/1'>B</a>\n"
    "<A HREF = \"https://t.example/c/2\" target=_blank>C</A>\n"
    "<a href=\"https://t.example/c/0\">A again</a>\n"
    "<a href=\"mailto:x@example.com\">M</a>\n"
    "<a href=\"https://p.example/{{email}}\">P</a>\n"
    "<a title='href=\"http://b.example/\"' href=\"#top\">T</a>\n"
    "<!-- <a href=\"http://a.example/x?y=1&amp;z=2\"> -->\n"
    "<area href=\"https://b.example/\">\n"
    "</p>";

Test(rewrite, round_trip)
{
	struct rewrite_ctx	  r = { .fixed = NULL, .calls = 0 };
	struct buf		  out = { NULL, 0, 0 };
	char			**urls, **again;
	char			 *html;
	size_t			  n, m, len = sizeof(rewrite_in) - 1;

	html = exact_copy(rewrite_in, len);
	n = render_links(html, len, &urls);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(urls[0], "http://a.example/x?y=1&z=2");
	cr_assert_str_eq(urls[1], "https://b.example/");
	cr_assert_str_eq(urls[2], "http://c.example/");

	render_rewrite_links(html, len, urls, n, rewrite_numbered, &r, &out);
	cr_assert_str_eq(out.p, rewrite_out);
	cr_assert_eq(out.len, strlen(rewrite_out));
	cr_assert_eq(r.calls, 4);

	/* The rewritten page links to the tracker only. */
	m = render_links(out.p, out.len, &again);
	cr_assert_eq(m, 3);
	cr_assert_str_eq(again[0], "https://t.example/c/0");
	cr_assert_str_eq(again[2], "https://t.example/c/2");
	render_links_free(again, m);

	/* rewrite returning NULL, or no list: the HTML unchanged. */
	buf_reset(&out);
	render_rewrite_links(html, len, urls, n, rewrite_none, NULL, &out);
	cr_assert_eq(out.len, len);
	cr_assert_eq(memcmp(out.p, html, len), 0);
	buf_reset(&out);
	render_rewrite_links(html, len, NULL, 0, rewrite_numbered, &r, &out);
	cr_assert_eq(out.len, len);
	cr_assert_eq(memcmp(out.p, html, len), 0);

	/* Only the listed links change; the index is into the list. */
	buf_reset(&out);
	r.calls = 0;
	render_rewrite_links(html, len, urls + 1, 1, rewrite_numbered, &r,
	    &out);
	cr_assert_eq(r.calls, 1);
	cr_assert_not_null(strstr(out.p,
	    "href='https://t.example/c/0'>B</a>"));
	cr_assert_not_null(strstr(out.p,
	    "<p><a href=\"http://a.example/x?y=1&amp;z=2\">A</a>"));
	cr_assert_not_null(strstr(out.p, "HREF = http://c.example/ "));

	buf_free(&out);
	render_links_free(urls, n);
	free(html);
}

Test(rewrite, escapes_new_url)
{
	struct rewrite_ctx	  r = {
		.fixed = "https://t.example/c?a=1&b=\"2\"'3'", .calls = 0 };
	struct buf		  out = { NULL, 0, 0 };
	char			**urls;
	const char		 *html = "<a href=\"http://a.example/\">"
	    "<a href='http://a.example/'><a href=http://a.example/>";
	size_t			  n;

	n = render_links(html, strlen(html), &urls);
	cr_assert_eq(n, 1);
	render_rewrite_links(html, strlen(html), urls, n, rewrite_numbered,
	    &r, &out);
	cr_assert_str_eq(out.p,
	    "<a href=\"https://t.example/c?a=1&amp;b=&quot;2&quot;'3'\">"
	    "<a href='https://t.example/c?a=1&amp;b=&quot;2&quot;&#39;3&#39;'>"
	    "<a href=\"https://t.example/c?a=1&amp;b=&quot;2&quot;'3'\">");

	/* And the escaped value decodes back to exactly the new URL. */
	render_links_free(urls, n);
	n = render_links(out.p, out.len, &urls);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(urls[0], r.fixed);
	render_links_free(urls, n);
	buf_free(&out);
}

Test(rewrite, appends_to_out)
{
	struct rewrite_ctx	  r = { .fixed = "https://t/", .calls = 0 };
	struct buf		  out = { NULL, 0, 0 };
	char			**urls;
	const char		 *html = "x<a href=\"http://a.example/\">y";
	size_t			  n;

	n = render_links(html, strlen(html), &urls);
	buf_adds(&out, "head:");
	render_rewrite_links(html, strlen(html), urls, n, rewrite_numbered,
	    &r, &out);
	cr_assert_str_eq(out.p, "head:x<a href=\"https://t/\">y");
	render_links_free(urls, n);
	buf_free(&out);
}

/* ------------------------------------------------------ random input */

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t	x = *s;		/* xorshift64 */

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static const char *const pieces[] = {
	"{{", "}}", "{", "}", "|", "\"", "\\", " ", "\n", "\r", "\t",
	"default", "first_name", "email", "attributes.", "attributes.x",
	"<a ", "<A", " href=", "href", "'", "=", ">", "<", "<!--", "-->",
	"http://", "https://x.example/", "&amp;", "&#", "x", ";", "&",
	"</script>", "<script>", "\x00", "\xff", "\xc3\xa9", "/", "#",
};

static size_t
random_input(uint64_t *seed, char *dst, size_t max)
{
	size_t	n = 0, want = rng_next(seed) % max;

	while (n < want) {
		uint64_t r = rng_next(seed);

		if (r % 4 == 0) {
			dst[n++] = (char)(r >> 8);
		} else {
			const char *p = pieces[(r >> 8) % FF_NELEM(pieces)];
			size_t l = p[0] == '\0' ? 1 : strlen(p);

			if (n + l > max)
				break;
			memcpy(dst + n, p, l);
			n += l;
		}
	}
	return n;
}

Test(random, garbage_never_crashes)
{
	struct render_error	  err;
	struct rewrite_ctx	  r = { .fixed = NULL, .calls = 0 };
	struct lookup_ctx	  ctx = { recipient, FF_NELEM(recipient), 0 };
	struct buf		  out = { NULL, 0, 0 };
	struct tmpl		 *t;
	uint64_t		  seed = 0x9e3779b97f4a7c15ULL;
	char			  raw[512], *in, **urls;
	size_t			  it, i, n, len, compiled = 0;

	for (it = 0; it < 3000; it++) {
		len = random_input(&seed, raw, sizeof(raw));
		in = exact_copy(raw, len);
		t = tmpl_compile(in, len, &err);
		if (t == NULL) {
			cr_assert_geq(err.line, 1);
			cr_assert_geq(err.col, 1);
			cr_assert_neq(err.msg[0], '\0');
		} else {
			compiled++;
			buf_reset(&out);
			tmpl_render(t, RENDER_TEXT, lookup, &ctx, &out);
			buf_reset(&out);
			tmpl_render(t, RENDER_HTML, lookup, &ctx, &out);
			buf_reset(&out);
			tmpl_render(t, RENDER_HEADER, lookup, &ctx, &out);
			for (i = 0; i < out.len; i++)
				cr_assert((unsigned char)out.p[i] >= 0x20 &&
				    out.p[i] != 0x7f);
			tmpl_free(t);
		}

		n = render_links(in, len, &urls);
		buf_reset(&out);
		render_rewrite_links(in, len, urls, n, rewrite_none, NULL,
		    &out);
		cr_assert_eq(out.len, len);
		cr_assert_eq(memcmp(out.p, in, len), 0);
		buf_reset(&out);
		render_rewrite_links(in, len, urls, n, rewrite_numbered, &r,
		    &out);
		render_links_free(urls, n);
		free(in);
	}
	cr_assert_gt(compiled, 100, "the generator should reach rendering");
	buf_free(&out);
}
