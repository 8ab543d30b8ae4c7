/*
 * memory_redis.c -- the sender memory shared by several MX hosts: Redis (memory_store.h).
 *
 * Layout under the key prefix P: one string per key ("P" + "net:...", the
 * record text of memory.h, with EX ttl so Redis itself expires stale keys),
 * and the sorted set "P" + "index" of every key we wrote, scored by last
 * update, which bounds the count: a new key arriving when the index holds
 * max_keys is admitted only by evicting a key that expired (still in the
 * index) or was seen about once, found among MEMORY_EVICT_SAMPLE random
 * members (ZRANDMEMBER, Redis >= 6.2) -- a flood of new sources then churns
 * among its own keys; established ones stay.
 *
 * Reads run on the message's thread: answered from the process's cache of
 * recent answers (memory_cache.h, MemoryCacheTime) when it holds every key,
 * else one MGET on a pooled connection whose connect and read timeouts are
 * MemoryTimeout.  Any failure closes that connection and marks Redis down
 * for MEMORY_RETRY_SEC, during which lookups the cache cannot answer return
 * at once with no prior, so an unreachable Redis costs one timeout per
 * interval, not one per message.  Writes run on the worker thread on a
 * connection of its own, in batches of up to MEMORY_BATCH_MAX messages: one
 * MGET of the batch's distinct keys, a ZCARD when a key is new, then every
 * SET and ZADD in one pipelined round trip; what is written goes to the
 * cache.  Two hosts updating one key at once may lose one update (GET then
 * SET): the memory is a statistic.
 */
#include "config.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "memory_cache.h"
#include "memory_store.h"
#include "util.h"

#define POOL_MAX		16
#define MEMORY_EVICT_SAMPLE	16

/* One key of a batch: its record as read, then as updated by the batch's items. */
struct batch_key {
	const char *key;
	struct memory_record rec;
	bool fresh, write;
	uint32_t now;
	unsigned ttl;
};

struct redis_store {
	char host[256];
	int port;
	char prefix[64];
	char index[80];
	struct timeval tv;
	pthread_mutex_t lock;
	redisContext *pool[POOL_MAX];
	size_t npool;
	atomic_long down_until;
	redisContext *wctx;		/* the worker's (and -M's), under wlock */
	pthread_mutex_t wlock;
	struct batch_key *batch;	/* MEMORY_BATCH_MAX * MEMORY_KEYS, under wlock */
	struct memory_cache *cache;	/* recent answers; NULL when MemoryCacheTime is 0 */
};

static redisContext *
connect_one(struct redis_store *s)
{
	redisContext *c;

	if (time(NULL) < atomic_load(&s->down_until))
		return NULL;
	c = redisConnectWithTimeout(s->host, s->port, s->tv);
	if (c != NULL && c->err == 0 && redisSetTimeout(c, s->tv) == REDIS_OK)
		return c;
	memory_log_failure("redis", "Redis %s:%d: %s", s->host, s->port,
			   c != NULL ? c->errstr : "cannot allocate a connection");
	atomic_store(&s->down_until, (long)time(NULL) + MEMORY_RETRY_SEC);
	if (c != NULL)
		redisFree(c);
	return NULL;
}

static void
mark_down(struct redis_store *s, redisContext *c, const char *what)
{
	memory_log_failure("redis", "Redis %s:%d: %s failed: %s", s->host, s->port, what,
			   c != NULL && c->err ? c->errstr : "unexpected reply");
	atomic_store(&s->down_until, (long)time(NULL) + MEMORY_RETRY_SEC);
}

void *
memory_redis_open(const struct memory_conf *mc, char *err, size_t errlen)
{
	const char *hp = mc->redis != NULL ? mc->redis : "127.0.0.1:6379";
	const char *colon = strrchr(hp, ':');
	struct redis_store *s;

	if (colon == NULL || !memory_parse_hostport(hp) || (size_t)(colon - hp) >= sizeof(s->host)) {
		snprintf(err, errlen, "bad MemoryRedis \"%s\" (host:port)", hp);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	memcpy(s->host, hp, (size_t)(colon - hp));
	s->port = atoi(colon + 1);
	snprintf(s->prefix, sizeof(s->prefix), "%s", mc->prefix ? mc->prefix : "");
	snprintf(s->index, sizeof(s->index), "%sindex", s->prefix);
	s->tv.tv_sec = mc->timeout_ms / 1000;
	s->tv.tv_usec = (suseconds_t)(mc->timeout_ms % 1000) * 1000;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	s->batch = xcalloc(MEMORY_BATCH_MAX * MEMORY_KEYS, sizeof(*s->batch));
	s->cache = memory_cache_new(mc->cache_ms);
	return s;
}

static void
redis_close(void *b)
{
	struct redis_store *s = b;

	for (size_t i = 0; i < s->npool; i++)
		redisFree(s->pool[i]);
	if (s->wctx != NULL)
		redisFree(s->wctx);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->wlock);
	memory_cache_free(s->cache);
	free(s->batch);
	free(s);
}

static redisContext *
pool_take(struct redis_store *s)
{
	redisContext *c = NULL;

	if (time(NULL) < atomic_load(&s->down_until))
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (s->npool > 0)
		c = s->pool[--s->npool];
	pthread_mutex_unlock(&s->lock);
	return c != NULL ? c : connect_one(s);
}

static void
pool_give(struct redis_store *s, redisContext *c)
{
	pthread_mutex_lock(&s->lock);
	if (s->npool < POOL_MAX) {
		s->pool[s->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (c != NULL)
		redisFree(c);
}

/*
 * A lookup is answered from the cache when every key is there, else it is
 * one MGET on a pooled connection.  redis_get_begin writes it and returns
 * the fetch as the handle; redis_get_end reads the reply (with the
 * connection's MemoryTimeout), caches it and gives the connection back to
 * the pool, so the round trip runs while the message's body is still
 * arriving.  Failures drop the connection and mark Redis down.
 */
struct redis_fetch {
	redisContext *c;	/* NULL: answered from the cache */
	uint64_t asked;
	char vals[MEMORY_KEYS][MEMORY_VALUE_MAX];
	size_t lens[MEMORY_KEYS];
	bool found[MEMORY_KEYS];
};

static void *
redis_get_begin(void *b, const struct memory_keys *k)
{
	struct redis_store *s = b;
	const char *argv[MEMORY_KEYS + 1] = { "MGET" };
	size_t argl[MEMORY_KEYS + 1] = { 4 };
	struct redis_fetch *f = xcalloc(1, sizeof(*f));
	int done = 0;

	f->asked = memory_cache_now();
	if (memory_cache_get(s->cache, k, f->asked, f->vals, f->lens, f->found))
		return f;
	if ((f->c = pool_take(s)) == NULL) {
		free(f);
		return NULL;
	}
	for (size_t i = 0; i < k->n; i++) {
		argv[i + 1] = k->key[i];
		argl[i + 1] = strlen(k->key[i]);
	}
	if (redisAppendCommandArgv(f->c, (int)k->n + 1, argv, argl) != REDIS_OK)
		goto fail;
	while (!done)
		if (redisBufferWrite(f->c, &done) != REDIS_OK)
			goto fail;
	return f;
fail:
	mark_down(s, f->c, "MGET");
	redisFree(f->c);
	free(f);
	return NULL;
}

/* The MGET's reply into f (and the cache); 0, or -1 with the connection dropped. */
static int
read_reply(struct redis_store *s, struct redis_fetch *f, const struct memory_keys *k)
{
	redisReply *r = NULL;

	if (redisGetReply(f->c, (void **)&r) != REDIS_OK || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != k->n) {
		mark_down(s, f->c, "MGET");
		if (r != NULL)
			freeReplyObject(r);
		redisFree(f->c);
		return -1;
	}
	for (size_t i = 0; i < k->n; i++) {
		const redisReply *e = r->element[i];

		f->found[i] = e->type == REDIS_REPLY_STRING && e->len < MEMORY_VALUE_MAX;
		f->lens[i] = f->found[i] ? e->len : 0;
		if (f->found[i])
			memcpy(f->vals[i], e->str, e->len);
		memory_cache_put(s->cache, k->key[i], f->vals[i], f->lens[i], f->found[i], f->asked);
	}
	freeReplyObject(r);
	pool_give(s, f->c);
	return 0;
}

static int
redis_get_end(void *b, void *h, const struct memory_keys *k, char (*vals)[MEMORY_VALUE_MAX], size_t *lens,
	      bool *found)
{
	struct redis_fetch *f = h;
	int rc = f->c == NULL ? 0 : read_reply(b, f, k);

	for (size_t i = 0; rc == 0 && i < k->n; i++) {
		found[i] = f->found[i];
		lens[i] = f->lens[i];
		if (found[i])
			memcpy(vals[i], f->vals[i], f->lens[i]);
	}
	free(f);
	return rc;
}

/* An unread reply would answer the connection's next request: drop it. */
static void
redis_get_cancel(void *b, void *h)
{
	struct redis_fetch *f = h;

	(void)b;
	if (f->c != NULL)
		redisFree(f->c);
	free(f);
}

static int
redis_get_many(void *b, const struct memory_keys *k, char (*vals)[MEMORY_VALUE_MAX], size_t *lens,
	       bool *found)
{
	void *h = redis_get_begin(b, k);

	return h != NULL ? redis_get_end(b, h, k, vals, lens, found) : -1;
}

/* A command on the worker's connection (connected on demand); NULL on failure
 * (the connection is dropped and Redis marked down). */
static redisReply *
wcmd(struct redis_store *s, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	if (s->wctx == NULL && (s->wctx = connect_one(s)) == NULL)
		return NULL;
	va_start(ap, fmt);
	r = redisvCommand(s->wctx, fmt, ap);
	va_end(ap);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		mark_down(s, s->wctx, fmt);
		if (r != NULL)
			freeReplyObject(r);
		redisFree(s->wctx);
		s->wctx = NULL;
		return NULL;
	}
	return r;
}

/* Room for one more key: evict an expired or once-seen key among a random
 * sample of the index.  1 room made, 0 none (only established keys), -1 error. */
static int
make_room(struct redis_store *s, const struct memory_learn_item *it)
{
	redisReply *r = wcmd(s, "ZRANDMEMBER %s %d", s->index, MEMORY_EVICT_SAMPLE), *g;
	struct memory_record rec;
	int made = 0;

	if (r == NULL)
		return -1;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && made == 0; i++) {
		const redisReply *m = r->element[i];

		if (m->type != REDIS_REPLY_STRING || (g = wcmd(s, "GET %b", m->str, m->len)) == NULL)
			continue;
		bool evict = g->type != REDIS_REPLY_STRING || !memory_record_parse(g->str, g->len, &rec) ||
		    memory_record_weight(&rec, it->now, it->half_life) < MEMORY_EVICTABLE_WEIGHT;
		freeReplyObject(g);
		if (!evict)
			continue;
		if ((g = wcmd(s, "DEL %b", m->str, m->len)) != NULL)
			freeReplyObject(g);
		if ((g = wcmd(s, "ZREM %s %b", s->index, m->str, m->len)) != NULL)
			freeReplyObject(g);
		made = 1;
	}
	freeReplyObject(r);
	return made;
}

/* The distinct keys of n items into bk (at most MEMORY_BATCH_MAX * MEMORY_KEYS);
 * their count. */
static size_t
batch_keys(const struct memory_learn_item *items, size_t n, struct batch_key *bk)
{
	size_t nk = 0, j;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < items[i].keys.n; k++) {
			for (j = 0; j < nk && strcmp(bk[j].key, items[i].keys.key[k]) != 0; j++)
				;
			if (j == nk) {
				memset(&bk[nk], 0, sizeof(bk[nk]));
				bk[nk++].key = items[i].keys.key[k];
			}
		}
	return nk;
}

/* Read every key of a batch with one MGET on the worker's connection: rec
 * parsed (zeroed when absent or unparsable), fresh when absent. */
static int
read_batch(struct redis_store *s, struct batch_key *bk, size_t nk)
{
	const char *argv[MEMORY_BATCH_MAX * MEMORY_KEYS + 1] = { "MGET" };
	size_t argl[MEMORY_BATCH_MAX * MEMORY_KEYS + 1] = { 4 };
	redisReply *r;

	if (s->wctx == NULL && (s->wctx = connect_one(s)) == NULL)
		return -1;
	for (size_t i = 0; i < nk; i++) {
		argv[i + 1] = bk[i].key;
		argl[i + 1] = strlen(bk[i].key);
	}
	r = redisCommandArgv(s->wctx, (int)nk + 1, argv, argl);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != nk) {
		mark_down(s, s->wctx, "MGET");
		if (r != NULL)
			freeReplyObject(r);
		redisFree(s->wctx);
		s->wctx = NULL;
		return -1;
	}
	for (size_t i = 0; i < nk; i++) {
		const redisReply *e = r->element[i];

		bk[i].fresh = e->type != REDIS_REPLY_STRING;
		if (bk[i].fresh || !memory_record_parse(e->str, e->len, &bk[i].rec))
			memset(&bk[i].rec, 0, sizeof(bk[i].rec));
	}
	freeReplyObject(r);
	return 0;
}

/* Which fresh keys the bound admits (evicting where it must). */
static int
admit(struct redis_store *s, const struct memory_learn_item *it, struct batch_key *bk, size_t nk)
{
	long long card = -1;
	redisReply *r;

	for (size_t i = 0; i < nk; i++) {
		bk[i].write = true;
		if (!bk[i].fresh)
			continue;
		if (card < 0) {
			if ((r = wcmd(s, "ZCARD %s", s->index)) == NULL)
				return -1;
			card = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
			freeReplyObject(r);
		}
		if (card >= (long long)it->max_keys) {
			int room = make_room(s, it);

			if (room < 0)
				return -1;
			bk[i].write = room > 0;	/* else: full of established keys */
		} else {
			card++;
		}
	}
	return 0;
}

/* Each admitted key's record updated by every item that names it, in order. */
static void
apply_batch(const struct memory_learn_item *items, size_t n, struct batch_key *bk, size_t nk)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < items[i].keys.n; k++)
			for (size_t j = 0; j < nk; j++)
				if (bk[j].write && strcmp(bk[j].key, items[i].keys.key[k]) == 0) {
					memory_apply(&bk[j].rec, &items[i], k);
					bk[j].now = items[i].now;
					bk[j].ttl = items[i].ttl;
					break;
				}
}

/* One observation per item for each of its keys: an MGET of the batch's
 * distinct keys, then every SET and ZADD in one pipelined round trip; what
 * was written goes to the cache, stamped when it was sent. */
static int
learn_batch(struct redis_store *s, const struct memory_learn_item *items, size_t n)
{
	char text[MEMORY_VALUE_MAX];
	size_t nk = batch_keys(items, n, s->batch), sent = 0, len;
	uint64_t asked = memory_cache_now();
	redisReply *r;
	bool ok = true;

	if (read_batch(s, s->batch, nk) < 0 || admit(s, &items[0], s->batch, nk) < 0 || s->wctx == NULL)
		return -1;
	apply_batch(items, n, s->batch, nk);
	for (size_t j = 0; j < nk; j++) {
		struct batch_key *b = &s->batch[j];

		if (!b->write || (len = memory_record_format(&b->rec, text, sizeof(text))) == 0)
			continue;
		redisAppendCommand(s->wctx, "SET %s %b EX %u", b->key, text, len, b->ttl > 0 ? b->ttl : 1u);
		redisAppendCommand(s->wctx, "ZADD %s %u %s", s->index, b->now, b->key);
		memory_cache_put(s->cache, b->key, text, len, true, asked);
		sent += 2;
	}
	for (size_t i = 0; i < sent; i++) {
		if (redisGetReply(s->wctx, (void **)&r) != REDIS_OK || r == NULL) {
			ok = false;
			break;
		}
		ok &= r->type != REDIS_REPLY_ERROR;
		freeReplyObject(r);
	}
	if (!ok) {
		mark_down(s, s->wctx, "SET");
		redisFree(s->wctx);
		s->wctx = NULL;
		return -1;
	}
	return 0;
}

static int
redis_learn_locked(void *b, const struct memory_learn_item *items, size_t n)
{
	struct redis_store *s = b;

	if (time(NULL) < atomic_load(&s->down_until))
		return 0;	/* already said; the update is lost, like a full queue */
	return learn_batch(s, items, n);
}

static int
redis_list_locked(void *b, memory_list_fn *fn, void *arg, uint32_t now, unsigned ttl)
{
	struct redis_store *s = b;
	redisReply *idx = wcmd(s, "ZRANGE %s 0 -1", s->index), *r;
	struct memory_record rec;

	if (idx == NULL || idx->type != REDIS_REPLY_ARRAY) {
		if (idx != NULL)
			freeReplyObject(idx);
		return -1;
	}
	for (size_t i = 0; i < idx->elements; i++) {
		const redisReply *m = idx->element[i];
		char key[MEMORY_KEY_MAX];

		if (m->type != REDIS_REPLY_STRING || m->len >= sizeof(key) ||
		    (r = wcmd(s, "GET %b", m->str, m->len)) == NULL)
			continue;
		memcpy(key, m->str, m->len);
		key[m->len] = '\0';
		if (r->type == REDIS_REPLY_STRING && memory_record_parse(r->str, r->len, &rec) &&
		    !memory_expired(&rec, now, ttl))
			fn(arg, key, &rec);
		freeReplyObject(r);
	}
	freeReplyObject(idx);
	return 0;
}

static int
redis_forget_locked(void *b, const char *key)
{
	struct redis_store *s = b;
	redisReply *r = wcmd(s, "DEL %s", key);
	long long n;

	if (r == NULL)
		return -1;
	n = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	memory_cache_put(s->cache, key, NULL, 0, false, memory_cache_now());
	if ((r = wcmd(s, "ZREM %s %s", s->index, key)) != NULL)
		freeReplyObject(r);
	return n > 0 ? 1 : 0;
}

static long
redis_count_locked(void *b)
{
	struct redis_store *s = b;
	redisReply *r = wcmd(s, "ZCARD %s", s->index);
	long n;

	if (r == NULL)
		return -1;
	n = r->type == REDIS_REPLY_INTEGER ? (long)r->integer : -1;
	freeReplyObject(r);
	return n;
}

/* The worker's connection is shared with the -M calls: one user at a time. */
static int
redis_learn_many(void *b, const struct memory_learn_item *items, size_t n)
{
	struct redis_store *s = b;
	int rc;

	pthread_mutex_lock(&s->wlock);
	for (rc = 0; n > 0 && rc == 0; items += MEMORY_BATCH_MAX, n -= n < MEMORY_BATCH_MAX ? n : MEMORY_BATCH_MAX)
		rc = redis_learn_locked(b, items, n < MEMORY_BATCH_MAX ? n : MEMORY_BATCH_MAX);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

static int
redis_learn(void *b, const struct memory_learn_item *it)
{
	return redis_learn_many(b, it, 1);
}

static int
redis_list(void *b, memory_list_fn *fn, void *arg, uint32_t now, unsigned ttl)
{
	struct redis_store *s = b;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = redis_list_locked(b, fn, arg, now, ttl);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

static int
redis_forget(void *b, const char *key)
{
	struct redis_store *s = b;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = redis_forget_locked(b, key);
	pthread_mutex_unlock(&s->wlock);
	return rc;
}

static long
redis_count(void *b)
{
	struct redis_store *s = b;
	long n;

	pthread_mutex_lock(&s->wlock);
	n = redis_count_locked(b);
	pthread_mutex_unlock(&s->wlock);
	return n;
}

const struct memory_store_ops memory_redis_ops = {
	"Redis", redis_get_many, redis_get_begin, redis_get_end, redis_get_cancel, redis_learn, redis_learn_many,
	redis_list,
	redis_forget, redis_count, redis_close,
};
