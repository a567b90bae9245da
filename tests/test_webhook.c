/*
 * test_webhook.c: src/webhook.c, the pure part of webhooks: the URL
 * check, the bodies of POST and PATCH, the Fanfare-Signature header
 * (against OpenSSL's command-line HMAC of the same bytes), the retry
 * schedule.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fanfare.h"
#include "webhook.h"

static int
url_ok(const char *url, struct webhook_url *u)
{
	const char	*why;

	return webhook_url_check(url, u, &why);
}

Test(webhook, url_accepted)
{
	struct webhook_url	u;

	cr_assert_eq(url_ok("https://Hooks.Example.com/in?x=1", &u), 0);
	cr_assert_str_eq(u.host, "hooks.example.com");
	cr_assert_eq(u.port, 443);
	cr_assert_eq(u.https, 1);
	cr_assert_eq(url_ok("http://127.0.0.1:8080/", &u), 0);
	cr_assert_str_eq(u.host, "127.0.0.1");
	cr_assert_eq(u.port, 8080);
	cr_assert_eq(u.https, 0);
	cr_assert_eq(url_ok("http://[::1]:9/x", &u), 0);
	cr_assert_str_eq(u.host, "::1");
	cr_assert_eq(u.port, 9);
	cr_assert_eq(url_ok("HTTP://example.com", &u), 0);
	cr_assert_eq(u.port, 80);
}

Test(webhook, url_refused)
{
	static const char *const bad[] = {
		"", "example.com/x", "ftp://example.com/", "file:///etc/passwd",
		"gopher://example.com/", "http:/example.com", "http://",
		"http:///x", "https://user:pw@example.com/",
		"https://user@example.com/", "https://example.com/#frag",
		"http://exa mple.com/", "http://example.com/\n",
		"http://example.com:0/", "http://example.com:65536/",
		"http://example.com:x/", "javascript:alert(1)",
		"http://[fe80::1%25eth0]/", "dict://example.com:11211/",
		"http://ex\xc3\xa4mple.com/",
	};
	struct webhook_url	u;
	char			long_url[WEBHOOK_URL_MAX + 20];
	size_t			i;

	for (i = 0; i < FF_NELEM(bad); i++)
		cr_assert_eq(url_ok(bad[i], &u), -1, "accepted %s", bad[i]);
	memset(long_url, 'a', sizeof(long_url) - 1);
	memcpy(long_url, "http://x.com/", 13);
	long_url[sizeof(long_url) - 1] = '\0';
	cr_assert_eq(url_ok(long_url, &u), -1);
	cr_assert_eq(url_ok(NULL, &u), -1);
}

static int
check(const char *text, int create, struct webhook_input *in,
    struct webhook_problem *p)
{
	json_t	*body = json_loads(text, 0, NULL);
	int	 rc;

	cr_assert_not_null(body, "%s", text);
	rc = webhook_input_check(body, create, in, p);
	json_decref(body);
	return rc;
}

Test(webhook, bodies)
{
	struct webhook_input	in;
	struct webhook_problem	p;

	cr_assert_eq(check("{\"url\": \"https://a.example/\"}", 1, &in, &p),
	    0);
	cr_assert_eq(in.mask, EVENT_ALL_TYPES);
	cr_assert_eq(check("{\"url\": \"https://a.example/\", \"events\": "
	    "[\"opened\", \"clicked\", \"opened\"]}", 1, &in, &p), 0);
	cr_assert_eq(in.mask, (1u << EVENT_OPENED) | (1u << EVENT_CLICKED));
	cr_assert_eq(check("{\"events\": [\"sent\"]}", 1, &in, &p), -1);
	cr_assert_str_eq(p.code, "invalid_url");
	cr_assert_eq(check("{\"url\": \"https://a.example/\", \"events\": []}",
	    1, &in, &p), -1);
	cr_assert_str_eq(p.code, "invalid_events");
	cr_assert_eq(check("{\"url\": \"https://a.example/\", \"events\": "
	    "[\"opened\", \"read\"]}", 1, &in, &p), -1);
	cr_assert_str_eq(p.code, "invalid_events");
	cr_assert_eq(check("{\"url\": \"https://a.example/\", \"secret\": "
	    "\"x\"}", 1, &in, &p), -1);
	cr_assert_str_eq(p.code, "unknown_field");
	cr_assert_eq(p.status, 400);
	/* status is PATCH's only. */
	cr_assert_eq(check("{\"url\": \"https://a.example/\", \"status\": "
	    "\"active\"}", 1, &in, &p), -1);
	cr_assert_eq(check("{\"status\": \"active\"}", 0, &in, &p), 0);
	cr_assert_eq(in.enabled, 1);
	cr_assert_null(in.url);
	cr_assert_eq(in.mask, 0);
	cr_assert_eq(check("{\"status\": \"on\"}", 0, &in, &p), -1);
	cr_assert_str_eq(p.code, "invalid_status");
	cr_assert_eq(check("{\"url\": 3}", 0, &in, &p), -1);
	cr_assert_str_eq(p.code, "invalid_url");
	cr_assert_eq(check("[]", 0, &in, &p), -1);
	cr_assert_eq(p.status, 400);
}

/* The same HMAC by openssl(1), on the same "t.body" bytes. */
static void
openssl_hmac(const char *secret, const char *msg, char *hex, size_t len)
{
	char	 cmd[512], path[] = "/tmp/ff-test-webhook-XXXXXX";
	FILE	*f;
	int	 fd;

	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_eq(write(fd, msg, strlen(msg)), (ssize_t)strlen(msg));
	close(fd);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -hmac '%s' -r %s",
	    secret, path);
	cr_assert_not_null(f = popen(cmd, "r"));
	cr_assert_not_null(fgets(hex, (int)len, f));
	pclose(f);
	unlink(path);
	hex[64] = '\0';
}

Test(webhook, signature)
{
	const char	*secrets[3] = { "whsec_new", "whsec_old", "x" };
	const char	*body = "{\"events\":[{\"id\":\"a\"}]}";
	char		 sig[WEBHOOK_SIG_MAX], want[512];
	char		 h1[128], h2[128];

	openssl_hmac("whsec_new", "1700000000.{\"events\":[{\"id\":\"a\"}]}",
	    h1, sizeof(h1));
	openssl_hmac("whsec_old", "1700000000.{\"events\":[{\"id\":\"a\"}]}",
	    h2, sizeof(h2));
	cr_assert_eq(webhook_signature(sig, sizeof(sig), 1700000000, secrets,
	    1, body, strlen(body)), 0);
	snprintf(want, sizeof(want), "t=1700000000,v1=%s", h1);
	cr_assert_str_eq(sig, want);
	cr_assert_eq(webhook_signature(sig, sizeof(sig), 1700000000, secrets,
	    2, body, strlen(body)), 0);
	snprintf(want, sizeof(want), "t=1700000000,v1=%s,v1=%s", h1, h2);
	cr_assert_str_eq(sig, want);
	/* Another body, another time: another MAC. */
	cr_assert_eq(webhook_signature(sig, sizeof(sig), 1700000001, secrets,
	    1, body, strlen(body)), 0);
	cr_assert(strstr(sig, h1) == NULL);
	cr_assert_eq(webhook_signature(sig, sizeof(sig), 1, secrets, 0, body,
	    strlen(body)), -1);
	cr_assert_eq(webhook_signature(sig, sizeof(sig), 1, secrets, 3, body,
	    strlen(body)), -1);
	cr_assert_eq(webhook_signature(sig, 10, 1, secrets, 1, body,
	    strlen(body)), -1);
}

Test(webhook, backoff)
{
	uint64_t	base = 10000, max = 3600000, total = 0;
	int		i;

	cr_assert_eq(webhook_backoff_ms(1, base, max), 10000);
	cr_assert_eq(webhook_backoff_ms(2, base, max), 20000);
	cr_assert_eq(webhook_backoff_ms(3, base, max), 40000);
	cr_assert_eq(webhook_backoff_ms(9, base, max), 2560000);
	cr_assert_eq(webhook_backoff_ms(10, base, max), 3600000);
	cr_assert_eq(webhook_backoff_ms(1000000, base, max), 3600000);
	cr_assert_eq(webhook_backoff_ms(0, base, max), 10000);
	/* With the defaults, 24 h of failures take about 30 attempts: the
	 * schedule never gives up before webhook_disable_after. */
	for (i = 1; total < 24ull * 3600000; i++)
		total += webhook_backoff_ms(i, base, max);
	cr_assert(i > 20 && i < 40, "%d attempts", i);
}

Test(webhook, types)
{
	json_t	*a;

	a = webhook_types_json((1u << EVENT_SENT) | (1u << EVENT_CLICKED));
	cr_assert_eq(json_array_size(a), 2);
	cr_assert_str_eq(json_string_value(json_array_get(a, 0)), "sent");
	cr_assert_str_eq(json_string_value(json_array_get(a, 1)), "clicked");
	json_decref(a);
	a = webhook_types_json(EVENT_ALL_TYPES);
	cr_assert_eq(json_array_size(a), EVENT_NTYPES);
	json_decref(a);
}

Test(webhook, aad)
{
	char	a[64], b[64];

	webhook_secret_aad(a, sizeof(a), 1, 2);
	webhook_secret_aad(b, sizeof(b), 12, 2);
	cr_assert_str_neq(a, b);
}

Test(webhook, event_id)
{
	const char	*p;
	size_t		 len = 0;

	p = webhook_event_id("{\"id\":\"trk:1:17-0:3\",\"email\":null}", &len);
	cr_assert_not_null(p);
	cr_assert_eq(len, strlen("trk:1:17-0:3"));
	cr_assert_eq(memcmp(p, "trk:1:17-0:3", len), 0);
	p = webhook_event_id("{\"id\":\"\"}", &len);
	cr_assert_not_null(p);
	cr_assert_eq(len, 0);
	/* Anything else is left to a JSON parser. */
	cr_assert_null(webhook_event_id(NULL, &len));
	cr_assert_null(webhook_event_id("", &len));
	cr_assert_null(webhook_event_id("{\"email\":\"a\",\"id\":\"x\"}", &len));
	cr_assert_null(webhook_event_id("{\"id\": \"x\"}", &len));
	cr_assert_null(webhook_event_id("{\"id\":1}", &len));
	cr_assert_null(webhook_event_id("{\"id\":\"a\\\"b\"}", &len));
	cr_assert_null(webhook_event_id("{\"id\":\"a\nb\"}", &len));
	cr_assert_null(webhook_event_id("{\"id\":\"abc", &len));
}
