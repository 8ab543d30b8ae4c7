/*
 * check_mimeparam.c -- unit tests for Content-Type/Disposition parsing (mimeparam.h).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mimeparam.h"

static struct mparams mp;

static void parse(const char *s, bool has_type)
{
	mparams_parse(&mp, s, strlen(s), has_type);
}

static void teardown(void)
{
	mparams_free(&mp);
}

static const char *val(const char *name)
{
	const struct mparam *p = mparams_get(&mp, name);

	return p ? p->value : NULL;
}

START_TEST(test_type_and_subtype_are_lowercased)
{
	parse(" Text/PLAIN; Charset=\"UTF-8\"", true);
	ck_assert_str_eq(mp.type, "text");
	ck_assert_str_eq(mp.subtype, "plain");
	ck_assert_uint_eq(mp.type_end, 11);
	ck_assert_uint_eq(mp.nparam, 1);
	ck_assert_str_eq(mp.param[0].name, "charset");
	ck_assert_str_eq(val("CHARSET"), "UTF-8");
	ck_assert(mp.param[0].quoted);
	ck_assert(!mp.param[0].rfc2231);
	ck_assert_uint_eq(mp.errors, 0);
}
END_TEST

START_TEST(test_comments_and_folding_are_skipped)
{
	parse("text/plain (a (nested) comment)\r\n\t; (c) charset = (x) us-ascii (Plain text)\r\n ;\n format=flowed", true);
	ck_assert_str_eq(mp.type, "text");
	ck_assert_str_eq(mp.subtype, "plain");
	ck_assert_str_eq(val("charset"), "us-ascii");
	ck_assert_str_eq(val("format"), "flowed");
	ck_assert_uint_eq(mp.errors, 0);
}
END_TEST

START_TEST(test_quoted_string_unescapes_and_unfolds)
{
	parse("multipart/mixed; boundary=\"a\\\"b;c\\\\d\r\n e\"", true);
	ck_assert_str_eq(val("boundary"), "a\"b;c\\d e");
	ck_assert_uint_eq(mparams_get(&mp, "boundary")->value_len, 9);
	ck_assert_uint_eq(mp.errors, 0);
}
END_TEST

START_TEST(test_unquoted_boundary_with_tspecials_is_accepted_and_flagged)
{
	parse("multipart/alternative; boundary=----=_NextPart_000_0001", true);
	ck_assert_str_eq(val("boundary"), "----=_NextPart_000_0001");
	ck_assert(mp.errors & MPARAM_ERR_SYNTAX);
}
END_TEST

START_TEST(test_spans_let_one_parameter_be_rewritten)
{
	const char *in = "text/plain; charset=\"iso-8859-1\"; format=flowed";
	const struct mparam *p;
	char out[128];

	parse(in, true);
	p = mparams_get(&mp, "charset");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->span_start, 10);
	ck_assert_int_eq(in[p->span_start], ';');
	ck_assert_uint_eq(p->span_end, 32);
	ck_assert_uint_eq(p->value_end - p->value_start, strlen("\"iso-8859-1\""));
	ck_assert_int_eq(in[p->value_start], '"');
	snprintf(out, sizeof(out), "%.*sutf-8%s", (int)p->value_start, in, in + p->value_end);
	ck_assert_str_eq(out, "text/plain; charset=utf-8; format=flowed");
}
END_TEST

START_TEST(test_rfc2231_continuations_are_joined_in_section_order)
{
	parse("application/octet-stream; name*1=\"ond \"; name*0=\"first sec\"; name*2=\"third\"", true);
	ck_assert_str_eq(val("name"), "first second third");
	ck_assert(mparams_get(&mp, "name")->rfc2231);
	ck_assert(!(mp.errors & MPARAM_ERR_2231));
	ck_assert(mparams_get(&mp, "name")->split == false);
}
END_TEST

START_TEST(test_rfc2231_charset_and_percent_decoding)
{
	const struct mparam *p;

	parse("attachment; filename*=UTF-8'de'R%C3%A9sum%C3%A9.pdf", false);
	ck_assert_str_eq(mp.type, "attachment");
	ck_assert_str_eq(mp.subtype, "");
	p = mparams_get(&mp, "filename");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->value, "R\xc3\xa9sum\xc3\xa9.pdf");
	ck_assert_str_eq(p->charset, "UTF-8");
	ck_assert(p->rfc2231);
	ck_assert(!p->raw_8bit);
	ck_assert_uint_eq(mp.errors, 0);
}
END_TEST

START_TEST(test_rfc2231_mixed_encoded_and_plain_sections)
{
	const struct mparam *p;

	parse("attachment; title*0*=us-ascii'en'This%20is%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"", false);
	p = mparams_get(&mp, "title");
	ck_assert_str_eq(p->value, "This is ***fun*** isn't it!");
	ck_assert_str_eq(p->charset, "us-ascii");
	ck_assert_uint_eq(mp.errors, 0);
	ck_assert_uint_eq(p->span_start, 10);
	ck_assert_uint_eq(p->span_end, strlen("attachment; title*0*=us-ascii'en'This%20is%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\""));
}
END_TEST

START_TEST(test_rfc2231_gap_is_flagged_and_rest_kept)
{
	parse("text/plain; name*0=a; name*2=c", true);
	ck_assert(mp.errors & MPARAM_ERR_2231);
	ck_assert_str_eq(val("name"), "ac");
}
END_TEST

START_TEST(test_rfc2231_duplicate_section_is_flagged_first_wins)
{
	parse("text/plain; name*0=a; name*0=b; name*1=c", true);
	ck_assert(mp.errors & MPARAM_ERR_2231);
	ck_assert_str_eq(val("name"), "ac");
	ck_assert_uint_eq(mp.nparam, 1);
}
END_TEST

START_TEST(test_rfc2231_bad_percent_escape_is_kept_literally)
{
	parse("text/plain; name*=utf-8''100%zz%4", true);
	ck_assert(mp.errors & MPARAM_ERR_2231);
	ck_assert_str_eq(val("name"), "100%zz%4");
}
END_TEST

START_TEST(test_rfc2231_missing_charset_quotes_is_flagged)
{
	parse("text/plain; name*=abc%41", true);
	ck_assert(mp.errors & MPARAM_ERR_2231);
	ck_assert_str_eq(val("name"), "abcA");
	ck_assert_ptr_null(mparams_get(&mp, "name")->charset);
}
END_TEST

START_TEST(test_rfc2231_malformed_star_suffix_is_flagged)
{
	parse("text/plain; name*x=1; name*01=2; charset=utf-8", true);
	ck_assert(mp.errors & MPARAM_ERR_2231);
	ck_assert_ptr_null(mparams_get(&mp, "name"));
	ck_assert_str_eq(val("charset"), "utf-8");
}
END_TEST

START_TEST(test_rfc2231_nonadjacent_sections_are_marked_split)
{
	const struct mparam *p;

	parse("text/plain; name*0=ab; charset=x; name*1=cd", true);
	p = mparams_get(&mp, "name");
	ck_assert_str_eq(p->value, "abcd");
	ck_assert(p->split);
	ck_assert_uint_eq(p->span_start, 10);
	ck_assert_uint_eq(p->span_end, 21);
	ck_assert_str_eq(val("charset"), "x");
}
END_TEST

START_TEST(test_raw_8bit_value_is_flagged)
{
	parse("text/plain; name=\"r\xe9sum\xe9.txt\"", true);
	ck_assert(mp.errors & MPARAM_ERR_8BIT);
	ck_assert(mparams_get(&mp, "name")->raw_8bit);
	ck_assert_str_eq(val("name"), "r\xe9sum\xe9.txt");
}
END_TEST

START_TEST(test_missing_or_invalid_type_is_flagged)
{
	parse("; charset=utf-8", true);
	ck_assert(mp.errors & MPARAM_ERR_NOTYPE);
	ck_assert_str_eq(mp.type, "");
	ck_assert_str_eq(val("charset"), "utf-8");
	mparams_free(&mp);
	parse("text; charset=utf-8", true);
	ck_assert(mp.errors & MPARAM_ERR_NOTYPE);
	ck_assert_str_eq(mp.type, "");
	ck_assert_str_eq(mp.subtype, "");
	ck_assert_str_eq(val("charset"), "utf-8");
	mparams_free(&mp);
	parse("", true);
	ck_assert(mp.errors & MPARAM_ERR_NOTYPE);
	ck_assert_uint_eq(mp.nparam, 0);
}
END_TEST

START_TEST(test_overlong_type_token_is_refused)
{
	char in[200];

	memset(in, 'a', 100);
	snprintf(in + 100, sizeof(in) - 100, "/plain; charset=x");
	parse(in, true);
	ck_assert(mp.errors & MPARAM_ERR_NOTYPE);
	ck_assert(mp.errors & MPARAM_ERR_LIMIT);
	ck_assert_str_eq(val("charset"), "x");
}
END_TEST

START_TEST(test_garbage_between_parameters_is_skipped)
{
	parse("text/html garbage \"q;uoted\" ; junk ; =x; charset=utf-8;;", true);
	ck_assert(mp.errors & MPARAM_ERR_SYNTAX);
	ck_assert_str_eq(mp.subtype, "html");
	ck_assert_str_eq(val("charset"), "utf-8");
	ck_assert_uint_eq(mp.nparam, 1);
}
END_TEST

START_TEST(test_unterminated_quote_and_comment_do_not_overrun)
{
	parse("text/plain; charset=\"utf-8", true);
	ck_assert(mp.errors & MPARAM_ERR_SYNTAX);
	ck_assert_str_eq(val("charset"), "utf-8");
	mparams_free(&mp);
	parse("text/plain (unterminated; charset=x", true);
	ck_assert(mp.errors & MPARAM_ERR_SYNTAX);
	ck_assert_ptr_null(mparams_get(&mp, "charset"));
	mparams_free(&mp);
	parse("text/plain; charset=\"", true);
	ck_assert_str_eq(val("charset"), "");
}
END_TEST

START_TEST(test_too_many_parameters_are_capped)
{
	struct buf b;
	int i;

	buf_init(&b, 1 << 20);
	buf_puts(&b, "text/plain");
	for (i = 0; i < 500; i++)
		buf_printf(&b, "; p%d=v%d", i, i);
	mparams_parse(&mp, b.data, b.len, true);
	ck_assert_uint_eq(mp.nparam, MPARAM_MAX);
	ck_assert(mp.errors & MPARAM_ERR_LIMIT);
	ck_assert_str_eq(val("p0"), "v0");
	ck_assert_str_eq(val("p63"), "v63");
	ck_assert_ptr_null(mparams_get(&mp, "p64"));
	buf_free(&b);
}
END_TEST

START_TEST(test_overlong_value_is_truncated_at_limit)
{
	struct buf b;
	int i;

	buf_init(&b, 1 << 20);
	buf_puts(&b, "text/plain; name=\"");
	for (i = 0; i < MPARAM_MAX_VALUE + 100; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\"; charset=y");
	mparams_parse(&mp, b.data, b.len, true);
	ck_assert(mp.errors & MPARAM_ERR_LIMIT);
	ck_assert_uint_eq(mparams_get(&mp, "name")->value_len, MPARAM_MAX_VALUE);
	ck_assert_str_eq(val("charset"), "y");
	buf_free(&b);
}
END_TEST

START_TEST(test_plain_and_extended_forms_are_both_kept)
{
	parse("attachment; filename=\"plain.txt\"; filename*=utf-8''ext.txt", false);
	ck_assert_uint_eq(mp.nparam, 2);
	ck_assert_str_eq(mp.param[0].value, "plain.txt");
	ck_assert(!mp.param[0].rfc2231);
	ck_assert_str_eq(mp.param[1].value, "ext.txt");
	ck_assert(mp.param[1].rfc2231);
}
END_TEST

START_TEST(test_nul_byte_ends_unquoted_value_and_parsing_resyncs)
{
	static const char in[] = "text/plain; name=a\0b; x=y";

	mparams_parse(&mp, in, sizeof(in) - 1, true);
	/* A NUL is a CTL: it ends the unquoted value; the rest resyncs at ';'. */
	ck_assert_str_eq(val("name"), "a");
	ck_assert_str_eq(val("x"), "y");
	ck_assert(mp.errors & MPARAM_ERR_SYNTAX);
}
END_TEST

static Suite *mimeparam_suite(void)
{
	Suite *s = suite_create("mimeparam");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_type_and_subtype_are_lowercased);
	tcase_add_test(tc, test_comments_and_folding_are_skipped);
	tcase_add_test(tc, test_quoted_string_unescapes_and_unfolds);
	tcase_add_test(tc, test_unquoted_boundary_with_tspecials_is_accepted_and_flagged);
	tcase_add_test(tc, test_spans_let_one_parameter_be_rewritten);
	tcase_add_test(tc, test_rfc2231_continuations_are_joined_in_section_order);
	tcase_add_test(tc, test_rfc2231_charset_and_percent_decoding);
	tcase_add_test(tc, test_rfc2231_mixed_encoded_and_plain_sections);
	tcase_add_test(tc, test_rfc2231_gap_is_flagged_and_rest_kept);
	tcase_add_test(tc, test_rfc2231_duplicate_section_is_flagged_first_wins);
	tcase_add_test(tc, test_rfc2231_bad_percent_escape_is_kept_literally);
	tcase_add_test(tc, test_rfc2231_missing_charset_quotes_is_flagged);
	tcase_add_test(tc, test_rfc2231_malformed_star_suffix_is_flagged);
	tcase_add_test(tc, test_rfc2231_nonadjacent_sections_are_marked_split);
	tcase_add_test(tc, test_raw_8bit_value_is_flagged);
	tcase_add_test(tc, test_missing_or_invalid_type_is_flagged);
	tcase_add_test(tc, test_overlong_type_token_is_refused);
	tcase_add_test(tc, test_garbage_between_parameters_is_skipped);
	tcase_add_test(tc, test_unterminated_quote_and_comment_do_not_overrun);
	tcase_add_test(tc, test_too_many_parameters_are_capped);
	tcase_add_test(tc, test_overlong_value_is_truncated_at_limit);
	tcase_add_test(tc, test_plain_and_extended_forms_are_both_kept);
	tcase_add_test(tc, test_nul_byte_ends_unquoted_value_and_parsing_resyncs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mimeparam_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
