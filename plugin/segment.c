/*
 * segment.c -- a text part whose paragraphs are in different charsets.  See
 * segment.h for the contract.
 *
 * Three steps over the analysis sample: cut it into paragraphs; ask the
 * label verification (verify.h) of every paragraph with enough 8-bit bytes
 * whether the part's charset is a lie there, and which charset it then is;
 * join neighbouring paragraphs of one charset into segments.  A split is
 * only returned when every segment decodes under its charset, so the
 * converter can never fail on it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "oracle.h"
#include "segment.h"
#include "util.h"
#include "verify.h"

struct paragraph {
	size_t start, end;		/* decoded text [start, end), whole lines */
	size_t line;			/* 1-based number of its first line */
	unsigned depth;			/* quotation depth */
	bool anchor;			/* its own bytes say which charset it is in */
	const struct charset_info *cs;	/* NULL: open (not yet placed), or nothing decodes it */
	double margin;			/* nats, of an anchor verified against the part's charset */
	double cost;			/* nats under the part's charset, -1 when not scored */
	size_t scored_8bit;		/* 8-bit bytes that cost was measured on */
};

struct splitter {
	const unsigned char *text;
	size_t len;
	struct paragraph para[SEGMENT_PARAGRAPHS];
	size_t n;			/* paragraphs with an 8-bit byte */
	bool too_many;
};

/* Leading '>' characters of a line (spaces between them allowed). */
static unsigned quote_depth(const unsigned char *p, size_t n)
{
	unsigned depth = 0;

	for (size_t i = 0; i < n && (p[i] == '>' || p[i] == ' '); i++)
		if (p[i] == '>')
			depth++;
	return depth;
}

static bool blank_line(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

static size_t count_8bit(const unsigned char *p, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += p[i] >> 7;
	return c;
}

/* Keep paragraph [start, end) if it has an 8-bit byte (ASCII lines go with
 * any segment). */
static void keep_paragraph(struct splitter *s, size_t start, size_t end, size_t line, unsigned depth)
{
	if (end <= start || count_8bit(s->text + start, end - start) == 0)
		return;
	if (s->n == SEGMENT_PARAGRAPHS) {
		s->too_many = true;
		return;
	}
	s->para[s->n].start = start;
	s->para[s->n].end = end;
	s->para[s->n].line = line;
	s->para[s->n].depth = depth;
	s->n++;
}

/* Cut the text into paragraphs: a blank line, or a line whose quotation
 * depth differs from the line before, starts a new one.  Blank lines belong
 * to no paragraph (they are ASCII). */
static void cut_paragraphs(struct splitter *s)
{
	size_t pos = 0, start = 0, line = 0, first_line = 1;
	unsigned depth = 0;
	bool open = false;

	while (pos < s->len && !s->too_many) {
		const unsigned char *nl = memchr(s->text + pos, '\n', s->len - pos);
		size_t end = nl != NULL ? (size_t)(nl - s->text) + 1 : s->len;
		const unsigned char *p = s->text + pos;
		unsigned d = quote_depth(p, end - pos);

		line++;
		if (blank_line(p, end - pos) || (open && d != depth)) {
			if (open)
				keep_paragraph(s, start, pos, first_line, depth);
			open = false;
		}
		if (!open && !blank_line(p, end - pos)) {
			open = true;
			start = pos;
			first_line = line;
			depth = d;
		}
		pos = end;
	}
	if (open)
		keep_paragraph(s, start, s->len, first_line, depth);
}

/* Does text[start, end) decode under cs?  (The exact oracle on those bytes.) */
static bool span_decodes(const unsigned char *text, size_t start, size_t end,
			 const struct charset_info *cs, struct charset_conv *cv)
{
	struct text_analysis ta;
	struct decode_oracle o;
	bool ok;

	text_analysis_of_bytes(&ta, (const char *)text + start, end - start);
	oracle_init_bytes(&o, &ta, (const char *)text + start, end - start, cv);
	ok = oracle_decodes(&o, cs);
	text_analysis_free(&ta);
	return ok;
}

/* Can a converter for cs stop and start again at any line start?  Every
 * ASCII-compatible charset, and every single-byte one (VISCII redefines six
 * C0 controls, LF not among them); never a stateful 7-bit one or UTF-16. */
static bool splittable(const struct charset_info *cs)
{
	return (cs->props & (CSP_ASCII_COMPAT | CSP_SINGLE_BYTE)) != 0;
}

/* Is `whole` a lie on this paragraph?  The label verification's test, with
 * a lower bar across families (SEGMENT_FAMILY_NATS): the part's charset
 * was only detected, and a paragraph of a few lines of French under a
 * Russian reply carries fewer nats than a whole text.  The alternative must
 * be splittable. */
static bool paragraph_lies(const struct text_analysis *ta, const struct charset_info *whole,
			   struct charset_conv *cv, struct decode_oracle *o, struct label_verification *ver)
{
	const struct detect_alternative *alt = &ver->alt;

	if (!verify_label(ta, whole, cv, oracle_decodes, o, ver) &&
	    (!ver->checked || alt->best == NULL || !alt->declared_decodes ||
	     alt->best->family == whole->family || alt->margin < SEGMENT_FAMILY_NATS))
		return false;
	return splittable(alt->best);
}

/* Anchor a paragraph that speaks for itself, first step: valid multi-byte
 * UTF-8 is utf-8 (the cascade's own rule: legacy text almost never is by
 * accident).  Under a single-byte `whole`, any other paragraph with enough
 * 8-bit bytes gets its cost under `whole` (one charset scored: a fraction of
 * the verification's scoring under every one), for verify_suspects(). */
static void read_paragraph(struct splitter *s, struct paragraph *pa, const struct charset_info *whole,
			   struct charset_conv *cv)
{
	const char *bytes = (const char *)s->text + pa->start;
	size_t len = pa->end - pa->start, n8 = count_8bit(s->text + pa->start, len);
	struct text_analysis ta;
	struct decode_oracle o;

	pa->cs = NULL;
	pa->cost = -1;
	if (n8 < SEGMENT_MIN_UTF8)
		return;
	text_analysis_of_bytes(&ta, bytes, len);
	oracle_init_bytes(&o, &ta, bytes, len, cv);
	if (text_analysis_utf8_ok(&ta)) {
		pa->cs = charset_lookup("utf-8");
		pa->anchor = true;
	} else if (n8 >= SEGMENT_MIN_8BIT && (whole->props & CSP_SINGLE_BYTE)) {
		detect_score_charsets(&ta, &whole, 1, cv, oracle_decodes, &o, &pa->cost, &pa->scored_8bit);
	}
	text_analysis_free(&ta);
}

/* Second step: a paragraph in another charset reads worse under `whole`
 * than the text does on average; only those that read at least
 * SEGMENT_SUSPECT_REL times worse (and worse than SEGMENT_SUSPECT_NATS per
 * 8-bit byte at all) are verified, and anchored at the verified
 * alternative when `whole` is a lie there (paragraph_lies). */
static void verify_suspects(struct splitter *s, const struct charset_info *whole, struct charset_conv *cv)
{
	double sum = 0, bar;
	size_t n8 = 0;

	for (size_t k = 0; k < s->n; k++)
		if (s->para[k].cost >= 0 && s->para[k].scored_8bit > 0) {
			sum += s->para[k].cost;
			n8 += s->para[k].scored_8bit;
		}
	if (n8 == 0)
		return;
	bar = sum / (double)n8 * SEGMENT_SUSPECT_REL;
	if (bar < SEGMENT_SUSPECT_NATS)
		bar = SEGMENT_SUSPECT_NATS;
	for (size_t k = 0; k < s->n; k++) {
		struct paragraph *pa = &s->para[k];
		const char *bytes = (const char *)s->text + pa->start;
		struct text_analysis ta;
		struct decode_oracle o;
		struct label_verification ver;

		if (pa->cost < 0 || pa->scored_8bit == 0 || pa->cost / (double)pa->scored_8bit < bar)
			continue;
		text_analysis_of_bytes(&ta, bytes, pa->end - pa->start);
		oracle_init_bytes(&o, &ta, bytes, pa->end - pa->start, cv);
		if (paragraph_lies(&ta, whole, cv, &o, &ver)) {
			pa->cs = ver.alt.best;
			pa->margin = ver.alt.margin;
			pa->anchor = true;
		}
		text_analysis_free(&ta);
	}
}

/* The part's charset was chosen on all of its text, the anchored
 * paragraphs included, whose bytes are noise under it: detect the charset
 * of the open paragraphs on their own (a Russian line above a UTF-8 quote
 * is windows-1251, not the x-mac-cyrillic that the mojibake tipped the
 * whole text to).  `whole` when that finds nothing better. */
static const struct charset_info *detect_open(const struct splitter *s, const struct charset_info *whole,
					      const struct detect_context *ctx, struct charset_conv *cv)
{
	const struct charset_info *cs = whole;
	struct text_analysis ta;
	struct decode_oracle o;
	struct detect_result dr;
	char *rest = xmalloc(s->len + 1);
	size_t len = 0;

	for (size_t k = 0; k < s->n; k++)
		if (!s->para[k].anchor) {
			memcpy(rest + len, s->text + s->para[k].start, s->para[k].end - s->para[k].start);
			len += s->para[k].end - s->para[k].start;
		}
	if (len > 0) {
		text_analysis_of_bytes(&ta, rest, len);
		oracle_init_bytes(&o, &ta, rest, len, cv);
		detect_charset(&ta, ctx, oracle_decodes, &o, cv, &dr);
		if (dr.charset != NULL && splittable(dr.charset))
			cs = dr.charset;
		text_analysis_free(&ta);
	}
	free(rest);
	return cs;
}

/* The charsets an open paragraph may be in: the open text's, then each
 * anchor's (distinct). */
static size_t candidates(const struct splitter *s, const struct charset_info *open_cs,
			 const struct charset_info **cand)
{
	size_t n = 0;

	cand[n++] = open_cs;
	for (size_t k = 0; k < s->n && n < SEGMENT_MAX; k++) {
		size_t j = 0;

		while (j < n && (!s->para[k].anchor || !charset_same(cand[j], s->para[k].cs)))
			j++;
		if (s->para[k].anchor && j == n)
			cand[n++] = s->para[k].cs;
	}
	return n;
}

/* The charset of the nearest anchor after paragraph k, or NULL. */
static const struct charset_info *next_anchor(const struct splitter *s, size_t k)
{
	for (size_t j = k + 1; j < s->n; j++)
		if (s->para[j].anchor)
			return s->para[j].cs;
	return NULL;
}

/* An open paragraph takes the candidate its text scores best under; when
 * another fits within SEGMENT_TIE_NATS (a line or two of 8-bit text says
 * little), the charset of the paragraph before it, or of the next anchor,
 * if it is one of those close ones: neighbouring lines are one writer's. */
static void place_open(struct splitter *s, size_t k, const struct charset_info *const *cand, size_t n,
		       struct charset_conv *cv)
{
	struct paragraph *pa = &s->para[k];
	const struct charset_info *near[2] = { k > 0 ? s->para[k - 1].cs : NULL, next_anchor(s, k) };
	struct text_analysis ta;
	struct decode_oracle o;
	double cost[SEGMENT_MAX];
	size_t best = n;

	text_analysis_of_bytes(&ta, (const char *)s->text + pa->start, pa->end - pa->start);
	oracle_init_bytes(&o, &ta, (const char *)s->text + pa->start, pa->end - pa->start, cv);
	detect_score_charsets(&ta, cand, n, cv, oracle_decodes, &o, cost, NULL);
	text_analysis_free(&ta);
	for (size_t i = 0; i < n; i++)
		if (cost[i] >= 0 && (best == n || cost[i] < cost[best]))
			best = i;
	pa->cs = best < n ? cand[best] : NULL;	/* NULL: no candidate decodes it */
	for (size_t m = 0; m < 2 && best < n; m++)
		for (size_t i = 0; i < n; i++)
			if (near[m] != NULL && charset_same(cand[i], near[m]) && cost[i] >= 0 &&
			    cost[i] - cost[best] < SEGMENT_TIE_NATS) {
				pa->cs = cand[i];
				return;
			}
}

/* Join the paragraphs into segments; false when there would be too many,
 * only one charset, or a paragraph no candidate decodes. */
static bool join_segments(const struct splitter *s, struct segment_list *out)
{
	out->n = 0;
	for (size_t k = 0; k < s->n; k++) {
		const struct paragraph *pa = &s->para[k];

		if (pa->cs == NULL)
			return false;
		if (out->n > 0 && charset_same(pa->cs, out->cs[out->n - 1]))
			continue;
		if (out->n == SEGMENT_MAX)
			return false;
		/* the first segment starts the text; others at their paragraph */
		out->at[out->n] = out->n == 0 ? 0 : pa->start;
		out->line[out->n] = out->n == 0 ? 1 : pa->line;
		out->cs[out->n] = pa->cs;
		out->n++;
	}
	return out->n >= 2;
}

static void describe(const struct splitter *s, const struct segment_list *sl, char *why, size_t cap)
{
	size_t len = 0, lines = 1;
	double best = 0;

	for (size_t i = 0; i < s->len; i++)
		lines += s->text[i] == '\n' && i + 1 < s->len;
	for (size_t k = 0; k < s->n; k++)
		if (s->para[k].margin > best)
			best = s->para[k].margin;
	why[0] = '\0';
	for (size_t k = 0; k < sl->n && len < cap; k++) {
		size_t last = k + 1 < sl->n ? sl->line[k + 1] - 1 : lines;
		int w = snprintf(why + len, cap - len, "%s%s lines %zu-%zu", k > 0 ? ", " : "",
				 sl->cs[k]->mime_name, sl->line[k], last);

		if (w < 0)
			return;
		len += (size_t)w;
	}
	if (len < cap)
		snprintf(why + len, cap - len, " (by %.1f nats)", best);
}

bool segment_mixed(const struct text_analysis *ta, const struct charset_info *whole,
		   const struct detect_context *ctx, struct charset_conv *cv, struct segment_list *out,
		   char *why, size_t cap)
{
	struct splitter s;
	const struct charset_info *cand[SEGMENT_MAX];
	size_t ncand;
	bool other = false;

	out->n = 0;
	if (whole == NULL || !ta->sample_complete || !ta->has_8bit || text_analysis_utf8_ok(ta) ||
	    !splittable(whole))
		return false;
	memset(&s, 0, sizeof(s));
	s.text = ta->sample;
	s.len = ta->sample_len;
	cut_paragraphs(&s);
	if (s.too_many || s.n < 2)
		return false;
	for (size_t k = 0; k < s.n; k++)
		read_paragraph(&s, &s.para[k], whole, cv);
	verify_suspects(&s, whole, cv);
	for (size_t k = 0; k < s.n; k++)
		other |= s.para[k].anchor;
	if (!other)
		return false;
	ncand = candidates(&s, detect_open(&s, whole, ctx, cv), cand);
	for (size_t k = 0; k < s.n; k++)
		if (!s.para[k].anchor)
			place_open(&s, k, cand, ncand, cv);
	if (!join_segments(&s, out)) {
		out->n = 0;
		return false;
	}
	for (size_t k = 0; k < out->n; k++) {
		size_t end = k + 1 < out->n ? out->at[k + 1] : s.len;

		if (!span_decodes(s.text, out->at[k], end, out->cs[k], cv)) {
			out->n = 0;
			return false;
		}
	}
	if (cap > 0)
		describe(&s, out, why, cap);
	return true;
}
