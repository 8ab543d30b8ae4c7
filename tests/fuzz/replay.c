/*
 * replay.c -- main() for fuzz targets built without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once per file named on the command line
 * (directories: every regular file inside, in sorted order).  Exit status 0
 * when every input passed; a broken invariant aborts (non-zero).  This is how
 * the seed corpora and the committed crash inputs run under `make check`.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned long *count)
{
	struct buf b;
	char chunk[65536];
	size_t got;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	buf_init(&b, 256u * 1024 * 1024);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, got) < 0) {
			fprintf(stderr, "replay: %s: too big\n", path);
			fclose(f);
			buf_free(&b);
			return -1;
		}
	}
	fclose(f);
	/* a copy of exactly the input size, so ASan sees reads past the end */
	{
		uint8_t *exact = xmalloc(b.len ? b.len : 1);

		if (b.len > 0)
			memcpy(exact, b.data, b.len);
		LLVMFuzzerTestOneInput(exact, b.len);
		free(exact);
	}
	buf_free(&b);
	(*count)++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct buf path;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		buf_init(&path, 8192);
		if (buf_printf(&path, "%s/%s", dir, de->d_name) < 0 ||
		    stat(buf_cstr(&path), &st) < 0 || !S_ISREG(st.st_mode)) {
			buf_free(&path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xreallocarray(names, cap, sizeof(*names));
		}
		names[n++] = buf_steal(&path, NULL);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		if (run_file(names[i], count) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
		} else if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) < 0 :
			   run_file(argv[i], &count) < 0)
			rc = 1;
	}
	printf("replay: %lu inputs passed\n", count);
	return rc;
}
