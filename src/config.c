/*
 * config.c: fanfare.conf -> struct config.
 *
 * Every directive is one row of config_table: its name, its type, where
 * it lives in struct config, its range and its default.  The default is
 * written as it would be in the file and goes through the same parser,
 * so a default can never be a value the file itself could not give.
 * One loop reads the file; one setter per type parses a value; freeing
 * walks the same table, so a new directive is one new row.
 *
 * Syntax: "name value" per line; '#' starts a comment at the start of a
 * line or after whitespace (so "https://x/#y" keeps its '#'); blank
 * lines are skipped; CRLF is accepted.  A bad line fails the whole load
 * with "file:line: reason".  Nothing here opens a socket or the files a
 * directive names (token.c reads the secrets).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "fanfare.h"
#include "netguard.h"

#ifndef FF_LOCALSTATEDIR
#define FF_LOCALSTATEDIR	"/var"
#endif
#ifndef FF_DATADIR
#define FF_DATADIR		"/usr/local/share/fanfare"
#endif

#define CONFIG_MAX_LINE		4096		/* bytes, without CR LF */
#define CONFIG_MAX_FILE		(1024 * 1024)
#define CONFIG_NO_MAX		INT64_MAX
#define CONFIG_NODE_ID_MAX	64		/* a host name's label, about */

#define KIB			((int64_t)1024)
#define MIB			(1024 * KIB)
#define GIB			(1024 * MIB)
#define SEC_MS			((int64_t)1000)
#define MIN_MS			(60 * SEC_MS)
#define HOUR_MS			(60 * MIN_MS)
#define DAY_MS			(24 * HOUR_MS)

enum config_type {
	CF_STRING,	/* char *: the rest of the line, inner spaces kept */
	CF_URL,		/* char *: http(s) URL, one trailing slash dropped */
	CF_STRINGS,	/* char *[max] and an int count: one per line */
	CF_ENDPOINT,	/* struct ff_endpoint */
	CF_REDIS,	/* struct ff_endpoint, or "cluster:" and seeds */
	CF_INT,		/* int */
	CF_SIZE,	/* int or uint64_t bytes: 512, 8k, 1M, 1G */
	CF_DURATION_MS,	/* int milliseconds: 250ms, 10s, 5m, 1h, 1d */
	CF_DURATION_S,	/* int seconds, same syntax, whole seconds only */
	CF_CIDRS,	/* struct ff_cidr[max] and an int count */
	CF_ENUM,	/* int: the index of the word in names */
	CF_MODE,	/* int: file permission bits, octal: 0660 */
};

struct config_directive {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;	/* of the member in struct config */
	size_t			 size;		/* of that member */
	size_t			 countoff;	/* CF_STRINGS, CF_CIDRS: count */
	int64_t			 min;		/* numbers, in bytes or ms */
	int64_t			 max;		/* lists: capacity */
	int			 repeatable;	/* may appear on many lines */
	const char		*def;		/* as in the file; NULL: none */
	const char *const	*names;		/* CF_ENUM */
	int			 reload;	/* SIGHUP applies it (live.c) */
};

#define MEMBER(f)	.offset = offsetof(struct config, f),		\
			.size = sizeof(((struct config *)0)->f)
#define COUNT(f)	.countoff = offsetof(struct config, f)

static const char *const log_levels[] = { "info", "debug", NULL };
static const char *const off_on[] = { "off", "on", NULL };
static const char *const tls_modes[] = { "off", "optional", "required",
    NULL };

static const struct config_directive config_table[] = {
	{ "track_listen", CF_ENDPOINT, MEMBER(track_listen),
	    .def = "127.0.0.1:8080" },
	{ "api_listen", CF_ENDPOINT, MEMBER(api_listen),
	    .def = "127.0.0.1:8081" },
	/* Of the socket file when api_listen is unix:/path. */
	{ "api_listen_mode", CF_MODE, MEMBER(api_listen_mode),
	    .min = 0, .max = 0777, .def = "0660" },
	{ "redis", CF_REDIS, MEMBER(redis),
	    .def = "127.0.0.1:6379" },
	{ "redis_wait_replicas", CF_INT, MEMBER(redis_wait_replicas),
	    .min = 0, .max = 8, .def = "1" },
	{ "token_secret_file", CF_STRINGS, MEMBER(token_secret_files),
	    COUNT(ntoken_secret_files), .max = FF_MAX_SECRETS,
	    .repeatable = 1, .reload = 1 },
	{ "public_url", CF_URL, MEMBER(public_url),
	    .def = "http://127.0.0.1:8080" },
	{ "geoip_db", CF_STRING, MEMBER(geoip_db) },
	{ "trusted_proxies", CF_CIDRS, MEMBER(trusted_proxies),
	    COUNT(ntrusted_proxies), .max = FF_MAX_PROXIES,
	    .repeatable = 1, .reload = 1 },
	{ "threads", CF_INT, MEMBER(threads),
	    .min = 1, .max = FF_MAX_THREADS, .def = "2" },
	{ "spool_dir", CF_STRING, MEMBER(spool_dir),
	    .def = FF_LOCALSTATEDIR "/lib/fanfare/spool" },
	{ "spool_max_bytes", CF_SIZE, MEMBER(spool_max_bytes),
	    .min = MIB, .max = CONFIG_NO_MAX, .def = "1G" },
	{ "admin_key", CF_STRING, MEMBER(admin_key) },
	/* Default: the host name, set by config_defaults(). */
	{ "node_id", CF_STRING, MEMBER(node_id) },
	{ "templates_dir", CF_STRING, MEMBER(templates_dir),
	    .def = FF_DATADIR, .reload = 1 },
	{ "max_connections", CF_INT, MEMBER(max_connections),
	    .min = 1, .max = 1000000, .def = "10000" },
	{ "max_header_bytes", CF_SIZE, MEMBER(max_header_bytes),
	    .min = KIB, .max = 64 * KIB, .def = "8k" },
	{ "max_body_bytes", CF_SIZE, MEMBER(max_body_bytes),
	    .min = 0, .max = MIB, .def = "4k" },
	{ "header_timeout", CF_DURATION_MS, MEMBER(header_timeout_ms),
	    .min = 100, .max = HOUR_MS, .def = "10s" },
	{ "idle_timeout", CF_DURATION_MS, MEMBER(idle_timeout_ms),
	    .min = 100, .max = HOUR_MS, .def = "60s" },
	{ "link_cache_ttl", CF_DURATION_S, MEMBER(link_cache_ttl_s),
	    .min = SEC_MS, .max = DAY_MS, .def = "300s" },
	/* 0 turns scanner detection off. */
	{ "scanner_window", CF_DURATION_S, MEMBER(scanner_window_s),
	    .min = 0, .max = HOUR_MS, .def = "5s" },
	{ "retention_days", CF_INT, MEMBER(retention_days),
	    .min = 1, .max = 3650, .def = "395" },
	{ "log_level", CF_ENUM, MEMBER(verbose),
	    .names = log_levels, .def = "info", .reload = 1 },
	{ "api_max_body", CF_SIZE, MEMBER(api_max_body_bytes),
	    .min = KIB, .max = 1024 * MIB, .def = "16M" },
	/* The memory of every API body at once (api_http.c): a stranger
	 * never reaches it (keys are checked on the head), tenants share
	 * it; a body that does not fit gets 503 busy. */
	{ "api_body_budget", CF_SIZE, MEMBER(api_body_budget_bytes),
	    .min = KIB, .max = 1024 * MIB, .def = "64M" },
	{ "tenant_grace", CF_DURATION_S, MEMBER(tenant_grace_s),
	    .min = 0, .max = 365 * DAY_MS, .def = "30d" },
	/* What one template may hold: far above any real newsletter, low
	 * enough that a copy stays cheap (api_campaign.c, README). */
	{ "template_max_bytes", CF_SIZE, MEMBER(template_max_bytes),
	    .min = KIB, .max = 64 * MIB, .def = "512k" },
	{ "template_max_links", CF_INT, MEMBER(template_max_links),
	    .min = 1, .max = 1000000, .def = "2000" },
	{ "template_max_tags", CF_INT, MEMBER(template_max_tags),
	    .min = 1, .max = 1000000, .def = "1000" },
	{ "special_categories_file", CF_STRING,
	    MEMBER(special_categories_file),
	    .def = FF_DATADIR "/special-categories.conf" },
	/* Delivery.  No smtp_relay: campaigns queue but nothing is sent. */
	{ "senders", CF_INT, MEMBER(senders), .min = 0, .max = 64,
	    .def = "2" },
	{ "smtp_relay", CF_ENDPOINT, MEMBER(smtp_relay) },
	{ "smtp_starttls", CF_ENUM, MEMBER(smtp_starttls),
	    .names = tls_modes, .def = "optional" },
	{ "smtp_user", CF_STRING, MEMBER(smtp_user) },
	{ "smtp_password", CF_STRING, MEMBER(smtp_password) },
	{ "smtp_helo", CF_STRING, MEMBER(smtp_helo) },
	{ "smtp_ca_file", CF_STRING, MEMBER(smtp_ca_file) },
	{ "dkim_domain", CF_STRING, MEMBER(dkim_domain) },
	{ "dkim_selector", CF_STRING, MEMBER(dkim_selector) },
	{ "dkim_key_file", CF_STRING, MEMBER(dkim_key_file) },
	/* Sending domains (api_domain.c, smtp_domain.c).  bounce_domain is
	 * also the VERP envelope senders' domain; none: the envelope sender
	 * is the From address. */
	{ "bounce_domain", CF_STRING, MEMBER(bounce_domain) },
	{ "dns_resolver", CF_ENDPOINT, MEMBER(dns_resolver) },
	{ "allow_unverified_from", CF_ENUM, MEMBER(allow_unverified_from),
	    .names = off_on, .def = "off" },
	/* Read into struct live, so a reload reads it again. */
	{ "data_key_file", CF_STRING, MEMBER(data_key_file), .reload = 1 },
	{ "relay_allow", CF_CIDRS, MEMBER(relay_allow),
	    COUNT(nrelay_allow), .max = FF_MAX_ALLOW, .repeatable = 1 },
	{ "send_rate_max", CF_INT, MEMBER(send_rate_max), .min = 0,
	    .max = 1000000, .def = "0", .reload = 1 },
	{ "retry_schedule", CF_STRING, MEMBER(retry_schedule),
	    .def = "1m,5m,15m,1h" },
	{ "retry_lifetime", CF_DURATION_S, MEMBER(retry_lifetime_s),
	    .min = 0, .max = 30 * DAY_MS, .def = "2d" },
	{ "claim_idle", CF_DURATION_S, MEMBER(claim_idle_s),
	    .min = SEC_MS, .max = DAY_MS, .def = "5m" },
	/* Bounces and complaints (verp.c, bounce_listen.c); bounce_domain is
	 * above. */
	{ "bounce_listen", CF_ENDPOINT, MEMBER(bounce_listen) },
	/* At most 16M: a message is read on the main loop (report.c: about
	 * 6 ms a MiB at worst). */
	{ "bounce_max_message", CF_SIZE, MEMBER(bounce_max_message_bytes),
	    .min = 64 * KIB, .max = 16 * MIB, .def = "1M" },
	{ "soft_bounce_limit", CF_INT, MEMBER(soft_bounce_limit),
	    .min = 1, .max = 1000, .def = "3" },
	/* Signup forms (signup.c). */
	{ "signup_expiry", CF_DURATION_S, MEMBER(signup_expiry_s),
	    .min = 60 * SEC_MS, .max = 90 * DAY_MS, .def = "7d" },
	{ "signup_rate", CF_INT, MEMBER(signup_rate),
	    .min = 1, .max = 1000000, .def = "10" },
	/* The marketer's sessions (api_user.c): how long a login lasts at
	 * most, and unused; 0 idle: no idle expiry. */
	{ "session_lifetime", CF_DURATION_S, MEMBER(session_lifetime_s),
	    .min = SEC_MS, .max = 30 * DAY_MS, .def = "12h" },
	{ "session_idle", CF_DURATION_S, MEMBER(session_idle_s),
	    .min = 0, .max = 30 * DAY_MS, .def = "1h" },
	/* Webhooks (webhook_deliver.c): where endpoints may be, how much a
	 * POST carries, how long one may take, the retry schedule. */
	{ "webhook_allow", CF_CIDRS, MEMBER(webhook_allow),
	    COUNT(nwebhook_allow), .max = FF_MAX_ALLOW, .repeatable = 1 },
	{ "webhook_batch", CF_INT, MEMBER(webhook_batch), .min = 1,
	    .max = 1000, .def = "100" },
	{ "webhook_connect_timeout", CF_DURATION_MS,
	    MEMBER(webhook_connect_timeout_ms), .min = 100, .max = 60 * SEC_MS,
	    .def = "5s" },
	{ "webhook_timeout", CF_DURATION_MS, MEMBER(webhook_timeout_ms),
	    .min = 100, .max = 5 * 60 * SEC_MS, .def = "10s" },
	{ "webhook_retry_base", CF_DURATION_MS, MEMBER(webhook_retry_base_ms),
	    .min = 100, .max = HOUR_MS, .def = "10s" },
	{ "webhook_retry_max", CF_DURATION_MS, MEMBER(webhook_retry_max_ms),
	    .min = 100, .max = DAY_MS, .def = "1h" },
	/* At least a day in production (API.md: retried for at least
	 * 24 h); the tests shorten it. */
	{ "webhook_disable_after", CF_DURATION_S,
	    MEMBER(webhook_disable_after_s), .min = SEC_MS, .max = 30 * DAY_MS,
	    .def = "24h" },
	{ "webhook_rotate_overlap", CF_DURATION_S,
	    MEMBER(webhook_rotate_overlap_s), .min = SEC_MS, .max = 30 * DAY_MS,
	    .def = "24h" },
	{ "webhook_poll", CF_DURATION_MS, MEMBER(webhook_poll_ms), .min = 10,
	    .max = 60 * SEC_MS, .def = "1s" },
	/* Account mail (api_reset.c, api_template_test.c): the app's
	 * address in the reset link (default: http://api_listen), a reset
	 * link's life, the From of account mail when the tenant has no
	 * verified sending domain. */
	{ "app_url", CF_URL, MEMBER(app_url) },
	{ "password_reset_ttl", CF_DURATION_S, MEMBER(password_reset_ttl_s),
	    .min = SEC_MS, .max = 7 * DAY_MS, .def = "1h" },
	{ "system_from", CF_STRING, MEMBER(system_from) },
};

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	    c == '\v' || c == '\f';
}

static int
all_digits(const char *s, size_t len)
{
	size_t	i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static void *
member(struct config *cf, size_t off)
{
	return (char *)cf + off;
}

/* Numbers were range checked, so they fit the member's type. */
static void
store_number(struct config *cf, const struct config_directive *d, int64_t v)
{
	void	*p = member(cf, d->offset);

	if (d->size == sizeof(int))
		*(int *)p = (int)v;
	else if (d->size == sizeof(uint64_t))
		*(uint64_t *)p = (uint64_t)v;
	else
		fatalx("config: %s: member of %zu bytes", d->name, d->size);
}

static void
format_size(int64_t v, char *buf, size_t len)
{
	if (v != 0 && v % GIB == 0)
		snprintf(buf, len, "%lldG", (long long)(v / GIB));
	else if (v != 0 && v % MIB == 0)
		snprintf(buf, len, "%lldM", (long long)(v / MIB));
	else if (v != 0 && v % KIB == 0)
		snprintf(buf, len, "%lldk", (long long)(v / KIB));
	else
		snprintf(buf, len, "%lld", (long long)v);
}

static void
format_duration(int64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		snprintf(buf, len, "0");
	else if (ms % DAY_MS == 0)
		snprintf(buf, len, "%lldd", (long long)(ms / DAY_MS));
	else if (ms % HOUR_MS == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / HOUR_MS));
	else if (ms % MIN_MS == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / MIN_MS));
	else if (ms % SEC_MS == 0)
		snprintf(buf, len, "%llds", (long long)(ms / SEC_MS));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

static void
format_bound(const struct config_directive *d, int64_t v, char *buf,
    size_t len)
{
	if (d->type == CF_MODE)
		snprintf(buf, len, "%04llo", (long long)v);
	else if (d->type == CF_SIZE)
		format_size(v, buf, len);
	else if (d->type == CF_DURATION_MS || d->type == CF_DURATION_S)
		format_duration(v, buf, len);
	else
		snprintf(buf, len, "%lld", (long long)v);
}

/* overflow: the syntax was right but the number does not fit. */
static int
check_range(const struct config_directive *d, const char *value, int64_t v,
    int overflow, char *reason, size_t len)
{
	char	lo[32], hi[32];

	if (!overflow && v >= d->min && v <= d->max)
		return 0;
	format_bound(d, d->min, lo, sizeof(lo));
	format_bound(d, d->max, hi, sizeof(hi));
	if (d->max != CONFIG_NO_MAX)
		snprintf(reason, len, "%s: %s is out of range %s-%s",
		    d->name, value, lo, hi);
	else if (overflow)
		snprintf(reason, len, "%s: %s is too large", d->name, value);
	else
		snprintf(reason, len, "%s: %s is below the minimum %s",
		    d->name, value, lo);
	return -1;
}

/*
 * Splits "123suffix" into its number and suffix.  -1 when there are no
 * digits; *overflow when the digits do not fit an int64_t.
 */
static int
split_number(const char *s, int64_t *v, const char **suffix, int *overflow)
{
	uint64_t	u;
	size_t		n;

	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		;
	if (n == 0)
		return -1;
	*suffix = s + n;
	*overflow = parse_u64(s, n, &u) == -1 || u > INT64_MAX;
	*v = *overflow ? 0 : (int64_t)u;
	return 0;
}

static int
set_int(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	const char	*digits = value + (value[0] == '-');
	uint64_t	 u = 0;
	int64_t		 v = 0;
	int		 overflow;

	if (!all_digits(digits, strlen(digits))) {
		snprintf(reason, len, "bad integer '%s'", value);
		return -1;
	}
	overflow = parse_u64(digits, strlen(digits), &u) == -1 ||
	    u > INT64_MAX;
	if (!overflow)
		v = digits != value ? -(int64_t)u : (int64_t)u;
	if (check_range(d, value, v, overflow, reason, len) == -1)
		return -1;
	store_number(cf, d, v);
	return 0;
}

/* Octal as chmod(1) takes it, the leading 0 optional: "660", "0660". */
static int
set_mode(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	int64_t	v = 0;
	size_t	i, n = strlen(value);

	for (i = 0; i < n; i++) {
		if (value[i] < '0' || value[i] > '7' || n > 5) {
			snprintf(reason, len, "%s: bad mode '%s' (octal, like "
			    "0660)", d->name, value);
			return -1;
		}
		v = v * 8 + (value[i] - '0');
	}
	if (check_range(d, value, v, 0, reason, len) == -1)
		return -1;
	store_number(cf, d, v);
	return 0;
}

/* A number's suffixes and what each multiplies it by. */
struct config_unit {
	const char	*suffix;
	int64_t		 mult;
};

static const struct config_unit size_units[] = {
	{ "", 1 }, { "k", KIB }, { "K", KIB }, { "m", MIB }, { "M", MIB },
	{ "g", GIB }, { "G", GIB }, { NULL, 0 }
};

static const struct config_unit duration_units[] = {	/* in ms */
	{ "ms", 1 }, { "", SEC_MS }, { "s", SEC_MS }, { "m", MIN_MS },
	{ "h", HOUR_MS }, { "d", DAY_MS }, { NULL, 0 }
};

/* value's number times its suffix's unit in *v (*overflow when it does
 * not fit); -1 when value is no number with one of the suffixes. */
static int
scaled_number(const char *value, const struct config_unit *units,
    int64_t *v, int *overflow)
{
	const char	*suffix;
	size_t		 i;

	if (split_number(value, v, &suffix, overflow) == -1)
		return -1;
	for (i = 0; units[i].suffix != NULL; i++)
		if (strcmp(suffix, units[i].suffix) == 0) {
			if (*v > INT64_MAX / units[i].mult)
				*overflow = 1;
			else
				*v *= units[i].mult;
			return 0;
		}
	return -1;
}

/* A size (CF_SIZE) or a duration (CF_DURATION_MS, CF_DURATION_S). */
static int
set_scaled(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	int	is_size = d->type == CF_SIZE;
	int64_t	v;
	int	overflow;

	if (scaled_number(value, is_size ? size_units : duration_units, &v,
	    &overflow) == -1) {
		snprintf(reason, len, "bad %s '%s'", is_size ? "size" :
		    "duration", value);
		return -1;
	}
	if (check_range(d, value, v, overflow, reason, len) == -1)
		return -1;
	if (d->type == CF_DURATION_S) {
		if (v % SEC_MS != 0) {
			snprintf(reason, len,
			    "%s: %s is not a whole number of seconds",
			    d->name, value);
			return -1;
		}
		v /= SEC_MS;
	}
	store_number(cf, d, v);
	return 0;
}

int
config_retry_schedule(const char *s, int *secs, int max)
{
	const char	*p = s;
	int64_t		 v, mult;
	int		 n = 0;

	while (*p != '\0') {
		if (n == max || *p < '0' || *p > '9')
			return -1;
		for (v = 0; *p >= '0' && *p <= '9'; p++)
			if ((v = v * 10 + (*p - '0')) > 7 * 86400)
				return -1;
		switch (*p) {
		case 's': mult = 1; p++; break;
		case 'm': mult = 60; p++; break;
		case 'h': mult = 3600; p++; break;
		case 'd': mult = 86400; p++; break;
		default: mult = 1;
		}
		if (v == 0 || v * mult > 7 * 86400 || (*p != ',' && *p != '\0'))
			return -1;
		secs[n++] = (int)(v * mult);
		if (*p == ',' && *++p == '\0')
			return -1;
	}
	return n > 0 ? n : -1;
}

static int
valid_node_id(const char *s)
{
	size_t	i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > CONFIG_NODE_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* Rules between directives, once the file is read; -1 with a reason. */
static int
config_check(const struct config *cf, char *reason, size_t len)
{
	int	secs[FF_MAX_RETRIES];
	int	dkim;
	char	name[DOMAIN_NAME_MAX + 1];

	if (config_retry_schedule(cf->retry_schedule, secs,
	    FF_MAX_RETRIES) == -1) {
		snprintf(reason, len, "retry_schedule: '%s' is not a list of "
		    "1 to %d durations (1s to 7d) like 1m,5m,15m,1h",
		    cf->retry_schedule, FF_MAX_RETRIES);
		return -1;
	}
	dkim = (cf->dkim_domain != NULL) + (cf->dkim_selector != NULL) +
	    (cf->dkim_key_file != NULL);
	if (dkim != 0 && dkim != 3) {
		snprintf(reason, len, "dkim_domain, dkim_selector and "
		    "dkim_key_file go together");
		return -1;
	}
	if (cf->bounce_domain != NULL && domain_name_check(cf->bounce_domain,
	    strlen(cf->bounce_domain), name, sizeof(name)) == -1) {
		snprintf(reason, len, "bounce_domain: '%s' is not a domain "
		    "name", cf->bounce_domain);
		return -1;
	}
	if (cf->dns_resolver.unix_path != NULL) {
		snprintf(reason, len, "dns_resolver: an IPv4 host:port is "
		    "needed");
		return -1;
	}
	if (cf->smtp_relay.unix_path != NULL) {
		snprintf(reason, len, "smtp_relay: a host:port is needed");
		return -1;
	}
	if (cf->bounce_listen.unix_path != NULL) {
		snprintf(reason, len, "bounce_listen: a host:port is needed");
		return -1;
	}
	if (cf->bounce_listen.host != NULL && cf->bounce_domain == NULL) {
		snprintf(reason, len, "bounce_listen needs bounce_domain: the "
		    "domain of the addresses it accepts");
		return -1;
	}
	/* Each tracking thread binds the address itself (SO_REUSEPORT);
	 * a unix path can be bound once. */
	if (cf->track_listen.unix_path != NULL) {
		snprintf(reason, len, "track_listen: a host:port is needed "
		    "(every tracking thread binds it)");
		return -1;
	}
	/* It names spool files, Redis consumers and the EHLO: a bad one
	 * would pass here and stop start-up at the spool. */
	if (!valid_node_id(cf->node_id)) {
		snprintf(reason, len, "node_id: '%.80s' must be 1 to %d of "
		    "A-Z a-z 0-9 . _ -", cf->node_id ? cf->node_id : "",
		    CONFIG_NODE_ID_MAX);
		return -1;
	}
	if (cf->api_listen.host != NULL && cf->api_listen.port ==
	    cf->track_listen.port && strcmp(cf->api_listen.host,
	    cf->track_listen.host) == 0) {
		snprintf(reason, len, "api_listen and track_listen are the "
		    "same address");
		return -1;
	}
	if ((cf->smtp_user == NULL) != (cf->smtp_password == NULL)) {
		snprintf(reason, len, "smtp_user and smtp_password go "
		    "together");
		return -1;
	}
	if (cf->system_from != NULL && domain_of_from(cf->system_from, name,
	    sizeof(name)) == -1) {
		snprintf(reason, len, "system_from: '%.80s' is not an address "
		    "(\"Name <user@domain>\" or user@domain)", cf->system_from);
		return -1;
	}
	return 0;
}

static int
set_string(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	char	**p = member(cf, d->offset);

	free(*p);
	*p = xstrdup(value);
	return 0;
}

/* A base every link and unsubscribe URL is built on: no trailing slash,
 * so "base" "/o/TOKEN.gif" never doubles it. */
static int
set_url(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	const char	*host;
	char		**p = member(cf, d->offset);
	size_t		 n, i;

	if (strncmp(value, "http://", 7) == 0)
		host = value + 7;
	else if (strncmp(value, "https://", 8) == 0)
		host = value + 8;
	else {
		snprintf(reason, len,
		    "%s: '%s' must start with http:// or https://",
		    d->name, value);
		return -1;
	}
	for (i = 0; value[i] != '\0'; i++) {
		if (is_space((unsigned char)value[i])) {
			snprintf(reason, len, "%s: '%s' contains a space",
			    d->name, value);
			return -1;
		}
	}
	if (host[0] == '\0' || host[0] == '/') {
		snprintf(reason, len, "%s: '%s' has no host", d->name, value);
		return -1;
	}
	free(*p);
	*p = xstrdup(value);
	n = strlen(*p);
	if ((*p)[n - 1] == '/')
		(*p)[n - 1] = '\0';
	return 0;
}

static int
set_strings(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	char	**list = member(cf, d->offset);
	int	 *count = member(cf, d->countoff);

	if (*count >= d->max) {
		snprintf(reason, len, "%s: more than %lld given", d->name,
		    (long long)d->max);
		return -1;
	}
	list[(*count)++] = xstrdup(value);
	return 0;
}

static int
set_endpoint(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	struct ff_endpoint	*ep = member(cf, d->offset);
	struct ff_endpoint	 parsed;

	if ((d->type == CF_REDIS ? config_parse_redis(value, &parsed) :
	    config_parse_endpoint(value, &parsed)) == -1) {
		snprintf(reason, len, "bad endpoint '%s'", value);
		return -1;
	}
	config_free_endpoint(ep);
	*ep = parsed;
	return 0;
}

/* "10.0.0.0/8, 192.168.0.0/16 ::1": commas and spaces both separate
 * (netguard_list_parse); a repeated line adds to the list. */
static int
set_cidrs(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	struct ff_cidr	*list = member(cf, d->offset);
	int		*count = member(cf, d->countoff);
	const char	*bad = value;
	size_t		 badlen = 0;
	int		 before = *count;

	switch (netguard_list_parse(value, list, (int)d->max, count, &bad,
	    &badlen)) {
	case -1:
		snprintf(reason, len, "bad CIDR '%.*s'", (int)badlen, bad);
		return -1;
	case -2:
		snprintf(reason, len, "%s: more than %lld given", d->name,
		    (long long)d->max);
		return -1;
	}
	if (*count == before) {
		snprintf(reason, len, "missing value for '%s'", d->name);
		return -1;
	}
	return 0;
}

static int
set_enum(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	size_t	used;
	int	i;

	for (i = 0; d->names[i] != NULL; i++) {
		if (strcmp(value, d->names[i]) == 0) {
			store_number(cf, d, i);
			return 0;
		}
	}
	used = (size_t)snprintf(reason, len, "%s: bad value '%s' (", d->name,
	    value);
	for (i = 0; d->names[i] != NULL && used < len; i++)
		used += (size_t)snprintf(reason + used, len - used, "%s%s",
		    i > 0 ? "|" : "", d->names[i]);
	if (used < len)
		snprintf(reason + used, len - used, ")");
	return -1;
}

typedef int (*config_setter)(struct config *, const struct config_directive *,
    const char *, char *, size_t);

/* Each type's setter. */
static const config_setter config_setters[] = {
	[CF_STRING] = set_string,
	[CF_URL] = set_url,
	[CF_STRINGS] = set_strings,
	[CF_ENDPOINT] = set_endpoint,
	[CF_REDIS] = set_endpoint,
	[CF_INT] = set_int,
	[CF_SIZE] = set_scaled,
	[CF_DURATION_MS] = set_scaled,
	[CF_DURATION_S] = set_scaled,
	[CF_CIDRS] = set_cidrs,
	[CF_ENUM] = set_enum,
	[CF_MODE] = set_mode,
};

static int
config_set(struct config *cf, const struct config_directive *d,
    const char *value, char *reason, size_t len)
{
	if ((size_t)d->type >= FF_NELEM(config_setters) ||
	    config_setters[d->type] == NULL)
		fatalx("config: %s: type %d", d->name, (int)d->type);
	return config_setters[d->type](cf, d, value, reason, len);
}

static const struct config_directive *
config_lookup(const char *name)
{
	size_t	i;

	for (i = 0; i < FF_NELEM(config_table); i++)
		if (strcmp(config_table[i].name, name) == 0)
			return &config_table[i];
	return NULL;
}

/*
 * One line, without its newline, NUL-terminated in place (it is
 * modified).  seen has one flag per table row.  0: done (also for
 * blank and comment lines); -1 with a reason.
 */
static int
config_parse_line(struct config *cf, char *line, size_t linelen, int *seen,
    char *reason, size_t len)
{
	const struct config_directive	*d;
	char				*name, *value, *end;
	size_t				 i;

	/* A stray NUL would silently cut a value short; a lone CR (that of
	 * CRLF was dropped by the caller) is a broken file, comment or not. */
	for (i = 0; i < linelen; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(reason, len, "control character 0x%02x", c);
			return -1;
		}
	}
	for (i = 0; i < linelen; i++)
		if (line[i] == '#' &&
		    (i == 0 || is_space((unsigned char)line[i - 1])))
			break;
	line[i] = '\0';
	end = line + i;
	while (end > line && is_space((unsigned char)end[-1]))
		*--end = '\0';
	name = line;
	while (is_space((unsigned char)*name))
		name++;
	if (*name == '\0')
		return 0;

	for (value = name; *value != '\0' && !is_space((unsigned char)*value);
	    value++)
		;
	if (*value != '\0') {
		*value++ = '\0';
		while (is_space((unsigned char)*value))
			value++;
	}
	if ((d = config_lookup(name)) == NULL) {
		snprintf(reason, len, "unknown directive '%s'", name);
		return -1;
	}
	if (*value == '\0') {
		snprintf(reason, len, "missing value for '%s'", name);
		return -1;
	}
	if (seen[d - config_table] && !d->repeatable) {
		snprintf(reason, len, "'%s' given twice", name);
		return -1;
	}
	seen[d - config_table] = 1;
	return config_set(cf, d, value, reason, len);
}

/*
 * The struct must be zeroed or config_free()d: whatever it held before
 * is overwritten, not freed.
 */
void
config_defaults(struct config *cf)
{
	const struct config_directive	*d;
	char				 host[HOST_NAME_MAX + 1];
	char				 reason[256];
	size_t				 i;

	memset(cf, 0, sizeof(*cf));
	for (i = 0; i < FF_NELEM(config_table); i++) {
		d = &config_table[i];
		if (d->def != NULL &&
		    config_set(cf, d, d->def, reason, sizeof(reason)) == -1)
			fatalx("config: default of %s: %s", d->name, reason);
	}
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "fanfare");
	host[sizeof(host) - 1] = '\0';
	cf->node_id = xstrdup(host);
}

void
config_free_endpoint(struct ff_endpoint *ep)
{
	int	i;

	for (i = 0; i < ep->nseeds; i++)
		free(ep->seeds[i].host);
	free(ep->seeds);
	free(ep->host);
	free(ep->unix_path);
	memset(ep, 0, sizeof(*ep));
}

void
config_free(struct config *cf)
{
	const struct config_directive	*d;
	char				**list;
	size_t				 i;
	int				 j, *count;

	for (i = 0; i < FF_NELEM(config_table); i++) {
		d = &config_table[i];
		switch (d->type) {
		case CF_STRING:
		case CF_URL:
			free(*(char **)member(cf, d->offset));
			break;
		case CF_STRINGS:
			list = member(cf, d->offset);
			count = member(cf, d->countoff);
			for (j = 0; j < *count; j++)
				free(list[j]);
			break;
		case CF_ENDPOINT:
		case CF_REDIS:
			config_free_endpoint(member(cf, d->offset));
			break;
		default:
			break;
		}
	}
	free(cf->path);
	memset(cf, 0, sizeof(*cf));
}

static int
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
config_same(const struct config *a, const struct config *b,
    const struct config_directive *d)
{
	const struct ff_endpoint	*ea, *eb;
	char *const			*la, *const *lb;
	int				 na, nb, j;

	switch (d->type) {
	case CF_STRING:
	case CF_URL:
		return same_string(*(char *const *)member((struct config *)a,
		    d->offset), *(char *const *)member((struct config *)b,
		    d->offset));
	case CF_STRINGS:
		la = member((struct config *)a, d->offset);
		lb = member((struct config *)b, d->offset);
		na = *(int *)member((struct config *)a, d->countoff);
		nb = *(int *)member((struct config *)b, d->countoff);
		if (na != nb)
			return 0;
		for (j = 0; j < na; j++)
			if (!same_string(la[j], lb[j]))
				return 0;
		return 1;
	case CF_ENDPOINT:
	case CF_REDIS:
		ea = member((struct config *)a, d->offset);
		eb = member((struct config *)b, d->offset);
		if (ea->nseeds != eb->nseeds)
			return 0;
		for (j = 0; j < ea->nseeds; j++)
			if (!same_string(ea->seeds[j].host, eb->seeds[j].host) ||
			    ea->seeds[j].port != eb->seeds[j].port)
				return 0;
		return same_string(ea->host, eb->host) && ea->port == eb->port &&
		    same_string(ea->unix_path, eb->unix_path);
	case CF_CIDRS:
		na = *(int *)member((struct config *)a, d->countoff);
		nb = *(int *)member((struct config *)b, d->countoff);
		return na == nb && memcmp(member((struct config *)a,
		    d->offset), member((struct config *)b, d->offset),
		    (size_t)na * sizeof(struct ff_cidr)) == 0;
	default:
		return memcmp(member((struct config *)a, d->offset),
		    member((struct config *)b, d->offset), d->size) == 0;
	}
}

static void
config_list_add(char *buf, size_t len, size_t *used, const char *name)
{
	if (*used >= len)
		return;
	*used += (size_t)snprintf(buf + *used, len - *used, "%s%s",
	    *used ? ", " : "", name);
}

void
config_diff(const struct config *running, const struct config *next,
    char *applied, size_t alen, char *restart, size_t rlen)
{
	const struct config_directive	*d;
	size_t				 i, aused = 0, rused = 0;

	applied[0] = restart[0] = '\0';
	for (i = 0; i < FF_NELEM(config_table); i++) {
		d = &config_table[i];
		if (config_same(running, next, d))
			continue;
		if (d->reload)
			config_list_add(applied, alen, &aused, d->name);
		else
			config_list_add(restart, rlen, &rused, d->name);
	}
}

/*
 * A failed load leaves cf freed and zeroed: nothing for the caller to
 * undo, and config_free() on it is still harmless.  A reload loads into
 * a second struct and swaps, so a bad file never costs the running one.
 */
int
config_load(struct config *cf, const char *path, char *err, size_t errlen)
{
	char		*buf = NULL, *line, *nl, *key;
	char		 reason[512];
	int		 seen[FF_NELEM(config_table)] = { 0 };
	size_t		 len, linelen;
	int		 lineno = 0;

	config_defaults(cf);
	cf->path = xstrdup(path);
	if ((buf = read_file(path, CONFIG_MAX_FILE, &len)) == NULL) {
		errorf(err, errlen, "%s: %s", path,
		    errno == EINVAL ? "not a regular file" : strerror(errno));
		goto fail;
	}
	for (line = buf; line < buf + len; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', buf + len - line)) == NULL)
			nl = buf + len;		/* last line, no newline */
		linelen = (size_t)(nl - line);
		if (linelen > 0 && line[linelen - 1] == '\r')
			linelen--;
		if (linelen > CONFIG_MAX_LINE) {
			errorf(err, errlen,
			    "%s:%d: line too long (max %d bytes)", path, lineno,
			    CONFIG_MAX_LINE);
			goto fail;
		}
		line[linelen] = '\0';
		if (config_parse_line(cf, line, linelen, seen, reason,
		    sizeof(reason)) == -1) {
			errorf(err, errlen, "%s:%d: %s", path, lineno,
			    reason);
			goto fail;
		}
	}

	if (cf->ntoken_secret_files == 0) {
		errorf(err, errlen, "%s: no token_secret_file", path);
		goto fail;
	}
	if (config_check(cf, reason, sizeof(reason)) == -1) {
		errorf(err, errlen, "%s: %s", path, reason);
		goto fail;
	}
	/* listen.c reads the mode from the endpoint it binds. */
	cf->api_listen.unix_mode = (unsigned)cf->api_listen_mode;
	/* So the key need not sit in a world-readable file. */
	if ((key = getenv("FANFARE_ADMIN_KEY")) != NULL && key[0] != '\0') {
		free(cf->admin_key);
		cf->admin_key = xstrdup(key);
	}
	free(buf);
	return 0;
fail:
	free(buf);
	config_free(cf);
	return -1;
}

/*
 * "host:port", "[v6addr]:port" or "unix:/absolute/path".  host is an
 * IPv4 address or a name (letters, digits, '-', '.', '_'); an IPv6
 * address needs brackets, so the last ':' is never ambiguous.  port is
 * 1-65535.  On success *ep owns copies; on failure it is untouched.
 */
int
config_parse_endpoint(const char *s, struct ff_endpoint *ep)
{
	struct sockaddr_un	 sa;
	struct in6_addr		 in6;
	const char		*host, *colon, *port;
	char			 addr[INET6_ADDRSTRLEN + 1];
	uint64_t		 portnum;
	size_t			 hostlen, i;

	if (s == NULL)
		return -1;
	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/' || strlen(s + 5) >= sizeof(sa.sun_path))
			return -1;
		for (i = 5; s[i] != '\0'; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return -1;
		memset(ep, 0, sizeof(*ep));
		ep->unix_path = xstrdup(s + 5);
		return 0;
	}

	if (s[0] == '[') {
		host = s + 1;
		if ((colon = strchr(host, ']')) == NULL || colon[1] != ':')
			return -1;
		hostlen = (size_t)(colon - host);
		port = colon + 2;
		if (hostlen == 0 || hostlen >= sizeof(addr))
			return -1;
		memcpy(addr, host, hostlen);
		addr[hostlen] = '\0';
		if (inet_pton(AF_INET6, addr, &in6) != 1)
			return -1;
	} else {
		host = s;
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hostlen = (size_t)(colon - host);
		port = colon + 1;
		if (hostlen == 0 || hostlen > 253)
			return -1;
		for (i = 0; i < hostlen; i++) {
			char c = host[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			    c == '_'))
				return -1;
		}
	}
	if (!all_digits(port, strlen(port)) ||
	    parse_u64(port, strlen(port), &portnum) == -1 ||
	    portnum < 1 || portnum > 65535)
		return -1;

	memset(ep, 0, sizeof(*ep));
	ep->host = xmalloc(hostlen + 1);
	memcpy(ep->host, host, hostlen);
	ep->host[hostlen] = '\0';
	ep->port = (int)portnum;
	return 0;
}

/*
 * The redis directive: an endpoint as above, or "cluster:" and a comma
 * list of TCP seed nodes (at most FF_MAX_SEEDS, no spaces), any of which
 * tells the data layer the rest of the cluster.
 */
int
config_parse_redis(const char *s, struct ff_endpoint *ep)
{
	struct ff_endpoint	 out, one;
	const char		*p, *comma;
	char			 buf[300];
	size_t			 n;

	if (s == NULL || strncmp(s, "cluster:", 8) != 0)
		return config_parse_endpoint(s, ep);
	memset(&out, 0, sizeof(out));
	out.seeds = xcalloc(FF_MAX_SEEDS, sizeof(*out.seeds));
	for (p = s + 8;; p = comma + 1) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || n >= sizeof(buf) || out.nseeds == FF_MAX_SEEDS)
			goto fail;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (config_parse_endpoint(buf, &one) == -1)
			goto fail;
		if (one.unix_path != NULL) {	/* a cluster speaks TCP */
			config_free_endpoint(&one);
			goto fail;
		}
		out.seeds[out.nseeds].host = one.host;
		out.seeds[out.nseeds++].port = one.port;
		if (comma == NULL)
			break;
	}
	out.host = xstrdup(out.seeds[0].host);
	out.port = out.seeds[0].port;
	*ep = out;
	return 0;
fail:
	config_free_endpoint(&out);
	return -1;
}
