/*
 * test_sequence.c: sequence.c's definitions: delays in s/m/h/d and
 * their limits, conditions and what each says of an opener or clicker,
 * and whole POST /v1/sequences bodies, accepted and refused with the
 * documented status and code.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "sequence.h"

static int
delay(const char *s, uint64_t *ms)
{
	return sequence_parse_delay(s, strlen(s), ms);
}

Test(sequence, delays)
{
	uint64_t	ms = 77;

	cr_assert_eq(delay("0s", &ms), 0);
	cr_assert_eq(ms, 0);
	cr_assert_eq(delay("90s", &ms), 0);
	cr_assert_eq(ms, 90000);
	cr_assert_eq(delay("15m", &ms), 0);
	cr_assert_eq(ms, 900000);
	cr_assert_eq(delay("2h", &ms), 0);
	cr_assert_eq(ms, 7200000);
	cr_assert_eq(delay("3d", &ms), 0);
	cr_assert_eq(ms, 3ULL * 86400000);
	cr_assert_eq(delay("366d", &ms), 0);
	cr_assert_eq(ms, SEQUENCE_DELAY_MAX_MS);
	ms = 77;
	/* Over a year, no unit, no digits, blanks, signs, other units. */
	cr_assert_eq(delay("367d", &ms), -1);
	cr_assert_eq(delay("8785h", &ms), -1);
	cr_assert_eq(delay("99999999999999d", &ms), -1);
	cr_assert_eq(delay("18446744073709551615s", &ms), -1);
	cr_assert_eq(delay("3", &ms), -1);
	cr_assert_eq(delay("d", &ms), -1);
	cr_assert_eq(delay("", &ms), -1);
	cr_assert_eq(delay(" 3d", &ms), -1);
	cr_assert_eq(delay("3 d", &ms), -1);
	cr_assert_eq(delay("-3d", &ms), -1);
	cr_assert_eq(delay("3w", &ms), -1);
	cr_assert_eq(delay("3D", &ms), -1);
	cr_assert_eq(delay("1ms", &ms), -1);
	cr_assert_eq(ms, 77, "a refused delay leaves *ms alone");
	/* Not NUL-terminated: only len bytes are read. */
	cr_assert_eq(sequence_parse_delay("12hXXX", 3, &ms), 0);
	cr_assert_eq(ms, 12 * 3600000ULL);
}

Test(sequence, delay_text)
{
	char	 buf[SEQUENCE_DELAY_TEXT];

	cr_assert_str_eq(sequence_format_delay(0, buf, sizeof(buf)), "0s");
	cr_assert_str_eq(sequence_format_delay(90000, buf, sizeof(buf)),
	    "90s");
	cr_assert_str_eq(sequence_format_delay(3600000, buf, sizeof(buf)),
	    "1h");
	cr_assert_str_eq(sequence_format_delay(3 * 86400000ULL, buf,
	    sizeof(buf)), "3d");
	cr_assert_str_eq(sequence_format_delay(36 * 3600000ULL, buf,
	    sizeof(buf)), "36h");
}

Test(sequence, conditions)
{
	enum sequence_if	 c;
	static const char *const names[] = { "always", "opened",
	    "not_opened", "clicked", "not_clicked" };
	size_t			 i;

	for (i = 0; i < 5; i++) {
		cr_assert_eq(sequence_parse_if(names[i], strlen(names[i]), &c),
		    0);
		cr_assert_str_eq(sequence_if_name(c), names[i]);
	}
	cr_assert_eq(sequence_parse_if("Opened", 6, &c), -1);
	cr_assert_eq(sequence_parse_if("open", 4, &c), -1);
	cr_assert_eq(sequence_parse_if("openedx", 7, &c), -1);
	cr_assert_eq(sequence_parse_if("", 0, &c), -1);
	/* opened, clicked -> sent? */
	cr_assert(sequence_if_met(SEQUENCE_IF_ALWAYS, 0, 0));
	cr_assert(sequence_if_met(SEQUENCE_IF_OPENED, 1, 0));
	cr_assert(!sequence_if_met(SEQUENCE_IF_OPENED, 0, 1));
	cr_assert(sequence_if_met(SEQUENCE_IF_NOT_OPENED, 0, 1));
	cr_assert(!sequence_if_met(SEQUENCE_IF_NOT_OPENED, 1, 0));
	cr_assert(sequence_if_met(SEQUENCE_IF_CLICKED, 0, 1));
	cr_assert(!sequence_if_met(SEQUENCE_IF_CLICKED, 1, 0));
	cr_assert(sequence_if_met(SEQUENCE_IF_NOT_CLICKED, 1, 0));
	cr_assert(!sequence_if_met(SEQUENCE_IF_NOT_CLICKED, 0, 1));
}

/* Parses text as a body: 0 with d, or -1 with e. */
static int
parse(const char *text, struct sequence_def *d, struct sequence_error *e,
    json_t **keep)
{
	json_error_t	 jerr;

	*keep = json_loads(text, JSON_ALLOW_NUL, &jerr);
	cr_assert_not_null(*keep, "%s: %s", text, jerr.text);
	return sequence_def_parse(*keep, d, e);
}

Test(sequence, body_accepted)
{
	struct sequence_def	 d;
	struct sequence_error	 e;
	json_t			*j;

	cr_assert_eq(parse("{\"name\": \"Welcome\", \"from\": \"A <a@x.test>\", "
	    "\"steps\": [{\"template_id\": \"1\", \"delay\": \"0s\"}, "
	    "{\"template_id\": \"2\", \"delay\": \"3d\", \"if\": "
	    "\"not_opened\"}, {\"template_id\": \"3\"}], \"trigger\": "
	    "{\"list_id\": \"9\"}}", &d, &e, &j), 0, "%s", e.msg);
	cr_assert_eq(d.nsteps, 3);
	cr_assert_eq(d.name_len, 7);
	cr_assert_eq(memcmp(d.name, "Welcome", 7), 0);
	cr_assert_eq(d.trigger_list, 9);
	cr_assert_eq(d.steps[0].template_id, 1);
	cr_assert_eq(d.steps[0].cond, SEQUENCE_IF_ALWAYS);
	cr_assert_eq(d.steps[1].delay_ms, 3 * 86400000ULL);
	cr_assert_eq(d.steps[1].cond, SEQUENCE_IF_NOT_OPENED);
	cr_assert_eq(d.steps[2].delay_ms, 0, "no delay: 0");
	json_decref(j);
	cr_assert_eq(parse("{\"name\": \"n\", \"from\": \"a@x.test\", "
	    "\"steps\": [{\"template_id\": \"1\"}], \"trigger\": null}", &d,
	    &e, &j), 0, "%s", e.msg);
	cr_assert_eq(d.trigger_list, 0);
	json_decref(j);
}

struct refusal {
	const char	*body;
	int		 status;
	const char	*code;
};

static const struct refusal refusals[] = {
	{ "[]", 400, "invalid_body" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\"}], \"x\": 1}", 400, "unknown_field" },
	{ "{\"from\": \"a@x.test\", \"steps\": [{\"template_id\": \"1\"}]}",
	  422, "invalid_name" },
	{ "{\"name\": \"\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\"}]}", 422, "invalid_name" },
	{ "{\"name\": \"a\\u0000b\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\"}]}", 422, "invalid_name" },
	{ "{\"name\": \"n\", \"steps\": [{\"template_id\": \"1\"}]}", 422,
	  "invalid_from" },
	{ "{\"name\": \"n\", \"from\": 5, \"steps\": [{\"template_id\": "
	  "\"1\"}]}", 422, "invalid_from" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\"}", 422, "invalid_steps" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": []}", 422,
	  "invalid_steps" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": {}}", 422,
	  "invalid_steps" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [1]}", 422,
	  "invalid_step" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{}]}", 422,
	  "invalid_reference" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": 1}]}", 422, "invalid_reference" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"0\"}]}", 422, "invalid_reference" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\", \"delay\": 5}]}", 422, "invalid_delay" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\", \"delay\": \"1y\"}]}", 422,
	  "invalid_delay" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\", \"if\": \"opened\"}]}", 422,
	  "invalid_condition" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\"}, {\"template_id\": \"1\", \"if\": "
	  "\"sometimes\"}]}", 422, "invalid_condition" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\", \"when\": \"now\"}]}", 400,
	  "unknown_field" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\"}], \"trigger\": 3}", 422,
	  "invalid_trigger" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\"}], \"trigger\": {}}", 422,
	  "invalid_trigger" },
	{ "{\"name\": \"n\", \"from\": \"a@x.test\", \"steps\": [{"
	  "\"template_id\": \"1\"}], \"trigger\": {\"list_id\": \"1\", "
	  "\"segment_id\": \"2\"}}", 400, "unknown_field" },
};

Test(sequence, body_refused)
{
	struct sequence_def	 d;
	struct sequence_error	 e;
	json_t			*j;
	size_t			 i;

	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		memset(&e, 0, sizeof(e));
		cr_assert_eq(parse(refusals[i].body, &d, &e, &j), -1, "%s",
		    refusals[i].body);
		cr_expect_eq(e.status, refusals[i].status, "%s: %d",
		    refusals[i].body, e.status);
		cr_expect_str_eq(e.code, refusals[i].code, "%s",
		    refusals[i].body);
		cr_expect_neq(e.msg[0], '\0');
		json_decref(j);
	}
}

Test(sequence, step_limit)
{
	struct sequence_def	 d;
	struct sequence_error	 e;
	json_t			*body, *steps;
	size_t			 i;

	body = json_pack("{s:s, s:s}", "name", "n", "from", "a@x.test");
	steps = json_array();
	json_object_set_new(body, "steps", steps);
	for (i = 0; i < SEQUENCE_STEPS_MAX; i++)
		json_array_append_new(steps, json_pack("{s:s}", "template_id",
		    "4"));
	cr_assert_eq(sequence_def_parse(body, &d, &e), 0);
	cr_assert_eq(d.nsteps, SEQUENCE_STEPS_MAX);
	json_array_append_new(steps, json_pack("{s:s}", "template_id", "4"));
	cr_assert_eq(sequence_def_parse(body, &d, &e), -1);
	cr_assert_str_eq(e.code, "invalid_steps");
	json_decref(body);
}
