/*
 * util.c -- allocation that cannot fail, ASCII case helpers.  See util.h.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "util.h"

void fatal_oom(void)
{
	static const char msg[] = "codepage-milter: out of memory\n";

	syslog(LOG_CRIT, "out of memory");
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to report with */
	}
	_exit(75);	/* EX_TEMPFAIL: the MTA keeps the message and retries */
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal_oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		fatal_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		fatal_oom();
	return q;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > (size_t)-1 / size)
		fatal_oom();
	return xrealloc(p, nmemb * size);
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int ascii_tolower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int ascii_strcasecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = ascii_tolower((unsigned char)*a);
		int cb = ascii_tolower((unsigned char)*b);

		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

int ascii_strncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int ca = ascii_tolower((unsigned char)*a);
		int cb = ascii_tolower((unsigned char)*b);

		if (ca != cb || ca == 0)
			return ca - cb;
	}
	return 0;
}

bool ascii_lower_copy(char *dst, size_t cap, const char *s, size_t len)
{
	size_t i;
	bool fits = len < cap;

	if (cap == 0)
		return false;
	if (!fits)
		len = cap - 1;
	for (i = 0; i < len; i++)
		dst[i] = (char)ascii_tolower((unsigned char)s[i]);
	dst[len] = '\0';
	return fits;
}

bool header_name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > HEADER_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 || s[i] == ':')
			return false;
	return true;
}

bool bytes_have_8bit(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, u + i, 8);
		if (w & 0x8080808080808080ULL)
			return true;
	}
	for (; i < n; i++)
		if (u[i] & 0x80)
			return true;
	return false;
}

void str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void *array_grow_zeroed(void *v, size_t n, size_t *cap, size_t first, size_t size)
{
	if (n >= *cap) {
		*cap = *cap ? *cap * 2 : first;
		v = xreallocarray(v, *cap, size);
	}
	memset((char *)v + n * size, 0, size);
	return v;
}

