/*
 * form.h: a signup form, as POST and PATCH /v1/forms describe it, and
 * the HTML made of it (the embeddable snippet, which is also the hosted
 * page's form, and the confirmation mail).  Pure (form.c): JSON and the
 * special-category rules in, a checked form or a problem out, so
 * tests/test_form.c checks it whole.  What is stored is store_form.h's;
 * the answers, api_form.c's; the public pages, signup.c's.
 */
#ifndef FANFARE_FORM_H
#define FANFARE_FORM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fanfare.h"

#define FORM_FIELDS_MAX		16	/* fields of one form */
#define FORM_NAME_MAX		200
#define FORM_CONSENT_MAX	4000	/* bytes of the consent text */
#define FORM_URL_MAX		2000	/* redirect_url */
/* The hidden field a person never fills and a bot does: a post with it
 * set is answered as any other and does nothing. */
#define FORM_HONEYPOT		"website"

/* A form's description; strings borrowed from the JSON (check) or owned
 * by a store_form record. */
struct form_spec {
	const char	*name;
	uint64_t	 list_id;
	/* "email" first, then "first_name", "last_name" or
	 * "attributes.NAME", each once. */
	const char	*fields[FORM_FIELDS_MAX];
	size_t		 nfields;
	const char	*consent_text;
	int		 double_opt_in;		/* 1 unless said 0 */
	const char	*redirect_url;		/* NULL: none */
	const char	*from;			/* the confirmation's From */
};

/* Why a body is refused: an HTTP status, API.md's code and a message. */
struct form_problem {
	int		 status;
	const char	*code;
	char		 message[200];
};

/*
 * Checks a POST (patch 0: name, list_id, fields and consent_text
 * required) or PATCH (patch 1: only what is there, over spec as it is)
 * body into spec, borrowing its strings.  Unknown members were refused
 * before (api_check_fields).  A field "attributes.NAME" whose NAME is a
 * special category (special may be NULL: none) is refused 422
 * special_category_reference.  -1 with p filled.
 */
int	 form_check(json_t *body, int patch, const struct special *,
	    struct form_spec *spec, struct form_problem *p);

/* The host of an http(s) URL, lowercased, into host (hostlen bytes):
 * 0, or -1 when url is not an absolute http(s) URL policy_url_is_safe
 * accepts. */
int	 form_url_host(const char *url, char *host, size_t hostlen);

/* The form's HTML (what POST /v1/forms answers as "html", and what the
 * hosted page shows) appended to out: a POST to action, one input per
 * field, the honeypot, the consent text, a button.  Everything from the
 * tenant is HTML-escaped. */
void	 form_html(const struct form_spec *, const char *action,
	    struct buf *out);

/* s HTML-escaped (& < > " ') onto out. */
void	 form_html_escape(const char *s, size_t len, struct buf *out);

/* The confirmation mail of a form: subject, html and text, with the
 * merge tag {{__confirm_url}} the sender fills per sign-up (the parts
 * are the caller's to buf_free). */
void	 form_confirm_mail(const struct form_spec *, struct buf *subject,
	    struct buf *html, struct buf *text);

#endif
