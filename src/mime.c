/*
 * mime.c: turns one rendered message (texts, addresses, subject) into
 * the bytes libesmtp sends: RFC 5322 headers, RFC 2047 encoded words,
 * RFC 2045 quoted-printable bodies, multipart/alternative for HTML.
 *
 * What it guarantees, whatever the input:
 *  - CRLF line ends only: no bare CR or LF anywhere in the output;
 *  - no line over 998 octets (headers fold at <= 78 where they can,
 *    bodies are quoted-printable with 76-octet lines);
 *  - no header value can start a header line of its own.  Header text
 *    is cleaned first: CR, LF, TAB, U+2028 and U+2029 become a space,
 *    every other control character (C0, DEL, C1) is dropped, invalid
 *    UTF-8 becomes U+FFFD.  Text that is not printable ASCII, or that
 *    holds "=?" (which a decoder could take for an encoded word of
 *    ours), or that cannot be folded under 998 octets, is sent
 *    entirely as encoded words, so a decoder gives back the cleaned
 *    text literally.  Every line a fold starts begins with a space;
 *  - the output is all ASCII (the only 8-bit text travels encoded),
 *    unless the caller allows 8bit (struct mime_msg's allow_8bit: the
 *    relay offered 8BITMIME); then see "Body encodings" below.
 *
 * Decisions:
 *  - Not dot-stuffed: SMTP does that.  But a quoted-printable body line
 *    (hard or after a soft break) never starts with '.' or "From ": they
 *    are sent as
 *    "=2E" and "=46rom ", so a missing or double dot-stuffing, or an
 *    mbox ">From " escape on the way, cannot change the text.  (A 7bit
 *    or 8bit part has no line starting with "From ", and relies on
 *    SMTP's dot-stuffing, which every relay does.)
 *  - Body line breaks (CRLF, bare LF, bare CR) all become CRLF.  Each
 *    part of a multipart decodes to exactly its text; a single text
 *    part that does not end in a line break gets one, as the message
 *    must end in CRLF.
 *  - Addresses must be "local@domain" of printable ASCII: a dot-atom
 *    local part of at most 64 octets, a host name of letters, digits,
 *    '-' and dots, at most 254 octets in all (RFC 5321).  No quoted
 *    local parts and no non-ASCII (SMTPUTF8) addresses for now; -1.
 *  - Header text loses the spaces at its ends, and a display name its
 *    runs of spaces too, so every decoder reads back the same text.
 *  - A display name with non-ASCII or "=?" is sent as atoms where its
 *    words can be, encoded words (Q or B, whichever is shorter) for
 *    the rest; with RFC 5322 specials it is a quoted-string; a plain
 *    phrase of atoms is sent as it is.
 *  - A NUL ends a C string: text after it is simply not seen.
 *  - mime_build() assembles the message aside and appends it only when
 *    complete, so on -1 out is untouched, pointer and all.
 *
 * Body encodings, chosen per part (mime_body_encoding), only when the
 * caller allows it (allow_8bit: the relay offered 8BITMIME); without,
 * every part is quoted-printable as before, all ASCII:
 *  - 7bit when the text is ASCII without NUL or a lone CR, every line
 *    at most 998 octets and none starting with "From ": sent as it is;
 *  - 8bit the same, with octets >= 0x80 (the caller then sends
 *    BODY=8BITMIME);
 *  - quoted-printable otherwise.  A NUL or a lone CR is not 8bit data
 *    (RFC 2045 2.8), a longer line would be cut, "From " would meet an
 *    mbox escape.  A bare LF is a line break: 7bit and 8bit bodies have
 *    their LFs made CRLF, as quoted-printable does, so a part decodes to
 *    the same text whichever encoding it went in.  A line starting with
 *    '.' is left to SMTP's dot-stuffing.  Trailing white space is kept;
 *    DKIM's relaxed body canonicalization ignores it anyway.
 *  That is cheaper for the relay and us alike: the body is copied, not
 *  encoded, and libesmtp writes 13 times fewer lines of it.
 *
 * Pure: no I/O, no globals, no logging; fuzzable and unit-tested.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fanfare.h"

#define MIME_FOLD	78	/* preferred header line length */
#define MIME_LINE_MAX	998	/* RFC 5322 hard limit, CRLF excluded */
#define MIME_QP_LINE	76	/* RFC 2045 quoted-printable line */
#define MIME_EW_MAX	75	/* RFC 2047 encoded word length */
#define MIME_EW_OVERHEAD	12	/* "=?UTF-8?Q?" (or B) and "?=" */
#define MIME_ADDR_MAX	254	/* RFC 5321 path limit, without <> */
#define MIME_LOCAL_MAX	64	/* RFC 5321 local part */
#define MIME_LABEL_MAX	63	/* RFC 1035 */
#define MIME_MSGID_MAX	250
#define MIME_URL_MAX	900
#define MIME_BOUNDARY_MAX	70	/* RFC 2046 */

static const char	 mime_hex[] = "0123456789ABCDEF";
static const char	 mime_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_seqlen(const unsigned char *s, size_t n)
{
	uint32_t	cp;

	return utf8_decode(s, n, &cp);
}

/* Header text made safe to place anywhere in a header, see the top. */
static void
hdr_clean(const char *in, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 n = strlen(in), i = 0, l;

	buf_add(out, "", 0);	/* out->p is a string even when empty */
	while (i < n) {
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\t') {
			buf_add(out, " ", 1);
			i++;
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			i++;
		} else if ((l = utf8_seqlen(s + i, n - i)) == 0) {
			buf_add(out, "\xef\xbf\xbd", 3);
			i++;
		} else if (l == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
			i += 2;		/* C1 control */
		} else if (l == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			/* Line and paragraph separators: decoders that
			 * split lines on them would see a header break. */
			buf_add(out, " ", 1);
			i += 3;
		} else {
			buf_add(out, s + i, l);
			i += l;
		}
	}
}

static int
hdr_is_ascii(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* Must the (cleaned) text go out as encoded words? */
static int
hdr_needs_words(const char *s, size_t n)
{
	return !hdr_is_ascii(s, n) || memmem(s, n, "=?", 2) != NULL;
}

/* Characters an encoded word may carry as they are, even in a phrase. */
static int
ew_q_literal(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/';
}

static size_t
ew_q_len(const unsigned char *s, size_t n)
{
	size_t	i, len = 0;

	for (i = 0; i < n; i++)
		len += (ew_q_literal(s[i]) || s[i] == ' ') ? 1 : 3;
	return len;
}

static void
ew_b_add(struct buf *out, const unsigned char *s, size_t n)
{
	char	q[4];
	size_t	i;

	for (i = 0; i + 2 < n; i += 3) {
		q[0] = mime_b64[s[i] >> 2];
		q[1] = mime_b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		q[2] = mime_b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		q[3] = mime_b64[s[i + 2] & 63];
		buf_add(out, q, 4);
	}
	if (n - i == 1) {
		q[0] = mime_b64[s[i] >> 2];
		q[1] = mime_b64[(s[i] & 3) << 4];
		q[2] = q[3] = '=';
		buf_add(out, q, 4);
	} else if (n - i == 2) {
		q[0] = mime_b64[s[i] >> 2];
		q[1] = mime_b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		q[2] = mime_b64[(s[i + 1] & 15) << 2];
		q[3] = '=';
		buf_add(out, q, 4);
	}
}

static void
ew_q_add(struct buf *out, const unsigned char *s, size_t n)
{
	char	e[3];
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ')
			buf_add(out, "_", 1);
		else if (ew_q_literal(s[i]))
			buf_add(out, s + i, 1);
		else {
			e[0] = '=';
			e[1] = mime_hex[s[i] >> 4];
			e[2] = mime_hex[s[i] & 15];
			buf_add(out, e, 3);
		}
	}
}

/*
 * Appends the cleaned UTF-8 text s (n > 0) as encoded words, each on
 * its own line after the first, none over 75 octets and none splitting
 * a UTF-8 sequence.  col is the column the first word starts at;
 * returns the column after the last word.  Adjacent encoded words
 * separated by folding white space decode as one text (RFC 2047 6.2),
 * so nothing is added between them; still, a word ends after a space
 * of the text where one is near, as some decoders (Python's address
 * parser before 3.14, gh-128110) show the fold as a space.
 */
static size_t
hdr_add_words(struct buf *out, size_t col, const char *text, size_t n)
{
	const unsigned char	*s = (const unsigned char *)text;
	size_t			 i = 0, start, l = 1, cost, used, room, brk;
	int			 b64;

	/* B when it is clearly shorter (CJK, emoji...); Q stays readable. */
	b64 = (n + 2) / 3 * 4 * 4 < ew_q_len(s, n) * 3;
	room = MIME_EW_MAX;
	if (col >= MIME_FOLD)
		room = 0;
	else if (col + MIME_EW_MAX > MIME_FOLD)
		room = MIME_FOLD - col;
	if (room < MIME_EW_OVERHEAD + 12) {	/* 12: one 4-byte char */
		buf_adds(out, "\r\n ");
		col = 1;
		room = MIME_EW_MAX;
	}
	while (i < n) {
		start = i;
		used = 0;
		brk = 0;
		while (i < n) {
			if ((l = utf8_seqlen(s + i, n - i)) == 0)
				l = 1;	/* cannot happen after hdr_clean */
			if (b64)
				cost = (i + l - start + 2) / 3 * 4 - used;
			else
				cost = ew_q_len(s + i, l);
			if (used + cost > room - MIME_EW_OVERHEAD)
				break;
			used += cost;
			i += l;
			if (s[i - 1] == ' ')
				brk = i;
		}
		if (i < n && brk != 0 && (brk - start) * 2 >= i - start)
			i = brk;
		if (i == start)		/* cannot happen: room >= 24 */
			i += l;
		if (start > 0) {
			buf_adds(out, "\r\n ");
			col = 1;
		}
		buf_adds(out, b64 ? "=?UTF-8?B?" : "=?UTF-8?Q?");
		if (b64)
			ew_b_add(out, s + start, i - start);
		else
			ew_q_add(out, s + start, i - start);
		buf_adds(out, "?=");
		col += MIME_EW_OVERHEAD + (b64 ?
		    (i - start + 2) / 3 * 4 : ew_q_len(s + start, i - start));
		room = MIME_EW_MAX;
	}
	return col;
}

/*
 * Appends text (cleaned, printable ASCII) folded before a space where a
 * line would pass 78 octets.  Returns the end column, or 0 with nothing
 * appended when a word is too long to fit in 998 octets.
 */
static size_t
hdr_add_folded(struct buf *out, size_t col, const char *s, size_t n)
{
	size_t	i = 0, sp, w, tok, start = out->len;

	while (i < n) {
		for (sp = i; sp < n && s[sp] == ' '; sp++)
			;
		for (w = sp; w < n && s[w] != ' '; w++)
			;
		tok = w - i;
		/* Fold only before a space that a word follows: a line of
		 * white space alone is not allowed. */
		if (sp > i && w > sp && col + tok > MIME_FOLD) {
			buf_adds(out, "\r\n");
			col = 0;
		}
		if (col + tok > MIME_LINE_MAX) {
			out->len = start;
			out->p[start] = '\0';
			return 0;
		}
		buf_add(out, s + i, tok);
		col += tok;
		i = w;
	}
	return col;
}

/* "Name: " with the name reduced to RFC 5322 ftext; returns its length. */
static size_t
hdr_add_name(struct buf *out, const char *name)
{
	size_t		 start = out->len;
	const char	*p;

	for (p = name; *p != '\0'; p++)
		if (*p > 32 && *p < 127 && *p != ':')
			buf_add(out, p, 1);
	buf_adds(out, ": ");
	return out->len - start;
}

/*
 * "Name: value", without the CRLF; returns the end column.  Spaces at
 * either end of the value go: decoders keep or drop them depending on
 * how the line was folded.
 */
static size_t
hdr_add_text(struct buf *out, const char *name, const char *value)
{
	struct buf	 clean = { NULL, 0, 0 };
	const char	*s;
	size_t		 col, namecol, n;

	col = namecol = hdr_add_name(out, name);
	hdr_clean(value != NULL ? value : "", &clean);
	for (s = clean.p, n = clean.len; n > 0 && *s == ' '; s++, n--)
		;
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0)
		;
	else if (hdr_needs_words(s, n) ||
	    (col = hdr_add_folded(out, col, s, n)) == 0)
		col = hdr_add_words(out, namecol, s, n);
	buf_free(&clean);
	return col;
}

void
mime_header(const char *name, const char *value, struct buf *out)
{
	hdr_add_text(out, name, value);
	buf_adds(out, "\r\n");
}

/* RFC 5322 atext: what a dot-atom is made of, besides '.'. */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~",
	    c) != NULL);
}

/* Atoms (atext) with single sep characters between them: 1, else 0. */
static int
is_atoms(const char *s, size_t n, char sep)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (s[i] == sep) {
			if (i + 1 < n && s[i + 1] == sep)
				return 0;
		} else if (!is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* RFC 5322 dot-atom-text of 1..max octets: atext runs joined by dots. */
static int
is_dot_atom(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max || s[0] == '.' || s[n - 1] == '.')
		return 0;
	return is_atoms(s, n, '.');
}

/* Labels of 1..63 letters, digits and '-', no '-' at either end. */
static int
is_host_name(const char *s, size_t n)
{
	size_t	i, start;

	if (n == 0)
		return 0;
	for (start = 0; start <= n; start = i + 1) {
		for (i = start; i < n && s[i] != '.'; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
				return 0;
		if (i == start || i - start > MIME_LABEL_MAX ||
		    s[start] == '-' || s[i - 1] == '-')
			return 0;
	}
	return 1;
}

/* "local@domain" that SMTP and every header parser take as it is. */
static int
addr_valid(const char *s, size_t n)
{
	const char	*at;
	size_t		 local;

	if (n == 0 || n > MIME_ADDR_MAX || (at = memchr(s, '@', n)) == NULL)
		return 0;
	local = at - s;
	return is_dot_atom(s, local, MIME_LOCAL_MAX) &&
	    is_host_name(at + 1, n - local - 1);
}

int
mime_address_valid(const char *s, size_t n)
{
	return addr_valid(s, n);
}

const char *
mime_address_problem(const char *s, size_t n)
{
	const char	*at = memchr(s, '@', n);
	size_t		 i;

	if (addr_valid(s, n))
		return "none";
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return at != NULL && s + i < at ?
			    "a non-ASCII local part needs SMTPUTF8, which "
			    "Fanfare does not send" :
			    "a non-ASCII domain must be given in its ASCII "
			    "(xn--) form";
	return "not a plain local@domain address";
}

/*
 * Runs of spaces made one, none at either end.  A display name's
 * spacing carries nothing, and decoders disagree on keeping it (Python
 * keeps it in a quoted-string, not in an encoded word).
 */
static void
squeeze_spaces(struct buf *b)
{
	size_t	i, o = 0;

	for (i = 0; i < b->len; i++)
		if (b->p[i] != ' ' || (o > 0 && b->p[o - 1] != ' '))
			b->p[o++] = b->p[i];
	if (o > 0 && b->p[o - 1] == ' ')
		o--;
	b->len = o;
	b->p[o] = '\0';
}

/* Does the phrase need quoting: anything but atoms and single spaces? */
static int
phrase_needs_quotes(const char *s, size_t n)
{
	return !is_atoms(s, n, ' ');
}

/* May this word of a display name go as it is next to encoded words? */
static int
phrase_plain_word(const char *s, size_t n)
{
	size_t	i;

	if (n > MIME_EW_MAX || memmem(s, n, "=?", 2) != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_atext((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Appends a display name (cleaned, trimmed, n > 0) that needs encoded
 * words: words that can go as atoms stay readable and only the rest is
 * encoded, in runs.  Every decoder keeps the space between an atom and
 * an encoded word, none keeps a space between two encoded words, and
 * runs of spaces collapse between atoms; so an atom stays plain only
 * with single spaces (or an end) on both sides, and every other space
 * is inside an encoded run.  Returns the end column.
 */
static size_t
hdr_add_phrase(struct buf *out, size_t col, const char *s, size_t n)
{
	size_t	i = 0, w, we, run = n, len;
	int	plain, first = 1;

	while (i < n) {
		for (w = i; w < n && s[w] == ' '; w++)
			;
		for (we = w; we < n && s[we] != ' '; we++)
			;
		plain = (w == 0 || w - i == 1) &&
		    (we == n || (we + 1 < n && s[we + 1] != ' ')) &&
		    phrase_plain_word(s + w, we - w);
		if (!plain && run == n)
			run = w;
		if (plain || we == n) {
			if (run != n) {
				/* The run ends before the space that
				 * separates it from this atom. */
				len = (plain ? i : we) - run;
				if (!first && col + 1 + MIME_EW_OVERHEAD + 12 >
				    MIME_FOLD) {
					buf_adds(out, "\r\n ");
					col = 1;
				} else if (!first) {
					buf_adds(out, " ");
					col++;
				}
				col = hdr_add_words(out, col, s + run, len);
				run = n;
				first = 0;
			}
			if (plain) {
				if (!first && col + 1 + (we - w) > MIME_FOLD) {
					buf_adds(out, "\r\n ");
					col = 1;
				} else if (!first) {
					buf_adds(out, " ");
					col++;
				}
				buf_add(out, s + w, we - w);
				col += we - w;
				first = 0;
			}
		}
		i = we;
	}
	return col;
}

/*
 * Appends "Name: [display ]<addr>" or "Name: addr" for value, which is
 * "Display Name <addr>", "<addr>" or "addr".  -1 when the address is
 * unusable (nothing appended then).
 */
static int
hdr_add_address(struct buf *out, const char *name, const char *value)
{
	struct buf	 disp = { NULL, 0, 0 }, clean = { NULL, 0, 0 };
	const char	*addr, *lt, *end;
	size_t		 alen, dlen, col, i;
	int		 rv = -1;

	if (value == NULL)
		return -1;
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end > value && end[-1] == '>') {
		lt = NULL;
		for (addr = value; addr < end - 1; addr++)
			if (*addr == '<')
				lt = addr;
		if (lt == NULL)
			goto done;
		addr = lt + 1;
		alen = end - 1 - addr;
		buf_add(&disp, value, lt - value);
	} else {
		addr = value;
		while (addr < end && (*addr == ' ' || *addr == '\t'))
			addr++;
		alen = end - addr;
	}
	if (!addr_valid(addr, alen))
		goto done;

	/* The display name, squeezed, without its quotes if it had some. */
	hdr_clean(disp.p != NULL ? disp.p : "", &clean);
	squeeze_spaces(&clean);
	dlen = clean.len;
	buf_reset(&disp);
	buf_add(&disp, "", 0);
	if (dlen >= 2 && clean.p[0] == '"' && clean.p[dlen - 1] == '"') {
		for (i = 1; i < dlen - 1; i++) {
			if (clean.p[i] == '\\' && i + 1 < dlen - 1)
				i++;
			buf_add(&disp, clean.p + i, 1);
		}
		squeeze_spaces(&disp);
	} else
		buf_add(&disp, clean.p, dlen);

	col = hdr_add_name(out, name);
	if (disp.len == 0) {
		buf_add(out, addr, alen);
		rv = 0;
		goto done;
	}
	if (hdr_needs_words(disp.p, disp.len))
		col = hdr_add_phrase(out, col, disp.p, disp.len);
	else {
		buf_reset(&clean);
		if (phrase_needs_quotes(disp.p, disp.len)) {
			buf_add(&clean, "\"", 1);
			for (i = 0; i < disp.len; i++) {
				if (disp.p[i] == '"' || disp.p[i] == '\\')
					buf_add(&clean, "\\", 1);
				buf_add(&clean, disp.p + i, 1);
			}
			buf_add(&clean, "\"", 1);
		} else
			buf_add(&clean, disp.p, disp.len);
		if ((i = hdr_add_folded(out, col, clean.p, clean.len)) != 0)
			col = i;
		else
			col = hdr_add_phrase(out, col, disp.p, disp.len);
	}
	if (col + 1 + alen + 2 > MIME_FOLD)
		buf_adds(out, "\r\n");
	buf_adds(out, " <");
	buf_add(out, addr, alen);
	buf_adds(out, ">");
	rv = 0;
done:
	buf_free(&disp);
	buf_free(&clean);
	return rv;
}

/* Printable ASCII, no space, no '<' or '>': safe between <>. */
static int
angle_safe(const char *s, size_t n, size_t max)
{
	size_t	i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 ||
		    s[i] == '<' || s[i] == '>')
			return 0;
	return 1;
}

/* "<left@right>", both dot-atom-text (RFC 5322 msg-id, no literals). */
static int
msgid_valid(const char *s)
{
	const char	*at;
	size_t		 n = strlen(s);

	if (n < 5 || n - 2 > MIME_MSGID_MAX || s[0] != '<' || s[n - 1] != '>')
		return 0;
	if ((at = memchr(s + 1, '@', n - 2)) == NULL)
		return 0;
	return is_dot_atom(s + 1, at - s - 1, MIME_MSGID_MAX) &&
	    is_dot_atom(at + 1, s + n - 1 - at - 1, MIME_MSGID_MAX);
}

static int
boundary_valid(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > MIME_BOUNDARY_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    strchr("'()+_,-./:=?", s[i]) != NULL))
			return 0;
	return 1;
}

/* RFC 5322 date in UTC, with English names whatever the locale. */
static int
mime_date(time_t t, char *out, size_t len)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
				    "Fri", "Sat" };
	static const char	*months[] = { "Jan", "Feb", "Mar", "Apr",
				    "May", "Jun", "Jul", "Aug", "Sep", "Oct",
				    "Nov", "Dec" };
	struct tm		 tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1900)
		return -1;
	snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* Would s, at the start of a body line, be changed on the way? */
static int
qp_line_start_unsafe(const unsigned char *s, size_t n)
{
	return s[0] == '.' || (n >= 5 && memcmp(s, "From ", 5) == 0);
}

/* Quoted-printable's bytes (GNU range designators, as gcc and clang
 * take them): plain ones stand for themselves, blanks too unless last on
 * their line, all others (kind 0) are encoded. */
enum { QP_ENCODE, QP_PLAIN, QP_BLANK, QP_EOL };
static const unsigned char qp_kind[256] = {
	[33 ... 60] = QP_PLAIN, [62 ... 126] = QP_PLAIN,
	[' '] = QP_BLANK, ['\t'] = QP_BLANK, ['\r'] = QP_EOL, ['\n'] = QP_EOL,
};

void
mime_qp_encode(const char *in, size_t n, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	unsigned char		 c, next;
	char			*o;
	size_t			 i, j, end, col = 0, tok;
	int			 last, lit;

	/* Room for the worst case once (3 octets per byte, plus a soft
	 * break per 25 encoded bytes): the loop then writes directly, as
	 * it runs for every byte of every message. */
	buf_add(out, "", 0);	/* out->p is a string even when n == 0 */
	if (out->cap < out->len + n * 4 + 16) {
		out->cap = out->len + n * 4 + 16;
		out->p = xreallocarray(out->p, out->cap, 1);
	}
	o = out->p + out->len;
	/* c and next are read once each: a store through o (a char *) may
	 * alias s for the compiler, which then reloads s[i] after each. */
	for (i = 0; i < n; i++) {
		/* Most bytes, fast: in mid-line, far from the limit, written
		 * as themselves (white space too when more follows on its
		 * line), exactly as the general case below would. */
		if (col != 0 && col < MIME_QP_LINE - 2) {
			end = i + (MIME_QP_LINE - 2 - col);
			if (end > n - 1)
				end = n - 1;
			for (j = i; j < end && (qp_kind[s[j]] == QP_PLAIN ||
			    (qp_kind[s[j]] == QP_BLANK &&
			    qp_kind[s[j + 1]] != QP_EOL)); j++)
				;
			memcpy(o, s + i, j - i);	/* a scan, then one copy */
			o += j - i;
			col += j - i;
			i = j;
		}
		c = s[i];
		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
			continue;
		}
		/* Last on its line: may use column 76, and white space
		 * there must be encoded or transports may strip it. */
		next = i + 1 < n ? s[i + 1] : '\n';
		last = next == '\r' || next == '\n';
		lit = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !last);
		tok = lit ? 1 : 3;
		if (col + tok > (last ? MIME_QP_LINE : MIME_QP_LINE - 1)) {
			*o++ = '=';
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
		if (col == 0 && lit && qp_line_start_unsafe(s + i, n - i)) {
			lit = 0;	/* see the top */
			tok = 3;
		}
		if (lit)
			*o++ = (char)c;
		else {
			*o++ = '=';
			*o++ = mime_hex[c >> 4];
			*o++ = mime_hex[c & 15];
		}
		col += tok;
	}
	out->len = (size_t)(o - out->p);
	out->p[out->len] = '\0';
}

int
mime_body_encoding(const char *in, size_t n, int allow_8bit)
{
	const unsigned char	*s = (const unsigned char *)in;
	const unsigned char	*p = s, *e = s + n, *nl;
	int			 high = 0;
	size_t			 i, len;

	if (!allow_8bit)
		return MIME_QP;
	/* Line by line: memchr finds the breaks, one pass checks the
	 * octets of each line. */
	while (p < e) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		len = (size_t)(nl - p);
		if (nl < e && len > 0 && p[len - 1] == '\r')
			len--;		/* CRLF; a CR last of all is lone */
		if (len > MIME_LINE_MAX)
			return MIME_QP;
		if (len >= 5 && memcmp(p, "From ", 5) == 0)
			return MIME_QP;
		for (i = 0; i < len; i++) {
			if (p[i] == '\0' || p[i] == '\r')
				return MIME_QP;
			high |= p[i] & 0x80;
		}
		p = nl + 1;
	}
	return high ? MIME_8BIT : MIME_7BIT;
}

/* A 7bit or 8bit part's text (see mime_body_encoding) with every line
 * ending in CRLF: LF alone becomes CRLF. */
static void
mime_body_copy(const char *s, size_t n, struct buf *out)
{
	const char	*p = s, *e = s + n, *nl;

	while (p < e && (nl = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		if (nl > p && nl[-1] == '\r')
			buf_add(out, p, (size_t)(nl + 1 - p));
		else {
			buf_add(out, p, (size_t)(nl - p));
			buf_add(out, "\r\n", 2);
		}
		p = nl + 1;
	}
	buf_add(out, p, (size_t)(e - p));
}

static const char *const mime_cte[] = { "7bit", "8bit", "quoted-printable" };

/* The part's Content-Transfer-Encoding header and its encoded text;
 * returns its encoding. */
static int
mime_add_body(struct buf *out, const char *s, size_t n, int allow_8bit)
{
	int	enc = mime_body_encoding(s, n, allow_8bit);

	buf_addf(out, "Content-Transfer-Encoding: %s\r\n\r\n", mime_cte[enc]);
	if (enc == MIME_QP)
		mime_qp_encode(s, n, out);
	else
		mime_body_copy(s, n, out);
	return enc;
}

/*
 * One part of a multipart: its headers, its text, and the CRLF that
 * belongs to the next delimiter (RFC 2046 5.1.1), so the part decodes
 * to exactly its text, a final line break included.
 */
static int
mime_add_part(struct buf *out, const char *boundary, const char *type,
    const char *s, size_t n, int allow_8bit)
{
	int	enc;

	buf_addf(out, "--%s\r\n"
	    "Content-Type: %s; charset=utf-8\r\n", boundary, type);
	enc = mime_add_body(out, s, n, allow_8bit);
	buf_adds(out, "\r\n");
	return enc;
}

/* How many times "--boundary" occurs in s, anywhere on a line.  One
 * search for the whole delimiter: far fewer steps than stopping at every
 * "--" of an HTML body. */
static size_t
boundary_count(const char *s, size_t n, const char *boundary)
{
	const char	*p = s, *e = s + n;
	char		 delim[2 + MIME_BOUNDARY_MAX + 1];
	size_t		 dlen, count = 0;

	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	while ((p = memmem(p, e - p, delim, dlen)) != NULL) {
		count++;
		p += dlen;
	}
	return count;
}

int
mime_build(const struct mime_msg *m, struct buf *out)
{
	struct buf	 msg = { NULL, 0, 0 };
	char		 date[64];
	const char	*b;
	size_t		 body;
	int		 rv = -1, eightbit;

	if (m == NULL || m->from == NULL || m->to == NULL ||
	    m->subject == NULL || m->message_id == NULL ||
	    m->text == NULL ||
	    (m->html != NULL && (m->boundary == NULL ||
	    !boundary_valid(m->boundary))) ||
	    !msgid_valid(m->message_id) ||
	    mime_date(m->date, date, sizeof(date)) == -1)
		return -1;
	if (m->list_unsubscribe != NULL && !angle_safe(m->list_unsubscribe,
	    strlen(m->list_unsubscribe), MIME_URL_MAX))
		return -1;
	if ((m->list_id != NULL && !angle_safe(m->list_id, strlen(m->list_id),
	    MIME_URL_MAX)) || (m->feedback_id != NULL &&
	    !angle_safe(m->feedback_id, strlen(m->feedback_id), MIME_URL_MAX)))
		return -1;

	buf_addf(&msg, "Date: %s\r\n", date);
	if (hdr_add_address(&msg, "From", m->from) == -1)
		goto done;
	buf_adds(&msg, "\r\n");
	if (hdr_add_address(&msg, "To", m->to) == -1)
		goto done;
	buf_adds(&msg, "\r\n");
	if (m->reply_to != NULL) {
		if (hdr_add_address(&msg, "Reply-To", m->reply_to) == -1)
			goto done;
		buf_adds(&msg, "\r\n");
	}
	mime_header("Subject", m->subject, &msg);
	buf_addf(&msg, "Message-ID: %s\r\n", m->message_id);
	if (m->list_unsubscribe != NULL)
		buf_addf(&msg, "List-Unsubscribe: <%s>\r\n"
		    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
		    m->list_unsubscribe);
	if (m->list_id != NULL)
		buf_addf(&msg, "List-Id: <%s>\r\n", m->list_id);
	if (m->feedback_id != NULL)
		buf_addf(&msg, "Feedback-ID: %s\r\n", m->feedback_id);
	buf_adds(&msg, "MIME-Version: 1.0\r\n");

	if (m->html == NULL) {
		buf_adds(&msg, "Content-Type: text/plain; charset=utf-8\r\n");
		eightbit = mime_add_body(&msg, m->text, m->textlen,
		    m->allow_8bit) == MIME_8BIT;
		if (memcmp(msg.p + msg.len - 2, "\r\n", 2) != 0)
			buf_adds(&msg, "\r\n");
	} else {
		b = m->boundary;
		buf_addf(&msg, "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"%s\"\r\n\r\n", b);
		body = msg.len;
		eightbit = mime_add_part(&msg, b, "text/plain", m->text,
		    m->textlen, m->allow_8bit) == MIME_8BIT;
		if (mime_add_part(&msg, b, "text/html", m->html, m->htmllen,
		    m->allow_8bit) == MIME_8BIT)
			eightbit = 1;
		buf_addf(&msg, "--%s--\r\n", b);
		/* The boundary must occur only as our three delimiters: a
		 * body holding it would be cut there.  The caller retries
		 * with another boundary. */
		if (boundary_count(msg.p + body, msg.len - body, b) != 3)
			goto done;
	}
	buf_add(out, msg.p, msg.len);
	rv = eightbit;
done:
	buf_free(&msg);
	return rv;
}

void
mime_message_id(uint64_t tenant, uint64_t campaign, uint64_t contact,
    const char *domain, char *out, size_t len)
{
	int	n;

	if (len == 0)
		return;
	out[0] = '\0';
	if (domain == NULL || !is_host_name(domain, strlen(domain)))
		return;		/* no id: mime_build refuses an empty one */
	n = snprintf(out, len, "<c.%llu.k.%llu.t.%llu@%s>",
	    (unsigned long long)campaign, (unsigned long long)contact,
	    (unsigned long long)tenant, domain);
	if (n < 0 || (size_t)n >= len)
		out[0] = '\0';	/* a cut id is no id */
}
