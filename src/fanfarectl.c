/*
 * fanfarectl.c: the operator's command line.  Reads the same config file
 * as fanfared, talks to Redis synchronously (it is not a server), prints
 * results on stdout and errors on stderr.
 *
 * Everything it does to a tenant's data goes through the API's own core
 * functions (api_tenant_create, api_subject_erase, ...), so a tenant
 * made here, a key revoked here or a person erased here is exactly what
 * the API would have made: the same key hashing, the same keyed-hash
 * suppression and the same audit record, with "fanfarectl" as the actor
 * where the API writes the key prefix.  What it reads or writes apart
 * from those goes through the same stores as the API's (store_*.h):
 * this file only parses arguments and prints.
 *
 * Exit status: 0 success; 1 the operation failed (not found, Redis
 * down, a refused state); 2 bad usage (including a value the API would
 * refuse with 400 or 422).
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "janitor.h"
#include "store_campaign.h"
#include "store_tenant.h"

#define CTL_ACTOR	"fanfarectl"	/* the audit records' key_prefix */

struct ctl {
	const char	*config_path;
	struct config	 conf;
	int		 have_conf;
	struct db	*db;
	struct token_keyring keys;
	uint64_t	 tenant, campaign, contact;
	uint32_t	 link;
	int		 have_tenant, have_campaign, have_contact, have_link;
	const char	*url;
	const char	*token;		/* token verify --token */
	const char	*name;		/* tenant create */
	const char	*retention;	/* tenant create --retention-days */
	const char	*prefix;	/* key revoke */
	const char	*email;		/* subject */
	int		 json;		/* --json */
	const char	*sub;		/* the second word, if any */
	int		 argc;		/* what getopt left: operands */
	char		**argv;
};

/* The options, as data: where each one's value goes in struct ctl
 * (ctl_opts, below, in this order). */
enum ctl_opt_id {
	O_CONFIG, O_TENANT, O_CAMPAIGN, O_CONTACT, O_LINK, O_URL, O_TOKEN,
	O_NAME, O_RETENTION, O_PREFIX, O_EMAIL, O_JSON
};

#define NEED(o)	(1u << (o))

/* A command, and what main checks before it runs: the options it needs
 * (checked in ctl_opts' order), and no operand unless it takes one. */
struct ctl_cmd {
	const char	*name;
	const char	*subs;		/* '|'-separated second words, or NULL */
	const char	*args;		/* for the usage line */
	int		(*run)(struct ctl *);
	unsigned	 needs;		/* NEED(O_...) of the options */
	int		 operand;	/* it reads c->argv itself */
};

static int	cmd_tenant_create(struct ctl *);
static int	cmd_tenant_list(struct ctl *);
static int	cmd_key_create(struct ctl *);
static int	cmd_key_revoke(struct ctl *);
static int	cmd_campaign_show(struct ctl *);
static int	cmd_stats(struct ctl *);
static int	cmd_subject_export(struct ctl *);
static int	cmd_subject_erase(struct ctl *);
static int	cmd_janitor(struct ctl *);
static int	cmd_check(struct ctl *);
static int	cmd_token(struct ctl *);
static int	cmd_link(struct ctl *);

#define N_TC	(NEED(O_TENANT) | NEED(O_CAMPAIGN))

static const struct ctl_cmd commands[] = {
	{ "tenant", "create", "--name NAME [--retention-days N]",
	    cmd_tenant_create, NEED(O_NAME), 0 },
	{ "tenant", "list", "", cmd_tenant_list, 0, 0 },
	{ "key", "create", "--tenant T", cmd_key_create, NEED(O_TENANT), 0 },
	{ "key", "revoke", "--tenant T --prefix PREFIX", cmd_key_revoke,
	    NEED(O_TENANT) | NEED(O_PREFIX), 0 },
	{ "campaign", "show", "--tenant T --campaign C", cmd_campaign_show,
	    N_TC, 0 },
	{ "stats", NULL, "--tenant T --campaign C", cmd_stats, N_TC, 0 },
	{ "subject", "export", "--tenant T --email ADDRESS",
	    cmd_subject_export, NEED(O_TENANT) | NEED(O_EMAIL), 0 },
	{ "subject", "erase", "--tenant T --email ADDRESS", cmd_subject_erase,
	    NEED(O_TENANT) | NEED(O_EMAIL), 0 },
	{ "janitor", NULL, "", cmd_janitor, 0, 0 },
	{ "check", NULL, "", cmd_check, 0, 0 },
	{ "token", "open|click|unsubscribe",
	    "--tenant T --campaign C --contact K [--link N]", cmd_token,
	    N_TC | NEED(O_CONTACT), 0 },
	{ "token", "verify", "[--token] TOKEN", cmd_token, 0, 1 },
	{ "link", "set", "--tenant T --campaign C --link N --url URL",
	    cmd_link, N_TC | NEED(O_LINK) | NEED(O_URL), 0 },
};

static void
usage_to(FILE *f)
{
	size_t	i;

	for (i = 0; i < FF_NELEM(commands); i++)
		fprintf(f, "%s fanfarectl %s%s%s --config FILE [--json]%s%s\n",
		    i == 0 ? "usage:" : "      ", commands[i].name,
		    commands[i].subs ? " " : "",
		    commands[i].subs ? commands[i].subs : "",
		    commands[i].args[0] ? " " : "", commands[i].args);
	fprintf(f, "       fanfarectl --help\n"
	    "exit status: 0 done, 1 failed or not found, 2 bad usage\n");
}

static void FF_ATTR_NORETURN
usage(void)
{
	usage_to(stderr);
	exit(2);
}

/* A complaint about the arguments: exit 2. */
static void FF_ATTR_PRINTF(1, 2) FF_ATTR_NORETURN
bad_usage(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "fanfarectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* 1 when word is one of the '|'-separated words of list. */
static int
word_in(const char *word, const char *list)
{
	size_t		 n = strlen(word);
	const char	*p = list;

	for (;;) {
		if (strncmp(p, word, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, '|')) == NULL)
			return 0;
		p++;
	}
}

static uint64_t
arg_u64(const char *name, const char *s)
{
	uint64_t	v;

	if (parse_u64(s, strlen(s), &v) == -1)
		bad_usage("--%s: '%s' is not a number", name, s);
	return v;
}

enum ctl_opt_kind {
	OPT_STRING,		/* const char *, as given */
	OPT_ID,			/* uint64_t, and its have_ flag */
	OPT_LINK,		/* uint32_t, and its have_ flag */
	OPT_FLAG,		/* int, set to 1; no argument */
};

#define CTL(m)	offsetof(struct ctl, m)

static const struct ctl_opt {
	const char		*name;
	enum ctl_opt_kind	 kind;
	size_t			 off;
	size_t			 have_off;	/* OPT_ID, OPT_LINK */
} ctl_opts[] = {
	[O_CONFIG] = { "config", OPT_STRING, CTL(config_path), 0 }, /* -f */
	[O_TENANT] = { "tenant", OPT_ID, CTL(tenant), CTL(have_tenant) },
	[O_CAMPAIGN] = { "campaign", OPT_ID, CTL(campaign),
	    CTL(have_campaign) },
	[O_CONTACT] = { "contact", OPT_ID, CTL(contact), CTL(have_contact) },
	[O_LINK] = { "link", OPT_LINK, CTL(link), CTL(have_link) },
	[O_URL] = { "url", OPT_STRING, CTL(url), 0 },
	[O_TOKEN] = { "token", OPT_STRING, CTL(token), 0 },
	[O_NAME] = { "name", OPT_STRING, CTL(name), 0 },
	[O_RETENTION] = { "retention-days", OPT_STRING, CTL(retention), 0 },
	[O_PREFIX] = { "prefix", OPT_STRING, CTL(prefix), 0 },
	[O_EMAIL] = { "email", OPT_STRING, CTL(email), 0 },
	[O_JSON] = { "json", OPT_FLAG, CTL(json), 0 },
};

#define OPT_VAL_BASE	256	/* getopt's val for ctl_opts[i]: no letter */

static void
set_option(struct ctl *c, const struct ctl_opt *o, const char *arg)
{
	char		*at = (char *)c + o->off;
	uint64_t	 v;

	switch (o->kind) {
	case OPT_STRING:
		*(const char **)(void *)at = arg;
		return;
	case OPT_FLAG:
		*(int *)(void *)at = 1;
		return;
	case OPT_ID:
		*(uint64_t *)(void *)at = arg_u64(o->name, arg);
		break;
	case OPT_LINK:
		if ((v = arg_u64(o->name, arg)) > UINT32_MAX)
			bad_usage("--%s: too large", o->name);
		*(uint32_t *)(void *)at = (uint32_t)v;
		break;
	}
	*(int *)(void *)((char *)c + o->have_off) = 1;
}

static void
parse_args(struct ctl *c, int argc, char *argv[])
{
	struct option	opts[FF_NELEM(ctl_opts) + 1];
	size_t		i;
	int		ch;

	memset(opts, 0, sizeof(opts));
	for (i = 0; i < FF_NELEM(ctl_opts); i++) {
		opts[i].name = ctl_opts[i].name;
		opts[i].has_arg = ctl_opts[i].kind == OPT_FLAG ? no_argument :
		    required_argument;
		opts[i].val = OPT_VAL_BASE + (int)i;
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (ch == 'f')
			ch = OPT_VAL_BASE;	/* --config */
		if (ch < OPT_VAL_BASE ||
		    ch >= OPT_VAL_BASE + (int)FF_NELEM(ctl_opts))
			usage();
		set_option(c, &ctl_opts[ch - OPT_VAL_BASE], optarg);
	}
	if (c->config_path == NULL)
		bad_usage("--config is required");
	c->argc = argc - optind;
	c->argv = argv + optind;
}

static void
need(int have, const char *name)
{
	if (!have)
		bad_usage("--%s is required", name);
}

static void
no_operands(struct ctl *c)
{
	if (c->argc != 0)
		bad_usage("unexpected argument '%s'", c->argv[0]);
}

/* Bad usage unless cmd's operands and the options it needs, in
 * ctl_opts' order, were given; main checks this before cmd runs. */
static void
check_args(struct ctl *c, const struct ctl_cmd *cmd)
{
	const struct ctl_opt	*o;
	size_t			 i;
	int			 have;

	if (!cmd->operand)
		no_operands(c);
	for (i = 0; i < FF_NELEM(ctl_opts); i++) {
		if ((cmd->needs & NEED(i)) == 0)
			continue;
		o = &ctl_opts[i];
		if (o->kind == OPT_STRING)
			have = *(const char **)(void *)((char *)c + o->off) !=
			    NULL;
		else
			have = *(int *)(void *)((char *)c + o->have_off);
		need(have, o->name);
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
load_keys(struct ctl *c)
{
	char	err[1024];

	if (token_keyring_load(&c->keys, &c->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
}

/* The config and the Redis connection (opened by its first command). */
static void
open_db(struct ctl *c)
{
	load_config(c);
	c->db = db_open(&c->conf.redis);
}

/* Prints and frees o; JSON_COMPACT is how the API encodes it. */
static void
print_json(json_t *o, size_t flags)
{
	json_dumpf(o, stdout, flags);
	putchar('\n');
	json_decref(o);
}

/* Reports a core function's error: on stderr, and with --json as the
 * API's error object on stdout too.  Returns the exit status. */
static int
fail(struct ctl *c, const struct api_err *err)
{
	fprintf(stderr, "fanfarectl: %s (%s)\n", err->message, err->code);
	if (c->json)
		print_json(json_pack("{s:{s:s, s:s}}", "error", "code",
		    err->code, "message", err->message), JSON_COMPACT);
	return ctl_exit_status(err->status);
}

static void
print_line(char *line)
{
	puts(line);
	free(line);
}

/* A core function's answer: its JSON with --json, else the one line
 * that fmt makes of it. */
static int
answer(struct ctl *c, json_t *o, char *(*fmt)(const json_t *))
{
	if (c->json)
		print_json(o, JSON_COMPACT);
	else {
		print_line(fmt(o));
		json_decref(o);
	}
	return 0;
}

/* The core's context for the tenant of --tenant, as it is, with the
 * Redis connection open. */
static void
open_ctx(struct ctl *c, struct api_ctx *ctx)
{
	open_db(c);
	ctx->db = c->db;
	ctx->keys = NULL;
	ctx->tenant = c->tenant;
	ctx->actor = CTL_ACTOR;
}

/* open_ctx's for a tenant that must be active, as for an API key, with
 * the token keys (the keyed hashes of erased addresses): 0, or the exit
 * status after reporting. */
static int
tenant_ctx(struct ctl *c, struct api_ctx *ctx)
{
	struct api_err	err;

	open_ctx(c, ctx);
	load_keys(c);
	ctx->keys = &c->keys;
	switch (store_tenant_state(c->db, c->tenant)) {
	case TENANT_ACTIVE:
		break;
	case TENANT_DELETING:
		api_err_set(&err, 404, "not_found", "tenant %llu is being "
		    "deleted", (unsigned long long)c->tenant);
		return fail(c, &err);
	case TENANT_NONE:
		api_err_set(&err, 404, "not_found", "no such tenant: %llu",
		    (unsigned long long)c->tenant);
		return fail(c, &err);
	default:
		api_err_unavailable(&err);
		return fail(c, &err);
	}
	return 0;
}

/* ------------------------------------------------------------ tenants */

static void
print_key(struct ctl *c, json_t *o)
{
	if (c->json) {
		print_json(o, JSON_COMPACT);
		return;
	}
	if (json_object_get(o, "id") != NULL)
		printf("tenant: %s\n", json_string_value(json_object_get(o,
		    "id")));
	printf("api key: %s (shown this once)\nkey prefix: %s\n",
	    json_string_value(json_object_get(o, "api_key")),
	    json_string_value(json_object_get(o, "key_prefix")));
	json_decref(o);
}

/* POST /v1/tenants with {"name", "retention_days"?}. */
static int
cmd_tenant_create(struct ctl *c)
{
	struct api_err	 err;
	json_t		*body, *o;
	uint64_t	 days;

	body = json_pack("{s:s}", "name", c->name);
	if (body == NULL)
		bad_usage("--name: '%s' is not UTF-8", c->name);
	if (c->retention != NULL) {
		/* Out of any json_int_t is out of the API's range too: its
		 * check says so. */
		days = arg_u64("retention-days", c->retention);
		json_object_set_new(body, "retention_days", json_integer(
		    days > 1000000 ? 1000000 : (json_int_t)days));
	}
	open_db(c);
	o = api_tenant_create(c->db, c->conf.retention_days, body, &err);
	json_decref(body);
	if (o == NULL)
		return fail(c, &err);
	print_key(c, o);
	return 0;
}

static int
cmd_tenant_list(struct ctl *c)
{
	struct api_err	 err;
	json_t		*o;
	size_t		 i;

	open_db(c);
	if ((o = api_tenant_list(c->db, &err)) == NULL)
		return fail(c, &err);
	if (c->json) {
		print_json(o, JSON_COMPACT);
		return 0;
	}
	for (i = 0; i < json_array_size(json_object_get(o, "items")); i++)
		print_line(ctl_tenant_line(json_array_get(json_object_get(o,
		    "items"), i)));
	json_decref(o);
	return 0;
}

/* POST /v1/tenants/T/keys: a new key, shown once. */
static int
cmd_key_create(struct ctl *c)
{
	struct api_err	 err;
	json_t		*o;

	open_db(c);
	if ((o = api_tenant_key_create(c->db, c->tenant, &err)) == NULL)
		return fail(c, &err);
	print_key(c, o);
	return 0;
}

/* DELETE /v1/tenants/T/keys/PREFIX. */
static int
cmd_key_revoke(struct ctl *c)
{
	struct api_err	err;

	open_db(c);
	if (api_tenant_key_revoke(c->db, c->tenant, c->prefix, &err) == -1)
		return fail(c, &err);
	if (c->json)
		print_json(json_pack("{s:s}", "revoked", c->prefix), JSON_COMPACT);
	else
		printf("key %s of tenant %llu revoked\n", c->prefix,
		    (unsigned long long)c->tenant);
	return 0;
}

/* ---------------------------------------------------------- campaigns */

/* GET /v1/campaigns/C: one progress line, or the API's JSON. */
static int
cmd_campaign_show(struct ctl *c)
{
	struct api_ctx	 ctx;
	struct api_err	 err;
	json_t		*o;

	open_ctx(c, &ctx);
	if ((o = api_campaign_get(&ctx, c->campaign, &err)) == NULL)
		return fail(c, &err);
	return answer(c, o, ctl_progress_line);
}

/* The stats object of API.md, as GET /v1/campaigns/C/stats shows it;
 * always JSON (it is data, not a summary). */
static int
cmd_stats(struct ctl *c)
{
	struct api_ctx	 ctx;
	struct api_err	 err;
	json_t		*o;
	int		 rc;

	open_ctx(c, &ctx);
	/* Unlike the API, the tracking data alone is enough: the operator
	 * may track a campaign made with `link set` and `token` only. */
	if ((rc = store_campaign_known(c->db, c->tenant, c->campaign)) != 1) {
		if (rc == -1)
			api_err_unavailable(&err);
		else
			api_err_set(&err, 404, "not_found", "no such campaign");
		return fail(c, &err);
	}
	if ((o = api_campaign_stats(&ctx, c->campaign, &err)) == NULL)
		return fail(c, &err);
	print_json(o, JSON_COMPACT);
	return 0;
}

/* ------------------------------------------------------- data subjects */

static void
need_address(struct ctl *c)
{
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];

	if (validate_email(c->email, strlen(c->email), addr, key) == -1)
		bad_usage("--email: '%s' is not an email address", c->email);
}

/* The core's answer for --tenant and --email, as subject export and
 * subject erase share them: o, or NULL with the exit status in *rc. */
static json_t *
subject_call(struct ctl *c, json_t *(*call)(const struct api_ctx *,
    const char *, struct api_err *), int *rc)
{
	struct api_ctx	 ctx;
	struct api_err	 err;
	json_t		*o;

	need_address(c);
	if ((*rc = tenant_ctx(c, &ctx)) != 0)
		return NULL;
	if ((o = call(&ctx, c->email, &err)) == NULL)
		*rc = fail(c, &err);
	return o;
}

/* GET /v1/subjects/A: the API's JSON (indented unless --json). */
static int
cmd_subject_export(struct ctl *c)
{
	json_t	*o;
	int	 rc;

	if ((o = subject_call(c, api_subject_export, &rc)) == NULL)
		return rc;
	print_json(o, c->json ? JSON_COMPACT : JSON_INDENT(2));
	return 0;
}

/* DELETE /v1/subjects/A: what was erased, one line or the API's JSON. */
static int
cmd_subject_erase(struct ctl *c)
{
	json_t	*o;
	int	 rc;

	if ((o = subject_call(c, api_subject_erase, &rc)) == NULL)
		return rc;
	return answer(c, o, ctl_erased_line);
}

/* --------------------------------------------------- operator's tools */

/* Retention and due purges now; the report, always as JSON. */
static int
cmd_janitor(struct ctl *c)
{
	struct janitor_report	rep;
	struct api_err		err;

	open_db(c);
	if (janitor_run(c->db, now_ms(), &rep) == -1) {
		api_err_unavailable(&err);
		return fail(c, &err);
	}
	print_json(json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "tenants_purged", (json_int_t)rep.tenants_purged,
	    "keys_purged", (json_int_t)rep.keys_purged,
	    "streams", (json_int_t)rep.streams,
	    "entries_trimmed", (json_int_t)rep.entries_trimmed,
	    "messages_trimmed", (json_int_t)rep.messages_trimmed),
	    JSON_COMPACT);
	return 0;
}

/* The config file as fanfared -t reads it, and its token secrets. */
static int
cmd_check(struct ctl *c)
{
	load_config(c);
	load_keys(c);
	if (c->json)
		print_json(json_pack("{s:s, s:b, s:i}", "config",
		    c->config_path, "ok", 1, "token_secrets", c->keys.nkeys), JSON_COMPACT);
	else
		printf("%s: configuration OK\n", c->config_path);
	return 0;
}

static int
cmd_token(struct ctl *c)
{
	struct token	t;
	char		out[TOKEN_MAX_LEN + 1];
	json_t		*o;

	memset(&t, 0, sizeof(t));
	if (strcmp(c->sub, "verify") == 0) {
		/* A token may start with '-': --token T, or after "--". */
		if (c->token == NULL) {
			if (c->argc != 1)
				usage();
			c->token = c->argv[0];
		} else
			no_operands(c);
		load_config(c);
		load_keys(c);
		if (token_verify(&c->keys, c->token, strlen(c->token), &t) ==
		    -1) {
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
		print_json(o, JSON_COMPACT);
		return 0;
	}
	t.kind = strcmp(c->sub, "open") == 0 ? TOKEN_OPEN :
	    strcmp(c->sub, "click") == 0 ? TOKEN_CLICK : TOKEN_UNSUB;
	if (t.kind == TOKEN_CLICK)
		need(c->have_link, "link");
	else if (c->have_link)
		bad_usage("--link is only for click");
	t.tenant = c->tenant;
	t.campaign = c->campaign;
	t.contact = c->contact;
	t.link = c->link;
	load_config(c);
	load_keys(c);
	if (token_sign(&c->keys, &t, out) == 0) {
		fprintf(stderr, "fanfarectl: cannot sign\n");
		return 1;
	}
	if (c->json)
		print_json(json_pack("{s:s, s:s++}", "token", out, "path",
		    t.kind == TOKEN_OPEN ? "/o/" : t.kind == TOKEN_CLICK ?
		    "/c/" : "/u/", out, t.kind == TOKEN_OPEN ? ".gif" : ""), JSON_COMPACT);
	else
		printf(t.kind == TOKEN_OPEN ? "/o/%s.gif\n" : t.kind ==
		    TOKEN_CLICK ? "/c/%s\n" : "/u/%s\n", out);
	return 0;
}

static int
cmd_link(struct ctl *c)
{
	struct api_err	 err;

	if (!policy_url_is_safe(c->url, strlen(c->url))) {
		fprintf(stderr, "fanfarectl: '%s' is not an absolute http(s) "
		    "URL a click may redirect to\n", c->url);
		return 1;
	}
	open_db(c);
	if (store_campaign_link_set(c->db, c->tenant, c->campaign, c->link,
	    c->url) == -1) {
		api_err_unavailable(&err);
		return fail(c, &err);
	}
	if (c->json)
		print_json(json_pack("{s:i, s:s}", "link", (int)c->link, "url",
		    c->url), JSON_COMPACT);
	return 0;
}

int
main(int argc, char *argv[])
{
	const struct ctl_cmd	*cmd = NULL;
	struct ctl		 c;
	size_t			 i;
	int			 words, rc, known = 0;

	log_init("fanfarectl", JSON_COMPACT);
	memset(&c, 0, sizeof(c));
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)) {
		usage_to(stdout);
		return 0;
	}
	if (argc < 2)
		usage();
	for (i = 0; i < FF_NELEM(commands) && cmd == NULL; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		known = 1;
		if (commands[i].subs == NULL)
			cmd = &commands[i];
		else if (argc >= 3 && word_in(argv[2], commands[i].subs))
			cmd = &commands[i];
	}
	if (cmd == NULL) {
		if (known)
			fprintf(stderr, "fanfarectl: %s: %s%s\n", argv[1], argc >=
			    3 ? "unknown subcommand " : "a subcommand is needed",
			    argc >= 3 ? argv[2] : "");
		else
			fprintf(stderr, "fanfarectl: unknown command '%s'\n",
			    argv[1]);
		usage();
	}
	words = cmd->subs != NULL ? 2 : 1;
	c.sub = cmd->subs != NULL ? argv[2] : NULL;
	parse_args(&c, argc - words, argv + words);
	check_args(&c, cmd);
	rc = cmd->run(&c);
	db_close(c.db);
	if (c.have_conf)
		config_free(&c.conf);
	return rc;
}
