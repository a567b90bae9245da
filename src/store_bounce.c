/*
 * store_bounce.c: bounces and complaints in Redis (store_bounce.h).
 * bounce.lua writes a report in one step: suppression, counters and the
 * log entry together.  The log names a contact by id, never by address:
 * a page looks the addresses up as it is read, and an erased contact
 * leaves nothing behind that names it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "event.h"
#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "store_bounce.h"

#define BOUNCE_SCAN_PAGE	1000	/* log entries read per XRANGE */

int
store_bounce_record(struct db *db, const struct bounce_record *b,
    int *suppressed)
{
	const char	*argv[2 + 1 + 9 + 9];
	size_t		 lens[2 + 1 + 9 + 9];
	struct key	 k[9];
	struct event_fields ev;
	char		*event = NULL;
	char		 camp[24], contact[24], now[24], limit[24];
	redisReply	*rep;
	const char	*first;
	long long	 n;
	int		 argc = 2, i, rc = -1;

	*suppressed = 0;
	key_campaign(&k[0], b->tenant, b->campaign);
	key_contact(&k[1], b->tenant, b->contact);
	key_bounces(&k[2], b->tenant);
	key_soft_bounces(&k[3], b->tenant);
	key_complaints(&k[4], b->tenant);
	key_optouts(&k[5], b->tenant);
	key_optouts_at(&k[6], b->tenant);
	key_bounce_log(&k[7], b->tenant);
	key_events(&k[8], b->tenant);
	argv[argc] = "9";
	lens[argc++] = 1;
	for (i = 0; i < 9; i++) {
		argv[argc] = k[i].s;
		lens[argc++] = k[i].len;
	}
	argv[argc] = b->kind;
	lens[argc++] = strlen(b->kind);
	argv[argc] = contact;
	lens[argc++] = (size_t)snprintf(contact, sizeof(contact), "%llu",
	    (unsigned long long)b->contact);
	argv[argc] = camp;
	lens[argc++] = (size_t)snprintf(camp, sizeof(camp), "%llu",
	    (unsigned long long)b->campaign);
	argv[argc] = now;
	lens[argc++] = (size_t)snprintf(now, sizeof(now), "%llu",
	    (unsigned long long)b->now_ms);
	argv[argc] = b->status;
	lens[argc++] = strlen(b->status);
	argv[argc] = b->diagnostic;
	lens[argc++] = strlen(b->diagnostic);
	argv[argc] = limit;
	lens[argc++] = (size_t)snprintf(limit, sizeof(limit), "%d",
	    b->soft_limit);
	/* The event: a bounce or a complaint (an unrecognised report is
	 * nobody's event). */
	memset(&ev, 0, sizeof(ev));
	ev.time_ms = b->now_ms;
	ev.campaign = b->campaign;
	ev.contact = b->contact;
	if (strcmp(b->kind, "hard") == 0 || strcmp(b->kind, "soft") == 0) {
		ev.type = EVENT_BOUNCED;
		ev.kind = b->kind;
		ev.status = b->status;
		ev.diagnostic = b->diagnostic;
		event = event_json(&ev);
	} else if (strcmp(b->kind, "complaint") == 0) {
		ev.type = EVENT_COMPLAINED;
		event = event_json(&ev);
	}
	argv[argc] = event != NULL ? event_type_name(ev.type) : "";
	lens[argc] = strlen(argv[argc]);
	argc++;
	argv[argc] = event != NULL ? event : "";
	lens[argc] = strlen(argv[argc]);
	argc++;
	rep = script_run(db, SCRIPT_BOUNCE, argc, argv, lens);
	free(event);
	if (rep == NULL)
		return -1;
	if (reply_is_error(rep, NULL)) {
		log_warnx("tenant %llu: bounce: %.*s",
		    (unsigned long long)b->tenant, (int)rep->len, rep->str);
	} else if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
	    (first = reply_str(rep->element[0], NULL)) != NULL) {
		if (strcmp(first, "gone") == 0)
			rc = 0;
		else if (strcmp(first, "ok") == 0 && rep->elements >= 2) {
			rc = 1;
			if (reply_int(rep->element[1], &n) == 0 && n == 1)
				*suppressed = 1;
		}
	}
	freeReplyObject(rep);
	return rc;
}

/* ------------------------------------------------------------ reading */

void
bounce_page_free(struct bounce_page *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++) {
		free(p->items[i].diagnostic);
		free(p->items[i].email);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

/* One stream entry [id, [f, v, ...]] into it: 0, or -1 when it is not
 * an entry. */
static int
item_parse(const redisReply *e, struct bounce_item *it)
{
	const char	*id, *f, *v;
	size_t		 idlen, flen, vlen, i;
	uint64_t	 u;

	memset(it, 0, sizeof(*it));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    (id = reply_str(e->element[0], &idlen)) == NULL ||
	    idlen >= sizeof(it->id))
		return -1;
	memcpy(it->id, id, idlen);
	it->id[idlen] = '\0';
	if (parse_u64(id, strcspn(id, "-"), &u) == 0)
		it->at = u;
	for (i = 0; reply_hash_next(e->element[1], &i, &f, &flen, &v, &vlen);) {
		if (strcmp(f, "kind") == 0)
			snprintf(it->kind, sizeof(it->kind), "%.*s", (int)vlen, v);
		else if (strcmp(f, "status") == 0)
			snprintf(it->status, sizeof(it->status), "%.*s",
			    (int)vlen, v);
		else if (strcmp(f, "diagnostic") == 0 && it->diagnostic == NULL)
			it->diagnostic = xstrndup(v, vlen);
		else if (strcmp(f, "campaign") == 0 &&
		    parse_u64(v, vlen, &u) == 0)
			it->campaign = u;
		else if (strcmp(f, "contact") == 0 &&
		    parse_u64(v, vlen, &u) == 0)
			it->contact = u;
	}
	if (it->diagnostic == NULL)
		it->diagnostic = xstrdup("");
	return 0;
}

static void
page_add(struct bounce_page *p, const struct bounce_item *it, size_t *cap)
{
	if (p->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		p->items = xreallocarray(p->items, *cap, sizeof(*p->items));
	}
	p->items[p->n++] = *it;
}

int
store_bounce_page(struct db *db, uint64_t tenant, const char *after,
    size_t limit, struct bounce_page *page)
{
	redisReply	*rep, *em;
	struct bounce_item it;
	struct key	 k, ck;
	char		*max = NULL;
	const char	*v;
	size_t		 i, n, cap = 0, len;
	int		 ret = -1;

	memset(page, 0, sizeof(*page));
	if (after != NULL && *after != '\0')
		xasprintf(&max, "(%s", after);
	rep = db_cmd(db, "XREVRANGE %s %s - COUNT %llu",
	    key_bounce_log(&k, tenant), max != NULL ? max : "+",
	    (unsigned long long)limit + 1);
	free(max);
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		goto out;
	n = rep->elements > limit ? limit : rep->elements;
	for (i = 0; i < n; i++)
		if (item_parse(rep->element[i], &it) == 0)
			page_add(page, &it, &cap);
	for (i = 0; i < page->n; i++)
		if (db_append(db, "HGET %s email", key_contact(&ck, tenant,
		    page->items[i].contact)) == -1)
			goto out;
	for (i = 0; i < page->n; i++) {
		if ((em = db_reply(db)) == NULL || reply_is_error(em, NULL)) {
			freeReplyObject(em);
			goto out;
		}
		if ((v = reply_str(em, &len)) != NULL)
			page->items[i].email = xstrndup(v, len);
		freeReplyObject(em);
	}
	page->more = rep->elements > limit && page->n > 0;
	ret = 0;
out:
	db_discard(db);
	freeReplyObject(rep);
	if (ret == -1)
		bounce_page_free(page);
	return ret;
}

/*
 * Walks the whole log oldest first, BOUNCE_SCAN_PAGE entries a step,
 * and keeps the contact's entries in *page: the log holds at most
 * 100,000 entries, so a subject request reads at most that many.
 */
int
store_bounce_subject(struct db *db, uint64_t tenant, uint64_t contact,
    struct bounce_page *page)
{
	redisReply	*rep;
	struct bounce_item it;
	struct key	 k;
	char		 from[56] = "-";
	size_t		 i, cap = 0;
	int		 done = 0;

	memset(page, 0, sizeof(*page));
	key_bounce_log(&k, tenant);
	while (!done) {
		rep = db_cmd(db, "XRANGE %s %s + COUNT %d", k.s, from,
		    BOUNCE_SCAN_PAGE);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			bounce_page_free(page);
			return -1;
		}
		done = rep->elements < BOUNCE_SCAN_PAGE;
		for (i = 0; i < rep->elements; i++) {
			if (item_parse(rep->element[i], &it) == -1)
				continue;
			snprintf(from, sizeof(from), "(%s", it.id);
			if (it.contact == contact)
				page_add(page, &it, &cap);
			else
				free(it.diagnostic);
		}
		freeReplyObject(rep);
	}
	return 0;
}

int
store_bounce_subject_erase(struct db *db, uint64_t tenant, uint64_t contact,
    const char *key, long long *n)
{
	struct bounce_page	 page;
	struct key		 k;
	long long		 del;
	size_t			 i;
	int			 rc = 0;

	*n = 0;
	if (store_bounce_subject(db, tenant, contact, &page) == -1)
		return -1;
	key_bounce_log(&k, tenant);
	for (i = 0; i < page.n && rc == 0; i++) {
		if (db_cmd_int(db, &del, "XDEL %s %s", k.s,
		    page.items[i].id) == -1)
			rc = -1;
		else
			*n += del;
	}
	bounce_page_free(&page);
	if (rc == 0 && key != NULL && *key != '\0' &&
	    (reply_done(db_cmd(db, "HDEL %s %s", key_soft_bounces(&k, tenant),
	    key)) == -1 ||
	    reply_done(db_cmd(db, "ZREM %s %s", key_complaints(&k, tenant),
	    key)) == -1))
		rc = -1;
	return rc;
}
