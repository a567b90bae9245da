/*
 * fuzz_relay.c: libFuzzer target for src/relay.c, what a tenant feeds it
 * through PUT /v1/relay.  make fuzz builds it with clang (fuzz/relay);
 * make check replays tests/fuzz/relay/.
 *
 * The input is up to five NUL-separated fields: host, port (decimal),
 * starttls, username, password (a missing field is absent).  It aborts
 * when a result breaks the contract:
 *  - relay_host_check: an accepted host is at most 253 bytes of
 *    lowercase letters, digits, '-' and '.', no empty label, and checks
 *    again to itself;
 *  - relay_check: accepted only with such a host, a port of 1 to 65535,
 *    a starttls name, credentials of 1 to 255 bytes without CR or LF that
 *    come together and only with starttls "required"; refused always
 *    with a code and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"
#include "relay.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
check_host(const char *in)
{
	char	out[RELAY_HOST_MAX + 1], again[RELAY_HOST_MAX + 1];
	size_t	i, len;

	if (relay_host_check(in, out, sizeof(out)) == -1)
		return;
	len = strlen(out);
	CHECK(len > 0 && len <= RELAY_HOST_MAX);
	for (i = 0; i < len; i++)
		CHECK((out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= '0' && out[i] <= '9') || out[i] == '-' ||
		    (out[i] == '.' && i > 0 && out[i - 1] != '.'));
	CHECK(out[len - 1] != '.');
	CHECK(relay_host_check(out, again, sizeof(again)) == 0);
	CHECK(strcmp(out, again) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_input	 in;
	struct relay_problem	 p;
	char			*copy, *f[5] = { NULL, NULL, NULL, NULL, NULL };
	char			 host[RELAY_HOST_MAX + 1];
	size_t			 i, n = 0;
	int			 tls;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	f[n++] = copy;
	for (i = 0; i < size && n < 5; i++)
		if (copy[i] == '\0')
			f[n++] = copy + i + 1;
	check_host(f[0]);
	memset(&in, 0, sizeof(in));
	in.host = f[0];
	in.port = f[1] != NULL ? strtoll(f[1], NULL, 10) : 0;
	in.starttls = f[2];
	in.user = f[3];
	in.password = f[4];
	p.code = p.message = NULL;
	if (relay_check(&in, &p) == 0) {
		CHECK(relay_host_check(in.host, host, sizeof(host)) == 0);
		CHECK(in.port >= 1 && in.port <= 65535);
		CHECK((tls = relay_starttls_parse(in.starttls)) != -1);
		CHECK((in.user == NULL) == (in.password == NULL));
		if (in.user != NULL) {
			CHECK(tls == SMTP_TLS_REQUIRED);
			CHECK(strlen(in.user) >= 1 && strlen(in.user) <= 255 &&
			    strlen(in.password) >= 1 &&
			    strlen(in.password) <= 255);
			CHECK(strpbrk(in.user, "\r\n") == NULL &&
			    strpbrk(in.password, "\r\n") == NULL);
		}
	} else
		CHECK(p.code != NULL && p.message != NULL);
	free(copy);
	return 0;
}
