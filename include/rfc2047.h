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
 *
 * Details of this implementation:
 *   - Decoding is lenient where mail clients are: encoded-words are found
 *     anywhere (also inside quotes or glued to text), charset and encoding
 *     letters are case-insensitive, "*lang" (RFC 2231) is ignored, missing
 *     base64 padding is tolerated.  Adjacent words in one charset are joined
 *     before conversion, so a character split across words still decodes.
 *     A word with an unknown charset, a bad escape, or bytes that do not
 *     decode stays literal.  Literal text is unfolded (CR/LF dropped).
 *   - Encoding: Q is used unless B packs more characters into the word or
 *     is more than 1/8 shorter; Q uses only the phrase-safe characters of
 *     RFC 2047 5(3) so the same words are valid in Subject, phrases and
 *     comments.  Character boundaries come from the charset's lead-byte
 *     structure (utf-8, shift_jis, euc-jp, gbk, gb18030, big5, euc-kr, and
 *     all single-byte charsets); stateful or non-ASCII-compatible charsets
 *     (iso-2022-*, utf-16) are refused (-1) when the value has 8-bit bytes.
 *     Only a complete, well-formed sequence counts as one character; broken
 *     ones are single bytes, so a character never reaches over CR, LF or
 *     white space, and no CR or LF ever goes into an encoded-word.
 *     Literal text is kept, but may be folded at its existing white space
 *     (eol inserted before it, or inside a long run of it, so that
 *     unfolding gives the same white space) when a line would pass 78;
 *     no line is made of white space only.  White space too long to leave
 *     room for an encoded-word after it is partly encoded into the word.
 *     Tokens glued without white space are kept on one line when they fit.
 *     Existing folds are kept, except between words of one encoded run and
 *     inside an encoded quoted-string or comment word (unfolded there).  In address headers: <...>, [...], words holding '@' and
 *     specials stay literal; an 8-bit quoted-string loses its quotes and its
 *     whole (unescaped) content is encoded; 8-bit words in comments are
 *     encoded inside the parentheses.  One pass, memory bounded by out->max.
 *   - RFC 2231: attribute-chars stay literal, the rest is %XX; sections never
 *     split a character; each section line is <= 78 with its leading space
 *     and trailing ';'.
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

/* The same for text already converted to UTF-8 (utf8[0..len)), written as
 * encoded-words labelled `target` whose payload is the text converted into
 * target (charset_encode_utf8: each word starts and ends in target's initial
 * shift state, so the iso-2022 charsets, which rfc2047_encode_header refuses,
 * work here).  Tokenising, phrase rules, folding and word limits are those
 * of rfc2047_encode_header on the UTF-8 text (which is ASCII-compatible:
 * the stateful charset's bytes can no longer look like address syntax).
 * Only B encoding.  -1 when a character has no representation in target. */
int rfc2047_encode_header_as(const char *utf8, size_t len, const struct charset_info *target,
			     struct charset_conv *cv, enum rfc2047_kind kind, size_t start_col,
			     const char *eol, struct buf *out);

/* Encode a parameter `name` with raw value bytes in cs as RFC 2231:
 * writes "name*=charset''%.." or continuations, each section on its own
 * folded line ("; " EOL " " separators are written by the caller between
 * parameters; continuation sections are separated by ";" eol " ").  The
 * output starts with the first section's name, no leading "; ". */
int rfc2231_encode_param(const char *name, const char *value, size_t len,
			 const struct charset_info *cs, const char *eol, struct buf *out);

/* Which kind a header name is (from the one header table in rfc2047.c;
 * names not in it are unstructured). */
enum rfc2047_kind rfc2047_kind_of(const char *header_name);
/* Whether raw 8-bit text in this header may become encoded-words: the
 * table's names and every X- field. */
bool rfc2047_header_encodable(const char *header_name);

#endif
