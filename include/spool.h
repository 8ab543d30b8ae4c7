/*
 * spool.h -- message storage: memory up to a threshold, then an unlinked temp file.
 *
 * The milter and the CLI append the whole message (header block, blank line,
 * body) as it arrives; the planner and the writer read ranges back.  Memory
 * use is bounded by the threshold: the first write that would pass it moves
 * the contents to a file created with mkstemp() in the spool directory, mode
 * 0600, unlinked at once (nothing to clean up after a crash).
 *
 * Errors are returned, never fatal: the caller applies its OnError policy.
 */
#ifndef CPM_SPOOL_H
#define CPM_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

struct spool;

/* threshold: bytes kept in memory before spilling (0 = always a file);
 * dir: where temp files go (NULL = $TMPDIR or /tmp).  max_size: total limit,
 * 0 = unlimited. */
struct spool *spool_new(size_t threshold, const char *dir, size_t max_size);
void spool_free(struct spool *s);
/* The data is already in fd, from offset 0: a regular file the caller feeds
 * from and leaves alone until spool_free (the offline CLI on a message
 * file).  Writes then only count -- the bytes written must be the file's,
 * in order -- and reads come from fd; fd stays the caller's.  Only on an
 * empty spool; 0, or -1 (EINVAL) when something was written already. */
int spool_borrow_fd(struct spool *s, int fd);
/* On a borrowed spool: n more bytes of the file, counted without being
 * passed in; -1 (EINVAL) on any other spool, EFBIG past max_size. */
int spool_skip(struct spool *s, size_t n);
/* 0 on success; -1 with errno set (ENOSPC, EFBIG when max_size is passed, ...). */
int spool_write(struct spool *s, const void *p, size_t n);
size_t spool_size(const struct spool *s);
int spool_is_file(const struct spool *s);
/* Copy up to len bytes at off into dst; returns bytes read (short only at the
 * end of the data), or -1 with errno. */
ssize_t spool_read(struct spool *s, size_t off, void *dst, size_t len);
/* When the data is in memory, a pointer to it (valid until the next write);
 * NULL when spilled to a file.  Lets the fast path avoid copies. */
const char *spool_memory(const struct spool *s);

#endif
