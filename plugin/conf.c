/*
 * conf.c -- configuration: embedded defaults, the "Key value" file.  See conf.h.
 *
 * Everything about a key lives in one row of conf_keys[]: its name, its
 * default (applied through the same setter as a file value, so a default
 * that does not parse is caught by the unit tests), whether it repeats, and
 * the text the manual page is built from.  The file parser only splits lines
 * into key and value, finds the row and calls its setter; it never knows
 * individual keys.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "util.h"

#define CONF_LINE_MAX	4096	/* longest accepted line, without its line end */
#define SUGGEST_KEY_MAX	64	/* no "did you mean" for longer unknown keys */

/* ---- value parsers ------------------------------------------------------------ */

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(yes); i++) {
		if (ascii_strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (ascii_strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Decimal digits only (no sign, no space), overflow checked. */
static bool parse_decimal(const char *s, const char **end, uintmax_t *out)
{
	uintmax_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINTMAX_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*end = s;
	*out = v;
	return true;
}

bool conf_parse_size(const char *s, size_t *out)
{
	uintmax_t v, mult = 1;
	const char *end;

	if (!parse_decimal(s, &end, &v))
		return false;
	switch (*end) {
	case '\0':		break;
	case 'k': case 'K':	mult = 1024; end++; break;
	case 'm': case 'M':	mult = 1024 * 1024; end++; break;
	case 'g': case 'G':	mult = 1024 * 1024 * 1024; end++; break;
	default:		return false;
	}
	if (*end != '\0' || v > SIZE_MAX / mult)
		return false;
	*out = (size_t)(v * mult);
	return true;
}

static bool parse_count(const char *s, uintmax_t min, uintmax_t max, unsigned *out)
{
	uintmax_t v;
	const char *end;

	if (!parse_decimal(s, &end, &v) || *end != '\0' || v < min || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* ---- setters: one per key ------------------------------------------------------- */

static void replace_string(char **slot, const char *value)
{
	free(*slot);
	*slot = xstrdup(value);
}

static bool set_socket(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	const char *rest = NULL;
	uintmax_t port;
	const char *end;

	(void)origin;
	if (v[0] == '/') {
		rest = NULL;
	} else if (ascii_strncasecmp(v, "unix:", 5) == 0 || ascii_strncasecmp(v, "local:", 6) == 0) {
		rest = strchr(v, ':') + 1;
		if (rest[0] != '/') {
			snprintf(err, errlen, "bad Socket \"%s\": the path must be absolute", v);
			return false;
		}
	} else if (ascii_strncasecmp(v, "inet:", 5) == 0 || ascii_strncasecmp(v, "inet6:", 6) == 0) {
		rest = strchr(v, ':') + 1;
		if (!parse_decimal(rest, &end, &port) || port == 0 || port > 65535 ||
		    (*end != '\0' && (*end != '@' || end[1] == '\0'))) {
			snprintf(err, errlen, "bad Socket \"%s\": expected inet:PORT[@HOST]", v);
			return false;
		}
	} else {
		snprintf(err, errlen, "bad Socket \"%s\" (local:/path, inet:PORT@HOST or inet6:PORT@HOST)", v);
		return false;
	}
	replace_string(&c->socket, v);
	return true;
}

static bool set_mode(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	static const enum cpm_mode modes[] = { MODE_OFF, MODE_REPORT, MODE_LABEL, MODE_TRANSCODE };
	size_t i;

	(void)origin;
	for (i = 0; i < ARRAY_LEN(modes); i++) {
		if (ascii_strcasecmp(v, conf_mode_name(modes[i])) == 0) {
			c->mode = modes[i];
			return true;
		}
	}
	snprintf(err, errlen, "bad Mode \"%s\" (off, report, label or transcode)", v);
	return false;
}

static bool set_default_charset(struct conf *c, const char *v, const char *origin,
				char *err, size_t errlen)
{
	const struct charset_info *cs = charset_lookup(v);

	(void)origin;
	if (cs == NULL) {
		if (charset_is_placeholder(v))
			snprintf(err, errlen, "DefaultCharset \"%s\" is a placeholder label, "
				 "not a charset", v);
		else
			snprintf(err, errlen, "unknown charset \"%s\" for DefaultCharset", v);
		return false;
	}
	c->default_charset = cs;
	return true;
}

/* "PATTERN CHARSET": the charset is the last word, the pattern all before it
 * (header patterns may contain spaces). */
static bool add_rule(struct conf *c, enum rule_kind kind, const char *key, const char *v,
		     const char *origin, char *err, size_t errlen)
{
	const char *label, *cut;
	const struct charset_info *cs;
	char *pattern;
	char msg[256];
	bool ok;

	label = v + strlen(v);
	while (label > v && !is_space((unsigned char)label[-1]))
		label--;
	cut = label;
	while (cut > v && is_space((unsigned char)cut[-1]))
		cut--;
	if (cut == v) {
		snprintf(err, errlen, "%s needs a pattern and a charset", key);
		return false;
	}
	cs = charset_lookup(label);
	if (cs == NULL && !charset_is_placeholder(label)) {
		snprintf(err, errlen, "unknown charset \"%s\" for %s", label, key);
		return false;
	}
	pattern = xstrndup(v, (size_t)(cut - v));
	ok = rule_set_add(c->rules, kind, pattern, cs, origin, msg, sizeof(msg)) == 0;
	if (!ok)
		snprintf(err, errlen, "%s: %s", key, msg);
	free(pattern);
	return ok;
}

static bool set_client_charset(struct conf *c, const char *v, const char *origin,
			       char *err, size_t errlen)
{
	return add_rule(c, RULE_CLIENT, "ClientCharset", v, origin, err, errlen);
}

static bool set_helo_charset(struct conf *c, const char *v, const char *origin,
			     char *err, size_t errlen)
{
	return add_rule(c, RULE_HELO, "HeloCharset", v, origin, err, errlen);
}

static bool set_sender_charset(struct conf *c, const char *v, const char *origin,
			       char *err, size_t errlen)
{
	return add_rule(c, RULE_SENDER, "SenderCharset", v, origin, err, errlen);
}

static bool set_header_charset(struct conf *c, const char *v, const char *origin,
			       char *err, size_t errlen)
{
	return add_rule(c, RULE_HEADER, "HeaderCharset", v, origin, err, errlen);
}

/* Host lists: patterns separated by white space or commas. */
static bool add_hosts(struct host_list *hl, const char *key, const char *v, char *err, size_t errlen)
{
	char msg[256];

	while (*v != '\0') {
		size_t n = strcspn(v, " \t,");

		if (n > 0) {
			char *pattern = xstrndup(v, n);
			int rc = host_list_add(hl, pattern, msg, sizeof(msg));

			free(pattern);
			if (rc != 0) {
				snprintf(err, errlen, "%s: %s", key, msg);
				return false;
			}
		}
		v += n;
		v += strspn(v, " \t,");
	}
	return true;
}

static bool set_internal_hosts(struct conf *c, const char *v, const char *origin,
			       char *err, size_t errlen)
{
	(void)origin;
	return add_hosts(c->internal_hosts, "InternalHosts", v, err, errlen);
}

static bool set_exempt_hosts(struct conf *c, const char *v, const char *origin,
			     char *err, size_t errlen)
{
	(void)origin;
	return add_hosts(c->exempt_hosts, "ExemptHosts", v, err, errlen);
}

static bool set_signed_messages(struct conf *c, const char *v, const char *origin,
				char *err, size_t errlen)
{
	(void)origin;
	if (ascii_strcasecmp(v, "skip") == 0)
		c->repair_signed = false;
	else if (ascii_strcasecmp(v, "repair") == 0)
		c->repair_signed = true;
	else {
		snprintf(err, errlen, "bad SignedMessages \"%s\" (skip or repair)", v);
		return false;
	}
	return true;
}

static bool set_bool(bool *slot, const char *key, const char *v, char *err, size_t errlen)
{
	if (!parse_bool(v, slot)) {
		snprintf(err, errlen, "bad boolean \"%s\" for %s (yes or no)", v, key);
		return false;
	}
	return true;
}

static bool set_seven_bit_output(struct conf *c, const char *v, const char *origin,
				 char *err, size_t errlen)
{
	(void)origin;
	return set_bool(&c->seven_bit_output, "SevenBitOutput", v, err, errlen);
}

static bool set_tnef_evidence(struct conf *c, const char *v, const char *origin,
			      char *err, size_t errlen)
{
	(void)origin;
	return set_bool(&c->tnef_evidence, "TnefEvidence", v, err, errlen);
}

static bool set_syslog(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	return set_bool(&c->syslog, "Syslog", v, err, errlen);
}

static bool set_audit_header(struct conf *c, const char *v, const char *origin,
			     char *err, size_t errlen)
{
	(void)origin;
	if (ascii_strcasecmp(v, "off") == 0) {
		free(c->audit_header);
		c->audit_header = NULL;
		return true;
	}
	if (!header_name_valid(v, strlen(v))) {
		snprintf(err, errlen, "bad AuditHeader \"%s\": not a header field name "
			 "(printable ASCII without ':' or space, at most %d) or \"off\"",
			 v, HEADER_NAME_MAX);
		return false;
	}
	replace_string(&c->audit_header, v);
	return true;
}

static bool set_size(size_t *slot, size_t min, const char *key, const char *v,
		     char *err, size_t errlen)
{
	size_t n;

	if (!conf_parse_size(v, &n)) {
		snprintf(err, errlen, "bad size \"%s\" for %s (digits with optional k, M or G; "
			 "overflow is an error)", v, key);
		return false;
	}
	if (n < min) {
		snprintf(err, errlen, "size \"%s\" for %s is below the minimum %zu", v, key, min);
		return false;
	}
	*slot = n;
	return true;
}

static bool set_max_message_size(struct conf *c, const char *v, const char *origin,
				  char *err, size_t errlen)
{
	(void)origin;
	if (!set_size(&c->max_message_size, 0, "MaxMessageSize", v, err, errlen))
		return false;
	c->limits.max_message = c->max_message_size;
	return true;
}

static bool set_spool_threshold(struct conf *c, const char *v, const char *origin,
				char *err, size_t errlen)
{
	(void)origin;
	return set_size(&c->spool_threshold, 0, "SpoolThreshold", v, err, errlen);
}

static bool set_tnef_max_bytes(struct conf *c, const char *v, const char *origin,
			       char *err, size_t errlen)
{
	(void)origin;
	return set_size(&c->tnef_max_bytes, 0, "TnefMaxBytes", v, err, errlen);
}

static bool set_max_header_size(struct conf *c, const char *v, const char *origin,
				char *err, size_t errlen)
{
	(void)origin;
	/* below one RFC 5322 line (998 + CRLF) ordinary headers would be cut */
	if (!set_size(&c->limits.max_header_size, 1000, "MaxHeaderSize", v, err, errlen))
		return false;
	if (c->limits.max_header_size > CONF_HEADER_SIZE_MAX) {
		snprintf(err, errlen, "size \"%s\" for MaxHeaderSize is above the maximum %d (1M)", v,
			 CONF_HEADER_SIZE_MAX);
		return false;
	}
	return true;
}

static bool set_path(char **slot, const char *key, const char *v, char *err, size_t errlen)
{
	if (v[0] != '/') {
		snprintf(err, errlen, "%s \"%s\" must be an absolute path", key, v);
		return false;
	}
	replace_string(slot, v);
	return true;
}

static bool set_spool_dir(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	return set_path(&c->spool_dir, "SpoolDir", v, err, errlen);
}

static bool set_pid_file(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	return set_path(&c->pid_file, "PidFile", v, err, errlen);
}

static bool set_on_error(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	if (ascii_strcasecmp(v, "accept") == 0)
		c->on_error = ON_ERROR_ACCEPT;
	else if (ascii_strcasecmp(v, "tempfail") == 0)
		c->on_error = ON_ERROR_TEMPFAIL;
	else {
		snprintf(err, errlen, "bad OnError \"%s\" (accept or tempfail)", v);
		return false;
	}
	return true;
}

static bool set_log_level(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	int level = log_level_parse(v);

	(void)origin;
	if (level < 0) {
		snprintf(err, errlen, "bad LogLevel \"%s\" (error, warning, notice, info or debug)", v);
		return false;
	}
	c->log_level = level;
	return true;
}

static bool set_syslog_facility(struct conf *c, const char *v, const char *origin,
				char *err, size_t errlen)
{
	int facility = log_facility_parse(v);

	(void)origin;
	if (facility < 0) {
		snprintf(err, errlen, "bad SyslogFacility \"%s\" (mail, daemon or local0..local7)", v);
		return false;
	}
	c->syslog_facility = facility;
	return true;
}

static bool account_name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

static bool set_user_id(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	const char *colon = strchr(v, ':');
	size_t userlen = colon ? (size_t)(colon - v) : strlen(v);

	(void)origin;
	if (!account_name_valid(v, userlen) ||
	    (colon != NULL && !account_name_valid(colon + 1, strlen(colon + 1)))) {
		snprintf(err, errlen, "bad UserID \"%s\" (user or user:group)", v);
		return false;
	}
	replace_string(&c->user_id, v);
	return true;
}

static bool set_umask(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	size_t n = strlen(v), i;
	unsigned value = 0;

	(void)origin;
	if (n == 0 || n > 4)
		goto bad;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '7')
			goto bad;
		value = value * 8 + (unsigned)(v[i] - '0');
	}
	if (value > 0777)
		goto bad;
	c->umask = (mode_t)value;
	return true;
bad:
	snprintf(err, errlen, "bad UMask \"%s\" (octal, 000..777)", v);
	return false;
}

static bool set_count(unsigned *slot, const char *key, uintmax_t min, uintmax_t max,
		      const char *v, char *err, size_t errlen)
{
	if (!parse_count(v, min, max, slot)) {
		snprintf(err, errlen, "bad number \"%s\" for %s (%ju..%ju)", v, key, min, max);
		return false;
	}
	return true;
}

static bool set_max_headers(struct conf *c, const char *v, const char *origin,
			    char *err, size_t errlen)
{
	(void)origin;
	return set_count(&c->limits.max_headers, "MaxHeaders", 1, 100000, v, err, errlen);
}

static bool set_max_depth(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	return set_count(&c->limits.max_depth, "MaxDepth", 1, 1000, v, err, errlen);
}

static bool set_max_parts(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	return set_count(&c->limits.max_parts, "MaxParts", 1, 100000, v, err, errlen);
}

/* ---- sender memory (memory.h) ------------------------------------------------------ */

static bool set_memory_backend(struct conf *c, const char *v, const char *origin,
			       char *err, size_t errlen)
{
	(void)origin;
	if (!memory_parse_backend(v, &c->memory.backend)) {
		snprintf(err, errlen, "bad MemoryBackend \"%s\" (none, lmdb or redis)", v);
		return false;
	}
	return true;
}

static bool set_memory_path(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	return set_path(&c->memory.path, "MemoryPath", v, err, errlen);
}

static bool set_memory_redis(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	if (!memory_parse_hostport(v)) {
		snprintf(err, errlen, "bad MemoryRedis \"%s\" (HOST:PORT)", v);
		return false;
	}
	replace_string(&c->memory.redis, v);
	return true;
}

static bool set_memory_prefix(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	for (const char *p = v; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || p - v >= 32) {
			snprintf(err, errlen, "bad MemoryPrefix \"%s\" (up to 32 printable characters)", v);
			return false;
		}
	replace_string(&c->memory.prefix, v);
	return true;
}

static bool set_duration(unsigned *slot, const char *key, const char *v, char *err, size_t errlen)
{
	if (!memory_parse_duration(v, slot)) {
		snprintf(err, errlen, "bad %s \"%s\" (a duration: 3600, 90s, 30m, 12h, 90d)", key, v);
		return false;
	}
	return true;
}

static bool set_memory_ttl(struct conf *c, const char *v, const char *origin, char *err, size_t errlen)
{
	(void)origin;
	return set_duration(&c->memory.ttl, "MemoryTTL", v, err, errlen);
}

static bool set_memory_half_life(struct conf *c, const char *v, const char *origin,
				 char *err, size_t errlen)
{
	(void)origin;
	return set_duration(&c->memory.half_life, "MemoryHalfLife", v, err, errlen);
}

static bool set_memory_max_keys(struct conf *c, const char *v, const char *origin,
				char *err, size_t errlen)
{
	(void)origin;
	return set_count(&c->memory.max_keys, "MemoryMaxKeys", 10, 10000000, v, err, errlen);
}

static bool set_memory_map_size(struct conf *c, const char *v, const char *origin,
				char *err, size_t errlen)
{
	(void)origin;
	return set_size(&c->memory.map_size, 1u << 20, "MemoryMapSize", v, err, errlen);
}

static bool set_memory_timeout(struct conf *c, const char *v, const char *origin,
			       char *err, size_t errlen)
{
	(void)origin;
	return set_count(&c->memory.timeout_ms, "MemoryTimeout", 1, 5000, v, err, errlen);
}

static bool set_memory_cache_time(struct conf *c, const char *v, const char *origin,
				  char *err, size_t errlen)
{
	(void)origin;
	return set_count(&c->memory.cache_ms, "MemoryCacheTime", 0, 60000, v, err, errlen);
}

static bool set_memory_min_count(struct conf *c, const char *v, const char *origin,
				 char *err, size_t errlen)
{
	(void)origin;
	return set_count(&c->memory.min_count, "MemoryMinCount", 1, 1000, v, err, errlen);
}

#ifdef CPM_TEST_EXTRA_KEY
/* A key that exists only in the build of packaging/tests/conf-docs.test, which
 * shows that one row plus its setter puts a key into the parser, the manual
 * and the example configuration.  Validated like any count, then dropped. */
static bool set_test_extra_key(struct conf *c, const char *v, const char *origin, char *err,
			       size_t errlen)
{
	unsigned n;

	(void)c;
	(void)origin;
	return set_count(&n, "TestExtraKey", 1, 100, v, err, errlen);
}
#endif

/* ---- the key table ------------------------------------------------------------------ */

/*
 * The sections of codepage-milter.conf(5) and of the example configuration,
 * in order, with the paragraph that opens each (NULL: none).  Markup in all
 * the text below, for the generator (packaging/tests/print_conf_keys.c):
 * *literal* is set in bold, <placeholder> in italic; nothing else is special.
 */
const struct conf_section_info conf_sections[] = {
	[CONF_SEC_OPERATION] = { "Operation", NULL },
	[CONF_SEC_RULES] = { "Charset rules",
	  "A rule says \"unlabelled mail from this source is in that character set\".  The rule keys "
	  "are <repeatable> and are tried in file order across all four keys; the first rule that "
	  "matches the message wins.  The value is a pattern followed by a <charset>; the charset is "
	  "the last word of the value, the pattern is everything before it.  A rule only chooses "
	  "between character sets under which the text decodes: valid UTF-8 stays UTF-8, and a rule "
	  "whose character set cannot decode the bytes is skipped with a note in the audit header.  "
	  "A placeholder character set (*unknown-8bit*, *x-unknown*) says \"this source has no known "
	  "character set\": it stops the search and leaves the choice to detection.  Patterns and "
	  "names compare ASCII case-insensitively.  None are set by default." },
	[CONF_SEC_SCOPE] = { "Scope", NULL },
	[CONF_SEC_OUTPUT] = { "Output", NULL },
	[CONF_SEC_LIMITS] = { "Limits",
	  "Past a limit a message passes unchanged with a reason in the log; no limit ever causes a "
	  "message to be lost." },
	[CONF_SEC_LOGGING] = { "Errors and logging", NULL },
	[CONF_SEC_PROCESS] = { "Process", NULL },
	[CONF_SEC_MEMORY] = { "Sender memory",
	  "Legacy mail comes from legacy systems, and each keeps sending in one code page.  The "
	  "sender memory counts, per source, the charsets that the detector's own statistics found "
	  "with high confidence in that source's longer texts, and uses them as a prior for the same "
	  "source's short texts (a one-line reply, a Subject), where statistics alone are weakest.  "
	  "The sources are the client's network (IPv4 /24, IPv6 /48), the HELO name, the envelope "
	  "sender's domain, the *From:* domain and the *X-Mailer* (or *User-Agent*); addresses are "
	  "stored only as keyed hashes.  A prior is used only when the text decodes under it and the "
	  "text's own statistics score it close to their best choice, so that a source cannot talk "
	  "the milter into a charset its text contradicts; the memory never learns from its own "
	  "answers.  The audit header and *-x* name it (\"sender memory: example.ru 412x koi8-r\").  "
	  "On the replay benchmark in tests/eval/REPORT.md the memory raises accuracy on short texts "
	  "and changes nothing on long ones, so it is on by default.  A missing, full, corrupt or "
	  "unreachable store means no prior: mail is never delayed or tempfailed for it, and the "
	  "failure is logged at most every five minutes.  *codepage-milter -M* lists, shows as "
	  "JSON, or forgets what was learned (see codepage-milter(8))." },
};
const size_t conf_nsections = ARRAY_LEN(conf_sections);

/*
 * One row per key: name, default (NULL: none), repeatable, section, value
 * syntax, example value for the example configuration (keys without a
 * default only: one that changes behaviour when uncommented), the manual's
 * paragraph, setter.  The manual page's KEYS section and the example
 * configuration are generated from these rows (make regen-conf-docs).
 */
const struct conf_key_info conf_keys[] = {
	{ "Socket", "local:/run/codepage-milter/codepage-milter.sock", false, CONF_SEC_OPERATION,
	  "local:PATH | inet:PORT[@HOST] | inet6:PORT[@HOST]", NULL,
	  "Where the milter listens, in libmilter notation: *local:*<path> or *unix:*<path> or a bare "
	  "path (unix socket), *inet:*<port>[@<host>] (IPv4), *inet6:*<port>[@<host>] (IPv6).  The "
	  "command line option *-p* overrides it; the packaged *systemd*(1) unit passes "
	  "*-p local:/run/codepage-milter/codepage-milter.sock*, so to move the packaged service to "
	  "another socket, change the unit with *systemctl edit codepage-milter*.  Not changed by a "
	  "reload.", set_socket },
	{ "Mode", "label", false, CONF_SEC_OPERATION, "off | report | label | transcode", NULL,
	  "What to do with a message whose text is unlabelled or mislabelled.  *off*: nothing, every "
	  "message passes unchanged.  *report*: only add the audit header saying what was found and "
	  "what would be done.  *label*: add or correct the *charset* parameter (and encode raw 8-bit "
	  "header text as RFC 2047/2231 words in the detected character set); the text bytes are not "
	  "changed.  *transcode*: as *label*, and convert inline text parts to UTF-8 (an HTML part's "
	  "<meta> charset is rewritten with it) and headers to UTF-8 encoded words; a plain text "
	  "whose paragraphs are plainly in different charsets (a reply quoting older mail) is "
	  "converted paragraph by paragraph, which no label can express, so *label* leaves such "
	  "a text alone and says *mixed*; attachments are only labelled.", set_mode },
	{ "DefaultCharset", "windows-1252", false, CONF_SEC_OPERATION, "CHARSET", NULL,
	  "The character set assumed for 8-bit text that is not valid UTF-8 when no rule matches and "
	  "the statistical detector is not confident.  It is never chosen for bytes that do not "
	  "decode under it.  It must be a real character set, not a placeholder such as "
	  "*unknown-8bit*.", set_default_charset },
	{ "ClientCharset", NULL, true, CONF_SEC_RULES, "ADDRESS[/PREFIX] CHARSET",
	  "192.0.2.0/24 windows-1251",
	  "Matches the SMTP client's IP address: an IPv4 or IPv6 address (*192.0.2.7*, "
	  "*2001:db8::7*) or a network in CIDR notation (*192.0.2.0/24*, *2001:db8::/32*).  IPv4 "
	  "patterns also match IPv4-mapped IPv6 client addresses; *::/0* matches every client.  A "
	  "network with host bits set beyond its prefix is an error.", set_client_charset },
	{ "HeloCharset", NULL, true, CONF_SEC_RULES, "NAME|.SUFFIX CHARSET", ".example.ru koi8-r",
	  "Matches the HELO/EHLO name or the client's host name as reported by the MTA, "
	  "case-insensitively: a full name (*mail.example.com*) or, with a leading dot, the proper "
	  "subdomains of a name (*.example.ru* matches *mx1.example.ru* but not *example.ru*).",
	  set_helo_charset },
	{ "SenderCharset", NULL, true, CONF_SEC_RULES, "USER@DOMAIN|@DOMAIN|.DOMAIN CHARSET",
	  "@example.co.jp shift_jis",
	  "Matches the envelope sender, case-insensitively: a full address (*user@example.com*), a "
	  "domain (*@example.com*, that domain only), or the subdomains of a domain "
	  "(*.example.com*).  A bare domain without *@* or a leading dot is an error; the null "
	  "sender matches no rule.", set_sender_charset },
	{ "HeaderCharset", NULL, true, CONF_SEC_RULES, "NAME:SUBSTRING CHARSET",
	  "X-Mailer:Microsoft Exchange Server 4.0 windows-1251",
	  "Matches when a top-level header field called <Name> contains <substring> "
	  "(case-insensitive; it may contain spaces; a run of white space, folding included, "
	  "compares as one space; an empty substring means \"the header is present\"), for example "
	  "*HeaderCharset X-Mailer:Microsoft Exchange Server 4.0 windows-1251*.", set_header_charset },
	{ "InternalHosts", NULL, true, CONF_SEC_SCOPE, "ADDRESS[/PREFIX]|NAME|.SUFFIX ...",
	  "127.0.0.1 ::1 192.0.2.0/24",
	  "The sources the milter acts on: IP addresses, CIDR networks and host names (a leading "
	  "dot for a suffix), separated by white space or commas.  When set, mail from other "
	  "sources passes unchanged; unset, mail from all sources is acted on.", set_internal_hosts },
	{ "ExemptHosts", NULL, true, CONF_SEC_SCOPE, "ADDRESS[/PREFIX]|NAME|.SUFFIX ...",
	  "198.51.100.25",
	  "Sources never acted on, in the same syntax as *InternalHosts*; wins over "
	  "*InternalHosts*.", set_exempt_hosts },
	{ "SignedMessages", "skip", false, CONF_SEC_SCOPE, "skip | repair", NULL,
	  "*skip* leaves messages with a signature alone (multipart/signed, application/pkcs7-mime, "
	  "a *DKIM-Signature* header); any repair would break the signature.  *repair* treats them "
	  "like other mail; use it only where the mail is signed again after this milter.",
	  set_signed_messages },
	{ "TnefEvidence", "yes", false, CONF_SEC_SCOPE, "yes | no", NULL,
	  "Read the message's own TNEF part (*application/ms-tnef*, or a *winmail.dat* or *win.dat* "
	  "attachment sent as *application/octet-stream*) for the code page the sender's Exchange or "
	  "Outlook declared there: *PR_INTERNET_CPID* (the code page of the Internet rendering of the "
	  "body), *PR_MESSAGE_CODEPAGE* and *attOemCodepage* (the code page of its 8-bit strings), "
	  "also *PR_MESSAGE_LOCALE_ID*, whether the TNEF body is 8-bit text, and the attachment "
	  "titles (shown by *codepage-milter -x*).  Only values whose TNEF checksum holds count.  The "
	  "code page labels unlabelled 8-bit text and raw 8-bit header text of that message when the "
	  "text decodes under it and the statistics do not overwhelmingly contradict it; a "
	  "configured source rule still comes first.  A damaged, truncated, empty or oversized TNEF "
	  "part is simply no evidence.  The TNEF part itself is never changed.  *no* turns this off.",
	  set_tnef_evidence },
	{ "TnefMaxBytes", "16M", false, CONF_SEC_SCOPE, "SIZE", NULL,
	  "Most decoded bytes of one TNEF part read for that evidence (*0* means no limit); reading "
	  "stops there, keeping what was already read and checked.  The reader keeps only a few "
	  "kilobytes of state whatever the size.", set_tnef_max_bytes },
	{ "SevenBitOutput", "no", false, CONF_SEC_OUTPUT, "yes | no", NULL,
	  "*yes* gives every repaired text part a 7-bit transfer encoding (quoted-printable or "
	  "base64), for next hops without 8BITMIME.", set_seven_bit_output },
	{ "AuditHeader", "X-Codepage-Milter", false, CONF_SEC_OUTPUT, "HEADER-NAME | off", NULL,
	  "The header field added to each message the milter changes (or would change, in *report* "
	  "mode), saying per part what was found, what was chosen and why.  *off* adds none.  A "
	  "message that needs nothing never gets this header.", set_audit_header },
	{ "MaxMessageSize", "50M", false, CONF_SEC_LIMITS, "SIZE", NULL,
	  "Messages larger than this pass untouched; *0* means no limit.  The daemon accepts such a "
	  "message as soon as more than this many bytes of it have arrived, without the rest.",
	  set_max_message_size },
	{ "SpoolDir", "/var/spool/codepage-milter", false, CONF_SEC_LIMITS, "PATH", NULL,
	  "Where bodies larger than *SpoolThreshold* are kept while a message is processed, in "
	  "files unlinked at once and created with mode 0600.  An absolute path; the directory must "
	  "exist and be writable by the daemon's user (the packages create it, mode 0700, owned by "
	  "*codepage-milter*).  When it is not, the daemon warns at start and spools in *$TMPDIR* "
	  "or */tmp*.", set_spool_dir },
	{ "SpoolThreshold", "1M", false, CONF_SEC_LIMITS, "SIZE", NULL,
	  "Bodies up to this size are kept in memory, larger ones in an unlinked file in "
	  "*SpoolDir*.", set_spool_threshold },
	{ "OnError", "accept", false, CONF_SEC_LOGGING, "accept | tempfail", NULL,
	  "What to tell the MTA when the milter fails on a message (out of resources, spool write "
	  "error): *accept* passes the message unchanged, *tempfail* makes the MTA answer with a "
	  "temporary failure so that the client retries.", set_on_error },
	{ "LogLevel", "notice", false, CONF_SEC_LOGGING, "error | warning | notice | info | debug",
	  NULL,
	  "The least important messages that are logged: *error*, *warning*, *notice* (one line per "
	  "message acted on, one per error), *info* (also why a message that needed a repair was "
	  "left alone) or *debug*.", set_log_level },
	{ "SyslogFacility", "mail", false, CONF_SEC_LOGGING, "mail | daemon | local0 ... local7",
	  NULL, "The *syslog*(3) facility, used when *Syslog* is *yes*.", set_syslog_facility },
	{ "Syslog", "yes", false, CONF_SEC_LOGGING, "yes | no", NULL,
	  "Log to *syslog*(3); with *no* log to standard error.  In the foreground (*-f*, as under "
	  "the packaged *systemd*(1) unit) the daemon always logs to standard error, which systemd "
	  "passes to the journal.", set_syslog },
	{ "UserID", NULL, false, CONF_SEC_PROCESS, "USER[:GROUP]", "codepage-milter:codepage-milter",
	  "After opening the socket, switch to this user (and group).  Only meaningful when the "
	  "daemon starts as root; the packaged service starts directly as user *codepage-milter* "
	  "and needs no *UserID*.  Overridden by *-u*.", set_user_id },
	{ "PidFile", NULL, false, CONF_SEC_PROCESS, "PATH", "/run/codepage-milter/codepage-milter.pid",
	  "Write the process id to this file (an absolute path), before switching user; it is "
	  "removed at shutdown.  Overridden by *-P*.", set_pid_file },
	{ "UMask", "007", false, CONF_SEC_PROCESS, "OCTAL", NULL,
	  "The file mode creation mask, which also sets the permissions of a unix socket: *007* "
	  "lets the socket's group (the MTA) connect and nobody else.", set_umask },
	{ "MaxHeaders", "1000", false, CONF_SEC_LIMITS, "COUNT", NULL,
	  "Most header fields in one header block (1 to 100000).  A message with a header block "
	  "over this, or with more than 10000 fields in all (or *MaxHeaders*, if larger), passes "
	  "untouched.", set_max_headers },
	{ "MaxDepth", "100", false, CONF_SEC_LIMITS, "COUNT", NULL,
	  "MIME nesting depth that is examined (1 to 1000); deeper structure is treated as an "
	  "opaque body.  The default is Postfix's *mime_nesting_limit*, so forwarded-forwarded "
	  "chains the MTA accepts are examined.", set_max_depth },
	{ "MaxParts", "1000", false, CONF_SEC_LIMITS, "COUNT", NULL,
	  "MIME parts per message that are examined (1 to 100000); the rest is treated as body.",
	  set_max_parts },
	{ "MaxHeaderSize", "64k", false, CONF_SEC_LIMITS, "SIZE", NULL,
	  "Length of one header field, folding included, that is examined in full (1000 bytes to "
	  "1M); a rewritten field may grow to four times as much.", set_max_header_size },
	{ "MemoryBackend", "lmdb", false, CONF_SEC_MEMORY, "none | lmdb | redis", NULL,
	  "*lmdb* keeps the memory in one file on this host (shared by every milter process on it); "
	  "*redis* shares it between several MX hosts; *none* turns it off.", set_memory_backend },
	{ "MemoryPath", NULL, false, CONF_SEC_MEMORY, "PATH", "/var/spool/codepage-milter/memory.lmdb",
	  "The LMDB file; a file LMDB cannot read, or shorter than its own last page, is moved to "
	  "<path>*.corrupt* and started afresh.  When unset, the file is *memory.lmdb* in "
	  "*SpoolDir*.",
	  set_memory_path },
	{ "MemoryRedis", "127.0.0.1:6379", false, CONF_SEC_MEMORY, "HOST:PORT", NULL,
	  "The Redis server (*MemoryBackend redis*).", set_memory_redis },
	{ "MemoryPrefix", "cpm:", false, CONF_SEC_MEMORY, "STRING", NULL,
	  "Prefix of every key written (several sites can share one Redis); it also keys the hash "
	  "that hides addresses, so hosts that share a memory must use the same prefix.",
	  set_memory_prefix },
	{ "MemoryTTL", "90d", false, CONF_SEC_MEMORY, "DURATION", NULL,
	  "A source not seen for this long is forgotten.  Durations are seconds, or a number with "
	  "s, m, h or d.", set_memory_ttl },
	{ "MemoryHalfLife", "30d", false, CONF_SEC_MEMORY, "DURATION", NULL,
	  "Counts decay: an observation this old weighs half.", set_memory_half_life },
	{ "MemoryMaxKeys", "100000", false, CONF_SEC_MEMORY, "COUNT", NULL,
	  "Most sources remembered (10 to 10000000).  When the store is full a new source is "
	  "admitted only in place of one seen about once (or expired), so a flood of new sources "
	  "churns among itself and established sources stay.", set_memory_max_keys },
	{ "MemoryMapSize", "64M", false, CONF_SEC_MEMORY, "SIZE", NULL,
	  "Largest size of the LMDB file (at least 1M); a full file is handled like a full store.",
	  set_memory_map_size },
	{ "MemoryTimeout", "20", false, CONF_SEC_MEMORY, "MILLISECONDS", NULL,
	  "Longest wait for Redis when connecting or reading (1 to 5000); after a failure Redis is "
	  "not asked again for 10 seconds.  Updates are queued to a thread of their own and never "
	  "wait.", set_memory_timeout },
	{ "MemoryCacheTime", "2000", false, CONF_SEC_MEMORY, "MILLISECONDS", NULL,
	  "How long each process reuses what Redis answered for a source (0 to 60000; 0: ask Redis "
	  "for every message).  This host's own updates show at once; another host's show after at "
	  "most this long.  LMDB is read in place and not cached.", set_memory_cache_time },
	{ "MemoryMinCount", "3", false, CONF_SEC_MEMORY, "COUNT", NULL,
	  "Confident detections (after decay) that a source needs before its charset is used (1 to "
	  "1000).", set_memory_min_count },
#ifdef CPM_TEST_EXTRA_KEY
	{ "TestExtraKey", "42", false, CONF_SEC_LIMITS, "COUNT", NULL,
	  "A key of the test build only (1 to 100).", set_test_extra_key },
#endif
};
const size_t conf_nkeys = ARRAY_LEN(conf_keys);

const struct conf_key_info *conf_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++)
		if (ascii_strcasecmp(name, conf_keys[i].name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Case-insensitive Levenshtein distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t row[SUGGEST_KEY_MAX + 1];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (lb > SUGGEST_KEY_MAX)
		return (size_t)-1;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = ascii_tolower((unsigned char)a[i - 1]) ==
			    ascii_tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key closest to an unknown one, or NULL when none is close. */
static const char *closest_key(const char *key)
{
	size_t best = (size_t)-1, i, len = strlen(key), limit;
	const char *name = NULL;

	if (len > SUGGEST_KEY_MAX)
		return NULL;
	limit = len / 3 > 2 ? len / 3 : 2;
	for (i = 0; i < conf_nkeys; i++) {
		size_t d = edit_distance(key, conf_keys[i].name);

		if (d < best) {
			best = d;
			name = conf_keys[i].name;
		}
	}
	return best <= limit ? name : NULL;
}

/* ---- life cycle ------------------------------------------------------------------ */

const char *conf_mode_name(enum cpm_mode m)
{
	switch (m) {
	case MODE_OFF:		return "off";
	case MODE_REPORT:	return "report";
	case MODE_LABEL:	return "label";
	case MODE_TRANSCODE:	return "transcode";
	}
	return "?";
}

struct conf *conf_defaults(void)
{
	struct conf *c = xcalloc(1, sizeof(*c));
	char err[256];
	size_t i;

	c->rules = rule_set_new();
	memory_conf_defaults(&c->memory);
	c->internal_hosts = host_list_new();
	c->exempt_hosts = host_list_new();
	for (i = 0; i < conf_nkeys; i++) {
		if (conf_keys[i].default_text == NULL)
			continue;
		if (!conf_keys[i].set(c, conf_keys[i].default_text, "default", err, sizeof(err))) {
			/* a broken table is a build defect; the unit tests catch it first */
			log_err("embedded default for %s: %s", conf_keys[i].name, err);
			abort();
		}
	}
	return c;
}

void conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->socket);
	rule_set_free(c->rules);
	host_list_free(c->internal_hosts);
	host_list_free(c->exempt_hosts);
	free(c->audit_header);
	free(c->spool_dir);
	free(c->user_id);
	free(c->pid_file);
	free(c->source_file);
	memory_conf_free(&c->memory);
	free(c);
}

int conf_set(struct conf *c, const char *key, const char *value, const char *origin,
	     char *err, size_t errlen)
{
	const struct conf_key_info *k = conf_key_find(key);
	const char *suggestion;

	if (k == NULL) {
		suggestion = closest_key(key);
		if (suggestion != NULL)
			snprintf(err, errlen, "unknown key \"%s\" (did you mean \"%s\"?)", key, suggestion);
		else
			snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	if (value == NULL || *value == '\0') {
		snprintf(err, errlen, "missing value for %s", k->name);
		return -1;
	}
	return k->set(c, value, origin, err, errlen) ? 0 : -1;
}

bool conf_acts_on(const struct conf *c, const char *addr, const char *hostname)
{
	if (host_list_match(c->exempt_hosts, addr, hostname))
		return false;
	return host_list_count(c->internal_hosts) == 0 ||
	    host_list_match(c->internal_hosts, addr, hostname);
}

/* ---- the file parser ----------------------------------------------------------------- */

/* Error lines go into the caller's fixed buffer; what does not fit is
 * counted and summarised in a last line, for which room is reserved. */
#define ERR_SUMMARY_RESERVE 80

struct conf_errors {
	char *buf;
	size_t cap;
	size_t len;
	unsigned count;
	unsigned dropped;
};

static void conf_error(struct conf_errors *e, const char *path, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void conf_error(struct conf_errors *e, const char *path, unsigned line, const char *fmt, ...)
{
	char msg[512];
	char text[1024];
	va_list ap;
	int n;
	size_t limit;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		n = snprintf(text, sizeof(text), "%s:%u: %s\n", path, line, msg);
	else
		n = snprintf(text, sizeof(text), "%s: %s\n", path, msg);
	e->count++;
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(text))
		n = (int)sizeof(text) - 1;
	limit = e->cap > ERR_SUMMARY_RESERVE ? e->cap - ERR_SUMMARY_RESERVE : 0;
	if (e->dropped > 0 || e->len + (size_t)n >= limit) {
		e->dropped++;
		return;
	}
	memcpy(e->buf + e->len, text, (size_t)n);
	e->len += (size_t)n;
	e->buf[e->len] = '\0';
}

static void conf_errors_finish(struct conf_errors *e, const char *path)
{
	if (e->dropped == 0 || e->cap == 0)
		return;
	snprintf(e->buf + e->len, e->cap - e->len, "%s: %u more errors not shown\n",
		 path, e->dropped);
}

struct conf_loader {
	struct conf *conf;
	const char *path;
	struct conf_errors errors;
	unsigned *first_line;	/* per conf_keys[] row: line it was set on, 0 = not yet */
};

/* One logical line, already free of its line end and known not to be too long. */
static void conf_parse_line(struct conf_loader *ld, char *line, unsigned lineno)
{
	char *key, *value, *p;
	const struct conf_key_info *k;
	char msg[512], origin[300];
	size_t idx;

	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '#' || *p == '\r')
		return;
	key = p;
	while (*p != '\0' && !is_space((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (is_space((unsigned char)*p))
		p++;
	value = p;
	/* '#' after white space starts a comment */
	for (; *p != '\0'; p++) {
		if (*p == '#' && p > value && is_space((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	}
	if (*value == '#')
		*value = '\0';
	p = value + strlen(value);
	while (p > value && is_space((unsigned char)p[-1]))
		*--p = '\0';

	k = conf_key_find(key);
	if (k == NULL || *value == '\0') {
		if (conf_set(ld->conf, key, value, NULL, msg, sizeof(msg)) != 0)
			conf_error(&ld->errors, ld->path, lineno, "%s", msg);
		return;
	}
	idx = (size_t)(k - conf_keys);
	if (!k->repeatable && ld->first_line[idx] != 0) {
		conf_error(&ld->errors, ld->path, lineno, "duplicate key %s (first set at line %u)",
			   k->name, ld->first_line[idx]);
		return;
	}
	/* the base name keeps rule descriptions (shown in reports and the audit
	 * header) short and free of local paths */
	snprintf(origin, sizeof(origin), "%s:%u",
		 strrchr(ld->path, '/') ? strrchr(ld->path, '/') + 1 : ld->path, lineno);
	if (!k->set(ld->conf, value, origin, msg, sizeof(msg)))
		conf_error(&ld->errors, ld->path, lineno, "%s", msg);
	else if (ld->first_line[idx] == 0)
		ld->first_line[idx] = lineno;
}

/* Read the file line by line in bounded memory: an overlong line is reported
 * and skipped up to its end, never accumulated. */
static void conf_read(struct conf_loader *ld, FILE *fp)
{
	char line[CONF_LINE_MAX + 2];
	size_t len = 0;
	unsigned lineno = 1;
	bool too_long = false, has_nul = false;
	int ch;

	for (;;) {
		ch = getc(fp);
		if (ch != EOF && ch != '\n') {
			if (ch == '\0')
				has_nul = true;
			if (len < CONF_LINE_MAX + 1)
				line[len++] = (char)ch;
			else
				too_long = true;
			continue;
		}
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > CONF_LINE_MAX)
			too_long = true;
		line[len] = '\0';
		if (too_long)
			conf_error(&ld->errors, ld->path, lineno, "line too long (more than %d bytes)",
				   CONF_LINE_MAX);
		else if (has_nul)
			conf_error(&ld->errors, ld->path, lineno, "NUL byte in line");
		else if (lineno == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
			conf_parse_line(ld, line + 3, lineno);
		else
			conf_parse_line(ld, line, lineno);
		if (ch == EOF)
			break;
		lineno++;
		len = 0;
		too_long = has_nul = false;
	}
}

struct conf *conf_load(const char *path, char *err, size_t errlen)
{
	struct conf_loader ld;
	FILE *fp;
	int saved;

	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.errors.buf = err;
	ld.errors.cap = errlen;
	if (errlen > 0)
		err[0] = '\0';
	fp = fopen(path, "r");
	if (fp == NULL) {
		conf_error(&ld.errors, path, 0, "%s", strerror(errno));
		return NULL;
	}
	ld.conf = conf_defaults();
	ld.first_line = xcalloc(conf_nkeys, sizeof(*ld.first_line));
	errno = 0;
	conf_read(&ld, fp);
	if (ferror(fp)) {
		saved = errno ? errno : EIO;
		conf_error(&ld.errors, path, 0, "%s", strerror(saved));
	}
	fclose(fp);
	free(ld.first_line);
	conf_errors_finish(&ld.errors, path);
	if (ld.errors.count > 0) {
		conf_free(ld.conf);
		return NULL;
	}
	ld.conf->source_file = xstrdup(path);
	return ld.conf;
}
