/*
 * runtime.h -- the daemon's state shared between the main thread and the
 * milter's worker threads: the configuration in force and the messages in
 * flight.  No libmilter here; milter.c uses it per message, main.c on reload
 * and stop.
 *
 * Configuration: a refcounted handle.  runtime_set_conf() installs a new
 * configuration for new messages; a message takes a reference at MAIL FROM
 * (runtime_conf_acquire) and drops it at its end (runtime_conf_release), so
 * it keeps the configuration it started with across any number of reloads.
 * A configuration is freed (conf_free) when it is neither current nor held
 * by any message -- exactly once, by whichever thread drops the last
 * reference.  All functions may be called from any thread.
 *
 * Messages in flight (for a graceful stop): runtime_flight_enter() counts a
 * message in unless runtime_begin_stop() was called, runtime_flight_leave()
 * counts it out, runtime_wait_idle() waits until none is left or a timeout
 * passes.  The count never goes below zero (an unmatched leave is ignored).
 *
 * Limits: reference and flight counts are unsigned ints; each live message
 * holds one of each, so they are bounded by libmilter's connection count.
 */
#ifndef CPM_RUNTIME_H
#define CPM_RUNTIME_H

#include <stdbool.h>
#include "conf.h"

struct conf_ref;

/* Make c the configuration for new messages; takes ownership.  The previous
 * one is freed as soon as no message holds it. */
void runtime_set_conf(struct conf *c);
/* Drop the current configuration (at exit).  Messages still holding a
 * reference keep theirs until they release it. */
void runtime_clear_conf(void);
/* A reference to the current configuration, or NULL when none is set. */
struct conf_ref *runtime_conf_acquire(void);
const struct conf *runtime_conf_get(const struct conf_ref *r);
void runtime_conf_release(struct conf_ref *r);
/* Configurations not yet freed: the current one plus older ones still held
 * by messages (logged at stop; 0 after runtime_clear_conf with no message). */
unsigned runtime_conf_live(void);

/* Count a new message in; false (not counted) once stopping. */
bool runtime_flight_enter(void);
void runtime_flight_leave(void);
/* From now on runtime_flight_enter() refuses new messages. */
void runtime_begin_stop(void);
/* Wait until no message is in flight, at most timeout_sec seconds; true when
 * idle. */
bool runtime_wait_idle(unsigned timeout_sec);
unsigned runtime_in_flight(void);

#endif
