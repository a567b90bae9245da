/*
 * fuzz_render.c: libFuzzer target for src/render.c.
 * make fuzz builds it with clang (fuzz/render); make check replays
 * tests/fuzz/render/ through it (tests/fuzz_replay.c).
 *
 * The input is used both as a template and as HTML, from a heap copy
 * of exactly its bytes.  Besides crashes and out-of-bounds reads it
 * aborts when a result breaks render.c's contract:
 *  - tmpl_compile fails with a position inside the input (line >= 1,
 *    col >= 1) and a message, or succeeds and renders in all three
 *    modes; header output holds no byte below 0x20 and no DEL;
 *  - a template without "{{" renders in text mode as itself;
 *  - every listed field is a name the grammar allows, listed once;
 *  - render_links returns distinct absolute http(s) URLs without merge
 *    tags or spaces; rewriting with a NULL-returning function is the
 *    identity; rewriting every link to https://t.example/c/N yields a
 *    page whose links are exactly those, in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

struct fuzz_ctx {
	const uint8_t	*data;
	size_t		 size;
	char		 tmp[64];
};

/* Values come from the input itself (controls, markup, UTF-8 and all);
 * some fields are missing so defaults are exercised too. */
static const char *
fuzz_lookup(void *arg, const char *name, size_t len, size_t *vlen)
{
	struct fuzz_ctx	*c = arg;
	size_t		 off, n;

	CHECK(name[len] == '\0');
	if (len % 3 == 0)
		return NULL;
	if (len % 3 == 1 || c->size == 0) {
		*vlen = 10;
		return "<&\"'>\r\n\t\x7f\x00";
	}
	off = (len * 131) % c->size;
	n = c->size - off < 32 ? c->size - off : 32;
	*vlen = n;
	return (const char *)c->data + off;
}

static int
fuzz_valid_name(const char *s, size_t n)
{
	size_t	i;

	if ((n == 10 && memcmp(s, "first_name", 10) == 0) ||
	    (n == 9 && memcmp(s, "last_name", 9) == 0) ||
	    (n == 5 && memcmp(s, "email", 5) == 0) ||
	    (n == 15 && memcmp(s, "unsubscribe_url", 15) == 0))
		return 1;
	if (n < 12 || n > 11 + 64 || memcmp(s, "attributes.", 11) != 0)
		return 0;
	for (i = 11; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

struct fuzz_names {
	char	names[64][80];
	size_t	n;
};

static int
fuzz_field(void *arg, const char *name, size_t len)
{
	struct fuzz_names	*f = arg;
	size_t			 i;

	CHECK(fuzz_valid_name(name, len));
	CHECK(name[len] == '\0');
	for (i = 0; i < f->n && i < 64; i++)
		CHECK(strcmp(f->names[i], name) != 0);
	if (f->n < 64)
		memcpy(f->names[f->n], name, len + 1);
	f->n++;
	return 0;
}

static void
fuzz_template(const char *in, size_t size, struct fuzz_ctx *ctx)
{
	struct render_error	 err;
	struct fuzz_names	 names;
	struct buf		 out = { NULL, 0, 0 };
	struct tmpl		*t;
	size_t			 i, lines = 1;

	for (i = 0; i < size; i++)
		if (in[i] == '\n')
			lines++;
	memset(&err, 0x55, sizeof(err));
	if ((t = tmpl_compile(in, size, &err)) == NULL) {
		CHECK(err.line >= 1 && err.col >= 1);
		CHECK((size_t)err.line <= lines);
		CHECK((size_t)err.col <= size + 1);
		CHECK(err.msg[0] != '\0' &&
		    memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		for (i = 0; err.msg[i] != '\0'; i++)
			CHECK(err.msg[i] >= 0x20 && err.msg[i] < 0x7f);
		CHECK(memmem(in, size, "{{", 2) != NULL);
		return;
	}
	CHECK(err.line == 0 && err.col == 0);

	names.n = 0;
	CHECK(tmpl_fields(t, fuzz_field, &names) == 0);

	tmpl_render(t, RENDER_TEXT, fuzz_lookup, ctx, &out);
	CHECK(out.p != NULL && out.p[out.len] == '\0');
	if (memmem(in, size, "{{", 2) == NULL) {
		CHECK(names.n == 0);
		CHECK(out.len == size && memcmp(out.p, in, size) == 0);
	}
	buf_reset(&out);
	tmpl_render(t, RENDER_HTML, fuzz_lookup, ctx, &out);
	buf_reset(&out);
	tmpl_render(t, RENDER_HEADER, fuzz_lookup, ctx, &out);
	for (i = 0; i < out.len; i++)
		CHECK((unsigned char)out.p[i] >= 0x20 && out.p[i] != 0x7f);
	buf_reset(&out);
	tmpl_render(t, RENDER_HEADER, NULL, NULL, &out);
	for (i = 0; i < out.len; i++)
		CHECK((unsigned char)out.p[i] >= 0x20 && out.p[i] != 0x7f);
	buf_free(&out);
	tmpl_free(t);
}

static const char *
fuzz_rewrite_none(void *arg, size_t idx, const char *url)
{
	return NULL;
}

static const char *
fuzz_rewrite_numbered(void *arg, size_t idx, const char *url)
{
	struct fuzz_ctx	*c = arg;

	snprintf(c->tmp, sizeof(c->tmp), "https://t.example/c/%zu", idx);
	return c->tmp;
}

static void
fuzz_links(const char *in, size_t size, struct fuzz_ctx *ctx)
{
	struct buf	  out = { NULL, 0, 0 };
	char		**urls, **again;
	char		  want[64];
	size_t		  n, m, i, j, len;

	n = render_links(in, size, &urls);
	for (i = 0; i < n; i++) {
		len = strlen(urls[i]);
		CHECK(strncasecmp(urls[i], "http://", 7) == 0 ||
		    strncasecmp(urls[i], "https://", 8) == 0);
		CHECK(strstr(urls[i], "{{") == NULL);
		for (j = 0; j < len; j++)
			CHECK((unsigned char)urls[i][j] > 0x20 &&
			    urls[i][j] != 0x7f);
		for (j = 0; j < i; j++)
			CHECK(strcmp(urls[i], urls[j]) != 0);
	}

	render_rewrite_links(in, size, urls, n, fuzz_rewrite_none, NULL, &out);
	CHECK(out.len == size && memcmp(out.p, in, size) == 0);

	buf_reset(&out);
	render_rewrite_links(in, size, urls, n, fuzz_rewrite_numbered, ctx,
	    &out);
	m = render_links(out.p, out.len, &again);
	CHECK(m == n);
	for (i = 0; i < m; i++) {
		snprintf(want, sizeof(want), "https://t.example/c/%zu", i);
		CHECK(strcmp(again[i], want) == 0);
	}
	render_links_free(again, m);

	/* The API's report: the same tracked list, every other href with
	 * a reason, each distinct once, and no more hrefs than '<'s. */
	{
		struct render_link_report rep;
		size_t lts = 0;

		render_link_report(in, size, &rep);
		CHECK(rep.ntracked == n);
		for (i = 0; i < n; i++)
			CHECK(strcmp(rep.tracked[i], urls[i]) == 0);
		for (i = 0; i < rep.nuntracked; i++) {
			CHECK(rep.untracked[i].reason != NULL);
			for (j = 0; j < i; j++)
				CHECK(strcmp(rep.untracked[i].url,
				    rep.untracked[j].url) != 0);
		}
		for (i = 0; i < size; i++)
			lts += in[i] == '<';
		CHECK(rep.hrefs >= rep.ntracked + rep.nuntracked &&
		    rep.hrefs <= lts);
		render_link_report_free(&rep);
	}
	render_links_free(urls, n);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx	 ctx;
	char		*in;

	in = malloc(size == 0 ? 1 : size);
	CHECK(in != NULL);
	memcpy(in, data, size);
	ctx.data = data;
	ctx.size = size;

	fuzz_template(in, size, &ctx);
	fuzz_links(in, size, &ctx);
	free(in);
	return 0;
}
