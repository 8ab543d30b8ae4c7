/*
 * report.c -- the report model and its text forms.  See report.h.
 *
 * Everything written here may end up in a header or a log line, so every
 * string that came from the message goes through report_sanitize (printable
 * ASCII only) and header values are folded below 78 columns.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "mimeparam.h"
#include "report.h"

static const char *const verdict_names[] = {
	[VERDICT_OK] = "ok",
	[VERDICT_ASCII] = "ascii",
	[VERDICT_MISSING] = "missing",
	[VERDICT_UNKNOWN_LABEL] = "unknown-label",
	[VERDICT_ASCII_WITH_8BIT] = "ascii-with-8bit",
	[VERDICT_LATIN1_WITH_C1] = "latin1-with-c1",
	[VERDICT_INVALID_UTF8] = "invalid-utf8",
	[VERDICT_UNDECODABLE] = "undecodable",
	[VERDICT_LEGACY_7BIT] = "legacy-7bit",
	[VERDICT_RAW_8BIT_HEADER] = "raw-8bit-header",
	[VERDICT_NONSTANDARD_LABEL] = "nonstandard-label",
	[VERDICT_WRONG_LABEL] = "wrong-label",
	[VERDICT_MIXED] = "mixed",
	[VERDICT_NOT_TEXT] = "not-text",
	[VERDICT_SKIPPED] = "skipped",
};

const char *verdict_name(enum verdict v)
{
	if ((size_t)v < ARRAY_LEN(verdict_names) && verdict_names[v] != NULL)
		return verdict_names[v];
	return "?";
}

static const struct { unsigned bit; const char *name; } action_names[] = {
	{ ACT_LABEL, "label" },
	{ ACT_RELABEL, "relabel" },
	{ ACT_TRANSCODE, "transcode" },
	{ ACT_ENCODE_HDR, "encode-header" },
	{ ACT_ENCODE_PARAM, "encode-param" },
	{ ACT_CTE, "cte" },
	{ ACT_MIMEVER, "mime-version" },
	{ ACT_CT_ADDED, "content-type-added" },
	{ ACT_CANNOT, "cannot-repair" },
	{ ACT_REPORT, "report-only" },
};

void actions_name(unsigned actions, char *dst, size_t cap)
{
	size_t i, len = 0;

	if (cap == 0)
		return;
	dst[0] = '\0';
	for (i = 0; i < ARRAY_LEN(action_names); i++) {
		size_t n;

		if (!(actions & action_names[i].bit))
			continue;
		n = strlen(action_names[i].name);
		if (len + n + 2 > cap)
			break;
		if (len > 0)
			dst[len++] = '+';
		memcpy(dst + len, action_names[i].name, n + 1);
		len += n;
	}
	if (len == 0 && cap > 4)
		memcpy(dst, "none", 5);
}

void report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
}

void report_free(struct report *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

struct report_row *report_add(struct report *r)
{
	struct report_row *row;

	r->rows = array_grow_zeroed(r->rows, r->n, &r->cap, 8, sizeof(*r->rows));
	row = &r->rows[r->n++];
	return row;
}

/* The one rule for text from strangers: printable ASCII stays, anything
 * else (controls, CR/LF, 8-bit) becomes '?'. */
static char printable(char c)
{
	return ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f) ? c : '?';
}

void report_sanitize(const char *s, size_t len, struct buf *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf_putc(out, printable(s[i])) < 0)
			return;
}

void report_copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < cap; i++)
		dst[i] = printable(src[i]);
	dst[i] = '\0';
}

void report_untouched(const struct mime_message *m, struct report *rep, const char *why)
{
	unsigned i;

	rep->passed_untouched = true;
	rep->message_anomalies = m->anomalies;
	str_copy(rep->note, sizeof(rep->note), why);
	for (i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];
		const struct mparam *cp = mparams_get(&p->ct, "charset");
		struct report_row *row = report_add(rep);

		str_copy(row->id, sizeof(row->id), p->id);
		snprintf(row->content_type, sizeof(row->content_type), "%s/%s", p->type, p->subtype);
		if (cp != NULL)
			report_copy_printable(row->declared, sizeof(row->declared), cp->value, cp->value_len);
		if (p->is_leaf && strcmp(p->type, "text") == 0) {
			row->verdict = VERDICT_SKIPPED;
			str_copy(row->reason, sizeof(row->reason), why);
		} else {
			row->verdict = VERDICT_NOT_TEXT;
		}
	}
}

static void put_cell(struct buf *out, const char *s, size_t width)
{
	size_t n = strlen(s);
	struct buf clean;

	buf_init(&clean, 512);
	report_sanitize(s, n > width ? width : n, &clean);
	buf_append(out, clean.data ? clean.data : "", clean.len);
	for (n = clean.len; n < width + 2; n++)
		buf_putc(out, ' ');
	buf_free(&clean);
}

void report_format_table(const struct report *r, struct buf *out)
{
	size_t i;
	char conf[8], acts[128];
	struct buf clean;

	buf_printf(out, "%-8s  %-28s  %-16s  %-17s  %-14s  %4s  %-34s  %s\n",
		   "part", "type/header", "declared", "verdict", "chosen", "conf", "action", "reason");
	for (i = 0; i < r->n; i++) {
		const struct report_row *row = &r->rows[i];

		put_cell(out, row->id, strlen(row->id) > 8 ? strlen(row->id) : 8);	/* never cut an id */
		put_cell(out, row->content_type, 28);
		put_cell(out, row->declared[0] ? row->declared : "-", 16);
		put_cell(out, verdict_name(row->verdict), 17);
		put_cell(out, row->chosen ? row->chosen->mime_name : "-", 14);
		if (row->chosen != NULL)
			snprintf(conf, sizeof(conf), "%4d", row->confidence);
		else
			snprintf(conf, sizeof(conf), "%4s", "-");
		put_cell(out, conf, 4);
		actions_name(row->actions, acts, sizeof(acts));
		put_cell(out, acts, 34);
		buf_init(&clean, 512);
		report_sanitize(row->reason, strlen(row->reason), &clean);
		buf_printf(out, "%s\n", buf_cstr(&clean));
		buf_free(&clean);
	}
	if (r->note[0] != '\0') {
		buf_init(&clean, 512);
		report_sanitize(r->note, strlen(r->note), &clean);
		buf_printf(out, "note: %s\n", buf_cstr(&clean));
		buf_free(&clean);
	}
}

static bool row_is_finding(const struct report_row *row)
{
	return row->verdict != VERDICT_OK && row->verdict != VERDICT_ASCII &&
	    row->verdict != VERDICT_NOT_TEXT && row->verdict != VERDICT_SKIPPED;
}

void report_format_audit(const struct report *r, const char *eol, struct buf *out)
{
	size_t i, col = 1, items = 0;
	char acts[128];

	for (i = 0; i < r->n && out->len < 900; i++) {
		const struct report_row *row = &r->rows[i];
		struct buf item;

		if (!row_is_finding(row))
			continue;
		buf_init(&item, 512);
		actions_name(row->actions, acts, sizeof(acts));
		report_sanitize(row->id, strlen(row->id), &item);
		if (row->is_header) {
			buf_putc(&item, ' ');
			report_sanitize(row->content_type, strlen(row->content_type), &item);
		}
		buf_printf(&item, " %s %s %s", verdict_name(row->verdict),
			   row->chosen ? row->chosen->mime_name : "none", acts);
		if (row->source == DETECT_MEMORY) {
			/* "(sender memory: example.ru 412x koi8-r)" says why */
			buf_puts(&item, " (");
			report_sanitize(row->reason, strlen(row->reason), &item);
			buf_putc(&item, ')');
		}
		for (size_t k = 0; k < item.len; k++)
			if (item.data[k] == ' ' && k + 1 < item.len && item.data[k + 1] == ' ')
				item.data[k] = '_';
		if (items > 0) {
			buf_putc(out, ';');
			col++;
		}
		if (col + item.len + 1 > 76) {
			buf_printf(out, "%s\t", eol);
			col = 8;
		} else {
			buf_putc(out, ' ');
			col++;
		}
		buf_append(out, item.data, item.len);
		col += item.len;
		items++;
		buf_free(&item);
	}
	if (items == 0)
		buf_puts(out, " checked");
}

void report_format_summary(const struct report *r, struct buf *out)
{
	size_t i, parts = 0, repaired = 0, cannot = 0, by_memory = 0;
	unsigned all = 0;
	char acts[160];
	struct buf charsets;

	buf_init(&charsets, 512);
	for (i = 0; i < r->n; i++) {
		const struct report_row *row = &r->rows[i];

		if (!row->is_header)
			parts++;
		if (!row_is_finding(row))
			continue;
		if (row->actions & ACT_CANNOT)
			cannot++;
		else
			repaired++;
		all |= row->actions;
		if (row->source == DETECT_MEMORY)
			by_memory++;
		if (row->chosen != NULL && !strstr(buf_cstr(&charsets), row->chosen->mime_name)) {
			if (charsets.len > 0)
				buf_putc(&charsets, ',');
			buf_puts(&charsets, row->chosen->mime_name);
		}
	}
	actions_name(all, acts, sizeof(acts));
	buf_printf(out, "parts=%zu findings=%zu repaired=%zu cannot=%zu charsets=%s actions=%s",
		   parts, repaired + cannot, repaired, cannot, charsets.len ? buf_cstr(&charsets) : "-", acts);
	if (by_memory > 0)	/* what the sender memory decided is worth a grep */
		buf_printf(out, " memory=%zu", by_memory);
	if (r->note[0] != '\0') {
		buf_puts(out, " note=\"");
		report_sanitize(r->note, strlen(r->note), out);
		buf_putc(out, '"');
	}
	buf_free(&charsets);
}
