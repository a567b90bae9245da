/*
 * render.c: the merge-tag template engine and the <a href> link scanner.
 * Pure: bytes in, bytes out, no I/O, no global state.
 *
 * Templates.  A tag is
 *
 *	{{ NAME }}  or  {{ NAME | default "STRING" }}
 *
 * NAME is first_name, last_name, email, unsubscribe_url,
 * preferences_url (the preference page, signup.c) or attributes.[A-Za-z0-9_]{1,64}; anything else is refused at compile
 * time, so a typo is a 422 for the marketer, not a blank in a million
 * mails.  Spaces, tabs and line breaks may surround the parts of a tag.
 * STRING is double-quoted with \" and \\ as its only escapes.  A lone
 * "}}" in text is literal text; a "{{" always opens a tag and there is
 * no escape for a literal "{{" outside a default string.  Errors carry
 * a 1-based line and byte column: the "{{" of the tag for an
 * unterminated tag, an empty tag or an unknown field, the offending
 * byte for everything else (nested "{{", bad escape, missing default
 * string, text after it; the opening quote of an unterminated string).
 *
 * A template is compiled once into a list of parts over one pool
 * holding the text, the field names and the decoded defaults; rendering
 * walks the parts and allocates nothing but the growth of the output.
 * Escaping applies to values and defaults; the template's own text is
 * copied as is, except that header mode drops control bytes everywhere
 * so that neither a recipient's value nor a line break in a subject
 * template can start a new header line.
 *
 * Links.  render_links() and render_rewrite_links() share one HTML
 * tokenizer close enough to HTML5 for the cases mail editors produce:
 * attributes are parsed with their quotes (so "href=" inside another
 * value is not an href), comments and raw-text elements (script, style,
 * title, ...) are skipped, only complete <a> start tags count, and the
 * first href of a tag wins.  A link is tracked only when its decoded
 * value is an absolute http(s) URL with a host, no merge tag and no
 * control byte or space inside: everything else is left exactly as
 * written.  Links inside comments, including Outlook's <!--[if mso]>
 * blocks, are not tracked.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fanfare.h"

#define TMPL_LITERAL		SIZE_MAX	/* part.field of plain text */
#define TMPL_ATTR_PREFIX	"attributes."
#define TMPL_ATTR_PREFIX_LEN	(sizeof(TMPL_ATTR_PREFIX) - 1)
#define TMPL_ATTR_MAX		64

struct tmpl_part {
	size_t	off;		/* text, or the tag's default, in pool */
	size_t	len;
	size_t	field;		/* index into fields, or TMPL_LITERAL */
};

struct tmpl_field {
	size_t	off;		/* NUL-terminated name in pool */
	size_t	len;
};

struct tmpl {
	struct tmpl_part	*parts;
	size_t			 nparts;
	struct tmpl_field	*fields;
	size_t			 nfields;
	char			*pool;
};

/* ------------------------------------------------------------ strset */

/*
 * A set of strings kept elsewhere (the caller's array), found by
 * index: it lets compile and the link scanner deduplicate in linear
 * time without copying keys.
 */
typedef const char *(*strset_key)(const void *ctx, size_t idx, size_t *len);

struct strset {
	size_t		*slot;		/* index + 1; 0 is empty */
	size_t		 cap;		/* a power of two */
	size_t		 n;
	strset_key	 key;
	const void	*ctx;
};

static void
strset_init(struct strset *set, strset_key key, const void *ctx)
{
	set->slot = NULL;
	set->cap = set->n = 0;
	set->key = key;
	set->ctx = ctx;
}

static void
strset_free(struct strset *set)
{
	free(set->slot);
	set->slot = NULL;
	set->cap = set->n = 0;
}

/* The slot holding s, or the empty slot where it would go. */
static size_t
strset_slot(const struct strset *set, const char *s, size_t len)
{
	size_t		 i, klen;
	const char	*k;

	i = hash_fnv1a(s, len) & (set->cap - 1);
	while (set->slot[i] != 0) {
		k = set->key(set->ctx, set->slot[i] - 1, &klen);
		if (klen == len && memcmp(k, s, len) == 0)
			break;
		i = (i + 1) & (set->cap - 1);
	}
	return i;
}

/* Index of an equal string, or SIZE_MAX. */
static size_t
strset_find(const struct strset *set, const char *s, size_t len)
{
	size_t	i;

	if (set->cap == 0)
		return SIZE_MAX;
	i = strset_slot(set, s, len);
	return set->slot[i] == 0 ? SIZE_MAX : set->slot[i] - 1;
}

/* Index of an equal string already there, or idx once added. */
static size_t
strset_add(struct strset *set, const char *s, size_t len, size_t idx)
{
	size_t		*old = set->slot, oldcap = set->cap, i, j, klen;
	const char	*k;

	if ((set->n + 1) * 2 > set->cap) {
		set->cap = oldcap ? oldcap * 2 : 64;
		set->slot = xcalloc(set->cap, sizeof(*set->slot));
		for (i = 0; i < oldcap; i++) {
			if (old[i] == 0)
				continue;
			k = set->key(set->ctx, old[i] - 1, &klen);
			j = strset_slot(set, k, klen);
			set->slot[j] = old[i];
		}
		free(old);
	}
	i = strset_slot(set, s, len);
	if (set->slot[i] != 0)
		return set->slot[i] - 1;
	set->slot[i] = idx + 1;
	set->n++;
	return idx;
}

/* ----------------------------------------------------------- compile */

struct tmpl_build {
	const char		*src;
	size_t			 len;
	struct buf		 pool;
	struct tmpl_part	*parts;
	size_t			 nparts, partcap;
	struct tmpl_field	*fields;
	size_t			 nfields, fieldcap;
	struct strset		 names;
	struct render_error	*err;
	int			 internal;	/* "__name" allowed */
};

static const char *
tmpl_build_key(const void *ctx, size_t idx, size_t *len)
{
	const struct tmpl_build *b = ctx;

	*len = b->fields[idx].len;
	return b->pool.p + b->fields[idx].off;
}

static int
tmpl_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Bytes a field name token may hold; the name is checked afterwards so
 * that "{{foo-bar}}" reports the whole unknown name. */
static int
tmpl_name_byte(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '|' && c != '{' && c != '}' &&
	    c != '"';
}

static int
tmpl_at(const struct tmpl_build *b, size_t i, const char *two)
{
	return b->len - i >= 2 && b->src[i] == two[0] &&
	    b->src[i + 1] == two[1];
}

static int
tmpl_valid_name(const struct tmpl_build *b, const char *s, size_t n)
{
	static const char *const fixed[] = {
		"first_name", "last_name", "email", "unsubscribe_url",
		"preferences_url",
	};
	size_t	i;

	/* The sender's own tags (tracked links, the pixel): never a
	 * marketer's, since the API compiles without them. */
	if (b->internal && n > 2 && n <= 64 && s[0] == '_' && s[1] == '_') {
		for (i = 2; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
			    s[i] == '.'))
				return 0;
		return 1;
	}

	for (i = 0; i < FF_NELEM(fixed); i++)
		if (strlen(fixed[i]) == n && memcmp(fixed[i], s, n) == 0)
			return 1;
	if (n <= TMPL_ATTR_PREFIX_LEN ||
	    n > TMPL_ATTR_PREFIX_LEN + TMPL_ATTR_MAX ||
	    memcmp(s, TMPL_ATTR_PREFIX, TMPL_ATTR_PREFIX_LEN) != 0)
		return 0;
	for (i = TMPL_ATTR_PREFIX_LEN; i < n; i++) {
		unsigned char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* Printable ASCII copy of a user-written snippet for an error message:
 * the message may end up in JSON, where a cut UTF-8 sequence is bad. */
static void
tmpl_quote(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t	i, max = dstlen - 4;	/* room for "..." and NUL */

	for (i = 0; i < n && i < max; i++) {
		unsigned char c = s[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < n) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

static int
tmpl_fail(struct tmpl_build *b, size_t off, const char *fmt, ...)
    FF_ATTR_PRINTF(3, 4);

static int
tmpl_fail(struct tmpl_build *b, size_t off, const char *fmt, ...)
{
	struct render_error	*err = b->err;
	size_t			 i, line = 1, bol = 0;
	va_list			 ap;

	if (err == NULL)
		return -1;
	for (i = 0; i < off && i < b->len; i++) {
		if (b->src[i] == '\n') {
			line++;
			bol = i + 1;
		}
	}
	err->line = line > INT_MAX ? INT_MAX : (int)line;
	err->col = off - bol + 1 > INT_MAX ? INT_MAX : (int)(off - bol + 1);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void
tmpl_add_part(struct tmpl_build *b, size_t off, size_t len, size_t field)
{
	if (b->nparts == b->partcap) {
		b->partcap = b->partcap ? b->partcap * 2 : 16;
		b->parts = xreallocarray(b->parts, b->partcap,
		    sizeof(*b->parts));
	}
	b->parts[b->nparts].off = off;
	b->parts[b->nparts].len = len;
	b->parts[b->nparts].field = field;
	b->nparts++;
}

static void
tmpl_add_text(struct tmpl_build *b, size_t from, size_t to)
{
	if (to == from)
		return;
	tmpl_add_part(b, b->pool.len, to - from, TMPL_LITERAL);
	buf_add(&b->pool, b->src + from, to - from);
}

/* The field's index, the name added to the pool the first time. */
static size_t
tmpl_add_field(struct tmpl_build *b, const char *name, size_t len)
{
	size_t	idx, off = b->pool.len;

	if (b->nfields == b->fieldcap) {
		b->fieldcap = b->fieldcap ? b->fieldcap * 2 : 8;
		b->fields = xreallocarray(b->fields, b->fieldcap,
		    sizeof(*b->fields));
	}
	buf_add(&b->pool, name, len);
	buf_add(&b->pool, "", 1);
	b->fields[b->nfields].off = off;
	b->fields[b->nfields].len = len;
	idx = strset_add(&b->names, name, len, b->nfields);
	if (idx == b->nfields)
		b->nfields++;
	else {
		b->pool.len = off;	/* seen before: drop the copy */
		b->pool.p[off] = '\0';
	}
	return idx;
}

static size_t
tmpl_skip_space(const struct tmpl_build *b, size_t i)
{
	while (i < b->len && tmpl_space(b->src[i]))
		i++;
	return i;
}

/* Parses the tag whose "{{" is at start; *end is just past its "}}". */
static int
tmpl_parse_tag(struct tmpl_build *b, size_t start, size_t *end)
{
	char	 shown[64];
	size_t	 i, name, namelen, field, defoff, q;

	i = tmpl_skip_space(b, start + 2);
	if (i == b->len)
		return tmpl_fail(b, start, "{{ without }}");
	if (tmpl_at(b, i, "}}"))
		return tmpl_fail(b, start, "empty tag");
	if (tmpl_at(b, i, "{{"))
		return tmpl_fail(b, i, "nested {{");
	name = i;
	while (i < b->len && tmpl_name_byte(b->src[i]))
		i++;
	namelen = i - name;
	if (namelen == 0)
		return tmpl_fail(b, i, "missing field name");
	if (!tmpl_valid_name(b, b->src + name, namelen)) {
		tmpl_quote(shown, sizeof(shown), b->src + name, namelen);
		return tmpl_fail(b, start, "unknown field '%s'", shown);
	}

	i = tmpl_skip_space(b, i);
	if (i == b->len)
		return tmpl_fail(b, start, "{{ without }}");
	if (tmpl_at(b, i, "{{"))
		return tmpl_fail(b, i, "nested {{");
	if (tmpl_at(b, i, "}}")) {
		field = tmpl_add_field(b, b->src + name, namelen);
		tmpl_add_part(b, 0, 0, field);
		*end = i + 2;
		return 0;
	}
	if (b->src[i] != '|')
		return tmpl_fail(b, i, "expected }} after field name");

	i = tmpl_skip_space(b, i + 1);
	if (i == b->len)
		return tmpl_fail(b, start, "{{ without }}");
	if (b->len - i < 7 || memcmp(b->src + i, "default", 7) != 0 ||
	    (b->len - i > 7 && tmpl_name_byte(b->src[i + 7])))
		return tmpl_fail(b, i, "expected default after |");
	i = tmpl_skip_space(b, i + 7);
	if (i == b->len)
		return tmpl_fail(b, start, "{{ without }}");
	if (b->src[i] != '"')
		return tmpl_fail(b, i, "missing string after default");

	/* The decoded default goes to the pool; dropped again on error
	 * together with everything else. */
	q = i++;
	defoff = b->pool.len;
	for (;;) {
		size_t run = i;

		while (i < b->len && b->src[i] != '"' && b->src[i] != '\\')
			i++;
		buf_add(&b->pool, b->src + run, i - run);
		if (i == b->len)
			return tmpl_fail(b, q, "unterminated string");
		if (b->src[i] == '"')
			break;
		if (i + 1 == b->len)
			return tmpl_fail(b, q, "unterminated string");
		if (b->src[i + 1] != '"' && b->src[i + 1] != '\\') {
			tmpl_quote(shown, sizeof(shown), b->src + i + 1, 1);
			return tmpl_fail(b, i, "bad escape \\%s in string",
			    shown);
		}
		buf_add(&b->pool, b->src + i + 1, 1);
		i += 2;
	}
	i = tmpl_skip_space(b, i + 1);
	if (i == b->len)
		return tmpl_fail(b, start, "{{ without }}");
	if (tmpl_at(b, i, "{{"))
		return tmpl_fail(b, i, "nested {{");
	if (!tmpl_at(b, i, "}}"))
		return tmpl_fail(b, i, "text after default string");
	/* The field is added after the default: a field's name and the
	 * default may not interleave in the pool (tmpl_add_field may
	 * truncate the pool back to where the name started). */
	{
		size_t deflen = b->pool.len - defoff;

		field = tmpl_add_field(b, b->src + name, namelen);
		tmpl_add_part(b, defoff, deflen, field);
	}
	*end = i + 2;
	return 0;
}

struct tmpl *
tmpl_compile(const char *src, size_t len, struct render_error *err)
{
	return tmpl_compile_internal(src, len, 0, err);
}

struct tmpl *
tmpl_compile_internal(const char *src, size_t len, int internal,
    struct render_error *err)
{
	struct tmpl_build	 b;
	struct tmpl		*t;
	const char		*open;
	size_t			 pos = 0, end = 0;

	memset(&b, 0, sizeof(b));
	b.internal = internal;
	b.src = src;
	b.len = len;
	b.err = err;
	strset_init(&b.names, tmpl_build_key, &b);
	if (err != NULL) {
		err->line = err->col = 0;
		err->msg[0] = '\0';
	}
	buf_add(&b.pool, "", 0);	/* non-NULL even when empty */

	while (pos < len &&
	    (open = memmem(src + pos, len - pos, "{{", 2)) != NULL) {
		size_t start = (size_t)(open - src);

		tmpl_add_text(&b, pos, start);
		if (tmpl_parse_tag(&b, start, &end) == -1) {
			buf_free(&b.pool);
			free(b.parts);
			free(b.fields);
			strset_free(&b.names);
			return NULL;
		}
		pos = end;
	}
	tmpl_add_text(&b, pos, len);
	strset_free(&b.names);

	t = xcalloc(1, sizeof(*t));
	t->parts = b.parts;
	t->nparts = b.nparts;
	t->fields = b.fields;
	t->nfields = b.nfields;
	t->pool = b.pool.p;
	return t;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->parts);
	free(t->fields);
	free(t->pool);
	free(t);
}

size_t
tmpl_tags(const struct tmpl *t)
{
	size_t	i, n = 0;

	for (i = 0; i < t->nparts; i++)
		if (t->parts[i].field != TMPL_LITERAL)
			n++;
	return n;
}

int
tmpl_fields(const struct tmpl *t, int (*cb)(void *, const char *, size_t),
    void *arg)
{
	size_t	i;
	int	r;

	for (i = 0; i < t->nfields; i++)
		if ((r = cb(arg, t->pool + t->fields[i].off,
		    t->fields[i].len)) != 0)
			return r;
	return 0;
}

/* ------------------------------------------------------------ render */

static void
render_html(struct buf *out, const char *s, size_t n)
{
	size_t	i, run = 0;

	for (i = 0; i < n; i++) {
		const char *ent;

		switch (s[i]) {
		case '&':	ent = "&amp;"; break;
		case '<':	ent = "&lt;"; break;
		case '>':	ent = "&gt;"; break;
		case '"':	ent = "&quot;"; break;
		case '\'':	ent = "&#39;"; break;
		default:	continue;
		}
		buf_add(out, s + run, i - run);
		buf_adds(out, ent);
		run = i + 1;
	}
	buf_add(out, s + run, n - run);
}

/* Drops C0 controls and DEL; UTF-8 bytes (>= 0x80) pass unchanged. */
static void
render_header(struct buf *out, const char *s, size_t n)
{
	size_t	i, run = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c != 0x7f)
			continue;
		buf_add(out, s + run, i - run);
		run = i + 1;
	}
	buf_add(out, s + run, n - run);
}

/*
 * Appends to out (a MIME builder renders a subject into a larger
 * buffer); out->p is non-NULL afterwards even when nothing was added.
 * lookup may be NULL: every tag then renders its default.
 */
void
tmpl_render(const struct tmpl *t, enum render_escape esc, render_lookup lookup,
    void *arg, struct buf *out)
{
	const struct tmpl_part	*p;
	const struct tmpl_field	*f;
	const char		*v;
	size_t			 i, vlen;

	buf_add(out, "", 0);
	for (i = 0; i < t->nparts; i++) {
		p = &t->parts[i];
		if (p->field == TMPL_LITERAL) {
			if (esc == RENDER_HEADER)
				render_header(out, t->pool + p->off, p->len);
			else
				buf_add(out, t->pool + p->off, p->len);
			continue;
		}
		f = &t->fields[p->field];
		vlen = 0;
		v = lookup == NULL ? NULL :
		    lookup(arg, t->pool + f->off, f->len, &vlen);
		if (v == NULL || vlen == 0) {
			v = t->pool + p->off;
			vlen = p->len;
		}
		switch (esc) {
		case RENDER_HTML:
			render_html(out, v, vlen);
			break;
		case RENDER_HEADER:
			render_header(out, v, vlen);
			break;
		default:
			buf_add(out, v, vlen);
			break;
		}
	}
}

/* ------------------------------------------------------------- links */

/* One <a href>: where its raw value sits in the HTML (without the
 * quotes) and the decoded URL; reason says why it is not tracked (NULL
 * when it is). */
struct link_href {
	size_t		 vstart;
	size_t		 vlen;
	char		 quote;		/* '"', '\'' or 0 when unquoted */
	const char	*url;		/* NUL-terminated, trimmed */
	size_t		 urllen;
	const char	*reason;	/* NULL: tracked */
};

typedef void (*link_cb)(void *arg, const struct link_href *);

static int
html_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int
html_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
html_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
html_add_utf8(struct buf *out, uint32_t cp)
{
	unsigned char	u[4];
	size_t		n;

	if (cp < 0x80) {
		u[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = 0xc0 | cp >> 6;
		u[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = 0xe0 | cp >> 12;
		u[1] = 0x80 | ((cp >> 6) & 0x3f);
		u[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		u[0] = 0xf0 | cp >> 18;
		u[1] = 0x80 | ((cp >> 12) & 0x3f);
		u[2] = 0x80 | ((cp >> 6) & 0x3f);
		u[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	buf_add(out, u, n);
}

/*
 * Length of the character reference at s (s[0] == '&') with its value
 * appended to out, or 0 when it is not one we decode (the '&' is then
 * copied as it is).  Named: amp quot lt gt apos; numeric &#N; and
 * &#xH; for valid code points other than NUL and surrogates.
 */
static size_t
html_entity(const char *s, size_t n, struct buf *out)
{
	static const struct {
		const char	*name;
		char		 c;
	} named[] = {
		{ "amp;", '&' }, { "quot;", '"' }, { "lt;", '<' },
		{ "gt;", '>' }, { "apos;", '\'' },
	};
	uint32_t	cp = 0;
	size_t		i, k;
	int		hex, d;

	for (k = 0; k < FF_NELEM(named); k++) {
		size_t l = strlen(named[k].name);

		if (n - 1 >= l && memcmp(s + 1, named[k].name, l) == 0) {
			buf_add(out, &named[k].c, 1);
			return l + 1;
		}
	}
	if (n < 4 || s[1] != '#')
		return 0;
	hex = s[2] == 'x' || s[2] == 'X';
	for (i = hex ? 3 : 2; i < n; i++) {
		d = hex ? html_hexval(s[i]) :
		    (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
		if (d < 0)
			break;
		cp = cp * (hex ? 16 : 10) + (uint32_t)d;
		if (cp > 0x10ffff)
			return 0;
	}
	if (i == (hex ? 3u : 2u) || i == n || s[i] != ';')
		return 0;
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	html_add_utf8(out, cp);
	return i + 1;
}

/* Decodes an attribute value into out (reset first). */
static void
html_decode(const char *s, size_t n, struct buf *out)
{
	size_t	i = 0, run, k;

	buf_reset(out);
	buf_add(out, "", 0);
	while (i < n) {
		run = i;
		while (i < n && s[i] != '&')
			i++;
		buf_add(out, s + run, i - run);
		if (i == n)
			break;
		if ((k = html_entity(s + i, n - i, out)) == 0) {
			buf_add(out, "&", 1);
			k = 1;
		}
		i += k;
	}
}

/*
 * Trims the decoded href in place (*urlp, *lenp, NUL-terminated) and
 * says why it is not tracked, or NULL when it is: an absolute http(s)
 * URL with a host, no merge tag, no space or control byte.  The reasons
 * are the API's words (README: "untracked").
 */
static const char *
link_classify(struct buf *d, const char **urlp, size_t *lenp)
{
	char	*u = d->p;
	size_t	 n = d->len, i, skip = 0;
	int	 tag;

	while (n > 0 && html_space(u[0])) {
		u++;
		n--;
	}
	while (n > 0 && html_space(u[n - 1]))
		n--;
	u[n] = '\0';		/* the trailing trim, in place */
	*urlp = u;
	*lenp = n;
	if (n == 0)
		return "empty";
	tag = memmem(u, n, "{{", 2) != NULL;
	if (tag && memmem(u, n, "unsubscribe_url", 15) != NULL)
		return "unsubscribe_url";	/* our own opt-out link */
	if (u[0] == '#')
		return "anchor";
	for (i = 0; i < n && (html_alpha(u[i]) || (i > 0 &&
	    ((u[i] >= '0' && u[i] <= '9') || u[i] == '+' || u[i] == '-' ||
	    u[i] == '.'))); i++)
		;
	if (i == 0 || i == n || u[i] != ':')
		return tag ? "merge_tag" : "relative";
	if (i == 6 && strncasecmp(u, "mailto", 6) == 0)
		return "mailto";
	if (i == 3 && strncasecmp(u, "tel", 3) == 0)
		return "tel";
	if (n >= 7 && strncasecmp(u, "http://", 7) == 0)
		skip = 7;
	else if (n >= 8 && strncasecmp(u, "https://", 8) == 0)
		skip = 8;
	else if ((i == 4 && strncasecmp(u, "http", 4) == 0) ||
	    (i == 5 && strncasecmp(u, "https", 5) == 0))
		return "no_host";		/* "http:foo" */
	else
		return "scheme";	/* javascript:, data:, ftp:, ... */
	if (tag)
		return "merge_tag";		/* personalised */
	if (n == skip || u[skip] == '/' || u[skip] == '?' || u[skip] == '#')
		return "no_host";
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f)
			return "invalid_url";
	return NULL;
}

/* Past the comment whose "<!--" starts at i. */
static size_t
html_skip_comment(const char *h, size_t len, size_t i)
{
	size_t	j = i + 4;

	if (j < len && h[j] == '>')
		return j + 1;		/* <!--> */
	if (len - j >= 2 && h[j] == '-' && h[j + 1] == '>')
		return j + 2;		/* <!---> */
	for (; len - j >= 3; j++) {
		if (h[j] != '-' || h[j + 1] != '-')
			continue;
		if (h[j + 2] == '>')
			return j + 3;
		if (len - j >= 4 && h[j + 2] == '!' && h[j + 3] == '>')
			return j + 4;	/* --!> */
	}
	return len;
}

/* Elements whose content is not markup: a "<a href" inside is text. */
static int
html_rawtext(const char *name, size_t n)
{
	static const char *const raw[] = {
		"script", "style", "title", "textarea", "xmp", "iframe",
		"noembed", "noframes",
	};
	size_t	i;

	for (i = 0; i < FF_NELEM(raw); i++)
		if (strlen(raw[i]) == n && strncasecmp(raw[i], name, n) == 0)
			return 1;
	return 0;
}

/* Position of "</name" (any case) from i, or len. */
static size_t
html_skip_rawtext(const char *h, size_t len, size_t i, const char *name,
    size_t n)
{
	const char	*lt;

	while (i < len && (lt = memchr(h + i, '<', len - i)) != NULL) {
		i = (size_t)(lt - h);
		if (len - i >= n + 2 && h[i + 1] == '/' &&
		    strncasecmp(h + i + 2, name, n) == 0 &&
		    (len - i == n + 2 || html_space(h[i + n + 2]) ||
		    h[i + n + 2] == '>' || h[i + n + 2] == '/'))
			return i;
		i++;
	}
	return len;
}

/*
 * Parses the tag at i (h[i] == '<', h[i + 1] a letter, or "</" and a
 * letter) and returns the position after it.  A complete <a> start tag
 * with a non-empty href goes to cb, tracked or not.
 */
static size_t
html_tag(const char *h, size_t len, size_t i, struct buf *scratch,
    link_cb cb, void *arg)
{
	struct link_href	 href;
	const char		*name;
	size_t			 namelen, ns, nlen, vs, vlen;
	int			 endtag, is_a, have_href = 0, href_value = 0;
	char			 q;

	endtag = h[i + 1] == '/';
	i += endtag ? 2 : 1;
	name = h + i;
	while (i < len && !html_space(h[i]) && h[i] != '/' && h[i] != '>')
		i++;
	namelen = (size_t)(h + i - name);
	is_a = !endtag && namelen == 1 && (name[0] == 'a' || name[0] == 'A');
	memset(&href, 0, sizeof(href));

	for (;;) {
		while (i < len && (html_space(h[i]) || h[i] == '/'))
			i++;
		if (i >= len)
			return len;	/* EOF in a tag: no tag */
		if (h[i] == '>') {
			i++;
			break;
		}
		ns = i++;		/* a leading '=' belongs to the name */
		while (i < len && !html_space(h[i]) && h[i] != '/' &&
		    h[i] != '>' && h[i] != '=')
			i++;
		nlen = i - ns;
		while (i < len && html_space(h[i]))
			i++;
		vs = vlen = 0;
		q = 0;
		if (i < len && h[i] == '=') {
			i++;
			while (i < len && html_space(h[i]))
				i++;
			if (i >= len)
				return len;
			if (h[i] == '"' || h[i] == '\'') {
				const char *e;

				q = h[i];
				vs = i + 1;
				if ((e = memchr(h + vs, q, len - vs)) == NULL)
					return len;
				vlen = (size_t)(e - h) - vs;
				i = vs + vlen + 1;
			} else {
				vs = i;
				while (i < len && !html_space(h[i]) &&
				    h[i] != '>')
					i++;
				vlen = i - vs;
			}
		}
		if (is_a && !have_href && nlen == 4 &&
		    strncasecmp(h + ns, "href", 4) == 0) {
			have_href = 1;	/* the first href wins */
			href_value = vlen > 0;
			href.vstart = vs;
			href.vlen = vlen;
			href.quote = q;
		}
	}

	if (is_a && href_value) {
		html_decode(h + href.vstart, href.vlen, scratch);
		href.reason = link_classify(scratch, &href.url, &href.urllen);
		cb(arg, &href);
	}
	if (!endtag && html_rawtext(name, namelen))
		i = html_skip_rawtext(h, len, i, name, namelen);
	return i;
}

static void
links_scan(const char *h, size_t len, link_cb cb, void *arg)
{
	struct buf	 scratch = { NULL, 0, 0 };
	const char	*lt;
	size_t		 i = 0;

	while (i < len && (lt = memchr(h + i, '<', len - i)) != NULL) {
		i = (size_t)(lt - h);
		if (len - i >= 4 && memcmp(h + i, "<!--", 4) == 0) {
			i = html_skip_comment(h, len, i);
		} else if (len - i >= 2 && html_alpha(h[i + 1])) {
			i = html_tag(h, len, i, &scratch, cb, arg);
		} else if (len - i >= 3 && h[i + 1] == '/' &&
		    html_alpha(h[i + 2])) {
			i = html_tag(h, len, i, &scratch, cb, arg);
		} else if (len - i >= 2 && (h[i + 1] == '!' ||
		    h[i + 1] == '?' || h[i + 1] == '/')) {
			/* Doctype, CDATA, processing instruction, bogus
			 * end tag: up to the next '>'. */
			const char *gt = memchr(h + i, '>', len - i);

			i = gt == NULL ? len : (size_t)(gt - h) + 1;
		} else {
			i++;		/* a '<' in text */
		}
	}
	buf_free(&scratch);
}

struct links_collect {
	char		**urls;
	size_t		  n, cap;
	struct strset	  seen;
};

static const char *
links_key(const void *ctx, size_t idx, size_t *len)
{
	const char *const *urls = ctx;

	*len = strlen(urls[idx]);
	return urls[idx];
}

static const char *
links_collect_key(const void *ctx, size_t idx, size_t *len)
{
	const struct links_collect *c = ctx;

	return links_key(c->urls, idx, len);
}

static void
links_collect_cb(void *arg, const struct link_href *href)
{
	struct links_collect	*c = arg;

	if (href->reason != NULL)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->urls = xreallocarray(c->urls, c->cap, sizeof(*c->urls));
	}
	/* Stored before the set sees it: the set reads keys by index. */
	c->urls[c->n] = xstrdup(href->url);
	if (strset_add(&c->seen, href->url, href->urllen, c->n) == c->n)
		c->n++;
	else
		free(c->urls[c->n]);
}

size_t
render_links(const char *html, size_t len, char ***urls)
{
	struct links_collect	c;

	memset(&c, 0, sizeof(c));
	strset_init(&c.seen, links_collect_key, &c);
	links_scan(html, len, links_collect_cb, &c);
	strset_free(&c.seen);
	*urls = c.urls;
	return c.n;
}

void
render_links_free(char **urls, size_t n)
{
	size_t	i;

	if (urls == NULL)
		return;
	for (i = 0; i < n; i++)
		free(urls[i]);
	free(urls);
}

/* render_link_report's collector: the tracked list as render_links
 * makes it, the untracked ones beside it. */
struct links_report {
	struct links_collect	 tracked;
	struct render_link_report *rep;
	size_t			 ucap;
	struct strset		 useen;
};

static const char *
links_untracked_key(const void *ctx, size_t idx, size_t *len)
{
	const struct render_link_report *rep = ctx;

	*len = strlen(rep->untracked[idx].url);
	return rep->untracked[idx].url;
}

static void
links_report_cb(void *arg, const struct link_href *href)
{
	struct links_report		*lr = arg;
	struct render_link_report	*rep = lr->rep;
	struct render_untracked		*u;

	rep->hrefs++;
	if (href->reason == NULL) {
		links_collect_cb(&lr->tracked, href);
		return;
	}
	if (rep->nuntracked == lr->ucap) {
		lr->ucap = lr->ucap ? lr->ucap * 2 : 16;
		rep->untracked = xreallocarray(rep->untracked, lr->ucap,
		    sizeof(*rep->untracked));
	}
	/* As a C string: an untracked value may hold a NUL (&#0; is not
	 * decoded, a raw one is), and it is reported up to it. */
	u = &rep->untracked[rep->nuntracked];
	u->url = xstrdup(href->url);
	u->reason = href->reason;
	if (strset_add(&lr->useen, u->url, strlen(u->url),
	    rep->nuntracked) == rep->nuntracked)
		rep->nuntracked++;
	else
		free(u->url);
}

void
render_link_report(const char *html, size_t len,
    struct render_link_report *rep)
{
	struct links_report	lr;

	memset(rep, 0, sizeof(*rep));
	memset(&lr, 0, sizeof(lr));
	lr.rep = rep;
	strset_init(&lr.tracked.seen, links_collect_key, &lr.tracked);
	strset_init(&lr.useen, links_untracked_key, rep);
	links_scan(html, len, links_report_cb, &lr);
	strset_free(&lr.tracked.seen);
	strset_free(&lr.useen);
	rep->tracked = lr.tracked.urls;
	rep->ntracked = lr.tracked.n;
}

void
render_link_report_free(struct render_link_report *rep)
{
	size_t	i;

	render_links_free(rep->tracked, rep->ntracked);
	for (i = 0; i < rep->nuntracked; i++)
		free(rep->untracked[i].url);
	free(rep->untracked);
	memset(rep, 0, sizeof(*rep));
}

struct links_rewrite {
	const char	 *html;
	size_t		  copied;	/* html bytes already in out */
	struct strset	  index;
	const char	*(*rewrite)(void *, size_t, const char *);
	void		 *arg;
	struct buf	 *out;
	char *const	 *urls;
};

/* Writes s as an attribute value: & and " escaped, and ' too inside
 * single quotes (an unquoted value is written double-quoted). */
static void
links_add_attr(struct buf *out, const char *s, char quote)
{
	size_t	i, run = 0;

	for (i = 0; s[i] != '\0'; i++) {
		const char *ent;

		if (s[i] == '&')
			ent = "&amp;";
		else if (s[i] == '"')
			ent = "&quot;";
		else if (s[i] == '\'' && quote == '\'')
			ent = "&#39;";
		else
			continue;
		buf_add(out, s + run, i - run);
		buf_adds(out, ent);
		run = i + 1;
	}
	buf_add(out, s + run, i - run);
}

static void
links_rewrite_cb(void *arg, const struct link_href *href)
{
	struct links_rewrite	*r = arg;
	const char		*to;
	size_t			 idx;

	if (href->reason != NULL)
		return;
	idx = strset_find(&r->index, href->url, href->urllen);
	if (idx == SIZE_MAX)
		return;
	if ((to = r->rewrite(r->arg, idx, r->urls[idx])) == NULL)
		return;		/* left as written */
	buf_add(r->out, r->html + r->copied, href->vstart - r->copied);
	if (href->quote == 0)
		buf_add(r->out, "\"", 1);
	links_add_attr(r->out, to, href->quote);
	if (href->quote == 0)
		buf_add(r->out, "\"", 1);
	r->copied = href->vstart + href->vlen;
}

/*
 * Appends to out.  urls is the render_links() list of the same html
 * (a link not on it stays as it is); rewrite may return NULL to leave
 * one link unchanged.
 */
void
render_rewrite_links(const char *html, size_t len, char *const *urls,
    size_t nurls,
    const char *(*rewrite)(void *, size_t, const char *), void *arg,
    struct buf *out)
{
	struct links_rewrite	r;
	size_t			i;

	memset(&r, 0, sizeof(r));
	r.html = html;
	r.rewrite = rewrite;
	r.arg = arg;
	r.out = out;
	r.urls = urls;
	strset_init(&r.index, links_key, urls);
	for (i = 0; i < nurls; i++)
		strset_add(&r.index, urls[i], strlen(urls[i]), i);
	buf_add(out, "", 0);
	if (nurls > 0)
		links_scan(html, len, links_rewrite_cb, &r);
	buf_add(out, html + r.copied, len - r.copied);
	strset_free(&r.index);
}
