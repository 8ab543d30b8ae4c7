/*
 * output.h -- apply an edit list to the spooled original, streaming.
 *
 * Writes the bytes of [from, to) of the original with every edit inside that
 * range applied, to a sink, in chunks of at most OUTPUT_CHUNK bytes (the
 * milter's smfi_replacebody limit is 64 KiB).  Untouched ranges are copied
 * straight from the spool (no re-encoding); EDIT_TRANSCODE ranges are decoded,
 * converted and re-encoded on the fly in bounded memory.  Quoted-printable
 * output keeps lines <= 76 characters; base64 output uses 76-character lines.
 */
#ifndef CPM_OUTPUT_H
#define CPM_OUTPUT_H

#include <stddef.h>
#include "spool.h"
#include "edit.h"
#include "charset.h"

#define OUTPUT_CHUNK	(64 * 1024 - 1)

typedef int (*output_sink_fn)(void *arg, const char *data, size_t len);

/* Returns 0, or -1 when the sink or the spool failed or a transcode hit bytes
 * that do not decode (which the planner rules out; treated as internal error). */
int output_write(struct spool *sp, const struct edit_list *el, size_t from, size_t to,
		 struct charset_conv *cv, output_sink_fn sink, void *arg);

#endif
