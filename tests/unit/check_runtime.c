/*
 * check_runtime.c -- unit tests for the daemon's shared state (runtime.h):
 * the refcounted configuration and the count of messages in flight, alone
 * and under concurrency (worker threads taking and dropping references while
 * the main thread reloads), plus the log level read by many threads while
 * it is changed (log.h).
 *
 * Each configuration carries its generation number in spool_threshold, so a
 * thread can tell that the configuration it holds is still the one it took.
 * Under the sanitizer build (--enable-sanitizers) a reference freed too
 * early is a use-after-free report and one never freed a leak report.
 */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "runtime.h"

static struct conf *conf_gen(size_t generation)
{
	struct conf *c = conf_defaults();

	c->spool_threshold = generation;
	return c;
}

START_TEST(test_acquire_without_configuration_is_null)
{
	ck_assert_ptr_null(runtime_conf_acquire());
	ck_assert_uint_eq(runtime_conf_live(), 0);
}
END_TEST

START_TEST(test_acquire_gives_the_current_configuration)
{
	struct conf_ref *r;

	runtime_set_conf(conf_gen(1));
	r = runtime_conf_acquire();
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(runtime_conf_get(r)->spool_threshold, 1);
	runtime_conf_release(r);
	ck_assert_uint_eq(runtime_conf_live(), 1);
	runtime_clear_conf();
	ck_assert_uint_eq(runtime_conf_live(), 0);
	ck_assert_ptr_null(runtime_conf_acquire());
}
END_TEST

START_TEST(test_message_keeps_its_configuration_across_reloads)
{
	struct conf_ref *old, *cur;

	runtime_set_conf(conf_gen(1));
	old = runtime_conf_acquire();
	runtime_set_conf(conf_gen(2));
	runtime_set_conf(conf_gen(3));
	/* generation 2 was never held: freed at once; 1 is held, 3 current */
	ck_assert_uint_eq(runtime_conf_live(), 2);
	cur = runtime_conf_acquire();
	ck_assert_uint_eq(runtime_conf_get(old)->spool_threshold, 1);
	ck_assert_uint_eq(runtime_conf_get(cur)->spool_threshold, 3);
	runtime_conf_release(old);
	ck_assert_uint_eq(runtime_conf_live(), 1);
	runtime_clear_conf();
	/* cleared while a message holds it: freed when that message ends */
	ck_assert_uint_eq(runtime_conf_live(), 1);
	ck_assert_uint_eq(runtime_conf_get(cur)->spool_threshold, 3);
	runtime_conf_release(cur);
	ck_assert_uint_eq(runtime_conf_live(), 0);
}
END_TEST

#define WORKERS		8
#define RELOADS		3000

static atomic_size_t newest_generation;
static atomic_bool reloads_done;

struct worker_result {
	unsigned long taken;
	unsigned long wrong;		/* generation changed while held, or from the future */
};

static void *message_worker(void *arg)
{
	struct worker_result *res = arg;

	while (!atomic_load(&reloads_done)) {
		struct conf_ref *r = runtime_conf_acquire();
		size_t gen, newest;

		if (r == NULL)
			continue;
		gen = runtime_conf_get(r)->spool_threshold;
		newest = atomic_load(&newest_generation);
		sched_yield();		/* let a reload run while we hold it */
		if (runtime_conf_get(r)->spool_threshold != gen || gen > newest)
			res->wrong++;
		runtime_conf_release(r);
		res->taken++;
	}
	return NULL;
}

START_TEST(test_references_survive_concurrent_reloads)
{
	pthread_t tid[WORKERS];
	struct worker_result res[WORKERS] = { { 0, 0 } };
	unsigned long taken = 0;
	size_t gen;
	int i;

	atomic_store(&newest_generation, 1);
	runtime_set_conf(conf_gen(1));
	for (i = 0; i < WORKERS; i++)
		ck_assert_int_eq(pthread_create(&tid[i], NULL, message_worker, &res[i]), 0);
	for (gen = 2; gen <= RELOADS; gen++) {
		/* publish the number first: a worker may see the new conf at once */
		atomic_store(&newest_generation, gen);
		runtime_set_conf(conf_gen(gen));
		ck_assert_uint_le(runtime_conf_live(), WORKERS + 1);
		if (gen % 64 == 0)
			sched_yield();
	}
	atomic_store(&reloads_done, true);
	for (i = 0; i < WORKERS; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_uint_eq(res[i].wrong, 0);
		taken += res[i].taken;
	}
	ck_assert_uint_gt(taken, 0);
	ck_assert_uint_eq(runtime_conf_live(), 1);
	runtime_clear_conf();
	ck_assert_uint_eq(runtime_conf_live(), 0);
}
END_TEST

START_TEST(test_flight_counts_messages_in_and_out)
{
	ck_assert_uint_eq(runtime_in_flight(), 0);
	ck_assert(runtime_flight_enter());
	ck_assert(runtime_flight_enter());
	ck_assert_uint_eq(runtime_in_flight(), 2);
	runtime_flight_leave();
	runtime_flight_leave();
	runtime_flight_leave();		/* unmatched: ignored, never below zero */
	ck_assert_uint_eq(runtime_in_flight(), 0);
	ck_assert(runtime_wait_idle(0));
}
END_TEST

START_TEST(test_stopping_refuses_new_messages_and_keeps_old_ones)
{
	ck_assert(runtime_flight_enter());
	runtime_begin_stop();
	ck_assert(!runtime_flight_enter());
	ck_assert_uint_eq(runtime_in_flight(), 1);
	runtime_flight_leave();
	ck_assert_uint_eq(runtime_in_flight(), 0);
}
END_TEST

START_TEST(test_wait_idle_times_out_while_a_message_is_in_flight)
{
	time_t t0 = time(NULL);

	ck_assert(runtime_flight_enter());
	ck_assert(!runtime_wait_idle(1));
	ck_assert_int_ge(time(NULL) - t0, 1);
	runtime_flight_leave();
	ck_assert(runtime_wait_idle(1));
}
END_TEST

static void *leave_later(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	runtime_flight_leave();
	return NULL;
}

START_TEST(test_wait_idle_wakes_when_the_last_message_ends)
{
	struct timespec t0, t1;
	pthread_t tid;
	double waited;

	ck_assert(runtime_flight_enter());
	runtime_begin_stop();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(pthread_create(&tid, NULL, leave_later, NULL), 0);
	ck_assert(runtime_wait_idle(10));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(tid, NULL);
	waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert(waited >= 0.15 && waited < 5.0);
}
END_TEST

static atomic_bool stop_requested;

struct flight_result {
	unsigned long served;
	unsigned long refused_after_stop;
};

/* Messages come and go until the stop is announced; one more is refused. */
static void *flight_worker(void *arg)
{
	struct flight_result *res = arg;

	while (!atomic_load(&stop_requested)) {
		if (runtime_flight_enter()) {
			sched_yield();
			runtime_flight_leave();
			res->served++;
		}
	}
	if (!runtime_flight_enter())
		res->refused_after_stop++;
	else
		runtime_flight_leave();
	return NULL;
}

START_TEST(test_flight_count_balances_under_concurrency_and_stop)
{
	pthread_t tid[WORKERS];
	struct flight_result res[WORKERS] = { { 0, 0 } };
	unsigned long served = 0;
	int i;

	for (i = 0; i < WORKERS; i++)
		ck_assert_int_eq(pthread_create(&tid[i], NULL, flight_worker, &res[i]), 0);
	usleep(20 * 1000);
	runtime_begin_stop();
	atomic_store(&stop_requested, true);
	ck_assert(runtime_wait_idle(10));
	for (i = 0; i < WORKERS; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_uint_eq(res[i].refused_after_stop, 1);
		served += res[i].served;
	}
	ck_assert_uint_gt(served, 0);
	ck_assert_uint_eq(runtime_in_flight(), 0);
}
END_TEST

static atomic_bool level_writer_done;

static void *log_reader(void *arg)
{
	unsigned long *bad = arg;

	while (!atomic_load(&level_writer_done)) {
		int level = log_get_level();

		if (level != LOG_ERR && level != LOG_DEBUG)
			(*bad)++;
		log_debug("reader at level %d", level);
	}
	return NULL;
}

START_TEST(test_log_level_changes_while_threads_log)
{
	pthread_t tid[4];
	unsigned long bad[4] = { 0 };
	int i;

	/* stderr to /dev/null: the debug lines are not the point */
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	log_open(false, LOG_MAIL, LOG_ERR);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&tid[i], NULL, log_reader, &bad[i]), 0);
	for (i = 0; i < 20000; i++)
		log_set_level(i % 2 ? LOG_DEBUG : LOG_ERR);
	log_set_level(LOG_ERR);
	atomic_store(&level_writer_done, true);
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_uint_eq(bad[i], 0);
	}
	ck_assert_int_eq(log_get_level(), LOG_ERR);
}
END_TEST

static Suite *runtime_suite(void)
{
	Suite *s = suite_create("runtime");
	TCase *tc = tcase_create("conf");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_acquire_without_configuration_is_null);
	tcase_add_test(tc, test_acquire_gives_the_current_configuration);
	tcase_add_test(tc, test_message_keeps_its_configuration_across_reloads);
	tcase_add_test(tc, test_references_survive_concurrent_reloads);
	suite_add_tcase(s, tc);
	tc = tcase_create("flight");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flight_counts_messages_in_and_out);
	tcase_add_test(tc, test_stopping_refuses_new_messages_and_keeps_old_ones);
	tcase_add_test(tc, test_wait_idle_times_out_while_a_message_is_in_flight);
	tcase_add_test(tc, test_wait_idle_wakes_when_the_last_message_ends);
	tcase_add_test(tc, test_flight_count_balances_under_concurrency_and_stop);
	suite_add_tcase(s, tc);
	tc = tcase_create("log");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_log_level_changes_while_threads_log);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(runtime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
