/*
 * check_daemon.c -- unit tests for the socket checks in daemon.h: the one
 * rule that says which socket specifications name a unix socket (libmilter's
 * own), relative paths made absolute, "in use" detection on a live socket,
 * the explanation logged when a socket cannot be opened, and TCP_NODELAY on
 * listening TCP sockets.  Sockets live in a private mkdtemp() directory and
 * on 127.0.0.1 only.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static char tmpdir[PATH_MAX / 2];

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/check_daemon.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) {
		/* leftovers under $TMPDIR are harmless */
	}
}

START_TEST(test_unix_socket_path_follows_libmilter)
{
	static const struct { const char *spec, *path; } cases[] = {
		{ "unix:/run/a.sock", "/run/a.sock" },
		{ "local:/run/a.sock", "/run/a.sock" },
		{ "UNIX:/run/a.sock", "/run/a.sock" },		/* libmilter: strcasecmp */
		{ "Local:rel.sock", "rel.sock" },
		{ ":/run/a.sock", "/run/a.sock" },		/* empty protocol: unix */
		{ "/run/a.sock", "/run/a.sock" },		/* no colon: the whole spec */
		{ "rel.sock", "rel.sock" },			/* relative, still unix */
		{ "local:/run/a:b.sock", "/run/a:b.sock" },	/* first colon only */
		{ "inet:8894@127.0.0.1", NULL },
		{ "INET6:8894@[::1]", NULL },
		{ "/run/a:b.sock", NULL },	/* protocol "/run/a": libmilter refuses it */
		{ "unixx:/x", NULL },
		{ "loc:/x", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = daemon_unix_socket_path(cases[i].spec);

		if (cases[i].path == NULL)
			ck_assert_msg(got == NULL, "%s: not unix, got %s", cases[i].spec, got);
		else
			ck_assert_msg(got != NULL && strcmp(got, cases[i].path) == 0,
			    "%s: want %s, got %s", cases[i].spec, cases[i].path, got ? got : "NULL");
	}
}
END_TEST

START_TEST(test_relative_unix_socket_is_made_absolute)
{
	char cwd[PATH_MAX], want[PATH_MAX + 32];
	char *s;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	snprintf(want, sizeof(want), "local:%s/x.sock", cwd);
	s = daemon_absolute_socket("x.sock");
	ck_assert_str_eq(s, want);
	free(s);
	s = daemon_absolute_socket("unix:x.sock");
	ck_assert_str_eq(s, want);
	free(s);
	s = daemon_absolute_socket("UNIX:x.sock");
	ck_assert_str_eq(s, want);
	free(s);
	s = daemon_absolute_socket("local:/abs/x.sock");
	ck_assert_str_eq(s, "local:/abs/x.sock");
	free(s);
	s = daemon_absolute_socket("inet:8894@127.0.0.1");
	ck_assert_str_eq(s, "inet:8894@127.0.0.1");
	free(s);
	s = daemon_absolute_path("p.pid");
	snprintf(want, sizeof(want), "%s/p.pid", cwd);
	ck_assert_str_eq(s, want);
	free(s);
}
END_TEST

static int listen_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

START_TEST(test_socket_in_use_only_when_someone_listens)
{
	char path[PATH_MAX], spec[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s/live.sock", tmpdir);
	snprintf(spec, sizeof(spec), "local:%s", path);
	ck_assert(!daemon_socket_in_use(spec));		/* no file */
	fd = listen_unix(path);
	ck_assert(daemon_socket_in_use(spec));
	ck_assert(daemon_socket_in_use(path));		/* bare path: same rule */
	ck_assert(!daemon_socket_in_use("inet:1@127.0.0.1"));
	close(fd);
	ck_assert(!daemon_socket_in_use(spec));		/* stale file: nobody answers */
}
END_TEST

/* Run daemon_explain_socket_failure(spec) and return what it logged. */
static char *explanation(const char *spec)
{
	static char text[4096];
	char path[PATH_MAX];
	int fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/log.txt", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_open(false, LOG_MAIL, LOG_NOTICE);
	daemon_explain_socket_failure(spec);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	return text;
}

START_TEST(test_explanation_names_the_missing_directory)
{
	char spec[PATH_MAX + 32];

	snprintf(spec, sizeof(spec), "local:%s/no-such-dir/x.sock", tmpdir);
	ck_assert_ptr_nonnull(strstr(explanation(spec), "no-such-dir: No such file or directory"));
}
END_TEST

START_TEST(test_explanation_names_an_overlong_path)
{
	char spec[400];

	memset(spec, 'a', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	memcpy(spec, "unix:/", 6);
	ck_assert_ptr_nonnull(strstr(explanation(spec), "path longer than"));
}
END_TEST

START_TEST(test_explanation_for_inet_is_generic)
{
	ck_assert_ptr_nonnull(strstr(explanation("inet:1@127.0.0.1"), "address in use or not ours"));
}
END_TEST

START_TEST(test_tcp_nodelay_is_set_on_listeners_only)
{
	struct sockaddr_in sin;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd = socket(AF_INET, SOCK_STREAM, 0);
	int on = 0;
	socklen_t len = sizeof(on);

	ck_assert_int_ge(lfd, 0);
	ck_assert_int_ge(cfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_ge(daemon_tcp_nodelay_on_listeners(), 1);
	ck_assert_int_eq(getsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	ck_assert_int_ne(on, 0);
	on = 0;
	len = sizeof(on);
	ck_assert_int_eq(getsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	ck_assert_int_eq(on, 0);	/* not listening: left alone */
	close(lfd);
	close(cfd);
}
END_TEST

#if defined(HAVE_MALLOPT) && defined(M_ARENA_MAX)
static void *churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		void *volatile p = malloc(1000 + (size_t)(i % 7) * 4096);

		free(p);
	}
	return NULL;
}

/* 32 threads allocating at once get no more arenas than the limit. */
START_TEST(test_malloc_arenas_are_limited_per_core)
{
	pthread_t t[32];
	char *info = NULL;
	size_t len = 0, heaps = 0;
	FILE *f;
	int n;

	unsetenv("MALLOC_ARENA_MAX");
	n = daemon_limit_malloc_arenas();
	if (n == 0 && getenv("CPM_SANITIZED") != NULL)
		return;		/* the sanitizer's allocator has no arenas */
	ck_assert_int_ge(n, 2);
	ck_assert_int_le(n, 8);
	for (size_t i = 0; i < 32; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn, NULL), 0);
	for (size_t i = 0; i < 32; i++)
		pthread_join(t[i], NULL);
	ck_assert_ptr_nonnull(f = open_memstream(&info, &len));
	ck_assert_int_eq(malloc_info(0, f), 0);
	fclose(f);
	for (const char *p = info; (p = strstr(p, "<heap nr=")) != NULL; p++)
		heaps++;
	free(info);
	ck_assert_uint_ge(heaps, 1);
	ck_assert_msg(heaps <= (size_t)n, "%zu arenas, limit %d", heaps, n);
}
END_TEST
#endif

static Suite *daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, make_tmpdir, remove_tmpdir);
	tcase_add_test(tc, test_unix_socket_path_follows_libmilter);
	tcase_add_test(tc, test_relative_unix_socket_is_made_absolute);
	tcase_add_test(tc, test_socket_in_use_only_when_someone_listens);
	tcase_add_test(tc, test_explanation_names_the_missing_directory);
	tcase_add_test(tc, test_explanation_names_an_overlong_path);
	tcase_add_test(tc, test_explanation_for_inet_is_generic);
	tcase_add_test(tc, test_tcp_nodelay_is_set_on_listeners_only);
#if defined(HAVE_MALLOPT) && defined(M_ARENA_MAX)
	tcase_add_test(tc, test_malloc_arenas_are_limited_per_core);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(daemon_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
