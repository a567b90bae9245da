/*
 * test_spool.c: the event spool on a real file system: round trips,
 * rewind, reopen, rotation and unlinking, torn and corrupted records, the
 * size cap, spool_list, segment ids, and a kill -9 in the middle of
 * appends.  Each test works in its own mkdtemp directory.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fanfare.h"


#define REC	sizeof(struct ff_event)

static char	tmpdir[64];

static void
setup(void)
{
	log_init("test_spool", 0);
	strcpy(tmpdir, "/tmp/test_spool.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rmtree(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[512];
	struct stat	 st;

	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rmtree(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(path);
}

static void
teardown(void)
{
	rmtree(tmpdir);
}

TestSuite(spool, .init = setup, .fini = teardown);

static struct ff_event
mkev(uint64_t i)
{
	struct ff_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ms = 1700000000000ULL + i;
	ev.tenant = 7;
	ev.campaign = 1000 + i / 10;
	ev.contact = i;
	ev.link = (uint32_t)(i * 3);
	ev.kind = (uint8_t)(i % 3 + 1);
	ev.flags = (uint8_t)(i % 4);
	ev.country[0] = 'F';
	ev.country[1] = 'R';
	ev.check = 0xdeadbeef;	/* overwritten by spool_append */
	ev.pad = 0xffffffff;
	return ev;
}

static void
assert_ev(const struct ff_event *ev, uint64_t i)
{
	struct ff_event	want = mkev(i);

	cr_assert_eq(ev->contact, i, "record %llu: contact %llu",
	    (unsigned long long)i, (unsigned long long)ev->contact);
	cr_assert_eq(ev->ts_ms, want.ts_ms);
	cr_assert_eq(ev->tenant, want.tenant);
	cr_assert_eq(ev->campaign, want.campaign);
	cr_assert_eq(ev->link, want.link);
	cr_assert_eq(ev->kind, want.kind);
	cr_assert_eq(ev->flags, want.flags);
	cr_assert_eq(memcmp(ev->country, "FR", 2), 0);
	cr_assert_eq(ev->pad, 0);
	cr_assert_eq(ev->check, spool_record_check(ev));
}

/* Appends records first..first+n-1 as one batch. */
static void
append_range(struct spool *sp, uint64_t first, size_t n)
{
	struct ff_event	evs[64];
	size_t		i;

	cr_assert_leq(n, FF_NELEM(evs));
	for (i = 0; i < n; i++)
		evs[i] = mkev(first + i);
	cr_assert_eq(spool_append(sp, evs, n), 0, "append: %s",
	    strerror(errno));
	for (i = 0; i < n; i++) {
		cr_assert_eq(evs[i].pad, 0);
		cr_assert_eq(evs[i].check, spool_record_check(&evs[i]));
	}
}

static struct spool *
open_spool(const char *name, uint64_t max)
{
	struct spool	*sp;
	char		 err[256] = "";

	sp = spool_open(tmpdir, name, max, err, sizeof(err));
	cr_assert_not_null(sp, "spool_open: %s", err);
	return sp;
}

static int
count_segments(const char *name)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 nl = strlen(name);
	int		 n = 0;

	cr_assert_not_null(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, name, nl) == 0 &&
		    de->d_name[nl] == '.' &&
		    strlen(de->d_name) == nl + 23)
			n++;
	closedir(d);
	return n;
}

/* Path of the newest (highest id) segment of name. */
static void
newest_segment(const char *name, char *out, size_t len)
{
	DIR		*d;
	struct dirent	*de;
	char		 best[256] = "";
	size_t		 nl = strlen(name);

	cr_assert_not_null(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, name, nl) == 0 &&
		    de->d_name[nl] == '.' && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	closedir(d);
	cr_assert_neq(best[0], '\0', "no segment of %s", name);
	snprintf(out, len, "%s/%s", tmpdir, best);
}

static off_t
file_size(const char *path)
{
	struct stat	st;

	cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_size;
}

/* Reads everything left, checking that the records are first, first+1...
 * and that every batch stays in one segment. */
static size_t
read_expect(struct spool *sp, uint64_t first, size_t max)
{
	struct ff_event	buf[64];
	uint64_t	seg, off, lastseg = 0, lastoff = 0;
	ssize_t		n, i;
	size_t		total = 0;

	cr_assert_leq(max, FF_NELEM(buf));
	while ((n = spool_read(sp, buf, max, &seg, &off)) > 0) {
		cr_assert_leq((size_t)n, max);
		for (i = 0; i < n; i++)
			assert_ev(&buf[i], first + total + (size_t)i);
		/* Positions only grow, and a batch ends on a record
		 * boundary at least n records into its segment. */
		cr_assert(seg > lastseg || (seg == lastseg && off > lastoff));
		cr_assert_eq(off % REC, 0);
		cr_assert_geq(off, (uint64_t)n * REC);
		lastseg = seg;
		lastoff = off;
		total += (size_t)n;
	}
	cr_assert_eq(n, 0, "spool_read: %s", strerror(errno));
	return total;
}

Test(spool, record_check)
{
	struct ff_event	ev, zero;
	uint8_t		*p = (uint8_t *)&ev;
	uint32_t	 c;
	size_t		 i;
	int		 bit;

	cr_assert_eq(sizeof(struct ff_event), 48);
	memset(&zero, 0, sizeof(zero));
	cr_assert_neq(spool_record_check(&zero), 0,
	    "a zero-filled record must fail its check");

	ev = mkev(42);
	c = spool_record_check(&ev);
	cr_assert_eq(spool_record_check(&ev), c, "deterministic");
	/* Every single-bit flip in the covered bytes changes the check. */
	for (i = 0; i < offsetof(struct ff_event, check); i++)
		for (bit = 0; bit < 8; bit++) {
			p[i] ^= (uint8_t)(1 << bit);
			cr_assert_neq(spool_record_check(&ev), c,
			    "byte %zu bit %d", i, bit);
			p[i] ^= (uint8_t)(1 << bit);
		}
	/* check and pad are not covered. */
	ev.check ^= 0x1234;
	ev.pad = 99;
	cr_assert_eq(spool_record_check(&ev), c);
}

Test(spool, round_trip)
{
	struct spool	*sp;
	struct ff_event	 buf[16];
	uint64_t	 seg, off, seg0;
	ssize_t		 n;
	int		 i;

	sp = open_spool("node-t0", 1 << 20);
	cr_assert_str_eq(spool_name(sp), "node-t0");
	cr_assert_eq(spool_bytes(sp), 0);
	cr_assert_eq(spool_read(sp, buf, 16, &seg, &off), 0, "empty spool");
	cr_assert_eq(spool_ack(sp, seg, off), 0, "ack of the empty position");

	append_range(sp, 0, 5);
	append_range(sp, 5, 3);
	cr_assert_eq(count_segments("node-t0"), 1);
	cr_assert_eq(spool_bytes(sp), 8 * REC);
	cr_assert_eq(spool_unacked_bytes(sp), 8 * REC);

	/* Small reads: 3, 3, 2, then the end. */
	n = spool_read(sp, buf, 3, &seg0, &off);
	cr_assert_eq(n, 3);
	cr_assert_eq(off, 3 * REC);
	cr_assert_neq(seg0, 0);
	for (i = 0; i < 3; i++)
		assert_ev(&buf[i], (uint64_t)i);
	cr_assert_eq(spool_ack(sp, seg0, off), 0);
	cr_assert_eq(spool_unacked_bytes(sp), 5 * REC);
	cr_assert_eq(spool_bytes(sp), 8 * REC, "the active segment stays");

	n = spool_read(sp, buf, 3, &seg, &off);
	cr_assert_eq(n, 3);
	cr_assert_eq(seg, seg0);
	cr_assert_eq(off, 6 * REC);
	for (i = 0; i < 3; i++)
		assert_ev(&buf[i], (uint64_t)i + 3);
	n = spool_read(sp, buf, 3, &seg, &off);
	cr_assert_eq(n, 2);
	cr_assert_eq(off, 8 * REC);
	assert_ev(&buf[0], 6);
	assert_ev(&buf[1], 7);
	cr_assert_eq(spool_read(sp, buf, 3, &seg, &off), 0);
	cr_assert_eq(seg, seg0);
	cr_assert_eq(off, 8 * REC);
	cr_assert_eq(spool_read(sp, buf, 0, &seg, &off), 0, "max 0");

	/* Wholly acked: the segment goes, shipped events leave no trace
	 * on disk. */
	cr_assert_eq(spool_ack(sp, seg, off), 0);
	cr_assert_eq(spool_unacked_bytes(sp), 0);
	cr_assert_eq(spool_bytes(sp), 0);
	cr_assert_eq(count_segments("node-t0"), 0);
	cr_assert_eq(spool_read(sp, buf, 16, &seg, &off), 0);

	/* Appending after the end: a new segment, whose whole-batch read
	 * picks it up. */
	append_range(sp, 8, 4);
	n = spool_read(sp, buf, 16, &seg, &off);
	cr_assert_eq(n, 4);
	cr_assert_gt(seg, seg0);
	cr_assert_eq(off, 4 * REC);
	for (i = 0; i < 4; i++)
		assert_ev(&buf[i], (uint64_t)i + 8);
	cr_assert_eq(spool_append(sp, buf, 0), 0, "an empty batch is a no-op");
	cr_assert_eq(spool_bytes(sp), 4 * REC);
	spool_close(sp);
	spool_close(NULL);
}

Test(spool, rewind)
{
	struct spool	*sp;
	struct ff_event	 buf[16];
	uint64_t	 seg, off, aseg, aoff;
	ssize_t		 n;

	sp = open_spool("rw", 1 << 20);
	append_range(sp, 0, 10);

	cr_assert_eq(spool_read(sp, buf, 2, &aseg, &aoff), 2);
	cr_assert_eq(spool_ack(sp, aseg, aoff), 0);
	cr_assert_eq(spool_read(sp, buf, 5, &seg, &off), 5);
	assert_ev(&buf[0], 2);

	/* Redis failed: the five records come back, then the rest. */
	spool_rewind(sp);
	cr_assert_eq(spool_unacked_bytes(sp), 8 * REC);
	n = spool_read(sp, buf, 5, &seg, &off);
	cr_assert_eq(n, 5);
	assert_ev(&buf[0], 2);
	assert_ev(&buf[4], 6);
	cr_assert_eq(off, 7 * REC);
	cr_assert_eq(read_expect(sp, 7, 16), 3);

	/* Rewinding twice in a row, and after everything was read. */
	spool_rewind(sp);
	spool_rewind(sp);
	cr_assert_eq(read_expect(sp, 2, 16), 8);
	spool_close(sp);
}

Test(spool, ack_rejects_bad_positions)
{
	struct spool	*sp;
	struct ff_event	 buf[16];
	uint64_t	 seg, off;

	sp = open_spool("ack", 1 << 20);
	append_range(sp, 0, 6);
	cr_assert_eq(spool_read(sp, buf, 4, &seg, &off), 4);

	errno = 0;
	cr_assert_eq(spool_ack(sp, seg, 5 * REC), -1, "not read yet");
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(spool_ack(sp, seg, 7 * REC), -1, "past the end");
	cr_assert_eq(spool_ack(sp, seg, REC + 1), -1, "not a record boundary");
	cr_assert_eq(spool_ack(sp, seg + 1, 0), -1, "unknown segment");
	cr_assert_eq(spool_ack(sp, UINT64_MAX, UINT64_MAX), -1);
	cr_assert_eq(spool_unacked_bytes(sp), 6 * REC, "nothing acked");

	cr_assert_eq(spool_ack(sp, seg, 2 * REC), 0);
	cr_assert_eq(spool_unacked_bytes(sp), 4 * REC);
	/* Repeats and stale positions are no-ops. */
	cr_assert_eq(spool_ack(sp, seg, 2 * REC), 0);
	cr_assert_eq(spool_ack(sp, seg, REC), 0);
	cr_assert_eq(spool_ack(sp, seg - 1, 12345), 0);
	cr_assert_eq(spool_ack(sp, 0, 0), 0);
	cr_assert_eq(spool_unacked_bytes(sp), 4 * REC);

	/* After a rewind, what was read before it is not "read". */
	spool_rewind(sp);
	cr_assert_eq(spool_ack(sp, seg, 4 * REC), -1);
	cr_assert_eq(spool_read(sp, buf, 16, &seg, &off), 4);
	cr_assert_eq(spool_ack(sp, seg, off), 0);
	cr_assert_eq(spool_unacked_bytes(sp), 0);
	spool_close(sp);
}

Test(spool, reopen_rereads_everything_left)
{
	struct spool	*sp;
	struct ff_event	 buf[16];
	uint64_t	 seg, off, seg1, seg2;

	sp = open_spool("re", 1 << 20);
	append_range(sp, 0, 6);
	append_range(sp, 6, 4);
	cr_assert_eq(spool_read(sp, buf, 4, &seg1, &off), 4);
	cr_assert_eq(spool_ack(sp, seg1, off), 0);
	spool_close(sp);

	/* Acked but not unlinked: all ten come back, in order. */
	sp = open_spool("re", 1 << 20);
	cr_assert_eq(spool_bytes(sp), 10 * REC);
	cr_assert_eq(spool_unacked_bytes(sp), 10 * REC);
	cr_assert_eq(read_expect(sp, 0, 3), 10);

	/* New appends go to a new, later segment, read after the old. */
	spool_rewind(sp);
	append_range(sp, 10, 5);
	cr_assert_eq(count_segments("re"), 2);
	cr_assert_eq(spool_read(sp, buf, 16, &seg, &off), 10);
	cr_assert_eq(seg, seg1);
	cr_assert_eq(off, 10 * REC);
	cr_assert_eq(spool_read(sp, buf, 16, &seg2, &off), 5);
	cr_assert_gt(seg2, seg1);
	cr_assert_eq(off, 5 * REC);
	assert_ev(&buf[0], 10);

	/* Acking past the old segment unlinks it. */
	cr_assert_eq(spool_ack(sp, seg1, 10 * REC), 0);
	cr_assert_eq(count_segments("re"), 1);
	cr_assert_eq(spool_bytes(sp), 5 * REC);
	cr_assert_eq(spool_unacked_bytes(sp), 5 * REC);
	spool_close(sp);

	sp = open_spool("re", 1 << 20);
	cr_assert_eq(read_expect(sp, 10, 16), 5);
	spool_close(sp);
}

Test(spool, rotation_and_unlink)
{
	struct spool	*sp;
	struct ff_event	 buf[64];
	uint64_t	 segs[32], offs[32], seg, off;
	ssize_t		 n;
	int		 i, nread = 0;

	sp = open_spool("rot", 1 << 20);
	/* Two batches of two records fill a segment of three records. */
	spool_set_segment_bytes(sp, 3 * REC);
	for (i = 0; i < 20; i++)
		append_range(sp, (uint64_t)i * 2, 2);
	cr_assert_eq(count_segments("rot"), 10);
	cr_assert_eq(spool_bytes(sp), 40 * REC);

	/* One read never crosses a segment: four records each. */
	while ((n = spool_read(sp, buf, 64, &seg, &off)) > 0) {
		cr_assert_lt(nread, 32);
		cr_assert_eq(n, 4, "read %d returned %zd", nread, n);
		cr_assert_eq(off, 4 * REC);
		if (nread > 0)
			cr_assert_gt(seg, segs[nread - 1]);
		for (i = 0; i < 4; i++)
			assert_ev(&buf[i], (uint64_t)nread * 4 + (uint64_t)i);
		segs[nread] = seg;
		offs[nread] = off;
		nread++;
	}
	cr_assert_eq(n, 0);
	cr_assert_eq(nread, 10);

	/* Acking the end of a segment unlinks it and all before it. */
	cr_assert_eq(spool_ack(sp, segs[2], offs[2]), 0);
	cr_assert_eq(count_segments("rot"), 7);
	cr_assert_eq(spool_bytes(sp), 28 * REC);
	cr_assert_eq(spool_unacked_bytes(sp), 28 * REC);
	/* Part of a segment: it stays. */
	cr_assert_eq(spool_ack(sp, segs[3], 2 * REC), 0);
	cr_assert_eq(count_segments("rot"), 7);
	cr_assert_eq(spool_unacked_bytes(sp), 26 * REC);
	/* Acking into a later segment acks the earlier ones wholly. */
	cr_assert_eq(spool_ack(sp, segs[6], REC), 0);
	cr_assert_eq(count_segments("rot"), 4);
	cr_assert_eq(spool_unacked_bytes(sp), 15 * REC);
	/* The active segment too, once wholly acked: a shipped event does
	 * not stay on disk (erasure)... */
	cr_assert_eq(spool_ack(sp, segs[9], offs[9]), 0);
	cr_assert_eq(count_segments("rot"), 0);
	cr_assert_eq(spool_bytes(sp), 0);
	cr_assert_eq(spool_unacked_bytes(sp), 0);
	/* ...and the next append starts a new one. */
	append_range(sp, 40, 2);
	cr_assert_eq(count_segments("rot"), 1);
	cr_assert_eq(spool_bytes(sp), 2 * REC);
	cr_assert_eq(spool_read(sp, buf, 64, &seg, &off), 2);
	cr_assert_gt(seg, segs[9]);
	assert_ev(&buf[0], 40);

	/* The rewind after unlinking lands on what is left. */
	spool_rewind(sp);
	cr_assert_eq(read_expect(sp, 40, 64), 2);
	spool_close(sp);
}

Test(spool, rotation_survives_reopen)
{
	struct spool	*sp;
	struct ff_event	 buf[8];
	uint64_t	 seg, off;
	int		 i;

	sp = open_spool("rr", 1 << 20);
	spool_set_segment_bytes(sp, 5 * REC);
	for (i = 0; i < 30; i++)
		append_range(sp, (uint64_t)i * 3, 3);
	/* Ack the first 12 records, one small read at a time. */
	for (i = 0; i < 4; i++) {
		cr_assert_eq(spool_read(sp, buf, 3, &seg, &off), 3);
		cr_assert_eq(spool_ack(sp, seg, off), 0);
	}
	spool_close(sp);
	cr_assert_eq(count_segments("rr"), 13);

	/* Unlinked segments are gone, the rest comes back in order. */
	sp = open_spool("rr", 1 << 20);
	cr_assert_eq(spool_bytes(sp), 78 * REC);
	cr_assert_eq(read_expect(sp, 12, 5), 78);
	spool_close(sp);
}

Test(spool, torn_tail)
{
	struct spool	*sp;
	char		 path[512];
	uint64_t	 seg, off;
	struct ff_event	 buf[8];

	sp = open_spool("torn", 1 << 20);
	append_range(sp, 0, 1);
	append_range(sp, 1, 2);
	spool_close(sp);

	newest_segment("torn", path, sizeof(path));
	cr_assert_eq(file_size(path), 3 * REC);
	cr_assert_eq(truncate(path, 3 * REC - 10), 0);

	sp = open_spool("torn", 1 << 20);
	cr_assert_eq(file_size(path), 2 * REC, "cut to whole records");
	cr_assert_eq(spool_bytes(sp), 2 * REC);
	cr_assert_eq(read_expect(sp, 0, 8), 2);
	spool_close(sp);

	/* A tail shorter than one record leaves an empty file: it goes. */
	cr_assert_eq(truncate(path, 20), 0);
	sp = open_spool("torn", 1 << 20);
	cr_assert_eq(count_segments("torn"), 0);
	cr_assert_eq(spool_bytes(sp), 0);
	cr_assert_eq(spool_read(sp, buf, 8, &seg, &off), 0);
	cr_assert_eq(spool_ack(sp, seg, off), 0);
	spool_close(sp);
}

Test(spool, corrupted_records_skipped)
{
	struct spool	*sp;
	struct ff_event	 buf[8], zero;
	char		 path[512];
	uint64_t	 seg, off;
	uint8_t		 b;
	int		 fd;

	sp = open_spool("bad", 1 << 20);
	append_range(sp, 0, 6);
	spool_close(sp);
	newest_segment("bad", path, sizeof(path));

	/* Flip a byte of record 2, zero all of record 4. */
	cr_assert_neq(fd = open(path, O_RDWR), -1);
	cr_assert_eq(pread(fd, &b, 1, 2 * REC + 17), 1);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, 2 * REC + 17), 1);
	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(pwrite(fd, &zero, REC, 4 * REC), (ssize_t)REC);
	close(fd);

	/* A read never spans a bad record: what it returns is contiguous,
	 * so (seg, off) minus the count gives every record's position. */
	sp = open_spool("bad", 1 << 20);
	cr_assert_eq(spool_read(sp, buf, 8, &seg, &off), 2);
	cr_assert_eq(off, 2 * REC);
	assert_ev(&buf[0], 0);
	assert_ev(&buf[1], 1);
	cr_assert_eq(spool_read(sp, buf, 8, &seg, &off), 1);
	cr_assert_eq(off, 4 * REC);
	assert_ev(&buf[0], 3);
	cr_assert_eq(spool_read(sp, buf, 8, &seg, &off), 1);
	cr_assert_eq(off, 6 * REC);
	assert_ev(&buf[0], 5);
	cr_assert_eq(spool_read(sp, buf, 8, &seg, &off), 0);

	/* Reading one at a time: a bad record is passed over, not
	 * returned as the end. */
	spool_rewind(sp);
	cr_assert_eq(spool_read(sp, buf, 1, &seg, &off), 1);
	cr_assert_eq(spool_read(sp, buf, 1, &seg, &off), 1);
	assert_ev(&buf[0], 1);
	cr_assert_eq(spool_read(sp, buf, 1, &seg, &off), 1);
	assert_ev(&buf[0], 3);
	cr_assert_eq(off, 4 * REC);
	cr_assert_eq(spool_read(sp, buf, 1, &seg, &off), 1);
	assert_ev(&buf[0], 5);
	cr_assert_eq(off, 6 * REC);
	cr_assert_eq(spool_read(sp, buf, 1, &seg, &off), 0);
	spool_close(sp);
}

Test(spool, corrupted_tail_only)
{
	struct spool	*sp;
	struct ff_event	 buf[8], zero;
	char		 path[512];
	uint64_t	 seg, off;
	int		 fd;

	/* All that is left to read is bad: the read says "end", and the
	 * position passes it so that an ack covers it. */
	sp = open_spool("badtail", 1 << 20);
	append_range(sp, 0, 3);
	spool_close(sp);
	newest_segment("badtail", path, sizeof(path));
	memset(&zero, 0, sizeof(zero));
	cr_assert_neq(fd = open(path, O_WRONLY), -1);
	cr_assert_eq(pwrite(fd, &zero, REC, REC), (ssize_t)REC);
	cr_assert_eq(pwrite(fd, &zero, REC, 2 * REC), (ssize_t)REC);
	close(fd);

	sp = open_spool("badtail", 1 << 20);
	cr_assert_eq(spool_read(sp, buf, 1, &seg, &off), 1);
	assert_ev(&buf[0], 0);
	cr_assert_eq(spool_read(sp, buf, 1, &seg, &off), 0);
	cr_assert_eq(off, 3 * REC);
	cr_assert_eq(spool_ack(sp, seg, off), 0);
	cr_assert_eq(spool_unacked_bytes(sp), 0);
	spool_close(sp);
}

Test(spool, enospc_at_cap)
{
	struct spool	*sp;
	struct ff_event	 evs[4];
	char		 path[512];
	uint64_t	 seg, off;
	int		 i;

	/* max 10 records: the 10th would reach the cap. */
	sp = open_spool("cap", 10 * REC);
	for (i = 0; i < 8; i++)
		append_range(sp, (uint64_t)i, 1);

	evs[0] = mkev(8);
	evs[1] = mkev(9);
	errno = 0;
	cr_assert_eq(spool_append(sp, evs, 2), -1, "8 + 2 reaches the cap");
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(spool_bytes(sp), 8 * REC);
	newest_segment("cap", path, sizeof(path));
	cr_assert_eq(file_size(path), 8 * REC, "nothing written");

	append_range(sp, 8, 1);
	evs[0] = mkev(9);
	errno = 0;
	cr_assert_eq(spool_append(sp, evs, 1), -1);
	cr_assert_eq(errno, ENOSPC);
	errno = 0;
	cr_assert_eq(spool_append(sp, evs, SIZE_MAX), -1, "absurd n");
	cr_assert_eq(errno, ENOSPC);
	cr_assert_eq(file_size(path), 9 * REC);
	cr_assert_eq(read_expect(sp, 0, 4), 9);

	/* Unacked data still counts... */
	errno = 0;
	cr_assert_eq(spool_append(sp, evs, 1), -1);
	cr_assert_eq(errno, ENOSPC);
	/* ...but a wholly acked active segment is rotated away. */
	spool_rewind(sp);
	while (spool_read(sp, evs, 4, &seg, &off) > 0)
		cr_assert_eq(spool_ack(sp, seg, off), 0);
	append_range(sp, 9, 3);
	cr_assert_eq(spool_bytes(sp), 3 * REC);
	cr_assert_eq(count_segments("cap"), 1);
	cr_assert_eq(read_expect(sp, 9, 4), 3);
	spool_close(sp);

	/* A cap of zero or below one record takes nothing. */
	sp = open_spool("cap0", 0);
	evs[0] = mkev(0);
	cr_assert_eq(spool_append(sp, evs, 1), -1);
	cr_assert_eq(errno, ENOSPC);
	spool_close(sp);
	sp = open_spool("cap1", REC);
	cr_assert_eq(spool_append(sp, evs, 1), -1);
	cr_assert_eq(errno, ENOSPC);
	spool_close(sp);
	cr_assert_eq(count_segments("cap0"), 0);
	cr_assert_eq(count_segments("cap1"), 0);
}

static void
touch(const char *name)
{
	char	path[512];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
}

Test(spool, list)
{
	struct spool	*a, *b;
	char		*names[8], sub[256];
	int		 n, i;

	a = open_spool("host.example.com-t1", 1 << 20);
	b = open_spool("a-t0", 1 << 20);
	spool_set_segment_bytes(b, REC);
	append_range(a, 0, 2);
	append_range(b, 0, 1);
	append_range(b, 1, 1);	/* a second segment, same name */
	cr_assert_eq(count_segments("a-t0"), 2);
	/* Files that are not segments. */
	touch("README");
	touch("x.spool");
	touch(".0000000000000001.spool");
	touch("y.000000000000000G.spool");
	touch("y.00000000000000AB.spool");
	touch("y.00000000000001.spool");
	touch("y.0000000000000001.spool~");
	touch("y-0000000000000001.spool");

	n = spool_list(tmpdir, names, 8);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "a-t0");
	cr_assert_str_eq(names[1], "host.example.com-t1");
	for (i = 0; i < n; i++)
		free(names[i]);

	cr_assert_eq(spool_list(tmpdir, names, 1), 1, "at most max");
	free(names[0]);
	cr_assert_eq(spool_list(tmpdir, names, 0), 0);

	snprintf(sub, sizeof(sub), "%s/missing", tmpdir);
	cr_assert_eq(spool_list(sub, names, 8), 0, "no dir, no spools");
	snprintf(sub, sizeof(sub), "%s/README", tmpdir);
	cr_assert_eq(spool_list(sub, names, 8), -1, "not a directory");
	cr_assert_eq(errno, ENOTDIR);

	spool_close(a);
	spool_close(b);
	/* Junk files of a similar name do not disturb a spool. */
	a = open_spool("y", 1 << 20);
	cr_assert_eq(spool_bytes(a), 0);
	spool_close(a);
}

Test(spool, ids_grow)
{
	struct spool	*sp;
	struct ff_event	 buf[4], ev;
	char		 path[512];
	uint64_t	 seg, off, seg1, seg2;
	int		 fd;

	sp = open_spool("ids", 1 << 20);
	append_range(sp, 0, 1);
	cr_assert_eq(spool_read(sp, buf, 4, &seg1, &off), 1);
	spool_close(sp);
	sp = open_spool("ids", 1 << 20);
	append_range(sp, 1, 1);
	cr_assert_eq(spool_read(sp, buf, 4, &seg, &off), 1);
	cr_assert_eq(seg, seg1);
	cr_assert_eq(spool_read(sp, buf, 4, &seg2, &off), 1);
	cr_assert_gt(seg2, seg1);
	/* Ids are microseconds, or at least not far from them. */
	cr_assert_gt(seg1, (uint64_t)1600000000 * 1000000);
	spool_close(sp);

	/* A segment from the future (the clock went back since): new ids
	 * still follow it. */
	ev = mkev(7);
	ev.pad = 0;
	ev.check = spool_record_check(&ev);
	snprintf(path, sizeof(path), "%s/fut.ffff000000000000.spool", tmpdir);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	cr_assert_eq(write(fd, &ev, REC), (ssize_t)REC);
	close(fd);
	sp = open_spool("fut", 1 << 20);
	append_range(sp, 8, 1);
	cr_assert_eq(spool_read(sp, buf, 4, &seg, &off), 1);
	cr_assert_eq(seg, 0xffff000000000000ULL);
	assert_ev(&buf[0], 7);
	cr_assert_eq(spool_read(sp, buf, 4, &seg, &off), 1);
	cr_assert_eq(seg, 0xffff000000000001ULL);
	assert_ev(&buf[0], 8);
	spool_close(sp);

	/* The last possible id: no new segment, but no wrap either. */
	snprintf(path, sizeof(path), "%s/end.ffffffffffffffff.spool", tmpdir);
	cr_assert_neq(fd = open(path, O_WRONLY | O_CREAT, 0600), -1);
	cr_assert_eq(write(fd, &ev, REC), (ssize_t)REC);
	close(fd);
	sp = open_spool("end", 1 << 20);
	ev = mkev(9);
	cr_assert_eq(spool_append(sp, &ev, 1), -1);
	cr_assert_eq(errno, EOVERFLOW);
	cr_assert_eq(read_expect(sp, 7, 4), 1);
	spool_close(sp);
}

Test(spool, open_errors)
{
	struct spool	*sp;
	char		 err[256], dir[256], longname[300];
	struct stat	 st;

	err[0] = '\0';
	cr_assert_null(spool_open(tmpdir, "a/b", 1 << 20, err, sizeof(err)));
	cr_assert_neq(err[0], '\0');
	cr_assert_null(spool_open(tmpdir, "", 1 << 20, err, sizeof(err)));
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_null(spool_open(tmpdir, longname, 1 << 20, err,
	    sizeof(err)));

	/* A file where the directory should be. */
	touch("file");
	snprintf(dir, sizeof(dir), "%s/file", tmpdir);
	err[0] = '\0';
	cr_assert_null(spool_open(dir, "x", 1 << 20, err, sizeof(err)));
	cr_assert(strncmp(err, dir, strlen(dir)) == 0, "err: %s", err);
	cr_assert(strstr(err, "Not a directory") != NULL, "err: %s", err);
	snprintf(dir, sizeof(dir), "%s/file/sub", tmpdir);
	cr_assert_null(spool_open(dir, "x", 1 << 20, err, sizeof(err)));
	cr_assert(strstr(err, "Not a directory") != NULL, "err: %s", err);
	/* A tiny err buffer is still NUL-terminated; none at all is fine. */
	cr_assert_null(spool_open(dir, "x", 1 << 20, err, 4));
	cr_assert_eq(strlen(err), 3);
	cr_assert_null(spool_open(dir, "x", 1 << 20, NULL, 0));

	/* mkdir -p, mode 0700. */
	snprintf(dir, sizeof(dir), "%s/a/b//c/", tmpdir);
	sp = spool_open(dir, "x", 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	snprintf(dir, sizeof(dir), "%s/a/b/c", tmpdir);
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0700);
	spool_close(sp);

	/* A directory named like a segment is not one. */
	snprintf(dir, sizeof(dir), "%s/d.0000000000000001.spool", tmpdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_null(spool_open(tmpdir, "d", 1 << 20, err, sizeof(err)));
	cr_assert(strstr(err, "not a regular file") != NULL, "err: %s", err);
}

Test(spool, segment_file_mode)
{
	struct spool	*sp;
	char		 path[512];
	struct stat	 st;

	sp = open_spool("mode", 1 << 20);
	append_range(sp, 0, 1);
	newest_segment("mode", path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	spool_close(sp);
}

Test(spool, short_write_is_undone)
{
	struct spool	*sp;
	struct ff_event	 evs[4];
	struct rlimit	 rl;
	char		 path[512];

	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	sp = open_spool("short", 1 << 20);
	append_range(sp, 0, 4);
	newest_segment("short", path, sizeof(path));

	/* The file may grow to 5 records and 10 bytes: a batch of two
	 * gets a short write, which must leave no trace. */
	signal(SIGXFSZ, SIG_IGN);
	/* Only the soft limit: raising it back needs no privilege. */
	rl.rlim_cur = 5 * REC + 10;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	evs[0] = mkev(4);
	evs[1] = mkev(5);
	errno = 0;
	cr_assert_eq(spool_append(sp, evs, 2), -1);
	cr_assert_eq(errno, EIO);
	cr_assert_eq(file_size(path), 4 * REC);
	cr_assert_eq(spool_bytes(sp), 4 * REC);

	/* One record still fits, right after the last whole batch. */
	rl.rlim_cur = 5 * REC;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	append_range(sp, 4, 1);
	cr_assert_eq(file_size(path), 5 * REC);
	/* At the limit: EFBIG, nothing written. */
	evs[0] = mkev(5);
	cr_assert_eq(spool_append(sp, evs, 1), -1);
	cr_assert_eq(errno, EFBIG);
	cr_assert_eq(file_size(path), 5 * REC);

	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	append_range(sp, 5, 2);
	cr_assert_eq(read_expect(sp, 0, 64), 7);
	spool_close(sp);

	sp = open_spool("short", 1 << 20);
	cr_assert_eq(read_expect(sp, 0, 3), 7);
	spool_close(sp);
}

Test(spool, segment_cut_behind_its_back)
{
	struct spool	*sp;
	struct ff_event	 buf[8];
	char		 path[512];
	uint64_t	 seg, off;

	sp = open_spool("cut", 1 << 20);
	append_range(sp, 0, 4);
	newest_segment("cut", path, sizeof(path));
	cr_assert_eq(truncate(path, 2 * REC), 0);
	errno = 0;
	cr_assert_eq(spool_read(sp, buf, 8, &seg, &off), -1);
	cr_assert_eq(errno, EIO);
	spool_close(sp);
}

/*
 * The child appends batches and reports the running count through a pipe
 * after each append returned; the parent kills it at a random point.  The
 * reopened spool must give back every reported record, in order, and at
 * most the batches in flight beyond them.
 */
static void
crash_child(int wfd, const char *dir, uint64_t seed)
{
	struct spool	*sp;
	struct ff_event	 evs[64];
	uint32_t	 count = 0;
	size_t		 i, n;
	char		 err[256];

	srandom((unsigned)seed);
	if ((sp = spool_open(dir, "crash", 1ULL << 30, err,
	    sizeof(err))) == NULL)
		_exit(2);
	spool_set_segment_bytes(sp, 64 * REC);
	for (;;) {
		n = (size_t)random() % 64 + 1;
		for (i = 0; i < n; i++)
			evs[i] = mkev(count + i);
		if (spool_append(sp, evs, n) == -1)
			_exit(3);
		count += (uint32_t)n;
		if (write(wfd, &count, sizeof(count)) != sizeof(count))
			_exit(4);
	}
}

Test(spool, crash_kill9)
{
	struct spool	*sp;
	struct ff_event	 buf[64];
	uint64_t	 seed, seg, off;
	uint32_t	 count, reported = 0, target;
	ssize_t		 n, i;
	size_t		 total = 0;
	pid_t		 pid;
	int		 p[2], status, round;

	seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	srandom((unsigned)seed);
	for (round = 0; round < 3; round++) {
		cr_assert_eq(pipe(p), 0);
		target = (uint32_t)(random() % 20000) + 1;
		if ((pid = fork()) == 0) {
			close(p[0]);
			crash_child(p[1], tmpdir, seed + (uint64_t)round);
		}
		cr_assert_neq(pid, -1);
		close(p[1]);
		while (reported < target &&
		    read(p[0], &count, sizeof(count)) == sizeof(count))
			reported = count;
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		    "seed %llu: child exited %d", (unsigned long long)seed,
		    WEXITSTATUS(status));
		/* Reports sent before the kill still count. */
		while (read(p[0], &count, sizeof(count)) == sizeof(count))
			reported = count;
		close(p[0]);

		sp = open_spool("crash", 1ULL << 30);
		total = 0;
		while ((n = spool_read(sp, buf, 64, &seg, &off)) > 0) {
			for (i = 0; i < n; i++) {
				cr_assert_eq(buf[i].contact, total,
				    "seed %llu round %d", (unsigned long long)seed,
				    round);
				assert_ev(&buf[i], total);
				total++;
			}
		}
		cr_assert_eq(n, 0);
		cr_assert_geq(total, reported, "seed %llu round %d: %zu of %u "
		    "records back", (unsigned long long)seed, round, total,
		    reported);
		/* At most the one batch whose report was not sent. */
		cr_assert_leq(total, (size_t)reported + 64);

		/* Acked, it all goes: the next round starts from nothing. */
		cr_assert_eq(spool_ack(sp, seg, off), 0);
		cr_assert_eq(spool_bytes(sp), 0);
		cr_assert_eq(count_segments("crash"), 0);
		spool_close(sp);
		reported = 0;
	}
}
