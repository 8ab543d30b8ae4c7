/*
 * fuzz_common.c -- shared helpers of the fuzz targets.  See fuzz_common.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("FUZZ INVARIANT BROKEN: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static char tmpdir[4096];

static void tmpdir_remove(void)
{
	if (tmpdir[0] != '\0')
		(void)rmdir(tmpdir);
}

const char *fuzz_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/cpm-fuzz.XXXXXX",
			 base != NULL && base[0] != '\0' ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL) {
			perror("mkdtemp");
			abort();
		}
		atexit(tmpdir_remove);
	}
	return tmpdir;
}
