/*
 * api_template_preview.c: POST /v1/templates/preview, the template
 * editor's live preview: a subject, html and text rendered for a
 * sample contact by the senders' own code (smtp_message.c's compile
 * and lookup), so what the editor shows is what a recipient gets.
 *
 * The parts are checked first exactly as POST /v1/templates checks them
 * (the same 422s: template_syntax with part, line and column, sizes,
 * special-category merge tags).  Nothing is stored or signed: tracked
 * links stay as written, and every URL a copy would sign (unsubscribe,
 * preferences) is smtp_message.h's SMTP_PREVIEW_URL, so a click in the
 * preview counts nothing and opts nobody out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "smtp_message.h"
#include "store_template.h"

#define PREVIEW_EMAIL		"jane@example.com"
#define PREVIEW_FIRST_NAME	"Jane"

static const char *const preview_fields[] = { "subject", "html", "text",
    "contact", NULL };
static const char *const contact_fields[] = { "email", "first_name",
    "last_name", "gender", "date_of_birth", "attributes", NULL };

/* The sample contact's text field name, or its default. */
static int
sample_field(struct api_req *r, json_t *contact, const char *name,
    const char *dflt, struct smtp_contact *c, enum smtp_field f)
{
	json_t	*v = contact != NULL ? json_object_get(contact, name) : NULL;
	size_t	 max;

	if (v == NULL || json_is_null(v)) {
		c->fields[f] = dflt;
		c->lens[f] = dflt != NULL ? strlen(dflt) : 0;
		return 0;
	}
	/* The bounds of a stored contact's fields (contact.c). */
	max = f == SMTP_FIELD_EMAIL ? FF_EMAIL_MAX : CONTACT_TEXT_MAX;
	if (!json_is_string(v) || json_string_length(v) > max) {
		api_error(r, 422, "invalid_contact", "contact.%s: a string of "
		    "at most %zu bytes is required", name, max);
		return -1;
	}
	c->fields[f] = json_string_value(v);
	c->lens[f] = json_string_length(v);
	return 0;
}

/* The sample contact of the body (absent: Jane at example.com): 0, or
 * -1 after answering. */
static int
sample_contact(struct api_req *r, json_t *body, struct smtp_contact *c)
{
	json_t	*ct = json_object_get(body, "contact"), *attrs;

	memset(c, 0, sizeof(*c));
	c->id = 1;
	if (ct != NULL && !json_is_null(ct)) {
		if (!json_is_object(ct)) {
			api_error(r, 422, "invalid_contact", "contact: an "
			    "object is required");
			return -1;
		}
		if (api_check_fields(r, ct, contact_fields) == -1)
			return -1;
	} else
		ct = NULL;
	if (sample_field(r, ct, "email", PREVIEW_EMAIL, c,
	    SMTP_FIELD_EMAIL) == -1 ||
	    sample_field(r, ct, "first_name", PREVIEW_FIRST_NAME, c,
	    SMTP_FIELD_FIRST) == -1 ||
	    sample_field(r, ct, "last_name", NULL, c, SMTP_FIELD_LAST) == -1 ||
	    sample_field(r, ct, "gender", NULL, c, SMTP_FIELD_GENDER) == -1 ||
	    sample_field(r, ct, "date_of_birth", NULL, c, SMTP_FIELD_DOB) ==
	    -1)
		return -1;
	attrs = ct != NULL ? json_object_get(ct, "attributes") : NULL;
	if (attrs != NULL && !json_is_null(attrs)) {
		if (!json_is_object(attrs)) {
			api_error(r, 422, "invalid_contact", "contact.attributes:"
			    " an object is required");
			return -1;
		}
		c->attrs = json_incref(attrs);
	}
	return 0;
}

/* A rendered part as a JSON string (the engine writes UTF-8 in, UTF-8
 * out; null only if a value was not). */
static json_t *
part_json(const struct buf *b)
{
	json_t	*v = json_stringn(b->p != NULL ? b->p : "", b->len);

	return v != NULL ? v : json_null();
}

void
api_templates_preview(struct api_req *r)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	struct buf			 subject = { NULL, 0, 0 };
	struct buf			 html = { NULL, 0, 0 };
	struct buf			 text = { NULL, 0, 0 };
	json_t				*body = NULL;
	const char			*part;
	char				 err[256];
	size_t				 i;
	int				 empty;

	memset(&t, 0, sizeof(t));
	memset(&c, 0, sizeof(c));
	if (api_body_object(r, &body) == -1 ||
	    api_check_fields(r, body, preview_fields) == -1)
		goto out;
	/* A part left out previews as empty (the editor asks while the
	 * marketer types); one given is checked as a save checks it. */
	for (i = TEMPLATE_SUBJECT; i < TEMPLATE_NPARTS; i++) {
		part = template_part_name(i);
		if (json_object_get(body, part) == NULL)
			json_object_set_new(body, part, json_string(""));
	}
	if (api_template_check_parts(r, body) == -1 ||
	    sample_contact(r, body, &c) == -1)
		goto out;
	memset(&src, 0, sizeof(src));
	src.tenant = r->tenant;
	src.from = PREVIEW_EMAIL;
	src.subject = json_string_value(json_object_get(body, "subject"));
	src.html = json_string_value(json_object_get(body, "html"));
	src.text = json_string_value(json_object_get(body, "text"));
	src.node_id = "preview.invalid";
	/* No link table, no tracking: links stay as the marketer wrote
	 * them and no pixel is added. */
	empty = *src.html == '\0' && *src.text == '\0';
	if (empty)
		src.text = " ";	/* the compiler wants a body; shown empty */
	if (smtp_template_compile(&t, &src, err, sizeof(err)) == -1) {
		/* The parts compiled above: only a bug gets here. */
		api_error(r, 422, "template_syntax", "%s", err);
		goto out;
	}
	smtp_message_preview(&t, &c, &subject, &html, &text);
	if (empty)
		text.len = 0;
	api_json(r, 200, json_pack("{s:o, s:o, s:o}", "subject",
	    part_json(&subject), "html", part_json(&html), "text",
	    part_json(&text)));
out:
	smtp_template_clear(&t);
	json_decref(c.attrs);
	buf_free(&subject);
	buf_free(&html);
	buf_free(&text);
	json_decref(body);
}
