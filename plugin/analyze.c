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

/* ---- transfer-encoding decoders --------------------------------------------- */

/* Decoded bytes are collected in a small stack buffer and handed to the sink
 * in runs, so the sink is not called per byte. */
struct cte_out {
	char buf[8192];
	size_t len;
	cte_sink_fn sink;
	void *arg;
};

static void out_flush(struct cte_out *o)
{
	if (o->len > 0)
		o->sink(o->arg, o->buf, o->len);
	o->len = 0;
}

static inline void out_byte(struct cte_out *o, char c)
{
	if (o->len == sizeof(o->buf))
		out_flush(o);
	o->buf[o->len++] = c;
}

#define B64_SKIP	64	/* white space: ignored (the table below spells these out) */
#define B64_PAD		65	/* '=' */
#define B64_BAD		66	/* anything else outside the alphabet */

/* base64 alphabet value, or B64_SKIP/B64_PAD/B64_BAD. */
static const unsigned char b64_table[256] = {
	66, 66, 66, 66, 66, 66, 66, 66, 66, 64, 64, 64, 64, 64, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	64, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 65, 66, 66,
	66,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 66, 66, 66, 66, 66,
	66, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
	66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66,
};

/*
 * base64 state: acc holds the pending bits (bits of them valid).  After "="
 * padding, the quantum is over: the partial bits are dropped (a correct
 * encoder leaves only zero bits there).
 */
static void b64_feed(struct cte_decoder *d, const unsigned char *p, size_t len, struct cte_out *o)
{
	size_t i = 0;

	while (i < len) {
		/* Fast path: four alphabet characters on a quantum boundary. */
		if (d->bits == 0 && i + 4 <= len) {
			unsigned a = b64_table[p[i]], b = b64_table[p[i + 1]];
			unsigned c = b64_table[p[i + 2]], e = b64_table[p[i + 3]];

			if ((a | b | c | e) < 64) {
				uint32_t v = a << 18 | b << 12 | c << 6 | e;

				if (o->len + 3 > sizeof(o->buf))
					out_flush(o);
				o->buf[o->len++] = (char)(v >> 16);
				o->buf[o->len++] = (char)(v >> 8 & 0xff);
				o->buf[o->len++] = (char)(v & 0xff);
				i += 4;
				continue;
			}
		}
		unsigned char v = b64_table[p[i++]];

		if (v < 64) {
			d->acc = (d->acc << 6) | v;
			d->bits += 6;
			if (d->bits >= 8) {
				d->bits -= 8;
				out_byte(o, (char)((d->acc >> d->bits) & 0xff));
			}
		} else if (v == B64_PAD) {
			/* "=" ends the quantum; one with only 6 bits pending is broken. */
			if (d->bits == 6)
				d->errors = true;
			d->bits = 0;
			d->acc = 0;
		} else if (v == B64_BAD) {
			d->errors = true;
		}
	}
}

static const signed char hex_table[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static inline int hex_value(unsigned char c)
{
	return hex_table[c];
}

/*
 * quoted-printable state: pend[] holds an escape in progress ("=", "=X",
 * "=\r"); acc counts white space seen after a lone "=" (a soft break may be
 * padded: "=  \r\n"), all of it spaces/tabs as pend[1] records the first.
 */
static void qp_flush_pending(struct cte_decoder *d, struct cte_out *o)
{
	for (unsigned k = 0; k < d->npend; k++)
		if (d->pend[k] != '\r')
			out_byte(o, d->pend[k]);
	if (d->npend == 2 && d->pend[1] == ' ')
		for (uint32_t k = 1; k < d->acc; k++)
			out_byte(o, ' ');
	d->npend = 0;
	d->acc = 0;
}

static void qp_byte(struct cte_decoder *d, unsigned char c, struct cte_out *o)
{
	if (d->npend == 0) {
		if (c == '=') {
			d->pend[0] = '=';
			d->npend = 1;
		} else {
			out_byte(o, (char)c);
		}
		return;
	}
	if (d->npend == 1) {
		if (hex_value(c) >= 0) {
			d->pend[1] = (char)c;
			d->npend = 2;
		} else if (c == '\n') {
			d->npend = 0;			/* soft break (LF) */
		} else if (c == '\r') {
			d->pend[1] = '\r';
			d->npend = 2;
		} else if (c == ' ' || c == '\t') {
			d->pend[1] = ' ';
			d->npend = 2;
			d->acc = 1;
		} else {
			d->errors = true;
			out_byte(o, '=');
			d->npend = 0;
			qp_byte(d, c, o);
		}
		return;
	}
	/* npend == 2 */
	if (d->pend[1] == '\r') {
		d->npend = 0;				/* soft break (CRLF, or bare CR) */
		if (c != '\n')
			qp_byte(d, c, o);
		return;
	}
	if (d->pend[1] == ' ') {
		if (c == ' ' || c == '\t') {
			d->acc++;
		} else if (c == '\n') {
			d->npend = 0;			/* padded soft break */
			d->acc = 0;
		} else if (c == '\r') {
			d->pend[1] = '\r';
			d->acc = 0;
		} else {
			d->errors = true;
			qp_flush_pending(d, o);
			qp_byte(d, c, o);
		}
		return;
	}
	/* "=X" pending */
	int hi = hex_value((unsigned char)d->pend[1]), lo = hex_value(c);
	if (lo >= 0) {
		out_byte(o, (char)(hi << 4 | lo));
		d->npend = 0;
	} else {
		d->errors = true;
		qp_flush_pending(d, o);
		qp_byte(d, c, o);
	}
}

static void qp_feed(struct cte_decoder *d, const unsigned char *p, size_t len, struct cte_out *o)
{
	size_t i = 0;

	while (i < len) {
		/* Fast path: plain bytes and complete "=XX" escapes. */
		while (d->npend == 0 && i < len) {
			unsigned char c = p[i];

			if (c != '=') {
				out_byte(o, (char)c);
				i++;
				continue;
			}
			if (i + 2 >= len)
				break;
			int hi = hex_value(p[i + 1]), lo = hex_value(p[i + 2]);
			if (hi < 0 || lo < 0)
				break;
			out_byte(o, (char)(hi << 4 | lo));
			i += 3;
		}
		if (i >= len)
			break;
		qp_byte(d, p[i], o);
		i++;
	}
}

void cte_decoder_init(struct cte_decoder *d, enum mime_cte cte)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
}

void cte_decoder_feed(struct cte_decoder *d, const char *data, size_t len, cte_sink_fn sink, void *arg)
{
	struct cte_out o;

	if (len == 0)
		return;
	switch (d->cte) {
	case CTE_BASE64:
		o.len = 0; o.sink = sink; o.arg = arg;
		b64_feed(d, (const unsigned char *)data, len, &o);
		out_flush(&o);
		break;
	case CTE_QP:
		o.len = 0; o.sink = sink; o.arg = arg;
		qp_feed(d, (const unsigned char *)data, len, &o);
		out_flush(&o);
		break;
	default:
		sink(arg, data, len);
		break;
	}
}

void cte_decoder_finish(struct cte_decoder *d, cte_sink_fn sink, void *arg)
{
	struct cte_out o;

	o.len = 0; o.sink = sink; o.arg = arg;
	if (d->cte == CTE_BASE64) {
		/* 6 pending bits are a broken quantum; 12/18 bits without "=" lost their padding only. */
		if (d->bits == 6)
			d->errors = true;
		d->bits = 0;
		d->acc = 0;
	} else if (d->cte == CTE_QP && d->npend > 0) {
		/* "=" (and padding) at the very end is a soft break; "=X" is broken. */
		if (d->npend == 2 && d->pend[1] != '\r' && d->pend[1] != ' ') {
			d->errors = true;
			qp_flush_pending(d, &o);
		}
		d->npend = 0;
		d->acc = 0;
	}
	out_flush(&o);
}

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
		ta->esc_state = ESC_NONE;
		break;
	case ESC_DOLLAR_PAREN:
		if (c == 'D' || c == 'B')
			ta->iso2022jp = true;
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

/* Find "charset" inside a <meta ...> tag of the first bytes of an HTML
 * text: covers <meta charset="x"> and <meta http-equiv=... content="text/html;
 * charset=x">.  Only the first KB is looked at, as browsers do. */
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
				memcpy(ta->html_meta_charset, s + k, t - k);
				ta->html_meta_charset[t - k] = '\0';
				return;
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
