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
 * pointer (see milter.c), so a bad file keeps the old configuration.
 *
 * Keys (default in brackets) -- every key here is documented in
 * codepage-milter.conf(5) and in packaging/codepage-milter.conf; a test checks
 * the three lists agree:
 *   Socket            [local:/run/codepage-milter/codepage-milter.sock]
 *   Mode              off | report | label | transcode  [label]
 *   DefaultCharset    [windows-1252]
 *   ClientCharset     ADDR|CIDR CHARSET     (repeatable)
 *   HeloCharset       NAME|.SUFFIX CHARSET  (repeatable)
 *   SenderCharset     ADDR|@DOMAIN|.DOMAIN CHARSET (repeatable)
 *   HeaderCharset     Header-Name:substring CHARSET (repeatable)
 *   InternalHosts     ADDR|CIDR|NAME ... (repeatable; empty = act on all sources)
 *   ExemptHosts       ADDR|CIDR|NAME ... (repeatable; never act on these)
 *   SignedMessages    skip | repair  [skip]
 *   SevenBitOutput    yes | no  [no]
 *   AuditHeader       header name | off  [X-Codepage-Milter]
 *   MaxMessageSize    size  [50M] (larger messages pass untouched)
 *   SpoolDir          absolute directory  [/var/spool/codepage-milter]
 *   SpoolThreshold    size  [1M]
 *   OnError           accept | tempfail  [accept]
 *   LogLevel          error | warning | notice | info | debug  [notice]
 *   SyslogFacility    mail | daemon | local0..local7  [mail]
 *   Syslog            yes | no  [yes]
 *   UserID            user[:group]  [none]
 *   PidFile           path  [none]
 *   UMask             octal  [007]
 *   MaxHeaders        count [1000]   MaxDepth  count [100]   MaxParts count [1000]
 *   MaxHeaderSize     size [64k]
 *   MemoryBackend     none | lmdb | redis  [lmdb]     MemoryPath  path [SpoolDir/memory.lmdb]
 *   MemoryRedis       host:port [127.0.0.1:6379]     MemoryPrefix string [cpm:]
 *   MemoryTTL         duration [90d]   MemoryHalfLife duration [30d]
 *   MemoryMaxKeys     count [100000]   MemoryMapSize  size [64M]
 *   MemoryTimeout     milliseconds [20]   MemoryMinCount count [3]
 * The authoritative list, with value syntax and manual text for each key, is
 * conf_keys[] in conf.c; the parser is driven by it.
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
 * (conf_defaults() applies every default_text through the same `set`), for
 * the documentation consistency test and for -n output.
 */
typedef bool conf_set_fn(struct conf *c, const char *value, const char *origin,
			 char *err, size_t errlen);
struct conf_key_info {
	const char *name;
	const char *default_text;	/* NULL: unset by default (documented as "none") */
	bool repeatable;
	const char *syntax;		/* value syntax for the manual, e.g. "yes | no" */
	const char *doc;		/* one or two sentences for codepage-milter.conf(5) */
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
