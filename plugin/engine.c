/*
 * engine.c -- one message in, an edit list and a report out.  See engine.h.
 *
 * One pass: every byte fed goes to the spool and to the MIME scanner; the
 * scanner hands the body bytes of each leaf text part to that part's
 * analyser as they stream by.  At the end only the planner runs, on the
 * finished tree and analyses; it re-reads the spool only for header fields it
 * rewrites and for large multi-byte parts whose decodability the sample
 * cannot settle.
 */
#include "config.h"

#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "engine.h"
#include "spool.h"
#include "mime.h"
#include "analyze.h"
#include "rules.h"
#include "memory.h"
#include "tnef.h"

struct engine {
	const struct conf *conf;
	char *client_addr, *client_name, *helo, *env_sender;
	bool smtputf8;
	bool explain;
	struct spool *spool;
	struct mime_scanner *scanner;
	const struct mime_message *msg;
	struct text_analysis **analysis;	/* indexed by part */
	size_t nanalysis;
	/* TNEF: the first application/ms-tnef or winmail.dat part of the message
	 * itself (not of an attached message) is read for the sender's code page */
	struct tnef_reader *tnef;
	struct cte_decoder tnef_dec;
	int tnef_part;			/* -1 until one is found */
	size_t fed;
	bool too_big, finished, failed;
	struct charset_conv *cv;
	struct edit_list edits;
	struct report report;
	char error[256];
	/* sender memory: keys of this message's source and what they said */
	enum engine_memory memory_use;
	struct memory *memory;
	struct memory_keys mkeys;
	struct memory_fetch *fetch;	/* begun by engine_prefetch_memory, or NULL */
	struct memory_keys fetch_keys;	/* the keys it was begun with */
	struct memory_prior mpriors[MEMORY_PRIORS];
	struct detect_prior dpriors[MEMORY_PRIORS];
	size_t npriors;
};

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static bool part_wants_analysis(const struct engine *e, const struct mime_part *p)
{
	return e->conf->mode != MODE_OFF && p->is_leaf && strcmp(p->type, "text") == 0;
}

/* Room for analysis[0..n): the planner indexes it by part. */
static void analysis_reserve(struct engine *e, size_t n)
{
	size_t cap = e->nanalysis ? e->nanalysis : 8;

	if (n <= e->nanalysis)
		return;
	while (cap < n)
		cap *= 2;
	e->analysis = xreallocarray(e->analysis, cap, sizeof(*e->analysis));
	memset(e->analysis + e->nanalysis, 0, (cap - e->nanalysis) * sizeof(*e->analysis));
	e->nanalysis = cap;
}

static struct text_analysis *analysis_for(struct engine *e, const struct mime_message *m, unsigned part)
{
	const struct mime_part *p = &m->parts[part];

	analysis_reserve(e, (size_t)part + 1);
	if (e->analysis[part] == NULL && part_wants_analysis(e, p)) {
		e->analysis[part] = xmalloc(sizeof(struct text_analysis));
		text_analysis_init(e->analysis[part], p->cte, strcmp(p->subtype, "html") == 0);
	}
	return e->analysis[part];
}

/* A winmail.dat sent as application/octet-stream counts as TNEF too. */
static bool part_is_tnef(const struct mime_message *m, const struct mime_part *p)
{
	static const char *const names[] = { "winmail.dat", "win.dat" };
	const struct mparam *fn;
	int up;

	if (!p->is_leaf || strcmp(p->type, "application") != 0)
		return false;
	for (up = p->parent; up >= 0; up = m->parts[up].parent)
		if (m->parts[up].is_message)
			return false;	/* an attached message's TNEF speaks for that message */
	if (strcmp(p->subtype, "ms-tnef") == 0 || strcmp(p->subtype, "vnd.ms-tnef") == 0)
		return true;
	if (strcmp(p->subtype, "octet-stream") != 0)
		return false;
	if ((fn = mparams_get(&p->cd, "filename")) == NULL)
		fn = mparams_get(&p->ct, "name");
	for (size_t i = 0; fn != NULL && i < ARRAY_LEN(names); i++)
		if (fn->value_len == strlen(names[i]) && ascii_strncasecmp(fn->value, names[i], fn->value_len) == 0)
			return true;
	return false;
}

static void tnef_sink(void *arg, const char *data, size_t len)
{
	tnef_reader_feed(arg, data, len);
}

/* The TNEF reader for this part, started at its first byte (or its end). */
static struct tnef_reader *tnef_for(struct engine *e, const struct mime_message *m, unsigned part)
{
	if (e->tnef_part == (int)part)
		return e->tnef;
	if (e->tnef != NULL || !e->conf->tnef_evidence || e->conf->mode == MODE_OFF ||
	    !part_is_tnef(m, &m->parts[part]))
		return NULL;
	e->tnef = tnef_reader_new(e->conf->tnef_max_bytes);
	e->tnef_part = (int)part;
	cte_decoder_init(&e->tnef_dec, m->parts[part].cte);
	return e->tnef;
}

static void on_body(void *arg, const struct mime_message *m, unsigned part, const char *data, size_t len)
{
	struct engine *e = arg;
	struct text_analysis *ta = analysis_for(e, m, part);
	struct tnef_reader *tr;

	if (ta != NULL)
		text_analysis_feed(ta, data, len);
	else if ((tr = tnef_for(e, m, part)) != NULL)
		cte_decoder_feed(&e->tnef_dec, data, len, tnef_sink, tr);
}

static void on_part_end(void *arg, const struct mime_message *m, unsigned part)
{
	struct engine *e = arg;
	struct text_analysis *ta = analysis_for(e, m, part);
	struct tnef_reader *tr;

	if (ta != NULL) {
		text_analysis_finish(ta);
	} else if ((tr = tnef_for(e, m, part)) != NULL) {
		cte_decoder_finish(&e->tnef_dec, tnef_sink, tr);
		tnef_reader_finish(tr);
	}
}

struct engine *engine_new(const struct conf *conf, const struct engine_source *src)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->conf = conf;
	e->tnef_part = -1;
	if (src != NULL) {
		e->client_addr = dup_or_null(src->client_addr);
		e->client_name = dup_or_null(src->client_name);
		e->helo = dup_or_null(src->helo);
		e->env_sender = dup_or_null(src->env_sender);
		e->smtputf8 = src->smtputf8;
		e->explain = src->explain;
		e->memory_use = src->memory;
	}
	/* An unusable SpoolDir (the offline CLI run by a user, a directory not
	 * created yet) falls back to $TMPDIR rather than failing large messages;
	 * the daemon checks SpoolDir at start and says so. */
	e->spool = spool_new(conf->spool_threshold,
			     conf->spool_dir != NULL && access(conf->spool_dir, W_OK | X_OK) == 0 ?
			     conf->spool_dir : NULL, 0);
	e->scanner = mime_scanner_new(&conf->limits);
	mime_scanner_set_body_callback(e->scanner, on_body, on_part_end, e);
	e->cv = charset_conv_new();
	edit_list_init(&e->edits);
	report_init(&e->report);
	return e;
}

void engine_free(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nanalysis; i++) {
		if (e->analysis[i] != NULL) {
			text_analysis_free(e->analysis[i]);
			free(e->analysis[i]);
		}
	}
	free(e->analysis);
	tnef_reader_free(e->tnef);
	memory_lookup_cancel(e->memory, e->fetch);
	edit_list_free(&e->edits);
	report_free(&e->report);
	charset_conv_free(e->cv);
	mime_scanner_free(e->scanner);
	spool_free(e->spool);
	free(e->client_addr);
	free(e->client_name);
	free(e->helo);
	free(e->env_sender);
	free(e);
}

int engine_feed(struct engine *e, const char *data, size_t len)
{
	size_t max = e->conf->max_message_size;

	if (e->failed)
		return -1;
	if (spool_write(e->spool, data, len) < 0) {
		snprintf(e->error, sizeof(e->error), "spool write: %s", strerror(errno));
		e->failed = true;
		return -1;
	}
	if (!e->too_big && max > 0 && len > max - e->fed)
		e->too_big = true;	/* stop scanning: the message will pass untouched */
	e->fed += len;
	if (!e->too_big)
		mime_scanner_feed(e->scanner, data, len);
	return 0;
}

int engine_borrow_input(struct engine *e, int fd, size_t size)
{
	size_t max = e->conf->max_message_size;

	if (e->fed != 0 || spool_borrow_fd(e->spool, fd) < 0)
		return -1;
	if (max > 0 && size > max)
		e->too_big = true;
	return 0;
}

bool engine_too_big(const struct engine *e)
{
	return e->too_big;
}

int engine_skip(struct engine *e, size_t len)
{
	if (e->failed || !e->too_big)
		return -1;
	if (spool_skip(e->spool, len) < 0) {
		snprintf(e->error, sizeof(e->error), "spool: %s", strerror(errno));
		e->failed = true;
		return -1;
	}
	e->fed += len;
	return 0;
}

/* Header lookup for header-match rules: top-level fields only. */
static const char *top_header(void *arg, const char *name, unsigned nth, size_t *len)
{
	const struct engine *e = arg;
	const struct mime_header *h = mime_part_header(e->msg, 0, name, nth);

	if (h == NULL)
		return NULL;
	*len = h->value_len;
	return h->value;
}

/* The TLD of the sender: envelope sender first, else the From address. */
static void sender_tld(const struct engine *e, char *dst, size_t cap)
{
	const char *addr = e->env_sender, *end, *dot;
	const struct mime_header *from;
	size_t n;

	dst[0] = '\0';
	if ((addr == NULL || strchr(addr, '@') == NULL) && e->msg->nparts > 0 &&
	    (from = mime_part_header(e->msg, 0, "From", 0)) != NULL)
		addr = from->value;
	if (addr == NULL || (addr = strrchr(addr, '@')) == NULL)
		return;
	end = addr + 1;
	while (*end != '\0' && *end != '>' && *end != ' ' && *end != '\r' && *end != '\n' && *end != ')')
		end++;
	for (dot = end; dot > addr && dot[-1] != '.'; dot--)
		;
	if (dot == addr)
		return;
	n = (size_t)(end - dot);
	ascii_lower_copy(dst, cap, dot, n);
}

/* The memory keys of this message's source: the SMTP source, and the From:
 * and X-Mailer:/User-Agent: values (either may be NULL). */
static void memory_keys_of(const struct engine *e, const char *from, size_t from_len, const char *mailer,
			   size_t mailer_len, struct memory_keys *k)
{
	struct memory_source ms;

	memset(&ms, 0, sizeof(ms));
	ms.client_addr = e->client_addr;
	ms.helo = e->helo;
	ms.env_sender = e->env_sender;
	ms.from = from;
	ms.from_len = from_len;
	ms.mailer = mailer;
	ms.mailer_len = mailer_len;
	memory_keys_build(k, e->conf->memory.prefix, &ms);
}

static bool same_keys(const struct memory_keys *a, const struct memory_keys *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->key[i], b->key[i]) != 0)
			return false;
	return true;
}

void engine_prefetch_memory(struct engine *e, const char *from, const char *mailer)
{
	if (e->fetch != NULL || e->memory_use == ENGINE_MEMORY_OFF ||
	    (e->memory = memory_shared(&e->conf->memory, e->conf->spool_dir)) == NULL)
		return;
	memory_keys_of(e, from, from != NULL ? strlen(from) : 0, mailer, mailer != NULL ? strlen(mailer) : 0,
		       &e->fetch_keys);
	e->fetch = memory_lookup_begin(e->memory, &e->fetch_keys);
}

/* The sender memory's priors for this message's source, into e->dpriors:
 * the prefetched answer when its keys are this message's, else a lookup. */
static void memory_read(struct engine *e)
{
	const struct mime_header *from, *mailer;
	size_t n;

	if (e->memory_use == ENGINE_MEMORY_OFF ||
	    (e->memory = memory_shared(&e->conf->memory, e->conf->spool_dir)) == NULL)
		return;
	from = mime_part_header(e->msg, 0, "From", 0);
	if ((mailer = mime_part_header(e->msg, 0, "X-Mailer", 0)) == NULL)
		mailer = mime_part_header(e->msg, 0, "User-Agent", 0);
	memory_keys_of(e, from ? from->value : NULL, from ? from->value_len : 0, mailer ? mailer->value : NULL,
		       mailer ? mailer->value_len : 0, &e->mkeys);
	if (e->fetch != NULL && same_keys(&e->fetch_keys, &e->mkeys)) {
		n = memory_lookup_end(e->memory, e->fetch, &e->conf->memory, &e->mkeys, e->mpriors);
	} else {
		memory_lookup_cancel(e->memory, e->fetch);
		n = memory_lookup(e->memory, &e->conf->memory, &e->mkeys, e->mpriors);
	}
	e->fetch = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct charset_info *cs = charset_lookup(e->mpriors[i].charset);

		if (cs == NULL)
			continue;
		e->dpriors[e->npriors].cs = cs;
		e->dpriors[e->npriors].count = e->mpriors[i].count;
		e->dpriors[e->npriors++].label = e->mpriors[i].label;
	}
}

/* Teach the memory what the text's own statistics found with confidence:
 * never an answer the memory gave (DETECT_MEMORY), so it cannot feed
 * itself; each charset once per message. */
static void memory_teach(struct engine *e)
{
	const char *learned[MEMORY_SLOTS];
	size_t n = 0;

	if (e->memory_use != ENGINE_MEMORY_LEARN || e->memory == NULL)
		return;
	for (size_t i = 0; i < e->report.n && n < MEMORY_SLOTS; i++) {
		const struct report_row *row = &e->report.rows[i];
		bool dup = false;

		if (row->is_header || row->source != DETECT_STATISTICAL || row->chosen == NULL ||
		    row->confidence < MEMORY_LEARN_CONFIDENCE)
			continue;
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(learned[k], row->chosen->mime_name) == 0;
		if (!dup)
			learned[n++] = row->chosen->mime_name;
	}
	memory_learn(e->memory, &e->conf->memory, &e->mkeys, learned, n);
}

/* -x shows, on the TNEF part's own row, what was read from it (or why
 * nothing was).  The part itself is never edited. */
static void report_tnef(struct engine *e)
{
	const struct tnef_evidence *ev;
	const char *id;
	char what[200];

	if (e->tnef == NULL || e->tnef_part < 0 || (unsigned)e->tnef_part >= e->msg->nparts)
		return;
	ev = tnef_reader_evidence(e->tnef);
	id = e->msg->parts[e->tnef_part].id;
	tnef_describe(ev, what, sizeof(what));
	for (size_t i = 0; i < e->report.n; i++) {
		struct report_row *row = &e->report.rows[i];

		if (row->is_header || strcmp(row->id, id) != 0 || row->reason[0] != '\0')
			continue;
		size_t n = (size_t)snprintf(row->reason, sizeof(row->reason), "TNEF: %s",
					    tnef_has_codepage(ev) ? what : "no code page evidence");

		if (ev->note[0] != '\0' && n + 4 < sizeof(row->reason))
			snprintf(row->reason + n, sizeof(row->reason) - n, " (%.*s)",
				 (int)(sizeof(row->reason) - n - 4), ev->note);
	}
}

int engine_finish(struct engine *e)
{
	struct rule_subject subj;
	struct rule_match match;
	struct repair_input in;
	char tld[16];

	if (e->finished)
		return e->failed ? -1 : 0;
	e->finished = true;
	if (e->failed)
		return -1;
	/* closes every open part: part_end (on_part_end) finishes each leaf's analysis */
	e->msg = mime_scanner_finish(e->scanner);
	analysis_reserve(e, e->msg->nparts);
	if (e->conf->mode == MODE_OFF) {
		report_untouched(e->msg, &e->report, "Mode off: passed untouched");
		return 0;
	}
	if (e->too_big) {
		char why[128];

		snprintf(why, sizeof(why), "message larger than MaxMessageSize (%zu bytes): passed untouched",
			 e->conf->max_message_size);
		report_untouched(e->msg, &e->report, why);
		return 0;
	}
	memset(&subj, 0, sizeof(subj));
	subj.client_addr = e->client_addr;
	subj.client_name = e->client_name;
	subj.helo = e->helo;
	subj.env_sender = e->env_sender;
	subj.header = top_header;
	subj.header_arg = e;
	sender_tld(e, tld, sizeof(tld));
	memset(&in, 0, sizeof(in));
	in.conf = e->conf;
	in.msg = e->msg;
	in.analysis = e->analysis;
	in.spool = e->spool;
	in.cv = e->cv;
	in.rule = (e->conf->rules != NULL && rule_set_match(e->conf->rules, &subj, &match)) ? &match : NULL;
	in.sender_tld = tld[0] ? tld : NULL;
	in.smtputf8 = e->smtputf8;
	in.explain = e->explain;
	memory_read(e);
	in.priors = e->dpriors;
	in.n_priors = e->npriors;
	in.tnef = e->tnef != NULL ? tnef_reader_evidence(e->tnef) : NULL;
	if (repair_plan(&in, &e->edits, &e->report) < 0) {
		snprintf(e->error, sizeof(e->error), "spool read failed while planning: %s", strerror(errno));
		e->failed = true;
		edit_list_free(&e->edits);
		return -1;
	}
	memory_teach(e);
	report_tnef(e);
	return 0;
}

const struct edit_list *engine_edits(const struct engine *e)
{
	return &e->edits;
}

const struct report *engine_report(const struct engine *e)
{
	return &e->report;
}

const struct mime_message *engine_message(const struct engine *e)
{
	return e->msg;
}

size_t engine_body_offset(const struct engine *e)
{
	if (e->msg == NULL || e->msg->nparts == 0)
		return e->fed;
	return e->msg->parts[0].body_start;
}

bool engine_body_changed(const struct engine *e)
{
	return edit_list_touches_body(&e->edits, engine_body_offset(e));
}

size_t engine_size(const struct engine *e)
{
	return e->fed;
}

int engine_write(struct engine *e, size_t from, output_sink_fn sink, void *arg)
{
	size_t size = spool_size(e->spool);

	if (from > size)
		from = size;
	if (output_write(e->spool, &e->edits, from, size, e->cv, sink, arg) < 0) {
		snprintf(e->error, sizeof(e->error), "writing the repaired message failed");
		return -1;
	}
	return 0;
}

const char *engine_error(const struct engine *e)
{
	return e->error[0] ? e->error : "no error";
}
