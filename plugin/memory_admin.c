/*
 * memory_admin.c -- codepage-milter -M: the administrator's view of the sender memory.
 *
 * Lists what was learned (one line per source, most evidence first), the
 * same as JSON, or forgets one key.  See memory_admin.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory.h"
#include "memory_admin.h"
#include "util.h"

struct entry {
	char key[MEMORY_KEY_MAX];
	struct memory_record rec;
	double weight;
};

struct collect {
	struct entry *v;
	size_t n, cap;
	uint32_t now;
	unsigned half_life;
};

static void
collect_one(void *arg, const char *key, const struct memory_record *r)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	snprintf(c->v[c->n].key, sizeof(c->v[c->n].key), "%s", key);
	c->v[c->n].rec = *r;
	c->v[c->n].weight = memory_record_weight(r, c->now, c->half_life);
	c->n++;
}

static int
by_weight(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void
utc(uint32_t t, char *dst, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(dst, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* JSON string body of ASCII text (records hold printable ASCII only). */
static void
json_str(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', f);
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			putc(*s, f);
	}
	putc('"', f);
}

static void
print_table(FILE *f, const struct collect *c)
{
	char first[32], last[32];

	fprintf(f, "%-40s %-28s %-20s %-20s %s\n", "KEY", "SOURCE", "LAST SEEN", "FIRST SEEN",
		"CHARSETS (decayed counts)");
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->v[i];

		utc(e->rec.last, last, sizeof(last));
		utc(e->rec.first, first, sizeof(first));
		fprintf(f, "%-40s %-28s %-20s %-20s", e->key, e->rec.label, last, first);
		for (size_t k = 0; k < e->rec.nslots; k++)
			fprintf(f, " %s=%.1f", e->rec.slot[k].charset,
				memory_slot_count(&e->rec.slot[k], c->now, c->half_life));
		putc('\n', f);
	}
	fprintf(f, "%zu sources\n", c->n);
}

static void
print_json(FILE *f, const struct collect *c)
{
	char first[32], last[32];

	fputs("[", f);
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->v[i];

		utc(e->rec.last, last, sizeof(last));
		utc(e->rec.first, first, sizeof(first));
		fprintf(f, "%s\n  {\"key\": ", i ? "," : "");
		json_str(f, e->key);
		fputs(", \"source\": ", f);
		json_str(f, e->rec.label);
		fprintf(f, ", \"first_seen\": \"%s\", \"last_seen\": \"%s\", \"weight\": %.3f, \"charsets\": [",
			first, last, e->weight);
		for (size_t k = 0; k < e->rec.nslots; k++) {
			fprintf(f, "%s{\"charset\": ", k ? ", " : "");
			json_str(f, e->rec.slot[k].charset);
			fprintf(f, ", \"count\": %.3f}",
				memory_slot_count(&e->rec.slot[k], c->now, c->half_life));
		}
		fputs("]}", f);
	}
	fputs(c->n ? "\n]\n" : "]\n", f);
}

/* The stored key that an administrator's KEY names (see memory_admin.h). */
static void
resolve_key(const struct memory_conf *mc, const char *arg, char *dst, size_t cap)
{
	const char *prefix = mc->prefix ? mc->prefix : "";
	struct memory_source src;
	struct memory_keys k;

	memset(&src, 0, sizeof(src));
	if (strncmp(arg, "client:", 7) == 0) {
		src.client_addr = arg + 7;
		memory_keys_build(&k, prefix, &src);
		snprintf(dst, cap, "%s", k.n > 0 ? k.key[0] : arg);
	} else if (prefix[0] != '\0' && strncmp(arg, prefix, strlen(prefix)) == 0) {
		snprintf(dst, cap, "%s", arg);
	} else {
		snprintf(dst, cap, "%s%s", prefix, arg);
	}
}

int
memory_admin(const struct conf *conf, const char *action, const char *key, FILE *out)
{
	struct collect c = { NULL, 0, 0, (uint32_t)time(NULL), conf->memory.half_life };
	char err[256], full[MEMORY_KEY_MAX + 64];
	struct memory *m;
	int rc = 0;

	if (conf->memory.backend == MEMORY_NONE) {
		fprintf(stderr, "codepage-milter: MemoryBackend is none: no sender memory\n");
		return 1;
	}
	if ((m = memory_open(&conf->memory, conf->spool_dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "codepage-milter: %s\n", err);
		return 1;
	}
	if (strcmp(action, "forget") == 0) {
		resolve_key(&conf->memory, key, full, sizeof(full));
		rc = memory_forget(m, full);
		fprintf(rc < 0 ? stderr : out, "%s: %s\n", full,
			rc > 0 ? "forgotten" : rc == 0 ? "not in the memory" : "the store failed");
		rc = rc < 0 ? 1 : rc == 0 ? 2 : 0;
	} else if (memory_list(m, &conf->memory, collect_one, &c) < 0) {
		fprintf(stderr, "codepage-milter: the sender memory cannot be read\n");
		rc = 1;
	} else {
		if (c.n > 0)	/* qsort(NULL, 0, ...) is undefined */
			qsort(c.v, c.n, sizeof(*c.v), by_weight);
		if (strcmp(action, "json") == 0)
			print_json(out, &c);
		else
			print_table(out, &c);
	}
	free(c.v);
	memory_close(m);
	return rc;
}
