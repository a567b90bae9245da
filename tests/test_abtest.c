/*
 * test_abtest.c: abtest.c: the "ab" object read and refused, written
 * back, the test's size, the winner from human figures, and the
 * schedule's and test's fields of the record (store_schedule.c).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "abtest.h"
#include "store_schedule.h"

static int
parse(const char *src, struct ab_test *t, char *err)
{
	json_error_t	 jerr;
	json_t		*o = json_loads(src, 0, &jerr);
	int		 rc;

	cr_assert_not_null(o, "test JSON %s: %s", src, jerr.text);
	rc = ab_parse(o, t, err, 200);
	json_decref(o);
	return rc;
}

Test(abtest, parse_full_and_defaults)
{
	struct ab_test	t;
	char		err[200];

	cr_assert_eq(parse("{\"variants\": [{\"subject\": \"A\"}, "
	    "{\"subject\": \"B\", \"template_id\": \"7\"}], \"test_fraction\": "
	    "0.3, \"metric\": \"clicks\", \"wait\": \"90m\"}", &t, err), 0,
	    "%s", err);
	cr_assert_eq(t.nvariants, 2);
	cr_assert_str_eq(t.variant[0].subject, "A");
	cr_assert_eq(t.variant[0].template_id, 0);
	cr_assert_eq(t.variant[1].template_id, 7);
	cr_assert_float_eq(t.test_fraction, 0.3, 1e-9);
	cr_assert_eq(t.metric, AB_CLICKS);
	cr_assert_eq(t.wait_ms, 90 * 60000ULL);
	cr_assert_eq(parse("{\"variants\": [{\"subject\": \"A\"}, "
	    "{\"subject\": \"B\"}]}", &t, err), 0);
	cr_assert_float_eq(t.test_fraction, 0.2, 1e-9);
	cr_assert_eq(t.metric, AB_OPENS);
	cr_assert_eq(t.wait_ms, 4 * 3600000ULL);
}

Test(abtest, parse_refuses)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"variants\": [{\"subject\": \"A\"}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"\"}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": 5}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\\r\\n"
		    "Bcc: x@y.test\"}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\", "
		    "\"template_id\": 7}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\", "
		    "\"template_id\": \"0\"}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\", "
		    "\"html\": \"x\"}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}, "
		    "{\"subject\": \"C\"}, {\"subject\": \"D\"}, {\"subject\": "
		    "\"E\"}, {\"subject\": \"F\"}]}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}], "
		    "\"test_fraction\": 0}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}], "
		    "\"test_fraction\": 1.5}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}], "
		    "\"test_fraction\": \"0.2\"}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}], "
		    "\"metric\": \"likes\"}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}], "
		    "\"wait\": \"0s\"}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}], "
		    "\"wait\": \"4 hours\"}",
		"{\"variants\": [{\"subject\": \"A\"}, {\"subject\": \"B\"}], "
		    "\"winner\": 1}",
	};
	struct ab_test	t;
	char		err[200];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(parse(bad[i], &t, err), -1, "%s: accepted", bad[i]);
		cr_expect_neq(err[0], '\0', "%s: no reason", bad[i]);
	}
}

/* What is stored is read back the same. */
Test(abtest, json_round_trip)
{
	struct ab_test	t, u;
	json_t		*o;
	char		err[200];

	cr_assert_eq(parse("{\"variants\": [{\"subject\": \"A\"}, "
	    "{\"subject\": \"B\", \"template_id\": \"12\"}], \"test_fraction\": "
	    "0.25, \"wait\": \"3s\"}", &t, err), 0);
	o = ab_json(&t);
	cr_assert_eq(ab_parse(o, &u, err, sizeof(err)), 0, "%s", err);
	json_decref(o);
	cr_assert_eq(memcmp(&t, &u, sizeof(t)), 0);
}

Test(abtest, test_count)
{
	struct ab_test	t;

	memset(&t, 0, sizeof(t));
	t.nvariants = 2;
	t.test_fraction = 0.2;
	cr_assert_eq(ab_test_count(&t, 1000), 200);
	cr_assert_eq(ab_test_count(&t, 10), 2);
	cr_assert_eq(ab_test_count(&t, 3), 2, "at least one per variant");
	cr_assert_eq(ab_test_count(&t, 1), 1, "never more than the list");
	cr_assert_eq(ab_test_count(&t, 0), 0);
	t.test_fraction = 1;
	cr_assert_eq(ab_test_count(&t, 7), 7);
}

Test(abtest, winner)
{
	struct ab_figures	f[3];

	/* The higher human rate wins, whatever the raw counts. */
	memset(f, 0, sizeof(f));
	f[0] = (struct ab_figures){ 100, 10, 1 };
	f[1] = (struct ab_figures){ 50, 8, 0 };
	cr_assert_eq(ab_winner(AB_OPENS, f, 2), 2);
	/* Clicks decide under the clicks metric. */
	f[1].clicks = 0;
	f[0].clicks = 5;
	cr_assert_eq(ab_winner(AB_CLICKS, f, 2), 1);
	/* A tie of rates: more unique hits, then the lower number. */
	f[0] = (struct ab_figures){ 10, 2, 0 };
	f[1] = (struct ab_figures){ 20, 4, 0 };
	cr_assert_eq(ab_winner(AB_OPENS, f, 2), 2);
	f[1] = (struct ab_figures){ 10, 2, 0 };
	cr_assert_eq(ab_winner(AB_OPENS, f, 2), 1);
	/* Nothing sent or opened: the first. */
	memset(f, 0, sizeof(f));
	cr_assert_eq(ab_winner(AB_OPENS, f, 3), 1);
	/* Three variants, the third best. */
	f[0] = (struct ab_figures){ 10, 1, 0 };
	f[1] = (struct ab_figures){ 10, 2, 0 };
	f[2] = (struct ab_figures){ 10, 3, 0 };
	cr_assert_eq(ab_winner(AB_OPENS, f, 3), 3);
	cr_assert_float_eq(ab_rate(AB_OPENS, &f[2]), 0.3, 1e-9);
}

/* The record's fields as store_schedule_get reads them. */
Test(abtest, schedule_fields)
{
	static const char *const pairs[] = {
		"send_at", "1796151900000", "local_time", "32400",
		"timezone", "Europe/Berlin", "ab", "{\"x\":1}",
		"ab_winner", "2", "ab_queued:1", "10", "ab_sent:2", "9",
		"ab_fig_opens:2", "4", "ab_fig_clicks:1", "1",
		"ab_winner", "9", "local_time", "86400", "ab_sent:6", "5",
		"ab_sent:0", "5", "name", "x", NULL
	};
	struct campaign_schedule	s;
	size_t				i;

	campaign_schedule_init(&s);
	for (i = 0; pairs[i] != NULL; i += 2)
		campaign_schedule_field(&s, pairs[i], strlen(pairs[i]),
		    pairs[i + 1], strlen(pairs[i + 1]));
	cr_assert_eq(s.send_at, 1796151900000ULL);
	cr_assert_eq(s.local_time, 32400, "an out-of-range second is ignored");
	cr_assert_str_eq(s.timezone, "Europe/Berlin");
	cr_assert_str_eq(s.ab, "{\"x\":1}");
	cr_assert_eq(s.ab_winner, 2, "variant 9 does not exist");
	cr_assert_eq(s.ab_queued[0], 10);
	cr_assert_eq(s.ab_sent[1], 9);
	cr_assert_eq(s.ab_fig[1].opens, 4);
	cr_assert_eq(s.ab_fig[0].clicks, 1);
	for (i = 2; i < AB_MAX_VARIANTS; i++)
		cr_assert_eq(s.ab_sent[i], 0, "ab_sent:6 and :0 ignored");
	store_schedule_free(&s);
}
