/*
 * rules.c -- per-source charset rules and host lists.  See rules.h.
 *
 * Addresses are compared as 16-byte IPv6 values: an IPv4 address a.b.c.d is
 * stored as the v4-mapped ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2) and an
 * IPv4 prefix /n as /96+n.  So "192.0.2.0/24" also matches a client that the
 * MTA reports as "::ffff:192.0.2.7", "0.0.0.0/0" matches every IPv4 client
 * and no native IPv6 one, and "::/0" matches everything.
 *
 * Host names and domains compare case-insensitively (ASCII only); a pattern
 * with a leading dot matches proper subdomains only, never the name itself
 * (Postfix's parent_domain_matches_subdomains=no behaviour, which is the
 * least surprising).  One trailing dot of a fully qualified name is ignored.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "util.h"

#define ADDR_TEXT_MAX	64	/* longest textual address we parse (INET6_ADDRSTRLEN + "[]/128") */
#define NAME_MAX_LEN	255	/* DNS name limit; longer patterns are errors */
#define HEADER_OCCURRENCES_MAX 64 /* bound the work per rule on hostile messages */

enum host_kind { HOST_NET, HOST_NAME, HOST_SUFFIX };

struct host_pattern {
	enum host_kind kind;
	unsigned char net[16];	/* HOST_NET: network, host bits zero */
	unsigned prefix;	/* HOST_NET: 0..128 in the mapped space */
	char *name;		/* HOST_NAME/HOST_SUFFIX: lowercase; suffix keeps its dot */
};

enum sender_kind { SENDER_ADDRESS, SENDER_DOMAIN, SENDER_SUBDOMAIN };

struct rule {
	enum rule_kind kind;
	struct host_pattern host;	/* RULE_CLIENT, RULE_HELO */
	enum sender_kind sender_kind;	/* RULE_SENDER */
	char *text;			/* RULE_SENDER: lowercase address/domain; RULE_HEADER: name */
	char *needle;			/* RULE_HEADER: normalised substring */
	size_t needle_len;
	const struct charset_info *charset;
	char description[128];
};

struct rule_set {
	struct rule *rules;
	size_t count;
	size_t cap;
};

struct host_list {
	struct host_pattern *patterns;
	size_t count;
	size_t cap;
};

/* ---- addresses ------------------------------------------------------------ */

/*
 * Parse a textual address into the mapped 16-byte form.  Accepts the forms
 * MTAs hand to milters: "192.0.2.1", "2001:db8::1", "[2001:db8::1]",
 * "IPv6:2001:db8::1" (Sendmail) and a zone suffix "%eth0" when allow_zone.
 */
static bool addr_parse(const char *s, size_t len, bool allow_zone,
		       unsigned char out[16], bool *is_v4)
{
	char text[ADDR_TEXT_MAX];
	struct in_addr a4;
	const char *pct;

	if (len >= 5 && ascii_strncasecmp(s, "IPv6:", 5) == 0) {
		s += 5;
		len -= 5;
	}
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (allow_zone && (pct = memchr(s, '%', len)) != NULL)
		len = (size_t)(pct - s);
	if (len == 0 || len >= sizeof(text))
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	if (inet_pton(AF_INET, text, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*is_v4 = true;
		return true;
	}
	*is_v4 = false;
	return inet_pton(AF_INET6, text, out) == 1;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static bool host_bits_zero(const unsigned char *a, unsigned prefix)
{
	unsigned i;

	for (i = prefix; i < 128; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* "ADDR" or "ADDR/PREFIX"; the network must have no host bits set. */
static int net_parse(const char *pat, struct host_pattern *hp, char *err, size_t errlen)
{
	const char *slash = strchr(pat, '/');
	size_t addrlen = slash ? (size_t)(slash - pat) : strlen(pat);
	unsigned long prefix, max;
	bool is_v4;
	char *end;

	if (!addr_parse(pat, addrlen, false, hp->net, &is_v4)) {
		snprintf(err, errlen, "bad address in \"%s\"", pat);
		return -1;
	}
	max = is_v4 ? 32 : 128;
	prefix = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3) {
			snprintf(err, errlen, "bad prefix length in \"%s\"", pat);
			return -1;
		}
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || prefix > max) {
			snprintf(err, errlen, "bad prefix length in \"%s\" (0..%lu)", pat, max);
			return -1;
		}
	}
	hp->kind = HOST_NET;
	hp->prefix = (unsigned)prefix + (is_v4 ? 96 : 0);
	hp->name = NULL;
	if (!host_bits_zero(hp->net, hp->prefix)) {
		snprintf(err, errlen, "\"%s\" has host bits set beyond the /%lu prefix", pat, prefix);
		return -1;
	}
	return 0;
}

static bool net_match(const struct host_pattern *hp, const char *addr)
{
	unsigned char a[16];
	bool is_v4;

	if (addr == NULL || !addr_parse(addr, strlen(addr), true, a, &is_v4))
		return false;
	return prefix_equal(a, hp->net, hp->prefix);
}

/* ---- host names ------------------------------------------------------------- */

static bool name_char_ok(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Length without one trailing dot ("mx.example.com." == "mx.example.com"). */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);

	return (n > 1 && s[n - 1] == '.') ? n - 1 : n;
}

/* "name.example" or ".example": letters, digits, '-', '_', '.', no empty labels. */
static int name_parse(const char *pat, struct host_pattern *hp, char *err, size_t errlen)
{
	size_t n = name_len(pat), i;
	bool suffix = pat[0] == '.';

	if (n == 0 || n > NAME_MAX_LEN || (suffix && n == 1)) {
		snprintf(err, errlen, "bad host name \"%s\"", pat);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!name_char_ok((unsigned char)pat[i]) ||
		    (pat[i] == '.' && i + 1 < n && pat[i + 1] == '.')) {
			snprintf(err, errlen, "bad host name \"%s\"", pat);
			return -1;
		}
	}
	hp->kind = suffix ? HOST_SUFFIX : HOST_NAME;
	hp->prefix = 0;
	hp->name = xmalloc(n + 1);
	ascii_lower_copy(hp->name, n + 1, pat, n);
	return 0;
}

/* Does the (already lowercase) name pattern match host/domain name s? */
static bool name_match(enum host_kind kind, const char *pattern, const char *s)
{
	size_t n, plen;

	if (s == NULL)
		return false;
	n = name_len(s);
	plen = strlen(pattern);
	if (kind == HOST_NAME)
		return n == plen && ascii_strncasecmp(s, pattern, n) == 0;
	/* suffix: pattern is ".example.com"; the name must be longer than it */
	return n > plen && ascii_strncasecmp(s + n - plen, pattern, plen) == 0;
}

/* Something that can only be meant as an address: digits and dots, or ':' / '/' / '['. */
static bool looks_like_address(const char *pat)
{
	bool only_digits_dots = true;
	const char *p;

	if (strpbrk(pat, ":/[") != NULL)
		return true;
	for (p = pat; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			only_digits_dots = false;
	return only_digits_dots;
}

static int host_pattern_parse(const char *pat, struct host_pattern *hp, char *err, size_t errlen)
{
	if (looks_like_address(pat))
		return net_parse(pat, hp, err, errlen);
	return name_parse(pat, hp, err, errlen);
}

static bool host_pattern_match(const struct host_pattern *hp, const char *addr,
			       const char *hostname)
{
	if (hp->kind == HOST_NET)
		return net_match(hp, addr);
	return name_match(hp->kind, hp->name, hostname);
}

/* ---- senders ------------------------------------------------------------------ */

static int sender_parse(const char *pat, struct rule *r, char *err, size_t errlen)
{
	const char *at = strrchr(pat, '@');
	size_t n = strlen(pat), i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)pat[i];

		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>') {
			snprintf(err, errlen, "bad sender pattern \"%s\"", pat);
			return -1;
		}
	}
	if (pat[0] == '.' && at == NULL && n > 1 && pat[1] != '.') {
		r->sender_kind = SENDER_SUBDOMAIN;
	} else if (pat[0] == '@' && at == pat && n > 1) {
		r->sender_kind = SENDER_DOMAIN;
	} else if (at != NULL && at != pat && at[1] != '\0') {
		r->sender_kind = SENDER_ADDRESS;
	} else if (at == NULL) {
		snprintf(err, errlen, "bad sender pattern \"%s\": use \"@%s\" for the domain "
			 "or \".%s\" for its subdomains", pat, pat, pat);
		return -1;
	} else {
		snprintf(err, errlen, "bad sender pattern \"%s\"", pat);
		return -1;
	}
	r->text = xmalloc(n + 1);
	ascii_lower_copy(r->text, n + 1, pat, n);
	return 0;
}

static bool sender_match(const struct rule *r, const char *sender)
{
	const char *at, *domain;
	size_t len;

	if (sender == NULL)
		return false;
	len = strlen(sender);
	if (len >= 2 && sender[0] == '<' && sender[len - 1] == '>') {
		sender++;
		len -= 2;
	}
	if (len == 0)
		return false;		/* the null sender of bounces */
	switch (r->sender_kind) {
	case SENDER_ADDRESS:
		return len == strlen(r->text) && ascii_strncasecmp(sender, r->text, len) == 0;
	case SENDER_DOMAIN:
	case SENDER_SUBDOMAIN:
		at = memrchr(sender, '@', len);
		if (at == NULL)
			return false;
		domain = at + 1;
		len -= (size_t)(domain - sender);
		if (r->sender_kind == SENDER_DOMAIN)
			return len == strlen(r->text + 1) &&
			    ascii_strncasecmp(domain, r->text + 1, len) == 0;
		return len > strlen(r->text) &&
		    ascii_strncasecmp(domain + len - strlen(r->text), r->text, strlen(r->text)) == 0;
	}
	return false;
}

/* ---- headers ------------------------------------------------------------------ */

static bool is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Lowercase, trim, and collapse every run of white space (including the
 * CRLF of folding) into one space, so "Exchange Server" matches a value
 * folded between the two words.  dst must hold len + 1 bytes.
 */
static size_t normalise_text(char *dst, const char *src, size_t len)
{
	size_t i, out = 0;
	bool pending_space = false;

	for (i = 0; i < len; i++) {
		if (is_wsp((unsigned char)src[i])) {
			pending_space = out > 0;
			continue;
		}
		if (pending_space)
			dst[out++] = ' ';
		pending_space = false;
		dst[out++] = (char)ascii_tolower((unsigned char)src[i]);
	}
	dst[out] = '\0';
	return out;
}

static int header_parse(const char *pat, struct rule *r, char *err, size_t errlen)
{
	const char *colon = strchr(pat, ':');
	size_t namelen, rest;

	if (colon == NULL) {
		snprintf(err, errlen, "bad header pattern \"%s\": expected Name:substring", pat);
		return -1;
	}
	namelen = (size_t)(colon - pat);
	if (!header_name_valid(pat, namelen)) {
		snprintf(err, errlen, "bad header name in \"%s\"", pat);
		return -1;
	}
	r->text = xstrndup(pat, namelen);
	rest = strlen(colon + 1);
	r->needle = xmalloc(rest + 1);
	r->needle_len = normalise_text(r->needle, colon + 1, rest);
	return 0;
}

static bool header_match(const struct rule *r, const struct rule_subject *subj)
{
	unsigned nth;

	if (subj->header == NULL)
		return false;
	for (nth = 0; nth < HEADER_OCCURRENCES_MAX; nth++) {
		size_t len = 0, n;
		const char *value = subj->header(subj->header_arg, r->text, nth, &len);
		char *norm;
		bool found;

		if (value == NULL)
			return false;
		if (r->needle_len == 0)
			return true;	/* "Name:" means the header is present */
		norm = xmalloc(len + 1);
		n = normalise_text(norm, value, len);
		found = memmem(norm, n, r->needle, r->needle_len) != NULL;
		free(norm);
		if (found)
			return true;
	}
	return false;
}

/* ---- rule sets ---------------------------------------------------------------- */

static const char *rule_kind_key(enum rule_kind kind)
{
	switch (kind) {
	case RULE_CLIENT:	return "ClientCharset";
	case RULE_HELO:		return "HeloCharset";
	case RULE_SENDER:	return "SenderCharset";
	case RULE_HEADER:	return "HeaderCharset";
	}
	return "Rule";
}

struct rule_set *rule_set_new(void)
{
	return xcalloc(1, sizeof(struct rule_set));
}

void rule_set_free(struct rule_set *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->count; i++) {
		free(rs->rules[i].host.name);
		free(rs->rules[i].text);
		free(rs->rules[i].needle);
	}
	free(rs->rules);
	free(rs);
}

size_t rule_set_count(const struct rule_set *rs)
{
	return rs->count;
}

int rule_set_add(struct rule_set *rs, enum rule_kind kind, const char *pattern,
		 const struct charset_info *cs, const char *origin, char *err, size_t errlen)
{
	struct rule r;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.charset = cs;
	switch (kind) {
	case RULE_CLIENT:
		rc = net_parse(pattern, &r.host, err, errlen);
		break;
	case RULE_HELO:
		rc = name_parse(pattern, &r.host, err, errlen);
		break;
	case RULE_SENDER:
		rc = sender_parse(pattern, &r, err, errlen);
		break;
	case RULE_HEADER:
		rc = header_parse(pattern, &r, err, errlen);
		break;
	}
	if (rc != 0) {
		free(r.host.name);
		free(r.text);
		free(r.needle);
		return -1;
	}
	snprintf(r.description, sizeof(r.description), "%s %s", rule_kind_key(kind), pattern);
	if (origin != NULL) {
		size_t used = strlen(r.description);

		snprintf(r.description + used, sizeof(r.description) - used, " (%s)", origin);
	}
	if (rs->count == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 8;
		rs->rules = xreallocarray(rs->rules, rs->cap, sizeof(*rs->rules));
	}
	rs->rules[rs->count++] = r;
	return 0;
}

static bool rule_matches(const struct rule *r, const struct rule_subject *subj)
{
	switch (r->kind) {
	case RULE_CLIENT:
		return net_match(&r->host, subj->client_addr);
	case RULE_HELO:
		return name_match(r->host.kind, r->host.name, subj->helo) ||
		    name_match(r->host.kind, r->host.name, subj->client_name);
	case RULE_SENDER:
		return sender_match(r, subj->env_sender);
	case RULE_HEADER:
		return header_match(r, subj);
	}
	return false;
}

bool rule_set_match(const struct rule_set *rs, const struct rule_subject *subj,
		    struct rule_match *out)
{
	size_t i;

	if (rs == NULL)
		return false;
	for (i = 0; i < rs->count; i++) {
		if (rule_matches(&rs->rules[i], subj)) {
			out->charset = rs->rules[i].charset;
			memcpy(out->description, rs->rules[i].description, sizeof(out->description));
			return true;
		}
	}
	return false;
}

/* ---- host lists --------------------------------------------------------------- */

struct host_list *host_list_new(void)
{
	return xcalloc(1, sizeof(struct host_list));
}

void host_list_free(struct host_list *hl)
{
	size_t i;

	if (hl == NULL)
		return;
	for (i = 0; i < hl->count; i++)
		free(hl->patterns[i].name);
	free(hl->patterns);
	free(hl);
}

int host_list_add(struct host_list *hl, const char *pattern, char *err, size_t errlen)
{
	struct host_pattern hp;

	memset(&hp, 0, sizeof(hp));
	if (host_pattern_parse(pattern, &hp, err, errlen) != 0)
		return -1;
	if (hl->count == hl->cap) {
		hl->cap = hl->cap ? hl->cap * 2 : 8;
		hl->patterns = xreallocarray(hl->patterns, hl->cap, sizeof(*hl->patterns));
	}
	hl->patterns[hl->count++] = hp;
	return 0;
}

bool host_list_match(const struct host_list *hl, const char *addr, const char *hostname)
{
	size_t i;

	if (hl == NULL)
		return false;
	for (i = 0; i < hl->count; i++)
		if (host_pattern_match(&hl->patterns[i], addr, hostname))
			return true;
	return false;
}

size_t host_list_count(const struct host_list *hl)
{
	return hl == NULL ? 0 : hl->count;
}
