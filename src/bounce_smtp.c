/*
 * bounce_smtp.c: one SMTP command line of the bounce listener, parsed
 * (bounce_smtp.h).  Only what an MTA sending a bounce needs: RFC 5321's
 * mandatory commands.  MAIL and RCPT take "FROM:<path>" and "TO:<path>"
 * with optional white space after the colon (Postfix and others are
 * strict, some tools are not) and ignore ESMTP parameters after the
 * path; a source route ("<@a,@b:user@host>") is dropped as RFC 5321
 * says.  Nothing here allocates.
 */
#include <string.h>
#include <strings.h>

#include "bounce_smtp.h"

static const struct {
	const char	*name;
	enum smtp_verb	 verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
	{ "STARTTLS", SMTP_STARTTLS },
};

/* "FROM:" / "TO:" then "<path>": the path's span, or -1. */
static int
smtp_path(const char *p, const char *end, const char *prefix,
    struct smtp_command *c)
{
	size_t		 n = strlen(prefix);
	const char	*gt, *colon;

	if ((size_t)(end - p) < n || strncasecmp(p, prefix, n) != 0)
		return -1;
	p += n;
	while (p < end && *p == ' ')
		p++;
	if (p == end || *p != '<' ||
	    (gt = memchr(p, '>', (size_t)(end - p))) == NULL)
		return -1;
	p++;
	/* A source route: keep what follows its colon. */
	if (p < gt && *p == '@') {
		if ((colon = memchr(p, ':', (size_t)(gt - p))) == NULL)
			return -1;
		p = colon + 1;
	}
	if (memchr(p, '<', (size_t)(gt - p)) != NULL)
		return -1;
	/* Parameters may follow, after a space. */
	if (gt + 1 < end && gt[1] != ' ')
		return -1;
	c->path = p;
	c->pathlen = (size_t)(gt - p);
	return 0;
}

int
bounce_smtp_parse(const char *line, size_t len, struct smtp_command *c,
    const char **reply)
{
	const char	*end = line + len, *at;
	size_t		 i, n;

	memset(c, 0, sizeof(*c));
	*reply = NULL;
	if (memchr(line, '\0', len) != NULL) {
		*reply = "500 5.5.2 NUL in command";
		return -1;
	}
	for (n = 0; n < len && line[n] != ' '; n++)
		;
	for (i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]); i++)
		if (strlen(smtp_verbs[i].name) == n &&
		    strncasecmp(line, smtp_verbs[i].name, n) == 0)
			c->verb = smtp_verbs[i].verb;
	if (c->verb == SMTP_UNKNOWN) {
		*reply = "500 5.5.1 command not recognised";
		return -1;
	}
	line += n;
	if (line < end)
		line++;		/* the space */
	switch (c->verb) {
	case SMTP_MAIL:
		if (smtp_path(line, end, "FROM:", c) == -1) {
			*reply = "501 5.5.4 syntax: MAIL FROM:<address>";
			return -1;
		}
		break;
	case SMTP_RCPT:
		if (smtp_path(line, end, "TO:", c) == -1 ||
		    (at = memrchr(c->path, '@', c->pathlen)) == NULL ||
		    at == c->path || at + 1 == c->path + c->pathlen) {
			*reply = "501 5.5.4 syntax: RCPT TO:<address>";
			memset(c, 0, sizeof(*c));
			c->verb = SMTP_RCPT;
			return -1;
		}
		c->local = c->path;
		c->locallen = (size_t)(at - c->path);
		c->domain = at + 1;
		c->domainlen = c->pathlen - c->locallen - 1;
		break;
	case SMTP_HELO:
	case SMTP_EHLO:
		if (line >= end) {
			*reply = "501 5.5.4 syntax: EHLO hostname";
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}
