/*
 * engine_bench.c -- single-thread engine throughput against the hardware
 * ceiling, measured in the same run on the same bytes.
 *
 * Usage: engine_bench [-r REPS] [-s SET] [-q] CORPUS_DIR
 *   CORPUS_DIR is what tests/bench/gen_corpus.py wrote (manifest.tsv and
 *   the clean/ label/ transcode/ message sets).  -s runs one set only (for
 *   profiling under perf or callgrind), -q prints only the table.
 *
 * Workloads (each message goes through engine_new, engine_feed in 65535-byte
 * chunks as the milter feeds it, engine_finish, engine_edits, and
 * engine_write of the body when the body changed, into a sink that only
 * counts -- exactly the work the milter adapter asks of the core):
 *   pass-through  the clean set, Mode label (the default)
 *   label         the label set, Mode label
 *   transcode     the transcode set, Mode transcode
 * Ceilings, on the same message bytes, in the same process and run:
 *   memchr+memcpy a memchr pass counting line ends over every message, plus
 *                 a memcpy of it: what any byte-preserving pass-through must
 *                 at least do (read every byte, hand every byte on).
 *   iconv         glibc iconv of every 8-bit text part (byte ranges and true
 *                 charsets from the manifest) to UTF-8, with one converter
 *                 per charset opened outside the timed loop: the transcode
 *                 floor of the work.
 * Every workload and its ceilings alternate message by message (so a noisy
 * neighbour hits both in proportion; the memchr+memcpy ceiling goes first
 * and reads the message cold), REPS times (default 9) after one warm-up
 * pass; the table shows the medians and, as noise, the spread
 * (max-min)/median of the repetitions.  "best" figures sum, per message,
 * the fastest of the repetitions: on a loaded machine that is the better
 * estimate of undisturbed time, so both are reported.
 * Throughput is message bytes / time for all rows, so engine/ceiling is the
 * inverse ratio of the times on the same bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "conf.h"
#include "engine.h"

#define FEED_CHUNK	65535
#define MAX_PARTS	8

struct text_range {
	char charset[32];
	size_t off, len;
};

struct bench_msg {
	char *data;
	size_t size;
	struct text_range parts[MAX_PARTS];
	size_t nparts;
};

struct msg_set {
	const char *name;
	struct bench_msg *msgs;
	size_t n, cap;
	size_t bytes;
};

static struct msg_set sets[3] = { { .name = "clean" }, { .name = "label" }, { .name = "transcode" } };

static void bench_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void bench_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("engine_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	size_t got = 0;
	char *p;

	if (fd == -1 || fstat(fd, &st) == -1) {
		fprintf(stderr, "engine_bench: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r <= 0) {
			fprintf(stderr, "engine_bench: read %s failed\n", path);
			exit(1);
		}
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return p;
}

static struct msg_set *set_named(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (strcmp(sets[i].name, name) == 0)
			return &sets[i];
	return NULL;
}

/* "charset:off:len" */
static bool parse_range(const char *tok, size_t toklen, struct text_range *r)
{
	const char *c1 = memchr(tok, ':', toklen), *c2;
	char *end;

	if (c1 == NULL || (size_t)(c1 - tok) >= sizeof(r->charset))
		return false;
	c2 = memchr(c1 + 1, ':', toklen - (size_t)(c1 + 1 - tok));
	if (c2 == NULL)
		return false;
	memcpy(r->charset, tok, (size_t)(c1 - tok));
	r->charset[c1 - tok] = '\0';
	r->off = strtoul(c1 + 1, &end, 10);
	if (end != c2)
		return false;
	r->len = strtoul(c2 + 1, &end, 10);
	return end == tok + toklen;
}

/* manifest.tsv: set TAB file TAB size TAB ranges(space separated) */
static void load_corpus(const char *dir)
{
	char path[4096], *manifest, *line, *next;
	size_t mlen;

	snprintf(path, sizeof(path), "%s/manifest.tsv", dir);
	manifest = slurp(path, &mlen);
	manifest = xrealloc(manifest, mlen + 1);
	manifest[mlen] = '\0';
	for (line = manifest; line != NULL && *line != '\0'; line = next) {
		char *f[4] = { line, NULL, NULL, NULL }, *nl = strchr(line, '\n');
		struct msg_set *s;
		struct bench_msg *m;
		const char *p;
		int k;

		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		for (k = 1; k < 4; k++) {
			f[k] = f[k - 1] ? strchr(f[k - 1], '\t') : NULL;
			if (f[k])
				*f[k]++ = '\0';
		}
		if (f[2] == NULL || (s = set_named(f[0])) == NULL)
			continue;		/* the big set is for the memory test */
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 256;
			s->msgs = xrealloc(s->msgs, s->cap * sizeof(*s->msgs));
		}
		m = &s->msgs[s->n++];
		memset(m, 0, sizeof(*m));
		snprintf(path, sizeof(path), "%s/%s", dir, f[1]);
		m->data = slurp(path, &m->size);
		s->bytes += m->size;
		for (p = f[3]; p != NULL && *p != '\0';) {
			size_t tl = strcspn(p, " ");

			if (tl > 0 && m->nparts < MAX_PARTS) {
				if (!parse_range(p, tl, &m->parts[m->nparts]) ||
				    m->parts[m->nparts].off + m->parts[m->nparts].len > m->size) {
					fprintf(stderr, "engine_bench: bad range in manifest for %s\n", f[1]);
					exit(1);
				}
				m->nparts++;
			}
			p += tl;
			while (*p == ' ')
				p++;
		}
	}
	free(manifest);
}

/* ---- the workloads ------------------------------------------------------------- */

/* Results of the ceiling passes go here so the compiler cannot drop them. */
static volatile size_t sink;

static int count_sink(void *arg, const char *data, size_t len)
{
	(void)data;
	*(size_t *)arg += len;
	return 0;
}

struct engine_totals {
	size_t edits, body_rewrites, out_bytes;
};

static const struct engine_source bench_source = { .client_addr = "192.0.2.1",
	.client_name = "client.example.test", .helo = "client.example.test",
	.env_sender = "sender@example.test", .body_8bitmime = true };

/* The whole milter-side job for one message. */
static void engine_one(const struct bench_msg *m, const struct conf *conf, struct engine_totals *t)
{
	struct engine *e = engine_new(conf, &bench_source);
	size_t off;

	for (off = 0; off < m->size; off += FEED_CHUNK) {
		size_t n = m->size - off < FEED_CHUNK ? m->size - off : FEED_CHUNK;

		if (engine_feed(e, m->data + off, n) == -1)
			bench_fail("engine_feed: %s", engine_error(e));
	}
	if (engine_finish(e) == -1)
		bench_fail("engine_finish: %s", engine_error(e));
	t->edits += engine_edits(e)->n;
	if (engine_body_changed(e)) {
		t->body_rewrites++;
		if (engine_write(e, engine_body_offset(e), count_sink, &t->out_bytes) == -1)
			bench_fail("engine_write: %s", engine_error(e));
	}
	engine_free(e);
}

/* Every byte read (memchr for line ends, as a line scanner must) and handed on (memcpy). */
static size_t memchr_memcpy_one(const struct bench_msg *m, char *scratch)
{
	const char *p = m->data, *end = m->data + m->size;
	size_t lines = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	memcpy(scratch, m->data, m->size);
	return lines + ((unsigned char)scratch[m->size / 2] & 1);	/* keep the copy alive */
}

struct conv_cache {
	char charset[32];
	iconv_t cd;
};
static struct conv_cache convs[32];
static size_t nconvs;

static iconv_t conv_for(const char *charset)
{
	size_t i;

	for (i = 0; i < nconvs; i++)
		if (strcmp(convs[i].charset, charset) == 0)
			return convs[i].cd;
	if (nconvs == sizeof(convs) / sizeof(convs[0]))
		bench_fail("too many charsets");
	snprintf(convs[nconvs].charset, sizeof(convs[nconvs].charset), "%s", charset);
	convs[nconvs].cd = iconv_open("UTF-8", charset);
	if (convs[nconvs].cd == (iconv_t)-1)
		bench_fail("iconv_open %s: %s", charset, strerror(errno));
	return convs[nconvs++].cd;
}

/* Raw iconv of every 8-bit text part of one message to UTF-8. */
static size_t iconv_one(const struct bench_msg *m, char *out, size_t outcap, size_t *text_bytes)
{
	size_t j, produced = 0;

	for (j = 0; j < m->nparts; j++) {
		const struct text_range *r = &m->parts[j];
		iconv_t cd = conv_for(r->charset);
		char *in = m->data + r->off, *o = out;
		size_t inleft = r->len, outleft = outcap;

		iconv(cd, NULL, NULL, NULL, NULL);
		if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1)
			bench_fail("iconv from %s failed at byte %zu: %s",
			    r->charset, r->len - inleft, strerror(errno));
		produced += outcap - outleft;
		*text_bytes += r->len;
	}
	return produced;
}

/* ---- statistics ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat_row {
	double median, spread;		/* seconds; (max-min)/median */
};

static struct stat_row summarize(double *t, int n)
{
	struct stat_row r;

	qsort(t, (size_t)n, sizeof(double), cmp_double);
	r.median = (n % 2) ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	r.spread = r.median > 0 ? (t[n - 1] - t[0]) / r.median : 0;
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: engine_bench [-r REPS] [-s clean|label|transcode] [-q] CORPUS_DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int reps = 9, ch, r;
	const char *only = NULL;
	bool quiet = false;
	struct conf *label_conf, *transcode_conf;
	size_t si, maxsize = 0, outcap;
	char *scratch, *iconv_out;

	while ((ch = getopt(argc, argv, "r:s:q")) != -1) {
		switch (ch) {
		case 'r': reps = (int)strtol(optarg, NULL, 10); break;
		case 's': only = optarg; break;
		case 'q': quiet = true; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || reps < 1 || reps > 1000 || (only && set_named(only) == NULL))
		usage();
	load_corpus(argv[optind]);
	label_conf = conf_defaults();
	label_conf->mode = MODE_LABEL;
	transcode_conf = conf_defaults();
	transcode_conf->mode = MODE_TRANSCODE;
	for (si = 0; si < 3; si++) {
		size_t i;

		for (i = 0; i < sets[si].n; i++)
			if (sets[si].msgs[i].size > maxsize)
				maxsize = sets[si].msgs[i].size;
		if (sets[si].n == 0 && (only == NULL || strcmp(only, sets[si].name) == 0)) {
			fprintf(stderr, "engine_bench: no %s messages in %s\n", sets[si].name, argv[optind]);
			return 1;
		}
	}
	scratch = xmalloc(maxsize + 1);
	outcap = 4 * maxsize + 16;	/* UTF-8 is at most 3 bytes per BMP char from 1-2 input bytes */
	iconv_out = xmalloc(outcap);

	if (!quiet)
		printf("# engine_bench: %d repetitions, medians; noise = (max-min)/median\n", reps);
	printf("%-11s %6s %8s | %9s %9s %6s | %-13s %9s %6s | %6s\n", "workload", "msgs", "MB",
	    "eng MB/s", "msgs/s", "noise", "ceiling", "MB/s", "noise", "ratio");
	for (si = 0; si < 3; si++) {
		const struct msg_set *s = &sets[si];
		const struct conf *conf = si == 2 ? transcode_conf : label_conf;
		double *te = xcalloc((size_t)reps, sizeof(double));
		double *tm = xcalloc((size_t)reps, sizeof(double));
		double *ti = xcalloc((size_t)reps, sizeof(double));
		/* Per message, the fastest of the repetitions: on a loaded machine
		 * the sum of these is the best estimate of undisturbed time. */
		double *emin = xcalloc(s->n, sizeof(double));
		double *mmin = xcalloc(s->n, sizeof(double));
		double *imin = xcalloc(s->n, sizeof(double));
		double best_eng = 0, best_mem = 0, best_iconv = 0;
		size_t i;
		struct engine_totals tot;
		struct stat_row se, sm, sic;
		size_t text_bytes = 0;
		double mb = (double)s->bytes / 1e6;

		if (only && strcmp(only, s->name) != 0)
			continue;
		/*
		 * Warm-up pass (pages in the corpus, opens the converters), then
		 * the timed passes.  The engine and its ceilings alternate message
		 * by message, so a preemption or a noisy neighbour (this machine is
		 * shared) slows both in proportion to their time, instead of hitting
		 * the few milliseconds of a ceiling pass all at once.
		 */
		for (i = 0; i < s->n; i++)
			emin[i] = mmin[i] = imin[i] = 1e30;
		for (r = -1; r < reps; r++) {
			double t_eng = 0, t_mem = 0, t_iconv = 0;

			memset(&tot, 0, sizeof(tot));
			text_bytes = 0;
			for (i = 0; i < s->n; i++) {
				const struct bench_msg *m = &s->msgs[i];
				double t0 = now_sec(), t1, t2;

				/* Ceiling first: it reads the message cold, as the
				 * milter's read from the socket would; the engine then
				 * finds it in cache, as it does in the milter, where
				 * it gets each chunk just after that copy. */
				sink += memchr_memcpy_one(m, scratch);
				t1 = now_sec();
				engine_one(m, conf, &tot);
				t2 = now_sec();
				t_mem += t1 - t0;
				t_eng += t2 - t1;
				if (r >= 0) {
					mmin[i] = t1 - t0 < mmin[i] ? t1 - t0 : mmin[i];
					emin[i] = t2 - t1 < emin[i] ? t2 - t1 : emin[i];
				}
				if (si == 2) {
					double t3;

					sink += iconv_one(m, iconv_out, outcap, &text_bytes);
					t3 = now_sec();
					t_iconv += t3 - t2;
					if (r >= 0 && t3 - t2 < imin[i])
						imin[i] = t3 - t2;
				}
			}
			if (r >= 0) {
				te[r] = t_eng;
				tm[r] = t_mem;
				ti[r] = t_iconv;
			}
		}
		for (i = 0; i < s->n; i++) {
			best_eng += emin[i];
			best_mem += mmin[i];
			best_iconv += si == 2 ? imin[i] : 0;
		}
		se = summarize(te, reps);
		sm = summarize(tm, reps);
		printf("%-11s %6zu %8.1f | %9.1f %9.0f %5.1f%% | %-13s %9.1f %5.1f%% | %6.3f\n",
		    si == 0 ? "pass-thru" : s->name, s->n, mb, mb / se.median,
		    (double)s->n / se.median, 100 * se.spread, "memchr+memcpy", mb / sm.median,
		    100 * sm.spread, sm.median / se.median);
		/* The same figures as key=value, for report.py. */
		printf("kv workload=%s msgs=%zu mb=%.2f eng_mbps=%.2f eng_msgs=%.1f eng_noise=%.1f "
		    "memchr_mbps=%.1f memchr_noise=%.1f ratio_memchr=%.4f edits=%zu body_rewrites=%zu",
		    si == 0 ? "pass-thru" : s->name, s->n, mb, mb / se.median, (double)s->n / se.median,
		    100 * se.spread, mb / sm.median, 100 * sm.spread, sm.median / se.median,
		    tot.edits, tot.body_rewrites);
		printf(" best_eng_mbps=%.2f best_memchr_mbps=%.1f best_ratio_memchr=%.4f",
		    mb / best_eng, mb / best_mem, best_mem / best_eng);
		if (si == 2) {
			sic = summarize(ti, reps);
			printf(" iconv_mbps=%.1f iconv_noise=%.1f ratio_iconv=%.4f iconv_text_mb=%.2f"
			    " best_iconv_mbps=%.1f best_ratio_iconv=%.4f",
			    mb / sic.median, 100 * sic.spread, sic.median / se.median, (double)text_bytes / 1e6,
			    mb / best_iconv, best_iconv / best_eng);
		}
		printf("\n");
		if (si == 2) {
			printf("%-11s %6s %8s | %9s %9s %6s | %-13s %9.1f %5.1f%% | %6.3f\n",
			    "", "", "", "", "", "", "iconv", mb / sic.median, 100 * sic.spread,
			    sic.median / se.median);
			if (!quiet)
				printf("#   iconv converted %.1f MB of 8-bit text (%.0f MB/s of text) in %.1f MB of mail\n",
				    (double)text_bytes / 1e6, (double)text_bytes / 1e6 / sic.median, mb);
		}
		if (!quiet) {
			printf("#   %s: %zu edits, %zu body rewrites (%.1f MB written) per pass\n",
			    s->name, tot.edits, tot.body_rewrites, (double)tot.out_bytes / 1e6);
			printf("#   best of %d per message: engine %.1f MB/s, memchr+memcpy %.1f MB/s (ratio %.3f)",
			    reps, mb / best_eng, mb / best_mem, best_mem / best_eng);
			if (si == 2)
				printf(", iconv %.1f MB/s (ratio %.3f)", mb / best_iconv, best_iconv / best_eng);
			printf("\n");
		}
		free(emin);
		free(mmin);
		free(imin);
		free(te);
		free(tm);
		free(ti);
	}
	conf_free(label_conf);
	conf_free(transcode_conf);
	free(scratch);
	free(iconv_out);
	return 0;
}
