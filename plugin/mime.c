/*
 * mime.c -- streaming MIME scanner.  See mime.h for the contract.
 *
 * One state machine over lines.  Input is cut at '\n' with memchr; a piece
 * is either a whole line or the part of a line that a chunk holds.
 *
 *   ST_HEADER  header lines are gathered (bounded) and handled at line end:
 *              a blank line ends the block; a line starting with white space
 *              continues the open field; "Name:" opens a field; anything else
 *              ends the block without a blank line and is replayed as the
 *              first body line.
 *   ST_BODY    body lines stream through.  Only a line starting with "--"
 *              can be a delimiter, and only its first LINE_PREFIX bytes are
 *              needed to tell, so body memory is O(1) whatever the line
 *              length.  The line ending of each body line is held back until
 *              the next line is known not to be a delimiter, because the EOL
 *              before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
 *
 * Open parts form a stack (root .. current); multipart entries carry their
 * boundary.  A delimiter of any open multipart closes everything above it, so
 * a missing close delimiter costs nothing but an anomaly bit.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "buf.h"
#include "mime.h"

#define LINE_PREFIX	256		/* enough for "--" + 70-char boundary + "--" + blanks */
#define HEADER_BUDGET	(8u << 20)	/* header bytes copied per message, all blocks together */

enum scan_state { ST_HEADER, ST_BODY };

struct open_part {
	unsigned part;
	char *boundary;		/* multipart containers only */
	size_t blen;
	bool closed;		/* close delimiter seen: the rest is epilogue */
};

struct mime_scanner {
	struct mime_limits lim;
	struct mime_message m;
	size_t parts_cap, headers_cap;
	mime_body_fn body_cb;
	mime_part_end_fn end_cb;
	void *cb_arg;

	size_t pos;			/* offset of the next byte fed */
	enum scan_state state;
	struct open_part *stack;
	unsigned nopen, stack_cap;
	bool structure_off;		/* a limit was hit: no more delimiters or parts */
	bool finished;

	/* the current line */
	size_t line_start;
	size_t line_len;		/* content bytes so far, EOL excluded */
	bool line_open;			/* some bytes of the current line were seen */
	bool first_line;

	/* ST_BODY */
	char prefix[LINE_PREFIX];
	size_t prefix_len;
	bool line_decided;		/* known not to be a delimiter; bytes already emitted */
	char pend_eol[2];
	size_t pend_len;		/* EOL of the previous body line, not emitted yet */
	const char *pend_ptr;		/* that EOL inside the chunk being fed, or NULL */
	const char *eol_ptr;		/* the EOL of the line being ended, in the chunk, or NULL */
	const char *line_ptr;		/* first byte of the current line if it began in this chunk */

	/* Leaf body bytes are passed on in runs: bytes that lie back to back in
	 * the chunk being fed are handed to the callback (and examined for 8-bit
	 * and NUL) in one go, not line by line. */
	const char *chunk_lo, *chunk_hi;	/* the chunk being fed; NULL outside feed() */
	const char *run;
	size_t run_len;
	unsigned run_part;
	bool held_cr;			/* a '\r' ended the last piece; its LF may follow */

	/* ST_HEADER */
	struct buf hline;		/* current header line, bounded */
	bool hline_trunc;
	bool hline_8bit;		/* raw bytes >= 0x80 anywhere in the line, buffered or not */
	bool field_open;
	size_t field_start, field_colon, field_end, field_eol;
	char field_name[80];
	struct buf field_value;
	bool field_8bit, field_trunc;
	unsigned block_crlf, block_lf;	/* line endings seen in this header block */
	size_t header_bytes;		/* copied so far, against HEADER_BUDGET */

	unsigned long lines_crlf, lines_lf;
};

void mime_limits_default(struct mime_limits *l)
{
	l->max_depth = 100;	/* Postfix's mime_nesting_limit: never stricter than the MTA */
	l->max_parts = 1000;
	l->max_headers = 1000;
	l->max_header_size = 64 * 1024;
	l->max_message = 0;
	l->max_total_headers = MIME_MAX_TOTAL_HEADERS_DEFAULT;
}

/* ---- small helpers --------------------------------------------------------------- */

static struct mime_part *cur_part(struct mime_scanner *sc)
{
	return &sc->m.parts[sc->stack[sc->nopen - 1].part];
}

static unsigned new_part(struct mime_scanner *sc, int parent, size_t hdr_start)
{
	struct mime_part *p;
	unsigned idx = sc->m.nparts;

	sc->m.parts = array_grow_zeroed(sc->m.parts, sc->m.nparts, &sc->parts_cap, 4, sizeof(*sc->m.parts));
	p = &sc->m.parts[sc->m.nparts++];
	p->parent = parent;
	p->hdr_start = p->hdr_end = p->body_start = p->body_end = hdr_start;
	p->first_header = sc->m.nheaders;
	p->ct_header = p->cte_header = p->cd_header = p->mimever_header = -1;
	memcpy(p->type, "text", 5);
	memcpy(p->subtype, "plain", 6);
	if (parent < 0) {
		memcpy(p->id, "1", 2);
	} else {
		struct mime_part *pp = &sc->m.parts[parent];
		int n;

		pp->nchildren++;
		p->depth = pp->depth + 1;
		p->eol_crlf = pp->eol_crlf;
		n = snprintf(p->id, sizeof(p->id), "%s.%u", pp->id, pp->nchildren);
		if (n < 0 || (size_t)n >= sizeof(p->id))
			p->id[sizeof(p->id) - 1] = '\0';	/* truncated id: documented */
	}
	if (sc->nopen == sc->stack_cap) {
		sc->stack_cap = sc->stack_cap ? sc->stack_cap * 2 : 8;
		sc->stack = xreallocarray(sc->stack, sc->stack_cap, sizeof(*sc->stack));
	}
	memset(&sc->stack[sc->nopen], 0, sizeof(sc->stack[0]));
	sc->stack[sc->nopen++].part = idx;
	return idx;
}

static void flag(struct mime_scanner *sc, unsigned bits)
{
	sc->m.anomalies |= bits;
	if (sc->nopen > 0)
		cur_part(sc)->anomalies |= bits;
}

/* ---- body bytes -------------------------------------------------------------------- */

/* Leaf body bytes: stats and the callback. */
static void emit_now(struct mime_scanner *sc, unsigned idx, const char *p, size_t n)
{
	struct mime_part *part = &sc->m.parts[idx];

	if (!part->body_has_8bit && bytes_have_8bit(p, n))
		part->body_has_8bit = true;
	if (!part->body_has_nul && memchr(p, '\0', n) != NULL) {
		part->body_has_nul = true;
		part->anomalies |= MIME_ANOM_NUL;
		sc->m.anomalies |= MIME_ANOM_NUL;
	}
	if (sc->body_cb != NULL)
		sc->body_cb(sc->cb_arg, &sc->m, idx, p, n);
}

static void flush_run(struct mime_scanner *sc)
{
	if (sc->run_len > 0) {
		emit_now(sc, sc->run_part, sc->run, sc->run_len);
		sc->run_len = 0;
	}
}

/* Bytes of the current part's body (leaves only).  Bytes inside the chunk
 * being fed join the current run when they follow it; anything else (copies
 * in our own buffers) goes out at once, after the run, to keep the order. */
static void emit(struct mime_scanner *sc, const char *p, size_t n)
{
	unsigned idx;

	if (n == 0 || sc->nopen == 0)
		return;
	idx = sc->stack[sc->nopen - 1].part;
	if (!sc->m.parts[idx].is_leaf)
		return;
	if (sc->run_len > 0 && sc->run + sc->run_len == p && sc->run_part == idx) {
		sc->run_len += n;
		return;
	}
	flush_run(sc);
	if (sc->chunk_lo != NULL && p >= sc->chunk_lo && p < sc->chunk_hi) {
		sc->run = p;
		sc->run_len = n;
		sc->run_part = idx;
		return;
	}
	emit_now(sc, idx, p, n);
}

static void flush_pending_eol(struct mime_scanner *sc)
{
	if (sc->pend_len > 0) {
		emit(sc, sc->pend_ptr != NULL ? sc->pend_ptr : sc->pend_eol, sc->pend_len);
		sc->pend_len = 0;
	}
}

/* Is the line in prefix a delimiter of an open multipart?  Searches from the
 * innermost.  Returns the stack index, or -1. */
static int match_delimiter(struct mime_scanner *sc, bool *is_close)
{
	const char *l = sc->prefix;
	size_t n = sc->prefix_len;
	int k;

	if (sc->structure_off || n < 3 || l[0] != '-' || l[1] != '-')
		return -1;
	for (k = (int)sc->nopen - 1; k >= 0; k--) {
		const struct open_part *op = &sc->stack[k];
		size_t i;

		if (op->boundary == NULL || op->closed || n < 2 + op->blen ||
		    memcmp(l + 2, op->boundary, op->blen) != 0)
			continue;
		i = 2 + op->blen;
		*is_close = false;
		if (i + 2 <= n && l[i] == '-' && l[i + 1] == '-') {
			*is_close = true;
			i += 2;
		}
		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i == n)
			return k;
	}
	return -1;
}

static void close_part(struct mime_scanner *sc, unsigned k, size_t end)
{
	struct open_part *op = &sc->stack[k];
	struct mime_part *p = &sc->m.parts[op->part];

	flush_run(sc);		/* the part's body bytes go out before its part_end */
	if (end < p->body_start)
		end = p->body_start;
	p->body_end = end;
	if (op->boundary != NULL && !op->closed) {
		p->anomalies |= MIME_ANOM_NO_CLOSE;
		sc->m.anomalies |= MIME_ANOM_NO_CLOSE;
	}
	if (p->is_leaf && sc->end_cb != NULL)
		sc->end_cb(sc->cb_arg, &sc->m, op->part);
	free(op->boundary);
	op->boundary = NULL;
}

static void header_block_begin(struct mime_scanner *sc)
{
	sc->state = ST_HEADER;
	sc->field_open = false;
	sc->block_crlf = sc->block_lf = 0;
}

static void on_delimiter(struct mime_scanner *sc, int k, bool is_close, size_t line_start, size_t after)
{
	size_t body_end = line_start - sc->pend_len;
	struct open_part *mp;

	sc->pend_len = 0;
	while ((int)sc->nopen - 1 > k) {
		close_part(sc, sc->nopen - 1, body_end);
		sc->nopen--;
	}
	sc->state = ST_BODY;
	mp = &sc->stack[k];
	if (is_close) {
		mp->closed = true;	/* the rest, up to the parent's delimiter, is epilogue */
		return;
	}
	if (sc->m.nparts >= sc->lim.max_parts) {
		flag(sc, MIME_ANOM_PARTS);
		sc->structure_off = true;
		return;
	}
	new_part(sc, (int)mp->part, after);
	header_block_begin(sc);
}

/* The buffered first bytes of the line: from the chunk when the line began
 * in it (so they join the run), else from our copy. */
static void emit_prefix(struct mime_scanner *sc)
{
	emit(sc, sc->line_ptr != NULL ? sc->line_ptr : sc->prefix, sc->prefix_len);
}

/* Content bytes of the current body line (no EOL). */
static void body_content(struct mime_scanner *sc, const char *p, size_t n)
{
	size_t take;

	if (n == 0)
		return;
	sc->line_len += n;
	if (sc->line_decided) {
		emit(sc, p, n);
		return;
	}
	if (sc->prefix_len == 0 && (p[0] != '-' || sc->structure_off)) {
		/* the common case: a line that cannot be a delimiter */
		sc->line_decided = true;
		flush_pending_eol(sc);
		emit(sc, p, n);
		return;
	}
	take = LINE_PREFIX - sc->prefix_len;
	if (take > n)
		take = n;
	memcpy(sc->prefix + sc->prefix_len, p, take);
	sc->prefix_len += take;
	if (take == n && sc->prefix_len < LINE_PREFIX && sc->prefix[0] == '-' &&
	    (sc->prefix_len < 2 || sc->prefix[1] == '-') && !sc->structure_off)
		return;		/* may still be a delimiter */
	sc->line_decided = true;
	flush_pending_eol(sc);
	emit_prefix(sc);
	emit(sc, p + take, n - take);
}

static void line_stats(struct mime_scanner *sc, size_t eol_len)
{
	if (eol_len == 2)
		sc->lines_crlf++;
	else if (eol_len == 1)
		sc->lines_lf++;
	if (sc->line_len > MIME_MAX_LINE)
		flag(sc, MIME_ANOM_LONG_LINE);
}

static void reset_line(struct mime_scanner *sc)
{
	sc->line_len = 0;
	sc->prefix_len = 0;
	sc->line_decided = false;
	sc->line_open = false;
	sc->first_line = false;
	sc->line_ptr = NULL;
}

/* The current body line ended with an EOL of eol_len bytes (0 at end of input). */
static void body_line_end(struct mime_scanner *sc, size_t eol_len)
{
	size_t line_start = sc->line_start;
	size_t after = line_start + sc->line_len + eol_len;
	struct mime_part *p;

	line_stats(sc, eol_len);
	if (!sc->line_decided) {
		bool is_close;
		int k = match_delimiter(sc, &is_close);

		if (k >= 0) {
			reset_line(sc);
			on_delimiter(sc, k, is_close, line_start, after);
			return;
		}
		flush_pending_eol(sc);
		emit_prefix(sc);
	}
	p = cur_part(sc);
	if (p->is_leaf && sc->line_len > p->max_line_len)
		p->max_line_len = sc->line_len;
	if (eol_len == 2)
		memcpy(sc->pend_eol, "\r\n", 2);
	else
		sc->pend_eol[0] = '\n';
	sc->pend_len = eol_len;
	sc->pend_ptr = eol_len > 0 ? sc->eol_ptr : NULL;
	reset_line(sc);
}

/* ---- header fields ------------------------------------------------------------------ */

static void set_part_header_index(struct mime_part *p, unsigned idx, const char *name)
{
	if (ascii_strcasecmp(name, "Content-Type") == 0 && p->ct_header < 0)
		p->ct_header = (int)idx;
	else if (ascii_strcasecmp(name, "Content-Transfer-Encoding") == 0 && p->cte_header < 0)
		p->cte_header = (int)idx;
	else if (ascii_strcasecmp(name, "Content-Disposition") == 0 && p->cd_header < 0)
		p->cd_header = (int)idx;
	else if (ascii_strcasecmp(name, "MIME-Version") == 0 && p->mimever_header < 0)
		p->mimever_header = (int)idx;
}

static void finish_field(struct mime_scanner *sc)
{
	struct mime_part *p = cur_part(sc);
	struct mime_header *h;

	if (!sc->field_open)
		return;
	sc->field_open = false;
	p->hdr_end = sc->field_end;
	if (p->nheaders >= sc->lim.max_headers || sc->m.nheaders >= sc->lim.max_total_headers) {
		flag(sc, MIME_ANOM_HDR_COUNT);
		buf_reset(&sc->field_value);
		return;
	}
	sc->m.headers = array_grow_zeroed(sc->m.headers, sc->m.nheaders, &sc->headers_cap, 16,
					  sizeof(*sc->m.headers));
	h = &sc->m.headers[sc->m.nheaders];
	h->start = sc->field_start;
	h->colon = sc->field_colon;
	h->end = sc->field_end;
	h->eol_len = sc->field_eol;
	h->part = sc->stack[sc->nopen - 1].part;
	h->has_8bit = sc->field_8bit;
	h->truncated = sc->field_trunc;
	memcpy(h->name, sc->field_name, sizeof(h->name));
	h->value = buf_steal(&sc->field_value, &h->value_len);
	if (h->value == NULL)
		h->value = xstrdup("");
	if (h->has_8bit)
		flag(sc, MIME_ANOM_8BIT_HDR);
	if (h->truncated)
		flag(sc, MIME_ANOM_HDR_SIZE);
	set_part_header_index(p, sc->m.nheaders, h->name);
	if (p->nheaders == 0)
		p->first_header = sc->m.nheaders;
	p->nheaders++;
	sc->m.nheaders++;
}

/* Append to the bounded value copy; what does not fit is dropped and the
 * field marked truncated (the copy keeps its first max_header_size bytes). */
static void field_append(struct mime_scanner *sc, const char *p, size_t n)
{
	size_t room = sc->field_value.max - sc->field_value.len;

	if (n == 0)
		return;
	if (sc->header_bytes >= HEADER_BUDGET) {
		sc->field_trunc = true;
		return;
	}
	if (room > HEADER_BUDGET - sc->header_bytes)
		room = HEADER_BUDGET - sc->header_bytes;
	if (n > room) {
		sc->field_trunc = true;
		n = room;
	}
	if (n > 0 && buf_append(&sc->field_value, p, n) == 0)
		sc->header_bytes += n;
}

static enum mime_cte parse_cte(const char *v, size_t n)
{
	static const struct { const char *name; enum mime_cte cte; } names[] = {
		{ "7bit", CTE_7BIT }, { "8bit", CTE_8BIT }, { "binary", CTE_BINARY },
		{ "quoted-printable", CTE_QP }, { "base64", CTE_BASE64 },
	};
	size_t i = 0, j, len;

	while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == '\r' || v[i] == '\n'))
		i++;
	for (len = 0; i + len < n && v[i + len] != ' ' && v[i + len] != '\t' && v[i + len] != '\r' &&
	     v[i + len] != '\n' && v[i + len] != '(' && v[i + len] != ';'; len++)
		;
	for (j = 0; j < ARRAY_LEN(names); j++)
		if (strlen(names[j].name) == len && ascii_strncasecmp(v + i, names[j].name, len) == 0)
			return names[j].cte;
	return CTE_UNKNOWN;
}

static bool is_digest_child(const struct mime_scanner *sc, const struct mime_part *p)
{
	const struct mime_part *pp;

	if (p->parent < 0)
		return false;
	pp = &sc->m.parts[p->parent];
	return pp->is_multipart && strcmp(pp->type, "multipart") == 0 && strcmp(pp->subtype, "digest") == 0;
}

/* The header block of the current part ended; body starts at body_start. */
/* Content-Type, Content-Disposition and Content-Transfer-Encoding of part p,
 * parsed once its header block is complete. */
static void parse_content_fields(struct mime_scanner *sc, struct mime_part *p)
{
	if (p->ct_header >= 0) {
		const struct mime_header *h = &sc->m.headers[p->ct_header];

		mparams_parse(&p->ct, h->value, h->value_len, true);
		if (p->ct.type[0] != '\0' && p->ct.subtype[0] != '\0') {
			p->ct_valid = true;
			memcpy(p->type, p->ct.type, sizeof(p->type));
			memcpy(p->subtype, p->ct.subtype, sizeof(p->subtype));
		} else {
			flag(sc, MIME_ANOM_BAD_CT);
			memcpy(p->type, "text", 5);
			memcpy(p->subtype, "plain", 6);
		}
		if (p->ct.errors & ~MPARAM_ERR_NOTYPE)
			flag(sc, MIME_ANOM_PARAM);
	}
	if (p->cd_header >= 0) {
		const struct mime_header *h = &sc->m.headers[p->cd_header];

		mparams_parse(&p->cd, h->value, h->value_len, false);
		if (p->cd.errors)
			flag(sc, MIME_ANOM_PARAM);
	}
	if (p->cte_header >= 0) {
		const struct mime_header *h = &sc->m.headers[p->cte_header];

		p->cte = parse_cte(h->value, h->value_len);
		if (p->cte == CTE_UNKNOWN)
			flag(sc, MIME_ANOM_BAD_CTE);
	}
}

static void header_block_end(struct mime_scanner *sc, size_t body_start)
{
	unsigned idx = sc->stack[sc->nopen - 1].part;
	struct mime_part *p = &sc->m.parts[idx];
	const struct mparam *bd;

	finish_field(sc);
	p = &sc->m.parts[idx];
	if (p->nheaders == 0)
		p->hdr_end = p->hdr_start;
	p->body_start = p->body_end = body_start;
	if (sc->block_crlf + sc->block_lf > 0)
		p->eol_crlf = sc->block_crlf > sc->block_lf;
	if (is_digest_child(sc, p)) {
		memcpy(p->type, "message", 8);
		memcpy(p->subtype, "rfc822", 7);
	}
	parse_content_fields(sc, p);
	sc->state = ST_BODY;
	sc->pend_len = 0;
	if (strcmp(p->type, "multipart") == 0) {
		bd = mparams_get(&p->ct, "boundary");
		if (bd == NULL || bd->value_len == 0 || bd->value_len > LINE_PREFIX - 8) {
			flag(sc, MIME_ANOM_NO_BOUNDARY);
		} else if (p->depth >= sc->lim.max_depth || sc->structure_off) {
			flag(sc, MIME_ANOM_DEPTH);
		} else {
			struct open_part *op = &sc->stack[sc->nopen - 1];

			p->is_multipart = true;
			op->boundary = xstrndup(bd->value, bd->value_len);
			op->blen = bd->value_len;
			return;
		}
	} else if (strcmp(p->type, "message") == 0 &&
		   (strcmp(p->subtype, "rfc822") == 0 || strcmp(p->subtype, "global") == 0) &&
		   (p->cte == CTE_ABSENT || p->cte == CTE_7BIT || p->cte == CTE_8BIT || p->cte == CTE_BINARY)) {
		if (p->depth >= sc->lim.max_depth || sc->structure_off) {
			flag(sc, MIME_ANOM_DEPTH);
		} else if (sc->m.nparts >= sc->lim.max_parts) {
			flag(sc, MIME_ANOM_PARTS);
			sc->structure_off = true;
		} else {
			p->is_message = true;
			new_part(sc, (int)idx, body_start);
			header_block_begin(sc);
			return;
		}
	}
	p = &sc->m.parts[idx];
	p->is_leaf = true;
}

static bool is_field_name_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* Length of the field name if l opens a field ("Name:" with optional blanks
 * before the colon), else 0; *colon gets the colon's index. */
static size_t field_name_len(const char *l, size_t n, size_t *colon)
{
	size_t i, name_end;

	for (i = 0; i < n && i < MIME_MAX_LINE && is_field_name_char((unsigned char)l[i]); i++)
		;
	name_end = i;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (name_end == 0 || i >= n || l[i] != ':')
		return 0;
	*colon = i;
	return name_end;
}

static bool is_mbox_from_line(const struct mime_scanner *sc, const char *l, size_t n)
{
	return sc->first_line && sc->stack[sc->nopen - 1].part == 0 && n >= 5 && memcmp(l, "From ", 5) == 0;
}

/* Could the (possibly partial) line l be part of the header block? */
static bool is_header_line(const struct mime_scanner *sc, const char *l, size_t n)
{
	size_t colon;

	if (n > 0 && (l[0] == ' ' || l[0] == '\t') && sc->field_open)
		return true;
	return field_name_len(l, n, &colon) > 0 || is_mbox_from_line(sc, l, n);
}

/* A line that is not a header line ends the block without a blank line and
 * is the first body line.  The block end may open an embedded message whose
 * header block starts with the same line: that one ends at once too. */
static void header_block_cut(struct mime_scanner *sc, const char *l, size_t n)
{
	bool delim_like = n >= 2 && l[0] == '-' && l[1] == '-';

	while (sc->state == ST_HEADER) {
		if (!delim_like)
			flag(sc, MIME_ANOM_BAD_HDR_LINE);
		header_block_end(sc, sc->line_start);
	}
}

/* A whole header line (content without EOL; l holds the first bytes, all of
 * them unless the line is a field longer than the line buffer). */
static void header_line(struct mime_scanner *sc, const char *l, size_t n, size_t eol_len)
{
	size_t after = sc->line_start + sc->line_len + eol_len;
	size_t name_end, colon;

	if (eol_len == 2)
		sc->block_crlf++, sc->lines_crlf++;
	else if (eol_len == 1)
		sc->block_lf++, sc->lines_lf++;
	if (sc->line_len > MIME_MAX_LINE)
		flag(sc, MIME_ANOM_LONG_LINE);
	if (sc->line_len == 0 && eol_len > 0) {
		cur_part(sc)->has_blank_line = true;
		header_block_end(sc, after);
		return;
	}
	if (n > 0 && (l[0] == ' ' || l[0] == '\t') && sc->field_open) {
		/* folded continuation: keep the folding in the copy */
		field_append(sc, sc->field_eol == 2 ? "\r\n" : "\n", sc->field_eol);
		field_append(sc, l, n);
		if (sc->hline_trunc)
			sc->field_trunc = true;
		if (sc->hline_8bit)
			sc->field_8bit = true;
		sc->field_end = after;
		sc->field_eol = eol_len;
		return;
	}
	name_end = field_name_len(l, n, &colon);
	if (name_end > 0) {
		size_t keep = name_end < sizeof(sc->field_name) ? name_end : sizeof(sc->field_name) - 1;

		finish_field(sc);
		sc->field_open = true;
		sc->field_start = sc->line_start;
		sc->field_colon = sc->line_start + colon;
		sc->field_end = after;
		sc->field_eol = eol_len;
		sc->field_trunc = sc->hline_trunc;
		memcpy(sc->field_name, l, keep);
		sc->field_name[keep] = '\0';
		buf_reset(&sc->field_value);
		field_append(sc, l + colon + 1, n - colon - 1);
		sc->field_8bit = sc->hline_8bit;
		return;
	}
	if (is_mbox_from_line(sc, l, n)) {
		/* an mbox separator line: not part of the message's header */
		struct mime_part *p = cur_part(sc);

		p->hdr_start = p->hdr_end = after;
		return;
	}
	/* not a header line: replay it as the first body line (the CRs of the
	 * line were already dealt with, so go straight to body_content) */
	{
		size_t len = sc->line_len;

		header_block_cut(sc, l, n);
		sc->line_len = 0;
		sc->prefix_len = 0;
		sc->line_decided = false;
		body_content(sc, l, n);
		sc->line_len = len;
		body_line_end(sc, eol_len);
	}
}

/* Content bytes (no EOL) of the current header line. */
static void header_content(struct mime_scanner *sc, const char *p, size_t n)
{
	size_t room;

	sc->line_len += n;
	if (!sc->hline_8bit && bytes_have_8bit(p, n))
		sc->hline_8bit = true;
	if (memchr(p, '\0', n) != NULL)
		flag(sc, MIME_ANOM_NUL);
	if (sc->hline_trunc)
		return;
	if (buf_append(&sc->hline, p, n) == 0)
		return;
	room = sc->hline.max - sc->hline.len;
	buf_append(&sc->hline, p, room);
	if (!is_header_line(sc, sc->hline.data, sc->hline.len)) {
		/* too long to buffer and not a field: the body starts with this
		 * line, and the rest of it streams as body */
		size_t have = sc->hline.len;

		header_block_cut(sc, sc->hline.data, have);
		sc->line_len = 0;
		sc->prefix_len = 0;
		sc->line_decided = false;
		body_content(sc, sc->hline.data, have);
		body_content(sc, p + room, n - room);
		buf_reset(&sc->hline);
		return;
	}
	sc->hline_trunc = true;
}

static void header_line_end(struct mime_scanner *sc, size_t eol_len)
{
	header_line(sc, buf_cstr(&sc->hline), sc->hline.len, eol_len);
	buf_reset(&sc->hline);
	sc->hline_trunc = false;
	sc->hline_8bit = false;
	reset_line(sc);
}

static void line_content(struct mime_scanner *sc, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (sc->state == ST_HEADER)
		header_content(sc, p, n);
	else
		body_content(sc, p, n);
}

/* One piece of a line: all of it, or what this chunk holds.  A CR at the
 * end of a piece is held until the next byte shows whether it starts a CRLF. */
static void line_piece(struct mime_scanner *sc, const char *p, size_t n, bool ends_line)
{
	size_t clen = n, eol = 0;
	bool hold_cr = false;

	if (ends_line) {
		clen--;
		eol = 1;
		if (clen > 0 && p[clen - 1] == '\r') {
			clen--;
			eol = 2;
		} else if (clen == 0 && sc->held_cr) {
			sc->held_cr = false;	/* the CR that ended the previous piece */
			eol = 2;
		}
		sc->eol_ptr = clen + eol == n ? p + clen : NULL;
	} else if (clen > 0 && p[clen - 1] == '\r') {
		hold_cr = true;
		clen--;
	}
	if (sc->held_cr) {
		/* a CR not followed by LF: content */
		sc->held_cr = false;
		flag(sc, MIME_ANOM_BARE_CR);
		line_content(sc, "\r", 1);
	}
	if (clen > 0 && !(cur_part(sc)->anomalies & MIME_ANOM_BARE_CR) && memchr(p, '\r', clen) != NULL)
		flag(sc, MIME_ANOM_BARE_CR);
	line_content(sc, p, clen);
	sc->held_cr = hold_cr;
	if (ends_line) {
		if (sc->state == ST_HEADER)
			header_line_end(sc, eol);
		else
			body_line_end(sc, eol);
	}
}

/* ---- public interface -------------------------------------------------------------- */

struct mime_scanner *mime_scanner_new(const struct mime_limits *limits)
{
	struct mime_scanner *sc = xcalloc(1, sizeof(*sc));

	if (limits != NULL)
		sc->lim = *limits;
	else
		mime_limits_default(&sc->lim);
	if (sc->lim.max_depth == 0)
		sc->lim.max_depth = 1;
	if (sc->lim.max_parts == 0)
		sc->lim.max_parts = 1;
	if (sc->lim.max_total_headers == 0)
		sc->lim.max_total_headers = MIME_MAX_TOTAL_HEADERS_DEFAULT;
	if (sc->lim.max_total_headers < sc->lim.max_headers)
		sc->lim.max_total_headers = sc->lim.max_headers;
	if (sc->lim.max_header_size < 1024)
		sc->lim.max_header_size = 1024;
	buf_init(&sc->hline, sc->lim.max_header_size);
	buf_init(&sc->field_value, sc->lim.max_header_size);
	new_part(sc, -1, 0);
	header_block_begin(sc);
	sc->first_line = true;
	return sc;
}

void mime_scanner_set_body_callback(struct mime_scanner *sc, mime_body_fn body,
				    mime_part_end_fn part_end, void *arg)
{
	sc->body_cb = body;
	sc->end_cb = part_end;
	sc->cb_arg = arg;
}

void mime_scanner_feed(struct mime_scanner *sc, const char *data, size_t len)
{
	if (sc->finished)
		return;
	sc->m.size += len;
	if (sc->lim.max_message > 0) {
		if (sc->pos >= sc->lim.max_message) {
			sc->m.anomalies |= MIME_ANOM_TOO_BIG;
			return;
		}
		if (len > sc->lim.max_message - sc->pos) {
			sc->m.anomalies |= MIME_ANOM_TOO_BIG;
			len = sc->lim.max_message - sc->pos;
		}
	}
	sc->chunk_lo = data;
	sc->chunk_hi = data + len;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - data) + 1 : len;

		if (!sc->line_open) {
			sc->line_open = true;
			sc->line_start = sc->pos;
			sc->line_ptr = data;
		}
		line_piece(sc, data, n, nl != NULL);
		sc->pos += n;
		data += n;
		len -= n;
	}
	/* nothing may point into the caller's chunk after we return */
	flush_run(sc);
	sc->chunk_lo = sc->chunk_hi = NULL;
	sc->pend_ptr = NULL;
	sc->line_ptr = NULL;
}

const struct mime_message *mime_scanner_finish(struct mime_scanner *sc)
{
	if (sc->finished)
		return &sc->m;
	if (sc->held_cr) {
		sc->held_cr = false;
		flag(sc, MIME_ANOM_BARE_CR);
		line_content(sc, "\r", 1);
	}
	if (sc->line_open) {
		if (sc->state == ST_HEADER)
			header_line_end(sc, 0);
		else
			body_line_end(sc, 0);
	}
	/* a header block still open (possibly one that the last line, a
	 * delimiter without EOL, just began): the part ends here, with no body;
	 * ending it may begin an embedded message's block, ended the same way */
	while (sc->state == ST_HEADER) {
		finish_field(sc);
		if (sc->stack[sc->nopen - 1].part != 0)
			flag(sc, MIME_ANOM_TRUNC_HDR);
		header_block_end(sc, sc->pos);
	}
	flush_pending_eol(sc);
	while (sc->nopen > 0) {
		close_part(sc, sc->nopen - 1, sc->pos);
		sc->nopen--;
	}
	if (sc->lines_crlf > 0 && sc->lines_lf > 0)
		sc->m.anomalies |= MIME_ANOM_MIXED_EOL;
	sc->m.eol_crlf = sc->m.nparts > 0 && sc->lines_crlf > sc->lines_lf;
	if (sc->m.nparts > 0 && sc->m.parts[0].nheaders > 0)
		sc->m.eol_crlf = sc->m.parts[0].eol_crlf;
	sc->finished = true;
	return &sc->m;
}

void mime_scanner_free(struct mime_scanner *sc)
{
	unsigned i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->nopen; i++)
		free(sc->stack[i].boundary);
	for (i = 0; i < sc->m.nparts; i++) {
		mparams_free(&sc->m.parts[i].ct);
		mparams_free(&sc->m.parts[i].cd);
	}
	for (i = 0; i < sc->m.nheaders; i++)
		free(sc->m.headers[i].value);
	free(sc->m.parts);
	free(sc->m.headers);
	free(sc->stack);
	buf_free(&sc->hline);
	buf_free(&sc->field_value);
	free(sc);
}

/* ---- helpers on a finished tree ------------------------------------------------------ */

const char *mime_cte_name(enum mime_cte cte)
{
	switch (cte) {
	case CTE_ABSENT: return "7bit";
	case CTE_7BIT: return "7bit";
	case CTE_8BIT: return "8bit";
	case CTE_BINARY: return "binary";
	case CTE_QP: return "quoted-printable";
	case CTE_BASE64: return "base64";
	default: return "x-unknown";
	}
}

const struct mime_header *mime_part_header(const struct mime_message *m, unsigned p,
					   const char *name, unsigned nth)
{
	const struct mime_part *part;
	unsigned i;

	if (m == NULL || p >= m->nparts)
		return NULL;
	part = &m->parts[p];
	for (i = 0; i < part->nheaders; i++) {
		const struct mime_header *h = &m->headers[part->first_header + i];

		if (ascii_strcasecmp(h->name, name) == 0 && nth-- == 0)
			return h;
	}
	return NULL;
}

bool mime_part_in_signed(const struct mime_message *m, unsigned p)
{
	int i = (int)p;

	while (i >= 0 && (unsigned)i < m->nparts) {
		const struct mime_part *part = &m->parts[i];

		if ((strcmp(part->type, "multipart") == 0 &&
		     (strcmp(part->subtype, "signed") == 0 || strcmp(part->subtype, "encrypted") == 0)) ||
		    (strcmp(part->type, "application") == 0 &&
		     (strcmp(part->subtype, "pkcs7-mime") == 0 || strcmp(part->subtype, "x-pkcs7-mime") == 0 ||
		      strcmp(part->subtype, "pkcs7-signature") == 0)))
			return true;
		i = part->parent;
	}
	return false;
}

bool mime_part_in_message_global(const struct mime_message *m, unsigned part)
{
	int p = m->parts[part].parent;

	return p >= 0 && strcmp(m->parts[p].type, "message") == 0 && strcmp(m->parts[p].subtype, "global") == 0;
}
