/*
 * verify.h -- is a single-byte label that decodes the text nevertheless a lie?
 *
 * A single-byte label (iso-8859-1, windows-1252, ibm850, koi8-r, an HTML
 * <meta charset> ...) decodes nearly any byte string, so "it decodes" proves
 * nothing: UTF-8, Cyrillic or Big5 bytes read as Latin-1 decode to letter
 * sequences no language has.  verify_label() asks the detector's language
 * models for a second opinion (detect_score_declared) and calls the label a
 * lie only on overwhelming evidence:
 *   - the charset is single-byte and the text has 8-bit bytes;
 *   - the best alternative decodes the whole text (the decodability oracle
 *     says so) and to other characters than the label;
 *   - the alternative fits better by at least VERIFY_MARGIN_NATS when it is
 *     of another script family, VERIFY_SAME_FAMILY_NATS when it is of the
 *     label's own (windows-1252 text under ibm850: the same language models
 *     score both readings, so only the 8-bit characters make the margin);
 *   - or it is utf-8 on valid multi-byte UTF-8 and fits better at all (the
 *     cascade takes valid UTF-8 without any scoring: legacy text is almost
 *     never valid UTF-8 by accident).
 * The thresholds are measured, not guessed: tests/eval/labels -m prints the
 * margin of every sample of the declared-label evaluation.  With the scorer
 * that weighs only the 8-bit evidence (detect.c), the largest margin for a
 * correct label was 11.5 nats against a charset of another family and 0.0
 * against one of its own on the gettext corpus (8,320 correctly labelled
 * single-byte samples, 20 B - 20 KB, 18 charsets), but 40.5 and 2.3 nats
 * out of kind (tests/eval/prose, 7,540 samples: a 499-byte Italian
 * windows-1252 text that windows-1251 reads with a better score).  The
 * thresholds keep twice the out-of-kind maximum: 80 nats across families,
 * 20 within one.  Lower ones would catch more lies (30 nats: +0.9 points)
 * and replace that Italian label.
 * A short text cannot reach 80 nats: two or three 8-bit letters are all
 * its evidence (20-80 B lies were repaired 86.6% of the time).  Across
 * families the margin needed is therefore also met by VERIFY_NATS_PER_8BIT
 * per 8-bit byte of the text, never less than VERIFY_SHORT_NATS: a lie
 * makes nearly every 8-bit byte a symbol inside a word or a letter of the
 * wrong script, while the correct labels' margins per 8-bit byte stayed
 * below 3.1 nats wherever the margin passed 10 (the worst: 40.3 nats over
 * 13 bytes, the Italian text above; 10.5 nats on one byte in the gettext
 * corpus; 16.2 over 4 bytes on a hand-written Norwegian line), so 8 per
 * byte and 25 at least keep more than twice those.  Measured with
 * tests/eval/labels on both corpora (0 of 22,360 and 0 of 20,800 correct
 * labels replaced, 20-80 B lies 86.6 -> 96.4% and 94.7% for iso-8859-1).  tests/eval/run-labels.sh fails when a
 * correct label is ever replaced, so a scorer change that moves margins
 * shows at once.
 * Thread safety: none needed (no state); the conv cache is the caller's.
 */
#ifndef CPM_VERIFY_H
#define CPM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include "analyze.h"
#include "charset.h"
#include "detect.h"

#define VERIFY_MARGIN_NATS	80.0		/* alternative of another family */
#define VERIFY_SAME_FAMILY_NATS	20.0		/* alternative of the label's family */
#define VERIFY_SHORT_NATS	25.0		/* another family, text with few 8-bit bytes: */
#define VERIFY_NATS_PER_8BIT	8.0		/* ... and this much per 8-bit byte */

struct label_verification {
	struct detect_alternative alt;	/* both scores, for -x */
	bool checked;			/* the models were asked */
	bool lie;			/* replace the label with alt.best */
	double threshold;		/* the margin that was needed, nats */
};

/* Verify `label` (a single-byte charset under which the whole text decodes)
 * for the text analysed in ta.  Returns true when it is a lie; out->alt.best
 * is then the replacement (it decodes the whole text).  Charsets that are not
 * single-byte, us-ascii and text without 8-bit bytes are never checked. */
bool verify_label(const struct text_analysis *ta, const struct charset_info *label,
		  struct charset_conv *cv, detect_decodes_fn decodes, void *arg,
		  struct label_verification *out);

/* "iso-8859-1 (fr) 412.3 nats, koi8-r (ru) 80.1 nats: margin 332.2 >= 80"
 * -- ASCII, no CR/LF; "" when nothing was checked. */
void verify_describe(const struct label_verification *v, char *buf, size_t cap);

#endif
