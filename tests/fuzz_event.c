/*
 * fuzz_event.c: libFuzzer target for src/event.c, which reads what a
 * tenant puts in GET /v1/events' query (types, cursor) and builds the
 * JSON of events from what strangers send (a remote MTA's diagnostic,
 * a URL).  make fuzz builds it (fuzz/event); make check replays
 * tests/fuzz/event/.
 *
 * The first input byte picks what the rest is:
 *  0: a types parameter: refused, or a mask of known types only, which
 *     the names it holds make again;
 *  1: a cursor: refused, or it compares equal to itself and after
 *     "0-0" unless it is 0-0; and as a position: refused, or its text
 *     made again reads the same and fits;
 *  2: a record line: refused, or its fields written back in store.c's
 *     format read the same;
 *  3: the rest as diagnostic and URL of an event: its JSON parses, is
 *     an object with no "id" or "email".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fanfare.h"
#include "event.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
fuzz_types(const char *s)
{
	unsigned	mask, again;
	char		names[256] = "";
	unsigned	i;

	if (event_types_parse(s, &mask) == -1)
		return;
	CHECK(mask != 0 && (mask & ~EVENT_ALL_TYPES) == 0);
	for (i = 0; i < EVENT_NTYPES; i++)
		if (mask & (1u << i)) {
			if (names[0] != '\0')
				strcat(names, ",");
			strcat(names, event_type_name((enum event_type)i));
		}
	CHECK(event_types_parse(names, &again) == 0 && again == mask);
}

static void
fuzz_cursor(const char *s)
{
	if (!event_cursor_valid(s))
		return;
	CHECK(strlen(s) < EVENT_CURSOR_MAX);
	CHECK(event_cursor_cmp(s, s) == 0);
	CHECK(event_cursor_cmp(s, "0-0") >= 0);
}

static void
fuzz_pos(const char *s)
{
	struct event_pos	p, back;
	char			text[EVENT_POS_MAX];

	if (event_pos_parse(s, &p) == -1)
		return;
	event_pos_format(text, &p);
	CHECK(strlen(text) < EVENT_POS_MAX - 1);
	CHECK(event_pos_parse(text, &back) == 0);
	CHECK(strcmp(back.entry, p.entry) == 0 &&
	    strcmp(back.sub, p.sub) == 0 && back.line == p.line);
	CHECK(event_cursor_valid(p.entry));
	CHECK(p.sub[0] == '\0' || event_cursor_valid(p.sub));
}

static void
fuzz_record(const char *s, size_t len)
{
	struct event_record	r, back;
	char			line[128];
	int			n;

	if (event_record_parse(s, len, &r) == -1)
		return;
	n = snprintf(line, sizeof(line), "%llu %c %llu %llu -- %c",
	    (unsigned long long)r.ts_ms, r.type == EVENT_OPENED ? 'o' :
	    r.type == EVENT_CLICKED ? 'c' : 'u',
	    (unsigned long long)r.contact, (unsigned long long)r.link,
	    r.machine ? 'm' : '-');
	CHECK(n > 0 && (size_t)n < sizeof(line));
	CHECK(event_record_parse(line, (size_t)n, &back) == 0);
	CHECK(back.ts_ms == r.ts_ms && back.type == r.type &&
	    back.contact == r.contact && back.link == r.link &&
	    back.machine == r.machine);
}

static void
fuzz_json(const char *s, size_t len)
{
	struct event_fields	 ev;
	json_t			*o;
	char			*text;

	memset(&ev, 0, sizeof(ev));
	ev.type = (enum event_type)(len % EVENT_NTYPES);
	ev.time_ms = len * 1000003ULL;
	ev.campaign = len;
	ev.contact = len / 2;
	ev.url = s;
	ev.diagnostic = s + len / 2;
	ev.machine = len & 1;
	CHECK((text = event_json(&ev)) != NULL);
	CHECK(text[0] == '{' && text[1] != '}');
	CHECK((o = json_loads(text, 0, NULL)) != NULL && json_is_object(o));
	CHECK(json_object_get(o, "id") == NULL &&
	    json_object_get(o, "email") == NULL);
	json_decref(o);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size < 1 || size > 4096)
		return 0;
	/* NUL-terminated; embedded NULs end the text early. */
	s = malloc(size);
	if (s == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		fuzz_types(s);
		break;
	case 1:
		fuzz_cursor(s);
		fuzz_pos(s);
		break;
	case 2:
		fuzz_record(s, size - 1);
		break;
	default:
		fuzz_json(s, strlen(s));
		break;
	}
	free(s);
	return 0;
}
