/*
 * check_verify.c -- unit tests for declared-label verification (verify.h):
 * labels that decode but lie are caught, correct labels are kept, and what
 * is never checked is never checked.  Texts are real sentences, encoded here
 * with iconv, never produced by the code under test.
 */
#include "config.h"

#include <check.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "charset.h"
#include "verify.h"

static char *encode(const char *to, const char *utf8, size_t *len)
{
	iconv_t cd = iconv_open(to, "UTF-8");
	size_t il = strlen(utf8), cap = il * 4 + 8, ol = cap;
	char *out = malloc(cap), *op = out, *ip = (char *)utf8;

	ck_assert(cd != (iconv_t)-1);
	ck_assert(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0);
	iconv_close(cd);
	*len = cap - ol;
	return out;
}

struct text { struct charset_conv *cv; const char *p; size_t n; };

static bool text_decodes(void *arg, const struct charset_info *cs)
{
	struct text *t = arg;

	return charset_decodes(t->cv, cs, t->p, t->n, NULL);
}

/* Verify `label` on utf8 text encoded in `really`; returns the verdict. */
static bool lies(const char *label, const char *really, const char *utf8, struct label_verification *v)
{
	struct text t;
	struct text_analysis ta;
	char *bytes;
	bool lie;

	t.cv = charset_conv_new();
	bytes = encode(really, utf8, &t.n);
	t.p = bytes;
	text_analysis_of_bytes(&ta, bytes, t.n);
	lie = verify_label(&ta, charset_lookup(label), t.cv, text_decodes, &t, v);
	text_analysis_free(&ta);
	charset_conv_free(t.cv);
	free(bytes);
	return lie;
}

static const char french[] = "Bonjour, je vous envoie le compte rendu de la réunion de mercredi. "
	"Les décisions prises : reporter la livraison à la fin du mois et prévoir une "
	"répétition générale avant la présentation aux clients. Merci de répondre avant vendredi.";
static const char russian[] = "Добрый день! Отправляю вам протокол вчерашнего совещания. "
	"Просьба ознакомиться и прислать замечания до пятницы, чтобы мы успели "
	"подготовить окончательную версию документа к понедельнику.";

/* A short text has only a few 8-bit bytes of evidence: a one-line Polish
 * windows-1250 message under iso-8859-1 is still a lie (its letters read as
 * symbols inside words), and short correct Latin-1 lines stay. */
START_TEST(test_short_lie_caught_short_truth_kept)
{
	struct label_verification v;
	static const char *const kept[] = {
		"Øystein Ærø ønsker deg god jul.", "Temperatur: 25°C, Fläche 30 m²",
		"¿Qué tal? ¡Hola, señora Muñoz!", "« Bonjour » à côté de l'église.",
		"Mit freundlichen Grüßen", "Grenzwert 40 µg/m³ pro Tag",
	};

	ck_assert(lies("iso-8859-1", "WINDOWS-1250", "Proszę o szybką odpowiedź, dziękuję.", &v));
	ck_assert_str_eq(v.alt.best->mime_name, "windows-1250");
	ck_assert(v.threshold < VERIFY_MARGIN_NATS);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		ck_assert_msg(!lies("iso-8859-1", "ISO-8859-1", kept[i], &v), "%s: margin %.1f >= %.1f",
			      kept[i], v.alt.margin, v.threshold);
}
END_TEST

START_TEST(test_utf8_under_latin1_is_a_lie)
{
	struct label_verification v;

	ck_assert(lies("iso-8859-1", "UTF-8", french, &v));
	ck_assert_str_eq(v.alt.best->mime_name, "utf-8");
	ck_assert(v.checked);
	ck_assert(v.alt.margin > 0);
}
END_TEST

START_TEST(test_koi8r_under_windows_1252_is_a_lie)
{
	struct label_verification v;
	char why[256];

	ck_assert(lies("windows-1252", "KOI8-R", russian, &v));
	ck_assert_str_eq(v.alt.best->mime_name, "koi8-r");
	ck_assert(v.alt.margin >= VERIFY_MARGIN_NATS);
	verify_describe(&v, why, sizeof(why));
	ck_assert_msg(strstr(why, "windows-1252") && strstr(why, "koi8-r") && strstr(why, "margin"), "%s", why);
}
END_TEST

START_TEST(test_cyrillic_under_ibm850_is_a_lie)
{
	struct label_verification v;

	ck_assert(lies("ibm850", "CP1251", russian, &v));
	ck_assert_str_eq(v.alt.best->mime_name, "windows-1251");
}
END_TEST

START_TEST(test_correct_labels_are_kept)
{
	struct label_verification v;

	ck_assert(!lies("windows-1252", "CP1252", french, &v));
	ck_assert(v.checked);
	ck_assert(!lies("iso-8859-1", "ISO-8859-1", french, &v));
	ck_assert(!lies("windows-1251", "CP1251", russian, &v));
	ck_assert(!lies("koi8-r", "KOI8-R", russian, &v));
}
END_TEST

START_TEST(test_multibyte_and_ascii_labels_are_not_checked)
{
	struct label_verification v;

	ck_assert(!lies("utf-8", "UTF-8", french, &v));
	ck_assert(!v.checked);
	ck_assert(!lies("shift_jis", "CP932", "日本語のテキストです。", &v));
	ck_assert(!v.checked);
	ck_assert(!lies("windows-1252", "CP1252", "plain ASCII only", &v));
	ck_assert(!v.checked);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verify");
	TCase *tc = tcase_create("verify");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_utf8_under_latin1_is_a_lie);
	tcase_add_test(tc, test_short_lie_caught_short_truth_kept);
	tcase_add_test(tc, test_koi8r_under_windows_1252_is_a_lie);
	tcase_add_test(tc, test_cyrillic_under_ibm850_is_a_lie);
	tcase_add_test(tc, test_correct_labels_are_kept);
	tcase_add_test(tc, test_multibyte_and_ascii_labels_are_not_checked);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
