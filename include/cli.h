/*
 * cli.h -- the offline front end: repair (-t) or explain (-x) one message file.
 *
 * Reads FILE or "-" (stdin) through the engine; -t writes the repaired
 * message to stdout, -x the report table.  Line endings are the input's.
 * Returns a process exit status: 0 ok, 1 unreadable input or write error,
 * 75 internal error.
 */
#ifndef CPM_CLI_H
#define CPM_CLI_H

#include "conf.h"
#include "engine.h"

/* src: the message's source, or NULL.  The sender memory is consulted only
 * when src->memory is ENGINE_MEMORY_READ (-m): offline output otherwise
 * never depends on a store's state; the CLI never teaches the memory. */
enum cli_action { CLI_REPAIR, CLI_EXPLAIN };
int cli_run(enum cli_action action, const char *path, const struct conf *conf,
	    const struct engine_source *src);

#endif
