/*
 * analyze.c -- one pass over a text part: undo the transfer encoding, and
 * collect what the decoded bytes say about their charset.  See analyze.h.
 *
 * Speed matters: this runs on every text part of every message.  The
 * per-byte work is one histogram increment in a tight loop; everything else
 * (line lengths, escape sequences, HZ markers) is found with memchr passes,
 * which are an order of magnitude faster than the histogram loop.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "util.h"

/* ---- the analysis -------------------------------------------------------------- */

enum esc_state {
	ESC_NONE = 0,
	ESC_SEEN,		/* ESC */
	ESC_DOLLAR,		/* ESC $ */
	ESC_PAREN,		/* ESC ( */
	ESC_DOLLAR_PAREN,	/* ESC $ ( */
	ESC_DOLLAR_CPAREN	/* ESC $ ) */
};

/* One step of the escape-sequence recogniser: ISO-2022-JP (ESC $ B, ESC $ @,
 * ESC $ ( D, ESC ( J, ESC ( I) and ISO-2022-KR (ESC $ ) C).  ESC ( B alone
 * (back to ASCII) proves nothing. */
static void esc_step(struct text_analysis *ta, unsigned char c)
{
	switch (ta->esc_state) {
	case ESC_SEEN:
		ta->esc_state = c == '$' ? ESC_DOLLAR : c == '(' ? ESC_PAREN : ESC_NONE;
		break;
	case ESC_DOLLAR:
		if (c == 'B' || c == '@')
			ta->iso2022jp = true;
		ta->esc_state = c == '(' ? ESC_DOLLAR_PAREN : c == ')' ? ESC_DOLLAR_CPAREN : ESC_NONE;
		break;
	case ESC_PAREN:
		if (c == 'J' || c == 'I')
			ta->iso2022jp = true;
		if (c == 'I')
			ta->iso2022jp_ext = true;
		ta->esc_state = ESC_NONE;
		break;
	case ESC_DOLLAR_PAREN:
		if (c == 'D' || c == 'B')
			ta->iso2022jp = ta->iso2022jp_ext = true;
		ta->esc_state = ESC_NONE;
		break;
	case ESC_DOLLAR_CPAREN:
		if (c == 'C')
			ta->iso2022kr = true;
		ta->esc_state = ESC_NONE;
		break;
	default:
		ta->esc_state = ESC_NONE;
		break;
	}
	if (c == 0x1b)
		ta->esc_state = ESC_SEEN;
}

static void scan_escapes(struct text_analysis *ta, const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (ta->esc_state != ESC_NONE) {
			esc_step(ta, p[i++]);
			continue;
		}
		const unsigned char *e = memchr(p + i, 0x1b, len - i);
		if (e == NULL)
			break;
		i = (size_t)(e - p);
		esc_step(ta, p[i++]);
	}
}

/* HZ (RFC 1843): "~{" enters GB mode, "~}" leaves it; "~~" is a tilde.
 * Counted as HZ once a "~{ ... ~}" pair is seen.  A "~" at the end of a
 * chunk is remembered in hz_tilde. */
static void scan_hz(struct text_analysis *ta, const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (ta->hz_tilde) {
			unsigned char c = p[i++];

			ta->hz_tilde = false;
			if (c == '{')
				ta->in_hz = true;
			else if (c == '}' && ta->in_hz) {
				ta->in_hz = false;
				ta->hz = true;
			}
			continue;
		}
		const unsigned char *t = memchr(p + i, '~', len - i);
		if (t == NULL)
			break;
		i = (size_t)(t - p) + 1;
		ta->hz_tilde = true;
	}
}

/* The current line ended (or the text did): fold it into the maxima. */
static void line_ended(struct text_analysis *ta)
{
	size_t line = ta->cur_line, wide = ta->cur_utf8_line;

	if (ta->last_cr && line > 0) {
		line--;
		wide--;
	}
	if (line > ta->max_decoded_line)
		ta->max_decoded_line = line;
	if (wide > ta->max_utf8_line)
		ta->max_utf8_line = wide;
	ta->cur_line = ta->cur_utf8_line = 0;
	ta->last_cr = false;
}

/*
 * Bound, in UTF-8 bytes, of a run of text in an ASCII-compatible charset:
 * an ASCII byte stays one byte, an 8-bit byte is at most three more (a
 * single-byte charset's character is at most 3 UTF-8 bytes, a double-byte
 * one at most 3 for its two bytes, GB18030's four-byte one at most 4).  The
 * first UTF8_EXACT_FROM bytes of a line are taken at 3 each without looking
 * (so short lines cost nothing: 3 x 332 still fits a line); the bytes after
 * that offset are counted.  The split is at a fixed offset in the line, so
 * the bound does not depend on how the text was chunked.
 */
#define UTF8_EXACT_FROM	(MIME_MAX_LINE / 3)

static size_t utf8_bound(size_t line_pos, const unsigned char *p, size_t run)
{
	size_t cheap = 0, high = 0;

	if (line_pos < UTF8_EXACT_FROM)
		cheap = run < UTF8_EXACT_FROM - line_pos ? run : UTF8_EXACT_FROM - line_pos;
	for (size_t k = cheap; k < run; k++)
		high += p[k] >> 7;
	return 3 * cheap + (run - cheap) + 2 * high;
}

/* Longest line, excluding its CRLF or LF, as decoded and as a bound once
 * transcoded to UTF-8. */
static void scan_lines(struct text_analysis *ta, const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const unsigned char *nl = memchr(p + i, '\n', len - i);
		size_t run = nl ? (size_t)(nl - (p + i)) : len - i;

		if (run > 0)
			ta->last_cr = p[i + run - 1] == '\r';
		ta->cur_utf8_line += utf8_bound(ta->cur_line, p + i, run);
		ta->cur_line += run;
		if (nl == NULL)
			break;
		line_ended(ta);
		i += run + 1;
	}
}

static void count_bytes(uint64_t *hist, const unsigned char *p, size_t len)
{
	/* Four interleaved tables keep runs of one byte value (spaces, the same
	 * Cyrillic letter) from serialising on one counter. */
	if (len >= 4096) {
		uint32_t h[4][256];
		size_t i = 0;

		memset(h, 0, sizeof(h));
		while (i < len) {
			size_t end = len - i > (1u << 30) ? i + (1u << 30) : len;

			for (; i + 4 <= end; i += 4) {
				h[0][p[i]]++;
				h[1][p[i + 1]]++;
				h[2][p[i + 2]]++;
				h[3][p[i + 3]]++;
			}
			for (; i < end; i++)
				h[0][p[i]]++;
			for (unsigned b = 0; b < 256; b++) {
				hist[b] += (uint64_t)h[0][b] + h[1][b] + h[2][b] + h[3][b];
				h[0][b] = h[1][b] = h[2][b] = h[3][b] = 0;
			}
		}
		return;
	}
	for (size_t i = 0; i < len; i++)
		hist[p[i]]++;
}

static void keep_sample(struct text_analysis *ta, const unsigned char *p, size_t len)
{
	size_t room = ANALYZE_SAMPLE - ta->sample_len;
	size_t take = len < room ? len : room;

	if (take == 0) {
		ta->sample_complete = false;
		return;
	}
	if (ta->sample_len + take > ta->sample_cap) {
		size_t cap = ta->sample_cap ? ta->sample_cap : 1024;

		while (cap < ta->sample_len + take)
			cap *= 2;
		if (cap > ANALYZE_SAMPLE)
			cap = ANALYZE_SAMPLE;
		ta->sample = xrealloc(ta->sample, cap);
		ta->sample_cap = cap;
	}
	memcpy(ta->sample + ta->sample_len, p, take);
	ta->sample_len += take;
	if (take < len)
		ta->sample_complete = false;
}

/* The sink of the transfer-encoding decoder: decoded text arrives here. */
static void analyze_decoded(void *arg, const char *data, size_t len)
{
	struct text_analysis *ta = arg;
	const unsigned char *p = (const unsigned char *)data;

	ta->decoded_len += len;
	count_bytes(ta->hist, p, len);
	if (ta->hist[0x1b] > 0)
		scan_escapes(ta, p, len);
	scan_hz(ta, p, len);
	scan_lines(ta, p, len);
	if (!ta->utf8.bad)
		utf8_feed(&ta->utf8, p, len);
	keep_sample(ta, p, len);
	if (ta->is_html && ta->html_scan_len < sizeof(ta->html_scan)) {
		size_t room = sizeof(ta->html_scan) - ta->html_scan_len;
		size_t take = len < room ? len : room;

		memcpy(ta->html_scan + ta->html_scan_len, data, take);
		ta->html_scan_len += take;
	}
}

void text_analysis_init(struct text_analysis *ta, enum mime_cte cte, bool is_html)
{
	memset(ta, 0, sizeof(*ta));
	ta->cte = cte;
	ta->is_html = is_html;
	ta->sample_complete = true;
	utf8_init(&ta->utf8);
	cte_decoder_init(&ta->dec, cte);
}

void text_analysis_feed(struct text_analysis *ta, const char *data, size_t len)
{
	cte_decoder_feed(&ta->dec, data, len, analyze_decoded, ta);
}

static bool is_token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '.' || c == ':';
}

/* Find "charset" inside the <meta ...> tags of the first bytes of an HTML
 * text: covers <meta charset="x"> and <meta http-equiv=... content="text/html;
 * charset=x">.  Only the first KB is looked at, as browsers do.  The first
 * names html_meta_charset; every one's place is kept for transcoding. */
static void sniff_html_meta(struct text_analysis *ta)
{
	const char *s = ta->html_scan;
	size_t n = ta->html_scan_len;

	for (size_t i = 0; i + 5 <= n; i++) {
		if (s[i] != '<' || ascii_strncasecmp(s + i + 1, "meta", 4) != 0)
			continue;
		size_t end = i + 5;
		while (end < n && s[end] != '>')
			end++;
		for (size_t j = i + 5; j + 7 <= end; j++) {
			if (ascii_strncasecmp(s + j, "charset", 7) != 0)
				continue;
			size_t k = j + 7;
			while (k < end && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r' || s[k] == '\n'))
				k++;
			if (k >= end || s[k] != '=')
				continue;
			k++;
			while (k < end && (s[k] == ' ' || s[k] == '"' || s[k] == '\'' || s[k] == '\t'))
				k++;
			size_t t = k;
			while (t < end && is_token_char((unsigned char)s[t]))
				t++;
			if (t > k && t - k < sizeof(ta->html_meta_charset)) {
				if (ta->html_meta_n == 0) {
					memcpy(ta->html_meta_charset, s + k, t - k);
					ta->html_meta_charset[t - k] = '\0';
				}
				if (end == n)
					return;	/* the tag runs past the scan: its token may be cut */
				ta->html_meta_at[ta->html_meta_n] = k;
				ta->html_meta_len[ta->html_meta_n++] = t - k;
				if (ta->html_meta_n == ANALYZE_META_MAX)
					return;
				i = end;	/* one charset per tag; a "<meta" inside it is not another tag */
				break;
			}
		}
	}
}

void text_analysis_finish(struct text_analysis *ta)
{
	if (ta->finished)
		return;
	cte_decoder_finish(&ta->dec, analyze_decoded, ta);
	ta->decode_errors = ta->dec.errors;
	/* The last line has no line end. */
	ta->last_cr = false;
	line_ended(ta);

	uint64_t high = 0, c1 = 0;
	for (unsigned b = 0x80; b < 0x100; b++)
		high += ta->hist[b];
	for (unsigned b = 0x80; b < 0xa0; b++)
		c1 += ta->hist[b];
	ta->high_bytes = high;
	ta->has_8bit = high > 0;
	ta->has_c1 = c1 > 0;
	ta->has_nul = ta->hist[0] > 0;
	ta->has_esc = ta->hist[0x1b] > 0;
	if (ta->is_html)
		sniff_html_meta(ta);
	ta->finished = true;
}

void text_analysis_free(struct text_analysis *ta)
{
	free(ta->sample);
	ta->sample = NULL;
	ta->sample_len = ta->sample_cap = 0;
}

void text_analysis_of_bytes(struct text_analysis *ta, const char *data, size_t len)
{
	text_analysis_init(ta, CTE_8BIT, false);
	text_analysis_feed(ta, data, len);
	text_analysis_finish(ta);
}

bool text_analysis_is_ascii(const struct text_analysis *ta)
{
	return !ta->has_8bit && !ta->iso2022jp && !ta->iso2022kr && !ta->hz;
}

bool text_analysis_utf8_ok(const struct text_analysis *ta)
{
	return utf8_final_ok(&ta->utf8);
}

bool text_analysis_sbcs_decodes(const struct text_analysis *ta, const struct charset_info *cs)
{
	if (cs == NULL || !(cs->props & CSP_SINGLE_BYTE))
		return false;
	for (unsigned b = 0; b < 256; b++)
		if (ta->hist[b] > 0 && !charset_byte_defined(cs, (unsigned char)b))
			return false;
	return true;
}
