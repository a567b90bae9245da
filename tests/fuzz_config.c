/*
 * fuzz_config.c: libFuzzer target for src/config.c, the parser of the
 * operator's fanfare.conf (and of the values fanfarectl and reloads
 * pass through it).  make fuzz builds it with clang (fuzz/config); make
 * check replays tests/fuzz/config/.
 *
 * The input is a whole config file, read through a memfd (config_load
 * takes a path).  It aborts when a result breaks config.c's contract:
 *  - a failed load says "PATH:LINE: reason" or "PATH: reason", leaves
 *    the struct zeroed, and config_free on it is harmless;
 *  - a loaded config holds values within the table's ranges (threads,
 *    ports, counts of the repeatable directives), a public_url without
 *    a trailing slash, and config_diff against itself is empty and
 *    against the defaults names only known directives;
 * and, on each line of the input, config_parse_endpoint and
 * config_retry_schedule return either an error or a sane value.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static int
fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len)
{
	int	fd;

	CHECK((fd = memfd_create("fuzz-config", MFD_CLOEXEC)) != -1);
	CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static int
fuzz_zeroed(const void *p, size_t n)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void
fuzz_endpoint_ok(const struct ff_endpoint *ep, int required)
{
	if (ep->host == NULL && ep->unix_path == NULL) {
		CHECK(!required);
		return;
	}
	if (ep->unix_path != NULL) {
		CHECK(ep->host == NULL && ep->unix_path[0] == '/');
		return;
	}
	CHECK(ep->port >= 1 && ep->port <= 65535 && ep->host[0] != '\0');
}

static void
fuzz_loaded(const struct config *cf)
{
	struct config	 def;
	char		 applied[1024], restart[1024];
	size_t		 n;

	CHECK(cf->ntoken_secret_files >= 1 &&
	    cf->ntoken_secret_files <= FF_MAX_SECRETS);
	CHECK(cf->ntrusted_proxies >= 0 &&
	    cf->ntrusted_proxies <= FF_MAX_PROXIES);
	CHECK(cf->threads >= 1 && cf->threads <= FF_MAX_THREADS);
	CHECK(cf->senders >= 0 && cf->senders <= 64);
	CHECK(cf->max_header_bytes >= 1024 &&
	    cf->max_header_bytes <= 64 * 1024);
	fuzz_endpoint_ok(&cf->track_listen, 1);
	fuzz_endpoint_ok(&cf->api_listen, 1);
	fuzz_endpoint_ok(&cf->redis, 1);
	fuzz_endpoint_ok(&cf->smtp_relay, 0);
	CHECK(cf->public_url != NULL);
	n = strlen(cf->public_url);
	CHECK(n > 0 && cf->public_url[n - 1] != '/');

	config_diff(cf, cf, applied, sizeof(applied), restart,
	    sizeof(restart));
	CHECK(applied[0] == '\0' && restart[0] == '\0');
	memset(&def, 0, sizeof(def));
	config_defaults(&def);
	config_diff(&def, cf, applied, sizeof(applied), restart,
	    sizeof(restart));
	CHECK(memchr(applied, '\0', sizeof(applied)) != NULL);
	CHECK(memchr(restart, '\0', sizeof(restart)) != NULL);
	config_free(&def);
}

/* Each line as an endpoint and as a retry schedule. */
static void
fuzz_values(const uint8_t *data, size_t size)
{
	struct ff_endpoint	 ep;
	int			 secs[FF_MAX_RETRIES], n, i;
	char			*s, *line, *nl;

	s = malloc(size + 1);
	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	for (line = s; line != NULL; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		memset(&ep, 0, sizeof(ep));
		if (config_parse_endpoint(line, &ep) == 0) {
			fuzz_endpoint_ok(&ep, 1);
			config_free_endpoint(&ep);
		} else
			CHECK(ep.host == NULL && ep.unix_path == NULL);
		n = config_retry_schedule(line, secs, FF_MAX_RETRIES);
		CHECK(n >= -1 && n <= FF_MAX_RETRIES);
		for (i = 0; i < n; i++)
			CHECK(secs[i] > 0);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cf;
	char		 path[64], err[1024];
	size_t		 plen;
	int		 fd, rc;

	fd = fuzz_memfile(data, size, path, sizeof(path));
	memset(&cf, 0xa5, sizeof(cf));
	memset(err, 0, sizeof(err));
	rc = config_load(&cf, path, err, sizeof(err));
	close(fd);
	CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		plen = strlen(path);
		CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(fuzz_zeroed(&cf, sizeof(cf)));
	} else
		fuzz_loaded(&cf);
	config_free(&cf);
	fuzz_values(data, size);
	return 0;
}
