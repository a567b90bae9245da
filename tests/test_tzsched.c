/*
 * test_tzsched.c: tzsched.c with fixed clocks: the next local time in
 * zones with and without daylight saving, across the changes of March
 * and October (Europe/Berlin), March and November (America/New_York),
 * April (Australia/Sydney, southern hemisphere), and after the zone
 * file's last transition (the POSIX rule); the offsets against glibc's
 * own localtime_r (single-threaded here, so setenv("TZ") is safe); and
 * the schedule fields' parsers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "tzsched.h"

static struct tz_zone	zone;

static const struct tz_zone *
load(const char *name)
{
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, name, strlen(name), &zone), 0,
	    "zone %s", name);
	return &zone;
}

#define HM(h, m)	((h) * 3600 + (m) * 60)

Test(tzsched, berlin_spring_forward)
{
	const struct tz_zone	*z = load("Europe/Berlin");

	/* Sat 2026-03-28 13:00 CET; Sunday 09:00 is CEST: 07:00Z. */
	cr_assert_eq(tz_next_local(z, 1774699200, HM(9, 0)), 1774767600);
	/* 02:30 does not exist on 2026-03-29: 03:30 CEST, 01:30Z. */
	cr_assert_eq(tz_next_local(z, 1774738800, HM(2, 30)), 1774747800);
	cr_assert_eq(tz_offset(z, 1774747800), 7200);
	cr_assert_eq(tz_offset(z, 1774747800 - 3600), 3600);
}

Test(tzsched, berlin_fall_back)
{
	const struct tz_zone	*z = load("Europe/Berlin");

	/* 02:30 comes twice on 2026-10-25: the first, 00:30Z (CEST). */
	cr_assert_eq(tz_next_local(z, 1792879200, HM(2, 30)), 1792888200);
	/* From just after the first, the second one (01:30Z, CET): still
	 * 02:30 on the wall, and not a day later. */
	cr_assert_eq(tz_next_local(z, 1792888201, HM(2, 30)),
	    1792888200 + 3600);
	/* 09:00 that Sunday is CET: 08:00Z. */
	cr_assert_eq(tz_next_local(z, 1792879200, HM(9, 0)), 1792915200);
}

Test(tzsched, new_york)
{
	const struct tz_zone	*z = load("America/New_York");

	/* Sat 2026-03-07 15:00 EST; Sunday 09:00 EDT is 13:00Z. */
	cr_assert_eq(tz_next_local(z, 1772913600, HM(9, 0)), 1772974800);
	/* Sat 2026-10-31 16:00 EDT; Sunday 2026-11-01 09:00 EST, 14:00Z. */
	cr_assert_eq(tz_next_local(z, 1793476800, HM(9, 0)), 1793541600);
}

Test(tzsched, today_tomorrow_and_now)
{
	const struct tz_zone	*z = load("Europe/Berlin");

	/* 2026-06-01 07:00 CEST: 09:00 is today, 07:00Z. */
	cr_assert_eq(tz_next_local(z, 1780290000, HM(9, 0)), 1780297200);
	/* Exactly then: now. */
	cr_assert_eq(tz_next_local(z, 1780297200, HM(9, 0)), 1780297200);
	/* A second later: tomorrow. */
	cr_assert_eq(tz_next_local(z, 1780297201, HM(9, 0)), 1780383600);
	/* Never more than a day ahead on a day of 24 hours. */
	cr_assert_leq(tz_next_local(z, 1780297201, HM(9, 0)) - 1780297201,
	    86400);
}

Test(tzsched, after_the_last_transition)
{
	const struct tz_zone	*z = load("Europe/Berlin");

	/* 2040 is past the file's table (or in it, in a fat file): the
	 * answer is the same either way. 2040-03-25 09:00 CEST. */
	cr_assert_eq(tz_next_local(z, 2216203200, HM(9, 0)), 2216271600);
}

Test(tzsched, southern_hemisphere)
{
	const struct tz_zone	*z = load("Australia/Sydney");

	/* 2026-04-05 03:00 AEDT becomes 02:00 AEST: 11:00 is AEST. */
	cr_assert_eq(tz_next_local(z, 1775304000, HM(11, 0)), 1775350800);
	/* From 2026-04-04 10:00Z (21:00 AEDT), 11:00 Sunday AEST. */
	cr_assert_eq(tz_next_local(z, 1775260800 + 3600, HM(11, 0)),
	    1775350800);
}

Test(tzsched, utc_and_unknown)
{
	struct tz_zone	z;

	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "UTC", 3, &z), 0);
	cr_assert_eq(tz_offset(&z, 1780290000), 0);
	cr_assert_eq(tz_next_local(&z, 1780290000, HM(9, 0)),
	    1780290000 + 4 * 3600);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "Mars/Olympus", 12, &z), -1);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "../../etc/passwd", 16, &z), -1);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "Europe/../UTC", 13, &z), -1);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "/etc/passwd", 11, &z), -1);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "zone.tab", 8, &z), -1);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "Europe", 6, &z), -1);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "", 0, &z), -1);
	cr_assert_eq(tz_load(TZ_DIR_DEFAULT, "Europe/Berlin\0x", 15, &z), -1);
	cr_assert_eq(tz_name_ok("America/Argentina/Buenos_Aires", 30), 1);
	cr_assert_eq(tz_name_ok("Etc/GMT+5", 9), 1);
}

/* Every 5 hours from 2000 to 2050: our offset is glibc's. */
Test(tzsched, offsets_match_glibc)
{
	static const char *const zones[] = { "Europe/Berlin",
	    "America/New_York", "Australia/Sydney", "Asia/Kolkata",
	    "America/Sao_Paulo", "Pacific/Auckland", "Asia/Tokyo",
	    "Europe/London", "America/St_Johns" };
	struct tm	tm;
	time_t		t;
	size_t		i;
	int64_t		s;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		load(zones[i]);
		setenv("TZ", zones[i], 1);
		tzset();
		for (s = 946684800; s < 2524608000; s += 5 * 3600 + 17) {
			t = (time_t)s;
			localtime_r(&t, &tm);
			cr_assert_eq(tz_offset(&zone, s), tm.tm_gmtoff,
			    "%s at %lld", zones[i], (long long)s);
		}
	}
	unsetenv("TZ");
}

Test(tzsched, rfc3339)
{
	uint64_t	ms;

	cr_assert_eq(tz_parse_rfc3339("2026-03-29T07:00:00Z", 20, &ms), 0);
	cr_assert_eq(ms, 1774767600000ULL);
	cr_assert_eq(tz_parse_rfc3339("2026-03-29T09:00:00+02:00", 25, &ms),
	    0);
	cr_assert_eq(ms, 1774767600000ULL);
	cr_assert_eq(tz_parse_rfc3339("2026-03-29T02:00:00.250-05:00", 29,
	    &ms), 0);
	cr_assert_eq(ms, 1774767600250ULL);
	cr_assert_eq(tz_parse_rfc3339("2026-02-29T07:00:00Z", 20, &ms), -1);
	cr_assert_eq(tz_parse_rfc3339("2026-03-29T07:00:00", 19, &ms), -1);
	cr_assert_eq(tz_parse_rfc3339("2026-03-29T07:00:00+0200", 24, &ms),
	    -1);
	cr_assert_eq(tz_parse_rfc3339("2026-03-29T07:00:00.Z", 21, &ms), -1);
	cr_assert_eq(tz_parse_rfc3339("2026-13-29T07:00:00Z", 20, &ms), -1);
	cr_assert_eq(tz_parse_rfc3339("tomorrow", 8, &ms), -1);
}

Test(tzsched, hhmm_and_durations)
{
	uint64_t	ms;
	int		m;

	cr_assert_eq(tz_parse_hhmm("09:00", 5, &m), 0);
	cr_assert_eq(m, 9 * 3600);
	cr_assert_eq(tz_parse_hhmm("23:59", 5, &m), 0);
	cr_assert_eq(m, 86340);
	cr_assert_eq(tz_parse_hhmm("23:59:59", 8, &m), 0);
	cr_assert_eq(m, 86399);
	cr_assert_eq(tz_parse_hhmm("23:59:60", 8, &m), -1);
	cr_assert_eq(tz_parse_hhmm("23:59:5", 7, &m), -1);
	cr_assert_eq(tz_parse_hhmm("24:00", 5, &m), -1);
	cr_assert_eq(tz_parse_hhmm("9:00", 4, &m), -1);
	cr_assert_eq(tz_parse_hhmm("09:60", 5, &m), -1);
	cr_assert_eq(tz_parse_duration("4h", 2, &ms), 0);
	cr_assert_eq(ms, 4 * 3600000ULL);
	cr_assert_eq(tz_parse_duration("3s", 2, &ms), 0);
	cr_assert_eq(ms, 3000);
	cr_assert_eq(tz_parse_duration("15m", 3, &ms), 0);
	cr_assert_eq(tz_parse_duration("2d", 2, &ms), 0);
	cr_assert_eq(ms, 2 * 86400000ULL);
	cr_assert_eq(tz_parse_duration("366d", 4, &ms), -1);
	cr_assert_eq(tz_parse_duration("h", 1, &ms), -1);
	cr_assert_eq(tz_parse_duration("4x", 2, &ms), -1);
	cr_assert_eq(tz_parse_duration("-4h", 3, &ms), -1);
	cr_assert_eq(tz_parse_duration("99999999999h", 12, &ms), -1);
}
