/*
 * milter.c -- the libmilter adapter.  See milter.h for the contract.
 *
 * Callbacks translate milter events into engine calls (engine.h) and the
 * engine's edit list back into smfi_* calls; every decision about mail
 * content belongs to the engine.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "buf.h"
#include "conf.h"
#include "engine.h"
#include "log.h"
#include "milter.h"
#include "report.h"
#include "rules.h"
#include "util.h"

/* Longest header field we rebuild for the engine; longer ones make the
 * message pass untouched (the engine's own MaxHeaderSize is smaller). */
#define FIELD_MAX	(1024 * 1024)
/* smfi_replacebody takes at most this much per call. */
#define REPLACE_CHUNK	65535

/* ---- configuration: refcounted, swapped under a mutex -------------------- */

struct conf_ref {
	struct conf *conf;
	unsigned refs;		/* 1 for "current" + 1 per message using it */
};

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conf_ref *current_conf;

static void conf_ref_drop_locked(struct conf_ref *r)
{
	if (--r->refs == 0) {
		conf_free(r->conf);
		free(r);
	}
}

void milter_set_conf(struct conf *c)
{
	struct conf_ref *r = xmalloc(sizeof(*r));

	r->conf = c;
	r->refs = 1;
	pthread_mutex_lock(&conf_lock);
	if (current_conf != NULL)
		conf_ref_drop_locked(current_conf);
	current_conf = r;
	pthread_mutex_unlock(&conf_lock);
}

void milter_release_conf(void)
{
	pthread_mutex_lock(&conf_lock);
	if (current_conf != NULL)
		conf_ref_drop_locked(current_conf);
	current_conf = NULL;
	pthread_mutex_unlock(&conf_lock);
}

static struct conf_ref *conf_acquire(void)
{
	struct conf_ref *r;

	pthread_mutex_lock(&conf_lock);
	r = current_conf;
	if (r != NULL)
		r->refs++;
	pthread_mutex_unlock(&conf_lock);
	return r;
}

static void conf_release(struct conf_ref *r)
{
	pthread_mutex_lock(&conf_lock);
	conf_ref_drop_locked(r);
	pthread_mutex_unlock(&conf_lock);
}

/* ---- messages in flight, for a graceful stop ----------------------------- */

static pthread_mutex_t flight_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stopping;		/* under flight_lock: no new messages */
static pthread_cond_t flight_cond = PTHREAD_COND_INITIALIZER;
static unsigned messages_in_flight;

static void flight_leave(void)
{
	pthread_mutex_lock(&flight_lock);
	if (messages_in_flight > 0)
		messages_in_flight--;
	if (messages_in_flight == 0)
		pthread_cond_broadcast(&flight_cond);
	pthread_mutex_unlock(&flight_lock);
}

void milter_begin_stop(void)
{
	pthread_mutex_lock(&flight_lock);
	stopping = true;
	pthread_mutex_unlock(&flight_lock);
}

/* Count a new message in, unless the daemon is stopping. */
static bool flight_enter(void)
{
	bool ok;

	pthread_mutex_lock(&flight_lock);
	ok = !stopping;
	if (ok)
		messages_in_flight++;
	pthread_mutex_unlock(&flight_lock);
	return ok;
}

bool milter_wait_idle(unsigned timeout_sec)
{
	struct timespec until;
	bool idle;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_sec;
	pthread_mutex_lock(&flight_lock);
	while (messages_in_flight > 0 &&
	    pthread_cond_timedwait(&flight_cond, &flight_lock, &until) == 0)
		;
	idle = messages_in_flight == 0;
	pthread_mutex_unlock(&flight_lock);
	return idle;
}

/* ---- per-connection and per-message state -------------------------------- */

struct message {
	struct conf_ref *cref;
	struct engine *engine;
	bool header_ended;	/* the blank line was fed */
	bool failed;		/* an engine call failed; why is in `why` */
	char why[256];
};

struct session {
	char client_addr[INET6_ADDRSTRLEN];
	char *client_name;
	char *helo;
	bool leadspc;		/* MTA passes/takes values with the leading space */
	unsigned long actions;	/* granted modification actions */
	unsigned long steps;	/* granted protocol steps (SMFIP_*) */
	struct message *msg;
	struct buf field;	/* scratch: one rebuilt header field */
};

static struct session *session_get(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		buf_init(&s->field, FIELD_MAX);
		smfi_setpriv(ctx, s);
	}
	return s;
}

static void message_free(struct session *s)
{
	struct message *m = s->msg;

	if (m == NULL)
		return;
	if (m->engine != NULL)
		engine_free(m->engine);
	conf_release(m->cref);
	free(m);
	s->msg = NULL;
	flight_leave();
}

static void session_free(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s == NULL)
		return;
	message_free(s);
	free(s->client_name);
	free(s->helo);
	buf_free(&s->field);
	free(s);
	smfi_setpriv(ctx, NULL);
}

/* The reply for a step the MTA may have been told not to wait for. */
static sfsistat step_reply(const struct session *s, unsigned long noreply_flag)
{
	return (s->steps & noreply_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static const char *queue_id(SMFICTX *ctx)
{
	const char *id = smfi_getsymval(ctx, "i");

	if (id == NULL)
		id = smfi_getsymval(ctx, "{i}");
	return id != NULL ? id : "NOQUEUE";
}

static void message_fail(struct message *m, const char *what, const char *detail)
{
	if (m->failed)
		return;
	m->failed = true;
	snprintf(m->why, sizeof(m->why), "%s: %s", what, detail != NULL ? detail : "unknown error");
}

static void feed(struct message *m, const char *data, size_t len)
{
	if (m->failed)
		return;
	if (engine_feed(m->engine, data, len) == -1)
		message_fail(m, "engine_feed", engine_error(m->engine));
}

/* ---- header value conversions -------------------------------------------- */

/*
 * Both MTAs pass a folded value with bare LF between its lines and keep LF
 * as the line separator of values given back to them (Postfix writes each
 * LF-separated piece as a queue-file record; Sendmail's header writer breaks
 * lines at LF).  A CR left in would end up in the delivered message.
 */
char *milter_value_from_mta(const char *value, bool leadspc)
{
	struct buf b;
	const char *p;

	buf_init(&b, (size_t)-1 / 2);
	if (!leadspc)
		buf_putc(&b, ' ');
	for (p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			buf_putc(&b, '\r');
		buf_putc(&b, *p);
	}
	return buf_steal(&b, NULL);
}

char *milter_value_to_mta(const char *value, bool leadspc)
{
	struct buf b;
	const char *p = value;

	buf_init(&b, (size_t)-1 / 2);
	if (!leadspc && *p == ' ')
		p++;
	for (; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		buf_putc(&b, *p);
	}
	return buf_steal(&b, NULL);
}

/* ---- callbacks ------------------------------------------------------------ */

#define WANTED_ACTIONS	(SMFIF_CHGHDRS | SMFIF_ADDHDRS | SMFIF_CHGBODY)
/*
 * Steps: header values with their leading space, no RCPT or unknown
 * commands -- and nothing else skipped or left unanswered, on purpose.
 * Neither MTA sets TCP_NODELAY on its milter socket, so any packet of theirs
 * that gets no reply (a SMFIP_NR_* step, a macro packet) makes their next
 * write wait for our delayed ACK: ~40 ms on TCP.  Measured through real
 * MTAs over inet, one SMTP session after another:
 *   Postfix, SMFIP_NODATA: smtpd's last packet goes unanswered before it
 *     hands the connection to cleanup: 20 msg/s instead of 170;
 *   Sendmail, NR_CONN/HELO/HDR/BODY: a stall after each unanswered run;
 *     Sendmail's default macro packets before every stage: a stall each
 *     (6.4 msg/s); with the macro lists cut to what we use and no NR
 *     steps: 12 msg/s, the one stall left being the {i} macro packet before
 *     end of message (the queue id is worth it).  Unix sockets do not stall
 *     (Sendmail 40-50 msg/s, Postfix 140-180 msg/s).
 */
#define WANTED_STEPS	(SMFIP_HDR_LEADSPC | SMFIP_NORCPT | SMFIP_NOUNKNOWN)

static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	struct session *s = session_get(ctx);

	(void)f2;
	(void)f3;
	s->actions = f0 & WANTED_ACTIONS;
	if (s->actions != WANTED_ACTIONS)
		log_warn("MTA offers milter actions 0x%lx, need 0x%lx: messages will pass unchanged",
		    f0, (unsigned long)WANTED_ACTIONS);
	*pf0 = s->actions;
	if (f0 & SMFIF_SETSYMLIST) {
		*pf0 |= SMFIF_SETSYMLIST;
		/* Only the queue id, for the log: every macro packet costs a
		 * round trip, and a delayed-ACK stall on TCP (see above). */
		smfi_setsymlist(ctx, SMFIM_CONNECT, (char *)"");
		smfi_setsymlist(ctx, SMFIM_HELO, (char *)"");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)"");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, (char *)"");
		smfi_setsymlist(ctx, SMFIM_DATA, (char *)"");
		smfi_setsymlist(ctx, SMFIM_EOH, (char *)"");
		smfi_setsymlist(ctx, SMFIM_EOM, (char *)"i");
	}
	s->steps = f1 & WANTED_STEPS;
	s->leadspc = (s->steps & SMFIP_HDR_LEADSPC) != 0;
	*pf1 = s->steps;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct session *s = session_get(ctx);

	s->client_addr[0] = '\0';
	if (addr != NULL && addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)addr)->sin_addr,
		    s->client_addr, sizeof(s->client_addr));
	else if (addr != NULL && addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)addr)->sin6_addr,
		    s->client_addr, sizeof(s->client_addr));
	free(s->client_name);
	/* "[192.0.2.1]" (Sendmail) or "unknown" (Postfix): no verified name */
	s->client_name = hostname != NULL && hostname[0] != '[' && strcmp(hostname, "unknown") != 0 ?
	    xstrdup(hostname) : NULL;
	return step_reply(s, SMFIP_NR_CONN);
}

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
	struct session *s = session_get(ctx);

	free(s->helo);
	s->helo = helo != NULL ? xstrdup(helo) : NULL;
	return step_reply(s, SMFIP_NR_HELO);
}

static char *envelope_address(const char *arg)
{
	size_t len = strlen(arg);

	if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>')
		return xstrndup(arg + 1, len - 2);
	return xstrdup(arg);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = session_get(ctx);
	struct engine_source src;
	struct conf_ref *cref;
	struct message *m;
	char *sender;
	int i;

	message_free(s);	/* a previous message that got neither eom nor abort */
	cref = conf_acquire();
	if (cref == NULL)
		return SMFIS_ACCEPT;
	if (cref->conf->mode == MODE_OFF || s->actions != WANTED_ACTIONS ||
	    !conf_acts_on(cref->conf, s->client_addr[0] != '\0' ? s->client_addr : NULL,
	    s->client_name)) {
		conf_release(cref);
		return SMFIS_ACCEPT;
	}
	if (!flight_enter()) {
		/* Shutting down: a new message is treated like an internal error. */
		sfsistat rc = cref->conf->on_error == ON_ERROR_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;

		conf_release(cref);
		log_info("stopping: new message %s", rc == SMFIS_TEMPFAIL ? "tempfailed" : "passed unchanged");
		return rc;
	}
	memset(&src, 0, sizeof(src));
	src.client_addr = s->client_addr[0] != '\0' ? s->client_addr : NULL;
	src.client_name = s->client_name;
	src.helo = s->helo;
	sender = envelope_address(argv[0] != NULL ? argv[0] : "");
	src.env_sender = sender;
	src.memory = ENGINE_MEMORY_LEARN;
	for (i = 1; argv[0] != NULL && argv[i] != NULL; i++) {
		if (ascii_strcasecmp(argv[i], "BODY=8BITMIME") == 0)
			src.body_8bitmime = true;
		else if (ascii_strcasecmp(argv[i], "SMTPUTF8") == 0)
			src.smtputf8 = true;
	}
	m = xcalloc(1, sizeof(*m));
	m->cref = cref;
	m->engine = engine_new(cref->conf, &src);
	free(sender);
	s->msg = m;
	return SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = session_get(ctx);
	char *v;

	if (s->msg == NULL || s->msg->failed)
		return step_reply(s, SMFIP_NR_HDR);
	v = milter_value_from_mta(value, s->leadspc);
	buf_reset(&s->field);
	if (buf_puts(&s->field, name) == -1 || buf_putc(&s->field, ':') == -1 ||
	    buf_puts(&s->field, v) == -1 || buf_puts(&s->field, "\r\n") == -1)
		message_fail(s->msg, "header", "field too long");
	else
		feed(s->msg, s->field.data, s->field.len);
	free(v);
	return step_reply(s, SMFIP_NR_HDR);
}

static void end_header(struct message *m)
{
	if (!m->header_ended) {
		m->header_ended = true;
		feed(m, "\r\n", 2);
	}
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct session *s = session_get(ctx);

	if (s->msg != NULL)
		end_header(s->msg);
	return step_reply(s, SMFIP_NR_EOH);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = session_get(ctx);

	if (s->msg != NULL) {
		end_header(s->msg);
		feed(s->msg, (const char *)chunk, len);
	}
	return step_reply(s, SMFIP_NR_BODY);
}

/* ---- end of message: apply the edit list ------------------------------------ */

struct body_sink {
	SMFICTX *ctx;
	size_t sent;		/* bytes handed to smfi_replacebody */
	bool mta_failed;
};

static int replace_body_sink(void *arg, const char *data, size_t len)
{
	struct body_sink *bs = arg;

	while (len > 0) {
		size_t n = len < REPLACE_CHUNK ? len : REPLACE_CHUNK;

		if (smfi_replacebody(bs->ctx, (unsigned char *)(uintptr_t)data, (int)n) != MI_SUCCESS) {
			bs->mta_failed = true;
			return -1;
		}
		bs->sent += n;
		data += n;
		len -= n;
	}
	return 0;
}

static int apply_header_edit(SMFICTX *ctx, const struct session *s, const struct edit *ed)
{
	char *v = NULL;
	int rc;

	if (ed->hdr_value != NULL)
		v = milter_value_to_mta(ed->hdr_value, s->leadspc);
	if (ed->hdr_op == HDR_CHANGE)
		rc = smfi_chgheader(ctx, (char *)(uintptr_t)ed->hdr_name, (int)ed->hdr_occurrence, v);
	else
		rc = smfi_addheader(ctx, (char *)(uintptr_t)ed->hdr_name, v != NULL ? v : (char *)"");
	free(v);
	return rc == MI_SUCCESS ? 0 : -1;
}

/*
 * Body first, then header changes from the last field to the first (so a
 * deleted field cannot shift the occurrence index of a later one), then the
 * added fields in order.  *changed tells the caller whether anything reached
 * the MTA before a failure.
 */
static int apply_edits(SMFICTX *ctx, struct session *s, bool *changed, const char **why)
{
	struct engine *e = s->msg->engine;
	const struct edit_list *el = engine_edits(e);
	struct body_sink bs = { ctx, 0, false };
	size_t i;

	*changed = false;
	if (engine_body_changed(e)) {
		int rc = engine_write(e, engine_body_offset(e), replace_body_sink, &bs);

		*changed = bs.sent > 0;
		if (rc == -1) {
			*why = bs.mta_failed ? "smfi_replacebody failed" : engine_error(e);
			return -1;
		}
		*changed = true;
	}
	for (i = el->n; i-- > 0;) {
		if (el->v[i].hdr_op != HDR_CHANGE)
			continue;
		if (apply_header_edit(ctx, s, &el->v[i]) == -1) {
			*why = "smfi_chgheader failed";
			return -1;
		}
		*changed = true;
	}
	for (i = 0; i < el->n; i++) {
		if (el->v[i].hdr_op != HDR_ADD)
			continue;
		if (apply_header_edit(ctx, s, &el->v[i]) == -1) {
			*why = "smfi_addheader failed";
			return -1;
		}
		*changed = true;
	}
	return 0;
}

static sfsistat error_reply(const struct message *m)
{
	return m->cref->conf->on_error == ON_ERROR_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;
}

static void log_acted(const char *qid, const struct engine *e)
{
	struct buf line, id;

	buf_init(&line, 4096);
	buf_init(&id, 256);
	report_sanitize(qid, strlen(qid), &id);
	report_format_summary(engine_report(e), &line);
	log_notice("%s: %s", buf_cstr(&id), buf_cstr(&line));
	buf_free(&line);
	buf_free(&id);
}

/* Why a message that needed something was left alone (LogLevel info). */
static void log_untouched(const char *qid, const char *note)
{
	struct buf id, why;

	buf_init(&id, 256);
	buf_init(&why, 512);
	report_sanitize(qid, strlen(qid), &id);
	report_sanitize(note, strlen(note), &why);
	log_info("%s: passed untouched: %s", buf_cstr(&id), buf_cstr(&why));
	buf_free(&id);
	buf_free(&why);
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct session *s = session_get(ctx);
	struct message *m = s->msg;
	const char *qid = queue_id(ctx);
	const char *why = NULL;
	sfsistat rc = SMFIS_CONTINUE;
	bool changed;

	if (m == NULL)
		return SMFIS_CONTINUE;
	end_header(m);
	if (!m->failed && engine_finish(m->engine) == -1)
		message_fail(m, "engine_finish", engine_error(m->engine));
	if (m->failed) {
		rc = error_reply(m);
		log_err("%s: %s; message %s", qid, m->why,
		    rc == SMFIS_TEMPFAIL ? "tempfailed" : "passed unchanged");
	} else if (engine_edits(m->engine)->n > 0) {
		if (apply_edits(ctx, s, &changed, &why) == -1) {
			/* Half an edit list could deliver a label that lies. */
			rc = changed ? SMFIS_TEMPFAIL : error_reply(m);
			log_err("%s: applying edits: %s; message %s", qid,
			    why != NULL ? why : "unknown error",
			    rc == SMFIS_TEMPFAIL ? "tempfailed" : "passed unchanged");
		} else {
			log_acted(qid, m->engine);
		}
	} else if (engine_report(m->engine)->passed_untouched &&
	    engine_report(m->engine)->note[0] != '\0' && log_get_level() >= LOG_INFO) {
		log_untouched(qid, engine_report(m->engine)->note);
	} else if (log_get_level() >= LOG_DEBUG) {
		log_debug("%s: no change", qid);
	}
	message_free(s);
	return rc;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s != NULL)
		message_free(s);
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	session_free(ctx);
	return SMFIS_CONTINUE;
}

/* ---- registration and the listening socket --------------------------------- */

static struct smfiDesc milter_desc = {
	.xxfi_name = (char *)"codepage-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = WANTED_ACTIONS,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};

/*
 * libmilter writes each reply with its own write() and leaves Nagle on, so an
 * end of message answered with several replies (change header, add header,
 * continue) waits for the MTA's delayed ACK, ~40 ms per message on TCP.
 * libmilter hands out neither the listening nor the accepted descriptors, but
 * on Linux an accepted TCP socket inherits TCP_NODELAY from its listener
 * (the child socket is a clone of the listener).  So: find our listening TCP
 * socket among our own descriptors right after smfi_opensocket() and set the
 * option there.  Returns the number of listeners changed.
 */
static int tcp_nodelay_on_listeners(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int changed = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd, on = 1, listening = 0;
		socklen_t ol = sizeof(listening);
		struct stat st;
		char *end;
		long v = strtol(de->d_name, &end, 10);

		if (*end != '\0' || end == de->d_name || v < 0 || v == dirfd(d))
			continue;
		fd = (int)v;
		if (fstat(fd, &st) == -1 || !S_ISSOCK(st.st_mode))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) == -1 || !listening)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0)
			changed++;
		else
			log_warn("TCP_NODELAY on the milter socket: %s", strerror(errno));
	}
	closedir(d);
	return changed;
}

/* The path of a unix socket specification, or NULL for inet. */
static const char *unix_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

/*
 * libmilter removes an existing unix socket file before binding (rmsocket),
 * which would silently steal the socket of a daemon still running.  Refuse
 * when something answers on it.
 */
static bool unix_socket_in_use(const char *spec)
{
	struct sockaddr_un sun;
	const char *path = unix_socket_path(spec);
	int fd, rc;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return false;
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

/* libmilter says only that it failed; for a unix socket, say why if we can. */
static void explain_socket_failure(const char *spec)
{
	const char *path = unix_socket_path(spec);
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash;
	struct stat st;

	if (path != NULL && strlen(path) >= sizeof(dir)) {
		log_err("cannot open milter socket %s: path longer than %zu bytes", spec, sizeof(dir) - 1);
		return;
	}
	if (path != NULL && (slash = strrchr(path, '/')) != NULL && slash != path) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		if (stat(dir, &st) == -1) {
			log_err("cannot open milter socket %s: directory %s: %s", spec, dir, strerror(errno));
			return;
		}
		if (access(dir, W_OK | X_OK) == -1) {
			log_err("cannot open milter socket %s: directory %s: %s", spec, dir, strerror(errno));
			return;
		}
	}
	log_err("cannot open milter socket %s (address in use or not ours, or bad specification)", spec);
}

int milter_open(const char *socket, int backlog)
{
	if (unix_socket_in_use(socket)) {
		log_err("%s is in use by another process", socket);
		return -1;
	}
	if (smfi_setconn((char *)(uintptr_t)socket) != MI_SUCCESS) {
		log_err("bad milter socket specification: %s", socket);
		return -1;
	}
	if (backlog > 0)
		smfi_setbacklog(backlog);
	if (smfi_register(milter_desc) != MI_SUCCESS) {
		log_err("smfi_register failed");
		return -1;
	}
	if (smfi_opensocket(true) != MI_SUCCESS) {
		explain_socket_failure(socket);
		return -1;
	}
	if (strncmp(socket, "inet", 4) == 0 && tcp_nodelay_on_listeners() == 0)
		log_warn("could not set TCP_NODELAY on %s: end-of-message replies may be delayed", socket);
	return 0;
}

int milter_main(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

int milter_run(const char *socket, int backlog)
{
	if (milter_open(socket, backlog) == -1)
		return -1;
	return milter_main();
}

void milter_stop(void)
{
	smfi_stop();
}
