/*
 * fuzz_spool.c: libFuzzer target for the record decoding of
 * src/spool.c: what spool_open and spool_read make of segment files a
 * crash, a full disk or a stray editor left behind.  make fuzz builds it
 * with clang (fuzz/spool); make check replays tests/fuzz/spool/.
 *
 * The first input byte says how the rest is cut into one to four
 * segment files (sizes need not be multiples of 48: torn tails) and how
 * many records each spool_read may return; the second half of the input
 * sets which of the records get a valid check, so reads see runs of good
 * and bad records.  It aborts when a result breaks the contract:
 *  - spool_read returns only records whose check holds, contiguous ones,
 *    at positions on record boundaries inside a segment, in order;
 *  - every whole record with a valid check is returned exactly once;
 *  - after spool_rewind the same records come again; after spool_ack at
 *    the end, a reopened spool has nothing left to read.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanfare.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

#define FUZZ_REC	sizeof(struct ff_event)
#define FUZZ_MAX_SEGS	4

static char	fuzz_dir[64];

static void
fuzz_rmdir(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[sizeof(fuzz_dir) + 1 + 256];

	if (fuzz_dir[0] == '\0' || (d = opendir(fuzz_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

static void
fuzz_cleanup(void)
{
	fuzz_rmdir();
	if (fuzz_dir[0] != '\0')
		rmdir(fuzz_dir);
}

static void
fuzz_init(void)
{
	if (fuzz_dir[0] != '\0')
		return;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/ff-fuzz-spool-XXXXXX");
	CHECK(mkdtemp(fuzz_dir) != NULL);
	atexit(fuzz_cleanup);
}

static void
fuzz_write(uint64_t id, const uint8_t *p, size_t n)
{
	char	path[128];
	int	fd;

	snprintf(path, sizeof(path), "%s/f.%016llx.spool", fuzz_dir,
	    (unsigned long long)id);
	CHECK((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1);
	CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	close(fd);
}

/* Reads everything; returns the count, the sum of the records' bytes. */
static size_t
fuzz_read_all(struct spool *sp, size_t batch, uint64_t *sum,
    uint64_t *lastseg, uint64_t *lastoff)
{
	struct ff_event	 buf[16];
	uint64_t	 seg, off, pseg = 0, poff = 0;
	ssize_t		 n, i;
	size_t		 total = 0, k;

	*sum = 0;
	for (;;) {
		n = spool_read(sp, buf, batch, &seg, &off);
		CHECK(n >= 0 && (size_t)n <= batch);
		CHECK(off % FUZZ_REC == 0);
		CHECK(seg > pseg || (seg == pseg && off >= poff));
		pseg = seg;
		poff = off;
		if (n == 0)
			break;
		for (i = 0; i < n; i++) {
			CHECK(buf[i].check == spool_record_check(&buf[i]));
			for (k = 0; k < FUZZ_REC; k++)
				*sum += ((const uint8_t *)&buf[i])[k] * (k + 1);
		}
		total += (size_t)n;
	}
	*lastseg = pseg;
	*lastoff = poff;
	return total;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool	*sp;
	struct ff_event	 ev;
	uint8_t		*in;
	char		 err[256];
	size_t		 nsegs, cut[FUZZ_MAX_SEGS + 1], i, j, k, body, batch;
	size_t		 want = 0, got, again, nrec;
	uint64_t	 sum, sum2, wantsum = 0, seg, off, seg2, off2;

	fuzz_init();
	if (size < 2)
		return 0;
	nsegs = 1 + (data[0] & 3);
	batch = 1 + (data[0] >> 4);
	data++;
	size--;

	/* The second half marks records valid: byte i for record i. */
	body = size - size / 4;
	in = malloc(body == 0 ? 1 : body);
	CHECK(in != NULL);
	memcpy(in, data, body);
	nrec = 0;
	for (k = 0; k < nsegs; k++)
		cut[k] = body * k / nsegs;
	cut[nsegs] = body;
	/* Fix up checks per segment, record by record. */
	for (k = 0; k < nsegs; k++) {
		for (i = cut[k]; i + FUZZ_REC <= cut[k + 1]; i += FUZZ_REC) {
			memcpy(&ev, in + i, FUZZ_REC);
			if (body + nrec < size && (data[body + nrec] & 1)) {
				ev.check = spool_record_check(&ev);
				memcpy(in + i, &ev, FUZZ_REC);
			}
			if (ev.check == spool_record_check(&ev)) {
				want++;
				for (j = 0; j < FUZZ_REC; j++)
					wantsum += ((const uint8_t *)&ev)[j] *
					    (j + 1);
			}
			nrec++;
		}
		fuzz_write(0x100 + k, in + cut[k], cut[k + 1] - cut[k]);
	}

	sp = spool_open(fuzz_dir, "f", UINT64_MAX, err, sizeof(err));
	CHECK(sp != NULL);
	got = fuzz_read_all(sp, batch, &sum, &seg, &off);
	CHECK(got == want && sum == wantsum);
	spool_rewind(sp);
	again = fuzz_read_all(sp, batch, &sum2, &seg2, &off2);
	CHECK(again == got && sum2 == sum && seg2 == seg && off2 == off);
	CHECK(spool_ack(sp, seg, off) == 0);
	spool_close(sp);

	sp = spool_open(fuzz_dir, "f", UINT64_MAX, err, sizeof(err));
	CHECK(sp != NULL);
	again = fuzz_read_all(sp, batch, &sum2, &seg2, &off2);
	spool_close(sp);
	CHECK(again == 0);

	fuzz_rmdir();
	free(in);
	return 0;
}
