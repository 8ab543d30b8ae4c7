/*
 * memory_store.h -- what memory.c asks of a storage backend (LMDB, Redis).  Internal.
 *
 * A backend stores record texts (memory.h) under keys.  Every call may fail:
 * -1 means "the store is unusable now" and the caller carries on with no
 * prior.  learn() runs only on the store's worker thread; get_many() on any
 * thread, concurrently with learn().  learn() applies memory.h's bounds
 * (max_keys, eviction of keys seen about once, ttl) in its own way.
 */
#ifndef CPM_MEMORY_STORE_H
#define CPM_MEMORY_STORE_H

#include "memory.h"

struct memory_learn_item {
	struct memory_keys keys;
	char charsets[MEMORY_SLOTS][24];
	size_t ncharsets;
	uint32_t now;
	unsigned ttl, half_life, max_keys;
};

struct memory_store_ops {
	const char *name;
	/* found[i] set and vals[i] filled for keys present; 0, or -1 on failure */
	int (*get_many)(void *b, const struct memory_keys *k, char (*vals)[MEMORY_VALUE_MAX],
			size_t *lens, bool *found);
	/* Optional: get_many in two halves, so that the round trip to a remote
	 * store overlaps the rest of the message.  get_begin sends the request
	 * and returns its handle (NULL on failure); get_end reads the answer
	 * (as get_many) and releases the handle; get_cancel releases it unread. */
	void *(*get_begin)(void *b, const struct memory_keys *k);
	int (*get_end)(void *b, void *h, const struct memory_keys *k, char (*vals)[MEMORY_VALUE_MAX],
		       size_t *lens, bool *found);
	void (*get_cancel)(void *b, void *h);
	int (*learn)(void *b, const struct memory_learn_item *it);
	/* Optional: n items at once (a remote store's round trips paid once per
	 * batch); the worker then lets up to MEMORY_BATCH_MAX gather, waiting at
	 * most MEMORY_BATCH_LINGER_MS after the first. */
	int (*learn_many)(void *b, const struct memory_learn_item *items, size_t n);
	int (*list)(void *b, memory_list_fn *fn, void *arg, uint32_t now, unsigned ttl);
	int (*forget)(void *b, const char *key);
	long (*count)(void *b);
	void (*close)(void *b);
};

/* Open a backend; NULL with err on failure. */
void *memory_lmdb_open(const struct memory_conf *mc, const char *path, char *err, size_t errlen);
extern const struct memory_store_ops memory_lmdb_ops;
void *memory_redis_open(const struct memory_conf *mc, char *err, size_t errlen);
extern const struct memory_store_ops memory_redis_ops;

/* Apply one learn item to a record (shared by the backends): rec may be a
 * fresh zeroed record. */
void memory_apply(struct memory_record *rec, const struct memory_learn_item *it, size_t key);
/* Has a record outlived ttl? */
bool memory_expired(const struct memory_record *r, uint32_t now, unsigned ttl);
/* Log a failure of kind `what` at most once per MEMORY_LOG_INTERVAL. */
void memory_log_failure(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
