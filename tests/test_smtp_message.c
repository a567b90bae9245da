/*
 * test_smtp_message.c: smtp_message.c's message assembly.  A campaign
 * compiled from its sources (tracked links to click tags, the open
 * pixel, the Message-ID domain), then each recipient's copy: its merge
 * fields, its signed open, click and unsubscribe URLs (verified back
 * with token.c), its List-Unsubscribe header, the same bytes for the
 * same input, and the copies that cannot be made.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "smtp_message.h"
#include "verp.h"

#define PUBLIC_URL	"https://t.example.com"
#define DATE		((time_t)1700000000)
#define SALT		0x5eedUL

static const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";

static struct token_keyring	ring;
static struct smtp_signing	sig;

static void
setup(void)
{
	char	err[256];

	memset(&ring, 0, sizeof(ring));
	cr_assert_eq(token_keyring_add(&ring, secret, sizeof(secret), err,
	    sizeof(err)), 0, "token_keyring_add: %s", err);
	sig.keys = &ring;
	sig.public_url = PUBLIC_URL;
	sig.dkim = NULL;
}

/* ----------------------------------------------------------- helpers */

static void
source_init(struct smtp_template_source *src)
{
	static const char *const links[] = {
		"1", "https://example.com/a",
		"2", "https://example.com/b?x=1&y=2",
	};

	memset(src, 0, sizeof(*src));
	src->tenant = 3;
	src->campaign = 7;
	src->from = "Fanfare News <news@news.example.com>";
	src->subject = "Hello {{first_name | default \"there\"}}";
	src->html = "<html><body><p>Hi {{first_name}}</p>"
	    "<a href=\"https://example.com/a\">a</a> "
	    "<a href=\"https://example.com/untracked\">u</a>"
	    "</body></html>";
	src->text = "Hi {{first_name}}, plan {{attributes.plan}}, "
	    "n {{attributes.n}}, ok {{attributes.ok}}.\n"
	    "Leave: {{unsubscribe_url}}\n";
	src->links = links;
	src->nlinks = 2;
	src->track_opens = 1;
	src->track_clicks = 1;
	src->node_id = "node-a";
}

static void
smtp_contact_fill(struct smtp_contact *c, const char *email, const char *first,
    const char *attrs)
{
	memset(c, 0, sizeof(*c));
	c->id = 42;
	c->fields[SMTP_FIELD_EMAIL] = email;
	c->lens[SMTP_FIELD_EMAIL] = strlen(email);
	c->fields[SMTP_FIELD_KEY] = email;
	c->lens[SMTP_FIELD_KEY] = strlen(email);
	c->fields[SMTP_FIELD_FIRST] = first;
	c->lens[SMTP_FIELD_FIRST] = strlen(first);
	c->fields[SMTP_FIELD_ATTRS] = attrs;
	c->lens[SMTP_FIELD_ATTRS] = strlen(attrs);
}

/* The message with quoted-printable undone (soft breaks and =XX), as a
 * NUL-terminated string to search in. */
static char *
decoded(const struct buf *b)
{
	char	*out = malloc(b->len + 1);
	size_t	 i, n = 0;

	cr_assert_not_null(out);
	for (i = 0; i < b->len; i++) {
		if (b->p[i] == '=' && i + 2 < b->len && b->p[i + 1] == '\r' &&
		    b->p[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (b->p[i] == '=' && i + 2 < b->len &&
		    isxdigit((unsigned char)b->p[i + 1]) &&
		    isxdigit((unsigned char)b->p[i + 2])) {
			char hex[3] = { b->p[i + 1], b->p[i + 2], 0 };

			out[n++] = (char)strtol(hex, NULL, 16);
			i += 2;
			continue;
		}
		out[n++] = b->p[i];
	}
	out[n] = '\0';
	return out;
}

/* The token after prefix in s, verified; its kind is checked too. */
static struct token
token_after(const char *s, const char *prefix, enum token_kind kind)
{
	const char	*p = strstr(s, prefix), *e;
	struct token	 t;

	cr_assert_not_null(p, "no %s in:\n%s", prefix, s);
	p += strlen(prefix);
	for (e = p; isalnum((unsigned char)*e) || *e == '-' || *e == '_'; e++)
		;
	cr_assert_eq(token_verify(&ring, p, (size_t)(e - p), &t), 0,
	    "the token after %s does not verify", prefix);
	cr_assert_eq(t.kind, kind);
	cr_assert_eq(t.tenant, 3);
	cr_assert_eq(t.campaign, 7);
	cr_assert_eq(t.contact, 42);
	return t;
}

static char *
build(const struct smtp_template *t, struct smtp_contact *c)
{
	struct buf	 out = { NULL, 0, 0 }, tmp = { NULL, 0, 0 };
	struct buf	 tmp2 = { NULL, 0, 0 };
	char		*s, err[256];

	cr_assert_eq(smtp_message_build(t, c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), 0, "%s", err);
	s = decoded(&out);
	buf_free(&out);
	buf_free(&tmp);
	buf_free(&tmp2);
	return s;
}

/* ------------------------------------------------------------- tests */

Test(from, address)
{
	char	*a;

	a = smtp_message_from_address("Fanfare News <news@example.com>");
	cr_assert_str_eq(a, "news@example.com");
	free(a);
	a = smtp_message_from_address("news@example.com");
	cr_assert_str_eq(a, "news@example.com");
	free(a);
	a = smtp_message_from_address("Broken <news@example.com");
	cr_assert_str_eq(a, "Broken <news@example.com");
	free(a);
}

Test(compile, fields_and_domain)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	char				 err[256];

	memset(&t, 0, sizeof(t));
	source_init(&src);
	src.reply_to = "";
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_str_eq(t.from_addr, "news@news.example.com");
	cr_assert_str_eq(t.msgid_domain, "news.example.com");
	cr_assert_null(t.reply_to, "an empty reply_to is none");
	cr_assert_not_null(t.subject);
	cr_assert_not_null(t.html);
	cr_assert_not_null(t.text);

	src.from = "bare-sender";
	src.reply_to = "help@example.com";
	src.html = NULL;
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0);
	cr_assert_str_eq(t.msgid_domain, "node-a", "no '@': the node's name");
	cr_assert_str_eq(t.reply_to, "help@example.com");
	cr_assert_null(t.html);
	smtp_template_clear(&t);
	cr_assert_null(t.from);
}

Test(compile, errors)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	char				 err[256];

	memset(&t, 0, sizeof(t));
	source_init(&src);
	src.subject = "Hello {{first_name";
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), -1);
	cr_assert(strncmp(err, "subject: line 1 column ", 23) == 0, "%s", err);
	cr_assert_null(t.from, "cleared after a failure");

	source_init(&src);
	src.html = "<p>{{ }}</p>";
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), -1);
	cr_assert(strncmp(err, "html: ", 6) == 0, "%s", err);

	source_init(&src);
	src.html = "";
	src.text = NULL;
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), -1,
	    "no body");
	cr_assert_str_eq(err, "");

	source_init(&src);
	src.from = NULL;
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), -1);
}

Test(build, tracked_copy, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	struct token			 tok;
	char				 err[256], *m, *pixel, *end;

	memset(&t, 0, sizeof(t));
	source_init(&src);
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0,
	    "%s", err);
	smtp_contact_fill(&c, "ann@example.org", "Ann",
	    "{\"plan\":\"gold\",\"n\":3,\"ok\":true}");
	m = build(&t, &c);

	cr_assert_not_null(strstr(m, "From: Fanfare News "
	    "<news@news.example.com>\r\n"), "%s", m);
	cr_assert_not_null(strstr(m, "To: ann@example.org\r\n"), "%s", m);
	cr_assert_not_null(strstr(m, "Subject: Hello Ann\r\n"), "%s", m);
	cr_assert_not_null(strstr(m,
	    "Message-ID: <c.7.k.42.t.3@news.example.com>"), "%s", m);
	cr_assert_not_null(strstr(m, "=_ff_7_2a_5eed"), "the boundary");
	cr_assert_null(strstr(m, "DKIM-Signature:"), "no key, no signature");
	cr_assert_not_null(strstr(m, "Hi Ann, plan gold, n 3, ok true."),
	    "%s", m);

	token_after(m, "List-Unsubscribe: <" PUBLIC_URL "/u/", TOKEN_UNSUB);
	token_after(m, "Leave: " PUBLIC_URL "/u/", TOKEN_UNSUB);
	tok = token_after(m, "href=\"" PUBLIC_URL "/c/", TOKEN_CLICK);
	cr_assert_eq(tok.link, 1, "the link table's id of the URL");
	cr_assert_not_null(strstr(m, "href=\"https://example.com/untracked\""),
	    "a link not in the table stays as it is");
	token_after(m, "<img src=\"" PUBLIC_URL "/o/", TOKEN_OPEN);
	pixel = strstr(m, "<img src=\"" PUBLIC_URL "/o/");
	end = strstr(m, "</body>");
	cr_assert(pixel != NULL && end != NULL && pixel < end,
	    "the pixel before </body>");
	free(m);
	json_decref(c.attrs);
	smtp_template_clear(&t);
}

Test(build, untracked_copy, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	char				 err[256], *m;

	memset(&t, 0, sizeof(t));
	source_init(&src);
	src.track_opens = 0;
	src.track_clicks = 0;
	src.subject = "Hello {{first_name | default \"there\"}}";
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0,
	    "%s", err);
	smtp_contact_fill(&c, "bob@example.org", "", "");
	m = build(&t, &c);
	cr_assert_not_null(strstr(m, "Subject: Hello there\r\n"), "%s", m);
	cr_assert_not_null(strstr(m, "href=\"https://example.com/a\""),
	    "%s", m);
	cr_assert_null(strstr(m, "/c/"), "no click URL");
	cr_assert_null(strstr(m, "/o/"), "no pixel");
	cr_assert_not_null(strstr(m, "List-Unsubscribe: <" PUBLIC_URL "/u/"),
	    "always one");
	free(m);
	smtp_template_clear(&t);
}

/* With a bounce domain each copy gets its own VERP envelope sender,
 * naming its tenant, campaign and contact; without one, none. */
Test(build, verp_return_path, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	struct verp			 v;
	char				 err[256], *m, *at;

	memset(&t, 0, sizeof(t));
	source_init(&src);
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0,
	    "%s", err);
	smtp_contact_fill(&c, "bob@example.org", "Bob", "");
	m = build(&t, &c);
	free(m);
	cr_assert_str_empty(c.return_path, "no bounce_domain: the From");
	sig.bounce_domain = "bounces.example.com";
	m = build(&t, &c);
	free(m);
	sig.bounce_domain = NULL;
	at = strchr(c.return_path, '@');
	cr_assert(at != NULL && strcmp(at, "@bounces.example.com") == 0,
	    "%s", c.return_path);
	cr_assert_eq(verp_verify(&ring, c.return_path,
	    (size_t)(at - c.return_path), (uint64_t)DATE / 86400, &v), 0,
	    "%s", c.return_path);
	cr_assert(v.tenant == 3 && v.campaign == 7 && v.contact == 42 &&
	    v.day == (uint64_t)DATE / 86400);
	smtp_template_clear(&t);
}

Test(build, same_input_same_bytes, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	char				 err[256], *a, *b;

	memset(&t, 0, sizeof(t));
	source_init(&src);
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0);
	smtp_contact_fill(&c, "ann@example.org", "Ann", "{\"plan\":\"gold\"}");
	a = build(&t, &c);
	b = build(&t, &c);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	json_decref(c.attrs);
	smtp_template_clear(&t);
}

Test(build, unusable, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	struct buf			 out = { NULL, 0, 0 };
	struct buf			 tmp = { NULL, 0, 0 };
	struct buf			 tmp2 = { NULL, 0, 0 };
	struct token_keyring		 empty;
	char				 err[256], *longaddr;

	memset(&t, 0, sizeof(t));
	source_init(&src);
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0);

	smtp_contact_fill(&c, "", "Ann", "");
	cr_assert_eq(smtp_message_build(&t, &c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), -1, "no address");
	cr_assert_str_eq(err, "the contact has no address");

	/* Stored before the API refused it: failed, and the reason said. */
	smtp_contact_fill(&c, "j\xc3\xb6rg@example.org", "J", "");
	cr_assert_eq(smtp_message_build(&t, &c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), -1, "a UTF-8 local part");
	cr_assert(strstr(err, "SMTPUTF8") != NULL, "%s", err);

	longaddr = malloc(FF_EMAIL_MAX + 2);
	memset(longaddr, 'a', FF_EMAIL_MAX + 1);
	longaddr[FF_EMAIL_MAX + 1] = '\0';
	smtp_contact_fill(&c, longaddr, "Ann", "");
	cr_assert_eq(smtp_message_build(&t, &c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), -1, "an address too long");
	free(longaddr);

	memset(&empty, 0, sizeof(empty));
	sig.keys = &empty;
	smtp_contact_fill(&c, "ann@example.org", "Ann", "");
	cr_assert_eq(smtp_message_build(&t, &c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), -1, "no key to sign the unsubscribe URL "
	    "with");
	cr_assert_str_eq(err, "the unsubscribe token cannot be signed");
	buf_free(&out);
	buf_free(&tmp);
	buf_free(&tmp2);
	smtp_template_clear(&t);
}

Test(headers, list_id_and_feedback_id, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	char				 err[256], v[300], *m;

	smtp_message_list_id(v, sizeof(v), 3, "news.example.com");
	cr_assert_str_eq(v, "tenant-3.news.example.com");
	smtp_message_feedback_id(v, sizeof(v), 3, 7);
	cr_assert_str_eq(v, "7:3:campaign:fanfare", "campaign:tenant:type:"
	    "SenderId");
	memset(&t, 0, sizeof(t));
	source_init(&src);
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0);
	smtp_contact_fill(&c, "ann@example.org", "Ann", "");
	m = build(&t, &c);
	cr_assert_not_null(strstr(m, "\r\nList-Id: <tenant-3.news.example.com>"
	    "\r\n"), "%s", m);
	cr_assert_not_null(strstr(m, "\r\nFeedback-ID: 7:3:campaign:fanfare"
	    "\r\n"), "%s", m);
	cr_assert_not_null(strstr(m, "\r\nList-Unsubscribe-Post: "
	    "List-Unsubscribe=One-Click\r\n"));
	free(m);
	smtp_template_clear(&t);
}

/* The From domain's keys (two) sign each copy, each once, in front; the
 * node's key is then not used. */
Test(headers, one_signature_per_domain_key, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	struct dkim_key			*k[2], *node = NULL;
	char				 err[256], *pem, *pub, *m, *p;
	int				 i, n;

	for (i = 0; i < 2; i++) {
		cr_assert_eq(dkim_key_generate(i, &pem, &pub), 0);
		cr_assert_not_null(k[i] = dkim_key_parse(pem, strlen(pem),
		    "news.example.com", i ? "s-ed" : "s-rsa", "key", err,
		    sizeof(err)), "%s", err);
		if (i == 0)
			cr_assert_not_null(node = dkim_key_parse(pem,
			    strlen(pem), "node.example", "node", "key", err,
			    sizeof(err)));
		free(pem);
		free(pub);
	}
	memset(&t, 0, sizeof(t));
	source_init(&src);
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0);
	smtp_contact_fill(&c, "ann@example.org", "Ann", "");
	sig.dkim = node;
	t.dkim[0] = k[0];
	t.dkim[1] = k[1];
	t.ndkim = 2;
	m = build(&t, &c);
	for (n = 0, p = m; (p = strstr(p, "DKIM-Signature:")) != NULL; p++)
		n++;
	cr_assert_eq(n, 2, "%s", m);
	cr_assert_eq(strncmp(m, "DKIM-Signature:", 15), 0, "in front");
	cr_assert_not_null(strstr(m, "a=rsa-sha256;"));
	/* decoded() reads "=ed" as quoted-printable: look past it. */
	cr_assert_not_null(strstr(m, "25519-sha256;"));
	cr_assert_not_null(strstr(m, "s=s-rsa;"));
	cr_assert_not_null(strstr(m, "s=s-ed;"));
	cr_assert_null(strstr(m, "s=node;"), "the node's key is the fallback");
	cr_assert_not_null(strstr(m, ":List-Id:Feedback-ID:"), "both signed");
	free(m);
	/* No domain keys: the node's key signs. */
	t.ndkim = 0;
	m = build(&t, &c);
	cr_assert_not_null(strstr(m, "s=node;"), "%s", m);
	free(m);
	sig.dkim = NULL;
	dkim_key_free(k[0]);
	dkim_key_free(k[1]);
	dkim_key_free(node);
	smtp_template_clear(&t);
}

/*
 * Linear compile: 50,000 distinct links sharing an 800-byte prefix, the
 * link table in the reverse order of the HTML.  Looking each link up in
 * the table by a scan costs n^2/2 comparisons of ~820 bytes (75 s here);
 * the hashed lookup takes well under a second (a few under ASan), so the
 * timeout is generous both ways.  Only the compile is timed: each link
 * must have become the click tag of its own id, which the compiled
 * HTML's field list shows (in order of first appearance).
 */
#define MANY_LINKS	50000

struct many_fields {
	size_t	clicks;
	char	first[32];
};

static int
many_field(void *arg, const char *name, size_t len)
{
	struct many_fields	*f = arg;

	if (len > 8 && memcmp(name, "__click.", 8) == 0 && f->clicks++ == 0)
		snprintf(f->first, sizeof(f->first), "%.*s", (int)len, name);
	return 0;
}

Test(compile, many_links_linear, .init = setup, .timeout = 20)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct buf			 html = { NULL, 0, 0 };
	struct many_fields		 f = { 0, "" };
	char				 prefix[801], err[256];
	char				**links;
	size_t				 i;

	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	links = calloc(2 * MANY_LINKS, sizeof(*links));
	cr_assert_not_null(links);
	buf_adds(&html, "<html><body>");
	for (i = 0; i < MANY_LINKS; i++) {
		size_t	row = MANY_LINKS - 1 - i;	/* reversed */
		char	url[900], id[24];

		snprintf(url, sizeof(url), "https://example.com/%s/%zu",
		    prefix, i);
		buf_addf(&html, "<a href=\"%s\">%zu</a>\n", url, i);
		snprintf(id, sizeof(id), "%zu", i + 1000);
		links[2 * row] = strdup(id);
		links[2 * row + 1] = strdup(url);
	}
	buf_adds(&html, "</body></html>");

	memset(&t, 0, sizeof(t));
	source_init(&src);
	src.html = html.p;
	src.links = (const char *const *)links;
	src.nlinks = MANY_LINKS;
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0,
	    "%s", err);
	tmpl_fields(t.html, many_field, &f);
	cr_assert_eq(f.clicks, MANY_LINKS, "%zu click tags", f.clicks);
	/* The first link of the HTML is the last row of the table. */
	cr_assert_str_eq(f.first, "__click.1000");
	for (i = 0; i < 2 * MANY_LINKS; i++)
		free(links[i]);
	free(links);
	buf_free(&html);
	smtp_template_clear(&t);
}

#define HAS(lit)	memmem(out.p, out.len, lit, sizeof(lit) - 1)

/*
 * A relay that offers 8BITMIME gets the rendered UTF-8 as it is (8bit,
 * BODY=8BITMIME asked for through body_8bit); one that does not, the
 * same text quoted-printable.  The raw bytes are checked, not decoded().
 */
Test(build, eightbit_when_the_relay_offers_it, .init = setup)
{
	struct smtp_template_source	 src;
	struct smtp_template		 t;
	struct smtp_contact		 c;
	struct buf			 out = { NULL, 0, 0 };
	struct buf			 tmp = { NULL, 0, 0 };
	struct buf			 tmp2 = { NULL, 0, 0 };
	char				 err[256];

	memset(&t, 0, sizeof(t));
	source_init(&src);
	cr_assert_eq(smtp_template_compile(&t, &src, err, sizeof(err)), 0);
	smtp_contact_fill(&c, "zoe@example.org", "Zo\xc3\xab", "");

	sig.relay_8bitmime = 1;
	cr_assert_eq(smtp_message_build(&t, &c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.body_8bit, 1);
	cr_assert_not_null(HAS("Hi Zo\xc3\xab, plan"));
	cr_assert_not_null(HAS("<p>Hi Zo\xc3\xab</p>"));
	cr_assert_null(HAS("quoted-printable"));

	sig.relay_8bitmime = 0;
	cr_assert_eq(smtp_message_build(&t, &c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.body_8bit, 0);
	cr_assert_not_null(HAS("Hi Zo=C3=AB, plan"));
	cr_assert_null(HAS("8bit"));

	/* ASCII only: 7bit with the relay's 8BITMIME, no BODY=8BITMIME. */
	smtp_contact_fill(&c, "ann@example.org", "Ann", "");
	sig.relay_8bitmime = 1;
	cr_assert_eq(smtp_message_build(&t, &c, &sig, DATE, SALT, &out, &tmp,
	    &tmp2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.body_8bit, 0);
	cr_assert_not_null(HAS("Content-Transfer-Encoding: 7bit"));
	cr_assert_null(HAS("quoted-printable"));
	sig.relay_8bitmime = 0;
	buf_free(&out);
	buf_free(&tmp);
	buf_free(&tmp2);
	smtp_template_clear(&t);
}
