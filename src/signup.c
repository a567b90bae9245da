/*
 * signup.c: the public sign-up pages on the tracking listener (API.md
 * part 2, "Signup forms with double opt-in, and the preference page"):
 *   GET  /f/TOKEN  a form's hosted page          POST /f/TOKEN  sign up
 *   GET  /s/TOKEN  a button (never confirms)     POST /s/TOKEN  confirm
 *   GET  /p/TOKEN  a recipient's lists, opt-out  POST /p/TOKEN  change
 * Tokens are token.c's (TOKEN_FORM, TOKEN_CONFIRM, TOKEN_PREFS): a
 * forged or changed one is a 404 before anything else happens, and the
 * tenant is the token's, so a form of one tenant never writes another's.
 *
 * DESIGN.  track.c hands these routes here; the event loop must never
 * wait on Redis, and this work is several commands (a contact upsert,
 * a list, a consent record), so each request that needs storage becomes
 * a job for a storage thread of its own worker (api_pool.c, started on
 * the first such request: a node whose forms nobody uses runs none),
 * with the synchronous stores of the API.  The connection waits
 * (http_conn_wait: 503 after FF_WAIT_MS, and only a weak reference in
 * the job); the job's done, back on the worker's loop, answers if the
 * connection is still there.  A job owns copies of what it needs; one
 * body is at most max_body_bytes (413 before any of it is read).
 *
 * Abuse limits.  Per client, in memory: at most signup_rate posts to
 * /f/ a minute (429), counted in a fixed table (the node's, shared by
 * its workers) keyed by a keyed hash of the client's address
 * (policy_client_addr, trusted proxies applied): neither the address
 * nor anything that gives it back is kept.  Per
 * address, in Redis: at most one confirmation mail a day
 * (store_signup_add).  A post whose honeypot field is filled is
 * answered as any other and does nothing.  Whatever the address (new,
 * known, opted out, limited), the answer to a well-formed post is the
 * same bytes: a redirect to the form's redirect_url, or the "check
 * your inbox" page.  A post only ever creates a pending sign-up, so a
 * cross-site post can do no more than a person typing the address:
 * nothing is subscribed without the mailbox's click.
 *
 * Screening: every field a person types goes through contact_check,
 * as the contacts API applies it: an attribute the special-category
 * list names is never stored, and a value hitting a listed term stores
 * the sign-up quarantined, which send_check.lua never mails (so it
 * never confirms and expires).
 *
 * Never here: a blocking call on the loop, a raw IP stored, a log line
 * per request.
 */
#include <sys/random.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "form.h"
#include "store_contact.h"
#include "store_event.h"
#include "store_form.h"
#include "store_list.h"
#include "store_suppress.h"
#include "urlform.h"
#include "worker.h"

#define SIGNUP_RATE_SLOTS	1024	/* clients remembered per worker */
#define SIGNUP_RATE_WINDOW_MS	60000
#define SIGNUP_LISTS_MAX	200	/* lists shown on a preference page */
/* templates/signup.html's placeholders (track_pages_load finds them). */
#define TITLE_MARK_LEN		(sizeof("{{title}}") - 1)
#define CONTENT_MARK_LEN	(sizeof("{{content}}") - 1)

struct signup_rate_slot {
	uint64_t	hash;
	uint64_t	window;		/* mono_ms() / SIGNUP_RATE_WINDOW_MS */
	uint32_t	count;
};

/* The per-client counts, one table for the node's workers (a client's
 * connections land on any of them), under a lock held for a lookup:
 * only /f/ posts take it, never the pixel or the click. */
static struct {
	pthread_mutex_t		 lock;
	pthread_once_t		 once;
	uint8_t			 seed[16];	/* keys the client hashes */
	struct signup_rate_slot	 slot[SIGNUP_RATE_SLOTS];
} rate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_ONCE_INIT, { 0 }, { { 0 } } };

/* A worker's sign-up state: its storage thread. */
struct signup_state {
	struct api_pool		*pool;
	/* Read by the storage thread on its first screening (the file
	 * was checked at start-up, main.c), touched by it alone, freed
	 * after it is joined. */
	struct special		*special;
	uint64_t		 special_warned_ms;
};

enum signup_op {
	OP_FORM_PAGE,		/* GET /f/ */
	OP_SIGNUP,		/* POST /f/ */
	OP_CONFIRM,		/* POST /s/ */
	OP_PREFS_PAGE,		/* GET /p/ */
	OP_PREFS_SAVE		/* POST /p/ */
};

struct signup_job {
	struct api_job	 job;
	struct worker	*w;
	struct conn	*c;		/* weak: http.c clears it */
	struct live	*live;		/* a reference, for the token keys */
	const struct config *conf;
	struct signup_state *st;
	struct special	*special;	/* st's, once loaded */
	enum signup_op	 op;
	struct token	 t;
	char		 tok[TOKEN_MAX_LEN + 1];
	char		*body;
	size_t		 bodylen;
	char		 country[3];
	/* The answer. */
	int		 status;
	const char	*title;
	struct buf	 page;		/* the page's content */
	char		*location;	/* a 303's */
};

/* ----------------------------------------------------------- the pages */

static void
page_escape(struct buf *b, const char *s)
{
	form_html_escape(s, strlen(s), b);
}

static void
page_text(struct signup_job *j, int status, const char *title,
    const char *text)
{
	j->status = status;
	j->title = title;
	buf_reset(&j->page);
	buf_adds(&j->page, "<h1>");
	page_escape(&j->page, title);
	buf_adds(&j->page, "</h1>\n<p>");
	page_escape(&j->page, text);
	buf_adds(&j->page, "</p>\n");
}

/* The answer to every well-formed post of a double opt-in form. */
static void
page_check_inbox(struct signup_job *j)
{
	page_text(j, 200, "Check your inbox", "If the address can receive "
	    "our emails, a message with a confirmation link is on its way. "
	    "Nothing happens until you click it.");
}

static void
page_gone(struct signup_job *j)
{
	page_text(j, 404, "Not found", "This link is not valid any more.");
}

static void
page_unavailable(struct signup_job *j)
{
	page_text(j, 503, "Try again later", "We could not handle this now. "
	    "Please try again in a minute.");
}

/* "/X/TOKEN" of the request, for a form's action. */
static void
action_path(const struct signup_job *j, char kind, char *out, size_t len)
{
	snprintf(out, len, "/%c/%s", kind, j->tok);
}

/* ------------------------------------------------- storage: the jobs */

/* The form of the job's token: 1, 0 gone, -1. */
static int
job_form(struct signup_job *j, struct db *db, uint64_t form,
    struct form_rec *f)
{
	return store_form_get(db, j->t.tenant, form, f);
}

static void
run_form_page(struct signup_job *j, struct db *db)
{
	struct form_spec spec;
	struct form_rec	 f;
	char		 action[8 + TOKEN_MAX_LEN];
	int		 rc;

	if ((rc = job_form(j, db, j->t.campaign, &f)) != 1) {
		rc == 0 ? page_gone(j) : page_unavailable(j);
		return;
	}
	store_form_spec(&f, &spec);
	action_path(j, 'f', action, sizeof(action));
	j->status = 200;
	j->title = "Sign up";
	buf_adds(&j->page, "<h1>");
	page_escape(&j->page, f.name);
	buf_adds(&j->page, "</h1>\n");
	form_html(&spec, action, &j->page);
	store_form_rec_free(&f);
}

/* The contact object a sign-up makes: what contact_check screens. */
static json_t *
signup_object(const struct signup_rec *s)
{
	json_t	*o, *attrs;

	o = json_pack("{s:s}", "email", s->email);
	if (s->first_name != NULL)
		json_object_set_new(o, "first_name",
		    json_string(s->first_name));
	if (s->last_name != NULL)
		json_object_set_new(o, "last_name", json_string(s->last_name));
	if (s->attributes != NULL && (attrs = json_loads(s->attributes, 0,
	    NULL)) != NULL)
		json_object_set_new(o, "attributes", attrs);
	return o;
}

/*
 * The sign-up becomes a contact on the form's list, with its consent
 * record: 1, 0 when the address cannot be stored (a contact_check
 * refusal), -1.
 */
/* The event log's "subscribed" (webhooks, GET /v1/events); its id names
 * the sign-up, so a confirmation run again gives the same id. */
static int
subscribed_event(struct db *db, uint64_t tenant, const struct form_rec *f,
    const struct signup_rec *s, uint64_t contact, uint64_t now)
{
	struct event_fields	 ev;
	char			 id[EVENT_ID_MAX];

	memset(&ev, 0, sizeof(ev));
	ev.type = EVENT_SUBSCRIBED;
	ev.time_ms = now;
	ev.contact = contact;
	snprintf(id, sizeof(id), "subscribed:%llu:%llu",
	    (unsigned long long)f->id, (unsigned long long)s->id);
	return store_event_add(db, tenant, &ev, id);
}

static int
subscribe(struct signup_job *j, struct db *db, const struct form_rec *f,
    const struct signup_rec *s, const char *method)
{
	struct contact_row	 row;
	json_t			*o, *rejected, *rec;
	const char		*bad = NULL;
	char			 ts[32], *text = NULL, *consent_text = NULL;
	long long		 created = 0, updated = 0, changed;
	uint64_t		 now = now_ms();
	int			 rc;

	memset(&row, 0, sizeof(row));
	o = signup_object(s);
	rejected = json_array();
	rc = contact_check(j->special, o, 0, 1, rejected, &row, &bad);
	json_decref(rejected);
	if (rc != 0) {
		json_decref(o);
		free(row.attrs);
		return 0;
	}
	rc = store_contact_upsert(db, j->t.tenant, &j->live->keys, &row, 1,
	    &created, &updated);
	free(row.attrs);
	json_decref(o);
	if (rc == -1 || store_list_change(db, j->t.tenant, f->list_id,
	    &row.id, 1, 1, &changed) == -1)
		return -1;
	/* A confirmed double opt-in is the person's own consent, as the
	 * API's DELETE /v1/optouts vouches for: the address is mailed
	 * again.  A single opt-in proves nothing of the mailbox. */
	if (strcmp(method, "double_opt_in") == 0 &&
	    store_optout_remove(db, j->t.tenant, s->key, NULL) == -1)
		return -1;
	if (store_form_consent(db, j->t.tenant, f->id, s->consent_version,
	    &consent_text) == -1)
		return -1;
	/* The record keeps the exact text it was given under: a form
	 * changed or deleted later does not change what was agreed to. */
	rec = json_object();
	json_object_set_new(rec, "form", json_sprintf("%llu",
	    (unsigned long long)f->id));
	json_object_set_new(rec, "list_id", json_sprintf("%llu",
	    (unsigned long long)f->list_id));
	json_object_set_new(rec, "consent_version",
	    json_integer((json_int_t)s->consent_version));
	json_object_set_new(rec, "consent_text", json_string(
	    consent_text != NULL ? consent_text : ""));
	free(consent_text);
	json_object_set_new(rec, "method", json_string(method));
	json_object_set_new(rec, "asked_at", json_string(
	    api_iso_time(s->asked_at, ts, sizeof(ts))));
	json_object_set_new(rec, "confirmed_at", json_string(
	    api_iso_time(now, ts, sizeof(ts))));
	json_object_set_new(rec, "country", s->country[0] != '\0' ?
	    json_string(s->country) : json_null());
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	rc = store_consent_add(db, j->t.tenant, row.id, text);
	free(text);
	if (rc == -1 || subscribed_event(db, j->t.tenant, f, s, row.id,
	    now) == -1)
		return -1;
	return 1;
}

/* Attributes of the form's fields as a JSON object text, or NULL. */
static char *
attributes_text(const struct form_rec *f, const struct urlform_field *fl,
    size_t n)
{
	const struct urlform_field	*v;
	json_t				*o = json_object();
	char				*t = NULL;
	size_t				 i;

	for (i = 0; i < f->nfields; i++)
		if (strncmp(f->fields[i], "attributes.", 11) == 0 &&
		    (v = urlform_get(fl, n, f->fields[i])) != NULL &&
		    v->valuelen > 0)
			json_object_set_new(o, f->fields[i] + 11,
			    json_stringn(v->value, v->valuelen));
	if (json_object_size(o) > 0)
		t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

/* A person-typed text field of the form, or NULL (empty, or not one of
 * its fields). */
static char *
form_value(const struct form_rec *f, const struct urlform_field *fl,
    size_t n, const char *name)
{
	const struct urlform_field	*v;
	size_t				 i;

	for (i = 0; i < f->nfields; i++)
		if (strcmp(f->fields[i], name) == 0 &&
		    (v = urlform_get(fl, n, name)) != NULL &&
		    v->valuelen > 0 && v->valuelen <= CONTACT_TEXT_MAX)
			return xstrndup(v->value, v->valuelen);
	return NULL;
}

static void
run_signup(struct signup_job *j, struct db *db)
{
	struct urlform_field		 fl[URLFORM_FIELDS_MAX];
	const struct urlform_field	*email, *pot;
	struct signup_rec		 s;
	struct form_rec			 f;
	struct json_t			*o, *rejected;
	struct contact_row		 row;
	const char			*bad;
	char				*scratch, hash[SIGNUP_HASH_LEN + 1];
	int				 n, rc;

	memset(&s, 0, sizeof(s));
	if ((rc = job_form(j, db, j->t.campaign, &f)) != 1) {
		rc == 0 ? page_gone(j) : page_unavailable(j);
		return;
	}
	scratch = xmalloc(urlform_scratch_len(j->bodylen));
	n = urlform_parse(j->body, j->bodylen, scratch, fl,
	    URLFORM_FIELDS_MAX);
	if (n < 0 || (email = urlform_get(fl, (size_t)n, "email")) == NULL ||
	    validate_email(email->value, email->valuelen, s.email,
	    s.key) == -1) {
		page_text(j, 400, "Check the address", "That is not an email "
		    "address we can send to. Please go back and try again.");
		goto out;
	}
	/* From here on, every address gets the same answer. */
	if (f.redirect_url != NULL) {
		j->status = 303;
		j->location = xstrdup(f.redirect_url);
	} else if (f.double_opt_in)
		page_check_inbox(j);
	else
		page_text(j, 200, "Thank you", "Your subscription is "
		    "recorded.");
	if ((pot = urlform_get(fl, (size_t)n, FORM_HONEYPOT)) != NULL &&
	    pot->valuelen > 0)
		goto out;	/* a bot: the same answer, nothing done */
	s.first_name = form_value(&f, fl, (size_t)n, "first_name");
	s.last_name = form_value(&f, fl, (size_t)n, "last_name");
	s.attributes = attributes_text(&f, fl, (size_t)n);
	s.form = f.id;
	s.consent_version = f.consent_version;
	s.asked_at = now_ms();
	memcpy(s.country, j->country, sizeof(s.country));
	/* The screening of the contacts API, now: a quarantined sign-up is
	 * stored so (send_check.lua never mails it); a refused one (an
	 * over-long value) is dropped. */
	memset(&row, 0, sizeof(row));
	o = signup_object(&s);
	rejected = json_array();
	rc = contact_check(j->special, o, 0, 1, rejected, &row, &bad);
	json_decref(rejected);
	json_decref(o);
	free(row.attrs);
	if (rc != 0)
		goto out;
	s.quarantined = row.quarantined;
	if (!f.double_opt_in) {
		if (!s.quarantined && subscribe(j, db, &f, &s, "single") == -1)
			page_unavailable(j);
		goto out;
	}
	signup_hash(&j->live->keys, s.key, hash);
	if (store_signup_add(db, j->t.tenant, &f, &s, hash,
	    (uint64_t)j->conf->signup_expiry_s * 1000) == -1)
		page_unavailable(j);
out:
	if (j->status >= 500) {
		free(j->location);
		j->location = NULL;
	}
	free(scratch);
	store_signup_rec_free(&s);
	store_form_rec_free(&f);
}

static void
run_confirm(struct signup_job *j, struct db *db)
{
	struct signup_rec	s;
	struct form_rec		f;
	int			rc;

	if ((rc = store_signup_get(db, j->t.tenant, j->t.contact, &s)) != 1) {
		rc == 0 ? page_gone(j) : page_unavailable(j);
		return;
	}
	if (s.form != j->t.campaign ||
	    (rc = job_form(j, db, s.form, &f)) != 1) {
		rc == -1 ? page_unavailable(j) : page_gone(j);
		store_signup_rec_free(&s);
		return;
	}
	if (s.quarantined)
		rc = 0;
	else
		rc = subscribe(j, db, &f, &s, "double_opt_in");
	if (rc == -1)
		page_unavailable(j);
	else if (store_signup_delete(db, j->t.tenant, s.id) == -1)
		page_unavailable(j);
	else if (rc == 0)
		page_gone(j);
	else
		page_text(j, 200, "Subscription confirmed", "Thank you: your "
		    "subscription is confirmed.");
	store_signup_rec_free(&s);
	store_form_rec_free(&f);
}

static void
run_prefs_page(struct signup_job *j, struct db *db)
{
	struct contact	 c;
	uint64_t	*lists = NULL;
	char		*name, action[8 + TOKEN_MAX_LEN], id[24];
	size_t		 n = 0, i;
	int		 rc;

	/* store_contact_get inits it; contact_clear takes zeroes. */
	memset(&c, 0, sizeof(c));
	if ((rc = store_contact_get(db, j->t.tenant, &j->live->keys,
	    j->t.contact, &c)) != 1) {
		rc == 0 ? page_gone(j) : page_unavailable(j);
		contact_clear(&c);
		return;
	}
	if (store_list_of_contact(db, j->t.tenant, j->t.contact, &lists,
	    &n) == -1) {
		page_unavailable(j);
		contact_clear(&c);
		return;
	}
	action_path(j, 'p', action, sizeof(action));
	j->status = 200;
	j->title = "Your email preferences";
	/* Not the address: a forwarded mail's link shows nobody's. */
	buf_adds(&j->page, "<h1>Your email preferences</h1>\n"
	    "<form method=\"post\" action=\"");
	page_escape(&j->page, action);
	buf_adds(&j->page, "\" accept-charset=\"utf-8\">\n");
	if (n == 0)
		buf_adds(&j->page, "<p>You are on none of our lists.</p>\n");
	for (i = 0; i < n && i < SIGNUP_LISTS_MAX; i++) {
		if ((rc = store_list_name(db, j->t.tenant, lists[i],
		    &name)) == -1)
			break;
		if (rc == 0)
			continue;
		snprintf(id, sizeof(id), "%llu", (unsigned long long)lists[i]);
		buf_addf(&j->page, "<p><label><input type=\"checkbox\" "
		    "name=\"list\" value=\"%s\" checked> ", id);
		page_escape(&j->page, name);
		buf_adds(&j->page, "</label></p>\n");
		free(name);
	}
	buf_addf(&j->page, "<p><label><input type=\"checkbox\" name=\"optout\" "
	    "value=\"1\"%s> Send me no more emails at all</label></p>\n"
	    "<p><button type=\"submit\">Save</button></p>\n</form>\n",
	    c.opted_out ? " checked" : "");
	if (i < n && i < SIGNUP_LISTS_MAX)
		page_unavailable(j);
	free(lists);
	contact_clear(&c);
}

static void
run_prefs_save(struct signup_job *j, struct db *db)
{
	struct urlform_field		 fl[URLFORM_FIELDS_MAX];
	const struct urlform_field	*opt;
	struct contact			 c;
	uint64_t			*lists = NULL, keep;
	char				*scratch;
	long long			 changed;
	size_t				 n = 0, i, k;
	int				 nf, rc, kept;

	scratch = xmalloc(urlform_scratch_len(j->bodylen));
	/* store_contact_get inits it; contact_clear takes zeroes. */
	memset(&c, 0, sizeof(c));
	if ((nf = urlform_parse(j->body, j->bodylen, scratch, fl,
	    URLFORM_FIELDS_MAX)) < 0) {
		page_text(j, 400, "Bad request", "The form could not be "
		    "read.");
		goto out;
	}
	if ((rc = store_contact_get(db, j->t.tenant, &j->live->keys,
	    j->t.contact, &c)) != 1) {
		rc == 0 ? page_gone(j) : page_unavailable(j);
		goto out;
	}
	/* The opt-out first: the next send's check sees it at once. */
	opt = urlform_get(fl, (size_t)nf, "optout");
	if (opt != NULL && opt->valuelen == 1 && opt->value[0] == '1' &&
	    c.key[0] != '\0' && store_optout_add(db, j->t.tenant, c.key,
	    now_ms()) == -1) {
		page_unavailable(j);
		goto out;
	}
	if (store_list_of_contact(db, j->t.tenant, j->t.contact, &lists,
	    &n) == -1) {
		page_unavailable(j);
		goto out;
	}
	/* Only leaving a list: a list not posted back is left. */
	for (i = 0; i < n; i++) {
		for (k = 0, kept = 0; k < (size_t)nf && !kept; k++)
			kept = fl[k].namelen == 4 &&
			    memcmp(fl[k].name, "list", 4) == 0 &&
			    parse_u64(fl[k].value, fl[k].valuelen,
			    &keep) == 0 && keep == lists[i];
		if (!kept && store_list_change(db, j->t.tenant, lists[i],
		    &j->t.contact, 1, 0, &changed) == -1) {
			page_unavailable(j);
			goto out;
		}
	}
	page_text(j, 200, "Preferences saved", "Your choices are saved and "
	    "apply to our next emails.");
out:
	free(lists);
	free(scratch);
	contact_clear(&c);
}

static void
job_run(struct api_job *aj, struct db *db)
{
	struct signup_job	*j = (struct signup_job *)aj;
	struct signup_state	*st = j->st;
	char			 err[256];

	/* No screening, no sign-up: a 503 rather than unscreened data. */
	if (st->special == NULL && (j->op == OP_SIGNUP ||
	    j->op == OP_CONFIRM) && (st->special = special_load(
	    j->conf->special_categories_file, err, sizeof(err))) == NULL) {
		log_warnx_every(&st->special_warned_ms, 60000, "sign-ups: "
		    "%s", err);
		page_unavailable(j);
		return;
	}
	j->special = st->special;
	switch (j->op) {
	case OP_FORM_PAGE:
		run_form_page(j, db);
		break;
	case OP_SIGNUP:
		run_signup(j, db);
		break;
	case OP_CONFIRM:
		run_confirm(j, db);
		break;
	case OP_PREFS_PAGE:
		run_prefs_page(j, db);
		break;
	case OP_PREFS_SAVE:
		run_prefs_save(j, db);
		break;
	}
}

/* ------------------------------------------------ the loop: answers */

/* The page shell (templates/signup.html) around a title and content. */
static void
respond_page(struct conn *c, int status, const char *title,
    const char *content, size_t len, enum http_keep keep, int head_only)
{
	const struct track_pages	*p = &c->w->live->pages;
	struct buf			 b = { 0 };

	buf_add(&b, p->signup, p->signup_title);
	page_escape(&b, title);
	buf_add(&b, p->signup + p->signup_title + TITLE_MARK_LEN,
	    p->signup_content - p->signup_title - TITLE_MARK_LEN);
	buf_add(&b, content, len);
	buf_adds(&b, p->signup + p->signup_content + CONTENT_MARK_LEN);
	http_respond(c, status, "text/html; charset=utf-8",
	    "X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n", keep,
	    head_only, b.p, b.len, "", 0, "", 0);
	buf_free(&b);
}

static void
job_free(struct signup_job *j)
{
	live_unref(j->live);
	free(j->body);
	free(j->location);
	buf_free(&j->page);
	free(j);
}

static void
job_done(struct api_job *aj)
{
	struct signup_job	*j = (struct signup_job *)aj;
	struct conn		*c = j->c;
	char			 extra[FORM_URL_MAX + 64];

	if (c == NULL) {		/* gone, or answered 503 already */
		job_free(j);
		return;
	}
	if (aj->cancelled)
		page_unavailable(j);
	if (j->status == 303) {
		snprintf(extra, sizeof(extra), "Location: %s\r\n",
		    j->location);
		http_respond(c, 303, "text/plain; charset=utf-8", extra,
		    c->wait_keep, c->wait_head, "", 0, "", 0, "", 0);
	} else
		respond_page(c, j->status, j->title, j->page.p != NULL ?
		    j->page.p : "", j->page.len, c->wait_keep, c->wait_head);
	/* First: finishing the wait clears j->c, the weak reference. */
	http_conn_finish(c);
	job_free(j);
}

/* ---------------------------------------------------- the loop: asks */

static struct signup_state *
signup_state(struct worker *w)
{
	struct signup_state	*st;

	if (w->signup != NULL)
		return w->signup;
	st = xcalloc(1, sizeof(*st));
	st->pool = api_pool_new(w->base, &w->conf->redis, 1);
	w->signup = st;
	return st;
}

void
signup_worker_free(struct worker *w)
{
	if (w->signup == NULL)
		return;
	api_pool_free(w->signup->pool);
	special_free(w->signup->special);
	free(w->signup);
	w->signup = NULL;
}

static void
rate_seed(void)
{
	if (getrandom(rate.seed, sizeof(rate.seed), 0) !=
	    (ssize_t)sizeof(rate.seed))
		fatal("getrandom");
}

/* 1 when the client may post another sign-up now. */
static int
rate_take(struct worker *w, const struct sockaddr_storage *client)
{
	struct signup_rate_slot	*s;
	uint8_t			 buf[16 + 16];
	uint64_t		 h, window = mono_ms() / SIGNUP_RATE_WINDOW_MS;
	size_t			 n = 16;
	int			 ok;

	pthread_once(&rate.once, rate_seed);
	memcpy(buf, rate.seed, 16);
	if (client->ss_family == AF_INET6) {
		memcpy(buf + n, &((const struct sockaddr_in6 *)client)->
		    sin6_addr, 16);
		n += 16;
	} else {
		memcpy(buf + n, &((const struct sockaddr_in *)client)->
		    sin_addr, 4);
		n += 4;
	}
	h = hash_fnv1a((const char *)buf, n);
	pthread_mutex_lock(&rate.lock);
	s = &rate.slot[h & (SIGNUP_RATE_SLOTS - 1)];
	if (s->hash != h || s->window != window) {
		/* A new client or a new minute: the slot starts over (a
		 * collision only resets another client's count). */
		s->hash = h;
		s->window = window;
		s->count = 0;
	}
	if ((ok = s->count < (uint32_t)w->conf->signup_rate))
		s->count++;
	pthread_mutex_unlock(&rate.lock);
	return ok;
}

int
signup_handle(struct conn *c, const struct http_request *req,
    enum http_route route, const struct token *t, int valid,
    const char *tok, size_t toklen, const char *body, size_t bodylen)
{
	struct worker		*w = c->w;
	struct signup_state	*st;
	struct signup_job	*j;
	struct sockaddr_storage	 client;
	enum http_keep		 keep = http_keep_of(req);
	int			 head = req->method == HTTP_HEAD;
	int			 post = req->method == HTTP_POST;
	char			 action[8 + TOKEN_MAX_LEN], content[512];
	enum signup_op		 op;

	if (!valid || (route == ROUTE_FORM && (t->kind != TOKEN_FORM ||
	    t->contact != 0)) || (route == ROUTE_CONFIRM &&
	    t->kind != TOKEN_CONFIRM) || (route == ROUTE_PREFS &&
	    t->kind != TOKEN_PREFS)) {
		http_error(c, 404, keep, head);
		return 0;
	}
	if (route == ROUTE_CONFIRM && !post) {
		/* A button, never the confirmation: scanners prefetch. */
		snprintf(action, sizeof(action), "/s/%.*s", (int)toklen, tok);
		snprintf(content, sizeof(content), "<h1>Confirm your "
		    "subscription</h1>\n<form method=\"post\" action=\"%s\">"
		    "\n<p><button type=\"submit\">Confirm</button></p>\n"
		    "</form>\n", action);
		respond_page(c, 200, "Confirm your subscription", content,
		    strlen(content), keep, head);
		return 0;
	}
	st = signup_state(w);
	if (route == ROUTE_FORM && post) {
		policy_client_addr((struct sockaddr *)&c->peer, req->xff,
		    req->xfflen, req->fwd, req->fwdlen,
		    w->live->trusted_proxies, w->live->ntrusted_proxies,
		    &client);
		if (!rate_take(w, &client)) {
			snprintf(content, sizeof(content), "<h1>Too many "
			    "sign-ups</h1>\n<p>Please try again in a "
			    "minute.</p>\n");
			respond_page(c, 429, "Too many sign-ups", content,
			    strlen(content), keep, 0);
			return 0;
		}
	}
	op = route == ROUTE_FORM ? (post ? OP_SIGNUP : OP_FORM_PAGE) :
	    route == ROUTE_CONFIRM ? OP_CONFIRM :
	    post ? OP_PREFS_SAVE : OP_PREFS_PAGE;
	j = xcalloc(1, sizeof(*j));
	j->job.run = job_run;
	j->job.done = job_done;
	j->w = w;
	j->live = live_ref(w->live);
	j->conf = w->conf;
	j->st = st;
	j->op = op;
	j->t = *t;
	memcpy(j->tok, tok, toklen);	/* toklen <= TOKEN_MAX_LEN */
	j->tok[toklen] = '\0';
	if (post) {
		j->body = xmalloc(bodylen + 1);
		memcpy(j->body, body, bodylen);
		j->bodylen = bodylen;
		if (op == OP_SIGNUP && w->geoip != NULL &&
		    geoip_country(w->geoip, (struct sockaddr *)&client,
		    j->country) == 0)
			j->country[2] = '\0';
	}
	if (api_pool_submit(st->pool, &j->job) == -1) {
		job_free(j);
		http_error(c, 503, keep, head);
		return 0;
	}
	http_conn_wait(c, &j->c);
	return 1;
}
