/*
 * dkim.c: DKIM signatures (RFC 6376) for the messages Fanfare sends:
 * a=rsa-sha256 or a=ed25519-sha256 (RFC 8463), c=relaxed/relaxed, no
 * l=, with keys loaded once: the node's from its dkim_key_file at
 * start-up, a sending domain's from its sealed PEM (smtp_domain.c), and
 * a new domain's made here (dkim_key_generate).
 *
 * dkim_sign takes a complete message (header fields, CRLF CRLF, body;
 * CRLF line ends) and appends only the "DKIM-Signature: ...\r\n" field;
 * the caller puts it in front of the message.  It signs each listed
 * header name that the message has, once: when a field occurs more than
 * once, the LAST instance is signed (verifiers pick instances from the
 * bottom up, RFC 6376 section 5.4.2), so an earlier copy may still be
 * changed without breaking the signature.  Names the message lacks are
 * left out of h=.  From must be among the signed fields (section 5.4).
 *
 * A message with a bare CR or LF or a NUL anywhere, a field without a
 * colon, a continuation line first, or not exactly one From is refused
 * rather than signed: verifiers disagree on how to read such bytes, and
 * an MTA that repairs them on the way breaks the signature anyway
 * (RFC 5322 section 2.3 forbids them; mime.c never produces them).
 *
 * Hot path: canonical bytes go straight into SHA-256 through a chunk on
 * the stack, and the field is built in the caller's buffer, so a call
 * allocates nothing of its own beyond OpenSSL's per-signature contexts.
 * The RSA private-key operation is nearly all of the cost.
 *
 * The module holds no global state; one loaded key may sign from many
 * threads at once (OpenSSL 3 allows concurrent use of a const EVP_PKEY).
 * It never logs the key and wipes the PEM text after parsing it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fanfare.h"

#define DKIM_KEY_MAX		(64 * 1024)	/* a PEM file, generously */
#define DKIM_MIN_BITS		1024		/* RFC 8301 section 3.2 */
#define DKIM_MAX_BITS		8192		/* b= fits on the stack */
#define DKIM_GEN_BITS		2048		/* dkim_key_generate's RSA */
#define DKIM_LINE_MAX		78		/* RFC 5322 section 2.1.1 */
#define DKIM_B64_LINE		72		/* b= chunk after the tab */
#define DKIM_NAME_MAX		128		/* a signed header name */
#define DKIM_CHUNK		4096		/* bytes per digest update */
#define DKIM_FOUND_STACK	32		/* names listed, no malloc */

#define DKIM_B64_LEN(n)		(((n) + 2) / 3 * 4)

struct dkim_key {
	EVP_PKEY	*pkey;
	int		 ed25519;	/* else RSA */
	char		*domain;
	char		*selector;
};

/* The last instance of one listed header name in the message. */
struct dkim_field {
	const char	*p;		/* name to final CRLF; NULL: none */
	size_t		 len;
	size_t		 namelen;	/* of the listed name */
};

/*
 * Where canonical bytes go: a digest (through chunk, so the loops below
 * do not call into OpenSSL for every word) or, for the tests, a buf.
 */
struct dkim_sink {
	EVP_MD_CTX	*ctx;		/* NULL: append to b */
	struct buf	*b;
	int		 sign;		/* ctx is a DigestSign context */
	int		 failed;
	size_t		 len;
	unsigned char	 chunk[DKIM_CHUNK];
};

static void	 dkim_crypto_failed(const char *);

/* Exposed for tests/test_dkim.c only (not part of the module's API). */
int	 dkim_canon_header(const char *, size_t, struct buf *);
int	 dkim_canon_body(const char *, size_t, struct buf *);

static int
dkim_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Not WSP, CR, LF or NUL: a byte copied as it is.  Most bytes take the
 * first test. */
static int
dkim_is_plain(char c)
{
	unsigned char	u = (unsigned char)c;

	return u > ' ' || (u != ' ' && u != '\t' && u != '\r' && u != '\n' &&
	    u != '\0');
}

static char
dkim_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;	/* ASCII only */
}

/* RFC 5322 ftext minus ';', which would end the h= tag early. */
static int
dkim_name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > DKIM_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == ':' || c == ';')
			return 0;
	}
	return 1;
}

/*
 * d= and s= go verbatim into the header and into a DNS name: dot-separated
 * labels of 1 to 63 letters, digits, '-' or '_', at most 253 in all.
 */
static int
dkim_label_ok(const char *s)
{
	size_t	i, n, label = 0;
	char	c;

	n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '-' && c != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* A passphrase prompt on the terminal would hang a daemon: refuse. */
static int
dkim_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return -1;
}

/*
 * The key of a PEM text (RSA of DKIM_MIN_BITS to DKIM_MAX_BITS bits, or
 * Ed25519) for d=domain, s=selector; NULL with err, which names what
 * (the file, or "key") but never quotes the text.
 */
static struct dkim_key *
dkim_key_parse_as(const char *pem, size_t len, const char *domain,
    const char *selector, const char *what, int rsa_only, char *err,
    size_t errlen)
{
	struct dkim_key	*key = NULL;
	EVP_PKEY	*pkey = NULL;
	BIO		*bio = NULL;
	int		 bits, ed25519 = 0;

	if (domain == NULL || !dkim_label_ok(domain)) {
		snprintf(err, errlen, "bad DKIM domain \"%s\"",
		    domain != NULL ? domain : "");
		goto done;
	}
	if (selector == NULL || !dkim_label_ok(selector)) {
		snprintf(err, errlen, "bad DKIM selector \"%s\"",
		    selector != NULL ? selector : "");
		goto done;
	}
	if (len > DKIM_KEY_MAX || (bio = BIO_new_mem_buf(pem,
	    (int)len)) == NULL) {
		snprintf(err, errlen, "%s: too long or out of memory", what);
		goto done;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, dkim_no_passphrase, NULL);
	if (pkey == NULL) {
		snprintf(err, errlen, "%s: not an unencrypted PEM private key",
		    what);
		goto done;
	}
	if (!rsa_only && EVP_PKEY_is_a(pkey, "ED25519"))
		ed25519 = 1;
	else if (!EVP_PKEY_is_a(pkey, "RSA")) {
		snprintf(err, errlen, "%s: not an RSA %skey (%s)", what,
		    rsa_only ? "" : "or Ed25519 ",
		    EVP_PKEY_get0_type_name(pkey));
		goto done;
	}
	bits = EVP_PKEY_get_bits(pkey);
	if (!ed25519 && (bits < DKIM_MIN_BITS || bits > DKIM_MAX_BITS)) {
		snprintf(err, errlen, "%s: RSA key of %d bits, need %d to %d",
		    what, bits, DKIM_MIN_BITS, DKIM_MAX_BITS);
		goto done;
	}
	key = xcalloc(1, sizeof(*key));
	key->pkey = pkey;
	key->ed25519 = ed25519;
	key->domain = xstrdup(domain);
	key->selector = xstrdup(selector);
	pkey = NULL;
done:
	/* Errors left queued would be read as TLS errors on this thread. */
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return key;
}

struct dkim_key *
dkim_key_load(const char *path, const char *domain, const char *selector,
    char *err, size_t errlen)
{
	struct dkim_key	*key;
	char		*pem;
	size_t		 len = 0;

	if (path == NULL) {
		snprintf(err, errlen, "no DKIM key file");
		return NULL;
	}
	if ((pem = read_file(path, DKIM_KEY_MAX, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	/* The node's key signs alone: the RSA every verifier knows (RFC
	 * 8463 keys go with an RSA one). */
	key = dkim_key_parse_as(pem, len, domain, selector, path, 1, err,
	    errlen);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return key;
}

struct dkim_key *
dkim_key_parse(const char *pem, size_t len, const char *domain,
    const char *selector, const char *what, char *err, size_t errlen)
{
	return dkim_key_parse_as(pem, len, domain, selector, what, 0, err,
	    errlen);
}

int
dkim_key_is_ed25519(const struct dkim_key *key)
{
	return key->ed25519;
}

/*
 * A new key: RSA of DKIM_GEN_BITS bits or Ed25519.  *pem gets its
 * unencrypted PKCS#8 PEM (the caller seals it and wipes it), *pub the
 * p= value of its DNS record: base64 of the SubjectPublicKeyInfo for
 * RSA (RFC 6376 section 3.6.1), of the raw 32-byte key for Ed25519
 * (RFC 8463 section 4).  Both NUL-terminated, freed by the caller.
 */
int
dkim_key_generate(int ed25519, char **pem, char **pub)
{
	EVP_PKEY	*pkey = NULL;
	BIO		*bio = NULL;
	unsigned char	*der = NULL, raw[32];
	char		*data;
	size_t		 rawlen = sizeof(raw);
	long		 n;
	int		 dlen = 0, rv = -1;

	*pem = *pub = NULL;
	pkey = ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIM_GEN_BITS);
	if (pkey == NULL || (bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		dkim_crypto_failed("key generation");
		goto done;
	}
	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		goto done;
	*pem = xstrndup(data, (size_t)n);
	if (ed25519) {
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1)
			goto done;
		*pub = xcalloc(1, DKIM_B64_LEN(rawlen) + 1);
		EVP_EncodeBlock((unsigned char *)*pub, raw, (int)rawlen);
	} else {
		if ((dlen = i2d_PUBKEY(pkey, &der)) <= 0)
			goto done;
		*pub = xcalloc(1, DKIM_B64_LEN((size_t)dlen) + 1);
		EVP_EncodeBlock((unsigned char *)*pub, der, dlen);
	}
	rv = 0;
done:
	if (rv == -1) {
		if (*pem != NULL) {
			OPENSSL_cleanse(*pem, strlen(*pem));
			free(*pem);
		}
		free(*pub);
		*pem = *pub = NULL;
		ERR_clear_error();
	}
	if (bio != NULL) {
		/* The memory BIO held the PEM too. */
		if ((n = BIO_get_mem_data(bio, &data)) > 0)
			OPENSSL_cleanse(data, (size_t)n);
		BIO_free(bio);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	return rv;
}

void
dkim_key_free(struct dkim_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key->domain);
	free(key->selector);
	free(key);
}

static void
dkim_sink_flush(struct dkim_sink *s)
{
	int	ok;

	if (s->len == 0)
		return;
	if (s->sign)
		ok = EVP_DigestSignUpdate(s->ctx, s->chunk, s->len);
	else
		ok = EVP_DigestUpdate(s->ctx, s->chunk, s->len);
	if (ok != 1)
		s->failed = 1;
	s->len = 0;
}

static void
dkim_sink_add(struct dkim_sink *s, const char *p, size_t n)
{
	if (s->ctx == NULL) {
		buf_add(s->b, p, n);
		return;
	}
	if (n > sizeof(s->chunk) - s->len) {
		dkim_sink_flush(s);
		if (n > sizeof(s->chunk)) {
			if ((s->sign ? EVP_DigestSignUpdate(s->ctx, p, n) :
			    EVP_DigestUpdate(s->ctx, p, n)) != 1)
				s->failed = 1;
			return;
		}
	}
	memcpy(s->chunk + s->len, p, n);
	s->len += n;
}

/*
 * Relaxed header canonicalisation (RFC 6376 section 3.4.2) of one field,
 * "Name : value" possibly folded, with or without its final CRLF: the
 * name in lower case, no WSP around the colon, the folding CRLFs gone,
 * WSP runs as one SP and none at the end.  crlf: end the result with
 * CRLF (every field but the DKIM-Signature being computed).  -1 when
 * there is no colon or no name.
 */
static int
dkim_canon_field(const char *p, size_t len, int crlf, struct dkim_sink *s)
{
	const char	*colon;
	char		 lower[64];
	size_t		 i, k, n, namelen, run;
	int		 space = 0, any = 0;

	if (len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n')
		len -= 2;
	if ((colon = memchr(p, ':', len)) == NULL)
		return -1;
	namelen = colon - p;
	while (namelen > 0 && dkim_is_wsp(p[namelen - 1]))
		namelen--;
	if (namelen == 0)
		return -1;
	for (i = 0; i < namelen; i += n) {
		n = namelen - i < sizeof(lower) ? namelen - i : sizeof(lower);
		for (k = 0; k < n; k++)
			lower[k] = dkim_lower(p[i + k]);
		dkim_sink_add(s, lower, n);
	}
	dkim_sink_add(s, ":", 1);
	for (i = colon - p + 1; i < len; i = run) {
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
			run = i + 2;	/* unfold: the CRLF goes, WSP stays */
			continue;
		}
		if (dkim_is_wsp(p[i])) {
			space = 1;
			run = i + 1;
			continue;
		}
		for (run = i + 1; run < len && !dkim_is_wsp(p[run]) &&
		    p[run] != '\r'; run++)
			;
		if (space && any)
			dkim_sink_add(s, " ", 1);
		dkim_sink_add(s, p + i, run - i);
		space = 0;
		any = 1;
	}
	if (crlf)
		dkim_sink_add(s, "\r\n", 2);
	return 0;
}

/*
 * Relaxed body canonicalisation (RFC 6376 section 3.4.4): WSP at the end
 * of each line goes, other WSP runs become one SP, empty lines at the end
 * go, and a non-empty body ends with CRLF.  An empty body, or one of
 * empty lines only, stays EMPTY: the CRLF of section 3.4.3 is the simple
 * algorithm's.  A last line without CRLF is read as a line like the
 * others (SMTP will end it with one), so one of WSP only is empty.
 * -1 on a bare CR or LF or a NUL.
 */
static int
dkim_canon_body_to(const char *p, size_t len, struct dkim_sink *s)
{
	size_t	i = 0, run, nempty = 0;
	int	wsp, text;

	while (i < len) {
		/* One line: up to and past its CRLF, or to the end. */
		wsp = text = 0;
		while (i < len) {
			if (dkim_is_wsp(p[i])) {
				wsp = 1;
				i++;
				continue;
			}
			if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n') {
				i += 2;
				break;
			}
			if (!dkim_is_plain(p[i]))
				return -1;
			/* The longest span already canonical: plain bytes
			 * and single SPs between them. */
			for (run = i + 1; run < len; run++)
				if (!dkim_is_plain(p[run]) && !(p[run] == ' ' &&
				    run + 1 < len && dkim_is_plain(p[run + 1])))
					break;
			if (!text) {
				for (; nempty > 0; nempty--)
					dkim_sink_add(s, "\r\n", 2);
				text = 1;
			}
			if (wsp)
				dkim_sink_add(s, " ", 1);
			dkim_sink_add(s, p + i, run - i);
			wsp = 0;
			i = run;
		}
		if (text)
			dkim_sink_add(s, "\r\n", 2);
		else
			nempty++;	/* written only if text follows */
	}
	return 0;
}

int
dkim_canon_header(const char *p, size_t len, struct buf *out)
{
	struct dkim_sink	s = { .b = out };

	return dkim_canon_field(p, len, 1, &s);
}

int
dkim_canon_body(const char *p, size_t len, struct buf *out)
{
	struct dkim_sink	s = { .b = out };

	return dkim_canon_body_to(p, len, &s);
}

/*
 * Walks the header section of msg and records in found[] the last
 * instance of each listed name (found[i].namelen set by the caller).
 * Sets *bodyp to the body's offset (len for a message of header fields
 * only).  -1 when the section is malformed or has not exactly one From.
 */
static int
dkim_scan_header(const char *msg, size_t len, const char *const *names,
    struct dkim_field *found, size_t nnames, size_t *bodyp)
{
	const char	*colon;
	size_t		 pos = 0, i, j, namelen;
	int		 nfrom = 0;

	if (len == 0 || dkim_is_wsp(msg[0]))
		return -1;		/* nothing, or a continuation first */
	for (;;) {
		if (pos == len)
			break;		/* fields only, no body */
		if (msg[pos] == '\r') {
			if (pos + 1 >= len || msg[pos + 1] != '\n')
				return -1;
			pos += 2;	/* the empty line */
			break;
		}
		/* One field: lines until a CRLF not followed by WSP. */
		for (i = pos; i < len; i++) {
			if (msg[i] == '\0' || msg[i] == '\n')
				return -1;	/* NUL, bare LF */
			if (msg[i] != '\r')
				continue;
			if (i + 1 >= len || msg[i + 1] != '\n')
				return -1;	/* bare CR */
			i++;
			if (i + 1 >= len || !dkim_is_wsp(msg[i + 1]))
				break;
		}
		if (i >= len)
			return -1;	/* no final CRLF */
		i++;			/* past the LF */
		if ((colon = memchr(msg + pos, ':', i - pos)) == NULL)
			return -1;
		namelen = colon - (msg + pos);
		while (namelen > 0 && dkim_is_wsp(msg[pos + namelen - 1]))
			namelen--;
		if (!dkim_name_ok(msg + pos, namelen))
			return -1;
		if (namelen == 4 && strncasecmp(msg + pos, "from", 4) == 0)
			nfrom++;
		for (j = 0; j < nnames; j++)
			if (found[j].namelen == namelen &&
			    strncasecmp(msg + pos, names[j], namelen) == 0) {
				found[j].p = msg + pos;
				found[j].len = i - pos;
			}
		pos = i;
	}
	if (pos == 0 || nfrom != 1)
		return -1;	/* no fields, or From missing or twice */
	*bodyp = pos;
	return 0;
}

/* Appends " s" to the field being folded at DKIM_LINE_MAX, or "CRLF TAB s"
 * when s would not fit on the current line; col is that line's length.
 * sp 0 joins without a space (the ":name" units of h=, where FWS before
 * the colon is allowed). */
static void
dkim_fold_add(struct buf *b, size_t *col, const char *s, int sp)
{
	size_t	n = strlen(s);

	if (*col + sp + n > DKIM_LINE_MAX && *col > 1) {
		buf_add(b, "\r\n\t", 3);
		*col = 1;
	} else if (sp) {
		buf_add(b, " ", 1);
		*col += 1;
	}
	buf_add(b, s, n);
	*col += n;
}

/* Logs what OpenSSL says (never key material) and clears the queue, which
 * would otherwise be read as a TLS error by the next SSL call here. */
static void
dkim_crypto_failed(const char *what)
{
	char	 msg[256];

	ERR_error_string_n(ERR_peek_last_error(), msg, sizeof(msg));
	log_warnx("dkim: %s: %s", what, msg);
	ERR_clear_error();
}

int
dkim_sign(const struct dkim_key *key, const char *msg, size_t len,
    const char *const *headers, time_t now, struct buf *out)
{
	struct dkim_field	 found_stack[DKIM_FOUND_STACK];
	struct dkim_field	*found = found_stack;
	struct dkim_sink	 sink;
	EVP_MD_CTX		*mctx = NULL;
	unsigned char		 bh[EVP_MAX_MD_SIZE];
	unsigned char		 b[DKIM_MAX_BITS / 8];
	char			 bh64[DKIM_B64_LEN(EVP_MAX_MD_SIZE) + 1];
	char			 b64[DKIM_B64_LEN(DKIM_MAX_BITS / 8) + 1];
	char			 tok[DKIM_NAME_MAX + 300];
	size_t			 start = out->len, col, body, i, j, n, nb;
	size_t			 nnames, nsigned = 0, blen;
	unsigned int		 bhlen;
	int			 rv = -1;

	if (msg == NULL || headers == NULL)
		goto done;
	for (nnames = 0; headers[nnames] != NULL; nnames++)
		;
	if (nnames > FF_NELEM(found_stack))
		found = xcalloc(nnames, sizeof(*found));
	for (i = 0; i < nnames; i++) {
		found[i].p = NULL;
		found[i].len = 0;
		found[i].namelen = strlen(headers[i]);
		if (!dkim_name_ok(headers[i], found[i].namelen))
			goto done;
	}
	if (dkim_scan_header(msg, len, headers, found, nnames, &body) == -1)
		goto done;
	/* A name listed twice is signed once, at its first place in h=. */
	for (i = 0; i < nnames; i++)
		for (j = 0; j < i && found[i].p != NULL; j++)
			if (strcasecmp(headers[j], headers[i]) == 0)
				found[i].p = NULL;
	/* From present (the scan saw exactly one) and listed. */
	for (i = 0; i < nnames; i++)
		if (found[i].p != NULL && strcasecmp(headers[i], "from") == 0)
			break;
	if (i == nnames)
		goto done;

	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		dkim_crypto_failed("EVP_MD_CTX_new");
		goto done;
	}
	sink.ctx = mctx;
	sink.b = NULL;
	sink.sign = 0;
	sink.failed = 0;
	sink.len = 0;
	if (EVP_DigestInit_ex(mctx, EVP_sha256(), NULL) != 1) {
		dkim_crypto_failed("body hash");
		goto done;
	}
	if (dkim_canon_body_to(msg + body, len - body, &sink) == -1)
		goto done;		/* bare CR or LF, or NUL */
	dkim_sink_flush(&sink);
	if (sink.failed || EVP_DigestFinal_ex(mctx, bh, &bhlen) != 1) {
		dkim_crypto_failed("body hash");
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)bh64, bh, (int)bhlen);

	/* The field with b= empty, straight into out. */
	buf_adds(out, "DKIM-Signature:");
	col = strlen("DKIM-Signature:");
	dkim_fold_add(out, &col, "v=1;", 1);
	dkim_fold_add(out, &col, key->ed25519 ? "a=ed25519-sha256;" :
	    "a=rsa-sha256;", 1);
	dkim_fold_add(out, &col, "c=relaxed/relaxed;", 1);
	snprintf(tok, sizeof(tok), "d=%s;", key->domain);
	dkim_fold_add(out, &col, tok, 1);
	snprintf(tok, sizeof(tok), "s=%s;", key->selector);
	dkim_fold_add(out, &col, tok, 1);
	snprintf(tok, sizeof(tok), "t=%lld;", (long long)now);
	dkim_fold_add(out, &col, tok, 1);
	/* h= as "h=first" then ":next" units, names the message lacks out. */
	for (i = 0; i < nnames; i++) {
		if (found[i].p == NULL)
			continue;
		n = nsigned++ == 0 ? 2 : 1;
		memcpy(tok, n == 2 ? "h=" : ":", n);
		memcpy(tok + n, headers[i], found[i].namelen + 1);
		dkim_fold_add(out, &col, tok, n == 2);
	}
	dkim_fold_add(out, &col, ";", 0);
	snprintf(tok, sizeof(tok), "bh=%s;", bh64);
	dkim_fold_add(out, &col, tok, 1);
	/* b= starts a line, so its folding cannot depend on its value. */
	buf_add(out, "\r\n\tb=", 5);

	/*
	 * Signed data: the canonical fields in h= order, then this field.
	 * RSA signs it through SHA-256; Ed25519 signs its SHA-256 hash as
	 * the message (RFC 8463 section 3: pure Ed25519 over the hash).
	 */
	EVP_MD_CTX_reset(mctx);
	sink.sign = !key->ed25519;
	if ((key->ed25519 ? EVP_DigestInit_ex(mctx, EVP_sha256(), NULL) :
	    EVP_DigestSignInit(mctx, NULL, EVP_sha256(), NULL,
	    key->pkey)) != 1) {
		dkim_crypto_failed("signing init");
		goto done;
	}
	for (i = 0; i < nnames; i++)
		if (found[i].p != NULL)
			dkim_canon_field(found[i].p, found[i].len, 1, &sink);
	dkim_canon_field(out->p + start, out->len - start, 0, &sink);
	dkim_sink_flush(&sink);
	blen = sizeof(b);
	if (sink.failed) {
		dkim_crypto_failed("signing");
		goto done;
	}
	if (key->ed25519) {
		if (EVP_DigestFinal_ex(mctx, bh, &bhlen) != 1 ||
		    EVP_MD_CTX_reset(mctx) != 1 ||
		    EVP_DigestSignInit(mctx, NULL, NULL, NULL,
		    key->pkey) != 1 ||
		    EVP_DigestSign(mctx, b, &blen, bh, bhlen) != 1) {
			dkim_crypto_failed("ed25519 signing");
			goto done;
		}
	} else if (EVP_DigestSignFinal(mctx, b, &blen) != 1) {
		dkim_crypto_failed("signing");
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)b64, b, (int)blen);

	/* "\tb=" then DKIM_B64_LINE - 3 characters, then tab-led lines;
	 * verifiers drop the folding whitespace inside b=. */
	nb = strlen(b64);
	for (i = 0, n = DKIM_B64_LINE - 3; i < nb; i += n, n = DKIM_B64_LINE) {
		if (i > 0)
			buf_add(out, "\r\n\t", 3);
		buf_add(out, b64 + i, nb - i < n ? nb - i : n);
	}
	buf_add(out, "\r\n", 2);
	rv = 0;
done:
	if (rv == -1 && out->len > start) {
		out->len = start;	/* nothing half-written */
		out->p[start] = '\0';
	}
	EVP_MD_CTX_free(mctx);
	if (found != found_stack)
		free(found);
	return rv;
}
