/*
 * fuzz_http_parser.c: libFuzzer target for src/http_parser.c.
 * make fuzz builds it with clang (fuzz/http_parser); make check replays
 * tests/fuzz/http_parser/ through it (tests/fuzz_replay.c).
 *
 * Besides crashes and out-of-bounds reads (every parse gets a heap copy
 * of exactly the bytes it may read), it aborts when a result breaks the
 * parser's contract: pointers outside the head, a head that does not
 * end on a line feed, a shorter prefix that is not incomplete, or a
 * result that depends on max_header other than through the limit.
 *
 * The one-click body check (http_one_click) runs on the bytes after a
 * complete head with its Content-Type, and on the input split at its
 * first LF into a Content-Type and a body (each an exact heap copy), so
 * the multipart parser is reached without a valid head too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MAX_HEADER	8192

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static int
parse_copy(const uint8_t *data, size_t len, size_t max,
    struct http_request *req, char **bufp)
{
	char	*buf;

	buf = malloc(len == 0 ? 1 : len);
	CHECK(buf != NULL);
	memcpy(buf, data, len);
	*bufp = buf;
	return http_parse_request(buf, len, max, req);
}

static void
check_inside(const char *p, size_t n, const char *buf, size_t len)
{
	if (p == NULL) {
		CHECK(n == 0);
		return;
	}
	CHECK(p >= buf && p <= buf + len && n <= (size_t)(buf + len - p));
}

static void
check_route(const char *path, size_t len)
{
	const char	*tok;
	size_t		 toklen;
	enum http_route	 r;

	r = http_route(path, len, &tok, &toklen);
	if (r == ROUTE_NONE || r == ROUTE_HEALTH) {
		CHECK(tok == NULL && toklen == 0);
		return;
	}
	CHECK(r == ROUTE_OPEN || r == ROUTE_CLICK || r == ROUTE_UNSUB);
	/* Click and unsubscribe tokens are well-formed; the pixel takes
	 * anything between /o/ and .gif (a bad one is served, not counted). */
	CHECK(tok == path + 3);
	CHECK(r == ROUTE_OPEN || (toklen > 0 && toklen <= TOKEN_MAX_LEN));
	CHECK(3 + toklen + (r == ROUTE_OPEN ? 4 : 0) == len);
}

/* ctype and body, each in a heap buffer of exactly its length. */
static int
one_click_copy(const uint8_t *ct, size_t ctlen, const uint8_t *body,
    size_t len)
{
	char	*a, *b;
	int	 r;

	a = malloc(ctlen == 0 ? 1 : ctlen);
	b = malloc(len == 0 ? 1 : len);
	CHECK(a != NULL && b != NULL);
	memcpy(a, ct, ctlen);
	memcpy(b, body, len);
	r = http_one_click(a, ctlen, b, len);
	CHECK(r == 0 || r == 1);
	/* The same bytes with no Content-Type are form-urlencoded. */
	if (r == 1 && ctlen == 0)
		CHECK(http_one_click(NULL, 0, b, len) == 1);
	free(a);
	free(b);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*lf;
	struct http_request	 req, again;
	char			*buf, *buf2;
	size_t			 half = size / 2, small;
	int			 r, r2;

	r = parse_copy(data, size, FUZZ_MAX_HEADER, &req, &buf);
	CHECK(r > 0 || r == HTTP_PARSE_INCOMPLETE || r == HTTP_PARSE_BAD ||
	    r == HTTP_PARSE_TOO_LARGE || r == HTTP_PARSE_UNSUPPORTED ||
	    r == HTTP_PARSE_VERSION);
	if (r == HTTP_PARSE_INCOMPLETE)
		CHECK(size < FUZZ_MAX_HEADER);

	if (r > 0) {
		size_t n = (size_t)r;

		CHECK(n <= size && n <= FUZZ_MAX_HEADER);
		CHECK(req.header_len == n && buf[n - 1] == '\n');
		CHECK(req.method <= HTTP_DELETE);
		CHECK(req.minor == 0 || req.minor == 1);
		CHECK(req.keepalive == 0 || req.keepalive == 1);
		CHECK(req.private == 0 || req.private == 1);
		CHECK(req.content_length >= -1 &&
		    req.content_length <= (INT64_C(1) << 53));
		CHECK(req.path != NULL && req.path[0] == '/');
		check_inside(req.path, req.pathlen, buf, n);
		check_inside(req.ua, req.ualen, buf, n);
		check_inside(req.xff, req.xfflen, buf, n);
		check_inside(req.fwd, req.fwdlen, buf, n);
		check_route(req.path, req.pathlen);
		r2 = http_one_click(req.ctype, req.ctypelen, buf + n,
		    size - n);
		CHECK(r2 == 0 || r2 == 1);

		/* The head alone parses the same; one byte less is not
		 * a head yet, and nothing seen so far was bad. */
		r2 = parse_copy(data, n, FUZZ_MAX_HEADER, &again, &buf2);
		CHECK(r2 == r && again.pathlen == req.pathlen &&
		    again.content_length == req.content_length &&
		    again.keepalive == req.keepalive);
		free(buf2);
		r2 = parse_copy(data, n - 1, FUZZ_MAX_HEADER, &again, &buf2);
		CHECK(r2 == HTTP_PARSE_INCOMPLETE);
		free(buf2);
	}

	/* Incomplete stays incomplete on a prefix. */
	if (r == HTTP_PARSE_INCOMPLETE) {
		r2 = parse_copy(data, half, FUZZ_MAX_HEADER, &again, &buf2);
		CHECK(r2 == HTTP_PARSE_INCOMPLETE);
		free(buf2);
	}

	/* A smaller limit only turns results into TOO_LARGE, and only
	 * those that needed more than the limit. */
	small = half + 1;
	if (size == 0)
		goto route;
	r2 = parse_copy(data, size, small, &again, &buf2);
	if (r > 0 && (size_t)r <= small)
		CHECK(r2 == r);
	else if (r > 0 || r == HTTP_PARSE_INCOMPLETE)
		CHECK(r2 == HTTP_PARSE_TOO_LARGE);
	else
		CHECK(r2 == r || r2 == HTTP_PARSE_TOO_LARGE);
	free(buf2);

route:
	/* The router on the raw bytes. */
	check_route(buf, size);
	free(buf);

	if ((lf = memchr(data, '\n', size)) != NULL)
		one_click_copy(data, (size_t)(lf - data), lf + 1,
		    size - (size_t)(lf - data) - 1);
	return 0;
}
