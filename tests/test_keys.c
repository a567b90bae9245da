/*
 * test_keys.c: keys.c builds each key as key_docs documents it, the
 * table and the functions cover each other, and README.md's key table
 * (between <!-- keys:begin --> and <!-- keys:end -->) is key_docs row
 * for row.  When the README drifts, the test prints the section to
 * paste.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "keys.h"

#define T	7
#define C	9
#define ID	42

struct key_case {
	const char	*pattern;	/* as in key_docs */
	const char	*built;
};

/* Every key function with T = 7, C = 9, ID = 42. */
static size_t
key_cases(struct key_case *out, struct key *k)
{
	size_t	n = 0;

#define CASE(p, call)	(out[n].pattern = (p), out[n].built = (call), n++)
	CASE("ff:tenants", key_tenants());
	CASE("ff:purge", key_purge());
	CASE("ff:sending", key_sending());
	CASE("ff:purged", key_purged());
	CASE("{t:T}:tenant", key_tenant(&k[n], T));
	CASE("{t:T}:keys", key_tenant_keys(&k[n], T));
	CASE("{t:T}:seq", key_seq(&k[n], T));
	CASE("{t:T}:ct:ID", key_contact(&k[n], T, ID));
	CASE("{t:T}:ct:bykey", key_contact_bykey(&k[n], T));
	CASE("{t:T}:ct:ID:lists", key_contact_lists(&k[n], T, ID));
	CASE("{t:T}:list:ID", key_list(&k[n], T, ID));
	CASE("{t:T}:list:ID:members", key_list_members(&k[n], T, ID));
	CASE("{t:T}:optouts", key_optouts(&k[n], T));
	CASE("{t:T}:optouts:at", key_optouts_at(&k[n], T));
	CASE("{t:T}:optout_ids", key_optout_ids(&k[n], T));
	CASE("{t:T}:blocklist", key_blocklist(&k[n], T));
	CASE("{t:T}:blocklist:at", key_blocklist_at(&k[n], T));
	CASE("{t:T}:suppressed", key_suppressed(&k[n], T));
	CASE("{t:T}:bounces", key_bounces(&k[n], T));
	CASE("{t:T}:bounce_log", key_bounce_log(&k[n], T));
	CASE("{t:T}:soft_bounces", key_soft_bounces(&k[n], T));
	CASE("{t:T}:complaints", key_complaints(&k[n], T));
	CASE("{t:T}:audit", key_audit(&k[n], T));
	CASE("{t:T}:domains", key_domains(&k[n], T));
	CASE("{t:T}:domain:ID", key_domain(&k[n], T, ID));
	CASE("{t:T}:relay", key_relay(&k[n], T));
	CASE("{t:T}:tpl:ID", key_template(&k[n], T, ID));
	CASE("{t:T}:camps", key_campaigns(&k[n], T));
	CASE("{t:T}:camp:C", key_campaign(&k[n], T, C));
	CASE("{t:T}:camp:C:q", key_campaign_queue(&k[n], T, C));
	CASE("{t:T}:camp:C:queued", key_campaign_queued(&k[n], T, C));
	CASE("{t:T}:camp:C:scan", key_campaign_scan(&k[n], T, C));
	CASE("{t:T}:camp:C:done", key_campaign_done(&k[n], T, C));
	CASE("{t:T}:camp:C:retry", key_campaign_retry(&k[n], T, C));
	CASE("{t:T}:camp:C:tries", key_campaign_tries(&k[n], T, C));
	CASE("{t:T}:camp:C:msgs", key_campaign_msgs(&k[n], T, C));
	CASE("{t:T:c:C}:stats", key_camp_stats(&k[n], T, C));
	CASE("{t:T:c:C}:openers", key_camp_openers(&k[n], T, C));
	CASE("{t:T:c:C}:clickers", key_camp_clickers(&k[n], T, C));
	CASE("{t:T:c:C}:link_clickers", key_camp_link_clickers(&k[n], T, C));
	CASE("{t:T:c:C}:unsubscribers", key_camp_unsubscribers(&k[n], T, C));
	CASE("{t:T:c:C}:events", key_camp_events(&k[n], T, C));
	CASE("{t:T:c:C}:erased", key_camp_erased(&k[n], T, C));
	CASE("{t:T:c:C}:links", key_camp_links(&k[n], T, C));
	CASE("{t:T:c:C}:applied", key_camp_applied(&k[n], T, C));
	CASE("{t:T:c:C}:ts", key_camp_ts(&k[n], T, C));
	CASE("ff:sequences", key_sequences_active());
	CASE("{t:T}:sequences", key_sequences(&k[n], T));
	CASE("{t:T}:sequence:ID", key_sequence(&k[n], T, ID));
	CASE("{t:T}:sequence:ID:enrolled", key_sequence_enrolled(&k[n], T,
	    ID));
	CASE("{t:T}:sequence:ID:due", key_sequence_due(&k[n], T, ID));
	CASE("{t:T}:sequence:ID:flight", key_sequence_flight(&k[n], T, ID));
	CASE("{t:T}:list:ID:sequences", key_list_sequences(&k[n], T, ID));
	CASE("{t:T}:segs", key_segments(&k[n], T));
	CASE("{t:T}:seg:ID", key_segment(&k[n], T, ID));
	CASE("{t:T}:forms", key_forms(&k[n], T));
	CASE("{t:T}:form:ID", key_form(&k[n], T, ID));
	CASE("{t:T}:form:ID:consent", key_form_consent(&k[n], T, ID));
	CASE("{t:T}:signup:ID", key_signup(&k[n], T, ID));
	CASE("{t:T}:signup_mailed:H", key_signup_mailed(&k[n], T, "H"));
	CASE("{t:T}:signups:H", key_signups_of(&k[n], T, "H"));
	CASE("{t:T}:ct:ID:consents", key_contact_consents(&k[n], T, ID));
	CASE("{t:T}:events", key_events(&k[n], T));
	CASE("{t:T}:events:pumped", key_events_pumped(&k[n], T));
	CASE("{t:T}:events:lease", key_events_lease(&k[n], T));
	CASE("{users}:byemail", key_user_index());
	CASE("{t:T}:users", key_users(&k[n], T));
	CASE("{t:T}:user:ID", key_user(&k[n], T, ID));
	CASE("{t:T}:sess:HASH", key_session(&k[n], T, "HASH"));
	CASE("ff:webhooks", key_webhooks_all());
	CASE("{t:T}:webhooks", key_webhooks(&k[n], T));
	CASE("{t:T}:wh:ID:state", key_webhook_state(&k[n], T, ID));
	CASE("{t:T}:wh:ID:lease", key_webhook_lease(&k[n], T, ID));
	CASE("{t:T}:wh:ID:log", key_webhook_log(&k[n], T, ID));
	CASE("ff:scheduled", key_scheduled());
	CASE("ff:ab_due", key_ab_due());
	CASE("{t:T}:camp:C:later", key_campaign_later(&k[n], T, C));
	CASE("{t:T}:camp:C:ab", key_campaign_ab(&k[n], T, C));
	CASE("{t:T}:camp:C:ab_rest", key_campaign_ab_rest(&k[n], T, C));
#undef CASE
	return n;
}

#define MAX_CASES	128

/* The pattern with its placeholders (the words T, C, ID) filled in. */
static void
fill(const char *pattern, char *out, size_t len)
{
	size_t	o = 0;

	while (*pattern != '\0' && o + 24 < len) {
		size_t w = 0;

		while (isalnum((unsigned char)pattern[w]))
			w++;
		if (w == 0) {
			out[o++] = *pattern++;
			continue;
		}
		if (w == 1 && pattern[0] == 'T')
			o += (size_t)snprintf(out + o, len - o, "%d", T);
		else if (w == 1 && pattern[0] == 'C')
			o += (size_t)snprintf(out + o, len - o, "%d", C);
		else if (w == 2 && strncmp(pattern, "ID", 2) == 0)
			o += (size_t)snprintf(out + o, len - o, "%d", ID);
		else {
			memcpy(out + o, pattern, w);
			o += w;
		}
		pattern += w;
	}
	out[o] = '\0';
}

static const struct key_doc *
doc_find(const char *pattern)
{
	size_t	i;

	for (i = 0; i < key_ndocs; i++)
		if (strcmp(key_docs[i].pattern, pattern) == 0)
			return &key_docs[i];
	return NULL;
}

Test(keys, built_as_documented)
{
	struct key_case	cases[MAX_CASES];
	struct key	k[MAX_CASES];
	char		want[KEY_MAX];
	size_t		n = key_cases(cases, k), i;

	cr_assert_eq(n, key_ndocs, "%zu key functions, %zu documented keys",
	    n, key_ndocs);
	for (i = 0; i < n; i++) {
		cr_assert_not_null(doc_find(cases[i].pattern),
		    "%s: not in key_docs", cases[i].pattern);
		fill(cases[i].pattern, want, sizeof(want));
		cr_assert_str_eq(cases[i].built, want, "%s", cases[i].pattern);
	}
	/* Spot checks of fill() itself. */
	cr_assert_str_eq(key_contact(&k[0], 7, 42), "{t:7}:ct:42");
	cr_assert_str_eq(key_camp_link_clickers(&k[0], 7, 9),
	    "{t:7:c:9}:link_clickers");
	cr_assert_eq(k[0].len, strlen(k[0].s));
}

Test(keys, tags_and_matches)
{
	struct key	k;

	cr_assert_str_eq(key_tenant_tag(&k, 7), "{t:7}");
	cr_assert_str_eq(key_campaign_tag(&k, 7, 9), "{t:7:c:9}");
	cr_assert_str_eq(key_tenant_match(&k, 7), "{t:7}*");
	cr_assert_str_eq(key_tenant_campaigns_match(&k, 7), "{t:7:c:*");
	cr_assert_str_eq(key_tenant(&k, 0), "{t:0}:tenant");
	cr_assert_eq(k.len, 12);
}

/* The longest ids still fit, and each key starts with its hash tag. */
Test(keys, longest)
{
	struct key	k, tag;

	key_camp_link_clickers(&k, UINT64_MAX, UINT64_MAX);
	cr_assert_str_eq(k.s, "{t:18446744073709551615:c:18446744073709551615}"
	    ":link_clickers");
	cr_assert_eq(k.len, 61);
	cr_assert_lt(k.len, KEY_MAX);
	key_list_members(&k, UINT64_MAX, UINT64_MAX);
	cr_assert_eq(k.len, strlen(k.s));
	key_tenant_tag(&tag, UINT64_MAX);
	cr_assert_eq(strncmp(k.s, tag.s, tag.len), 0);
	key_camp_ts(&k, 3, UINT64_MAX);
	key_campaign_tag(&tag, 3, UINT64_MAX);
	cr_assert_eq(strncmp(k.s, tag.s, tag.len), 0);
}

/* ------------------------------------------------------------ README */

static void
row(const struct key_doc *d, char *out, size_t len)
{
	snprintf(out, len, "| `%s` | %s | %s |", d->pattern, d->type,
	    d->holds);
}

/* README.md's section, as it must read. */
static void
print_section(void)
{
	char	line[4096];
	size_t	i;

	fprintf(stderr, "# README.md's key table, from key_docs:\n"
	    "<!-- keys:begin -->\n| key | type | holds |\n|---|---|---|\n");
	for (i = 0; i < key_ndocs; i++) {
		row(&key_docs[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	fprintf(stderr, "<!-- keys:end -->\n");
}

/* README.md: from FF_README (set by "make check"), else beside this
 * source file. */
static char *
readme_text(void)
{
	const char	*env = getenv("FF_README");
	char		*path, *dir, *text, *slash;

	if (env != NULL && env[0] != '\0')
		path = xstrdup(env);
	else {
		xasprintf(&dir, "%s", __FILE__);
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		else
			strcpy(dir, ".");
		xasprintf(&path, "%s/../README.md", dir);
		free(dir);
	}
	text = read_file(path, 4 * 1024 * 1024, NULL);
	cr_assert_not_null(text, "%s: %s", path, strerror(errno));
	free(path);
	return text;
}

/* The rows of the section that differ from key_docs, told on stderr. */
static int
section_diff(char *section)
{
	char		*line, *save;
	char		 want[4096], pattern[KEY_MAX];
	unsigned char	 seen[MAX_CASES] = { 0 };
	const struct key_doc *d;
	size_t		 i;
	int		 bad = 0;

	for (line = strtok_r(section, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *p, *q;

		if (strncmp(line, "| `", 3) != 0)
			continue;	/* the header, its rule, blank lines */
		p = line + 3;
		if ((q = strchr(p, '`')) == NULL || (size_t)(q - p) >=
		    sizeof(pattern)) {
			fprintf(stderr, "README.md: bad row: %s\n", line);
			bad++;
			continue;
		}
		memcpy(pattern, p, (size_t)(q - p));
		pattern[q - p] = '\0';
		if ((d = doc_find(pattern)) == NULL) {
			fprintf(stderr, "README.md lists %s, which key_docs "
			    "does not\n", pattern);
			bad++;
			continue;
		}
		if (seen[d - key_docs]++) {
			fprintf(stderr, "README.md lists %s twice\n", pattern);
			bad++;
		}
		row(d, want, sizeof(want));
		if (strcmp(line, want) != 0) {
			fprintf(stderr, "README.md's row of %s differs from "
			    "key_docs':\n  %s\n  %s\n", pattern, line, want);
			bad++;
		}
	}
	for (i = 0; i < key_ndocs; i++)
		if (!seen[i]) {
			fprintf(stderr, "README.md does not list %s\n",
			    key_docs[i].pattern);
			bad++;
		}
	return bad;
}

Test(keys, readme_table)
{
	char	*text = readme_text(), *begin, *end;
	int	 bad = -1;

	cr_assert_lt(key_ndocs, MAX_CASES);
	begin = strstr(text, "<!-- keys:begin -->");
	end = strstr(text, "<!-- keys:end -->");
	if (begin != NULL && end != NULL && end > begin) {
		*end = '\0';
		bad = section_diff(begin + strlen("<!-- keys:begin -->"));
	}
	free(text);
	if (bad != 0)
		print_section();
	cr_assert_neq(bad, -1,
	    "README.md: no <!-- keys:begin --> ... <!-- keys:end --> section");
	cr_assert_eq(bad, 0, "README.md's key table and key_docs differ in "
	    "%d rows (the section to paste is on stderr)", bad);
}
