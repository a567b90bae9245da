/*
 * special.c: the GDPR Art. 9 blocklist (contrib/special-categories.conf)
 * and the two questions asked of it: is this attribute NAME one whose
 * value would reveal a special category (the attribute is then never
 * stored), and does this attribute VALUE hold a listed term (the contact
 * is then quarantined).  The file's own comment is the user manual.
 *
 * Both sides go through one normalisation: UTF-8 in; ASCII lowercased;
 * Latin-1 Supplement, Latin Extended-A (and a few more) letters folded to
 * their base letters (é -> e, ß -> ss, æ -> ae); combining accents, soft
 * hyphens and zero-width characters dropped; every run of anything else
 * that is not a letter or digit (punctuation, symbols, bytes that are not
 * UTF-8) turned into one space; no space at either end.  Letters of other
 * scripts are kept as SPECIAL_OTHER, a letter that no rule holds: "hivЖ"
 * is one word, not "hiv".  Names are also split at camelCase humps, so
 * "bloodType" and "blood_type" read alike.
 *
 * Terms are matched word-aligned in the normalised value: the value is
 * normalised once (on the stack up to SPECIAL_STACK_MAX bytes, else in
 * one heap buffer: the whole value is always searched), then each word is
 * looked up in a hash of the terms' first words, and only the terms
 * starting with that word are compared.  So the cost is linear in the
 * value, whatever the number of terms.  Name patterns are globbed one by
 * one, but only those whose letters all occur in the name (a bit mask
 * test), so a name costs a few hundred ANDs and a handful of globs.
 *
 * A loaded struct special is never written again, so any thread may ask
 * it questions at once.  Nothing here logs: errors go back to the caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"

#define SPECIAL_FILE_MAX	(1024 * 1024)
#define SPECIAL_RULE_MAX	256	/* bytes of a pattern or term as written */
#define SPECIAL_STACK_MAX	4096	/* normalised input kept on the stack */
#define SPECIAL_OTHER		'~'	/* a letter no rule can hold */
#define SPECIAL_NONE		SIZE_MAX

/* special_normalize() flags */
#define SPECIAL_NAME		0x01	/* split camelCase into words */
#define SPECIAL_STAR		0x02	/* keep '*': a name pattern */

enum special_class {
	SPECIAL_C_NONE,			/* start, or after a separator */
	SPECIAL_C_LOWER,
	SPECIAL_C_UPPER,
	SPECIAL_C_DIGIT,
	SPECIAL_C_OTHER			/* SPECIAL_OTHER, '*' */
};

/* The returned category strings: they outlive every struct special. */
static const char *const special_categories[] = {
	"racial_ethnic_origin",
	"political_opinions",
	"religious_beliefs",
	"trade_union",
	"genetic",
	"biometric",
	"health",
	"sex_life_orientation",
};

struct special_rule {
	char		*text;		/* normalised */
	size_t		 len;
	size_t		 wordlen;	/* terms: bytes of the first word */
	uint32_t	 letters;	/* names: special_letters() */
	size_t		 next;		/* terms: same first word, or NONE */
	const char	*category;
};

struct special {
	struct special_rule	*names;
	size_t			 nnames;
	struct special_rule	*terms;
	size_t			 nterms;
	size_t			*slots;		/* first word -> chain head */
	size_t			 nslots;	/* a power of two */
};

/* ----------------------------------------------------------- normalising */

/* U+00C0..U+00FF; NULL: not a letter (U+00D7 and U+00F7). */
static const char *const special_latin1[64] = {
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* À..Ç */
	"e", "e", "e", "e", "i", "i", "i", "i",		/* È..Ï */
	"d", "n", "o", "o", "o", "o", "o", NULL,	/* Ð..× */
	"o", "u", "u", "u", "u", "y", "th", "ss",	/* Ø..ß */
	"a", "a", "a", "a", "a", "a", "ae", "c",	/* à..ç */
	"e", "e", "e", "e", "i", "i", "i", "i",		/* è..ï */
	"d", "n", "o", "o", "o", "o", "o", NULL,	/* ð..÷ */
	"o", "u", "u", "u", "u", "y", "th", "y",	/* ø..ÿ */
};

/* U+0100..U+017F, one base letter each; '2' marks the ligatures Ĳ ĳ Œ œ
 * (two letters, see special_fold). */
static const char special_latin_ext_a[] =
	"aaaaaaccccccccdd"	/* Ā ā Ă ă Ą ą Ć ć Ĉ ĉ Ċ ċ Č č Ď ď */
	"ddeeeeeeeeeegggg"	/* Đ đ Ē ē Ĕ ĕ Ė ė Ę ę Ě ě Ĝ ĝ Ğ ğ */
	"gggghhhhiiiiiiii"	/* Ġ ġ Ģ ģ Ĥ ĥ Ħ ħ Ĩ ĩ Ī ī Ĭ ĭ Į į */
	"ii22jjkkklllllll"	/* İ ı Ĳ ĳ Ĵ ĵ Ķ ķ ĸ Ĺ ĺ Ļ ļ Ľ ľ Ŀ */
	"lllnnnnnnnnnoooo"	/* ŀ Ł ł Ń ń Ņ ņ Ň ň ŉ Ŋ ŋ Ō ō Ŏ ŏ */
	"oo22rrrrrrssssss"	/* Ő ő Œ œ Ŕ ŕ Ŗ ŗ Ř ř Ś ś Ŝ ŝ Ş ş */
	"sstttttttuuuuuuu"	/* Š š Ţ ţ Ť ť Ŧ ŧ Ũ ũ Ū ū Ŭ ŭ Ů ů */
	"uuuuwwyyyzzzzzzs";	/* Ű ű Ų ų Ŵ ŵ Ŷ ŷ Ÿ Ź ź Ż ż Ž ž ſ */

/* Latin Extended-A capitals: mostly even code points, but Ĺ..ň and
 * Ź..ž are pairs the other way round. */
static int
special_ext_a_upper(uint32_t cp)
{
	if (cp < 0x0138 || (cp >= 0x014a && cp < 0x0178))
		return (cp & 1) == 0;
	if ((cp >= 0x0139 && cp <= 0x0148) || (cp >= 0x0179 && cp <= 0x017e))
		return (cp & 1) == 1;
	return cp == 0x0178;
}

/*
 * What a code point at or above U+0080 becomes: writes its folded form
 * (lowercase ASCII, at most 2 bytes) into out and returns its length; 0
 * when it is dropped (it only decorates the letter before it); -1 when it
 * separates words.  *cls tells a capital, for camelCase.
 */
static int
special_fold(uint32_t cp, char out[2], enum special_class *cls)
{
	const char	*s;

	*cls = SPECIAL_C_LOWER;
	if (cp == 0x00ad || (cp >= 0x0300 && cp <= 0x036f) ||
	    (cp >= 0x200b && cp <= 0x200d) || cp == 0x2060 ||
	    (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff)
		return 0;
	if (cp < 0x00c0)
		return -1;		/* C1 controls, NBSP, « » ¿ ... */
	if (cp <= 0x00ff) {
		if ((s = special_latin1[cp - 0x00c0]) == NULL)
			return -1;
		if (cp < 0x00df)
			*cls = SPECIAL_C_UPPER;
		out[0] = s[0];
		out[1] = s[1];
		return s[1] == '\0' ? 1 : 2;
	}
	if (cp <= 0x017f) {
		if (special_ext_a_upper(cp))
			*cls = SPECIAL_C_UPPER;
		out[0] = special_latin_ext_a[cp - 0x0100];
		if (out[0] != '2')
			return 1;
		out[0] = cp < 0x0150 ? 'i' : 'o';
		out[1] = cp < 0x0150 ? 'j' : 'e';
		return 2;
	}
	if (cp >= 0x0218 && cp <= 0x021b) {	/* Romanian Ș ș Ț ț */
		*cls = (cp & 1) == 0 ? SPECIAL_C_UPPER : SPECIAL_C_LOWER;
		out[0] = cp < 0x021a ? 's' : 't';
		return 1;
	}
	if (cp == 0x1e9e) {			/* capital sharp s */
		*cls = SPECIAL_C_UPPER;
		out[0] = out[1] = 's';
		return 2;
	}
	if (cp >= 0xff10 && cp <= 0xff19) {	/* fullwidth digits */
		*cls = SPECIAL_C_DIGIT;
		out[0] = (char)('0' + (cp - 0xff10));
		return 1;
	}
	if ((cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a)) {
		if (cp <= 0xff3a)
			*cls = SPECIAL_C_UPPER;
		out[0] = (char)('a' + (cp - (cp <= 0xff3a ? 0xff21 : 0xff41)));
		return 1;
	}
	/* Punctuation, symbols, emoji, private use: between words. */
	if ((cp >= 0x2000 && cp <= 0x2bff) || (cp >= 0x3000 && cp <= 0x303f) ||
	    (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfe10 && cp <= 0xfe6f) ||
	    (cp >= 0xff00 && cp <= 0xff65) || cp >= 0xfff0 ||
	    (cp >= 0x1f000 && cp <= 0x1faff))
		return -1;
	*cls = SPECIAL_C_OTHER;
	out[0] = SPECIAL_OTHER;
	return 1;
}

/* One character at s (len > 0): sets *used, *cls, and returns as
 * special_fold() does. */
static int
special_char(const unsigned char *s, size_t len, int flags, char out[2],
    enum special_class *cls, size_t *used)
{
	uint32_t	cp;

	*used = 1;
	*cls = SPECIAL_C_NONE;
	if (s[0] >= 'A' && s[0] <= 'Z') {
		*cls = SPECIAL_C_UPPER;
		out[0] = (char)(s[0] - 'A' + 'a');
		return 1;
	}
	if ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')) {
		*cls = s[0] <= '9' ? SPECIAL_C_DIGIT : SPECIAL_C_LOWER;
		out[0] = (char)s[0];
		return 1;
	}
	if (s[0] == '*' && (flags & SPECIAL_STAR)) {
		*cls = SPECIAL_C_OTHER;
		out[0] = '*';
		return 1;
	}
	if (s[0] < 0x80 || (*used = utf8_decode(s, len, &cp)) == 0) {
		*used = 1;
		return -1;
	}
	return special_fold(cp, out, cls);
}

/*
 * Writes the normalised form of in to out (at most cap bytes; a value
 * never grows, a name grows by at most one space per byte) and returns
 * its length.  Reads in by length only.
 */
static size_t
special_normalize(const char *in, size_t len, int flags, char *out,
    size_t cap)
{
	const unsigned char	*s = (const unsigned char *)in;
	enum special_class	 cls, prev = SPECIAL_C_NONE, next;
	size_t			 i = 0, o = 0, used, skip;
	int			 gap = 0, k;
	char			 fold[2], ahead[2];

	while (i < len) {
		k = special_char(s + i, len - i, flags, fold, &cls, &used);
		i += used;
		if (k == -1) {
			gap = 1;
			prev = SPECIAL_C_NONE;
			continue;
		}
		if (k == 0)
			continue;
		/* "bloodType" and "HIVStatus": a word starts at a capital
		 * after a small letter or digit, or at the last capital of
		 * a run when a small letter follows it. */
		if ((flags & SPECIAL_NAME) && cls == SPECIAL_C_UPPER) {
			if (prev == SPECIAL_C_LOWER || prev == SPECIAL_C_DIGIT)
				gap = 1;
			else if (prev == SPECIAL_C_UPPER && i < len &&
			    special_char(s + i, len - i, flags, ahead, &next,
			    &skip) > 0 && next == SPECIAL_C_LOWER)
				gap = 1;
		}
		if (gap && o > 0) {
			if (o + 1 + (size_t)k > cap)
				break;
			out[o++] = ' ';
		} else if (o + (size_t)k > cap)
			break;
		gap = 0;
		memcpy(out + o, fold, (size_t)k);
		o += (size_t)k;
		prev = cls;
	}
	return o;
}

/* ------------------------------------------------------------- matching */

/* '*' matches any run, spaces included; the whole of s must match. */
static int
special_glob(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t	pi = 0, si = 0, star = SPECIAL_NONE, mark = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < plen && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != SPECIAL_NONE) {
			pi = star + 1;
			si = ++mark;
		} else
			return 0;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

/* The letters a normalised text holds, one bit each: a pattern can only
 * match a name holding all of its letters, which rules most patterns
 * out at the cost of an AND. */
static uint32_t
special_letters(const char *s, size_t len)
{
	uint32_t	m = 0;
	size_t		i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			m |= 1U << (s[i] - 'a');
	return m;
}

/* The chain of terms whose first word is w, or NONE. */
static size_t
special_chain(const struct special *sp, const char *w, size_t wlen)
{
	const struct special_rule	*t;
	size_t				 h, mask = sp->nslots - 1;

	for (h = (size_t)hash_fnv1a(w, wlen) & mask; sp->slots[h] != SPECIAL_NONE;
	    h = (h + 1) & mask) {
		t = &sp->terms[sp->slots[h]];
		if (t->wordlen == wlen && memcmp(t->text, w, wlen) == 0)
			return sp->slots[h];
	}
	return SPECIAL_NONE;
}

/* The name rule a normalised name matches first, or NULL. */
static const char *
special_name_match(const struct special *sp, const char *buf, size_t n)
{
	const struct special_rule	*r;
	uint32_t			 letters = special_letters(buf, n);
	size_t				 i;

	for (i = 0, r = sp->names; n > 0 && i < sp->nnames; i++, r++)
		if ((r->letters & ~letters) == 0 &&
		    special_glob(r->text, r->len, buf, n))
			return r->category;
	return NULL;
}

/* The first term standing as whole words in a normalised value, or
 * NULL. */
static const char *
special_value_match(const struct special *sp, const char *buf, size_t n)
{
	const struct special_rule	*t;
	const char			*hit = NULL;
	size_t				 pos, end, i;

	for (pos = 0; pos < n && hit == NULL; pos = end + 1) {
		for (end = pos; end < n && buf[end] != ' '; end++)
			;
		for (i = special_chain(sp, buf + pos, end - pos);
		    i != SPECIAL_NONE && hit == NULL; i = t->next) {
			t = &sp->terms[i];
			if (t->len <= n - pos &&
			    memcmp(buf + pos, t->text, t->len) == 0 &&
			    (pos + t->len == n || buf[pos + t->len] == ' '))
				hit = t->category;
		}
	}
	return hit;
}

/* Normalises text with flags into cap bytes, on the stack when they
 * fit, and asks match about it. */
static const char *
special_lookup(const struct special *sp, const char *text, size_t len,
    int flags, size_t cap,
    const char *(*match)(const struct special *, const char *, size_t))
{
	char		 stackbuf[SPECIAL_STACK_MAX];
	char		*buf = stackbuf;
	const char	*hit;
	size_t		 n;

	if (cap > sizeof(stackbuf))
		buf = xmalloc(cap);
	n = special_normalize(text, len, flags, buf, cap);
	hit = match(sp, buf, n);
	if (buf != stackbuf)
		free(buf);
	return hit;
}

const char *
special_name(const struct special *sp, const char *name, size_t len)
{
	if (sp == NULL || len == 0)
		return NULL;
	return special_lookup(sp, name, len, SPECIAL_NAME,
	    len > SIZE_MAX / 2 ? len : len * 2, special_name_match);
}

const char *
special_value(const struct special *sp, const char *value, size_t len)
{
	if (sp == NULL || sp->nterms == 0 || len == 0)
		return NULL;
	return special_lookup(sp, value, len, 0, len, special_value_match);
}

/* -------------------------------------------------------------- loading */

static int
special_is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Only letters (accented Latin ones fold), digits and the separators a
 * name is written with; '*' in names, an apostrophe in terms. */
static int
special_valid(const char *s, size_t len, int term)
{
	const unsigned char	*u = (const unsigned char *)s;
	enum special_class	 cls;
	size_t			 i, used;
	char			 fold[2];
	int			 k;

	for (i = 0; i < len; i += used) {
		used = 1;
		if (u[i] < 0x80) {
			if ((u[i] >= 'a' && u[i] <= 'z') ||
			    (u[i] >= 'A' && u[i] <= 'Z') ||
			    (u[i] >= '0' && u[i] <= '9') ||
			    strchr("_-. \t", u[i]) != NULL ||
			    (u[i] == '*' && !term) || (u[i] == '\'' && term))
				continue;
			return 0;
		}
		k = special_char(u + i, len - i, 0, fold, &cls, &used);
		if (k == -1 || (k > 0 && fold[0] == SPECIAL_OTHER))
			return 0;
	}
	return 1;
}

static void
special_add(struct special_rule **rules, size_t *n, const char *text,
    size_t len, const char *category)
{
	struct special_rule	*r;
	const char		*sp;

	*rules = xreallocarray(*rules, *n + 1, sizeof(**rules));
	r = &(*rules)[(*n)++];
	r->text = xmalloc(len + 1);
	memcpy(r->text, text, len);
	r->text[len] = '\0';
	r->len = len;
	r->wordlen = (sp = memchr(text, ' ', len)) != NULL ?
	    (size_t)(sp - text) : len;
	r->next = SPECIAL_NONE;
	r->letters = special_letters(text, len);
	r->category = category;
}

/* A "name" or "term" argument (not empty, blanks trimmed). */
static int
special_rule(struct special *sp, const char *category, int term,
    const char *arg, size_t len, char *reason, size_t reasonlen)
{
	const char	*what = term ? "term" : "pattern";
	char		 norm[SPECIAL_RULE_MAX * 2];
	size_t		 n, i;

	if (len > SPECIAL_RULE_MAX) {
		snprintf(reason, reasonlen, "%s too long (at most %d bytes)",
		    what, SPECIAL_RULE_MAX);
		return -1;
	}
	if (!special_valid(arg, len, term)) {
		snprintf(reason, reasonlen, "bad character in %s '%.*s'", what,
		    (int)len, arg);
		return -1;
	}
	n = special_normalize(arg, len, term ? 0 : SPECIAL_NAME | SPECIAL_STAR,
	    norm, sizeof(norm));
	if (n == 0) {
		snprintf(reason, reasonlen, "empty %s", what);
		return -1;
	}
	if (term) {
		special_add(&sp->terms, &sp->nterms, norm, n, category);
		return 0;
	}
	for (i = 0; i < n && (norm[i] == '*' || norm[i] == ' '); i++)
		;
	if (i == n) {
		snprintf(reason, reasonlen, "pattern '%.*s' matches every name",
		    (int)len, arg);
		return -1;
	}
	special_add(&sp->names, &sp->nnames, norm, n, category);
	return 0;
}

/* One line, without its '\n'.  0, or -1 with a reason. */
static int
special_line(struct special *sp, const char **category, const char *line,
    size_t len, char *reason, size_t reasonlen)
{
	const char	*arg, *word = line;
	size_t		 i, wlen, alen;

	for (i = 0; i < len; i++)	/* '#' at the start or after a blank */
		if (line[i] == '#' && (i == 0 || special_is_blank(line[i - 1]))) {
			len = i;
			break;
		}
	while (len > 0 && special_is_blank(line[len - 1]))
		len--;
	while (len > 0 && special_is_blank(*word)) {
		word++;
		len--;
	}
	if (len == 0)
		return 0;
	for (wlen = 0; wlen < len && !special_is_blank(word[wlen]); wlen++)
		;
	for (arg = word + wlen, alen = len - wlen;
	    alen > 0 && special_is_blank(*arg); arg++, alen--)
		;

	if (wlen == 8 && memcmp(word, "category", 8) == 0) {
		if (alen == 0) {
			snprintf(reason, reasonlen, "missing category name");
			return -1;
		}
		for (i = 0; i < FF_NELEM(special_categories); i++)
			if (strlen(special_categories[i]) == alen &&
			    memcmp(special_categories[i], arg, alen) == 0) {
				*category = special_categories[i];
				return 0;
			}
		snprintf(reason, reasonlen, "unknown category '%.*s'",
		    (int)alen, arg);
		return -1;
	}
	if ((wlen == 4 && memcmp(word, "name", 4) == 0) ||
	    (wlen == 4 && memcmp(word, "term", 4) == 0)) {
		if (*category == NULL) {
			snprintf(reason, reasonlen,
			    "'%.*s' before any 'category'", (int)wlen, word);
			return -1;
		}
		if (alen == 0) {
			snprintf(reason, reasonlen, "empty %s",
			    word[0] == 't' ? "term" : "pattern");
			return -1;
		}
		return special_rule(sp, *category, word[0] == 't', arg, alen,
		    reason, reasonlen);
	}
	snprintf(reason, reasonlen, "unknown directive '%.*s'",
	    (int)(wlen > 64 ? 64 : wlen), word);
	return -1;
}

/* Hashes the terms by first word; chains keep file order, and a term
 * listed twice keeps its first category. */
static void
special_index(struct special *sp)
{
	struct special_rule	*t;
	size_t			 i, j, h, mask;

	sp->nslots = 16;
	while (sp->nslots < sp->nterms * 2)
		sp->nslots *= 2;
	sp->slots = xreallocarray(NULL, sp->nslots, sizeof(*sp->slots));
	for (i = 0; i < sp->nslots; i++)
		sp->slots[i] = SPECIAL_NONE;
	mask = sp->nslots - 1;
	for (i = 0; i < sp->nterms; i++) {
		t = &sp->terms[i];
		if ((j = special_chain(sp, t->text, t->wordlen)) ==
		    SPECIAL_NONE) {
			for (h = (size_t)hash_fnv1a(t->text, t->wordlen) & mask;
			    sp->slots[h] != SPECIAL_NONE; h = (h + 1) & mask)
				;
			sp->slots[h] = i;
			continue;
		}
		for (;;) {
			if (sp->terms[j].len == t->len &&
			    memcmp(sp->terms[j].text, t->text, t->len) == 0)
				break;		/* listed twice: first wins */
			if (sp->terms[j].next == SPECIAL_NONE) {
				sp->terms[j].next = i;
				break;
			}
			j = sp->terms[j].next;
		}
	}
}

struct special *
special_load(const char *path, char *err, size_t errlen)
{
	struct special	*sp;
	const char	*category = NULL;
	char		*text, *line, *end, *next, reason[512];
	size_t		 len, lineno = 0;

	if ((text = read_file(path, SPECIAL_FILE_MAX, &len)) == NULL) {
		errorf(err, errlen, "%s: %s", path,
		    errno == EINVAL ? "not a regular file" : strerror(errno));
		return NULL;
	}
	sp = xcalloc(1, sizeof(*sp));
	for (line = text; line < text + len; line = next) {
		lineno++;
		if ((end = memchr(line, '\n', (size_t)(text + len - line))) ==
		    NULL)
			end = text + len;
		next = end < text + len ? end + 1 : end;
		if (memchr(line, '\0', (size_t)(end - line)) != NULL) {
			errorf(err, errlen, "%s:%zu: NUL byte", path,
			    lineno);
			goto fail;
		}
		if (special_line(sp, &category, line, (size_t)(end - line),
		    reason, sizeof(reason)) == -1) {
			errorf(err, errlen, "%s:%zu: %s", path, lineno,
			    reason);
			goto fail;
		}
	}
	if (sp->nnames == 0 && sp->nterms == 0) {
		errorf(err, errlen, "%s: no name or term rules", path);
		goto fail;
	}
	special_index(sp);
	free(text);
	return sp;
fail:
	free(text);
	special_free(sp);
	return NULL;
}

void
special_free(struct special *sp)
{
	size_t	i;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->nnames; i++)
		free(sp->names[i].text);
	for (i = 0; i < sp->nterms; i++)
		free(sp->terms[i].text);
	free(sp->names);
	free(sp->terms);
	free(sp->slots);
	free(sp);
}
