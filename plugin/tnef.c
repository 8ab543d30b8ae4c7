/*
 * tnef.c -- a bounded, streaming TNEF reader for code page evidence.  See tnef.h.
 *
 * Why our own reader and not libytnef: we need five numbers, one flag and the
 * attachment titles, from a part that arrives in pieces while the message
 * streams through the milter.  libytnef wants the whole stream in memory,
 * allocates per attribute (with its own 512 KiB limit that real streams
 * exceed), decodes RTF and attachments we never look at, and has had
 * out-of-bounds reads (the ytnef-oob sample); Debian's tnef aborts on two of
 * the samples.  A ~400-line state machine that only skips what it does not
 * need is small enough for the fuzzer to cover completely.
 *
 * Two nested machines: the attribute walk (signature, key, then level / id /
 * length / data / checksum per attribute) and, inside the message-level
 * attMAPIProps attribute, the property walk.  Both take fixed-size fields
 * through a small accumulator and skip variable data by counting, so the
 * state is O(1) whatever the chunking.  Values read from an attribute are
 * pending until its checksum is verified, then committed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "charset.h"
#include "detect.h"
#include "tnef.h"

#define TNEF_SIGNATURE		0x223E9F78u
#define ATT_OEM_CODEPAGE	0x00069007u
#define ATT_MAPI_PROPS		0x00069003u
#define ATT_BODY		0x0002800Cu
#define ATT_ATTACH_TITLE	0x00018010u
#define LVL_MESSAGE		1
#define LVL_ATTACHMENT		2

#define PR_ID_BODY		0x1000u
#define PR_ID_INTERNET_CPID	0x3FDEu
#define PR_ID_MESSAGE_CODEPAGE	0x3FFDu
#define PR_ID_LOCALE_ID		0x3FF1u
#define PT_LONG			0x0003u
#define PT_STRING8		0x001Eu
#define PT_UNICODE		0x001Fu
#define MV_FLAG			0x1000u

/* Attribute walk states. */
enum att_state { A_SIG, A_KEY, A_LEVEL, A_ID, A_LEN, A_DATA, A_SUM, A_STOP };
/* What the data of the current attribute goes to. */
enum att_sink { S_SKIP, S_CAPTURE, S_PROPS };
/* Property walk states: each names the field being read (or skipped). */
enum prop_state {
	P_COUNT, P_TAG, P_GUID, P_KIND, P_NAMEID, P_NAMELEN, P_NAME,
	P_NVALS, P_VLEN, P_VDATA, P_FIXED, P_LONG, P_DONE, P_BAD
};

/* Values read from the current attribute, committed when its checksum holds. */
struct pending {
	bool has_oem; uint32_t oem, oem2;
	bool has_cpid; uint32_t cpid;
	bool has_mcp; uint32_t mcp;
	bool has_lcid; uint32_t lcid;
	enum tnef_body body;
	bool title;
};

struct props {
	enum prop_state st;
	unsigned char f[16];	/* field accumulator */
	size_t need, flen;	/* bytes the field takes, bytes in f */
	uint32_t skip;		/* bytes left to skip in P_NAME / P_VDATA / P_FIXED */
	uint32_t nprops, propi, nvals, vali;
	uint16_t type, id;
	bool named;
	int fixed;		/* value size of the current base type, 0 variable */
};

struct tnef_reader {
	size_t budget, consumed;
	size_t att_start;	/* offset of the current attribute */
	bool finished;
	enum att_state st;
	unsigned char f[8];	/* field accumulator for the attribute walk */
	size_t need, flen;
	uint8_t level;
	uint32_t id, len, got;
	uint16_t sum;
	enum att_sink sink;
	unsigned char cap[TNEF_TITLE_MAX + 1];	/* captured attribute data */
	size_t caplen;
	struct props props;
	struct pending pend;
	struct tnef_evidence ev;
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Record the first problem; later ones only add to the counters. */
static void __attribute__((format(printf, 2, 3)))
note(struct tnef_reader *r, const char *fmt, ...)
{
	va_list ap;

	if (r->ev.note[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(r->ev.note, sizeof(r->ev.note), fmt, ap);
	va_end(ap);
}

static void stop(struct tnef_reader *r)
{
	r->st = A_STOP;
	r->ev.stopped = true;
}

struct tnef_reader *tnef_reader_new(size_t budget)
{
	struct tnef_reader *r = xcalloc(1, sizeof(*r));

	r->budget = budget;
	r->st = A_SIG;
	r->need = 4;
	return r;
}

void tnef_reader_free(struct tnef_reader *r)
{
	free(r);
}

const struct tnef_evidence *tnef_reader_evidence(const struct tnef_reader *r)
{
	return &r->ev;
}

/* ---- the property walk (attMAPIProps) ------------------------------------------ */

/* Size of one value of a fixed-size base type; 0 for a variable-length type
 * (counted values, each with a length); -1 for a type we cannot walk past.
 * Every value takes at least 4 bytes, so a walk always advances. */
static int prop_fixed_size(uint16_t base)
{
	switch (base) {
	case 0x0002: case 0x0003: case 0x0004: case 0x000A: case 0x000B:
		return 4;	/* PT_I2 and PT_BOOLEAN are padded to 4 */
	case 0x0005: case 0x0006: case 0x0007: case 0x0014: case 0x0040:
		return 8;
	case 0x0048:
		return 16;	/* PT_CLSID */
	case 0x000D: case 0x001E: case 0x001F: case 0x0102:
		return 0;	/* PT_OBJECT, PT_STRING8, PT_UNICODE, PT_BINARY */
	default:
		return -1;
	}
}

static void prop_read(struct props *ps, enum prop_state st, size_t need)
{
	ps->st = st;
	ps->need = need;
	ps->flen = 0;
}

/* Skip n bytes padded to 4 in state st; false when the padding overflows. */
static bool prop_skip(struct props *ps, enum prop_state st, uint32_t n)
{
	if (n > UINT32_MAX - 3)
		return false;
	ps->st = st;
	ps->skip = (n + 3) & ~3u;
	return true;
}

static void prop_begin(struct props *ps)
{
	if (ps->propi >= ps->nprops)
		ps->st = P_DONE;
	else
		prop_read(ps, P_TAG, 4);
}

/* The next value of the current property, or the next property. */
static void prop_next_value(struct props *ps)
{
	if (ps->vali >= ps->nvals) {
		ps->propi++;
		prop_begin(ps);
	} else if (ps->fixed == 0) {
		prop_read(ps, P_VLEN, 4);
	} else if (!ps->named && ps->type == PT_LONG &&
		   (ps->id == PR_ID_INTERNET_CPID || ps->id == PR_ID_MESSAGE_CODEPAGE ||
		    ps->id == PR_ID_LOCALE_ID)) {
		prop_read(ps, P_LONG, 4);
	} else {
		prop_skip(ps, P_FIXED, (uint32_t)ps->fixed);
	}
}

static void prop_begin_value(struct tnef_reader *r)
{
	struct props *ps = &r->props;
	uint16_t base = ps->type & (uint16_t)~MV_FLAG;

	ps->fixed = prop_fixed_size(base);
	if (ps->fixed < 0) {
		note(r, "attMAPIProps: property 0x%04x has type 0x%04x: rest of the properties skipped",
		     ps->id, ps->type);
		ps->st = P_BAD;
		return;
	}
	ps->vali = 0;
	if ((ps->type & MV_FLAG) || ps->fixed == 0) {
		prop_read(ps, P_NVALS, 4);
		return;
	}
	ps->nvals = 1;
	prop_next_value(ps);
}

static void prop_long(struct tnef_reader *r, uint32_t v)
{
	struct pending *pd = &r->pend;

	switch (r->props.id) {
	case PR_ID_INTERNET_CPID: pd->has_cpid = true; pd->cpid = v; break;
	case PR_ID_MESSAGE_CODEPAGE: pd->has_mcp = true; pd->mcp = v; break;
	case PR_ID_LOCALE_ID: pd->has_lcid = true; pd->lcid = v; break;
	}
}

/* A field of the property walk is complete in ps->f. */
static void prop_field(struct tnef_reader *r)
{
	struct props *ps = &r->props;
	uint32_t v = le32(ps->f);

	switch (ps->st) {
	case P_COUNT:
		ps->nprops = v;
		ps->propi = 0;
		prop_begin(ps);
		break;
	case P_TAG:
		ps->type = le16(ps->f);
		ps->id = le16(ps->f + 2);
		ps->named = ps->id >= 0x8000;
		if (ps->named)
			prop_read(ps, P_GUID, 16);
		else
			prop_begin_value(r);
		break;
	case P_GUID:
		prop_read(ps, P_KIND, 4);
		break;
	case P_KIND:
		if (v == 0) {
			prop_read(ps, P_NAMEID, 4);
		} else if (v == 1) {
			prop_read(ps, P_NAMELEN, 4);
		} else {
			note(r, "attMAPIProps: named property kind %u: rest of the properties skipped", v);
			ps->st = P_BAD;
		}
		break;
	case P_NAMEID:
		prop_begin_value(r);
		break;
	case P_NAMELEN:
		if (!prop_skip(ps, P_NAME, v))
			ps->st = P_BAD;
		else if (ps->skip == 0)
			prop_begin_value(r);
		break;
	case P_NVALS:
		ps->nvals = v;
		prop_next_value(ps);
		break;
	case P_VLEN:
		if (!ps->named && ps->id == PR_ID_BODY && !(ps->type & MV_FLAG) && r->pend.body == TNEF_BODY_NONE)
			r->pend.body = ps->type == PT_STRING8 ? TNEF_BODY_STRING8 :
			    ps->type == PT_UNICODE ? TNEF_BODY_UNICODE : TNEF_BODY_NONE;
		if (!prop_skip(ps, P_VDATA, v)) {
			ps->st = P_BAD;
		} else if (ps->skip == 0) {
			ps->vali++;
			prop_next_value(ps);
		}
		break;
	case P_LONG:
		prop_long(r, v);
		ps->vali++;
		prop_next_value(ps);
		break;
	default:
		break;
	}
}

/* Skipping in P_NAME, P_VDATA or P_FIXED is complete. */
static void prop_skipped(struct tnef_reader *r)
{
	struct props *ps = &r->props;

	if (ps->st == P_NAME) {
		prop_begin_value(r);
	} else {
		ps->vali++;
		prop_next_value(ps);
	}
}

static void props_feed(struct tnef_reader *r, const unsigned char *p, size_t n)
{
	struct props *ps = &r->props;

	while (n > 0 && ps->st != P_DONE && ps->st != P_BAD) {
		size_t k;

		if (ps->st == P_NAME || ps->st == P_VDATA || ps->st == P_FIXED) {
			k = n < ps->skip ? n : ps->skip;
			ps->skip -= (uint32_t)k;
			p += k;
			n -= k;
			if (ps->skip == 0)
				prop_skipped(r);
			continue;
		}
		k = ps->need - ps->flen;
		if (k > n)
			k = n;
		memcpy(ps->f + ps->flen, p, k);
		ps->flen += k;
		p += k;
		n -= k;
		if (ps->flen == ps->need)
			prop_field(r);
	}
}

/* ---- the attribute walk ---------------------------------------------------------- */

static void att_read(struct tnef_reader *r, enum att_state st, size_t need)
{
	r->st = st;
	r->need = need;
	r->flen = 0;
	if (st == A_LEVEL)
		r->att_start = r->consumed;
}

/* The attribute header is complete: decide where its data goes. */
static void att_begin_data(struct tnef_reader *r)
{
	memset(&r->pend, 0, sizeof(r->pend));
	r->got = 0;
	r->sum = 0;
	r->caplen = 0;
	r->sink = S_SKIP;
	if (r->level == LVL_MESSAGE && r->id == ATT_OEM_CODEPAGE) {
		r->sink = S_CAPTURE;
	} else if (r->level == LVL_MESSAGE && r->id == ATT_MAPI_PROPS) {
		r->sink = S_PROPS;
		memset(&r->props, 0, sizeof(r->props));
		prop_read(&r->props, P_COUNT, 4);
	} else if (r->level == LVL_MESSAGE && r->id == ATT_BODY) {
		r->pend.body = TNEF_BODY_STRING8;
	} else if (r->level == LVL_ATTACHMENT && r->id == ATT_ATTACH_TITLE) {
		r->sink = S_CAPTURE;
		r->pend.title = true;
	}
	if (r->len == 0)
		att_read(r, A_SUM, 2);
	else
		r->st = A_DATA;
}

/* A field of the attribute walk is complete in r->f. */
static void att_field(struct tnef_reader *r)
{
	size_t left;

	switch (r->st) {
	case A_SIG:
		if (le32(r->f) != TNEF_SIGNATURE) {
			note(r, "no TNEF signature");
			stop(r);
			return;
		}
		r->ev.is_tnef = true;
		att_read(r, A_KEY, 2);
		break;
	case A_KEY:
		att_read(r, A_LEVEL, 1);
		break;
	case A_LEVEL:
		r->level = r->f[0];
		if (r->level != LVL_MESSAGE && r->level != LVL_ATTACHMENT) {
			note(r, "attribute %u at offset %zu has level %u: reading stopped",
			     r->ev.attributes + 1, r->att_start, r->level);
			stop(r);
			return;
		}
		att_read(r, A_ID, 4);
		break;
	case A_ID:
		r->id = le32(r->f);
		att_read(r, A_LEN, 4);
		break;
	case A_LEN:
		r->len = le32(r->f);
		left = r->budget > 0 ? r->budget - r->consumed : SIZE_MAX;
		if (r->len > left || left - r->len < 2) {
			note(r, "attribute 0x%08x is %u bytes long, over the byte budget: reading stopped",
			     r->id, r->len);
			stop(r);
			return;
		}
		att_begin_data(r);
		break;
	default:
		break;
	}
}

static void commit_title(struct tnef_reader *r)
{
	struct tnef_evidence *ev = &r->ev;
	struct tnef_title *t;
	size_t n = r->caplen;

	ev->titles_seen++;
	if (ev->ntitles >= TNEF_MAX_TITLES)
		return;
	t = &ev->titles[ev->ntitles++];
	t->cut = r->len > TNEF_TITLE_MAX + 1 || (r->len == TNEF_TITLE_MAX + 1 && r->cap[TNEF_TITLE_MAX] != 0);
	if (n > TNEF_TITLE_MAX)
		n = TNEF_TITLE_MAX;
	if (!t->cut && n > 0 && r->cap[n - 1] == 0)
		n--;
	memcpy(t->bytes, r->cap, n);
	t->len = n;
}

/* Store one code page value: a checked value replaces anything; an unchecked
 * one (its attribute failed the checksum) only fills a gap, flagged. */
static void set_value(struct tnef_evidence *ev, unsigned bit, bool *has, uint32_t *dst, uint32_t v, bool ok)
{
	if (!ok && *has)
		return;
	*has = true;
	*dst = v;
	if (ok)
		ev->unverified &= ~bit;
	else
		ev->unverified |= bit;
}

/* The current attribute is complete; ok: its checksum holds. */
static void commit(struct tnef_reader *r, bool ok)
{
	struct tnef_evidence *ev = &r->ev;
	struct pending *pd = &r->pend;

	if (r->sink == S_CAPTURE && r->id == ATT_OEM_CODEPAGE) {
		if (r->len == 4 || r->len == 8) {
			if (ok || !ev->has_oem)
				ev->oem_secondary = r->len == 8 ? le32(r->cap + 4) : 0;
			set_value(ev, TNEF_V_OEM, &ev->has_oem, &ev->oem_codepage, le32(r->cap), ok);
		} else {
			note(r, "attOemCodepage is %u bytes long (not 4 or 8): ignored", r->len);
		}
	}
	if (pd->has_cpid)
		set_value(ev, TNEF_V_CPID, &ev->has_internet_cpid, &ev->internet_cpid, pd->cpid, ok);
	if (pd->has_mcp)
		set_value(ev, TNEF_V_MCP, &ev->has_message_codepage, &ev->message_codepage, pd->mcp, ok);
	if (pd->has_lcid)
		set_value(ev, TNEF_V_LCID, &ev->has_locale_id, &ev->locale_id, pd->lcid, ok);
	if (r->sink == S_PROPS && r->props.st != P_DONE && r->props.st != P_BAD)
		note(r, "attMAPIProps: property stream ends inside property %u of %u",
		     r->props.propi + 1, r->props.nprops);
	if (!ok)
		return;
	if (pd->title)
		commit_title(r);
	if (pd->body == TNEF_BODY_STRING8 || (pd->body == TNEF_BODY_UNICODE && ev->body == TNEF_BODY_NONE))
		ev->body = pd->body;
}

static void att_data(struct tnef_reader *r, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		r->sum = (uint16_t)(r->sum + p[i]);
	if (r->sink == S_CAPTURE && r->caplen < sizeof(r->cap)) {
		size_t k = sizeof(r->cap) - r->caplen;

		if (k > n)
			k = n;
		memcpy(r->cap + r->caplen, p, k);
		r->caplen += k;
	} else if (r->sink == S_PROPS) {
		props_feed(r, p, n);
	}
	r->got += (uint32_t)n;
	if (r->got == r->len)
		att_read(r, A_SUM, 2);
}

static void att_checksum(struct tnef_reader *r)
{
	bool ok = le16(r->f) == r->sum;

	if (!ok) {
		r->ev.bad_checksums++;
		note(r, "attribute 0x%08x: checksum mismatch: its values are not trusted", r->id);
	}
	commit(r, ok);
	r->ev.attributes++;
	att_read(r, A_LEVEL, 1);
}

void tnef_reader_feed(struct tnef_reader *r, const void *data, size_t len)
{
	const unsigned char *p = data;
	bool over = false;

	if (r->st == A_STOP || r->finished)
		return;
	if (r->budget > 0 && len > r->budget - r->consumed) {
		len = r->budget - r->consumed;
		over = true;
	}
	while (len > 0 && r->st != A_STOP) {
		size_t k;

		if (r->st == A_DATA) {
			k = r->len - r->got;
			if (k > len)
				k = len;
			att_data(r, p, k);
		} else {
			k = r->need - r->flen;
			if (k > len)
				k = len;
			memcpy(r->f + r->flen, p, k);
			r->flen += k;
		}
		p += k;
		len -= k;
		r->consumed += k;
		if (r->st != A_DATA && r->flen == r->need) {
			if (r->st == A_SUM)
				att_checksum(r);
			else
				att_field(r);
		}
	}
	/* noted after the bytes it allows, so any chunking gives the same note */
	if (over && r->st != A_STOP) {
		note(r, "TNEF stream longer than the %zu-byte budget: reading stopped", r->budget);
		stop(r);
	}
}

void tnef_reader_finish(struct tnef_reader *r)
{
	if (r->finished)
		return;
	r->finished = true;
	if (r->st == A_STOP)
		return;
	if (r->st == A_SIG && r->flen == 0)
		note(r, "empty TNEF part");
	else if (r->st == A_SIG || r->st == A_KEY)
		note(r, "TNEF part of %zu bytes: no TNEF header", r->consumed);
	else if (r->st == A_LEVEL && r->flen == 0)
		return;
	else if (r->st == A_LEVEL || r->st == A_ID || r->st == A_LEN)
		note(r, "%zu trailing bytes after attribute %u", r->consumed - r->att_start, r->ev.attributes);
	else
		note(r, "truncated inside attribute 0x%08x (%u of %u bytes): its values dropped",
		     r->id, r->got, r->len);
}

bool tnef_has_codepage(const struct tnef_evidence *ev)
{
	return (ev->has_oem && !(ev->unverified & TNEF_V_OEM)) ||
	    (ev->has_internet_cpid && !(ev->unverified & TNEF_V_CPID)) ||
	    (ev->has_message_codepage && !(ev->unverified & TNEF_V_MCP));
}

void tnef_describe(const struct tnef_evidence *ev, char *dst, size_t cap)
{
	int n = 0;

	dst[0] = '\0';
	if (ev->has_oem)
		n += snprintf(dst + n, cap - (size_t)n, "attOemCodepage %u", ev->oem_codepage);
	if (ev->has_internet_cpid && (size_t)n < cap)
		n += snprintf(dst + n, cap - (size_t)n, "%sPR_INTERNET_CPID %u", n ? ", " : "", ev->internet_cpid);
	if (ev->has_message_codepage && (size_t)n < cap)
		n += snprintf(dst + n, cap - (size_t)n, "%sPR_MESSAGE_CODEPAGE %u", n ? ", " : "",
			      ev->message_codepage);
	if (ev->has_locale_id && (size_t)n < cap)
		snprintf(dst + n, cap - (size_t)n, "%sPR_MESSAGE_LOCALE_ID %u", n ? ", " : "", ev->locale_id);
}

/* Strongest first: PR_INTERNET_CPID is the code page the sender's client
 * wrote the Internet (MIME) rendering of the body in; PR_MESSAGE_CODEPAGE
 * and attOemCodepage that of its string8 properties and attributes, which the
 * same client used for raw 8-bit text when it had no Internet code page. */
void tnef_add_to_context(const struct tnef_evidence *ev, struct detect_context *ctx)
{
	const struct { bool has; unsigned bit; uint32_t cp; const char *field; } v[] = {
		{ ev->has_internet_cpid, TNEF_V_CPID, ev->internet_cpid, "PR_INTERNET_CPID" },
		{ ev->has_message_codepage, TNEF_V_MCP, ev->message_codepage, "PR_MESSAGE_CODEPAGE" },
		{ ev->has_oem, TNEF_V_OEM, ev->oem_codepage, "attOemCodepage" },
	};

	for (size_t i = 0; i < ARRAY_LEN(v) && ctx->n_sender_charsets < ARRAY_LEN(ctx->sender_charsets); i++) {
		const struct charset_info *cs;
		bool dup = false;

		if (!v[i].has || (ev->unverified & v[i].bit) || (cs = charset_by_codepage(v[i].cp)) == NULL)
			continue;
		for (size_t k = 0; k < ctx->n_sender_charsets; k++)
			dup |= ctx->sender_charsets[k] == cs;
		if (dup)
			continue;
		snprintf(ctx->sender_why[ctx->n_sender_charsets], sizeof(ctx->sender_why[0]), "TNEF %s %u",
			 v[i].field, v[i].cp);
		ctx->sender_charsets[ctx->n_sender_charsets++] = cs;
	}
}
