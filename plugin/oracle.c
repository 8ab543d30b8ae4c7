/*
 * oracle.c -- does a whole text decode under a charset?  See oracle.h.
 */
#include "config.h"

#include <string.h>

#include "util.h"
#include "oracle.h"

void oracle_init_part(struct decode_oracle *o, const struct text_analysis *ta, const struct mime_part *p,
		      struct spool *sp, struct charset_conv *cv, int *error)
{
	memset(o, 0, sizeof(*o));
	o->ta = ta;
	o->part = p;
	o->spool = sp;
	o->cv = cv;
	o->error = error;
}

void oracle_init_bytes(struct decode_oracle *o, const struct text_analysis *ta, const char *bytes,
		       size_t len, struct charset_conv *cv)
{
	memset(o, 0, sizeof(*o));
	o->ta = ta;
	o->bytes = bytes;
	o->len = len;
	o->cv = cv;
}

struct reread {
	struct charset_stream *cs;
	int failed;
};

static void reread_sink(void *arg, const char *data, size_t len)
{
	struct reread *rr = arg;

	if (!rr->failed && charset_stream_feed(rr->cs, data, len) < 0)
		rr->failed = 1;
}

/* Decode the whole part again from the spool through st (which this ends):
 * only for multi-byte charsets on parts larger than the analysis sample. */
static bool part_stream_decodes(struct decode_oracle *o, struct charset_stream *st)
{
	const struct mime_part *p = o->part;
	struct cte_decoder dec;
	struct reread rr = { NULL, 0 };
	char chunk[64 * 1024];
	size_t off = p->body_start, bad;

	rr.cs = st;
	if (rr.cs == NULL)
		return false;
	cte_decoder_init(&dec, p->cte);
	while (off < p->body_end && !rr.failed) {
		size_t want = p->body_end - off < sizeof(chunk) ? p->body_end - off : sizeof(chunk);
		ssize_t got = spool_read(o->spool, off, chunk, want);

		if (got <= 0) {
			*o->error = 1;
			rr.failed = 1;
			break;
		}
		cte_decoder_feed(&dec, chunk, (size_t)got, reread_sink, &rr);
		off += (size_t)got;
	}
	if (!rr.failed)
		cte_decoder_finish(&dec, reread_sink, &rr);
	return charset_stream_end(rr.cs, &bad) == 0 && !rr.failed;
}

static bool part_decodes_fully(struct decode_oracle *o, const struct charset_info *cs)
{
	return part_stream_decodes(o, charset_stream_begin(o->cv, cs, NULL, NULL));
}

bool oracle_name_decodes(void *arg, const char *name)
{
	struct decode_oracle *o = arg;
	const struct text_analysis *ta = o->ta;

	if (o->bytes != NULL)
		return charset_name_decodes(o->cv, name, o->bytes, o->len, NULL);
	if (ta->sample_complete)
		return charset_name_decodes(o->cv, name, (const char *)ta->sample, ta->sample_len, NULL);
	return part_stream_decodes(o, charset_stream_begin_name(o->cv, name, NULL, NULL));
}

const struct charset_info *oracle_label_to_write(struct decode_oracle *o, const struct charset_info *cs)
{
	return charset_label_for(cs, oracle_name_decodes, o);
}

bool oracle_decodes(void *arg, const struct charset_info *cs)
{
	struct decode_oracle *o = arg;
	const struct text_analysis *ta = o->ta;
	bool ok;
	size_t bad;
	unsigned i;

	if (cs == NULL)
		return false;
	for (i = 0; i < o->nseen; i++)
		if (o->seen[i] == cs)
			return o->answer[i];
	if (cs->props & CSP_SINGLE_BYTE)
		ok = text_analysis_sbcs_decodes(ta, cs);
	else if (strcmp(cs->mime_name, "utf-8") == 0 && o->bytes == NULL)
		ok = text_analysis_utf8_ok(ta);
	else if (o->bytes != NULL)
		ok = charset_decodes(o->cv, cs, o->bytes, o->len, &bad);
	else if (ta->sample_complete)
		ok = charset_decodes(o->cv, cs, (const char *)ta->sample, ta->sample_len, &bad);
	else
		ok = part_decodes_fully(o, cs);
	if (o->nseen < ARRAY_LEN(o->seen)) {
		o->seen[o->nseen] = cs;
		o->answer[o->nseen++] = ok;
	}
	return ok;
}
