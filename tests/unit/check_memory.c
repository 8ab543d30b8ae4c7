/*
 * check_memory.c -- unit tests of the sender memory (memory.h): keys and their
 * hashing, records (decay, bounds, hostile values), priors (agreement,
 * families), the LMDB store (bounds under a flood, corruption, forget) and
 * the engine's use of it (learns from confident statistics only, never from
 * its own answers; a prior tips short texts but not text that contradicts it).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "memory.h"
#include "memory_cache.h"
#include "util.h"

static char dir[64];
static struct conf *conf;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_memory.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	conf = conf_defaults();
	conf->memory.backend = MEMORY_LMDB;
	free(conf->memory.path);
	conf->memory.path = malloc(128);
	snprintf(conf->memory.path, 128, "%s/memory.lmdb", dir);
}

static void teardown(void)
{
	char cmd[128];

	memory_shutdown();
	conf_free(conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- keys ---------------------------------------------------------------------- */

static void keys_for(struct memory_keys *k, const char *addr, const char *helo, const char *sender,
		     const char *from, const char *mailer)
{
	struct memory_source s = { addr, helo, sender, from, mailer, from ? strlen(from) : 0,
				   mailer ? strlen(mailer) : 0 };

	memory_keys_build(k, "cpm:", &s);
}

START_TEST(network_keys_are_hashed_per_network)
{
	struct memory_keys a, b, c, d;

	keys_for(&a, "192.0.2.7", NULL, NULL, NULL, NULL);
	keys_for(&b, "::ffff:192.0.2.200", NULL, NULL, NULL, NULL);
	keys_for(&c, "192.0.3.7", NULL, NULL, NULL, NULL);
	keys_for(&d, "IPv6:2001:db8:1::5", NULL, NULL, NULL, NULL);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_ptr_null(strstr(a.key[0], "192"));
	ck_assert_str_eq(a.key[0], b.key[0]);		/* same /24, v4-mapped too */
	ck_assert_str_ne(a.key[0], c.key[0]);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_ptr_null(strstr(d.key[0], "2001"));
	ck_assert_str_eq(a.label[0], "client-network");
	ck_assert_uint_eq(strncmp(a.key[0], "cpm:net:", 8), 0);
	ck_assert_uint_eq(strlen(a.key[0]), 8 + 16);
}
END_TEST

START_TEST(names_and_domains_become_keys)
{
	struct memory_keys k, k2;

	keys_for(&k, NULL, "MX.Legacy.Example.", "user@Mail.Example.RU",
		 "\"Ivan\" <ivan@Example.RU>", "Microsoft Exchange Server 4.0.837");
	ck_assert_uint_eq(k.n, 4);
	ck_assert_str_eq(k.key[0], "cpm:env:mail.example.ru");
	ck_assert_str_eq(k.key[1], "cpm:from:example.ru");
	ck_assert_str_eq(k.label[1], "example.ru");
	ck_assert_str_eq(k.key[2], "cpm:helo:mx.legacy.example");
	ck_assert_uint_eq(strncmp(k.key[3], "cpm:mailer:", 11), 0);
	/* another version of the same mailer is the same source */
	keys_for(&k2, NULL, NULL, NULL, NULL, "Microsoft  Exchange Server 4.0.996");
	ck_assert_str_eq(k.key[3], k2.key[0]);
	/* an address literal HELO is hashed */
	keys_for(&k2, NULL, "[192.0.2.1]", NULL, NULL, NULL);
	ck_assert_ptr_null(strstr(k2.key[0], "192"));
}
END_TEST

START_TEST(hostile_sources_give_short_keys_or_none)
{
	char longname[600];
	struct memory_keys k;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (size_t i = 10; i < sizeof(longname) - 1; i += 10)
		longname[i] = '.';
	keys_for(&k, "not an address", "bad helo\r\nX", "@", "no address here", "");
	ck_assert_uint_eq(k.n, 0);
	keys_for(&k, NULL, longname, NULL, NULL, longname);
	for (size_t i = 0; i < k.n; i++)
		ck_assert_uint_lt(strlen(k.key[i]), MEMORY_KEY_MAX - 1);
	/* a domain too long for a DNS name is skipped, a long legal one hashed */
	ck_assert_uint_ge(k.n, 1);
}
END_TEST

START_TEST(the_prefix_keys_the_hash)
{
	ck_assert_uint_ne(memory_hash("a:", "x", 1), memory_hash("b:", "x", 1));
	ck_assert_uint_eq(memory_hash("a:", "x", 1), memory_hash("a:", "x", 1));
}
END_TEST

/* ---- records ---------------------------------------------------------------------- */

START_TEST(counts_decay_with_the_half_life)
{
	struct memory_record r;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 8; i++)
		memory_record_add(&r, "example.ru", "koi8-r", 1000, 100);
	ck_assert_double_eq_tol(memory_slot_count(&r.slot[0], 1000, 100), 8.0, 1e-9);
	ck_assert_double_eq_tol(memory_slot_count(&r.slot[0], 1100, 100), 4.0, 1e-9);
	ck_assert_double_eq_tol(memory_slot_count(&r.slot[0], 1300, 100), 1.0, 1e-9);
	ck_assert_double_eq_tol(memory_record_weight(&r, 1200, 100), 2.0, 1e-9);
}
END_TEST

START_TEST(records_are_bounded)
{
	static const char *const cs[] = { "koi8-r", "windows-1251", "iso-8859-5", "ibm866", "koi8-u", "shift_jis" };
	struct memory_record r, back;
	char text[MEMORY_VALUE_MAX];
	size_t n;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 30000; i++)
		memory_record_add(&r, "example.ru", "koi8-r", 5000, 1000000);
	ck_assert_double_le(r.slot[0].count, MEMORY_COUNT_MAX);
	for (size_t i = 0; i < ARRAY_LEN(cs); i++)
		memory_record_add(&r, "example.ru", cs[i], 5000, 1000000);
	ck_assert_uint_eq(r.nslots, MEMORY_SLOTS);
	ck_assert_str_eq(r.slot[0].charset, "koi8-r");	/* the strong one stays */
	n = memory_record_format(&r, text, sizeof(text));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, MEMORY_VALUE_MAX);
	ck_assert(memory_record_parse(text, n, &back));
	ck_assert_uint_eq(back.nslots, r.nslots);
	ck_assert_str_eq(back.label, "example.ru");
	ck_assert_double_eq_tol(back.slot[0].count, r.slot[0].count, 0.001);
}
END_TEST

START_TEST(hostile_values_do_not_parse)
{
	static const char *const bad[] = {
		"", "v2 1 2 x", "v1 1 2", "v1 x 2 l a=1@1", "v1 1 2 l a=-1@1", "v1 1 2 l a=1e300@1",
		"v1 1 2 l =1@1", "v1 1 2 l a=1", "v1 1 2 l a=1@", "v1 1 2 l a=nan@1",
		"v1 1 2 l a=1@1 b=1@1 c=1@1 d=1@1 e=1@1", "v1 99999999999 2 l a=1@1",
	};
	struct memory_record r;
	char junk[700];
	unsigned seed = 7;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_msg(!memory_record_parse(bad[i], strlen(bad[i]), &r), "parsed: %s", bad[i]);
	/* random bytes never crash and never give more than the bounds */
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(junk));

		for (size_t i = 0; i < n; i++)
			junk[i] = (char)(round % 3 ? "v1 0123456789=@.ak-"[rand_r(&seed) % 19] : rand_r(&seed));
		if (round % 5 == 0 && n > 3)
			memcpy(junk, "v1 ", 3);
		if (memory_record_parse(junk, n, &r))
			ck_assert_uint_le(r.nslots, MEMORY_SLOTS);
	}
}
END_TEST

/* ---- priors --------------------------------------------------------------------- */

static void add_n(struct memory_record *r, const char *cs, int n, uint32_t now)
{
	for (int i = 0; i < n; i++)
		memory_record_add(r, "example.ru", cs, now, 30 * 86400);
}

START_TEST(priors_need_count_and_agreement)
{
	struct memory_record a, b;
	const struct memory_record *recs[2] = { &a, &b };
	struct memory_prior out[MEMORY_PRIORS];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	add_n(&a, "koi8-r", 2, 1000);
	ck_assert_uint_eq(memory_priors_from(recs, 1, 1000, &conf->memory, out), 0);	/* < MinCount */
	add_n(&a, "koi8-r", 10, 1000);
	ck_assert_uint_eq(memory_priors_from(recs, 1, 1000, &conf->memory, out), 1);
	ck_assert_str_eq(out[0].charset, "koi8-r");
	ck_assert_uint_eq(out[0].count, 12);
	ck_assert_str_eq(out[0].label, "example.ru");
	add_n(&a, "windows-1251", 10, 1000);	/* the family disagrees: no prior */
	ck_assert_uint_eq(memory_priors_from(recs, 1, 1000, &conf->memory, out), 0);
	/* another family of the same source is a prior of its own; best first */
	add_n(&b, "shift_jis", 20, 1000);
	add_n(&b, "windows-1252", 5, 1000);
	ck_assert_uint_eq(memory_priors_from(recs, 2, 1000, &conf->memory, out), 2);
	ck_assert_str_eq(out[0].charset, "shift_jis");
	ck_assert_str_eq(out[1].charset, "windows-1252");
	/* past the TTL nothing is said */
	ck_assert_uint_eq(memory_priors_from(recs, 2, 1000 + conf->memory.ttl + 1, &conf->memory, out), 0);
}
END_TEST

/* ---- the LMDB store --------------------------------------------------------------- */

static void learn(struct memory *m, const struct memory_keys *k, const char *cs, int times)
{
	const char *v[1] = { cs };

	for (int i = 0; i < times; i++)
		memory_learn(m, &conf->memory, k, v, 1);
}

START_TEST(lmdb_learns_looks_up_and_forgets)
{
	char err[256];
	struct memory *m = memory_open(&conf->memory, dir, err, sizeof(err));
	struct memory_keys k;
	struct memory_prior p[MEMORY_PRIORS];

	ck_assert_msg(m != NULL, "%s", err);
	keys_for(&k, "192.0.2.9", NULL, "a@example.ru", NULL, NULL);
	ck_assert_uint_eq(memory_lookup(m, &conf->memory, &k, p), 0);
	learn(m, &k, "koi8-r", 6);
	memory_flush(m);
	ck_assert_uint_eq(memory_lookup(m, &conf->memory, &k, p), 1);
	ck_assert_str_eq(p[0].charset, "koi8-r");
	ck_assert_uint_eq(p[0].count, 6);
	ck_assert_int_eq(memory_count(m), 2);
	ck_assert_int_eq(memory_forget(m, k.key[0]), 1);
	ck_assert_int_eq(memory_forget(m, k.key[0]), 0);
	ck_assert_int_eq(memory_count(m), 1);
	memory_close(m);
	/* it was written to the file: a new handle sees it */
	m = memory_open(&conf->memory, dir, err, sizeof(err));
	ck_assert_uint_eq(memory_lookup(m, &conf->memory, &k, p), 1);
	memory_close(m);
}
END_TEST

START_TEST(a_flood_of_new_sources_stays_in_bounds_and_evicts_no_established_one)
{
	char err[256], name[64];
	struct memory *m;
	struct memory_keys k[10], f;
	struct memory_prior p[MEMORY_PRIORS];

	conf->memory.max_keys = 60;
	m = memory_open(&conf->memory, dir, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "u@established%d.example", i);
		keys_for(&k[i], NULL, NULL, name, NULL, NULL);
		learn(m, &k[i], "windows-1250", 5);
	}
	memory_flush(m);
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "x@flood%d.example", i);
		keys_for(&f, NULL, NULL, name, NULL, NULL);
		learn(m, &f, "koi8-r", 1);
		if (i % 500 == 0)
			memory_flush(m);	/* the queue is bounded; let the worker keep up */
		ck_assert_int_le(memory_count(m), 60);
	}
	memory_flush(m);
	ck_assert_int_le(memory_count(m), 60);
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(memory_lookup(m, &conf->memory, &k[i], p), 1);
		ck_assert_str_eq(p[0].charset, "windows-1250");
	}
	memory_close(m);
}
END_TEST

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

START_TEST(a_corrupt_or_truncated_file_is_moved_aside_and_recreated)
{
	char err[256], aside[160], junk[8192];
	struct memory *m;
	struct memory_keys k;
	struct stat st;
	struct memory_prior p[MEMORY_PRIORS];

	/* garbage */
	memset(junk, 'Z', sizeof(junk));
	write_file(conf->memory.path, junk, sizeof(junk));
	m = memory_open(&conf->memory, dir, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	snprintf(aside, sizeof(aside), "%s.corrupt", conf->memory.path);
	ck_assert_int_eq(stat(aside, &st), 0);
	keys_for(&k, NULL, NULL, "a@example.pl", NULL, NULL);
	learn(m, &k, "iso-8859-2", 4);
	memory_flush(m);
	ck_assert_uint_eq(memory_lookup(m, &conf->memory, &k, p), 1);
	memory_close(m);
	/* truncated to less than its pages */
	unlink(aside);
	ck_assert_int_eq(stat(conf->memory.path, &st), 0);
	ck_assert_int_eq(truncate(conf->memory.path, st.st_size / 2), 0);
	m = memory_open(&conf->memory, dir, err, sizeof(err));
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_int_eq(stat(aside, &st), 0);
	ck_assert_uint_eq(memory_lookup(m, &conf->memory, &k, p), 0);	/* a new, empty store */
	memory_close(m);
}
END_TEST

START_TEST(an_unusable_place_means_no_store_and_no_prior)
{
	free(conf->memory.path);
	conf->memory.path = xstrdup("/nonexistent-dir/memory.lmdb");
	ck_assert_ptr_null(memory_shared(&conf->memory, NULL));
	ck_assert_ptr_null(memory_shared(&conf->memory, NULL));	/* and is not retried at once */
}
END_TEST

/* ---- the engine -------------------------------------------------------------------- */

/* Turkish, for iso-8859-9: long enough for a confident statistical answer. */
static const char turkish_long[] =
	"Bu program özgür bir yazılımdır; Özgür Yazılım Vakfı tarafından yayımlanan GNU Genel "
	"Kamu Lisansı koşulları altında yeniden dağıtabilir ve değiştirebilirsiniz. Dosya "
	"açılamadı, lütfen izinleri denetleyin ve işlemi yeniden deneyin. Bağlantı kesildi; "
	"sunucuya ulaşılamıyor, ağ ayarlarınızı gözden geçirin.";
/* Short and mostly ASCII: statistics alone take another Latin charset. */
static const char turkish_short[] = "NumLock durumunu anımsa";
static const char russian_long[] =
	"Эта программа является свободным программным обеспечением; вы можете распространять "
	"её и изменять на условиях лицензии GNU. Не удалось открыть файл, проверьте права "
	"доступа и повторите попытку. Соединение разорвано, сервер недоступен.";

static size_t to_charset(const char *utf8, const char *cs, char *out, size_t cap)
{
	iconv_t cd = iconv_open(cs, "UTF-8");
	char *in = (char *)utf8, *o = out;
	size_t inl = strlen(utf8), outl = cap;

	ck_assert(cd != (iconv_t)-1);
	ck_assert(iconv(cd, &in, &inl, &o, &outl) != (size_t)-1);
	iconv_close(cd);
	return cap - outl;
}

struct outcome {
	char charset[32];
	enum detect_source source;
	char reason[240];
};

/* One message from 192.0.2.77 / sender@SENDER through the engine. */
static struct outcome run_message(const char *sender, const char *utf8_body, const char *cs,
				  enum engine_memory use)
{
	struct engine_source src = { "192.0.2.77", NULL, "mx.example", sender, false, false, use, false };
	char body[2048], msg[4096];
	size_t blen = to_charset(utf8_body, cs, body, sizeof(body));
	int n = snprintf(msg, sizeof(msg), "From: <%s>\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: text/plain\r\n\r\n", sender);
	struct engine *e = engine_new(conf, &src);
	const struct report *r;
	struct outcome o;

	memcpy(msg + n, body, blen);
	memcpy(msg + n + blen, "\r\n", 2);
	ck_assert_int_eq(engine_feed(e, msg, (size_t)n + blen + 2), 0);
	ck_assert_int_eq(engine_finish(e), 0);
	r = engine_report(e);
	ck_assert_uint_ge(r->n, 1);
	memset(&o, 0, sizeof(o));
	snprintf(o.charset, sizeof(o.charset), "%s", r->rows[0].chosen ? r->rows[0].chosen->mime_name : "none");
	o.source = r->rows[0].source;
	snprintf(o.reason, sizeof(o.reason), "%s", r->rows[0].reason);
	engine_free(e);
	return o;
}

static unsigned prior_count(const char *sender, char *charset)
{
	struct memory *m = memory_shared(&conf->memory, dir);
	struct memory_keys k;
	struct memory_prior p[MEMORY_PRIORS];
	char from[128];

	snprintf(from, sizeof(from), "<%s>", sender);
	keys_for(&k, NULL, NULL, NULL, from, NULL);
	memory_flush(m);
	if (memory_lookup(m, &conf->memory, &k, p) == 0)
		return 0;
	strcpy(charset, p[0].charset);
	return p[0].count;
}

START_TEST(memory_tips_a_short_text_after_confident_long_ones)
{
	struct outcome o;
	char cs[32];

	o = run_message("a@firma.example", turkish_short, "iso-8859-9", ENGINE_MEMORY_LEARN);
	ck_assert_str_ne(o.charset, "iso-8859-9");	/* alone, statistics get it wrong */
	ck_assert_str_ne(o.charset, "windows-1254");
	for (int i = 0; i < 5; i++) {
		o = run_message("a@firma.example", turkish_long, "iso-8859-9", ENGINE_MEMORY_LEARN);
		ck_assert_int_eq(o.source, DETECT_STATISTICAL);
	}
	ck_assert_uint_eq(prior_count("a@firma.example", cs), 5);
	for (int i = 0; i < 10; i++) {
		o = run_message("a@firma.example", turkish_short, "iso-8859-9", ENGINE_MEMORY_LEARN);
		ck_assert_int_eq(o.source, DETECT_MEMORY);
		ck_assert_str_eq(o.charset, "windows-1254");	/* iso-8859-9's superset */
		ck_assert_str_eq(o.reason, "sender memory: firma.example 5x windows-1254");
	}
	/* its own answers taught it nothing */
	ck_assert_uint_eq(prior_count("a@firma.example", cs), 5);
	ck_assert_str_eq(cs, "windows-1254");
	/* read-only use (the CLI's -m) reads but never teaches */
	o = run_message("a@firma.example", turkish_long, "iso-8859-9", ENGINE_MEMORY_READ);
	ck_assert_uint_eq(prior_count("a@firma.example", cs), 5);
	o = run_message("a@firma.example", turkish_short, "iso-8859-9", ENGINE_MEMORY_OFF);
	ck_assert_int_ne(o.source, DETECT_MEMORY);
}
END_TEST

START_TEST(a_poisoned_memory_cannot_override_what_the_text_says)
{
	struct outcome o;
	char cs[32];

	for (int i = 0; i < 40; i++)
		run_message("x@example.ru", russian_long, "koi8-r", ENGINE_MEMORY_LEARN);
	ck_assert_uint_eq(prior_count("x@example.ru", cs), 40);
	ck_assert_str_eq(cs, "koi8-r");
	o = run_message("x@example.ru", russian_long, "windows-1251", ENGINE_MEMORY_LEARN);
	ck_assert_str_eq(o.charset, "windows-1251");
	ck_assert_int_eq(o.source, DETECT_STATISTICAL);
	o = run_message("x@example.ru", "Привет, как дела?", "windows-1251", ENGINE_MEMORY_LEARN);
	ck_assert_str_eq(o.charset, "windows-1251");
	/* and a memory of another family does not touch this one */
	o = run_message("x@example.ru", turkish_long, "iso-8859-9", ENGINE_MEMORY_LEARN);
	ck_assert_int_eq(o.source, DETECT_STATISTICAL);
}
END_TEST

/* The cache of Redis answers: all of a message's keys or nothing, only
 * while fresh, never an older answer over a newer one, and a colliding key
 * never answers for another. */
START_TEST(the_answer_cache_serves_only_fresh_whole_answers)
{
	struct memory_cache *c = memory_cache_new(1000);
	struct memory_keys k = { 2, { "net:1", "helo:mx.example" }, { "", "" } };
	char vals[MEMORY_KEYS][MEMORY_VALUE_MAX];
	size_t lens[MEMORY_KEYS];
	bool found[MEMORY_KEYS];
	unsigned long hits, misses;
	char key[32];

	ck_assert_ptr_null(memory_cache_new(0));
	ck_assert(!memory_cache_get(NULL, &k, 10, vals, lens, found));
	memory_cache_put(c, "net:1", "v1 a", 4, true, 100);
	ck_assert(!memory_cache_get(c, &k, 150, vals, lens, found));	/* one key of two */
	memory_cache_put(c, "helo:mx.example", NULL, 0, false, 120);
	ck_assert(memory_cache_get(c, &k, 150, vals, lens, found));
	ck_assert(found[0] && !found[1]);
	ck_assert_uint_eq(lens[0], 4);
	ck_assert(memcmp(vals[0], "v1 a", 4) == 0);
	ck_assert(memory_cache_get(c, &k, 1099, vals, lens, found));
	ck_assert(!memory_cache_get(c, &k, 1100, vals, lens, found));	/* net:1 is 1000 ms old */
	/* a read asked for before the held write does not put the old text back */
	memory_cache_put(c, "net:1", "v1 new", 6, true, 2000);
	memory_cache_put(c, "net:1", "v1 old", 6, true, 1990);
	memory_cache_put(c, "helo:mx.example", NULL, 0, false, 2000);
	ck_assert(memory_cache_get(c, &k, 2001, vals, lens, found));
	ck_assert(memcmp(vals[0], "v1 new", 6) == 0);
	/* more keys than slots: every key still answers only for itself */
	for (int i = 0; i < 3 * MEMORY_CACHE_SLOTS; i++) {
		snprintf(key, sizeof(key), "env:d%d.example", i);
		memory_cache_put(c, key, key, strlen(key), true, 3000);
	}
	for (int i = 0; i < 3 * MEMORY_CACHE_SLOTS; i++) {
		struct memory_keys one = { 1, { "" }, { "" } };

		snprintf(one.key[0], sizeof(one.key[0]), "env:d%d.example", i);
		if (memory_cache_get(c, &one, 3001, vals, lens, found))
			ck_assert(found[0] && lens[0] == strlen(one.key[0]) && memcmp(vals[0], one.key[0], lens[0]) == 0);
	}
	/* values too long for a record are not kept */
	memory_cache_put(c, "net:1", "v1 new", 6, true, 4000);
	memory_cache_put(c, "net:1", "x", MEMORY_VALUE_MAX, true, 4500);
	memory_cache_put(c, "helo:mx.example", NULL, 0, false, 4000);
	ck_assert(memory_cache_get(c, &k, 4600, vals, lens, found));
	ck_assert(lens[0] == 6 && memcmp(vals[0], "v1 new", 6) == 0);
	memory_cache_counts(c, &hits, &misses);
	ck_assert_uint_ge(hits, 4);
	ck_assert_uint_ge(misses, 2);
	memory_cache_free(c);
}
END_TEST

static Suite *memory_suite(void)
{
	Suite *s = suite_create("memory");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, network_keys_are_hashed_per_network);
	tcase_add_test(tc, names_and_domains_become_keys);
	tcase_add_test(tc, hostile_sources_give_short_keys_or_none);
	tcase_add_test(tc, the_prefix_keys_the_hash);
	tcase_add_test(tc, counts_decay_with_the_half_life);
	tcase_add_test(tc, records_are_bounded);
	tcase_add_test(tc, hostile_values_do_not_parse);
	tcase_add_test(tc, priors_need_count_and_agreement);
	tcase_add_test(tc, lmdb_learns_looks_up_and_forgets);
	tcase_add_test(tc, a_flood_of_new_sources_stays_in_bounds_and_evicts_no_established_one);
	tcase_add_test(tc, a_corrupt_or_truncated_file_is_moved_aside_and_recreated);
	tcase_add_test(tc, an_unusable_place_means_no_store_and_no_prior);
	tcase_add_test(tc, memory_tips_a_short_text_after_confident_long_ones);
	tcase_add_test(tc, a_poisoned_memory_cannot_override_what_the_text_says);
	tcase_add_test(tc, the_answer_cache_serves_only_fresh_whole_answers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(memory_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
