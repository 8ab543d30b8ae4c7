/*
 * memory_replay.c -- replay benchmark of the sender memory (memory.h).
 *
 * Usage: memory_replay [-n MESSAGES] [-r HOST:PORT] CORPUSDIR
 *
 * 200 sources, each with its own client network, HELO and sender domain
 * (no country TLD, so the TLD hint does not help), each keeping one
 * language and charset (rotating over 34 language/charset pairs of the
 * evaluation).  A deterministic stream (splitmix64, fixed seed) picks a
 * source per message; 60% of the messages are short (20-120 bytes of real
 * catalog text from tests/eval/corpus in the source's charset), 40% long
 * (200-1000 bytes), all unlabelled 8-bit text/plain, kept only when the text
 * round-trips exactly through the charset (as in eval.c).  Every message goes
 * through the engine twice: memory off, and memory on (LMDB in a temporary
 * directory, or Redis with -r).  A detection is correct when the chosen
 * charset decodes the bytes to exactly the original text.  Printed: a
 * markdown table of accuracy by length and by how often the source had been
 * seen, and engine_finish() latency (p50/p99) with and without memory.
 */
#include "config.h"

#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "memory.h"
#include "util.h"

#define N_SOURCES	200

static const struct { const char *lang, *cs; } pairs[] = {
	{ "fr", "windows-1252" }, { "de", "iso-8859-1" }, { "pt", "iso-8859-15" }, { "es", "windows-1252" },
	{ "pl", "windows-1250" }, { "cs", "iso-8859-2" }, { "hu", "windows-1250" }, { "sk", "iso-8859-2" },
	{ "ru", "windows-1251" }, { "ru", "koi8-r" }, { "uk", "koi8-u" }, { "bg", "windows-1251" },
	{ "ru", "ibm866" }, { "ru", "iso-8859-5" }, { "el", "windows-1253" }, { "el", "iso-8859-7" },
	{ "tr", "windows-1254" }, { "tr", "iso-8859-9" }, { "he", "windows-1255" }, { "ar", "windows-1256" },
	{ "lt", "windows-1257" }, { "lv", "iso-8859-13" }, { "vi", "windows-1258" }, { "th", "windows-874" },
	{ "ja", "shift_jis" }, { "ja", "euc-jp" }, { "zh_CN", "gb2312" }, { "zh_CN", "gb18030" },
	{ "zh_TW", "big5" }, { "ko", "euc-kr" }, { "it", "windows-1252" }, { "hu", "iso-8859-2" },
	{ "cs", "windows-1250" }, { "lt", "iso-8859-13" },
};

struct lines { char *data; char **line; size_t n; };

static struct lines
load(const char *dir, const char *lang)
{
	char path[4096];
	struct lines l = { NULL, NULL, 0 };
	size_t cap = 1 << 16, len = 0, r, lcap = 1024;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.txt", dir, lang);
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(2);
	}
	l.data = xmalloc(cap + 1);
	while ((r = fread(l.data + len, 1, cap - len, f)) > 0)
		if ((len += r) == cap)
			l.data = xrealloc(l.data, (cap *= 2) + 1);
	fclose(f);
	l.data[len] = '\0';
	l.line = xreallocarray(NULL, lcap, sizeof(char *));
	for (char *p = strtok(l.data, "\n"); p != NULL; p = strtok(NULL, "\n")) {
		if (l.n == lcap)
			l.line = xreallocarray(l.line, lcap *= 2, sizeof(char *));
		l.line[l.n++] = p;
	}
	return l;
}

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* iconv over the whole input into out; 0 when anything fails. */
static size_t
conv(const char *to, const char *from, const char *in, size_t inlen, char *out, size_t cap)
{
	iconv_t cd = iconv_open(to, from);
	char *ip = (char *)in, *op = out;
	size_t il = inlen, ol = cap, rc;

	if (cd == (iconv_t)-1)
		return 0;
	rc = iconv(cd, &ip, &il, &op, &ol);
	iconv_close(cd);
	return rc == (size_t)-1 || il != 0 ? 0 : cap - ol;
}

/* A text of lo..hi bytes in cs from random lines; its UTF-8 into utf8. */
static size_t
make_text(const struct lines *l, const char *cs, size_t lo, size_t hi, uint64_t *seed,
	  char *out, char *utf8, size_t cap)
{
	for (int tries = 0; tries < 200; tries++) {
		size_t ulen = 0, n = 0;

		while (ulen < cap / 2) {
			const char *s = l->line[splitmix(seed) % l->n];
			size_t sl = strlen(s);

			if (ulen + sl + 2 >= cap / 2)
				break;
			if (ulen > 0)
				utf8[ulen++] = ' ';
			memcpy(utf8 + ulen, s, sl);
			ulen += sl;
			n = conv(cs, "UTF-8", utf8, ulen, out, cap);
			if (n == 0 || n >= lo)
				break;
		}
		utf8[ulen] = '\0';
		char back[4096];
		size_t bl = n > 0 ? conv("UTF-8", cs, out, n, back, sizeof(back)) : 0;
		/* kept only when it round-trips exactly (as the evaluation does) */
		if (n >= lo && n <= hi && memchr(out, 0, n) == NULL && bl == ulen && memcmp(back, utf8, ulen) == 0) {
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)out[i] >= 0x80)
					return n;
		}
	}
	return 0;
}

struct tally { unsigned ok, n; };
struct stats {
	struct tally shorts[2], longs[2], seen5[2], unseen[2];
	double *t[2];
	size_t nt;
};

struct result { bool correct; bool by_memory; double secs; };

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One message of source src through an engine; is the answer right? */
static struct result
run_one(const struct conf *conf, int src, const char *body, size_t blen, const char *utf8,
	enum engine_memory use)
{
	char addr[32], helo[64], sender[64], msg[4096], back[4096];
	struct engine_source es;
	struct result res = { false, false, 0 };
	const struct report *r;
	struct engine *e;
	double t0;
	int n;

	snprintf(addr, sizeof(addr), "198.18.%d.%d", src, 1 + src % 200);
	snprintf(helo, sizeof(helo), "mx%d.src%d.example", src % 3, src);
	snprintf(sender, sizeof(sender), "user@src%d.example", src);
	memset(&es, 0, sizeof(es));
	es.client_addr = addr;
	es.helo = helo;
	es.env_sender = sender;
	es.memory = use;
	n = snprintf(msg, sizeof(msg), "From: <%s>\r\nSubject: m\r\nMIME-Version: 1.0\r\n"
		     "Content-Type: text/plain\r\n\r\n", sender);
	memcpy(msg + n, body, blen);
	memcpy(msg + n + blen, "\r\n", 2);
	e = engine_new(conf, &es);
	engine_feed(e, msg, (size_t)n + blen + 2);
	t0 = now();
	if (engine_finish(e) == 0 && (r = engine_report(e))->n > 0 && r->rows[0].chosen != NULL) {
		size_t bl = conv("UTF-8", r->rows[0].chosen->iconv_name, body, blen, back, sizeof(back));

		res.correct = bl == strlen(utf8) && memcmp(back, utf8, bl) == 0;
		if (!res.correct && getenv("REPLAY_DEBUG") != NULL)
			fprintf(stderr, "miss src %d (%zu B): %s by %s: %s\n", src, blen,
				r->rows[0].chosen->mime_name, detect_source_name(r->rows[0].source),
				r->rows[0].reason);
		res.by_memory = r->rows[0].source == DETECT_MEMORY;
	}
	res.secs = now() - t0;
	engine_free(e);
	return res;
}

static void
count(struct tally *t, bool ok)
{
	t->n++;
	t->ok += ok;
}

static double
pct(const struct tally *t)
{
	return t->n ? 100.0 * t->ok / t->n : 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n ? v[(size_t)(q * (double)(n - 1))] : 0;
}

static void
report(struct stats *st, unsigned memory_answers, const char *backend)
{
	static const char *const row[] = { "short (20-120 B), all", "short, source seen >= 5 times",
					   "short, source seen < 5 times", "long (200-1000 B)" };
	struct tally *t[4][2] = {
		{ &st->shorts[0], &st->shorts[1] }, { &st->seen5[0], &st->seen5[1] },
		{ &st->unseen[0], &st->unseen[1] }, { &st->longs[0], &st->longs[1] },
	};

	printf("| messages | count | memory off | memory on (%s) |\n|---|---:|---:|---:|\n", backend);
	for (int i = 0; i < 4; i++)
		printf("| %s | %u | %.2f%% (%u wrong) | %.2f%% (%u wrong) |\n", row[i], t[i][0]->n,
		       pct(t[i][0]), t[i][0]->n - t[i][0]->ok, pct(t[i][1]), t[i][1]->n - t[i][1]->ok);
	printf("\nAnswers taken from the memory: %u.  engine_finish() per message: memory off "
	       "p50 %.1f us, p99 %.1f us; memory on p50 %.1f us, p99 %.1f us.\n", memory_answers,
	       1e6 * quantile(st->t[0], st->nt, 0.5), 1e6 * quantile(st->t[0], st->nt, 0.99),
	       1e6 * quantile(st->t[1], st->nt, 0.5), 1e6 * quantile(st->t[1], st->nt, 0.99));
}

static struct conf *
make_conf(const char *dir, const char *redis)
{
	struct conf *c = conf_defaults();
	char path[4200];

	c->memory.backend = redis ? MEMORY_REDIS : MEMORY_LMDB;
	snprintf(path, sizeof(path), "%s/memory.lmdb", dir);
	c->memory.path = xstrdup(path);
	if (redis != NULL) {
		free(c->memory.redis);
		c->memory.redis = xstrdup(redis);
		free(c->memory.prefix);
		snprintf(path, sizeof(path), "replay%ld:", (long)getpid());
		c->memory.prefix = xstrdup(path);
	}
	return c;
}

int
main(int argc, char **argv)
{
	const char *redis = NULL;
	unsigned nmsg = 6000, seen[N_SOURCES] = { 0 }, memory_answers = 0;
	char dir[] = "/tmp/memory_replay.XXXXXX", body[2048], utf8[4096];
	struct lines corpus[ARRAY_LEN(pairs)];
	struct stats st;
	uint64_t seed = 20261202;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			nmsg = (unsigned)atoi(optarg);
		else if (opt == 'r')
			redis = optarg;
		else
			return 2;
	}
	if (optind >= argc || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: memory_replay [-n MESSAGES] [-r HOST:PORT] CORPUSDIR\n");
		return 2;
	}
	for (size_t i = 0; i < ARRAY_LEN(pairs); i++)
		corpus[i] = load(argv[optind], pairs[i].lang);
	struct conf *conf = make_conf(dir, redis);
	memset(&st, 0, sizeof(st));
	st.t[0] = xcalloc(nmsg, sizeof(double));
	st.t[1] = xcalloc(nmsg, sizeof(double));
	for (unsigned m = 0; m < nmsg; m++) {
		int src = (int)(splitmix(&seed) % N_SOURCES);
		size_t p = (size_t)src % ARRAY_LEN(pairs);
		bool shortmsg = splitmix(&seed) % 100 < 60;
		size_t blen = make_text(&corpus[p], pairs[p].cs, shortmsg ? 20 : 200, shortmsg ? 120 : 1000,
					&seed, body, utf8, sizeof(body));
		if (blen == 0)
			continue;
		for (int on = 0; on < 2; on++) {
			struct result r = run_one(conf, src, body, blen, utf8,
						  on ? ENGINE_MEMORY_LEARN : ENGINE_MEMORY_OFF);

			count(shortmsg ? &st.shorts[on] : &st.longs[on], r.correct);
			if (shortmsg)
				count(seen[src] >= 5 ? &st.seen5[on] : &st.unseen[on], r.correct);
			memory_answers += r.by_memory;
			st.t[on][st.nt] = r.secs;
		}
		st.nt++;
		memory_flush(memory_shared(&conf->memory, dir));	/* what was learned is there for the next */
		seen[src]++;
	}
	report(&st, memory_answers, redis ? "Redis" : "LMDB");
	memory_shutdown();
	conf_free(conf);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
