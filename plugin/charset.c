/*
 * charset.c -- charset registry, relabelling rules, iconv conversion, UTF-8
 * validation.  See charset.h for the contract.
 *
 * Converter choices (glibc 2.36, checked by tests/unit/check_charset.c):
 *   shift_jis family -> "CP932".  glibc's SHIFT_JIS maps 0x5C to U+00A5 and
 *     0x7E to U+203E and rejects the NEC row 13 (circled digits, 0x8740..)
 *     and the IBM extensions (0xED.., 0xFA..); mail clients (Outlook,
 *     Thunderbird, the WHATWG decoder) read 0x5C/0x7E as ASCII and decode the
 *     extensions.  CP932 does both (WINDOWS-31J is the same glibc module).
 *     It decodes the NEC/IBM duplicates; re-encoding them picks one code,
 *     which is fine: we never encode into Shift_JIS.  CP932 reads 0x8160 as
 *     U+FF5E where WHATWG says U+301C (WAVE DASH): same glyph to a reader.
 *   euc-jp -> "EUC-JP-MS" for the same reasons (glibc EUC-JP lacks NEC row
 *     13).  It passes stray 0x80-0x9F through as C1 controls: see c1_pass.
 *   gb2312/gbk/cp936 -> "GBK" (WHATWG: gb2312 means GBK; 0x80 is the euro).
 *   euc-kr/ks_c_5601-1987/cp949 -> "CP949" (UHC; glibc EUC-KR passes lone
 *     0x80-0xA0 through and lacks the UHC extension syllables).
 *   big5/cp950 -> "CP950" (glibc BIG5 and CP950 decode identically).
 *   iso-2022-jp/cp5022x -> "ISO-2022-JP": glibc has no CP5022x, so NEC row
 *     13 inside ESC $ B does not decode (reported as a failure, never
 *     corrupted).
 *   hz-gb-2312 -> "HZ": GNU libiconv has it, glibc does not, so
 *     charset_iconv_ok() is false for it on glibc systems.
 * Preferred MIME names: "gb2312" for the GBK charset (every client knows the
 * label, and every current one -- WHATWG, Outlook -- decodes it as GBK,
 * while "gbk" is unknown to some old readers); "euc-kr" for CP949 (IANA
 * registered, WHATWG decodes it as UHC; "ks_c_5601-1987" is a Microsoft
 * label that strict readers map to the wrong thing); "shift_jis" for CP932.
 *
 * Thread safety: the registry is constant; the lazily computed facts
 * (iconv availability, single-byte maps) are computed once for all charsets
 * under pthread_once, so milter threads may call any function.  A struct
 * charset_conv belongs to one thread at a time.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "charset.h"
#include "util.h"

/* ---- the registry -------------------------------------------------------------- */

#define SB	(CSP_SINGLE_BYTE | CSP_ASCII_COMPAT)
#define MB	(CSP_MULTI_BYTE | CSP_ASCII_COMPAT)
#define ST	CSP_7BIT_STATEFUL

static const struct charset_info charsets[] = {
	/* 0 */ { "us-ascii", "ANSI_X3.4-1968", CSF_ASCII, SB, 20127 },
	{ "utf-8", "UTF-8", CSF_UTF, MB, 65001 },
	{ "utf-16", "UTF-16", CSF_UTF, 0, 0 },
	{ "utf-16le", "UTF-16LE", CSF_UTF, 0, 1200 },
	{ "utf-16be", "UTF-16BE", CSF_UTF, 0, 1201 },
	{ "utf-7", "UTF-7", CSF_UTF, ST, 65000 },
	{ "windows-1252", "CP1252", CSF_WESTERN, SB, 1252 },
	{ "iso-8859-1", "ISO-8859-1", CSF_WESTERN, SB, 28591 },
	{ "iso-8859-15", "ISO-8859-15", CSF_WESTERN, SB, 28605 },
	{ "iso-8859-14", "ISO-8859-14", CSF_WESTERN, SB, 28604 },
	{ "ibm437", "CP437", CSF_WESTERN, SB, 437 },
	{ "ibm850", "CP850", CSF_WESTERN, SB, 850 },
	{ "ibm860", "IBM860", CSF_WESTERN, SB, 860 },
	{ "ibm861", "IBM861", CSF_WESTERN, SB, 861 },
	{ "ibm863", "IBM863", CSF_WESTERN, SB, 863 },
	{ "ibm865", "IBM865", CSF_WESTERN, SB, 865 },
	{ "macintosh", "MACINTOSH", CSF_WESTERN, SB, 10000 },
	{ "windows-1250", "CP1250", CSF_CENTRAL, SB, 1250 },
	{ "iso-8859-2", "ISO-8859-2", CSF_CENTRAL, SB, 28592 },
	{ "iso-8859-16", "ISO-8859-16", CSF_CENTRAL, SB, 28606 },
	{ "ibm852", "CP852", CSF_CENTRAL, SB, 852 },
	{ "x-mac-ce", "MAC-CENTRALEUROPE", CSF_CENTRAL, SB, 10029 },
	{ "windows-1251", "CP1251", CSF_CYRILLIC, SB, 1251 },
	{ "koi8-r", "KOI8-R", CSF_CYRILLIC, SB, 20866 },
	{ "koi8-u", "KOI8-U", CSF_CYRILLIC, SB, 21866 },
	{ "iso-8859-5", "ISO-8859-5", CSF_CYRILLIC, SB, 28595 },
	{ "ibm866", "CP866", CSF_CYRILLIC, SB, 866 },
	{ "ibm855", "IBM855", CSF_CYRILLIC, SB, 855 },
	{ "x-mac-cyrillic", "MACCYRILLIC", CSF_CYRILLIC, SB, 10007 },
	{ "windows-1253", "CP1253", CSF_GREEK, SB, 1253 },
	{ "iso-8859-7", "ISO-8859-7", CSF_GREEK, SB, 28597 },
	{ "ibm737", "CP737", CSF_GREEK, SB, 737 },
	{ "ibm869", "IBM869", CSF_GREEK, SB, 869 },
	{ "windows-1254", "CP1254", CSF_TURKISH, SB, 1254 },
	{ "iso-8859-9", "ISO-8859-9", CSF_TURKISH, SB, 28599 },
	{ "ibm857", "IBM857", CSF_TURKISH, SB, 857 },
	{ "windows-1255", "CP1255", CSF_HEBREW, SB, 1255 },
	{ "iso-8859-8", "ISO-8859-8", CSF_HEBREW, SB, 28598 },
	{ "ibm862", "IBM862", CSF_HEBREW, SB, 862 },
	{ "windows-1256", "CP1256", CSF_ARABIC, SB, 1256 },
	{ "iso-8859-6", "ISO-8859-6", CSF_ARABIC, SB, 28596 },
	{ "windows-1257", "CP1257", CSF_BALTIC, SB, 1257 },
	{ "iso-8859-4", "ISO-8859-4", CSF_BALTIC, SB, 28594 },
	{ "iso-8859-13", "ISO-8859-13", CSF_BALTIC, SB, 28603 },
	{ "iso-8859-10", "ISO-8859-10", CSF_BALTIC, SB, 28600 },
	{ "ibm775", "CP775", CSF_BALTIC, SB, 775 },
	{ "windows-1258", "CP1258", CSF_VIETNAMESE, SB, 1258 },
	/* VISCII puts six letters in C0 (0x02 0x05 0x06 0x14 0x19 0x1E): not ASCII-compatible */
	{ "viscii", "VISCII", CSF_VIETNAMESE, CSP_SINGLE_BYTE, 0 },
	{ "windows-874", "CP874", CSF_THAI, SB, 874 },
	{ "tis-620", "TIS-620", CSF_THAI, SB, 0 },
	{ "iso-8859-11", "ISO-8859-11", CSF_THAI, SB, 28601 },
	{ "iso-8859-3", "ISO-8859-3", CSF_OTHER, SB, 28593 },
	{ "shift_jis", "CP932", CSF_JAPANESE, MB, 932 },
	{ "euc-jp", "EUC-JP-MS", CSF_JAPANESE, MB, 51932 },
	{ "iso-2022-jp", "ISO-2022-JP", CSF_JAPANESE, ST, 50220 },
	{ "iso-2022-jp-2", "ISO-2022-JP-2", CSF_JAPANESE, ST, 0 },
	{ "gb2312", "GBK", CSF_CHINESE_SIMP, MB, 936 },
	{ "gb18030", "GB18030", CSF_CHINESE_SIMP, MB, 54936 },
	{ "hz-gb-2312", "HZ", CSF_CHINESE_SIMP, ST, 52936 },
	{ "iso-2022-cn", "ISO-2022-CN", CSF_CHINESE_SIMP, ST, 50227 },
	{ "big5", "CP950", CSF_CHINESE_TRAD, MB, 950 },
	{ "big5-hkscs", "BIG5-HKSCS", CSF_CHINESE_TRAD, MB, 0 },
	{ "euc-tw", "EUC-TW", CSF_CHINESE_TRAD, MB, 0 },
	{ "euc-kr", "CP949", CSF_KOREAN, MB, 949 },
	{ "iso-2022-kr", "ISO-2022-KR", CSF_KOREAN, ST, 50225 },
	/* JOHAB reads 0x5C as the won sign: not ASCII-compatible */
	{ "johab", "JOHAB", CSF_KOREAN, CSP_MULTI_BYTE, 1361 },
	/* Label rows (CSP_LABEL): a family row's converter under the name that
	 * strict receivers need once the text uses the vendor extensions; see
	 * charset_label_for().  The mime_name also wins over the aliases of the
	 * same spelling, so a declared "gbk" is this row. */
	{ "windows-31j", "CP932", CSF_JAPANESE, MB | CSP_LABEL, 0 },
	{ "cp949", "CP949", CSF_KOREAN, MB | CSP_LABEL, 0 },
	{ "gbk", "GBK", CSF_CHINESE_SIMP, MB | CSP_LABEL, 0 },
};

#define N_CHARSETS	ARRAY_LEN(charsets)

static const struct charset_info *cs_named(const char *mime_name);

/*
 * Labels other than the mime_name, compared loosely (label_key).  NS marks
 * a name receivers are not sure to know -- vendor spellings (ks_c_5601-1987,
 * x-sjis, ms_kanji, windows-31j), Windows code page forms (cp819) and the
 * unusual spellings of the common names (utf8, ansi_x3.4-1968) -- which the
 * verdict replaces by the mime_name (charset_label_nonstandard).  A: an IANA
 * name or an alias every MIME reader knows, kept as written.
 */
#define A(label, mime_name)	{ label, mime_name, false }
#define NS(label, mime_name)	{ label, mime_name, true }
static const struct alias {
	const char *label;
	const char *mime_name;
	bool nonstandard;
} aliases[] = {
	A("ascii", "us-ascii"), A("us", "us-ascii"), NS("ansi_x3.4-1968", "us-ascii"),
	A("ansi_x3.4-1986", "us-ascii"), A("iso646-us", "us-ascii"), A("iso_646.irv:1991", "us-ascii"),
	A("csascii", "us-ascii"), A("iso-ir-6", "us-ascii"), NS("cp367", "us-ascii"), A("ibm367", "us-ascii"),
	NS("utf8", "utf-8"), A("unicode-1-1-utf-8", "utf-8"), A("unicode11utf8", "utf-8"),
	A("unicode20utf8", "utf-8"), A("x-unicode20utf8", "utf-8"), A("csutf8", "utf-8"),
	A("ucs-2", "utf-16le"), A("unicode", "utf-16le"), A("csunicode", "utf-16le"),
	A("iso-10646-ucs-2", "utf-16le"), A("unicodefeff", "utf-16le"), A("unicodefffe", "utf-16be"),
	A("csutf16", "utf-16"), A("csutf16le", "utf-16le"), A("csutf16be", "utf-16be"),
	A("csutf7", "utf-7"), A("unicode-1-1-utf-7", "utf-7"),
	NS("ms-ansi", "windows-1252"), A("ansi", "windows-1252"),
	A("latin1", "iso-8859-1"), A("l1", "iso-8859-1"), A("iso-ir-100", "iso-8859-1"),
	A("iso_8859-1:1987", "iso-8859-1"), A("csisolatin1", "iso-8859-1"), NS("cp819", "iso-8859-1"),
	A("ibm819", "iso-8859-1"), A("iso8859-1", "iso-8859-1"),
	A("latin2", "iso-8859-2"), A("l2", "iso-8859-2"), A("iso-ir-101", "iso-8859-2"),
	A("csisolatin2", "iso-8859-2"), A("iso_8859-2:1987", "iso-8859-2"),
	A("latin3", "iso-8859-3"), A("l3", "iso-8859-3"), A("iso-ir-109", "iso-8859-3"),
	A("csisolatin3", "iso-8859-3"),
	A("latin4", "iso-8859-4"), A("l4", "iso-8859-4"), A("iso-ir-110", "iso-8859-4"),
	A("csisolatin4", "iso-8859-4"),
	A("cyrillic", "iso-8859-5"), A("iso-ir-144", "iso-8859-5"), A("csisolatincyrillic", "iso-8859-5"),
	A("arabic", "iso-8859-6"), A("iso-ir-127", "iso-8859-6"), A("asmo-708", "iso-8859-6"),
	A("ecma-114", "iso-8859-6"), A("csisolatinarabic", "iso-8859-6"),
	A("iso-8859-6-i", "iso-8859-6"), A("iso-8859-6-e", "iso-8859-6"),
	A("greek", "iso-8859-7"), A("greek8", "iso-8859-7"), A("iso-ir-126", "iso-8859-7"),
	A("elot_928", "iso-8859-7"), A("ecma-118", "iso-8859-7"), A("csisolatingreek", "iso-8859-7"),
	A("hebrew", "iso-8859-8"), A("iso-ir-138", "iso-8859-8"), A("iso-8859-8-i", "iso-8859-8"),
	A("iso-8859-8-e", "iso-8859-8"), A("csisolatinhebrew", "iso-8859-8"), A("logical", "iso-8859-8"),
	A("visual", "iso-8859-8"), A("csiso88598i", "iso-8859-8"),
	A("latin5", "iso-8859-9"), A("l5", "iso-8859-9"), A("iso-ir-148", "iso-8859-9"),
	A("csisolatin5", "iso-8859-9"),
	A("latin6", "iso-8859-10"), A("l6", "iso-8859-10"), A("iso-ir-157", "iso-8859-10"),
	A("csisolatin6", "iso-8859-10"),
	A("latin7", "iso-8859-13"), A("l7", "iso-8859-13"),
	A("latin8", "iso-8859-14"), A("l8", "iso-8859-14"), A("iso-ir-199", "iso-8859-14"),
	A("latin9", "iso-8859-15"), A("l9", "iso-8859-15"), A("latin-9", "iso-8859-15"),
	A("csisolatin9", "iso-8859-15"),
	A("latin10", "iso-8859-16"), A("l10", "iso-8859-16"), A("iso-ir-226", "iso-8859-16"),
	A("tis620", "tis-620"), A("cstis620", "tis-620"), A("tis-620-2533", "tis-620"),
	A("dos-874", "windows-874"), A("thai", "windows-874"),
	A("koi8", "koi8-r"), A("koi", "koi8-r"), A("cskoi8r", "koi8-r"),
	A("koi8-ru", "koi8-u"), A("cskoi8u", "koi8-u"),
	A("mac", "macintosh"), A("csmacintosh", "macintosh"), A("mac-roman", "macintosh"),
	A("macroman", "macintosh"), NS("x-mac-roman", "macintosh"),
	A("x-mac-centraleurope", "x-mac-ce"), A("mac-centraleurope", "x-mac-ce"),
	A("maccentraleurope", "x-mac-ce"), A("csviscii", "viscii"), A("x-euc-tw", "euc-tw"),
	A("cseuctw", "euc-tw"), A("x-johab", "johab"),
	A("mac-cyrillic", "x-mac-cyrillic"), A("x-mac-ukrainian", "x-mac-cyrillic"),
	A("cspc8codepage437", "ibm437"), A("cspc850multilingual", "ibm850"), A("cspcp852", "ibm852"),
	A("csibm866", "ibm866"), A("dos-866", "ibm866"), A("alt", "ibm866"),
	A("dos-862", "ibm862"), A("dos-720", "windows-1256"),
	A("shift-jis", "shift_jis"), NS("sjis", "shift_jis"), NS("x-sjis", "shift_jis"),
	NS("ms_kanji", "shift_jis"), A("csshiftjis", "shift_jis"), NS("windows-31j", "shift_jis"),
	A("cswindows31j", "shift_jis"), A("sjis-open", "shift_jis"), A("sjis-win", "shift_jis"),
	A("eucjp", "euc-jp"), NS("x-euc-jp", "euc-jp"), A("cseucpkdfmtjapanese", "euc-jp"),
	A("ujis", "euc-jp"), A("euc-jp-ms", "euc-jp"), A("eucjp-ms", "euc-jp"), A("eucjp-win", "euc-jp"),
	A("csiso2022jp", "iso-2022-jp"), A("jis", "iso-2022-jp"), A("jis7", "iso-2022-jp"),
	A("csiso2022jp2", "iso-2022-jp-2"),
	A("gbk", "gb2312"), NS("x-gbk", "gb2312"), A("csgb2312", "gb2312"), A("chinese", "gb2312"),
	A("gb_2312-80", "gb2312"), A("gb_2312", "gb2312"), A("euc-cn", "gb2312"), A("x-euc-cn", "gb2312"),
	A("iso-ir-58", "gb2312"), A("csiso58gb231280", "gb2312"), A("cn-gb", "gb2312"),
	A("csgbk", "gb2312"),
	A("gb-18030", "gb18030"), A("csgb18030", "gb18030"),
	A("hz", "hz-gb-2312"), A("hz-gb2312", "hz-gb-2312"),
	A("csiso2022cn", "iso-2022-cn"),
	A("big-5", "big5"), A("csbig5", "big5"), A("cn-big5", "big5"), A("x-x-big5", "big5"),
	A("big-five", "big5"), A("bigfive", "big5"), A("big5-eten", "big5"),
	A("big5hkscs", "big5-hkscs"), A("hkscs", "big5-hkscs"), A("csbig5hkscs", "big5-hkscs"),
	A("cseuckr", "euc-kr"), NS("ks_c_5601-1987", "euc-kr"), NS("ks_c_5601-1989", "euc-kr"),
	NS("ks_c_5601", "euc-kr"), NS("ksc5601", "euc-kr"), NS("ksc_5601", "euc-kr"), A("korean", "euc-kr"),
	A("iso-ir-149", "euc-kr"), A("csksc56011987", "euc-kr"), A("uhc", "euc-kr"),
	A("x-uhc", "euc-kr"), NS("ks_c_5601-1992", "euc-kr"), A("ksc5601-1992", "euc-kr"),
	A("csiso2022kr", "iso-2022-kr"),
};
#undef A
#undef NS

/* Windows code page numbers that are not some charset's primary `codepage`. */
static const struct cp_alias {
	uint16_t codepage;
	const char *mime_name;
} cp_aliases[] = {
	{ 50221, "iso-2022-jp" }, { 50222, "iso-2022-jp" }, { 51949, "euc-kr" },
	{ 51936, "gb2312" }, { 20936, "gb2312" },
	{ 20932, "euc-jp" }, { 51950, "big5" }, { 38598, "iso-8859-8" }, { 38596, "iso-8859-6" },
	{ 819, "iso-8859-1" }, { 367, "us-ascii" },
};

/* Placeholder labels (RFC 1428 unknown-8bit and friends). */
static const char *const placeholders[] = {
	"unknown-8bit", "x-unknown", "x-user-defined", "unknown", "x-unknown-8bit",
};

#define LABEL_MAX	64

/* Reduce a label to its comparison key: ASCII lowercase letters and digits
 * only, so "ISO_8859-1", "iso8859-1" and "iso-8859-1" compare equal. */
static bool label_key(const char *s, size_t len, char *key, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int c = ascii_tolower((unsigned char)s[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			continue;
		if (n + 1 >= cap)
			return false;
		key[n++] = (char)c;
	}
	key[n] = '\0';
	return true;
}

static bool key_is(const char *key, const char *label)
{
	char k2[LABEL_MAX];

	return label_key(label, strlen(label), k2, sizeof(k2)) && strcmp(key, k2) == 0;
}

/* Strip white space and one level of quotes; returns the inner span. */
static void label_trim(const char **s, size_t *len)
{
	const char *p = *s;
	size_t n = *len;

	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	if (n >= 2 && ((p[0] == '"' && p[n - 1] == '"') || (p[0] == '\'' && p[n - 1] == '\''))) {
		p++;
		n -= 2;
		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
	}
	*s = p;
	*len = n;
}

static const struct charset_info *cs_named(const char *mime_name)
{
	size_t i;

	for (i = 0; i < N_CHARSETS; i++)
		if (strcmp(charsets[i].mime_name, mime_name) == 0)
			return &charsets[i];
	return NULL;
}

/*
 * The comparison keys of the table's names, made once: a lookup runs on
 * every label of every part (and the sender memory's records), and making
 * ~300 keys per lookup was a measurable share of the milter's CPU.
 */
static char charset_keys[N_CHARSETS][LABEL_MAX];
static char alias_keys[ARRAY_LEN(aliases)][LABEL_MAX];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void keys_make(void)
{
	size_t i;

	for (i = 0; i < N_CHARSETS; i++)
		(void)label_key(charsets[i].mime_name, strlen(charsets[i].mime_name), charset_keys[i], LABEL_MAX);
	for (i = 0; i < ARRAY_LEN(aliases); i++)
		(void)label_key(aliases[i].label, strlen(aliases[i].label), alias_keys[i], LABEL_MAX);
}

/* The alias row whose key is key, or NULL. */
static const struct alias *alias_row(const char *key)
{
	size_t i;

	pthread_once(&keys_once, keys_make);
	for (i = 0; i < ARRAY_LEN(aliases); i++)
		if (strcmp(key, alias_keys[i]) == 0)
			return &aliases[i];
	return NULL;
}

static const struct charset_info *lookup_key(const char *key)
{
	const struct alias *a;
	size_t i;

	pthread_once(&keys_once, keys_make);
	for (i = 0; i < N_CHARSETS; i++)
		if (strcmp(key, charset_keys[i]) == 0)
			return &charsets[i];
	return (a = alias_row(key)) != NULL ? cs_named(a->mime_name) : NULL;
}

/* The label without white space and quotes (*label, *len become that span)
 * reduced to its key; false when nothing is left or it is too long. */
static bool trimmed_key(const char **label, size_t *len, char key[LABEL_MAX])
{
	label_trim(label, len);
	return *len > 0 && *len < LABEL_MAX && label_key(*label, *len, key, LABEL_MAX) && key[0] != '\0';
}

/* "1252", "cp1252", "windows1252", "win1252", "ms932", "ibm850", "dos850"
 * (keys, so separators are already gone). */
static const struct charset_info *lookup_codepage_key(const char *key)
{
	static const char *const prefixes[] = { "", "cp", "windows", "win", "ms", "ibm", "dos" };
	size_t i, plen;
	const char *d;
	unsigned long cp;

	for (i = 0; i < ARRAY_LEN(prefixes); i++) {
		plen = strlen(prefixes[i]);
		if (strncmp(key, prefixes[i], plen) != 0)
			continue;
		d = key + plen;
		if (*d == '\0' || strlen(d) > 5)
			continue;
		cp = 0;
		for (; *d >= '0' && *d <= '9'; d++)
			cp = cp * 10 + (unsigned long)(*d - '0');
		if (*d != '\0' || cp == 0 || cp > 65535)
			continue;
		return charset_by_codepage((unsigned)cp);
	}
	return NULL;
}

const struct charset_info *charset_lookup_n(const char *label, size_t len)
{
	char key[LABEL_MAX];
	const struct charset_info *cs;

	if (label == NULL || !trimmed_key(&label, &len, key))
		return NULL;
	if ((cs = lookup_key(key)) != NULL || (cs = lookup_codepage_key(key)) != NULL)
		return cs;
	/* "x-sjis", "x-cp1252", "x-mac-roman": experimental prefix on a known name. */
	if (len > 2 && (label[0] == 'x' || label[0] == 'X') && (label[1] == '-' || label[1] == '_')) {
		if ((cs = lookup_key(key + 1)) != NULL || (cs = lookup_codepage_key(key + 1)) != NULL)
			return cs;
	}
	return NULL;
}

bool charset_label_nonstandard(const char *label)
{
	char key[LABEL_MAX];
	size_t len, i;
	const struct alias *a;

	if (label == NULL)
		return false;
	len = strlen(label);
	if (!trimmed_key(&label, &len, key))
		return false;
	for (i = 0; i < N_CHARSETS; i++)	/* the MIME name itself, any case */
		if (strlen(charsets[i].mime_name) == len && ascii_strncasecmp(label, charsets[i].mime_name, len) == 0)
			return false;
	if ((a = alias_row(key)) != NULL)
		return a->nonstandard;
	/* Code page forms ("1252", "cp1251", "win-1250", "ms932") are Windows'
	 * own; "ibm850", "IBM-866" are IANA's names for the DOS code pages. */
	if (lookup_codepage_key(key) != NULL)
		return strncmp(key, "ibm", 3) != 0;
	if (lookup_key(key) != NULL)	/* a spelling of a MIME name: "ISO8859-2" */
		return false;
	/* "x-cp1252", "x-big5": a known name under the experimental prefix. */
	return charset_lookup_n(label, len) != NULL;
}

const struct charset_info *charset_lookup(const char *label)
{
	return label == NULL ? NULL : charset_lookup_n(label, strlen(label));
}

bool charset_is_placeholder(const char *label)
{
	size_t len, i;

	if (label == NULL)
		return true;
	len = strlen(label);
	label_trim(&label, &len);
	if (len == 0)
		return true;
	for (i = 0; i < ARRAY_LEN(placeholders); i++)
		if (strlen(placeholders[i]) == len && ascii_strncasecmp(label, placeholders[i], len) == 0)
			return true;
	return false;
}

const struct charset_info *charset_by_codepage(unsigned cp)
{
	size_t i;

	if (cp == 0)
		return NULL;
	for (i = 0; i < N_CHARSETS; i++)
		if (charsets[i].codepage == cp)
			return &charsets[i];
	for (i = 0; i < ARRAY_LEN(cp_aliases); i++)
		if (cp_aliases[i].codepage == cp)
			return cs_named(cp_aliases[i].mime_name);
	return NULL;
}

const struct charset_info *charset_superset(const struct charset_info *declared, bool has_c1)
{
	static const struct { const char *from, *to; } c1_rules[] = {
		/* WHATWG Encoding Standard labels: these decode as the Windows superset. */
		{ "us-ascii", "windows-1252" },
		{ "iso-8859-1", "windows-1252" },
		{ "iso-8859-9", "windows-1254" },
		{ "tis-620", "windows-874" },
		{ "iso-8859-11", "windows-874" },
	};
	size_t i;

	if (declared == NULL || !has_c1)
		return declared;
	/* gb2312 -> GBK and euc-kr -> CP949 are built into the registry: those
	 * labels already resolve to the superset. */
	for (i = 0; i < ARRAY_LEN(c1_rules); i++)
		if (strcmp(declared->mime_name, c1_rules[i].from) == 0)
			return cs_named(c1_rules[i].to);
	return declared;
}

size_t charset_count(void)
{
	return N_CHARSETS;
}

const struct charset_info *charset_at(size_t i)
{
	return i < N_CHARSETS ? &charsets[i] : NULL;
}

static size_t cs_index(const struct charset_info *cs)
{
	if (cs < charsets || cs >= charsets + N_CHARSETS)
		return N_CHARSETS;
	return (size_t)(cs - charsets);
}

/* ---- facts learnt from iconv, once ----------------------------------------------- */

struct cs_facts {
	bool iconv_ok;
	bool has_c1_pass;
	uint8_t defined[32];	/* single-byte: bit b set when byte b decodes */
	uint8_t c1_pass[32];	/* multi-byte: lone byte b decodes to a C1 control */
	/* single-byte charsets that are a pure byte map under iconv: each
	 * byte's UTF-8 (sb_len 0: undefined), read from iconv once */
	bool sb_table;
	uint8_t sb_len[256];
	char sb_utf8[256][4];
	/* multi-byte charsets: the double-byte map (db_map_build), or NULL */
	const struct db_map *db;
	/* Held open for the life of the process, never used to convert: glibc
	 * unloads a gconv module (dlclose) when its last descriptor closes, and
	 * every message's engine opens and closes its own, so without this pin
	 * each message paid a dlopen per multi-byte candidate (18% of the label
	 * workload's time). */
	iconv_t pin;
};

/*
 * glibc converts X to UTF-8 in two steps, X to its internal UCS-4 and that
 * to UTF-8; "WCHAR_T" names the internal form itself, so X to WCHAR_T is the
 * one step.  A stream that only asks "does it decode" or wants code points
 * (the detector) takes that: the second step was 40% of a multi-byte
 * decode check.
 */
#define UCS4_NAME	"WCHAR_T"

/*
 * A double-byte charset's decoding as tables: what each byte alone gives,
 * and what each lead byte followed by each trail byte gives, each entry read
 * from iconv once.  Only what iconv gives as exactly one code point, at once
 * (nothing held back for a following byte), that is neither a C1 control nor
 * a surrogate, is in the map; every other sequence -- invalid bytes, GB18030
 * and EUC-TW four-byte forms, EUC-JP's three-byte JIS X 0212, pairs that
 * decode to two code points -- is left to iconv itself (stream_feed_map).
 * glibc's converters for the registry's double-byte charsets keep no state
 * between characters, so a stream may switch between the map and iconv at
 * any character boundary.  Why: the detector decodes every unlabelled text
 * under each multi-byte candidate and the oracle and the label ladder check
 * whole parts, mostly as checks whose output nobody reads; by map a check
 * writes nothing, and UTF-8 comes out in one step instead of glibc's two.
 * Dense CJK text decodes at about raw iconv's speed either way (0.7-1.2x);
 * the label workload of engine_bench went from ~290 to ~350 MB/s, and UTF-8
 * output of double-byte text (Mode transcode) is about 3x faster.
 */
#define DB_NONE	0	/* no entry: U+0000 is never a lead-trail pair's, and single[] uses -1 */

struct db_map {
	int32_t single[256];		/* the byte alone: its code point, -1 = not in the map */
	bool lead[256];			/* the byte alone is an incomplete sequence */
	uint16_t pair[128][256];	/* [lead - 0x80][trail]: BMP code point, DB_NONE = not in the map */
};

static struct cs_facts facts[N_CHARSETS];
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;
static pthread_once_t db_once = PTHREAD_ONCE_INIT;

static inline bool bit_get(const uint8_t *map, unsigned char b)
{
	return (map[b >> 3] >> (b & 7)) & 1;
}

static inline void bit_set(uint8_t *map, unsigned char b)
{
	map[b >> 3] |= (uint8_t)(1u << (b & 7));
}

/* Byte b alone in UTF-8 into out[8]: its length (0 when it converts to
 * nothing), or -1 when it does not decode as complete characters; *held
 * when iconv gave some of it out only on the flush (CP1258 and CP1255 hold
 * a base letter for a following accent). */
static int lone_byte_utf8(iconv_t cd, unsigned char b, char *out, bool *held)
{
	char in[1];
	char *ip = in, *op = out;
	size_t il = 1, ol = 8, n;

	in[0] = (char)b;
	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return -1;
	n = 8 - ol;
	if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return -1;
	*held = 8 - ol != n;
	return (int)(8 - ol);
}

/* Byte b alone as a code point, or -1 when it does not decode. */
static long decode_lone_byte(iconv_t cd, unsigned char b)
{
	char out[8];
	const unsigned char *u = (const unsigned char *)out;
	bool held;
	int n = lone_byte_utf8(cd, b, out, &held);

	if (n < 0)
		return -1;
	if (n == 1)
		return u[0];
	if (n == 2)
		return ((long)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
	if (n == 3)
		return ((long)(u[0] & 0x0f) << 12) | ((long)(u[1] & 0x3f) << 6) | (u[2] & 0x3f);
	return 0x10000;	/* several or supplementary: defined, not C1 */
}

/* A single-byte charset's defined bytes (ASCII always) and, when every one
 * of them comes out of iconv at once as one to four bytes and no other
 * byte decodes, its byte map: one conversion per byte. */
static void facts_single_byte(iconv_t cd, struct cs_facts *f)
{
	bool map = true;

	for (unsigned b = 0; b < 0x100; b++) {
		char out[8];
		bool held = false;
		int n = lone_byte_utf8(cd, (unsigned char)b, out, &held);
		bool in_map = n >= 1 && n <= 4 && !held;

		if (b < 0x80 || n >= 0)
			bit_set(f->defined, (unsigned char)b);
		map &= in_map == bit_get(f->defined, (unsigned char)b);
		f->sb_len[b] = (uint8_t)(in_map ? n : 0);
		if (in_map)
			memcpy(f->sb_utf8[b], out, (size_t)n);
	}
	f->sb_table = map;
}

static void facts_init(void)
{
	size_t i;
	unsigned b;

	for (i = 0; i < N_CHARSETS; i++) {
		const struct charset_info *cs = &charsets[i];
		struct cs_facts *f = &facts[i];
		iconv_t cd = iconv_open("UTF-8", cs->iconv_name);

		f->pin = cd;
		if (cd == (iconv_t)-1)
			continue;
		f->iconv_ok = true;
		if (cs->props & CSP_SINGLE_BYTE) {
			facts_single_byte(cd, f);
		} else if ((cs->props & CSP_MULTI_BYTE) && cs->family != CSF_UTF) {
			/* glibc's EUC-JP-MS, CP950, BIG5-HKSCS pass stray lead-range
			 * bytes through as C1 controls; real text in those charsets
			 * never holds them, and those bytes are never trail bytes
			 * there, so a decode that meets one alone fails. */
			for (b = 0x80; b < 0xA0; b++) {
				long u = decode_lone_byte(cd, (unsigned char)b);

				if (u >= 0x80 && u <= 0x9f) {
					bit_set(f->c1_pass, (unsigned char)b);
					f->has_c1_pass = true;
				}
			}
		}
		/* reset after the probing above; see cs_facts.pin */
		iconv(cd, NULL, NULL, NULL, NULL);
	}
}

/* One sequence alone through cd (WCHAR_T): 1 and *cp when it comes out at
 * once as exactly one code point, 0 when it does not decode to one, 2 when
 * iconv held its output back for what might follow (a stateful decoder,
 * which no map may stand for), -1 when it is incomplete. */
static int one_sequence(iconv_t cd, const unsigned char *seq, size_t n, uint32_t *cp)
{
	char *ip = (char *)seq, *op;
	uint32_t out[4];
	size_t il = n, ol = sizeof(out), r;

	iconv(cd, NULL, NULL, NULL, NULL);
	op = (char *)out;
	r = iconv(cd, &ip, &il, &op, &ol);
	if (r == (size_t)-1)
		return errno == EINVAL ? -1 : 0;
	if (il != 0)
		return 0;
	if (ol == sizeof(out)) {
		op = (char *)out;
		ol = sizeof(out);
		return iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1 && ol < sizeof(out) ? 2 : 0;
	}
	if (sizeof(out) - ol != 4)
		return 0;
	*cp = out[0];
	return 1;
}

/*
 * A code point no stream gives out: a surrogate or a value past U+7FFFFFFF
 * (what glibc's second step, internal to UTF-8, refuses), or with reject_c1
 * a C1 control (never text in multi-byte charsets).  Checked on the UCS-4
 * form's output (ucs4_out_refused) and kept out of the double-byte maps.
 */
static bool cp_refused(uint32_t c, bool reject_c1)
{
	return (c & 0xfffff800u) == 0xd800u || c > 0x7fffffffu || (reject_c1 && c >= 0x80 && c <= 0x9f);
}

/* The map of one converter, or NULL when it has none (see struct db_map). */
static struct db_map *db_map_build(const char *iconv_name)
{
	iconv_t cd = iconv_open(UCS4_NAME, iconv_name);
	struct db_map *m;
	unsigned b, t;
	uint32_t cp;

	if (cd == (iconv_t)-1)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	for (b = 0; b < 0x100; b++) {
		unsigned char seq[2] = { (unsigned char)b, 0 };
		int r = one_sequence(cd, seq, 1, &cp);

		m->single[b] = r == 1 && !cp_refused(cp, true) ? (int32_t)cp : -1;
		m->lead[b] = r == -1;
		if (r == 2 || (r == -1 && b < 0x80))
			goto none;
		for (t = 0; r == -1 && t < 0x100; t++) {
			seq[1] = (unsigned char)t;
			switch (one_sequence(cd, seq, 2, &cp)) {
			case 2:
				goto none;
			case 1:
				if (cp < 0x10000 && cp != DB_NONE && !cp_refused(cp, true))
					m->pair[b - 0x80][t] = (uint16_t)cp;
				break;
			default:
				break;
			}
		}
	}
	iconv_close(cd);
	return m;
none:
	iconv_close(cd);
	free(m);
	return NULL;
}

static bool db_eligible(const struct charset_info *cs)
{
	return (cs->props & CSP_MULTI_BYTE) && cs->family != CSF_UTF && !(cs->props & CSP_7BIT_STATEFUL);
}

/* Built on the first multi-byte stream, not with the other facts: a process
 * that never decodes such text (most CLI runs) does not pay for it (~8 ms
 * for all of them). */
static void db_init(void)
{
	for (size_t i = 0; i < N_CHARSETS; i++) {
		const struct charset_info *cs = &charsets[i];
		size_t k;

		if (!facts[i].iconv_ok || !db_eligible(cs))
			continue;
		for (k = 0; k < i; k++)		/* rows that share a converter share its map */
			if (strcmp(charsets[k].iconv_name, cs->iconv_name) == 0 && facts[k].iconv_ok &&
			    db_eligible(&charsets[k]))
				break;
		facts[i].db = k < i ? facts[k].db : db_map_build(cs->iconv_name);
	}
}

static const struct cs_facts *facts_of(const struct charset_info *cs)
{
	size_t i = cs_index(cs);

	if (i == N_CHARSETS)
		return NULL;
	pthread_once(&facts_once, facts_init);
	return &facts[i];
}

bool charset_iconv_ok(const struct charset_info *cs)
{
	const struct cs_facts *f = facts_of(cs);

	return f != NULL && f->iconv_ok;
}

bool charset_byte_defined(const struct charset_info *cs, unsigned char b)
{
	const struct cs_facts *f;

	if (cs == NULL || !(cs->props & CSP_SINGLE_BYTE))
		return true;
	if ((f = facts_of(cs)) == NULL || !f->iconv_ok)
		return b < 0x80;
	return bit_get(f->defined, b);
}

/* ---- conversion -------------------------------------------------------------------- */

#define CONV_CHUNK	(16 * 1024)
#define TAIL_MAX	16	/* longest incomplete sequence kept between feeds */


struct charset_conv {
	iconv_t cd[N_CHARSETS];		/* to UTF-8; (iconv_t)-1 until opened */
	iconv_t wc[N_CHARSETS];		/* to UCS-4 in host order (UCS4_NAME) */
	iconv_t to[N_CHARSETS];		/* from UTF-8 (charset_encode_utf8) */
};

struct charset_conv *charset_conv_new(void)
{
	struct charset_conv *cv = xmalloc(sizeof(*cv));
	size_t i;

	pthread_once(&facts_once, facts_init);	/* loads and pins the converters */
	for (i = 0; i < N_CHARSETS; i++)
		cv->cd[i] = cv->wc[i] = cv->to[i] = (iconv_t)-1;
	return cv;
}

void charset_conv_free(struct charset_conv *cv)
{
	size_t i;

	if (cv == NULL)
		return;
	for (i = 0; i < N_CHARSETS; i++) {
		if (cv->cd[i] != (iconv_t)-1)
			iconv_close(cv->cd[i]);
		if (cv->wc[i] != (iconv_t)-1)
			iconv_close(cv->wc[i]);
		if (cv->to[i] != (iconv_t)-1)
			iconv_close(cv->to[i]);
	}
	free(cv);
}

/* One iconv call into out through a small stack buffer; in == NULL flushes
 * the shift state (the return to ASCII of a stateful charset). */
static int encode_step(iconv_t cd, char **in, size_t *inleft, struct buf *out)
{
	char tmp[256], *o;
	size_t ol, r;

	do {
		o = tmp;
		ol = sizeof(tmp);
		r = iconv(cd, in, inleft, &o, &ol);
		if (buf_append(out, tmp, sizeof(tmp) - ol) < 0)
			return -1;
	} while (r == (size_t)-1 && errno == E2BIG);
	return r == (size_t)-1 ? -1 : 0;
}

int charset_encode_utf8(struct charset_conv *cv, const struct charset_info *cs,
			const char *utf8, size_t len, struct buf *out)
{
	size_t idx = cs_index(cs);
	char *in = (char *)(uintptr_t)utf8;
	size_t left = len;

	if (idx >= N_CHARSETS || !charset_iconv_ok(cs))
		return -1;
	if (cv->to[idx] == (iconv_t)-1)
		cv->to[idx] = iconv_open(cs->iconv_name, "UTF-8");
	if (cv->to[idx] == (iconv_t)-1)
		return -1;
	iconv(cv->to[idx], NULL, NULL, NULL, NULL);
	if (encode_step(cv->to[idx], &in, &left, out) < 0 || left != 0)
		return -1;
	return encode_step(cv->to[idx], NULL, NULL, out);
}

/* Take the cached descriptor out of the cache (open one if needed), reset.
 * Borrowing keeps a stream's state safe from other users of the same cv. */
static iconv_t conv_borrow(struct charset_conv *cv, size_t idx, bool ucs4)
{
	iconv_t *slot = ucs4 ? &cv->wc[idx] : &cv->cd[idx];
	iconv_t cd = *slot;

	if (cd == (iconv_t)-1)
		cd = iconv_open(ucs4 ? UCS4_NAME : "UTF-8", charsets[idx].iconv_name);
	else
		*slot = (iconv_t)-1;
	if (cd != (iconv_t)-1)
		iconv(cd, NULL, NULL, NULL, NULL);
	return cd;
}

static void conv_return(struct charset_conv *cv, size_t idx, bool ucs4, iconv_t cd)
{
	iconv_t *slot = ucs4 ? &cv->wc[idx] : &cv->cd[idx];

	if (cd == (iconv_t)-1)
		return;
	if (*slot == (iconv_t)-1)
		*slot = cd;
	else
		iconv_close(cd);
}

struct charset_stream {
	struct charset_conv *cv;
	size_t idx;		/* N_CHARSETS: a named stream, cd is its own */
	iconv_t cd;
	const struct cs_facts *facts;
	const struct db_map *db;	/* decode by this map where it can (stream_feed_map) */
	bool reject_c1;		/* a C1 control in the output is a failure */
	bool ucs4;		/* out holds uint32_t code points (UCS4_NAME) */
	charset_sink_fn sink;
	void *arg;
	size_t offset;		/* input offset of tail[0] (or of the next byte) */
	char tail[TAIL_MAX];
	size_t ntail;
	bool failed;
	size_t bad_offset;
	size_t nout;
	char out[CONV_CHUNK];
};

/* A C1 control is C2 80..C2 9F in UTF-8; iconv never splits a character
 * across calls, so the output buffer holds whole sequences. */
static bool out_has_c1(const char *p, size_t n)
{
	const char *e = p + n, *q = p;

	while (q < e && (q = memchr(q, 0xc2, (size_t)(e - q))) != NULL) {
		if (q + 1 < e && (unsigned char)q[1] >= 0x80 && (unsigned char)q[1] <= 0x9f)
			return true;
		q++;
	}
	return false;
}

/*
 * The code points the one-step form gives are checked for what glibc's
 * second step (internal to UTF-8) refuses, surrogates and values past
 * U+7FFFFFFF, so both forms agree on what decodes; no glibc decoder of a
 * registry charset emits those, so the coarse failure offset (the chunk's
 * end) is never seen in practice.
 */
static bool ucs4_out_refused(const char *p, size_t n, bool reject_c1)
{
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t c;

		memcpy(&c, p + i, 4);
		if (cp_refused(c, reject_c1))
			return true;
	}
	return false;
}

static int stream_flush(struct charset_stream *st)
{
	int rc = 0;

	if (st->ucs4 ? ucs4_out_refused(st->out, st->nout, st->reject_c1) :
	    st->reject_c1 && out_has_c1(st->out, st->nout))
		return -1;
	if (st->nout > 0 && st->sink != NULL)
		rc = st->sink(st->arg, st->out, st->nout);
	st->nout = 0;
	return rc;
}

static int stream_fail(struct charset_stream *st, size_t at)
{
	if (!st->failed) {
		st->failed = true;
		st->bad_offset = at;
	}
	return -1;
}

/* Convert in[0..*len).  Returns 0 when all was consumed, 1 when an incomplete
 * sequence is left at the end (*len = its length), -1 on EILSEQ or a sink
 * error (*len = bytes left, so the failure is at the end minus *len). */
static int stream_convert(struct charset_stream *st, const char *in, size_t *len)
{
	char *ip = (char *)in;	/* iconv's prototype is not const-correct */
	size_t il = *len;

	for (;;) {
		char *op = st->out + st->nout;
		size_t ol = sizeof(st->out) - st->nout;
		size_t r = iconv(st->cd, &ip, &il, &op, &ol);
		int err = errno;

		st->nout = sizeof(st->out) - ol;
		*len = il;
		if (r != (size_t)-1)
			return 0;
		if (err == E2BIG) {
			if (stream_flush(st) < 0)
				return -1;
			continue;
		}
		if (err == EINVAL)
			return 1;
		return -1;
	}
}

static struct charset_stream *stream_begin(struct charset_conv *cv, const struct charset_info *cs,
					   bool ucs4, charset_sink_fn sink, void *arg)
{
	struct charset_stream *st;
	size_t idx = cs_index(cs);
	const struct cs_facts *f;
	iconv_t cd;

	if (cv == NULL || idx == N_CHARSETS)
		return NULL;
	f = facts_of(cs);
	if (db_eligible(cs))
		pthread_once(&db_once, db_init);
	if (f->sb_table && sink == NULL)
		ucs4 = false;	/* a check by byte map: nothing is output */
	if ((cd = conv_borrow(cv, idx, ucs4)) == (iconv_t)-1)
		return NULL;
	st = xcalloc(1, sizeof(*st));
	st->cv = cv;
	st->idx = idx;
	st->cd = cd;
	st->ucs4 = ucs4;
	st->facts = f;
	st->db = f->db;
	st->sink = sink;
	st->arg = arg;
	return st;
}

struct charset_stream *charset_stream_begin(struct charset_conv *cv, const struct charset_info *cs,
					    charset_sink_fn sink, void *arg)
{
	/* With no sink nothing sees the output: the one-step form is enough. */
	return stream_begin(cv, cs, sink == NULL, sink, arg);
}

struct charset_stream *charset_stream_begin_ucs4(struct charset_conv *cv, const struct charset_info *cs,
						 charset_sink_fn sink, void *arg)
{
	return stream_begin(cv, cs, true, sink, arg);
}

/* Resolve a pending tail with the first bytes of new input. */
static int stream_feed_tail(struct charset_stream *st, const char **data, size_t *len)
{
	size_t old = st->ntail, take, left, used;
	int rc;

	take = *len < TAIL_MAX - old ? *len : TAIL_MAX - old;
	memcpy(st->tail + old, *data, take);
	st->ntail = old + take;
	left = st->ntail;
	rc = stream_convert(st, st->tail, &left);
	used = st->ntail - left;
	if (rc < 0)
		return stream_fail(st, st->offset + used);
	if (used >= old) {
		/* The old tail is resolved; new bytes past `used` go back to the input. */
		*data += used - old;
		*len -= used - old;
		st->offset += used;
		st->ntail = 0;
		return 0;
	}
	/* Still incomplete: everything taken stays in the tail. */
	if (take < *len)
		return stream_fail(st, st->offset + used);	/* sequence longer than TAIL_MAX */
	memmove(st->tail, st->tail + used, left);
	st->ntail = left;
	st->offset += used;
	*data += take;
	*len -= take;
	return 0;
}

static int stream_feed_plain(struct charset_stream *st, const char *data, size_t len)
{
	if (st->ntail > 0 && len > 0 && stream_feed_tail(st, &data, &len) < 0)
		return -1;
	if (len > 0 && st->ntail == 0) {
		size_t left = len;
		int rc = stream_convert(st, data, &left);

		if (rc < 0)
			return stream_fail(st, st->offset + (len - left));
		if (rc == 1) {
			if (left > TAIL_MAX)
				return stream_fail(st, st->offset + (len - left));
			memcpy(st->tail, data + (len - left), left);
			st->ntail = left;
		}
		st->offset += len - left;
	}
	return 0;
}

/* Byte b's code point, from its UTF-8 in the byte map (sb_len[b] > 0). */
static uint32_t sb_code_point(const struct cs_facts *f, unsigned char b)
{
	const unsigned char *u = (const unsigned char *)f->sb_utf8[b];

	switch (f->sb_len[b]) {
	case 1: return u[0];
	case 2: return (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
	case 3: return (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
	default: return (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
		    (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
	}
}

/* A single-byte charset by its byte map: what iconv would give, byte for
 * byte (facts_single_byte checked every byte against it), at several times
 * iconv's speed -- glibc goes through UCS-4 and a function call per step. */
static int stream_feed_table(struct charset_stream *st, const char *data, size_t len)
{
	const struct cs_facts *f = st->facts;

	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)data[i];

		if (f->sb_len[b] == 0)
			return stream_fail(st, st->offset + i);
		if (sizeof(st->out) - st->nout < 4 && stream_flush(st) < 0)
			return stream_fail(st, st->offset + i);
		if (st->ucs4) {
			uint32_t cp = sb_code_point(f, b);

			memcpy(st->out + st->nout, &cp, 4);
			st->nout += 4;
			continue;
		}
		memcpy(st->out + st->nout, f->sb_utf8[b], 4);
		st->nout += f->sb_len[b];
	}
	st->offset += len;
	return 0;
}

/* One code point into the output, as the stream's form wants it. */
static int out_code_point(struct charset_stream *st, uint32_t cp)
{
	unsigned char *o;

	if (st->sink == NULL)
		return 0;	/* a check: nothing sees the output */
	if (sizeof(st->out) - st->nout < 4 && stream_flush(st) < 0)
		return -1;
	o = (unsigned char *)st->out + st->nout;
	if (st->ucs4) {
		memcpy(o, &cp, 4);
		st->nout += 4;
	} else if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		st->nout += 1;
	} else if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		st->nout += 2;
	} else {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		st->nout += 3;
	}
	return 0;
}

static int stream_feed_iconv(struct charset_stream *st, const char *data, size_t len);

/*
 * A double-byte charset by its map (struct db_map): whole characters the map
 * holds are decoded here; from the first sequence it does not hold to the end
 * of this input, iconv decodes as before -- the same output and the same
 * failure offset, since the map holds only what iconv gives for the sequence
 * alone.  A lead byte that ends the input waits in the tail for the next
 * feed, as iconv's incomplete sequences do.
 */
static int stream_feed_map(struct charset_stream *st, const char *data, size_t len)
{
	const struct db_map *m = st->db;
	const unsigned char *p;
	size_t i = 0;

	/* A sequence left incomplete by the last input is finished by iconv,
	 * on a few bytes at a time so that glibc's stray C1 bytes are refused
	 * among them too (stream_feed_iconv) */
	while (st->ntail > 0 && len > 0) {
		size_t k = len < TAIL_MAX ? len : TAIL_MAX;

		if (stream_feed_iconv(st, data, k) < 0)
			return -1;
		data += k;
		len -= k;
	}
	p = (const unsigned char *)data;
	while (i < len) {
		unsigned b = p[i];
		uint32_t cp;

		if (m->single[b] >= 0) {
			cp = (uint32_t)m->single[b];
			i++;
		} else if (m->lead[b] && i + 1 < len && m->pair[b - 0x80][p[i + 1]] != DB_NONE) {
			cp = m->pair[b - 0x80][p[i + 1]];
			i += 2;
		} else if (m->lead[b] && i + 1 == len) {
			st->offset += i;
			st->tail[0] = (char)b;
			st->ntail = 1;
			return 0;
		} else {
			break;
		}
		if (out_code_point(st, cp) < 0)
			return stream_fail(st, st->offset + i);
	}
	st->offset += i;
	return i < len ? stream_feed_iconv(st, data + i, len - i) : 0;
}

int charset_stream_feed(struct charset_stream *st, const char *data, size_t len)
{
	if (st == NULL || st->failed)
		return -1;
	if (st->facts != NULL && st->facts->sb_table && !st->reject_c1)
		return stream_feed_table(st, data, len);
	if (st->db != NULL)
		return stream_feed_map(st, data, len);
	return stream_feed_iconv(st, data, len);
}

/* What iconv decodes, with glibc's stray C1 bytes refused (cs_facts.c1_pass). */
static int stream_feed_iconv(struct charset_stream *st, const char *data, size_t len)
{
	size_t i;

	if (st->facts != NULL && st->facts->has_c1_pass) {
		for (i = 0; i < len; i++)
			if (bit_get(st->facts->c1_pass, (unsigned char)data[i]))
				break;
		if (i < len) {
			/* Convert what precedes the stray byte; the failure is there,
			 * or at an unfinished sequence that it interrupts. */
			size_t before = st->offset + st->ntail + i;

			if (stream_feed_plain(st, data, i) < 0)
				return -1;
			return stream_fail(st, st->ntail > 0 ? st->offset : before);
		}
	}
	return stream_feed_plain(st, data, len);
}

int charset_stream_end(struct charset_stream *st, size_t *bad_offset)
{
	int rc = 0;

	if (st == NULL)
		return -1;
	if (!st->failed && st->ntail > 0)
		stream_fail(st, st->offset);	/* incomplete trailing sequence */
	if (!st->failed) {
		/* Flush shift state and buffered characters (CP1258 composes). */
		for (;;) {
			char *op = st->out + st->nout;
			size_t ol = sizeof(st->out) - st->nout;
			size_t r = iconv(st->cd, NULL, NULL, &op, &ol);

			st->nout = sizeof(st->out) - ol;
			if (r != (size_t)-1)
				break;
			if (errno != E2BIG || stream_flush(st) < 0) {
				stream_fail(st, st->offset);
				break;
			}
		}
		if (!st->failed && stream_flush(st) < 0)
			stream_fail(st, st->offset);
	}
	if (st->failed) {
		if (bad_offset != NULL)
			*bad_offset = st->bad_offset;
		rc = -1;
	}
	if (st->idx == N_CHARSETS)
		iconv_close(st->cd);
	else
		conv_return(st->cv, st->idx, st->ucs4, st->cd);
	free(st);
	return rc;
}

static int buf_sink(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

int charset_decode_utf8(struct charset_conv *cv, const struct charset_info *cs,
			const char *data, size_t len, struct buf *out)
{
	struct charset_stream *st = charset_stream_begin(cv, cs, buf_sink, out);
	int rc;
	size_t bad;

	if (st == NULL)
		return -1;
	rc = charset_stream_feed(st, data, len);
	return charset_stream_end(st, &bad) == 0 && rc == 0 ? 0 : -1;
}

/*
 * Names glibc knew, each with a descriptor held open for the process's life
 * (the registry's converters are pinned in cs_facts): the label ladder's
 * names and senders' spellings load modules of their own (SJIS, UHC,
 * EUC-CN), which would otherwise be loaded and unloaded per message.
 * Bounded: a sender who sends many names only finds the table full.
 */
#define NAME_PINS	32
static struct {
	char name[LABEL_MAX];
	iconv_t cd;
	const struct db_map *db;	/* for a double-byte charset's name: its map */
} name_pins[NAME_PINS];
static size_t n_name_pins;
static pthread_mutex_t name_pins_lock = PTHREAD_MUTEX_INITIALIZER;

/* Pin name's converter; returns the double-byte map of that name (cs: the
 * registry's charset of that name, if any), built with the pin.  The label
 * ladder asks the strict converters (glibc's SJIS, EUC-KR, EUC-CN) of every
 * unlabelled text in those families. */
static const struct db_map *pin_name(const char *name, const struct charset_info *cs)
{
	const struct db_map *db = NULL;
	size_t i;

	pthread_mutex_lock(&name_pins_lock);
	for (i = 0; i < n_name_pins; i++)
		if (strcmp(name_pins[i].name, name) == 0)
			break;
	if (i == n_name_pins && n_name_pins < NAME_PINS) {
		iconv_t cd = iconv_open(UCS4_NAME, name);

		if (cd != (iconv_t)-1) {
			memcpy(name_pins[i].name, name, strlen(name) + 1);
			name_pins[i].cd = cd;
			if (cs != NULL && db_eligible(cs))
				name_pins[i].db = db_map_build(name);
			n_name_pins++;
		}
	}
	if (i < n_name_pins)
		db = name_pins[i].db;
	pthread_mutex_unlock(&name_pins_lock);
	return db;
}

struct charset_stream *charset_stream_begin_name(struct charset_conv *cv, const char *name,
						 charset_sink_fn sink, void *arg)
{
	struct charset_stream *st;
	const struct charset_info *cs;
	iconv_t cd;

	if (cv == NULL || name == NULL || name[0] == '\0' || strlen(name) >= LABEL_MAX)
		return NULL;
	if ((cd = iconv_open(sink == NULL ? UCS4_NAME : "UTF-8", name)) == (iconv_t)-1)
		return NULL;
	cs = charset_lookup(name);
	st = xcalloc(1, sizeof(*st));
	st->cv = cv;
	st->idx = N_CHARSETS;
	st->cd = cd;
	st->ucs4 = sink == NULL;
	st->db = pin_name(name, cs);
	st->reject_c1 = cs == NULL || !(cs->props & CSP_SINGLE_BYTE);
	st->sink = sink;
	st->arg = arg;
	return st;
}

bool charset_name_decodes(struct charset_conv *cv, const char *name,
			  const char *data, size_t len, size_t *bad_offset)
{
	struct charset_stream *st;
	size_t bad = 0;

	if (bad_offset == NULL)
		bad_offset = &bad;
	*bad_offset = 0;
	if ((st = charset_stream_begin_name(cv, name, NULL, NULL)) == NULL)
		return false;
	charset_stream_feed(st, data, len);
	return charset_stream_end(st, bad_offset) == 0;
}

/* ---- which label to write ----------------------------------------------------------- */

/* Narrow family row -> the label row with the same converter (charset.h). */
static const struct label_step {
	const char *narrow, *wide;
} label_ladder[] = {
	{ "shift_jis", "windows-31j" }, { "euc-kr", "cp949" }, { "gb2312", "gbk" },
};

const struct charset_info *charset_label_for(const struct charset_info *cs,
					     charset_name_decodes_fn name_decodes, void *arg)
{
	size_t i;

	if (cs == NULL || name_decodes == NULL)
		return cs;
	/* GB18030 text that needs no four-byte sequence is GBK (or GB 2312) text:
	 * the narrower label is the one more readers know. */
	if (strcmp(cs->mime_name, "gb18030") == 0) {
		if (name_decodes(arg, "gb2312"))
			return cs_named("gb2312");
		return name_decodes(arg, "gbk") ? cs_named("gbk") : cs;
	}
	for (i = 0; i < ARRAY_LEN(label_ladder); i++) {
		if (strcmp(cs->mime_name, label_ladder[i].narrow) != 0)
			continue;
		if (name_decodes(arg, cs->mime_name))
			return cs;
		return cs_named(label_ladder[i].wide);
	}
	return cs;
}

bool charset_label_means_superset(const char *label, const struct charset_info *cs)
{
	static const char *const ms_korean[] = {
		"ks_c_5601-1987", "ks_c_5601-1989", "ks_c_5601", "ksc5601", "ksc_5601",
		"csksc56011987", "windows-949",
	};
	char key[LABEL_MAX];
	size_t i, len;

	if (label == NULL || cs == NULL || strcmp(cs->iconv_name, "CP949") != 0)
		return false;
	len = strlen(label);
	if (!trimmed_key(&label, &len, key))
		return false;
	for (i = 0; i < ARRAY_LEN(ms_korean); i++)
		if (key_is(key, ms_korean[i]))
			return true;
	return false;
}

static size_t utf8_lead_offset(const struct utf8_state *u, size_t at);

static bool ascii_decodes(const char *data, size_t len, size_t *bad_offset)
{
	size_t i = 0;
	uint64_t w;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, data + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
	}
	for (; i < len; i++)
		if ((unsigned char)data[i] >= 0x80) {
			*bad_offset = i;
			return false;
		}
	return true;
}

bool charset_decodes(struct charset_conv *cv, const struct charset_info *cs,
		     const char *data, size_t len, size_t *bad_offset)
{
	struct charset_stream *st;
	const struct cs_facts *f;
	size_t bad = 0, i;

	if (bad_offset == NULL)
		bad_offset = &bad;
	*bad_offset = 0;
	if (cs == NULL || (f = facts_of(cs)) == NULL || !f->iconv_ok)
		return false;
	if (cs->family == CSF_UTF && (cs->props & CSP_MULTI_BYTE)) {
		struct utf8_state u;

		utf8_init(&u);
		utf8_feed(&u, (const unsigned char *)data, len);
		if (utf8_final_ok(&u))
			return true;
		*bad_offset = u.bad ? u.bad_offset : utf8_lead_offset(&u, u.pos);
		return false;
	}
	if (cs->props & CSP_SINGLE_BYTE) {
		/* The byte map is exact for single-byte charsets and far faster. */
		if (cs->family == CSF_ASCII)
			return ascii_decodes(data, len, bad_offset);
		for (i = 0; i < len; i++)
			if (!bit_get(f->defined, (unsigned char)data[i])) {
				*bad_offset = i;
				return false;
			}
		return true;
	}
	if ((st = charset_stream_begin(cv, cs, NULL, NULL)) == NULL)
		return false;
	charset_stream_feed(st, data, len);
	return charset_stream_end(st, bad_offset) == 0;
}

/* ---- UTF-8 validation (RFC 3629) ---------------------------------------------------- */

void utf8_init(struct utf8_state *u)
{
	memset(u, 0, sizeof(*u));
}

/* Offset of the lead byte of the sequence in progress, given that the byte
 * at absolute offset `at` is its next byte. */
static size_t utf8_lead_offset(const struct utf8_state *u, size_t at)
{
	size_t total = u->min == 0x80 ? 2 : u->min == 0x800 ? 3 : 4;

	return at - (total - u->need);
}

/* A lead byte's sequence length (2-4; 0 for a byte that leads nothing:
 * ASCII, a continuation, C0/C1, F5-FF) and the range its second byte must
 * fall in (RFC 3629 table 3-7: no overlongs, surrogates or code points past
 * U+10FFFF). */
static inline size_t utf8_lead(unsigned char b, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if (b >= 0xe0 && b <= 0xef) {
		*lo = b == 0xe0 ? 0xa0 : 0x80;
		*hi = b == 0xed ? 0x9f : 0xbf;
		return 3;
	}
	if (b >= 0xf0 && b <= 0xf4) {
		*lo = b == 0xf0 ? 0x90 : 0x80;
		*hi = b == 0xf4 ? 0x8f : 0xbf;
		return 4;
	}
	return 0;
}

/*
 * The longest prefix of p[0..n) made of ASCII and whole well-formed
 * sequences (checked by byte ranges, no code point built), 16 ASCII bytes
 * at a time where it can.  It stops before anything else -- a sequence cut
 * by the buffer's end, a malformed one -- which the state machine in
 * utf8_feed then takes, so the verdict and its offset stay its own.
 */
static size_t utf8_whole_prefix(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (n - i >= 16) {
			uint64_t w1, w2;

			memcpy(&w1, p + i, 8);
			memcpy(&w2, p + i + 8, 8);
			if (((w1 | w2) & UINT64_C(0x8080808080808080)) == 0) {
				i += 16;
				continue;
			}
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		unsigned char lo, hi;
		size_t len = utf8_lead(p[i], &lo, &hi);

		if (len == 0 || n - i < len || p[i + 1] < lo || p[i + 1] > hi ||
		    (len > 2 && (p[i + 2] & 0xc0) != 0x80) || (len > 3 && (p[i + 3] & 0xc0) != 0x80))
			break;
		i += len;
	}
	return i;
}

void utf8_feed(struct utf8_state *u, const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint32_t need = u->need, cp = u->cp, min = u->min;

	if (u->bad)
		return;
	while (i < n) {
		unsigned char b = p[i];

		if (need == 0) {
			size_t whole = utf8_whole_prefix(p + i, n - i), len;
			unsigned char lo, hi;

			if (whole > 0) {
				i += whole;
				continue;
			}
			/* p[i] leads a sequence the buffer's end cuts: the state
			 * machine takes it on.  Anything else stopping the prefix
			 * -- a continuation, C0/C1, F5-FF, a whole sequence that
			 * is malformed -- is bad here. */
			len = utf8_lead(b, &lo, &hi);
			if (len == 0 || n - i >= len) {
				u->bad = true;
				u->bad_offset = u->pos + i;
				break;
			}
			need = (uint32_t)len - 1;
			cp = b & (0x7fu >> len);
			min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
			i++;
			continue;
		}
		if ((b & 0xc0) != 0x80) {
			u->need = need; u->min = min;
			u->bad = true;
			u->bad_offset = utf8_lead_offset(u, u->pos + i);
			break;
		}
		cp = (cp << 6) | (b & 0x3f);
		need--;
		i++;
		if (need == 0 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) {
			u->need = 0; u->min = min;
			u->bad = true;
			u->bad_offset = u->pos + i - (min == 0x80 ? 2 : min == 0x800 ? 3 : 4);
			break;
		}
	}
	u->need = need;
	u->cp = cp;
	u->min = min;
	u->pos += n;
}

bool utf8_final_ok(const struct utf8_state *u)
{
	return !u->bad && u->need == 0;
}

bool utf8_valid(const char *p, size_t n)
{
	struct utf8_state u;

	utf8_init(&u);
	utf8_feed(&u, (const unsigned char *)p, n);
	return utf8_final_ok(&u);
}

bool charset_same(const struct charset_info *a, const struct charset_info *b)
{
	return a != NULL && b != NULL && (a == b || strcmp(a->mime_name, b->mime_name) == 0);
}
