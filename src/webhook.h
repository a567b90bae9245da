/*
 * webhook.h: a tenant's webhook endpoints, the pure part (webhook.c):
 * what POST and PATCH /v1/webhooks accept (the URL, the event types),
 * the Fanfare-Signature header (the event types are event.h's), the retry schedule, and the names a
 * sealed secret and a delivery are bound to.  Bytes in, a verdict or
 * bytes out: api_webhook.c and webhook_deliver.c use it,
 * tests/test_webhook.c and tests/fuzz_webhook.c feed it.
 */
#ifndef FANFARE_WEBHOOK_H
#define FANFARE_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "event.h"

#define WEBHOOK_URL_MAX		2048	/* bytes of a URL */
#define WEBHOOK_HOST_MAX	255
#define WEBHOOK_SECRET_LEN	(6 + 64)	/* "whsec_" and 32 bytes hex */
#define WEBHOOK_MAX_ENDPOINTS	20	/* per tenant */
#define WEBHOOK_MAX_SECRETS	2	/* the current one, the old one */
/* "t=" 20 digits, and ",v1=" 64 hex digits per secret. */
#define WEBHOOK_SIG_MAX		(2 + 20 + WEBHOOK_MAX_SECRETS * (4 + 64) + 1)

/* The mask (1 << enum event_type, event.h) as a JSON array of names,
 * in type order (a new reference). */
json_t	*webhook_types_json(unsigned mask);

/* What webhook_url_check found in a URL it accepts. */
struct webhook_url {
	int	 https;
	char	 host[WEBHOOK_HOST_MAX + 1];	/* lowered; an IPv6 literal
						 * without its brackets */
	int	 port;				/* the scheme's when none */
};

/*
 * 0 when url is an absolute http or https URL with a host, without
 * user info (a password in a URL would be shown in every GET) or a
 * fragment, at most WEBHOOK_URL_MAX bytes of printable ASCII; u says
 * what it names.  Else -1 with *why a sentence for the 422.  Parsed by
 * libcurl's URL API, the parser that will send to it.
 */
int	 webhook_url_check(const char *url, struct webhook_url *u,
	    const char **why);

/* A POST or PATCH body, checked. */
struct webhook_input {
	const char	*url;		/* NULL: not given (PATCH) */
	struct webhook_url parsed;
	unsigned	 mask;		/* 0: not given */
	int		 enabled;	/* -1 not given, 0 "disabled", 1 "active" */
};

struct webhook_problem {
	int		 status;	/* 400 or 422 */
	const char	*code;
	const char	*message;
};

/*
 * body: {"url", "events": [names]?} for a create (url required, events
 * every type when absent), {"url"?, "events"?, "status": "active" or
 * "disabled"?} for a PATCH.  0 with in filled (its strings point into
 * body), or -1 with p set.
 */
int	 webhook_input_check(json_t *body, int create,
	    struct webhook_input *in, struct webhook_problem *p);

/*
 * The Fanfare-Signature value: "t=T,v1=HEX[,v1=HEX]", one v1 per
 * secret, HEX = HMAC-SHA256(secret, "T.body").  Writes at most
 * WEBHOOK_SIG_MAX bytes (NUL included) into out; 0, or -1 when
 * nsecrets is not 1..WEBHOOK_MAX_SECRETS or the MAC failed.
 */
int	 webhook_signature(char *out, size_t outlen, uint64_t t,
	    const char *const *secrets, int nsecrets, const char *body,
	    size_t bodylen);

/*
 * The wait before attempt number attempt + 1 after attempt failed
 * ones (attempt >= 1): base_ms doubled at each failure, at most max_ms.
 */
uint64_t webhook_backoff_ms(int attempt, uint64_t base_ms, uint64_t max_ms);

/* The AAD an endpoint's secret is sealed under (seal.c): a sealed
 * secret copied to another endpoint or tenant does not open. */
void	 webhook_secret_aad(char *out, size_t len, uint64_t tenant,
	    uint64_t id);

/*
 * The id of an event as stored in the log (event_add.lua writes its
 * text as {"id":"...", ...}): a pointer into json at the id's
 * characters with *len, when json starts that way and the id holds no
 * escape or control character; else NULL (the caller parses the JSON).
 * The delivery log names a batch's events by id without parsing each
 * event.
 */
const char *webhook_event_id(const char *json, size_t *len);

#endif
