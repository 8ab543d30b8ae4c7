/*
 * report.h -- turning a planner report into text: the -x table, the audit
 * header value, and the one-line syslog summary.
 *
 * All generated text is ASCII with control characters removed, so nothing a
 * sender wrote (a charset label, a header name) can inject CR/LF into a header
 * or a log line.
 */
#ifndef CPM_REPORT_H
#define CPM_REPORT_H

#include "repair.h"
#include "buf.h"

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

#endif
