/*
 * webhook.c: a tenant's webhook endpoints, the pure part (webhook.h):
 * the checks of POST and PATCH /v1/webhooks, the signature, the retry
 * schedule.  No Redis, no network: libcurl's URL API parses (it opens
 * nothing), OpenSSL's HMAC signs.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>

#include "fanfare.h"
#include "webhook.h"

json_t *
webhook_types_json(unsigned mask)
{
	json_t	*a = json_array();
	int	 i;

	for (i = 0; i < EVENT_NTYPES; i++)
		if (mask & (1u << i))
			json_array_append_new(a, json_string(
			    event_type_name((enum event_type)i)));
	return a;
}

/* Printable ASCII without a space: what a URL's bytes may be. */
static int
url_bytes_ok(const char *url, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (url[i] <= ' ' || url[i] >= 0x7f)
			return 0;
	return 1;
}

/* A part libcurl has: 1 when set (and freed), 0 when not. */
static int
url_has(CURLU *h, CURLUPart part)
{
	char	*v = NULL;
	int	 has;

	has = curl_url_get(h, part, &v, 0) == CURLUE_OK && v != NULL &&
	    v[0] != '\0';
	curl_free(v);
	return has;
}

int
webhook_url_check(const char *url, struct webhook_url *u, const char **why)
{
	CURLU		*h = NULL;
	char		*scheme = NULL, *host = NULL, *port = NULL;
	const char	*hs;
	size_t		 len, hl, i;
	long		 p;
	int		 rc = -1;

	memset(u, 0, sizeof(*u));
	*why = "url: an absolute http:// or https:// URL";
	if (url == NULL || (len = strlen(url)) == 0)
		return -1;
	if (len > WEBHOOK_URL_MAX) {
		*why = "url: at most 2048 bytes";
		return -1;
	}
	if (!url_bytes_ok(url, len)) {
		*why = "url: printable ASCII without spaces (percent-encode "
		    "the rest)";
		return -1;
	}
	/* "http:x" and the like must not be read as a relative URL. */
	if (strncasecmp(url, "http://", 7) == 0)
		i = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		i = 8;
	else
		return -1;
	/* libcurl reads "http:///x" as host x: no host is no host. */
	if (url[i] == '/' || url[i] == '\\')
		return -1;
	if ((h = curl_url()) == NULL)
		goto out;
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		goto out;
	u->https = strcmp(scheme, "https") == 0;
	if (url_has(h, CURLUPART_USER) || url_has(h, CURLUPART_PASSWORD) ||
	    url_has(h, CURLUPART_OPTIONS)) {
		*why = "url: no user name or password in it (the URL is "
		    "shown by GET; the signature authenticates Fanfare)";
		goto out;
	}
	if (url_has(h, CURLUPART_FRAGMENT)) {
		*why = "url: no #fragment (it is never sent)";
		goto out;
	}
	if (url_has(h, CURLUPART_ZONEID)) {
		*why = "url: no IPv6 zone id";
		goto out;
	}
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		*why = "url: a host is needed";
		goto out;
	}
	hs = host;
	hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		hs++;
		hl -= 2;
	}
	if (hl == 0 || hl > WEBHOOK_HOST_MAX) {
		*why = "url: a host of at most 255 bytes";
		goto out;
	}
	for (i = 0; i < hl; i++)
		u->host[i] = (char)tolower((unsigned char)hs[i]);
	u->host[hl] = '\0';
	if (curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK || (p = strtol(port, NULL, 10)) < 1 || p > 65535) {
		*why = "url: a port from 1 to 65535";
		goto out;
	}
	u->port = (int)p;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(h);
	return rc;
}

static int
problem(struct webhook_problem *p, int status, const char *code,
    const char *message)
{
	p->status = status;
	p->code = code;
	p->message = message;
	return -1;
}

/* "events": a non-empty array of distinct known names; 0 or -1. */
static int
events_parse(json_t *v, unsigned *mask, struct webhook_problem *p)
{
	json_t		*e;
	size_t		 i;
	const char	*s;
	enum event_type	 t;

	*mask = 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return problem(p, 422, "invalid_events", "events: a non-empty "
		    "array of sent, bounced, complained, opened, clicked, "
		    "unsubscribed, subscribed");
	json_array_foreach(v, i, e) {
		if ((s = json_string_value(e)) == NULL ||
		    event_type_parse(s, json_string_length(e), &t) == -1)
			return problem(p, 422, "invalid_events", "events: "
			    "each one of sent, bounced, complained, opened, "
			    "clicked, unsubscribed, subscribed");
		*mask |= 1u << t;
	}
	return 0;
}

int
webhook_input_check(json_t *body, int create, struct webhook_input *in,
    struct webhook_problem *p)
{
	static const char *const fields[] = { "url", "events", "status" };
	const char	*key, *s, *why;
	json_t		*v;
	size_t		 i;
	int		 known;

	memset(in, 0, sizeof(*in));
	in->enabled = -1;
	if (!json_is_object(body))
		return problem(p, 400, "invalid_body", "the body must be a "
		    "JSON object");
	json_object_foreach(body, key, v) {
		known = 0;
		for (i = 0; i < FF_NELEM(fields); i++)
			if (strcmp(key, fields[i]) == 0)
				known = create ? i < 2 : 1;
		if (!known)
			return problem(p, 400, "unknown_field", "unknown "
			    "field (url, events, and for PATCH status)");
	}
	if ((v = json_object_get(body, "url")) != NULL) {
		if ((s = json_string_value(v)) == NULL ||
		    strlen(s) != json_string_length(v))
			return problem(p, 422, "invalid_url", "url: a string");
		if (webhook_url_check(s, &in->parsed, &why) == -1)
			return problem(p, 422, "invalid_url", why);
		in->url = s;
	} else if (create)
		return problem(p, 422, "invalid_url", "url: required");
	if ((v = json_object_get(body, "events")) != NULL) {
		if (events_parse(v, &in->mask, p) == -1)
			return -1;
	} else if (create)
		in->mask = EVENT_ALL_TYPES;
	if ((v = json_object_get(body, "status")) != NULL) {
		s = json_string_value(v);
		if (s != NULL && strcmp(s, "active") == 0)
			in->enabled = 1;
		else if (s != NULL && strcmp(s, "disabled") == 0)
			in->enabled = 0;
		else
			return problem(p, 422, "invalid_status", "status: "
			    "\"active\" or \"disabled\"");
	}
	return 0;
}

int
webhook_signature(char *out, size_t outlen, uint64_t t,
    const char *const *secrets, int nsecrets, const char *body,
    size_t bodylen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	size_t		 maclen, used, tslen, j;
	char		 ts[24], digest[] = "SHA256";
	OSSL_PARAM	 params[2];
	EVP_MAC		*hmac = NULL;
	EVP_MAC_CTX	*ctx = NULL;
	int		 i, rc = -1;

	if (nsecrets < 1 || nsecrets > WEBHOOK_MAX_SECRETS ||
	    outlen < WEBHOOK_SIG_MAX)
		return -1;
	tslen = (size_t)snprintf(ts, sizeof(ts), "%llu",
	    (unsigned long long)t);
	used = (size_t)snprintf(out, outlen, "t=%s", ts);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		goto out;
	for (i = 0; i < nsecrets; i++) {
		EVP_MAC_CTX_free(ctx);
		if (secrets[i] == NULL || secrets[i][0] == '\0' ||
		    (ctx = EVP_MAC_CTX_new(hmac)) == NULL ||
		    EVP_MAC_init(ctx, (const unsigned char *)secrets[i],
		    strlen(secrets[i]), params) != 1 ||
		    EVP_MAC_update(ctx, (const unsigned char *)ts, tslen) != 1 ||
		    EVP_MAC_update(ctx, (const unsigned char *)".", 1) != 1 ||
		    EVP_MAC_update(ctx, (const unsigned char *)body,
		    bodylen) != 1 ||
		    EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) != 1)
			goto out;
		used += (size_t)snprintf(out + used, outlen - used, ",v1=");
		for (j = 0; j < maclen; j++)
			used += (size_t)snprintf(out + used, outlen - used,
			    "%02x", mac[j]);
	}
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(hmac);
	return rc;
}

uint64_t
webhook_backoff_ms(int attempt, uint64_t base_ms, uint64_t max_ms)
{
	uint64_t	wait = base_ms;

	/* Doubling past max, or 63 times, can only reach the cap. */
	while (--attempt > 0 && wait < max_ms)
		wait *= 2;
	return wait < max_ms ? wait : max_ms;
}

void
webhook_secret_aad(char *out, size_t len, uint64_t tenant, uint64_t id)
{
	snprintf(out, len, "fanfare-webhook:%llu:%llu",
	    (unsigned long long)tenant, (unsigned long long)id);
}

const char *
webhook_event_id(const char *json, size_t *len)
{
	static const char	 head[] = "{\"id\":\"";
	const char		*p, *id;

	if (json == NULL || strncmp(json, head, sizeof(head) - 1) != 0)
		return NULL;
	for (p = id = json + sizeof(head) - 1; *p != '"'; p++)
		if (*p == '\0' || *p == '\\' || (unsigned char)*p < 0x20)
			return NULL;
	*len = (size_t)(p - id);
	return id;
}
