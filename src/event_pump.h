/*
 * event_pump.h: the event pump (event_pump.c), which copies what the
 * trackers recorded (opens, clicks, opt-outs through the link) from
 * each campaign's {t:T:c:C}:events into the tenant's event log
 * {t:T}:events, on a thread of its own once a second.
 */
#ifndef FANFARE_EVENT_PUMP_H
#define FANFARE_EVENT_PUMP_H

#include <stdint.h>

struct config;
struct db;
struct event_pump;

struct event_pump_report {
	long long	tenants;	/* whose lease this node held */
	long long	entries;	/* record entries read */
	long long	added;		/* events added to the logs */
};

/* One run over every tenant as node: 0, or -1 when Redis failed (the
 * report says what was done before). */
int	 event_pump_run(struct db *, const char *node,
	    struct event_pump_report *);

/* fanfared: the pump's thread, running every PUMP_INTERVAL_MS as
 * conf's node (api.c starts and stops it; conf outlives it).  Start
 * dies when no thread can be made; stop joins it. */
struct event_pump *event_pump_start(const struct config *conf);
void	 event_pump_stop(struct event_pump *);

#endif
