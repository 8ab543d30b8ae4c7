/*
 * bench_analyze.c -- throughput of the one-pass analysis and of the cascade
 * on one big windows-1251 body, against a memchr pass over the same bytes.
 *
 * Usage: bench_analyze [-m MB] CORPUSDIR
 * Builds MB megabytes (default 50) of Russian text from CORPUSDIR/ru.txt in
 * windows-1251 (CRLF lines), then times, on one core, each over the whole
 * body fed in 64 KiB chunks as the milter receives it:
 *   memchr for a byte that is not there (the floor of any pass);
 *   text_analysis (8bit), and the same body as base64 and quoted-printable;
 *   detect_charset with an oracle that runs charset_decodes on the whole body;
 *   plain uchardet on the whole body, for comparison.
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

#define CHUNK (64 * 1024)

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 20, n = 0, r;
	char *p;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	p = xmalloc(cap);
	while ((r = fread(p + n, 1, cap - n, f)) > 0)
		if ((n += r) == cap)
			p = xrealloc(p, cap *= 2);
	fclose(f);
	*len = n;
	return p;
}

/* The corpus lines in windows-1251 (lines that do not convert are dropped), CRLF. */
static char *
cp1251_lines(const char *utf8, size_t len, size_t *outlen)
{
	iconv_t cd = iconv_open("CP1251", "UTF-8");
	char *out = xmalloc(len * 2 + 16);
	size_t n = 0;

	for (const char *p = utf8; p < utf8 + len; ) {
		const char *nl = memchr(p, '\n', (size_t)(utf8 + len - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(utf8 + len - p);
		char *ip = (char *)p, *op = out + n;
		size_t il = ll, ol = len * 2 - n;

		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0) {
			n = (size_t)(op - out);
			out[n++] = '\r';
			out[n++] = '\n';
		}
		p += ll + 1;
	}
	iconv_close(cd);
	*outlen = n;
	return out;
}

static char *
to_base64(const unsigned char *p, size_t n, size_t *outlen)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc(n / 3 * 4 + n / 57 * 2 + 16), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
		*o++ = i + 1 < n ? al[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? al[v & 63] : '=';
		if ((i / 3) % 19 == 18) {
			*o++ = '\r';
			*o++ = '\n';
		}
	}
	*outlen = (size_t)(o - out);
	return out;
}

static char *
to_qp(const unsigned char *p, size_t n, size_t *outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = xmalloc(n * 3 + n / 70 * 3 + 16), *o = out;
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			*o++ = '\r';
			*o++ = '\n';
			i++;
			col = 0;
			continue;
		}
		if (col > 72) {
			*o++ = '=';
			*o++ = '\r';
			*o++ = '\n';
			col = 0;
		}
		if (p[i] >= 0x80 || p[i] == '=') {
			*o++ = '=';
			*o++ = hex[p[i] >> 4];
			*o++ = hex[p[i] & 15];
			col += 3;
		} else {
			*o++ = (char)p[i];
			col++;
		}
	}
	*outlen = (size_t)(o - out);
	return out;
}

static double
time_analysis(enum mime_cte cte, const char *p, size_t n, struct text_analysis *keep)
{
	double t0 = now();

	text_analysis_init(keep, cte, false);
	for (size_t i = 0; i < n; i += CHUNK)
		text_analysis_feed(keep, p + i, n - i < CHUNK ? n - i : CHUNK);
	text_analysis_finish(keep);
	return now() - t0;
}

struct oracle { struct charset_conv *cv; const char *p; size_t n; };

static bool
oracle_decodes(void *arg, const struct charset_info *cs)
{
	struct oracle *o = arg;
	return charset_decodes(o->cv, cs, o->p, o->n, NULL);
}

int
main(int argc, char **argv)
{
	size_t mb = 50, clen, tlen;
	int opt;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt == 'm')
			mb = strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: bench_analyze [-m MB] CORPUSDIR\n");
			return 2;
		}
	}
	if (optind != argc - 1 || mb == 0) {
		fprintf(stderr, "usage: bench_analyze [-m MB] CORPUSDIR\n");
		return 2;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/ru.txt", argv[optind]);
	char *utf8 = read_file(path, &clen);
	char *unit = cp1251_lines(utf8, clen, &tlen);
	size_t n = mb << 20;
	char *body = xmalloc(n);
	for (size_t i = 0; i < n; i += tlen)
		memcpy(body + i, unit, n - i < tlen ? n - i : tlen);

	double t0 = now();
	size_t hits = 0;
	for (size_t i = 0; i < n; i += CHUNK)
		hits += memchr(body + i, 0, n - i < CHUNK ? n - i : CHUNK) != NULL;
	double t_memchr = now() - t0;

	struct text_analysis ta;
	double t_8bit = time_analysis(CTE_8BIT, body, n, &ta);
	size_t blen, qlen;
	char *b64 = to_base64((unsigned char *)body, n, &blen);
	char *qp = to_qp((unsigned char *)body, n, &qlen);
	struct text_analysis tb, tq;
	double t_b64 = time_analysis(CTE_BASE64, b64, blen, &tb);
	double t_qp = time_analysis(CTE_QP, qp, qlen, &tq);
	if (tb.decoded_len != n || tq.decoded_len != n || tb.hist[0xe0] != ta.hist[0xe0] ||
	    tq.hist[0xe0] != ta.hist[0xe0]) {
		fprintf(stderr, "bench: decoded bodies differ\n");
		return 1;
	}

	struct charset_conv *cv = charset_conv_new();
	struct oracle o = { cv, body, n };
	struct detect_context ctx;
	struct detect_result res;
	memset(&ctx, 0, sizeof(ctx));
	ctx.site_default = charset_lookup("windows-1252");
	t0 = now();
	detect_charset(&ta, &ctx, oracle_decodes, &o, cv, &res);
	double t_detect = now() - t0;
	t0 = now();
	const struct charset_info *u = detect_uchardet_only(body, n);
	double t_uchardet = now() - t0;

	printf("body: %zu MB windows-1251 (Russian, CRLF), fed in %d KiB chunks, one core\n", mb, CHUNK / 1024);
	printf("| pass | MB/s |\n|---|---:|\n");
	printf("| memchr (floor) | %.0f |\n", n / t_memchr / 1e6);
	printf("| analysis, 8bit | %.0f |\n", n / t_8bit / 1e6);
	printf("| analysis, base64 (decoded MB) | %.0f |\n", n / t_b64 / 1e6);
	printf("| analysis, quoted-printable (decoded MB) | %.0f |\n", n / t_qp / 1e6);
	printf("| detect_charset incl. whole-body oracle | %.0f |\n", n / t_detect / 1e6);
	printf("| plain uchardet on the whole body | %.0f |\n", n / t_uchardet / 1e6);
	printf("detect: %s (%s); uchardet: %s; memchr hits %zu\n",
	       res.charset ? res.charset->mime_name : "-", res.reason, u ? u->mime_name : "-", hits);
	text_analysis_free(&ta);
	text_analysis_free(&tb);
	text_analysis_free(&tq);
	charset_conv_free(cv);
	free(body); free(unit); free(utf8); free(b64); free(qp);
	return 0;
}
