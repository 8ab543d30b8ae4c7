/*
 * check_detect.c -- unit tests for the detection cascade (detect.h).
 *
 * Texts are written here in UTF-8 and converted with iconv into the charset
 * under test, so no test hard-codes the bytes the detector must recognise.
 */
#include "config.h"

#include <check.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "charset.h"
#include "detect.h"

static struct charset_conv *cv;

static char *
encode(const char *label, const char *utf8, size_t *outlen)
{
	const struct charset_info *cs = charset_lookup(label);
	ck_assert_ptr_nonnull(cs);
	iconv_t cd = iconv_open(cs->iconv_name, "UTF-8");
	ck_assert(cd != (iconv_t)-1);
	size_t inlen = strlen(utf8), cap = inlen * 4 + 16, il = inlen, ol = cap;
	char *out = malloc(cap), *op = out, *ip = (char *)utf8;
	ck_assert(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
	ck_assert(iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1);
	iconv_close(cd);
	*outlen = cap - ol;
	return out;
}

struct oracle { const char *p; size_t n; int calls; };

static bool
oracle_decodes(void *arg, const struct charset_info *cs)
{
	struct oracle *o = arg;
	o->calls++;
	return charset_decodes(cv, cs, o->p, o->n, NULL);
}

static void
detect_bytes(const char *p, size_t n, const struct detect_context *ctx_in, struct detect_result *res)
{
	struct text_analysis ta;
	struct detect_context ctx;
	struct oracle o = { p, n, 0 };

	if (ctx_in != NULL)
		ctx = *ctx_in;
	else
		memset(&ctx, 0, sizeof(ctx));
	if (ctx.site_default == NULL)
		ctx.site_default = charset_lookup("windows-1252");
	text_analysis_of_bytes(&ta, p, n);
	detect_charset(&ta, &ctx, oracle_decodes, &o, cv, res);
	text_analysis_free(&ta);
	/* The contract every answer keeps. */
	for (const char *r = res->reason; *r; r++)
		ck_assert(*r >= 0x20 && *r < 0x7f);
	ck_assert(res->confidence >= 0 && res->confidence <= 100);
	if (res->charset != NULL)
		ck_assert_msg(charset_decodes(cv, res->charset, p, n, NULL),
			      "%s does not decode: %s", res->charset->mime_name, res->reason);
}

/* Detect the UTF-8 text converted to `label`; true when the answer decodes
 * it back to the same text. */
static bool
detects_text(const char *label, const char *utf8, const struct detect_context *ctx, struct detect_result *res)
{
	size_t n;
	char *bytes = encode(label, utf8, &n);

	detect_bytes(bytes, n, ctx, res);
	bool same = false;
	if (res->charset != NULL) {
		iconv_t cd = iconv_open("UTF-8", res->charset->iconv_name);
		size_t cap = n * 4 + 16, il = n, ol = cap;
		char *out = malloc(cap), *op = out, *ip = bytes;
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1)
			same = cap - ol == strlen(utf8) && memcmp(out, utf8, cap - ol) == 0;
		iconv_close(cd);
		free(out);
	}
	free(bytes);
	return same;
}

static const char russian[] =
	"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82! \xd0\x9a\xd0\xb0\xd0\xba "
	"\xd0\xb4\xd0\xb5\xd0\xbb\xd0\xb0? \xd0\x92\xd1\x81\xd1\x82\xd1\x80\xd0\xb5\xd1\x87\xd0\xb0"
	"\xd0\xb5\xd0\xbc\xd1\x81\xd1\x8f \xd0\xb7\xd0\xb0\xd0\xb2\xd1\x82\xd1\x80\xd0\xb0 "
	"\xd0\xb2 \xd0\xbe\xd1\x84\xd0\xb8\xd1\x81\xd0\xb5 \xd0\xbf\xd0\xbe\xd1\x81\xd0\xbb\xd0\xb5 "
	"\xd0\xbe\xd0\xb1\xd0\xb5\xd0\xb4\xd0\xb0.";	/* Привет! Как дела? Встречаемся завтра в офисе после обеда. */

START_TEST(test_ascii_needs_no_charset)
{
	struct detect_result res;

	detect_bytes("plain text\r\n", 12, NULL, &res);
	ck_assert_int_eq(res.source, DETECT_ASCII);
}
END_TEST

START_TEST(test_valid_utf8_wins)
{
	struct detect_result res;

	ck_assert(detects_text("utf-8", russian, NULL, &res));
	ck_assert_int_eq(res.source, DETECT_UTF8);
	ck_assert_str_eq(res.charset->mime_name, "utf-8");
	ck_assert_str_eq(res.reason, "valid UTF-8");
}
END_TEST

START_TEST(test_iso2022jp_by_escapes)
{
	struct detect_result res;
	/* こんにちは、世界 */
	static const char ja[] = "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"
	    "\xe3\x80\x81\xe4\xb8\x96\xe7\x95\x8c";

	ck_assert(detects_text("iso-2022-jp", ja, NULL, &res));
	ck_assert_int_eq(res.source, DETECT_ESCAPES);
}
END_TEST

START_TEST(test_cyrillic_siblings_are_told_apart)
{
	static const char *const labels[] = { "windows-1251", "koi8-r", "ibm866", "iso-8859-5" };
	struct detect_result res;

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		ck_assert_msg(detects_text(labels[i], russian, NULL, &res), "%s: got %s (%s)", labels[i],
			      res.charset ? res.charset->mime_name : "-", res.reason);
		ck_assert_int_eq(res.source, DETECT_STATISTICAL);
	}
}
END_TEST

START_TEST(test_c1_bytes_mean_windows_not_iso)
{
	struct detect_result res;
	/* “Le café” coûte 3 € — "curly quotes, euro and dash are C1 bytes in windows-1252" */
	static const char fr[] = "\xe2\x80\x9cLe caf\xc3\xa9\xe2\x80\x9d co\xc3\xbbte 3 \xe2\x82\xac "
	    "\xe2\x80\x94 d\xc3\xa9j\xc3\xa0 pay\xc3\xa9.";

	ck_assert(detects_text("windows-1252", fr, NULL, &res));
	ck_assert_str_ne(res.charset->mime_name, "iso-8859-1");
}
END_TEST

START_TEST(test_rule_that_does_not_decode_is_ruled_out)
{
	struct detect_result res;
	struct detect_context ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.rule = charset_lookup("utf-8");
	ctx.rule_name = "test rule";
	ck_assert(detects_text("windows-1251", russian, &ctx, &res));
	ck_assert_int_ne(res.source, DETECT_RULE);
	ck_assert_ptr_nonnull(strstr(res.reason, "utf-8"));

	ctx.rule = charset_lookup("koi8-r");	/* decodes: a rule is obeyed */
	size_t n;
	char *bytes = encode("windows-1251", russian, &n);
	detect_bytes(bytes, n, &ctx, &res);
	ck_assert_int_eq(res.source, DETECT_RULE);
	ck_assert_str_eq(res.charset->mime_name, "koi8-r");
	ck_assert_int_eq(res.confidence, 100);
	free(bytes);
}
END_TEST

START_TEST(test_context_charset_decides_short_text)
{
	struct detect_result res;
	struct detect_context ctx;
	/* Short, and every byte of it means the same under windows-1252: the
	 * label of another part of the message decides. */
	static const char cs_text[] = "Zdrav\xc3\xadm \xc5\xa1\xc3\xa9" "fa";	/* Zdravím šéfa */

	memset(&ctx, 0, sizeof(ctx));
	ctx.message_charsets[0] = charset_lookup("windows-1250");
	ctx.n_message_charsets = 1;
	ck_assert(detects_text("windows-1250", cs_text, &ctx, &res));
	ck_assert_int_eq(res.source, DETECT_CONTEXT);
	ck_assert_str_eq(res.charset->mime_name, "windows-1250");
}
END_TEST

START_TEST(test_html_meta_is_context)
{
	struct text_analysis ta;
	struct detect_context ctx;
	struct detect_result res;
	size_t n;
	char *body = encode("koi8-r", russian, &n);
	static const char head[] = "<html><head><meta charset=\"koi8-r\"></head><body>";
	struct oracle o;

	memset(&ctx, 0, sizeof(ctx));
	ctx.site_default = charset_lookup("windows-1252");
	text_analysis_init(&ta, CTE_8BIT, true);
	text_analysis_feed(&ta, head, strlen(head));
	text_analysis_feed(&ta, body, n);
	text_analysis_finish(&ta);
	o.p = (const char *)ta.sample;
	o.n = ta.sample_len;
	o.calls = 0;
	detect_charset(&ta, &ctx, oracle_decodes, &o, cv, &res);
	ck_assert_int_eq(res.source, DETECT_CONTEXT);
	ck_assert_str_eq(res.charset->mime_name, "koi8-r");
	text_analysis_free(&ta);
	free(body);
}
END_TEST

START_TEST(test_multibyte_candidates_ask_the_oracle)
{
	struct detect_result res;
	/* 日本語のテキストです。文字コードを判定します。 */
	static const char ja[] = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad"
	    "\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\xe6\x96\x87\xe5\xad\x97\xe3\x82"
	    "\xb3\xe3\x83\xbc\xe3\x83\x89\xe3\x82\x92\xe5\x88\xa4\xe5\xae\x9a\xe3\x81\x97\xe3\x81\xbe\xe3"
	    "\x81\x99\xe3\x80\x82";

	ck_assert(detects_text("shift_jis", ja, NULL, &res));
	ck_assert(detects_text("euc-jp", ja, NULL, &res));
	ck_assert_int_eq(res.charset->family, CSF_JAPANESE);
}
END_TEST

/* An oracle that says one charset does not decode (a part whose tail, beyond
 * the sample, breaks it), and counts what it is asked. */
struct picky_oracle { struct oracle o; const char *reject; int asked_multibyte; };

static bool
picky_decodes(void *arg, const struct charset_info *cs)
{
	struct picky_oracle *po = arg;

	if (!(cs->props & CSP_SINGLE_BYTE))
		po->asked_multibyte++;
	if (strcmp(cs->mime_name, po->reject) == 0)
		return false;
	return oracle_decodes(&po->o, cs);
}

static void
detect_with_picky(const char *label, const char *utf8, const char *reject, struct detect_result *res,
		  int *asked_multibyte)
{
	struct text_analysis ta;
	struct detect_context ctx;
	size_t n;
	char *bytes = encode(label, utf8, &n);
	struct picky_oracle po = { { bytes, n, 0 }, reject, 0 };

	memset(&ctx, 0, sizeof(ctx));
	ctx.site_default = charset_lookup("windows-1252");
	text_analysis_of_bytes(&ta, bytes, n);
	detect_charset(&ta, &ctx, picky_decodes, &po, cv, res);
	text_analysis_free(&ta);
	free(bytes);
	*asked_multibyte = po.asked_multibyte;
}

START_TEST(test_oracle_asked_lazily_and_obeyed)
{
	struct detect_result res;
	int asked;
	/* 日本語のテキストです。文字コードを判定します。 */
	static const char ja[] = "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad"
	    "\xe3\x82\xb9\xe3\x83\x88\xe3\x81\xa7\xe3\x81\x99\xe3\x80\x82\xe6\x96\x87\xe5\xad\x97\xe3\x82"
	    "\xb3\xe3\x83\xbc\xe3\x83\x89\xe3\x82\x92\xe5\x88\xa4\xe5\xae\x9a\xe3\x81\x97\xe3\x81\xbe\xe3"
	    "\x81\x99\xe3\x80\x82";

	/* An honest oracle: only what ranks is confirmed (uchardet's answer,
	 * the winner, the runner-up), not every multi-byte candidate whose
	 * decoding of the prefix succeeds -- four for this EUC-JP text. */
	detect_with_picky("euc-jp", ja, "none", &res, &asked);
	ck_assert_ptr_nonnull(res.charset);
	ck_assert_str_eq(res.charset->mime_name, "euc-jp");
	ck_assert_int_le(asked, 2);
	ck_assert_int_ge(asked, 1);
	/* The oracle's no is final: never returned, the next decoding one is. */
	detect_with_picky("euc-jp", ja, "euc-jp", &res, &asked);
	ck_assert_ptr_nonnull(res.charset);
	ck_assert_str_ne(res.charset->mime_name, "euc-jp");
	ck_assert_int_ge(asked, 2);
}
END_TEST

START_TEST(test_hostile_bytes_get_a_decoding_answer)
{
	char junk[4096];
	unsigned seed = 7;
	struct detect_result res;

	for (int round = 0; round < 20; round++) {
		size_t n = 1 + (size_t)round * 200;
		for (size_t i = 0; i < n; i++)
			junk[i] = (char)((seed = seed * 1103515245 + 12345) >> 16);
		detect_bytes(junk, n, NULL, &res);	/* asserts the answer decodes */
		ck_assert_ptr_nonnull(res.charset);
	}
}
END_TEST

START_TEST(test_tld_hints)
{
	ck_assert_str_eq(detect_tld_hint("ru")->mime_name, "windows-1251");
	ck_assert_str_eq(detect_tld_hint("jp")->mime_name, "shift_jis");
	ck_assert_ptr_null(detect_tld_hint("com"));
	ck_assert_ptr_null(detect_tld_hint(NULL));
	ck_assert_ptr_null(detect_tld_hint("r"));
}
END_TEST

START_TEST(test_uchardet_only_relabels)
{
	size_t n;
	char *bytes = encode("windows-1251", russian, &n);
	const struct charset_info *cs = detect_uchardet_only(bytes, n);

	ck_assert_ptr_nonnull(cs);
	ck_assert_int_eq(cs->family, CSF_CYRILLIC);
	free(bytes);
	ck_assert_str_eq(detect_source_name(DETECT_STATISTICAL), "statistical");
}
END_TEST

static const char french[] =
	"Le r\xc3\xa9sum\xc3\xa9 de la r\xc3\xa9union est pr\xc3\xaat : il faudra tr\xc3\xa8s vite d\xc3\xa9" "cid"
	"er o\xc3\xb9 aura lieu la f\xc3\xaate de No\xc3\xabl, et \xc3\xa0 quelle heure. Merci \xc3\xa0 "
	"tous pour vos r\xc3\xa9ponses d\xc3\xa9j\xc3\xa0 re\xc3\xa7ues.";	/* Le résumé de la réunion est prêt : il fa... */

/* Score `bytes` under the declared label; the oracle is the full-text check. */
static bool
score_declared(const char *bytes, size_t n, const char *declared, struct detect_alternative *alt)
{
	struct text_analysis ta;
	struct oracle o = { bytes, n, 0 };

	text_analysis_of_bytes(&ta, bytes, n);
	bool r = detect_score_declared(&ta, charset_lookup(declared), cv, oracle_decodes, &o, alt);
	text_analysis_free(&ta);
	ck_assert_ptr_eq(alt->declared, charset_lookup(declared));
	if (r) {
		ck_assert_ptr_nonnull(alt->best);
		ck_assert_ptr_ne(alt->best, alt->declared);
		ck_assert_msg(charset_decodes(cv, alt->best, bytes, n, NULL), "%s does not decode",
			      alt->best->mime_name);
		ck_assert(alt->declared_lang != NULL && alt->best_lang != NULL);
	}
	return r;
}

/* Text in `truth` declared as iso-8859-1: the truth must win by a wide margin. */
static void
assert_declared_loses(const char *truth, const char *utf8)
{
	struct detect_alternative alt;
	size_t n;
	char *bytes = encode(truth, utf8, &n);

	ck_assert(score_declared(bytes, n, "iso-8859-1", &alt));
	ck_assert(alt.declared_decodes);
	ck_assert_msg(alt.best == charset_lookup(truth), "%s text: best alternative %s", truth,
		      alt.best->mime_name);
	ck_assert_msg(alt.margin > 30.0, "%s text: margin %.1f nats only", truth, alt.margin);
	ck_assert(alt.declared_cost > alt.best_cost);
	free(bytes);
}

/* uchardet is asked only when its vote can change the answer: a long
 * Russian text with no context, or with a context charset far out of
 * reach, is decided by its margin alone, and -x (explain) asks uchardet
 * anyway and must give the same answer. */
START_TEST(test_uchardet_asked_only_when_it_matters)
{
	struct detect_context ctx;
	struct detect_result quiet, explained;
	char text[4096];
	size_t n = 0;

	while (n + sizeof(russian) + 2 < sizeof(text)) {
		memcpy(text + n, russian, sizeof(russian) - 1);
		n += sizeof(russian) - 1;
		text[n++] = ' ';
	}
	text[n] = '\0';
	memset(&ctx, 0, sizeof(ctx));
	ck_assert(detects_text("windows-1251", text, &ctx, &quiet));
	ck_assert_msg(strstr(quiet.reason, "uchardet: not asked") != NULL, "%s", quiet.reason);
	ctx.explain = true;
	ck_assert(detects_text("windows-1251", text, &ctx, &explained));
	ck_assert_msg(strstr(explained.reason, "uchardet: windows-1251") != NULL, "%s", explained.reason);
	ck_assert_ptr_eq(quiet.charset, explained.charset);
	ck_assert_int_eq(quiet.confidence, explained.confidence);
	/* Another part's koi8-r scores thousands of nats worse: the vote
	 * cannot bring it within reach, so it is not asked, and asking gives
	 * the same answer. */
	ctx.explain = false;
	ctx.message_charsets[0] = charset_lookup("koi8-r");
	ctx.n_message_charsets = 1;
	ck_assert(detects_text("windows-1251", text, &ctx, &quiet));
	ck_assert_msg(strstr(quiet.reason, "uchardet: not asked") != NULL, "%s", quiet.reason);
	ctx.explain = true;
	ck_assert(detects_text("windows-1251", text, &ctx, &explained));
	ck_assert_ptr_eq(quiet.charset, explained.charset);
	ck_assert_int_eq(quiet.confidence, explained.confidence);
	/* The body text beside a header picks among near candidates by
	 * language, an order the vote can change: asked. */
	ctx.explain = false;
	ctx.n_message_charsets = 0;
	ctx.near_text = charset_lookup("koi8-r");
	ck_assert(detects_text("windows-1251", text, &ctx, &quiet));
	ck_assert_msg(strstr(quiet.reason, "not asked") == NULL, "%s", quiet.reason);
}
END_TEST

START_TEST(test_declared_lie_has_a_large_margin)
{
	assert_declared_loses("utf-8", russian);
	assert_declared_loses("utf-8", french);
	assert_declared_loses("koi8-r", russian);
	assert_declared_loses("windows-1251", russian);
}
END_TEST

START_TEST(test_declared_truth_is_not_outscored)
{
	struct detect_alternative alt;
	size_t n;
	char *bytes = encode("windows-1252", french, &n);

	/* iso-8859-1 decodes this text to the same characters: no alternative. */
	if (score_declared(bytes, n, "windows-1252", &alt)) {
		ck_assert_ptr_ne(alt.best, charset_lookup("iso-8859-1"));
		ck_assert_msg(alt.margin < 0, "%s scores %.1f nats better than the truth",
			      alt.best->mime_name, alt.margin);
	}
	ck_assert(alt.declared_decodes);
	ck_assert_str_eq(alt.declared_lang, "fr");
	free(bytes);
	/* A declared charset that does not decode says so. */
	bytes = encode("utf-8", french, &n);
	ck_assert(score_declared(bytes, n, "us-ascii", &alt));
	ck_assert(!alt.declared_decodes);
	ck_assert_ptr_eq(alt.best, charset_lookup("utf-8"));
	free(bytes);
	/* ASCII carries no evidence. */
	ck_assert(!score_declared("plain words", 11, "iso-8859-1", &alt));
	ck_assert_ptr_null(alt.best);
}
END_TEST

static Suite *
detect_suite(void)
{
	Suite *s = suite_create("detect");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ascii_needs_no_charset);
	tcase_add_test(tc, test_valid_utf8_wins);
	tcase_add_test(tc, test_iso2022jp_by_escapes);
	tcase_add_test(tc, test_cyrillic_siblings_are_told_apart);
	tcase_add_test(tc, test_c1_bytes_mean_windows_not_iso);
	tcase_add_test(tc, test_rule_that_does_not_decode_is_ruled_out);
	tcase_add_test(tc, test_context_charset_decides_short_text);
	tcase_add_test(tc, test_html_meta_is_context);
	tcase_add_test(tc, test_multibyte_candidates_ask_the_oracle);
	tcase_add_test(tc, test_oracle_asked_lazily_and_obeyed);
	tcase_add_test(tc, test_hostile_bytes_get_a_decoding_answer);
	tcase_add_test(tc, test_tld_hints);
	tcase_add_test(tc, test_uchardet_only_relabels);
	tcase_add_test(tc, test_uchardet_asked_only_when_it_matters);
	tcase_add_test(tc, test_declared_lie_has_a_large_margin);
	tcase_add_test(tc, test_declared_truth_is_not_outscored);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(detect_suite());
	int failed;

	cv = charset_conv_new();
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	charset_conv_free(cv);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
