/*
 * milter.h -- the libmilter adapter: callbacks that turn milter events into
 * engine calls and the edit list back into smfi_* calls.  Nothing else.
 */
#ifndef CPM_MILTER_H
#define CPM_MILTER_H

#include "conf.h"

/* Set the configuration used for new messages (atomically replaces; the old
 * one is freed once no message uses it). */
void milter_set_conf(struct conf *c);
/* Register with libmilter on the socket and run smfi_main(). Returns its result. */
int milter_run(const char *socket, int backlog);

#endif
