/*
 * test_event.c: event.c's pure core: the type names and the feed's
 * types parameter, the JSON text of each type (valid JSON, the members
 * the contract names, escaping), the cursor's syntax and order, the
 * stable ids, and the reading of the trackers' record lines (store.c's
 * format), bad lines refused.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "fanfare.h"
#include "event.h"

Test(event, type_names_round_trip)
{
	enum event_type	t;
	unsigned	i;

	for (i = 0; i < EVENT_NTYPES; i++) {
		const char *n = event_type_name((enum event_type)i);

		cr_assert_not_null(n);
		cr_assert_eq(event_type_parse(n, strlen(n), &t), 0);
		cr_assert_eq((unsigned)t, i);
	}
	cr_assert_null(event_type_name(EVENT_NTYPES));
	cr_assert_eq(event_type_parse("open", 4, &t), -1);
	cr_assert_eq(event_type_parse("opened", 5, &t), -1);
	cr_assert_eq(event_type_parse("", 0, &t), -1);
}

Test(event, types_parameter)
{
	unsigned	m;

	cr_assert_eq(event_types_parse("", &m), 0);
	cr_assert_eq(m, EVENT_ALL_TYPES);
	cr_assert_eq(event_types_parse("opened", &m), 0);
	cr_assert_eq(m, 1u << EVENT_OPENED);
	cr_assert_eq(event_types_parse("clicked,sent,clicked", &m), 0);
	cr_assert_eq(m, (1u << EVENT_CLICKED) | (1u << EVENT_SENT));
	cr_assert_eq(event_types_parse("opened,", &m), -1);
	cr_assert_eq(event_types_parse(",opened", &m), -1);
	cr_assert_eq(event_types_parse("opened,,sent", &m), -1);
	cr_assert_eq(event_types_parse("opened,nope", &m), -1);
	cr_assert_eq(event_types_parse("OPENED", &m), -1);
	cr_assert_eq(event_types_parse("opened sent", &m), -1);
}

static json_t *
built(const struct event_fields *ev)
{
	char		*text = event_json(ev);
	json_t		*o;
	json_error_t	 e;

	cr_assert_not_null(text);
	o = json_loads(text, 0, &e);
	cr_assert_not_null(o, "%s: %s", text, e.text);
	/* The script puts id and email in front: the text must be an
	 * object with at least one member, no "id" or "email" of its own. */
	cr_assert_eq(text[0], '{');
	cr_assert_neq(text[1], '}');
	cr_assert_null(json_object_get(o, "id"));
	cr_assert_null(json_object_get(o, "email"));
	free(text);
	return o;
}

static const char *
str(json_t *o, const char *name)
{
	json_t	*v = json_object_get(o, name);

	cr_assert(json_is_string(v), "%s is no string", name);
	return json_string_value(v);
}

Test(event, json_of_a_click)
{
	struct event_fields	 ev = { .type = EVENT_CLICKED,
	    .time_ms = 1764769461123ULL, .campaign = 12, .contact = 34,
	    .url = "https://a.example/x?q=\"1\"&b=\\", .machine = 1 };
	json_t		*o = built(&ev);

	cr_assert_str_eq(str(o, "type"), "clicked");
	cr_assert_str_eq(str(o, "time"), "2025-12-03T13:44:21.123Z");
	cr_assert_str_eq(str(o, "campaign"), "12");
	cr_assert_str_eq(str(o, "contact"), "34");
	cr_assert_str_eq(str(o, "url"), "https://a.example/x?q=\"1\"&b=\\");
	cr_assert(json_is_true(json_object_get(o, "machine")));
	cr_assert_null(json_object_get(o, "kind"));
	json_decref(o);
}

Test(event, json_of_a_bounce_and_others)
{
	struct event_fields	 b = { .type = EVENT_BOUNCED, .time_ms = 5,
	    .campaign = 1, .contact = 2, .kind = "soft", .status = "4.2.2",
	    .diagnostic = "452 mailbox full\n" };
	struct event_fields	 u = { .type = EVENT_UNSUBSCRIBED, .time_ms = 0,
	    .campaign = 0, .contact = 0, .reason = "api" };
	struct event_fields	 bad = { .type = EVENT_NTYPES };
	struct event_fields	 latin = { .type = EVENT_BOUNCED,
	    .diagnostic = "caf\xe9" };
	json_t		*o;

	o = built(&b);
	cr_assert_str_eq(str(o, "kind"), "soft");
	cr_assert_str_eq(str(o, "status"), "4.2.2");
	cr_assert_str_eq(str(o, "diagnostic"), "452 mailbox full\n");
	cr_assert_str_eq(str(o, "time"), "1970-01-01T00:00:00.005Z");
	cr_assert_null(json_object_get(o, "machine"));
	json_decref(o);
	o = built(&u);
	cr_assert_str_eq(str(o, "reason"), "api");
	cr_assert(json_is_null(json_object_get(o, "campaign")));
	cr_assert(json_is_null(json_object_get(o, "contact")));
	json_decref(o);
	cr_assert_null(event_json(&bad));
	/* Bytes a remote MTA sent that are no UTF-8: still valid JSON. */
	o = built(&latin);
	cr_assert_str_eq(str(o, "diagnostic"), "");
	json_decref(o);
}

Test(event, cursor_syntax_and_order)
{
	cr_assert(event_cursor_valid("1764769461123-0"));
	cr_assert(event_cursor_valid("0-0"));
	cr_assert(event_cursor_valid("18446744073709551615-18446744073709551615"));
	cr_assert(!event_cursor_valid(""));
	cr_assert(!event_cursor_valid("1764769461123"));
	cr_assert(!event_cursor_valid("-1"));
	cr_assert(!event_cursor_valid("1-"));
	cr_assert(!event_cursor_valid("1-2-3"));
	cr_assert(!event_cursor_valid("a-1"));
	cr_assert(!event_cursor_valid("1-1 "));
	cr_assert(!event_cursor_valid("+"));
	cr_assert(!event_cursor_valid("(1-0"));
	cr_assert(!event_cursor_valid("18446744073709551616-0"));
	cr_assert(!event_cursor_valid("123456789012345678901-0"));
	cr_assert_eq(event_cursor_cmp("1-0", "1-0"), 0);
	cr_assert_eq(event_cursor_cmp("1-1", "1-0"), 1);
	cr_assert_eq(event_cursor_cmp("9-5", "10-0"), -1);
	cr_assert_eq(event_cursor_cmp("x", "1-0"), -1);
}

Test(event, stable_ids)
{
	char	a[EVENT_ID_MAX], b[EVENT_ID_MAX];

	cr_assert_str_eq(event_id_tracked(a, 12, "1764769461123-4", 7),
	    "trk:12:1764769461123-4:7");
	cr_assert_str_eq(event_id_tracked(b, 12, "1764769461123-4", 7), a);
	cr_assert_str_neq(event_id_tracked(b, 12, "1764769461123-4", 8), a);
	cr_assert_str_eq(event_id_send(a, EVENT_SENT, 3, 9), "sent:3:9");
	cr_assert_str_eq(event_id_send(a, EVENT_BOUNCED, 3, 9), "bounce:3:9");
	event_id_tracked(a, UINT64_MAX,
	    "18446744073709551615-18446744073709551615", UINT32_MAX);
	cr_assert_lt(strlen(a), EVENT_ID_MAX);
}

Test(event, record_lines)
{
	struct event_record	r;
	const char		*l;

	l = "1764769461123 o 34 0 FR -";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), 0);
	cr_assert_eq(r.ts_ms, 1764769461123ULL);
	cr_assert_eq(r.type, EVENT_OPENED);
	cr_assert_eq(r.contact, 34);
	cr_assert_eq(r.machine, 0);
	l = "5 c 7 3 -- m";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), 0);
	cr_assert_eq(r.type, EVENT_CLICKED);
	cr_assert_eq(r.link, 3);
	cr_assert_eq(r.machine, 1);
	l = "5 u 7 0 -- -";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), 0);
	cr_assert_eq(r.type, EVENT_UNSUBSCRIBED);
	/* Bad lines: each is refused, none read past its length. */
	cr_assert_eq(event_record_parse("", 0, &r), -1);
	l = "5 x 7 0 -- -";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), -1);
	l = "5 o 7 0 -- q";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), -1);
	l = "5 o 7 0 --";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), -1);
	l = "5 o 7 0 -- - extra";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), -1);
	l = "5 o  7 0 -- -";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), -1);
	l = "5 o 99999999999999999999999 0 -- -";
	cr_assert_eq(event_record_parse(l, strlen(l), &r), -1);
	l = "5 o 7 0 -- -";
	cr_assert_eq(event_record_parse(l, 8, &r), -1);
}

/* The text as jansson writes it (compact, members in order): what the
 * event's text must be byte for byte, whichever way event_json made
 * it (the log's texts keep one form). */
static void
same_as_jansson(const struct event_fields *ev)
{
	char	*text = event_json(ev), *again;
	json_t	*o;

	cr_assert_not_null(text);
	o = json_loads(text, JSON_DECODE_ANY, NULL);
	cr_assert_not_null(o, "%s", text);
	again = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cr_assert_str_eq(text, again);
	json_decref(o);
	free(again);
	free(text);
}

Test(event, json_text_is_janssons)
{
	struct event_fields	 ev[] = {
		{ .type = EVENT_OPENED, .time_ms = 1764769461123ULL,
		    .campaign = 12, .contact = 34 },
		{ .type = EVENT_OPENED, .time_ms = 1, .campaign = 12,
		    .contact = 34, .machine = 1 },
		{ .type = EVENT_CLICKED, .time_ms = 2, .campaign = 1,
		    .contact = 2, .url = "https://a.example/x?y=1&z=%20" },
		{ .type = EVENT_CLICKED, .time_ms = 2, .campaign = 1,
		    .contact = 2, .url = "https://a.example/\"q\"\\",
		    .machine = 1 },
		{ .type = EVENT_CLICKED, .url = "https://a.example/\xc3\xa9/\t" },
		{ .type = EVENT_UNSUBSCRIBED, .campaign = 3, .contact = 4,
		    .reason = "link" },
		{ .type = EVENT_BOUNCED, .campaign = 3, .contact = 4,
		    .kind = "hard", .status = "", .diagnostic = "550 no" },
		{ .type = EVENT_BOUNCED, .kind = "soft", .status = "4.2.2",
		    .diagnostic = "452 \"full\"\r\n\x01" },
		{ .type = EVENT_SUBSCRIBED, .contact = 9 },
	};
	size_t	i;

	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		same_as_jansson(&ev[i]);
}

Test(event, positions)
{
	struct event_pos	p;
	char			text[EVENT_POS_MAX];

	cr_assert_eq(event_pos_parse("1764769461123-0", &p), 0);
	cr_assert_str_eq(p.entry, "1764769461123-0");
	cr_assert_str_eq(p.sub, "");
	cr_assert_str_eq(event_pos_format(text, &p), "1764769461123-0");
	cr_assert_eq(event_pos_parse("5-1@4-2.17", &p), 0);
	cr_assert_str_eq(p.entry, "5-1");
	cr_assert_str_eq(p.sub, "4-2");
	cr_assert_eq(p.line, 17);
	cr_assert_str_eq(event_pos_format(text, &p), "5-1@4-2.17");
	cr_assert_eq(event_pos_parse("18446744073709551615-18446744073709551615"
	    "@18446744073709551615-18446744073709551615.999999999", &p), 0);
	cr_assert_lt(strlen(event_pos_format(text, &p)), EVENT_POS_MAX);
	cr_assert_eq(event_pos_parse("", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@4-2", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@4-2.", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@4-2.x", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@4-2.1.2", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@4-2.1000000000", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@@4-2.1", &p), -1);
	cr_assert_eq(event_pos_parse("(5-1", &p), -1);
	cr_assert_eq(event_pos_parse("5-1@x.1", &p), -1);
}

Test(event, full_text)
{
	char	*t;

	t = event_json_full("trk:1:2-0:3", "a@b.test",
	    "{\"type\":\"opened\"}");
	cr_assert_str_eq(t, "{\"id\":\"trk:1:2-0:3\",\"email\":\"a@b.test\","
	    "\"type\":\"opened\"}");
	free(t);
	t = event_json_full("x", NULL, "{\"type\":\"opened\"}");
	cr_assert_str_eq(t, "{\"id\":\"x\",\"email\":null,\"type\":\"opened\"}");
	free(t);
	t = event_json_full("x", "\"q\"@b.test", "{\"type\":\"opened\"}");
	cr_assert_str_eq(t, "{\"id\":\"x\",\"email\":\"\\\"q\\\"@b.test\","
	    "\"type\":\"opened\"}");
	free(t);
}
