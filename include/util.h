/*
 * util.h -- allocation that cannot fail, and small helpers shared by all modules.
 *
 * Allocation failure is fatal in exactly one place (xmalloc and friends call
 * fatal_oom(), which logs and exits 75/EX_TEMPFAIL so the MTA retries), instead
 * of being checked at a hundred call sites.  All sizes are size_t; the
 * helpers check the multiplication in xcalloc/xreallocarray for overflow.
 */
#ifndef CPM_UTIL_H
#define CPM_UTIL_H

#include <stddef.h>
#include <stdbool.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void fatal_oom(void) __attribute__((noreturn));

/* ASCII-only case helpers (never locale dependent: mail syntax is ASCII). */
int ascii_tolower(int c);
int ascii_strcasecmp(const char *a, const char *b);
int ascii_strncasecmp(const char *a, const char *b, size_t n);
/* Copy s into dst (capacity cap, always NUL-terminated), lowercased; returns
 * false when s did not fit (dst then holds a truncated copy). */
bool ascii_lower_copy(char *dst, size_t cap, const char *s, size_t len);

/* Make room in array v (n elements used, capacity *cap, elements of `size`
 * bytes) for one more, doubling the capacity from `first`; the element v[n]
 * is zeroed.  Returns the (possibly moved) array; the caller counts it. */
void *array_grow_zeroed(void *v, size_t n, size_t *cap, size_t first, size_t size);

/* Copy the C string src into dst (capacity cap > 0), cut to fit, always
 * NUL-terminated. */
void str_copy(char *dst, size_t cap, const char *src);

/* The longest header field name kept (mime.h) or accepted in a rule. */
#define HEADER_NAME_MAX	76

/* RFC 5322 section 3.6.8: a field name is 1..HEADER_NAME_MAX printable
 * US-ASCII characters except ':'. */
bool header_name_valid(const char *s, size_t n);

/* True when p[0..n) holds a byte >= 0x80 (8 bytes at a time). */
bool bytes_have_8bit(const char *p, size_t n);

/* Overflow-checked size addition: false when a + b overflows. */
static inline bool size_add(size_t a, size_t b, size_t *out)
{
	if (a > (size_t)-1 - b)
		return false;
	*out = a + b;
	return true;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
