/*
 * check_charset.c -- unit tests for the charset registry, conversion and the
 * UTF-8 validator (charset.h).
 *
 * Expected answers come from the standards (Windows code page table, WHATWG
 * labels) or from an independent iconv conversion done here, never from the
 * code under test.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "charset.h"

/* ---- registry ---------------------------------------------------------------------- */

/* Windows code pages the milter must know, with their preferred MIME name. */
static const struct {
	unsigned cp;
	const char *mime;
} listed_codepages[] = {
	{ 437, "ibm437" }, { 850, "ibm850" }, { 852, "ibm852" }, { 866, "ibm866" },
	{ 874, "windows-874" }, { 932, "shift_jis" }, { 936, "gb2312" }, { 949, "euc-kr" },
	{ 950, "big5" }, { 1250, "windows-1250" }, { 1251, "windows-1251" },
	{ 1252, "windows-1252" }, { 1253, "windows-1253" }, { 1254, "windows-1254" },
	{ 1255, "windows-1255" }, { 1256, "windows-1256" }, { 1257, "windows-1257" },
	{ 1258, "windows-1258" }, { 10000, "macintosh" }, { 20127, "us-ascii" },
	{ 20866, "koi8-r" }, { 21866, "koi8-u" }, { 28591, "iso-8859-1" }, { 28592, "iso-8859-2" },
	{ 28593, "iso-8859-3" }, { 28594, "iso-8859-4" }, { 28595, "iso-8859-5" },
	{ 28596, "iso-8859-6" }, { 28597, "iso-8859-7" }, { 28598, "iso-8859-8" },
	{ 28599, "iso-8859-9" }, { 28600, "iso-8859-10" }, { 28601, "iso-8859-11" },
	{ 28603, "iso-8859-13" }, { 28604, "iso-8859-14" }, { 28605, "iso-8859-15" },
	{ 28606, "iso-8859-16" }, { 50220, "iso-2022-jp" }, { 50221, "iso-2022-jp" },
	{ 50222, "iso-2022-jp" }, { 51932, "euc-jp" }, { 51949, "euc-kr" },
	{ 52936, "hz-gb-2312" }, { 54936, "gb18030" }, { 65001, "utf-8" },
};

START_TEST(test_every_listed_codepage_resolves)
{
	size_t i;

	for (i = 0; i < sizeof(listed_codepages) / sizeof(listed_codepages[0]); i++) {
		const struct charset_info *cs = charset_by_codepage(listed_codepages[i].cp);

		ck_assert_msg(cs != NULL, "code page %u unknown", listed_codepages[i].cp);
		ck_assert_str_eq(cs->mime_name, listed_codepages[i].mime);
	}
	ck_assert_ptr_null(charset_by_codepage(0));
	ck_assert_ptr_null(charset_by_codepage(28602));
	ck_assert_ptr_null(charset_by_codepage(12345));
}
END_TEST

/* glibc has no HZ converter (GNU libiconv has); everything else must work. */
START_TEST(test_iconv_accepts_every_registry_charset_except_hz)
{
	size_t i;

	for (i = 0; i < charset_count(); i++) {
		const struct charset_info *cs = charset_at(i);
		iconv_t cd = iconv_open("UTF-8", cs->iconv_name);
		bool really = cd != (iconv_t)-1;

		if (really)
			iconv_close(cd);
		ck_assert_msg(charset_iconv_ok(cs) == really, "%s", cs->mime_name);
		if (strcmp(cs->mime_name, "hz-gb-2312") != 0)
			ck_assert_msg(really, "iconv lacks %s (%s)", cs->mime_name, cs->iconv_name);
	}
	ck_assert_ptr_null(charset_at(charset_count()));
}
END_TEST

START_TEST(test_every_mime_name_looks_itself_up)
{
	size_t i;

	for (i = 0; i < charset_count(); i++) {
		const struct charset_info *cs = charset_at(i);

		ck_assert_ptr_eq(charset_lookup(cs->mime_name), cs);
		if (cs->codepage != 0)
			ck_assert_ptr_eq(charset_by_codepage(cs->codepage), cs);
	}
}
END_TEST

static void expect_label(const char *label, const char *mime)
{
	const struct charset_info *cs = charset_lookup(label);

	ck_assert_msg(cs != NULL, "label \"%s\" unknown", label);
	ck_assert_msg(strcmp(cs->mime_name, mime) == 0, "label \"%s\" -> %s, want %s",
		      label, cs->mime_name, mime);
}

START_TEST(test_codepage_spellings)
{
	static const char *const forms[] = {
		"1252", "cp1252", "CP1252", "cp-1252", "cp_1252", "windows-1252", "Windows-1252",
		"win-1252", "x-cp1252", "ms-ansi", "WINDOWS_1252", "x-windows-1252",
	};
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		expect_label(forms[i], "windows-1252");
	expect_label("cp850", "ibm850");
	expect_label("IBM850", "ibm850");
	expect_label("cp-850", "ibm850");
	expect_label("ibm-852", "ibm852");
	expect_label("866", "ibm866");
	expect_label("dos-866", "ibm866");
	expect_label("cp20866", "koi8-r");
	expect_label("ms932", "shift_jis");
	expect_label("windows-936", "gb2312");
	expect_label("cp65001", "utf-8");
	expect_label("cp28605", "iso-8859-15");
	expect_label("windows-874", "windows-874");
	expect_label("cp10000", "macintosh");
}
END_TEST

START_TEST(test_vendor_labels)
{
	expect_label("ks_c_5601-1987", "euc-kr");
	expect_label("KS_C_5601", "euc-kr");
	expect_label("ksc5601", "euc-kr");
	expect_label("euc-kr", "euc-kr");
	expect_label("cp949", "cp949");
	expect_label("windows-949", "euc-kr");
	expect_label("gb2312", "gb2312");
	expect_label("x-gbk", "gb2312");
	expect_label("GBK", "gbk");
	expect_label("cp936", "gb2312");
	expect_label("x-sjis", "shift_jis");
	expect_label("shift-jis", "shift_jis");
	expect_label("Shift_JIS", "shift_jis");
	expect_label("ms_kanji", "shift_jis");
	expect_label("windows-31j", "windows-31j");
	expect_label("cp932", "shift_jis");
	expect_label("big5", "big5");
	expect_label("cp950", "big5");
	expect_label("big5-hkscs", "big5-hkscs");
	expect_label("euc-jp", "euc-jp");
	expect_label("x-euc-jp", "euc-jp");
	expect_label("iso-2022-jp", "iso-2022-jp");
	expect_label("cp50221", "iso-2022-jp");
	expect_label("iso-2022-kr", "iso-2022-kr");
	expect_label("hz-gb-2312", "hz-gb-2312");
	expect_label("gb18030", "gb18030");
	expect_label("koi8-r", "koi8-r");
	expect_label("koi8-u", "koi8-u");
	expect_label("mac", "macintosh");
	expect_label("macintosh", "macintosh");
	expect_label("x-mac-roman", "macintosh");
	expect_label("utf-8", "utf-8");
	expect_label("utf8", "utf-8");
	expect_label("unicode-1-1-utf-8", "utf-8");
	expect_label("utf-16", "utf-16");
	expect_label("utf-16le", "utf-16le");
	expect_label("UTF-16BE", "utf-16be");
	expect_label("tis-620", "tis-620");
	expect_label("iso-8859-11", "iso-8859-11");
	expect_label("latin1", "iso-8859-1");
	expect_label("latin2", "iso-8859-2");
	expect_label("latin5", "iso-8859-9");
	expect_label("latin9", "iso-8859-15");
	expect_label("latin10", "iso-8859-16");
	expect_label("iso_8859-1:1987", "iso-8859-1");
	expect_label("ISO8859-2", "iso-8859-2");
	expect_label("ascii", "us-ascii");
	expect_label("ANSI_X3.4-1968", "us-ascii");
}
END_TEST

START_TEST(test_case_space_and_quotes_are_ignored)
{
	expect_label("  UTF-8 ", "utf-8");
	expect_label("\"windows-1251\"", "windows-1251");
	expect_label("'koi8-r'", "koi8-r");
	expect_label("\" Iso-8859-2 \"", "iso-8859-2");
	ck_assert_ptr_eq(charset_lookup_n("utf-8garbage", 5), charset_lookup("utf-8"));
}
END_TEST

START_TEST(test_unknown_and_placeholder_labels)
{
	static const char *const ph[] = {
		"unknown-8bit", "UNKNOWN-8BIT", "x-unknown", "x-user-defined", "unknown", "", "  ", "\"\"",
	};
	size_t i;

	for (i = 0; i < sizeof(ph) / sizeof(ph[0]); i++) {
		ck_assert_msg(charset_is_placeholder(ph[i]), "\"%s\"", ph[i]);
		ck_assert_ptr_null(charset_lookup(ph[i]));
	}
	ck_assert(!charset_is_placeholder("utf-8"));
	ck_assert(!charset_is_placeholder("bogus"));
	ck_assert_ptr_null(charset_lookup("bogus"));
	ck_assert_ptr_null(charset_lookup("iso-8859-12"));
	ck_assert_ptr_null(charset_lookup("cp99999"));
	ck_assert_ptr_null(charset_lookup("x-"));
	ck_assert_ptr_null(charset_lookup("-"));
	ck_assert_ptr_null(charset_lookup(NULL));
	ck_assert_ptr_null(charset_lookup("windows-1252 windows-1252 windows-1252 windows-1252 windows-1252 windows-1252"));
}
END_TEST

START_TEST(test_superset_rules)
{
	const struct charset_info *l1 = charset_lookup("iso-8859-1");
	const struct charset_info *w1252 = charset_lookup("windows-1252");
	const struct charset_info *ascii = charset_lookup("us-ascii");
	const struct charset_info *l5 = charset_lookup("iso-8859-9");
	const struct charset_info *tis = charset_lookup("tis-620");
	const struct charset_info *l2 = charset_lookup("iso-8859-2");

	ck_assert_ptr_eq(charset_superset(l1, true), w1252);
	ck_assert_ptr_eq(charset_superset(l1, false), l1);
	ck_assert_ptr_eq(charset_superset(ascii, true), w1252);
	ck_assert_ptr_eq(charset_superset(l5, true), charset_lookup("windows-1254"));
	ck_assert_ptr_eq(charset_superset(tis, true), charset_lookup("windows-874"));
	ck_assert_ptr_eq(charset_superset(charset_lookup("iso-8859-11"), true), charset_lookup("windows-874"));
	/* iso-8859-2 and windows-1250 differ in A0-FF: no relabelling. */
	ck_assert_ptr_eq(charset_superset(l2, true), l2);
	ck_assert_ptr_eq(charset_superset(w1252, true), w1252);
	/* gb2312 and ks_c_5601-1987 resolve to the supersets directly. */
	ck_assert_str_eq(charset_lookup("gb2312")->iconv_name, "GBK");
	ck_assert_str_eq(charset_lookup("ks_c_5601-1987")->iconv_name, "CP949");
	ck_assert_ptr_null(charset_superset(NULL, true));
}
END_TEST

/* An independent answer: does iconv decode the lone byte b under name? */
static bool iconv_byte_defined(const char *name, unsigned char b)
{
	iconv_t cd = iconv_open("UTF-8", name);
	char in[1] = { (char)b }, out[16], *ip = in, *op = out;
	size_t il = 1, ol = sizeof(out), r;

	ck_assert(cd != (iconv_t)-1);
	r = iconv(cd, &ip, &il, &op, &ol);
	iconv_close(cd);
	return r != (size_t)-1;
}

START_TEST(test_byte_defined_single_byte)
{
	const struct charset_info *w1252 = charset_lookup("windows-1252");
	static const unsigned char holes[] = { 0x81, 0x8d, 0x8f, 0x90, 0x9d };
	size_t i;
	unsigned b;

	for (i = 0; i < sizeof(holes); i++)
		ck_assert(!charset_byte_defined(w1252, holes[i]));
	ck_assert(charset_byte_defined(w1252, 0x80));	/* euro */
	ck_assert(charset_byte_defined(w1252, 'A'));
	ck_assert(!charset_byte_defined(charset_lookup("us-ascii"), 0xe9));
	ck_assert(charset_byte_defined(charset_lookup("iso-8859-1"), 0x81));
	ck_assert(!charset_byte_defined(charset_lookup("windows-1251"), 0x98));
	/* Cross-check every single-byte charset against iconv directly. */
	for (i = 0; i < charset_count(); i++) {
		const struct charset_info *cs = charset_at(i);

		if (!(cs->props & CSP_SINGLE_BYTE))
			continue;
		for (b = 0x80; b < 0x100; b++)
			ck_assert_msg(charset_byte_defined(cs, (unsigned char)b) ==
				      iconv_byte_defined(cs->iconv_name, (unsigned char)b),
				      "%s byte %02x", cs->mime_name, b);
	}
	/* Multi-byte charsets: no byte-level answer. */
	ck_assert(charset_byte_defined(charset_lookup("shift_jis"), 0x81));
}
END_TEST

/* ---- conversion -------------------------------------------------------------------- */

struct sample {
	const char *charset;
	const char *text;	/* raw bytes in that charset */
	const char *utf8;	/* the same text in UTF-8 */
};

/* "Good morning" style sentences, typed in UTF-8 and in the charset. */
static const struct sample samples[] = {
	{ "shift_jis", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\x81\x41\x90\xa2\x8a\x45 abc \x87\x40 C:\\dir",
	  "こんにちは、世界 abc ① C:\\dir" },
	{ "gb2312", "\xc4\xe3\xba\xc3\xa3\xac\xca\xc0\xbd\xe7 \x80 \x81\x40",
	  "你好，世界 € 丂" },
	{ "big5", "\xa7\x41\xa6\x6e\xa1\x41\xa5\x40\xac\xc9", "你好，世界" },
	{ "euc-kr", "\xbe\xc8\xb3\xe7\xc7\xcf\xbc\xbc\xbf\xe4 \x81\x41", "안녕하세요 갂" },
	{ "utf-8", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xf0\x9f\x98\x80 \xe2\x82\xac",
	  "Привет 😀 €" },
	{ "euc-jp", "\xa4\xb3\xa4\xf3\xa4\xcb\xa4\xc1\xa4\xcf \xad\xa1", "こんにちは ①" },
	{ "gb18030", "\xc4\xe3\xba\xc3 \x81\x30\x81\x30", "你好 \xc2\x80" },
	{ "iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B abc", "こんにちは abc" },
	{ "windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2", "Привет" },
	{ "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет" },
	{ "windows-1252", "Gr\xfc\xdf" "e \x80", "Grüße €" },
};

static int collect(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

static const struct sample *sample_for(const char *charset)
{
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		if (strcmp(samples[i].charset, charset) == 0)
			return &samples[i];
	ck_abort_msg("no sample %s", charset);
	return NULL;
}

START_TEST(test_samples_decode_to_expected_utf8)
{
	struct charset_conv *cv = charset_conv_new();
	size_t i, bad;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct charset_info *cs = charset_lookup(samples[i].charset);
		struct charset_stream *st;
		struct buf out;

		buf_init(&out, 4096);
		ck_assert(charset_decodes(cv, cs, samples[i].text, strlen(samples[i].text), &bad));
		st = charset_stream_begin(cv, cs, collect, &out);
		ck_assert_ptr_nonnull(st);
		ck_assert_int_eq(charset_stream_feed(st, samples[i].text, strlen(samples[i].text)), 0);
		ck_assert_int_eq(charset_stream_end(st, &bad), 0);
		ck_assert_msg(strcmp(buf_cstr(&out), samples[i].utf8) == 0, "%s: got \"%s\"",
			      samples[i].charset, buf_cstr(&out));
		buf_free(&out);
	}
	charset_conv_free(cv);
}
END_TEST

/* Streaming with one-byte feeds gives the one-shot result. */
START_TEST(test_stream_one_byte_chunks_equal_one_shot)
{
	static const char *const names[] = { "shift_jis", "gb2312", "big5", "euc-kr", "utf-8",
		"euc-jp", "gb18030", "iso-2022-jp" };
	struct charset_conv *cv = charset_conv_new();
	size_t i, j, k, bad;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct sample *s = sample_for(names[i]);
		const struct charset_info *cs = charset_lookup(names[i]);
		struct buf whole, bytes;
		struct charset_stream *st;
		size_t len = strlen(s->text);

		buf_init(&whole, 1 << 20);
		buf_init(&bytes, 1 << 20);
		/* Repeat the sample so output chunks overflow too. */
		st = charset_stream_begin(cv, cs, collect, &whole);
		for (k = 0; k < 2000; k++)
			ck_assert_int_eq(charset_stream_feed(st, s->text, len), 0);
		ck_assert_int_eq(charset_stream_end(st, &bad), 0);
		st = charset_stream_begin(cv, cs, collect, &bytes);
		for (k = 0; k < 2000; k++)
			for (j = 0; j < len; j++)
				ck_assert_int_eq(charset_stream_feed(st, s->text + j, 1), 0);
		ck_assert_int_eq(charset_stream_end(st, &bad), 0);
		ck_assert_uint_eq(whole.len, bytes.len);
		ck_assert_uint_eq(whole.len, 2000 * strlen(s->utf8));
		ck_assert_msg(memcmp(whole.data, bytes.data, whole.len) == 0, "%s", names[i]);
		buf_free(&whole);
		buf_free(&bytes);
	}
	charset_conv_free(cv);
}
END_TEST

struct bad_case {
	const char *charset;
	const char *text;
	size_t len;
	size_t bad_offset;
};

#define BC(cs, lit, off) { cs, lit, sizeof(lit) - 1, off }

static const struct bad_case bad_cases[] = {
	BC("shift_jis", "abc\x85\x40xyz", 3),		/* 0x8540 unassigned */
	BC("shift_jis", "abc\x82", 3),			/* truncated at end */
	BC("shift_jis", "ab\x82\xb1\xa0", 4),		/* 0xA0 undefined */
	BC("gb2312", "\xc4\xe3\xff", 2),
	BC("gb2312", "\xc4\xe3\xc4", 2),
	BC("big5", "\xa7\x41\x80", 2),			/* glibc passes 0x80 as U+0080 */
	BC("big5", "\xa7\x41\xa7", 2),
	BC("euc-kr", "\xbe\xc8\xff\xff", 2),
	BC("euc-jp", "\xa4\xb3\x85", 2),		/* stray C1 byte */
	BC("euc-jp", "\xa4\xb3\xa4\x85", 2),		/* lead then C1 */
	BC("utf-8", "ok \xc3\x28", 3),
	BC("utf-8", "ok \xe2\x82", 3),
	BC("windows-1252", "abc\x81", 3),
	BC("us-ascii", "0123456789\xe9", 10),
	BC("iso-2022-jp", "abc\xe9", 3),
	BC("windows-1251", "\xcf\x98", 1),
};

START_TEST(test_decodes_reports_exact_offset)
{
	struct charset_conv *cv = charset_conv_new();
	size_t i, j;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		const struct charset_info *cs = charset_lookup(c->charset);
		struct charset_stream *st;
		size_t bad = 999, bad2 = 999;

		ck_assert_msg(!charset_decodes(cv, cs, c->text, c->len, &bad), "case %zu decodes", i);
		ck_assert_msg(bad == c->bad_offset, "case %zu (%s): offset %zu, want %zu",
			      i, c->charset, bad, c->bad_offset);
		/* The same offset through one-byte stream feeds. */
		st = charset_stream_begin(cv, cs, NULL, NULL);
		for (j = 0; j < c->len; j++)
			if (charset_stream_feed(st, c->text + j, 1) < 0)
				break;
		ck_assert_int_eq(charset_stream_end(st, &bad2), -1);
		ck_assert_msg(bad2 == c->bad_offset, "case %zu (%s) stream: offset %zu, want %zu",
			      i, c->charset, bad2, c->bad_offset);
	}
	charset_conv_free(cv);
}
END_TEST

/* A big input decodes in bounded memory and its failure is found far in. */
START_TEST(test_decodes_big_input)
{
	struct charset_conv *cv = charset_conv_new();
	const struct sample *s = sample_for("shift_jis");
	size_t len = strlen(s->text), n = 0, bad;
	char *big = malloc(4 << 20);

	ck_assert_ptr_nonnull(big);
	while (n + len <= (4 << 20) - 1) {
		memcpy(big + n, s->text, len);
		n += len;
	}
	ck_assert(charset_decodes(cv, charset_lookup("shift_jis"), big, n, &bad));
	big[n++] = (char)0x82;
	ck_assert(!charset_decodes(cv, charset_lookup("shift_jis"), big, n, &bad));
	ck_assert_uint_eq(bad, n - 1);
	/* The cached descriptor was reset: the clean prefix decodes again. */
	ck_assert(charset_decodes(cv, charset_lookup("shift_jis"), big, n - 1, &bad));
	free(big);
	charset_conv_free(cv);
}
END_TEST

/* A stream keeps its own descriptor while other users of cv convert. */
START_TEST(test_stream_survives_interleaved_decodes)
{
	struct charset_conv *cv = charset_conv_new();
	const struct charset_info *cs = charset_lookup("iso-2022-jp");
	const struct sample *s = sample_for("iso-2022-jp");
	struct charset_stream *st;
	struct buf out;
	size_t bad;

	buf_init(&out, 4096);
	st = charset_stream_begin(cv, cs, collect, &out);
	ck_assert_int_eq(charset_stream_feed(st, s->text, 5), 0);	/* inside ESC $ B */
	ck_assert(charset_decodes(cv, cs, "plain", 5, &bad));
	ck_assert_int_eq(charset_stream_feed(st, s->text + 5, strlen(s->text) - 5), 0);
	ck_assert_int_eq(charset_stream_end(st, &bad), 0);
	ck_assert_str_eq(buf_cstr(&out), s->utf8);
	buf_free(&out);
	charset_conv_free(cv);
}
END_TEST

START_TEST(test_windows_1258_flushes_held_character)
{
	struct charset_conv *cv = charset_conv_new();
	struct charset_stream *st;
	struct buf out;
	size_t bad;

	buf_init(&out, 64);
	st = charset_stream_begin(cv, charset_lookup("windows-1258"), collect, &out);
	ck_assert_int_eq(charset_stream_feed(st, "Vi\xea\xf2t", 5), 0);
	ck_assert_int_eq(charset_stream_end(st, &bad), 0);
	ck_assert_str_eq(buf_cstr(&out), "Việt");
	buf_free(&out);
	charset_conv_free(cv);
}
END_TEST

/* ---- UTF-8 validator ------------------------------------------------------------- */

struct utf8_case {
	const char *bytes;
	size_t len;
	bool valid;
	size_t bad_offset;	/* when invalid and not merely truncated */
};

#define U8(lit, ok, off) { lit, sizeof(lit) - 1, ok, off }

static const struct utf8_case utf8_cases[] = {
	U8("", true, 0),
	U8("plain ascii text, long enough to use the 8-byte path", true, 0),
	U8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", true, 0),
	U8("\xed\x9f\xbf", true, 0),		/* U+D7FF */
	U8("\xee\x80\x80", true, 0),		/* U+E000 */
	U8("abcdefgh\xc0\x80", false, 8),	/* overlong NUL */
	U8("\xc1\xbf", false, 0),		/* overlong 2-byte */
	U8("x\xe0\x80\xaf", false, 1),		/* overlong 3-byte */
	U8("xy\xf0\x8f\xbf\xbf", false, 2),	/* overlong 4-byte */
	U8("\xed\xa0\x80", false, 0),		/* surrogate D800 */
	U8("a\xed\xbf\xbf", false, 1),		/* surrogate DFFF */
	U8("\xf4\x90\x80\x80", false, 0),	/* U+110000 */
	U8("\xf5\x80\x80\x80", false, 0),
	U8("\xff", false, 0),
	U8("ab\x80", false, 2),			/* stray continuation */
	U8("\xc3\xa9\xc3", false, 2),		/* truncated at end */
	U8("\xe2\x82", false, 0),
	U8("\xe2\x82x", false, 0),		/* interrupted */
	U8("0123456789abcdef\xf0\x9f\x98", false, 16),
};

START_TEST(test_utf8_validator_cases)
{
	size_t i, j;

	for (i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		struct utf8_state u;
		size_t bad = 999;

		ck_assert_msg(utf8_valid(c->bytes, c->len) == c->valid, "case %zu", i);
		/* Byte-at-a-time feeding agrees. */
		utf8_init(&u);
		for (j = 0; j < c->len; j++)
			utf8_feed(&u, (const unsigned char *)c->bytes + j, 1);
		ck_assert_msg(utf8_final_ok(&u) == c->valid, "case %zu bytewise", i);
		if (u.bad)
			ck_assert_msg(u.bad_offset == c->bad_offset, "case %zu: %zu", i, u.bad_offset);
		if (!c->valid) {
			ck_assert(!charset_decodes(NULL, charset_lookup("utf-8"), c->bytes, c->len, &bad));
			ck_assert_msg(bad == c->bad_offset, "case %zu decodes offset %zu", i, bad);
		}
	}
}
END_TEST

/* Every code point's encoding is valid, and the validator agrees with iconv
 * on every two- and three-byte sequence. */
START_TEST(test_utf8_validator_agrees_with_iconv)
{
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
	unsigned a, b, c;

	ck_assert(cd != (iconv_t)-1);
	for (a = 0x80; a < 0x100; a++)
		for (b = 0x00; b < 0x100; b++)
			for (c = 0x00; c < 0x100; c += (a >= 0xe0 && a < 0xf0) ? 1 : 0x100) {
				char in[3] = { (char)a, (char)b, (char)c }, out[16], *ip = in, *op = out;
				size_t n = (a >= 0xe0 && a < 0xf0) ? 3 : 2, il = n, ol = sizeof(out);
				bool iconv_ok;

				iconv(cd, NULL, NULL, NULL, NULL);
				iconv_ok = iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0;
				ck_assert_msg(utf8_valid(in, n) == iconv_ok, "%02x %02x %02x", a, b, c);
			}
	iconv_close(cd);
}
END_TEST

/* Whole buffers take the validator's fast prefix, a byte at a time its
 * state machine: on random mixes of ASCII, well-formed sequences of every
 * length and stray bytes both give the same verdict and the same offset,
 * and the verdict is iconv's. */
START_TEST(test_utf8_fast_prefix_agrees_with_state_machine)
{
	static const char *const pieces[] = {
		"a", "plain ascii text ", "\xc3\xa9", "\xd0\x9c\xd0\xbe", "\xe2\x82\xac", "\xed\x9f\xbf",
		"\xef\xbf\xbd", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xe0\xa0\x80",
		/* malformed: overlong, surrogate, past U+10FFFF, stray, cut */
		"\xc0\xaf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x8f\xbf\xbf",
		"\x80", "\xff", "\xe2\x82", "\xf0\x9f\x98",
	};
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
	uint32_t seed = 12345;

	ck_assert(cd != (iconv_t)-1);
	for (int round = 0; round < 20000; round++) {
		char in[256], out[1024], *ip = in, *op = out;
		size_t n = 0, il, ol = sizeof(out);
		int npieces = 1 + round % 24;
		struct utf8_state whole, bytewise;

		for (int k = 0; k < npieces; k++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly well-formed pieces, a malformed one now and then */
			size_t which = (seed >> 16) % 100 < 93 ? (seed >> 8) % 10 : 10 + (seed >> 8) % 9;
			size_t len = strlen(pieces[which]);

			if (n + len > sizeof(in))
				break;
			memcpy(in + n, pieces[which], len);
			n += len;
		}
		utf8_init(&whole);
		utf8_feed(&whole, (const unsigned char *)in, n);
		utf8_init(&bytewise);
		for (size_t j = 0; j < n; j++)
			utf8_feed(&bytewise, (const unsigned char *)in + j, 1);
		ck_assert_msg(utf8_final_ok(&whole) == utf8_final_ok(&bytewise), "round %d", round);
		ck_assert_msg(whole.bad == bytewise.bad, "round %d", round);
		if (whole.bad)
			ck_assert_msg(whole.bad_offset == bytewise.bad_offset, "round %d: offset %zu vs %zu",
				      round, whole.bad_offset, bytewise.bad_offset);
		il = n;
		iconv(cd, NULL, NULL, NULL, NULL);
		bool iconv_ok = iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0;

		ck_assert_msg(utf8_final_ok(&whole) == iconv_ok, "round %d", round);
	}
	iconv_close(cd);
}
END_TEST

/* Raw glibc iconv of in[0..n) to UTF-8 into out: 0, or the offset of the
 * first byte that does not decode plus one (the output holds what came
 * before it). */
static size_t raw_iconv(const char *name, const char *in, size_t n, struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", name);
	char obuf[4096], *ip = (char *)in;
	size_t il = n, bad = 0;

	ck_assert(cd != (iconv_t)-1);
	while (il > 0) {
		char *op = obuf;
		size_t ol = sizeof(obuf);
		size_t r = iconv(cd, &ip, &il, &op, &ol);

		buf_append(out, obuf, sizeof(obuf) - ol);
		if (r == (size_t)-1 && errno != E2BIG) {
			bad = n - il + 1;
			break;
		}
	}
	{
		char *op = obuf;
		size_t ol = sizeof(obuf);

		if (bad == 0 && iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1)
			buf_append(out, obuf, sizeof(obuf) - ol);
	}
	iconv_close(cd);
	return bad;
}

/* Every single-byte charset converts exactly as glibc does (the byte-map
 * fast path included): each byte alone, all 256 in order (up to the first
 * that does not decode, at the same offset), and 64 KB of its defined bytes
 * in a shuffled order fed in uneven pieces. */
START_TEST(test_single_byte_streams_are_glibc_byte_for_byte)
{
	struct charset_conv *cv = charset_conv_new();
	static char text[65536];
	size_t checked = 0;

	for (size_t i = 0; i < charset_count(); i++) {
		const struct charset_info *cs = charset_at(i);
		char all[256];
		size_t ndef = 0, bad, want_bad;
		unsigned seed = 12345;

		if (!(cs->props & CSP_SINGLE_BYTE) || !charset_iconv_ok(cs))
			continue;
		for (unsigned b = 0; b < 256; b++) {
			struct buf got, want;
			char one = (char)b;
			struct charset_stream *st = charset_stream_begin(cv, cs, collect, &got);
			int rc;

			buf_init(&got, 64);
			buf_init(&want, 64);
			rc = charset_stream_feed(st, &one, 1);
			rc |= charset_stream_end(st, &bad);
			want_bad = raw_iconv(cs->iconv_name, &one, 1, &want);
			ck_assert_msg((rc == 0) == (want_bad == 0), "%s byte %02x: %d vs glibc", cs->mime_name, b, rc);
			if (rc == 0) {
				ck_assert_msg(got.len == want.len && memcmp(got.data, want.data, got.len) == 0,
					      "%s byte %02x converts differently", cs->mime_name, b);
				all[ndef++] = one;
			}
			buf_free(&got);
			buf_free(&want);
		}
		for (size_t k = 0; k < sizeof(text); k++) {
			seed = seed * 1103515245u + 12345u;
			text[k] = all[(seed >> 8) % ndef];
		}
		{
			struct buf got, want;
			struct charset_stream *st;
			size_t off = 0, piece = 1;

			buf_init(&got, 1u << 20);
			buf_init(&want, 1u << 20);
			st = charset_stream_begin(cv, cs, collect, &got);
			while (off < sizeof(text)) {
				size_t n = piece < sizeof(text) - off ? piece : sizeof(text) - off;

				ck_assert_int_eq(charset_stream_feed(st, text + off, n), 0);
				off += n;
				piece = piece * 3 % 5000 + 1;
			}
			ck_assert_int_eq(charset_stream_end(st, &bad), 0);
			ck_assert_uint_eq(raw_iconv(cs->iconv_name, text, sizeof(text), &want), 0);
			ck_assert_msg(got.len == want.len && memcmp(got.data, want.data, got.len) == 0,
				      "%s: 64 KB converts differently", cs->mime_name);
			buf_free(&got);
			buf_free(&want);
		}
		checked++;
	}
	ck_assert_uint_ge(checked, 20);
	charset_conv_free(cv);
}
END_TEST

/* Whether UTF-8 holds a C1 control (C2 80..C2 9F): refused in multi-byte text. */
static bool utf8_has_c1(const struct buf *b)
{
	for (size_t i = 0; i + 1 < b->len; i++)
		if ((unsigned char)b->data[i] == 0xc2 && (unsigned char)b->data[i + 1] >= 0x80 &&
		    (unsigned char)b->data[i + 1] <= 0x9f)
			return true;
	return false;
}

/* Code points (host-order uint32_t) as UTF-8, for comparing the UCS-4 form. */
static int collect_ucs4_as_utf8(void *arg, const char *data, size_t len)
{
	struct buf *b = arg;

	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t c;
		char u[4];
		size_t n;

		memcpy(&c, data + i, 4);
		if (c < 0x80) {
			u[0] = (char)c;
			n = 1;
		} else if (c < 0x800) {
			u[0] = (char)(0xc0 | c >> 6);
			u[1] = (char)(0x80 | (c & 0x3f));
			n = 2;
		} else if (c < 0x10000) {
			u[0] = (char)(0xe0 | c >> 12);
			u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			u[2] = (char)(0x80 | (c & 0x3f));
			n = 3;
		} else {
			u[0] = (char)(0xf0 | c >> 18);
			u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			u[3] = (char)(0x80 | (c & 0x3f));
			n = 4;
		}
		if (buf_append(b, u, n) < 0)
			return -1;
	}
	return 0;
}

/* Decode in[0..n) under cs (form 0 UTF-8, 1 UCS-4) or under its MIME name
 * through glibc's converter of that name (form 2), fed in pieces of `piece`
 * bytes (0: whole). */
static int stream_in_pieces(struct charset_conv *cv, const struct charset_info *cs, int form,
			    const char *in, size_t n, size_t piece, struct buf *out, size_t *bad)
{
	struct charset_stream *st = form == 1 ? charset_stream_begin_ucs4(cv, cs, collect_ucs4_as_utf8, out) :
	    form == 2 ? charset_stream_begin_name(cv, cs->mime_name, collect, out) :
	    charset_stream_begin(cv, cs, collect, out);
	int rc = 0;

	ck_assert_ptr_nonnull(st);
	for (size_t off = 0; off < n && rc == 0; off += piece) {
		if (piece == 0 || piece > n - off)
			piece = n - off;
		rc = charset_stream_feed(st, in + off, piece);
	}
	return charset_stream_end(st, bad) | rc;
}

/* Every multi-byte charset of the registry decodes exactly as glibc does,
 * the double-byte map included: random mixes of ASCII, the charset's valid
 * two-byte characters, stray 8-bit bytes and four-byte-looking sequences,
 * fed whole and in uneven pieces, in UTF-8 and in UCS-4, give glibc's
 * output, or fail where glibc fails (or where glibc's output holds a C1
 * control, which multi-byte text never does). */
START_TEST(test_multi_byte_streams_are_glibc_character_for_character)
{
	struct charset_conv *cv = charset_conv_new();
	size_t checked = 0;
	uint32_t seed = 4242;

	for (size_t i = 0; i < charset_count(); i++) {
		const struct charset_info *cs = charset_at(i);
		static unsigned short valid[0x8000];
		size_t nvalid = 0;
		iconv_t cd;

		if (!(cs->props & CSP_MULTI_BYTE) || cs->family == CSF_UTF || (cs->props & CSP_LABEL) ||
		    !charset_iconv_ok(cs))
			continue;
		cd = iconv_open("UTF-8", cs->iconv_name);
		ck_assert(cd != (iconv_t)-1);
		for (unsigned lead = 0x81; lead < 0xff; lead++)
			for (unsigned trail = 0x40; trail < 0xff; trail++) {
				char in[2] = { (char)lead, (char)trail }, out[16], *ip = in, *op = out;
				size_t il = 2, ol = sizeof(out);

				iconv(cd, NULL, NULL, NULL, NULL);
				if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0 && nvalid < 0x8000)
					valid[nvalid++] = (unsigned short)(lead << 8 | trail);
			}
		iconv_close(cd);
		ck_assert_msg(nvalid > 1000, "%s: %zu two-byte characters", cs->mime_name, nvalid);
		for (int round = 0; round < 1500; round++) {
			char in[600];
			size_t n = 0;
			int npieces = 1 + round % 40;

			for (int k = 0; k < npieces && n + 8 <= sizeof(in); k++) {
				seed = seed * 1103515245u + 12345u;
				unsigned r = (seed >> 8) % 100, v = seed >> 16;

				if (r < 55) {
					unsigned short c = valid[v % nvalid];

					in[n++] = (char)(c >> 8);
					in[n++] = (char)(c & 0xff);
				} else if (r < 85) {
					in[n++] = (char)(' ' + v % 95);
				} else if (r < 93 || round % 3 == 0) {
					in[n++] = (char)(0x80 | (v & 0x7f));	/* stray 8-bit */
				} else {
					in[n++] = (char)(0x81 + v % 0x7e);	/* GB18030-like four bytes */
					in[n++] = (char)('0' + (v >> 7) % 10);
					in[n++] = (char)(0x81 + (v >> 3) % 0x7e);
					in[n++] = (char)('0' + (v >> 11) % 10);
				}
			}
			for (int form = 0; form < 3; form++)
				for (size_t piece = 0; piece < 8; piece += 3) {
					struct buf got, want;
					size_t bad = 0, want_bad;
					int rc;

					buf_init(&want, 1u << 16);
					want_bad = raw_iconv(form == 2 ? cs->mime_name : cs->iconv_name, in, n, &want);
					bool refused = utf8_has_c1(&want);

					buf_init(&got, 1u << 16);
					rc = stream_in_pieces(cv, cs, form, in, n, piece, &got, &bad);
					if (refused) {
						ck_assert_msg(rc != 0, "%s round %d: a C1 control decoded",
							      cs->mime_name, round);
					} else if (want_bad != 0) {
						ck_assert_msg(rc != 0 && bad == want_bad - 1,
							      "%s round %d form %d piece %zu: failed at %zu (rc %d), glibc at %zu",
							      cs->mime_name, round, form, piece, bad, rc, want_bad - 1);
					} else {
						ck_assert_msg(rc == 0 && got.len == want.len &&
							      memcmp(got.data, want.data, got.len) == 0,
							      "%s round %d form %d piece %zu: decodes differently (rc %d)",
							      cs->mime_name, round, form, piece, rc);
					}
					buf_free(&got);
					buf_free(&want);
				}
		}
		checked++;
	}
	ck_assert_uint_ge(checked, 8);
	charset_conv_free(cv);
}
END_TEST

/* ---- labels to write ---------------------------------------------------------------- */

/* The label rows decode exactly as their family rows: same converter. */
START_TEST(test_label_rows_share_their_family_converter)
{
	static const char *const pairs[][2] = {
		{ "windows-31j", "shift_jis" }, { "cp949", "euc-kr" }, { "gbk", "gb2312" },
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		const struct charset_info *w = charset_lookup(pairs[i][0]), *n = charset_lookup(pairs[i][1]);

		ck_assert_ptr_nonnull(w);
		ck_assert_ptr_nonnull(n);
		ck_assert_ptr_ne(w, n);
		ck_assert(w->props & CSP_LABEL);
		ck_assert(!(n->props & CSP_LABEL));
		ck_assert_str_eq(w->iconv_name, n->iconv_name);
		ck_assert_int_eq(w->family, n->family);
	}
}
END_TEST

/* Bytes that need each vendor extension (checked against glibc by hand:
 * `iconv -f NAME`), and what glibc says under each exact name. */
static const struct {
	const char *name;
	const char *bytes;
	bool decodes;
} name_cases[] = {
	{ "shift_jis", "\x93\xfa\x96\x7b", true },		/* 日本, JIS X 0208 */
	{ "shift_jis", "\x87\x40", false },			/* NEC row 13: circled 1 */
	{ "windows-31j", "\x87\x40", true },
	{ "shift_jis", "\xfa\x40", false },			/* IBM extension */
	{ "windows-31j", "\xfa\x40", true },
	{ "euc-kr", "\xc7\xd1\xb1\xb9", true },		/* 한국, KS X 1001 */
	{ "euc-kr", "\x81\x41", false },			/* UHC syllable: glibc emits C1 */
	{ "cp949", "\x81\x41", true },
	{ "ks_c_5601-1987", "\xc7\xd1", false },		/* glibc does not know the name */
	{ "gb2312", "\xd6\xd0\xce\xc4", true },		/* 中文 */
	{ "gb2312", "\x81\x40", false },			/* GBK row */
	{ "gbk", "\x81\x40", true },
	{ "gbk", "\x94\x39\xfc\x36", false },			/* GB18030 four-byte: U+1F600 */
	{ "gb18030", "\x94\x39\xfc\x36", true },
	{ "iso-8859-1", "caf\xe9 \x85", true },		/* single-byte: C1 is glibc's table */
	{ "no-such-charset", "abc", false },
};

START_TEST(test_name_decodes_is_glibc_under_that_name)
{
	struct charset_conv *cv = charset_conv_new();
	size_t i;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const char *b = name_cases[i].bytes;

		ck_assert_msg(charset_name_decodes(cv, name_cases[i].name, b, strlen(b), NULL) ==
			      name_cases[i].decodes, "%s case %zu", name_cases[i].name, i);
	}
	charset_conv_free(cv);
}
END_TEST

struct fixed_text {
	struct charset_conv *cv;
	const char *bytes;
	unsigned asked;
};

static bool fixed_name_decodes(void *arg, const char *name)
{
	struct fixed_text *t = arg;

	t->asked++;
	return charset_name_decodes(t->cv, name, t->bytes, strlen(t->bytes), NULL);
}

static void expect_written(const char *family, const char *bytes, const char *want)
{
	struct fixed_text t = { charset_conv_new(), bytes, 0 };
	const struct charset_info *got = charset_label_for(charset_lookup(family), fixed_name_decodes, &t);

	ck_assert_ptr_nonnull(got);
	ck_assert_msg(strcmp(got->mime_name, want) == 0, "%s text -> %s, want %s", family, got->mime_name, want);
	/* whatever is written, glibc decodes the text under exactly that name */
	ck_assert(charset_name_decodes(t.cv, got->mime_name, bytes, strlen(bytes), NULL));
	charset_conv_free(t.cv);
}

START_TEST(test_label_for_picks_by_what_the_bytes_need)
{
	expect_written("shift_jis", "\x93\xfa\x96\x7b", "shift_jis");
	expect_written("shift_jis", "\x93\xfa\x87\x40", "windows-31j");
	expect_written("euc-kr", "\xc7\xd1\xb1\xb9", "euc-kr");
	expect_written("euc-kr", "\xc7\xd1\x81\x41", "cp949");
	expect_written("gb2312", "\xd6\xd0\xce\xc4", "gb2312");
	expect_written("gb2312", "\xd6\xd0\x81\x40", "gbk");
	expect_written("cp949", "\xc7\xd1", "cp949");		/* a label row stays */
	expect_written("gb18030", "\xd6\xd0\xce\xc4", "gb2312");	/* no four-byte sequence */
	expect_written("gb18030", "\xd6\xd0\x81\x40", "gbk");
	expect_written("gb18030", "\xd6\xd0\x94\x39\xfc\x36", "gb18030");
	expect_written("big5", "\xa4\xa4\xf9\xd6", "big5");	/* glibc BIG5 has the ETEN rows */
	expect_written("windows-1251", "\xcf\xf0\xe8", "windows-1251");
}
END_TEST

START_TEST(test_microsoft_korean_labels_mean_uhc)
{
	const struct charset_info *kr = charset_lookup("euc-kr");

	ck_assert(charset_label_means_superset("ks_c_5601-1987", kr));
	ck_assert(charset_label_means_superset("KS_C_5601-1989", kr));
	ck_assert(charset_label_means_superset("windows-949", charset_lookup("cp949")));
	ck_assert(!charset_label_means_superset("euc-kr", kr));
	ck_assert(!charset_label_means_superset("ks_c_5601-1987", charset_lookup("shift_jis")));
	ck_assert(!charset_label_means_superset("x-sjis", charset_lookup("shift_jis")));
}
END_TEST

static Suite *charset_suite(void)
{
	Suite *s = suite_create("charset");
	TCase *tc = tcase_create("registry");

	tcase_add_test(tc, test_every_listed_codepage_resolves);
	tcase_add_test(tc, test_iconv_accepts_every_registry_charset_except_hz);
	tcase_add_test(tc, test_every_mime_name_looks_itself_up);
	tcase_add_test(tc, test_codepage_spellings);
	tcase_add_test(tc, test_vendor_labels);
	tcase_add_test(tc, test_case_space_and_quotes_are_ignored);
	tcase_add_test(tc, test_unknown_and_placeholder_labels);
	tcase_add_test(tc, test_superset_rules);
	tcase_add_test(tc, test_byte_defined_single_byte);
	suite_add_tcase(s, tc);
	tc = tcase_create("conversion");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_samples_decode_to_expected_utf8);
	tcase_add_test(tc, test_stream_one_byte_chunks_equal_one_shot);
	tcase_add_test(tc, test_decodes_reports_exact_offset);
	tcase_add_test(tc, test_decodes_big_input);
	tcase_add_test(tc, test_stream_survives_interleaved_decodes);
	tcase_add_test(tc, test_windows_1258_flushes_held_character);
	suite_add_tcase(s, tc);
	tc = tcase_create("labels");
	tcase_add_test(tc, test_label_rows_share_their_family_converter);
	tcase_add_test(tc, test_name_decodes_is_glibc_under_that_name);
	tcase_add_test(tc, test_label_for_picks_by_what_the_bytes_need);
	tcase_add_test(tc, test_microsoft_korean_labels_mean_uhc);
	suite_add_tcase(s, tc);
	tc = tcase_create("utf8");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_utf8_validator_cases);
	tcase_add_test(tc, test_utf8_validator_agrees_with_iconv);
	tcase_add_test(tc, test_utf8_fast_prefix_agrees_with_state_machine);
	tcase_add_test(tc, test_single_byte_streams_are_glibc_byte_for_byte);
	tcase_add_test(tc, test_multi_byte_streams_are_glibc_character_for_character);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(charset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
