/*
 * mtafield.c -- header fields between libmilter's form and the wire form,
 * and the log key found in them.  See mtafield.h.
 *
 * Both MTAs pass a folded value with bare LF between its lines and keep LF
 * as the line separator of values given back to them (Postfix writes each
 * LF-separated piece as a queue-file record; Sendmail's header writer breaks
 * lines at LF).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mtafield.h"
#include "util.h"

int mtafield_to_wire(struct buf *f, const char *name, const char *value, bool leadspc)
{
	const char *p;

	buf_reset(f);
	if (buf_puts(f, name) == -1 || buf_putc(f, ':') == -1 || (!leadspc && buf_putc(f, ' ') == -1))
		return -1;
	for (p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r') && buf_putc(f, '\r') == -1)
			return -1;
		if (buf_putc(f, *p) == -1)
			return -1;
	}
	return buf_puts(f, "\r\n");
}

char *mtafield_from_wire(const char *value, bool leadspc)
{
	struct buf b;
	const char *p = value;

	buf_init(&b, (size_t)-1 / 2);
	if (!leadspc && *p == ' ')
		p++;
	for (; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		buf_putc(&b, *p);	/* cannot fail: the cap is half the address space */
	}
	return buf_steal(&b, NULL);
}

static bool id_char(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

void mtafield_received_id(const char *v, char *id, size_t cap)
{
	size_t n = strlen(v), i, k;

	id[0] = '\0';
	for (i = 0; i + 3 < n; i++) {
		if ((i > 0 && !isspace((unsigned char)v[i - 1])) || (v[i] != 'i' && v[i] != 'I') ||
		    (v[i + 1] != 'd' && v[i + 1] != 'D') || !isspace((unsigned char)v[i + 2]))
			continue;
		for (i += 3; i < n && isspace((unsigned char)v[i]); i++)
			;
		for (k = 0; k + 1 < cap && i + k < n && id_char((unsigned char)v[i + k]); k++)
			id[k] = v[i + k];
		id[k] = '\0';
		return;
	}
}

void mtafield_message_id(const char *v, char *id, size_t cap)
{
	size_t k = 0;

	for (; *v != '\0' && k + 1 < cap; v++)
		if (!isspace((unsigned char)*v))
			id[k++] = *v;
	id[k] = '\0';
}

void mtafield_source_keep(struct mtafield_source *src, const char *name, const struct buf *field)
{
	size_t skip = strlen(name) + 1;
	char **slot = ascii_strcasecmp(name, "from") == 0 ? &src->from :
	    ascii_strcasecmp(name, "x-mailer") == 0 ? &src->x_mailer :
	    ascii_strcasecmp(name, "user-agent") == 0 ? &src->user_agent : NULL;

	if (slot != NULL && *slot == NULL && field->len >= skip + 2)
		*slot = xstrndup(field->data + skip, field->len - skip - 2);
}

const char *mtafield_source_mailer(const struct mtafield_source *src)
{
	return src->x_mailer != NULL ? src->x_mailer : src->user_agent;
}

void mtafield_source_free(struct mtafield_source *src)
{
	free(src->from);
	free(src->x_mailer);
	free(src->user_agent);
	src->from = src->x_mailer = src->user_agent = NULL;
}
