/*
 * check_engine.c -- the engine end to end on small messages: what it labels,
 * what it leaves alone, idempotence, chunking invariance, and the header
 * annotations the milter turns into smfi_chgheader/addheader calls.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "buf.h"
#include "conf.h"
#include "engine.h"
#include "report.h"

static struct conf *conf;

static int to_buf(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

/* Run the engine on msg fed in chunks of `chunk` bytes (0 = at once);
 * returns the engine (finished) and the output in out. */
static struct engine *run(const char *msg, size_t len, size_t chunk, struct buf *out)
{
	struct engine *e = engine_new(conf, NULL);
	size_t off = 0;

	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		ck_assert_int_eq(engine_feed(e, msg + off, n), 0);
		off += n;
	}
	ck_assert_int_eq(engine_finish(e), 0);
	buf_init(out, 64 << 20);
	ck_assert_int_eq(engine_write(e, 0, to_buf, out), 0);
	return e;
}

static void repair(const char *msg, struct buf *out, size_t *nedits)
{
	struct engine *e = run(msg, strlen(msg), 0, out);

	*nedits = engine_edits(e)->n;
	engine_free(e);
}

static void setup(void)
{
	conf = conf_defaults();
}

static void teardown(void)
{
	conf_free(conf);
}

static const char *const clean_messages[] = {
	"From: a@example.com\nSubject: plain\n\nJust ASCII text.\n",
	"From: a@example.com\nMIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: 8bit\n\nCaf\xe9 cr\xe8me.\n",
	"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
	"Content-Transfer-Encoding: 8bit\r\n\r\nCaf\xc3\xa9\r\n",
	"MIME-Version: 1.0\nContent-Type: text/plain; charset=windows-1251\n"
	"Content-Transfer-Encoding: quoted-printable\n\n=CF=F0=E8=E2=E5=F2\n",
};

START_TEST(correct_messages_get_zero_edits)
{
	struct buf out;
	size_t n;

	repair(clean_messages[_i], &out, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(buf_cstr(&out), clean_messages[_i]);
	buf_free(&out);
}
END_TEST

START_TEST(unlabelled_8bit_body_gets_a_label_that_decodes)
{
	const char *msg = "From: a@example.com\nSubject: test\n\nCaf\xe9 cr\xe8me br\xfbl\xe9" "e \x80 5\n";
	struct buf out;
	size_t n;

	repair(msg, &out, &n);
	ck_assert_uint_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Content-Type: text/plain; charset=windows-1252\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "Content-Transfer-Encoding: 8bit\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "MIME-Version: 1.0\n"));
	/* body bytes untouched */
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\n\nCaf\xe9 cr\xe8me br\xfbl\xe9" "e \x80 5\n"));
	buf_free(&out);
}
END_TEST

START_TEST(repairing_a_repaired_message_changes_nothing)
{
	const char *msgs[] = {
		"From: a@example.com\nSubject: Gr\xfc\xdf" "e aus K\xf6ln\n\nSch\xf6nen Tag noch, \x93" "Ciao\x94\n",
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nna\xefve caf\xe9\n",
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n\x93quoted\x94 \x80 10\n",
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=cp1251\n\n\xcf\xf0\xe8\xe2\xe5\xf2\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(msgs); i++) {
		struct buf once, twice;
		size_t n1, n2;

		repair(msgs[i], &once, &n1);
		ck_assert_uint_gt(n1, 0);
		repair(buf_cstr(&once), &twice, &n2);
		ck_assert_msg(n2 == 0, "message %zu: second pass made %zu edits", i, n2);
		ck_assert_str_eq(buf_cstr(&twice), buf_cstr(&once));
		buf_free(&once);
		buf_free(&twice);
	}
}
END_TEST

START_TEST(output_does_not_depend_on_chunking)
{
	const char *msg = "From: a@example.com\r\nSubject: \xc4rger\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n"
	    "Content-Type: text/plain\r\n\r\nK\xf6nig\r\n--b1\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1--\r\n";
	struct buf ref, out;
	size_t chunks[] = { 1, 2, 3, 7, 64 }, i;
	struct engine *e = run(msg, strlen(msg), 0, &ref);

	engine_free(e);
	for (i = 0; i < ARRAY_LEN(chunks); i++) {
		e = run(msg, strlen(msg), chunks[i], &out);
		ck_assert_str_eq(buf_cstr(&out), buf_cstr(&ref));
		engine_free(e);
		buf_free(&out);
	}
	ck_assert_ptr_nonnull(strstr(buf_cstr(&ref), "Content-Type: text/plain; charset=windows-1252\r\n"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&ref), "AAEC\r\n--b1--\r\n"));
	buf_free(&ref);
}
END_TEST

START_TEST(top_level_header_edits_carry_milter_annotations)
{
	const char *msg = "Received: x\nSubject: one\nSubject: Gr\xfc\xdf" "e\n\nbody \xe9\n";
	struct buf out;
	struct engine *e = run(msg, strlen(msg), 0, &out);
	const struct edit_list *el = engine_edits(e);
	size_t i;
	bool saw_subject = false, saw_ct = false;

	for (i = 0; i < el->n; i++) {
		const struct edit *ed = &el->v[i];

		if (ed->end <= engine_body_offset(e))
			ck_assert_int_ne(ed->hdr_op, HDR_NONE);
		if (ed->hdr_op == HDR_CHANGE && strcmp(ed->hdr_name, "Subject") == 0) {
			saw_subject = true;
			ck_assert_uint_eq(ed->hdr_occurrence, 2);
			ck_assert_ptr_nonnull(strstr(ed->hdr_value, "=?"));
			for (const char *c = ed->hdr_value; *c; c++)
				ck_assert_int_lt((unsigned char)*c, 0x80);
		}
		if (ed->hdr_op == HDR_ADD && strcmp(ed->hdr_name, "Content-Type") == 0) {
			saw_ct = true;
			ck_assert_str_eq(ed->hdr_value, " text/plain; charset=windows-1252");
		}
	}
	ck_assert(saw_subject);
	ck_assert(saw_ct);
	ck_assert(!engine_body_changed(e));
	engine_free(e);
	buf_free(&out);
}
END_TEST

START_TEST(signed_messages_pass_untouched)
{
	const char *msg = "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; b=abc\n"
	    "Subject: \xe9t\xe9\n\nCaf\xe9\n";
	struct buf out;
	size_t n;

	repair(msg, &out, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(buf_cstr(&out), msg);
	buf_free(&out);
}
END_TEST

START_TEST(oversized_messages_pass_untouched)
{
	const char *msg = "Subject: x\n\nCaf\xe9 and more text to exceed the limit\n";
	struct buf out;
	size_t n;

	conf->max_message_size = 20;
	repair(msg, &out, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(buf_cstr(&out), msg);
	buf_free(&out);
}
END_TEST

START_TEST(report_mode_only_adds_the_audit_header)
{
	const char *msg = "Subject: x\n\nCaf\xe9\n";
	struct buf out;
	size_t n;

	conf->mode = MODE_REPORT;
	repair(msg, &out, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "X-Codepage-Milter: "));
	ck_assert_ptr_null(strstr(buf_cstr(&out), "charset="));
	buf_free(&out);
}
END_TEST

START_TEST(mode_off_changes_nothing)
{
	const char *msg = "Subject: \xe9\n\nCaf\xe9\n";
	struct buf out;
	size_t n;

	conf->mode = MODE_OFF;
	repair(msg, &out, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(buf_cstr(&out), msg);
	buf_free(&out);
}
END_TEST

START_TEST(transcode_mode_converts_text_to_utf8)
{
	const char *msg = "MIME-Version: 1.0\nContent-Type: text/plain; charset=cp1251\n\n\xcf\xf0\xe8\xe2\xe5\xf2\n";
	struct buf out, again;
	size_t n, n2;

	conf->mode = MODE_TRANSCODE;
	repair(msg, &out, &n);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "charset=utf-8"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "\n\n\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n"));
	repair(buf_cstr(&out), &again, &n2);
	ck_assert_uint_eq(n2, 0);
	buf_free(&out);
	buf_free(&again);
}
END_TEST

START_TEST(explain_report_names_verdict_and_charset)
{
	const char *msg = "MIME-Version: 1.0\nContent-Type: text/plain; charset=iso-8859-1\n\n\x93hi\x94\n";
	struct buf out, table;
	struct engine *e = run(msg, strlen(msg), 0, &out);

	buf_init(&table, 1 << 20);
	report_format_table(engine_report(e), &table);
	ck_assert_ptr_nonnull(strstr(buf_cstr(&table), "latin1-with-c1"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&table), "windows-1252"));
	ck_assert_ptr_nonnull(strstr(buf_cstr(&out), "charset=windows-1252"));
	buf_free(&table);
	buf_free(&out);
	engine_free(e);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, correct_messages_get_zero_edits, 0, (int)ARRAY_LEN(clean_messages));
	tcase_add_test(tc, unlabelled_8bit_body_gets_a_label_that_decodes);
	tcase_add_test(tc, repairing_a_repaired_message_changes_nothing);
	tcase_add_test(tc, output_does_not_depend_on_chunking);
	tcase_add_test(tc, top_level_header_edits_carry_milter_annotations);
	tcase_add_test(tc, signed_messages_pass_untouched);
	tcase_add_test(tc, oversized_messages_pass_untouched);
	tcase_add_test(tc, report_mode_only_adds_the_audit_header);
	tcase_add_test(tc, mode_off_changes_nothing);
	tcase_add_test(tc, transcode_mode_converts_text_to_utf8);
	tcase_add_test(tc, explain_report_names_verdict_and_charset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(engine_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
