/*
 * detect.h -- the detection cascade: bytes plus context -> a charset, a confidence, a reason.
 *
 * Order (first that applies wins; every step only proposes charsets under
 * which the whole text decodes -- a candidate that fails is ruled out, and the
 * reason says so):
 *   1. a configured rule for this source (rules.h) -- confidence 100 when it decodes;
 *   2. pure ASCII with ISO-2022-JP/KR or HZ escape sequences -> that encoding;
 *   3. valid UTF-8 with 8-bit bytes -> utf-8 (confidence 99: random legacy text
 *      is almost never valid UTF-8);
 *   4. context: an HTML <meta charset> that decodes; a charset declared on
 *      another part of the same message (or by a header's encoded-words) that
 *      decodes -- strong evidence that the sender's system used it;
 *   4a. the sender's own statement of its code page (TNEF attOemCodepage,
 *      PR_INTERNET_CPID, PR_MESSAGE_CODEPAGE; tnef.h): taken when the text
 *      decodes under it and the statistics do not contradict it
 *      overwhelmingly (SENDER_SLACK_* in detect.c) -- so it
 *      labels even a 20-byte text, but not KOI8-R bytes claimed as 1252;
 *   4b. sender memory (memory.h): a charset this source's earlier text was
 *      confidently detected in -- taken only when it differs from the
 *      statistical winner, decodes, and scores within MEMORY_SLACK of it
 *      (detect.c), so it tips only what the text itself leaves open;
 *   5. statistical detection (uchardet on the bounded sample), relabelled
 *      through charset_superset() (iso-8859-1 with C1 -> windows-1252...),
 *      cross-checked with language/script evidence; the sender domain's TLD
 *      breaks ties between same-script candidates (.ru -> windows-1251/koi8-r,
 *      .pl/.cz -> windows-1250, .jp -> shift_jis ...);
 *   6. the site default (embedded: windows-1252), if it decodes; else the
 *      first of a fixed fallback list that decodes (windows-1252 with undefined
 *      bytes fails -> iso-8859-1... ); else no charset (verdict: cannot repair).
 * Short texts carry little evidence, so context (steps 4 and the TLD) counts
 * for more as the text gets shorter, and the confidence says so.
 *
 * The caller supplies a decodability oracle: for single-byte charsets the
 * histogram answers at once; for multi-byte ones the sample answers when it
 * is complete, otherwise the oracle re-reads the whole part.  The cascade
 * asks it lazily: a multi-byte candidate is scored on the prefix it decodes,
 * and the whole text is checked only for the candidates that rank (winner,
 * runner-up, a context or default charset before it is taken) -- never a
 * charset the oracle rejects is returned.  Answers are cached per call.
 */
#ifndef CPM_DETECT_H
#define CPM_DETECT_H

#include <stddef.h>
#include <stdbool.h>
#include "analyze.h"
#include "charset.h"

enum detect_source {
	DETECT_NONE = 0,	/* nothing decodes */
	DETECT_RULE,		/* configured rule */
	DETECT_ESCAPES,		/* 7-bit escape sequences */
	DETECT_UTF8,		/* valid UTF-8 */
	DETECT_DECLARED,	/* the part's own label, after relabelling */
	DETECT_CONTEXT,		/* other parts / HTML meta / header encoded-words */
	DETECT_STATISTICAL,	/* uchardet */
	DETECT_DEFAULT,		/* site default or fallback */
	DETECT_ASCII,		/* nothing but ASCII: no charset needed */
	DETECT_MEMORY		/* sender memory: this source's earlier mail */
};

/* A prior from the sender memory: "example.ru 412x koi8-r". */
struct detect_prior {
	const struct charset_info *cs;
	unsigned count;
	const char *label;		/* the source, for the reason */
};

struct detect_context {
	const struct charset_info *rule;	/* charset from a configured rule, or NULL */
	const char *rule_name;			/* the rule's description for the reason */
	const struct charset_info *site_default;	/* never NULL */
	const char *sender_tld;			/* "ru", "jp"... lowercase, or NULL */
	/* for a header's text: the charset of the body text nearest to it, a
	 * context tried first (taken unless the header's own bytes score far
	 * worse under it) */
	const struct charset_info *near_text;
	/* charsets declared (and trusted) elsewhere in the message, most relevant first */
	const struct charset_info *message_charsets[8];
	size_t n_message_charsets;
	/* sender memory, best first (step 4b) */
	const struct detect_prior *priors;
	size_t n_priors;
	/* the sender's own code page statements (TNEF), strongest first; why[]
	 * is the reason -x prints ("TNEF attOemCodepage 1251") */
	const struct charset_info *sender_charsets[3];
	char sender_why[3][48];
	size_t n_sender_charsets;
	/* explaining (-x): ask every voice for the reason, also those the
	 * answer does not need (uchardet when the margin decides) */
	bool explain;
};

/* Decodability oracle: does the whole text decode under cs? */
typedef bool (*detect_decodes_fn)(void *arg, const struct charset_info *cs);

struct detect_result {
	const struct charset_info *charset;	/* NULL when nothing decodes */
	int confidence;				/* 0..100 */
	enum detect_source source;
	char reason[240];			/* human readable, ASCII, no CR/LF */
};

/* Run the cascade for a text whose analysis is ta.  cv is a conversion cache. */
void detect_charset(const struct text_analysis *ta, const struct detect_context *ctx,
		    detect_decodes_fn decodes, void *decodes_arg, struct charset_conv *cv,
		    struct detect_result *out);

/* Plain uchardet on bytes, relabelled to a registry charset (NULL if none):
 * exposed for the evaluation tool's side-by-side comparison. */
const struct charset_info *detect_uchardet_only(const char *data, size_t len);

const char *detect_source_name(enum detect_source s);

/*
 * Verification of a declared label (for the caller that decides whether a
 * label that decodes is nevertheless a lie).  The text is scored with the
 * same sample and language models as the statistical step, once decoded
 * under `declared` and once under every other candidate of ANY family (and
 * utf-8 when the text is valid UTF-8); the best alternative is the one with
 * the lowest cost whose decoding differs from the declared one (windows-1252
 * is no alternative to iso-8859-1 on text without C1 bytes: same characters).
 *
 * Costs are -ln P of the scored text under the best language model for that
 * decoding, in nats; a lower cost fits better.  margin = declared_cost -
 * best_cost: positive when the alternative fits better, and large (tens of
 * nats) only when the text carries a lot of evidence against the declared
 * charset -- the caller picks its own threshold for "overwhelming".  The
 * declared decoding is scored under its family's models (under every model
 * when its family has none), so its cost is never worse than a fair reading.
 *
 * Returns false, with out->best NULL, when no alternative decodes the whole
 * text (asked through `decodes`, as detect_charset() does, lazily) or the
 * text has no 8-bit byte; out->declared_decodes says whether the declared
 * charset decodes at all (when it does not, declared_cost is 0 and margin is
 * meaningless).  Never allocates more than a bounded sample; cv may be NULL.
 */
struct detect_alternative {
	const struct charset_info *declared;
	bool declared_decodes;
	double declared_cost;			/* nats */
	const char *declared_lang;		/* "fr", "ru" ...; "?" when unscored */
	const struct charset_info *best;	/* NULL when nothing else decodes */
	double best_cost;			/* nats */
	const char *best_lang;
	double margin;				/* declared_cost - best_cost, nats */
	size_t scored_bytes;			/* size of the scored sample */
};

bool detect_score_declared(const struct text_analysis *ta, const struct charset_info *declared,
			   struct charset_conv *cv, detect_decodes_fn decodes, void *arg,
			   struct detect_alternative *out);

/* The cost (nats, as in detect_score_declared) of the text analysed in ta
 * under each of cs[0..n), scored the same way; cost[i] = -1 when the text
 * does not decode under cs[i] (asked through `decodes`) or has no 8-bit
 * byte.  *scored_8bit (when not NULL): the 8-bit bytes of the scored sample.
 * For choosing among a few known charsets (segment.h). */
void detect_score_charsets(const struct text_analysis *ta, const struct charset_info *const *cs, size_t n,
			   struct charset_conv *cv, detect_decodes_fn decodes, void *arg, double *cost,
			   size_t *scored_8bit);

/* Default fallback for a TLD (lowercase, no dot), NULL when none. */
const struct charset_info *detect_tld_hint(const char *tld);

#endif
