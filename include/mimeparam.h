/*
 * mimeparam.h -- parse Content-Type / Content-Disposition values (RFC 2045, RFC 2231).
 *
 * Input is the raw header value exactly as in the message (after the colon,
 * folding included, raw 8-bit allowed).  Output is the media type and the
 * parameter list, each parameter with its decoded value and the byte span of
 * its raw text inside the input, so the repair module can rewrite one
 * parameter and keep every other byte of the header as it was.
 *
 * RFC 2231: name*0, name*1* ... continuations are joined (sorted by section
 * number); name*=charset'lang'%XX values are percent-decoded and the charset
 * reported.  Invalid continuations (gaps, duplicates, bad %XX) set
 * MPARAM_ERR_2231 and the joined value stays whatever could be decoded.
 * Comments (RFC 822) are skipped.  Limits: at most MPARAM_MAX params and
 * MPARAM_MAX_VALUE bytes per decoded value; excess sets MPARAM_ERR_LIMIT.
 */
#ifndef CPM_MIMEPARAM_H
#define CPM_MIMEPARAM_H

#include <stddef.h>
#include <stdbool.h>

#define MPARAM_MAX		64
#define MPARAM_MAX_VALUE	8192

#define MPARAM_ERR_SYNTAX	0x01	/* something unparsable was skipped */
#define MPARAM_ERR_2231		0x02	/* invalid RFC 2231 continuation/encoding */
#define MPARAM_ERR_LIMIT	0x04	/* too many params or a value too long */
#define MPARAM_ERR_8BIT		0x08	/* raw bytes >= 0x80 in the value */
#define MPARAM_ERR_NOTYPE	0x10	/* no valid type/subtype token */

struct mparam {
	char *name;		/* lowercased, without the *N / * suffixes */
	char *value;		/* decoded (quotes removed, RFC 2231 joined and %-decoded) */
	size_t value_len;
	char *charset;		/* RFC 2231 charset of the value, or NULL */
	bool rfc2231;		/* value came from name* / name*N forms */
	bool raw_8bit;		/* value contains bytes >= 0x80 not from %XX */
	bool quoted;		/* (first section) was a quoted-string */
	/* Span in the input of the whole parameter, from the ';' that introduces
	 * it up to the end of its value (of its last section for continuations;
	 * for continuations spread over non-adjacent places this covers the first
	 * section only and `split` is true). */
	size_t span_start, span_end;
	/* Span of the value text of a simple (non-2231) parameter, quotes included. */
	size_t value_start, value_end;
	bool split;
};

struct mparams {
	char type[64];		/* lowercased "text"; "" when missing/invalid */
	char subtype[64];	/* lowercased "plain" */
	size_t type_end;	/* offset just after the type/subtype token */
	struct mparam *param;	/* nparam entries, grown on demand (a part costs
				   nothing for parameters it does not have) */
	size_t nparam, param_cap;
	unsigned errors;	/* MPARAM_ERR_* bits */
};

/* Parse value[0..len).  has_type: the value starts with type/subtype
 * (Content-Type) or with a disposition token (Content-Disposition, stored in
 * `type`, subtype ""). Never fails; problems are flagged in ->errors. */
void mparams_parse(struct mparams *out, const char *value, size_t len, bool has_type);
void mparams_free(struct mparams *p);
/* First parameter with that (lowercase) name, or NULL. */
const struct mparam *mparams_get(const struct mparams *p, const char *name);

#endif
