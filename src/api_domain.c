/*
 * api_domain.c: a tenant's sending domains (API.md part 2, "Sending
 * domains"): POST /v1/domains makes the domain's DKIM keys and lists the
 * DNS records to publish, verify looks them up, rotate publishes a new
 * generation of selectors, DELETE forgets the domain; and the check
 * campaigns make of their From (api_domain_check_from).
 *
 * A domain's doc (store_domain.h) holds its generations of keys: the
 * one that signs ("signing") and, after a rotate, the one published but
 * not yet seen in DNS ("pending").  A verify that finds the pending
 * generation's two DKIM records promotes it and drops the old keys, so
 * the old selectors sign until the new ones are in DNS.
 *
 * Private keys exist in clear only between dkim_key_generate and
 * seal_encrypt here, and in the senders' memory (smtp_domain.c): no
 * answer, log line or Redis field has them.
 *
 * The DNS lookups of verify block this handler for at most about a
 * second per record (dns.c, one try of DNS_TIMEOUT_S; after a
 * resolver failure the other records are not asked), and making the keys
 * (create, rotate) costs 0.1 to 0.3 s of CPU, the RSA-2048 prime search:
 * rare requests made by hand.  A plain route-table handler, so it runs
 * wherever api.c runs handlers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "api.h"
#include "domain.h"
#include "store_domain.h"

#define DOMAIN_TAG_BYTES	4	/* a generation's random selector part */

static const char *const domain_fields[] = { "domain", NULL };

/* ------------------------------------------------------------ the doc */

/* The keys of generation gen in doc (those with a selector, an
 * algorithm and a public key: the doc is only ever ours, but is read
 * from Redis). */
static size_t
doc_keys(json_t *doc, json_int_t gen, json_t **out, size_t max)
{
	json_t	*k;
	size_t	 i, n = 0;

	json_array_foreach(json_object_get(doc, "keys"), i, k)
		if (json_integer_value(json_object_get(k, "generation")) ==
		    gen && n < max &&
		    json_is_string(json_object_get(k, "selector")) &&
		    json_is_string(json_object_get(k, "algorithm")) &&
		    json_is_string(json_object_get(k, "public")))
			out[n++] = k;
	return n;
}

/*
 * Makes generation gen's two keys: their public halves go into doc's
 * keys, their sealed PEMs into sel/sealed (the caller frees).  -1 when
 * a key cannot be made or sealed.
 */
static int
doc_add_generation(json_t *doc, const struct seal_key *dk, uint64_t tenant,
    const char *domain, json_int_t gen, char **sel, char **sealed)
{
	char	 tag[2 * DOMAIN_TAG_BYTES + 1], aad[512];
	char	 selector[DOMAIN_SELECTOR_MAX];
	char	*pem, *pub;
	int	 ed;

	api_random_hex(tag, DOMAIN_TAG_BYTES);
	for (ed = 0; ed < 2; ed++) {
		if (dkim_key_generate(ed, &pem, &pub) == -1)
			return -1;
		domain_selector(selector, sizeof(selector), tag, ed);
		domain_key_aad(aad, sizeof(aad), tenant, domain, selector);
		sealed[ed] = seal_encrypt(dk, aad, pem, strlen(pem));
		OPENSSL_cleanse(pem, strlen(pem));
		free(pem);
		if (sealed[ed] == NULL) {
			free(pub);
			return -1;
		}
		sel[ed] = xstrdup(selector);
		json_array_append_new(json_object_get(doc, "keys"), json_pack(
		    "{s:s, s:s, s:s, s:I}", "selector", selector, "algorithm",
		    ed ? "ed25519-sha256" : "rsa-sha256", "public", pub,
		    "generation", gen));
		free(pub);
	}
	return 0;
}

static json_t *
doc_load(const struct domain_rec *d)
{
	json_t	*doc;

	if ((doc = json_loads(d->doc, 0, NULL)) == NULL ||
	    !json_is_object(doc) || !json_is_array(json_object_get(doc,
	    "keys"))) {
		json_decref(doc);
		return NULL;
	}
	if (!json_is_object(json_object_get(doc, "checks")))
		json_object_set_new(doc, "checks", json_object());
	return doc;
}

/* One record of the dns list, with its last check when there is one. */
static void
dns_add(json_t *dns, json_t *checks, const char *type, const char *name,
    const char *value, const char *purpose, const char *selector,
    json_int_t gen)
{
	json_t	*o, *c;
	char	 id[600];

	o = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "name", name,
	    "value", value, "purpose", purpose);
	if (selector != NULL) {
		json_object_set_new(o, "selector", json_string(selector));
		json_object_set_new(o, "generation", json_integer(gen));
	}
	snprintf(id, sizeof(id), "%s %s", type, name);
	if ((c = json_object_get(checks, id)) != NULL)
		json_object_set(o, "check", c);
	json_array_append_new(dns, o);
}

/* The records to publish: DKIM of the signing and pending generations,
 * SPF, DMARC, and the bounce CNAME when bounce_domain is set. */
static json_t *
doc_dns(json_t *doc, const char *domain, const char *bounce_domain)
{
	json_t		*dns = json_array(), *checks, *keys[4];
	struct buf	 b = { NULL, 0, 0 };
	char		 name[DOMAIN_NAME_MAX + 100];
	const char	*gens[] = { "signing", "pending" };
	size_t		 g, i, n;
	json_int_t	 gen;

	checks = json_object_get(doc, "checks");
	for (g = 0; g < 2; g++) {
		if ((gen = json_integer_value(json_object_get(doc,
		    gens[g]))) == 0)
			continue;
		n = doc_keys(doc, gen, keys, 4);
		for (i = 0; i < n; i++) {
			const char *sel = json_string_value(json_object_get(
			    keys[i], "selector"));
			int ed = strcmp(json_string_value(json_object_get(
			    keys[i], "algorithm")), "ed25519-sha256") == 0;
			domain_dkim_name(name, sizeof(name), sel, domain);
			buf_reset(&b);
			domain_dkim_txt(&b, ed, json_string_value(
			    json_object_get(keys[i], "public")));
			dns_add(dns, checks, "TXT", name, b.p, "dkim", sel, gen);
		}
	}
	buf_reset(&b);
	domain_spf_txt(&b, bounce_domain);
	dns_add(dns, checks, "TXT", domain, b.p, "spf", NULL, 0);
	buf_reset(&b);
	domain_dmarc_txt(&b);
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	dns_add(dns, checks, "TXT", name, b.p, "dmarc", NULL, 0);
	if (bounce_domain != NULL) {
		domain_bounce_name(name, sizeof(name), domain);
		dns_add(dns, checks, "CNAME", name, bounce_domain, "bounce",
		    NULL, 0);
	}
	buf_free(&b);
	return dns;
}

/* The domain as the API shows it: never a private key (doc has none). */
static json_t *
domain_json(struct api *a, const struct domain_rec *d, json_t *doc)
{
	json_t	*o, *v;

	o = json_pack("{s:s, s:s, s:o}", "domain", d->name, "status",
	    d->status != NULL ? d->status : "pending", "dns", doc_dns(doc,
	    d->name, a->conf->bounce_domain));
	if ((v = json_object_get(doc, "created_at")) != NULL)
		api_set_time(o, "created_at", (uint64_t)json_integer_value(v));
	if ((v = json_object_get(doc, "checked_at")) != NULL)
		api_set_time(o, "checked_at", (uint64_t)json_integer_value(v));
	if ((v = json_object_get(doc, "verified_at")) != NULL)
		api_set_time(o, "verified_at",
		    (uint64_t)json_integer_value(v));
	return o;
}

/* ----------------------------------------------------------- handlers */

/* The tenant's domain named by the path: 1 with d, else answered. */
static int
domain_find(struct api_req *r, const char *arg, struct domain_rec *d,
    json_t **doc)
{
	char		 name[DOMAIN_NAME_MAX + 1];
	uint64_t	 id;
	int		 rc;

	if (domain_name_check(arg, strlen(arg), name, sizeof(name)) == -1) {
		api_error(r, 404, "not_found", "no such domain");
		return 0;
	}
	if ((rc = store_domain_lookup(r->db, r->tenant, name, &id)) == 1)
		rc = store_domain_get(r->db, r->tenant, id, d);
	if (api_found(r, rc, "domain") == -1)
		return 0;
	if ((*doc = doc_load(d)) == NULL) {
		store_domain_rec_free(d);
		api_error(r, 500, "internal", "the stored domain is damaged");
		return 0;
	}
	return 1;
}

static int
data_key_ready(struct api_req *r)
{
	if (r->live == NULL || !r->live->data_key.set) {
		api_error(r, 503, "no_data_key", "sending domains need the "
		    "data_key_file directive (the key that seals DKIM keys)");
		return 0;
	}
	return 1;
}

static void
free_strings(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
}

static void
domain_create(struct api_req *r)
{
	struct api		*a = r->a;
	struct domain_rec	 d;
	json_t			*body = NULL, *v, *doc = NULL;
	char			 name[DOMAIN_NAME_MAX + 1];
	char			*sel[2] = { NULL, NULL }, *sealed[2] = { NULL,
				    NULL };
	char			*text = NULL;
	uint64_t		 id;
	int			 rc;

	if (!data_key_ready(r) || api_body_object(r, &body) == -1)
		return;
	if (api_check_fields(r, body, domain_fields) == -1)
		goto out;
	if (!json_is_string(v = json_object_get(body, "domain")) ||
	    domain_name_check(json_string_value(v), json_string_length(v),
	    name, sizeof(name)) == -1) {
		api_error(r, 422, "invalid_domain", "domain: a DNS name like "
		    "acme.example");
		goto out;
	}
	doc = json_pack("{s:[], s:I, s:I, s:{}, s:I}", "keys", "signing",
	    (json_int_t)1, "pending", (json_int_t)0, "checks", "created_at",
	    (json_int_t)now_ms());
	if (doc_add_generation(doc, &r->live->data_key, r->tenant, name, 1,
	    sel, sealed) == -1) {
		api_error(r, 500, "internal", "the keys could not be made");
		goto out;
	}
	if ((rc = store_domain_create(r->db, r->tenant, name, &id)) != 1) {
		if (rc == -1)
			api_unavailable(r);
		else
			api_error(r, 409, "domain_exists", "the domain is "
			    "already there: GET /v1/domains/%s", name);
		goto out;
	}
	text = json_dumps(doc, JSON_COMPACT);
	if (store_domain_save(r->db, r->tenant, id, name, "pending", text,
	    (const char *const *)sel, (const char *const *)sealed, 2, NULL,
	    0) == -1) {
		/* Not a name without a record: a retry may create it. */
		(void)store_domain_delete(r->db, r->tenant, name, id);
		api_unavailable(r);
		goto out;
	}
	memset(&d, 0, sizeof(d));
	d.name = name;
	d.status = "pending";
	api_json(r, 201, domain_json(a, &d, doc));
out:
	free(text);
	free_strings(sel, 2);
	free_strings(sealed, 2);
	json_decref(doc);
	json_decref(body);
}

static void
domain_list(struct api_req *r)
{
	struct domain_rec	 d;
	json_t			*items, *doc;
	char			**names;
	uint64_t		*ids;
	size_t			 n, i;

	if (store_domain_names(r->db, r->tenant, &names, &ids, &n) == -1) {
		api_unavailable(r);
		return;
	}
	items = json_array();
	for (i = 0; i < n; i++) {
		if (store_domain_get(r->db, r->tenant, ids[i], &d) != 1)
			continue;
		if ((doc = doc_load(&d)) != NULL)
			json_array_append_new(items, domain_json(r->a, &d,
			    doc));
		json_decref(doc);
		store_domain_rec_free(&d);
	}
	store_domain_names_free(names, ids, n);
	api_json(r, 200, json_pack("{s:o}", "items", items));
}

/*
 * Looks one record up and writes its check into checks: "match",
 * "mismatch" (records there, none right), "missing" or "error".  1 when
 * it matched; -1 when the resolver failed (the caller asks no more).
 */
static int
check_record(const struct config *conf, json_t *checks, const char *type,
    const char *name, const char *purpose, int ed25519, const char *want,
    uint64_t now)
{
	struct dns_answers	 ans;
	enum dns_result		 res;
	json_t			*found, *c;
	const char		*result = "missing";
	char			 id[600];
	size_t			 i;
	int			 ok = 0;

	res = dns_lookup(conf->dns_resolver.host != NULL ?
	    &conf->dns_resolver : NULL, name, type, &ans);
	found = json_array();
	for (i = 0; i < ans.n; i++) {
		json_array_append_new(found, json_string(ans.text[i]));
		if (strcmp(purpose, "dkim") == 0)
			ok |= domain_dkim_matches(ans.text[i], ed25519, want);
		else if (strcmp(purpose, "spf") == 0)
			ok |= domain_txt_is_spf(ans.text[i]) &&
			    (want == NULL || strstr(ans.text[i], want));
		else if (strcmp(purpose, "dmarc") == 0)
			ok |= domain_txt_is_dmarc(ans.text[i]);
		else
			ok |= domain_name_equal(ans.text[i], want);
	}
	if (res == DNS_FOUND)
		result = ok ? "match" : "mismatch";
	else if (res == DNS_FAILED)
		result = "error";
	c = json_pack("{s:s, s:o}", "result", result, "found", found);
	api_set_time(c, "checked_at", now);
	if (res == DNS_FAILED)
		json_object_set_new(c, "error", json_string(ans.error));
	snprintf(id, sizeof(id), "%s %s", type, name);
	json_object_set_new(checks, id, c);
	dns_answers_free(&ans);
	if (res == DNS_FAILED)
		return -1;
	return ok ? 1 : 0;
}

/* Checks generation gen's DKIM records: 1 when all match, -1 on a
 * resolver failure. */
static int
check_generation(const struct config *conf, json_t *doc, const char *domain,
    json_int_t gen, uint64_t now)
{
	json_t	*keys[4];
	char	 name[DOMAIN_NAME_MAX + 100];
	size_t	 i, n;
	int	 all = 1, rc;

	if ((n = doc_keys(doc, gen, keys, 4)) == 0)
		return 0;
	for (i = 0; i < n; i++) {
		domain_dkim_name(name, sizeof(name), json_string_value(
		    json_object_get(keys[i], "selector")), domain);
		rc = check_record(conf, json_object_get(doc, "checks"), "TXT",
		    name, "dkim", strcmp(json_string_value(json_object_get(
		    keys[i], "algorithm")), "ed25519-sha256") == 0,
		    json_string_value(json_object_get(keys[i], "public")),
		    now);
		if (rc == -1)
			return -1;
		all &= rc;
	}
	return all;
}

/* Drops the keys of generation gen from doc, and their records' last
 * checks; their selectors in drop. */
static size_t
doc_drop_generation(json_t *doc, const char *domain, json_int_t gen,
    char **drop, size_t max)
{
	json_t	*keys = json_object_get(doc, "keys"), *k;
	char	 name[DOMAIN_NAME_MAX + 100], id[DOMAIN_NAME_MAX + 110];
	size_t	 i, n = 0;

	for (i = json_array_size(keys); i-- > 0;) {
		k = json_array_get(keys, i);
		if (json_integer_value(json_object_get(k, "generation")) !=
		    gen)
			continue;
		if (!json_is_string(json_object_get(k, "selector"))) {
			json_array_remove(keys, i);
			continue;
		}
		domain_dkim_name(name, sizeof(name), json_string_value(
		    json_object_get(k, "selector")), domain);
		snprintf(id, sizeof(id), "TXT %s", name);
		json_object_del(json_object_get(doc, "checks"), id);
		if (n < max)
			drop[n++] = xstrdup(json_string_value(json_object_get(
			    k, "selector")));
		json_array_remove(keys, i);
	}
	return n;
}

static void
domain_verify(struct api_req *r, struct domain_rec *d, json_t *doc)
{
	const struct config	*conf = r->a->conf;
	json_t			*checks = json_object_get(doc, "checks");
	char			 name[DOMAIN_NAME_MAX + 100], *text, *drop[4];
	char			 spf_want[DOMAIN_NAME_MAX + 16];
	const char		*status;
	json_int_t		 signing, pending;
	uint64_t		 now = now_ms();
	size_t			 ndrop = 0;
	int			 dkim_ok, bounce_ok = 1, failed = 0, rc = 0;

	signing = json_integer_value(json_object_get(doc, "signing"));
	pending = json_integer_value(json_object_get(doc, "pending"));
	/* The pending generation first: once it is in DNS it signs. */
	if (pending != 0 && (rc = check_generation(conf, doc, d->name,
	    pending, now)) == 1) {
		ndrop = doc_drop_generation(doc, d->name, signing, drop, 4);
		json_object_set_new(doc, "signing", json_integer(pending));
		json_object_set_new(doc, "pending", json_integer(0));
		signing = pending;
		dkim_ok = 1;
	} else {
		failed = pending != 0 && rc == -1;
		dkim_ok = failed ? 0 : check_generation(conf, doc, d->name,
		    signing, now);
		if (dkim_ok == -1) {
			failed = 1;
			dkim_ok = 0;
		}
	}
	if (!failed && conf->bounce_domain != NULL) {
		domain_bounce_name(name, sizeof(name), d->name);
		rc = check_record(conf, checks, "CNAME", name, "bounce", 0,
		    conf->bounce_domain, now);
		failed = rc == -1;
		bounce_ok = rc == 1;
	}
	if (!failed) {
		/* SPF and DMARC are shown, not required. */
		if (conf->bounce_domain != NULL)
			snprintf(spf_want, sizeof(spf_want), "include:%s",
			    conf->bounce_domain);
		failed = check_record(conf, checks, "TXT", d->name, "spf", 0,
		    conf->bounce_domain != NULL ? spf_want : NULL, now) == -1;
	}
	if (!failed) {
		snprintf(name, sizeof(name), "_dmarc.%s", d->name);
		(void)check_record(conf, checks, "TXT", name, "dmarc", 0,
		    NULL, now);
	}
	status = dkim_ok == 1 && bounce_ok ? "verified" : "pending";
	json_object_set_new(doc, "checked_at", json_integer((json_int_t)now));
	if (strcmp(status, "verified") == 0 && (d->status == NULL ||
	    strcmp(d->status, "verified") != 0))
		json_object_set_new(doc, "verified_at",
		    json_integer((json_int_t)now));
	text = json_dumps(doc, JSON_COMPACT);
	rc = store_domain_save(r->db, r->tenant, d->id, d->name, status,
	    text, NULL, NULL, 0, (const char *const *)drop, ndrop);
	free(text);
	free_strings(drop, ndrop);
	if (rc == -1) {
		api_unavailable(r);
		return;
	}
	free(d->status);
	d->status = xstrdup(status);
	api_json(r, 200, domain_json(r->a, d, doc));
}

static void
domain_rotate(struct api_req *r, struct domain_rec *d, json_t *doc)
{
	json_t		*keys, *k, *sels;
	char		*sel[2] = { NULL, NULL }, *sealed[2] = { NULL, NULL };
	char		*drop[4], *text;
	json_int_t	 gen = 0, pending;
	size_t		 i, ndrop = 0;
	int		 rc;

	if (!data_key_ready(r))
		return;
	keys = json_object_get(doc, "keys");
	json_array_foreach(keys, i, k)
		if (json_integer_value(json_object_get(k, "generation")) > gen)
			gen = json_integer_value(json_object_get(k,
			    "generation"));
	/* A rotate before the last one verified replaces its keys. */
	if ((pending = json_integer_value(json_object_get(doc,
	    "pending"))) != 0)
		ndrop = doc_drop_generation(doc, d->name, pending, drop,
		    4);
	gen++;
	if (doc_add_generation(doc, &r->live->data_key, r->tenant, d->name,
	    gen, sel, sealed) == -1) {
		free_strings(drop, ndrop);
		api_error(r, 500, "internal", "the keys could not be made");
		return;
	}
	json_object_set_new(doc, "pending", json_integer(gen));
	text = json_dumps(doc, JSON_COMPACT);
	rc = store_domain_save(r->db, r->tenant, d->id, d->name,
	    d->status != NULL ? d->status : "pending", text,
	    (const char *const *)sel, (const char *const *)sealed, 2,
	    (const char *const *)drop, ndrop);
	free(text);
	free_strings(drop, ndrop);
	free_strings(sealed, 2);
	if (rc == -1) {
		free_strings(sel, 2);
		api_unavailable(r);
		return;
	}
	k = domain_json(r->a, d, doc);
	sels = json_array();
	for (i = 0; i < 2; i++)
		json_array_append_new(sels, json_string(sel[i]));
	json_object_set_new(k, "new_selectors", sels);
	free_strings(sel, 2);
	api_json(r, 200, k);
}

void
api_domains(struct api_req *r)
{
	struct domain_rec	 d;
	json_t			*doc = NULL;

	if (r->nseg == 2) {
		if (r->method == HTTP_POST)
			domain_create(r);
		else
			domain_list(r);
		return;
	}
	if (r->nseg < 3 || !domain_find(r, r->seg[2], &d, &doc))
		return;
	if (r->nseg == 3 && r->method == HTTP_DELETE) {
		if (store_domain_delete(r->db, r->tenant, d.name, d.id) == -1)
			api_unavailable(r);
		else
			api_nocontent(r);
	} else if (r->nseg == 3)
		api_json(r, 200, domain_json(r->a, &d, doc));
	else if (strcmp(r->seg[3], "verify") == 0)
		domain_verify(r, &d, doc);
	else
		domain_rotate(r, &d, doc);
	json_decref(doc);
	store_domain_rec_free(&d);
}

int
api_domain_check_from(struct api *a, struct db *db, uint64_t tenant,
    const char *from, struct api_err *err)
{
	struct domain_rec	 d;
	char			 name[DOMAIN_NAME_MAX + 1];
	uint64_t		 id;
	int			 rc, verified;

	if (a->conf->allow_unverified_from)
		return 0;
	if (domain_of_from(from, name, sizeof(name)) == -1) {
		api_err_set(err, 422, "unverified_domain", "from: no domain");
		return -1;
	}
	if ((rc = store_domain_lookup(db, tenant, name, &id)) == 1)
		rc = store_domain_get(db, tenant, id, &d);
	if (rc == -1) {
		api_err_unavailable(err);
		return -1;
	}
	verified = rc == 1 && d.status != NULL &&
	    strcmp(d.status, "verified") == 0;
	if (rc == 1)
		store_domain_rec_free(&d);
	if (!verified) {
		api_err_set(err, 422, "unverified_domain", "from: %s is not a "
		    "verified sending domain of this tenant (POST /v1/domains, "
		    "then /verify)", name);
		return -1;
	}
	return 0;
}
