/*
 * fuzz_mime.c: libFuzzer target for src/mime.c.
 * make fuzz builds it with clang (fuzz/mime); make check replays
 * tests/fuzz/mime/ through it (tests/fuzz_replay.c).
 *
 * The input is cut at NUL bytes into the header fields (subject, from,
 * to, reply-to, List-Unsubscribe URL, boundary, Message-ID domain); the
 * rest, NULs and all, is split into the text and HTML bodies.  The
 * first byte says which optional fields are set and picks the date.
 * Besides crashes and out-of-bounds reads it aborts when a result
 * breaks mime.c's contract:
 *  - mime_build returns 0 or -1, and on -1 leaves out exactly as it was
 *    (pointer, length, capacity and bytes);
 *  - built again with allow_8bit (the relay's 8BITMIME): 1 exactly when
 *    a part says 8bit, each part 7bit (ASCII), 8bit or quoted-printable
 *    and decoding to its input, the rest as below but for the 8-bit
 *    octets an 8bit part may hold (never NUL, never a bare CR or LF,
 *    never a line over 998 octets);
 *  - a built message is ASCII, CRLF only, no line over 998 octets; its
 *    header section (up to the first blank line) holds only our header
 *    lines, each once, or continuation lines that start with a space
 *    and are not blank; the subject decodes to text without controls;
 *    both List-Unsubscribe headers or neither;
 *  - the bodies are strict quoted-printable (lines <= 76, no line
 *    starting with '.') that decode to the input bodies with line
 *    breaks made CRLF; a multipart holds its boundary exactly three
 *    times;
 *  - mime_qp_encode of the whole input decodes back the same way;
 *    mime_header gives one header line plus continuations;
 *    mime_message_id gives the same id twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static const char *const fuzz_headers[] = {
	"Date", "From", "To", "Reply-To", "Subject", "Message-ID",
	"List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding",
};

static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict quoted-printable as mime.c writes it; -1 on anything else. */
static int
fuzz_qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t	i, col = 0;
	int	hi, lo;

	buf_reset(out);
	buf_add(out, "", 0);
	for (i = 0; i < n; i++) {
		if (col == 0 && s[i] == '.')
			return -1;
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
			if (i + 2 >= n || (hi = fuzz_hex(s[i + 1])) == -1 ||
			    (lo = fuzz_hex(s[i + 2])) == -1)
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

static void
fuzz_crlf(const char *s, size_t n, struct buf *out)
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
fuzz_b64(char c)
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

/* Decodes the encoded words of an unfolded value into out (other text
 * is copied); aborts on a malformed word of ours. */
static void
fuzz_ew_decode(const char *s, size_t n, struct buf *out)
{
	size_t		i = 0, t, k;
	uint32_t	acc;
	int		bits, v, hi, lo;

	buf_reset(out);
	buf_add(out, "", 0);
	while (i < n) {
		if (s[i] == ' ') {
			buf_add(out, s + i++, 1);
			continue;
		}
		for (t = i; i < n && s[i] != ' '; i++)
			;
		if (i - t < 12 || s[t] != '=' || s[t + 1] != '?') {
			buf_add(out, s + t, i - t);
			continue;
		}
		CHECK(i - t <= 75 && memcmp(s + i - 2, "?=", 2) == 0);
		if (memcmp(s + t, "=?UTF-8?Q?", 10) == 0) {
			for (k = t + 10; k < i - 2; k++) {
				if (s[k] == '_')
					buf_add(out, " ", 1);
				else if (s[k] == '=') {
					CHECK(k + 2 < i - 2);
					hi = fuzz_hex(s[k + 1]);
					lo = fuzz_hex(s[k + 2]);
					CHECK(hi != -1 && lo != -1);
					buf_add(out,
					    (char []){ (char)(hi << 4 | lo) }, 1);
					k += 2;
				} else {
					CHECK(s[k] > 32 && s[k] < 127 &&
					    s[k] != '?');
					buf_add(out, s + k, 1);
				}
			}
			continue;
		}
		CHECK(memcmp(s + t, "=?UTF-8?B?", 10) == 0);
		CHECK((i - t - 12) % 4 == 0);
		acc = 0;
		bits = 0;
		for (k = t + 10; k < i - 2 && s[k] != '='; k++) {
			CHECK((v = fuzz_b64(s[k])) != -1);
			acc = acc << 6 | (uint32_t)v;
			if ((bits += 6) >= 8) {
				bits -= 8;
				buf_add(out, (char []){ (char)(acc >> bits) }, 1);
			}
		}
	}
}

static size_t
fuzz_header_name(const char *line, size_t n)
{
	size_t	i, l;

	for (i = 0; i < FF_NELEM(fuzz_headers); i++) {
		l = strlen(fuzz_headers[i]);
		if (n > l && strncasecmp(line, fuzz_headers[i], l) == 0 &&
		    line[l] == ':')
			return i + 1;
	}
	return 0;
}

/* Every line CRLF-ended, <= 998 octets, without NUL; ASCII unless
 * eight (an 8bit part may be there). */
static void
fuzz_check_lines8(const char *p, size_t len, int eight)
{
	size_t	i, col = 0;

	CHECK(len >= 2 && memcmp(p + len - 2, "\r\n", 2) == 0);
	for (i = 0; i < len; i++) {
		CHECK(p[i] != '\0' && (eight || (unsigned char)p[i] < 0x80));
		if (p[i] == '\r') {
			CHECK(i + 1 < len && p[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		CHECK(p[i] != '\n');
		CHECK(++col <= 998);
	}
}

static void
fuzz_check_lines(const char *p, size_t len)
{
	fuzz_check_lines8(p, len, 0);
}

/*
 * A body part [b, b + n) decoded into dec per the Content-Transfer-
 * Encoding header in [hs, he): quoted-printable strictly, 7bit and 8bit
 * as they are (7bit: ASCII).  *eight is set for an 8bit part.
 */
static void
fuzz_body_decode(const char *hs, const char *he, const char *b, size_t n,
    struct buf *dec, int *eight)
{
	/* At the start of a line: a subject may hold the same words. */
	static const char	 cte[] = "\r\nContent-Transfer-Encoding: ";
	const char		*c;
	size_t			 i;

	CHECK((c = memmem(hs, he - hs, cte, sizeof(cte) - 1)) != NULL);
	c += sizeof(cte) - 1;
	if (he - c >= 18 && memcmp(c, "quoted-printable\r\n", 18) == 0) {
		CHECK(fuzz_qp_decode(b, n, dec) == 0);
		return;
	}
	CHECK(he - c >= 6);
	if (memcmp(c, "8bit\r\n", 6) == 0)
		*eight = 1;
	else {
		CHECK(memcmp(c, "7bit\r\n", 6) == 0);
		for (i = 0; i < n; i++)
			CHECK((unsigned char)b[i] < 0x80);
	}
	buf_reset(dec);
	buf_add(dec, "", 0);
	buf_add(dec, b, n);
}

/* Checks the message mime_build made of m; rv is what it returned. */
static void
fuzz_check_message(const struct mime_msg *m, const char *p, size_t len,
    int rv)
{
	int		 eight = 0;
	struct buf	 v = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	struct buf	 want = { NULL, 0, 0 }, delim = { NULL, 0, 0 };
	const char	*line, *eol, *hend, *body, *e = p + len, *q, *h;
	size_t		 seen[FF_NELEM(fuzz_headers) + 1], i, k, subj = 0;
	size_t		 last = 0, count;

	memset(seen, 0, sizeof(seen));
	fuzz_check_lines8(p, len, m->allow_8bit);
	CHECK((hend = memmem(p, len, "\r\n\r\n", 4)) != NULL);
	body = hend + 4;
	fuzz_check_lines(p, hend + 4 - p);	/* headers: ASCII */

	for (line = p; line < hend + 2; line = eol + 2) {
		eol = memmem(line, hend + 2 - line, "\r\n", 2);
		if (line[0] == ' ' || line[0] == '\t') {
			CHECK(last != 0);
			for (i = 0; i < (size_t)(eol - line); i++)
				if (line[i] != ' ' && line[i] != '\t')
					break;
			CHECK(i < (size_t)(eol - line));
			if (last == 5)
				buf_add(&v, line, eol - line);
			continue;
		}
		CHECK((k = fuzz_header_name(line, eol - line)) != 0);
		CHECK(seen[k]++ == 0);
		last = k;
		if (k == 5) {
			subj = 1;
			i = strlen("Subject: ");
			buf_add(&v, "", 0);
			buf_add(&v, line + i, eol - line - i);
		}
	}
	CHECK(subj);
	CHECK(seen[1] && seen[2] && seen[3] && seen[6] && seen[9] &&
	    seen[10]);
	CHECK(seen[4] == (m->reply_to != NULL));
	CHECK(seen[7] == (m->list_unsubscribe != NULL));
	CHECK(seen[8] == (m->list_unsubscribe != NULL));

	/* The subject reads back as text without a control character. */
	fuzz_ew_decode(v.p, v.len, &dec);
	for (i = 0; i < dec.len; i++)
		CHECK((unsigned char)dec.p[i] >= 0x20 &&
		    dec.p[i] != 0x7f);
	CHECK(memchr(dec.p, '\0', dec.len) == NULL);

	if (m->html == NULL) {
		CHECK(seen[11]);
		fuzz_body_decode(p, hend + 4, body, e - body, &dec, &eight);
		fuzz_crlf(m->text, m->textlen, &want);
		if (want.len > 0 && (want.len < 2 ||
		    memcmp(want.p + want.len - 2, "\r\n", 2) != 0))
			buf_add(&want, "\r\n", 2);
		CHECK(dec.len == want.len &&
		    memcmp(dec.p, want.p, dec.len) == 0);
		goto done;
	}

	/* Three delimiters, at the places a parser looks for them. */
	CHECK(!seen[11]);
	buf_addf(&delim, "--%s", m->boundary);
	count = 0;
	for (q = body; (q = memmem(q, e - q, delim.p, delim.len)) != NULL;
	    q += delim.len)
		count++;
	CHECK(count == 3);
	CHECK(memcmp(body, delim.p, delim.len) == 0);
	CHECK((size_t)(e - body) >= delim.len + 4 &&
	    memcmp(e - delim.len - 4, delim.p, delim.len) == 0 &&
	    memcmp(e - 4, "--\r\n", 4) == 0);
	q = body;
	for (k = 0; k < 2; k++) {
		const char	*start = q + delim.len + 2, *end;

		CHECK(memcmp(q + delim.len, "\r\n", 2) == 0);
		end = memmem(start, e - start, delim.p, delim.len);
		CHECK(end != NULL && end - start >= 2 &&
		    memcmp(end - 2, "\r\n", 2) == 0);
		h = memmem(start, end - start, "\r\n\r\n", 4);
		CHECK(h != NULL && h + 4 <= end - 2);
		fuzz_body_decode(start, h + 4, h + 4, end - 2 - (h + 4), &dec,
		    &eight);
		if (k == 0)
			fuzz_crlf(m->text, m->textlen, &want);
		else
			fuzz_crlf(m->html, m->htmllen, &want);
		CHECK(dec.len == want.len &&
		    memcmp(dec.p, want.p, dec.len) == 0);
		q = end;
	}
done:
	CHECK(rv == eight && (m->allow_8bit || !eight));
	buf_free(&v);
	buf_free(&dec);
	buf_free(&want);
	buf_free(&delim);
}

/* The next NUL-terminated field of the input, or NULL when none is
 * left; *off moves past it. */
static char *
fuzz_field(char *in, size_t size, size_t *off)
{
	char	*f, *nul;

	if (*off >= size)
		return NULL;
	f = in + *off;
	if ((nul = memchr(f, '\0', size - *off)) == NULL)
		return NULL;
	*off = nul - in + 1;
	return f;
}

static void
fuzz_build(char *in, size_t size)
{
	struct mime_msg	 m;
	struct buf	 out = { NULL, 0, 0 };
	char		 id[300];
	char		*subject, *from, *to, *reply, *unsub, *boundary;
	char		*domain, *p;
	size_t		 off = 1, len, cap, rest;
	uint8_t		 flags;
	int		 rv;

	if (size < 1)
		return;
	flags = (uint8_t)in[0];
	subject = fuzz_field(in, size, &off);
	from = fuzz_field(in, size, &off);
	to = fuzz_field(in, size, &off);
	reply = fuzz_field(in, size, &off);
	unsub = fuzz_field(in, size, &off);
	boundary = fuzz_field(in, size, &off);
	domain = fuzz_field(in, size, &off);

	memset(&m, 0, sizeof(m));
	m.subject = subject != NULL ? subject : "Hello";
	m.from = from != NULL ? from : "News <news@example.com>";
	m.to = to != NULL ? to : "ann@example.org";
	m.reply_to = (flags & 1) ? (reply != NULL ? reply :
	    "help@example.com") : NULL;
	m.list_unsubscribe = (flags & 2) ? (unsub != NULL ? unsub :
	    "https://t.example/u/x") : NULL;
	m.date = (time_t)(flags >> 3) * 86400 * 731 + (time_t)size * 7919;
	if ((flags >> 3) == 31)
		m.date = (time_t)1 << 40;	/* year 36812: refused */
	mime_message_id(size, flags, off, domain != NULL ? domain :
	    "example.com", id, sizeof(id));
	m.message_id = id;

	rest = off < size ? size - off : 0;
	m.text = in + size - rest;
	m.textlen = rest / 2;
	if (flags & 4) {
		m.html = in + size - rest + rest / 2;
		m.htmllen = rest - rest / 2;
		m.boundary = boundary != NULL ? boundary : "=_ff_b0undary";
	}

	/* On -1, out is untouched: try with an empty and a full buffer. */
	rv = mime_build(&m, &out);
	CHECK(rv == 0 || rv == -1);
	if (rv == -1) {
		CHECK(out.p == NULL && out.len == 0 && out.cap == 0);
		buf_adds(&out, "keep");
		p = out.p;
		len = out.len;
		cap = out.cap;
		CHECK(mime_build(&m, &out) == -1);
		CHECK(out.p == p && out.len == len && out.cap == cap &&
		    strcmp(out.p, "keep") == 0);
	} else
		fuzz_check_message(&m, out.p, out.len, rv);
	buf_free(&out);

	/* Again for a relay that offers 8BITMIME.  It may refuse what QP
	 * took: a body holding the delimiter, which QP would have encoded. */
	m.allow_8bit = 1;
	rv = mime_build(&m, &out);
	CHECK(rv >= -1 && rv <= 1);
	if (rv == -1)
		CHECK(out.p == NULL && out.len == 0 && out.cap == 0);
	else
		fuzz_check_message(&m, out.p, out.len, rv);
	buf_free(&out);
}

static void
fuzz_pieces(const char *in, size_t size)
{
	struct buf	 out = { NULL, 0, 0 }, dec = { NULL, 0, 0 };
	struct buf	 want = { NULL, 0, 0 };
	char		*str, a[300], b[300];
	const char	*line, *eol;
	size_t		 lines = 0;

	mime_qp_encode(in, size, &out);
	CHECK(out.p != NULL && out.p[out.len] == '\0');
	CHECK(fuzz_qp_decode(out.p, out.len, &dec) == 0);
	fuzz_crlf(in, size, &want);
	CHECK(dec.len == want.len && memcmp(dec.p, want.p, dec.len) == 0);

	/* The input as one C string (it ends at its first NUL). */
	str = malloc(size + 1);
	CHECK(str != NULL);
	memcpy(str, in, size);
	str[size] = '\0';
	buf_reset(&out);
	mime_header("X-Fuzz", str, &out);
	fuzz_check_lines(out.p, out.len);
	for (line = out.p; line < out.p + out.len; line = eol + 2) {
		eol = memmem(line, out.p + out.len - line, "\r\n", 2);
		CHECK(eol != NULL);
		CHECK(lines++ == 0 ? strncmp(line, "X-Fuzz: ", 8) == 0 :
		    line[0] == ' ');
	}

	mime_message_id(7, 8, 9, str, a, sizeof(a));
	mime_message_id(7, 8, 9, str, b, sizeof(b));
	CHECK(strcmp(a, b) == 0);
	free(str);
	buf_free(&out);
	buf_free(&dec);
	buf_free(&want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*in;

	in = malloc(size == 0 ? 1 : size);
	CHECK(in != NULL);
	memcpy(in, data, size);
	fuzz_build(in, size);
	fuzz_pieces(in, size);
	free(in);
	return 0;
}
