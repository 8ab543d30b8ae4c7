/*
 * fields.c -- rewriting header fields into edits.  See fields.h.
 *
 * Every field is read back from the spool as it was written, so a rewrite
 * changes only the span that needs it; the scanner's copy of a value is
 * unfolded and may be truncated, so it is not used for writing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "rfc2047.h"
#include "fields.h"

/* ---- reading fields back from the spool ------------------------------------------ */

static int field_read(struct field_writer *fw, size_t start, size_t end, struct buf *out)
{
	char chunk[4096];
	size_t off = start;

	buf_reset(out);
	while (off < end) {
		size_t want = end - off < sizeof(chunk) ? end - off : sizeof(chunk);
		ssize_t got = spool_read(fw->spool, off, chunk, want);

		if (got <= 0 || buf_append(out, chunk, (size_t)got) < 0) {
			fw->error = 1;
			return -1;
		}
		off += (size_t)got;
	}
	return 0;
}

/*
 * The field's bytes from start to `upto` (its colon + 1, or its end) into
 * out.  The scanner's copy has them when it holds the field whole and the
 * name as written runs up to the colon: name, ':', value (folding kept),
 * final line end.  Only a truncated field, a name cut in the copy or white
 * space before the colon ("Subject :") sends us back to the spool.
 */
static int field_bytes(struct field_writer *fw, const struct mime_header *h, size_t upto, struct buf *out)
{
	size_t name_len = strlen(h->name);

	if (h->truncated || name_len != h->colon - h->start || name_len + 1 >= sizeof(h->name))
		return field_read(fw, h->start, upto, out);
	buf_reset(out);
	if (buf_append(out, h->name, name_len) < 0 || buf_putc(out, ':') < 0 ||
	    (upto == h->end && (buf_append(out, h->value, h->value_len) < 0 ||
				buf_append(out, h->eol_len == 2 ? "\r\n" : "\n", h->eol_len) < 0))) {
		fw->error = 1;
		return -1;
	}
#ifdef CPM_FUZZ_CHECKS
	{	/* the fuzzer's proof that the copy and the spool agree */
		struct buf orig;

		buf_init(&orig, out->max);
		if (field_read(fw, h->start, upto, &orig) == 0 &&
		    (orig.len != out->len || memcmp(orig.data, out->data, out->len) != 0))
			abort();
		buf_free(&orig);
	}
#endif
	return 0;
}

const char *fields_part_eol(const struct mime_message *m, unsigned part)
{
	return m->parts[part].eol_crlf ? "\r\n" : "\n";
}

/* NUL or a CR not followed by LF: bytes we refuse to carry into a field we
 * write (a C-string header value would be cut; a bare CR is no line break). */
bool fields_unsafe_bytes(const char *p, size_t n)
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
int fields_prefix(struct field_writer *fw, const struct mime_header *h, struct buf *out)
{
	return field_bytes(fw, h, h->colon + 1, out);
}

/* Fields can be added to a header block only when a blank line ends it: a
 * field inserted before a non-header line, an orphan continuation line or the
 * end of input would absorb it or glue onto it. */
static bool can_add_fields(const struct mime_message *m, unsigned part)
{
	const struct mime_part *p = &m->parts[part];

	return p->has_blank_line && !(p->anomalies & (MIME_ANOM_BAD_HDR_LINE | MIME_ANOM_TRUNC_HDR));
}

/* ---- rewriting fields -------------------------------------------------------------- */

static unsigned header_occurrence(const struct mime_message *m, unsigned hidx)
{
	const struct mime_header *h = &m->headers[hidx];
	unsigned i, n = 0;

	for (i = 0; i <= hidx; i++) {
		const struct mime_header *x = &m->headers[i];

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
bool fields_replace(struct field_writer *fw, unsigned hidx, const struct buf *nf)
{
	const struct mime_header *h = &fw->m->headers[hidx];
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
		e = edit_list_add(fw->el, h->start, h->end);
		e->bytes = xstrndup(nf->data, nf->len);
		e->len = nf->len;
		return true;
	}
	if (namelen + 1 >= sizeof(h->name))
		return false;
	e = edit_list_add(fw->el, h->start, h->end);
	e->len = namelen + 1 + vlen + eol_len;
	e->bytes = xmalloc(e->len + 1);
	memcpy(e->bytes, h->name, namelen);
	e->bytes[namelen] = ':';
	memcpy(e->bytes + namelen + 1, nf->data + prefix, vlen + eol_len);
	e->bytes[e->len] = '\0';
	e->hdr_op = HDR_CHANGE;
	str_copy(e->hdr_name, sizeof(e->hdr_name), h->name);
	e->hdr_occurrence = header_occurrence(fw->m, hidx);
	e->hdr_value = xstrndup(nf->data + prefix, vlen);
	return true;
}

/* Add a field "name: value" at the end of part's header block; false when
 * the block cannot take one safely (see can_add_fields). */
bool fields_add(struct field_writer *fw, unsigned part, const char *name, const char *value)
{
	const struct mime_part *p = &fw->m->parts[part];
	const char *eol = fields_part_eol(fw->m, part);
	struct buf b;
	struct edit *e;

	if (!can_add_fields(fw->m, part))
		return false;
	buf_init(&b, fw->limit);
	if (buf_printf(&b, "%s: %s%s", name, value, eol) < 0) {
		buf_free(&b);
		return false;
	}
	e = edit_list_add(fw->el, p->hdr_end, p->hdr_end);
	e->len = b.len;
	e->bytes = buf_steal(&b, NULL);
	if (part == 0) {
		e->hdr_op = HDR_ADD;
		str_copy(e->hdr_name, sizeof(e->hdr_name), name);
		e->hdr_value = xmalloc(strlen(value) + 2);
		e->hdr_value[0] = ' ';
		memcpy(e->hdr_value + 1, value, strlen(value) + 1);
	}
	buf_free(&b);
	return true;
}

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
		if (after.param[i].raw_8bit && fields_param_is_file_name(after.param[i].name))
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
/* One parameter field being rewritten: the original bytes and the new ones. */
struct param_rewrite {
	const struct buf *field;	/* the original field, with its EOL */
	struct buf *nf;			/* the new field so far */
	size_t voff;			/* offset of the value in field */
	size_t body_len;		/* field length without its final EOL */
	size_t pos;			/* original bytes before pos are in nf */
	const char *eol;
};

/* Rewrite one parameter: its charset value (fix_charset) or its raw 8-bit
 * file name as RFC 2231 (otherwise).  -1 when its span cannot be edited. */
static int rewrite_one_param(struct param_rewrite *rw, const struct mparam *prm, bool fix_charset,
			     const struct charset_info *label, const struct charset_info *param_cs)
{
	const char *data = rw->field->data;
	struct buf enc;
	int rc;

	if (prm->split || rw->voff + prm->span_start < rw->pos || rw->voff + prm->span_end > rw->body_len)
		return -1;
	if (fix_charset && !prm->rfc2231) {
		size_t vs = rw->voff + prm->value_start, ve = rw->voff + prm->value_end;

		if (vs < rw->pos || ve > rw->body_len || vs > ve)
			return -1;
		if (buf_append(rw->nf, data + rw->pos, vs - rw->pos) < 0 ||
		    buf_printf(rw->nf, prm->quoted ? "\"%s\"" : "%s", label->mime_name) < 0)
			return -1;
		rw->pos = ve;
		return 0;
	}
	/* replace the whole "; name=value" span */
	if (buf_append(rw->nf, data + rw->pos, rw->voff + prm->span_start - rw->pos) < 0)
		return -1;
	rw->pos = rw->voff + prm->span_end;
	if (fix_charset)
		return buf_printf(rw->nf, "; charset=%s", label->mime_name) < 0 ? -1 : 0;
	buf_init(&enc, rw->nf->max);
	rc = rfc2231_encode_param(prm->name, prm->value, prm->value_len, param_cs, rw->eol, &enc);
	if (rc == 0 && (buf_printf(rw->nf, ";%s ", rw->eol) < 0 || buf_append(rw->nf, enc.data, enc.len) < 0))
		rc = -1;
	buf_free(&enc);
	return rc < 0 ? -1 : 0;
}

/* Append "; charset=X" after the last non-blank byte of the value. */
static int append_charset(struct param_rewrite *rw, const struct charset_info *label)
{
	const char *data = rw->field->data;
	size_t end = rw->body_len;

	while (end > rw->pos && end > rw->voff && (data[end - 1] == ' ' || data[end - 1] == '\t' ||
	       data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	if (buf_append(rw->nf, data + rw->pos, end - rw->pos) < 0)
		return -1;
	rw->pos = end;
	if (end > 0 && data[end - 1] == ';')
		return buf_printf(rw->nf, " charset=%s", label->mime_name) < 0 ? -1 : 0;
	if (last_line_len(rw->nf->data, rw->nf->len) + strlen(label->mime_name) + 10 > 78)
		return buf_printf(rw->nf, ";%s\tcharset=%s", rw->eol, label->mime_name) < 0 ? -1 : 0;
	return buf_printf(rw->nf, "; charset=%s", label->mime_name) < 0 ? -1 : 0;
}

/* The edits of fields_rewrite_params, into rw->nf. */
static int rewrite_params(struct param_rewrite *rw, const struct mparams *mp, const struct charset_info *label,
			  const struct charset_info *param_cs, bool *param_encoded)
{
	const struct mparam *cs_param = label ? mparams_get(mp, "charset") : NULL;
	size_t i;

	/* Parameters are edited in span order; mparams keeps them in input order. */
	for (i = 0; i < mp->nparam; i++) {
		const struct mparam *prm = &mp->param[i];
		bool fix_charset = prm == cs_param;
		bool fix_8bit = param_cs != NULL && prm->raw_8bit && !prm->rfc2231 &&
		    fields_param_is_file_name(prm->name);

		if (!fix_charset && !fix_8bit)
			continue;
		if (rewrite_one_param(rw, prm, fix_charset, label, param_cs) < 0)
			return -1;
		if (!fix_charset)
			*param_encoded = true;
	}
	if (label != NULL && cs_param == NULL && append_charset(rw, label) < 0)
		return -1;
	return buf_append(rw->nf, rw->field->data + rw->pos, rw->field->len - rw->pos) < 0 ? -1 : 0;
}

int fields_rewrite_params(struct field_writer *fw, unsigned hidx, const struct mparams *mp,
			  const struct charset_info *label, const struct charset_info *param_cs,
			  bool *param_encoded)
{
	const struct mime_header *h = &fw->m->headers[hidx];
	struct buf field, nf;
	struct param_rewrite rw;
	int rc = -1;

	/* A field the parser did not see whole (too long, too many parameters)
	 * cannot be rewritten safely: an appended charset might not be seen. */
	if (h->truncated || mp->nparam >= MPARAM_MAX || (mp->errors & MPARAM_ERR_LIMIT))
		return -1;
	buf_init(&field, fw->limit);
	buf_init(&nf, fw->limit);
	if (field_bytes(fw, h, h->end, &field) < 0)
		goto out;
	memset(&rw, 0, sizeof(rw));
	rw.field = &field;
	rw.nf = &nf;
	rw.voff = h->colon + 1 - h->start;
	rw.body_len = field.len - h->eol_len;
	rw.eol = fields_part_eol(fw->m, h->part);
	if (fields_unsafe_bytes(field.data, rw.body_len) || rewrite_params(&rw, mp, label, param_cs, param_encoded) < 0)
		goto out;
	if (!rewrite_reads_back(h, mp, &nf, rw.voff, label, param_cs != NULL))
		goto out;
	/* Raw 8-bit the rewrite does not cover (junk after a value, a comment,
	 * a parameter that is not a file name) would be carried into a field
	 * we sign with our audit header as repaired: leave the field alone. */
	if (!fw->raw_8bit_ok && bytes_have_8bit(nf.data, nf.len))
		goto out;
	if ((nf.len != field.len || memcmp(nf.data, field.data, nf.len) != 0) &&
	    !fields_replace(fw, hidx, &nf))
		goto out;
	rc = 0;
out:
	buf_free(&field);
	buf_free(&nf);
	return rc;
}

/* Only file names are ours to re-encode: a boundary must stay byte-identical
 * to its delimiter lines, and other parameters are not meant for people. */
bool fields_param_is_file_name(const char *name)
{
	return strcmp(name, "name") == 0 || strcmp(name, "filename") == 0;
}

void fields_set_cte(struct field_writer *fw, unsigned part, enum mime_cte cte)
{
	const struct mime_part *p = &fw->m->parts[part];
	const char *name = mime_cte_name(cte);

	if (p->cte_header >= 0) {
		const struct mime_header *h = &fw->m->headers[p->cte_header];
		struct buf nf;

		buf_init(&nf, fw->limit);
		if (fields_prefix(fw, h, &nf) == 0 && buf_printf(&nf, " %s%s", name, fields_part_eol(fw->m, part)) == 0)
			(void)fields_replace(fw, (unsigned)p->cte_header, &nf);
		buf_free(&nf);
	} else {
		(void)fields_add(fw, part, "Content-Transfer-Encoding", name);
	}
}

/* The encoded value of header h under cs into enc -- or, with utf8, of its
 * text converted from cs to UTF-8, as UTF-8 words: FIELDS_ENCODED when it
 * holds only encoded-words and 7-bit text. */
static enum fields_encode_result encode_value(const struct field_writer *fw, const struct mime_header *h,
					      const struct charset_info *cs, const struct charset_info *utf8,
					      struct charset_conv *cv, struct buf *enc)
{
	enum rfc2047_kind kind = rfc2047_kind_of(h->name);
	size_t col = h->colon + 1 - h->start;
	const char *eol = fields_part_eol(fw->m, h->part);
	struct buf text;
	int rc;

	if (utf8 == NULL) {
		rc = rfc2047_encode_header(h->value, h->value_len, cs, kind, col, eol, enc);
	} else {
		buf_init(&text, fw->limit);
		rc = charset_decode_utf8(cv, cs, h->value, h->value_len, &text);
		if (rc == 0)
			rc = rfc2047_encode_header_as(text.data ? text.data : "", text.len, utf8, cv, kind, col,
						      eol, enc);
		buf_free(&text);
	}
	if (rc != 0)
		return FIELDS_ENCODE_FAILED;
	/* 8-bit where no encoded-word may stand (an address, a quoted local
	 * part): a half-encoded field would be no repair */
	return bytes_have_8bit(enc->data, enc->len) ? FIELDS_ENCODE_8BIT_LEFT : FIELDS_ENCODED;
}

bool fields_header_encodes(const struct field_writer *fw, unsigned hidx, const struct charset_info *cs)
{
	struct buf enc;
	bool ok;

	buf_init(&enc, fw->limit);
	ok = encode_value(fw, &fw->m->headers[hidx], cs, NULL, NULL, &enc) == FIELDS_ENCODED;
	buf_free(&enc);
	return ok;
}

enum fields_encode_result fields_encode_header(struct field_writer *fw, unsigned hidx,
					       const struct charset_info *cs, const struct charset_info *utf8,
					       struct charset_conv *cv)
{
	const struct mime_header *h = &fw->m->headers[hidx];
	const char *eol = fields_part_eol(fw->m, h->part);
	enum fields_encode_result res;
	struct buf nf, enc;

	buf_init(&nf, fw->limit);
	buf_init(&enc, fw->limit);
	res = encode_value(fw, h, cs, utf8, cv, &enc);
	if (res == FIELDS_ENCODED &&
	    !(enc.len > 0 && fields_prefix(fw, h, &nf) == 0 && buf_append(&nf, enc.data, enc.len) == 0 &&
	      buf_puts(&nf, eol) == 0 && fields_replace(fw, hidx, &nf)))
		res = FIELDS_ENCODE_FAILED;
	buf_free(&nf);
	buf_free(&enc);
	return res;
}

/* The Content-Type part of fields_emit_part. */
static enum fields_part_result emit_content_type(struct field_writer *fw, unsigned part,
						 const struct fields_part_change *c, bool *param_encoded,
						 bool *ct_added)
{
	const struct mime_part *p = &fw->m->parts[part];
	char value[96];

	if (p->ct_header >= 0) {
		if (p->ct_valid)
			return fields_rewrite_params(fw, (unsigned)p->ct_header, &p->ct, c->label, c->param_cs,
						     param_encoded) < 0 ? FIELDS_PART_CT_UNUSUAL : FIELDS_PART_DONE;
		return c->label != NULL ? FIELDS_PART_CT_UNPARSABLE : FIELDS_PART_DONE;
	}
	if (c->label == NULL)
		return FIELDS_PART_DONE;
	snprintf(value, sizeof(value), "text/plain; charset=%s", c->label->mime_name);
	if (!fields_add(fw, part, "Content-Type", value))
		return FIELDS_PART_NO_ROOM;
	*ct_added = true;
	return FIELDS_PART_DONE;
}

enum fields_part_result fields_emit_part(struct field_writer *fw, unsigned part,
					 const struct fields_part_change *c, bool *param_encoded,
					 bool *ct_added)
{
	const struct mime_part *p = &fw->m->parts[part];
	enum fields_part_result res;

	if (c->label != NULL || c->param_cs != NULL) {
		res = emit_content_type(fw, part, c, param_encoded, ct_added);
		if (res != FIELDS_PART_DONE)
			return res;
		if (c->param_cs != NULL && p->cd_header >= 0)
			(void)fields_rewrite_params(fw, (unsigned)p->cd_header, &p->cd, NULL, c->param_cs,
						    param_encoded);
	}
	if (c->new_cte != CTE_ABSENT)
		fields_set_cte(fw, part, c->new_cte);
	if (c->rewrite_body) {
		struct edit *e = edit_list_add(fw->el, p->body_start, p->body_end);

		e->kind = EDIT_TRANSCODE;
		e->from_cs = c->body_from;
		e->cte_from = p->cte;
		e->cte_to = c->new_cte != CTE_ABSENT ? c->new_cte : p->cte;
		e->crlf = p->eol_crlf;
		for (size_t k = 0; c->body_from != NULL && c->html != NULL && k < c->html->html_meta_n; k++) {
			e->meta_at[k] = c->html->html_meta_at[k];
			e->meta_len[k] = c->html->html_meta_len[k];
			e->meta_n = k + 1;
		}
		if (c->body_from != NULL && c->segs != NULL && c->segs->n > 0) {
			e->segs = *c->segs;
			e->from_cs = c->segs->cs[0];
		}
	}
	return FIELDS_PART_DONE;
}

enum fields_part_result fields_part_dry_run(struct field_writer *fw, unsigned part,
					    const struct fields_part_change *c)
{
	struct field_writer dry = *fw;
	struct edit_list scratch;
	enum fields_part_result res;
	bool param_encoded = false, ct_added = false;

	edit_list_init(&scratch);
	dry.el = &scratch;
	res = emit_content_type(&dry, part, c, &param_encoded, &ct_added);
	fw->error |= dry.error;
	edit_list_free(&scratch);
	return res;
}

/* Raw 8-bit between '<' and '>' of an address header: no charset can make
 * that an encoded-word, and the test needs none ('<' and '>' are never trail
 * bytes of the multi-byte charsets we know), so the verdict cannot depend on
 * which charset the rest of the message suggests. */
bool fields_8bit_in_angle_addr(const char *v, size_t n)
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

/* Why a raw 8-bit header cannot be encoded at all, or NULL when it can. */
const char *fields_header_refusal(const struct mime_header *h)
{
	if (h->truncated)
		return "header too long to rewrite safely: left alone";
	if (!rfc2047_header_encodable(h->name))
		return "8-bit in a structured header that encoded-words may not appear in: left alone";
	if (fields_unsafe_bytes(h->value, h->value_len))
		return "NUL or bare CR in the header: left alone";
	/* 8-bit bytes beside ISO-2022 escapes: neither reading holds the whole
	 * field, and encoding the 8-bit words alone would leave escapes that do
	 * not decode (fuzz K19) */
	if (h->has_8bit && memchr(h->value, 0x1b, h->value_len) != NULL)
		return "8-bit bytes and escape sequences in one header: left alone";
	if (rfc2047_kind_of(h->name) == RFC2047_ADDRESS && fields_8bit_in_angle_addr(h->value, h->value_len))
		return "8-bit inside an address, where encoded-words are not allowed: left alone";
	return NULL;
}

const struct mparam *fields_raw_file_name(const struct mime_part *p)
{
	const struct mparams *lists[2] = { &p->ct, &p->cd };
	int hidx[2] = { p->ct_header, p->cd_header };
	size_t k, j;

	for (k = 0; k < 2; k++) {
		if (hidx[k] < 0)
			continue;
		for (j = 0; j < lists[k]->nparam; j++)
			if (lists[k]->param[j].raw_8bit && fields_param_is_file_name(lists[k]->param[j].name))
				return &lists[k]->param[j];
	}
	return NULL;
}
