/*
 * evidence.c -- the detection context and the detection calls for parts and
 * headers.  See evidence.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "evidence.h"

void evidence_context_init(struct detect_context *ctx, const struct charset_info *site_default,
			   const struct rule_match *rule, const char *sender_tld,
			   const struct detect_prior *priors, size_t n_priors)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->site_default = site_default;
	ctx->sender_tld = sender_tld;
	ctx->priors = priors;
	ctx->n_priors = n_priors;
	if (rule != NULL) {
		ctx->rule = rule->charset;
		ctx->rule_name = rule->description;
	}
}

void evidence_context_add_label(struct detect_context *ctx, const struct charset_info *t)
{
	size_t k;

	if (t == NULL || ctx->n_message_charsets >= ARRAY_LEN(ctx->message_charsets) ||
	    charset_same(t, charset_lookup("utf-8")) || charset_same(t, charset_lookup("us-ascii")))
		return;
	for (k = 0; k < ctx->n_message_charsets; k++)
		if (charset_same(ctx->message_charsets[k], t))
			return;
	ctx->message_charsets[ctx->n_message_charsets++] = t;
}

static void set_result(struct detect_result *dr, const struct charset_info *cs, int confidence,
		       enum detect_source source, const char *reason)
{
	dr->charset = cs;
	dr->confidence = confidence;
	dr->source = source;
	str_copy(dr->reason, sizeof(dr->reason), reason);
}

void evidence_detect(const struct detect_context *ctx, struct decode_oracle *o, struct charset_conv *cv,
		     struct detect_result *dr)
{
	detect_charset(o->ta, ctx, oracle_decodes, o, cv, dr);
	if (dr->charset != NULL && !oracle_decodes(o, dr->charset)) {
		/* the cascade's contract says this cannot happen; never act on it */
		snprintf(dr->reason, sizeof(dr->reason), "detector proposed %s, which does not decode",
			 dr->charset->mime_name);
		dr->charset = NULL;
	}
}

void evidence_detect_bytes(const char *bytes, size_t len, const struct detect_context *ctx,
			   const struct charset_info *near, struct charset_conv *cv, struct detect_result *dr)
{
	struct text_analysis ta;
	struct decode_oracle o;
	char reason[sizeof(dr->reason)];

	memset(dr, 0, sizeof(*dr));
	text_analysis_of_bytes(&ta, bytes, len);
	oracle_init_bytes(&o, &ta, bytes, len, cv);
	if (ctx->rule != NULL && oracle_decodes(&o, ctx->rule)) {
		snprintf(reason, sizeof(reason), "source rule: %s",
			 ctx->rule_name ? ctx->rule_name : ctx->rule->mime_name);
		set_result(dr, ctx->rule, 100, DETECT_RULE, reason);
	} else if (text_analysis_utf8_ok(&ta)) {
		set_result(dr, charset_lookup("utf-8"), 99, DETECT_UTF8, "valid UTF-8");
	} else {
		/* The body's charset is a prior, not the answer: every single-byte
		 * charset decodes every byte, so the header's own bytes are scored
		 * and the body's charset is taken unless they read far worse under
		 * it (a KOI8-R Subject over a windows-1251 body).  A body charset no
		 * encoded-word can carry (johab) or UTF-8 is no prior for raw
		 * header bytes, as on a second pass after transcoding. */
		struct detect_context hctx = *ctx;

		if (near != NULL && (near->props & CSP_ASCII_COMPAT) &&
		    !charset_same(near, charset_lookup("utf-8")))
			hctx.near_text = near;
		evidence_detect(&hctx, &o, cv, dr);
	}
	if (dr->charset != NULL)
		dr->charset = oracle_label_to_write(&o, dr->charset);
	text_analysis_free(&ta);
}

bool evidence_from_label(bool nonstandard_name, bool wrong_for_bytes, const struct charset_info *declared,
			 struct decode_oracle *o, struct detect_result *dr)
{
	const struct charset_info *sup;
	char reason[sizeof(dr->reason)];

	memset(dr, 0, sizeof(*dr));
	if (nonstandard_name) {
		snprintf(reason, sizeof(reason), "label names %s by a non-standard name", declared->mime_name);
		set_result(dr, declared, 100, DETECT_DECLARED, reason);
		return true;
	}
	if (!wrong_for_bytes)
		return false;
	sup = charset_superset(declared, o->ta->has_c1);
	if (sup == NULL || charset_same(sup, declared) || !oracle_decodes(o, sup))
		return false;
	snprintf(reason, sizeof(reason), "%s label on bytes it cannot hold; its superset %s decodes them",
		 declared->mime_name, sup->mime_name);
	set_result(dr, sup, 95, DETECT_DECLARED, reason);
	return true;
}
