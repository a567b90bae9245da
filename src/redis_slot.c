/*
 * redis_slot.c: which Redis Cluster slot a key or a command belongs to,
 * which master owns a slot (from CLUSTER SLOTS), and where a MOVED or
 * ASK error points.  See redis_slot.h.
 *
 * Pure and allocation-free: it runs on the tracking hot path (every
 * pixel's and click's command is routed through slot_command_key and
 * slot_of_key), and the fuzzer feeds it arbitrary bytes, so nothing here
 * reads past a length it was given or trusts a reply's shape.
 */
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>

#include "redis_slot.h"

/* CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no
 * reflection, no final XOR; the Redis Cluster spec's appendix. */
static const uint16_t crc16_table[256] = {
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
	0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
	0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
	0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
	0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
	0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
	0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
	0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
	0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
	0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
	0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
	0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
	0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
	0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
	0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
	0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
	0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
	0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
	0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
	0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
	0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
	0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
	0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
	0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
	0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
	0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
	0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
	0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
	0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
	0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
	0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

uint16_t
slot_crc16(const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	uint16_t		 crc = 0;
	size_t			 i;

	for (i = 0; i < len; i++)
		crc = (uint16_t)(crc << 8) ^ crc16_table[((crc >> 8) ^ p[i]) &
		    0xff];
	return crc;
}

unsigned
slot_of_key(const char *key, size_t len)
{
	const char	*open, *close;

	/* Only the first '{' counts, and only the first '}' after it; an
	 * empty tag ("{}") means the whole key is hashed. */
	open = memchr(key, '{', len);
	if (open != NULL) {
		close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close != NULL && close > open + 1)
			return slot_crc16(open + 1, (size_t)(close - open - 1)) &
			    (SLOT_COUNT - 1);
	}
	return slot_crc16(key, len) & (SLOT_COUNT - 1);
}

/* ------------------------------------------------------------ commands */

/* Commands that name no key, so any node may answer them (or the caller
 * picks one: SCAN and KEYS go to every master, WAIT to the one that took
 * the write).  PUBLISH's channel is not a key either: a cluster
 * broadcasts it.  SPUBLISH and SSUBSCRIBE are routed by their channel,
 * like a key, so they are not here. */
static const char *const keyless[] = {
	"ACL", "ASKING", "AUTH", "BGREWRITEAOF", "BGSAVE", "CLIENT",
	"CLUSTER", "COMMAND", "CONFIG", "DBSIZE", "DEBUG", "DISCARD", "ECHO",
	"EXEC", "FAILOVER", "FLUSHALL", "FLUSHDB", "FUNCTION", "HELLO",
	"INFO", "KEYS", "LASTSAVE", "LATENCY", "LOLWUT", "MODULE", "MONITOR",
	"MULTI", "PING", "PSUBSCRIBE", "PSYNC", "PUBLISH", "PUBSUB",
	"PUNSUBSCRIBE", "QUIT", "RANDOMKEY", "READONLY", "READWRITE",
	"REPLICAOF", "RESET", "ROLE", "SAVE", "SCAN", "SCRIPT", "SELECT",
	"SHUTDOWN", "SLAVEOF", "SLOWLOG", "SUBSCRIBE", "SWAPDB", "SYNC",
	"TIME", "UNSUBSCRIBE", "UNWATCH", "WAIT", "WAITAOF",
};

/* Commands whose first argument is a subcommand or an operation and
 * whose key comes next (MEMORY only for USAGE, below). */
static const char *const key_second[] = {
	"BITOP", "OBJECT", "XGROUP", "XINFO",
};

/* Commands laid out as EVAL: name, script/function, numkeys, keys... */
static const char *const numkeys_at_2[] = {
	"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int
arg_is(const char *arg, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(arg, word, len) == 0;
}

static int
arg_in(const char *arg, size_t len, const char *const *words, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (arg_is(arg, len, words[i]))
			return 1;
	return 0;
}

/* A non-negative decimal that fits an int; -1 otherwise (Redis refuses
 * such a numkeys, so the command goes nowhere). */
static long
arg_count(const char *arg, size_t len)
{
	long	v = 0;
	size_t	i;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (arg[i] < '0' || arg[i] > '9')
			return -1;
		v = v * 10 + (arg[i] - '0');
	}
	return v;
}

/* XREAD and XREADGROUP: the options as Redis's own key finder skips them
 * (xreadGetKeys), then STREAMS key... id..., as many ids as keys. */
static int
xread_key(int argc, const char *const *argv, const size_t *lens)
{
	int	i, nargs;

	for (i = 1; i < argc; i++) {
		if (arg_is(argv[i], lens[i], "BLOCK") ||
		    arg_is(argv[i], lens[i], "COUNT"))
			i++;
		else if (arg_is(argv[i], lens[i], "GROUP"))
			i += 2;
		else if (arg_is(argv[i], lens[i], "NOACK"))
			continue;
		else if (arg_is(argv[i], lens[i], "STREAMS"))
			break;
		else
			return -1;
	}
	if (i >= argc)
		return -1;
	nargs = argc - i - 1;
	if (nargs == 0 || nargs % 2 != 0)
		return -1;
	return i + 1;
}

static int
command_key(int argc, const char *const *argv, const size_t *lens)
{
	long	numkeys;

	if (argc < 2 || arg_in(argv[0], lens[0], keyless, NELEM(keyless)))
		return -1;
	if (arg_in(argv[0], lens[0], numkeys_at_2, NELEM(numkeys_at_2))) {
		if (argc < 3)
			return -1;
		numkeys = arg_count(argv[2], lens[2]);
		if (numkeys <= 0 || numkeys > argc - 3)
			return -1;
		return 3;
	}
	if (arg_is(argv[0], lens[0], "XREAD") ||
	    arg_is(argv[0], lens[0], "XREADGROUP"))
		return xread_key(argc, argv, lens);
	if (arg_in(argv[0], lens[0], key_second, NELEM(key_second)))
		return argc >= 3 ? 2 : -1;
	if (arg_is(argv[0], lens[0], "MEMORY"))
		return argc >= 3 && arg_is(argv[1], lens[1], "USAGE") ? 2 : -1;
	return 1;
}

/* The length of every argument when the caller gave none; more
 * arguments than this and a command is not routed (no command Fanfare
 * sends without lengths comes near it). */
#define SLOT_ARGV_STRLEN_MAX	64

int
slot_command_key(int argc, const char *const *argv, const size_t *lens)
{
	size_t	own[SLOT_ARGV_STRLEN_MAX];
	int	i;

	if (argc < 1 || argv == NULL)
		return -1;
	if (lens == NULL) {
		if (argc > SLOT_ARGV_STRLEN_MAX)
			return -1;
		for (i = 0; i < argc; i++)
			own[i] = strlen(argv[i]);
		lens = own;
	}
	return command_key(argc, argv, lens);
}

/* ----------------------------------------------------------- slot map */

void
slot_map_init(struct slot_map *map)
{
	int	i;

	map->nnodes = 0;
	for (i = 0; i < SLOT_COUNT; i++)
		map->owner[i] = -1;
}

/* The index of host:port in nodes[0..*n), adding it when new (-1 when
 * full or the host does not fit). */
static int
node_index(struct slot_node *nodes, int *n, const char *host, size_t hlen,
    int port)
{
	int	i;

	if (hlen >= SLOT_HOST_MAX)
		return -1;
	for (i = 0; i < *n; i++)
		if (nodes[i].port == port && strlen(nodes[i].host) == hlen &&
		    memcmp(nodes[i].host, host, hlen) == 0)
			return i;
	if (*n >= SLOT_MAX_NODES)
		return -1;
	memcpy(nodes[*n].host, host, hlen);
	nodes[*n].host[hlen] = '\0';
	nodes[*n].port = port;
	nodes[*n].replicas = 0;
	return (*n)++;
}

int
slot_map_node(struct slot_map *map, const char *host, int port)
{
	return node_index(map->nodes, &map->nnodes, host, strlen(host), port);
}

/* One range of a CLUSTER SLOTS reply checked: its slots, and the master's
 * address (*host NULL: its endpoint is unknown, "?"). */
static int
range_check(const redisReply *r, const char *fallback_host, long long *lo,
    long long *hi, const char **host, size_t *hlen, int *port)
{
	const redisReply	*m, *h, *p;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return -1;
	if (r->element[0] == NULL || r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1] == NULL || r->element[1]->type != REDIS_REPLY_INTEGER)
		return -1;
	*lo = r->element[0]->integer;
	*hi = r->element[1]->integer;
	if (*lo < 0 || *hi >= SLOT_COUNT || *lo > *hi)
		return -1;
	m = r->element[2];
	if (m == NULL || m->type != REDIS_REPLY_ARRAY || m->elements < 2)
		return -1;
	h = m->element[0];
	p = m->element[1];
	if (h == NULL || p == NULL || p->type != REDIS_REPLY_INTEGER ||
	    p->integer < 1 || p->integer > 65535)
		return -1;
	*port = (int)p->integer;
	if (h->type == REDIS_REPLY_NIL ||
	    (h->type == REDIS_REPLY_STRING && h->len == 0)) {
		if (fallback_host == NULL || *fallback_host == '\0')
			return -1;
		*host = fallback_host;
		*hlen = strlen(fallback_host);
	} else if (h->type == REDIS_REPLY_STRING && h->str != NULL) {
		if (memchr(h->str, '\0', h->len) != NULL)
			return -1;
		*host = h->str;
		*hlen = h->len;
		if (h->len == 1 && h->str[0] == '?')
			*host = NULL;
	} else
		return -1;
	if (*host != NULL && *hlen >= SLOT_HOST_MAX)
		return -1;
	return 0;
}

int
slot_map_parse(struct slot_map *map, const redisReply *reply,
    const char *fallback_host)
{
	struct slot_node	 nodes[SLOT_MAX_NODES];
	unsigned char		 seen[SLOT_COUNT / 8];
	const char		*host;
	long long		 lo, hi, s;
	size_t			 i, hlen;
	int			 n = 0, port, idx;

	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
		return -1;

	/* Everything is checked before the map is touched: a bad reply
	 * must not leave half a map behind. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < reply->elements; i++) {
		if (range_check(reply->element[i], fallback_host, &lo, &hi,
		    &host, &hlen, &port) == -1)
			return -1;
		for (s = lo; s <= hi; s++) {
			if (seen[s / 8] & (1u << (s % 8)))
				return -1;
			seen[s / 8] |= (unsigned char)(1u << (s % 8));
		}
		if (host != NULL &&
		    node_index(nodes, &n, host, hlen, port) == -1)
			return -1;
	}

	slot_map_init(map);
	memcpy(map->nodes, nodes, sizeof(nodes[0]) * (size_t)n);
	map->nnodes = n;
	for (i = 0; i < reply->elements; i++) {
		range_check(reply->element[i], fallback_host, &lo, &hi, &host,
		    &hlen, &port);
		if (host == NULL)
			continue;
		idx = node_index(map->nodes, &map->nnodes, host, hlen, port);
		/* After the range and its master: the replicas that are not
		 * failed, as Redis lists them. */
		map->nodes[idx].replicas = (int)reply->element[i]->elements - 3;
		for (s = lo; s <= hi; s++)
			map->owner[s] = (int16_t)idx;
	}
	return 0;
}

/* ----------------------------------------------------------- redirects */

int
slot_parse_redirect(const char *err, size_t len, int *ask, unsigned *slot,
    char *host, size_t hostlen, int *port)
{
	const char	*p, *end, *colon, *h;
	unsigned	 s = 0;
	long		 pt = 0;
	int		 is_ask;

	if (err == NULL || host == NULL || hostlen == 0)
		return -1;
	end = err + len;
	if (len > 6 && memcmp(err, "MOVED ", 6) == 0) {
		is_ask = 0;
		p = err + 6;
	} else if (len > 4 && memcmp(err, "ASK ", 4) == 0) {
		is_ask = 1;
		p = err + 4;
	} else
		return -1;

	/* The slot: 1 to 5 digits, below SLOT_COUNT, then one space. */
	if (p == end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9') {
		s = s * 10 + (unsigned)(*p - '0');
		if (s >= SLOT_COUNT)
			return -1;
		p++;
	}
	if (p == end || *p != ' ')
		return -1;
	p++;

	/* host:port, split at the last ':' since an IPv6 host holds some. */
	colon = NULL;
	for (h = p; h < end; h++) {
		if ((unsigned char)*h <= ' ' || *h == 0x7f)
			return -1;
		if (*h == ':')
			colon = h;
	}
	if (colon == NULL || colon + 1 == end || end - (colon + 1) > 5)
		return -1;
	for (h = colon + 1; h < end; h++) {
		if (*h < '0' || *h > '9')
			return -1;
		pt = pt * 10 + (*h - '0');
	}
	if (pt < 1 || pt > 65535)
		return -1;
	if ((size_t)(colon - p) >= hostlen)
		return -1;

	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	if (ask != NULL)
		*ask = is_ask;
	if (slot != NULL)
		*slot = s;
	if (port != NULL)
		*port = (int)pt;
	return 0;
}

/* A RESP length: digits then CRLF, within [p, end); -1 when malformed.
 * *next points past the CRLF. */
static long
resp_num(const char *p, const char *end, const char **next)
{
	long	n = 0;

	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9') {
		if (n > 1L << 40)
			return -1;
		n = n * 10 + (*p++ - '0');
	}
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -1;
	*next = p + 2;
	return n;
}

int
slot_resp_args(const char *p, size_t len, const char **argv, size_t *lens,
    int max)
{
	const char	*end = p + len, *q;
	long		 argc, i, n;

	if (len < 4 || *p != '*' || (argc = resp_num(p + 1, end, &q)) <= 0)
		return -1;
	for (p = q, i = 0; i < argc && i < max; i++) {
		if (p >= end || *p != '$' || (n = resp_num(p + 1, end, &q)) < 0 ||
		    end - q < n + 2)
			return -1;
		argv[i] = q;
		lens[i] = (size_t)n;
		p = q + n + 2;
	}
	return (int)(argc < max ? argc : max);
}
