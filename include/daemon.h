/*
 * daemon.h -- process life cycle: background, pid file, privilege drop, signals.
 */
#ifndef CPM_DAEMON_H
#define CPM_DAEMON_H

#include <stdbool.h>

int daemon_detach(void);				/* fork, setsid, stdio to /dev/null */
int daemon_write_pidfile(const char *path);		/* O_EXCL-safe, 0644 */
int daemon_drop_privileges(const char *user_group);	/* "user" or "user:group" */

#endif
