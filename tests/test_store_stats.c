/*
 * test_store_stats.c: store_stats.c's reading of a campaign's tracking
 * counters: the link table against the link:N fields, the countries,
 * the counters.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "store_stats.h"

static void
link_row(struct campaign_stats *s, const char *index, const char *url)
{
	campaign_stats_add_link(s, index, strlen(index), url, strlen(url));
}

static void
field(struct campaign_stats *s, const char *name, const char *value)
{
	campaign_stats_parse_field(s, name, value, strlen(value));
}

Test(store_stats, nothing_happened)
{
	struct campaign_stats	s;

	campaign_stats_init(&s);
	cr_assert_eq(s.opens, 0);
	cr_assert_eq(s.nlinks, 0);
	cr_assert_eq(s.ncountries, 0);
	store_stats_free(&s);
}

Test(store_stats, counters)
{
	struct campaign_stats	s;

	campaign_stats_init(&s);
	field(&s, "opens", "10");
	field(&s, "opens_unique", "7");
	field(&s, "opens_machine", "2");
	field(&s, "clicks", "5");
	field(&s, "clicks_unique", "4");
	field(&s, "clicks_machine", "1");
	field(&s, "unsubscribes", "3");
	field(&s, "mystery", "99");
	cr_assert_eq(s.opens, 10);
	cr_assert_eq(s.opens_unique, 7);
	cr_assert_eq(s.opens_machine, 2);
	cr_assert_eq(s.clicks, 5);
	cr_assert_eq(s.clicks_unique, 4);
	cr_assert_eq(s.clicks_machine, 1);
	cr_assert_eq(s.unsubscribes, 3);
	store_stats_free(&s);
}

Test(store_stats, links_by_index)
{
	struct campaign_stats	s;

	campaign_stats_init(&s);
	/* HGETALL's order is the hash's, not the links'. */
	link_row(&s, "10", "https://example.com/ten");
	link_row(&s, "2", "https://example.com/two");
	link_row(&s, "0", "https://example.com/zero");
	link_row(&s, "2", "https://example.com/again");
	link_row(&s, "x", "https://example.com/bad");
	field(&s, "link:2", "6");
	field(&s, "link_unique:2", "4");
	field(&s, "link:10", "1");
	field(&s, "link:3", "8");		/* no such link: left out */
	cr_assert_eq(s.nlinks, 3);
	cr_assert_eq(s.links[0].link, 0);
	cr_assert_str_eq(s.links[0].url, "https://example.com/zero");
	cr_assert_eq(s.links[0].total, 0);
	cr_assert_eq(s.links[1].link, 2);
	cr_assert_str_eq(s.links[1].url, "https://example.com/two");
	cr_assert_eq(s.links[1].total, 6);
	cr_assert_eq(s.links[1].unique, 4);
	cr_assert_eq(s.links[2].link, 10);
	cr_assert_eq(s.links[2].total, 1);
	cr_assert_eq(s.links[2].unique, 0);
	store_stats_free(&s);
	cr_assert_eq(s.nlinks, 0);
}

Test(store_stats, countries_in_order)
{
	struct campaign_stats	s;

	campaign_stats_init(&s);
	field(&s, "country:FR", "4");
	field(&s, "country:DE", "2");
	field(&s, "country:US", "not a number");
	cr_assert_eq(s.ncountries, 2);
	cr_assert_str_eq(s.countries[0].code, "FR");
	cr_assert_eq(s.countries[0].count, 4);
	cr_assert_str_eq(s.countries[1].code, "DE");
	cr_assert_eq(s.countries[1].count, 2);
	store_stats_free(&s);
}

/* 200,000 links in the hash's (any) order: one sort (0.3 s here), not a
 * sorted insert per row and a scan per link:N (quadratic: 16 s of CPU,
 * and 1 s at the 50,000 links a template could hold before the caps,
 * all of it on the API's thread); the first row of an index still wins
 * and every link:N finds its link. */
Test(store_stats, many_links_in_any_order, .timeout = 10)
{
	struct campaign_stats	s;
	char			idx[24], url[64], name[40];
	size_t			i, n = 200000;

	campaign_stats_init(&s);
	for (i = 0; i < n; i++) {
		size_t k = (i * 7919) % n;	/* a permutation of 0..n-1 */

		snprintf(idx, sizeof(idx), "%zu", k);
		snprintf(url, sizeof(url), "https://example.com/%zu", k);
		link_row(&s, idx, url);
	}
	link_row(&s, "7", "https://example.com/later");
	for (i = 0; i < n; i += 2) {
		snprintf(name, sizeof(name), "link:%zu", i);
		field(&s, name, "3");
	}
	cr_assert_eq(s.nlinks, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(s.links[i].link, i);
		cr_assert_eq(s.links[i].total, i % 2 ? 0 : 3, "link %zu", i);
	}
	cr_assert_str_eq(s.links[7].url, "https://example.com/7");
	store_stats_free(&s);
}
