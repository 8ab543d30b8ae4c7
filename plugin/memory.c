/*
 * memory.c -- sender memory: keys, records, decay, priors, and the store front
 * (shared stores, the learn queue and its worker).  See memory.h; the
 * backends are memory_lmdb.c and memory_redis.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charset.h"
#include "log.h"
#include "memory.h"
#include "memory_store.h"
#include "util.h"

/* ---- settings ------------------------------------------------------------ */

void
memory_conf_defaults(struct memory_conf *mc)
{
	memset(mc, 0, sizeof(*mc));
	mc->backend = MEMORY_NONE;
	mc->ttl = 90 * 86400;
	mc->half_life = 30 * 86400;
	mc->max_keys = 100000;
	mc->map_size = 64u << 20;
	mc->timeout_ms = 20;
	mc->cache_ms = 2000;
	mc->min_count = 3;
}

void
memory_conf_free(struct memory_conf *mc)
{
	free(mc->path);
	free(mc->redis);
	free(mc->prefix);
	mc->path = mc->redis = mc->prefix = NULL;
}

bool
memory_parse_backend(const char *v, enum memory_backend_kind *out)
{
	if (ascii_strcasecmp(v, "none") == 0)
		*out = MEMORY_NONE;
	else if (ascii_strcasecmp(v, "lmdb") == 0)
		*out = MEMORY_LMDB;
	else if (ascii_strcasecmp(v, "redis") == 0)
		*out = MEMORY_REDIS;
	else
		return false;
	return true;
}

bool
memory_parse_duration(const char *v, unsigned *out)
{
	unsigned long long n = 0, mult = 1;
	const char *p = v;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if (n > 0xffffffffULL)
			return false;
	}
	switch (*p) {
	case '\0': break;
	case 's': mult = 1; p++; break;
	case 'm': mult = 60; p++; break;
	case 'h': mult = 3600; p++; break;
	case 'd': mult = 86400; p++; break;
	default: return false;
	}
	if (*p != '\0' || n * mult > 0xffffffffULL || n == 0)
		return false;
	*out = (unsigned)(n * mult);
	return true;
}

bool
memory_parse_hostport(const char *v)
{
	const char *colon = strrchr(v, ':');
	unsigned long port = 0;

	if (colon == NULL || colon == v || colon[1] == '\0' || colon - v > 255)
		return false;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
		if (port > 65535)
			return false;
	}
	return port > 0;
}

/* ---- keys ------------------------------------------------------------------ */

/* FNV-1a over prefix and text, then a 64-bit finaliser so that near texts
 * (adjacent networks) land far apart. */
uint64_t
memory_hash(const char *prefix, const char *text, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p = (const unsigned char *)(prefix ? prefix : "");

	for (; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static void
key_add(struct memory_keys *k, const char *prefix, const char *kind, const char *name,
	const char *label)
{
	if (k->n >= MEMORY_KEYS)
		return;
	snprintf(k->key[k->n], MEMORY_KEY_MAX, "%s%s:%s", prefix ? prefix : "", kind, name);
	snprintf(k->label[k->n], MEMORY_LABEL_MAX, "%s", label);
	k->n++;
}

static void
key_add_hashed(struct memory_keys *k, const char *prefix, const char *kind, const char *text,
	       size_t len, const char *label)
{
	char hex[17];

	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)memory_hash(prefix, text, len));
	key_add(k, prefix, kind, hex, label);
}

/* The client's network as bytes: IPv4 /24 or IPv6 /48.  0 when unparsable. */
static size_t
client_network(const char *addr, unsigned char *net)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char a[16];
	size_t n;
	char *p;

	if (ascii_strncasecmp(addr, "IPv6:", 5) == 0)
		addr += 5;
	if (*addr == '[')
		addr++;
	if (strlen(addr) >= sizeof(buf))
		return 0;
	strcpy(buf, addr);
	if ((p = strpbrk(buf, "]%")) != NULL)
		*p = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		n = 3;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		static const unsigned char mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };

		if (memcmp(a, mapped, 12) == 0) {
			memmove(a, a + 12, 4);
			n = 3;
		} else {
			n = 6;
		}
	} else {
		return 0;
	}
	memcpy(net, a, n);
	net[n] = n == 3 ? 4 : 6;	/* the family, so no v4 net hashes like a v6 one */
	return n + 1;
}

/* A domain or host name as a key part: lowercase letters, digits, '-', '.',
 * '_'; false when it has anything else or is empty. */
static bool
clean_name(const char *s, size_t len, char *dst, size_t cap)
{
	size_t n = 0;

	while (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len >= cap)
		return false;
	for (size_t i = 0; i < len; i++) {
		int c = ascii_tolower((unsigned char)s[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return false;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return true;
}

static void
key_add_name(struct memory_keys *k, const char *prefix, const char *kind, const char *s, size_t len)
{
	char name[256];

	if (!clean_name(s, len, name, sizeof(name)))
		return;
	if (strlen(name) > MEMORY_NAME_MAX)
		key_add_hashed(k, prefix, kind, name, strlen(name), name);
	else
		key_add(k, prefix, kind, name, name);
}

/* The domain of the address in an envelope sender or a From: value. */
static bool
address_domain(const char *v, size_t len, const char **dom, size_t *dlen)
{
	const char *lt = memchr(v, '<', len), *at, *end;

	if (lt != NULL) {
		len -= (size_t)(lt - v);
		v = lt;
	}
	at = NULL;
	for (size_t i = 0; i < len && v[i] != '>'; i++)
		if (v[i] == '@')
			at = v + i;
	if (at == NULL)
		return false;
	end = at + 1;
	while (end < v + len && *end != '>' && *end != ' ' && *end != '\t' && *end != '\r' &&
	       *end != '\n' && *end != ')' && *end != ',' && *end != ';')
		end++;
	*dom = at + 1;
	*dlen = (size_t)(end - (at + 1));
	return *dlen > 0;
}

/* X-Mailer with digits blanked and white space squeezed, lowercase, bounded. */
static size_t
mailer_norm(const char *v, size_t len, char *dst, size_t cap)
{
	size_t n = 0;
	bool space = true;

	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		int c = ascii_tolower((unsigned char)v[i]);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (!space)
				dst[n++] = ' ';
			space = true;
			continue;
		}
		space = false;
		dst[n++] = (char)(c >= '0' && c <= '9' ? '#' : c < 0x20 || c > 0x7e ? '?' : c);
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
	return n;
}

void
memory_keys_build(struct memory_keys *k, const char *prefix, const struct memory_source *src)
{
	unsigned char net[8];
	const char *dom;
	size_t n, dlen;
	char buf[128];

	/* the order breaks ties between equally strong priors: names first */
	memset(k, 0, sizeof(*k));
	if (src->env_sender != NULL && address_domain(src->env_sender, strlen(src->env_sender), &dom, &dlen))
		key_add_name(k, prefix, "env", dom, dlen);
	if (src->from != NULL && address_domain(src->from, src->from_len, &dom, &dlen))
		key_add_name(k, prefix, "from", dom, dlen);
	if (src->helo != NULL && src->helo[0] != '\0') {
		if (src->helo[0] == '[' || client_network(src->helo, net) > 0)
			key_add_hashed(k, prefix, "helo", src->helo, strlen(src->helo), "helo-address-literal");
		else
			key_add_name(k, prefix, "helo", src->helo, strlen(src->helo));
	}
	if (src->mailer != NULL && (n = mailer_norm(src->mailer, src->mailer_len, buf, sizeof(buf))) > 0) {
		char label[MEMORY_LABEL_MAX];

		snprintf(label, sizeof(label), "%.*s", MEMORY_LABEL_MAX - 1, buf);
		for (char *p = label; *p; p++)
			if (*p == ' ')
				*p = '_';
		key_add_hashed(k, prefix, "mailer", buf, n, label);
	}
	if (src->client_addr != NULL && (n = client_network(src->client_addr, net)) > 0)
		key_add_hashed(k, prefix, "net", (const char *)net, n, "client-network");
}

/* ---- records ----------------------------------------------------------------- */

double
memory_slot_count(const struct memory_slot *s, uint32_t now, unsigned half_life)
{
	if (now <= s->time || half_life == 0)
		return s->count;
	return s->count * exp2(-(double)(now - s->time) / (double)half_life);
}

double
memory_record_weight(const struct memory_record *r, uint32_t now, unsigned half_life)
{
	double w = 0;

	for (size_t i = 0; i < r->nslots; i++)
		w += memory_slot_count(&r->slot[i], now, half_life);
	return w;
}

bool
memory_expired(const struct memory_record *r, uint32_t now, unsigned ttl)
{
	return ttl > 0 && now > r->last && now - r->last > ttl;
}

/* A label as one printable word. */
static void
label_word(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	for (; *src && n + 1 < cap; src++)
		dst[n++] = (*src > ' ' && *src < 0x7f && *src != '=') ? *src : '_';
	dst[n] = '\0';
}

void
memory_record_add(struct memory_record *r, const char *label, const char *charset,
		  uint32_t now, unsigned half_life)
{
	size_t i, low = 0;

	for (i = 0; i < r->nslots; i++) {
		r->slot[i].count = memory_slot_count(&r->slot[i], now, half_life);
		if (r->slot[i].time < now)
			r->slot[i].time = now;
		if (r->slot[i].count < r->slot[low].count)
			low = i;
	}
	for (i = 0; i < r->nslots; i++)
		if (strcmp(r->slot[i].charset, charset) == 0)
			break;
	if (i == r->nslots) {
		/* full: the weakest charset makes room (it had the least evidence) */
		i = r->nslots < MEMORY_SLOTS ? r->nslots++ : low;
		label_word(r->slot[i].charset, sizeof(r->slot[i].charset), charset);
		r->slot[i].count = 0;
	}
	r->slot[i].count += 1.0;
	if (r->slot[i].count > MEMORY_COUNT_MAX)
		r->slot[i].count = MEMORY_COUNT_MAX;
	r->slot[i].time = now;
	if (r->first == 0 || r->first > now)
		r->first = now;
	if (r->last < now)
		r->last = now;
	if (label != NULL)
		label_word(r->label, sizeof(r->label), label);
}

size_t
memory_record_format(const struct memory_record *r, char *dst, size_t cap)
{
	int n = snprintf(dst, cap, "v1 %u %u %s", r->first, r->last, r->label[0] ? r->label : "-");

	for (size_t i = 0; i < r->nslots && n > 0 && (size_t)n < cap; i++)
		n += snprintf(dst + n, cap - (size_t)n, " %s=%.3f@%u", r->slot[i].charset,
			      r->slot[i].count, r->slot[i].time);
	if (n < 0 || (size_t)n >= cap) {
		dst[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/* One "CS=COUNT@TIME" word. */
static bool
parse_slot(const char *w, size_t len, struct memory_slot *s)
{
	const char *eq = memchr(w, '=', len), *at = memchr(w, '@', len);
	char num[32];
	char *end;

	if (eq == NULL || at == NULL || at < eq || eq == w || (size_t)(eq - w) >= sizeof(s->charset) ||
	    (size_t)(w + len - at) >= sizeof(num) || (size_t)(at - eq) >= sizeof(num))
		return false;
	memcpy(s->charset, w, (size_t)(eq - w));
	s->charset[eq - w] = '\0';
	memcpy(num, eq + 1, (size_t)(at - eq - 1));
	num[at - eq - 1] = '\0';
	errno = 0;
	s->count = strtod(num, &end);
	if (*end != '\0' || errno != 0 || !(s->count >= 0 && s->count <= MEMORY_COUNT_MAX))
		return false;
	memcpy(num, at + 1, (size_t)(w + len - at - 1));
	num[w + len - at - 1] = '\0';
	unsigned long long t = strtoull(num, &end, 10);
	if (*end != '\0' || num[0] < '0' || num[0] > '9' || t > 0xffffffffULL)
		return false;
	s->time = (uint32_t)t;
	return true;
}

static bool
parse_u32(const char *w, size_t len, uint32_t *out)
{
	unsigned long long v = 0;

	if (len == 0 || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (w[i] < '0' || w[i] > '9')
			return false;
		v = v * 10 + (unsigned)(w[i] - '0');
	}
	if (v > 0xffffffffULL)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
memory_record_parse(const char *text, size_t len, struct memory_record *r)
{
	size_t pos = 0, word = 0;

	memset(r, 0, sizeof(*r));
	if (len > MEMORY_VALUE_MAX)
		return false;
	while (pos < len) {
		size_t start = pos, n;

		while (pos < len && text[pos] != ' ')
			pos++;
		n = pos - start;
		pos++;
		if (word == 0 && (n != 2 || memcmp(text, "v1", 2) != 0))
			return false;
		if ((word == 1 && !parse_u32(text + start, n, &r->first)) ||
		    (word == 2 && !parse_u32(text + start, n, &r->last)))
			return false;
		if (word == 3) {
			if (n == 0 || n >= sizeof(r->label))
				return false;
			memcpy(r->label, text + start, n);
			r->label[n] = '\0';
		}
		if (word >= 4) {
			if (r->nslots >= MEMORY_SLOTS || !parse_slot(text + start, n, &r->slot[r->nslots]))
				return false;
			r->nslots++;
		}
		word++;
	}
	return word >= 4;
}

void
memory_apply(struct memory_record *rec, const struct memory_learn_item *it, size_t key)
{
	for (size_t i = 0; i < it->ncharsets; i++)
		memory_record_add(rec, it->keys.label[key], it->charsets[i], it->now, it->half_life);
}

/* ---- priors ------------------------------------------------------------------ */

/* The best charset of one family in a record, if it holds the agreement
 * share; cs_of[i] is slot i's charset, looked up once by the caller (a
 * lookup is a scan of the registry, and this runs for every slot). */
static bool
family_best(const struct memory_record *r, const struct charset_info *const *cs_of, size_t nslots,
	    enum charset_family fam, uint32_t now, const struct memory_conf *mc, size_t *best,
	    double *count)
{
	double total = 0, top = -1;

	for (size_t i = 0; i < nslots; i++) {
		const struct charset_info *cs = cs_of[i];
		double c;

		if (cs == NULL || cs->family != fam)
			continue;
		c = memory_slot_count(&r->slot[i], now, mc->half_life);
		total += c;
		if (c > top) {
			top = c;
			*best = i;
		}
	}
	*count = top;
	return top >= (double)mc->min_count && top >= MEMORY_AGREEMENT * total;
}

/* ci: cs looked up (the caller has it). */
static void
prior_offer(struct memory_prior *out, size_t *n, const char *cs, const struct charset_info *ci,
	    double count, const char *label)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (charset_lookup(out[i].charset)->family == ci->family)
			break;
	if (i < *n && out[i].count >= (unsigned)(count + 0.5))
		return;
	if (i == *n) {
		if (*n >= MEMORY_PRIORS)
			return;
		(*n)++;
	}
	snprintf(out[i].charset, sizeof(out[i].charset), "%s", cs);
	snprintf(out[i].label, sizeof(out[i].label), "%s", label);
	out[i].count = (unsigned)(count + 0.5);
	/* keep best first */
	for (; i > 0 && out[i].count > out[i - 1].count; i--) {
		struct memory_prior t = out[i];

		out[i] = out[i - 1];
		out[i - 1] = t;
	}
}

size_t
memory_priors_from(const struct memory_record *const *recs, size_t n, uint32_t now,
		   const struct memory_conf *mc, struct memory_prior *out)
{
	size_t np = 0;

	for (size_t k = 0; k < n; k++) {
		const struct memory_record *r = recs[k];

		if (r == NULL || memory_expired(r, now, mc->ttl))
			continue;
		const struct charset_info *cs_of[MEMORY_SLOTS];
		size_t nslots = r->nslots < MEMORY_SLOTS ? r->nslots : MEMORY_SLOTS;

		for (size_t i = 0; i < nslots; i++)
			cs_of[i] = charset_lookup(r->slot[i].charset);
		for (size_t i = 0; i < nslots; i++) {
			const struct charset_info *cs = cs_of[i];
			size_t best = 0;
			double count;

			if (cs == NULL || cs->family == CSF_ASCII || cs->family == CSF_UTF)
				continue;
			if (family_best(r, cs_of, nslots, cs->family, now, mc, &best, &count) && best == i)
				prior_offer(out, &np, r->slot[i].charset, cs, count, r->label);
		}
	}
	return np;
}

/* ---- failure logging ------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char what[24]; time_t last; } log_seen[16];

void
memory_log_failure(const char *what, const char *fmt, ...)
{
	time_t now = time(NULL);
	size_t i, slot = 0;
	bool say = true;
	char msg[512];
	va_list ap;

	pthread_mutex_lock(&log_lock);
	for (i = 0; i < ARRAY_LEN(log_seen) && log_seen[i].what[0]; i++)
		if (strcmp(log_seen[i].what, what) == 0)
			break;
	slot = i < ARRAY_LEN(log_seen) ? i : 0;
	if (strcmp(log_seen[slot].what, what) == 0 && now - log_seen[slot].last < MEMORY_LOG_INTERVAL)
		say = false;
	else {
		snprintf(log_seen[slot].what, sizeof(log_seen[slot].what), "%s", what);
		log_seen[slot].last = now;
	}
	pthread_mutex_unlock(&log_lock);
	if (!say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("sender memory: %s (no prior until it recovers; said at most every %d s)",
		 msg, MEMORY_LOG_INTERVAL);
}

/* ---- the store front ------------------------------------------------------------- */

#define QUEUE_CAP MEMORY_QUEUE_MAX

struct memory {
	const struct memory_store_ops *ops;
	void *b;
	enum memory_backend_kind kind;
	char place[512];
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	struct memory_learn_item *queue;	/* ring of QUEUE_CAP */
	size_t head, len;
	bool busy, stop;
	unsigned flushing;			/* memory_flush callers waiting */
	unsigned long dropped;
	struct memory_learn_item *batch;	/* MEMORY_BATCH_MAX, the worker's */
	pthread_t worker;
};

/* A store that takes batches pays its round trips once per batch: after the
 * first request, let more gather for up to MEMORY_BATCH_LINGER_MS (a learned
 * count shows that much later, nothing waits on it) unless told to hurry. */
static void
linger(struct memory *m)
{
	struct timespec until;

	if (m->ops->learn_many == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += MEMORY_BATCH_LINGER_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	while (m->len < MEMORY_BATCH_MAX && !m->stop && m->flushing == 0)
		if (pthread_cond_timedwait(&m->wake, &m->lock, &until) != 0)
			break;
}

static void *
worker_main(void *arg)
{
	struct memory *m = arg;
	size_t n;
	int rc;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		while (m->len == 0 && !m->stop) {
			pthread_cond_broadcast(&m->idle);
			pthread_cond_wait(&m->wake, &m->lock);
		}
		if (m->len == 0)
			break;
		linger(m);
		for (n = 0; n < MEMORY_BATCH_MAX && m->len > 0; n++) {
			m->batch[n] = m->queue[m->head];
			m->head = (m->head + 1) % QUEUE_CAP;
			m->len--;
		}
		m->busy = true;
		pthread_mutex_unlock(&m->lock);
		rc = 0;
		if (m->ops->learn_many != NULL)
			rc = m->ops->learn_many(m->b, m->batch, n);
		for (size_t i = 0; m->ops->learn_many == NULL && i < n && rc == 0; i++)
			rc = m->ops->learn(m->b, &m->batch[i]);
		if (rc < 0)
			memory_log_failure("write", "%s store %s: update failed", m->ops->name, m->place);
		pthread_mutex_lock(&m->lock);
		m->busy = false;
	}
	pthread_cond_broadcast(&m->idle);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static void
lmdb_place(const struct memory_conf *mc, const char *spool_dir, char *dst, size_t cap)
{
	if (mc->path != NULL)
		snprintf(dst, cap, "%s", mc->path);
	else
		snprintf(dst, cap, "%s/memory.lmdb", spool_dir ? spool_dir : "/var/spool/codepage-milter");
}

struct memory *
memory_open(const struct memory_conf *mc, const char *spool_dir, char *err, size_t errlen)
{
	struct memory *m;
	void *b = NULL;
	char place[512];

	if (mc->backend == MEMORY_LMDB) {
		lmdb_place(mc, spool_dir, place, sizeof(place));
		b = memory_lmdb_open(mc, place, err, errlen);
	} else if (mc->backend == MEMORY_REDIS) {
		snprintf(place, sizeof(place), "%s", mc->redis ? mc->redis : "127.0.0.1:6379");
		b = memory_redis_open(mc, err, errlen);
	} else {
		snprintf(err, errlen, "MemoryBackend is none");
	}
	if (b == NULL)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->kind = mc->backend;
	m->ops = mc->backend == MEMORY_LMDB ? &memory_lmdb_ops : &memory_redis_ops;
	m->b = b;
	snprintf(m->place, sizeof(m->place), "%s", place);
	m->queue = xcalloc(QUEUE_CAP, sizeof(*m->queue));
	m->batch = xcalloc(MEMORY_BATCH_MAX, sizeof(*m->batch));
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	pthread_cond_init(&m->idle, NULL);
	if (pthread_create(&m->worker, NULL, worker_main, m) != 0) {
		m->ops->close(m->b);
		free(m->queue);
		free(m->batch);
		free(m);
		snprintf(err, errlen, "cannot start the memory worker thread");
		return NULL;
	}
	return m;
}

void
memory_close(struct memory *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->worker, NULL);
	m->ops->close(m->b);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->wake);
	pthread_cond_destroy(&m->idle);
	free(m->queue);
	free(m->batch);
	free(m);
}

void
memory_flush(struct memory *m)
{
	pthread_mutex_lock(&m->lock);
	m->flushing++;
	pthread_cond_signal(&m->wake);	/* a lingering worker sends what it has */
	while (m->len > 0 || m->busy)
		pthread_cond_wait(&m->idle, &m->lock);
	m->flushing--;
	pthread_mutex_unlock(&m->lock);
}

/* One store per (backend, place) per process: LMDB forbids opening one
 * environment twice in a process, and a reload must not reopen the store. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	enum memory_backend_kind kind;
	char place[512];
	struct memory *m;
	time_t failed_at;
} shared[8];

struct memory *
memory_shared(const struct memory_conf *mc, const char *spool_dir)
{
	char place[512], err[256];
	struct memory *m = NULL;
	time_t now = time(NULL);
	size_t i;

	if (mc->backend == MEMORY_NONE)
		return NULL;
	if (mc->backend == MEMORY_LMDB)
		lmdb_place(mc, spool_dir, place, sizeof(place));
	else	/* the prefix names the index too: a new prefix is a new store */
		snprintf(place, sizeof(place), "%s %s", mc->redis ? mc->redis : "127.0.0.1:6379",
			 mc->prefix ? mc->prefix : "");
	pthread_mutex_lock(&shared_lock);
	for (i = 0; i < ARRAY_LEN(shared) && (shared[i].m != NULL || shared[i].failed_at != 0); i++)
		if (shared[i].kind == mc->backend && strcmp(shared[i].place, place) == 0)
			break;
	if (i < ARRAY_LEN(shared)) {
		if (shared[i].m == NULL && (shared[i].failed_at == 0 || now - shared[i].failed_at >= MEMORY_RETRY_SEC)) {
			shared[i].kind = mc->backend;
			snprintf(shared[i].place, sizeof(shared[i].place), "%s", place);
			shared[i].m = memory_open(mc, spool_dir, err, sizeof(err));
			shared[i].failed_at = shared[i].m == NULL ? now : 0;
			if (shared[i].m == NULL)
				memory_log_failure("open", "%s", err);
		}
		m = shared[i].m;
	}
	pthread_mutex_unlock(&shared_lock);
	return m;
}

void
memory_shutdown(void)
{
	pthread_mutex_lock(&shared_lock);
	for (size_t i = 0; i < ARRAY_LEN(shared); i++) {
		memory_close(shared[i].m);
		memset(&shared[i], 0, sizeof(shared[i]));
	}
	pthread_mutex_unlock(&shared_lock);
}

/* The priors from the stored texts of k's keys. */
static size_t
priors_of(const struct memory_conf *mc, const struct memory_keys *k, char (*v)[MEMORY_VALUE_MAX],
	  const size_t *lens, const bool *found, struct memory_prior *out)
{
	struct memory_record recs[MEMORY_KEYS];
	const struct memory_record *rp[MEMORY_KEYS];

	for (size_t i = 0; i < k->n; i++)
		rp[i] = found[i] && memory_record_parse(v[i], lens[i], &recs[i]) ? &recs[i] : NULL;
	return memory_priors_from(rp, k->n, (uint32_t)time(NULL), mc, out);
}

size_t
memory_lookup(struct memory *m, const struct memory_conf *mc, const struct memory_keys *k,
	      struct memory_prior *out)
{
	char v[MEMORY_KEYS][MEMORY_VALUE_MAX];
	size_t lens[MEMORY_KEYS];
	bool found[MEMORY_KEYS] = { false };

	if (m == NULL || k->n == 0 || m->ops->get_many(m->b, k, v, lens, found) != 0)
		return 0;
	return priors_of(mc, k, v, lens, found, out);
}

/* A begun lookup: the backend's handle, or none (the lookup is done at the end). */
struct memory_fetch {
	void *h;
};

struct memory_fetch *
memory_lookup_begin(struct memory *m, const struct memory_keys *k)
{
	struct memory_fetch *f = xcalloc(1, sizeof(*f));

	if (m != NULL && k->n > 0 && m->ops->get_begin != NULL)
		f->h = m->ops->get_begin(m->b, k);
	return f;
}

size_t
memory_lookup_end(struct memory *m, struct memory_fetch *f, const struct memory_conf *mc,
		  const struct memory_keys *k, struct memory_prior *out)
{
	char v[MEMORY_KEYS][MEMORY_VALUE_MAX];
	size_t lens[MEMORY_KEYS], n = 0;
	bool found[MEMORY_KEYS] = { false };

	if (f->h == NULL)
		n = memory_lookup(m, mc, k, out);	/* local store, or the send failed */
	else if (m->ops->get_end(m->b, f->h, k, v, lens, found) == 0)
		n = priors_of(mc, k, v, lens, found, out);
	free(f);
	return n;
}

void
memory_lookup_cancel(struct memory *m, struct memory_fetch *f)
{
	if (f == NULL)
		return;
	if (f->h != NULL)
		m->ops->get_cancel(m->b, f->h);
	free(f);
}

void
memory_learn(struct memory *m, const struct memory_conf *mc, const struct memory_keys *k,
	     const char *const *charsets, size_t ncharsets)
{
	struct memory_learn_item *it;

	if (m == NULL || k->n == 0 || ncharsets == 0)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->len >= QUEUE_CAP) {
		m->dropped++;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	it = &m->queue[(m->head + m->len) % QUEUE_CAP];
	memset(it, 0, sizeof(*it));
	it->keys = *k;
	for (size_t i = 0; i < ncharsets && it->ncharsets < MEMORY_SLOTS; i++)
		snprintf(it->charsets[it->ncharsets++], sizeof(it->charsets[0]), "%s", charsets[i]);
	it->now = (uint32_t)time(NULL);
	it->ttl = mc->ttl;
	it->half_life = mc->half_life;
	it->max_keys = mc->max_keys;
	m->len++;
	if (m->len == 1 || m->len == MEMORY_BATCH_MAX)	/* the worker waits for one, or lingers */
		pthread_cond_signal(&m->wake);
	pthread_mutex_unlock(&m->lock);
}

int
memory_list(struct memory *m, const struct memory_conf *mc, memory_list_fn *fn, void *arg)
{
	return m->ops->list(m->b, fn, arg, (uint32_t)time(NULL), mc->ttl);
}

int
memory_forget(struct memory *m, const char *key)
{
	return m->ops->forget(m->b, key);
}

long
memory_count(struct memory *m)
{
	return m->ops->count(m->b);
}

unsigned long
memory_dropped(const struct memory *m)
{
	return m->dropped;
}
