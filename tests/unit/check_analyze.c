/*
 * check_analyze.c -- unit tests for the one-pass text analysis (analyze.h);
 * the transfer-encoding decoder it runs is tested in check_cte.c.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "buf.h"

/* ---- helpers ----------------------------------------------------------------------- */

static void
analyze(struct text_analysis *ta, enum mime_cte cte, bool html, const char *in, size_t len, size_t chunk)
{
	text_analysis_init(ta, cte, html);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t i = 0; i < len; i += chunk)
		text_analysis_feed(ta, in + i, len - i < chunk ? len - i : chunk);
	text_analysis_finish(ta);
}

/* ---- analysis ---------------------------------------------------------------------------- */

START_TEST(test_histogram_and_flags)
{
	struct text_analysis ta;
	static const char in[] = "ab\x80\xe9\x1b" "a";

	analyze(&ta, CTE_8BIT, false, in, sizeof(in) - 1, 1);
	ck_assert_uint_eq(ta.decoded_len, 6);
	ck_assert_uint_eq(ta.hist['a'], 2);
	ck_assert_uint_eq(ta.hist[0x80], 1);
	ck_assert(ta.has_8bit && ta.has_c1 && ta.has_esc && !ta.has_nul);
	ck_assert(!text_analysis_is_ascii(&ta));
	ck_assert(!text_analysis_utf8_ok(&ta));
	text_analysis_free(&ta);

	analyze(&ta, CTE_8BIT, false, "a\0b", 3, 0);
	ck_assert(ta.has_nul && !ta.has_8bit && !ta.has_c1);
	ck_assert(text_analysis_is_ascii(&ta));
	text_analysis_free(&ta);
}
END_TEST

START_TEST(test_histogram_of_long_input_matches_count)
{
	struct text_analysis ta;
	size_t n = 100000;
	char *in = malloc(n);

	for (size_t i = 0; i < n; i++)
		in[i] = (char)(i % 251);
	analyze(&ta, CTE_BINARY, false, in, n, 0);
	uint64_t total = 0;
	for (unsigned b = 0; b < 256; b++)
		total += ta.hist[b];
	ck_assert_uint_eq(total, n);
	ck_assert_uint_eq(ta.hist[7], (n / 251) + (n % 251 > 7));
	ck_assert_uint_eq(ta.hist[251], 0);
	text_analysis_free(&ta);
	free(in);
}
END_TEST

START_TEST(test_base64_analysis_sees_decoded_bytes)
{
	struct text_analysis ta;
	static const unsigned char text[] = "Gr\xc3\xbc\xc3\x9f" "e";	/* UTF-8 */
	static const char enc[] = "R3LDvMOfZQ==\r\n";

	analyze(&ta, CTE_BASE64, false, enc, sizeof(enc) - 1, 1);
	ck_assert_uint_eq(ta.decoded_len, sizeof(text) - 1);
	ck_assert(ta.has_8bit && !ta.decode_errors);
	ck_assert(text_analysis_utf8_ok(&ta));
	ck_assert_mem_eq(ta.sample, text, sizeof(text) - 1);
	ck_assert(ta.sample_complete);
	text_analysis_free(&ta);
}
END_TEST

START_TEST(test_iso2022_escapes_across_chunks)
{
	struct text_analysis ta;
	static const char jp[] = "Subject \x1b$B$3$s$K$A$O\x1b(B end";
	static const char kr[] = "\x1b$)C\x0e\x30\x21\x0f";
	static const char back_to_ascii_only[] = "x\x1b(By";

	for (size_t chunk = 0; chunk <= 3; chunk++) {
		analyze(&ta, CTE_7BIT, false, jp, strlen(jp), chunk);
		ck_assert(ta.iso2022jp && !ta.iso2022kr && !ta.hz);
		ck_assert(!text_analysis_is_ascii(&ta));
		text_analysis_free(&ta);
		analyze(&ta, CTE_7BIT, false, kr, strlen(kr), chunk);
		ck_assert(ta.iso2022kr && !ta.iso2022jp);
		text_analysis_free(&ta);
	}
	analyze(&ta, CTE_7BIT, false, back_to_ascii_only, strlen(back_to_ascii_only), 1);
	ck_assert(!ta.iso2022jp);
	text_analysis_free(&ta);
}
END_TEST

START_TEST(test_hz_needs_open_and_close)
{
	struct text_analysis ta;
	static const char hz[] = "Hi ~{<:Ky2;S{#,NR~}bye";
	static const char tilde[] = "home ~user and ~~ and ~{ unclosed";

	analyze(&ta, CTE_7BIT, false, hz, strlen(hz), 1);
	ck_assert(ta.hz);
	text_analysis_free(&ta);
	analyze(&ta, CTE_7BIT, false, tilde, strlen(tilde), 0);
	ck_assert(!ta.hz);
	text_analysis_free(&ta);
}
END_TEST

START_TEST(test_sample_is_bounded)
{
	struct text_analysis ta;
	size_t n = ANALYZE_SAMPLE + 5000;
	char *in = malloc(n);

	memset(in, 'x', n);
	in[n - 1] = '\xe9';
	analyze(&ta, CTE_8BIT, false, in, n, 4000);
	ck_assert_uint_eq(ta.sample_len, ANALYZE_SAMPLE);
	ck_assert(!ta.sample_complete);
	ck_assert_uint_eq(ta.decoded_len, n);
	ck_assert(ta.has_8bit);
	text_analysis_free(&ta);
	free(in);
}
END_TEST

START_TEST(test_longest_line_excludes_line_ends)
{
	struct text_analysis ta;
	static const char in[] = "abc\r\nabcdefg\nab\r\nabcdefghij";

	for (size_t chunk = 0; chunk <= 2; chunk++) {
		analyze(&ta, CTE_8BIT, false, in, strlen(in), chunk);
		ck_assert_uint_eq(ta.max_decoded_line, 10);
		text_analysis_free(&ta);
	}
	analyze(&ta, CTE_8BIT, false, "abcd\r\n", 6, 1);
	ck_assert_uint_eq(ta.max_decoded_line, 4);
	text_analysis_free(&ta);
}
END_TEST

START_TEST(test_html_meta_charset_both_forms)
{
	struct text_analysis ta;
	static const char a[] = "<html><head><META charset=\"windows-1251\"></head>";
	static const char b[] = "<html><meta http-equiv=\"Content-Type\" content=\"text/html; charset=KOI8-R\">";
	static const char none[] = "<html><p>charset=utf-8 outside a meta</p>";

	analyze(&ta, CTE_8BIT, true, a, strlen(a), 1);
	ck_assert_str_eq(ta.html_meta_charset, "windows-1251");
	text_analysis_free(&ta);
	analyze(&ta, CTE_8BIT, true, b, strlen(b), 0);
	ck_assert_str_eq(ta.html_meta_charset, "KOI8-R");
	text_analysis_free(&ta);
	analyze(&ta, CTE_8BIT, true, none, strlen(none), 0);
	ck_assert_str_eq(ta.html_meta_charset, "");
	text_analysis_free(&ta);
	analyze(&ta, CTE_8BIT, false, a, strlen(a), 0);	/* not HTML: not looked at */
	ck_assert_str_eq(ta.html_meta_charset, "");
	text_analysis_free(&ta);
}
END_TEST

START_TEST(test_sbcs_decodes_uses_histogram)
{
	struct text_analysis ta;

	text_analysis_of_bytes(&ta, "x\x81y", 3);
	ck_assert(!text_analysis_sbcs_decodes(&ta, charset_lookup("windows-1252")));
	ck_assert(text_analysis_sbcs_decodes(&ta, charset_lookup("windows-1251")));
	ck_assert(!text_analysis_sbcs_decodes(&ta, charset_lookup("utf-8")));
	text_analysis_free(&ta);
}
END_TEST

static Suite *
analyze_suite(void)
{
	Suite *s = suite_create("analyze");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_histogram_and_flags);
	tcase_add_test(tc, test_histogram_of_long_input_matches_count);
	tcase_add_test(tc, test_base64_analysis_sees_decoded_bytes);
	tcase_add_test(tc, test_iso2022_escapes_across_chunks);
	tcase_add_test(tc, test_hz_needs_open_and_close);
	tcase_add_test(tc, test_sample_is_bounded);
	tcase_add_test(tc, test_longest_line_excludes_line_ends);
	tcase_add_test(tc, test_html_meta_charset_both_forms);
	tcase_add_test(tc, test_sbcs_decodes_uses_histogram);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(analyze_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
