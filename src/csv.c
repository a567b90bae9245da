/*
 * csv.c: RFC 4180 CSV read incrementally, for contact imports streamed
 * from the network in chunks of any size.
 *
 * The parser owns one row buffer and the field tables.  They grow to
 * the longest row seen, never past max_row_bytes + 1 bytes and
 * max_fields entries, and every row reuses them: memory follows the
 * limits, not the file.  A chunk may end anywhere (inside a field,
 * between the two quotes of an escape, between CR and LF, inside the
 * BOM) because all state lives in struct csv and a byte is handled the
 * same way whatever chunk it comes in: the split never changes the rows
 * delivered or the error.
 *
 * The dialect, RFC 4180 plus what spreadsheets send:
 * - fields are separated by ',' and rows end in CRLF or LF; the last
 *   row may lack its line ending (csv_finish() delivers it, and also
 *   takes a lone CR there as the line ending);
 * - a field that starts with '"' is quoted: "" is one quote, and
 *   commas, CR and LF inside are data; only ',' or the line ending may
 *   follow the closing quote;
 * - a '"' inside an unquoted field, or a CR outside quotes that is not
 *   followed by LF, is an error;
 * - a completely empty line (nothing before its CRLF or LF) is skipped
 *   and not counted; a line holding just "" is a row of one empty field;
 * - a UTF-8 BOM at the very start of the input is skipped;
 * - max_row_bytes counts a row's bytes as sent, quotes and commas
 *   included, line ending excluded.
 * Rows are numbered from 1 in delivery order (the header is row 1); an
 * error names the row being read, one past the last row delivered.
 * Errors are sticky: after one, every call returns -1.
 *
 * Fields are handed to the callback NUL-terminated inside the row
 * buffer, valid only during the call; they may hold NUL bytes, so the
 * lengths are what count.  The callback must not call back into the
 * parser.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"

enum csv_state {
	CSV_ROW,	/* a row starts: nothing of it read yet */
	CSV_FIELD,	/* a comma was read: a field starts */
	CSV_BARE,	/* inside an unquoted field */
	CSV_QUOTED,	/* inside a quoted field */
	CSV_QUOTE,	/* a quote inside a quoted field: "" or the end */
	CSV_CR		/* a CR outside quotes: LF must follow */
};

#define CSV_BUF_INIT	1024
#define CSV_FIELDS_INIT	16

struct csv {
	size_t		 max_row;
	size_t		 max_fields;
	enum csv_state	 state;
	int		 failed;
	int		 finished;
	size_t		 bom;		/* BOM bytes matched (and held back) */
	int		 bom_done;	/* past the point where a BOM may be */

	char		*buf;		/* the row's fields, each NUL-ended */
	size_t		 len;
	size_t		 cap;
	size_t		 fstart;	/* offset of the field being read */
	size_t		 rowbytes;	/* raw bytes of the row so far */

	size_t		*offs;		/* per field: offset in buf */
	size_t		*lens;
	char		**fields;	/* filled just before the callback */
	size_t		 nfields;	/* completed fields of the row */
	size_t		 fcap;

	size_t		 rows;		/* rows delivered */
	char		 err[96];
};

static const char csv_bom[] = "\xef\xbb\xbf";

static int	csv_fail(struct csv *, const char *, ...) FF_ATTR_PRINTF(2, 3);

/* Bytes that end a run of unquoted field data. */
static const unsigned char csv_special[256] = {
	['"'] = 1, [','] = 1, ['\r'] = 1, ['\n'] = 1
};

struct csv *
csv_new(size_t max_row_bytes, size_t max_fields)
{
	struct csv	*c;

	c = xcalloc(1, sizeof(*c));
	c->max_row = max_row_bytes;
	c->max_fields = max_fields;
	c->state = CSV_ROW;
	return c;
}

void
csv_free(struct csv *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	free(c->offs);
	free(c->lens);
	free(c->fields);
	free(c);
}

const char *
csv_error(const struct csv *c)
{
	return c->err;
}

static int
csv_fail(struct csv *c, const char *fmt, ...)
{
	va_list	ap;
	size_t	n;

	snprintf(c->err, sizeof(c->err), "row %zu: ", c->rows + 1);
	n = strlen(c->err);
	va_start(ap, fmt);
	vsnprintf(c->err + n, sizeof(c->err) - n, fmt, ap);
	va_end(ap);
	c->failed = 1;
	return -1;
}

/* Accounts for n more raw bytes of the row.  rowbytes never exceeds
 * max_row, which bounds the buffer: the data kept plus one NUL per
 * field is at most the raw bytes plus one. */
static int
csv_count(struct csv *c, size_t n)
{
	if (n > c->max_row - c->rowbytes)
		return csv_fail(c, "row longer than %zu bytes", c->max_row);
	c->rowbytes += n;
	return 0;
}

static void
csv_append(struct csv *c, const char *p, size_t n)
{
	size_t	need, cap, limit;

	need = c->len + n;
	if (need > c->cap) {
		limit = c->max_row < SIZE_MAX ? c->max_row + 1 : SIZE_MAX;
		cap = c->cap ? c->cap : CSV_BUF_INIT;
		while (cap < need && cap <= SIZE_MAX / 2)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		if (cap < need)
			cap = need;
		c->buf = xreallocarray(c->buf, cap, 1);
		c->cap = cap;
	}
	memcpy(c->buf + c->len, p, n);
	c->len = need;
}

static int
csv_end_field(struct csv *c)
{
	size_t	cap;

	if (c->nfields >= c->max_fields)
		return csv_fail(c, "more than %zu fields", c->max_fields);
	if (c->nfields == c->fcap) {
		cap = c->fcap ? c->fcap * 2 : CSV_FIELDS_INIT;
		if (cap > c->max_fields)
			cap = c->max_fields;
		c->offs = xreallocarray(c->offs, cap, sizeof(*c->offs));
		c->lens = xreallocarray(c->lens, cap, sizeof(*c->lens));
		c->fields = xreallocarray(c->fields, cap, sizeof(*c->fields));
		c->fcap = cap;
	}
	c->offs[c->nfields] = c->fstart;
	c->lens[c->nfields] = c->len - c->fstart;
	c->nfields++;
	csv_append(c, "", 1);
	c->fstart = c->len;
	return 0;
}

/* The line ending was read: hand the row over (an empty line has no
 * field) and start the next one in the same memory. */
static int
csv_end_row(struct csv *c, csv_row_cb cb, void *arg)
{
	size_t	i, rowno;
	int	stop = 0;

	c->state = CSV_ROW;
	if (c->nfields > 0) {
		/* Pointers are made now: buf may have moved while the
		 * row grew. */
		for (i = 0; i < c->nfields; i++)
			c->fields[i] = c->buf + c->offs[i];
		rowno = ++c->rows;
		if (cb != NULL)
			stop = cb(arg, rowno, c->fields, c->lens, c->nfields);
		if (stop) {
			snprintf(c->err, sizeof(c->err),
			    "row %zu: stopped by caller", rowno);
			c->failed = 1;
		}
	}
	c->len = c->fstart = c->rowbytes = c->nfields = 0;
	return stop ? -1 : 0;
}

/* Takes the field bytes from *p up to q. */
static int
csv_take(struct csv *c, const char **p, const char *q)
{
	if (q > *p) {
		if (csv_count(c, (size_t)(q - *p)) == -1)
			return -1;
		csv_append(c, *p, (size_t)(q - *p));
		*p = q;
	}
	return 0;
}

/* What may follow a field, bare or quoted: ',' ends it, '\r' or '\n'
 * ends the row too.  1 when ch was one of them, 0 when it was none,
 * -1 on an error. */
static int
csv_after_field(struct csv *c, char ch, csv_row_cb cb, void *arg)
{
	switch (ch) {
	case ',':
		if (csv_count(c, 1) == -1 || csv_end_field(c) == -1)
			return -1;
		c->state = CSV_FIELD;
		return 1;
	case '\r':
		if (csv_end_field(c) == -1)
			return -1;
		c->state = CSV_CR;
		return 1;
	case '\n':
		if (csv_end_field(c) == -1 || csv_end_row(c, cb, arg) == -1)
			return -1;
		return 1;
	}
	return 0;
}

static int
csv_scan(struct csv *c, const char *p, size_t n, csv_row_cb cb, void *arg)
{
	const char	*end = p + n, *q;
	int		 rc;

	while (p < end) {
		switch (c->state) {
		case CSV_ROW:
		case CSV_FIELD:
			if (*p == '"') {
				if (csv_count(c, 1) == -1)
					return -1;
				p++;
				c->state = CSV_QUOTED;
			} else if (c->state == CSV_ROW && *p == '\r') {
				p++;
				c->state = CSV_CR;
			} else if (c->state == CSV_ROW && *p == '\n') {
				p++;		/* an empty line */
			} else
				c->state = CSV_BARE;
			break;
		case CSV_BARE:
			for (q = p; q < end && !csv_special[(unsigned char)*q];
			    q++)
				;
			if (csv_take(c, &p, q) == -1)
				return -1;
			if (p == end)
				break;
			if (*p == '"')
				return csv_fail(c,
				    "bare quote in unquoted field");
			if (csv_after_field(c, *p++, cb, arg) == -1)
				return -1;
			break;
		case CSV_QUOTED:
			if ((q = memchr(p, '"', end - p)) == NULL)
				q = end;
			if (csv_take(c, &p, q) == -1)
				return -1;
			if (p == end)
				break;
			if (csv_count(c, 1) == -1)
				return -1;
			p++;
			c->state = CSV_QUOTE;
			break;
		case CSV_QUOTE:
			if (*p == '"') {
				if (csv_count(c, 1) == -1)
					return -1;
				csv_append(c, "\"", 1);
				c->state = CSV_QUOTED;
				p++;
				break;
			}
			if ((rc = csv_after_field(c, *p++, cb, arg)) == -1)
				return -1;
			if (rc == 0)
				return csv_fail(c,
				    "unexpected character after closing quote");
			break;
		case CSV_CR:
			if (*p != '\n')
				return csv_fail(c, "CR not followed by LF");
			p++;
			if (csv_end_row(c, cb, arg) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

int
csv_feed(struct csv *c, const char *p, size_t n, csv_row_cb cb, void *arg)
{
	if (c->failed)
		return -1;
	if (n == 0)
		return 0;
	if (c->finished)
		return csv_fail(c, "data after the end of input");

	/* The BOM may itself be split across chunks: its bytes are held
	 * until it is complete or proves not to be one. */
	while (!c->bom_done && n > 0) {
		if ((unsigned char)*p != (unsigned char)csv_bom[c->bom]) {
			c->bom_done = 1;
			if (csv_scan(c, csv_bom, c->bom, cb, arg) == -1)
				return -1;
			break;
		}
		p++;
		n--;
		if (++c->bom == 3)
			c->bom_done = 1;
	}
	return csv_scan(c, p, n, cb, arg);
}

int
csv_finish(struct csv *c, csv_row_cb cb, void *arg)
{
	if (c->failed)
		return -1;
	if (c->finished)
		return 0;
	c->finished = 1;
	if (!c->bom_done) {
		c->bom_done = 1;
		if (csv_scan(c, csv_bom, c->bom, cb, arg) == -1)
			return -1;
	}
	switch (c->state) {
	case CSV_ROW:
		return 0;
	case CSV_QUOTED:
		return csv_fail(c, "unterminated quoted field");
	case CSV_CR:
		break;			/* the field ended at the CR */
	case CSV_FIELD:
	case CSV_BARE:
	case CSV_QUOTE:
		if (csv_end_field(c) == -1)
			return -1;
		break;
	}
	return csv_end_row(c, cb, arg);
}
