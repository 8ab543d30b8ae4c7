/*
 * fields.h -- rewriting header fields: the one place that turns "this field
 * needs a charset / an encoded file name / RFC 2047 words / a new CTE" into
 * edits (edit.h) over the exact original bytes.
 *
 * Contract:
 *   - a field is rewritten from its exact original bytes (read back from the
 *     spool), changing only the span that needs it, so everything else in the
 *     field stays as it was;
 *   - a rewritten parameter field is parsed again and kept only if it reads
 *     back as meant (the charset we set is the one a parser finds, no file
 *     name keeps raw 8-bit, no parameter appeared or vanished);
 *   - fields are added to a header block only when a blank line ends it;
 *   - a top-level field is written as "Name:" + value (what smfi_chgheader
 *     can say), so the CLI and the milter write the same bytes.
 * Limits: a rewritten field never exceeds fw->limit bytes (a failure, not an
 * allocation storm).  A spool read failure sets fw->error; the caller then
 * discards the whole plan.
 */
#ifndef CPM_FIELDS_H
#define CPM_FIELDS_H

#include <stddef.h>
#include <stdbool.h>
#include "buf.h"
#include "charset.h"
#include "edit.h"
#include "mime.h"
#include "mimeparam.h"
#include "spool.h"

struct field_writer {
	const struct mime_message *m;
	struct spool *spool;
	struct edit_list *el;
	size_t limit;		/* largest field we write, in bytes */
	bool raw_8bit_ok;	/* SMTPUTF8: a rewritten field may keep raw 8-bit */
	int error;		/* set when the spool could not be read */
};

/* The line ending of part's header block ("\r\n" or "\n"). */
const char *fields_part_eol(const struct mime_message *m, unsigned part);
/* NUL, or a CR not followed by LF: bytes never carried into a written field. */
bool fields_unsafe_bytes(const char *p, size_t n);
/* Only file names (name=, filename=) are ours to re-encode. */
bool fields_param_is_file_name(const char *name);

/* The first raw 8-bit file name parameter of part p (Content-Type, then
 * Content-Disposition), or NULL. */
const struct mparam *fields_raw_file_name(const struct mime_part *p);

/* The original bytes of header h up to and including its colon, into out. */
int fields_prefix(struct field_writer *fw, const struct mime_header *h, struct buf *out);
/* Raw 8-bit between '<' and '>' (no encoded-word can stand there). */
bool fields_8bit_in_angle_addr(const char *v, size_t n);

/* Replace header field hidx by nf: a whole field with its EOL, beginning with
 * the original bytes up to and including the colon.  False when the field
 * cannot be named exactly. */
bool fields_replace(struct field_writer *fw, unsigned hidx, const struct buf *nf);
/* Add "name: value" at the end of part's header block; false when the block
 * does not end with a blank line (an added field would be absorbed). */
bool fields_add(struct field_writer *fw, unsigned part, const char *name, const char *value);

/* Rewrite a Content-Type or Content-Disposition field: set the charset
 * parameter (label != NULL) and RFC 2231-encode raw 8-bit file names
 * (param_cs != NULL; *param_encoded set when one was).  0, or -1 when the
 * field is too unusual to rewrite safely (nothing is then changed). */
int fields_rewrite_params(struct field_writer *fw, unsigned hidx, const struct mparams *mp,
			  const struct charset_info *label, const struct charset_info *param_cs,
			  bool *param_encoded);
/* Write Content-Transfer-Encoding: cte for part (replace or add the field). */
void fields_set_cte(struct field_writer *fw, unsigned part, enum mime_cte cte);

/* What one part's header block and body become. */
struct fields_part_change {
	const struct charset_info *label;	/* charset to write into Content-Type, NULL = keep */
	const struct charset_info *param_cs;	/* encode raw 8-bit file names in it, NULL = no */
	enum mime_cte new_cte;			/* CTE to write, CTE_ABSENT = keep */
	bool rewrite_body;			/* the body is rewritten (EDIT_TRANSCODE) */
	const struct charset_info *body_from;	/* ... converted from this to UTF-8; NULL = re-encode only */
	const struct text_analysis *html;	/* with body_from: its <meta> charsets become utf-8 */
	const struct segment_list *segs;	/* with body_from: the text's charsets per segment, or NULL */
};
enum fields_part_result {
	FIELDS_PART_DONE,
	FIELDS_PART_CT_UNUSUAL,		/* Content-Type too unusual to rewrite safely */
	FIELDS_PART_CT_UNPARSABLE,	/* Content-Type not parsable: no charset can be set */
	FIELDS_PART_NO_ROOM		/* no Content-Type, and none can be added */
};
/* Emit every edit of one part, combining the changes to each field (a
 * Content-Type may need both a charset and an RFC 2231 file name).  When the
 * Content-Type cannot be written nothing further is emitted for the part.
 * *param_encoded: a file name was encoded; *ct_added: a Content-Type field
 * was added (the part had none). */
enum fields_part_result fields_emit_part(struct field_writer *fw, unsigned part,
					 const struct fields_part_change *c, bool *param_encoded,
					 bool *ct_added);
/* What fields_emit_part would make of c's Content-Type change for part,
 * found by doing the same work into a scratch edit list that is thrown away:
 * the planner learns before judging header text whether a label will be
 * written. */
enum fields_part_result fields_part_dry_run(struct field_writer *fw, unsigned part,
					    const struct fields_part_change *c);

/* Why the raw 8-bit text of header h cannot become encoded-words at all
 * (truncated, a structured field, NUL or bare CR, 8-bit inside <...> of an
 * address), or NULL when it can. */
const char *fields_header_refusal(const struct mime_header *h);

enum fields_encode_result {
	FIELDS_ENCODED,		/* the field now holds RFC 2047 encoded-words */
	FIELDS_ENCODE_8BIT_LEFT,/* 8-bit where no encoded-word may stand (an address) */
	FIELDS_ENCODE_FAILED	/* could not encode or write: nothing changed */
};
/* Would header hidx, encoded under cs, hold no raw 8-bit byte?  (Nothing is
 * written.) */
bool fields_header_encodes(const struct field_writer *fw, unsigned hidx, const struct charset_info *cs);
/* Replace the raw 8-bit text of header hidx by encoded-words in charset cs;
 * with utf8 set (Mode transcode), by UTF-8 encoded-words of the text read
 * as cs (cv converts). */
enum fields_encode_result fields_encode_header(struct field_writer *fw, unsigned hidx,
					       const struct charset_info *cs, const struct charset_info *utf8,
					       struct charset_conv *cv);

#endif
