/*
 * session.h: the rules of the marketer's logins, pure (session.c):
 * roles and what each may do, the session cookie's form, the password
 * policy, and the in-memory login throttle.  The stores are
 * store_user.c's, the HTTP side api_user.c's.
 */
#ifndef FANFARE_SESSION_H
#define FANFARE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "fanfare.h"

#define SESSION_COOKIE		"fanfare_session"
#define SESSION_TOKEN_BYTES	32	/* random: the cookie's secret */
#define SESSION_TOKEN_HEX	(2 * SESSION_TOKEN_BYTES)
#define SESSION_CSRF_HEX	32	/* 16 random bytes */
#define PASSWORD_MIN		10
#define PASSWORD_MAX		1024
#define USER_EMAIL_MAX		254

enum user_role {
	ROLE_NONE = 0,
	ROLE_VIEWER,		/* reads */
	ROLE_MARKETER,		/* all but users, keys, domains, relay */
	ROLE_OWNER		/* everything; a tenant key acts as one */
};

/* "owner", "marketer", "viewer" -> the role; ROLE_NONE otherwise. */
enum user_role	 role_parse(const char *);
const char	*role_name(enum user_role);	/* "" for ROLE_NONE */
/* May role call method on a route?  owner_only: the route manages users,
 * keys, sending domains or the relay. */
int		 role_allows(enum user_role, enum http_method, int owner_only);

/* The tenant and token of a Cookie header's fanfare_session=T.HEX:
 * 0, or -1 when there is none of that form.  token holds
 * SESSION_TOKEN_HEX + 1 bytes. */
int	 session_cookie_parse(const char *header, uint64_t *tenant,
	    char *token);
/* 1 when a password's length fits the policy (bytes). */
int	 password_length_ok(size_t);

/*
 * The login throttle: failures per account and per client in memory
 * (never in Redis: a client's address is not stored), in a table of a
 * fixed number of slots keyed by a keyed hash of the name.  Thread-safe
 * (the API workers share it).  When the table is full the least recent
 * slot is reused, so a flood of names can only forget, never grow it.
 */
struct throttle;
struct throttle *throttle_new(size_t slots, int limit, uint64_t window_ms);
void	 throttle_free(struct throttle *);
/* 1 when name had limit failures within the window before now. */
int	 throttle_blocked(struct throttle *, const char *name, uint64_t now_ms);
void	 throttle_fail(struct throttle *, const char *name, uint64_t now_ms);
void	 throttle_clear(struct throttle *, const char *name);

#endif /* FANFARE_SESSION_H */
