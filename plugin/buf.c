/*
 * buf.c -- bounded growing byte string.  See buf.h.
 *
 * Growth doubles the capacity (bounded by max + 1 for the NUL) so appends
 * are amortised O(1); a request past max fails without touching the buffer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Make room for `extra` more bytes plus the NUL; -1 when len would pass max. */
static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need, cap;

	if (!size_add(b->len, extra, &need) || need > b->max)
		return -1;
	if (need < b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap <= need) {
		if (cap > ((size_t)-1) / 2) {
			cap = need + 1;
			break;
		}
		cap *= 2;
	}
	/* Never allocate far beyond what max allows. */
	if (b->max < (size_t)-1 && cap > b->max + 1)
		cap = b->max + 1;
	if (cap <= need)
		cap = need + 1;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	return buf_append(b, &ch, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	size_t room;

	if (buf_reserve(b, 0) < 0)
		return -1;
	room = b->cap - b->len;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, room, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = '\0';
		return -1;
	}
	if ((size_t)n >= room) {
		if (buf_reserve(b, (size_t)n) < 0) {
			b->data[b->len] = '\0';
			return -1;
		}
		room = b->cap - b->len;
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, room, fmt, ap2);
		va_end(ap2);
		if (n < 0 || (size_t)n >= room) {
			b->data[b->len] = '\0';
			return -1;
		}
	}
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

const char *buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *p;

	if (b->data == NULL) {
		p = xmalloc(1);
		p[0] = '\0';
	} else
		p = b->data;
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
