/*
 * api.h: the JSON API's shared types, for api*.c and db.c only.
 *
 * A request is one struct api_req, created when evhttp hands it over and
 * freed by the one reply function that answers it (api_json, api_error,
 * api_nocontent): a handler answers exactly once and returns.
 *
 * Keys (T tenant, all with the tenant's hash tag so a tenant's data
 * lives in one Redis Cluster slot; the tracking keys of a campaign use
 * {t:T:c:C}, see store.c):
 *   ff:tenants               set of tenant ids (for the janitor)
 *   ff:purge                 zset tenant -> purge time (ms)
 *   {t:T}:tenant             hash name retention_days status created_at
 *                            purge_at
 *   {t:T}:keys               hash key prefix -> sha256 hex of the key
 *   {t:T}:seq                hash contact list template campaign -> last
 *   {t:T}:ct:ID              hash of a contact
 *   {t:T}:ct:bykey           hash email match key -> contact id
 *   {t:T}:ct:ID:lists        set of list ids the contact is on
 *   {t:T}:list:ID            hash name created_at
 *   {t:T}:list:ID:members    set of contact ids
 *   {t:T}:optouts            zset (score 0, lexical) of email keys
 *   {t:T}:optouts:at         hash email key -> opt-out time (ms)
 *   {t:T}:optout_ids         zset contact id -> opt-out time, from /u/
 *   {t:T}:blocklist          zset (score 0, lexical) of patterns
 *   {t:T}:suppressed         set of keyed hashes of erased addresses
 *   {t:T}:audit              stream of privacy requests (no address)
 *   {t:T}:tpl:ID             hash name subject html text links (JSON)
 *   {t:T}:camp:ID            hash of a campaign (status draft, ...)
 *   {t:T}:camps              zset of campaign ids
 */
#ifndef FANFARE_API_H
#define FANFARE_API_H

#include <event2/http.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "worker.h"

#define API_MAX_SEGS	8
#define API_MAX_BATCH	10000	/* contacts per POST */

struct db;

/* Route labels of the API metrics. */
enum api_route {
	API_ROUTE_OTHER,
	API_ROUTE_HEALTHZ,
	API_ROUTE_METRICS,
	API_ROUTE_TENANTS,
	API_ROUTE_CONTACTS,
	API_ROUTE_LISTS,
	API_ROUTE_OPTOUTS,
	API_ROUTE_BLOCKLIST,
	API_ROUTE_TEMPLATES,
	API_ROUTE_CAMPAIGNS,
	API_ROUTE_SUBJECTS,
	API_NROUTES
};

struct api {
	struct evhttp		*http;
	const struct config	*conf;
	struct worker		*workers;
	int			 nworkers;
	struct db		*db;
	struct event		*janitor;
	struct special		*special;
	struct token_keyring	 keys;		/* keyed hashes of erased */
	uint64_t		 by_status[API_NROUTES][6]; /* [route][1..5xx] */
	uint64_t		 latency_le[8];	/* histogram buckets */
	uint64_t		 latency_count;
	double			 latency_sum;
};

struct api_req {
	struct api		*a;
	struct evhttp_request	*req;
	enum evhttp_cmd_type	 method;
	char			*path;		/* decoded segments live here */
	char			*seg[API_MAX_SEGS];
	int			 nseg;
	uint64_t		 tenant;	/* 0: the admin key */
	char			 key_prefix[16];
	uint64_t		 start_us;
	enum api_route		 route;
};

/* api.c */
void	 api_error(struct api_req *, int status, const char *code,
	    const char *fmt, ...) FF_ATTR_PRINTF(4, 5);
void	 api_json(struct api_req *, int status, json_t *);	/* steals */
void	 api_nocontent(struct api_req *);
/* Parses the body as JSON; -1 after answering 400 or 413. */
int	 api_body_json(struct api_req *, json_t **);
/* 0 when every member of obj is in allowed (NULL-terminated); else -1
 * after answering 400 unknown_field. */
int	 api_check_fields(struct api_req *, json_t *, const char *const *);
const char *api_query(struct api_req *, const char *name, char *buf,
	    size_t len);
/* The hash {t:TENANT}:KIND:ID of the request's tenant, or NULL when it
 * does not exist (*down = 0) or Redis failed (*down = 1). */
redisReply *api_hgetall(struct api_req *, const char *kind, uint64_t id,
	    int *down);
/* For a handler whose Redis call failed: 503. */
void	 api_unavailable(struct api_req *);
void	 api_random_hex(char *out, size_t bytes);	/* 2*bytes+1 */
char	*api_iso_time(uint64_t ms, char *buf, size_t len);

/* api_tenant.c */
void	 api_tenants(struct api_req *);
/* Checks a Bearer tenant key; the tenant id, or 0 when it is not one. */
uint64_t api_tenant_auth(struct api *, const char *key, char *prefix,
	    size_t);

/* api_contact.c */
void	 api_contacts(struct api_req *);
void	 api_lists(struct api_req *);
json_t	*api_contact_json(struct api_req *, uint64_t id, int *down);
int	 api_contact_remove(struct api *, uint64_t tenant, uint64_t id);

/* api_subject.c */
void	 api_subjects(struct api_req *);
int	 api_suppressed(struct api *, uint64_t tenant, const char *key);

/* api_suppress.c */
void	 api_optouts(struct api_req *);
void	 api_blocklist(struct api_req *);

/* api_campaign.c */
void	 api_templates(struct api_req *);
void	 api_campaigns(struct api_req *);

/* janitor.c */
struct janitor_report {
	long long	tenants_purged;
	long long	keys_purged;
	long long	streams;		/* event streams looked at */
	long long	entries_trimmed;	/* stream entries removed */
};
int	 janitor_run(struct db *, uint64_t now_ms, struct janitor_report *);
long long janitor_purge_tenant(struct db *, uint64_t tenant);

/* db.c */
struct db *db_open(const struct ff_endpoint *);
void	 db_close(struct db *);
redisReply *db_cmd(struct db *, const char *, ...);
redisReply *db_cmdargv(struct db *, int, const char **, const size_t *);
int	 db_append(struct db *, const char *, ...);
int	 db_appendargv(struct db *, int, const char **, const size_t *);
redisReply *db_reply(struct db *);
void	 db_discard(struct db *);
long long db_unlink_prefix(struct db *, const char *match);
json_t	*db_campaign_stats(struct db *, uint64_t tenant, uint64_t campaign);

#endif /* FANFARE_API_H */
