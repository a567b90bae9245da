/*
 * test_config.c: config.c must turn every directive type into the right
 * member, keep the defaults where the file is silent, and refuse every
 * bad line with exactly "file:line: reason": unknown names, missing or
 * repeated values, out-of-range numbers at both sides of each bound,
 * malformed sizes, durations, endpoints and CIDRs, over-long lines and
 * stray control bytes.  Files are written into a mkdtemp() directory.
 * contrib/fanfare.conf.sample must load, and must show the defaults.
 */
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fanfare.h"

#define KIB	1024
#define MIB	(1024 * KIB)

static char	 tmpdir[64];
static char	 conf_path[128];	/* tmpdir/fanfare.conf */
static char	 secret_path[128];	/* tmpdir/token.secret */

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(path, "w"), "fopen %s: %s", path,
	    strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void
setup(void)
{
	static const char	 secret[] =
	    "0123456789abcdef0123456789abcdef0123456789abcdef\n";

	unsetenv("FANFARE_ADMIN_KEY");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ff-test-config-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
	snprintf(conf_path, sizeof(conf_path), "%s/fanfare.conf", tmpdir);
	snprintf(secret_path, sizeof(secret_path), "%s/token.secret", tmpdir);
	write_file(secret_path, secret, sizeof(secret) - 1);
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	if (tmpdir[0] != '\0')
		nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Loads text as is (no secret added). */
static int
load_raw(struct config *cf, const char *text, size_t len, char *err,
    size_t errlen)
{
	write_file(conf_path, text, len);
	err[0] = '\0';
	return config_load(cf, conf_path, err, errlen);
}

/* Loads text followed by a token_secret_file line, so line numbers in
 * text count from 1 as written. */
static int
load(struct config *cf, const char *text, char *err, size_t errlen)
{
	char	*full;
	int	 rc;

	xasprintf(&full, "%s\ntoken_secret_file %s\n", text, secret_path);
	rc = load_raw(cf, full, strlen(full), err, errlen);
	free(full);
	return rc;
}

static void
load_ok(struct config *cf, const char *text)
{
	char	err[1024];

	cr_assert_eq(load(cf, text, err, sizeof(err)), 0,
	    "config_load failed on [%s]: %s", text, err);
}

static void
assert_zeroed(const struct config *cf)
{
	static const struct config	zero;

	cr_assert(memcmp(cf, &zero, sizeof(zero)) == 0,
	    "struct config not zeroed");
}

/* A failed load leaves the struct freed and zeroed. */
static void
expect_reason(const char *text, int line, const char *reason)
{
	struct config	 cf;
	char		 err[1024], want[1024];

	snprintf(want, sizeof(want), "%s:%d: %s", conf_path, line, reason);
	cr_assert_eq(load(&cf, text, err, sizeof(err)), -1,
	    "config_load accepted [%s]", text);
	cr_assert_str_eq(err, want, "[%s]", text);
	assert_zeroed(&cf);
	config_free(&cf);
}

/* An error about the file as a whole: "path: reason", no line. */
static void
expect_whole_file(const char *text, const char *reason)
{
	struct config	 cf;
	char		 err[1024], want[1024];

	snprintf(want, sizeof(want), "%s: %s", conf_path, reason);
	cr_assert_eq(load(&cf, text, err, sizeof(err)), -1,
	    "config_load accepted [%s]", text);
	cr_assert_str_eq(err, want, "[%s]", text);
	config_free(&cf);
}

static void
assert_endpoint(const struct ff_endpoint *ep, const char *host, int port,
    const char *unix_path)
{
	if (host == NULL)
		cr_assert_null(ep->host);
	else {
		cr_assert_not_null(ep->host);
		cr_assert_str_eq(ep->host, host);
	}
	cr_assert_eq(ep->port, port);
	if (unix_path == NULL)
		cr_assert_null(ep->unix_path);
	else {
		cr_assert_not_null(ep->unix_path);
		cr_assert_str_eq(ep->unix_path, unix_path);
	}
}

static void
assert_defaults(const struct config *cf)
{
	char	host[HOST_NAME_MAX + 1] = "";

	assert_endpoint(&cf->track_listen, "127.0.0.1", 8080, NULL);
	assert_endpoint(&cf->api_listen, "127.0.0.1", 8081, NULL);
	assert_endpoint(&cf->redis, "127.0.0.1", 6379, NULL);
	cr_assert_str_eq(cf->public_url, "http://127.0.0.1:8080");
	cr_assert_null(cf->geoip_db);
	cr_assert_eq(cf->ntrusted_proxies, 0);
	cr_assert_eq(cf->threads, 2);
	cr_assert_not_null(cf->spool_dir);
	cr_assert_eq(cf->spool_dir[0], '/');
	cr_assert(strstr(cf->spool_dir, "/lib/fanfare/spool") != NULL &&
	    strcmp(strstr(cf->spool_dir, "/lib/fanfare/spool"),
	    "/lib/fanfare/spool") == 0, "spool_dir %s", cf->spool_dir);
	cr_assert_eq(cf->spool_max_bytes, (uint64_t)1024 * 1024 * 1024);
	cr_assert_null(cf->admin_key);
	gethostname(host, sizeof(host) - 1);
	cr_assert_not_null(cf->node_id);
	cr_assert_str_eq(cf->node_id, host[0] != '\0' ? host : "fanfare");
	cr_assert_not_null(cf->templates_dir);
	cr_assert_eq(cf->templates_dir[0], '/');
	cr_assert_eq(cf->max_connections, 10000);
	cr_assert_eq(cf->max_header_bytes, 8 * KIB);
	cr_assert_eq(cf->max_body_bytes, 4 * KIB);
	cr_assert_eq(cf->header_timeout_ms, 10000);
	cr_assert_eq(cf->idle_timeout_ms, 60000);
	cr_assert_eq(cf->link_cache_ttl_s, 300);
	cr_assert_eq(cf->scanner_window_s, 5);
	cr_assert_eq(cf->retention_days, 395);
	cr_assert_eq(cf->verbose, 0);
}

/* ------------------------------------------------------------ defaults */

Test(config, defaults)
{
	struct config	cf;

	memset(&cf, 0xa5, sizeof(cf));		/* not read, only overwritten */
	config_defaults(&cf);
	assert_defaults(&cf);
	cr_assert_null(cf.path);
	cr_assert_eq(cf.ntoken_secret_files, 0);
	config_free(&cf);
	assert_zeroed(&cf);
	config_free(&cf);			/* twice is harmless */
}

Test(config, minimal_file_keeps_defaults)
{
	struct config	cf;

	load_ok(&cf, "");
	assert_defaults(&cf);
	cr_assert_str_eq(cf.path, conf_path);
	cr_assert_eq(cf.ntoken_secret_files, 1);
	cr_assert_str_eq(cf.token_secret_files[0], secret_path);
	config_free(&cf);
	assert_zeroed(&cf);
}

Test(config, every_directive)
{
	struct config	cf;

	load_ok(&cf,
	    "track_listen 0.0.0.0:80\n"
	    "api_listen [::1]:9000\n"
	    "redis unix:/run/redis/redis.sock\n"
	    "token_secret_file /etc/fanfare/old.secret\n"
	    "public_url https://t.example.com/\n"
	    "geoip_db /usr/share/GeoIP/GeoLite2-Country.mmdb\n"
	    "trusted_proxies 10.0.0.0/8\n"
	    "threads 8\n"
	    "spool_dir /srv/spool dir\n"
	    "spool_max_bytes 2G\n"
	    "admin_key s3cret-key\n"
	    "node_id node-7\n"
	    "templates_dir /opt/fanfare/templates\n"
	    "max_connections 500\n"
	    "max_header_bytes 16k\n"
	    "max_body_bytes 0\n"
	    "header_timeout 2500ms\n"
	    "idle_timeout 2m\n"
	    "link_cache_ttl 1h\n"
	    "scanner_window 0\n"
	    "retention_days 30\n"
	    "log_level debug");
	assert_endpoint(&cf.track_listen, "0.0.0.0", 80, NULL);
	assert_endpoint(&cf.api_listen, "::1", 9000, NULL);
	assert_endpoint(&cf.redis, NULL, 0, "/run/redis/redis.sock");
	cr_assert_eq(cf.ntoken_secret_files, 2);
	cr_assert_str_eq(cf.token_secret_files[0], "/etc/fanfare/old.secret");
	cr_assert_str_eq(cf.token_secret_files[1], secret_path);
	cr_assert_str_eq(cf.public_url, "https://t.example.com");
	cr_assert_str_eq(cf.geoip_db, "/usr/share/GeoIP/GeoLite2-Country.mmdb");
	cr_assert_eq(cf.ntrusted_proxies, 1);
	cr_assert_eq(cf.trusted_proxies[0].family, AF_INET);
	cr_assert_eq(cf.trusted_proxies[0].prefix, 8);
	cr_assert_eq(cf.trusted_proxies[0].addr[0], 10);
	cr_assert_eq(cf.threads, 8);
	cr_assert_str_eq(cf.spool_dir, "/srv/spool dir");
	cr_assert_eq(cf.spool_max_bytes, (uint64_t)2 * 1024 * 1024 * 1024);
	cr_assert_str_eq(cf.admin_key, "s3cret-key");
	cr_assert_str_eq(cf.node_id, "node-7");
	cr_assert_str_eq(cf.templates_dir, "/opt/fanfare/templates");
	cr_assert_eq(cf.max_connections, 500);
	cr_assert_eq(cf.max_header_bytes, 16 * KIB);
	cr_assert_eq(cf.max_body_bytes, 0);
	cr_assert_eq(cf.header_timeout_ms, 2500);
	cr_assert_eq(cf.idle_timeout_ms, 120000);
	cr_assert_eq(cf.link_cache_ttl_s, 3600);
	cr_assert_eq(cf.scanner_window_s, 0);
	cr_assert_eq(cf.retention_days, 30);
	cr_assert_eq(cf.verbose, 1);
	config_free(&cf);
	assert_zeroed(&cf);
}

Test(config, reusable_after_free)
{
	struct config	cf;

	load_ok(&cf, "threads 3\nadmin_key a");
	cr_assert_eq(cf.threads, 3);
	config_free(&cf);
	assert_zeroed(&cf);
	load_ok(&cf, "threads 4");
	cr_assert_eq(cf.threads, 4);
	cr_assert_null(cf.admin_key);
	config_free(&cf);
}

/* -------------------------------------------------------------- syntax */

Test(config, comments_blank_lines_and_whitespace)
{
	struct config	cf;

	load_ok(&cf,
	    "# a comment\n"
	    "\n"
	    "   \t \n"
	    "   # an indented comment\n"
	    "#threads 9\n"
	    "  threads   5   # five\n"
	    "\tadmin_key\tab#cd\t#\tthe key keeps its '#'\n"
	    "public_url https://t.example/#frag\n"
	    "templates_dir n1#");
	cr_assert_eq(cf.threads, 5);
	cr_assert_str_eq(cf.admin_key, "ab#cd");
	cr_assert_str_eq(cf.public_url, "https://t.example/#frag");
	cr_assert_str_eq(cf.templates_dir, "n1#");
	config_free(&cf);

	expect_reason("log_level debug#x", 1, "log_level: bad value "
	    "'debug#x' (info|debug)");
	expect_reason("threads#4", 1, "unknown directive 'threads#4'");
}

Test(config, crlf_line_endings)
{
	struct config	 cf;
	char		 err[1024], want[1024], *text;

	xasprintf(&text, "# crlf\r\nthreads 7\r\n\r\nredis [::1]:6380\r\n"
	    "admin_key k # c\r\ntoken_secret_file %s\r\n", secret_path);
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	free(text);
	cr_assert_eq(cf.threads, 7);
	assert_endpoint(&cf.redis, "::1", 6380, NULL);
	cr_assert_str_eq(cf.admin_key, "k");
	cr_assert_str_eq(cf.token_secret_files[0], secret_path);
	config_free(&cf);

	/* Line numbers still count CRLF lines. */
	xasprintf(&text, "threads 2\r\n\r\nthreads 0\r\n");
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), -1);
	free(text);
	snprintf(want, sizeof(want), "%s:3: 'threads' given twice", conf_path);
	cr_assert_str_eq(err, want);
	/* A CR anywhere but before the newline is a broken file. */
	expect_reason("threads 2\r\r", 1, "control character 0x0d");
	expect_reason("admin_key a\rb", 1, "control character 0x0d");
}

Test(config, no_final_newline)
{
	struct config	 cf;
	char		 err[1024], *text;

	xasprintf(&text, "token_secret_file %s\nthreads 3", secret_path);
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	free(text);
	cr_assert_eq(cf.threads, 3);
	config_free(&cf);
}

Test(config, unknown_missing_and_twice)
{
	expect_reason("threads 2\n\n# x\n\n\n\ntrak_listen 1.2.3.4:80", 7,
	    "unknown directive 'trak_listen'");
	expect_reason("Threads 2", 1, "unknown directive 'Threads'");
	expect_reason("redis", 1, "missing value for 'redis'");
	expect_reason("redis   \t", 1, "missing value for 'redis'");
	expect_reason("\n  redis # later", 2, "missing value for 'redis'");
	expect_reason("threads 2\nthreads 2", 2, "'threads' given twice");
	expect_reason("redis a:1\nredis b:2", 2, "'redis' given twice");
	expect_reason("admin_key a\n#\nadmin_key b", 3,
	    "'admin_key' given twice");
	expect_reason("log_level info\nlog_level info", 2,
	    "'log_level' given twice");
}

Test(config, missing_token_secret_file)
{
	struct config	 cf;
	char		 err[1024], want[1024];
	const char	*text = "threads 2\n# token_secret_file /x\n";

	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: no token_secret_file", conf_path);
	cr_assert_str_eq(err, want);
	assert_zeroed(&cf);
	cr_assert_eq(load_raw(&cf, "", 0, err, sizeof(err)), -1);
	cr_assert_str_eq(err, want);
}

Test(config, unreadable_files)
{
	struct config	cf;
	char		err[1024], want[1024], path[128];

	snprintf(path, sizeof(path), "%s/nonexistent.conf", tmpdir);
	cr_assert_eq(config_load(&cf, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	cr_assert_str_eq(err, want);
	assert_zeroed(&cf);

	cr_assert_eq(config_load(&cf, tmpdir, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", tmpdir);
	cr_assert_str_eq(err, want);

	/* A NULL or empty err buffer is allowed. */
	cr_assert_eq(config_load(&cf, path, NULL, 0), -1);
	err[0] = 'x';
	cr_assert_eq(config_load(&cf, path, err, 0), -1);
	cr_assert_eq(err[0], 'x');
}

Test(config, line_length_bounds)
{
	struct config	 cf;
	char		 err[1024], want[1024], *line, *text;
	size_t		 keylen;

	/* "admin_key " + key is exactly 4096 bytes: accepted, also with
	 * CRLF, whose CR is not counted. */
	keylen = 4096 - strlen("admin_key ");
	line = xmalloc(4096 + 2);
	memcpy(line, "admin_key ", 10);
	memset(line + 10, 'k', keylen + 1);
	line[4096] = '\0';
	xasprintf(&text, "%s\r\ntoken_secret_file %s\n", line, secret_path);
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(strlen(cf.admin_key), keylen);
	config_free(&cf);
	free(text);

	/* 4097 bytes: refused, with or without a newline after it. */
	line[4096] = 'k';
	line[4097] = '\0';
	xasprintf(&text, "# first\n%s\ntoken_secret_file %s\n", line,
	    secret_path);
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: line too long (max 4096 bytes)",
	    conf_path);
	cr_assert_str_eq(err, want);
	assert_zeroed(&cf);
	free(text);
	xasprintf(&text, "token_secret_file %s\n%s", secret_path, line);
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), -1);
	cr_assert_str_eq(err, want);
	free(text);

	/* A long comment is still a long line. */
	line[0] = '#';
	cr_assert_eq(load_raw(&cf, line, strlen(line), err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: line too long (max 4096 bytes)",
	    conf_path);
	cr_assert_str_eq(err, want);
	free(line);
}

Test(config, control_bytes)
{
	struct config	 cf;
	char		 err[1024], want[1024];
	static const char text[] = "threads 2\nadmin_key ab\0cd\n";

	cr_assert_eq(load_raw(&cf, text, sizeof(text) - 1, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "%s:2: control character 0x00", conf_path);
	cr_assert_str_eq(err, want);
	expect_reason("admin_key a\033[0m", 1, "control character 0x1b");
	expect_reason("\n\nnode_id a\177", 3, "control character 0x7f");
	/* Control bytes inside a comment are as bad: they hide lines. */
	expect_reason("# \b", 1, "control character 0x08");
}

/* ------------------------------------------------------------- numbers */

Test(config, int_bounds)
{
	struct config	cf;

	load_ok(&cf, "threads 1\nmax_connections 1\nretention_days 1");
	cr_assert_eq(cf.threads, 1);
	cr_assert_eq(cf.max_connections, 1);
	cr_assert_eq(cf.retention_days, 1);
	config_free(&cf);
	load_ok(&cf, "threads 64\nmax_connections 1000000\n"
	    "retention_days 3650");
	cr_assert_eq(cf.threads, FF_MAX_THREADS);
	cr_assert_eq(cf.max_connections, 1000000);
	cr_assert_eq(cf.retention_days, 3650);
	config_free(&cf);
	load_ok(&cf, "threads 007");
	cr_assert_eq(cf.threads, 7);
	config_free(&cf);

	expect_reason("threads 0", 1, "threads: 0 is out of range 1-64");
	expect_reason("threads 65", 1, "threads: 65 is out of range 1-64");
	expect_reason("threads -1", 1, "threads: -1 is out of range 1-64");
	expect_reason("threads 99999999999999999999999", 1,
	    "threads: 99999999999999999999999 is out of range 1-64");
	expect_reason("max_connections 0", 1,
	    "max_connections: 0 is out of range 1-1000000");
	expect_reason("max_connections 1000001", 1,
	    "max_connections: 1000001 is out of range 1-1000000");
	expect_reason("retention_days 0", 1,
	    "retention_days: 0 is out of range 1-3650");
	expect_reason("retention_days 3651", 1,
	    "retention_days: 3651 is out of range 1-3650");
	expect_reason("threads two", 1, "bad integer 'two'");
	expect_reason("threads 2x", 1, "bad integer '2x'");
	expect_reason("threads +2", 1, "bad integer '+2'");
	expect_reason("threads -", 1, "bad integer '-'");
	expect_reason("threads 2 3", 1, "bad integer '2 3'");
	expect_reason("threads 0x10", 1, "bad integer '0x10'");
}

Test(config, sizes)
{
	struct config	cf;

	load_ok(&cf, "max_header_bytes 1k\nmax_body_bytes 0\n"
	    "spool_max_bytes 1M");
	cr_assert_eq(cf.max_header_bytes, KIB);
	cr_assert_eq(cf.max_body_bytes, 0);
	cr_assert_eq(cf.spool_max_bytes, (uint64_t)MIB);
	config_free(&cf);
	load_ok(&cf, "max_header_bytes 64K\nmax_body_bytes 1m\n"
	    "spool_max_bytes 1048576");
	cr_assert_eq(cf.max_header_bytes, 64 * KIB);
	cr_assert_eq(cf.max_body_bytes, MIB);
	cr_assert_eq(cf.spool_max_bytes, (uint64_t)MIB);
	config_free(&cf);
	load_ok(&cf, "max_header_bytes 65536\nmax_body_bytes 1048576\n"
	    "spool_max_bytes 3g");
	cr_assert_eq(cf.max_header_bytes, 64 * KIB);
	cr_assert_eq(cf.max_body_bytes, MIB);
	cr_assert_eq(cf.spool_max_bytes, (uint64_t)3 * 1024 * MIB);
	config_free(&cf);
	load_ok(&cf, "max_header_bytes 1024\nmax_body_bytes 1\n"
	    "spool_max_bytes 1024G");
	cr_assert_eq(cf.max_header_bytes, KIB);
	cr_assert_eq(cf.max_body_bytes, 1);
	cr_assert_eq(cf.spool_max_bytes, (uint64_t)1024 * 1024 * MIB);
	config_free(&cf);

	expect_reason("max_header_bytes 1023", 1,
	    "max_header_bytes: 1023 is out of range 1k-64k");
	expect_reason("max_header_bytes 65537", 1,
	    "max_header_bytes: 65537 is out of range 1k-64k");
	expect_reason("max_header_bytes 1M", 1,
	    "max_header_bytes: 1M is out of range 1k-64k");
	expect_reason("max_body_bytes 1048577", 1,
	    "max_body_bytes: 1048577 is out of range 0-1M");
	expect_reason("max_body_bytes 1025k", 1,
	    "max_body_bytes: 1025k is out of range 0-1M");
	expect_reason("spool_max_bytes 1048575", 1,
	    "spool_max_bytes: 1048575 is below the minimum 1M");
	expect_reason("spool_max_bytes 1023k", 1,
	    "spool_max_bytes: 1023k is below the minimum 1M");
	expect_reason("spool_max_bytes 99999999999G", 1,
	    "spool_max_bytes: 99999999999G is too large");
	expect_reason("spool_max_bytes 99999999999999999999999", 1,
	    "spool_max_bytes: 99999999999999999999999 is too large");
	expect_reason("max_body_bytes 1KB", 1, "bad size '1KB'");
	expect_reason("max_body_bytes k", 1, "bad size 'k'");
	expect_reason("max_body_bytes 1.5k", 1, "bad size '1.5k'");
	expect_reason("max_body_bytes -1", 1, "bad size '-1'");
	expect_reason("max_body_bytes 1 k", 1, "bad size '1 k'");
	expect_reason("spool_max_bytes 1T", 1, "bad size '1T'");
}

Test(config, durations)
{
	struct config	cf;

	load_ok(&cf, "header_timeout 100ms\nidle_timeout 1h\n"
	    "link_cache_ttl 1s\nscanner_window 0");
	cr_assert_eq(cf.header_timeout_ms, 100);
	cr_assert_eq(cf.idle_timeout_ms, 3600000);
	cr_assert_eq(cf.link_cache_ttl_s, 1);
	cr_assert_eq(cf.scanner_window_s, 0);
	config_free(&cf);
	load_ok(&cf, "header_timeout 3600\nidle_timeout 90\n"
	    "link_cache_ttl 1d\nscanner_window 1h");
	cr_assert_eq(cf.header_timeout_ms, 3600000);
	cr_assert_eq(cf.idle_timeout_ms, 90000);
	cr_assert_eq(cf.link_cache_ttl_s, 86400);
	cr_assert_eq(cf.scanner_window_s, 3600);
	config_free(&cf);
	load_ok(&cf, "header_timeout 60m\nidle_timeout 1500ms\n"
	    "link_cache_ttl 24h\nscanner_window 2000ms");
	cr_assert_eq(cf.header_timeout_ms, 3600000);
	cr_assert_eq(cf.idle_timeout_ms, 1500);
	cr_assert_eq(cf.link_cache_ttl_s, 86400);
	cr_assert_eq(cf.scanner_window_s, 2);
	config_free(&cf);

	expect_reason("header_timeout 99ms", 1,
	    "header_timeout: 99ms is out of range 100ms-1h");
	expect_reason("header_timeout 3601s", 1,
	    "header_timeout: 3601s is out of range 100ms-1h");
	expect_reason("header_timeout 0", 1,
	    "header_timeout: 0 is out of range 100ms-1h");
	expect_reason("idle_timeout 2h", 1,
	    "idle_timeout: 2h is out of range 100ms-1h");
	expect_reason("link_cache_ttl 0", 1,
	    "link_cache_ttl: 0 is out of range 1s-1d");
	expect_reason("link_cache_ttl 999ms", 1,
	    "link_cache_ttl: 999ms is out of range 1s-1d");
	expect_reason("link_cache_ttl 86401", 1,
	    "link_cache_ttl: 86401 is out of range 1s-1d");
	expect_reason("scanner_window 61m", 1,
	    "scanner_window: 61m is out of range 0-1h");
	expect_reason("scanner_window 1500ms", 1,
	    "scanner_window: 1500ms is not a whole number of seconds");
	expect_reason("idle_timeout 99999999999999999d", 1,
	    "idle_timeout: 99999999999999999d is out of range 100ms-1h");
	expect_reason("header_timeout 10x", 1, "bad duration '10x'");
	expect_reason("header_timeout s", 1, "bad duration 's'");
	expect_reason("header_timeout 1.5s", 1, "bad duration '1.5s'");
	expect_reason("header_timeout 1h30m", 1, "bad duration '1h30m'");
	expect_reason("header_timeout -1s", 1, "bad duration '-1s'");
	expect_reason("header_timeout 10S", 1, "bad duration '10S'");
	expect_reason("header_timeout 10 s", 1, "bad duration '10 s'");
	expect_reason("header_timeout 10mss", 1, "bad duration '10mss'");
}

/* ------------------------------------------------------------- strings */

Test(config, public_url)
{
	struct config	cf;

	load_ok(&cf, "public_url http://t.example");
	cr_assert_str_eq(cf.public_url, "http://t.example");
	config_free(&cf);
	load_ok(&cf, "public_url https://t.example:8443/track/");
	cr_assert_str_eq(cf.public_url, "https://t.example:8443/track");
	config_free(&cf);
	/* Only one slash is stripped. */
	load_ok(&cf, "public_url https://t.example//");
	cr_assert_str_eq(cf.public_url, "https://t.example/");
	config_free(&cf);

	expect_reason("public_url ftp://t.example", 1,
	    "public_url: 'ftp://t.example' must start with http:// or https://");
	expect_reason("public_url t.example", 1,
	    "public_url: 't.example' must start with http:// or https://");
	expect_reason("public_url HTTP://t.example", 1,
	    "public_url: 'HTTP://t.example' must start with http:// or https://");
	expect_reason("public_url http://", 1,
	    "public_url: 'http://' has no host");
	expect_reason("public_url https:///x", 1,
	    "public_url: 'https:///x' has no host");
	expect_reason("public_url http://a b", 1,
	    "public_url: 'http://a b' contains a space");
}

Test(config, log_level)
{
	struct config	cf;

	load_ok(&cf, "log_level info");
	cr_assert_eq(cf.verbose, 0);
	config_free(&cf);
	load_ok(&cf, "log_level debug");
	cr_assert_eq(cf.verbose, 1);
	config_free(&cf);
	expect_reason("log_level trace", 1,
	    "log_level: bad value 'trace' (info|debug)");
	expect_reason("log_level DEBUG", 1,
	    "log_level: bad value 'DEBUG' (info|debug)");
	expect_reason("log_level debug info", 1,
	    "log_level: bad value 'debug info' (info|debug)");
}

Test(config, admin_key_environment)
{
	struct config	cf;

	load_ok(&cf, "admin_key from-file");
	cr_assert_str_eq(cf.admin_key, "from-file");
	config_free(&cf);

	cr_assert_eq(setenv("FANFARE_ADMIN_KEY", "from-env", 1), 0);
	load_ok(&cf, "admin_key from-file");
	cr_assert_str_eq(cf.admin_key, "from-env");
	config_free(&cf);
	load_ok(&cf, "");
	cr_assert_str_eq(cf.admin_key, "from-env");
	config_free(&cf);

	/* Set but empty: the file wins, or there is no key at all. */
	cr_assert_eq(setenv("FANFARE_ADMIN_KEY", "", 1), 0);
	load_ok(&cf, "admin_key from-file");
	cr_assert_str_eq(cf.admin_key, "from-file");
	config_free(&cf);
	load_ok(&cf, "");
	cr_assert_null(cf.admin_key);
	config_free(&cf);
	unsetenv("FANFARE_ADMIN_KEY");
}

Test(config, token_secret_file_repeats)
{
	struct config	 cf;
	char		 text[4096];
	size_t		 used = 0;
	int		 i;

	load_ok(&cf, "token_secret_file /a\ntoken_secret_file /b c\n"
	    "# token_secret_file /skipped\ntoken_secret_file /a");
	cr_assert_eq(cf.ntoken_secret_files, 4);
	cr_assert_str_eq(cf.token_secret_files[0], "/a");
	cr_assert_str_eq(cf.token_secret_files[1], "/b c");
	cr_assert_str_eq(cf.token_secret_files[2], "/a");
	cr_assert_str_eq(cf.token_secret_files[3], secret_path);
	config_free(&cf);

	/* FF_MAX_SECRETS - 1 here plus the one load() adds: the most. */
	for (i = 0; i < FF_MAX_SECRETS - 1; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "token_secret_file /s%d\n", i);
	load_ok(&cf, text);
	cr_assert_eq(cf.ntoken_secret_files, FF_MAX_SECRETS);
	cr_assert_str_eq(cf.token_secret_files[0], "/s0");
	cr_assert_str_eq(cf.token_secret_files[FF_MAX_SECRETS - 1],
	    secret_path);
	config_free(&cf);

	snprintf(text + used, sizeof(text) - used, "token_secret_file /last");
	/* The ninth is load()'s own line. */
	expect_reason(text, FF_MAX_SECRETS + 1,
	    "token_secret_file: more than 8 given");
	expect_reason("token_secret_file", 1,
	    "missing value for 'token_secret_file'");
}

/* ----------------------------------------------------------- endpoints */

static void
endpoint_ok(const char *s, const char *host, int port, const char *unix_path)
{
	struct ff_endpoint	ep;

	memset(&ep, 0, sizeof(ep));
	cr_assert_eq(config_parse_endpoint(s, &ep), 0, "refused '%s'", s);
	assert_endpoint(&ep, host, port, unix_path);
	config_free_endpoint(&ep);
	cr_assert_null(ep.host);
	cr_assert_null(ep.unix_path);
	cr_assert_eq(ep.port, 0);
}

static void
endpoint_bad(const char *s)
{
	struct ff_endpoint	ep = { .host = (char *)"untouched", .port = 42 };

	cr_assert_eq(config_parse_endpoint(s, &ep), -1, "accepted '%s'", s);
	cr_assert_str_eq(ep.host, "untouched");
	cr_assert_eq(ep.port, 42);
	cr_assert_null(ep.unix_path);
}

Test(config, parse_redis_cluster)
{
	struct ff_endpoint	ep;
	static const char *const bad[] = { "cluster:", "cluster:,",
	    "cluster:h:1,", "cluster:,h:1", "cluster:h", "cluster:h:0",
	    "cluster:unix:/tmp/r.sock", "cluster:h:1 h:2",
	    "cluster:h:1,h:2,h:3,h:4,h:5,h:6,h:7,h:8,h:9,h:10,h:11,h:12,"
	    "h:13,h:14,h:15,h:16,h:17" };
	size_t			i;

	cr_assert_eq(config_parse_redis("cluster:10.0.0.1:7000,[::1]:7001,"
	    "redis-b.example:7002", &ep), 0);
	cr_assert_eq(ep.nseeds, 3);
	cr_assert_str_eq(ep.seeds[0].host, "10.0.0.1");
	cr_assert_eq(ep.seeds[0].port, 7000);
	cr_assert_str_eq(ep.seeds[1].host, "::1");
	cr_assert_eq(ep.seeds[1].port, 7001);
	cr_assert_str_eq(ep.seeds[2].host, "redis-b.example");
	cr_assert_str_eq(ep.host, "10.0.0.1", "host:port are the first seed");
	cr_assert_eq(ep.port, 7000);
	config_free_endpoint(&ep);
	cr_assert_eq(ep.nseeds, 0);
	cr_assert_null(ep.seeds);
	/* One Redis: no seeds. */
	cr_assert_eq(config_parse_redis("127.0.0.1:6379", &ep), 0);
	cr_assert_eq(ep.nseeds, 0);
	config_free_endpoint(&ep);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ep = (struct ff_endpoint){ .host = (char *)"untouched" };
		cr_assert_eq(config_parse_redis(bad[i], &ep), -1,
		    "accepted '%s'", bad[i]);
		cr_assert_str_eq(ep.host, "untouched");
	}
}

Test(config, parse_endpoint)
{
	char	path[200];

	endpoint_ok("127.0.0.1:8080", "127.0.0.1", 8080, NULL);
	endpoint_ok("localhost:1", "localhost", 1, NULL);
	endpoint_ok("redis-1.internal_net.example:65535",
	    "redis-1.internal_net.example", 65535, NULL);
	endpoint_ok("[::1]:6379", "::1", 6379, NULL);
	endpoint_ok("[2001:db8::1]:80", "2001:db8::1", 80, NULL);
	endpoint_ok("[::ffff:192.0.2.1]:443", "::ffff:192.0.2.1", 443, NULL);
	endpoint_ok("unix:/run/redis/redis.sock", NULL, 0,
	    "/run/redis/redis.sock");
	endpoint_ok("unix:/", NULL, 0, "/");

	/* sun_path holds 108 bytes with the NUL. */
	memset(path, 'p', sizeof(path));
	memcpy(path, "unix:/", 6);
	path[5 + 107] = '\0';
	endpoint_ok(path, NULL, 0, path + 5);
	path[5 + 107] = 'p';
	path[5 + 108] = '\0';
	endpoint_bad(path);

	endpoint_bad(NULL);
	endpoint_bad("");
	endpoint_bad("localhost");
	endpoint_bad("localhost:");
	endpoint_bad(":8080");
	endpoint_bad("host:0");
	endpoint_bad("host:65536");
	endpoint_bad("host:99999999999999999999999");
	endpoint_bad("host:8o");
	endpoint_bad("host:+80");
	endpoint_bad("host:-1");
	endpoint_bad("host:80 ");
	endpoint_bad(" host:80");
	endpoint_bad("ho st:80");
	endpoint_bad("host/x:80");
	endpoint_bad("::1:80");
	endpoint_bad("[::1]");
	endpoint_bad("[::1]80");
	endpoint_bad("[::1]:");
	endpoint_bad("[]:80");
	endpoint_bad("[::1:80");
	endpoint_bad("[zz::1]:80");
	endpoint_bad("[127.0.0.1]:80");
	endpoint_bad("[::1]x:80");
	endpoint_bad("unix:");
	endpoint_bad("unix:relative.sock");
	endpoint_bad("unix:/tmp/a\tb");
	endpoint_bad("UNIX:/tmp/x");
}

Test(config, endpoints_in_file)
{
	struct config	cf;

	load_ok(&cf, "track_listen [::]:80\napi_listen unix:/run/fanfare/api"
	    "\nredis [2001:db8::7]:6379");
	assert_endpoint(&cf.track_listen, "::", 80, NULL);
	assert_endpoint(&cf.api_listen, NULL, 0, "/run/fanfare/api");
	assert_endpoint(&cf.redis, "2001:db8::7", 6379, NULL);
	config_free(&cf);

	expect_reason("redis localhost", 1, "bad endpoint 'localhost'");
	expect_reason("\ntrack_listen 1.2.3.4:0", 2,
	    "bad endpoint '1.2.3.4:0'");
	expect_reason("api_listen ::1:8081", 1, "bad endpoint '::1:8081'");
	expect_reason("redis unix:redis.sock", 1,
	    "bad endpoint 'unix:redis.sock'");
}

/* What start-up cannot bind, the load refuses (so fanfared -t does). */
Test(config, listeners_start_up_can_bind)
{
	struct config	cf;

	expect_whole_file("track_listen unix:/run/fanfare/track.sock",
	    "track_listen: a host:port is needed (every tracking thread "
	    "binds it)");
	expect_whole_file("track_listen 127.0.0.1:9000\n"
	    "api_listen 127.0.0.1:9000",
	    "api_listen and track_listen are the same address");
	load_ok(&cf, "track_listen 127.0.0.1:9000\napi_listen 127.0.0.1:9001");
	config_free(&cf);
}

/* node_id names spool files: what spool_open() would refuse, -t does. */
Test(config, node_id_is_a_name)
{
	struct config	cf;

	load_ok(&cf, "node_id web-1.example_B");
	config_free(&cf);
	expect_whole_file("node_id a/b", "node_id: 'a/b' must be 1 to 64 of "
	    "A-Z a-z 0-9 . _ -");
	expect_whole_file("node_id a b", "node_id: 'a b' must be 1 to 64 of "
	    "A-Z a-z 0-9 . _ -");
	load_ok(&cf, "node_id aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaa");
	config_free(&cf);
	expect_whole_file("node_id aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaa", "node_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' must be 1 to 64 of A-Z a-z 0-9 . _ -");
}

/* api_listen_mode: octal as chmod takes it, carried to the endpoint. */
Test(config, api_listen_mode)
{
	struct config	cf;

	load_ok(&cf, "api_listen unix:/run/fanfare/api.sock");
	cr_assert_eq(cf.api_listen_mode, 0660);
	cr_assert_eq(cf.api_listen.unix_mode, 0660u);
	config_free(&cf);
	load_ok(&cf, "api_listen_mode 600\napi_listen unix:/run/f/api.sock");
	cr_assert_eq(cf.api_listen.unix_mode, 0600u);
	config_free(&cf);
	load_ok(&cf, "api_listen_mode 0777");
	cr_assert_eq(cf.api_listen_mode, 0777);
	config_free(&cf);
	expect_reason("api_listen_mode 0999", 1,
	    "api_listen_mode: bad mode '0999' (octal, like 0660)");
	expect_reason("api_listen_mode rw", 1,
	    "api_listen_mode: bad mode 'rw' (octal, like 0660)");
	expect_reason("api_listen_mode 01777", 1,
	    "api_listen_mode: 01777 is out of range 0000-0777");
	expect_reason("api_listen_mode 000000660", 1,
	    "api_listen_mode: bad mode '000000660' (octal, like 0660)");
}

/* --------------------------------------------------------------- cidrs */

Test(config, trusted_proxies)
{
	struct config	 cf;
	char		 text[8192];
	size_t		 used = 0;
	int		 i;

	load_ok(&cf, "trusted_proxies 10.0.0.0/8, 192.168.1.0/24 ::1\n"
	    "trusted_proxies 2001:db8::/32,127.0.0.1\n"
	    "trusted_proxies ,172.16.0.0/12,\t, ");
	cr_assert_eq(cf.ntrusted_proxies, 6);
	cr_assert_eq(cf.trusted_proxies[0].family, AF_INET);
	cr_assert_eq(cf.trusted_proxies[0].prefix, 8);
	cr_assert_eq(cf.trusted_proxies[1].family, AF_INET);
	cr_assert_eq(cf.trusted_proxies[1].prefix, 24);
	cr_assert_eq(cf.trusted_proxies[1].addr[2], 1);
	cr_assert_eq(cf.trusted_proxies[2].family, AF_INET6);
	cr_assert_eq(cf.trusted_proxies[2].prefix, 128);
	cr_assert_eq(cf.trusted_proxies[2].addr[15], 1);
	cr_assert_eq(cf.trusted_proxies[3].family, AF_INET6);
	cr_assert_eq(cf.trusted_proxies[3].prefix, 32);
	cr_assert_eq(cf.trusted_proxies[3].addr[0], 0x20);
	cr_assert_eq(cf.trusted_proxies[4].prefix, 32);
	cr_assert_eq(cf.trusted_proxies[5].prefix, 12);
	config_free(&cf);

	/* FF_MAX_PROXIES fit; one more does not. */
	for (i = 0; i < FF_MAX_PROXIES; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "%s10.0.%d.0/24", i % 16 == 0 ? "\ntrusted_proxies " :
		    ", ", i);
	load_ok(&cf, text + 1);
	cr_assert_eq(cf.ntrusted_proxies, FF_MAX_PROXIES);
	cr_assert_eq(cf.trusted_proxies[FF_MAX_PROXIES - 1].addr[2],
	    FF_MAX_PROXIES - 1);
	config_free(&cf);
	snprintf(text + used, sizeof(text) - used, " 10.1.0.0/16");
	expect_reason(text + 1, FF_MAX_PROXIES / 16,
	    "trusted_proxies: more than 64 given");

	expect_reason("trusted_proxies 10.0.0.0/33", 1,
	    "bad CIDR '10.0.0.0/33'");
	expect_reason("trusted_proxies 10.0.0.0/8,bogus,::1", 1,
	    "bad CIDR 'bogus'");
	expect_reason("trusted_proxies ::1 10.0.0.0/", 1,
	    "bad CIDR '10.0.0.0/'");
	expect_reason("trusted_proxies 10.0.0.0/8;10.1.0.0/16", 1,
	    "bad CIDR '10.0.0.0/8;10.1.0.0/16'");
	expect_reason("trusted_proxies "
	    "1111:2222:3333:4444:5555:6666:7777:8888:9999/128", 1,
	    "bad CIDR '1111:2222:3333:4444:5555:6666:7777:8888:9999/128'");
	expect_reason("trusted_proxies 10.0.0.0/8 "
	    "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef", 1,
	    "bad CIDR "
	    "'abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef'");
	expect_reason("trusted_proxies , ,", 1,
	    "missing value for 'trusted_proxies'");
}

/* ---------------------------------------------------------- the sample */

/* contrib/: from FF_CONTRIB (set by "make check"), else beside this
 * source file. */
static char *
sample_text(void)
{
	const char	*dir = getenv("FF_CONTRIB");
	char		*path, *text, *slash;

	if (dir != NULL && dir[0] != '\0')
		xasprintf(&path, "%s/fanfare.conf.sample", dir);
	else {
		xasprintf(&path, "%s", __FILE__);
		if ((slash = strrchr(path, '/')) != NULL)
			*slash = '\0';
		else
			strcpy(path, ".");
		xasprintf(&text, "%s/../contrib/fanfare.conf.sample", path);
		free(path);
		path = text;
	}
	text = read_file(path, 1024 * 1024, NULL);
	cr_assert_not_null(text, "%s: %s", path, strerror(errno));
	free(path);
	return text;
}

/* The sample with its secret file replaced by ours; if uncomment, every
 * "#directive value" line (not "# prose") is made live. */
static char *
sample_for_test(int uncomment)
{
	static const char	 placeholder[] =
	    "token_secret_file /etc/fanfare/token.secret\n";
	char			*text, *at, *out, *line, *nl;
	size_t			 used = 0, cap;

	text = sample_text();
	cr_assert_not_null(at = strstr(text, placeholder),
	    "the sample has no '%.*s' line", (int)sizeof(placeholder) - 2,
	    placeholder);
	cap = strlen(text) + strlen(secret_path) + 1;
	out = xmalloc(cap);
	for (line = text; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		if (line == at)
			used += (size_t)snprintf(out + used, cap - used,
			    "token_secret_file %s", secret_path);
		else if (uncomment && line[0] == '#' && line[1] >= 'a' &&
		    line[1] <= 'z')
			used += (size_t)snprintf(out + used, cap - used, "%.*s",
			    (int)(nl - line - 1), line + 1);
		else
			used += (size_t)snprintf(out + used, cap - used, "%.*s",
			    (int)(nl - line), line);
		used += (size_t)snprintf(out + used, cap - used, "\n");
		if (*nl == '\0')
			break;
	}
	free(text);
	return out;
}

Test(config, sample_loads_with_defaults)
{
	struct config	 cf;
	char		 err[1024], *text;

	text = sample_for_test(0);
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), 0,
	    "the sample does not load: %s", err);
	free(text);
	assert_defaults(&cf);
	cr_assert_eq(cf.ntoken_secret_files, 1);
	cr_assert_str_eq(cf.token_secret_files[0], secret_path);
	config_free(&cf);
}

/* Uncommented, the sample's lines must parse and state the defaults
 * (all but the ones whose default is "none" or build-dependent). */
Test(config, sample_shows_every_directive_and_default)
{
	static const char *const directives[] = {
		"track_listen", "api_listen", "redis", "redis_wait_replicas",
		"token_secret_file",
		"public_url", "geoip_db", "trusted_proxies", "threads",
		"spool_dir", "spool_max_bytes", "admin_key", "node_id",
		"templates_dir", "max_connections", "max_header_bytes",
		"max_body_bytes", "header_timeout", "idle_timeout",
		"link_cache_ttl", "scanner_window", "retention_days",
		"log_level", "api_max_body", "api_body_budget", "tenant_grace",
		"special_categories_file", "senders", "smtp_relay",
		"smtp_starttls", "smtp_user", "smtp_password", "smtp_helo",
		"dkim_domain", "dkim_selector", "dkim_key_file",
		"send_rate_max", "retry_schedule", "retry_lifetime",
		"claim_idle",
	};
	struct config	 cf, def;
	char		 err[1024], want[64], *text;
	size_t		 i;

	text = sample_for_test(1);
	for (i = 0; i < FF_NELEM(directives); i++) {
		snprintf(want, sizeof(want), "\n%s ", directives[i]);
		cr_assert_not_null(strstr(text, want),
		    "the sample does not show %s", directives[i]);
	}
	cr_assert_eq(load_raw(&cf, text, strlen(text), err, sizeof(err)), 0,
	    "the uncommented sample does not load: %s", err);
	free(text);

	config_defaults(&def);
	cr_assert_eq(cf.track_listen.port, def.track_listen.port);
	cr_assert_str_eq(cf.track_listen.host, def.track_listen.host);
	cr_assert_eq(cf.api_listen.port, def.api_listen.port);
	cr_assert_str_eq(cf.api_listen.host, def.api_listen.host);
	cr_assert_eq(cf.redis.port, def.redis.port);
	cr_assert_str_eq(cf.redis.host, def.redis.host);
	cr_assert_str_eq(cf.public_url, def.public_url);
	cr_assert_eq(cf.threads, def.threads);
	cr_assert_eq(cf.spool_max_bytes, def.spool_max_bytes);
	cr_assert_eq(cf.max_connections, def.max_connections);
	cr_assert_eq(cf.max_header_bytes, def.max_header_bytes);
	cr_assert_eq(cf.max_body_bytes, def.max_body_bytes);
	cr_assert_eq(cf.header_timeout_ms, def.header_timeout_ms);
	cr_assert_eq(cf.idle_timeout_ms, def.idle_timeout_ms);
	cr_assert_eq(cf.link_cache_ttl_s, def.link_cache_ttl_s);
	cr_assert_eq(cf.api_max_body_bytes, def.api_max_body_bytes);
	cr_assert_eq(cf.api_body_budget_bytes, def.api_body_budget_bytes);
	cr_assert_eq(cf.tenant_grace_s, def.tenant_grace_s);
	cr_assert_eq(cf.scanner_window_s, def.scanner_window_s);
	cr_assert_eq(cf.retention_days, def.retention_days);
	cr_assert_eq(cf.verbose, def.verbose);
	cr_assert_eq(cf.senders, def.senders);
	cr_assert_eq(cf.smtp_starttls, def.smtp_starttls);
	cr_assert_eq(cf.send_rate_max, def.send_rate_max);
	cr_assert_str_eq(cf.retry_schedule, def.retry_schedule);
	cr_assert_eq(cf.retry_lifetime_s, def.retry_lifetime_s);
	cr_assert_eq(cf.claim_idle_s, def.claim_idle_s);
	cr_assert_str_eq(cf.spool_dir, "/var/lib/fanfare/spool");
	cr_assert_not_null(cf.geoip_db);
	cr_assert_gt(cf.ntrusted_proxies, 0);
	cr_assert_not_null(cf.admin_key);
	/* Account mail: the sample shows them, with the reset link's
	 * default life. */
	text = sample_for_test(0);
	cr_assert_not_null(strstr(text, "\n#app_url "));
	free(text);
	cr_assert_eq(cf.password_reset_ttl_s, def.password_reset_ttl_s);
	cr_assert_eq(def.password_reset_ttl_s, 3600);
	cr_assert_not_null(cf.system_from);
	cr_assert_null(def.app_url);
	cr_assert_null(def.system_from);
	config_free(&def);
	config_free(&cf);
}

/* system_from must be an address: a bad one stops start-up. */
Test(config, system_from)
{
	struct config	cf;
	char		err[512];
	const char	*good = "system_from Acme <accounts@acme.test>\n";
	const char	*bad = "system_from not an address\n";

	cr_assert_eq(load(&cf, good, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(cf.system_from, "Acme <accounts@acme.test>");
	config_free(&cf);
	cr_assert_eq(load(&cf, bad, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "system_from"), "%s", err);
	config_free(&cf);
}

Test(config, retry_schedule)
{
	static const struct {
		const char	*in;
		int		 n;
		int		 secs[4];
	} good[] = {
		{ "1m,5m,15m,1h", 4, { 60, 300, 900, 3600 } },
		{ "30", 1, { 30 } },
		{ "1s,2s", 2, { 1, 2 } },
		{ "7d", 1, { 604800 } },
	};
	static const char *const bad[] = { "", ",", "1m,", ",1m", "0s",
	    "8d", "1x", "1m 5m", "-1", "m", "1m,,2m", "99999999999" };
	int	secs[FF_MAX_RETRIES], n, j;
	size_t	i;
	struct config cf;

	for (i = 0; i < FF_NELEM(good); i++) {
		n = config_retry_schedule(good[i].in, secs, FF_MAX_RETRIES);
		cr_assert_eq(n, good[i].n, "%s: %d", good[i].in, n);
		for (j = 0; j < n; j++)
			cr_expect_eq(secs[j], good[i].secs[j], "%s [%d]",
			    good[i].in, j);
	}
	for (i = 0; i < FF_NELEM(bad); i++)
		cr_expect_eq(config_retry_schedule(bad[i], secs,
		    FF_MAX_RETRIES), -1, "'%s' accepted", bad[i]);
	cr_expect_eq(config_retry_schedule("1s,1s,1s", secs, 2), -1,
	    "more than max accepted");
	load_ok(&cf, "retry_schedule 1s,2s");
	config_free(&cf);
	expect_whole_file("retry_schedule 1s,,2s", "retry_schedule: "
	    "'1s,,2s' is not a list of 1 to 32 durations (1s to 7d) like "
	    "1m,5m,15m,1h");
	expect_whole_file("dkim_domain example.com", "dkim_domain, "
	    "dkim_selector and dkim_key_file go together");
	expect_whole_file("smtp_user u", "smtp_user and smtp_password go "
	    "together");
	expect_whole_file("smtp_relay unix:/tmp/x", "smtp_relay: a "
	    "host:port is needed");
}

/* What a SIGHUP applies and what it only names (main.c's reload). */
Test(config, diff_splits_applied_and_restart)
{
	struct config	a, b;
	char		applied[512], restart[512];
	char		text[1024];

	snprintf(text, sizeof(text), "token_secret_file %s\n", secret_path);
	load_ok(&a, text);
	load_ok(&b, text);
	config_diff(&a, &b, applied, sizeof(applied), restart,
	    sizeof(restart));
	cr_assert_str_empty(applied);
	cr_assert_str_empty(restart);
	config_free(&b);

	snprintf(text, sizeof(text), "token_secret_file %s\n"
	    "token_secret_file %s\n"
	    "trusted_proxies 10.0.0.0/8\nlog_level debug\nsend_rate_max 5\n"
	    "templates_dir /tmp\nthreads 3\nredis unix:/tmp/r.sock\n"
	    "spool_dir /tmp/s\npublic_url https://t.example/\n",
	    secret_path, secret_path);
	load_ok(&b, text);
	config_diff(&a, &b, applied, sizeof(applied), restart,
	    sizeof(restart));
	cr_assert_str_eq(applied, "token_secret_file, trusted_proxies, "
	    "templates_dir, log_level, send_rate_max");
	cr_assert_str_eq(restart, "redis, public_url, threads, spool_dir");
	config_free(&a);
	config_free(&b);
}
