/*
 * memory_cache.h -- what a remote sender memory (Redis) answered lately, kept
 * a short while in the process, so a source's next messages skip the round
 * trip.
 *
 * A fixed table, direct-mapped by a hash of the key: a newer answer for a
 * key replaces an older one, and two keys that collide take turns (the cost
 * of a collision is a round trip, never a wrong answer: an entry holds its
 * whole key).  An entry is a record text or "absent", stamped with the time
 * its answer was asked for; one older than keep_ms is not used, and an
 * answer asked for before the one held does not replace it (so a read that
 * crossed the worker's write cannot put the older text back).  The store
 * puts its own writes here as it sends them, so this host sees what it
 * learned at once; what other hosts learn shows after at most keep_ms.
 * Thread-safe (one mutex; a lookup copies at most MEMORY_KEYS entries).
 */
#ifndef CPM_MEMORY_CACHE_H
#define CPM_MEMORY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"

#define MEMORY_CACHE_SLOTS	2048

struct memory_cache;

/* NULL when keep_ms is 0 (no cache); every call below accepts NULL. */
struct memory_cache *memory_cache_new(unsigned keep_ms);
void memory_cache_free(struct memory_cache *c);
/* Milliseconds on a clock that does not jump (the stamps' clock). */
uint64_t memory_cache_now(void);
/* True when every key of k has an answer stamped within keep_ms of now:
 * vals, lens and found are then filled as a store's get_many would. */
bool memory_cache_get(struct memory_cache *c, const struct memory_keys *k, uint64_t now,
		      char (*vals)[MEMORY_VALUE_MAX], size_t *lens, bool *found);
/* One key's answer (found false: absent), asked for at `asked`. */
void memory_cache_put(struct memory_cache *c, const char *key, const char *val, size_t len, bool found,
		      uint64_t asked);
/* Answers served and asked for (the bench's hit rate). */
void memory_cache_counts(struct memory_cache *c, unsigned long *hits, unsigned long *misses);

#endif
