/*
 * check_rules.c -- unit tests for per-source charset rules and host lists (rules.h).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "util.h"

/* Rules never look inside a charset_info; distinct objects are enough to
 * tell which rule matched. */
static const struct charset_info cs_a = { "test-a", "A", CSF_OTHER, 0, 0 };
static const struct charset_info cs_b = { "test-b", "B", CSF_OTHER, 0, 0 };

static struct rule_set *one_rule(enum rule_kind kind, const char *pattern)
{
	struct rule_set *rs = rule_set_new();
	char err[256] = "";

	ck_assert_msg(rule_set_add(rs, kind, pattern, &cs_a, "t.conf:1", err, sizeof(err)) == 0,
		      "pattern %s rejected: %s", pattern, err);
	return rs;
}

static bool client_matches(const char *pattern, const char *addr)
{
	struct rule_set *rs = one_rule(RULE_CLIENT, pattern);
	struct rule_subject subj = { .client_addr = addr };
	struct rule_match m;
	bool hit = rule_set_match(rs, &subj, &m);

	rule_set_free(rs);
	return hit;
}

static bool rule_rejected(enum rule_kind kind, const char *pattern, char *err, size_t errlen)
{
	struct rule_set *rs = rule_set_new();
	int rc;

	err[0] = '\0';
	rc = rule_set_add(rs, kind, pattern, &cs_a, NULL, err, errlen);
	ck_assert_uint_eq(rule_set_count(rs), rc == 0 ? 1 : 0);
	rule_set_free(rs);
	return rc != 0;
}

START_TEST(test_ipv4_cidr_matches_inside_network_only)
{
	ck_assert(client_matches("192.0.2.0/24", "192.0.2.0"));
	ck_assert(client_matches("192.0.2.0/24", "192.0.2.255"));
	ck_assert(!client_matches("192.0.2.0/24", "192.0.3.0"));
	ck_assert(!client_matches("192.0.2.0/24", "192.0.1.255"));
}
END_TEST

START_TEST(test_ipv4_prefix_not_on_byte_boundary)
{
	ck_assert(client_matches("10.0.0.0/9", "10.127.255.255"));
	ck_assert(!client_matches("10.0.0.0/9", "10.128.0.0"));
	ck_assert(client_matches("198.51.100.6/31", "198.51.100.7"));
	ck_assert(!client_matches("198.51.100.6/31", "198.51.100.8"));
}
END_TEST

START_TEST(test_bare_address_is_a_host_route)
{
	ck_assert(client_matches("192.0.2.7", "192.0.2.7"));
	ck_assert(!client_matches("192.0.2.7", "192.0.2.8"));
	ck_assert(client_matches("192.0.2.7/32", "192.0.2.7"));
	ck_assert(client_matches("2001:db8::1", "2001:DB8:0:0::1"));
}
END_TEST

START_TEST(test_ipv4_slash0_matches_all_ipv4_but_no_native_ipv6)
{
	ck_assert(client_matches("0.0.0.0/0", "203.0.113.9"));
	ck_assert(client_matches("0.0.0.0/0", "::ffff:203.0.113.9"));
	ck_assert(!client_matches("0.0.0.0/0", "2001:db8::1"));
}
END_TEST

START_TEST(test_ipv6_slash0_matches_every_address)
{
	ck_assert(client_matches("::/0", "2001:db8::1"));
	ck_assert(client_matches("::/0", "192.0.2.1"));
	ck_assert(client_matches("::/0", "::"));
}
END_TEST

START_TEST(test_ipv6_slash128_matches_one_address)
{
	ck_assert(client_matches("2001:db8::1/128", "2001:db8::1"));
	ck_assert(!client_matches("2001:db8::1/128", "2001:db8::2"));
	ck_assert(!client_matches("2001:db8::1/128", "2001:db8::1:0"));
}
END_TEST

START_TEST(test_ipv6_prefix_boundaries)
{
	ck_assert(client_matches("2001:db8:aa:bb::/64", "2001:db8:aa:bb:ffff:ffff:ffff:ffff"));
	ck_assert(!client_matches("2001:db8:aa:bb::/64", "2001:db8:aa:bc::"));
	ck_assert(client_matches("2001:db8::/33", "2001:db8:7fff::1"));
	ck_assert(!client_matches("2001:db8::/33", "2001:db8:8000::1"));
}
END_TEST

START_TEST(test_v4_mapped_client_matches_ipv4_rule)
{
	ck_assert(client_matches("192.0.2.0/24", "::ffff:192.0.2.7"));
	ck_assert(client_matches("192.0.2.0/24", "::FFFF:c000:0207"));
	ck_assert(!client_matches("192.0.2.0/24", "::ffff:192.0.3.7"));
	/* ::192.0.2.7 (deprecated v4-compatible) is not the same address */
	ck_assert(!client_matches("192.0.2.0/24", "::192.0.2.7"));
}
END_TEST

START_TEST(test_v4_mapped_rule_matches_ipv4_client)
{
	ck_assert(client_matches("::ffff:192.0.2.0/120", "192.0.2.200"));
	ck_assert(!client_matches("::ffff:192.0.2.0/120", "192.0.3.200"));
}
END_TEST

START_TEST(test_mta_address_spellings_are_understood)
{
	ck_assert(client_matches("2001:db8::/32", "IPv6:2001:db8::5"));
	ck_assert(client_matches("2001:db8::/32", "[2001:db8::5]"));
	ck_assert(client_matches("fe80::/10", "fe80::1%eth0"));
	ck_assert(client_matches("192.0.2.0/24", "[192.0.2.5]"));
}
END_TEST

START_TEST(test_unparsable_or_missing_client_address_matches_nothing)
{
	ck_assert(!client_matches("::/0", NULL));
	ck_assert(!client_matches("::/0", ""));
	ck_assert(!client_matches("::/0", "unknown"));
	ck_assert(!client_matches("0.0.0.0/0", "192.0.2.256"));
}
END_TEST

START_TEST(test_bad_client_patterns_are_rejected_with_a_reason)
{
	char err[256];

	ck_assert(rule_rejected(RULE_CLIENT, "192.0.2.0/33", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "prefix"));
	ck_assert(rule_rejected(RULE_CLIENT, "2001:db8::/129", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_CLIENT, "192.0.2.0/", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_CLIENT, "192.0.2.0/-1", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_CLIENT, "192.0.2.0/24x", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_CLIENT, "192.0.2.0/0024", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_CLIENT, "300.1.1.1", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "bad address"));
	ck_assert(rule_rejected(RULE_CLIENT, "mail.example.com", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_CLIENT, "", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_CLIENT, "192.0.2.1/24", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "host bits"));
	ck_assert(rule_rejected(RULE_CLIENT, "fe80::1%eth0", err, sizeof(err)));
}
END_TEST

START_TEST(test_helo_exact_name_is_case_insensitive_and_ignores_trailing_dot)
{
	struct rule_set *rs = one_rule(RULE_HELO, "Mail.Example.COM");
	struct rule_subject subj = { .helo = "mail.example.com." };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	subj.helo = "mail.example.com.au";
	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.helo = "xmail.example.com";
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_helo_suffix_matches_subdomains_only)
{
	struct rule_set *rs = one_rule(RULE_HELO, ".example.com");
	struct rule_subject subj = { .helo = "a.b.EXAMPLE.com" };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	subj.helo = "example.com";
	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.helo = "badexample.com";
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_helo_rule_also_matches_client_host_name)
{
	struct rule_set *rs = one_rule(RULE_HELO, ".example.net");
	struct rule_subject subj = { .helo = "[192.0.2.1]", .client_name = "mx1.example.net" };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	subj.client_name = NULL;
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_bad_host_names_are_rejected)
{
	char err[256];

	ck_assert(rule_rejected(RULE_HELO, ".", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_HELO, "a..b", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_HELO, "exa mple.com", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_HELO, "host/name", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "host name"));
}
END_TEST

START_TEST(test_sender_address_matches_whole_address)
{
	struct rule_set *rs = one_rule(RULE_SENDER, "Alice@Example.org");
	struct rule_subject subj = { .env_sender = "alice@example.ORG" };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	subj.env_sender = "<alice@example.org>";
	ck_assert(rule_set_match(rs, &subj, &m));
	subj.env_sender = "malice@example.org";
	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.env_sender = "alice@example.org.evil";
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_sender_at_domain_matches_that_domain_only)
{
	struct rule_set *rs = one_rule(RULE_SENDER, "@example.org");
	struct rule_subject subj = { .env_sender = "bob@EXAMPLE.org" };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	subj.env_sender = "bob@sub.example.org";
	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.env_sender = "bob@xexample.org";
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_sender_dot_domain_matches_subdomains_only)
{
	struct rule_set *rs = one_rule(RULE_SENDER, ".example.org");
	struct rule_subject subj = { .env_sender = "bob@mail.example.org" };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	subj.env_sender = "bob@example.org";
	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.env_sender = "bob@badexample.org";
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_null_and_domainless_senders_match_nothing)
{
	struct rule_set *rs = one_rule(RULE_SENDER, "@example.org");
	struct rule_subject subj = { .env_sender = "" };
	struct rule_match m;

	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.env_sender = "<>";
	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.env_sender = "postmaster";
	ck_assert(!rule_set_match(rs, &subj, &m));
	subj.env_sender = NULL;
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_bad_sender_patterns_are_rejected)
{
	char err[256];

	ck_assert(rule_rejected(RULE_SENDER, "example.org", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "\"@example.org\""));
	ck_assert(rule_rejected(RULE_SENDER, "user@", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_SENDER, "@", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_SENDER, ".", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_SENDER, "a b@example.org", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_SENDER, "<a@example.org>", err, sizeof(err)));
}
END_TEST

/* A tiny header store for the rule_subject callback. */
struct test_headers { const char *names[8]; const char *values[8]; };

static const char *test_header(void *arg, const char *name, unsigned nth, size_t *len)
{
	const struct test_headers *h = arg;
	unsigned i, seen = 0;

	for (i = 0; i < 8 && h->names[i] != NULL; i++) {
		if (ascii_strcasecmp(h->names[i], name) != 0)
			continue;
		if (seen++ == nth) {
			*len = strlen(h->values[i]);
			return h->values[i];
		}
	}
	return NULL;
}

START_TEST(test_header_rule_matches_substring_case_insensitively)
{
	struct rule_set *rs = one_rule(RULE_HEADER, "X-Mailer:microsoft EXCHANGE server 4.0");
	struct test_headers h = { { "x-mailer" },
				  { " Internet Mail Service (Microsoft Exchange Server 4.0.994.63)" } };
	struct rule_subject subj = { .header = test_header, .header_arg = &h };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	h.values[0] = " Microsoft Exchange Server 5.5";
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_header_rule_sees_through_folding)
{
	struct rule_set *rs = one_rule(RULE_HEADER, "X-Mailer:Exchange Server");
	struct test_headers h = { { "X-Mailer" }, { " Microsoft Exchange\r\n\tServer 4.0" } };
	struct rule_subject subj = { .header = test_header, .header_arg = &h };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_header_rule_checks_every_occurrence)
{
	struct rule_set *rs = one_rule(RULE_HEADER, "Received:legacy-gw");
	struct test_headers h = { { "Received", "Received", "Subject" },
				  { " from a by b", " from legacy-gw.example by a", " legacy-gw" } };
	struct rule_subject subj = { .header = test_header, .header_arg = &h };
	struct rule_match m;

	ck_assert(rule_set_match(rs, &subj, &m));
	h.values[1] = " from c by d";
	ck_assert(!rule_set_match(rs, &subj, &m));	/* Subject must not count */
	rule_set_free(rs);
}
END_TEST

START_TEST(test_header_rule_with_empty_substring_means_present)
{
	struct rule_set *rs = one_rule(RULE_HEADER, "X-Legacy:");
	struct test_headers h = { { "Subject" }, { " hi" } };
	struct rule_subject subj = { .header = test_header, .header_arg = &h };
	struct rule_match m;

	ck_assert(!rule_set_match(rs, &subj, &m));
	h.names[1] = "x-legacy";
	h.values[1] = "";
	ck_assert(rule_set_match(rs, &subj, &m));
	subj.header = NULL;
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_bad_header_patterns_are_rejected)
{
	char err[256];

	ck_assert(rule_rejected(RULE_HEADER, "X-Mailer", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "Name:substring"));
	ck_assert(rule_rejected(RULE_HEADER, ":foo", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_HEADER, "X Mailer:foo", err, sizeof(err)));
	ck_assert(rule_rejected(RULE_HEADER, "X-\x80:foo", err, sizeof(err)));
}
END_TEST

START_TEST(test_first_matching_rule_wins)
{
	struct rule_set *rs = rule_set_new();
	struct rule_subject subj = { .client_addr = "192.0.2.9", .env_sender = "a@example.org" };
	struct rule_match m;
	char err[256];

	ck_assert_int_eq(rule_set_add(rs, RULE_CLIENT, "192.0.2.0/28", &cs_a, "f:1", err, sizeof(err)), 0);
	ck_assert_int_eq(rule_set_add(rs, RULE_CLIENT, "192.0.2.0/24", &cs_b, "f:2", err, sizeof(err)), 0);
	ck_assert_int_eq(rule_set_add(rs, RULE_SENDER, "@example.org", &cs_b, "f:3", err, sizeof(err)), 0);
	ck_assert_uint_eq(rule_set_count(rs), 3);
	ck_assert(rule_set_match(rs, &subj, &m));
	ck_assert_ptr_eq(m.charset, &cs_a);
	ck_assert_str_eq(m.description, "ClientCharset 192.0.2.0/28 (f:1)");
	subj.client_addr = "192.0.2.99";
	ck_assert(rule_set_match(rs, &subj, &m));
	ck_assert_ptr_eq(m.charset, &cs_b);
	ck_assert_str_eq(m.description, "ClientCharset 192.0.2.0/24 (f:2)");
	subj.client_addr = "198.51.100.1";
	ck_assert(rule_set_match(rs, &subj, &m));
	ck_assert_str_eq(m.description, "SenderCharset @example.org (f:3)");
	subj.env_sender = "a@example.com";
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_placeholder_rule_matches_with_no_charset)
{
	struct rule_set *rs = rule_set_new();
	struct rule_subject subj = { .client_addr = "10.1.2.3" };
	struct rule_match m;
	char err[256];

	ck_assert_int_eq(rule_set_add(rs, RULE_CLIENT, "10.1.0.0/16", NULL, "f:1", err, sizeof(err)), 0);
	ck_assert_int_eq(rule_set_add(rs, RULE_CLIENT, "10.0.0.0/8", &cs_a, "f:2", err, sizeof(err)), 0);
	ck_assert(rule_set_match(rs, &subj, &m));
	ck_assert_ptr_null(m.charset);
	subj.client_addr = "10.2.0.1";
	ck_assert(rule_set_match(rs, &subj, &m));
	ck_assert_ptr_eq(m.charset, &cs_a);
	rule_set_free(rs);
}
END_TEST

START_TEST(test_long_description_is_truncated_not_overflowed)
{
	char pattern[400];
	struct rule_set *rs;
	struct test_headers h = { { "X-Long" }, { NULL } };
	struct rule_subject subj = { .header = test_header, .header_arg = &h };
	struct rule_match m;

	memcpy(pattern, "X-Long:", 7);
	memset(pattern + 7, 'z', sizeof(pattern) - 8);
	pattern[sizeof(pattern) - 1] = '\0';
	h.values[0] = pattern + 7;
	rs = one_rule(RULE_HEADER, pattern);
	ck_assert(rule_set_match(rs, &subj, &m));
	ck_assert_uint_eq(strlen(m.description), sizeof(m.description) - 1);
	ck_assert(strncmp(m.description, "HeaderCharset X-Long:zzz", 24) == 0);
	rule_set_free(rs);
}
END_TEST

START_TEST(test_empty_rule_set_matches_nothing)
{
	struct rule_set *rs = rule_set_new();
	struct rule_subject subj = { .client_addr = "192.0.2.1", .helo = "x", .env_sender = "a@b" };
	struct rule_match m;

	ck_assert_uint_eq(rule_set_count(rs), 0);
	ck_assert(!rule_set_match(rs, &subj, &m));
	rule_set_free(rs);
}
END_TEST

START_TEST(test_host_list_matches_addresses_networks_and_names)
{
	struct host_list *hl = host_list_new();
	char err[256];

	ck_assert_int_eq(host_list_add(hl, "127.0.0.1", err, sizeof(err)), 0);
	ck_assert_int_eq(host_list_add(hl, "2001:db8::/32", err, sizeof(err)), 0);
	ck_assert_int_eq(host_list_add(hl, "relay.example.com", err, sizeof(err)), 0);
	ck_assert_int_eq(host_list_add(hl, ".corp.example", err, sizeof(err)), 0);
	ck_assert_uint_eq(host_list_count(hl), 4);
	ck_assert(host_list_match(hl, "127.0.0.1", NULL));
	ck_assert(host_list_match(hl, "::ffff:127.0.0.1", NULL));
	ck_assert(!host_list_match(hl, "127.0.0.2", NULL));
	ck_assert(host_list_match(hl, "2001:db8:1::1", "unknown"));
	ck_assert(host_list_match(hl, "198.51.100.1", "RELAY.example.com"));
	ck_assert(host_list_match(hl, NULL, "pc17.corp.example"));
	ck_assert(!host_list_match(hl, NULL, "corp.example"));
	ck_assert(!host_list_match(hl, "198.51.100.1", "other.example.com"));
	ck_assert(!host_list_match(hl, NULL, NULL));
	host_list_free(hl);
}
END_TEST

START_TEST(test_host_list_rejects_bad_patterns_and_keeps_count)
{
	struct host_list *hl = host_list_new();
	char err[256];

	ck_assert_int_eq(host_list_add(hl, "10.0.0.256", err, sizeof(err)), -1);
	ck_assert_int_eq(host_list_add(hl, "10.0.0.0/40", err, sizeof(err)), -1);
	ck_assert_int_eq(host_list_add(hl, "2001:db8::g", err, sizeof(err)), -1);
	ck_assert_int_eq(host_list_add(hl, "bad name", err, sizeof(err)), -1);
	ck_assert_int_eq(host_list_add(hl, "", err, sizeof(err)), -1);
	ck_assert_uint_eq(host_list_count(hl), 0);
	ck_assert(!host_list_match(hl, "10.0.0.1", "x"));
	host_list_free(hl);
	ck_assert_uint_eq(host_list_count(NULL), 0);
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ipv4_cidr_matches_inside_network_only);
	tcase_add_test(tc, test_ipv4_prefix_not_on_byte_boundary);
	tcase_add_test(tc, test_bare_address_is_a_host_route);
	tcase_add_test(tc, test_ipv4_slash0_matches_all_ipv4_but_no_native_ipv6);
	tcase_add_test(tc, test_ipv6_slash0_matches_every_address);
	tcase_add_test(tc, test_ipv6_slash128_matches_one_address);
	tcase_add_test(tc, test_ipv6_prefix_boundaries);
	tcase_add_test(tc, test_v4_mapped_client_matches_ipv4_rule);
	tcase_add_test(tc, test_v4_mapped_rule_matches_ipv4_client);
	tcase_add_test(tc, test_mta_address_spellings_are_understood);
	tcase_add_test(tc, test_unparsable_or_missing_client_address_matches_nothing);
	tcase_add_test(tc, test_bad_client_patterns_are_rejected_with_a_reason);
	tcase_add_test(tc, test_helo_exact_name_is_case_insensitive_and_ignores_trailing_dot);
	tcase_add_test(tc, test_helo_suffix_matches_subdomains_only);
	tcase_add_test(tc, test_helo_rule_also_matches_client_host_name);
	tcase_add_test(tc, test_bad_host_names_are_rejected);
	tcase_add_test(tc, test_sender_address_matches_whole_address);
	tcase_add_test(tc, test_sender_at_domain_matches_that_domain_only);
	tcase_add_test(tc, test_sender_dot_domain_matches_subdomains_only);
	tcase_add_test(tc, test_null_and_domainless_senders_match_nothing);
	tcase_add_test(tc, test_bad_sender_patterns_are_rejected);
	tcase_add_test(tc, test_header_rule_matches_substring_case_insensitively);
	tcase_add_test(tc, test_header_rule_sees_through_folding);
	tcase_add_test(tc, test_header_rule_checks_every_occurrence);
	tcase_add_test(tc, test_header_rule_with_empty_substring_means_present);
	tcase_add_test(tc, test_bad_header_patterns_are_rejected);
	tcase_add_test(tc, test_first_matching_rule_wins);
	tcase_add_test(tc, test_placeholder_rule_matches_with_no_charset);
	tcase_add_test(tc, test_long_description_is_truncated_not_overflowed);
	tcase_add_test(tc, test_empty_rule_set_matches_nothing);
	tcase_add_test(tc, test_host_list_matches_addresses_networks_and_names);
	tcase_add_test(tc, test_host_list_rejects_bad_patterns_and_keeps_count);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rules_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
