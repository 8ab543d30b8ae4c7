/*
 * evidence.h -- what the detection cascade is given, built in one place for
 * a text part and for the raw 8-bit text of a header.
 *
 * The detection context (detect.h) of a message is: the charset of the
 * configured source rule that matched (rules.h), the sender's TLD, the site
 * default, the sender memory's priors (memory.h), and the labels other
 * parts of the message declared and that hold
 * (most relevant first, at most 8, utf-8 and us-ascii left out: they say
 * nothing about a legacy charset).  Parts and headers share it.
 *
 * Detection never returns a charset the oracle (oracle.h) rejects: the
 * cascade promises it, and evidence_detect checks it once more, because
 * acting on a wrong answer would corrupt the text.
 *
 * A header's text is short, so the body says more about its charset than
 * its own bytes: after the rule and UTF-8 steps, the charset of the nearest
 * body text is taken when it decodes the header (confidence 90), before the
 * statistics.
 */
#ifndef CPM_EVIDENCE_H
#define CPM_EVIDENCE_H

#include <stddef.h>
#include <stdbool.h>
#include "analyze.h"
#include "charset.h"
#include "detect.h"
#include "oracle.h"
#include "rules.h"

/* Start a message's context: site_default (never NULL), the matched rule or
 * NULL, the sender's lowercase TLD or NULL, the sender memory's priors (best
 * first, may be none). */
void evidence_context_init(struct detect_context *ctx, const struct charset_info *site_default,
			   const struct rule_match *rule, const char *sender_tld,
			   const struct detect_prior *priors, size_t n_priors);
/* Add a trusted label of another part (duplicates, utf-8 and us-ascii are
 * ignored; the first 8 are kept). */
void evidence_context_add_label(struct detect_context *ctx, const struct charset_info *trusted);

/* A charset from the part's own label, before any detection: a known charset
 * under a non-standard name is itself (confidence 100); a label the bytes do
 * not fit (wrong_for_bytes: iso-8859-1 with C1, undecodable) gives way to its
 * superset when that decodes (95).  False when the label says nothing. */
bool evidence_from_label(bool nonstandard_name, bool wrong_for_bytes, const struct charset_info *declared,
			 struct decode_oracle *o, struct detect_result *dr);
/* Run the cascade for the text behind oracle o (analysis o->ta). */
void evidence_detect(const struct detect_context *ctx, struct decode_oracle *o, struct charset_conv *cv,
		     struct detect_result *dr);
/* The same for header text bytes[0..len), with near the charset of the
 * nearest body text (NULL if none). */
void evidence_detect_bytes(const char *bytes, size_t len, const struct detect_context *ctx,
			   const struct charset_info *near, struct charset_conv *cv, struct detect_result *dr);

#endif
