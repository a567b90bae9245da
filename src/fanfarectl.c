/*
 * fanfarectl.c: the operator's command line.  Reads the same config file
 * as fanfared, talks to Redis synchronously (it is not a server), prints
 * results on stdout and errors on stderr.  Exit codes: 0 success, 1 the
 * operation failed, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "api.h"

struct ctl {
	const char	*config_path;
	struct config	 conf;
	int		 have_conf;
	uint64_t	 tenant, campaign, contact;
	uint32_t	 link;
	int		 have_tenant, have_campaign, have_contact, have_link;
	const char	*url;
	const char	*token;		/* token verify --token */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fanfarectl token open|click|unsubscribe --config FILE "
	    "--tenant T --campaign C --contact K [--link N]\n"
	    "       fanfarectl token verify --config FILE [--token] TOKEN\n"
	    "       fanfarectl link set --config FILE --tenant T --campaign C "
	    "--link N --url URL\n"
	    "       fanfarectl stats --config FILE --tenant T --campaign C\n"
	    "       fanfarectl janitor --config FILE\n"
	    "       fanfarectl check --config FILE\n");
	exit(2);
}

static uint64_t
arg_u64(const char *name, const char *s)
{
	uint64_t	v;

	if (parse_u64(s, strlen(s), &v) == -1) {
		fprintf(stderr, "fanfarectl: --%s: '%s' is not a number\n",
		    name, s);
		exit(2);
	}
	return v;
}

static void
parse_args(struct ctl *c, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "tenant", required_argument, NULL, 't' },
		{ "campaign", required_argument, NULL, 'c' },
		{ "contact", required_argument, NULL, 'k' },
		{ "link", required_argument, NULL, 'l' },
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t	v;
	int		ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			c->config_path = optarg;
			break;
		case 't':
			c->tenant = arg_u64("tenant", optarg);
			c->have_tenant = 1;
			break;
		case 'c':
			c->campaign = arg_u64("campaign", optarg);
			c->have_campaign = 1;
			break;
		case 'k':
			c->contact = arg_u64("contact", optarg);
			c->have_contact = 1;
			break;
		case 'l':
			v = arg_u64("link", optarg);
			if (v > UINT32_MAX) {
				fprintf(stderr, "fanfarectl: --link: too "
				    "large\n");
				exit(2);
			}
			c->link = (uint32_t)v;
			c->have_link = 1;
			break;
		case 'u':
			c->url = optarg;
			break;
		case 'T':
			c->token = optarg;
			break;
		default:
			usage();
		}
	}
	if (c->config_path == NULL) {
		fprintf(stderr, "fanfarectl: --config is required\n");
		exit(2);
	}
}

static void
need(int have, const char *name)
{
	if (!have) {
		fprintf(stderr, "fanfarectl: --%s is required\n", name);
		exit(2);
	}
}

static void
load_config(struct ctl *c)
{
	char	err[1024];

	if (config_load(&c->conf, c->config_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	c->have_conf = 1;
}

static void
load_keys(struct ctl *c, struct token_keyring *keys)
{
	char	err[1024];

	memset(keys, 0, sizeof(*keys));
	if (token_keyring_load(keys, &c->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
}

static redisContext *
redis_open(struct ctl *c)
{
	struct timeval	 tv = { 5, 0 };
	redisContext	*rc;

	if (c->conf.redis.unix_path != NULL)
		rc = redisConnectUnixWithTimeout(c->conf.redis.unix_path, tv);
	else
		rc = redisConnectWithTimeout(c->conf.redis.host,
		    c->conf.redis.port, tv);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "fanfarectl: redis: %s\n",
		    rc ? rc->errstr : "out of memory");
		exit(1);
	}
	redisSetTimeout(rc, tv);
	return rc;
}

static redisReply *
redis_cmd(redisContext *rc, const char *fmt, ...)
{
	redisReply	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = redisvCommand(rc, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		fprintf(stderr, "fanfarectl: redis: %s\n", rc->errstr);
		exit(1);
	}
	if (r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "fanfarectl: redis: %s\n", r->str);
		exit(1);
	}
	return r;
}

static int
cmd_token(struct ctl *c, const char *kind, int argc, char *argv[])
{
	struct token_keyring	keys;
	struct token		t;
	char			out[TOKEN_MAX_LEN + 1];
	json_t			*o;

	memset(&t, 0, sizeof(t));
	if (strcmp(kind, "verify") == 0) {
		/* A token may start with '-': --token T, or after "--". */
		if (c->token == NULL) {
			if (optind != argc - 1)
				usage();
			c->token = argv[optind];
		} else if (optind != argc)
			usage();
		load_config(c);
		load_keys(c, &keys);
		if (token_verify(&keys, c->token, strlen(c->token), &t) == -1) {
			fprintf(stderr, "fanfarectl: token is not valid\n");
			return 1;
		}
		o = json_pack("{s:s, s:I, s:I, s:I}", "kind",
		    t.kind == TOKEN_OPEN ? "open" : t.kind == TOKEN_CLICK ?
		    "click" : "unsubscribe", "tenant", (json_int_t)t.tenant,
		    "campaign", (json_int_t)t.campaign, "contact",
		    (json_int_t)t.contact);
		if (t.kind == TOKEN_CLICK)
			json_object_set_new(o, "link", json_integer(t.link));
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
		return 0;
	}
	if (strcmp(kind, "open") == 0)
		t.kind = TOKEN_OPEN;
	else if (strcmp(kind, "click") == 0)
		t.kind = TOKEN_CLICK;
	else if (strcmp(kind, "unsubscribe") == 0)
		t.kind = TOKEN_UNSUB;
	else
		usage();
	if (optind != argc)
		usage();
	need(c->have_tenant, "tenant");
	need(c->have_campaign, "campaign");
	need(c->have_contact, "contact");
	if (t.kind == TOKEN_CLICK)
		need(c->have_link, "link");
	else if (c->have_link) {
		fprintf(stderr, "fanfarectl: --link is only for click\n");
		exit(2);
	}
	t.tenant = c->tenant;
	t.campaign = c->campaign;
	t.contact = c->contact;
	t.link = c->link;
	load_config(c);
	load_keys(c, &keys);
	if (token_sign(&keys, &t, out) == 0) {
		fprintf(stderr, "fanfarectl: cannot sign\n");
		return 1;
	}
	printf(t.kind == TOKEN_OPEN ? "/o/%s.gif\n" : t.kind == TOKEN_CLICK ?
	    "/c/%s\n" : "/u/%s\n", out);
	return 0;
}

static int
cmd_link(struct ctl *c, const char *verb, int argc)
{
	redisContext	*rc;

	if (strcmp(verb, "set") != 0 || optind != argc)
		usage();
	need(c->have_tenant, "tenant");
	need(c->have_campaign, "campaign");
	need(c->have_link, "link");
	need(c->url != NULL, "url");
	if (!policy_url_is_safe(c->url, strlen(c->url))) {
		fprintf(stderr, "fanfarectl: '%s' is not an absolute http(s) "
		    "URL a click may redirect to\n", c->url);
		return 1;
	}
	load_config(c);
	rc = redis_open(c);
	freeReplyObject(redis_cmd(rc, "HSET {t:%llu:c:%llu}:links %u %s",
	    (unsigned long long)c->tenant, (unsigned long long)c->campaign,
	    c->link, c->url));
	redisFree(rc);
	return 0;
}

/* The stats object of API.md, as GET /v1/campaigns/ID/stats shows it. */
static int
cmd_stats(struct ctl *c, int argc)
{
	struct db	*db;
	json_t		*o;

	if (optind != argc)
		usage();
	need(c->have_tenant, "tenant");
	need(c->have_campaign, "campaign");
	load_config(c);
	db = db_open(&c->conf.redis);
	o = db_campaign_stats(db, c->tenant, c->campaign);
	db_close(db);
	if (o == NULL) {
		fprintf(stderr, "fanfarectl: redis: cannot read the stats\n");
		return 1;
	}
	json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(o);
	return 0;
}

/* Retention and due purges now; the report as JSON. */
static int
cmd_janitor(struct ctl *c, int argc)
{
	struct janitor_report	 rep;
	struct db		*db;
	int			 rc;

	if (optind != argc)
		usage();
	load_config(c);
	db = db_open(&c->conf.redis);
	rc = janitor_run(db, now_ms(), &rep);
	db_close(db);
	if (rc == -1) {
		fprintf(stderr, "fanfarectl: janitor: redis failed\n");
		return 1;
	}
	printf("{\"tenants_purged\":%lld,\"keys_purged\":%lld,"
	    "\"streams\":%lld,\"entries_trimmed\":%lld}\n",
	    rep.tenants_purged, rep.keys_purged, rep.streams,
	    rep.entries_trimmed);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ctl	 c;
	const char	*cmd, *sub = NULL;
	int		 rc;

	log_init("fanfarectl", 0);
	memset(&c, 0, sizeof(c));
	if (argc < 2)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "token") == 0 || strcmp(cmd, "link") == 0) {
		if (argc < 3)
			usage();
		sub = argv[2];
		parse_args(&c, argc - 2, argv + 2);
		argc -= 2;
		argv += 2;
	} else {
		parse_args(&c, argc - 1, argv + 1);
		argc -= 1;
		argv += 1;
	}
	if (strcmp(cmd, "token") == 0)
		rc = cmd_token(&c, sub, argc, argv);
	else if (strcmp(cmd, "link") == 0)
		rc = cmd_link(&c, sub, argc);
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(&c, argc);
	else if (strcmp(cmd, "janitor") == 0)
		rc = cmd_janitor(&c, argc);
	else if (strcmp(cmd, "check") == 0) {
		load_config(&c);
		printf("%s: configuration OK\n", c.config_path);
		rc = 0;
	} else
		usage();
	if (c.have_conf)
		config_free(&c.conf);
	return rc;
}
