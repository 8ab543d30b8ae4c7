/*
 * labels.c -- declared-label evaluation: what the whole engine (planner and
 * writer, as `codepage-milter -t` runs them) does to real text under a
 * declared charset label.
 *
 * Usage: labels [-r REPORT.md] [-c] [-s SCALE] [-v] CORPUSDIR
 *
 * Three experiments, each on deterministic samples of the committed corpus
 * (CORPUSDIR/LANG.txt; the sampler is eval.c's: splitmix64 with fixed
 * seeds, strings of one language joined until the length in the charset
 * falls in the bucket, kept only when the text round-trips exactly):
 *   true    text in charset X labelled X (for the CJK families: the narrowest
 *           name glibc decodes the bytes under) -> the engine must not
 *           relabel it (other edits are counted apart: 2-20 KB samples have
 *           lines over SMTP's 998 bytes, which get quoted-printable);
 *   lie     text in charset X labelled iso-8859-1, windows-1252, us-ascii or
 *           ibm850, where that label does not decode the bytes to the text
 *           -> the label written must decode them to exactly the text;
 *   utf8    valid multi-byte UTF-8 labelled iso-8859-1 -> utf-8.
 * Every label the engine writes, in every experiment, must also decode the
 * body under glibc's converter of exactly that name (charset_name_decodes):
 * a "bad label" is counted otherwise, and must never happen.
 * Each sample is a whole message (text/plain, 8bit) fed to engine_new() with
 * the embedded default configuration, so the answer is the product's.
 * -m: instead, print for every single-byte sample (true and lying labels)
 * the margin detect_score_declared() gives, as TSV: the data the
 * verification threshold (plugin/verify.c) is chosen on.
 * -c: exit 1 when a target is missed: 0 edits in `true`, >= LIE_FLOOR per
 * lying label (the goal LIE_GOAL is reported), >= 99% in `utf8`, 0 bad labels.
 */
#include "config.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "charset.h"
#include "analyze.h"
#include "conf.h"
#include "detect.h"
#include "engine.h"
#include "util.h"

struct pair { const char *lang, *charset; };

/* (language, true charset) per family; languages without a corpus file are
 * skipped and reported so. */
static const struct pair true_pairs[] = {
	{ "fr", "windows-1252" }, { "de", "iso-8859-1" }, { "es", "windows-1252" }, { "fr", "iso-8859-1" },
	{ "de", "windows-1252" }, { "es", "iso-8859-1" }, { "pt", "iso-8859-15" }, { "it", "windows-1252" },
	{ "sv", "iso-8859-1" }, { "da", "windows-1252" }, { "nb", "iso-8859-1" }, { "fi", "windows-1252" },
	{ "pl", "windows-1250" }, { "cs", "iso-8859-2" }, { "hu", "windows-1250" }, { "sk", "iso-8859-2" },
	{ "ru", "windows-1251" }, { "ru", "koi8-r" }, { "uk", "koi8-u" }, { "bg", "windows-1251" },
	{ "ru", "ibm866" }, { "ru", "iso-8859-5" },
	{ "fr", "ibm850" }, { "de", "ibm850" }, { "es", "ibm850" }, { "pl", "ibm852" },
	{ "el", "windows-1253" }, { "el", "iso-8859-7" }, { "tr", "windows-1254" }, { "tr", "iso-8859-9" },
	{ "he", "windows-1255" }, { "ar", "windows-1256" }, { "lt", "windows-1257" }, { "lv", "iso-8859-13" },
	{ "vi", "windows-1258" }, { "th", "windows-874" },
	{ "ja", "shift_jis" }, { "ja", "euc-jp" }, { "ja", "iso-2022-jp" },
	{ "zh_CN", "gb2312" }, { "zh_CN", "gb18030" }, { "zh_TW", "big5" }, { "ko", "euc-kr" },
	{ "fr", "utf-8" }, { "ru", "utf-8" }, { "ja", "utf-8" }, { "ko", "utf-8" },
};

/* Text really in another charset, for the lying labels. */
static const struct pair lie_pairs[] = {
	{ "fr", "windows-1252" }, { "de", "windows-1252" }, { "pt", "iso-8859-15" },
	{ "pl", "windows-1250" }, { "cs", "iso-8859-2" },
	{ "ru", "windows-1251" }, { "ru", "koi8-r" }, { "uk", "koi8-u" }, { "bg", "iso-8859-5" },
	{ "ru", "ibm866" }, { "el", "windows-1253" }, { "el", "iso-8859-7" }, { "tr", "windows-1254" },
	{ "he", "windows-1255" }, { "ar", "windows-1256" }, { "lt", "windows-1257" },
	{ "vi", "windows-1258" }, { "th", "windows-874" },
	{ "ja", "shift_jis" }, { "ja", "euc-jp" }, { "zh_CN", "gb2312" }, { "zh_TW", "big5" },
	{ "ko", "euc-kr" },
};

static const char *const lies[] = { "iso-8859-1", "windows-1252", "us-ascii", "ibm850" };

static const char *const utf8_langs[] = {
	"fr", "de", "es", "pt", "it", "pl", "cs", "hu", "sk", "ru", "uk", "bg", "el", "tr", "he",
	"ar", "lt", "lv", "vi", "th", "ja", "zh_CN", "zh_TW", "ko", "sv", "da", "nb", "fi",
};

struct bucket { const char *name; size_t lo, hi; unsigned count; };
static const struct bucket buckets[] = {
	{ "20-80 B", 20, 80, 120 },
	{ "200-1000 B", 200, 1000, 100 },
	{ "2-20 KB", 2048, 20480, 40 },
};
#define N_BUCKETS ARRAY_LEN(buckets)

/* ---- corpus and sampler (as in eval.c) ---------------------------------------------- */

struct lines { char *data; char **line; size_t n; };

static struct lines corpus[48];
static const char *corpus_lang[48];
static size_t n_corpus;

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 16, r;
	char *d;

	*len = 0;
	if (f == NULL)
		return NULL;
	d = xmalloc(cap + 1);
	while ((r = fread(d + *len, 1, cap - *len, f)) > 0) {
		*len += r;
		if (*len == cap) {
			cap *= 2;
			d = xrealloc(d, cap + 1);
		}
	}
	fclose(f);
	d[*len] = '\0';
	return d;
}

/* The language's lines, or NULL when the corpus has no file for it. */
static const struct lines *
load_lang(const char *dir, const char *lang)
{
	char path[4096];
	struct lines *l;
	size_t len, lcap = 1024;

	for (size_t i = 0; i < n_corpus; i++)
		if (strcmp(corpus_lang[i], lang) == 0)
			return corpus[i].n ? &corpus[i] : NULL;
	if (n_corpus == ARRAY_LEN(corpus))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s.txt", dir, lang);
	l = &corpus[n_corpus];
	corpus_lang[n_corpus++] = lang;
	if ((l->data = slurp(path, &len)) == NULL)
		return NULL;
	l->line = xreallocarray(NULL, lcap, sizeof(char *));
	for (char *p = l->data, *nl; p != NULL && *p; p = nl ? nl + 1 : NULL) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl = '\0';
		if (*p == '\0')
			continue;
		if (l->n == lcap) {
			lcap *= 2;
			l->line = xreallocarray(l->line, lcap, sizeof(char *));
		}
		l->line[l->n++] = p;
	}
	return l->n ? l : NULL;
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Descriptors are kept (the sampler converts every candidate line): the
 * pair of name pointers is the key, all names are static strings. */
static struct { const char *to, *from; iconv_t cd; } cd_cache[64];
static size_t n_cd_cache;

static iconv_t
cached_cd(const char *to, const char *from)
{
	iconv_t cd;

	for (size_t i = 0; i < n_cd_cache; i++)
		if (cd_cache[i].to == to && cd_cache[i].from == from) {
			iconv(cd_cache[i].cd, NULL, NULL, NULL, NULL);
			return cd_cache[i].cd;
		}
	if ((cd = iconv_open(to, from)) == (iconv_t)-1 || n_cd_cache == ARRAY_LEN(cd_cache))
		return cd;
	cd_cache[n_cd_cache].to = to;
	cd_cache[n_cd_cache].from = from;
	cd_cache[n_cd_cache++].cd = cd;
	return cd;
}

static void
release_cd(iconv_t cd)
{
	for (size_t i = 0; i < n_cd_cache; i++)
		if (cd_cache[i].cd == cd)
			return;
	iconv_close(cd);
}

/* iconv from -> to over the whole input; NULL when anything fails. */
static char *
convert(const char *to, const char *from, const char *in, size_t inlen, size_t *outlen)
{
	iconv_t cd = cached_cd(to, from);
	if (cd == (iconv_t)-1)
		return NULL;
	size_t cap = inlen * 4 + 16;
	char *out = xmalloc(cap), *op = out, *ip = (char *)in;
	size_t il = inlen, ol = cap;
	bool ok = iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0 &&
	    iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1;
	release_cd(cd);
	if (!ok) {
		free(out);
		return NULL;
	}
	*outlen = cap - ol;
	return out;
}

/* Does the registry charset named `label` decode bytes to exactly utf8? */
static bool
decodes_to(const char *label, const char *bytes, size_t len, const char *utf8, size_t ulen)
{
	const struct charset_info *cs = charset_lookup(label);
	size_t outlen;
	char *out;
	bool same;

	if (cs == NULL)
		return false;
	if ((cs->props & CSP_SINGLE_BYTE) && cs->family == CSF_ASCII) {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)bytes[i] >= 0x80)
				return false;
	}
	out = convert("UTF-8", cs->iconv_name, bytes, len, &outlen);
	same = out != NULL && outlen == ulen && memcmp(out, utf8, ulen) == 0;
	free(out);
	return same;
}

static char *
encode_exact(const struct charset_info *cs, const char *utf8, size_t len, size_t *outlen)
{
	char *enc = convert(cs->iconv_name, "UTF-8", utf8, len, outlen);

	if (enc == NULL)
		return NULL;
	if (!decodes_to(cs->mime_name, enc, *outlen, utf8, len)) {
		free(enc);
		return NULL;
	}
	return enc;
}

static bool
interesting(const struct charset_info *cs, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80 || ((cs->props & CSP_7BIT_STATEFUL) && p[i] == 0x1b))
			return true;
	return false;
}

struct sample { char *utf8, *enc; size_t ulen, elen; };

/* Join random lines of l until the text in cs falls in the bucket. */
static bool
make_sample(const struct lines *l, const struct charset_info *cs, const struct bucket *b,
	    uint64_t *rng, struct sample *s)
{
	size_t target = b->lo + splitmix(rng) % (b->hi - b->lo + 1);
	size_t cap = b->hi * 4 + 256;
	char *text = xmalloc(cap);

	for (int attempt = 0; attempt < 200; attempt++) {
		size_t tlen = 0, elen = 0;
		char *enc;

		for (int piece = 0; piece < 2000 && elen < target; piece++) {
			const char *str = l->line[splitmix(rng) % l->n];
			size_t slen = strlen(str), plen, sep = tlen ? 1 : 0;
			char *pe = encode_exact(cs, str, slen, &plen);

			if (pe == NULL)
				continue;
			free(pe);
			if (elen + sep + plen > b->hi || tlen + sep + slen >= cap)
				continue;
			if (sep)
				text[tlen++] = b->lo >= 200 && splitmix(rng) % 4 == 0 ? '\n' : ' ';
			memcpy(text + tlen, str, slen);
			tlen += slen;
			elen += sep + plen;
		}
		if (elen < b->lo)
			continue;
		enc = encode_exact(cs, text, tlen, &elen);
		if (enc == NULL || elen < b->lo || elen > b->hi || !interesting(cs, enc, elen)) {
			free(enc);
			continue;
		}
		s->utf8 = text;
		s->ulen = tlen;
		s->enc = enc;
		s->elen = elen;
		return true;
	}
	free(text);
	return false;
}

/* ---- one message through the engine -------------------------------------------------- */

struct outcome {
	size_t edits;
	char label[64];		/* charset= written in the output ("" when none) */
	bool label_decodes;	/* glibc decodes the body under exactly that name */
	bool text_equal;	/* ... and the registry's converter gives the text */
	bool bad_label;		/* a label was written that glibc does not decode under */
};

static struct conf *conf;
static struct charset_conv *cv;

static int
to_buf(void *arg, const char *data, size_t len)
{
	return buf_append(arg, data, len);
}

/* The charset parameter of the (single) Content-Type field in the header. */
static void
written_label(const char *msg, size_t hdr_len, char *out, size_t cap)
{
	const char *p = msg, *end = msg + hdr_len;
	size_t n = 0;

	out[0] = '\0';
	for (; p + 8 <= end; p++)
		if (strncasecmp(p, "charset=", 8) == 0)
			break;
	if (p + 8 > end)
		return;
	p += 8;
	if (p < end && *p == '"')
		p++;
	while (p < end && n + 1 < cap && *p != '"' && *p != ';' && *p != ' ' && *p != '\r' && *p != '\n')
		out[n++] = *p++;
	out[n] = '\0';
}

static void
body_sink(void *arg, const char *data, size_t len)
{
	buf_append(arg, data, len);
}

/* The body with the transfer encoding the output header names undone. */
static void
body_text(const char *hdr, size_t hlen, const char *body, size_t blen, struct buf *out)
{
	static const char field[] = "content-transfer-encoding:";
	enum mime_cte cte = CTE_8BIT;
	struct cte_decoder dec;

	for (size_t i = 0; i + sizeof(field) - 1 < hlen; i++)
		if (strncasecmp(hdr + i, field, sizeof(field) - 1) == 0) {
			const char *v = hdr + i + sizeof(field) - 1;

			while (*v == ' ' || *v == '\t')
				v++;
			if (strncasecmp(v, "quoted-printable", 16) == 0)
				cte = CTE_QP;
			else if (strncasecmp(v, "base64", 6) == 0)
				cte = CTE_BASE64;
			break;
		}
	cte_decoder_init(&dec, cte);
	cte_decoder_feed(&dec, body, blen, body_sink, out);
	cte_decoder_finish(&dec, body_sink, out);
}

static void
run_message(const char *label, const struct sample *s, const char *text_utf8, size_t text_len,
	    struct outcome *oc)
{
	struct buf in, out;
	struct engine *e = engine_new(conf, NULL);
	const char *sep;
	size_t hdr;

	buf_init(&in, 64 * 1024 * 1024);
	buf_init(&out, 64 * 1024 * 1024);
	buf_printf(&in, "From: a@example.org\nTo: b@example.org\nSubject: sample\nMIME-Version: 1.0\n"
		   "Content-Type: text/plain; charset=%s\nContent-Transfer-Encoding: 8bit\n\n", label);
	buf_append(&in, s->enc, s->elen);
	buf_append(&in, "\n", 1);
	memset(oc, 0, sizeof(*oc));
	if (engine_feed(e, in.data, in.len) < 0 || engine_finish(e) < 0 ||
	    engine_write(e, 0, to_buf, &out) < 0) {
		fprintf(stderr, "labels: engine failed: %s\n", engine_error(e));
		exit(2);
	}
	oc->edits = engine_edits(e)->n;
	sep = memmem(out.data, out.len, "\n\n", 2);
	hdr = sep != NULL ? (size_t)(sep - out.data) + 2 : out.len;
	written_label(out.data, hdr, oc->label, sizeof(oc->label));
	if (oc->label[0] != '\0') {
		struct buf body;

		/* label mode keeps the text; a line over 998 bytes gets
		 * quoted-printable, so the body is decoded before it is judged */
		buf_init(&body, 64 * 1024 * 1024);
		body_text(out.data, hdr, out.data + hdr, out.len - hdr, &body);
		if (body.len > 0 && body.data[body.len - 1] == '\n')
			body.len--;	/* the LF after the sample */
		oc->label_decodes = charset_name_decodes(cv, oc->label, body.data, body.len, NULL);
		oc->text_equal = oc->label_decodes && body.len == s->elen &&
		    memcmp(body.data, s->enc, body.len) == 0 &&
		    decodes_to(oc->label, body.data, body.len, text_utf8, text_len);
		oc->bad_label = !oc->label_decodes;
		buf_free(&body);
	}
	buf_free(&in);
	buf_free(&out);
	engine_free(e);
}

/* ---- experiments ------------------------------------------------------------------------ */

struct tally { unsigned n, good, edits, bad_labels; };	/* good: as the experiment wants */

static struct tally true_t[ARRAY_LEN(true_pairs)][N_BUCKETS];
static struct tally lie_t[ARRAY_LEN(lies)][ARRAY_LEN(lie_pairs)][N_BUCKETS];
static struct tally utf8_t[ARRAY_LEN(utf8_langs)][N_BUCKETS];
static double scale = 1.0;
static bool verbose;

static void
note(struct tally *t, const struct outcome *oc, bool good)
{
	t->n++;
	t->good += good;
	t->edits += oc->edits > 0;
	t->bad_labels += oc->edits > 0 && oc->label[0] != '\0' && !oc->label_decodes;
}

static void
miss(const char *what, const char *lang, const char *label, const struct sample *s,
     const struct outcome *oc)
{
	if (verbose)
		printf("MISS %s %s under %s [%zu B]: wrote %s (%zu edits): %.*s\n", what, lang, label,
		       s->elen, oc->label[0] ? oc->label : "-", oc->edits,
		       (int)(s->ulen < 160 ? s->ulen : 160), s->utf8);
}

/* The label a correct sender writes: the registry name, or for a CJK family
 * the narrowest name glibc decodes the bytes under (charset_label_for). */
static bool
sample_name_decodes(void *arg, const char *name)
{
	const struct sample *s = arg;

	return charset_name_decodes(cv, name, s->enc, s->elen, NULL);
}

static unsigned
bucket_count(size_t b)
{
	unsigned c = (unsigned)(buckets[b].count * scale);

	return c ? c : 1;
}

static void
run_true(const char *dir)
{
	for (size_t p = 0; p < ARRAY_LEN(true_pairs); p++) {
		const struct charset_info *cs = charset_lookup(true_pairs[p].charset);
		const struct lines *l = load_lang(dir, true_pairs[p].lang);

		if (cs == NULL || l == NULL)
			continue;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			uint64_t rng = 0x7a6e0000ULL + p * 131 + b;

			for (unsigned i = 0; i < bucket_count(b) * 2; i++) {
				struct sample s;
				struct outcome oc;
				const char *label;

				if (!make_sample(l, cs, &buckets[b], &rng, &s))
					continue;
				label = charset_label_for(cs, sample_name_decodes, &s)->mime_name;
				run_message(label, &s, s.utf8, s.ulen, &oc);
				/* long samples have lines over 998 bytes: the CTE fix is an
				 * edit, a relabel is what counts */
				note(&true_t[p][b], &oc, strcasecmp(oc.label, label) == 0);
				if (strcasecmp(oc.label, label) != 0)
					miss("true", true_pairs[p].lang, label, &s, &oc);
				free(s.utf8);
				free(s.enc);
			}
		}
	}
}

static void
run_lies(const char *dir)
{
	for (size_t p = 0; p < ARRAY_LEN(lie_pairs); p++) {
		const struct charset_info *cs = charset_lookup(lie_pairs[p].charset);
		const struct lines *l = load_lang(dir, lie_pairs[p].lang);

		if (cs == NULL || l == NULL)
			continue;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			uint64_t rng = 0x11e50000ULL + p * 131 + b;

			for (unsigned i = 0; i < bucket_count(b); i++) {
				struct sample s;

				if (!make_sample(l, cs, &buckets[b], &rng, &s))
					continue;
				for (size_t k = 0; k < ARRAY_LEN(lies); k++) {
					struct outcome oc;

					/* a label that decodes to the very text is no lie */
					if (decodes_to(lies[k], s.enc, s.elen, s.utf8, s.ulen))
						continue;
					run_message(lies[k], &s, s.utf8, s.ulen, &oc);
					note(&lie_t[k][p][b], &oc, oc.text_equal);
					if (!oc.text_equal)
						miss("lie", lie_pairs[p].lang, lies[k], &s, &oc);
				}
				free(s.utf8);
				free(s.enc);
			}
		}
	}
}

static void
run_utf8(const char *dir)
{
	const struct charset_info *u8 = charset_lookup("utf-8");

	for (size_t p = 0; p < ARRAY_LEN(utf8_langs); p++) {
		const struct lines *l = load_lang(dir, utf8_langs[p]);

		if (l == NULL)
			continue;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			uint64_t rng = 0x0f800000ULL + p * 131 + b;

			for (unsigned i = 0; i < bucket_count(b); i++) {
				struct sample s;
				struct outcome oc;

				if (!make_sample(l, u8, &buckets[b], &rng, &s))
					continue;
				run_message("iso-8859-1", &s, s.utf8, s.ulen, &oc);
				note(&utf8_t[p][b], &oc, oc.text_equal && strcasecmp(oc.label, "utf-8") == 0);
				if (strcasecmp(oc.label, "utf-8") != 0)
					miss("utf8", utf8_langs[p], "iso-8859-1", &s, &oc);
				free(s.utf8);
				free(s.enc);
			}
		}
	}
}

/* ---- margins (-m): what the threshold is measured on -------------------------------------- */

static bool
sample_decodes(void *arg, const struct charset_info *cs)
{
	const struct sample *s = arg;

	return charset_decodes(cv, cs, s->enc, s->elen, NULL);
}

/* One TSV line per sample: kind, language, true charset, declared, bytes,
 * 8-bit bytes, scored bytes, margin (nats), best alternative, declared and
 * best costs (nats). */
static void
print_margin(const char *kind, const struct pair *pr, const char *declared, const struct sample *s)
{
	struct text_analysis ta;
	struct detect_alternative alt;
	size_t n8 = 0;

	for (size_t i = 0; i < s->elen; i++)
		n8 += (unsigned char)s->enc[i] >= 0x80;
	text_analysis_of_bytes(&ta, s->enc, s->elen);
	detect_score_declared(&ta, charset_lookup(declared), cv, sample_decodes, (void *)s, &alt);
	printf("%s\t%s\t%s\t%s\t%zu\t%zu\t%zu\t%.2f\t%s\t%.2f\t%.2f\n", kind, pr->lang, pr->charset,
	       declared, s->elen, n8, alt.scored_bytes, alt.best != NULL ? alt.margin : -1e9,
	       alt.best != NULL ? alt.best->mime_name : "-", alt.declared_cost, alt.best_cost);
	text_analysis_free(&ta);
}

static void
run_margins(const char *dir)
{
	for (size_t p = 0; p < ARRAY_LEN(true_pairs) + ARRAY_LEN(lie_pairs); p++) {
		bool is_true = p < ARRAY_LEN(true_pairs);
		const struct pair *pr = is_true ? &true_pairs[p] : &lie_pairs[p - ARRAY_LEN(true_pairs)];
		const struct charset_info *cs = charset_lookup(pr->charset);
		const struct lines *l = load_lang(dir, pr->lang);

		if (cs == NULL || l == NULL || (is_true && !(cs->props & CSP_SINGLE_BYTE)))
			continue;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			uint64_t rng = 0x3a190000ULL + p * 131 + b;

			for (unsigned i = 0; i < bucket_count(b); i++) {
				struct sample s;

				if (!make_sample(l, cs, &buckets[b], &rng, &s))
					continue;
				if (is_true)
					print_margin("true", pr, pr->charset, &s);
				for (size_t k = 0; !is_true && k < ARRAY_LEN(lies); k++)
					if (strcmp(lies[k], "us-ascii") != 0 &&
					    !decodes_to(lies[k], s.enc, s.elen, s.utf8, s.ulen))
						print_margin("lie", pr, lies[k], &s);
				free(s.utf8);
				free(s.enc);
			}
		}
	}
}

/* ---- report ------------------------------------------------------------------------------ */

static double
pct(unsigned a, unsigned n)
{
	return n ? 100.0 * a / n : 0;
}

static void
add(struct tally *to, const struct tally *t)
{
	to->n += t->n;
	to->good += t->good;
	to->edits += t->edits;
	to->bad_labels += t->bad_labels;
}

static struct tally true_total, lie_total[ARRAY_LEN(lies)], utf8_total;
static unsigned bad_total;

static void
report_true(FILE *out)
{
	fprintf(out, "Correct labels (text in X labelled X): messages relabelled, and messages with any\n"
		"edit (2-20 KB samples have lines over 998 bytes: quoted-printable).\n\n");
	fprintf(out, "| charset | language | samples | relabelled | any edit |\n|---|---|---:|---:|---:|\n");
	for (size_t p = 0; p < ARRAY_LEN(true_pairs); p++) {
		struct tally t = { 0, 0, 0, 0 };

		for (size_t b = 0; b < N_BUCKETS; b++)
			add(&t, &true_t[p][b]);
		add(&true_total, &t);
		if (t.n == 0)
			fprintf(out, "| %s | %s | no corpus | | |\n", true_pairs[p].charset, true_pairs[p].lang);
		else
			fprintf(out, "| %s | %s | %u | %u | %u |\n", true_pairs[p].charset, true_pairs[p].lang,
				t.n, t.n - t.good, t.edits);
	}
	fprintf(out, "| **all** | | **%u** | **%u** | %u |\n\n", true_total.n, true_total.n - true_total.good,
		true_total.edits);
	bad_total += true_total.bad_labels;
}

static void
report_lies(FILE *out)
{
	fprintf(out, "Lying labels (text in X under a single-byte label that does not decode it to the\n"
		"text): share whose written label decodes the bytes to exactly the text.\n\n");
	fprintf(out, "| declared | samples |");
	for (size_t b = 0; b < N_BUCKETS; b++)
		fprintf(out, " %s |", buckets[b].name);
	fprintf(out, " all | bad labels |\n|---|---:|");
	for (size_t b = 0; b <= N_BUCKETS; b++)
		fprintf(out, "---:|");
	fprintf(out, "---:|\n");
	for (size_t k = 0; k < ARRAY_LEN(lies); k++) {
		struct tally tb[N_BUCKETS];

		memset(tb, 0, sizeof(tb));
		for (size_t p = 0; p < ARRAY_LEN(lie_pairs); p++)
			for (size_t b = 0; b < N_BUCKETS; b++) {
				add(&tb[b], &lie_t[k][p][b]);
				add(&lie_total[k], &lie_t[k][p][b]);
			}
		fprintf(out, "| %s | %u |", lies[k], lie_total[k].n);
		for (size_t b = 0; b < N_BUCKETS; b++)
			fprintf(out, " %.1f%% |", pct(tb[b].good, tb[b].n));
		fprintf(out, " **%.2f%%** | %u |\n", pct(lie_total[k].good, lie_total[k].n),
			lie_total[k].bad_labels);
		bad_total += lie_total[k].bad_labels;
	}
	fprintf(out, "\nBy true charset (all four lying labels, all lengths):\n\n"
		"| true charset | language | samples | repaired |\n|---|---|---:|---:|\n");
	for (size_t p = 0; p < ARRAY_LEN(lie_pairs); p++) {
		struct tally t = { 0, 0, 0, 0 };

		for (size_t k = 0; k < ARRAY_LEN(lies); k++)
			for (size_t b = 0; b < N_BUCKETS; b++)
				add(&t, &lie_t[k][p][b]);
		fprintf(out, "| %s | %s | %u | %.1f%% |\n", lie_pairs[p].charset, lie_pairs[p].lang, t.n,
			pct(t.good, t.n));
	}
	fprintf(out, "\n");
}

static void
report_utf8(FILE *out)
{
	struct tally tb[N_BUCKETS];

	memset(tb, 0, sizeof(tb));
	for (size_t p = 0; p < ARRAY_LEN(utf8_langs); p++)
		for (size_t b = 0; b < N_BUCKETS; b++) {
			add(&tb[b], &utf8_t[p][b]);
			add(&utf8_total, &utf8_t[p][b]);
		}
	fprintf(out, "Valid UTF-8 labelled iso-8859-1: share relabelled utf-8.\n\n| length | samples | utf-8 |\n"
		"|---|---:|---:|\n");
	for (size_t b = 0; b < N_BUCKETS; b++)
		fprintf(out, "| %s | %u | %.1f%% |\n", buckets[b].name, tb[b].n, pct(tb[b].good, tb[b].n));
	fprintf(out, "| **all** | %u | **%.2f%%** |\n\n", utf8_total.n, pct(utf8_total.good, utf8_total.n));
	bad_total += utf8_total.bad_labels;
	fprintf(out, "Labels written that glibc does not decode the part under: %u.\n", bad_total);
}

/*
 * Lying labels repaired: issue 10 asks for 95%; with the verification
 * thresholds that keep every correct label (verify.h) the 20-80-byte texts
 * reach about 87%, 94% over all lengths.  The floor guards that level
 * against regressions; the goal is reported, not enforced, until it is met.
 */
#define LIE_FLOOR	95.0	/* issue 10's bar, met on both corpora since the short-text limb (verify.h) */
#define LIE_GOAL	97.0

static int
check_targets(void)
{
	int failed = 0;

	if (true_total.n < 10000 || true_total.good != true_total.n) {
		printf("TARGET MISSED: correct labels: %u relabelled of %u (need 0 of >= 10000)\n",
		       true_total.n - true_total.good, true_total.n);
		failed++;
	}
	for (size_t k = 0; k < ARRAY_LEN(lies); k++) {
		double got = pct(lie_total[k].good, lie_total[k].n);

		if (got < LIE_FLOOR) {
			printf("TARGET MISSED: %s lie repaired %.2f%% (floor %.0f%%)\n", lies[k], got,
			       LIE_FLOOR);
			failed++;
		} else if (got < LIE_GOAL) {
			printf("below the goal (not a failure): %s lie repaired %.2f%% (goal %.0f%%)\n",
			       lies[k], got, LIE_GOAL);
		}
	}
	if (pct(utf8_total.good, utf8_total.n) < 99.0) {
		printf("TARGET MISSED: utf-8 under iso-8859-1: %.2f%% (need 99%%)\n",
		       pct(utf8_total.good, utf8_total.n));
		failed++;
	}
	if (bad_total != 0) {
		printf("TARGET MISSED: %u labels written that do not decode\n", bad_total);
		failed++;
	}
	if (failed == 0)
		printf("targets met: %u correct labels, 0 relabelled; lies >= %.0f%%; utf-8 %.2f%%; 0 bad labels\n",
		       true_total.n, LIE_FLOOR, pct(utf8_total.good, utf8_total.n));
	return failed;
}

int
main(int argc, char **argv)
{
	const char *report = NULL;
	bool check = false, margins = false;
	FILE *out = stdout;
	int opt, failed;

	while ((opt = getopt(argc, argv, "r:cms:v")) != -1) {
		switch (opt) {
		case 'm': margins = true; break;
		case 'r': report = optarg; break;
		case 'c': check = true; break;
		case 's': scale = strtod(optarg, NULL); break;
		case 'v': verbose = true; break;
		default: optind = argc + 1; break;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: labels [-r REPORT.md] [-c] [-m] [-s SCALE] [-v] CORPUSDIR\n");
		return 2;
	}
	conf = conf_defaults();
	cv = charset_conv_new();
	if (margins) {
		run_margins(argv[optind]);
		return 0;
	}
	run_true(argv[optind]);
	run_lies(argv[optind]);
	run_utf8(argv[optind]);
	if (report != NULL && (out = fopen(report, "w")) == NULL) {
		perror(report);
		return 2;
	}
	report_true(out);
	report_lies(out);
	report_utf8(out);
	if (out != stdout)
		fclose(out);
	failed = check_targets();
	charset_conv_free(cv);
	conf_free(conf);
	for (size_t i = 0; i < n_corpus; i++) {
		free(corpus[i].data);
		free(corpus[i].line);
	}
	return check && failed ? 1 : 0;
}
