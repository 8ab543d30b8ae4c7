/*
 * daemon.h -- process life cycle: background, pid file, privilege drop,
 * signals, and the checks around the listening socket.  No libmilter here
 * (milter.c calls the socket checks around smfi_opensocket).
 *
 * Order that main.c follows, and why: open the milter socket as the starting
 * user (it may need a privileged directory), then detach (so errors so far
 * still reach the terminal), write the pid file (it must hold the daemon's
 * pid, and may need privileges), then drop privileges for good.
 *
 * All functions log (log.h) and return -1 on failure; none exits.
 */
#ifndef CPM_DAEMON_H
#define CPM_DAEMON_H

#include <stdbool.h>
#include <signal.h>

int daemon_detach(void);				/* fork, setsid, chdir /, stdio to /dev/null */
/* Create path with our pid, mode 0644.  An existing file whose pid is not a
 * live process is replaced; a live one is an error.  O_EXCL, no symlinks. */
int daemon_write_pidfile(const char *path);
void daemon_remove_pidfile(const char *path);
/* "user" or "user:group": setgid, initgroups, setuid, verified.  When
 * chown_path is not NULL (a unix socket), it is handed to that user first so
 * the daemon can still remove or recreate it. */
int daemon_drop_privileges(const char *user_group, const char *chown_path);

/* At most one malloc arena per core (2 to 8), unless MALLOC_ARENA_MAX is set:
 * call before the first thread starts.  The limit set, or 0 (no mallopt, or
 * the environment decides). */
int daemon_limit_malloc_arenas(void);

/* Block SIGHUP, SIGTERM, SIGINT (and SIGPIPE) in the calling thread, so every
 * thread created afterwards inherits the mask and the main thread alone takes
 * them with daemon_wait_signal(). */
void daemon_block_signals(void);
/* In the main thread, once libmilter's threads exist: take SIGHUP, SIGTERM
 * and SIGINT with a handler in this thread alone, so that libmilter's own
 * signal thread (which stops the milter on any of them) never gets one.
 * 0, or -1 (the signals stay blocked and are still waited for). */
int daemon_take_signals(void);
/* Wait for one of those signals (or timeout_ms passing: returns 0). */
int daemon_wait_signal(int timeout_ms);

/*
 * Socket specifications, in libmilter's notation and by libmilter's own rule
 * (mi_milteropen in listener.c): the text before the first colon names the
 * protocol -- "unix" or "local" (any case) or nothing at all is a unix
 * socket, "inet"/"inet6" TCP, anything else is refused by libmilter; a
 * specification without a colon is a unix socket path as a whole, absolute
 * or relative ("/run/x.sock", "x.sock").
 *
 * daemon_unix_socket_path: the socket file's path, or NULL when spec is not
 * a unix socket.  Points into spec.
 * daemon_absolute_path: path made absolute against the current directory
 * (the daemon changes to / when it detaches); malloc'd copy.
 * daemon_absolute_socket: spec with a relative unix path made absolute,
 * written "local:/abs/path"; other specs copied unchanged.  malloc'd.
 * daemon_socket_in_use: true when a process accepts connections on spec's
 * unix socket (libmilter would unlink it and steal it from that process).
 * daemon_explain_socket_failure: log why spec cannot be opened (path too
 * long for sun_path, missing or unwritable directory) as best we can tell.
 * daemon_tcp_nodelay_on_listeners: set TCP_NODELAY, and a 16 KiB MSS, on
 * every listening TCP socket of this process (accepted sockets inherit
 * both on Linux); returns how many got TCP_NODELAY.
 */
const char *daemon_unix_socket_path(const char *spec);
char *daemon_absolute_path(const char *path);
char *daemon_absolute_socket(const char *spec);
bool daemon_socket_in_use(const char *spec);
void daemon_explain_socket_failure(const char *spec);
int daemon_tcp_nodelay_on_listeners(void);

#endif
