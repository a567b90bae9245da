/*
 * test_urlform.c: urlform.c, the form-urlencoded parser of the public
 * sign-up, confirm and preference pages: '+' and %XX decoding, empty
 * parts and values, and what it refuses (a broken escape, bad UTF-8, a
 * control byte, too many fields).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "urlform.h"

static char			scratch[4096];
static struct urlform_field	f[URLFORM_FIELDS_MAX];

static int
parse(const char *s)
{
	return urlform_parse(s, strlen(s), scratch, f, URLFORM_FIELDS_MAX);
}

Test(urlform, decodes_pairs)
{
	cr_assert_eq(parse("email=a%40b.test&first_name=J%C3%BCrgen+M"), 2);
	cr_assert_str_eq(f[0].name, "email");
	cr_assert_str_eq(f[0].value, "a@b.test");
	cr_assert_eq(f[0].valuelen, 8);
	cr_assert_str_eq(f[1].name, "first_name");
	cr_assert_str_eq(f[1].value, "J\xc3\xbcrgen M");
	cr_assert_str_eq(urlform_get(f, 2, "email")->value, "a@b.test");
	cr_assert_null(urlform_get(f, 2, "mail"));
}

Test(urlform, empty_parts_and_values)
{
	cr_assert_eq(parse(""), 0);
	cr_assert_eq(parse("&&&"), 0);
	cr_assert_eq(parse("a&&b=&=c"), 3);
	cr_assert_str_eq(f[0].name, "a");
	cr_assert_eq(f[0].valuelen, 0);
	cr_assert_str_eq(f[1].name, "b");
	cr_assert_eq(f[1].valuelen, 0);
	cr_assert_eq(f[2].namelen, 0);
	cr_assert_str_eq(f[2].value, "c");
	/* Only the first '=' splits. */
	cr_assert_eq(parse("k=a=b"), 1);
	cr_assert_str_eq(f[0].value, "a=b");
	/* Lowercase hex, and an escaped '&' stays in the value. */
	cr_assert_eq(parse("k=%2a%26x"), 1);
	cr_assert_str_eq(f[0].value, "*&x");
	cr_assert_eq(parse("t=a%0D%0Ab%09"), 1);
	cr_assert_str_eq(f[0].value, "a\r\nb\t");
}

Test(urlform, refuses)
{
	cr_assert_eq(parse("k=%"), -1);
	cr_assert_eq(parse("k=%4"), -1);
	cr_assert_eq(parse("k=%4g"), -1);
	cr_assert_eq(parse("k%=1"), -1);
	cr_assert_eq(parse("k=%00"), -1);		/* NUL */
	cr_assert_eq(parse("k=%07"), -1);		/* BEL */
	cr_assert_eq(parse("k=%7F"), -1);
	cr_assert_eq(parse("k=%C2%85"), -1);		/* C1 NEL */
	cr_assert_eq(parse("k=%C3"), -1);		/* cut short */
	cr_assert_eq(parse("k=%C0%AF"), -1);		/* overlong */
	cr_assert_eq(parse("k=%ED%A0%80"), -1);		/* surrogate */
	cr_assert_eq(parse("k=\x01"), -1);		/* raw control */
}

Test(urlform, field_limit)
{
	char	body[1024];
	size_t	i, n = 0;

	for (i = 0; i < URLFORM_FIELDS_MAX; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "f%zu=%zu&",
		    i, i);
	cr_assert_eq(urlform_parse(body, n, scratch, f, URLFORM_FIELDS_MAX),
	    URLFORM_FIELDS_MAX);
	n += (size_t)snprintf(body + n, sizeof(body) - n, "one=more");
	cr_assert_eq(urlform_parse(body, n, scratch, f, URLFORM_FIELDS_MAX),
	    -1);
	/* A caller's smaller max holds too. */
	cr_assert_eq(urlform_parse("a=1&b=2&c=3", 11, scratch, f, 2), -1);
}

Test(urlform, not_nul_terminated)
{
	/* The body is a slice of a connection's buffer: nothing past len
	 * is read. */
	const char	body[] = "email=x%40y.test&rest";

	cr_assert_eq(urlform_parse(body, 16, scratch, f, URLFORM_FIELDS_MAX),
	    1);
	cr_assert_str_eq(f[0].value, "x@y.test");
	cr_assert_eq(urlform_parse(body, 7, scratch, f, URLFORM_FIELDS_MAX),
	    1);
	cr_assert_str_eq(f[0].value, "x");
}
