/*
 * redis_slot.h: Redis Cluster routing by hash slot, as the cluster spec
 * defines it (https://redis.io/docs/reference/cluster-spec/).  hiredis
 * 0.14 knows nothing of clusters, so the connection code asks this
 * module which slot a command goes to, who owns that slot, and where a
 * MOVED or ASK reply points.
 *
 * Pure: bytes and reply trees in, numbers out.  No I/O, no allocation,
 * no locks; a struct slot_map belongs to whoever holds it.  Unit tested
 * in tests/test_redis_slot.c, fuzzed by tests/fuzz_redis_slot.c.
 */
#ifndef REDIS_SLOT_H
#define REDIS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define SLOT_COUNT	16384
#define SLOT_MAX_NODES	64
#define SLOT_HOST_MAX	256

struct redisReply;

/* CRC16-CCITT (XMODEM), as the Redis Cluster spec defines it:
 * "123456789" -> 0x31C3. */
uint16_t slot_crc16(const void *buf, size_t len);

/* The hash slot of a key, honouring the spec's hash-tag rule (the first
 * '{' and the first '}' after it, non-empty content). */
unsigned slot_of_key(const char *key, size_t len);

/*
 * Index in argv of the key that routes this command, or -1 when it has
 * none (PING, INFO, SCRIPT, SCAN, CLUSTER, WAIT, ASKING, READONLY...).
 * Knows EVAL/EVALSHA (and their _RO forms, FCALL, FCALL_RO: numkeys in
 * argv[2]; key argv[3] when numkeys > 0, else -1), XREAD/XREADGROUP (the
 * first key after STREAMS, -1 when the options are malformed), the
 * container commands whose key is argv[2] (XGROUP, XINFO, OBJECT,
 * BITOP, MEMORY USAGE), and treats every other command as having its
 * key at argv[1] when argc >= 2.  Case-insensitive command names.
 * lens may be NULL when every argument is a C string.
 */
int slot_command_key(int argc, const char *const *argv, const size_t *lens);

/* A cluster's masters and who owns which slot, from a CLUSTER SLOTS
 * reply. */
struct slot_node {
	char	host[SLOT_HOST_MAX];
	int	port;
	int	replicas;	/* listed (not failed) for its slots */
};
struct slot_map {
	int		 nnodes;
	struct slot_node nodes[SLOT_MAX_NODES];	/* masters only */
	int16_t		 owner[SLOT_COUNT];		/* index in nodes, -1: none */
};

/* An empty map: no nodes, no slot owned. */
void slot_map_init(struct slot_map *);

/*
 * Replaces the map with a CLUSTER SLOTS reply (hiredis redisReply, array
 * of [start, end, [host, port, id...], replicas...]); on a malformed
 * reply (wrong types, a range outside 0..16383 or overlapping another,
 * a port outside 1..65535, a host too long, more than SLOT_MAX_NODES
 * masters) returns -1 and leaves the map as it was.  An empty or nil
 * host means "the address we asked", passed as fallback_host; a range
 * whose master's endpoint is "?" (unknown to the cluster) is left
 * without an owner.  Slots in no range have no owner.
 */
int slot_map_parse(struct slot_map *, const struct redisReply *,
    const char *fallback_host);

/* The index of host:port among the nodes, adding it when new; -1 when
 * full (or the host does not fit SLOT_HOST_MAX). */
int slot_map_node(struct slot_map *, const char *host, int port);

/*
 * "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381" (an error
 * reply's text): fills *ask (1 for ASK), *slot, host and *port; -1 when
 * it is not a redirect or is malformed, and then nothing is written.
 * IPv6 "host" may be like "::1:6381" (the port is after the last ':',
 * and Redis writes no brackets).  An empty host (":6381", sent when the
 * cluster does not know its nodes' endpoints) means "the address we
 * asked".
 */
int slot_parse_redirect(const char *err, size_t len, int *ask,
    unsigned *slot, char *host, size_t hostlen, int *port);

/* Splits a formatted (RESP) command into its first max arguments,
 * which point into cmd: the count (at most max), or -1 when malformed. */
int slot_resp_args(const char *cmd, size_t len, const char **argv,
    size_t *lens, int max);

#endif
