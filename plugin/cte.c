/*
 * cte.c -- base64 and quoted-printable, decoding and encoding.  See cte.h.
 *
 * Speed matters on both sides: the decoder runs over every encoded text
 * part (fast paths for whole base64 quanta and complete =XX escapes), the
 * encoder over every transcoded one (output gathered in the encoder's own
 * buffer, so the writer's sink is called per run, not per byte).
 */
#include "config.h"

#include <string.h>

#include "cte.h"

const char cte_b64_alphabet[65] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const char cte_hex_digits[17] = "0123456789ABCDEF";

void cte_b64_group(const unsigned char *in, size_t n, char out[4])
{
	uint32_t v = (uint32_t)in[0] << 16;

	if (n > 1)
		v |= (uint32_t)in[1] << 8;
	if (n > 2)
		v |= in[2];
	out[0] = cte_b64_alphabet[(v >> 18) & 63];
	out[1] = cte_b64_alphabet[(v >> 12) & 63];
	out[2] = n > 1 ? cte_b64_alphabet[(v >> 6) & 63] : '=';
	out[3] = n > 2 ? cte_b64_alphabet[v & 63] : '=';
}

/* ---- decoding ------------------------------------------------------------------ */

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

const unsigned char cte_b64_values[256] = {
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
			unsigned a = cte_b64_values[p[i]], b = cte_b64_values[p[i + 1]];
			unsigned c = cte_b64_values[p[i + 2]], e = cte_b64_values[p[i + 3]];

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
		unsigned char v = cte_b64_values[p[i++]];

		if (v < 64) {
			d->acc = (d->acc << 6) | v;
			d->bits += 6;
			if (d->bits >= 8) {
				d->bits -= 8;
				out_byte(o, (char)((d->acc >> d->bits) & 0xff));
			}
		} else if (v == CTE_B64_PAD) {
			/* "=" ends the quantum; one with only 6 bits pending is broken. */
			if (d->bits == 6)
				d->errors = true;
			d->bits = 0;
			d->acc = 0;
		} else if (v == CTE_B64_BAD) {
			d->errors = true;
		}
	}
}

const signed char cte_hex_values[256] = {
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
		if (cte_hex_value(c) >= 0) {
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
	int hi = cte_hex_value((unsigned char)d->pend[1]), lo = cte_hex_value(c);
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
			int hi = cte_hex_value(p[i + 1]), lo = cte_hex_value(p[i + 2]);
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

/* ---- encoding ------------------------------------------------------------------ */

static void enc_flush(struct cte_encoder *e)
{
	if (e->len > 0)
		e->put(e->arg, e->buf, e->len);
	e->len = 0;
}

static inline void enc_put(struct cte_encoder *e, const char *p, size_t n)
{
	if (e->len + n > sizeof(e->buf)) {
		enc_flush(e);
		if (n > sizeof(e->buf)) {
			e->put(e->arg, p, n);
			return;
		}
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

void cte_encoder_init(struct cte_encoder *e, enum mime_cte cte, bool crlf, cte_put_fn put, void *arg)
{
	e->put = put;
	e->arg = arg;
	e->cte = cte == CTE_ABSENT || cte == CTE_7BIT || cte == CTE_BINARY ? CTE_8BIT : cte;
	e->eol = crlf ? "\r\n" : "\n";
	e->eol_len = crlf ? 2 : 1;
	e->pending_cr = false;
	e->col = 0;
	e->pending_ws = -1;
	e->b64n = e->b64col = 0;
	e->at_line_start = true;
	e->len = 0;
}

static void enc_b64_group(struct cte_encoder *e, size_t n)
{
	char q[4];

	cte_b64_group(e->b64, n, q);
	enc_put(e, q, 4);
	e->b64col += 4;
	e->b64n = 0;
	if (e->b64col >= 76) {
		enc_put(e, e->eol, e->eol_len);
		e->b64col = 0;
		e->at_line_start = true;
	} else {
		e->at_line_start = false;
	}
}

static void enc_b64_bytes(struct cte_encoder *e, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		e->b64[e->b64n++] = p[i];
		if (e->b64n == 3)
			enc_b64_group(e, 3);
	}
}

static void enc_qp_soft_break(struct cte_encoder *e, size_t need)
{
	if (e->col + need > 75) {
		enc_put(e, "=", 1);
		enc_put(e, e->eol, e->eol_len);
		e->col = 0;
	}
}

static void enc_qp_encoded(struct cte_encoder *e, unsigned char c)
{
	char q[3] = { '=', cte_hex_digits[c >> 4], cte_hex_digits[c & 15] };

	enc_qp_soft_break(e, 3);
	enc_put(e, q, 3);
	e->col += 3;
}

static void enc_qp_flush_ws(struct cte_encoder *e, bool before_break)
{
	if (e->pending_ws < 0)
		return;
	if (before_break) {
		enc_qp_encoded(e, (unsigned char)e->pending_ws);
	} else {
		char c = (char)e->pending_ws;

		enc_qp_soft_break(e, 1);
		enc_put(e, &c, 1);
		e->col++;
	}
	e->pending_ws = -1;
}

static void enc_qp_byte(struct cte_encoder *e, unsigned char c)
{
	enc_qp_flush_ws(e, false);
	if (c == ' ' || c == '\t') {
		e->pending_ws = c;
	} else if (c >= 33 && c <= 126 && c != '=') {
		char ch = (char)c;

		enc_qp_soft_break(e, 1);
		enc_put(e, &ch, 1);
		e->col++;
	} else {
		enc_qp_encoded(e, c);
	}
	e->at_line_start = false;
}

static void enc_line_break(struct cte_encoder *e)
{
	switch (e->cte) {
	case CTE_BASE64:
		enc_b64_bytes(e, (const unsigned char *)"\r\n", 2);
		return;
	case CTE_QP:
		enc_qp_flush_ws(e, true);
		e->col = 0;
		break;
	default:
		break;
	}
	enc_put(e, e->eol, e->eol_len);
	e->at_line_start = true;
}

/* A run of text bytes containing no CR or LF. */
static void enc_run(struct cte_encoder *e, const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	switch (e->cte) {
	case CTE_BASE64:
		enc_b64_bytes(e, (const unsigned char *)p, n);
		break;
	case CTE_QP:
		for (i = 0; i < n; i++)
			enc_qp_byte(e, (unsigned char)p[i]);
		break;
	default:
		enc_put(e, p, n);
		e->at_line_start = false;
		break;
	}
}

void cte_encoder_text(struct cte_encoder *e, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (e->pending_cr) {
			e->pending_cr = false;
			if (p[i] == '\n') {
				enc_line_break(e);
				i++;
				continue;
			}
			enc_run(e, "\r", 1);	/* a bare CR is kept as a character */
		}
		/* the next line end, found by memchr: a byte loop here was a fifth
		 * of a large transcode's time (it reloads e->pending_cr per byte,
		 * since p may alias e) */
		const char *lf = memchr(p + i, '\n', n - i);
		size_t stop = lf != NULL ? (size_t)(lf - p) : n;
		const char *cr = memchr(p + i, '\r', stop - i);
		size_t end = cr != NULL ? (size_t)(cr - p) : stop;

		enc_run(e, p + i, end - i);
		if (end == n)
			return;
		if (p[end] == '\r')
			e->pending_cr = true;
		else
			enc_line_break(e);
		i = end + 1;
	}
}

/* What a finished text still owes: a partial base64 quantum, pending white
 * space, and the line break the replaced range ended with. */
static void enc_close(struct cte_encoder *e, bool orig_ended_eol)
{
	if (e->pending_cr) {
		e->pending_cr = false;
		enc_run(e, "\r", 1);
	}
	switch (e->cte) {
	case CTE_BASE64:
		if (e->b64n > 0)
			enc_b64_group(e, e->b64n);
		if (orig_ended_eol && !e->at_line_start)
			enc_put(e, e->eol, e->eol_len);
		return;
	case CTE_QP:
		enc_qp_flush_ws(e, true);
		if (orig_ended_eol && !e->at_line_start) {
			enc_put(e, "=", 1);	/* soft break: adds no text */
			enc_put(e, e->eol, e->eol_len);
		}
		return;
	default:
		if (orig_ended_eol && !e->at_line_start)
			enc_put(e, e->eol, e->eol_len);
		return;
	}
}

void cte_encoder_finish(struct cte_encoder *e, bool orig_ended_eol)
{
	enc_close(e, orig_ended_eol);
	enc_flush(e);
}
