/*
 * output.c -- apply an edit list to the spooled original, streaming.  See output.h.
 *
 * Untouched ranges go from the spool to the sink without being looked at;
 * small pieces (edits, short ranges) are gathered in one OUTPUT_CHUNK buffer
 * so the milter sees few, full replacebody calls.  Transcoding edits run a
 * pipeline in bounded memory:
 *
 *   spool bytes -> transfer decoding -> charset conversion to UTF-8 (optional)
 *               -> line-ending normalisation -> transfer encoding -> sink
 *
 * Line endings: decoded text may use CRLF or LF; the output uses the part's
 * own (crlf flag).  Base64 encodes the canonical CRLF form (RFC 2045 6.8).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "analyze.h"
#include "output.h"

struct out {
	output_sink_fn sink;
	void *arg;
	char *buf;
	size_t len;
	int err;
};

static void out_flush(struct out *o)
{
	if (o->len > 0 && o->err == 0 && o->sink(o->arg, o->buf, o->len) < 0)
		o->err = -1;
	o->len = 0;
}

static void out_put(struct out *o, const char *p, size_t n)
{
	while (n > 0 && o->err == 0) {
		size_t room = OUTPUT_CHUNK - o->len;

		if (o->len == 0 && n >= OUTPUT_CHUNK) {
			/* large untouched run: pass it straight through */
			if (o->sink(o->arg, p, OUTPUT_CHUNK) < 0)
				o->err = -1;
			p += OUTPUT_CHUNK;
			n -= OUTPUT_CHUNK;
			continue;
		}
		if (room > n)
			room = n;
		memcpy(o->buf + o->len, p, room);
		o->len += room;
		p += room;
		n -= room;
		if (o->len == OUTPUT_CHUNK)
			out_flush(o);
	}
}

static void copy_range(struct out *o, struct spool *sp, size_t start, size_t end)
{
	const char *mem = spool_memory(sp);
	char chunk[16 * 1024];

	if (mem != NULL) {
		out_put(o, mem + start, end - start);
		return;
	}
	while (start < end && o->err == 0) {
		size_t want = end - start < sizeof(chunk) ? end - start : sizeof(chunk);
		ssize_t got = spool_read(sp, start, chunk, want);

		if (got <= 0) {
			o->err = -1;
			return;
		}
		out_put(o, chunk, (size_t)got);
		start += (size_t)got;
	}
}

/* ---- the transfer encoder ------------------------------------------------------- */

struct encoder {
	struct out *o;
	enum mime_cte cte;
	const char *eol;
	size_t eol_len;
	bool pending_cr;	/* a CR whose LF may follow in the next chunk */
	/* quoted-printable */
	size_t col;
	int pending_ws;		/* a space/tab not yet written (-1 none) */
	/* base64 */
	unsigned char b64[3];
	size_t b64n, b64col;
	bool at_line_start;	/* the last thing written was a line break */
	int err;
};

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hexdigits[] = "0123456789ABCDEF";

static void enc_init(struct encoder *e, struct out *o, enum mime_cte cte, bool crlf)
{
	memset(e, 0, sizeof(*e));
	e->o = o;
	e->cte = cte == CTE_ABSENT || cte == CTE_7BIT || cte == CTE_BINARY ? CTE_8BIT : cte;
	e->eol = crlf ? "\r\n" : "\n";
	e->eol_len = crlf ? 2 : 1;
	e->pending_ws = -1;
	e->at_line_start = true;
}

static void b64_flush_group(struct encoder *e, size_t n)
{
	char q[4];

	q[0] = b64chars[e->b64[0] >> 2];
	q[1] = b64chars[((e->b64[0] & 3) << 4) | (n > 1 ? e->b64[1] >> 4 : 0)];
	q[2] = n > 1 ? b64chars[((e->b64[1] & 15) << 2) | (n > 2 ? e->b64[2] >> 6 : 0)] : '=';
	q[3] = n > 2 ? b64chars[e->b64[2] & 63] : '=';
	out_put(e->o, q, 4);
	e->b64col += 4;
	e->b64n = 0;
	if (e->b64col >= 76) {
		out_put(e->o, e->eol, e->eol_len);
		e->b64col = 0;
		e->at_line_start = true;
	} else {
		e->at_line_start = false;
	}
}

static void b64_bytes(struct encoder *e, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		e->b64[e->b64n++] = p[i];
		if (e->b64n == 3)
			b64_flush_group(e, 3);
	}
}

static void qp_soft_break_if(struct encoder *e, size_t need)
{
	if (e->col + need > 75) {
		out_put(e->o, "=", 1);
		out_put(e->o, e->eol, e->eol_len);
		e->col = 0;
	}
}

static void qp_encoded(struct encoder *e, unsigned char c)
{
	char q[3] = { '=', hexdigits[c >> 4], hexdigits[c & 15] };

	qp_soft_break_if(e, 3);
	out_put(e->o, q, 3);
	e->col += 3;
}

static void qp_flush_ws(struct encoder *e, bool before_break)
{
	if (e->pending_ws < 0)
		return;
	if (before_break) {
		qp_encoded(e, (unsigned char)e->pending_ws);
	} else {
		char c = (char)e->pending_ws;

		qp_soft_break_if(e, 1);
		out_put(e->o, &c, 1);
		e->col++;
	}
	e->pending_ws = -1;
}

static void qp_byte(struct encoder *e, unsigned char c)
{
	qp_flush_ws(e, false);
	if (c == ' ' || c == '\t') {
		e->pending_ws = c;
	} else if (c >= 33 && c <= 126 && c != '=') {
		char ch = (char)c;

		qp_soft_break_if(e, 1);
		out_put(e->o, &ch, 1);
		e->col++;
	} else {
		qp_encoded(e, c);
	}
	e->at_line_start = false;
}

static void enc_line_break(struct encoder *e)
{
	switch (e->cte) {
	case CTE_BASE64:
		b64_bytes(e, (const unsigned char *)"\r\n", 2);
		return;
	case CTE_QP:
		qp_flush_ws(e, true);
		e->col = 0;
		break;
	default:
		break;
	}
	out_put(e->o, e->eol, e->eol_len);
	e->at_line_start = true;
}

/* A run of text bytes containing no CR or LF. */
static void enc_run(struct encoder *e, const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	switch (e->cte) {
	case CTE_BASE64:
		b64_bytes(e, (const unsigned char *)p, n);
		break;
	case CTE_QP:
		for (i = 0; i < n; i++)
			qp_byte(e, (unsigned char)p[i]);
		break;
	default:
		out_put(e->o, p, n);
		e->at_line_start = false;
		break;
	}
}

/* Text in (any chunking); CRLF and LF both mean a line break. */
static void enc_text(struct encoder *e, const char *p, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		char c = p[i];

		if (e->pending_cr) {
			e->pending_cr = false;
			if (c == '\n') {
				enc_line_break(e);
				run = i + 1;
				continue;
			}
			enc_run(e, "\r", 1);	/* a bare CR is kept as a character */
		}
		if (c == '\r' || c == '\n') {
			enc_run(e, p + run, i - run);
			run = i + 1;
			if (c == '\r')
				e->pending_cr = true;
			else
				enc_line_break(e);
		}
	}
	enc_run(e, p + run, n - run);
}

/* End of text.  orig_ended_eol: the replaced range ended with a line break,
 * which the structure around it (end of message, next field) relies on. */
static void enc_finish(struct encoder *e, bool orig_ended_eol)
{
	if (e->pending_cr) {
		e->pending_cr = false;
		enc_run(e, "\r", 1);
	}
	switch (e->cte) {
	case CTE_BASE64:
		if (e->b64n > 0)
			b64_flush_group(e, e->b64n);
		if (orig_ended_eol && !e->at_line_start)
			out_put(e->o, e->eol, e->eol_len);
		return;
	case CTE_QP:
		qp_flush_ws(e, true);
		if (orig_ended_eol && !e->at_line_start) {
			out_put(e->o, "=", 1);	/* soft break: adds no text */
			out_put(e->o, e->eol, e->eol_len);
		}
		return;
	default:
		if (orig_ended_eol && !e->at_line_start)
			out_put(e->o, e->eol, e->eol_len);
		return;
	}
}

/* ---- the transcoding pipeline ---------------------------------------------------- */

struct pipeline {
	struct encoder enc;
	struct charset_stream *conv;	/* NULL: no charset conversion */
	int failed;
};

static int converted_sink(void *arg, const char *data, size_t len)
{
	struct pipeline *pp = arg;

	enc_text(&pp->enc, data, len);
	return pp->enc.o->err;
}

static void decoded_sink(void *arg, const char *data, size_t len)
{
	struct pipeline *pp = arg;

	if (pp->failed)
		return;
	if (pp->conv != NULL) {
		if (charset_stream_feed(pp->conv, data, len) < 0)
			pp->failed = 1;
	} else {
		enc_text(&pp->enc, data, len);
	}
}

static void transcode_range(struct out *o, struct spool *sp, const struct edit *ed,
			    struct charset_conv *cv)
{
	struct pipeline pp;
	struct cte_decoder dec;
	char chunk[16 * 1024], last = '\0';
	size_t off = ed->start, bad;

	memset(&pp, 0, sizeof(pp));
	enc_init(&pp.enc, o, ed->cte_to, ed->crlf);
	if (ed->from_cs != NULL) {
		pp.conv = charset_stream_begin(cv, ed->from_cs, converted_sink, &pp);
		if (pp.conv == NULL) {
			o->err = -1;
			return;
		}
	}
	cte_decoder_init(&dec, ed->cte_from);
	while (off < ed->end && o->err == 0 && !pp.failed) {
		size_t want = ed->end - off < sizeof(chunk) ? ed->end - off : sizeof(chunk);
		ssize_t got = spool_read(sp, off, chunk, want);

		if (got <= 0) {
			o->err = -1;
			break;
		}
		cte_decoder_feed(&dec, chunk, (size_t)got, decoded_sink, &pp);
		last = chunk[got - 1];
		off += (size_t)got;
	}
	if (o->err == 0 && !pp.failed)
		cte_decoder_finish(&dec, decoded_sink, &pp);
	if (pp.conv != NULL && charset_stream_end(pp.conv, &bad) < 0)
		pp.failed = 1;
	if (pp.failed) {
		o->err = -1;
		return;
	}
	enc_finish(&pp.enc, last == '\n');
}

int output_write(struct spool *sp, const struct edit_list *el, size_t from, size_t to,
		 struct charset_conv *cv, output_sink_fn sink, void *arg)
{
	struct out o;
	size_t pos = from, i;

	memset(&o, 0, sizeof(o));
	o.sink = sink;
	o.arg = arg;
	o.buf = xmalloc(OUTPUT_CHUNK);
	for (i = 0; i < el->n && o.err == 0; i++) {
		const struct edit *e = &el->v[i];

		if (e->start < from || e->end > to)
			continue;
		if (e->start < pos) {		/* overlapping edits: never produce a mangled message */
			o.err = -1;
			break;
		}
		copy_range(&o, sp, pos, e->start);
		if (e->kind == EDIT_BYTES)
			out_put(&o, e->bytes, e->len);
		else
			transcode_range(&o, sp, e, cv);
		pos = e->end;
	}
	if (o.err == 0 && pos < to)
		copy_range(&o, sp, pos, to);
	out_flush(&o);
	free(o.buf);
	return o.err;
}
