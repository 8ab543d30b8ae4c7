/*
 * fuzz_tnef.c -- libFuzzer target: the streaming TNEF reader (plugin/tnef.c).
 *
 * Input layout: byte 0 seeds the chunking, byte 1 picks the byte budget
 * (0: none; else 1 KiB << (byte1 % 12) ... bytes, or, when bit 7 is set, a
 * budget of byte1 & 0x7f bytes so the budget edge itself is hit), the rest is
 * the decoded TNEF stream.  To turn a .tnef file into an input:
 * `printf '\000\000' | cat - file.tnef > input`.
 *
 * Invariants (aborts on violation):
 *   T1 chunking independence: the evidence after feeding the stream whole
 *      equals the evidence after feeding it in seeded random pieces
 *      (1..300 bytes) and after feeding it byte by byte (short inputs);
 *   T2 no read outside the input, no leak (ASan), no UB (UBSan);
 *   T3 bounds: ntitles <= TNEF_MAX_TITLES <= titles_seen, every kept title
 *      len <= TNEF_TITLE_MAX; attributes * 11 <= bytes read (every attribute
 *      takes at least level + id + length + checksum); the note is
 *      NUL-terminated printable ASCII;
 *   T4 a value flagged unverified was read (has_* set), and the evidence is
 *      only trusted (tnef_has_codepage) through a verified value;
 *   T5 the budget: a reader with budget B gives the same evidence as one fed
 *      only the first B bytes with no budget, apart from the stop note --
 *      i.e. nothing past the budget is ever looked at;
 *   T6 no signature, no values: a stream not starting with 78 9F 3E 22 gives
 *      nothing but a note;
 *   T7 finish is idempotent and feeding after finish changes nothing.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tnef.h"
#include "fuzz_common.h"

static bool
same_title(const struct tnef_title *a, const struct tnef_title *b)
{
	return a->len == b->len && a->cut == b->cut && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static bool
same_values(const struct tnef_evidence *a, const struct tnef_evidence *b)
{
	if (a->has_oem != b->has_oem || a->oem_codepage != b->oem_codepage ||
	    a->oem_secondary != b->oem_secondary || a->has_internet_cpid != b->has_internet_cpid ||
	    a->internet_cpid != b->internet_cpid || a->has_message_codepage != b->has_message_codepage ||
	    a->message_codepage != b->message_codepage || a->has_locale_id != b->has_locale_id ||
	    a->locale_id != b->locale_id || a->unverified != b->unverified || a->body != b->body ||
	    a->ntitles != b->ntitles || a->titles_seen != b->titles_seen ||
	    a->attributes != b->attributes || a->bad_checksums != b->bad_checksums ||
	    a->is_tnef != b->is_tnef)
		return false;
	for (size_t i = 0; i < a->ntitles; i++)
		if (!same_title(&a->titles[i], &b->titles[i]))
			return false;
	return true;
}

static bool
same_evidence(const struct tnef_evidence *a, const struct tnef_evidence *b)
{
	return same_values(a, b) && a->stopped == b->stopped && strcmp(a->note, b->note) == 0;
}

static struct tnef_reader *
read_chunked(const uint8_t *p, size_t n, size_t budget, unsigned seed)
{
	struct tnef_reader *r = tnef_reader_new(budget);
	size_t off = 0;

	while (off < n) {
		size_t k = seed == 0 ? 1 : 1 + (seed % 300);

		seed = seed * 1103515245u + 12345u;
		if (k > n - off)
			k = n - off;
		tnef_reader_feed(r, p + off, k);
		off += k;
	}
	tnef_reader_finish(r);
	return r;
}

static void
check_bounds(const struct tnef_evidence *ev, size_t n)
{
	if (ev->ntitles > TNEF_MAX_TITLES || ev->ntitles > ev->titles_seen)
		fuzz_fail("T3: %zu titles kept of %zu", ev->ntitles, ev->titles_seen);
	for (size_t i = 0; i < ev->ntitles; i++)
		if (ev->titles[i].len > TNEF_TITLE_MAX)
			fuzz_fail("T3: title %zu is %zu bytes", i, ev->titles[i].len);
	if ((size_t)ev->attributes * 11 > n)
		fuzz_fail("T3: %u attributes in %zu bytes", ev->attributes, n);
	if (memchr(ev->note, '\0', sizeof(ev->note)) == NULL)
		fuzz_fail("T3: note not terminated");
	for (const char *c = ev->note; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			fuzz_fail("T3: note byte 0x%02x", (unsigned char)*c);
	if (((ev->unverified & TNEF_V_OEM) && !ev->has_oem) ||
	    ((ev->unverified & TNEF_V_CPID) && !ev->has_internet_cpid) ||
	    ((ev->unverified & TNEF_V_MCP) && !ev->has_message_codepage) ||
	    ((ev->unverified & TNEF_V_LCID) && !ev->has_locale_id))
		fuzz_fail("T4: unverified flag 0x%x on a value not read", ev->unverified);
	if (tnef_has_codepage(ev) &&
	    !((ev->has_oem && !(ev->unverified & TNEF_V_OEM)) ||
	      (ev->has_internet_cpid && !(ev->unverified & TNEF_V_CPID)) ||
	      (ev->has_message_codepage && !(ev->unverified & TNEF_V_MCP))))
		fuzz_fail("T4: trusted without a verified value");
}

static size_t
budget_of(uint8_t b)
{
	if (b == 0)
		return 0;
	if (b & 0x80)
		return b & 0x7f;
	return (size_t)1024 << (b % 12);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned seed = data[0];
	size_t budget = budget_of(data[1]);
	const uint8_t *p = data + 2;
	size_t n = size - 2;
	struct tnef_reader *whole = tnef_reader_new(budget), *r;
	const struct tnef_evidence *ev;
	char desc[256];

	tnef_reader_feed(whole, p, n);
	tnef_reader_finish(whole);
	ev = tnef_reader_evidence(whole);
	check_bounds(ev, n);
	tnef_describe(ev, desc, sizeof(desc));
	if (!ev->is_tnef && (tnef_has_codepage(ev) || ev->attributes > 0))
		fuzz_fail("T6: values without a signature");

	r = read_chunked(p, n, budget, seed | 1u);
	if (!same_evidence(ev, tnef_reader_evidence(r)))
		fuzz_fail("T1: chunked (seed %u) differs: '%s' vs '%s'", seed, ev->note,
			  tnef_reader_evidence(r)->note);
	tnef_reader_free(r);
	if (n <= 4096) {
		r = read_chunked(p, n, budget, 0);
		if (!same_evidence(ev, tnef_reader_evidence(r)))
			fuzz_fail("T1: byte by byte differs");
		tnef_reader_free(r);
	}
	if (budget > 0 && budget < n) {
		r = read_chunked(p, budget, 0, seed | 1u);
		if (!same_values(ev, tnef_reader_evidence(r)))
			fuzz_fail("T5: budget %zu: values differ from the first %zu bytes alone", budget, budget);
		tnef_reader_free(r);
	}
	struct tnef_evidence copy = *ev;
	tnef_reader_finish(whole);
	tnef_reader_feed(whole, p, n);
	if (!same_evidence(&copy, tnef_reader_evidence(whole)))
		fuzz_fail("T7: finish twice / feed after finish changed the evidence");
	tnef_reader_free(whole);
	return 0;
}
