/*
 * daemon.c -- process life cycle and the checks around the listening
 * socket.  See daemon.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "daemon.h"
#include "log.h"
#include "util.h"

/*
 * glibc gives a thread that finds the arenas locked an arena of its own, up
 * to 8 per core, and memory freed into an arena is reused only through it:
 * with libmilter's thread per connection, freed message buffers pile up in
 * every arena and RSS climbs towards arenas x the largest buffers
 * (tests/bench/RESULTS.md, "6. Memory": 16 connections drifted from 23 to
 * 30 MB; capped at 2 arenas, 13-18 MB).  One arena per core keeps the
 * allocator's lock contention where it was and the peak near what the
 * messages in flight hold.
 */
int daemon_limit_malloc_arenas(void)
{
#if defined(HAVE_MALLOPT) && defined(M_ARENA_MAX)
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (getenv("MALLOC_ARENA_MAX") != NULL)
		return 0;
	n = n < 2 ? 2 : n > 8 ? 8 : n;
	return mallopt(M_ARENA_MAX, (int)n) == 1 ? (int)n : 0;
#else
	return 0;
#endif
}

/* Fork, the parent leaving at once: 0 in the child, -1 when fork failed. */
static int fork_away(void)
{
	pid_t pid = fork();

	if (pid == -1) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	return 0;
}

int daemon_detach(void)
{
	int fd;

	if (fork_away() == -1)
		return -1;
	if (setsid() == -1) {
		log_err("setsid: %s", strerror(errno));
		return -1;
	}
	/* Fork again so the daemon is no session leader and can never
	 * acquire a controlling terminal. */
	if (fork_away() == -1)
		return -1;
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

/* ---- the listening socket -------------------------------------------------- */

const char *daemon_unix_socket_path(const char *spec)
{
	const char *colon = strchr(spec, ':');
	size_t n;

	if (colon == NULL)
		return spec;		/* libmilter: no protocol means unix */
	n = (size_t)(colon - spec);
	if (n == 0 || (n == 4 && ascii_strncasecmp(spec, "unix", 4) == 0) ||
	    (n == 5 && ascii_strncasecmp(spec, "local", 5) == 0))
		return colon + 1;
	return NULL;
}

char *daemon_absolute_path(const char *path)
{
	char cwd[4096];
	struct buf b;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return xstrdup(path);
	buf_init(&b, sizeof(cwd) + strlen(path) + 2);
	buf_printf(&b, "%s/%s", cwd, path);
	return buf_steal(&b, NULL);
}

char *daemon_absolute_socket(const char *spec)
{
	const char *path = daemon_unix_socket_path(spec);
	char *abs, *out;
	struct buf b;

	if (path == NULL || path[0] == '/')
		return xstrdup(spec);
	abs = daemon_absolute_path(path);
	buf_init(&b, strlen(abs) + 16);
	buf_printf(&b, "local:%s", abs);
	out = buf_steal(&b, NULL);
	free(abs);
	return out;
}

/*
 * libmilter removes an existing unix socket file before binding (rmsocket),
 * which would silently steal the socket of a daemon still running: the
 * caller refuses to start when something answers on it.
 */
bool daemon_socket_in_use(const char *spec)
{
	struct sockaddr_un sun;
	const char *path = daemon_unix_socket_path(spec);
	int fd, rc;

	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path))
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

/* libmilter says only that it failed; for a unix socket, say why if we can. */
void daemon_explain_socket_failure(const char *spec)
{
	const char *path = daemon_unix_socket_path(spec);
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash;
	struct stat st;

	if (path != NULL && strlen(path) >= sizeof(dir)) {
		log_err("cannot open milter socket %s: path longer than %zu bytes", spec, sizeof(dir) - 1);
		return;
	}
	if (path != NULL && (slash = strrchr(path, '/')) != NULL && slash != path) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (stat(dir, &st) == -1 || access(dir, W_OK | X_OK) == -1) {
			log_err("cannot open milter socket %s: directory %s: %s", spec, dir, strerror(errno));
			return;
		}
	}
	log_err("cannot open milter socket %s (address in use or not ours, or bad specification)", spec);
}

/*
 * The segment size we announce.  On loopback the MTU is 64 KiB, so an MTA's
 * 64 KiB body chunk arrives as one full segment plus a few bytes; its window
 * updates and our ACKs then wait for a whole 64 KiB segment's worth of room,
 * and the few bytes wait for the delayed-ACK timer: 40 ms per body chunk
 * (milter_load over inet, one connection: 37 messages/s, p99 312 ms; with
 * this, 546/s, p99 10 ms).  Any real network's MSS is smaller than this
 * already, so it changes nothing there.
 */
static const int listener_mss = 16384;

/* Set TCP_NODELAY (and our MSS) on fd if it is a listening TCP socket: 1
 * when TCP_NODELAY was set, else 0. */
static int tcp_nodelay_if_listener(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss), ol;
	int on = 1, listening = 0;
	struct stat st;

	ol = sizeof(listening);
	if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) == -1 || !listening)
		return 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		return 0;
	if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &listener_mss, sizeof(listener_mss)) == -1)
		log_warn("TCP_MAXSEG %d on the milter socket: %s", listener_mss, strerror(errno));
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0)
		return 1;
	log_warn("TCP_NODELAY on the milter socket: %s", strerror(errno));
	return 0;
}

/*
 * libmilter writes each reply with its own write() and leaves Nagle on, so an
 * end of message answered with several replies (change header, add header,
 * continue) waits for the MTA's delayed ACK, ~40 ms per message on TCP.
 * libmilter hands out neither the listening nor the accepted descriptors, but
 * on Linux an accepted TCP socket inherits TCP_NODELAY from its listener
 * (the child socket is a clone of the listener).  So: find our listening TCP
 * sockets among our own descriptors right after smfi_opensocket() and set the
 * option there.
 */
int daemon_tcp_nodelay_on_listeners(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int changed = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end != '\0' || end == de->d_name || v < 0 || v > INT_MAX || v == dirfd(d))
			continue;
		changed += tcp_nodelay_if_listener((int)v);
	}
	closedir(d);
	return changed;
}
