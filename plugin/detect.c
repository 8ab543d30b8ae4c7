/*
 * detect.c -- the detection cascade: bytes plus context -> charset,
 * confidence, reason.  See detect.h for the order of the steps.
 *
 * The statistical step is ours, with uchardet as one voice in it:
 *   (a) candidate elimination: a charset under which the text does not
 *       decode is never proposed; single-byte charsets whose decoding holds
 *       C1 controls (U+0080-U+009F) are ruled out too -- real text has none,
 *       they are what windows-125x punctuation looks like under iso-8859-x;
 *       multi-byte candidates are ruled out on the scored prefix first, and
 *       the whole text (the caller's oracle, perhaps a re-read of the part)
 *       is checked only for those that rank;
 *   (b) every remaining candidate's decoding of the first SCORE_BYTES of the
 *       text is scored with the language models of its script family
 *       (detect_model.h: character bigram models for alphabetic scripts,
 *       character unigram models for Chinese, Japanese and Korean, trained
 *       on Debian's gettext catalogs); the cost is -ln P of the decoded
 *       text under the best language of the family, plus a small prior that
 *       prefers mail-typical charsets (windows-1251 over IBM855);
 *   (c) uchardet's answer on the sample, the sender TLD and the site default
 *       lower a candidate's cost by fixed amounts -- tie breakers that matter
 *       only when the text carries little evidence.
 * Candidates whose decodings are identical are one candidate: the best-prior
 * name is kept (iso-8859-1 text without C1 bytes is reported as windows-1252
 * or iso-8859-1, both decode it to the same characters).
 */
#include "config.h"

#include <iconv.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uchardet.h>

#include "detect.h"
#include "util.h"

/* ---- language models ---------------------------------------------------------- */

struct model_cmap {
	uint32_t cp;
	uint8_t sym;
};

struct alpha_model {
	const char *lang;
	enum charset_family family;
	bool latin;		/* ASCII letters have their own symbols */
	unsigned nsym;
	const struct model_cmap *cmap;
	size_t ncmap;
	const char *costs;	/* nsym x nsym, char - 32 */
};

struct model_unigram {
	uint32_t cp;
	uint8_t cost;
};

struct cjk_model {
	const char *lang;
	enum charset_family family;
	const struct model_unigram *uni;
	size_t nuni;
	uint8_t gap, latin, other;
};

#include "detect_model.h"

/* Tuning, in model cost units (MODEL_COST_SCALE per nat). */
#define SCORE_BYTES	4096	/* decoded text scored per candidate */
#define OTHER_EXTRA	54	/* a character outside the model's alphabet: ~1/8000 */
#define C1_EXTRA	90	/* a C1 control left in a decoding */
/* A capital right after a small letter, one of them not ASCII ("caractŽre",
 * "длЯ"): the models fold case, so this is the only place a code page that
 * swaps the cases of a letter (Mac against Windows and ISO) is told apart.
 * About 1 in 12,000 such pairs in the gettext strings (9.4 nats); charged
 * less, as an unseen event's cost. */
#define CASE_EXTRA	36
#define UCHARDET_BONUS	12	/* uchardet agrees */
#define TLD_BONUS	18	/* the sender's TLD suggests it */
#define DEFAULT_BONUS	6	/* the site default */
#define CONTEXT_SLACK	30	/* a context charset may score this much worse */
#define MEMORY_SLACK	30	/* a sender memory prior may score this much worse */
/* The sender's own code page (TNEF) is overruled only by an overwhelming
 * contradiction: its decoding scores worse than the best by more than
 * SENDER_SLACK_PER_BYTE per 8-bit byte and SENDER_SLACK_MIN in all (see
 * try_sender for the measurements behind the numbers). */
#define SENDER_SLACK_MIN	(10 * MODEL_COST_SCALE)
#define SENDER_SLACK_PER_BYTE	(MODEL_COST_SCALE / 2)
#define UCHARDET_SAMPLE	(8 * 1024)	/* 32 KB gave the same evaluation results at 4x the cost */

/* The statistical step's candidates, in preference order among identical
 * decodings, with a prior cost: mail-typical charsets first, DOS and Mac
 * code pages (rarely right for mail) last.  A candidate is scored with the
 * models of its registry family plus the languages in `extra` (the Latin
 * code pages that serve languages of several families).  Charsets of the
 * registry left out: UTF-16/32 (not ASCII-compatible, never unlabelled in
 * mail text), the 7-bit escape charsets (found by their escapes),
 * iso-8859-11/tis-620 (windows-874 decodes the same Thai letters),
 * iso-8859-14, ibm437/737/775/857/860-869 (DOS code pages no mail client
 * writes), big5-hkscs and iso-2022-cn (supersets whose extra characters no
 * model knows: big5 or gb18030 decode the same text or the oracle rules
 * them out). */
static const struct candidate_spec {
	const char *name;
	int prior;
	const char *extra;	/* " et " ...: extra model languages */
} candidate_specs[] = {
	{ "windows-1252", 0, NULL }, { "iso-8859-1", 1, NULL }, { "iso-8859-15", 4, " et " },
	{ "macintosh", 24, NULL }, { "iso-8859-10", 24, " is da nb sv fi " },
	{ "windows-1250", 0, NULL }, { "iso-8859-2", 2, NULL }, { "iso-8859-16", 12, NULL },
	{ "ibm852", 24, NULL }, { "x-mac-ce", 24, NULL },
	{ "windows-1251", 0, NULL }, { "koi8-r", 3, NULL }, { "koi8-u", 4, NULL },
	{ "iso-8859-5", 8, NULL }, { "ibm866", 8, NULL }, { "x-mac-cyrillic", 24, NULL },
	{ "ibm855", 36, NULL },
	{ "windows-1253", 0, NULL }, { "iso-8859-7", 2, NULL },
	{ "windows-1254", 0, NULL }, { "iso-8859-9", 2, NULL }, { "iso-8859-3", 20, " tr eo " },
	{ "windows-1255", 0, NULL }, { "iso-8859-8", 6, NULL },
	{ "windows-1256", 0, NULL }, { "iso-8859-6", 6, NULL },
	{ "windows-1257", 0, NULL }, { "iso-8859-13", 2, NULL }, { "iso-8859-4", 16, NULL },
	{ "windows-1258", 2, NULL }, { "viscii", 8, NULL }, { "windows-874", 0, NULL },
	{ "shift_jis", 0, NULL }, { "euc-jp", 0, NULL },
	{ "gb2312", 0, NULL }, { "gb18030", 4, NULL }, { "big5", 0, NULL }, { "euc-tw", 8, NULL },
	{ "euc-kr", 0, NULL }, { "johab", 8, NULL },
};
#define N_CANDIDATES ARRAY_LEN(candidate_specs)

/* ---- single-byte decoding tables (built once) ---------------------------------- */

#define CP_UNDEFINED 0xffffffffu

#define N_ALPHA	ARRAY_LEN(alpha_models)
#define N_CJK	ARRAY_LEN(cjk_models)
#define BMP_SIZE	0x10000u

static uint32_t sbcs_table[N_CANDIDATES][256];
static const struct charset_info *candidate_cs[N_CANDIDATES];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/*
 * Scoring tables, so that scoring costs a few loads per character instead of
 * a binary search over the model's code point map and a scan of the
 * punctuation list.  For a single-byte candidate and an alphabetic model of
 * its family, everything the scorer needs about a byte: the model symbol of
 * the character it decodes to, the extra cost of that character, and whether
 * it is ASCII.  For a CJK model, the whole cost of a BMP character >= 128.
 */
struct sbcs_model_table {
	uint8_t sym[256];
	bool ascii[256];
	int16_t extra[256];
	uint8_t lcase[256];	/* LETTER_UPPER / LETTER_LOWER / 0 */
};
static struct sbcs_model_table *sbcs_model[N_CANDIDATES][N_ALPHA];
static bool sbcs_fast[N_CANDIDATES];	/* every model of the family has a table */
static uint16_t *cjk_cost[N_CJK];	/* BMP code point -> cost, [0, 128) unused */

static void sbcs_model_tables_init(size_t spec);
static void cjk_tables_init(void);

static uint32_t
decode_one_byte(iconv_t cd, unsigned char b)
{
	char in[1], out[16];
	char *ip = in, *op = out;
	size_t il = 1, ol = sizeof(out);

	in[0] = (char)b;
	iconv(cd, NULL, NULL, NULL, NULL);
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return CP_UNDEFINED;
	if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return CP_UNDEFINED;
	if (sizeof(out) - ol != 4)
		return CP_UNDEFINED;	/* no or several characters */
	const unsigned char *u = (const unsigned char *)out;
	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void
tables_init(void)
{
	for (size_t i = 0; i < N_CANDIDATES; i++) {
		const struct charset_info *cs = charset_lookup(candidate_specs[i].name);

		candidate_cs[i] = cs;
		if (cs == NULL || !(cs->props & CSP_SINGLE_BYTE))
			continue;
		iconv_t cd = iconv_open("UTF-32LE", cs->iconv_name);
		for (unsigned b = 0; b < 256; b++)
			sbcs_table[i][b] = cd == (iconv_t)-1 ? CP_UNDEFINED : decode_one_byte(cd, (unsigned char)b);
		if (cd != (iconv_t)-1)
			iconv_close(cd);
		sbcs_model_tables_init(i);
	}
	cjk_tables_init();
}

/* ---- scoring ---------------------------------------------------------------------- */

/* Extra cost of a character outside a model's alphabet.  Typographic
 * punctuation and the euro sign are common in mail whatever the language;
 * what a wrong code page makes of them (currency sign, fractions, spacing
 * accents) is not, and C1 controls never are. */
static long
other_extra(uint32_t cp)
{
	static const uint32_t plausible[] = {
		0x00a0, 0x00a9, 0x00ab, 0x00ae, 0x00b0, 0x00bb, 0x2013, 0x2014, 0x2018, 0x2019,
		0x201a, 0x201c, 0x201d, 0x201e, 0x2022, 0x2026, 0x20ac, 0x2122,
	};

	if (cp >= 0x80 && cp < 0xa0)
		return OTHER_EXTRA + C1_EXTRA;
	for (size_t i = 0; i < ARRAY_LEN(plausible); i++)
		if (plausible[i] == cp)
			return OTHER_EXTRA / 2;
	return OTHER_EXTRA;
}

#define LETTER_UPPER	1
#define LETTER_LOWER	2

/* The case of a letter of the scripts the single-byte code pages hold
 * (Latin, Greek, Cyrillic); 0 for anything else and for scripts without
 * case. */
static int
letter_case(uint32_t cp)
{
	/* ranges where even code points are capitals and odd ones small */
	static const uint32_t pairs_even[][2] = {
		{ 0x0100, 0x0137 }, { 0x014a, 0x0177 }, { 0x01a0, 0x01a1 },
		{ 0x0218, 0x021b }, { 0x0460, 0x0481 }, { 0x048a, 0x04bf }, { 0x1e00, 0x1eff },
	};

	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? LETTER_UPPER : cp >= 'a' && cp <= 'z' ? LETTER_LOWER : 0;
	if (cp >= 0xc0 && cp <= 0xff && cp != 0xd7 && cp != 0xf7)
		return cp < 0xdf ? LETTER_UPPER : LETTER_LOWER;
	for (size_t i = 0; i < ARRAY_LEN(pairs_even); i++)
		if (cp >= pairs_even[i][0] && cp <= pairs_even[i][1])
			return cp % 2 == 0 ? LETTER_UPPER : LETTER_LOWER;
	if ((cp >= 0x0139 && cp <= 0x0148) || (cp >= 0x0179 && cp <= 0x017e) || cp == 0x01af || cp == 0x01b0)
		return cp % 2 == 1 ? LETTER_UPPER : LETTER_LOWER;
	if (cp == 0x0138 || cp == 0x0149 || cp == 0x017f || cp == 0x0390 || (cp >= 0x03ac && cp <= 0x03ce) ||
	    (cp >= 0x0430 && cp <= 0x045f))
		return LETTER_LOWER;
	if (cp == 0x0178 || cp == 0x0386 || (cp >= 0x0388 && cp <= 0x038f && cp != 0x038b && cp != 0x038d) ||
	    (cp >= 0x0391 && cp <= 0x03ab && cp != 0x03a2) || (cp >= 0x0400 && cp <= 0x042f))
		return LETTER_UPPER;
	return 0;
}

/* The extra cost of the pair (a, b) for its letter case. */
static long
case_extra(uint32_t a, uint32_t b)
{
	if (a < 0x80 && b < 0x80)
		return 0;
	return letter_case(a) == LETTER_LOWER && letter_case(b) == LETTER_UPPER ? CASE_EXTRA : 0;
}

static int
alpha_symbol(const struct alpha_model *m, uint32_t cp)
{
	if (cp < 128) {
		if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
			return m->latin ? (int)((cp | 0x20) - 'a' + 1) : 1;
		return 0;
	}
	size_t lo = 0, hi = m->ncmap;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->cmap[mid].cp == cp)
			return m->cmap[mid].sym;
		if (m->cmap[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int)m->nsym - 1;
}

static long
score_alpha(const struct alpha_model *m, const uint32_t *cps, size_t n)
{
	long cost = 0;
	int prev = 0, other = (int)m->nsym - 1;
	bool prev_ascii = true;

	for (size_t i = 0; i < n; i++) {
		int sym = alpha_symbol(m, cps[i]);
		bool ascii = cps[i] < 128;

		if (!ascii || !prev_ascii)	/* ASCII-ASCII pairs carry no evidence */
			cost += m->costs[prev * (int)m->nsym + sym] - 32 + (i > 0 ? case_extra(cps[i - 1], cps[i]) : 0);
		if (sym == other)
			cost += other_extra(cps[i]);
		prev_ascii = ascii;
		prev = sym;
	}
	return cost + (prev_ascii ? 0 : m->costs[prev * (int)m->nsym] - 32);
}

/*
 * The scored text as the distinct byte pairs an alphabetic model charges
 * (every pair but ASCII after ASCII, plus the text's start and end), each
 * with its count.  A model's cost is a sum over pairs, so every single-byte
 * candidate under every model of its family is summed over these few
 * hundred pairs instead of over up to 8 KB of text: the same integer as
 * walking the bytes, built once per scored text.
 */
#define PAIR_EDGE	256	/* as prev: before the first byte; as cur: after the last */
#define PAIR_MAX	(2 * SCORE_BYTES + 1)
#define PAIR_SLOTS	16384	/* power of two, > 2 * PAIR_MAX */

struct byte_pairs {
	size_t n;
	uint16_t prev[PAIR_MAX], cur[PAIR_MAX];
	uint32_t count[PAIR_MAX];
	uint16_t slot[PAIR_SLOTS];	/* index + 1 into the arrays above, 0 = free */
};

static void
byte_pairs_add(struct byte_pairs *bp, unsigned prev, unsigned cur)
{
	uint32_t key = prev * 257 + cur;
	size_t h = (key * 2654435761u) >> 18;	/* top 14 bits: PAIR_SLOTS */

	for (;; h = (h + 1) & (PAIR_SLOTS - 1)) {
		uint16_t k = bp->slot[h];

		if (k == 0)
			break;
		if (bp->prev[k - 1] == prev && bp->cur[k - 1] == cur) {
			bp->count[k - 1]++;
			return;
		}
	}
	bp->prev[bp->n] = (uint16_t)prev;
	bp->cur[bp->n] = (uint16_t)cur;
	bp->count[bp->n] = 1;
	bp->slot[h] = (uint16_t)++bp->n;
}

/* text holds at most 2 * SCORE_BYTES bytes (scored_text()). */
static struct byte_pairs *
byte_pairs_new(const unsigned char *text, size_t n)
{
	struct byte_pairs *bp = xmalloc(sizeof(*bp));
	unsigned prev = PAIR_EDGE;
	bool prev_ascii = true;

	bp->n = 0;
	memset(bp->slot, 0, sizeof(bp->slot));
	for (size_t i = 0; i < n; i++) {
		unsigned char b = text[i];
		bool ascii = b < 0x80;

		if (!ascii || !prev_ascii)	/* ASCII-ASCII pairs carry no evidence */
			byte_pairs_add(bp, prev, b);
		prev_ascii = ascii;
		prev = b;
	}
	if (!prev_ascii)
		byte_pairs_add(bp, prev, PAIR_EDGE);
	return bp;
}

/* The cost of a single-byte candidate's decoding under an alphabetic model,
 * from the text's byte pairs through the candidate's tables: the same sum
 * as score_alpha() on the decoded code points. */
static long
score_alpha_sbcs(const struct alpha_model *m, const struct sbcs_model_table *t,
		 const struct byte_pairs *bp)
{
	long cost = 0;
	unsigned nsym = m->nsym;

	for (size_t k = 0; k < bp->n; k++) {
		unsigned a = bp->prev[k], b = bp->cur[k];
		unsigned row = (a == PAIR_EDGE ? 0 : t->sym[a]) * nsym;
		long c = b == PAIR_EDGE ? m->costs[row] - 32 : m->costs[row + t->sym[b]] - 32 + t->extra[b];

		if (a != PAIR_EDGE && b != PAIR_EDGE && t->lcase[a] == LETTER_LOWER && t->lcase[b] == LETTER_UPPER)
			c += CASE_EXTRA;

		cost += c * (long)bp->count[k];
	}
	return cost;
}

/* Cost of a character >= 128 under a CJK model, without the table. */
static long
cjk_char_cost(const struct cjk_model *m, uint32_t cp)
{
	size_t lo = 0, hi = m->nuni;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->uni[mid].cp == cp)
			return m->uni[mid].cost;
		if (m->uni[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return m->other + other_extra(cp);
}

/* Is model m one the candidate is scored with? */
static bool
model_applies(size_t spec, const struct alpha_model *m)
{
	char key[16];

	if (m->family == candidate_cs[spec]->family)
		return true;
	if (candidate_specs[spec].extra == NULL)
		return false;
	snprintf(key, sizeof(key), " %s ", m->lang);
	return strstr(candidate_specs[spec].extra, key) != NULL;
}

static void
sbcs_model_tables_init(size_t spec)
{
	const struct charset_info *cs = candidate_cs[spec];

	sbcs_fast[spec] = true;
	for (size_t i = 0; i < N_CJK; i++)
		if (cjk_models[i].family == cs->family)
			sbcs_fast[spec] = false;
	for (size_t i = 0; i < N_ALPHA; i++) {
		const struct alpha_model *m = &alpha_models[i];
		int other = (int)m->nsym - 1;

		if (!model_applies(spec, m))
			continue;
		struct sbcs_model_table *t = xmalloc(sizeof(*t));
		for (unsigned b = 0; b < 256; b++) {
			uint32_t cp = sbcs_table[spec][b];
			int sym = alpha_symbol(m, cp);
			long extra = 0;

			if (sym == other)
				extra = other_extra(cp);
			t->sym[b] = (uint8_t)sym;
			t->ascii[b] = cp < 128;
			t->extra[b] = (int16_t)extra;
			t->lcase[b] = (uint8_t)letter_case(cp);
		}
		sbcs_model[spec][i] = t;
	}
}

static void
cjk_tables_init(void)
{
	for (size_t i = 0; i < N_CJK; i++) {
		uint16_t *t = xreallocarray(NULL, BMP_SIZE, sizeof(*t));

		memset(t, 0, 128 * sizeof(*t));
		for (uint32_t cp = 128; cp < BMP_SIZE; cp++)
			t[cp] = (uint16_t)cjk_char_cost(&cjk_models[i], cp);
		cjk_cost[i] = t;
	}
}

static long
score_cjk(size_t model, const uint32_t *cps, size_t n)
{
	const struct cjk_model *m = &cjk_models[model];
	const uint16_t *table = cjk_cost[model];
	long cost = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t cp = cps[i];

		if (cp < 128)
			continue;	/* ASCII carries no evidence */
		cost += cp < BMP_SIZE ? table[cp] : cjk_char_cost(m, cp);
	}
	return cost;
}

/*
 * A candidate's cost over the languages it is scored with: -ln of the sum of
 * their probabilities, not the best language's alone, so that languages
 * agreeing on a reading add up (a header's "é" that French, Spanish and
 * Portuguese all expect).  Not divided by their number (a uniform prior
 * per language): that put Western code pages 2.6 nats behind windows-1253's
 * one language in the body-context slack, and a French name over a Greek
 * body took the body's charset (headers.py, 100% -> 92%).  In cost units,
 * integer: the log-sum-exp correction from a table (no libm).
 */
struct lang_mix {
	long sum;
	unsigned k;
};

static void
lang_mix_add(struct lang_mix *mx, long c)
{
	static const unsigned char corr[] = { 4, 4, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1 };

	if (mx->k++ == 0) {
		mx->sum = c;
		return;
	}
	long d = mx->sum > c ? mx->sum - c : c - mx->sum;
	mx->sum = (mx->sum < c ? mx->sum : c) - (d < (long)sizeof(corr) ? corr[d] : 0);
}

static long
lang_mix_cost(const struct lang_mix *mx)
{
	if (mx->k == 0)
		return -1;
	return mx->sum < 0 ? 0 : mx->sum;	/* -1 means "no model" */
}

/* Cost of a decoding over the languages of a family (lang_mix); *lang
 * names the best language.  -1 when the family has no model. */
static long
score_family(enum charset_family fam, const uint32_t *cps, size_t n, const char **lang)
{
	long best = -1;
	struct lang_mix mx = { 0, 0 };

	*lang = "?";
	for (size_t i = 0; i < ARRAY_LEN(alpha_models); i++) {
		if (alpha_models[i].family != fam)
			continue;
		long c = score_alpha(&alpha_models[i], cps, n);
		lang_mix_add(&mx, c);
		if (best < 0 || c < best) {
			best = c;
			*lang = alpha_models[i].lang;
		}
	}
	for (size_t i = 0; i < ARRAY_LEN(cjk_models); i++) {
		if (cjk_models[i].family != fam)
			continue;
		long c = score_cjk(i, cps, n);
		lang_mix_add(&mx, c);
		if (best < 0 || c < best) {
			best = c;
			*lang = cjk_models[i].lang;
		}
	}
	return lang_mix_cost(&mx);
}

/* score_family() for a single-byte candidate whose family has only
 * alphabetic models: scored from the bytes through the candidate's tables. */
static long
score_family_sbcs(size_t spec, const struct byte_pairs *bp, const char **lang)
{
	long best = -1;
	struct lang_mix mx = { 0, 0 };

	*lang = "?";
	for (size_t i = 0; i < N_ALPHA; i++) {
		if (sbcs_model[spec][i] == NULL)
			continue;
		long c = score_alpha_sbcs(&alpha_models[i], sbcs_model[spec][i], bp);
		lang_mix_add(&mx, c);
		if (best < 0 || c < best) {
			best = c;
			*lang = alpha_models[i].lang;
		}
	}
	return lang_mix_cost(&mx);
}

/* ---- decoding the scored prefix ---------------------------------------------------- */

struct cp_sink {
	uint32_t *cps;
	size_t n, cap;
};

/* The stream's code points (host-order uint32_t, charset_stream_begin_ucs4). */
static int
cp_sink_fn(void *arg, const char *data, size_t len)
{
	struct cp_sink *s = arg;
	size_t take = len / 4;

	if (take > s->cap - s->n)
		take = s->cap - s->n;
	memcpy(s->cps + s->n, data, take * 4);
	s->n += take;
	return 0;
}

/* Decode the scored prefix under a multi-byte candidate. */
static bool
decode_multibyte(struct charset_conv *cv, const struct charset_info *cs,
		 const unsigned char *p, size_t len, bool cut, struct cp_sink *sink)
{
	struct charset_stream *st = charset_stream_begin_ucs4(cv, cs, cp_sink_fn, sink);
	size_t bad = 0;

	if (st == NULL)
		return false;
	int r = charset_stream_feed(st, (const char *)p, len);
	int e = charset_stream_end(st, &bad);
	if (r == 0 && e == 0)
		return true;
	/* A prefix cut inside a character fails at its very end only. */
	return cut && (e == 0 || bad + 8 >= len) && sink->n > 0;
}

/* ---- the cascade -------------------------------------------------------------------- */

struct cascade {
	const struct text_analysis *ta;
	detect_decodes_fn decodes;
	void *decodes_arg;
	struct charset_conv *cv;
	char ruled_out[160];	/* "koi8-r (C1), utf-8 (invalid)" */
	/* the oracle's answers so far for multi-byte charsets (it may re-read the part) */
	const struct charset_info *asked[8];
	bool answer[8];
	size_t nasked;
};

static void
note_ruled_out(struct cascade *c, const char *name, const char *why)
{
	size_t len = strlen(c->ruled_out);

	if (len + strlen(name) + strlen(why) + 6 >= sizeof(c->ruled_out))
		return;
	snprintf(c->ruled_out + len, sizeof(c->ruled_out) - len, "%s%s (%s)",
		 len ? ", " : "", name, why);
}

/* The same note, placed at offset at of the list (where it would have
 * gone had it been written then). */
static void
note_ruled_out_at(struct cascade *c, size_t at, const char *name, const char *why)
{
	char tail[sizeof(c->ruled_out)];
	size_t len = strlen(c->ruled_out);

	if (at > len)
		at = len;
	memcpy(tail, c->ruled_out + at, len - at + 1);
	c->ruled_out[at] = '\0';
	note_ruled_out(c, name, why);
	if (tail[0] == '\0')
		return;
	size_t now = strlen(c->ruled_out);
	if (now + strlen(tail) + 2 >= sizeof(c->ruled_out))
		return;
	snprintf(c->ruled_out + now, sizeof(c->ruled_out) - now, "%s%s",
		 now > 0 && tail[0] != ',' ? ", " : "", tail);
}

/* Does the whole text decode under cs? */
static bool
cascade_decodes(struct cascade *c, const struct charset_info *cs)
{
	const struct text_analysis *ta = c->ta;

	if (cs == NULL || !charset_iconv_ok(cs))
		return false;
	if (cs->props & CSP_SINGLE_BYTE)
		return text_analysis_sbcs_decodes(ta, cs);
	for (size_t i = 0; i < c->nasked; i++)
		if (c->asked[i] == cs)
			return c->answer[i];
	bool ok = false;
	if (c->decodes != NULL)
		ok = c->decodes(c->decodes_arg, cs);
	else if (ta->sample_complete)
		ok = charset_decodes(c->cv, cs, (const char *)ta->sample, ta->sample_len, NULL);
	if (c->nasked < ARRAY_LEN(c->asked)) {
		c->asked[c->nasked] = cs;
		c->answer[c->nasked++] = ok;
	}
	return ok;
}

static void
set_result(struct detect_result *out, const struct charset_info *cs, int confidence,
	   enum detect_source src, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
set_result(struct detect_result *out, const struct charset_info *cs, int confidence,
	   enum detect_source src, const char *fmt, ...)
{
	va_list ap;

	out->charset = cs;
	out->confidence = confidence < 0 ? 0 : confidence > 100 ? 100 : confidence;
	out->source = src;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	for (char *p = out->reason; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/* One uchardet detector per thread, reset between texts: a new one builds
 * its probers and their tables again, which cost as much as detecting a
 * short text.  The key's destructor frees it when a milter thread ends. */
static pthread_key_t uchardet_key;
static bool uchardet_key_ok;
static pthread_once_t uchardet_once = PTHREAD_ONCE_INIT;

static void
uchardet_free(void *ud)
{
	uchardet_delete(ud);
}

static void
uchardet_key_init(void)
{
	uchardet_key_ok = pthread_key_create(&uchardet_key, uchardet_free) == 0;
}

/* The thread's detector, reset; *own when the caller must delete it (no
 * key, or it could not be kept). */
static uchardet_t
thread_uchardet(bool *own)
{
	uchardet_t ud;

	pthread_once(&uchardet_once, uchardet_key_init);
	*own = !uchardet_key_ok;
	ud = uchardet_key_ok ? pthread_getspecific(uchardet_key) : NULL;
	if (ud != NULL) {
		uchardet_reset(ud);
		return ud;
	}
	ud = uchardet_new();
	if (ud != NULL && !*own && pthread_setspecific(uchardet_key, ud) != 0)
		*own = true;
	return ud;
}

/* uchardet on bytes, relabelled: its names are registry labels; ISO-8859-1
 * and friends on text with C1 bytes become the Windows superset. */
static const struct charset_info *
uchardet_guess(const char *data, size_t len)
{
	bool own;
	uchardet_t ud = thread_uchardet(&own);
	const struct charset_info *cs = NULL;
	bool c1 = false;

	if (ud == NULL)
		return NULL;
	uchardet_handle_data(ud, data, len);
	uchardet_data_end(ud);
	const char *name = uchardet_get_charset(ud);
	if (name != NULL && *name != '\0') {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)data[i] >= 0x80 && (unsigned char)data[i] < 0xa0) {
				c1 = true;
				break;
			}
		cs = charset_superset(charset_lookup(name), c1);
	}
	if (own)
		uchardet_delete(ud);
	return cs;
}

const struct charset_info *
detect_uchardet_only(const char *data, size_t len)
{
	return uchardet_guess(data, len);
}

struct scored {
	size_t spec;			/* index into candidate_specs */
	const struct charset_info *cs;
	long cost;
	const char *lang;
	bool merged;			/* an identical decoding with a better prior exists */
	bool checked;			/* the whole text is known to decode */
};

/*
 * The text the candidates are scored on: the 8-bit evidence, not the ASCII
 * around it.  Only "words" holding a byte >= 0x80 are taken, each with the
 * boundary byte on either side of it (below 0x40 and not a digit: space,
 * punctuation, '<' '>' of markup -- never part of a multi-byte character,
 * not even GB18030's four-byte ones, so no candidate sees a split one).
 * Pure-ASCII words -- English, tags, entities, URLs, addresses -- are left
 * out: they say nothing about the charset.  The sample is cut
 * into SCORE_STRIDES equal stretches, each with an equal share of the
 * SCORE_BYTES budget (unused shares roll over), so a long text is sampled
 * throughout, not only at its start.  A run of more than SCORE_WORD bytes
 * without a safe boundary (dense CJK text) ends the walk; when nothing was
 * taken before it, the first SCORE_BYTES of it are scored as a prefix that
 * may end inside a character (*cut).  out has room for 2 * SCORE_BYTES.
 */
#define SCORE_STRIDES	8
#define BOUNDARY(b)	((b) < 0x30 || ((b) >= 0x3a && (b) < 0x40))
#define SCORE_WORD	1024

struct walk {
	const unsigned char *p;
	size_t len;
	unsigned char *out;
	size_t n, last;		/* bytes out; one past the last source byte copied */
};

static size_t
next_8bit(const unsigned char *p, size_t pos, size_t end)
{
	while (pos < end && p[pos] < 0x80)
		pos++;
	return pos;
}

/* Copy the word around the 8-bit byte at q (never reaching back before
 * `from`, what is already copied) with its boundary bytes; returns the
 * position after it, or 0 when the word is too long to bound. */
static size_t
walk_word(struct walk *w, size_t q, size_t from)
{
	const unsigned char *p = w->p;
	size_t s = q, e = q;

	while (s > from && !BOUNDARY(p[s - 1]) && q - s < SCORE_WORD)
		s--;
	while (e < w->len && !BOUNDARY(p[e]) && e - s < SCORE_WORD)
		e++;
	if ((s > 0 && !BOUNDARY(p[s - 1])) || (e < w->len && !BOUNDARY(p[e])))
		return 0;		/* no boundary within reach */
	if (s > 0 && w->last != s)
		s--;			/* the boundary byte before */
	if (e < w->len)
		e++;			/* and after */
	memcpy(w->out + w->n, p + s, e - s);
	w->n += e - s;
	w->last = e;
	return e;
}

/* The word around the first occurrence of every 8-bit byte value the walk
 * did not take: the one Greek capital with tonos or euro sign that tells
 * windows-1253 from iso-8859-7, or iso-8859-15 from windows-1252, may sit
 * anywhere in a long text. */
static void
add_rare_bytes(struct walk *w)
{
	bool seen[256];
	size_t end = w->last;

	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < w->n; i++)
		seen[w->out[i]] = true;
	for (size_t pos = next_8bit(w->p, 0, w->len); pos < w->len; pos = next_8bit(w->p, pos + 1, w->len)) {
		if (seen[w->p[pos]])
			continue;
		if (w->n + 2 * SCORE_WORD + 2 > 2 * SCORE_BYTES)
			break;
		w->last = SIZE_MAX;	/* a copy of its own, boundaries included */
		size_t n0 = w->n;
		if (walk_word(w, pos, 0) == 0)
			seen[w->p[pos]] = true;	/* unbounded: give up on this value */
		for (size_t i = n0; i < w->n; i++)
			seen[w->out[i]] = true;
	}
	w->last = end;
}

static size_t
scored_text(const struct text_analysis *ta, unsigned char *out, bool *cut)
{
	struct walk w = { ta->sample, ta->sample_len, out, 0, 0 };
	size_t strides = w.len > 2 * SCORE_BYTES ? SCORE_STRIDES : 1;
	size_t stride = w.len / strides + 1, pos = 0;

	*cut = false;
	for (size_t k = 0; k < strides; k++) {
		size_t end = k + 1 == strides ? w.len : (k + 1) * stride;
		size_t budget = (k + 1) * (SCORE_BYTES / strides);

		if (pos < k * stride) {		/* resume after a safe byte */
			pos = k * stride;
			while (pos < end && !BOUNDARY(w.p[pos]))
				pos++;
		}
		while (w.n < budget && (pos = next_8bit(w.p, pos, end)) < end) {
			if (w.n + 2 * SCORE_WORD + 2 > 2 * SCORE_BYTES)
				return w.n;
			size_t next = walk_word(&w, pos, w.last);
			if (next == 0 && w.n == 0) {	/* dense text: a prefix */
				w.n = w.len - pos < SCORE_BYTES ? w.len - pos : SCORE_BYTES;
				memcpy(out, w.p + pos, w.n);
				*cut = pos + w.n < w.len || !ta->sample_complete;
				return w.n;
			}
			if (next == 0)
				return w.n;
			pos = next;
		}
	}
	*cut = !ta->sample_complete && w.last == w.len;
	add_rare_bytes(&w);
	return w.n;
}

/* Two single-byte candidates decode this text identically. */
static bool
same_sbcs_decoding(const struct text_analysis *ta, size_t a, size_t b)
{
	for (unsigned byte = 0x80; byte < 0x100; byte++)
		if (ta->hist[byte] > 0 && sbcs_table[a][byte] != sbcs_table[b][byte])
			return false;
	return true;
}

static bool
sbcs_has_c1(const struct text_analysis *ta, size_t spec)
{
	for (unsigned byte = 0x80; byte < 0x100; byte++) {
		uint32_t cp = sbcs_table[spec][byte];

		if (ta->hist[byte] > 0 && cp >= 0x80 && cp < 0xa0)
			return true;
	}
	return false;
}

/* The text has C1 bytes and single-byte candidate spec reads one as a C1
 * control: never text, so the candidate is no answer. */
static bool
reads_c1(const struct text_analysis *ta, size_t spec)
{
	return ta->has_c1 && sbcs_has_c1(ta, spec);
}

/* The tie breakers a candidate earns while scored: the sender's TLD, the
 * site default (uchardet's agreement is added afterwards, when asked:
 * add_uchardet_vote). */
static long
context_bonus(const struct detect_context *ctx, const struct charset_info *cs, const struct charset_info *tld)
{
	long bonus = 0;

	if (tld != NULL && cs == tld)
		bonus += TLD_BONUS;
	if (ctx != NULL && cs == ctx->site_default)
		bonus += DEFAULT_BONUS;
	return bonus;
}

/* Best first; equal costs in candidate order (what a stable sort of the
 * candidates in order gives, whatever order sc[] is in now). */
static void
sort_scored(struct scored *sc, size_t nsc)
{
	for (size_t i = 1; i < nsc; i++)
		for (size_t k = i; k > 0 && (sc[k].cost < sc[k - 1].cost ||
					     (sc[k].cost == sc[k - 1].cost && sc[k].spec < sc[k - 1].spec)); k--) {
			struct scored t = sc[k];
			sc[k] = sc[k - 1];
			sc[k - 1] = t;
		}
}

/* Statistical step: returns the number of candidates scored into sc[]
 * (sorted best first, merged ones excluded). */
static size_t
score_candidates_on(struct cascade *c, const struct detect_context *ctx,
		    const unsigned char *text, size_t plen,
		    const struct byte_pairs *bp, bool cut, struct scored *sc, size_t *merged_into)
{
	const struct text_analysis *ta = c->ta;
	const struct charset_info *tld = ctx != NULL ? detect_tld_hint(ctx->sender_tld) : NULL;
	uint32_t *cps = xreallocarray(NULL, plen + 1, sizeof(*cps));
	size_t nsc = 0;
	bool c1_ruled = false;

	for (size_t i = 0; merged_into != NULL && i < N_CANDIDATES; i++)
		merged_into[i] = N_CANDIDATES;

	for (size_t i = 0; i < N_CANDIDATES; i++) {
		const struct charset_info *cs = candidate_cs[i];
		size_t n = 0;

		/* Multi-byte candidates are scored on the prefix they decode and
		 * checked against the whole text only when they rank (see
		 * drop_undecodable): the oracle may re-read the whole part. */
		if (cs == NULL)
			continue;
		bool multibyte = !(cs->props & CSP_SINGLE_BYTE);
		if (!multibyte && !cascade_decodes(c, cs))
			continue;
		if (cs->props & CSP_SINGLE_BYTE) {
			if (reads_c1(ta, i)) {
				c1_ruled = true;
				continue;
			}
			size_t k;
			for (k = 0; k < nsc; k++)
				if ((sc[k].cs->props & CSP_SINGLE_BYTE) && same_sbcs_decoding(ta, sc[k].spec, i) &&
				    sc[k].cs->family == cs->family)
					break;
			if (k < nsc) {
				/* merged: its votes go to the name kept, now and
				 * uchardet's later through merged_into (its
				 * iso-8859-13 for a windows-1257 decoding) */
				sc[k].cost -= context_bonus(ctx, cs, tld);
				if (merged_into != NULL)
					merged_into[i] = sc[k].spec;
				continue;
			}
		}
		const char *lang;
		long cost;
		if (sbcs_fast[i]) {
			cost = score_family_sbcs(i, bp, &lang);
		} else {
			if (cs->props & CSP_SINGLE_BYTE) {
				for (size_t k = 0; k < plen; k++)
					cps[n++] = sbcs_table[i][text[k]];
			} else {
				struct cp_sink sink = { cps, 0, plen + 1 };

				if (!decode_multibyte(c->cv, cs, text, plen, cut, &sink))
					continue;
				n = sink.n;
			}
			cost = score_family(cs->family, cps, n, &lang);
		}
		if (cost < 0)
			continue;
		cost += candidate_specs[i].prior - context_bonus(ctx, cs, tld);
		sc[nsc++] = (struct scored){ i, cs, cost, lang, false, !multibyte };

	}
	free(cps);
	if (c1_ruled)
		note_ruled_out(c, "iso-8859-x", "C1 controls");
	sort_scored(sc, nsc);
	return nsc;
}

static size_t
score_candidates(struct cascade *c, const struct detect_context *ctx, struct scored *sc,
		 size_t *merged_into)
{
	bool cut;
	unsigned char *text = xmalloc(2 * SCORE_BYTES);
	size_t plen = scored_text(c->ta, text, &cut);
	struct byte_pairs *bp = byte_pairs_new(text, plen);
	size_t nsc = score_candidates_on(c, ctx, text, plen, bp, cut, sc, merged_into);

	free(bp);
	free(text);
	return nsc;
}

/* Does the text decode under a scored candidate?  Asks the oracle once. */
static bool
scored_decodes(struct cascade *c, struct scored *s)
{
	if (!s->checked && cascade_decodes(c, s->cs))
		s->checked = true;
	return s->checked;
}

/* Make sure the first `want` candidates decode the whole text, dropping the
 * ones that do not: the result is what checking every candidate up front
 * would have given, for those places. */
static void
drop_undecodable(struct cascade *c, struct scored *sc, size_t *nsc, size_t want)
{
	for (size_t i = 0; i < *nsc && i < want;) {
		if (scored_decodes(c, &sc[i])) {
			i++;
			continue;
		}
		memmove(&sc[i], &sc[i + 1], (*nsc - i - 1) * sizeof(*sc));
		(*nsc)--;
	}
}

static int
confidence_of_margin(long margin_units, const struct text_analysis *ta)
{
	double nats = (double)margin_units / MODEL_COST_SCALE;
	int conf = 40 + (int)(nats * 4);

	if (ta->decoded_len < 100 && conf > 80)
		conf = 80;
	return conf < 30 ? 30 : conf > 97 ? 97 : conf;
}

static bool
try_escapes(struct cascade *c, struct detect_result *out)
{
	const struct text_analysis *ta = c->ta;
	static const struct { const char *name; size_t off; } esc[] = {
		{ "iso-2022-jp", offsetof(struct text_analysis, iso2022jp) },
		{ "iso-2022-kr", offsetof(struct text_analysis, iso2022kr) },
		{ "hz-gb-2312", offsetof(struct text_analysis, hz) },
	};

	if (ta->has_8bit)
		return false;
	for (size_t i = 0; i < ARRAY_LEN(esc); i++) {
		if (!*(const bool *)((const char *)ta + esc[i].off))
			continue;
		const struct charset_info *cs = charset_lookup(esc[i].name);
		if (cascade_decodes(c, cs)) {
			set_result(out, cs, 95, DETECT_ESCAPES, "7-bit %s escape sequences", esc[i].name);
			return true;
		}
		note_ruled_out(c, esc[i].name, "does not decode");
	}
	return false;
}

/* The candidate index of cs, N_CANDIDATES when it is none. */
static size_t
candidate_index(const struct charset_info *cs)
{
	for (size_t i = 0; i < N_CANDIDATES; i++)
		if (candidate_cs[i] == cs)
			return i;
	return N_CANDIDATES;
}

/* Is the scored candidate s cs itself, or one cs was merged into (single-
 * byte, same family, same decoding of these bytes)?  spec: cs's candidate
 * index. */
static bool
scored_as(const struct text_analysis *ta, const struct charset_info *cs, size_t spec, const struct scored *s)
{
	return s->cs == cs || (spec < N_CANDIDATES && (cs->props & CSP_SINGLE_BYTE) &&
			       (s->cs->props & CSP_SINGLE_BYTE) && s->cs->family == cs->family &&
			       same_sbcs_decoding(ta, s->spec, spec));
}

/* The rank of cs among the scored candidates (scored_as); nsc when it was
 * not scored. */
static size_t
scored_rank(const struct text_analysis *ta, const struct charset_info *cs, const struct scored *sc,
	    size_t nsc)
{
	size_t spec = candidate_index(cs);

	for (size_t i = 0; i < nsc; i++)
		if (scored_as(ta, cs, spec, &sc[i]))
			return i;
	return nsc;
}

/* A context charset (HTML meta, another part's label): taken when it
 * decodes and its decoding scores close to the best candidate's. */
static bool
try_context(struct cascade *c, const struct charset_info *cs, const char *what,
	    const struct scored *sc, size_t nsc, struct detect_result *out)
{
	if (cs == NULL)
		return false;
	cs = charset_superset(cs, c->ta->has_c1);
	if (!cascade_decodes(c, cs)) {
		note_ruled_out(c, cs->mime_name, "does not decode");
		return false;
	}
	/* C1 controls are never text: the candidates that read them so are not
	 * scored, and a context charset is not trusted with them either */
	size_t spec = candidate_index(cs);
	if (spec < N_CANDIDATES && (cs->props & CSP_SINGLE_BYTE) && reads_c1(c->ta, spec)) {
		note_ruled_out(c, cs->mime_name, "C1 controls");
		return false;
	}
	/* Scored as itself or through a same-family candidate it was merged
	 * into (same decoding of these bytes): that cost; unscored (no model):
	 * trusted. */
	size_t r = scored_rank(c->ta, cs, sc, nsc);
	if (r < nsc && sc[r].cost - sc[0].cost > CONTEXT_SLACK) {
		note_ruled_out(c, cs->mime_name, "context charset scores far worse");
		return false;
	}
	set_result(out, cs, 90, DETECT_CONTEXT, "%s: %s", what, cs->mime_name);
	return true;
}

/* A sender memory prior: taken when the statistics prefer another charset
 * only by a little (a clear statistical answer stands, so a poisoned
 * memory cannot override text that says otherwise) and it decodes. */
static bool
try_prior(struct cascade *c, const struct detect_prior *p, const struct scored *sc, size_t nsc,
	  struct detect_result *out)
{
	const struct charset_info *cs = p->cs != NULL ? charset_superset(p->cs, c->ta->has_c1) : NULL;
	size_t r;

	if (cs == NULL || nsc == 0 || sc[0].cs == cs)
		return false;
	/* unscored, or decoding like the winner (rank 0): the statistics stand */
	r = scored_rank(c->ta, cs, sc, nsc);
	if (r == 0 || r >= nsc || sc[r].cost - sc[0].cost > MEMORY_SLACK || !cascade_decodes(c, cs))
		return false;
	set_result(out, cs, 85, DETECT_MEMORY, "sender memory: %s %ux %s", p->label, p->count,
		   p->cs->mime_name);
	return true;
}

/*
 * A lone 8-bit byte with no letter beside it ("abc \xf9 def") is no
 * statistical evidence: every model has some cost for it and the difference
 * is noise, so the site default decides.  One 8-bit byte inside a word
 * ("si\xea") is evidence: the word around it is scored.
 */
static bool
ascii_letter(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool
no_statistical_evidence(const struct text_analysis *ta)
{
	const unsigned char *s = ta->sample;
	size_t i;

	if (ta->high_bytes != 1 || s == NULL || !ta->sample_complete)
		return false;
	for (i = 0; i < ta->sample_len && s[i] < 0x80; i++)
		;
	if (i == ta->sample_len)
		return false;
	return !(i > 0 && ascii_letter(s[i - 1])) && !(i + 1 < ta->sample_len && ascii_letter(s[i + 1]));
}

/* How much worse than the best the sender's own code page may score: more
 * 8-bit bytes, more room (one short word may read better another way). */
static long
sender_slack(const struct text_analysis *ta)
{
	uint64_t high = ta->high_bytes;
	long slack = (long)(high > 100000 ? 100000 : high) * SENDER_SLACK_PER_BYTE;

	return slack < SENDER_SLACK_MIN ? SENDER_SLACK_MIN : slack;
}

/* The sender's own statement (TNEF): taken when it decodes, unless the
 * statistics contradict it overwhelmingly; the reason says which. */
static bool
try_sender(struct cascade *c, const struct charset_info *cs, const char *why,
	   const struct scored *sc, size_t nsc, struct detect_result *out)
{
	long slack;

	if (cs == NULL)
		return false;
	cs = charset_superset(cs, c->ta->has_c1);
	if (!cascade_decodes(c, cs)) {
		note_ruled_out(c, cs->mime_name, "sender's code page does not decode");
		return false;
	}
	slack = sender_slack(c->ta);
	for (size_t i = 0; i < nsc; i++)
		if (sc[i].cs == cs && sc[i].cost - sc[0].cost > slack) {
			char what[96];

			snprintf(what, sizeof(what), "%s, %.0f nats worse than %s", why,
				 (double)(sc[i].cost - sc[0].cost) / MODEL_COST_SCALE, sc[0].cs->mime_name);
			note_ruled_out(c, cs->mime_name, what);
			return false;
		}
	set_result(out, cs, 90, DETECT_CONTEXT, "%s: %s", why, cs->mime_name);
	return true;
}

/* Why the cascade's answer beat uchardet's, when they differ: ", N nats
 * worse" (its decoding scored, after its agreement bonus), or what ruled
 * it out.  Static text or a per-thread buffer. */
static const char *
uchardet_verdict(const struct charset_info *ucd, const struct scored *sc, size_t nsc)
{
	static _Thread_local char buf[48];

	if (ucd == NULL || nsc == 0 || sc[0].cs == ucd)
		return "";
	for (size_t i = 1; i < nsc; i++)
		if (sc[i].cs == ucd) {
			snprintf(buf, sizeof(buf), " (%.1f nats worse)",
				 (double)(sc[i].cost - sc[0].cost) / MODEL_COST_SCALE);
			return buf;
		}
	return " (same decoding or not a candidate)";
}

/* Steps 4-4b: the context charsets (HTML meta, the body text beside a
 * header, other parts), the sender's own code page, the sender memory. */
static bool
try_contexts(struct cascade *c, const struct detect_context *ctx, const struct scored *sc, size_t nsc,
	     struct detect_result *out)
{
	const struct text_analysis *ta = c->ta;

	/* 4. context */
	if (ta->html_meta_charset[0] != '\0' &&
	    try_context(c, charset_lookup(ta->html_meta_charset), "HTML meta charset", sc, nsc, out))
		return true;
	if (ctx != NULL && try_context(c, ctx->near_text, "body text", sc, nsc, out)) {
		snprintf(out->reason, sizeof(out->reason), "same charset as the body text (%s)",
			 out->charset->mime_name);
		return true;
	}
	for (size_t i = 0; ctx != NULL && i < ctx->n_message_charsets && i < ARRAY_LEN(ctx->message_charsets); i++)
		if (ctx->message_charsets[i] != ctx->near_text &&
		    try_context(c, ctx->message_charsets[i], "charset of another part", sc, nsc, out))
			return true;
	/* 4a. the sender's own code page (TNEF) */
	for (size_t i = 0; ctx != NULL && i < ctx->n_sender_charsets && i < ARRAY_LEN(ctx->sender_charsets); i++)
		if (try_sender(c, ctx->sender_charsets[i], ctx->sender_why[i], sc, nsc, out))
			return true;

	/* 4b. sender memory */
	for (size_t i = 0; ctx != NULL && i < ctx->n_priors; i++)
		if (try_prior(c, &ctx->priors[i], sc, nsc, out))
			return true;
	return false;
}

/* Do single-byte candidates a and b share a language model (the same
 * family, or a language one of them is scored with as an extra)? */
static bool
same_languages(size_t a, size_t b)
{
	if (candidate_cs[a]->family == candidate_cs[b]->family)
		return true;
	if (!(candidate_cs[a]->props & CSP_SINGLE_BYTE) || !(candidate_cs[b]->props & CSP_SINGLE_BYTE))
		return false;
	for (size_t i = 0; i < N_ALPHA; i++)
		if (sbcs_model[a][i] != NULL && sbcs_model[b][i] != NULL)
			return true;
	return false;
}

/* Step 4c: the body text's charset scored far worse, but its languages
 * still tell what the header is written in: the best candidate sharing a
 * language model with it, when that scores within CONTEXT_SLACK of the
 * best -- a Lithuanian iso-8859-4 Subject over a windows-1257 body, whose
 * one or two letters read nearly as well as Polish under windows-1250.  It
 * also stands instead of the site default when the best is such a
 * candidate: the body is the nearer evidence. */
static bool
try_body_languages(struct cascade *c, const struct detect_context *ctx, struct scored *sc, size_t nsc,
		   struct detect_result *out)
{
	size_t near = ctx != NULL && ctx->near_text != NULL ? candidate_index(ctx->near_text) : N_CANDIDATES;

	if (near == N_CANDIDATES)
		return false;
	for (size_t i = 0; i < nsc && sc[i].cost - sc[0].cost <= CONTEXT_SLACK; i++) {
		if (!same_languages(sc[i].spec, near) || !scored_decodes(c, &sc[i]))
			continue;
		char behind[64] = "the best";

		if (i > 0)
			snprintf(behind, sizeof(behind), "%.1f nats behind %s",
				 (double)(sc[i].cost - sc[0].cost) / MODEL_COST_SCALE, sc[0].cs->mime_name);
		set_result(out, sc[i].cs, i == 0 ? 80 : 60, DETECT_STATISTICAL,
			   "%s (%s text), %s, in a language of the body text's %s; %s%s",
			   sc[i].cs->mime_name, sc[i].lang, behind, ctx->near_text->mime_name,
			   c->ruled_out[0] ? "ruled out: " : "", c->ruled_out);
		return true;
	}
	return false;
}

/*
 * Can uchardet's vote move a context charset across its slack?  The vote
 * lowers one candidate's cost by UCHARDET_BONUS, so with the leader fixed
 * every gap to it moves by at most that much: the step's comparison
 * (gap > slack) is firm when the gap of every scored decoding of cs is
 * farther than the bonus from the slack.  Matched as scored_rank matches
 * (scored_as), which also covers the sender step's exact match.  The
 * leader's own decoding: gap 0.
 */
static bool
gap_is_firm(const struct text_analysis *ta, const struct charset_info *cs, const struct scored *sc,
	    size_t nsc, long slack)
{
	if (cs == NULL)
		return true;
	cs = charset_superset(cs, ta->has_c1);
	size_t spec = candidate_index(cs);

	if (nsc > 0 && scored_as(ta, cs, spec, &sc[0]))
		return true;
	for (size_t i = 1; i < nsc; i++) {
		long gap = sc[i].cost - sc[0].cost;

		if (scored_as(ta, cs, spec, &sc[i]) && gap - UCHARDET_BONUS <= slack &&
		    gap + UCHARDET_BONUS > slack)
			return false;
	}
	return true;
}

/*
 * uchardet is one voice: UCHARDET_BONUS for the candidate it names (or the
 * one that candidate was merged into).  It costs as much as all the scoring
 * (~0.5 ms on its 8 KB sample), so it is asked only when its vote could
 * change what the cascade returns.  Scored without it, it cannot when the
 * leader's margin minus or plus the bonus keeps the same leader, the same
 * strength and the same confidence, and no context step's comparison can
 * flip (gap_is_firm: HTML meta, other parts, the sender's code page, sender
 * memory) -- the answer is then exactly the one that asking would give.
 * The body text beside a header also picks among near candidates by
 * language (try_body_languages), an order the vote can change: asked.
 * Explaining (-x) asks anyway, to show it.
 */
static bool
uchardet_cannot_matter(const struct text_analysis *ta, const struct detect_context *ctx,
		       const struct scored *sc, size_t nsc)
{
	if (ctx == NULL || ctx->explain || nsc == 0 || ctx->near_text != NULL)
		return false;
	if (nsc > 1) {
		long margin = sc[1].cost - sc[0].cost;

		if (margin - UCHARDET_BONUS < 2 * MODEL_COST_SCALE ||
		    confidence_of_margin(margin - UCHARDET_BONUS, ta) !=
		    confidence_of_margin(margin + UCHARDET_BONUS, ta))
			return false;
	}
	if (ta->html_meta_charset[0] != '\0' &&
	    !gap_is_firm(ta, charset_lookup(ta->html_meta_charset), sc, nsc, CONTEXT_SLACK))
		return false;
	for (size_t i = 0; i < ctx->n_message_charsets && i < ARRAY_LEN(ctx->message_charsets); i++)
		if (!gap_is_firm(ta, ctx->message_charsets[i], sc, nsc, CONTEXT_SLACK))
			return false;
	for (size_t i = 0; i < ctx->n_sender_charsets && i < ARRAY_LEN(ctx->sender_charsets); i++)
		if (!gap_is_firm(ta, ctx->sender_charsets[i], sc, nsc, sender_slack(ta)))
			return false;
	for (size_t i = 0; i < ctx->n_priors; i++)
		if (!gap_is_firm(ta, ctx->priors[i].cs, sc, nsc, MEMORY_SLACK))
			return false;
	return true;
}

/* uchardet's vote: UCHARDET_BONUS for its candidate, or for the one that
 * candidate was merged into (the votes of a merged name go to the name kept). */
static void
add_uchardet_vote(const struct charset_info *ucd, struct scored *sc, size_t nsc, const size_t *merged_into)
{
	if (ucd == NULL)
		return;
	for (size_t i = 0; i < N_CANDIDATES; i++) {
		if (candidate_cs[i] != ucd)
			continue;
		size_t to = merged_into[i] < N_CANDIDATES ? merged_into[i] : i;

		for (size_t k = 0; k < nsc; k++)
			if (sc[k].spec == to)
				sc[k].cost -= UCHARDET_BONUS;
	}
	sort_scored(sc, nsc);
}

/* The candidates' scores, first without uchardet's vote, which is asked
 * only when it can change the answer (uchardet_cannot_matter); sc[] then
 * holds what scoring with it would have, the top two known to decode. */
static size_t
scores_and_uchardet(struct cascade *c, const struct detect_context *ctx, struct scored *sc,
		    const struct charset_info **ucd, bool *asked)
{
	const struct text_analysis *ta = c->ta;
	size_t notes_before = strlen(c->ruled_out);
	size_t merged_into[N_CANDIDATES];
	size_t nsc = score_candidates(c, ctx, sc, merged_into);
	struct scored alone[N_CANDIDATES];
	size_t nalone = nsc;

	*ucd = NULL;
	*asked = false;
	memcpy(alone, sc, nsc * sizeof(*sc));
	drop_undecodable(c, alone, &nalone, 2);
	if (uchardet_cannot_matter(ta, ctx, alone, nalone)) {
		memcpy(sc, alone, nalone * sizeof(*sc));
		return nalone;
	}
	size_t ulen = ta->sample_len < UCHARDET_SAMPLE ? ta->sample_len : UCHARDET_SAMPLE;

	*asked = true;
	*ucd = uchardet_guess((const char *)ta->sample, ulen);
	if (*ucd != NULL && !cascade_decodes(c, *ucd)) {
		/* where the note went when uchardet was asked first */
		note_ruled_out_at(c, notes_before, (*ucd)->mime_name, "uchardet's answer does not decode");
		*ucd = NULL;
	}
	add_uchardet_vote(*ucd, sc, nsc, merged_into);
	drop_undecodable(c, sc, &nsc, 2);	/* the winner and the margin */
	return nsc;
}

/* Steps 4-6: context, statistics, default -- everything that needs the
 * candidates' scores. */
static void
cascade_scored(struct cascade *c, const struct detect_context *ctx,
	       const struct charset_info *site_default, struct detect_result *out)
{
	const struct text_analysis *ta = c->ta;

	/* 4-6 need the scores */
	struct scored sc[N_CANDIDATES];
	bool ucd_asked;
	const struct charset_info *ucd;
	size_t nsc = scores_and_uchardet(c, ctx, sc, &ucd, &ucd_asked);

	if (try_contexts(c, ctx, sc, nsc, out) || try_body_languages(c, ctx, sc, nsc, out))
		return;

	/* 5. statistics */
	if (nsc > 0) {
		long margin = nsc > 1 ? sc[1].cost - sc[0].cost : 60;
		bool no_evidence = no_statistical_evidence(ta);
		bool weak = margin < 2 * MODEL_COST_SCALE || no_evidence;

		/* 6. weak evidence: the site default when it is (nearly) as good,
		 * or whenever it decodes if there is nothing to weigh */
		if (weak && sc[0].cs != site_default) {
			for (size_t i = 1; i < nsc; i++)
				if (sc[i].cs == site_default &&
				    (no_evidence || sc[i].cost - sc[0].cost < 2 * MODEL_COST_SCALE) &&
				    scored_decodes(c, &sc[i])) {
					set_result(out, site_default, 40, DETECT_DEFAULT,
						   "short text: site default %s (%s scores %.1f nats better)",
						   site_default->mime_name, sc[0].cs->mime_name,
						   (double)(sc[i].cost - sc[0].cost) / MODEL_COST_SCALE);
					return;
				}
		}
		set_result(out, sc[0].cs, confidence_of_margin(margin, ta), DETECT_STATISTICAL,
			   "%s (%s text), %.1f nats over %s; uchardet: %s%s%s%s",
			   sc[0].cs->mime_name, sc[0].lang, (double)margin / MODEL_COST_SCALE,
			   nsc > 1 ? sc[1].cs->mime_name : "nothing",
			   !ucd_asked ? "not asked, the margin decides" : ucd != NULL ? ucd->mime_name : "no answer",
			   uchardet_verdict(ucd, sc, nsc),
			   c->ruled_out[0] ? "; ruled out: " : "", c->ruled_out);
		return;
	}

	/* 6. site default, then fallbacks */
	static const char *const fallback[] = { "windows-1252", "iso-8859-15", "iso-8859-1" };
	if (cascade_decodes(c, site_default)) {
		set_result(out, site_default, 30, DETECT_DEFAULT, "site default %s; ruled out: %s",
			   site_default->mime_name, c->ruled_out);
		return;
	}
	for (size_t i = 0; i < ARRAY_LEN(fallback); i++) {
		const struct charset_info *cs = charset_lookup(fallback[i]);

		if (cascade_decodes(c, cs)) {
			set_result(out, cs, 20, DETECT_DEFAULT, "fallback %s; ruled out: %s",
				   cs->mime_name, c->ruled_out);
			return;
		}
	}
	set_result(out, NULL, 0, DETECT_NONE, "no charset decodes; ruled out: %s", c->ruled_out);
}

void
detect_charset(const struct text_analysis *ta, const struct detect_context *ctx,
	       detect_decodes_fn decodes, void *decodes_arg, struct charset_conv *cv,
	       struct detect_result *out)
{
	struct cascade c;
	struct charset_conv *own_cv = NULL;
	const struct charset_info *site_default = ctx != NULL ? ctx->site_default : NULL;

	pthread_once(&tables_once, tables_init);
	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	if (cv == NULL)
		cv = own_cv = charset_conv_new();
	c.ta = ta;
	c.decodes = decodes;
	c.decodes_arg = decodes_arg;
	c.cv = cv;
	if (site_default == NULL)
		site_default = charset_lookup("windows-1252");

	/* 1. a configured rule */
	if (ctx != NULL && ctx->rule != NULL) {
		if (cascade_decodes(&c, ctx->rule)) {
			set_result(out, ctx->rule, 100, DETECT_RULE, "rule %s: %s",
				   ctx->rule_name ? ctx->rule_name : "(configured)", ctx->rule->mime_name);
			goto done;
		}
		note_ruled_out(&c, ctx->rule->mime_name, "rule charset does not decode");
	}
	/* 2. pure ASCII, with or without 7-bit escapes */
	if (try_escapes(&c, out))
		goto done;
	if (!ta->has_8bit) {
		set_result(out, charset_lookup("us-ascii"), 100, DETECT_ASCII, "ASCII only");
		goto done;
	}
	/* 3. valid UTF-8 */
	if (text_analysis_utf8_ok(ta)) {
		set_result(out, charset_lookup("utf-8"), 99, DETECT_UTF8, "valid UTF-8");
		goto done;
	}
	note_ruled_out(&c, "utf-8", "invalid");

	cascade_scored(&c, ctx, site_default, out);
done:
	if (own_cv != NULL)
		charset_conv_free(own_cv);
}

const char *
detect_source_name(enum detect_source s)
{
	switch (s) {
	case DETECT_NONE: return "none";
	case DETECT_RULE: return "rule";
	case DETECT_ESCAPES: return "escapes";
	case DETECT_UTF8: return "utf-8";
	case DETECT_DECLARED: return "declared";
	case DETECT_CONTEXT: return "context";
	case DETECT_STATISTICAL: return "statistical";
	case DETECT_DEFAULT: return "default";
	case DETECT_ASCII: return "ascii";
	case DETECT_MEMORY: return "memory";
	}
	return "?";
}

const struct charset_info *
detect_tld_hint(const char *tld)
{
	static const struct { const char *tlds, *charset; } hints[] = {
		{ " ru su by kz ua bg mk rs kg tj ", "windows-1251" },
		{ " pl cz sk hu si hr ro ba ", "windows-1250" },
		{ " gr cy ", "windows-1253" },
		{ " tr az ", "windows-1254" },
		{ " il ", "windows-1255" },
		{ " sa ae eg iq ir jo kw lb ly ma om qa sy tn ye dz sd bh ", "windows-1256" },
		{ " lt lv ee ", "windows-1257" },
		{ " vn ", "windows-1258" },
		{ " th ", "windows-874" },
		{ " jp ", "shift_jis" },
		{ " cn ", "gb2312" },
		{ " tw hk mo ", "big5" },
		{ " kr ", "euc-kr" },
		{ " de at ch fr be lu nl es pt it ie uk dk se no fi is br ar mx cl co pe ve ", "windows-1252" },
	};
	char key[8];

	if (tld == NULL || strlen(tld) < 2 || strlen(tld) > 4)
		return NULL;
	snprintf(key, sizeof(key), " %s ", tld);
	for (size_t i = 0; i < ARRAY_LEN(hints); i++)
		if (strstr(hints[i].tlds, key) != NULL)
			return charset_lookup(hints[i].charset);
	return NULL;
}

/* ---- verification of a declared label (detect_score_declared) ------------------------ */

static bool
family_has_models(enum charset_family fam)
{
	for (size_t i = 0; i < N_ALPHA; i++)
		if (alpha_models[i].family == fam)
			return true;
	for (size_t i = 0; i < N_CJK; i++)
		if (cjk_models[i].family == fam)
			return true;
	return false;
}

/* Best cost of a decoding under every model of every family. */
static long
score_all_families(const uint32_t *cps, size_t n, const char **lang)
{
	long best = -1;

	*lang = "?";
	for (int fam = CSF_WESTERN; fam < CSF_OTHER; fam++) {
		const char *l;
		long c = score_family((enum charset_family)fam, cps, n, &l);

		if (c >= 0 && (best < 0 || c < best)) {
			best = c;
			*lang = l;
		}
	}
	return best;
}

/* Cost of the scored text decoded under any charset: single-byte candidates
 * through their tables, anything else through the converter; scored under
 * the charset's family, or under every model when the family has none
 * (utf-8, iso-8859-3 ...).  -1 when the scored text does not decode. */
static long
score_charset(struct cascade *c, const struct charset_info *cs, const unsigned char *text,
	      size_t plen, const struct byte_pairs *bp, bool cut, const char **lang)
{
	size_t spec = candidate_index(cs), n = 0;
	uint32_t *cps;
	long cost;

	*lang = "?";
	if (spec < N_CANDIDATES && sbcs_fast[spec])
		return score_family_sbcs(spec, bp, lang);
	cps = xreallocarray(NULL, plen + 1, sizeof(*cps));
	if (spec < N_CANDIDATES && (cs->props & CSP_SINGLE_BYTE)) {
		for (size_t k = 0; k < plen; k++)
			cps[n++] = sbcs_table[spec][text[k]];
	} else {
		struct cp_sink sink = { cps, 0, plen + 1 };

		if (!decode_multibyte(c->cv, cs, text, plen, cut, &sink)) {
			free(cps);
			return -1;
		}
		n = sink.n;
	}
	if (family_has_models(cs->family))
		cost = score_family(cs->family, cps, n, lang);
	else
		cost = score_all_families(cps, n, lang);
	free(cps);
	return cost;
}

/* Does a single-byte candidate decode the text's 8-bit bytes to the same
 * characters as the declared charset (windows-1252 vs iso-8859-1 without
 * C1 bytes)?  Either side may be outside the candidate list. */
static bool
same_decoding_as(const struct text_analysis *ta, const struct charset_info *declared,
		 const struct scored *s)
{
	if (s->cs == declared)
		return true;
	if (!(declared->props & CSP_SINGLE_BYTE) || !(s->cs->props & CSP_SINGLE_BYTE))
		return false;
	size_t d = candidate_index(declared);
	if (d < N_CANDIDATES)
		return same_sbcs_decoding(ta, d, s->spec);
	iconv_t cd = iconv_open("UTF-32LE", declared->iconv_name);
	bool same = cd != (iconv_t)-1;
	for (unsigned byte = 0x80; same && byte < 0x100; byte++)
		if (ta->hist[byte] > 0 && decode_one_byte(cd, (unsigned char)byte) != sbcs_table[s->spec][byte])
			same = false;
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	return same;
}

/* The best alternative among the scored candidates and utf-8. */
static void
best_alternative(struct cascade *c, const struct charset_info *declared, struct scored *sc,
		 size_t nsc, const unsigned char *text, size_t plen, const struct byte_pairs *bp,
		 bool cut, struct detect_alternative *out)
{
	const struct charset_info *utf8 = charset_lookup("utf-8");
	long best = -1;

	for (size_t i = 0; i < nsc; i++) {
		if (same_decoding_as(c->ta, declared, &sc[i]) || !scored_decodes(c, &sc[i]))
			continue;
		best = sc[i].cost;
		out->best = sc[i].cs;
		out->best_lang = sc[i].lang;
		break;
	}
	if (declared != utf8 && text_analysis_utf8_ok(c->ta)) {
		const char *lang;
		long u = score_charset(c, utf8, text, plen, bp, cut, &lang);

		if (u >= 0 && (best < 0 || u < best)) {
			best = u;
			out->best = utf8;
			out->best_lang = lang;
		}
	}
	if (best >= 0)
		out->best_cost = (double)best / MODEL_COST_SCALE;
}

/* A cascade that only scores and asks the oracle (detect_score_*). */
static void
scoring_cascade(struct cascade *c, const struct text_analysis *ta, struct charset_conv *cv,
		detect_decodes_fn decodes, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->ta = ta;
	c->decodes = decodes;
	c->decodes_arg = arg;
	c->cv = cv;
}

bool
detect_score_declared(const struct text_analysis *ta, const struct charset_info *declared,
		      struct charset_conv *cv, detect_decodes_fn decodes, void *arg,
		      struct detect_alternative *out)
{
	struct cascade c;
	struct scored sc[N_CANDIDATES];
	struct charset_conv *own_cv = NULL;
	bool cut;

	pthread_once(&tables_once, tables_init);
	memset(out, 0, sizeof(*out));
	out->declared = declared;
	out->declared_lang = out->best_lang = "?";
	if (declared == NULL || !ta->has_8bit)
		return false;
	if (cv == NULL)
		cv = own_cv = charset_conv_new();
	scoring_cascade(&c, ta, cv, decodes, arg);
	unsigned char *text = xmalloc(2 * SCORE_BYTES);
	size_t plen = scored_text(ta, text, &cut);
	struct byte_pairs *bp = byte_pairs_new(text, plen);
	out->scored_bytes = plen;
	out->declared_decodes = cascade_decodes(&c, declared);
	if (out->declared_decodes) {
		long d = score_charset(&c, declared, text, plen, bp, cut, &out->declared_lang);

		out->declared_cost = d < 0 ? 0 : (double)d / MODEL_COST_SCALE;
	}
	size_t nsc = score_candidates_on(&c, NULL, text, plen, bp, cut, sc, NULL);
	best_alternative(&c, declared, sc, nsc, text, plen, bp, cut, out);
	free(bp);
	free(text);
	if (own_cv != NULL)
		charset_conv_free(own_cv);
	if (out->best == NULL)
		return false;
	out->margin = out->declared_decodes ? out->declared_cost - out->best_cost : 0;
	return true;
}

void
detect_score_charsets(const struct text_analysis *ta, const struct charset_info *const *cs, size_t n,
		      struct charset_conv *cv, detect_decodes_fn decodes, void *arg, double *cost,
		      size_t *scored_8bit)
{
	struct cascade c;
	struct charset_conv *own_cv = NULL;
	unsigned char *text;
	struct byte_pairs *bp;
	const char *lang;
	size_t plen;
	bool cut;

	pthread_once(&tables_once, tables_init);
	for (size_t i = 0; i < n; i++)
		cost[i] = -1;
	if (scored_8bit != NULL)
		*scored_8bit = 0;
	if (!ta->has_8bit)
		return;
	if (cv == NULL)
		cv = own_cv = charset_conv_new();
	scoring_cascade(&c, ta, cv, decodes, arg);
	text = xmalloc(2 * SCORE_BYTES);
	plen = scored_text(ta, text, &cut);
	bp = byte_pairs_new(text, plen);
	for (size_t i = 0; scored_8bit != NULL && i < plen; i++)
		*scored_8bit += text[i] >> 7;
	for (size_t i = 0; i < n; i++) {
		long d = cs[i] != NULL && cascade_decodes(&c, cs[i]) ?
		    score_charset(&c, cs[i], text, plen, bp, cut, &lang) : -1;

		if (d >= 0)
			cost[i] = (double)d / MODEL_COST_SCALE;
	}
	free(bp);
	free(text);
	if (own_cv != NULL)
		charset_conv_free(own_cv);
}
