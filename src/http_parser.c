/*
 * http_parser.c: the request-head parser of both listeners (the API's
 * api_http.c and the tracking http.c) and the path router of the public
 * tracking listener (pixel, click, opt-out).
 *
 * It runs on every tracking hit, so it never allocates, makes a single
 * pass over the bytes and never assumes a NUL terminator: buf is a
 * connection's read buffer and nothing past len may be read.  The
 * caller calls it again from the start each time more bytes arrive;
 * every byte seen is checked as it is read, so a client that trickles
 * garbage is refused (HTTP_PARSE_BAD) at its first invalid byte rather
 * than at the header timeout.
 *
 * Grammar (RFC 9112), strict where leniency helps request smuggling:
 *  - empty lines before the request line are skipped (section 2.2) and
 *    counted in header_len;
 *  - LF alone ends a line like CRLF; a CR not followed by LF is BAD;
 *  - request line: token SP origin-form SP "HTTP/" DIGIT "." DIGIT;
 *    exactly one SP each; absolute-form ("http://host/p") and
 *    asterisk-form ("*") targets are BAD: we serve one site and no
 *    proxy sends those to an origin;
 *  - a major version other than 1 is HTTP_PARSE_VERSION; 1.x with x > 1
 *    is treated as 1.1;
 *  - no whitespace between a field name and ':', no obsolete line
 *    folding, no control characters but HT in a value;
 *  - Transfer-Encoding is HTTP_PARSE_UNSUPPORTED (we never read chunked
 *    bodies, and refusing it closes the CL/TE smuggling hole), reported
 *    once the head is complete, after any BAD byte in it;
 *  - Content-Length is digits only, at most 2^53; repeated values must
 *    agree.
 *
 * Pointers stored in struct http_request point into buf.  A repeated
 * User-Agent, X-Forwarded-For or Forwarded keeps only its last
 * occurrence: joining them would need a copy, and proxies append to
 * the one header line they received rather than adding another.
 *
 * Also here, as the one body the tracking listener reads: whether a
 * POST /u/ body is a one-click opt-out (http_one_click).  A stranger
 * sends it, so it is as strict and as bounded as the head parser, and
 * fuzzed with it.
 */
#include <limits.h>
#include <string.h>

#include "fanfare.h"

#define HP_TCHAR	0x01	/* RFC 9110 token character */
#define HP_TARGET	0x02	/* request-target: > 0x20 and not DEL */
#define HP_VALUE	0x04	/* field value: HT, SP, VCHAR, obs-text */
#define HP_B64URL	0x08	/* tracking token: [A-Za-z0-9_-] */

#define HP_MORE		1	/* internal: ran out of bytes */
#define HP_END		2	/* internal: the blank line was read */

#define HP_MAX_CONTENT_LENGTH	(UINT64_C(1) << 53)

static const uint8_t http_ctype[256] = {
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,	/* 0x00 */
	 0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,	/* 0x10 */
	 4,  7,  6,  7,  7,  7,  7,  7,  6,  6,  7,  7,  6, 15,  7,  6,	/* 0x20 */
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  6,  6,  6,  6,  6,  6,	/* 0x30 */
	 6, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,	/* 0x40 */
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  6,  6,  6,  7, 15,	/* 0x50 */
	 7, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,	/* 0x60 */
	15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  6,  7,  6,  7,  0,	/* 0x70 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0x80 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0x90 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0xa0 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0xb0 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0xc0 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0xd0 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0xe0 */
	 6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,  6,	/* 0xf0 */
};

#define HP_IS(c, class)	(http_ctype[(unsigned char)(c)] & (class))

/* What the head says about the connection, folded in at the end. */
struct http_parse_state {
	int	conn_close;
	int	conn_keepalive;
	int	transfer_encoding;
};

/* ASCII case-insensitive match of s against a lowercase name. */
static int
http_name_is(const char *s, size_t n, const char *lower, size_t lowerlen)
{
	size_t	i;

	if (n != lowerlen)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (unsigned char)lower[i])
			return 0;
	}
	return 1;
}

#define HP_NAME_IS(s, n, lit)	http_name_is(s, n, lit, sizeof(lit) - 1)

/* Consumes CRLF or LF at *pp: 0, HP_MORE or HTTP_PARSE_BAD. */
static int
http_eol(const char **pp, const char *end)
{
	const char	*p = *pp;

	if (p == end)
		return HP_MORE;
	if (*p == '\r') {
		if (++p == end)
			return HP_MORE;
		if (*p != '\n')
			return HTTP_PARSE_BAD;
	} else if (*p != '\n')
		return HTTP_PARSE_BAD;
	*pp = p + 1;
	return 0;
}

static enum http_method
http_method_of(const char *s, size_t n)
{
	if (n == 3 && memcmp(s, "GET", 3) == 0)
		return HTTP_GET;
	if (n == 4 && memcmp(s, "HEAD", 4) == 0)
		return HTTP_HEAD;
	if (n == 4 && memcmp(s, "POST", 4) == 0)
		return HTTP_POST;
	if (n == 3 && memcmp(s, "PUT", 3) == 0)
		return HTTP_PUT;
	if (n == 5 && memcmp(s, "PATCH", 5) == 0)
		return HTTP_PATCH;
	if (n == 6 && memcmp(s, "DELETE", 6) == 0)
		return HTTP_DELETE;
	return HTTP_OTHER;
}

static int
http_parse_request_line(const char **pp, const char *end,
    struct http_request *req)
{
	static const char	 name[] = "HTTP/";
	const char		*p = *pp, *start, *query = NULL, *frag = NULL;
	int			 major, minor, r;
	size_t			 i;

	start = p;
	while (p < end && HP_IS(*p, HP_TCHAR))
		p++;
	if (p == end)
		return HP_MORE;
	if (*p != ' ' || p == start)
		return HTTP_PARSE_BAD;
	req->method = http_method_of(start, p - start);
	p++;

	if (p == end)
		return HP_MORE;
	if (*p != '/')
		return HTTP_PARSE_BAD;
	start = p;
	while (p < end && HP_IS(*p, HP_TARGET)) {
		if (frag == NULL && *p == '#')
			frag = p;
		else if (query == NULL && frag == NULL && *p == '?')
			query = p;
		p++;
	}
	if (p == end)
		return HP_MORE;
	if (*p != ' ')
		return HTTP_PARSE_BAD;
	req->path = start;
	if (frag == NULL)
		frag = p;
	req->pathlen = (query != NULL ? query : frag) - start;
	if (query != NULL) {
		req->query = query + 1;
		req->querylen = frag - (query + 1);
	}
	p++;

	for (i = 0; i < sizeof(name) - 1; i++, p++) {
		if (p == end)
			return HP_MORE;
		if (*p != name[i])
			return HTTP_PARSE_BAD;
	}
	if (p == end)
		return HP_MORE;
	if (*p < '0' || *p > '9')
		return HTTP_PARSE_BAD;
	major = *p++ - '0';
	if (p == end)
		return HP_MORE;
	if (*p++ != '.')
		return HTTP_PARSE_BAD;
	if (p == end)
		return HP_MORE;
	if (*p < '0' || *p > '9')
		return HTTP_PARSE_BAD;
	minor = *p++ - '0';
	if ((r = http_eol(&p, end)) != 0)
		return r;
	if (major != 1)
		return HTTP_PARSE_VERSION;
	req->minor = minor > 1 ? 1 : minor;
	*pp = p;
	return 0;
}

/* Connection: a comma-separated list of case-insensitive options. */
static void
http_connection(struct http_parse_state *st, const char *v, size_t n)
{
	const char	*end = v + n, *s, *e;

	while (v < end) {
		while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		s = v;
		while (v < end && *v != ',')
			v++;
		e = v;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (HP_NAME_IS(s, e - s, "close"))
			st->conn_close = 1;
		else if (HP_NAME_IS(s, e - s, "keep-alive"))
			st->conn_keepalive = 1;
	}
}

/* Stores a field the listener cares about; 0 or HTTP_PARSE_BAD. */
static int
http_field(struct http_request *req, struct http_parse_state *st,
    const char *name, size_t namelen, const char *v, size_t n)
{
	uint64_t	cl;

	switch (namelen) {
	case 3:
		if (HP_NAME_IS(name, namelen, "dnt") && n == 1 && *v == '1')
			req->private = 1;
		break;
	case 6:
		if (HP_NAME_IS(name, namelen, "expect") &&
		    HP_NAME_IS(v, n, "100-continue"))
			req->expect_continue = 1;
		else if (HP_NAME_IS(name, namelen, "cookie")) {
			req->cookie = v;
			req->cookielen = n;
		}
		break;
	case 7:
		if (HP_NAME_IS(name, namelen, "sec-gpc") && n == 1 && *v == '1')
			req->private = 1;
		break;
	case 9:
		if (HP_NAME_IS(name, namelen, "forwarded")) {
			req->fwd = v;
			req->fwdlen = n;
		}
		break;
	case 12:
		if (HP_NAME_IS(name, namelen, "content-type")) {
			req->ctype = v;
			req->ctypelen = n;
		} else if (HP_NAME_IS(name, namelen, "x-csrf-token")) {
			req->csrf = v;
			req->csrflen = n;
		}
		break;
	case 13:
		if (HP_NAME_IS(name, namelen, "authorization")) {
			req->auth = v;
			req->authlen = n;
		}
		break;
	case 10:
		if (HP_NAME_IS(name, namelen, "user-agent")) {
			req->ua = v;
			req->ualen = n;
		} else if (HP_NAME_IS(name, namelen, "connection"))
			http_connection(st, v, n);
		break;
	case 14:
		if (!HP_NAME_IS(name, namelen, "content-length"))
			break;
		if (parse_u64(v, n, &cl) == -1 || cl > HP_MAX_CONTENT_LENGTH)
			return HTTP_PARSE_BAD;
		/* Disagreeing lengths are the classic smuggling vector. */
		if (req->content_length != -1 &&
		    (uint64_t)req->content_length != cl)
			return HTTP_PARSE_BAD;
		req->content_length = (int64_t)cl;
		break;
	case 15:
		if (HP_NAME_IS(name, namelen, "x-forwarded-for")) {
			req->xff = v;
			req->xfflen = n;
		}
		break;
	case 17:
		if (HP_NAME_IS(name, namelen, "transfer-encoding"))
			st->transfer_encoding = 1;
		break;
	}
	return 0;
}

/* One field line or the blank line: 0, HP_END, HP_MORE or an error. */
static int
http_parse_field_line(const char **pp, const char *end,
    struct http_request *req, struct http_parse_state *st)
{
	const char	*p = *pp, *name, *v, *vend;
	size_t		 namelen;
	int		 r;

	if (p == end)
		return HP_MORE;
	if (*p == '\r' || *p == '\n') {
		if ((r = http_eol(&p, end)) != 0)
			return r;
		*pp = p;
		return HP_END;
	}
	/* A leading SP or HT is obsolete line folding (RFC 9112 5.2). */
	name = p;
	while (p < end && HP_IS(*p, HP_TCHAR))
		p++;
	if (p == end)
		return HP_MORE;
	if (*p != ':' || p == name)
		return HTTP_PARSE_BAD;
	namelen = p - name;
	p++;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	v = vend = p;
	for (; p < end && *p != '\r' && *p != '\n'; p++) {
		if (!HP_IS(*p, HP_VALUE))
			return HTTP_PARSE_BAD;
		if (*p != ' ' && *p != '\t')
			vend = p + 1;
	}
	if ((r = http_eol(&p, end)) != 0)
		return r;
	if ((r = http_field(req, st, name, namelen, v, vend - v)) != 0)
		return r;
	*pp = p;
	return 0;
}

int
http_parse_request(const char *buf, size_t len, size_t max_header,
    struct http_request *req)
{
	struct http_parse_state	 st;
	const char		*p, *end;
	size_t			 lim;
	int			 r;

	memset(req, 0, sizeof(*req));
	req->content_length = -1;
	memset(&st, 0, sizeof(st));

	/* The return value is an int: never look further than INT_MAX. */
	lim = len < max_header ? len : max_header;
	if (lim > INT_MAX)
		lim = INT_MAX;
	if (lim == 0)
		goto more;
	p = buf;
	end = buf + lim;

	while (p < end && (*p == '\r' || *p == '\n'))
		if ((r = http_eol(&p, end)) != 0)
			goto fail;
	if (p == end)
		goto more;
	if ((r = http_parse_request_line(&p, end, req)) != 0)
		goto fail;
	while ((r = http_parse_field_line(&p, end, req, &st)) == 0)
		;
	if (r != HP_END)
		goto fail;

	if (st.transfer_encoding)
		return HTTP_PARSE_UNSUPPORTED;
	if (req->minor >= 1)
		req->keepalive = !st.conn_close;
	else
		req->keepalive = st.conn_keepalive && !st.conn_close;
	req->header_len = p - buf;
	return (int)req->header_len;

fail:
	if (r != HP_MORE)
		return r;
more:
	if (len >= max_header || lim < len)
		return HTTP_PARSE_TOO_LARGE;
	return HTTP_PARSE_INCOMPLETE;
}

enum http_route
http_route(const char *path, size_t len, const char **tok, size_t *toklen)
{
	enum http_route	 route;
	size_t		 n, i;

	*tok = NULL;
	*toklen = 0;
	if (len == 8 && memcmp(path, "/healthz", 8) == 0)
		return ROUTE_HEALTH;
	if (len < 4 || path[0] != '/' || path[2] != '/')
		return ROUTE_NONE;
	n = len - 3;
	switch (path[1]) {
	case 'o':
		if (n < 4 || memcmp(path + len - 4, ".gif", 4) != 0)
			return ROUTE_NONE;
		n -= 4;
		route = ROUTE_OPEN;
		break;
	case 'c':
		route = ROUTE_CLICK;
		break;
	case 'u':
		route = ROUTE_UNSUB;
		break;
	case 'f':
		route = ROUTE_FORM;
		break;
	case 's':
		route = ROUTE_CONFIRM;
		break;
	case 'p':
		route = ROUTE_PREFS;
		break;
	default:
		return ROUTE_NONE;
	}
	*tok = path + 3;
	*toklen = n;
	if (n == 0 || n > TOKEN_MAX_LEN)
		goto bad;
	for (i = 0; i < n; i++)
		if (!HP_IS(path[3 + i], HP_B64URL))
			goto bad;
	return route;
bad:
	/* Any /o/....gif is the pixel: a bad token still gets the GIF (the
	 * caller does not count it), so guessing learns nothing. */
	if (route == ROUTE_OPEN)
		return ROUTE_OPEN;
	*tok = NULL;
	*toklen = 0;
	return ROUTE_NONE;
}

/* ------------------------------------------------ the one-click body */

#define ONE_CLICK_KEY	"List-Unsubscribe"
#define ONE_CLICK_VALUE	"One-Click"
#define HP_BOUNDARY_MAX	70	/* RFC 2046 5.1.1 */

static int
hp_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Compares a form-urlencoded name or value with lit, decoding as it
 * goes ('+' is a space, %XX a byte): 1 equal, 0 not, -1 when s holds a
 * bad escape (the whole body is refused then).
 */
static int
form_eq(const char *s, size_t n, const char *lit)
{
	size_t	i, j = 0;
	int	c, hi, lo, eq = 1;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (n - i < 3 || (hi = hp_hex(s[i + 1])) < 0 ||
			    (lo = hp_hex(s[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (eq && (lit[j] == '\0' || (unsigned char)lit[j] != c))
			eq = 0;
		else if (eq)
			j++;
	}
	return eq && lit[j] == '\0';
}

/* application/x-www-form-urlencoded: name=value pairs joined by '&'. */
static int
one_click_form(const char *p, size_t len)
{
	const char	*end = p + len, *pair, *eq;
	int		 found = 0, k, v;

	while (p < end) {
		pair = p;
		while (p < end && *p != '&')
			p++;
		if (p > pair) {		/* empty pairs are skipped */
			for (eq = pair; eq < p && *eq != '='; eq++)
				;
			if ((k = form_eq(pair, eq - pair, ONE_CLICK_KEY)) < 0)
				return 0;
			v = eq < p ? form_eq(eq + 1, p - eq - 1,
			    ONE_CLICK_VALUE) : 0;
			if (v < 0)
				return 0;
			if (k == 1 && (v != 1 || found++))
				return 0;
		}
		if (p < end)
			p++;
	}
	return found;
}

/* The first occurrence of needle in hay, or NULL. */
static const char *
hp_find(const char *hay, size_t n, const char *needle, size_t m)
{
	size_t	i;

	if (m == 0 || m > n)
		return NULL;
	for (i = 0; i + m <= n; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static const char *
hp_skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * The value of parameter name (lowercase) in "type; a=b; name=value"
 * from the first ';' of v on: a token or a quoted-string without
 * escapes.  0 with *val, *vallen set; -1 when absent or malformed.
 */
static int
hp_param(const char *v, size_t n, const char *name, size_t namelen,
    const char **val, size_t *vallen)
{
	const char	*end = v + n, *p = v, *k, *s;
	int		 want;

	while ((p = memchr(p, ';', end - p)) != NULL) {
		p = hp_skip_ws(p + 1, end);
		k = p;
		while (p < end && HP_IS(*p, HP_TCHAR))
			p++;
		want = http_name_is(k, p - k, name, namelen);
		p = hp_skip_ws(p, end);
		if (p == end || *p != '=')
			return -1;
		p = hp_skip_ws(p + 1, end);
		if (p < end && *p == '"') {
			s = ++p;
			while (p < end && *p != '"' && *p != '\\')
				p++;
			if (p == end || *p != '"')
				return -1;
			if (want) {
				*val = s;
				*vallen = p - s;
				return 0;
			}
			p++;
		} else {
			s = p;
			while (p < end && HP_IS(*p, HP_TCHAR))
				p++;
			if (want) {
				*val = s;
				*vallen = p - s;
				return p > s ? 0 : -1;
			}
		}
		p = hp_skip_ws(p, end);
		if (p < end && *p != ';')
			return -1;
	}
	return -1;
}

/*
 * Whether a part's head (the lines before its blank line) names the
 * one-click field: "Content-Disposition: form-data; name=...".  1, 0,
 * or -1 when it is malformed.
 */
static int
one_click_part_head(const char *p, size_t n)
{
	const char	*end = p + n, *line, *eol, *colon, *v, *name;
	size_t		 namelen;
	int		 found = 0;

	while (p < end) {
		line = p;
		if ((eol = hp_find(p, end - p, "\r\n", 2)) == NULL)
			eol = end;
		p = eol < end ? eol + 2 : end;
		if ((colon = memchr(line, ':', eol - line)) == NULL)
			return -1;
		if (!HP_NAME_IS(line, colon - line, "content-disposition"))
			continue;
		v = hp_skip_ws(colon + 1, eol);
		if (eol - v < 9 || !http_name_is(v, 9, "form-data", 9))
			return -1;
		if (hp_param(v + 9, eol - v - 9, "name", 4, &name,
		    &namelen) == -1)
			return -1;
		if (found++)
			return -1;	/* two dispositions: which one? */
		if (namelen != sizeof(ONE_CLICK_KEY) - 1 ||
		    memcmp(name, ONE_CLICK_KEY, namelen) != 0)
			return 0;
		found = 2;
	}
	return found == 2;
}

/* multipart/form-data (RFC 7578), delimited by "--" boundary. */
static int
one_click_multipart(const char *boundary, size_t blen, const char *p,
    size_t len)
{
	char		 delim[4 + HP_BOUNDARY_MAX];	/* CRLF "--" b */
	const char	*end = p + len, *head_end, *next;
	size_t		 dlen;
	int		 found = 0, r;

	if (blen == 0 || blen > HP_BOUNDARY_MAX)
		return 0;
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen);
	dlen = 4 + blen;
	/* The first delimiter opens the body (no preamble: none of the
	 * senders of one-click POSTs writes one). */
	if (len < dlen - 2 || memcmp(p, delim + 2, dlen - 2) != 0)
		return 0;
	p += dlen - 2;
	for (;;) {
		/* After a delimiter: "--" closes, else padding and CRLF. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return found;
		p = hp_skip_ws(p, end);
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return 0;
		p += 2;
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			head_end = p;		/* a part without headers */
		else if ((head_end = hp_find(p, end - p, "\r\n\r\n", 4)) ==
		    NULL)
			return 0;
		if ((r = one_click_part_head(p, head_end - p)) == -1)
			return 0;
		p = head_end + (head_end == p ? 2 : 4);
		if ((next = hp_find(p, end - p, delim, dlen)) == NULL)
			return 0;	/* cut short: no closing delimiter */
		if (r == 1) {
			if (found++ || (size_t)(next - p) !=
			    sizeof(ONE_CLICK_VALUE) - 1 || memcmp(p,
			    ONE_CLICK_VALUE, sizeof(ONE_CLICK_VALUE) - 1) != 0)
				return 0;
		}
		p = next + dlen;
	}
}

int
http_one_click(const char *ctype, size_t ctypelen, const char *body,
    size_t len)
{
	static const char	 form[] = "application/x-www-form-urlencoded";
	static const char	 multi[] = "multipart/form-data";
	const char		*end, *t, *boundary;
	size_t			 tlen, blen;

	/* No Content-Type: the bytes as RFC 8058 spells them. */
	if (ctype == NULL || ctypelen == 0)
		return one_click_form(body, len);
	end = ctype + ctypelen;
	t = hp_skip_ws(ctype, end);
	for (tlen = 0; t + tlen < end && t[tlen] != ';' && t[tlen] != ' ' &&
	    t[tlen] != '\t'; tlen++)
		;
	if (HP_NAME_IS(t, tlen, form))
		return one_click_form(body, len);
	if (!HP_NAME_IS(t, tlen, multi))
		return 0;
	if (hp_param(t + tlen, end - t - tlen, "boundary", 8, &boundary,
	    &blen) == -1)
		return 0;
	return one_click_multipart(boundary, blen, body, len);
}
