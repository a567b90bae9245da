/*
 * sequence.c: a sequence's definition, checked (see sequence.h).  Pure:
 * a tenant's JSON in, a definition or the reason it is refused out;
 * safe on any thread.  It never touches Redis: whether a template or a
 * list exists, and whether the From may be sent as, the API asks.
 *
 * Limits (sequence.h) keep one tenant's sequence cheap for the due-step
 * job every node runs: at most SEQUENCE_STEPS_MAX steps, each delay at
 * most a year, so a due time always fits a double's exact integers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fanfare.h"
#include "sequence.h"

static const struct {
	char		unit;
	uint64_t	ms;
} delay_units[] = {		/* largest first: sequence_format_delay */
	{ 'd', 86400000ULL },
	{ 'h', 3600000ULL },
	{ 'm', 60000ULL },
	{ 's', 1000ULL },
};

static const char *const if_names[] = {
	[SEQUENCE_IF_ALWAYS] = "always",
	[SEQUENCE_IF_OPENED] = "opened",
	[SEQUENCE_IF_NOT_OPENED] = "not_opened",
	[SEQUENCE_IF_CLICKED] = "clicked",
	[SEQUENCE_IF_NOT_CLICKED] = "not_clicked",
};

static const char *const def_fields[] = { "name", "from", "steps",
    "trigger", NULL };
static const char *const step_fields[] = { "template_id", "delay", "if",
    NULL };
static const char *const trigger_fields[] = { "list_id", NULL };

int
sequence_parse_delay(const char *s, size_t len, uint64_t *ms)
{
	uint64_t	n;
	size_t		i;

	if (len < 2 || len > 16)
		return -1;
	if (parse_u64(s, len - 1, &n) == -1)
		return -1;
	for (i = 0; i < FF_NELEM(delay_units); i++) {
		if (s[len - 1] != delay_units[i].unit)
			continue;
		if (n > SEQUENCE_DELAY_MAX_MS / delay_units[i].ms)
			return -1;
		*ms = n * delay_units[i].ms;
		return 0;
	}
	return -1;
}

const char *
sequence_format_delay(uint64_t ms, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < FF_NELEM(delay_units); i++)
		if (ms != 0 && ms % delay_units[i].ms == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(ms /
			    delay_units[i].ms), delay_units[i].unit);
			return buf;
		}
	/* 0, or a stored value no unit divides (written by hand). */
	snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	return buf;
}

int
sequence_parse_if(const char *s, size_t len, enum sequence_if *c)
{
	size_t	i;

	for (i = 0; i < FF_NELEM(if_names); i++)
		if (strlen(if_names[i]) == len && memcmp(s, if_names[i],
		    len) == 0) {
			*c = (enum sequence_if)i;
			return 0;
		}
	return -1;
}

const char *
sequence_if_name(enum sequence_if c)
{
	return (size_t)c < FF_NELEM(if_names) ? if_names[c] : "always";
}

int
sequence_if_met(enum sequence_if c, int opened, int clicked)
{
	switch (c) {
	case SEQUENCE_IF_OPENED:
		return opened;
	case SEQUENCE_IF_NOT_OPENED:
		return !opened;
	case SEQUENCE_IF_CLICKED:
		return clicked;
	case SEQUENCE_IF_NOT_CLICKED:
		return !clicked;
	case SEQUENCE_IF_ALWAYS:
	default:
		return 1;
	}
}

static int
fail(struct sequence_error *e, int status, const char *code,
    const char *fmt, ...) FF_ATTR_PRINTF(4, 5);

static int
fail(struct sequence_error *e, int status, const char *code,
    const char *fmt, ...)
{
	va_list	ap;

	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* 0 when every member of o is named in allowed, else the first other. */
static const char *
unknown_field(json_t *o, const char *const *allowed)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return k;
	}
	return NULL;
}

/* An id given as a string of digits, not 0: 0 with *id, or -1. */
static int
id_of(json_t *v, uint64_t *id)
{
	if (!json_is_string(v) || parse_u64(json_string_value(v),
	    json_string_length(v), id) == -1 || *id == 0)
		return -1;
	return 0;
}

static int
step_parse(json_t *o, size_t i, struct sequence_step *st,
    struct sequence_error *e)
{
	const char	*bad;
	json_t		*v;

	if (!json_is_object(o))
		return fail(e, 422, "invalid_step", "steps[%zu]: an object is "
		    "required", i);
	if ((bad = unknown_field(o, step_fields)) != NULL)
		return fail(e, 400, "unknown_field", "steps[%zu]: unknown "
		    "field %.60s", i, bad);
	if (id_of(json_object_get(o, "template_id"), &st->template_id) == -1)
		return fail(e, 422, "invalid_reference", "steps[%zu]: "
		    "template_id (a string) is required", i);
	v = json_object_get(o, "delay");
	st->delay_ms = 0;
	if (v != NULL && (!json_is_string(v) || sequence_parse_delay(
	    json_string_value(v), json_string_length(v), &st->delay_ms) == -1))
		return fail(e, 422, "invalid_delay", "steps[%zu]: delay is a "
		    "number and s, m, h or d, at most 366d", i);
	v = json_object_get(o, "if");
	st->cond = SEQUENCE_IF_ALWAYS;
	if (v != NULL && (!json_is_string(v) || sequence_parse_if(
	    json_string_value(v), json_string_length(v), &st->cond) == -1))
		return fail(e, 422, "invalid_condition", "steps[%zu]: if is "
		    "always, opened, not_opened, clicked or not_clicked", i);
	if (i == 0 && st->cond != SEQUENCE_IF_ALWAYS)
		return fail(e, 422, "invalid_condition", "steps[0]: the first "
		    "step has no previous step to look at");
	return 0;
}

int
sequence_def_parse(json_t *body, struct sequence_def *d,
    struct sequence_error *e)
{
	const char	*bad;
	json_t		*v, *steps;
	size_t		 i;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(body))
		return fail(e, 400, "invalid_body", "expected a JSON object");
	if ((bad = unknown_field(body, def_fields)) != NULL)
		return fail(e, 400, "unknown_field", "unknown field %.60s",
		    bad);
	v = json_object_get(body, "name");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > SEQUENCE_NAME_MAX ||
	    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
		return fail(e, 422, "invalid_name", "name: 1 to %d bytes is "
		    "required", SEQUENCE_NAME_MAX);
	d->name = json_string_value(v);
	d->name_len = json_string_length(v);
	v = json_object_get(body, "from");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > SEQUENCE_FROM_MAX)
		return fail(e, 422, "invalid_from", "from: \"Name <addr>\" or "
		    "an address");
	d->from = json_string_value(v);
	d->from_len = json_string_length(v);
	steps = json_object_get(body, "steps");
	if (!json_is_array(steps) || json_array_size(steps) == 0 ||
	    json_array_size(steps) > SEQUENCE_STEPS_MAX)
		return fail(e, 422, "invalid_steps", "steps: an array of 1 to "
		    "%d steps is required", SEQUENCE_STEPS_MAX);
	json_array_foreach(steps, i, v)
		if (step_parse(v, i, &d->steps[i], e) == -1)
			return -1;
	d->nsteps = json_array_size(steps);
	if ((v = json_object_get(body, "trigger")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_object(v))
			return fail(e, 422, "invalid_trigger", "trigger: "
			    "{\"list_id\"} or nothing");
		if ((bad = unknown_field(v, trigger_fields)) != NULL)
			return fail(e, 400, "unknown_field", "trigger: unknown "
			    "field %.60s", bad);
		if (id_of(json_object_get(v, "list_id"), &d->trigger_list) ==
		    -1)
			return fail(e, 422, "invalid_trigger", "trigger: "
			    "list_id (a string) is required");
	}
	return 0;
}
