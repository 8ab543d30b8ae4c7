/*
 * check_analyze.c -- unit tests for the transfer-encoding decoders and the
 * one-pass text analysis (analyze.h).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "buf.h"

/* ---- helpers ----------------------------------------------------------------------- */

static void
collect(void *arg, const char *data, size_t len)
{
	ck_assert_int_eq(buf_append(arg, data, len), 0);
}

/* Decode in chunks of `chunk` bytes (0 = one shot); returns the errors flag. */
static bool
decode(enum mime_cte cte, const char *in, size_t len, size_t chunk, struct buf *out)
{
	struct cte_decoder d;

	buf_init(out, 1 << 24);
	cte_decoder_init(&d, cte);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t i = 0; i < len; i += chunk)
		cte_decoder_feed(&d, in + i, len - i < chunk ? len - i : chunk, collect, out);
	cte_decoder_finish(&d, collect, out);
	return d.errors;
}

/* Decoding one-shot, byte by byte and in 7-byte chunks gives the same bytes and errors. */
static void
assert_chunking_invariant(enum mime_cte cte, const char *in, size_t len)
{
	struct buf one, split;
	bool e1 = decode(cte, in, len, 0, &one);
	static const size_t chunks[] = { 1, 2, 3, 7, 64 };

	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		bool e2 = decode(cte, in, len, chunks[k], &split);
		ck_assert_uint_eq(one.len, split.len);
		ck_assert_mem_eq(one.data ? one.data : "", split.data ? split.data : "", one.len);
		ck_assert_int_eq(e1, e2);
		buf_free(&split);
	}
	buf_free(&one);
}

/* Independent base64 encoder for the round-trip tests. */
static char *
b64_encode(const unsigned char *p, size_t n, size_t line, size_t *outlen)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(n * 2 + 16), *o = out;
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
		*o++ = i + 1 < n ? al[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? al[v & 63] : '=';
		if (line && (col += 4) >= line) {
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
	}
	*outlen = (size_t)(o - out);
	return out;
}

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

/* ---- base64 ---------------------------------------------------------------------------- */

START_TEST(test_base64_decodes_padded_quanta)
{
	struct buf out;
	static const char in[] = "SGVsbG8sIHdvcmxk\r\nIQ==\r\n";

	ck_assert(!decode(CTE_BASE64, in, strlen(in), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "Hello, world!");
	buf_free(&out);
}
END_TEST

START_TEST(test_base64_random_roundtrip_any_chunking)
{
	unsigned char data[3001];
	unsigned seed = 12345;

	for (size_t n = 0; n < sizeof(data); n += 97) {
		for (size_t i = 0; i < n; i++)
			data[i] = (unsigned char)((seed = seed * 1103515245 + 12345) >> 16);
		size_t elen;
		char *enc = b64_encode(data, n, 76, &elen);
		struct buf out;

		ck_assert(!decode(CTE_BASE64, enc, elen, 1, &out));
		ck_assert_uint_eq(out.len, n);
		if (n > 0)
			ck_assert_mem_eq(out.data, data, n);
		buf_free(&out);
		assert_chunking_invariant(CTE_BASE64, enc, elen);
		free(enc);
	}
}
END_TEST

START_TEST(test_base64_skips_whitespace_and_counts_junk)
{
	struct buf out;
	static const char spaced[] = " SGVs\tbG8 \n";
	static const char junk[] = "SGV*sbG8!";

	ck_assert(!decode(CTE_BASE64, spaced, strlen(spaced), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "Hello");
	buf_free(&out);
	ck_assert(decode(CTE_BASE64, junk, strlen(junk), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "Hello");
	buf_free(&out);
	assert_chunking_invariant(CTE_BASE64, junk, strlen(junk));
}
END_TEST

START_TEST(test_base64_truncated_quantum_is_an_error)
{
	struct buf out;
	static const char in[] = "SGVsbG8";	/* 7 chars: "Hello" needs "SGVsbG8=" */
	static const char broken[] = "SGVsb";	/* 5 chars: one lone 6-bit group */

	ck_assert(!decode(CTE_BASE64, in, strlen(in), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "Hello");
	buf_free(&out);
	ck_assert(decode(CTE_BASE64, broken, strlen(broken), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "Hel");
	buf_free(&out);
}
END_TEST

/* ---- quoted-printable ------------------------------------------------------------------ */

START_TEST(test_qp_escapes_and_soft_breaks)
{
	struct buf out;
	static const char in[] = "caf=E9 =3d=3D soft=\r\nbreak lf=\nbreak pad=  \r\nend\r\nhard\n";

	ck_assert(!decode(CTE_QP, in, strlen(in), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "caf\xe9 == softbreak lfbreak padend\r\nhard\n");
	buf_free(&out);
	assert_chunking_invariant(CTE_QP, in, strlen(in));
}
END_TEST

START_TEST(test_qp_broken_escape_passes_through_and_flags)
{
	struct buf out;
	static const char in[] = "a=ZZb=4";

	ck_assert(decode(CTE_QP, in, strlen(in), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "a=ZZb=4");
	buf_free(&out);
	assert_chunking_invariant(CTE_QP, in, strlen(in));
	static const char pad_then_text[] = "x= y";
	ck_assert(decode(CTE_QP, pad_then_text, strlen(pad_then_text), 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "x= y");
	buf_free(&out);
	assert_chunking_invariant(CTE_QP, pad_then_text, strlen(pad_then_text));
}
END_TEST

START_TEST(test_qp_trailing_equals_is_soft_break)
{
	struct buf out;

	ck_assert(!decode(CTE_QP, "abc=", 4, 0, &out));
	ck_assert_str_eq(buf_cstr(&out), "abc");
	buf_free(&out);
}
END_TEST

START_TEST(test_identity_ctes_pass_bytes)
{
	struct buf out;
	static const char in[] = "=E9 SGVs\x80\r\n";

	ck_assert(!decode(CTE_8BIT, in, strlen(in), 1, &out));
	ck_assert_str_eq(buf_cstr(&out), in);
	buf_free(&out);
}
END_TEST

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
	size_t elen;
	static const unsigned char text[] = "Gr\xc3\xbc\xc3\x9f" "e";	/* UTF-8 */
	char *enc = b64_encode(text, sizeof(text) - 1, 76, &elen);

	analyze(&ta, CTE_BASE64, false, enc, elen, 1);
	ck_assert_uint_eq(ta.decoded_len, sizeof(text) - 1);
	ck_assert(ta.has_8bit && !ta.decode_errors);
	ck_assert(text_analysis_utf8_ok(&ta));
	ck_assert_mem_eq(ta.sample, text, sizeof(text) - 1);
	ck_assert(ta.sample_complete);
	text_analysis_free(&ta);
	free(enc);
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

	tcase_add_test(tc, test_base64_decodes_padded_quanta);
	tcase_add_test(tc, test_base64_random_roundtrip_any_chunking);
	tcase_add_test(tc, test_base64_skips_whitespace_and_counts_junk);
	tcase_add_test(tc, test_base64_truncated_quantum_is_an_error);
	tcase_add_test(tc, test_qp_escapes_and_soft_breaks);
	tcase_add_test(tc, test_qp_broken_escape_passes_through_and_flags);
	tcase_add_test(tc, test_qp_trailing_equals_is_soft_break);
	tcase_add_test(tc, test_identity_ctes_pass_bytes);
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
