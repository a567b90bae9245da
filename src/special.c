/*
 * special.c: the GDPR Art. 9 blocklist (contrib/special-categories.conf)
 * and the questions asked of it: is this attribute NAME one whose value
 * would reveal a special category (the attribute is then never stored),
 * does this free text (an attribute value, gender) hold a listed term,
 * and does this person's name (first_name, last_name) hold one (the
 * contact is then quarantined).  The file's own comment is the user
 * manual.  Pure: bytes in, a verdict out (the category, and the rule
 * that hit); nothing here logs.
 *
 * One normalisation for the rules and for what is matched against
 * them, built on ICU rather than on tables of our own (the hostile test
 * walked around a hand-written one with a zero-width space and a Greek
 * capital Mu).  Per code point, in this order:
 *
 *   - marks (accents, variation selectors) are dropped: they decorate
 *     the letter before;
 *   - format and control characters and every Default_Ignorable code
 *     point (zero-width, bidi controls, soft hyphen, BOM) leave a SOFT
 *     boundary: "Mus<ZWJ>lim" still reads "muslim", "HIV<ZWSP>positive"
 *     reads "hiv" then "positive";
 *   - NFKC (fullwidth, mathematical, circled, ligature forms);
 *   - the Unicode TR39 confusables skeleton of each letter, then
 *     NFKC_Casefold and NFD without marks: Greek, Cyrillic, Cherokee,
 *     ... letters that look Latin become the Latin letter ("Μuslim" is
 *     "muslim"), accents go (é -> e, ß -> ss, æ -> ae).  An upper-case
 *     letter whose skeleton is "l" is an I look-alike (Greek Iota,
 *     Cyrillic I), since we compare case-folded text.  ASCII itself is
 *     kept as it is (only lowercased): "rn" and "m" stay apart;
 *   - what is still not ASCII: a Latin letter goes through ICU's
 *     Latin-ASCII transliteration (þ -> th), any other letter becomes
 *     SPECIAL_OTHER, a letter no rule holds ("hivЖ" is one word, not
 *     "hiv");
 *   - word-internal punctuation (. - _ ' ’ · and dashes) is a SOFT
 *     boundary, any other punctuation, symbol, blank or byte that is not
 *     UTF-8 a HARD one.  So are case changes ("HIVpositive",
 *     "bloodType") and letter/digit changes ("HIV1"), soft.
 *
 * A run of one-letter words ("H.I.V.", "H I V") is joined into one word.
 * The result is lowercase ASCII letters and digits, SPECIAL_OTHER, and
 * between them at most one ' ' (hard) or '|' (soft).
 *
 * Terms are matched in the normalised value starting at a boundary of
 * either kind and ending at one: a term's letters may step over soft
 * boundaries ("mus|lim" is "muslim") and a space in a term matches a
 * boundary or nothing ("hivpositive" holds "hiv positive"); a hard
 * boundary is never stepped over ("hi v" is not "hiv").  Terms are
 * hashed by their first SPECIAL_KEY letters, so a value costs a hash
 * probe per boundary and a compare per term sharing that start: linear
 * in the value, whatever the number of terms.
 *
 * A name is matched twice: with its boundaries as word breaks (so
 * "hiv *" needs a second word), and glued, every boundary removed, so
 * "rel_igion" is "religion"; a pattern that asks for a word break
 * ("hiv *", "* dna") is not matched glued.  Name patterns are globbed
 * one by one, but only those whose letters all occur in the name (a
 * bit mask test).
 *
 * The per-code-point work is remembered in one table for the Basic
 * Multilingual Plane, filled as code points are seen (atomically: any
 * thread may fill it); other planes ask ICU each time.  A loaded struct
 * special is never written again, so any thread may ask it questions
 * at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/uspoof.h>
#include <unicode/utrans.h>
#include <unicode/ustring.h>

#include "fanfare.h"

#define SPECIAL_FILE_MAX	(1024 * 1024)
#define SPECIAL_RULE_MAX	256	/* bytes of a rule as written */
#define SPECIAL_EXPAND_MAX	256	/* rules one line's braces make */
#define SPECIAL_STACK_MAX	4096	/* normalised input kept on the stack */
#define SPECIAL_OTHER		'~'	/* a letter no rule can hold */
#define SPECIAL_HARD		' '
#define SPECIAL_SOFT		'|'
#define SPECIAL_KEY		3	/* letters of a term's hash key */
#define SPECIAL_FOLD_MAX	6	/* bytes one code point becomes */
#define SPECIAL_UBUF		64	/* UTF-16 units of one code point's forms */
#define SPECIAL_NONE		SIZE_MAX

/* special_normalize() flags */
#define SPECIAL_NAME		0x01	/* join one-letter words by removal */
#define SPECIAL_STAR		0x02	/* keep '*': a name pattern */

enum special_class {
	SPECIAL_C_NONE,			/* start, or after a separator */
	SPECIAL_C_LOWER,
	SPECIAL_C_UPPER,
	SPECIAL_C_DIGIT,
	SPECIAL_C_OTHER			/* SPECIAL_OTHER, '*', caseless */
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
	char		*text;		/* normalised; words split by ' ' */
	size_t		 len;
	char		*glued;		/* names: no spaces; NULL: not glued */
	size_t		 gluedlen;
	char		 key[SPECIAL_KEY];	/* terms: first letters */
	size_t		 keylen;
	uint32_t	 letters;	/* names: special_letters() */
	size_t		 next;		/* terms: same key, or NONE */
	int		 person;	/* terms: also a person's name */
	const char	*category;
};

struct special {
	struct special_rule	*names;
	size_t			 nnames;
	struct special_rule	*terms;
	size_t			 nterms;
	struct special_rule	*persons;	/* person_name words */
	size_t			 npersons;
	size_t			*slots;		/* key -> chain head */
	size_t			 nslots;	/* a power of two */
	int			 shortkeys;	/* a term of < KEY letters */
};

/* ----------------------------------------------------- one code point */

/* What one code point becomes: up to SPECIAL_FOLD_MAX bytes of
 * [a-z0-9~ |], empty when it is dropped; cls for case changes. */
struct special_fold {
	uint8_t		len;
	uint8_t		cls;		/* enum special_class */
	char		text[SPECIAL_FOLD_MAX];
};

/*
 * What each code point of the Basic Multilingual Plane becomes, filled
 * the first time one is seen: special_fold_pack() with
 * SPECIAL_FOLD_READY set, 0 until then.  One 64-bit word each, read and
 * written atomically, so threads may fill it at once (they write the
 * same value); only the pages of code points seen become resident, and
 * ICU's data is only read for them.  Other planes ask ICU each time.
 */
static uint64_t			 special_bmp[0x10000];
#define SPECIAL_FOLD_READY	0x80	/* in the length byte */

static USpoofChecker		*special_spoof;
static const UNormalizer2	*special_nfkc, *special_nfkc_cf, *special_nfd;
static pthread_once_t		 special_once = PTHREAD_ONCE_INIT;
static char			 special_icu_error[128];
/* ICU's transliterators are not thread-safe: one, opened when first
 * needed, used under the lock (rare Latin letters only). */
static UTransliterator		*special_latin;
static int			 special_latin_tried;
static pthread_mutex_t		 special_latin_lock = PTHREAD_MUTEX_INITIALIZER;

static void
special_fold_add(struct special_fold *f, char c)
{
	char	last = f->len > 0 ? f->text[f->len - 1] : SPECIAL_HARD;

	if (c == SPECIAL_OTHER && last == SPECIAL_OTHER)
		return;			/* a run of them is one */
	if (c == SPECIAL_HARD || c == SPECIAL_SOFT) {
		if (last == SPECIAL_HARD || last == SPECIAL_SOFT) {
			if (c == SPECIAL_HARD && f->len > 0)
				f->text[f->len - 1] = SPECIAL_HARD;
			if (f->len > 0)
				return;
		}
	}
	if (f->len < SPECIAL_FOLD_MAX)
		f->text[f->len++] = c;
}

/* Dashes, apostrophes and dots that sit inside words. */
static int
special_is_soft_punct(UChar32 c)
{
	return u_charType(c) == U_DASH_PUNCTUATION || c == '.' ||
	    c == '_' || c == '\'' || c == 0x2019 || c == 0x02bc ||
	    c == 0x00b7 || c == 0x2027 || c == 0x0387 || c == 0x30fb ||
	    c == 0xff65;
}

static const UChar special_latin_id[] = { 'L', 'a', 't', 'i', 'n', '-',
    'A', 'S', 'C', 'I', 'I', 0 };

/* Appends the ASCII form of one letter or digit c, already case-folded
 * and without marks: a Latin letter that is still not ASCII goes
 * through ICU's Latin-ASCII transliteration (þ -> th). */
static void
special_fold_ascii(UChar32 c, struct special_fold *f)
{
	UChar		buf[SPECIAL_UBUF];
	UErrorCode	e = U_ZERO_ERROR;
	int32_t		len = 0, limit, i;
	UChar32		d;

	if (c < 0x80) {
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			special_fold_add(f, (char)c);
		else if (c >= 'A' && c <= 'Z')
			special_fold_add(f, (char)(c - 'A' + 'a'));
		else
			special_fold_add(f, special_is_soft_punct(c) ?
			    SPECIAL_SOFT : SPECIAL_HARD);
		return;
	}
	if (!u_isalnum(c)) {
		special_fold_add(f, special_is_soft_punct(c) ? SPECIAL_SOFT :
		    SPECIAL_HARD);
		return;
	}
	if (uscript_getScript(c, &e) != USCRIPT_LATIN || U_FAILURE(e)) {
		special_fold_add(f, SPECIAL_OTHER);
		return;
	}
	U16_APPEND_UNSAFE(buf, len, c);
	limit = len;
	pthread_mutex_lock(&special_latin_lock);
	if (!special_latin_tried) {
		special_latin_tried = 1;
		special_latin = utrans_openU(special_latin_id, -1,
		    UTRANS_FORWARD, NULL, 0, NULL, &e);
		if (U_FAILURE(e))
			special_latin = NULL;	/* then: SPECIAL_OTHER */
	}
	if (special_latin != NULL)
		utrans_transUChars(special_latin, buf, &len, SPECIAL_UBUF, 0,
		    &limit, &e);
	else
		e = U_UNSUPPORTED_ERROR;
	pthread_mutex_unlock(&special_latin_lock);
	if (U_FAILURE(e)) {
		special_fold_add(f, SPECIAL_OTHER);
		return;
	}
	for (i = 0; i < len; ) {
		U16_NEXT(buf, i, len, d);
		if (d < 0x80 && u_isalnum(d))
			special_fold_ascii(d, f);
		else if (d >= 0x80)
			special_fold_add(f, SPECIAL_OTHER);
	}
}

/* Skeleton, case fold, NFD without marks, ASCII: for one letter or
 * digit c of the NFKC form. */
static void
special_fold_letter(UChar32 c, struct special_fold *f)
{
	UChar		in[2], sk[SPECIAL_UBUF], cf[SPECIAL_UBUF],
			nd[SPECIAL_UBUF];
	UErrorCode	e = U_ZERO_ERROR;
	int32_t		n = 0, nsk, ncf, nnd, i;
	UChar32		d;

	if (c < 0x80) {
		special_fold_ascii(c, f);
		return;
	}
	U16_APPEND_UNSAFE(in, n, c);
	nsk = uspoof_getSkeleton(special_spoof, 0, in, n, sk, SPECIAL_UBUF,
	    &e);
	if (U_FAILURE(e) || nsk <= 0) {
		e = U_ZERO_ERROR;
		memcpy(sk, in, (size_t)n * sizeof(UChar));
		nsk = n;
	}
	/* We compare case-folded text: an upper-case "l" look-alike is
	 * an "I" look-alike. */
	if (nsk == 1 && sk[0] == 'l' && u_isupper(c))
		sk[0] = 'i';
	ncf = unorm2_normalize(special_nfkc_cf, sk, nsk, cf, SPECIAL_UBUF, &e);
	if (U_FAILURE(e)) {
		special_fold_add(f, SPECIAL_OTHER);
		return;
	}
	nnd = unorm2_normalize(special_nfd, cf, ncf, nd, SPECIAL_UBUF, &e);
	if (U_FAILURE(e)) {
		special_fold_add(f, SPECIAL_OTHER);
		return;
	}
	for (i = 0; i < nnd; ) {
		U16_NEXT(nd, i, nnd, d);
		switch (u_charType(d)) {
		case U_NON_SPACING_MARK:
		case U_ENCLOSING_MARK:
		case U_COMBINING_SPACING_MARK:
			continue;
		default:
			special_fold_ascii(d, f);
		}
	}
}

static void
special_fold_compute(UChar32 cp, struct special_fold *f)
{
	UChar		in[2], nk[SPECIAL_UBUF];
	UErrorCode	e = U_ZERO_ERROR;
	int32_t		n = 0, nnk, i;
	UChar32		c;
	int8_t		type = u_charType(cp);
	size_t		j;

	memset(f, 0, sizeof(*f));
	if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
	    type == U_COMBINING_SPACING_MARK)
		return;			/* decorates the letter before */
	if (type == U_FORMAT_CHAR ||
	    (type == U_CONTROL_CHAR && !u_isUWhiteSpace(cp)) ||
	    u_hasBinaryProperty(cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
		special_fold_add(f, SPECIAL_SOFT);
		return;
	}
	if (type == U_UNASSIGNED || type == U_PRIVATE_USE_CHAR ||
	    type == U_SURROGATE || u_isUWhiteSpace(cp)) {
		special_fold_add(f, SPECIAL_HARD);
		return;
	}
	if (u_isupper(cp) || u_istitle(cp))
		f->cls = SPECIAL_C_UPPER;
	else if (u_isdigit(cp))
		f->cls = SPECIAL_C_DIGIT;
	else if (u_islower(cp))
		f->cls = SPECIAL_C_LOWER;
	else
		f->cls = SPECIAL_C_OTHER;
	U16_APPEND_UNSAFE(in, n, cp);
	nnk = unorm2_normalize(special_nfkc, in, n, nk, SPECIAL_UBUF, &e);
	if (U_FAILURE(e)) {
		special_fold_add(f, SPECIAL_OTHER);
		return;
	}
	for (i = 0; i < nnk; ) {
		U16_NEXT(nk, i, nnk, c);
		type = u_charType(c);
		if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
		    type == U_COMBINING_SPACING_MARK)
			continue;
		if (u_isalnum(c))
			special_fold_letter(c, f);
		else
			special_fold_add(f, special_is_soft_punct(c) ?
			    SPECIAL_SOFT : SPECIAL_HARD);
	}
	/* A letter's class, separators only: none. */
	for (j = 0; j < f->len; j++)
		if (f->text[j] != SPECIAL_HARD && f->text[j] != SPECIAL_SOFT)
			break;
	if (j == f->len)
		f->cls = SPECIAL_C_NONE;
	else if (f->text[0] == SPECIAL_OTHER && f->len == 1)
		f->cls = SPECIAL_C_OTHER;
}

static void
special_icu_init(void)
{
	UErrorCode	e = U_ZERO_ERROR;

	special_nfkc = unorm2_getNFKCInstance(&e);
	if (U_SUCCESS(e))
		special_nfkc_cf = unorm2_getNFKCCasefoldInstance(&e);
	if (U_SUCCESS(e))
		special_nfd = unorm2_getNFDInstance(&e);
	if (U_SUCCESS(e))
		special_spoof = uspoof_open(&e);
	if (U_FAILURE(e)) {
		special_spoof = NULL;
		snprintf(special_icu_error, sizeof(special_icu_error),
		    "ICU: %s", u_errorName(e));
	}
}

/* 0, or -1 with the reason ICU could not start. */
static int
special_icu_ready(char *err, size_t errlen)
{
	pthread_once(&special_once, special_icu_init);
	if (special_spoof != NULL)
		return 0;
	errorf(err, errlen, "%s", special_icu_error[0] != '\0' ?
	    special_icu_error : "ICU: cannot start");
	return -1;
}

static uint64_t
special_fold_pack(const struct special_fold *f)
{
	uint64_t	w = (uint64_t)(f->len | SPECIAL_FOLD_READY) |
			    (uint64_t)f->cls << 8;
	size_t		i;

	for (i = 0; i < f->len; i++)
		w |= (uint64_t)(unsigned char)f->text[i] << (16 + 8 * i);
	return w;
}

static void
special_fold_unpack(uint64_t w, struct special_fold *f)
{
	size_t	i;

	f->len = (uint8_t)(w & 0x7f);
	f->cls = (uint8_t)(w >> 8);
	for (i = 0; i < f->len; i++)
		f->text[i] = (char)(w >> (16 + 8 * i));
}

/* A code point at or above U+0080: from the table, filled first. */
static void
special_fold(uint32_t cp, struct special_fold *f)
{
	uint64_t	w;

	if (cp >= 0x10000) {
		special_fold_compute((UChar32)cp, f);
		return;
	}
	if ((w = __atomic_load_n(&special_bmp[cp], __ATOMIC_ACQUIRE)) == 0) {
		special_fold_compute((UChar32)cp, f);
		w = special_fold_pack(f);
		__atomic_store_n(&special_bmp[cp], w, __ATOMIC_RELEASE);
	}
	special_fold_unpack(w, f);
}

/* ----------------------------------------------------------- normalising */

/*
 * One character at s (len > 0): fills f (its folded text, cls) and
 * sets *used.  Bytes that are not UTF-8 separate words.
 */
static void
special_char(const unsigned char *s, size_t len, int flags,
    struct special_fold *f, size_t *used)
{
	uint32_t	cp;
	unsigned char	c = s[0];

	*used = 1;
	f->len = 1;
	if (c >= 'a' && c <= 'z') {
		f->cls = SPECIAL_C_LOWER;
		f->text[0] = (char)c;
	} else if (c >= 'A' && c <= 'Z') {
		f->cls = SPECIAL_C_UPPER;
		f->text[0] = (char)(c - 'A' + 'a');
	} else if (c >= '0' && c <= '9') {
		f->cls = SPECIAL_C_DIGIT;
		f->text[0] = (char)c;
	} else if (c == '*' && (flags & SPECIAL_STAR)) {
		f->cls = SPECIAL_C_OTHER;
		f->text[0] = '*';
	} else if (c < 0x80) {
		f->cls = SPECIAL_C_NONE;
		f->text[0] = special_is_soft_punct(c) ||
		    (c < 0x20 && c != '\t' && c != '\n' && c != '\v' &&
		    c != '\f' && c != '\r') || c == 0x7f ? SPECIAL_SOFT :
		    SPECIAL_HARD;
	} else if ((*used = utf8_decode(s, len, &cp)) == 0) {
		*used = 1;
		f->cls = SPECIAL_C_NONE;
		f->text[0] = SPECIAL_HARD;
	} else
		special_fold(cp, f);
}

/*
 * Writes the normalised form of in to out and returns its length.  cap
 * must be at least special_cap(len): no code point grows past it, so the
 * whole input is always read.  Reads in by length only.
 */
static size_t
special_normalize(const char *in, size_t len, int flags, char *out,
    size_t cap)
{
	const unsigned char	*s = (const unsigned char *)in;
	struct special_fold	 f, ahead;
	enum special_class	 prev = SPECIAL_C_NONE, cls;
	size_t			 i = 0, o = 0, used, skip, j;
	char			 gap = 0, c;

	while (i < len) {
		special_char(s + i, len - i, flags, &f, &used);
		i += used;
		cls = (enum special_class)f.cls;
		/* "bloodType", "HIVStatus", "HIVpositive", "HIV1": a soft
		 * boundary where case or digits change. */
		if (cls == SPECIAL_C_UPPER && prev == SPECIAL_C_LOWER)
			gap = gap ? gap : SPECIAL_SOFT;
		else if (cls == SPECIAL_C_UPPER && prev == SPECIAL_C_UPPER &&
		    i < len) {
			special_char(s + i, len - i, flags, &ahead, &skip);
			if (ahead.cls == SPECIAL_C_LOWER)
				gap = gap ? gap : SPECIAL_SOFT;
		} else if (cls == SPECIAL_C_LOWER && prev == SPECIAL_C_UPPER &&
		    o >= 2 && out[o - 2] != SPECIAL_HARD &&
		    out[o - 2] != SPECIAL_SOFT)
			gap = gap ? gap : SPECIAL_SOFT;
		else if ((cls == SPECIAL_C_DIGIT && (prev == SPECIAL_C_LOWER ||
		    prev == SPECIAL_C_UPPER)) || (prev == SPECIAL_C_DIGIT &&
		    (cls == SPECIAL_C_LOWER || cls == SPECIAL_C_UPPER)))
			gap = gap ? gap : SPECIAL_SOFT;
		for (j = 0; j < f.len; j++) {
			c = f.text[j];
			if (c == SPECIAL_HARD || c == SPECIAL_SOFT) {
				if (gap != SPECIAL_HARD)
					gap = c;
				continue;
			}
			if (o + 2 > cap)
				return o;	/* not reached: see special_cap */
			if (gap && o > 0)
				out[o++] = gap;
			gap = 0;
			out[o++] = c;
		}
		if (f.len == 0)
			continue;	/* a mark: the class stays */
		prev = f.text[f.len - 1] == SPECIAL_HARD ||
		    f.text[f.len - 1] == SPECIAL_SOFT ? SPECIAL_C_NONE : cls;
	}
	return o;
}

/* Room special_normalize() needs for len bytes: a byte of ASCII makes at
 * most 2, a code point of n bytes at most SPECIAL_FOLD_MAX + 1 <= 4n. */
static size_t
special_cap(size_t len)
{
	return len > (SIZE_MAX - 16) / 4 ? SIZE_MAX : len * 4 + 16;
}

static int
special_is_sep(char c)
{
	return c == SPECIAL_HARD || c == SPECIAL_SOFT;
}

/*
 * A run of one-letter words ("h i v", "h|i|v"): in a value the
 * boundaries between them become soft, in a name they go.  Returns the
 * new length.
 */
static size_t
special_join_singles(char *b, size_t n, int remove)
{
	size_t	i, o = 0;

	for (i = 1; i + 1 < n; i++)
		if ((special_is_sep(b[i]) || b[i] == '\x01') &&
		    (i < 2 || special_is_sep(b[i - 2]) || b[i - 2] == '\x01') &&
		    (i + 2 >= n || special_is_sep(b[i + 2])) &&
		    b[i - 1] != '*' && b[i + 1] != '*')
			b[i] = '\x01';
	for (i = 0; i < n; i++) {
		if (b[i] != '\x01')
			b[o++] = b[i];
		else if (!remove)
			b[o++] = SPECIAL_SOFT;
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

/* The first SPECIAL_KEY letters of s, boundaries skipped; their count. */
static size_t
special_key(const char *s, size_t n, char key[SPECIAL_KEY])
{
	size_t	i, k = 0;

	for (i = 0; i < n && k < SPECIAL_KEY; i++)
		if (!special_is_sep(s[i]))
			key[k++] = s[i];
	return k;
}

/* The chain of terms whose key is key[0..klen), or NONE. */
static size_t
special_chain(const struct special *sp, const char *key, size_t klen)
{
	const struct special_rule	*t;
	size_t				 h, mask = sp->nslots - 1;

	for (h = (size_t)hash_fnv1a(key, klen) & mask;
	    sp->slots[h] != SPECIAL_NONE; h = (h + 1) & mask) {
		t = &sp->terms[sp->slots[h]];
		if (t->keylen == klen && memcmp(t->key, key, klen) == 0)
			return sp->slots[h];
	}
	return SPECIAL_NONE;
}

/*
 * Does term t stand in b at s (a boundary or the start before it)?  Its
 * letters step over soft boundaries, a space in it matches one boundary
 * or none, and it must end at a boundary or the end.
 */
static int
special_term_at(const char *b, size_t n, size_t s,
    const struct special_rule *t)
{
	size_t	i = s, j;

	for (j = 0; j < t->len; j++) {
		if (t->text[j] == ' ') {
			if (i < n && special_is_sep(b[i]))
				i++;
			continue;
		}
		while (i < n && b[i] == SPECIAL_SOFT)
			i++;
		if (i == n || b[i] != t->text[j])
			return 0;
		i++;
	}
	return i == n || special_is_sep(b[i]);
}

/* The first term found in a normalised value, or NULL; person: skip the
 * one-word terms that are also a person's name. */
static const struct special_rule *
special_value_match(const struct special *sp, const char *b, size_t n,
    int person)
{
	const struct special_rule	*t;
	char				 key[SPECIAL_KEY];
	size_t				 s, k, klen, i;

	for (s = 0; s < n; s++) {
		if ((s > 0 && !special_is_sep(b[s - 1])) ||
		    special_is_sep(b[s]))
			continue;
		klen = special_key(b + s, n - s, key);
		for (k = klen; k >= 1; k--) {
			if (k < SPECIAL_KEY && !sp->shortkeys)
				break;
			for (i = special_chain(sp, key, k); i != SPECIAL_NONE;
			    i = t->next) {
				t = &sp->terms[i];
				if ((!person || !t->person) &&
				    special_term_at(b, n, s, t))
					return t;
			}
		}
	}
	return NULL;
}

/* The name rule a normalised name matches first, or NULL: its words
 * against the patterns, then glued against the glued ones. */
static const struct special_rule *
special_name_match(const struct special *sp, char *b, size_t n)
{
	const struct special_rule	*r, *hit = NULL;
	uint32_t			 letters = special_letters(b, n);
	char				*glued;
	size_t				 i, g = 0;

	if (n == 0)
		return NULL;
	glued = xmalloc(n);
	for (i = 0; i < n; i++) {
		if (b[i] == SPECIAL_SOFT)
			b[i] = SPECIAL_HARD;
		if (b[i] != SPECIAL_HARD)
			glued[g++] = b[i];
	}
	for (i = 0, r = sp->names; hit == NULL && i < sp->nnames; i++, r++)
		if ((r->letters & ~letters) == 0 &&
		    (special_glob(r->text, r->len, b, n) ||
		    (r->glued != NULL &&
		    special_glob(r->glued, r->gluedlen, glued, g))))
			hit = r;
	free(glued);
	return hit;
}

const char *
special_match(const struct special *sp, enum special_field field,
    const char *text, size_t len, const char **rule)
{
	const struct special_rule	*hit = NULL;
	char				 stackbuf[SPECIAL_STACK_MAX];
	char				*buf = stackbuf;
	size_t				 n, cap = special_cap(len);

	if (rule != NULL)
		*rule = NULL;
	if (sp == NULL || len == 0 || (field == SPECIAL_FIELD_NAME ?
	    sp->nnames : sp->nterms) == 0)
		return NULL;
	/* Normalised on the stack when it fits. */
	if (cap > sizeof(stackbuf))
		buf = xmalloc(cap);
	n = special_normalize(text, len, field == SPECIAL_FIELD_NAME ?
	    SPECIAL_NAME : 0, buf, cap);
	n = special_join_singles(buf, n, field == SPECIAL_FIELD_NAME);
	if (field == SPECIAL_FIELD_NAME)
		hit = special_name_match(sp, buf, n);
	else
		hit = special_value_match(sp, buf, n,
		    field == SPECIAL_FIELD_PERSON);
	if (buf != stackbuf)
		free(buf);
	if (hit == NULL)
		return NULL;
	if (rule != NULL)
		*rule = hit->text;
	return hit->category;
}

const char *
special_name(const struct special *sp, const char *name, size_t len)
{
	return special_match(sp, SPECIAL_FIELD_NAME, name, len, NULL);
}

const char *
special_value(const struct special *sp, const char *value, size_t len)
{
	return special_match(sp, SPECIAL_FIELD_VALUE, value, len, NULL);
}

const char *
special_person_name(const struct special *sp, const char *value,
    size_t len)
{
	return special_match(sp, SPECIAL_FIELD_PERSON, value, len, NULL);
}

/* -------------------------------------------------------------- loading */

static int
special_is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

enum special_kind {
	SPECIAL_K_NAME,
	SPECIAL_K_TERM,
	SPECIAL_K_PERSON
};

static const char *const special_kind_names[] = { "pattern", "term",
    "person_name" };

/* Letters (any that fold to ASCII ones), digits and the separators a
 * name is written with; '*' in names, an apostrophe in terms and
 * person names; braces and commas (expanded before this). */
static int
special_valid(const char *s, size_t len, enum special_kind kind)
{
	const unsigned char	*u = (const unsigned char *)s;
	struct special_fold	 f;
	size_t			 i, j, used;

	for (i = 0; i < len; i += used) {
		used = 1;
		if (u[i] < 0x80) {
			if ((u[i] >= 'a' && u[i] <= 'z') ||
			    (u[i] >= 'A' && u[i] <= 'Z') ||
			    (u[i] >= '0' && u[i] <= '9') ||
			    strchr("_-. \t", u[i]) != NULL ||
			    (u[i] == '*' && kind == SPECIAL_K_NAME) ||
			    (u[i] == '\'' && kind != SPECIAL_K_NAME))
				continue;
			return 0;
		}
		special_char(u + i, len - i, 0, &f, &used);
		for (j = 0; j < f.len; j++)
			if (f.text[j] == SPECIAL_OTHER ||
			    special_is_sep(f.text[j]))
				return 0;
	}
	return 1;
}

static void
special_add(struct special_rule **rules, size_t *n, const char *text,
    size_t len, const char *category, int glue)
{
	struct special_rule	*r;
	size_t			 i;

	*rules = xreallocarray(*rules, *n + 1, sizeof(**rules));
	r = &(*rules)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->text = xmalloc(len + 1);
	memcpy(r->text, text, len);
	r->text[len] = '\0';
	r->len = len;
	r->next = SPECIAL_NONE;
	r->letters = special_letters(text, len);
	r->category = category;
	r->keylen = special_key(text, len, r->key);
	/* A pattern that asks for a word break ("hiv *") is matched on
	 * words only. */
	if (glue && strstr(r->text, " *") == NULL &&
	    strstr(r->text, "* ") == NULL) {
		r->glued = xmalloc(len + 1);
		for (i = 0; i < len; i++)
			if (text[i] != ' ')
				r->glued[r->gluedlen++] = text[i];
		r->glued[r->gluedlen] = '\0';
	}
}

/* One rule without braces (not empty, blanks trimmed). */
static int
special_rule(struct special *sp, const char *category,
    enum special_kind kind, const char *arg, size_t len, char *reason,
    size_t reasonlen)
{
	const char	*what = special_kind_names[kind];
	char		 norm[SPECIAL_RULE_MAX * 4 + 16];
	size_t		 n, i;

	if (!special_valid(arg, len, kind)) {
		snprintf(reason, reasonlen, "bad character in %s '%.*s'", what,
		    (int)len, arg);
		return -1;
	}
	n = special_normalize(arg, len, kind == SPECIAL_K_NAME ?
	    SPECIAL_NAME | SPECIAL_STAR : 0, norm, sizeof(norm));
	n = special_join_singles(norm, n, 0);
	for (i = 0; i < n; i++)
		if (norm[i] == SPECIAL_SOFT)
			norm[i] = SPECIAL_HARD;
	if (n == 0) {
		snprintf(reason, reasonlen, "empty %s", what);
		return -1;
	}
	if (kind == SPECIAL_K_PERSON) {
		if (memchr(norm, ' ', n) != NULL) {
			snprintf(reason, reasonlen, "person_name '%.*s' is "
			    "more than one word", (int)len, arg);
			return -1;
		}
		special_add(&sp->persons, &sp->npersons, norm, n, NULL, 0);
		return 0;
	}
	if (kind == SPECIAL_K_TERM) {
		special_add(&sp->terms, &sp->nterms, norm, n, category, 0);
		return 0;
	}
	for (i = 0; i < n && (norm[i] == '*' || norm[i] == ' '); i++)
		;
	if (i == n) {
		snprintf(reason, reasonlen, "pattern '%.*s' matches every name",
		    (int)len, arg);
		return -1;
	}
	special_add(&sp->names, &sp->nnames, norm, n, category, 1);
	return 0;
}

/* Braces that pair, none inside another. */
static int
special_braces_ok(const char *s, size_t len)
{
	size_t	i;
	int	open = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '{') {
			if (open)
				return 0;
			open = 1;
		} else if (s[i] == '}') {
			if (!open)
				return 0;
			open = 0;
		}
	}
	return !open;
}

/*
 * A rule as written, its braces checked: "katholisch{,e,er,es}" is four
 * rules, braces multiply ("{a,b}x{c,d}" is four).  *count counts the
 * rules made, at most SPECIAL_EXPAND_MAX.
 */
static int
special_expand(struct special *sp, const char *category,
    enum special_kind kind, const char *arg, size_t len, size_t *count,
    char *reason, size_t reasonlen)
{
	const char	*open, *close, *alt, *end;
	char		 buf[SPECIAL_RULE_MAX + 1];
	size_t		 pre, post, altlen;

	open = memchr(arg, '{', len);
	close = memchr(arg, '}', len);
	if (open == NULL && close == NULL) {
		if (++*count > SPECIAL_EXPAND_MAX) {
			snprintf(reason, reasonlen, "braces make more than "
			    "%d rules", SPECIAL_EXPAND_MAX);
			return -1;
		}
		return special_rule(sp, category, kind, arg, len, reason,
		    reasonlen);
	}
	pre = (size_t)(open - arg);
	post = len - (size_t)(close + 1 - arg);
	for (alt = open + 1; alt <= close; alt = end + 1) {
		for (end = alt; end < close && *end != ','; end++)
			;
		altlen = (size_t)(end - alt);
		memcpy(buf, arg, pre);
		memcpy(buf + pre, alt, altlen);
		memcpy(buf + pre + altlen, close + 1, post);
		if (special_expand(sp, category, kind, buf,
		    pre + altlen + post, count, reason, reasonlen) == -1)
			return -1;
	}
	return 0;
}

/* One line, without its '\n'.  0, or -1 with a reason. */
static int
special_line(struct special *sp, const char **category, const char *line,
    size_t len, char *reason, size_t reasonlen)
{
	const char	*arg, *word = line;
	size_t		 i, wlen, alen, count = 0;
	enum special_kind kind;

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
	if (wlen == 4 && memcmp(word, "name", 4) == 0)
		kind = SPECIAL_K_NAME;
	else if (wlen == 4 && memcmp(word, "term", 4) == 0)
		kind = SPECIAL_K_TERM;
	else if (wlen == 11 && memcmp(word, "person_name", 11) == 0)
		kind = SPECIAL_K_PERSON;
	else {
		snprintf(reason, reasonlen, "unknown directive '%.*s'",
		    (int)(wlen > 64 ? 64 : wlen), word);
		return -1;
	}
	if (*category == NULL && kind != SPECIAL_K_PERSON) {
		snprintf(reason, reasonlen, "'%.*s' before any 'category'",
		    (int)wlen, word);
		return -1;
	}
	if (alen == 0) {
		snprintf(reason, reasonlen, "empty %s",
		    special_kind_names[kind]);
		return -1;
	}
	if (alen > SPECIAL_RULE_MAX) {
		snprintf(reason, reasonlen, "%s too long (at most %d bytes)",
		    special_kind_names[kind], SPECIAL_RULE_MAX);
		return -1;
	}
	if (!special_braces_ok(arg, alen)) {
		snprintf(reason, reasonlen, "unbalanced braces in %s '%.*s'",
		    special_kind_names[kind], (int)alen, arg);
		return -1;
	}
	return special_expand(sp, *category, kind, arg, alen, &count, reason,
	    reasonlen);
}

/* Hashes the terms by key; chains keep file order, and a term listed
 * twice keeps its first category.  Marks the one-word terms that are
 * also a person's name. */
static void
special_index(struct special *sp)
{
	struct special_rule	*t;
	size_t			 i, j, h, mask;

	for (i = 0; i < sp->nterms; i++) {
		t = &sp->terms[i];
		if (t->keylen < SPECIAL_KEY)
			sp->shortkeys = 1;
		if (memchr(t->text, ' ', t->len) != NULL)
			continue;
		for (j = 0; j < sp->npersons; j++)
			if (sp->persons[j].len == t->len &&
			    memcmp(sp->persons[j].text, t->text, t->len) == 0)
				t->person = 1;
	}
	sp->nslots = 16;
	while (sp->nslots < sp->nterms * 2)
		sp->nslots *= 2;
	sp->slots = xreallocarray(NULL, sp->nslots, sizeof(*sp->slots));
	for (i = 0; i < sp->nslots; i++)
		sp->slots[i] = SPECIAL_NONE;
	mask = sp->nslots - 1;
	for (i = 0; i < sp->nterms; i++) {
		t = &sp->terms[i];
		if ((j = special_chain(sp, t->key, t->keylen)) ==
		    SPECIAL_NONE) {
			for (h = (size_t)hash_fnv1a(t->key, t->keylen) & mask;
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

	if (special_icu_ready(err, errlen) == -1)
		return NULL;
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

static void
special_rules_free(struct special_rule *r, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(r[i].text);
		free(r[i].glued);
	}
	free(r);
}

void
special_free(struct special *sp)
{
	if (sp == NULL)
		return;
	special_rules_free(sp->names, sp->nnames);
	special_rules_free(sp->terms, sp->nterms);
	special_rules_free(sp->persons, sp->npersons);
	free(sp->slots);
	free(sp);
}
