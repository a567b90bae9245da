/*
 * api_webhook.c: a tenant's webhook endpoints (API.md part 2, "Webhooks
 * and the event feed"): POST/GET /v1/webhooks, GET/PATCH/DELETE
 * /v1/webhooks/{id}, POST /v1/webhooks/{id}/rotate, GET
 * /v1/webhooks/{id}/deliveries.  webhook_deliver.c sends.
 *
 * The secret is made here, shown once (the answer of POST and of
 * rotate) and sealed (seal.c, AAD webhook_secret_aad) before it is
 * stored: no later answer, export or log line has it.  A rotation keeps
 * the old secret, sealed, for webhook_rotate_overlap: deliveries carry
 * one v1= per secret until then.
 *
 * The URL must not lead the node inside its own network (netguard.c):
 * every address its host resolves to now must be public or in a
 * webhook_allow range, else 422 forbidden_target; a host that does not
 * resolve is 422 unresolvable_host.  The delivery thread checks each
 * address again when it connects (DNS may answer otherwise by then).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "netguard.h"
#include "store_tenant.h"
#include "store_webhook.h"
#include "webhook.h"

#define DELIVERIES_DEFAULT	50
#define DELIVERIES_MAX		500

/* The endpoint as the API shows it: never a secret. */
static json_t *
webhook_json(const struct webhook_rec *w, const struct webhook_state *s)
{
	json_t	*o;
	char	 id[24];
	int	 disabled;

	snprintf(id, sizeof(id), "%llu", (unsigned long long)w->id);
	disabled = !w->enabled || (s != NULL &&
	    s->disabled_reason[0] != '\0');
	o = json_pack("{s:s, s:s, s:o, s:s}", "id", id, "url", w->url,
	    "events", webhook_types_json(w->mask), "status",
	    disabled ? "disabled" : "active");
	if (!w->enabled)
		json_object_set_new(o, "disabled_reason", json_string(
		    "disabled by PATCH"));
	else if (s != NULL && s->disabled_reason[0] != '\0')
		json_object_set_new(o, "disabled_reason",
		    json_string(s->disabled_reason));
	api_set_time(o, "created_at", w->created_at);
	api_set_time(o, "updated_at", w->updated_at);
	if (w->old_secret != NULL && w->old_until > now_ms())
		api_set_time(o, "old_secret_until", w->old_until);
	if (s == NULL)
		return o;
	if (s->last_error[0] != '\0')
		json_object_set_new(o, "last_error", json_string(s->last_error));
	if (s->last_code != 0)
		json_object_set_new(o, "last_code", json_integer(s->last_code));
	api_set_time(o, "failing_since", s->failing_since);
	api_set_time(o, "last_success", s->last_success);
	if (s->failing_since != 0)
		api_set_time(o, "next_attempt_at", s->next_at);
	return o;
}

/* 0 when the node may connect to host (netguard.c), -1 after answering
 * 422.  On the API worker: the lookup blocks it NETGUARD_RESOLVE_MS at
 * most. */
static int
target_check(struct api_req *r, const char *host)
{
	const struct config	*conf = r->a->conf;
	struct netguard_verdict	 v;

	netguard_resolve(host, conf->webhook_allow, conf->nwebhook_allow,
	    NETGUARD_RESOLVE_MS, &v);
	switch (v.result) {
	case NETGUARD_OK:
		return 0;
	case NETGUARD_FORBIDDEN:
		api_error(r, 422, "forbidden_target", "url: %s is a %s "
		    "address, which a webhook may not reach (the operator's "
		    "webhook_allow directive can allow a range)", v.addr,
		    netguard_class_name(v.klass));
		return -1;
	default:
		api_error(r, 422, "unresolvable_host", "url: %s has no "
		    "address (it could not be checked)", host);
		return -1;
	}
}

/* A new secret into out (WEBHOOK_SECRET_LEN + 1), sealed into *sealed
 * for endpoint id: 0, or -1 after answering 503 or 500. */
static int
secret_new(struct api_req *r, uint64_t id, char *out, char **sealed)
{
	char	aad[64];

	if (r->live == NULL || !r->live->data_key.set) {
		api_error(r, 503, "no_data_key", "a webhook secret needs the "
		    "data_key_file directive (the key that seals it)");
		return -1;
	}
	memcpy(out, "whsec_", 6);
	api_random_hex(out + 6, 32);
	webhook_secret_aad(aad, sizeof(aad), r->tenant, id);
	if ((*sealed = seal_encrypt(&r->live->data_key, aad, out,
	    strlen(out))) == NULL) {
		api_error(r, 500, "internal", "the secret could not be sealed");
		return -1;
	}
	return 0;
}

static void
webhook_create(struct api_req *r)
{
	struct webhook_input	 in;
	struct webhook_problem	 p;
	struct webhook_rec	 rec;
	json_t			*body = NULL, *o;
	char			 secret[WEBHOOK_SECRET_LEN + 1];
	long long		 count;

	memset(&rec, 0, sizeof(rec));
	secret[0] = '\0';
	if (api_body_object(r, &body) == -1)
		return;
	if (webhook_input_check(body, 1, &in, &p) == -1) {
		api_error(r, p.status, p.code, "%s", p.message);
		goto out;
	}
	if (r->live == NULL || !r->live->data_key.set) {
		api_error(r, 503, "no_data_key", "a webhook secret needs the "
		    "data_key_file directive (the key that seals it)");
		goto out;
	}
	if (target_check(r, in.parsed.host) == -1)
		goto out;
	/* The delivery thread walks every endpoint each poll, and each
	 * holds a request in flight: a tenant does not get to multiply
	 * that without bound. */
	if (store_webhook_count(r->db, r->tenant, &count) == -1) {
		api_unavailable(r);
		goto out;
	}
	if (count >= WEBHOOK_MAX_ENDPOINTS) {
		api_error(r, 409, "too_many_webhooks", "a tenant has at most "
		    "%d webhook endpoints; delete one first",
		    WEBHOOK_MAX_ENDPOINTS);
		goto out;
	}
	if (store_tenant_next_id(r->db, r->tenant, "webhook",
	    &rec.id) == -1) {
		api_unavailable(r);
		goto out;
	}
	if (secret_new(r, rec.id, secret, &rec.secret) == -1)
		goto out;
	rec.url = xstrdup(in.url);
	rec.mask = in.mask;
	rec.enabled = 1;
	rec.created_at = rec.updated_at = now_ms();
	if (store_webhook_create(r->db, r->tenant, &rec) == -1) {
		api_unavailable(r);
		goto out;
	}
	o = webhook_json(&rec, NULL);
	json_object_set_new(o, "secret", json_string(secret));
	api_json(r, 201, o);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	store_webhook_rec_free(&rec);
	json_decref(body);
}

static void
webhook_list(struct api_req *r)
{
	struct webhook_rec	*recs;
	struct webhook_state	 s;
	json_t			*items;
	size_t			 i, n;

	if (store_webhook_list(r->db, r->tenant, &recs, &n) == -1) {
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		if (store_webhook_state_get(r->db, r->tenant, recs[i].id,
		    &s) == -1) {
			json_array_append_new(items, webhook_json(&recs[i],
			    NULL));
		} else
			json_array_append_new(items, webhook_json(&recs[i],
			    &s));
		store_webhook_rec_free(&recs[i]);
	}
	free(recs);
	api_json(r, 200, json_pack("{s:o}", "items", items));
}

static void
webhook_patch(struct api_req *r, struct webhook_rec *rec)
{
	struct webhook_input	 in;
	struct webhook_problem	 p;
	struct webhook_state	 s;
	json_t			*body = NULL;

	if (api_body_object(r, &body) == -1)
		return;
	if (webhook_input_check(body, 0, &in, &p) == -1) {
		api_error(r, p.status, p.code, "%s", p.message);
		goto out;
	}
	if (in.url != NULL) {
		if (target_check(r, in.parsed.host) == -1)
			goto out;
		free(rec->url);
		rec->url = xstrdup(in.url);
	}
	if (in.mask != 0)
		rec->mask = in.mask;
	if (in.enabled != -1)
		rec->enabled = in.enabled;
	rec->updated_at = now_ms();
	if (store_webhook_put(r->db, r->tenant, rec) == -1 ||
	    (in.enabled == 1 && store_webhook_state_reset(r->db, r->tenant,
	    rec->id) == -1) ||
	    store_webhook_state_get(r->db, r->tenant, rec->id, &s) == -1) {
		api_unavailable(r);
		goto out;
	}
	api_json(r, 200, webhook_json(rec, &s));
out:
	json_decref(body);
}

static void
webhook_rotate(struct api_req *r, struct webhook_rec *rec)
{
	char	 secret[WEBHOOK_SECRET_LEN + 1], *sealed = NULL;
	json_t	*o;

	secret[0] = '\0';
	if (secret_new(r, rec->id, secret, &sealed) == -1)
		return;
	/* The current one signs on for the overlap; one rotated before
	 * is dropped (two at most: WEBHOOK_MAX_SECRETS). */
	free(rec->old_secret);
	rec->old_secret = rec->secret;
	rec->secret = sealed;
	rec->updated_at = now_ms();
	rec->old_until = rec->updated_at +
	    (uint64_t)r->a->conf->webhook_rotate_overlap_s * 1000;
	if (store_webhook_put(r->db, r->tenant, rec) == -1) {
		api_unavailable(r);
		goto out;
	}
	o = json_pack("{s:s}", "secret", secret);
	api_set_time(o, "old_secret_until", rec->old_until);
	api_json(r, 200, o);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
}

static void
webhook_deliveries(struct api_req *r, uint64_t id)
{
	char		 cbuf[64], lbuf[16], next[64];
	const char	*cursor, *lim;
	uint64_t	 limit = DELIVERIES_DEFAULT, a, b;
	const char	*dash;
	json_t		*items, *o;

	cursor = api_query(r, "cursor", cbuf, sizeof(cbuf));
	if (cursor != NULL && *cursor == '\0')
		cursor = NULL;
	if (cursor != NULL && ((dash = strchr(cursor, '-')) == NULL ||
	    parse_u64(cursor, (size_t)(dash - cursor), &a) == -1 ||
	    parse_u64(dash + 1, strlen(dash + 1), &b) == -1)) {
		api_error(r, 400, "invalid_cursor", "cursor: a next_cursor "
		    "this endpoint gave");
		return;
	}
	if ((lim = api_query(r, "limit", lbuf, sizeof(lbuf))) != NULL &&
	    (parse_u64(lim, strlen(lim), &limit) == -1 || limit == 0 ||
	    limit > DELIVERIES_MAX)) {
		api_error(r, 400, "invalid_limit", "limit: 1 to %d",
		    DELIVERIES_MAX);
		return;
	}
	items = json_array();
	if (store_webhook_log_page(r->db, r->tenant, id, cursor,
	    (size_t)limit, items, next, sizeof(next)) == -1) {
		json_decref(items);
		api_unavailable(r);
		return;
	}
	o = json_pack("{s:o}", "items", items);
	json_object_set_new(o, "next_cursor", next[0] != '\0' ?
	    json_string(next) : json_null());
	api_json(r, 200, o);
}

void
api_webhooks(struct api_req *r)
{
	struct webhook_rec	 rec;
	struct webhook_state	 s;
	uint64_t		 id;
	int			 rc;

	if (r->nseg == 2) {
		if (r->method == HTTP_POST)
			webhook_create(r);
		else
			webhook_list(r);
		return;
	}
	if (parse_u64(r->seg[2], strlen(r->seg[2]), &id) == -1 || id == 0) {
		api_error(r, 404, "not_found", "no such webhook");
		return;
	}
	rc = store_webhook_get(r->db, r->tenant, id, &rec);
	if (api_found(r, rc, "webhook") == -1)
		return;
	if (r->nseg == 4 && strcmp(r->seg[3], "rotate") == 0)
		webhook_rotate(r, &rec);
	else if (r->nseg == 4)
		webhook_deliveries(r, id);
	else if (r->method == HTTP_PATCH)
		webhook_patch(r, &rec);
	else if (r->method == HTTP_DELETE) {
		if (store_webhook_delete(r->db, r->tenant, id) == -1)
			api_unavailable(r);
		else
			api_nocontent(r);
	} else if (store_webhook_state_get(r->db, r->tenant, id, &s) == -1)
		api_unavailable(r);
	else
		api_json(r, 200, webhook_json(&rec, &s));
	store_webhook_rec_free(&rec);
}

/*
 * POST /v1/webhooks/{id}/test: one synthetic event of type "test" for
 * this endpoint alone, through the normal delivery (store_webhook.h's
 * store_webhook_test_add): signed, retried and logged in its
 * deliveries like any other.  202 {"event_id"}: it is on its way; the
 * delivery log says when it arrived.  No body is read.
 */
void
api_webhooks_test(struct api_req *r)
{
	struct webhook_rec	 rec;
	char			 eid[EVENT_ID_MAX], entry[WEBHOOK_ENTRY_MAX];
	char			 rnd[17], idbuf[24], when[32], *text;
	uint64_t		 id;
	json_t			*o;
	int			 rc;

	if (parse_u64(r->match.arg[0], strlen(r->match.arg[0]), &id) == -1 ||
	    id == 0) {
		api_error(r, 404, "not_found", "no such webhook");
		return;
	}
	rc = store_webhook_get(r->db, r->tenant, id, &rec);
	if (api_found(r, rc, "webhook") == -1)
		return;
	store_webhook_rec_free(&rec);
	api_random_hex(rnd, 8);
	snprintf(eid, sizeof(eid), "test:%llu:%s", (unsigned long long)id,
	    rnd);
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)id);
	/* The shape of every event (event.h), and it says what it is. */
	o = json_pack("{s:s, s:n, s:s, s:s, s:n, s:n, s:b, s:s, s:s}",
	    "id", eid, "email", "type", "test", "time",
	    api_iso_time(now_ms(), when, sizeof(when)), "campaign", "contact",
	    "test", 1, "webhook", idbuf, "message", "a test event sent by "
	    "POST /v1/webhooks/{id}/test; nothing happened to anyone");
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		fatalx("json_dumps: out of memory");
	rc = store_webhook_test_add(r->db, r->tenant, id, text, entry);
	free(text);
	if (rc == -1) {
		api_unavailable(r);
		return;
	}
	api_json(r, 202, json_pack("{s:s}", "event_id", eid));
}
