/*
 * test_domain.c: the pure parts of sending domains: names (domain.c),
 * the DNS records' texts, TXT strings joined and DKIM records matched as
 * a DNS server may serve them; seal.c's round trip and its refusals
 * (another key, another AAD, a changed byte, a bad text); and dkim.c's
 * generated keys: an Ed25519 signature checked by OpenSSL over data this
 * file canonicalises itself (RFC 8463: Ed25519 of the SHA-256 hash), and
 * the RSA and Ed25519 public values in the shape DNS wants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "domain.h"
#include "fanfare.h"

/* ------------------------------------------------------------- names */

Test(names, check)
{
	char	out[DOMAIN_NAME_MAX + 1];

	cr_assert_eq(domain_name_check("Acme.Test", 9, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "acme.test");
	cr_assert_eq(domain_name_check("mail.acme.test.", 15, out,
	    sizeof(out)), 0);
	cr_assert_str_eq(out, "mail.acme.test");
	cr_assert_eq(domain_name_check("a-b.c9.test", 11, out, sizeof(out)),
	    0);
	static const char *const bad[] = { "", "nodot", "a..b", ".a.b",
	    "-a.test", "a-.test", "a.test-", "a b.test", "a_b.test",
	    "a.test..", "é.test", "a;b.test" };
	for (size_t i = 0; i < FF_NELEM(bad); i++)
		cr_expect_eq(domain_name_check(bad[i], strlen(bad[i]), out,
		    sizeof(out)), -1, "%s", bad[i]);
	char label[80];
	memset(label, 'x', 64);
	memcpy(label + 64, ".test", 6);
	cr_expect_eq(domain_name_check(label, strlen(label), out,
	    sizeof(out)), -1, "a label of 64");
	cr_expect_eq(domain_name_check(label + 1, strlen(label + 1), out,
	    sizeof(out)), 0, "a label of 63");
	char longname[300];
	for (size_t i = 0; i < 255; i++)
		longname[i] = i % 2 ? '.' : 'a';
	longname[255] = '\0';		/* 255 bytes: "a.a. ... .a" */
	cr_expect_eq(domain_name_check(longname, 255, out, sizeof(out)), -1);
	cr_expect_eq(domain_name_check(longname + 2, 253, out, sizeof(out)),
	    0, "253 is the most");
	cr_expect_eq(domain_name_check("acme.test", 9, out, 9), -1,
	    "no room for the NUL");
}

Test(names, of_from)
{
	char	out[DOMAIN_NAME_MAX + 1];

	cr_assert_eq(domain_of_from("News <news@Acme.Test>", out,
	    sizeof(out)), 0);
	cr_assert_str_eq(out, "acme.test");
	cr_assert_eq(domain_of_from("news@acme.test", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "acme.test");
	cr_assert_eq(domain_of_from("\"a@b\" <x@real.test>", out,
	    sizeof(out)), 0);
	cr_assert_str_eq(out, "real.test", "the address in <>, not the name");
	cr_expect_eq(domain_of_from("no-at", out, sizeof(out)), -1);
	cr_expect_eq(domain_of_from("x@", out, sizeof(out)), -1);
	cr_expect_eq(domain_of_from("A <x@bad_domain.test>", out,
	    sizeof(out)), -1);
}

Test(names, equal)
{
	cr_expect(domain_name_equal("Bounce.Example.", "bounce.example"));
	cr_expect(!domain_name_equal("bounce.example", "bounce.example.org"));
	cr_expect(!domain_name_equal("", "a"));
}

/* ----------------------------------------------------------- records */

Test(records, texts)
{
	struct buf	b = { NULL, 0, 0 };
	char		s[DOMAIN_SELECTOR_MAX], n[300];

	domain_selector(s, sizeof(s), "0a1b2c3d", 0);
	cr_assert_str_eq(s, "ff0a1b2c3d-rsa");
	domain_selector(s, sizeof(s), "0a1b2c3d", 1);
	cr_assert_str_eq(s, "ff0a1b2c3d-ed25519");
	domain_dkim_name(n, sizeof(n), s, "acme.test");
	cr_assert_str_eq(n, "ff0a1b2c3d-ed25519._domainkey.acme.test");
	domain_dkim_txt(&b, 1, "QUJD");
	cr_assert_str_eq(b.p, "v=DKIM1; k=ed25519; p=QUJD");
	buf_reset(&b);
	domain_dkim_txt(&b, 0, "QUJD");
	cr_assert_str_eq(b.p, "v=DKIM1; k=rsa; p=QUJD");
	buf_reset(&b);
	domain_spf_txt(&b, "bounce.example");
	cr_assert_str_eq(b.p, "v=spf1 include:bounce.example ~all");
	cr_assert(domain_txt_is_spf(b.p));
	buf_reset(&b);
	domain_spf_txt(&b, NULL);
	cr_assert_str_eq(b.p, "v=spf1 mx ~all");
	buf_reset(&b);
	domain_dmarc_txt(&b);
	cr_assert(domain_txt_is_dmarc(b.p), "%s", b.p);
	domain_bounce_name(n, sizeof(n), "acme.test");
	cr_assert_str_eq(n, "bounces.acme.test");
	domain_key_aad(n, sizeof(n), 7, "acme.test", "ffx-rsa");
	cr_assert_str_eq(n, "fanfare-dkim:7:acme.test:ffx-rsa");
	buf_free(&b);
}

/* Length-prefixed strings, as a TXT RDATA holds them. */
static size_t
rdata(unsigned char *out, const char *const *parts, size_t n)
{
	size_t	len = 0, i, k;

	for (i = 0; i < n; i++) {
		k = strlen(parts[i]);
		out[len++] = (unsigned char)k;
		memcpy(out + len, parts[i], k);
		len += k;
	}
	return len;
}

Test(txt, join)
{
	struct buf	 b = { NULL, 0, 0 };
	unsigned char	 rd[2048];
	char		 p255[256], key[700];
	size_t		 len;

	/* A 2048-bit key's record as dnsmasq serves it: 255, then rest. */
	memset(key, 0, sizeof(key));
	strcpy(key, "v=DKIM1; k=rsa; p=");
	for (size_t i = strlen(key); i < 410; i++)
		key[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/"[i % 64];
	memcpy(p255, key, 255);
	p255[255] = '\0';
	const char *parts[] = { p255, key + 255 };
	len = rdata(rd, parts, 2);
	cr_assert_eq(domain_txt_join(rd, len, &b), 0);
	cr_assert_str_eq(b.p, key);
	cr_assert(domain_dkim_matches(b.p, 0, key + strlen("v=DKIM1; k=rsa; "
	    "p=")));

	buf_reset(&b);
	rd[0] = 200;		/* runs past the end */
	cr_expect_eq(domain_txt_join(rd, 10, &b), -1);
	buf_reset(&b);
	cr_expect_eq(domain_txt_join(rd, 0, &b), 0, "an empty record");
	buf_free(&b);
}

Test(txt, dkim_matches)
{
	const char *pub = "MCowBQYDK2VwAyEAabc=";

	cr_expect(domain_dkim_matches("v=DKIM1; k=ed25519; p=MCowBQYDK2VwAyEAabc=",
	    1, pub));
	cr_expect(domain_dkim_matches("k=ed25519;p=MCowBQYD K2VwAyEA abc=",
	    1, pub), "spaces inside p=, no v=");
	cr_expect(domain_dkim_matches("v=DKIM1; p=MCowBQYDK2VwAyEAabc=", 0,
	    pub), "no k=: rsa");
	cr_expect(domain_dkim_matches("v = DKIM1 ; k = rsa ; p = "
	    "MCowBQYDK2VwAyEAabc= ; t=y", 0, pub), "spaces around tags");
	cr_expect(!domain_dkim_matches("v=DKIM1; p=MCowBQYDK2VwAyEAabc=", 1,
	    pub), "no k= is not ed25519");
	cr_expect(!domain_dkim_matches("v=DKIM2; k=rsa; p=MCowBQYDK2VwAyEAabc=",
	    0, pub));
	cr_expect(!domain_dkim_matches("v=DKIM1; k=rsa; p=", 0, pub),
	    "revoked");
	cr_expect(!domain_dkim_matches("v=DKIM1; k=rsa; p=MCowBQYDK2VwAyEAabd=",
	    0, pub), "another key");
	cr_expect(!domain_dkim_matches("v=DKIM1; k=rsa; pp=MCowBQYDK2VwAyEAabc=",
	    0, pub));
	cr_expect(!domain_dkim_matches("", 0, pub));
	cr_expect(!domain_dkim_matches(";;;=;", 0, pub));
}

Test(txt, spf_dmarc)
{
	cr_expect(domain_txt_is_spf("v=spf1 -all"));
	cr_expect(domain_txt_is_spf("v=spf1"));
	cr_expect(!domain_txt_is_spf("v=spf10 -all"));
	cr_expect(!domain_txt_is_spf("google-site-verification=x"));
	cr_expect(domain_txt_is_dmarc("v=DMARC1; p=reject"));
	cr_expect(domain_txt_is_dmarc("v=DMARC1"));
	cr_expect(!domain_txt_is_dmarc("p=reject; v=DMARC1"));
	cr_expect(!domain_txt_is_dmarc("v=DMARC2; p=none"));
}

/* ------------------------------------------------------------- seal */

Test(seal, round_trip_and_refusals)
{
	struct seal_key	 k, other, none;
	const char	*plain = "-----BEGIN PRIVATE KEY-----\nsecret\n";
	char		*text, *back, *changed;
	size_t		 len, n;

	seal_key_from_bytes(&k, (const unsigned char *)"0123456789abcdef"
	    "0123456789abcdef", 32);
	seal_key_from_bytes(&other, (const unsigned char *)"0123456789abcdef"
	    "0123456789abcdeg", 32);
	memset(&none, 0, sizeof(none));
	cr_assert_not_null(text = seal_encrypt(&k, "t1:acme.test", plain,
	    strlen(plain)));
	cr_assert_eq(strncmp(text, "v1.", 3), 0);
	cr_assert_null(strstr(text, "PRIVATE"), "not in clear");
	n = strlen(text);
	cr_assert_not_null(back = seal_decrypt(&k, "t1:acme.test", text, n,
	    &len));
	cr_assert_eq(len, strlen(plain));
	cr_assert_str_eq(back, plain);
	free(back);

	/* Two seals of the same text differ: a fresh nonce each. */
	char *again = seal_encrypt(&k, "t1:acme.test", plain, strlen(plain));
	cr_assert_str_neq(again, text);
	free(again);

	cr_expect_null(seal_decrypt(&other, "t1:acme.test", text, n, &len),
	    "another key");
	cr_expect_null(seal_decrypt(&k, "t2:acme.test", text, n, &len),
	    "another tenant's AAD");
	cr_expect_null(seal_decrypt(&none, "t1:acme.test", text, n, &len),
	    "no key");
	cr_expect_null(seal_encrypt(&none, "x", plain, 3), "no key");
	/* Every byte of the text changed once: none opens. */
	changed = strdup(text);
	for (size_t i = 0; i < n; i++) {
		char c = changed[i];
		changed[i] = c == 'A' ? 'B' : 'A';
		back = seal_decrypt(&k, "t1:acme.test", changed, n, &len);
		cr_expect_null(back, "byte %zu changed", i);
		free(back);
		changed[i] = c;
	}
	cr_expect_null(seal_decrypt(&k, "t1:acme.test", text, n - 4, &len),
	    "cut");
	cr_expect_null(seal_decrypt(&k, "t1:acme.test", "v1.", 3, &len));
	cr_expect_null(seal_decrypt(&k, "t1:acme.test", "v1.AAAA", 7, &len));
	cr_expect_null(seal_decrypt(&k, "t1:acme.test", "v2.AAAA", 7, &len));
	cr_expect_null(seal_decrypt(&k, "t1:acme.test", "v1.!!!!", 7, &len));
	free(changed);

	/* An empty value seals too. */
	free(text);
	cr_assert_not_null(text = seal_encrypt(&k, "a", "", 0));
	cr_assert_not_null(back = seal_decrypt(&k, "a", text, strlen(text),
	    &len));
	cr_assert_eq(len, 0);
	free(back);
	free(text);
}

Test(seal, key_file)
{
	struct seal_key	 k;
	char		 path[] = "/tmp/ff-seal-XXXXXX", err[256];
	int		 fd;

	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_eq(write(fd, "short", 5), 5);
	cr_expect_eq(seal_key_load(&k, path, err, sizeof(err)), -1);
	cr_expect(strstr(err, "at least 32") != NULL, "%s", err);
	cr_assert_eq(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	close(fd);
	cr_expect_eq(seal_key_load(&k, path, err, sizeof(err)), 0, "%s", err);
	cr_expect(k.set);
	unlink(path);
	cr_expect_eq(seal_key_load(&k, path, err, sizeof(err)), -1);
	cr_expect(!k.set);
}

/* ------------------------------------------------- generated DKIM keys */

static const char *const heads[] = { "From", "To", "Subject", NULL };

static const char msg[] = "From: a@acme.test\r\nTo: b@example.org\r\n"
    "Subject:  Hi   there \r\n\r\nHello  world \r\n\r\n";

Test(keys, ed25519_signature_checks)
{
	struct dkim_key	*key;
	struct buf	 out = { NULL, 0, 0 }, data = { NULL, 0, 0 };
	EVP_PKEY	*pub;
	EVP_MD_CTX	*ctx;
	unsigned char	 raw[64], sig[64], hash[32];
	char		*pem, *p, err[256], *b, *e;
	unsigned int	 hlen;
	size_t		 i, n;

	cr_assert_eq(dkim_key_generate(1, &pem, &p), 0);
	cr_assert_not_null(strstr(pem, "BEGIN PRIVATE KEY"));
	cr_assert_eq(strlen(p), 44, "32 raw bytes in base64: %s", p);
	cr_assert_not_null(key = dkim_key_parse(pem, strlen(pem), "acme.test",
	    "ffx-ed25519", "key", err, sizeof(err)), "%s", err);
	cr_assert(dkim_key_is_ed25519(key));
	cr_assert_eq(dkim_sign(key, msg, sizeof(msg) - 1, heads, 1700000000,
	    &out), 0);
	cr_assert_not_null(strstr(out.p, "a=ed25519-sha256;"));
	cr_assert_not_null(strstr(out.p, "d=acme.test;"));
	cr_assert_not_null(strstr(out.p, "s=ffx-ed25519;"));

	/* The signed data, canonicalised here (relaxed), then the field
	 * with b= empty and no final CRLF. */
	buf_adds(&data, "from:a@acme.test\r\nto:b@example.org\r\n"
	    "subject:Hi there\r\n");
	b = strstr(out.p, "b=") ;
	while (b != NULL && b > out.p && b[-1] != '\t')
		b = strstr(b + 1, "b=");
	cr_assert_not_null(b);
	/* The field up to "b=", unfolded and lowered by name. */
	buf_adds(&data, "dkim-signature:");
	for (e = out.p + strlen("DKIM-Signature:"); e < b + 2; e++) {
		if (*e == '\r' || *e == '\n')
			continue;
		if (*e == '\t' || *e == ' ') {
			if (data.p[data.len - 1] != ' ' &&
			    data.p[data.len - 1] != ':')
				buf_add(&data, " ", 1);
			continue;
		}
		buf_add(&data, e, 1);
	}
	/* b= value: base64 until CRLF not followed by a tab. */
	n = 0;
	char b64[200];
	for (e = b + 2; *e != '\0'; e++) {
		if (*e == '\r' && e[1] == '\n' && e[2] != '\t')
			break;
		if (*e != '\r' && *e != '\n' && *e != '\t' && *e != ' ')
			b64[n++] = *e;
	}
	b64[n] = '\0';
	cr_assert_eq(EVP_DecodeBlock(sig, (unsigned char *)b64, (int)n), 66,
	    "64 bytes (and two of padding): %s", b64);
	cr_assert_eq(EVP_Digest(data.p, data.len, hash, &hlen, EVP_sha256(),
	    NULL), 1);
	cr_assert_eq(EVP_DecodeBlock(raw, (unsigned char *)p, 44), 33);
	cr_assert_not_null(pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
	    NULL, raw, 32));
	cr_assert_not_null(ctx = EVP_MD_CTX_new());
	cr_assert_eq(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub), 1);
	cr_assert_eq(EVP_DigestVerify(ctx, sig, 64, hash, hlen), 1,
	    "Ed25519 over SHA-256 of:\n%s", data.p);
	/* And not over the data itself (that would be a=ed25519 wrongly). */
	EVP_MD_CTX_reset(ctx);
	cr_assert_eq(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub), 1);
	cr_assert_neq(EVP_DigestVerify(ctx, sig, 64, (unsigned char *)data.p,
	    data.len), 1);
	for (i = 0; i < strlen(pem); i++)
		pem[i] = 0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pub);
	dkim_key_free(key);
	buf_free(&out);
	buf_free(&data);
	free(pem);
	free(p);
}

Test(keys, rsa_generated)
{
	struct dkim_key	*key;
	EVP_PKEY	*pub;
	unsigned char	 der[600];
	const unsigned char *dp = der;
	char		*pem, *p, err[256];
	int		 n;

	cr_assert_eq(dkim_key_generate(0, &pem, &p), 0);
	cr_assert_not_null(key = dkim_key_parse(pem, strlen(pem), "acme.test",
	    "ffx-rsa", "key", err, sizeof(err)), "%s", err);
	cr_assert(!dkim_key_is_ed25519(key));
	/* p= is a SubjectPublicKeyInfo of a 2048-bit RSA key. */
	n = EVP_DecodeBlock(der, (unsigned char *)p, (int)strlen(p));
	cr_assert_gt(n, 0);
	cr_assert_not_null(pub = d2i_PUBKEY(NULL, &dp, n));
	cr_assert(EVP_PKEY_is_a(pub, "RSA"));
	cr_assert_eq(EVP_PKEY_get_bits(pub), 2048);
	/* The node's dkim_key_file stays RSA only; parse takes both. */
	cr_expect_null(dkim_key_parse("junk", 4, "acme.test", "s", "key", err,
	    sizeof(err)));
	cr_expect_null(strstr(err, "junk"), "the text is never quoted");
	EVP_PKEY_free(pub);
	dkim_key_free(key);
	free(pem);
	free(p);
}
