/*
 * contact.c: the checks of one contact object of the JSON API (pure:
 * bytes in, verdict out; no Redis).  A row either passes whole or is
 * reported in `rejected` with a code and not written at all; an unknown
 * field is the caller's 400.  Attributes named on the special-category
 * list are dropped and reported; an attribute value, first_name,
 * last_name or gender holding a special-category term marks the contact
 * quarantined.
 *
 * And the other way: a stored contact's hash, read into a struct
 * contact (contact_hash_set), and that shown as the API's JSON.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "tzsched.h"

static const char *const contact_fields[] = { "email", "first_name",
    "last_name", "date_of_birth", "gender", "attributes",
    "timezone", NULL };

void
contact_reject(json_t *rejected, size_t index, const char *email, const char *code,
    const char *attribute)
{
	json_t	*o = json_pack("{s:I, s:s, s:s}", "index", (json_int_t)index,
	    "email", email ? email : "", "error", code);

	if (attribute != NULL)
		json_object_set_new(o, "attribute", json_string(attribute));
	json_array_append_new(rejected, o);
}

/* A printable single-line string of at most CONTACT_TEXT_MAX bytes, or null. */
int
contact_valid_text(json_t *v)
{
	const char	*s;
	size_t		 i, n;

	if (v == NULL || json_is_null(v))
		return 1;
	if (!json_is_string(v) || (n = json_string_length(v)) > CONTACT_TEXT_MAX)
		return 0;
	s = json_string_value(v);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
valid_attr_name(const char *k)
{
	size_t	n = strlen(k), i;

	if (n == 0 || n > CONTACT_ATTR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_')
			return 0;
	return 1;
}

/*
 * Checks the attributes object; drops special-category names (reported)
 * and tells whether a value holds a special-category term.  Returns the
 * kept attributes as a new object, or NULL (code set, and *bad the
 * attribute at fault when there is one) when invalid.  The bounds come
 * first, so a 100,000-attribute object costs one size check.
 */
static json_t *
check_attributes(const struct special *sp, json_t *attrs, json_t *rejected,
    size_t index, const char *email, int *quarantined, const char **code,
    const char **bad)
{
	const char	*k;
	json_t		*v, *kept;

	*quarantined = 0;
	if (!json_is_object(attrs)) {
		*code = "invalid_attributes";
		return NULL;
	}
	if (json_object_size(attrs) > CONTACT_ATTRS_MAX) {
		*code = "too_many_attributes";
		return NULL;
	}
	kept = json_object();
	json_object_foreach(attrs, k, v) {
		if (!valid_attr_name(k)) {
			*code = "invalid_attribute_name";
			goto bad;
		}
		if (!json_is_string(v) && !json_is_number(v) &&
		    !json_is_boolean(v)) {
			*code = "invalid_attribute_value";
			*bad = k;
			goto bad;
		}
		if (json_is_string(v) &&
		    json_string_length(v) > CONTACT_ATTR_VALUE_MAX) {
			*code = "attribute_value_too_long";
			*bad = k;
			goto bad;
		}
		if (special_name(sp, k, strlen(k)) != NULL) {
			contact_reject(rejected, index, email,
			    "special_category_attribute", k);
			continue;	/* never stored */
		}
		if (json_is_string(v) && special_value(sp,
		    json_string_value(v), json_string_length(v)) != NULL)
			*quarantined = 1;
		json_object_set(kept, k, v);
	}
	return kept;
bad:
	json_decref(kept);
	return NULL;
}

/*
 * The free-text fields besides the attributes, and how each is screened
 * for special-category terms: a person's name spares the one-word terms
 * that are also names ("Islam", "Krebs"; the list's person_name), gender
 * is screened like an attribute value.
 */
static const struct {
	const char	*name;
	const char	*(*screen)(const struct special *, const char *,
			    size_t);
} screened_fields[] = {
	{ "first_name", special_person_name },
	{ "last_name", special_person_name },
	{ "gender", special_value },
	{ NULL, NULL }
};

/* Whether a screened field of o holds a term (o is valid already). */
static int
screen_fields(const struct special *sp, json_t *o)
{
	json_t	*v;
	size_t	 i;

	for (i = 0; screened_fields[i].name != NULL; i++)
		if ((v = json_object_get(o, screened_fields[i].name)) !=
		    NULL && json_is_string(v) && screened_fields[i].screen(sp,
		    json_string_value(v), json_string_length(v)) != NULL)
			return 1;
	return 0;
}

/*
 * Validates one contact object.  0: row filled; 1: rejected (reported);
 * -1: an unknown field (the caller answers 400 for the whole request).
 */
int
contact_check(const struct special *sp, json_t *o, size_t index,
    int need_email, json_t *rejected, struct contact_row *row,
    const char **bad_field)
{
	const char	*k, *code = NULL, *s, *bad_attr = NULL;
	json_t		*v, *email, *dob, *kept;
	size_t		 i, n;
	char		 trimmed[FF_EMAIL_MAX + 64];

	memset(row, 0, sizeof(*row));
	row->index = index;
	row->obj = o;
	json_object_foreach(o, k, v) {
		for (i = 0; contact_fields[i] != NULL; i++)
			if (strcmp(k, contact_fields[i]) == 0)
				break;
		if (contact_fields[i] == NULL) {
			*bad_field = k;
			return -1;
		}
	}
	email = json_object_get(o, "email");
	if (email != NULL || need_email) {
		if (!json_is_string(email) ||
		    (n = json_string_length(email)) >= sizeof(trimmed)) {
			contact_reject(rejected, index, NULL, "invalid_email", NULL);
			return 1;
		}
		s = json_string_value(email);
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		memcpy(trimmed, s, n);
		trimmed[n] = '\0';
		if (validate_email(trimmed, n, row->addr, row->key) == -1) {
			contact_reject(rejected, index, json_string_value(email),
			    "invalid_email", NULL);
			return 1;
		}
		/* Valid, but the sender could never mail it (a UTF-8 local
		 * part needs SMTPUTF8): refused now rather than failed at
		 * every send. */
		if (!mime_address_valid(row->addr, strlen(row->addr))) {
			contact_reject(rejected, index, json_string_value(email),
			    "unsupported_address", NULL);
			return 1;
		}
	}
	if (!contact_valid_text(json_object_get(o, "first_name")) ||
	    !contact_valid_text(json_object_get(o, "last_name")) ||
	    !contact_valid_text(json_object_get(o, "gender")))
		code = "invalid_field";
	dob = json_object_get(o, "date_of_birth");
	if (code == NULL && dob != NULL && !json_is_null(dob) &&
	    (!json_is_string(dob) || validate_date(json_string_value(dob),
	    json_string_length(dob)) == -1))
		code = "invalid_date";
	/* A zone the system's zoneinfo knows: local_time campaigns send
	 * at its wall clock (tzsched.h). */
	v = json_object_get(o, "timezone");
	if (code == NULL && v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || (json_string_length(v) > 0 &&
	    !tz_exists(TZ_DIR_DEFAULT, json_string_value(v),
	    json_string_length(v)))))
		code = "invalid_timezone";
	if (code == NULL && (v = json_object_get(o, "attributes")) != NULL) {
		kept = check_attributes(sp, v, rejected, index, row->addr,
		    &row->quarantined, &code, &bad_attr);
		if (kept != NULL) {
			row->attrs = json_dumps(kept, JSON_COMPACT |
			    JSON_SORT_KEYS);
			json_decref(kept);
			if (strlen(row->attrs) > CONTACT_ATTRS_BYTES_MAX) {
				code = "attributes_too_large";
				free(row->attrs);
				row->attrs = NULL;
			}
		}
	}
	if (code == NULL) {
		if (screen_fields(sp, o))
			row->quarantined = 1;
		row->screened_all = json_object_get(o, "attributes") != NULL;
		for (i = 0; screened_fields[i].name != NULL; i++)
			if (json_object_get(o, screened_fields[i].name) == NULL)
				row->screened_all = 0;
	}
	if (code != NULL) {
		contact_reject(rejected, index, row->addr, code, bad_attr);
		free(row->attrs);
		row->attrs = NULL;
		return 1;
	}
	return 0;
}

/* ------------------------------------------------- a stored contact */

void
contact_init(struct contact *c, uint64_t id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->attributes = json_object();
}

void
contact_clear(struct contact *c)
{
	free(c->first_name);
	free(c->last_name);
	free(c->gender);
	free(c->date_of_birth);
	free(c->timezone);
	c->timezone = NULL;
	json_decref(c->attributes);
	c->first_name = c->last_name = c->gender = c->date_of_birth = NULL;
	c->attributes = NULL;
}

/* A text field: empty is the same as not set. */
static void
set_text(char **dst, const char *value, size_t vlen)
{
	free(*dst);
	*dst = vlen > 0 ? xstrndup(value, vlen) : NULL;
}

static int
field_is(const char *field, size_t flen, const char *name)
{
	return strlen(name) == flen && memcmp(field, name, flen) == 0;
}

void
contact_hash_set(struct contact *c, const char *field, size_t flen,
    const char *value, size_t vlen)
{
	json_t		*attrs;
	uint64_t	 ms;

	if (field_is(field, flen, "email") || field_is(field, flen, "key")) {
		char *dst = field[0] == 'e' ? c->email : c->key;

		if (vlen <= FF_EMAIL_MAX && memchr(value, '\0', vlen) == NULL) {
			memcpy(dst, value, vlen);
			dst[vlen] = '\0';
		}
	} else if (field_is(field, flen, "first_name"))
		set_text(&c->first_name, value, vlen);
	else if (field_is(field, flen, "last_name"))
		set_text(&c->last_name, value, vlen);
	else if (field_is(field, flen, "gender"))
		set_text(&c->gender, value, vlen);
	else if (field_is(field, flen, "date_of_birth"))
		set_text(&c->date_of_birth, value, vlen);
	else if (field_is(field, flen, "timezone"))
		set_text(&c->timezone, value, vlen);
	else if (field_is(field, flen, "attributes")) {
		/* A value that is not a JSON object leaves none. */
		attrs = json_loadb(value, vlen, 0, NULL);
		if (json_is_object(attrs)) {
			json_decref(c->attributes);
			c->attributes = attrs;
		} else
			json_decref(attrs);
	} else if (field_is(field, flen, "created_at") ||
	    field_is(field, flen, "updated_at")) {
		if (parse_u64(value, vlen, &ms) == 0)
			*(field[0] == 'c' ? &c->created_at : &c->updated_at) =
			    ms;
	} else if (field_is(field, flen, "quarantined"))
		c->quarantined = vlen == 1 && value[0] == '1';
	else if (field_is(field, flen, "suppressed"))
		c->suppressed = vlen == 1 && value[0] == '1';
}

/* A string, or null (as for one that is not UTF-8). */
static json_t *
text_or_null(const char *s)
{
	json_t	*v = s != NULL ? json_string(s) : NULL;

	return v != NULL ? v : json_null();
}

static json_t *
time_or_null(uint64_t ms)
{
	char	ts[32];

	return ms != 0 ? json_string(fmt_iso_time(ms, ts, sizeof(ts))) :
	    json_null();
}

json_t *
contact_json(const struct contact *c)
{
	json_t	*o;
	char	 id[24];

	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->id);
	o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:O, s:o, s:o}",
	    "id", id,
	    "first_name", text_or_null(c->first_name),
	    "last_name", text_or_null(c->last_name),
	    "gender", text_or_null(c->gender),
	    "date_of_birth", text_or_null(c->date_of_birth),
	    "attributes", c->attributes,
	    "created_at", time_or_null(c->created_at),
	    "updated_at", time_or_null(c->updated_at));
	if (c->email[0] != '\0')
		json_object_set_new(o, "email", text_or_null(c->email));
	if (c->timezone != NULL)
		json_object_set_new(o, "timezone", text_or_null(c->timezone));
	json_object_set_new(o, "status", json_string(c->opted_out ?
	    "opted_out" : c->quarantined ? "quarantined" : "active"));
	return o;
}

/* ------------------------------------------------- the app's search */

/* ASCII case folding only: a query is bytes, and a UTF-8 letter's
 * other case is another byte sequence (documented in README). */
static int
fold(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

int
contact_text_contains(const char *s, size_t len, const char *q, size_t qlen)
{
	size_t	i, j;

	if (qlen == 0)
		return 1;
	if (s == NULL || len < qlen)
		return 0;
	for (i = 0; i + qlen <= len; i++) {
		for (j = 0; j < qlen; j++)
			if (fold((unsigned char)s[i + j]) !=
			    fold((unsigned char)q[j]))
				break;
		if (j == qlen)
			return 1;
	}
	return 0;
}
