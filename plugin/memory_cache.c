/*
 * memory_cache.c -- recent answers of a remote sender memory (memory_cache.h).
 *
 * Why a cache at all: a Redis read is one round trip per message, and on a
 * loaded host the round trip's cost is CPU (two system calls here, an
 * event-loop turn in redis-server, the wake-ups between them), not latency:
 * measured, it took a fifth of the milter's throughput with the data on
 * loopback.  A source worth remembering sends many messages; its records
 * change slowly (counts that decay over days), so an answer a second or two
 * old is as good as a fresh one.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory_cache.h"
#include "util.h"

struct cache_entry {
	uint64_t asked;		/* 0: empty */
	bool found;
	uint16_t len;
	char key[MEMORY_KEY_MAX];
	char val[MEMORY_VALUE_MAX];
};

struct memory_cache {
	unsigned keep_ms;
	pthread_mutex_t lock;
	unsigned long hits, misses;
	struct cache_entry slot[MEMORY_CACHE_SLOTS];
};

struct memory_cache *memory_cache_new(unsigned keep_ms)
{
	struct memory_cache *c;

	if (keep_ms == 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));	/* pages are touched only as slots fill */
	c->keep_ms = keep_ms;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void memory_cache_free(struct memory_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

uint64_t memory_cache_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + 1;	/* never 0 */
}

static struct cache_entry *slot_of(struct memory_cache *c, const char *key)
{
	uint32_t h = 2166136261u;	/* FNV-1a: the keys are already well spread */

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return &c->slot[h % MEMORY_CACHE_SLOTS];
}

bool memory_cache_get(struct memory_cache *c, const struct memory_keys *k, uint64_t now,
		 char (*vals)[MEMORY_VALUE_MAX], size_t *lens, bool *found)
{
	bool hit = true;

	if (c == NULL || k->n == 0)
		return false;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < k->n && hit; i++) {
		const struct cache_entry *e = slot_of(c, k->key[i]);

		hit = e->asked != 0 && now < e->asked + c->keep_ms && strcmp(e->key, k->key[i]) == 0;
		if (!hit)
			break;
		found[i] = e->found;
		lens[i] = e->len;
		if (e->found)
			memcpy(vals[i], e->val, e->len);
	}
	if (hit)
		c->hits++;
	else
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void memory_cache_put(struct memory_cache *c, const char *key, const char *val, size_t len, bool found,
		 uint64_t asked)
{
	struct cache_entry *e;
	size_t klen = strlen(key);

	if (c == NULL || klen >= MEMORY_KEY_MAX || (found && len >= MEMORY_VALUE_MAX))
		return;
	pthread_mutex_lock(&c->lock);
	e = slot_of(c, key);
	if (e->asked == 0 || asked >= e->asked || strcmp(e->key, key) != 0) {
		e->asked = asked;
		e->found = found;
		e->len = found ? (uint16_t)len : 0;
		memcpy(e->key, key, klen + 1);
		if (found)
			memcpy(e->val, val, len);
	}
	pthread_mutex_unlock(&c->lock);
}

void memory_cache_counts(struct memory_cache *c, unsigned long *hits, unsigned long *misses)
{
	*hits = *misses = 0;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}
