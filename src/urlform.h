/*
 * urlform.h: application/x-www-form-urlencoded bodies (the WHATWG URL
 * standard's parser), as the public sign-up, confirm and preference
 * pages post them.  Pure: bytes in, fields out; a stranger feeds it, so
 * tests/fuzz_urlform.c fuzzes it.
 */
#ifndef FANFARE_URLFORM_H
#define FANFARE_URLFORM_H

#include <stddef.h>

#define URLFORM_FIELDS_MAX	32	/* a body with more is refused */

/* One name=value pair, decoded ('+' is a space, %XX its byte), into the
 * caller's scratch buffer; both NUL-terminated after their length. */
struct urlform_field {
	const char	*name;
	size_t		 namelen;
	const char	*value;
	size_t		 valuelen;
};

/*
 * Splits body (len bytes) at '&', each part at its first '=' (none: an
 * empty value), and decodes both halves into scratch, which holds at
 * least len + 2 * (URLFORM_FIELDS_MAX) bytes (urlform_scratch_len).
 * Empty parts ("a=1&&b=2") are skipped.  Returns the number of fields
 * (at most max), or -1 when a '%' is not followed by two hex digits, a
 * decoded half is not valid UTF-8 or holds a NUL or another control
 * byte but tab, CR and LF, or there are more than max fields.
 */
#define urlform_scratch_len(len)	((len) + 2 * URLFORM_FIELDS_MAX)
int	 urlform_parse(const char *body, size_t len, char *scratch,
	    struct urlform_field *fields, size_t max);

/* The value of the first field called name, or NULL. */
const struct urlform_field *urlform_get(const struct urlform_field *,
	    size_t n, const char *name);

#endif
