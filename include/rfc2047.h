/*
 * rfc2047.h -- header text encoding: RFC 2047 encoded-words and RFC 2231 parameters.
 *
 * Decoding: rfc2047_decode() turns a header value with encoded-words into
 * UTF-8 (for display in reports and for tests), rejecting malformed words
 * (they stay literal) and joining adjacent encoded-words separated only by
 * white space (RFC 2047 section 6.2).
 *
 * Encoding: rfc2047_encode_text() turns raw header text, whose bytes are in
 * charset cs, into a sequence of encoded-words, each at most 75 characters
 * (RFC 2047 section 2), separated by folding (EOL + one space) so that no
 * output line passes 78 characters given the column where the value starts.
 * A multi-byte character is never split across two words.  Encoding "Q" or
 * "B" is chosen per run for the shorter result.  ASCII words that need no
 * encoding stay literal; only runs containing 8-bit bytes (plus the white space
 * between adjacent such words) are encoded, so "Re: Grüße" becomes
 * "Re: =?windows-1252?Q?Gr=FC=DFe?=".  Structured headers (From, To, Cc...)
 * are encoded phrase by phrase: only display names and comments are encoded,
 * addresses inside <...> and quoted-string delimiters are handled per RFC 2047
 * section 5 (an encoded-word never stands inside a quoted-string: the quotes
 * are dropped around a phrase that gets encoded).
 *
 * RFC 2231: rfc2231_encode_param() writes name*=charset''%XX... with
 * continuations name*0*=, name*1*= when the line would pass 78 characters.
 *
 * Everything returns the output in a struct buf owned by the caller; errors
 * (limits, bad input) return -1 and leave the buffer unspecified.
 */
#ifndef CPM_RFC2047_H
#define CPM_RFC2047_H

#include <stddef.h>
#include <stdbool.h>
#include "buf.h"
#include "charset.h"

/* Decode value[0..len) to UTF-8 into out.  Raw 8-bit outside encoded-words is
 * decoded as `raw_cs` (NULL: copied as is).  Returns the number of
 * encoded-words decoded, or -1 when out's limit was reached. */
int rfc2047_decode(const char *value, size_t len, const struct charset_info *raw_cs,
		   struct charset_conv *cv, struct buf *out);

/* True when value contains at least one syntactically valid encoded-word. */
bool rfc2047_has_encoded_word(const char *value, size_t len);

enum rfc2047_kind {
	RFC2047_UNSTRUCTURED,	/* Subject, Comments, Keywords, X-*: any text */
	RFC2047_ADDRESS,	/* From, To, Cc, Bcc, Reply-To, Sender...: phrases only */
};

/* Encode value[0..len) (raw bytes in cs) as described above.
 *   start_col: the column where the value starts (name length + 2 for
 *              "Subject: "); used to fold so that no line passes 78 columns.
 *   eol: "\r\n" or "\n", used in folding.
 * The output keeps a leading space if the input had one.  If the value has no
 * 8-bit byte, the output equals the input. */
int rfc2047_encode_header(const char *value, size_t len, const struct charset_info *cs,
			  enum rfc2047_kind kind, size_t start_col, const char *eol,
			  struct buf *out);

/* Encode a parameter `name` with raw value bytes in cs as RFC 2231:
 * writes "name*=charset''%.." or continuations, each section on its own
 * folded line ("; " EOL " " separators are written by the caller between
 * parameters; continuation sections are separated by ";" eol " ").  The
 * output starts with the first section's name, no leading "; ". */
int rfc2231_encode_param(const char *name, const char *value, size_t len,
			 const struct charset_info *cs, const char *eol, struct buf *out);

/* Which kind a header name is. */
enum rfc2047_kind rfc2047_kind_of(const char *header_name);

#endif
