/*
 * sequence.h: what a sequence (automation) is, as a tenant writes it:
 * its steps (a template, a delay, a condition on the previous step),
 * its trigger list, and the limits.  Pure (sequence.c): a JSON body in,
 * a checked definition or an error out; no Redis, no state.  The store
 * is store_sequence.h's, the API api_sequence.c's, the due-step job
 * sequence_tick.c's.
 */
#ifndef FANFARE_SEQUENCE_H
#define FANFARE_SEQUENCE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define SEQUENCE_STEPS_MAX	20
#define SEQUENCE_NAME_MAX	200	/* bytes */
#define SEQUENCE_FROM_MAX	998	/* bytes: one header line */
/* A delay of up to a year: "365d", "8760h"... */
#define SEQUENCE_DELAY_MAX_MS	(366ULL * 86400 * 1000)
#define SEQUENCE_ENROLL_MAX	10000	/* emails of one enroll call */
#define SEQUENCE_DELAY_TEXT	24	/* "31622400000ms"-ish, NUL */

/* A step's condition on the previous step (the first step's is always
 * ALWAYS: it has none). */
enum sequence_if {
	SEQUENCE_IF_ALWAYS,
	SEQUENCE_IF_OPENED,
	SEQUENCE_IF_NOT_OPENED,
	SEQUENCE_IF_CLICKED,
	SEQUENCE_IF_NOT_CLICKED
};

struct sequence_step {
	uint64_t	 template_id;
	uint64_t	 delay_ms;	/* after the previous step (the first:
					 * after enrollment) */
	enum sequence_if cond;
};

/* A checked POST /v1/sequences body; the strings point into the JSON,
 * which must outlive it. */
struct sequence_def {
	const char		*name;
	size_t			 name_len;
	const char		*from;
	size_t			 from_len;
	uint64_t		 trigger_list;	/* 0: none */
	struct sequence_step	 steps[SEQUENCE_STEPS_MAX];
	size_t			 nsteps;
};

/* Why a body was refused: the HTTP status and API.md's error code. */
struct sequence_error {
	int	status;		/* 400 or 422 */
	char	code[32];
	char	msg[200];
};

/* "90s", "15m", "2h", "3d" (digits then one unit, no blank): 0 with
 * *ms, or -1 (no digits, no unit, other bytes, or over
 * SEQUENCE_DELAY_MAX_MS). */
int		 sequence_parse_delay(const char *, size_t, uint64_t *ms);
/* ms in the largest unit that divides it exactly ("3d", "90s"; "0s");
 * buf of SEQUENCE_DELAY_TEXT bytes. */
const char	*sequence_format_delay(uint64_t ms, char *buf, size_t len);

/* "always", "opened"...: 0 with *c, or -1. */
int		 sequence_parse_if(const char *, size_t, enum sequence_if *c);
const char	*sequence_if_name(enum sequence_if);
/* Whether a step with condition c goes to a contact who did (1) or did
 * not (0) open or click the previous step (human hits only). */
int		 sequence_if_met(enum sequence_if c, int opened, int clicked);

/* Checks a POST /v1/sequences body (an object): 0 with d filled, or -1
 * with e filled.  Not here: whether the templates, list and From's
 * domain exist (the API asks the store). */
int		 sequence_def_parse(json_t *body, struct sequence_def *d,
		    struct sequence_error *e);

#endif
