/*
 * store_subject.c: one person's tracking events across a tenant's
 * campaigns, their erasure, and the audit stream (store_subject.h).
 *
 * The events live in each campaign's stream {t:T:c:C}:events, several
 * lines an entry; reading them is a scan of every campaign, a page of
 * XRANGE at a time.  Erasing runs erase.lua once per campaign, which
 * rewrites the stream without the person's lines atomically against
 * the tracker's writes, and leaves the campaign's tombstone (a keyed
 * hash of the contact id in {t:T:c:C}:erased) in the same step, so that
 * nothing still in flight (a spool not shipped yet, a pipeline, a
 * retry, another node) writes them back: record.lua checks it.
 *
 * The messages sent to the person are each campaign's message record
 * ({t:T}:camp:C:msgs, written by send_outcome.lua with the outcome):
 * one HGET per campaign, pipelined, to read them; one HDEL each to
 * erase them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "store_campaign.h"
#include "store_subject.h"
#include "store_suppress.h"

#define EVENTS_PAGE	500	/* stream entries a round trip */

int
subject_event_parse(const char *line, struct subject_event *ev)
{
	unsigned long long	t, c, link;
	char			kind, cc[3], flag;

	if (sscanf(line, "%llu %c %llu %llu %2s %c", &t, &kind, &c, &link,
	    cc, &flag) != 6)
		return -1;
	memset(ev, 0, sizeof(*ev));
	ev->time = t;
	ev->contact = c;
	ev->link = link;
	ev->kind = kind;
	memcpy(ev->country, cc, sizeof(cc));
	ev->machine = flag == 'm';
	return 0;
}

/* A growing array of events. */
struct event_list {
	struct subject_event	*v;
	size_t			 n, cap;
};

/* Adds the contact's lines of one entry's "e" text. */
static void
entry_events(const char *text, size_t len, uint64_t campaign,
    uint64_t contact, struct event_list *out)
{
	struct subject_event	 ev;
	char			*copy, *line, *save;

	copy = xstrndup(text, len);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (subject_event_parse(line, &ev) == -1 ||
		    ev.contact != contact)
			continue;
		ev.campaign = campaign;
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->v = xreallocarray(out->v, out->cap,
			    sizeof(*out->v));
		}
		out->v[out->n++] = ev;
	}
	free(copy);
}

/* Adds the contact's events of one campaign; 0 or -1. */
static int
campaign_events(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t contact, struct event_list *out)
{
	redisReply	*rep, *e, *f;
	struct key	 k;
	const char	*id, *name, *text;
	char		 start[48] = "-";
	size_t		 i, j, idlen, len;
	int		 more;

	key_camp_events(&k, tenant, campaign);
	do {
		if ((rep = db_cmd(db, "XRANGE %s %s + COUNT %d", k.s, start,
		    EVENTS_PAGE)) == NULL)
			return -1;
		if (rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return -1;
		}
		for (i = 0; i < rep->elements; i++) {
			e = rep->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
			    (id = reply_str(e->element[0], &idlen)) == NULL ||
			    idlen + 2 > sizeof(start))
				continue;
			/* The next page starts just after this entry. */
			snprintf(start, sizeof(start), "(%s", id);
			f = e->element[1];
			for (j = 0; f->type == REDIS_REPLY_ARRAY &&
			    j + 1 < f->elements; j += 2)
				if ((name = reply_str(f->element[j], NULL)) !=
				    NULL && strcmp(name, "e") == 0 &&
				    (text = reply_str(f->element[j + 1],
				    &len)) != NULL)
					entry_events(text, len, campaign,
					    contact, out);
		}
		more = rep->elements == EVENTS_PAGE;
		freeReplyObject(rep);
	} while (more);
	return 0;
}

int
store_subject_events(struct db *db, uint64_t tenant, uint64_t contact,
    struct subject_event **events, size_t *n)
{
	struct event_list	 out = { NULL, 0, 0 };
	uint64_t		*camps;
	size_t			 ncamps, i;

	*events = NULL;
	*n = 0;
	if (store_campaign_ids(db, tenant, &camps, &ncamps) == -1)
		return -1;
	for (i = 0; i < ncamps; i++)
		if (campaign_events(db, tenant, camps[i], contact,
		    &out) == -1) {
			free(camps);
			free(out.v);
			return -1;
		}
	free(camps);
	*events = out.v;
	*n = out.n;
	return 0;
}

/* erase.lua on one campaign: 0 with its counts added, or -1. */
static int
erase_campaign(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *contact, const char *hash, long long *events,
    long long *members)
{
	redisReply	*rep;
	struct key	 keys[6];
	const char	*argv[11];
	size_t		 lens[11], j;
	long long	 ev, mem;
	int		 rc = -1;

	/* erase.lua's KEYS, in its order. */
	key_camp_events(&keys[0], tenant, campaign);
	key_camp_openers(&keys[1], tenant, campaign);
	key_camp_clickers(&keys[2], tenant, campaign);
	key_camp_unsubscribers(&keys[3], tenant, campaign);
	key_camp_link_clickers(&keys[4], tenant, campaign);
	key_camp_erased(&keys[5], tenant, campaign);
	argv[2] = "6";
	lens[2] = 1;
	for (j = 0; j < 6; j++) {
		argv[3 + j] = keys[j].s;
		lens[3 + j] = keys[j].len;
	}
	argv[9] = contact;
	lens[9] = strlen(contact);
	argv[10] = hash;
	lens[10] = strlen(hash);
	if ((rep = script_run(db, SCRIPT_ERASE, 11, argv, lens)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    reply_int(rep->element[0], &ev) == 0 &&
	    reply_int(rep->element[1], &mem) == 0) {
		*events += ev;
		*members += mem;
		rc = 0;
	} else
		log_warnx("erase: %s", reply_is_error(rep, NULL) ? rep->str :
		    "?");
	freeReplyObject(rep);
	return rc;
}

int
store_subject_erase_events(struct db *db, uint64_t tenant,
    const struct token_keyring *ring, uint64_t contact, long long *events,
    long long *members)
{
	uint64_t	*camps;
	size_t		 ncamps, i;
	char		 id[24], hash[65];
	int		 rc = 0;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)contact);
	if (store_erased_contact_hash(ring, 0, contact, hash) == -1)
		return -1;
	if (store_campaign_ids(db, tenant, &camps, &ncamps) == -1)
		return -1;
	for (i = 0; i < ncamps && rc == 0; i++)
		rc = erase_campaign(db, tenant, camps[i], id, hash, events,
		    members);
	free(camps);
	return rc;
}

int
store_subject_erase_messages(struct db *db, uint64_t tenant,
    uint64_t contact, long long *messages)
{
	redisReply	*rep;
	uint64_t	*camps;
	size_t		 ncamps, i;
	struct key	 k;
	long long	 n;
	int		 rc = 0;

	if (store_campaign_ids(db, tenant, &camps, &ncamps) == -1)
		return -1;
	/* One round trip: an HDEL per campaign, pipelined. */
	for (i = 0; i < ncamps; i++)
		if (db_append(db, "HDEL %s %llu", key_campaign_msgs(&k, tenant,
		    camps[i]), (unsigned long long)contact) == -1) {
			db_discard(db);
			free(camps);
			return -1;
		}
	for (i = 0; i < ncamps; i++) {
		if ((rep = db_reply(db)) == NULL) {
			rc = -1;
			continue;
		}
		if (reply_int(rep, &n) == 0)
			*messages += n;
		else
			rc = -1;
		freeReplyObject(rep);
	}
	free(camps);
	return rc;
}

int
subject_message_parse(const char *value, size_t len,
    struct subject_message *m)
{
	char			buf[64], word[16];
	unsigned long long	t;

	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (sscanf(buf, "%llu %15s", &t, word) != 2)
		return -1;
	m->time = t;
	if (strcmp(word, "sent") == 0)
		m->outcome = 's';
	else if (strcmp(word, "bounced") == 0)
		m->outcome = 'b';
	else if (strcmp(word, "failed") == 0)
		m->outcome = 'f';
	else if (strcmp(word, "deferred") == 0)
		m->outcome = 't';
	else
		return -1;
	return 0;
}

int
store_subject_messages(struct db *db, uint64_t tenant, uint64_t contact,
    struct subject_message **msgs, size_t *n)
{
	struct subject_message	*out = NULL;
	redisReply		*rep;
	uint64_t		*camps;
	size_t			 ncamps, i, len, got = 0;
	struct key		 k;
	const char		*v;
	int			 rc = 0;

	*msgs = NULL;
	*n = 0;
	if (store_campaign_ids(db, tenant, &camps, &ncamps) == -1)
		return -1;
	/* One round trip: an HGET per campaign, pipelined. */
	for (i = 0; i < ncamps; i++)
		if (db_append(db, "HGET %s %llu", key_campaign_msgs(&k, tenant,
		    camps[i]), (unsigned long long)contact) == -1) {
			db_discard(db);
			free(camps);
			return -1;
		}
	if (ncamps > 0)
		out = xcalloc(ncamps, sizeof(*out));
	for (i = 0; i < ncamps; i++) {
		if ((rep = db_reply(db)) == NULL) {
			rc = -1;
			continue;
		}
		if (reply_is_error(rep, NULL))
			rc = -1;
		else if ((v = reply_str(rep, &len)) != NULL &&
		    subject_message_parse(v, len, &out[got]) == 0)
			out[got++].campaign = camps[i];
		freeReplyObject(rep);
	}
	free(camps);
	if (rc == -1) {
		free(out);
		return -1;
	}
	*msgs = out;
	*n = got;
	return 0;
}

int
store_subject_audit(struct db *db, uint64_t tenant, const char *actor,
    const char *action, const char *counts)
{
	redisReply	*rep;
	struct key	 k;
	int		 rc;

	if ((rep = db_cmd(db, "XADD %s * time %llu key_prefix %s action %s "
	    "counts %s", key_audit(&k, tenant), (unsigned long long)now_ms(),
	    actor, action, counts)) == NULL)
		return -1;
	rc = reply_str(rep, NULL) != NULL ? 0 : -1;
	freeReplyObject(rep);
	return rc;
}
