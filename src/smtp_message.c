/*
 * smtp_message.c: message assembly.  A campaign's template is compiled
 * once (smtp_template_compile): its tracked links become click merge
 * tags and the open pixel goes before </body>.  Each recipient's copy
 * is then rendered through render.c, with the contact's fields, its
 * attributes and freshly signed open, click and unsubscribe URLs;
 * built by mime.c, with List-Unsubscribe, List-Id and Feedback-ID
 * headers; and signed by dkim.c (smtp_message_build): once per key of
 * its From domain (RSA and Ed25519), or with the node's key.
 *
 * Never here: Redis, libesmtp, a lock, the clock or random(): the
 * caller passes the Date and the boundary's salt, so the same input
 * always makes the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_message.h"
#include "verp.h"

/* The headers DKIM signs, when the message has them. */
static const char *const signed_headers[] = { "From", "To", "Subject",
    "Date", "Message-ID", "Reply-To", "List-Unsubscribe",
    "List-Unsubscribe-Post", "List-Id", "Feedback-ID", "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding", NULL };

/* The open pixel, before </body> of a campaign that tracks opens. */
static const char open_pixel[] = "<img src=\"{{__open_url}}\" "
    "width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0\">";

void
smtp_message_list_id(char *out, size_t len, uint64_t tenant,
    const char *domain)
{
	snprintf(out, len, "tenant-%llu.%s", (unsigned long long)tenant,
	    domain);
}

void
smtp_message_feedback_id(char *out, size_t len, uint64_t tenant,
    uint64_t campaign)
{
	snprintf(out, len, "%llu:%llu:campaign:fanfare",
	    (unsigned long long)campaign, (unsigned long long)tenant);
}

char *
smtp_message_from_address(const char *from)
{
	const char	*lt = strrchr(from, '<'), *gt;

	if (lt != NULL && (gt = strchr(lt, '>')) != NULL)
		return xstrndup(lt + 1, (size_t)(gt - lt - 1));
	return xstrdup(from);
}

/* ------------------------------------------------------------ compiling */

void
smtp_template_clear(struct smtp_template *t)
{
	free(t->from);
	free(t->from_addr);
	free(t->reply_to);
	tmpl_free(t->subject);
	tmpl_free(t->html);
	tmpl_free(t->text);
	memset(t, 0, sizeof(*t));
}

/*
 * Tracked links become a merge tag the lookup fills per recipient.  The
 * scanner looks every <a href> up in the campaign's link table (hashed,
 * render.c) and hands us the row it found: linear in the HTML and the
 * table, whatever their sizes.
 */
struct link_map {
	const struct smtp_template_source *src;
	struct buf	*out;
};

static const char *
link_rewrite(void *arg, size_t row, const char *url)
{
	struct link_map	*lm = arg;

	(void)url;
	buf_reset(lm->out);
	buf_addf(lm->out, "{{__click.%s}}", lm->src->links[2 * row]);
	return lm->out->p;
}

static struct tmpl *
compile_part(const char *what, const char *src, size_t len, char *err,
    size_t errlen)
{
	struct render_error	 e;
	struct tmpl		*t;

	if ((t = tmpl_compile_internal(src, len, 1, &e)) == NULL)
		snprintf(err, errlen, "%s: line %d column %d: %s", what,
		    e.line, e.col, e.msg);
	return t;
}

/* The HTML source with click tags and the pixel, into out. */
static void
track_html(const struct smtp_template_source *src, struct buf *out)
{
	const char	*html = src->html, *end;
	char		**urls;
	struct buf	 body = { NULL, 0, 0 }, tag = { NULL, 0, 0 };
	struct link_map	 lm;
	size_t		 i, off;

	if (src->track_clicks && src->nlinks > 0) {
		/* The table's URLs are the list the scanner matches. */
		urls = xcalloc(src->nlinks, sizeof(*urls));
		for (i = 0; i < src->nlinks; i++)
			urls[i] = (char *)src->links[2 * i + 1];	/* read */
		lm.src = src;
		lm.out = &tag;
		render_rewrite_links(html, strlen(html), urls, src->nlinks,
		    link_rewrite, &lm, &body);
		free(urls);
	} else
		buf_adds(&body, html);
	if (src->track_opens) {
		end = strcasestr(body.p, "</body>");
		off = end ? (size_t)(end - body.p) : body.len;
		buf_add(out, body.p, off);
		buf_add(out, open_pixel, sizeof(open_pixel) - 1);
		buf_add(out, body.p + off, body.len - off);
	} else
		buf_add(out, body.p, body.len);
	buf_free(&tag);
	buf_free(&body);
}

int
smtp_template_compile(struct smtp_template *t,
    const struct smtp_template_source *src, char *err, size_t errlen)
{
	struct buf	 html = { NULL, 0, 0 };
	const char	*at;
	int		 rc = -1;

	smtp_template_clear(t);
	if (errlen > 0)
		*err = '\0';
	if (src->from == NULL || src->subject == NULL)
		goto out;
	t->tenant = src->tenant;
	t->campaign = src->campaign;
	t->from = xstrdup(src->from);
	t->from_addr = smtp_message_from_address(src->from);
	if ((at = strrchr(t->from_addr, '@')) != NULL)
		snprintf(t->msgid_domain, sizeof(t->msgid_domain), "%s",
		    at + 1);
	else
		snprintf(t->msgid_domain, sizeof(t->msgid_domain), "%s",
		    src->node_id);
	if (src->reply_to != NULL && *src->reply_to != '\0')
		t->reply_to = xstrdup(src->reply_to);

	if ((t->subject = compile_part("subject", src->subject,
	    strlen(src->subject), err, errlen)) == NULL)
		goto out;
	if (src->text != NULL && *src->text != '\0' &&
	    (t->text = compile_part("text", src->text, strlen(src->text),
	    err, errlen)) == NULL)
		goto out;
	if (src->html != NULL && *src->html != '\0') {
		track_html(src, &html);
		if ((t->html = compile_part("html", html.p, html.len, err,
		    errlen)) == NULL)
			goto out;
	}
	if (t->html == NULL && t->text == NULL)
		goto out;
	rc = 0;
out:
	buf_free(&html);
	if (rc == -1)
		smtp_template_clear(t);
	return rc;
}

/* ------------------------------------------------------------ rendering */

struct lookup_ctx {
	const struct smtp_template	*t;
	struct smtp_contact		*c;
	const struct smtp_signing	*sig;
	char				 buf[TOKEN_MAX_LEN + 512];
};

static const char *
mint_url(struct lookup_ctx *lc, enum token_kind kind, uint32_t link,
    size_t *vlen)
{
	struct token	 tok;
	char		 s[TOKEN_MAX_LEN + 1];
	int		 n;

	/* A preview (smtp_message_preview) signs nothing: a link that
	 * works would count a click, or opt the sample out. */
	if (lc->sig == NULL) {
		*vlen = sizeof(SMTP_PREVIEW_URL) - 1;
		return SMTP_PREVIEW_URL;
	}
	memset(&tok, 0, sizeof(tok));
	tok.kind = (uint8_t)kind;
	tok.tenant = lc->t->tenant;
	/* A confirm link names the form and the pending sign-up. */
	tok.campaign = kind == TOKEN_CONFIRM ? lc->t->form : lc->t->campaign;
	tok.contact = lc->c->id;
	tok.link = link;
	if (token_sign(lc->sig->keys, &tok, s) == 0)
		return NULL;
	n = snprintf(lc->buf, sizeof(lc->buf), kind == TOKEN_OPEN ?
	    "%s/o/%s.gif" : kind == TOKEN_CLICK ? "%s/c/%s" :
	    kind == TOKEN_CONFIRM ? "%s/s/%s" : kind == TOKEN_PREFS ?
	    "%s/p/%s" : "%s/u/%s", lc->sig->public_url, s);
	*vlen = (size_t)n;
	return lc->buf;
}

static const char *
lookup(void *arg, const char *name, size_t n, size_t *vlen)
{
	static const char *const names[] = { "email", NULL, "first_name",
	    "last_name", "gender", "date_of_birth" };
	struct lookup_ctx	*lc = arg;
	struct smtp_contact	*c = lc->c;
	json_t			*v;
	uint64_t		 link;
	size_t			 i;

	for (i = 0; i < FF_NELEM(names); i++)
		if (names[i] != NULL && strlen(names[i]) == n &&
		    memcmp(names[i], name, n) == 0) {
			*vlen = c->lens[i];
			return c->lens[i] ? c->fields[i] : NULL;
		}
	if (n == 15 && memcmp(name, "unsubscribe_url", 15) == 0)
		return mint_url(lc, TOKEN_UNSUB, 0, vlen);
	if (n == 15 && memcmp(name, "preferences_url", 15) == 0 &&
	    lc->t->form == 0)
		return mint_url(lc, TOKEN_PREFS, 0, vlen);
	if (n == 13 && memcmp(name, "__confirm_url", 13) == 0 &&
	    lc->t->form != 0)
		return mint_url(lc, TOKEN_CONFIRM, 0, vlen);
	if (n == 10 && memcmp(name, "__open_url", 10) == 0)
		return mint_url(lc, TOKEN_OPEN, 0, vlen);
	if (n > 8 && memcmp(name, "__click.", 8) == 0) {
		if (parse_u64(name + 8, n - 8, &link) == -1 ||
		    link > UINT32_MAX)
			return NULL;
		return mint_url(lc, TOKEN_CLICK, (uint32_t)link, vlen);
	}
	if (n > 11 && memcmp(name, "attributes.", 11) == 0) {
		if (c->attrs == NULL && c->lens[SMTP_FIELD_ATTRS] > 0)
			c->attrs = json_loadb(c->fields[SMTP_FIELD_ATTRS],
			    c->lens[SMTP_FIELD_ATTRS], 0, NULL);
		if (c->attrs == NULL)
			return NULL;
		snprintf(lc->buf, sizeof(lc->buf), "%.*s", (int)(n - 11),
		    name + 11);
		if ((v = json_object_get(c->attrs, lc->buf)) == NULL)
			return NULL;
		if (json_is_string(v)) {
			*vlen = json_string_length(v);
			return json_string_value(v);
		}
		if (json_is_integer(v))
			*vlen = (size_t)snprintf(lc->buf, sizeof(lc->buf),
			    "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_real(v))
			*vlen = (size_t)snprintf(lc->buf, sizeof(lc->buf),
			    "%g", json_real_value(v));
		else if (json_is_boolean(v))
			*vlen = (size_t)snprintf(lc->buf, sizeof(lc->buf),
			    "%s", json_is_true(v) ? "true" : "false");
		else
			return NULL;
		return lc->buf;
	}
	return NULL;
}

/*
 * The VERP envelope sender of c's copy, or "" (keep from_addr) when
 * there is no bounce domain or the token does not fit.  From a verified
 * sending domain D (its keys sign the copy) it is bTOKEN@bounces.D, the
 * name the domain's CNAME sends to bounce_domain (domain.c), so SPF is
 * aligned with From for DMARC (t->own_bounces: the domain verified,
 * so the CNAME is there); else bTOKEN@bounce_domain.
 */
static void
return_path(const struct smtp_template *t, struct smtp_contact *c,
    const struct smtp_signing *sig, time_t date)
{
	struct verp	v;
	char		local[VERP_LOCAL_MAX + 1];
	int		n;

	c->return_path[0] = '\0';
	if (sig->bounce_domain == NULL || sig->keys == NULL)
		return;
	v.tenant = t->tenant;
	v.campaign = t->campaign;
	v.contact = c->id;
	v.day = date > 0 ? (uint64_t)date / 86400 : 0;
	if (verp_sign(sig->keys, &v, local) == 0)
		return;
	if (t->own_bounces && t->msgid_domain[0] != '\0')
		n = snprintf(c->return_path, sizeof(c->return_path),
		    "%s@bounces.%s", local, t->msgid_domain);
	else
		n = snprintf(c->return_path, sizeof(c->return_path), "%s@%s",
		    local, sig->bounce_domain);
	if (n < 0 || (size_t)n >= sizeof(c->return_path))
		c->return_path[0] = '\0';
}

int
smtp_message_build(const struct smtp_template *t, struct smtp_contact *c,
    const struct smtp_signing *sig, time_t date, unsigned long salt,
    struct buf *out, struct buf *tmp, struct buf *tmp2, char *err,
    size_t errlen)
{
	struct lookup_ctx	 lc = { t, c, sig, "" };
	struct mime_msg		 mm;
	char			 to[FF_EMAIL_MAX + 1];
	char			 msgid[512], boundary[80];
	char			 unsub[TOKEN_MAX_LEN + 512];
	char			 list_id[300], feedback_id[80];
	const char		*u;
	size_t			 ulen, html_off, text_off, subj_off, i;
	int			 rv;

	c->return_path[0] = '\0';
	c->body_8bit = 0;
	if (c->lens[SMTP_FIELD_EMAIL] == 0 ||
	    c->lens[SMTP_FIELD_EMAIL] >= sizeof(to)) {
		errorf(err, errlen, "the contact has no address");
		return -1;
	}
	memcpy(to, c->fields[SMTP_FIELD_EMAIL], c->lens[SMTP_FIELD_EMAIL]);
	to[c->lens[SMTP_FIELD_EMAIL]] = '\0';
	/* Stored before the API refused such addresses (contact.c). */
	if (!mime_address_valid(to, strlen(to))) {
		errorf(err, errlen, "the address cannot be sent: %s",
		    mime_address_problem(to, strlen(to)));
		return -1;
	}

	/* Subject, html and text rendered one after the other into tmp. */
	buf_reset(tmp);
	subj_off = 0;
	tmpl_render(t->subject, RENDER_HEADER, lookup, &lc, tmp);
	buf_add(tmp, "", 1);
	html_off = tmp->len;
	if (t->html != NULL)
		tmpl_render(t->html, RENDER_HTML, lookup, &lc, tmp);
	buf_add(tmp, "", 1);
	text_off = tmp->len;
	if (t->text != NULL)
		tmpl_render(t->text, RENDER_TEXT, lookup, &lc, tmp);

	if ((u = mint_url(&lc, TOKEN_UNSUB, 0, &ulen)) == NULL) {
		errorf(err, errlen, "the unsubscribe token cannot be signed");
		return -1;
	}
	snprintf(unsub, sizeof(unsub), "%s", u);
	mime_message_id(t->tenant, t->campaign, c->id, t->msgid_domain,
	    msgid, sizeof(msgid));
	snprintf(boundary, sizeof(boundary), "=_ff_%llx_%llx_%lx",
	    (unsigned long long)t->campaign, (unsigned long long)c->id,
	    salt);

	memset(&mm, 0, sizeof(mm));
	mm.from = t->from;
	mm.to = to;
	mm.reply_to = t->reply_to;
	mm.subject = tmp->p + subj_off;
	mm.message_id = msgid;
	mm.list_unsubscribe = unsub;
	smtp_message_list_id(list_id, sizeof(list_id), t->tenant,
	    t->msgid_domain);
	mm.list_id = list_id;
	smtp_message_feedback_id(feedback_id, sizeof(feedback_id), t->tenant,
	    t->campaign);
	mm.feedback_id = feedback_id;
	mm.date = date;
	if (t->html != NULL) {
		mm.html = tmp->p + html_off;
		mm.htmllen = text_off - 1 - html_off;
	}
	if (t->text != NULL) {
		mm.text = tmp->p + text_off;
		mm.textlen = tmp->len - text_off;
	} else {
		mm.text = "";
		mm.textlen = 0;
	}
	mm.boundary = boundary;
	mm.allow_8bit = sig->relay_8bitmime;
	buf_reset(out);
	buf_reset(tmp2);
	if ((rv = mime_build(&mm, tmp2)) == -1) {
		errorf(err, errlen, "MIME refused the message (from, reply_to "
		    "or message id)");
		return -1;
	}
	/* Signed below over these very bytes, 8bit or not: the body hash
	 * is of what the relay gets. */
	c->body_8bit = rv == 1;
	/* Each signature covers the message without the others (they go
	 * in front, so no verifier sees one inside another's h=). */
	for (i = 0; i < t->ndkim; i++)
		if (dkim_sign(t->dkim[i], tmp2->p, tmp2->len, signed_headers,
		    mm.date, out) == -1) {
			errorf(err, errlen, "DKIM signing failed");
			return -1;
		}
	if (t->ndkim == 0 && sig->dkim != NULL && dkim_sign(sig->dkim,
	    tmp2->p, tmp2->len, signed_headers, mm.date, out) == -1) {
		errorf(err, errlen, "DKIM signing failed");
		return -1;
	}
	buf_add(out, tmp2->p, tmp2->len);
	return_path(t, c, sig, date);
	return 0;
}

/* ------------------------------------------------------------ preview */

void
smtp_message_preview(const struct smtp_template *t, struct smtp_contact *c,
    struct buf *subject, struct buf *html, struct buf *text)
{
	struct lookup_ctx	lc = { t, c, NULL, "" };

	buf_reset(subject);
	buf_reset(html);
	buf_reset(text);
	tmpl_render(t->subject, RENDER_HEADER, lookup, &lc, subject);
	if (t->html != NULL)
		tmpl_render(t->html, RENDER_HTML, lookup, &lc, html);
	if (t->text != NULL)
		tmpl_render(t->text, RENDER_TEXT, lookup, &lc, text);
	/* NUL-terminated for the caller, not counted in len. */
	buf_add(subject, "", 1);
	buf_add(html, "", 1);
	buf_add(text, "", 1);
	subject->len--;
	html->len--;
	text->len--;
}
