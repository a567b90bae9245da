/*
 * fuzz_replay.c: the main() that make check links with each fuzz
 * target (tests/fuzz_NAME.c), compiled by the ordinary compiler, no
 * libFuzzer: it calls LLVMFuzzerTestOneInput once per file, so every
 * seed corpus and every input a fuzzer ever crashed on is replayed on
 * each make check (under ASan and UBSan in the sanitizer build).
 *
 *	tests/fuzz_NAME_replay [FILE|DIR]...
 *
 * Without arguments it replays $FF_FUZZ_CORPORA/NAME (make check sets
 * FF_FUZZ_CORPORA to tests/fuzz of the source tree; NAME is FUZZ_NAME,
 * set when compiling).  Files of a directory go in name order.  Output
 * is TAP, one test per file: a target reports a broken contract by
 * aborting, so a bad input ends the run with the file's name on the
 * line before.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanfare.h"

#ifndef FUZZ_NAME
#error "compile with -DFUZZ_NAME='\"name\"'"
#endif

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	replay_n;

/* label: what the TAP line names (the corpus and file, not the path). */
static int
replay_file(const char *path, const char *label)
{
	char	*data;
	size_t	 len;

	/* A heap block of exactly the file's length, as libFuzzer gives. */
	if ((data = read_file(path, 16 * 1024 * 1024, &len)) == NULL) {
		printf("not ok %d - %s: %s\n", ++replay_n, label,
		    strerror(errno));
		return -1;
	}
	printf("# %s (%zu bytes)\n", path, len);
	fflush(stdout);
	{
		uint8_t	*copy = malloc(len == 0 ? 1 : len);

		if (copy == NULL) {
			free(data);
			return -1;
		}
		memcpy(copy, data, len);
		free(data);
		LLVMFuzzerTestOneInput(copy, len);
		free(copy);
	}
	printf("ok %d - %s\n", ++replay_n, label);
	fflush(stdout);
	return 0;
}

static int
replay_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_dir(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, *path, *label;
	const char	*base;
	size_t		 n = 0, i;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL) {
		printf("not ok %d - %s: %s\n", ++replay_n, dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), replay_name_cmp);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", dir, names[i]);
		base = strrchr(dir, '/') != NULL ? strrchr(dir, '/') + 1 : dir;
		xasprintf(&label, "%s/%s", base, names[i]);
		if (replay_file(path, label) == -1)
			rc = -1;
		free(path);
		free(label);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int
replay(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return replay_dir(path);
	return replay_file(path, path);
}

int
main(int argc, char **argv)
{
	const char	*corpora;
	char		*dir;
	int		 i, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay(argv[i]) == -1)
				rc = 1;
	} else {
		if ((corpora = getenv("FF_FUZZ_CORPORA")) == NULL)
			corpora = "tests/fuzz";
		xasprintf(&dir, "%s/%s", corpora, FUZZ_NAME);
		if (replay(dir) == -1)
			rc = 1;
		free(dir);
	}
	printf("1..%d\n", replay_n);
	return replay_n == 0 ? 1 : rc;
}
