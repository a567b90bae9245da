/*
 * fuzz_schedule.c: libFuzzer target for what a tenant writes into a
 * campaign's schedule and A/B test (src/tzsched.c's parsers, src/abtest.c)
 * and for the zone reader on arbitrary bytes.  make fuzz builds it
 * (fuzz/schedule); make check replays tests/fuzz/schedule/.
 *
 * The first input byte picks what the rest is:
 *  0: an RFC 3339 time, "HH:MM[:SS]" and a duration, each parsed;
 *  1: an "ab" JSON object: refused with a reason, or accepted and
 *     written back (ab_json) to an object that reads the same;
 *  2: a TZif file: refused, or its offsets bounded and the next local
 *     time at or after now, within 26 hours;
 *  3: a zone name: tz_name_ok never lets '..' or a leading '/' through.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abtest.h"
#include "tzsched.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static struct tz_zone	zone;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ab_test	 t, u;
	const char	*s;
	json_t		*o, *back;
	char		 err[200];
	uint64_t	 ms;
	int64_t		 now, next;
	size_t		 n;
	int		 sec;

	if (size < 1)
		return 0;
	s = (const char *)data + 1;
	n = size - 1;
	switch (data[0] % 4) {
	case 0:
		if (tz_parse_rfc3339(s, n, &ms) == 0)
			CHECK(n >= 20);
		if (tz_parse_hhmm(s, n, &sec) == 0)
			CHECK(sec >= 0 && sec < 86400);
		if (tz_parse_duration(s, n, &ms) == 0)
			CHECK(ms <= 365ULL * 86400000);
		break;
	case 1:
		if ((o = json_loadb(s, n, 0, NULL)) == NULL)
			break;
		err[0] = '\0';
		if (ab_parse(o, &t, err, sizeof(err)) == 0) {
			CHECK(t.nvariants >= 2 && t.nvariants <= AB_MAX_VARIANTS);
			back = ab_json(&t);
			CHECK(ab_parse(back, &u, err, sizeof(err)) == 0);
			CHECK(u.nvariants == t.nvariants && u.metric == t.metric &&
			    u.wait_ms == t.wait_ms);
			CHECK(ab_winner(t.metric, (struct ab_figures[
			    AB_MAX_VARIANTS]){ { 0, 0, 0 } }, t.nvariants) == 1);
			json_decref(back);
		} else
			CHECK(err[0] != '\0');
		json_decref(o);
		break;
	case 2:
		if (tz_parse((const unsigned char *)s, n, &zone) == -1)
			break;
		for (now = -86400LL * 365 * 30; now < 86400LL * 365 * 100;
		    now += 86400LL * 365 * 7 + 12345) {
			CHECK(tz_offset(&zone, now) > -90000 &&
			    tz_offset(&zone, now) < 94000);
			next = tz_next_local(&zone, now, 9 * 3600);
			CHECK(next >= now && next - now <= 4 * 86400);
		}
		break;
	default:
		if (tz_name_ok(s, n)) {
			CHECK(n > 0 && s[0] != '/' && s[0] != '.');
			CHECK(memmem(s, n, "/.", 2) == NULL);
			CHECK(memchr(s, '\0', n) == NULL);
		}
		break;
	}
	return 0;
}
