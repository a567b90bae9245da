/*
 * bounce_smtp.h: the SMTP commands the bounce listener understands,
 * parsed from one line (bounce_smtp.c).  Pure: bytes in, a struct out;
 * unit-tested and fuzzed.
 */
#ifndef FANFARE_BOUNCE_SMTP_H
#define FANFARE_BOUNCE_SMTP_H

#include <stddef.h>

enum smtp_verb {
	SMTP_UNKNOWN,
	SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA,
	SMTP_RSET, SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_STARTTLS
};

struct smtp_command {
	enum smtp_verb	 verb;
	/* MAIL and RCPT: the path inside <...> (empty for the null
	 * reverse-path "<>"), pointing into the line; else NULL. */
	const char	*path;
	size_t		 pathlen;
	/* For RCPT: the local part and domain of path. */
	const char	*local, *domain;
	size_t		 locallen, domainlen;
};

/*
 * Parses one command line (without its CRLF).  0 with c filled, or -1
 * with SMTP's answer for a line it refuses in *reply ("500 ...",
 * "501 ..."): an unknown verb, MAIL or RCPT without a well-formed
 * "FROM:<path>" / "TO:<path>", a RCPT path with no '@', a NUL.
 */
int	 bounce_smtp_parse(const char *line, size_t len,
	    struct smtp_command *c, const char **reply);

#endif
