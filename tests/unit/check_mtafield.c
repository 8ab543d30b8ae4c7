/*
 * check_mtafield.c -- unit tests for mtafield.h: header fields from
 * libmilter's form (LF between folded lines, leading space kept or not) to
 * the wire form and back, the log key taken from Received: and
 * Message-ID: values as Postfix and Sendmail write them, and the source
 * fields kept for the sender memory's early lookup.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mtafield.h"

START_TEST(test_folded_value_gets_crlf_once)
{
	struct buf f;

	buf_init(&f, 4096);
	ck_assert_int_eq(mtafield_to_wire(&f, "Subject", " a\n\tb\r\n\tc", true), 0);
	ck_assert_str_eq(buf_cstr(&f), "Subject: a\r\n\tb\r\n\tc\r\n");
	buf_free(&f);
}
END_TEST

START_TEST(test_space_after_colon_is_put_back_without_leadspc)
{
	struct buf f;

	buf_init(&f, 4096);
	ck_assert_int_eq(mtafield_to_wire(&f, "To", "x@example.org", false), 0);
	ck_assert_str_eq(buf_cstr(&f), "To: x@example.org\r\n");
	ck_assert_int_eq(mtafield_to_wire(&f, "To", "", true), 0);
	ck_assert_str_eq(buf_cstr(&f), "To:\r\n");
	buf_free(&f);
}
END_TEST

START_TEST(test_field_over_the_cap_fails)
{
	struct buf f;

	buf_init(&f, 16);
	ck_assert_int_eq(mtafield_to_wire(&f, "Subject", " a value longer than the cap", true), -1);
	buf_free(&f);
}
END_TEST

START_TEST(test_value_back_to_the_mta_has_bare_lf)
{
	char *v = mtafield_from_wire(" =?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", true);

	ck_assert_str_eq(v, " =?UTF-8?Q?a?=\n =?UTF-8?Q?b?=");
	free(v);
	v = mtafield_from_wire(" x", false);
	ck_assert_str_eq(v, "x");
	free(v);
	v = mtafield_from_wire("", false);
	ck_assert_str_eq(v, "");
	free(v);
	/* a lone CR is not a line end and stays */
	v = mtafield_from_wire(" a\rb", true);
	ck_assert_str_eq(v, " a\rb");
	free(v);
}
END_TEST

START_TEST(test_received_id_from_postfix_field)
{
	char id[32];

	mtafield_received_id(" from mail.example.org (mail.example.org [192.0.2.1])\n"
	    "\tby mx.example.net (Postfix) with ESMTP id 4jg9jz1HdBz1bdHx\n"
	    "\tfor <u@example.net>; Thu,  3 Dec 2026 12:00:00 +0000 (UTC)", id, sizeof(id));
	ck_assert_str_eq(id, "4jg9jz1HdBz1bdHx");
}
END_TEST

START_TEST(test_received_id_only_after_the_word_id)
{
	char id[32];

	/* "id" inside a word ("valid", "Id:") is not the keyword */
	mtafield_received_id(" from valid.example.org by mx with SMTP; Thu, 3 Dec 2026", id, sizeof(id));
	ck_assert_str_eq(id, "");
	mtafield_received_id(" by mx (8.17.1/8.17.1) with ESMTP ID wB3C0a1x012345;", id, sizeof(id));
	ck_assert_str_eq(id, "wB3C0a1x012345");
	mtafield_received_id(" by mx with ESMTP id", id, sizeof(id));
	ck_assert_str_eq(id, "");
}
END_TEST

START_TEST(test_received_id_is_cut_to_the_buffer)
{
	char id[8];

	mtafield_received_id(" with ESMTP id ABCDEFGHIJKLMNOP", id, sizeof(id));
	ck_assert_str_eq(id, "ABCDEFG");
}
END_TEST

START_TEST(test_message_id_loses_white_space_and_is_cut)
{
	char id[16];

	mtafield_message_id(" <a1@b.org >", id, sizeof(id));
	ck_assert_str_eq(id, "<a1@b.org>");
	mtafield_message_id("\n\t<abcdefghijklmnopqrstuvwxyz@example.org>", id, sizeof(id));
	ck_assert_uint_eq(strlen(id), sizeof(id) - 1);
	ck_assert(strncmp(id, "<abcdefghijklmn", sizeof(id) - 1) == 0);
}
END_TEST

START_TEST(test_source_keeps_the_first_of_each_field_as_the_engine_reads_it)
{
	struct mtafield_source src = { NULL, NULL, NULL };
	struct buf f;

	buf_init(&f, 4096);
	ck_assert_int_eq(mtafield_to_wire(&f, "FROM", " A <a@firma.example>\n\t(x)", true), 0);
	mtafield_source_keep(&src, "FROM", &f);
	ck_assert_int_eq(mtafield_to_wire(&f, "From", " second@else.example", true), 0);
	mtafield_source_keep(&src, "From", &f);
	/* the value after the colon, CRLF folding kept, no final line end */
	ck_assert_str_eq(src.from, " A <a@firma.example>\r\n\t(x)");
	ck_assert_ptr_null(mtafield_source_mailer(&src));
	ck_assert_int_eq(mtafield_to_wire(&f, "User-Agent", " Agent/1", true), 0);
	mtafield_source_keep(&src, "User-Agent", &f);
	ck_assert_str_eq(mtafield_source_mailer(&src), " Agent/1");
	ck_assert_int_eq(mtafield_to_wire(&f, "X-Mailer", "Mailer 2", false), 0);
	mtafield_source_keep(&src, "X-Mailer", &f);
	ck_assert_str_eq(mtafield_source_mailer(&src), " Mailer 2");	/* X-Mailer first, as the engine */
	ck_assert_int_eq(mtafield_to_wire(&f, "Subject", " s", true), 0);
	mtafield_source_keep(&src, "Subject", &f);
	mtafield_source_free(&src);
	ck_assert_ptr_null(src.from);
	buf_free(&f);
}
END_TEST

static Suite *mtafield_suite(void)
{
	Suite *s = suite_create("mtafield");
	TCase *tc = tcase_create("fields");

	tcase_add_test(tc, test_folded_value_gets_crlf_once);
	tcase_add_test(tc, test_space_after_colon_is_put_back_without_leadspc);
	tcase_add_test(tc, test_field_over_the_cap_fails);
	tcase_add_test(tc, test_value_back_to_the_mta_has_bare_lf);
	tcase_add_test(tc, test_received_id_from_postfix_field);
	tcase_add_test(tc, test_received_id_only_after_the_word_id);
	tcase_add_test(tc, test_received_id_is_cut_to_the_buffer);
	tcase_add_test(tc, test_message_id_loses_white_space_and_is_cut);
	tcase_add_test(tc, test_source_keeps_the_first_of_each_field_as_the_engine_reads_it);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mtafield_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
