/*
 * engine.h -- one message in, an edit list and a report out: the core both front ends share.
 *
 * Life of a message:
 *   e = engine_new(conf, &source);
 *   engine_feed(e, bytes, n) ...       whole message: header block, blank line, body
 *   engine_finish(e);                  scan ends, planner runs
 *   engine_edits(e), engine_report(e)  what to change and why
 *   engine_write(e, from, sink, arg)   the repaired bytes from offset `from` on
 *   engine_free(e);
 *
 * Feeding stores the bytes in a spool (memory, then an unlinked temp file past
 * conf->spool_threshold) while the MIME scanner and the text analysers run on
 * the same pass.  engine_finish() never fails on hostile input: limits and
 * anomalies make the planner leave the affected parts (or the whole message)
 * untouched and say why in the report.  It returns -1 only on internal errors
 * (spool I/O), with engine_error() saying what; the caller then applies its
 * OnError policy and the message passes unmodified or is tempfailed.
 *
 * The engine knows nothing of libmilter and keeps no global state.
 */
#ifndef CPM_ENGINE_H
#define CPM_ENGINE_H

#include <stddef.h>
#include <stdbool.h>
#include "conf.h"
#include "repair.h"
#include "output.h"

/* Sender memory (memory.h) for this message: the milter reads and learns;
 * the offline CLI reads only when asked (-m), never learns. */
enum engine_memory { ENGINE_MEMORY_OFF, ENGINE_MEMORY_READ, ENGINE_MEMORY_LEARN };

struct engine_source {
	const char *client_addr;	/* NULL when unknown (offline) */
	const char *client_name;
	const char *helo;
	const char *env_sender;
	bool body_8bitmime;		/* ESMTP BODY=8BITMIME */
	bool smtputf8;			/* ESMTP SMTPUTF8 */
	enum engine_memory memory;	/* ENGINE_MEMORY_OFF unless set */
	bool explain;			/* the report will be shown (-x): every
					 * reason in full, also voices the
					 * answer did not need */
};

struct engine;

/* conf must outlive the engine.  src strings are copied. */
struct engine *engine_new(const struct conf *conf, const struct engine_source *src);
void engine_free(struct engine *e);
/* 0, or -1 on spool I/O error (engine_error says why).  Past
 * conf->max_message_size the message is marked too big: further bytes are
 * spooled (bounded memory: the spool spills to a file) but not scanned, and
 * the planner passes the message untouched.  A front end that does not need
 * the bytes back (the milter) may simply stop feeding once
 * engine_size() > max_message_size and accept the message. */
int engine_feed(struct engine *e, const char *data, size_t len);
/*
 * Optional, before the first engine_feed (the offline CLI on a message
 * file): the message is the whole of fd, a regular file of size bytes that
 * the caller then feeds from offset 0 and leaves alone until engine_free.
 * The spool reads it back from fd instead of keeping a copy, and a message
 * over max_message_size is known too big at once: nothing of it is scanned,
 * so a caller that only needs the message written back may skip feeding
 * (engine_skip).  0, or -1 when bytes were fed already.
 */
int engine_borrow_input(struct engine *e, int fd, size_t size);
/* True once the message is known too big (see engine_feed). */
bool engine_too_big(const struct engine *e);
/* After engine_borrow_input on a message known too big: len more bytes of
 * the file, counted as fed without being read. */
int engine_skip(struct engine *e, size_t len);
/*
 * Optional, once the top-level header is known (the milter's end of
 * header): start the sender memory's lookup for this source now, with the
 * first From: and X-Mailer: (or User-Agent:) values (NULL when absent), so
 * that a remote store answers while the body arrives.  engine_finish() uses
 * the answer when the keys it builds from the message are the same, else
 * looks up again; an unused answer is dropped by engine_free().
 */
void engine_prefetch_memory(struct engine *e, const char *from, const char *mailer);
int engine_finish(struct engine *e);
const struct edit_list *engine_edits(const struct engine *e);
const struct report *engine_report(const struct engine *e);
const struct mime_message *engine_message(const struct engine *e);
/* Offset of the top-level body (just after the blank line). */
size_t engine_body_offset(const struct engine *e);
bool engine_body_changed(const struct engine *e);
size_t engine_size(const struct engine *e);
/* Write [from, end) of the repaired message to sink. */
int engine_write(struct engine *e, size_t from, output_sink_fn sink, void *arg);
const char *engine_error(const struct engine *e);

#endif
