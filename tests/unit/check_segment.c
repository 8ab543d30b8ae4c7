/*
 * check_segment.c -- unit tests for texts in several charsets (segment.h):
 * a reply in one charset over a quote in another is split where the quote
 * begins, a short line goes with its neighbours, a text in one charset is
 * never split, and the limits hold.  Texts are real sentences, encoded here
 * with iconv, never produced by the code under test.
 */
#include "config.h"

#include <check.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "buf.h"
#include "charset.h"
#include "detect.h"
#include "segment.h"

#define REPLY "Добрый день, Сергей!\n\nСпасибо за письмо. Я посмотрел документы и согласен со всеми " \
	"условиями договора, кроме пункта о сроках поставки.\n\nИван Петрович пишет:\n"
#define QUOTE "> Здравствуйте, Иван Петрович!\n> Направляю вам проект договора на поставку " \
	"оборудования. Прошу ознакомиться и сообщить ваше мнение до пятницы.\n> С уважением, Сергей\n"

/* utf8 encoded in charset `to`, appended to b. */
static void append_as(struct buf *b, const char *to, const char *utf8)
{
	iconv_t cd = iconv_open(to, "UTF-8");
	size_t il = strlen(utf8), cap = il * 4 + 8, ol = cap;
	char *out = malloc(cap), *op = out, *ip = (char *)utf8;

	ck_assert(cd != (iconv_t)-1);
	ck_assert(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0);
	iconv_close(cd);
	ck_assert_int_eq(buf_append(b, out, cap - ol), 0);
	free(out);
}

struct split {
	bool mixed;
	struct segment_list sl;
	char why[200];
};

/* Run segment_mixed on b's bytes, the whole text taken to be in `whole`. */
static struct split split_of(const struct buf *b, const char *whole)
{
	struct text_analysis ta;
	struct detect_context ctx;
	struct charset_conv *cv = charset_conv_new();
	struct split r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.site_default = charset_lookup("windows-1252");
	memset(&r, 0, sizeof(r));
	text_analysis_of_bytes(&ta, b->data, b->len);
	r.mixed = segment_mixed(&ta, charset_lookup(whole), &ctx, cv, &r.sl, r.why, sizeof(r.why));
	text_analysis_free(&ta);
	charset_conv_free(cv);
	return r;
}

START_TEST(a_reply_over_a_quote_in_another_charset_splits_where_the_quote_begins)
{
	struct buf b;
	struct split r;
	size_t quote_at;

	buf_init(&b, 1 << 20);
	append_as(&b, "CP1251", REPLY);
	quote_at = b.len;
	append_as(&b, "KOI8-R", QUOTE);
	/* whichever of the two the whole text was taken to be */
	r = split_of(&b, "windows-1251");
	ck_assert(r.mixed);
	ck_assert_uint_eq(r.sl.n, 2);
	ck_assert_uint_eq(r.sl.at[0], 0);
	ck_assert_uint_eq(r.sl.at[1], quote_at);
	ck_assert_str_eq(r.sl.cs[0]->mime_name, "windows-1251");
	ck_assert_str_eq(r.sl.cs[1]->mime_name, "koi8-r");
	ck_assert_uint_eq(r.sl.line[1], 6);
	ck_assert_ptr_nonnull(strstr(r.why, "windows-1251 lines 1-5, koi8-r lines 6-8"));
	r = split_of(&b, "koi8-r");
	ck_assert(r.mixed);
	ck_assert_uint_eq(r.sl.n, 2);
	ck_assert_uint_eq(r.sl.at[1], quote_at);
	ck_assert_str_eq(r.sl.cs[0]->mime_name, "windows-1251");
	buf_free(&b);
}
END_TEST

START_TEST(a_utf8_block_is_utf8_and_a_short_line_stays_with_its_neighbours)
{
	struct buf b;
	struct split r;
	size_t utf8_at;

	buf_init(&b, 1 << 20);
	append_as(&b, "CP1252", "Sehr geehrte Frau Müller,\n\nvielen Dank für Ihre schnelle Rückmeldung.\n\n"
		  "Bis Montag.\n\nJörg\n\n");	/* "Jörg": one 8-bit byte, too little alone */
	utf8_at = b.len;
	append_as(&b, "UTF-8", "-- \nJörg Weiß · Prüfstelle Süd · Grüße aus München\n");
	r = split_of(&b, "windows-1252");
	ck_assert(r.mixed);
	ck_assert_uint_eq(r.sl.n, 2);
	ck_assert_uint_eq(r.sl.at[1], utf8_at);
	ck_assert_str_eq(r.sl.cs[0]->mime_name, "windows-1252");
	ck_assert_str_eq(r.sl.cs[1]->mime_name, "utf-8");
	buf_free(&b);
}
END_TEST

START_TEST(a_text_in_one_charset_is_never_split)
{
	static const char *const cs[] = { "CP1251", "KOI8-R" };
	static const char *const mime[] = { "windows-1251", "koi8-r" };
	struct buf b;

	for (size_t i = 0; i < 2; i++) {
		buf_init(&b, 1 << 20);
		append_as(&b, cs[i], REPLY QUOTE);
		ck_assert(!split_of(&b, mime[i]).mixed);
		buf_free(&b);
	}
}
END_TEST

START_TEST(limits_no_split_past_the_paragraph_bound_or_a_cut_sample)
{
	struct buf b;
	struct split r;
	struct text_analysis ta;
	struct detect_context ctx;
	struct segment_list sl;
	struct charset_conv *cv = charset_conv_new();
	char why[100];

	buf_init(&b, 1 << 22);
	for (size_t i = 0; i <= SEGMENT_PARAGRAPHS; i++)
		append_as(&b, "CP1251", "Спасибо за письмо, всё получил.\n\n");
	append_as(&b, "KOI8-R", QUOTE);
	r = split_of(&b, "windows-1251");
	ck_assert(!r.mixed);
	ck_assert_uint_eq(r.sl.n, 0);
	buf_free(&b);
	/* longer than the analysis sample: the split would not see all of it */
	buf_init(&b, 1 << 22);
	append_as(&b, "CP1251", REPLY);
	while (b.len <= ANALYZE_SAMPLE)
		ck_assert_int_eq(buf_append(&b, "plain ASCII filler line\n", 24), 0);
	append_as(&b, "KOI8-R", QUOTE);
	memset(&ctx, 0, sizeof(ctx));
	ctx.site_default = charset_lookup("windows-1252");
	text_analysis_init(&ta, CTE_8BIT, false);
	text_analysis_feed(&ta, b.data, b.len);
	text_analysis_finish(&ta);
	ck_assert(!ta.sample_complete);
	ck_assert(!segment_mixed(&ta, charset_lookup("windows-1251"), &ctx, cv, &sl, why, sizeof(why)));
	text_analysis_free(&ta);
	charset_conv_free(cv);
	buf_free(&b);
}
END_TEST

static Suite *segment_suite(void)
{
	Suite *s = suite_create("segment");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_reply_over_a_quote_in_another_charset_splits_where_the_quote_begins);
	tcase_add_test(tc, a_utf8_block_is_utf8_and_a_short_line_stays_with_its_neighbours);
	tcase_add_test(tc, a_text_in_one_charset_is_never_split);
	tcase_add_test(tc, limits_no_split_past_the_paragraph_bound_or_a_cut_sample);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(segment_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
