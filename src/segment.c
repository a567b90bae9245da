/*
 * segment.c: a segment's rules (segment.h says what they mean): the
 * checks of a definition a tenant sends, and its evaluation on one
 * contact.  Pure: bytes and a struct contact in, a verdict out; what a
 * contact's lists and engagement are comes from the caller's probe.
 *
 * Comparisons, as a marketer reads them: text is compared without
 * regard to ASCII case ("Pro" eq "pro"); two values that both read as
 * numbers are compared as numbers (an attribute 3 eq "3"); a field the
 * contact lacks matches neq and no other op but exists false.  before
 * and after are strict and compare instants (a date alone is its
 * midnight UTC).
 *
 * Never: accept a rule that names or seeks a special category (GDPR
 * Art. 9): the segment would select people by it.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "segment.h"

enum rule_kind {
	RULE_FIELD,		/* a contact field */
	RULE_ATTRIBUTE,		/* attributes.X */
	RULE_SET		/* list, opened, not_opened... */
};

enum rule_op {
	OP_EQ, OP_NEQ, OP_CONTAINS, OP_GT, OP_LT, OP_EXISTS, OP_BEFORE,
	OP_AFTER
};

static const char *const op_names[] = { "eq", "neq", "contains", "gt",
    "lt", "exists", "before", "after" };

#define BIT(op)		(1u << (op))
#define TEXT_OPS	(BIT(OP_EQ) | BIT(OP_NEQ) | BIT(OP_CONTAINS) | \
			    BIT(OP_EXISTS))
#define TIME_OPS	(BIT(OP_BEFORE) | BIT(OP_AFTER) | BIT(OP_EXISTS))

enum contact_field {
	FIELD_EMAIL, FIELD_FIRST_NAME, FIELD_LAST_NAME, FIELD_GENDER,
	FIELD_DATE_OF_BIRTH, FIELD_CREATED_AT, FIELD_UPDATED_AT
};

/* The contact fields a rule may name, and the ops each takes. */
static const struct {
	const char		*name;
	enum contact_field	 field;
	unsigned		 ops;
	int			 screened;	/* values seek a category? */
} contact_fields[] = {
	{ "email", FIELD_EMAIL, TEXT_OPS, 0 },
	{ "first_name", FIELD_FIRST_NAME, TEXT_OPS, 0 },
	{ "last_name", FIELD_LAST_NAME, TEXT_OPS, 0 },
	{ "gender", FIELD_GENDER, TEXT_OPS, 1 },
	{ "date_of_birth", FIELD_DATE_OF_BIRTH, TIME_OPS | BIT(OP_EQ) |
	    BIT(OP_NEQ), 0 },
	{ "created_at", FIELD_CREATED_AT, TIME_OPS, 0 },
	{ "updated_at", FIELD_UPDATED_AT, TIME_OPS, 0 },
};

/* The engagement fields: the set asked, and whether it is negated
 * (then only among those mailed). */
static const struct {
	const char		*name;
	enum segment_set_kind	 kind;
	int			 negate;
} engagement_fields[] = {
	{ "opened", SEGMENT_SET_OPENERS, 0 },
	{ "not_opened", SEGMENT_SET_OPENERS, 1 },
	{ "clicked", SEGMENT_SET_CLICKERS, 0 },
	{ "not_clicked", SEGMENT_SET_CLICKERS, 1 },
};

/* A rule's value, read every way it may be compared. */
struct value {
	const char	*text;		/* the string, "true"/"false", or a
					 * number's digits */
	size_t		 len;
	double		 num;
	int		 is_num;
	uint64_t	 time_ms;
	int		 is_time;
	int		 truth;		/* exists: presence wanted */
};

struct rule {
	enum rule_kind	 kind;
	enum rule_op	 op;
	enum contact_field field;
	char		*attr;		/* RULE_ATTRIBUTE: its name */
	size_t		 set;		/* RULE_SET: the set asked */
	size_t		 mailed;	/* RULE_SET negated, engagement: the
					 * campaign's mailed set */
	int		 negate;
	int		 engagement;
	char		*text;		/* value.text's storage */
	struct value	 value;
};

struct segment {
	json_t			*def;	/* canonical: name, match, rules */
	int			 any;
	struct rule		 rules[SEGMENT_RULES_MAX];
	size_t			 nrules;
	struct segment_set	 sets[2 * SEGMENT_RULES_MAX];
	size_t			 nsets;
};

static const char *const segment_keys[] = { "name", "match", "rules",
    NULL };
static const char *const rule_keys[] = { "field", "op", "value",
    "campaign", NULL };

static void
seg_err(struct segment_error *err, int status, const char *code, int rule,
    const char *fmt, ...) FF_ATTR_PRINTF(5, 6);

static void
seg_err(struct segment_error *err, int status, const char *code, int rule,
    const char *fmt, ...)
{
	va_list	ap;
	char	msg[sizeof(err->message) - 32];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err->status = status;
	err->code = code;
	err->rule = rule;
	if (rule >= 0)
		snprintf(err->message, sizeof(err->message), "rules[%d]: %s",
		    rule, msg);
	else
		snprintf(err->message, sizeof(err->message), "%s", msg);
}

/* 0 when every member of o is in allowed, else -1 with err (400). */
static int
known_keys(json_t *o, const char *const *allowed, int rule,
    struct segment_error *err)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			seg_err(err, 400, "unknown_field", rule, "unknown "
			    "field \"%.64s\"", k);
			return -1;
		}
	}
	return 0;
}

/* Printable text without control bytes. */
static int
plain_text(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* The whole of s as a finite number; 0 with *out, or -1. */
static int
parse_number(const char *s, size_t n, double *out)
{
	char	 buf[64], *end;
	double	 d;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (isspace((unsigned char)buf[0]))
		return -1;
	errno = 0;
	d = strtod(buf, &end);
	if (*end != '\0' || errno != 0 || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n digits at s as a number; -1 when one is no digit. */
static int
digits(const char *s, size_t n)
{
	int	v = 0;
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
segment_parse_time(const char *s, size_t n, uint64_t *ms)
{
	static const unsigned	mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31,
				    30, 31, 30, 31 };
	int			y, mo, d, h = 0, mi = 0, sec = 0, oh, om;
	int64_t			t, frac = 0, scale = 100;
	size_t			i;

	if (n < 10 || s[4] != '-' || s[7] != '-' ||
	    (y = digits(s, 4)) == -1 || (mo = digits(s + 5, 2)) == -1 ||
	    (d = digits(s + 8, 2)) == -1 || mo < 1 || mo > 12 || d < 1 ||
	    (unsigned)d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0))) || y < 1970)
		return -1;
	i = 10;
	if (n > 10) {
		if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		    n < 16 || s[13] != ':' ||
		    (h = digits(s + 11, 2)) == -1 ||
		    (mi = digits(s + 14, 2)) == -1 || h > 23 || mi > 59)
			return -1;
		i = 16;
		if (i < n && s[i] == ':') {
			if (n < 19 || (sec = digits(s + 17, 2)) == -1 ||
			    sec > 60)
				return -1;
			i = 19;
			if (i < n && s[i] == '.') {
				for (i++; i < n && isdigit((unsigned char)s[i]);
				    i++) {
					frac += (s[i] - '0') * scale;
					scale /= 10;
				}
				if (s[i - 1] == '.')
					return -1;
			}
		}
		if (i == n)
			return -1;	/* RFC 3339 wants the offset */
		if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
			oh = om = 0;
		else if ((s[i] == '+' || s[i] == '-') && n - i == 6 &&
		    s[i + 3] == ':' && (oh = digits(s + i + 1, 2)) != -1 &&
		    (om = digits(s + i + 4, 2)) != -1 && oh <= 23 && om <= 59) {
			if (s[i] == '-') {
				oh = -oh;
				om = -om;
			}
		} else
			return -1;
		h -= oh;
		mi -= om;
	}
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
	if (t < 0)
		return -1;
	*ms = (uint64_t)t * 1000 + (uint64_t)frac;
	return 0;
}

/* The set (kind, id) among seg's, added when new; its index. */
static size_t
set_index(struct segment *seg, enum segment_set_kind kind, uint64_t id)
{
	size_t	i;

	for (i = 0; i < seg->nsets; i++)
		if (seg->sets[i].kind == kind && seg->sets[i].id == id)
			return i;
	seg->sets[seg->nsets].kind = kind;
	seg->sets[seg->nsets].id = id;
	return seg->nsets++;
}

/* An id given as "12" or 12; 0 with *id (not 0), or -1. */
static int
parse_ref(json_t *v, uint64_t *id)
{
	if (json_is_string(v))
		return parse_u64(json_string_value(v), json_string_length(v),
		    id) == -1 || *id == 0 ? -1 : 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*id = (uint64_t)json_integer_value(v);
		return 0;
	}
	return -1;
}

/* An attribute name a contact may have: [A-Za-z0-9_]{1,64}. */
static int
attr_name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > CONTACT_ATTR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/*
 * Reads v, the rule's value, for op into r->value (text copied into
 * r->text); 0, or -1 with err.
 */
static int
rule_value(struct rule *r, json_t *v, int idx, int numbers_ok,
    struct segment_error *err)
{
	struct value	*val = &r->value;
	char		 buf[64];
	const char	*s;
	size_t		 n;

	if (r->op == OP_EXISTS) {
		if (v != NULL && !json_is_boolean(v)) {
			seg_err(err, 422, "invalid_rule", idx, "exists takes "
			    "no value, or true or false");
			return -1;
		}
		val->truth = v == NULL || json_is_true(v);
		return 0;
	}
	if (v == NULL) {
		seg_err(err, 422, "invalid_rule", idx, "%s needs a value",
		    op_names[r->op]);
		return -1;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		if (n > SEGMENT_VALUE_MAX || !plain_text(s, n) ||
		    memchr(s, '\0', n) != NULL) {
			seg_err(err, 422, "invalid_rule", idx, "value: a string "
			    "of at most %d bytes without control characters",
			    SEGMENT_VALUE_MAX);
			return -1;
		}
	} else if (numbers_ok && json_is_integer(v)) {
		n = (size_t)snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		s = buf;
	} else if (numbers_ok && json_is_real(v)) {
		n = (size_t)snprintf(buf, sizeof(buf), "%.17g",
		    json_real_value(v));
		s = buf;
	} else if (numbers_ok && json_is_boolean(v) &&
	    (r->op == OP_EQ || r->op == OP_NEQ)) {
		s = json_is_true(v) ? "true" : "false";
		n = strlen(s);
	} else {
		seg_err(err, 422, "invalid_rule", idx, "value: a %s is "
		    "required", numbers_ok ? "string, number or boolean" :
		    "string");
		return -1;
	}
	r->text = xstrndup(s, n);
	val->text = r->text;
	val->len = n;
	val->is_num = parse_number(s, n, &val->num) == 0;
	val->is_time = segment_parse_time(s, n, &val->time_ms) == 0;
	switch (r->op) {
	case OP_CONTAINS:
		if (n == 0) {
			seg_err(err, 422, "invalid_rule", idx, "contains needs "
			    "a non-empty value");
			return -1;
		}
		break;
	case OP_GT:
	case OP_LT:
		if (!val->is_num) {
			seg_err(err, 422, "invalid_rule", idx, "%s needs a "
			    "number", op_names[r->op]);
			return -1;
		}
		break;
	case OP_BEFORE:
	case OP_AFTER:
		if (!val->is_time) {
			seg_err(err, 422, "invalid_rule", idx, "%s needs a date "
			    "(YYYY-MM-DD) or an RFC 3339 time",
			    op_names[r->op]);
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* The op of a rule; -1 with err when it is missing or unknown. */
static int
rule_op(json_t *o, int idx, enum rule_op *op, struct segment_error *err)
{
	json_t	*v = json_object_get(o, "op");
	size_t	 i;

	if (json_is_string(v))
		for (i = 0; i < FF_NELEM(op_names); i++)
			if (strcmp(json_string_value(v), op_names[i]) == 0) {
				*op = (enum rule_op)i;
				return 0;
			}
	seg_err(err, 422, "invalid_rule", idx, "op: one of eq, neq, contains, "
	    "gt, lt, exists, before, after");
	return -1;
}

/* One rule of the definition into seg->rules[idx]; 0, or -1 with err. */
static int
rule_parse(struct segment *seg, json_t *o, int idx,
    const struct special *sp, struct segment_error *err)
{
	struct rule	*r = &seg->rules[idx];
	json_t		*f, *v;
	const char	*name;
	size_t		 i, n;
	uint64_t	 id;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o)) {
		seg_err(err, 422, "invalid_rule", idx, "a rule is an object");
		return -1;
	}
	if (known_keys(o, rule_keys, idx, err) == -1)
		return -1;
	if (!json_is_string(f = json_object_get(o, "field"))) {
		seg_err(err, 422, "invalid_rule", idx, "field: a string is "
		    "required");
		return -1;
	}
	name = json_string_value(f);
	n = json_string_length(f);
	v = json_object_get(o, "value");

	for (i = 0; i < FF_NELEM(engagement_fields); i++)
		if (strcmp(name, engagement_fields[i].name) == 0)
			break;
	if (i < FF_NELEM(engagement_fields)) {
		if (json_object_get(o, "op") != NULL || v != NULL) {
			seg_err(err, 422, "invalid_rule", idx, "%s takes a "
			    "campaign, no op or value", name);
			return -1;
		}
		if (parse_ref(json_object_get(o, "campaign"), &id) == -1) {
			seg_err(err, 422, "invalid_rule", idx, "%s needs a "
			    "campaign id", name);
			return -1;
		}
		r->kind = RULE_SET;
		r->engagement = 1;
		r->negate = engagement_fields[i].negate;
		r->set = set_index(seg, engagement_fields[i].kind, id);
		if (r->negate)
			r->mailed = set_index(seg, SEGMENT_SET_MAILED, id);
		return 0;
	}
	if (json_object_get(o, "campaign") != NULL) {
		seg_err(err, 422, "invalid_rule", idx, "campaign belongs to an "
		    "engagement rule (opened, not_opened, clicked, "
		    "not_clicked)");
		return -1;
	}
	if (strcmp(name, "list") == 0) {
		r->op = OP_EQ;
		if (json_object_get(o, "op") != NULL &&
		    rule_op(o, idx, &r->op, err) == -1)
			return -1;
		if (r->op != OP_EQ && r->op != OP_NEQ) {
			seg_err(err, 422, "invalid_rule", idx, "list takes op "
			    "eq (on the list) or neq (not on it)");
			return -1;
		}
		if (parse_ref(v, &id) == -1) {
			seg_err(err, 422, "invalid_rule", idx, "list needs a "
			    "list id as its value");
			return -1;
		}
		r->kind = RULE_SET;
		r->negate = r->op == OP_NEQ;
		r->set = set_index(seg, SEGMENT_SET_LIST, id);
		return 0;
	}
	if (rule_op(o, idx, &r->op, err) == -1)
		return -1;
	if (n > 11 && memcmp(name, "attributes.", 11) == 0) {
		if (!attr_name_ok(name + 11, n - 11)) {
			seg_err(err, 422, "invalid_rule", idx, "field: "
			    "attributes.NAME, NAME of letters, digits and _ "
			    "(at most %d)", CONTACT_ATTR_NAME_MAX);
			return -1;
		}
		if (sp != NULL && special_name(sp, name + 11, n - 11) != NULL) {
			seg_err(err, 422, "special_category_reference", idx,
			    "%s names a special-category attribute", name);
			return -1;
		}
		r->kind = RULE_ATTRIBUTE;
		r->attr = xstrndup(name + 11, n - 11);
		if (rule_value(r, v, idx, 1, err) == -1)
			return -1;
		if (sp != NULL && json_is_string(v) && special_value(sp,
		    r->value.text, r->value.len) != NULL) {
			seg_err(err, 422, "special_category_reference", idx,
			    "the value seeks a special category");
			return -1;
		}
		return 0;
	}
	for (i = 0; i < FF_NELEM(contact_fields); i++)
		if (strcmp(name, contact_fields[i].name) == 0)
			break;
	if (i == FF_NELEM(contact_fields)) {
		seg_err(err, 422, "invalid_rule", idx, "field: a contact field "
		    "(email, first_name, last_name, gender, date_of_birth, "
		    "created_at, updated_at), attributes.NAME, list, opened, "
		    "not_opened, clicked or not_clicked");
		return -1;
	}
	if (!(contact_fields[i].ops & BIT(r->op))) {
		seg_err(err, 422, "invalid_rule", idx, "%s does not take op %s",
		    name, op_names[r->op]);
		return -1;
	}
	r->kind = RULE_FIELD;
	r->field = contact_fields[i].field;
	if (rule_value(r, v, idx, 0, err) == -1)
		return -1;
	if (sp != NULL && contact_fields[i].screened && r->text != NULL &&
	    special_value(sp, r->value.text, r->value.len) != NULL) {
		seg_err(err, 422, "special_category_reference", idx,
		    "the value seeks a special category");
		return -1;
	}
	return 0;
}

/* The rule as stored: the fields it was given, which were all checked. */
static json_t *
rule_json(json_t *o)
{
	json_t	*out = json_object();
	size_t	 i;

	for (i = 0; rule_keys[i] != NULL; i++)
		if (json_object_get(o, rule_keys[i]) != NULL)
			json_object_set(out, rule_keys[i],
			    json_object_get(o, rule_keys[i]));
	return out;
}

struct segment *
segment_parse(json_t *def, const struct special *sp, int need_name,
    struct segment_error *err)
{
	struct segment	*seg;
	json_t		*v, *rules, *canon_rules;
	const char	*match = "all";
	size_t		 i;

	memset(err, 0, sizeof(*err));
	if (!json_is_object(def)) {
		seg_err(err, 422, "invalid_segment", -1, "a segment is a JSON "
		    "object");
		return NULL;
	}
	if (known_keys(def, segment_keys, -1, err) == -1)
		return NULL;
	v = json_object_get(def, "name");
	if ((v != NULL || need_name) && (!json_is_string(v) ||
	    json_string_length(v) == 0 ||
	    json_string_length(v) > SEGMENT_NAME_MAX ||
	    !plain_text(json_string_value(v), json_string_length(v)))) {
		seg_err(err, 422, "invalid_name", -1, "name: 1 to %d bytes "
		    "without control characters", SEGMENT_NAME_MAX);
		return NULL;
	}
	if ((v = json_object_get(def, "match")) != NULL) {
		if (!json_is_string(v) || (strcmp(json_string_value(v),
		    "all") != 0 && strcmp(json_string_value(v), "any") != 0)) {
			seg_err(err, 422, "invalid_match", -1, "match: \"all\" "
			    "or \"any\"");
			return NULL;
		}
		match = json_string_value(v);
	}
	rules = json_object_get(def, "rules");
	if (!json_is_array(rules) || json_array_size(rules) >
	    SEGMENT_RULES_MAX) {
		seg_err(err, 422, "invalid_rules", -1, "rules: an array of at "
		    "most %d rules", SEGMENT_RULES_MAX);
		return NULL;
	}
	seg = xcalloc(1, sizeof(*seg));
	seg->any = strcmp(match, "any") == 0;
	canon_rules = json_array();
	seg->def = json_pack("{s:s, s:o}", "match", match, "rules",
	    canon_rules);
	if ((v = json_object_get(def, "name")) != NULL)
		json_object_set(seg->def, "name", v);
	for (i = 0; i < json_array_size(rules); i++) {
		seg->nrules = i + 1;	/* rule i is freed with the rest */
		if (rule_parse(seg, json_array_get(rules, i), (int)i, sp,
		    err) == -1) {
			segment_free(seg);
			return NULL;
		}
		json_array_append_new(canon_rules,
		    rule_json(json_array_get(rules, i)));
	}
	return seg;
}

void
segment_free(struct segment *seg)
{
	size_t	i;

	if (seg == NULL)
		return;
	for (i = 0; i < seg->nrules; i++) {
		free(seg->rules[i].attr);
		free(seg->rules[i].text);
	}
	json_decref(seg->def);
	free(seg);
}

json_t *
segment_json(const struct segment *seg)
{
	return json_deep_copy(seg->def);
}

const char *
segment_name(const struct segment *seg)
{
	json_t	*v = json_object_get(seg->def, "name");

	return json_is_string(v) ? json_string_value(v) : NULL;
}

const struct segment_set *
segment_sets(const struct segment *seg, size_t *n)
{
	*n = seg->nsets;
	return seg->sets;
}

uint64_t
segment_scan_list(const struct segment *seg)
{
	const struct rule	*r;
	size_t			 i;

	if (seg->any)
		return 0;
	for (i = 0; i < seg->nrules; i++) {
		r = &seg->rules[i];
		if (r->kind == RULE_SET && !r->engagement && !r->negate)
			return seg->sets[r->set].id;
	}
	return 0;
}

/* ------------------------------------------------------------ evaluation */

/* Whether needle (nn bytes) is in hay, ASCII case aside. */
static int
contains_ci(const char *hay, size_t hn, const char *needle, size_t nn)
{
	size_t	i;

	if (nn > hn)
		return 0;
	for (i = 0; i + nn <= hn; i++)
		if (strncasecmp(hay + i, needle, nn) == 0)
			return 1;
	return 0;
}

/*
 * A comparison of the contact's value (text s of n bytes, NULL when it
 * has none; t its time when it is one, for a time field) with the rule.
 */
static int
compare(const struct rule *r, const char *s, size_t n, const uint64_t *t)
{
	const struct value	*val = &r->value;
	uint64_t		 tm;
	double			 d;
	int			 eq;

	if (r->op == OP_EXISTS)
		return (s != NULL || t != NULL) == val->truth;
	if (s == NULL && t == NULL)
		return r->op == OP_NEQ;
	switch (r->op) {
	case OP_EQ:
	case OP_NEQ:
		if (s == NULL)
			eq = 0;
		else if (val->is_num && parse_number(s, n, &d) == 0)
			eq = d == val->num;
		else
			eq = n == val->len && strncasecmp(s, val->text, n) ==
			    0;
		return r->op == OP_EQ ? eq : !eq;
	case OP_CONTAINS:
		return s != NULL && contains_ci(s, n, val->text, val->len);
	case OP_GT:
	case OP_LT:
		if (s == NULL || parse_number(s, n, &d) == -1)
			return 0;
		return r->op == OP_GT ? d > val->num : d < val->num;
	case OP_BEFORE:
	case OP_AFTER:
		if (t != NULL)
			tm = *t;
		else if (segment_parse_time(s, n, &tm) == -1)
			return 0;
		return r->op == OP_BEFORE ? tm < val->time_ms :
		    tm > val->time_ms;
	case OP_EXISTS:
		break;
	}
	return 0;
}

static int
field_match(const struct rule *r, const struct contact *c)
{
	const char	*s = NULL;
	uint64_t	 t;

	switch (r->field) {
	case FIELD_EMAIL:
		s = c->email[0] != '\0' ? c->email : NULL;
		break;
	case FIELD_FIRST_NAME:
		s = c->first_name;
		break;
	case FIELD_LAST_NAME:
		s = c->last_name;
		break;
	case FIELD_GENDER:
		s = c->gender;
		break;
	case FIELD_DATE_OF_BIRTH:
		s = c->date_of_birth;
		break;
	case FIELD_CREATED_AT:
	case FIELD_UPDATED_AT:
		t = r->field == FIELD_CREATED_AT ? c->created_at :
		    c->updated_at;
		return compare(r, NULL, 0, t != 0 ? &t : NULL);
	}
	if (s != NULL && *s == '\0')
		s = NULL;
	return compare(r, s, s != NULL ? strlen(s) : 0, NULL);
}

static int
attribute_match(const struct rule *r, const struct contact *c)
{
	json_t	*v = NULL;
	char	 buf[64];
	int	 n;

	if (c->attributes != NULL)
		v = json_object_get(c->attributes, r->attr);
	if (json_is_string(v))
		return compare(r, json_string_value(v), json_string_length(v),
		    NULL);
	if (json_is_integer(v))
		n = snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		n = snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" :
		    "false");
	else
		return compare(r, NULL, 0, NULL);
	return compare(r, buf, (size_t)n, NULL);
}

static int
rule_match(const struct rule *r, const struct contact *c,
    segment_in_set_fn *in_set, void *arg)
{
	switch (r->kind) {
	case RULE_FIELD:
		return field_match(r, c);
	case RULE_ATTRIBUTE:
		return attribute_match(r, c);
	case RULE_SET:
		if (!r->negate)
			return in_set(arg, r->set) == 1;
		if (r->engagement && in_set(arg, r->mailed) != 1)
			return 0;
		return in_set(arg, r->set) != 1;
	}
	return 0;
}

int
segment_match(const struct segment *seg, const struct contact *c,
    segment_in_set_fn *in_set, void *arg)
{
	size_t	i;

	for (i = 0; i < seg->nrules; i++)
		if (rule_match(&seg->rules[i], c, in_set, arg) == seg->any)
			return seg->any;
	return !seg->any;
}
