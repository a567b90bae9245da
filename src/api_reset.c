/*
 * api_reset.c: password resets by a mailed link (API.md part 2, "Users
 * and sessions"; README.md "Password reset"):
 *   POST /v1/password_reset          {"email"}     202, whoever it is
 *   POST /v1/password_reset/T.TOKEN  {"password"}  200, or 404
 *
 * Nobody is authenticated here (the routes are API_AUTH_LOGIN: a small
 * body, on a worker).  The request answers the same bytes whether the
 * address is a user's or not, so nobody learns who has an account; it
 * is throttled per address and per client in memory (session.c's
 * throttle, as logins are), never in Redis.  Its answer does not wait
 * for the address's lookup: that and the mail are a job of their own on
 * the API's storage threads (api_pool.c), run after the answer, so the
 * request takes the same time for anyone.  For a user of an active
 * tenant the job makes a token (32 random bytes; Redis holds only its
 * SHA-256, store_reset.h) living password_reset_ttl, and mails the link
 * APP_URL/dashboard/#/reset/T.TOKEN through the tenant's hidden account
 * campaign (store_sysmail.h): the senders, DKIM, the tenant's relay,
 * like every mail.  The link is in the queued mail's record only until
 * the sender has sent it (store_sysmail_forget), and never longer than
 * the link lives.  A reset mail is transactional: an opted-out or
 * complaining address still gets it (the account holder asked), a
 * bounced, blocklisted or special-category one does not.
 *
 * The link's use takes the token (once: its DEL decides), writes the
 * new password's argon2id hash and ends every session of the user.
 * Both steps are audited ("password_reset_requested" by "anonymous",
 * "password_reset" by the user).  A token is never logged.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "session.h"
#include "store_reset.h"
#include "store_sysmail.h"
#include "store_tenant.h"
#include "store_user.h"

#define RESET_TOKEN_BYTES	32
#define RESET_TOKEN_HEX		(2 * RESET_TOKEN_BYTES)
#define RESET_THROTTLE_SLOTS	4096
#define RESET_PER_ADDRESS	3	/* requests an address may make */
#define RESET_PER_CLIENT	20	/* requests a client may make */
#define RESET_WINDOW_MS		(15 * 60 * 1000)
#define RESET_URL_MAX		512

/* The account campaign's hidden template (store_sysmail.h): the link
 * and its life are the mail's attributes. */
static const char reset_subject[] = "Reset your password";
static const char reset_text[] =
    "Someone asked to reset the password of the login {{email}}.\n"
    "\n"
    "To choose a new password, open this link within "
    "{{attributes.valid_for}}:\n"
    "\n"
    "{{attributes.reset_url}}\n"
    "\n"
    "The link works once.  If you did not ask for it, ignore this "
    "mail: your password stays as it is.\n";
static const char reset_html[] =
    "<!DOCTYPE html><html><body>"
    "<p>Someone asked to reset the password of the login {{email}}.</p>"
    "<p>To choose a new password, open this link within "
    "{{attributes.valid_for}}:</p>"
    "<p><a href=\"{{attributes.reset_url}}\">{{attributes.reset_url}}"
    "</a></p>"
    "<p>The link works once. If you did not ask for it, ignore this "
    "mail: your password stays as it is.</p>"
    "</body></html>";

void
api_reset_init(struct api *a)
{
	a->reset_throttle = throttle_new(RESET_THROTTLE_SLOTS,
	    RESET_PER_ADDRESS, RESET_WINDOW_MS);
	a->reset_client_throttle = throttle_new(RESET_THROTTLE_SLOTS,
	    RESET_PER_CLIENT, RESET_WINDOW_MS);
}

void
api_reset_free(struct api *a)
{
	throttle_free(a->reset_throttle);
	throttle_free(a->reset_client_throttle);
	a->reset_throttle = a->reset_client_throttle = NULL;
}

/* The app's address, no trailing slash: app_url, else the API's own
 * (http://HOST:PORT of api_listen; public_url for a unix socket). */
static void
app_url(const struct config *conf, char *out, size_t len)
{
	const struct ff_endpoint *e = &conf->api_listen;

	if (conf->app_url != NULL)
		snprintf(out, len, "%s", conf->app_url);
	else if (e->host == NULL)
		snprintf(out, len, "%s", conf->public_url);
	else if (strchr(e->host, ':') != NULL)
		snprintf(out, len, "http://[%s]:%d", e->host, e->port);
	else
		snprintf(out, len, "http://%s:%d", e->host, e->port);
}

/* "1 hour", "15 minutes", "30 seconds": the link's life, in words. */
static void
valid_for(int secs, char *out, size_t len)
{
	const char	*unit = "second";
	int		 n = secs;

	if (secs % 3600 == 0) {
		n = secs / 3600;
		unit = "hour";
	} else if (secs % 60 == 0) {
		n = secs / 60;
		unit = "minute";
	}
	snprintf(out, len, "%d %s%s", n, unit, n == 1 ? "" : "s");
}

/* Makes the token and queues the mail for u: 0, or -1 (logged). */
static int
reset_mail(struct db *db, const struct config *conf, const struct user_rec *u)
{
	struct sysmail_spec	 spec;
	struct sysmail_to	 to;
	char			 token[RESET_TOKEN_HEX + 1];
	char			 hash[RESET_TOKEN_HEX + 1];
	char			 base[RESET_URL_MAX], url[RESET_URL_MAX + 96];
	char			 life[32], addr[FF_EMAIL_MAX + 1];
	char			 key[FF_EMAIL_MAX + 1];
	char			*from = NULL, *attrs = NULL;
	uint64_t		 now = now_ms(), camp, id;
	json_t			*o;
	int			 rc = -1;

	switch (api_sysmail_from(db, conf, u->tenant, &from)) {
	case -1:
		goto out;
	case 0:
		log_warnx("tenant %llu: no password reset mail for user %llu: "
		    "the tenant has no verified sending domain and "
		    "system_from is not set", (unsigned long long)u->tenant,
		    (unsigned long long)u->id);
		goto out;
	}
	if (validate_email(u->email, strlen(u->email), addr, key) == -1)
		goto out;
	api_random_hex(token, RESET_TOKEN_BYTES);
	api_sha256_hex(token, hash);
	if (store_reset_create(db, u->tenant, hash, u->id, now,
	    (uint64_t)conf->password_reset_ttl_s * 1000) == -1)
		goto out;
	app_url(conf, base, sizeof(base));
	snprintf(url, sizeof(url), "%s/dashboard/#/reset/%llu.%s", base,
	    (unsigned long long)u->tenant, token);
	valid_for(conf->password_reset_ttl_s, life, sizeof(life));
	o = json_pack("{s:s, s:s}", "reset_url", url, "valid_for", life);
	attrs = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	memset(&spec, 0, sizeof(spec));
	spec.name = "account";
	spec.kind = "account";
	spec.from = from;
	spec.subject = reset_subject;
	spec.html = reset_html;
	spec.text = reset_text;
	memset(&to, 0, sizeof(to));
	to.email = addr;
	to.key = key;
	to.attributes = attrs;
	to.transactional = 1;
	to.ttl_s = conf->password_reset_ttl_s;
	if (attrs == NULL || store_sysmail_campaign(db, u->tenant, &spec, now,
	    &camp) == -1 || store_sysmail_queue(db, u->tenant, camp, &to,
	    &id) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		log_warnx("tenant %llu: password reset mail of user %llu not "
		    "queued", (unsigned long long)u->tenant,
		    (unsigned long long)u->id);
	sodium_memzero(token, sizeof(token));
	sodium_memzero(url, sizeof(url));
	if (attrs != NULL)
		sodium_memzero(attrs, strlen(attrs));
	free(attrs);
	free(from);
	return rc;
}

/* The work of a request, after its answer (reset_request says why). */
struct reset_job {
	struct api_job		 job;	/* first: the pool's handle */
	const struct config	*conf;	/* the process's */
	char			 email[FF_EMAIL_MAX + 1];
};

static void
reset_job_run(struct api_job *job, struct db *db)
{
	struct reset_job	*j = (struct reset_job *)job;
	struct user_rec		 u;
	int			 found;

	memset(&u, 0, sizeof(u));
	if ((found = store_user_by_email(db, j->email, &u)) == -1)
		log_warnx("password reset: redis failed; a request was "
		    "dropped");
	if (found == 1 && store_tenant_state(db, u.tenant) == TENANT_ACTIVE &&
	    reset_mail(db, j->conf, &u) == 0 && store_user_audit(db,
	    u.tenant, "anonymous", "password_reset_requested", u.id) == -1)
		log_warnx("tenant %llu: audit record of "
		    "password_reset_requested (user %llu) not written",
		    (unsigned long long)u.tenant, (unsigned long long)u.id);
	store_user_rec_free(&u);
}

/* On the main thread, run or cancelled (a shutdown). */
static void
reset_job_done(struct api_job *job)
{
	free(job);
}

/* POST /v1/password_reset: the same 202 for anyone, but a 429. */
static void
reset_request(struct api_req *r)
{
	static const char *const fields[] = { "email", NULL };
	struct throttle	*t = r->a->reset_throttle;
	struct throttle	*tc = r->a->reset_client_throttle;
	struct reset_job *j;
	char		 addr[FF_EMAIL_MAX + 1], email[FF_EMAIL_MAX + 1];
	char		 headers[64];
	json_t		*body = NULL;
	const char	*in;

	if (api_body_object(r, &body) == -1 ||
	    api_check_fields(r, body, fields) == -1)
		goto done;
	in = json_string_value(json_object_get(body, "email"));
	if (in == NULL || strlen(in) > USER_EMAIL_MAX ||
	    validate_email(in, strlen(in), addr, email) == -1) {
		api_error(r, 400, "invalid_body", "'email' must be an email "
		    "address");
		goto done;
	}
	if (throttle_blocked(t, email, mono_ms()) ||
	    throttle_blocked(tc, r->client, mono_ms())) {
		snprintf(headers, sizeof(headers), "Retry-After: %d\r\n",
		    RESET_WINDOW_MS / 1000);
		api_json_headers(r, 429, headers, json_pack("{s:{s:s, s:s}}",
		    "error", "code", "too_many_attempts", "message", "too many "
		    "password resets asked; try again later"));
		goto done;
	}
	/* Every request counts, known address or not. */
	throttle_fail(t, email, mono_ms());
	throttle_fail(tc, r->client, mono_ms());
	/* The lookup and the mail after the answer, in a job of their own:
	 * the request does the same work whoever asks, so neither its
	 * bytes nor its time tell an account from none. */
	j = xcalloc(1, sizeof(*j));
	j->job.run = reset_job_run;
	j->job.done = reset_job_done;
	j->job.patient = 1;
	j->conf = r->a->conf;
	memcpy(j->email, email, sizeof(j->email));
	if (api_pool_submit(r->a->pool, &j->job) == -1) {
		free(j);
		api_busy(r, "too many requests queued");
		goto done;
	}
	api_json(r, 202, json_pack("{s:s}", "status", "accepted"));
done:
	json_decref(body);
}

/* "T.HEX": the tenant and the token (RESET_TOKEN_HEX + 1 bytes): 0, -1. */
static int
token_parse(const char *s, uint64_t *tenant, char *token)
{
	const char	*dot = strchr(s, '.');
	size_t		 i;

	if (dot == NULL || parse_u64(s, (size_t)(dot - s), tenant) == -1 ||
	    *tenant == 0 || strlen(dot + 1) != RESET_TOKEN_HEX)
		return -1;
	for (i = 0; i < RESET_TOKEN_HEX; i++)
		if (strchr("0123456789abcdef", dot[1 + i]) == NULL ||
		    dot[1 + i] == '\0')
			return -1;
	memcpy(token, dot + 1, RESET_TOKEN_HEX + 1);
	return 0;
}

/* POST /v1/password_reset/T.TOKEN {"password"}. */
static void
reset_confirm(struct api_req *r)
{
	static const char *const fields[] = { "password", NULL };
	struct user_rec	 u;
	char		 token[RESET_TOKEN_HEX + 1], hash[RESET_TOKEN_HEX + 1];
	char		 pwhash[crypto_pwhash_STRBYTES], idbuf[24];
	json_t		*body = NULL;
	uint64_t	 tenant, user;
	long long	 ended = 0;
	int		 rc;

	memset(&u, 0, sizeof(u));
	memset(token, 0, sizeof(token));
	memset(pwhash, 0, sizeof(pwhash));
	if (api_body_object(r, &body) == -1 ||
	    api_check_fields(r, body, fields) == -1)
		goto done;
	/* A weak password first: it must not use the link up. */
	if (api_password_check(r, body) == -1)
		goto done;
	if (token_parse(r->seg[2], &tenant, token) == -1)
		goto invalid;
	api_sha256_hex(token, hash);
	if ((rc = store_reset_take(r->db, tenant, hash, now_ms(), &user)) ==
	    -1) {
		api_unavailable(r);
		goto done;
	}
	if (rc == 0)
		goto invalid;
	if ((rc = store_user_get(r->db, tenant, user, &u)) == -1) {
		api_unavailable(r);
		goto done;
	}
	if (rc == 0 || store_tenant_state(r->db, tenant) != TENANT_ACTIVE)
		goto invalid;
	if (api_password_hash(r, body, pwhash) == -1)
		goto done;
	/* The password first, then the sessions: a login between the two
	 * needs the new one. */
	if (store_user_set(r->db, tenant, user, "hash", pwhash) == -1 ||
	    store_user_sessions_end(r->db, tenant, user, &ended) == -1) {
		api_unavailable(r);
		goto done;
	}
	throttle_clear(r->a->login_throttle, u.email);
	r->tenant = tenant;
	r->user = user;		/* the link's holder acts as the user */
	api_user_audit(r, tenant, "password_reset", user);
	snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)user);
	api_json(r, 200, json_pack("{s:s, s:I}", "user", idbuf,
	    "sessions_ended", (json_int_t)ended));
	goto done;
invalid:
	api_error(r, 404, "invalid_token", "the reset link is unknown, used "
	    "or expired; ask for a new one");
done:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(pwhash, sizeof(pwhash));
	store_user_rec_free(&u);
	json_decref(body);
}

void
api_password_reset(struct api_req *r)
{
	if (r->nseg == 2)
		reset_request(r);
	else
		reset_confirm(r);
}
