/*
 * rss-run.c -- run a command and report its peak resident set size.
 *
 *   rss-run STATSFILE COMMAND [ARG...]
 *
 * Forks, execs COMMAND, waits with wait4() and writes "maxrss_kb=N\n" to
 * STATSFILE; exits with the command's exit status (128+signal when killed).
 * A separate small process, so the measured peak is the command's own: a
 * child forked from a big test driver (Python holding a 100 MB message)
 * would inherit the driver's RSS in ru_maxrss.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: rss-run STATSFILE COMMAND [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("rss-run: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rss-run: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rss-run: wait4");
			return 2;
		}
	}
	if ((f = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return 2;
	}
	fprintf(f, "maxrss_kb=%ld\n", ru.ru_maxrss);
	fclose(f);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
