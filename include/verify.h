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
 *   - the alternative fits better by at least VERIFY_MARGIN_NATS, or it is
 *     utf-8 on valid multi-byte UTF-8 and fits better at all (the cascade
 *     takes valid UTF-8 without any scoring: legacy text is almost never
 *     valid UTF-8 by accident).
 * The threshold is measured, not guessed: tests/eval/labels -m prints the
 * margin of every sample of the declared-label evaluation.  On the committed
 * corpus (7,280 correctly labelled single-byte samples, 20 B - 20 KB, 16
 * charsets) the largest margin for a correct label was 53.7 nats (a 48-byte
 * Bulgarian text with 3 Cyrillic letters; the ASCII around them weighs
 * against the Cyrillic model), and none above 0 from 200 bytes up; 95% of
 * the lies that decode score above 60.  tests/eval/run-labels.sh fails when
 * a correct label is ever replaced, so a scorer change that moves margins
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

#define VERIFY_MARGIN_NATS	60.0

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

/* "iso-8859-1 (fr) 412.3 nats, koi8-r (ru) 80.1 nats: margin 332.2 >= 60"
 * -- ASCII, no CR/LF; "" when nothing was checked. */
void verify_describe(const struct label_verification *v, char *buf, size_t cap);

#endif
