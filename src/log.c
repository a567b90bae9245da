/*
 * log.c: leveled logging to stderr.  log_warn appends strerror(errno);
 * the x variants do not.  fatal and fatalx are for start-up and
 * impossible states only: they exit.
 *
 * Under systemd, stderr is the journal (JOURNAL_STREAM names it): then a
 * line starts with its sd-daemon(3) priority ("<4>") instead of a time,
 * which the journal records itself, so `journalctl -p warning` works.
 * No syslog(3) output: the journal forwards to syslog where one is
 * wanted, and a second path would only be a second way to lose lines.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fanfare.h"

static const char	*log_progname = "fanfare";
static int		 log_verbose;	/* atomic: a reload sets it */
static int		 log_journal;	/* stderr is the journal */

/* JOURNAL_STREAM is "DEV:INODE" of the journal's stream; it counts only
 * while stderr is that stream (not once redirected elsewhere). */
static int
log_stderr_is_journal(void)
{
	struct stat		 st;
	unsigned long long	 dev, ino;
	const char		*s = getenv("JOURNAL_STREAM");

	if (s == NULL || sscanf(s, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, int verbose)
{
	log_progname = progname;
	log_journal = log_stderr_is_journal();
	__atomic_store_n(&log_verbose, verbose, __ATOMIC_RELAXED);
}

/* A reload's log_level; the other threads read it as they log. */
void
log_set_verbose(int verbose)
{
	__atomic_store_n(&log_verbose, verbose, __ATOMIC_RELAXED);
}

static int
log_priority(const char *level)
{
	switch (level[0]) {
	case 'f': return 2;	/* fatal: LOG_CRIT */
	case 'w': return 4;	/* LOG_WARNING */
	case 'i': return 6;	/* LOG_INFO */
	default: return 7;	/* LOG_DEBUG */
	}
}

static void
log_vwrite(const char *level, const char *fmt, va_list ap, const char *err)
{
	char		 msg[1024];
	struct timespec	 ts;
	struct tm	 tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		fprintf(stderr, "<%d>%s %s: %s%s%s\n", log_priority(level),
		    log_progname, level, msg, err ? ": " : "", err ? err : "");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	/* One fprintf per line, so lines from threads do not interleave. */
	if (err != NULL)
		fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02dZ %s %s: %s: %s\n",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, log_progname, level, msg, err);
	else
		fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02dZ %s %s: %s\n",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, log_progname, level, msg);
}

/* log_vwrite from a variadic function's fmt and arguments: the body of
 * every level function below. */
#define LOG_WRITE(level, err) do {			\
	va_list	ap;					\
							\
	va_start(ap, fmt);				\
	log_vwrite(level, fmt, ap, err);		\
	va_end(ap);					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	char		 buf[128];
	const char	*err;
	int		 saved = errno;

	/* GNU strerror_r: the result is the return value, not buf. */
	err = strerror_r(saved, buf, sizeof(buf));
	LOG_WRITE("warning", err);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_WRITE("warning", NULL);
}

void
log_warnx_every(uint64_t *last_ms, uint64_t every_ms, const char *fmt, ...)
{
	uint64_t	now = mono_ms();

	if (now - *last_ms < every_ms)
		return;
	*last_ms = now;
	LOG_WRITE("warning", NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_WRITE("info", NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!__atomic_load_n(&log_verbose, __ATOMIC_RELAXED))
		return;
	LOG_WRITE("debug", NULL);
}

void
fatal(const char *fmt, ...)
{
	char		 buf[128];
	const char	*err;

	err = strerror_r(errno, buf, sizeof(buf));
	LOG_WRITE("fatal", err);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_WRITE("fatal", NULL);
	exit(1);
}
