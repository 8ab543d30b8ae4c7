/*
 * rfc2047.c -- RFC 2047 encoded-words (decode and encode) and RFC 2231
 * parameter encoding.  See rfc2047.h for the contract.
 *
 * Encoding works in one streaming pass over the value with a small token
 * lookahead, so memory is bounded by the output buffer's limit whatever the
 * input size:
 *   tokenizer  -> white space, literal tokens (kept byte-identical) and
 *                 encodable tokens (words with 8-bit bytes; in address
 *                 headers also 8-bit quoted-strings and words in comments);
 *   run joiner -> consecutive encodable tokens plus the white space between
 *                 them become one run (a decoder drops white space between
 *                 adjacent encoded-words, so that space must be encoded);
 *   emitter    -> cuts a run into encoded-words at character boundaries of
 *                 the charset, picks Q or B per word, folds lines at 78.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cte.h"
#include "rfc2047.h"
#include "util.h"

#define LINE_MAX_COLS	78	/* RFC 5322 2.1.1 */
#define WORD_MAX	75	/* RFC 2047 2 */
#define CHARSET_MAX	64

static bool is_fws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_crlf(char c)
{
	return c == '\r' || c == '\n';
}


/* ---- character structure of a charset ---------------------------------------------- */

enum width_class {
	W_SINGLE, W_UTF8, W_SJIS, W_EUCJP, W_GBK, W_BIG5, W_UHC, W_GB18030, W_UNSUPPORTED
};

static enum width_class width_class_of(const struct charset_info *cs)
{
	/* Byte structures of the converters charset.c uses: shift_jis is
	 * CP932, euc-jp EUC-JP-MS, gb2312 GBK, big5 CP950, euc-kr CP949. */
	static const struct { const char *name; enum width_class w; } mb[] = {
		{ "utf-8", W_UTF8 }, { "shift_jis", W_SJIS }, { "euc-jp", W_EUCJP },
		{ "gb2312", W_GBK }, { "big5", W_BIG5 }, { "big5-hkscs", W_BIG5 },
		{ "euc-kr", W_UHC }, { "gb18030", W_GB18030 },
		/* label rows: the same converters under the wider names */
		{ "windows-31j", W_SJIS }, { "cp949", W_UHC }, { "gbk", W_GBK },
	};
	size_t i;

	if (cs->props & CSP_SINGLE_BYTE)
		return W_SINGLE;
	for (i = 0; i < ARRAY_LEN(mb); i++)
		if (strcmp(cs->mime_name, mb[i].name) == 0)
			return mb[i].w;
	return W_UNSUPPORTED;	/* stateful or not ASCII compatible */
}

static bool in_range(unsigned char c, unsigned char lo, unsigned char hi)
{
	return c >= lo && c <= hi;
}

/* Length of a valid UTF-8 sequence at p[0..n), 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char b = p[0], lo = 0x80, hi = 0xbf;
	size_t l, k;

	if (in_range(b, 0xc2, 0xdf))
		l = 2;
	else if (in_range(b, 0xe0, 0xef))
		l = 3;
	else if (in_range(b, 0xf0, 0xf4))
		l = 4;
	else
		return 0;
	/* Second-byte limits exclude overlongs, surrogates, > U+10FFFF. */
	if (b == 0xe0)
		lo = 0xa0;
	else if (b == 0xed)
		hi = 0x9f;
	else if (b == 0xf0)
		lo = 0x90;
	else if (b == 0xf4)
		hi = 0x8f;
	if (n < l || !in_range(p[1], lo, hi))
		return 0;
	for (k = 2; k < l; k++)
		if (!in_range(p[k], 0x80, 0xbf))
			return 0;
	return l;
}

/* Length of a valid double-byte character at p[0..n) whose lead byte is in
 * [lead_lo, lead_hi] and trail byte in one of the two ranges; 0 if none. */
static size_t dbcs_len(const unsigned char *p, size_t n, unsigned char lead_lo, unsigned char lead_hi,
		       unsigned char t1_lo, unsigned char t1_hi, unsigned char t2_lo, unsigned char t2_hi)
{
	if (n < 2 || !in_range(p[0], lead_lo, lead_hi))
		return 0;
	return in_range(p[1], t1_lo, t1_hi) || in_range(p[1], t2_lo, t2_hi) ? 2 : 0;
}

/* Length of the character starting at p[0..n), from the byte structure of
 * the charset.  Only a complete, well-formed sequence counts as one
 * character; anything else (a stray lead or trail byte, a truncated or
 * broken sequence) is a single byte.  So a character never extends over
 * the end of p[0..n), and never over CR, LF, white space or any other
 * byte that cannot stand inside a character -- a broken lead byte before a
 * fold cannot take the fold's CR into an encoded-word. */
static size_t char_len(enum width_class w, const unsigned char *p, size_t n)
{
	size_t l = 0;

	if (n == 0 || p[0] < 0x80)
		return 1;
	switch (w) {
	case W_UTF8:
		l = utf8_seq_len(p, n);
		break;
	case W_SJIS:	/* CP932 */
		l = dbcs_len(p, n, 0x81, 0x9f, 0x40, 0x7e, 0x80, 0xfc);
		if (l == 0)
			l = dbcs_len(p, n, 0xe0, 0xfc, 0x40, 0x7e, 0x80, 0xfc);
		break;
	case W_EUCJP:	/* EUC-JP-MS */
		if (p[0] == 0x8e)
			l = n >= 2 && in_range(p[1], 0xa1, 0xdf) ? 2 : 0;
		else if (p[0] == 0x8f)
			l = n >= 3 && in_range(p[1], 0xa1, 0xfe) && in_range(p[2], 0xa1, 0xfe) ? 3 : 0;
		else
			l = dbcs_len(p, n, 0xa1, 0xfe, 0xa1, 0xfe, 0xa1, 0xfe);
		break;
	case W_GBK:
		l = dbcs_len(p, n, 0x81, 0xfe, 0x40, 0x7e, 0x80, 0xfe);
		break;
	case W_BIG5:	/* CP950, Big5-HKSCS */
		l = dbcs_len(p, n, 0x81, 0xfe, 0x40, 0x7e, 0xa1, 0xfe);
		break;
	case W_UHC:	/* CP949 */
		l = dbcs_len(p, n, 0x81, 0xfe, 0x41, 0x5a, 0x61, 0x7a);
		if (l == 0)
			l = dbcs_len(p, n, 0x81, 0xfe, 0x81, 0xfe, 0x81, 0xfe);
		break;
	case W_GB18030:
		if (n >= 4 && in_range(p[0], 0x81, 0xfe) && in_range(p[1], 0x30, 0x39) &&
		    in_range(p[2], 0x81, 0xfe) && in_range(p[3], 0x30, 0x39))
			l = 4;
		else
			l = dbcs_len(p, n, 0x81, 0xfe, 0x40, 0x7e, 0x80, 0xfe);
		break;
	default:
		break;
	}
	return l > 0 ? l : 1;
}

/* ---- decoding ------------------------------------------------------------------------ */

struct ew {
	const char *charset;	/* without the RFC 2231 language suffix */
	size_t charset_len;
	char enc;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total;		/* bytes from "=?" to "?=" inclusive */
};

static bool ew_charset_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\"/[]?=", c) == NULL;
}

/* Parse an encoded-word at p[0..n); p starts with "=?". */
static bool ew_parse(const char *p, size_t n, struct ew *ew)
{
	size_t i = 2, cs_start = 2, star;

	if (n < 8 || p[0] != '=' || p[1] != '?')
		return false;
	while (i < n && ew_charset_char((unsigned char)p[i]))
		i++;
	if (i == cs_start || i - cs_start > CHARSET_MAX || i + 2 >= n || p[i] != '?')
		return false;
	for (star = cs_start; star < i && p[star] != '*'; star++)
		;
	if (star == cs_start)
		return false;
	ew->charset = p + cs_start;
	ew->charset_len = star - cs_start;
	i++;
	ew->enc = (char)(p[i] == 'b' ? 'B' : p[i] == 'q' ? 'Q' : p[i]);
	if ((ew->enc != 'B' && ew->enc != 'Q') || p[i + 1] != '?')
		return false;
	i += 2;
	ew->text = p + i;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '?') {
			if (i + 1 < n && p[i + 1] == '=') {
				ew->text_len = (size_t)(p + i - ew->text);
				ew->total = i + 2;
				return true;
			}
			return false;
		}
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return false;
}

/* Decode the encoded text into raw bytes appended to out.  Returns 0, -1
 * when malformed (out then holds partial data the caller discards), -2 when
 * out's limit was reached. */
static int ew_decode_text(const struct ew *ew, struct buf *out)
{
	size_t i;

	if (ew->enc == 'B') {
		uint32_t acc = 0;
		unsigned bits = 0;
		bool pad = false;

		for (i = 0; i < ew->text_len; i++) {
			unsigned char c = (unsigned char)ew->text[i];
			int v;

			if (c == '=') {
				pad = true;
				continue;
			}
			if (pad || (v = cte_b64_values[c]) >= 64)	/* no white space inside a word */
				return -1;
			acc = (acc << 6) | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				if (buf_putc(out, (int)((acc >> bits) & 0xff)) < 0)
					return -2;
			}
		}
		/* Leftover bits must be padding zeros of a partial quantum. */
		if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
			return -1;
		return 0;
	}
	for (i = 0; i < ew->text_len; i++) {
		unsigned char c = (unsigned char)ew->text[i];
		int r;

		if (c == '_') {
			r = buf_putc(out, ' ');
		} else if (c == '=') {
			int hi, lo;

			if (i + 2 >= ew->text_len ||
			    (hi = cte_hex_value((unsigned char)ew->text[i + 1])) < 0 ||
			    (lo = cte_hex_value((unsigned char)ew->text[i + 2])) < 0)
				return -1;
			r = buf_putc(out, hi * 16 + lo);
			i += 2;
		} else {
			r = buf_putc(out, c);
		}
		if (r < 0)
			return -2;
	}
	return 0;
}

struct decoder {
	struct charset_conv *cv;
	const struct charset_info *raw_cs;
	struct buf *out;
	/* Pending run of adjacent encoded-words in one charset. */
	const struct charset_info *pend_cs;
	struct buf pend;		/* their raw decoded bytes */
	const char *pend_src;		/* their source span, for the literal fallback */
	size_t pend_src_len;
	int pend_words;
	int words;
	bool overflow;
};

struct buf_sink {
	struct buf *out;
	bool overflow;
};

static int sink_to_buf(void *arg, const char *data, size_t len)
{
	struct buf_sink *bs = arg;

	if (buf_append(bs->out, data, len) < 0) {
		bs->overflow = true;
		return -1;
	}
	return 0;
}

/* Convert bytes in cs to UTF-8 into out; false (out unchanged) when they
 * do not decode. */
static bool convert_into(struct decoder *d, const struct charset_info *cs, const char *p, size_t n,
			 bool *overflow)
{
	size_t mark = d->out->len, bad;
	struct charset_stream *st;
	struct buf_sink bs = { d->out, false };

	*overflow = false;
	if (cs->family == CSF_UTF && (cs->props & CSP_MULTI_BYTE)) {
		if (!utf8_valid(p, n))
			return false;
		if (buf_append(d->out, p, n) < 0)
			*overflow = true;
		return !*overflow;
	}
	st = charset_stream_begin(d->cv, cs, sink_to_buf, &bs);
	if (st == NULL)
		return false;
	charset_stream_feed(st, p, n);
	if (charset_stream_end(st, &bad) == 0)
		return true;
	*overflow = bs.overflow;
	d->out->len = mark;
	if (d->out->data != NULL)
		d->out->data[mark] = '\0';
	return false;
}

/* Append literal source text, unfolded (CR and LF dropped). */
static int put_unfolded(struct buf *out, const char *p, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			if (buf_append(out, p + start, i - start) < 0)
				return -1;
			start = i + 1;
		}
	}
	return buf_append(out, p + start, n - start);
}

static int flush_literal(struct decoder *d, const char *p, size_t n)
{
	size_t i;
	bool has8 = false, overflow;

	if (n == 0)
		return 0;
	for (i = 0; i < n && !has8; i++)
		has8 = (unsigned char)p[i] >= 0x80;
	if (has8 && d->raw_cs != NULL && d->cv != NULL) {
		/* Unfold first (CR/LF are ASCII in every charset we convert). */
		struct buf tmp;
		bool ok;

		buf_init(&tmp, n + 1);
		if (put_unfolded(&tmp, p, n) < 0) {
			buf_free(&tmp);
			return -1;
		}
		ok = convert_into(d, d->raw_cs, tmp.data, tmp.len, &overflow);
		buf_free(&tmp);
		if (ok)
			return 0;
		if (overflow)
			return -1;
	}
	return put_unfolded(d->out, p, n);
}

static int flush_pending(struct decoder *d)
{
	bool overflow;

	if (d->pend_cs == NULL)
		return 0;
	if (convert_into(d, d->pend_cs, d->pend.data != NULL ? d->pend.data : "", d->pend.len, &overflow)) {
		d->words += d->pend_words;
	} else {
		if (overflow || put_unfolded(d->out, d->pend_src, d->pend_src_len) < 0)
			return -1;
	}
	d->pend_cs = NULL;
	d->pend_words = 0;
	buf_reset(&d->pend);
	return 0;
}

static bool only_fws(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_fws((unsigned char)p[i]))
			return false;
	return true;
}

int rfc2047_decode(const char *value, size_t len, const struct charset_info *raw_cs,
		   struct charset_conv *cv, struct buf *out)
{
	struct decoder d;
	size_t i = 0, lit = 0;
	int rc = 0;

	struct buf word;

	memset(&d, 0, sizeof(d));
	d.cv = cv;
	d.raw_cs = raw_cs;
	d.out = out;
	buf_init(&d.pend, len + 1);
	buf_init(&word, len + 1);
	while (i < len) {
		struct ew ew;
		const struct charset_info *cs;

		if (value[i] != '=' || i + 1 >= len || value[i + 1] != '?' ||
		    !ew_parse(value + i, len - i, &ew)) {
			i++;
			continue;
		}
		cs = charset_lookup_n(ew.charset, ew.charset_len);
		buf_reset(&word);
		if (cs == NULL || d.cv == NULL || ew_decode_text(&ew, &word) < 0) {
			i += 2;	/* unknown charset or malformed: stays literal */
			continue;
		}
		/* Text between the previous encoded-word and this one: dropped
		 * when it is only white space (RFC 2047 6.2). */
		if (d.pend_cs != NULL && only_fws(value + lit, i - lit)) {
			if (cs != d.pend_cs && flush_pending(&d) < 0) {
				rc = -1;
				break;
			}
		} else {
			if (flush_pending(&d) < 0 || flush_literal(&d, value + lit, i - lit) < 0) {
				rc = -1;
				break;
			}
		}
		if (buf_append(&d.pend, word.data, word.len) < 0) {
			rc = -1;
			break;
		}
		if (d.pend_cs == NULL) {
			d.pend_cs = cs;
			d.pend_src = value + i;
		}
		d.pend_src_len = (size_t)(value + i + ew.total - d.pend_src);
		d.pend_words++;
		i += ew.total;
		lit = i;
	}
	if (rc == 0 && (flush_pending(&d) < 0 || flush_literal(&d, value + lit, len - lit) < 0))
		rc = -1;
	buf_free(&d.pend);
	buf_free(&word);
	return rc < 0 ? -1 : d.words;
}

bool rfc2047_has_encoded_word(const char *value, size_t len)
{
	size_t i;
	struct ew ew;

	for (i = 0; i + 1 < len; i++)
		if (value[i] == '=' && value[i + 1] == '?' && ew_parse(value + i, len - i, &ew))
			return true;
	return false;
}

/* ---- encoding: the emitter --------------------------------------------------------- */

struct emitter {
	struct buf *out;
	size_t col;			/* column of the next output byte */
	bool line_has_text;		/* current line holds more than white space */
	const char *eol;
	const char *label;
	size_t overhead;		/* "=?" label "?X?" ... "?=" */
	enum width_class w;
	bool structured;		/* folding allowed between any tokens */
	/* Converted words (rfc2047_encode_header_as): the input is UTF-8, each
	 * word holds its characters converted into `target` (B encoding only),
	 * so a stateful charset's word starts and ends in its initial state. */
	const struct charset_info *target;
	struct charset_conv *cv;
	struct buf *conv;		/* scratch: the current conversion */
	bool after_ew;			/* the last item written is an encoded-word
					 * the sender wrote (a literal token) */
	int err;
};

/* Is p[0..n) exactly one encoded-word? */
static bool is_encoded_word(const char *p, size_t n)
{
	struct ew ew;

	return ew_parse(p, n, &ew) && ew.total == n;
}

/* Length of the leading part of ws[0..n) up to its last line break (the
 * input's folds, which no encoded-word may hold); 0 when there is none. */
static size_t ws_fold_len(const char *ws, size_t n)
{
	size_t i;

	for (i = n; i > 0 && !is_crlf(ws[i - 1]); i--)
		;
	return i;
}

/* Bytes of p[0..n) (whole UTF-8 characters) once converted into e->target,
 * left in e->conv; SIZE_MAX (and e->err set) when they do not convert. */
static size_t conv_len(const struct emitter *e, const unsigned char *p, size_t n)
{
	buf_reset(e->conv);
	if (charset_encode_utf8(e->cv, e->target, (const char *)p, n, e->conv) < 0)
		return SIZE_MAX;
	return e->conv->len;
}

static void emit(struct emitter *e, const char *p, size_t n)
{
	size_t i;

	if (e->err)
		return;
	if (buf_append(e->out, p, n) < 0) {
		e->err = -1;
		return;
	}
	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			e->col = 0;
			e->line_has_text = false;
		} else {
			e->col++;
			if (!is_fws((unsigned char)p[i]))
				e->line_has_text = true;
		}
	}
}

static void emit_fold(struct emitter *e)
{
	emit(e, e->eol, strlen(e->eol));
}

/* Write white space ws[0..n) before an item `need` columns wide.  Line
 * breaks already in it (folds of the input) are kept as they are.  When
 * the item would pass the line limit, a fold is made inside the white
 * space after them -- eol inserted before one of its characters, so that
 * unfolding gives back exactly the same white space: as much of it as fits
 * stays at the end of the current line and at least one character goes to
 * the next.  No line is left holding only white space (RFC 5322 3.2.2), so
 * there is no fold when the current line has no text yet.
 *
 * When may_carry is set and the item still does not fit after the white
 * space (a very long run of it), only one character is written and the
 * number of the others is returned: the caller encodes them into its
 * encoded-word, which decodes to the same white space.  Otherwise 0. */
static size_t emit_ws(struct emitter *e, const char *ws, size_t n, size_t need, bool may_carry)
{
	size_t i = ws_fold_len(ws, n), keep;

	emit(e, ws, i);
	ws += i;
	n -= i;
	if (n == 0 || e->col + n + need <= LINE_MAX_COLS) {
		emit(e, ws, n);
		return 0;
	}
	if (e->line_has_text) {
		/* Fold before all of it when the item then fits, else keep
		 * what fits here to leave the next line as much room as can be. */
		keep = 0;
		if (n + need > LINE_MAX_COLS && e->col < LINE_MAX_COLS)
			keep = LINE_MAX_COLS - e->col < n - 1 ? LINE_MAX_COLS - e->col : n - 1;
		emit(e, ws, keep);
		emit_fold(e);
		ws += keep;
		n -= keep;
	}
	if (may_carry && n > 1 && e->col + n + need > LINE_MAX_COLS) {
		emit(e, ws, 1);
		return n - 1;
	}
	emit(e, ws, n);
	return 0;
}

/* White space, then a literal token; fold in the white space when the token
 * (with the `need` - toklen columns of tokens glued after it) would pass the
 * line limit. */
static void emit_literal(struct emitter *e, const char *ws, size_t wslen, const char *tok, size_t toklen,
			 size_t need)
{
	emit_ws(e, ws, wslen, need, false);
	emit(e, tok, toklen);
	e->after_ew = is_encoded_word(tok, toklen);
}

/* Q is restricted to the characters RFC 2047 5(3) allows in a phrase, so the
 * same words are valid in Subject, phrases and comments. */
static bool q_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t q_cost(unsigned char c)
{
	return (q_safe(c) || c == ' ') ? 1 : 3;
}

static size_t b_cost(size_t nbytes)
{
	return 4 * ((nbytes + 2) / 3);
}

static void emit_word(struct emitter *e, char enc, const unsigned char *p, size_t n)
{
	char tmp[WORD_MAX + 8];
	size_t t = 0, i;

	if (e->target != NULL) {
		if (conv_len(e, p, n) == SIZE_MAX) {
			e->err = -1;
			return;
		}
		p = (const unsigned char *)e->conv->data;
		n = e->conv->len;
	}
	if (buf_printf(e->out, "=?%s?%c?", e->label, enc) < 0) {
		e->err = -1;
		return;
	}
	e->col += strlen(e->label) + 5;
	e->line_has_text = true;
	if (enc == 'Q') {
		for (i = 0; i < n && t + 3 < sizeof(tmp); i++) {
			if (p[i] == ' ') {
				tmp[t++] = '_';
			} else if (q_safe(p[i])) {
				tmp[t++] = (char)p[i];
			} else {
				tmp[t++] = '=';
				tmp[t++] = cte_hex_digits[p[i] >> 4];
				tmp[t++] = cte_hex_digits[p[i] & 15];
			}
		}
	} else {
		for (i = 0; i < n && t + 4 < sizeof(tmp); i += 3, t += 4)
			cte_b64_group(p + i, n - i < 3 ? n - i : 3, tmp + t);
	}
	emit(e, tmp, t);
	emit(e, "?=", 2);
}

/* Width of the cheaper encoding of the character at p[0..n). */
static size_t first_char_cost(const struct emitter *e, const unsigned char *p, size_t n)
{
	size_t clen = char_len(e->w, p, n), qc = 0, k;

	if (e->target != NULL) {
		k = conv_len(e, p, clen);
		return k == SIZE_MAX ? WORD_MAX : b_cost(k);
	}
	for (k = 0; k < clen; k++)
		qc += q_cost(p[k]);
	return qc < b_cost(clen) ? qc : b_cost(clen);
}

/* Columns the next encoded-word should have on its line: fold rather than
 * start a word with room for only a few bytes -- want the whole rest (and
 * the token glued after it) when it is short, else a dozen columns. */
static size_t word_want(const struct emitter *e, const unsigned char *p, size_t n, size_t reserve)
{
	size_t want, k, min_char = first_char_cost(e, p, n);

	if (n <= 16 && e->target != NULL) {
		k = conv_len(e, p, n);
		want = (k == SIZE_MAX ? 12 : b_cost(k)) + reserve;
	} else if (n <= 16) {
		size_t qa = 0;

		for (k = 0; k < n; k++)
			qa += q_cost(p[k]);
		want = (qa < b_cost(n) ? qa : b_cost(n)) + reserve;
	} else {
		want = 12;
	}
	if (want < min_char)
		want = min_char;
	return want + e->overhead;
}

struct word_fit {
	size_t q_end, q_len;	/* bytes and encoded width of the Q prefix */
	size_t b_end;		/* bytes of the B prefix */
};

/* Greedy: the longest prefix of whole characters of p[0..n) that fits in
 * budget columns, for each encoding. */
static void fit_prefix(const struct emitter *e, const unsigned char *p, size_t n, size_t budget,
		       struct word_fit *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < n;) {
		size_t l = char_len(e->w, p + i, n - i), j, qc = 0;
		bool q_fits, b_fits;

		for (j = 0; j < l; j++)
			qc += q_cost(p[i + j]);
		q_fits = f->q_end == i && f->q_len + qc <= budget && e->target == NULL;
		if (e->target != NULL) {
			size_t cl = conv_len(e, p, i + l);

			b_fits = f->b_end == i && cl != SIZE_MAX && b_cost(cl) <= budget;
		} else {
			b_fits = f->b_end == i && b_cost(i + l) <= budget;
		}
		if (!q_fits && !b_fits)
			break;
		if (q_fits) {
			f->q_len += qc;
			f->q_end = i + l;
		}
		if (b_fits)
			f->b_end = i + l;
		i += l;
	}
}

/* Write one encoded-word at the current column holding as much of p[0..n)
 * as fits; returns the number of bytes it took (0 on error).  reserve is
 * the width of a token glued to the end of the run: the word that ends the
 * run leaves room for it. */
static size_t emit_one_word(struct emitter *e, const unsigned char *p, size_t n, size_t reserve)
{
	size_t min_char = first_char_cost(e, p, n), avail, budget, bn;
	struct word_fit f;

	avail = e->col < LINE_MAX_COLS ? LINE_MAX_COLS - e->col : 0;
	if (avail > WORD_MAX)
		avail = WORD_MAX;
	if (avail < e->overhead + min_char)
		avail = e->overhead + min_char;	/* cannot fold here: overflow the line */
	if (avail > WORD_MAX) {
		e->err = -1;	/* label too long for any encoded-word */
		return 0;
	}
	budget = avail - e->overhead;
	fit_prefix(e, p, n, budget, &f);
	if (reserve > 0 && (f.q_end == n || f.b_end == n)) {
		/* This could be the last word: leave room for the glued tokens,
		 * or, when they do not fit on this line, leave its last
		 * character to a word on the next line, which they follow. */
		size_t last = 0, l;

		fit_prefix(e, p, n, budget >= reserve ? budget - reserve : 0, &f);
		if (f.q_end < n && f.b_end < n) {
			for (l = 0; l < n; l += char_len(e->w, p + l, n - l))
				last = l;
			if (last > 0)
				fit_prefix(e, p, last, budget, &f);
			else
				fit_prefix(e, p, n, budget, &f);	/* one character: no choice */
		}
	}
	if (f.q_end == 0 && f.b_end == 0) {
		e->err = -1;
		return 0;
	}
	bn = b_cost(f.b_end);
	/* Q keeps mostly-ASCII text readable: prefer it unless B packs more
	 * characters into the word or is more than 1/8 shorter. */
	if (f.q_end > f.b_end || (f.q_end == f.b_end && f.q_len <= bn + bn / 8)) {
		emit_word(e, 'Q', p, f.q_end);
		return f.q_end;
	}
	emit_word(e, 'B', p, f.b_end);
	return f.b_end;
}

/* Encode a run of raw bytes (no CR or LF in it) as encoded-words.  ws is
 * the literal white space before the run (kept, folded inside, or partly
 * encoded into the first word when it is too long to leave room for any
 * word); reserve is the width of a token glued to the end of the run (no
 * white space to fold at). */
static void emit_encoded(struct emitter *e, const char *ws, size_t wslen,
			 const unsigned char *p, size_t n, size_t reserve)
{
	unsigned char *joined = NULL;
	size_t carry = 0;

	if (n == 0) {
		emit(e, ws, wslen);
		return;
	}
	/* A glued token that cannot share a line with any word: no use
	 * shrinking words for it. */
	if (e->overhead + 12 + reserve + 1 > LINE_MAX_COLS)
		reserve = 0;
	if (wslen > 0 && e->after_ew) {
		/* after an encoded-word the sender wrote, white space between the
		 * two would be dropped by every reader (RFC 2047 6.2): it goes
		 * into this word (all but the input's folds), one space separates */
		carry = wslen - ws_fold_len(ws, wslen);
		emit_ws(e, " ", 1, word_want(e, p, n, reserve) + carry, false);
	} else if (wslen > 0) {
		carry = emit_ws(e, ws, wslen, word_want(e, p, n, reserve), true);
	} else if (e->structured && e->line_has_text && e->col > 1 &&
		   e->col + word_want(e, p, n, reserve) > LINE_MAX_COLS) {
		emit_fold(e);	/* between two tokens of a structured field */
		emit(e, " ", 1);
	}
	if (carry > 0) {
		joined = xmalloc(carry + n);
		memcpy(joined, ws + wslen - carry, carry);
		memcpy(joined + carry, p, n);
		p = joined;
		n += carry;
	}
	for (;;) {
		size_t took = emit_one_word(e, p, n, reserve);

		p += took;
		n -= took;
		if (n == 0 || e->err)
			break;
		if (e->col + 1 + word_want(e, p, n, reserve) > LINE_MAX_COLS)
			emit_fold(e);
		emit(e, " ", 1);
	}
	e->after_ew = false;
	free(joined);
}

/* ---- encoding: tokens ---------------------------------------------------------------- */

enum tok_type { T_END, T_WS, T_LIT, T_ENC };

struct token {
	enum tok_type type;
	const char *p;
	size_t n;
	bool unescape;		/* quoted-pairs inside (quoted-string, comment) */
	bool strip_quotes;	/* a quoted-string: p/n include the quotes */
	int ctx;		/* 0 outside comments, 1 inside: runs never cross */
};

struct tokenizer {
	const char *v;
	size_t len, i;
	enum width_class w;	/* trail bytes of a character are never delimiters */
	bool address;
	int depth;		/* comment nesting */
};

static bool addr_delim(unsigned char c)
{
	return is_fws(c) || c == '(' || c == ')' || c == '<' || c == '>' || c == ',' ||
	    c == ';' || c == ':' || c == '"' || c == '[' || c == ']';
}

/* Index of the character after the one at v[i]. */
static size_t tz_next(const struct tokenizer *tz, size_t i)
{
	if ((unsigned char)tz->v[i] < 0x80)
		return i + 1;
	return i + char_len(tz->w, (const unsigned char *)tz->v + i, tz->len - i);
}

/* Index after the quoted-pair whose backslash is at v[i].  The field is
 * taken as unfolded first, as readers do: a pair never takes a CR or LF
 * (a fold right after the backslash is skipped and the pair takes the
 * character after it), so a fold's CR never lands inside a token alone. */
static size_t tz_after_pair(const struct tokenizer *tz, size_t i)
{
	for (i++; i < tz->len && is_crlf(tz->v[i]); i++)
		;
	return i < tz->len ? tz_next(tz, i) : i;
}

/* Skip a delimited construct starting at v[i] (an opening quote or bracket);
 * returns the index after its closing delimiter (or len when unterminated). */
static size_t skip_quoted(const struct tokenizer *tz, size_t i, char close)
{
	for (i++; i < tz->len;) {
		if (tz->v[i] == '\\' && i + 1 < tz->len)
			i = tz_after_pair(tz, i);
		else if (tz->v[i] == close)
			return i + 1;
		else
			i = tz_next(tz, i);
	}
	return tz->len;
}

static size_t skip_angle(const struct tokenizer *tz, size_t i)
{
	for (i++; i < tz->len; i = tz_next(tz, i)) {
		if (tz->v[i] == '"')
			i = skip_quoted(tz, i, '"') - 1;
		else if (tz->v[i] == '>')
			return i + 1;
	}
	return tz->len;
}

static void next_token(struct tokenizer *tz, struct token *t)
{
	const char *v = tz->v;
	size_t len = tz->len, s = tz->i, i = tz->i;
	unsigned char c;

	memset(t, 0, sizeof(*t));
	t->p = v + s;
	t->ctx = tz->depth > 0;
	if (i >= len) {
		t->type = T_END;
		return;
	}
	c = (unsigned char)v[i];
	if (is_fws(c)) {
		while (i < len && is_fws((unsigned char)v[i]))
			i++;
		t->type = T_WS;
	} else if (!tz->address) {
		while (i < len && !is_fws((unsigned char)v[i]))
			i = tz_next(tz, i);
		t->type = bytes_have_8bit(v + s, i - s) ? T_ENC : T_LIT;
	} else if (c == '(') {
		tz->depth++;
		i++;
		t->type = T_LIT;
	} else if (c == ')' && tz->depth > 0) {
		tz->depth--;
		i++;
		t->type = T_LIT;
	} else if (tz->depth > 0) {
		/* A word of a comment: up to white space or a parenthesis. */
		while (i < len && !is_fws((unsigned char)v[i]) && v[i] != '(' && v[i] != ')') {
			if (v[i] == '\\' && i + 1 < len)
				i = tz_after_pair(tz, i);
			else
				i = tz_next(tz, i);
		}
		t->type = bytes_have_8bit(v + s, i - s) ? T_ENC : T_LIT;
		t->unescape = true;
	} else if (c == '"') {
		i = skip_quoted(tz, i, '"');
		if (i - s >= 2 && v[i - 1] == '"' && bytes_have_8bit(v + s, i - s)) {
			t->type = T_ENC;
			t->strip_quotes = true;
			t->unescape = true;
		} else {
			t->type = T_LIT;
		}
	} else if (c == '<') {
		i = skip_angle(tz, i);	/* addr-spec: never encoded */
		t->type = T_LIT;
	} else if (c == '[') {
		i = skip_quoted(tz, i, ']');
		t->type = T_LIT;
	} else if (addr_delim(c)) {
		i++;
		t->type = T_LIT;
	} else {
		bool at = false;

		while (i < len && !addr_delim((unsigned char)v[i])) {
			at = at || v[i] == '@';
			i = tz_next(tz, i);
		}
		/* A word holding '@' is a bare addr-spec (maybe EAI): literal. */
		t->type = (!at && bytes_have_8bit(v + s, i - s)) ? T_ENC : T_LIT;
	}
	t->n = i - s;
	tz->i = i;
}

/* Append the text a token stands for: unfolded (a quoted-string or
 * comment word may span a fold; CR and LF never go into an encoded-word),
 * quotes dropped, quoted-pairs undone the way the tokenizer read them. */
static int run_append_token(struct buf *run, const struct token *t, enum width_class w)
{
	const char *p = t->p;
	size_t n = t->n, i, l;
	bool escaped = false;

	if (t->strip_quotes) {
		p++;
		n -= 2;
	}
	for (i = 0; i < n; i += l) {
		l = 1;
		if (is_crlf(p[i]))
			continue;
		if (t->unescape && !escaped && p[i] == '\\' && i + 1 < n) {
			escaped = true;
			continue;
		}
		escaped = false;
		l = char_len(w, (const unsigned char *)p + i, n - i);
		if (buf_append(run, p + i, l) < 0)
			return -1;
	}
	return 0;
}

/* Width of the literal tokens glued to each other from t on (no white
 * space between them, so no place to fold): the last encoded-word before
 * them leaves them room on its line.  Counted up to a line's width. */
static size_t glued_width(const struct tokenizer *tz, const struct token *t)
{
	struct tokenizer ahead = *tz;
	struct token nx = *t;
	size_t w = 0;

	while (nx.type == T_LIT && w <= LINE_MAX_COLS) {
		w += nx.n;
		next_token(&ahead, &nx);
	}
	return w;
}

/* White space inside a run is encoded as it reads after unfolding. */
static int run_append_ws(struct buf *run, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n' && buf_putc(run, (unsigned char)p[i]) < 0)
			return -1;
	return 0;
}

static void emitter_init(struct emitter *e, const struct charset_info *label_cs, enum width_class w,
			 enum rfc2047_kind kind, size_t start_col, const char *eol, struct buf *out)
{
	memset(e, 0, sizeof(*e));
	e->out = out;
	e->col = start_col;
	e->line_has_text = start_col > 0;	/* the field name */
	e->eol = eol;
	e->label = label_cs->mime_name;
	e->overhead = strlen(label_cs->mime_name) + 7;
	e->w = w;
	e->structured = kind == RFC2047_ADDRESS;
}

/* The tokens of value[0..len): literal ones copied (folded where needed),
 * runs of encodable ones written as encoded-words. */
static int encode_tokens(struct emitter *e, const char *value, size_t len, enum rfc2047_kind kind)
{
	struct tokenizer tz;
	struct token t, ws, nx;
	struct buf run;

	memset(&tz, 0, sizeof(tz));
	tz.v = value;
	tz.len = len;
	tz.address = kind == RFC2047_ADDRESS;
	tz.w = e->w;
	buf_init(&run, len + 1);
	memset(&ws, 0, sizeof(ws));
	ws.p = value;
	next_token(&tz, &t);
	while (t.type != T_END && !e->err) {
		struct token gap;

		if (t.type == T_WS) {
			ws = t;
			next_token(&tz, &t);
			continue;
		}
		if (t.type == T_LIT) {
			/* fold before it for the width of all tokens glued to it */
			emit_literal(e, ws.p, ws.n, t.p, t.n, ws.n > 0 ? glued_width(&tz, &t) : t.n);
			ws.n = 0;
			next_token(&tz, &t);
			continue;
		}
		/* An encodable token: join the following ones separated only by
		 * white space (or nothing), in the same comment context. */
		buf_reset(&run);
		if (run_append_token(&run, &t, e->w) < 0) {
			e->err = -1;
			break;
		}
		for (;;) {
			next_token(&tz, &gap);
			if (gap.type == T_WS) {
				next_token(&tz, &nx);
			} else {
				nx = gap;
				gap.n = 0;
			}
			if (nx.type == T_LIT && gap.n > 0 && is_encoded_word(nx.p, nx.n)) {
				/* the same the other way round (emit_encoded): the white
				 * space before the sender's encoded-word ends this run */
				if (run_append_ws(&run, gap.p, gap.n) < 0)
					e->err = -1;
				gap.p = " ";
				gap.n = 1;
			}
			if (nx.type != T_ENC || nx.ctx != t.ctx)
				break;
			if (run_append_ws(&run, gap.p, gap.n) < 0 || run_append_token(&run, &nx, e->w) < 0) {
				e->err = -1;
				break;
			}
		}
		emit_encoded(e, ws.p, ws.n, (const unsigned char *)run.data, run.len,
			     gap.n == 0 ? glued_width(&tz, &nx) : 0);
		ws = gap;
		t = nx;
	}
	if (!e->err && ws.n > 0)
		emit(e, ws.p, ws.n);	/* trailing white space */
	buf_free(&run);
	return e->err ? -1 : 0;
}

int rfc2047_encode_header(const char *value, size_t len, const struct charset_info *cs,
			  enum rfc2047_kind kind, size_t start_col, const char *eol,
			  struct buf *out)
{
	struct emitter e;

	if (value == NULL || eol == NULL || out == NULL)
		return -1;
	if (!bytes_have_8bit(value, len))
		return buf_append(out, value, len);
	if (cs == NULL || !(cs->props & CSP_ASCII_COMPAT) || width_class_of(cs) == W_UNSUPPORTED)
		return -1;
	emitter_init(&e, cs, width_class_of(cs), kind, start_col, eol, out);
	return encode_tokens(&e, value, len, kind);
}

int rfc2047_encode_header_as(const char *utf8, size_t len, const struct charset_info *target,
			     struct charset_conv *cv, enum rfc2047_kind kind, size_t start_col,
			     const char *eol, struct buf *out)
{
	struct emitter e;
	struct buf conv;
	int rc;

	if (utf8 == NULL || eol == NULL || out == NULL || target == NULL || cv == NULL)
		return -1;
	if (!bytes_have_8bit(utf8, len))
		return buf_append(out, utf8, len);
	if (!utf8_valid(utf8, len))
		return -1;
	emitter_init(&e, target, W_UTF8, kind, start_col, eol, out);
	e.target = target;
	e.cv = cv;
	buf_init(&conv, 4 * WORD_MAX);	/* one word's worth: more never fits */
	e.conv = &conv;
	rc = encode_tokens(&e, utf8, len, kind);
	buf_free(&conv);
	return rc;
}

/* ---- RFC 2231 --------------------------------------------------------------------------- */

/* attribute-char (RFC 2231 7): token characters except '*', '\'', '%'. */
static bool attr_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

static size_t pct_cost(const unsigned char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += attr_char(p[i]) ? 1 : 3;
	return c;
}

static int pct_append(struct buf *out, const unsigned char *p, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		if (attr_char(p[i])) {
			r = buf_putc(out, p[i]);
		} else {
			char esc[3] = { '%', cte_hex_digits[p[i] >> 4], cte_hex_digits[p[i] & 15] };

			r = buf_append(out, esc, 3);
		}
	}
	return r;
}

int rfc2231_encode_param(const char *name, const char *value, size_t len,
			 const struct charset_info *cs, const char *eol, struct buf *out)
{
	/* Each section sits on its own line after one leading space and is
	 * followed by ';' (except the last): 1 + section + 1 <= 78. */
	const size_t section_max = LINE_MAX_COLS - 2;
	const unsigned char *p = (const unsigned char *)value;
	enum width_class w;
	size_t head, i, section;
	char num[24];

	if (name == NULL || cs == NULL || eol == NULL || (value == NULL && len > 0))
		return -1;
	if ((w = width_class_of(cs)) == W_UNSUPPORTED && bytes_have_8bit(value, len))
		return -1;
	if (w == W_UNSUPPORTED)
		w = W_SINGLE;
	/* One section when it fits. */
	head = strlen(name) + 2 + strlen(cs->mime_name) + 2;
	if (head + pct_cost(p, len) <= section_max) {
		if (buf_printf(out, "%s*=%s''", name, cs->mime_name) < 0 || pct_append(out, p, len) < 0)
			return -1;
		return 0;
	}
	for (i = 0, section = 0; i < len || section == 0; section++) {
		size_t used, start = i;

		snprintf(num, sizeof(num), "%zu", section);
		used = strlen(name) + 1 + strlen(num) + 2;	/* name*N*= */
		if (section == 0)
			used += strlen(cs->mime_name) + 2;
		if (section > 0 && buf_printf(out, ";%s ", eol) < 0)
			return -1;
		if (buf_printf(out, "%s*%s*=", name, num) < 0 ||
		    (section == 0 && buf_printf(out, "%s''", cs->mime_name) < 0))
			return -1;
		while (i < len) {
			size_t l = char_len(w, p + i, len - i), c = pct_cost(p + i, l);

			if (used + c > section_max)
				break;
			used += c;
			i += l;
		}
		if (i == start && i < len)
			return -1;
		if (pct_append(out, p + start, i - start) < 0)
			return -1;
		if (section > 10000)
			return -1;
	}
	return 0;
}

/*
 * The one table of header names whose raw 8-bit text we may turn into
 * encoded-words (RFC 2047 section 5), and how.  Address headers: encoded-words
 * only in a display name or comment ("phrase"); RFC 2047 5(3) allows them in
 * any header that carries addresses with phrases, so the RFC 5322 address
 * fields (3.6.2, 3.6.3, 3.6.6 including Resent-Bcc), the obsolete
 * Resent-Reply-To (RFC 822) and the common non-standard address lists
 * (Mail-Followup-To, Mail-Reply-To, Errors-To, Apparently-To, Return-Receipt-To,
 * Disposition-Notification-To of RFC 8098) are all encodable.  Unstructured
 * fields (RFC 5322 3.6.5 Subject, Comments, Keywords -- a phrase list; RFC 2045
 * Content-Description; Organization, Summary, Thread-Topic, the mailer
 * fields): any text.  Every X- field counts as unstructured (below).  Other
 * structured fields (Message-ID, Received, Date, List-*...) never are.
 */
static const struct {
	const char *name;
	enum rfc2047_kind kind;
} encodable_headers[] = {
	{ "subject", RFC2047_UNSTRUCTURED }, { "comments", RFC2047_UNSTRUCTURED },
	{ "keywords", RFC2047_UNSTRUCTURED }, { "content-description", RFC2047_UNSTRUCTURED },
	{ "organization", RFC2047_UNSTRUCTURED }, { "thread-topic", RFC2047_UNSTRUCTURED },
	{ "summary", RFC2047_UNSTRUCTURED }, { "user-agent", RFC2047_UNSTRUCTURED },
	{ "from", RFC2047_ADDRESS }, { "to", RFC2047_ADDRESS }, { "cc", RFC2047_ADDRESS },
	{ "bcc", RFC2047_ADDRESS }, { "reply-to", RFC2047_ADDRESS }, { "sender", RFC2047_ADDRESS },
	{ "resent-from", RFC2047_ADDRESS }, { "resent-to", RFC2047_ADDRESS },
	{ "resent-cc", RFC2047_ADDRESS }, { "resent-bcc", RFC2047_ADDRESS },
	{ "resent-sender", RFC2047_ADDRESS }, { "resent-reply-to", RFC2047_ADDRESS },
	{ "return-receipt-to", RFC2047_ADDRESS }, { "disposition-notification-to", RFC2047_ADDRESS },
	{ "mail-followup-to", RFC2047_ADDRESS }, { "mail-reply-to", RFC2047_ADDRESS },
	{ "errors-to", RFC2047_ADDRESS }, { "apparently-to", RFC2047_ADDRESS },
};

/* The table row of header_name, or -1 when it has none. */
static int header_row(const char *header_name)
{
	size_t i;

	if (header_name == NULL)
		return -1;
	for (i = 0; i < ARRAY_LEN(encodable_headers); i++)
		if (ascii_strcasecmp(header_name, encodable_headers[i].name) == 0)
			return (int)i;
	return -1;
}

enum rfc2047_kind rfc2047_kind_of(const char *header_name)
{
	int row = header_row(header_name);

	return row >= 0 ? encodable_headers[row].kind : RFC2047_UNSTRUCTURED;
}

bool rfc2047_header_encodable(const char *header_name)
{
	return header_row(header_name) >= 0 ||
	    (header_name != NULL && ascii_strncasecmp(header_name, "x-", 2) == 0);
}
