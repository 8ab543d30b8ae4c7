/*
 * plan.h -- the planner's working state, shared by its two halves: repair.c
 * (judge and choose per part, report mode, audit, the edits) and
 * plan_headers.c (raw 8-bit header text and file-name parameters).  Private
 * to those two files; everything else sees repair.h.
 */
#ifndef CPM_PLAN_H
#define CPM_PLAN_H

#include <stdbool.h>
#include "util.h"
#include "conf.h"
#include "detect.h"
#include "fields.h"
#include "mime.h"
#include "oracle.h"
#include "repair.h"
#include "report.h"
#include "verify.h"
#include "segment.h"


/* What the planner wants done to one part, gathered before any field is rewritten. */
struct part_plan {
	const struct charset_info *trusted;	/* declared label that can be trusted, for context */
	const struct charset_info *label;	/* charset to write into Content-Type, NULL = keep */
	bool label_fits;			/* ... and its Content-Type can take it (label_fits_part) */
	bool transcode;				/* body becomes UTF-8 */
	bool reencode;				/* body re-encoded (CTE change), charset kept */
	enum mime_cte new_cte;			/* CTE to write, CTE_ABSENT = keep */
	const struct charset_info *param_cs;	/* charset of raw 8-bit name/filename params */
	int row;				/* report row index, -1 if none */
	enum verdict verdict;
	const struct charset_info *declared;	/* what the label names, NULL if nothing known */
	struct decode_oracle oracle;		/* text leaves that are judged */
	struct label_verification ver;		/* of the declared label (wrong-label), for -x */
	struct segment_list segs;		/* VERDICT_MIXED: the text's charsets (segment.h) */
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

static inline struct report_row *part_row(const struct plan *pl, unsigned i)
{
	return pl->pp[i].row >= 0 ? &pl->rep->rows[pl->pp[i].row] : NULL;
}

static inline void row_take(struct report_row *row, const struct detect_result *dr)
{
	row->chosen = dr->charset;
	row->confidence = dr->confidence;
	row->source = dr->source;
	str_copy(row->reason, sizeof(row->reason), dr->reason);
}

/* Inside signed content, unless SignedMessages repair. */
static inline bool skip_signed(const struct plan *pl, unsigned part)
{
	return !pl->conf->repair_signed && mime_part_in_signed(pl->m, part);
}

/* Step 3 of repair_plan: raw 8-bit file names, then raw 8-bit header text;
 * each becomes a report row (pl->hdr_row) and, where it can be encoded, a
 * charset for it. */
void plan_headers(struct plan *pl);
/* The edit of header hidx that plan_headers planned, if any. */
void plan_emit_header_edit(struct plan *pl, unsigned hidx);

#endif
