/*
 * series.c: the time buckets of a campaign's opens and clicks (pure: no
 * Redis, no clock; unit tested in tests/test_series.c).
 *
 * Buckets live in the hash {t:T:c:C}:ts, one field per kind, step and
 * bucket: "o:M" human opens, "om:M" machine opens, "c:M" human clicks,
 * "cm:M" machine clicks in unix minute M, and the same names with an "h"
 * in front for unix hour H.  The hour fields are kept as well as the
 * minute ones so a range of weeks is one HMGET of at most
 * SERIES_MAX_POINTS buckets, never a scan of every minute.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fanfare.h"

static const char *const kind_names[SERIES_NKINDS] = { "o", "om", "c",
    "cm" };

size_t
series_field(char *out, enum series_kind kind, int step, uint64_t bucket)
{
	int	n;

	n = snprintf(out, SERIES_FIELD_MAX, "%s%s:%llu",
	    step == SERIES_HOUR ? "h" : "", kind_names[kind],
	    (unsigned long long)bucket);
	return n > 0 ? (size_t)n : 0;
}

int
series_step(const char *s)
{
	if (s == NULL || strcmp(s, "minute") == 0)
		return SERIES_MINUTE;
	if (strcmp(s, "hour") == 0)
		return SERIES_HOUR;
	return -1;
}

/* n digits at s as a number; -1 when one is not a digit. */
static int
digits(const char *s, int n)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
series_time(const char *s, uint64_t *secs)
{
	struct tm	tm;
	size_t		len = strlen(s);
	int		year, mon, day, hour, min, sec = 0;
	time_t		t;
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };

	if (len > 0 && len <= 12 && strspn(s, "0123456789") == len)
		return parse_u64(s, len, secs);
	/* YYYY-MM-DDTHH:MMZ or YYYY-MM-DDTHH:MM:SSZ */
	if ((len != 17 && len != 20) || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
	    (s[len - 1] != 'Z' && s[len - 1] != 'z') ||
	    (len == 20 && s[16] != ':'))
		return -1;
	year = digits(s, 4);
	mon = digits(s + 5, 2);
	day = digits(s + 8, 2);
	hour = digits(s + 11, 2);
	min = digits(s + 14, 2);
	if (len == 20)
		sec = digits(s + 17, 2);
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 ||
	    day > mdays[mon - 1] || hour < 0 || hour > 23 || min < 0 ||
	    min > 59 || sec < 0 || sec > 59)
		return -1;
	if (mon == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 ||
	    year % 400 == 0)))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*secs = (uint64_t)t;
	return 0;
}

int
series_range(int step, const char *from, const char *to, uint64_t since,
    uint64_t now, uint64_t *first, size_t *count, char *err, size_t errlen)
{
	uint64_t	f, t, last;

	if (to != NULL) {
		if (series_time(to, &t) == -1)
			goto bad_time;
	} else
		t = now;
	last = t / (uint64_t)step;
	if (from != NULL) {
		if (series_time(from, &f) == -1)
			goto bad_time;
		f /= (uint64_t)step;
	} else {
		/* The campaign's life, or its last SERIES_MAX_POINTS. */
		f = since / (uint64_t)step;
		if (f > last)
			f = last;
		if (last - f >= SERIES_MAX_POINTS)
			f = last - (SERIES_MAX_POINTS - 1);
	}
	if (f > last) {
		snprintf(err, errlen, "from is after to");
		return -1;
	}
	if (last - f >= SERIES_MAX_POINTS) {
		snprintf(err, errlen, "the range holds %llu buckets; at most %d "
		    "(use step=hour, or a shorter range)",
		    (unsigned long long)(last - f + 1), SERIES_MAX_POINTS);
		return -1;
	}
	*first = f;
	*count = (size_t)(last - f + 1);
	return 0;
bad_time:
	snprintf(err, errlen, "from and to are unix seconds or RFC 3339 UTC "
	    "times (2026-12-01T19:05:00Z)");
	return -1;
}
