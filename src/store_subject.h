/*
 * store_subject.h: what a tenant holds on one person apart from the
 * contact itself (store_contact.h), for data-subject requests (GDPR
 * Art. 15 access, Art. 17 erasure; api_subject.c): the person's
 * tracking events in every campaign of the tenant, their erasure, and
 * the tenant's audit stream {t:T}:audit that records both.
 *
 * Typed functions over the sync connection: -1 is always "Redis
 * failed" (no answer, or an error reply), which the API answers with
 * 503.  No reply object leaves this file.  Storage only: nothing here
 * knows the API.
 */
#ifndef FANFARE_STORE_SUBJECT_H
#define FANFARE_STORE_SUBJECT_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct token_keyring;

/* One tracking event, a line of a campaign's events stream (the "e"
 * field of an entry, as record.lua writes it:
 * "TIME KIND CONTACT LINK CC FLAG"). */
struct subject_event {
	uint64_t	campaign;	/* not in the line: the stream's */
	uint64_t	time;		/* ms */
	uint64_t	contact;
	uint64_t	link;		/* of a click */
	char		kind;		/* 'o' open, 'c' click, else unsubscribe */
	char		country[3];	/* "--": not known */
	int		machine;	/* FLAG 'm': a proxy or scanner opened */
};

/* Parses one line (pure); 0, or -1 when it is not an event line. */
int	 subject_event_parse(const char *line, struct subject_event *);

/* The contact's events in every campaign of the tenant, by campaign
 * (in the order of {t:T}:camps) then time, in *events (the caller
 * frees); 0 or -1. */
int	 store_subject_events(struct db *, uint64_t tenant, uint64_t contact,
	    struct subject_event **events, size_t *n);

/* One message sent to the person: a campaign's message record
 * ({t:T}:camp:C:msgs, "TIME OUTCOME", as send_outcome.lua writes it). */
struct subject_message {
	uint64_t	campaign;
	uint64_t	time;		/* ms of the outcome */
	char		outcome;	/* s sent, b bounced, f failed,
					 * t deferred (a retry is due) */
};

/* Parses one record's value (pure); 0, or -1. */
int	 subject_message_parse(const char *, size_t,
	    struct subject_message *);

/* The messages sent to the contact, one per campaign of the tenant
 * that mailed it (in the order of {t:T}:camps), in *msgs (the caller
 * frees); 0 or -1. */
int	 store_subject_messages(struct db *, uint64_t tenant,
	    uint64_t contact, struct subject_message **msgs, size_t *n);

/* Erases the contact's events and unique-set memberships from every
 * campaign of the tenant (erase.lua, atomic per campaign), and leaves
 * each campaign's tombstone (the contact id's keyed hash under the
 * ring's signing key in {t:T:c:C}:erased), so that no replay, retry or
 * other node writes them back; 0 with the counts added to *events and
 * *members, or -1 (campaigns before the failure are erased; a second
 * call finds nothing there). */
int	 store_subject_erase_events(struct db *, uint64_t tenant,
	    const struct token_keyring *, uint64_t contact, long long *events,
	    long long *members);

/* Erases the contact's message records from every campaign of the
 * tenant; 0 with their number added to *messages, or -1.  Call it
 * again once the contact record is gone: send_outcome.lua writes a
 * record only while it exists, so none comes back after that. */
int	 store_subject_erase_messages(struct db *, uint64_t tenant,
	    uint64_t contact, long long *messages);

/* Appends a record to the tenant's audit stream: who (actor: a key
 * prefix or "fanfarectl"), what (action) and counts (a JSON text,
 * never an address); 0 or -1. */
int	 store_subject_audit(struct db *, uint64_t tenant, const char *actor,
	    const char *action, const char *counts);

#endif
