/*
 * check_cte.c -- unit tests for the transfer encodings (cte.h): the
 * streaming decoder (any chunking gives the same bytes and errors), the
 * streaming encoder (line widths, soft breaks, canonical base64, round trips
 * through the decoder) and the shared tables.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cte.h"

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

/* ---- encoding -------------------------------------------------------------------------- */

struct encoded {
	struct buf b;
	size_t calls;
};

static void
put_encoded(void *arg, const char *data, size_t len)
{
	struct encoded *e = arg;

	e->calls++;
	ck_assert_int_eq(buf_append(&e->b, data, len), 0);
}

/* Encode text fed in chunks of `chunk` bytes; out holds the result (caller frees). */
static void
encode(enum mime_cte cte, bool crlf, const char *in, size_t len, size_t chunk, bool ended_eol,
       struct encoded *out)
{
	struct cte_encoder e;

	buf_init(&out->b, 1 << 24);
	out->calls = 0;
	cte_encoder_init(&e, cte, crlf, put_encoded, out);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t i = 0; i < len; i += chunk)
		cte_encoder_text(&e, in + i, len - i < chunk ? len - i : chunk);
	cte_encoder_finish(&e, ended_eol);
}

/* No line of out (split at LF) is longer than max, line end excluded. */
static void
assert_lines_within(const struct buf *out, size_t max)
{
	size_t col = 0;

	for (size_t i = 0; i < out->len; i++) {
		if (out->data[i] == '\n') {
			col = 0;
			continue;
		}
		if (out->data[i] != '\r')
			col++;
		ck_assert_uint_le(col, max);
	}
}

START_TEST(test_b64_group_pads_partial_quanta)
{
	char q[4];

	cte_b64_group((const unsigned char *)"Man", 3, q);
	ck_assert_mem_eq(q, "TWFu", 4);
	cte_b64_group((const unsigned char *)"Ma", 2, q);
	ck_assert_mem_eq(q, "TWE=", 4);
	cte_b64_group((const unsigned char *)"\xff", 1, q);
	ck_assert_mem_eq(q, "/w==", 4);
	ck_assert_int_eq(cte_b64_values['/'], 63);
	ck_assert_int_eq(cte_b64_values['='], CTE_B64_PAD);
	ck_assert_int_eq(cte_b64_values[' '], CTE_B64_SKIP);
	ck_assert_int_eq(cte_b64_values['*'], CTE_B64_BAD);
	ck_assert_int_eq(cte_hex_value('f'), 15);
	ck_assert_int_eq(cte_hex_value('F'), 15);
	ck_assert_int_eq(cte_hex_value('g'), -1);
}
END_TEST

START_TEST(test_encoder_base64_is_canonical_and_76_wide)
{
	static const size_t chunks[] = { 0, 1, 5, 4096 };
	char text[3000];
	struct encoded out;
	struct buf back;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = i % 61 == 60 ? '\n' : (char)(0x80 + i % 97);
	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		encode(CTE_BASE64, false, text, sizeof(text), chunks[k], true, &out);
		assert_lines_within(&out.b, 76);
		/* the encoded form is CRLF text (RFC 2045 6.8): LF became CRLF */
		ck_assert(!decode(CTE_BASE64, out.b.data, out.b.len, 0, &back));
		ck_assert_uint_eq(back.len, sizeof(text) + sizeof(text) / 61);
		ck_assert(back.data[59] == (char)(0x80 + 59 % 97) && back.data[60] == '\r' && back.data[61] == '\n');
		ck_assert(out.b.data[out.b.len - 1] == '\n' && out.b.data[out.b.len - 2] != '\r');
		buf_free(&back);
		buf_free(&out.b);
	}
}
END_TEST

START_TEST(test_encoder_qp_round_trips_with_soft_breaks)
{
	static const char text[] =
	    "caf\xe9 = 100%\tand a line that goes on and on well past seventy-six columns of text, "
	    "which needs soft breaks \r\ntrailing space \nlast";
	struct encoded out;
	struct buf back;

	encode(CTE_QP, true, text, sizeof(text) - 1, 3, false, &out);
	assert_lines_within(&out.b, 76);
	ck_assert(strstr(buf_cstr(&out.b), "caf=E9 =3D 100%\tand") != NULL);
	/* white space before a line break is encoded, not left to be stripped */
	ck_assert(strstr(buf_cstr(&out.b), "breaks=20\r\n") != NULL);
	ck_assert(strstr(buf_cstr(&out.b), "space=20\r\n") != NULL);
	ck_assert(!decode(CTE_QP, out.b.data, out.b.len, 0, &back));
	/* both line ends come back as the part's own (CRLF) */
	ck_assert_str_eq(buf_cstr(&back), "caf\xe9 = 100%\tand a line that goes on and on well past seventy-six "
			 "columns of text, which needs soft breaks \r\ntrailing space \r\nlast");
	buf_free(&back);
	buf_free(&out.b);
}
END_TEST

START_TEST(test_encoder_8bit_keeps_text_and_bare_cr)
{
	struct encoded out;

	encode(CTE_8BIT, false, "a\r\nb\rc\n", 7, 1, true, &out);
	ck_assert_uint_eq(out.b.len, 6);	/* CRLF and LF both written as the part's LF */
	ck_assert_mem_eq(out.b.data, "a\nb\rc\n", 6);
	buf_free(&out.b);
	/* a range that ended with a line break gets one back */
	encode(CTE_7BIT, true, "x", 1, 0, true, &out);
	ck_assert_str_eq(buf_cstr(&out.b), "x\r\n");
	buf_free(&out.b);
}
END_TEST

START_TEST(test_encoder_hands_out_runs_not_bytes)
{
	char text[20000];
	struct encoded out;

	memset(text, 'a', sizeof(text));
	encode(CTE_QP, false, text, sizeof(text), 1, false, &out);
	ck_assert_uint_gt(out.b.len, sizeof(text));
	ck_assert_uint_le(out.calls, out.b.len / (CTE_ENCODER_BUF / 2) + 1);
	buf_free(&out.b);
}
END_TEST

static Suite *
cte_suite(void)
{
	Suite *s = suite_create("cte");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_base64_decodes_padded_quanta);
	tcase_add_test(tc, test_base64_random_roundtrip_any_chunking);
	tcase_add_test(tc, test_base64_skips_whitespace_and_counts_junk);
	tcase_add_test(tc, test_base64_truncated_quantum_is_an_error);
	tcase_add_test(tc, test_qp_escapes_and_soft_breaks);
	tcase_add_test(tc, test_qp_broken_escape_passes_through_and_flags);
	tcase_add_test(tc, test_qp_trailing_equals_is_soft_break);
	tcase_add_test(tc, test_identity_ctes_pass_bytes);
	tcase_add_test(tc, test_b64_group_pads_partial_quanta);
	tcase_add_test(tc, test_encoder_base64_is_canonical_and_76_wide);
	tcase_add_test(tc, test_encoder_qp_round_trips_with_soft_breaks);
	tcase_add_test(tc, test_encoder_8bit_keeps_text_and_bare_cr);
	tcase_add_test(tc, test_encoder_hands_out_runs_not_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cte_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
