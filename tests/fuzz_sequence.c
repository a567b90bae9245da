/*
 * fuzz_sequence.c: libFuzzer target for src/sequence.c, which checks
 * the POST /v1/sequences bodies a tenant sends.  make fuzz builds it
 * with clang (fuzz/sequence); make check replays tests/fuzz/sequence/.
 *
 * The input is parsed as JSON and checked as a body, and its bytes as a
 * delay and as a condition.  It aborts when a result breaks the
 * contract:
 *  - an accepted body has 1 to SEQUENCE_STEPS_MAX steps, each delay at
 *    most SEQUENCE_DELAY_MAX_MS, a first step that is "always", a name
 *    of 1 to SEQUENCE_NAME_MAX bytes and template ids that are not 0;
 *  - a refused one says 400 or 422, a code and a message;
 *  - an accepted delay is at most the maximum, and its text form reads
 *    back as the same delay.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sequence.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sequence_def	 d;
	struct sequence_error	 e;
	enum sequence_if	 c;
	json_error_t		 jerr;
	json_t			*j;
	char			*copy, text[SEQUENCE_DELAY_TEXT];
	uint64_t		 ms, again;
	size_t			 i;

	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (sequence_parse_delay(copy, size, &ms) == 0) {
		CHECK(ms <= SEQUENCE_DELAY_MAX_MS);
		sequence_format_delay(ms, text, sizeof(text));
		CHECK(sequence_parse_delay(text, strlen(text), &again) == 0);
		CHECK(again == ms);
	}
	if (sequence_parse_if(copy, size, &c) == 0)
		CHECK(strlen(sequence_if_name(c)) == size);
	if ((j = json_loadb(copy, size, JSON_ALLOW_NUL, &jerr)) != NULL) {
		memset(&e, 0, sizeof(e));
		if (sequence_def_parse(j, &d, &e) == 0) {
			CHECK(d.nsteps >= 1 && d.nsteps <= SEQUENCE_STEPS_MAX);
			CHECK(d.name_len >= 1 &&
			    d.name_len <= SEQUENCE_NAME_MAX);
			CHECK(d.steps[0].cond == SEQUENCE_IF_ALWAYS);
			for (i = 0; i < d.nsteps; i++) {
				CHECK(d.steps[i].template_id != 0);
				CHECK(d.steps[i].delay_ms <=
				    SEQUENCE_DELAY_MAX_MS);
			}
		} else {
			CHECK(e.status == 400 || e.status == 422);
			CHECK(e.code[0] != '\0' && e.msg[0] != '\0');
		}
		json_decref(j);
	}
	free(copy);
	return 0;
}
