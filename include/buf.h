/*
 * buf.h -- the one growing byte string of the project, with a hard maximum.
 *
 * Every instance carries a limit: growing past it is an error the caller
 * handles ("too big" is reported, never an allocation storm), modelled on
 * Postfix's VSTRING and curl's dynbuf.  The contents are always followed by a
 * NUL byte that is not counted in len, so text can be passed to C string
 * functions; binary data may contain NULs.
 *
 * Ownership: the struct is the caller's (stack or embedded); buf_free releases
 * the storage.  A zeroed struct after buf_init(b, max) is an empty buffer.
 */
#ifndef CPM_BUF_H
#define CPM_BUF_H

#include <stddef.h>
#include <stdarg.h>

struct buf {
	char *data;	/* NUL-terminated when cap > 0; NULL when empty and unallocated */
	size_t len;	/* bytes used, excluding the terminating NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);		/* len = 0, storage kept */
/* All appenders return 0, or -1 when len would exceed max (buffer unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Always returns a NUL-terminated string ("" for an unallocated buffer). */
const char *buf_cstr(const struct buf *b);
/* Hand the storage to the caller (NUL-terminated, free() it); b becomes empty. */
char *buf_steal(struct buf *b, size_t *len);

#endif
