/*
 * test_bounce_smtp.c: bounce_smtp.c reads the commands an MTA sends
 * with a bounce, and refuses malformed ones with the right reply.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "bounce_smtp.h"

static int
parse(const char *line, struct smtp_command *c, const char **reply)
{
	return bounce_smtp_parse(line, strlen(line), c, reply);
}

Test(bounce_smtp, verbs)
{
	struct smtp_command	c;
	const char		*r;

	cr_assert_eq(parse("EHLO mta.example", &c, &r), 0);
	cr_assert_eq(c.verb, SMTP_EHLO);
	cr_assert_eq(parse("helo x", &c, &r), 0);
	cr_assert_eq(c.verb, SMTP_HELO);
	cr_assert_eq(parse("DATA", &c, &r), 0);
	cr_assert_eq(c.verb, SMTP_DATA);
	cr_assert_eq(parse("quit", &c, &r), 0);
	cr_assert_eq(c.verb, SMTP_QUIT);
	cr_assert_eq(parse("STARTTLS", &c, &r), 0);
	cr_assert_eq(c.verb, SMTP_STARTTLS);
	cr_assert_eq(parse("EHLO", &c, &r), -1);
	cr_assert_str_eq(r, "501 5.5.4 syntax: EHLO hostname");
	cr_assert_eq(parse("DATAX", &c, &r), -1);
	cr_assert(strncmp(r, "500", 3) == 0);
	cr_assert_eq(parse("", &c, &r), -1);
	cr_assert_eq(bounce_smtp_parse("NOOP\0x", 6, &c, &r), -1);
}

Test(bounce_smtp, mail_and_rcpt)
{
	struct smtp_command	c;
	const char		*r;

	cr_assert_eq(parse("MAIL FROM:<>", &c, &r), 0);
	cr_assert_eq(c.verb, SMTP_MAIL);
	cr_assert_eq(c.pathlen, 0);
	cr_assert_eq(parse("MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME", &c,
	    &r), 0);
	cr_assert_eq(c.pathlen, 3);
	cr_assert_eq(parse("mail from: <a@b>", &c, &r), 0);
	cr_assert_eq(parse("RCPT TO:<bxyz@bounces.example>", &c, &r), 0);
	cr_assert_eq(c.locallen, 4);
	cr_assert(strncmp(c.local, "bxyz", 4) == 0);
	cr_assert_eq(c.domainlen, 15);
	cr_assert(strncmp(c.domain, "bounces.example", 15) == 0);
	cr_assert_eq(parse("RCPT TO:<@relay.example:bq@b.example>", &c, &r),
	    0, "a source route is dropped");
	cr_assert(strncmp(c.local, "bq", 2) == 0 && c.locallen == 2);
	cr_assert_eq(parse("RCPT TO:<a@b@c>", &c, &r), 0);
	cr_assert(c.locallen == 3 && c.domainlen == 1, "the last @ splits");
}

Test(bounce_smtp, malformed_paths)
{
	static const char *const bad[] = {
		"MAIL FROM:a@b", "MAIL FROM:<a@b", "MAIL TO:<a@b>",
		"MAIL FROM:<a@b>x", "RCPT TO:<>", "RCPT TO:<nobody>",
		"RCPT TO:<@b>", "RCPT TO:<a@>", "RCPT TO:<a<b@c>",
		"RCPT FROM:<a@b>", "RCPT TO:<@relay:>", "RCPT", "MAIL",
	};
	struct smtp_command	c;
	const char		*r;
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i], &c, &r), -1, "%s", bad[i]);
		cr_assert(strncmp(r, "501", 3) == 0, "%s: %s", bad[i], r);
	}
}
