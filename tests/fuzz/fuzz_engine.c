/*
 * fuzz_engine.c -- libFuzzer target: scanner + planner + writer on arbitrary
 * messages in arbitrary chunkings, checking the engine's contracts.
 *
 * Input layout: byte 0 selects the configuration (mode, SevenBitOutput, a
 * tiny SpoolThreshold so the spool spills to a file, an envelope sender with
 * a TLD hint); byte 1 seeds the chunking; the rest is the message.
 *
 * Invariants checked (each one is exact, i.e. a violation is a bug; the
 * target aborts with a message naming the invariant):
 *   I1 chunking: feeding the message in random chunks and in one piece gives
 *      byte-identical output (mime.h/engine.h: "any chunking").
 *   I2 edit list: sorted, non-overlapping, inside [0, size]; the output is
 *      exactly the original with the edits applied -- every byte outside an
 *      edit is unchanged, EDIT_BYTES replacements appear verbatim.  A
 *      transcoded range (length not known in advance) is located by
 *      backtracking over the layout; its text, transfer-decoded, must equal
 *      the original range decoded and converted to UTF-8, with its line
 *      ends (CRLF or LF) written in the part's own style (CRLF for base64);
 *      bare CRs are text and must survive.
 *   I3 no edits => output byte-identical to the input.
 *   I4 every charset chosen for a body part in the report decodes that part's
 *      transfer-decoded bytes (charset_decodes).
 *   I5 the output re-parses: engine_finish() succeeds on it and, when the
 *      first pass hit no structural limit, it has the same number of parts
 *      (a transcoded body must not create or hide MIME delimiters).
 *   I6 idempotence: repairing the output again yields zero edits
 *      (repair.h).  This holds for every mode: what could not be repaired
 *      (ACT_CANNOT) is left untouched and stays "cannot" without edits, and
 *      report mode writes its audit header only once.  Only skipped when the
 *      first pass passed the message untouched for a reason that has no
 *      edits anyway (then I3 covers it).
 *   I7 a part the second pass cannot repair was one the first pass could not
 *      repair either (we never make a message worse).
 *   I10 a multipart boundary parameter is never rewritten.
 *   I11 no field is inserted at the end of a header block that was ended by
 *      an invalid line rather than a blank line (readers go on reading header
 *      fields there: a second Content-Type would be ambiguous).
 *   I12 the planner never ends in an internal error ("conflicting edits").
 *   I9 without SMTPUTF8 no rewritten header field keeps raw 8-bit bytes, and
 *      no edit replaces bytes by the same bytes.
 *   I8 every header field the planner writes is well-formed: at a line
 *      start, "Name:" value EOL, only folding line breaks (no CR/LF
 *      injection, whatever the sender wrote), and the milter's hdr_value
 *      string holds exactly the value written (nothing cut at a NUL).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "conf.h"
#include "engine.h"
#include "analyze.h"
#include "charset.h"
#include "fuzz_common.h"

#define NCONF	16

/* Long fuzzing runs set FUZZ_SKIP_KNOWN=1 so that bugs already reported (each
 * with an input under tests/fuzz/known-bugs/engine/) do not stop the run or
 * flood it with duplicates; the check is skipped only for the exact shape of
 * the known bug.  make check never sets it. */
static bool skip_known(const char *what)
{
	static int skip = -1;

	if (skip < 0)
		skip = getenv("FUZZ_SKIP_KNOWN") != NULL;
	(void)what;
	return skip == 1;
}

static struct conf *confs[NCONF];

static const struct conf *conf_for(unsigned flags)
{
	unsigned i = flags % NCONF;
	char err[256];

	if (confs[i] == NULL) {
		static const char *modes[] = { "label", "transcode", "report", "label" };
		struct conf *c = conf_defaults();

		if (conf_set(c, "Mode", modes[i & 3], NULL, err, sizeof(err)) < 0 ||
		    conf_set(c, "SevenBitOutput", (i & 4) ? "yes" : "no", NULL, err, sizeof(err)) < 0 ||
		    conf_set(c, "SpoolThreshold", (i & 8) ? "256" : "1M", NULL, err, sizeof(err)) < 0)
			fuzz_fail("conf_set: %s", err);
		/* the SpoolDir default may not exist: the engine falls back to $TMPDIR */
		confs[i] = c;
	}
	return confs[i];
}

struct run {
	struct engine *e;
	struct buf out;
};

static int buf_sink(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

static uint32_t rng_next(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* Run the engine over msg; chunk_seed 0 = one piece. */
static void run_engine(struct run *r, const struct conf *conf, const struct engine_source *src,
		       const char *msg, size_t len, uint32_t chunk_seed)
{
	size_t off = 0;

	r->e = engine_new(conf, src);
	buf_init(&r->out, 64u * 1024 * 1024);
	while (off < len) {
		size_t n = len - off;

		if (chunk_seed != 0) {
			uint32_t v = rng_next(&chunk_seed);
			size_t c = 1 + (v >> 8) % ((size_t)1 << (v % 13));

			if (c < n)
				n = c;
		}
		if (engine_feed(r->e, msg + off, n) < 0)
			fuzz_fail("engine_feed: %s", engine_error(r->e));
		off += n;
	}
	if (engine_finish(r->e) < 0)
		fuzz_fail("engine_finish: %s", engine_error(r->e));
	if (engine_write(r->e, 0, buf_sink, &r->out) < 0)
		fuzz_fail("engine_write: %s", engine_error(r->e));
}

static void run_free(struct run *r)
{
	engine_free(r->e);
	buf_free(&r->out);
}

/* ---- transfer decoding and conversion helpers ---------------------------------- */

static void append_sink(void *arg, const char *data, size_t len)
{
	if (buf_append(arg, data, len) < 0)
		fuzz_fail("decode buffer overflow");
}

static void cte_decode(enum mime_cte cte, const char *p, size_t n, struct buf *out)
{
	struct cte_decoder d;

	cte_decoder_init(&d, cte);
	cte_decoder_feed(&d, p, n, append_sink, out);
	cte_decoder_finish(&d, append_sink, out);
}

static int conv_sink(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

/* The line endings a transcoded range is written with: every CRLF or LF
 * line end of the decoded original becomes eol_crlf ? CRLF : LF (output.h);
 * a bare CR is text and stays. */
static void normalize_eol(struct buf *b, bool eol_crlf)
{
	struct buf t;
	size_t i;

	buf_init(&t, 64u * 1024 * 1024);
	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 1 < b->len && b->data[i + 1] == '\n')
			continue;
		if (b->data[i] == '\n' && eol_crlf)
			buf_putc(&t, '\r');
		buf_putc(&t, b->data[i]);
	}
	buf_free(b);
	*b = t;
}

/* What converting does to an HTML part's <meta> charset tokens (output.c
 * streams it; this is the whole-buffer reading): each range of the decoded
 * text becomes "utf-8".  The ranges must lie inside the text, ascending,
 * and each must be a charset name (the analysis found them there). */
static void rewrite_meta(struct buf *dec, const struct edit *ed)
{
	struct buf t;
	size_t pos = 0;

	buf_init(&t, 64u * 1024 * 1024);
	for (size_t k = 0; k < ed->meta_n; k++) {
		size_t at = ed->meta_at[k], len = ed->meta_len[k];

		if (at < pos || len == 0 || at + len > dec->len)
			fuzz_fail("I2: meta range %zu [%zu,+%zu) outside the decoded text (%zu) or out of order",
				  k, at, len, dec->len);
		for (size_t j = at; j < at + len; j++)
			if (!isalnum((unsigned char)dec->data[j]) && memchr("-_.:", dec->data[j], 4) == NULL)
				fuzz_fail("I2: meta range %zu holds 0x%02x, not a charset name", k,
					  (unsigned char)dec->data[j]);
		buf_append(&t, dec->data + pos, at - pos);
		buf_append(&t, "utf-8", 5);
		pos = at + len;
	}
	buf_append(&t, dec->data + pos, dec->len - pos);
	buf_free(dec);
	*dec = t;
}

/* A text in several charsets (segment.h), the whole-buffer reading of what
 * output.c streams: segment k of the decoded text converted from cs[k].
 * Segments start at 0, ascend, begin on a line start inside the text, are in
 * ASCII-compatible or single-byte charsets, and never come with meta ranges
 * (segmentation is for text/plain). */
static void convert_segments(struct charset_conv *cv, const struct edit *ed, const struct buf *dec,
			     struct buf *want)
{
	const struct segment_list *sl = &ed->segs;
	size_t bad = 0;

	if (ed->meta_n > 0 || sl->n > SEGMENT_MAX || sl->at[0] != 0 || !charset_same(sl->cs[0], ed->from_cs))
		fuzz_fail("I2: %zu segments with %zu meta ranges, first at %zu", sl->n, ed->meta_n, sl->at[0]);
	for (size_t k = 0; k < sl->n; k++) {
		size_t end = k + 1 < sl->n ? sl->at[k + 1] : dec->len;
		struct charset_stream *st;

		if (end > dec->len || end <= sl->at[k] || (k > 0 && dec->data[sl->at[k] - 1] != '\n') ||
		    !(sl->cs[k]->props & (CSP_ASCII_COMPAT | CSP_SINGLE_BYTE)))
			fuzz_fail("I2: segment %zu [%zu,%zu) of %zu decoded bytes: not whole lines in an "
				  "ASCII-compatible or single-byte charset", k, sl->at[k], end, dec->len);
		st = charset_stream_begin(cv, sl->cs[k], conv_sink, want);
		if (charset_stream_feed(st, dec->data + sl->at[k], end - sl->at[k]) < 0 ||
		    charset_stream_end(st, &bad) < 0)
			fuzz_fail("I4/I2: segment %zu [%zu,%zu) does not decode as %s (at %zu)", k, sl->at[k],
				  end, sl->cs[k]->mime_name, bad);
	}
}

/* I2 for one transcoded range: out[0..outlen) transfer-decoded equals
 * orig decoded from cte_from and converted from from_cs. */

static bool transcode_matches(struct charset_conv *cv, const struct edit *ed,
			      const char *orig, const char *out, size_t outlen)
{
	struct buf dec, want, got;
	struct charset_stream *st;
	size_t bad = 0;
	bool ok;

	buf_init(&dec, 64u * 1024 * 1024);
	buf_init(&want, 64u * 1024 * 1024);
	buf_init(&got, 64u * 1024 * 1024);
	cte_decode(ed->cte_from, orig + ed->start, ed->end - ed->start, &dec);
	if (ed->from_cs != NULL && ed->meta_n > 0)
		rewrite_meta(&dec, ed);
	if (ed->from_cs != NULL && ed->segs.n > 0) {
		convert_segments(cv, ed, &dec, &want);
	} else if (ed->from_cs != NULL) {
		st = charset_stream_begin(cv, ed->from_cs, conv_sink, &want);
		if (charset_stream_feed(st, dec.data ? dec.data : "", dec.len) < 0 ||
		    charset_stream_end(st, &bad) < 0)
			fuzz_fail("I4/I2: transcoded range [%zu,%zu) does not decode as %s (at %zu)",
				  ed->start, ed->end, ed->from_cs->mime_name, bad);
	} else if (dec.len > 0)
		buf_append(&want, dec.data, dec.len);
	cte_decode(ed->cte_to, out, outlen, &got);
	/* base64 carries the canonical CRLF form (RFC 2045 6.8) */
	normalize_eol(&want, ed->cte_to == CTE_BASE64 ? true : ed->crlf);
	ok = want.len == got.len && (want.len == 0 || memcmp(want.data, got.data, want.len) == 0);
	buf_free(&dec);
	buf_free(&want);
	buf_free(&got);
	return ok;
}

/* ---- I2: the output is the original with the edits applied ---------------------- */

struct layout {
	const struct edit_list *el;
	const char *orig;
	size_t orig_len;
	const char *out;
	size_t out_len;
	struct charset_conv *cv;
	unsigned long budget;	/* backtracking steps left */
	bool gave_up;
};

/* Match out[opos..] against the layout from edit i on, where the original
 * gap before edit i starts at gpos. */
static bool layout_match(struct layout *L, size_t i, size_t gpos, size_t opos)
{
	size_t gend = i < L->el->n ? L->el->v[i].start : L->orig_len;
	size_t glen = gend - gpos, k;
	const struct edit *ed;

	if (L->budget == 0) {
		L->gave_up = true;
		return false;
	}
	L->budget--;
	if (opos > L->out_len || L->out_len - opos < glen ||
	    memcmp(L->out + opos, L->orig + gpos, glen) != 0)
		return false;
	opos += glen;
	if (i == L->el->n)
		return opos == L->out_len;
	ed = &L->el->v[i];
	if (ed->kind == EDIT_BYTES) {
		if (L->out_len - opos < ed->len ||
		    (ed->len > 0 && memcmp(L->out + opos, ed->bytes, ed->len) != 0))
			return false;
		return layout_match(L, i + 1, ed->end, opos + ed->len);
	}
	/* transcode: try every length, shortest first */
	for (k = 0; opos + k <= L->out_len; k++) {
		if (layout_match(L, i + 1, ed->end, opos + k) &&
		    transcode_matches(L->cv, ed, L->orig, L->out + opos, k))
			return true;
		if (L->gave_up)
			return false;
	}
	return false;
}

static void check_edit_list(const struct edit_list *el, size_t size)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		const struct edit *ed = &el->v[i];

		if (ed->start > ed->end || ed->end > size)
			fuzz_fail("I2: edit %zu [%zu,%zu) outside message of %zu bytes", i,
				  ed->start, ed->end, size);
		if (i > 0 && el->v[i - 1].end > ed->start)
			fuzz_fail("I2: edits %zu and %zu overlap or are unsorted", i - 1, i);
		if (ed->kind == EDIT_BYTES && ed->len > 0 && ed->bytes == NULL)
			fuzz_fail("I2: edit %zu has no bytes", i);
	}
}

/* ---- I4: chosen charsets decode their parts ------------------------------------- */

static int part_by_id(const struct mime_message *m, const char *id)
{
	unsigned i;

	for (i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].id, id) == 0)
			return (int)i;
	return -1;
}

static void check_chosen_decodes(const struct report *rep, const struct mime_message *m,
				 const char *msg, struct charset_conv *cv)
{
	size_t r;

	for (r = 0; r < rep->n; r++) {
		const struct report_row *row = &rep->rows[r];
		const struct mime_part *p;
		struct buf dec;
		size_t bad = 0;
		int pi;

		if (row->is_header || row->chosen == NULL ||
		    (row->actions & (ACT_LABEL | ACT_RELABEL | ACT_TRANSCODE)) == 0)
			continue;
		if ((pi = part_by_id(m, row->id)) < 0)
			fuzz_fail("I4: report row %s names no part", row->id);
		p = &m->parts[pi];
		buf_init(&dec, 64u * 1024 * 1024);
		cte_decode(p->cte, msg + p->body_start, p->body_end - p->body_start, &dec);
		if (!charset_decodes(cv, row->chosen, dec.data ? dec.data : "", dec.len, &bad))
			fuzz_fail("I4: part %s labelled %s does not decode (byte %zu of %zu)",
				  row->id, row->chosen->mime_name, bad, dec.len);
		buf_free(&dec);
	}
}

/* The same row in another report: a part row by id, a header row by id and
 * header name (header rows share their part's id); NULL when the name occurs
 * more than once (rows of repeated headers cannot be paired reliably: a
 * header repaired by the first pass has no row in the second). */
static bool row_key_eq(const struct report_row *a, const struct report_row *b)
{
	return a->is_header == b->is_header && strcmp(a->id, b->id) == 0 &&
	       (!a->is_header || ascii_strcasecmp(a->content_type, b->content_type) == 0);
}

static const struct report_row *same_row(const struct report *rep, const struct report_row *row)
{
	const struct report_row *found = NULL;
	size_t r;

	for (r = 0; r < rep->n; r++) {
		if (!row_key_eq(&rep->rows[r], row))
			continue;
		if (found != NULL)
			return NULL;	/* the header occurs twice: rows cannot be paired */
		found = &rep->rows[r];
	}
	return found;
}

static bool has_boundary_star(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i + 9 <= n; i++)
		if (ascii_strncasecmp(p + i, "boundary*", 9) == 0)
			return true;
	return false;
}

/* "Name :" -- white space between a field name and its colon. */
static bool ws_before_colon(const char *f, size_t n)
{
	const char *colon = memchr(f, ':', n);

	return colon != NULL && colon > f && (colon[-1] == ' ' || colon[-1] == '\t');
}

/* K10 shape: a field inserted into the (empty) header block of a part whose
 * header was not ended by a blank line (an embedded message that starts with
 * a line that is no header field). */
static bool inserted_into_unterminated_block(const struct edit_list *el, const struct mime_message *m)
{
	size_t i;
	unsigned p;

	for (i = 0; i < el->n; i++) {
		if (el->v[i].start != el->v[i].end)
			continue;
		for (p = 0; p < m->nparts; p++)
			if (!m->parts[p].has_blank_line && m->parts[p].hdr_end == el->v[i].start)
				return true;
	}
	return false;
}

/* I8: a header field the planner writes is well-formed: it starts at the
 * start of a line, is "Name:" followed by the value, ends with a line ending
 * and has no line ending except folding (EOL + SP/TAB); the milter's
 * hdr_value (a C string) carries the same value, so no byte is lost when it
 * goes through smfi_chgheader/smfi_addheader. */
static void check_header_edit(const struct edit *ed, const char *msg, size_t msg_len)
{
	size_t i, nlen = strlen(ed->hdr_name), vlen;
	const char *b = ed->bytes;

	if (ed->hdr_op == HDR_NONE || ed->kind != EDIT_BYTES)
		return;
	if (ed->start > 0 && msg[ed->start - 1] != '\n' &&
	    !(ed->start == msg_len && skip_known("K2: field added after a last field without EOL")))
		fuzz_fail("I8: %s field written at %zu, not at the start of a line", ed->hdr_name, ed->start);
	if (ed->end < msg_len && (msg[ed->end] == ' ' || msg[ed->end] == '\t') &&
	    !skip_known("K6: field inserted before an orphan continuation line"))
		fuzz_fail("I8: %s field written before a continuation line, which then "
			  "becomes part of it", ed->hdr_name);
	if (ed->hdr_op == HDR_CHANGE && ed->hdr_value == NULL)
		return;		/* deletion */
	if (ed->len < nlen + 2 || memcmp(b, ed->hdr_name, nlen) != 0 || b[nlen] != ':')
		fuzz_fail("I8: edit bytes do not start with \"%s:\"", ed->hdr_name);
	if (b[ed->len - 1] != '\n' && !(ed->end == msg_len && msg_len > 0 && msg[msg_len - 1] != '\n'))
		fuzz_fail("I8: generated %s field does not end with a line ending", ed->hdr_name);
	/* I10: the boundary parameter is never rewritten (readers match the
	 * delimiter lines against its raw text, RFC 2046 5.1.1) */
	if (ascii_strcasecmp(ed->hdr_name, "Content-Type") == 0 && has_boundary_star(b, ed->len) &&
	    !has_boundary_star(msg + ed->start, ed->end - ed->start) &&
	    !skip_known("K11: 8-bit boundary parameter RFC 2231-encoded"))
		fuzz_fail("I10: the multipart boundary parameter was rewritten (RFC 2231)");
	for (i = 0; i < nlen; i++)
		if ((unsigned char)b[i] <= 0x20 || (unsigned char)b[i] >= 0x7f || b[i] == ':')
			fuzz_fail("I8: generated field name %s is not RFC 5322 ftext", ed->hdr_name);
	for (i = nlen + 1; i < ed->len; i++) {
		if (b[i] == '\r' && (i + 1 >= ed->len || b[i + 1] != '\n') &&
		    !(memchr(msg + ed->start, '\r', ed->end - ed->start) != NULL &&
		      skip_known("K4: sender's bare CR copied into a rewritten field")))
			fuzz_fail("I8: bare CR in generated %s field", ed->hdr_name);
		if (b[i] == '\n' && i + 1 < ed->len && b[i + 1] != ' ' && b[i + 1] != '\t')
			fuzz_fail("I8: line break without folding inside generated %s field "
				  "(header injection)", ed->hdr_name);
	}
	/* value = bytes after "Name:" without the final EOL (a last field the
	 * message ends in without one is rewritten without one) */
	vlen = ed->len - nlen - 1 - (b[ed->len - 1] != '\n' ? 0 : ed->len >= 2 && b[ed->len - 2] == '\r' ? 2 : 1);
	if ((ed->hdr_value == NULL || strlen(ed->hdr_value) != vlen ||
	     memcmp(ed->hdr_value, b + nlen + 1, vlen) != 0) &&
	    !((memchr(b, '\0', ed->len) != NULL || memchr(msg + ed->start, '\0', ed->end - ed->start) != NULL) &&
	      skip_known("K3: NUL in a rewritten header")) &&
	    !(ed->start < ed->end && ws_before_colon(msg + ed->start, ed->end - ed->start) &&
	      skip_known("K9: field name followed by white space before the colon")))
		fuzz_fail("I8: hdr_value of %s differs from the bytes written (%zu vs %zu bytes: "
			  "a NUL would be cut by smfi_chgheader)", ed->hdr_name,
			  ed->hdr_value ? strlen(ed->hdr_value) : 0, vlen);
}

/* I9: without SMTPUTF8, a header field we write has no raw 8-bit byte left
 * (that is what "encode-header" promises), and no edit replaces bytes by the
 * same bytes.  Returns true when the edit list breaks it (known bug K1: the
 * 8-bit sits in an address, which encoded-words may not replace; the field
 * is rewritten unchanged or half-encoded, and every later pass does it
 * again). */
static bool header_edit_left_8bit(const struct edit_list *el, const char *msg, bool smtputf8)
{
	size_t i, k;

	for (i = 0; i < el->n; i++) {
		const struct edit *ed = &el->v[i];

		if (ed->kind != EDIT_BYTES || ed->len == 0)
			continue;
		if (ed->len == ed->end - ed->start && memcmp(ed->bytes, msg + ed->start, ed->len) == 0)
			return true;
		if (ed->hdr_op == HDR_NONE || smtputf8)
			continue;
		for (k = 0; k < ed->len; k++)
			if ((unsigned char)ed->bytes[k] >= 0x80)
				return true;
	}
	return false;
}

/* K2/K6 shapes: a field added after a last line without EOL, or before an
 * orphan continuation line. */
static bool glued_or_absorbed(const struct edit_list *el, const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		const struct edit *ed = &el->v[i];

		if (ed->hdr_op == HDR_NONE)
			continue;
		if (ed->start > 0 && msg[ed->start - 1] != '\n')
			return true;
		if (ed->end < len && (msg[ed->end] == ' ' || msg[ed->end] == '\t'))
			return true;
	}
	return false;
}

/* K17 shape: an edited range holding more '(' than ')' or an odd number of
 * '"' (an unterminated comment or quoted-string that swallows what is
 * appended after it). */
static bool edits_unbalanced_comment(const struct edit_list *el, const char *msg)
{
	size_t i, k;

	for (i = 0; i < el->n; i++) {
		long depth = 0;

		size_t quotes = 0;

		for (k = el->v[i].start; k < el->v[i].end; k++) {
			depth += msg[k] == '(' ? 1 : msg[k] == ')' ? -1 : 0;
			quotes += msg[k] == '"';
		}
		if (depth > 0 || quotes % 2 == 1)
			return true;
	}
	return false;
}

static bool has_verdict(const struct report *rep, enum verdict v)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		if (rep->rows[i].verdict == v)
			return true;
	return false;
}

#define LIMIT_ANOMALIES (MIME_ANOM_DEPTH | MIME_ANOM_PARTS | MIME_ANOM_HDR_COUNT | \
			 MIME_ANOM_TOO_BIG | MIME_ANOM_HDR_SIZE)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_source src;
	const struct conf *conf;
	struct run a, b, c;
	const struct edit_list *el;
	const struct mime_message *m1, *m2;
	const char *msg;
	size_t len, i;
	uint32_t seed;
	struct layout L;

	if (size < 2)
		return 0;
	conf = conf_for(data[0]);
	memset(&src, 0, sizeof(src));
	if (data[0] & 0x10) {
		src.client_addr = "192.0.2.1";
		src.env_sender = "sender@example.ru";
	}
	src.smtputf8 = (data[0] & 0x20) != 0;
	seed = 0x9e3779b9u ^ ((uint32_t)data[1] * 0x01000193u);
	msg = (const char *)data + 2;
	len = size - 2;

	run_engine(&a, conf, &src, msg, len, seed);
	run_engine(&b, conf, &src, msg, len, 0);
	/* I1 */
	if (a.out.len != b.out.len || (a.out.len > 0 && memcmp(a.out.data, b.out.data, a.out.len) != 0))
		fuzz_fail("I1: output depends on chunking (%zu vs %zu bytes)", a.out.len, b.out.len);
	run_free(&b);

	el = engine_edits(a.e);
	m1 = engine_message(a.e);
	check_edit_list(el, len);
	for (i = 0; i < el->n; i++)
		check_header_edit(&el->v[i], msg, len);
	/* I11 */
	if (inserted_into_unterminated_block(el, m1) &&
	    !skip_known("K10: fields added to a header block not ended by a blank line"))
		fuzz_fail("I11: fields inserted at the end of a header block that was ended by an "
			  "invalid line, not a blank line (readers see the rest as header too)");
	/* I12 */
	if (strncmp(engine_report(a.e)->note, "internal", 8) == 0 &&
	    !skip_known("K12: internal: conflicting edits"))
		fuzz_fail("I12: the planner reports an internal error: %s", engine_report(a.e)->note);
	/* I3 */
	if (el->n == 0 && (a.out.len != len || (len > 0 && memcmp(a.out.data, msg, len) != 0)))
		fuzz_fail("I3: no edits but output differs from input");
	/* I2 */
	memset(&L, 0, sizeof(L));
	L.el = el;
	L.orig = msg;
	L.orig_len = len;
	L.out = a.out.data ? a.out.data : "";
	L.out_len = a.out.len;
	L.cv = charset_conv_new();
	L.budget = 200000;
	if (!layout_match(&L, 0, 0, 0) && !L.gave_up)
		fuzz_fail("I2: output is not the original with the %zu edits applied", el->n);
	/* I4 */
	check_chosen_decodes(engine_report(a.e), m1, msg, L.cv);
	charset_conv_free(L.cv);

	/* I5, I6, I7 */
	run_engine(&c, conf, &src, a.out.data ? a.out.data : "", a.out.len, seed ^ 0x5bd1e995u);
	m2 = engine_message(c.e);
	if (el->n > 0 && (m1->anomalies & LIMIT_ANOMALIES) == 0 && m1->nparts != m2->nparts)
		fuzz_fail("I5: repaired output has %u parts, the original %u", m2->nparts, m1->nparts);
	if (header_edit_left_8bit(el, msg, src.smtputf8) &&
	    !skip_known("K1: header rewritten unchanged or with 8-bit left"))
		fuzz_fail("I9: a rewritten header field still has raw 8-bit, or an edit changes nothing");
	if (engine_edits(c.e)->n != 0 && !(header_edit_left_8bit(el, msg, false) &&
	    skip_known("K1: no-op header edit (8-bit in an address) repeated every pass")) &&
	    !(glued_or_absorbed(el, msg, len) &&
	      skip_known("K2/K6: inserted field glued to or absorbing a neighbour")) &&
	    !(inserted_into_unterminated_block(el, m1) &&
	      skip_known("K10: fields added to an embedded message whose header has no blank line")) &&
	    !(edits_unbalanced_comment(el, msg) &&
	      skip_known("K17: parameter appended inside an unterminated comment")) &&
	    !(has_verdict(engine_report(c.e), VERDICT_LEGACY_7BIT) &&
	      skip_known("K5: broken ISO-2022 text relabelled every pass"))) {
		const struct edit *ed = &engine_edits(c.e)->v[0];

		fuzz_fail("I6: second pass made %zu edits (first [%zu,%zu) %s: %.*s)",
			  engine_edits(c.e)->n, ed->start, ed->end, ed->hdr_name,
			  ed->kind == EDIT_BYTES ? (int)(ed->len > 200 ? 200 : ed->len) : 0,
			  ed->kind == EDIT_BYTES && ed->bytes ? ed->bytes : "");
	}
	for (i = 0; i < engine_report(c.e)->n; i++) {
		const struct report_row *r2 = &engine_report(c.e)->rows[i], *r1;

		if ((r2->actions & ACT_CANNOT) == 0)
			continue;
		r1 = same_row(engine_report(a.e), r2);
		if (r1 != NULL && (r1->actions & ACT_CANNOT) == 0 && r1->actions != ACT_NONE)
			fuzz_fail("I7: part %s repaired by the first pass is 'cannot' in the second (%s)",
				  r2->id, r2->reason);
	}
	run_free(&c);
	run_free(&a);
	return 0;
}
