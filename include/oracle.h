/*
 * oracle.h -- the decodability oracle: "does this whole text decode under
 * charset X?", for one text part or for the bytes of one header.
 *
 * The detection cascade (detect.h) and the planner never act on a charset
 * the oracle rejects.  Answers come from the cheapest source that is exact:
 *   - single-byte charsets: the part's byte histogram (analyze.h);
 *   - utf-8 on a part: the streamed UTF-8 check;
 *   - header bytes, or a part whose sample holds all of it: iconv on those bytes;
 *   - otherwise the part is decoded again from the spool (multi-byte charsets
 *     on parts larger than the analysis sample), in 64 KiB chunks.
 * Up to 8 answers are cached per oracle (the cascade asks the same charsets
 * repeatedly).  A spool read failure answers false and sets *error, which
 * the caller treats as an internal error for the whole message.
 */
#ifndef CPM_ORACLE_H
#define CPM_ORACLE_H

#include <stddef.h>
#include <stdbool.h>
#include "analyze.h"
#include "charset.h"
#include "mime.h"
#include "spool.h"

struct decode_oracle {
	const struct text_analysis *ta;
	const struct mime_part *part;	/* re-read from the spool when needed; NULL for bytes */
	struct spool *spool;
	const char *bytes;		/* header text instead of a part, or NULL */
	size_t len;
	struct charset_conv *cv;
	int *error;			/* set to 1 when the spool cannot be read */
	const struct charset_info *seen[8];
	bool answer[8];
	unsigned nseen;
};

/* An oracle for text part p, whose streamed analysis is ta. */
void oracle_init_part(struct decode_oracle *o, const struct text_analysis *ta, const struct mime_part *p,
		      struct spool *sp, struct charset_conv *cv, int *error);
/* An oracle for bytes[0..len) (header text), whose analysis is ta. */
void oracle_init_bytes(struct decode_oracle *o, const struct text_analysis *ta, const char *bytes,
		       size_t len, struct charset_conv *cv);
/* A detect_decodes_fn: arg is a struct decode_oracle. */
bool oracle_decodes(void *arg, const struct charset_info *cs);
/* A charset_name_decodes_fn: does the whole text decode under glibc's
 * converter of exactly `name` (not the registry's)?  Not cached. */
bool oracle_name_decodes(void *arg, const char *name);
/* The label written for text that decodes under cs: shift_jis/euc-kr/gb2312
 * only when glibc decodes it under that very name, else
 * windows-31j/cp949/gbk (charset_label_for). */
const struct charset_info *oracle_label_to_write(struct decode_oracle *o, const struct charset_info *cs);

#endif
