/*
 * segment.h: a segment's rules, parsed from the JSON a tenant sends and
 * evaluated on one contact (pure: no Redis, no clock, no I/O).
 *
 * A segment is {"name", "match": "all"|"any", "rules": [...]}; a rule
 * names a field and, by kind:
 *   contact fields  email, first_name, last_name, gender, date_of_birth,
 *                   created_at, updated_at: op and value
 *   attributes.X    an attribute of the contact: op and value
 *   list            membership of list "value": op eq (on it, the
 *                   default) or neq (not on it)
 *   opened, not_opened, clicked, not_clicked
 *                   a human open or click of "campaign" (machine hits,
 *                   image proxies and link scanners, count not: the
 *                   trackers keep only human ones in the openers and
 *                   clickers sets); not_opened and not_clicked match
 *                   only contacts the campaign was sent to.
 * ops: eq, neq, contains, gt, lt, exists, before, after.
 *
 * The membership and engagement a rule needs are read by the caller
 * (store_segment.c), a page of contacts at a time: the segment lists
 * the distinct sets it asks about (segment_sets), and the evaluation
 * asks the caller's probe whether the contact is in set i.
 */
#ifndef FANFARE_SEGMENT_H
#define FANFARE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fanfare.h"

#define SEGMENT_NAME_MAX	200	/* bytes of a name */
#define SEGMENT_RULES_MAX	32	/* rules of one segment */
#define SEGMENT_VALUE_MAX	256	/* bytes of a rule's string value */
#define SEGMENT_DEF_MAX		16384	/* bytes of the stored definition */

/* A set a rule asks about; each distinct one is listed once. */
enum segment_set_kind {
	SEGMENT_SET_LIST,	/* {t:T}:list:ID:members */
	SEGMENT_SET_OPENERS,	/* {t:T:c:C}:openers, human opens */
	SEGMENT_SET_CLICKERS,	/* {t:T:c:C}:clickers, human clicks */
	SEGMENT_SET_MAILED	/* sent the campaign ({t:T}:camp:C:msgs) */
};

struct segment_set {
	enum segment_set_kind	 kind;
	uint64_t		 id;	/* the list or the campaign */
};

struct segment;

/* Why a definition was refused: the API's status and code. */
struct segment_error {
	int		 status;	/* 400 unknown_field, else 422 */
	const char	*code;
	int		 rule;		/* the rule at fault, or -1 */
	char		 message[200];
};

/*
 * Parses and checks a definition (a JSON object; name required unless
 * need_name is 0, as a PATCH's rules alone): a new segment, or NULL
 * with err filled.  sp screens attribute names and values (a rule that
 * names or seeks a special category: 422 special_category_reference);
 * NULL skips that (tests only).
 */
struct segment	*segment_parse(json_t *def, const struct special *sp,
		    int need_name, struct segment_error *err);
void		 segment_free(struct segment *);

/* The canonical definition (name, match, rules), new reference. */
json_t		*segment_json(const struct segment *);
const char	*segment_name(const struct segment *);

/* The distinct sets the rules ask about, *n of them. */
const struct segment_set *segment_sets(const struct segment *, size_t *n);

/* The list whose members hold every match (match "all" with a rule
 * "list eq L"), so a scan may walk it instead of every contact; 0 when
 * there is none. */
uint64_t	 segment_scan_list(const struct segment *);

/* Whether the contact is in set i of segment_sets; 1 or 0. */
typedef int	 segment_in_set_fn(void *arg, size_t set);

/* 1 when the contact matches, else 0. */
int		 segment_match(const struct segment *, const struct contact *,
		    segment_in_set_fn *, void *arg);

/* "YYYY-MM-DD" or RFC 3339 ("YYYY-MM-DDTHH:MM[:SS[.frac]](Z|+HH:MM)")
 * as ms since the epoch (a date alone: its midnight UTC); 0 with *ms,
 * -1 when it is neither or before 1970. */
int		 segment_parse_time(const char *, size_t, uint64_t *ms);

#endif
