/*
 * check_mime.c -- unit tests for the streaming MIME scanner (mime.h).
 *
 * Every message is scanned several times: fed whole, byte by byte, and in
 * random chunk sizes (fixed seeds).  The complete trees (every field of every
 * part and header, plus the bytes each leaf's body callback saw) are dumped
 * to text and must be identical: chunking invariance first.  Each run also
 * checks that the body callback bytes of a leaf are exactly the fed bytes
 * [body_start, body_end) and that part_end fires once per leaf.  Expected
 * offsets are located in the message text itself (marker search), never
 * copied from the scanner's output.
 */
#include "config.h"

#include <check.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "mime.h"

/* ---- harness ------------------------------------------------------------------------ */

struct leaf_seen {
	char *data;
	size_t len, cap;
	unsigned ends;
	bool after_end;		/* body bytes arrived after part_end */
};

struct run {
	struct leaf_seen *leaf;
	unsigned nleaf;
	const char *msg;
	size_t msglen;
	bool bad_order;
};

static void on_body(void *arg, const struct mime_message *m, unsigned part, const char *data, size_t len)
{
	struct run *r = arg;
	struct leaf_seen *ls;

	if (part >= m->nparts || !m->parts[part].is_leaf) {
		r->bad_order = true;
		return;
	}
	if (part >= r->nleaf) {
		unsigned n = part + 16;

		r->leaf = xreallocarray(r->leaf, n, sizeof(*r->leaf));
		memset(r->leaf + r->nleaf, 0, (n - r->nleaf) * sizeof(*r->leaf));
		r->nleaf = n;
	}
	ls = &r->leaf[part];
	if (ls->ends > 0)
		ls->after_end = true;
	if (ls->len + len > ls->cap) {
		ls->cap = (ls->len + len) * 2 + 64;
		ls->data = xrealloc(ls->data, ls->cap);
	}
	memcpy(ls->data + ls->len, data, len);
	ls->len += len;
}

static void on_end(void *arg, const struct mime_message *m, unsigned part)
{
	struct run *r = arg;

	if (part >= m->nparts || !m->parts[part].is_leaf) {
		r->bad_order = true;
		return;
	}
	if (part >= r->nleaf) {
		unsigned n = part + 16;

		r->leaf = xreallocarray(r->leaf, n, sizeof(*r->leaf));
		memset(r->leaf + r->nleaf, 0, (n - r->nleaf) * sizeof(*r->leaf));
		r->nleaf = n;
	}
	r->leaf[part].ends++;
}

static void run_free(struct run *r)
{
	unsigned i;

	for (i = 0; i < r->nleaf; i++)
		free(r->leaf[i].data);
	free(r->leaf);
	memset(r, 0, sizeof(*r));
}

static void dump_bytes(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf_putc(b, c);
		else
			buf_printf(b, "\\x%02x", c);
	}
}

static void dump_params(struct buf *b, const char *what, const struct mparams *mp)
{
	size_t i;

	buf_printf(b, " %s=[%s/%s e=%x n=%zu", what, mp->type, mp->subtype, mp->errors, mp->nparam);
	for (i = 0; i < mp->nparam; i++) {
		buf_printf(b, " %s=", mp->param[i].name);
		dump_bytes(b, mp->param[i].value, mp->param[i].value_len);
	}
	buf_puts(b, "]");
}

/* Everything the scanner reports, as text. */
static void dump_tree(struct buf *b, const struct mime_message *m, const struct run *r)
{
	unsigned i;

	buf_printf(b, "msg nparts=%u nheaders=%u anom=%x size=%zu crlf=%d\n", m->nparts, m->nheaders,
		   m->anomalies, m->size, m->eol_crlf);
	for (i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];

		buf_printf(b, "part %u id=%s parent=%d depth=%u nch=%u hdr=%zu-%zu body=%zu-%zu blank=%d "
			   "fh=%u nh=%u ct=%d cte=%d cd=%d mv=%d type=%s/%s valid=%d cte=%d mp=%d msg=%d "
			   "leaf=%d crlf=%d anom=%x maxline=%zu 8bit=%d nul=%d",
			   i, p->id, p->parent, p->depth, p->nchildren, p->hdr_start, p->hdr_end,
			   p->body_start, p->body_end, p->has_blank_line, p->first_header, p->nheaders,
			   p->ct_header, p->cte_header, p->cd_header, p->mimever_header, p->type, p->subtype,
			   p->ct_valid, (int)p->cte, p->is_multipart, p->is_message, p->is_leaf, p->eol_crlf,
			   p->anomalies, p->max_line_len, p->body_has_8bit, p->body_has_nul);
		dump_params(b, "ct", &p->ct);
		dump_params(b, "cd", &p->cd);
		if (r != NULL && i < r->nleaf) {
			buf_printf(b, " seen=%zu ends=%u body=", r->leaf[i].len, r->leaf[i].ends);
			dump_bytes(b, r->leaf[i].data, r->leaf[i].len > 4096 ? 4096 : r->leaf[i].len);
		}
		buf_putc(b, '\n');
	}
	for (i = 0; i < m->nheaders; i++) {
		const struct mime_header *h = &m->headers[i];

		buf_printf(b, "hdr %u %zu:%zu:%zu eol=%zu part=%u 8bit=%d trunc=%d name=%s len=%zu v=", i,
			   h->start, h->colon, h->end, h->eol_len, h->part, h->has_8bit, h->truncated,
			   h->name, h->value_len);
		dump_bytes(b, h->value, h->value_len > 4096 ? 4096 : h->value_len);
		buf_putc(b, '\n');
	}
}

/* Structural checks that hold for any message. */
static void check_invariants(const struct mime_message *m, const struct run *r)
{
	unsigned i;

	ck_assert(!r->bad_order);
	ck_assert_uint_ge(m->nparts, 1);
	for (i = 0; i < m->nparts; i++) {
		const struct mime_part *p = &m->parts[i];
		const struct leaf_seen *ls = i < r->nleaf ? &r->leaf[i] : NULL;
		size_t blen = p->body_end - p->body_start;

		ck_assert_uint_le(p->hdr_start, p->hdr_end);
		ck_assert_uint_le(p->hdr_end, p->body_start);
		ck_assert_uint_le(p->body_start, p->body_end);
		ck_assert_uint_le(p->body_end, r->msglen);
		ck_assert_int_eq(p->is_leaf + p->is_multipart + p->is_message, 1);
		if (p->parent >= 0) {
			const struct mime_part *pp = &m->parts[p->parent];

			ck_assert(!pp->is_leaf);
			ck_assert_uint_eq(p->depth, pp->depth + 1);
			ck_assert_uint_ge(p->hdr_start, pp->body_start);
			ck_assert_uint_le(p->body_end, pp->body_end);
		}
		if (!p->is_leaf) {
			ck_assert(ls == NULL || (ls->len == 0 && ls->ends == 0));
			continue;
		}
		ck_assert_msg(ls != NULL && ls->ends == 1, "part %u: part_end count", i);
		ck_assert(!ls->after_end);
		ck_assert_msg(ls->len == blen, "part %u: callback saw %zu bytes, body is %zu", i, ls->len, blen);
		ck_assert_msg(blen == 0 || memcmp(ls->data, r->msg + p->body_start, blen) == 0,
			      "part %u: callback bytes differ from the message", i);
	}
	for (i = 0; i < m->nheaders; i++) {
		const struct mime_header *h = &m->headers[i];

		ck_assert_uint_lt(h->part, m->nparts);
		ck_assert_uint_le(h->start, h->colon);
		ck_assert_uint_lt(h->colon, h->end);
		ck_assert_uint_le(h->end, r->msglen);
		ck_assert(r->msg[h->colon] == ':');
		ck_assert(h->value != NULL && h->value[h->value_len] == '\0');
		if (!h->truncated) {
			/* the value copy is exactly the bytes after the colon, final EOL excluded */
			ck_assert_uint_eq(h->value_len, h->end - h->eol_len - h->colon - 1);
			ck_assert(memcmp(h->value, r->msg + h->colon + 1, h->value_len) == 0);
		}
		ck_assert(h->eol_len == 0 || r->msg[h->end - 1] == '\n');
		ck_assert(h->eol_len != 2 || r->msg[h->end - 2] == '\r');
	}
}

enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_RANDOM, FEED_FIXED };

static struct mime_scanner *last_sc;
static struct run last_run;
static struct mime_limits test_limits;
static bool use_limits;

/* Scan msg with one chunking; returns the dump (caller frees) and keeps the
 * scanner of the last run in last_sc. */
static char *scan_once(const char *msg, size_t len, enum feed_mode mode, unsigned seed, size_t fixed)
{
	struct mime_scanner *sc = mime_scanner_new(use_limits ? &test_limits : NULL);
	const struct mime_message *m;
	struct buf b;
	size_t off = 0;
	char *out;

	mime_scanner_free(last_sc);
	run_free(&last_run);
	last_run.msg = msg;
	last_run.msglen = len;
	mime_scanner_set_body_callback(sc, on_body, on_end, &last_run);
	srand(seed);
	while (off < len) {
		size_t n = len - off;

		if (mode == FEED_BYTES)
			n = 1;
		else if (mode == FEED_RANDOM && n > 1)
			n = 1 + (size_t)rand() % (n < 97 ? n : 97);
		else if (mode == FEED_FIXED && n > fixed)
			n = fixed;
		mime_scanner_feed(sc, msg + off, n);
		off += n;
	}
	m = mime_scanner_finish(sc);
	check_invariants(m, &last_run);
	buf_init(&b, (size_t)1 << 30);
	dump_tree(&b, m, &last_run);
	out = buf_steal(&b, NULL);
	last_sc = sc;
	return out;
}

/* Scan in every chunking, require identical trees, return the tree of a whole feed. */
static const struct mime_message *scan_len(const char *msg, size_t len)
{
	static const unsigned seeds[] = { 1, 7, 4242 };
	char *whole, *other;
	size_t i;

	other = scan_once(msg, len, FEED_BYTES, 0, 0);
	for (i = 0; i < ARRAY_LEN(seeds); i++) {
		char *r = scan_once(msg, len, FEED_RANDOM, seeds[i], 0);

		ck_assert_msg(strcmp(other, r) == 0, "random chunking (seed %u) differs:\n%s\n---- byte by byte:\n%s",
			      seeds[i], r, other);
		free(r);
	}
	whole = scan_once(msg, len, FEED_WHOLE, 0, 0);
	ck_assert_msg(strcmp(other, whole) == 0, "whole feed differs:\n%s\n---- byte by byte:\n%s", whole, other);
	free(other);
	free(whole);
	return mime_scanner_finish(last_sc);
}

static const struct mime_message *scan(const char *msg)
{
	return scan_len(msg, strlen(msg));
}

static void teardown(void)
{
	mime_scanner_free(last_sc);
	last_sc = NULL;
	run_free(&last_run);
	use_limits = false;
}

/* Offset of the nth (0-based) occurrence of marker in msg. */
static size_t off_nth(const char *msg, const char *marker, unsigned nth)
{
	const char *p = msg;

	for (;;) {
		p = strstr(p, marker);
		ck_assert_msg(p != NULL, "marker %s not found", marker);
		if (nth-- == 0)
			return (size_t)(p - msg);
		p++;
	}
}

static size_t off(const char *msg, const char *marker)
{
	return off_nth(msg, marker, 0);
}

static size_t off_end(const char *msg, const char *marker)
{
	return off(msg, marker) + strlen(marker);
}

static const struct mime_part *part_by_id(const struct mime_message *m, const char *id)
{
	unsigned i;

	for (i = 0; i < m->nparts; i++)
		if (strcmp(m->parts[i].id, id) == 0)
			return &m->parts[i];
	ck_abort_msg("no part %s", id);
	return NULL;
}

static char *leaf_text(unsigned part)
{
	ck_assert_uint_lt(part, last_run.nleaf);
	return xstrndup(last_run.leaf[part].data ? last_run.leaf[part].data : "", last_run.leaf[part].len);
}

/* ---- offsets and structure ------------------------------------------------------------ */

static const char simple_lf[] =
	"From: a@example.org\n"
	"Subject: hi\n"
	"  there\n"
	"Content-Type: multipart/mixed; boundary=\"XX\"\n"
	"\n"
	"preamble\n"
	"--XX\n"
	"Content-Type: text/plain; charset=us-ascii\n"
	"\n"
	"first body\n"
	"line 2\n"
	"--XX\n"
	"Content-Type: text/html\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"<p>x</p>\n"
	"\n"
	"--XX--\n"
	"epilogue\n";

START_TEST(test_exact_offsets_lf)
{
	const char *s = simple_lf;
	const struct mime_message *m = scan(s);
	const struct mime_part *p0, *p1, *p2;
	const struct mime_header *h;

	ck_assert_uint_eq(m->nparts, 3);
	p0 = &m->parts[0];
	p1 = &m->parts[1];
	p2 = &m->parts[2];
	ck_assert_str_eq(p0->id, "1");
	ck_assert_str_eq(p1->id, "1.1");
	ck_assert_str_eq(p2->id, "1.2");
	ck_assert(p0->is_multipart && p1->is_leaf && p2->is_leaf);
	ck_assert_uint_eq(p0->hdr_start, 0);
	ck_assert_uint_eq(p0->hdr_end, off(s, "\n\npreamble") + 1);
	ck_assert_uint_eq(p0->body_start, off(s, "preamble"));
	ck_assert_uint_eq(p0->body_end, strlen(s));
	ck_assert_uint_eq(p0->nheaders, 3);
	ck_assert(!p0->eol_crlf && !m->eol_crlf);

	ck_assert_uint_eq(p1->hdr_start, off_end(s, "--XX\n"));
	ck_assert_uint_eq(p1->hdr_end, off_end(s, "us-ascii\n"));
	ck_assert_uint_eq(p1->body_start, off(s, "first body"));
	ck_assert_uint_eq(p1->body_end, off_end(s, "line 2"));	/* EOL before the delimiter excluded */
	ck_assert_uint_eq(p2->hdr_start, off_end(s, "line 2\n--XX\n"));
	ck_assert_uint_eq(p2->body_start, off(s, "<p>"));
	ck_assert_uint_eq(p2->body_end, off_end(s, "</p>\n"));	/* the empty line is body */
	ck_assert_uint_eq(p2->cte, CTE_QP);
	ck_assert_str_eq(p2->subtype, "html");

	h = mime_part_header(m, 0, "subject", 0);
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(h->start, off(s, "Subject"));
	ck_assert_uint_eq(h->colon, off(s, "Subject") + 7);
	ck_assert_uint_eq(h->end, off_end(s, "there\n"));
	ck_assert_uint_eq(h->eol_len, 1);
	ck_assert_str_eq(h->value, " hi\n  there");
	ck_assert_str_eq(h->name, "Subject");

	/* preamble and epilogue are in no leaf */
	{
		char *t1 = leaf_text(1), *t2 = leaf_text(2);

		ck_assert_str_eq(t1, "first body\nline 2");
		ck_assert_str_eq(t2, "<p>x</p>\n");
		free(t1);
		free(t2);
	}
	ck_assert_uint_eq(m->anomalies, 0);
}
END_TEST

static const char simple_crlf[] =
	"From: a@example.org\r\n"
	"Content-Type: multipart/alternative;\r\n"
	"\tboundary=b1\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"plain\r\n"
	"--b1\r\n"
	"\r\n"
	"no headers\r\n"
	"--b1--\r\n";

START_TEST(test_exact_offsets_crlf)
{
	const char *s = simple_crlf;
	const struct mime_message *m = scan(s);
	const struct mime_part *p1, *p2;
	const struct mime_header *h;

	ck_assert_uint_eq(m->nparts, 3);
	ck_assert(m->eol_crlf);
	ck_assert(m->parts[0].eol_crlf);
	ck_assert_uint_eq(m->anomalies, 0);
	h = &m->headers[1];
	ck_assert_str_eq(h->value, " multipart/alternative;\r\n\tboundary=b1");
	ck_assert_uint_eq(h->eol_len, 2);
	ck_assert_uint_eq(h->end, off_end(s, "boundary=b1\r\n"));
	p1 = &m->parts[1];
	p2 = &m->parts[2];
	ck_assert(p1->eol_crlf);
	ck_assert_uint_eq(p1->body_start, off(s, "\r\nplain\r\n") + 2);
	ck_assert_uint_eq(p1->body_end, off(s, "\r\nplain\r\n") + 7);
	/* part with no headers: blank line right after the delimiter */
	ck_assert_uint_eq(p2->nheaders, 0);
	ck_assert(p2->has_blank_line);
	ck_assert_uint_eq(p2->hdr_start, off_end(s, "plain\r\n--b1\r\n"));
	ck_assert_uint_eq(p2->hdr_end, p2->hdr_start);
	ck_assert_uint_eq(p2->body_start, off(s, "no headers"));
	ck_assert_uint_eq(p2->body_end, off_end(s, "no headers"));
	ck_assert_str_eq(p2->type, "text");
	ck_assert_str_eq(p2->subtype, "plain");
	ck_assert(!p2->ct_valid);
	ck_assert(p2->eol_crlf);
}
END_TEST

START_TEST(test_single_part_body_callback_and_final_eol)
{
	const char *s = "Subject: x\n\nline1\nline2\n";
	const struct mime_message *m = scan(s);
	char *t;

	ck_assert_uint_eq(m->nparts, 1);
	ck_assert(m->parts[0].is_leaf);
	ck_assert_uint_eq(m->parts[0].body_end, strlen(s));	/* no delimiter: final EOL is body */
	t = leaf_text(0);
	ck_assert_str_eq(t, "line1\nline2\n");
	free(t);
	ck_assert_uint_eq(m->parts[0].max_line_len, 5);
	ck_assert_uint_eq(m->size, strlen(s));
}
END_TEST

START_TEST(test_header_folding_8bit_and_names)
{
	const char *s = "X-Mixed-CASE: one\r\n"
		"Subject: caf\xc3\xa9\r\n"
		"\t latte\r\n"
		"Received: a\r\n"
		"Received: b\r\n"
		"  b2\r\n"
		"Content-Type: text/plain; charset=utf-8\r\n"
		"Content-type: text/html\r\n"
		"\r\n"
		"body\r\n";
	const struct mime_message *m = scan(s);
	const struct mime_header *h;

	ck_assert_uint_eq(m->nheaders, 6);
	ck_assert_str_eq(m->headers[0].name, "X-Mixed-CASE");
	ck_assert(!m->headers[0].has_8bit);
	h = mime_part_header(m, 0, "SUBJECT", 0);
	ck_assert_ptr_nonnull(h);
	ck_assert(h->has_8bit);
	ck_assert_str_eq(h->value, " caf\xc3\xa9\r\n\t latte");
	ck_assert(m->anomalies & MIME_ANOM_8BIT_HDR);
	ck_assert(m->parts[0].anomalies & MIME_ANOM_8BIT_HDR);
	ck_assert_str_eq(mime_part_header(m, 0, "received", 0)->value, " a");
	ck_assert_str_eq(mime_part_header(m, 0, "received", 1)->value, " b\r\n  b2");
	ck_assert_ptr_null(mime_part_header(m, 0, "received", 2));
	ck_assert_ptr_null(mime_part_header(m, 1, "received", 0));
	/* duplicate Content-Type: the first wins */
	ck_assert_int_eq(m->parts[0].ct_header, 4);
	ck_assert_str_eq(m->parts[0].subtype, "plain");
	ck_assert_str_eq(mparams_get(&m->parts[0].ct, "charset")->value, "utf-8");
	ck_assert_str_eq(mime_part_header(m, 0, "content-type", 1)->name, "Content-type");
}
END_TEST

START_TEST(test_content_headers_parsed_and_defaults)
{
	const char *s = "MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=zz\n"
		"\n"
		"--zz\n"
		"Content-Type: application/pdf; name=\"a.pdf\"\n"
		"Content-Transfer-Encoding: BASE64 (comment)\n"
		"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n"
		"\n"
		"QUJD\n"
		"--zz\n"
		"Content-Type: garbage\n"
		"Content-Transfer-Encoding: x-uuencode\n"
		"\n"
		"bad\n"
		"--zz\n"
		"Content-Transfer-Encoding: 8bit\n"
		"\n"
		"default\n"
		"--zz--\n";
	const struct mime_message *m = scan(s);
	const struct mime_part *p;

	ck_assert_uint_eq(m->nparts, 4);
	ck_assert_int_eq(m->parts[0].mimever_header, 0);
	p = &m->parts[1];
	ck_assert_str_eq(p->type, "application");
	ck_assert_str_eq(p->subtype, "pdf");
	ck_assert(p->ct_valid);
	ck_assert_uint_eq(p->cte, CTE_BASE64);
	ck_assert_str_eq(p->cd.type, "attachment");
	ck_assert_str_eq(mparams_get(&p->cd, "filename")->value, "r\xc3\xa9sum\xc3\xa9.pdf");
	ck_assert_str_eq(mparams_get(&p->ct, "name")->value, "a.pdf");
	ck_assert_uint_eq(p->anomalies, 0);
	p = &m->parts[2];
	ck_assert(!p->ct_valid);
	ck_assert_str_eq(p->type, "text");
	ck_assert_str_eq(p->subtype, "plain");
	ck_assert(p->anomalies & MIME_ANOM_BAD_CT);
	ck_assert_uint_eq(p->cte, CTE_UNKNOWN);
	ck_assert(p->anomalies & MIME_ANOM_BAD_CTE);
	p = &m->parts[3];
	ck_assert_int_eq(p->ct_header, -1);
	ck_assert_str_eq(p->type, "text");
	ck_assert_uint_eq(p->cte, CTE_8BIT);
	ck_assert_uint_eq(p->anomalies, 0);
	ck_assert_str_eq(mime_cte_name(CTE_ABSENT), "7bit");
	ck_assert_str_eq(mime_cte_name(CTE_QP), "quoted-printable");
}
END_TEST

START_TEST(test_digest_children_default_to_message)
{
	const char *s = "Content-Type: multipart/digest; boundary=d\n"
		"\n"
		"--d\n"
		"\n"
		"Subject: inner\n"
		"\n"
		"inner body\n"
		"--d\n"
		"Content-Type: text/plain\n"
		"\n"
		"plain\n"
		"--d--\n";
	const struct mime_message *m = scan(s);
	const struct mime_part *p;

	p = part_by_id(m, "1.1");
	ck_assert_str_eq(p->type, "message");
	ck_assert_str_eq(p->subtype, "rfc822");
	ck_assert(p->is_message);
	p = part_by_id(m, "1.1.1");
	ck_assert(p->is_leaf);
	ck_assert_str_eq(mime_part_header(m, (unsigned)(p - m->parts), "subject", 0)->value, " inner");
	ck_assert_uint_eq(p->body_start, off(s, "inner body"));
	ck_assert_uint_eq(p->body_end, off_end(s, "inner body"));
	p = part_by_id(m, "1.2");
	ck_assert(p->is_leaf);
	ck_assert_str_eq(p->type, "text");
	ck_assert_uint_eq(m->anomalies, 0);
}
END_TEST

START_TEST(test_nested_multipart_and_message_ids)
{
	const char *s = "Content-Type: multipart/mixed; boundary=outer\n"
		"\n"
		"--outer\n"
		"Content-Type: multipart/alternative; boundary=inner\n"
		"\n"
		"--inner\n"
		"\n"
		"alt1\n"
		"--inner\n"
		"Content-Type: text/html\n"
		"\n"
		"alt2\n"
		"--inner--\n"
		"--outer\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"Subject: embedded\n"
		"Content-Type: multipart/mixed; boundary=emb\n"
		"\n"
		"--emb\n"
		"\n"
		"deep\n"
		"--emb--\n"
		"--outer\n"
		"Content-Type: message/global\n"
		"\n"
		"Subject: g\n"
		"\n"
		"global body\n"
		"--outer\n"
		"Content-Type: message/rfc822\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"U3ViamVjdDogeAoKeQo=\n"
		"--outer--\n";
	const struct mime_message *m = scan(s);
	const struct mime_part *p;

	ck_assert_uint_eq(m->anomalies, 0);
	ck_assert(part_by_id(m, "1.1")->is_multipart);
	ck_assert_uint_eq(part_by_id(m, "1.1")->nchildren, 2);
	ck_assert_uint_eq(part_by_id(m, "1.1.2")->body_start, off(s, "alt2"));
	p = part_by_id(m, "1.2");
	ck_assert(p->is_message);
	ck_assert_uint_eq(p->nchildren, 1);
	p = part_by_id(m, "1.2.1");	/* the embedded message of part 1.2 is 1.2.1 */
	ck_assert(p->is_multipart);
	ck_assert_uint_eq(p->hdr_start, off(s, "Subject: embedded"));
	ck_assert_uint_eq(p->depth, 2);
	p = part_by_id(m, "1.2.1.1");
	ck_assert(p->is_leaf);
	ck_assert_uint_eq(p->depth, 3);
	ck_assert_uint_eq(p->body_start, off(s, "deep"));
	ck_assert_uint_eq(p->body_end, off_end(s, "deep"));
	ck_assert(part_by_id(m, "1.3")->is_message);
	ck_assert_uint_eq(part_by_id(m, "1.3.1")->body_start, off(s, "global body"));
	p = part_by_id(m, "1.4");
	ck_assert(p->is_leaf);	/* encoded message/rfc822 is a leaf */
	ck_assert_uint_eq(p->cte, CTE_BASE64);
	ck_assert_uint_eq(p->nchildren, 0);
	ck_assert_uint_eq(m->nparts, 10);
}
END_TEST

/* ---- boundaries ------------------------------------------------------------------------ */

START_TEST(test_delimiter_trailing_whitespace_and_close)
{
	const char *s = "Content-Type: multipart/mixed; boundary=\"b c\"\r\n"
		"\r\n"
		"--b c \t\r\n"
		"\r\n"
		"one\r\n"
		"--b cx\r\n"
		"--b c--  \r\n"
		"--b c\r\n"
		"epilogue\r\n";
	const struct mime_message *m = scan(s);
	char *t;

	ck_assert_uint_eq(m->nparts, 2);
	t = leaf_text(1);
	ck_assert_str_eq(t, "one\r\n--b cx");	/* not a delimiter: a longer line */
	free(t);
	ck_assert_uint_eq(m->anomalies, 0);
	ck_assert_uint_eq(m->parts[0].nchildren, 1);	/* delimiters after the close are epilogue */
}
END_TEST

START_TEST(test_boundary_prefix_of_another)
{
	const char *s = "Content-Type: multipart/mixed; boundary=b\n"
		"\n"
		"--b\n"
		"Content-Type: multipart/mixed; boundary=b1\n"
		"\n"
		"--b1\n"
		"\n"
		"x\n"
		"--b1--\n"
		"--b\n"
		"Content-Type: multipart/mixed; boundary=b1\n"
		"\n"
		"--b1\n"
		"\n"
		"unclosed\n"
		"--b\n"
		"\n"
		"last\n"
		"--b--\n";
	const struct mime_message *m = scan(s);

	ck_assert_uint_eq(m->nparts, 6);
	ck_assert_uint_eq(part_by_id(m, "1.1.1")->body_end, off_end(s, "\nx"));
	ck_assert_uint_eq(part_by_id(m, "1.2.1")->body_end, off_end(s, "unclosed"));
	ck_assert(part_by_id(m, "1.2")->anomalies & MIME_ANOM_NO_CLOSE);
	ck_assert(!(part_by_id(m, "1.1")->anomalies & MIME_ANOM_NO_CLOSE));
	ck_assert(!(part_by_id(m, "1")->anomalies & MIME_ANOM_NO_CLOSE));
	ck_assert_uint_eq(part_by_id(m, "1.3")->body_start, off(s, "last"));
	ck_assert(m->anomalies & MIME_ANOM_NO_CLOSE);
}
END_TEST

START_TEST(test_boundary_outer_longer_than_inner)
{
	const char *s = "Content-Type: multipart/mixed; boundary=b1\n"
		"\n"
		"--b1\n"
		"Content-Type: multipart/mixed; boundary=b\n"
		"\n"
		"--b\n"
		"\n"
		"x\n"
		"--b1\n"
		"\n"
		"y\n"
		"--b1--\n";
	const struct mime_message *m = scan(s);

	ck_assert_uint_eq(m->nparts, 4);
	ck_assert_uint_eq(part_by_id(m, "1.1.1")->body_end, off_end(s, "\nx"));
	ck_assert_uint_eq(part_by_id(m, "1.2")->body_start, off(s, "\ny\n") + 1);
	ck_assert(part_by_id(m, "1.1")->anomalies & MIME_ANOM_NO_CLOSE);
}
END_TEST

START_TEST(test_same_boundary_reused_by_nested)
{
	const char *s = "Content-Type: multipart/mixed; boundary=same\n"
		"\n"
		"--same\n"
		"Content-Type: multipart/alternative; boundary=same\n"
		"\n"
		"--same\n"
		"\n"
		"in1\n"
		"--same\n"
		"\n"
		"in2\n"
		"--same--\n"
		"--same\n"
		"\n"
		"out2\n"
		"--same--\n";
	const struct mime_message *m = scan(s);

	ck_assert_uint_eq(m->nparts, 5);
	ck_assert_uint_eq(part_by_id(m, "1.1")->nchildren, 2);
	ck_assert_uint_eq(part_by_id(m, "1.1.2")->body_start, off(s, "in2"));
	ck_assert_uint_eq(part_by_id(m, "1.2")->body_start, off(s, "out2"));
	ck_assert_uint_eq(m->anomalies, 0);
}
END_TEST

START_TEST(test_missing_close_and_final_delimiter_without_eol)
{
	const char *s1 = "Content-Type: multipart/mixed; boundary=q\n\n--q\n\nbody\n";
	const char *s2 = "Content-Type: multipart/mixed; boundary=q\n\n--q\n\nbody\n--q--";
	const struct mime_message *m;

	m = scan(s1);
	ck_assert_uint_eq(m->nparts, 2);
	ck_assert(m->anomalies & MIME_ANOM_NO_CLOSE);
	ck_assert_uint_eq(m->parts[1].body_end, strlen(s1));
	m = scan(s2);
	ck_assert_uint_eq(m->nparts, 2);
	ck_assert_uint_eq(m->anomalies, 0);
	ck_assert_uint_eq(m->parts[1].body_end, off_end(s2, "body"));
}
END_TEST

START_TEST(test_boundary_text_inside_base64_not_at_line_start)
{
	const char *s = "Content-Type: multipart/mixed; boundary=ab\n"
		"\n"
		"--ab\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"QU--ab\n"
		" --ab\n"
		"-\n"
		"-ab\n"
		"--a\n"
		"--abc\n"
		"--ab--x\n"
		"--ab--\n";
	const struct mime_message *m = scan(s);
	char *t;

	ck_assert_uint_eq(m->nparts, 2);
	t = leaf_text(1);
	ck_assert_str_eq(t, "QU--ab\n --ab\n-\n-ab\n--a\n--abc\n--ab--x");
	free(t);
	ck_assert_uint_eq(m->anomalies, 0);
}
END_TEST

START_TEST(test_empty_bodies_and_header_block_cut_by_delimiter)
{
	const char *s = "Content-Type: multipart/mixed; boundary=e\n"
		"\n"
		"--e\n"
		"--e\n"
		"Content-Type: text/plain\n"
		"--e\n"
		"Content-Type: text/html\n"
		"\n"
		"--e--\n";
	const struct mime_message *m = scan(s);
	const struct mime_part *p;

	ck_assert_uint_eq(m->nparts, 4);
	p = &m->parts[1];	/* delimiter right after delimiter */
	ck_assert_uint_eq(p->nheaders, 0);
	ck_assert_uint_eq(p->body_start, p->body_end);
	ck_assert(!p->has_blank_line);
	p = &m->parts[2];	/* header block not ended before the next delimiter */
	ck_assert_uint_eq(p->nheaders, 1);
	ck_assert_uint_eq(p->hdr_end, off_end(s, "text/plain\n"));
	ck_assert_uint_eq(p->body_start, p->body_end);
	ck_assert(!p->has_blank_line);
	ck_assert(!(p->anomalies & MIME_ANOM_BAD_HDR_LINE));
	p = &m->parts[3];	/* blank line then delimiter: empty body */
	ck_assert(p->has_blank_line);
	ck_assert_uint_eq(p->body_start, off(s, "--e--"));
	ck_assert_uint_eq(p->body_end, p->body_start);
	ck_assert_str_eq(p->subtype, "html");
}
END_TEST

START_TEST(test_no_boundary_parameter)
{
	const char *s = "Content-Type: multipart/mixed\n\n--x\n\nbody\n";
	const struct mime_message *m = scan(s);

	ck_assert_uint_eq(m->nparts, 1);
	ck_assert(m->parts[0].is_leaf);
	ck_assert(m->anomalies & MIME_ANOM_NO_BOUNDARY);
}
END_TEST

/* ---- odd header blocks, line endings ----------------------------------------------------- */

START_TEST(test_mbox_from_line_skipped)
{
	const char *s = "From someone@example.org Mon Jan  1 00:00:00 2024\n"
		"Subject: s\n"
		"\n"
		"b\n";
	const struct mime_message *m = scan(s);

	ck_assert_uint_eq(m->parts[0].hdr_start, off(s, "Subject"));
	ck_assert_uint_eq(m->parts[0].nheaders, 1);
	ck_assert_uint_eq(m->anomalies, 0);
}
END_TEST

START_TEST(test_bad_header_line_is_first_body_line)
{
	const char *s = "Subject: s\n"
		"this is not a header\n"
		"more\n";
	const struct mime_message *m = scan(s);
	char *t;

	ck_assert_uint_eq(m->parts[0].nheaders, 1);
	ck_assert(m->anomalies & MIME_ANOM_BAD_HDR_LINE);
	ck_assert(!m->parts[0].has_blank_line);
	ck_assert_uint_eq(m->parts[0].hdr_end, off(s, "this"));
	ck_assert_uint_eq(m->parts[0].body_start, off(s, "this"));
	t = leaf_text(0);
	ck_assert_str_eq(t, "this is not a header\nmore\n");
	free(t);
}
END_TEST

START_TEST(test_bad_header_line_with_cr_replayed_in_order)
{
	const char *s = "Subject: s\r\n"
		"junk\r\r\n"
		"next\r\n";
	const struct mime_message *m = scan(s);
	char *t;

	ck_assert(m->anomalies & MIME_ANOM_BAD_HDR_LINE);
	ck_assert(m->anomalies & MIME_ANOM_BARE_CR);
	t = leaf_text(0);
	ck_assert_str_eq(t, "junk\r\r\nnext\r\n");
	free(t);
}
END_TEST

START_TEST(test_mixed_eol_bare_cr_nul_8bit)
{
	const char *s = "Subject: s\r\n"
		"\r\n"
		"crlf line\r\n"
		"lf line\n"
		"bare\rcr\n"
		"end cr\r"
		"x\xff\n";
	const struct mime_message *m;

	m = scan(s);
	ck_assert(m->anomalies & MIME_ANOM_MIXED_EOL);
	ck_assert(m->anomalies & MIME_ANOM_BARE_CR);
	ck_assert(m->parts[0].anomalies & MIME_ANOM_BARE_CR);
	ck_assert(m->parts[0].body_has_8bit);
	ck_assert(m->eol_crlf);
	ck_assert(!(m->anomalies & MIME_ANOM_NUL));
	{
		static const char n[] = "Subject: s\n\nnul\0here\n";

		m = scan_len(n, sizeof(n) - 1);
		ck_assert(m->anomalies & MIME_ANOM_NUL);
		ck_assert(m->parts[0].body_has_nul);
		ck_assert(!m->parts[0].body_has_8bit);
		ck_assert(!(m->anomalies & MIME_ANOM_MIXED_EOL));
	}
}
END_TEST

START_TEST(test_bare_cr_flagged_per_part)
{
	const char *s = "Content-Type: multipart/mixed; boundary=c\n"
		"\n"
		"--c\n"
		"\n"
		"a\rb\n"
		"--c\n"
		"\n"
		"c\rd\n"
		"--c--\n";
	const struct mime_message *m = scan(s);

	ck_assert(m->parts[1].anomalies & MIME_ANOM_BARE_CR);
	ck_assert(m->parts[2].anomalies & MIME_ANOM_BARE_CR);
}
END_TEST

START_TEST(test_cr_at_chunk_boundary)
{
	const char *s = "Subject: s\r\n\r\nab\r\ncd\r";
	struct mime_scanner *sc = mime_scanner_new(NULL);
	const struct mime_message *m;
	size_t cut = off_end(s, "ab\r");

	/* the CR of a CRLF at the end of one chunk, its LF at the start of the next */
	mime_scanner_feed(sc, s, cut);
	mime_scanner_feed(sc, s + cut, strlen(s) - cut);
	m = mime_scanner_finish(sc);
	ck_assert(m->anomalies & MIME_ANOM_BARE_CR);	/* the final lone CR */
	ck_assert(!(m->anomalies & MIME_ANOM_MIXED_EOL));
	ck_assert_uint_eq(m->parts[0].body_end, strlen(s));
	mime_scanner_free(sc);
	m = scan(s);
	ck_assert(m->anomalies & MIME_ANOM_BARE_CR);
	m = scan("Subject: s\r\n\r\nab\r\ncd\r\n");
	ck_assert(!(m->anomalies & MIME_ANOM_BARE_CR));
}
END_TEST

START_TEST(test_long_lines)
{
	struct buf b;
	const struct mime_message *m;
	size_t i;

	buf_init(&b, 1 << 20);
	buf_puts(&b, "Subject: s\n\nshort\n");
	for (i = 0; i < 1500; i++)
		buf_putc(&b, 'a' + (int)(i % 26));
	buf_puts(&b, "\nend\n");
	m = scan(buf_cstr(&b));
	ck_assert(m->anomalies & MIME_ANOM_LONG_LINE);
	ck_assert_uint_eq(m->parts[0].max_line_len, 1500);
	buf_free(&b);
	m = scan("Subject: s\n\nshort\n");
	ck_assert(!(m->anomalies & MIME_ANOM_LONG_LINE));
}
END_TEST

START_TEST(test_header_line_exactly_max_header_size)
{
	/* a CRLF header line whose content fills the line buffer exactly: the CR must
	 * not count as content when it arrives in a chunk of its own */
	struct buf b;
	const struct mime_message *m;

	use_limits = true;
	mime_limits_default(&test_limits);
	test_limits.max_header_size = 1024;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "X-Long: ");
	while (b.len < 1024)
		buf_putc(&b, 'v');
	buf_puts(&b, "\r\nSubject: s\r\n\r\nbody\r\n");
	m = scan(buf_cstr(&b));
	ck_assert_uint_eq(m->headers[0].eol_len, 2);
	ck_assert(!(m->anomalies & MIME_ANOM_BARE_CR));
	buf_free(&b);
}
END_TEST

START_TEST(test_long_non_header_line_in_header_block)
{
	/* a non-header line longer than the header line buffer becomes body, bytes intact */
	struct buf b;
	const struct mime_message *m;

	use_limits = true;
	mime_limits_default(&test_limits);
	test_limits.max_header_size = 1024;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "Subject: s\n");
	while (b.len < 5000)
		buf_putc(&b, 'z');
	buf_puts(&b, "\nlast\n");
	m = scan(buf_cstr(&b));
	ck_assert(m->anomalies & MIME_ANOM_BAD_HDR_LINE);
	ck_assert_uint_eq(m->parts[0].body_start, off(buf_cstr(&b), "zzz"));
	ck_assert_uint_eq(last_run.leaf[0].len, b.len - off(buf_cstr(&b), "zzz"));
	buf_free(&b);
}
END_TEST

START_TEST(test_truncated_header_value)
{
	struct buf b;
	const struct mime_message *m;
	const struct mime_header *h;

	use_limits = true;
	mime_limits_default(&test_limits);
	test_limits.max_header_size = 2000;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "Subject: ");
	while (b.len < 3000)
		buf_putc(&b, 'w');
	buf_puts(&b, "\n \xe9\n x\nTo: t\n\nbody\n");
	m = scan(buf_cstr(&b));
	h = &m->headers[0];
	ck_assert(h->truncated);
	ck_assert_uint_le(h->value_len, 2000);
	ck_assert_uint_gt(h->value_len, 1900);	/* the copy keeps the first bytes */
	ck_assert(memcmp(h->value, " www", 4) == 0);
	ck_assert(m->anomalies & MIME_ANOM_HDR_SIZE);
	ck_assert_uint_eq(h->end, off(buf_cstr(&b), "To: t"));
	ck_assert_str_eq(m->headers[1].name, "To");
	buf_free(&b);
}
END_TEST

START_TEST(test_8bit_past_header_buffer_is_flagged)
{
	struct buf b;
	const struct mime_message *m;

	use_limits = true;
	mime_limits_default(&test_limits);
	test_limits.max_header_size = 1024;
	buf_init(&b, 1 << 20);
	buf_puts(&b, "Subject: ");
	while (b.len < 3000)
		buf_putc(&b, 'w');
	buf_puts(&b, "\xe9\n\nbody\n");
	m = scan(buf_cstr(&b));
	ck_assert(m->headers[0].has_8bit);
	ck_assert(m->anomalies & MIME_ANOM_8BIT_HDR);
	buf_free(&b);
}
END_TEST

START_TEST(test_truncated_header_at_eof)
{
	const struct mime_message *m;

	m = scan("Content-Type: multipart/mixed; boundary=t\n\n--t\nContent-Type: text/plain\nX-Cut: abc");
	ck_assert_uint_eq(m->nparts, 2);
	ck_assert(m->anomalies & MIME_ANOM_TRUNC_HDR);
	ck_assert_uint_eq(m->parts[1].nheaders, 2);
	ck_assert_uint_eq(m->headers[2].eol_len, 0);
	/* a delimiter without EOL at EOF begins a part that has nothing */
	{
		const char *s = "Content-Type: multipart/mixed; boundary=t\n\n--t\n\nx\n--t";

		m = scan(s);
		ck_assert_uint_eq(m->nparts, 3);
		ck_assert(m->parts[2].is_leaf);
		ck_assert_uint_eq(m->parts[2].body_start, m->size);
		ck_assert_uint_eq(m->parts[1].body_end, off(s, "\nx\n") + 2);
	}
	ck_assert(m->anomalies & MIME_ANOM_NO_CLOSE);
	m = scan("Content-Type: multipart/digest; boundary=t\n\n--t");
	ck_assert_uint_eq(m->nparts, 3);	/* digest child: an embedded message, empty */
	ck_assert(m->parts[1].is_message);
	ck_assert(m->parts[2].is_leaf);
	m = scan("Subject: only a header\n");
	ck_assert_uint_eq(m->nparts, 1);
	ck_assert_uint_eq(m->parts[0].nheaders, 1);
	m = scan("");
	ck_assert_uint_eq(m->nparts, 1);
	ck_assert_uint_eq(m->size, 0);
}
END_TEST

START_TEST(test_header_nul_cr_and_folded_8bit)
{
	static const char s[] = "Subject: a\0b\r\n"
		"X-Bare: c\rd\r\n"
		"X-Fold: plain\r\n"
		" \xe4\r\n"
		"\r\n"
		"body\r\n";
	const struct mime_message *m = scan_len(s, sizeof(s) - 1);

	ck_assert_uint_eq(m->nheaders, 3);
	ck_assert(m->anomalies & MIME_ANOM_NUL);
	ck_assert(m->anomalies & MIME_ANOM_BARE_CR);
	ck_assert(!m->headers[1].has_8bit);
	ck_assert(m->headers[2].has_8bit);
	ck_assert_uint_eq(m->headers[1].eol_len, 2);
	ck_assert_uint_eq(m->headers[1].value_len, 4);	/* " c\rd": the bare CR is value */
	ck_assert(!m->parts[0].body_has_nul);
	ck_assert(m->eol_crlf);
}
END_TEST

/* ---- limits ----------------------------------------------------------------------------- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

START_TEST(test_deep_nesting_bounded)
{
	struct buf b;
	const struct mime_message *m;
	unsigned i;

	buf_init(&b, 64 << 20);
	for (i = 0; i < 10000; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=n%u\n\n--n%u\n", i, i);
	buf_puts(&b, "\nleaf\n");
	for (i = 10000; i-- > 0;)
		buf_printf(&b, "--n%u--\n", i);
	m = scan_len(b.data, b.len);
	ck_assert(m->anomalies & MIME_ANOM_DEPTH);
	ck_assert_uint_le(m->nparts, 101);
	for (i = 0; i < m->nparts; i++)
		ck_assert_uint_le(m->parts[i].depth, 100);
	buf_reset(&b);
	for (i = 0; i < 10000; i++)
		buf_puts(&b, "Content-Type: message/rfc822\n\n");
	buf_puts(&b, "Subject: end\n\nbody\n");
	m = scan_len(b.data, b.len);
	ck_assert(m->anomalies & MIME_ANOM_DEPTH);
	ck_assert_uint_le(m->nparts, 101);
	buf_free(&b);
}
END_TEST

START_TEST(test_many_parts_bounded)
{
	struct buf b;
	const struct mime_message *m;
	char *d;
	unsigned i;

	buf_init(&b, 64 << 20);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=p\n\n");
	for (i = 0; i < 100000; i++)
		buf_puts(&b, "--p\n\nx\n");
	buf_puts(&b, "--p--\n");
	d = scan_once(b.data, b.len, FEED_WHOLE, 0, 0);
	m = mime_scanner_finish(last_sc);
	ck_assert(m->anomalies & MIME_ANOM_PARTS);
	ck_assert_uint_eq(m->nparts, 1000);
	{
		char *d2 = scan_once(b.data, b.len, FEED_FIXED, 0, 4096);

		ck_assert_str_eq(d, d2);
		free(d2);
	}
	free(d);
	buf_free(&b);
}
END_TEST

START_TEST(test_million_header_lines_bounded)
{
	struct buf b;
	const struct mime_message *m;
	char *d1, *d2;
	unsigned i;

	buf_init(&b, 64 << 20);
	for (i = 0; i < 1000000; i++)
		buf_puts(&b, "X-H: v\n");
	buf_puts(&b, "\nbody\n");
	d1 = scan_once(b.data, b.len, FEED_FIXED, 0, 65536);
	d2 = scan_once(b.data, b.len, FEED_WHOLE, 0, 0);
	ck_assert_str_eq(d1, d2);
	free(d1);
	free(d2);
	m = mime_scanner_finish(last_sc);
	ck_assert(m->anomalies & MIME_ANOM_HDR_COUNT);
	ck_assert_uint_eq(m->nheaders, 1000);
	ck_assert_uint_eq(m->parts[0].hdr_end, off(b.data, "\n\nbody") + 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_message_wide_header_cap)
{
	/* max_headers per block times max_parts must not be the message's header budget */
	struct buf b;
	const struct mime_message *m;
	unsigned i, j;

	use_limits = true;
	mime_limits_default(&test_limits);
	test_limits.max_parts = 100000;
	test_limits.max_headers = 200;
	buf_init(&b, 64 << 20);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=h\n\n");
	for (i = 0; i < 2000; i++) {
		buf_puts(&b, "--h\n");
		for (j = 0; j < 100; j++)
			buf_puts(&b, "X: y\n");
		buf_puts(&b, "\nz\n");
	}
	buf_puts(&b, "--h--\n");
	free(scan_once(b.data, b.len, FEED_WHOLE, 0, 0));
	m = mime_scanner_finish(last_sc);
	ck_assert_uint_eq(m->nparts, 2001);
	ck_assert_uint_eq(m->nheaders, MIME_MAX_TOTAL_HEADERS_DEFAULT);
	ck_assert(m->anomalies & MIME_ANOM_HDR_COUNT);
	ck_assert(!(m->parts[1].anomalies & MIME_ANOM_HDR_COUNT));
	buf_free(&b);
}
END_TEST

static void feed_huge_line(struct mime_scanner *sc, const char *prefix, size_t total, char fill)
{
	static char chunk[65536];
	size_t done = 0;

	memset(chunk, fill, sizeof(chunk));
	mime_scanner_feed(sc, prefix, strlen(prefix));
	while (done < total) {
		size_t n = total - done < sizeof(chunk) ? total - done : sizeof(chunk);

		mime_scanner_feed(sc, chunk, n);
		done += n;
	}
}

START_TEST(test_50mb_body_line_constant_memory)
{
	struct mime_scanner *sc = mime_scanner_new(NULL);
	const struct mime_message *m;
	size_t before, peak, total = 50u << 20;

	before = heap_in_use();
	feed_huge_line(sc, "Content-Type: multipart/mixed; boundary=L\n\n--L\n\n", total, '-');
	peak = heap_in_use();
	mime_scanner_feed(sc, "\n--L--\n", 7);
	m = mime_scanner_finish(sc);
	ck_assert_uint_lt(peak - before, 1 << 20);
	ck_assert_uint_eq(m->nparts, 2);
	ck_assert_uint_eq(m->parts[1].body_end - m->parts[1].body_start, total);
	ck_assert_uint_eq(m->parts[1].max_line_len, total);
	ck_assert(m->anomalies & MIME_ANOM_LONG_LINE);
	ck_assert(!(m->anomalies & MIME_ANOM_NO_CLOSE));
	mime_scanner_free(sc);
}
END_TEST

START_TEST(test_50mb_header_line_bounded_copy)
{
	struct mime_scanner *sc = mime_scanner_new(NULL);
	const struct mime_message *m;
	size_t before, peak, total = 50u << 20;

	before = heap_in_use();
	feed_huge_line(sc, "Subject: ", total, 'h');
	peak = heap_in_use();
	mime_scanner_feed(sc, "\n\nbody\n", 7);
	m = mime_scanner_finish(sc);
	ck_assert_uint_lt(peak - before, 1 << 20);
	ck_assert_uint_eq(m->nheaders, 1);
	ck_assert(m->headers[0].truncated);
	ck_assert_uint_le(m->headers[0].value_len, 64 * 1024);
	ck_assert_uint_gt(m->headers[0].value_len, 60 * 1024);
	ck_assert_uint_eq(m->headers[0].end, 9 + total + 1);
	ck_assert_uint_eq(m->parts[0].body_start, 9 + total + 2);
	ck_assert(m->anomalies & MIME_ANOM_HDR_SIZE);
	mime_scanner_free(sc);
}
END_TEST

START_TEST(test_max_message)
{
	const char *s = "Subject: s\n\n0123456789abcdef\n";
	const struct mime_message *m;

	use_limits = true;
	mime_limits_default(&test_limits);
	test_limits.max_message = off(s, "89");
	free(scan_once(s, strlen(s), FEED_WHOLE, 0, 0));
	m = mime_scanner_finish(last_sc);
	ck_assert(m->anomalies & MIME_ANOM_TOO_BIG);
	ck_assert_uint_eq(m->parts[0].body_end, off(s, "89"));
	ck_assert_uint_eq(m->size, strlen(s));
	{
		char *a = scan_once(s, strlen(s), FEED_BYTES, 0, 0);
		char *c = scan_once(s, strlen(s), FEED_RANDOM, 3, 0);

		ck_assert_str_eq(a, c);
		free(a);
		free(c);
	}
}
END_TEST

START_TEST(test_signed_lookup)
{
	const char *s = "Content-Type: multipart/mixed; boundary=s\n\n"
		"--s\nContent-Type: multipart/signed; boundary=t\n\n--t\n\nsigned\n--t--\n"
		"--s\n\nfree\n--s--\n";
	const struct mime_message *m = scan(s);

	ck_assert(mime_part_in_signed(m, (unsigned)(part_by_id(m, "1.1.1") - m->parts)));
	ck_assert(!mime_part_in_signed(m, (unsigned)(part_by_id(m, "1.2") - m->parts)));
}
END_TEST

/* Random garbage built from MIME-ish tokens: no crash, chunking invariance, invariants. */
START_TEST(test_random_token_soup)
{
	static const char *tok[] = {
		"\n", "\r\n", "\r", "--", "b", "--b", "--b--", "Content-Type: multipart/mixed; boundary=b\n",
		"Content-Type: message/rfc822\n", "X: y", " ", ":", "\xff", "\0", "\n\n", "\r\n\r\n",
		"From x\n", "Content-Type: multipart/digest; boundary=\"b\"\n", "abc", "\t",
	};
	struct buf b;
	unsigned round, i, rounds = 200;
	const char *env = getenv("CPM_MIME_SOUP_ROUNDS");	/* longer local hunts */

	if (env != NULL)
		rounds = (unsigned)strtoul(env, NULL, 10);
	buf_init(&b, 1 << 20);
	for (round = 0; round < rounds; round++) {
		srand(99 + round);
		unsigned ntok;

		ntok = 5 + (unsigned)rand() % 80;
		buf_reset(&b);
		for (i = 0; i < ntok; i++) {
			const char *t = tok[(unsigned)rand() % ARRAY_LEN(tok)];

			buf_append(&b, t, *t ? strlen(t) : 1);
		}
		scan_len(b.data, b.len);
	}
	buf_free(&b);
}
END_TEST

static Suite *mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("structure");
	TCase *tl = tcase_create("limits");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_exact_offsets_lf);
	tcase_add_test(tc, test_exact_offsets_crlf);
	tcase_add_test(tc, test_single_part_body_callback_and_final_eol);
	tcase_add_test(tc, test_header_folding_8bit_and_names);
	tcase_add_test(tc, test_content_headers_parsed_and_defaults);
	tcase_add_test(tc, test_digest_children_default_to_message);
	tcase_add_test(tc, test_nested_multipart_and_message_ids);
	tcase_add_test(tc, test_delimiter_trailing_whitespace_and_close);
	tcase_add_test(tc, test_boundary_prefix_of_another);
	tcase_add_test(tc, test_boundary_outer_longer_than_inner);
	tcase_add_test(tc, test_same_boundary_reused_by_nested);
	tcase_add_test(tc, test_missing_close_and_final_delimiter_without_eol);
	tcase_add_test(tc, test_boundary_text_inside_base64_not_at_line_start);
	tcase_add_test(tc, test_empty_bodies_and_header_block_cut_by_delimiter);
	tcase_add_test(tc, test_no_boundary_parameter);
	tcase_add_test(tc, test_mbox_from_line_skipped);
	tcase_add_test(tc, test_bad_header_line_is_first_body_line);
	tcase_add_test(tc, test_bad_header_line_with_cr_replayed_in_order);
	tcase_add_test(tc, test_mixed_eol_bare_cr_nul_8bit);
	tcase_add_test(tc, test_bare_cr_flagged_per_part);
	tcase_add_test(tc, test_cr_at_chunk_boundary);
	tcase_add_test(tc, test_long_lines);
	tcase_add_test(tc, test_header_line_exactly_max_header_size);
	tcase_add_test(tc, test_long_non_header_line_in_header_block);
	tcase_add_test(tc, test_truncated_header_value);
	tcase_add_test(tc, test_8bit_past_header_buffer_is_flagged);
	tcase_add_test(tc, test_truncated_header_at_eof);
	tcase_add_test(tc, test_signed_lookup);
	tcase_add_test(tc, test_header_nul_cr_and_folded_8bit);
	tcase_add_test(tc, test_random_token_soup);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, NULL, teardown);
	tcase_set_timeout(tl, 120);
	tcase_add_test(tl, test_deep_nesting_bounded);
	tcase_add_test(tl, test_many_parts_bounded);
	tcase_add_test(tl, test_million_header_lines_bounded);
	tcase_add_test(tl, test_message_wide_header_cap);
	tcase_add_test(tl, test_50mb_body_line_constant_memory);
	tcase_add_test(tl, test_50mb_header_line_bounded_copy);
	tcase_add_test(tl, test_max_message);
	suite_add_tcase(s, tl);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
