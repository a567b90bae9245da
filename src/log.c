/*
 * log.c: leveled logging to stderr (journald picks it up under systemd).
 * log_warn appends strerror(errno); the x variants do not.  fatal and
 * fatalx are for start-up and impossible states only: they exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fanfare.h"

static const char	*log_progname = "fanfare";
static int		 log_verbose;	/* atomic: a reload sets it */

void
log_init(const char *progname, int verbose)
{
	log_progname = progname;
	__atomic_store_n(&log_verbose, verbose, __ATOMIC_RELAXED);
}

static void
log_vwrite(const char *level, const char *fmt, va_list ap, const char *err)
{
	char		 msg[1024];
	struct timespec	 ts;
	struct tm	 tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
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

void
log_warn(const char *fmt, ...)
{
	char		 buf[128];
	const char	*err;
	int		 saved = errno;
	va_list		 ap;

	/* GNU strerror_r: the result is the return value, not buf. */
	err = strerror_r(saved, buf, sizeof(buf));
	va_start(ap, fmt);
	log_vwrite("warning", fmt, ap, err);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite("warning", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite("info", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!__atomic_load_n(&log_verbose, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	log_vwrite("debug", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char		 buf[128];
	const char	*err;
	va_list		 ap;

	err = strerror_r(errno, buf, sizeof(buf));
	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
