/*
 * test_redis_slot.c: redis_slot.c's CRC16, key slots, command key
 * positions, CLUSTER SLOTS parsing and MOVED/ASK parsing.  The expected
 * slots were asked of a real redis-server 7.0 (CLUSTER KEYSLOT).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "redis_slot.h"

#define KEYSLOT(s)	slot_of_key((s), strlen(s))

Test(redis_slot, crc16)
{
	/* The spec's test vector, and the empty input. */
	cr_assert_eq(slot_crc16("123456789", 9), 0x31C3);
	cr_assert_eq(slot_crc16("", 0), 0);
	cr_assert_eq(KEYSLOT("123456789"), 0x31C3 & 16383);
	cr_assert_eq(KEYSLOT("123456789"), 12739);
}

Test(redis_slot, known_slots)
{
	cr_assert_eq(KEYSLOT("foo"), 12182);
	cr_assert_eq(KEYSLOT("bar"), 5061);
	cr_assert_eq(KEYSLOT("k"), 7629);
	cr_assert_eq(KEYSLOT(""), 0);
	cr_assert_eq(KEYSLOT("{"), 4092);
	cr_assert_eq(KEYSLOT("}"), 12090);
	cr_assert_eq(KEYSLOT("a{b"), 13340);
}

Test(redis_slot, hash_tags)
{
	cr_assert_eq(KEYSLOT("{user1000}.following"), 3443);
	cr_assert_eq(KEYSLOT("{user1000}.followers"), 3443);
	/* An empty tag: the whole key. */
	cr_assert_eq(KEYSLOT("foo{}{bar}"), 8363);
	cr_assert_eq(KEYSLOT("{}"), 15257);
	/* The first '{' and the first '}' after it: "{bar". */
	cr_assert_eq(KEYSLOT("foo{{bar}}zap"), 4015);
	cr_assert_eq(KEYSLOT("foo{{bar}}zap"), KEYSLOT("{bar"));
	/* Only the first tag counts. */
	cr_assert_eq(KEYSLOT("foo{bar}{zap}"), 5061);
	cr_assert_eq(KEYSLOT("foo{bar}{zap}"), KEYSLOT("bar"));
	cr_assert_eq(KEYSLOT("{a}"), KEYSLOT("a"));
	/* Lengths, not NULs: the tag must close within len. */
	cr_assert_eq(slot_of_key("{a}x", 2), KEYSLOT("{a"));
}

Test(redis_slot, fanfare_tags)
{
	/* A tenant's keys share one slot; a campaign's tracking keys have
	 * their own. */
	cr_assert_eq(KEYSLOT("{t:7}:ct:1"), 10274);
	cr_assert_eq(KEYSLOT("{t:7}:ct:1"), KEYSLOT("{t:7}:camp:3:q"));
	cr_assert_eq(KEYSLOT("{t:7}:ct:1"), KEYSLOT("t:7"));
	cr_assert_eq(KEYSLOT("{t:7:c:3}:stats"), 11524);
	cr_assert_neq(KEYSLOT("{t:7:c:3}:stats"), KEYSLOT("{t:7}:ct:1"));
	cr_assert_eq(KEYSLOT("{t:7:c:3}:stats"), KEYSLOT("{t:7:c:3}:ts"));
}

static int
key_of(int argc, ...)
{
	const char	*argv[32];
	va_list		 ap;
	int		 i;

	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, const char *);
	va_end(ap);
	return slot_command_key(argc, argv, NULL);
}

Test(redis_slot, command_keys)
{
	cr_assert_eq(key_of(2, "GET", "k"), 1);
	cr_assert_eq(key_of(2, "get", "k"), 1);
	cr_assert_eq(key_of(4, "HSET", "h", "f", "v"), 1);
	cr_assert_eq(key_of(1, "GET"), -1);
	cr_assert_eq(key_of(0), -1);
	cr_assert_eq(key_of(5, "EVALSHA", "abc", "2", "k1", "k2"), 3);
	cr_assert_eq(key_of(4, "evalsha", "abc", "0", "arg"), -1);
	cr_assert_eq(key_of(3, "EVAL", "return 1", "0"), -1);
	cr_assert_eq(key_of(4, "EVAL", "return 1", "1", "k"), 3);
	/* More keys than arguments, or a numkeys that is not one: Redis
	 * refuses those. */
	cr_assert_eq(key_of(4, "EVALSHA", "abc", "2", "k1"), -1);
	cr_assert_eq(key_of(4, "EVALSHA", "abc", "-1", "k1"), -1);
	cr_assert_eq(key_of(4, "EVALSHA", "abc", "x", "k1"), -1);
	cr_assert_eq(key_of(2, "EVALSHA", "abc"), -1);
	cr_assert_eq(key_of(4, "FCALL", "f", "1", "k"), 3);
	cr_assert_eq(key_of(9, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1",
	    "STREAMS", "k", "0"), 7);
	cr_assert_eq(key_of(8, "xreadgroup", "group", "g", "c", "noack",
	    "streams", "k", ">"), 6);
	cr_assert_eq(key_of(8, "XREAD", "BLOCK", "0", "STREAMS", "a", "b",
	    "0", "0"), 4);
	/* A group named STREAMS is an option argument, not the keyword. */
	cr_assert_eq(key_of(7, "XREADGROUP", "GROUP", "STREAMS", "c",
	    "STREAMS", "k", ">"), 5);
	cr_assert_eq(key_of(4, "XREAD", "STREAMS", "a", "b"), 2);
	cr_assert_eq(key_of(3, "XREAD", "STREAMS", "a"), -1);
	cr_assert_eq(key_of(2, "XREAD", "STREAMS"), -1);
	cr_assert_eq(key_of(3, "XREAD", "COUNT", "1"), -1);
	cr_assert_eq(key_of(5, "XREAD", "BOGUS", "STREAMS", "k", "0"), -1);
	cr_assert_eq(key_of(5, "XGROUP", "CREATE", "s", "g", "$"), 2);
	cr_assert_eq(key_of(3, "XINFO", "STREAM", "s"), 2);
	cr_assert_eq(key_of(3, "MEMORY", "USAGE", "k"), 2);
	cr_assert_eq(key_of(2, "MEMORY", "STATS"), -1);
	cr_assert_eq(key_of(4, "BITOP", "AND", "d", "s"), 2);
	cr_assert_eq(key_of(6, "XAUTOCLAIM", "s", "g", "c", "0", "0-0"), 1);
	cr_assert_eq(key_of(2, "SCAN", "0"), -1);
	cr_assert_eq(key_of(3, "SCRIPT", "LOAD", "return 1"), -1);
	cr_assert_eq(key_of(1, "PING"), -1);
	cr_assert_eq(key_of(2, "ping", "hello"), -1);
	cr_assert_eq(key_of(1, "INFO"), -1);
	cr_assert_eq(key_of(2, "CLUSTER", "SLOTS"), -1);
	cr_assert_eq(key_of(3, "WAIT", "1", "1000"), -1);
	cr_assert_eq(key_of(1, "ASKING"), -1);
	cr_assert_eq(key_of(1, "READONLY"), -1);
	cr_assert_eq(key_of(3, "PUBLISH", "ch", "m"), -1);
	/* Prefixes of a keyless name are not that name. */
	cr_assert_eq(key_of(2, "PINGX", "k"), 1);
	cr_assert_eq(key_of(2, "PIN", "k"), 1);
}

Test(redis_slot, command_keys_with_lengths)
{
	/* Arguments need not end in NUL: "GETX" cut to "GET". */
	const char	*argv[] = { "GETX", "key" };
	size_t		 lens[] = { 3, 3 };
	const char	*ping[] = { "PINGPONG", "x" };
	size_t		 plens[] = { 4, 1 };

	cr_assert_eq(slot_command_key(2, argv, lens), 1);
	cr_assert_eq(slot_command_key(2, ping, plens), -1);
}

/* ----------------------------------------------------- reply trees */

static redisReply *
r_int(long long v)
{
	redisReply	*r = calloc(1, sizeof(*r));

	r->type = REDIS_REPLY_INTEGER;
	r->integer = v;
	return r;
}

static redisReply *
r_str(const char *s)
{
	redisReply	*r = calloc(1, sizeof(*r));

	if (s == NULL) {
		r->type = REDIS_REPLY_NIL;
		return r;
	}
	r->type = REDIS_REPLY_STRING;
	r->len = strlen(s);
	r->str = strdup(s);
	return r;
}

static redisReply *
r_arr(int n, ...)
{
	redisReply	*r = calloc(1, sizeof(*r));
	va_list		 ap;
	int		 i;

	r->type = REDIS_REPLY_ARRAY;
	r->elements = (size_t)n;
	r->element = calloc((size_t)n + 1, sizeof(*r->element));
	va_start(ap, n);
	for (i = 0; i < n; i++)
		r->element[i] = va_arg(ap, redisReply *);
	va_end(ap);
	return r;
}

static void
r_free(redisReply *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->elements; i++)
		r_free(r->element[i]);
	free(r->element);
	free(r->str);
	free(r);
}

/* One range: start, end, master host:port (and id), one replica. */
static redisReply *
r_range(long long lo, long long hi, const char *host, long long port,
    long long rport)
{
	return r_arr(4, r_int(lo), r_int(hi),
	    r_arr(3, r_str(host), r_int(port), r_str("0123abcd")),
	    r_arr(3, r_str("127.0.0.1"), r_int(rport), r_str("4567ef00")));
}

static redisReply *
three_masters(void)
{
	/* As redis-cli --cluster create splits 16384 slots in three; the
	 * ranges in no particular order, one master holding two. */
	return r_arr(4,
	    r_range(5461, 10922, "127.0.0.1", 7001, 7004),
	    r_range(0, 5460, "127.0.0.1", 7000, 7003),
	    r_range(10923, 16000, "127.0.0.1", 7002, 7005),
	    r_range(16001, 16383, "127.0.0.1", 7000, 7003));
}

Test(redis_slot, map_three_masters)
{
	static struct slot_map	 map;
	redisReply		*r = three_masters();

	slot_map_init(&map);
	cr_assert_eq(map.nnodes, 0);
	cr_assert_eq(map.owner[0], -1);
	cr_assert_eq(slot_map_parse(&map, r, "10.0.0.1"), 0);
	cr_assert_eq(map.nnodes, 3);
	cr_assert_str_eq(map.nodes[map.owner[0]].host, "127.0.0.1");
	cr_assert_eq(map.nodes[map.owner[0]].port, 7000);
	cr_assert_eq(map.nodes[map.owner[5460]].port, 7000);
	cr_assert_eq(map.nodes[map.owner[5461]].port, 7001);
	cr_assert_eq(map.nodes[map.owner[10922]].port, 7001);
	cr_assert_eq(map.nodes[map.owner[10923]].port, 7002);
	cr_assert_eq(map.nodes[map.owner[16000]].port, 7002);
	cr_assert_eq(map.nodes[map.owner[16001]].port, 7000);
	cr_assert_eq(map.owner[16383], map.owner[0]);
	cr_assert_eq(map.nodes[map.owner[KEYSLOT("foo")]].port, 7002);
	/* Each master counts the replicas listed after it. */
	cr_assert_eq(map.nodes[map.owner[0]].replicas, 1);
	cr_assert_eq(map.nodes[map.owner[6000]].replicas, 1);
	/* Replicas are not nodes of the map. */
	cr_assert_eq(slot_map_node(&map, "127.0.0.1", 7001), map.owner[6000]);
	cr_assert_eq(map.nnodes, 3);
	cr_assert_eq(slot_map_node(&map, "127.0.0.1", 7003), 3);
	cr_assert_eq(map.nnodes, 4);
	r_free(r);
}

Test(redis_slot, map_master_without_replica)
{
	static struct slot_map	 map;
	redisReply		*r = r_arr(2,
	    r_range(0, 8191, "127.0.0.1", 7000, 7003),
	    r_arr(3, r_int(8192), r_int(16383),
	    r_arr(3, r_str("127.0.0.1"), r_int(7001), r_str("89abcdef"))));

	slot_map_init(&map);
	cr_assert_eq(slot_map_parse(&map, r, NULL), 0);
	cr_assert_eq(map.nodes[map.owner[0]].replicas, 1);
	cr_assert_eq(map.nodes[map.owner[9000]].replicas, 0,
	    "a master whose replica took over has none");
	r_free(r);
}

Test(redis_slot, map_replaced_and_gaps)
{
	static struct slot_map	 map;
	redisReply		*r = three_masters();
	redisReply		*r2;

	slot_map_init(&map);
	cr_assert_eq(slot_map_parse(&map, r, NULL), 0);
	/* A later reply replaces everything: a failed-over master and a
	 * range nobody serves. */
	r2 = r_arr(2, r_range(0, 100, "127.0.0.1", 7003, 7000),
	    r_range(200, 16383, "127.0.0.1", 7001, 7004));
	cr_assert_eq(slot_map_parse(&map, r2, NULL), 0);
	cr_assert_eq(map.nnodes, 2);
	cr_assert_eq(map.nodes[map.owner[0]].port, 7003);
	cr_assert_eq(map.owner[101], -1);
	cr_assert_eq(map.owner[199], -1);
	cr_assert_eq(map.nodes[map.owner[200]].port, 7001);
	/* An empty reply: a cluster with no slots assigned yet. */
	r_free(r2);
	r2 = r_arr(0);
	cr_assert_eq(slot_map_parse(&map, r2, NULL), 0);
	cr_assert_eq(map.nnodes, 0);
	cr_assert_eq(map.owner[0], -1);
	r_free(r2);
	r_free(r);
}

Test(redis_slot, map_fallback_host)
{
	static struct slot_map	 map;
	redisReply		*r;

	r = r_arr(3, r_range(0, 9, "", 7000, 7001),
	    r_range(10, 19, NULL, 7002, 7003),
	    r_range(20, 16383, "?", 7004, 7005));
	slot_map_init(&map);
	/* Without a fallback, an empty host cannot be resolved. */
	cr_assert_eq(slot_map_parse(&map, r, NULL), -1);
	cr_assert_eq(slot_map_parse(&map, r, "redis.internal"), 0);
	cr_assert_eq(map.nnodes, 2);
	cr_assert_str_eq(map.nodes[map.owner[0]].host, "redis.internal");
	cr_assert_eq(map.nodes[map.owner[0]].port, 7000);
	cr_assert_str_eq(map.nodes[map.owner[10]].host, "redis.internal");
	cr_assert_eq(map.nodes[map.owner[10]].port, 7002);
	cr_assert_eq(map.owner[20], -1);
	r_free(r);
}

/* Each reply is malformed; the map from three_masters() must stay. */
static void
assert_rejected(redisReply *bad)
{
	static struct slot_map	 map, before;
	redisReply		*good = three_masters();

	slot_map_init(&map);
	cr_assert_eq(slot_map_parse(&map, good, NULL), 0);
	memcpy(&before, &map, sizeof(map));
	cr_assert_eq(slot_map_parse(&map, bad, "127.0.0.1"), -1);
	cr_assert_eq(memcmp(&before, &map, sizeof(map)), 0);
	r_free(good);
	r_free(bad);
}

Test(redis_slot, map_malformed)
{
	static struct slot_map	 map;
	char			 longhost[300];
	redisReply		*r;
	int			 i;

	slot_map_init(&map);
	cr_assert_eq(slot_map_parse(&map, NULL, NULL), -1);
	/* Not an array. */
	assert_rejected(r_str("ERR This instance has cluster support "
	    "disabled"));
	/* A good range, then one whose end is past the last slot. */
	assert_rejected(r_arr(2, r_range(0, 5460, "127.0.0.1", 7000, 7003),
	    r_range(5461, 16384, "127.0.0.1", 7001, 7004)));
	/* Start after end, a negative start. */
	assert_rejected(r_arr(1, r_range(10, 9, "127.0.0.1", 7000, 7003)));
	assert_rejected(r_arr(1, r_range(-1, 9, "127.0.0.1", 7000, 7003)));
	/* Overlapping ranges. */
	assert_rejected(r_arr(2, r_range(0, 100, "127.0.0.1", 7000, 7003),
	    r_range(100, 200, "127.0.0.1", 7001, 7004)));
	/* A port out of range, a port as a string. */
	assert_rejected(r_arr(1, r_range(0, 9, "127.0.0.1", 0, 7003)));
	assert_rejected(r_arr(1, r_range(0, 9, "127.0.0.1", 65536, 7003)));
	assert_rejected(r_arr(1, r_arr(3, r_int(0), r_int(9),
	    r_arr(2, r_str("127.0.0.1"), r_str("7000")))));
	/* Too short: no master, a master without a port. */
	assert_rejected(r_arr(1, r_arr(2, r_int(0), r_int(9))));
	assert_rejected(r_arr(1, r_arr(3, r_int(0), r_int(9),
	    r_arr(1, r_str("127.0.0.1")))));
	/* Slots as strings; the master as a string; a NULL element. */
	assert_rejected(r_arr(1, r_arr(3, r_str("0"), r_int(9),
	    r_arr(2, r_str("127.0.0.1"), r_int(7000)))));
	assert_rejected(r_arr(1, r_arr(3, r_int(0), r_int(9),
	    r_str("127.0.0.1:7000"))));
	assert_rejected(r_arr(2, r_range(0, 9, "127.0.0.1", 7000, 7003),
	    NULL));
	/* A host that does not fit. */
	memset(longhost, 'h', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = '\0';
	assert_rejected(r_arr(1, r_range(0, 9, longhost, 7000, 7003)));
	/* More masters than SLOT_MAX_NODES. */
	r = r_arr(0);		/* filled here: no varargs for 65 */
	r->elements = SLOT_MAX_NODES + 1;
	r->element = realloc(r->element, (SLOT_MAX_NODES + 1) *
	    sizeof(*r->element));
	for (i = 0; i <= SLOT_MAX_NODES; i++)
		r->element[i] = r_range(i, i, "127.0.0.1", 10000 + i, 20000 + i);
	assert_rejected(r);
}

Test(redis_slot, map_node_full)
{
	static struct slot_map	 map;
	int			 i;

	slot_map_init(&map);
	for (i = 0; i < SLOT_MAX_NODES; i++)
		cr_assert_eq(slot_map_node(&map, "10.0.0.1", 7000 + i), i);
	cr_assert_eq(slot_map_node(&map, "10.0.0.1", 7000 + 5), 5);
	cr_assert_eq(slot_map_node(&map, "10.0.0.2", 7000), -1);
	cr_assert_eq(map.nnodes, SLOT_MAX_NODES);
}

/* ------------------------------------------------------- redirects */

#define REDIRECT(s, a, sl, h, hl, p) \
	slot_parse_redirect((s), strlen(s), (a), (sl), (h), (hl), (p))

Test(redis_slot, redirect_moved_ask)
{
	char		host[64];
	unsigned	slot;
	int		ask, port;

	cr_assert_eq(REDIRECT("MOVED 3999 127.0.0.1:6381", &ask, &slot,
	    host, sizeof(host), &port), 0);
	cr_assert_eq(ask, 0);
	cr_assert_eq(slot, 3999);
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_eq(port, 6381);

	cr_assert_eq(REDIRECT("ASK 0 10.1.2.3:7000", &ask, &slot, host,
	    sizeof(host), &port), 0);
	cr_assert_eq(ask, 1);
	cr_assert_eq(slot, 0);
	cr_assert_str_eq(host, "10.1.2.3");
	cr_assert_eq(port, 7000);

	cr_assert_eq(REDIRECT("MOVED 16383 redis-3.example.net:65535", &ask,
	    &slot, host, sizeof(host), &port), 0);
	cr_assert_eq(slot, 16383);
	cr_assert_str_eq(host, "redis-3.example.net");
	cr_assert_eq(port, 65535);

	/* An unknown endpoint: the address we asked. */
	cr_assert_eq(REDIRECT("MOVED 12 :6380", &ask, &slot, host,
	    sizeof(host), &port), 0);
	cr_assert_str_eq(host, "");
	cr_assert_eq(port, 6380);

	/* Only len bytes are read. */
	cr_assert_eq(slot_parse_redirect("ASK 1 h:7000 trailing", 12, &ask,
	    &slot, host, sizeof(host), &port), 0);
	cr_assert_str_eq(host, "h");
	cr_assert_eq(port, 7000);
}

Test(redis_slot, redirect_ipv6)
{
	char		host[64];
	unsigned	slot;
	int		ask, port;

	cr_assert_eq(REDIRECT("MOVED 3999 ::1:6381", &ask, &slot, host,
	    sizeof(host), &port), 0);
	cr_assert_str_eq(host, "::1");
	cr_assert_eq(port, 6381);
	cr_assert_eq(REDIRECT("ASK 42 2001:db8::7:7000", &ask, &slot, host,
	    sizeof(host), &port), 0);
	cr_assert_eq(ask, 1);
	cr_assert_str_eq(host, "2001:db8::7");
	cr_assert_eq(port, 7000);
	cr_assert_eq(REDIRECT("MOVED 1 fe80::1%eth0:7001", &ask, &slot, host,
	    sizeof(host), &port), 0);
	cr_assert_str_eq(host, "fe80::1%eth0");
	cr_assert_eq(port, 7001);
}

Test(redis_slot, redirect_garbage)
{
	static const char *const bad[] = {
		"",
		"MOVED",
		"MOVED ",
		"MOVED 3999",
		"MOVED 3999 ",
		"MOVED 3999 127.0.0.1",
		"MOVED 3999 127.0.0.1:",
		"MOVED 3999 127.0.0.1:0",
		"MOVED 3999 127.0.0.1:65536",
		"MOVED 3999 127.0.0.1:123456",
		"MOVED 3999 127.0.0.1:63x1",
		"MOVED 16384 127.0.0.1:6381",
		"MOVED 99999999999 127.0.0.1:6381",
		"MOVED -1 127.0.0.1:6381",
		"MOVED x 127.0.0.1:6381",
		"MOVED  3999 127.0.0.1:6381",
		"MOVED 3999  127.0.0.1:6381",
		"MOVED 3999 127.0.0.1:6381 ",
		"MOVED 3999 127.0.0.1 :6381",
		"moved 3999 127.0.0.1:6381",
		"ASKING 3999 127.0.0.1:6381",
		"ERR unknown command 'FOO'",
		"CLUSTERDOWN The cluster is down",
		"TRYAGAIN Multiple keys request during rehashing of slot",
	};
	char		host[64], small[4];
	unsigned	slot = 77;
	int		ask = 77, port = 77;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(host, "untouched");
		cr_assert_eq(REDIRECT(bad[i], &ask, &slot, host, sizeof(host),
		    &port), -1, "accepted \"%s\"", bad[i]);
		cr_assert_str_eq(host, "untouched");
		cr_assert_eq(slot, 77);
		cr_assert_eq(ask, 77);
		cr_assert_eq(port, 77);
	}
	/* A host that does not fit the caller's buffer. */
	cr_assert_eq(REDIRECT("MOVED 1 1234:7000", &ask, &slot, small,
	    sizeof(small), &port), -1);
	cr_assert_eq(REDIRECT("MOVED 1 123:7000", &ask, &slot, small,
	    sizeof(small), &port), 0);
	cr_assert_str_eq(small, "123");
	/* An embedded NUL is not part of a host. */
	cr_assert_eq(slot_parse_redirect("MOVED 1 a\0b:7000", 16, &ask,
	    &slot, host, sizeof(host), &port), -1);
}
