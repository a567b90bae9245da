/*
 * test_series.c: series.c's bucket field names, step and time parsing,
 * and the ranges GET /v1/campaigns/ID/timeseries answers or refuses.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"

/* 2026-12-01T19:05:00Z */
#define T0	1796151900ULL

Test(series, field_names)
{
	char	out[SERIES_FIELD_MAX];

	cr_assert_eq(series_field(out, SERIES_OPEN, SERIES_MINUTE, 29935865),
	    10);
	cr_assert_str_eq(out, "o:29935865");
	series_field(out, SERIES_OPEN_MACHINE, SERIES_MINUTE, 7);
	cr_assert_str_eq(out, "om:7");
	series_field(out, SERIES_CLICK, SERIES_HOUR, 498931);
	cr_assert_str_eq(out, "hc:498931");
	series_field(out, SERIES_CLICK_MACHINE, SERIES_HOUR, 0);
	cr_assert_str_eq(out, "hcm:0");
	/* The longest possible name still fits. */
	cr_assert_lt(series_field(out, SERIES_CLICK_MACHINE, SERIES_HOUR,
	    UINT64_MAX), SERIES_FIELD_MAX);
}

Test(series, step)
{
	cr_assert_eq(series_step(NULL), SERIES_MINUTE);
	cr_assert_eq(series_step("minute"), SERIES_MINUTE);
	cr_assert_eq(series_step("hour"), SERIES_HOUR);
	cr_assert_eq(series_step(""), -1);
	cr_assert_eq(series_step("day"), -1);
	cr_assert_eq(series_step("Minute"), -1);
	cr_assert_eq(series_step("minutes"), -1);
}

Test(series, times)
{
	uint64_t	t;

	cr_assert_eq(series_time("2026-12-01T19:05:00Z", &t), 0);
	cr_assert_eq(t, T0);
	cr_assert_eq(series_time("2026-12-01T19:05Z", &t), 0);
	cr_assert_eq(t, T0);
	cr_assert_eq(series_time("1796151900", &t), 0);
	cr_assert_eq(t, T0);
	cr_assert_eq(series_time("0", &t), 0);
	cr_assert_eq(t, 0);
	cr_assert_eq(series_time("1970-01-01T00:00:00Z", &t), 0);
	cr_assert_eq(t, 0);
	cr_assert_eq(series_time("2024-02-29T00:00:00Z", &t), 0);
}

Test(series, bad_times)
{
	static const char *const bad[] = { "", "-1", "1e9", " 1", "1 ",
	    "1234567890123", "2026-12-01", "2026-12-01T19:05:00",
	    "2026-12-01T19:05:00+01:00", "2026-12-01 19:05:00Z",
	    "2026-13-01T19:05:00Z", "2026-00-01T19:05:00Z",
	    "2026-04-31T19:05:00Z", "2025-02-29T00:00:00Z",
	    "2026-12-01T24:00:00Z", "2026-12-01T19:60:00Z",
	    "2026-12-01T19:05:60Z", "1969-12-31T23:59:59Z",
	    "2026-12-01T19:05:0xZ", "2026-12-01T19-05-00Z" };
	uint64_t	t;
	size_t		i;

	for (i = 0; i < FF_NELEM(bad); i++)
		cr_assert_eq(series_time(bad[i], &t), -1, "'%s'", bad[i]);
}

Test(series, default_range_is_the_campaigns_life)
{
	uint64_t	first;
	size_t		count;
	char		err[128];

	/* Launched 10 minutes before now: 11 minute buckets. */
	cr_assert_eq(series_range(SERIES_MINUTE, NULL, NULL, T0 - 600, T0,
	    &first, &count, err, sizeof(err)), 0);
	cr_assert_eq(first, (T0 - 600) / 60);
	cr_assert_eq(count, 11);
	/* Launched a week ago: the last SERIES_MAX_POINTS minutes. */
	cr_assert_eq(series_range(SERIES_MINUTE, NULL, NULL, T0 - 7 * 86400,
	    T0, &first, &count, err, sizeof(err)), 0);
	cr_assert_eq(count, SERIES_MAX_POINTS);
	cr_assert_eq(first + count - 1, T0 / 60);
	/* The same week by the hour fits whole. */
	cr_assert_eq(series_range(SERIES_HOUR, NULL, NULL, T0 - 7 * 86400,
	    T0, &first, &count, err, sizeof(err)), 0);
	cr_assert_eq(count, 7 * 24 + 1);
	/* A clock behind the launch still gives one bucket. */
	cr_assert_eq(series_range(SERIES_MINUTE, NULL, NULL, T0 + 600, T0,
	    &first, &count, err, sizeof(err)), 0);
	cr_assert_eq(count, 1);
	cr_assert_eq(first, T0 / 60);
}

Test(series, explicit_ranges)
{
	uint64_t	first;
	size_t		count;
	char		err[128];

	cr_assert_eq(series_range(SERIES_MINUTE, "2026-12-01T19:00:00Z",
	    "2026-12-01T19:05:30Z", 0, T0, &first, &count, err,
	    sizeof(err)), 0);
	cr_assert_eq(first, (T0 - 300) / 60);
	cr_assert_eq(count, 6);
	/* from alone ends now; to alone starts at the launch. */
	cr_assert_eq(series_range(SERIES_MINUTE, "1796151840", NULL, 0, T0,
	    &first, &count, err, sizeof(err)), 0);
	cr_assert_eq(count, 2);
	cr_assert_eq(series_range(SERIES_HOUR, NULL, "2026-12-01T19:05Z",
	    T0 - 3 * 3600, T0 + 86400, &first, &count, err, sizeof(err)), 0);
	cr_assert_eq(count, 4);
	/* One bucket: from == to. */
	cr_assert_eq(series_range(SERIES_MINUTE, "1796151900", "1796151900",
	    0, T0, &first, &count, err, sizeof(err)), 0);
	cr_assert_eq(count, 1);
	/* Exactly SERIES_MAX_POINTS is allowed. */
	cr_assert_eq(series_range(SERIES_MINUTE, "0", "86399", 0, T0, &first,
	    &count, err, sizeof(err)), 0);
	cr_assert_eq(count, SERIES_MAX_POINTS);
}

Test(series, refused_ranges)
{
	uint64_t	first = 42;
	size_t		count = 42;
	char		err[128];

	cr_assert_eq(series_range(SERIES_MINUTE, "1796151960", "1796151900",
	    0, T0, &first, &count, err, sizeof(err)), -1);
	cr_assert(strstr(err, "after") != NULL, "%s", err);
	cr_assert_eq(series_range(SERIES_MINUTE, "0", "86400", 0, T0, &first,
	    &count, err, sizeof(err)), -1);
	cr_assert(strstr(err, "1441 buckets") != NULL, "%s", err);
	cr_assert_eq(series_range(SERIES_MINUTE, "yesterday", NULL, 0, T0,
	    &first, &count, err, sizeof(err)), -1);
	cr_assert_eq(series_range(SERIES_HOUR, NULL, "2026-12-01", 0, T0,
	    &first, &count, err, sizeof(err)), -1);
	/* A refusal leaves the outputs alone. */
	cr_assert_eq(first, 42);
	cr_assert_eq(count, 42);
}
