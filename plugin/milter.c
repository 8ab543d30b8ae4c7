/*
 * milter.c -- the libmilter adapter.  See milter.h for the contract.
 *
 * Callbacks translate milter events into engine calls (engine.h) and the
 * engine's edit list back into smfi_* calls; every decision about mail
 * content belongs to the engine.  The configuration in force and the count
 * of messages in flight live in runtime.c, the checks around the listening
 * socket in daemon.c, the translation of header fields between libmilter's
 * form and the wire form in mtafield.c: this file is the callbacks and the
 * per-message session.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "buf.h"
#include "conf.h"
#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "milter.h"
#include "mtafield.h"
#include "report.h"
#include "runtime.h"
#include "util.h"

/* Longest header field we rebuild for the engine: MaxHeaderSize's upper
 * bound, and room for "Name: " and CRLF; longer ones make the message pass
 * untouched. */
#define FIELD_MAX	(CONF_HEADER_SIZE_MAX + 1024)
/* smfi_replacebody takes at most this much per call. */
#define REPLACE_CHUNK	65535

/* ---- per-connection and per-message state -------------------------------- */

struct message {
	struct conf_ref *cref;	/* the configuration it started with */
	const struct conf *conf;
	struct engine *engine;
	bool header_ended;	/* the blank line was fed */
	bool failed;		/* an engine call failed; why is in `why` */
	char why[256];
	bool received_seen;	/* the first Received: field went by */
	char received_id[32];	/* its "id" token: the MTA's queue id, or "" */
	char message_id[128];	/* the Message-ID field's value, or "" */
	struct mtafield_source source;	/* for the memory lookup begun at end of header */
};

struct session {
	char client_addr[INET6_ADDRSTRLEN];
	char *client_name;
	char *helo;
	bool leadspc;		/* MTA passes/takes values with the leading space */
	unsigned long actions;	/* granted modification actions */
	unsigned long steps;	/* granted protocol steps (SMFIP_*) */
	struct message *msg;
	bool accept_next;	/* passed as too big at an unanswered step: accept at the next answered one */
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
	runtime_conf_release(m->cref);
	mtafield_source_free(&m->source);
	free(m);
	s->msg = NULL;
	runtime_flight_leave();
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

/*
 * Over TCP the milter asks for no macros at all: a macro packet is the one
 * packet a milter never answers, and Sendmail writes it and the command
 * after it separately, so with Nagle on its side and a delayed ACK on ours
 * every such packet costs 40 ms (Sendmail over inet: 12 messages/s).  The
 * log line is then keyed by the MTA's own Received: field's queue id when
 * the MTA passes that field (Postfix: "... with ESMTP id 4jg9jz1HdBz1bdHx";
 * Sendmail does not), else by the Message-ID, which Sendmail's own log line
 * carries too (msgid=<...>).  On a unix socket, where there is no Nagle, {i}
 * is asked for at end of message as before.
 */
static bool macros_stall;

static const char *queue_id(SMFICTX *ctx, const struct message *m)
{
	const char *id = smfi_getsymval(ctx, "i");

	if (id == NULL)
		id = smfi_getsymval(ctx, "{i}");
	if (id == NULL && m != NULL && m->received_id[0] != '\0')
		id = m->received_id;
	if (id == NULL && m != NULL && m->message_id[0] != '\0')
		id = m->message_id;
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

/* "QID: prefix text", queue id and text made printable ASCII (a sender may
 * have chosen either). */
static void log_about(int priority, const char *qid, const char *prefix, const char *text)
{
	struct buf id, clean;

	buf_init(&id, 256);
	buf_init(&clean, 4096);
	report_sanitize(qid, strlen(qid), &id);
	report_sanitize(text, strlen(text), &clean);
	log_msg(priority, "%s: %s%s", buf_cstr(&id), prefix, buf_cstr(&clean));
	buf_free(&id);
	buf_free(&clean);
}

static void log_acted(const char *qid, const struct engine *e)
{
	struct buf line;

	buf_init(&line, 4096);
	report_format_summary(engine_report(e), &line);
	log_about(LOG_NOTICE, qid, "", buf_cstr(&line));
	buf_free(&line);
}

/* ---- callbacks ------------------------------------------------------------ */

#define WANTED_ACTIONS	(SMFIF_CHGHDRS | SMFIF_ADDHDRS | SMFIF_CHGBODY)
/* Steps: leading space kept, no RCPT or unknown commands (nothing here
 * looks at them).  Over TCP every other step is answered: an unanswered
 * packet stalls the MTA (its Nagle holds the next packet until our delayed
 * ACK, 40 ms; see macros_stall).  DATA stays there too, though nothing looks
 * at it: without it Postfix went from 389 to 157 messages/s over TCP here --
 * its smtpd hands the connection to cleanup after DATA, and the DATA reply
 * is what left nothing unanswered behind.  On a unix socket there is no
 * Nagle: no DATA step, and connect, HELO, each header field and the end of
 * header go unanswered (SMFIP_NR_*, where the MTA offers them): one round
 * trip -- two context switches -- fewer per packet, most of the packets of
 * a typical message.  Body chunks are still answered: that is where a
 * message past MaxMessageSize is accepted at once (one that crossed it in
 * its header is accepted at its first body chunk). */
#define WANTED_STEPS	(SMFIP_HDR_LEADSPC | SMFIP_NORCPT | SMFIP_NOUNKNOWN)
#define NOREPLY_STEPS	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH)
#define UNIX_STEPS	(NOREPLY_STEPS | SMFIP_NODATA)

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
		/* Only the queue id, for the log, and over TCP not even that:
		 * see macros_stall. */
		smfi_setsymlist(ctx, SMFIM_CONNECT, (char *)"");
		smfi_setsymlist(ctx, SMFIM_HELO, (char *)"");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *)"");
		smfi_setsymlist(ctx, SMFIM_ENVRCPT, (char *)"");
		smfi_setsymlist(ctx, SMFIM_DATA, (char *)"");
		smfi_setsymlist(ctx, SMFIM_EOH, (char *)"");
		smfi_setsymlist(ctx, SMFIM_EOM, (char *)(macros_stall ? "" : "i"));
	}
	s->steps = f1 & (macros_stall ? WANTED_STEPS : WANTED_STEPS | UNIX_STEPS);
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

/* The engine's view of the SMTP source; strings point into s and sender. */
static void engine_source_of(const struct session *s, char **argv, char *sender,
    struct engine_source *src)
{
	int i;

	memset(src, 0, sizeof(*src));
	src->client_addr = s->client_addr[0] != '\0' ? s->client_addr : NULL;
	src->client_name = s->client_name;
	src->helo = s->helo;
	src->env_sender = sender;
	src->memory = ENGINE_MEMORY_LEARN;
	for (i = 1; argv[0] != NULL && argv[i] != NULL; i++) {
		if (ascii_strcasecmp(argv[i], "BODY=8BITMIME") == 0)
			src->body_8bitmime = true;
		else if (ascii_strcasecmp(argv[i], "SMTPUTF8") == 0)
			src->smtputf8 = true;
	}
}

/* Is this message ours to work on under configuration c? */
static bool acts_on(const struct session *s, const struct conf *c)
{
	return c->mode != MODE_OFF && s->actions == WANTED_ACTIONS &&
	    conf_acts_on(c, s->client_addr[0] != '\0' ? s->client_addr : NULL, s->client_name);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = session_get(ctx);
	struct engine_source src;
	struct conf_ref *cref;
	const struct conf *c;
	struct message *m;
	char *sender;

	message_free(s);	/* a previous message that got neither eom nor abort */
	s->accept_next = false;
	cref = runtime_conf_acquire();
	if (cref == NULL)
		return SMFIS_ACCEPT;
	c = runtime_conf_get(cref);
	if (!acts_on(s, c)) {
		runtime_conf_release(cref);
		return SMFIS_ACCEPT;
	}
	if (!runtime_flight_enter()) {
		/* Shutting down: a new message is treated like an internal error. */
		sfsistat rc = c->on_error == ON_ERROR_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;

		runtime_conf_release(cref);
		log_info("stopping: new message %s", rc == SMFIS_TEMPFAIL ? "tempfailed" : "passed unchanged");
		return rc;
	}
	sender = envelope_address(argv[0] != NULL ? argv[0] : "");
	engine_source_of(s, argv, sender, &src);
	m = xcalloc(1, sizeof(*m));
	m->cref = cref;
	m->conf = c;
	m->engine = engine_new(c, &src);
	free(sender);
	s->msg = m;
	return SMFIS_CONTINUE;
}

/*
 * Past MaxMessageSize the engine passes a message untouched whatever follows
 * (engine.h), so the rest need not reach us: accept it now instead of
 * spooling it whole.  The engine's own test, so both front ends agree.
 */
static bool too_big(const struct message *m)
{
	size_t max = m->conf->max_message_size;

	return max > 0 && engine_size(m->engine) > max;
}

/* Accepted now; where the step goes unanswered (NOREPLY_STEPS) the MTA
 * reads no reply here: what follows is dropped until a step that is
 * answered (end of header over TCP, the first body chunk on a unix socket,
 * or end of message) accepts. */
static sfsistat accept_too_big(SMFICTX *ctx, struct session *s, unsigned long noreply_flag)
{
	if (log_get_level() >= LOG_INFO) {
		char why[128];

		snprintf(why, sizeof(why), "message larger than MaxMessageSize (%zu bytes)",
		    s->msg->conf->max_message_size);
		log_about(LOG_INFO, queue_id(ctx, s->msg), "passed untouched: ", why);
	}
	message_free(s);
	if (s->steps & noreply_flag) {
		s->accept_next = true;
		return SMFIS_NOREPLY;
	}
	return SMFIS_ACCEPT;
}

/* The accept of accept_too_big, at the first step the MTA reads a reply to. */
static sfsistat accept_pending(struct session *s, unsigned long noreply_flag)
{
	if (s->steps & noreply_flag)
		return SMFIS_NOREPLY;
	s->accept_next = false;
	return SMFIS_ACCEPT;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = session_get(ctx);

	if (s->msg == NULL || s->msg->failed)
		return step_reply(s, SMFIP_NR_HDR);
	if (!s->msg->received_seen && ascii_strcasecmp(name, "received") == 0) {
		s->msg->received_seen = true;
		mtafield_received_id(value, s->msg->received_id, sizeof(s->msg->received_id));
	}
	if (s->msg->message_id[0] == '\0' && ascii_strcasecmp(name, "message-id") == 0)
		mtafield_message_id(value, s->msg->message_id, sizeof(s->msg->message_id));
	if (mtafield_to_wire(&s->field, name, value, s->leadspc) == -1) {
		message_fail(s->msg, "header", "field too long");
	} else {
		mtafield_source_keep(&s->msg->source, name, &s->field);
		feed(s->msg, s->field.data, s->field.len);
	}
	if (!s->msg->failed && too_big(s->msg))
		return accept_too_big(ctx, s, SMFIP_NR_HDR);
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

	if (s->accept_next)
		return accept_pending(s, SMFIP_NR_EOH);
	if (s->msg != NULL) {
		end_header(s->msg);
		if (!s->msg->failed)
			engine_prefetch_memory(s->msg->engine, s->msg->source.from,
					       mtafield_source_mailer(&s->msg->source));
	}
	return step_reply(s, SMFIP_NR_EOH);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = session_get(ctx);

	if (s->accept_next)
		return accept_pending(s, SMFIP_NR_BODY);
	if (s->msg != NULL) {
		end_header(s->msg);
		feed(s->msg, (const char *)chunk, len);
		if (!s->msg->failed && too_big(s->msg))
			return accept_too_big(ctx, s, SMFIP_NR_BODY);
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
		v = mtafield_from_wire(ed->hdr_value, s->leadspc);
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
	/* pass 1 walks the list backwards for changes, pass 2 forwards for additions */
	for (i = 0; i < 2 * el->n; i++) {
		bool changes = i < el->n;
		const struct edit *ed = changes ? &el->v[el->n - 1 - i] : &el->v[i - el->n];

		if (ed->hdr_op != (changes ? HDR_CHANGE : HDR_ADD))
			continue;
		if (apply_header_edit(ctx, s, ed) == -1) {
			*why = changes ? "smfi_chgheader failed" : "smfi_addheader failed";
			return -1;
		}
		*changed = true;
	}
	return 0;
}

static sfsistat error_reply(const struct message *m)
{
	return m->conf->on_error == ON_ERROR_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	struct session *s = session_get(ctx);
	struct message *m = s->msg;
	const char *qid = queue_id(ctx, m);
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
		log_about(LOG_INFO, qid, "passed untouched: ", engine_report(m->engine)->note);
	} else if (log_get_level() >= LOG_DEBUG) {
		log_debug("%s: no change", qid);
	}
	message_free(s);
	return rc;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	struct session *s = smfi_getpriv(ctx);

	if (s != NULL) {
		message_free(s);
		s->accept_next = false;
	}
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

int milter_open(const char *socket, int backlog)
{
	if (daemon_socket_in_use(socket)) {
		log_err("%s is in use by another process", socket);
		return -1;
	}
	macros_stall = strncmp(socket, "inet:", 5) == 0 || strncmp(socket, "inet6:", 6) == 0;
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
		daemon_explain_socket_failure(socket);
		return -1;
	}
	if (daemon_unix_socket_path(socket) == NULL && daemon_tcp_nodelay_on_listeners() == 0)
		log_warn("could not set TCP_NODELAY on %s: end-of-message replies may be delayed", socket);
	return 0;
}

int milter_main(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : -1;
}

void milter_stop(void)
{
	smfi_stop();
}
