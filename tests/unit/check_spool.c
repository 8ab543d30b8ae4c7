/*
 * check_spool.c -- unit tests for message storage (spool.h).
 *
 * Temp files go to a private mkdtemp() directory under $TMPDIR (never the
 * source tree); the directory must be empty after every test because spool
 * files are unlinked at creation.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char tmpdir[PATH_MAX];

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_spool.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	rmdir(tmpdir);
}

static int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Deterministic pattern so any misplaced byte shows. */
static void fill_pattern(char *p, size_t n, size_t base)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (char)((base + i) * 131 + ((base + i) >> 8));
}

START_TEST(test_small_message_stays_in_memory)
{
	struct spool *s = spool_new(1024, tmpdir, 0);
	char out[16];

	ck_assert_int_eq(spool_write(s, "hello ", 6), 0);
	ck_assert_int_eq(spool_write(s, "world", 5), 0);
	ck_assert_uint_eq(spool_size(s), 11);
	ck_assert_int_eq(spool_is_file(s), 0);
	ck_assert_ptr_nonnull(spool_memory(s));
	ck_assert_mem_eq(spool_memory(s), "hello world", 11);
	ck_assert_int_eq(spool_read(s, 6, out, sizeof(out)), 5);
	ck_assert_mem_eq(out, "world", 5);
	ck_assert_int_eq(spool_read(s, 11, out, 1), 0);
	ck_assert_int_eq(spool_read(s, 500, out, 1), 0);
	spool_free(s);
}
END_TEST

START_TEST(test_write_past_threshold_spills_to_unlinked_file)
{
	struct spool *s = spool_new(100, tmpdir, 0);
	char in[300], out[300];

	fill_pattern(in, sizeof(in), 0);
	ck_assert_int_eq(spool_write(s, in, 100), 0);
	ck_assert_int_eq(spool_is_file(s), 0);
	ck_assert_int_eq(spool_write(s, in + 100, 1), 0);
	ck_assert_int_eq(spool_is_file(s), 1);
	ck_assert_ptr_null(spool_memory(s));
	ck_assert_int_eq(spool_write(s, in + 101, 199), 0);
	ck_assert_uint_eq(spool_size(s), 300);
	ck_assert_int_eq(dir_entries(tmpdir), 0);
	ck_assert_int_eq(spool_read(s, 0, out, sizeof(out)), 300);
	ck_assert_mem_eq(out, in, 300);
	spool_free(s);
}
END_TEST

START_TEST(test_reads_across_the_spill_boundary_match_what_was_written)
{
	struct spool *s = spool_new(4096, tmpdir, 0);
	static char in[20000], out[20000];
	size_t off, len;

	fill_pattern(in, sizeof(in), 7);
	/* Odd chunk sizes so the spill happens mid-chunk. */
	for (off = 0; off < sizeof(in); off += len) {
		len = 977;
		if (len > sizeof(in) - off)
			len = sizeof(in) - off;
		ck_assert_int_eq(spool_write(s, in + off, len), 0);
	}
	ck_assert_int_eq(spool_is_file(s), 1);
	for (off = 0; off < sizeof(in); off += 1531) {
		ssize_t r = spool_read(s, off, out, 3000);
		size_t want = sizeof(in) - off < 3000 ? sizeof(in) - off : 3000;

		ck_assert_int_eq(r, (ssize_t)want);
		ck_assert_mem_eq(out, in + off, want);
	}
	ck_assert_int_eq(spool_read(s, 4090, out, 12), 12);
	ck_assert_mem_eq(out, in + 4090, 12);
	spool_free(s);
}
END_TEST

START_TEST(test_zero_threshold_always_uses_a_file)
{
	struct spool *s = spool_new(0, tmpdir, 0);
	char out[4];

	ck_assert_int_eq(spool_write(s, "", 0), 0);
	ck_assert_int_eq(spool_write(s, "abc", 3), 0);
	ck_assert_int_eq(spool_is_file(s), 1);
	ck_assert_int_eq(spool_read(s, 1, out, 4), 2);
	ck_assert_mem_eq(out, "bc", 2);
	spool_free(s);
}
END_TEST

START_TEST(test_spill_file_is_private_mode_0600)
{
	struct spool *s = spool_new(1, tmpdir, 0);
	DIR *d;
	struct dirent *e;
	int found = 0;
	mode_t old = umask(0);

	ck_assert_int_eq(spool_write(s, "xyz", 3), 0);
	umask(old);
	/* Find the spool's descriptor among ours: a deleted cpm-spool file. */
	d = opendir("/proc/self/fd");
	if (d == NULL) {
		spool_free(s);
		return;		/* no procfs: nothing to inspect */
	}
	while ((e = readdir(d)) != NULL) {
		char link[PATH_MAX + 1], path[300];
		ssize_t n;
		struct stat st;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strstr(link, "cpm-spool.") == NULL)
			continue;
		ck_assert_ptr_nonnull(strstr(link, "(deleted)"));
		ck_assert_int_eq(fstat((int)strtol(e->d_name, NULL, 10), &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0600);
		ck_assert_int_eq(st.st_nlink, 0);
		found++;
	}
	closedir(d);
	ck_assert_int_eq(found, 1);
	spool_free(s);
}
END_TEST

START_TEST(test_max_size_refuses_with_efbig_and_keeps_data)
{
	struct spool *s = spool_new(8, tmpdir, 20);
	char out[32];

	ck_assert_int_eq(spool_write(s, "0123456789", 10), 0);
	ck_assert_int_eq(spool_write(s, "0123456789", 10), 0);
	errno = 0;
	ck_assert_int_eq(spool_write(s, "x", 1), -1);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_uint_eq(spool_size(s), 20);
	ck_assert_int_eq(spool_read(s, 0, out, sizeof(out)), 20);
	ck_assert_mem_eq(out, "01234567890123456789", 20);
	spool_free(s);
}
END_TEST

START_TEST(test_unusable_directory_reports_error_with_errno)
{
	struct spool *s = spool_new(4, "/dev/null/not-a-dir", 0);
	char out[8];

	ck_assert_int_eq(spool_write(s, "abcd", 4), 0);
	errno = 0;
	ck_assert_int_eq(spool_write(s, "e", 1), -1);
	ck_assert_int_ne(errno, 0);
	/* Still consistent: the in-memory data is intact. */
	ck_assert_uint_eq(spool_size(s), 4);
	ck_assert_int_eq(spool_is_file(s), 0);
	ck_assert_int_eq(spool_read(s, 0, out, sizeof(out)), 4);
	ck_assert_mem_eq(out, "abcd", 4);
	spool_free(s);

	s = spool_new(0, "/nonexistent-cpm-dir/x", 0);
	errno = 0;
	ck_assert_int_eq(spool_write(s, "a", 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	spool_free(s);
}
END_TEST

START_TEST(test_null_dir_uses_tmpdir_environment)
{
	struct spool *s;
	char *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;

	setenv("TMPDIR", "/nonexistent-cpm-dir", 1);
	s = spool_new(0, NULL, 0);
	errno = 0;
	ck_assert_int_eq(spool_write(s, "a", 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	spool_free(s);
	setenv("TMPDIR", tmpdir, 1);
	s = spool_new(0, NULL, 0);
	ck_assert_int_eq(spool_write(s, "a", 1), 0);
	ck_assert_int_eq(spool_is_file(s), 1);
	spool_free(s);
	if (old != NULL) {
		setenv("TMPDIR", old, 1);
		free(old);
	} else
		unsetenv("TMPDIR");
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_add_test(tc, test_small_message_stays_in_memory);
	tcase_add_test(tc, test_write_past_threshold_spills_to_unlinked_file);
	tcase_add_test(tc, test_reads_across_the_spill_boundary_match_what_was_written);
	tcase_add_test(tc, test_zero_threshold_always_uses_a_file);
	tcase_add_test(tc, test_spill_file_is_private_mode_0600);
	tcase_add_test(tc, test_max_size_refuses_with_efbig_and_keeps_data);
	tcase_add_test(tc, test_unusable_directory_reports_error_with_errno);
	tcase_add_test(tc, test_null_dir_uses_tmpdir_environment);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
