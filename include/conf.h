/*
 * conf.h -- configuration: embedded defaults, an opendkim-style "Key value" file, reload.
 *
 * Syntax: one "Key value" per line, keys case-insensitive, '#' starts a
 * comment (at line start or after white space), blank lines ignored, values
 * may contain spaces (rules: "Pattern charset").  Repeatable keys (the rule
 * and host-list keys) accumulate in file order.  Unknown keys, missing
 * values, bad numbers/sizes ("10M", "64k"), unknown charsets and bad
 * patterns are errors reported as "FILE:LINE: message".
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
 *   SpoolDir          directory  [/var/spool/codepage-milter, or $TMPDIR]
 *   SpoolThreshold    size  [1M]
 *   OnError           accept | tempfail  [accept]
 *   LogLevel          error | warning | notice | info | debug  [notice]
 *   SyslogFacility    mail | daemon | local0..local7  [mail]
 *   Syslog            yes | no  [yes]
 *   UserID            user[:group]  [none]
 *   PidFile           path  [none]
 *   UMask             octal  [007]
 *   MaxHeaders        count [1000]   MaxDepth  count [32]   MaxParts count [1000]
 *   MaxHeaderSize     size [64k]
 */
#ifndef CPM_CONF_H
#define CPM_CONF_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include "charset.h"
#include "rules.h"
#include "mime.h"

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
	char *source_file;			/* file it was loaded from, NULL for defaults */
};

/* The key table, for documentation consistency tests and -n output. */
struct conf_key_info { const char *name; const char *default_text; bool repeatable; };
extern const struct conf_key_info conf_keys[];
extern const size_t conf_nkeys;

/* Embedded defaults (no file). Never fails. */
struct conf *conf_defaults(void);
/* Load a file over the defaults.  On error returns NULL and writes
 * "FILE:LINE: message" lines into err (capacity errlen); all errors in the
 * file are reported, not just the first. */
struct conf *conf_load(const char *path, char *err, size_t errlen);
void conf_free(struct conf *c);

/* Size parsing shared with the command line: "1048576", "64k", "10M", "1G". */
bool conf_parse_size(const char *s, size_t *out);
const char *conf_mode_name(enum cpm_mode m);

#endif
