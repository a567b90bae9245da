/*
 * background.c: the background threads' scheduling priority
 * (background.h).  Their work (copying events, delivering webhooks)
 * may wait a little; a tracking thread's answer may not.  At nice +10
 * a thread gets about a tenth of the CPU share of one at 0 when both
 * want it, and all of it when the others are idle: when the CPU is
 * short the pixel wins it and the background catches up in the gaps.
 */
#include <sys/types.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <errno.h>
#include <unistd.h>

#include "background.h"

int
background_lower_priority(void)
{
#ifdef __linux__
	id_t	tid = (id_t)syscall(SYS_gettid);
	int	prio;

	errno = 0;
	prio = getpriority(PRIO_PROCESS, tid);
	if (prio == -1 && errno != 0)
		return -1;
	return setpriority(PRIO_PROCESS, tid, prio + BACKGROUND_NICE);
#else
	return 0;
#endif
}
