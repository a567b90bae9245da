/*
 * fuzz_contact.c: libFuzzer target for src/contact.c, the checks of
 * one contact object of POST/PATCH /v1/contacts: JSON a tenant sends,
 * with the shipped special-category list.  make fuzz builds it with
 * clang (fuzz/contact); make check replays tests/fuzz/contact/.
 *
 * The input is JSON text; an object is checked as POST (email
 * required) and as PATCH (optional); anything else is wrapped as the
 * value of each field of an object first.  It aborts when a result
 * breaks contact_check's contract:
 *  - -1 only for an unknown field, named in bad_field;
 *  - 1 adds at least one entry to rejected, each with an index and an
 *    error code, and leaves no attributes to free;
 *  - 0 leaves an address that validates to itself and that mime_build
 *    takes (or none, on PATCH without email), attributes that are a
 *    JSON object within the bounds (count, value bytes, all together)
 *    of names a merge tag can use, none of them special-category ones,
 *    and a quarantine flag of 0 or 1; every entry it reported names a
 *    special-category attribute.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"

#ifndef FUZZ_SPECIAL_CONF
#define FUZZ_SPECIAL_CONF	"contrib/special-categories.conf"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static struct special	*fuzz_sp;

static const char *const fuzz_fields[] = { "email", "first_name",
    "last_name", "date_of_birth", "gender", "attributes" };

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
		fprintf(stderr, "fuzz_contact: %s\n", err);
		abort();
	}
}

static int
fuzz_known_field(const char *k)
{
	size_t	i;

	for (i = 0; i < FF_NELEM(fuzz_fields); i++)
		if (strcmp(k, fuzz_fields[i]) == 0)
			return 1;
	return 0;
}

static void
fuzz_check_ok(json_t *o, const struct contact_row *row, json_t *rejected,
    size_t before, int need_email)
{
	char		 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	json_error_t	 jerr;
	json_t		*attrs, *v, *e;
	const char	*k;
	size_t		 i, len;

	CHECK(row->quarantined == 0 || row->quarantined == 1);
	CHECK(row->obj == o && row->index == 7);
	if (json_object_get(o, "email") != NULL || need_email) {
		len = strlen(row->addr);
		CHECK(len > 0 && validate_email(row->addr, len, addr, key) == 0);
		CHECK(strcmp(addr, row->addr) == 0 &&
		    strcmp(key, row->key) == 0);
		CHECK(mime_address_valid(row->addr, len));
	}
	for (i = before; i < json_array_size(rejected); i++) {
		e = json_array_get(rejected, i);
		CHECK(strcmp(json_string_value(json_object_get(e, "error")),
		    "special_category_attribute") == 0);
	}
	if (row->attrs == NULL) {
		CHECK(json_object_get(o, "attributes") == NULL);
		return;
	}
	CHECK(strlen(row->attrs) <= CONTACT_ATTRS_BYTES_MAX);
	attrs = json_loads(row->attrs, 0, &jerr);
	CHECK(json_is_object(attrs));
	CHECK(json_object_size(attrs) <= CONTACT_ATTRS_MAX);
	json_object_foreach(attrs, k, v) {
		CHECK(!json_is_string(v) ||
		    json_string_length(v) <= CONTACT_ATTR_VALUE_MAX);
		CHECK(strlen(k) >= 1 && strlen(k) <= CONTACT_ATTR_NAME_MAX);
		for (i = 0; k[i] != '\0'; i++)
			CHECK(isalnum((unsigned char)k[i]) || k[i] == '_');
		CHECK(special_name(fuzz_sp, k, strlen(k)) == NULL);
		CHECK(json_is_string(v) || json_is_number(v) ||
		    json_is_boolean(v));
	}
	json_decref(attrs);
}

static void
fuzz_check(json_t *o, int need_email)
{
	struct contact_row	 row;
	json_t			*rejected, *e;
	const char		*bad = NULL, *k;
	json_t			*v;
	size_t			 i, before;
	int			 rc, unknown = 0;

	json_object_foreach(o, k, v)
		if (!fuzz_known_field(k))
			unknown = 1;
	rejected = json_array();
	/* Entries already there stay as they were. */
	json_array_append_new(rejected, json_string("earlier"));
	before = json_array_size(rejected);
	rc = contact_check(fuzz_sp, o, 7, need_email, rejected, &row, &bad);
	CHECK(rc >= -1 && rc <= 1);
	CHECK((rc == -1) == unknown);
	if (rc == -1) {
		CHECK(bad != NULL && !fuzz_known_field(bad));
	} else if (rc == 1) {
		CHECK(json_array_size(rejected) > before);
		CHECK(row.attrs == NULL);
		for (i = before; i < json_array_size(rejected); i++) {
			e = json_array_get(rejected, i);
			CHECK(json_integer_value(json_object_get(e, "index")) ==
			    7);
			CHECK(json_is_string(json_object_get(e, "error")));
		}
	} else
		fuzz_check_ok(o, &row, rejected, before, need_email);
	CHECK(json_is_string(json_array_get(rejected, 0)));
	free(row.attrs);
	json_decref(rejected);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t	 jerr;
	json_t		*j, *o;
	size_t		 i;

	fuzz_init();
	j = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return 0;
	if (json_is_object(j)) {
		fuzz_check(j, 1);
		fuzz_check(j, 0);
	} else {
		/* A value: as each field in turn, beside a valid email. */
		for (i = 0; i < FF_NELEM(fuzz_fields); i++) {
			o = json_pack("{s:s}", "email", "ann@example.org");
			CHECK(o != NULL);
			json_object_set(o, fuzz_fields[i], j);
			fuzz_check(o, 1);
			(void)contact_valid_text(j);
			json_decref(o);
		}
	}
	json_decref(j);
	return 0;
}
