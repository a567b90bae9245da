/*
 * fuzz_redis_slot.c: libFuzzer harness for src/redis_slot.c's byte
 * parsers: `make fuzz` builds it, `make fuzz-run` runs it, and make
 * check replays tests/fuzz/redis_slot/.
 *
 * The input is, whole, a key and an error reply's text, and, split at
 * '\n', a command's arguments (each in a heap block of exactly its
 * length, no NUL after it).  Besides crashes and out-of-bounds reads, it
 * aborts when the contract breaks:
 * - slot_of_key disagrees with a plain reading of the spec (bitwise
 *   CRC16, the tag found by index);
 * - slot_parse_redirect writes anything when it refuses, or accepts
 *   something that, formatted back canonically, does not parse to the
 *   same redirect;
 * - slot_command_key answers outside -1..argc-1 or 0, or differs when
 *   the command name's case changes or when the lengths are implied by
 *   NULs instead of given.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_slot.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

#define FUZZ_MAX_ARGS	32

static unsigned
reference_slot(const uint8_t *key, size_t len)
{
	size_t		 s, e, i, from = 0, to = len;
	uint16_t	 crc = 0;
	int		 bit;

	for (s = 0; s < len && key[s] != '{'; s++)
		;
	if (s < len) {
		for (e = s + 1; e < len && key[e] != '}'; e++)
			;
		if (e < len && e != s + 1) {
			from = s + 1;
			to = e;
		}
	}
	for (i = from; i < to; i++) {
		crc ^= (uint16_t)(key[i] << 8);
		for (bit = 0; bit < 8; bit++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 :
			    crc << 1);
	}
	return crc % SLOT_COUNT;
}

static void
fuzz_redirect(const uint8_t *data, size_t size)
{
	char		*err, host[64], host2[64], canon[128];
	unsigned	 slot = 99999, slot2;
	int		 ask = 7, port = -7, ask2, port2, n;

	err = malloc(size == 0 ? 1 : size);
	CHECK(err != NULL);
	memcpy(err, data, size);
	memset(host, 'x', sizeof(host));
	if (slot_parse_redirect(err, size, &ask, &slot, host, sizeof(host),
	    &port) == -1) {
		CHECK(ask == 7 && slot == 99999 && port == -7);
		CHECK(host[0] == 'x');
		free(err);
		return;
	}
	CHECK(ask == 0 || ask == 1);
	CHECK(slot < SLOT_COUNT);
	CHECK(port >= 1 && port <= 65535);
	CHECK(memchr(host, '\0', sizeof(host)) != NULL);
	CHECK(strchr(host, ' ') == NULL);

	n = snprintf(canon, sizeof(canon), "%s %u %s:%d", ask ? "ASK" : "MOVED",
	    slot, host, port);
	CHECK(n > 0 && (size_t)n < sizeof(canon));
	CHECK(slot_parse_redirect(canon, (size_t)n, &ask2, &slot2, host2,
	    sizeof(host2), &port2) == 0);
	CHECK(ask2 == ask && slot2 == slot && port2 == port);
	CHECK(strcmp(host2, host) == 0);
	free(err);
}

static void
fuzz_command(const uint8_t *data, size_t size)
{
	char		*argv[FUZZ_MAX_ARGS], *cargv[FUZZ_MAX_ARGS];
	size_t		 lens[FUZZ_MAX_ARGS], start = 0, i, j;
	int		 argc = 0, k, k2, k3, c;

	for (i = 0; i <= size && argc < FUZZ_MAX_ARGS; i++) {
		if (i < size && data[i] != '\n')
			continue;
		lens[argc] = i - start;
		argv[argc] = malloc(lens[argc] == 0 ? 1 : lens[argc]);
		CHECK(argv[argc] != NULL);
		memcpy(argv[argc], data + start, lens[argc]);
		argc++;
		start = i + 1;
	}

	k = slot_command_key(argc, (const char *const *)argv, lens);
	CHECK(k == -1 || (k >= 1 && k < argc));

	/* The same command name in the other case. */
	for (j = 0; j < lens[0]; j++) {
		c = (unsigned char)argv[0][j];
		argv[0][j] = (char)(islower(c) ? toupper(c) : tolower(c));
	}
	k2 = slot_command_key(argc, (const char *const *)argv, lens);
	CHECK(k2 == k);

	/* The same arguments as C strings, when none holds a NUL. */
	for (k3 = 0; k3 < argc; k3++)
		if (memchr(argv[k3], '\0', lens[k3]) != NULL)
			break;
	if (k3 == argc) {
		for (k3 = 0; k3 < argc; k3++) {
			cargv[k3] = strndup(argv[k3], lens[k3]);
			CHECK(cargv[k3] != NULL);
		}
		k3 = slot_command_key(argc, (const char *const *)cargv, NULL);
		CHECK(k3 == k);
		for (k3 = 0; k3 < argc; k3++)
			free(cargv[k3]);
	}
	for (k3 = 0; k3 < argc; k3++)
		free(argv[k3]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*key;

	key = malloc(size == 0 ? 1 : size);
	CHECK(key != NULL);
	memcpy(key, data, size);
	CHECK(slot_of_key(key, size) == reference_slot(data, size));
	free(key);

	fuzz_redirect(data, size);
	fuzz_command(data, size);
	return 0;
}
