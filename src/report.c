/*
 * report.c: reads a delivery status notification (RFC 3464) or a
 * complaint (RFC 5965, ARF) into a struct report (report.h).
 *
 * Only the shape both RFCs require is accepted: a top-level
 * multipart/report whose report-type names the kind, with a part of
 * type message/delivery-status (or message/global-delivery-status,
 * RFC 6533) or message/feedback-report, whose fields are read as
 * header-like groups.  Anything else is unrecognised, with the reason:
 * a human's reply, an auto-responder or a report we cannot read must
 * never suppress anyone by a guess.
 *
 * One pass over the bytes, no allocation, no recursion: every field is
 * copied into a fixed buffer and truncated there, so the cost is linear
 * in the message, which the listener bounds.
 *
 * An SMTP reply's enhanced status code (report_reply_status, for a 5xx
 * to RCPT at sending time) is read with the same Status syntax.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "report.h"

#define REPORT_FIELD_MAX	1024	/* an unfolded field, truncated */
#define REPORT_BOUNDARY_MAX	70	/* RFC 2046 */
/* Recipient groups of a DSN read at most: ours name one recipient per
 * message; a report of thousands is someone else's, and reading it all
 * would hold the event loop (~1.3 us a group). */
#define REPORT_DSN_MAX_RCPTS	100

struct field {
	char	name[64];
	char	value[REPORT_FIELD_MAX];
};

const char *
report_kind_name(enum report_kind k)
{
	switch (k) {
	case REPORT_HARD:
		return "hard";
	case REPORT_SOFT:
		return "soft";
	case REPORT_COMPLAINT:
		return "complaint";
	default:
		return "unrecognised";
	}
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive equality of NUL-terminated a and b. */
static int
ieq(const char *a, const char *b)
{
	while (*a != '\0' && lower((unsigned char)*a) ==
	    lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* The end of the line at p (its '\n' or end) and where the next begins. */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char	*nl = memchr(p, '\n', (size_t)(end - p));

	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	return nl;
}

/* Line length without its CR. */
static size_t
line_len(const char *p, const char *eol)
{
	if (eol > p && eol[-1] == '\r')
		eol--;
	return (size_t)(eol - p);
}

/* Appends printable ASCII to a bounded buffer: controls and 8-bit bytes
 * become '?', runs of white space one space. */
static void
text_add(char *buf, size_t cap, size_t *at, const char *p, size_t n)
{
	size_t	i;
	int	c;

	for (i = 0; i < n && *at + 1 < cap; i++) {
		c = (unsigned char)p[i];
		if (c == '\t' || c == ' ' || c == '\r' || c == '\n') {
			if (*at == 0 || buf[*at - 1] == ' ')
				continue;
			c = ' ';
		} else if (c < 0x20 || c > 0x7e)
			c = '?';
		buf[(*at)++] = (char)c;
	}
	buf[*at] = '\0';
}

static void
text_trim(char *s)
{
	size_t	n = strlen(s);

	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

/*
 * Reads the header field at *pp (unfolded, truncated) into f and moves
 * *pp past it: 1.  At a blank line or the end: 0, and *pp is past the
 * blank line.  A line with no colon is skipped (not a field).
 */
static int
field_next(const char **pp, const char *end, struct field *f)
{
	const char	*p = *pp, *eol, *next, *colon;
	size_t		 n, at;

	for (;;) {
		if (p >= end) {
			*pp = end;
			return 0;
		}
		eol = line_end(p, end, &next);
		n = line_len(p, eol);
		if (n == 0) {
			*pp = next;
			return 0;
		}
		colon = memchr(p, ':', n);
		if (colon != NULL && colon > p &&
		    (size_t)(colon - p) < sizeof(f->name) &&
		    p[0] != ' ' && p[0] != '\t')
			break;
		p = next;	/* a stray continuation or garbage line */
	}
	memcpy(f->name, p, (size_t)(colon - p));
	f->name[colon - p] = '\0';
	text_trim(f->name);
	at = 0;
	f->value[0] = '\0';
	text_add(f->value, sizeof(f->value), &at, colon + 1,
	    n - (size_t)(colon + 1 - p));
	p = next;
	/* Continuation lines start with white space. */
	while (p < end && (*p == ' ' || *p == '\t')) {
		eol = line_end(p, end, &next);
		text_add(f->value, sizeof(f->value), &at, " ", 1);
		text_add(f->value, sizeof(f->value), &at, p, line_len(p, eol));
		p = next;
	}
	text_trim(f->value);
	*pp = p;
	return 1;
}

/* The media type of a Content-Type value, lowercased, into out. */
static void
ct_type(const char *v, char *out, size_t cap)
{
	size_t	n = 0;

	while (*v == ' ')
		v++;
	while (*v != '\0' && *v != ';' && *v != ' ' && *v != '(' &&
	    n + 1 < cap)
		out[n++] = (char)lower((unsigned char)*v++);
	out[n] = '\0';
}

/* A parameter of a Content-Type value (token or quoted string) into
 * out: 0, or -1 when it is not there or does not fit. */
static int
ct_param(const char *v, const char *name, char *out, size_t cap)
{
	const char	*p = strchr(v, ';');
	size_t		 nlen = strlen(name), n;

	while (p != NULL) {
		p++;
		while (*p == ' ')
			p++;
		if (strncasecmp(p, name, nlen) == 0) {
			const char *q = p + nlen;

			while (*q == ' ')
				q++;
			if (*q == '=') {
				q++;
				while (*q == ' ')
					q++;
				n = 0;
				if (*q == '"') {
					for (q++; *q != '\0' && *q != '"'; q++) {
						if (*q == '\\' && q[1] != '\0')
							q++;
						if (n + 1 >= cap)
							return -1;
						out[n++] = *q;
					}
					if (*q != '"')
						return -1;
				} else {
					while (*q != '\0' && *q != ';' &&
					    *q != ' ') {
						if (n + 1 >= cap)
							return -1;
						out[n++] = *q++;
					}
				}
				out[n] = '\0';
				return n > 0 ? 0 : -1;
			}
		}
		/* Next parameter: skip a quoted value's semicolons. */
		while (*p != '\0' && *p != ';') {
			if (*p == '"') {
				for (p++; *p != '\0' && *p != '"'; p++)
					if (*p == '\\' && p[1] != '\0')
						p++;
				if (*p == '\0')
					break;
			}
			p++;
		}
		p = *p == ';' ? p : NULL;
	}
	return -1;
}

/* "rfc822; user@example.com" -> "user@example.com" (the type before
 * the first ';' dropped), bounded, into out. */
static void
typed_value(const char *v, char *out, size_t cap)
{
	const char	*semi = strchr(v, ';');
	size_t		 at = 0;

	if (semi != NULL)
		v = semi + 1;
	out[0] = '\0';
	text_add(out, cap, &at, v, strlen(v));
	text_trim(out);
}

/* The length of the "5.1.1" that s starts with (class 2, 4 or 5, 1-3
 * digit subject and detail), or 0: at most 9. */
static size_t
status_len(const char *s)
{
	size_t	at = 2, n;
	int	i;

	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	for (i = 0; i < 2; i++) {
		for (n = 0; s[at + n] >= '0' && s[at + n] <= '9'; n++)
			;
		if (n < 1 || n > 3)
			return 0;
		at += n;
		if (i == 0 && s[at++] != '.')
			return 0;
	}
	return at;
}

/* A DSN's Status: the code, then nothing, a space or a comment. */
static int
status_valid(const char *s)
{
	size_t	n = status_len(s);

	return n > 0 && (s[n] == '\0' || s[n] == ' ' || s[n] == '(');
}

void
report_reply_status(int code, const char *text, char out[REPORT_STATUS_MAX])
{
	int	klass = code / 100;
	size_t	n;

	out[0] = '\0';
	if (code < 200 || code > 599 || (klass != 2 && klass != 4 &&
	    klass != 5))
		return;
	if (text != NULL) {
		while (*text == ' ' || *text == '\t')
			text++;
		/* A reply's line may end right after it (libesmtp keeps
		 * the CRLF); "550 4.1.1" is no 5xx's code. */
		n = status_len(text);
		if (n > 0 && text[0] - '0' == klass && (text[n] == '\0' ||
		    strchr(" \t\r\n(", text[n]) != NULL)) {
			snprintf(out, REPORT_STATUS_MAX, "%.*s", (int)n, text);
			return;
		}
	}
	snprintf(out, REPORT_STATUS_MAX, "%d.0.0", klass);
}

static void
unrecognised(struct report *r, const char *why)
{
	memset(r, 0, sizeof(*r));
	r->kind = REPORT_UNRECOGNISED;
	snprintf(r->diagnostic, sizeof(r->diagnostic), "%s", why);
}

/* One per-recipient group of a DSN, as read. */
struct dsn_rcpt {
	char	action[32];
	char	status[REPORT_STATUS_MAX];
	char	diagnostic[REPORT_TEXT_MAX];
	char	recipient[REPORT_TEXT_MAX];
	int	seen;
};

/* How bad a recipient's outcome is: 2 hard, 1 soft, 0 neither. */
static int
dsn_rcpt_rank(const struct dsn_rcpt *d)
{
	if (ieq(d->action, "failed") && d->status[0] == '5')
		return 2;
	if (ieq(d->action, "failed") && d->status[0] == '4')
		return 1;
	if (ieq(d->action, "delayed"))
		return 1;
	return 0;
}

/* The fields of a message/delivery-status part: the per-message group,
 * then per-recipient groups; the worst recipient decides. */
static void
dsn_read(const char *p, const char *end, struct report *r)
{
	struct field	f;
	struct dsn_rcpt	cur, best;
	int		group = 0, rank, best_rank = -1, badstatus = 0;

	memset(&cur, 0, sizeof(cur));
	memset(&best, 0, sizeof(best));
	while (p < end) {
		if (field_next(&p, end, &f) == 0) {
			/* A group ended (the first is per-message). */
			if (group > 0 && cur.seen) {
				rank = dsn_rcpt_rank(&cur);
				if (rank > best_rank) {
					best_rank = rank;
					best = cur;
				}
			}
			if (group == 0 || cur.seen)
				group++;
			if (group > REPORT_DSN_MAX_RCPTS)
				break;
			memset(&cur, 0, sizeof(cur));
			continue;
		}
		if (group == 0)
			continue;	/* Reporting-MTA, Arrival-Date... */
		cur.seen = 1;
		if (ieq(f.name, "Action"))
			typed_value(f.value, cur.action, sizeof(cur.action));
		else if (ieq(f.name, "Status")) {
			snprintf(cur.status, sizeof(cur.status), "%.*s",
			    (int)strcspn(f.value, " ("), f.value);
			if (!status_valid(f.value)) {
				badstatus = 1;
				cur.status[0] = '\0';
			}
		} else if (ieq(f.name, "Diagnostic-Code"))
			typed_value(f.value, cur.diagnostic,
			    sizeof(cur.diagnostic));
		else if (ieq(f.name, "Final-Recipient") ||
		    (ieq(f.name, "Original-Recipient") &&
		    cur.recipient[0] == '\0'))
			typed_value(f.value, cur.recipient,
			    sizeof(cur.recipient));
	}
	if (group > 0 && cur.seen && (rank = dsn_rcpt_rank(&cur)) >
	    best_rank) {
		best_rank = rank;
		best = cur;
	}
	if (best_rank <= 0) {
		unrecognised(r, best_rank < 0 ? (badstatus ?
		    "delivery-status: no valid Status" :
		    "delivery-status: no recipient fields") :
		    "delivery-status: no failed or delayed recipient");
		return;
	}
	memset(r, 0, sizeof(*r));
	r->kind = best_rank == 2 ? REPORT_HARD : REPORT_SOFT;
	memcpy(r->status, best.status, sizeof(r->status));
	memcpy(r->diagnostic, best.diagnostic, sizeof(r->diagnostic));
	memcpy(r->recipient, best.recipient, sizeof(r->recipient));
}

/* The fields of a message/feedback-report part. */
static void
arf_read(const char *p, const char *end, struct report *r)
{
	struct field	f;
	char		type[64] = "", rcpt[REPORT_TEXT_MAX] = "";
	char		why[REPORT_TEXT_MAX];

	/* One group; a blank line ends it. */
	while (field_next(&p, end, &f) == 1) {
		if (ieq(f.name, "Feedback-Type"))
			typed_value(f.value, type, sizeof(type));
		else if (ieq(f.name, "Original-Rcpt-To") && rcpt[0] == '\0')
			typed_value(f.value, rcpt, sizeof(rcpt));
	}
	if (!ieq(type, "abuse")) {
		snprintf(why, sizeof(why), type[0] == '\0' ?
		    "feedback-report: no Feedback-Type" :
		    "feedback-report: Feedback-Type %s is no complaint", type);
		unrecognised(r, why);
		return;
	}
	memset(r, 0, sizeof(*r));
	r->kind = REPORT_COMPLAINT;
	snprintf(r->diagnostic, sizeof(r->diagnostic), "abuse");
	memcpy(r->recipient, rcpt, sizeof(r->recipient));
}

/* 1 when the line [p, p+n) is the delimiter "--B" or the close "--B--"
 * (then *close), with only white space after it. */
static int
is_delimiter(const char *p, size_t n, const char *b, size_t blen, int *close)
{
	size_t	i;

	if (n < 2 + blen || p[0] != '-' || p[1] != '-' ||
	    memcmp(p + 2, b, blen) != 0)
		return 0;
	i = 2 + blen;
	*close = 0;
	if (n - i >= 2 && p[i] == '-' && p[i + 1] == '-') {
		*close = 1;
		i += 2;
	}
	for (; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t')
			return 0;
	return 1;
}

void
report_parse(const char *msg, size_t len, struct report *r)
{
	const char	*p = msg, *end = msg + len, *eol, *next;
	const char	*part = NULL, *body;
	struct field	 f;
	char		 ctype[REPORT_FIELD_MAX] = "", type[64], rtype[64];
	char		 boundary[REPORT_BOUNDARY_MAX + 1], why[REPORT_TEXT_MAX];
	const char	*want;
	size_t		 blen, n;
	int		 dsn, close, found = 0;

	while (field_next(&p, end, &f) == 1)
		if (ieq(f.name, "Content-Type"))
			memcpy(ctype, f.value, sizeof(ctype));
	/* RFC 2045: no Content-Type is text/plain. */
	ct_type(ctype[0] != '\0' ? ctype : "text/plain", type, sizeof(type));
	if (strcmp(type, "multipart/report") != 0) {
		snprintf(why, sizeof(why), "%s is no multipart/report", type);
		unrecognised(r, why);
		return;
	}
	if (ct_param(ctype, "report-type", rtype, sizeof(rtype)) == -1) {
		unrecognised(r, "multipart/report without report-type");
		return;
	}
	if (ieq(rtype, "delivery-status")) {
		dsn = 1;
	} else if (ieq(rtype, "feedback-report")) {
		dsn = 0;
	} else {
		snprintf(why, sizeof(why), "report-type %.64s is neither "
		    "delivery-status nor feedback-report", rtype);
		unrecognised(r, why);
		return;
	}
	if (ct_param(ctype, "boundary", boundary, sizeof(boundary)) == -1) {
		unrecognised(r, "multipart/report without a valid boundary");
		return;
	}
	blen = strlen(boundary);

	/* Each part: from after its delimiter line to the next one. */
	for (; p < end; p = next) {
		eol = line_end(p, end, &next);
		n = line_len(p, eol);
		if (!is_delimiter(p, n, boundary, blen, &close))
			continue;
		if (part != NULL) {
			/* The part's own headers name its type. */
			body = part;
			type[0] = '\0';
			while (field_next(&body, p, &f) == 1)
				if (ieq(f.name, "Content-Type"))
					ct_type(f.value, type, sizeof(type));
			want = dsn ? "message/delivery-status" :
			    "message/feedback-report";
			if (strcmp(type, want) == 0 || (dsn && strcmp(type,
			    "message/global-delivery-status") == 0)) {
				if (dsn)
					dsn_read(body, p, r);
				else
					arf_read(body, p, r);
				found = 1;
				break;
			}
		}
		if (close)
			break;
		part = next;
	}
	if (!found)
		unrecognised(r, dsn ? "no message/delivery-status part "
		    "(truncated?)" : "no message/feedback-report part "
		    "(truncated?)");
}
