/*
 * repair.h -- the planner: verdicts per text part and per header, and the edit list.
 *
 * Input: the finished part tree (mime.h), the per-part analyses (analyze.h),
 * the configuration and the message's source.  Output: an edit list -- a
 * sorted list of non-overlapping splices over the original bytes -- and one
 * report row per examined part and per repaired header.  Untouched bytes are
 * never part of an edit, so they come out byte-identical; a message that
 * needs nothing gets an empty list; planning the output of a repair again
 * gives an empty list (idempotence: every label we write is one we would
 * accept as trustworthy).
 *
 * The edit shapes are described in edit.h.
 */
#ifndef CPM_REPAIR_H
#define CPM_REPAIR_H

#include <stddef.h>
#include <stdbool.h>
#include "mime.h"
#include "charset.h"
#include "detect.h"
#include "analyze.h"
#include "spool.h"
#include "rules.h"
#include "edit.h"
#include "report.h"

struct conf;

/* Everything the planner looks at.  analysis[i] is the streamed analysis of
 * leaf text part i (NULL for other parts). */
struct tnef_evidence;

struct repair_input {
	const struct conf *conf;
	const struct mime_message *msg;
	struct text_analysis *const *analysis;
	struct spool *spool;
	struct charset_conv *cv;
	const struct rule_match *rule;		/* matched source rule, or NULL */
	const char *sender_tld;			/* lowercase TLD of the sender, or NULL */
	bool smtputf8;				/* SMTPUTF8 session: raw UTF-8 headers are legal */
	bool explain;				/* engine_source.explain */
	const struct detect_prior *priors;	/* sender memory, best first (detect.h) */
	size_t n_priors;
	const struct tnef_evidence *tnef;	/* the message's TNEF part read, or NULL */
};

/* Plan the repairs of one message.  Appends to el and rep (initialised by the
 * caller).  Returns 0, or -1 on an internal error (spool read failure); the
 * caller then discards el and passes the message unmodified. */
int repair_plan(const struct repair_input *in, struct edit_list *el, struct report *rep);

/* Why a whole message is passed untouched by the planner (not a free text,
 * so that callers can test it: signed_message follows from it). */
enum repair_skip {
	REPAIR_SKIP_NONE,
	REPAIR_SKIP_TOO_BIG,	/* larger than MaxMessageSize */
	REPAIR_SKIP_LIMITS,	/* MIME structure beyond the configured limits */
	REPAIR_SKIP_DKIM,	/* DKIM-Signature and SignedMessages skip */
	REPAIR_SKIP_SIGNED	/* multipart/signed or S/MIME and SignedMessages skip */
};
/* The human-readable reason for a skip (NULL for REPAIR_SKIP_NONE). */
const char *repair_skip_reason(enum repair_skip why);


#endif
