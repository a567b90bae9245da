/*
 * test_ctl_format.c: ctl_format.c's lines, made from the API's own JSON
 * answers, and the exit status of an API error: a full answer, an empty
 * one, and members that are missing or of the wrong type.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "api.h"

static json_t *
load(const char *text)
{
	json_error_t	 err;
	json_t		*o = json_loads(text, 0, &err);

	cr_assert_not_null(o, "bad test JSON: %s", err.text);
	return o;
}

/* Compares the line made from text with want, and frees both. */
static void
check_line(char *(*fn)(const json_t *), const char *text, const char *want)
{
	json_t	*o = load(text);
	char	*line = fn(o);

	cr_assert_str_eq(line, want);
	free(line);
	json_decref(o);
}

/* ------------------------------------------------------- exit status */

Test(ctl_exit_status, success_is_zero)
{
	cr_assert_eq(ctl_exit_status(200), 0);
	cr_assert_eq(ctl_exit_status(201), 0);
	cr_assert_eq(ctl_exit_status(204), 0);
}

Test(ctl_exit_status, refused_values_are_usage)
{
	cr_assert_eq(ctl_exit_status(400), 2);
	cr_assert_eq(ctl_exit_status(422), 2);
}

Test(ctl_exit_status, the_rest_is_failure)
{
	static const int st[] = { 401, 403, 404, 405, 409, 413, 500, 503, 0,
	    -1, 302 };
	size_t	i;

	for (i = 0; i < FF_NELEM(st); i++)
		cr_assert_eq(ctl_exit_status(st[i]), 1, "status %d", st[i]);
}

/* ---------------------------------------------------------- progress */

Test(ctl_progress_line, sending_with_suppressed_reasons)
{
	check_line(ctl_progress_line,
	    "{\"id\":\"3\",\"name\":\"Spring\",\"status\":\"sending\","
	    "\"progress\":{\"total\":200,\"queued\":150,\"sent\":120,"
	    "\"failed\":2,\"deferred\":3,\"suppressed\":{\"opted_out\":20,"
	    "\"blocklisted\":5,\"special_category\":0,\"bounced\":0,"
	    "\"erased\":1}}}",
	    "campaign 3 \"Spring\": sending, 150/200 queued, 120 sent, "
	    "2 failed, 3 deferred, 26 suppressed (opted_out 20, "
	    "blocklisted 5, erased 1)");
}

Test(ctl_progress_line, draft_has_no_parenthesis)
{
	check_line(ctl_progress_line,
	    "{\"id\":\"1\",\"name\":\"c\",\"status\":\"draft\","
	    "\"progress\":{\"total\":0,\"queued\":0,\"sent\":0,\"failed\":0,"
	    "\"deferred\":0,\"suppressed\":{\"opted_out\":0,"
	    "\"blocklisted\":0,\"special_category\":0,\"bounced\":0,"
	    "\"erased\":0}}}",
	    "campaign 1 \"c\": draft, 0/0 queued, 0 sent, 0 failed, "
	    "0 deferred, 0 suppressed");
}

Test(ctl_progress_line, missing_members_read_as_zero)
{
	check_line(ctl_progress_line, "{\"id\":\"9\"}",
	    "campaign 9: ?, 0/0 queued, 0 sent, 0 failed, 0 deferred, "
	    "0 suppressed");
	check_line(ctl_progress_line,
	    "{\"id\":7,\"name\":null,\"status\":\"done\",\"progress\":[]}",
	    "campaign ?: done, 0/0 queued, 0 sent, 0 failed, 0 deferred, "
	    "0 suppressed");
}

/* ------------------------------------------------------------ erased */

Test(ctl_erased_line, counts_in_the_answers_order)
{
	check_line(ctl_erased_line,
	    "{\"erased\":{\"contacts\":1,\"events\":2,\"list_memberships\":1,"
	    "\"unique_memberships\":3,\"optouts\":1,\"blocklist\":0}}",
	    "erased: contacts 1, events 2, list_memberships 1, "
	    "unique_memberships 3, optouts 1, blocklist 0");
}

Test(ctl_erased_line, nothing)
{
	check_line(ctl_erased_line, "{\"erased\":{}}", "erased: nothing");
	check_line(ctl_erased_line, "{}", "erased: nothing");
}

/* ----------------------------------------------------------- tenants */

Test(ctl_tenant_line, active_with_keys)
{
	check_line(ctl_tenant_line,
	    "{\"id\":\"4242\",\"name\":\"Acme Corp\",\"status\":\"active\","
	    "\"retention_days\":395,\"created_at\":\"2026-12-01T10:00:00Z\","
	    "\"key_prefixes\":[\"1a2b3c4d\",\"deadbeef\"]}",
	    "4242 active retention 395d keys 1a2b3c4d,deadbeef Acme Corp");
}

Test(ctl_tenant_line, deleting_without_keys)
{
	check_line(ctl_tenant_line,
	    "{\"id\":\"5\",\"name\":\"Gone\",\"status\":\"deleting\","
	    "\"retention_days\":30,\"purge_at\":\"2026-12-31T00:00:00Z\","
	    "\"key_prefixes\":[]}",
	    "5 deleting retention 30d keys - Gone "
	    "(purge at 2026-12-31T00:00:00Z)");
}

Test(ctl_tenant_line, a_purged_hash_reads_as_unknowns)
{
	check_line(ctl_tenant_line,
	    "{\"id\":\"6\",\"name\":null,\"status\":null,"
	    "\"retention_days\":null,\"key_prefixes\":[1]}",
	    "6 ? retention 0d keys ? ?");
}
