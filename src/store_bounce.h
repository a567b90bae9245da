/*
 * store_bounce.h: what bounces and complaints did, in Redis
 * (store_bounce.c): the suppression they cause, the counts of their
 * campaign, and the tenant's bounce log {t:T}:bounce_log that
 * GET /v1/bounces pages through.
 *
 * Typed functions over the sync connection: -1 is always "Redis
 * failed".  No reply object leaves this file.  Storage only.
 */
#ifndef FANFARE_STORE_BOUNCE_H
#define FANFARE_STORE_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* One report to record: what the VERP address named and what the
 * report said (report.h's kinds, by name). */
struct bounce_record {
	uint64_t	 tenant, campaign, contact;
	const char	*kind;		/* hard, soft, complaint, unrecognised */
	const char	*status;	/* "5.1.1" or "" */
	const char	*diagnostic;
	uint64_t	 now_ms;
	int		 soft_limit;	/* soft bounces in a row that
					 * suppress */
};

/* 1 recorded (*suppressed: 1 when the address is newly suppressed),
 * 0 when the contact is not there (nothing written), -1. */
int	 store_bounce_record(struct db *, const struct bounce_record *,
	    int *suppressed);

/* An entry of the log, newest first in a page. */
struct bounce_item {
	char		 id[48];	/* the stream id: the cursor */
	uint64_t	 at;		/* ms */
	char		 kind[16];
	char		 status[16];
	char		*diagnostic;
	uint64_t	 campaign, contact;
	char		*email;		/* the contact's now; NULL: gone */
};
struct bounce_page {
	struct bounce_item	*items;
	size_t			 n;
	int			 more;	/* items[n - 1].id is the cursor */
};

/* At most limit entries older than the entry after (NULL or "": from
 * the newest), with each contact's address; 0 or -1. */
int	 store_bounce_page(struct db *, uint64_t tenant, const char *after,
	    size_t limit, struct bounce_page *);
void	 bounce_page_free(struct bounce_page *);

/*
 * Hooks of a data-subject request (store_subject.c / api_subject.c):
 * store_bounce_subject lists every entry of the log about the contact
 * (oldest first, email left NULL); store_bounce_subject_erase deletes
 * them, its soft-bounce count and its complaint (key: its email match
 * key, NULL when not known), with the number of entries deleted in
 * *n.  The address stays suppressed by its keyed hash (erasure's
 * store_erased_add).  0 or -1.
 */
int	 store_bounce_subject(struct db *, uint64_t tenant, uint64_t contact,
	    struct bounce_page *);
int	 store_bounce_subject_erase(struct db *, uint64_t tenant,
	    uint64_t contact, const char *key, long long *n);

#endif
