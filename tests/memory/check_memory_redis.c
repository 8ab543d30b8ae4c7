/*
 * check_memory_redis.c -- the sender memory on a real Redis (memory_redis.c).
 *
 * Starts redis-server itself on a free loopback port (append-only file in
 * a temporary directory, so a killed server comes back with its data) and
 * stops it at the end.  Two processes with stores of their own share it
 * and learn from each other; a killed Redis costs no failure and at most
 * one timeout per retry interval; the prior returns when Redis does; a
 * flood of new sources stays within MemoryMaxKeys.
 * Without redis-server installed the test is skipped (exit 77).
 */
#include "config.h"

#include <check.h>
#include <iconv.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "engine.h"
#include "memory.h"
#include "util.h"

#define REDIS_SERVER "/usr/bin/redis-server"

static char dir[64], hostport[32];
static int port;
static pid_t redis_pid;

static const char turkish_long[] =
	"Bu program özgür bir yazılımdır; Özgür Yazılım Vakfı tarafından yayımlanan GNU Genel "
	"Kamu Lisansı koşulları altında yeniden dağıtabilir ve değiştirebilirsiniz. Dosya "
	"açılamadı, lütfen izinleri denetleyin ve işlemi yeniden deneyin.";
static const char turkish_short[] = "NumLock durumunu anımsa";

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

static bool redis_up(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0);
	bool up = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;

	close(s);
	return up;
}

static void redis_start(void)
{
	char p[16];

	snprintf(p, sizeof(p), "%d", port);
	redis_pid = fork();
	ck_assert_int_ge(redis_pid, 0);
	if (redis_pid == 0) {
		freopen("/dev/null", "w", stdout);
		execl(REDIS_SERVER, REDIS_SERVER, "--port", p, "--bind", "127.0.0.1", "--dir", dir,
		      "--save", "", "--appendonly", "yes", "--appendfsync", "always", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !redis_up(); i++)
		usleep(50000);
	ck_assert(redis_up());
}

static void redis_kill(void)
{
	kill(redis_pid, SIGKILL);
	waitpid(redis_pid, NULL, 0);
}

static struct conf *redis_conf(void)
{
	struct conf *c = conf_defaults();

	c->memory.backend = MEMORY_REDIS;
	free(c->memory.redis);
	c->memory.redis = xstrdup(hostport);
	/* a busy test machine can take longer than the 20 ms default to answer;
	 * a refused connection or a closed socket fails at once regardless */
	c->memory.timeout_ms = 250;
	c->memory.cache_ms = 3000;	/* longer than a slow machine's gap from a read to the next */
	return c;
}

static size_t to_charset(const char *utf8, const char *cs, char *out, size_t cap)
{
	iconv_t cd = iconv_open(cs, "UTF-8");
	char *in = (char *)utf8, *o = out;
	size_t inl = strlen(utf8), outl = cap;

	ck_assert(iconv(cd, &in, &inl, &o, &outl) != (size_t)-1);
	iconv_close(cd);
	return cap - outl;
}

/* One message from the test source; its source of detection, and how long
 * engine_finish took. */
static enum detect_source run_message(const struct conf *c, const char *text, double *secs)
{
	struct engine_source src = { "192.0.2.5", NULL, "mx.firma.example", "a@firma.example", false, false,
				     ENGINE_MEMORY_LEARN, false };
	char msg[2048];
	int n = snprintf(msg, sizeof(msg), "From: <a@firma.example>\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: text/plain\r\n\r\n");
	size_t blen = to_charset(text, "iso-8859-9", msg + n, sizeof(msg) - (size_t)n - 2);
	struct engine *e = engine_new(c, &src);
	struct timespec t0, t1;
	enum detect_source s;

	engine_feed(e, msg, (size_t)n + blen);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(engine_finish(e), 0);	/* never a failure, whatever Redis does */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (secs != NULL)
		*secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	s = engine_report(e)->rows[0].source;
	engine_free(e);
	return s;
}

static void sum_counts(void *arg, const char *key, const struct memory_record *r)
{
	(void)key;
	for (size_t i = 0; i < r->nslots; i++)
		*(double *)arg += r->slot[i].count;
}

/* Hostile traffic: 600 new sources cannot grow the index past
 * MemoryMaxKeys nor evict the 10 established ones. */
static void flood_stays_in_bounds(void)
{
	struct conf *fc = redis_conf();
	struct memory_keys k[10], f;
	struct memory_prior p[MEMORY_PRIORS];
	struct memory_source src;
	const char *cs[1] = { "windows-1250" };
	char err[256], name[64];
	struct memory *m;

	free(fc->memory.prefix);
	fc->memory.prefix = xstrdup("flood:");
	fc->memory.max_keys = 30;
	ck_assert_ptr_nonnull(m = memory_open(&fc->memory, NULL, err, sizeof(err)));
	memset(&src, 0, sizeof(src));
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "u@est%d.example", i);
		src.env_sender = name;
		memory_keys_build(&k[i], "flood:", &src);
		for (int j = 0; j < 5; j++)
			memory_learn(m, &fc->memory, &k[i], cs, 1);
	}
	memory_flush(m);
	cs[0] = "koi8-r";
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "x@flood%d.example", i);
		src.env_sender = name;
		memory_keys_build(&f, "flood:", &src);
		memory_learn(m, &fc->memory, &f, cs, 1);
		if (i % 100 == 0)
			memory_flush(m);
	}
	memory_flush(m);
	ck_assert_int_le(memory_count(m), 30);
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_eq(memory_lookup(m, &fc->memory, &k[i], p), 1);
		ck_assert_str_eq(p[0].charset, "windows-1250");
	}
	memory_close(m);
	conf_free(fc);
}

/* Updates are sent in batches: 200 observations of one source queued at
 * once all count (none lost where one batch updates a key many times). */
static void batched_updates_all_count(void)
{
	struct conf *bc = redis_conf();
	struct memory_source src = { "192.0.2.77", "mx.batch.example", "u@batch.example", NULL, NULL, 0, 0 };
	struct memory_keys k;
	const char *cs[1] = { "koi8-r" };
	char err[256];
	struct memory *m;
	double total = 0;

	free(bc->memory.prefix);
	bc->memory.prefix = xstrdup("batch:");
	ck_assert_ptr_nonnull(m = memory_open(&bc->memory, NULL, err, sizeof(err)));
	memory_keys_build(&k, "batch:", &src);
	for (int i = 0; i < 200; i++)
		memory_learn(m, &bc->memory, &k, cs, 1);
	memory_flush(m);
	ck_assert_int_eq(memory_count(m), (long)k.n);
	ck_assert_int_eq(memory_list(m, &bc->memory, sum_counts, &total), 0);
	/* every key counted 200 (a few seconds of decay at a 30-day half-life) */
	ck_assert_msg(total > 199.9 * (double)k.n && total <= 200.0 * (double)k.n, "total %.3f", total);
	memory_close(m);
	conf_free(bc);
}

START_TEST(two_processes_share_what_they_learn_and_survive_a_dead_redis)
{
	struct conf *c;
	double secs, worst = 0;
	pid_t child;
	int status;

	snprintf(dir, sizeof(dir), "/tmp/check_redis.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	port = free_port();
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%d", port);
	redis_start();
	/* process A learns from five long messages, then exits */
	child = fork();
	if (child == 0) {
		c = redis_conf();
		for (int i = 0; i < 5; i++)
			run_message(c, turkish_long, NULL);
		memory_shutdown();	/* its queue reaches Redis */
		_exit(0);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0);
	/* process B never saw them, but Redis did */
	c = redis_conf();
	ck_assert_int_eq(run_message(c, turkish_short, NULL), DETECT_MEMORY);
	/* Redis dies: for MemoryCacheTime the answer B just had still serves
	 * (no round trip is tried), then mail flows without the prior, no
	 * failure, at most one timeout per interval */
	redis_kill();
	ck_assert_int_eq(run_message(c, turkish_short, NULL), DETECT_MEMORY);
	usleep(c->memory.cache_ms * 1000 + 100000);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_ne(run_message(c, turkish_short, &secs), DETECT_MEMORY);
		if (secs > worst)
			worst = secs;
	}
	ck_assert_msg(worst < 0.5, "a message waited %.3f s on a dead Redis", worst);
	/* it comes back with its data; after the retry interval the prior returns */
	redis_start();
	sleep(MEMORY_RETRY_SEC + 1);
	ck_assert_int_eq(run_message(c, turkish_short, NULL), DETECT_MEMORY);
	flood_stays_in_bounds();
	batched_updates_all_count();
	memory_shutdown();
	conf_free(c);
	redis_kill();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memory-redis");
	TCase *tc = tcase_create("redis");
	SRunner *sr;
	int failed;

	if (access(REDIS_SERVER, X_OK) != 0) {
		printf("SKIP: %s not installed\n", REDIS_SERVER);
		return 77;
	}
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, two_processes_share_what_they_learn_and_survive_a_dead_redis);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
