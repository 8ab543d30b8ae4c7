/*
 * memory_lmdb.c -- the sender memory's embedded store: one LMDB file (memory_store.h).
 *
 * One environment per process (memory.c's registry), MDB_NOTLS so any
 * milter thread may read, MDB_NOSYNC because the memory is a statistic: a
 * committed update survives a crash of the process, and a crash of the
 * machine at worst costs a file that the open check below finds broken and
 * recreates.  Writes come from the store's worker thread only; LMDB's lock
 * file serialises them with other processes on the host.
 *
 * A file is broken when LMDB refuses it (not an LMDB file, wrong version),
 * when it is shorter than its own last page says (truncated: reading a page
 * past the end would be SIGBUS), or when an operation reports a corrupted
 * page.  Then it is renamed to PATH.corrupt, a fresh file is created, and
 * that is logged.  Readers check the file's size before touching the map.
 * Renaming happens under PATH.open-lock (flock) so that two processes do not
 * both recreate.  Recovery at run time is done by the worker thread under a
 * write lock that readers hold for reading.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "memory_store.h"
#include "util.h"

#define EVICT_BATCH	256	/* candidates gathered per sweep */
#define SWEEP_GAP_SEC	5	/* least time between two sweeps that found nothing */

struct lmdb_store {
	MDB_env *env;
	MDB_dbi dbi;
	char path[512];
	size_t map_size;
	pthread_rwlock_t rw;
	atomic_bool broken;
	/* worker-only state */
	char (*evict)[MEMORY_KEY_MAX];
	size_t nevict;
	time_t last_empty_sweep;
};

static bool
is_corruption(int rc)
{
	return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
	    rc == MDB_VERSION_MISMATCH || rc == MDB_BAD_TXN;
}

/* Is the mapped file at least as long as its last page says?  Checked with
 * fstat first so that a file truncated under us is never read past its end. */
static bool
file_whole(struct lmdb_store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat sb;
	int fd;

	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &sb) != 0)
		return false;
	if (mdb_env_stat(s->env, &st) != 0 || sb.st_size < 2 * (off_t)st.ms_psize)
		return false;
	if (mdb_env_info(s->env, &info) != 0)
		return false;
	return (off_t)((info.me_last_pgno + 1) * st.ms_psize) <= sb.st_size;
}

/* Every record readable?  A cursor walk over the whole tree. */
static int
walk_check(struct lmdb_store *s)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->dbi, &cur)) == 0) {
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
			;
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
env_open(struct lmdb_store *s)
{
	MDB_txn *txn;
	int rc, dead;

	if ((rc = mdb_env_create(&s->env)) != 0)
		return rc;
	mdb_env_set_mapsize(s->env, s->map_size);
	mdb_env_set_maxreaders(s->env, 512);
	rc = mdb_env_open(s->env, s->path, MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC, 0600);
	if (rc == 0 && !file_whole(s))
		rc = MDB_INVALID;
	if (rc == 0)
		mdb_reader_check(s->env, &dead);	/* readers left by killed processes */
	if (rc == 0 && (rc = mdb_txn_begin(s->env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_dbi_open(txn, NULL, 0, &s->dbi)) == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc == 0)
		rc = walk_check(s);
	if (rc != 0) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
	return rc;
}

/* Move a broken file aside and start afresh. */
static int
recreate(struct lmdb_store *s, int why)
{
	char aside[600], lock[600];

	snprintf(aside, sizeof(aside), "%s.corrupt", s->path);
	snprintf(lock, sizeof(lock), "%s-lock", s->path);
	if (rename(s->path, aside) != 0 && errno != ENOENT)
		return errno;
	unlink(lock);
	log_warn("sender memory: %s was unusable (%s): moved to %s, starting a new one",
		 s->path, mdb_strerror(why), aside);
	return env_open(s);
}

/* Open (or repair and open) under the open lock. */
static int
open_checked(struct lmdb_store *s)
{
	char lockpath[600];
	int fd, rc;

	snprintf(lockpath, sizeof(lockpath), "%s.open-lock", s->path);
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	rc = env_open(s);
	if (rc != 0 && (is_corruption(rc) || rc == EINVAL))
		rc = recreate(s, rc);
	if (fd >= 0)
		close(fd);	/* releases the flock */
	return rc;
}

void *
memory_lmdb_open(const struct memory_conf *mc, const char *path, char *err, size_t errlen)
{
	struct lmdb_store *s = xcalloc(1, sizeof(*s));
	int rc;

	snprintf(s->path, sizeof(s->path), "%s", path);
	s->map_size = mc->map_size;
	pthread_rwlock_init(&s->rw, NULL);
	s->evict = xcalloc(EVICT_BATCH, sizeof(*s->evict));
	if ((rc = open_checked(s)) != 0) {
		snprintf(err, errlen, "LMDB store %s: %s", path, mdb_strerror(rc));
		pthread_rwlock_destroy(&s->rw);
		free(s->evict);
		free(s);
		return NULL;
	}
	return s;
}

static void
lmdb_close(void *b)
{
	struct lmdb_store *s = b;

	if (s->env != NULL) {
		mdb_env_sync(s->env, 1);
		mdb_env_close(s->env);
	}
	pthread_rwlock_destroy(&s->rw);
	free(s->evict);
	free(s);
}

static void
note_failure(struct lmdb_store *s, int rc, const char *what)
{
	if (is_corruption(rc))
		atomic_store(&s->broken, true);
	memory_log_failure(what, "LMDB store %s: %s", s->path, mdb_strerror(rc));
}

static int
lmdb_get_many(void *b, const struct memory_keys *k, char (*vals)[MEMORY_VALUE_MAX], size_t *lens,
	      bool *found)
{
	struct lmdb_store *s = b;
	MDB_txn *txn;
	int rc = 0;

	if (atomic_load(&s->broken))
		return -1;
	pthread_rwlock_rdlock(&s->rw);
	if (s->env == NULL || !file_whole(s)) {
		atomic_store(&s->broken, true);
		pthread_rwlock_unlock(&s->rw);
		return -1;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) == 0) {
		for (size_t i = 0; i < k->n && rc == 0; i++) {
			MDB_val key = { strlen(k->key[i]), (void *)k->key[i] }, v;

			rc = mdb_get(txn, s->dbi, &key, &v);
			found[i] = rc == 0 && v.mv_size < MEMORY_VALUE_MAX;
			if (found[i]) {
				memcpy(vals[i], v.mv_data, v.mv_size);
				lens[i] = v.mv_size;
			}
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&s->rw);
	if (rc != 0)
		note_failure(s, rc, "read");
	return rc == 0 ? 0 : -1;
}

/* One pass over the store: expired keys go, and up to EVICT_BATCH keys seen
 * about once, oldest first, become eviction candidates. */
static int
sweep(struct lmdb_store *s, MDB_txn *txn, const struct memory_learn_item *it)
{
	uint32_t last[EVICT_BATCH];
	MDB_cursor *cur;
	MDB_val k, v;
	struct memory_record r;
	int rc;

	s->nevict = 0;
	if ((rc = mdb_cursor_open(txn, s->dbi, &cur)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		bool ok = memory_record_parse(v.mv_data, v.mv_size, &r);

		if (!ok || memory_expired(&r, it->now, it->ttl)) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
			continue;
		}
		if (k.mv_size >= MEMORY_KEY_MAX ||
		    memory_record_weight(&r, it->now, it->half_life) >= MEMORY_EVICTABLE_WEIGHT)
			continue;
		size_t at = s->nevict < EVICT_BATCH ? s->nevict++ : EVICT_BATCH;
		if (at == EVICT_BATCH) {
			/* full: replace the newest candidate if this one is older */
			size_t newest = 0;
			for (size_t i = 1; i < EVICT_BATCH; i++)
				if (last[i] > last[newest])
					newest = i;
			if (last[newest] <= r.last)
				continue;
			at = newest;
		}
		memcpy(s->evict[at], k.mv_data, k.mv_size);
		s->evict[at][k.mv_size] = '\0';
		last[at] = r.last;
	}
	mdb_cursor_close(cur);
	if (s->nevict == 0)
		s->last_empty_sweep = time(NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Make room for one new key: evict a candidate that is still evictable.
 * 1 when room was made, 0 when the store holds only established keys. */
static int
make_room(struct lmdb_store *s, MDB_txn *txn, const struct memory_learn_item *it)
{
	struct memory_record r;
	MDB_val k, v;
	int rc;

	for (int round = 0; round < 2; round++) {
		while (s->nevict > 0) {
			char *key = s->evict[--s->nevict];

			k.mv_size = strlen(key);
			k.mv_data = key;
			if (mdb_get(txn, s->dbi, &k, &v) != 0)
				continue;
			if (memory_record_parse(v.mv_data, v.mv_size, &r) &&
			    memory_record_weight(&r, it->now, it->half_life) >= MEMORY_EVICTABLE_WEIGHT &&
			    !memory_expired(&r, it->now, it->ttl))
				continue;
			return (rc = mdb_del(txn, s->dbi, &k, NULL)) == 0 ? 1 : -rc;
		}
		if (round == 0 && time(NULL) - s->last_empty_sweep >= SWEEP_GAP_SEC) {
			MDB_stat st;

			if ((rc = sweep(s, txn, it)) != 0)
				return -rc;
			if (mdb_stat(txn, s->dbi, &st) == 0 && st.ms_entries < it->max_keys)
				return 1;	/* expired keys made room */
		}
	}
	return 0;
}

/* Update one key inside txn; *entries tracks the store's size. */
static int
learn_key(struct lmdb_store *s, MDB_txn *txn, const struct memory_learn_item *it, size_t i,
	  size_t *entries)
{
	const char *key = it->keys.key[i];
	MDB_val k = { strlen(key), (void *)key }, v;
	struct memory_record r;
	char text[MEMORY_VALUE_MAX];
	bool fresh;
	int rc = mdb_get(txn, s->dbi, &k, &v);

	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	fresh = rc == MDB_NOTFOUND;
	if (fresh || !memory_record_parse(v.mv_data, v.mv_size, &r))
		memset(&r, 0, sizeof(r));
	if (fresh && *entries >= it->max_keys) {
		int room = make_room(s, txn, it);

		if (room < 0)
			return -room;
		if (room == 0)
			return 0;	/* full of established keys: this one is not admitted */
		*entries = *entries > 0 ? *entries - 1 : 0;
	}
	memory_apply(&r, it, i);
	v.mv_size = memory_record_format(&r, text, sizeof(text));
	v.mv_data = text;
	if (v.mv_size == 0)
		return 0;
	if ((rc = mdb_put(txn, s->dbi, &k, &v, 0)) == 0 && fresh)
		(*entries)++;
	return rc;
}

static int
learn_txn(struct lmdb_store *s, const struct memory_learn_item *it)
{
	MDB_txn *txn;
	MDB_stat st;
	size_t entries;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);

	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(s->env, 0);	/* another process grew it */
		rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	}
	if (rc != 0)
		return rc;
	rc = mdb_stat(txn, s->dbi, &st);
	entries = st.ms_entries;
	for (size_t i = 0; rc == 0 && i < it->keys.n; i++)
		rc = learn_key(s, txn, it, i, &entries);
	if (rc == 0)
		return mdb_txn_commit(txn);
	mdb_txn_abort(txn);
	return rc;
}

/* The map is full: forget expired and once-seen keys so the next update fits. */
static void
relieve_full_map(struct lmdb_store *s, const struct memory_learn_item *it)
{
	MDB_txn *txn;
	MDB_val k;

	if (mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
		return;
	if (sweep(s, txn, it) == 0) {
		while (s->nevict > 0) {
			k.mv_data = s->evict[--s->nevict];
			k.mv_size = strlen(k.mv_data);
			mdb_del(txn, s->dbi, &k, NULL);
		}
		mdb_txn_commit(txn);
	} else {
		mdb_txn_abort(txn);
	}
}

static int
lmdb_learn(void *b, const struct memory_learn_item *it)
{
	struct lmdb_store *s = b;
	int rc;

	if (atomic_load(&s->broken)) {
		pthread_rwlock_wrlock(&s->rw);
		if (s->env != NULL)
			mdb_env_close(s->env);
		s->env = NULL;
		rc = recreate(s, MDB_CORRUPTED);
		pthread_rwlock_unlock(&s->rw);
		if (rc != 0)
			return -1;
		atomic_store(&s->broken, false);
	}
	pthread_rwlock_rdlock(&s->rw);
	rc = s->env != NULL && file_whole(s) ? learn_txn(s, it) : MDB_CORRUPTED;
	if (rc == MDB_MAP_FULL) {
		memory_log_failure("full", "LMDB store %s: map full (MemoryMapSize): forgetting "
				   "expired and once-seen keys", s->path);
		relieve_full_map(s, it);
		rc = learn_txn(s, it);
	}
	pthread_rwlock_unlock(&s->rw);
	if (rc != 0 && rc != MDB_MAP_FULL)
		note_failure(s, rc, "write");
	return rc == 0 || rc == MDB_MAP_FULL ? 0 : -1;
}

static int
lmdb_list(void *b, memory_list_fn *fn, void *arg, uint32_t now, unsigned ttl)
{
	struct lmdb_store *s = b;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	struct memory_record r;
	char key[MEMORY_KEY_MAX];
	int rc;

	pthread_rwlock_rdlock(&s->rw);
	if (s->env == NULL || (rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0) {
		pthread_rwlock_unlock(&s->rw);
		return -1;
	}
	if ((rc = mdb_cursor_open(txn, s->dbi, &cur)) == 0) {
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
			if (k.mv_size >= sizeof(key) || !memory_record_parse(v.mv_data, v.mv_size, &r) ||
			    memory_expired(&r, now, ttl))
				continue;
			memcpy(key, k.mv_data, k.mv_size);
			key[k.mv_size] = '\0';
			fn(arg, key, &r);
		}
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->rw);
	return rc == MDB_NOTFOUND ? 0 : -1;
}

static int
lmdb_forget(void *b, const char *key)
{
	struct lmdb_store *s = b;
	MDB_val k = { strlen(key), (void *)key };
	MDB_txn *txn;
	int rc;

	pthread_rwlock_rdlock(&s->rw);
	if (s->env == NULL || mdb_txn_begin(s->env, NULL, 0, &txn) != 0) {
		pthread_rwlock_unlock(&s->rw);
		return -1;
	}
	rc = mdb_del(txn, s->dbi, &k, NULL);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc == 0)
		mdb_env_sync(s->env, 1);
	pthread_rwlock_unlock(&s->rw);
	return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : -1;
}

static long
lmdb_count(void *b)
{
	struct lmdb_store *s = b;
	MDB_txn *txn;
	MDB_stat st;
	long n = -1;

	pthread_rwlock_rdlock(&s->rw);
	if (s->env != NULL && mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) == 0) {
		if (mdb_stat(txn, s->dbi, &st) == 0)
			n = (long)st.ms_entries;
		mdb_txn_abort(txn);
	}
	pthread_rwlock_unlock(&s->rw);
	return n;
}

const struct memory_store_ops memory_lmdb_ops = {
	"LMDB", lmdb_get_many, NULL, NULL, NULL, lmdb_learn, NULL, lmdb_list, lmdb_forget, lmdb_count, lmdb_close,
};
