/*
 * test_http_parser.c: src/http_parser.c.  Every input is copied into a
 * heap buffer of exactly its length (no NUL after it), so a read past
 * len shows up under valgrind or -fsanitize=address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"

#define S(lit)	lit, sizeof(lit) - 1

/* The exact-length copy of the last input; pointers in a parsed
 * request point into it, so it lives until the next parse. */
static char	*copy;

static void
copy_free(void)
{
	free(copy);
	copy = NULL;
}

TestSuite(http_parser, .fini = copy_free);

static int
parse(const char *s, size_t len, size_t max, struct http_request *req)
{
	free(copy);
	copy = malloc(len == 0 ? 1 : len);
	cr_assert_not_null(copy);
	memcpy(copy, s, len);
	return http_parse_request(copy, len, max, req);
}

/* NULL expected means "absent"; otherwise the bytes must match. */
static void
expect_field(const char *what, const char *name, const char *got,
    size_t gotlen, const char *want)
{
	if (want == NULL) {
		cr_expect_null(got, "%s: %s should be absent", what, name);
		return;
	}
	cr_assert_not_null(got, "%s: %s missing", what, name);
	cr_expect(got >= copy, "%s: %s outside the buffer", what, name);
	cr_expect(gotlen == strlen(want) && memcmp(got, want, gotlen) == 0,
	    "%s: %s is \"%.*s\", want \"%s\"", what, name, (int)gotlen, got,
	    want);
}

struct valid_case {
	const char		*what;
	const char		*raw;
	size_t			 len;
	enum http_method	 method;
	const char		*path;
	int			 minor;
	int			 keepalive;
	const char		*ua;
	const char		*xff;
	const char		*fwd;
	int			 private;
	int64_t			 content_length;
	size_t			 header_len;	/* 0: the whole input */
};

static const struct valid_case valid[] = {
	{ "1.1 default keep-alive",
	  S("GET /o/abc.gif HTTP/1.1\r\nHost: t.example\r\n\r\n"),
	  HTTP_GET, "/o/abc.gif", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.1 Connection: close",
	  S("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
	  HTTP_GET, "/", 1, 0, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.1 Connection list with close",
	  S("GET / HTTP/1.1\r\nConnection: Upgrade ,  CLOSE\r\n\r\n"),
	  HTTP_GET, "/", 1, 0, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.1 close in a second Connection",
	  S("GET / HTTP/1.1\r\nConnection: keep-alive\r\n"
	    "connection: close\r\n\r\n"),
	  HTTP_GET, "/", 1, 0, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.1 closed is not close",
	  S("GET / HTTP/1.1\r\nConnection: closed, xclose\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.0 default close",
	  S("GET / HTTP/1.0\r\n\r\n"),
	  HTTP_GET, "/", 0, 0, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.0 keep-alive",
	  S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
	  HTTP_GET, "/", 0, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.0 keep-alive in a list",
	  S("GET / HTTP/1.0\r\nConnection: te,keep-alive\r\n\r\n"),
	  HTTP_GET, "/", 0, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.0 keep-alive and close",
	  S("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"),
	  HTTP_GET, "/", 0, 0, NULL, NULL, NULL, 0, -1, 0 },
	{ "1.2 is 1.1",
	  S("GET / HTTP/1.2\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "HEAD with query",
	  S("HEAD /c/tok?utm=1&x=/y HTTP/1.1\r\n\r\n"),
	  HTTP_HEAD, "/c/tok", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "fragment ends the path",
	  S("GET /u/tok#frag HTTP/1.1\r\n\r\n"),
	  HTTP_GET, "/u/tok", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "raw UTF-8 in the target",
	  S("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n"),
	  HTTP_GET, "/caf\xc3\xa9", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "lowercase method is another token",
	  S("get / HTTP/1.1\r\n\r\n"),
	  HTTP_OTHER, "/", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "OPTIONS is other",
	  S("OPTIONS /x HTTP/1.1\r\n\r\n"),
	  HTTP_OTHER, "/x", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "GETX is other",
	  S("GETX / HTTP/1.1\r\n\r\n"),
	  HTTP_OTHER, "/", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "headers in any case, values trimmed",
	  S("GET /o/t.gif HTTP/1.1\r\n"
	    "uSER-aGENT: \t Mozilla/5.0 (X11; Linux) \t\r\n"
	    "x-forwarded-for:203.0.113.7, 10.0.0.1\r\n"
	    "FORWARDED: for=192.0.2.60;proto=http\r\n"
	    "dnt: 1\r\n\r\n"),
	  HTTP_GET, "/o/t.gif", 1, 1, "Mozilla/5.0 (X11; Linux)",
	  "203.0.113.7, 10.0.0.1", "for=192.0.2.60;proto=http", 1, -1, 0 },
	{ "last X-Forwarded-For and Forwarded win",
	  S("GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n"
	    "Forwarded: for=a\r\nX-Forwarded-For: 2.2.2.2\r\n"
	    "Forwarded: for=b\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, NULL, "2.2.2.2", "for=b", 0, -1, 0 },
	{ "Sec-GPC: 1",
	  S("GET / HTTP/1.1\r\nSec-GPC: 1\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, NULL, NULL, NULL, 1, -1, 0 },
	{ "DNT: 0 and Sec-GPC: 10 are not private",
	  S("GET / HTTP/1.1\r\nDNT: 0\r\nSec-GPC: 10\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "empty User-Agent is present and empty",
	  S("GET / HTTP/1.1\r\nUser-Agent:\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, "", NULL, NULL, 0, -1, 0 },
	{ "obs-text in a value",
	  S("GET / HTTP/1.1\r\nUser-Agent: caf\xc3\xa9\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, "caf\xc3\xa9", NULL, NULL, 0, -1, 0 },
	{ "LF-only line ends",
	  S("GET /healthz HTTP/1.1\nUser-Agent: curl\n\n"),
	  HTTP_GET, "/healthz", 1, 1, "curl", NULL, NULL, 0, -1, 0 },
	{ "mixed line ends",
	  S("GET / HTTP/1.1\nA: b\r\nUser-Agent: x\n\r\n"),
	  HTTP_GET, "/", 1, 1, "x", NULL, NULL, 0, -1, 0 },
	{ "blank lines before the request line",
	  S("\r\n\nGET / HTTP/1.1\r\n\r\n"),
	  HTTP_GET, "/", 1, 1, NULL, NULL, NULL, 0, -1, 0 },
	{ "POST with Content-Length, body not counted",
	  S("POST /u/tok HTTP/1.1\r\nContent-Length: 26\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
	    "List-Unsubscribe=One-Click"),
	  HTTP_POST, "/u/tok", 1, 1, NULL, NULL, NULL, 0, 26,
	  sizeof("POST /u/tok HTTP/1.1\r\nContent-Length: 26\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n\r\n") - 1 },
	{ "Content-Length: 0",
	  S("POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"),
	  HTTP_POST, "/", 1, 1, NULL, NULL, NULL, 0, 0, 0 },
	{ "Content-Length 2^53 with leading zeros, repeated equal",
	  S("POST / HTTP/1.1\r\nContent-Length: 009007199254740992\r\n"
	    "Content-Length: 9007199254740992\r\n\r\n"),
	  HTTP_POST, "/", 1, 1, NULL, NULL, NULL, 0, 9007199254740992LL, 0 },
	{ "pipelined: the first head only",
	  S("GET /o/a.gif HTTP/1.1\r\n\r\nGET /o/b.gif HTTP/1.1\r\n\r\n"),
	  HTTP_GET, "/o/a.gif", 1, 1, NULL, NULL, NULL, 0, -1,
	  sizeof("GET /o/a.gif HTTP/1.1\r\n\r\n") - 1 },
};

Test(http_parser, valid_requests)
{
	struct http_request	req;
	size_t			i, want_len;
	int			r;

	for (i = 0; i < FF_NELEM(valid); i++) {
		const struct valid_case *c = &valid[i];

		want_len = c->header_len != 0 ? c->header_len : c->len;
		r = parse(c->raw, c->len, 8192, &req);
		cr_assert_eq(r, (int)want_len, "%s: returned %d, want %zu",
		    c->what, r, want_len);
		cr_expect_eq(req.header_len, want_len, "%s: header_len",
		    c->what);
		cr_expect_eq(req.method, c->method, "%s: method %d", c->what,
		    req.method);
		expect_field(c->what, "path", req.path, req.pathlen, c->path);
		cr_expect_eq(req.minor, c->minor, "%s: minor", c->what);
		cr_expect_eq(req.keepalive, c->keepalive, "%s: keepalive %d",
		    c->what, req.keepalive);
		expect_field(c->what, "ua", req.ua, req.ualen, c->ua);
		expect_field(c->what, "xff", req.xff, req.xfflen, c->xff);
		expect_field(c->what, "fwd", req.fwd, req.fwdlen, c->fwd);
		cr_expect_eq(req.private, c->private, "%s: private", c->what);
		cr_expect_eq(req.content_length, c->content_length,
		    "%s: content_length %lld", c->what,
		    (long long)req.content_length);
		/* The head must end on its blank line. */
		cr_expect_eq(copy[want_len - 1], '\n', "%s: head end", c->what);
	}
}

Test(http_parser, pipelined_second_request)
{
	static const char	 two[] = "GET /o/a.gif HTTP/1.1\r\n\r\n"
	    "HEAD /c/b HTTP/1.0\nConnection: keep-alive\n\n";
	struct http_request	 req;
	char			*buf;
	size_t			 len = sizeof(two) - 1;
	int			 first, second;

	buf = malloc(len);
	cr_assert_not_null(buf);
	memcpy(buf, two, len);
	first = http_parse_request(buf, len, 8192, &req);
	cr_assert_eq(first, (int)sizeof("GET /o/a.gif HTTP/1.1\r\n\r\n") - 1);
	second = http_parse_request(buf + first, len - first, 8192, &req);
	cr_assert_eq(second, (int)(len - first));
	cr_expect_eq(req.method, HTTP_HEAD);
	cr_expect_eq(req.pathlen, 4);
	cr_expect(memcmp(req.path, "/c/b", 4) == 0);
	cr_expect_eq(req.minor, 0);
	cr_expect_eq(req.keepalive, 1);
	free(buf);
}

struct invalid_case {
	const char	*what;
	const char	*raw;
	size_t		 len;
	size_t		 max_header;
	int		 want;
};

static const struct invalid_case invalid[] = {
	{ "no version", S("GET /\r\n\r\n"), 8192, HTTP_PARSE_BAD },
	{ "no version, no target", S("GET\r\n\r\n"), 8192, HTTP_PARSE_BAD },
	{ "empty method", S(" / HTTP/1.1\r\n\r\n"), 8192, HTTP_PARSE_BAD },
	{ "two spaces after method", S("GET  / HTTP/1.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "tab separator", S("GET\t/ HTTP/1.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "trailing space after version", S("GET / HTTP/1.1 \r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "method with a bad char", S("G(ET / HTTP/1.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "absolute-form target", S("GET http://t.example/ HTTP/1.1\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "asterisk-form target", S("OPTIONS * HTTP/1.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "NUL in the path", S("GET /o/a\0b.gif HTTP/1.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "DEL in the path", S("GET /o/a\x7f HTTP/1.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "lowercase http", S("GET / http/1.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "version without minor", S("GET / HTTP/1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "two-digit minor", S("GET / HTTP/1.10\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "two-digit major", S("GET / HTTP/11.1\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "HTTP/2.0", S("GET / HTTP/2.0\r\n\r\n"), 8192, HTTP_PARSE_VERSION },
	{ "HTTP/0.9", S("GET / HTTP/0.9\r\n\r\n"), 8192, HTTP_PARSE_VERSION },
	{ "HTTP/2 preface", S("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "CR without LF", S("GET / HTTP/1.1\rX: y\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "space before colon", S("GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "tab before colon", S("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "no colon", S("GET / HTTP/1.1\r\nHost x\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "name alone", S("GET / HTTP/1.1\r\nHost\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "empty name", S("GET / HTTP/1.1\r\n: x\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "obs-fold", S("GET / HTTP/1.1\r\nUser-Agent: a\r\n b\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "obs-fold with tab", S("GET / HTTP/1.1\r\nA: a\r\n\tb\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "whitespace before the first field",
	  S("GET / HTTP/1.1\r\n Host: x\r\n\r\n"), 8192, HTTP_PARSE_BAD },
	{ "NUL in a value", S("GET / HTTP/1.1\r\nUser-Agent: a\0b\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "ESC in a value", S("GET / HTTP/1.1\r\nX: a\x1b[0m\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "DEL in a value", S("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "bare CR in a value", S("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "non-token byte in a name", S("GET / HTTP/1.1\r\nX\xc3\xa9: a\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "CL 12a", S("POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "CL negative", S("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "CL empty", S("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"), 8192,
	  HTTP_PARSE_BAD },
	{ "CL list", S("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "CL inner space", S("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "CL duplicated, disagreeing",
	  S("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "CL 2^53 + 1",
	  S("POST / HTTP/1.1\r\nContent-Length: 9007199254740993\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "CL past 2^64",
	  S("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "Transfer-Encoding: chunked",
	  S("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), 8192,
	  HTTP_PARSE_UNSUPPORTED },
	{ "Transfer-Encoding with Content-Length",
	  S("POST / HTTP/1.1\r\nContent-Length: 3\r\n"
	    "transfer-encoding: identity\r\n\r\n"), 8192,
	  HTTP_PARSE_UNSUPPORTED },
	{ "Transfer-Encoding, then a bad field",
	  S("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nA : b\r\n\r\n"),
	  8192, HTTP_PARSE_BAD },
	{ "head one byte over max_header",
	  S("GET / HTTP/1.1\r\nA: b\r\n\r\n"), 23, HTTP_PARSE_TOO_LARGE },
	{ "max_header 0", S("GET / HTTP/1.1\r\n\r\n"), 0,
	  HTTP_PARSE_TOO_LARGE },
	/* Garbage is refused on its first bad byte, before the line ends. */
	{ "control char, no line end yet", S("GET /\x01"), 8192,
	  HTTP_PARSE_BAD },
	{ "binary first byte", S("\x16\x03\x01\x02\x00"), 8192,
	  HTTP_PARSE_BAD },
	{ "bad version prefix", S("GET / HTTX"), 8192, HTTP_PARSE_BAD },
	{ "bad value byte, no line end yet",
	  S("GET / HTTP/1.1\r\nUser-Agent: a\x02"), 8192, HTTP_PARSE_BAD },
	{ "space in a name, no colon yet", S("GET / HTTP/1.1\r\nHo st"), 8192,
	  HTTP_PARSE_BAD },
};

Test(http_parser, invalid_requests)
{
	struct http_request	req;
	size_t			i;
	int			r;

	for (i = 0; i < FF_NELEM(invalid); i++) {
		const struct invalid_case *c = &invalid[i];

		r = parse(c->raw, c->len, c->max_header, &req);
		cr_expect_eq(r, c->want, "%s: returned %d, want %d", c->what,
		    r, c->want);
	}
}

Test(http_parser, max_header_boundary)
{
	static const char	raw[] = "GET / HTTP/1.1\r\nA: b\r\n\r\n";
	struct http_request	req;
	size_t			len = sizeof(raw) - 1;

	/* A head of exactly max_header bytes fits. */
	cr_expect_eq(parse(raw, len, len, &req), (int)len);
	cr_expect_eq(parse(raw, len, len - 1, &req), HTTP_PARSE_TOO_LARGE);
	/* Bytes past max_header are not looked at when the head fits. */
	cr_expect_eq(parse(S("GET / HTTP/1.1\r\n\r\n\x01\x02"), 18, &req), 18);
	/* len == max_header without a head is too large, len below is not. */
	cr_expect_eq(parse(raw, len - 1, len - 1, &req),
	    HTTP_PARSE_TOO_LARGE);
	cr_expect_eq(parse(raw, len - 1, len, &req), HTTP_PARSE_INCOMPLETE);
}

Test(http_parser, oversized_head)
{
	struct http_request	 req;
	char			*buf;
	size_t			 len = 9000, n;

	buf = malloc(len);
	cr_assert_not_null(buf);
	n = (size_t)snprintf(buf, len, "GET / HTTP/1.1\r\nX-Pad: ");
	memset(buf + n, 'a', len - n - 4);
	memcpy(buf + len - 4, "\r\n\r\n", 4);
	cr_expect_eq(parse(buf, len, 8192, &req), HTTP_PARSE_TOO_LARGE);
	/* Only the first 8192 bytes have come yet: still too large. */
	cr_expect_eq(parse(buf, 8192, 8192, &req), HTTP_PARSE_TOO_LARGE);
	cr_expect_eq(parse(buf, 8191, 8192, &req), HTTP_PARSE_INCOMPLETE);
	/* The same head fits a larger limit. */
	cr_expect_eq(parse(buf, len, 16384, &req), (int)len);
	free(buf);
}

static const struct {
	const char	*raw;
	size_t		 len;
} complete[] = {
	{ S("GET /o/abc.gif?x=1 HTTP/1.1\r\nHost: t.example\r\n"
	    "User-Agent: Mozilla/5.0\r\nX-Forwarded-For: 1.2.3.4\r\n"
	    "Connection: keep-alive\r\nDNT: 1\r\n\r\n") },
	{ S("POST /u/tok HTTP/1.0\r\nContent-Length: 26\r\n\r\n") },
	{ S("\r\nHEAD / HTTP/1.1\nA:\n\n") },
	{ S("GET / HTTP/1.1\r\nUser-Agent:   spaced   \r\n\r\n") },
};

/* A client may stop anywhere: every proper prefix of a valid head is
 * incomplete, never bad and never a header length. */
Test(http_parser, every_prefix_incomplete)
{
	struct http_request	req;
	size_t			i, k;
	int			r;

	for (i = 0; i < FF_NELEM(complete); i++) {
		for (k = 0; k < complete[i].len; k++) {
			r = parse(complete[i].raw, k, 8192, &req);
			cr_assert_eq(r, HTTP_PARSE_INCOMPLETE,
			    "case %zu prefix %zu: returned %d", i, k, r);
			/* The same prefix at the limit is too large. */
			r = parse(complete[i].raw, k, k, &req);
			cr_assert_eq(r, HTTP_PARSE_TOO_LARGE,
			    "case %zu prefix %zu at limit: returned %d", i, k,
			    r);
		}
		r = parse(complete[i].raw, k, 8192, &req);
		cr_assert_eq(r, (int)k, "case %zu whole: returned %d", i, r);
	}
}

Test(http_parser, zeroes_request)
{
	struct http_request	req;

	memset(&req, 0xa5, sizeof(req));
	cr_expect_eq(parse(S("GE"), 8192, &req), HTTP_PARSE_INCOMPLETE);
	cr_expect_null(req.path);
	cr_expect_null(req.ua);
	cr_expect_eq(req.private, 0);
	cr_expect_eq(req.content_length, -1);
	cr_expect_eq(req.header_len, 0);
}

Test(http_parser, garbage_100k)
{
	struct http_request	 req;
	char			*buf;
	size_t			 len = 100 * 1024, i;
	unsigned		 seed = 12345;
	int			 r;

	buf = malloc(len);
	cr_assert_not_null(buf);
	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = (char)(seed >> 16);
	}
	r = http_parse_request(buf, len, 8192, &req);
	cr_expect(r == HTTP_PARSE_BAD || r == HTTP_PARSE_TOO_LARGE,
	    "random: returned %d", r);

	/* All token characters: a method that never ends. */
	memset(buf, 'A', len);
	cr_expect_eq(http_parse_request(buf, len, 8192, &req),
	    HTTP_PARSE_TOO_LARGE);
	/* Endless blank lines. */
	memset(buf, '\n', len);
	cr_expect_eq(http_parse_request(buf, len, 8192, &req),
	    HTTP_PARSE_TOO_LARGE);
	/* Endless fields. */
	for (i = 0; i + 6 <= len; i += 6)
		memcpy(buf + i, "A: b\r\n", 6);
	/* 18 bytes: three whole fields, so no blank line appears. */
	memcpy(buf, "GET /xx HTTP/1.1\r\n", 18);
	cr_expect_eq(http_parse_request(buf, i, 8192, &req),
	    HTTP_PARSE_TOO_LARGE);
	free(buf);
}

struct route_case {
	const char	*path;
	size_t		 len;
	enum http_route	 want;
	const char	*tok;
};

#define LONG85	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static const struct route_case routes[] = {
	{ S("/o/AbC-_09.gif"), ROUTE_OPEN, "AbC-_09" },
	{ S("/c/AbC-_09"), ROUTE_CLICK, "AbC-_09" },
	{ S("/u/x"), ROUTE_UNSUB, "x" },
	{ S("/healthz"), ROUTE_HEALTH, NULL },
	{ S("/c/" LONG85 "B"), ROUTE_CLICK, LONG85 "B" },
	{ S("/o/" LONG85 "B.gif"), ROUTE_OPEN, LONG85 "B" },
	{ S("/c/" LONG85 "BC"), ROUTE_NONE, NULL },
	/* Any /o/....gif is the pixel, whatever the token. */
	{ S("/o/" LONG85 "BC.gif"), ROUTE_OPEN, LONG85 "BC" },
	{ S(""), ROUTE_NONE, NULL },
	{ S("/"), ROUTE_NONE, NULL },
	{ S("/o/"), ROUTE_NONE, NULL },
	{ S("/c/"), ROUTE_NONE, NULL },
	{ S("/u/"), ROUTE_NONE, NULL },
	{ S("/o/.gif"), ROUTE_OPEN, "" },
	{ S("/o/abc"), ROUTE_NONE, NULL },
	{ S("/o/abc.GIF"), ROUTE_NONE, NULL },
	{ S("/o/abc.png"), ROUTE_NONE, NULL },
	{ S("/o/a.b.gif"), ROUTE_OPEN, "a.b" },
	{ S("/o/a!b.gif"), ROUTE_OPEN, "a!b" },
	{ S("/o/gif"), ROUTE_NONE, NULL },
	{ S("/c/TOK/EN"), ROUTE_NONE, NULL },
	{ S("/c/TOK/"), ROUTE_NONE, NULL },
	{ S("//c/TOK"), ROUTE_NONE, NULL },
	{ S("/c//TOK"), ROUTE_NONE, NULL },
	{ S("/c/TO%4B"), ROUTE_NONE, NULL },
	{ S("/c/TOK="), ROUTE_NONE, NULL },
	{ S("/c/TO+K"), ROUTE_NONE, NULL },
	{ S("/c/TO\0K"), ROUTE_NONE, NULL },
	{ S("/C/TOK"), ROUTE_NONE, NULL },
	{ S("/x/TOK"), ROUTE_NONE, NULL },
	{ S("/cc/TOK"), ROUTE_NONE, NULL },
	{ S("/healthz/"), ROUTE_NONE, NULL },
	{ S("/healthzz"), ROUTE_NONE, NULL },
	{ S("/health"), ROUTE_NONE, NULL },
	{ S("/HEALTHZ"), ROUTE_NONE, NULL },
};

Test(http_parser, routes)
{
	const char	*tok;
	char		*buf;
	size_t		 i, toklen;
	enum http_route	 r;

	cr_assert_eq(TOKEN_MAX_LEN, 86, "LONG85 assumes TOKEN_MAX_LEN 86");
	for (i = 0; i < FF_NELEM(routes); i++) {
		const struct route_case *c = &routes[i];

		buf = malloc(c->len == 0 ? 1 : c->len);
		cr_assert_not_null(buf);
		memcpy(buf, c->path, c->len);
		tok = (const char *)1;
		toklen = 99;
		r = http_route(buf, c->len, &tok, &toklen);
		cr_expect_eq(r, c->want, "\"%.*s\": route %d, want %d",
		    (int)c->len, c->path, r, c->want);
		if (c->tok == NULL) {
			cr_expect_null(tok, "\"%.*s\": token set", (int)c->len,
			    c->path);
			cr_expect_eq(toklen, 0);
		} else {
			cr_expect(tok == buf + 3, "\"%s\": token pointer",
			    c->path);
			cr_expect(toklen == strlen(c->tok) &&
			    memcmp(tok, c->tok, toklen) == 0,
			    "\"%s\": token \"%.*s\"", c->path, (int)toklen,
			    tok == NULL ? "" : tok);
		}
		free(buf);
	}
}

/* The parser's path feeds the router unchanged. */
Test(http_parser, parse_then_route)
{
	struct http_request	req;
	const char		*tok;
	size_t			toklen;

	cr_assert_gt(parse(S("GET /o/Zm9v.gif?utm_source=x HTTP/1.1\r\n\r\n"),
	    8192, &req), 0);
	cr_expect_eq(http_route(req.path, req.pathlen, &tok, &toklen),
	    ROUTE_OPEN);
	cr_expect(toklen == 4 && memcmp(tok, "Zm9v", 4) == 0);
}

/* The API listener's fields: methods, query, Authorization, Content-Type,
 * Expect. */
Test(http_parser, api_fields)
{
	static const struct {
		const char		*raw;
		enum http_method	 method;
		const char		*path, *query;
	} m[] = {
		{ "PUT /v1/x HTTP/1.1\r\n\r\n", HTTP_PUT, "/v1/x", NULL },
		{ "PATCH /v1/x?a=1&b=2 HTTP/1.1\r\n\r\n", HTTP_PATCH, "/v1/x",
		    "a=1&b=2" },
		{ "DELETE /v1/x? HTTP/1.1\r\n\r\n", HTTP_DELETE, "/v1/x", "" },
		{ "OPTIONS /v1/x HTTP/1.1\r\n\r\n", HTTP_OTHER, "/v1/x", NULL },
		{ "DELETEX /v1/x HTTP/1.1\r\n\r\n", HTTP_OTHER, "/v1/x", NULL },
		{ "GET /a?q=1#frag HTTP/1.1\r\n\r\n", HTTP_GET, "/a", "q=1" },
		{ "GET /a#f?x HTTP/1.1\r\n\r\n", HTTP_GET, "/a", NULL },
	};
	static const char	 head[] = "POST /v1/contacts/import HTTP/1.1\r\n"
	    "authorization:   Bearer ff_1_abc  \r\n"
	    "Content-Type: text/csv; charset=utf-8\r\n"
	    "EXPECT: 100-Continue\r\n"
	    "Content-Length: 12\r\n\r\n";
	struct http_request	 req;
	size_t			 i;

	for (i = 0; i < FF_NELEM(m); i++) {
		cr_assert_gt(parse(m[i].raw, strlen(m[i].raw), 8192, &req), 0,
		    "%s", m[i].raw);
		cr_expect_eq(req.method, m[i].method, "%s: method", m[i].raw);
		expect_field(m[i].raw, "path", req.path, req.pathlen,
		    m[i].path);
		expect_field(m[i].raw, "query", req.query, req.querylen,
		    m[i].query);
	}
	cr_assert_gt(parse(S(head), 8192, &req), 0);
	expect_field("api", "auth", req.auth, req.authlen, "Bearer ff_1_abc");
	expect_field("api", "ctype", req.ctype, req.ctypelen,
	    "text/csv; charset=utf-8");
	cr_expect_eq(req.expect_continue, 1);
	cr_expect_eq(req.content_length, 12);
	cr_assert_gt(parse(S("GET / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n"), 8192,
	    &req), 0);
	cr_expect_eq(req.expect_continue, 0);
	cr_expect_null(req.auth);
}

/* ------------------------------------------------ the one-click body */

#define MP_CT	"multipart/form-data; boundary=b0undary"
#define MP_PART(name, value) \
	"--b0undary\r\nContent-Disposition: form-data; name=\"" name \
	"\"\r\n\r\n" value "\r\n"
#define MP_END	"--b0undary--\r\n"

static const struct one_click_case {
	const char	*what;
	const char	*ctype;		/* NULL: no Content-Type */
	const char	*body;
	int		 want;
} one_click_cases[] = {
	/* form-urlencoded, RFC 8058's bytes and what the page sends */
	{ "the RFC 8058 body", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click", 1 },
	{ "type in capitals, charset", "Application/X-WWW-Form-Urlencoded ; "
	  "charset=UTF-8", "List-Unsubscribe=One-Click", 1 },
	{ "no Content-Type", NULL, "List-Unsubscribe=One-Click", 1 },
	{ "percent-encoded", "application/x-www-form-urlencoded",
	  "List%2DUnsubscribe=One%2dClick", 1 },
	{ "other fields around it", "application/x-www-form-urlencoded",
	  "a=1&List-Unsubscribe=One-Click&submit=Unsubscribe", 1 },
	{ "empty pairs skipped", "application/x-www-form-urlencoded",
	  "&&List-Unsubscribe=One-Click&", 1 },
	{ "empty", "application/x-www-form-urlencoded", "", 0 },
	{ "empty, no Content-Type", NULL, "", 0 },
	{ "another field only", "application/x-www-form-urlencoded",
	  "foo=bar", 0 },
	{ "key without '='", "application/x-www-form-urlencoded",
	  "List-Unsubscribe", 0 },
	{ "empty value", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=", 0 },
	{ "another value", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=Yes", 0 },
	{ "value in lower case", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=one-click", 0 },
	{ "key in lower case", "application/x-www-form-urlencoded",
	  "list-unsubscribe=One-Click", 0 },
	{ "value with more after it", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click2", 0 },
	{ "value cut short", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Clic", 0 },
	{ "trailing CRLF", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click\r\n", 0 },
	{ "'+' is a space", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One+Click", 0 },
	{ "the key twice", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click&List-Unsubscribe=One-Click", 0 },
	{ "the key twice, one bad", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click&List-Unsubscribe=No", 0 },
	{ "bad escape elsewhere", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click&a=%zz", 0 },
	{ "escape cut short", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click&a=%4", 0 },
	{ "NUL by escape", "application/x-www-form-urlencoded",
	  "List-Unsubscribe=One-Click%00", 0 },
	{ "text/plain", "text/plain", "List-Unsubscribe=One-Click", 0 },
	{ "JSON", "application/json", "{\"List-Unsubscribe\":\"One-Click\"}",
	  0 },
	{ "type as a prefix", "application/x-www-form-urlencodedX",
	  "List-Unsubscribe=One-Click", 0 },
	/* multipart/form-data, which RFC 8058 prefers */
	{ "multipart", MP_CT, MP_PART("List-Unsubscribe", "One-Click") MP_END,
	  1 },
	{ "multipart, quoted boundary",
	  "multipart/form-data; boundary=\"b0undary\"",
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 1 },
	{ "multipart, boundary among parameters",
	  "multipart/form-data; charset=utf-8;boundary=b0undary",
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 1 },
	{ "multipart, other parts", MP_CT, MP_PART("a", "1")
	  MP_PART("List-Unsubscribe", "One-Click") MP_PART("b", "") MP_END,
	  1 },
	{ "multipart, part Content-Type and unquoted name", MP_CT,
	  "--b0undary\r\nContent-Type: text/plain\r\ncontent-disposition: "
	  "form-data;name=List-Unsubscribe\r\n\r\nOne-Click\r\n" MP_END, 1 },
	{ "multipart, epilogue", MP_CT,
	  MP_PART("List-Unsubscribe", "One-Click") MP_END "bye", 1 },
	{ "multipart, no close delimiter", MP_CT,
	  MP_PART("List-Unsubscribe", "One-Click"), 0 },
	{ "multipart, cut in the value", MP_CT,
	  "--b0undary\r\nContent-Disposition: form-data; "
	  "name=\"List-Unsubscribe\"\r\n\r\nOne-Cl", 0 },
	{ "multipart, another value", MP_CT,
	  MP_PART("List-Unsubscribe", "Yes") MP_END, 0 },
	{ "multipart, value with CRLF", MP_CT,
	  MP_PART("List-Unsubscribe", "One-Click\r\n") MP_END, 0 },
	{ "multipart, field twice", MP_CT,
	  MP_PART("List-Unsubscribe", "One-Click")
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 0 },
	{ "multipart, other field only", MP_CT, MP_PART("a", "One-Click")
	  MP_END, 0 },
	{ "multipart, no boundary parameter", "multipart/form-data",
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 0 },
	{ "multipart, empty boundary", "multipart/form-data; boundary=",
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 0 },
	{ "multipart, unterminated quote",
	  "multipart/form-data; boundary=\"b0undary",
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 0 },
	{ "multipart, other boundary", "multipart/form-data; boundary=zz",
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 0 },
	{ "multipart, boundary is a prefix of the line", MP_CT,
	  "--b0undaryX\r\nContent-Disposition: form-data; "
	  "name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n" MP_END, 0 },
	{ "multipart, preamble", MP_CT, "hello\r\n"
	  MP_PART("List-Unsubscribe", "One-Click") MP_END, 0 },
	{ "multipart, disposition not form-data", MP_CT,
	  "--b0undary\r\nContent-Disposition: attachment; "
	  "name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n" MP_END, 0 },
	{ "multipart, two dispositions", MP_CT,
	  "--b0undary\r\nContent-Disposition: form-data; name=a\r\n"
	  "Content-Disposition: form-data; name=List-Unsubscribe\r\n\r\n"
	  "One-Click\r\n" MP_END, 0 },
	{ "multipart, header line without colon", MP_CT,
	  "--b0undary\r\nContent-Disposition: form-data; "
	  "name=\"List-Unsubscribe\"\r\nnonsense\r\n\r\nOne-Click\r\n"
	  MP_END, 0 },
	{ "multipart, the form-urlencoded bytes", MP_CT,
	  "List-Unsubscribe=One-Click", 0 },
	{ "multipart, empty", MP_CT, "", 0 },
};

/* Each body in a heap buffer of exactly its length. */
Test(http_parser, one_click)
{
	const struct one_click_case	*t;
	size_t				 i, len;
	char				*body;
	int				 r;

	for (i = 0; i < FF_NELEM(one_click_cases); i++) {
		t = &one_click_cases[i];
		len = strlen(t->body);
		body = malloc(len == 0 ? 1 : len);
		cr_assert_not_null(body);
		memcpy(body, t->body, len);
		r = http_one_click(t->ctype, t->ctype ? strlen(t->ctype) : 0,
		    body, len);
		cr_expect_eq(r, t->want, "%s: got %d, want %d", t->what, r,
		    t->want);
		free(body);
	}
}

/* A valid multipart body is refused when cut anywhere before its close
 * delimiter ends. */
Test(http_parser, one_click_every_cut)
{
	static const char	 body[] =
	    MP_PART("a", "1") MP_PART("List-Unsubscribe", "One-Click") MP_END;
	size_t			 k, whole = sizeof(body) - 1 - 2;  /* -CRLF */
	char			*buf;

	for (k = 0; k <= sizeof(body) - 1; k++) {
		buf = malloc(k == 0 ? 1 : k);
		cr_assert_not_null(buf);
		memcpy(buf, body, k);
		cr_expect_eq(http_one_click(S(MP_CT), buf, k), k >= whole,
		    "cut at %zu of %zu", k, sizeof(body) - 1);
		free(buf);
	}
}
