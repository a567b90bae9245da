/*
 * api_relay.c: a tenant's own relay (API.md part 2, "A tenant's own
 * relay"): PUT /v1/relay sets it, GET shows it, DELETE sends the
 * tenant's mail through the node's relay again.  The senders pick a
 * change up at their next campaign reload (smtp_tenant_relay.c, within
 * SMTP_CAMPAIGN_TTL_MS).
 *
 * The password is sealed (seal.c, AAD relay_password_aad) before it
 * leaves this handler and is never in an answer: the answer says
 * "password_set".  A PUT without a password keeps the stored one when
 * the username is the same, so a port can change without the secret
 * being sent again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "relay.h"
#include "store_relay.h"

static const char *const relay_fields[] = { "host", "port", "starttls",
    "username", "password", NULL };

/* The relay as the API shows it: never the password. */
static json_t *
relay_json(const struct relay_rec *r)
{
	json_t	*o;

	o = json_pack("{s:s, s:i, s:s, s:b}", "host", r->host, "port",
	    r->port, "starttls", relay_starttls_name(r->starttls),
	    "password_set", r->sealed_password != NULL);
	if (r->user != NULL)
		json_object_set_new(o, "username", json_string(r->user));
	api_set_time(o, "updated_at", r->updated_at);
	return o;
}

/* A member that must be a string without a NUL when present: 0 with
 * *out (NULL when absent), -1 after answering 422. */
static int
string_member(struct api_req *r, json_t *body, const char *name,
    const char *code, const char **out)
{
	json_t	*v = json_object_get(body, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		api_error(r, 422, code, "%s: a string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static void
relay_put(struct api_req *r)
{
	struct relay_input	 in;
	struct relay_problem	 p;
	struct relay_rec	 old, rec;
	json_t			*body = NULL, *v;
	char			 aad[64];
	int			 rc, have_old = 0;

	memset(&rec, 0, sizeof(rec));
	memset(&in, 0, sizeof(in));
	if (api_body_object(r, &body) == -1)
		return;
	if (api_check_fields(r, body, relay_fields) == -1)
		goto out;
	if (string_member(r, body, "host", "invalid_host", &in.host) == -1 ||
	    string_member(r, body, "starttls", "invalid_starttls",
	    &in.starttls) == -1 ||
	    string_member(r, body, "username", "invalid_username",
	    &in.user) == -1 ||
	    string_member(r, body, "password", "invalid_password",
	    &in.password) == -1)
		goto out;
	v = json_object_get(body, "port");
	in.port = json_is_integer(v) ? json_integer_value(v) : 0;
	if (in.user != NULL && in.password == NULL) {
		/* The stored password, if it is this user's. */
		if ((rc = store_relay_get(r->db, r->tenant, &old)) == -1) {
			api_unavailable(r);
			goto out;
		}
		have_old = rc == 1;
		in.keep_password = have_old && old.user != NULL &&
		    old.sealed_password != NULL &&
		    strcmp(old.user, in.user) == 0;
	}
	if (relay_check(&in, &p) == -1) {
		api_error(r, 422, p.code, "%s", p.message);
		goto out;
	}
	if (in.password != NULL && (r->live == NULL ||
	    !r->live->data_key.set)) {
		api_error(r, 503, "no_data_key", "a relay password needs the "
		    "data_key_file directive (the key that seals it)");
		goto out;
	}
	(void)relay_host_check(in.host, rec.host, sizeof(rec.host));
	rec.port = (int)in.port;
	rec.starttls = relay_starttls_parse(in.starttls);
	rec.user = in.user != NULL ? xstrdup(in.user) : NULL;
	if (in.password != NULL) {
		relay_password_aad(aad, sizeof(aad), r->tenant);
		if ((rec.sealed_password = seal_encrypt(&r->live->data_key,
		    aad, in.password, strlen(in.password))) == NULL) {
			api_error(r, 500, "internal", "the password could not "
			    "be sealed");
			goto out;
		}
	} else if (in.keep_password) {
		rec.sealed_password = old.sealed_password;
		old.sealed_password = NULL;
	}
	/* Random, not a counter: a DELETE then a PUT never repeats one a
	 * sender still holds. */
	api_random_hex(rec.version, 8);
	rec.updated_at = now_ms();
	if (store_relay_put(r->db, r->tenant, &rec) == -1) {
		api_unavailable(r);
		goto out;
	}
	api_json(r, 200, relay_json(&rec));
out:
	if (have_old)
		store_relay_rec_free(&old);
	store_relay_rec_free(&rec);
	/* The clear password lives in body: wipe it before it is freed. */
	if (in.password != NULL)
		OPENSSL_cleanse((char *)in.password, strlen(in.password));
	json_decref(body);
}

void
api_relay(struct api_req *r)
{
	struct relay_rec	rec;
	int			rc;

	switch (r->method) {
	case HTTP_PUT:
		relay_put(r);
		return;
	case HTTP_DELETE:
		if (store_relay_delete(r->db, r->tenant) == -1)
			api_unavailable(r);
		else
			api_nocontent(r);
		return;
	default:
		rc = store_relay_get(r->db, r->tenant, &rec);
		if (rc == 0) {
			api_error(r, 404, "not_found", "no relay of its own: "
			    "this tenant's mail goes through the node's relay");
			return;
		}
		if (api_found(r, rc, "relay") == -1)
			return;
		api_json(r, 200, relay_json(&rec));
		store_relay_rec_free(&rec);
	}
}
