/*
 * test_session.c: src/session.c: roles, the session cookie's form, the
 * password policy and the login throttle (its time passed in).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "session.h"

#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(session, roles)
{
	cr_assert_eq(role_parse("owner"), ROLE_OWNER);
	cr_assert_eq(role_parse("marketer"), ROLE_MARKETER);
	cr_assert_eq(role_parse("viewer"), ROLE_VIEWER);
	cr_assert_eq(role_parse("Owner"), ROLE_NONE);
	cr_assert_eq(role_parse(""), ROLE_NONE);
	cr_assert_eq(role_parse(NULL), ROLE_NONE);
	cr_assert_str_eq(role_name(ROLE_MARKETER), "marketer");
	/* viewer: reads only; marketer: not the owner's routes. */
	cr_assert(role_allows(ROLE_VIEWER, HTTP_GET, 0));
	cr_assert(role_allows(ROLE_VIEWER, HTTP_HEAD, 0));
	cr_assert_not(role_allows(ROLE_VIEWER, HTTP_POST, 0));
	cr_assert_not(role_allows(ROLE_VIEWER, HTTP_DELETE, 0));
	cr_assert_not(role_allows(ROLE_VIEWER, HTTP_GET, 1));
	cr_assert(role_allows(ROLE_MARKETER, HTTP_POST, 0));
	cr_assert_not(role_allows(ROLE_MARKETER, HTTP_GET, 1));
	cr_assert(role_allows(ROLE_OWNER, HTTP_DELETE, 1));
	cr_assert_not(role_allows(ROLE_NONE, HTTP_GET, 0));
}

Test(session, cookie)
{
	char		tok[SESSION_TOKEN_HEX + 1];
	uint64_t	t = 0;

	cr_assert_eq(session_cookie_parse("fanfare_session=12." TOK, &t, tok),
	    0);
	cr_assert_eq(t, 12);
	cr_assert_str_eq(tok, TOK);
	cr_assert_eq(session_cookie_parse("a=b; fanfare_session=7." TOK
	    "; c=d", &t, tok), 0);
	cr_assert_eq(t, 7);
	/* Another cookie whose name ends in ours is not ours. */
	cr_assert_eq(session_cookie_parse("xfanfare_session=7." TOK, &t, tok),
	    -1);
	cr_assert_eq(session_cookie_parse("fanfare_session=7." TOK "0", &t,
	    tok), -1);
	cr_assert_eq(session_cookie_parse("fanfare_session=7.0123", &t, tok),
	    -1);
	cr_assert_eq(session_cookie_parse("fanfare_session=." TOK, &t, tok),
	    -1);
	cr_assert_eq(session_cookie_parse("fanfare_session=0." TOK, &t, tok),
	    -1);
	cr_assert_eq(session_cookie_parse("fanfare_session=99999999999999999999."
	    TOK, &t, tok), -1);
	cr_assert_eq(session_cookie_parse("fanfare_session=7." "0123456789"
	    "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", &t, tok),
	    -1);
	cr_assert_eq(session_cookie_parse("", &t, tok), -1);
	cr_assert_eq(session_cookie_parse(NULL, &t, tok), -1);
}

Test(session, password_policy)
{
	cr_assert_not(password_length_ok(9));
	cr_assert(password_length_ok(10));
	cr_assert(password_length_ok(1024));
	cr_assert_not(password_length_ok(1025));
}

Test(session, throttle)
{
	struct throttle	*t = throttle_new(64, 5, 1000);
	int		 i;

	for (i = 0; i < 5; i++) {
		cr_assert_not(throttle_blocked(t, "a:x@example.com", 100));
		throttle_fail(t, "a:x@example.com", 100 + (uint64_t)i);
	}
	cr_assert(throttle_blocked(t, "a:x@example.com", 200));
	cr_assert_not(throttle_blocked(t, "a:y@example.com", 200));
	/* The window over, the name is free again. */
	cr_assert_not(throttle_blocked(t, "a:x@example.com", 1200));
	for (i = 0; i < 5; i++)
		throttle_fail(t, "a:x@example.com", 1300);
	cr_assert(throttle_blocked(t, "a:x@example.com", 1300));
	throttle_clear(t, "a:x@example.com");
	cr_assert_not(throttle_blocked(t, "a:x@example.com", 1300));
	throttle_free(t);
}

/* A flood of names reuses slots: the table never grows, and a name
 * counted in a full table is still counted. */
Test(session, throttle_full)
{
	struct throttle	*t = throttle_new(16, 3, 100000);
	char		 name[32];
	int		 i;

	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "c:10.0.%d.%d", i / 256, i % 256);
		throttle_fail(t, name, (uint64_t)i);
	}
	for (i = 0; i < 3; i++)
		throttle_fail(t, "a:victim@example.com", 20000);
	cr_assert(throttle_blocked(t, "a:victim@example.com", 20001));
	throttle_free(t);
}
