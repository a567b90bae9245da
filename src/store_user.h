/*
 * store_user.h: the marketer's logins in Redis: users, the server-wide
 * email index, sessions, and their audit records (keys.h names the
 * keys; README.md's key table says what each holds).
 *
 * Two slots, never one script across them: the index {users}:byemail
 * and the user's record {t:T}:user:U.  Order, so a crash never leaves a
 * login to nothing: a create claims the email in the index first, then
 * writes the user; a delete removes the user first, then the index
 * entry.  The record is the truth: an index entry whose user does not
 * exist logs nobody in, and a new user of that address takes it over.
 */
#ifndef FANFARE_STORE_USER_H
#define FANFARE_STORE_USER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct db;

struct user_rec {
	uint64_t	 id;
	uint64_t	 tenant;
	char		*email;
	char		*role;
	char		*hash;		/* argon2id string */
	char		*totp;		/* base32; NULL: no second factor */
	char		*totp_pending;	/* given, not yet confirmed */
	uint64_t	 totp_step;	/* the last code's step */
	uint64_t	 created_at;
};
void	 store_user_rec_free(struct user_rec *);

/* A new user of tenant with email (lower case): 1 with *id, 0 when the
 * email belongs to a user already, -1 when Redis failed. */
int	 store_user_create(struct db *, uint64_t tenant, const char *email,
	    const char *role, const char *hash, uint64_t *id);
/* 1 with u filled, 0 when there is no such user, -1 on failure. */
int	 store_user_get(struct db *, uint64_t tenant, uint64_t id,
	    struct user_rec *u);
/* The user an email logs in as: 1, 0 (none), -1. */
int	 store_user_by_email(struct db *, const char *email,
	    struct user_rec *u);
/* The tenant's user ids, oldest first, in *ids for the caller to free. */
int	 store_user_ids(struct db *, uint64_t tenant, uint64_t **ids,
	    size_t *n);
/* 1 deleted, 0 none, -1 failed. */
int	 store_user_delete(struct db *, uint64_t tenant, uint64_t id);
/* Sets one field of an existing user (totp, totp_pending, totp_step);
 * value NULL deletes it.  0, or -1. */
int	 store_user_set(struct db *, uint64_t tenant, uint64_t id,
	    const char *field, const char *value);

/* A session: hash is the SHA-256 (hex) of the cookie's token. */
int	 store_session_create(struct db *, uint64_t tenant, const char *hash,
	    uint64_t user, const char *csrf, uint64_t expires_at_ms,
	    uint64_t idle_ms);
/* 1 with *user and csrf (SESSION_CSRF_HEX + 1 bytes), and the key's
 * idle expiry pushed on (never past expires_at); 0 when there is none
 * or it expired; -1. */
int	 store_session_touch(struct db *, uint64_t tenant, const char *hash,
	    uint64_t idle_ms, uint64_t now_ms, uint64_t *user, char *csrf);
int	 store_session_delete(struct db *, uint64_t tenant, const char *hash);

/* Appends a record to the tenant's audit stream: time, key_prefix (the
 * actor: a key prefix or "user:U"), action, user.  0, or -1. */
int	 store_user_audit(struct db *, uint64_t tenant, const char *actor,
	    const char *action, uint64_t user);

/* The last count records of the audit stream, newest first, appended to
 * items as objects: "id" (the stream's) and each field as a string;
 * with before (a stream id, or NULL), those older than it only (a page
 * after the one that ended there).  0, or -1. */
int	 store_audit_list(struct db *, uint64_t tenant, const char *before,
	    size_t count, json_t *items);

#endif /* FANFARE_STORE_USER_H */
