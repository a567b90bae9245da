/*
 * tzsched.h: time zones and schedule times, pure (tzsched.c): a small
 * reader of the system's compiled zoneinfo (TZif, RFC 8536), the next
 * wall-clock time of a zone after a given "now", and the parsers of the
 * schedule fields a tenant sends (RFC 3339 times, "HH:MM", durations).
 *
 * Nothing here reads a clock or an environment variable: the caller
 * passes "now", so the unit tests run with fixed clocks.
 */
#ifndef FANFARE_TZSCHED_H
#define FANFARE_TZSCHED_H

#include <stddef.h>
#include <stdint.h>

#define TZ_NAME_MAX		64	/* an IANA name, NUL excluded */
#define TZ_MAX_TRANSITIONS	2400
#define TZ_MAX_TYPES		64
#define TZ_FILE_MAX		(128 * 1024)
#define TZ_DIR_DEFAULT		"/usr/share/zoneinfo"

/* A POSIX TZ rule date: Mm.w.d, Jn (1..365, no Feb 29) or n (0..365). */
struct tz_rule_date {
	char		kind;		/* 'M', 'J' or 'D' */
	int		month, week, wday, day;
	int32_t		secs;		/* local time of the change */
};

/* A zone: its transitions, and the footer's rule for times after the
 * last one.  Plain data: copy it, no _free. */
struct tz_zone {
	size_t		ntrans;
	int64_t		at[TZ_MAX_TRANSITIONS];
	uint8_t		type[TZ_MAX_TRANSITIONS];
	size_t		ntypes;
	int32_t		utoff[TZ_MAX_TYPES];	/* seconds east of UTC */
	int		has_rule;		/* the footer said something */
	int32_t		std_off, dst_off;	/* east of UTC */
	int		has_dst;
	struct tz_rule_date start, end;
};

/* Whether name may name a zone file: letters, digits, "_+-/", no ".."
 * nor a leading '/' or '.', at most TZ_NAME_MAX bytes. */
int	 tz_name_ok(const char *name, size_t len);
/* Parses a TZif file's bytes into z: 0, or -1 when they are not one. */
int	 tz_parse(const unsigned char *buf, size_t len, struct tz_zone *z);
/* Reads dir/name (tz_name_ok first): 0, or -1 when there is no such
 * zone.  "UTC" and "Etc/UTC" work without a file. */
int	 tz_load(const char *dir, const char *name, size_t len,
	    struct tz_zone *z);
/* Whether dir/name is a zone file (tz_name_ok, then its magic): the
 * contacts API's check, cheaper than tz_load for a big import. */
int	 tz_exists(const char *dir, const char *name, size_t len);
/* The zone's offset east of UTC at unix time t (seconds). */
int32_t	 tz_offset(const struct tz_zone *, int64_t t);
/*
 * The first unix time >= now at which the zone's wall clock reads
 * second_of_day (0..86399, hh * 3600 + mm * 60 + ss): within the next
 * 24 hours, 25
 * on a day the clocks go back.  A wall time the clocks skip (spring
 * forward) is taken as that moment after the gap (02:30 → 03:30); one
 * they pass twice (fall back) is its first instance.
 */
int64_t	 tz_next_local(const struct tz_zone *, int64_t now,
	    int second_of_day);

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" into unix ms: 0 or -1. */
int	 tz_parse_rfc3339(const char *s, size_t len, uint64_t *ms);
/* "HH:MM" (00:00 to 23:59) or "HH:MM:SS" into a second of the day: 0
 * or -1. */
int	 tz_parse_hhmm(const char *s, size_t len, int *second_of_day);
/* "90s", "15m", "4h", "2d" into ms (at most 365 days): 0 or -1. */
int	 tz_parse_duration(const char *s, size_t len, uint64_t *ms);

#endif
