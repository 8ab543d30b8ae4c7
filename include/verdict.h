/*
 * verdict.h -- judging a text part's charset label on its own bytes.
 *
 * The verdicts (report.h) in the order they are tested:
 *   - pure ASCII with ISO-2022/HZ escapes that decode under the escape-based
 *     charset: legacy-7bit, unless a stateful 7-bit label already says so;
 *   - pure ASCII: ok with a label, ascii without;
 *   - 8-bit: missing (no label), unknown-label (no converter knows it),
 *     ascii-with-8bit, invalid-utf8, latin1-with-c1 (iso-8859-1 on 0x80-0x9F),
 *     undecodable (the bytes do not decode under the label); a
 *     shift_jis/euc-kr/gb2312-family label is ok when glibc decodes the text
 *     under that very name or it is a Microsoft Korean label receivers read
 *     as UHC, else nonstandard-label or undecodable; wrong-label (a
 *     single-byte label that decodes but lies, verify.h); nonstandard-label
 *     (a known charset under a name receivers may not know: cp1251, 1252,
 *     ks_c_5601-1987, utf8...), else ok.
 * Every "decodes" is asked of the part's oracle (oracle.h), so the verdict is
 * exact for the whole part, not just the analysis sample.
 */
#ifndef CPM_VERDICT_H
#define CPM_VERDICT_H

#include "analyze.h"
#include "charset.h"
#include "mime.h"
#include "oracle.h"
#include "report.h"
#include "verify.h"

/* The verdict on text leaf p (analysis ta); *declared is what its label
 * names (NULL when no label, a placeholder, or an unknown name); *ver the
 * verification of a single-byte label (for wrong-label and for -x). */
enum verdict verdict_of_text_part(const struct mime_part *p, const struct text_analysis *ta,
				  struct decode_oracle *o, const struct charset_info **declared,
				  struct label_verification *ver);

/* A CJK charset whose standard name is narrower for strict readers than the
 * converter we decode it with (shift_jis, euc-kr, gb2312). */
bool verdict_has_wider_label(const struct charset_info *cs);

/* Take the verified alternative of a label that lies into row (chosen,
 * confidence, source, reason); false when v is not a lie. */
bool verdict_take_alternative(const struct label_verification *v, struct report_row *row);

/* A charset that row took from context -- the part's own HTML <meta
 * charset>, another part's label, the sender's TNEF code page -- gets the
 * same verification as a declared label: once written it is one, and a
 * second pass must not call it a lie. */
void verdict_verify_context(struct decode_oracle *o, struct report_row *row);

/* The charset of the 7-bit escape sequences ta saw (ISO-2022-JP/-KR, HZ), or NULL. */
const struct charset_info *verdict_escape_charset(const struct text_analysis *ta);

#endif
