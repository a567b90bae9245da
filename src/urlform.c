/*
 * urlform.c: the form-urlencoded body parser (urlform.h says what it
 * accepts).  Decoding never grows a half, so each decoded half fits in
 * the bytes it came from plus its NUL: the scratch buffer bounds the
 * memory, and nothing here allocates.
 */
#include <string.h>

#include "fanfare.h"
#include "urlform.h"

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes in[0..n) to out; the decoded length, or -1 (see urlform.h). */
static ssize_t
decode_half(const char *in, size_t n, char *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	size_t			 i, o = 0, step;
	uint32_t		 cp;
	int			 hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			if (n - i < 3)
				return -1;
			if ((hi = hex_value(s[i + 1])) == -1 ||
			    (lo = hex_value(s[i + 2])) == -1)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = (char)s[i];
	}
	out[o] = '\0';
	/* What it decodes to must be text: UTF-8 without controls other
	 * than the whitespace a textarea sends. */
	s = (const unsigned char *)out;
	for (i = 0; i < o; i += step) {
		if (s[i] < 0x80) {
			if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\r' &&
			    s[i] != '\n') || s[i] == 0x7f)
				return -1;
			step = 1;
			continue;
		}
		if ((step = utf8_decode(s + i, o - i, &cp)) == 0)
			return -1;
		if (cp >= 0x80 && cp < 0xa0)	/* C1 controls */
			return -1;
	}
	return (ssize_t)o;
}

int
urlform_parse(const char *body, size_t len, char *scratch,
    struct urlform_field *fields, size_t max)
{
	const char	*p = body, *end = body + len, *amp, *eq;
	char		*out = scratch;
	ssize_t		 n;
	size_t		 count = 0;

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		if (count == max || count == URLFORM_FIELDS_MAX)
			return -1;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((n = decode_half(p, (size_t)(eq - p), out)) == -1)
			return -1;
		fields[count].name = out;
		fields[count].namelen = (size_t)n;
		out += n + 1;
		if (eq < amp) {
			if ((n = decode_half(eq + 1, (size_t)(amp - eq - 1),
			    out)) == -1)
				return -1;
		} else {
			*out = '\0';
			n = 0;
		}
		fields[count].value = out;
		fields[count].valuelen = (size_t)n;
		out += n + 1;
		count++;
		p = amp;
	}
	return (int)count;
}

const struct urlform_field *
urlform_get(const struct urlform_field *f, size_t n, const char *name)
{
	size_t	i, len = strlen(name);

	for (i = 0; i < n; i++)
		if (f[i].namelen == len && memcmp(f[i].name, name, len) == 0)
			return &f[i];
	return NULL;
}
