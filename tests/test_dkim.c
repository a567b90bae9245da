/*
 * test_dkim.c: dkim.c's relaxed canonicalisation against the example of
 * RFC 6376 section 3.4.5, its edge cases and a naive reference written
 * from the RFC's words (on random bodies); key loading errors; malformed
 * messages; folding; and signatures checked two independent ways:
 * EVP_DigestVerify over canonical data this file builds itself, and
 * Debian's python3-dkim verifying the signed message with the public key
 * served by a fake DNS function.
 */
#include <sys/wait.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "fanfare.h"

/* dkim.c's canonicalisers, exposed for this file only. */
int	 dkim_canon_header(const char *, size_t, struct buf *);
int	 dkim_canon_body(const char *, size_t, struct buf *);

#define PYTHON		"/usr/bin/python3"	/* Debian's, with dkim */
#define DOMAIN		"example.com"
#define SELECTOR	"sel"
#define PY_PASS		0
#define PY_FAIL		3	/* dkim.verify said no; 1 is a crash */

/* What the delivery code signs. */
static const char *const sign_headers[] = {
	"From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe",
	"List-Unsubscribe-Post", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", NULL,
};

/* SHA-256 of nothing: the relaxed body hash of an empty body. */
#define EMPTY_BH	"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static const char	 python_verify_py[] =
    "import logging, sys\n"
    "import dkim\n"
    "logging.basicConfig(stream=sys.stdout, level=logging.DEBUG)\n"
    "msg = open(sys.argv[1], 'rb').read()\n"
    "txt = open(sys.argv[2], 'rb').read()\n"
    "want = sys.argv[3].encode()\n"
    "def dnsfunc(name, timeout=5):\n"
    "    return txt if name == want else None\n"
    "ok = dkim.verify(msg, logger=logging.getLogger('dkim'),\n"
    "    dnsfunc=dnsfunc)\n"
    "print('dkim verify:', 'pass' if ok else 'fail')\n"
    "sys.exit(0 if ok else 3)\n";

/* ------------------------------------------------------------ harness */

static EVP_PKEY		*test_pkey;		/* what the fixture made */
static char		 test_key_path[64];

static void
tmp_path(char *out, size_t n)
{
	int	fd;

	snprintf(out, n, "/tmp/ff-dkim-XXXXXX");
	cr_assert_neq(fd = mkstemp(out), -1, "mkstemp");
	close(fd);
}

static void
write_bytes(const char *path, const void *p, size_t n)
{
	FILE	*fp;

	cr_assert_not_null(fp = fopen(path, "wb"), "%s", path);
	cr_assert_eq(fwrite(p, 1, n, fp), n);
	cr_assert_eq(fclose(fp), 0);
}

static EVP_PKEY *
gen_rsa(unsigned int bits)
{
	EVP_PKEY	*pkey;

	cr_assert_not_null(pkey = EVP_RSA_gen(bits), "EVP_RSA_gen(%u)", bits);
	return pkey;
}

/* PKCS#8 PEM by default; traditional "BEGIN RSA PRIVATE KEY" or an
 * encrypted PEM on request. */
enum pem_form { PEM_PKCS8, PEM_TRADITIONAL, PEM_ENCRYPTED };

static void
write_key(EVP_PKEY *pkey, const char *path, enum pem_form form)
{
	BIO	*bio;
	int	 ok;

	cr_assert_not_null(bio = BIO_new_file(path, "w"));
	switch (form) {
	case PEM_TRADITIONAL:
		ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL,
		    NULL, 0, NULL, NULL);
		break;
	case PEM_ENCRYPTED:
		ok = PEM_write_bio_PrivateKey(bio, pkey, EVP_aes_256_cbc(),
		    (unsigned char *)"secret", 6, NULL, NULL);
		break;
	default:
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
		    NULL);
	}
	cr_assert_eq(ok, 1, "PEM_write");
	cr_assert_eq(BIO_free(bio), 1);
}

static void
key_setup(void)
{
	test_pkey = gen_rsa(2048);
	tmp_path(test_key_path, sizeof(test_key_path));
	write_key(test_pkey, test_key_path, PEM_PKCS8);
}

static void
key_teardown(void)
{
	unlink(test_key_path);
	EVP_PKEY_free(test_pkey);
	test_pkey = NULL;
}

static struct dkim_key *
load_ok(const char *path, const char *domain, const char *selector)
{
	struct dkim_key	*key;
	char		 err[256] = "";

	key = dkim_key_load(path, domain, selector, err, sizeof(err));
	cr_assert_not_null(key, "dkim_key_load: %s", err);
	return key;
}

/* The public half, rebuilt from DER the test derives from its own key:
 * nothing of dkim.c's in it. */
static EVP_PKEY *
public_of(EVP_PKEY *pkey, struct buf *der_b64)
{
	unsigned char	*der = NULL;
	const unsigned char *q;
	EVP_PKEY	*pub;
	char		*b64;
	int		 n;

	cr_assert_gt(n = i2d_PUBKEY(pkey, &der), 0);
	q = der;
	cr_assert_not_null(pub = d2i_PUBKEY(NULL, &q, n));
	if (der_b64 != NULL) {
		b64 = malloc((size_t)(n + 2) / 3 * 4 + 1);
		EVP_EncodeBlock((unsigned char *)b64, der, n);
		buf_adds(der_b64, b64);
		free(b64);
	}
	OPENSSL_free(der);
	return pub;
}

static void
sign_ok(const struct dkim_key *key, const char *msg, size_t len,
    const char *const *names, time_t now, struct buf *out)
{
	cr_assert_eq(dkim_sign(key, msg, len, names, now, out), 0,
	    "dkim_sign refused:\n%s", msg);
}

/* Runs dkimpy on sig + msg, the key's TXT record served for
 * SELECTOR._domainkey.DOMAIN; returns the exit status and leaves what
 * it printed in log. */
static int
python_verify(EVP_PKEY *pkey, const char *domain, const char *selector,
    const char *sig, size_t siglen, const char *msg, size_t len,
    struct buf *log)
{
	char		 mpath[64], tpath[64], spath[64], opath[64], cmd[512];
	struct buf	 txt = { NULL, 0, 0 }, m = { NULL, 0, 0 };
	char		*o;
	size_t		 olen;
	EVP_PKEY	*pub;
	int		 st;

	tmp_path(mpath, sizeof(mpath));
	tmp_path(tpath, sizeof(tpath));
	tmp_path(spath, sizeof(spath));
	tmp_path(opath, sizeof(opath));
	buf_adds(&txt, "v=DKIM1; k=rsa; p=");
	pub = public_of(pkey, &txt);
	EVP_PKEY_free(pub);
	buf_add(&m, sig, siglen);
	buf_add(&m, msg, len);
	write_bytes(mpath, m.p, m.len);
	write_bytes(tpath, txt.p, txt.len);
	write_bytes(spath, python_verify_py, strlen(python_verify_py));
	snprintf(cmd, sizeof(cmd), "%s %s %s %s %s._domainkey.%s. >%s 2>&1",
	    PYTHON, spath, mpath, tpath, selector, domain, opath);
	st = system(cmd);
	cr_assert(WIFEXITED(st), "python did not exit");
	o = read_file(opath, 1 << 20, &olen);
	cr_assert_not_null(o);
	if (log != NULL)
		buf_add(log, o, olen);
	free(o);
	unlink(mpath);
	unlink(tpath);
	unlink(spath);
	unlink(opath);
	buf_free(&txt);
	buf_free(&m);
	return WEXITSTATUS(st);
}

static void
python_pass(EVP_PKEY *pkey, const char *domain, const char *selector,
    const char *sig, size_t siglen, const char *msg, size_t len)
{
	struct buf	log = { NULL, 0, 0 };
	int		rc;

	rc = python_verify(pkey, domain, selector, sig, siglen, msg, len, &log);
	cr_assert_eq(rc, PY_PASS, "dkimpy exit %d:\n%s\n%s%s", rc, log.p, sig,
	    msg);
	cr_assert(strstr(log.p, "dkim verify: pass") != NULL);
	buf_free(&log);
}

/* Asserts dkimpy's verdict is "fail" and that its log says why. */
static void
python_fail(EVP_PKEY *pkey, const char *sig, size_t siglen, const char *msg,
    size_t len, const char *why)
{
	struct buf	log = { NULL, 0, 0 };
	int		rc;

	rc = python_verify(pkey, DOMAIN, SELECTOR, sig, siglen, msg, len, &log);
	cr_assert_eq(rc, PY_FAIL, "dkimpy exit %d (want fail):\n%s", rc,
	    log.p);
	cr_assert(strstr(log.p, why) != NULL, "no \"%s\" in:\n%s", why, log.p);
	buf_free(&log);
}

/*
 * RFC 6376 section 3.4.2 as its words say, one pass per rule: unfold,
 * WSP runs to one SP, trim the value, lower-case the name, no WSP
 * around the colon.  Without the final CRLF.
 */
static void
ref_canon_header(const char *field, struct buf *out)
{
	struct buf	 t = { NULL, 0, 0 };
	const char	*colon, *v;
	size_t		 i, n, namelen;

	n = strlen(field);
	for (i = 0; i < n; i++)		/* unfold */
		if (!(field[i] == '\r' && field[i + 1] == '\n'))
			buf_add(&t, field + i, 1);
		else
			i++;
	cr_assert_not_null(colon = strchr(t.p, ':'));
	namelen = colon - t.p;
	while (namelen > 0 && (t.p[namelen - 1] == ' ' ||
	    t.p[namelen - 1] == '\t'))
		namelen--;
	for (i = 0; i < namelen; i++) {
		char c = t.p[i] >= 'A' && t.p[i] <= 'Z' ? t.p[i] + 32 : t.p[i];
		buf_add(out, &c, 1);
	}
	buf_add(out, ":", 1);
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	n = out->len;
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			if (out->p[out->len - 1] != ' ')
				buf_add(out, " ", 1);
		} else
			buf_add(out, v, 1);
	}
	if (out->len > n && out->p[out->len - 1] == ' ')
		out->p[--out->len] = '\0';
	buf_free(&t);
}

/* RFC 6376 section 3.4.4 the same way, on a body of CRLF lines. */
static void
ref_canon_body(const char *p, size_t len, struct buf *out)
{
	struct buf	 lines[4096];
	size_t		 nlines = 0, nused, i, end, keep;
	const char	*q;

	while (len > 0) {
		cr_assert_lt(nlines, FF_NELEM(lines));
		memset(&lines[nlines], 0, sizeof(lines[0]));
		q = memmem(p, len, "\r\n", 2);
		end = q != NULL ? (size_t)(q - p) : len;
		/* trailing WSP goes, other runs become one SP */
		keep = end;
		while (keep > 0 && (p[keep - 1] == ' ' || p[keep - 1] == '\t'))
			keep--;
		for (i = 0; i < keep; i++) {
			if (p[i] == ' ' || p[i] == '\t') {
				if (i == 0 || (p[i - 1] != ' ' &&
				    p[i - 1] != '\t'))
					buf_add(&lines[nlines], " ", 1);
			} else
				buf_add(&lines[nlines], p + i, 1);
		}
		nlines++;
		if (q == NULL)
			break;
		p += end + 2;
		len -= end + 2;
	}
	nused = nlines;
	while (nlines > 0 && lines[nlines - 1].len == 0)
		nlines--;		/* empty lines at the end */
	for (i = 0; i < nlines; i++) {
		if (lines[i].len > 0)
			buf_add(out, lines[i].p, lines[i].len);
		buf_add(out, "\r\n", 2);
	}
	for (i = 0; i < nused; i++)
		buf_free(&lines[i]);
}

/* Tag t of a DKIM-Signature value with every WSP and CRLF removed. */
static int
tag_of(const char *field, const char *t, char *out, size_t outlen)
{
	struct buf	 flat = { NULL, 0, 0 };
	const char	*p, *semi;
	size_t		 tlen = strlen(t), i, n;
	int		 found = 0;

	p = strchr(field, ':');
	for (p++; *p != '\0'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			buf_add(&flat, p, 1);
	for (p = flat.p; p != NULL && *p != '\0'; p = semi ? semi + 1 : NULL) {
		semi = strchr(p, ';');
		n = semi != NULL ? (size_t)(semi - p) : strlen(p);
		if (n > tlen && strncmp(p, t, tlen) == 0 && p[tlen] == '=') {
			i = n - tlen - 1;
			cr_assert_lt(i, outlen);
			memcpy(out, p + tlen + 1, i);
			out[i] = '\0';
			found++;
		}
	}
	buf_free(&flat);
	return found == 1 ? 0 : -1;
}

/* The DKIM-Signature field as the signer hashed it, built by this file
 * (RFC 6376 section 3.7): relaxed, b= value deleted, no final CRLF. */
static void
ref_sig_data(const char *sigfield, struct buf *out)
{
	struct buf	 c = { NULL, 0, 0 }, f = { NULL, 0, 0 };
	char		*b;

	buf_add(&f, sigfield, strlen(sigfield) - 2);	/* the CRLF */
	ref_canon_header(f.p, &c);
	/* "b=" at the start of a tag (not the one in "bh="). */
	b = strstr(c.p, "; b=");
	cr_assert_not_null(b, "no b= in %s", c.p);
	cr_assert_null(strchr(b + 1, ';'), "b= is not the last tag");
	c.len = b + 4 - c.p;
	c.p[c.len] = '\0';
	buf_add(out, c.p, c.len);
	buf_free(&c);
	buf_free(&f);
}

/* EVP_DigestVerify of b= over data with the given public key. */
static int
evp_verify(EVP_PKEY *pub, const char *sigfield, const char *data,
    size_t len)
{
	unsigned char	 sig[1024];
	char		 b64[2048];
	EVP_MD_CTX	*ctx;
	int		 n, rc;
	size_t		 blen;

	cr_assert_eq(tag_of(sigfield, "b", b64, sizeof(b64)), 0);
	blen = strlen(b64);
	cr_assert_leq(blen / 4 * 3, sizeof(sig));
	n = EVP_DecodeBlock(sig, (unsigned char *)b64, (int)blen);
	cr_assert_gt(n, 0);
	while (blen > 0 && b64[--blen] == '=')
		n--;		/* DecodeBlock counts the padding */
	cr_assert_not_null(ctx = EVP_MD_CTX_new());
	cr_assert_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    pub), 1);
	rc = EVP_DigestVerify(ctx, sig, (size_t)n, (const unsigned char *)data,
	    len);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static void
sha256_b64(const char *p, size_t n, char out[64])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;

	cr_assert_eq(EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL), 1);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

/* Every line at most 78 octets, CRLF-ended, continuations tab-led. */
static void
check_folding(const char *f)
{
	const char	*p, *eol;
	size_t		 n = 0;

	cr_assert(strncmp(f, "DKIM-Signature:", 15) == 0, "%s", f);
	for (p = f; *p != '\0'; p = eol + 2, n++) {
		cr_assert_not_null(eol = strstr(p, "\r\n"), "no CRLF: %s", p);
		cr_assert_leq(eol - p, 78, "line of %d: %.*s", (int)(eol - p),
		    (int)(eol - p), p);
		cr_assert(eol > p, "empty line in %s", f);
		if (n > 0)
			cr_assert_eq(*p, '\t', "continuation without tab: %s",
			    p);
		cr_assert_null(memchr(p, '\n', eol - p));
		cr_assert_null(memchr(p, '\r', eol - p));
	}
}

/*
 * A 20 KB newsletter as mime.c builds one: the ten signed fields,
 * multipart/alternative, quoted-printable lines of 76 with a soft break,
 * WSP at line ends and a few empty lines at the end.
 */
static void
big_message(struct buf *m)
{
	int	i;

	buf_adds(m,
	    "From: =?utf-8?q?F=C3=A4nfare?= <news@example.com>\r\n"
	    "To: reader@example.org\r\n"
	    "Subject: =?utf-8?q?Sommer=C2=A0Angebote?= and a subject long"
	    " enough\r\n"
	    " to be folded  \t  twice\r\n"
	    "\tby the MIME code\r\n"
	    "Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n"
	    "Message-ID: <c1.42.7@t.example.com>\r\n"
	    "List-Unsubscribe:"
	    " <https://t.example.com/u/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8>"
	    "\r\n"
	    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"=_ff_0123456789abcdef\"\r\n"
	    "\r\n"
	    "--=_ff_0123456789abcdef\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n");
	for (i = 0; m->len < 10000; i++)
		buf_addf(m, "Line %05d of the text part,   with  runs\tof"
		    " whitespace and a soft break here=\r\n and trailing  \r\n",
		    i);
	buf_adds(m,
	    "\r\n"
	    "--=_ff_0123456789abcdef\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n");
	for (i = 0; m->len < 20400; i++)
		buf_addf(m, "<p style=3D\"margin:0\">Paragraph %d, <a href=3D"
		    "\"https://t.example.com/c/x%d\">link</a></p>\t\r\n", i, i);
	buf_adds(m, "--=_ff_0123456789abcdef--\r\n\r\n \r\n\t\r\n\r\n");
}

/* ------------------------------------------------------------ canon */

/* RFC 6376 section 3.4.5, the header and body of the example. */
Test(canon, rfc6376_example)
{
	static const char a[] = "A: X\r\n";
	static const char b[] = "B : Y\t\r\n\tZ  \r\n";
	static const char body[] =
	    " C \r\n"
	    "D \t E\r\n"
	    "\r\n"
	    "\r\n";
	struct buf	out = { NULL, 0, 0 };

	cr_assert_eq(dkim_canon_header(a, strlen(a), &out), 0);
	cr_assert_eq(dkim_canon_header(b, strlen(b), &out), 0);
	cr_assert_str_eq(out.p, "a:X\r\nb:Y Z\r\n");
	buf_reset(&out);
	cr_assert_eq(dkim_canon_body(body, strlen(body), &out), 0);
	cr_assert_str_eq(out.p, " C\r\nD E\r\n");
	buf_free(&out);
}

Test(canon, header_edge_cases)
{
	static const struct {
		const char	*in;
		const char	*want;		/* NULL: -1 */
	} cases[] = {
		{ "Subject: Hi\r\n", "subject:Hi\r\n" },
		{ "SUBJECT:Hi", "subject:Hi\r\n" },	/* no CRLF given */
		{ "X-Ünï: v\r\n", "x-Ünï:v\r\n" },	/* ASCII only lowered */
		{ "To \t :\t  a@b  \t\r\n", "to:a@b\r\n" },
		{ "X:\r\n", "x:\r\n" },
		{ "X:   \t \r\n", "x:\r\n" },
		{ "X: a \t  b\t\tc \r\n", "x:a b c\r\n" },
		{ "X: a\r\n b\r\n\tc\r\n", "x:a b c\r\n" },
		{ "X:\r\n  a\r\n", "x:a\r\n" },		/* folded first */
		{ "X: a\r\n \r\n", "x:a\r\n" },		/* WSP-only line */
		{ "X: Mixed CaSe kept", "x:Mixed CaSe kept\r\n" },
		{ "X: a:b: c", "x:a:b: c\r\n" },	/* first colon only */
		{ "no colon here\r\n", NULL },
		{ ": no name\r\n", NULL },
		{ " \t: no name\r\n", NULL },
		{ "", NULL },
	};
	struct buf	out = { NULL, 0, 0 };
	size_t		i;
	int		rc;

	for (i = 0; i < FF_NELEM(cases); i++) {
		buf_reset(&out);
		rc = dkim_canon_header(cases[i].in, strlen(cases[i].in), &out);
		if (cases[i].want == NULL) {
			cr_assert_eq(rc, -1, "case %zu accepted", i);
			continue;
		}
		cr_assert_eq(rc, 0, "case %zu refused", i);
		cr_assert_str_eq(out.p, cases[i].want, "case %zu", i);
	}
	buf_free(&out);
}

Test(canon, body_edge_cases)
{
	static const struct {
		const char	*in;
		const char	*want;		/* NULL: -1 */
	} cases[] = {
		/* Relaxed: an empty body hashes as nothing (section 3.4.4;
		 * the CRLF of section 3.4.3 is simple's). */
		{ "", "" },
		{ "\r\n", "" },
		{ "\r\n\r\n\r\n", "" },
		{ " \t \r\n\t\r\n", "" },
		{ "  ", "" },			/* a WSP-only last line */
		{ "a", "a\r\n" },		/* CRLF added */
		{ "a\r\n", "a\r\n" },
		{ "a  \t ", "a\r\n" },
		{ "a \t\r\n", "a\r\n" },	/* trailing WSP */
		{ "a\r\n\r\n\r\n\r\n", "a\r\n" },	/* empty lines at end */
		{ "a\r\n \r\n\t\r\n", "a\r\n" },
		{ "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n" },	/* inner */
		{ "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n" },
		{ "\r\n\r\na\r\n", "\r\n\r\na\r\n" },	/* leading kept */
		{ "a \t  b\t\tc\r\n", "a b c\r\n" },	/* WSP runs */
		{ "\t  a\r\n", " a\r\n" },		/* leading: one SP */
		{ "a\fb\v\r\n", "a\fb\v\r\n" },		/* not WSP */
		{ "a\r\r\n", NULL },			/* bare CR */
		{ "a\rb\r\n", NULL },
		{ "a\r", NULL },
		{ "a\nb\r\n", NULL },			/* bare LF */
		{ "a\r\n\n", NULL },
	};
	struct buf	out = { NULL, 0, 0 };
	size_t		i;
	int		rc;

	for (i = 0; i < FF_NELEM(cases); i++) {
		buf_reset(&out);
		rc = dkim_canon_body(cases[i].in, strlen(cases[i].in), &out);
		if (cases[i].want == NULL) {
			cr_assert_eq(rc, -1, "case %zu accepted", i);
			continue;
		}
		cr_assert_eq(rc, 0, "case %zu refused", i);
		cr_assert_eq(out.len, strlen(cases[i].want), "case %zu", i);
		cr_assert(out.len == 0 ||
		    memcmp(out.p, cases[i].want, out.len) == 0,
		    "case %zu: got \"%s\"", i, out.p);
	}
	cr_assert_eq(dkim_canon_body("a\0b\r\n", 5, &out), -1, "NUL");
	buf_free(&out);
}

/* Random bodies of words, WSP and CRLFs against the reference. */
Test(canon, body_matches_reference_on_random_input)
{
	static const char *const atoms[] = {
		"a", "bc", " ", "\t", "  ", "\r\n", "\r\n", "\r\n\r\n",
	};
	struct buf	 in = { NULL, 0, 0 }, got = { NULL, 0, 0 };
	struct buf	 want = { NULL, 0, 0 };
	unsigned int	 seed = 6376;
	int		 iter, n, k;

	for (iter = 0; iter < 5000; iter++) {
		buf_reset(&in);
		buf_reset(&got);
		buf_reset(&want);
		n = rand_r(&seed) % 40;
		for (k = 0; k < n; k++)
			buf_adds(&in, atoms[rand_r(&seed) % FF_NELEM(atoms)]);
		cr_assert_eq(dkim_canon_body(in.p != NULL ? in.p : "", in.len,
		    &got), 0);
		ref_canon_body(in.p != NULL ? in.p : "", in.len, &want);
		cr_assert_eq(got.len, want.len, "input \"%s\"", in.p);
		cr_assert(got.len == 0 || memcmp(got.p, want.p, got.len) == 0,
		    "input \"%s\"", in.p);
	}
	buf_free(&in);
	buf_free(&got);
	buf_free(&want);
}

/* ------------------------------------------------------------ keys */

static void
load_fails(const char *path, const char *domain, const char *selector,
    const char *why)
{
	char	err[256];

	memset(err, 'x', sizeof(err));
	cr_assert_null(dkim_key_load(path, domain, selector, err,
	    sizeof(err)), "loaded %s d=%s s=%s", path ? path : "(null)",
	    domain ? domain : "(null)", selector ? selector : "(null)");
	cr_assert_not_null(memchr(err, '\0', sizeof(err)));
	cr_assert(strstr(err, why) != NULL, "\"%s\" lacks \"%s\"", err, why);
}

Test(keys, load_errors)
{
	char		 path[64];
	EVP_PKEY	*ec, *small;
	FILE		*fp;
	char		*big;

	tmp_path(path, sizeof(path));

	load_fails("/nonexistent/dkim.pem", DOMAIN, SELECTOR,
	    "No such file");
	load_fails("/tmp", DOMAIN, SELECTOR, "/tmp: ");
	/* An empty file, then text. */
	load_fails(path, DOMAIN, SELECTOR, "not an unencrypted PEM");
	write_bytes(path, "hello, not a key\n", 17);
	load_fails(path, DOMAIN, SELECTOR, "not an unencrypted PEM");
	big = malloc(70000);
	memset(big, 'A', 70000);
	write_bytes(path, big, 70000);
	free(big);
	load_fails(path, DOMAIN, SELECTOR, "too large");

	small = gen_rsa(512);
	write_key(small, path, PEM_PKCS8);
	load_fails(path, DOMAIN, SELECTOR, "512 bits");
	/* A public key is not a private key. */
	cr_assert_not_null(fp = fopen(path, "w"));
	cr_assert_eq(PEM_write_PUBKEY(fp, small), 1);
	fclose(fp);
	load_fails(path, DOMAIN, SELECTOR, "not an unencrypted PEM");
	/* Encrypted: refused at once, no prompt on the terminal. */
	write_key(small, path, PEM_ENCRYPTED);
	load_fails(path, DOMAIN, SELECTOR, "not an unencrypted PEM");
	EVP_PKEY_free(small);

	cr_assert_not_null(ec = EVP_EC_gen("P-256"));
	write_key(ec, path, PEM_PKCS8);
	load_fails(path, DOMAIN, SELECTOR, "not an RSA key");
	EVP_PKEY_free(ec);
	unlink(path);
}

Test(keys, bad_domain_or_selector)
{
	static const char *const bad[] = {
		"", ".", "example.com.", ".example.com", "a..b", "exa mple.com",
		"ex;ample.com", "example.com;h=x", "exa\tmple", "ex:am",
		"ex\xc3\xa4mple.com",
		/* a label of 64 */
		"a12345678901234567890123456789012345678901234567890123456789"
		    "0123.com",
	};
	char	path[64];
	size_t	i;

	/* A real key: only the name may be at fault. */
	key_setup();
	snprintf(path, sizeof(path), "%s", test_key_path);
	for (i = 0; i < FF_NELEM(bad); i++) {
		load_fails(path, bad[i], SELECTOR, "bad DKIM domain");
		load_fails(path, DOMAIN, bad[i], "bad DKIM selector");
	}
	load_fails(path, NULL, SELECTOR, "bad DKIM domain");
	load_fails(path, DOMAIN, NULL, "bad DKIM selector");
	key_teardown();
}

Test(keys, accepts_1024_bits_and_traditional_pem)
{
	struct dkim_key	*key;
	EVP_PKEY	*pkey;
	char		 path[64];
	char		 l63[64];

	memset(l63, 'a', 63);
	l63[63] = '\0';
	tmp_path(path, sizeof(path));
	pkey = gen_rsa(1024);
	write_key(pkey, path, PEM_TRADITIONAL);
	key = load_ok(path, "Mail-1.Example_x.COM", l63);
	dkim_key_free(key);
	dkim_key_free(NULL);
	EVP_PKEY_free(pkey);
	unlink(path);
}

/* ------------------------------------------------------------ sign */

TestSuite(sign, .init = key_setup, .fini = key_teardown);

/* The signed data rebuilt here from the known message, field by field
 * as RFC 6376 section 3.7 says, and checked with EVP_DigestVerify. */
Test(sign, openssl_verifies_independent_canonical_data)
{
	static const char msg[] =
	    "Received: from x by y; Tue, 01 Jul 2025 10:00:00 +0000\r\n"
	    "From: Fanfare News <news@example.com>\r\n"
	    "To:  reader@example.org \r\n"
	    "Subject: Hello\r\n"
	    "\tthere,   world  \r\n"
	    "Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n"
	    "Message-ID: <1.2.3@example.com>\r\n"
	    "X-Unsigned: yes\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n"
	    "Hello  reader,\t \r\n"
	    "\r\n"
	    "  bye \r\n"
	    "\r\n"
	    "\r\n";
	static const char canon_fields[] =
	    "from:Fanfare News <news@example.com>\r\n"
	    "to:reader@example.org\r\n"
	    "subject:Hello there, world\r\n"
	    "date:Tue, 01 Jul 2025 10:00:00 +0000\r\n"
	    "message-id:<1.2.3@example.com>\r\n"
	    "mime-version:1.0\r\n"
	    "content-type:text/plain; charset=utf-8\r\n";
	static const char canon_body[] = "Hello reader,\r\n\r\n bye\r\n";
	struct dkim_key	*key;
	struct buf	 sig = { NULL, 0, 0 }, data = { NULL, 0, 0 };
	EVP_PKEY	*pub;
	char		 v[512], bh[64];

	key = load_ok(test_key_path, DOMAIN, SELECTOR);
	buf_adds(&sig, "prefix kept|");
	sign_ok(key, msg, strlen(msg), sign_headers, 1751364000, &sig);
	cr_assert(strncmp(sig.p, "prefix kept|", 12) == 0);
	memmove(sig.p, sig.p + 12, sig.len - 12 + 1);
	sig.len -= 12;
	check_folding(sig.p);

	cr_assert_eq(tag_of(sig.p, "v", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "1");
	cr_assert_eq(tag_of(sig.p, "a", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "rsa-sha256");
	cr_assert_eq(tag_of(sig.p, "c", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "relaxed/relaxed");
	cr_assert_eq(tag_of(sig.p, "d", v, sizeof(v)), 0);
	cr_assert_str_eq(v, DOMAIN);
	cr_assert_eq(tag_of(sig.p, "s", v, sizeof(v)), 0);
	cr_assert_str_eq(v, SELECTOR);
	cr_assert_eq(tag_of(sig.p, "t", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "1751364000");
	cr_assert_eq(tag_of(sig.p, "l", v, sizeof(v)), -1, "l= is not used");
	cr_assert_eq(tag_of(sig.p, "h", v, sizeof(v)), 0);
	cr_assert_str_eq(v,
	    "From:To:Subject:Date:Message-ID:MIME-Version:Content-Type");
	cr_assert_eq(tag_of(sig.p, "bh", v, sizeof(v)), 0);
	sha256_b64(canon_body, strlen(canon_body), bh);
	cr_assert_str_eq(v, bh);

	pub = public_of(test_pkey, NULL);
	buf_adds(&data, canon_fields);
	ref_sig_data(sig.p, &data);
	cr_assert_eq(evp_verify(pub, sig.p, data.p, data.len), 1,
	    "EVP_DigestVerify over:\n%s", data.p);
	/* The check can fail: one byte of a signed field changed. */
	data.p[strlen("from:Fanfare N")] = 'M';
	cr_assert_neq(evp_verify(pub, sig.p, data.p, data.len), 1);

	EVP_PKEY_free(pub);
	dkim_key_free(key);
	buf_free(&sig);
	buf_free(&data);
}

/* dkimpy, a verifier written by others, on a 20 KB newsletter; and the
 * changes that must and must not break it. */
Test(sign, python_dkim_verifies_and_catches_changes)
{
	struct dkim_key	*key;
	struct buf	 m = { NULL, 0, 0 }, sig = { NULL, 0, 0 };
	struct buf	 x = { NULL, 0, 0 };
	char		*p;
	time_t		 now = time(NULL);

	key = load_ok(test_key_path, DOMAIN, SELECTOR);
	big_message(&m);
	cr_assert_gt(m.len, 20000);
	sign_ok(key, m.p, m.len, sign_headers, now, &sig);
	check_folding(sig.p);
	python_pass(test_pkey, DOMAIN, SELECTOR, sig.p, sig.len, m.p, m.len);

	/* One body byte. */
	buf_add(&x, m.p, m.len);
	p = strstr(x.p, "Paragraph 17,");
	cr_assert_not_null(p);
	p[10] = '8';
	python_fail(test_pkey, sig.p, sig.len, x.p, x.len,
	    "body hash mismatch");

	/* One byte of a signed field. */
	buf_reset(&x);
	buf_add(&x, m.p, m.len);
	p = strstr(x.p, "reader@example.org");
	p[0] = 'R';
	python_fail(test_pkey, sig.p, sig.len, x.p, x.len, "valid: False");

	/* Whitespace changes relaxed canonicalisation absorbs. */
	buf_reset(&x);
	buf_add(&x, m.p, m.len);
	p = strstr(x.p, "Subject:");
	p[8] = '\t';
	p = strstr(x.p, "with  runs");
	p[4] = '\t';
	buf_adds(&x, "\r\n\r\n");
	python_pass(test_pkey, DOMAIN, SELECTOR, sig.p, sig.len, x.p, x.len);

	/* A relay adding a field on top breaks nothing. */
	buf_reset(&x);
	buf_adds(&x, "Received: from a by b;"
	    " Tue, 1 Jul 2025 10:00:01 +0000\r\n");
	buf_add(&x, sig.p, sig.len);
	python_pass(test_pkey, DOMAIN, SELECTOR, x.p, x.len, m.p, m.len);

	dkim_key_free(key);
	buf_free(&m);
	buf_free(&sig);
	buf_free(&x);
}

/* Relaxed: an empty body hashes as the empty string, and dkimpy agrees;
 * so does a message of header fields only, with no empty line. */
Test(sign, empty_body_and_no_body)
{
	static const char *const msgs[] = {
		"From: a@example.com\r\nSubject: x\r\n\r\n",
		"From: a@example.com\r\nSubject: x\r\n\r\n\r\n \r\n\t\r\n",
		"From: a@example.com\r\nSubject: x\r\n",
	};
	struct dkim_key	*key;
	struct buf	 sig = { NULL, 0, 0 };
	char		 bh[64];
	size_t		 i;

	key = load_ok(test_key_path, DOMAIN, SELECTOR);
	for (i = 0; i < FF_NELEM(msgs); i++) {
		buf_reset(&sig);
		sign_ok(key, msgs[i], strlen(msgs[i]), sign_headers,
		    time(NULL), &sig);
		cr_assert_eq(tag_of(sig.p, "bh", bh, sizeof(bh)), 0);
		cr_assert_str_eq(bh, EMPTY_BH, "message %zu", i);
		python_pass(test_pkey, DOMAIN, SELECTOR, sig.p, sig.len,
		    msgs[i], strlen(msgs[i]));
	}
	dkim_key_free(key);
	buf_free(&sig);
}

/* A field twice: the last instance is the signed one (verifiers take
 * them bottom-up), so the first may change and the last may not. */
Test(sign, last_instance_is_signed)
{
	static const char msg[] =
	    "X-Tag: first\r\n"
	    "From: a@example.com\r\n"
	    "X-Tag: second\r\n"
	    "\r\n"
	    "body\r\n";
	static const char *const names[] = { "From", "X-Tag", NULL };
	struct dkim_key	*key;
	struct buf	 sig = { NULL, 0, 0 }, x = { NULL, 0, 0 };
	struct buf	 data = { NULL, 0, 0 };
	EVP_PKEY	*pub;
	char		*p;

	key = load_ok(test_key_path, DOMAIN, SELECTOR);
	sign_ok(key, msg, strlen(msg), names, time(NULL), &sig);
	pub = public_of(test_pkey, NULL);
	buf_adds(&data, "from:a@example.com\r\nx-tag:second\r\n");
	ref_sig_data(sig.p, &data);
	cr_assert_eq(evp_verify(pub, sig.p, data.p, data.len), 1);
	EVP_PKEY_free(pub);

	buf_add(&x, msg, strlen(msg));
	p = strstr(x.p, "first");
	*p = 'F';
	python_pass(test_pkey, DOMAIN, SELECTOR, sig.p, sig.len, x.p, x.len);
	p = strstr(x.p, "second");
	*p = 'S';
	python_fail(test_pkey, sig.p, sig.len, x.p, x.len, "valid: False");
	dkim_key_free(key);
	buf_free(&sig);
	buf_free(&x);
	buf_free(&data);
}

/* Long d= and s=, forty-odd names (more than dkim.c keeps on its stack),
 * names listed twice in other case: every line still fits in 78, h=
 * names each present field once, and dkimpy verifies. */
Test(sign, folding_many_and_long_names)
{
	static const char dom[] =
	    "a-rather-long-subdomain-for-folding.mail-out.example.com";
	static const char sel[] = "selector-2025-07-with-a-long-name";
	const char	*names[64];
	char		 namebuf[48][40];
	struct dkim_key	*key;
	struct buf	 m = { NULL, 0, 0 }, sig = { NULL, 0, 0 };
	struct buf	 want = { NULL, 0, 0 };
	char		 h[4096];
	size_t		 n = 0, i;

	key = load_ok(test_key_path, dom, sel);
	names[n++] = "From";
	buf_adds(&want, "From");
	for (i = 0; i < 44; i++) {
		snprintf(namebuf[i], sizeof(namebuf[i]),
		    "X-Fanfare-Custom-Field-%02zu", i);
		names[n++] = namebuf[i];
		if (i % 2 == 0) {	/* odd ones are not in the message */
			buf_addf(&m, "%s: value %zu\r\n", namebuf[i], i);
			buf_addf(&want, ":%s", namebuf[i]);
		}
	}
	names[n++] = "FROM";
	names[n++] = "x-fanfare-custom-field-00";
	names[n] = NULL;
	buf_adds(&m, "From: a@example.com\r\n\r\nHello\r\n");
	sign_ok(key, m.p, m.len, names, time(NULL), &sig);
	check_folding(sig.p);
	cr_assert_eq(tag_of(sig.p, "h", h, sizeof(h)), 0);
	cr_assert_str_eq(h, want.p);
	python_pass(test_pkey, dom, sel, sig.p, sig.len, m.p, m.len);
	dkim_key_free(key);
	buf_free(&m);
	buf_free(&sig);
	buf_free(&want);
}

/* Bodies past the 4 KB digest chunk (and one line longer than it): the
 * bh= is SHA-256 of the reference canonical body. */
Test(sign, body_hash_on_large_random_bodies)
{
	static const char *const atoms[] = {
		"word", "x", " ", "\t", "   ", "\r\n", "\r\n\r\n",
	};
	struct dkim_key	*key;
	struct buf	 m = { NULL, 0, 0 }, sig = { NULL, 0, 0 };
	struct buf	 ref = { NULL, 0, 0 };
	unsigned int	 seed = 5322;
	char		 bh[64], want[64];
	size_t		 body;
	int		 iter, k;

	key = load_ok(test_key_path, DOMAIN, SELECTOR);
	for (iter = 0; iter < 12; iter++) {
		buf_reset(&m);
		buf_reset(&sig);
		buf_reset(&ref);
		buf_adds(&m, "From: a@example.com\r\n\r\n");
		body = m.len;
		if (iter == 0)
			for (k = 0; k < 9000; k++)	/* one long line */
				buf_add(&m, "y", 1);
		while (m.len < body + 3000 + (size_t)iter * 1500)
			buf_adds(&m, atoms[rand_r(&seed) % FF_NELEM(atoms)]);
		sign_ok(key, m.p, m.len, sign_headers, time(NULL), &sig);
		ref_canon_body(m.p + body, m.len - body, &ref);
		sha256_b64(ref.p != NULL ? ref.p : "", ref.len, want);
		cr_assert_eq(tag_of(sig.p, "bh", bh, sizeof(bh)), 0);
		cr_assert_str_eq(bh, want, "body %d", iter);
	}
	python_pass(test_pkey, DOMAIN, SELECTOR, sig.p, sig.len, m.p, m.len);
	dkim_key_free(key);
	buf_free(&m);
	buf_free(&sig);
	buf_free(&ref);
}

Test(sign, malformed_messages_refused)
{
	static const struct {
		const char	*msg;
		size_t		 len;		/* 0: strlen */
	} bad[] = {
		{ "From: a@b\nTo: c@d\r\n\r\nbody\r\n", 0 },	/* bare LF */
		{ "From: a@b\r\nTo: c@d\n\r\nbody\r\n", 0 },
		{ "From: a@b\n\nbody\n", 0 },
		{ "From: a@b\rTo: c@d\r\n\r\nbody\r\n", 0 },	/* bare CR */
		{ "From: a@b\r\nX: y\0z\r\n\r\nbody\r\n", 24 },	/* NUL */
		{ "From: a@b\r\n\r\nbo\0dy\r\n", 20 },
		{ "From: a@b\r\n\r\nline\nline\r\n", 0 },	/* in body */
		{ "From: a@b\r\n\r\nline\rline\r\n", 0 },
		{ "From: a@b\r\n\r\nend\r", 0 },
		{ "From: a@b\r\nNo colon here\r\n\r\nbody\r\n", 0 },
		{ "From: a@b\r\n: empty name\r\n\r\nbody\r\n", 0 },
		{ "From: a@b\r\nBad Name: x\r\n\r\nbody\r\n", 0 },
		{ "To: c@d\r\nSubject: no From\r\n\r\nbody\r\n", 0 },
		{ "From: a@b\r\nFrom: c@d\r\n\r\nbody\r\n", 0 },
		{ " From: a@b\r\n\r\nbody\r\n", 0 },	/* continuation first */
		{ "\r\nbody\r\n", 0 },			/* no fields */
		{ "From: a@b", 0 },			/* no CRLF */
		{ "From: a@b\r\nTo: c@d", 0 },
		{ "From: a@b\r\n\r", 0 },
		{ "", 0 },
	};
	static const char good[] = "From: a@b\r\nTo: c@d\r\n\r\nbody\r\n";
	static const char *const no_from[] = { "To", "Subject", NULL };
	static const char *const bad_names[][3] = {
		{ "From", "X;Y", NULL }, { "From", "", NULL },
		{ "From", "Sub ject", NULL }, { "From", "To:", NULL },
		{ "From", "X\r\n", NULL },
	};
	struct dkim_key	*key;
	struct buf	 out = { NULL, 0, 0 };
	size_t		 i, len;

	key = load_ok(test_key_path, DOMAIN, SELECTOR);
	buf_adds(&out, "untouched");
	for (i = 0; i < FF_NELEM(bad); i++) {
		len = bad[i].len ? bad[i].len : strlen(bad[i].msg);
		cr_assert_eq(dkim_sign(key, bad[i].msg, len, sign_headers,
		    time(NULL), &out), -1, "message %zu signed", i);
		cr_assert_str_eq(out.p, "untouched", "message %zu", i);
	}
	cr_assert_eq(dkim_sign(key, good, strlen(good), no_from, time(NULL),
	    &out), -1, "From not listed");
	for (i = 0; i < FF_NELEM(bad_names); i++)
		cr_assert_eq(dkim_sign(key, good, strlen(good), bad_names[i],
		    time(NULL), &out), -1, "names %zu", i);
	cr_assert_eq(dkim_sign(key, NULL, 0, sign_headers, time(NULL), &out),
	    -1);
	cr_assert_eq(dkim_sign(key, good, strlen(good), NULL, time(NULL),
	    &out), -1);
	cr_assert_str_eq(out.p, "untouched");
	/* ...and the well-formed one is signed. */
	sign_ok(key, good, strlen(good), sign_headers, time(NULL), &out);
	dkim_key_free(key);
	buf_free(&out);
}

/* One key, several threads signing at once: RSA PKCS#1 v1.5 is
 * deterministic, so every result must equal the one-thread result. */
#define NTHREADS	4
#define NSIGNS		25

struct signer {
	const struct dkim_key	*key;
	const struct buf	*msg;
	const struct buf	*want;
	int			 bad;
};

static void *
signer_run(void *arg)
{
	struct signer	*s = arg;
	struct buf	 out = { NULL, 0, 0 };
	int		 i;

	for (i = 0; i < NSIGNS; i++) {
		buf_reset(&out);
		if (dkim_sign(s->key, s->msg->p, s->msg->len, sign_headers,
		    1751364000, &out) == -1 || out.len != s->want->len ||
		    memcmp(out.p, s->want->p, out.len) != 0)
			s->bad++;
	}
	buf_free(&out);
	return NULL;
}

Test(sign, one_key_many_threads)
{
	struct dkim_key	*key;
	struct buf	 m = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	struct signer	 s[NTHREADS];
	pthread_t	 t[NTHREADS];
	int		 i;

	key = load_ok(test_key_path, DOMAIN, SELECTOR);
	big_message(&m);
	sign_ok(key, m.p, m.len, sign_headers, 1751364000, &want);
	for (i = 0; i < NTHREADS; i++) {
		s[i].key = key;
		s[i].msg = &m;
		s[i].want = &want;
		s[i].bad = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, signer_run, &s[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		cr_assert_eq(pthread_join(t[i], NULL), 0);
		cr_assert_eq(s[i].bad, 0, "thread %d: %d bad", i, s[i].bad);
	}
	dkim_key_free(key);
	buf_free(&m);
	buf_free(&want);
}
