/*
 * test_report.c: report.c reads real DSNs (Postfix's, as it writes
 * them) and RFC 5965's own ARF example, from the fuzz seed corpus
 * tests/fuzz/report/, and says "unrecognised", with why, for anything
 * it cannot read for sure: a plain mail, a truncated report, another
 * report-type, a success notification, a bad Status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"
#include "report.h"

static void
parse_seed(const char *name, struct report *r)
{
	char	 path[1024];
	char	*buf;
	size_t	 len;
	const char *dir = getenv("FF_FUZZ_CORPORA");

	snprintf(path, sizeof(path), "%s/report/%s", dir ? dir :
	    "tests/fuzz", name);
	buf = read_file(path, 1 << 20, &len);
	cr_assert_not_null(buf, "%s", path);
	report_parse(buf, len, r);
	free(buf);
}

static void
parse_str(const char *s, struct report *r)
{
	report_parse(s, strlen(s), r);
}

Test(report, postfix_hard)
{
	struct report	r;

	parse_seed("postfix-hard.eml", &r);
	cr_assert_eq(r.kind, REPORT_HARD);
	cr_assert_str_eq(r.status, "5.1.1");
	cr_assert_str_eq(r.diagnostic, "550 5.1.1 hard@rt.test: user unknown");
	cr_assert_str_eq(r.recipient, "hard@rt.test");
	cr_assert_str_eq(report_kind_name(r.kind), "hard");
}

Test(report, postfix_delayed)
{
	struct report	r;

	parse_seed("postfix-delayed.eml", &r);
	cr_assert_eq(r.kind, REPORT_SOFT);
	cr_assert_str_eq(r.status, "4.3.0");
	cr_assert_str_eq(r.diagnostic, "451 4.3.0 try later");
}

Test(report, arf)
{
	struct report	r;

	parse_seed("arf-rfc5965.eml", &r);
	cr_assert_eq(r.kind, REPORT_COMPLAINT);
	cr_assert_str_eq(r.diagnostic, "abuse");
	cr_assert_str_eq(r.recipient, "<user@example.com>");
	parse_seed("arf-not-spam.eml", &r);
	cr_assert_eq(r.kind, REPORT_UNRECOGNISED);
	cr_assert_str_eq(r.diagnostic,
	    "feedback-report: Feedback-Type not-spam is no complaint");
}

Test(report, unrecognised_with_a_reason)
{
	struct report	r;

	parse_seed("plain.eml", &r);
	cr_assert_eq(r.kind, REPORT_UNRECOGNISED);
	cr_assert_str_eq(r.diagnostic, "text/plain is no multipart/report");
	parse_seed("truncated.eml", &r);
	cr_assert_eq(r.kind, REPORT_UNRECOGNISED);
	cr_assert_str_eq(r.diagnostic,
	    "no message/delivery-status part (truncated?)");
	parse_str("", &r);
	cr_assert_eq(r.kind, REPORT_UNRECOGNISED);
	parse_str("Content-Type: multipart/report; boundary=x\r\n\r\n", &r);
	cr_assert_str_eq(r.diagnostic, "multipart/report without report-type");
	parse_str("Content-Type: multipart/report; report-type=disposition-"
	    "notification; boundary=x\r\n\r\n", &r);
	cr_assert(strstr(r.diagnostic, "report-type disposition-notification")
	    != NULL, "%s", r.diagnostic);
	parse_str("Content-Type: multipart/report; report-type=delivery-status"
	    "\r\n\r\n", &r);
	cr_assert_str_eq(r.diagnostic,
	    "multipart/report without a valid boundary");
}

/* A DSN of the given per-recipient fields, LF line ends. */
static void
parse_dsn(const char *fields, struct report *r)
{
	char	buf[4096];

	snprintf(buf, sizeof(buf),
	    "Content-Type: Multipart/Report;\n"
	    "  Report-Type=\"delivery-status\"; Boundary=\"b;x\"\n\n"
	    "--b;x\nContent-Type: text/plain\n\nhi\n"
	    "--b;x\nContent-Type: message/delivery-status\n\n"
	    "Reporting-MTA: dns; m\n\n%s\n"
	    "--b;x--\n", fields);
	report_parse(buf, strlen(buf), r);
}

Test(report, dsn_fields)
{
	struct report	r;

	parse_dsn("Final-Recipient: rfc822; a@b\nAction: relayed\n"
	    "Status: 2.0.0\n", &r);
	cr_assert_eq(r.kind, REPORT_UNRECOGNISED, "a success is no bounce");
	cr_assert_str_eq(r.diagnostic,
	    "delivery-status: no failed or delayed recipient");
	parse_dsn("Action: failed\nStatus: 5.1\n", &r);
	cr_assert_eq(r.kind, REPORT_UNRECOGNISED, "a bad Status");
	parse_dsn("Action: failed\nStatus: 4.4.7 (expired)\n", &r);
	cr_assert_eq(r.kind, REPORT_SOFT, "failed, but 4.x.x");
	cr_assert_str_eq(r.status, "4.4.7");
	/* Two recipients: the worse one decides. */
	parse_dsn("Final-Recipient: rfc822; a@b\nAction: delayed\n"
	    "Status: 4.0.0\n\nFinal-Recipient: rfc822; c@d\n"
	    "Action: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552\n"
	    " mailbox\tfull\n", &r);
	cr_assert_eq(r.kind, REPORT_HARD);
	cr_assert_str_eq(r.recipient, "c@d");
	cr_assert_str_eq(r.diagnostic, "552 mailbox full", "unfolded");
	/* Control characters and 8-bit bytes never get through. */
	parse_dsn("Action: failed\nStatus: 5.0.0\nDiagnostic-Code: x; a\x01"
	    "\xc3\xa9z\n", &r);
	cr_assert_str_eq(r.diagnostic, "a???z");
	parse_dsn("", &r);
	cr_assert_eq(r.kind, REPORT_UNRECOGNISED);
}

/* Past REPORT_DSN_MAX_RCPTS recipient groups nothing more is read: a
 * huge report cannot hold the listener's event loop. */
Test(report, dsn_recipients_bounded)
{
	struct report	 r;
	struct buf	 b = { NULL, 0, 0 };
	int		 i;

	buf_adds(&b, "Content-Type: multipart/report; report-type="
	    "delivery-status; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; m\r\n\r\n");
	for (i = 0; i < 150; i++)
		buf_adds(&b, "Action: delayed\r\nStatus: 4.0.0\r\n\r\n");
	buf_adds(&b, "Action: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n");
	report_parse(b.p, b.len, &r);
	cr_assert_eq(r.kind, REPORT_SOFT, "the 151st recipient is not read");
	buf_free(&b);
}

/* An SMTP reply's enhanced code (a 5xx to RCPT at sending time), read
 * with the DSN Status syntax; the basic code's class when there is
 * none, a code of the wrong class, or a malformed one. */
Test(report, reply_status)
{
	char	s[REPORT_STATUS_MAX];

	report_reply_status(550, "5.1.1 <x@y>: Recipient address rejected",
	    s);
	cr_assert_str_eq(s, "5.1.1");
	report_reply_status(550, "5.1.1 user unknown\r\n", s);
	cr_assert_str_eq(s, "5.1.1");
	report_reply_status(552, " 5.2.2\r\n", s);
	cr_assert_str_eq(s, "5.2.2", "libesmtp keeps the line's CRLF");
	report_reply_status(554, "5.7.1", s);
	cr_assert_str_eq(s, "5.7.1");
	report_reply_status(550, "5.100.999 (policy)", s);
	cr_assert_str_eq(s, "5.100.999");
	report_reply_status(451, "4.3.0 try again later", s);
	cr_assert_str_eq(s, "4.3.0");
	report_reply_status(250, "2.1.5 OK", s);
	cr_assert_str_eq(s, "2.1.5");
	/* None: the class's own. */
	report_reply_status(550, "no such user", s);
	cr_assert_str_eq(s, "5.0.0");
	report_reply_status(550, "", s);
	cr_assert_str_eq(s, "5.0.0");
	report_reply_status(553, NULL, s);
	cr_assert_str_eq(s, "5.0.0");
	report_reply_status(421, "closing", s);
	cr_assert_str_eq(s, "4.0.0");
	/* Not a code: another class, too many digits, glued text. */
	report_reply_status(550, "4.1.1 mismatched class", s);
	cr_assert_str_eq(s, "5.0.0");
	report_reply_status(550, "5.1.1234 too long", s);
	cr_assert_str_eq(s, "5.0.0");
	report_reply_status(550, "5.1 short", s);
	cr_assert_str_eq(s, "5.0.0");
	report_reply_status(550, "5.1.1x", s);
	cr_assert_str_eq(s, "5.0.0");
	report_reply_status(550, "5..1 x", s);
	cr_assert_str_eq(s, "5.0.0");
	/* No class at all: nothing. */
	report_reply_status(0, "5.1.1 x", s);
	cr_assert_str_eq(s, "");
	report_reply_status(354, "go ahead", s);
	cr_assert_str_eq(s, "");
	report_reply_status(650, "6.1.1 x", s);
	cr_assert_str_eq(s, "");
	report_reply_status(-550, "5.1.1 x", s);
	cr_assert_str_eq(s, "");
}
