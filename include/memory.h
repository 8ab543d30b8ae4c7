/*
 * memory.h -- sender memory: which charsets each mail source's earlier, confidently
 * detected text was in, learned from traffic and read back as a prior.
 *
 * Keys (memory_keys_build): one per thing that identifies where a message
 * comes from, each prefixed with its kind:
 *   net:HASH      the client's network (IPv4 /24, IPv6 /48), hashed (last: ties
 *                 between equally strong priors go to the names)
 *   helo:NAME     the HELO name (lowercase; an address literal is hashed)
 *   env:DOMAIN    the envelope sender's domain
 *   from:DOMAIN   the From: address's domain
 *   mailer:HASH   X-Mailer (or User-Agent) with version digits blanked, hashed;
 *                 the record keeps a short printable label of it
 * Addresses never appear in the store: HASH is 16 hex digits of a 64-bit
 * keyed FNV-1a mix of the text (the key is the configured prefix), which
 * hides addresses from a casual reader of the store (not from someone who
 * can try all 2^24 IPv4 networks with the prefix in hand).  Domains and
 * names longer than MEMORY_NAME_MAX are hashed too, so every key is short.
 *
 * Record (one per key, a bounded text value, the same for LMDB and Redis):
 *   "v1 FIRST LAST LABEL CS=COUNT@TIME ..." with at most MEMORY_SLOTS
 * charsets; counts decay with the configured half-life (a count seen
 * `half_life` seconds ago weighs half) and saturate at MEMORY_COUNT_MAX, so
 * no value grows without bound.  A value that does not parse is treated as
 * absent (and overwritten by the next update).
 *
 * Learning (memory_learn) is given only charsets that the text's own
 * statistics chose with high confidence (engine.c: DETECT_STATISTICAL at
 * MEMORY_LEARN_CONFIDENCE or better), never an answer the memory gave, so
 * the memory cannot feed itself; each message counts once per key.
 * Reading (memory_lookup) gives per family the best charset over the keys
 * whose decayed count reaches min_count and holds MEMORY_AGREEMENT of its
 * family's count.  The cascade (detect.c) takes a prior only when the text
 * decodes under it and its own statistics score it close to their best, so
 * 10,000 messages cannot make a Cyrillic prior win over text that reads as
 * Japanese: poisoning can only tip choices the text itself leaves open.
 *
 * Bounds: at most max_keys keys.  A new key arriving at a full store is
 * admitted only by evicting one that was seen about once (weight below
 * MEMORY_EVICTABLE_WEIGHT) or has expired, so a flood of new sources churns
 * among its own keys and cannot evict the established ones; keys not seen
 * for `ttl` seconds are expired.  LMDB's map is map_size bytes; a full map
 * is handled like a full store.
 *
 * Failures: a missing, full, corrupt or unreachable store means "no prior"
 * and "nothing learned"; each kind of failure is logged at most once per
 * MEMORY_LOG_INTERVAL seconds.  Learning is queued (bounded, dropped when
 * full) to one worker thread per store, so writes never run on a message's
 * path (Redis gets them in batches); Redis reads wait at most timeout_ms,
 * and after a failure the store is not asked again for MEMORY_RETRY_SEC
 * seconds; what Redis answered is reused for cache_ms (memory_cache.h).  Nothing here ever asks
 * for a tempfail.
 *
 * Threads and processes: a struct memory is shared by all threads; stores
 * are opened once per process per (backend, place) by memory_shared() and
 * stay open until memory_shutdown().  Several processes may share one LMDB
 * file (LMDB's lock file) or one Redis.  Concurrent updates of one key from
 * two Redis clients may lose one of them (a statistic, not a ledger).
 */
#ifndef CPM_MEMORY_H
#define CPM_MEMORY_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum memory_backend_kind { MEMORY_NONE, MEMORY_LMDB, MEMORY_REDIS };

#define MEMORY_SLOTS		4	/* charsets kept per key */
#define MEMORY_KEYS		5	/* keys per message */
#define MEMORY_KEY_MAX		96	/* longest key, with prefix */
#define MEMORY_NAME_MAX		64	/* longer names are hashed */
#define MEMORY_LABEL_MAX	48
#define MEMORY_VALUE_MAX	512	/* longest record text */
#define MEMORY_COUNT_MAX	10000.0	/* counts saturate here */
#define MEMORY_AGREEMENT	0.6	/* share of its family a prior must hold */
#define MEMORY_EVICTABLE_WEIGHT	1.5	/* a key seen about once may be evicted */
#define MEMORY_LEARN_CONFIDENCE	85	/* least statistical confidence learned from */
#define MEMORY_LOG_INTERVAL	300
#define MEMORY_RETRY_SEC	10
#define MEMORY_QUEUE_MAX	1024	/* learn requests waiting for the worker */
#define MEMORY_BATCH_MAX	32	/* learn requests sent to Redis at once */
#define MEMORY_BATCH_LINGER_MS	50	/* longest wait for a batch to fill */
#define MEMORY_PRIORS		4

/* Settings (rows of conf_keys[] in conf.c).  Plain data, owned by struct conf. */
struct memory_conf {
	enum memory_backend_kind backend;
	char *path;		/* LMDB file; NULL: SpoolDir/memory.lmdb */
	char *redis;		/* "host:port" */
	char *prefix;		/* prepended to every key (and keys the hash) */
	unsigned ttl;		/* seconds */
	unsigned half_life;	/* seconds */
	unsigned max_keys;
	size_t map_size;	/* LMDB map, bytes */
	unsigned timeout_ms;	/* Redis connect and read timeout */
	unsigned cache_ms;	/* Redis answers reused this long (0: never) */
	unsigned min_count;	/* least decayed count a prior needs */
};

/* The message's source; any field may be NULL. */
struct memory_source {
	const char *client_addr;
	const char *helo;
	const char *env_sender;		/* address, without <> */
	const char *from;		/* From: header value */
	const char *mailer;		/* X-Mailer or User-Agent value */
	size_t from_len, mailer_len;	/* header values are not NUL-terminated */
};

struct memory_keys {
	size_t n;
	char key[MEMORY_KEYS][MEMORY_KEY_MAX];		/* with prefix */
	char label[MEMORY_KEYS][MEMORY_LABEL_MAX];	/* shown to people */
};

struct memory_slot {
	char charset[24];	/* MIME name */
	double count;		/* decayed to `time` */
	uint32_t time;
};

struct memory_record {
	uint32_t first, last;	/* seen first / last (Unix time) */
	char label[MEMORY_LABEL_MAX];
	struct memory_slot slot[MEMORY_SLOTS];
	size_t nslots;
};

/* One prior for the cascade: "example.ru 412x koi8-r". */
struct memory_prior {
	char charset[24];
	unsigned count;
	char label[MEMORY_LABEL_MAX];
};

struct memory;

/* ---- store-independent logic (pure; unit tested) ---- */
void memory_conf_defaults(struct memory_conf *mc);
void memory_conf_free(struct memory_conf *mc);
/* Config value parsers for conf.c's setters: true, or false with err. */
bool memory_parse_backend(const char *v, enum memory_backend_kind *out);
bool memory_parse_duration(const char *v, unsigned *out);	/* 90, 30s, 15m, 12h, 30d */
bool memory_parse_hostport(const char *v);

void memory_keys_build(struct memory_keys *k, const char *prefix, const struct memory_source *src);
uint64_t memory_hash(const char *prefix, const char *text, size_t len);

bool memory_record_parse(const char *text, size_t len, struct memory_record *r);
/* NUL-terminated text into dst (cap >= MEMORY_VALUE_MAX); returns its length. */
size_t memory_record_format(const struct memory_record *r, char *dst, size_t cap);
/* Count one observation of charset at now (decaying the others first). */
void memory_record_add(struct memory_record *r, const char *label, const char *charset,
		       uint32_t now, unsigned half_life);
double memory_slot_count(const struct memory_slot *s, uint32_t now, unsigned half_life);
double memory_record_weight(const struct memory_record *r, uint32_t now, unsigned half_life);
/* Priors from the records of a message's keys (NULL = absent), best first;
 * returns how many were written to out (at most MEMORY_PRIORS). */
size_t memory_priors_from(const struct memory_record *const *recs, size_t n, uint32_t now,
			  const struct memory_conf *mc, struct memory_prior *out);

/* ---- the store ---- */
/* The process's store for these settings (opened on first use; NULL when
 * the backend is none or the store cannot be opened now, which is logged). */
struct memory *memory_shared(const struct memory_conf *mc, const char *spool_dir);
/* Open a store of one's own (the -M view, tests).  NULL with err on failure. */
struct memory *memory_open(const struct memory_conf *mc, const char *spool_dir,
			   char *err, size_t errlen);
void memory_close(struct memory *m);
void memory_shutdown(void);	/* closes every shared store (at exit) */

size_t memory_lookup(struct memory *m, const struct memory_conf *mc, const struct memory_keys *k,
		     struct memory_prior *out);
/*
 * The same lookup in two halves: memory_lookup_begin sends the request where
 * the store is remote (Redis) and returns at once; memory_lookup_end reads
 * the answer into out (as memory_lookup; the keys must be the ones begun
 * with).  Every begun lookup is ended or cancelled exactly once.  A store
 * that answers locally (LMDB) does all the work in memory_lookup_end.
 */
struct memory_fetch;
struct memory_fetch *memory_lookup_begin(struct memory *m, const struct memory_keys *k);
size_t memory_lookup_end(struct memory *m, struct memory_fetch *f, const struct memory_conf *mc,
			 const struct memory_keys *k, struct memory_prior *out);
void memory_lookup_cancel(struct memory *m, struct memory_fetch *f);
/* Queue one observation for every key; never blocks. */
void memory_learn(struct memory *m, const struct memory_conf *mc, const struct memory_keys *k,
		  const char *const *charsets, size_t ncharsets);
/* Wait until the learn queue is empty (tests, -M, shutdown). */
void memory_flush(struct memory *m);

typedef void memory_list_fn(void *arg, const char *key, const struct memory_record *r);
/* Every key (expired ones are skipped); -1 when the store failed. */
int memory_list(struct memory *m, const struct memory_conf *mc, memory_list_fn *fn, void *arg);
/* 1 removed, 0 absent, -1 failure. */
int memory_forget(struct memory *m, const char *key);
/* Statistics for tests and -M: keys stored (-1 unknown), learn requests dropped. */
long memory_count(struct memory *m);
unsigned long memory_dropped(const struct memory *m);

#endif
