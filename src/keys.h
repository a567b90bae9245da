/*
 * keys.h: the name of every Redis key Fanfare uses, built only here.
 *
 * No other file formats a key (tests/check-keys.sh fails the build when
 * one does): a caller fills a struct key with one of these functions
 * and passes the string to db_cmd/db_append/redisAsyncCommand as "%s"
 * (or "%b" with k.len).  A Lua script never builds a key name: every
 * key it touches comes in KEYS[], as Redis Cluster requires.
 *
 * Hash tags (T tenant id, C campaign id, ID an entity id, all decimal):
 *   {t:T}      everything a tenant owns, in one Redis Cluster slot, so a
 *              script may touch any of a tenant's keys together;
 *   {t:T:c:C}  a campaign's tracking data, written by the trackers'
 *              store.c in one script per campaign per chunk: a slot of
 *              its own, so busy campaigns spread over the cluster.
 * The four global keys (ff:tenants, ff:purge, ff:sending, ff:purged)
 * have no tag:
 * each is always alone in its command.
 *
 * Each key and the function that names it (key_docs in keys.c says what
 * each holds; README.md's "Redis keys" section must match key_docs row
 * for row, which tests/test_keys.c checks and, when they differ,
 * prints the section to paste):
 *   ff:tenants                 key_tenants()
 *   ff:purge                   key_purge()
 *   ff:sending                 key_sending()
 *   ff:purged                  key_purged()
 *   {t:T}:tenant               key_tenant(k, T)
 *   {t:T}:keys                 key_tenant_keys(k, T)
 *   {t:T}:seq                  key_seq(k, T)
 *   {t:T}:ct:ID                key_contact(k, T, ID)
 *   {t:T}:ct:bykey             key_contact_bykey(k, T)
 *   {t:T}:ct:ID:lists          key_contact_lists(k, T, ID)
 *   {t:T}:list:ID              key_list(k, T, ID)
 *   {t:T}:list:ID:members      key_list_members(k, T, ID)
 *   {t:T}:optouts              key_optouts(k, T)
 *   {t:T}:optouts:at           key_optouts_at(k, T)
 *   {t:T}:optout_ids           key_optout_ids(k, T)
 *   {t:T}:blocklist            key_blocklist(k, T)
 *   {t:T}:blocklist:at         key_blocklist_at(k, T)
 *   {t:T}:suppressed           key_suppressed(k, T)
 *   {t:T}:bounces              key_bounces(k, T)
 *   {t:T}:bounce_log           key_bounce_log(k, T)
 *   {t:T}:soft_bounces         key_soft_bounces(k, T)
 *   {t:T}:complaints           key_complaints(k, T)
 *   {t:T}:audit                key_audit(k, T)
 *   {t:T}:domains              key_domains(k, T)
 *   {t:T}:domain:ID            key_domain(k, T, ID)
 *   {t:T}:relay                key_relay(k, T)
 *   {t:T}:tpl:ID               key_template(k, T, ID)
 *   {t:T}:camps                key_campaigns(k, T)
 *   {t:T}:camp:C               key_campaign(k, T, C)
 *   {t:T}:camp:C:q             key_campaign_queue(k, T, C)
 *   {t:T}:camp:C:queued        key_campaign_queued(k, T, C)
 *   {t:T}:camp:C:scan          key_campaign_scan(k, T, C)
 *   {t:T}:camp:C:done          key_campaign_done(k, T, C)
 *   {t:T}:camp:C:retry         key_campaign_retry(k, T, C)
 *   {t:T}:camp:C:tries         key_campaign_tries(k, T, C)
 *   {t:T}:camp:C:msgs          key_campaign_msgs(k, T, C)
 *   {t:T:c:C}:stats            key_camp_stats(k, T, C)
 *   {t:T:c:C}:openers          key_camp_openers(k, T, C)
 *   {t:T:c:C}:clickers         key_camp_clickers(k, T, C)
 *   {t:T:c:C}:link_clickers    key_camp_link_clickers(k, T, C)
 *   {t:T:c:C}:unsubscribers    key_camp_unsubscribers(k, T, C)
 *   {t:T:c:C}:events           key_camp_events(k, T, C)
 *   {t:T:c:C}:erased           key_camp_erased(k, T, C)
 *   {t:T:c:C}:links            key_camp_links(k, T, C)
 *   {t:T:c:C}:applied          key_camp_applied(k, T, C)
 *   {t:T:c:C}:ts               key_camp_ts(k, T, C)
 *   ff:sequences               key_sequences_active()
 *   {t:T}:sequences            key_sequences(k, T)
 *   {t:T}:sequence:ID           key_sequence(k, T, ID)
 *   {t:T}:sequence:ID:enrolled  key_sequence_enrolled(k, T, ID)
 *   {t:T}:sequence:ID:due       key_sequence_due(k, T, ID)
 *   {t:T}:sequence:ID:flight    key_sequence_flight(k, T, ID)
 *   {t:T}:list:ID:sequences     key_list_sequences(k, T, ID)
 *   {t:T}:segs                 key_segments(k, T)
 *   {t:T}:seg:ID               key_segment(k, T, ID)
 *   {t:T}:forms                key_forms(k, T)
 *   {t:T}:form:ID              key_form(k, T, ID)
 *   {t:T}:form:ID:consent      key_form_consent(k, T, ID)
 *   {t:T}:signup:ID            key_signup(k, T, ID)
 *   {t:T}:signup_mailed:H      key_signup_mailed(k, T, H)
 *   {t:T}:signups:H            key_signups_of(k, T, H)
 *   {t:T}:ct:ID:consents       key_contact_consents(k, T, ID)
 *   {t:T}:events               key_events(k, T)
 *   {t:T}:events:pumped        key_events_pumped(k, T)
 *   {t:T}:events:lease         key_events_lease(k, T)
 *   ff:webhooks                key_webhooks_all()
 *   {t:T}:webhooks             key_webhooks(k, T)
 *   {t:T}:wh:ID:state          key_webhook_state(k, T, ID)
 *   {t:T}:wh:ID:lease          key_webhook_lease(k, T, ID)
 *   {t:T}:wh:ID:log            key_webhook_log(k, T, ID)
 * and, not keys: the tags {t:T} and {t:T:c:C} (key_tenant_tag,
 * key_campaign_tag) and a tenant purge's SCAN MATCH patterns {t:T}* and
 * {t:T:c:* (key_tenant_match, key_tenant_campaigns_match).
 */
#ifndef FANFARE_KEYS_H
#define FANFARE_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* Longest key: "{t:" 20 digits ":c:" 20 digits "}:link_clickers" is 61. */
#define KEY_MAX		96

/* One key's name, NUL-terminated; on the stack, filled by a key_*(). */
struct key {
	char	s[KEY_MAX];
	size_t	len;
};

/* A row of the documented key table (README.md's, in the same order). */
struct key_doc {
	const char	*pattern;	/* "{t:T}:ct:ID" */
	const char	*type;		/* "hash", "sorted set", ... */
	const char	*holds;		/* Markdown, one line */
};

extern const struct key_doc	key_docs[];
extern const size_t		key_ndocs;

/* Each function fills its struct key and returns its s; the globals
 * return a constant. */

/* Global keys, no hash tag. */
const char	*key_tenants(void);
const char	*key_purge(void);
const char	*key_sending(void);
const char	*key_purged(void);

/* The hash tags themselves, and the SCAN MATCH patterns of a tenant
 * purge: every {t:T} key, and every campaign's {t:T:c:C} keys. */
const char	*key_tenant_tag(struct key *, uint64_t tenant);
const char	*key_campaign_tag(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_tenant_match(struct key *, uint64_t tenant);
const char	*key_tenant_campaigns_match(struct key *, uint64_t tenant);

/* {t:T}: the tenant's keys. */
const char	*key_tenant(struct key *, uint64_t tenant);
const char	*key_tenant_keys(struct key *, uint64_t tenant);
const char	*key_seq(struct key *, uint64_t tenant);
const char	*key_contact(struct key *, uint64_t tenant,
		    uint64_t contact);
const char	*key_contact_bykey(struct key *, uint64_t tenant);
const char	*key_contact_lists(struct key *, uint64_t tenant,
		    uint64_t contact);
const char	*key_list(struct key *, uint64_t tenant, uint64_t list);
const char	*key_list_members(struct key *, uint64_t tenant,
		    uint64_t list);
const char	*key_optouts(struct key *, uint64_t tenant);
const char	*key_optouts_at(struct key *, uint64_t tenant);
const char	*key_optout_ids(struct key *, uint64_t tenant);
const char	*key_blocklist(struct key *, uint64_t tenant);
const char	*key_blocklist_at(struct key *, uint64_t tenant);
const char	*key_suppressed(struct key *, uint64_t tenant);
const char	*key_bounces(struct key *, uint64_t tenant);
const char	*key_bounce_log(struct key *, uint64_t tenant);
const char	*key_soft_bounces(struct key *, uint64_t tenant);
const char	*key_complaints(struct key *, uint64_t tenant);
const char	*key_audit(struct key *, uint64_t tenant);
const char	*key_domains(struct key *, uint64_t tenant);
const char	*key_domain(struct key *, uint64_t tenant, uint64_t id);
const char	*key_relay(struct key *, uint64_t tenant);
const char	*key_template(struct key *, uint64_t tenant,
		    uint64_t template_id);
const char	*key_campaigns(struct key *, uint64_t tenant);
const char	*key_campaign(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_queue(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_queued(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_scan(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_done(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_retry(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_tries(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_msgs(struct key *, uint64_t tenant,
		    uint64_t campaign);

/* {t:T:c:C}: a campaign's tracking data.  These run on the trackers'
 * hot path (store.c, per campaign per chunk): no printf. */
const char	*key_camp_stats(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_openers(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_clickers(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_link_clickers(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_unsubscribers(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_events(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_applied(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_links(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_erased(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_camp_ts(struct key *, uint64_t tenant,
		    uint64_t campaign);

/* Sequences: ff:sequences (no tag, alone in its command) and the
 * tenant's {t:T} keys of each sequence S and trigger list L. */
const char	*key_sequences_active(void);
const char	*key_sequences(struct key *, uint64_t tenant);
const char	*key_sequence(struct key *, uint64_t tenant,
		    uint64_t sequence);
const char	*key_sequence_enrolled(struct key *, uint64_t tenant,
		    uint64_t sequence);
const char	*key_sequence_due(struct key *, uint64_t tenant,
		    uint64_t sequence);
const char	*key_sequence_flight(struct key *, uint64_t tenant,
		    uint64_t sequence);
const char	*key_list_sequences(struct key *, uint64_t tenant,
		    uint64_t list);
/* {t:T}: a tenant's segments (store_segment.c). */
const char	*key_segments(struct key *, uint64_t tenant);
const char	*key_segment(struct key *, uint64_t tenant, uint64_t segment);
/* Signup forms (store_form.c): {t:T} keys like the rest. */
#define KEY_SIGNUP_HASH_MAX	32	/* hex digits of an address's hash */
const char	*key_forms(struct key *, uint64_t tenant);
const char	*key_form(struct key *, uint64_t tenant, uint64_t form);
const char	*key_form_consent(struct key *, uint64_t tenant,
		    uint64_t form);
const char	*key_signup(struct key *, uint64_t tenant, uint64_t signup);
const char	*key_signups_of(struct key *, uint64_t tenant,
		    const char *hash);
const char	*key_signup_mailed(struct key *, uint64_t tenant,
		    const char *hash);
const char	*key_contact_consents(struct key *, uint64_t tenant,
		    uint64_t contact);
/* {t:T}: the tenant's event log (store_event.c), its pump's marks and
 * lease (event_pump.c). */
const char	*key_events(struct key *, uint64_t tenant);
const char	*key_events_pumped(struct key *, uint64_t tenant);
const char	*key_events_lease(struct key *, uint64_t tenant);
/* The marketer's logins (store_user.c).  The email index is server-wide
 * under its own {users} tag; a user and its sessions are the tenant's. */
const char	*key_user_index(void);
const char	*key_users(struct key *, uint64_t tenant);
const char	*key_user(struct key *, uint64_t tenant, uint64_t user);
/* hash: the session token's SHA-256, 64 hex digits. */
const char	*key_session(struct key *, uint64_t tenant, const char *hash);
/* Webhooks: the global list of endpoints, and a tenant's. */
const char	*key_webhooks_all(void);
const char	*key_webhooks(struct key *, uint64_t tenant);
const char	*key_webhook_state(struct key *, uint64_t tenant,
		    uint64_t id);
const char	*key_webhook_lease(struct key *, uint64_t tenant,
		    uint64_t id);
const char	*key_webhook_log(struct key *, uint64_t tenant,
		    uint64_t id);
/* Schedules and A/B tests (api_schedule.c, store_schedule.c). */
const char	*key_scheduled(void);
const char	*key_ab_due(void);
const char	*key_campaign_later(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_ab(struct key *, uint64_t tenant,
		    uint64_t campaign);
const char	*key_campaign_ab_rest(struct key *, uint64_t tenant,
		    uint64_t campaign);

#endif
