/*
 * plan_headers.c -- the planner's step 3: raw 8-bit bytes in header text
 * (Subject, display names: RFC 2047 encoded-words; ISO-2022 escapes written
 * raw) and in name/filename parameters (RFC 2231), each judged together with
 * the body text nearest to it.  See plan.h; repair.c runs the steps.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "evidence.h"
#include "plan.h"
#include "rfc2047.h"
#include "verdict.h"

/* The charset of the body text nearest to part `part`: its own (for a text
 * part), else that of the first text part below or beside it.  A part whose
 * chosen label cannot be written does not count: a second pass would find
 * it unlabelled again, its choice made with other context. */
static const struct charset_info *body_charset_near(const struct plan *pl, unsigned part)
{
	unsigned k, n = pl->m->nparts;

	for (k = 0; k < n; k++) {
		const struct part_plan *pp = &pl->pp[(part + k) % n];	/* part, the ones after, then before */

		if (pp->trusted != NULL)
			return pp->trusted;
		if (pp->label != NULL && !pp->label_fits)
			continue;
		if (pp->row >= 0 && pl->rep->rows[pp->row].chosen != NULL)
			return pl->rep->rows[pp->row].chosen;
	}
	return NULL;
}

/* Pick a charset for raw 8-bit header bytes, judged with the body's. */
static const struct charset_info *choose_for_bytes(struct plan *pl, unsigned part, const char *bytes,
						   size_t len, struct report_row *row)
{
	struct detect_result dr;

	evidence_detect_bytes(bytes, len, &pl->ctx, body_charset_near(pl, part), pl->in->cv, &dr);
	row_take(row, &dr);
	return dr.charset;
}

/* The body's charset is a prior for a header, not a verdict: when, read
 * under it, the 8-bit bytes of an address field stand where no encoded-word
 * may (a '[' or '@' that a double-byte charset would take as a trail byte),
 * the field's own bytes decide, as they do on a second pass once the body
 * was transcoded to UTF-8. */
static void rejudge_address(struct plan *pl, unsigned hidx, struct report_row *row)
{
	const struct mime_header *h = &pl->m->headers[hidx];
	const struct charset_info *near = row->chosen;
	struct detect_result dr;

	if (row->source != DETECT_CONTEXT || rfc2047_kind_of(h->name) != RFC2047_ADDRESS ||
	    fields_header_encodes(&pl->fw, hidx, near))
		return;
	evidence_detect_bytes(h->value, h->value_len, &pl->ctx, NULL, pl->in->cv, &dr);
	if (dr.charset == NULL)
		return;
	row_take(row, &dr);
	size_t len = strlen(row->reason);
	snprintf(row->reason + len, sizeof(row->reason) - len,
		 " (the body's %s leaves 8-bit inside the address)", near->mime_name);
}

/* A report row for raw 8-bit text in a header field of part `part`, judged:
 * left alone inside signed content or for `refusal`, else a charset chosen
 * for bytes[0..len).  Returns the row when there is something to encode. */
static struct report_row *judge_header_text(struct plan *pl, unsigned part, const char *what,
					     const char *bytes, size_t len, const char *refusal, bool choose)
{
	struct report_row *row = report_add(pl->rep);

	str_copy(row->id, sizeof(row->id), pl->m->parts[part].id);
	row->is_header = true;
	str_copy(row->content_type, sizeof(row->content_type), what);
	row->verdict = VERDICT_RAW_8BIT_HEADER;
	pl->any_problem = true;
	if (skip_signed(pl, part)) {
		row->verdict = VERDICT_SKIPPED;
		str_copy(row->reason, sizeof(row->reason), "inside signed content: left alone");
		return NULL;
	}
	if (refusal != NULL) {
		row->actions |= ACT_CANNOT;
		str_copy(row->reason, sizeof(row->reason), refusal);
		return NULL;
	}
	if (choose && choose_for_bytes(pl, part, bytes, len, row) == NULL) {
		row->actions |= ACT_CANNOT;
		return NULL;
	}
	return row;
}

/* The charset of 7-bit escape sequences (ISO-2022-JP/-KR, HZ) in a header
 * value without 8-bit bytes, or NULL when it has none. */
static const struct charset_info *header_escape_charset(const struct mime_header *h)
{
	struct text_analysis ta;
	const struct charset_info *cs;

	if (h->has_8bit || memchr(h->value, 0x1b, h->value_len) == NULL)
		return NULL;
	text_analysis_of_bytes(&ta, h->value, h->value_len);
	cs = verdict_escape_charset(&ta);
	text_analysis_free(&ta);
	return cs;
}


/* A header value in a stateful 7-bit charset (cs): converted to UTF-8, then
 * written as encoded-words labelled cs (or utf-8 in transcode mode), phrases
 * only in address fields.  Raw, Sendmail and others parse its escape bytes
 * as address syntax and destroy the display name. */
static void plan_header_escapes(struct plan *pl, unsigned hidx, const struct charset_info *cs,
				struct report_row *row)
{
	const struct mime_header *h = &pl->m->headers[hidx];
	const struct charset_info *target = pl->conf->mode == MODE_TRANSCODE ? pl->utf8 : cs;
	struct buf text, nf, enc;
	bool ok, passed;

	row->verdict = VERDICT_LEGACY_7BIT;
	row->chosen = cs;
	row->confidence = 95;
	row->source = DETECT_ESCAPES;
	snprintf(row->reason, sizeof(row->reason), "%s escape sequences outside encoded-words",
		 cs->mime_name);
	if (!charset_iconv_ok(cs)) {
		row->actions |= ACT_CANNOT;
		snprintf(row->reason, sizeof(row->reason), "%s escapes, but no converter for %s here "
			 "(glibc has none): left alone", cs->mime_name, cs->mime_name);
		return;
	}
	buf_init(&text, pl->fw.limit);
	ok = charset_decode_utf8(pl->in->cv, cs, h->value, h->value_len, &text) == 0;
	/* glibc's ISO-2022-JP passes JIS forms it does not know (ESC $ ( B ...)
	 * through as escape bytes: no encoded-word can be made of those */
	passed = ok && memchr(text.data ? text.data : "", 0x1b, text.len) != NULL;
	if (!ok || passed ||
	    (rfc2047_kind_of(h->name) == RFC2047_ADDRESS && fields_8bit_in_angle_addr(text.data, text.len))) {
		row->actions |= ACT_CANNOT;
		str_copy(row->reason, sizeof(row->reason), !ok ?
			 "escape sequences that do not decode: left alone" : passed ?
			 "escape sequences the converter passes through unconverted: left alone" :
			 "legacy text inside an address, where encoded-words are not allowed: left alone");
		buf_free(&text);
		return;
	}
	if (pl->conf->mode == MODE_REPORT) {
		row->actions |= ACT_REPORT;
		buf_free(&text);
		return;
	}
	buf_init(&nf, pl->fw.limit);
	buf_init(&enc, pl->fw.limit);
	if (rfc2047_encode_header_as(text.data, text.len, target, pl->in->cv, rfc2047_kind_of(h->name),
				     h->colon + 1 - h->start, fields_part_eol(pl->m, h->part), &enc) == 0 &&
	    !bytes_have_8bit(enc.data, enc.len) && enc.len > 0 && fields_prefix(&pl->fw, h, &nf) == 0 &&
	    buf_append(&nf, enc.data, enc.len) == 0 && buf_puts(&nf, fields_part_eol(pl->m, h->part)) == 0 &&
	    fields_replace(&pl->fw, hidx, &nf)) {
		row->actions |= ACT_ENCODE_HDR;
		if (target != cs)
			row->actions |= ACT_TRANSCODE;
	} else {
		row->actions |= ACT_CANNOT;
		str_copy(row->reason, sizeof(row->reason), "could not encode the header: left alone");
	}
	buf_free(&text);
	buf_free(&nf);
	buf_free(&enc);
}

/* Raw 8-bit text in header hidx: judged and a charset chosen; the encoding
 * itself is written by emit_header_edit. */
static void plan_header(struct plan *pl, unsigned hidx)
{
	const struct mime_header *h = &pl->m->headers[hidx];
	char name[sizeof(((struct report_row *)0)->content_type)];
	struct report_row *row;
	const struct charset_info *esc = header_escape_charset(h);

	if (!h->has_8bit && esc == NULL)
		return;
	if (ascii_strcasecmp(h->name, "content-type") == 0 ||
	    ascii_strcasecmp(h->name, "content-disposition") == 0)
		return;		/* parameters: see plan_params */
	if (esc == NULL && (pl->in->smtputf8 || mime_part_in_message_global(pl->m, h->part)) &&
	    utf8_valid(h->value, h->value_len))
		return;		/* RFC 6532: raw UTF-8 is legal here */
	report_copy_printable(name, sizeof(name), h->name, strlen(h->name));
	row = judge_header_text(pl, h->part, name, h->value, h->value_len, fields_header_refusal(h), esc == NULL);
	if (row != NULL && esc == NULL)
		rejudge_address(pl, hidx, row);
	if (row != NULL && esc != NULL) {
		/* written here, not in emit_edits: the one other place Mode report is looked at */
		plan_header_escapes(pl, hidx, esc, row);
		return;
	}
	if (row == NULL)
		return;
	row->actions |= ACT_ENCODE_HDR;
	pl->hdr_row[hidx] = (int)(row - pl->rep->rows);
}

void plan_emit_header_edit(struct plan *pl, unsigned hidx)
{
	struct report_row *row;
	enum fields_encode_result res;

	if (pl->hdr_row[hidx] < 0)
		return;
	row = &pl->rep->rows[pl->hdr_row[hidx]];
	/* Mode transcode: the header's text in UTF-8, as the converted body is */
	if (pl->conf->mode == MODE_TRANSCODE && !charset_same(row->chosen, pl->utf8) &&
	    charset_iconv_ok(row->chosen) &&
	    fields_encode_header(&pl->fw, hidx, row->chosen, pl->utf8, pl->in->cv) == FIELDS_ENCODED) {
		row->actions |= ACT_TRANSCODE;
		return;
	}
	res = fields_encode_header(&pl->fw, hidx, row->chosen, NULL, NULL);
	if (res == FIELDS_ENCODED)
		return;
	row->actions = (row->actions & ~ACT_ENCODE_HDR) | ACT_CANNOT;
	str_copy(row->reason, sizeof(row->reason), res == FIELDS_ENCODE_8BIT_LEFT ?
		 "8-bit inside an address, where encoded-words are not allowed: left alone" :
		 "could not encode the header: left alone");
}

/* Raw 8-bit name/filename parameters of part i: choose their charset. */
static void plan_params(struct plan *pl, unsigned i)
{
	const struct mparam *bad = fields_raw_file_name(&pl->m->parts[i]);
	char what[sizeof(((struct report_row *)0)->content_type)];
	struct report_row *row;

	if (bad == NULL)
		return;
	snprintf(what, sizeof(what), "%s parameter", bad->name);
	row = judge_header_text(pl, i, what, bad->value, bad->value_len, NULL, true);
	if (row == NULL)
		return;
	pl->pp[i].param_cs = row->chosen;
	row->actions |= ACT_ENCODE_PARAM;
}

/* Step 3, plan headers: raw 8-bit file names, then raw 8-bit header text. */
void plan_headers(struct plan *pl)
{
	unsigned i;

	for (i = 0; i < pl->m->nparts && !pl->fw.error; i++)
		if (pl->pp[i].verdict != VERDICT_SKIPPED)
			plan_params(pl, i);
	for (i = 0; i < pl->m->nheaders && !pl->fw.error; i++)
		plan_header(pl, i);
}
