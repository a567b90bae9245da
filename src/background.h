/*
 * background.h: what fanfared's background threads (the event pump,
 * the webhook delivery) share about how they run: a lower scheduling
 * priority than the tracking threads (background.c).
 */
#ifndef FANFARE_BACKGROUND_H
#define FANFARE_BACKGROUND_H

/* How much the background threads' nice value is raised. */
#define BACKGROUND_NICE		10

/*
 * Raises the calling thread's nice value by BACKGROUND_NICE (on Linux a
 * nice value is per thread; elsewhere nothing happens): 0, or -1 with
 * errno.  A thread can never lower it back without privileges: call
 * it only on a thread of its own, never on a worker shared with
 * requests.
 */
int	 background_lower_priority(void);

#endif
