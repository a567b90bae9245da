/*
 * test_util.c: util.c's base64url (RFC 4648 section 5, no padding, one
 * encoding per byte string), strict decimal parsing and bounded file
 * reading, including every way their input can be wrong.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fanfare.h"

/* ---------------------------------------------------------- base64url */

struct b64_vector {
	const char	*raw;
	size_t		 rawlen;
	const char	*enc;
};

/* RFC 4648 section 10, padding dropped, plus vectors that hit the two
 * characters where the URL alphabet differs ('-' and '_'). */
static const struct b64_vector b64_vectors[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg" },
	{ "fo", 2, "Zm8" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg" },
	{ "fooba", 5, "Zm9vYmE" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\xfb\xff", 2, "-_8" },			/* std "+/8=" */
	{ "\xfb\xef\xbe", 3, "----" },			/* std "++++" */
	{ "\xff\xff\xff", 3, "____" },			/* std "////" */
	{ "\x00", 1, "AA" },
	{ "\x00\x00\x00", 3, "AAAA" },
	{ "\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l-" },	/* std "FPucA9l+" */
};

Test(base64url, rfc4648_vectors_encode)
{
	char	out[64];
	size_t	i, n;

	for (i = 0; i < FF_NELEM(b64_vectors); i++) {
		const struct b64_vector *v = &b64_vectors[i];

		memset(out, 'X', sizeof(out));
		n = base64url_encode((const uint8_t *)v->raw, v->rawlen, out);
		cr_assert_eq(n, strlen(v->enc), "vector %zu", i);
		cr_assert_eq(n, base64url_len(v->rawlen));
		cr_assert_str_eq(out, v->enc, "vector %zu", i);
	}
}

Test(base64url, rfc4648_vectors_decode)
{
	uint8_t	out[64];
	size_t	i;
	ssize_t	n;

	for (i = 0; i < FF_NELEM(b64_vectors); i++) {
		const struct b64_vector *v = &b64_vectors[i];

		n = base64url_decode(v->enc, strlen(v->enc), out, sizeof(out));
		cr_assert_eq(n, (ssize_t)v->rawlen, "vector %zu", i);
		cr_assert_eq(memcmp(out, v->raw, v->rawlen), 0, "vector %zu",
		    i);
	}
}

/* xorshift: the same "random" bytes on every run. */
static uint32_t
test_rand(uint32_t *state)
{
	uint32_t	x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

Test(base64url, round_trip_every_length_to_64)
{
	uint8_t		in[64], out[64 + 4];
	char		enc[base64url_len(64) + 2];
	uint32_t	seed = 0x9e3779b9;
	size_t		len, i, n;
	ssize_t		dn;
	int		round;

	for (round = 0; round < 50; round++) {
		for (len = 0; len <= 64; len++) {
			for (i = 0; i < len; i++)
				in[i] = (uint8_t)test_rand(&seed);
			enc[base64url_len(len) + 1] = '#';
			n = base64url_encode(in, len, enc);
			cr_assert_eq(n, base64url_len(len));
			cr_assert_eq(enc[n], '\0');
			cr_assert_eq(enc[n + 1], '#', "wrote past the NUL");
			cr_assert_eq(strspn(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "abcdefghijklmnopqrstuvwxyz0123456789-_"), n);
			/* Exactly the needed room is enough. */
			dn = base64url_decode(enc, n, out, len);
			cr_assert_eq(dn, (ssize_t)len, "len %zu", len);
			cr_assert_eq(memcmp(in, out, len), 0, "len %zu", len);
		}
	}
}

Test(base64url, decode_rejects_impossible_lengths)
{
	uint8_t	out[64];
	char	s[64];
	size_t	n;

	memset(s, 'A', sizeof(s));
	for (n = 1; n < sizeof(s); n += 4)
		cr_assert_eq(base64url_decode(s, n, out, sizeof(out)), -1,
		    "length %zu", n);
	cr_assert_eq(base64url_decode(s, 0, out, sizeof(out)), 0);
	cr_assert_eq(base64url_decode(s, 0, out, 0), 0);
}

Test(base64url, decode_rejects_bad_characters)
{
	static const char bad[] = { '=', '+', '/', '%', ' ', '.', '\0', '\n',
	    '\r', '\t', '~', '@', '[', '`', '{', ':', (char)0x80, (char)0xc3,
	    (char)0xff };
	uint8_t	out[16];
	char	s[9];
	size_t	i, pos;

	for (i = 0; i < sizeof(bad); i++) {
		for (pos = 0; pos < 8; pos++) {
			memcpy(s, "Zm9vYmFy", 9);
			s[pos] = bad[i];
			cr_assert_eq(base64url_decode(s, 8, out, sizeof(out)),
			    -1, "0x%02x at %zu", (unsigned char)bad[i], pos);
		}
	}
	/* Standard-alphabet padding is not accepted either. */
	cr_assert_eq(base64url_decode("Zg==", 4, out, sizeof(out)), -1);
	cr_assert_eq(base64url_decode("Zm8=", 4, out, sizeof(out)), -1);
}

Test(base64url, decode_rejects_nonzero_trailing_bits)
{
	uint8_t	out[16];
	char	s[8];
	int	c;

	/* "Zg" is "f": the second character carries 2 data bits and 4
	 * padding bits; only A, Q, g and w (padding bits zero) decode. */
	cr_assert_eq(base64url_decode("Zh", 2, out, sizeof(out)), -1);
	cr_assert_eq(base64url_decode("Zm9", 3, out, sizeof(out)), -1);
	cr_assert_eq(base64url_decode("Zm8", 3, out, sizeof(out)), 2);
	cr_assert_eq(base64url_decode("Zm9vYh", 6, out, sizeof(out)), -1);
	cr_assert_eq(base64url_decode("Zm9vYmF", 7, out, sizeof(out)), -1);
	cr_assert_eq(base64url_decode("Zm9vYmE", 7, out, sizeof(out)), 5);

	/* Of all 64 second characters, exactly 4 have zero low bits. */
	{
		static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_";
		int ok = 0;

		for (c = 0; c < 64; c++) {
			s[0] = 'Z';
			s[1] = alpha[c];
			if (base64url_decode(s, 2, out, sizeof(out)) == 1)
				ok++;
		}
		cr_assert_eq(ok, 4);
		ok = 0;
		for (c = 0; c < 64; c++) {
			memcpy(s, "Zm9", 3);
			s[2] = alpha[c];
			if (base64url_decode(s, 3, out, sizeof(out)) == 2)
				ok++;
		}
		cr_assert_eq(ok, 16);
	}
}

Test(base64url, decode_rejects_too_small_output)
{
	uint8_t	out[8];

	memset(out, 0x5a, sizeof(out));
	cr_assert_eq(base64url_decode("Zm9vYmFy", 8, out, 5), -1);
	cr_assert_eq(base64url_decode("Zm9vYmE", 7, out, 4), -1);
	cr_assert_eq(base64url_decode("Zm9vYg", 6, out, 3), -1);
	cr_assert_eq(base64url_decode("Zg", 2, out, 0), -1);
	cr_assert_eq(out[0], 0x5a, "wrote into a too-small buffer");
	cr_assert_eq(base64url_decode("Zm9vYmFy", 8, out, 6), 6);
}

/* ---------------------------------------------------------- parse_u64 */

Test(parse_u64, accepts_whole_decimal_strings)
{
	uint64_t	v;

	v = 99;
	cr_assert_eq(parse_u64("0", 1, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(parse_u64("18446744073709551615", 20, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(parse_u64("18446744073709551614", 20, &v), 0);
	cr_assert_eq(v, UINT64_MAX - 1);
	cr_assert_eq(parse_u64("4294967296", 10, &v), 0);
	cr_assert_eq(v, (uint64_t)1 << 32);
	cr_assert_eq(parse_u64("007", 3, &v), 0);
	cr_assert_eq(v, 7);
	/* Only len bytes count, so a prefix of a longer buffer parses. */
	cr_assert_eq(parse_u64("12345", 3, &v), 0);
	cr_assert_eq(v, 123);
	cr_assert_eq(parse_u64("12a", 2, &v), 0);
	cr_assert_eq(v, 12);
}

Test(parse_u64, rejects_junk_and_overflow)
{
	static const char *bad[] = {
		"18446744073709551616",		/* UINT64_MAX + 1 */
		"18446744073709551625",
		"99999999999999999999",
		"100000000000000000000",	/* 21 digits */
		"000000000000000000001",	/* 21 digits, small value */
		"",
		"12a",
		"a12",
		"-1",
		"+1",
		" 1",
		"1 ",
		"0x10",
		"1.0",
		"1e3",
	};
	uint64_t	v;
	size_t		i;

	for (i = 0; i < FF_NELEM(bad); i++) {
		v = 4242;
		cr_assert_eq(parse_u64(bad[i], strlen(bad[i]), &v), -1,
		    "\"%s\" accepted", bad[i]);
		cr_assert_eq(v, 4242, "\"%s\" wrote *out", bad[i]);
	}
	cr_assert_eq(parse_u64("1\0" "2", 3, &v), -1);	/* embedded NUL */
}

/* ---------------------------------------------------------- read_file */

static char *
temp_with(const void *data, size_t len)
{
	char	*path;
	int	 fd;

	path = xstrdup("/tmp/test_util.XXXXXX");
	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	if (len > 0)
		cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(read_file, missing_file)
{
	size_t	len = 77;

	errno = 0;
	cr_assert_null(read_file("/nonexistent/fanfare/file", 100, &len));
	cr_assert_eq(errno, ENOENT);
	cr_assert_eq(len, 77);
}

Test(read_file, too_big)
{
	char	data[101], *path, *buf;
	size_t	len;

	memset(data, 'q', sizeof(data));
	path = temp_with(data, sizeof(data));
	errno = 0;
	cr_assert_null(read_file(path, 100, &len));
	cr_assert_eq(errno, EFBIG);
	/* Exactly max is fine. */
	buf = read_file(path, 101, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(len, 101);
	free(buf);
	unlink(path);
	free(path);
}

Test(read_file, normal_file_is_nul_terminated)
{
	static const char	 data[] = "line one\nline\0two\n";
	char			*path, *buf;
	size_t			 len = 0;

	path = temp_with(data, sizeof(data) - 1);
	buf = read_file(path, 4096, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(len, sizeof(data) - 1);
	cr_assert_eq(memcmp(buf, data, len), 0);
	cr_assert_eq(buf[len], '\0');
	free(buf);

	buf = read_file(path, 4096, NULL);	/* lenp is optional */
	cr_assert_not_null(buf);
	free(buf);
	unlink(path);
	free(path);
}

Test(read_file, empty_file_and_directory)
{
	char	*path, *buf;
	size_t	 len = 5;

	path = temp_with("", 0);
	buf = read_file(path, 10, &len);
	cr_assert_not_null(buf);
	cr_assert_eq(len, 0);
	cr_assert_eq(buf[0], '\0');
	free(buf);
	unlink(path);
	free(path);

	errno = 0;
	cr_assert_null(read_file("/tmp", 1 << 20, &len));
	cr_assert_eq(errno, EINVAL);
}
