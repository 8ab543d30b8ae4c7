/*
 * check_conf.c -- unit tests for the configuration (conf.h) and logging (log.h).
 *
 * Every key has a probe below that renders the part of struct conf the key
 * controls; a test proves each key of conf_keys[] has a probe, so a new key
 * cannot be added without a test of its default and of its effect.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char tmpdir[256];

static void make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_conf.XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
}

/* Write text to a fresh file in tmpdir; the path goes to path (capacity 512). */
static void write_file(char *path, const char *text, size_t len)
{
	static unsigned serial;
	FILE *fp;

	snprintf(path, 512, "%s/t%u-%ld.conf", tmpdir, serial++, (long)getpid());
	fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

/* Load text as a config file; path receives the file name used. */
static struct conf *load_text(const char *text, char *path, char *err, size_t errlen)
{
	struct conf *c;

	write_file(path, text, strlen(text));
	c = conf_load(path, err, errlen);
	unlink(path);
	return c;
}

/* Expect text to fail with exactly one error, on `line`, containing `what`. */
static void expect_error(const char *text, unsigned line, const char *what)
{
	char path[512], err[2048], prefix[600];
	struct conf *c = load_text(text, path, err, sizeof(err));

	ck_assert_msg(c == NULL, "accepted: %s", text);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0,
		      "error \"%s\" lacks prefix \"%s\"", err, prefix);
	ck_assert_msg(strstr(err, what) != NULL, "error \"%s\" lacks \"%s\"", err, what);
	ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1,
		      "expected exactly one error line, got \"%s\"", err);
}

static struct conf *expect_ok(const char *text)
{
	char path[512], err[2048];
	struct conf *c = load_text(text, path, err, sizeof(err));

	ck_assert_msg(c != NULL, "rejected \"%s\": %s", text, err);
	ck_assert_str_eq(err, "");
	return c;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

/* ---- probes: what each key controls, rendered as text -------------------------------- */

static void render(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void render(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

static const char *str_or(const char *s, const char *none)
{
	return s ? s : none;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_ERR:		return "error";
	case LOG_WARNING:	return "warning";
	case LOG_NOTICE:	return "notice";
	case LOG_INFO:		return "info";
	case LOG_DEBUG:		return "debug";
	default:		return "?";
	}
}

static const char *facility_name(int f)
{
	switch (f) {
	case LOG_MAIL:		return "mail";
	case LOG_DAEMON:	return "daemon";
	case LOG_LOCAL3:	return "local3";
	default:		return "?";
	}
}

/* Which rule (by charset and description) matches a subject. */
static void render_rule(const struct conf *c, const struct rule_subject *subj, char *out, size_t cap)
{
	struct rule_match m;

	if (rule_set_match(c->rules, subj, &m))
		render(out, cap, "%zu rules, %s by %s", rule_set_count(c->rules),
		       m.charset ? m.charset->mime_name : "(none)", m.description);
	else
		render(out, cap, "%zu rules, no match", rule_set_count(c->rules));
}

static void p_socket(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->socket, "(null)")); }
static void p_mode(const struct conf *c, char *o, size_t n) { render(o, n, "%s", conf_mode_name(c->mode)); }
static void p_default_charset(const struct conf *c, char *o, size_t n)
{
	ck_assert_ptr_eq(c->default_charset, charset_lookup(c->default_charset->mime_name));
	render(o, n, "%s", c->default_charset->mime_name);
}
static void p_client(const struct conf *c, char *o, size_t n)
{
	struct rule_subject s = { .client_addr = "192.0.2.10" };

	render_rule(c, &s, o, n);
}
static void p_helo(const struct conf *c, char *o, size_t n)
{
	struct rule_subject s = { .helo = "mx.legacy.example" };

	render_rule(c, &s, o, n);
}
static void p_sender(const struct conf *c, char *o, size_t n)
{
	struct rule_subject s = { .env_sender = "someone@old.example" };

	render_rule(c, &s, o, n);
}
static const char *mailer_header(void *arg, const char *name, unsigned nth, size_t *len)
{
	static const char value[] = " Internet Mail Service (Microsoft Exchange Server 4.0.994)";

	(void)arg;
	if (nth > 0 || ascii_strcasecmp(name, "X-Mailer") != 0)
		return NULL;
	*len = sizeof(value) - 1;
	return value;
}
static void p_header(const struct conf *c, char *o, size_t n)
{
	struct rule_subject s = { .header = mailer_header };

	render_rule(c, &s, o, n);
}
static void p_internal(const struct conf *c, char *o, size_t n)
{
	render(o, n, "%zu internal; acts on 192.0.2.1: %d, 198.51.100.1: %d",
	       host_list_count(c->internal_hosts), conf_acts_on(c, "192.0.2.1", NULL),
	       conf_acts_on(c, "198.51.100.1", NULL));
}
static void p_exempt(const struct conf *c, char *o, size_t n)
{
	render(o, n, "%zu exempt; acts on 192.0.2.66: %d", host_list_count(c->exempt_hosts),
	       conf_acts_on(c, "192.0.2.66", NULL));
}
static void p_signed(const struct conf *c, char *o, size_t n) { render(o, n, "repair_signed=%d", c->repair_signed); }
static void p_seven(const struct conf *c, char *o, size_t n) { render(o, n, "seven_bit=%d", c->seven_bit_output); }
static void p_audit(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->audit_header, "(off)")); }
static void p_max_message(const struct conf *c, char *o, size_t n)
{
	render(o, n, "%zu/%zu", c->max_message_size, c->limits.max_message);
}
static void p_spool_dir(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->spool_dir, "(null)")); }
static void p_spool_threshold(const struct conf *c, char *o, size_t n) { render(o, n, "%zu", c->spool_threshold); }
static void p_on_error(const struct conf *c, char *o, size_t n)
{
	render(o, n, "%s", c->on_error == ON_ERROR_ACCEPT ? "accept" : "tempfail");
}
static void p_log_level(const struct conf *c, char *o, size_t n) { render(o, n, "%s", level_name(c->log_level)); }
static void p_facility(const struct conf *c, char *o, size_t n) { render(o, n, "%s", facility_name(c->syslog_facility)); }
static void p_syslog(const struct conf *c, char *o, size_t n) { render(o, n, "syslog=%d", c->syslog); }
static void p_user(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->user_id, "(none)")); }
static void p_pid(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->pid_file, "(none)")); }
static void p_umask(const struct conf *c, char *o, size_t n) { render(o, n, "%03o", (unsigned)c->umask); }
static void p_max_headers(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->limits.max_headers); }
static void p_max_depth(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->limits.max_depth); }
static void p_max_parts(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->limits.max_parts); }
static void p_max_header_size(const struct conf *c, char *o, size_t n) { render(o, n, "%zu", c->limits.max_header_size); }
static void p_mem_backend(const struct conf *c, char *o, size_t n)
{
	static const char *const names[] = { "none", "lmdb", "redis" };

	render(o, n, "%s", names[c->memory.backend]);
}
static void p_mem_path(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->memory.path, "(none)")); }
static void p_mem_redis(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->memory.redis, "(none)")); }
static void p_mem_prefix(const struct conf *c, char *o, size_t n) { render(o, n, "%s", str_or(c->memory.prefix, "(none)")); }
static void p_mem_ttl(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->memory.ttl); }
static void p_mem_half(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->memory.half_life); }
static void p_mem_keys(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->memory.max_keys); }
static void p_mem_map(const struct conf *c, char *o, size_t n) { render(o, n, "%zu", c->memory.map_size); }
static void p_mem_timeout(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->memory.timeout_ms); }
static void p_mem_cache(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->memory.cache_ms); }
static void p_mem_min(const struct conf *c, char *o, size_t n) { render(o, n, "%u", c->memory.min_count); }
static void p_tnef(const struct conf *c, char *o, size_t n) { render(o, n, "tnef=%d", c->tnef_evidence); }
static void p_tnef_max(const struct conf *c, char *o, size_t n) { render(o, n, "%zu", c->tnef_max_bytes); }

struct key_probe {
	const char *key;
	void (*probe)(const struct conf *c, char *out, size_t cap);
	const char *expect_default;	/* probe output for conf_defaults() */
	const char *sample;		/* a value different from the default (as in full.conf) */
	const char *expect_sample;	/* probe output after "key sample" */
};

static const struct key_probe probes[] = {
	{ "Socket", p_socket, "local:/run/codepage-milter/codepage-milter.sock",
	  "inet:8899@127.0.0.1", "inet:8899@127.0.0.1" },
	{ "Mode", p_mode, "label", "transcode", "transcode" },
	{ "DefaultCharset", p_default_charset, "windows-1252", "windows-1251", "windows-1251" },
	{ "ClientCharset", p_client, "0 rules, no match", "192.0.2.0/24 koi8-r",
	  "1 rules, koi8-r by ClientCharset 192.0.2.0/24 (FILE:1)" },
	{ "HeloCharset", p_helo, "0 rules, no match", ".legacy.example windows-1250",
	  "1 rules, windows-1250 by HeloCharset .legacy.example (FILE:1)" },
	{ "SenderCharset", p_sender, "0 rules, no match", "@old.example iso-8859-2",
	  "1 rules, iso-8859-2 by SenderCharset @old.example (FILE:1)" },
	{ "HeaderCharset", p_header, "0 rules, no match", "X-Mailer:Exchange Server 4.0 windows-1252",
	  "1 rules, windows-1252 by HeaderCharset X-Mailer:Exchange Server 4.0 (FILE:1)" },
	{ "InternalHosts", p_internal, "0 internal; acts on 192.0.2.1: 1, 198.51.100.1: 1",
	  "192.0.2.0/24, 2001:db8::/32", "2 internal; acts on 192.0.2.1: 1, 198.51.100.1: 0" },
	{ "ExemptHosts", p_exempt, "0 exempt; acts on 192.0.2.66: 1", "192.0.2.66",
	  "1 exempt; acts on 192.0.2.66: 0" },
	{ "SignedMessages", p_signed, "repair_signed=0", "repair", "repair_signed=1" },
	{ "SevenBitOutput", p_seven, "seven_bit=0", "yes", "seven_bit=1" },
	{ "AuditHeader", p_audit, "X-Codepage-Milter", "X-Charset-Audit", "X-Charset-Audit" },
	{ "MaxMessageSize", p_max_message, "52428800/52428800", "10M", "10485760/10485760" },
	{ "SpoolDir", p_spool_dir, "/var/spool/codepage-milter", "/var/tmp/cpm-spool", "/var/tmp/cpm-spool" },
	{ "SpoolThreshold", p_spool_threshold, "1048576", "256k", "262144" },
	{ "OnError", p_on_error, "accept", "tempfail", "tempfail" },
	{ "LogLevel", p_log_level, "notice", "debug", "debug" },
	{ "SyslogFacility", p_facility, "mail", "local3", "local3" },
	{ "Syslog", p_syslog, "syslog=1", "no", "syslog=0" },
	{ "UserID", p_user, "(none)", "milter:mail", "milter:mail" },
	{ "PidFile", p_pid, "(none)", "/run/cpm.pid", "/run/cpm.pid" },
	{ "UMask", p_umask, "007", "022", "022" },
	{ "MaxHeaders", p_max_headers, "1000", "200", "200" },
	{ "MaxDepth", p_max_depth, "100", "8", "8" },
	{ "MaxParts", p_max_parts, "1000", "50", "50" },
	{ "MaxHeaderSize", p_max_header_size, "65536", "8k", "8192" },
	{ "MemoryBackend", p_mem_backend, "lmdb", "redis", "redis" },
	{ "MemoryPath", p_mem_path, "(none)", "/var/tmp/cpm-memory.lmdb", "/var/tmp/cpm-memory.lmdb" },
	{ "MemoryRedis", p_mem_redis, "127.0.0.1:6379", "192.0.2.10:6380", "192.0.2.10:6380" },
	{ "MemoryPrefix", p_mem_prefix, "cpm:", "mx1:", "mx1:" },
	{ "MemoryTTL", p_mem_ttl, "7776000", "12h", "43200" },
	{ "MemoryHalfLife", p_mem_half, "2592000", "7d", "604800" },
	{ "MemoryMaxKeys", p_mem_keys, "100000", "5000", "5000" },
	{ "MemoryMapSize", p_mem_map, "67108864", "16M", "16777216" },
	{ "MemoryTimeout", p_mem_timeout, "20", "50", "50" },
	{ "MemoryCacheTime", p_mem_cache, "2000", "0", "0" },
	{ "MemoryMinCount", p_mem_min, "3", "5", "5" },
	{ "TnefEvidence", p_tnef, "tnef=1", "no", "tnef=0" },
	{ "TnefMaxBytes", p_tnef_max, "16777216", "64k", "65536" },
};

/* Expected text with "FILE" replaced by the base name of path (rule origins). */
static void expand_file(char *out, size_t cap, const char *expect, const char *path)
{
	const char *f = strstr(expect, "FILE");

	if (strrchr(path, '/') != NULL)
		path = strrchr(path, '/') + 1;

	if (f == NULL)
		render(out, cap, "%s", expect);
	else
		render(out, cap, "%.*s%s%s", (int)(f - expect), expect, path, f + 4);
}

static const struct key_probe *probe_for(const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(probes); i++)
		if (strcmp(probes[i].key, key) == 0)
			return &probes[i];
	return NULL;
}

/* ---- the key table ---------------------------------------------------------------- */

START_TEST(test_every_table_key_has_a_probe_and_every_probe_a_key)
{
	size_t i;

	ck_assert_uint_eq(conf_nkeys, ARRAY_LEN(probes));
	for (i = 0; i < conf_nkeys; i++)
		ck_assert_msg(probe_for(conf_keys[i].name) != NULL, "no test for key %s", conf_keys[i].name);
	for (i = 0; i < ARRAY_LEN(probes); i++)
		ck_assert_msg(conf_key_find(probes[i].key) != NULL, "probe %s is no key", probes[i].key);
}
END_TEST

START_TEST(test_table_entries_are_unique_and_documented)
{
	size_t i, j;

	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key_info *k = &conf_keys[i];

		ck_assert_ptr_nonnull(k->set);
		ck_assert_msg(k->syntax != NULL && *k->syntax != '\0', "%s: no syntax", k->name);
		ck_assert_msg(k->doc != NULL && strlen(k->doc) > 20, "%s: no doc", k->name);
		ck_assert_msg(!k->repeatable || k->default_text == NULL,
			      "%s: a repeatable key cannot have a default", k->name);
		for (j = i + 1; j < conf_nkeys; j++)
			ck_assert_msg(ascii_strcasecmp(k->name, conf_keys[j].name) != 0,
				      "duplicate key %s", k->name);
	}
}
END_TEST

START_TEST(test_defaults_match_table_and_header)
{
	struct conf *c = conf_defaults();
	char got[512];
	size_t i;

	for (i = 0; i < ARRAY_LEN(probes); i++) {
		probes[i].probe(c, got, sizeof(got));
		ck_assert_msg(strcmp(got, probes[i].expect_default) == 0, "%s default: got \"%s\", want \"%s\"",
			      probes[i].key, got, probes[i].expect_default);
	}
	ck_assert_ptr_null(c->source_file);
	conf_free(c);
}
END_TEST

START_TEST(test_each_table_default_reparses_to_the_same_value)
{
	size_t i;

	for (i = 0; i < conf_nkeys; i++) {
		const struct conf_key_info *k = &conf_keys[i];
		const struct key_probe *p = probe_for(k->name);
		struct conf *c = conf_defaults();
		char text[512], path[512], err[1024], got[512];

		if (k->default_text == NULL) {
			conf_free(c);
			continue;
		}
		conf_free(c);
		render(text, sizeof(text), "%s %s\n", k->name, k->default_text);
		c = load_text(text, path, err, sizeof(err));
		ck_assert_msg(c != NULL, "%s", err);
		p->probe(c, got, sizeof(got));
		ck_assert_str_eq(got, p->expect_default);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_each_key_sets_its_field)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(probes); i++) {
		char text[512], path[512], err[1024], got[512], want[1024];
		struct conf *c;

		render(text, sizeof(text), "%s %s\n", probes[i].key, probes[i].sample);
		c = load_text(text, path, err, sizeof(err));
		ck_assert_msg(c != NULL, "%s: %s", probes[i].key, err);
		ck_assert_str_eq(c->source_file, path);
		probes[i].probe(c, got, sizeof(got));
		expand_file(want, sizeof(want), probes[i].expect_sample, path);
		ck_assert_msg(strcmp(got, want) == 0, "%s: got \"%s\", want \"%s\"", probes[i].key, got, want);
		ck_assert_msg(strcmp(probes[i].expect_sample, probes[i].expect_default) != 0,
			      "%s: sample does not differ from the default", probes[i].key);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_keys_are_case_insensitive)
{
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(probes); i++) {
		char name[64], text[512], path[512], err[1024];
		struct conf *c;

		for (j = 0; probes[i].key[j] != '\0' && j < sizeof(name) - 1; j++)
			name[j] = (char)(j % 2 ? ascii_tolower((unsigned char)probes[i].key[j])
					     : (probes[i].key[j] & ~0x20));
		name[j] = '\0';
		render(text, sizeof(text), "%s %s\n", name, probes[i].sample);
		c = load_text(text, path, err, sizeof(err));
		ck_assert_msg(c != NULL, "%s: %s", name, err);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_names_outside_the_table_are_unknown_keys)
{
	static const char *const extra[] = { "Socket2", "Sockets", "Mod", "X", "ModeX", "Default_Charset",
					     "Max-Depth", "InternalHost", "Socket:" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(extra); i++) {
		char text[128];

		ck_assert_ptr_null(conf_key_find(extra[i]));
		render(text, sizeof(text), "%s 1\n", extra[i]);
		expect_error(text, 1, "unknown key");
	}
	for (i = 0; i < conf_nkeys; i++) {
		char text[128];

		render(text, sizeof(text), "%sQ 1\n", conf_keys[i].name);
		expect_error(text, 1, "unknown key");
	}
}
END_TEST

START_TEST(test_full_example_sets_every_key)
{
	const char *srcdir = getenv("srcdir");
	char path[512], err[4096], got[512], want[1024];
	struct conf *c;
	size_t i;

	render(path, sizeof(path), "%s/tests/unit/data/conf/full.conf", srcdir ? srcdir : ".");
	c = conf_load(path, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	for (i = 0; i < ARRAY_LEN(probes); i++) {
		probes[i].probe(c, got, sizeof(got));
		expand_file(want, sizeof(want), probes[i].expect_sample, path);
		const char *g = got, *w = want;

		/* rules: the file holds four, so compare from the match on, and
		 * origins carry the real line, so compare up to the line number */
		if (strstr(want, " rules, ") != NULL) {
			g = strstr(got, " rules, ") ? strstr(got, " rules, ") : got;
			w = strstr(want, " rules, ");
		}
		if (strstr(want, "full.conf") != NULL)
			want[strstr(want, "full.conf") - want + strlen("full.conf")] = '\0';
		ck_assert_msg(strncmp(g, w, strlen(w)) == 0, "%s: got \"%s\", want \"%s\"",
			      probes[i].key, got, want);
	}
	ck_assert_uint_eq(rule_set_count(c->rules), 4);
	conf_free(c);
}
END_TEST

/* ---- syntax ------------------------------------------------------------------------- */

START_TEST(test_comments_blank_lines_and_white_space_are_ignored)
{
	struct conf *c = expect_ok("# a comment\n\n   \t\n  # indented comment\n"
				   "  Mode\t report   # trailing comment\n"
				   "AuditHeader X-Note#1\n");

	ck_assert_int_eq(c->mode, MODE_REPORT);
	ck_assert_str_eq(c->audit_header, "X-Note#1");	/* '#' not after space is data */
	conf_free(c);
}
END_TEST

START_TEST(test_crlf_line_ends_and_byte_order_mark_are_accepted)
{
	struct conf *c = expect_ok("\xef\xbb\xbfMode report\r\nSyslog no\r\n");

	ck_assert_int_eq(c->mode, MODE_REPORT);
	ck_assert(!c->syslog);
	conf_free(c);
}
END_TEST

START_TEST(test_last_line_without_newline_is_parsed)
{
	struct conf *c = expect_ok("Syslog yes\nMode off");

	ck_assert_int_eq(c->mode, MODE_OFF);
	conf_free(c);
}
END_TEST

START_TEST(test_empty_file_gives_defaults)
{
	struct conf *c = expect_ok("");

	ck_assert_int_eq(c->mode, MODE_LABEL);
	ck_assert_ptr_nonnull(c->source_file);
	conf_free(c);
}
END_TEST

static const char *bat_header(void *arg, const char *name, unsigned nth, size_t *len)
{
	const char *value = arg;

	if (nth > 0 || ascii_strcasecmp(name, "X-Mailer") != 0)
		return NULL;
	*len = strlen(value);
	return value;
}

START_TEST(test_header_rule_pattern_may_contain_spaces)
{
	struct conf *c = expect_ok("HeaderCharset   X-Mailer:The Bat! v1.0   koi8-r  \n");
	struct rule_subject s = { .header = bat_header, .header_arg = (void *)" The  Bat! V1.0 (Win32)" };
	struct rule_match m;

	ck_assert_uint_eq(rule_set_count(c->rules), 1);
	ck_assert(rule_set_match(c->rules, &s, &m));
	ck_assert_ptr_eq(m.charset, charset_lookup("koi8-r"));
	s.header_arg = (void *)" The Bat! v2.0";
	ck_assert(!rule_set_match(c->rules, &s, &m));
	conf_free(c);
}
END_TEST

START_TEST(test_repeatable_keys_accumulate_in_file_order)
{
	struct conf *c = expect_ok("ClientCharset 192.0.2.0/28 koi8-r\n"
				   "ClientCharset 192.0.2.0/24 windows-1251\n"
				   "InternalHosts 192.0.2.1\nInternalHosts 192.0.2.2 192.0.2.3,192.0.2.4\n");
	struct rule_subject s = { .client_addr = "192.0.2.5" };
	struct rule_match m;

	ck_assert_uint_eq(rule_set_count(c->rules), 2);
	ck_assert(rule_set_match(c->rules, &s, &m));
	ck_assert_ptr_eq(m.charset, charset_lookup("koi8-r"));
	s.client_addr = "192.0.2.200";
	ck_assert(rule_set_match(c->rules, &s, &m));
	ck_assert_ptr_eq(m.charset, charset_lookup("windows-1251"));
	ck_assert_ptr_nonnull(strstr(m.description, ":2)"));
	ck_assert_uint_eq(host_list_count(c->internal_hosts), 4);
	conf_free(c);
}
END_TEST

START_TEST(test_placeholder_charset_in_rule_means_let_detection_decide)
{
	struct conf *c = expect_ok("ClientCharset 10.1.0.0/16 unknown-8bit\n"
				   "ClientCharset 10.0.0.0/8 koi8-r\n");
	struct rule_subject s = { .client_addr = "10.1.0.9" };
	struct rule_match m;

	ck_assert(rule_set_match(c->rules, &s, &m));
	ck_assert_ptr_null(m.charset);
	conf_free(c);
}
END_TEST

START_TEST(test_charset_aliases_resolve_to_canonical_charset)
{
	struct conf *c = expect_ok("DefaultCharset cp1251\n");

	ck_assert_ptr_eq(c->default_charset, charset_lookup("windows-1251"));
	conf_free(c);
}
END_TEST

START_TEST(test_boolean_spellings)
{
	static const char *const yes[] = { "yes", "YES", "true", "True", "1", "on", "ON" };
	static const char *const no[] = { "no", "No", "false", "FALSE", "0", "off", "Off" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(yes); i++) {
		char text[64];
		struct conf *c;

		render(text, sizeof(text), "SevenBitOutput %s\nSyslog %s\n", yes[i], no[i]);
		c = expect_ok(text);
		ck_assert(c->seven_bit_output);
		ck_assert(!c->syslog);
		conf_free(c);
	}
}
END_TEST

START_TEST(test_size_suffixes)
{
	static const struct { const char *text; size_t value; } ok[] = {
		{ "0", 0 }, { "1048576", 1048576 }, { "64k", 65536 }, { "64K", 65536 },
		{ "10m", 10485760 }, { "10M", 10485760 }, { "1g", 1073741824 }, { "2G", 2147483648u },
	};
	static const char *const bad[] = { "", "k", "10X", "10 M", "-1", "+5", "1.5M", "10MB", "0x10",
					   "18446744073709551616", "17179869184G", "99999999999999999999999" };
	size_t i, v;

	for (i = 0; i < ARRAY_LEN(ok); i++) {
		ck_assert_msg(conf_parse_size(ok[i].text, &v), "%s", ok[i].text);
		ck_assert_uint_eq(v, ok[i].value);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_msg(!conf_parse_size(bad[i], &v), "accepted \"%s\"", bad[i]);
	ck_assert(conf_parse_size("18446744073709551615", &v));
	ck_assert_uint_eq(v, (size_t)-1);
	ck_assert(conf_parse_size("17179869183G", &v));
}
END_TEST

START_TEST(test_max_message_size_zero_means_unlimited)
{
	struct conf *c = expect_ok("MaxMessageSize 0\n");

	ck_assert_uint_eq(c->max_message_size, 0);
	ck_assert_uint_eq(c->limits.max_message, 0);
	conf_free(c);
}
END_TEST

START_TEST(test_audit_header_off_disables_it)
{
	struct conf *c = expect_ok("AuditHeader OFF\n");

	ck_assert_ptr_null(c->audit_header);
	conf_free(c);
}
END_TEST

START_TEST(test_socket_forms)
{
	static const char *const ok[] = { "local:/run/x.sock", "unix:/tmp/s", "/run/s.sock",
					  "inet:8891", "inet:8891@localhost", "inet6:8891@[::1]" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(ok); i++) {
		char text[128];
		struct conf *c;

		render(text, sizeof(text), "Socket %s\n", ok[i]);
		c = expect_ok(text);
		ck_assert_str_eq(c->socket, ok[i]);
		conf_free(c);
	}
	expect_error("Socket local:run/x\n", 1, "bad Socket");
	expect_error("Socket inet:0\n", 1, "bad Socket");
	expect_error("Socket inet:70000@x\n", 1, "bad Socket");
	expect_error("Socket inet:25@\n", 1, "bad Socket");
	expect_error("Socket tcp:25\n", 1, "bad Socket");
}
END_TEST

START_TEST(test_umask_is_octal)
{
	struct conf *c = expect_ok("UMask 0027\n");

	ck_assert_uint_eq(c->umask, 027);
	conf_free(c);
	expect_error("UMask 8\n", 1, "bad UMask");
	expect_error("UMask 1000\n", 1, "bad UMask");
	expect_error("UMask 07777\n", 1, "bad UMask");
	expect_error("UMask -1\n", 1, "bad UMask");
}
END_TEST

START_TEST(test_user_id_forms)
{
	struct conf *c = expect_ok("UserID codepage-milter\n");

	ck_assert_str_eq(c->user_id, "codepage-milter");
	conf_free(c);
	expect_error("UserID :mail\n", 1, "bad UserID");
	expect_error("UserID milter:\n", 1, "bad UserID");
	expect_error("UserID a:b:c\n", 1, "bad UserID");
	expect_error("UserID mil ter\n", 1, "bad UserID");
}
END_TEST

START_TEST(test_paths_must_be_absolute)
{
	expect_error("SpoolDir spool\n", 1, "absolute");
	expect_error("PidFile run/x.pid\n", 1, "absolute");
}
END_TEST

START_TEST(test_count_ranges)
{
	expect_error("MaxDepth 0\n", 1, "bad number \"0\" for MaxDepth (1..1000)");
	expect_error("MaxDepth 1001\n", 1, "bad number");
	expect_error("MaxParts -5\n", 1, "bad number");
	expect_error("MaxHeaders 1e3\n", 1, "bad number");
	expect_error("MaxHeaders 99999999999999999999999\n", 1, "bad number");
	expect_error("MaxHeaderSize 999\n", 1, "below the minimum");
	expect_error("MaxHeaderSize 2M\n", 1, "above the maximum");
}
END_TEST

/* ---- errors ------------------------------------------------------------------------- */

START_TEST(test_unknown_key_suggests_the_closest_key)
{
	expect_error("Mode label\nSokcet local:/x\n", 2,
		     "unknown key \"Sokcet\" (did you mean \"Socket\"?)");
	expect_error("defaultcharst koi8-r\n", 1, "(did you mean \"DefaultCharset\"?)");
	expect_error("MaxHeaderSiz 1k\n", 1, "(did you mean \"MaxHeaderSize\"?)");
}
END_TEST

START_TEST(test_unknown_key_without_near_match_has_no_suggestion)
{
	char path[512], err[1024];
	struct conf *c = load_text("Frobnicate yes\n", path, err, sizeof(err));
	char want[600];

	ck_assert_ptr_null(c);
	render(want, sizeof(want), "%s:1: unknown key \"Frobnicate\"\n", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_missing_value_is_an_error)
{
	expect_error("Mode\n", 1, "missing value for Mode");
	expect_error("Syslog yes\nmode    # nothing\n", 2, "missing value for Mode");
	expect_error("ClientCharset 192.0.2.0/24\n", 1, "ClientCharset needs a pattern and a charset");
}
END_TEST

START_TEST(test_bad_boolean_is_an_error)
{
	expect_error("Syslog maybe\n", 1, "bad boolean \"maybe\" for Syslog");
	expect_error("SevenBitOutput 2\n", 1, "bad boolean");
}
END_TEST

START_TEST(test_bad_size_is_an_error)
{
	expect_error("MaxMessageSize 10X\n", 1, "bad size \"10X\" for MaxMessageSize");
	expect_error("SpoolThreshold 99999999999999999999G\n", 1, "bad size");
	expect_error("SpoolThreshold 17179869184G\n", 1, "bad size");
}
END_TEST

START_TEST(test_unknown_charset_is_an_error)
{
	expect_error("DefaultCharset klingon-8\n", 1, "unknown charset \"klingon-8\" for DefaultCharset");
	expect_error("SenderCharset @x.example klingon-8\n", 1, "unknown charset \"klingon-8\" for SenderCharset");
}
END_TEST

START_TEST(test_placeholder_default_charset_is_an_error)
{
	ck_assert(charset_is_placeholder("unknown-8bit"));
	expect_error("DefaultCharset unknown-8bit\n", 1, "placeholder");
	expect_error("DefaultCharset x-user-defined\n", 1, "placeholder");
}
END_TEST

START_TEST(test_bad_enumerations_are_errors)
{
	expect_error("Mode fix\n", 1, "bad Mode \"fix\"");
	expect_error("OnError bounce\n", 1, "bad OnError \"bounce\"");
	expect_error("LogLevel chatty\n", 1, "bad LogLevel \"chatty\"");
	expect_error("SyslogFacility local8\n", 1, "bad SyslogFacility \"local8\"");
	expect_error("SignedMessages sometimes\n", 1, "bad SignedMessages");
}
END_TEST

START_TEST(test_bad_patterns_are_errors)
{
	expect_error("ClientCharset 192.0.2.0/33 koi8-r\n", 1, "ClientCharset: bad prefix length");
	expect_error("ClientCharset 192.0.2.1/24 koi8-r\n", 1, "host bits");
	expect_error("ClientCharset 2001:db8::/129 koi8-r\n", 1, "ClientCharset: bad prefix length");
	expect_error("HeloCharset bad..name koi8-r\n", 1, "HeloCharset: bad host name");
	expect_error("SenderCharset example.org koi8-r\n", 1, "use \"@example.org\"");
	expect_error("HeaderCharset X-Mailer koi8-r\n", 1, "HeaderCharset: bad header pattern");
	expect_error("InternalHosts 10.0.0.0/8, 10.0.0.999\n", 1, "InternalHosts: bad address");
	expect_error("ExemptHosts 10.0.0.0/40\n", 1, "ExemptHosts: bad prefix length");
}
END_TEST

START_TEST(test_bad_audit_header_names_are_errors)
{
	expect_error("AuditHeader X:Bad\n", 1, "bad AuditHeader");
	expect_error("AuditHeader X Bad\n", 1, "bad AuditHeader");
	expect_error("AuditHeader X-\xc3\xa9\n", 1, "bad AuditHeader");
	expect_error("AuditHeader X-0123456789012345678901234567890123456789"
		     "012345678901234567890123456789012345678\n", 1, "bad AuditHeader");
}
END_TEST

START_TEST(test_duplicate_key_is_an_error_naming_the_first_line)
{
	expect_error("Mode label\n# x\nmode report\n", 3, "duplicate key Mode (first set at line 1)");
}
END_TEST

START_TEST(test_failed_first_setting_does_not_count_as_duplicate)
{
	char path[512], err[2048];
	struct conf *c = load_text("Mode bogus\nMode report\n", path, err, sizeof(err));

	ck_assert_ptr_null(c);
	ck_assert_uint_eq(count_lines(err), 1);
	ck_assert_ptr_nonnull(strstr(err, ":1: bad Mode"));
}
END_TEST

START_TEST(test_unreadable_file_reports_path_and_reason)
{
	char path[600], err[1024], want[1200];
	struct conf *c;

	render(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	c = conf_load(path, err, sizeof(err));
	ck_assert_ptr_null(c);
	render(want, sizeof(want), "%s: %s\n", path, strerror(ENOENT));
	ck_assert_str_eq(err, want);

	c = conf_load(tmpdir, err, sizeof(err));
	ck_assert_ptr_null(c);
	render(want, sizeof(want), "%s: %s\n", tmpdir, strerror(EISDIR));
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_line_too_long_is_an_error_and_parsing_continues)
{
	size_t n = 4097 + 64;
	char *text = xmalloc(n);
	char path[512], err[2048], want[600];
	struct conf *c;

	memcpy(text, "AuditHeader ", 12);
	memset(text + 12, 'x', 4097 - 12);
	memcpy(text + 4097, "\nMode bogus\nMode off\n", 22);
	write_file(path, text, strlen(text));
	c = conf_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_ptr_null(c);
	render(want, sizeof(want), "%s:1: line too long (more than 4096 bytes)\n", path);
	ck_assert(strncmp(err, want, strlen(want)) == 0);
	render(want, sizeof(want), "%s:2: bad Mode", path);
	ck_assert_ptr_nonnull(strstr(err, want));
	ck_assert_uint_eq(count_lines(err), 2);
	free(text);
}
END_TEST

START_TEST(test_line_of_exactly_4096_bytes_is_accepted)
{
	char *text = xmalloc(4096 + 16);
	struct conf *c;

	text[0] = '#';
	memset(text + 1, 'c', 4095);
	memcpy(text + 4096, "\r\nMode off\n", 12);	/* CR is the line end, not content */
	c = expect_ok(text);
	ck_assert_int_eq(c->mode, MODE_OFF);
	conf_free(c);
	free(text);
}
END_TEST

START_TEST(test_nul_byte_in_line_is_an_error)
{
	static const char text[] = "Mode off\nSyslog n\0o\n";
	char path[512], err[1024], want[600];
	struct conf *c;

	write_file(path, text, sizeof(text) - 1);
	c = conf_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_ptr_null(c);
	render(want, sizeof(want), "%s:2: NUL byte in line\n", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_all_errors_in_a_file_are_reported)
{
	static const unsigned lines[] = { 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22 };
	const char *srcdir = getenv("srcdir");
	char path[512], err[8192], prefix[600];
	const char *p;
	struct conf *c;
	size_t i;

	render(path, sizeof(path), "%s/tests/unit/data/conf/errors.conf", srcdir ? srcdir : ".");
	c = conf_load(path, err, sizeof(err));
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(count_lines(err), ARRAY_LEN(lines));
	for (i = 0, p = err; i < ARRAY_LEN(lines); i++) {
		render(prefix, sizeof(prefix), "%s:%u: ", path, lines[i]);
		ck_assert_msg(strncmp(p, prefix, strlen(prefix)) == 0, "line %zu: want \"%s\" in \"%s\"",
			      i, prefix, p);
		p = strchr(p, '\n') + 1;
	}
}
END_TEST

START_TEST(test_small_error_buffer_summarises_what_did_not_fit)
{
	char path[512], err[200];
	struct conf *c;
	char text[2048] = "";
	size_t i;

	for (i = 0; i < 40; i++)
		strcat(text, "Bogus 1\n");
	memset(err, 'Z', sizeof(err));
	c = load_text(text, path, err, sizeof(err));
	ck_assert_ptr_null(c);
	ck_assert(memchr(err, '\0', sizeof(err)) != NULL);
	ck_assert_ptr_nonnull(strstr(err, "more errors not shown\n"));
	ck_assert_ptr_nonnull(strstr(err, ":1: unknown key"));
}
END_TEST

START_TEST(test_zero_capacity_error_buffer_is_not_written)
{
	char path[512], err[4] = "abc";
	struct conf *c = load_text("Bogus 1\n", path, err, 0);

	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "abc");
}
END_TEST

START_TEST(test_megabyte_line_without_newline_is_one_error)
{
	size_t n = 1 << 20;
	char *text = xmalloc(n + 1);
	char path[512], err[1024];
	struct conf *c;

	memset(text, 'x', n);
	text[n] = '\0';
	write_file(path, text, n);
	c = conf_load(path, err, sizeof(err));
	unlink(path);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(count_lines(err), 1);
	ck_assert_ptr_nonnull(strstr(err, ":1: line too long"));
	free(text);
}
END_TEST

/* Garbage in: a config or a clean error list, never a crash (ASan/UBSan watch). */
START_TEST(test_random_garbage_never_crashes)
{
	static const char alphabet[] = "Mode Socket ClientCharset HeaderCharset InternalHosts "
				       "0123456789/:.@#,k\t\r\n\n\n \x80\xff";
	unsigned long seed = 12345;
	char text[600], path[512], err[512];
	int round;
	size_t i;

	for (round = 0; round < 300; round++) {
		struct conf *c;

		for (i = 0; i < sizeof(text) - 1; i++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			text[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
		}
		text[sizeof(text) - 1] = '\0';
		c = load_text(text, path, err, sizeof(err));
		ck_assert(memchr(err, '\0', sizeof(err)) != NULL);
		ck_assert(c != NULL || err[0] != '\0');
		conf_free(c);
	}
}
END_TEST

/* ---- conf_set and scoping ------------------------------------------------------------ */

START_TEST(test_conf_set_overrides_one_key)
{
	struct conf *c = conf_defaults();
	char err[256];

	ck_assert_int_eq(conf_set(c, "mode", "report", "command line", err, sizeof(err)), 0);
	ck_assert_int_eq(c->mode, MODE_REPORT);
	ck_assert_int_eq(conf_set(c, "Socket", "inet:1234", NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(c->socket, "inet:1234");
	ck_assert_int_eq(conf_set(c, "Mode", "x", NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad Mode"));
	ck_assert_int_eq(c->mode, MODE_REPORT);
	ck_assert_int_eq(conf_set(c, "Nope", "x", NULL, err, sizeof(err)), -1);
	ck_assert_int_eq(conf_set(c, "Mode", "", NULL, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing value"));
	conf_free(c);
}
END_TEST

START_TEST(test_exempt_hosts_win_over_internal_hosts)
{
	struct conf *c = expect_ok("InternalHosts 192.0.2.0/24 .corp.example\n"
				   "ExemptHosts 192.0.2.66 printer.corp.example\n");

	ck_assert(conf_acts_on(c, "192.0.2.1", NULL));
	ck_assert(!conf_acts_on(c, "192.0.2.66", NULL));
	ck_assert(!conf_acts_on(c, "198.51.100.1", NULL));
	ck_assert(conf_acts_on(c, "198.51.100.1", "pc1.corp.example"));
	ck_assert(!conf_acts_on(c, "198.51.100.1", "printer.corp.example"));
	ck_assert(!conf_acts_on(c, NULL, NULL));
	conf_free(c);
}
END_TEST

START_TEST(test_empty_internal_hosts_means_every_client)
{
	struct conf *c = expect_ok("ExemptHosts ::1\n");

	ck_assert(conf_acts_on(c, "2001:db8::1", NULL));
	ck_assert(conf_acts_on(c, NULL, NULL));
	ck_assert(!conf_acts_on(c, "::1", "localhost"));
	conf_free(c);
}
END_TEST

START_TEST(test_conf_free_accepts_null)
{
	conf_free(NULL);
}
END_TEST

/* ---- log ------------------------------------------------------------------------------- */

START_TEST(test_log_level_and_facility_names)
{
	ck_assert_int_eq(log_level_parse("error"), LOG_ERR);
	ck_assert_int_eq(log_level_parse("WARNING"), LOG_WARNING);
	ck_assert_int_eq(log_level_parse("notice"), LOG_NOTICE);
	ck_assert_int_eq(log_level_parse("info"), LOG_INFO);
	ck_assert_int_eq(log_level_parse("Debug"), LOG_DEBUG);
	ck_assert_int_eq(log_level_parse("verbose"), -1);
	ck_assert_int_eq(log_level_parse(""), -1);
	ck_assert_int_eq(log_facility_parse("mail"), LOG_MAIL);
	ck_assert_int_eq(log_facility_parse("DAEMON"), LOG_DAEMON);
	ck_assert_int_eq(log_facility_parse("local0"), LOG_LOCAL0);
	ck_assert_int_eq(log_facility_parse("local7"), LOG_LOCAL7);
	ck_assert_int_eq(log_facility_parse("local8"), -1);
	ck_assert_int_eq(log_facility_parse("kern"), -1);
}
END_TEST

/* Run fn with stderr redirected to a file; returns what was written. */
static char *capture_stderr(void (*fn)(void))
{
	char path[512];
	int fd, saved;
	FILE *fp;
	char *out = xcalloc(1, 8192);

	write_file(path, "", 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_lt(fread(out, 1, 8191, fp), 8191);
	fclose(fp);
	unlink(path);
	return out;
}

static void log_some_lines(void)
{
	log_open(false, LOG_MAIL, LOG_INFO);
	log_info("hello %d", 42);
	log_debug("not shown");
	log_err("two\nlines");
	log_set_level(LOG_DEBUG);
	log_debug("now shown");
	log_set_level(LOG_ERR);
	log_warn("dropped");
}

START_TEST(test_stderr_log_lines_have_prefix_and_respect_level)
{
	char *out = capture_stderr(log_some_lines);
	char want[512];
	long pid = (long)getpid();

	render(want, sizeof(want),
	       "codepage-milter[%ld]: info: hello 42\n"
	       "codepage-milter[%ld]: error: two lines\n"
	       "codepage-milter[%ld]: debug: now shown\n", pid, pid, pid);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(log_get_level(), LOG_ERR);
	free(out);
}
END_TEST

static void log_a_long_line(void)
{
	char *big = xmalloc(5000);

	memset(big, 'y', 4999);
	big[4999] = '\0';
	log_open(false, LOG_MAIL, LOG_NOTICE);
	log_notice("%s", big);
	log_notice("after");
	free(big);
}

START_TEST(test_overlong_log_message_is_truncated_to_one_line)
{
	char *out = capture_stderr(log_a_long_line);
	char *nl = strchr(out, '\n');

	ck_assert_ptr_nonnull(nl);
	ck_assert_uint_lt((size_t)(nl - out), 4999);
	ck_assert_ptr_nonnull(strstr(nl + 1, ": notice: after\n"));
	free(out);
}
END_TEST

static void log_preserving_errno(void)
{
	log_open(false, LOG_MAIL, LOG_NOTICE);
	errno = ERANGE;
	log_notice("x");
	ck_assert_int_eq(errno, ERANGE);
}

START_TEST(test_logging_preserves_errno)
{
	free(capture_stderr(log_preserving_errno));
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *keys = tcase_create("keys");
	TCase *syntax = tcase_create("syntax");
	TCase *errors = tcase_create("errors");
	TCase *scope = tcase_create("scope");
	TCase *logging = tcase_create("log");

	tcase_add_test(keys, test_every_table_key_has_a_probe_and_every_probe_a_key);
	tcase_add_test(keys, test_table_entries_are_unique_and_documented);
	tcase_add_test(keys, test_defaults_match_table_and_header);
	tcase_add_test(keys, test_each_table_default_reparses_to_the_same_value);
	tcase_add_test(keys, test_each_key_sets_its_field);
	tcase_add_test(keys, test_keys_are_case_insensitive);
	tcase_add_test(keys, test_names_outside_the_table_are_unknown_keys);
	tcase_add_test(keys, test_full_example_sets_every_key);
	suite_add_tcase(s, keys);

	tcase_add_test(syntax, test_comments_blank_lines_and_white_space_are_ignored);
	tcase_add_test(syntax, test_crlf_line_ends_and_byte_order_mark_are_accepted);
	tcase_add_test(syntax, test_last_line_without_newline_is_parsed);
	tcase_add_test(syntax, test_empty_file_gives_defaults);
	tcase_add_test(syntax, test_header_rule_pattern_may_contain_spaces);
	tcase_add_test(syntax, test_repeatable_keys_accumulate_in_file_order);
	tcase_add_test(syntax, test_placeholder_charset_in_rule_means_let_detection_decide);
	tcase_add_test(syntax, test_charset_aliases_resolve_to_canonical_charset);
	tcase_add_test(syntax, test_boolean_spellings);
	tcase_add_test(syntax, test_size_suffixes);
	tcase_add_test(syntax, test_max_message_size_zero_means_unlimited);
	tcase_add_test(syntax, test_audit_header_off_disables_it);
	tcase_add_test(syntax, test_socket_forms);
	tcase_add_test(syntax, test_umask_is_octal);
	tcase_add_test(syntax, test_user_id_forms);
	tcase_add_test(syntax, test_paths_must_be_absolute);
	tcase_add_test(syntax, test_count_ranges);
	suite_add_tcase(s, syntax);

	tcase_add_test(errors, test_unknown_key_suggests_the_closest_key);
	tcase_add_test(errors, test_unknown_key_without_near_match_has_no_suggestion);
	tcase_add_test(errors, test_missing_value_is_an_error);
	tcase_add_test(errors, test_bad_boolean_is_an_error);
	tcase_add_test(errors, test_bad_size_is_an_error);
	tcase_add_test(errors, test_unknown_charset_is_an_error);
	tcase_add_test(errors, test_placeholder_default_charset_is_an_error);
	tcase_add_test(errors, test_bad_enumerations_are_errors);
	tcase_add_test(errors, test_bad_patterns_are_errors);
	tcase_add_test(errors, test_bad_audit_header_names_are_errors);
	tcase_add_test(errors, test_duplicate_key_is_an_error_naming_the_first_line);
	tcase_add_test(errors, test_failed_first_setting_does_not_count_as_duplicate);
	tcase_add_test(errors, test_unreadable_file_reports_path_and_reason);
	tcase_add_test(errors, test_line_too_long_is_an_error_and_parsing_continues);
	tcase_add_test(errors, test_line_of_exactly_4096_bytes_is_accepted);
	tcase_add_test(errors, test_nul_byte_in_line_is_an_error);
	tcase_add_test(errors, test_all_errors_in_a_file_are_reported);
	tcase_add_test(errors, test_small_error_buffer_summarises_what_did_not_fit);
	tcase_add_test(errors, test_zero_capacity_error_buffer_is_not_written);
	tcase_add_test(errors, test_megabyte_line_without_newline_is_one_error);
	tcase_add_test(errors, test_random_garbage_never_crashes);
	suite_add_tcase(s, errors);

	tcase_add_test(scope, test_conf_set_overrides_one_key);
	tcase_add_test(scope, test_exempt_hosts_win_over_internal_hosts);
	tcase_add_test(scope, test_empty_internal_hosts_means_every_client);
	tcase_add_test(scope, test_conf_free_accepts_null);
	suite_add_tcase(s, scope);

	tcase_add_test(logging, test_log_level_and_facility_names);
	tcase_add_test(logging, test_stderr_log_lines_have_prefix_and_respect_level);
	tcase_add_test(logging, test_overlong_log_message_is_truncated_to_one_line);
	tcase_add_test(logging, test_logging_preserves_errno);
	suite_add_tcase(s, logging);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	make_tmpdir();
	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rmdir(tmpdir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
