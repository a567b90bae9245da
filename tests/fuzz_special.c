/*
 * fuzz_special.c: libFuzzer target for src/special.c: the attribute
 * names and values a tenant sends (matched against the shipped
 * contrib/special-categories.conf) and the rules file an operator
 * writes.  make fuzz builds it with clang (fuzz/special); make check
 * replays tests/fuzz/special/.
 *
 * The first input byte picks the use of the rest:
 *  even: a name and a value (split at the first NUL, or the whole input
 *        as both) asked of the shipped list, the value also as a
 *        person's name.  The answer is NULL or one of its categories,
 *        the same when asked twice; a person's name hits only where the
 *        value does; an ASCII value's answer is the same lowercased and
 *        uppercased, and one that hits lowercased hits as written (case
 *        changes only add word breaks); a value that matches still
 *        matches with a word before and after it;
 *  odd:  a rules file (through a memfd, as special_load reads a path).
 *        It loads, or fails with "PATH:LINE: reason" or "PATH: reason";
 *        once loaded it answers the same questions without crashing.
 */
#include <sys/mman.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fanfare.h"

#ifndef FUZZ_SPECIAL_CONF
#define FUZZ_SPECIAL_CONF	"contrib/special-categories.conf"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(e)	do { if (!(e)) abort(); } while (0)

static struct special	*fuzz_shipped;

static const char *const fuzz_categories[] = {
	"racial_ethnic_origin", "political_opinions", "religious_beliefs",
	"trade_union", "genetic", "biometric", "health",
	"sex_life_orientation",
};

static void
fuzz_init(void)
{
	char		 err[512];
	const char	*path;

	if (fuzz_shipped != NULL)
		return;
	if ((path = getenv("FF_SPECIAL_CONF")) == NULL)
		path = FUZZ_SPECIAL_CONF;
	fuzz_shipped = special_load(path, err, sizeof(err));
	if (fuzz_shipped == NULL) {
		fprintf(stderr, "fuzz_special: %s\n", err);
		abort();
	}
}

/* A file holding exactly the bytes, named by a path. */
static int
fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len)
{
	int	fd;

	CHECK((fd = memfd_create("fuzz-special", MFD_CLOEXEC)) != -1);
	CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static char *
fuzz_copy(const char *p, size_t len)
{
	char	*c = malloc(len == 0 ? 1 : len);

	CHECK(c != NULL);
	memcpy(c, p, len);
	return c;
}

static int
fuzz_known(const char *cat, int shipped)
{
	size_t	i;

	if (cat == NULL || !shipped)
		return 1;
	for (i = 0; i < FF_NELEM(fuzz_categories); i++)
		if (strcmp(cat, fuzz_categories[i]) == 0)
			return 1;
	return 0;
}

static void
fuzz_ask(const struct special *sp, const char *in, size_t size,
    int shipped)
{
	const char	*name, *value, *nul, *a, *b;
	char		*n, *v, *w;
	size_t		 namelen, valuelen, i;

	if ((nul = memchr(in, '\0', size)) != NULL) {
		name = in;
		namelen = (size_t)(nul - in);
		value = nul + 1;
		valuelen = size - namelen - 1;
	} else {
		name = value = in;
		namelen = valuelen = size;
	}
	n = fuzz_copy(name, namelen);
	v = fuzz_copy(value, valuelen);

	a = special_name(sp, n, namelen);
	CHECK(fuzz_known(a, shipped));
	CHECK(special_name(sp, n, namelen) == a);

	a = special_value(sp, v, valuelen);
	CHECK(fuzz_known(a, shipped));
	CHECK(special_value(sp, v, valuelen) == a);

	b = special_person_name(sp, v, valuelen);
	CHECK(fuzz_known(b, shipped));
	CHECK(b == NULL || a != NULL);

	/* In ASCII, case only adds word breaks (camelCase), which only
	 * add hits. */
	for (i = 0; i < valuelen && (unsigned char)v[i] < 0x80; i++)
		;
	if (i == valuelen) {
		w = fuzz_copy(v, valuelen);
		for (i = 0; i < valuelen; i++)
			w[i] = (char)toupper((unsigned char)w[i]);
		b = special_value(sp, w, valuelen);
		for (i = 0; i < valuelen; i++)
			w[i] = (char)tolower((unsigned char)w[i]);
		CHECK((b == NULL) == (special_value(sp, w, valuelen) == NULL));
		CHECK(b == NULL || a != NULL);
		free(w);
	}

	/* Terms match whole words: more words around keep a match. */
	if (a != NULL) {
		w = malloc(valuelen + 8);
		CHECK(w != NULL);
		memcpy(w, "word ", 5);
		memcpy(w + 5, v, valuelen);
		memcpy(w + 5 + valuelen, " zz", 3);
		CHECK(special_value(sp, w, valuelen + 8) != NULL);
		free(w);
	}
	free(n);
	free(v);
}

static void
fuzz_rules(const uint8_t *data, size_t size)
{
	struct special	*sp;
	char		 path[64], err[512];
	size_t		 plen;
	int		 fd;

	fd = fuzz_memfile(data, size, path, sizeof(path));
	memset(err, 0, sizeof(err));
	sp = special_load(path, err, sizeof(err));
	close(fd);
	if (sp == NULL) {
		plen = strlen(path);
		CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return;
	}
	fuzz_ask(sp, (const char *)data, size, 0);
	fuzz_ask(sp, "blood type\0I am HIV positive", 28, 0);
	special_free(sp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*in;

	fuzz_init();
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		fuzz_rules(data + 1, size - 1);
		return 0;
	}
	in = fuzz_copy((const char *)data + 1, size - 1);
	fuzz_ask(fuzz_shipped, in, size - 1, 1);
	free(in);
	return 0;
}
