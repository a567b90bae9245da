/*
 * test_segment.c: a segment's rules (src/segment.c): which definitions
 * are refused with which code, and which contacts each op, field kind
 * and match mode selects.  Membership and engagement come from a probe
 * of the test's own (a bit per set), as store_segment.c gives them from
 * a page of SMISMEMBER answers.  A small rules file of its own keeps
 * these tests apart from the shipped special-category list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "segment.h"

static struct special *sp;
static char rules[64];
static struct contact c;

static void
setup(void)
{
	char	 err[256];
	FILE	*f;
	int	 fd;

	snprintf(rules, sizeof(rules), "/tmp/test_segment.XXXXXX");
	cr_assert_neq(fd = mkstemp(rules), -1);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs("category health\nname diagnos*\nname blood_type\nterm hiv\n"
	    "category religious_beliefs\nname religion*\nterm muslim\n", f);
	fclose(f);
	sp = special_load(rules, err, sizeof(err));
	cr_assert_not_null(sp, "rules: %s", err);
	contact_init(&c, 7);
	snprintf(c.email, sizeof(c.email), "Ada@Example.test");
	c.first_name = strdup("Ada");
	c.date_of_birth = strdup("1990-05-17");
	c.created_at = 1767225600000ULL + 3600000;	/* 2026-01-01T01:00Z */
	c.updated_at = c.created_at;
	json_decref(c.attributes);
	c.attributes = json_pack("{s:s, s:i, s:b, s:f, s:s}", "plan", "Pro",
	    "seats", 12, "vip", 1, "score", 4.5, "renews", "2026-03-01");
}

static void
teardown(void)
{
	special_free(sp);
	unlink(rules);
	contact_clear(&c);
}

TestSuite(segment, .init = setup, .fini = teardown);

/* The probe: bit i of *arg says the contact is in set i. */
static int
in_set(void *arg, size_t set)
{
	return (int)((*(unsigned *)arg >> set) & 1);
}

static struct segment *
parse(const char *text, struct segment_error *err)
{
	json_error_t	 jerr;
	json_t		*def = json_loads(text, 0, &jerr);
	struct segment	*seg;

	cr_assert_not_null(def, "%s: %s", text, jerr.text);
	seg = segment_parse(def, sp, 1, err);
	json_decref(def);
	return seg;
}

/* The verdict of one rule in a segment matching all, sets as bits. */
static int
verdict(const char *rule, unsigned bits)
{
	struct segment_error	 err;
	struct segment		*seg;
	char			 text[1024];
	int			 m;

	snprintf(text, sizeof(text), "{\"name\": \"s\", \"match\": \"all\", "
	    "\"rules\": [%s]}", rule);
	seg = parse(text, &err);
	cr_assert_not_null(seg, "%s: %s %s", rule, err.code, err.message);
	m = segment_match(seg, &c, in_set, &bits);
	segment_free(seg);
	return m;
}

static void
refused(const char *text, int status, const char *code)
{
	struct segment_error	 err;
	struct segment		*seg = parse(text, &err);

	cr_assert_null(seg, "%s was taken", text);
	cr_assert_eq(err.status, status, "%s: %d", text, err.status);
	cr_assert_str_eq(err.code, code, "%s: %s", text, err.code);
	cr_assert_neq(err.message[0], '\0');
}

Test(segment, contact_fields)
{
	cr_assert(verdict("{\"field\": \"email\", \"op\": \"eq\", \"value\": "
	    "\"ada@example.test\"}", 0));
	cr_assert(!verdict("{\"field\": \"email\", \"op\": \"neq\", \"value\": "
	    "\"ADA@example.test\"}", 0));
	cr_assert(verdict("{\"field\": \"email\", \"op\": \"contains\", "
	    "\"value\": \"@example\"}", 0));
	cr_assert(!verdict("{\"field\": \"email\", \"op\": \"contains\", "
	    "\"value\": \"@other\"}", 0));
	cr_assert(verdict("{\"field\": \"first_name\", \"op\": \"exists\"}",
	    0));
	cr_assert(!verdict("{\"field\": \"last_name\", \"op\": \"exists\"}",
	    0));
	cr_assert(verdict("{\"field\": \"last_name\", \"op\": \"exists\", "
	    "\"value\": false}", 0));
	/* A field the contact lacks: neq, and nothing else. */
	cr_assert(verdict("{\"field\": \"last_name\", \"op\": \"neq\", "
	    "\"value\": \"x\"}", 0));
	cr_assert(!verdict("{\"field\": \"last_name\", \"op\": \"eq\", "
	    "\"value\": \"x\"}", 0));
	cr_assert(!verdict("{\"field\": \"last_name\", \"op\": \"contains\", "
	    "\"value\": \"x\"}", 0));
}

Test(segment, times)
{
	cr_assert(verdict("{\"field\": \"created_at\", \"op\": \"after\", "
	    "\"value\": \"2026-01-01\"}", 0));
	cr_assert(!verdict("{\"field\": \"created_at\", \"op\": \"after\", "
	    "\"value\": \"2026-01-01T02:00:00Z\"}", 0));
	cr_assert(verdict("{\"field\": \"created_at\", \"op\": \"before\", "
	    "\"value\": \"2026-01-01T02:30:00+01:00\"}", 0));
	cr_assert(!verdict("{\"field\": \"created_at\", \"op\": \"before\", "
	    "\"value\": \"2026-01-01T01:00:00Z\"}", 0), "strict");
	cr_assert(verdict("{\"field\": \"date_of_birth\", \"op\": \"before\", "
	    "\"value\": \"2000-01-01\"}", 0));
	cr_assert(verdict("{\"field\": \"date_of_birth\", \"op\": \"eq\", "
	    "\"value\": \"1990-05-17\"}", 0));
	cr_assert(verdict("{\"field\": \"attributes.renews\", \"op\": "
	    "\"after\", \"value\": \"2026-02-28\"}", 0));
	cr_assert(!verdict("{\"field\": \"attributes.plan\", \"op\": "
	    "\"after\", \"value\": \"2026-02-28\"}", 0), "not a date");
}

Test(segment, parse_time)
{
	uint64_t	ms;

	cr_assert_eq(segment_parse_time("1970-01-01", 10, &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(segment_parse_time("2024-02-29T12:00:00.5Z", 22, &ms), 0);
	cr_assert_eq(ms, 1709208000500ULL);
	cr_assert_eq(segment_parse_time("2023-02-29", 10, &ms), -1);
	cr_assert_eq(segment_parse_time("2026-13-01", 10, &ms), -1);
	cr_assert_eq(segment_parse_time("2026-01-01T10:00", 16, &ms), -1);
	cr_assert_eq(segment_parse_time("1969-12-31", 10, &ms), -1);
	cr_assert_eq(segment_parse_time("2026-01-01T00:00:00+0100", 24, &ms),
	    -1);
}

Test(segment, attributes)
{
	cr_assert(verdict("{\"field\": \"attributes.plan\", \"op\": \"eq\", "
	    "\"value\": \"pro\"}", 0));
	cr_assert(verdict("{\"field\": \"attributes.plan\", \"op\": \"neq\", "
	    "\"value\": \"free\"}", 0));
	cr_assert(verdict("{\"field\": \"attributes.seats\", \"op\": \"eq\", "
	    "\"value\": \"12\"}", 0));
	cr_assert(verdict("{\"field\": \"attributes.seats\", \"op\": \"eq\", "
	    "\"value\": 12.0}", 0));
	cr_assert(verdict("{\"field\": \"attributes.seats\", \"op\": \"gt\", "
	    "\"value\": 10}", 0));
	cr_assert(!verdict("{\"field\": \"attributes.seats\", \"op\": \"lt\", "
	    "\"value\": 12}", 0));
	cr_assert(verdict("{\"field\": \"attributes.score\", \"op\": \"lt\", "
	    "\"value\": \"4.6\"}", 0));
	cr_assert(!verdict("{\"field\": \"attributes.plan\", \"op\": \"gt\", "
	    "\"value\": 1}", 0), "text is no number");
	cr_assert(verdict("{\"field\": \"attributes.vip\", \"op\": \"eq\", "
	    "\"value\": true}", 0));
	cr_assert(!verdict("{\"field\": \"attributes.vip\", \"op\": \"eq\", "
	    "\"value\": false}", 0));
	cr_assert(verdict("{\"field\": \"attributes.plan\", \"op\": "
	    "\"contains\", \"value\": \"R\"}", 0));
	cr_assert(verdict("{\"field\": \"attributes.plan\", \"op\": "
	    "\"exists\"}", 0));
	cr_assert(!verdict("{\"field\": \"attributes.nope\", \"op\": "
	    "\"exists\"}", 0));
	cr_assert(!verdict("{\"field\": \"attributes.nope\", \"op\": \"gt\", "
	    "\"value\": 0}", 0));
}

Test(segment, lists_and_engagement)
{
	struct segment_error		 err;
	struct segment			*seg;
	const struct segment_set	*sets;
	size_t				 n;

	/* Sets in the order first asked: list 2, openers 3, mailed 3,
	 * clickers 3. */
	seg = parse("{\"name\": \"e\", \"rules\": [{\"field\": \"list\", "
	    "\"value\": \"2\"}, {\"field\": \"not_opened\", \"campaign\": "
	    "\"3\"}, {\"field\": \"clicked\", \"campaign\": 3}, "
	    "{\"field\": \"opened\", \"campaign\": \"3\"}]}", &err);
	cr_assert_not_null(seg, "%s", err.message);
	sets = segment_sets(seg, &n);
	cr_assert_eq(n, 4);
	cr_assert_eq(sets[0].kind, SEGMENT_SET_LIST);
	cr_assert_eq(sets[0].id, 2);
	cr_assert_eq(sets[1].kind, SEGMENT_SET_OPENERS);
	cr_assert_eq(sets[2].kind, SEGMENT_SET_MAILED);
	cr_assert_eq(sets[3].kind, SEGMENT_SET_CLICKERS);
	cr_assert_eq(sets[3].id, 3);
	cr_assert_eq(segment_scan_list(seg), 2);
	segment_free(seg);

	cr_assert(verdict("{\"field\": \"list\", \"value\": \"2\"}", 1));
	cr_assert(!verdict("{\"field\": \"list\", \"value\": \"2\"}", 0));
	cr_assert(verdict("{\"field\": \"list\", \"op\": \"neq\", \"value\": "
	    "\"2\"}", 0));
	cr_assert(verdict("{\"field\": \"opened\", \"campaign\": \"3\"}", 1));
	cr_assert(!verdict("{\"field\": \"clicked\", \"campaign\": \"3\"}",
	    0));
	/* not_opened: mailed (set 1) and no open (set 0). */
	cr_assert(verdict("{\"field\": \"not_opened\", \"campaign\": \"3\"}",
	    2));
	cr_assert(!verdict("{\"field\": \"not_opened\", \"campaign\": \"3\"}",
	    3));
	cr_assert(!verdict("{\"field\": \"not_opened\", \"campaign\": \"3\"}",
	    0), "never mailed: no non-opener");
	cr_assert(verdict("{\"field\": \"not_clicked\", \"campaign\": \"3\"}",
	    2));
}

Test(segment, all_and_any)
{
	struct segment_error	 err;
	struct segment		*seg;
	unsigned		 bits;
	const char		*rules2 = "\"rules\": [{\"field\": "
				    "\"attributes.plan\", \"op\": \"eq\", "
				    "\"value\": \"free\"}, {\"field\": \"list\", "
				    "\"value\": \"5\"}]}";
	char			 text[512];

	snprintf(text, sizeof(text), "{\"name\": \"a\", \"match\": \"all\", "
	    "%s", rules2);
	seg = parse(text, &err);
	cr_assert_not_null(seg);
	bits = 1;
	cr_assert(!segment_match(seg, &c, in_set, &bits));
	segment_free(seg);
	snprintf(text, sizeof(text), "{\"name\": \"a\", \"match\": \"any\", "
	    "%s", rules2);
	seg = parse(text, &err);
	cr_assert_not_null(seg);
	cr_assert_eq(segment_scan_list(seg), 0, "any: no list holds all");
	bits = 1;
	cr_assert(segment_match(seg, &c, in_set, &bits));
	bits = 0;
	cr_assert(!segment_match(seg, &c, in_set, &bits));
	segment_free(seg);
	/* No rules: all is everyone, any nobody. */
	seg = parse("{\"name\": \"e\", \"rules\": []}", &err);
	cr_assert(segment_match(seg, &c, in_set, &bits));
	segment_free(seg);
	seg = parse("{\"name\": \"e\", \"match\": \"any\", \"rules\": []}",
	    &err);
	cr_assert(!segment_match(seg, &c, in_set, &bits));
	segment_free(seg);
}

Test(segment, special_category)
{
	refused("{\"name\": \"s\", \"rules\": [{\"field\": "
	    "\"attributes.diagnosis\", \"op\": \"exists\"}]}", 422,
	    "special_category_reference");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": "
	    "\"attributes.Religion\", \"op\": \"eq\", \"value\": \"x\"}]}", 422,
	    "special_category_reference");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": "
	    "\"attributes.notes\", \"op\": \"contains\", \"value\": \"HIV\"}]}",
	    422, "special_category_reference");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"gender\", \"op\": "
	    "\"eq\", \"value\": \"muslim\"}]}", 422,
	    "special_category_reference");
}

Test(segment, bad_definitions)
{
	char	big[SEGMENT_VALUE_MAX + 128], many[4096];
	size_t	i, n;

	refused("[]", 422, "invalid_segment");
	refused("{\"rules\": []}", 422, "invalid_name");
	refused("{\"name\": \"\", \"rules\": []}", 422, "invalid_name");
	refused("{\"name\": \"s\", \"rules\": [], \"x\": 1}", 400,
	    "unknown_field");
	refused("{\"name\": \"s\", \"match\": \"some\", \"rules\": []}", 422,
	    "invalid_match");
	refused("{\"name\": \"s\", \"rules\": {}}", 422, "invalid_rules");
	refused("{\"name\": \"s\"}", 422, "invalid_rules");
	refused("{\"name\": \"s\", \"rules\": [1]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"email\", \"op\": "
	    "\"eq\", \"value\": \"a\", \"y\": 1}]}", 400, "unknown_field");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"shoe_size\", "
	    "\"op\": \"eq\", \"value\": \"a\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"email\", \"op\": "
	    "\"like\", \"value\": \"a\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"email\", \"op\": "
	    "\"gt\", \"value\": \"a\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"email\", \"op\": "
	    "\"eq\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"email\", \"op\": "
	    "\"eq\", \"value\": 3}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"attributes.a\", "
	    "\"op\": \"gt\", \"value\": \"many\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"attributes.a\", "
	    "\"op\": \"contains\", \"value\": \"\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"attributes.a-b\", "
	    "\"op\": \"exists\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"attributes.\", "
	    "\"op\": \"exists\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"created_at\", "
	    "\"op\": \"after\", \"value\": \"yesterday\"}]}", 422,
	    "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"created_at\", "
	    "\"op\": \"contains\", \"value\": \"2026\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"list\", "
	    "\"value\": \"two\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"list\", "
	    "\"op\": \"gt\", \"value\": \"2\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"opened\"}]}", 422,
	    "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"opened\", "
	    "\"campaign\": \"0\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"opened\", "
	    "\"campaign\": \"3\", \"op\": \"eq\"}]}", 422, "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"email\", \"op\": "
	    "\"eq\", \"value\": \"a\", \"campaign\": \"3\"}]}", 422,
	    "invalid_rule");
	refused("{\"name\": \"s\", \"rules\": [{\"field\": \"email\", \"op\": "
	    "\"eq\", \"value\": \"a\\nb\"}]}", 422, "invalid_rule");
	/* A value one byte too long. */
	memset(big, 'x', SEGMENT_VALUE_MAX + 1);
	big[SEGMENT_VALUE_MAX + 1] = '\0';
	snprintf(many, sizeof(many), "{\"name\": \"s\", \"rules\": [{\"field\":"
	    " \"email\", \"op\": \"contains\", \"value\": \"%s\"}]}", big);
	refused(many, 422, "invalid_rule");
	/* One rule too many. */
	n = (size_t)snprintf(many, sizeof(many), "{\"name\": \"s\", "
	    "\"rules\": [");
	for (i = 0; i <= SEGMENT_RULES_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
		    "%s{\"field\": \"list\", \"value\": \"%zu\"}", i ? "," : "",
		    i + 1);
	snprintf(many + n, sizeof(many) - n, "]}");
	refused(many, 422, "invalid_rules");
}

Test(segment, canonical_json)
{
	struct segment_error	 err;
	struct segment		*seg;
	json_t			*j, *again;
	struct segment		*seg2;

	seg = parse("{\"name\": \"n\", \"rules\": [{\"field\": \"list\", "
	    "\"value\": \"2\"}]}", &err);
	cr_assert_not_null(seg);
	cr_assert_str_eq(segment_name(seg), "n");
	j = segment_json(seg);
	cr_assert_str_eq(json_string_value(json_object_get(j, "match")),
	    "all");
	seg2 = segment_parse(j, sp, 1, &err);
	cr_assert_not_null(seg2, "the canonical form parses again");
	again = segment_json(seg2);
	cr_assert(json_equal(j, again));
	json_decref(again);
	json_decref(j);
	segment_free(seg2);
	segment_free(seg);
}
