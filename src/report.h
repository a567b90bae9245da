/*
 * report.h: what a mail sent back to a VERP address says (report.c):
 * an RFC 3464 delivery status notification (multipart/report;
 * report-type=delivery-status), an RFC 5965 complaint (multipart/report;
 * report-type=feedback-report), or neither.
 *
 * Pure: bytes in, a struct out, no allocation; every field is bounded
 * and printable ASCII.  Unit-tested (tests/test_report.c) and fuzzed
 * (tests/fuzz_report.c).  The parser never guesses: a mail that is not
 * clearly one of the three kinds it knows is REPORT_UNRECOGNISED, with
 * the reason.
 */
#ifndef FANFARE_REPORT_H
#define FANFARE_REPORT_H

#include <stddef.h>

enum report_kind {
	REPORT_UNRECOGNISED,
	REPORT_HARD,		/* Action: failed with Status: 5.x.x */
	REPORT_SOFT,		/* Action: delayed, or failed with 4.x.x */
	REPORT_COMPLAINT	/* Feedback-Type: abuse */
};

#define REPORT_STATUS_MAX	16
#define REPORT_TEXT_MAX		256

struct report {
	enum report_kind	kind;
	char	status[REPORT_STATUS_MAX];	/* "5.1.1", "" for none */
	/* Diagnostic-Code (its type stripped) or, for a complaint, the
	 * Feedback-Type; for an unrecognised mail, why. */
	char	diagnostic[REPORT_TEXT_MAX];
	/* Final-Recipient or Original-Rcpt-To, as the report says (only
	 * informative: the VERP address names the contact). */
	char	recipient[REPORT_TEXT_MAX];
};

/* Reads a whole message (headers and body, CRLF or LF lines, not
 * dot-stuffed) into r; always fills r. */
void		 report_parse(const char *msg, size_t len, struct report *r);
const char	*report_kind_name(enum report_kind);

#endif
