/*
 * store_stats.h: what tracking recorded for a campaign, read back: the
 * counters of {t:T:c:C}:stats (written by the trackers' store.c), each
 * link's clicks against the link table, the time series
 * {t:T:c:C}:ts, and the retention of the event stream
 * {t:T:c:C}:events.
 *
 * Typed functions over the sync connection for api_campaign.c, the
 * janitor and fanfarectl: -1 when Redis failed; no reply object leaves
 * store_stats.c.  The JSON the API shows is api_campaign.c's.  Storage
 * only: nothing here knows the API.
 */
#ifndef FANFARE_STORE_STATS_H
#define FANFARE_STORE_STATS_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* One link of the campaign's table and its clicks. */
struct link_stats {
	uint64_t	 link;		/* its index in the table */
	char		*url;
	long long	 total;
	long long	 unique;
};

/* Opens (or unsubscribes) by country, as the trackers counted them. */
struct country_stats {
	char		*code;		/* "FR", or what the trackers wrote */
	long long	 count;
};

/* A campaign's stats; store_stats_free frees what they hold. */
struct campaign_stats {
	/* The senders' counts, from the campaign record. */
	long long		 sent;
	long long		 bounced;	/* hard: 5xx to RCPT, or a
						 * DSN's failure */
	/* The bounce listener's (store_bounce.c), in the same record. */
	long long		 bounces_soft;
	long long		 complaints;
	/* The trackers' counts. */
	long long		 opens;
	long long		 opens_unique;
	long long		 opens_machine;
	long long		 clicks;
	long long		 clicks_unique;
	long long		 clicks_machine;
	long long		 unsubscribes;
	struct link_stats	*links;		/* by link index */
	size_t			 nlinks, linkcap;
	int			 links_unsorted; /* added out of order */
	struct country_stats	*countries;	/* in the order read */
	size_t			 ncountries;
};

/*
 * Pure, for store_stats_get and the unit test: campaign_stats_add_link
 * adds one row of the link table (field index, value URL; the first of
 * an index wins), put in its place (one sort, so 50,000 links cost
 * milliseconds) by the first campaign_stats_parse_field, which then
 * reads one field of the stats hash
 * (value: len bytes, NUL-terminated): a counter, "link:N" and
 * "link_unique:N" of a link added before, "country:CC".  Fields it does
 * not know, and values that are no number, are left out.
 */
void	 campaign_stats_init(struct campaign_stats *);
void	 campaign_stats_add_link(struct campaign_stats *, const char *index,
	    size_t index_len, const char *url, size_t url_len);
void	 campaign_stats_parse_field(struct campaign_stats *, const char *name,
	    const char *value, size_t len);

/* 0 with s filled (zeros for a campaign nothing happened to), or -1. */
int	 store_stats_get(struct db *, uint64_t tenant, uint64_t campaign,
	    struct campaign_stats *s);
void	 store_stats_free(struct campaign_stats *);

/*
 * The time series of count buckets of step seconds from bucket first:
 * counts[i * SERIES_NKINDS + kind] (fanfare.h's series_kind), 0 where
 * nothing happened; one HMGET.  0 or -1.
 */
int	 store_stats_series(struct db *, uint64_t tenant, uint64_t campaign,
	    int step, uint64_t first, size_t count, long long *counts);

/* Drops the events older than minid_ms from the campaign's stream: how
 * many, or -1.  An error reply (a key of another type) drops none. */
long long store_stats_trim_events(struct db *, uint64_t tenant,
	    uint64_t campaign, uint64_t minid_ms);

#endif
