/*
 * edit.h -- the edit list: what the planner decided, in a form both front
 * ends can apply.
 *
 * An edit list is a sorted list of non-overlapping splices over the original
 * bytes of a message.  Untouched bytes are never part of an edit, so they
 * come out byte-identical; a message that needs nothing has an empty list.
 *
 * Edit shapes:
 *   - inside the top-level header block, an edit replaces exactly one whole
 *     field [field.start, field.end) (hdr_op = HDR_CHANGE, with name and
 *     1-based occurrence among fields of that name, for smfi_chgheader), or
 *     inserts new fields at the end of the block (start = end = the offset
 *     just after the last field; hdr_op = HDR_ADD, for smfi_addheader);
 *   - everywhere else (nested header blocks, bodies) edits are plain splices;
 *     the milter replaces the whole body when any exists.
 *   - a transcoding edit (kind EDIT_TRANSCODE) replaces a body range with its
 *     text converted to UTF-8 (from one charset, or segment by segment) and re-encoded, produced lazily by output.c so
 *     memory stays bounded.
 *
 * Limits: none of its own; the number of edits is bounded by the planner
 * (a few per part and per header, and those are bounded by mime.h).
 */
#ifndef CPM_EDIT_H
#define CPM_EDIT_H

#include <stddef.h>
#include <stdbool.h>
#include "mime.h"
#include "charset.h"
#include "analyze.h"
#include "segment.h"

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
	/* ... and, when converting, these ranges of the decoded text (an HTML
	 * <meta> charset token each, ascending) become "utf-8" */
	size_t meta_at[ANALYZE_META_MAX], meta_len[ANALYZE_META_MAX], meta_n;
	/* ... or, for a text in several charsets (segment.h), each segment of
	 * the decoded text is converted from its own (segs.n == 0: from_cs
	 * throughout; never together with meta ranges) */
	struct segment_list segs;
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

void edit_list_init(struct edit_list *el);
void edit_list_free(struct edit_list *el);
/* Append a zeroed EDIT_BYTES edit replacing [start, end); the caller fills
 * in the replacement.  Creation order breaks ties when sorting. */
struct edit *edit_list_add(struct edit_list *el, size_t start, size_t end);
/* Drop (and free) every edit after the first n, e.g. a plan refused whole. */
void edit_list_truncate(struct edit_list *el, size_t n);
/* Sort by start and check no two edits overlap (true when consistent). */
bool edit_list_finalize(struct edit_list *el);
bool edit_list_touches_body(const struct edit_list *el, size_t body_start);

#endif
