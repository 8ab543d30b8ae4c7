/*
 * log.h -- logging to syslog or stderr, with a level threshold.
 *
 * log_open() chooses syslog (ident "codepage-milter", the configured
 * facility) or stderr (foreground, -t/-x, tests).  Messages below the level
 * are dropped before formatting.  Callers pass text through report_sanitize
 * before logging anything a sender wrote.
 *
 * Stderr lines look like "codepage-milter[PID]: LEVEL: message\n" (LEVEL is
 * error, warning, notice, info, debug); each message is one write(2), at
 * most 2 KiB (longer ones are cut), with CR/LF inside it turned into spaces
 * so one event is one line.  log_msg preserves errno.  Before log_open the
 * output goes to stderr at level notice.
 *
 * Threads: log_msg, log_get_level and log_set_level may be called from any
 * thread at any time (the level is an atomic: a SIGHUP reload changes it
 * while milter threads log).  log_open must be called before other threads
 * log, as it switches the sink without synchronisation.
 *
 * log_level_parse accepts error|err, warning|warn, notice, info, debug;
 * log_facility_parse mail, daemon, local0..local7 (case-insensitive).
 */
#ifndef CPM_LOG_H
#define CPM_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_open(bool use_syslog, int facility, int level);
void log_set_level(int level);
int log_get_level(void);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/* Parse "info", "debug"... / "mail", "local3"...; -1 when unknown. */
int log_level_parse(const char *s);
int log_facility_parse(const char *s);

#endif
