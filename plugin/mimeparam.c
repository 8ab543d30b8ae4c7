/*
 * mimeparam.c -- Content-Type / Content-Disposition value parser (RFC 2045,
 * RFC 2231).  See mimeparam.h.
 *
 * Two passes: the first walks the raw value and records every parameter
 * section (name, optional *N / * suffix, raw value span); the second joins
 * RFC 2231 sections by name and decodes every value.  Working on spans keeps
 * the parser free of intermediate copies and gives the exact byte ranges the
 * repair module needs.  Everything is bounded: at most MAX_SECTIONS raw
 * sections are looked at, MPARAM_MAX parameters are kept, each decoded value
 * is capped at MPARAM_MAX_VALUE bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cte.h"
#include "mimeparam.h"
#include "util.h"

#define MAX_SECTIONS	256	/* raw name=value items examined */
#define MAX_NAME	256	/* longest parameter name kept */
#define MAX_SECNO	999	/* highest RFC 2231 section number accepted */

struct cursor {
	const unsigned char *p;
	size_t len;
	size_t pos;
	unsigned *errors;
};

/* One raw name=value item as found in the input. */
struct section {
	char name[MAX_NAME + 1];	/* base name, lowercased */
	int secno;		/* RFC 2231 section, -1 for a plain parameter */
	bool ext;		/* name*N* / name*: value is charset'lang'%XX encoded */
	bool is2231;		/* had a '*' suffix */
	bool quoted;
	bool used;		/* already emitted as part of a group */
	size_t span_start, span_end;
	size_t value_start, value_end;
};

static bool is_tspecial(int c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool is_token_char(int c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip a (possibly nested) comment starting at '('. */
static void skip_comment(struct cursor *c)
{
	unsigned depth = 0;

	while (c->pos < c->len) {
		int ch = c->p[c->pos++];

		if (ch == '\\') {
			if (c->pos < c->len)
				c->pos++;
		} else if (ch == '(') {
			depth++;
		} else if (ch == ')') {
			if (--depth == 0)
				return;
		}
	}
	*c->errors |= MPARAM_ERR_SYNTAX;	/* unterminated comment */
}

/* Skip white space (folding included) and comments. */
static void skip_cfws(struct cursor *c)
{
	while (c->pos < c->len) {
		int ch = c->p[c->pos];

		if (is_space(ch))
			c->pos++;
		else if (ch == '(')
			skip_comment(c);
		else
			break;
	}
}

/* Skip a quoted string starting at '"'; false when unterminated. */
static bool skip_quoted(struct cursor *c)
{
	c->pos++;
	while (c->pos < c->len) {
		int ch = c->p[c->pos++];

		if (ch == '\\') {
			if (c->pos < c->len)
				c->pos++;
		} else if (ch == '"') {
			return true;
		}
	}
	return false;
}

/* Error recovery: advance to the next ';' outside quotes and comments. */
static void skip_to_semicolon(struct cursor *c)
{
	while (c->pos < c->len) {
		int ch = c->p[c->pos];

		if (ch == ';')
			return;
		if (ch == '"') {
			if (!skip_quoted(c))
				*c->errors |= MPARAM_ERR_SYNTAX;
		} else if (ch == '(') {
			skip_comment(c);
		} else {
			c->pos++;
		}
	}
}

static size_t scan_token(struct cursor *c)
{
	size_t start = c->pos;

	while (c->pos < c->len && is_token_char(c->p[c->pos]))
		c->pos++;
	return c->pos - start;
}

/* Copy a token lowercased into dst[cap]; false when empty or too long. */
static bool copy_token(char *dst, size_t cap, const unsigned char *p, size_t n)
{
	if (n == 0 || n >= cap) {
		dst[0] = '\0';
		return false;
	}
	return ascii_lower_copy(dst, cap, (const char *)p, n);
}

/* The media type (type/subtype) or disposition token at the start. */
static void parse_type(struct mparams *out, struct cursor *c, bool has_type)
{
	size_t start, n;

	skip_cfws(c);
	start = c->pos;
	n = scan_token(c);
	if (!copy_token(out->type, sizeof(out->type), c->p + start, n))
		goto bad;
	out->type_end = c->pos;
	if (!has_type)
		return;
	skip_cfws(c);
	if (c->pos >= c->len || c->p[c->pos] != '/')
		goto bad;
	c->pos++;
	skip_cfws(c);
	start = c->pos;
	n = scan_token(c);
	if (!copy_token(out->subtype, sizeof(out->subtype), c->p + start, n))
		goto bad;
	out->type_end = c->pos;
	return;
bad:
	out->type[0] = '\0';
	out->subtype[0] = '\0';
	out->type_end = 0;
	out->errors |= MPARAM_ERR_NOTYPE;
	if (n >= sizeof(out->type))
		out->errors |= MPARAM_ERR_LIMIT;
}

/*
 * Split "name", "name*", "name*N" or "name*N*" into the section fields.
 * Returns false for a malformed star suffix.
 */
static bool split_name(struct section *s, const unsigned char *p, size_t n)
{
	const unsigned char *star = memchr(p, '*', n);
	size_t base = star ? (size_t)(star - p) : n;
	size_t i;
	int num = 0;

	s->secno = -1;
	s->ext = false;
	s->is2231 = star != NULL;
	if (base > MAX_NAME)
		base = MAX_NAME;
	ascii_lower_copy(s->name, sizeof(s->name), (const char *)p, base);
	if (star == NULL)
		return true;
	i = (size_t)(star - p) + 1;
	if (i == n) {			/* name* */
		s->ext = true;
		s->secno = 0;
		return true;
	}
	if (p[i] < '0' || p[i] > '9')
		return false;
	if (p[i] == '0' && i + 1 < n && p[i + 1] != '*')
		return false;		/* leading zero */
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		num = num * 10 + (p[i] - '0');
		if (num > MAX_SECNO)
			return false;
	}
	s->secno = num;
	if (i == n)
		return true;
	if (p[i] == '*' && i + 1 == n) {
		s->ext = true;
		return true;
	}
	return false;
}

/* The value after '=': a quoted string, or (leniently) everything up to the
 * next ';' or white space. */
static void scan_value(struct cursor *c, struct section *s)
{
	s->value_start = c->pos;
	if (c->pos < c->len && c->p[c->pos] == '"') {
		s->quoted = true;
		if (!skip_quoted(c))
			*c->errors |= MPARAM_ERR_SYNTAX;
	} else {
		while (c->pos < c->len) {
			int ch = c->p[c->pos];

			if (ch == ';' || ch == '"' || ch < 0x20 || ch == 0x7f || ch == ' ')
				break;
			if (ch < 0x80 && !is_token_char(ch))
				*c->errors |= MPARAM_ERR_SYNTAX;	/* tspecial in token */
			c->pos++;
		}
		if (c->pos == s->value_start)
			*c->errors |= MPARAM_ERR_SYNTAX;	/* name= with no value */
	}
	s->value_end = c->pos;
}

/* First pass: record the sections.  Returns how many. */
static size_t scan_sections(struct cursor *c, struct section *sec, size_t max)
{
	size_t n = 0, name_start, name_len, semi;

	for (;;) {
		skip_cfws(c);
		if (c->pos >= c->len)
			break;
		if (c->p[c->pos] != ';') {
			*c->errors |= MPARAM_ERR_SYNTAX;
			skip_to_semicolon(c);
			continue;
		}
		semi = c->pos++;
		skip_cfws(c);
		if (c->pos >= c->len || c->p[c->pos] == ';')
			continue;		/* empty parameter: harmless */
		name_start = c->pos;
		name_len = scan_token(c);
		skip_cfws(c);
		if (name_len == 0 || c->pos >= c->len || c->p[c->pos] != '=') {
			*c->errors |= MPARAM_ERR_SYNTAX;
			skip_to_semicolon(c);
			continue;
		}
		c->pos++;
		skip_cfws(c);
		if (n == max) {
			*c->errors |= MPARAM_ERR_LIMIT;
			break;
		}
		memset(&sec[n], 0, sizeof(sec[n]));
		if (!split_name(&sec[n], c->p + name_start, name_len)) {
			*c->errors |= MPARAM_ERR_2231;
			skip_to_semicolon(c);
			continue;
		}
		if (name_len > MAX_NAME)
			*c->errors |= MPARAM_ERR_LIMIT;
		sec[n].span_start = semi;
		scan_value(c, &sec[n]);
		sec[n].span_end = sec[n].value_end;
		n++;
	}
	return n;
}

/* Append with the value limit; sets ERR_LIMIT once the cap is hit. */
static void value_put(struct buf *b, const void *p, size_t n, unsigned *errors)
{
	if (buf_append(b, p, n) < 0) {
		size_t room = b->max - b->len;

		if (room > 0)
			(void)buf_append(b, p, room);
		*errors |= MPARAM_ERR_LIMIT;
	}
}

/* The literal text of a section's value: quotes and quoted-pairs removed,
 * folding line breaks inside quotes dropped. */
static void section_literal(const unsigned char *in, const struct section *s,
			    struct buf *lit)
{
	size_t i = s->value_start, end = s->value_end;

	buf_reset(lit);
	if (!s->quoted) {
		(void)buf_append(lit, in + i, end - i);
		return;
	}
	i++;				/* opening quote */
	if (end > i && in[end - 1] == '"' && end - 1 > s->value_start)
		end--;			/* closing quote (absent when unterminated) */
	for (; i < end; i++) {
		unsigned char ch = in[i];

		if (ch == '\\' && i + 1 < end)
			ch = in[++i];
		else if (ch == '\r' || ch == '\n')
			continue;
		(void)buf_putc(lit, ch);
	}
}

/* Append p[0..n) %XX-decoded; a bad escape is kept literally. */
static void percent_decode(struct buf *out, const char *p, size_t n, unsigned *errors)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		int hi, lo;
		char byte;

		if (p[i] != '%')
			continue;
		value_put(out, p + run, i - run, errors);
		hi = i + 2 < n ? cte_hex_value((unsigned char)p[i + 1]) : -1;
		lo = i + 2 < n ? cte_hex_value((unsigned char)p[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			*errors |= MPARAM_ERR_2231;
			value_put(out, "%", 1, errors);
			run = i + 1;
			continue;
		}
		byte = (char)(hi * 16 + lo);
		value_put(out, &byte, 1, errors);
		i += 2;
		run = i + 1;
	}
	value_put(out, p + run, n - run, errors);
}

/* Add a parameter taking val's storage and charset; NULL past MPARAM_MAX. */
static struct mparam *emit(struct mparams *out, const struct section *first,
			   struct buf *val, char *charset)
{
	struct mparam *mp;

	if (out->nparam == MPARAM_MAX) {
		out->errors |= MPARAM_ERR_LIMIT;
		free(charset);
		return NULL;
	}
	/* nparam < MPARAM_MAX here (checked above), so the array stays bounded */
	out->param = array_grow_zeroed(out->param, out->nparam, &out->param_cap, 4, sizeof(*out->param));
	mp = &out->param[out->nparam++];
	mp->name = xstrdup(first->name);
	mp->value = buf_steal(val, &mp->value_len);
	mp->charset = charset;
	mp->rfc2231 = first->is2231;
	mp->quoted = first->quoted;
	mp->span_start = first->span_start;
	mp->span_end = first->span_end;
	mp->value_start = first->value_start;
	mp->value_end = first->value_end;
	return mp;
}

static void emit_plain(struct mparams *out, const unsigned char *in, struct section *s,
		       struct buf *lit, struct buf *val)
{
	struct mparam *mp;
	bool eight;

	section_literal(in, s, lit);
	eight = bytes_have_8bit(buf_cstr(lit), lit->len);
	value_put(val, buf_cstr(lit), lit->len, &out->errors);
	mp = emit(out, s, val, NULL);
	if (eight) {
		out->errors |= MPARAM_ERR_8BIT;
		if (mp != NULL)
			mp->raw_8bit = true;
	}
	s->used = true;
}

/*
 * Join the RFC 2231 sections named like sec[first]: sorted by number, the
 * first occurrence of each number wins, gaps and duplicates are flagged.
 */
static void emit_group(struct mparams *out, const unsigned char *in, struct section *sec,
		       size_t nsec, size_t first, struct buf *lit, struct buf *val)
{
	size_t idx[MAX_SECTIONS], n = 0, i, j, last_in_input = first;
	bool contiguous = true, eight = false;
	char *charset = NULL;
	int expect = 0;
	struct section head;
	struct mparam *mp;

	for (i = first; i < nsec; i++) {
		if (sec[i].used || !sec[i].is2231 || strcmp(sec[i].name, sec[first].name) != 0)
			continue;
		if (i != last_in_input && i != last_in_input + 1)
			contiguous = false;
		last_in_input = i;
		sec[i].used = true;
		/* insertion sort by section number, stable for duplicates */
		for (j = n; j > 0 && sec[idx[j - 1]].secno > sec[i].secno; j--)
			idx[j] = idx[j - 1];
		idx[j] = i;
		n++;
	}
	for (i = 0; i < n; i++) {
		const struct section *s = &sec[idx[i]];
		const char *p;
		size_t len;

		if (s->secno < expect) {	/* duplicate number: first kept */
			out->errors |= MPARAM_ERR_2231;
			continue;
		}
		if (s->secno > expect)		/* gap */
			out->errors |= MPARAM_ERR_2231;
		expect = s->secno + 1;
		section_literal(in, s, lit);
		p = buf_cstr(lit);
		len = lit->len;
		if (bytes_have_8bit(p, len))
			eight = true;
		if (!s->ext) {
			value_put(val, p, len, &out->errors);
			continue;
		}
		if (s->secno == 0) {
			const char *q1 = memchr(p, '\'', len);
			const char *q2 = q1 ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - p)) : NULL;

			if (q2 == NULL) {
				out->errors |= MPARAM_ERR_2231;
			} else {
				if (q1 > p)
					charset = xstrndup(p, (size_t)(q1 - p));
				len -= (size_t)(q2 + 1 - p);
				p = q2 + 1;
			}
		}
		percent_decode(val, p, len, &out->errors);
	}
	head = sec[first];
	if (n > 0 && sec[idx[0]].secno != 0)
		out->errors |= MPARAM_ERR_2231;	/* no section 0 */
	if (contiguous)
		head.span_end = sec[last_in_input].span_end;
	/* the quoted flag and value span describe the lowest section */
	head.quoted = sec[idx[0]].quoted;
	head.value_start = sec[idx[0]].value_start;
	head.value_end = sec[idx[0]].value_end;
	mp = emit(out, &head, val, charset);
	if (mp != NULL) {
		mp->split = !contiguous;
		mp->raw_8bit = eight;
	}
	if (eight)
		out->errors |= MPARAM_ERR_8BIT;
}

void mparams_parse(struct mparams *out, const char *value, size_t len, bool has_type)
{
	struct section *sec = xmalloc(MAX_SECTIONS * sizeof(*sec));
	struct cursor c;
	struct buf lit, val;
	size_t nsec, i;

	memset(out, 0, sizeof(*out));
	c.p = (const unsigned char *)value;
	c.len = value != NULL ? len : 0;
	c.pos = 0;
	c.errors = &out->errors;
	parse_type(out, &c, has_type);
	if (out->type[0] == '\0')
		skip_to_semicolon(&c);
	nsec = scan_sections(&c, sec, MAX_SECTIONS);

	buf_init(&lit, (size_t)-1);
	for (i = 0; i < nsec; i++) {
		if (sec[i].used)
			continue;
		buf_init(&val, MPARAM_MAX_VALUE);
		if (sec[i].is2231)
			emit_group(out, c.p, sec, nsec, i, &lit, &val);
		else
			emit_plain(out, c.p, &sec[i], &lit, &val);
		buf_free(&val);
	}
	buf_free(&lit);
	free(sec);
}

void mparams_free(struct mparams *p)
{
	size_t i;

	for (i = 0; i < p->nparam; i++) {
		free(p->param[i].name);
		free(p->param[i].value);
		free(p->param[i].charset);
	}
	free(p->param);
	p->param = NULL;
	p->nparam = p->param_cap = 0;
}

const struct mparam *mparams_get(const struct mparams *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nparam; i++)
		if (ascii_strcasecmp(p->param[i].name, name) == 0)
			return &p->param[i];
	return NULL;
}
