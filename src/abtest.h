/*
 * abtest.h: an A/B test of a campaign, pure (abtest.c): the "ab" object
 * of POST /v1/campaigns read and checked, and the winner chosen from the
 * variants' human figures.  Unit tested in tests/test_abtest.c, fuzzed
 * in tests/fuzz_abtest.c (a tenant writes the object).
 */
#ifndef FANFARE_ABTEST_H
#define FANFARE_ABTEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AB_MAX_VARIANTS		5
#define AB_SUBJECT_MAX		998	/* RFC 5322's line */

enum ab_metric {
	AB_OPENS,
	AB_CLICKS
};

struct ab_variant {
	char		subject[AB_SUBJECT_MAX + 1];
	uint64_t	template_id;	/* 0: the campaign's */
};

struct ab_test {
	int			nvariants;
	struct ab_variant	variant[AB_MAX_VARIANTS];
	double			test_fraction;	/* (0, 1] */
	enum ab_metric		metric;
	uint64_t		wait_ms;
};

/* One variant's figures: recipients sent, of them unique human openers
 * and clickers (machine hits excluded). */
struct ab_figures {
	long long	sent;
	long long	opens;
	long long	clicks;
};

/*
 * Reads an "ab" object: 0 with t filled, or -1 with a reason (for a 422
 * invalid_ab) in err.  2 to AB_MAX_VARIANTS variants, each with a
 * subject (a string of 1 to AB_SUBJECT_MAX bytes, no control character)
 * and an optional template_id (a string id); test_fraction a number in
 * (0, 1] (default 0.2); metric "opens" (default) or "clicks"; wait a
 * duration ("4h", tzsched.h's; default "4h", at least 1 s).
 */
int	 ab_parse(json_t *o, struct ab_test *t, char *err, size_t errlen);
/* The test as stored and shown: the object ab_parse reads. */
json_t	*ab_json(const struct ab_test *);
/* How many of total recipients are the test's (each variant's share is
 * this divided evenly, the first ones one more): at least one per
 * variant when the list has as many, never more than total. */
long long ab_test_count(const struct ab_test *, long long total);
/* A variant's rate under the metric: unique human hits / sent (0 when
 * none was sent). */
double	 ab_rate(enum ab_metric, const struct ab_figures *);
/* The winner (1..n): the highest rate; a tie goes to the one with more
 * unique human hits, then to the lower number.  Machine hits are not in
 * the figures, so they cannot decide it. */
int	 ab_winner(enum ab_metric, const struct ab_figures *, int n);

#endif
