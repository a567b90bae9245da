/*
 * event_pump.h: the event pump (event_pump.c), which copies what the
 * trackers recorded (opens, clicks, opt-outs through the link) from
 * each campaign's {t:T:c:C}:events into the tenant's event log
 * {t:T}:events, on fanfared's API workers once a second.
 */
#ifndef FANFARE_EVENT_PUMP_H
#define FANFARE_EVENT_PUMP_H

#include <stdint.h>

struct api;
struct db;

struct event_pump_report {
	long long	tenants;	/* whose lease this node held */
	long long	entries;	/* record entries read */
	long long	added;		/* events added to the logs */
};

/* One run over every tenant as node: 0, or -1 when Redis failed (the
 * report says what was done before). */
int	 event_pump_run(struct db *, const char *node,
	    struct event_pump_report *);

/* fanfared: the pump's timer on the API's workers (api.c starts and
 * stops it). */
void	 event_pump_start(struct api *);
void	 event_pump_stop(struct api *);

#endif
