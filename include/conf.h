/*
 * conf.h -- configuration: embedded defaults, an opendkim-style "Key value" file, reload.
 *
 * Syntax: one "Key value" per line, keys case-insensitive, '#' starts a
 * comment (at line start or after white space), blank lines ignored, values
 * may contain spaces (rules: "Pattern charset" -- the charset is the last
 * word).  Repeatable keys (the rule and host-list keys) accumulate in file
 * order.  A non-repeatable key given twice is an error (a later line
 * silently winning hides typos); a key in the file replaces its embedded
 * default.  Lines are at most 4096 bytes; a UTF-8 byte order mark at the
 * start and CRLF line ends are accepted.
 *
 * Errors are reported as "FILE:LINE: message" lines (each ending in '\n'),
 * every error in the file, not just the first: unknown key (with the closest
 * known key suggested), missing value, bad boolean (yes/no/true/false/1/0/
 * on/off), bad size (digits with optional k/K/m/M/g/G suffix, binary
 * multiples; overflow), bad number or out of range, unknown charset
 * (placeholder labels such as unknown-8bit are errors for DefaultCharset; in
 * a rule they mean "no known charset, let detection decide", see rules.h),
 * bad Mode/SignedMessages/OnError/LogLevel/SyslogFacility value, bad address,
 * CIDR, host, sender or header pattern, bad AuditHeader name (RFC 5322
 * ftext), line too long, NUL byte, duplicate key.  An unreadable file gives
 * "FILE: strerror".  When err is too small the last line says how many
 * errors were left out.
 *
 * Scoping (conf_acts_on): a message is acted on when its client is not in
 * ExemptHosts and either InternalHosts is empty or the client is in it.
 * ExemptHosts wins over InternalHosts.
 *
 * A struct conf is immutable once loaded; reload builds a new one and swaps a
 * pointer (see runtime.h), so a bad file keeps the old configuration.
 *
 * Keys: conf_keys[] in conf.c is the one list -- the parser is driven by it,
 * conf_defaults() applies its defaults, and the KEYS section of
 * codepage-milter.conf(5) and the body of the example configuration
 * (packaging/codepage-milter.conf) are generated from it (make
 * regen-conf-docs; make check fails when the committed files differ).  Adding
 * a key is one row there plus its setter (and the struct conf field it sets).
 */
#ifndef CPM_CONF_H
#define CPM_CONF_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include "charset.h"
#include "rules.h"
#include "mime.h"
#include "memory.h"

/*
 * The field size limits, all from MaxHeaderSize: the longest value it may
 * take (the milter's buffer for one field as the MTA passes it holds that
 * much, milter.c), and how much longer than the field examined a rewritten
 * field may grow (plan.h): raw 8-bit text, converted to UTF-8 (up to 3
 * bytes a byte) and base64-encoded (4/3), is at most 4 times as long.
 */
#define CONF_HEADER_SIZE_MAX	(1024 * 1024)
#define CONF_FIELD_GROWTH	4

enum cpm_mode { MODE_OFF, MODE_REPORT, MODE_LABEL, MODE_TRANSCODE };
enum on_error { ON_ERROR_ACCEPT, ON_ERROR_TEMPFAIL };

struct conf {
	char *socket;
	enum cpm_mode mode;
	const struct charset_info *default_charset;
	struct rule_set *rules;
	struct host_list *internal_hosts;	/* empty: all sources */
	struct host_list *exempt_hosts;
	bool repair_signed;
	bool seven_bit_output;
	char *audit_header;			/* NULL = off */
	size_t max_message_size;		/* 0 = unlimited */
	char *spool_dir;
	size_t spool_threshold;
	enum on_error on_error;
	int log_level;				/* syslog priority: LOG_ERR..LOG_DEBUG */
	int syslog_facility;			/* LOG_MAIL... */
	bool syslog;
	char *user_id;
	char *pid_file;
	mode_t umask;
	struct mime_limits limits;
	bool tnef_evidence;			/* read TNEF parts for the sender's code page */
	size_t tnef_max_bytes;			/* most bytes read of one TNEF part, 0 = no limit */
	char *source_file;			/* file it was loaded from, NULL for defaults */
	struct memory_conf memory;		/* sender memory (Memory* keys) */
};

/*
 * The key table: the single source of truth for the parser (which looks keys
 * up here and applies values through `set`), for the embedded defaults
 * (conf_defaults() applies every default_text through the same `set`), and
 * for the documentation generated from it (packaging/tests/print_conf_keys).
 * Text fields use a small markup: *literal* (bold in the manual) and
 * <placeholder> (italic); the example configuration shows them plain.
 */
typedef bool conf_set_fn(struct conf *c, const char *value, const char *origin,
			 char *err, size_t errlen);
enum conf_section {
	CONF_SEC_OPERATION, CONF_SEC_RULES, CONF_SEC_SCOPE, CONF_SEC_OUTPUT,
	CONF_SEC_LIMITS, CONF_SEC_LOGGING, CONF_SEC_PROCESS, CONF_SEC_MEMORY
};
struct conf_section_info {
	const char *title;		/* ".SS" title in the manual, "## ---- title" in the example */
	const char *intro;		/* opening paragraph, or NULL */
};
extern const struct conf_section_info conf_sections[];	/* indexed by enum conf_section */
extern const size_t conf_nsections;
struct conf_key_info {
	const char *name;
	const char *default_text;	/* NULL: unset by default (documented as "none") */
	bool repeatable;
	enum conf_section section;	/* where the manual and the example list it */
	const char *syntax;		/* value syntax, e.g. "yes | no", "ADDRESS[/PREFIX] CHARSET" */
	const char *example;		/* no default: a value for the example file, else NULL */
	const char *doc;		/* the manual's paragraph about the key */
	conf_set_fn *set;		/* internal: parse and apply one value */
};
extern const struct conf_key_info conf_keys[];
extern const size_t conf_nkeys;
/* The table entry for a key (case-insensitive), or NULL. */
const struct conf_key_info *conf_key_find(const char *name);

/* Embedded defaults (no file). Never fails. */
struct conf *conf_defaults(void);
/* Load a file over the defaults.  On error returns NULL and writes
 * "FILE:LINE: message" lines into err (capacity errlen); all errors in the
 * file are reported, not just the first. */
struct conf *conf_load(const char *path, char *err, size_t errlen);
void conf_free(struct conf *c);

/* Apply one "key value" over c (command-line overrides): the same parsing
 * and errors as the file, without the duplicate check; origin (may be NULL)
 * names the place for rule descriptions.  Returns 0, or -1 with a message
 * (no "FILE:LINE:" prefix) in err. */
int conf_set(struct conf *c, const char *key, const char *value, const char *origin,
	     char *err, size_t errlen);

/* Should the milter act on mail from this client?  See "Scoping" above.
 * addr is the textual client address, hostname its verified name; either
 * may be NULL. */
bool conf_acts_on(const struct conf *c, const char *addr, const char *hostname);

/* Size parsing shared with the command line: "1048576", "64k", "10M", "1G"
 * (k/M/G are 1024-based, either case).  False on syntax error or overflow. */
bool conf_parse_size(const char *s, size_t *out);
const char *conf_mode_name(enum cpm_mode m);

#endif
