/*
 * verdict.c -- is a text part's label right?  See verdict.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "verdict.h"

static bool no_name_decodes(void *arg, const char *name)
{
	(void)arg; (void)name;
	return false;
}

bool verdict_has_wider_label(const struct charset_info *cs)
{
	return charset_label_for(cs, no_name_decodes, NULL) != cs;
}

/*
 * A declared shift_jis/euc-kr/gb2312-family label on text that decodes under
 * the family converter.  Left as written when glibc decodes the text under
 * that very name (cp932, cp949, uhc, gbk, cp936, windows-31j, strict
 * shift_jis ...) or it is a Microsoft Korean label that every receiver that
 * knows it reads as UHC (ks_c_5601-1987): "fixing" its spelling could only
 * give a name under which strict readers fail.  Otherwise the bytes need a
 * wider label than the one written (gb2312 on GBK rows) or the spelling is
 * unknown to glibc (x-sjis): the label is replaced by oracle_label_to_write().
 */
static enum verdict judge_cjk_label(struct decode_oracle *o, const char *label,
				    const struct charset_info *declared)
{
	if (charset_label_means_superset(label, declared) || oracle_name_decodes(o, label))
		return VERDICT_OK;
	return charset_label_nonstandard(label) ? VERDICT_NONSTANDARD_LABEL : VERDICT_UNDECODABLE;
}

bool verdict_take_alternative(const struct label_verification *v, struct report_row *row)
{
	char why[200];

	if (!v->lie || v->alt.best == NULL)
		return false;
	verify_describe(v, why, sizeof(why));
	row->chosen = v->alt.best;
	row->confidence = 95;
	row->source = DETECT_STATISTICAL;
	snprintf(row->reason, sizeof(row->reason), "%s decodes but lies: %s", v->alt.declared->mime_name,
		 why);
	return true;
}

void verdict_verify_context(struct decode_oracle *o, struct report_row *row)
{
	const struct text_analysis *ta = o->ta;
	struct label_verification v;

	if (row->chosen == NULL || row->source != DETECT_CONTEXT)
		return;
	(void)verify_label(ta, row->chosen, o->cv, oracle_decodes, o, &v);
	(void)verdict_take_alternative(&v, row);
}

const struct charset_info *verdict_escape_charset(const struct text_analysis *ta)
{
	if (ta->iso2022jp)
		return charset_lookup("iso-2022-jp");
	if (ta->iso2022kr)
		return charset_lookup("iso-2022-kr");
	if (ta->hz)
		return charset_lookup("hz-gb-2312");
	return NULL;
}

enum verdict verdict_of_text_part(const struct mime_part *p, const struct text_analysis *ta,
				  struct decode_oracle *o, const struct charset_info **declared_out,
				  struct label_verification *ver)
{
	const struct mparam *cp = mparams_get(&p->ct, "charset");
	const struct charset_info *declared = NULL;
	const struct charset_info *esc;
	const char *label = cp != NULL ? cp->value : NULL;

	if (label != NULL && label[0] != '\0' && !charset_is_placeholder(label))
		declared = charset_lookup(label);
	*declared_out = declared;
	esc = verdict_escape_charset(ta);
	/* Escape sequences alone prove nothing: only text that decodes under the
	 * escape-based charset is legacy 7-bit; anything else is plain ASCII. */
	if (!ta->has_8bit && esc != NULL && oracle_decodes(o, esc)) {
		if (declared != NULL && (declared->props & CSP_7BIT_STATEFUL) && oracle_decodes(o, declared))
			return VERDICT_OK;
		return VERDICT_LEGACY_7BIT;
	}
	if (!ta->has_8bit)
		return label != NULL ? VERDICT_OK : VERDICT_ASCII;
	if (label == NULL || label[0] == '\0')
		return VERDICT_MISSING;
	if (declared == NULL)
		return VERDICT_UNKNOWN_LABEL;
	if (charset_same(declared, charset_lookup("us-ascii")))
		return VERDICT_ASCII_WITH_8BIT;
	if (charset_same(declared, charset_lookup("utf-8")))
		return text_analysis_utf8_ok(ta) ?
		    (charset_label_nonstandard(label) ? VERDICT_NONSTANDARD_LABEL : VERDICT_OK) :
		    VERDICT_INVALID_UTF8;
	if (charset_same(declared, charset_lookup("iso-8859-1")) && ta->has_c1)
		return VERDICT_LATIN1_WITH_C1;
	if (!oracle_decodes(o, declared))
		return VERDICT_UNDECODABLE;
	if (verdict_has_wider_label(declared) || (declared->props & CSP_LABEL))
		return judge_cjk_label(o, label, declared);
	if (verify_label(ta, declared, o->cv, oracle_decodes, o, ver))
		return VERDICT_WRONG_LABEL;
	if (charset_label_nonstandard(label))
		return VERDICT_NONSTANDARD_LABEL;
	return VERDICT_OK;
}
