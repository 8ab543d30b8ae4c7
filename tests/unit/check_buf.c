/*
 * check_buf.c -- unit tests for the bounded growing buffer (buf.h).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

START_TEST(test_empty_buffer_is_empty_string)
{
	struct buf b;

	buf_init(&b, 100);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_free(&b);
}
END_TEST

START_TEST(test_append_keeps_bytes_and_nul_terminates)
{
	struct buf b;
	static const char bin[] = { 'a', '\0', 'b', (char)0xff };

	buf_init(&b, 100);
	ck_assert_int_eq(buf_append(&b, bin, sizeof(bin)), 0);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.data, bin, 4);
	ck_assert_int_eq(b.data[4], '\0');
	ck_assert_int_eq(buf_puts(&b, "xyz"), 0);
	ck_assert_int_eq(buf_putc(&b, '!'), 0);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_mem_eq(b.data + 4, "xyz!", 5);
	buf_free(&b);
}
END_TEST

START_TEST(test_append_past_max_fails_and_leaves_buffer_unchanged)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_puts(&b, "0123456789"), 0);
	ck_assert_int_eq(buf_putc(&b, 'x'), -1);
	ck_assert_int_eq(buf_puts(&b, "abc"), -1);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(buf_cstr(&b), "0123456789");
	ck_assert_uint_le(b.cap, 11);
	buf_free(&b);
}
END_TEST

START_TEST(test_huge_append_request_is_refused_without_allocating)
{
	struct buf b;

	buf_init(&b, 1000);
	ck_assert_int_eq(buf_puts(&b, "ab"), 0);
	ck_assert_int_eq(buf_append(&b, "x", (size_t)-1), -1);
	ck_assert_int_eq(buf_append(&b, "x", (size_t)-2), -1);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_uint_le(b.cap, 1001);
	buf_free(&b);
}
END_TEST

START_TEST(test_growth_to_a_megabyte_keeps_content)
{
	struct buf b;
	size_t i, failed_puts = 0;

	/* One assertion for the million appends: every ck_assert costs Check a
	 * write to its result pipe, which took over the 4 s timeout on a loaded
	 * 2-core machine. */
	buf_init(&b, 1 << 20);
	for (i = 0; i < (1 << 20); i++)
		if (buf_putc(&b, (int)('a' + i % 26)) != 0)
			failed_puts++;
	ck_assert_uint_eq(failed_puts, 0);
	ck_assert_int_eq(buf_putc(&b, 'z'), -1);
	for (i = 0; i < (1 << 20); i += 4099)
		ck_assert_int_eq(b.data[i], (char)('a' + i % 26));
	ck_assert_int_eq(b.data[b.len], '\0');
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_formats_and_respects_max)
{
	struct buf b;
	int i;

	buf_init(&b, 40);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "n", 42), 0);
	ck_assert_str_eq(buf_cstr(&b), "n=42");
	ck_assert_int_eq(buf_printf(&b, "%040d", 1), -1);
	ck_assert_str_eq(buf_cstr(&b), "n=42");
	for (i = 0; i < 100; i++)
		if (buf_printf(&b, "%d,", i) < 0)
			break;
	ck_assert_uint_le(b.len, 40);
	ck_assert_uint_eq(strlen(buf_cstr(&b)), b.len);
	buf_free(&b);
}
END_TEST

START_TEST(test_printf_grows_past_initial_capacity)
{
	struct buf b;
	char big[300];

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 10000);
	ck_assert_int_eq(buf_printf(&b, "<%s>", big), 0);
	ck_assert_uint_eq(b.len, 301);
	ck_assert_int_eq(b.data[0], '<');
	ck_assert_int_eq(b.data[300], '>');
	buf_free(&b);
}
END_TEST

START_TEST(test_reset_keeps_storage_and_empties)
{
	struct buf b;
	char *before;

	buf_init(&b, 100);
	buf_puts(&b, "hello");
	before = b.data;
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_cstr(&b), "");
	ck_assert_ptr_eq(b.data, before);
	buf_puts(&b, "x");
	ck_assert_str_eq(buf_cstr(&b), "x");
	buf_free(&b);
}
END_TEST

START_TEST(test_steal_hands_over_storage)
{
	struct buf b;
	char *s;
	size_t len = 99;

	buf_init(&b, 100);
	s = buf_steal(&b, &len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	buf_puts(&b, "abc");
	s = buf_steal(&b, &len);
	ck_assert_str_eq(s, "abc");
	ck_assert_uint_eq(len, 3);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	free(s);
	ck_assert_int_eq(buf_puts(&b, "again"), 0);
	ck_assert_str_eq(buf_cstr(&b), "again");
	buf_free(&b);
}
END_TEST

START_TEST(test_zero_max_accepts_only_empty)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_int_eq(buf_putc(&b, 'a'), -1);
	ck_assert_str_eq(buf_cstr(&b), "");
	buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty_buffer_is_empty_string);
	tcase_add_test(tc, test_append_keeps_bytes_and_nul_terminates);
	tcase_add_test(tc, test_append_past_max_fails_and_leaves_buffer_unchanged);
	tcase_add_test(tc, test_huge_append_request_is_refused_without_allocating);
	tcase_add_test(tc, test_growth_to_a_megabyte_keeps_content);
	tcase_add_test(tc, test_printf_formats_and_respects_max);
	tcase_add_test(tc, test_printf_grows_past_initial_capacity);
	tcase_add_test(tc, test_reset_keeps_storage_and_empties);
	tcase_add_test(tc, test_steal_hands_over_storage);
	tcase_add_test(tc, test_zero_max_accepts_only_empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
