/*
 * repair.c -- the planner: decide, per text part and per header, what is wrong
 * and which edits repair it.  See repair.h for the contract.
 *
 * repair_plan is four steps over the part tree, then the edits:
 *   1. judge: every text part on its own bytes and label (verdict.h); parts
 *      whose label holds become context for the others (evidence.h);
 *   2. choose: a charset for every broken part (its label's superset, or the
 *      detection cascade) and what to do with it (label, transcode, CTE);
 *   3. plan headers: raw 8-bit file names and header text, judged together
 *      with the body;
 *   -- in Mode report every planned repair becomes "report-only" here, once;
 *   then each part's fields are rewritten once, combining every change to the
 *   same field (fields.h), and 4. audit: MIME-Version and the audit header.
 * A charset is only written when the whole text decodes under it (oracle.h);
 * anything doubtful is left alone and reported with the reason.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "buf.h"
#include "conf.h"
#include "repair.h"
#include "report.h"
#include "fields.h"
#include "rfc2047.h"
#include "oracle.h"
#include "verdict.h"
#include "evidence.h"
#include "tnef.h"

#define FIELD_MAX	(256 * 1024)	/* a rewritten header field never exceeds this */

/* What the planner wants done to one part, gathered before any field is rewritten. */
struct part_plan {
	const struct charset_info *trusted;	/* declared label that can be trusted, for context */
	const struct charset_info *label;	/* charset to write into Content-Type, NULL = keep */
	bool transcode;				/* body becomes UTF-8 */
	bool reencode;				/* body re-encoded (CTE change), charset kept */
	enum mime_cte new_cte;			/* CTE to write, CTE_ABSENT = keep */
	const struct charset_info *param_cs;	/* charset of raw 8-bit name/filename params */
	int row;				/* report row index, -1 if none */
	enum verdict verdict;
	const struct charset_info *declared;	/* what the label names, NULL if nothing known */
	struct decode_oracle oracle;		/* text leaves that are judged */
	struct label_verification ver;		/* of the declared label (wrong-label), for -x */
};

struct plan {
	const struct repair_input *in;
	const struct mime_message *m;
	const struct conf *conf;
	struct field_writer fw;	/* the edit list and the spool error flag live here */
	struct report *rep;
	struct part_plan *pp;
	int *hdr_row;		/* per header: report row of a planned encoding, -1 if none */
	struct detect_context ctx;
	const struct charset_info *utf8;
	bool mime_edit;		/* an edit that makes the top level a MIME message */
	bool any_problem;	/* something found, repaired or not (for report mode) */
};

static struct report_row *part_row(const struct plan *pl, unsigned i)
{
	return pl->pp[i].row >= 0 ? &pl->rep->rows[pl->pp[i].row] : NULL;
}

static void row_take(struct report_row *row, const struct detect_result *dr)
{
	row->chosen = dr->charset;
	row->confidence = dr->confidence;
	row->source = dr->source;
	str_copy(row->reason, sizeof(row->reason), dr->reason);
}

static bool part_is_attachment(const struct mime_part *p)
{
	return p->cd_header >= 0 && strcmp(p->cd.type, "attachment") == 0;
}

/* A charset for broken text part pp: the verified alternative of a label
 * that lies, the declared charset under a name that decodes or is standard,
 * its superset, or the cascade's; then the name that the bytes need
 * (oracle_label_to_write). */
static void choose_for_part(struct plan *pl, struct part_plan *pp, struct report_row *row)
{
	struct decode_oracle *o = &pp->oracle;
	const struct charset_info *declared = pp->declared;
	enum verdict v = pp->verdict;
	struct label_verification sv;
	struct detect_result dr;

	if (v == VERDICT_WRONG_LABEL && verdict_take_alternative(&pp->ver, row)) {
		row->chosen = oracle_label_to_write(o, row->chosen);
		return;
	}
	if (v == VERDICT_UNDECODABLE && declared != NULL && verdict_has_wider_label(declared) &&
	    oracle_decodes(o, declared)) {
		row->chosen = oracle_label_to_write(o, declared);
		row->confidence = 100;
		row->source = DETECT_DECLARED;
		snprintf(row->reason, sizeof(row->reason),
			 "glibc's %s fails on the vendor extensions in the text; %s decodes them",
			 declared->mime_name, row->chosen->mime_name);
		return;
	}
	if (evidence_from_label(v == VERDICT_NONSTANDARD_LABEL,
				v == VERDICT_LATIN1_WITH_C1 || v == VERDICT_UNDECODABLE, declared, o, &dr)) {
		row_take(row, &dr);
		if (v == VERDICT_NONSTANDARD_LABEL) {
			row->chosen = oracle_label_to_write(o, declared);
			snprintf(row->reason, sizeof(row->reason), "label names %s by a non-standard name",
				 row->chosen->mime_name);
		} else if (verify_label(o->ta, row->chosen, pl->in->cv, oracle_decodes, o, &sv) &&
			   verdict_take_alternative(&sv, row)) {
			/* the superset is itself plainly the wrong charset */
			row->chosen = oracle_label_to_write(o, row->chosen);
		}
		return;
	}
	evidence_detect(&pl->ctx, o, pl->in->cv, &dr);
	row_take(row, &dr);
	if (row->chosen == NULL)
		return;
	verdict_verify_meta(o, row);
	row->chosen = oracle_label_to_write(o, row->chosen);
}

/* Decide what happens to a broken text part once its charset is chosen. */
static void plan_text_action(struct plan *pl, unsigned i, struct report_row *row)
{
	const struct mime_part *p = &pl->m->parts[i];
	const struct text_analysis *ta = pl->in->analysis[i];
	struct part_plan *pp = &pl->pp[i];
	bool html_meta = ta->html_meta_charset[0] != '\0';

	pl->any_problem = true;
	if (row->chosen == NULL) {
		row->actions |= ACT_CANNOT;
		return;
	}
	if (pl->conf->mode == MODE_TRANSCODE && !charset_same(row->chosen, pl->utf8) &&
	    !part_is_attachment(p) && !html_meta && charset_iconv_ok(row->chosen)) {
		pp->transcode = true;
		pp->label = pl->utf8;
		row->actions |= ACT_TRANSCODE;
		/* 8bit only when every decoded line fits SMTP's 998 bytes and no
		 * bare CR would reach the wire; otherwise quoted-printable */
		if (p->cte == CTE_BASE64)
			pp->new_cte = CTE_BASE64;
		else if (p->cte == CTE_QP || pl->conf->seven_bit_output || ta->max_decoded_line > MIME_MAX_LINE ||
			 (p->anomalies & MIME_ANOM_BARE_CR))
			pp->new_cte = CTE_QP;
		else
			pp->new_cte = CTE_8BIT;
		if (pp->new_cte == p->cte)
			pp->new_cte = CTE_ABSENT;
	} else {
		pp->label = row->chosen;
	}
	if (p->ct_header >= 0 && mparams_get(&p->ct, "charset") != NULL)
		row->actions |= ACT_RELABEL;
	else
		row->actions |= ACT_LABEL;
}

/* Transfer encoding fixes that any repaired text part may need: 8-bit bytes
 * under a 7bit/absent CTE, lines over 998 bytes, or a 7-bit-only site. */
static void plan_cte(struct plan *pl, unsigned i, struct report_row *row)
{
	const struct mime_part *p = &pl->m->parts[i];
	struct part_plan *pp = &pl->pp[i];
	bool encoded = p->cte == CTE_QP || p->cte == CTE_BASE64;

	if (pp->transcode || encoded)
		return;
	if (p->max_line_len > MIME_MAX_LINE || (p->body_has_8bit && pl->conf->seven_bit_output)) {
		pp->reencode = true;
		pp->new_cte = CTE_QP;
		row->actions |= ACT_CTE;
	} else if (p->body_has_8bit && (p->cte == CTE_ABSENT || p->cte == CTE_7BIT)) {
		pp->new_cte = CTE_8BIT;
		row->actions |= ACT_CTE;
	}
}

/* What became of a part row when its fields could not be written. */
static void part_left_alone(struct report_row *row, unsigned undone, const char *why)
{
	row->actions = (row->actions & ~undone) | ACT_CANNOT;
	str_copy(row->reason, sizeof(row->reason), why);
}

/* Emit all field and body edits of one part, combining changes per field. */
static void emit_part_edits(struct plan *pl, unsigned i)
{
	struct part_plan *pp = &pl->pp[i];
	struct report_row *row = part_row(pl, i);
	struct fields_part_change c = {
		.label = pp->label, .param_cs = pp->param_cs, .new_cte = pp->new_cte,
		.rewrite_body = pp->transcode || pp->reencode,
		.body_from = pp->transcode && row != NULL ? row->chosen : NULL,
	};
	bool param_encoded = false, ct_added = false;
	enum fields_part_result res = fields_emit_part(&pl->fw, i, &c, &param_encoded, &ct_added);
	const unsigned undone = ACT_LABEL | ACT_RELABEL | ACT_TRANSCODE | ACT_CTE;

	if (row == NULL)
		return;
	if (param_encoded)
		row->actions |= ACT_ENCODE_PARAM;
	if (ct_added)
		row->actions = (row->actions & ~ACT_RELABEL) | ACT_LABEL | ACT_CT_ADDED;
	switch (res) {
	case FIELDS_PART_DONE:
		if (i == 0 && (pp->label != NULL || pp->new_cte != CTE_ABSENT))
			pl->mime_edit = true;
		break;
	case FIELDS_PART_CT_UNUSUAL:
		part_left_alone(row, undone | ACT_ENCODE_PARAM,
				"Content-Type field too unusual to rewrite safely: left alone");
		break;
	case FIELDS_PART_CT_UNPARSABLE:
		part_left_alone(row, undone, "unparsable Content-Type: left alone");
		break;
	case FIELDS_PART_NO_ROOM:
		part_left_alone(row, undone, "no room for a Content-Type field: left alone");
		break;
	}
}

/* The charset of the body text nearest to part `part`: its own (for a text
 * part), else that of the first text part below or beside it. */
static const struct charset_info *body_charset_near(const struct plan *pl, unsigned part)
{
	unsigned k, n = pl->m->nparts;

	for (k = 0; k < n; k++) {
		const struct part_plan *pp = &pl->pp[(part + k) % n];	/* part, the ones after, then before */

		if (pp->trusted != NULL)
			return pp->trusted;
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

static bool skip_signed(const struct plan *pl, unsigned part)
{
	return !pl->conf->repair_signed && mime_part_in_signed(pl->m, part);
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

static int utf8_sink(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
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
	struct charset_stream *st;
	struct buf text, nf, enc;
	size_t bad;
	bool ok;

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
	buf_init(&text, FIELD_MAX);
	st = charset_stream_begin(pl->in->cv, cs, utf8_sink, &text);
	ok = st != NULL && charset_stream_feed(st, h->value, h->value_len) == 0;
	if (st != NULL && charset_stream_end(st, &bad) != 0)
		ok = false;
	if (!ok || (rfc2047_kind_of(h->name) == RFC2047_ADDRESS && fields_8bit_in_angle_addr(text.data, text.len))) {
		row->actions |= ACT_CANNOT;
		str_copy(row->reason, sizeof(row->reason), !ok ?
			 "escape sequences that do not decode: left alone" :
			 "legacy text inside an address, where encoded-words are not allowed: left alone");
		buf_free(&text);
		return;
	}
	if (pl->conf->mode == MODE_REPORT) {
		row->actions |= ACT_REPORT;
		buf_free(&text);
		return;
	}
	buf_init(&nf, FIELD_MAX);
	buf_init(&enc, FIELD_MAX);
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

static void emit_header_edit(struct plan *pl, unsigned hidx)
{
	struct report_row *row;
	enum fields_encode_result res;

	if (pl->hdr_row[hidx] < 0)
		return;
	row = &pl->rep->rows[pl->hdr_row[hidx]];
	res = fields_encode_header(&pl->fw, hidx, row->chosen);
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

static struct report_row *add_part_row(struct plan *pl, unsigned i)
{
	const struct mime_part *p = &pl->m->parts[i];
	const struct mparam *cp = mparams_get(&p->ct, "charset");
	struct report_row *row = report_add(pl->rep);

	pl->pp[i].row = (int)(pl->rep->n - 1);
	str_copy(row->id, sizeof(row->id), p->id);
	snprintf(row->content_type, sizeof(row->content_type), "%s/%s", p->type, p->subtype);
	if (cp != NULL)
		report_copy_printable(row->declared, sizeof(row->declared), cp->value, cp->value_len);
	return row;
}

/* Context for the cascade: the source, and labels that other parts declared and that hold. */
static void build_context(struct plan *pl)
{
	unsigned i;

	evidence_context_init(&pl->ctx, pl->conf->default_charset, pl->in->rule, pl->in->sender_tld,
			      pl->in->priors, pl->in->n_priors);
	for (i = 0; i < pl->m->nparts; i++)
		evidence_context_add_label(&pl->ctx, pl->pp[i].trusted);
	if (pl->in->tnef != NULL)
		tnef_add_to_context(pl->in->tnef, &pl->ctx);
}

static enum repair_skip message_skip(const struct plan *pl)
{
	const struct mime_message *m = pl->m;
	unsigned fatal = MIME_ANOM_TOO_BIG | MIME_ANOM_DEPTH | MIME_ANOM_PARTS | MIME_ANOM_HDR_COUNT |
	    MIME_ANOM_TRUNC_HDR;
	unsigned i;

	if (m->anomalies & MIME_ANOM_TOO_BIG)
		return REPAIR_SKIP_TOO_BIG;
	if (m->anomalies & fatal)
		return REPAIR_SKIP_LIMITS;
	if (pl->conf->repair_signed)
		return REPAIR_SKIP_NONE;
	for (i = 0; i < m->nheaders && m->headers[i].part == 0; i++)
		if (ascii_strcasecmp(m->headers[i].name, "DKIM-Signature") == 0)
			return REPAIR_SKIP_DKIM;
	if (m->nparts > 0 && mime_part_in_signed(m, 0))
		return REPAIR_SKIP_SIGNED;
	return REPAIR_SKIP_NONE;
}

const char *repair_skip_reason(enum repair_skip why)
{
	switch (why) {
	case REPAIR_SKIP_NONE:
		break;
	case REPAIR_SKIP_TOO_BIG:
		return "message larger than MaxMessageSize: passed untouched";
	case REPAIR_SKIP_LIMITS:
		return "MIME structure beyond the configured limits: passed untouched";
	case REPAIR_SKIP_DKIM:
		return "DKIM-signed message: passed untouched (SignedMessages skip)";
	case REPAIR_SKIP_SIGNED:
		return "signed message: passed untouched (SignedMessages skip)";
	}
	return NULL;
}

/* Why text leaf i is not judged at all, or NULL when it is. */
static const char *part_skip_reason(const struct plan *pl, unsigned i)
{
	const struct text_analysis *ta = pl->in->analysis[i];

	if (ta == NULL)
		return "not analysed (limits): left alone";
	if (ta->has_nul)
		return "NUL bytes: not text, left alone";
	if (skip_signed(pl, i))
		return "inside signed content: left alone";
	if (pl->m->parts[i].anomalies & (MIME_ANOM_BAD_HDR_LINE | MIME_ANOM_TRUNC_HDR))
		return "header block not ended by a blank line: left alone";
	return NULL;
}

/* Step 1, judge: a verdict for every part on its own bytes and label; parts
 * whose label holds become context for the others. */
static void judge_parts(struct plan *pl)
{
	unsigned i;

	for (i = 0; i < pl->m->nparts && !pl->fw.error; i++) {
		const struct mime_part *p = &pl->m->parts[i];
		struct part_plan *pp = &pl->pp[i];
		struct report_row *row = add_part_row(pl, i);
		const char *skip;

		if (!p->is_leaf || strcmp(p->type, "text") != 0) {
			row->verdict = pp->verdict = VERDICT_NOT_TEXT;
			continue;
		}
		if ((skip = part_skip_reason(pl, i)) != NULL) {
			row->verdict = pp->verdict = VERDICT_SKIPPED;
			str_copy(row->reason, sizeof(row->reason), skip);
			continue;
		}
		oracle_init_part(&pp->oracle, pl->in->analysis[i], p, pl->in->spool, pl->in->cv, &pl->fw.error);
		row->verdict = pp->verdict = verdict_of_text_part(p, pl->in->analysis[i], &pp->oracle,
								  &pp->declared, &pp->ver);
		if (pp->verdict == VERDICT_OK && pl->in->analysis[i]->has_8bit)
			pp->trusted = pp->declared;
		if (pp->verdict == VERDICT_OK || pp->verdict == VERDICT_ASCII) {
			row->chosen = pp->declared;
			row->confidence = 100;
			str_copy(row->reason, sizeof(row->reason), pp->verdict == VERDICT_ASCII ?
				 "plain ASCII: no label needed" : "label present and the text decodes");
			if (pp->ver.checked) {
				char why[180];

				verify_describe(&pp->ver, why, sizeof(why));
				snprintf(row->reason, sizeof(row->reason),
					 "label present, the text decodes, and it is verified: %s", why);
			}
		}
	}
	build_context(pl);
}

/* Step 2, choose: a charset and an action for every broken part. */
static void choose_parts(struct plan *pl)
{
	unsigned i;

	for (i = 0; i < pl->m->nparts && !pl->fw.error; i++) {
		struct part_plan *pp = &pl->pp[i];
		struct report_row *row = part_row(pl, i);

		switch (pp->verdict) {
		case VERDICT_OK:
		case VERDICT_ASCII:
			/* the label is right, but a line over 998 bytes breaks RFC 5322
			 * transport (RFC 5321 4.5.3.1.6): quoted-printable keeps the text */
			if (pl->m->parts[i].max_line_len > MIME_MAX_LINE) {
				plan_cte(pl, i, row);
				if (pp->reencode) {
					pl->any_problem = true;
					str_copy(row->reason, sizeof(row->reason),
						 "label right; line over 998 bytes re-encoded as quoted-printable");
				}
			}
			break;
		case VERDICT_NOT_TEXT:
		case VERDICT_SKIPPED:
			break;
		default:
			choose_for_part(pl, pp, row);
			plan_text_action(pl, i, row);
			if (row->chosen != NULL)
				plan_cte(pl, i, row);
			break;
		}
	}
}

/* Step 3, plan headers: raw 8-bit file names, then raw 8-bit header text. */
static void plan_headers(struct plan *pl)
{
	unsigned i;

	for (i = 0; i < pl->m->nparts && !pl->fw.error; i++)
		if (pl->pp[i].verdict != VERDICT_SKIPPED)
			plan_params(pl, i);
	for (i = 0; i < pl->m->nheaders && !pl->fw.error; i++)
		plan_header(pl, i);
}

#define ACT_REPAIRS	(ACT_LABEL | ACT_RELABEL | ACT_TRANSCODE | ACT_ENCODE_HDR | ACT_ENCODE_PARAM | \
			 ACT_CTE | ACT_MIMEVER | ACT_CT_ADDED)

/* Mode report: every planned repair becomes "report-only" and nothing is
 * written; the one place the mode is looked at. */
static void report_only(struct plan *pl)
{
	size_t i;

	for (i = 0; i < pl->rep->n; i++) {
		struct report_row *row = &pl->rep->rows[i];

		if (row->actions & ACT_REPAIRS)
			row->actions = (row->actions & ~ACT_REPAIRS) | ACT_REPORT;
	}
	for (i = 0; i < pl->m->nparts; i++) {
		struct part_plan *pp = &pl->pp[i];

		pp->label = pp->param_cs = NULL;
		pp->transcode = pp->reencode = false;
		pp->new_cte = CTE_ABSENT;
	}
	for (i = 0; i < pl->m->nheaders; i++)
		pl->hdr_row[i] = -1;
}

/* Step 4, audit: MIME-Version where the top level became MIME, and the audit
 * header on a changed message -- or, in report mode, on one with findings
 * that does not carry ours yet (a second pass, a second MTA hop). */
static void plan_audit(struct plan *pl, size_t edits_before)
{
	const struct mime_message *m = pl->m;
	struct edit_list *el = pl->fw.el;
	struct buf audit;

	if (el->n > edits_before && pl->mime_edit && m->parts[0].mimever_header < 0 &&
	    fields_add(&pl->fw, 0, "MIME-Version", "1.0"))
		pl->rep->rows[0].actions |= ACT_MIMEVER;
	if (pl->conf->audit_header == NULL)
		return;
	if (el->n == edits_before && !(pl->conf->mode == MODE_REPORT && pl->any_problem &&
				       mime_part_header(m, 0, pl->conf->audit_header, 0) == NULL))
		return;
	buf_init(&audit, 4096);
	report_format_audit(pl->rep, fields_part_eol(m, 0), &audit);
	(void)fields_add(&pl->fw, 0, pl->conf->audit_header,
			 buf_cstr(&audit) + (audit.len > 0 && audit.data[0] == ' '));
	buf_free(&audit);
}

static void emit_edits(struct plan *pl)
{
	unsigned i;

	for (i = 0; i < pl->m->nparts && !pl->fw.error; i++)
		emit_part_edits(pl, i);
	for (i = 0; i < pl->m->nheaders && !pl->fw.error; i++)
		emit_header_edit(pl, i);
}

static void plan_init(struct plan *pl, const struct repair_input *in, struct edit_list *el, struct report *rep)
{
	unsigned i;

	memset(pl, 0, sizeof(*pl));
	pl->in = in;
	pl->m = in->msg;
	pl->conf = in->conf;
	pl->fw.m = in->msg;
	pl->fw.spool = in->spool;
	pl->fw.el = el;
	pl->fw.limit = FIELD_MAX;
	pl->fw.raw_8bit_ok = in->smtputf8;
	pl->rep = rep;
	pl->utf8 = charset_lookup("utf-8");
	pl->pp = xcalloc(pl->m->nparts, sizeof(*pl->pp));
	for (i = 0; i < pl->m->nparts; i++)
		pl->pp[i].row = -1;
	pl->hdr_row = xcalloc(pl->m->nheaders ? pl->m->nheaders : 1, sizeof(*pl->hdr_row));
	for (i = 0; i < pl->m->nheaders; i++)
		pl->hdr_row[i] = -1;
}

int repair_plan(const struct repair_input *in, struct edit_list *el, struct report *rep)
{
	struct plan pl;
	enum repair_skip skip;
	size_t edits_before = el->n;
	int error;

	rep->message_anomalies = in->msg->anomalies;
	if (in->msg->nparts == 0)
		return 0;
	plan_init(&pl, in, el, rep);
	skip = message_skip(&pl);
	if (skip != REPAIR_SKIP_NONE) {
		rep->signed_message = skip == REPAIR_SKIP_DKIM || skip == REPAIR_SKIP_SIGNED;
		report_untouched(in->msg, rep, repair_skip_reason(skip));
		free(pl.pp);
		free(pl.hdr_row);
		return 0;
	}
	judge_parts(&pl);
	choose_parts(&pl);
	plan_headers(&pl);
	if (pl.conf->mode == MODE_REPORT)
		report_only(&pl);
	emit_edits(&pl);
	if (!pl.fw.error)
		plan_audit(&pl, edits_before);
	error = pl.fw.error;
	free(pl.pp);
	free(pl.hdr_row);
	if (error)
		return -1;
	if (!edit_list_finalize(el)) {
		/* overlapping edits would corrupt the message: refuse them all */
		edit_list_truncate(el, edits_before);
		rep->passed_untouched = true;
		str_copy(rep->note, sizeof(rep->note), "internal: conflicting edits, passed untouched");
	}
	return 0;
}
