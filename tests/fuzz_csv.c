/*
 * fuzz_csv.c: libFuzzer target for src/csv.c.
 * make fuzz builds it with clang (fuzz/csv); make check replays
 * tests/fuzz/csv/ through it (tests/fuzz_replay.c).
 *
 * The first five input bytes pick max_fields, max_row_bytes, the row
 * whose callback stops the parse and the seed of the chunk sizes; the
 * rest is the CSV.  Besides crashes and out-of-bounds access, it aborts
 * when the contract breaks:
 * - the input fed whole, one byte at a time and in random chunk sizes
 *   (empty ones included) must give exactly the same rows, the same
 *   result and the same error text;
 * - rows are numbered 1, 2, ...; each has 1..max_fields fields, ends in
 *   NUL at lens[i], and fits the limit (data + one NUL a field <=
 *   max_row_bytes + 1);
 * - an error reads "row N: ..." with N one past the rows delivered (or
 *   the stopped row), and is sticky;
 * - rows that parsed are written back with every field quoted and read
 *   again: the same rows come out.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

struct outcome {
	struct buf	 rows;		/* per row: rowno, n, (len, bytes)... */
	size_t		 nrows;
	size_t		 max_row;
	size_t		 max_fields;
	size_t		 stop_at;
	int		 rc;
	char		 err[128];
};

static void
put_size(struct buf *b, size_t v)
{
	buf_add(b, &v, sizeof(v));
}

static size_t
get_size(const char **p)
{
	size_t	v;

	memcpy(&v, *p, sizeof(v));
	*p += sizeof(v);
	return v;
}

static int
record(void *arg, size_t rowno, char **fields, size_t *lens, size_t n)
{
	struct outcome	*o = arg;
	size_t		 i, total = 0;

	CHECK(rowno == ++o->nrows);
	CHECK(n >= 1 && n <= o->max_fields);
	put_size(&o->rows, rowno);
	put_size(&o->rows, n);
	for (i = 0; i < n; i++) {
		CHECK(fields[i] != NULL && fields[i][lens[i]] == '\0');
		total += lens[i] + 1;
		put_size(&o->rows, lens[i]);
		buf_add(&o->rows, fields[i], lens[i]);
	}
	CHECK(total <= o->max_row + 1);
	return o->stop_at != 0 && rowno == o->stop_at;
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* mode 0: whole; 1: byte at a time; 2: random chunks from seed. */
static void
parse(const uint8_t *data, size_t len, int mode, uint64_t seed,
    struct outcome *o)
{
	struct csv	*c;
	char		*copy;
	size_t		 off = 0, n, before, rowno;

	o->rows.len = 0;
	buf_adds(&o->rows, "");
	o->nrows = 0;
	o->rc = 0;
	o->err[0] = '\0';
	/* A heap copy of exactly the input, so ASan sees any over-read. */
	copy = malloc(len == 0 ? 1 : len);
	CHECK(copy != NULL);
	memcpy(copy, data, len);
	seed |= 1;

	c = csv_new(o->max_row, o->max_fields);
	while (off < len) {
		if (mode == 0)
			n = len - off;
		else if (mode == 1)
			n = 1;
		else {
			n = rnd(&seed) % 8 == 0 ? rnd(&seed) % 257 :
			    rnd(&seed) % 5;
			if (n > len - off)
				n = len - off;
		}
		/* Each chunk in its own allocation too. */
		{
			char	*chunk = malloc(n == 0 ? 1 : n);

			CHECK(chunk != NULL);
			memcpy(chunk, copy + off, n);
			o->rc = csv_feed(c, chunk, n, record, o);
			free(chunk);
		}
		if (o->rc == -1)
			break;
		CHECK(o->rc == 0);
		off += n;
	}
	if (o->rc == 0)
		o->rc = csv_finish(c, record, o);
	CHECK(o->rc == 0 || o->rc == -1);
	if (o->rc == -1) {
		snprintf(o->err, sizeof(o->err), "%s", csv_error(c));
		CHECK(sscanf(o->err, "row %zu: ", &rowno) == 1);
		if (strstr(o->err, "stopped by caller") != NULL)
			CHECK(o->stop_at != 0 && rowno == o->stop_at &&
			    o->nrows == rowno);
		else
			CHECK(rowno == o->nrows + 1);
		before = o->rows.len;
		CHECK(csv_feed(c, "a\n", 2, record, o) == -1);
		CHECK(csv_finish(c, record, o) == -1);
		CHECK(strcmp(csv_error(c), o->err) == 0);
		CHECK(o->rows.len == before);
	} else
		CHECK(csv_error(c)[0] == '\0');
	csv_free(c);
	free(copy);
}

static int
same(const struct outcome *a, const struct outcome *b)
{
	return a->rc == b->rc && a->nrows == b->nrows &&
	    a->rows.len == b->rows.len &&
	    memcmp(a->rows.p, b->rows.p, a->rows.len) == 0 &&
	    strcmp(a->err, b->err) == 0;
}

/* Writes the recorded rows back as CSV, every field quoted. */
static void
encode(const struct outcome *o, int crlf, struct buf *out)
{
	const char	*p = o->rows.p, *end = o->rows.p + o->rows.len;
	size_t		 n, i, len, j;

	while (p < end) {
		(void)get_size(&p);
		n = get_size(&p);
		for (i = 0; i < n; i++) {
			len = get_size(&p);
			buf_adds(out, i ? ",\"" : "\"");
			for (j = 0; j < len; j++)
				buf_add(out, p[j] == '"' ? "\"\"" : &p[j],
				    p[j] == '"' ? 2 : 1);
			buf_adds(out, "\"");
			p += len;
		}
		buf_adds(out, crlf ? "\r\n" : "\n");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome	 whole, bytes, chunks, again;
	struct buf	 csv = { NULL, 0, 0 };
	uint64_t	 seed;
	size_t		 max_fields, max_row, stop_at;

	if (size < 5)
		return 0;
	max_fields = data[0] & 0x80 ? 64 : data[0] & 0x0f;
	max_row = data[1] == 0xff ? (size_t)1 << 20 : (size_t)data[1] * 4;
	stop_at = data[2] & 0xf8 ? 0 : data[2];
	seed = (uint64_t)data[3] << 8 | data[4];
	data += 5;
	size -= 5;

	memset(&whole, 0, sizeof(whole));
	whole.max_row = max_row;
	whole.max_fields = max_fields;
	whole.stop_at = stop_at;
	bytes = chunks = again = whole;

	parse(data, size, 0, 0, &whole);
	parse(data, size, 1, 0, &bytes);
	CHECK(same(&whole, &bytes));
	parse(data, size, 2, seed, &chunks);
	CHECK(same(&whole, &chunks));
	parse(data, size, 2, ~seed, &chunks);
	CHECK(same(&whole, &chunks));

	/* Rows that parsed read back the same once written out quoted
	 * (with room for the quotes: each field may double). */
	if (whole.rc == 0) {
		encode(&whole, seed & 1, &csv);
		again.max_row = 2 * max_row + 2 * max_fields + 2;
		again.max_fields = max_fields;
		again.stop_at = 0;
		parse((const uint8_t *)(csv.p ? csv.p : ""), csv.len, 2, seed,
		    &again);
		CHECK(again.rc == 0 && again.nrows == whole.nrows);
		CHECK(again.rows.len == whole.rows.len &&
		    memcmp(again.rows.p, whole.rows.p, whole.rows.len) == 0);
	}

	buf_free(&whole.rows);
	buf_free(&bytes.rows);
	buf_free(&chunks.rows);
	buf_free(&again.rows);
	buf_free(&csv);
	return 0;
}
