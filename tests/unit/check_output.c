/*
 * check_output.c -- the edit writer: splices, chunking, and the transcoding
 * pipeline's encoders, verified by decoding what they wrote.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "buf.h"
#include "spool.h"
#include "edit.h"
#include "output.h"
#include "analyze.h"

struct capture {
	struct buf b;
	size_t calls, max_call;
};

static int capture_sink(void *arg, const char *data, size_t len)
{
	struct capture *c = arg;

	c->calls++;
	if (len > c->max_call)
		c->max_call = len;
	return buf_append(&c->b, data, len);
}

static int failing_sink(void *arg, const char *data, size_t len)
{
	(void)arg; (void)data; (void)len;
	return -1;
}

static struct spool *spool_of(const char *data, size_t len, size_t threshold)
{
	struct spool *sp = spool_new(threshold, NULL, 0);

	ck_assert_ptr_nonnull(sp);
	ck_assert_int_eq(spool_write(sp, data, len), 0);
	return sp;
}

static void add_bytes(struct edit_list *el, size_t start, size_t end, const char *bytes)
{
	struct edit *e = edit_list_add(el, start, end);

	e->bytes = xstrdup(bytes);
	e->len = strlen(bytes);
}

static void add_transcode(struct edit_list *el, size_t start, size_t end, const struct charset_info *cs,
			  enum mime_cte from, enum mime_cte to, bool crlf)
{
	struct edit *e;

	add_bytes(el, start, end, "");
	e = &el->v[el->n - 1];
	e->kind = EDIT_TRANSCODE;
	e->from_cs = cs;
	e->cte_from = from;
	e->cte_to = to;
	e->crlf = crlf;
}

static void decode_into(void *arg, const char *data, size_t len)
{
	buf_append(arg, data, len);
}

/* Decode a whole transfer-encoded text with the project's decoder. */
static void cte_decode(enum mime_cte cte, const char *data, size_t len, struct buf *out)
{
	struct cte_decoder d;

	cte_decoder_init(&d, cte);
	cte_decoder_feed(&d, data, len, decode_into, out);
	cte_decoder_finish(&d, decode_into, out);
}

START_TEST(splices_replace_and_insert_keep_other_bytes)
{
	const char *orig = "Header: a\nSubject: old\n\nbody line\n";
	struct spool *sp = spool_of(orig, strlen(orig), 1 << 20);
	struct edit_list el;
	struct capture c;

	edit_list_init(&el);
	add_bytes(&el, 10, 23, "Subject: new one\n");
	add_bytes(&el, 23, 23, "X-Added: yes\n");
	ck_assert(edit_list_finalize(&el));
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 0, strlen(orig), NULL, capture_sink, &c), 0);
	ck_assert_str_eq(buf_cstr(&c.b), "Header: a\nSubject: new one\nX-Added: yes\n\nbody line\n");
	buf_free(&c.b);
	edit_list_free(&el);
	spool_free(sp);
}
END_TEST

START_TEST(range_write_skips_edits_before_it)
{
	const char *orig = "A: 1\n\nbody\n";
	struct spool *sp = spool_of(orig, strlen(orig), 1 << 20);
	struct edit_list el;
	struct capture c;

	edit_list_init(&el);
	add_bytes(&el, 0, 5, "A: 2\n");
	add_bytes(&el, 6, 10, "BODY");
	ck_assert(edit_list_finalize(&el));
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 6, strlen(orig), NULL, capture_sink, &c), 0);
	ck_assert_str_eq(buf_cstr(&c.b), "BODY\n");
	buf_free(&c.b);
	edit_list_free(&el);
	spool_free(sp);
}
END_TEST

START_TEST(overlapping_edits_are_refused)
{
	struct edit_list el;

	edit_list_init(&el);
	add_bytes(&el, 0, 10, "x");
	add_bytes(&el, 5, 12, "y");
	ck_assert(!edit_list_finalize(&el));
	edit_list_free(&el);
}
END_TEST

START_TEST(large_untouched_data_is_chunked_and_identical)
{
	size_t n = 1000 * 1000 + 7, i;
	char *big = xmalloc(n);
	struct edit_list el;
	struct capture c;
	int spilled;

	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	for (spilled = 0; spilled < 2; spilled++) {
		struct spool *sp = spool_of(big, n, spilled ? 4096 : n * 2);

		ck_assert_int_eq(spool_is_file(sp), spilled);
		edit_list_init(&el);
		add_bytes(&el, 500000, 500001, "XYZ");
		ck_assert(edit_list_finalize(&el));
		memset(&c, 0, sizeof(c));
		buf_init(&c.b, 4 << 20);
		ck_assert_int_eq(output_write(sp, &el, 0, n, NULL, capture_sink, &c), 0);
		ck_assert_uint_eq(c.b.len, n + 2);
		ck_assert_uint_le(c.max_call, OUTPUT_CHUNK);
		ck_assert(memcmp(c.b.data, big, 500000) == 0);
		ck_assert(memcmp(c.b.data + 500000, "XYZ", 3) == 0);
		ck_assert(memcmp(c.b.data + 500003, big + 500001, n - 500001) == 0);
		buf_free(&c.b);
		edit_list_free(&el);
		spool_free(sp);
	}
	free(big);
}
END_TEST

START_TEST(sink_failure_is_reported)
{
	const char *orig = "abc\n";
	struct spool *sp = spool_of(orig, 4, 1024);
	struct edit_list el;

	edit_list_init(&el);
	ck_assert_int_eq(output_write(sp, &el, 0, 4, NULL, failing_sink, NULL), -1);
	edit_list_free(&el);
	spool_free(sp);
}
END_TEST

/* Re-encoding 8-bit text with long lines as quoted-printable: decodes back
 * to the same text, no line over 76, line endings kept. */
static void check_qp_roundtrip(bool crlf)
{
	struct buf text, decoded;
	struct edit_list el;
	struct capture c;
	const char *eol = crlf ? "\r\n" : "\n";
	size_t i, linelen = 0;
	struct spool *sp;

	buf_init(&text, 1 << 20);
	for (i = 0; i < 3000; i++)
		buf_putc(&text, "caf\xe9 =  tab\there "[i % 18]);
	buf_puts(&text, eol);
	buf_printf(&text, "trailing space %s", eol);
	buf_printf(&text, "last line\xff");
	sp = spool_of(text.data, text.len, 1 << 20);
	edit_list_init(&el);
	add_transcode(&el, 0, text.len, NULL, CTE_8BIT, CTE_QP, crlf);
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 0, text.len, NULL, capture_sink, &c), 0);
	for (i = 0; i < c.b.len; i++) {
		unsigned char ch = (unsigned char)c.b.data[i];

		ck_assert(ch < 0x80);
		if (ch == '\n') {
			ck_assert_uint_le(linelen, 77);
			if (crlf)
				ck_assert(i > 0 && c.b.data[i - 1] == '\r');
			else
				ck_assert(i == 0 || c.b.data[i - 1] != '\r');
			linelen = 0;
		} else {
			linelen++;
		}
	}
	buf_init(&decoded, 1 << 20);
	cte_decode(CTE_QP, c.b.data, c.b.len, &decoded);
	/* QP decoding yields CRLF line breaks in canonical form: compare per line */
	{
		struct buf norm;
		const char *p = text.data;

		buf_init(&norm, 1 << 20);
		for (i = 0; i < text.len; i++)
			if (p[i] != '\r')
				buf_putc(&norm, p[i]);
		struct buf dn;

		buf_init(&dn, 1 << 20);
		for (i = 0; i < decoded.len; i++)
			if (decoded.data[i] != '\r')
				buf_putc(&dn, decoded.data[i]);
		ck_assert_uint_eq(dn.len, norm.len);
		ck_assert(memcmp(dn.data, norm.data, norm.len) == 0);
		buf_free(&dn);
		buf_free(&norm);
	}
	buf_free(&decoded);
	buf_free(&c.b);
	buf_free(&text);
	edit_list_free(&el);
	spool_free(sp);
}

START_TEST(qp_reencoding_roundtrips_lf)
{
	check_qp_roundtrip(false);
}
END_TEST

START_TEST(qp_reencoding_roundtrips_crlf)
{
	check_qp_roundtrip(true);
}
END_TEST

START_TEST(base64_reencoding_roundtrips)
{
	const char *text = "line one \xe9\xe8\nline two\n";
	struct spool *sp = spool_of(text, strlen(text), 1024);
	struct edit_list el;
	struct capture c;
	struct buf dec;

	edit_list_init(&el);
	add_transcode(&el, 0, strlen(text), NULL, CTE_8BIT, CTE_BASE64, false);
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 0, strlen(text), NULL, capture_sink, &c), 0);
	/* the range ended with a line break, so does the encoded form */
	ck_assert_int_eq(c.b.data[c.b.len - 1], '\n');
	buf_init(&dec, 1 << 20);
	cte_decode(CTE_BASE64, c.b.data, c.b.len, &dec);
	ck_assert_str_eq(buf_cstr(&dec), "line one \xe9\xe8\r\nline two\r\n");
	buf_free(&dec);
	buf_free(&c.b);
	edit_list_free(&el);
	spool_free(sp);
}
END_TEST

START_TEST(transcode_windows1251_to_utf8)
{
	/* "Привет, мир" in windows-1251, inside a quoted-printable body */
	const char *qp = "=CF=F0=E8=E2=E5=F2, =EC=E8=F0\n";
	struct spool *sp = spool_of(qp, strlen(qp), 1024);
	struct edit_list el;
	struct capture c;
	struct charset_conv *cv = charset_conv_new();

	edit_list_init(&el);
	add_transcode(&el, 0, strlen(qp), charset_lookup("windows-1251"), CTE_QP, CTE_8BIT, false);
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 0, strlen(qp), cv, capture_sink, &c), 0);
	ck_assert_str_eq(buf_cstr(&c.b), "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, "
			 "\xd0\xbc\xd0\xb8\xd1\x80\n");
	buf_free(&c.b);
	edit_list_free(&el);
	charset_conv_free(cv);
	spool_free(sp);
}
END_TEST

START_TEST(transcode_of_undecodable_bytes_fails_rather_than_corrupts)
{
	const char *text = "\x81\x82 not shift_jis \xff\n";
	struct spool *sp = spool_of(text, strlen(text), 1024);
	struct edit_list el;
	struct capture c;
	struct charset_conv *cv = charset_conv_new();

	edit_list_init(&el);
	add_transcode(&el, 0, strlen(text), charset_lookup("utf-8"), CTE_8BIT, CTE_8BIT, false);
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 0, strlen(text), cv, capture_sink, &c), -1);
	buf_free(&c.b);
	edit_list_free(&el);
	charset_conv_free(cv);
	spool_free(sp);
}
END_TEST

START_TEST(transcode_converts_each_segment_from_its_own_charset)
{
	/* windows-1251 "Привет\n", koi8-r "> Привет\n", utf-8 "Привет\n", as
	 * base64 (segment offsets count decoded bytes, not the encoded ones) */
	static const char text[] = "\xcf\xf0\xe8\xe2\xe5\xf2\n> \xf0\xd2\xc9\xd7\xc5\xd4\n"
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n";
	const char *want = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n"
	    "> \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n"
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n";
	const char *b64 = "z/Do4uXyCj4g8NLJ18XUCtCf0YDQuNCy0LXRggo=\n";
	struct spool *sp;
	struct edit_list el;
	struct capture c;
	struct charset_conv *cv = charset_conv_new();
	struct edit *e;

	sp = spool_of(b64, strlen(b64), 1024);
	edit_list_init(&el);
	add_transcode(&el, 0, strlen(b64), charset_lookup("windows-1251"), CTE_BASE64, CTE_8BIT, false);
	e = &el.v[0];
	e->segs.n = 3;
	e->segs.at[0] = 0, e->segs.cs[0] = charset_lookup("windows-1251");
	e->segs.at[1] = 7, e->segs.cs[1] = charset_lookup("koi8-r");
	e->segs.at[2] = 16, e->segs.cs[2] = charset_lookup("utf-8");
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 0, strlen(b64), cv, capture_sink, &c), 0);
	ck_assert_str_eq(buf_cstr(&c.b), want);
	buf_free(&c.b);
	edit_list_free(&el);
	spool_free(sp);
	/* a segment that does not decode under its charset fails the edit */
	sp = spool_of(text, sizeof(text) - 1, 1024);
	edit_list_init(&el);
	add_transcode(&el, 0, sizeof(text) - 1, charset_lookup("windows-1251"), CTE_8BIT, CTE_8BIT, false);
	e = &el.v[0];
	e->segs.n = 2;
	e->segs.at[0] = 0, e->segs.cs[0] = charset_lookup("windows-1251");
	e->segs.at[1] = 7, e->segs.cs[1] = charset_lookup("utf-8");
	buf_init(&c.b, 1 << 20);
	ck_assert_int_eq(output_write(sp, &el, 0, sizeof(text) - 1, cv, capture_sink, &c), -1);
	buf_free(&c.b);
	edit_list_free(&el);
	charset_conv_free(cv);
	spool_free(sp);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, splices_replace_and_insert_keep_other_bytes);
	tcase_add_test(tc, range_write_skips_edits_before_it);
	tcase_add_test(tc, overlapping_edits_are_refused);
	tcase_add_test(tc, large_untouched_data_is_chunked_and_identical);
	tcase_add_test(tc, sink_failure_is_reported);
	tcase_add_test(tc, qp_reencoding_roundtrips_lf);
	tcase_add_test(tc, qp_reencoding_roundtrips_crlf);
	tcase_add_test(tc, base64_reencoding_roundtrips);
	tcase_add_test(tc, transcode_windows1251_to_utf8);
	tcase_add_test(tc, transcode_of_undecodable_bytes_fails_rather_than_corrupts);
	tcase_add_test(tc, transcode_converts_each_segment_from_its_own_charset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(output_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
