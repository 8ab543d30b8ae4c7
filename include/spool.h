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
