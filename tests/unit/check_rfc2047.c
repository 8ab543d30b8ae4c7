/*
 * check_rfc2047.c -- unit tests for encoded-word decoding and encoding and
 * RFC 2231 parameter encoding (rfc2047.h).
 *
 * Round trips start from UTF-8 text, convert it to the legacy charset with
 * iconv here (independently of the code under test), encode, check the
 * RFC 2047/5322 limits on the result, decode, and compare with the original.
 */
#include "config.h"

#include <check.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "charset.h"
#include "rfc2047.h"

static struct charset_conv *cv;

static void setup(void)
{
	cv = charset_conv_new();
}

static void teardown(void)
{
	charset_conv_free(cv);
	cv = NULL;
}

/* UTF-8 -> charset bytes, with iconv directly. */
static void to_charset(const char *utf8, const char *label, struct buf *out)
{
	const struct charset_info *cs = charset_lookup(label);
	iconv_t cd;
	char *ip = (char *)utf8, tmp[65536], *op = tmp;
	size_t il = strlen(utf8), ol = sizeof(tmp);

	ck_assert_ptr_nonnull(cs);
	cd = iconv_open(cs->iconv_name, "UTF-8");
	ck_assert(cd != (iconv_t)-1);
	ck_assert_msg(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1, "%s cannot hold the sample", label);
	iconv_close(cd);
	buf_reset(out);
	ck_assert_int_eq(buf_append(out, tmp, sizeof(tmp) - ol), 0);
}

static char *decode_str(const char *s, size_t len, const char *raw_label, int *nwords)
{
	struct buf out;
	int n;

	buf_init(&out, 1 << 22);
	n = rfc2047_decode(s, len, raw_label ? charset_lookup(raw_label) : NULL, cv, &out);
	ck_assert_int_ge(n, 0);
	if (nwords != NULL)
		*nwords = n;
	return buf_steal(&out, NULL);
}

/* ---- decoding ------------------------------------------------------------------------ */

static void expect_decode(const char *in, const char *want, int want_words)
{
	int n;
	char *got = decode_str(in, strlen(in), NULL, &n);

	ck_assert_msg(strcmp(got, want) == 0, "decode(\"%s\") = \"%s\", want \"%s\"", in, got, want);
	ck_assert_msg(n == want_words, "decode(\"%s\"): %d words, want %d", in, n, want_words);
	free(got);
}

START_TEST(test_decode_q_and_b)
{
	expect_decode("=?iso-8859-1?q?caf=E9?=", "café", 1);
	expect_decode("=?ISO-8859-1?Q?caf=e9_noir?=", "café noir", 1);
	expect_decode("=?UTF-8?B?w6k=?=", "é", 1);
	expect_decode("=?utf-8?b?0J/RgNC40LLQtdGC?=", "Привет", 1);
	expect_decode("=?windows-1251?B?z/Do4uXy?=", "Привет", 1);
	expect_decode("=?koi8-r?Q?=F0=D2=C9=D7=C5=D4?=", "Привет", 1);
	expect_decode("=?utf-8?q?" "?=", "", 1);
	expect_decode("no words here", "no words here", 0);
}
END_TEST

START_TEST(test_decode_adjacent_words_are_joined)
{
	expect_decode("=?utf-8?q?a?= =?utf-8?q?b?=", "ab", 2);
	expect_decode("=?utf-8?q?a?=\r\n =?utf-8?q?b?=\r\n\t=?utf-8?q?c?=", "abc", 3);
	expect_decode("=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c", 2);
	/* A character split across two words (a broken encoder) still decodes. */
	expect_decode("=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "é", 2);
	expect_decode("=?shift_jis?B?gg==?= =?shift_jis?B?sQ==?=", "こ", 2);
	/* Different charsets side by side. */
	expect_decode("=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "éé", 2);
	expect_decode("Re: =?utf-8?q?caf=C3=A9?= ok", "Re: café ok", 1);
	/* Unfolding of literal text. */
	expect_decode("a\r\n b", "a b", 0);
}
END_TEST

START_TEST(test_decode_malformed_words_stay_literal)
{
	expect_decode("=?utf-8?q?=ZZ?=", "=?utf-8?q?=ZZ?=", 0);
	expect_decode("=?utf-8?q?=E?=", "=?utf-8?q?=E?=", 0);
	expect_decode("=?bogus-charset?q?x?=", "=?bogus-charset?q?x?=", 0);
	expect_decode("=?utf-8?x?y?=", "=?utf-8?x?y?=", 0);
	expect_decode("=?utf-8?b?w6k?=", "é", 1);	/* missing padding: tolerated */
	expect_decode("=?utf-8?b?w6kx0?=", "=?utf-8?b?w6kx0?=", 0);	/* 6 leftover bits */
	expect_decode("=?utf-8?b?w6k=x?=", "=?utf-8?b?w6k=x?=", 0);
	expect_decode("=?utf-8?q?a b?=", "=?utf-8?q?a b?=", 0);
	expect_decode("=?utf-8?q?unterminated", "=?utf-8?q?unterminated", 0);
	/* Bytes that do not decode in the named charset: literal. */
	expect_decode("=?utf-8?q?=FF?=", "=?utf-8?q?=FF?=", 0);
	/* A good word after a bad one still decodes; white space stays. */
	expect_decode("=?utf-8?q?=ZZ?= =?utf-8?q?ok?=", "=?utf-8?q?=ZZ?= ok", 1);
	expect_decode("=?utf-8?q?ok?= =?utf-8?q?=ZZ?=", "ok =?utf-8?q?=ZZ?=", 1);
}
END_TEST

START_TEST(test_decode_language_suffix)
{
	expect_decode("=?utf-8*en?q?hi?=", "hi", 1);
	expect_decode("=?ISO-8859-1*de-DE?Q?Gr=FC=DFe?=", "Grüße", 1);
	expect_decode("=?*en?q?hi?=", "=?*en?q?hi?=", 0);
}
END_TEST

START_TEST(test_decode_raw_8bit_outside_words)
{
	static const char raw[] = "Gr\xfc\xdf" "e =?utf-8?q?caf=C3=A9?=";
	int n;
	char *got = decode_str(raw, sizeof(raw) - 1, "windows-1252", &n);

	ck_assert_str_eq(got, "Grüße café");
	ck_assert_int_eq(n, 1);
	free(got);
	got = decode_str(raw, sizeof(raw) - 1, NULL, &n);
	ck_assert_mem_eq(got, "Gr\xfc\xdf" "e café", 11);
	free(got);
}
END_TEST

START_TEST(test_decode_output_limit)
{
	struct buf out;

	buf_init(&out, 4);
	ck_assert_int_eq(rfc2047_decode("=?utf-8?q?abcdefgh?=", 20, NULL, cv, &out), -1);
	buf_free(&out);
	buf_init(&out, 4);
	ck_assert_int_eq(rfc2047_decode("abcdefgh", 8, NULL, cv, &out), -1);
	buf_free(&out);
}
END_TEST

START_TEST(test_has_encoded_word)
{
	ck_assert(rfc2047_has_encoded_word("x =?utf-8?q?a?= y", 17));
	ck_assert(!rfc2047_has_encoded_word("x =?utf-8?q?a y", 15));
	ck_assert(!rfc2047_has_encoded_word("=?", 2));
	ck_assert(!rfc2047_has_encoded_word("", 0));
}
END_TEST

/* ---- encoding: checks on any output -------------------------------------------------- */

/* Every line <= 78 counting from start_col, every encoded-word <= 75, no
 * 8-bit byte outside what the input kept literal. */
static void check_limits(const char *out, size_t len, size_t start_col, const char *eol)
{
	size_t i, col = start_col, eollen = strlen(eol);

	for (i = 0; i < len; i++) {
		if (len - i >= eollen && memcmp(out + i, eol, eollen) == 0) {
			ck_assert_msg(i + eollen < len && (out[i + eollen] == ' ' || out[i + eollen] == '\t'),
				      "fold not followed by white space");
			col = 0;
			i += eollen - 1;
			continue;
		}
		col++;
		ck_assert_msg(col <= 78, "line longer than 78 at offset %zu: %.*s", i, (int)len, out);
		if (out[i] == '=' && i + 1 < len && out[i + 1] == '?') {
			const char *end = out + i + 2;
			int q = 0;

			while (end < out + len && q < 3) {
				if (*end == '?')
					q++;
				end++;
			}
			ck_assert_msg(end < out + len && *end == '=', "unterminated encoded-word");
			ck_assert_msg(end + 1 - (out + i) <= 75, "encoded-word longer than 75: %.*s",
				      (int)(end + 1 - (out + i)), out + i);
			col += (size_t)(end - (out + i));
			ck_assert_msg(col <= 78, "line longer than 78 at offset %zu: %.*s", i, (int)len, out);
			i = (size_t)(end - out);
		}
	}
}

/* Every CR or LF of the output belongs to a fold (eol then SP or TAB),
 * and no line holds only white space (RFC 5322 3.2.2) unless the input had
 * such lines (ws_lines_ok). */
static void check_folds_ws(const char *out, size_t len, const char *eol, bool ws_lines_ok)
{
	size_t i, eollen = strlen(eol), line_start = 0;
	bool text = true;	/* the field name is on the first line */

	for (i = 0; i < len; i++) {
		if (out[i] == '\r' || out[i] == '\n') {
			ck_assert_msg(len - i > eollen && memcmp(out + i, eol, eollen) == 0 &&
				      (out[i + eollen] == ' ' || out[i + eollen] == '\t'),
				      "line break at %zu is not a fold: %.*s", i, (int)len, out);
			ck_assert_msg(text || ws_lines_ok, "line at %zu holds only white space: %.*s",
				      line_start, (int)len, out);
			i += eollen - 1;
			line_start = i + 1;
			text = false;
			continue;
		}
		if (out[i] != ' ' && out[i] != '\t')
			text = true;
	}
}

static void check_folds(const char *out, size_t len, const char *eol)
{
	check_folds_ws(out, len, eol, false);
}

/* The raw bytes of every encoded-word of out (Q and B undone here, not by
 * the code under test), one word after the other, into raw; how many
 * words there were. */
static int words_raw_bytes(const char *out, size_t len, struct buf *raw)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = out, *end = out + len;
	int words = 0;

	buf_reset(raw);
	while ((p = memmem(p, (size_t)(end - p), "=?", 2)) != NULL) {
		const char *q = memchr(p + 2, '?', (size_t)(end - p - 2)), *t, *stop, *c;
		char enc;

		/* Skip "=?" text that is no encoded-word (literal input). */
		if (q == NULL || q + 3 >= end || q[2] != '?' || (q[1] != 'Q' && q[1] != 'B') ||
		    (stop = memmem(q + 3, (size_t)(end - q - 3), "?=", 2)) == NULL) {
			p += 2;
			continue;
		}
		for (c = p; c < stop && *c > ' ' && *c < 0x7f; c++)
			;
		if (c < stop) {
			p += 2;
			continue;
		}
		enc = q[1];
		t = q + 3;
		if (enc == 'Q') {
			for (; t < stop; t++) {
				if (*t == '_') {
					buf_putc(raw, ' ');
				} else if (*t == '=') {
					char hex[3] = { t[1], t[2], 0 };

					buf_putc(raw, (int)strtol(hex, NULL, 16));
					t += 2;
				} else {
					buf_putc(raw, *t);
				}
			}
		} else {
			uint32_t acc = 0;
			unsigned bits = 0;

			ck_assert_int_eq(enc, 'B');
			for (; t < stop && *t != '='; t++) {
				acc = (acc << 6) | (uint32_t)(strchr(b64, *t) - b64);
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					buf_putc(raw, (int)((acc >> bits) & 0xff));
				}
			}
		}
		words++;
		p = stop + 2;
	}
	return words;
}

static void check_no_crlf_in_words(const char *out, size_t len)
{
	struct buf raw;

	buf_init(&raw, 1 << 20);
	words_raw_bytes(out, len, &raw);
	ck_assert_msg(raw.len == 0 || (memchr(raw.data, '\r', raw.len) == NULL &&
				       memchr(raw.data, '\n', raw.len) == NULL),
		      "CR or LF inside an encoded-word: %.*s", (int)len, out);
	buf_free(&raw);
}

/* Each encoded-word's bytes decode on their own: no character was split. */
static void check_words_whole(const char *out, size_t len)
{
	const char *p = out, *end = out + len;

	while ((p = memmem(p, (size_t)(end - p), "=?", 2)) != NULL) {
		const char *q = memmem(p, (size_t)(end - p), "?=", 2);
		struct buf one;
		int n;

		/* skip "?Q?"/"?B?" markers: find the closing "?=" after the third '?' */
		{
			const char *s = p + 2;
			int marks = 0;

			while (s < end && marks < 3) {
				if (*s == '?')
					marks++;
				s++;
			}
			q = s - 1;
		}
		buf_init(&one, 4096);
		n = rfc2047_decode(p, (size_t)(q + 2 - p), NULL, cv, &one);
		ck_assert_msg(n == 1, "word does not decode alone: %.*s", (int)(q + 2 - p), p);
		buf_free(&one);
		p = q + 2;
	}
}

struct rt_sample {
	const char *label;
	const char *utf8;
};

static const struct rt_sample rt_samples[] = {
	{ "windows-1252", "Grüße aus Köln – “Zitat” für Sie, 50 € à l’œil" },
	{ "windows-1251", "Привет, как дела? Это тестовое письмо" },
	{ "koi8-r", "Съешь же ещё этих мягких французских булок, да выпей чаю" },
	{ "iso-8859-2", "Příliš žluťoučký kůň úpěl ďábelské ódy; Zażółć gęślą jaźń" },
	{ "shift_jis", "こんにちは、世界。日本語のテスト①です ｶﾀｶﾅ" },
	{ "gb2312", "你好，世界。这是一个测试邮件 € 丂" },
	{ "big5", "你好，世界。這是一封測試郵件" },
	{ "euc-kr", "안녕하세요, 세계. 이것은 시험 메일입니다 갂" },
	{ "utf-8", "Ünïcödé 😀 テスト Привет ελληνικά العربية" },
	{ "euc-jp", "日本語のテストです" },
	{ "gb18030", "你好 😀 世界" },
	{ "windows-1258", "Tiếng Việt có dấu" },
};

static void round_trip(const char *label, const char *utf8, size_t start_col, enum rfc2047_kind kind,
		       const char *eol)
{
	const struct charset_info *cs = charset_lookup(label);
	struct buf raw, in, out;
	char *back;
	size_t i;

	buf_init(&raw, 1 << 20);
	buf_init(&in, 1 << 20);
	buf_init(&out, 1 << 22);
	to_charset(utf8, label, &raw);
	ck_assert_int_eq(buf_putc(&in, ' '), 0);
	ck_assert_int_eq(buf_append(&in, raw.data, raw.len), 0);
	ck_assert_msg(rfc2047_encode_header(in.data, in.len, cs, kind, start_col, eol, &out) == 0,
		      "%s: encode failed", label);
	for (i = 0; i < out.len; i++)
		ck_assert_msg((unsigned char)out.data[i] < 0x80, "%s: 8-bit byte left in output", label);
	check_limits(out.data, out.len, start_col, eol);
	check_words_whole(out.data, out.len);
	back = decode_str(out.data, out.len, NULL, NULL);
	ck_assert_msg(back[0] == ' ' && strcmp(back + 1, utf8) == 0,
		      "%s round trip:\n in: %s\nout: %s\nenc: %s", label, utf8, back, out.data);
	free(back);
	buf_free(&raw);
	buf_free(&in);
	buf_free(&out);
}

START_TEST(test_round_trip_samples_of_several_lengths)
{
	size_t i, reps;

	for (i = 0; i < sizeof(rt_samples) / sizeof(rt_samples[0]); i++) {
		for (reps = 1; reps <= 8; reps *= 2) {
			struct buf text;
			size_t r, col;

			buf_init(&text, 1 << 16);
			for (r = 0; r < reps; r++) {
				if (r > 0)
					buf_putc(&text, ' ');
				buf_puts(&text, rt_samples[i].utf8);
			}
			for (col = 8; col <= 40; col += 16) {
				round_trip(rt_samples[i].label, text.data, col, RFC2047_UNSTRUCTURED, "\r\n");
				round_trip(rt_samples[i].label, text.data, col, RFC2047_ADDRESS, "\n");
			}
			buf_free(&text);
		}
	}
}
END_TEST

/* Short prefixes of each sample: every length from one character up. */
START_TEST(test_round_trip_every_prefix)
{
	size_t i, n;

	for (i = 0; i < sizeof(rt_samples) / sizeof(rt_samples[0]); i++) {
		const char *s = rt_samples[i].utf8;
		size_t len = strlen(s);

		for (n = 1; n <= len; n++) {
			char *pre;

			if ((s[n - 1] & 0xc0) == 0x80 || (n < len && (s[n] & 0xc0) == 0x80))
				continue;	/* not on a character boundary */
			pre = strndup(s, n);
			if (pre[n - 1] != ' ')
				round_trip(rt_samples[i].label, pre, 9, RFC2047_UNSTRUCTURED, "\r\n");
			free(pre);
		}
	}
}
END_TEST

START_TEST(test_ascii_input_is_unchanged)
{
	static const char *const in[] = {
		" Hello world",
		" a very long subject line that goes on and on past the seventy-eight column limit of RFC 5322",
		" folded\r\n\tsubject",
		"",
		" =?utf-8?q?already_encoded?=",
		" \"Quoted Name\" <a@example.org>, (comment) b@example.org",
	};
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct buf out;

		buf_init(&out, 4096);
		ck_assert_int_eq(rfc2047_encode_header(in[i], strlen(in[i]), charset_lookup("utf-8"),
						       RFC2047_UNSTRUCTURED, 9, "\r\n", &out), 0);
		ck_assert_uint_eq(out.len, strlen(in[i]));
		ck_assert_mem_eq(out.data != NULL ? out.data : "", in[i], out.len);
		buf_reset(&out);
		ck_assert_int_eq(rfc2047_encode_header(in[i], strlen(in[i]), charset_lookup("utf-8"),
						       RFC2047_ADDRESS, 5, "\r\n", &out), 0);
		ck_assert_uint_eq(out.len, strlen(in[i]));
		buf_free(&out);
	}
}
END_TEST

static char *encode_str(const char *in, const char *label, enum rfc2047_kind kind, size_t col)
{
	struct buf out;

	buf_init(&out, 1 << 20);
	ck_assert_int_eq(rfc2047_encode_header(in, strlen(in), charset_lookup(label), kind, col, "\r\n", &out), 0);
	check_limits(out.data, out.len, col, "\r\n");
	return buf_steal(&out, NULL);
}

START_TEST(test_white_space_next_to_a_senders_encoded_word_survives)
{
	/* RFC 2047 6.2: readers drop white space between two encoded-words, so
	 * the space between the sender's word and ours must be inside ours --
	 * on either side, in a Subject and in a display name. */
	static const struct { const char *in, *want; enum rfc2047_kind kind; } c[] = {
		{ " =?utf-8?q?Re:_caf=C3=A9?= cr\xe8me br\xfbl\xe9" "e",
		  " Re: caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e",
		  RFC2047_UNSTRUCTURED },
		{ " cr\xe8me  =?utf-8?q?caf=C3=A9?= ok", " cr\xc3\xa8me  caf\xc3\xa9 ok", RFC2047_UNSTRUCTURED },
		{ " =?utf-8?q?Ren=C3=A9?=\r\n Fran\xe7ois <rf@example.fr>",
		  " Ren\xc3\xa9 Fran\xc3\xa7ois <rf@example.fr>", RFC2047_ADDRESS },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *got = encode_str(c[i].in, "windows-1252", c[i].kind, 9);
		char *back = decode_str(got, strlen(got), NULL, NULL);

		ck_assert_msg(strcmp(back, c[i].want) == 0, "case %zu: %s -> %s", i, got, back);
		free(back);
		free(got);
	}
}
END_TEST

START_TEST(test_only_8bit_words_are_encoded)
{
	char *back, *got = encode_str(" Re: Gr\xfc\xdf" "e", "windows-1252", RFC2047_UNSTRUCTURED, 8);

	/* The example of rfc2047.h. */
	ck_assert_str_eq(got, " Re: =?windows-1252?Q?Gr=FC=DFe?=");
	free(got);
	got = encode_str(" Hello Gr\xfc\xdf" "e aus K\xf6ln, world!", "windows-1252", RFC2047_UNSTRUCTURED, 8);
	ck_assert_ptr_nonnull(strstr(got, " Hello =?"));
	ck_assert_ptr_nonnull(strstr(got, "?= aus"));
	ck_assert_ptr_nonnull(strstr(got, " world!"));
	back = decode_str(got, strlen(got), NULL, NULL);
	ck_assert_str_eq(back, " Hello Grüße aus Köln, world!");
	free(back);
	free(got);
	/* Adjacent 8-bit words form one run: their space is encoded. */
	got = encode_str(" caf\xe9 cr\xe8me Paris", "iso-8859-1", RFC2047_UNSTRUCTURED, 8);
	ck_assert_str_eq(got, " =?iso-8859-1?Q?caf=E9_cr=E8me?= Paris");
	free(got);
	/* Mostly 8-bit: B is shorter (8 characters against Q's 13). */
	got = encode_str(" \xe9t\xe9 \xe0 Paris", "iso-8859-1", RFC2047_UNSTRUCTURED, 8);
	ck_assert_str_eq(got, " =?iso-8859-1?B?6XTpIOA=?= Paris");
	free(got);
}
END_TEST

START_TEST(test_address_encodes_only_the_name)
{
	char *got, *back;

	got = encode_str(" \"J\xf6rg M\xfcller\" <joerg@example.de>", "iso-8859-1", RFC2047_ADDRESS, 5);
	ck_assert_str_eq(got, " =?iso-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>");
	free(got);
	got = encode_str(" J\xf6rg <j@example.de>, \"M\xfcller, Hans\" <h@example.de> (B\xfcro 1), x@y.z",
			 "windows-1252", RFC2047_ADDRESS, 3);
	ck_assert_ptr_nonnull(strstr(got, "?= <j@example.de>,"));
	ck_assert_ptr_nonnull(strstr(got, "?= <h@example.de> (=?"));
	ck_assert_ptr_nonnull(strstr(got, " 1), x@y.z"));
	ck_assert_ptr_null(strchr(got, '"'));
	back = decode_str(got, strlen(got), NULL, NULL);
	ck_assert_str_eq(back, " Jörg <j@example.de>, Müller, Hans <h@example.de> (Büro 1), x@y.z");
	free(back);
	free(got);
	/* Escaped quotes inside the quoted-string come out as plain quotes. */
	got = encode_str(" \"J\xf6rg \\\"JJ\\\" M\" <a@b.c>", "windows-1252", RFC2047_ADDRESS, 5);
	back = decode_str(got, strlen(got), NULL, NULL);
	ck_assert_str_eq(back, " Jörg \"JJ\" M <a@b.c>");
	free(back);
	free(got);
	/* 8-bit inside <...> or in a bare address is never encoded. */
	got = encode_str(" J\xc3\xb6rg <j\xc3\xb6rg@example.de>", "utf-8", RFC2047_ADDRESS, 5);
	ck_assert_ptr_nonnull(strstr(got, "?= <j\xc3\xb6rg@example.de>"));
	free(got);
	got = encode_str(" j\xc3\xb6rg@example.de", "utf-8", RFC2047_ADDRESS, 5);
	ck_assert_str_eq(got, " j\xc3\xb6rg@example.de");
	free(got);
	/* Subject-like text in an address header kind keeps specials literal. */
	got = encode_str(" Undisclosed recipients: ;", "utf-8", RFC2047_ADDRESS, 5);
	ck_assert_str_eq(got, " Undisclosed recipients: ;");
	free(got);
}
END_TEST

START_TEST(test_existing_folding_is_kept_or_unfolded)
{
	char *got, *back;

	got = encode_str(" Gr\xfc\xdf" "e\r\n\tK\xf6ln and\r\n more", "windows-1252", RFC2047_UNSTRUCTURED, 8);
	back = decode_str(got, strlen(got), NULL, NULL);
	ck_assert_str_eq(back, " Grüße\tKöln and more");
	ck_assert_ptr_nonnull(strstr(got, "and\r\n more"));
	free(back);
	free(got);
}
END_TEST

START_TEST(test_unsupported_charset_refused)
{
	struct buf out;

	buf_init(&out, 4096);
	ck_assert_int_eq(rfc2047_encode_header(" \xe9", 2, charset_lookup("iso-2022-jp"),
					       RFC2047_UNSTRUCTURED, 9, "\r\n", &out), -1);
	ck_assert_int_eq(rfc2047_encode_header(" \xe9", 2, NULL, RFC2047_UNSTRUCTURED, 9, "\r\n", &out), -1);
	buf_free(&out);
}
END_TEST

/* Text converted to UTF-8 from a stateful charset, written as words labelled
 * with that charset: each word's payload starts and ends in ASCII state, the
 * limits hold, only the phrase of an address is encoded, and it decodes back. */
static void round_trip_as(const char *label, const char *utf8, enum rfc2047_kind kind, size_t col)
{
	const struct charset_info *cs = charset_lookup(label);
	struct buf out, raw;
	char *back;
	size_t i;

	buf_init(&out, 1 << 20);
	buf_init(&raw, 1 << 20);
	ck_assert_msg(rfc2047_encode_header_as(utf8, strlen(utf8), cs, cv, kind, col, "\r\n", &out) == 0,
		      "%s: encode failed", label);
	ck_assert_int_eq(buf_putc(&out, '\0'), 0);
	for (i = 0; i + 1 < out.len; i++)
		ck_assert_msg((unsigned char)out.data[i] < 0x80 && out.data[i] != 0x1b,
			      "%s: raw byte left: %s", label, out.data);
	check_limits(out.data, out.len - 1, col, "\r\n");
	back = decode_str(out.data, out.len - 1, NULL, NULL);
	ck_assert_msg(strcmp(back, utf8) == 0, "%s round trip:\n in: %s\nout: %s\nenc: %s", label, utf8, back,
		      out.data);
	free(back);
	ck_assert_int_ge(words_raw_bytes(out.data, out.len - 1, &raw), 1);
	/* every word decodes on its own: no shift state carried between words */
	for (i = 0; i + 1 < out.len; i++) {
		if (out.data[i] == '=' && out.data[i + 1] == '?') {
			size_t j = i;
			int n;

			while (j < out.len - 1 && out.data[j] != ' ' && out.data[j] != '\r' && out.data[j] != ',')
				j++;
			back = decode_str(out.data + i, j - i, NULL, &n);
			ck_assert_msg(n == 1, "%s: word does not decode alone: %.*s", label, (int)(j - i), out.data + i);
			free(back);
			i = j;
		}
	}
	buf_free(&raw);
	buf_free(&out);
}

START_TEST(test_encode_as_stateful_charsets)
{
	struct buf out;
	char *got;
	size_t col;

	for (col = 6; col <= 40; col += 17) {
		round_trip_as("iso-2022-jp", " 会議の議事録について（第三回）のお知らせと確認のお願い 会議の議事録について",
			      RFC2047_UNSTRUCTURED, col);
		round_trip_as("iso-2022-jp", " 山田 太郎 <yamada@example.jp>, 佐藤花子 <hanako@example.jp>",
			      RFC2047_ADDRESS, col);
		round_trip_as("iso-2022-kr", " 안녕하세요 회의 일정 안내 드립니다 안녕하세요 회의 일정", RFC2047_UNSTRUCTURED, col);
		round_trip_as("utf-8", " Grüße aus Köln", RFC2047_UNSTRUCTURED, col);
	}
	buf_init(&out, 4096);
	ck_assert_int_eq(rfc2047_encode_header_as(" 山田 <y@example.jp>", strlen(" 山田 <y@example.jp>"),
						  charset_lookup("iso-2022-jp"), cv, RFC2047_ADDRESS, 6, "\n", &out), 0);
	got = buf_steal(&out, NULL);
	ck_assert_str_eq(got, " =?iso-2022-jp?B?GyRCOzNFRBsoQg==?= <y@example.jp>");
	free(got);
	/* a quoted phrase loses its quotes (RFC 2047 5(3)); "(" inside stays text */
	buf_init(&out, 4096);
	ck_assert_int_eq(rfc2047_encode_header_as(" \"佐藤(花子)\" <h@example.jp>", strlen(" \"佐藤(花子)\" <h@example.jp>"),
						  charset_lookup("iso-2022-jp"), cv, RFC2047_ADDRESS, 6, "\n", &out), 0);
	got = decode_str(out.data, out.len, NULL, NULL);
	ck_assert_str_eq(got, " 佐藤(花子) <h@example.jp>");
	free(got);
	buf_free(&out);
	/* a character the target cannot hold: refused, not approximated */
	buf_init(&out, 4096);
	ck_assert_int_eq(rfc2047_encode_header_as(" Grüße", strlen(" Grüße"), charset_lookup("iso-2022-jp"),
						  cv, RFC2047_UNSTRUCTURED, 9, "\n", &out), -1);
	buf_free(&out);
}
END_TEST

START_TEST(test_one_megabyte_input_is_bounded)
{
	size_t n = 1 << 20, i;
	char *big = malloc(n);
	struct buf out;
	clock_t t0 = clock();

	ck_assert_ptr_nonnull(big);
	for (i = 0; i < n; i++)
		big[i] = "Gr\xfc\xdf" "e K\xf6ln "[i % 11];
	buf_init(&out, 64 * 1024);
	ck_assert_int_eq(rfc2047_encode_header(big, n, charset_lookup("windows-1252"),
					       RFC2047_UNSTRUCTURED, 9, "\r\n", &out), -1);
	ck_assert_uint_le(out.len, 64 * 1024);
	buf_free(&out);
	buf_init(&out, 8 << 20);
	ck_assert_int_eq(rfc2047_encode_header(big, n, charset_lookup("windows-1252"),
					       RFC2047_UNSTRUCTURED, 9, "\r\n", &out), 0);
	check_limits(out.data, out.len, 9, "\r\n");
	buf_free(&out);
	buf_init(&out, 8 << 20);
	ck_assert_int_eq(rfc2047_encode_header(big, n, charset_lookup("windows-1252"),
					       RFC2047_ADDRESS, 9, "\r\n", &out), 0);
	buf_free(&out);
	ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0, "too slow");
	free(big);
}
END_TEST

/* True when every CR or LF of p is part of a CRLF fold followed by SP. */
static bool folds_only(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			return false;
		if (p[i] == '\r') {
			if (i + 2 >= n || p[i + 1] != '\n' || p[i + 2] != ' ')
				return false;
			i += 2;
		}
	}
	return true;
}

/* Hostile input: random bytes with mail syntax sprinkled in.  Encoding
 * never fails for a supported charset, keeps encoded-words <= 75 and leaves
 * no 8-bit byte outside <...>; decoding never fails with room to spare. */
START_TEST(test_random_input_is_handled)
{
	static const char *const labels[] = { "utf-8", "shift_jis", "gb2312", "big5", "euc-kr",
		"euc-jp", "gb18030", "windows-1252", "koi8-r" };
	static const char *const bits[] = { "=?", "?=", "?Q?", "?b?", "\"", "<", ">", "(", ")", "\\",
		" ", "\r\n ", ",", "@", "=?utf-8?q?", "=E9", "_" };
	uint32_t seed = 12345;
	size_t iter, i;

	for (iter = 0; iter < 3000; iter++) {
		char in[400];
		size_t n = 0, len;
		struct buf out, back;
		const struct charset_info *cs;
		int r;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % 300;
		cs = charset_lookup(labels[(seed >> 20) % (sizeof(labels) / sizeof(labels[0]))]);
		while (n < len) {
			seed = seed * 1103515245u + 12345u;
			if ((seed >> 16) % 4 == 0) {
				const char *b = bits[(seed >> 4) % (sizeof(bits) / sizeof(bits[0]))];
				size_t bl = strlen(b);

				if (n + bl > sizeof(in))
					break;
				memcpy(in + n, b, bl);
				n += bl;
			} else {
				in[n++] = (char)(seed >> 24);
			}
		}
		buf_init(&out, 1 << 16);
		buf_init(&back, 1 << 16);
		r = rfc2047_encode_header(in, n, cs, (iter & 1) ? RFC2047_ADDRESS : RFC2047_UNSTRUCTURED,
					  (seed >> 3) % 90, "\r\n", &out);
		ck_assert_int_eq(r, 0);
		check_no_crlf_in_words(out.data ? out.data : "", out.len);
		if (folds_only(in, n))
			check_folds_ws(out.data ? out.data : "", out.len, "\r\n", true);
		if (!(iter & 1)) {
			for (i = 0; i < out.len; i++)
				ck_assert_msg((unsigned char)out.data[i] < 0x80, "iter %zu: 8-bit left", iter);
		}
		ck_assert_int_ge(rfc2047_decode(out.data ? out.data : "", out.len, cs, cv, &back), 0);
		buf_reset(&back);
		ck_assert_int_ge(rfc2047_decode(in, n, cs, cv, &back), 0);
		buf_free(&out);
		buf_free(&back);
	}
}
END_TEST

/* How many times eol occurs in p[0..n). */
static size_t count_eol(const char *p, size_t n, const char *eol)
{
	size_t c = 0, el = strlen(eol);
	const char *q = p, *end = p + n;

	while ((q = memmem(q, (size_t)(end - q), eol, el)) != NULL) {
		c++;
		q += el;
	}
	return c;
}

/* Text that does not decode under the charset: a lead byte followed by
 * bytes that do not complete its character, then a fold.  The broken
 * sequence counts as single bytes; the fold's CR never goes into the
 * encoded-word (fuzz K7: GB18030 took "\xe6" "8g\r" as one 4-byte
 * character and left a bare LF). */
START_TEST(test_broken_multibyte_sequence_never_takes_the_fold)
{
	static const char *const labels[] = { "gb18030", "utf-8", "shift_jis", "euc-jp", "gb2312",
		"big5", "euc-kr" };
	static const char *const tails[] = { "", "8", "8g", "0", "0\x81", "0\x81" "0", "\xa1", "\x8f\xa1" };
	struct buf in, out, raw;
	size_t l, lead, t;

	buf_init(&in, 4096);
	buf_init(&out, 1 << 16);
	buf_init(&raw, 1 << 16);
	/* The fuzzer's input, as a test. */
	ck_assert_int_eq(rfc2047_encode_header(" \xe6" "8g\r\n more", 11, charset_lookup("gb18030"),
					       RFC2047_UNSTRUCTURED, 16, "\r\n", &out), 0);
	check_folds(out.data, out.len, "\r\n");
	ck_assert_int_eq(words_raw_bytes(out.data, out.len, &raw), 1);
	ck_assert_uint_eq(raw.len, 3);
	ck_assert_mem_eq(raw.data, "\xe6" "8g", 3);
	ck_assert_ptr_nonnull(strstr(out.data, "?=\r\n more"));
	for (l = 0; l < sizeof(labels) / sizeof(labels[0]); l++) {
		for (lead = 0x80; lead <= 0xff; lead++) {
			for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
				const char *eol = (lead & 1) ? "\r\n" : "\n";

				buf_reset(&in);
				buf_puts(&in, " a ");
				buf_putc(&in, (int)lead);
				buf_puts(&in, tails[t]);
				buf_puts(&in, eol);
				buf_puts(&in, " z \xe9");
				buf_puts(&in, eol);
				buf_puts(&in, "\ty ");
				buf_putc(&in, (int)lead);
				buf_reset(&out);
				ck_assert_int_eq(rfc2047_encode_header(in.data, in.len, charset_lookup(labels[l]),
								       (t & 1) ? RFC2047_ADDRESS : RFC2047_UNSTRUCTURED,
								       9, eol, &out), 0);
				check_folds(out.data, out.len, eol);
				check_no_crlf_in_words(out.data, out.len);
				check_limits(out.data, out.len, 9, eol);
				/* Both folds of the input are still there. */
				ck_assert_uint_ge(count_eol(out.data, out.len, eol), 2);
			}
		}
	}
	buf_free(&in);
	buf_free(&out);
	buf_free(&raw);
}
END_TEST

/* The folds of the input survive a broken sequence before each of them
 * (folds between two encoded words are unfolded and made anew). */
START_TEST(test_broken_sequence_keeps_every_input_fold)
{
	static const char in[] = " \xe6" "8\r\n x \x81" "0\x81\r\n\ty \xe9\r\n z";
	char *got = encode_str(in, "gb18030", RFC2047_UNSTRUCTURED, 9);

	ck_assert_uint_eq(count_eol(got, strlen(got), "\r\n"), 3);
	check_folds(got, strlen(got), "\r\n");
	check_no_crlf_in_words(got, strlen(got));
	free(got);
}
END_TEST

/* A long run of literal white space before an encoded-word: the word still
 * ends by column 78 (fuzz K8: no fold was made when the white space was
 * longer than the text before it).  The white space reads back the same
 * after unfolding, and no line is white space only. */
START_TEST(test_long_white_space_run_still_folds_before_the_word)
{
	static const char *const labels[] = { "windows-1254", "utf-8", "gb18030" };
	size_t ws, col, l;

	for (l = 0; l < sizeof(labels) / sizeof(labels[0]); l++) {
		for (ws = 1; ws <= 260; ws += (ws < 90 ? 1 : 17)) {
			for (col = 2; col <= 40; col += 19) {
				struct buf in, want, ete;
				char *got, *back;
				size_t i;

				buf_init(&in, 4096);
				buf_init(&want, 4096);
				buf_init(&ete, 64);
				to_charset("été", labels[l], &ete);
				buf_puts(&in, " x\x01");
				buf_puts(&want, " x\x01");
				for (i = 0; i < ws; i++) {
					buf_putc(&in, i % 7 == 3 ? '\t' : ' ');
					buf_putc(&want, i % 7 == 3 ? '\t' : ' ');
				}
				buf_append(&in, ete.data, ete.len);
				buf_puts(&want, "été");
				/* (literal text after white space too long for
				 * any line cannot fit: see the next test) */
				for (i = 0; i < ws % 70; i++) {
					buf_putc(&in, ' ');
					buf_putc(&want, ' ');
				}
				buf_puts(&in, "end");
				buf_puts(&want, "end");
				/* encode_str asserts every line <= 78, white space included */
				got = encode_str(in.data, labels[l], RFC2047_UNSTRUCTURED, col);
				check_folds(got, strlen(got), "\r\n");
				back = decode_str(got, strlen(got), NULL, NULL);
				ck_assert_msg(strcmp(back, want.data) == 0, "%s ws %zu col %zu:\n%s\n%s",
					      labels[l], ws, col, back, got);
				free(back);
				free(got);
				buf_free(&in);
				buf_free(&want);
				buf_free(&ete);
			}
		}
	}
}
END_TEST

/* A long run of white space before literal text after an encoded-word is
 * folded inside: part of it ends the word's line, the rest starts the next. */
START_TEST(test_long_white_space_run_before_literal_is_split)
{
	size_t ws;

	for (ws = 40; ws <= 110; ws++) {
		struct buf in;
		char *got, *back;
		size_t i;

		buf_init(&in, 4096);
		buf_puts(&in, " \xe9");
		for (i = 0; i < ws; i++)
			buf_putc(&in, ' ');
		buf_puts(&in, "literal-text");
		got = encode_str(in.data, "windows-1252", RFC2047_UNSTRUCTURED, 9);
		check_folds(got, strlen(got), "\r\n");
		back = decode_str(got, strlen(got), NULL, NULL);
		ck_assert_str_eq(back + 3, in.data + 2);	/* " é" then the same bytes */
		free(back);
		free(got);
		buf_free(&in);
	}
}
END_TEST

/* The same in an address header: before a display name and before a
 * comment word. */
START_TEST(test_long_white_space_run_in_address_header)
{
	struct buf in;
	char *got, *back;
	size_t i;

	buf_init(&in, 4096);
	buf_puts(&in, " a@b.c,");
	for (i = 0; i < 120; i++)
		buf_putc(&in, ' ');
	buf_puts(&in, "J\xc3\xb6rg <j@b.c> (x");
	for (i = 0; i < 100; i++)
		buf_putc(&in, ' ');
	buf_puts(&in, "B\xc3\xbcro)");
	got = encode_str(in.data, "utf-8", RFC2047_ADDRESS, 4);
	check_folds(got, strlen(got), "\r\n");
	back = decode_str(got, strlen(got), NULL, NULL);
	ck_assert_str_eq(back, in.data);	/* white space and all */
	free(back);
	free(got);
	buf_free(&in);
}
END_TEST

/* A quoted-pair backslash right before a fold does not take the fold's CR
 * (fuzz K14), and a fold inside a quoted-string or comment that gets
 * encoded is unfolded: no CR or LF goes into an encoded-word. */
START_TEST(test_quoted_pair_and_folds_inside_encoded_phrases)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ " (B\xfcro \\\r\n 1) <a@b.c>", " (Büro \\ 1) <a@b.c>" },	/* literal pair */
		{ " (B\xfcro\\\r\n\t1) <a@b.c>", " (Büro\t1) <a@b.c>" },
		{ " \"J\xf6rg \\\r\n M\" <a@b.c>", " Jörg  M <a@b.c>" },
		{ " \"J\xf6rg\r\n M\xfcller\" <a@b.c>", " Jörg Müller <a@b.c>" },
		{ " \"J\xf6rg\r\n\t\\\"M\\\"\" <a@b.c>", " Jörg\t\"M\" <a@b.c>" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = encode_str(cases[i].in, "windows-1252", RFC2047_ADDRESS, 5), *back;

		check_folds(got, strlen(got), "\r\n");
		check_no_crlf_in_words(got, strlen(got));
		back = decode_str(got, strlen(got), NULL, NULL);
		ck_assert_msg(strcmp(back, cases[i].want) == 0, "case %zu: %s -> %s", i, got, back);
		free(back);
		free(got);
	}
}
END_TEST

/* Tokens glued to each other or to the end of an encoded phrase (no white
 * space to fold at, e.g. "name<address>,") get room on one line: the fold
 * goes before the word or the white space that starts them. */
START_TEST(test_glued_tokens_fit_the_line)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ " J\xf6rg M\xfcller-L\xfc" "denscheid von und zu<joerg.mueller-luedenscheid@example.org>, x@y.z",
		  " Jörg Müller-Lüdenscheid von und zu<joerg.mueller-luedenscheid@example.org>, x@y.z" },
		{ " J\xf6rg M\xfcller-L\xfc" "denscheid von und zu M\xfcnchen<joerg.mueller-luedenscheid@example.org>, x@y.z",
		  " Jörg Müller-Lüdenscheid von und zu München<joerg.mueller-luedenscheid@example.org>, x@y.z" },
		{ " \"J\xf6rg M\xfcller-L\xfc" "denscheid aus M\xfcnchen\"<joerg.mueller-luedenscheid@example.org>,x@y.z",
		  " Jörg Müller-Lüdenscheid aus München<joerg.mueller-luedenscheid@example.org>,x@y.z" },
	};
	size_t col, i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (col = 4; col <= 40; col++) {
			/* encode_str asserts every line <= 78 */
			char *got = encode_str(cases[i].in, "windows-1252", RFC2047_ADDRESS, col), *back;

			check_folds(got, strlen(got), "\r\n");
			back = decode_str(got, strlen(got), NULL, NULL);
			ck_assert_str_eq(back, cases[i].want);
			free(back);
			free(got);
		}
	}
}
END_TEST

/* ---- RFC 2231 ----------------------------------------------------------------------- */

/* Percent-decode the value sections of rfc2231 output; check line lengths. */
static void parse_2231(const char *out, const char *name, const char *label, struct buf *bytes)
{
	const char *p = out;
	size_t section = 0;

	buf_reset(bytes);
	for (;;) {
		const char *line_end = strstr(p, ";\r\n ");
		size_t line_len = line_end ? (size_t)(line_end - p) + 1 : strlen(p);
		char head[128];
		const char *v;
		struct buf one;

		ck_assert_msg(1 + line_len <= 78, "section line too long: %.*s", (int)line_len, p);
		if (line_end == NULL && section == 0)
			snprintf(head, sizeof(head), "%s*=%s''", name, label);
		else if (section == 0)
			snprintf(head, sizeof(head), "%s*0*=%s''", name, label);
		else
			snprintf(head, sizeof(head), "%s*%zu*=", name, section);
		ck_assert_msg(strncmp(p, head, strlen(head)) == 0, "section %zu: %s", section, p);
		buf_init(&one, 4096);
		for (v = p + strlen(head); v < p + line_len - (line_end ? 1 : 0); v++) {
			if (*v == '%') {
				char hex[3] = { v[1], v[2], 0 };

				buf_putc(&one, (int)strtol(hex, NULL, 16));
				v += 2;
			} else {
				ck_assert_msg(*v != ' ' && *v != '"' && *v != ';' && *v != '\'', "bad char");
				buf_putc(&one, *v);
			}
		}
		/* Each section holds whole characters. */
		ck_assert_msg(charset_decodes(cv, charset_lookup(label), one.data ? one.data : "", one.len, NULL),
			      "section %zu splits a character", section);
		buf_append(bytes, one.data, one.len);
		buf_free(&one);
		if (line_end == NULL)
			break;
		p = line_end + 4;
		section++;
	}
}

START_TEST(test_rfc2231_single_and_continued)
{
	struct buf out, raw, bytes;
	size_t i, reps;

	buf_init(&out, 1 << 16);
	buf_init(&raw, 1 << 16);
	buf_init(&bytes, 1 << 16);
	ck_assert_int_eq(rfc2231_encode_param("filename", "Gr\xfc\xdf" "e.txt", 9,
					      charset_lookup("windows-1252"), "\r\n", &out), 0);
	ck_assert_str_eq(out.data, "filename*=windows-1252''Gr%FC%DFe.txt");
	for (i = 0; i < sizeof(rt_samples) / sizeof(rt_samples[0]); i++) {
		for (reps = 1; reps <= 4; reps *= 2) {
			struct buf text;
			size_t r;

			buf_init(&text, 1 << 16);
			for (r = 0; r < reps; r++)
				buf_puts(&text, rt_samples[i].utf8);
			buf_puts(&text, ".pdf");
			to_charset(text.data, rt_samples[i].label, &raw);
			buf_reset(&out);
			ck_assert_int_eq(rfc2231_encode_param("filename", raw.data, raw.len,
							      charset_lookup(rt_samples[i].label), "\r\n", &out), 0);
			parse_2231(out.data, "filename", rt_samples[i].label, &bytes);
			ck_assert_uint_eq(bytes.len, raw.len);
			ck_assert_mem_eq(bytes.data, raw.data, raw.len);
			buf_free(&text);
		}
	}
	buf_free(&out);
	buf_free(&raw);
	buf_free(&bytes);
}
END_TEST

/* One table answers both questions, so every address header is also one
 * whose display names may be encoded (they used to disagree). */
START_TEST(test_header_table_address_lists_are_encodable)
{
	static const char *const addr[] = {
		"Resent-Bcc", "Resent-Reply-To", "Mail-Followup-To", "Mail-Reply-To", "Errors-To",
		"Apparently-To", "From", "Disposition-Notification-To",
	};
	size_t i;

	for (i = 0; i < sizeof(addr) / sizeof(addr[0]); i++) {
		ck_assert_int_eq(rfc2047_kind_of(addr[i]), RFC2047_ADDRESS);
		ck_assert(rfc2047_header_encodable(addr[i]));
	}
	ck_assert(rfc2047_header_encodable("Subject"));
	ck_assert(rfc2047_header_encodable("X-Anything"));
	ck_assert(!rfc2047_header_encodable("Message-ID"));
	ck_assert(!rfc2047_header_encodable("Received"));
	ck_assert(!rfc2047_header_encodable(NULL));
}
END_TEST

START_TEST(test_kind_of)
{
	ck_assert_int_eq(rfc2047_kind_of("From"), RFC2047_ADDRESS);
	ck_assert_int_eq(rfc2047_kind_of("to"), RFC2047_ADDRESS);
	ck_assert_int_eq(rfc2047_kind_of("Reply-To"), RFC2047_ADDRESS);
	ck_assert_int_eq(rfc2047_kind_of("Resent-Cc"), RFC2047_ADDRESS);
	ck_assert_int_eq(rfc2047_kind_of("Subject"), RFC2047_UNSTRUCTURED);
	ck_assert_int_eq(rfc2047_kind_of("X-Mailer"), RFC2047_UNSTRUCTURED);
	ck_assert_int_eq(rfc2047_kind_of(NULL), RFC2047_UNSTRUCTURED);
}
END_TEST

static Suite *rfc2047_suite(void)
{
	Suite *s = suite_create("rfc2047");
	TCase *tc = tcase_create("decode");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_decode_q_and_b);
	tcase_add_test(tc, test_decode_adjacent_words_are_joined);
	tcase_add_test(tc, test_decode_malformed_words_stay_literal);
	tcase_add_test(tc, test_decode_language_suffix);
	tcase_add_test(tc, test_decode_raw_8bit_outside_words);
	tcase_add_test(tc, test_decode_output_limit);
	tcase_add_test(tc, test_has_encoded_word);
	suite_add_tcase(s, tc);
	tc = tcase_create("encode");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_round_trip_samples_of_several_lengths);
	tcase_add_test(tc, test_round_trip_every_prefix);
	tcase_add_test(tc, test_ascii_input_is_unchanged);
	tcase_add_test(tc, test_only_8bit_words_are_encoded);
	tcase_add_test(tc, test_white_space_next_to_a_senders_encoded_word_survives);
	tcase_add_test(tc, test_address_encodes_only_the_name);
	tcase_add_test(tc, test_existing_folding_is_kept_or_unfolded);
	tcase_add_test(tc, test_unsupported_charset_refused);
	tcase_add_test(tc, test_one_megabyte_input_is_bounded);
	tcase_add_test(tc, test_random_input_is_handled);
	tcase_add_test(tc, test_broken_multibyte_sequence_never_takes_the_fold);
	tcase_add_test(tc, test_broken_sequence_keeps_every_input_fold);
	tcase_add_test(tc, test_long_white_space_run_still_folds_before_the_word);
	tcase_add_test(tc, test_long_white_space_run_before_literal_is_split);
	tcase_add_test(tc, test_long_white_space_run_in_address_header);
	tcase_add_test(tc, test_quoted_pair_and_folds_inside_encoded_phrases);
	tcase_add_test(tc, test_glued_tokens_fit_the_line);
	tcase_add_test(tc, test_rfc2231_single_and_continued);
	tcase_add_test(tc, test_kind_of);
	tcase_add_test(tc, test_header_table_address_lists_are_encodable);
	tcase_add_test(tc, test_encode_as_stateful_charsets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rfc2047_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
