/*
 * smtp_message.h: a campaign's message, compiled once, and each
 * recipient's copy of it, rendered, built and signed (smtp_message.c).
 *
 * Bytes in, bytes out: nothing here reads Redis, the clock or the
 * network, so tests/test_smtp_message.c checks it whole.  (libesmtp owns
 * the names struct smtp_message and struct smtp_recipient: ours are
 * smtp_template and smtp_contact.)
 */
#ifndef FANFARE_SMTP_MESSAGE_H
#define FANFARE_SMTP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "fanfare.h"

#define SMTP_DKIM_MAX	4	/* signatures per message */

/* What every copy of a campaign's message is made of. */
struct smtp_template {
	uint64_t	 tenant, campaign;
	char		*from;		/* "Name <addr>" or "addr" */
	char		*from_addr;	/* the envelope sender */
	char		*reply_to;	/* NULL: none */
	char		 msgid_domain[256];
	struct tmpl	*subject;
	struct tmpl	*html, *text;	/* one may be NULL, never both */
	/* The From domain's keys (smtp_domain.c's, borrowed; set after
	 * smtp_template_compile): each signs every copy.  None: the
	 * node's key of struct smtp_signing, if any. */
	const struct dkim_key *dkim[SMTP_DKIM_MAX];
	size_t		 ndkim;
	/* The From domain is the tenant's verified sending domain: VERP
	 * envelope senders at bounces.DOMAIN (its CNAME is published). */
	int		 own_bounces;
	/* A form's confirmation campaign (store_form.h): the form's id,
	 * which {{__confirm_url}} names; 0 otherwise. */
	uint64_t	 form;
};

/* A campaign as Redis holds it, for smtp_template_compile. */
struct smtp_template_source {
	uint64_t		 tenant, campaign;
	const char		*from;
	const char		*reply_to;	/* NULL or "": none */
	const char		*subject;
	const char		*html, *text;	/* NULL or "": none */
	/* The campaign's link table, as HGETALL gives it: id, url, ... */
	const char *const	*links;
	size_t			 nlinks;	/* pairs */
	int			 track_opens, track_clicks;
	const char		*node_id;	/* Message-ID domain when from
						 * has no '@' */
};

/* One recipient's fields, in send_check.lua's order. */
enum smtp_field {
	SMTP_FIELD_EMAIL,
	SMTP_FIELD_KEY,		/* the normalised address (outcomes) */
	SMTP_FIELD_FIRST,
	SMTP_FIELD_LAST,
	SMTP_FIELD_GENDER,
	SMTP_FIELD_DOB,
	SMTP_FIELD_ATTRS,	/* a JSON object */
	SMTP_FIELDS
};

/* A VERP envelope sender: bTOKEN@bounce_domain (verp.h). */
#define SMTP_RETURN_PATH_MAX	(64 + 1 + 255 + 1)

struct smtp_contact {
	uint64_t	 id;
	/* smtp_message_build's: the copy's envelope sender, "" when it is
	 * the template's from_addr (no bounce_domain). */
	char		 return_path[SMTP_RETURN_PATH_MAX];
	/* smtp_message_build's: 1 when a body part went as 8bit, so the
	 * copy must be sent with BODY=8BITMIME. */
	int		 body_8bit;
	const char	*fields[SMTP_FIELDS];	/* not NUL-terminated */
	size_t		 lens[SMTP_FIELDS];
	json_t		*attrs;		/* parsed on first use; the caller
					 * json_decref()s it */
};

/* What a copy is signed with: the keyring of its tracking links, where
 * they point, and the node's DKIM key (NULL: none), used for a From
 * domain without keys of its own (smtp_template's dkim). */
struct smtp_signing {
	const struct token_keyring	*keys;
	const char			*public_url;
	const struct dkim_key		*dkim;
	const char			*bounce_domain;	/* NULL: no VERP */
	int				 relay_8bitmime;	/* the relay
					 * offers 8BITMIME: 7bit/8bit bodies
					 * where they fit (mime.c) */
};

/*
 * The bulk-mail headers' values: List-Id (RFC 2919) per tenant and From
 * domain, "tenant-T.DOMAIN" (one list-id per sender identity, so a
 * reader's filter on it keeps working across campaigns); Feedback-ID in
 * Google's "a:b:c:SenderId" form, "C:T:campaign:fanfare" (the campaign,
 * the tenant, the mail type, and Fanfare as the sender id), which
 * providers' complaint loops report per part.
 */
void	 smtp_message_list_id(char *out, size_t len, uint64_t tenant,
	    const char *domain);
void	 smtp_message_feedback_id(char *out, size_t len, uint64_t tenant,
	    uint64_t campaign);

/* The bare address of "Name <addr>" or "addr"; the caller frees it. */
char	*smtp_message_from_address(const char *from);

/*
 * Fills t from src: tracked links of the HTML become click merge tags
 * and the open pixel goes before </body>, once, on the source, so a
 * merge value can never become a tracked link.  -1 with "part: line L
 * column C: reason" in err when a part does not compile, or when the
 * campaign has no body; t is then cleared.
 */
int	 smtp_template_compile(struct smtp_template *t,
	    const struct smtp_template_source *src, char *err, size_t errlen);
void	 smtp_template_clear(struct smtp_template *);	/* back to zeroes */

/*
 * Renders c's copy of t, builds its MIME message and signs it into out
 * (reset first); with a bounce_domain, c->return_path is its VERP
 * envelope sender (signed for the day of date).  date is its Date:,
 * salt makes its MIME boundary unique.  tmp and tmp2 are scratch, kept
 * between calls.  -1 with the reason in err when the copy cannot be made
 * (no address, one MIME refuses, a token that cannot be signed): the
 * recipient then fails, and the sender logs why.
 */
int	 smtp_message_build(const struct smtp_template *t,
	    struct smtp_contact *c, const struct smtp_signing *,
	    time_t date, unsigned long salt, struct buf *out,
	    struct buf *tmp, struct buf *tmp2, char *err, size_t errlen);

/*
 * The template editor's preview (POST /v1/templates/preview): c's
 * subject, html and text of t rendered by the same lookup as a copy,
 * into the three buffers (reset first, NUL-terminated).  Nothing is
 * signed: every URL a copy would sign ({{unsubscribe_url}},
 * {{preferences_url}}, the pixel, tracked links when t was compiled to
 * track them) is SMTP_PREVIEW_URL, which leads nowhere.
 */
#define SMTP_PREVIEW_URL	"#preview"
void	 smtp_message_preview(const struct smtp_template *t,
	    struct smtp_contact *c, struct buf *subject, struct buf *html,
	    struct buf *text);

#endif /* FANFARE_SMTP_MESSAGE_H */
