/*
 * tzsched.c: time zones and schedule times (tzsched.h), pure: bytes and
 * a caller's "now" in, times out; unit tested in tests/test_tzsched.c,
 * fuzzed in tests/fuzz_tzsched.c (a tenant names the zone and sends the
 * times; the zone files are the system's).
 *
 * Why a TZif reader of our own rather than setenv("TZ") + localtime_r:
 * the senders, the API workers and libraries (libesmtp, OpenSSL) run on
 * several threads, and setenv while another thread calls getenv or
 * localtime is undefined behaviour in glibc (environ may be moved under
 * the reader); a mutex of ours would not cover the libraries' calls.
 * A zone is a few kilobytes of transitions and one POSIX rule for the
 * times after them: reading it is 200 lines with no global state, and
 * the tests can feed it any "now".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tzsched.h"

#define DAY	86400

/* ------------------------------------------------------------ calendar */

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* The year of a day number. */
static int64_t
year_of_day(int64_t z)
{
	int64_t		era, doe, yoe, y, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return y + (mp >= 10);
}

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
month_days(int64_t y, int m)
{
	static const int	n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

/* The day number a rule date falls on in year y. */
static int64_t
rule_day(const struct tz_rule_date *r, int64_t y)
{
	int64_t		first;
	int		wd1, mday;

	switch (r->kind) {
	case 'J':	/* 1..365, Feb 29 never counted */
		return days_from_civil(y, 1, 1) + r->day - 1 +
		    (is_leap(y) && r->day >= 60);
	case 'D':
		return days_from_civil(y, 1, 1) + r->day;
	default:
		first = days_from_civil(y, r->month, 1);
		wd1 = (int)((first % 7 + 7 + 4) % 7);	/* 1970-01-01: Thu */
		mday = 1 + (r->wday - wd1 + 7) % 7 + (r->week - 1) * 7;
		while (mday > month_days(y, r->month))
			mday -= 7;
		return first + mday - 1;
	}
}

/* ------------------------------------------------------- POSIX TZ rule */

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536's extension). */
static const char *
rule_time(const char *p, const char *end, int32_t *secs)
{
	int	sign = 1, part = 0, v[3] = { 0, 0, 0 }, digits;

	if (p < end && (*p == '+' || *p == '-'))
		sign = *p++ == '-' ? -1 : 1;
	for (;;) {
		for (digits = 0; p < end && *p >= '0' && *p <= '9' &&
		    digits < 3; p++, digits++)
			v[part] = v[part] * 10 + (*p - '0');
		if (digits == 0 || v[0] > 167 || v[1] > 59 || v[2] > 59)
			return NULL;
		if (part == 2 || p == end || *p != ':')
			break;
		p++;
		part++;
	}
	*secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

/* A zone abbreviation: letters, or <...> of letters, digits, + and -. */
static const char *
rule_name(const char *p, const char *end)
{
	const char	*s = p;

	if (p < end && *p == '<') {
		for (p++; p < end && *p != '>'; p++)
			;
		return p < end && p - s >= 4 ? p + 1 : NULL;
	}
	while (p < end && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
	    *p <= 'z')))
		p++;
	return p - s >= 3 ? p : NULL;
}

static const char *
rule_date(const char *p, const char *end, struct tz_rule_date *d)
{
	long	v[3] = { 0, 0, 0 };
	int	i;

	d->secs = 7200;		/* 02:00 unless said */
	if (p < end && *p == 'M') {
		d->kind = 'M';
		p++;
		for (i = 0; i < 3; i++) {
			if (p == end || *p < '0' || *p > '9')
				return NULL;
			for (; p < end && *p >= '0' && *p <= '9' && v[i] < 100;
			    p++)
				v[i] = v[i] * 10 + (*p - '0');
			if (i < 2 && (p == end || *p++ != '.'))
				return NULL;
		}
		if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6)
			return NULL;
		d->month = (int)v[0];
		d->week = (int)v[1];
		d->wday = (int)v[2];
	} else {
		d->kind = 'D';
		if (p < end && *p == 'J') {
			d->kind = 'J';
			p++;
		}
		if (p == end || *p < '0' || *p > '9')
			return NULL;
		for (; p < end && *p >= '0' && *p <= '9' && v[0] < 1000; p++)
			v[0] = v[0] * 10 + (*p - '0');
		if ((d->kind == 'J' && (v[0] < 1 || v[0] > 365)) || v[0] > 365)
			return NULL;
		d->day = (int)v[0];
	}
	if (p < end && *p == '/')
		p = rule_time(p + 1, end, &d->secs);
	return p;
}

/* "STDoff[DST[off][,start[/t],end[/t]]]"; 0 or -1. */
static int
rule_parse(const char *p, const char *end, struct tz_zone *z)
{
	int32_t	secs;

	if ((p = rule_name(p, end)) == NULL ||
	    (p = rule_time(p, end, &secs)) == NULL || secs < -93599 ||
	    secs > 89999)
		return -1;
	z->std_off = -secs;		/* POSIX counts west */
	z->dst_off = z->std_off + 3600;
	z->has_dst = 0;
	if (p < end) {
		if ((p = rule_name(p, end)) == NULL)
			return -1;
		z->has_dst = 1;
		if (p < end && *p != ',') {
			if ((p = rule_time(p, end, &secs)) == NULL ||
			    secs < -93599 || secs > 89999)
				return -1;
			z->dst_off = -secs;
		}
		/* No dates: the US rules of 2007 (POSIX's default). */
		z->start = (struct tz_rule_date){ 'M', 3, 2, 0, 0, 7200 };
		z->end = (struct tz_rule_date){ 'M', 11, 1, 0, 0, 7200 };
		if (p < end) {
			if (*p != ',' ||
			    (p = rule_date(p + 1, end, &z->start)) == NULL ||
			    p == end || *p != ',' ||
			    (p = rule_date(p + 1, end, &z->end)) == NULL)
				return -1;
		}
	}
	if (p != end)
		return -1;
	z->has_rule = 1;
	return 0;
}

static int32_t
rule_offset(const struct tz_zone *z, int64_t t)
{
	int64_t		y, s, e;
	int		dst;

	if (!z->has_dst)
		return z->std_off;
	y = year_of_day(floor_div(t + z->std_off, DAY));
	/* The change to summer time is said in standard time, back in
	 * summer time. */
	s = rule_day(&z->start, y) * DAY + z->start.secs - z->std_off;
	e = rule_day(&z->end, y) * DAY + z->end.secs - z->dst_off;
	if (s < e)
		dst = t >= s && t < e;
	else		/* southern hemisphere: summer spans the new year */
		dst = !(t >= e && t < s);
	return dst ? z->dst_off : z->std_off;
}

/* ---------------------------------------------------------------- TZif */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	uint32_t	isut, isstd, leap, time, type, chars;
};

static int
tzif_header(const unsigned char *p, size_t left, struct tzif_counts *c)
{
	if (left < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	if (c->time > TZ_MAX_TRANSITIONS || c->type == 0 ||
	    c->type > TZ_MAX_TYPES || c->leap > 10000 || c->chars > 10000 ||
	    c->isut > c->type || c->isstd > c->type)
		return -1;
	return 0;
}

static size_t
tzif_body(const struct tzif_counts *c, size_t tsize)
{
	return c->time * tsize + c->time + c->type * 6 + c->chars +
	    c->leap * (tsize + 4) + c->isstd + c->isut;
}

int
tz_parse(const unsigned char *buf, size_t len, struct tz_zone *z)
{
	struct tzif_counts	 c;
	const unsigned char	*p = buf, *types, *nl;
	size_t			 i, body, tsize = 4;
	int			 v2;

	memset(z, 0, sizeof(*z));
	if (tzif_header(p, len, &c) == -1)
		return -1;
	v2 = p[4] >= '2';
	body = tzif_body(&c, 4);
	if (len - 44 < body)
		return -1;
	if (v2) {
		/* Skip the 32-bit block: the 64-bit one follows. */
		p += 44 + body;
		if (tzif_header(p, len - (size_t)(p - buf), &c) == -1)
			return -1;
		tsize = 8;
		body = tzif_body(&c, 8);
		if ((size_t)(buf + len - p) - 44 < body)
			return -1;
	}
	p += 44;
	z->ntrans = c.time;
	z->ntypes = c.type;
	for (i = 0; i < c.time; i++)
		z->at[i] = tsize == 8 ? be64(p + i * 8) :
		    (int64_t)(int32_t)be32(p + i * 4);
	types = p + c.time * tsize;
	for (i = 0; i < c.time; i++) {
		if (types[i] >= c.type)
			return -1;
		z->type[i] = types[i];
		if (i > 0 && z->at[i] <= z->at[i - 1])
			return -1;
	}
	p = types + c.time;
	for (i = 0; i < c.type; i++) {
		z->utoff[i] = (int32_t)be32(p + i * 6);
		if (z->utoff[i] < -89999 || z->utoff[i] > 93599)
			return -1;
	}
	p += body - c.time * tsize - c.time;
	if (v2 && p < buf + len && *p == '\n') {
		p++;
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			return -1;
		/* An empty footer: no rule, the last transition holds. */
		if (nl > p && rule_parse((const char *)p, (const char *)nl,
		    z) == -1)
			return -1;
	}
	return 0;
}

int
tz_name_ok(const char *name, size_t len)
{
	size_t	i;

	if (len == 0 || len > TZ_NAME_MAX || name[0] == '/' || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' &&
		    name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		    strchr("_+-/", name[i]) != NULL) || name[i] == '\0')
			return 0;
		if (name[i] == '/' && (i + 1 == len || name[i + 1] == '/' ||
		    name[i + 1] == '.'))
			return 0;
	}
	return 1;
}

int
tz_load(const char *dir, const char *name, size_t len, struct tz_zone *z)
{
	unsigned char	*buf;
	char		 path[512];
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd, rc = -1;

	if (!tz_name_ok(name, len))
		return -1;
	if ((len == 3 && memcmp(name, "UTC", 3) == 0) ||
	    (len == 7 && memcmp(name, "Etc/UTC", 7) == 0)) {
		memset(z, 0, sizeof(*z));
		z->ntypes = 1;
		return 0;
	}
	if (snprintf(path, sizeof(path), "%s/%.*s", dir, (int)len, name) >=
	    (int)sizeof(path))
		return -1;
	/* tz_name_ok keeps it under dir; the zone links (US/Eastern...)
	 * are symbolic links there, so they are followed. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((buf = malloc(TZ_FILE_MAX)) == NULL) {
		close(fd);
		return -1;
	}
	while (got < TZ_FILE_MAX && (n = read(fd, buf + got,
	    TZ_FILE_MAX - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (got < TZ_FILE_MAX)
		rc = tz_parse(buf, got, z);
	free(buf);
	return rc;
}

int
tz_exists(const char *dir, const char *name, size_t len)
{
	char	path[512], magic[4];
	int	fd, ok;

	if (!tz_name_ok(name, len))
		return 0;
	if ((len == 3 && memcmp(name, "UTC", 3) == 0) ||
	    (len == 7 && memcmp(name, "Etc/UTC", 7) == 0))
		return 1;
	if (snprintf(path, sizeof(path), "%s/%.*s", dir, (int)len, name) >=
	    (int)sizeof(path) || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	ok = read(fd, magic, 4) == 4 && memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

int32_t
tz_offset(const struct tz_zone *z, int64_t t)
{
	size_t	lo = 0, hi = z->ntrans, mid;

	if (z->ntrans == 0 || t < z->at[0]) {
		if (z->ntrans == 0 && z->has_rule)
			return rule_offset(z, t);
		return z->ntypes ? z->utoff[0] : 0;
	}
	if (t >= z->at[z->ntrans - 1] && z->has_rule)
		return rule_offset(z, t);
	while (hi - lo > 1) {		/* the last transition <= t */
		mid = (lo + hi) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->utoff[z->type[lo]];
}

/* The unix times whose wall clock reads wall (seconds since the local
 * epoch), earlier first: two when the clocks pass it twice, one when
 * once, and when they jump over it the moment as far past the jump as
 * it was past the jump's start (the offset before the jump). */
static size_t
wall_to_unix(const struct tz_zone *z, int64_t wall, int64_t out[2])
{
	int32_t		before = tz_offset(z, wall - DAY);
	int32_t		after = tz_offset(z, wall + DAY);
	int64_t		a = wall - before, b = wall - after;
	size_t		n = 0;

	if (tz_offset(z, a) == before)
		out[n++] = a;
	if (before != after && tz_offset(z, b) == after)
		out[n++] = b;
	if (n == 2 && out[1] < out[0]) {
		out[1] = a;
		out[0] = b;
	}
	if (n == 0)
		out[n++] = a;
	return n;
}

int64_t
tz_next_local(const struct tz_zone *z, int64_t now, int second_of_day)
{
	int64_t		day, t[2];
	size_t		n, j;
	int		i;

	day = floor_div(now + tz_offset(z, now), DAY);
	for (i = -1; i < 3; i++) {
		n = wall_to_unix(z, (day + i) * DAY + second_of_day, t);
		for (j = 0; j < n; j++)
			if (t[j] >= now)
				return t[j];
	}
	return now;	/* not reached with a sane zone */
}

/* ------------------------------------------------------------ parsers */

static int
num(const char *s, int n)
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
tz_parse_rfc3339(const char *s, size_t len, uint64_t *ms)
{
	int		year, mon, day, hour, min, sec, oh, om, sign;
	size_t		i = 19;
	int64_t		t, frac = 0, scale = 1000;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' &&
	    s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return -1;
	if ((year = num(s, 4)) < 1970 || (mon = num(s + 5, 2)) < 1 ||
	    mon > 12 || (day = num(s + 8, 2)) < 1 ||
	    day > month_days(year, mon) || (hour = num(s + 11, 2)) < 0 ||
	    hour > 23 || (min = num(s + 14, 2)) < 0 || min > 59 ||
	    (sec = num(s + 17, 2)) < 0 || sec > 60)
		return -1;
	if (sec == 60)
		sec = 59;		/* a leap second: its last whole one */
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (scale > 1) {
				scale /= 10;
				frac += (s[i] - '0') * scale;
			}
		if (s[i - 1] == '.')
			return -1;
	}
	t = (days_from_civil(year, mon, day) * DAY + hour * 3600 + min * 60 +
	    sec) * 1000 + frac;
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
		*ms = (uint64_t)t;
		return 0;
	}
	if (i + 6 != len || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' ||
	    (oh = num(s + i + 1, 2)) < 0 || oh > 23 ||
	    (om = num(s + i + 4, 2)) < 0 || om > 59)
		return -1;
	sign = s[i] == '-' ? -1 : 1;
	t -= sign * (int64_t)(oh * 3600 + om * 60) * 1000;
	if (t < 0)
		return -1;
	*ms = (uint64_t)t;
	return 0;
}

int
tz_parse_hhmm(const char *s, size_t len, int *second_of_day)
{
	int	h, m, sec = 0;

	if ((len != 5 && len != 8) || s[2] != ':' || (h = num(s, 2)) < 0 ||
	    h > 23 || (m = num(s + 3, 2)) < 0 || m > 59)
		return -1;
	if (len == 8 && (s[5] != ':' || (sec = num(s + 6, 2)) < 0 ||
	    sec > 59))
		return -1;
	*second_of_day = h * 3600 + m * 60 + sec;
	return 0;
}

int
tz_parse_duration(const char *s, size_t len, uint64_t *ms)
{
	uint64_t	v = 0, unit;
	size_t		i;

	if (len < 2 || len > 12)
		return -1;
	for (i = 0; i + 1 < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	switch (s[len - 1]) {
	case 's':
		unit = 1000;
		break;
	case 'm':
		unit = 60000;
		break;
	case 'h':
		unit = 3600000;
		break;
	case 'd':
		unit = 86400000;
		break;
	default:
		return -1;
	}
	if (v > 365ULL * 86400000 / unit)
		return -1;
	*ms = v * unit;
	return 0;
}
