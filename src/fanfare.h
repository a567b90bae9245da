/*
 * fanfare.h: the types every module shares and each module's prototypes,
 * grouped by the file that defines them.
 *
 * Ownership rule of the whole code base: every object has one _new/_open
 * and one _free/_close; a pointer to freed memory is never left reachable.
 * Pure modules (token, config parsing, policy, http_parser, spool record
 * coding) never touch the network or the event loop, so they are unit
 * tested and fuzzed on bytes alone.
 */
#ifndef FANFARE_H
#define FANFARE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define FF_ATTR_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define FF_ATTR_NORETURN	__attribute__((noreturn))
#define FF_NELEM(a)		(sizeof(a) / sizeof((a)[0]))

#define FF_MAX_SECRETS		8	/* token_secret_file lines */
#define FF_MAX_PROXIES		64	/* trusted_proxies entries */
#define FF_MAX_ALLOW		64	/* relay_allow entries */
#define FF_MAX_SEEDS		16	/* redis cluster: seed nodes */
#define FF_MAX_THREADS		64

/* ---------------------------------------------------------------- log.c */

void	log_init(const char *progname, int verbose);
void	log_set_verbose(int);
void	log_warn(const char *, ...) FF_ATTR_PRINTF(1, 2);	/* + strerror(errno) */
void	log_warnx(const char *, ...) FF_ATTR_PRINTF(1, 2);
void	log_info(const char *, ...) FF_ATTR_PRINTF(1, 2);
void	log_debug(const char *, ...) FF_ATTR_PRINTF(1, 2);
/* log_warnx at most once per every_ms (an outage must not flood the
 * log); *last_ms is the caller's, 0 at first. */
void	log_warnx_every(uint64_t *last_ms, uint64_t every_ms,
	    const char *, ...) FF_ATTR_PRINTF(3, 4);
void	fatal(const char *, ...) FF_ATTR_PRINTF(1, 2) FF_ATTR_NORETURN;
void	fatalx(const char *, ...) FF_ATTR_PRINTF(1, 2) FF_ATTR_NORETURN;

/* --------------------------------------------------------------- util.c */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...) FF_ATTR_PRINTF(2, 3);

uint64_t now_ms(void);			/* CLOCK_REALTIME, milliseconds */
uint64_t mono_ms(void);			/* CLOCK_MONOTONIC, milliseconds */
/* The clock's time in units of 1/per_second s (1000: ms, 1000000: us). */
uint64_t clock_units(clockid_t, uint64_t per_second);

/* Whole-string unsigned decimal; -1 on empty, junk, or overflow. */
int	 parse_u64(const char *, size_t, uint64_t *);
/* The same with a '-' allowed, within long long; -1 when s is not one. */
int	 parse_ll(const char *, size_t, long long *);
/* The UTF-8 sequence at s (n > 0 bytes left): its length, with its code
 * point in *cp, or 0 when it is malformed: a stray continuation, cut
 * short, overlong, a surrogate or past U+10FFFF (RFC 3629). */
size_t	 utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* v in decimal at p, not NUL-terminated (at most 20 bytes); the length. */
size_t	 fmt_u64(char *, uint64_t);
/* ms since the epoch as RFC 3339 UTC, "2024-05-01T12:00:00Z", in buf
 * (21 bytes); returns buf. */
char	*fmt_iso_time(uint64_t ms, char *buf, size_t len);
/* vsnprintf into a caller's error buffer; nothing when err is NULL or
 * errlen 0. */
void	 errorf(char *err, size_t errlen, const char *, ...)
	    FF_ATTR_PRINTF(3, 4);
/* 64-bit FNV-1a of the bytes: the hash of every in-memory table. */
uint64_t hash_fnv1a(const char *, size_t);

/* RFC 4648 section 5 alphabet, no padding.  Encode returns the length
 * written (out must hold base64url_len(n) + 1; it is NUL-terminated);
 * decode returns the decoded length or -1 on a bad character, a bad
 * length or a too-small out. */
#define base64url_len(n)	(((n) * 4 + 2) / 3)
size_t	 base64url_encode(const uint8_t *, size_t, char *);
ssize_t	 base64url_decode(const char *, size_t, uint8_t *, size_t);

/* Reads a whole small file (at most max bytes) into a NUL-terminated
 * buffer the caller frees; NULL and errno set on failure. */
char	*read_file(const char *path, size_t max, size_t *lenp);

/* A growable byte buffer, always NUL-terminated after len. */
struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addf(struct buf *, const char *, ...) FF_ATTR_PRINTF(2, 3);
void	 buf_reset(struct buf *);		/* len = 0, memory kept */
void	 buf_free(struct buf *);		/* back to { NULL, 0, 0 } */

/* ------------------------------------------------------------- config.c */

struct ff_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* network order; v4 in the first 4 */
	int		prefix;
};

struct ff_endpoint {			/* "host:port", "[v6]:port", "unix:/path" */
	char		*host;		/* NULL for unix */
	int		 port;
	char		*unix_path;	/* NULL for tcp */
	unsigned	 unix_mode;	/* api_listen: the socket file's mode */
	/* The redis directive only: "cluster:HOST:PORT[,HOST:PORT...]", a
	 * Redis Cluster's seed nodes (host and port are the first). */
	int		 nseeds;
	struct ff_seed {
		char	*host;
		int	 port;
	}		*seeds;
};

struct config {
	char		*path;
	struct ff_endpoint track_listen;
	struct ff_endpoint api_listen;
	struct ff_endpoint redis;
	int		 redis_wait_replicas;	/* a cluster: WAIT per chunk */
	char		*token_secret_files[FF_MAX_SECRETS];
	int		 ntoken_secret_files;	/* the first signs, all verify */
	char		*public_url;		/* "https://t.example" no slash */
	char		*geoip_db;		/* NULL: no geo */
	struct ff_cidr	 trusted_proxies[FF_MAX_PROXIES];
	int		 ntrusted_proxies;
	struct ff_cidr	 relay_allow[FF_MAX_ALLOW];	/* ranges a tenant's
						 * relay may be in though
						 * not public (netguard.c) */
	int		 nrelay_allow;
	int		 threads;		/* tracking event-loop threads */
	char		*spool_dir;
	uint64_t	 spool_max_bytes;	/* per node, all threads */
	char		*admin_key;		/* or FANFARE_ADMIN_KEY */
	char		*node_id;		/* spool stream names; hostname */
	char		*templates_dir;
	int		 max_connections;	/* per thread */
	int		 max_header_bytes;
	int		 max_body_bytes;
	int		 header_timeout_ms;	/* whole request, not per byte */
	int		 idle_timeout_ms;	/* keep-alive between requests */
	int		 link_cache_ttl_s;
	int		 scanner_window_s;	/* click this soon after open */
	int		 retention_days;	/* default for new tenants */
	int		 verbose;
	int		 api_max_body_bytes;	/* larger API bodies: 413 */
	int		 api_listen_mode;	/* of a unix api_listen */
	int		 api_body_budget_bytes;	/* all API bodies being read
						 * or handled: over it, 503 */
	int		 tenant_grace_s;	/* DELETE tenant -> purge */
	int		 template_max_bytes;	/* per part: else 422 */
	int		 template_max_links;	/* <a href>s of the html */
	int		 template_max_tags;	/* merge tags per part */
	char		*special_categories_file;

	/* Delivery (sender.c). */
	int		 senders;		/* threads; 0: no sending */
	struct ff_endpoint smtp_relay;		/* host NULL: none */
	int		 smtp_starttls;		/* enum smtp_tls */
	char		*smtp_user;
	char		*smtp_password;
	char		*smtp_helo;		/* default: node_id */
	char		*smtp_ca_file;		/* trusted relay CAs; NULL:
						 * the system's */
	char		*dkim_domain;
	char		*dkim_selector;
	char		*dkim_key_file;
	char		*bounce_domain;		/* VERP and return-path; NULL:
						 * the From is the sender */
	struct ff_endpoint dns_resolver;	/* host NULL: the system's */
	int		 allow_unverified_from;	/* 1: any From may send */
	char		*data_key_file;		/* seals DKIM keys; NULL */
	int		 send_rate_max;		/* msgs/s, all campaigns; 0 */
	char		*retry_schedule;	/* "1m,5m,15m,1h" */
	int		 retry_lifetime_s;
	int		 claim_idle_s;		/* reclaim a dead sender's */

	/* Bounces and complaints (verp.c, bounce_listen.c). */
	struct ff_endpoint bounce_listen;	/* host NULL: no listener */
	int		 bounce_max_message_bytes;
	int		 soft_bounce_limit;

	/* Signup forms (signup.c). */
	int		 signup_expiry_s;	/* a pending sign-up's life */
	int		 signup_rate;		/* posts per client a minute */
	/* The marketer's sessions (api_user.c). */
	int		 session_lifetime_s;
	int		 session_idle_s;		/* 0: none */
	/* Webhooks (webhook_deliver.c, api_webhook.c). */
	struct ff_cidr	 webhook_allow[FF_MAX_ALLOW];	/* ranges an
						 * endpoint may be in though
						 * not public (netguard.c) */
	int		 nwebhook_allow;
	int		 webhook_batch;		/* events per POST */
	int		 webhook_connect_timeout_ms;
	int		 webhook_timeout_ms;	/* a whole request */
	int		 webhook_retry_base_ms;	/* first backoff, doubled */
	int		 webhook_retry_max_ms;	/* backoff cap */
	int		 webhook_disable_after_s; /* failing this long: off */
	int		 webhook_rotate_overlap_s; /* old secret still signs */
	int		 webhook_poll_ms;	/* new events looked for */
};

enum smtp_tls {
	SMTP_TLS_OFF,
	SMTP_TLS_OPTIONAL,
	SMTP_TLS_REQUIRED,
};

#define FF_MAX_RETRIES	32

/* Parses a retry schedule ("30s,5m,1h") into seconds; the count or -1. */
int	 config_retry_schedule(const char *, int *secs, int max);

/* Fills defaults, then reads path.  On error returns -1 and writes
 * "file:line: reason" (or "file: reason") into err. */
int	 config_load(struct config *, const char *path, char *err, size_t);
void	 config_defaults(struct config *);
void	 config_free(struct config *);
int	 config_parse_endpoint(const char *, struct ff_endpoint *);
int	 config_parse_redis(const char *, struct ff_endpoint *);
/* Names the directives whose values differ between the two configs,
 * comma-separated: those a reload applies (token_secret_file,
 * trusted_proxies, templates_dir, log_level, send_rate_max,
 * data_key_file) in applied,
 * the others, which need a restart, in restart.  Both NUL-terminated,
 * empty when nothing differs. */
void	 config_diff(const struct config *running, const struct config *next,
	    char *applied, size_t, char *restart, size_t);
void	 config_free_endpoint(struct ff_endpoint *);

/* -------------------------------------------------------------- token.c */

enum token_kind {
	TOKEN_OPEN = 'o',
	TOKEN_CLICK = 'c',
	TOKEN_UNSUB = 'u',
	/* Signup forms (signup.c): campaign is the form's id; contact 0
	 * for the form's page, the pending sign-up's id for its confirm
	 * link.  The preference page's names a campaign's recipient. */
	TOKEN_FORM = 'f',
	TOKEN_CONFIRM = 's',
	TOKEN_PREFS = 'p',
};

struct token {
	uint8_t		kind;		/* enum token_kind */
	uint64_t	tenant;
	uint64_t	campaign;
	uint64_t	contact;
	uint32_t	link;		/* TOKEN_CLICK only, else 0 */
};

#define TOKEN_MAC_LEN		16	/* HMAC-SHA256 truncated to 128 bits */
#define TOKEN_MAX_RAW		64
#define TOKEN_MAX_LEN		base64url_len(TOKEN_MAX_RAW)
#define TOKEN_MIN_SECRET	32

struct token_key {
	uint8_t		kid;
	uint8_t		ipad_state[128];	/* opaque precomputed HMAC */
	uint8_t		opad_state[128];	/* inner/outer hash states */
};

struct token_keyring {
	struct token_key keys[FF_MAX_SECRETS];	/* keys[0] signs */
	int		nkeys;
};

/* -1 with a reason in err: secret shorter than TOKEN_MIN_SECRET, ring
 * full, or key id equal to one already on the ring. */
int	 token_keyring_add(struct token_keyring *, const uint8_t *, size_t,
	    char *err, size_t);
/* Loads every token_secret_file of the config (trailing whitespace is
 * not part of the secret). */
int	 token_keyring_load(struct token_keyring *, const struct config *,
	    char *err, size_t);
/* Writes a NUL-terminated URL-safe token; returns its length, 0 on a
 * bad token struct or an empty ring.  out holds TOKEN_MAX_LEN + 1. */
size_t	 token_sign(const struct token_keyring *, const struct token *,
	    char *out);
/* 0 and *out filled when s is a token this ring signed; -1 otherwise.
 * The MAC comparison is constant time. */
int	 token_verify(const struct token_keyring *, const char *s, size_t,
	    struct token *out);
/* HMAC-SHA256 of data under the ring's key i, as 64 hex digits. */
/* HMAC-SHA256 under key of prefix (what the MAC is for: verp.c's
 * addresses are no tokens) then msg; token.c's strict LEB128 varints. */
void	 token_hmac(const struct token_key *, const char *prefix, size_t plen,
	    const uint8_t *, size_t, uint8_t mac[32]);
size_t	 token_put_varint(uint8_t *, uint64_t);
int	 token_get_varint(const uint8_t **, const uint8_t *, uint64_t *);
int	 token_keyed_hash(const struct token_keyring *, int i, const char *,
	    size_t, char out[65]);

/* ------------------------------------------------------------- policy.c */

int	 cidr_parse(const char *, struct ff_cidr *);
int	 cidr_match(const struct ff_cidr *, int n, const struct sockaddr *);

/* The address to attribute a request to.  Forwarding headers are read
 * only when the peer is trusted; walking from the right, the first
 * address that is not itself a trusted proxy is the client.  Forwarded
 * (RFC 7239) wins over X-Forwarded-For.  Header pointers may be NULL. */
void	 policy_client_addr(const struct sockaddr *peer,
	    const char *xff, size_t xfflen, const char *fwd, size_t fwdlen,
	    const struct ff_cidr *trusted, int ntrusted,
	    struct sockaddr_storage *out);

/* Nonzero when the user agent or address belongs to a mail-privacy
 * proxy, an image proxy or a link scanner. */
int	 policy_machine_agent(const char *ua, size_t len);
int	 policy_machine_addr(const struct sockaddr *);

/* Nonzero when url is an absolute http(s) URL with a host and no
 * control characters or spaces: the only kind a click may redirect to. */
int	 policy_url_is_safe(const char *url, size_t len);

/* -------------------------------------------------------- http_parser.c */

enum http_method {
	HTTP_OTHER = 0,
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
};

struct http_request {
	enum http_method method;
	const char	*path;		/* into the caller's buffer */
	size_t		 pathlen;	/* without the query string */
	const char	*query;		/* after '?', up to any '#' */
	size_t		 querylen;
	int		 minor;		/* HTTP/1.minor */
	int		 keepalive;	/* after Connection and version */
	const char	*ua;
	size_t		 ualen;
	const char	*xff;
	size_t		 xfflen;
	const char	*fwd;
	size_t		 fwdlen;
	int		 private;	/* DNT: 1 or Sec-GPC: 1 */
	const char	*auth;		/* Authorization (API listener) */
	size_t		 authlen;
	const char	*ctype;		/* Content-Type */
	size_t		 ctypelen;
	int		 expect_continue;	/* Expect: 100-continue */
	int64_t		 content_length;	/* -1: none */
	size_t		 header_len;	/* request line to blank line */
	/* The marketer's sessions (API listener): Cookie, X-CSRF-Token. */
	const char	*cookie;
	size_t		 cookielen;
	const char	*csrf;
	size_t		 csrflen;
};

enum http_parse_result {
	HTTP_PARSE_INCOMPLETE = 0,	/* > 0 is a complete header length */
	HTTP_PARSE_BAD = -1,		/* 400 */
	HTTP_PARSE_TOO_LARGE = -2,	/* 431 */
	HTTP_PARSE_UNSUPPORTED = -3,	/* 501: Transfer-Encoding, HTTP/2 */
	HTTP_PARSE_VERSION = -4,	/* 505 */
};

/* Parses one request head from buf.  Returns the header length (> 0)
 * once "\r\n\r\n" (or "\n\n") has arrived within max_header bytes, or
 * one of enum http_parse_result.  The body is not read. */
int	 http_parse_request(const char *buf, size_t len, size_t max_header,
	    struct http_request *);

enum http_route {
	ROUTE_NONE = 0,
	ROUTE_OPEN,		/* /o/TOKEN.gif */
	ROUTE_CLICK,		/* /c/TOKEN */
	ROUTE_UNSUB,		/* /u/TOKEN */
	ROUTE_HEALTH,		/* /healthz */
	ROUTE_FORM,		/* /f/TOKEN: a signup form */
	ROUTE_CONFIRM,		/* /s/TOKEN: a sign-up's confirmation */
	ROUTE_PREFS,		/* /p/TOKEN: the preference page */
};

/* Maps a path (no query) to a route and the token inside it. */
enum http_route http_route(const char *path, size_t len,
	    const char **tok, size_t *toklen);
/* 1 when a POST body (with its Content-Type, NULL if none) carries the
 * one-click opt-out, List-Unsubscribe=One-Click (RFC 8058), exactly
 * once: form-urlencoded (or no Content-Type), or multipart/form-data.
 * Other fields may come along.  0 for anything else. */
int	 http_one_click(const char *ctype, size_t ctypelen, const char *body,
	    size_t len);

/* -------------------------------------------------------------- spool.c */

enum ff_event_kind {
	EV_OPEN = 1,
	EV_CLICK = 2,
	EV_UNSUB = 3,
};

#define EVF_MACHINE	0x01	/* proxy, scanner or prefetch */
#define EVF_PRIVATE	0x02	/* DNT or GPC: aggregates only */

/* One tracked hit: the spool record (48 bytes, host byte order; a spool
 * is read back only on the machine that wrote it). */
struct ff_event {
	uint64_t	ts_ms;
	uint64_t	tenant;
	uint64_t	campaign;
	uint64_t	contact;
	uint32_t	link;
	uint8_t		kind;		/* enum ff_event_kind */
	uint8_t		flags;		/* EVF_* */
	char		country[2];	/* ISO 3166-1 alpha-2, or zeros */
	uint32_t	check;		/* spool_record_check() of the above */
	uint32_t	pad;		/* zero */
};

struct spool;

/*
 * A spool is one thread's append-only journal of events, as segment
 * files "NAME.SEGMENT.spool" in dir (SEGMENT: 16 hex digits, growing).
 * Appends go to the newest segment; reads walk from the oldest unacked
 * position.  Segments wholly acked are unlinked.  max_bytes bounds the
 * spool's total size: an append past it fails with errno ENOSPC.
 */
struct spool *spool_open(const char *dir, const char *name,
	    uint64_t max_bytes, char *err, size_t errlen);
void	 spool_close(struct spool *);
const char *spool_name(const struct spool *);

/* One write(2) for the n records (check is filled in here).  -1 with
 * errno ENOSPC when full, or the write's errno. */
int	 spool_append(struct spool *, struct ff_event *, size_t n);

/* Reads up to max records from the read cursor and moves the cursor
 * past them.  Records whose check fails (a torn tail) are skipped, and a
 * read never spans one: the records returned are contiguous, so each
 * one's position follows from (seg, off) and the count.  The position
 * just after the last record read is returned through seg and off: the
 * store's replay guard works on those positions.  Returns the
 * number of records, 0 at the end, -1 on an I/O error. */
ssize_t	 spool_read(struct spool *, struct ff_event *, size_t max,
	    uint64_t *seg, uint64_t *off);
/* Everything up to (seg, off) is safely stored elsewhere. */
int	 spool_ack(struct spool *, uint64_t seg, uint64_t off);
/* Moves the read cursor back to the acked position (after a failure). */
void	 spool_rewind(struct spool *);
uint64_t spool_bytes(const struct spool *);		/* on disk */
uint64_t spool_unacked_bytes(const struct spool *);
uint32_t spool_record_check(const struct ff_event *);
/* Segment size (default 4 MiB); tests set small ones. */
void	 spool_set_segment_bytes(struct spool *, uint64_t);

/* Names (the NAME part) of the spools with segments in dir; returns the
 * count, at most max, names malloc'ed; -1 on an unreadable dir. */
int	 spool_list(const char *dir, char **names, int max);

/* ------------------------------------------------------------- render.c */

/*
 * Templates: text with merge tags {{first_name}}, {{last_name}},
 * {{email}}, {{attributes.NAME}}, {{unsubscribe_url}}, and
 * {{NAME | default "fallback"}}.  Compiled once, rendered per recipient.
 */
struct tmpl;

struct render_error {
	int	line;			/* 1-based */
	int	col;			/* 1-based, in bytes */
	char	msg[128];
};

enum render_escape {
	RENDER_TEXT,		/* values as they are */
	RENDER_HTML,		/* & < > " ' escaped */
	RENDER_HEADER,		/* CR, LF and other controls dropped */
};

/* The value of a field for this recipient, or NULL when it has none
 * (then the default applies, or nothing). */
typedef const char *(*render_lookup)(void *arg, const char *name,
	    size_t namelen, size_t *vlen);

struct tmpl *tmpl_compile(const char *src, size_t len, struct render_error *);
/* internal: also names "__[a-z0-9_.]+", the sender's own tags (tracked
 * links, the open pixel) that no marketer's template may use. */
struct tmpl *tmpl_compile_internal(const char *src, size_t len, int internal,
	    struct render_error *);
void	 tmpl_free(struct tmpl *);
/* The number of merge tags in t, repeats included (what a copy costs). */
size_t	 tmpl_tags(const struct tmpl *);
/* Calls cb once per distinct field name the template references
 * ("first_name", "attributes.blood_type", ...); stops and returns the
 * first non-zero cb result. */
int	 tmpl_fields(const struct tmpl *, int (*cb)(void *, const char *,
	    size_t), void *arg);
void	 tmpl_render(const struct tmpl *, enum render_escape, render_lookup,
	    void *arg, struct buf *out);

/* Absolute http(s) <a href> targets of an HTML text, in order of first
 * appearance, without duplicates, as malloc'ed strings (entities like
 * &amp; decoded).  Links holding merge tags are skipped (not tracked).
 * Returns the count, *urls to free with render_links_free. */
size_t	 render_links(const char *html, size_t len, char ***urls);
void	 render_links_free(char **urls, size_t n);

/* Every <a href> of an HTML text, for the API: the tracked ones (the
 * render_links() list) and, beside them, the distinct others with the
 * reason they stay as written: "empty", "anchor", "relative", "mailto",
 * "tel", "scheme" (another scheme), "no_host", "merge_tag",
 * "unsubscribe_url", "invalid_url" (a space or control byte). */
struct render_untracked {
	char		*url;		/* decoded, trimmed */
	const char	*reason;	/* static */
};
struct render_link_report {
	char			**tracked;
	size_t			  ntracked;
	struct render_untracked	 *untracked;
	size_t			  nuntracked;
	size_t			  hrefs;	/* every <a href>, repeats too */
};
void	 render_link_report(const char *html, size_t len,
	    struct render_link_report *);
void	 render_link_report_free(struct render_link_report *);
/* Copies html to out, replacing the href value of each tracked link
 * found in urls (any list: a render_links() list, or a campaign's link
 * table; hashed, so linear in both) by rewrite(arg, its index in urls,
 * url). */
void	 render_rewrite_links(const char *html, size_t len,
	    char *const *urls, size_t nurls,
	    const char *(*rewrite)(void *, size_t, const char *), void *arg,
	    struct buf *out);

/* ------------------------------------------------------------ special.c */

/* GDPR Art. 9 special categories: attribute names never stored, value
 * terms that quarantine a contact. */
struct special;

struct special *special_load(const char *path, char *err, size_t errlen);
void	 special_free(struct special *);
enum special_field {
	SPECIAL_FIELD_NAME,		/* an attribute's name */
	SPECIAL_FIELD_VALUE,		/* an attribute's value, gender */
	SPECIAL_FIELD_PERSON		/* first_name, last_name */
};
/* The verdict: the category name ("health", ...) of the first rule that
 * text, read as field, hits, or NULL; *rule (when rule is not NULL) is
 * then that rule, normalised ("hiv positive", "religion*"), valid while
 * the struct special is. */
const char *special_match(const struct special *, enum special_field,
	    const char *, size_t, const char **rule);
/* Category name ("health", ...) when the attribute name is one whose
 * value would reveal a special category; NULL otherwise. */
const char *special_name(const struct special *, const char *, size_t);
/* Category name when a free-text value (an attribute value, gender)
 * holds a listed term; NULL otherwise. */
const char *special_value(const struct special *, const char *, size_t);
/* The same for first_name and last_name: a one-word term that the list
 * also names a person_name ("Islam", "Krebs") is no hit there. */
const char *special_person_name(const struct special *, const char *,
	    size_t);

/* ----------------------------------------------------------- validate.c */

#define FF_EMAIL_MAX	320

/*
 * Checks an address and writes two forms: addr, as stored (local part
 * as given, domain lowercased and in IDNA ASCII form), and key, the
 * form addresses are matched on (addr with the local part lowercased).
 * Both hold FF_EMAIL_MAX + 1.  Returns 0, or -1 when it is not an
 * address we can send to.
 */
int	 validate_email(const char *in, size_t len, char *addr, char *key);
/* A real calendar date written YYYY-MM-DD; 0 or -1. */
int	 validate_date(const char *s, size_t len);

/* ------------------------------------------------------------ contact.c */

#define CONTACT_TEXT_MAX	200	/* first_name, last_name, gender */
#define CONTACT_ATTR_NAME_MAX	64	/* [A-Za-z0-9_], a merge-tag name */
/* What one tenant's contact may hold, so a row's size is bounded
 * whatever the request (README, "Limits"). */
#define CONTACT_ATTRS_MAX	100	/* attributes of one contact */
#define CONTACT_ATTR_VALUE_MAX	8192	/* bytes of one string value */
#define CONTACT_ATTRS_BYTES_MAX	65536	/* all of them, as stored (JSON) */

/* One contact object of a request, checked and ready to write. */
struct contact_row {
	size_t		 index;		/* in the request */
	char		 addr[FF_EMAIL_MAX + 1];
	char		 key[FF_EMAIL_MAX + 1];
	json_t		*obj;		/* the request's object (borrowed) */
	char		*attrs;		/* kept attributes as JSON, or NULL */
	int		 quarantined;	/* a screened field holds a term */
	/* Every screened field (attributes, first_name, last_name,
	 * gender) is in obj: a clean check may clear a quarantine.  Else
	 * only a hit is written, so a write of some fields cannot clear
	 * what another stored field caused. */
	int		 screened_all;
	uint64_t	 id;		/* the API's: 0 until known */
	int		 is_new;
	int		 erased_before;	/* its keyed hash is suppressed */
	struct contact_row *same;	/* earlier row with this key */
};

/*
 * Checks one contact object: 0, the row filled (attrs to free); 1, the
 * row is rejected and reported in rejected; -1, *bad_field is an unknown
 * field.  need_email: the address is required (POST) or optional
 * (PATCH).  Special-category attribute names are reported in rejected
 * too, but the row still passes without them.
 */
int	 contact_check(const struct special *, json_t *, size_t index,
	    int need_email, json_t *rejected, struct contact_row *,
	    const char **bad_field);
void	 contact_reject(json_t *rejected, size_t index, const char *email,
	    const char *code, const char *attribute);
/* Null, or a string of at most CONTACT_TEXT_MAX bytes without controls. */
int	 contact_valid_text(json_t *);

/*
 * A stored contact ({t:T}:ct:ID): store_contact_get reads its hash into
 * one with contact_hash_set, field by field, and sets opted_out;
 * contact_json shows it as the API does.  contact_init first,
 * contact_clear frees what it holds (and may be called twice).
 */
struct contact {
	uint64_t	 id;
	char		 email[FF_EMAIL_MAX + 1];	/* "": none */
	char		 key[FF_EMAIL_MAX + 1];		/* match key; "": none */
	char		*first_name;	/* NULL: not set, or empty */
	char		*last_name;
	char		*gender;
	char		*date_of_birth;
	char		*timezone;	/* IANA name; NULL: not set */
	json_t		*attributes;	/* an object; empty when none */
	uint64_t	 created_at;	/* ms; 0: not set */
	uint64_t	 updated_at;
	int		 quarantined;
	int		 suppressed;	/* erased before, then stored again */
	int		 opted_out;	/* by address, by id, or erased before */
};
void	 contact_init(struct contact *, uint64_t id);
/* One field of the hash; an unknown field, or a value that does not
 * fit, is ignored. */
void	 contact_hash_set(struct contact *, const char *field, size_t flen,
	    const char *value, size_t vlen);
void	 contact_clear(struct contact *);
/* {"id", "email", "first_name".., "attributes", "created_at",
 * "updated_at", "status"}: API.md's shape; status is "opted_out",
 * "quarantined" or "active", in that order of precedence. */
json_t	*contact_json(const struct contact *);
/* The app's contact search: 1 when q (qlen bytes) is in s (len bytes;
 * NULL: none) ignoring ASCII case; an empty q is in everything. */
int	 contact_text_contains(const char *s, size_t len, const char *q,
	    size_t qlen);

/* -------------------------------------------------------------- csv.c */

/* RFC 4180 CSV read incrementally: memory does not grow with the input,
 * only with the longest row. */
struct csv;
typedef int (*csv_row_cb)(void *arg, size_t rowno, char **fields,
	    size_t *lens, size_t nfields);	/* non-zero stops */

struct csv *csv_new(size_t max_row_bytes, size_t max_fields);
void	 csv_free(struct csv *);
/* Feeds bytes; complete rows go to cb.  Returns 0, or -1 on a malformed
 * or over-long row (csv_error() says which row and why) or when cb
 * stopped. */
int	 csv_feed(struct csv *, const char *, size_t, csv_row_cb, void *);
/* End of input: the last row without a newline; -1 on an open quote. */
int	 csv_finish(struct csv *, csv_row_cb, void *);
const char *csv_error(const struct csv *);

/* --------------------------------------------------------------- mime.c */

/* One outgoing message, every text already rendered. */
struct mime_msg {
	const char	*from;		/* "Display Name <addr>" or "addr" */
	const char	*to;		/* addr */
	const char	*reply_to;	/* or NULL */
	const char	*subject;	/* UTF-8 */
	const char	*message_id;	/* "<...>", see mime_message_id */
	const char	*list_unsubscribe;	/* https URL, or NULL */
	const char	*list_id;	/* "label.namespace" (RFC 2919), or
					 * NULL */
	const char	*feedback_id;	/* "a:b:c:SenderId", or NULL */
	time_t		 date;
	const char	*html;		/* NULL: text/plain only */
	size_t		 htmllen;
	const char	*text;
	size_t		 textlen;
	const char	*boundary;	/* unique per message, [A-Za-z0-9'()+_,-./:=?] */
	int		 allow_8bit;	/* the relay offered 8BITMIME */
};

/* A body part's Content-Transfer-Encoding (mime.c's top says when). */
enum { MIME_7BIT, MIME_8BIT, MIME_QP };

/*
 * Appends a complete RFC 5322 message to out: CRLF line ends, no line
 * over 998 octets, non-ASCII header text as RFC 2047 encoded words,
 * bodies 7bit, 8bit (with allow_8bit) or quoted-printable, HTML and
 * text as multipart/alternative.  No header value can add a header
 * line.  Not dot-stuffed: that is the SMTP layer's.  1 when a part went
 * as 8bit (the message must go with BODY=8BITMIME), else 0; -1 (out
 * unchanged) when a required field is missing or an address is
 * unusable.
 */
int	 mime_build(const struct mime_msg *, struct buf *out);
/* The encoding a body part of n octets goes in: MIME_QP without
 * allow_8bit, else MIME_7BIT, MIME_8BIT or MIME_QP (mime.c's top). */
int	 mime_body_encoding(const char *, size_t n, int allow_8bit);
/* 1 when addr ("local@domain", no display name) is an address
 * mime_build() takes: printable ASCII, a dot-atom local part, a host
 * name.  No SMTPUTF8: libesmtp cannot ask a relay for it. */
int	 mime_address_valid(const char *addr, size_t len);
/* Why mime_address_valid() refuses addr, for a log line or an API
 * error: static text. */
const char *mime_address_problem(const char *addr, size_t len);
/* Quoted-printable (RFC 2045), CRLF line breaks, lines <= 76. */
void	 mime_qp_encode(const char *, size_t, struct buf *out);
/* "Name: value\r\n", folded, RFC 2047 encoded when not ASCII. */
void	 mime_header(const char *name, const char *value, struct buf *out);
/* "<c.CAMPAIGN.k.CONTACT.t.TENANT@domain>": the same recipient of the
 * same campaign always gets the same id, so duplicates are visible. */
void	 mime_message_id(uint64_t tenant, uint64_t campaign, uint64_t contact,
	    const char *domain, char *out, size_t len);

/* --------------------------------------------------------------- dkim.c */

struct dkim_key;

/* A PEM RSA private key for d=domain, s=selector; NULL with err. */
struct dkim_key *dkim_key_load(const char *path, const char *domain,
	    const char *selector, char *err, size_t errlen);
/* The same from PEM text, RSA or Ed25519; what names it in err. */
struct dkim_key *dkim_key_parse(const char *pem, size_t len,
	    const char *domain, const char *selector, const char *what,
	    char *err, size_t errlen);
void	 dkim_key_free(struct dkim_key *);
int	 dkim_key_is_ed25519(const struct dkim_key *);
/* A new RSA-2048 or Ed25519 key: *pem its PKCS#8 PEM, *pub its DNS p=
 * value; the caller frees both (and wipes *pem).  0 or -1. */
int	 dkim_key_generate(int ed25519, char **pem, char **pub);
/*
 * Appends "DKIM-Signature: ...\r\n" (rsa-sha256 or ed25519-sha256 by
 * the key, c=relaxed/relaxed,
 * t=now) for msg, a complete CRLF message, signing the listed header
 * names that the message has.  -1 when the message is malformed.
 */
int	 dkim_sign(const struct dkim_key *, const char *msg, size_t len,
	    const char *const *headers, time_t now, struct buf *out);

/* --------------------------------------------------------------- seal.c */

/* The server key of data_key_file: AES-256-GCM for secrets at rest. */
struct seal_key {
	unsigned char	 key[32];
	int		 set;		/* 0: no data_key_file */
};

/* Reads path (at least 32 bytes; the key is their SHA-256); -1 with err. */
int	 seal_key_load(struct seal_key *, const char *path, char *err,
	    size_t errlen);
void	 seal_key_from_bytes(struct seal_key *, const unsigned char *,
	    size_t);				/* the tests' */
void	 seal_key_clear(struct seal_key *);	/* wipes it */
/* "v1.BASE64" of plain sealed under aad (a NUL-terminated name of what
 * it is, e.g. tenant and domain); NULL without a key.  Caller frees. */
char	*seal_encrypt(const struct seal_key *, const char *aad,
	    const char *plain, size_t len);
/* The plaintext (NUL-terminated, *len set) of a sealed text, or NULL when
 * it is not one, the key or the aad differ, or it was changed.  The
 * caller wipes and frees it. */
char	*seal_decrypt(const struct seal_key *, const char *aad,
	    const char *text, size_t textlen, size_t *len);

/* ------------------------------------------------------------- series.c */

/*
 * Opens and clicks per minute and per hour, for the dashboard's charts.
 * The shipper (store.c) counts each event in the bucket of its own
 * timestamp; GET /v1/campaigns/ID/timeseries reads the buckets back.
 */
enum series_kind {
	SERIES_OPEN,		/* human opens */
	SERIES_OPEN_MACHINE,
	SERIES_CLICK,		/* human clicks */
	SERIES_CLICK_MACHINE,
	SERIES_NKINDS
};

#define SERIES_MINUTE		60	/* step, seconds */
#define SERIES_HOUR		3600
#define SERIES_MAX_POINTS	1440	/* a day of minutes, 60 days of hours */
#define SERIES_FIELD_MAX	32

/* The hash field of one bucket ("o:29454720", "hcm:490912"); bucket is
 * the unix time divided by step.  Returns the length written. */
size_t	 series_field(char *out, enum series_kind, int step, uint64_t bucket);
/* "minute" or "hour" (NULL: minute) to seconds; -1 otherwise. */
int	 series_step(const char *);
/* Unix seconds, or RFC 3339 UTC ("2026-12-01T19:05:00Z", seconds
 * optional); -1 on anything else. */
int	 series_time(const char *, uint64_t *secs);
/*
 * The buckets to answer: *first (unix time / step) and *count.  from and
 * to are the query's strings or NULL; without from, the range starts at
 * since (the campaign's launch, or creation) but holds no more than
 * SERIES_MAX_POINTS buckets up to to; without to, it ends now.  -1 with
 * a reason in err for a bad time, from after to, or too many buckets.
 */
int	 series_range(int step, const char *from, const char *to,
	    uint64_t since, uint64_t now, uint64_t *first, size_t *count,
	    char *err, size_t errlen);

#endif /* FANFARE_H */
