/*
 * store_reset.h: password resets in Redis (keys.h names the keys):
 *   {t:T}:reset:HASH     a reset link's token, by its SHA-256: user,
 *                        expires_at; expires with it
 *   {t:T}:user:U:sess    the user's sessions (store_user.c adds each)
 *
 * The token, the user and the user's sessions are all the tenant's
 * ({t:T}), so the link carries the tenant ("T.TOKEN", as the session
 * cookie) and everything here runs in one Redis Cluster slot.  Redis
 * holds only the token's hash: a dump of Redis resets nobody.  A token
 * is used once: its DEL decides, so two uses at once give one reset.
 *
 * Typed functions over the sync connection: -1 when Redis failed.
 */
#ifndef FANFARE_STORE_RESET_H
#define FANFARE_STORE_RESET_H

#include <stdint.h>

struct db;

/* A new reset of user under hash (64 hex digits), living ttl_ms: 0, -1. */
int	 store_reset_create(struct db *, uint64_t tenant, const char *hash,
	    uint64_t user, uint64_t now_ms, uint64_t ttl_ms);
/* Takes the reset of hash: 1 with *user (the token is gone), 0 when
 * there is none, it expired or another use took it first, -1. */
int	 store_reset_take(struct db *, uint64_t tenant, const char *hash,
	    uint64_t now_ms, uint64_t *user);
/* Ends every session of the user: 0 with how many in *n, or -1. */
int	 store_user_sessions_end(struct db *, uint64_t tenant, uint64_t user,
	    long long *n);

#endif
