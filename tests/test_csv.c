/*
 * test_csv.c: csv.c's incremental RFC 4180 reader.  Every table input is
 * fed whole, one byte at a time, cut at every one and every two
 * positions and in random chunk sizes (empty chunks included); all ways
 * must give the same rows, the same result and the same error text.
 * Then the limits, the sticky error, buffer reuse, and a 200 MB stream
 * generated on the fly whose peak memory must stay flat.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fanfare.h"

#define DEF_ROW		1024
#define DEF_FIELDS	64

/* ------------------------------------------------------------ harness */

/* What one parse produced: the rows written as "rowno:[f1][f2]\n" with
 * bytes outside printable ASCII (and \ [ ]) as \xHH, the final result
 * and the error text. */
struct result {
	struct buf	 rows;
	int		 rc;
	char		 err[128];
	int		 bad;		/* contract breaks seen in callbacks */
	size_t		 stop_at;	/* callback returns 1 on this row */
	size_t		 next_rowno;
};

static void
escape(struct buf *b, const char *p, size_t n)
{
	unsigned char	c;
	size_t		i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c < 0x20 || c > 0x7e || c == '\\' || c == '[' || c == ']')
			buf_addf(b, "\\x%02x", c);
		else
			buf_add(b, &p[i], 1);
	}
}

static int
collect(void *arg, size_t rowno, char **fields, size_t *lens, size_t n)
{
	struct result	*r = arg;
	size_t		 i;

	if (rowno != r->next_rowno++ || n == 0)
		r->bad++;
	buf_addf(&r->rows, "%zu:", rowno);
	for (i = 0; i < n; i++) {
		if (fields[i][lens[i]] != '\0')
			r->bad++;
		buf_adds(&r->rows, "[");
		escape(&r->rows, fields[i], lens[i]);
		buf_adds(&r->rows, "]");
	}
	buf_adds(&r->rows, "\n");
	return r->stop_at != 0 && rowno == r->stop_at;
}

/* How to cut the input: the size of the next chunk. */
enum split_kind { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_AT, SPLIT_RANDOM };

struct split {
	enum split_kind	 kind;
	size_t		 at[2];		/* SPLIT_AT: cut points, ascending */
	uint64_t	 rng;		/* SPLIT_RANDOM: xorshift state */
};

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t
next_chunk(struct split *sp, size_t off, size_t left)
{
	size_t	n;
	int	i;

	switch (sp->kind) {
	case SPLIT_WHOLE:
		return left;
	case SPLIT_BYTES:
		return 1;
	case SPLIT_AT:
		for (i = 0; i < 2; i++)
			if (sp->at[i] > off && sp->at[i] < off + left)
				return sp->at[i] - off;
		return left;
	case SPLIT_RANDOM:
		/* Mostly tiny, some empty, now and then large. */
		n = rnd(&sp->rng) % 10 == 0 ? rnd(&sp->rng) % 64 :
		    rnd(&sp->rng) % 4;
		return n < left ? n : left;
	}
	return left;
}

static void
run(const char *in, size_t len, size_t max_row, size_t max_fields,
    size_t stop_at, struct split *sp, struct result *r)
{
	struct csv	*c;
	size_t		 off = 0, n, before;

	memset(r, 0, sizeof(*r));
	buf_adds(&r->rows, "");
	r->stop_at = stop_at;
	r->next_rowno = 1;
	c = csv_new(max_row, max_fields);
	if (c == NULL || csv_error(c)[0] != '\0')
		cr_assert_fail("csv_new: no parser or an error already");
	while (off < len) {
		n = next_chunk(sp, off, len - off);
		if (csv_feed(c, in + off, n, collect, r) == -1) {
			r->rc = -1;
			break;
		}
		off += n;
	}
	if (r->rc == 0)
		r->rc = csv_finish(c, collect, r);
	if (r->rc == -1) {
		snprintf(r->err, sizeof(r->err), "%s", csv_error(c));
		/* Sticky: valid data is refused too, and nothing changes. */
		before = r->rows.len;
		if (csv_feed(c, "x,y\n", 4, collect, r) != -1 ||
		    csv_finish(c, collect, r) != -1 ||
		    strcmp(csv_error(c), r->err) != 0 ||
		    r->rows.len != before)
			r->bad++;
	} else if (r->rc != 0)
		r->bad++;
	csv_free(c);
}

struct csv_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	size_t		 max_row;
	size_t		 max_fields;
	size_t		 stop_at;
	const char	*rows;		/* expected, as collect() writes */
	const char	*err;		/* NULL: success expected */
};

#define OK(n, i, r)		{ n, i, 0, DEF_ROW, DEF_FIELDS, 0, r, NULL }
#define ERR(n, i, r, e)		{ n, i, 0, DEF_ROW, DEF_FIELDS, 0, r, e }
#define LIM(n, i, mr, mf, r, e)	{ n, i, 0, mr, mf, 0, r, e }
#define STOP(n, i, s, r, e)	{ n, i, 0, DEF_ROW, DEF_FIELDS, s, r, e }

static const struct csv_case cases[] = {
	OK("empty input", "", ""),
	OK("simple", "a,b,c\n1,2,3\n", "1:[a][b][c]\n2:[1][2][3]\n"),
	OK("crlf", "a,b\r\n1,2\r\n", "1:[a][b]\n2:[1][2]\n"),
	OK("mixed endings", "a\r\nb\nc\r\n", "1:[a]\n2:[b]\n3:[c]\n"),
	OK("quoted", "\"a\",\"b c\"\n", "1:[a][b c]\n"),
	OK("quoted comma", "\"a,b\",c\n", "1:[a,b][c]\n"),
	OK("escaped quotes", "\"say \"\"hi\"\"\",x\n",
	    "1:[say \"hi\"][x]\n"),
	OK("only an escaped quote", "\"\"\"\"\n", "1:[\"]\n"),
	OK("escapes in a row", "\"\"\"\"\"\"\"\",\"a\"\"\"\n",
	    "1:[\"\"\"][a\"]\n"),
	OK("embedded lf", "\"l1\nl2\",x\n", "1:[l1\\x0al2][x]\n"),
	OK("embedded crlf", "\"l1\r\nl2\"\r\nz\r\n",
	    "1:[l1\\x0d\\x0al2]\n2:[z]\n"),
	OK("lone cr in quotes", "\"a\rb\"\n", "1:[a\\x0db]\n"),
	OK("cr at end of quotes", "\"a\r\"\r\n", "1:[a\\x0d]\n"),
	OK("empty lines in quotes", "\"\n\n\"\n", "1:[\\x0a\\x0a]\n"),
	OK("empty fields", ",,\na,,b\n", "1:[][][]\n2:[a][][b]\n"),
	OK("trailing comma", "a,b,\n", "1:[a][b][]\n"),
	OK("trailing comma crlf", "a,\r\n", "1:[a][]\n"),
	OK("single comma", ",\n", "1:[][]\n"),
	OK("empty quoted", "\"\"\n\"\",\"\"\n", "1:[]\n2:[][]\n"),
	OK("quoted then bare", "\"a\",b,\"c\"\n", "1:[a][b][c]\n"),
	OK("empty lines skipped", "\n\na\n\r\n\nb\n\n\r\n",
	    "1:[a]\n2:[b]\n"),
	OK("only empty lines", "\n\r\n\n\r\n", ""),
	OK("whitespace kept", " a , b \n\t\n", "1:[ a ][ b ]\n2:[\\x09]\n"),
	OK("bom", "\xef\xbb\xbf" "a,b\n", "1:[a][b]\n"),
	OK("bom then quote", "\xef\xbb\xbf\"a\"\n", "1:[a]\n"),
	OK("bom then empty line", "\xef\xbb\xbf\na\n", "1:[a]\n"),
	OK("bom only", "\xef\xbb\xbf", ""),
	OK("two boms", "\xef\xbb\xbf\xef\xbb\xbf\n",
	    "1:[\\xef\\xbb\\xbf]\n"),
	OK("bom prefix is data", "\xef\xbbx\n", "1:[\\xef\\xbbx]\n"),
	OK("bom prefix at end", "\xef\xbb", "1:[\\xef\\xbb]\n"),
	OK("bom prefix then comma", "\xef,\n", "1:[\\xef][]\n"),
	OK("bom later is data", "a\n\xef\xbb\xbf\n",
	    "1:[a]\n2:[\\xef\\xbb\\xbf]\n"),
	OK("no final newline", "a,b\nc,d", "1:[a][b]\n2:[c][d]\n"),
	OK("no final newline quoted", "a\n\"c,\"\"\"", "1:[a]\n2:[c,\"]\n"),
	OK("trailing comma at end", "a,", "1:[a][]\n"),
	OK("lone cr at end", "a\r", "1:[a]\n"),
	OK("quote then cr at end", "\"a\"\r", "1:[a]\n"),
	OK("utf-8", "\xc3\xa9t\xc3\xa9,\xe2\x82\xac\n",
	    "1:[\\xc3\\xa9t\\xc3\\xa9][\\xe2\\x82\\xac]\n"),
	OK("header and rows",
	    "email,name\r\na@x.org,\"Doe, J\"\r\nb@x.org,B\r\n",
	    "1:[email][name]\n2:[a@x.org][Doe, J]\n3:[b@x.org][B]\n"),

	ERR("bare quote", "a,b\"c\n", "", "row 1: bare quote in unquoted field"),
	ERR("bare quote row 2", "h\n\nab\"\n", "1:[h]\n",
	    "row 2: bare quote in unquoted field"),
	ERR("quote after space", "a, \"b\"\n", "",
	    "row 1: bare quote in unquoted field"),
	ERR("quote at field end", "ab\",c\n", "",
	    "row 1: bare quote in unquoted field"),
	ERR("junk after closing quote", "\"a\"b\n", "",
	    "row 1: unexpected character after closing quote"),
	ERR("space after closing quote", "x\n\"a\" ,b\n", "1:[x]\n",
	    "row 2: unexpected character after closing quote"),
	ERR("unterminated", "a\n\"bc", "1:[a]\n",
	    "row 2: unterminated quoted field"),
	ERR("unterminated after escape", "\"a\"\"", "",
	    "row 1: unterminated quoted field"),
	ERR("unterminated over lines", "\"a\nb\nc\n", "",
	    "row 1: unterminated quoted field"),
	ERR("lone quote", "\"", "", "row 1: unterminated quoted field"),
	ERR("cr without lf", "a\rb\n", "", "row 1: CR not followed by LF"),
	ERR("cr cr lf", "a\n\r\r\n", "1:[a]\n",
	    "row 2: CR not followed by LF"),
	ERR("cr after quote", "\"a\"\rb", "", "row 1: CR not followed by LF"),

	LIM("row at limit", "abcde\n\"abc\"\nab,cd\r\n", 5, 8,
	    "1:[abcde]\n2:[abc]\n3:[ab][cd]\n", NULL),
	LIM("row over limit", "abcdef\n", 5, 8, "",
	    "row 1: row longer than 5 bytes"),
	LIM("quoted over limit", "ab\n\"abcd\"\n", 5, 8, "1:[ab]\n",
	    "row 2: row longer than 5 bytes"),
	LIM("quotes count", "\"a\"\"b\"\n", 5, 8, "",
	    "row 1: row longer than 5 bytes"),
	LIM("commas count", ",,,,,,\n", 5, 8, "",
	    "row 1: row longer than 5 bytes"),
	LIM("commas at limit", ",,,,,\n", 5, 8, "1:[][][][][][]\n", NULL),
	LIM("newline in quotes counts", "\"a\n\nb\"\n", 5, 8, "",
	    "row 1: row longer than 5 bytes"),
	LIM("limit without newline", "abcdef", 5, 8, "",
	    "row 1: row longer than 5 bytes"),
	LIM("over limit after empty lines", "a\n\n\nb\n\nabcdefgh\n", 5, 8,
	    "1:[a]\n2:[b]\n", "row 3: row longer than 5 bytes"),
	LIM("zero row bytes", "\n\r\n\"\"\n", 0, 8, "",
	    "row 1: row longer than 0 bytes"),
	LIM("zero row bytes comma", ",", 0, 8, "",
	    "row 1: row longer than 0 bytes"),
	LIM("fields at limit", "a,b,c\n,,\n", 64, 3,
	    "1:[a][b][c]\n2:[][][]\n", NULL),
	LIM("too many fields", "a,b,c,d\n", 64, 3, "",
	    "row 1: more than 3 fields"),
	LIM("trailing comma is a field", "x\na,b,c,\n", 64, 3, "1:[x]\n",
	    "row 2: more than 3 fields"),
	LIM("too many at end", "a,b,c,", 64, 3, "",
	    "row 1: more than 3 fields"),
	LIM("one field", "a\n\"b\",\n", 64, 1, "1:[a]\n",
	    "row 2: more than 1 fields"),
	LIM("zero fields", "\n\na\n", 64, 0, "",
	    "row 1: more than 0 fields"),
	LIM("zero fields empty lines", "\n\r\n", 64, 0, "", NULL),

	STOP("stop at 2", "a\nb\nc\n", 2, "1:[a]\n2:[b]\n",
	    "row 2: stopped by caller"),
	STOP("stop at 1", "\n\"a\"\nb\n", 1, "1:[a]\n",
	    "row 1: stopped by caller"),
	STOP("stop at finish", "a\nb", 2, "1:[a]\n2:[b]\n",
	    "row 2: stopped by caller"),
	STOP("stop later", "a\nb\n", 3, "1:[a]\n2:[b]\n", NULL),
};

/* Runs one case with one split and checks it against the table.  Only
 * failures reach Criterion: the splits make tens of thousands of runs,
 * and every passing assertion would be reported to the runner. */
static void
check_case(const struct csv_case *tc, size_t len, struct split *sp,
    const char *how)
{
	struct result	r;

	run(tc->in, len, tc->max_row, tc->max_fields, tc->stop_at, sp, &r);
	if (r.bad != 0)
		cr_assert_fail("%s (%s): callback contract broken", tc->name,
		    how);
	if (strcmp(r.rows.p, tc->rows) != 0)
		cr_assert_fail("%s (%s): rows\n got: %s\nwant: %s", tc->name,
		    how, r.rows.p, tc->rows);
	if (tc->err == NULL && r.rc != 0)
		cr_assert_fail("%s (%s): failed with \"%s\"", tc->name, how,
		    r.err);
	if (tc->err != NULL && r.rc != -1)
		cr_assert_fail("%s (%s): did not fail", tc->name, how);
	if (tc->err != NULL && strcmp(r.err, tc->err) != 0)
		cr_assert_fail("%s (%s): error \"%s\", want \"%s\"",
		    tc->name, how, r.err, tc->err);
	buf_free(&r.rows);
}

static size_t
case_len(const struct csv_case *tc)
{
	return tc->len ? tc->len : strlen(tc->in);
}

Test(csv, table_whole)
{
	struct split	sp = { .kind = SPLIT_WHOLE };
	size_t		i;

	for (i = 0; i < FF_NELEM(cases); i++)
		check_case(&cases[i], case_len(&cases[i]), &sp, "whole");
}

Test(csv, table_byte_at_a_time)
{
	struct split	sp = { .kind = SPLIT_BYTES };
	size_t		i;

	for (i = 0; i < FF_NELEM(cases); i++)
		check_case(&cases[i], case_len(&cases[i]), &sp, "bytes");
}

/* Every cut in one and two places: a chunk ends between CR and LF,
 * between the quotes of an escape, inside the BOM, everywhere. */
Test(csv, table_every_split)
{
	struct split	sp = { .kind = SPLIT_AT };
	char		how[64];
	size_t		i, a, b, len;

	for (i = 0; i < FF_NELEM(cases); i++) {
		len = case_len(&cases[i]);
		for (a = 0; a <= len; a++)
			for (b = a; b <= len; b++) {
				sp.at[0] = a;
				sp.at[1] = b;
				snprintf(how, sizeof(how), "cut at %zu,%zu",
				    a, b);
				check_case(&cases[i], len, &sp, how);
			}
	}
}

Test(csv, table_random_splits)
{
	struct split	sp = { .kind = SPLIT_RANDOM };
	char		how[64];
	size_t		i, round;

	for (i = 0; i < FF_NELEM(cases); i++)
		for (round = 0; round < 200; round++) {
			sp.rng = 0x9e3779b97f4a7c15ULL ^ (i << 20) ^ round;
			snprintf(how, sizeof(how), "random round %zu", round);
			check_case(&cases[i], case_len(&cases[i]), &sp, how);
		}
}

/* NUL bytes are data; the lengths say where fields end. */
Test(csv, nul_bytes)
{
	static const char	in[] = "a\0b,\"\0\"\"\0\"\n\0\n";
	struct csv_case		tc = { "nul", in, sizeof(in) - 1, DEF_ROW,
				    DEF_FIELDS, 0,
				    "1:[a\\x00b][\\x00\"\\x00]\n2:[\\x00]\n",
				    NULL };
	struct split		sp = { .kind = SPLIT_BYTES };

	check_case(&tc, tc.len, &sp, "bytes");
	sp.kind = SPLIT_WHOLE;
	check_case(&tc, tc.len, &sp, "whole");
}

/* A field of 100000 bytes, exactly the limit, in odd chunks; one more
 * byte is refused. */
Test(csv, long_field_at_limit)
{
	struct csv_case	 tc = { "long", NULL, 0, 100002, 4, 0, NULL, NULL };
	struct split	 sp = { .kind = SPLIT_RANDOM, .rng = 42 };
	struct buf	 in = { 0 }, want = { 0 };
	size_t		 i;

	buf_adds(&in, "\"");
	for (i = 0; i < 100000; i++)
		buf_add(&in, i % 7 == 0 ? "\"\"" : "x", i % 7 == 0 ? 2 : 1);
	buf_adds(&in, "\"\r\n");
	/* 100000 content bytes, 1 + 100000/7 escapes, 2 outer quotes. */
	tc.max_row = in.len - 2;
	tc.in = in.p;
	buf_adds(&want, "1:[");
	for (i = 0; i < 100000; i++)
		buf_adds(&want, i % 7 == 0 ? "\"" : "x");
	buf_adds(&want, "]\n");
	tc.rows = want.p;
	check_case(&tc, in.len, &sp, "random");
	sp.kind = SPLIT_WHOLE;
	check_case(&tc, in.len, &sp, "whole");

	tc.max_row--;
	tc.rows = "";
	tc.err = NULL;
	{
		char	msg[64];

		snprintf(msg, sizeof(msg), "row 1: row longer than %zu bytes",
		    tc.max_row);
		tc.err = msg;
		check_case(&tc, in.len, &sp, "whole");
		sp.kind = SPLIT_RANDOM;
		check_case(&tc, in.len, &sp, "random");
	}
	buf_free(&in);
	buf_free(&want);
}

/* ------------------------------------------------- lifecycle, reuse */

static int
count_rows(void *arg, size_t rowno, char **fields, size_t *lens, size_t n)
{
	(*(size_t *)arg)++;
	return 0;
}

Test(csv, finish_twice_and_feed_after)
{
	struct csv	*c;
	size_t		 rows = 0;

	c = csv_new(DEF_ROW, DEF_FIELDS);
	cr_assert_eq(csv_feed(c, "a\nb", 3, count_rows, &rows), 0);
	cr_assert_eq(csv_feed(c, NULL, 0, count_rows, &rows), 0);
	cr_assert_eq(rows, 1);
	cr_assert_eq(csv_finish(c, count_rows, &rows), 0);
	cr_assert_eq(rows, 2);
	cr_assert_eq(csv_finish(c, count_rows, &rows), 0);
	cr_assert_eq(rows, 2);
	cr_assert_str_empty(csv_error(c));
	cr_assert_eq(csv_feed(c, "c\n", 2, count_rows, &rows), -1);
	cr_assert_str_eq(csv_error(c), "row 3: data after the end of input");
	cr_assert_eq(rows, 2);
	csv_free(c);
	csv_free(NULL);
}

struct reuse {
	char	*first;
	size_t	 moved;
	size_t	 rows;
};

static int
note_buffer(void *arg, size_t rowno, char **fields, size_t *lens, size_t n)
{
	struct reuse	*r = arg;

	if (r->first == NULL)
		r->first = fields[0];
	else if (fields[0] != r->first)
		r->moved++;
	r->rows++;
	return 0;
}

/* Once the longest row fits, rows reuse the same memory: the first
 * field of every row sits at the same address. */
Test(csv, row_buffer_reused)
{
	struct csv	*c;
	struct reuse	 r = { NULL, 0, 0 };
	char		 row[600];
	size_t		 i;

	c = csv_new(4096, 300);
	memset(row, ',', 299);
	memset(row + 299, 'x', 300);
	row[599] = '\n';
	for (i = 0; i < 1000; i++)
		cr_assert_eq(csv_feed(c, row, sizeof(row), note_buffer, &r), 0);
	cr_assert_eq(csv_finish(c, note_buffer, &r), 0);
	cr_assert_eq(r.rows, 1000);
	cr_assert_eq(r.moved, 0);
	csv_free(c);
}

/* ------------------------------------------------------ 200 MB stream */

#define STREAM_BYTES	(200ULL << 20)
#define STREAM_CHUNK	(64 << 10)

static const char stream_note[] = "a \"quoted\" note\nover two lines";

/* Rows made on demand into a 64 KiB chunk; a row may straddle chunks. */
struct gen {
	char		 row[256];
	size_t		 rowlen;
	size_t		 rowoff;
	uint64_t	 next;		/* data rows made so far */
	uint64_t	 emitted;
	int		 done;
};

static void
gen_row(struct gen *g)
{
	int	n;

	if (g->next == 0 && g->emitted == 0)
		n = snprintf(g->row, sizeof(g->row),
		    "\xef\xbb\xbfid,name,email,note,extra\r\n");
	else {
		g->next++;
		/* Every 1000th row is followed by an empty line, LF and
		 * CRLF alternate, and the last row has no line ending. */
		n = snprintf(g->row, sizeof(g->row),
		    "%llu,\"Doe, J%llu\",u%llu@example.org,"
		    "\"a \"\"quoted\"\" note\nover two lines\",%s%s",
		    (unsigned long long)g->next, (unsigned long long)g->next,
		    (unsigned long long)g->next,
		    g->next % 2 ? "\r\n" : "\n",
		    g->next % 1000 == 0 ? "\n" : "");
		if (g->emitted + (size_t)n >= STREAM_BYTES) {
			n -= g->next % 2 ? 2 : 1;
			n -= g->next % 1000 == 0 ? 1 : 0;
			g->done = 1;
		}
	}
	g->rowlen = (size_t)n;
	g->rowoff = 0;
}

static size_t
gen_fill(struct gen *g, char *out, size_t cap)
{
	size_t	n, len = 0;

	while (len < cap) {
		if (g->rowoff == g->rowlen) {
			if (g->done)
				break;
			gen_row(g);
		}
		n = g->rowlen - g->rowoff;
		if (n > cap - len)
			n = cap - len;
		memcpy(out + len, g->row + g->rowoff, n);
		g->rowoff += n;
		g->emitted += n;
		len += n;
	}
	return len;
}

struct stream_check {
	uint64_t	 rows;
	uint64_t	 bad;
};

static int
stream_row(void *arg, size_t rowno, char **fields, size_t *lens, size_t n)
{
	struct stream_check	*s = arg;
	uint64_t		 id;

	s->rows++;
	/* Failures are counted, not asserted: millions of passing
	 * assertions would each be reported to the runner. */
	if (rowno != s->rows || n != 5) {
		s->bad++;
		return 0;
	}
	if (rowno == 1) {
		if (lens[0] != 2 || strcmp(fields[0], "id") != 0 ||
		    strcmp(fields[4], "extra") != 0)
			s->bad++;
		return 0;
	}
	if (parse_u64(fields[0], lens[0], &id) == -1 || id != rowno - 1 ||
	    strncmp(fields[1], "Doe, J", 6) != 0 ||
	    lens[3] != sizeof(stream_note) - 1 ||
	    memcmp(fields[3], stream_note, lens[3]) != 0 || lens[4] != 0)
		s->bad++;
	return 0;
}

/* Peak resident memory in KiB, or the current one with "VmRSS:". */
static long
proc_status_kb(const char *key)
{
	FILE	*f;
	char	 line[256];
	long	 kb = -1;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0) {
			kb = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

Test(csv, stream_200mb_flat_memory, .timeout = 0)
{
	struct gen		 g;
	struct stream_check	 s = { 0, 0 };
	struct csv		*c;
	char			*chunk;
	size_t			 n;
	long			 before, peak;
	ssize_t			 reset = -1;
	int			 fd;

	memset(&g, 0, sizeof(g));
	chunk = xmalloc(STREAM_CHUNK);
	memset(chunk, 0, STREAM_CHUNK);
	c = csv_new(1 << 20, 64);

	/* Reset the peak so VmHWM measures this test alone (Linux 4.0+);
	 * where that is refused the current RSS bounds it anyway. */
	if ((fd = open("/proc/self/clear_refs", O_WRONLY)) != -1) {
		reset = write(fd, "5", 1);
		close(fd);
	}
	before = proc_status_kb("VmRSS:");
	cr_assert_gt(before, 0);

	while ((n = gen_fill(&g, chunk, STREAM_CHUNK)) > 0)
		cr_assert_eq(csv_feed(c, chunk, n, stream_row, &s), 0,
		    "%s", csv_error(c));
	cr_assert_eq(csv_finish(c, stream_row, &s), 0, "%s", csv_error(c));
	peak = proc_status_kb("VmHWM:");

	cr_assert_geq(g.emitted, STREAM_BYTES - sizeof(g.row));
	cr_assert_eq(s.bad, 0);
	cr_assert_eq(s.rows, g.next + 1, "rows %llu, generated %llu + header",
	    (unsigned long long)s.rows, (unsigned long long)g.next);
	cr_assert_gt(s.rows, 2000000);
	cr_assert_lt(peak - before, 20 * 1024, "peak grew by %ld KiB "
	    "(peak reset: %s)", peak - before, reset == 1 ? "yes" : "no");
	csv_free(c);
	free(chunk);
}
