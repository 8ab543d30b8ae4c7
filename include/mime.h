/*
 * mime.h -- streaming MIME scanner: push message bytes in any chunking, get the part tree.
 *
 * The scanner is one state machine over lines (LF or CRLF, detected per
 * line).  It records, for every part, the byte offsets of its header block and
 * body, each header field's offsets, and the parsed Content-Type,
 * Content-Transfer-Encoding and Content-Disposition.  It never keeps the
 * message: offsets refer to the byte stream as fed (offset 0 = first byte fed),
 * and the caller keeps the bytes (see spool.h).  Only a bounded copy of each
 * header field is held while parsing it.
 *
 * Structure rules (RFC 2045/2046):
 *   - multipart/ * with a boundary: children are the parts between delimiter
 *     lines "--boundary" (trailing white space allowed); "--boundary--" closes.
 *     Delimiters of any enclosing multipart are recognised too and close the
 *     inner ones (missing close delimiters are an anomaly, not an error).
 *     The line ending before a delimiter belongs to the delimiter, not the body.
 *   - message/rfc822 and message/global bodies (and the default type of
 *     multipart/digest children) are parsed as an embedded message: one child
 *     part whose header block is the embedded message's header.  Only when the
 *     CTE is 7bit/8bit/binary/absent; an encoded message/rfc822 is a leaf.
 *   - default Content-Type is text/plain (message/rfc822 inside
 *     multipart/digest); a Content-Type without a valid type/subtype is
 *     treated as text/plain and flagged.
 *
 * Limits (struct mime_limits) turn into anomaly bits, never a crash or
 * unbounded memory: past max_depth or max_parts, further structure is treated
 * as leaf body; header fields longer than max_header_size are truncated in the
 * parsed copy (offsets stay exact); header count past max_headers (per
 * block) or max_total_headers (message-wide) stops recording fields (the part
 * is flagged HDR_COUNT); lines of any length are handled in O(1) memory (only
 * the first bytes of a line are needed to test for a boundary; a non-header
 * line longer than max_header_size in a header block ends the block and
 * streams as body).
 *
 * Leaf body bytes can be observed as they stream with a body callback (used by
 * analyze.h to decode and examine text parts in the same pass).  The bytes
 * come in order but in arbitrary pieces (a piece may hold many lines, or part
 * of one); all of a part's bytes are delivered before its part_end call.
 *
 * Part ids: the top level is "1"; the children of part P are "P.1", "P.2"...
 * in order; the embedded message of a message/rfc822|global part P is its only
 * child "P.1" (so the first part of a multipart message inside 1.2 is 1.2.1.1).
 */
#ifndef CPM_MIME_H
#define CPM_MIME_H

#include <stddef.h>
#include <stdbool.h>
#include "mimeparam.h"

/* Anomaly bits: per part (mime_part.anomalies) and message-wide (mime_message.anomalies). */
/* RFC 5322 2.1.1 / RFC 5321 4.5.3.1.6: a line holds at most 998 bytes before
 * its CRLF.  Longer body lines need a transfer encoding; header names can be
 * no longer. */
#define MIME_MAX_LINE	998

#define MIME_ANOM_DEPTH		0x0001	/* nesting deeper than max_depth: treated as leaf */
#define MIME_ANOM_PARTS		0x0002	/* more than max_parts: rest treated as body */
#define MIME_ANOM_HDR_SIZE	0x0004	/* a header field longer than max_header_size */
#define MIME_ANOM_HDR_COUNT	0x0008	/* more than max_headers fields in a block, or more
					   than max_total_headers in the message */
#define MIME_ANOM_8BIT_HDR	0x0010	/* raw bytes >= 0x80 in a header field */
#define MIME_ANOM_NO_BOUNDARY	0x0020	/* multipart without boundary parameter */
#define MIME_ANOM_NO_CLOSE	0x0040	/* multipart never closed by "--boundary--" */
#define MIME_ANOM_BAD_CT	0x0080	/* unparsable Content-Type */
#define MIME_ANOM_BAD_CTE	0x0100	/* unknown Content-Transfer-Encoding */
#define MIME_ANOM_BARE_CR	0x0200	/* CR not followed by LF */
#define MIME_ANOM_NUL		0x0400	/* NUL byte */
#define MIME_ANOM_LONG_LINE	0x0800	/* a line longer than MIME_MAX_LINE bytes (excl. EOL) */
#define MIME_ANOM_TRUNC_HDR	0x1000	/* input ended inside a header block */
#define MIME_ANOM_BAD_HDR_LINE	0x2000	/* header line with no colon (ends the block early) */
#define MIME_ANOM_PARAM		0x4000	/* Content-Type/Disposition parameter problems (mparams errors) */
#define MIME_ANOM_MIXED_EOL	0x8000	/* both LF and CRLF line endings */
#define MIME_ANOM_TOO_BIG	0x10000	/* more than max_message bytes: rest not scanned */

enum mime_cte {
	CTE_ABSENT = 0,		/* no header: 7bit by default */
	CTE_7BIT,
	CTE_8BIT,
	CTE_BINARY,
	CTE_QP,
	CTE_BASE64,
	CTE_UNKNOWN		/* some other token (x-uuencode ...) */
};

struct mime_limits {
	unsigned max_depth;		/* default 100 (Postfix's mime_nesting_limit) */
	unsigned max_parts;		/* default 1000 */
	unsigned max_headers;		/* per header block, default 1000 */
	size_t max_header_size;		/* one field incl. folding, default 64 KiB */
	size_t max_message;		/* 0 = unlimited */
	unsigned max_total_headers;	/* header fields recorded message-wide (all blocks);
					   0 = MIME_MAX_TOTAL_HEADERS_DEFAULT, and never less
					   than max_headers */
};
#define MIME_MAX_TOTAL_HEADERS_DEFAULT	10000
void mime_limits_default(struct mime_limits *l);

struct mime_header {
	size_t start;		/* first byte of the field name */
	size_t colon;		/* offset of the ':' */
	size_t end;		/* just after the final line ending of the field */
	size_t eol_len;		/* 1 (LF) or 2 (CRLF) for the final line ending, 0 at EOF */
	unsigned part;		/* index of the part whose header block holds it */
	bool has_8bit;		/* raw bytes >= 0x80 in name or value */
	bool truncated;		/* value longer than max_header_size: `value` is cut */
	char name[80];		/* field name as written (case kept), truncated if longer */
	char *value;		/* bounded copy of the raw value (after ':' up to the final EOL,
				   folding kept, NUL-terminated); owned by the message */
	size_t value_len;
};

struct mime_part {
	char id[256];		/* "1", "1.2", "1.2.1"... (the top level is "1"; a message/rfc822
				   child of part P is "P.1"; room for the default MaxDepth, 100;
				   ids past the buffer are truncated) */
	int parent;		/* index of the parent part, -1 for the top level */
	unsigned depth;		/* 0 for the top level */
	unsigned nchildren;
	size_t hdr_start, hdr_end;	/* header block: first field .. just after the last field */
	size_t body_start, body_end;	/* body: after the blank line .. before the EOL that precedes
					   the next delimiter (or end of input) */
	bool has_blank_line;	/* header block was ended by an empty line */
	unsigned first_header;	/* index into mime_message.headers */
	unsigned nheaders;	/* fields recorded for this part */
	int ct_header;		/* index into headers of Content-Type, -1 if absent */
	int cte_header;		/* index of Content-Transfer-Encoding, -1 if absent */
	int cd_header;		/* index of Content-Disposition, -1 if absent */
	int mimever_header;	/* index of MIME-Version, -1 if absent */
	char type[64];		/* lowercase; effective ("text" when absent/invalid) */
	char subtype[64];	/* lowercase; effective */
	bool ct_valid;		/* Content-Type present and parsable */
	struct mparams ct;	/* parsed Content-Type (empty when absent) */
	struct mparams cd;	/* parsed Content-Disposition (empty when absent) */
	enum mime_cte cte;
	bool is_multipart;	/* a multipart container with a boundary */
	bool is_message;	/* an embedded message/rfc822|global container */
	bool is_leaf;
	bool eol_crlf;		/* the part's header block used CRLF (majority) */
	unsigned anomalies;	/* MIME_ANOM_* for this part */
	/* Body line statistics (leaf parts; raw encoded bytes): */
	size_t max_line_len;	/* longest body line, excluding EOL */
	bool body_has_8bit;	/* raw body bytes >= 0x80 */
	bool body_has_nul;
};

struct mime_message {
	struct mime_part *parts;
	unsigned nparts;
	struct mime_header *headers;
	unsigned nheaders;
	unsigned anomalies;	/* union of all part anomalies plus message-wide ones */
	size_t size;		/* bytes fed */
	bool eol_crlf;		/* the message's (majority) line ending */
};

struct mime_scanner;

/* Called with raw (still transfer-encoded) body bytes of leaf part `part`, in
 * order; the final line ending before a delimiter is not passed. `m` is the
 * tree built so far (the part's headers are complete). */
typedef void (*mime_body_fn)(void *arg, const struct mime_message *m, unsigned part,
			     const char *data, size_t len);
/* Called once when a leaf part's body is complete (body_end known). */
typedef void (*mime_part_end_fn)(void *arg, const struct mime_message *m, unsigned part);

struct mime_scanner *mime_scanner_new(const struct mime_limits *limits);
void mime_scanner_set_body_callback(struct mime_scanner *sc, mime_body_fn body,
				    mime_part_end_fn part_end, void *arg);
void mime_scanner_feed(struct mime_scanner *sc, const char *data, size_t len);
/* End of input: closes open parts; returns the tree, owned by the scanner. */
const struct mime_message *mime_scanner_finish(struct mime_scanner *sc);
void mime_scanner_free(struct mime_scanner *sc);

/* Helpers on a finished tree. */
const char *mime_cte_name(enum mime_cte cte);
/* The i-th header (0-based) of part p with that name (case-insensitive), or NULL. */
const struct mime_header *mime_part_header(const struct mime_message *m, unsigned p,
					   const char *name, unsigned nth);
/* True when part p is or lies inside multipart/signed, multipart/encrypted,
 * application/pkcs7-mime, application/x-pkcs7-mime or application/pkcs7-signature. */
bool mime_part_in_signed(const struct mime_message *m, unsigned p);
/* True when part p is the direct content of a message/global part (RFC 6532:
 * its header fields may carry raw UTF-8). */
bool mime_part_in_message_global(const struct mime_message *m, unsigned p);

#endif
