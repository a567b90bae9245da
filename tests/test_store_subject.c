/*
 * test_store_subject.c: the one pure part of src/store_subject.c, the
 * reading of a tracking event line ("TIME KIND CONTACT LINK CC FLAG",
 * as record.lua writes them into a campaign's events stream).
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
