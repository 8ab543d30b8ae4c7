/*
 * cte.h -- the transfer encodings (RFC 2045): base64, quoted-printable and
 * the hex digits both they and the encoded-words (rfc2047.c) and RFC 2231
 * parameters (mimeparam.c) use.  One module, so that there is one alphabet
 * table, one decoder and one encoder:
 *   - cte_decoder: streaming decode of a body (any chunking, O(1) state,
 *     tolerant of junk);
 *   - cte_encoder: streaming encode of text for the writer (output.c), with
 *     76-column base64 lines and quoted-printable soft breaks;
 *   - the tables and cte_b64_group() for the encoded-word codec, which
 *     frames its own words.
 */
#ifndef CPM_CTE_H
#define CPM_CTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime.h"

/* The base64 alphabet (RFC 2045 table 1) and the upper-case hex digits. */
extern const char cte_b64_alphabet[65];
extern const char cte_hex_digits[17];

/* cte_b64_values[c]: the alphabet value 0..63 of byte c, or one of these. */
#define CTE_B64_SKIP	64	/* white space: ignored in a body */
#define CTE_B64_PAD	65	/* '=' */
#define CTE_B64_BAD	66	/* anything else outside the alphabet */
extern const unsigned char cte_b64_values[256];

/* 0..15 for a hex digit of either case, -1 otherwise. */
extern const signed char cte_hex_values[256];
static inline int cte_hex_value(unsigned char c)
{
	return cte_hex_values[c];
}

/* The four characters encoding in[0..n) (1 <= n <= 3), "=" padded. */
void cte_b64_group(const unsigned char *in, size_t n, char out[4]);

/* The streaming decoder, used by the analysis, the decode oracle, the TNEF
 * reader and the transcoder in output.c: feed encoded bytes, get decoded bytes via sink.
 * O(1) state; any chunking of the input gives the same output.
 *   base64: white space is skipped; any other non-alphabet byte, data after
 *     "=" padding that breaks a quantum, or a trailing partial quantum set
 *     `errors` and are skipped (whole bytes decoded so far are kept).
 *   quoted-printable: "=XX" (either hex case) -> byte; "=" at line end
 *     (CRLF, LF, or white space then line end) is a soft break; a broken
 *     escape sets `errors` and its bytes pass through literally; hard line
 *     ends pass through as they came (CRLF or LF).  Trailing white space
 *     before a hard line end is kept (dropping it needs unbounded lookahead).
 *   7bit/8bit/binary/absent/unknown: bytes pass through unchanged. */
struct cte_decoder {
	enum mime_cte cte;
	uint32_t acc; unsigned bits;
	char pend[3]; unsigned npend;
	bool errors;
};
typedef void (*cte_sink_fn)(void *arg, const char *data, size_t len);
void cte_decoder_init(struct cte_decoder *d, enum mime_cte cte);
void cte_decoder_feed(struct cte_decoder *d, const char *data, size_t len, cte_sink_fn sink, void *arg);
void cte_decoder_finish(struct cte_decoder *d, cte_sink_fn sink, void *arg);

/*
 * Streaming encoder: text in (any chunking; CRLF and LF both mean a line
 * break, a bare CR is a character), transfer-encoded text out through put
 * in runs of up to CTE_ENCODER_BUF bytes.
 *   base64: the canonical form is encoded (line breaks as CRLF, RFC 2045
 *     6.8), in lines of 76 characters ended by eol;
 *   quoted-printable: lines of at most 76 characters with "=" soft breaks,
 *     "=", controls and 8-bit bytes as =XX, white space before a line break
 *     encoded (RFC 2045 6.7 rule 3);
 *   7bit, 8bit, binary, absent: the text with its line breaks written as eol.
 * eol is the part's own line ending: CRLF when crlf, else LF.
 */
#define CTE_ENCODER_BUF	4096
typedef void (*cte_put_fn)(void *arg, const char *data, size_t len);
struct cte_encoder {
	cte_put_fn put;
	void *arg;
	enum mime_cte cte;
	const char *eol;
	size_t eol_len;
	bool pending_cr;	/* a CR whose LF may follow in the next chunk */
	size_t col;		/* quoted-printable: column */
	int pending_ws;		/* a space/tab not yet written (-1 none) */
	unsigned char b64[3];	/* base64: bytes of the open quantum */
	size_t b64n, b64col;
	bool at_line_start;	/* the last thing written was a line break */
	size_t len;		/* bytes in buf */
	char buf[CTE_ENCODER_BUF];
};
void cte_encoder_init(struct cte_encoder *e, enum mime_cte cte, bool crlf, cte_put_fn put, void *arg);
void cte_encoder_text(struct cte_encoder *e, const char *data, size_t len);
/* End of text.  orig_ended_eol: the replaced range ended with a line break,
 * which the structure around it (end of message, next field) relies on;
 * one is written unless the text itself ended with one.  Flushes. */
void cte_encoder_finish(struct cte_encoder *e, bool orig_ended_eol);

#endif
