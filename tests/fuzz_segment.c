/*
 * fuzz_segment.c: libFuzzer target for src/segment.c, a segment's
 * definition as a tenant sends it to POST /v1/segments, with the
 * shipped special-category list.  make fuzz builds it with clang
 * (fuzz/segment); make check replays tests/fuzz/segment/.
 *
 * The input is JSON text, parsed as a definition with and without a
 * required name; anything but an object is also tried as the rules
 * array and as a single rule.  It aborts when a result breaks
 * segment_parse's contract:
 *  - a refusal has status 400 (unknown_field) or 422, a code and a
 *    message;
 *  - an accepted segment has at most SEGMENT_RULES_MAX rules, no more
 *    than two sets a rule, a canonical form that parses again to the
 *    same form, and a match of 0 or 1 on a fixed contact, whatever the
 *    probe answers, the same verdict twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"

#ifndef FUZZ_SPECIAL_CONF
#define FUZZ_SPECIAL_CONF	"contrib/special-categories.conf"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static struct special	*fuzz_sp;
static struct contact	 fuzz_contact;

static void
fuzz_init(void)
{
	char		 err[512];
	const char	*path;

	if (fuzz_sp != NULL)
		return;
	if ((path = getenv("FF_SPECIAL_CONF")) == NULL)
		path = FUZZ_SPECIAL_CONF;
	if ((fuzz_sp = special_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_segment: %s\n", err);
		abort();
	}
	contact_init(&fuzz_contact, 1);
	snprintf(fuzz_contact.email, sizeof(fuzz_contact.email),
	    "ann@example.org");
	fuzz_contact.first_name = strdup("Ann");
	fuzz_contact.date_of_birth = strdup("1990-01-02");
	fuzz_contact.created_at = 1767225600000ULL;
	json_decref(fuzz_contact.attributes);
	fuzz_contact.attributes = json_pack("{s:s, s:i, s:b, s:f}", "plan",
	    "pro", "seats", 3, "vip", 1, "score", 2.5);
}

/* The probe: set i's answer is bit i of *arg (and, past 31, 0). */
static int
fuzz_in_set(void *arg, size_t set)
{
	return set < 32 ? (int)((*(uint32_t *)arg >> set) & 1) : 0;
}

static void
fuzz_check(json_t *def, int need_name, uint32_t bits)
{
	struct segment_error	 err;
	struct segment		*seg, *again;
	json_t			*canon, *canon2;
	size_t			 nsets;
	int			 m;

	seg = segment_parse(def, fuzz_sp, need_name, &err);
	if (seg == NULL) {
		CHECK(err.status == 400 || err.status == 422);
		CHECK(err.code != NULL && err.code[0] != '\0');
		CHECK(err.message[0] != '\0');
		CHECK(err.status != 400 || strcmp(err.code,
		    "unknown_field") == 0);
		return;
	}
	CHECK(json_array_size(json_object_get(def, "rules")) <=
	    SEGMENT_RULES_MAX);
	(void)segment_sets(seg, &nsets);
	CHECK(nsets <= 2 * json_array_size(json_object_get(def, "rules")));
	canon = segment_json(seg);
	again = segment_parse(canon, fuzz_sp, need_name, &err);
	CHECK(again != NULL);
	canon2 = segment_json(again);
	CHECK(json_equal(canon, canon2));
	m = segment_match(seg, &fuzz_contact, fuzz_in_set, &bits);
	CHECK(m == 0 || m == 1);
	CHECK(segment_match(again, &fuzz_contact, fuzz_in_set, &bits) == m);
	(void)segment_scan_list(seg);
	json_decref(canon2);
	json_decref(canon);
	segment_free(again);
	segment_free(seg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 jerr;
	json_t		*j, *o;
	uint32_t	 bits = 0;
	size_t		 i;
	uint64_t	 ms;

	fuzz_init();
	for (i = 0; i < size && i < 4; i++)
		bits = bits << 8 | data[i];
	(void)segment_parse_time((const char *)data, size, &ms);
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return 0;
	if (json_is_object(j)) {
		fuzz_check(j, 1, bits);
		fuzz_check(j, 0, bits);
		/* And as one rule of a segment. */
		o = json_pack("{s:s, s:[O]}", "name", "f", "rules", j);
		CHECK(o != NULL);
		fuzz_check(o, 1, bits);
		json_decref(o);
	} else {
		o = json_pack("{s:s, s:s, s:O}", "name", "f", "match", "any",
		    "rules", j);
		CHECK(o != NULL);
		fuzz_check(o, 1, bits);
		json_decref(o);
	}
	json_decref(j);
	return 0;
}
