/*
 * report.h -- the report model (one row per examined part and per repaired
 * header: verdict, chosen charset, actions, reason) and its text forms: the
 * -x table, the audit header value, and the one-line syslog summary.
 *
 * All generated text is ASCII with control characters removed, so nothing a
 * sender wrote (a charset label, a header name) can inject CR/LF into a header
 * or a log line.
 */
#ifndef CPM_REPORT_H
#define CPM_REPORT_H

#include <stddef.h>
#include <stdbool.h>
#include "charset.h"
#include "detect.h"
#include "buf.h"
#include "mime.h"

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
	VERDICT_WRONG_LABEL,		/* a single-byte label that decodes, on text plainly in another charset */
	VERDICT_MIXED,			/* no label, and paragraphs plainly in different charsets (segment.h) */
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

void report_init(struct report *r);
void report_free(struct report *r);
struct report_row *report_add(struct report *r);

/* Fill r for a message passed untouched as a whole (mode off, too big,
 * signed, limits): one row per part, text leaves "skipped" with the reason. */
void report_untouched(const struct mime_message *m, struct report *r, const char *why);

const char *verdict_name(enum verdict v);
/* "label+cte" style list of ACT_* names, into dst. */
void actions_name(unsigned actions, char *dst, size_t cap);

/* The -x table: one row per part and per repaired header, columns
 * part | type | declared | verdict | chosen | conf | action | reason. */
void report_format_table(const struct report *r, struct buf *out);
/* Value for the audit header, e.g. " 1.1 missing->windows-1252 label; 1.2 ok"
 * (leading space included; at most ~900 bytes, folded with eol). */
void report_format_audit(const struct report *r, const char *eol, struct buf *out);
/* One line for syslog: "parts=3 repaired=2 charsets=windows-1252,koi8-r actions=label,encode-header". */
void report_format_summary(const struct report *r, struct buf *out);
/* Copy s into out keeping only printable ASCII (others become '?'). */
void report_sanitize(const char *s, size_t len, struct buf *out);
/* The same into dst (capacity cap > 0, always NUL-terminated, cut to fit). */
void report_copy_printable(char *dst, size_t cap, const char *src, size_t len);

#endif
