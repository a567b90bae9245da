/*
 * ctl_format.c: fanfarectl's human-readable lines, made from the same
 * JSON answers the API gives (pure: JSON in, text out, so they can be
 * unit-tested), and its exit status for an API error.
 *
 * A member that is missing or of another type reads as 0 or "?", so a
 * shape the API grows into never crashes the command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* 0 done; 2 for what the command line got wrong (a value the API
 * rejects with 400 or 422); 1 for everything else: not found, a state
 * that forbids it, Redis down. */
int
ctl_exit_status(int http_status)
{
	if (http_status >= 200 && http_status < 300)
		return 0;
	if (http_status == 400 || http_status == 422)
		return 2;
	return 1;
}

static long long
num(const json_t *o, const char *name)
{
	return (long long)json_integer_value(json_object_get(o, name));
}

static const char *
str(const json_t *o, const char *name)
{
	const char	*s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "?";
}

/* The suppressed reasons, in API.md's order, then our extension. */
static const char *const suppressed_reasons[] = { "opted_out",
    "blocklisted", "special_category", "bounced", "erased", "complained" };

/*
 * One line for GET /v1/campaigns/C:
 *   campaign 3 "Spring": sending, 150/200 queued, 120 sent, 2 failed,
 *   3 deferred, 25 suppressed (opted_out 20, blocklisted 5)
 * (one line; only the reasons that are not 0).  The caller frees it.
 */
char *
ctl_progress_line(const json_t *campaign)
{
	const json_t	*p = json_object_get(campaign, "progress");
	const json_t	*sup = json_object_get(p, "suppressed");
	struct buf	 b = { NULL, 0, 0 };
	long long	 total = 0, n;
	size_t		 i;
	int		 first = 1;

	for (i = 0; i < FF_NELEM(suppressed_reasons); i++)
		total += num(sup, suppressed_reasons[i]);
	buf_addf(&b, "campaign %s", str(campaign, "id"));
	if (json_is_string(json_object_get(campaign, "name")))
		buf_addf(&b, " \"%s\"", str(campaign, "name"));
	buf_addf(&b, ": %s, %lld/%lld queued, %lld sent, %lld failed, "
	    "%lld deferred, %lld suppressed", str(campaign, "status"),
	    num(p, "queued"), num(p, "total"), num(p, "sent"),
	    num(p, "failed"), num(p, "deferred"), total);
	for (i = 0; i < FF_NELEM(suppressed_reasons); i++) {
		if ((n = num(sup, suppressed_reasons[i])) == 0)
			continue;
		buf_addf(&b, "%s%s %lld", first ? " (" : ", ",
		    suppressed_reasons[i], n);
		first = 0;
	}
	if (!first)
		buf_adds(&b, ")");
	return b.p;
}

/*
 * One line for DELETE /v1/subjects/A's {"erased": {...}}:
 *   erased: contacts 1, events 2, list_memberships 1, ...
 * in the answer's own order of keys.  The caller frees it.
 */
char *
ctl_erased_line(const json_t *answer)
{
	const json_t	*erased = json_object_get(answer, "erased");
	struct buf	 b = { NULL, 0, 0 };
	const char	*k;
	json_t		*v;
	int		 first = 1;

	buf_adds(&b, "erased:");
	json_object_foreach((json_t *)erased, k, v) {
		buf_addf(&b, "%s %s %lld", first ? "" : ",", k,
		    (long long)json_integer_value(v));
		first = 0;
	}
	if (first)
		buf_adds(&b, " nothing");
	return b.p;
}

/*
 * One line per tenant of api_tenant_list's items:
 *   ID STATUS retention DAYSd keys P1,P2 NAME
 * the name last, since it may hold spaces.  The caller frees it.
 */
char *
ctl_tenant_line(const json_t *tenant)
{
	const json_t	*keys = json_object_get(tenant, "key_prefixes");
	struct buf	 b = { NULL, 0, 0 };
	size_t		 i;

	buf_addf(&b, "%s %s retention %lldd keys ", str(tenant, "id"),
	    str(tenant, "status"), num(tenant, "retention_days"));
	for (i = 0; i < json_array_size(keys); i++)
		buf_addf(&b, "%s%s", i ? "," : "",
		    json_string_value(json_array_get(keys, i)) ?
		    json_string_value(json_array_get(keys, i)) : "?");
	if (json_array_size(keys) == 0)
		buf_adds(&b, "-");
	buf_addf(&b, " %s", str(tenant, "name"));
	if (json_is_string(json_object_get(tenant, "purge_at")))
		buf_addf(&b, " (purge at %s)", str(tenant, "purge_at"));
	return b.p;
}
