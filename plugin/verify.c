/*
 * verify.c -- the policy that turns the detector's scores of a declared
 * single-byte label into "keep it" or "it lies".  See verify.h for the
 * contract and for how the threshold was measured.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "verify.h"

bool verify_label(const struct text_analysis *ta, const struct charset_info *label,
		  struct charset_conv *cv, detect_decodes_fn decodes, void *arg,
		  struct label_verification *out)
{
	const struct detect_alternative *alt = &out->alt;
	bool utf8;

	memset(out, 0, sizeof(*out));
	out->threshold = VERIFY_MARGIN_NATS;
	if (label == NULL || !(label->props & CSP_SINGLE_BYTE) || label->family == CSF_ASCII ||
	    !ta->has_8bit)
		return false;
	out->checked = true;
	if (!detect_score_declared(ta, label, cv, decodes, arg, &out->alt) || alt->best == NULL ||
	    !alt->declared_decodes || alt->best == label)
		return false;
	/* valid multi-byte UTF-8 is taken by the cascade without scoring; here it
	 * only has to fit better than the label */
	utf8 = alt->best->family == CSF_UTF && text_analysis_utf8_ok(ta);
	if (utf8) {
		out->threshold = 0;
	} else if (alt->best->family == label->family) {
		out->threshold = VERIFY_SAME_FAMILY_NATS;
	} else {
		/* a short text: enough nats for each 8-bit byte it has */
		double per_byte = VERIFY_NATS_PER_8BIT * (double)ta->high_bytes;

		if (per_byte < VERIFY_MARGIN_NATS)
			out->threshold = per_byte > VERIFY_SHORT_NATS ? per_byte : VERIFY_SHORT_NATS;
	}
	out->lie = utf8 ? alt->margin > 0 : alt->margin >= out->threshold;
	return out->lie;
}

void verify_describe(const struct label_verification *v, char *buf, size_t cap)
{
	const struct detect_alternative *a = &v->alt;

	if (cap == 0)
		return;
	buf[0] = '\0';
	if (!v->checked || a->declared == NULL)
		return;
	if (a->best == NULL) {
		snprintf(buf, cap, "%s (%s) %.1f nats, no other charset decodes differently",
			 a->declared->mime_name, a->declared_lang, a->declared_cost);
		return;
	}
	snprintf(buf, cap, "%s (%s) %.1f nats, %s (%s) %.1f nats: margin %.1f %s %.0f",
		 a->declared->mime_name, a->declared_lang, a->declared_cost, a->best->mime_name,
		 a->best_lang, a->best_cost, a->margin, v->lie ? ">=" : "<", v->threshold);
}
