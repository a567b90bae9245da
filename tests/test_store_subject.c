/*
 * test_store_subject.c: the pure parts of src/store_subject.c, the
 * reading of a tracking event line ("TIME KIND CONTACT LINK CC FLAG",
 * as record.lua writes them into a campaign's events stream) and of a
 * message record ("TIME OUTCOME", send_outcome.lua's).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "store_subject.h"

Test(subject_event, parse)
{
	struct subject_event	ev;

	cr_assert_eq(subject_event_parse("1700000000123 c 42 3 FR m", &ev), 0);
	cr_expect_eq(ev.time, 1700000000123ULL);
	cr_expect_eq(ev.kind, 'c');
	cr_expect_eq(ev.contact, 42);
	cr_expect_eq(ev.link, 3);
	cr_expect_str_eq(ev.country, "FR");
	cr_expect_eq(ev.machine, 1);
	cr_expect_eq(ev.campaign, 0, "the stream's, not the line's");

	cr_assert_eq(subject_event_parse("5 o 7 0 -- h", &ev), 0);
	cr_expect_eq(ev.kind, 'o');
	cr_expect_str_eq(ev.country, "--");
	cr_expect_eq(ev.machine, 0);
}

Test(subject_event, not_an_event)
{
	struct subject_event	ev;

	cr_expect_eq(subject_event_parse("", &ev), -1);
	cr_expect_eq(subject_event_parse("5 o 7", &ev), -1);
	cr_expect_eq(subject_event_parse("x o 7 0 -- h", &ev), -1);
}

/* A message record's value, as send_outcome.lua writes it into
 * {t:T}:camp:C:msgs: "TIME OUTCOME". */
Test(subject_message, parse)
{
	struct subject_message	m;
	static const struct {
		const char	*value;
		char		 outcome;
	} ok[] = {
		{ "1700000000123 sent", 's' },
		{ "1700000000123 bounced", 'b' },
		{ "1700000000123 failed", 'f' },
		{ "1700000000123 deferred", 't' },
	};
	size_t	i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&m, 0, sizeof(m));
		cr_assert_eq(subject_message_parse(ok[i].value,
		    strlen(ok[i].value), &m), 0, "%s", ok[i].value);
		cr_expect_eq(m.time, 1700000000123ULL);
		cr_expect_eq(m.outcome, ok[i].outcome, "%s", ok[i].value);
		cr_expect_eq(m.campaign, 0, "the key's, not the value's");
	}
}

Test(subject_message, not_a_record)
{
	struct subject_message	m;
	char			long_one[100];

	cr_expect_eq(subject_message_parse("", 0, &m), -1);
	cr_expect_eq(subject_message_parse("17 sent", 2, &m), -1,
	    "length bounds the value, not a NUL");
	cr_expect_eq(subject_message_parse("17 queued", 9, &m), -1);
	cr_expect_eq(subject_message_parse("sent 17", 7, &m), -1);
	memset(long_one, '7', sizeof(long_one));
	cr_expect_eq(subject_message_parse(long_one, sizeof(long_one), &m),
	    -1);
}
