/*
 * store_form.c: signup forms, pending sign-ups and consent records, in
 * Redis (store_form.h says what each function answers and why a form
 * has a hidden campaign).  The form record's encoding, read back, is
 * form_field's alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "redis_sync.h"
#include "store_form.h"
#include "store_queue.h"
#include "store_tenant.h"

#define QUEUE_GROUP	"senders"	/* store_queue.c's */

_Static_assert(SIGNUP_HASH_LEN == KEY_SIGNUP_HASH_MAX,
    "the day limit's hash fits its key");
#define MAILED_TTL_S	86400		/* one confirmation a day */

void
store_form_spec(const struct form_rec *r, struct form_spec *s)
{
	size_t	i;

	memset(s, 0, sizeof(*s));
	s->name = r->name;
	s->list_id = r->list_id;
	for (i = 0; i < r->nfields; i++)
		s->fields[i] = r->fields[i];
	s->nfields = r->nfields;
	s->consent_text = r->consent_text;
	s->double_opt_in = r->double_opt_in;
	s->redirect_url = r->redirect_url;
	s->from = r->from;
}

void
store_form_rec_free(struct form_rec *r)
{
	size_t	i;

	free(r->name);
	for (i = 0; i < r->nfields; i++)
		free(r->fields[i]);
	free(r->consent_text);
	free(r->redirect_url);
	free(r->from);
	memset(r, 0, sizeof(*r));
}

/* The fields as a JSON array text (the caller frees). */
static char *
fields_text(const struct form_spec *s)
{
	json_t	*a = json_array();
	char	*t;
	size_t	 i;

	for (i = 0; i < s->nfields; i++)
		json_array_append_new(a, json_string(s->fields[i]));
	t = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return t;
}

static void
fields_parse(struct form_rec *r, const char *v, size_t len)
{
	json_t	*a, *f;
	size_t	 i;

	if ((a = json_loadb(v, len, 0, NULL)) == NULL)
		return;
	json_array_foreach(a, i, f)
		if (json_is_string(f) && r->nfields < FORM_FIELDS_MAX)
			r->fields[r->nfields++] = xstrdup(json_string_value(f));
	json_decref(a);
}

static void
form_field(void *arg, const char *f, size_t flen, const char *v, size_t len)
{
	struct form_rec	*r = arg;
	char		**str = NULL;
	uint64_t	 *u = NULL;

	(void)flen;
	if (strcmp(f, "name") == 0)
		str = &r->name;
	else if (strcmp(f, "redirect_url") == 0) {
		if (len > 0)
			str = &r->redirect_url;
	} else if (strcmp(f, "from") == 0) {
		if (len > 0)
			str = &r->from;
	} else if (strcmp(f, "fields") == 0 && r->nfields == 0)
		fields_parse(r, v, len);
	else if (strcmp(f, "double_opt_in") == 0)
		r->double_opt_in = len > 0 && v[0] == '1';
	else if (strcmp(f, "list_id") == 0)
		u = &r->list_id;
	else if (strcmp(f, "consent_version") == 0)
		u = &r->consent_version;
	else if (strcmp(f, "campaign") == 0)
		u = &r->campaign;
	else if (strcmp(f, "template") == 0)
		u = &r->template_id;
	else if (strcmp(f, "created_at") == 0)
		u = &r->created_at;
	else if (strcmp(f, "updated_at") == 0)
		u = &r->updated_at;
	if (str != NULL && *str == NULL)
		*str = xstrndup(v, len);
	if (u != NULL)
		(void)parse_u64(v, len, u);
}

/* The confirmation mail as the form's hidden template (its version one
 * more, so the senders compile it again). */
static int
template_put(struct db *db, uint64_t tenant, uint64_t id,
    const struct form_spec *s, uint64_t now)
{
	struct buf	 subject = { 0 }, html = { 0 }, text = { 0 };
	struct key	 k;
	long long	 v;
	int		 rc;

	form_confirm_mail(s, &subject, &html, &text);
	rc = reply_done(db_cmd(db, "HSET %s name %s subject %b html %b "
	    "text %b links [] updated_at %llu", key_template(&k, tenant, id),
	    "form confirmation", subject.p, subject.len, html.p, html.len,
	    text.p, text.len, (unsigned long long)now));
	if (rc == 0)
		rc = db_cmd_int(db, &v, "HINCRBY %s version 1",
		    key_template(&k, tenant, id));
	buf_free(&subject);
	buf_free(&html);
	buf_free(&text);
	return rc;
}

/* The record's fields but the ids and times. */
static int
form_put(struct db *db, uint64_t tenant, uint64_t id,
    const struct form_spec *s, uint64_t now)
{
	struct key	 k;
	char		*fields = fields_text(s);
	int		 rc;

	rc = reply_done(db_cmd(db, "HSET %s name %s list_id %llu fields %s "
	    "double_opt_in %d redirect_url %s from %s updated_at %llu",
	    key_form(&k, tenant, id), s->name, (unsigned long long)s->list_id,
	    fields, s->double_opt_in, s->redirect_url ? s->redirect_url : "",
	    s->from ? s->from : "", (unsigned long long)now));
	free(fields);
	return rc;
}

int
store_form_create(struct db *db, uint64_t tenant, const struct form_spec *s,
    uint64_t now, uint64_t *id)
{
	struct key	 k, q;
	uint64_t	 camp, tpl;
	redisReply	*rep;
	int		 rc;

	if (store_tenant_next_id(db, tenant, "form", id) == -1 ||
	    store_tenant_next_id(db, tenant, "campaign", &camp) == -1 ||
	    store_tenant_next_id(db, tenant, "template", &tpl) == -1)
		return -1;
	if (template_put(db, tenant, tpl, s, now) == -1)
		return -1;
	/* Sending for ever, its snapshot never "1": nothing finishes it. */
	if (reply_done(db_cmd(db, "HSET %s name %s template_id %llu from %s "
	    "reply_to %s rate_per_second 0 track_opens 0 track_clicks 0 "
	    "status sending snapshot system kind confirmation form %llu "
	    "created_at %llu launched_at %llu", key_campaign(&k, tenant, camp),
	    "form confirmation", (unsigned long long)tpl,
	    s->from ? s->from : "", "", (unsigned long long)*id,
	    (unsigned long long)now, (unsigned long long)now)) == -1)
		return -1;
	rep = db_cmd(db, "XGROUP CREATE %s %s $ MKSTREAM",
	    key_campaign_queue(&q, tenant, camp), QUEUE_GROUP);
	rc = rep != NULL && (!reply_is_error(rep, NULL) ||
	    reply_is_error(rep, "BUSYGROUP")) ? 0 : -1;
	freeReplyObject(rep);
	if (rc == -1 || form_put(db, tenant, *id, s, now) == -1 ||
	    reply_done(db_cmd(db, "HSET %s campaign %llu template %llu "
	    "consent_version 1 created_at %llu", key_form(&k, tenant, *id),
	    (unsigned long long)camp, (unsigned long long)tpl,
	    (unsigned long long)now)) == -1 ||
	    reply_done(db_cmd(db, "HSET %s 1 %s", key_form_consent(&k, tenant,
	    *id), s->consent_text)) == -1 ||
	    reply_done(db_cmd(db, "ZADD %s %llu %llu", key_forms(&k, tenant),
	    (unsigned long long)*id, (unsigned long long)*id)) == -1)
		return -1;
	/* Last, and alone (ff:sending has no hash tag): the senders look
	 * at the campaign only once it is whole. */
	return reply_done(db_cmd(db, "SADD %s %llu:%llu", key_sending(),
	    (unsigned long long)tenant, (unsigned long long)camp));
}

int
store_form_get(struct db *db, uint64_t tenant, uint64_t id,
    struct form_rec *r)
{
	redisReply	*rep;
	struct key	 k;
	const char	*v;
	size_t		 len;
	int		 rc;

	memset(r, 0, sizeof(*r));
	r->id = id;
	if ((rc = db_hash_each(db, key_form(&k, tenant, id), form_field,
	    r)) != 1)
		return rc;
	if (r->name == NULL || r->list_id == 0 || r->nfields == 0) {
		store_form_rec_free(r);
		return 0;	/* half written, or half deleted */
	}
	if ((rep = db_cmd(db, "HGET %s %llu", key_form_consent(&k, tenant,
	    id), (unsigned long long)r->consent_version)) == NULL ||
	    reply_is_error(rep, NULL)) {
		freeReplyObject(rep);
		store_form_rec_free(r);
		return -1;
	}
	v = reply_str(rep, &len);
	r->consent_text = xstrndup(v != NULL ? v : "", v != NULL ? len : 0);
	freeReplyObject(rep);
	return 1;
}

int
store_form_update(struct db *db, uint64_t tenant, const struct form_rec *old,
    const struct form_spec *s, uint64_t now)
{
	struct key	k;
	long long	version;

	if (form_put(db, tenant, old->id, s, now) == -1 ||
	    template_put(db, tenant, old->template_id, s, now) == -1 ||
	    reply_done(db_cmd(db, "HSET %s from %s", key_campaign(&k, tenant,
	    old->campaign), s->from ? s->from : "")) == -1)
		return -1;
	if (old->consent_text != NULL &&
	    strcmp(old->consent_text, s->consent_text) == 0)
		return 0;
	/* The new text first, under the next version; then the form
	 * names it: a reader never meets a version without its text. */
	version = (long long)old->consent_version + 1;
	if (reply_done(db_cmd(db, "HSET %s %lld %s", key_form_consent(&k,
	    tenant, old->id), version, s->consent_text)) == -1)
		return -1;
	return reply_done(db_cmd(db, "HSET %s consent_version %lld",
	    key_form(&k, tenant, old->id), version));
}

int
store_form_delete(struct db *db, uint64_t tenant, uint64_t id)
{
	struct form_rec	r;
	struct key	k;
	int		rc;

	if ((rc = store_form_get(db, tenant, id, &r)) != 1)
		return rc;
	/* Out of the senders' sight first, then the keys. */
	rc = reply_done(db_cmd(db, "SREM %s %llu:%llu", key_sending(),
	    (unsigned long long)tenant, (unsigned long long)r.campaign));
	if (rc == 0)
		rc = reply_done(db_cmd(db, "ZREM %s %llu", key_forms(&k,
		    tenant), (unsigned long long)id));
	if (rc == 0)
		rc = reply_done(db_cmd(db, "DEL %s", key_form(&k, tenant,
		    id)));
	if (rc == 0)
		rc = reply_done(db_cmd(db, "DEL %s", key_form_consent(&k,
		    tenant, id)));
	if (rc == 0)
		rc = reply_done(db_cmd(db, "DEL %s", key_campaign(&k, tenant,
		    r.campaign)));
	if (rc == 0)
		rc = reply_done(db_cmd(db, "DEL %s", key_campaign_queue(&k,
		    tenant, r.campaign)));
	if (rc == 0)
		rc = reply_done(db_cmd(db, "DEL %s", key_template(&k, tenant,
		    r.template_id)));
	store_form_rec_free(&r);
	return rc == 0 ? 1 : -1;
}

int
store_form_ids(struct db *db, uint64_t tenant, uint64_t **ids, size_t *n)
{
	struct key	k;

	return reply_take_ids(db_cmd(db, "ZRANGE %s 0 -1", key_forms(&k,
	    tenant)), ids, n);
}

/* ------------------------------------------------------------ sign-ups */

void
store_signup_rec_free(struct signup_rec *s)
{
	free(s->first_name);
	free(s->last_name);
	free(s->attributes);
	s->first_name = s->last_name = s->attributes = NULL;
}

int
store_signup_add(struct db *db, uint64_t tenant, const struct form_rec *f,
    struct signup_rec *s, const char *mailed_hash, uint64_t expiry_ms)
{
	redisReply	*rep;
	struct key	 k;
	int		 first;

	/* The day's one mail to the address, claimed before anything is
	 * stored: a flood of sign-ups stores nothing but this key. */
	if ((rep = db_cmd(db, "SET %s 1 NX EX %d", key_signup_mailed(&k,
	    tenant, mailed_hash), MAILED_TTL_S)) == NULL ||
	    reply_is_error(rep, NULL)) {
		freeReplyObject(rep);
		return -1;
	}
	first = rep->type == REDIS_REPLY_STATUS;
	freeReplyObject(rep);
	if (!first)
		return 0;
	if (store_tenant_next_id(db, tenant, "contact", &s->id) == -1)
		return -1;
	/* The fields send_check.lua reads of a contact, and ours. */
	if (reply_done(db_cmd(db, "HSET %s email %s key %s first_name %s "
	    "last_name %s attributes %s quarantined %d form %llu "
	    "consent_version %llu asked_at %llu country %s",
	    key_signup(&k, tenant, s->id), s->email, s->key,
	    s->first_name ? s->first_name : "",
	    s->last_name ? s->last_name : "",
	    s->attributes ? s->attributes : "", s->quarantined,
	    (unsigned long long)f->id, (unsigned long long)f->consent_version,
	    (unsigned long long)s->asked_at, s->country)) == -1 ||
	    reply_done(db_cmd(db, "PEXPIRE %s %llu", key_signup(&k, tenant,
	    s->id), (unsigned long long)expiry_ms)) == -1 ||
	    reply_done(db_cmd(db, "SADD %s %llu", key_signups_of(&k, tenant,
	    mailed_hash), (unsigned long long)s->id)) == -1 ||
	    reply_done(db_cmd(db, "PEXPIRE %s %llu", key_signups_of(&k,
	    tenant, mailed_hash), (unsigned long long)expiry_ms)) == -1)
		return -1;
	if (!f->double_opt_in)
		return 1;
	return store_queue_add_one(db, tenant, f->campaign, s->id) == -1 ?
	    -1 : 1;
}

static void
signup_field(void *arg, const char *f, size_t flen, const char *v,
    size_t len)
{
	struct signup_rec	*s = arg;
	char			**str = NULL;
	uint64_t		 *u = NULL;

	(void)flen;
	if (strcmp(f, "email") == 0 && len < sizeof(s->email)) {
		memcpy(s->email, v, len);
		s->email[len] = '\0';
	} else if (strcmp(f, "key") == 0 && len < sizeof(s->key)) {
		memcpy(s->key, v, len);
		s->key[len] = '\0';
	} else if (strcmp(f, "country") == 0 && len < sizeof(s->country)) {
		memcpy(s->country, v, len);
		s->country[len] = '\0';
	} else if (strcmp(f, "first_name") == 0 && len > 0)
		str = &s->first_name;
	else if (strcmp(f, "last_name") == 0 && len > 0)
		str = &s->last_name;
	else if (strcmp(f, "attributes") == 0 && len > 0)
		str = &s->attributes;
	else if (strcmp(f, "quarantined") == 0)
		s->quarantined = len > 0 && v[0] == '1';
	else if (strcmp(f, "form") == 0)
		u = &s->form;
	else if (strcmp(f, "consent_version") == 0)
		u = &s->consent_version;
	else if (strcmp(f, "asked_at") == 0)
		u = &s->asked_at;
	if (str != NULL && *str == NULL)
		*str = xstrndup(v, len);
	if (u != NULL)
		(void)parse_u64(v, len, u);
}

int
store_signup_get(struct db *db, uint64_t tenant, uint64_t id,
    struct signup_rec *s)
{
	struct key	k;
	int		rc;

	memset(s, 0, sizeof(*s));
	s->id = id;
	if ((rc = db_hash_each(db, key_signup(&k, tenant, id), signup_field,
	    s)) != 1)
		return rc;
	if (s->key[0] == '\0' || s->form == 0) {
		store_signup_rec_free(s);
		return 0;
	}
	return 1;
}

int
store_signup_delete(struct db *db, uint64_t tenant, uint64_t id)
{
	struct key	k;

	return reply_done(db_cmd(db, "DEL %s", key_signup(&k, tenant, id)));
}

/* ------------------------------------------------------------ consents */

int
store_consent_add(struct db *db, uint64_t tenant, uint64_t contact,
    const char *json)
{
	struct key	k;

	return reply_done(db_cmd(db, "RPUSH %s %s", key_contact_consents(&k,
	    tenant, contact), json));
}

int
store_consents(struct db *db, uint64_t tenant, uint64_t contact,
    char ***items, size_t *n)
{
	redisReply	*rep;
	struct key	 k;
	const char	*v;
	size_t		 i, len;

	*items = NULL;
	*n = 0;
	if ((rep = db_cmd(db, "LRANGE %s 0 -1", key_contact_consents(&k,
	    tenant, contact))) == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	*items = xcalloc(rep->elements + 1, sizeof(**items));
	for (i = 0; i < rep->elements; i++)
		if ((v = reply_str(rep->element[i], &len)) != NULL)
			(*items)[(*n)++] = xstrndup(v, len);
	freeReplyObject(rep);
	return 0;
}

void
store_consents_free(char **items, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

void
signup_hash(const struct token_keyring *keys, const char *key,
    char out[SIGNUP_HASH_LEN + 1])
{
	char	hex[65];

	if (token_keyed_hash(keys, 0, key, strlen(key), hex) == -1)
		snprintf(hex, sizeof(hex), "%016llx%016llx",
		    (unsigned long long)hash_fnv1a(key, strlen(key)),
		    (unsigned long long)strlen(key));
	memcpy(out, hex, SIGNUP_HASH_LEN);
	out[SIGNUP_HASH_LEN] = '\0';
}

int
store_signup_ids(struct db *db, uint64_t tenant, const char *hash,
    uint64_t **ids, size_t *n)
{
	redisReply	*rep;
	struct key	 k;
	uint64_t	 v;
	size_t		 i;

	*ids = NULL;
	*n = 0;
	if ((rep = db_cmd(db, "SMEMBERS %s", key_signups_of(&k, tenant,
	    hash))) == NULL || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	*ids = xcalloc(rep->elements + 1, sizeof(**ids));
	for (i = 0; i < rep->elements; i++)
		if (reply_u64(rep->element[i], &v) == 0)
			(*ids)[(*n)++] = v;
	freeReplyObject(rep);
	return 0;
}

int
store_signups_erase(struct db *db, uint64_t tenant, const char *hash,
    long long *n)
{
	struct key	 k;
	uint64_t	*ids;
	long long	 gone;
	size_t		 i, nids;

	*n = 0;
	if (store_signup_ids(db, tenant, hash, &ids, &nids) == -1)
		return -1;
	for (i = 0; i < nids; i++) {
		if (db_cmd_int(db, &gone, "DEL %s", key_signup(&k, tenant,
		    ids[i])) == -1) {
			free(ids);
			return -1;
		}
		*n += gone;
	}
	free(ids);
	return reply_done(db_cmd(db, "DEL %s", key_signups_of(&k, tenant,
	    hash)));
}

int
store_consents_erase(struct db *db, uint64_t tenant, uint64_t contact,
    long long *n)
{
	struct key	k;

	*n = 0;
	if (db_cmd_int(db, n, "LLEN %s", key_contact_consents(&k, tenant,
	    contact)) == -1)
		return -1;
	return reply_done(db_cmd(db, "DEL %s", key_contact_consents(&k,
	    tenant, contact)));
}

int
store_form_consent(struct db *db, uint64_t tenant, uint64_t id,
    uint64_t version, char **text)
{
	redisReply	*rep;
	struct key	 k;
	const char	*v;
	size_t		 len;

	*text = NULL;
	if ((rep = db_cmd(db, "HGET %s %llu", key_form_consent(&k, tenant,
	    id), (unsigned long long)version)) == NULL ||
	    reply_is_error(rep, NULL)) {
		freeReplyObject(rep);
		return -1;
	}
	if ((v = reply_str(rep, &len)) != NULL)
		*text = xstrndup(v, len);
	freeReplyObject(rep);
	return *text != NULL;
}
