/*
 * live.c: the snapshot of what a reload (SIGHUP) changes in a running
 * fanfared: the token keyring, the pages, trusted_proxies,
 * send_rate_max and the data key (data_key_file).  See struct live in worker.h for who holds references.
 *
 * A snapshot is built whole before anyone sees it and never changes
 * after, so readers need no lock; a failed load returns NULL and leaves
 * the running snapshot as it was.  The reference count is the only
 * shared state: the thread that drops the last reference frees it.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "worker.h"

struct live *
live_load(const struct config *conf, char *err, size_t errlen)
{
	struct live	*l = xcalloc(1, sizeof(*l));

	if (token_keyring_load(&l->keys, conf, err, errlen) == -1 ||
	    track_pages_load(&l->pages, conf->templates_dir, err,
	    errlen) == -1 || (conf->data_key_file != NULL &&
	    seal_key_load(&l->data_key, conf->data_key_file, err,
	    errlen) == -1)) {
		track_pages_free(&l->pages);
		OPENSSL_cleanse(&l->keys, sizeof(l->keys));
		free(l);
		return NULL;
	}
	memcpy(l->trusted_proxies, conf->trusted_proxies,
	    sizeof(l->trusted_proxies));
	l->ntrusted_proxies = conf->ntrusted_proxies;
	l->send_rate_max = conf->send_rate_max;
	l->refs = 1;
	return l;
}

struct live *
live_ref(struct live *l)
{
	__atomic_fetch_add(&l->refs, 1, __ATOMIC_RELAXED);
	return l;
}

/* Acquire-release, so the freeing thread sees every other thread's last
 * reads done before their unref. */
void
live_unref(struct live *l)
{
	if (l == NULL || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	track_pages_free(&l->pages);
	OPENSSL_cleanse(&l->keys, sizeof(l->keys));
	seal_key_clear(&l->data_key);
	free(l);
}
