/*
 * memory_admin.h -- codepage-milter -M: list, show as JSON, or forget what the sender memory learned.
 *
 *   -M list          one line per source, most evidence first: key, source
 *                    (domain, HELO name, "client-network", mailer), last and
 *                    first seen (UTC), charsets with decayed counts
 *   -M json          the same as a JSON array of objects with the members
 *                    key, source, first_seen, last_seen, weight, charsets
 *                    [{charset, count}]
 *   -M forget KEY    remove one key: as listed ("cpm:from:example.ru"),
 *                    without the prefix ("from:example.ru"), or
 *                    "client:ADDRESS" for the network an address is in
 * It opens the configured store itself (read-only use apart from forget)
 * and may run beside the daemon.  Returns an exit status: 0 done, 1 the
 * store cannot be opened or read, 2 forget found no such key.
 */
#ifndef CPM_MEMORY_ADMIN_H
#define CPM_MEMORY_ADMIN_H

#include <stdio.h>
#include "conf.h"

int memory_admin(const struct conf *conf, const char *action, const char *key, FILE *out);

#endif
