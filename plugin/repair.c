/*
 * repair.c -- the planner: decide, per text part and per header, what is wrong
 * and which edits repair it.  See repair.h for the contract.
 *
 * Two phases over the part tree:
 *   1. verdicts: every text part is judged on its own bytes and its own label;
 *      parts whose label is trustworthy become context for the others;
 *   2. choices and edits: broken parts get a charset from the detection
 *      cascade (with that context), headers and parameters with raw 8-bit
 *      text get one judged together with the body, and each part's header
 *      fields are rewritten once, combining every change to the same field
 *      (a Content-Type may need both a charset and an RFC 2231 filename).
 *
 * Safety rules:
 *   - a charset is only written when the bytes decode under it (the cascade
 *     guarantees it, the oracle below checks the whole part);
 *   - fields are rewritten from their exact original bytes, changing only the
 *     span that needs it, so everything else in the field stays as it was;
 *   - anything doubtful (signed content, truncated or unparsable fields,
 *     resource limits hit) is left alone and reported with the reason.
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
#include "rfc2047.h"

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
};

struct plan {
	const struct repair_input *in;
	const struct mime_message *m;
	const struct conf *conf;
	struct edit_list *el;
	struct report *rep;
	struct part_plan *pp;
	struct detect_context ctx;
	const struct charset_info *utf8, *ascii, *latin1;
	bool mime_edit;		/* an edit that makes the top level a MIME message */
	bool any_problem;	/* something found, repaired or not (for report mode) */
	int error;
};

/* ---- small tables ----------------------------------------------------------- */

static const char *const verdict_names[] = {
	[VERDICT_OK] = "ok",
	[VERDICT_ASCII] = "ascii",
	[VERDICT_MISSING] = "missing",
	[VERDICT_UNKNOWN_LABEL] = "unknown-label",
	[VERDICT_ASCII_WITH_8BIT] = "ascii-with-8bit",
	[VERDICT_LATIN1_WITH_C1] = "latin1-with-c1",
	[VERDICT_INVALID_UTF8] = "invalid-utf8",
	[VERDICT_UNDECODABLE] = "undecodable",
	[VERDICT_LEGACY_7BIT] = "legacy-7bit",
	[VERDICT_RAW_8BIT_HEADER] = "raw-8bit-header",
	[VERDICT_NONSTANDARD_LABEL] = "nonstandard-label",
	[VERDICT_NOT_TEXT] = "not-text",
	[VERDICT_SKIPPED] = "skipped",
};

const char *verdict_name(enum verdict v)
{
	if ((size_t)v < ARRAY_LEN(verdict_names) && verdict_names[v] != NULL)
		return verdict_names[v];
	return "?";
}

static const struct { unsigned bit; const char *name; } action_names[] = {
	{ ACT_LABEL, "label" },
	{ ACT_RELABEL, "relabel" },
	{ ACT_TRANSCODE, "transcode" },
	{ ACT_ENCODE_HDR, "encode-header" },
	{ ACT_ENCODE_PARAM, "encode-param" },
	{ ACT_CTE, "cte" },
	{ ACT_MIMEVER, "mime-version" },
	{ ACT_CT_ADDED, "content-type-added" },
	{ ACT_CANNOT, "cannot-repair" },
	{ ACT_REPORT, "report-only" },
};

void actions_name(unsigned actions, char *dst, size_t cap)
{
	size_t i, len = 0;

	if (cap == 0)
		return;
	dst[0] = '\0';
	for (i = 0; i < ARRAY_LEN(action_names); i++) {
		size_t n;

		if (!(actions & action_names[i].bit))
			continue;
		n = strlen(action_names[i].name);
		if (len + n + 2 > cap)
			break;
		if (len > 0)
			dst[len++] = '+';
		memcpy(dst + len, action_names[i].name, n + 1);
		len += n;
	}
	if (len == 0 && cap > 4)
		memcpy(dst, "none", 5);
}

/* ---- edit list and report containers ---------------------------------------------- */

void edit_list_init(struct edit_list *el)
{
	memset(el, 0, sizeof(*el));
}

void edit_list_free(struct edit_list *el)
{
	size_t i;

	for (i = 0; i < el->n; i++) {
		free(el->v[i].bytes);
		free(el->v[i].hdr_value);
	}
	free(el->v);
	memset(el, 0, sizeof(*el));
}

struct edit *edit_list_add(struct edit_list *el, size_t start, size_t end)
{
	struct edit *e;

	if (el->n == el->cap) {
		el->cap = el->cap ? el->cap * 2 : 8;
		el->v = xreallocarray(el->v, el->cap, sizeof(*el->v));
	}
	e = &el->v[el->n++];
	memset(e, 0, sizeof(*e));
	e->start = start;
	e->end = end;
	e->kind = EDIT_BYTES;
	e->seq = el->n - 1;
	return e;
}

/* Stable order: by start, then zero-width insertions after a replacement that
 * ends there, then by creation order (so added fields keep the order in which
 * the planner made them). */
static int edit_cmp(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

bool edit_list_finalize(struct edit_list *el)
{
	size_t i;

	if (el->n < 2)
		return true;
	qsort(el->v, el->n, sizeof(*el->v), edit_cmp);
	for (i = 1; i < el->n; i++)
		if (el->v[i].start < el->v[i - 1].end)
			return false;
	return true;
}

bool edit_list_touches_body(const struct edit_list *el, size_t body_start)
{
	size_t i;

	for (i = 0; i < el->n; i++)
		if (el->v[i].end > body_start || el->v[i].start >= body_start)
			if (el->v[i].hdr_op == HDR_NONE)
				return true;
	return false;
}

void report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
}

void report_free(struct report *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

struct report_row *report_add(struct report *r)
{
	struct report_row *row;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->rows = xreallocarray(r->rows, r->cap, sizeof(*r->rows));
	}
	row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	return row;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Printable ASCII only: labels and names come from strangers. */
static void copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < cap; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[n] = '\0';
}

/* ---- reading fields back from the spool ------------------------------------------ */

static int read_range(struct plan *pl, size_t start, size_t end, struct buf *out)
{
	char chunk[4096];
	size_t off = start;

	buf_reset(out);
	while (off < end) {
		size_t want = end - off < sizeof(chunk) ? end - off : sizeof(chunk);
		ssize_t got = spool_read(pl->in->spool, off, chunk, want);

		if (got <= 0 || buf_append(out, chunk, (size_t)got) < 0) {
			pl->error = 1;
			return -1;
		}
		off += (size_t)got;
	}
	return 0;
}

static const char *part_eol(const struct plan *pl, unsigned part)
{
	return pl->m->parts[part].eol_crlf ? "\r\n" : "\n";
}

/* NUL or a CR not followed by LF: bytes we refuse to carry into a field we
 * write (a C-string header value would be cut; a bare CR is no line break). */
static bool has_unsafe_bytes(const char *p, size_t n)
{
	size_t i;

	if (memchr(p, '\0', n) != NULL)
		return true;
	for (i = 0; i < n; i++)
		if (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n'))
			return true;
	return false;
}

/* The original bytes of a field up to and including its colon ("Subject :"
 * stays as written), so a rewritten field and its milter value agree. */
static int field_prefix(struct plan *pl, const struct mime_header *h, struct buf *out)
{
	return read_range(pl, h->start, h->colon + 1, out);
}

/* Fields can be added to a header block only when a blank line ends it: a
 * field inserted before a non-header line, an orphan continuation line or the
 * end of input would absorb it or glue onto it. */
static bool can_add_fields(const struct plan *pl, unsigned part)
{
	const struct mime_part *p = &pl->m->parts[part];

	return p->has_blank_line && !(p->anomalies & (MIME_ANOM_BAD_HDR_LINE | MIME_ANOM_TRUNC_HDR));
}

/* ---- the decodability oracle ----------------------------------------------------- */

struct part_oracle {
	struct plan *pl;
	unsigned part;
	const struct text_analysis *ta;
	const char *bytes;		/* header text instead of a part, or NULL */
	size_t len;
	const struct charset_info *seen[8];
	bool answer[8];
	unsigned nseen;
};

static int discard_sink(void *arg, const char *data, size_t len)
{
	(void)arg; (void)data; (void)len;
	return 0;
}

struct reread {
	struct charset_stream *cs;
	int failed;
};

static void reread_sink(void *arg, const char *data, size_t len)
{
	struct reread *rr = arg;

	if (!rr->failed && charset_stream_feed(rr->cs, data, len) < 0)
		rr->failed = 1;
}

/* Decode the whole part again from the spool: only for multi-byte charsets on
 * parts larger than the analysis sample. */
static bool part_decodes_fully(struct plan *pl, unsigned part, const struct charset_info *cs)
{
	const struct mime_part *p = &pl->m->parts[part];
	struct cte_decoder dec;
	struct reread rr = { NULL, 0 };
	char chunk[64 * 1024];
	size_t off = p->body_start, bad;

	rr.cs = charset_stream_begin(pl->in->cv, cs, discard_sink, NULL);
	if (rr.cs == NULL)
		return false;
	cte_decoder_init(&dec, p->cte);
	while (off < p->body_end && !rr.failed) {
		size_t want = p->body_end - off < sizeof(chunk) ? p->body_end - off : sizeof(chunk);
		ssize_t got = spool_read(pl->in->spool, off, chunk, want);

		if (got <= 0) {
			pl->error = 1;
			rr.failed = 1;
			break;
		}
		cte_decoder_feed(&dec, chunk, (size_t)got, reread_sink, &rr);
		off += (size_t)got;
	}
	if (!rr.failed)
		cte_decoder_finish(&dec, reread_sink, &rr);
	return charset_stream_end(rr.cs, &bad) == 0 && !rr.failed;
}

static bool oracle_decodes(void *arg, const struct charset_info *cs)
{
	struct part_oracle *o = arg;
	const struct text_analysis *ta = o->ta;
	bool ok;
	size_t bad;
	unsigned i;

	if (cs == NULL)
		return false;
	for (i = 0; i < o->nseen; i++)
		if (o->seen[i] == cs)
			return o->answer[i];
	if (cs->props & CSP_SINGLE_BYTE)
		ok = text_analysis_sbcs_decodes(ta, cs);
	else if (strcmp(cs->mime_name, "utf-8") == 0 && o->bytes == NULL)
		ok = text_analysis_utf8_ok(ta);
	else if (o->bytes != NULL)
		ok = charset_decodes(o->pl->in->cv, cs, o->bytes, o->len, &bad);
	else if (ta->sample_complete)
		ok = charset_decodes(o->pl->in->cv, cs, (const char *)ta->sample, ta->sample_len, &bad);
	else
		ok = part_decodes_fully(o->pl, o->part, cs);
	if (o->nseen < ARRAY_LEN(o->seen)) {
		o->seen[o->nseen] = cs;
		o->answer[o->nseen++] = ok;
	}
	return ok;
}

/* ---- label judgement ------------------------------------------------------------- */

static bool same_charset(const struct charset_info *a, const struct charset_info *b)
{
	return a != NULL && b != NULL && (a == b || strcmp(a->mime_name, b->mime_name) == 0);
}

/*
 * A label names a known charset but not by a name receivers are sure to know:
 * Windows code page forms ("1252", "cp1251", "win-1250", "x-cp1252"), vendor
 * names (ks_c_5601-1987, x-sjis, ms_kanji...).  IANA names and their common
 * aliases (latin1, iso8859-1, utf8...) are accepted as they are, so correctly
 * labelled mail is never touched.
 */
static bool label_nonstandard(const char *label, const struct charset_info *cs)
{
	char low[64];
	size_t n = strlen(label);
	size_t i;
	bool digits = n > 0;

	if (!ascii_lower_copy(low, sizeof(low), label, n))
		return false;
	if (ascii_strcasecmp(low, cs->mime_name) == 0)
		return false;
	for (i = 0; i < n; i++)
		if (low[i] < '0' || low[i] > '9')
			digits = false;
	if (digits)
		return true;
	if (strncmp(low, "cp", 2) == 0 || strncmp(low, "win", 3) == 0 || strncmp(low, "x-cp", 4) == 0 ||
	    strncmp(low, "ms", 2) == 0 || strncmp(low, "ks_c_5601", 9) == 0 ||
	    strcmp(low, "x-sjis") == 0 || strcmp(low, "x-euc-jp") == 0 || strcmp(low, "x-gbk") == 0 ||
	    strcmp(low, "x-mac-roman") == 0 || strcmp(low, "ansi_x3.4-1968") == 0 ||
	    strcmp(low, "x-user-defined") == 0 || strcmp(low, "ksc5601") == 0 ||
	    strcmp(low, "sjis") == 0 || strcmp(low, "x-big5") == 0 || strcmp(low, "utf8") == 0 ||
	    strcmp(low, "x-utf8") == 0)
		return true;
	return false;
}

static const struct charset_info *escape_charset(const struct text_analysis *ta)
{
	if (ta->iso2022jp)
		return charset_lookup("iso-2022-jp");
	if (ta->iso2022kr)
		return charset_lookup("iso-2022-kr");
	if (ta->hz)
		return charset_lookup("hz-gb-2312");
	return NULL;
}

static bool part_is_attachment(const struct mime_part *p)
{
	return p->cd_header >= 0 && strcmp(p->cd.type, "attachment") == 0;
}

/* ---- phase 1: verdicts ------------------------------------------------------------ */

static enum verdict judge_text_part(struct plan *pl, unsigned i, struct part_oracle *o,
				    const struct charset_info **declared_out)
{
	const struct mime_part *p = &pl->m->parts[i];
	const struct text_analysis *ta = pl->in->analysis[i];
	const struct mparam *cp = mparams_get(&p->ct, "charset");
	const struct charset_info *declared = NULL;
	const struct charset_info *esc;
	const char *label = cp != NULL ? cp->value : NULL;

	if (label != NULL && label[0] != '\0' && !charset_is_placeholder(label))
		declared = charset_lookup(label);
	*declared_out = declared;
	esc = escape_charset(ta);
	/* Escape sequences alone prove nothing: only text that decodes under the
	 * escape-based charset is legacy 7-bit; anything else is plain ASCII. */
	if (!ta->has_8bit && esc != NULL && oracle_decodes(o, esc)) {
		if (declared != NULL && (declared->props & CSP_7BIT_STATEFUL) && oracle_decodes(o, declared))
			return VERDICT_OK;
		return VERDICT_LEGACY_7BIT;
	}
	if (!ta->has_8bit)
		return label != NULL ? VERDICT_OK : VERDICT_ASCII;
	if (label == NULL || label[0] == '\0')
		return VERDICT_MISSING;
	if (declared == NULL)
		return VERDICT_UNKNOWN_LABEL;
	if (same_charset(declared, pl->ascii))
		return VERDICT_ASCII_WITH_8BIT;
	if (same_charset(declared, pl->utf8))
		return text_analysis_utf8_ok(ta) ?
		    (label_nonstandard(label, declared) ? VERDICT_NONSTANDARD_LABEL : VERDICT_OK) :
		    VERDICT_INVALID_UTF8;
	if (same_charset(declared, pl->latin1) && ta->has_c1)
		return VERDICT_LATIN1_WITH_C1;
	if (!oracle_decodes(o, declared))
		return VERDICT_UNDECODABLE;
	if (label_nonstandard(label, declared))
		return VERDICT_NONSTANDARD_LABEL;
	return VERDICT_OK;
}

/* ---- phase 2: choices --------------------------------------------------------- */

static void choose_for_part(struct plan *pl, enum verdict v, const struct charset_info *declared,
			    struct part_oracle *o, struct report_row *row)
{
	const struct text_analysis *ta = o->ta;
	struct detect_result dr;

	if (v == VERDICT_NONSTANDARD_LABEL) {
		row->chosen = declared;
		row->confidence = 100;
		row->source = DETECT_DECLARED;
		snprintf(row->reason, sizeof(row->reason),
			 "label names %s by a non-standard name", declared->mime_name);
		return;
	}
	if (v == VERDICT_LATIN1_WITH_C1 || v == VERDICT_UNDECODABLE) {
		const struct charset_info *sup = charset_superset(declared, ta->has_c1);

		if (sup != NULL && !same_charset(sup, declared) && oracle_decodes(o, sup)) {
			row->chosen = sup;
			row->confidence = 95;
			row->source = DETECT_DECLARED;
			snprintf(row->reason, sizeof(row->reason),
				 "%s label on bytes it cannot hold; its superset %s decodes them",
				 declared->mime_name, sup->mime_name);
			return;
		}
	}
	detect_charset(ta, &pl->ctx, oracle_decodes, o, pl->in->cv, &dr);
	row->chosen = dr.charset;
	row->confidence = dr.confidence;
	row->source = dr.source;
	copy_str(row->reason, sizeof(row->reason), dr.reason);
	if (dr.charset != NULL && !oracle_decodes(o, dr.charset)) {
		/* the cascade's contract says this cannot happen; never act on it */
		row->chosen = NULL;
		snprintf(row->reason, sizeof(row->reason), "detector proposed %s, which does not decode",
			 dr.charset->mime_name);
	}
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
	if (pl->conf->mode == MODE_REPORT) {
		row->actions |= ACT_REPORT;
		return;
	}
	if (pl->conf->mode == MODE_TRANSCODE && !same_charset(row->chosen, pl->utf8) &&
	    !part_is_attachment(p) && !html_meta && charset_iconv_ok(row->chosen)) {
		pp->transcode = true;
		pp->label = pl->utf8;
		row->actions |= ACT_TRANSCODE;
		/* 8bit only when every decoded line fits SMTP's 998 bytes and no
		 * bare CR would reach the wire; otherwise quoted-printable */
		if (p->cte == CTE_BASE64)
			pp->new_cte = CTE_BASE64;
		else if (p->cte == CTE_QP || pl->conf->seven_bit_output || ta->max_decoded_line > 998 ||
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

	if (pp->transcode || encoded || pl->conf->mode == MODE_REPORT)
		return;
	if (p->max_line_len > 998 || (p->body_has_8bit && pl->conf->seven_bit_output)) {
		pp->reencode = true;
		pp->new_cte = CTE_QP;
		row->actions |= ACT_CTE;
	} else if (p->body_has_8bit && (p->cte == CTE_ABSENT || p->cte == CTE_7BIT)) {
		pp->new_cte = CTE_8BIT;
		row->actions |= ACT_CTE;
	}
}

/* ---- rewriting fields -------------------------------------------------------------- */

static unsigned header_occurrence(const struct plan *pl, unsigned hidx)
{
	const struct mime_header *h = &pl->m->headers[hidx];
	unsigned i, n = 0;

	for (i = 0; i <= hidx; i++) {
		const struct mime_header *x = &pl->m->headers[i];

		if (x->part == h->part && ascii_strcasecmp(x->name, h->name) == 0)
			n++;
	}
	return n;
}

/*
 * Replace header field hidx by nf: a whole field with its EOL, beginning with
 * the original bytes up to and including the colon.  A top-level field is
 * written as "Name:" + value, because that is all smfi_chgheader can say:
 * white space before the colon is dropped there so that the CLI and the
 * milter write the same bytes.  False when the field cannot be named exactly
 * (a name longer than our copy of it).
 */
static bool edit_replace_field(struct plan *pl, unsigned hidx, const struct buf *nf)
{
	const struct mime_header *h = &pl->m->headers[hidx];
	size_t prefix = h->colon - h->start + 1;
	size_t namelen = strlen(h->name), vlen, eol_len;
	struct edit *e;

	if (nf->len < prefix)
		return false;
	vlen = nf->len - prefix;
	while (vlen > 0 && (nf->data[prefix + vlen - 1] == '\n' || nf->data[prefix + vlen - 1] == '\r'))
		vlen--;
	eol_len = nf->len - prefix - vlen;
	if (h->part != 0) {
		e = edit_list_add(pl->el, h->start, h->end);
		e->bytes = xstrndup(nf->data, nf->len);
		e->len = nf->len;
		return true;
	}
	if (namelen + 1 >= sizeof(h->name))
		return false;
	e = edit_list_add(pl->el, h->start, h->end);
	e->len = namelen + 1 + vlen + eol_len;
	e->bytes = xmalloc(e->len + 1);
	memcpy(e->bytes, h->name, namelen);
	e->bytes[namelen] = ':';
	memcpy(e->bytes + namelen + 1, nf->data + prefix, vlen + eol_len);
	e->bytes[e->len] = '\0';
	e->hdr_op = HDR_CHANGE;
	copy_str(e->hdr_name, sizeof(e->hdr_name), h->name);
	e->hdr_occurrence = header_occurrence(pl, hidx);
	e->hdr_value = xstrndup(nf->data + prefix, vlen);
	return true;
}

/* Add a field "name: value" at the end of part's header block; false when
 * the block cannot take one safely (see can_add_fields). */
static bool edit_add_field(struct plan *pl, unsigned part, const char *name, const char *value)
{
	const struct mime_part *p = &pl->m->parts[part];
	const char *eol = part_eol(pl, part);
	struct buf b;
	struct edit *e;

	if (!can_add_fields(pl, part))
		return false;
	buf_init(&b, FIELD_MAX);
	if (buf_printf(&b, "%s: %s%s", name, value, eol) < 0) {
		buf_free(&b);
		return false;
	}
	e = edit_list_add(pl->el, p->hdr_end, p->hdr_end);
	e->len = b.len;
	e->bytes = buf_steal(&b, NULL);
	if (part == 0) {
		e->hdr_op = HDR_ADD;
		copy_str(e->hdr_name, sizeof(e->hdr_name), name);
		e->hdr_value = xmalloc(strlen(value) + 2);
		e->hdr_value[0] = ' ';
		memcpy(e->hdr_value + 1, value, strlen(value) + 1);
	}
	buf_free(&b);
	return true;
}

static bool param_is_file_name(const char *name);

/* Length of the last line of field bytes (up to, not including, the final EOL). */
static size_t last_line_len(const char *p, size_t len)
{
	size_t i = len;

	while (i > 0 && p[i - 1] != '\n')
		i--;
	return len - i;
}

/*
 * A rewritten parameter field must read back as meant: the charset we set is
 * the one a parser finds, no file name is left with raw 8-bit, and no other
 * parameter appeared or vanished.  Values with unbalanced comments or quotes
 * can swallow an appended parameter; re-parsing is the only sure test, and a
 * field that fails it is left alone.
 */
static bool rewrite_reads_back(const struct mime_header *h, const struct mparams *before,
			       const struct buf *nf, size_t voff, const struct charset_info *label,
			       bool encoded_names)
{
	struct mparams after;
	const struct mparam *cs;
	size_t end = nf->len, i, expect = before->nparam;
	bool ok = true;

	while (end > voff && (nf->data[end - 1] == '\n' || nf->data[end - 1] == '\r'))
		end--;
	mparams_parse(&after, nf->data + voff, end - voff, ascii_strcasecmp(h->name, "Content-Type") == 0);
	if (label != NULL) {
		cs = mparams_get(&after, "charset");
		ok = cs != NULL && ascii_strcasecmp(cs->value, label->mime_name) == 0;
		if (mparams_get(before, "charset") == NULL)
			expect++;
	}
	if (ok && after.nparam != expect)
		ok = false;
	for (i = 0; ok && encoded_names && i < after.nparam; i++)
		if (after.param[i].raw_8bit && param_is_file_name(after.param[i].name))
			ok = false;
	mparams_free(&after);
	return ok;
}

/*
 * Rewrite a Content-Type or Content-Disposition field: set the charset
 * parameter (label != NULL) and RFC 2231-encode raw 8-bit parameters
 * (param_cs != NULL).  Works on the exact field bytes; spans from mparams are
 * offsets into the value, which starts just after the colon.
 */
static int rewrite_param_field(struct plan *pl, unsigned hidx, const struct mparams *mp,
			       const struct charset_info *label, const struct charset_info *param_cs,
			       unsigned *actions)
{
	const struct mime_header *h = &pl->m->headers[hidx];
	const char *eol = part_eol(pl, h->part);
	struct buf field, nf, enc;
	size_t voff = h->colon + 1 - h->start;	/* value offset in field */
	size_t pos, i, body_len;
	const struct mparam *cs_param = label ? mparams_get(mp, "charset") : NULL;
	int rc = -1;

	/* A field the parser did not see whole (too long, too many parameters)
	 * cannot be rewritten safely: an appended charset might not be seen. */
	if (h->truncated || mp->nparam >= MPARAM_MAX || (mp->errors & MPARAM_ERR_LIMIT))
		return -1;
	buf_init(&field, FIELD_MAX);
	buf_init(&nf, FIELD_MAX);
	buf_init(&enc, FIELD_MAX);
	if (read_range(pl, h->start, h->end, &field) < 0)
		goto out;
	body_len = field.len - h->eol_len;	/* field without its final EOL */
	if (has_unsafe_bytes(field.data, body_len))
		goto out;
	pos = 0;
	/* Parameters are edited in span order; mparams keeps them in input order. */
	for (i = 0; i < mp->nparam; i++) {
		const struct mparam *prm = &mp->param[i];
		bool fix_charset = prm == cs_param;
		bool fix_8bit = param_cs != NULL && prm->raw_8bit && !prm->rfc2231 &&
		    param_is_file_name(prm->name);

		if (!fix_charset && !fix_8bit)
			continue;
		if (prm->split || voff + prm->span_start < pos || voff + prm->span_end > body_len)
			goto out;
		if (fix_charset && !prm->rfc2231) {
			size_t vs = voff + prm->value_start, ve = voff + prm->value_end;

			if (vs < pos || ve > body_len || vs > ve)
				goto out;
			if (buf_append(&nf, field.data + pos, vs - pos) < 0 ||
			    buf_printf(&nf, prm->quoted ? "\"%s\"" : "%s", label->mime_name) < 0)
				goto out;
			pos = ve;
			continue;
		}
		/* replace the whole "; name=value" span */
		if (buf_append(&nf, field.data + pos, voff + prm->span_start - pos) < 0)
			goto out;
		pos = voff + prm->span_end;
		if (fix_charset) {
			if (buf_printf(&nf, "; charset=%s", label->mime_name) < 0)
				goto out;
			continue;
		}
		buf_reset(&enc);
		if (rfc2231_encode_param(prm->name, prm->value, prm->value_len, param_cs, eol, &enc) < 0)
			goto out;
		if (buf_printf(&nf, ";%s ", eol) < 0 || buf_append(&nf, enc.data, enc.len) < 0)
			goto out;
		*actions |= ACT_ENCODE_PARAM;
	}
	if (label != NULL && cs_param == NULL) {
		/* append "; charset=X" after the last non-blank byte of the value */
		size_t end = body_len;

		while (end > pos && end > voff && (field.data[end - 1] == ' ' || field.data[end - 1] == '\t' ||
		       field.data[end - 1] == '\r' || field.data[end - 1] == '\n'))
			end--;
		if (buf_append(&nf, field.data + pos, end - pos) < 0)
			goto out;
		pos = end;
		if (end > 0 && field.data[end - 1] == ';') {
			if (buf_printf(&nf, " charset=%s", label->mime_name) < 0)
				goto out;
		} else if (last_line_len(nf.data, nf.len) + strlen(label->mime_name) + 10 > 78) {
			if (buf_printf(&nf, ";%s\tcharset=%s", eol, label->mime_name) < 0)
				goto out;
		} else if (buf_printf(&nf, "; charset=%s", label->mime_name) < 0) {
			goto out;
		}
	}
	if (buf_append(&nf, field.data + pos, field.len - pos) < 0)
		goto out;
	if (!rewrite_reads_back(h, mp, &nf, voff, label, param_cs != NULL))
		goto out;
	if ((nf.len != field.len || memcmp(nf.data, field.data, nf.len) != 0) &&
	    !edit_replace_field(pl, hidx, &nf))
		goto out;
	rc = 0;
out:
	buf_free(&field);
	buf_free(&nf);
	buf_free(&enc);
	return rc;
}

/* Only file names are ours to re-encode: a boundary must stay byte-identical
 * to its delimiter lines, and other parameters are not meant for people. */
static bool param_is_file_name(const char *name)
{
	return strcmp(name, "name") == 0 || strcmp(name, "filename") == 0;
}

static void set_cte_field(struct plan *pl, unsigned part, enum mime_cte cte)
{
	const struct mime_part *p = &pl->m->parts[part];
	const char *name = mime_cte_name(cte);

	if (p->cte_header >= 0) {
		const struct mime_header *h = &pl->m->headers[p->cte_header];
		struct buf nf;

		buf_init(&nf, FIELD_MAX);
		if (field_prefix(pl, h, &nf) == 0 && buf_printf(&nf, " %s%s", name, part_eol(pl, part)) == 0)
			(void)edit_replace_field(pl, (unsigned)p->cte_header, &nf);
		buf_free(&nf);
	} else {
		(void)edit_add_field(pl, part, "Content-Transfer-Encoding", name);
	}
	if (part == 0)
		pl->mime_edit = true;
}

/* Emit all field and body edits of one part, combining changes per field. */
static void emit_part_edits(struct plan *pl, unsigned i)
{
	const struct mime_part *p = &pl->m->parts[i];
	struct part_plan *pp = &pl->pp[i];
	struct report_row *row = pp->row >= 0 ? &pl->rep->rows[pp->row] : NULL;
	unsigned dummy = 0, *acts = row ? &row->actions : &dummy;

	if (pp->label != NULL || pp->param_cs != NULL) {
		if (p->ct_header >= 0) {
			if (p->ct_valid) {
				if (rewrite_param_field(pl, (unsigned)p->ct_header, &p->ct, pp->label,
							pp->param_cs, acts) < 0 && row != NULL) {
					row->actions = (row->actions & ~(ACT_LABEL | ACT_RELABEL | ACT_TRANSCODE |
						ACT_CTE | ACT_ENCODE_PARAM)) | ACT_CANNOT;
					copy_str(row->reason, sizeof(row->reason),
						 "Content-Type field too unusual to rewrite safely: left alone");
					return;
				}
			} else if (pp->label != NULL) {
				if (row != NULL) {
					row->actions = (row->actions & ~(ACT_LABEL | ACT_RELABEL | ACT_TRANSCODE |
						ACT_CTE)) | ACT_CANNOT;
					copy_str(row->reason, sizeof(row->reason),
						 "unparsable Content-Type: left alone");
				}
				return;
			}
		} else if (pp->label != NULL) {
			char value[96];

			snprintf(value, sizeof(value), "text/plain; charset=%s", pp->label->mime_name);
			if (!edit_add_field(pl, i, "Content-Type", value)) {
				if (row != NULL) {
					row->actions = (row->actions & ~(ACT_LABEL | ACT_RELABEL | ACT_TRANSCODE |
						ACT_CTE)) | ACT_CANNOT;
					copy_str(row->reason, sizeof(row->reason),
						 "no room for a Content-Type field: left alone");
				}
				return;
			}
			*acts = (*acts & ~ACT_RELABEL) | ACT_LABEL | ACT_CT_ADDED;
		}
		if (pp->param_cs != NULL && p->cd_header >= 0)
			(void)rewrite_param_field(pl, (unsigned)p->cd_header, &p->cd, NULL, pp->param_cs, acts);
		if (i == 0 && pp->label != NULL)
			pl->mime_edit = true;
	}
	if (pp->new_cte != CTE_ABSENT)
		set_cte_field(pl, i, pp->new_cte);
	if (pp->transcode || pp->reencode) {
		struct edit *e = edit_list_add(pl->el, p->body_start, p->body_end);

		e->kind = EDIT_TRANSCODE;
		e->from_cs = pp->transcode ? row->chosen : NULL;
		e->cte_from = p->cte;
		e->cte_to = pp->new_cte != CTE_ABSENT ? pp->new_cte : p->cte;
		e->crlf = p->eol_crlf;
	}
}

/* ---- headers ---------------------------------------------------------------------- */

static bool header_encodable(const char *name)
{
	static const char *const names[] = {
		"subject", "from", "to", "cc", "bcc", "reply-to", "sender", "comments", "keywords",
		"organization", "content-description", "resent-from", "resent-to", "resent-cc",
		"resent-sender", "disposition-notification-to", "return-receipt-to", "thread-topic",
		"summary", "x-mailer", "user-agent",
	};
	size_t i;

	if (ascii_strncasecmp(name, "x-", 2) == 0)
		return true;
	for (i = 0; i < ARRAY_LEN(names); i++)
		if (ascii_strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

/* The charset of the body text nearest to part `part`: its own (for a text
 * part), else that of the first text part below or beside it. */
static const struct charset_info *body_charset_near(const struct plan *pl, unsigned part)
{
	unsigned i;

	for (i = part; i < pl->m->nparts; i++) {
		const struct part_plan *pp = &pl->pp[i];

		if (pp->trusted != NULL)
			return pp->trusted;
		if (pp->row >= 0 && pl->rep->rows[pp->row].chosen != NULL)
			return pl->rep->rows[pp->row].chosen;
	}
	for (i = 0; i < part && i < pl->m->nparts; i++) {
		const struct part_plan *pp = &pl->pp[i];

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
	struct text_analysis ta;
	struct part_oracle o;
	const struct charset_info *near;
	struct detect_result dr;
	const struct charset_info *chosen = NULL;

	memset(&o, 0, sizeof(o));
	o.pl = pl;
	o.bytes = bytes;
	o.len = len;
	text_analysis_of_bytes(&ta, bytes, len);
	o.ta = &ta;
	if (pl->ctx.rule != NULL && oracle_decodes(&o, pl->ctx.rule)) {
		chosen = pl->ctx.rule;
		row->confidence = 100;
		row->source = DETECT_RULE;
		snprintf(row->reason, sizeof(row->reason), "source rule: %s",
			 pl->ctx.rule_name ? pl->ctx.rule_name : chosen->mime_name);
	} else if (text_analysis_utf8_ok(&ta)) {
		chosen = pl->utf8;
		row->confidence = 99;
		row->source = DETECT_UTF8;
		copy_str(row->reason, sizeof(row->reason), "valid UTF-8");
	} else if ((near = body_charset_near(pl, part)) != NULL && oracle_decodes(&o, near) &&
		   !same_charset(near, pl->utf8)) {
		chosen = near;
		row->confidence = 90;
		row->source = DETECT_CONTEXT;
		snprintf(row->reason, sizeof(row->reason), "same charset as the body text (%s)",
			 near->mime_name);
	} else {
		detect_charset(&ta, &pl->ctx, oracle_decodes, &o, pl->in->cv, &dr);
		chosen = dr.charset;
		row->confidence = dr.confidence;
		row->source = dr.source;
		copy_str(row->reason, sizeof(row->reason), dr.reason);
		if (chosen != NULL && !oracle_decodes(&o, chosen))
			chosen = NULL;
	}
	text_analysis_free(&ta);
	return chosen;
}

static bool in_message_global(const struct plan *pl, unsigned part)
{
	int p = pl->m->parts[part].parent;

	return p >= 0 && strcmp(pl->m->parts[p].type, "message") == 0 &&
	    strcmp(pl->m->parts[p].subtype, "global") == 0;
}

static bool skip_signed(const struct plan *pl, unsigned part)
{
	return !pl->conf->repair_signed && mime_part_in_signed(pl->m, part);
}

/* Raw 8-bit between '<' and '>' of an address header: no charset can make
 * that an encoded-word, and the test needs none ('<' and '>' are never trail
 * bytes of the multi-byte charsets we know), so the verdict cannot depend on
 * which charset the rest of the message suggests. */
static bool eight_bit_in_angle_addr(const char *v, size_t n)
{
	size_t i;
	bool in_angle = false;

	for (i = 0; i < n; i++) {
		if (v[i] == '<')
			in_angle = true;
		else if (v[i] == '>')
			in_angle = false;
		else if (in_angle && (unsigned char)v[i] >= 0x80)
			return true;
	}
	return false;
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
	cs = escape_charset(&ta);
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
	if (!ok || (rfc2047_kind_of(h->name) == RFC2047_ADDRESS && eight_bit_in_angle_addr(text.data, text.len))) {
		row->actions |= ACT_CANNOT;
		copy_str(row->reason, sizeof(row->reason), !ok ?
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
				     h->colon + 1 - h->start, part_eol(pl, h->part), &enc) == 0 &&
	    !bytes_have_8bit(enc.data, enc.len) && enc.len > 0 && field_prefix(pl, h, &nf) == 0 &&
	    buf_append(&nf, enc.data, enc.len) == 0 && buf_puts(&nf, part_eol(pl, h->part)) == 0 &&
	    edit_replace_field(pl, hidx, &nf)) {
		row->actions |= ACT_ENCODE_HDR;
		if (target != cs)
			row->actions |= ACT_TRANSCODE;
	} else {
		row->actions |= ACT_CANNOT;
		copy_str(row->reason, sizeof(row->reason), "could not encode the header: left alone");
	}
	buf_free(&text);
	buf_free(&nf);
	buf_free(&enc);
}

static void plan_header(struct plan *pl, unsigned hidx)
{
	const struct mime_header *h = &pl->m->headers[hidx];
	struct report_row *row;
	const struct charset_info *cs, *esc = header_escape_charset(h);
	struct buf nf, enc;

	if (!h->has_8bit && esc == NULL)
		return;
	if (ascii_strcasecmp(h->name, "content-type") == 0 ||
	    ascii_strcasecmp(h->name, "content-disposition") == 0)
		return;		/* parameters: see plan_params */
	if (esc == NULL && (pl->in->smtputf8 || in_message_global(pl, h->part)) &&
	    utf8_valid(h->value, h->value_len))
		return;		/* RFC 6532: raw UTF-8 is legal here */
	row = report_add(pl->rep);
	snprintf(row->id, sizeof(row->id), "%s", pl->m->parts[h->part].id);
	row->is_header = true;
	copy_printable(row->content_type, sizeof(row->content_type), h->name, strlen(h->name));
	row->verdict = VERDICT_RAW_8BIT_HEADER;
	pl->any_problem = true;
	if (skip_signed(pl, h->part)) {
		row->verdict = VERDICT_SKIPPED;
		copy_str(row->reason, sizeof(row->reason), "inside signed content: left alone");
		return;
	}
	if (!header_encodable(h->name) || h->truncated || has_unsafe_bytes(h->value, h->value_len)) {
		row->actions |= ACT_CANNOT;
		copy_str(row->reason, sizeof(row->reason), h->truncated ?
			 "header too long to rewrite safely: left alone" :
			 !header_encodable(h->name) ?
			 "8-bit in a structured header that encoded-words may not appear in: left alone" :
			 "NUL or bare CR in the header: left alone");
		return;
	}
	if (esc != NULL) {
		plan_header_escapes(pl, hidx, esc, row);
		return;
	}
	if (rfc2047_kind_of(h->name) == RFC2047_ADDRESS && eight_bit_in_angle_addr(h->value, h->value_len)) {
		row->actions |= ACT_CANNOT;
		copy_str(row->reason, sizeof(row->reason),
			 "8-bit inside an address, where encoded-words are not allowed: left alone");
		return;
	}
	cs = choose_for_bytes(pl, h->part, h->value, h->value_len, row);
	row->chosen = cs;
	if (cs == NULL) {
		row->actions |= ACT_CANNOT;
		return;
	}
	if (pl->conf->mode == MODE_REPORT) {
		row->actions |= ACT_REPORT;
		return;
	}
	buf_init(&nf, FIELD_MAX);
	buf_init(&enc, FIELD_MAX);
	if (rfc2047_encode_header(h->value, h->value_len, cs, rfc2047_kind_of(h->name),
				  h->colon + 1 - h->start, part_eol(pl, h->part), &enc) == 0 &&
	    bytes_have_8bit(enc.data, enc.len)) {
		/* 8-bit where no encoded-word may stand (an address, a quoted
		 * local part): a half-encoded field would be no repair */
		row->actions |= ACT_CANNOT;
		copy_str(row->reason, sizeof(row->reason),
			 "8-bit inside an address, where encoded-words are not allowed: left alone");
	} else if (enc.len > 0 && field_prefix(pl, h, &nf) == 0 &&
		   buf_append(&nf, enc.data, enc.len) == 0 && buf_puts(&nf, part_eol(pl, h->part)) == 0 &&
		   edit_replace_field(pl, hidx, &nf)) {
		row->actions |= ACT_ENCODE_HDR;
	} else {
		row->actions |= ACT_CANNOT;
		copy_str(row->reason, sizeof(row->reason), "could not encode the header: left alone");
	}
	buf_free(&nf);
	buf_free(&enc);
}

/* Raw 8-bit name/filename parameters of part i: choose their charset. */
static void plan_params(struct plan *pl, unsigned i)
{
	const struct mime_part *p = &pl->m->parts[i];
	const struct mparams *lists[2] = { &p->ct, &p->cd };
	int hidx[2] = { p->ct_header, p->cd_header };
	struct report_row *row;
	const struct mparam *bad = NULL;
	size_t k, j;

	for (k = 0; k < 2 && bad == NULL; k++) {
		if (hidx[k] < 0)
			continue;
		for (j = 0; j < lists[k]->nparam; j++)
			if (lists[k]->param[j].raw_8bit && param_is_file_name(lists[k]->param[j].name)) {
				bad = &lists[k]->param[j];
				break;
			}
	}
	if (bad == NULL)
		return;
	row = report_add(pl->rep);
	copy_str(row->id, sizeof(row->id), p->id);
	row->is_header = true;
	snprintf(row->content_type, sizeof(row->content_type), "%s parameter", bad->name);
	row->verdict = VERDICT_RAW_8BIT_HEADER;
	pl->any_problem = true;
	if (skip_signed(pl, i)) {
		row->verdict = VERDICT_SKIPPED;
		copy_str(row->reason, sizeof(row->reason), "inside signed content: left alone");
		return;
	}
	row->chosen = choose_for_bytes(pl, i, bad->value, bad->value_len, row);
	if (row->chosen == NULL) {
		row->actions |= ACT_CANNOT;
		return;
	}
	if (pl->conf->mode == MODE_REPORT) {
		row->actions |= ACT_REPORT;
		return;
	}
	pl->pp[i].param_cs = row->chosen;
	row->actions |= ACT_ENCODE_PARAM;
}

/* ---- the whole message ------------------------------------------------------------- */

static void add_part_row(struct plan *pl, unsigned i, struct report_row **rowp)
{
	const struct mime_part *p = &pl->m->parts[i];
	const struct mparam *cp = mparams_get(&p->ct, "charset");
	struct report_row *row = report_add(pl->rep);

	pl->pp[i].row = (int)(pl->rep->n - 1);
	copy_str(row->id, sizeof(row->id), p->id);
	snprintf(row->content_type, sizeof(row->content_type), "%s/%s", p->type, p->subtype);
	if (cp != NULL)
		copy_printable(row->declared, sizeof(row->declared), cp->value, cp->value_len);
	*rowp = row;
}

/* Context for the cascade: labels that other parts declared and that hold. */
static void build_context(struct plan *pl, const struct rule_match *rule)
{
	unsigned i;

	pl->ctx.site_default = pl->conf->default_charset;
	pl->ctx.sender_tld = pl->in->sender_tld;
	pl->ctx.priors = pl->in->priors;
	pl->ctx.n_priors = pl->in->n_priors;
	if (rule != NULL) {
		pl->ctx.rule = rule->charset;
		pl->ctx.rule_name = rule->description;
	}
	for (i = 0; i < pl->m->nparts && pl->ctx.n_message_charsets < ARRAY_LEN(pl->ctx.message_charsets); i++) {
		const struct charset_info *t = pl->pp[i].trusted;
		size_t k;
		bool dup = false;

		if (t == NULL || same_charset(t, pl->utf8) || same_charset(t, pl->ascii))
			continue;
		for (k = 0; k < pl->ctx.n_message_charsets; k++)
			dup |= same_charset(pl->ctx.message_charsets[k], t);
		if (!dup)
			pl->ctx.message_charsets[pl->ctx.n_message_charsets++] = t;
	}
}

static const char *message_skip_reason(const struct plan *pl)
{
	const struct mime_message *m = pl->m;
	unsigned fatal = MIME_ANOM_TOO_BIG | MIME_ANOM_DEPTH | MIME_ANOM_PARTS | MIME_ANOM_HDR_COUNT |
	    MIME_ANOM_TRUNC_HDR;
	unsigned i;

	if (m->anomalies & MIME_ANOM_TOO_BIG)
		return "message larger than MaxMessageSize: passed untouched";
	if (m->anomalies & fatal)
		return "MIME structure beyond the configured limits: passed untouched";
	if (pl->conf->repair_signed)
		return NULL;
	for (i = 0; i < m->nheaders && m->headers[i].part == 0; i++)
		if (ascii_strcasecmp(m->headers[i].name, "DKIM-Signature") == 0)
			return "DKIM-signed message: passed untouched (SignedMessages skip)";
	if (m->nparts > 0 && mime_part_in_signed(m, 0))
		return "signed message: passed untouched (SignedMessages skip)";
	return NULL;
}

void repair_report_untouched(const struct mime_message *m, struct report *rep, const char *why)
{
	unsigned i;

	rep->passed_untouched = true;
	rep->message_anomalies = m->anomalies;
	copy_str(rep->note, sizeof(rep->note), why);
	for (i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];
		const struct mparam *cp = mparams_get(&p->ct, "charset");
		struct report_row *row = report_add(rep);

		copy_str(row->id, sizeof(row->id), p->id);
		snprintf(row->content_type, sizeof(row->content_type), "%s/%s", p->type, p->subtype);
		if (cp != NULL)
			copy_printable(row->declared, sizeof(row->declared), cp->value, cp->value_len);
		if (p->is_leaf && strcmp(p->type, "text") == 0) {
			row->verdict = VERDICT_SKIPPED;
			copy_str(row->reason, sizeof(row->reason), why);
		} else {
			row->verdict = VERDICT_NOT_TEXT;
		}
	}
}

int repair_plan(const struct repair_input *in, struct edit_list *el, struct report *rep)
{
	struct plan pl;
	const struct mime_message *m = in->msg;
	const char *skip;
	unsigned i;
	size_t edits_before = el->n;

	memset(&pl, 0, sizeof(pl));
	pl.in = in;
	pl.m = m;
	pl.conf = in->conf;
	pl.el = el;
	pl.rep = rep;
	pl.utf8 = charset_lookup("utf-8");
	pl.ascii = charset_lookup("us-ascii");
	pl.latin1 = charset_lookup("iso-8859-1");
	rep->message_anomalies = m->anomalies;
	if (m->nparts == 0)
		return 0;
	skip = message_skip_reason(&pl);
	if (skip != NULL) {
		rep->signed_message = strstr(skip, "signed") != NULL;
		repair_report_untouched(m, rep, skip);
		return 0;
	}
	pl.pp = xcalloc(m->nparts, sizeof(*pl.pp));
	for (i = 0; i < m->nparts; i++)
		pl.pp[i].row = -1;

	/* phase 1: verdicts on every part */
	enum verdict *verdicts = xcalloc(m->nparts, sizeof(*verdicts));
	const struct charset_info **declared = xcalloc(m->nparts, sizeof(*declared));
	struct part_oracle *oracles = xcalloc(m->nparts, sizeof(*oracles));

	for (i = 0; i < m->nparts && !pl.error; i++) {
		const struct mime_part *p = &m->parts[i];
		struct report_row *row;

		add_part_row(&pl, i, &row);
		if (!p->is_leaf || strcmp(p->type, "text") != 0) {
			row->verdict = verdicts[i] = VERDICT_NOT_TEXT;
			continue;
		}
		if (in->analysis[i] == NULL || skip_signed(&pl, i) || in->analysis[i]->has_nul ||
		    (p->anomalies & (MIME_ANOM_BAD_HDR_LINE | MIME_ANOM_TRUNC_HDR))) {
			row->verdict = verdicts[i] = VERDICT_SKIPPED;
			copy_str(row->reason, sizeof(row->reason), in->analysis[i] == NULL ?
				 "not analysed (limits): left alone" : in->analysis[i]->has_nul ?
				 "NUL bytes: not text, left alone" : skip_signed(&pl, i) ?
				 "inside signed content: left alone" :
				 "header block not ended by a blank line: left alone");
			continue;
		}
		oracles[i].pl = &pl;
		oracles[i].part = i;
		oracles[i].ta = in->analysis[i];
		row->verdict = verdicts[i] = judge_text_part(&pl, i, &oracles[i], &declared[i]);
		if (verdicts[i] == VERDICT_OK && in->analysis[i]->has_8bit)
			pl.pp[i].trusted = declared[i];
		if (verdicts[i] == VERDICT_OK || verdicts[i] == VERDICT_ASCII) {
			row->chosen = declared[i];
			row->confidence = 100;
			copy_str(row->reason, sizeof(row->reason), verdicts[i] == VERDICT_ASCII ?
				 "plain ASCII: no label needed" : "label present and the text decodes");
		}
	}
	build_context(&pl, in->rule);

	/* phase 2: choices and edits for broken parts */
	for (i = 0; i < m->nparts && !pl.error; i++) {
		struct report_row *row = pl.pp[i].row >= 0 ? &rep->rows[pl.pp[i].row] : NULL;

		switch (verdicts[i]) {
		case VERDICT_OK:
		case VERDICT_ASCII:
			/* the label is right, but a line over 998 bytes breaks RFC 5322
			 * transport (RFC 5321 4.5.3.1.6): quoted-printable keeps the text */
			if (m->parts[i].max_line_len > 998 && pl.conf->mode != MODE_REPORT) {
				plan_cte(&pl, i, row);
				if (pl.pp[i].reencode) {
					pl.any_problem = true;
					copy_str(row->reason, sizeof(row->reason),
						 "label right; line over 998 bytes re-encoded as quoted-printable");
				}
			}
			break;
		case VERDICT_NOT_TEXT:
		case VERDICT_SKIPPED:
			break;
		default:
			choose_for_part(&pl, verdicts[i], declared[i], &oracles[i], row);
			plan_text_action(&pl, i, row);
			if (row->chosen != NULL)
				plan_cte(&pl, i, row);
			break;
		}
	}
	for (i = 0; i < m->nparts && !pl.error; i++)
		if (verdicts[i] != VERDICT_SKIPPED)
			plan_params(&pl, i);
	for (i = 0; i < m->nparts && !pl.error; i++)
		emit_part_edits(&pl, i);
	for (i = 0; i < m->nheaders && !pl.error; i++)
		plan_header(&pl, i);

	if (!pl.error && el->n > edits_before && pl.mime_edit && m->parts[0].mimever_header < 0 &&
	    edit_add_field(&pl, 0, "MIME-Version", "1.0"))
		rep->rows[0].actions |= ACT_MIMEVER;
	/* Report mode writes only the audit header, once: a message that already
	 * carries ours (a second pass, a second MTA hop) is left as it is. */
	if (!pl.error && pl.conf->audit_header != NULL &&
	    (el->n > edits_before || (pl.conf->mode == MODE_REPORT && pl.any_problem &&
				      mime_part_header(m, 0, pl.conf->audit_header, 0) == NULL))) {
		struct buf audit;

		buf_init(&audit, 4096);
		report_format_audit(rep, part_eol(&pl, 0), &audit);
		(void)edit_add_field(&pl, 0, pl.conf->audit_header,
				     buf_cstr(&audit) + (audit.len > 0 && audit.data[0] == ' '));
		buf_free(&audit);
	}
	free(verdicts);
	free(declared);
	free(oracles);
	free(pl.pp);
	if (pl.error)
		return -1;
	if (!edit_list_finalize(el)) {
		/* overlapping edits would corrupt the message: refuse them all */
		while (el->n > edits_before) {
			el->n--;
			free(el->v[el->n].bytes);
			free(el->v[el->n].hdr_value);
		}
		rep->passed_untouched = true;
		copy_str(rep->note, sizeof(rep->note), "internal: conflicting edits, passed untouched");
	}
	return 0;
}
