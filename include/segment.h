/*
 * segment.h -- a text part whose paragraphs are in different charsets.
 *
 * A reply written in windows-1251 that quotes an older KOI8-R mail, or a
 * legacy body with a UTF-8 signature pasted under it, carries no label that
 * is right for all of it: whichever charset the cascade picks, the other
 * paragraphs come out as mojibake.  segment_mixed() asks, paragraph by
 * paragraph, whether the part's charset is a lie there: a paragraph of valid
 * multi-byte UTF-8 is UTF-8 (the cascade's own rule); otherwise, when the
 * part's charset is single-byte, the same verification as a declared label
 * (verify.h), with a lower bar across script families (SEGMENT_FAMILY_NATS)
 * since the part's charset was itself only detected.
 * When at least one paragraph is plainly in another charset, the paragraphs
 * that are not (and those with too few 8-bit bytes to judge alone) are
 * detected once more on their own, and the part comes back as a list of
 * segments, each a run of whole lines in one charset that decodes it.
 * Transcoding converts each segment from its own charset; label mode can
 * only leave such a part alone.
 *
 * Paragraphs are runs of lines between blank lines; a change of quotation
 * depth (leading '>') also starts one, since a quote need not be set off by
 * a blank line.
 *
 * Limits: only a text whose analysis sample holds all of it (ANALYZE_SAMPLE)
 * is split; a text with more than SEGMENT_PARAGRAPHS paragraphs holding
 * 8-bit bytes is not, and at most SEGMENT_MAX segments come out.  Charsets
 * must be ASCII-compatible or single-byte (no ISO-2022, no UTF-16), so every
 * boundary sits at a line start in every one of them and a converter can
 * stop and restart there.
 */
#ifndef CPM_SEGMENT_H
#define CPM_SEGMENT_H

#include <stddef.h>
#include <stdbool.h>
#include "analyze.h"
#include "charset.h"
#include "detect.h"

#define SEGMENT_MAX	16
#define SEGMENT_PARAGRAPHS 64	/* paragraphs with 8-bit bytes */
#define SEGMENT_MIN_8BIT 4	/* 8-bit bytes a paragraph needs to be verified alone */
#define SEGMENT_MIN_UTF8 3	/* ... to be taken as UTF-8 (one 3-byte sequence) */
#define SEGMENT_FAMILY_NATS 50.0	/* a lie across families (verify.h: 80 for a label) */
#define SEGMENT_SUSPECT_NATS 3.0	/* per 8-bit byte under the part's charset, and */
#define SEGMENT_SUSPECT_REL 1.25	/* ... times the text's average: else not verified */
#define SEGMENT_TIE_NATS 3.0	/* charsets that close fit an open paragraph alike */

/* Segment k is the decoded text [at[k], at[k+1]) (the last one to the
 * end), in charset cs[k], starting on line line[k] (1-based); at[0] = 0. */
struct segment_list {
	size_t n;
	size_t at[SEGMENT_MAX], line[SEGMENT_MAX];
	const struct charset_info *cs[SEGMENT_MAX];
};

/* Is the text analysed in ta (not valid UTF-8; whose charset, as a whole,
 * is `whole`) in more than one charset?  True with out filled
 * (n >= 2, at least two different charsets) and a description for -x in
 * why ("windows-1251 lines 1-6, koi8-r lines 8-15 (by 96.3 nats)"); false
 * with out->n = 0 otherwise.  ctx is the cascade's context for detecting
 * the rest once more; cv is the caller's conversion cache. */
bool segment_mixed(const struct text_analysis *ta, const struct charset_info *whole,
		   const struct detect_context *ctx, struct charset_conv *cv, struct segment_list *out,
		   char *why, size_t cap);

#endif
