/*
 * spool.c -- message storage: memory up to a threshold, then an unlinked
 * temp file.  See spool.h.
 *
 * The file is created with mkstemp() (glibc creates it 0600 whatever the
 * umask) and fchmod()ed to 0600 for good measure, then unlinked at once, so a
 * crash leaves nothing behind and no other user can open it.  The umask is
 * not touched: it is process-wide and the milter is multithreaded.  Reads use pread() so they never
 * disturb the append position.
 *
 * A borrowed spool (spool_borrow_fd) is the caller's own message file: the
 * CLI's input needs no second copy on disk, so writes only count bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "spool.h"
#include "util.h"

struct spool {
	size_t threshold;	/* bytes kept in memory before spilling */
	size_t max_size;	/* total limit; 0 = unlimited */
	size_t size;		/* bytes written so far */
	char *dir;		/* temp file directory */
	struct buf mem;		/* contents while in memory */
	int fd;			/* temp file, -1 while in memory */
	bool borrowed;		/* fd is the caller's file, which holds the data */
};

struct spool *spool_new(size_t threshold, const char *dir, size_t max_size)
{
	struct spool *s = xcalloc(1, sizeof(*s));
	const char *tmp;

	if (dir == NULL || *dir == '\0') {
		tmp = getenv("TMPDIR");
		dir = (tmp != NULL && *tmp != '\0') ? tmp : "/tmp";
	}
	s->dir = xstrdup(dir);
	s->threshold = threshold;
	s->max_size = max_size;
	s->fd = -1;
	/* The memory buffer never holds more than the threshold. */
	buf_init(&s->mem, threshold);
	return s;
}

void spool_free(struct spool *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0 && !s->borrowed)
		(void)close(s->fd);
	buf_free(&s->mem);
	free(s->dir);
	free(s);
}

/* Write all of p[0..n) to fd, retrying on EINTR and short writes. */
static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Create the unlinked temp file and move the memory contents into it. */
static int spool_spill(struct spool *s)
{
	struct buf path;
	int fd, saved;

	buf_init(&path, 4096);
	if (buf_printf(&path, "%s/cpm-spool.XXXXXX", s->dir) < 0) {
		buf_free(&path);
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkstemp(path.data);
	if (fd < 0) {
		saved = errno;
		buf_free(&path);
		errno = saved;
		return -1;
	}
	(void)unlink(path.data);
	buf_free(&path);
	if (fchmod(fd, S_IRUSR | S_IWUSR) < 0 ||
	    write_all(fd, s->mem.data, s->mem.len) < 0) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	s->fd = fd;
	buf_free(&s->mem);
	return 0;
}

int spool_borrow_fd(struct spool *s, int fd)
{
	if (s->size != 0 || s->fd >= 0 || fd < 0) {
		errno = EINVAL;
		return -1;
	}
	s->fd = fd;
	s->borrowed = true;
	buf_free(&s->mem);
	return 0;
}

/* The size after n more bytes, within max_size; -1 (EFBIG) past it. */
static int size_after(const struct spool *s, size_t n, size_t *total)
{
	if (!size_add(s->size, n, total) || (s->max_size != 0 && *total > s->max_size)) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

int spool_skip(struct spool *s, size_t n)
{
	size_t total;

	if (!s->borrowed) {
		errno = EINVAL;
		return -1;
	}
	if (size_after(s, n, &total) < 0)
		return -1;
	s->size = total;
	return 0;
}

int spool_write(struct spool *s, const void *p, size_t n)
{
	size_t total;

	if (size_after(s, n, &total) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (s->borrowed) {
		s->size = total;	/* the bytes are in the caller's file already */
		return 0;
	}
	if (s->fd < 0) {
		if (total <= s->threshold) {
			/* Cannot fail: the buffer's max is the threshold. */
			if (buf_append(&s->mem, p, n) < 0) {
				errno = ENOMEM;
				return -1;
			}
			s->size = total;
			return 0;
		}
		if (spool_spill(s) < 0)
			return -1;
	}
	if (write_all(s->fd, p, n) < 0) {
		/* A partial write leaves the file longer than size; reads are
		 * bounded by size, and the next write would go past the junk, so
		 * truncate back to the last consistent length. */
		int saved = errno;

		if (ftruncate(s->fd, (off_t)s->size) < 0 ||
		    lseek(s->fd, (off_t)s->size, SEEK_SET) < 0) {
			/* keep the first error for the caller */
		}
		errno = saved;
		return -1;
	}
	s->size = total;
	return 0;
}

size_t spool_size(const struct spool *s)
{
	return s->size;
}

int spool_is_file(const struct spool *s)
{
	return s->fd >= 0;
}

ssize_t spool_read(struct spool *s, size_t off, void *dst, size_t len)
{
	size_t done = 0;
	ssize_t r;

	if (off >= s->size)
		return 0;
	if (len > s->size - off)
		len = s->size - off;
	if (len > (size_t)SSIZE_MAX)
		len = (size_t)SSIZE_MAX;
	if (s->fd < 0) {
		memcpy(dst, s->mem.data + off, len);
		return (ssize_t)len;
	}
	while (done < len) {
		r = pread(s->fd, (char *)dst + done, len - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;	/* the file is shorter than what we wrote */
			return -1;
		}
		done += (size_t)r;
	}
	return (ssize_t)done;
}

const char *spool_memory(const struct spool *s)
{
	if (s->fd >= 0)
		return NULL;
	return buf_cstr(&s->mem);
}
