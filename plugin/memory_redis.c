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
 * Reads run on the message's thread: one MGET on a pooled connection whose
 * connect and read timeouts are MemoryTimeout.  Any failure closes that
 * connection and marks Redis down for MEMORY_RETRY_SEC, during which lookups
 * return at once with no prior, so an unreachable Redis costs one timeout
 * per interval, not one per message.  Writes run on the worker thread on a
 * connection of its own: per message one MGET of its keys, a ZCARD when a
 * key is new, then every SET and ZADD in one pipelined round trip.  Two hosts updating one key at once may lose one
 * update (GET then SET): the memory is a statistic.
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

#include "memory_store.h"
#include "util.h"

#define POOL_MAX		16
#define MEMORY_EVICT_SAMPLE	16

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
 * A lookup is one MGET on a pooled connection.  redis_get_begin writes it
 * and returns the connection as the handle; redis_get_end reads the reply
 * (with the connection's MemoryTimeout) and gives the connection back to
 * the pool, so the round trip runs while the message's body is still
 * arriving.  Failures drop the connection and mark Redis down.
 */
static void *
redis_get_begin(void *b, const struct memory_keys *k)
{
	struct redis_store *s = b;
	const char *argv[MEMORY_KEYS + 1] = { "MGET" };
	size_t argl[MEMORY_KEYS + 1] = { 4 };
	redisContext *c = pool_take(s);
	int done = 0;

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < k->n; i++) {
		argv[i + 1] = k->key[i];
		argl[i + 1] = strlen(k->key[i]);
	}
	if (redisAppendCommandArgv(c, (int)k->n + 1, argv, argl) != REDIS_OK)
		goto fail;
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			goto fail;
	return c;
fail:
	mark_down(s, c, "MGET");
	redisFree(c);
	return NULL;
}

static int
redis_get_end(void *b, void *h, const struct memory_keys *k, char (*vals)[MEMORY_VALUE_MAX], size_t *lens,
	      bool *found)
{
	struct redis_store *s = b;
	redisContext *c = h;
	redisReply *r = NULL;

	if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != k->n) {
		mark_down(s, c, "MGET");
		if (r != NULL)
			freeReplyObject(r);
		redisFree(c);
		return -1;
	}
	for (size_t i = 0; i < k->n; i++) {
		const redisReply *e = r->element[i];

		found[i] = e->type == REDIS_REPLY_STRING && e->len < MEMORY_VALUE_MAX;
		if (found[i]) {
			memcpy(vals[i], e->str, e->len);
			lens[i] = e->len;
		}
	}
	freeReplyObject(r);
	pool_give(s, c);
	return 0;
}

/* An unread reply would answer the connection's next request: drop it. */
static void
redis_get_cancel(void *b, void *h)
{
	(void)b;
	redisFree(h);
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

/* Read every key of an item with one MGET on the worker's connection:
 * recs[i] parsed (zeroed when absent or unparsable), fresh[i] when absent. */
static int
read_item(struct redis_store *s, const struct memory_learn_item *it, struct memory_record *recs,
	  bool *fresh)
{
	const char *argv[MEMORY_KEYS + 1] = { "MGET" };
	size_t argl[MEMORY_KEYS + 1] = { 4 };
	redisReply *r;

	if (s->wctx == NULL && (s->wctx = connect_one(s)) == NULL)
		return -1;
	for (size_t i = 0; i < it->keys.n; i++) {
		argv[i + 1] = it->keys.key[i];
		argl[i + 1] = strlen(it->keys.key[i]);
	}
	r = redisCommandArgv(s->wctx, (int)it->keys.n + 1, argv, argl);
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != it->keys.n) {
		mark_down(s, s->wctx, "MGET");
		if (r != NULL)
			freeReplyObject(r);
		redisFree(s->wctx);
		s->wctx = NULL;
		return -1;
	}
	for (size_t i = 0; i < it->keys.n; i++) {
		const redisReply *e = r->element[i];

		fresh[i] = e->type != REDIS_REPLY_STRING;
		if (fresh[i] || !memory_record_parse(e->str, e->len, &recs[i]))
			memset(&recs[i], 0, sizeof(recs[i]));
	}
	freeReplyObject(r);
	return 0;
}

/* Which fresh keys the bound admits (evicting where it must). */
static int
admit(struct redis_store *s, const struct memory_learn_item *it, const bool *fresh, bool *write)
{
	long long card = -1;
	redisReply *r;

	for (size_t i = 0; i < it->keys.n; i++) {
		write[i] = true;
		if (!fresh[i])
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
			write[i] = room > 0;	/* else: full of established keys */
		} else {
			card++;
		}
	}
	return 0;
}

/* One observation for every key: MGET, then SET and ZADD pipelined. */
static int
learn_item(struct redis_store *s, const struct memory_learn_item *it)
{
	struct memory_record recs[MEMORY_KEYS];
	bool fresh[MEMORY_KEYS], write[MEMORY_KEYS];
	char text[MEMORY_VALUE_MAX];
	size_t sent = 0, n;
	redisReply *r;
	bool ok = true;

	if (read_item(s, it, recs, fresh) < 0 || admit(s, it, fresh, write) < 0 || s->wctx == NULL)
		return -1;
	for (size_t i = 0; i < it->keys.n; i++) {
		if (!write[i])
			continue;
		memory_apply(&recs[i], it, i);
		if ((n = memory_record_format(&recs[i], text, sizeof(text))) == 0)
			continue;
		redisAppendCommand(s->wctx, "SET %s %b EX %u", it->keys.key[i], text, n,
				   it->ttl > 0 ? it->ttl : 1u);
		redisAppendCommand(s->wctx, "ZADD %s %u %s", s->index, it->now, it->keys.key[i]);
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
redis_learn_locked(void *b, const struct memory_learn_item *it)
{
	struct redis_store *s = b;

	if (time(NULL) < atomic_load(&s->down_until))
		return 0;	/* already said; the update is lost, like a full queue */
	return learn_item(s, it);
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
redis_learn(void *b, const struct memory_learn_item *it)
{
	struct redis_store *s = b;
	int rc;

	pthread_mutex_lock(&s->wlock);
	rc = redis_learn_locked(b, it);
	pthread_mutex_unlock(&s->wlock);
	return rc;
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
	"Redis", redis_get_many, redis_get_begin, redis_get_end, redis_get_cancel, redis_learn, redis_list,
	redis_forget, redis_count, redis_close,
};
