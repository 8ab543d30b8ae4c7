/*
 * rules.h -- per-source charset rules: "mail from this source is in that charset".
 *
 * A rule set is an ordered list; the first rule that matches the message's
 * source wins.  Matchers: client address or network (IPv4/IPv6 CIDR), HELO or
 * client host name (exact or ".suffix"), envelope sender address or domain
 * ("user@example.com", "@example.com", ".example.com" for subdomains), and a
 * top-level header match (name plus case-insensitive substring of the value,
 * e.g. X-Mailer containing "Microsoft Exchange Server 4.0").
 *
 * Rules are built by conf.c from the config file and are immutable after;
 * a reload builds a new set.
 *
 * Matching details (all ASCII case-insensitive):
 *   - Addresses: IPv4 is compared as v4-mapped IPv6 (::ffff:a.b.c.d), so
 *     "192.0.2.0/24" matches a client reported as "::ffff:192.0.2.7";
 *     "0.0.0.0/0" matches all IPv4 clients, "::/0" every client.  Client
 *     addresses may come as "IPv6:x::y" (Sendmail), "[x::y]", or with a
 *     "%zone" suffix.  A pattern with host bits set beyond its prefix is an
 *     error (likely typo), as is a prefix outside 0..32 / 0..128.
 *   - Names: "mx.example.com" exact, ".example.com" proper subdomains only
 *     (not example.com itself); one trailing dot is ignored.  RULE_HELO
 *     matches the HELO name or the client's host name.
 *   - Senders: "user@example.com" exact address, "@example.com" that domain,
 *     ".example.com" its subdomains; a bare "example.com" is an error.  The
 *     null sender "<>" matches nothing.
 *   - Headers: "Name:substring"; white space runs (including folding) in the
 *     value and in the pattern compare as one space; an empty substring
 *     means "the header is present".  Only the first 64 occurrences of the
 *     header are examined.
 *
 * A rule's charset may be NULL: conf.c uses that for placeholder labels
 * ("unknown-8bit", "x-unknown"), meaning "for this source there is no known
 * charset; stop the rule search and let detection decide".  rule_set_match
 * then returns true with out->charset == NULL.
 */
#ifndef CPM_RULES_H
#define CPM_RULES_H

#include <stddef.h>
#include <stdbool.h>
#include "charset.h"

struct rule_set;

/* What a rule can be matched against.  Any field may be NULL/unknown. */
struct rule_subject {
	const char *client_addr;	/* textual IPv4/IPv6 address */
	const char *client_name;	/* reverse-DNS host name from the MTA */
	const char *helo;
	const char *env_sender;		/* envelope sender address, without <> */
	/* top-level header lookup: value of the nth header with that name, or NULL */
	const char *(*header)(void *arg, const char *name, unsigned nth, size_t *len);
	void *header_arg;
};

struct rule_match {
	const struct charset_info *charset;
	char description[128];		/* "ClientCharset 192.0.2.0/24 (file:12)" */
};

struct rule_set *rule_set_new(void);
void rule_set_free(struct rule_set *rs);
size_t rule_set_count(const struct rule_set *rs);

enum rule_kind { RULE_CLIENT, RULE_HELO, RULE_SENDER, RULE_HEADER };
/* Add a rule; pattern syntax by kind as above ("Name:substring" for RULE_HEADER).
 * cs may be NULL (see above); origin ("file:line", conf.c passes the file's
 * base name) may be NULL.  The
 * description is "KEY PATTERN (origin)", truncated to fit.
 * Returns 0, or -1 with a message in err (capacity errlen) for a bad pattern. */
int rule_set_add(struct rule_set *rs, enum rule_kind kind, const char *pattern,
		 const struct charset_info *cs, const char *origin, char *err, size_t errlen);
/* First matching rule, or false. */
bool rule_set_match(const struct rule_set *rs, const struct rule_subject *subj,
		    struct rule_match *out);

/* Network scoping lists (InternalHosts, ExemptHosts...): same address/CIDR/host
 * matching, no charset.  A pattern that can only be an address (digits and
 * dots, or containing ':', '/' or '[') must parse as ADDR or ADDR/PREFIX;
 * anything else is a host name or ".suffix" matched against hostname. */
struct host_list;
struct host_list *host_list_new(void);
void host_list_free(struct host_list *hl);
int host_list_add(struct host_list *hl, const char *pattern, char *err, size_t errlen);
bool host_list_match(const struct host_list *hl, const char *addr, const char *hostname);
size_t host_list_count(const struct host_list *hl);

#endif
