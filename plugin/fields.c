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
static int field_prefix(struct field_writer *fw, const struct mime_header *h, struct buf *out)
{
	return field_read(fw, h->start, h->colon + 1, out);
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
int fields_rewrite_params(struct field_writer *fw, unsigned hidx, const struct mparams *mp,
			  const struct charset_info *label, const struct charset_info *param_cs,
			  bool *param_encoded)
{
	const struct mime_header *h = &fw->m->headers[hidx];
	const char *eol = fields_part_eol(fw->m, h->part);
	struct buf field, nf, enc;
	size_t voff = h->colon + 1 - h->start;	/* value offset in field */
	size_t pos, i, body_len;
	const struct mparam *cs_param = label ? mparams_get(mp, "charset") : NULL;
	int rc = -1;

	/* A field the parser did not see whole (too long, too many parameters)
	 * cannot be rewritten safely: an appended charset might not be seen. */
	if (h->truncated || mp->nparam >= MPARAM_MAX || (mp->errors & MPARAM_ERR_LIMIT))
		return -1;
	buf_init(&field, fw->limit);
	buf_init(&nf, fw->limit);
	buf_init(&enc, fw->limit);
	if (field_read(fw, h->start, h->end, &field) < 0)
		goto out;
	body_len = field.len - h->eol_len;	/* field without its final EOL */
	if (fields_unsafe_bytes(field.data, body_len))
		goto out;
	pos = 0;
	/* Parameters are edited in span order; mparams keeps them in input order. */
	for (i = 0; i < mp->nparam; i++) {
		const struct mparam *prm = &mp->param[i];
		bool fix_charset = prm == cs_param;
		bool fix_8bit = param_cs != NULL && prm->raw_8bit && !prm->rfc2231 &&
		    fields_param_is_file_name(prm->name);

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
		*param_encoded = true;
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
	    !fields_replace(fw, hidx, &nf))
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
		if (field_prefix(fw, h, &nf) == 0 && buf_printf(&nf, " %s%s", name, fields_part_eol(fw->m, part)) == 0)
			(void)fields_replace(fw, (unsigned)p->cte_header, &nf);
		buf_free(&nf);
	} else {
		(void)fields_add(fw, part, "Content-Transfer-Encoding", name);
	}
}

enum fields_encode_result fields_encode_header(struct field_writer *fw, unsigned hidx,
					       const struct charset_info *cs)
{
	const struct mime_header *h = &fw->m->headers[hidx];
	const char *eol = fields_part_eol(fw->m, h->part);
	enum fields_encode_result res = FIELDS_ENCODE_FAILED;
	struct buf nf, enc;

	buf_init(&nf, fw->limit);
	buf_init(&enc, fw->limit);
	if (rfc2047_encode_header(h->value, h->value_len, cs, rfc2047_kind_of(h->name),
				  h->colon + 1 - h->start, eol, &enc) == 0 &&
	    bytes_have_8bit(enc.data, enc.len)) {
		/* 8-bit where no encoded-word may stand (an address, a quoted
		 * local part): a half-encoded field would be no repair */
		res = FIELDS_ENCODE_8BIT_LEFT;
	} else if (enc.len > 0 && field_prefix(fw, h, &nf) == 0 &&
		   buf_append(&nf, enc.data, enc.len) == 0 && buf_puts(&nf, eol) == 0 &&
		   fields_replace(fw, hidx, &nf)) {
		res = FIELDS_ENCODED;
	}
	buf_free(&nf);
	buf_free(&enc);
	return res;
}
