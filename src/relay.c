/*
 * relay.c: a tenant's own relay, the pure part (relay.h): the checks of
 * PUT /v1/relay's fields, and the name its sealed password is bound to.
 * Bytes in, a verdict out: api_relay.c answers, tests/test_relay.c and
 * tests/fuzz_relay.c feed it.
 */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fanfare.h"
#include "relay.h"

static const char *const starttls_names[] = {
	[SMTP_TLS_OFF] = "off",
	[SMTP_TLS_OPTIONAL] = "optional",
	[SMTP_TLS_REQUIRED] = "required",
};

int
relay_starttls_parse(const char *s)
{
	size_t	i;

	for (i = 0; s != NULL && i < FF_NELEM(starttls_names); i++)
		if (strcmp(s, starttls_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
relay_starttls_name(int tls)
{
	if (tls < 0 || (size_t)tls >= FF_NELEM(starttls_names))
		return "off";
	return starttls_names[tls];
}

int
relay_host_check(const char *host, char *out, size_t outlen)
{
	struct in_addr	 a4;
	size_t		 len, i, label = 0;
	int		 digits_only = 1;

	if (host == NULL || (len = strlen(host)) == 0 || outlen == 0)
		return -1;
	if (host[len - 1] == '.')
		len--;			/* the root's dot says nothing */
	if (len == 0 || len > RELAY_HOST_MAX || len + 1 > outlen)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];

		if (c == '.') {
			/* No empty label, none ending in '-'. */
			if (label == 0 || host[i - 1] == '-')
				return -1;
			label = 0;
			out[i] = '.';
			continue;
		}
		if (!isascii(c) || !(isalnum(c) || c == '-'))
			return -1;
		if (c == '-' && label == 0)
			return -1;
		if (++label > 63)
			return -1;
		if (!isdigit(c))
			digits_only = 0;
		out[i] = (char)tolower(c);
	}
	/* No empty last label ("h.." is "h." once the root's dot goes). */
	if (label == 0 || host[len - 1] == '-')
		return -1;
	out[len] = '\0';
	/* All digits and dots: an address, and then a whole one
	 * ("10.1" is not a name a resolver should guess at). */
	if (digits_only && inet_pton(AF_INET, out, &a4) != 1)
		return -1;
	return 0;
}

static int
cred_ok(const char *s)
{
	size_t	len;

	if (s == NULL || (len = strlen(s)) == 0 || len > RELAY_CRED_MAX)
		return 0;
	return strpbrk(s, "\r\n") == NULL;
}

static int
problem(struct relay_problem *p, const char *code, const char *message)
{
	p->code = code;
	p->message = message;
	return -1;
}

int
relay_check(const struct relay_input *in, struct relay_problem *p)
{
	char	host[RELAY_HOST_MAX + 1];
	int	tls;

	if (relay_host_check(in->host, host, sizeof(host)) == -1)
		return problem(p, "invalid_host", "host: a DNS name such as "
		    "smtp.example.net or an IPv4 address");
	if (in->port < 1 || in->port > 65535)
		return problem(p, "invalid_port", "port: an integer from 1 to "
		    "65535");
	if ((tls = relay_starttls_parse(in->starttls)) == -1)
		return problem(p, "invalid_starttls", "starttls: \"required\", "
		    "\"optional\" or \"off\"");
	if (in->user != NULL && !cred_ok(in->user))
		return problem(p, "invalid_username", "username: 1 to 255 "
		    "bytes, no line break");
	if (in->password != NULL && !cred_ok(in->password))
		return problem(p, "invalid_password", "password: 1 to 255 "
		    "bytes, no line break");
	if ((in->user != NULL) != (in->password != NULL ||
	    in->keep_password) || (in->user == NULL && in->keep_password))
		return problem(p, "incomplete_credentials", "username and "
		    "password go together");
	if (in->user != NULL && tls != SMTP_TLS_REQUIRED)
		return problem(p, "credentials_need_tls", "a username and "
		    "password are sent only with starttls \"required\"");
	return 0;
}

void
relay_password_aad(char *out, size_t len, uint64_t tenant)
{
	snprintf(out, len, "fanfare-relay:%llu:relay",
	    (unsigned long long)tenant);
}
