/*
 * check_tnef.c -- unit tests for the streaming TNEF reader (tnef.h).
 *
 * Streams are built here byte by byte (a tiny writer: attribute(), prop_*)
 * so every test states exactly what the reader is given.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tnef.h"

struct stream {
	unsigned char b[8192];
	size_t n;
};

static void
put(struct stream *s, const void *p, size_t n)
{
	ck_assert_uint_le(s->n + n, sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void
put32(struct stream *s, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };

	put(s, b, 4);
}

static void
put16(struct stream *s, uint16_t v)
{
	unsigned char b[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	put(s, b, 2);
}

static void
header(struct stream *s)
{
	s->n = 0;
	put32(s, 0x223E9F78u);
	put16(s, 0x1234);
}

/* One attribute; sum_delta != 0 damages its checksum. */
static void
attribute(struct stream *s, uint8_t level, uint32_t id, const void *data, size_t len, int sum_delta)
{
	const unsigned char *p = data;
	unsigned sum = 0;

	put(s, &level, 1);
	put32(s, id);
	put32(s, (uint32_t)len);
	put(s, data, len);
	for (size_t i = 0; i < len; i++)
		sum += p[i];
	put16(s, (uint16_t)(sum + (unsigned)sum_delta));
}

static void
oem(struct stream *s, uint32_t cp, int sum_delta)
{
	struct stream d = { .n = 0 };

	put32(&d, cp);
	put32(&d, 0);
	attribute(s, 1, 0x00069007u, d.b, d.n, sum_delta);
}

static void
prop_long(struct stream *d, uint16_t id, uint32_t v)
{
	put16(d, 0x0003);
	put16(d, id);
	put32(d, v);
}

static void
prop_string(struct stream *d, uint16_t type, uint16_t id, const char *v, size_t len)
{
	put16(d, type);
	put16(d, id);
	put32(d, 1);
	put32(d, (uint32_t)len);
	put(d, v, len);
	while (d->n % 4)
		put(d, "", 1);
}

static struct tnef_reader *
read_stream(const struct stream *s, size_t budget, size_t chunk)
{
	struct tnef_reader *r = tnef_reader_new(budget);

	for (size_t off = 0; off < s->n; off += chunk)
		tnef_reader_feed(r, s->b + off, s->n - off < chunk ? s->n - off : chunk);
	tnef_reader_finish(r);
	return r;
}

/* A stream with every value the reader looks for, in awkward places: a named
 * property (string name, padded), a multi-valued property and a binary one
 * before the values. */
static void
full_stream(struct stream *s)
{
	struct stream d = { .n = 0 };
	static const unsigned char guid[16] = { 1, 2, 3 };

	header(s);
	attribute(s, 1, 0x00089006u, "\0\0\1\0", 4, 0);
	oem(s, 1251, 0);
	attribute(s, 1, 0x0002800Cu, "\xcf\xf0\xe8\xe2\xe5\xf2", 6, 0);	/* attBody, cp1251 */
	put32(&d, 6);
	put16(&d, 0x0003); put16(&d, 0x8001); put(&d, guid, 16); put32(&d, 1); put32(&d, 6);
	put(&d, "n\0m\0\0\0\0\0", 8); put32(&d, 7);				/* named, string name */
	put16(&d, 0x1003); put16(&d, 0x0e00); put32(&d, 2); put32(&d, 1); put32(&d, 2);	/* PT_MV_LONG */
	prop_string(&d, 0x0102, 0x3FDE, "\3\0\0\0\xde\x3f", 6);		/* binary, not the CPID */
	prop_long(&d, 0x3FDE, 20866);
	prop_long(&d, 0x3FFD, 1251);
	prop_long(&d, 0x3FF1, 1049);
	attribute(s, 1, 0x00069003u, d.b, d.n, 0);
	attribute(s, 2, 0x00069002u, "\1\0\xff\xff\xff\xff\0\0\0\0\1\0\0\0", 14, 0);
	attribute(s, 2, 0x00018010u, "\xee\xf2\xf7\xb8\xf2.txt", 10, 0);	/* "отчёт.txt" + NUL */
}

START_TEST(test_reads_every_codepage_value)
{
	struct stream s;
	struct tnef_reader *r;
	const struct tnef_evidence *ev;
	char desc[200];

	full_stream(&s);
	r = read_stream(&s, 0, s.n);
	ev = tnef_reader_evidence(r);
	ck_assert(ev->is_tnef);
	ck_assert(ev->has_oem);
	ck_assert_uint_eq(ev->oem_codepage, 1251);
	ck_assert(ev->has_internet_cpid);
	ck_assert_uint_eq(ev->internet_cpid, 20866);
	ck_assert(ev->has_message_codepage);
	ck_assert_uint_eq(ev->message_codepage, 1251);
	ck_assert(ev->has_locale_id);
	ck_assert_uint_eq(ev->locale_id, 1049);
	ck_assert_int_eq(ev->body, TNEF_BODY_STRING8);
	ck_assert_uint_eq(ev->ntitles, 1);
	ck_assert_uint_eq(ev->titles[0].len, 9);
	ck_assert_mem_eq(ev->titles[0].bytes, "\xee\xf2\xf7\xb8\xf2.txt", 9);
	ck_assert_uint_eq(ev->attributes, 6);
	ck_assert_uint_eq(ev->unverified, 0);
	ck_assert_str_eq(ev->note, "");
	ck_assert(tnef_has_codepage(ev));
	tnef_describe(ev, desc, sizeof(desc));
	ck_assert_str_eq(desc, "attOemCodepage 1251, PR_INTERNET_CPID 20866, PR_MESSAGE_CODEPAGE 1251, "
			 "PR_MESSAGE_LOCALE_ID 1049");
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_any_chunking_gives_the_same_evidence)
{
	struct stream s;
	struct tnef_reader *whole, *r;
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 13, 64 };

	full_stream(&s);
	whole = read_stream(&s, 0, s.n);
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		const struct tnef_evidence *a = tnef_reader_evidence(whole), *b;

		r = read_stream(&s, 0, chunks[i]);
		b = tnef_reader_evidence(r);
		ck_assert_uint_eq(a->oem_codepage, b->oem_codepage);
		ck_assert_uint_eq(a->internet_cpid, b->internet_cpid);
		ck_assert_uint_eq(a->message_codepage, b->message_codepage);
		ck_assert_uint_eq(a->locale_id, b->locale_id);
		ck_assert_uint_eq(a->attributes, b->attributes);
		ck_assert_uint_eq(a->ntitles, b->ntitles);
		ck_assert_str_eq(a->note, b->note);
		tnef_reader_free(r);
	}
	tnef_reader_free(whole);
}
END_TEST

START_TEST(test_bad_checksum_value_is_reported_but_not_evidence)
{
	struct stream s;
	struct tnef_reader *r;
	const struct tnef_evidence *ev;

	header(&s);
	oem(&s, 1250, 1);
	r = read_stream(&s, 0, s.n);
	ev = tnef_reader_evidence(r);
	ck_assert(ev->has_oem);
	ck_assert_uint_eq(ev->oem_codepage, 1250);
	ck_assert_uint_eq(ev->unverified, TNEF_V_OEM);
	ck_assert_uint_eq(ev->bad_checksums, 1);
	ck_assert(!tnef_has_codepage(ev));
	ck_assert_str_eq(ev->note, "attribute 0x00069007: checksum mismatch: its values are not trusted");
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_checked_value_replaces_unchecked_one)
{
	struct stream s;
	struct tnef_reader *r;
	const struct tnef_evidence *ev;

	header(&s);
	oem(&s, 1250, 7);
	oem(&s, 1253, 0);
	oem(&s, 1254, 7);
	r = read_stream(&s, 0, s.n);
	ev = tnef_reader_evidence(r);
	ck_assert_uint_eq(ev->oem_codepage, 1253);
	ck_assert_uint_eq(ev->unverified, 0);
	ck_assert(tnef_has_codepage(ev));
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_truncated_attribute_gives_nothing)
{
	struct stream s;
	struct tnef_reader *r;
	const struct tnef_evidence *ev;

	header(&s);
	oem(&s, 932, 0);
	s.n -= 3;	/* cut inside the data */
	r = read_stream(&s, 0, 4);
	ev = tnef_reader_evidence(r);
	ck_assert(!ev->has_oem);
	ck_assert(!tnef_has_codepage(ev));
	ck_assert_str_eq(ev->note, "truncated inside attribute 0x00069007 (7 of 8 bytes): its values dropped");
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_empty_and_short_parts)
{
	struct stream s = { .n = 0 };
	struct tnef_reader *r;

	r = read_stream(&s, 0, 1);
	ck_assert_str_eq(tnef_reader_evidence(r)->note, "empty TNEF part");
	ck_assert(!tnef_reader_evidence(r)->is_tnef);
	tnef_reader_free(r);
	put(&s, "\x78\x9f", 2);
	r = read_stream(&s, 0, 1);
	ck_assert_str_eq(tnef_reader_evidence(r)->note, "TNEF part of 2 bytes: no TNEF header");
	tnef_reader_free(r);
	s.n = 0;
	put(&s, "winmail.dat is not TNEF", 23);
	r = read_stream(&s, 0, 5);
	ck_assert_str_eq(tnef_reader_evidence(r)->note, "no TNEF signature");
	ck_assert(tnef_reader_evidence(r)->stopped);
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_zero_length_codepage_attribute_is_ignored)
{
	struct stream s;
	struct tnef_reader *r;

	header(&s);
	attribute(&s, 1, 0x00069007u, "", 0, 0);
	r = read_stream(&s, 0, s.n);
	ck_assert(!tnef_reader_evidence(r)->has_oem);
	ck_assert_str_eq(tnef_reader_evidence(r)->note, "attOemCodepage is 0 bytes long (not 4 or 8): ignored");
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_oversized_attribute_stops_at_the_budget)
{
	struct stream s;
	struct tnef_reader *r;

	header(&s);
	oem(&s, 1251, 0);
	put(&s, "\1", 1);
	put32(&s, 0x00069003u);
	put32(&s, 0x7ffffff0u);
	put(&s, "\0\0\0\0", 4);
	r = read_stream(&s, 4096, s.n);
	ck_assert(tnef_reader_evidence(r)->stopped);
	ck_assert_str_eq(tnef_reader_evidence(r)->note,
			 "attribute 0x00069003 is 2147483632 bytes long, over the byte budget: reading stopped");
	/* what was read whole before it still counts */
	ck_assert_uint_eq(tnef_reader_evidence(r)->oem_codepage, 1251);
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_budget_bounds_the_bytes_read)
{
	struct stream s;
	struct tnef_reader *r;

	full_stream(&s);
	r = read_stream(&s, 25, 7);	/* the header, attTnefVersion, part of the next header */
	ck_assert(tnef_reader_evidence(r)->stopped);
	ck_assert(!tnef_reader_evidence(r)->has_oem);
	ck_assert_str_eq(tnef_reader_evidence(r)->note, "TNEF stream longer than the 25-byte budget: reading stopped");
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_unknown_property_type_keeps_earlier_values)
{
	struct stream s, d = { .n = 0 };
	struct tnef_reader *r;
	const struct tnef_evidence *ev;

	header(&s);
	put32(&d, 3);
	prop_long(&d, 0x3FFD, 936);
	put16(&d, 0x0099); put16(&d, 0x0001); put32(&d, 0);		/* no such type */
	prop_long(&d, 0x3FDE, 20127);
	attribute(&s, 1, 0x00069003u, d.b, d.n, 0);
	oem(&s, 936, 0);
	r = read_stream(&s, 0, 3);
	ev = tnef_reader_evidence(r);
	ck_assert(ev->has_message_codepage);
	ck_assert_uint_eq(ev->message_codepage, 936);
	ck_assert(!ev->has_internet_cpid);
	ck_assert(ev->has_oem);	/* the attribute walk goes on after the property stream */
	ck_assert_str_eq(ev->note, "attMAPIProps: property 0x0001 has type 0x0099: rest of the properties skipped");
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_pr_body_type_says_string8_or_unicode)
{
	struct stream s, d = { .n = 0 };
	struct tnef_reader *r;

	header(&s);
	put32(&d, 1);
	prop_string(&d, 0x001F, 0x1000, "h\0i\0\0\0", 6);
	attribute(&s, 1, 0x00069003u, d.b, d.n, 0);
	r = read_stream(&s, 0, s.n);
	ck_assert_int_eq(tnef_reader_evidence(r)->body, TNEF_BODY_UNICODE);
	tnef_reader_free(r);
	header(&s);
	d.n = 0;
	put32(&d, 1);
	prop_string(&d, 0x001E, 0x1000, "h\xe9\0", 3);
	attribute(&s, 1, 0x00069003u, d.b, d.n, 0);
	r = read_stream(&s, 0, 1);
	ck_assert_int_eq(tnef_reader_evidence(r)->body, TNEF_BODY_STRING8);
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_bad_level_and_trailing_bytes)
{
	struct stream s;
	struct tnef_reader *r;

	header(&s);
	oem(&s, 1252, 0);
	put(&s, "\x30", 1);
	put32(&s, 0x00069007u);
	r = read_stream(&s, 0, s.n);
	ck_assert_str_eq(tnef_reader_evidence(r)->note, "attribute 2 at offset 25 has level 48: reading stopped");
	ck_assert_uint_eq(tnef_reader_evidence(r)->oem_codepage, 1252);
	tnef_reader_free(r);
	header(&s);
	oem(&s, 1252, 0);
	put(&s, "\x01\x02", 2);
	r = read_stream(&s, 0, s.n);
	ck_assert_str_eq(tnef_reader_evidence(r)->note, "2 trailing bytes after attribute 1");
	ck_assert(tnef_has_codepage(tnef_reader_evidence(r)));
	tnef_reader_free(r);
}
END_TEST

START_TEST(test_long_and_many_titles_are_bounded)
{
	static struct stream s;
	struct tnef_reader *r;
	const struct tnef_evidence *ev;
	char name[400];

	memset(name, 'x', sizeof(name));
	header(&s);
	for (int i = 0; i < TNEF_MAX_TITLES + 3; i++)
		attribute(&s, 2, 0x00018010u, name, i == 0 ? sizeof(name) : 5, 0);
	r = read_stream(&s, 0, 11);
	ev = tnef_reader_evidence(r);
	ck_assert_uint_eq(ev->titles_seen, TNEF_MAX_TITLES + 3);
	ck_assert_uint_eq(ev->ntitles, TNEF_MAX_TITLES);
	ck_assert(ev->titles[0].cut);
	ck_assert_uint_eq(ev->titles[0].len, TNEF_TITLE_MAX);
	ck_assert(!ev->titles[1].cut);
	ck_assert_uint_eq(ev->titles[1].len, 5);
	tnef_reader_free(r);
}
END_TEST

static Suite *
tnef_suite(void)
{
	Suite *s = suite_create("tnef");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_reads_every_codepage_value);
	tcase_add_test(tc, test_any_chunking_gives_the_same_evidence);
	tcase_add_test(tc, test_bad_checksum_value_is_reported_but_not_evidence);
	tcase_add_test(tc, test_checked_value_replaces_unchecked_one);
	tcase_add_test(tc, test_truncated_attribute_gives_nothing);
	tcase_add_test(tc, test_empty_and_short_parts);
	tcase_add_test(tc, test_zero_length_codepage_attribute_is_ignored);
	tcase_add_test(tc, test_oversized_attribute_stops_at_the_budget);
	tcase_add_test(tc, test_budget_bounds_the_bytes_read);
	tcase_add_test(tc, test_unknown_property_type_keeps_earlier_values);
	tcase_add_test(tc, test_pr_body_type_says_string8_or_unicode);
	tcase_add_test(tc, test_bad_level_and_trailing_bytes);
	tcase_add_test(tc, test_long_and_many_titles_are_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tnef_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
