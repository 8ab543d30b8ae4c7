/*
 * cli.c -- the offline front end: repair (-t) or explain (-x) one message.  See cli.h.
 *
 * The same engine as the milter, fed from a file or stdin in 64 KiB reads;
 * the repaired message goes to stdout through the same writer the milter's
 * body replacement uses, so both front ends produce the same bytes.  A
 * regular file is lent to the engine as its spool (no temp-file copy), and
 * one over MaxMessageSize is not even read until it is written back: it
 * passes untouched whatever it holds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"
#include "buf.h"
#include "cli.h"
#include "engine.h"
#include "report.h"

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int stdout_sink(void *arg, const char *data, size_t len)
{
	(void)arg;
	return write_all(STDOUT_FILENO, data, len);
}

/* The whole of fd to the engine, in 64 KiB reads: 0, or the exit status. */
static int feed_all(int fd, struct engine *e, const char *name)
{
	char chunk[64 * 1024];

	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fprintf(stderr, "codepage-milter: %s: read: %s\n", name, strerror(errno));
			return 1;
		}
		if (got == 0)
			return 0;
		if (engine_feed(e, chunk, (size_t)got) < 0) {
			fprintf(stderr, "codepage-milter: %s: %s\n", name, engine_error(e));
			return 75;
		}
	}
}

/* A regular file read from its start is lent to the engine as its spool
 * (engine_borrow_input): true, with its size, when it was. */
static bool lend_input(int fd, struct engine *e, size_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_CUR) != 0)
		return false;
	*size = (size_t)st.st_size;
	return engine_borrow_input(e, fd, *size) == 0;
}

int cli_run(enum cli_action action, const char *path, const struct conf *conf,
	    const struct engine_source *src)
{
	struct engine *e;
	int fd, status = 0;
	size_t size;
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;

	fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "codepage-milter: %s: %s\n", name, strerror(errno));
		return 1;
	}
	e = engine_new(conf, src);
	if (lend_input(fd, e, &size) && engine_too_big(e)) {
		/* over MaxMessageSize: it passes untouched, nothing to read now */
		if (engine_skip(e, size) < 0) {
			fprintf(stderr, "codepage-milter: %s: %s\n", name, engine_error(e));
			status = 75;
			goto out;
		}
	} else if ((status = feed_all(fd, e, name)) != 0) {
		goto out;
	}
	if (engine_finish(e) < 0) {
		fprintf(stderr, "codepage-milter: %s: %s\n", name, engine_error(e));
		status = 75;
		goto out;
	}
	if (action == CLI_EXPLAIN) {
		struct buf table;

		buf_init(&table, 64 * 1024 * 1024);
		report_format_table(engine_report(e), &table);
		if (write_all(STDOUT_FILENO, table.data ? table.data : "", table.len) < 0)
			status = 1;
		buf_free(&table);
	} else if (engine_write(e, 0, stdout_sink, NULL) < 0) {
		fprintf(stderr, "codepage-milter: %s: %s\n", name, engine_error(e));
		status = errno == EPIPE || errno == ENOSPC ? 1 : 75;
	}
out:
	engine_free(e);
	if (fd != STDIN_FILENO)
		close(fd);
	return status;
}
