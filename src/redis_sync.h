/*
 * redis_sync.h: the synchronous Redis connection, to one Redis or to a
 * Redis Cluster.  Used by the API thread, each sender thread, the
 * janitor and fanfarectl; never on a tracking worker (see
 * redis_async.h).  Storage only: nothing here knows the API.
 */
#ifndef FANFARE_REDIS_SYNC_H
#define FANFARE_REDIS_SYNC_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "fanfare.h"

struct db;

struct db	*db_open(const struct ff_endpoint *);
void		 db_close(struct db *);
int		 db_is_cluster(const struct db *);
/* Connect and command timeouts (default 5 s), for a caller that must
 * answer in time. */
void		 db_set_timeout(struct db *, int ms);
/* The longest wait before a failed node is tried again (default 1 s). */
void		 db_set_backoff(struct db *, int max_ms);
/* Once Redis has left a command unanswered for ms (0: no limit, the
 * default), every further command fails at once without being tried,
 * until db_begin (each unit of work calls it first). */
void		 db_set_stall_limit(struct db *, int ms);
void		 db_begin(struct db *);

/* One command, routed by its key; the reply is the caller's to free
 * (freeReplyObject takes NULL in hiredis 0.14: no check before it).
 * NULL when Redis could not be reached or did not answer in time. */
redisReply	*db_cmd(struct db *, const char *, ...);
redisReply	*db_cmdargv(struct db *, int, const char **, const size_t *);
/* One command answered by an integer: 0 with it in *n, -1 when Redis
 * failed or answered anything else. */
int		 db_cmd_int(struct db *, long long *n, const char *, ...);

/*
 * A pipeline: append commands, then read their replies in order with
 * db_reply (NULL for a command whose node failed).  db_flush sends what
 * is appended without waiting.  db_discard drops the replies still due.
 * An append that fails (-1) drops the whole pipeline.
 */
int		 db_append(struct db *, const char *, ...);
int		 db_appendargv(struct db *, int, const char **, const size_t *);
int		 db_flush(struct db *);
redisReply	*db_reply(struct db *);
/* The next n replies into r: 0 when every one came as an array, else
 * -1.  Either way the caller frees them with db_replies_free. */
int		 db_reply_arrays(struct db *, redisReply **r, size_t n);
void		 db_replies_free(redisReply **r, size_t n);
void		 db_discard(struct db *);

/* Reads the hash at key with HGETALL and calls fn with each field and
 * value that are both strings: 1 when the hash has fields, 0 when there
 * is no such hash, -1 when Redis failed or answered with no array. */
typedef void	 db_hash_fn(void *arg, const char *f, size_t flen,
		    const char *v, size_t vlen);
int		 db_hash_each(struct db *, const char *key, db_hash_fn *,
		    void *arg);

/* UNLINKs every key matching a SCAN pattern, on every master; the count
 * or -1 when Redis failed. */
long long	 db_unlink_prefix(struct db *, const char *match);

/* Typed reading of replies: -1 when the reply is missing or not of the
 * type (an error reply included), so no caller parses by hand. */
int		 reply_int(const redisReply *, long long *);
int		 reply_u64(const redisReply *, uint64_t *);	/* an id */
int		 reply_ok(const redisReply *);	/* +OK or an integer */
const char	*reply_str(const redisReply *, size_t *);  /* NULL: nil */
int		 reply_is_error(const redisReply *, const char *prefix);

/* Steps through the field-value pairs of an HGETALL reply, *i from 0:
 * 1 with the next pair whose field and value are both strings (flen
 * may be NULL), 0 at the end or when the reply is missing or no array. */
int		 reply_hash_next(const redisReply *, size_t *i,
		    const char **f, size_t *flen, const char **v, size_t *vlen);

/* These take the reply and free it (NULL allowed).  reply_done: 0 when
 * it is +OK or an integer (Redis did it), else -1.  reply_take_ids: the
 * members of an array reply that are ids, in *ids for the caller to
 * free; -1 (*ids NULL) when the reply is missing or no array. */
int		 reply_done(redisReply *);
int		 reply_take_ids(redisReply *, uint64_t **ids, size_t *n);

#endif
