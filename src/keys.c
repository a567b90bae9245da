/*
 * keys.c: builds every Redis key name, and holds the table that
 * documents them (key_docs, which README.md must match).  The only file
 * with a key format in it; see keys.h for the hash tags and the rules.
 *
 * No printf: store.c names eight keys per campaign per chunk, so a key
 * is a few memcpy and fmt_u64.  A key never overflows KEY_MAX: its
 * longest form is 61 bytes.
 */
#include <string.h>

#include "fanfare.h"
#include "keys.h"

const struct key_doc key_docs[] = {
	{ "ff:tenants", "set", "tenant ids (the janitor walks them)" },
	{ "ff:purge", "sorted set", "tenant id → purge time (ms), set by "
	  "`DELETE /v1/tenants/T`" },
	{ "ff:sending", "set", "`T:C` of the campaigns the senders look at "
	  "(launch adds, cancel removes)" },
	{ "ff:purged", "set", "ids of the tenants purged: the trackers drop "
	  "their late hits rather than recreate their keys (ids are never "
	  "reused)" },
	{ "{t:T}:tenant", "hash", "`name`, `retention_days`, `status`, "
	  "`created_at`, `purge_at`" },
	{ "{t:T}:keys", "hash", "API key prefix → SHA-256 (hex) of the key" },
	{ "{t:T}:seq", "hash", "the last id given per `contact`, `list`, "
	  "`template`, `campaign`, `domain`" },
	{ "{t:T}:ct:ID", "hash", "a contact" },
	{ "{t:T}:ct:bykey", "hash", "email match key → contact id" },
	{ "{t:T}:ct:ID:lists", "set", "ids of the lists the contact is on" },
	{ "{t:T}:list:ID", "hash", "`name`, `created_at`" },
	{ "{t:T}:list:ID:members", "set", "contact ids" },
	{ "{t:T}:optouts", "sorted set", "email keys (score 0, lexical) opted "
	  "out; times in `{t:T}:optouts:at`" },
	{ "{t:T}:optouts:at", "hash", "email key → opt-out time (ms)" },
	{ "{t:T}:optout_ids", "sorted set", "contact id → opt-out time (ms), "
	  "from the one-click link" },
	{ "{t:T}:blocklist", "sorted set", "blocked addresses and `@domain`s "
	  "(score 0, lexical)" },
	{ "{t:T}:blocklist:at", "hash", "pattern → when it was added (ms)" },
	{ "{t:T}:suppressed", "set", "keyed hashes (HMAC with the token "
	  "secret) of erased addresses: never imported or mailed again; and "
	  "of erased contact ids: no opt-out by id is stored for them" },
	{ "{t:T}:bounces", "sorted set", "email keys that got a 5xx to RCPT → "
	  "when; never mailed again; an erasure removes the address (its "
	  "keyed hash in `:suppressed` keeps it unmailed)" },
	{ "{t:T}:bounce_log", "stream", "reports sent back to VERP addresses: "
	  "fields `kind` (`hard`, `soft`, `complaint`, `unrecognised`), "
	  "`status`, `diagnostic`, `campaign`, `contact` (an id, never the "
	  "address); the last 100,000" },
	{ "{t:T}:soft_bounces", "hash", "email key → soft bounces in a row "
	  "(a delivery resets it; `soft_bounce_limit` suppresses)" },
	{ "{t:T}:complaints", "sorted set", "email keys that complained "
	  "(ARF) → when; never mailed again" },
	{ "{t:T}:audit", "stream", "privacy requests: `time`, `key_prefix`, "
	  "`action`, `counts` (never the address); logins, failures, "
	  "logouts, users created and deleted: `user` (an id) instead of "
	  "`counts`" },
	{ "{t:T}:domains", "hash", "sending domain name → id" },
	{ "{t:T}:domain:ID", "hash", "a sending domain: `name`, `status` "
	  "(`pending`, `verified`), `doc` (JSON: selectors, public keys, "
	  "the last DNS checks), `version` (bumped by each write), "
	  "`sealed:SELECTOR` (a private key, AES-256-GCM under "
	  "`data_key_file`)" },
	{ "{t:T}:relay", "string", "the tenant's own relay, JSON: `host`, "
	  "`port`, `starttls`, `username`, `password` (AES-256-GCM under "
	  "`data_key_file`, never in clear), `version` (new at each write), "
	  "`updated_at`" },
	{ "{t:T}:tpl:ID", "hash", "a template: `name`, `subject`, `html`, "
	  "`text`, `links` (JSON), `updated_at`, `version` (one more at each "
	  "save: the senders compile a template again only when it changes)" },
	{ "{t:T}:camps", "sorted set", "campaign ids" },
	{ "{t:T}:camp:C", "hash", "the campaign: `name`, `template_id`, "
	  "`list_id`, `from`, `reply_to`, `rate_per_second`, `track_opens`, "
	  "`track_clicks`, `created_at`, `status` (`draft`, `sending`, "
	  "`paused`, `cancelled`, `done`); from launch `launched_at`, "
	  "`total`, `queued`, `snapshot` (`0` while the list is being "
	  "queued, `1` after), `scan_cursor` and `scan_runid` (the Redis "
	  "process the cursor belongs to), the senders' `sent`, `failed`, "
	  "`deferred`, `bounced`, `sup_opted_out`, `sup_blocklisted`, "
	  "`sup_special_category`, `sup_bounced`, `sup_erased`, "
	  "`sup_complained`, the bounce listener's `bounces_soft` and "
	  "`complaints`, and "
	  "`finished_at`" },
	{ "{t:T}:camp:C:q", "stream", "the recipients to send, consumer group "
	  "`senders`: fields `ids` (up to 100 comma-separated contact ids) "
	  "and `try`" },
	{ "{t:T}:camp:C:queued", "string (bitmap)", "bit per contact id: "
	  "already queued" },
	{ "{t:T}:camp:C:scan", "string", "the `node_id` queuing the list "
	  "(the snapshot's lease): set again at each step, it expires "
	  "`claim_idle` after the last, and another node goes on" },
	{ "{t:T}:camp:C:done", "string (bitmap)", "bit per contact id: final "
	  "(sent, bounced, failed or suppressed); a reclaimed entry skips "
	  "these" },
	{ "{t:T}:camp:C:retry", "sorted set", "contact id → when to try "
	  "again (ms)" },
	{ "{t:T}:camp:C:tries", "hash", "contact id → tries so far (4xx "
	  "answers)" },
	{ "{t:T}:camp:C:msgs", "hash", "the message record: contact id → "
	  "`time outcome` (ms; `sent`, `bounced`, `failed`, `deferred`), "
	  "written by the outcome script with the outcome; the subject "
	  "export's `messages` and `bounces`; removed by erasure, and "
	  "`retention_days` after the campaign finished" },
	{ "{t:T:c:C}:stats", "hash", "`opens`, `opens_unique`, "
	  "`opens_machine`, `clicks`, `clicks_unique`, `clicks_machine`, "
	  "`unsubscribes`, `link:N`, `link_unique:N`, `country:CC`" },
	{ "{t:T:c:C}:openers", "set", "contacts with a human open" },
	{ "{t:T:c:C}:clickers", "set", "contacts with a human click" },
	{ "{t:T:c:C}:link_clickers", "set", "`N:contact`" },
	{ "{t:T:c:C}:unsubscribers", "set", "contacts that opted out through "
	  "this campaign" },
	{ "{t:T:c:C}:events", "stream", "per-person records: fields `n` "
	  "(count) and `e`, lines `ts_ms kind contact link country flags` "
	  "(kind `o`/`c`/`u`, country `--` when unknown, flags `m` machine "
	  "or `-`); never DNT/GPC hits; a line an erasure removed is `-` "
	  "(the others keep their numbers: event ids and cursors name "
	  "them)" },
	{ "{t:T:c:C}:erased", "set", "erasure tombstones: keyed hashes "
	  "(HMAC with the token secret) of the contact ids erased; "
	  "record.lua stores no per-person data of them (spool replays, "
	  "retries, other nodes, late hits); kept as long as the campaign's "
	  "tracking data" },
	{ "{t:T:c:C}:links", "hash", "link index → URL" },
	{ "{t:T:c:C}:applied", "hash", "replay guard: spool name → position "
	  "of the last event applied" },
	{ "{t:T:c:C}:ts", "hash", "opens and clicks per bucket of the event's "
	  "own time: `o:M`, `om:M`, `c:M`, `cm:M` (human opens, machine "
	  "opens, human clicks, machine clicks in unix minute M = seconds / "
	  "60), the same with an `h` in front for unix hour H (`ho:H`...); "
	  "aggregates like `:stats` (DNT/GPC hits included, no contact), "
	  "written by the same script in the same round trip; like "
	  "`:stats`, kept when a subject is erased and not trimmed by "
	  "retention (it names nobody), removed with the tenant" },
	{ "ff:sequences", "set", "`T:ID` of the active sequences the "
	  "due-step job looks at (activate adds, pause removes)" },
	{ "{t:T}:sequences", "sorted set", "the tenant's sequence ids "
	  "(score the id)" },
	{ "{t:T}:sequence:ID", "hash", "a sequence: `name`, `from`, `status` "
	  "(`draft`, `active`, `paused`), `trigger_list`, `nsteps`, per step "
	  "k `step:k:template`, `step:k:delay` (ms), `step:k:if`, "
	  "`step:k:campaign` (its hidden campaign) and `step:k:skipped`; "
	  "counters `enrolled`, `active`, `completed`, `exited`" },
	{ "{t:T}:sequence:ID:enrolled", "hash", "contact id → its enrollment: "
	  "the next step's index while active, `c` completed, `x` exited "
	  "(opt-out, bounce, complaint, quarantine); an erased contact's "
	  "field is removed" },
	{ "{t:T}:sequence:ID:due", "sorted set", "contact id → when its next "
	  "step is due (ms): the due-step job reads only what is due" },
	{ "{t:T}:sequence:ID:flight", "sorted set", "contact id → lease end "
	  "(ms): claimed by a node's due-step job, not yet advanced; taken "
	  "again by any node once the lease ends" },
	{ "{t:T}:list:ID:sequences", "set", "the sequences list ID triggers: "
	  "a contact added to the list is enrolled in each" },
	{ "{t:T}:segs", "sorted set", "segment ids (given by the `segment` "
	  "field of `{t:T}:seq`)" },
	{ "{t:T}:seg:ID", "hash", "a segment: `def` (its definition, JSON: "
	  "`name`, `match`, `rules`), `created_at`, `updated_at`; a campaign "
	  "launched to it keeps the definition it had then in its record's "
	  "`segment_def`, beside `segment_id`" },
	/* Signup forms (store_form.c, signup.c). */
	{ "{t:T}:forms", "sorted set", "form ids" },
	{ "{t:T}:form:ID", "hash", "a signup form: `name`, `list_id`, "
	  "`fields` (JSON), `consent_version`, `double_opt_in`, "
	  "`redirect_url`, `from`, `campaign` and `template` (its hidden "
	  "confirmation campaign and template), `created_at`, `updated_at`" },
	{ "{t:T}:form:ID:consent", "hash", "consent text version → the exact "
	  "text shown (a change of the text is a new version)" },
	{ "{t:T}:signup:ID", "hash", "a pending sign-up: `email`, `key`, "
	  "`first_name`, `last_name`, `attributes`, `quarantined`, `form`, "
	  "`consent_version`, `asked_at`, `country`; expires "
	  "`signup_expiry` after it was asked (deleted by Redis)" },
	{ "{t:T}:signup_mailed:H", "string", "H: a keyed hash of an address; "
	  "set for a day when a confirmation mail to it was queued (at most "
	  "one a day)" },
	{ "{t:T}:signups:H", "set", "H: as above; the ids of the address's "
	  "pending sign-ups, so that erasing the person finds them; "
	  "expires with the newest" },
	{ "{t:T}:ct:ID:consents", "list", "the contact's consent records, "
	  "JSON: `form`, `consent_version`, `consent_text`, `asked_at`, "
	  "`confirmed_at`, `method`, `country`; in the subject export, "
	  "removed by erasure" },
	{ "{t:T}:events", "stream", "the tenant's event log, what "
	  "`GET /v1/events` pages through and webhooks deliver: fields `e` "
	  "(the event's JSON text, as delivered), `ty` (its type), `c` (its "
	  "contact id, or empty), `ca` (its campaign id, or empty); an "
	  "erasure deletes the contact's entries; "
	  "trimmed by `retention_days`; a webhook's test event has `ty` "
	  "`test` and `wh` (the endpoint's id), no `c` or `ca`; the event "
	  "pump's references to opens, clicks and link opt-outs have `r` "
	  "(the campaign), `a` and `b` (the first and last entry of "
	  "`{t:T:c:C}:events` they cover) and `n` (their record count): "
	  "readers make those events from the records" },
	{ "{t:T}:events:pumped", "hash", "campaign id → the last entry of "
	  "`{t:T:c:C}:events` referred to in `{t:T}:events` (the event "
	  "pump's mark: a step made twice adds nothing)" },
	{ "{t:T}:events:lease", "string", "the `node_id` pumping the "
	  "tenant's events; expires 10 s after its last run" },
	{ "{users}:byemail", "hash", "a login's email (lower case) → `T:U` "
	  "(tenant, user id): unique across the server; written before the "
	  "user and removed after it, so an entry without its user is a "
	  "stale claim that a new user of the address takes over" },
	{ "{t:T}:users", "sorted set", "user id → creation time (ms)" },
	{ "{t:T}:user:ID", "hash", "a login: `email`, `role`, `hash` (argon2id, "
	  "libsodium's `crypto_pwhash_str`), `created_at`, `totp` (base32 "
	  "secret, once confirmed), `totp_pending`, `totp_step` (the last "
	  "code's step: no replay)" },
	{ "{t:T}:sess:HASH", "hash", "a session, named by the SHA-256 of its "
	  "cookie's random token (never the token): `user`, `csrf`, "
	  "`expires_at` (ms); the key expires at `session_idle` or "
	  "`expires_at`, whichever is first" },
	{ "ff:webhooks", "set", "`T:ID` of every webhook endpoint (the "
	  "delivery threads of every node walk it)" },
	{ "{t:T}:webhooks", "hash", "webhook endpoint id (from `{t:T}:seq` "
	  "field `webhook`) → JSON: `url`, "
	  "`events` (type names), `enabled`, `secret` and `old_secret` "
	  "(AES-256-GCM under `data_key_file`, never in clear), `old_until` "
	  "(ms: the old secret signs until then), `created_at`, "
	  "`updated_at`" },
	{ "{t:T}:wh:ID:state", "hash", "an endpoint's delivery state, "
	  "written by the node delivering it: `attempts`, `delivery`, "
	  "`failing_since`, `next_at` (ms), `last_code`, `last_error`, "
	  "`last_success`, `disabled_reason`, `log_entry` (its delivery's "
	  "log entry), and `cursor`: the position in "
	  "`{t:T}:events` (`ID`, or `ID@CID.LINE` inside a reference) "
	  "before which a 2xx took every event; moved only after one" },
	{ "{t:T}:wh:ID:lease", "string", "the `node_id` delivering the "
	  "endpoint; expires unless renewed, then another node goes on" },
	{ "{t:T}:wh:ID:log", "stream", "the delivery log, one entry per "
	  "delivery (an attempt at the delivery of the last entry replaces "
	  "it: `log_entry` in the state), field `d`: JSON `id`, `events` "
	  "(event ids), `attempts`, "
	  "`status`, `last_code`, `next_at`; the last 1,000, and trimmed by "
	  "the tenant's retention" },
	{ "ff:scheduled", "sorted set", "`T:C` → `send_at` (ms) of the "
	  "scheduled campaigns: the due job of every node launches those "
	  "whose time has come (the launch script's status change makes it "
	  "once)" },
	{ "ff:ab_due", "sorted set", "`T:C` → when (ms) an A/B test's winner "
	  "is due: the due job picks it and queues the rest" },
	{ "{t:T}:camp:C:later", "sorted set", "contact id → when (ms) to "
	  "queue it: `local_time` recipients not due yet (the senders move "
	  "them into `:q` when due)" },
	{ "{t:T}:camp:C:ab", "hash", "A/B test: contact id → its variant "
	  "(1, 2, ...), set when it is queued" },
	{ "{t:T}:camp:C:ab_rest", "list", "A/B test: the contact ids held "
	  "back for the winner, comma-separated batches" },
	/* Account mail (store_sysmail.c) and password resets (store_reset.c). */
	{ "{t:T}:syscamps", "hash", "a hidden system campaign's name "
	  "(`account`: password resets; `test:TPL`: test sends of template "
	  "TPL) → its campaign id; such a campaign is never in "
	  "`{t:T}:camps`" },
	{ "{t:T}:sysmail:ID", "hash", "one account mail's recipient, read by "
	  "the senders of a system campaign as a contact: `email`, `key`, "
	  "`first_name`, `last_name`, `attributes` (JSON: the reset link), "
	  "`transactional` (1: a password reset, sent to an opted-out or "
	  "complaining address too); deleted by the sender once the mail "
	  "has a final outcome, else expires a day after it was queued (a "
	  "reset's with its link)" },
	{ "{t:T}:reset:HASH", "hash", "a password reset, named by the "
	  "SHA-256 of its link's random token (never the token): `user`, "
	  "`expires_at` (ms); expires at `password_reset_ttl`; deleted by "
	  "its one use" },
	{ "{t:T}:user:ID:sess", "set", "the session hashes of a user (a "
	  "password reset ends them all); expires with the last session" },
};
const size_t key_ndocs = FF_NELEM(key_docs);

/* Appends; the callers' fixed parts keep every key under KEY_MAX. */
static void
put(struct key *k, const char *s, size_t n)
{
	memcpy(k->s + k->len, s, n);
	k->len += n;
}

#define PUTS(k, lit)	put((k), (lit), sizeof(lit) - 1)

static void
put_u64(struct key *k, uint64_t v)
{
	k->len += fmt_u64(k->s + k->len, v);
}

static const char *
done(struct key *k)
{
	k->s[k->len] = '\0';
	return k->s;
}

/* "{t:T}" then "suffix". */
static const char *
tenant_key(struct key *k, uint64_t tenant, const char *suffix, size_t n)
{
	k->len = 0;
	PUTS(k, "{t:");
	put_u64(k, tenant);
	PUTS(k, "}");
	put(k, suffix, n);
	return done(k);
}

/* "{t:T}" "mid" ID "tail". */
static const char *
tenant_id_key(struct key *k, uint64_t tenant, const char *mid, size_t nmid,
    uint64_t id, const char *tail, size_t ntail)
{
	k->len = 0;
	PUTS(k, "{t:");
	put_u64(k, tenant);
	PUTS(k, "}");
	put(k, mid, nmid);
	put_u64(k, id);
	put(k, tail, ntail);
	return done(k);
}

/* "{t:T:c:C}" then "suffix". */
static const char *
campaign_key(struct key *k, uint64_t tenant, uint64_t campaign,
    const char *suffix, size_t n)
{
	k->len = 0;
	PUTS(k, "{t:");
	put_u64(k, tenant);
	PUTS(k, ":c:");
	put_u64(k, campaign);
	PUTS(k, "}");
	put(k, suffix, n);
	return done(k);
}

#define TENANT_KEY(name, suffix)					\
const char *								\
name(struct key *k, uint64_t tenant)					\
{									\
	return tenant_key(k, tenant, suffix, sizeof(suffix) - 1);	\
}

#define TENANT_ID_KEY(name, mid, tail)					\
const char *								\
name(struct key *k, uint64_t tenant, uint64_t id)			\
{									\
	return tenant_id_key(k, tenant, mid, sizeof(mid) - 1, id, tail,	\
	    sizeof(tail) - 1);						\
}

/* {t:T}MID + a hash (hex, from the caller) cut at max characters. */
#define TENANT_HASH_KEY(name, mid, max)					\
const char *								\
name(struct key *k, uint64_t tenant, const char *hash)			\
{									\
	tenant_key(k, tenant, mid, sizeof(mid) - 1);			\
	put(k, hash, strnlen(hash, max));				\
	return done(k);							\
}

#define CAMPAIGN_KEY(name, suffix)					\
const char *								\
name(struct key *k, uint64_t tenant, uint64_t campaign)			\
{									\
	return campaign_key(k, tenant, campaign, suffix,		\
	    sizeof(suffix) - 1);					\
}

const char *
key_tenants(void)
{
	return "ff:tenants";
}

const char *
key_purge(void)
{
	return "ff:purge";
}

const char *
key_sending(void)
{
	return "ff:sending";
}

const char *
key_purged(void)
{
	return "ff:purged";
}

const char *
key_scheduled(void)
{
	return "ff:scheduled";
}

const char *
key_ab_due(void)
{
	return "ff:ab_due";
}

TENANT_KEY(key_tenant_tag, "")
CAMPAIGN_KEY(key_campaign_tag, "")
/* SCAN MATCH: "{t:T}*" is every key of the {t:T} tag (the '}' stops
 * tenant 1 from matching tenant 12); "{t:T:c:*" every campaign's. */
TENANT_KEY(key_tenant_match, "*")

const char *
key_tenant_campaigns_match(struct key *k, uint64_t tenant)
{
	k->len = 0;
	PUTS(k, "{t:");
	put_u64(k, tenant);
	PUTS(k, ":c:*");
	return done(k);
}

TENANT_KEY(key_tenant, ":tenant")
TENANT_KEY(key_tenant_keys, ":keys")
TENANT_KEY(key_seq, ":seq")
TENANT_ID_KEY(key_contact, ":ct:", "")
TENANT_KEY(key_contact_bykey, ":ct:bykey")
TENANT_ID_KEY(key_contact_lists, ":ct:", ":lists")
TENANT_ID_KEY(key_list, ":list:", "")
TENANT_ID_KEY(key_list_members, ":list:", ":members")
TENANT_KEY(key_optouts, ":optouts")
TENANT_KEY(key_optouts_at, ":optouts:at")
TENANT_KEY(key_optout_ids, ":optout_ids")
TENANT_KEY(key_blocklist, ":blocklist")
TENANT_KEY(key_blocklist_at, ":blocklist:at")
TENANT_KEY(key_suppressed, ":suppressed")
TENANT_KEY(key_bounces, ":bounces")
TENANT_KEY(key_bounce_log, ":bounce_log")
TENANT_KEY(key_soft_bounces, ":soft_bounces")
TENANT_KEY(key_complaints, ":complaints")
TENANT_KEY(key_audit, ":audit")
TENANT_KEY(key_domains, ":domains")
TENANT_ID_KEY(key_domain, ":domain:", "")
TENANT_KEY(key_relay, ":relay")
TENANT_ID_KEY(key_template, ":tpl:", "")
TENANT_KEY(key_campaigns, ":camps")
TENANT_ID_KEY(key_campaign, ":camp:", "")
TENANT_ID_KEY(key_campaign_queue, ":camp:", ":q")
TENANT_ID_KEY(key_campaign_queued, ":camp:", ":queued")
TENANT_ID_KEY(key_campaign_scan, ":camp:", ":scan")
TENANT_ID_KEY(key_campaign_done, ":camp:", ":done")
TENANT_ID_KEY(key_campaign_retry, ":camp:", ":retry")
TENANT_ID_KEY(key_campaign_tries, ":camp:", ":tries")
TENANT_ID_KEY(key_campaign_msgs, ":camp:", ":msgs")

CAMPAIGN_KEY(key_camp_stats, ":stats")
CAMPAIGN_KEY(key_camp_openers, ":openers")
CAMPAIGN_KEY(key_camp_clickers, ":clickers")
CAMPAIGN_KEY(key_camp_link_clickers, ":link_clickers")
CAMPAIGN_KEY(key_camp_unsubscribers, ":unsubscribers")
CAMPAIGN_KEY(key_camp_events, ":events")
CAMPAIGN_KEY(key_camp_applied, ":applied")
CAMPAIGN_KEY(key_camp_erased, ":erased")
CAMPAIGN_KEY(key_camp_links, ":links")
CAMPAIGN_KEY(key_camp_ts, ":ts")

/* Sequences (sequence.h, store_sequence.h). */
const char *
key_sequences_active(void)
{
	return "ff:sequences";
}

TENANT_KEY(key_sequences, ":sequences")
TENANT_ID_KEY(key_sequence, ":sequence:", "")
TENANT_ID_KEY(key_sequence_enrolled, ":sequence:", ":enrolled")
TENANT_ID_KEY(key_sequence_due, ":sequence:", ":due")
TENANT_ID_KEY(key_sequence_flight, ":sequence:", ":flight")
TENANT_ID_KEY(key_list_sequences, ":list:", ":sequences")
TENANT_KEY(key_segments, ":segs")
TENANT_ID_KEY(key_segment, ":seg:", "")
/* Signup forms. */
TENANT_KEY(key_forms, ":forms")
TENANT_ID_KEY(key_form, ":form:", "")
TENANT_ID_KEY(key_form_consent, ":form:", ":consent")
TENANT_ID_KEY(key_signup, ":signup:", "")
TENANT_ID_KEY(key_contact_consents, ":ct:", ":consents")

TENANT_HASH_KEY(key_signup_mailed, ":signup_mailed:", KEY_SIGNUP_HASH_MAX)
TENANT_HASH_KEY(key_signups_of, ":signups:", KEY_SIGNUP_HASH_MAX)
TENANT_KEY(key_events, ":events")
TENANT_KEY(key_events_pumped, ":events:pumped")
TENANT_KEY(key_events_lease, ":events:lease")
const char *
key_user_index(void)
{
	return "{users}:byemail";
}

TENANT_KEY(key_users, ":users")
TENANT_ID_KEY(key_user, ":user:", "")

/* The hash is cut at 64 characters: the longest key is then 94 bytes. */
TENANT_HASH_KEY(key_session, ":sess:", 64)
/* Webhooks (store_webhook.c). */
const char *
key_webhooks_all(void)
{
	return "ff:webhooks";
}

TENANT_KEY(key_webhooks, ":webhooks")
TENANT_ID_KEY(key_webhook_state, ":wh:", ":state")
TENANT_ID_KEY(key_webhook_lease, ":wh:", ":lease")
TENANT_ID_KEY(key_webhook_log, ":wh:", ":log")

/* Schedules and A/B tests (store_schedule.c, store_launch.c). */
TENANT_ID_KEY(key_campaign_later, ":camp:", ":later")
TENANT_ID_KEY(key_campaign_ab, ":camp:", ":ab")
TENANT_ID_KEY(key_campaign_ab_rest, ":camp:", ":ab_rest")

/* Account mail and password resets (store_sysmail.c, store_reset.c). */
TENANT_KEY(key_system_campaigns, ":syscamps")
TENANT_ID_KEY(key_sysmail, ":sysmail:", "")
TENANT_ID_KEY(key_user_sessions, ":user:", ":sess")

/* The hash is cut at 64 characters, as key_session's. */
TENANT_HASH_KEY(key_password_reset, ":reset:", 64)
