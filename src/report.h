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
 *
 * Also the enhanced status code of an SMTP reply (report_reply_status):
 * the same RFC 3463 syntax as a DSN's Status, read by the same code,
 * for a 5xx to RCPT at sending time (smtp_session.c).
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

/*
 * The enhanced status code (RFC 3463) of an SMTP reply, into out: the
 * one that leads its text when the server sends one (RFC 2034: "5.1.1
 * <x@y>: Recipient address rejected", the text being what follows the
 * basic code) and its class is the basic code's; otherwise the class's
 * own "X.0.0" from the basic code (2xx, 4xx, 5xx: "Other undefined
 * status"); "" for any other code.  text NULL reads as "".  The same
 * syntax as a DSN's Status field, checked by the same code.
 */
void		 report_reply_status(int code, const char *text,
		    char out[REPORT_STATUS_MAX]);

#endif
