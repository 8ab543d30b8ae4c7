/*
 * tnef.h -- the sender's own code page, read from a TNEF stream (application/ms-tnef, winmail.dat).
 *
 * Exchange and Outlook wrap a message's MAPI properties in TNEF (MS-OXTNEF):
 * a signature (78 9F 3E 22), a 16-bit key, then attributes, each
 *     level (1 byte: 1 message, 2 attachment), id (uint32 LE: type << 16 | id),
 *     length (uint32 LE), data[length], checksum (uint16 LE: sum of the data
 *     bytes mod 65536).
 * The attribute attMAPIProps (0x00069003) holds a MAPI property stream:
 * a count, then per property a tag (type, id), for a named property (id >=
 * 0x8000) its GUID and name, then its value(s) (fixed-size ones padded to 4
 * bytes; string8, unicode, binary and object values with a value count and a
 * length each, padded to 4).
 *
 * The reader extracts only what codepage repair needs:
 *   - attOemCodepage (0x00069007): the primary and secondary code page, the
 *     code page of every string8 value in the stream;
 *   - from the message's attMAPIProps: PR_INTERNET_CPID (0x3FDE, the code
 *     page the sender used for the Internet rendering of the body),
 *     PR_MESSAGE_CODEPAGE (0x3FFD, that of the message's string8 properties),
 *     PR_MESSAGE_LOCALE_ID (0x3FF1);
 *   - whether the body is 8-bit text (attBody 0x0002800C, or PR_BODY as
 *     PT_STRING8) or unicode (PR_BODY as PT_UNICODE);
 *   - attachment titles (attAttachTitle 0x00018010) with their raw bytes.
 * Everything else (RTF, HTML, attachment data, attAttachment property
 * streams, embedded messages) is skipped, not interpreted.
 *
 * Streaming: the reader is fed the decoded bytes of the part (transfer
 * encoding undone) in any chunking and keeps O(1) state (about 3 KB); any
 * chunking gives the same result.  It never reads outside the bytes it is
 * given and never allocates after tnef_reader_new().
 *
 * Trust, per attribute: a value counts only when its whole attribute was read
 * and its checksum holds.  A code page value whose attribute was read whole
 * but failed its checksum is still reported, flagged in `unverified` (real
 * streams edited by hand keep stale checksums around intact numbers), and is
 * never evidence: tnef_has_codepage() and the cascade ignore it.  Reading stops (keeping what was already checked)
 * at: a bad signature, an attribute level other than 1 or 2, an attribute
 * longer than what is left of the byte budget, the budget itself, or a
 * property stream that cannot be walked (unknown property type: the rest of
 * that attribute is skipped).  A truncated last attribute, a checksum
 * mismatch, an attOemCodepage of the wrong length, trailing bytes: that
 * attribute gives nothing and `note` says why.  None of this is an error:
 * the worst outcome is "no evidence".
 *
 * No libmilter, no global state; one reader per part, one thread at a time.
 */
#ifndef CPM_TNEF_H
#define CPM_TNEF_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#define TNEF_MAX_TITLES	8	/* attachment titles kept (more are counted) */
#define TNEF_TITLE_MAX	256	/* bytes kept of each title (longer ones are cut) */

enum tnef_body {
	TNEF_BODY_NONE = 0,	/* no attBody, no PR_BODY */
	TNEF_BODY_STRING8,	/* attBody, or PR_BODY as PT_STRING8: text in the code page */
	TNEF_BODY_UNICODE	/* PR_BODY as PT_UNICODE (and no attBody) */
};

struct tnef_title {
	unsigned char bytes[TNEF_TITLE_MAX];	/* raw, in attOemCodepage; not NUL-terminated */
	size_t len;				/* bytes kept (a trailing NUL is dropped) */
	bool cut;				/* the title was longer than TNEF_TITLE_MAX */
};

#define TNEF_V_OEM	0x1	/* bits of tnef_evidence.unverified */
#define TNEF_V_CPID	0x2
#define TNEF_V_MCP	0x4
#define TNEF_V_LCID	0x8

struct tnef_evidence {
	bool has_oem;			uint32_t oem_codepage, oem_secondary;
	bool has_internet_cpid;		uint32_t internet_cpid;
	bool has_message_codepage;	uint32_t message_codepage;
	bool has_locale_id;		uint32_t locale_id;
	unsigned unverified;		/* TNEF_V_*: that value's attribute failed its checksum */
	enum tnef_body body;		/* from attributes whose checksum holds */
	struct tnef_title titles[TNEF_MAX_TITLES];
	size_t ntitles;			/* titles kept */
	size_t titles_seen;		/* attAttachTitle attributes with a good checksum */
	unsigned attributes;		/* attributes read whole */
	unsigned bad_checksums;		/* attributes dropped for their checksum */
	bool is_tnef;			/* the signature was there */
	bool stopped;			/* reading stopped before the end of the part */
	char note[160];			/* first problem met, ASCII; "" for a clean stream */
};

struct tnef_reader;

/* budget: the most bytes read (0: no limit); past it reading stops. */
struct tnef_reader *tnef_reader_new(size_t budget);
void tnef_reader_free(struct tnef_reader *r);
/* Decoded bytes of the part, in order, any chunking. */
void tnef_reader_feed(struct tnef_reader *r, const void *data, size_t len);
/* The part has ended: notes a truncated attribute or trailing bytes.  Idempotent. */
void tnef_reader_finish(struct tnef_reader *r);
/* Valid at any time; complete after tnef_reader_finish(). */
const struct tnef_evidence *tnef_reader_evidence(const struct tnef_reader *r);

/* True when a value whose checksum holds names a code page. */
bool tnef_has_codepage(const struct tnef_evidence *ev);
/* A one-line summary for -x ("attOemCodepage 1251, PR_INTERNET_CPID 20866"), into dst. */
void tnef_describe(const struct tnef_evidence *ev, char *dst, size_t cap);

/* Add the verified code pages that the charset registry knows to the
 * cascade's sender evidence (detect.h), strongest first (PR_INTERNET_CPID,
 * PR_MESSAGE_CODEPAGE, attOemCodepage), each charset once, with its reason
 * ("TNEF attOemCodepage 1251"). */
struct detect_context;
void tnef_add_to_context(const struct tnef_evidence *ev, struct detect_context *ctx);

#endif
