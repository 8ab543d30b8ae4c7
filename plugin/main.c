/*
 * main.c -- codepage-milter: option parsing and the daemon's life cycle.
 *
 *   codepage-milter [-c FILE] -t FILE|-     repair one message to stdout
 *   codepage-milter [-c FILE] -x FILE|-     explain the decisions for one message
 *   codepage-milter [-c FILE] -n            check the configuration and exit
 *   codepage-milter [-c FILE] -M list|json|forget KEY   the sender memory (memory_admin.h)
 *   -t/-x with -m [-a ADDR] [-H HELO] [-e SENDER]: read (never teach) the
 *   sender memory as the milter would for a message from that source
 *   codepage-milter [-c FILE] [-p SOCKET] [-f] [-u USER[:GROUP]] [-P PIDFILE]
 *
 * Signals: SIGHUP reloads the configuration file (a bad file keeps the old
 * configuration and logs why); SIGTERM/SIGINT: messages in flight are
 * finished (at most STOP_GRACE_SEC), new ones get the OnError reply
 * meanwhile, then libmilter is stopped and the process exits.
 * libmilter's own signal thread also waits for these signals; the main thread
 * waits for them too and, being the thread the kernel prefers for
 * process-directed signals, normally takes them first.  Should libmilter get
 * one instead, it stops its loop and we exit the same graceful way.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "daemon.h"
#include "engine.h"
#include "memory_admin.h"
#include "log.h"
#include "milter.h"
#include "runtime.h"
#include "util.h"

#define STOP_GRACE_SEC	30	/* longest wait for messages in flight at stop */
#define LISTEN_BACKLOG	64

struct options {
	const char *config;		/* -c */
	const char *socket;		/* -p */
	const char *user;		/* -u */
	const char *pidfile;		/* -P */
	const char *offline_path;	/* -t / -x argument */
	enum cli_action offline_action;
	bool offline;
	bool foreground;		/* -f */
	bool check_only;		/* -n */
	const char *memory_action;	/* -M */
	const char *memory_key;		/* -M forget KEY */
	struct engine_source source;	/* -m -a -H -e */
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: codepage-milter [-c FILE] -t FILE|-    repair one message to stdout\n"
	    "       codepage-milter [-c FILE] -x FILE|-    explain the decisions for one message\n"
	    "       codepage-milter [-c FILE] -n           check the configuration file and exit\n"
	    "       codepage-milter [-c FILE] [-p SOCKET] [-f] [-u USER[:GROUP]] [-P PIDFILE]\n"
	    "       codepage-milter [-c FILE] -M list|json|forget KEY   the sender memory\n"
	    "       codepage-milter -V | -h\n"
	    "  -c FILE     configuration file (default: embedded defaults)\n"
	    "  -p SOCKET   unix:/path, local:/path, inet:PORT@HOST, inet6:PORT@HOST (overrides Socket)\n"
	    "  -f          stay in the foreground and log to stderr\n"
	    "  -u USER[:GROUP]  drop privileges after opening the socket (overrides UserID)\n"
	    "  -P PIDFILE  write the daemon's pid there (overrides PidFile)\n"
	    "  -m          with -t/-x: use the sender memory (read only), for the source\n"
	    "              given by -a ADDR (client address), -H HELO, -e SENDER\n");
}

/* -M ACTION [KEY]: alone (with -c). */
static int memory_options(int argc, char **argv, struct options *o)
{
	bool forget = strcmp(o->memory_action, "forget") == 0;

	if (!forget && strcmp(o->memory_action, "list") != 0 && strcmp(o->memory_action, "json") != 0) {
		fprintf(stderr, "codepage-milter: -M takes list, json or forget KEY\n");
		return EX_USAGE;
	}
	if (forget && optind + 1 == argc)
		o->memory_key = argv[optind++];
	if (optind < argc || (forget && o->memory_key == NULL) || o->offline || o->check_only) {
		fprintf(stderr, "codepage-milter: -M %s%s stands alone (with -c only)\n",
			o->memory_action, forget ? " KEY" : "");
		return EX_USAGE;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "c:p:fu:P:t:x:nVhM:ma:H:e:")) != -1) {
		switch (ch) {
		case 'M': o->memory_action = optarg; break;
		case 'm': o->source.memory = ENGINE_MEMORY_READ; break;
		case 'a': o->source.client_addr = optarg; break;
		case 'H': o->source.helo = optarg; break;
		case 'e': o->source.env_sender = optarg; break;
		case 'c': o->config = optarg; break;
		case 'p': o->socket = optarg; break;
		case 'f': o->foreground = true; break;
		case 'u': o->user = optarg; break;
		case 'P': o->pidfile = optarg; break;
		case 'n': o->check_only = true; break;
		case 't':
		case 'x':
			if (o->offline) {
				fprintf(stderr, "codepage-milter: -t and -x take one message, once\n");
				return EX_USAGE;
			}
			o->offline = true;
			o->offline_action = ch == 't' ? CLI_REPAIR : CLI_EXPLAIN;
			o->offline_path = optarg;
			break;
		case 'V':
			printf("codepage-milter %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (o->memory_action != NULL)
		return memory_options(argc, argv, o);
	if (optind < argc) {
		fprintf(stderr, "codepage-milter: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	if (o->check_only && o->offline) {
		fprintf(stderr, "codepage-milter: -n cannot be combined with -t or -x\n");
		return EX_USAGE;
	}
	return 0;
}

/* Load -c FILE or the embedded defaults; errors go to stderr as FILE:LINE. */
static struct conf *load_config(const char *path)
{
	char err[8192];
	struct conf *c;

	if (path == NULL)
		return conf_defaults();
	err[0] = '\0';
	c = conf_load(path, err, sizeof(err));
	if (c == NULL) {
		fputs(err[0] != '\0' ? err : "codepage-milter: cannot load configuration\n", stderr);
		if (err[0] != '\0' && err[strlen(err) - 1] != '\n')
			fputc('\n', stderr);
	}
	return c;
}

/* The engine falls back to $TMPDIR when SpoolDir is unusable; say so. */
static void check_spool_dir(const struct conf *c)
{
	if (c->spool_dir != NULL && access(c->spool_dir, W_OK | X_OK) == -1)
		log_warn("SpoolDir %s: %s; large messages will be spooled in $TMPDIR or /tmp",
		    c->spool_dir, strerror(errno));
}

/* SIGHUP: a new configuration for new messages, or the old one kept. */
static void reload_config(const char *path)
{
	char err[8192];
	struct conf *c;
	char *p, *line;

	if (path == NULL) {
		log_notice("SIGHUP: no configuration file (embedded defaults), nothing to reload");
		return;
	}
	err[0] = '\0';
	c = conf_load(path, err, sizeof(err));
	if (c == NULL) {
		/* one log line per error, newline-separated in err */
		for (line = err; line != NULL && *line != '\0'; line = p) {
			p = strchr(line, '\n');
			if (p != NULL)
				*p++ = '\0';
			log_err("reload: %s", line);
		}
		log_err("reload of %s failed: keeping the previous configuration", path);
		return;
	}
	log_set_level(c->log_level);
	check_spool_dir(c);
	log_notice("configuration reloaded from %s (mode %s)", path, conf_mode_name(c->mode));
	runtime_set_conf(c);
}

static atomic_bool milter_loop_done;

static void *milter_thread(void *arg)
{
	(void)arg;
	if (milter_main() == -1)
		log_err("libmilter's main loop failed");
	atomic_store(&milter_loop_done, true);
	return NULL;
}

/* What the daemon runs with: options over keys, paths made absolute. */
struct daemon_setup {
	char *socket;
	char *pidfile;		/* NULL: none */
	char *user;		/* NULL: keep the invoking user */
};

static void setup_init(struct daemon_setup *d, const struct options *o, const struct conf *conf)
{
	const char *user = o->user != NULL ? o->user : conf->user_id;
	const char *pidfile = o->pidfile != NULL ? o->pidfile : conf->pid_file;

	d->socket = daemon_absolute_socket(o->socket != NULL ? o->socket : conf->socket);
	d->pidfile = pidfile != NULL ? daemon_absolute_path(pidfile) : NULL;
	d->user = user != NULL ? xstrdup(user) : NULL;
}

static void setup_free(struct daemon_setup *d)
{
	free(d->socket);
	free(d->pidfile);
	free(d->user);
}

/*
 * Socket, detach, pid file, privileges, in the order daemon.h explains.
 * 0, or an exit status; *pid_written says whether to remove the pid file.
 */
static int start_daemon(const struct options *o, const struct daemon_setup *d, bool *pid_written)
{
	*pid_written = false;
	daemon_block_signals();
	if (milter_open(d->socket, LISTEN_BACKLOG) == -1) {
		fprintf(stderr, "codepage-milter: cannot listen on %s\n", d->socket);
		return EX_UNAVAILABLE;
	}
	if (!o->foreground && daemon_detach() == -1)
		return EX_OSERR;
	if (d->pidfile != NULL && daemon_write_pidfile(d->pidfile) == -1)
		return EX_CANTCREAT;
	*pid_written = d->pidfile != NULL;
	if (d->user != NULL && daemon_drop_privileges(d->user, daemon_unix_socket_path(d->socket)) == -1)
		return EX_NOUSER;
	(void)daemon_limit_malloc_arenas();	/* before libmilter's threads */
	return 0;
}

/* Reload on SIGHUP until SIGTERM/SIGINT or libmilter's loop ends. */
static void serve(const struct options *o)
{
	int sig;

	for (;;) {
		sig = daemon_wait_signal(500);
		if (sig == SIGHUP)
			reload_config(o->config);
		else if (sig == SIGTERM || sig == SIGINT)
			break;
		if (atomic_load(&milter_loop_done))
			break;
	}
	log_notice("stopping%s", sig ? " on signal" : "");
}

/* Finish the messages in flight, then stop libmilter; true when its thread ended. */
static bool stop_milter(pthread_t tid)
{
	runtime_begin_stop();
	if (!runtime_wait_idle(STOP_GRACE_SEC))
		log_warn("messages still in flight after %d s: exiting anyway", STOP_GRACE_SEC);
	milter_stop();
	/* libmilter leaves its loop within its poll interval; do not wait forever. */
	for (int i = 0; i < 100 && !atomic_load(&milter_loop_done); i++)
		usleep(100000);
	if (!atomic_load(&milter_loop_done))
		return false;
	pthread_join(tid, NULL);
	return true;
}

static int run_daemon(const struct options *o, struct conf *conf)
{
	struct daemon_setup d;
	pthread_t tid;
	bool thread_running = false, pid_written;
	int status;

	setup_init(&d, o, conf);
	log_open(o->foreground ? false : conf->syslog, conf->syslog_facility, conf->log_level);
	umask(conf->umask);
	runtime_set_conf(conf);		/* owned by the runtime from here on */
	status = start_daemon(o, &d, &pid_written);
	if (status == 0 && pthread_create(&tid, NULL, milter_thread, NULL) != 0) {
		log_err("cannot start the milter thread");
		status = EX_OSERR;
	}
	if (status == 0) {
		thread_running = true;
		/* From here on our handler, not libmilter's sigwait(), gets signals
		 * (the threads just created inherited the blocked mask). */
		if (daemon_take_signals() == -1)
			log_warn("cannot install signal handlers (%s): a SIGHUP may stop the milter",
			    strerror(errno));
		check_spool_dir(conf);
		log_notice("codepage-milter %s listening on %s", PACKAGE_VERSION, d.socket);
		serve(o);
		thread_running = !stop_milter(tid);
	}
	if (pid_written)
		daemon_remove_pidfile(d.pidfile);
	if (!thread_running) {
		runtime_clear_conf();	/* else callbacks may still use it */
		memory_shutdown();	/* the last updates reach the store */
	}
	setup_free(&d);
	return status;
}

int main(int argc, char **argv)
{
	static char *config_path;
	struct options o;
	struct conf *conf;
	int rc;

	rc = parse_options(argc, argv, &o);
	if (rc != 0)
		return rc;
	conf = load_config(o.config);
	if (o.check_only) {
		if (conf == NULL)
			return 2;
		conf_free(conf);
		return 0;
	}
	if (conf == NULL)
		return EX_CONFIG;
	if (o.config != NULL)
		o.config = config_path = daemon_absolute_path(o.config);	/* for SIGHUP */
	if (o.memory_action != NULL) {
		log_open(false, conf->syslog_facility, conf->log_level);
		rc = memory_admin(conf, o.memory_action, o.memory_key, stdout);
		conf_free(conf);
		return rc;
	}
	if (o.offline) {
		log_open(false, conf->syslog_facility, conf->log_level);
		o.source.explain = o.offline_action == CLI_EXPLAIN;
		rc = cli_run(o.offline_action, o.offline_path, conf, &o.source);
		memory_shutdown();
		conf_free(conf);
		return rc;
	}
	rc = run_daemon(&o, conf);
	free(config_path);
	return rc;
}
