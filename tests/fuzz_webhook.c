/*
 * fuzz_webhook.c: what a tenant sends to POST and PATCH /v1/webhooks
 * (webhook_input_check, and through it webhook_url_check with libcurl's
 * URL parser), as JSON bytes.  Must never crash, and an accepted URL
 * must name an http(s) host of the promised shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fanfare.h"
#include "webhook.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_input	 in;
	struct webhook_problem	 p;
	struct webhook_url	 u;
	const char		*why;
	json_t			*body;
	char			*s;
	int			 create;

	if (size == 0)
		return 0;
	create = data[0] & 1;
	/* The bytes as a URL alone, then as a JSON body. */
	s = xstrndup((const char *)data + 1, size - 1);
	if (webhook_url_check(s, &u, &why) == 0 &&
	    (u.host[0] == '\0' || u.port < 1 || u.port > 65535 ||
	    strlen(u.host) > WEBHOOK_HOST_MAX))
		abort();
	free(s);
	body = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (body == NULL)
		return 0;
	if (webhook_input_check(body, create, &in, &p) == 0) {
		if (create && (in.url == NULL || in.mask == 0))
			abort();
		if ((in.mask & ~EVENT_ALL_TYPES) != 0)
			abort();
	} else if (p.code == NULL || (p.status != 400 && p.status != 422))
		abort();
	json_decref(body);
	return 0;
}
