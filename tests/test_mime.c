/*
 * test_mime.c: mime.c's message builder.  Exact bytes for small cases
 * (quoted-printable, encoded words, whole messages), then the
 * properties a mail parser relies on, checked by re-parsing the output
 * here: CRLF only, no line over 998 octets, every header line one of
 * ours or a continuation, no header a merge value could add, bodies
 * and subjects that decode back to what went in.  Hostile inputs come
 * from a table and from a seeded generator.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <criterion/criterion.h>

#include "fanfare.h"

#define FROM		"Fanfare News <news@example.com>"
#define TO		"ann@example.org"
#define MSGID		"<c.1.k.2.t.3@example.com>"
#define BOUNDARY	"=_ff_0123456789abcdef"
#define DATE		((time_t)1700000000)	/* Tue 14 Nov 2023 22:13:20 */

/* ----------------------------------------------------------- helpers */

static char *
exact_copy(const char *s, size_t n)
{
	char	*p = malloc(n == 0 ? 1 : n);

	cr_assert_not_null(p);
	memcpy(p, s, n);
	return p;
}

/* s with bytes outside printable ASCII as \xHH, for failure messages;
 * four buffers in turn, so one message can show several. */
static const char *
show(const char *s, size_t n)
{
	static struct buf	 bufs[4];
	static int		 next;
	struct buf		*b = &bufs[next++ % 4];
	size_t			 i;

	buf_reset(b);
	buf_add(b, "", 0);
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf_add(b, s + i, 1);
		else
			buf_addf(b, "\\x%02x", c);
	}
	return b->p;
}

/* mime_build's result, the message thrown away. */
static int
builds(const struct mime_msg *m)
{
	struct buf	out = { NULL, 0, 0 };
	int		rv;

	rv = mime_build(m, &out);
	buf_free(&out);
	return rv;
}

static void
assert_bytes(const struct buf *got, const char *want, const char *what)
{
	size_t	n = strlen(want);

	cr_assert(got->len == n && memcmp(got->p, want, n) == 0,
	    "%s:\n got  %s\n want %s", what, show(got->p, got->len),
	    show(want, n));
}

static void
qp(const char *in, size_t n, struct buf *out)
{
	char	*copy = exact_copy(in, n);

	buf_reset(out);
	mime_qp_encode(copy, n, out);
	free(copy);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;		/* lowercase is not what we emit */
}

/*
 * Strict quoted-printable decoder: only "=XX" (uppercase), soft breaks
 * "=\r\n", CRLF hard breaks and literal printable ASCII, SP and HTAB;
 * no line over 76 octets, no white space before a hard break.  -1 on
 * anything else.
 */
static int
qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t	i, col = 0;
	int	hi, lo;

	buf_reset(out);
	buf_add(out, "", 0);
	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			if (i + 1 >= n || s[i + 1] != '\n')
				return -1;
			if (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
				return -1;
			buf_add(out, "\r\n", 2);
			i++;
			col = 0;
			continue;
		}
		if (s[i] == '=') {
			if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
				if (col + 1 > 76)
					return -1;
				i += 2;
				col = 0;
				continue;
			}
			if (i + 2 >= n || (hi = hexval(s[i + 1])) == -1 ||
			    (lo = hexval(s[i + 2])) == -1)
				return -1;
			buf_add(out, (char []){ (char)(hi << 4 | lo) }, 1);
			i += 2;
			col += 3;
		} else if ((s[i] >= 33 && s[i] <= 126) || s[i] == ' ' ||
		    s[i] == '\t') {
			buf_add(out, s + i, 1);
			col++;
		} else
			return -1;
		if (col > 76)
			return -1;
	}
	if (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		return -1;
	return 0;
}

/* Every line break of s (CRLF, bare CR, bare LF) as CRLF. */
static void
crlf_normalise(const char *s, size_t n, struct buf *out)
{
	size_t	i;

	buf_reset(out);
	buf_add(out, "", 0);
	for (i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n') {
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			buf_add(out, "\r\n", 2);
		} else
			buf_add(out, s + i, 1);
	}
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* One RFC 2047 word of ours ("=?UTF-8?Q?...?=" or B); -1 if not one. */
static int
ew_decode_word(const char *s, size_t n, struct buf *out)
{
	size_t		i;
	uint32_t	acc = 0;
	int		bits = 0, v, hi, lo;

	if (n < 12 || n > 75 || memcmp(s + n - 2, "?=", 2) != 0)
		return -1;
	if (memcmp(s, "=?UTF-8?Q?", 10) == 0) {
		for (i = 10; i < n - 2; i++) {
			if (s[i] == '_')
				buf_add(out, " ", 1);
			else if (s[i] == '=') {
				if (i + 2 >= n - 2 ||
				    (hi = hexval(s[i + 1])) == -1 ||
				    (lo = hexval(s[i + 2])) == -1)
					return -1;
				buf_add(out, (char []){ (char)(hi << 4 | lo) },
				    1);
				i += 2;
			} else if (s[i] > 32 && s[i] < 127 && s[i] != '?')
				buf_add(out, s + i, 1);
			else
				return -1;
		}
		return 0;
	}
	if (memcmp(s, "=?UTF-8?B?", 10) != 0 || (n - 12) % 4 != 0)
		return -1;
	for (i = 10; i < n - 2; i++) {
		if (s[i] == '=')
			break;
		if ((v = b64val(s[i])) == -1)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf_add(out, (char []){ (char)(acc >> bits) }, 1);
		}
	}
	return 0;
}

static int
is_ew(const char *s, size_t n)
{
	return n >= 12 && s[0] == '=' && s[1] == '?' &&
	    memcmp(s + n - 2, "?=", 2) == 0;
}

/*
 * An unfolded header value as a reader sees it: encoded words decoded,
 * white space between two encoded words dropped (RFC 2047 6.2).
 */
static void
ew_decode(const char *s, size_t n, struct buf *out)
{
	size_t	i = 0, ws, t;
	int	prev_ew = 0;

	buf_reset(out);
	buf_add(out, "", 0);
	while (i < n) {
		for (ws = i; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
			;
		for (t = i; i < n && s[i] != ' ' && s[i] != '\t'; i++)
			;
		if (t < i && is_ew(s + t, i - t)) {
			if (!prev_ew)
				buf_add(out, s + ws, t - ws);
			cr_assert_eq(ew_decode_word(s + t, i - t, out), 0,
			    "bad encoded word %s", show(s + t, i - t));
			prev_ew = 1;
		} else {
			buf_add(out, s + ws, i - ws);
			prev_ew = 0;
		}
	}
}

/* The headers we write; anything else in the output is an injection. */
static const char *const our_headers[] = {
	"Date", "From", "To", "Reply-To", "Subject", "Message-ID",
	"List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding",
};

#define MAX_HEADERS	32

struct parsed {
	char		*name[MAX_HEADERS];
	char		*value[MAX_HEADERS];	/* unfolded, after ": " */
	size_t		 n;
	const char	*body;
	size_t		 bodylen;
};

static void
parsed_free(struct parsed *pm)
{
	size_t	i;

	for (i = 0; i < pm->n; i++) {
		free(pm->name[i]);
		free(pm->value[i]);
	}
	pm->n = 0;
}

/* Where this header line's name ends (the ':'), or 0. */
static size_t
header_name_len(const char *line, size_t n)
{
	size_t	i;

	for (i = 0; i < FF_NELEM(our_headers); i++) {
		size_t l = strlen(our_headers[i]);

		if (n > l && memcmp(line, our_headers[i], l) == 0 &&
		    line[l] == ':')
			return l;
	}
	return 0;
}

/*
 * Splits a message the way a receiving parser does and checks the
 * invariants every output must keep: CRLF only, lines <= 998 octets,
 * the header section ends at the first blank line, each header line is
 * one of ours or a continuation (SP/HTAB, not white space only), header
 * lines are ASCII, no Bcc anywhere in the header section.
 */
static void
parse_message(const char *p, size_t len, struct parsed *pm)
{
	const char	*line, *eol, *end = p + len, *hend;
	size_t		 n, nl, i;
	struct buf	 v = { NULL, 0, 0 };

	memset(pm, 0, sizeof(*pm));
	cr_assert(len >= 2 && memcmp(p + len - 2, "\r\n", 2) == 0,
	    "message does not end in CRLF");
	for (i = 0; i < len; i++) {
		if (p[i] == '\r')
			cr_assert(i + 1 < len && p[i + 1] == '\n',
			    "bare CR at %zu", i);
		if (p[i] == '\n')
			cr_assert(i > 0 && p[i - 1] == '\r',
			    "bare LF at %zu", i);
		cr_assert(p[i] != '\0', "NUL at %zu", i);
		cr_assert((unsigned char)p[i] < 0x80, "8-bit at %zu", i);
	}
	for (line = p; line < end; line = eol + 2) {
		eol = memmem(line, end - line, "\r\n", 2);
		cr_assert_leq(eol - line, 998, "line over 998 octets");
	}

	hend = memmem(p, len, "\r\n\r\n", 4);
	cr_assert_not_null(hend, "no end of headers");
	pm->body = hend + 4;
	pm->bodylen = end - pm->body;

	for (line = p; line < hend + 2; line = eol + 2) {
		eol = memmem(line, hend + 2 - line, "\r\n", 2);
		n = eol - line;
		cr_assert(strncasecmp(line, "bcc", 3) != 0, "Bcc header: %s",
		    show(line, n));
		if (line[0] == ' ' || line[0] == '\t') {
			cr_assert(pm->n > 0, "continuation first");
			for (i = 0; i < n; i++)
				if (line[i] != ' ' && line[i] != '\t')
					break;
			cr_assert(i < n, "white space only line");
			buf_reset(&v);
			buf_adds(&v, pm->value[pm->n - 1]);
			buf_add(&v, line, n);
			free(pm->value[pm->n - 1]);
			pm->value[pm->n - 1] = strdup(v.p);
			continue;
		}
		nl = header_name_len(line, n);
		cr_assert(nl > 0, "not one of our headers: %s", show(line, n));
		cr_assert(n >= nl + 1);
		cr_assert_lt(pm->n, MAX_HEADERS);
		pm->name[pm->n] = strndup(line, nl);
		/* We always write ": "; a value starts after the space. */
		i = nl + 1;
		if (i < n && line[i] == ' ')
			i++;
		pm->value[pm->n] = strndup(line + i, n - i);
		pm->n++;
	}
	buf_free(&v);
}

/* The header's unfolded value; NULL when absent.  Fails if repeated. */
static const char *
header(const struct parsed *pm, const char *name)
{
	const char	*found = NULL;
	size_t		 i;

	for (i = 0; i < pm->n; i++) {
		if (strcasecmp(pm->name[i], name) == 0) {
			cr_assert_null(found, "%s twice", name);
			found = pm->value[i];
		}
	}
	return found;
}

static void
init_msg(struct mime_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->from = FROM;
	m->to = TO;
	m->subject = "Hello";
	m->message_id = MSGID;
	m->date = DATE;
	m->text = "Hi\n";
	m->textlen = 3;
}

/* Builds m (with html, a boundary); parse_message checks the output. */
static void
build_parse(const struct mime_msg *m, struct buf *out, struct parsed *pm)
{
	buf_reset(out);
	cr_assert_eq(mime_build(m, out), 0, "mime_build failed");
	parse_message(out->p, out->len, pm);
}

/* The decoded text of the multipart body's part idx (0 text, 1 html). */
static void
part_text(const struct parsed *pm, const char *boundary, int idx,
    struct buf *out)
{
	struct buf	 delim = { NULL, 0, 0 }, close = { NULL, 0, 0 };
	const char	*p = pm->body, *e = pm->body + pm->bodylen, *q, *h;
	int		 k;

	buf_addf(&delim, "--%s\r\n", boundary);
	buf_addf(&close, "\r\n--%s--\r\n", boundary);
	cr_assert(pm->bodylen > delim.len &&
	    memcmp(p, delim.p, delim.len) == 0, "body starts with delimiter");
	cr_assert(pm->bodylen >= close.len &&
	    memcmp(e - close.len, close.p, close.len) == 0,
	    "body ends with close delimiter");
	p += delim.len;
	for (k = 0; k <= idx; k++) {
		/* The next "\r\n--boundary" ends this part. */
		q = memmem(p, e - p, "\r\n--", 4);
		while (q != NULL && memcmp(q + 4, boundary,
		    strlen(boundary)) != 0)
			q = memmem(q + 1, e - q - 1, "\r\n--", 4);
		cr_assert_not_null(q);
		if (k == idx) {
			h = memmem(p, q + 2 - p, "\r\n\r\n", 4);
			cr_assert(h != NULL && h + 4 <= q,
			    "part without headers or blank line");
			cr_assert_eq(qp_decode(h + 4, q - h - 4, out), 0,
			    "part %d is not clean QP: %s", idx,
			    show(h + 4, q - h - 4));
			break;
		}
		p = q + 2 + delim.len;
	}
	buf_free(&delim);
	buf_free(&close);
}

/* --------------------------------------------------- quoted-printable */

struct qp_case {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*want;
};

#define X10	"xxxxxxxxxx"
#define X70	X10 X10 X10 X10 X10 X10 X10
#define X73	X70 "xxx"
#define X74	X70 "xxxx"
#define X75	X70 "xxxxx"
#define X76	X70 "xxxxxx"

static const struct qp_case qp_cases[] = {
	{ "", 0, "" },
	{ "a=b", 0, "a=3Db" },
	{ "plain text", 0, "plain text" },
	{ "trailing ", 0, "trailing=20" },
	{ "tab\t", 0, "tab=09" },
	{ "a \r\nb", 0, "a=20\r\nb" },
	{ "a\t\nb", 0, "a=09\r\nb" },
	{ "in side", 0, "in side" },
	{ "caf\xc3\xa9", 0, "caf=C3=A9" },
	{ "\x01\x7f\xff", 0, "=01=7F=FF" },
	{ "a\0b", 3, "a=00b" },
	/* Every line break becomes CRLF; bare CR and LF each count. */
	{ "a\nb", 0, "a\r\nb" },
	{ "a\rb", 0, "a\r\nb" },
	{ "a\r\nb", 0, "a\r\nb" },
	{ "a\n\rb", 0, "a\r\n\r\nb" },
	{ "a\r\r\nb", 0, "a\r\n\r\nb" },
	{ "\n", 0, "\r\n" },
	/* A line never starts with '.' or "From ". */
	{ ".", 0, "=2E" },
	{ ".hidden", 0, "=2Ehidden" },
	{ "a\n.\nb", 0, "a\r\n=2E\r\nb" },
	{ "a.b", 0, "a.b" },
	{ "From me", 0, "=46rom me" },
	{ "a\nFrom me", 0, "a\r\n=46rom me" },
	{ "Fromage", 0, "Fromage" },
	{ "From", 0, "From" },
	/* 76 on a line is allowed when nothing follows; 77 is not. */
	{ X76, 0, X76 },
	{ X76 "\n", 0, X76 "\r\n" },
	{ X76 "x", 0, X75 "=\r\nxx" },
	{ X70 X10, 0, X75 "=\r\nxxxxx" },
	/* An encoded octet is never split by a soft break. */
	{ X74 "=", 0, X74 "=\r\n=3D" },
	{ X74 "=y", 0, X74 "=\r\n=3Dy" },
	{ X75 " y", 0, X75 "=\r\n y" },
	{ X75 " ", 0, X75 "=\r\n=20" },
	{ X74 " ", 0, X74 "=\r\n=20" },
	{ X73 " ", 0, X73 "=20" },
	/* After a soft break, as after a hard one. */
	{ X75 ".y", 0, X75 "=\r\n=2Ey" },
	{ X75 "From x", 0, X75 "=\r\n=46rom x" },
};

Test(qp, exact_encodings)
{
	struct buf	out = { NULL, 0, 0 };
	char		what[64];
	size_t		i;

	for (i = 0; i < FF_NELEM(qp_cases); i++) {
		const struct qp_case *c = &qp_cases[i];

		qp(c->in, c->len ? c->len : strlen(c->in), &out);
		snprintf(what, sizeof(what), "qp case %zu", i);
		assert_bytes(&out, c->want, what);
		cr_assert_not_null(out.p);
		cr_assert_eq(out.p[out.len], '\0');
	}
	buf_free(&out);
}

Test(qp, appends)
{
	struct buf	out = { NULL, 0, 0 };

	buf_adds(&out, "keep");
	mime_qp_encode("=", 1, &out);
	assert_bytes(&out, "keep=3D", "qp appends");
	buf_free(&out);
}

/* Decodes back to the input with line breaks made CRLF, no line over
 * 76 octets, no line starting with '.'. */
static void
qp_round_trip(const char *in, size_t n)
{
	struct buf	 enc = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	struct buf	 want = { NULL, 0, 0 };
	const char	*line, *eol, *end;

	qp(in, n, &enc);
	cr_assert_eq(qp_decode(enc.p, enc.len, &dec), 0, "bad QP for %s: %s",
	    show(in, n), show(enc.p, enc.len));
	crlf_normalise(in, n, &want);
	cr_assert(dec.len == want.len && memcmp(dec.p, want.p, dec.len) == 0,
	    "round trip of %s gave %s", show(in, n), show(dec.p, dec.len));
	end = enc.p + enc.len;
	for (line = enc.p; line < end; line = eol + 2) {
		if ((eol = memmem(line, end - line, "\r\n", 2)) == NULL)
			eol = end;
		cr_assert_leq(eol - line, 76);
		cr_assert(eol == line || line[0] != '.');
		cr_assert(eol - line < 5 || memcmp(line, "From ", 5) != 0);
	}
	buf_free(&enc);
	buf_free(&dec);
	buf_free(&want);
}

Test(qp, round_trip_table)
{
	static const char *const inputs[] = {
		"",
		"Hello, world.\n",
		"line one\r\nline two\rline three\nline four",
		"=?UTF-8?Q?=0A?= = =3D ==",
		"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89 "
		    "\xc3\xa9t\xc3\xa9",
		"trailing space \ntrailing tab\t\n \t \n",
		"...\n.\n..\n. \n",
		"From here\nFrom\nFrom  \n>From x\n",
		"<html><body><p style=\"color:red\">Hi&nbsp;there</p>"
		    "<a href=\"https://t.example/c/1?x=1&y=2\">link</a>"
		    "</body></html>",
		"\xff\xfe\x80\xc0\xaf invalid utf-8 passes as bytes",
	};
	char	*s;
	size_t	 i, n;

	for (i = 0; i < FF_NELEM(inputs); i++)
		qp_round_trip(inputs[i], strlen(inputs[i]));

	/* Long lines: with and without spaces, with UTF-8 and dots at
	 * every position a soft break can fall on. */
	n = 5000;
	s = malloc(n);
	memset(s, 'y', n);
	qp_round_trip(s, n);
	for (i = 0; i < n; i++)
		s[i] = (i % 7 == 6) ? ' ' : (i % 11 == 0) ? '.' : 'a';
	qp_round_trip(s, n);
	for (i = 0; i + 2 <= n; i += 2)
		memcpy(s + i, "\xc3\xa9", 2);
	qp_round_trip(s, n);
	for (i = 0; i < n; i++)
		s[i] = "=. \t\xe2\x82\xac\n"[i % 8];
	qp_round_trip(s, n);
	free(s);
}

Test(qp, round_trip_random)
{
	uint32_t	 x = 2463534242u;
	char		 s[600];
	size_t		 i, n;
	int		 iter;

	for (iter = 0; iter < 3000; iter++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = x % sizeof(s);
		for (i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* Mostly text with the awkward bytes common. */
			s[i] = (x & 3) ? "a. =\t\r\nF"[x % 8] : (char)(x >> 8);
		}
		qp_round_trip(s, n);
	}
}

/* ----------------------------------------------------------- headers */

struct header_case {
	const char	*value;
	const char	*want;		/* whole "Subject: ...\r\n" */
};

static const struct header_case header_cases[] = {
	{ "Hello", "Subject: Hello\r\n" },
	{ "", "Subject: \r\n" },
	{ "a  b", "Subject: a  b\r\n" },
	{ "Caf\xc3\xa9", "Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n" },
	{ "a b_c?", "Subject: a b_c?\r\n" },
	{ "=?x", "Subject: =?UTF-8?B?PT94?=\r\n" },
	{ "a=?b c", "Subject: =?UTF-8?Q?a=3D=3Fb_c?=\r\n" },
	{ "caf\xc3\xa9 a_b", "Subject: =?UTF-8?Q?caf=C3=A9_a=5Fb?=\r\n" },
	/* Mostly non-Latin: base64 is shorter. */
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n" },
	/* Controls: line breaks and TAB are a space, others go. */
	{ "a\r\nb", "Subject: a  b\r\n" },
	/* Spaces at the ends go (line breaks and TABs are spaces). */
	{ " \t a b \r\n", "Subject: a b\r\n" },
	{ "\r\n", "Subject: \r\n" },
	{ "\xc2\xa0\xc3\xa9 ", "Subject: =?UTF-8?B?wqDDqQ==?=\r\n" },
	{ "a\nb\rc\td", "Subject: a b c d\r\n" },
	{ "a\x01\x1b\x7f" "b", "Subject: ab\r\n" },
	{ "a\xc2\x85" "b", "Subject: ab\r\n" },
	{ "a\xe2\x80\xa8" "b", "Subject: a b\r\n" },
	/* Invalid UTF-8 is U+FFFD. */
	{ "a\xff", "Subject: =?UTF-8?Q?a=EF=BF=BD?=\r\n" },
	{ "=?UTF-8?Q?=0A?=Bcc: x@y",
	    "Subject: =?UTF-8?Q?=3D=3FUTF-8=3FQ=3F=3D0A=3F=3DBcc=3A_x=40y?=\r\n" },
};

Test(header, exact)
{
	struct buf	out = { NULL, 0, 0 };
	char		what[64];
	size_t		i;

	for (i = 0; i < FF_NELEM(header_cases); i++) {
		buf_reset(&out);
		mime_header("Subject", header_cases[i].value, &out);
		snprintf(what, sizeof(what), "header case %zu", i);
		assert_bytes(&out, header_cases[i].want, what);
	}
	buf_free(&out);
}

/* value as a header: lines <= 78 when every word fits, continuation
 * lines start with a space, and it reads back as want. */
static void
header_reads_back(const char *value, const char *want, size_t maxline)
{
	struct buf	 out = { NULL, 0, 0 }, v = { NULL, 0, 0 };
	struct buf	 dec = { NULL, 0, 0 };
	const char	*line, *eol, *end;

	mime_header("Subject", value, &out);
	end = out.p + out.len;
	cr_assert(out.len >= 2 && memcmp(end - 2, "\r\n", 2) == 0);
	buf_add(&v, "", 0);
	for (line = out.p; line < end; line = eol + 2) {
		eol = memmem(line, end - line, "\r\n", 2);
		cr_assert_not_null(eol);
		cr_assert_leq((size_t)(eol - line), maxline, "line of %zu: %s",
		    (size_t)(eol - line), show(line, eol - line));
		cr_assert_null(memchr(line, '\r', eol - line));
		cr_assert_null(memchr(line, '\n', eol - line));
		if (line == out.p) {
			cr_assert(strncmp(line, "Subject: ", 9) == 0);
			buf_add(&v, line + 9, eol - line - 9);
		} else {
			cr_assert(line[0] == ' ', "continuation %s",
			    show(line, eol - line));
			buf_add(&v, line, eol - line);
		}
	}
	ew_decode(v.p, v.len, &dec);
	cr_assert_str_eq(dec.p, want, "%s read back as %s", show(value,
	    strlen(value)), show(dec.p, dec.len));
	buf_free(&out);
	buf_free(&v);
	buf_free(&dec);
}

Test(header, folding)
{
	struct buf	 s = { NULL, 0, 0 };
	char		*want;
	int		 i;

	/* Words: folded before a space, never mid-word. */
	for (i = 0; i < 60; i++)
		buf_adds(&s, "word ");
	buf_adds(&s, "end");
	header_reads_back(s.p, s.p, 78);

	/* Runs of spaces survive a fold; the trailing ones go. */
	buf_reset(&s);
	for (i = 0; i < 40; i++)
		buf_adds(&s, "ab     ");
	s.len -= 5;
	s.p[s.len] = '\0';
	header_reads_back(s.p, s.p, 78);
	want = strdup(s.p);
	buf_adds(&s, "     ");
	header_reads_back(s.p, want, 78);
	buf_reset(&s);
	buf_addf(&s, "  \t\r\n%s", want);
	header_reads_back(s.p, want, 78);
	free(want);

	/* One 900-octet word still fits the 998 limit, so it stays. */
	buf_reset(&s);
	for (i = 0; i < 90; i++)
		buf_adds(&s, "abcdefghij");
	header_reads_back(s.p, s.p, 998);

	/* A 5000-octet word does not: encoded words, 78 a line. */
	buf_reset(&s);
	for (i = 0; i < 500; i++)
		buf_adds(&s, "abcdefghij");
	header_reads_back(s.p, s.p, 78);

	/* UTF-8 over many words: no sequence split across words. */
	buf_reset(&s);
	for (i = 0; i < 200; i++)
		buf_adds(&s, " \xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\x89");
	header_reads_back(s.p, s.p + 1, 78);
	buf_reset(&s);
	for (i = 0; i < 300; i++)
		buf_adds(&s, "\xe6\x97\xa5");
	header_reads_back(s.p, s.p, 78);

	/* All spaces: nothing is left. */
	buf_reset(&s);
	for (i = 0; i < 1200; i++)
		buf_adds(&s, " ");
	header_reads_back(s.p, "", 78);
	buf_free(&s);
}

/* A long encoded text is cut after a space where one is near, not in
 * the middle of a word. */
Test(header, splits_after_spaces)
{
	struct buf	 s = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	const char	*line, *eol;
	size_t		 words = 0;
	int		 i;

	buf_adds(&s, "\xc3\xa9");
	for (i = 0; i < 30; i++)
		buf_adds(&s, " abcdefgh");
	mime_header("Subject", s.p, &out);
	for (line = out.p; line < out.p + out.len; line = eol + 2) {
		eol = memmem(line, out.p + out.len - line, "\r\n", 2);
		cr_assert_not_null(eol);
		words++;
		if (eol + 2 < out.p + out.len)
			cr_assert(memcmp(eol - 3, "_?=", 3) == 0, "%s",
			    show(line, eol - line));
	}
	cr_assert_geq(words, 4);
	header_reads_back(s.p, s.p, 78);
	buf_free(&s);
	buf_free(&out);
}

Test(header, long_name_still_folds)
{
	char		name[120];
	struct buf	out = { NULL, 0, 0 };
	const char	*line, *eol;

	memset(name, 'X', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	mime_header(name, "\xc3\xa9\xc3\xa9\xc3\xa9", &out);
	for (line = out.p; line < out.p + out.len; line = eol + 2) {
		eol = memmem(line, out.p + out.len - line, "\r\n", 2);
		cr_assert_not_null(eol);
		cr_assert(line == out.p || (eol - line <= 78 &&
		    line[0] == ' '));
	}
	cr_assert_not_null(strstr(out.p, "X: \r\n =?UTF-8?"));
	buf_free(&out);
}

/* ------------------------------------------------------ whole message */

Test(build, exact_text_only)
{
	struct mime_msg	m;
	struct buf	out = { NULL, 0, 0 };

	init_msg(&m);
	m.subject = "Hello Ann";
	m.text = "Hi Ann,\n.\nbye =)";
	m.textlen = strlen(m.text);
	cr_assert_eq(mime_build(&m, &out), 0);
	assert_bytes(&out,
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: Fanfare News <news@example.com>\r\n"
	    "To: ann@example.org\r\n"
	    "Subject: Hello Ann\r\n"
	    "Message-ID: <c.1.k.2.t.3@example.com>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Hi Ann,\r\n"
	    "=2E\r\n"
	    "bye =3D)\r\n", "text only");
	buf_free(&out);
}

Test(build, exact_multipart)
{
	struct mime_msg	m;
	struct buf	out = { NULL, 0, 0 };

	init_msg(&m);
	m.from = "\"Fanfare, Inc.\" <news@example.com>";
	m.to = "Ann B <ann@example.org>";
	m.reply_to = "help@example.com";
	m.subject = "Caf\xc3\xa9";
	m.list_unsubscribe = "https://t.example/u/TOKEN";
	m.text = "Hi\n";
	m.textlen = 3;
	m.html = "<p>Hi</p>";
	m.htmllen = 9;
	m.boundary = BOUNDARY;
	cr_assert_eq(mime_build(&m, &out), 0);
	assert_bytes(&out,
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: \"Fanfare, Inc.\" <news@example.com>\r\n"
	    "To: Ann B <ann@example.org>\r\n"
	    "Reply-To: help@example.com\r\n"
	    "Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n"
	    "Message-ID: <c.1.k.2.t.3@example.com>\r\n"
	    "List-Unsubscribe: <https://t.example/u/TOKEN>\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"" BOUNDARY "\"\r\n"
	    "\r\n"
	    "--" BOUNDARY "\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Hi\r\n"
	    "\r\n"
	    "--" BOUNDARY "\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "<p>Hi</p>\r\n"
	    "--" BOUNDARY "--\r\n", "multipart");
	buf_free(&out);
}

Test(build, dates)
{
	static const struct {
		time_t		 t;
		const char	*want;
	} cases[] = {
		{ 0, "Thu, 01 Jan 1970 00:00:00 +0000" },
		{ 1700000000, "Tue, 14 Nov 2023 22:13:20 +0000" },
		{ 951782400, "Tue, 29 Feb 2000 00:00:00 +0000" },
		{ 4102444799, "Thu, 31 Dec 2099 23:59:59 +0000" },
	};
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 };
	struct parsed	 pm;
	size_t		 i;

	/* Always UTC, whatever the server's zone (POSIX TZ: no tzdata). */
	setenv("TZ", "XST+05:30XDT,M3.2.0,M11.1.0", 1);
	tzset();
	for (i = 0; i < FF_NELEM(cases); i++) {
		init_msg(&m);
		m.date = cases[i].t;
		build_parse(&m, &out, &pm);
		cr_assert_str_eq(header(&pm, "Date"), cases[i].want);
		parsed_free(&pm);
	}
	buf_free(&out);
}

Test(build, list_unsubscribe_both_or_neither)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 };
	struct parsed	 pm;

	init_msg(&m);
	build_parse(&m, &out, &pm);
	cr_assert_null(header(&pm, "List-Unsubscribe"));
	cr_assert_null(header(&pm, "List-Unsubscribe-Post"));
	cr_assert_null(header(&pm, "Reply-To"));
	cr_assert_str_eq(header(&pm, "MIME-Version"), "1.0");
	cr_assert_str_eq(header(&pm, "Content-Type"),
	    "text/plain; charset=utf-8");
	cr_assert_str_eq(header(&pm, "Content-Transfer-Encoding"),
	    "quoted-printable");
	parsed_free(&pm);

	m.list_unsubscribe = "https://t.example/u/abc?x=1&y=2";
	build_parse(&m, &out, &pm);
	cr_assert_str_eq(header(&pm, "List-Unsubscribe"),
	    "<https://t.example/u/abc?x=1&y=2>");
	cr_assert_str_eq(header(&pm, "List-Unsubscribe-Post"),
	    "List-Unsubscribe=One-Click");
	parsed_free(&pm);
	buf_free(&out);
}

struct addr_case {
	const char	*in;
	const char	*want;		/* the From value as written */
};

static const struct addr_case addr_cases[] = {
	{ "news@example.com", "news@example.com" },
	{ "  news@example.com  ", "news@example.com" },
	{ "<news@example.com>", "news@example.com" },
	{ "News <news@example.com>", "News <news@example.com>" },
	{ "  News  Desk  <news@example.com>", "News Desk <news@example.com>" },
	{ "\"  News  \" <news@example.com>", "News <news@example.com>" },
	{ "\"\t\" <news@example.com>", "news@example.com" },
	{ "\"News\" <news@example.com>", "News <news@example.com>" },
	{ "\"\" <news@example.com>", "news@example.com" },
	{ "A. B. <news@example.com>", "\"A. B.\" <news@example.com>" },
	{ "a \"q\" \\ b <news@example.com>",
	    "\"a \\\"q\\\" \\\\ b\" <news@example.com>" },
	{ "\"a \\\"q\\\"\" <news@example.com>",
	    "\"a \\\"q\\\"\" <news@example.com>" },
	{ "x <y> <news@example.com>", "\"x <y>\" <news@example.com>" },
	{ "Zo\xc3\xab <news@example.com>",
	    "=?UTF-8?Q?Zo=C3=AB?= <news@example.com>" },
	{ "a=?b <news@example.com>", "=?UTF-8?Q?a=3D=3Fb?= <news@example.com>" },
	/* Encoded words only where needed; spaces next to one go inside. */
	{ "Zo\xc3\xab Smith <news@example.com>",
	    "=?UTF-8?Q?Zo=C3=AB?= Smith <news@example.com>" },
	{ "The \xc3\xa9 Team <news@example.com>",
	    "The =?UTF-8?B?w6k=?= Team <news@example.com>" },
	{ "Smith, Zo\xc3\xab <news@example.com>",
	    "=?UTF-8?Q?Smith=2C_Zo=C3=AB?= <news@example.com>" },
	{ "a  \xc3\xa9\r\nb <news@example.com>",
	    "a =?UTF-8?B?w6k=?= b <news@example.com>" },
	{ "Zo\xc3\xab, Ann <news@example.com>",
	    "=?UTF-8?B?Wm/Dqyw=?= Ann <news@example.com>" },
	{ "x =?y <news@example.com>", "x =?UTF-8?B?PT95?= <news@example.com>" },
	{ "N\r\nBcc: x@y <news@example.com>",
	    "\"N Bcc: x@y\" <news@example.com>" },
	{ "o'brien+tag@Example-1.co.uk", "o'brien+tag@Example-1.co.uk" },
};

Test(build, from_forms)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 };
	struct parsed	 pm;
	size_t		 i;

	for (i = 0; i < FF_NELEM(addr_cases); i++) {
		init_msg(&m);
		m.from = addr_cases[i].in;
		build_parse(&m, &out, &pm);
		cr_assert_str_eq(header(&pm, "From"), addr_cases[i].want,
		    "case %zu", i);
		parsed_free(&pm);
	}
	buf_free(&out);
}

Test(build, long_display_name_folds)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 }, from = { NULL, 0, 0 };
	struct parsed	 pm;
	const char	*line, *eol, *hend;
	int		 i;

	for (i = 0; i < 30; i++)
		buf_adds(&from, "Name ");
	buf_adds(&from, "<news@example.com>");
	init_msg(&m);
	m.from = from.p;
	build_parse(&m, &out, &pm);
	cr_assert_str_eq(header(&pm, "From"), from.p);
	hend = strstr(out.p, "\r\n\r\n");
	for (line = out.p; line < hend; line = eol + 2) {
		eol = strstr(line, "\r\n");
		cr_assert_leq(eol - line, 78, "%s", show(line, eol - line));
	}
	parsed_free(&pm);
	buf_free(&out);
	buf_free(&from);
}

Test(build, body_rules)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	struct buf	 want = { NULL, 0, 0 };
	struct parsed	 pm;
	const char	*sent = "\r\n\r\n=2Estarts with a dot\r\n=2E\r\nmid\r\n"
			    "bare cr\r\nend\r\n--";
	char		*big;
	size_t		 i;

	big = malloc(5000);
	memset(big, 'z', 5000);
	init_msg(&m);
	m.text = ".starts with a dot\n.\nmid\r\nbare cr\rend";
	m.textlen = strlen(m.text);
	m.html = big;
	m.htmllen = 5000;
	m.boundary = BOUNDARY;
	build_parse(&m, &out, &pm);

	/* The text part, line by line as sent and as decoded. */
	cr_assert_not_null(memmem(pm.body, pm.bodylen, sent, strlen(sent)));
	part_text(&pm, BOUNDARY, 0, &dec);
	crlf_normalise(m.text, m.textlen, &want);
	cr_assert_str_eq(dec.p, want.p);

	/* The 5000-octet line: soft-broken, every line 76 at most. */
	part_text(&pm, BOUNDARY, 1, &dec);
	cr_assert_eq(dec.len, 5000);
	for (i = 0; i < 5000; i++)
		cr_assert_eq(dec.p[i], 'z');
	parsed_free(&pm);
	free(big);
	buf_free(&out);
	buf_free(&dec);
	buf_free(&want);
}

Test(build, soft_breaks_in_body)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 };
	struct parsed	 pm;
	char		*big;
	const char	*p, *line, *eol;
	size_t		 soft = 0;

	big = malloc(5000);
	memset(big, 'z', 5000);
	init_msg(&m);
	m.text = big;
	m.textlen = 5000;
	build_parse(&m, &out, &pm);
	for (line = pm.body; line < pm.body + pm.bodylen; line = eol + 2) {
		eol = memmem(line, pm.body + pm.bodylen - line, "\r\n", 2);
		cr_assert_not_null(eol);
		cr_assert_leq(eol - line, 76);
		if (eol > line && eol[-1] == '=')
			soft++;
	}
	/* 75 octets and '=' a line, the rest on the last. */
	cr_assert_eq(soft, 5000 / 75);
	p = pm.body;
	cr_assert(strncmp(p, "zzzzzzzzzz", 10) == 0);
	cr_assert_eq(memcmp(p + 75, "=\r\n", 3), 0);
	parsed_free(&pm);
	free(big);
	buf_free(&out);
}

Test(build, body_line_endings_round_trip)
{
	static const char *const texts[] = {
		"", "x", "x\n", "x\r\n", "x\r", "\n\n", "\r\r", "\r\n\r\n",
		"a\nb\rc\r\nd\n\re", "trailing space \n", "last line no break ",
	};
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	struct buf	 want = { NULL, 0, 0 };
	struct parsed	 pm;
	size_t		 i;

	for (i = 0; i < FF_NELEM(texts); i++) {
		/* Multipart: each part is exactly its text. */
		init_msg(&m);
		m.text = texts[i];
		m.textlen = strlen(texts[i]);
		m.html = texts[FF_NELEM(texts) - 1 - i];
		m.htmllen = strlen(m.html);
		m.boundary = BOUNDARY;
		build_parse(&m, &out, &pm);
		part_text(&pm, BOUNDARY, 0, &dec);
		crlf_normalise(m.text, m.textlen, &want);
		cr_assert(dec.len == want.len &&
		    memcmp(dec.p, want.p, dec.len) == 0, "text %zu: %s", i,
		    show(dec.p, dec.len));
		part_text(&pm, BOUNDARY, 1, &dec);
		crlf_normalise(m.html, m.htmllen, &want);
		cr_assert(dec.len == want.len &&
		    memcmp(dec.p, want.p, dec.len) == 0, "html %zu: %s", i,
		    show(dec.p, dec.len));
		parsed_free(&pm);

		/* Single part: the text, ended by a line break. */
		m.html = NULL;
		build_parse(&m, &out, &pm);
		cr_assert_eq(qp_decode(pm.body, pm.bodylen, &dec), 0);
		crlf_normalise(m.text, m.textlen, &want);
		if (want.len > 0 && (want.len < 2 ||
		    memcmp(want.p + want.len - 2, "\r\n", 2) != 0))
			buf_adds(&want, "\r\n");
		cr_assert(dec.len == want.len &&
		    memcmp(dec.p, want.p, dec.len) == 0, "single %zu: %s", i,
		    show(dec.p, dec.len));
		parsed_free(&pm);
	}
	buf_free(&out);
	buf_free(&dec);
	buf_free(&want);
}

Test(build, appends_to_out)
{
	struct mime_msg	m;
	struct buf	out = { NULL, 0, 0 }, alone = { NULL, 0, 0 };

	init_msg(&m);
	cr_assert_eq(mime_build(&m, &alone), 0);
	buf_adds(&out, "X-Prefix: 1\r\n");
	cr_assert_eq(mime_build(&m, &out), 0);
	cr_assert_eq(out.len, 13 + alone.len);
	cr_assert_eq(memcmp(out.p, "X-Prefix: 1\r\n", 13), 0);
	cr_assert_eq(memcmp(out.p + 13, alone.p, alone.len), 0);
	buf_free(&out);
	buf_free(&alone);
}

/* --------------------------------------------------- header injection */

struct hostile {
	const char	*in;
	const char	*clean;	/* what a reader must get back */
};

/* The exact inputs the delivery issue lists, and their cousins.  A NUL
 * ends a C string, so the text after it never reaches mime.c. */
static const struct hostile hostile[] = {
	{ "Hi\r\nBcc: x@y", "Hi  Bcc: x@y" },
	{ "Hi\nBcc: x@y", "Hi Bcc: x@y" },
	{ "Hi\rBcc: x@y", "Hi Bcc: x@y" },
	{ "Hi\r\n\r\nBcc: x@y", "Hi    Bcc: x@y" },
	{ "Hi\r\n Bcc: x@y", "Hi   Bcc: x@y" },
	{ "Hi\t\r\n\tBcc: x@y", "Hi    Bcc: x@y" },
	{ "=?UTF-8?Q?=0A?=Bcc: x@y", "=?UTF-8?Q?=0A?=Bcc: x@y" },
	{ "=?UTF-8?B?DQpCY2M6IHhAeQ==?=", "=?UTF-8?B?DQpCY2M6IHhAeQ==?=" },
	{ "Hi\0\r\nBcc: x@y", "Hi" },
	{ "Hi\x01\x08\x0b\x0c\x1b\x7f" "Bcc: x@y", "HiBcc: x@y" },
	{ "Hi\xc2\x85" "Bcc: x@y", "HiBcc: x@y" },
	{ "Hi\xe2\x80\xa8" "Bcc: x@y\xe2\x80\xa9", "Hi Bcc: x@y " },
	{ "Hi\xc0\x8a" "Bcc: x@y", "Hi\xef\xbf\xbd\xef\xbf\xbd" "Bcc: x@y" },
	{ "\xc3\xa9\r\nBcc: x@y", "\xc3\xa9  Bcc: x@y" },
	{ "\r\n", "  " },
	{ "\n.\r\n", " .  " },
};

/* The display name of an address header value written by mime.c. */
static void
display_name(const char *value, const char *addr, struct buf *out)
{
	size_t		 n = strlen(value), al = strlen(addr), i;
	const char	*s = value;

	cr_assert(n >= al + 3 && memcmp(value + n - al - 3, " <", 2) == 0 &&
	    memcmp(value + n - al - 1, addr, al) == 0 && value[n - 1] == '>',
	    "address value %s", show(value, n));
	n -= al + 3;
	buf_reset(out);
	buf_add(out, "", 0);
	if (n > 0 && s[0] == '"') {
		cr_assert(n >= 2 && s[n - 1] == '"');
		for (i = 1; i < n - 1; i++) {
			if (s[i] == '\\')
				i++;
			buf_add(out, s + i, 1);
		}
	} else
		ew_decode(s, n, out);
}

/* s without spaces at its ends and, when squeeze is set, with runs of
 * spaces made one: what a subject and a display name read back as. */
static void
trimmed(const char *s, int squeeze, struct buf *out)
{
	size_t	n;

	buf_reset(out);
	buf_add(out, "", 0);
	for (; *s != '\0'; s++)
		if (*s != ' ' || (out->len > 0 && (!squeeze ||
		    out->p[out->len - 1] != ' ')))
			buf_add(out, s, 1);
	for (n = out->len; n > 0 && out->p[n - 1] == ' '; n--)
		;
	out->len = n;
	out->p[n] = '\0';
}

Test(inject, subject_and_display_names)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	struct buf	 from = { NULL, 0, 0 }, to = { NULL, 0, 0 };
	struct buf	 reply = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	struct parsed	 pm;
	const char	*tmp;
	size_t		 i;

	for (i = 0; i < FF_NELEM(hostile); i++) {
		const struct hostile *h = &hostile[i];

		buf_reset(&from);
		buf_addf(&from, "%s <news@example.com>", h->in);
		buf_reset(&to);
		buf_addf(&to, "%s <ann@example.org>", h->in);
		buf_reset(&reply);
		buf_addf(&reply, "%s <help@example.com>", h->in);
		init_msg(&m);
		m.subject = h->in;
		m.from = from.p;
		m.to = to.p;
		m.reply_to = reply.p;
		m.list_unsubscribe = "https://t.example/u/x";
		m.html = "<p>x</p>";
		m.htmllen = 8;
		m.boundary = BOUNDARY;
		build_parse(&m, &out, &pm);	/* headers ours, no Bcc */

		/* Exactly our ten headers, once each. */
		cr_assert_eq(pm.n, 10, "case %zu: %zu headers", i, pm.n);
		cr_assert_not_null(header(&pm, "Date"));
		cr_assert_not_null(header(&pm, "Message-ID"));
		cr_assert_not_null(header(&pm, "List-Unsubscribe-Post"));

		ew_decode(header(&pm, "Subject"),
		    strlen(header(&pm, "Subject")), &dec);
		trimmed(h->clean, 0, &want);
		cr_assert_str_eq(dec.p, want.p, "case %zu subject %s", i,
		    show(dec.p, dec.len));

		/* A display name that cleans to nothing is left out. */
		trimmed(h->clean, 1, &want);
		tmp = want.p;
		if (tmp[0] == '\0') {
			cr_assert_str_eq(header(&pm, "From"),
			    "news@example.com");
			cr_assert_str_eq(header(&pm, "To"), "ann@example.org");
			cr_assert_str_eq(header(&pm, "Reply-To"),
			    "help@example.com");
		} else {
			display_name(header(&pm, "From"), "news@example.com",
			    &dec);
			cr_assert_str_eq(dec.p, tmp, "case %zu from %s", i,
			    show(dec.p, dec.len));
			display_name(header(&pm, "To"), "ann@example.org",
			    &dec);
			cr_assert_str_eq(dec.p, tmp, "case %zu to", i);
			display_name(header(&pm, "Reply-To"),
			    "help@example.com", &dec);
			cr_assert_str_eq(dec.p, tmp, "case %zu reply-to", i);
		}
		parsed_free(&pm);
	}
	buf_free(&out);
	buf_free(&dec);
	buf_free(&from);
	buf_free(&to);
	buf_free(&reply);
	buf_free(&want);
}

/*
 * Random subjects and display names assembled from pieces whose cleaned
 * form is known: the header section must stay ours and each value must
 * read back as the concatenation of the cleaned pieces.
 */
static const struct hostile pieces[] = {
	{ "word", "word" }, { " ", " " }, { "  ", "  " }, { "\r\n", "  " },
	{ "\n", " " }, { "\r", " " }, { "\t", " " }, { "\x01", "" },
	{ "\x7f", "" }, { "\xc2\x9b", "" }, { "\xc3\xa9", "\xc3\xa9" },
	{ "\xe6\x97\xa5", "\xe6\x97\xa5" },
	{ "\xf0\x9f\x8e\x89", "\xf0\x9f\x8e\x89" },
	{ "\xff", "\xef\xbf\xbd" }, { "=?", "=?" }, { "?=", "?=" },
	{ "Bcc: x@y", "Bcc: x@y" }, { "\"", "\"" }, { "\\", "\\" },
	{ "<", "<" }, { ">", ">" }, { ",", "," }, { "_", "_" },
	{ ".", "." }, { "(", "(" }, { "=", "=" },
	{ "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	    "abcdefghijklmnopqrstuvwxyz0123456789",
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	    "abcdefghijklmnopqrstuvwxyz0123456789" },
};

static uint32_t
xorshift(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

Test(inject, random_pieces)
{
	struct mime_msg	 m;
	struct buf	 subj = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	struct buf	 from = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct buf	 dec = { NULL, 0, 0 }, sq = { NULL, 0, 0 };
	struct parsed	 pm;
	uint32_t	 x = 88172645u;
	size_t		 k, npieces;
	int		 iter;

	for (iter = 0; iter < 2000; iter++) {
		buf_reset(&subj);
		buf_reset(&want);
		/* "N" and "Z" keep the display name free of the trimming
		 * and unquoting that its ends get. */
		buf_adds(&subj, "N");
		buf_adds(&want, "N");
		npieces = xorshift(&x) % (iter % 10 == 0 ? 400 : 30);
		for (k = 0; k < npieces; k++) {
			const struct hostile *p =
			    &pieces[xorshift(&x) % FF_NELEM(pieces)];

			buf_adds(&subj, p->in);
			buf_adds(&want, p->clean);
		}
		buf_adds(&subj, "Z");
		buf_adds(&want, "Z");
		buf_reset(&from);
		buf_addf(&from, "%s <news@example.com>", subj.p);

		init_msg(&m);
		m.subject = subj.p;
		m.from = from.p;
		build_parse(&m, &out, &pm);
		cr_assert_eq(pm.n, 8);
		ew_decode(header(&pm, "Subject"),
		    strlen(header(&pm, "Subject")), &dec);
		cr_assert_str_eq(dec.p, want.p, "subject of %s",
		    show(subj.p, subj.len));
		display_name(header(&pm, "From"), "news@example.com", &dec);
		trimmed(want.p, 1, &sq);
		cr_assert_str_eq(dec.p, sq.p, "from of %s",
		    show(subj.p, subj.len));
		parsed_free(&pm);
	}
	buf_free(&subj);
	buf_free(&want);
	buf_free(&from);
	buf_free(&out);
	buf_free(&dec);
	buf_free(&sq);
}

/* --------------------------------------------------------- bad input */

static void
assert_refused(const struct mime_msg *m, const char *what)
{
	struct buf	 out = { NULL, 0, 0 };
	char		*p;
	size_t		 len, cap;

	/* Nothing at all: still nothing after. */
	cr_assert_eq(mime_build(m, &out), -1, "%s accepted: %s", what,
	    out.p != NULL ? show(out.p, out.len) : "");
	cr_assert(out.p == NULL && out.len == 0 && out.cap == 0, "%s", what);

	/* Something: the same pointer, length, capacity and bytes. */
	buf_adds(&out, "untouched");
	p = out.p;
	len = out.len;
	cap = out.cap;
	cr_assert_eq(mime_build(m, &out), -1, "%s accepted", what);
	cr_assert(out.p == p && out.len == len && out.cap == cap, "%s", what);
	cr_assert_str_eq(out.p, "untouched", "%s", what);
	buf_free(&out);
}

Test(bad, missing_fields)
{
	struct mime_msg	m;

	assert_refused(NULL, "NULL message");
	init_msg(&m);
	m.from = NULL;
	assert_refused(&m, "no from");
	init_msg(&m);
	m.to = NULL;
	assert_refused(&m, "no to");
	init_msg(&m);
	m.subject = NULL;
	assert_refused(&m, "no subject");
	init_msg(&m);
	m.text = NULL;
	assert_refused(&m, "no text");
	init_msg(&m);
	m.message_id = NULL;
	assert_refused(&m, "no message id");
	init_msg(&m);
	m.from = "";
	assert_refused(&m, "empty from");
	init_msg(&m);
	m.to = "  ";
	assert_refused(&m, "blank to");
	init_msg(&m);
	m.to = "Ann <>";
	assert_refused(&m, "empty angle address");
}

Test(bad, addresses)
{
	static const char *const bad[] = {
		"ann@example.org\r\n",
		"ann@example.org\r\nBcc: x@y",
		"ann@example.org\nBcc: x@y",
		"ann@exa\rmple.org",
		"ann @example.org",
		"ann@ example.org",
		"ann@example.org x",
		"a\tnn@example.org",
		"\xc3\xa4nn@example.org",
		"ann@ex\xc3\xa4mple.org",
		"ann@example.org\x7f",
		"ann\x01@example.org",
		"annexample.org",
		"ann@",
		"@example.org",
		"ann@@example.org",
		"ann@b@example.org",
		".ann@example.org",
		"ann.@example.org",
		"a..nn@example.org",
		"ann@example..org",
		"ann@.example.org",
		"ann@example.org.",
		"ann@-example.org",
		"ann@example-.org",
		"ann@exa_mple.org",
		"\"ann\"@example.org",
		"ann(c)@example.org",
		"ann@[192.0.2.1]",
		"Ann <ann@example.org",
		"Ann ann@example.org>",
		"Ann <ann@example.org> x",
		"Ann <ann@example.org>\r\nBcc: x@y",
		"Ann < ann@example.org >",
	};
	struct mime_msg	m;
	char		long_local[80], long_addr[300], long_label[80];
	size_t		i;

	for (i = 0; i < FF_NELEM(bad); i++) {
		init_msg(&m);
		m.to = bad[i];
		assert_refused(&m, bad[i]);
		init_msg(&m);
		m.from = bad[i];
		assert_refused(&m, bad[i]);
		init_msg(&m);
		m.reply_to = bad[i];
		assert_refused(&m, bad[i]);
	}

	/* 64 octets of local part pass, 65 do not. */
	memset(long_local, 'l', 64);
	strcpy(long_local + 64, "@example.org");
	init_msg(&m);
	m.to = long_local;
	cr_assert_eq(builds(&m), 0);
	memset(long_local, 'l', 65);
	strcpy(long_local + 65, "@example.org");
	assert_refused(&m, "65-octet local part");

	/* Labels: 63 octets pass, 64 do not. */
	memset(long_label, 'd', 63);
	strcpy(long_label + 63, ".org");
	snprintf(long_addr, sizeof(long_addr), "a@%s", long_label);
	m.to = long_addr;
	cr_assert_eq(builds(&m), 0);
	memset(long_label, 'd', 64);
	strcpy(long_label + 64, ".org");
	snprintf(long_addr, sizeof(long_addr), "a@%s", long_label);
	assert_refused(&m, "64-octet label");

	/* 254 octets in all pass, 255 do not. */
	memset(long_addr, 0, sizeof(long_addr));
	strcpy(long_addr, "a@");
	for (i = 2; i < 254; i += 2)
		strcat(long_addr, i + 2 < 254 ? "d." : "dd");
	cr_assert_eq(strlen(long_addr), 254);
	cr_assert_eq(builds(&m), 0);
	long_addr[253] = '.';
	strcat(long_addr, "e");
	cr_assert_eq(strlen(long_addr), 255);
	assert_refused(&m, "255-octet address");
}

/* What the API asks before it accepts an address (contact.c): the same
 * rule as mime_build(), and a reason that names the cause. */
Test(bad, address_valid_and_problem)
{
	static const char *const good[] = { "ann@example.org",
	    "a.b+c@xn--bcher-kva.de", "x@d.io" };
	static const char *const bad[] = { "j\xc3\xb6rg@example.org",
	    "ann@b\xc3\xbc" "cher.de", "\"a b\"@example.org", "ann@",
	    "Ann <ann@example.org>" };
	size_t	i;

	for (i = 0; i < FF_NELEM(good); i++) {
		cr_assert_eq(mime_address_valid(good[i], strlen(good[i])), 1,
		    "%s", good[i]);
		cr_assert_str_eq(mime_address_problem(good[i],
		    strlen(good[i])), "none");
	}
	for (i = 0; i < FF_NELEM(bad); i++)
		cr_assert_eq(mime_address_valid(bad[i], strlen(bad[i])), 0,
		    "%s", bad[i]);
	cr_assert(strstr(mime_address_problem(bad[0], strlen(bad[0])),
	    "SMTPUTF8") != NULL);
	cr_assert(strstr(mime_address_problem(bad[1], strlen(bad[1])),
	    "xn--") != NULL);
	cr_assert_str_eq(mime_address_problem(bad[2], strlen(bad[2])),
	    "not a plain local@domain address");
}

Test(bad, other_fields)
{
	static const char *const bad_ids[] = {
		"", "<>", "<@>", "c.1@example.com", "<c.1@example.com",
		"<c.1.example.com>", "<c 1@example.com>",
		"<c.1@example.com>\r\nBcc: x@y", "<c.1@exa<mple.com>",
		"<c.1@example.com>>", "<c..1@example.com>",
		"<c.1@example.com.>", "<c\xc3\xa9@example.com>",
		"<c.1@example.com:8080>",
	};
	static const char *const bad_urls[] = {
		"", "https://t.example/u/a b", "https://t.example/u/\r\nBcc: x",
		"https://t.example/u/>", "https://t.example/<u>",
		"https://t.example/\xc3\xa9", "https://t.example/\x7f",
	};
	static const char *const bad_boundaries[] = {
		"", "a b", "a\"b", "a\r\nb", "a;b",
		("0123456789012345678901234567890123456789"
		    "0123456789012345678901234567890"),	/* 71 */
	};
	struct mime_msg	m;
	char		url[1000], id[300];
	size_t		i;

	for (i = 0; i < FF_NELEM(bad_ids); i++) {
		init_msg(&m);
		m.message_id = bad_ids[i];
		assert_refused(&m, bad_ids[i]);
	}
	for (i = 0; i < FF_NELEM(bad_urls); i++) {
		init_msg(&m);
		m.list_unsubscribe = bad_urls[i];
		assert_refused(&m, bad_urls[i]);
	}
	for (i = 0; i < FF_NELEM(bad_boundaries); i++) {
		init_msg(&m);
		m.html = "<p>x</p>";
		m.htmllen = 8;
		m.boundary = bad_boundaries[i];
		assert_refused(&m, bad_boundaries[i]);
	}
	init_msg(&m);
	m.html = "<p>x</p>";
	m.htmllen = 8;
	assert_refused(&m, "html without a boundary");

	/* URLs: 900 octets pass, 901 do not. */
	init_msg(&m);
	memset(url, 'u', sizeof(url));
	memcpy(url, "https://t.example/", 18);
	url[900] = '\0';
	m.list_unsubscribe = url;
	cr_assert_eq(builds(&m), 0);
	url[900] = 'u';
	url[901] = '\0';
	assert_refused(&m, "901-octet URL");

	/* Message-IDs: 250 octets inside <> pass, 251 do not. */
	init_msg(&m);
	memset(id, 'i', sizeof(id));
	id[0] = '<';
	memcpy(id + 241, "@example.c>", 12);
	cr_assert_eq(strlen(id), 252);
	m.message_id = id;
	cr_assert_eq(builds(&m), 0);
	memcpy(id + 241, "@example.co>", 13);
	assert_refused(&m, "251-octet message id");
}

Test(bad, boundary_in_body)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 };

	init_msg(&m);
	m.boundary = "b0undary";
	m.html = "<p>x</p>";
	m.htmllen = 8;
	m.text = "before\n--b0undary\nafter";
	m.textlen = strlen(m.text);
	assert_refused(&m, "boundary as a body line");
	m.text = "a--b0undaryz";
	m.textlen = strlen(m.text);
	assert_refused(&m, "boundary inside a body line");
	m.text = "x";
	m.textlen = 1;
	m.html = "--b0undary--";
	m.htmllen = strlen(m.html);
	assert_refused(&m, "close delimiter in html");
	m.html = "-- b0undary --b0undar";
	m.htmllen = strlen(m.html);
	cr_assert_eq(mime_build(&m, &out), 0);
	buf_free(&out);
}

/* ------------------------------------------------------- message id */

Test(message_id, deterministic)
{
	char	a[128], b[128];

	mime_message_id(3, 1, 2, "example.com", a, sizeof(a));
	cr_assert_str_eq(a, "<c.1.k.2.t.3@example.com>");
	mime_message_id(3, 1, 2, "example.com", b, sizeof(b));
	cr_assert_str_eq(a, b);

	mime_message_id(4, 1, 2, "example.com", b, sizeof(b));
	cr_assert_str_neq(a, b);
	mime_message_id(3, 5, 2, "example.com", b, sizeof(b));
	cr_assert_str_neq(a, b);
	mime_message_id(3, 1, 6, "example.com", b, sizeof(b));
	cr_assert_str_neq(a, b);
	mime_message_id(3, 1, 2, "example.net", b, sizeof(b));
	cr_assert_str_neq(a, b);

	mime_message_id(UINT64_MAX, UINT64_MAX, UINT64_MAX, "mx.example.com",
	    a, sizeof(a));
	cr_assert_str_eq(a, "<c.18446744073709551615.k.18446744073709551615"
	    ".t.18446744073709551615@mx.example.com>");
}

Test(message_id, used_by_build)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 };
	struct parsed	 pm;
	char		 id[128];

	mime_message_id(UINT64_MAX, 0, 7, "example.com", id, sizeof(id));
	init_msg(&m);
	m.message_id = id;
	build_parse(&m, &out, &pm);
	cr_assert_str_eq(header(&pm, "Message-ID"), id);
	parsed_free(&pm);
	buf_free(&out);
}

Test(message_id, refuses_what_would_be_cut_or_bad)
{
	char	id[64];

	/* Exactly fits: 25 octets and the NUL. */
	mime_message_id(3, 1, 2, "example.com", id, 26);
	cr_assert_str_eq(id, "<c.1.k.2.t.3@example.com>");
	memset(id, 'x', sizeof(id));
	mime_message_id(3, 1, 2, "example.com", id, 25);
	cr_assert_str_eq(id, "");
	mime_message_id(3, 1, 2, "example.com", id, 1);
	cr_assert_str_eq(id, "");
	id[0] = 'x';
	mime_message_id(3, 1, 2, "example.com", id, 0);
	cr_assert_eq(id[0], 'x', "len 0: nothing written");

	mime_message_id(3, 1, 2, NULL, id, sizeof(id));
	cr_assert_str_eq(id, "");
	mime_message_id(3, 1, 2, "", id, sizeof(id));
	cr_assert_str_eq(id, "");
	mime_message_id(3, 1, 2, "example.com>\r\nBcc: x@y", id, sizeof(id));
	cr_assert_str_eq(id, "");
	mime_message_id(3, 1, 2, "example.com:8080", id, sizeof(id));
	cr_assert_str_eq(id, "");
}

/* ------------------------------------------------ 8bit bodies (8BITMIME) */

/* A line of n octets of c, then the rest. */
static char *
long_line(size_t n, char c, const char *rest)
{
	char	*s = malloc(n + strlen(rest) + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	strcpy(s + n, rest);
	return s;
}

Test(eightbit, encoding_choice)
{
	char	*s;

	/* Without the relay's 8BITMIME: quoted-printable, as always. */
	cr_assert_eq(mime_body_encoding("Hi\n", 3, 0), MIME_QP);
	cr_assert_eq(mime_body_encoding("Caf\xc3\xa9\n", 6, 0), MIME_QP);
	/* With it: ASCII stays 7bit, UTF-8 goes 8bit. */
	cr_assert_eq(mime_body_encoding("Hi\r\n.\nbye =)", 12, 1), MIME_7BIT);
	cr_assert_eq(mime_body_encoding("Caf\xc3\xa9\n", 6, 1), MIME_8BIT);
	cr_assert_eq(mime_body_encoding("", 0, 1), MIME_7BIT);
	/* 998 octets fit, with or without CR before the LF, last or not. */
	s = long_line(998, 'a', "\r\nx");
	cr_assert_eq(mime_body_encoding(s, strlen(s), 1), MIME_7BIT);
	free(s);
	s = long_line(998, 'a', "\n");
	cr_assert_eq(mime_body_encoding(s, strlen(s), 1), MIME_7BIT);
	free(s);
	s = long_line(996, 'a', "\xc3\xa9");
	cr_assert_eq(mime_body_encoding(s, strlen(s), 1), MIME_8BIT);
	free(s);
	/* 999 do not, wherever the line is. */
	s = long_line(999, 'a', "\r\n");
	cr_assert_eq(mime_body_encoding(s, strlen(s), 1), MIME_QP);
	free(s);
	s = long_line(999, 'a', "");
	cr_assert_eq(mime_body_encoding(s, strlen(s), 1), MIME_QP);
	free(s);
	s = long_line(997, 'a', "\xc3\xa9");
	cr_assert_eq(mime_body_encoding(s, strlen(s), 1), MIME_QP);
	free(s);
	/* NUL and a lone CR are not 8bit data; "From " meets mbox. */
	cr_assert_eq(mime_body_encoding("a\0b\n", 4, 1), MIME_QP);
	cr_assert_eq(mime_body_encoding("a\rb\n", 4, 1), MIME_QP);
	cr_assert_eq(mime_body_encoding("a\r", 2, 1), MIME_QP);
	cr_assert_eq(mime_body_encoding("x\nFrom me\n", 10, 1), MIME_QP);
	cr_assert_eq(mime_body_encoding("x\nFrom:me\n", 10, 1), MIME_7BIT);
}

Test(eightbit, exact_text_only)
{
	struct mime_msg	m;
	struct buf	out = { NULL, 0, 0 };

	init_msg(&m);
	m.subject = "Hello Ann";
	m.text = "Hi Ann,\n.\nCaf\xc3\xa9 =)";
	m.textlen = strlen(m.text);
	m.allow_8bit = 1;
	cr_assert_eq(mime_build(&m, &out), 1);
	assert_bytes(&out,
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: Fanfare News <news@example.com>\r\n"
	    "To: ann@example.org\r\n"
	    "Subject: Hello Ann\r\n"
	    "Message-ID: <c.1.k.2.t.3@example.com>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "Hi Ann,\r\n"
	    ".\r\n"
	    "Caf\xc3\xa9 =)\r\n", "8bit text only");
	buf_free(&out);

	/* All ASCII: 7bit, and nothing asks for BODY=8BITMIME. */
	m.text = "Hi Ann,\r\nbye =)\n";
	m.textlen = strlen(m.text);
	cr_assert_eq(mime_build(&m, &out), 0);
	cr_assert_not_null(strstr(out.p, "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\nHi Ann,\r\nbye =)\r\n"));
	cr_assert_eq(out.p[out.len - 3], ')');
	buf_free(&out);
}

Test(eightbit, exact_multipart_mixed)
{
	struct mime_msg	m;
	struct buf	out = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	char		*html;

	/* The text part fits: 8bit.  The HTML has a 999-octet line: QP. */
	html = long_line(999, 'h', "");
	init_msg(&m);
	m.subject = "Hi";
	m.text = "Gr\xc3\xbc\xc3\x9f" "e\n";
	m.textlen = strlen(m.text);
	m.html = html;
	m.htmllen = 999;
	m.boundary = BOUNDARY;
	m.allow_8bit = 1;
	cr_assert_eq(mime_build(&m, &out), 1);
	buf_adds(&want,
	    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
	    "From: Fanfare News <news@example.com>\r\n"
	    "To: ann@example.org\r\n"
	    "Subject: Hi\r\n"
	    "Message-ID: <c.1.k.2.t.3@example.com>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"" BOUNDARY "\"\r\n"
	    "\r\n"
	    "--" BOUNDARY "\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "\r\n"
	    "Gr\xc3\xbc\xc3\x9f" "e\r\n"
	    "\r\n"
	    "--" BOUNDARY "\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n");
	mime_qp_encode(html, 999, &want);
	buf_addf(&want, "\r\n--%s--\r\n", BOUNDARY);
	assert_bytes(&out, want.p, "8bit text, QP html");
	buf_free(&out);

	/* Without 8BITMIME the same message is QP throughout, all ASCII. */
	m.allow_8bit = 0;
	cr_assert_eq(mime_build(&m, &out), 0);
	cr_assert_null(strstr(out.p, "Content-Transfer-Encoding: 8bit"));
	cr_assert_not_null(strstr(out.p, "Gr=C3=BC=C3=9Fe"));
	buf_free(&out);
	buf_free(&want);
	free(html);
}
