/*
 * validate.c: the contact fields whose syntax we enforce, email
 * addresses and calendar dates.  Pure: bytes in (pointer and length,
 * never NUL-terminated), answers out; no state, safe on any thread.
 *
 * An address is accepted only in the form we are willing to mail, which
 * is narrower than RFC 5321/5322 allow:
 *
 *   - The local part is a dot-atom (RFC 5322 atext and dots), 1..64
 *     bytes, where bytes >= 0x80 are allowed when they are valid UTF-8
 *     (RFC 6531 SMTPUTF8).  Quoted local parts ("a b"@x.test) are
 *     rejected: we do not mail such addresses.
 *   - The domain is a DNS name of at least two labels: no dotless
 *     names, no address literals ([1.2.3.4]), no trailing dot, a TLD
 *     that is not all digits.  It is lowercased and converted to its
 *     IDNA ASCII form (libidn2, UTS #46 non-transitional, transitional
 *     as a fallback); after that it must be 1..253 bytes of labels of
 *     1..63 [a-z0-9-], not starting or ending with '-'.
 *   - No whitespace or control characters anywhere, including Unicode
 *     spaces, C1 controls and invisible format characters.  Leading and
 *     trailing blanks are NOT trimmed here: the API trims before calling,
 *     so a blank that reaches us is an error (it may be a header
 *     injection attempt).
 *
 * Two forms come out: addr (local part as given, domain in ASCII) is
 * what we store and send to; key (addr with the local part's ASCII
 * letters lowercased, other bytes kept) is what duplicates are matched
 * on.  Lowercasing the local part is not RFC-correct in theory, but
 * every mail system that matters treats it case-insensitively.
 */
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "fanfare.h"

#define VALIDATE_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1, in bytes */
#define VALIDATE_DOMAIN_MAX	253	/* RFC 1035, without the root dot */
#define VALIDATE_LABEL_MAX	63
#define VALIDATE_YEAR_MIN	1900	/* birthdays and sign-up dates */
#define VALIDATE_YEAR_MAX	2100

static int
validate_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* RFC 5322 atext, ASCII only. */
static int
validate_is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * Code points that look like nothing or like a blank: an address
 * holding one is a typo at best and a spoof at worst.  Unicode
 * White_Space, C1 controls, zero-width and bidirectional controls, BOM.
 */
static int
validate_is_bad_cp(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xa0) ||	/* C1 controls, NBSP */
	    cp == 0xad ||			/* soft hyphen */
	    cp == 0x1680 || cp == 0x180e ||
	    (cp >= 0x2000 && cp <= 0x200f) ||	/* spaces, ZW*, LRM, RLM */
	    (cp >= 0x2028 && cp <= 0x202f) ||	/* LS, PS, bidi, NNBSP */
	    (cp >= 0x205f && cp <= 0x206f) ||	/* MMSP, invisible ops */
	    cp == 0x3000 || cp == 0xfeff ||
	    (cp >= 0xfff9 && cp <= 0xfffb);	/* interlinear annotation */
}

/* Dot-atom, with UTF-8 (already checked well-formed) as atext. */
static int
validate_local(const char *s, size_t n)
{
	size_t	i;
	int	c;

	if (n == 0 || n > VALIDATE_LOCAL_MAX)
		return -1;
	if (s[0] == '.' || s[n - 1] == '.')
		return -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '.') {
			if (s[i + 1] == '.')	/* i + 1 < n: s[n-1] != '.' */
				return -1;
		} else if (c < 0x80 && !validate_is_atext(c))
			return -1;
	}
	return 0;
}

/* The IDNA output: a host name we can resolve and hand to SMTP. */
static int
validate_ascii_domain(const char *d)
{
	size_t	 n, i, start, lablen;
	int	 labels = 0, alldigits = 1, c;

	n = strlen(d);
	if (n == 0 || n > VALIDATE_DOMAIN_MAX)
		return -1;
	for (start = 0; start <= n; start = i + 1) {
		alldigits = 1;
		for (i = start; i < n && d[i] != '.'; i++) {
			c = (unsigned char)d[i];
			if (!((c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-'))
				return -1;
			if (c < '0' || c > '9')
				alldigits = 0;
		}
		lablen = i - start;
		if (lablen == 0 || lablen > VALIDATE_LABEL_MAX)
			return -1;	/* also: leading, double, trailing dot */
		if (d[start] == '-' || d[i - 1] == '-')
			return -1;
		labels++;
	}
	/* A numeric TLD would make "1.2.3.4" a domain. */
	if (labels < 2 || alldigits)
		return -1;
	return 0;
}

int
validate_email(const char *in, size_t len, char *addr, char *key)
{
	char		 dom[FF_EMAIL_MAX + 1];
	char		*ascii = NULL;
	const char	*at = NULL, *domain;
	size_t		 i, n, locallen, domlen, asciilen;
	uint32_t	 cp;
	int		 rc = -1;

	addr[0] = key[0] = '\0';
	if (in == NULL || len == 0 || len > FF_EMAIL_MAX)
		return -1;

	/* Whole-input checks first, so no later step sees a NUL, a blank,
	 * a control or malformed UTF-8. */
	for (i = 0; i < len; i += n) {
		if ((n = utf8_decode((const unsigned char *)in + i,
		    len - i, &cp)) == 0)
			return -1;
		if (cp <= 0x20 || cp == 0x7f || validate_is_bad_cp(cp))
			return -1;
		if (cp == '@') {
			if (at != NULL)
				return -1;
			at = in + i;
		}
	}
	if (at == NULL)
		return -1;

	/* '"' is not atext: quoted local parts fail here. */
	locallen = at - in;
	if (validate_local(in, locallen) == -1)
		return -1;

	domain = at + 1;
	domlen = len - locallen - 1;
	if (domlen == 0 || domain[0] == '[' || domain[domlen - 1] == '.')
		return -1;
	for (i = 0; i < domlen; i++)
		dom[i] = validate_lower((unsigned char)domain[i]);
	dom[domlen] = '\0';

	/* Non-transitional first (ß stays ß); transitional only for names
	 * that UTS #46 accepts in that mode alone. */
	if (idn2_to_ascii_8z(dom, &ascii,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK) {
		ascii = NULL;
		if (idn2_to_ascii_8z(dom, &ascii,
		    IDN2_NFC_INPUT | IDN2_TRANSITIONAL) != IDN2_OK) {
			ascii = NULL;
			goto done;
		}
	}
	if (validate_ascii_domain(ascii) == -1)
		goto done;
	asciilen = strlen(ascii);
	if (locallen + 1 + asciilen > FF_EMAIL_MAX)
		goto done;	/* cannot happen with 64 + 1 + 253; kept */

	memcpy(addr, in, locallen);
	for (i = 0; i < locallen; i++)
		key[i] = validate_lower((unsigned char)in[i]);
	addr[locallen] = key[locallen] = '@';
	memcpy(addr + locallen + 1, ascii, asciilen + 1);
	memcpy(key + locallen + 1, ascii, asciilen + 1);
	rc = 0;
done:
	idn2_free(ascii);
	return rc;
}

static int
validate_digits(const char *s, size_t n, int *out)
{
	size_t	i;
	int	v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
validate_date(const char *s, size_t len)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int	y, m, d, max;

	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	if (validate_digits(s, 4, &y) == -1 ||
	    validate_digits(s + 5, 2, &m) == -1 ||
	    validate_digits(s + 8, 2, &d) == -1)
		return -1;
	if (y < VALIDATE_YEAR_MIN || y > VALIDATE_YEAR_MAX || m < 1 || m > 12)
		return -1;
	max = mdays[m - 1];
	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		max = 29;
	return (d >= 1 && d <= max) ? 0 : -1;
}
