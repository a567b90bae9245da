/*
 * api_user.c: the marketer's logins over HTTP: users (POST, GET and
 * DELETE /v1/users), sessions (POST and DELETE /v1/session), the
 * session's authentication of other calls with its CSRF check, the
 * roles' limits, and the TOTP second factor (POST /v1/users/U/totp).
 *
 * Everything here runs on an API worker thread (api.c): argon2id takes
 * tens of milliseconds and 64 MiB on purpose, which must never stall the
 * main loop.  A password is never logged, stored or answered: only its
 * hash (libsodium's crypto_pwhash_str, argon2id) is kept.
 *
 * A session's cookie is "T.TOKEN": the tenant, whose {t:T} slot holds
 * the session, and 32 random bytes; Redis holds only the SHA-256 of the
 * token, so a dump of Redis logs nobody in.  A new token at each login
 * (no fixation).  Failed logins are counted per account and per client
 * in memory (session.c's throttle), never in Redis.
 */
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "session.h"
#include "store_tenant.h"
#include "store_user.h"
#include "totp.h"

#define THROTTLE_SLOTS		4096
#define THROTTLE_ACCOUNT	5	/* failures in a row, then 429 */
#define THROTTLE_CLIENT		20	/* failures of one address */
#define THROTTLE_WINDOW_MS	(15 * 60 * 1000)
#define TOTP_ISSUER		"Fanfare"
#define AUDIT_LIST_DEFAULT	100
#define AUDIT_LIST_MAX		1000

/* A hash verified when the email is unknown, so that the answer takes
 * as long as a wrong password (no probing for accounts by time). */
static char		dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t	dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_make(void)
{
	unsigned char	pw[16];

	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = '\0';	/* then the check fails, as it must */
}

void
api_user_init(struct api *a)
{
	if (sodium_init() < 0)
		fatalx("libsodium: cannot initialise");
	/* Per account (the email) and per client (the address): two
	 * tables, two limits. */
	a->login_throttle = throttle_new(THROTTLE_SLOTS, THROTTLE_ACCOUNT,
	    THROTTLE_WINDOW_MS);
	a->client_throttle = throttle_new(THROTTLE_SLOTS, THROTTLE_CLIENT,
	    THROTTLE_WINDOW_MS);
	api_reset_init(a);
}

void
api_user_free(struct api *a)
{
	throttle_free(a->login_throttle);
	throttle_free(a->client_throttle);
	a->login_throttle = a->client_throttle = NULL;
	api_reset_free(a);
}

/* The lower-cased login of a JSON email: 0, or -1 (not an address). */
static int
login_email(const char *in, char *out)
{
	char	addr[FF_EMAIL_MAX + 1];

	if (in == NULL || strlen(in) > USER_EMAIL_MAX ||
	    validate_email(in, strlen(in), addr, out) == -1)
		return -1;
	return 0;
}

/* Ids are strings in the API, as elsewhere (API.md). */
static json_t *
id_json(uint64_t id)
{
	char	buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	return json_string(buf);
}

void
api_sha256_hex(const char *in, char *out)
{
	unsigned char	md[SHA256_DIGEST_LENGTH];
	size_t		i;

	SHA256((const unsigned char *)in, strlen(in), md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char *
actor_of(const struct api_req *r, char *buf, size_t len)
{
	if (r->user == 0)
		return r->key_prefix;
	snprintf(buf, len, "user:%llu", (unsigned long long)r->user);
	return buf;
}

void
api_user_audit(struct api_req *r, uint64_t tenant, const char *action,
    uint64_t user)
{
	char	actor[32];

	if (store_user_audit(r->db, tenant, actor_of(r, actor, sizeof(actor)),
	    action, user) == -1)
		log_warnx("tenant %llu: audit record of %s (user %llu) not "
		    "written", (unsigned long long)tenant, action,
		    (unsigned long long)user);
}

/* "; Secure" when the server is reached over https (public_url). */
static const char *
cookie_secure(const struct api_req *r)
{
	const char	*u = r->a->conf->public_url;

	return u != NULL && strncmp(u, "https://", 8) == 0 ? "; Secure" : "";
}

/* ------------------------------------------------------ authentication */

/* api_session_auth's work; code: the 401's (GET /v1/session says
 * no_session), csrf_out: the session's CSRF token (NULL: not wanted). */
static int
session_check(struct api_req *r, const char *code, char *csrf_out)
{
	struct user_rec	 u;
	uint64_t	 tenant, user = 0;
	char		 token[SESSION_TOKEN_HEX + 1];
	char		 csrf[SESSION_CSRF_HEX + 1];
	const struct config *conf = r->a->conf;
	int		 rc;

	if (session_cookie_parse(r->cookie, &tenant, token) == -1)
		goto unauthorized;
	api_sha256_hex(token, r->session);
	rc = store_session_touch(r->db, tenant, r->session,
	    (uint64_t)conf->session_idle_s * 1000, now_ms(), &user, csrf);
	if (rc == -1) {
		api_unavailable(r);
		return 0;
	}
	if (rc == 0)
		goto unauthorized;
	/* The role now, not at login: a deleted user's sessions die, a
	 * changed role applies at once. */
	if ((rc = store_user_get(r->db, tenant, user, &u)) == -1) {
		api_unavailable(r);
		return 0;
	}
	if (rc == 0)
		goto unauthorized;
	r->role = role_parse(u.role);
	store_user_rec_free(&u);
	/* As a key, a session stops working once its tenant is being
	 * deleted. */
	if ((rc = store_tenant_state(r->db, tenant)) == -1) {
		api_unavailable(r);
		return 0;
	}
	if (rc != TENANT_ACTIVE)
		goto unauthorized;
	/* Any call that changes something carries the session's CSRF
	 * token, which a page of another site cannot read. */
	if (r->method != HTTP_GET && r->method != HTTP_HEAD &&
	    (r->csrf == NULL || strlen(r->csrf) != SESSION_CSRF_HEX ||
	    CRYPTO_memcmp(r->csrf, csrf, SESSION_CSRF_HEX) != 0)) {
		api_error(r, 403, "csrf_required", "a call made with a session "
		    "needs the session's X-CSRF-Token header");
		return 0;
	}
	r->tenant = tenant;
	r->user = user;
	snprintf(r->key_prefix, sizeof(r->key_prefix), "user:%llu",
	    (unsigned long long)user);
	if (csrf_out != NULL)
		memcpy(csrf_out, csrf, sizeof(csrf));
	return 1;
unauthorized:
	api_error(r, 401, code, "the session is unknown or has expired; log "
	    "in again");
	return 0;
}

int
api_session_auth(struct api_req *r)
{
	return session_check(r, "unauthorized", NULL);
}

int
api_role_check(struct api_req *r)
{
	enum api_route	route = r->route;
	int		owner_only;

	if (r->user == 0 || route == API_ROUTE_SESSION)
		return 0;	/* a key; or one's own session and TOTP */
	owner_only = route == API_ROUTE_USERS || route == API_ROUTE_DOMAINS ||
	    route == API_ROUTE_RELAY || route == API_ROUTE_TENANTS;
	if (role_allows((enum user_role)r->role, r->method, owner_only))
		return 0;
	api_error(r, 403, "forbidden_role", "the %s role may not do this",
	    role_name((enum user_role)r->role));
	return -1;
}

/* --------------------------------------------------------------- users */

/* body's "password" against the policy: 0, or -1 after answering 422. */
int
api_password_check(struct api_req *r, json_t *body)
{
	json_t		*v = json_object_get(body, "password");
	const char	*pw = json_string_value(v);
	size_t		 len = pw != NULL ? json_string_length(v) : 0;

	if (pw == NULL || !password_length_ok(len) || strlen(pw) != len) {
		api_error(r, 422, "weak_password", "'password' must be %d to "
		    "%d bytes", PASSWORD_MIN, PASSWORD_MAX);
		return -1;
	}
	return 0;
}

int
api_password_hash(struct api_req *r, json_t *body, char *hash)
{
	json_t	*v = json_object_get(body, "password");

	if (crypto_pwhash_str(hash, json_string_value(v),
	    json_string_length(v), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		api_error(r, 503, "unavailable", "no memory to hash the "
		    "password; try again");
		return -1;
	}
	return 0;
}

static void
user_create(struct api_req *r)
{
	static const char *const fields[] = { "email", "password", "role",
	    NULL };
	char		 email[FF_EMAIL_MAX + 1];
	char		 hash[crypto_pwhash_STRBYTES];
	json_t		*body = NULL;
	const char	*role;
	uint64_t	 id = 0;
	int		 rc;

	if (api_body_object(r, &body) == -1 ||
	    api_check_fields(r, body, fields) == -1)
		goto done;
	if (login_email(json_string_value(json_object_get(body, "email")),
	    email) == -1) {
		api_error(r, 422, "invalid_email", "'email' must be an email "
		    "address");
		goto done;
	}
	role = json_string_value(json_object_get(body, "role"));
	if (role_parse(role) == ROLE_NONE) {
		api_error(r, 422, "invalid_role", "'role' must be owner, "
		    "marketer or viewer");
		goto done;
	}
	if (api_password_check(r, body) == -1 ||
	    api_password_hash(r, body, hash) == -1)
		goto done;
	rc = store_user_create(r->db, r->tenant, email, role, hash, &id);
	if (rc == -1)
		api_unavailable(r);
	else if (rc == 0)
		api_error(r, 409, "email_taken", "a user with this email "
		    "exists");
	else {
		api_user_audit(r, r->tenant, "user_create", id);
		api_json(r, 201, json_pack("{s:o}", "id", id_json(id)));
	}
done:
	sodium_memzero(hash, sizeof(hash));
	json_decref(body);
}

static void
user_list(struct api_req *r)
{
	struct user_rec	 u;
	uint64_t	*ids = NULL;
	size_t		 n = 0, i;
	json_t		*items = json_array();
	int		 rc;

	if (store_user_ids(r->db, r->tenant, &ids, &n) == -1) {
		json_decref(items);
		api_unavailable(r);
		return;
	}
	for (i = 0; i < n; i++) {
		json_t	*o;

		if ((rc = store_user_get(r->db, r->tenant, ids[i], &u)) == -1) {
			free(ids);
			json_decref(items);
			api_unavailable(r);
			return;
		}
		if (rc == 0)
			continue;
		o = json_pack("{s:o, s:s, s:s, s:b}", "id", id_json(u.id),
		    "email", u.email, "role", u.role, "totp", u.totp != NULL);
		api_set_time(o, "created_at", u.created_at);
		json_array_append_new(items, o);
		store_user_rec_free(&u);
	}
	free(ids);
	api_json(r, 200, json_pack("{s:o}", "items", items));
}

static int
user_id(struct api_req *r, uint64_t *id)
{
	if (parse_u64(r->match.arg[0], strlen(r->match.arg[0]), id) == -1 ||
	    *id == 0) {
		api_error(r, 404, "not_found", "no such user");
		return -1;
	}
	return 0;
}

static void
user_delete(struct api_req *r)
{
	uint64_t	id;

	if (user_id(r, &id) == -1 ||
	    api_found(r, store_user_delete(r->db, r->tenant, id), "user") ==
	    -1)
		return;
	api_user_audit(r, r->tenant, "user_delete", id);
	api_nocontent(r);
}

/*
 * POST /v1/users/U/totp: without a code, a new secret (given this once,
 * as base32 and an otpauth URI) waits for confirmation; with {"code"},
 * the code of the waiting secret turns the second factor on.  The user
 * themself, an owner or the tenant key.
 */
static void
user_totp(struct api_req *r)
{
	static const char *const fields[] = { "code", NULL };
	struct user_rec	 u;
	uint8_t		 secret[TOTP_SECRET_LEN];
	char		 b32[TOTP_B32_LEN + 8], step[24], *uri = NULL;
	json_t		*body = NULL;
	const char	*code;
	uint64_t	 id, matched = 0;
	int		 rc, n;

	memset(&u, 0, sizeof(u));
	if (user_id(r, &id) == -1)
		return;
	if (r->user != 0 && r->user != id && r->role != ROLE_OWNER) {
		api_error(r, 403, "forbidden_role", "only an owner sets up "
		    "another user's second factor");
		return;
	}
	if (!r->bodyless && (api_body_object(r, &body) == -1 ||
	    api_check_fields(r, body, fields) == -1))
		goto done;
	if ((rc = store_user_get(r->db, r->tenant, id, &u)) != 1) {
		api_found(r, rc, "user");
		goto done;
	}
	code = body != NULL ? json_string_value(json_object_get(body, "code")) :
	    NULL;
	if (code == NULL) {
		if (u.totp != NULL) {
			api_error(r, 409, "totp_enabled", "the second factor "
			    "is on already");
			goto done;
		}
		randombytes_buf(secret, sizeof(secret));
		totp_base32_encode(secret, sizeof(secret), b32, sizeof(b32));
		if (store_user_set(r->db, r->tenant, id, "totp_pending", b32) ==
		    -1) {
			api_unavailable(r);
			goto done;
		}
		if (xasprintf(&uri, "otpauth://totp/%s:%s?secret=%s&issuer=%s&"
		    "algorithm=SHA1&digits=%d&period=%d", TOTP_ISSUER, u.email,
		    b32, TOTP_ISSUER, TOTP_DIGITS, TOTP_STEP_S) == -1)
			fatal("xasprintf");
		api_json(r, 200, json_pack("{s:s, s:s}", "secret", b32,
		    "otpauth_uri", uri));
		goto done;
	}
	if (u.totp_pending == NULL || (n = totp_base32_decode(u.totp_pending,
	    secret, sizeof(secret))) <= 0 ||
	    !totp_verify(secret, (size_t)n, now_ms() / 1000, code, &matched)) {
		api_error(r, 422, "invalid_code", "the code is not the current "
		    "one of the secret given (POST without a code first)");
		goto done;
	}
	snprintf(step, sizeof(step), "%llu", (unsigned long long)matched);
	if (store_user_set(r->db, r->tenant, id, "totp", u.totp_pending) ==
	    -1 || store_user_set(r->db, r->tenant, id, "totp_step", step) ==
	    -1 || store_user_set(r->db, r->tenant, id, "totp_pending",
	    NULL) == -1) {
		api_unavailable(r);
		goto done;
	}
	api_user_audit(r, r->tenant, "totp_enable", id);
	api_json(r, 200, json_pack("{s:b}", "totp", 1));
done:
	sodium_memzero(secret, sizeof(secret));
	free(uri);
	store_user_rec_free(&u);
	json_decref(body);
}

/* A stream id as the audit list gives them: digits '-' digits. */
static int
audit_cursor_valid(const char *s)
{
	const char	*dash = strchr(s, '-');
	uint64_t	 v;

	return dash != NULL && parse_u64(s, (size_t)(dash - s), &v) == 0 &&
	    parse_u64(dash + 1, strlen(dash + 1), &v) == 0;
}

/* GET /v1/audit?limit=N&cursor=ID: the tenant's audit records, newest
 * first (owners and the tenant key: the route is the users').  A page
 * is asked one record longer than limit: the extra one says there is a
 * next page, whose cursor is the page's last id. */
void
api_audit(struct api_req *r)
{
	char		 buf[16], cbuf[64];
	const char	*q = api_query(r, "limit", buf, sizeof(buf));
	const char	*cursor = api_query(r, "cursor", cbuf, sizeof(cbuf));
	uint64_t	 limit = AUDIT_LIST_DEFAULT, ms;
	json_t		*items = json_array(), *o, *t, *next = json_null();
	size_t		 i;

	if (q != NULL && (parse_u64(q, strlen(q), &limit) == -1 ||
	    limit < 1 || limit > AUDIT_LIST_MAX)) {
		json_decref(items);
		api_error(r, 400, "invalid_limit", "'limit' must be 1 to %d",
		    AUDIT_LIST_MAX);
		return;
	}
	if (cursor != NULL && *cursor == '\0')
		cursor = NULL;
	if (cursor != NULL && (strlen(cursor) >= sizeof(cbuf) - 1 ||
	    !audit_cursor_valid(cursor))) {
		json_decref(items);
		api_error(r, 400, "invalid_cursor", "cursor: a next_cursor "
		    "this endpoint gave");
		return;
	}
	if (store_audit_list(r->db, r->tenant, cursor, (size_t)limit + 1,
	    items) == -1) {
		json_decref(items);
		api_unavailable(r);
		return;
	}
	if (json_array_size(items) > limit) {
		json_array_remove(items, (size_t)limit);
		if ((t = json_object_get(json_array_get(items,
		    (size_t)limit - 1), "id")) != NULL)
			next = json_incref(t);
	}
	/* The stored milliseconds as RFC 3339, as every time of the API. */
	json_array_foreach(items, i, o) {
		t = json_object_get(o, "time");
		if (json_is_string(t) && parse_u64(json_string_value(t),
		    json_string_length(t), &ms) == 0) {
			json_object_del(o, "time");
			api_set_time(o, "time", ms);
		}
	}
	api_json(r, 200, json_pack("{s:o, s:o}", "items", items,
	    "next_cursor", next));
}

void
api_users(struct api_req *r)
{
	if (r->nseg == 2 && r->method == HTTP_POST)
		user_create(r);
	else if (r->nseg == 2)
		user_list(r);
	else if (r->nseg == 4)
		user_totp(r);
	else
		user_delete(r);
}

/* ------------------------------------------------------------ sessions */

static void
too_many(struct api_req *r)
{
	char	headers[64];

	snprintf(headers, sizeof(headers), "Retry-After: %d\r\n",
	    THROTTLE_WINDOW_MS / 1000);
	api_json_headers(r, 429, headers, json_pack("{s:{s:s, s:s}}",
	    "error", "code", "too_many_attempts", "message", "too many failed "
	    "logins; try again later"));
}

static void
invalid_credentials(struct api_req *r, const char *code, const char *msg)
{
	api_error(r, 401, code, "%s", msg);
}

/* The checks of a login, in this order: the throttle, the password
 * (against a dummy hash for an unknown email), the second factor. */
static void
session_create(struct api_req *r)
{
	static const char *const fields[] = { "email", "password", "totp",
	    NULL };
	const struct config *conf = r->a->conf;
	struct throttle	*t = r->a->login_throttle;
	struct throttle	*tc = r->a->client_throttle;
	struct user_rec	 u;
	char		 email[FF_EMAIL_MAX + 1];
	char		 token[SESSION_TOKEN_HEX + 1], hash[SESSION_TOKEN_HEX + 1];
	char		 csrf[SESSION_CSRF_HEX + 1], headers[256], step[24];
	uint8_t		 secret[TOTP_SECRET_LEN];
	json_t		*body = NULL;
	const char	*pw, *code;
	uint64_t	 now = now_ms(), matched = 0;
	size_t		 pwlen;
	int		 found, good, n;

	memset(&u, 0, sizeof(u));
	if (api_body_object(r, &body) == -1 ||
	    api_check_fields(r, body, fields) == -1)
		goto done;
	pw = json_string_value(json_object_get(body, "password"));
	pwlen = pw != NULL ? json_string_length(json_object_get(body,
	    "password")) : 0;
	if (login_email(json_string_value(json_object_get(body, "email")),
	    email) == -1 || pw == NULL || pwlen > PASSWORD_MAX) {
		api_error(r, 400, "invalid_body", "'email' and 'password' are "
		    "required");
		goto done;
	}
	if (throttle_blocked(t, email, mono_ms()) ||
	    throttle_blocked(tc, r->client, mono_ms())) {
		too_many(r);
		goto done;
	}
	if ((found = store_user_by_email(r->db, email, &u)) == -1) {
		api_unavailable(r);
		goto done;
	}
	/* A user of a tenant being deleted is answered as an unknown one
	 * (the same work, the same bytes). */
	if (found && (n = store_tenant_state(r->db, u.tenant)) != TENANT_ACTIVE) {
		if (n == -1) {
			api_unavailable(r);
			goto done;
		}
		store_user_rec_free(&u);
		found = 0;
	}
	pthread_once(&dummy_once, dummy_make);
	good = crypto_pwhash_str_verify(found ? u.hash : dummy_hash, pw,
	    pwlen) == 0 && found;
	if (!good) {
		throttle_fail(t, email, mono_ms());
		throttle_fail(tc, r->client, mono_ms());
		if (found)
			api_user_audit(r, u.tenant, "login_failed", u.id);
		invalid_credentials(r, "invalid_credentials", "wrong email or "
		    "password");
		goto done;
	}
	if (u.totp != NULL) {
		code = json_string_value(json_object_get(body, "totp"));
		if (code == NULL) {
			invalid_credentials(r, "totp_required", "this account "
			    "needs its one-time code in 'totp'");
			goto done;
		}
		/* A code already used (its step or an earlier one) is a
		 * replay. */
		if ((n = totp_base32_decode(u.totp, secret,
		    sizeof(secret))) <= 0 || !totp_verify(secret, (size_t)n,
		    now / 1000, code, &matched) || matched <= u.totp_step) {
			throttle_fail(t, email, mono_ms());
			throttle_fail(tc, r->client, mono_ms());
			api_user_audit(r, u.tenant, "login_failed", u.id);
			invalid_credentials(r, "invalid_totp", "wrong one-time "
			    "code");
			goto done;
		}
		snprintf(step, sizeof(step), "%llu",
		    (unsigned long long)matched);
		if (store_user_set(r->db, u.tenant, u.id, "totp_step", step) ==
		    -1) {
			api_unavailable(r);
			goto done;
		}
	}
	throttle_clear(t, email);
	api_random_hex(token, SESSION_TOKEN_BYTES);
	api_random_hex(csrf, SESSION_CSRF_HEX / 2);
	api_sha256_hex(token, hash);
	if (store_session_create(r->db, u.tenant, hash, u.id, csrf,
	    now + (uint64_t)conf->session_lifetime_s * 1000,
	    (uint64_t)conf->session_idle_s * 1000) == -1) {
		api_unavailable(r);
		goto done;
	}
	r->user = u.id;		/* the actor of the audit record */
	api_user_audit(r, u.tenant, "login", u.id);
	snprintf(headers, sizeof(headers), "Set-Cookie: " SESSION_COOKIE
	    "=%llu.%s; HttpOnly; SameSite=Strict; Path=/%s\r\n"
	    "Cache-Control: no-store\r\n", (unsigned long long)u.tenant, token,
	    cookie_secure(r));
	api_json_headers(r, 200, headers, json_pack("{s:o, s:o, s:s, s:s}",
	    "user", id_json(u.id), "tenant", id_json(u.tenant), "role",
	    u.role, "csrf_token", csrf));
done:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(headers, sizeof(headers));
	store_user_rec_free(&u);
	json_decref(body);	/* the password's copy: jansson's to free */
}

static void
session_delete(struct api_req *r)
{
	char	headers[160];

	/* The row lets anyone in (a login's): the session of the cookie,
	 * with its CSRF token, is checked here. */
	if (!api_session_auth(r))
		return;
	if (store_session_delete(r->db, r->tenant, r->session) == -1) {
		api_unavailable(r);
		return;
	}
	api_user_audit(r, r->tenant, "logout", r->user);
	snprintf(headers, sizeof(headers), "Set-Cookie: " SESSION_COOKIE
	    "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s\r\n",
	    cookie_secure(r));
	api_json_headers(r, 204, headers, NULL);
}

/*
 * GET /v1/session: who the session cookie is, for the app to restore a
 * login on page load (the cookie is HttpOnly: the page cannot read it).
 * The same check as any call made with the session, so it extends the
 * idle time as any of them does, and nothing else.  A key is no
 * session: 401 no_session, as for a missing or expired cookie.
 */
static void
session_info(struct api_req *r)
{
	struct user_rec	 u;
	char		 csrf[SESSION_CSRF_HEX + 1];
	int		 rc;

	memset(&u, 0, sizeof(u));
	if (r->auth != NULL) {
		api_error(r, 401, "no_session", "an API key is no session; "
		    "log in with POST /v1/session");
		return;
	}
	if (!session_check(r, "no_session", csrf))
		return;
	if ((rc = store_user_get(r->db, r->tenant, r->user, &u)) != 1) {
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 401, "no_session", "the session's user is "
			    "gone");
		return;
	}
	api_json_headers(r, 200, "Cache-Control: no-store\r\n",
	    json_pack("{s:o, s:o, s:s, s:s, s:s}", "user", id_json(u.id),
	    "tenant", id_json(r->tenant), "role", u.role, "email", u.email,
	    "csrf_token", csrf));
	store_user_rec_free(&u);
	sodium_memzero(csrf, sizeof(csrf));
}

void
api_session(struct api_req *r)
{
	if (r->method == HTTP_POST)
		session_create(r);
	else if (r->method == HTTP_GET)
		session_info(r);
	else
		session_delete(r);
}
