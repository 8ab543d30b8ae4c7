/*
 * runtime.c -- the configuration in force and the messages in flight, shared
 * by the daemon's threads.  See runtime.h.
 *
 * One mutex guards the configuration pointer and every reference count, so a
 * reload (runtime_set_conf) and a message taking or dropping its reference
 * can never see a count that another thread is changing; the free happens
 * outside the lock.  A second mutex and a condition variable guard the
 * flight count, which the stop path waits on.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "runtime.h"
#include "util.h"

struct conf_ref {
	struct conf *conf;
	unsigned refs;		/* 1 while current, + 1 per message holding it */
};

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conf_ref *current_conf;	/* under conf_lock */
static unsigned confs_live;		/* under conf_lock */

/* Drop one reference with conf_lock held; returns the ref to free, if any. */
static struct conf_ref *conf_ref_drop_locked(struct conf_ref *r)
{
	if (--r->refs > 0)
		return NULL;
	confs_live--;
	return r;
}

static void conf_ref_free(struct conf_ref *r)
{
	if (r == NULL)
		return;
	conf_free(r->conf);
	free(r);
}

void runtime_set_conf(struct conf *c)
{
	struct conf_ref *r = xmalloc(sizeof(*r)), *old = NULL;

	r->conf = c;
	r->refs = 1;
	pthread_mutex_lock(&conf_lock);
	if (current_conf != NULL)
		old = conf_ref_drop_locked(current_conf);
	current_conf = r;
	confs_live++;
	pthread_mutex_unlock(&conf_lock);
	conf_ref_free(old);
}

void runtime_clear_conf(void)
{
	struct conf_ref *old = NULL;

	pthread_mutex_lock(&conf_lock);
	if (current_conf != NULL)
		old = conf_ref_drop_locked(current_conf);
	current_conf = NULL;
	pthread_mutex_unlock(&conf_lock);
	conf_ref_free(old);
}

struct conf_ref *runtime_conf_acquire(void)
{
	struct conf_ref *r;

	pthread_mutex_lock(&conf_lock);
	r = current_conf;
	if (r != NULL)
		r->refs++;
	pthread_mutex_unlock(&conf_lock);
	return r;
}

const struct conf *runtime_conf_get(const struct conf_ref *r)
{
	return r->conf;
}

void runtime_conf_release(struct conf_ref *r)
{
	struct conf_ref *old;

	if (r == NULL)
		return;
	pthread_mutex_lock(&conf_lock);
	old = conf_ref_drop_locked(r);
	pthread_mutex_unlock(&conf_lock);
	conf_ref_free(old);
}

/* A counter read under the lock that guards it. */
static unsigned read_locked(pthread_mutex_t *lock, const unsigned *counter)
{
	unsigned n;

	pthread_mutex_lock(lock);
	n = *counter;
	pthread_mutex_unlock(lock);
	return n;
}

unsigned runtime_conf_live(void)
{
	return read_locked(&conf_lock, &confs_live);
}

/* ---- messages in flight -------------------------------------------------- */

static pthread_mutex_t flight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flight_cond = PTHREAD_COND_INITIALIZER;
static bool stopping;			/* under flight_lock */
static unsigned messages_in_flight;	/* under flight_lock */

bool runtime_flight_enter(void)
{
	bool ok;

	pthread_mutex_lock(&flight_lock);
	ok = !stopping;
	if (ok)
		messages_in_flight++;
	pthread_mutex_unlock(&flight_lock);
	return ok;
}

void runtime_flight_leave(void)
{
	pthread_mutex_lock(&flight_lock);
	if (messages_in_flight > 0)
		messages_in_flight--;
	if (messages_in_flight == 0)
		pthread_cond_broadcast(&flight_cond);
	pthread_mutex_unlock(&flight_lock);
}

void runtime_begin_stop(void)
{
	pthread_mutex_lock(&flight_lock);
	stopping = true;
	pthread_mutex_unlock(&flight_lock);
}

bool runtime_wait_idle(unsigned timeout_sec)
{
	struct timespec until;
	bool idle;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_sec;
	pthread_mutex_lock(&flight_lock);
	while (messages_in_flight > 0 &&
	    pthread_cond_timedwait(&flight_cond, &flight_lock, &until) == 0)
		;
	idle = messages_in_flight == 0;
	pthread_mutex_unlock(&flight_lock);
	return idle;
}

unsigned runtime_in_flight(void)
{
	return read_locked(&flight_lock, &messages_in_flight);
}
