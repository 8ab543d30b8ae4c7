/*
 * fuzz_conf.c -- libFuzzer target: the configuration file parser.
 *
 * The input becomes a config file (one temp file per process, rewritten for
 * every input) and goes through conf_load().  Invariants:
 *   C1 no crash, no leak (LeakSanitizer in fuzzing builds), both on success
 *      and on error;
 *   C2 on error, err is non-empty and every line starts with "PATH:LINE: "
 *      (LINE a positive number not beyond the file's line count + 1) or is
 *      the "PATH: N more errors not shown" summary line;
 *   C3 on success the result is usable: conf_acts_on() and the limits are
 *      sane, and loading the same file again gives the same outcome
 *      (determinism: no state leaks from one load into the next).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "fuzz_common.h"

static char path[4200];

static void write_file(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;

	if (fd < 0)
		fuzz_fail("open %s: %s", path, strerror(errno));
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);

		if (w < 0)
			fuzz_fail("write %s: %s", path, strerror(errno));
		off += (size_t)w;
	}
	close(fd);
}

static void remove_file(void)
{
	(void)unlink(path);
}

static size_t count_lines(const uint8_t *data, size_t size)
{
	size_t i, n = 1;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	return n;
}

static void check_errors(const char *err, size_t lines)
{
	size_t plen = strlen(path);
	const char *p = err;

	if (*err == '\0')
		fuzz_fail("C2: conf_load failed without a message");
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

		if (len >= plen + 2 && memcmp(p, path, plen) == 0 && p[plen] == ':') {
			const char *q = p + plen + 1;
			unsigned long line = 0;

			if (*q == ' ' && memmem(p, len, "more errors not shown", 21) != NULL)
				goto next;
			if (*q < '1' || *q > '9')
				fuzz_fail("C2: error without a line number: %.*s", (int)len, p);
			while (*q >= '0' && *q <= '9')
				line = line * 10 + (unsigned long)(*q++ - '0');
			if (*q != ':' || line > lines + 1)
				fuzz_fail("C2: bad line number in: %.*s", (int)len, p);
		} else
			fuzz_fail("C2: error line without FILE:LINE: %.*s", (int)len, p);
next:
		if (nl == NULL)
			fuzz_fail("C2: error line not ending in newline");
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[8192], err2[8192];
	struct conf *c, *c2;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "%s/fuzz.conf", fuzz_tmpdir());
		atexit(remove_file);
	}
	write_file(data, size);
	err[0] = '\0';
	c = conf_load(path, err, sizeof(err));
	if (c == NULL) {
		check_errors(err, count_lines(data, size));
	} else {
		if (c->limits.max_depth == 0 || c->limits.max_parts == 0 || c->default_charset == NULL)
			fuzz_fail("C3: loaded config has zero limits or no default charset");
		(void)conf_acts_on(c, "192.0.2.1", "mail.example.org");
		(void)conf_acts_on(c, "2001:db8::1", NULL);
		(void)conf_acts_on(c, NULL, NULL);
	}
	err2[0] = '\0';
	c2 = conf_load(path, err2, sizeof(err2));
	if ((c == NULL) != (c2 == NULL) || strcmp(err, err2) != 0)
		fuzz_fail("C3: loading the same file twice gives different results");
	conf_free(c);
	conf_free(c2);
	return 0;
}
