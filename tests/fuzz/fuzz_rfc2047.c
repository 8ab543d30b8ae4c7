/*
 * fuzz_rfc2047.c -- libFuzzer target: RFC 2047 decode/encode and RFC 2231
 * parameter encoding.
 *
 * Input layout: byte 0 picks a charset from the registry (charset_at), byte 1
 * the operation and options (bit 0: RFC 2231 instead of RFC 2047; bit 1:
 * address header kind; bit 2: CRLF folding; bits 3-7: start column 2..33),
 * the rest is the raw value.
 *
 * Invariants (aborts on violation):
 *   R1 decoding arbitrary bytes never fails except on the output limit, and
 *      its result is valid UTF-8 whenever every raw byte was decoded through
 *      a charset (raw_cs = utf-8 and the input is valid UTF-8 or ASCII).
 *   R2 the encoder's output has no line ending except folding (EOL followed
 *      by SP or TAB): no header injection, whatever the input; no bare CR or
 *      LF; no NUL unless the input had one (literal ASCII tokens, NUL
 *      included, are copied unchanged -- see the report about NUL in header
 *      values handed to smfi_chgheader).
 *   R3 every encoded-word written is at most 75 characters (not checked when
 *      the input itself holds "=?" text), and no output line that contains an
 *      encoded-word ends past column 78 (counting the start column on the
 *      first line) unless the line also holds a literal token that is itself
 *      too long to fit.  Literal text after the last encoded-word of a line
 *      is not folded by the encoder (see the report), so it is not counted.
 *   R4 round trip (unstructured kind, bytes that decode under the charset,
 *      no literal "=?" in the input): decode(encode(v)) equals v converted to
 *      UTF-8, after unfolding both (RFC 5322 unfolding: EOL before WSP removed).
 *   R5 values without 8-bit bytes come back unchanged (rfc2047.h).
 *   R6 a successful encoding of an unstructured header leaves no raw 8-bit
 *      byte in it.
 *   P1 RFC 2231: every line <= 78 columns (one leading space), the result
 *      parses back with mparams_parse to the same raw bytes and charset.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "charset.h"
#include "rfc2047.h"
#include "mimeparam.h"
#include "fuzz_common.h"

static struct charset_conv *cv;

/* Long runs set FUZZ_SKIP_KNOWN=1 to skip the exact shapes of bugs already
 * reported (inputs in tests/fuzz/known-bugs/rfc2047/); make check never
 * sets it. */
static bool skip_known(const char *what)
{
	(void)what;
	return getenv("FUZZ_SKIP_KNOWN") != NULL;
}

static bool has_wsp_run(const char *p, size_t n, size_t run)
{
	size_t i, cur = 0;

	for (i = 0; i < n; i++) {
		cur = (p[i] == ' ' || p[i] == '\t') ? cur + 1 : 0;
		if (cur >= run)
			return true;
	}
	return false;
}

static bool has_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

static int conv_sink(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

static bool to_utf8(const struct charset_info *cs, const char *p, size_t n, struct buf *out)
{
	struct charset_stream *st = charset_stream_begin(cv, cs, conv_sink, out);
	size_t bad;
	int rc = charset_stream_feed(st, p, n);

	return charset_stream_end(st, &bad) == 0 && rc == 0;
}

/* RFC 5322 unfolding: remove CRLF / LF that is followed by SP or TAB. */
static void unfold(struct buf *b)
{
	size_t i, j = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == '\r' && i + 2 < b->len && b->data[i + 1] == '\n' &&
		    (b->data[i + 2] == ' ' || b->data[i + 2] == '\t')) {
			i++;
			continue;
		}
		if (b->data[i] == '\n' && i + 1 < b->len && (b->data[i + 1] == ' ' || b->data[i + 1] == '\t'))
			continue;
		b->data[j++] = b->data[i];
	}
	b->len = j;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of an encoded-word "=?cs?X?text?=" at p (0 if none). */
static size_t encoded_word_len(const char *p, size_t n)
{
	size_t i, q = 0;

	if (n < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] == '?')
			q++;
		if (q == 3 && i + 1 < n && p[i + 1] == '=')
			return i + 2;
		if (is_wsp(p[i]) || p[i] == '\r' || p[i] == '\n')
			return 0;
	}
	return 0;
}

/* R2 and R3 over the encoder output. */
static void check_lines(const char *o, size_t n, const char *eol, size_t start_col, bool strict_len,
			bool nul_in_input, bool literal_ew_in_input, bool undecodable, bool wsp_run)
{
	size_t i = 0, line_start = 0, col = start_col, eol_len = strlen(eol);
	size_t longest_literal = 0, cur_literal = 0, ew_end_col = 0;
	bool line_has_ew = false;

	while (i <= n) {
		bool at_end = i == n;

		if (!at_end && o[i] == '\0' && !nul_in_input)
			fuzz_fail("R2: NUL in encoded header at %zu", i);
		if (at_end || o[i] == '\r' || o[i] == '\n') {
			if (cur_literal > longest_literal)
				longest_literal = cur_literal;
			if (strict_len && !literal_ew_in_input && line_has_ew && ew_end_col > 78 && longest_literal + 1 < 78 - 2)
				if (!(wsp_run && skip_known("K8: no fold after a long white-space run")))
				fuzz_fail("R3: line at %zu: encoded-word ends at column %zu",
					  line_start, ew_end_col);
			if (at_end)
				break;
			if ((n - i < eol_len || memcmp(o + i, eol, eol_len) != 0 ||
			     i + eol_len >= n || !is_wsp(o[i + eol_len])) &&
			    !(undecodable && skip_known("K7/K14: CR of a fold swallowed (broken multi-byte character, or a quoted-pair backslash in an address header)")))
				fuzz_fail("R2: line ending at %zu is not a fold", i);
			if (n - i < eol_len || memcmp(o + i, eol, eol_len) != 0) {
				i++;
				continue;
			}
			i += eol_len;
			line_start = i;
			col = 0;
			ew_end_col = 0;
			line_has_ew = false;
			longest_literal = cur_literal = 0;
			continue;
		}
		{
			size_t ew = encoded_word_len(o + i, n - i);

			if (ew > 0) {
				if (ew > 75 && !literal_ew_in_input)
					fuzz_fail("R3: encoded-word of %zu characters at %zu", ew, i);
				line_has_ew = true;
				if (cur_literal > longest_literal)
					longest_literal = cur_literal;
				cur_literal = 0;
				i += ew;
				col += ew;
				ew_end_col = col;
				continue;
			}
		}
		if (is_wsp(o[i])) {
			if (cur_literal > longest_literal)
				longest_literal = cur_literal;
			cur_literal = 0;
		} else
			cur_literal++;
		col++;
		i++;
	}
}

static void fuzz_2047(const struct charset_info *cs, unsigned opts, const char *raw, size_t rawlen)
{
	enum rfc2047_kind kind = (opts & 2) ? RFC2047_ADDRESS : RFC2047_UNSTRUCTURED;
	const char *eol = (opts & 4) ? "\r\n" : "\n";
	size_t start_col = 2 + (opts >> 3), i, n = 0;
	struct buf in, out, dec, want;
	bool decodes, folded_input = false, backslash_fold = false;
	size_t bad;
	int rc;

	/* A header value as the scanner hands it over: line endings only as
	 * folds.  Turn every CR/LF run into eol + SP. */
	buf_init(&in, 1u << 20);
	for (i = 0; i < rawlen; i++) {
		if (raw[i] == '\r' || raw[i] == '\n') {
			if (i > 0 && raw[i - 1] == '\\')
				backslash_fold = true;
			while (i + 1 < rawlen && (raw[i + 1] == '\r' || raw[i + 1] == '\n'))
				i++;
			buf_puts(&in, eol);
			buf_putc(&in, ' ');
			folded_input = true;
			continue;
		}
		buf_putc(&in, raw[i]);
	}
	n = in.len;

	/* R1: decoding arbitrary input */
	buf_init(&dec, 4u << 20);
	rc = rfc2047_decode(in.data ? in.data : "", n, charset_lookup("utf-8"), cv, &dec);
	if (rc < 0 && dec.len < 1u << 20)
		fuzz_fail("R1: decode failed below the output limit");
	buf_free(&dec);

	buf_init(&out, 4u << 20);
	rc = rfc2047_encode_header(in.data ? in.data : "", n, cs, kind, start_col, eol, &out);
	if (rc < 0) {
		/* allowed only for an unencodable charset or the output limit */
		buf_free(&out);
		buf_free(&in);
		return;
	}
	check_lines(out.data ? out.data : "", out.len, eol, start_col, !folded_input,
		    memchr(in.data ? in.data : "", '\0', n) != NULL,
		    memmem(in.data ? in.data : "", n, "=?", 2) != NULL,
		    !charset_decodes(cv, cs, in.data ? in.data : "", n, &bad) ||
		    (backslash_fold && kind == RFC2047_ADDRESS),
		    has_wsp_run(in.data ? in.data : "", n, 8));
	/* R6 (unstructured only: in address headers 8-bit inside an addr-spec
	 * cannot be encoded and stays, which the planner must notice) */
	for (i = 0; kind == RFC2047_UNSTRUCTURED && i < out.len; i++)
		if ((unsigned char)out.data[i] >= 0x80)
			fuzz_fail("R6: raw 8-bit byte 0x%02x left in the encoded header at %zu",
				  (unsigned char)out.data[i], i);
	/* R5 */
	if (!has_8bit(in.data ? in.data : "", n) &&
	    (out.len != n || (n > 0 && memcmp(out.data, in.data, n) != 0)))
		fuzz_fail("R5: 7-bit value changed by the encoder");

	/* R4 */
	decodes = charset_decodes(cv, cs, in.data ? in.data : "", n, &bad);
	if (decodes && kind == RFC2047_UNSTRUCTURED && memmem(in.data ? in.data : "", n, "=?", 2) == NULL &&
	    (cs->props & CSP_ASCII_COMPAT) && !(cs->props & CSP_7BIT_STATEFUL)) {
		buf_init(&want, 8u << 20);
		buf_init(&dec, 8u << 20);
		if (!to_utf8(cs, in.data ? in.data : "", n, &want))
			fuzz_fail("R4: charset_decodes and the converter disagree");
		if (rfc2047_decode(out.data ? out.data : "", out.len, cs, cv, &dec) < 0)
			fuzz_fail("R4: decoding our own output failed");
		unfold(&want);
		unfold(&dec);
		if (want.len != dec.len || (want.len > 0 && memcmp(want.data, dec.data, want.len) != 0))
			fuzz_fail("R4: round trip under %s differs: want [%.*s] got [%.*s]",
				  cs->mime_name, (int)(want.len > 300 ? 300 : want.len), buf_cstr(&want),
				  (int)(dec.len > 300 ? 300 : dec.len), buf_cstr(&dec));
		buf_free(&want);
		buf_free(&dec);
	}
	buf_free(&out);
	buf_free(&in);
}

static void fuzz_2231(const struct charset_info *cs, unsigned opts, const char *raw, size_t rawlen)
{
	static const char *const names[] = { "filename", "name", "x", "a-rather-long-parameter-name" };
	const char *name = names[(opts >> 3) & 3];
	const char *eol = (opts & 4) ? "\r\n" : "\n";
	struct buf out, hdr;
	struct mparams mp;
	const struct mparam *p;
	size_t i, col;

	if (rawlen > 2000)
		rawlen = 2000;	/* MPARAM_MAX_VALUE bounds what the parser joins */
	buf_init(&out, 1u << 20);
	if (rfc2231_encode_param(name, raw, rawlen, cs, eol, &out) < 0) {
		buf_free(&out);
		return;
	}
	/* P1: line lengths (every section, the first included, sits on its own
	 * folded line after one space: rfc2047.h) */
	for (i = 0, col = 1; i < out.len; i++) {
		if (out.data[i] == '\r' || out.data[i] == '\n') {
			if (out.data[i] == '\r' && (i + 1 >= out.len || out.data[i + 1] != '\n'))
				fuzz_fail("P1: bare CR in 2231 output");
			if (out.data[i] == '\r')
				i++;
			if (i + 1 >= out.len || out.data[i + 1] != ' ')
				fuzz_fail("P1: line ending not followed by a space");
			col = 0;
			continue;
		}
		if ((unsigned char)out.data[i] >= 0x80 || out.data[i] < 0x20)
			fuzz_fail("P1: raw byte 0x%02x in 2231 output", (unsigned char)out.data[i]);
		if (++col > 78)
			fuzz_fail("P1: 2231 line longer than 78 columns");
	}
	buf_init(&hdr, 2u << 20);
	buf_puts(&hdr, " attachment; ");
	buf_append(&hdr, out.data ? out.data : "", out.len);
	mparams_parse(&mp, hdr.data, hdr.len, true);
	if ((p = mparams_get(&mp, name)) == NULL)
		fuzz_fail("P1: parameter %s not found when parsing our own output", name);
	if (mp.errors & (MPARAM_ERR_2231 | MPARAM_ERR_SYNTAX))
		fuzz_fail("P1: our own 2231 output parses with errors 0x%x", mp.errors);
	if (p->value_len != rawlen || (rawlen > 0 && memcmp(p->value, raw, rawlen) != 0))
		fuzz_fail("P1: 2231 value does not round-trip (%zu vs %zu bytes)", p->value_len, rawlen);
	if (p->charset == NULL || ascii_strcasecmp(p->charset, cs->mime_name) != 0)
		fuzz_fail("P1: 2231 charset %s, want %s", p->charset ? p->charset : "(none)", cs->mime_name);
	mparams_free(&mp);
	buf_free(&hdr);
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct charset_info *cs;

	if (size < 2)
		return 0;
	if (cv == NULL)
		cv = charset_conv_new();
	cs = charset_at(data[0] % charset_count());
	if (cs == NULL || !charset_iconv_ok(cs))
		return 0;
	if (data[1] & 1)
		fuzz_2231(cs, data[1], (const char *)data + 2, size - 2);
	else
		fuzz_2047(cs, data[1], (const char *)data + 2, size - 2);
	return 0;
}
