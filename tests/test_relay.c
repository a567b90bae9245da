/*
 * test_relay.c: relay.c, what PUT /v1/relay accepts: host names and
 * IPv4 addresses (and what neither is), the port range, the starttls
 * enum, credentials that go together and only over STARTTLS required,
 * and the password's AAD naming its tenant.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "relay.h"

static int
host_ok(const char *h)
{
	char	out[RELAY_HOST_MAX + 1];

	return relay_host_check(h, out, sizeof(out)) == 0;
}

Test(host, names_and_addresses)
{
	char	out[RELAY_HOST_MAX + 1];
	char	long_label[80], long_name[300];

	cr_assert(host_ok("smtp.example.net"));
	cr_assert(host_ok("mail"));
	cr_assert(host_ok("127.0.0.1"));
	cr_assert(host_ok("10.0.0.255"));
	cr_assert(host_ok("a-b.c1.example."));
	cr_assert_eq(relay_host_check("SMTP.Example.NET.", out, sizeof(out)),
	    0);
	cr_assert_str_eq(out, "smtp.example.net");

	cr_assert(!host_ok(""));
	cr_assert(!host_ok(NULL));
	cr_assert(!host_ok("."));
	cr_assert(!host_ok("a..b"));
	cr_assert(!host_ok("h.."));	/* the fuzzer's: "h." was taken */
	cr_assert(!host_ok(".."));
	cr_assert(!host_ok("-a.example"));
	cr_assert(!host_ok("a-.example"));
	cr_assert(!host_ok("a_b.example"));
	cr_assert(!host_ok("smtp.example.net:25"));
	cr_assert(!host_ok("smtp example"));
	cr_assert(!host_ok("smtp\r\n.example"));
	cr_assert(!host_ok("::1"));
	cr_assert(!host_ok("[::1]"));
	cr_assert(!host_ok("256.1.1.1"));
	cr_assert(!host_ok("10.1"));
	cr_assert(!host_ok("1.2.3.4.5"));
	cr_assert(!host_ok("b\xc3\xa4r.example"));
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	cr_assert(!host_ok(long_label));
	long_label[63] = '\0';
	cr_assert(host_ok(long_label));
	memset(long_name, 'a', sizeof(long_name));
	for (size_t i = 50; i < sizeof(long_name); i += 50)
		long_name[i] = '.';
	long_name[254] = '\0';
	cr_assert(!host_ok(long_name));
	long_name[253] = '\0';
	cr_assert(host_ok(long_name));
	/* An output too small is a refusal, not an overflow. */
	cr_assert_eq(relay_host_check("smtp.example.net", out, 5), -1);
}

Test(starttls, names)
{
	cr_assert_eq(relay_starttls_parse("required"), SMTP_TLS_REQUIRED);
	cr_assert_eq(relay_starttls_parse("optional"), SMTP_TLS_OPTIONAL);
	cr_assert_eq(relay_starttls_parse("off"), SMTP_TLS_OFF);
	cr_assert_eq(relay_starttls_parse("Required"), -1);
	cr_assert_eq(relay_starttls_parse("on"), -1);
	cr_assert_eq(relay_starttls_parse(""), -1);
	cr_assert_eq(relay_starttls_parse(NULL), -1);
	cr_assert_str_eq(relay_starttls_name(SMTP_TLS_REQUIRED), "required");
	cr_assert_str_eq(relay_starttls_name(SMTP_TLS_OFF), "off");
}

static const char *
check(const char *host, long long port, const char *tls, const char *user,
    const char *pw, int keep)
{
	struct relay_input	in = { host, port, tls, user, pw, keep };
	struct relay_problem	p = { NULL, NULL };

	if (relay_check(&in, &p) == 0)
		return "ok";
	cr_assert_not_null(p.message);
	return p.code;
}

Test(check, whole)
{
	char	pw[300];

	cr_assert_str_eq(check("smtp.example.net", 587, "required", "u", "p",
	    0), "ok");
	cr_assert_str_eq(check("127.0.0.1", 25, "off", NULL, NULL, 0), "ok");
	cr_assert_str_eq(check("127.0.0.1", 25, "optional", NULL, NULL, 0),
	    "ok");
	cr_assert_str_eq(check("127.0.0.1", 1, "off", NULL, NULL, 0), "ok");
	cr_assert_str_eq(check("127.0.0.1", 65535, "off", NULL, NULL, 0),
	    "ok");
	/* A username whose stored password is kept. */
	cr_assert_str_eq(check("h.example", 587, "required", "u", NULL, 1),
	    "ok");

	cr_assert_str_eq(check(NULL, 25, "off", NULL, NULL, 0),
	    "invalid_host");
	cr_assert_str_eq(check("a b", 25, "off", NULL, NULL, 0),
	    "invalid_host");
	cr_assert_str_eq(check("h.example", 0, "off", NULL, NULL, 0),
	    "invalid_port");
	cr_assert_str_eq(check("h.example", 65536, "off", NULL, NULL, 0),
	    "invalid_port");
	cr_assert_str_eq(check("h.example", -25, "off", NULL, NULL, 0),
	    "invalid_port");
	cr_assert_str_eq(check("h.example", 25, "yes", NULL, NULL, 0),
	    "invalid_starttls");
	cr_assert_str_eq(check("h.example", 25, NULL, NULL, NULL, 0),
	    "invalid_starttls");
	cr_assert_str_eq(check("h.example", 25, "required", "", "p", 0),
	    "invalid_username");
	cr_assert_str_eq(check("h.example", 25, "required", "u\r\nRSET",
	    "p", 0), "invalid_username");
	cr_assert_str_eq(check("h.example", 25, "required", "u", "p\n", 0),
	    "invalid_password");
	memset(pw, 'x', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	cr_assert_str_eq(check("h.example", 25, "required", "u", pw, 0),
	    "invalid_password");
	pw[RELAY_CRED_MAX] = '\0';
	cr_assert_str_eq(check("h.example", 25, "required", "u", pw, 0),
	    "ok");
	cr_assert_str_eq(check("h.example", 25, "required", "u", NULL, 0),
	    "incomplete_credentials");
	cr_assert_str_eq(check("h.example", 25, "required", NULL, "p", 0),
	    "incomplete_credentials");
	cr_assert_str_eq(check("h.example", 25, "required", NULL, NULL, 1),
	    "incomplete_credentials");
	/* Never a password in clear, nor to whoever strips STARTTLS. */
	cr_assert_str_eq(check("h.example", 25, "optional", "u", "p", 0),
	    "credentials_need_tls");
	cr_assert_str_eq(check("h.example", 25, "off", "u", "p", 0),
	    "credentials_need_tls");
}

Test(aad, names_the_tenant)
{
	char	a[64], b[64];

	relay_password_aad(a, sizeof(a), 1);
	relay_password_aad(b, sizeof(b), 12);
	cr_assert_str_neq(a, b);
	cr_assert(strstr(a, "relay") != NULL);
}
