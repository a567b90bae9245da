/*
 * store_template.h: a tenant's templates, in Redis ({t:T}:tpl:ID, a hash
 * of the four parts, the links as a JSON array of URLs, updated_at, and
 * version, one more at each save).
 *
 * Typed functions over the sync connection for api_campaign.c (and any
 * other caller): -1 when Redis failed, never for "not found"; no reply
 * object leaves store_template.c.  The senders read it too, through
 * store_template_get (smtp_campaign.c).  Storage only: nothing
 * here knows the API.
 */
#ifndef FANFARE_STORE_TEMPLATE_H
#define FANFARE_STORE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* A template's parts, in the order the API shows them. */
enum template_part {
	TEMPLATE_NAME,
	TEMPLATE_SUBJECT,
	TEMPLATE_HTML,
	TEMPLATE_TEXT,
	TEMPLATE_NPARTS
};

/* The hash field of a part: "name", "subject", "html", "text". */
const char	*template_part_name(enum template_part);

/* A stored template, as store_template_get fills it (the strings are
 * its own, NUL-terminated; store_template_free frees them). */
struct template {
	char	*part[TEMPLATE_NPARTS];		/* NULL: not in the hash */
	size_t	 part_len[TEMPLATE_NPARTS];
	char	**links;	/* the URLs of its <a href>s, in order */
	size_t	 nlinks;
	int	 has_links;	/* the links field could be read */
	uint64_t version;	/* one more at each save; 0: none yet */
};

/* 1 with t filled, 0 when there is no such template, -1. */
int	 store_template_get(struct db *, uint64_t tenant, uint64_t id,
	    struct template *t);
void	 store_template_free(struct template *);

/* 1 with the template's version (0 when it has none), -1.  The senders
 * compare it to the one they compiled: one HGET, not the template. */
int	 store_template_version(struct db *, uint64_t tenant, uint64_t id,
	    uint64_t *version);

/*
 * Writes a template's parts (all four; any bytes, hence the lengths),
 * its links and updated_at: store_template_create under a new id (*id),
 * store_template_put under id, created or replaced; its version goes
 * one up.  0 or -1.
 */
int	 store_template_create(struct db *, uint64_t tenant,
	    const char *const part[TEMPLATE_NPARTS],
	    const size_t part_len[TEMPLATE_NPARTS], const char *const *links,
	    size_t nlinks, uint64_t updated_at, uint64_t *id);
int	 store_template_put(struct db *, uint64_t tenant, uint64_t id,
	    const char *const part[TEMPLATE_NPARTS],
	    const size_t part_len[TEMPLATE_NPARTS], const char *const *links,
	    size_t nlinks, uint64_t updated_at);

/* The app's listing (GET /v1/templates): every template, by id, with
 * its name and subject, never its bodies; STORE_TEMPLATE_BATCH ids per
 * pipelined round trip.  0 with *t (store_template_infos_free) and *n,
 * or -1. */
#define STORE_TEMPLATE_BATCH	500
struct template_info {
	uint64_t	 id;
	char		*name;
	char		*subject;	/* NULL: none stored */
};
int	 store_template_all(struct db *, uint64_t tenant,
	    struct template_info **t, size_t *n);
void	 store_template_infos_free(struct template_info *, size_t);

#endif
