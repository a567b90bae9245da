/*
 * spool.c: one thread's append-only journal of tracked events, so that a
 * hit can be answered as soon as it is in Redis or here, and survives a
 * kill -9 of the server.
 *
 * A spool is segment files "NAME.%016llx.spool" in one directory, each a
 * run of 48-byte struct ff_event records.  Segment ids only grow (one more
 * than both the highest id ever seen and the clock in microseconds), so a
 * position (segment, offset) names one batch across restarts and clock
 * jumps, and the Redis side drops batches it already applied.  For the same
 * reason a reopened spool never appends to an old segment: some of its
 * bytes may already be applied, and a position must never name two
 * different batches.
 *
 * Crash safety rests on three things.  A batch is one write(2), and a short
 * write is cut back with ftruncate.  Readers are bounded by the sizes this
 * process recorded after whole writes returned, never by the file size, so
 * they see a batch entirely or not at all.  On open, a torn tail is cut to
 * whole records, and every record's checksum is verified when it is read.
 * Nothing is fsync'ed: kill -9 leaves the page cache to the kernel; a power
 * loss is not covered.
 *
 * Never locked: the thread that owns a spool makes every call on it.  No
 * allocation per append or read: only creating a segment may grow the
 * segment table.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fanfare.h"

#define SPOOL_SEGMENT_BYTES	(4ULL * 1024 * 1024)
#define SPOOL_SUFFIX		".spool"
/* ".%016llx.spool" after the name */
#define SPOOL_ID_DIGITS		16
#define SPOOL_NAME_EXTRA	(1 + SPOOL_ID_DIGITS + sizeof(SPOOL_SUFFIX) - 1)
/* XOR'ed into every check, so that a zero-filled record (what a crash can
 * leave after a file's size grew) never passes. */
#define SPOOL_CHECK_MAGIC	0x53504f4cU	/* "SPOL" */
#define SPOOL_REC		sizeof(struct ff_event)

_Static_assert(sizeof(struct ff_event) == 48, "spool record is 48 bytes");
_Static_assert(offsetof(struct ff_event, check) == 40,
    "check covers 40 bytes without padding");

struct spool_segment {
	uint64_t	id;
	uint64_t	size;		/* whole batches written, in bytes */
};

/*
 * Positions are (segment id, byte offset) and compare in that order.
 * While segs is not empty, aseg and rseg are ids in it, the acked position
 * is at or before the read cursor, and segs[0] is the acked segment (the
 * ones before it are wholly acked, hence unlinked).  With no segment they
 * are all zero.
 */
struct spool {
	char			*dir;
	char			*name;
	uint64_t		 max_bytes;
	uint64_t		 segment_bytes;
	struct spool_segment	*segs;		/* oldest first */
	size_t			 nsegs;
	size_t			 segs_cap;
	uint64_t		 total;		/* sum of segs[].size */
	uint64_t		 last_id;	/* highest id seen or made */
	int			 wfd;		/* appends; -1 before the first */
	uint64_t		 wseg;		/* its segment, the newest; or 0 */
	int			 wbroken;	/* wfd's tail is unknown: rotate */
	int			 rfd;		/* preads of rfd_seg, or -1 */
	uint64_t		 rfd_seg;
	uint64_t		 rseg, roff;	/* read cursor */
	uint64_t		 aseg, aoff;	/* acked up to here */
	uint64_t		 warned_seg;	/* bad records logged for it */
};

static int
pos_cmp(uint64_t seg1, uint64_t off1, uint64_t seg2, uint64_t off2)
{
	if (seg1 != seg2)
		return seg1 < seg2 ? -1 : 1;
	if (off1 != off2)
		return off1 < off2 ? -1 : 1;
	return 0;
}

/* FNV-1a: any change to a single byte changes the hash, since every step
 * after it is a bijection of the state. */
uint32_t
spool_record_check(const struct ff_event *ev)
{
	const uint8_t	*p = (const uint8_t *)ev;
	uint32_t	 h = 2166136261U;
	size_t		 i;

	for (i = 0; i < offsetof(struct ff_event, check); i++) {
		h ^= p[i];
		h *= 16777619U;
	}
	return h ^ SPOOL_CHECK_MAGIC;
}

/* Splits "NAME.<16 lowercase hex>.spool"; -1 for any other file name. */
static int
spool_parse_filename(const char *fname, size_t *namelen, uint64_t *id)
{
	size_t		 len = strlen(fname), i;
	const char	*hex;
	uint64_t	 v = 0;

	if (len < SPOOL_NAME_EXTRA + 1)
		return -1;
	if (strcmp(fname + len - (sizeof(SPOOL_SUFFIX) - 1), SPOOL_SUFFIX) != 0)
		return -1;
	hex = fname + len - SPOOL_NAME_EXTRA + 1;
	if (hex[-1] != '.')
		return -1;
	for (i = 0; i < SPOOL_ID_DIGITS; i++) {
		char c = hex[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*namelen = len - SPOOL_NAME_EXTRA;
	*id = v;
	return 0;
}

static int
spool_path(const struct spool *sp, uint64_t id, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len, "%s/%s.%016llx%s", sp->dir, sp->name,
	    (unsigned long long)id, SPOOL_SUFFIX);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int
spool_mkdirs(const char *dir)
{
	char		 path[PATH_MAX];
	char		*p, c;
	size_t		 len = strlen(dir);
	struct stat	 st;

	if (len == 0) {
		errno = ENOENT;
		return -1;
	}
	if (len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return -1;
		if (c == '\0')
			break;
		*p = c;
	}
	if (stat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static void
spool_segs_push(struct spool *sp, uint64_t id, uint64_t size)
{
	if (sp->nsegs == sp->segs_cap) {
		sp->segs_cap = sp->segs_cap == 0 ? 8 : sp->segs_cap * 2;
		sp->segs = xreallocarray(sp->segs, sp->segs_cap,
		    sizeof(*sp->segs));
	}
	sp->segs[sp->nsegs].id = id;
	sp->segs[sp->nsegs].size = size;
	sp->nsegs++;
}

static void
spool_segs_remove(struct spool *sp, size_t i)
{
	sp->total -= sp->segs[i].size;
	memmove(&sp->segs[i], &sp->segs[i + 1],
	    (sp->nsegs - i - 1) * sizeof(*sp->segs));
	sp->nsegs--;
}

/* Index of segment id, or -1. */
static ssize_t
spool_find(const struct spool *sp, uint64_t id)
{
	size_t	lo = 0, hi = sp->nsegs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (sp->segs[mid].id == id)
			return (ssize_t)mid;
		if (sp->segs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int
spool_seg_cmp(const void *a, const void *b)
{
	const struct spool_segment *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Unlinks the oldest segments while they are wholly acked, and moves the
 * cursors that pointed at their end to the start of the next one.  The
 * one appends go to goes too once everything written to it is acked
 * (the next append starts a new segment): a shipped event stays on disk
 * no longer than it takes Redis to confirm it, so an erasure is not
 * undone by old spool files, and what is on disk is only what Redis
 * does not have yet.  At a steady rate the shipper seldom catches up
 * with the appends, so this costs an open(2) and an unlink(2) per chunk
 * only when the traffic is light.
 */
static void
spool_gc(struct spool *sp)
{
	char		path[PATH_MAX];
	uint64_t	id, next;

	while (sp->nsegs > 0) {
		id = sp->segs[0].id;
		if (id == sp->aseg && sp->aoff < sp->segs[0].size)
			break;
		if (id == sp->wseg) {
			/* Wholly acked: an empty one stays (nothing to
			 * remove, and no segment per idle tick). */
			if (sp->segs[0].size == 0 || sp->aseg != id)
				break;
			if (sp->wfd != -1)
				close(sp->wfd);
			sp->wfd = -1;
			sp->wseg = 0;
			sp->wbroken = 0;
		}
		if (spool_path(sp, id, path, sizeof(path)) == 0 &&
		    unlink(path) == -1 && errno != ENOENT)
			/* Forgotten anyway: a later open re-reads it, and
			 * the Redis side drops what it already has. */
			log_warn("%s: unlink", path);
		if (sp->rfd_seg == id && sp->rfd != -1) {
			close(sp->rfd);
			sp->rfd = -1;
			sp->rfd_seg = 0;
		}
		spool_segs_remove(sp, 0);
		next = sp->nsegs > 0 ? sp->segs[0].id : 0;
		if (sp->aseg == id || sp->nsegs == 0) {
			sp->aseg = next;
			sp->aoff = 0;
		}
		if (sp->rseg == id || sp->nsegs == 0) {
			sp->rseg = next;
			sp->roff = 0;
		}
	}
}

/* Starts the segment appends go to from now on. */
static int
spool_segment_new(struct spool *sp)
{
	char		path[PATH_MAX];
	uint64_t	id, now = clock_units(CLOCK_REALTIME, 1000000);
	int		fd;

	id = sp->last_id > now ? sp->last_id : now;
	if (id == UINT64_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	id++;
	if (spool_path(sp, id, path, sizeof(path)) == -1)
		return -1;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	spool_segs_push(sp, id, 0);
	if (sp->wfd != -1)
		close(sp->wfd);
	sp->wfd = fd;
	sp->wseg = id;
	sp->wbroken = 0;
	sp->last_id = id;
	if (sp->nsegs == 1) {
		sp->aseg = sp->rseg = id;
		sp->aoff = sp->roff = 0;
	}
	spool_gc(sp);
	return 0;
}

/* Lists, sorts and repairs the segments a previous run left. */
static int
spool_scan(struct spool *sp, char *err, size_t errlen)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	size_t		 namelen = strlen(sp->name), nl, i;
	uint64_t	 id, whole;

	if ((d = opendir(sp->dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", sp->dir, strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (spool_parse_filename(de->d_name, &nl, &id) == -1 ||
		    nl != namelen || memcmp(de->d_name, sp->name, nl) != 0)
			continue;
		spool_segs_push(sp, id, 0);
		if (id > sp->last_id)
			sp->last_id = id;
	}
	if (errno != 0) {
		snprintf(err, errlen, "%s: %s", sp->dir, strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	if (sp->nsegs > 1)
		qsort(sp->segs, sp->nsegs, sizeof(*sp->segs), spool_seg_cmp);

	for (i = 0; i < sp->nsegs;) {
		/* The path fits: spool_open checked the longest one. */
		spool_path(sp, sp->segs[i].id, path, sizeof(path));
		if (stat(path, &st) == -1) {
			if (errno == ENOENT) {	/* gone since readdir */
				spool_segs_remove(sp, i);
				continue;
			}
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			return -1;
		}
		whole = (uint64_t)st.st_size / SPOOL_REC * SPOOL_REC;
		if (whole != (uint64_t)st.st_size) {
			/* A batch cut short by a crash: its append never
			 * returned, so no one was told it was stored. */
			log_warnx("%s: cutting a torn tail of %llu bytes", path,
			    (unsigned long long)((uint64_t)st.st_size - whole));
			if (truncate(path, (off_t)whole) == -1) {
				snprintf(err, errlen, "%s: %s", path,
				    strerror(errno));
				return -1;
			}
		}
		if (whole == 0) {
			if (unlink(path) == -1 && errno != ENOENT) {
				snprintf(err, errlen, "%s: %s", path,
				    strerror(errno));
				return -1;
			}
			spool_segs_remove(sp, i);
			continue;
		}
		sp->segs[i].size = whole;
		sp->total += whole;
		i++;
	}
	if (sp->nsegs > 0) {
		sp->aseg = sp->rseg = sp->segs[0].id;
		sp->aoff = sp->roff = 0;
	}
	return 0;
}

struct spool *
spool_open(const char *dir, const char *name, uint64_t max_bytes,
    char *err, size_t errlen)
{
	struct spool	*sp;
	char		 path[PATH_MAX], dummy[1];

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strlen(name) + SPOOL_NAME_EXTRA > NAME_MAX) {
		snprintf(err, errlen, "%s: bad spool name \"%s\"", dir, name);
		errno = EINVAL;
		return NULL;
	}
	if (spool_mkdirs(dir) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}

	sp = xcalloc(1, sizeof(*sp));
	sp->dir = xstrdup(dir);
	sp->name = xstrdup(name);
	sp->max_bytes = max_bytes;
	sp->segment_bytes = SPOOL_SEGMENT_BYTES;
	sp->wfd = -1;
	sp->rfd = -1;
	/* Every later path is no longer than this one. */
	if (spool_path(sp, UINT64_MAX, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (spool_scan(sp, err, errlen) == -1)
		goto fail;
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->wfd != -1)
		close(sp->wfd);
	if (sp->rfd != -1)
		close(sp->rfd);
	free(sp->segs);
	free(sp->dir);
	free(sp->name);
	free(sp);
}

const char *
spool_name(const struct spool *sp)
{
	return sp->name;
}

void
spool_set_segment_bytes(struct spool *sp, uint64_t bytes)
{
	sp->segment_bytes = bytes;
}

static int
spool_full(const struct spool *sp, size_t len)
{
	return len >= sp->max_bytes || sp->total >= sp->max_bytes - len;
}

/* Drops a batch that was written in part.  Should the cut fail, the file
 * holds bytes the sizes do not count, so appends move to a new segment. */
static void
spool_cut(struct spool *sp, uint64_t size)
{
	int	r;

	do {
		r = ftruncate(sp->wfd, (off_t)size);
	} while (r == -1 && errno == EINTR);
	if (r == -1) {
		log_warn("%s: spool segment %016llx: ftruncate", sp->name,
		    (unsigned long long)sp->wseg);
		sp->wbroken = 1;
	}
}

int
spool_append(struct spool *sp, struct ff_event *ev, size_t n)
{
	struct spool_segment	*active;
	size_t			 len, i;
	ssize_t			 w;
	uint64_t		 before;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / SPOOL_REC) {
		errno = ENOSPC;
		return -1;
	}
	len = n * SPOOL_REC;

	/* An active segment wholly acked holds nothing that needs it: when
	 * it is all that stands in the way (max_bytes below the segment
	 * size), rotating it away makes room. */
	if (spool_full(sp, len) && sp->wfd != -1 && sp->aseg == sp->wseg &&
	    sp->aoff == sp->segs[sp->nsegs - 1].size && sp->aoff > 0) {
		if (spool_segment_new(sp) == -1)
			return -1;
	}
	if (spool_full(sp, len)) {
		errno = ENOSPC;
		return -1;
	}
	if (sp->wfd == -1 || sp->wbroken ||
	    sp->segs[sp->nsegs - 1].size >= sp->segment_bytes) {
		if (spool_segment_new(sp) == -1)
			return -1;
	}
	active = &sp->segs[sp->nsegs - 1];

	for (i = 0; i < n; i++) {
		ev[i].pad = 0;
		ev[i].check = spool_record_check(&ev[i]);
	}
	before = active->size;
	do {
		w = write(sp->wfd, ev, len);
	} while (w == -1 && errno == EINTR);
	if (w == -1)
		return -1;
	if ((size_t)w != len) {
		log_warnx("%s: short spool write (%zd of %zu bytes), batch "
		    "dropped", sp->name, w, len);
		spool_cut(sp, before);
		errno = EIO;
		return -1;
	}
	active->size += len;
	sp->total += len;
	return 0;
}

/* Reads len bytes at off, or fails: a segment shorter than this process
 * wrote was cut by someone else. */
static int
spool_pread_all(struct spool *sp, void *buf, size_t len, uint64_t off)
{
	uint8_t	*p = buf;
	ssize_t	 r;

	while (len > 0) {
		r = pread(sp->rfd, p, len, (off_t)off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			log_warn("%s: spool segment %016llx: read", sp->name,
			    (unsigned long long)sp->rfd_seg);
			return -1;
		}
		if (r == 0) {
			log_warnx("%s: spool segment %016llx is shorter than "
			    "written", sp->name,
			    (unsigned long long)sp->rfd_seg);
			errno = EIO;
			return -1;
		}
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

ssize_t
spool_read(struct spool *sp, struct ff_event *buf, size_t max,
    uint64_t *segp, uint64_t *offp)
{
	char			 path[PATH_MAX];
	struct spool_segment	*s;
	ssize_t			 i;
	uint64_t		 want;
	size_t			 got, bad;

	for (;;) {
		*segp = sp->rseg;
		*offp = sp->roff;
		if (max == 0 || sp->nsegs == 0)
			return 0;
		if ((i = spool_find(sp, sp->rseg)) == -1) {
			errno = EINVAL;		/* broken invariant */
			return -1;
		}
		s = &sp->segs[i];
		if (sp->roff >= s->size) {
			if ((size_t)i + 1 == sp->nsegs)
				return 0;
			sp->rseg = sp->segs[i + 1].id;
			sp->roff = 0;
			continue;
		}

		if (sp->rfd_seg != sp->rseg || sp->rfd == -1) {
			if (sp->rfd != -1)
				close(sp->rfd);
			sp->rfd_seg = 0;
			if (spool_path(sp, sp->rseg, path, sizeof(path)) == -1 ||
			    (sp->rfd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
				log_warn("%s: spool segment %016llx: open",
				    sp->name, (unsigned long long)sp->rseg);
				return -1;
			}
			sp->rfd_seg = sp->rseg;
		}
		want = (s->size - sp->roff) / SPOOL_REC;
		if (want > max)
			want = max;
		if (spool_pread_all(sp, buf, (size_t)want * SPOOL_REC,
		    sp->roff) == -1)
			return -1;

		/*
		 * The records returned are always contiguous in the segment:
		 * the caller derives each one's position from (seg, off).  So
		 * bad records at the cursor are stepped over, and a read stops
		 * just before the next bad one.
		 */
		for (bad = 0; bad < want && buf[bad].check !=
		    spool_record_check(&buf[bad]); bad++)
			;
		if (bad > 0) {
			sp->roff += bad * SPOOL_REC;
			if (sp->warned_seg != sp->rseg) {
				log_warnx("%s: spool segment %016llx: skipping "
				    "records that fail their check", sp->name,
				    (unsigned long long)sp->rseg);
				sp->warned_seg = sp->rseg;
			}
			continue;
		}
		for (got = 0; got < want && buf[got].check ==
		    spool_record_check(&buf[got]); got++)
			;
		sp->roff += got * SPOOL_REC;
		*segp = sp->rseg;
		*offp = sp->roff;
		return (ssize_t)got;
	}
}

/*
 * Acks behind the acked position (repeats, or segments already unlinked)
 * are no-ops.  Anything else must be a record boundary that spool_read
 * has returned since the last rewind: acking what was never read would
 * lose it.
 */
int
spool_ack(struct spool *sp, uint64_t seg, uint64_t off)
{
	ssize_t	i;

	if (sp->nsegs == 0) {
		if (seg <= sp->last_id)
			return 0;
		errno = EINVAL;
		return -1;
	}
	if (seg < sp->segs[0].id || pos_cmp(seg, off, sp->aseg, sp->aoff) <= 0)
		return 0;
	if ((i = spool_find(sp, seg)) == -1 || off > sp->segs[i].size ||
	    off % SPOOL_REC != 0 || pos_cmp(seg, off, sp->rseg, sp->roff) > 0) {
		errno = EINVAL;
		return -1;
	}
	sp->aseg = seg;
	sp->aoff = off;
	spool_gc(sp);
	return 0;
}

void
spool_rewind(struct spool *sp)
{
	sp->rseg = sp->aseg;
	sp->roff = sp->aoff;
}

uint64_t
spool_bytes(const struct spool *sp)
{
	return sp->total;
}

uint64_t
spool_unacked_bytes(const struct spool *sp)
{
	/* segs[0] is the acked segment: the ones before it are unlinked. */
	return sp->total - sp->aoff;
}

static int
spool_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A missing dir holds no spools: 0, not -1. */
int
spool_list(const char *dir, char **names, int max)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 nl;
	uint64_t	 id;
	int		 n = 0, i, saved;

	if (max <= 0)
		return 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (spool_parse_filename(de->d_name, &nl, &id) == -1)
			continue;
		for (i = 0; i < n; i++)
			if (strlen(names[i]) == nl &&
			    memcmp(names[i], de->d_name, nl) == 0)
				break;
		if (i < n)
			continue;
		names[n] = xmalloc(nl + 1);
		memcpy(names[n], de->d_name, nl);
		names[n][nl] = '\0';
		if (++n == max)
			break;
	}
	if (de == NULL && errno != 0) {
		saved = errno;
		while (n > 0)
			free(names[--n]);
		closedir(d);
		errno = saved;
		return -1;
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), spool_name_cmp);
	return n;
}
