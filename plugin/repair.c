/*
 * repair.c -- the planner: decide, per text part and per header, what is wrong
 * and which edits repair it.  See repair.h for the contract.
 *
 * repair_plan is four steps over the part tree, then the edits:
 *   1. judge: every text part on its own bytes and label (verdict.h); parts
 *      whose label holds become context for the others (evidence.h);
 *   2. choose: a charset for every broken part (its label's superset, or the
 *      detection cascade) and what to do with it (label, transcode, CTE);
 *   3. plan headers (plan_headers.c): raw 8-bit file names and header
 *      text, judged together with the body;
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
#include "oracle.h"
#include "verdict.h"
#include "evidence.h"
#include "tnef.h"

#include "plan.h"


static bool part_is_attachment(const struct mime_part *p)
{
	return p->cd_header >= 0 && strcmp(p->cd.type, "attachment") == 0;
}

/* A charset for broken text part pp: the verified alternative of a label
 * that lies, the declared charset under a name that decodes or is standard,
 * its superset, or the cascade's; then the name that the bytes need
 * (oracle_label_to_write).  True when the cascade chose it (the label said
 * nothing about the text). */
static bool choose_for_part(struct plan *pl, struct part_plan *pp, struct report_row *row)
{
	struct decode_oracle *o = &pp->oracle;
	const struct charset_info *declared = pp->declared;
	enum verdict v = pp->verdict;
	struct label_verification sv;
	struct detect_result dr;

	if (v == VERDICT_WRONG_LABEL && verdict_take_alternative(&pp->ver, row)) {
		row->chosen = oracle_label_to_write(o, row->chosen);
		return false;
	}
	if (v == VERDICT_UNDECODABLE && declared != NULL && verdict_has_wider_label(declared) &&
	    oracle_decodes(o, declared)) {
		row->chosen = oracle_label_to_write(o, declared);
		row->confidence = 100;
		row->source = DETECT_DECLARED;
		snprintf(row->reason, sizeof(row->reason),
			 "glibc's %s fails on the vendor extensions in the text; %s decodes them",
			 declared->mime_name, row->chosen->mime_name);
		return false;
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
		return false;
	}
	evidence_detect(&pl->ctx, o, pl->in->cv, &dr);
	row_take(row, &dr);
	if (row->chosen == NULL)
		return false;
	verdict_verify_context(o, row);
	row->chosen = oracle_label_to_write(o, row->chosen);
	return true;
}

/* A plain text the cascade gave one charset may be in several (a reply
 * quoting older mail, a pasted signature): segment.h decides, on
 * overwhelming evidence per paragraph only. */
static void plan_mixed(struct plan *pl, unsigned i, struct report_row *row)
{
	struct part_plan *pp = &pl->pp[i];
	struct detect_context own = pl->ctx;
	const struct charset_info *whole = row->chosen;
	struct detect_result dr;
	char why[200];

	if (row->chosen == NULL || strcmp(pl->m->parts[i].subtype, "plain") != 0)
		return;
	/* Decided without the other parts' labels: a second pass sees the
	 * labels this one writes, and a text left alone as mixed must still
	 * be mixed then (repair.h: a repaired message needs no more edits). */
	own.n_message_charsets = 0;
	if (row->source == DETECT_CONTEXT && pl->ctx.n_message_charsets > 0) {
		evidence_detect(&own, &pp->oracle, pl->in->cv, &dr);
		whole = dr.charset;
	}
	if (whole == NULL ||
	    !segment_mixed(pl->in->analysis[i], whole, &own, pl->in->cv, &pp->segs, why, sizeof(why)))
		return;
	/* row->chosen stays the cascade's: the one charset the whole text decodes
	 * under (what -x and the audit header name); each segment's is in why */
	row->verdict = pp->verdict = VERDICT_MIXED;
	snprintf(row->reason, sizeof(row->reason), "paragraphs in different charsets: %s", why);
}

/* Every segment's charset has a converter to UTF-8. */
static bool segments_convert(const struct segment_list *sl)
{
	for (size_t k = 0; k < sl->n; k++)
		if (!charset_iconv_ok(sl->cs[k]))
			return false;
	return true;
}

/* Decide what happens to a broken text part once its charset is chosen. */
static void plan_text_action(struct plan *pl, unsigned i, struct report_row *row)
{
	const struct mime_part *p = &pl->m->parts[i];
	const struct text_analysis *ta = pl->in->analysis[i];
	struct part_plan *pp = &pl->pp[i];
	/* an HTML <meta> charset is rewritten with the conversion, which needs
	 * its token in ASCII and wholly inside the scanned start */
	bool html_meta = ta->html_meta_charset[0] != '\0' &&
	    (ta->html_meta_n == 0 || row->chosen == NULL || !(row->chosen->props & CSP_ASCII_COMPAT));

	pl->any_problem = true;
	if (row->chosen == NULL) {
		row->actions |= ACT_CANNOT;
		return;
	}
	/* JIS forms the ISO-2022-JP converter passes through would stay escape
	 * bytes in "UTF-8" text: the label is the repair there */
	bool unconvertible = ta->iso2022jp_ext && (row->chosen->props & CSP_7BIT_STATEFUL);
	bool transcodes = pl->conf->mode == MODE_TRANSCODE && !part_is_attachment(p) && !html_meta &&
	    !unconvertible && charset_iconv_ok(row->chosen) && segments_convert(&pp->segs);

	if (pp->segs.n > 0 && !transcodes) {
		size_t len = strlen(row->reason);

		snprintf(row->reason + len, sizeof(row->reason) - len,
			 "; no one label fits: left alone (Mode transcode converts each)");
		row->chosen = NULL;
		row->actions |= ACT_CANNOT;
		return;
	}
	if (transcodes && !charset_same(row->chosen, pl->utf8)) {
		pp->transcode = true;
		pp->label = pl->utf8;
		row->actions |= ACT_TRANSCODE;
		/* 8bit only when every line, once in UTF-8, fits SMTP's 998 bytes
		 * and no bare CR would reach the wire; otherwise quoted-printable.
		 * The UTF-8 length is bounded: three bytes per byte at most for a
		 * charset that is not ASCII-compatible (ISO-2022, UTF-16). */
		size_t utf8_line = (row->chosen->props & CSP_ASCII_COMPAT) ? ta->max_utf8_line
									   : 3 * ta->max_decoded_line;
		if (p->cte == CTE_BASE64)
			pp->new_cte = CTE_BASE64;
		else if (p->cte == CTE_QP || pl->conf->seven_bit_output || utf8_line > MIME_MAX_LINE ||
			 (p->anomalies & MIME_ANOM_BARE_CR))
			pp->new_cte = CTE_QP;
		else
			pp->new_cte = CTE_8BIT;
		if (pp->new_cte == p->cte)
			pp->new_cte = CTE_ABSENT;
	} else {
		pp->label = row->chosen;
		if (unconvertible && pl->conf->mode == MODE_TRANSCODE) {
			size_t len = strlen(row->reason);

			snprintf(row->reason + len, sizeof(row->reason) - len,
				 "; JIS escapes the converter passes through: labelled, not converted");
		}
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
		.html = pl->in->analysis[i],
		.segs = &pp->segs,
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
/*
 * The labels step 2 is about to write become context for the headers of
 * step 3, as they will be once written: a second pass over the repaired
 * message must judge its raw header text with the same evidence.
 */
static void add_chosen_labels(struct plan *pl)
{
	unsigned i;

	for (i = 0; i < pl->m->nparts; i++)
		if (pl->pp[i].label != NULL && pl->pp[i].label_fits && !pl->pp[i].transcode)
			evidence_context_add_label(&pl->ctx, pl->pp[i].label);
}

/*
 * Whether each label step 2 chose can be written, found before step 3 looks
 * at it: a header judged beside a label that emit_part_edits then finds it
 * cannot write (an unparsable or too unusual Content-Type, no room for one)
 * would be judged without it on a second pass -- another charset, and an
 * edit the first pass did not make.  The file name's charset is not chosen
 * yet; the label stands in for it, as the rewrite's shape does not depend on
 * which charset an RFC 2231 value names.
 */
static void label_fits_part(struct plan *pl)
{
	unsigned i;

	for (i = 0; i < pl->m->nparts && !pl->fw.error; i++) {
		struct part_plan *pp = &pl->pp[i];
		struct fields_part_change c = { .label = pp->label, .new_cte = CTE_ABSENT };

		if (pp->label == NULL)
			continue;
		if (fields_raw_file_name(&pl->m->parts[i]) != NULL)
			c.param_cs = pp->label;
		pp->label_fits = fields_part_dry_run(&pl->fw, i, &c) == FIELDS_PART_DONE;
	}
}

static void build_context(struct plan *pl)
{
	unsigned i;

	evidence_context_init(&pl->ctx, pl->conf->default_charset, pl->in->rule, pl->in->sender_tld,
			      pl->in->priors, pl->in->n_priors);
	pl->ctx.explain = pl->in->explain;
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
			if (choose_for_part(pl, pp, row))
				plan_mixed(pl, i, row);
			plan_text_action(pl, i, row);
			if (row->chosen != NULL)
				plan_cte(pl, i, row);
			break;
		}
	}
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
		plan_emit_header_edit(pl, i);
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
	pl->fw.limit = CONF_FIELD_GROWTH * in->conf->limits.max_header_size;
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
	label_fits_part(&pl);
	add_chosen_labels(&pl);
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
