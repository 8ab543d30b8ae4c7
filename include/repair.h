/*
 * repair.h -- the planner: verdicts per text part and per header, and the edit list.
 *
 * Input: the finished part tree (mime.h), the per-part analyses (analyze.h),
 * the configuration and the message's source.  Output: an edit list -- a
 * sorted list of non-overlapping splices over the original bytes -- and one
 * report row per examined part and per repaired header.  Untouched bytes are
 * never part of an edit, so they come out byte-identical; a message that
 * needs nothing gets an empty list; planning the output of a repair again
 * gives an empty list (idempotence: every label we write is one we would
 * accept as trustworthy).
 *
 * Edit shapes (so that both front ends can apply them):
 *   - inside the top-level header block, an edit replaces exactly one whole
 *     field [field.start, field.end) (hdr_op = HDR_CHANGE, with name and
 *     1-based occurrence among fields of that name, for smfi_chgheader), or
 *     inserts new fields at the end of the block (start = end = the offset
 *     just after the last field; hdr_op = HDR_ADD, for smfi_addheader);
 *   - everywhere else (nested header blocks, bodies) edits are plain splices;
 *     the milter replaces the whole body when any exists.
 *   - a transcoding edit (kind EDIT_TRANSCODE) replaces a body range with its
 *     text converted to UTF-8 and re-encoded, produced lazily by output.c so
 *     memory stays bounded.
 */
#ifndef CPM_REPAIR_H
#define CPM_REPAIR_H

#include <stddef.h>
#include <stdbool.h>
#include "mime.h"
#include "charset.h"
#include "detect.h"
#include "analyze.h"
#include "spool.h"
#include "rules.h"

struct conf;

enum verdict {
	VERDICT_OK,			/* label present, trusted, decodes */
	VERDICT_ASCII,			/* pure ASCII: nothing to label */
	VERDICT_MISSING,		/* 8-bit text without charset */
	VERDICT_UNKNOWN_LABEL,		/* a label no converter knows (unknown-8bit, 1252 bare is known) */
	VERDICT_ASCII_WITH_8BIT,	/* us-ascii label on 8-bit text */
	VERDICT_LATIN1_WITH_C1,		/* iso-8859-1 label on text with 0x80-0x9F */
	VERDICT_INVALID_UTF8,		/* utf-8 label on text that is not UTF-8 */
	VERDICT_UNDECODABLE,		/* other label under which the bytes do not decode */
	VERDICT_LEGACY_7BIT,		/* ISO-2022/HZ escapes without (or with a wrong) label */
	VERDICT_RAW_8BIT_HEADER,	/* raw 8-bit bytes in a header */
	VERDICT_NONSTANDARD_LABEL,	/* a known charset under a non-MIME name (cp1251, 1252, ks_c_5601-1987...) */
	VERDICT_NOT_TEXT,		/* not a text part: not examined */
	VERDICT_SKIPPED			/* text, but left alone (signed, limits, mode off...) */
};

#define ACT_NONE	0x00
#define ACT_LABEL	0x01	/* charset parameter added */
#define ACT_RELABEL	0x02	/* charset parameter value changed */
#define ACT_TRANSCODE	0x04	/* text converted to UTF-8 */
#define ACT_ENCODE_HDR	0x08	/* RFC 2047 encoded-words written */
#define ACT_ENCODE_PARAM 0x10	/* RFC 2231 parameter written */
#define ACT_CTE		0x20	/* Content-Transfer-Encoding added or changed */
#define ACT_MIMEVER	0x40	/* MIME-Version added */
#define ACT_CT_ADDED	0x80	/* Content-Type header added */
#define ACT_CANNOT	0x100	/* needed a repair that could not be made safely */
#define ACT_REPORT	0x200	/* would repair, but mode is report */

enum edit_kind { EDIT_BYTES, EDIT_TRANSCODE };
enum hdr_op { HDR_NONE, HDR_CHANGE, HDR_ADD };

struct edit {
	size_t start, end;		/* replaced range of the original, start <= end */
	enum edit_kind kind;
	char *bytes;			/* EDIT_BYTES: replacement (owned) */
	size_t len;
	/* EDIT_TRANSCODE: decode [start,end) from cte_from, convert from_cs -> UTF-8,
	 * encode as cte_to with line endings crlf/lf */
	const struct charset_info *from_cs;
	enum mime_cte cte_from, cte_to;
	bool crlf;
	/* top-level header annotation (milter): */
	enum hdr_op hdr_op;
	char hdr_name[80];
	unsigned hdr_occurrence;	/* HDR_CHANGE: 1-based among fields named hdr_name */
	char *hdr_value;		/* new value: bytes after "Name:" without the final EOL;
					   folded lines use the message's EOL; NULL = delete */
	size_t seq;			/* creation order: ties in sorting keep it */
};

struct edit_list {
	struct edit *v;
	size_t n, cap;
};

struct report_row {
	char id[256];			/* part id (up to the default MaxDepth), or "1:Subject" */
	bool is_header;
	char content_type[130];		/* "text/plain", or the header name */
	char declared[64];		/* declared charset label as written, "" if none */
	enum verdict verdict;
	const struct charset_info *chosen;	/* NULL if none */
	int confidence;
	enum detect_source source;
	char reason[240];
	unsigned actions;		/* ACT_* */
};

struct report {
	struct report_row *rows;
	size_t n, cap;
	unsigned message_anomalies;	/* MIME_ANOM_* */
	bool signed_message;
	bool passed_untouched;		/* nothing changed, and why is in `note` */
	char note[200];
};

/* Everything the planner looks at.  analysis[i] is the streamed analysis of
 * leaf text part i (NULL for other parts). */
struct repair_input {
	const struct conf *conf;
	const struct mime_message *msg;
	struct text_analysis *const *analysis;
	struct spool *spool;
	struct charset_conv *cv;
	const struct rule_match *rule;		/* matched source rule, or NULL */
	const char *sender_tld;			/* lowercase TLD of the sender, or NULL */
	bool smtputf8;				/* SMTPUTF8 session: raw UTF-8 headers are legal */
	const struct detect_prior *priors;	/* sender memory, best first (detect.h) */
	size_t n_priors;
};

/* Plan the repairs of one message.  Appends to el and rep (initialised by the
 * caller).  Returns 0, or -1 on an internal error (spool read failure); the
 * caller then discards el and passes the message unmodified. */
int repair_plan(const struct repair_input *in, struct edit_list *el, struct report *rep);

/* Fill rep for a message passed untouched as a whole (mode off, too big,
 * signed, limits): one row per part, text leaves "skipped" with the reason. */
void repair_report_untouched(const struct mime_message *m, struct report *rep, const char *why);

void edit_list_init(struct edit_list *el);
void edit_list_free(struct edit_list *el);
/* Append a zeroed EDIT_BYTES edit replacing [start, end); the caller fills
 * in the replacement.  Creation order breaks ties when sorting. */
struct edit *edit_list_add(struct edit_list *el, size_t start, size_t end);
/* Sort by start and check no two edits overlap (true when consistent). */
bool edit_list_finalize(struct edit_list *el);
bool edit_list_touches_body(const struct edit_list *el, size_t body_start);

void report_init(struct report *r);
void report_free(struct report *r);
struct report_row *report_add(struct report *r);

const char *verdict_name(enum verdict v);
/* "label+cte" style list of ACT_* names, into dst. */
void actions_name(unsigned actions, char *dst, size_t cap);

#endif
