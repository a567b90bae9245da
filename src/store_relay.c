/*
 * store_relay.c: a tenant's own relay in Redis (store_relay.h says what
 * the key holds).  The key is in the tenant's {t:T} slot, so a tenant
 * purge's SCAN takes it with the rest, and the subject export, which
 * reads only a person's keys, never sees it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fanfare.h"
#include "keys.h"
#include "redis_sync.h"
#include "store_relay.h"

void
store_relay_rec_free(struct relay_rec *r)
{
	free(r->user);
	free(r->sealed_password);
	memset(r, 0, sizeof(*r));
}

/* r from the stored JSON: 0, or -1 when it is not a relay we wrote. */
static int
relay_decode(const char *text, size_t len, struct relay_rec *r)
{
	json_t		*doc, *v;
	const char	*s;
	int		 rc = -1;

	memset(r, 0, sizeof(*r));
	if ((doc = json_loadb(text, len, 0, NULL)) == NULL)
		return -1;
	if ((s = json_string_value(json_object_get(doc, "host"))) == NULL ||
	    relay_host_check(s, r->host, sizeof(r->host)) == -1)
		goto out;
	v = json_object_get(doc, "port");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 65535)
		goto out;
	r->port = (int)json_integer_value(v);
	if ((r->starttls = relay_starttls_parse(json_string_value(
	    json_object_get(doc, "starttls")))) == -1)
		goto out;
	if ((s = json_string_value(json_object_get(doc, "version"))) == NULL ||
	    strlen(s) > RELAY_VERSION_MAX)
		goto out;
	snprintf(r->version, sizeof(r->version), "%s", s);
	if ((s = json_string_value(json_object_get(doc, "username"))) != NULL)
		r->user = xstrdup(s);
	if ((s = json_string_value(json_object_get(doc, "password"))) != NULL)
		r->sealed_password = xstrdup(s);
	r->updated_at = (uint64_t)json_integer_value(json_object_get(doc,
	    "updated_at"));
	rc = 0;
out:
	if (rc == -1)
		store_relay_rec_free(r);
	json_decref(doc);
	return rc;
}

int
store_relay_get(struct db *db, uint64_t tenant, struct relay_rec *r)
{
	redisReply	*rep;
	struct key	 k;
	const char	*s;
	size_t		 len;
	int		 rc;

	memset(r, 0, sizeof(*r));
	rep = db_cmd(db, "GET %s", key_relay(&k, tenant));
	if (rep == NULL || reply_is_error(rep, ""))
		rc = -1;
	else if ((s = reply_str(rep, &len)) == NULL)
		rc = 0;
	else if (relay_decode(s, len, r) == -1) {
		log_warnx("tenant %llu: the stored relay is damaged; the "
		    "node's relay is used", (unsigned long long)tenant);
		rc = 0;
	} else
		rc = 1;
	freeReplyObject(rep);
	return rc;
}

int
store_relay_put(struct db *db, uint64_t tenant, const struct relay_rec *r)
{
	json_t		*doc;
	redisReply	*rep;
	struct key	 k;
	const char	*argv[3];
	size_t		 argl[3];
	char		*text;
	int		 rc;

	doc = json_pack("{s:s, s:i, s:s, s:s, s:I}", "host", r->host, "port",
	    r->port, "starttls", relay_starttls_name(r->starttls), "version",
	    r->version, "updated_at", (json_int_t)r->updated_at);
	if (r->user != NULL)
		json_object_set_new(doc, "username", json_string(r->user));
	if (r->sealed_password != NULL)
		json_object_set_new(doc, "password",
		    json_string(r->sealed_password));
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		return -1;
	argv[0] = "SET";
	argv[1] = key_relay(&k, tenant);
	argv[2] = text;
	argl[0] = 3;
	argl[1] = strlen(argv[1]);
	argl[2] = strlen(text);
	rep = db_cmdargv(db, 3, argv, argl);
	rc = reply_ok(rep) ? 0 : -1;
	freeReplyObject(rep);
	free(text);
	return rc;
}

int
store_relay_delete(struct db *db, uint64_t tenant)
{
	struct key	k;

	return reply_done(db_cmd(db, "UNLINK %s", key_relay(&k, tenant)));
}
