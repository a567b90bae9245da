/*
 * relay.h: a tenant's own relay, the pure part (relay.c): what PUT
 * /v1/relay accepts, and the AAD its password is sealed under.
 */
#ifndef FANFARE_RELAY_H
#define FANFARE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#define RELAY_HOST_MAX		253	/* a DNS name, RFC 1035 */
#define RELAY_CRED_MAX		255	/* a login or a password, bytes */

/* A relay as the API gives it: every string NUL-terminated; user and
 * password NULL when absent. */
struct relay_input {
	const char	*host;
	long long	 port;
	const char	*starttls;
	const char	*user;
	const char	*password;
	int		 keep_password;	/* no password given, but one is
					 * stored for this user */
};

/* What relay_check says is wrong: an API.md-style code and a sentence. */
struct relay_problem {
	const char	*code;
	const char	*message;
};

/* "required", "optional", "off" -> SMTP_TLS_*; -1 otherwise. */
int	 relay_starttls_parse(const char *);
const char *relay_starttls_name(int);
/*
 * 0 when host is a DNS name (letters, digits, inner '-', dot-separated
 * labels of 1 to 63, at most RELAY_HOST_MAX, a final dot dropped) or an
 * IPv4 address in dotted-quad form; lowered into out (RELAY_HOST_MAX+1).
 * IPv6 literals are refused (libesmtp's "host:port" cannot carry one).
 */
int	 relay_host_check(const char *host, char *out, size_t outlen);
/* 0 when in can be used, else -1 with p set (the code is 422's): host,
 * port 1..65535, the starttls enum, a login and a password of 1 to
 * RELAY_CRED_MAX bytes without CR, LF or NUL that go together, and
 * credentials only with starttls "required" (never a password in clear
 * or to whoever strips STARTTLS). */
int	 relay_check(const struct relay_input *in, struct relay_problem *p);
/* The AAD the relay password of tenant is sealed under (seal.c), so a
 * sealed password moved to another tenant's record does not open. */
void	 relay_password_aad(char *out, size_t len, uint64_t tenant);

#endif
