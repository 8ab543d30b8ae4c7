/*
 * analyze.h -- what the bytes of one text part (or header) say about their charset.
 *
 * A text_analysis is fed the raw body bytes of a leaf part as the scanner
 * streams them (mime_body_fn), undoes the transfer encoding on the fly
 * (quoted-printable, base64; both in O(1) state, tolerant of junk: a bad
 * base64 character or a broken =XX escape is counted, not fatal) and
 * collects, in one pass and bounded memory:
 *   - a 256-entry byte histogram of the decoded text (lets the planner test
 *     any single-byte charset for decodability without another pass);
 *   - incremental UTF-8 validity, and whether any byte is >= 0x80, in
 *     0x80-0x9F (C1), NUL;
 *   - 7-bit legacy escape sequences: ISO-2022-JP (ESC $ B, ESC $ @, ESC ( J,
 *     ESC ( B), ISO-2022-KR (ESC $ ) C), HZ ("~{" ... "~}");
 *   - a bounded sample of the decoded text (the first ANALYZE_SAMPLE bytes)
 *     for the statistical detector and for multi-byte decodability checks; when
 *     the text is longer, `sample_complete` is false and a full check must
 *     re-read the part;
 *   - for text/html, the charset named by a <meta charset=...> or
 *     <meta http-equiv="Content-Type" content="...; charset=..."> in the first
 *     bytes.
 *   - the decoded text's line ending style and longest line (for CTE choice).
 */
#ifndef CPM_ANALYZE_H
#define CPM_ANALYZE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include "mime.h"
#include "charset.h"
#include "cte.h"

#define ANALYZE_SAMPLE	(64 * 1024)



#define ANALYZE_META_MAX 4

struct text_analysis {
	enum mime_cte cte;		/* how the input is encoded */
	uint64_t decoded_len;
	uint64_t hist[256];
	uint64_t high_bytes;		/* decoded bytes >= 0x80 */
	bool has_8bit;			/* any decoded byte >= 0x80 */
	bool has_c1;			/* any decoded byte 0x80-0x9F */
	bool has_nul;
	bool has_esc;			/* any 0x1B */
	bool iso2022jp, iso2022kr, hz;	/* escape sequences of that encoding seen */
	bool iso2022jp_ext;		/* ESC $ ( B, ESC $ ( D or ESC ( I: forms glibc's
					 * ISO-2022-JP passes through unconverted */
	struct utf8_state utf8;
	bool decode_errors;		/* bad base64/QP seen (content kept as best effort) */
	char html_meta_charset[64];	/* "" when none found */
	/* where each <meta> charset token of the first KB sits in the decoded
	 * text, in order (transcoding rewrites them) */
	size_t html_meta_at[ANALYZE_META_MAX], html_meta_len[ANALYZE_META_MAX];
	size_t html_meta_n;
	unsigned char *sample;		/* decoded bytes [0, sample_len); owned */
	size_t sample_len;
	bool sample_complete;		/* sample holds the whole decoded text */
	size_t max_decoded_line;	/* longest decoded line excluding EOL */
	size_t max_utf8_line;		/* bound of the longest line in UTF-8, when the
					 * charset is ASCII-compatible (8-bit byte <= 3) */
	/* private state */
	struct cte_decoder dec;
	int esc_state; bool in_hz; bool hz_tilde; bool is_html;
	size_t cur_line, cur_utf8_line; bool last_cr;
	size_t sample_cap;
	bool finished;			/* text_analysis_finish was called */
	char html_scan[1024]; size_t html_scan_len;
};

/* The flags (has_8bit, has_c1, has_nul, has_esc), max_decoded_line, max_utf8_line and
 * html_meta_charset are valid after text_analysis_finish; hist, decoded_len,
 * the escape flags and the sample are kept up to date while feeding. */
void text_analysis_init(struct text_analysis *ta, enum mime_cte cte, bool is_html);
/* Raw (encoded) bytes of the part, any chunking. */
void text_analysis_feed(struct text_analysis *ta, const char *data, size_t len);
void text_analysis_finish(struct text_analysis *ta);
void text_analysis_free(struct text_analysis *ta);

/* Analyse bytes that are already decoded (a header value). */
void text_analysis_of_bytes(struct text_analysis *ta, const char *data, size_t len);

bool text_analysis_is_ascii(const struct text_analysis *ta);	/* no 8-bit, no ESC legacy */
bool text_analysis_utf8_ok(const struct text_analysis *ta);
/* Histogram check: every byte present is defined in single-byte charset cs
 * (charset_byte_defined).  False for a charset that is not single-byte: ask
 * the decodability oracle for those. */
bool text_analysis_sbcs_decodes(const struct text_analysis *ta, const struct charset_info *cs);

#endif
