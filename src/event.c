/*
 * event.c: the pure core of a tenant's events (event.h): type names,
 * the JSON text of one event, stable ids, the feed's parameters, the
 * trackers' record lines.  No Redis, no HTTP; unit-tested in
 * tests/test_event.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fanfare.h"
#include "event.h"

static const char *const type_names[EVENT_NTYPES] = {
	[EVENT_SENT] = "sent",
	[EVENT_BOUNCED] = "bounced",
	[EVENT_COMPLAINED] = "complained",
	[EVENT_OPENED] = "opened",
	[EVENT_CLICKED] = "clicked",
	[EVENT_UNSUBSCRIBED] = "unsubscribed",
	[EVENT_SUBSCRIBED] = "subscribed",
};

const char *
event_type_name(enum event_type t)
{
	if ((unsigned)t >= EVENT_NTYPES)
		return NULL;
	return type_names[t];
}

int
event_type_parse(const char *s, size_t len, enum event_type *t)
{
	unsigned	i;

	for (i = 0; i < EVENT_NTYPES; i++)
		if (strlen(type_names[i]) == len &&
		    memcmp(type_names[i], s, len) == 0) {
			*t = (enum event_type)i;
			return 0;
		}
	return -1;
}

int
event_types_parse(const char *s, unsigned *mask)
{
	enum event_type	 t;
	size_t		 n;

	*mask = 0;
	if (*s == '\0') {
		*mask = EVENT_ALL_TYPES;
		return 0;
	}
	for (;;) {
		n = strcspn(s, ",");
		if (n == 0 || event_type_parse(s, n, &t) == -1)
			return -1;
		*mask |= 1u << t;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

/* v in exactly w digits at dst (leading zeros). */
static void
put_digits(char *dst, unsigned v, int w)
{
	while (w-- > 0) {
		dst[w] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* RFC 3339 UTC with milliseconds: "2026-12-03T13:54:21.123Z" (len at
 * least 25).  Written digit by digit: strftime and printf were a
 * visible share of the delivery thread's CPU, which makes one per
 * event. */
static void
event_time(char *buf, size_t len, uint64_t ms)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (len < 25 || gmtime_r(&t, &tm) == NULL ||
	    tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		snprintf(buf, len, "1970-01-01T00:00:00.000Z");
		return;
	}
	put_digits(buf, (unsigned)(tm.tm_year + 1900), 4);
	buf[4] = '-';
	put_digits(buf + 5, (unsigned)tm.tm_mon + 1, 2);
	buf[7] = '-';
	put_digits(buf + 8, (unsigned)tm.tm_mday, 2);
	buf[10] = 'T';
	put_digits(buf + 11, (unsigned)tm.tm_hour, 2);
	buf[13] = ':';
	put_digits(buf + 14, (unsigned)tm.tm_min, 2);
	buf[16] = ':';
	put_digits(buf + 17, (unsigned)tm.tm_sec, 2);
	buf[19] = '.';
	put_digits(buf + 20, (unsigned)(ms % 1000), 3);
	buf[23] = 'Z';
	buf[24] = '\0';
}

static json_t *
id_or_null(uint64_t id)
{
	char	s[24];

	if (id == 0)
		return json_null();
	snprintf(s, sizeof(s), "%llu", (unsigned long long)id);
	return json_string(s);
}

/* A member from bytes that may not be UTF-8 (a diagnostic from a
 * remote MTA): jansson refuses those, so they are left out. */
static void
set_text(json_t *o, const char *name, const char *v)
{
	json_t	*s;

	if (v == NULL)
		return;
	if ((s = json_string(v)) == NULL)
		s = json_string("");
	json_object_set_new(o, name, s);
}

/* 1 when s is NULL or JSON text as it is: printable ASCII, no quote or
 * backslash. */
static int
plain(const char *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* ,"name":"ID" or ,"name":null */
static void
add_id(struct buf *b, const char *name, uint64_t id)
{
	char	num[24];

	buf_adds(b, ",\"");
	buf_adds(b, name);
	if (id == 0) {
		buf_add(b, "\":null", 6);
		return;
	}
	buf_add(b, "\":\"", 3);
	buf_add(b, num, fmt_u64(num, id));
	buf_add(b, "\"", 1);
}

static void
add_text(struct buf *b, const char *name, const char *v)
{
	if (v == NULL)
		return;
	buf_adds(b, ",\"");
	buf_adds(b, name);
	buf_add(b, "\":\"", 3);
	buf_adds(b, v);
	buf_add(b, "\"", 1);
}

/*
 * The same text as jansson's below, byte for byte (tests/test_event.c
 * checks), written directly, without printf: the readers of the log
 * make one per open and click, and building and dumping a jansson
 * object, or formatting, each time was a visible share of their CPU.
 * Only for values that need no escaping.
 */
static char *
event_json_plain(const struct event_fields *ev, const char *when)
{
	struct buf	b = { NULL, 0, 0 };

	buf_add(&b, "{\"type\":\"", 9);
	buf_adds(&b, type_names[ev->type]);
	buf_add(&b, "\",\"time\":\"", 10);
	buf_adds(&b, when);
	buf_add(&b, "\"", 1);
	add_id(&b, "campaign", ev->campaign);
	add_id(&b, "contact", ev->contact);
	add_text(&b, "url", ev->url);
	add_text(&b, "kind", ev->kind);
	add_text(&b, "status", ev->status);
	add_text(&b, "diagnostic", ev->diagnostic);
	add_text(&b, "reason", ev->reason);
	if (ev->machine)
		buf_adds(&b, ",\"machine\":true");
	buf_add(&b, "}", 1);
	return b.p;
}

char *
event_json(const struct event_fields *ev)
{
	json_t	*o;
	char	 when[40], *text;

	if (event_type_name(ev->type) == NULL)
		return NULL;
	event_time(when, sizeof(when), ev->time_ms);
	if (plain(ev->url) && plain(ev->kind) && plain(ev->status) &&
	    plain(ev->diagnostic) && plain(ev->reason))
		return event_json_plain(ev, when);
	o = json_object();
	json_object_set_new(o, "type", json_string(type_names[ev->type]));
	json_object_set_new(o, "time", json_string(when));
	json_object_set_new(o, "campaign", id_or_null(ev->campaign));
	json_object_set_new(o, "contact", id_or_null(ev->contact));
	set_text(o, "url", ev->url);
	set_text(o, "kind", ev->kind);
	set_text(o, "status", ev->status);
	set_text(o, "diagnostic", ev->diagnostic);
	set_text(o, "reason", ev->reason);
	if (ev->machine)
		json_object_set_new(o, "machine", json_true());
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}

/* The digits at s, at most max of them, at least one: their count, or
 * 0. */
static size_t
digits(const char *s, size_t max)
{
	size_t	n = strspn(s, "0123456789");

	return n <= max ? n : 0;
}

/* "MS-SEQ", each fitting in 64 bits (Redis refuses more): 0, or
 * -1. */
static int
stream_id(const char *s, uint64_t *ms, uint64_t *seq)
{
	size_t	a, b;

	if ((a = digits(s, 20)) == 0 || s[a] != '-')
		return -1;
	if ((b = digits(s + a + 1, 20)) == 0 || s[a + 1 + b] != '\0')
		return -1;
	if (parse_u64(s, a, ms) == -1 || parse_u64(s + a + 1, b, seq) == -1)
		return -1;
	return 0;
}

int
event_cursor_valid(const char *s)
{
	uint64_t	ms, seq;

	return stream_id(s, &ms, &seq) == 0;
}

static int
u64_cmp(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

int
event_cursor_cmp(const char *a, const char *b)
{
	uint64_t	am, as, bm, bs;
	int		va, vb;

	va = stream_id(a, &am, &as) == 0;
	vb = stream_id(b, &bm, &bs) == 0;
	if (!va || !vb)
		return va - vb;
	if (am != bm)
		return u64_cmp(am, bm);
	return u64_cmp(as, bs);
}

int
event_pos_parse(const char *s, struct event_pos *p)
{
	const char	*at, *dot;
	uint64_t	 ms, seq, line;
	size_t		 len;

	memset(p, 0, sizeof(*p));
	if ((at = strchr(s, '@')) == NULL)
		len = strlen(s);
	else
		len = (size_t)(at - s);
	if (len >= sizeof(p->entry))
		return -1;
	memcpy(p->entry, s, len);
	if (stream_id(p->entry, &ms, &seq) == -1)
		return -1;
	if (at == NULL)
		return 0;
	if ((dot = strchr(at + 1, '.')) == NULL ||
	    (len = (size_t)(dot - at - 1)) >= sizeof(p->sub))
		return -1;
	memcpy(p->sub, at + 1, len);
	if (stream_id(p->sub, &ms, &seq) == -1 ||
	    (len = digits(dot + 1, 9)) == 0 || dot[1 + len] != '\0' ||
	    parse_u64(dot + 1, len, &line) == -1)
		return -1;
	p->line = (unsigned)line;
	return 0;
}

char *
event_pos_format(char *buf, const struct event_pos *p)
{
	if (p->sub[0] == '\0')
		snprintf(buf, EVENT_POS_MAX, "%s", p->entry);
	else
		snprintf(buf, EVENT_POS_MAX, "%s@%s.%u", p->entry, p->sub,
		    p->line);
	return buf;
}

/* s as a JSON string, or null when it is NULL or not UTF-8. */
static void
add_json_string(struct buf *b, const char *s)
{
	json_t	*j;
	char	*e = NULL;

	if (s != NULL && plain(s)) {
		buf_addf(b, "\"%s\"", s);
		return;
	}
	if (s != NULL && (j = json_string(s)) != NULL) {
		e = json_dumps(j, JSON_ENCODE_ANY);
		json_decref(j);
	}
	buf_adds(b, e != NULL ? e : "null");
	free(e);
}

char *
event_json_full(const char *id, const char *email, const char *partial)
{
	struct buf	 b = { NULL, 0, 0 };
	size_t		 il, el, pl;
	char		*t, *p;

	if (plain(id) && email != NULL && plain(email)) {
		/* One allocation: this is made per event read. */
		il = strlen(id);
		el = strlen(email);
		pl = strlen(partial);
		p = t = xmalloc(7 + il + 11 + el + 2 + pl);
		memcpy(p, "{\"id\":\"", 7);
		memcpy(p += 7, id, il);
		memcpy(p += il, "\",\"email\":\"", 11);
		memcpy(p += 11, email, el);
		memcpy(p += el, "\",", 2);
		memcpy(p + 2, partial + 1, pl);	/* its NUL too */
		return t;
	}
	buf_adds(&b, "{\"id\":");
	add_json_string(&b, id);
	buf_adds(&b, ",\"email\":");
	add_json_string(&b, email);
	buf_adds(&b, ",");
	buf_adds(&b, partial + 1);
	return b.p;
}

char *
event_id_tracked(char *buf, uint64_t campaign, const char *entry,
    unsigned line)
{
	/* "trk:" 20 ":" entry ":" 10 in EVENT_ID_MAX (an entry id is at
	 * most 41); no printf: one is made per event read. */
	size_t	n, el = strnlen(entry, EVENT_ID_MAX - 4 - 20 - 1 - 1 - 10 - 1);

	memcpy(buf, "trk:", 4);
	n = 4 + fmt_u64(buf + 4, campaign);
	buf[n++] = ':';
	memcpy(buf + n, entry, el);
	n += el;
	buf[n++] = ':';
	n += fmt_u64(buf + n, line);
	buf[n] = '\0';
	return buf;
}

char *
event_id_send(char *buf, enum event_type t, uint64_t campaign,
    uint64_t contact)
{
	snprintf(buf, EVENT_ID_MAX, "%s:%llu:%llu",
	    t == EVENT_SENT ? "sent" : "bounce",
	    (unsigned long long)campaign, (unsigned long long)contact);
	return buf;
}

/* The decimal number at *p (up to end), then one space: 0, or -1. */
static int
field_u64(const char **p, const char *end, uint64_t *v)
{
	size_t	n = 0;

	while (*p + n < end && (*p)[n] >= '0' && (*p)[n] <= '9')
		n++;
	if (n == 0 || n > 20 || parse_u64(*p, n, v) == -1)
		return -1;
	*p += n;
	if (*p >= end || **p != ' ')
		return -1;
	(*p)++;
	return 0;
}

int
event_record_parse(const char *line, size_t len, struct event_record *r)
{
	const char	*p = line, *end = line + len;

	memset(r, 0, sizeof(*r));
	if (field_u64(&p, end, &r->ts_ms) == -1 || end - p < 2 ||
	    p[1] != ' ')
		return -1;
	switch (p[0]) {
	case 'o':
		r->type = EVENT_OPENED;
		break;
	case 'c':
		r->type = EVENT_CLICKED;
		break;
	case 'u':
		r->type = EVENT_UNSUBSCRIBED;
		break;
	default:
		return -1;
	}
	p += 2;
	if (field_u64(&p, end, &r->contact) == -1 ||
	    field_u64(&p, end, &r->link) == -1)
		return -1;
	/* "CC FLAGS": the country (not an event member), then m or -. */
	if (end - p != 4 || p[2] != ' ' || (p[3] != 'm' && p[3] != '-'))
		return -1;
	r->machine = p[3] == 'm';
	return 0;
}
