/*
 * script.h: the registry of Fanfare's Redis Lua scripts.
 *
 * Every script is a file src/lua/NAME.lua, embedded at build time
 * (build-aux/lua2c.sh) and called by its SHA1 through this registry,
 * on the sync connection (the stores, store_*.c) and the async one
 * (store.c) alike.
 *
 * One strategy for a script Redis does not hold (NOSCRIPT: a restarted,
 * flushed or failed-over server): EVALSHA first; on NOSCRIPT the same
 * call once more as EVAL with the whole text, which runs it and caches
 * it on the node that holds the keys.  Nothing sends SCRIPT LOAD: that
 * command has no key, so on Redis Cluster it would load the script on
 * whatever node it reached, not on the one the call goes to.
 */
#ifndef FANFARE_SCRIPT_H
#define FANFARE_SCRIPT_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct db;

enum script_id {
	SCRIPT_RECORD,		/* record.lua: a tracking chunk, once */
	SCRIPT_OPTOUT,		/* optout.lua: a one-click opt-out */
	SCRIPT_SEND_CHECK,	/* send_check.lua: suppression at send time */
	SCRIPT_SEND_OUTCOME,	/* send_outcome.lua: what the relay said */
	SCRIPT_SEND_RETRY,	/* send_retry.lua: due retries queued again */
	SCRIPT_SEND_FINISH,	/* send_finish.lua: a campaign done */
	SCRIPT_LAUNCH,		/* launch.lua: a draft launched */
	SCRIPT_LAUNCH_STEP,	/* launch_step.lua: one page of a snapshot */
	SCRIPT_LAUNCH_STATE,	/* launch_state.lua: pause, resume, cancel */
	SCRIPT_ERASE,		/* erase.lua: a contact out of a campaign */
	SCRIPT_BOUNCE,		/* bounce.lua: a DSN or complaint recorded */
	SCRIPT_CONTACT_WRITE,	/* contact_write.lua: one upserted row */
	SCRIPT_SEQUENCE_ENROLL,	/* sequence_enroll.lua: contacts enrolled */
	SCRIPT_SEQUENCE_CLAIM,	/* sequence_claim.lua: due steps claimed */
	SCRIPT_SEQUENCE_ADVANCE, /* sequence_advance.lua: a step queued */
	SCRIPT_SEQUENCE_STATE,	/* sequence_state.lua: activate, pause */
	SCRIPT_EVENT_ADD,	/* event_add.lua: events into the log */
	SCRIPT_EVENT_LEASE,	/* event_lease.lua: the pump's lease */
	SCRIPT_USER_INDEX,	/* user_index.lua: the login index's CAS */
	SCRIPT_SCHEDULE,	/* schedule.lua: a draft scheduled */
	SCRIPT_AB_RELEASE,	/* ab_release.lua: an A/B winner's rest */
	SCRIPT_WEBHOOK_OUTCOME,	/* webhook_outcome.lua: an attempt's end */
	SCRIPT_COUNT
};

/* "record" for src/lua/record.lua. */
const char	*script_name(enum script_id);
/* The text, NUL-terminated; its length in *len when len is not NULL. */
const char	*script_text(enum script_id, size_t *len);
/* The SHA1 of the text, 40 lowercase hex digits; computed once, on the
 * first call of any thread. */
const char	*script_sha(enum script_id);

/*
 * argv[0] and argv[1] of a call: "EVALSHA" and the SHA1, or, when
 * full_text, "EVAL" and the text.  The caller's argv[2] is the number of
 * keys, then the keys, then the arguments.  For commands the caller
 * sends itself (store.c's async connection, pipelines).
 */
void		 script_argv(enum script_id, int full_text, const char **argv,
		    size_t *lens);
/* A NOSCRIPT error reply: send the call again with full_text. */
int		 script_is_noscript(const redisReply *);

/*
 * Runs a script on the sync connection: EVALSHA, then once as EVAL on
 * NOSCRIPT.  argv[0] and argv[1] are left free for script_argv (argc
 * counts them).  NULL when Redis failed; an error reply is the caller's
 * to judge (and free).
 */
redisReply	*script_run(struct db *, enum script_id, int argc,
		    const char **argv, size_t *lens);
/* script_run for a script that answers an integer: 0 with *n, or -1
 * (no reply, or another answer; a Redis error is logged with the
 * script's name and the tenant's id). */
int		 script_run_int(struct db *, enum script_id, uint64_t tenant,
		    int argc, const char **argv, size_t *lens, long long *n);
/* Appends the call to a pipeline (db_appendargv): EVALSHA, or EVAL
 * when full_text, which makes Redis hold the script for the EVALSHAs
 * pipelined behind it.  On a NOSCRIPT reply the caller sends the call
 * again with script_argv(.., 1, ..). */
int		 script_append(struct db *, enum script_id, int full_text,
		    int argc, const char **argv, size_t *lens);

#endif
