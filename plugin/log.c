/*
 * log.c -- logging to syslog or stderr with a level threshold.  See log.h.
 *
 * The level test comes before any formatting so that debug calls cost one
 * comparison in production.  Each message is formatted into one bounded
 * buffer and written with a single write(2), so lines from concurrent milter
 * threads do not interleave; line breaks inside a message are flattened to
 * spaces so one event is always one log line.
 *
 * Threads: the threshold is written by the main thread on SIGHUP
 * (log_set_level) while milter worker threads read it in every log_msg, so it
 * is a C11 atomic; relaxed order is enough because it guards no other data.
 * The sink (log_to_syslog) is chosen by log_open before any thread starts and
 * never changes afterwards.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define LOG_LINE_MAX	2048	/* longer messages are truncated */

static bool log_to_syslog;
static atomic_int log_threshold = LOG_NOTICE;

static const struct { const char *name; int value; } level_names[] = {
	{ "error", LOG_ERR }, { "err", LOG_ERR },
	{ "warning", LOG_WARNING }, { "warn", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

static const struct { const char *name; int value; } facility_names[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

void log_open(bool use_syslog, int facility, int level)
{
	if (log_to_syslog && !use_syslog)
		closelog();
	log_to_syslog = use_syslog;
	if (use_syslog)
		openlog("codepage-milter", LOG_PID | LOG_NDELAY, facility);
	log_set_level(level);
}

void log_set_level(int level)
{
	if (level < LOG_EMERG)
		level = LOG_EMERG;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	atomic_store_explicit(&log_threshold, level, memory_order_relaxed);
}

int log_get_level(void)
{
	return atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

/* Name used in stderr lines; the canonical (first) spelling of each level. */
static const char *log_level_label(int priority)
{
	switch (priority) {
	case LOG_EMERG:		return "emerg";
	case LOG_ALERT:		return "alert";
	case LOG_CRIT:		return "crit";
	case LOG_ERR:		return "error";
	case LOG_WARNING:	return "warning";
	case LOG_NOTICE:	return "notice";
	case LOG_INFO:		return "info";
	default:		return "debug";
	}
}

static void flatten_line_breaks(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t used = 0;
	int n;
	va_list ap;
	int saved_errno = errno;	/* callers may log and then inspect errno */

	priority &= LOG_PRIMASK;
	if (priority > atomic_load_explicit(&log_threshold, memory_order_relaxed))
		return;
	if (!log_to_syslog) {
		n = snprintf(line, sizeof(line), "codepage-milter[%ld]: %s: ",
			     (long)getpid(), log_level_label(priority));
		if (n > 0)
			used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	}
	va_start(ap, fmt);
	n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
	va_end(ap);
	if (n < 0)
		line[used] = '\0';
	flatten_line_breaks(line + used);
	if (log_to_syslog) {
		syslog(priority, "%s", line);
	} else {
		size_t len = strlen(line);

		if (len < sizeof(line) - 1) {
			line[len++] = '\n';
		} else {
			line[len - 1] = '\n';	/* truncated: keep one line per event */
		}
		if (write(STDERR_FILENO, line, len) < 0) {
			/* nowhere left to report a failed log write */
		}
	}
	errno = saved_errno;
}

int log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(level_names); i++)
		if (ascii_strcasecmp(s, level_names[i].name) == 0)
			return level_names[i].value;
	return -1;
}

int log_facility_parse(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(facility_names); i++)
		if (ascii_strcasecmp(s, facility_names[i].name) == 0)
			return facility_names[i].value;
	return -1;
}
