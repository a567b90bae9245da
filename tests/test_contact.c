/*
 * test_contact.c: the JSON checks of one contact (src/contact.c): which
 * rows pass, which are rejected with which code, what is kept, when a
 * contact is quarantined; and a stored contact's hash read back and
 * shown as the API does.  A small rules file of its own keeps these
 * tests apart from the shipped special-category list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fanfare.h"

static struct special *sp;
static char rules[64];
static json_t *last_obj;	/* check()'s object: row.obj borrows it */

static void
setup(void)
{
	char	 err[256];
	FILE	*f;
	int	 fd;

	snprintf(rules, sizeof(rules), "/tmp/test_contact.XXXXXX");
	cr_assert_neq(fd = mkstemp(rules), -1);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs("category health\nname diagnos*\nname blood_type\nterm hiv\n"
	    "category religious_beliefs\nname religion*\nterm muslim\n"
	    "term islam\nperson_name islam\n", f);
	fclose(f);
	sp = special_load(rules, err, sizeof(err));
	cr_assert_not_null(sp, "rules: %s", err);
}

static void
teardown(void)
{
	special_free(sp);
	unlink(rules);
	json_decref(last_obj);
	last_obj = NULL;
}

TestSuite(contact, .init = setup, .fini = teardown);

/* Checks src as row 3 of a request; returns contact_check's result. */
static int
check(const char *src, int need_email, struct contact_row *row,
    json_t **rejected, const char **bad)
{
	json_error_t	 jerr;
	json_t		*o = json_loads(src, 0, &jerr);

	cr_assert_not_null(o, "test JSON %s: %s", src, jerr.text);
	json_decref(last_obj);		/* the previous row is done with */
	last_obj = o;
	*rejected = json_array();
	*bad = NULL;
	return contact_check(sp, o, 3, need_email, *rejected, row, bad);
}

static const char *
first_code(json_t *rejected)
{
	return json_string_value(json_object_get(json_array_get(rejected, 0),
	    "error"));
}

struct reject_case {
	const char	*json;
	const char	*code;
};

Test(contact, rejected_rows)
{
	static const struct reject_case cases[] = {
		{ "{}", "invalid_email" },
		{ "{\"email\": 5}", "invalid_email" },
		{ "{\"email\": \"no-at-sign\"}", "invalid_email" },
		{ "{\"email\": \"a@b\"}", "invalid_email" },
		{ "{\"email\": \"a@x.test\\r\\nBcc: y@z.test\"}",
		    "invalid_email" },
		/* Valid (RFC 6531) but never sendable: no SMTPUTF8. */
		{ "{\"email\": \"j\\u00f6rg@x.test\"}", "unsupported_address" },
		{ "{\"email\": \"\\u7528\\u6237@b\\u00fccher.de\"}",
		    "unsupported_address" },
		{ "{\"email\": \"a@x.test\", \"first_name\": 7}",
		    "invalid_field" },
		{ "{\"email\": \"a@x.test\", \"last_name\": \"a\\nb\"}",
		    "invalid_field" },
		{ "{\"email\": \"a@x.test\", \"gender\": [\"x\"]}",
		    "invalid_field" },
		{ "{\"email\": \"a@x.test\", \"date_of_birth\": \"1990-13-01\"}",
		    "invalid_date" },
		{ "{\"email\": \"a@x.test\", \"date_of_birth\": \"2023-02-29\"}",
		    "invalid_date" },
		{ "{\"email\": \"a@x.test\", \"date_of_birth\": 19900101}",
		    "invalid_date" },
		{ "{\"email\": \"a@x.test\", \"attributes\": []}",
		    "invalid_attributes" },
		{ "{\"email\": \"a@x.test\", \"attributes\": {\"a-b\": 1}}",
		    "invalid_attribute_name" },
		{ "{\"email\": \"a@x.test\", \"attributes\": {\"\": 1}}",
		    "invalid_attribute_name" },
		{ "{\"email\": \"a@x.test\", \"attributes\": {\"x\": {}}}",
		    "invalid_attribute_value" },
		{ "{\"email\": \"a@x.test\", \"attributes\": {\"x\": null}}",
		    "invalid_attribute_value" },
		{ "{\"email\": \"a@x.test\", \"timezone\": \"Mars/Base\"}",
		    "invalid_timezone" },
		{ "{\"email\": \"a@x.test\", \"timezone\": \"../../etc/passwd\"}",
		    "invalid_timezone" },
		{ "{\"email\": \"a@x.test\", \"timezone\": 1}",
		    "invalid_timezone" },
	};
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;
	size_t			 i;

	for (i = 0; i < FF_NELEM(cases); i++) {
		cr_expect_eq(check(cases[i].json, 1, &row, &rej, &bad), 1,
		    "%s: not rejected", cases[i].json);
		cr_expect_str_eq(first_code(rej), cases[i].code, "%s",
		    cases[i].json);
		cr_expect_eq(json_integer_value(json_object_get(
		    json_array_get(rej, 0), "index")), 3);
		cr_expect_null(row.attrs, "%s: attrs left to leak",
		    cases[i].json);
		json_decref(rej);
	}
}

Test(contact, a_long_name_is_rejected)
{
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;
	char			 src[512];

	snprintf(src, sizeof(src), "{\"email\": \"a@x.test\", \"first_name\":"
	    " \"%0*d\"}", CONTACT_TEXT_MAX + 1, 0);
	cr_assert_eq(check(src, 1, &row, &rej, &bad), 1);
	cr_assert_str_eq(first_code(rej), "invalid_field");
	json_decref(rej);
	snprintf(src, sizeof(src), "{\"email\": \"a@x.test\", \"first_name\":"
	    " \"%0*d\"}", CONTACT_TEXT_MAX, 0);
	cr_assert_eq(check(src, 1, &row, &rej, &bad), 0);
	json_decref(rej);
}

Test(contact, unknown_field_is_the_callers_400)
{
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;

	cr_assert_eq(check("{\"email\": \"a@x.test\", \"shoe\": 44}", 1, &row,
	    &rej, &bad), -1);
	cr_assert_str_eq(bad, "shoe");
	cr_assert_eq(json_array_size(rej), 0);
	json_decref(rej);
}

Test(contact, good_row_normalises_the_address)
{
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;

	cr_assert_eq(check("{\"email\": \"  Ada@Example.TEST \", "
	    "\"first_name\": \"Ada\", \"date_of_birth\": \"2000-02-29\", "
	    "\"attributes\": {\"plan\": \"pro\", \"seats\": 5, \"vip\": true}}",
	    1, &row, &rej, &bad), 0);
	cr_assert_str_eq(row.addr, "Ada@example.test");
	cr_assert_str_eq(row.key, "ada@example.test");
	cr_assert_eq(row.quarantined, 0);
	cr_assert_str_eq(row.attrs, "{\"plan\":\"pro\",\"seats\":5,"
	    "\"vip\":true}");
	cr_assert_eq(json_array_size(rej), 0);
	free(row.attrs);
	json_decref(rej);
}

/* Builds {"email": "a@x.test", "attributes": {n attributes of vlen}}. */
static char *
attrs_json(size_t n, size_t vlen)
{
	json_t	*o = json_object(), *a = json_object();
	char	 name[32], *v, *out;
	size_t	 i;

	v = xmalloc(vlen + 1);
	memset(v, 'v', vlen);
	v[vlen] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "a%zu", i);
		json_object_set_new(a, name, json_string(v));
	}
	json_object_set_new(o, "email", json_string("a@x.test"));
	json_object_set_new(o, "attributes", a);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(v);
	return out;
}

static void
expect_attrs(size_t n, size_t vlen, const char *code)
{
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;
	char			*src = attrs_json(n, vlen);

	memset(&row, 0, sizeof(row));
	if (code == NULL) {
		cr_assert_eq(check(src, 1, &row, &rej, &bad), 0,
		    "%zu x %zu bytes: %s", n, vlen, json_dumps(rej, 0));
		cr_assert_leq(strlen(row.attrs), CONTACT_ATTRS_BYTES_MAX);
		free(row.attrs);
	} else {
		cr_assert_eq(check(src, 1, &row, &rej, &bad), 1,
		    "%zu x %zu bytes passed", n, vlen);
		cr_assert_str_eq(first_code(rej), code);
		cr_assert_null(row.attrs);
	}
	json_decref(rej);
	free(src);
}

/* The bounds of one contact's attributes, at each side. */
Test(contact, attribute_limits)
{
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;
	char			 src[256], *big;

	expect_attrs(1, CONTACT_ATTR_VALUE_MAX, NULL);
	expect_attrs(1, CONTACT_ATTR_VALUE_MAX + 1, "attribute_value_too_long");
	expect_attrs(1, 10 * 1024 * 1024, "attribute_value_too_long");
	expect_attrs(CONTACT_ATTRS_MAX, 1, NULL);
	expect_attrs(CONTACT_ATTRS_MAX + 1, 1, "too_many_attributes");
	expect_attrs(100000, 1, "too_many_attributes");
	/* 100 values of 700 bytes: each fits, together over 64 KB. */
	expect_attrs(CONTACT_ATTRS_MAX, 700, "attributes_too_large");
	expect_attrs(7, CONTACT_ATTR_VALUE_MAX, NULL);
	expect_attrs(8, CONTACT_ATTR_VALUE_MAX, "attributes_too_large");

	/* The value's name is reported with the code. */
	big = attrs_json(1, CONTACT_ATTR_VALUE_MAX + 1);
	memset(&row, 0, sizeof(row));
	cr_assert_eq(check(big, 1, &row, &rej, &bad), 1);
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(rej, 0), "attribute")), "a0");
	json_decref(rej);
	free(big);
	/* A name one byte too long: invalid_attribute_name, not echoed. */
	snprintf(src, sizeof(src), "{\"email\": \"a@x.test\", "
	    "\"attributes\": {\"%0*d\": 1}}", CONTACT_ATTR_NAME_MAX + 1, 0);
	cr_assert_eq(check(src, 1, &row, &rej, &bad), 1);
	cr_assert_str_eq(first_code(rej), "invalid_attribute_name");
	cr_assert_null(json_object_get(json_array_get(rej, 0), "attribute"));
	json_decref(rej);
}

/* An IDN domain is sent in its ASCII form: accepted. */
Test(contact, idn_domain_is_sendable)
{
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;

	cr_assert_eq(check("{\"email\": \"jorg@b\\u00fccher.de\"}", 1, &row,
	    &rej, &bad), 0);
	cr_assert_str_eq(row.addr, "jorg@xn--bcher-kva.de");
	free(row.attrs);
	json_decref(rej);
}

Test(contact, special_category_names_are_dropped_and_reported)
{
	struct contact_row	 row;
	json_t			*rej, *e;
	const char		*bad;

	cr_assert_eq(check("{\"email\": \"a@x.test\", \"attributes\": "
	    "{\"Religion_Affiliation\": \"x\", \"blood_type\": \"0+\", "
	    "\"city\": \"Berlin\"}}", 1, &row, &rej, &bad), 0,
	    "the row itself passes");
	cr_assert_str_eq(row.attrs, "{\"city\":\"Berlin\"}");
	cr_assert_eq(json_array_size(rej), 2);
	e = json_array_get(rej, 0);
	cr_assert_str_eq(json_string_value(json_object_get(e, "error")),
	    "special_category_attribute");
	cr_assert_str_eq(json_string_value(json_object_get(e, "email")),
	    "a@x.test");
	free(row.attrs);
	json_decref(rej);
}

Test(contact, special_category_values_quarantine)
{
	static const char *const hits[] = {
		"{\"email\": \"a@x.test\", \"attributes\": {\"note\": "
		    "\"HIV positive\"}}",
		"{\"email\": \"a@x.test\", \"attributes\": {\"faith\": "
		    "\"Muslim\", \"n\": 1}}",
		/* The fixed free-text fields are screened too. */
		"{\"email\": \"a@x.test\", \"first_name\": \"hiv\"}",
		"{\"email\": \"a@x.test\", \"last_name\": "
		    "\"Ada (HIV\\u200Bpositive)\"}",
		"{\"email\": \"a@x.test\", \"gender\": \"\\u039Cuslim\"}",
		"{\"email\": \"a@x.test\", \"gender\": \"Islam\"}",
	};
	static const char *const misses[] = {
		"{\"email\": \"a@x.test\", \"attributes\": {\"note\": "
		    "\"archive\"}}",
		"{\"email\": \"a@x.test\", \"attributes\": {\"n\": 1, "
		    "\"b\": false}}",
		/* A one-word term that is also a person's name. */
		"{\"email\": \"a@x.test\", \"first_name\": \"Islam\"}",
		"{\"email\": \"a@x.test\", \"last_name\": \"Islam\"}",
		"{\"email\": \"a@x.test\", \"first_name\": \"Christian\", "
		    "\"last_name\": \"Archive\", \"gender\": \"female\"}",
	};
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;
	size_t			 i;

	for (i = 0; i < FF_NELEM(hits); i++) {
		cr_expect_eq(check(hits[i], 1, &row, &rej, &bad), 0);
		cr_expect_eq(row.quarantined, 1, "%s", hits[i]);
		free(row.attrs);
		json_decref(rej);
	}
	for (i = 0; i < FF_NELEM(misses); i++) {
		cr_expect_eq(check(misses[i], 1, &row, &rej, &bad), 0);
		cr_expect_eq(row.quarantined, 0, "%s", misses[i]);
		free(row.attrs);
		json_decref(rej);
	}
}

Test(contact, patch_needs_no_address)
{
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;

	cr_assert_eq(check("{\"last_name\": \"Lovelace\"}", 0, &row, &rej,
	    &bad), 0);
	cr_assert_str_eq(row.addr, "");
	cr_assert_null(row.attrs);
	json_decref(rej);
	cr_assert_eq(check("{\"last_name\": \"Lovelace\"}", 1, &row, &rej,
	    &bad), 1, "but a POST does");
	json_decref(rej);
}

Test(contact, valid_text)
{
	json_t	*v;

	cr_assert(contact_valid_text(NULL));
	cr_assert(contact_valid_text(v = json_null()));
	json_decref(v);
	cr_assert(contact_valid_text(v = json_string("Zoë")));
	json_decref(v);
	cr_assert(!contact_valid_text(v = json_string("tab\there")));
	json_decref(v);
	cr_assert(!contact_valid_text(v = json_stringn("nul\0x", 5)));
	json_decref(v);
	cr_assert(!contact_valid_text(v = json_true()));
	json_decref(v);
}

/* ------------------------------------------------- a stored contact */

/* Fills c from NULL-terminated field, value pairs, as HGETALL gives. */
static void
from_hash(struct contact *c, uint64_t id, const char *const *pairs)
{
	contact_init(c, id);
	for (; pairs[0] != NULL; pairs += 2)
		contact_hash_set(c, pairs[0], strlen(pairs[0]), pairs[1],
		    strlen(pairs[1]));
}

Test(contact, hash_read)
{
	static const char *const hash[] = {
		"email", "Ada@X.test", "key", "ada@x.test",
		"first_name", "Ada", "last_name", "",
		"attributes", "{\"plan\":\"pro\",\"n\":2}",
		"quarantined", "1", "created_at", "1700000000123",
		"updated_at", "junk", "suppressed", "1",
		"something_else", "ignored", NULL
	};
	struct contact	c;

	from_hash(&c, 42, hash);
	cr_expect_eq(c.id, 42);
	cr_expect_str_eq(c.email, "Ada@X.test");
	cr_expect_str_eq(c.key, "ada@x.test");
	cr_expect_str_eq(c.first_name, "Ada");
	cr_expect_null(c.last_name, "empty is not set");
	cr_expect_null(c.gender);
	cr_expect_str_eq(json_string_value(json_object_get(c.attributes,
	    "plan")), "pro");
	cr_expect_eq(c.quarantined, 1);
	cr_expect_eq(c.suppressed, 1);
	cr_expect_eq(c.created_at, 1700000000123ULL);
	cr_expect_eq(c.updated_at, 0, "not a number: not set");
	contact_clear(&c);
	contact_clear(&c);	/* twice is harmless */
}

Test(contact, hash_read_bad_values)
{
	static const char *const hash[] = {
		"attributes", "[1, 2]", "quarantined", "0", NULL
	};
	char		 longaddr[FF_EMAIL_MAX + 10];
	struct contact	 c;

	from_hash(&c, 1, hash);
	cr_expect(json_is_object(c.attributes), "not an object: none");
	cr_expect_eq(json_object_size(c.attributes), 0);
	cr_expect_eq(c.quarantined, 0);
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	contact_hash_set(&c, "email", 5, longaddr, strlen(longaddr));
	cr_expect_str_eq(c.email, "", "too long: ignored");
	contact_clear(&c);
}

Test(contact, json_shape)
{
	static const char *const hash[] = {
		"email", "ada@x.test", "key", "ada@x.test",
		"gender", "f", "created_at", "1700000000000",
		"quarantined", "1", NULL
	};
	struct contact	 c;
	json_t		*o;
	char		*text;

	from_hash(&c, 7, hash);
	o = contact_json(&c);
	text = json_dumps(o, JSON_COMPACT);
	cr_expect_str_eq(text, "{\"id\":\"7\",\"first_name\":null,"
	    "\"last_name\":null,\"gender\":\"f\",\"date_of_birth\":null,"
	    "\"attributes\":{},\"created_at\":\"2023-11-14T22:13:20Z\","
	    "\"updated_at\":null,\"email\":\"ada@x.test\","
	    "\"status\":\"quarantined\"}");
	free(text);
	json_decref(o);
	c.opted_out = 1;
	o = contact_json(&c);
	cr_expect_str_eq(json_string_value(json_object_get(o, "status")),
	    "opted_out", "an opt-out outranks quarantine");
	json_decref(o);
	c.opted_out = c.quarantined = 0;
	o = contact_json(&c);
	cr_expect_str_eq(json_string_value(json_object_get(o, "status")),
	    "active");
	json_decref(o);
	contact_clear(&c);
}

/* Only a check that saw every screened field may clear a quarantine:
 * else a write of one clean field would clear what another caused. */
Test(contact, screened_all)
{
	static const struct {
		const char	*json;
		int		 all;
	} t[] = {
		{ "{\"email\": \"a@x.test\", \"attributes\": {}}", 0 },
		{ "{\"email\": \"a@x.test\", \"first_name\": \"Ada\"}", 0 },
		{ "{\"email\": \"a@x.test\", \"attributes\": {}, "
		    "\"first_name\": \"Ada\", \"last_name\": null, "
		    "\"gender\": \"f\"}", 1 },
		{ "{\"email\": \"a@x.test\", \"first_name\": \"Ada\", "
		    "\"last_name\": null, \"gender\": \"f\"}", 0 },
	};
	struct contact_row	 row;
	json_t			*rej;
	const char		*bad;
	size_t			 i;

	for (i = 0; i < FF_NELEM(t); i++) {
		cr_expect_eq(check(t[i].json, 1, &row, &rej, &bad), 0);
		cr_expect_eq(row.screened_all, t[i].all, "%s", t[i].json);
		cr_expect_eq(row.quarantined, 0, "%s", t[i].json);
		free(row.attrs);
		json_decref(rej);
	}
}

/* A zone of the system's zoneinfo is kept and shown back. */
Test(contact, timezone)
{
	static const char *const hash[] = { "email", "a@x.test",
	    "timezone", "Europe/Berlin", NULL };
	struct contact_row	 row;
	struct contact		 c;
	json_t			*rej, *o;
	const char		*bad;

	cr_assert_eq(check("{\"email\": \"a@x.test\", \"timezone\": "
	    "\"America/New_York\"}", 1, &row, &rej, &bad), 0);
	json_decref(rej);
	free(row.attrs);
	from_hash(&c, 9, hash);
	o = contact_json(&c);
	cr_expect_str_eq(json_string_value(json_object_get(o, "timezone")),
	    "Europe/Berlin");
	json_decref(o);
	contact_clear(&c);
}

/* The app's search (GET /v1/contacts?q=): a substring, ASCII case
 * ignored, bytes beyond ASCII compared as they are. */
Test(contact, text_contains)
{
	const char *s = "Jane.Doe@Example.com";

	cr_assert(contact_text_contains(s, strlen(s), "doe@ex", 6));
	cr_assert(contact_text_contains(s, strlen(s), "JANE", 4));
	cr_assert(contact_text_contains(s, strlen(s), "m", 1));
	cr_assert(contact_text_contains(s, strlen(s), s, strlen(s)));
	cr_assert(!contact_text_contains(s, strlen(s), "jane doe", 8));
	cr_assert(!contact_text_contains(s, strlen(s), "Example.comm", 12));
	/* The length is the bound, not a NUL. */
	cr_assert(!contact_text_contains(s, 4, "jane.", 5));
	cr_assert(contact_text_contains(s, 4, "ANE", 3));
	/* Empty query: everything, even a field that is not set. */
	cr_assert(contact_text_contains(NULL, 0, "", 0));
	cr_assert(!contact_text_contains(NULL, 0, "a", 1));
	/* UTF-8: exact bytes match, no folding of non-ASCII letters. */
	cr_assert(contact_text_contains("Zoë", 4, "oë", 3));
	cr_assert(!contact_text_contains("ZOË", 4, "oë", 3));
	/* Folding is ASCII only: '@' (0x40) and '`' (0x60) stay apart. */
	cr_assert(!contact_text_contains("a@b", 3, "a`b", 3));
}
