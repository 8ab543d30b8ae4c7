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
 * Both transfer codings are cte.c's.  Line endings: decoded text may use
 * CRLF or LF; the output uses the part's own (crlf flag).  Base64 encodes
 * the canonical CRLF form (RFC 2045 6.8).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "analyze.h"
#include "cte.h"
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

/* ---- the transcoding pipeline ---------------------------------------------------- */

struct pipeline {
	struct out *o;
	struct cte_encoder enc;
	struct charset_stream *conv;	/* NULL: no charset conversion */
	struct charset_conv *cv;
	int failed;
	const struct edit *ed;		/* its meta ranges and segments */
	size_t pos;			/* decoded bytes seen */
	size_t next_meta;		/* first meta range not yet passed */
	size_t next_seg;		/* first segment not yet begun */
};

static void encoded_sink(void *arg, const char *data, size_t len)
{
	out_put(arg, data, len);
}

static int converted_sink(void *arg, const char *data, size_t len)
{
	struct pipeline *pp = arg;

	cte_encoder_text(&pp->enc, data, len);
	return pp->o->err;
}

static void convert(struct pipeline *pp, const char *data, size_t len)
{
	if (len > 0 && !pp->failed && charset_stream_feed(pp->conv, data, len) < 0)
		pp->failed = 1;
}

/* Decoded text into the converter, with each HTML <meta> charset token
 * (ASCII, so the same bytes in every ASCII-compatible charset) replaced by
 * "utf-8" on the way: the converted part then says what it now is. */
static void convert_rewriting_meta(struct pipeline *pp, const char *data, size_t len)
{
	const struct edit *ed = pp->ed;

	while (len > 0 && pp->next_meta < ed->meta_n && !pp->failed) {
		size_t at = ed->meta_at[pp->next_meta], end = at + ed->meta_len[pp->next_meta];
		size_t n;

		if (pp->next_meta > 0 && at < ed->meta_at[pp->next_meta - 1] + ed->meta_len[pp->next_meta - 1]) {
			pp->next_meta++;	/* overlaps the one before: never drop text for it */
			continue;
		}
		if (pp->pos < at) {		/* text before the token */
			n = at - pp->pos < len ? at - pp->pos : len;
			convert(pp, data, n);
		} else {			/* inside it: drop, and say utf-8 at its start */
			if (pp->pos == at)
				convert(pp, "utf-8", 5);
			n = end - pp->pos < len ? end - pp->pos : len;
			if (pp->pos + n == end)
				pp->next_meta++;
		}
		pp->pos += n;
		data += n;
		len -= n;
	}
	convert(pp, data, len);
	pp->pos += len;
}

/* The converter of the segment that starts here: the one before must have
 * ended cleanly (a segment decodes whole under its charset, segment.h). */
static void begin_segment(struct pipeline *pp, const struct charset_info *cs)
{
	size_t bad;

	if (charset_stream_end(pp->conv, &bad) < 0)
		pp->failed = 1;
	pp->conv = charset_stream_begin(pp->cv, cs, converted_sink, pp);
	if (pp->conv == NULL)
		pp->failed = 1;
}

/* Decoded text cut at segment starts, each piece into the converter of its
 * segment. */
static void convert_by_segment(struct pipeline *pp, const char *data, size_t len)
{
	const struct segment_list *sl = &pp->ed->segs;

	while (len > 0 && !pp->failed && pp->next_seg < sl->n && pp->pos + len > sl->at[pp->next_seg]) {
		size_t n = sl->at[pp->next_seg] - pp->pos;

		convert_rewriting_meta(pp, data, n);
		begin_segment(pp, sl->cs[pp->next_seg++]);
		data += n;
		len -= n;
	}
	if (!pp->failed)
		convert_rewriting_meta(pp, data, len);
}

static void decoded_sink(void *arg, const char *data, size_t len)
{
	struct pipeline *pp = arg;

	if (pp->failed)
		return;
	if (pp->conv != NULL)
		convert_by_segment(pp, data, len);
	else
		cte_encoder_text(&pp->enc, data, len);
}

static void transcode_range(struct out *o, struct spool *sp, const struct edit *ed,
			    struct charset_conv *cv)
{
	struct pipeline pp;
	struct cte_decoder dec;
	char chunk[16 * 1024], last = '\0';
	size_t off = ed->start, bad;

	memset(&pp, 0, sizeof(pp));
	pp.o = o;
	pp.ed = ed;
	pp.cv = cv;
	pp.next_seg = ed->segs.n > 0 ? 1 : 0;	/* segment 0 is from_cs's */
	cte_encoder_init(&pp.enc, ed->cte_to, ed->crlf, encoded_sink, o);
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
	cte_encoder_finish(&pp.enc, last == '\n');
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
