/*
 * store_campaign.h: a tenant's campaigns, in Redis: the record
 * {t:T}:camp:C (what the campaign is, its status and the counters of
 * launch and of the senders), the index {t:T}:camps, and the link table
 * {t:T:c:C}:links, the only URLs a click may redirect to.
 *
 * Typed functions over the sync connection for api_campaign.c,
 * api_launch.c, the janitor, fanfarectl and the senders
 * (smtp_campaign.c, sender.c): -1 when Redis failed, never
 * for "not found"; no reply object leaves store_campaign.c.  Launch and
 * the state changes are store_launch.h's, the tracking counts
 * store_stats.h's.  Storage only: nothing here knows the API.
 */
#ifndef FANFARE_STORE_CAMPAIGN_H
#define FANFARE_STORE_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* What makes a new campaign (the caller's strings). */
struct campaign_draft {
	const char	*name;
	size_t		 name_len;
	uint64_t	 template_id;
	uint64_t	 list_id;
	const char	*from;
	const char	*reply_to;	/* "" when none */
	long long	 rate_per_second;	/* 0: no limit of its own */
	int		 track_opens;
	int		 track_clicks;
	uint64_t	 created_at;	/* ms */
	uint64_t	 segment_id;	/* 0: none; with list_id 0, a
					 * segment of every contact */
};

/* The launch's and the senders' counters of the record; 0 before. */
enum campaign_count {
	CAMPAIGN_TOTAL,
	CAMPAIGN_QUEUED,
	CAMPAIGN_SENT,
	CAMPAIGN_FAILED,
	CAMPAIGN_DEFERRED,
	CAMPAIGN_SUP_OPTED_OUT,		/* suppressed at send time, why */
	CAMPAIGN_SUP_BLOCKLISTED,
	CAMPAIGN_SUP_SPECIAL_CATEGORY,
	CAMPAIGN_SUP_BOUNCED,
	CAMPAIGN_SUP_ERASED,
	CAMPAIGN_SUP_COMPLAINED,
	CAMPAIGN_NCOUNTS
};

/* A stored campaign, as store_campaign_get fills it; the strings are its
 * own (store_campaign_free).  A field not in the record is NULL, 0 or
 * -1 as said. */
struct campaign {
	uint64_t	 id;
	char		*name;
	char		*status;	/* draft, sending, paused, done,
					 * cancelled */
	char		*from;
	char		*reply_to;	/* NULL: none (stored as "") */
	uint64_t	 template_id;	/* 0: not set */
	uint64_t	 list_id;	/* 0: not set */
	long long	 rate_per_second;	/* 0: no limit of its own */
	int		 track_opens;	/* 1, 0, or -1: not set */
	int		 track_clicks;	/* 1, 0, or -1: not set */
	uint64_t	 created_at;	/* ms; 0: not set */
	uint64_t	 launched_at;	/* ms; 0: not launched */
	uint64_t	 finished_at;	/* ms; 0: not finished */
	long long	 count[CAMPAIGN_NCOUNTS];
	uint64_t	 segment_id;	/* 0: not set */
	uint64_t	 form;		/* a form's hidden confirmation
					 * campaign (store_form.h): the
					 * form's id; else 0 */
	int		 sysmail;	/* a hidden system campaign
					 * (store_sysmail.h): its
					 * recipients are account mails */
	char		*subject_prefix;	/* NULL: none ("[Test] ") */
};

/* The record's field name of a count: "total", "sup_opted_out"... */
const char	*campaign_count_name(enum campaign_count);

/*
 * Pure: sets c's member for one field of the record (value: len bytes,
 * NUL-terminated), leaving c as it was for a field it does not know or
 * a value it cannot read; a string field read twice keeps the first.
 * store_campaign_get's, and the unit test's.  campaign_init readies c
 * for it.
 */
void	 campaign_init(struct campaign *, uint64_t id);
void	 campaign_parse_field(struct campaign *, const char *name,
	    const char *value, size_t len);

/* 1 with c filled, 0 when there is no such campaign, -1. */
int	 store_campaign_get(struct db *, uint64_t tenant, uint64_t id,
	    struct campaign *c);
void	 store_campaign_free(struct campaign *);

/* The tenant's campaign ids, ascending, in *ids (the caller frees);
 * 0 or -1. */
int	 store_campaign_ids(struct db *, uint64_t tenant, uint64_t **ids,
	    size_t *n);

/*
 * A new draft under a new id (*id), when its list exists (or it has
 * none, for a segment of every contact): its link
 * table first (links[i] is link i; NULL skips an index), so a campaign
 * never exists without it, then the record, then its place in the
 * index.  1 created, 0 when the list does not exist, -1.
 */
int	 store_campaign_create(struct db *, uint64_t tenant,
	    const struct campaign_draft *, const char *const *links,
	    size_t nlinks, uint64_t *id);

/* Where launch looks: 1 with the list and template ids, 0 when the
 * record names no list or template (or does not exist), -1. */
int	 store_campaign_refs(struct db *, uint64_t tenant, uint64_t id,
	    uint64_t *list, uint64_t *template_id);

/* When its time series starts: launched_at, else created_at (ms); 0
 * when it has neither.  0 or -1. */
int	 store_campaign_since(struct db *, uint64_t tenant, uint64_t id,
	    uint64_t *since_ms);

/* 1 when the campaign's status is "sending", 0 when it is not or there
 * is no such campaign, -1.  One HGET: the senders ask it per entry. */
int	 store_campaign_sending(struct db *, uint64_t tenant, uint64_t id);

/*
 * The link table, as smtp_message.h's smtp_template_source takes it:
 * (*pairs)[2i] a link's index, (*pairs)[2i + 1] its URL, *n pairs, in
 * the table's order (store_campaign_links_free frees them).  0 (an empty
 * table when there is none) or -1.
 */
int	 store_campaign_links(struct db *, uint64_t tenant, uint64_t id,
	    char ***pairs, size_t *n);
void	 store_campaign_links_free(char **pairs, size_t n);

/* Sets (or adds) one link of the table; 0 or -1. */
int	 store_campaign_link_set(struct db *, uint64_t tenant, uint64_t id,
	    uint32_t link, const char *url);

/* 1 when the campaign has a record or any tracking data (stats or a
 * link table), 0 when neither, -1. */
int	 store_campaign_known(struct db *, uint64_t tenant, uint64_t id);

#endif
