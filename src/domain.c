/*
 * domain.c: the pure part of sending domains: a domain name checked and
 * lowered, the From address's domain, selector names, the text of each
 * DNS record a tenant publishes, and the comparison of what DNS answers
 * with what was asked for (TXT strings joined, DKIM tags read).
 *
 * Bytes in, bytes out: no Redis, no resolver, no clock (api_domain.c is
 * the shell, dns.c asks DNS).  tests/test_domain.c checks it whole.
 *
 * The records (README.md "Sending domains" says why each):
 *   SEL-rsa._domainkey.D      TXT    v=DKIM1; k=rsa; p=...      dkim
 *   SEL-ed25519._domainkey.D  TXT    v=DKIM1; k=ed25519; p=...  dkim
 *   D                         TXT    v=spf1 include:B ~all      spf
 *   _dmarc.D                  TXT    v=DMARC1; p=none; ...      dmarc
 *   bounces.D                 CNAME  B                          bounce
 * where B is the bounce_domain directive.  The envelope sender's domain
 * is then bounces.D (the bounce helper's VERP addresses), which the
 * CNAME sends to B's MX and SPF, and which is aligned with D for DMARC's
 * relaxed SPF alignment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain.h"

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
domain_name_check(const char *in, size_t len, char *out, size_t outlen)
{
	size_t	i, label = 0, nlabels = 1;
	char	c;

	if (len > 0 && in[len - 1] == '.')
		len--;			/* the root's dot says nothing */
	if (len == 0 || len > DOMAIN_NAME_MAX || len >= outlen)
		return -1;
	for (i = 0; i < len; i++) {
		c = lower(in[i]);
		if (c == '.') {
			if (label == 0 || in[i - 1] == '-')
				return -1;
			label = 0;
			nlabels++;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '-' && label > 0)) {
			if (++label > 63)
				return -1;
		} else
			return -1;
		out[i] = c;
	}
	if (label == 0 || in[len - 1] == '-' || nlabels < 2)
		return -1;
	out[len] = '\0';
	return 0;
}

int
domain_of_from(const char *from, char *out, size_t outlen)
{
	const char	*lt, *gt, *at, *end;

	if ((lt = strrchr(from, '<')) != NULL &&
	    (gt = strchr(lt, '>')) != NULL)
		end = gt;
	else {
		lt = NULL;
		end = from + strlen(from);
	}
	for (at = end; at > (lt ? lt : from) && at[-1] != '@'; at--)
		;
	if (at == (lt ? lt : from))
		return -1;
	return domain_name_check(at, (size_t)(end - at), out, outlen);
}

void
domain_selector(char *out, size_t len, const char *tag, int ed25519)
{
	snprintf(out, len, "ff%s-%s", tag, ed25519 ? "ed25519" : "rsa");
}

void
domain_key_aad(char *out, size_t len, uint64_t tenant, const char *domain,
    const char *selector)
{
	snprintf(out, len, "fanfare-dkim:%llu:%s:%s",
	    (unsigned long long)tenant, domain, selector);
}

void
domain_dkim_name(char *out, size_t len, const char *selector,
    const char *domain)
{
	snprintf(out, len, "%s._domainkey.%s", selector, domain);
}

void
domain_dkim_txt(struct buf *out, int ed25519, const char *pub)
{
	buf_addf(out, "v=DKIM1; k=%s; p=%s", ed25519 ? "ed25519" : "rsa",
	    pub);
}

void
domain_spf_txt(struct buf *out, const char *bounce_domain)
{
	if (bounce_domain != NULL)
		buf_addf(out, "v=spf1 include:%s ~all", bounce_domain);
	else
		buf_adds(out, "v=spf1 mx ~all");
}

void
domain_dmarc_txt(struct buf *out)
{
	buf_adds(out, "v=DMARC1; p=none; adkim=r; aspf=r");
}

void
domain_bounce_name(char *out, size_t len, const char *domain)
{
	snprintf(out, len, "bounces.%s", domain);
}

int
domain_txt_join(const unsigned char *rdata, size_t len, struct buf *out)
{
	size_t	i = 0, n;

	while (i < len) {
		n = rdata[i++];
		if (n > len - i)
			return -1;	/* a string past the record's end */
		buf_add(out, (const char *)rdata + i, n);
		i += n;
	}
	buf_add(out, "", 0);
	return 0;
}

/*
 * The value of tag name in a tag=value list (RFC 6376 section 3.2), with
 * its whitespace dropped (p= may be folded into many strings or spaced),
 * into out; 1 found, 0 not, -1 when it does not fit.
 */
static int
tag_value(const char *s, const char *name, char *out, size_t outlen)
{
	const char	*p = s, *eq, *end;
	size_t		 nlen = strlen(name), k;

	while (*p != '\0') {
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'))
			p++;
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			const char *ne = eq;
			while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			if ((size_t)(ne - p) == nlen &&
			    strncmp(p, name, nlen) == 0) {
				k = 0;
				for (p = eq + 1; p < end; p++) {
					if (*p == ' ' || *p == '\t' ||
					    *p == '\r' || *p == '\n')
						continue;
					if (k + 1 >= outlen)
						return -1;
					out[k++] = *p;
				}
				out[k] = '\0';
				return 1;
			}
		}
		p = *end == ';' ? end + 1 : end;
	}
	return 0;
}

int
domain_dkim_matches(const char *txt, int ed25519, const char *pub)
{
	char	v[DOMAIN_TXT_MAX];
	int	rc;

	if (strlen(txt) >= sizeof(v))
		return 0;
	if ((rc = tag_value(txt, "v", v, sizeof(v))) == -1 ||
	    (rc == 1 && strcmp(v, "DKIM1") != 0))
		return 0;
	rc = tag_value(txt, "k", v, sizeof(v));
	if (rc == -1 || strcmp(rc == 1 ? v : "rsa",
	    ed25519 ? "ed25519" : "rsa") != 0)
		return 0;
	return tag_value(txt, "p", v, sizeof(v)) == 1 &&
	    strcmp(v, pub) == 0;
}

int
domain_txt_is_spf(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 &&
	    (txt[6] == '\0' || txt[6] == ' ');
}

int
domain_txt_is_dmarc(const char *txt)
{
	char	v[16];

	return tag_value(txt, "v", v, sizeof(v)) == 1 &&
	    strcmp(v, "DMARC1") == 0 && strncmp(txt, "v", 1) == 0;
}

int
domain_name_equal(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}
