/*
 * charset.h -- charset names and conversion: what a label means, and whether bytes decode.
 *
 * The registry maps every label a mail system may write (IANA names and
 * aliases, Windows code page numbers "1252"/"cp1252"/"windows-1252", vendor
 * labels such as ks_c_5601-1987, x-sjis, cp-850) to one canonical charset,
 * described by struct charset_info: its preferred MIME name (what we write
 * into a label), the iconv name whose mapping matches what mail clients use,
 * and its family and properties.  Lookup is case-insensitive and ignores
 * surrounding white space and quotes.
 *
 * Relabelling rules (WHATWG Encoding Standard, and the habit of mail
 * clients): a label that says us-ascii or iso-8859-1 on text with bytes
 * 0x80-0x9F really means windows-1252; iso-8859-9 -> windows-1254;
 * tis-620/iso-8859-11 -> windows-874; gb2312 -> GBK; ks_c_5601-1987/euc-kr ->
 * CP949.  charset_superset() answers that question for the planner.
 *
 * Conversion goes through iconv; charset_decodes() reports whether a byte
 * string decodes completely and, if not, where it fails.  Conversion
 * descriptors are cached per thread-free caller object (struct charset_conv)
 * because iconv_open is expensive.  Nothing here allocates per byte.
 *
 * Facts and choices (plugin/charset.c has the reasons):
 *   - Converters: shift_jis/cp932/windows-31j -> glibc "CP932" (0x5C/0x7E
 *     are ASCII, NEC/IBM extensions decode; glibc SHIFT_JIS has neither);
 *     euc-jp -> "EUC-JP-MS"; gb2312/gbk -> "GBK"; euc-kr/ks_c_5601-1987 ->
 *     "CP949"; big5 -> "CP950".  hz-gb-2312 needs GNU libiconv ("HZ"):
 *     charset_iconv_ok() is false for it on glibc.  cp50220-50222 map to
 *     ISO-2022-JP; glibc does not decode their NEC extensions.
 *   - Preferred MIME names written into labels: "shift_jis", "euc-kr",
 *     "gb2312" when the bytes decode under glibc's converter of exactly that
 *     name (strict Shift_JIS, KS X 1001, EUC-CN); "windows-31j", "cp949",
 *     "gbk" when they need the vendor extensions (charset_label_for() picks,
 *     see there for why these names); "big5" (glibc's BIG5 decodes what
 *     CP950 does), "ibm437"/"ibm850"/"ibm852"/"ibm866", "macintosh".
 *   - "Decodes" is stricter than glibc for multi-byte charsets whose glibc
 *     converter passes stray bytes 0x80-0x9F through as C1 controls
 *     (EUC-JP-MS, CP950, BIG5-HKSCS): such a byte is a failure.  For
 *     single-byte charsets it is exactly glibc's table (iso-8859-x map
 *     0x80-0x9F to C1 controls and thus "decode"; charset_superset() is
 *     where iso-8859-1 + C1 becomes windows-1252).
 *   - Single-byte decodability uses a 256-bit map per charset built once
 *     (pthread_once) from iconv; UTF-8 uses the validator below (no iconv).
 *   - A stream borrows its charset's descriptor from the charset_conv for its
 *     lifetime, so charset_decodes() on the same cv meanwhile is safe.
 *   - Thread safety: registry and the lazily computed facts are shared and
 *     safe; a charset_conv (and its streams) belongs to one thread at a time.
 *   - Lookup: labels compare on lowercase letters and digits only
 *     ("ISO_8859-1" == "iso8859-1"); code page forms "1252", "cp1252",
 *     "cp-1252", "windows-1252", "win-1252", "ms932", "ibm850", "dos-866";
 *     an "x-" prefix on any known label is accepted; labels over 63 bytes
 *     are unknown.
 */
#ifndef CPM_CHARSET_H
#define CPM_CHARSET_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum charset_family {
	CSF_ASCII,		/* us-ascii */
	CSF_UTF,		/* utf-8, utf-16*, utf-7 */
	CSF_WESTERN,		/* windows-1252, iso-8859-1/15, cp437, cp850, macintosh */
	CSF_CENTRAL,		/* windows-1250, iso-8859-2, cp852 */
	CSF_CYRILLIC,		/* windows-1251, koi8-r, koi8-u, iso-8859-5, cp866 */
	CSF_GREEK,		/* windows-1253, iso-8859-7 */
	CSF_TURKISH,		/* windows-1254, iso-8859-9 */
	CSF_HEBREW,		/* windows-1255, iso-8859-8 */
	CSF_ARABIC,		/* windows-1256, iso-8859-6 */
	CSF_BALTIC,		/* windows-1257, iso-8859-4/13 */
	CSF_VIETNAMESE,		/* windows-1258 */
	CSF_THAI,		/* windows-874 */
	CSF_JAPANESE,		/* shift_jis/cp932, euc-jp, iso-2022-jp */
	CSF_CHINESE_SIMP,	/* gbk, gb18030, hz-gb-2312 */
	CSF_CHINESE_TRAD,	/* big5 */
	CSF_KOREAN,		/* cp949/euc-kr, iso-2022-kr */
	CSF_OTHER
};

#define CSP_SINGLE_BYTE	0x01	/* one byte per character */
#define CSP_MULTI_BYTE	0x02	/* variable-width 8-bit (sjis, gbk, euc, big5, utf-8) */
#define CSP_7BIT_STATEFUL 0x04	/* 7-bit escape-based (iso-2022-*, hz, utf-7) */
#define CSP_ASCII_COMPAT 0x08	/* bytes 0x00-0x7F mean ASCII */
#define CSP_NO_LABEL	0x10	/* a label that names no real charset (unknown-8bit, x-user-defined) */
#define CSP_LABEL	0x20	/* a label row: a family row's converter under a wider name
				 * (windows-31j, cp949, gbk); never a detection candidate */

struct charset_info {
	const char *mime_name;	/* preferred name for a MIME label, e.g. "windows-1252" */
	const char *iconv_name;	/* name passed to iconv_open, e.g. "CP1252" */
	enum charset_family family;
	unsigned props;		/* CSP_* */
	uint16_t codepage;	/* Windows code page number, 0 if none */
};

/* The same charset (by pointer or MIME name); false when either is NULL. */
bool charset_same(const struct charset_info *a, const struct charset_info *b);

/* Look a label up.  Returns NULL for a label that names no known charset
 * (and for the CSP_NO_LABEL pseudo-labels, which charset_is_placeholder()
 * recognises).  The returned pointer is static. */
const struct charset_info *charset_lookup(const char *label);
const struct charset_info *charset_lookup_n(const char *label, size_t len);
/*
 * A label that names a known charset, but not by a name every receiver is
 * sure to know: Windows code page forms ("1252", "cp1251", "win-1250",
 * "x-cp1252"), vendor names (ks_c_5601-1987, x-sjis, ms_kanji) and the alias
 * rows flagged so in charset.c.  False for MIME names in any case, their
 * common aliases (latin1, iso8859-1, shift-jis...) and unknown labels.
 */
bool charset_label_nonstandard(const char *label);
bool charset_is_placeholder(const char *label);	/* unknown-8bit, x-unknown, x-user-defined, "" */
/* By Windows code page number (1252 -> windows-1252), NULL if unknown. */
const struct charset_info *charset_by_codepage(unsigned cp);
/* The charset a reader would really apply to text labelled `declared` that
 * contains the given byte evidence: windows-1252 for iso-8859-1/us-ascii with
 * C1 bytes, cp949 for euc-kr, gbk for gb2312, windows-1254 for iso-8859-9,
 * windows-874 for tis-620.  Returns `declared` when no rule applies. */
const struct charset_info *charset_superset(const struct charset_info *declared, bool has_c1);
/* True when iconv on this system accepts the charset (checked once, cached). */
bool charset_iconv_ok(const struct charset_info *cs);
/* Iterate over the registry's distinct charsets (for tests and -x listings). */
size_t charset_count(void);
const struct charset_info *charset_at(size_t i);

/* For single-byte charsets: true when byte b has a mapping (e.g. 0x81 does not
 * in windows-1252).  Lets a part's byte histogram be checked without another
 * pass.  For other charsets returns true. */
bool charset_byte_defined(const struct charset_info *cs, unsigned char b);

/* ---- conversion --------------------------------------------------------------- */

struct buf;
struct charset_conv;	/* cached iconv descriptors, one owner, not thread-shared */

struct charset_conv *charset_conv_new(void);
void charset_conv_free(struct charset_conv *cv);

/* Does data[0..len) decode completely under cs?  On failure *bad_offset is
 * the offset of the first undecodable byte.  The data is complete: an
 * incomplete trailing multi-byte sequence is an error. */
bool charset_decodes(struct charset_conv *cv, const struct charset_info *cs,
		     const char *data, size_t len, size_t *bad_offset);

/* Streaming conversion from cs to UTF-8.  Begin, feed any chunking, end.
 * Output goes to the sink; returns 0, or -1 when the input does not decode
 * (offset of the failure in *bad_offset, counted from the first byte fed). */
typedef int (*charset_sink_fn)(void *arg, const char *data, size_t len);
struct charset_stream;
struct charset_stream *charset_stream_begin(struct charset_conv *cv, const struct charset_info *cs,
					    charset_sink_fn sink, void *arg);
int charset_stream_feed(struct charset_stream *st, const char *data, size_t len);
int charset_stream_end(struct charset_stream *st, size_t *bad_offset);	/* frees st */
/* The same stream giving the sink code points, each a uint32_t in host byte
 * order (len a multiple of 4), through one glibc step instead of two (or
 * the byte map).  A stream with a NULL sink (a decode check) takes this
 * form by itself. */
struct charset_stream *charset_stream_begin_ucs4(struct charset_conv *cv, const struct charset_info *cs,
						 charset_sink_fn sink, void *arg);

/* The other way: complete UTF-8 text utf8[0..len) converted into cs,
 * appended to out, starting and ending in cs's initial shift state (a
 * stateful charset such as iso-2022-jp gets its designation escape first
 * and its return to ASCII last): what one encoded-word of that charset
 * holds.  Returns 0, or -1 when a character has no representation in cs,
 * the UTF-8 is invalid, iconv has no converter, or out's limit was reached. */
int charset_encode_utf8(struct charset_conv *cv, const struct charset_info *cs,
			const char *utf8, size_t len, struct buf *out);
/* And the way in: data[0..len) in cs converted to UTF-8, appended to out.
 * Returns 0, or -1 when it does not decode, iconv has no converter, or
 * out's limit was reached. */
int charset_decode_utf8(struct charset_conv *cv, const struct charset_info *cs,
			const char *data, size_t len, struct buf *out);

/* Streaming conversion under a label exactly as glibc's iconv_open()
 * understands that name (not the registry's converter): "does glibc decode
 * this part under the name we write, or the sender wrote?".  Output that
 * holds a C1 control (U+0080-U+009F) counts as a failure unless the label
 * names a single-byte registry charset: glibc's EUC-KR passes stray bytes
 * 0x80-0xA0 through as C1, which no strict reader does.  NULL when glibc
 * does not know the name.  The failure offset is exact for undecodable
 * input and may lie up to one output chunk early for a C1 failure. */
struct charset_stream *charset_stream_begin_name(struct charset_conv *cv, const char *name,
						 charset_sink_fn sink, void *arg);
/* One-shot form: false also when glibc does not know the name. */
bool charset_name_decodes(struct charset_conv *cv, const char *name,
			  const char *data, size_t len, size_t *bad_offset);

/* ---- which label to write --------------------------------------------------------------
 *
 * The registry's CJK family rows decode with the vendor superset (CP932,
 * CP949, GBK) because that is what WHATWG receivers and Outlook apply, but
 * strict receivers (glibc iconv, Python's codecs, mutt) read "shift_jis",
 * "euc-kr", "gb2312" as the narrow standards and fail on the extensions
 * (NEC/IBM rows, UHC syllables, GBK rows).  charset_label_for(cs) answers
 * "which name do we write for text that decodes under cs": cs itself when
 * glibc decodes the text under cs's own name, else its label row:
 *   shift_jis -> windows-31j (glibc WINDOWS-31J = CP932; WHATWG label of
 *     Shift_JIS; IANA registered.  Python's codecs lack the name -- "ms932"
 *     would satisfy all three but is not IANA registered);
 *   euc-kr -> cp949 (glibc CP949; Python cp949.  No name decodes UHC under
 *     both glibc and WHATWG: WHATWG's are ks_c_5601-1987/windows-949, which
 *     glibc does not know; strict correctness wins, and Korean-locale
 *     WHATWG readers fall back to their EUC-KR = UHC decoder);
 *   gb2312 -> gbk (glibc, Python and WHATWG all decode "gbk" as GBK).
 *   gb18030 -> gb2312 or gbk when no four-byte sequence is needed.
 * (glibc's and Python's GB 2312 read A1A4/A1AA as U+30FB/U+2015 where GBK
 * says U+00B7/U+2014: the same marks to a reader.)
 * Other charsets (and the label rows themselves) are returned unchanged.
 * name_decodes(arg, name) must say whether the whole text decodes under
 * glibc's converter of that name (charset_name_decodes on the full text). */
typedef bool (*charset_name_decodes_fn)(void *arg, const char *name);
const struct charset_info *charset_label_for(const struct charset_info *cs,
					     charset_name_decodes_fn name_decodes, void *arg);
/* True for a label glibc does not know that WHATWG receivers and Outlook
 * decode with exactly cs's converter: the Microsoft Korean labels
 * (ks_c_5601-1987, ks_c_5601-1989, ks_c_5601, ksc5601, ksc_5601,
 * csksc56011987, windows-949) on a CP949 row.  Outlook writes them on
 * nearly all Korean mail; the planner leaves such a label alone when the
 * text decodes under cs. */
bool charset_label_means_superset(const char *label, const struct charset_info *cs);

/* ---- byte-level validators (no iconv) -------------------------------------------- */

/* Incremental UTF-8 validator (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 * Any chunking gives the same answer.  bad_offset (valid when bad) is the
 * offset of the lead byte of the first malformed sequence (or of the stray
 * byte).  ASCII runs are checked eight bytes at a time; measured on a 50 MB
 * buffer: ASCII at memory speed (~13-22 GB/s), Latin mixed ~1.5 GB/s,
 * Cyrillic ~1 GB/s, CJK ~0.8 GB/s (memchr: ~11-27 GB/s). */
struct utf8_state { uint32_t need; uint32_t cp; uint32_t min; bool bad; size_t bad_offset; size_t pos; };
void utf8_init(struct utf8_state *u);
void utf8_feed(struct utf8_state *u, const unsigned char *p, size_t n);
/* True when everything fed is valid and no sequence is left incomplete. */
bool utf8_final_ok(const struct utf8_state *u);
bool utf8_valid(const char *p, size_t n);

#endif
