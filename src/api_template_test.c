/*
 * api_template_test.c: POST /v1/templates/{id}/test {"email",
 * "contact"?: {...}}: one copy of a template, rendered for one address
 * with the fields given (as a contact's: first_name, last_name,
 * attributes...), sent through the template's hidden test campaign
 * (store_sysmail.h: the senders, DKIM, the tenant's relay), its subject
 * prefixed "[Test] ".  202 once queued.
 *
 * A test send goes to no address a campaign would skip: opted out,
 * blocklisted (address or domain), bounced, complained or erased is 422
 * suppressed, and fields that hit a special-category term are 422
 * special_category (checked here, so the marketer hears it; the senders
 * check again at send time).  A viewer may not (a POST); a marketer or
 * an owner may.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "store_suppress.h"
#include "store_sysmail.h"
#include "store_template.h"

#define TEST_PREFIX	"[Test] "

void
api_template_test(struct api_req *r)
{
	static const char *const fields[] = { "email", "contact", NULL };
	struct contact_row	 row;
	struct sysmail_spec	 spec;
	struct sysmail_to	 to;
	struct template		 tpl;
	struct api_err		 err;
	char			 name[48];
	json_t			*body = NULL, *contact = NULL, *given, *email;
	json_t			*rejected = json_array();
	const char		*bad = NULL, *why, *code;
	char			*from = NULL;
	uint64_t		 id, camp, mail;
	int			 rc;

	memset(&row, 0, sizeof(row));
	memset(&tpl, 0, sizeof(tpl));
	if (parse_u64(r->seg[2], strlen(r->seg[2]), &id) == -1 || id == 0) {
		api_error(r, 404, "not_found", "no such template");
		goto done;
	}
	if (api_body_object(r, &body) == -1 ||
	    api_check_fields(r, body, fields) == -1)
		goto done;
	email = json_object_get(body, "email");
	given = json_object_get(body, "contact");
	if (given != NULL && !json_is_object(given)) {
		api_error(r, 400, "invalid_body", "'contact' must be an object");
		goto done;
	}
	/* The contact's checks, on a copy holding the address. */
	contact = given != NULL ? json_deep_copy(given) : json_object();
	json_object_del(contact, "email");
	if (email != NULL)
		json_object_set(contact, "email", email);
	rc = contact_check(r->a->special, contact, 0, 1, rejected, &row, &bad);
	if (rc == -1) {
		api_error(r, 400, "unknown_field", "unknown field '%.100s' in "
		    "'contact'", bad);
		goto done;
	}
	if (rc == 1) {
		code = json_string_value(json_object_get(json_array_get(
		    rejected, 0), "error"));
		if (code == NULL || strcmp(code,
		    "special_category_attribute") != 0) {
			api_error(r, 422, code != NULL ? code : "invalid_email",
			    "nothing was sent");
			goto done;
		}
	}
	if (row.quarantined) {
		api_error(r, 422, "special_category", "a field holds a special-"
		    "category term; nothing was sent");
		goto done;
	}
	if ((rc = store_template_get(r->db, r->tenant, id, &tpl)) == -1) {
		api_unavailable(r);
		goto done;
	}
	if (rc == 0 || tpl.part[TEMPLATE_SUBJECT] == NULL) {
		api_error(r, 404, "not_found", "no such template");
		goto done;
	}
	if (store_sysmail_suppressed(r->db, r->tenant, row.key, &why) == -1 ||
	    (rc = store_erased_check(r->db, r->tenant, &r->live->keys,
	    row.key)) == -1) {
		api_unavailable(r);
		goto done;
	}
	if (why != NULL || rc == 1) {
		api_error(r, 422, "suppressed", "the address is suppressed "
		    "(%s): no mail goes to it", why != NULL ? why : "erased");
		goto done;
	}
	if ((rc = api_sysmail_from(r->db, r->a->conf, r->tenant, &from)) == -1) {
		api_unavailable(r);
		goto done;
	}
	if (rc == 0) {
		api_err_set(&err, 422, "no_sender", "the tenant has no verified "
		    "sending domain and the server no system_from: a test "
		    "send has no From");
		api_reply_err(r, &err);
		goto done;
	}
	snprintf(name, sizeof(name), "test:%llu", (unsigned long long)id);
	memset(&spec, 0, sizeof(spec));
	spec.name = name;
	spec.kind = "test";
	spec.from = from;
	spec.template_id = id;
	spec.subject_prefix = TEST_PREFIX;
	memset(&to, 0, sizeof(to));
	to.email = row.addr;
	to.key = row.key;
	to.first_name = json_string_value(json_object_get(contact,
	    "first_name"));
	to.last_name = json_string_value(json_object_get(contact,
	    "last_name"));
	to.attributes = row.attrs;
	if (store_sysmail_campaign(r->db, r->tenant, &spec, now_ms(), &camp) ==
	    -1 || store_sysmail_queue(r->db, r->tenant, camp, &to, &mail) ==
	    -1) {
		api_unavailable(r);
		goto done;
	}
	api_json(r, 202, json_pack("{s:s, s:s}", "status", "queued", "email",
	    row.addr));
done:
	free(from);
	free(row.attrs);
	store_template_free(&tpl);
	json_decref(contact);
	json_decref(rejected);
	json_decref(body);
}
