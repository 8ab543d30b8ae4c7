/*
 * eval.c -- detection evaluation: the cascade against plain uchardet on
 * real text in 15 script families, three length buckets.
 *
 * Usage: eval [-r REPORT.md] [-c] [-s SCALE] CORPUSDIR
 *   CORPUSDIR holds LANG.txt files (UTF-8, one catalog string per line; see
 *   mkdata.py).  Samples are built deterministically (fixed seed): strings
 *   of one language, joined until the length in the target charset falls in
 *   the bucket, kept only when the whole text round-trips exactly through
 *   that charset (glibc iconv, the registry's converter names) and holds at
 *   least one 8-bit byte (an escape sequence for iso-2022-jp).
 *   A detection is correct when the chosen charset decodes the bytes to
 *   exactly the original text.  -c: exit 1 when the cascade misses the
 *   targets (>= 95% at 20-80 bytes, >= 99% from 200 bytes, above uchardet in
 *   every bucket, no output that fails to decode).
 */
#include "config.h"

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "charset.h"
#include "detect.h"
#include "util.h"

struct pair { const char *lang, *charset; };

struct family {
	const char *name;
	const char *tld;		/* for the with-context column */
	struct pair pairs[12];
};

static const struct family families[] = {
	{ "Western", "fr", { { "fr", "windows-1252" }, { "de", "iso-8859-1" }, { "es", "windows-1252" },
	  { "pt", "iso-8859-15" }, { "it", "windows-1252" }, { "fr", "iso-8859-15" }, { "de", "windows-1252" },
	  { "es", "iso-8859-1" }, { "pt", "windows-1252" }, { "it", "iso-8859-1" } } },
	{ "Central European", "pl", { { "pl", "windows-1250" }, { "cs", "iso-8859-2" }, { "hu", "windows-1250" },
	  { "sk", "iso-8859-2" }, { "pl", "iso-8859-2" }, { "cs", "windows-1250" }, { "hu", "iso-8859-2" },
	  { "sk", "windows-1250" } } },
	{ "Cyrillic", "ru", { { "ru", "windows-1251" }, { "ru", "koi8-r" }, { "uk", "windows-1251" },
	  { "uk", "koi8-u" }, { "bg", "windows-1251" }, { "ru", "ibm866" }, { "ru", "iso-8859-5" },
	  { "bg", "iso-8859-5" } } },
	{ "Greek", "gr", { { "el", "windows-1253" }, { "el", "iso-8859-7" } } },
	{ "Turkish", "tr", { { "tr", "windows-1254" }, { "tr", "iso-8859-9" } } },
	{ "Hebrew", "il", { { "he", "windows-1255" } } },
	{ "Arabic", "sa", { { "ar", "windows-1256" } } },
	{ "Baltic", "lt", { { "lt", "windows-1257" }, { "lv", "iso-8859-13" }, { "lv", "windows-1257" },
	  { "lt", "iso-8859-13" } } },
	{ "Vietnamese", "vn", { { "vi", "windows-1258" } } },
	{ "Thai", "th", { { "th", "windows-874" } } },
	{ "Japanese", "jp", { { "ja", "shift_jis" }, { "ja", "euc-jp" }, { "ja", "iso-2022-jp" } } },
	{ "Chinese (simplified)", "cn", { { "zh_CN", "gb2312" }, { "zh_CN", "gb18030" } } },
	{ "Chinese (traditional)", "tw", { { "zh_TW", "big5" } } },
	{ "Korean", "kr", { { "ko", "euc-kr" } } },
};
#define N_FAMILIES ARRAY_LEN(families)

struct bucket { const char *name; size_t lo, hi; unsigned count; };
static struct bucket buckets[] = {
	{ "20-80 B", 20, 80, 300 },
	{ "200-1000 B", 200, 1000, 300 },
	{ "2-20 KB", 2048, 20480, 100 },
};
#define N_BUCKETS ARRAY_LEN(buckets)

/* ---- corpus ---------------------------------------------------------------------- */

struct lines { char *data; char **line; size_t n; };

static struct lines corpus[32];
static const char *corpus_lang[32];
static size_t n_corpus;

static const struct lines *
load_lang(const char *dir, const char *lang)
{
	for (size_t i = 0; i < n_corpus; i++)
		if (strcmp(corpus_lang[i], lang) == 0)
			return &corpus[i];
	if (n_corpus == ARRAY_LEN(corpus))
		return NULL;
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.txt", dir, lang);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	struct lines *l = &corpus[n_corpus];
	size_t cap = 1 << 16, len = 0, r;
	l->data = xmalloc(cap + 1);
	while ((r = fread(l->data + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			cap *= 2;
			l->data = xrealloc(l->data, cap + 1);
		}
	}
	fclose(f);
	l->data[len] = '\0';
	size_t lcap = 1024;
	l->line = xreallocarray(NULL, lcap, sizeof(char *));
	l->n = 0;
	for (char *p = l->data; *p; ) {
		char *nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (*p != '\0') {
			if (l->n == lcap) {
				lcap *= 2;
				l->line = xreallocarray(l->line, lcap, sizeof(char *));
			}
			l->line[l->n++] = p;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	corpus_lang[n_corpus++] = lang;
	return l;
}

/* ---- deterministic randomness, conversion ----------------------------------------- */

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* iconv from -> to over the whole input; NULL when anything fails. */
static char *
convert(const char *to, const char *from, const char *in, size_t inlen, size_t *outlen)
{
	iconv_t cd = iconv_open(to, from);
	if (cd == (iconv_t)-1)
		return NULL;
	size_t cap = inlen * 4 + 16;
	char *out = xmalloc(cap), *op = out, *ip = (char *)in;
	size_t il = inlen, ol = cap;
	bool ok = iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0 &&
	    iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1;
	iconv_close(cd);
	if (!ok) {
		free(out);
		return NULL;
	}
	*outlen = cap - ol;
	return out;
}

/* Encode UTF-8 text in cs; NULL unless it round-trips exactly. */
static char *
encode_exact(const struct charset_info *cs, const char *utf8, size_t len, size_t *outlen)
{
	char *enc = convert(cs->iconv_name, "UTF-8", utf8, len, outlen);
	if (enc == NULL)
		return NULL;
	size_t backlen;
	char *back = convert("UTF-8", cs->iconv_name, enc, *outlen, &backlen);
	bool same = back != NULL && backlen == len && memcmp(back, utf8, len) == 0;
	free(back);
	if (!same) {
		free(enc);
		return NULL;
	}
	return enc;
}

/* Does cs decode bytes to exactly the original text? */
static bool
decodes_to(const struct charset_info *cs, const char *bytes, size_t len, const char *utf8, size_t ulen)
{
	size_t outlen;
	if (cs == NULL)
		return false;
	char *out = convert("UTF-8", cs->iconv_name, bytes, len, &outlen);
	bool same = out != NULL && outlen == ulen && memcmp(out, utf8, ulen) == 0;
	free(out);
	return same;
}

static bool
interesting(const struct charset_info *cs, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80 || ((cs->props & CSP_7BIT_STATEFUL) && p[i] == 0x1b))
			return true;
	return false;
}

/* Build one sample of the bucket; returns false after too many tries. */
static bool
make_sample(const struct lines *l, const struct charset_info *cs, const struct bucket *b,
	    uint64_t *rng, char **utf8_out, size_t *ulen_out, char **enc_out, size_t *elen_out)
{
	size_t target = b->lo + splitmix(rng) % (b->hi - b->lo + 1);
	size_t cap = b->hi * 4 + 256;
	char *text = xmalloc(cap);

	for (int attempt = 0; attempt < 200; attempt++) {
		size_t tlen = 0, elen = 0;
		char *enc = NULL;

		for (int piece = 0; piece < 2000 && elen < target; piece++) {
			const char *s = l->line[splitmix(rng) % l->n];
			size_t slen = strlen(s), plen, sep = tlen ? 1 : 0;
			char *pe = encode_exact(cs, s, slen, &plen);

			if (pe == NULL)
				continue;
			free(pe);
			if (elen + sep + plen > b->hi || tlen + sep + slen >= cap)
				continue;
			if (sep)
				text[tlen++] = b->lo >= 200 && splitmix(rng) % 4 == 0 ? '\n' : ' ';
			memcpy(text + tlen, s, slen);
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
		*utf8_out = text;
		*ulen_out = tlen;
		*enc_out = enc;
		*elen_out = elen;
		return true;
	}
	free(text);
	return false;
}

/* ---- running ---------------------------------------------------------------------- */

struct oracle { struct charset_conv *cv; const char *p; size_t n; };

static bool
oracle_decodes(void *arg, const struct charset_info *cs)
{
	struct oracle *o = arg;
	return charset_decodes(o->cv, cs, o->p, o->n, NULL);
}

struct tally {
	unsigned n, cascade, cascade_tld, uchardet, bad;
	double cascade_s, uchardet_s, analysis_s;
	size_t bytes;
};

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
detect_one(struct charset_conv *cv, const char *enc, size_t elen, const char *tld,
	   struct detect_result *res, double *t_analysis, double *t_detect)
{
	struct text_analysis ta;
	struct detect_context ctx;
	struct oracle o = { cv, enc, elen };
	double t0 = now();

	memset(&ctx, 0, sizeof(ctx));
	ctx.site_default = charset_lookup("windows-1252");
	ctx.sender_tld = tld;
	text_analysis_init(&ta, CTE_8BIT, false);
	text_analysis_feed(&ta, enc, elen);
	text_analysis_finish(&ta);
	double t1 = now();
	detect_charset(&ta, &ctx, oracle_decodes, &o, cv, res);
	*t_analysis += t1 - t0;
	*t_detect += now() - t1;
	text_analysis_free(&ta);
}

static double
pct(unsigned a, unsigned n)
{
	return n ? 100.0 * a / n : 0;
}

int
main(int argc, char **argv)
{
	const char *report = NULL;
	bool check = false, verbose = false;
	double scale = 1.0;
	int opt;

	while ((opt = getopt(argc, argv, "r:cs:v")) != -1) {
		switch (opt) {
		case 'r': report = optarg; break;
		case 'c': check = true; break;
		case 's': scale = strtod(optarg, NULL); break;
		case 'v': verbose = true; break;
		default:
			fprintf(stderr, "usage: eval [-r REPORT.md] [-c] [-s SCALE] [-v] CORPUSDIR\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: eval [-r REPORT.md] [-c] [-s SCALE] [-v] CORPUSDIR\n");
		return 2;
	}
	const char *dir = argv[optind];
	struct charset_conv *cv = charset_conv_new();
	static struct tally t[N_FAMILIES][N_BUCKETS];
	struct tally tb[N_BUCKETS];
	double start = now();

	memset(tb, 0, sizeof(tb));
	for (size_t f = 0; f < N_FAMILIES; f++) {
		const struct family *fam = &families[f];
		size_t npairs = 0;

		while (npairs < ARRAY_LEN(fam->pairs) && fam->pairs[npairs].lang != NULL)
			npairs++;
		for (size_t b = 0; b < N_BUCKETS; b++) {
			uint64_t rng = 0x5eed0000ULL + f * 131 + b;
			unsigned count = (unsigned)(buckets[b].count * scale);
			struct tally *ty = &t[f][b];

			for (unsigned i = 0; i < count; i++) {
				const struct pair *pr = &fam->pairs[i % npairs];
				const struct charset_info *cs = charset_lookup(pr->charset);
				const struct lines *l = load_lang(dir, pr->lang);
				char *utf8, *enc;
				size_t ulen, elen;
				struct detect_result res;
				double dummy = 0;

				if (cs == NULL || l == NULL || l->n == 0) {
					fprintf(stderr, "eval: no charset %s or corpus %s\n", pr->charset, pr->lang);
					return 2;
				}
				if (!make_sample(l, cs, &buckets[b], &rng, &utf8, &ulen, &enc, &elen))
					continue;
				ty->n++;
				ty->bytes += elen;
				detect_one(cv, enc, elen, NULL, &res, &ty->analysis_s, &ty->cascade_s);
				bool ok = decodes_to(res.charset, enc, elen, utf8, ulen);
				ty->cascade += ok;
				if (res.charset == NULL || !charset_decodes(cv, res.charset, enc, elen, NULL))
					ty->bad++;
				if (verbose && !ok)
					printf("MISS %s/%s %s [%zu B]: got %s: %s\n   text: %.*s\n", fam->name,
					       pr->lang, pr->charset, elen, res.charset ? res.charset->mime_name : "-",
					       res.reason, (int)(ulen < 200 ? ulen : 200), utf8);
				detect_one(cv, enc, elen, fam->tld, &res, &dummy, &dummy);
				ty->cascade_tld += decodes_to(res.charset, enc, elen, utf8, ulen);
				double t0 = now();
				const struct charset_info *u = detect_uchardet_only(enc, elen);
				ty->uchardet_s += now() - t0;
				ty->uchardet += decodes_to(u, enc, elen, utf8, ulen);
				free(utf8);
				free(enc);
			}
			tb[b].n += ty->n; tb[b].cascade += ty->cascade; tb[b].cascade_tld += ty->cascade_tld;
			tb[b].uchardet += ty->uchardet; tb[b].bad += ty->bad; tb[b].bytes += ty->bytes;
			tb[b].cascade_s += ty->cascade_s; tb[b].uchardet_s += ty->uchardet_s;
			tb[b].analysis_s += ty->analysis_s;
		}
	}
	double elapsed = now() - start;

	FILE *out = stdout;
	if (report != NULL && (out = fopen(report, "w")) == NULL) {
		perror(report);
		return 2;
	}
	fprintf(out, "| family | length | samples | cascade | cascade + TLD | uchardet | bad outputs |\n");
	fprintf(out, "|---|---|---:|---:|---:|---:|---:|\n");
	for (size_t f = 0; f < N_FAMILIES; f++)
		for (size_t b = 0; b < N_BUCKETS; b++) {
			struct tally *ty = &t[f][b];
			fprintf(out, "| %s | %s | %u | %.1f%% | %.1f%% | %.1f%% | %u |\n", families[f].name,
				buckets[b].name, ty->n, pct(ty->cascade, ty->n), pct(ty->cascade_tld, ty->n),
				pct(ty->uchardet, ty->n), ty->bad);
		}
	for (size_t b = 0; b < N_BUCKETS; b++)
		fprintf(out, "| **all** | **%s** | %u | **%.2f%%** | %.2f%% | %.2f%% | %u |\n", buckets[b].name,
			tb[b].n, pct(tb[b].cascade, tb[b].n), pct(tb[b].cascade_tld, tb[b].n),
			pct(tb[b].uchardet, tb[b].n), tb[b].bad);
	fprintf(out, "\n| length | analysis MB/s | cascade ms/sample | uchardet ms/sample |\n|---|---:|---:|---:|\n");
	for (size_t b = 0; b < N_BUCKETS; b++)
		fprintf(out, "| %s | %.0f | %.3f | %.3f |\n", buckets[b].name,
			tb[b].analysis_s > 0 ? tb[b].bytes / tb[b].analysis_s / 1e6 : 0,
			tb[b].n ? 1000 * tb[b].cascade_s / tb[b].n : 0,
			tb[b].n ? 1000 * tb[b].uchardet_s / tb[b].n : 0);
	fprintf(out, "\nTotal run time %.1f s.\n", elapsed);
	if (out != stdout)
		fclose(out);

	int failed = 0;
	for (size_t b = 0; b < N_BUCKETS; b++) {
		double need = buckets[b].lo >= 200 ? 99.0 : 95.0;
		double got = pct(tb[b].cascade, tb[b].n);

		if (tb[b].n == 0 || got < need || tb[b].cascade <= tb[b].uchardet || tb[b].bad > 0) {
			printf("TARGET MISSED: %s: cascade %.2f%% (need %.0f%%), uchardet %.2f%%, bad %u\n",
			       buckets[b].name, got, need, pct(tb[b].uchardet, tb[b].n), tb[b].bad);
			failed++;
		} else {
			printf("target met: %s: cascade %.2f%% (need %.0f%%), uchardet %.2f%%, bad 0\n",
			       buckets[b].name, got, need, pct(tb[b].uchardet, tb[b].n));
		}
	}
	charset_conv_free(cv);
	for (size_t i = 0; i < n_corpus; i++) {
		free(corpus[i].data);
		free(corpus[i].line);
	}
	return check && failed ? 1 : 0;
}
