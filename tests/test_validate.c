/*
 * test_validate.c: validate.c's email addresses (the stored form, the
 * duplicate-matching key, IDN domains, and every way an address we must
 * not mail can look) and YYYY-MM-DD dates, including leap years and the
 * year bounds.  Inputs are passed by length and are not NUL-terminated
 * where it matters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fanfare.h"

/* ------------------------------------------------------------- email */

struct email_ok {
	const char	*in;
	const char	*addr;
	const char	*key;
};

static const struct email_ok email_ok[] = {
	{ "Alice@Example.COM", "Alice@example.com", "alice@example.com" },
	{ "a@x.test", "a@x.test", "a@x.test" },
	{ "a.b+tag@x.test", "a.b+tag@x.test", "a.b+tag@x.test" },
	{ "A.B+Tag@X.Test", "A.B+Tag@x.test", "a.b+tag@x.test" },
	{ "!#$%&'*+-/=?^_`{|}~@x.test", "!#$%&'*+-/=?^_`{|}~@x.test",
	    "!#$%&'*+-/=?^_`{|}~@x.test" },
	{ "a@x-y.test", "a@x-y.test", "a@x-y.test" },
	{ "a@1.test", "a@1.test", "a@1.test" },	/* digits: not the TLD */
	{ "a@x.t1", "a@x.t1", "a@x.t1" },
	{ "a@a.b.c.d.test", "a@a.b.c.d.test", "a@a.b.c.d.test" },
	/* IDN domains: lowercased, then IDNA ASCII. */
	{ "user@bücher.example", "user@xn--bcher-kva.example",
	    "user@xn--bcher-kva.example" },
	{ "user@BÜCHER.example", "user@xn--bcher-kva.example",
	    "user@xn--bcher-kva.example" },
	{ "user@BÜCHER.EXAMPLE", "user@xn--bcher-kva.example",
	    "user@xn--bcher-kva.example" },
	{ "user@XN--BCHER-KVA.example", "user@xn--bcher-kva.example",
	    "user@xn--bcher-kva.example" },
	{ "a@пример.рф", "a@xn--e1afmkfd.xn--p1ai",
	    "a@xn--e1afmkfd.xn--p1ai" },
	/* Non-transitional: ß is its own letter, not "ss". */
	{ "a@straße.de", "a@xn--strae-oqa.de", "a@xn--strae-oqa.de" },
	/* NFD input (u + combining diaeresis) is normalised first. */
	{ "a@bu\xcc\x88" "cher.example", "a@xn--bcher-kva.example",
	    "a@xn--bcher-kva.example" },
	/* SMTPUTF8 local parts: kept; only ASCII letters lowercased. */
	{ "üser@bücher.example", "üser@xn--bcher-kva.example",
	    "üser@xn--bcher-kva.example" },
	{ "ÜSER@bücher.example", "ÜSER@xn--bcher-kva.example",
	    "Üser@xn--bcher-kva.example" },
	{ "Δοκιμή@x.test", "Δοκιμή@x.test", "Δοκιμή@x.test" },
	{ "用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v",
	    "用户@xn--fsqu00a.xn--4rr70v" },
};

static void
check_email_ok(const char *in, size_t len, const char *want_addr,
    const char *want_key)
{
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	char	*copy;

	/* An exact-size heap copy: a read past len is a valgrind error. */
	copy = malloc(len);
	cr_assert_not_null(copy);
	memcpy(copy, in, len);
	memset(addr, 'X', sizeof(addr));
	memset(key, 'X', sizeof(key));
	cr_assert_eq(validate_email(copy, len, addr, key), 0,
	    "rejected %s", want_addr);
	cr_expect_str_eq(addr, want_addr, "%s: addr %s", want_addr, addr);
	cr_expect_str_eq(key, want_key, "%s: key %s", want_addr, key);
	free(copy);
}

Test(validate_email, valid_table)
{
	size_t	i;

	for (i = 0; i < FF_NELEM(email_ok); i++)
		check_email_ok(email_ok[i].in, strlen(email_ok[i].in),
		    email_ok[i].addr, email_ok[i].key);
}

struct email_bad {
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	const char	*why;
};

#define BAD(s, why)	{ s, 0, why }
#define BADN(s, why)	{ s, sizeof(s) - 1, why }	/* may hold NUL */

static const struct email_bad email_bad[] = {
	BAD("@x.test", "empty local part"),
	BAD("a@", "empty domain"),
	BAD("a", "no @"),
	BAD("a@b", "dotless domain"),
	BAD("a@localhost", "dotless domain"),
	BAD("a@@b.test", "two @"),
	BAD("a@b@c.test", "two @"),
	BAD("a..b@x.test", "double dot in local part"),
	BAD(".a@x.test", "leading dot in local part"),
	BAD("a.@x.test", "trailing dot in local part"),
	BAD(".@x.test", "local part is a dot"),
	BAD("a b@x.test", "space in local part"),
	BAD("\"a b\"@x.test", "quoted local part"),
	BAD("\"ab\"@x.test", "quoted local part"),
	BAD("\"a@b\"@x.test", "quoted @"),
	BAD("a\"b@x.test", "quote in local part"),
	BAD("a(b)@x.test", "comment characters"),
	BAD("a,b@x.test", "comma"),
	BAD("a;b@x.test", "semicolon"),
	BAD("a:b@x.test", "colon"),
	BAD("<a@x.test>", "angle brackets"),
	BAD("A <a@x.test>", "display name"),
	BAD("a\\b@x.test", "backslash"),
	BAD("a[b]@x.test", "brackets in local part"),
	BAD("a@x..test", "empty label"),
	BAD("a@.x.test", "leading dot in domain"),
	BAD("a@x.test.", "trailing dot"),
	BAD("a@x.test..", "trailing dots"),
	BAD("a@.", "domain is a dot"),
	BAD("a@-x.test", "label starts with -"),
	BAD("a@x-.test", "label ends with -"),
	BAD("a@x.test-", "TLD ends with -"),
	BAD("a@x.-test", "TLD starts with -"),
	BAD("a@x.123", "numeric TLD"),
	BAD("a@1.2.3.4", "numeric TLD (IPv4 as a name)"),
	BAD("a@[1.2.3.4]", "address literal"),
	BAD("a@[IPv6:::1]", "address literal"),
	BAD("a@x_y.test", "underscore in label"),
	BAD("a@x!.test", "punctuation in label"),
	BAD("a@x y.test", "space in domain"),
	BAD("a@x.test。", "trailing ideographic full stop (a dot after IDNA)"),
	BAD("a@xn--zz.test", "bad punycode"),
	BAD("a@a\xe2\x80\x8d" "b.test", "ZWJ in domain"),
	/* Blanks and controls: the API trims, so any reaching us is bad. */
	BAD(" a@x.test", "leading space"),
	BAD("a@x.test ", "trailing space"),
	BAD("a@x.test\n", "trailing newline"),
	BAD("a\t@x.test", "tab"),
	BAD("a@x.test\r\nBcc: y@z.test", "header injection"),
	BAD("a@x.test\r\n", "CRLF"),
	BAD("a\x7f@x.test", "DEL"),
	BAD("a\x01@x.test", "C0 control"),
	BAD("a\xc2\x85@x.test", "C1 control NEL"),
	BAD("a\xc2\xa0" "b@x.test", "no-break space"),
	BAD("a\xe3\x80\x80" "b@x.test", "ideographic space"),
	BAD("a\xe2\x80\xa8" "b@x.test", "line separator"),
	BAD("a\xe2\x80\x8b" "b@x.test", "zero width space"),
	BAD("a\xe2\x80\xae" "b@x.test", "right-to-left override"),
	BAD("\xef\xbb\xbf" "a@x.test", "byte order mark"),
	BADN("a\0b@x.test", "NUL in local part"),
	BADN("a@x\0.test", "NUL in domain"),
	BADN("a@x.test\0", "trailing NUL"),
	/* Malformed UTF-8. */
	BAD("\xff@x.test", "0xff"),
	BAD("a\xff" "b@x.test", "0xff inside"),
	BAD("a@b\xff.test", "0xff in domain"),
	BAD("\xc3@x.test", "truncated sequence"),
	BAD("a@x.test\xc3", "truncated at end of input"),
	BAD("\x80@x.test", "lone continuation byte"),
	BAD("\xc0\xaf@x.test", "overlong /"),
	BAD("\xe0\x80\xae@x.test", "overlong ."),
	BAD("\xc1\x80@x.test", "overlong @"),
	BAD("\xed\xa0\x80@x.test", "surrogate"),
	BAD("\xf4\x90\x80\x80@x.test", "above U+10FFFF"),
	BAD("\xf8\x88\x80\x80\x80@x.test", "5-byte form"),
};

static void
check_email_bad(const char *in, size_t len, const char *why)
{
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	char	*copy;

	copy = malloc(len == 0 ? 1 : len);
	cr_assert_not_null(copy);
	memcpy(copy, in, len);
	memset(addr, 'X', sizeof(addr));
	memset(key, 'X', sizeof(key));
	cr_expect_eq(validate_email(copy, len, addr, key), -1,
	    "accepted (%s): addr %.*s", why, FF_EMAIL_MAX, addr);
	/* A caller that ignores the result still stores nothing. */
	cr_expect_eq(addr[0], '\0', "%s: addr not cleared", why);
	cr_expect_eq(key[0], '\0', "%s: key not cleared", why);
	free(copy);
}

Test(validate_email, invalid_table)
{
	size_t	i, len;

	for (i = 0; i < FF_NELEM(email_bad); i++) {
		len = email_bad[i].len ? email_bad[i].len :
		    strlen(email_bad[i].in);
		check_email_bad(email_bad[i].in, len, email_bad[i].why);
	}
}

Test(validate_email, empty)
{
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];

	cr_expect_eq(validate_email("", 0, addr, key), -1);
	cr_expect_eq(validate_email(NULL, 0, addr, key), -1);
	/* len 0 wins over the bytes behind the pointer. */
	cr_expect_eq(validate_email("a@x.test", 0, addr, key), -1);
}

/* Only len bytes are the address: whatever follows is not read. */
Test(validate_email, length_not_nul)
{
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	const char *s = "A@X.test\r\nBcc: y@z.test";

	cr_assert_eq(validate_email(s, 8, addr, key), 0);
	cr_expect_str_eq(addr, "A@x.test");
	cr_expect_str_eq(key, "a@x.test");
	/* A prefix that cuts the address short is judged as such. */
	cr_expect_eq(validate_email(s, 2, addr, key), -1);	/* "A@" */
	cr_expect_eq(validate_email(s, 3, addr, key), -1);	/* "A@X" */
	cr_expect_eq(validate_email(s, 9, addr, key), -1);	/* + CR */
}

/* Output buffers are reused between calls: a shorter address after a
 * longer one leaves no tail behind. */
Test(validate_email, reused_buffers)
{
	char	addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];

	cr_assert_eq(validate_email("longer.name@example.com", 23, addr,
	    key), 0);
	cr_assert_eq(validate_email("a@x.test", 8, addr, key), 0);
	cr_expect_str_eq(addr, "a@x.test");
	cr_expect_str_eq(key, "a@x.test");
}

/* --------------------------------------------------- email: lengths */

/* prefix, then unit times times, then tail: a fresh exact-size string. */
static char *
repeat(const char *prefix, const char *unit, size_t times, const char *tail)
{
	size_t	 plen = strlen(prefix), ulen = strlen(unit), i;
	char	*s;

	s = malloc(plen + ulen * times + strlen(tail) + 1);
	cr_assert_not_null(s);
	memcpy(s, prefix, plen);
	for (i = 0; i < times; i++)
		memcpy(s + plen + i * ulen, unit, ulen);
	strcpy(s + plen + ulen * times, tail);
	return s;
}

/* local "@" domain, where the domain is exactly n bytes: three 63-byte
 * labels, one label of n - 196 bytes (1..63), then ".com". */
static char *
address_with_domain(const char *local, size_t n)
{
	char	*s, *p;
	size_t	 i, last = n - 196;

	cr_assert(n >= 197 && last <= 63);
	s = malloc(strlen(local) + 1 + n + 1);
	cr_assert_not_null(s);
	p = stpcpy(stpcpy(s, local), "@");
	for (i = 0; i < 3; i++) {
		memset(p, 'a' + i, 63);
		p[63] = '.';
		p += 64;
	}
	memset(p, 'D', last);
	strcpy(p + last, ".com");
	cr_assert_eq(strlen(strchr(s, '@') + 1), n);
	return s;
}

static char *
lower_dup(const char *s)
{
	char	*d, *p;

	d = strdup(s);
	cr_assert_not_null(d);
	for (p = d; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return d;
}

Test(validate_email, local_part_length)
{
	char	*s, *want;

	s = repeat("", "L", 64, "@x.test");		/* 64: the limit */
	want = repeat("", "l", 64, "@x.test");
	check_email_ok(s, strlen(s), s, want);
	free(s);
	free(want);

	s = repeat("", "L", 65, "@x.test");
	check_email_bad(s, strlen(s), "65-byte local part");
	free(s);

	/* The limit is in bytes, not characters. */
	s = repeat("", "ü", 32, "@x.test");		/* 64 bytes */
	check_email_ok(s, strlen(s), s, s);
	free(s);
	s = repeat("", "ü", 32, "a@x.test");		/* 65 bytes */
	check_email_bad(s, strlen(s), "65-byte UTF-8 local part");
	free(s);
}

Test(validate_email, label_length)
{
	char	*s;

	s = repeat("a@", "b", 63, ".test");
	check_email_ok(s, strlen(s), s, s);
	free(s);

	s = repeat("a@", "b", 64, ".test");
	check_email_bad(s, strlen(s), "64-byte label");
	free(s);

	s = repeat("a@x.", "b", 64, "");
	check_email_bad(s, strlen(s), "64-byte TLD");
	free(s);
}

Test(validate_email, domain_length)
{
	char	*s, *want;

	s = address_with_domain("a", 253);		/* the limit */
	want = lower_dup(s);
	check_email_ok(s, strlen(s), want, want);
	free(s);
	free(want);

	s = address_with_domain("a", 254);
	check_email_bad(s, strlen(s), "254-byte domain");
	free(s);
}

/* The limits apply to the IDNA form, not to what came in. */
Test(validate_email, domain_length_after_idna)
{
	char	*s;

	/* 183 bytes in; "xn--tda." x 60 is 483 bytes out. */
	s = repeat("a@", "ü.", 60, "com");
	cr_assert_lt(strlen(s), FF_EMAIL_MAX);
	check_email_bad(s, strlen(s), "domain over 253 bytes after IDNA");
	free(s);

	/* A 60-byte label that needs more than 63 in punycode. */
	s = repeat("a@", "a", 58, "ü.test");
	check_email_bad(s, strlen(s), "label over 63 bytes after IDNA");
	free(s);
}

Test(validate_email, total_length)
{
	char	 addr[FF_EMAIL_MAX + 1], key[FF_EMAIL_MAX + 1];
	char	*s, *want;

	/* 64 + 1 + 253 = 318: the longest address that can pass. */
	s = address_with_domain("0123456789012345678901234567890123456789"
	    "012345678901234567890123", 253);
	cr_assert_eq(strlen(s), 318);
	want = lower_dup(s);
	check_email_ok(s, strlen(s), want, want);
	free(s);
	free(want);

	/* Over FF_EMAIL_MAX; no 321-byte address could pass the part
	 * limits anyway, so this one also has a 314-byte local part. */
	s = repeat("", "a", 321 - 7, "@x.test");
	cr_assert_eq(strlen(s), FF_EMAIL_MAX + 1);
	check_email_bad(s, strlen(s), "321-byte address");
	free(s);

	/* The length is checked before a byte is read (valgrind). */
	cr_expect_eq(validate_email("a@x.test", SIZE_MAX, addr, key), -1);
	cr_expect_eq(validate_email("a@x.test", FF_EMAIL_MAX + 1, addr, key),
	    -1);
}

/* ------------------------------------------------------------- dates */

struct date_case {
	const char	*s;
	size_t		 len;	/* 0: strlen(s) */
	int		 want;
};

static const struct date_case dates[] = {
	{ "2023-01-01", 0, 0 },
	{ "2023-01-31", 0, 0 },
	{ "2023-04-30", 0, 0 },
	{ "2023-12-31", 0, 0 },
	{ "2023-02-28", 0, 0 },
	{ "2024-02-29", 0, 0 },		/* leap year */
	{ "2000-02-29", 0, 0 },		/* divisible by 400 */
	{ "1900-01-01", 0, 0 },		/* lower bound */
	{ "2100-12-31", 0, 0 },		/* upper bound */
	{ "1999-11-30", 0, 0 },
	{ "1900-02-29", 0, -1 },	/* divisible by 100, not 400 */
	{ "2100-02-29", 0, -1 },
	{ "2023-02-29", 0, -1 },
	{ "2024-02-30", 0, -1 },
	{ "2023-04-31", 0, -1 },
	{ "2023-06-31", 0, -1 },
	{ "2023-09-31", 0, -1 },
	{ "2023-11-31", 0, -1 },
	{ "2023-01-32", 0, -1 },
	{ "2023-01-00", 0, -1 },
	{ "2023-00-10", 0, -1 },
	{ "2023-13-01", 0, -1 },
	{ "1899-12-31", 0, -1 },	/* below the range */
	{ "2101-01-01", 0, -1 },	/* above the range */
	{ "0000-01-01", 0, -1 },
	{ "9999-12-31", 0, -1 },
	{ "2023-1-01", 0, -1 },
	{ "2023-01-1", 0, -1 },
	{ "23-01-01", 0, -1 },
	{ "02023-01-01", 0, -1 },
	{ "2023/01/01", 0, -1 },
	{ "2023.01.01", 0, -1 },
	{ "20230101", 0, -1 },
	{ "2023-01-01 ", 0, -1 },
	{ " 2023-01-01", 0, -1 },
	{ "2023-01-01\n", 0, -1 },
	{ "2023-01-01T00:00:00Z", 0, -1 },
	{ "2023-01-0a", 0, -1 },
	{ "2023-+1-01", 0, -1 },
	{ "+023-01-01", 0, -1 },
	{ "-023-01-01", 0, -1 },
	{ "2023- 1-01", 0, -1 },
	{ "2023--01-01", 0, -1 },
	{ "01-01-2023", 0, -1 },
	{ "2023-01-01", 9, -1 },	/* truncated */
	{ "2023-01-01\0", 11, -1 },	/* trailing NUL */
	{ "2023-01\0-01", 11, -1 },
	{ "2023-01-01junk", 10, 0 },	/* only len bytes are the date */
	{ "", 0, -1 },
};

Test(validate_date, table)
{
	size_t	 i, len;
	char	*copy;

	for (i = 0; i < FF_NELEM(dates); i++) {
		len = dates[i].len ? dates[i].len : strlen(dates[i].s);
		copy = malloc(len == 0 ? 1 : len);	/* exact size */
		cr_assert_not_null(copy);
		memcpy(copy, dates[i].s, len);
		cr_expect_eq(validate_date(copy, len), dates[i].want,
		    "\"%.*s\" (len %zu): want %d", (int)len, dates[i].s, len,
		    dates[i].want);
		free(copy);
	}
	cr_expect_eq(validate_date(NULL, 0), -1);
}

/* Every day of every year in range: the count of accepted dates must be
 * the real number of days, and each month's last day must be right. */
Test(validate_date, every_day)
{
	char	 s[16];
	int	 y, m, d, n, total = 0, expect = 0;

	for (y = 1890; y <= 2110; y++) {
		if (y >= 1900 && y <= 2100)
			expect += (y % 4 == 0 && (y % 100 != 0 ||
			    y % 400 == 0)) ? 366 : 365;
		for (m = 0; m <= 13; m++)
			for (d = 0; d <= 32; d++) {
				n = snprintf(s, sizeof(s), "%04d-%02d-%02d",
				    y, m, d);
				cr_assert_eq(n, 10);
				if (validate_date(s, 10) == 0)
					total++;
			}
	}
	cr_expect_eq(total, expect, "accepted %d dates, want %d", total,
	    expect);
	cr_expect_eq(expect, 73414);	/* 201 years, 49 of them leap */
}
