/*
 * daemon.c -- process life cycle.  See daemon.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "util.h"

int daemon_detach(void)
{
	pid_t pid;
	int fd;

	pid = fork();
	if (pid == -1) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (setsid() == -1) {
		log_err("setsid: %s", strerror(errno));
		return -1;
	}
	/* Fork again so the daemon is no session leader and can never
	 * acquire a controlling terminal. */
	pid = fork();
	if (pid == -1) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/") == -1) {
		log_err("chdir /: %s", strerror(errno));
		return -1;
	}
	fd = open("/dev/null", O_RDWR);
	if (fd == -1) {
		log_err("/dev/null: %s", strerror(errno));
		return -1;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* The pid recorded in an existing pid file, or 0 when unreadable/garbage. */
static pid_t pidfile_read(const char *path)
{
	char text[32];
	ssize_t n;
	long v;
	char *end;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || v <= 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

int daemon_write_pidfile(const char *path)
{
	char text[32];
	int fd, len, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd != -1)
			break;
		if (errno != EEXIST) {
			log_err("pid file %s: %s", path, strerror(errno));
			return -1;
		}
		{
			pid_t old = pidfile_read(path);

			if (old > 0 && old != getpid() && (kill(old, 0) == 0 || errno == EPERM)) {
				log_err("pid file %s: process %ld is running", path, (long)old);
				return -1;
			}
		}
		/* Stale: a previous instance died without removing it. */
		if (unlink(path) == -1 && errno != ENOENT) {
			log_err("stale pid file %s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (fd == -1) {
		log_err("pid file %s: %s", path, strerror(errno));
		return -1;
	}
	len = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (write(fd, text, (size_t)len) != len) {
		log_err("pid file %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

void daemon_remove_pidfile(const char *path)
{
	/* Only our own file: after a privilege drop unlink may fail, which is
	 * harmless (the next start sees a dead pid and replaces it). */
	if (path != NULL && pidfile_read(path) == getpid())
		(void)unlink(path);
}

int daemon_drop_privileges(const char *user_group, const char *chown_path)
{
	char user[256];
	const char *colon = strchr(user_group, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - user_group) : strlen(user_group);
	struct passwd *pw;
	gid_t gid;

	if (ulen == 0 || ulen >= sizeof(user)) {
		log_err("bad user name \"%s\"", user_group);
		return -1;
	}
	memcpy(user, user_group, ulen);
	user[ulen] = '\0';
	pw = getpwnam(user);
	if (pw == NULL) {
		log_err("unknown user \"%s\"", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (colon != NULL) {
		struct group *gr = getgrnam(colon + 1);

		if (gr == NULL) {
			log_err("unknown group \"%s\"", colon + 1);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid && getgid() == gid)
		return 0;	/* already that user */
	if (chown_path != NULL && chown(chown_path, pw->pw_uid, gid) == -1)
		log_warn("chown %s: %s", chown_path, strerror(errno));
	if (setgid(gid) == -1 || initgroups(user, gid) == -1 || setuid(pw->pw_uid) == -1) {
		log_err("cannot become %s: %s", user_group, strerror(errno));
		return -1;
	}
	/* Paranoia: the change must be irreversible. */
	if (pw->pw_uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		log_err("could regain root after dropping privileges");
		return -1;
	}
	return 0;
}

static sigset_t daemon_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return set;
}

void daemon_block_signals(void)
{
	sigset_t set = daemon_signals();

	signal(SIGPIPE, SIG_IGN);	/* a vanished MTA is a write error, not death */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * libmilter runs a signal thread of its own that sigwait()s for SIGHUP,
 * SIGTERM and SIGINT and stops the milter on any of them.  If both it and
 * our main thread wait for the same blocked signals, whichever wakes first
 * gets each one, and now and then a reload (SIGHUP) would stop the daemon.
 * So, once libmilter's threads exist, the main thread -- the thread-group
 * leader, which the kernel tries first for a signal sent to the process --
 * stops blocking the three signals and takes them with a handler that writes
 * the signal number to a pipe.  A signal that is not blocked and not pending
 * in the leader is delivered to it, never left for a sigwait() elsewhere.
 */
static int sig_pipe[2] = { -1, -1 };

static void signal_to_pipe(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* pipe full: a signal of that kind is already waiting to be read */
	}
	errno = saved;
}

int daemon_take_signals(void)
{
	sigset_t set = daemon_signals();
	struct sigaction sa;

	if (pipe(sig_pipe) == -1)
		return -1;
	for (int i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = signal_to_pipe;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGHUP, &sa, NULL) == -1 || sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}

int daemon_wait_signal(int timeout_ms)
{
	sigset_t set = daemon_signals();
	struct timespec ts;
	int sig;

	if (sig_pipe[0] >= 0) {
		struct pollfd pfd = { sig_pipe[0], POLLIN, 0 };
		unsigned char c;

		if (poll(&pfd, 1, timeout_ms) > 0 && read(sig_pipe[0], &c, 1) == 1)
			return c;
		return 0;
	}

	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	sig = sigtimedwait(&set, NULL, &ts);
	return sig > 0 ? sig : 0;
}
