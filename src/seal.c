/*
 * seal.c: secrets at rest (a sending domain's DKIM private keys; later a
 * tenant relay's password), sealed with the server key of data_key_file
 * by AES-256-GCM (OpenSSL EVP).
 *
 * The key is SHA-256 of the file's bytes, so any file of at least
 * SEAL_KEY_MIN random bytes will do (`head -c 32 /dev/urandom | base64`).
 * Each sealed value has a fresh random 96-bit nonce (RAND_bytes: with
 * random nonces a key may seal about 2^32 values, RFC 8446's bound, far
 * beyond a node's domains), and an AAD the caller names the value with
 * (tenant and domain), so a sealed value copied onto another tenant's
 * record does not open.  The text is "v1." and base64 of
 * nonce || ciphertext || tag.
 *
 * Never logs or returns a key or a plaintext in an error; wipes what it
 * read.  Pure apart from the file read and RAND_bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fanfare.h"

#define SEAL_KEY_MIN	32		/* bytes in data_key_file */
#define SEAL_FILE_MAX	4096
#define SEAL_NONCE	12
#define SEAL_TAG	16
#define SEAL_PREFIX	"v1."
#define SEAL_PLAIN_MAX	(64 * 1024)	/* a PEM, generously */

int
seal_key_load(struct seal_key *k, const char *path, char *err,
    size_t errlen)
{
	char		*data;
	size_t		 len = 0;
	unsigned int	 n = 0;

	memset(k, 0, sizeof(*k));
	if ((data = read_file(path, SEAL_FILE_MAX, &len)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (len < SEAL_KEY_MIN) {
		snprintf(err, errlen, "%s: %zu bytes, need at least %d random "
		    "ones", path, len, SEAL_KEY_MIN);
		OPENSSL_cleanse(data, len);
		free(data);
		return -1;
	}
	if (EVP_Digest(data, len, k->key, &n, EVP_sha256(), NULL) != 1 ||
	    n != sizeof(k->key)) {
		snprintf(err, errlen, "%s: SHA-256 failed", path);
		OPENSSL_cleanse(data, len);
		free(data);
		return -1;
	}
	OPENSSL_cleanse(data, len);
	free(data);
	k->set = 1;
	return 0;
}

void
seal_key_from_bytes(struct seal_key *k, const unsigned char *b, size_t len)
{
	unsigned int	n = 0;

	memset(k, 0, sizeof(*k));
	if (EVP_Digest(b, len, k->key, &n, EVP_sha256(), NULL) == 1)
		k->set = 1;
}

void
seal_key_clear(struct seal_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

/* Runs AES-256-GCM one way; 0 or -1 (a tag that does not match). */
static int
seal_gcm(const struct seal_key *k, int enc, const unsigned char *nonce,
    const char *aad, const unsigned char *in, size_t inlen,
    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, rv = -1;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, k->key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
	    (int)strlen(aad)) != 1 ||
	    (inlen > 0 && EVP_CipherUpdate(ctx, out, &n, in,
	    (int)inlen) != 1))
		goto done;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG,
	    tag) != 1)
		goto done;
	if (EVP_CipherFinal_ex(ctx, out + inlen, &n) != 1)
		goto done;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG,
	    tag) != 1)
		goto done;
	rv = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

char *
seal_encrypt(const struct seal_key *k, const char *aad, const char *plain,
    size_t len)
{
	unsigned char	*raw;
	char		*text = NULL;
	size_t		 rawlen = SEAL_NONCE + len + SEAL_TAG;

	if (!k->set || len > SEAL_PLAIN_MAX)
		return NULL;
	raw = xcalloc(1, rawlen + 16);
	if (RAND_bytes(raw, SEAL_NONCE) != 1 ||
	    seal_gcm(k, 1, raw, aad, (const unsigned char *)plain, len,
	    raw + SEAL_NONCE, raw + SEAL_NONCE + len) == -1)
		goto done;
	text = xcalloc(1, sizeof(SEAL_PREFIX) + (rawlen + 2) / 3 * 4 + 1);
	memcpy(text, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1);
	EVP_EncodeBlock((unsigned char *)text + sizeof(SEAL_PREFIX) - 1, raw,
	    (int)rawlen);
done:
	OPENSSL_cleanse(raw, rawlen);
	free(raw);
	return text;
}

char *
seal_decrypt(const struct seal_key *k, const char *aad, const char *text,
    size_t textlen, size_t *lenp)
{
	unsigned char	*raw = NULL, *plain = NULL;
	size_t		 b64len, len = 0;
	int		 rawlen;

	if (!k->set || textlen < sizeof(SEAL_PREFIX) - 1 ||
	    memcmp(text, SEAL_PREFIX, sizeof(SEAL_PREFIX) - 1) != 0)
		return NULL;
	text += sizeof(SEAL_PREFIX) - 1;
	b64len = textlen - (sizeof(SEAL_PREFIX) - 1);
	if (b64len % 4 != 0 || b64len > (SEAL_PLAIN_MAX + 64) / 3 * 4)
		return NULL;
	raw = xcalloc(1, b64len / 4 * 3 + 1);
	if ((rawlen = EVP_DecodeBlock(raw, (const unsigned char *)text,
	    (int)b64len)) < 0)
		goto fail;
	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	if (b64len > 0 && text[b64len - 1] == '=')
		rawlen--;
	if (b64len > 1 && text[b64len - 2] == '=')
		rawlen--;
	if (rawlen < SEAL_NONCE + SEAL_TAG)
		goto fail;
	len = (size_t)rawlen - SEAL_NONCE - SEAL_TAG;
	plain = xcalloc(1, len + 16 + 1);
	if (seal_gcm(k, 0, raw, aad, raw + SEAL_NONCE, len, plain,
	    raw + SEAL_NONCE + len) == -1)
		goto fail;
	plain[len] = '\0';
	free(raw);
	if (lenp != NULL)
		*lenp = len;
	return (char *)plain;
fail:
	if (plain != NULL) {
		OPENSSL_cleanse(plain, len);
		free(plain);
	}
	free(raw);
	return NULL;
}
