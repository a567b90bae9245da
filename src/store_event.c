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
	if (script_run_int(db, SCRIPT_EVENT_ADD, tenant, argc, argv, lens,
	    &added) == -1)
		added = -1;
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

int
store_event_add_ref(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *first, const char *mark, size_t nrec, size_t nent)
{
	struct key	 events, pumped, tenant_rec;
	const char	*argv[12];
	size_t		 lens[12], i;
	char		 camp[24], n[24], m[24];
	long long	 added = -1;

	snprintf(camp, sizeof(camp), "%llu", (unsigned long long)campaign);
	snprintf(n, sizeof(n), "%zu", nrec);
	snprintf(m, sizeof(m), "%zu", nent);
	argv[2] = "3";
	argv[3] = key_events(&events, tenant);
	argv[4] = key_events_pumped(&pumped, tenant);
	argv[5] = key_tenant(&tenant_rec, tenant);
	argv[6] = camp;
	argv[7] = mark;
	argv[8] = "0";		/* no copied event */
	argv[9] = first;
	argv[10] = n;
	argv[11] = m;
	for (i = 2; i < 12; i++)
		lens[i] = strlen(argv[i]);
	if (script_run_int(db, SCRIPT_EVENT_ADD, tenant, 12, argv, lens,
	    &added) == -1)
		return -1;
	return added > 0;
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
	uint64_t	 target;	/* a test event's endpoint (wh) */
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
		else if (nlen == 2 && memcmp(name, "wh", 2) == 0 && vlen > 0)
			(void)parse_u64(v, vlen, &f->target);
	}
	return 0;
}

/* -------------------------------------------------- the pump's refs */

static int	records_parse(const redisReply *, struct record_batch *);

/* A reference entry's fields. */
struct ref_fields {
	uint64_t	 campaign;
	const char	*first, *last;		/* record entry ids */
	size_t		 flen, llen;
	uint64_t	 nrec, nent;		/* records, entries; 0: unknown */
};

/* The fields r, a, b, n and m of an entry: 1 when it is a reference, else
 * 0. */
static int
ref_parse(const redisReply *e, struct ref_fields *rf)
{
	const char	*name, *v;
	size_t		 i, nlen, vlen;

	memset(rf, 0, sizeof(*rf));
	for (i = 0; reply_hash_next(e->element[1], &i, &name, &nlen, &v,
	    &vlen);) {
		if (nlen != 1)
			continue;
		if (name[0] == 'r')
			(void)parse_u64(v, vlen, &rf->campaign);
		else if (name[0] == 'a') {
			rf->first = v;
			rf->flen = vlen;
		} else if (name[0] == 'b') {
			rf->last = v;
			rf->llen = vlen;
		} else if (name[0] == 'n')
			(void)parse_u64(v, vlen, &rf->nrec);
		else if (name[0] == 'm')
			(void)parse_u64(v, vlen, &rf->nent);
	}
	return rf->campaign != 0 && rf->first != NULL && rf->last != NULL &&
	    rf->flen < EVENT_CURSOR_MAX && rf->llen < EVENT_CURSOR_MAX;
}

/* A record of a reference, found and not yet made an event. */
struct ref_rec {
	struct event_record	 rec;
	char			 entry[EVENT_CURSOR_MAX];
	unsigned		 line;
};

/* Appends an event's text to the page; pos is where it is, kept for
 * the page's first (a delivery's id). */
static void
page_add(struct event_page *p, size_t *cap, char *json, const char *pos)
{
	if (p->n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		p->items = xreallocarray(p->items, *cap, sizeof(*p->items));
	}
	if (p->n == 0)
		snprintf(p->first, sizeof(p->first), "%s", pos);
	p->items[p->n++] = json;
}

/*
 * The events of found records: each contact's address (one pipelined
 * HGET per distinct contact) and each click's URL, then their text in
 * the page.  A contact that is gone (erased) gets none.  0 or -1.
 */
/*
 * Each record's contact as an index into the distinct contacts (into
 * uniq, *nu of them), by an open-addressing table: linear in n, where
 * a scan of the distinct ones for each record was a batch of 1,000
 * events' largest cost in this file.
 */
static void
contacts_index(const struct ref_rec *r, size_t n, uint64_t *uniq,
    size_t *nu, uint32_t *idx)
{
	uint32_t	*tab;		/* index + 1 in uniq; 0: empty */
	size_t		 cap = 16, i, h;
	uint64_t	 c;

	while (cap < 2 * n)
		cap <<= 1;
	tab = xcalloc(cap, sizeof(*tab));
	*nu = 0;
	for (i = 0; i < n; i++) {
		c = r[i].rec.contact;
		h = (size_t)((c * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
		while (tab[h] != 0 && uniq[tab[h] - 1] != c)
			h = (h + 1) & (cap - 1);
		if (tab[h] == 0) {
			uniq[*nu] = c;
			tab[h] = (uint32_t)++*nu;
		}
		idx[i] = tab[h] - 1;
	}
	free(tab);
}

static int
refs_emit(struct db *db, uint64_t tenant, uint64_t campaign,
    const char *ref_entry, struct ref_rec *r, size_t n,
    struct event_page *page, size_t *cap)
{
	struct key		 k;
	struct event_fields	 e;
	struct event_pos	 pos;
	redisReply		**emails;
	uint64_t		*contacts, *links;
	uint32_t		*cidx;
	char			**urls, *partial, id[EVENT_ID_MAX];
	char			 postext[EVENT_POS_MAX];
	const char		*email;
	size_t			 i, j, nc = 0, nl = 0, len;
	int			 rc = 0;

	contacts = xcalloc(n + 1, sizeof(*contacts));
	cidx = xcalloc(n + 1, sizeof(*cidx));
	links = xcalloc(n + 1, sizeof(*links));
	emails = xcalloc(n + 1, sizeof(*emails));
	urls = xcalloc(n + 1, sizeof(*urls));
	contacts_index(r, n, contacts, &nc, cidx);
	/* A campaign's links are few: scanned. */
	for (i = 0; i < n; i++) {
		if (r[i].rec.type != EVENT_CLICKED)
			continue;
		for (j = 0; j < nl && links[j] != r[i].rec.link; j++)
			;
		if (j == nl)
			links[nl++] = r[i].rec.link;
	}
	/* By argv, not a format: hiredis parsing "HGET %s email" for each
	 * contact of each batch was a tenth of the delivery thread. */
	for (j = 0; j < nc && rc == 0; j++) {
		const char	*argv[3] = { "HGET", NULL, "email" };
		size_t		 lens[3] = { 4, 0, 5 };

		argv[1] = key_contact(&k, tenant, contacts[j]);
		lens[1] = strlen(argv[1]);
		rc = db_appendargv(db, 3, argv, lens);
	}
	for (j = 0; j < nl && rc == 0; j++)
		rc = db_append(db, "HGET %s %llu", key_camp_links(&k, tenant,
		    campaign), (unsigned long long)links[j]);
	for (j = 0; j < nc + nl && rc == 0; j++) {
		redisReply *rep = db_reply(db);

		if (rep == NULL || reply_is_error(rep, NULL)) {
			freeReplyObject(rep);
			rc = -1;
		} else if (j < nc)
			emails[j] = rep;
		else {
			const char *u = reply_str(rep, &len);

			urls[j - nc] = u != NULL ? xstrndup(u, len) : NULL;
			freeReplyObject(rep);
		}
	}
	for (i = 0; i < n && rc == 0; i++) {
		if ((email = reply_str(emails[cidx[i]], &len)) == NULL)
			continue;	/* erased */
		memset(&e, 0, sizeof(e));
		e.type = r[i].rec.type;
		e.time_ms = r[i].rec.ts_ms;
		e.campaign = campaign;
		e.contact = r[i].rec.contact;
		e.machine = r[i].rec.machine;
		if (e.type == EVENT_CLICKED) {
			for (j = 0; links[j] != r[i].rec.link; j++)
				;
			e.url = urls[j] != NULL ? urls[j] : "";
		} else if (e.type == EVENT_UNSUBSCRIBED)
			e.reason = "link";
		if ((partial = event_json(&e)) == NULL)
			continue;
		event_id_tracked(id, campaign, r[i].entry, r[i].line);
		postext[0] = '\0';
		if (page->n == 0) {
			memset(&pos, 0, sizeof(pos));
			snprintf(pos.entry, sizeof(pos.entry), "%s", ref_entry);
			snprintf(pos.sub, sizeof(pos.sub), "%s", r[i].entry);
			pos.line = r[i].line;
			event_pos_format(postext, &pos);
		}
		/* The address as Redis gave it: a bulk string is NUL
		 * terminated. */
		page_add(page, cap, event_json_full(id, email, partial),
		    postext);
		free(partial);
	}
	for (j = 0; j < nc; j++)
		freeReplyObject(emails[j]);
	for (j = 0; j < nl; j++)
		free(urls[j]);
	free(contacts);
	free(cidx);
	free(links);
	free(emails);
	free(urls);
	return rc;
}

/* Record entries an XRANGE of a reference reads at most: the pump makes
 * one of at most PUMP_REF_MAX records. */
#define REF_ENTRIES_MAX		128

/*
 * Entries to read for want records: by the reference's records an
 * entry when it says (a tracker's entry holds as many hits as one of
 * its flushes, tens under load), else as many as records (an entry has
 * at least one).  One more for the partly read entry a read starts in.
 */
static size_t
ref_count(const struct ref_fields *rf, size_t want)
{
	size_t	c = want;

	if (rf->nent != 0 && rf->nrec > rf->nent)
		c = (size_t)((want * rf->nent + rf->nrec - 1) / rf->nrec);
	c++;
	return c > REF_ENTRIES_MAX ? REF_ENTRIES_MAX : c;
}

/*
 * The events of the reference entry ref (from sub/line on when sub is
 * not "") that f takes, at most *room of them, into page.  When room
 * runs out inside it, *stop is set to the position of the first line
 * not read; else left alone.  The reference's entries are read a few
 * at a time, as many as room needs: a webhook batch stopping inside a
 * large reference does not fetch (and Redis does not send) the rest
 * of it again each time.  0 or -1.
 */
static int
ref_read(struct db *db, uint64_t tenant, const char *ref,
    const struct ref_fields *rf, const char *sub, unsigned line,
    const struct event_filter *f, size_t *room, struct event_page *page,
    size_t *cap, char stop[EVENT_POS_MAX])
{
	struct record_batch	 b;
	struct ref_rec		*recs = NULL;
	struct event_pos	 pos;
	struct key		 k;
	redisReply		*rep;
	char			 from[EVENT_CURSOR_MAX + 1], to[EVENT_CURSOR_MAX];
	const char		*p, *end, *nl;
	size_t			 i, n = 0, cap_r = 0, count;
	unsigned		 l;
	int			 rc, full = 0, more = 1;

	if (f->campaign != 0 && f->campaign != rf->campaign)
		return 0;
	if ((f->mask & ((1u << EVENT_OPENED) | (1u << EVENT_CLICKED) |
	    (1u << EVENT_UNSUBSCRIBED))) == 0)
		return 0;
	if (*sub != '\0')
		snprintf(from, sizeof(from), "%s", sub);
	else
		snprintf(from, sizeof(from), "%.*s", (int)rf->flen, rf->first);
	snprintf(to, sizeof(to), "%.*s", (int)rf->llen, rf->last);
	key_camp_events(&k, tenant, rf->campaign);
	while (more && !full) {
		count = ref_count(rf, *room - n);
		rep = db_cmd(db, "XRANGE %s %s %s COUNT %llu", k.s, from, to,
		    (unsigned long long)count);
		rc = records_parse(rep, &b);
		freeReplyObject(rep);
		if (rc == -1) {
			free(recs);
			return -1;
		}
		/* A short read is the reference's end (or erasure's). */
		more = b.n == count && strcmp(b.entries[b.n - 1].id, to) != 0;
		for (i = 0; i < b.n && !full; i++) {
			l = 0;
			for (p = b.entries[i].text, end = p + b.entries[i].len;
			    p < end; p = nl + 1, l++) {
				struct event_record rec;

				if ((nl = memchr(p, '\n', (size_t)(end - p))) ==
				    NULL)
					nl = end;
				if (*sub != '\0' &&
				    strcmp(b.entries[i].id, sub) == 0 &&
				    l < line)
					continue;
				if (event_record_parse(p, (size_t)(nl - p),
				    &rec) == -1 ||
				    !(f->mask & (1u << rec.type)) ||
				    (f->contact != 0 &&
				    rec.contact != f->contact))
					continue;
				if (n == *room) {
					memset(&pos, 0, sizeof(pos));
					snprintf(pos.entry, sizeof(pos.entry),
					    "%s", ref);
					snprintf(pos.sub, sizeof(pos.sub), "%s",
					    b.entries[i].id);
					pos.line = l;
					event_pos_format(stop, &pos);
					full = 1;
					break;
				}
				if (n == cap_r) {
					cap_r = cap_r ? cap_r * 2 : 64;
					recs = xreallocarray(recs, cap_r,
					    sizeof(*recs));
				}
				recs[n].rec = rec;
				snprintf(recs[n].entry, sizeof(recs[n].entry),
				    "%s", b.entries[i].id);
				recs[n].line = l;
				n++;
			}
		}
		if (more && !full)
			snprintf(from, sizeof(from), "(%s",
			    b.entries[b.n - 1].id);
		record_batch_free(&b);
	}
	rc = refs_emit(db, tenant, rf->campaign, ref, recs, n, page, cap);
	*room -= n;
	free(recs);
	return rc;
}

int
store_event_read(struct db *db, uint64_t tenant, const char *cursor,
    const struct event_filter *f, size_t limit, size_t scan_max,
    struct event_page *page)
{
	redisReply		*rep;
	struct entry_fields	 ef;
	struct ref_fields	 rf;
	struct event_pos	 at;
	struct key		 k;
	char			 from[EVENT_CURSOR_MAX + 1], id[EVENT_CURSOR_MAX];
	char			 stop[EVENT_POS_MAX];
	size_t			 i, read = 0, want, cap = 0, room;
	int			 end = 0, rc = 0, take;

	memset(page, 0, sizeof(*page));
	memset(&at, 0, sizeof(at));
	if (cursor != NULL && *cursor != '\0') {
		if (event_pos_parse(cursor, &at) == -1)
			return -1;
		snprintf(page->next, sizeof(page->next), "%s", cursor);
		/* Inside a reference: read it again, from its line on. */
		snprintf(from, sizeof(from), "%s%s", at.sub[0] != '\0' ? "" :
		    "(", at.entry);
	} else
		snprintf(from, sizeof(from), "-");
	key_events(&k, tenant);
	stop[0] = '\0';
	while (rc == 0 && page->n < limit && !end && read < scan_max &&
	    stop[0] == '\0') {
		/* A few more than the page needs: filters and erased
		 * entries skip some; what is left unread is read again. */
		want = limit - page->n + 16;
		if (want > EVENT_SCAN_PAGE)
			want = EVENT_SCAN_PAGE;
		if (want > scan_max - read)
			want = scan_max - read;
		rep = db_cmd(db, "XRANGE %s %s + COUNT %llu", k.s, from,
		    (unsigned long long)want);
		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			rc = -1;
			break;
		}
		end = rep->elements < want;
		for (i = 0; i < rep->elements && rc == 0 && page->n < limit;
		    i++) {
			if (entry_parse(rep->element[i], id, &ef) == -1)
				continue;
			read++;
			snprintf(from, sizeof(from), "(%s", id);
			if (ref_parse(rep->element[i], &rf)) {
				room = limit - page->n;
				take = at.sub[0] != '\0' &&
				    strcmp(id, at.entry) == 0;
				rc = ref_read(db, tenant, id, &rf, take ?
				    at.sub : "", take ? at.line : 0, f, &room,
				    page, &cap, stop);
				if (stop[0] != '\0') {
					snprintf(page->next, sizeof(page->next),
					    "%s", stop);
					break;
				}
				snprintf(page->next, sizeof(page->next), "%s",
				    id);
				continue;
			}
			snprintf(page->next, sizeof(page->next), "%s", id);
			if (ef.e == NULL)
				continue;
			if (ef.typed)
				take = (f->mask & (1u << ef.type)) &&
				    (f->campaign == 0 ||
				    ef.campaign == f->campaign) &&
				    (f->contact == 0 ||
				    ef.contact == f->contact);
			else	/* a test event: its endpoint's alone */
				take = f->endpoint != 0 &&
				    ef.target == f->endpoint;
			if (take)
				page_add(page, &cap, xstrndup(ef.e, ef.elen),
				    id);
		}
		freeReplyObject(rep);
	}
	if (rc == -1)
		event_page_free(page);
	return rc;
}

/*
 * Walks the whole log oldest first, EVENT_SCAN_PAGE entries a step
 * (retention bounds it), calling fn with each entry of the contact: 0,
 * or -1 when Redis or fn failed.
 */
static int
scan_contact(struct db *db, uint64_t tenant, uint64_t contact,
    int (*fn)(void *, const char *id, const struct entry_fields *),
    void *arg)
{
	redisReply		*rep;
	struct entry_fields	 f;
	struct key		 k;
	char			 from[EVENT_CURSOR_MAX + 1] = "-";
	char			 id[EVENT_CURSOR_MAX];
	size_t			 i;
	int			 end = 0, rc = 0;

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
			if (f.contact == contact)
				rc = fn(arg, id, &f);
		}
		freeReplyObject(rep);
	}
	return rc;
}

struct erase_walk {
	struct db	*db;
	const char	*key;
	long long	 n;
};

static int
erase_one(void *arg, const char *id, const struct entry_fields *f)
{
	struct erase_walk	*w = arg;
	long long		 del;

	(void)f;
	if (db_cmd_int(w->db, &del, "XDEL %s %s", w->key, id) == -1)
		return -1;
	w->n += del;
	return 0;
}

int
store_event_erase(struct db *db, uint64_t tenant, uint64_t contact,
    long long *n)
{
	struct key		k;
	struct erase_walk	w = { db, key_events(&k, tenant), 0 };
	int			rc;

	rc = scan_contact(db, tenant, contact, erase_one, &w);
	*n = w.n;
	return rc;
}

int
store_event_subject(struct db *db, uint64_t tenant, uint64_t contact,
    struct event_page *page)
{
	struct event_filter	 f = { EVENT_ALL_TYPES, 0, 0, contact };
	struct event_page	 part;
	char			 cursor[EVENT_POS_MAX] = "";
	size_t			 i, cap = 0;

	memset(page, 0, sizeof(*page));
	for (;;) {
		if (store_event_read(db, tenant, cursor, &f, EVENT_SCAN_PAGE,
		    EVENT_SCAN_PAGE, &part) == -1) {
			event_page_free(page);
			return -1;
		}
		for (i = 0; i < part.n; i++) {
			page_add(page, &cap, part.items[i], part.first);
			part.items[i] = NULL;
		}
		/* The end: nothing more was looked at. */
		if (strcmp(part.next, cursor) == 0) {
			event_page_free(&part);
			break;
		}
		snprintf(cursor, sizeof(cursor), "%s", part.next);
		event_page_free(&part);
	}
	return 0;
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
	if (script_run_int(db, SCRIPT_EVENT_LEASE, tenant, argc, argv, lens,
	    &held) == -1)
		return -1;
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
