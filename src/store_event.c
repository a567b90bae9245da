/*
 * store_event.c: a tenant's event log {t:T}:events in Redis
 * (store_event.h): appending through event_add.lua, the feed's pages,
 * erasure, retention, and what the event pump reads (the campaigns'
 * record streams, its marks and its lease).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "script.h"
#include "store_event.h"

#define EVENT_SCAN_PAGE		1000	/* entries per XRANGE of a scan */
#define EVENT_FILTER_MAX	10000	/* entries a filtered page reads */

/*
 * Runs event_add.lua over n events; mark_camp "" for a producer's add.
 * The added count, or -1.
 */
static long long
add_events(struct db *db, uint64_t tenant, const char *mark_camp,
    const char *mark, const struct event_entry *ev, size_t n)
{
	struct key	 events, pumped, tenant_rec, *ct;
	const char	**argv;
	size_t		*lens, i;
	char		 (*num)[2][24], nkeys[24], nev[24];
	redisReply	*rep;
	long long	 added = -1;
	int		 argc = 2;

	ct = xcalloc(n + 1, sizeof(*ct));
	num = xcalloc(n + 1, sizeof(*num));
	argv = xcalloc(2 + 1 + 3 + n + 3 + 5 * n, sizeof(*argv));
	lens = xcalloc(2 + 1 + 3 + n + 3 + 5 * n, sizeof(*lens));
	snprintf(nkeys, sizeof(nkeys), "%zu", 3 + n);
	snprintf(nev, sizeof(nev), "%zu", n);
	argv[argc++] = nkeys;
	argv[argc++] = key_events(&events, tenant);
	argv[argc++] = key_events_pumped(&pumped, tenant);
	argv[argc++] = key_tenant(&tenant_rec, tenant);
	for (i = 0; i < n; i++)
		argv[argc++] = ev[i].contact != 0 ? key_contact(&ct[i], tenant,
		    ev[i].contact) : events.s;
	argv[argc++] = mark_camp;
	argv[argc++] = mark;
	argv[argc++] = nev;
	for (i = 0; i < n; i++) {
		argv[argc++] = ev[i].id;
		if (ev[i].contact != 0)
			snprintf(num[i][0], sizeof(num[i][0]), "%llu",
			    (unsigned long long)ev[i].contact);
		if (ev[i].campaign != 0)
			snprintf(num[i][1], sizeof(num[i][1]), "%llu",
			    (unsigned long long)ev[i].campaign);
		argv[argc++] = num[i][0];
		argv[argc++] = num[i][1];
		argv[argc++] = event_type_name(ev[i].type);
		argv[argc++] = ev[i].json;
	}
	for (i = 2; i < (size_t)argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_run(db, SCRIPT_EVENT_ADD, argc, argv, lens)) == NULL)
		goto out;
	if (reply_int(rep, &added) == -1) {
		if (reply_is_error(rep, NULL))
			log_warnx("tenant %llu: event_add: %.*s",
			    (unsigned long long)tenant, (int)rep->len,
			    rep->str);
		added = -1;
	}
	freeReplyObject(rep);
out:
	free(ct);
	free(num);
	free(argv);
	free(lens);
	return added;
}

int
store_event_add(struct db *db, uint64_t tenant, const struct event_fields *ev,
    const char *id)
{
	struct event_entry	 e;
	long long		 n;

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", id);
	e.contact = ev->contact;
	e.campaign = ev->campaign;
	e.type = ev->type;
	if ((e.json = event_json(ev)) == NULL)
		return -1;
	n = add_events(db, tenant, "", "", &e, 1);
	free(e.json);
	return n == -1 ? -1 : n > 0;
}

long long
store_event_add_pumped(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *mark, const struct event_entry *ev, size_t n)
{
	char	camp[24];

	snprintf(camp, sizeof(camp), "%llu", (unsigned long long)campaign);
	return add_events(db, tenant, camp, mark, ev, n);
}

/* ------------------------------------------------------------ reading */

void
event_page_free(struct event_page *p)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		free(p->items[i]);
	free(p->items);
	memset(p, 0, sizeof(*p));
}

/* One entry's fields we filter on. */
struct entry_fields {
	const char	*e;
	size_t		 elen;
	enum event_type	 type;
	int		 typed;
	uint64_t	 contact, campaign;
};

/* [id, [f, v, ...]]: 0 with the id (in id, EVENT_CURSOR_MAX) and the
 * fields, or -1 when it is not an entry. */
static int
entry_parse(const redisReply *e, char *id, struct entry_fields *f)
{
	const char	*s, *name, *v;
	size_t		 len, nlen, vlen, i;

	memset(f, 0, sizeof(*f));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    (s = reply_str(e->element[0], &len)) == NULL ||
	    len >= EVENT_CURSOR_MAX)
		return -1;
	memcpy(id, s, len);
	id[len] = '\0';
	for (i = 0; reply_hash_next(e->element[1], &i, &name, &nlen, &v,
	    &vlen);) {
		if (nlen == 1 && name[0] == 'e') {
			f->e = v;
			f->elen = vlen;
		} else if (nlen == 2 && memcmp(name, "ty", 2) == 0)
			f->typed = event_type_parse(v, vlen, &f->type) == 0;
		else if (nlen == 1 && name[0] == 'c' && vlen > 0)
			(void)parse_u64(v, vlen, &f->contact);
		else if (nlen == 2 && memcmp(name, "ca", 2) == 0 && vlen > 0)
			(void)parse_u64(v, vlen, &f->campaign);
	}
	return 0;
}

int
store_event_page(struct db *db, uint64_t tenant, const char *cursor,
    unsigned mask, uint64_t campaign, size_t limit, struct event_page *page)
{
	redisReply		*rep;
	struct entry_fields	 f;
	struct key		 k;
	char			 from[EVENT_CURSOR_MAX + 1], id[EVENT_CURSOR_MAX];
	size_t			 i, read = 0, want, cap = 0;
	int			 filtered, end = 0;

	memset(page, 0, sizeof(*page));
	filtered = mask != EVENT_ALL_TYPES || campaign != 0;
	if (cursor != NULL && *cursor != '\0') {
		snprintf(from, sizeof(from), "(%s", cursor);
		snprintf(page->next, sizeof(page->next), "%s", cursor);
	} else
		snprintf(from, sizeof(from), "-");
	key_events(&k, tenant);
	while (page->n < limit && !end && read < EVENT_FILTER_MAX) {
		want = filtered ? EVENT_SCAN_PAGE : limit - page->n;
		rep = db_cmd(db, "XRANGE %s %s + COUNT %llu", k.s, from,
		    (unsigned long long)want);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			event_page_free(page);
			return -1;
		}
		end = rep->elements < want;
		for (i = 0; i < rep->elements && page->n < limit; i++) {
			if (entry_parse(rep->element[i], id, &f) == -1)
				continue;
			read++;
			snprintf(page->next, sizeof(page->next), "%s", id);
			snprintf(from, sizeof(from), "(%s", id);
			if (f.e == NULL || !f.typed ||
			    !(mask & (1u << f.type)) ||
			    (campaign != 0 && f.campaign != campaign))
				continue;
			if (page->n == cap) {
				cap = cap ? cap * 2 : 32;
				page->items = xreallocarray(page->items, cap,
				    sizeof(*page->items));
			}
			page->items[page->n++] = xstrndup(f.e, f.elen);
		}
		freeReplyObject(rep);
	}
	return 0;
}

int
store_event_erase(struct db *db, uint64_t tenant, uint64_t contact,
    long long *n)
{
	redisReply		*rep;
	struct entry_fields	 f;
	struct key		 k;
	char			 from[EVENT_CURSOR_MAX + 1] = "-";
	char			 id[EVENT_CURSOR_MAX];
	size_t			 i;
	long long		 del;
	int			 end = 0, rc = 0;

	*n = 0;
	key_events(&k, tenant);
	while (!end && rc == 0) {
		rep = db_cmd(db, "XRANGE %s %s + COUNT %d", k.s, from,
		    EVENT_SCAN_PAGE);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return -1;
		}
		end = rep->elements < EVENT_SCAN_PAGE;
		for (i = 0; i < rep->elements && rc == 0; i++) {
			if (entry_parse(rep->element[i], id, &f) == -1)
				continue;
			snprintf(from, sizeof(from), "(%s", id);
			if (f.contact != contact)
				continue;
			if (db_cmd_int(db, &del, "XDEL %s %s", k.s, id) == -1)
				rc = -1;
			else
				*n += del;
		}
		freeReplyObject(rep);
	}
	return rc;
}

long long
store_event_trim(struct db *db, uint64_t tenant, uint64_t cutoff_ms)
{
	struct key	k;
	long long	n;

	if (db_cmd_int(db, &n, "XTRIM %s MINID %llu-0", key_events(&k,
	    tenant), (unsigned long long)cutoff_ms) == -1)
		return -1;
	return n;
}

/* ---------------------------------------------------- the event pump */

int
store_event_lease(struct db *db, uint64_t tenant, const char *node,
    int ttl_ms)
{
	struct key	 lease, rec;
	const char	*argv[2 + 1 + 2 + 2];
	size_t		 lens[2 + 1 + 2 + 2];
	char		 ttl[24];
	redisReply	*rep;
	long long	 held;
	int		 argc = 2, i;

	argv[argc++] = "2";
	argv[argc++] = key_events_lease(&lease, tenant);
	argv[argc++] = key_tenant(&rec, tenant);
	argv[argc++] = node;
	snprintf(ttl, sizeof(ttl), "%d", ttl_ms);
	argv[argc++] = ttl;
	for (i = 2; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if ((rep = script_run(db, SCRIPT_EVENT_LEASE, argc, argv,
	    lens)) == NULL)
		return -1;
	if (reply_int(rep, &held) == -1) {
		if (reply_is_error(rep, NULL))
			log_warnx("tenant %llu: event_lease: %.*s",
			    (unsigned long long)tenant, (int)rep->len,
			    rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return held == 1;
}

int
store_event_marks(struct db *db, uint64_t tenant, const uint64_t *campaigns,
    size_t n, char (*marks)[EVENT_CURSOR_MAX])
{
	redisReply	*rep;
	struct key	 k;
	const char	**argv;
	size_t		*lens, i, len;
	char		(*num)[24];
	const char	*v;
	int		 rc = -1;

	for (i = 0; i < n; i++)
		marks[i][0] = '\0';
	if (n == 0)
		return 0;
	argv = xcalloc(n + 2, sizeof(*argv));
	lens = xcalloc(n + 2, sizeof(*lens));
	num = xcalloc(n, sizeof(*num));
	argv[0] = "HMGET";
	argv[1] = key_events_pumped(&k, tenant);
	for (i = 0; i < n; i++) {
		snprintf(num[i], sizeof(num[i]), "%llu",
		    (unsigned long long)campaigns[i]);
		argv[2 + i] = num[i];
	}
	for (i = 0; i < n + 2; i++)
		lens[i] = strlen(argv[i]);
	rep = db_cmdargv(db, (int)(n + 2), argv, lens);
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == n) {
		for (i = 0; i < n; i++)
			if ((v = reply_str(rep->element[i], &len)) != NULL &&
			    len < EVENT_CURSOR_MAX) {
				memcpy(marks[i], v, len);
				marks[i][len] = '\0';
			}
		rc = 0;
	}
	freeReplyObject(rep);
	free(argv);
	free(lens);
	free(num);
	return rc;
}

void
record_batch_free(struct record_batch *b)
{
	size_t	i;

	for (i = 0; i < b->n; i++)
		free(b->entries[i].text);
	free(b->entries);
	memset(b, 0, sizeof(*b));
}

/* An XRANGE reply into b (emptied first): 0, or -1 when it is no
 * array. */
static int
records_parse(const redisReply *rep, struct record_batch *b)
{
	const redisReply	*e;
	struct record_entry	*r;
	const char		*s, *name, *v;
	size_t			 i, j, len, nlen, vlen;

	memset(b, 0, sizeof(*b));
	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		return -1;
	b->entries = xcalloc(rep->elements + 1, sizeof(*b->entries));
	for (i = 0; i < rep->elements; i++) {
		e = rep->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    (s = reply_str(e->element[0], &len)) == NULL ||
		    len >= EVENT_CURSOR_MAX)
			continue;
		r = &b->entries[b->n++];
		memcpy(r->id, s, len);
		r->id[len] = '\0';
		for (j = 0; reply_hash_next(e->element[1], &j, &name, &nlen,
		    &v, &vlen);)
			if (nlen == 1 && name[0] == 'e' && r->text == NULL) {
				r->text = xstrndup(v, vlen);
				r->len = vlen;
			}
		if (r->text == NULL)
			r->text = xstrdup("");
	}
	return 0;
}

/* "(mark" or "-": XRANGE's start after the mark. */
static void
range_start(char *from, size_t len, const char *mark)
{
	if (*mark != '\0')
		snprintf(from, len, "(%s", mark);
	else
		snprintf(from, len, "-");
}

int
store_event_records(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *after, size_t count, struct record_batch *b)
{
	redisReply	*rep;
	struct key	 k;
	char		 from[EVENT_CURSOR_MAX + 1];
	int		 rc;

	range_start(from, sizeof(from), after);
	rep = db_cmd(db, "XRANGE %s %s + COUNT %llu", key_camp_events(&k,
	    tenant, campaign), from, (unsigned long long)count);
	rc = records_parse(rep, b);
	freeReplyObject(rep);
	return rc;
}

int
store_event_records_many(struct db *db, uint64_t tenant,
    const uint64_t *campaigns, char (*marks)[EVENT_CURSOR_MAX], size_t n,
    size_t count, struct record_batch *batches)
{
	redisReply	*rep;
	struct key	 k;
	char		 from[EVENT_CURSOR_MAX + 1];
	size_t		 i;
	int		 rc = 0;

	memset(batches, 0, n * sizeof(*batches));
	for (i = 0; i < n; i++) {
		range_start(from, sizeof(from), marks[i]);
		if (db_append(db, "XRANGE %s %s + COUNT %llu",
		    key_camp_events(&k, tenant, campaigns[i]), from,
		    (unsigned long long)count) == -1)
			return -1;
	}
	for (i = 0; i < n; i++) {
		rep = db_reply(db);
		if (rc == 0 && records_parse(rep, &batches[i]) == -1)
			rc = -1;
		freeReplyObject(rep);
	}
	if (rc == -1)
		for (i = 0; i < n; i++)
			record_batch_free(&batches[i]);
	return rc;
}

int
store_event_link(struct db *db, uint64_t tenant, uint64_t campaign,
    uint64_t link, char **url)
{
	redisReply	*rep;
	struct key	 k;
	const char	*v;
	size_t		 len;

	*url = NULL;
	rep = db_cmd(db, "HGET %s %llu", key_camp_links(&k, tenant, campaign),
	    (unsigned long long)link);
	if (rep == NULL || reply_is_error(rep, NULL)) {
		freeReplyObject(rep);
		return -1;
	}
	if ((v = reply_str(rep, &len)) != NULL)
		*url = xstrndup(v, len);
	freeReplyObject(rep);
	return 0;
}
