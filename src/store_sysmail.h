/*
 * store_sysmail.h: hidden system campaigns and the one-off mails they
 * carry, in Redis (keys.h names the keys):
 *   {t:T}:syscamps        a system campaign's name -> its id
 *   {t:T}:sysmail:ID      one mail's recipient, a day
 *
 * Mail that is not a marketing campaign's still goes the way every mail
 * goes: a hidden campaign of the tenant ("snapshot system", never in
 * {t:T}:camps, so no launch step, no send_finish and no listing touches
 * it) whose queue gets one entry per mail (store_queue_add_one), sent
 * by the senders with send_check.lua's checks at send time, the From
 * domain's DKIM keys and the tenant's relay.  A form's confirmation
 * campaign (store_form.h) is one such campaign, its recipients pending
 * sign-ups; the campaigns here ("sysmail 1") read theirs from
 * {t:T}:sysmail:ID, a contact's fields (email, key, first_name,
 * last_name, attributes) and "transactional": a password reset, which
 * the account holder asked for, skips the opt-out and complaint checks
 * (store_send.h).  Ids come from the tenant's contact counter, as
 * sign-ups' do, so no mail shares an id with a contact (opt-out ids).
 *
 * Two names today: "account" (password resets, its own hidden
 * template) and "test:TPL" (test sends of template TPL, its subject
 * prefixed "[Test] ").  The senders read a system campaign's template
 * version at each use, so a test send shows the template as saved.
 *
 * Typed functions over the sync connection: -1 when Redis failed.  No
 * reply leaves store_sysmail.c.
 */
#ifndef FANFARE_STORE_SYSMAIL_H
#define FANFARE_STORE_SYSMAIL_H

#include <stdint.h>

struct db;

/* A hidden campaign's record, as store_form.c and this file write it. */
struct system_campaign {
	const char	*name;
	const char	*kind;		/* "confirmation", "account", "test" */
	uint64_t	 template_id;
	const char	*from;
	const char	*owner_field;	/* "form" or "sysmail": what its
					 * recipients are (store_send.h) */
	uint64_t	 owner;		/* the form's id; 1 */
	const char	*subject_prefix;	/* NULL: none */
};

/* Writes the record of campaign camp and its queue's consumer group;
 * the senders see it only after store_sending_add (store_launch.h;
 * ff:sending has no hash tag: the last write, alone).  0 or -1. */
int	 store_system_campaign_put(struct db *, uint64_t tenant, uint64_t camp,
	    const struct system_campaign *, uint64_t now_ms);

/* Writes a hidden template (name, subject, html, text; no links) and
 * moves its version on, so the senders compile it again.  0 or -1. */
int	 store_system_template_put(struct db *, uint64_t tenant, uint64_t id,
	    const char *name, const char *subject, size_t subject_len,
	    const char *html, size_t html_len, const char *text,
	    size_t text_len, uint64_t now_ms);

/* The mail of one system campaign. */
struct sysmail_spec {
	const char	*name;		/* "account", "test:TPL" */
	const char	*kind;
	const char	*from;
	uint64_t	 template_id;	/* 0: a hidden template of the
					 * campaign's own, of the three
					 * parts below, written when the
					 * campaign is made */
	const char	*subject, *html, *text;
	const char	*subject_prefix;	/* NULL: none */
};

/* The campaign of spec->name, made on first use: 0 with *camp, or -1.
 * A From that changed since (system_from) is written over, and the
 * template's version moved on so the senders read it again. */
int	 store_sysmail_campaign(struct db *, uint64_t tenant,
	    const struct sysmail_spec *, uint64_t now_ms, uint64_t *camp);

/* One recipient; strings NULL when not given. */
struct sysmail_to {
	const char	*email;		/* as validate_email gives it */
	const char	*key;		/* its match key */
	const char	*first_name, *last_name;
	const char	*attributes;	/* a JSON object's text */
	int		 transactional;	/* 1: a password reset */
	int		 ttl_s;		/* the record's life; 0: a day */
};

/* Queues one mail to `to` on campaign camp: 0 with *id, or -1.  The
 * record lives to->ttl_s (at most a day: a reset link's record never
 * outlives the link), and is deleted by the sender once the mail has a
 * final outcome (store_sysmail_forget: 0 or -1). */
int	 store_sysmail_queue(struct db *, uint64_t tenant, uint64_t camp,
	    const struct sysmail_to *, uint64_t *id);
int	 store_sysmail_forget(struct db *, uint64_t tenant, uint64_t id);

/* Why the address (a match key) would be suppressed at send time, for
 * the checks send_check.lua makes by address: "opted_out",
 * "blocklisted" (the address or its domain), "bounced", "complained";
 * NULL when none applies.  0 with *why, or -1. */
int	 store_sysmail_suppressed(struct db *, uint64_t tenant, const char *key,
	    const char **why);

#endif
