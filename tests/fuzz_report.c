/*
 * fuzz_report.c: libFuzzer target for src/report.c, what any stranger
 * with a valid VERP address can feed the bounce listener.  make fuzz
 * builds it (fuzz/report); make check replays tests/fuzz/report/.
 *
 * Contract: report_parse never reads out of bounds, always fills the
 * struct, its strings are NUL-terminated printable ASCII within their
 * buffers, a known kind has a valid kind name, and a hard or soft
 * bounce has a Status of its class.  The same bytes, as the text of an
 * SMTP reply (a tenant's own relay writes it), go to
 * report_reply_status: a code of the reply's class, in bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static void
check_text(const char *s, size_t cap)
{
	size_t	n = strnlen(s, cap), i;

	CHECK(n < cap);
	for (i = 0; i < n; i++)
		CHECK(s[i] >= 0x20 && s[i] <= 0x7e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct report	r;
	char		*copy, st[REPORT_STATUS_MAX];
	size_t		 n;

	/* An exact-size copy, so ASan sees a read past the end. */
	copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	memset(&r, 0x55, sizeof(r));
	report_parse(copy, len, &r);
	free(copy);
	/* NUL-terminated, as libesmtp's reply text is. */
	n = strnlen((const char *)data, len);
	copy = malloc(n + 1);
	memcpy(copy, data, n);
	copy[n] = '\0';
	memset(st, 0x55, sizeof(st));
	report_reply_status(550, copy, st);
	check_text(st, sizeof(st));
	CHECK(st[0] == '5' && st[1] == '.');
	report_reply_status(999, copy, st);
	CHECK(st[0] == '\0');
	free(copy);
	CHECK(r.kind == REPORT_UNRECOGNISED || r.kind == REPORT_HARD ||
	    r.kind == REPORT_SOFT || r.kind == REPORT_COMPLAINT);
	check_text(r.status, sizeof(r.status));
	check_text(r.diagnostic, sizeof(r.diagnostic));
	check_text(r.recipient, sizeof(r.recipient));
	CHECK(report_kind_name(r.kind) != NULL);
	if (r.kind == REPORT_HARD)
		CHECK(r.status[0] == '5' && r.status[1] == '.');
	if (r.kind == REPORT_UNRECOGNISED)
		CHECK(r.diagnostic[0] != '\0');
	return 0;
}
