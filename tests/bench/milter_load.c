/*
 * milter_load.c -- a milter protocol (v6) load client that behaves like
 * Postfix's cleanup/smtpd milter client, for benchmarking any milter.
 *
 * Usage:
 *   milter_load -s SOCKET [-c CONNS] [-m MSGS_PER_CONN] [-n TOTAL] [-d SECS]
 *               [-p PID[,PID...]] [-r RSSFILE] [-i MS] [-b BUFSIZE] [-l LABEL]
 *               FILE...
 *
 * SOCKET is unix:/path or inet:PORT@HOST (libmilter syntax).  FILE... are
 * raw messages (CRLF or LF); they are loaded into memory first and sent in
 * turn (message k of the run is FILE[k mod nfiles]).  CONNS threads each
 * keep one milter connection and send MSGS_PER_CONN messages over it before
 * reconnecting, until TOTAL messages are done or SECS have passed.
 *
 * Prints one line of key=value pairs: messages, seconds, msgs/s, MB/s,
 * p50/p99/max latency (MAIL FROM sent .. final reply read), how many
 * messages got modification replies, errors (tempfail, reject, I/O), the
 * client's own CPU share (so a saturated client is visible) and, with -p,
 * the milter's peak RSS (VmHWM, summed over the pids) and its RSS at the
 * end.  With -r, a sampler thread writes "ms rss_kb" lines every -i ms
 * (default 200) and the maximum sampled RSS is reported too.
 *
 * Postfix-faithful wire behaviour (Postfix 3.7 src/milter/milter8.c):
 *   - plain blocking sockets, no socket options at all: no TCP_NODELAY, no
 *     TCP_QUICKACK.  milter8.c sets none; its connection comes from the
 *     generic inet_connect()/unix_connect().
 *   - commands go through a buffered stream (Postfix's VSTREAM) that is
 *     flushed only when full or before a reply is read.  Its size is
 *     VSTREAM_BUFSIZE, 4096 bytes (-b to change), except that on TCP
 *     Postfix's vstream_tweak_tcp() (src/util/vstream_tweak.c, called by
 *     milter8_connect) raises it to twice the connection's TCP_MAXSEG when
 *     the MSS exceeds half the buffer ("avoid Nagle delays when VSTREAM
 *     buffers are smaller than the MSS") -- ~128 KiB on loopback.  Postfix
 *     3.x does that instead of setting TCP_NODELAY, and so do we.  Commands the milter asked not to answer
 *     (SMFIP_NR_*) are therefore batched into the same write as the next
 *     command that does need a reply, exactly like milter8_event()'s
 *     "skip_reply" path.
 *   - macros as Postfix's defaults send them (connect: j {daemon_name} v;
 *     MAIL: i {mail_addr}; RCPT: {rcpt_addr}; end of message: i), headers
 *     with LF folding and the leading space only when SMFIP_HDR_LEADSPC was
 *     granted, body in chunks of at most 65535 bytes with CRLF line ends.
 *   - the end-of-message replies are read one by one until the final
 *     decision (accept, continue, tempfail, reject, discard, reply code);
 *     modification replies (add/insert/change header, replace body) are
 *     read and counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

/* Wire constants, from libmilter's mfdef.h (protocol version 6). */
#define MILTER_VERSION		6
#define CMD_OPTNEG		'O'
#define CMD_MACRO		'D'
#define CMD_CONNECT		'C'
#define CMD_HELO		'H'
#define CMD_MAIL		'M'
#define CMD_RCPT		'R'
#define CMD_DATA		'T'
#define CMD_HEADER		'L'
#define CMD_EOH			'N'
#define CMD_BODY		'B'
#define CMD_BODYEOB		'E'
#define CMD_QUIT		'Q'
#define REPLY_ACCEPT		'a'
#define REPLY_CONTINUE		'c'
#define REPLY_DISCARD		'd'
#define REPLY_REJECT		'r'
#define REPLY_TEMPFAIL		't'
#define REPLY_REPLYCODE		'y'
#define REPLY_SKIP		's'
#define REPLY_PROGRESS		'p'
#define REPLY_ADDHEADER		'h'
#define REPLY_INSHEADER		'i'
#define REPLY_CHGHEADER		'm'
#define REPLY_REPLBODY		'b'
#define ACTIONS_ALL		0x000001FFUL	/* SMFI_CURR_ACTS */
#define STEPS_ALL		0x001FFFFFUL	/* SMFI_CURR_PROT */
#define P_NOCONNECT		0x00000001UL
#define P_NOHELO		0x00000002UL
#define P_NOMAIL		0x00000004UL
#define P_NORCPT		0x00000008UL
#define P_NOBODY		0x00000010UL
#define P_NOHDRS		0x00000020UL
#define P_NOEOH			0x00000040UL
#define P_NR_HDR		0x00000080UL
#define P_NODATA		0x00000200UL
#define P_NR_CONN		0x00001000UL
#define P_NR_HELO		0x00002000UL
#define P_NR_MAIL		0x00004000UL
#define P_NR_RCPT		0x00008000UL
#define P_NR_DATA		0x00010000UL
#define P_NR_EOH		0x00040000UL
#define P_NR_BODY		0x00080000UL
#define P_HDR_LEADSPC		0x00100000UL
#define CHUNK_MAX		65535
#define REPLY_MAX		(1024 * 1024 + 64)

struct header {
	size_t name_off, name_len;
	size_t value_off, value_len;	/* after the colon, LF-folded copy */
	char *value;			/* NUL-terminated, LF folding, leading space kept */
};

struct message {
	char *data;			/* whole file */
	size_t size;
	struct header *headers;
	size_t nheaders;
	char *body;			/* CRLF body */
	size_t body_len;
};

static struct message *messages;
static size_t nmessages;

/* Run parameters. */
static const char *opt_socket;
static int opt_conns = 1;
static long opt_per_conn = 20;
static long opt_total = 1000;
static double opt_seconds = 0;
static size_t opt_bufsize = 4096;

/* Shared counters. */
static atomic_long next_message;
static atomic_long done_messages;
static atomic_long modified_messages;
static atomic_long error_count;
static atomic_llong done_bytes;
static atomic_bool stop_now;
static double *latencies;		/* ms, indexed by message number */
static double start_time;

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "milter_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die("malloc");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("realloc");
	return p;
}

/* ---- message loading -------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *p;
	size_t got = 0;

	if (fd == -1 || fstat(fd, &st) == -1)
		die(path);
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, p + got, (size_t)st.st_size - got);

		if (r <= 0)
			die(path);
		got += (size_t)r;
	}
	close(fd);
	p[got] = '\0';
	*len = got;
	return p;
}

/* Body with CRLF line ends, whatever the file had (the MTA sends CRLF). */
static void make_crlf_body(struct message *m, const char *p, size_t n)
{
	size_t i, o = 0;

	m->body = xmalloc(2 * n + 1);
	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			m->body[o++] = '\r';
		m->body[o++] = p[i];
	}
	m->body_len = o;
}

/*
 * Split the header block into fields; each value is what Postfix passes:
 * everything after the colon, folding kept as "\n" + white space.
 */
static void parse_message(struct message *m)
{
	const char *p = m->data, *end = m->data + m->size;
	size_t cap = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end, *colon;
		struct header *h;
		size_t vcap, vlen = 0;

		if (eol == NULL)
			eol = end;
		line_end = (eol > p && eol[-1] == '\r') ? eol - 1 : eol;
		if (line_end == p) {		/* blank line: body starts */
			p = eol < end ? eol + 1 : end;
			break;
		}
		colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon == NULL || (*p == ' ' || *p == '\t')) {
			/* Not a header line: treat the rest as body, like an MTA would. */
			break;
		}
		if (m->nheaders == cap) {
			cap = cap ? 2 * cap : 16;
			m->headers = xrealloc(m->headers, cap * sizeof(*m->headers));
		}
		h = &m->headers[m->nheaders++];
		h->name_off = (size_t)(p - m->data);
		h->name_len = (size_t)(colon - p);
		vcap = (size_t)(line_end - colon) + 1;
		h->value = xmalloc(vcap);
		memcpy(h->value, colon + 1, (size_t)(line_end - colon - 1));
		vlen = (size_t)(line_end - colon - 1);
		p = eol < end ? eol + 1 : end;
		/* Continuation lines. */
		while (p < end && (*p == ' ' || *p == '\t')) {
			const char *e2 = memchr(p, '\n', (size_t)(end - p));
			const char *le2;

			if (e2 == NULL)
				e2 = end;
			le2 = (e2 > p && e2[-1] == '\r') ? e2 - 1 : e2;
			vcap += (size_t)(le2 - p) + 2;
			h->value = xrealloc(h->value, vcap);
			h->value[vlen++] = '\n';
			memcpy(h->value + vlen, p, (size_t)(le2 - p));
			vlen += (size_t)(le2 - p);
			p = e2 < end ? e2 + 1 : end;
		}
		h->value[vlen] = '\0';
		h->value_len = vlen;
	}
	make_crlf_body(m, p, (size_t)(end - p));
}

static void load_messages(int n, char **paths)
{
	int i;

	messages = xmalloc((size_t)n * sizeof(*messages));
	for (i = 0; i < n; i++) {
		struct message *m = &messages[i];

		memset(m, 0, sizeof(*m));
		m->data = read_file(paths[i], &m->size);
		parse_message(m);
	}
	nmessages = (size_t)n;
}

/* ---- connection with a Postfix-like buffered output stream -------------------- */

struct conn {
	int fd;
	char *out;
	size_t out_len;
	size_t out_size;		/* VSTREAM buffer size for this connection */
	unsigned long steps;		/* protocol flags the milter asked for */
	char *reply;
	size_t reply_len;
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int conn_flush(struct conn *c)
{
	if (c->out_len == 0)
		return 0;
	if (write_all(c->fd, c->out, c->out_len) == -1)
		return -1;
	c->out_len = 0;
	return 0;
}

/* Like vstream_fwrite: fill the buffer, flush when it is full. */
static int conn_put(struct conn *c, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		size_t room = c->out_size - c->out_len, take = n < room ? n : room;

		memcpy(c->out + c->out_len, p, take);
		c->out_len += take;
		p += take;
		n -= take;
		if (c->out_len == c->out_size && conn_flush(c) == -1)
			return -1;
	}
	return 0;
}

/* One command: length, command byte, then (data, length) pieces. */
static int conn_cmd(struct conn *c, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)(len + 1));

	if (conn_put(c, &n, 4) == -1 || conn_put(c, &cmd, 1) == -1)
		return -1;
	return len ? conn_put(c, data, len) : 0;
}

static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Flush (as VSTREAM does before a read) and read one reply packet. */
static int conn_reply(struct conn *c, char *cmd)
{
	uint32_t n;

	if (conn_flush(c) == -1 || read_all(c->fd, &n, 4) == -1)
		return -1;
	n = ntohl(n);
	if (n < 1 || n > REPLY_MAX)
		return -1;
	if (read_all(c->fd, cmd, 1) == -1)
		return -1;
	c->reply_len = n - 1;
	return read_all(c->fd, c->reply, c->reply_len);
}

/* Append a NUL-terminated string to a packet under construction. */
static size_t put_str(char *pkt, size_t off, size_t cap, const char *s)
{
	size_t l = strlen(s) + 1;

	if (off + l > cap)
		return cap + 1;
	memcpy(pkt + off, s, l);
	return off + l;
}

static int send_macros(struct conn *c, char for_cmd, const char *const *kv)
{
	char pkt[1024];
	size_t off = 0;

	pkt[off++] = for_cmd;
	for (; *kv != NULL; kv++)
		if ((off = put_str(pkt, off, sizeof(pkt), *kv)) > sizeof(pkt))
			return -1;
	return conn_cmd(c, CMD_MACRO, pkt, off);
}

static int conn_open(struct conn *c)
{
	const char *spec = opt_socket;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un sun;
		const char *path = strchr(spec, ':') + 1;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(path) >= sizeof(sun.sun_path))
			return -1;
		memcpy(sun.sun_path, path, strlen(path));
		if ((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			return -1;
		if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			goto fail;
	} else if (strncmp(spec, "inet:", 5) == 0) {
		struct sockaddr_in sin;
		const char *at = strchr(spec, '@');
		char host[64];
		long port = strtol(spec + 5, NULL, 10);

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		snprintf(host, sizeof(host), "%s", at ? at + 1 : "127.0.0.1");
		if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
			return -1;
		if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			return -1;
		if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			goto fail;
	} else {
		fprintf(stderr, "milter_load: bad socket %s\n", spec);
		exit(2);
	}
	{
		/* A hung milter must not hang the benchmark (Postfix: milter_command_timeout). */
		struct timeval tv = { 120, 0 };

		(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	c->out_size = opt_bufsize;
	if (strncmp(spec, "inet:", 5) == 0) {
		/* vstream_tweak_tcp(): buffer of 2 x MSS when MSS > buffer / 2. */
		int mss = 0;
		socklen_t ml = sizeof(mss);

		if (getsockopt(c->fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml) == 0 &&
		    mss > 0 && (size_t)mss > opt_bufsize / 2)
			c->out_size = 2 * (size_t)mss;
	}
	c->out = xrealloc(c->out, c->out_size);
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

/* Option negotiation, connect and HELO.  0 or -1. */
static int conn_start(struct conn *c, int id)
{
	uint32_t opt[3] = { htonl(MILTER_VERSION), htonl(ACTIONS_ALL), htonl(STEPS_ALL) };
	static const char *const connect_macros[] = { "j", "bench-mta.example.test",
		"{daemon_name}", "bench", "v", "Postfix 3.7", NULL };
	char cmd, pkt[256];
	size_t off = 0;
	uint16_t port = htons((uint16_t)(40000 + id));

	if (conn_cmd(c, CMD_OPTNEG, opt, sizeof(opt)) == -1 || conn_reply(c, &cmd) == -1 ||
	    cmd != CMD_OPTNEG || c->reply_len < 12)
		return -1;
	memcpy(opt, c->reply, sizeof(opt));
	c->steps = ntohl(opt[2]);
	if (!(c->steps & P_NOCONNECT)) {
		if (send_macros(c, CMD_CONNECT, connect_macros) == -1)
			return -1;
		off = put_str(pkt, off, sizeof(pkt), "client.example.test");
		pkt[off++] = '4';
		memcpy(pkt + off, &port, 2);
		off += 2;
		off = put_str(pkt, off, sizeof(pkt), "127.0.0.1");
		if (conn_cmd(c, CMD_CONNECT, pkt, off) == -1)
			return -1;
		if (!(c->steps & P_NR_CONN) && (conn_reply(c, &cmd) == -1 || cmd != REPLY_CONTINUE))
			return -1;
	}
	if (!(c->steps & P_NOHELO)) {
		off = put_str(pkt, 0, sizeof(pkt), "client.example.test");
		if (conn_cmd(c, CMD_HELO, pkt, off) == -1)
			return -1;
		if (!(c->steps & P_NR_HELO) && (conn_reply(c, &cmd) == -1 || cmd != REPLY_CONTINUE))
			return -1;
	}
	return 0;
}

enum outcome { OUT_ACCEPTED, OUT_FAILED, OUT_IO };

/* Read replies of one event until a decision; counts modifications. */
static enum outcome read_decision(struct conn *c, bool *modified, bool *accepted_early)
{
	char cmd;

	for (;;) {
		if (conn_reply(c, &cmd) == -1)
			return OUT_IO;
		switch (cmd) {
		case REPLY_PROGRESS:
			continue;
		case REPLY_ADDHEADER:
		case REPLY_INSHEADER:
		case REPLY_CHGHEADER:
		case REPLY_REPLBODY:
			*modified = true;
			continue;
		case REPLY_CONTINUE:
		case REPLY_SKIP:
			return OUT_ACCEPTED;
		case REPLY_ACCEPT:
		case REPLY_DISCARD:
			*accepted_early = true;
			return OUT_ACCEPTED;
		case REPLY_TEMPFAIL:
		case REPLY_REJECT:
		case REPLY_REPLYCODE:
			return OUT_FAILED;
		default:
			return OUT_IO;
		}
	}
}

/* One message over an open connection, Postfix's order of events. */
static enum outcome send_message(struct conn *c, const struct message *m, const char *qid)
{
	const char *mail_macros[] = { "i", qid, "{mail_addr}", "sender@example.test", NULL };
	static const char *const rcpt_macros[] = { "{rcpt_addr}", "rcpt@example.test", NULL };
	const char *eom_macros[] = { "i", qid, NULL };
	static const char mail_arg[] = "<sender@example.test>\0BODY=8BITMIME";
	static const char rcpt_arg[] = "<rcpt@example.test>";
	bool modified = false, done = false;
	enum outcome o;
	size_t i, off;

	if (!(c->steps & P_NOMAIL)) {
		if (send_macros(c, CMD_MAIL, mail_macros) == -1 ||
		    conn_cmd(c, CMD_MAIL, mail_arg, sizeof(mail_arg)) == -1)
			return OUT_IO;
		if (!(c->steps & P_NR_MAIL) && (o = read_decision(c, &modified, &done)) != OUT_ACCEPTED)
			return o;
		if (done)
			return OUT_ACCEPTED;
	}
	if (!(c->steps & P_NORCPT)) {
		if (send_macros(c, CMD_RCPT, rcpt_macros) == -1 ||
		    conn_cmd(c, CMD_RCPT, rcpt_arg, sizeof(rcpt_arg)) == -1)
			return OUT_IO;
		if (!(c->steps & P_NR_RCPT) && (o = read_decision(c, &modified, &done)) != OUT_ACCEPTED)
			return o;
		if (done)
			return OUT_ACCEPTED;
	}
	if (!(c->steps & P_NODATA)) {
		if (conn_cmd(c, CMD_DATA, NULL, 0) == -1)
			return OUT_IO;
		if (!(c->steps & P_NR_DATA) && (o = read_decision(c, &modified, &done)) != OUT_ACCEPTED)
			return o;
		if (done)
			return OUT_ACCEPTED;
	}
	if (!(c->steps & P_NOHDRS)) {
		for (i = 0; i < m->nheaders; i++) {
			const struct header *h = &m->headers[i];
			const char *v = h->value;
			uint32_t n;
			char cmd = CMD_HEADER;

			if (!(c->steps & P_HDR_LEADSPC) && *v == ' ')
				v++;
			off = h->name_len + 1 + strlen(v) + 1;
			n = htonl((uint32_t)(off + 1));
			if (conn_put(c, &n, 4) == -1 || conn_put(c, &cmd, 1) == -1 ||
			    conn_put(c, m->data + h->name_off, h->name_len) == -1 ||
			    conn_put(c, "", 1) == -1 || conn_put(c, v, strlen(v) + 1) == -1)
				return OUT_IO;
			if (!(c->steps & P_NR_HDR) && (o = read_decision(c, &modified, &done)) != OUT_ACCEPTED)
				return o;
			if (done)
				return OUT_ACCEPTED;
		}
	}
	if (!(c->steps & P_NOEOH)) {
		if (conn_cmd(c, CMD_EOH, NULL, 0) == -1)
			return OUT_IO;
		if (!(c->steps & P_NR_EOH) && (o = read_decision(c, &modified, &done)) != OUT_ACCEPTED)
			return o;
		if (done)
			return OUT_ACCEPTED;
	}
	if (!(c->steps & P_NOBODY)) {
		for (off = 0; off < m->body_len; off += CHUNK_MAX) {
			size_t n = m->body_len - off < CHUNK_MAX ? m->body_len - off : CHUNK_MAX;

			if (conn_cmd(c, CMD_BODY, m->body + off, n) == -1)
				return OUT_IO;
			if (!(c->steps & P_NR_BODY)) {
				if ((o = read_decision(c, &modified, &done)) != OUT_ACCEPTED)
					return o;
				if (done)
					return OUT_ACCEPTED;
			}
		}
	}
	if (send_macros(c, CMD_BODYEOB, eom_macros) == -1 || conn_cmd(c, CMD_BODYEOB, NULL, 0) == -1)
		return OUT_IO;
	o = read_decision(c, &modified, &done);
	if (o == OUT_ACCEPTED && modified)
		atomic_fetch_add(&modified_messages, 1);
	return o;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		(void)conn_cmd(c, CMD_QUIT, NULL, 0);
		(void)conn_flush(c);
		close(c->fd);
	}
	c->fd = -1;
	c->out_len = 0;
}

static bool time_is_up(void)
{
	return opt_seconds > 0 && now_sec() - start_time >= opt_seconds;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct conn c = { .fd = -1 };
	int consecutive_failures = 0;

	c.reply = xmalloc(REPLY_MAX);
	while (!atomic_load(&stop_now)) {
		long k, sent = 0;

		if (conn_open(&c) == -1 || conn_start(&c, id) == -1) {
			atomic_fetch_add(&error_count, 1);
			conn_close(&c);
			if (++consecutive_failures > 20)
				break;
			usleep(50000);
			continue;
		}
		consecutive_failures = 0;
		while (sent < opt_per_conn) {
			const struct message *m;
			char qid[32];
			double t0;
			enum outcome o;

			if (time_is_up()) {
				atomic_store(&stop_now, true);
				break;
			}
			k = atomic_fetch_add(&next_message, 1);
			if (k >= opt_total) {
				atomic_store(&stop_now, true);
				break;
			}
			m = &messages[(size_t)k % nmessages];
			snprintf(qid, sizeof(qid), "B%08lX", (unsigned long)k);
			t0 = now_sec();
			o = send_message(&c, m, qid);
			latencies[k] = (now_sec() - t0) * 1000.0;
			sent++;
			if (o == OUT_ACCEPTED) {
				atomic_fetch_add(&done_messages, 1);
				atomic_fetch_add(&done_bytes, (long long)m->size);
			} else {
				latencies[k] = -1;
				atomic_fetch_add(&error_count, 1);
				if (o == OUT_IO)
					break;
			}
		}
		conn_close(&c);
	}
	free(c.out);
	free(c.reply);
	return NULL;
}

/* ---- RSS of the milter ---------------------------------------------------------- */

static char *opt_pids;
static const char *opt_rss_file;
static long opt_interval_ms = 200;
static long sampled_max_kb;

/* Sum of a /proc/PID/status field (kB) over the comma-separated pids. */
static long status_kb(const char *field)
{
	const char *p = opt_pids;
	long total = 0;

	if (p == NULL)
		return -1;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char path[64], line[256];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%.*s/status", (int)(n < 20 ? n : 20), p);
		p += n;
		if (*p == ',')
			p++;
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
				total += strtol(line + strlen(field) + 1, NULL, 10);
		fclose(f);
	}
	return total;
}

static void *rss_sampler(void *arg)
{
	FILE *f = fopen(opt_rss_file, "w");

	(void)arg;
	if (f == NULL)
		die(opt_rss_file);
	while (!atomic_load(&stop_now)) {
		long kb = status_kb("VmRSS");

		if (kb > sampled_max_kb)
			sampled_max_kb = kb;
		fprintf(f, "%.0f %ld %ld\n", (now_sec() - start_time) * 1000.0, kb,
		    atomic_load(&done_messages));
		fflush(f);
		usleep((useconds_t)opt_interval_ms * 1000);
	}
	fclose(f);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: milter_load -s SOCKET [-c CONNS] [-m PER_CONN] [-n TOTAL] [-d SECS]\n"
	    "                   [-p PID,...] [-r RSSFILE] [-i MS] [-b BUFSIZE] [-l LABEL] FILE...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *label = "run";
	pthread_t *threads, sampler;
	double elapsed, cpu0, *lat;
	size_t nlat = 0;
	long k, ran;
	int ch, i;

	while ((ch = getopt(argc, argv, "s:c:m:n:d:p:r:i:b:l:")) != -1) {
		switch (ch) {
		case 's': opt_socket = optarg; break;
		case 'c': opt_conns = (int)strtol(optarg, NULL, 10); break;
		case 'm': opt_per_conn = strtol(optarg, NULL, 10); break;
		case 'n': opt_total = strtol(optarg, NULL, 10); break;
		case 'd': opt_seconds = strtod(optarg, NULL); break;
		case 'p': opt_pids = optarg; break;
		case 'r': opt_rss_file = optarg; break;
		case 'i': opt_interval_ms = strtol(optarg, NULL, 10); break;
		case 'b': opt_bufsize = (size_t)strtoul(optarg, NULL, 10); break;
		case 'l': label = optarg; break;
		default: usage();
		}
	}
	if (opt_socket == NULL || optind >= argc || opt_conns < 1 || opt_per_conn < 1 ||
	    opt_total < 1 || opt_bufsize < 16 || opt_interval_ms < 1)
		usage();
	load_messages(argc - optind, argv + optind);
	latencies = xmalloc((size_t)opt_total * sizeof(double));
	threads = xmalloc((size_t)opt_conns * sizeof(*threads));
	cpu0 = cpu_seconds();
	start_time = now_sec();
	if (opt_rss_file != NULL && pthread_create(&sampler, NULL, rss_sampler, NULL) != 0)
		die("pthread_create");
	for (i = 0; i < opt_conns; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i) != 0)
			die("pthread_create");
	for (i = 0; i < opt_conns; i++)
		pthread_join(threads[i], NULL);
	elapsed = now_sec() - start_time;
	atomic_store(&stop_now, true);
	if (opt_rss_file != NULL)
		pthread_join(sampler, NULL);

	ran = atomic_load(&next_message);
	if (ran > opt_total)
		ran = opt_total;
	lat = xmalloc((size_t)(ran > 0 ? ran : 1) * sizeof(double));
	for (k = 0; k < ran; k++)
		if (latencies[k] >= 0)
			lat[nlat++] = latencies[k];
	qsort(lat, nlat, sizeof(double), cmp_double);
	printf("label=%s socket=%s conns=%d messages=%ld errors=%ld modified=%ld seconds=%.3f "
	    "msgs_per_s=%.1f mb_per_s=%.2f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f client_cpu_pct=%.0f "
	    "hwm_kb=%ld rss_kb=%ld sampled_max_kb=%ld\n",
	    label, opt_socket, opt_conns, atomic_load(&done_messages), atomic_load(&error_count),
	    atomic_load(&modified_messages), elapsed,
	    (double)atomic_load(&done_messages) / elapsed,
	    (double)atomic_load(&done_bytes) / elapsed / 1e6,
	    nlat ? lat[nlat / 2] : 0.0,
	    nlat ? lat[(size_t)((double)(nlat - 1) * 0.99)] : 0.0,
	    nlat ? lat[nlat - 1] : 0.0,
	    100.0 * (cpu_seconds() - cpu0) / elapsed,
	    status_kb("VmHWM"), status_kb("VmRSS"), opt_rss_file ? sampled_max_kb : -1L);
	fflush(stdout);
	free(lat);
	free(threads);
	free(latencies);
	return atomic_load(&error_count) > 0 ? 1 : 0;
}
