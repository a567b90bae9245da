/*
 * session.c: the pure rules of logins (session.h): roles, the cookie's
 * form, the password policy, and the login throttle's table.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define THROTTLE_PROBE	8	/* slots looked at per name */

enum user_role
role_parse(const char *s)
{
	if (s == NULL)
		return ROLE_NONE;
	if (strcmp(s, "owner") == 0)
		return ROLE_OWNER;
	if (strcmp(s, "marketer") == 0)
		return ROLE_MARKETER;
	if (strcmp(s, "viewer") == 0)
		return ROLE_VIEWER;
	return ROLE_NONE;
}

const char *
role_name(enum user_role r)
{
	switch (r) {
	case ROLE_OWNER:
		return "owner";
	case ROLE_MARKETER:
		return "marketer";
	case ROLE_VIEWER:
		return "viewer";
	default:
		return "";
	}
}

int
role_allows(enum user_role r, enum http_method m, int owner_only)
{
	if (r == ROLE_OWNER)
		return 1;
	if (owner_only || r == ROLE_NONE)
		return 0;
	if (r == ROLE_VIEWER)
		return m == HTTP_GET || m == HTTP_HEAD;
	return 1;
}

int
session_cookie_parse(const char *h, uint64_t *tenant, char *token)
{
	static const char	name[] = SESSION_COOKIE "=";
	const char		*p, *v;
	uint64_t		 t = 0;
	size_t			 i;

	if (h == NULL)
		return -1;
	/* Cookie: a=b; c=d: the name at the start or after "; ". */
	for (p = h; (p = strstr(p, name)) != NULL; p += sizeof(name) - 1)
		if (p == h || p[-1] == ' ' || p[-1] == ';')
			break;
	if (p == NULL)
		return -1;
	v = p + sizeof(name) - 1;
	for (i = 0; v[i] >= '0' && v[i] <= '9'; i++) {
		if (i == 19)
			return -1;
		t = t * 10 + (uint64_t)(v[i] - '0');
	}
	if (i == 0 || t == 0 || v[i] != '.')
		return -1;
	v += i + 1;
	for (i = 0; i < SESSION_TOKEN_HEX; i++) {
		if (!((v[i] >= '0' && v[i] <= '9') ||
		    (v[i] >= 'a' && v[i] <= 'f')))
			return -1;
		token[i] = v[i];
	}
	if (v[i] != '\0' && v[i] != ';' && v[i] != ' ')
		return -1;
	token[i] = '\0';
	*tenant = t;
	return 0;
}

int
password_length_ok(size_t len)
{
	return len >= PASSWORD_MIN && len <= PASSWORD_MAX;
}

/* ------------------------------------------------------------ throttle */

struct throttle_slot {
	uint64_t	hash;		/* 0: free */
	uint64_t	first_ms;	/* the window's start */
	uint64_t	last_ms;	/* for reuse when full */
	int		failures;
};

struct throttle {
	pthread_mutex_t		 lock;
	struct throttle_slot	*slots;
	size_t			 nslots;
	int			 limit;
	uint64_t		 window_ms;
	unsigned char		 key[crypto_shorthash_KEYBYTES];	/* names
						 * are never kept */
};

struct throttle *
throttle_new(size_t nslots, int limit, uint64_t window_ms)
{
	struct throttle	*t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->lock, NULL);
	t->slots = xcalloc(nslots, sizeof(*t->slots));
	t->nslots = nslots;
	t->limit = limit;
	t->window_ms = window_ms;
	randombytes_buf(t->key, sizeof(t->key));
	return t;
}

void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->slots);
	free(t);
}

/* SipHash-2-4 (libsodium's crypto_shorthash), keyed per process, so a
 * stranger cannot pick names that collide; 0 means a free slot. */
static uint64_t
name_hash(const struct throttle *t, const char *name)
{
	unsigned char	out[crypto_shorthash_BYTES];
	uint64_t	h = 0;
	size_t		i;

	crypto_shorthash(out, (const unsigned char *)name, strlen(name),
	    t->key);
	for (i = 0; i < sizeof(out); i++)
		h = (h << 8) | out[i];
	return h == 0 ? 1 : h;
}

/* The slot of h (found, or a free, expired or least recent one to take
 * when take is set), or NULL.  Under the lock. */
static struct throttle_slot *
slot_find(struct throttle *t, uint64_t h, uint64_t now, int take)
{
	struct throttle_slot	*s, *old = NULL;
	size_t			 i;

	for (i = 0; i < THROTTLE_PROBE && i < t->nslots; i++) {
		s = &t->slots[(h + i) % t->nslots];
		if (s->hash == h) {
			if (now - s->first_ms >= t->window_ms) {
				s->first_ms = now;
				s->failures = 0;
			}
			return s;
		}
		if (!take)
			continue;
		if (s->hash == 0 || now - s->first_ms >= t->window_ms)
			old = s;	/* free or stale: take it */
		else if (old == NULL || (old->hash != 0 &&
		    now - old->first_ms < t->window_ms &&
		    s->last_ms < old->last_ms))
			old = s;
	}
	if (old != NULL) {
		old->hash = h;
		old->first_ms = now;
		old->last_ms = now;
		old->failures = 0;
	}
	return old;
}

int
throttle_blocked(struct throttle *t, const char *name, uint64_t now)
{
	struct throttle_slot	*s;
	int			 blocked;

	pthread_mutex_lock(&t->lock);
	s = slot_find(t, name_hash(t, name), now, 0);
	blocked = s != NULL && s->failures >= t->limit;
	pthread_mutex_unlock(&t->lock);
	return blocked;
}

void
throttle_fail(struct throttle *t, const char *name, uint64_t now)
{
	struct throttle_slot	*s;

	pthread_mutex_lock(&t->lock);
	if ((s = slot_find(t, name_hash(t, name), now, 1)) != NULL) {
		s->failures++;
		s->last_ms = now;
	}
	pthread_mutex_unlock(&t->lock);
}

void
throttle_clear(struct throttle *t, const char *name)
{
	struct throttle_slot	*s;

	pthread_mutex_lock(&t->lock);
	if ((s = slot_find(t, name_hash(t, name), 0, 0)) != NULL)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&t->lock);
}
