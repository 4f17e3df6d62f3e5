/* src/filter/zone*.c: every syntax form of rbldnsd(8) for ip4set, ip4trie
 * and dnset (the manual's own examples first), values and TXT templates,
 * exclusions and overlaps, every kind of bad line (reported with
 * file:line and skipped), specials, files, and a randomized comparison
 * of the range table with a direct reading of rbldnsd's rules.
 *
 * Where an expectation is not in the manual, it is what rbldnsd 1.0
 * (Debian 1.0~20210120) answered for the same data. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "filter/zone.h"
#include "filter/zone-private.h" /* zone_ip4_sort */
#include "lib/net.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct warnings {
	char msg[128][300];
	size_t n;
};

static void collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;

	if (w->n < N_ELEMENTS(w->msg))
		str_copy(w->msg[w->n++], msg, sizeof(w->msg[0]));
}

static struct zone *load(enum zone_type type, const char *text, struct warnings *w)
{
	const char *error = NULL;
	struct zone *z;

	memset(w, 0, sizeof(*w));
	z = zone_load_data("t", type, "t.zone", text, strlen(text), collect, w, &error);
	if (z == NULL)
		fail_msg("load failed: %s", error);
	return z;
}

/* a == NULL: not listed; txt == NULL: listed without TXT. */
struct q {
	const char *key, *a, *txt;
};

static void expect(const struct zone *z, const struct q *q, const char *where)
{
	struct zone_result r;
	int listed;

	memset(&r, 0x55, sizeof(r));
	if (zone_get_type(z) == ZONE_DNSET) {
		listed = zone_lookup_name(z, q->key, &r);
	} else {
		struct net_addr a;
		if (net_ip_parse(q->key, &a) < 0)
			fail_msg("%s: bad test address %s", where, q->key);
		listed = zone_lookup_ip(z, &a, &r);
		assert_int_equal(listed, zone_lookup_ip(z, &a, NULL));
	}
	if (q->a == NULL) {
		if (listed)
			fail_msg("%s: %s is listed (%s)", where, q->key, r.a_text);
		return;
	}
	if (!listed)
		fail_msg("%s: %s is not listed", where, q->key);
	if (strcmp(r.a_text, q->a) != 0)
		fail_msg("%s: %s: A %s, want %s", where, q->key, r.a_text, q->a);
	if (q->txt == NULL && r.has_txt)
		fail_msg("%s: %s: TXT \"%s\", want none", where, q->key, r.txt);
	if (q->txt != NULL && (!r.has_txt || strcmp(r.txt, q->txt) != 0))
		fail_msg("%s: %s: TXT \"%s\", want \"%s\"", where, q->key,
			 r.has_txt ? r.txt : "(none)", q->txt);
}

static void expect_all(const struct zone *z, const struct q *q, const char *where)
{
	for (; q->key != NULL; q++)
		expect(z, q, where);
}

static void no_warnings(const struct warnings *w, const char *where)
{
	if (w->n > 0)
		fail_msg("%s: unexpected warning: %s", where, w->msg[0]);
}

/* The manual's ip4set examples: eight ways to write 127.0.0.0/24 and seven
 * for 127.16.0.0-127.31.255.255 ("127-127.0.0" as the manual says, though
 * rbldnsd 1.0 itself refuses that one). */
static void ip4set_manual_forms(void **state)
{
	static const char *const c24[] = {
		"127.0.0.0/24", "127.0.0", "127/24", "127-127.0.0",
		"127.0.0.0-127.0.0.255", "127.0.0.1-255", "127.0.0.0-255",
	};
	static const char *const c12[] = {
		"127.16.0.0-127.31.255.255", "127.16.0-127.31.255", "127.16-127.31",
		"127.16-31", "127.16.0.0/12", "127.16.0/12", "127.16/12",
	};
	static const struct q q24[] = {
		{ "127.0.0.1", "127.0.0.2", NULL }, { "127.0.0.255", "127.0.0.2", NULL },
		{ "126.255.255.255" }, { "127.0.1.0" }, { NULL },
	};
	static const struct q q12[] = {
		{ "127.16.0.0", "127.0.0.2", NULL }, { "127.31.255.255", "127.0.0.2", NULL },
		{ "127.20.1.2", "127.0.0.2", NULL },
		{ "127.15.255.255" }, { "127.32.0.0" }, { NULL },
	};
	static const struct q q19[] = {
		{ "127.16.0.0", "127.0.0.2", NULL }, { "127.16.31.255", "127.0.0.2", NULL },
		{ "127.16.32.0" }, { "127.15.255.255" }, { NULL },
	};
	struct warnings w;
	(void)state;

	for (size_t i = 0; i < N_ELEMENTS(c24); i++) {
		char text[64];
		snprintf(text, sizeof(text), "%s\n", c24[i]);
		struct zone *z = load(ZONE_IP4SET, text, &w);
		no_warnings(&w, c24[i]);
		/* 127.0.0.1-255 starts at .1 */
		if (strcmp(c24[i], "127.0.0.1-255") == 0)
			expect(z, &(struct q){ "127.0.0.0" }, c24[i]);
		else
			expect(z, &(struct q){ "127.0.0.0", "127.0.0.2", NULL }, c24[i]);
		expect_all(z, q24, c24[i]);
		assert_int_equal(zone_entries(z), 1);
		zone_free(&z);
		assert_null(z);
	}
	for (size_t i = 0; i < N_ELEMENTS(c12); i++) {
		char text[64];
		snprintf(text, sizeof(text), "%s\n", c12[i]);
		struct zone *z = load(ZONE_IP4SET, text, &w);
		no_warnings(&w, c12[i]);
		expect_all(z, q12, c12[i]);
		zone_free(&z);
	}
	/* a one-octet end is the last octet of the start's prefix */
	struct zone *z = load(ZONE_IP4SET, "127.16.0-31\n", &w);
	no_warnings(&w, "127.16.0-31");
	expect_all(z, q19, "127.16.0-31");
	zone_free(&z);
}

struct zcase {
	const char *name;
	enum zone_type type;
	const char *text;
	struct q q[24];
};

static const struct zcase cases[] = {
	{ "manual: A values and TXT templates", ZONE_IP4SET,
	  "# default A value and TXT template\n"
	  ":127.0.0.2:IP address $ is listed\n"
	  "# 127.0.0.4 will use default A and TXT\n"
	  "127.0.0.4\n"
	  "# 127.0.0.5 will use specific A and default TXT\n"
	  "127.0.0.5 :5\n"
	  "# 127.0.0.6 will use specific a and no TXT\n"
	  "127.0.0.6 :6:\n"
	  "# 127.0.0.7 will use default A and specific TXT\n"
	  "127.0.0.7 IP address $ running an open relay\n",
	  { { "127.0.0.4", "127.0.0.2", "IP address 127.0.0.4 is listed" },
	    { "127.0.0.5", "127.0.0.5", "IP address 127.0.0.5 is listed" },
	    { "127.0.0.6", "127.0.0.6", NULL },
	    { "127.0.0.7", "127.0.0.2", "IP address 127.0.0.7 running an open relay" },
	    { "127.0.0.8" } } },
	{ "manual: $n substitution", ZONE_IP4SET,
	  "$1 See http://www.example.com/bl\n"
	  "$2 for details\n"
	  "127.0.0.2  $1/spammer/$ $2\n"
	  "127.0.0.3  $1/relay/$ $2\n"
	  "127.0.0.4  This spammer wants some $$$$.  $1/$\n",
	  { { "127.0.0.2", "127.0.0.2", "See http://www.example.com/bl/spammer/127.0.0.2 for details" },
	    { "127.0.0.3", "127.0.0.2", "See http://www.example.com/bl/relay/127.0.0.3 for details" },
	    { "127.0.0.4", "127.0.0.2", "This spammer wants some $$.  See http://www.example.com/bl/127.0.0.4" } } },
	{ "manual: $= base template", ZONE_IP4SET,
	  "$= See http://www.example.com/bl?$= ($) for details\n"
	  "127.0.0.2    r123\n"
	  "127.0.0.3\n"
	  "127.0.0.4    =See other blocklists for details about $\n",
	  { { "127.0.0.2", "127.0.0.2", "See http://www.example.com/bl?r123 (127.0.0.2) for details" },
	    { "127.0.0.3", "127.0.0.2", "See http://www.example.com/bl?127.0.0.3 (127.0.0.3) for details" },
	    { "127.0.0.4", "127.0.0.2", "See other blocklists for details about 127.0.0.4" } } },
	{ "manual: short A, comment after an address", ZONE_IP4SET,
	  ":2:Blacklisted: http://example.com/bl?$\n"
	  "127/8 ; loopback network\n"
	  "10.0.0.0/8 # also a comment\n",
	  { { "127.1.2.3", "127.0.0.2", "Blacklisted: http://example.com/bl?127.1.2.3" },
	    { "10.9.9.9", "127.0.0.2", "Blacklisted: http://example.com/bl?10.9.9.9" },
	    { "11.0.0.0" } } },
	{ "manual: combined-style default per section", ZONE_IP4SET,
	  ":3:Open relay, see http://bl.ex.com/relay/$\n"
	  "127.0.0.2\n"
	  "127.0.2.10\n",
	  { { "127.0.0.2", "127.0.0.3", "Open relay, see http://bl.ex.com/relay/127.0.0.2" },
	    { "127.0.2.10", "127.0.0.3", "Open relay, see http://bl.ex.com/relay/127.0.2.10" },
	    { "127.0.2.11" } } },
	{ "no default: 127.0.0.2 without TXT", ZONE_IP4SET,
	  "192.0.2.1\n",
	  { { "192.0.2.1", "127.0.0.2", NULL }, { "192.0.2.2" } } },
	{ "value forms (as rbldnsd 1.0 answers)", ZONE_IP4SET,
	  "10.3.0.0/16 :6:text # comment\n"
	  "10.4.0.0/16 text ; comment\n"
	  "10.5.0.0/16 :127.0.0.7:\n"
	  "10.6.0.1 $9 unknown $= x\n"
	  "1.18.0.1:2:colon-no-space\n"
	  "1.19.0.1\t:127.2:inet\n"
	  "1.20.0.1 :127.0.0.9 :  spaced text  \n"
	  "1.21.0.1 :1.2.3:three\n",
	  { { "10.3.1.1", "127.0.0.6", "text # comment" },
	    { "10.4.1.1", "127.0.0.2", "text ; comment" },
	    { "10.5.1.1", "127.0.0.7", NULL },
	    { "10.6.0.1", "127.0.0.2", "$9 unknown $9 unknown $= x x" },
	    { "1.18.0.1", "127.0.0.2", "colon-no-space" },
	    { "1.19.0.1", "127.0.0.2", "inet" },
	    { "1.20.0.1", "127.0.0.9", "spaced text" },
	    { "1.21.0.1", "1.2.0.3", "three" } } },
	{ "ip4set exclusions and overlaps (as rbldnsd 1.0 answers)", ZONE_IP4SET,
	  ":3:default $\n"
	  "1.2.3.4-10\n"
	  "1.3.0.0-1.3.0.255\n"
	  "1.5.20.7\n"
	  "!1.5.20.8\n"
	  "1.6.0.0/16\n"
	  "!1.6.7.0/24\n"
	  "1.6.7.9 :9:back\n"
	  "!1.7.0.0/16\n"
	  "1.7.0.0/16 :8:listed\n"
	  "1.8.0.0/16 :8:one\n"
	  "1.8.0.0/16 :9:two\n"
	  "  1.9.0.1\ttabbed\n"
	  "! 1.10.0.1 :5:value ignored\n"
	  "1.10.0.0/24\n",
	  { { "1.2.3.4", "127.0.0.3", "default 1.2.3.4" },
	    { "1.2.3.10", "127.0.0.3", "default 1.2.3.10" },
	    { "1.2.3.3" }, { "1.2.3.11" },
	    { "1.3.0.0", "127.0.0.3", "default 1.3.0.0" },
	    { "1.3.0.255", "127.0.0.3", "default 1.3.0.255" }, { "1.3.1.0" },
	    { "1.5.20.7", "127.0.0.3", "default 1.5.20.7" }, { "1.5.20.8" },
	    { "1.6.1.1", "127.0.0.3", "default 1.6.1.1" },
	    { "1.6.7.1" }, { "1.6.7.255" },
	    { "1.6.7.9", "127.0.0.9", "back" },
	    { "1.6.8.0", "127.0.0.3", "default 1.6.8.0" },
	    { "1.7.0.1" }, { "1.7.255.255" },
	    { "1.8.0.1", "127.0.0.8", "one" },
	    { "1.9.0.1", "127.0.0.3", "tabbed" },
	    { "1.10.0.1" },
	    { "1.10.0.2", "127.0.0.3", "default 1.10.0.2" } } },
	{ "ip4set: a /32 exclusion does not reach a wider listing's other levels", ZONE_IP4SET,
	  "10.0.0.0/8 :2:wide\n"
	  "!10.1.0.0/16\n"
	  "10.1.2.0/24 :3:deep\n"
	  "!10.1.2.3\n"
	  "0.0.0.0-0.255.255.255\n",
	  { { "10.0.0.1", "127.0.0.2", "wide" }, { "10.1.0.1" }, { "10.1.2.2", "127.0.0.3", "deep" },
	    { "10.1.2.3" }, { "10.1.3.0" }, { "10.2.0.0", "127.0.0.2", "wide" },
	    { "0.0.0.0", "127.0.0.2", NULL }, { "0.255.255.255", "127.0.0.2", NULL },
	    { "1.0.0.0" } } },
	{ "ip4set: the whole address space and its ends", ZONE_IP4SET,
	  "0.0.0.0-255.255.255.255 :4:all\n"
	  "!255.255.255.255\n"
	  "!0.0.0.0\n",
	  { { "0.0.0.0" }, { "0.0.0.1", "127.0.0.4", "all" }, { "255.255.255.254", "127.0.0.4", "all" },
	    { "255.255.255.255" }, { "128.0.0.0", "127.0.0.4", "all" } } },
	{ "ip4set: special lines with #$ ;$ :$, first $n wins", ZONE_IP4SET,
	  "#$1 hash-special\n"
	  ";$2 semi-special\n"
	  ":$3 colon-special\n"
	  "$1 second definition ignored\n"
	  "1.11.0.1 $1 $2 $3 $4\n"
	  "$4 defined after use\n",
	  { { "1.11.0.1", "127.0.0.2", "hash-special semi-special colon-special defined after use" } } },
	{ "ip4trie: longest prefix, exclusions, first duplicate (as rbldnsd 1.0)", ZONE_IP4TRIE,
	  "0/0 :3:all $\n"
	  "10.0.0.0/8 :4:ten\n"
	  "!10.1.0.0/16\n"
	  "10.1.2.0/24 :5:deep\n"
	  "10.2.0.0/16 :7:first\n"
	  "1.2.3\n"
	  "10.3.0.0/17\n"
	  "10.3.0.0/18 :6:eighteen\n"
	  "!10.3.0.128/25\n"
	  "10.3.0.192/26 :8:sixty-four\n"
	  "10.3.4.5/32 :9:host\n",
	  { { "1.1.1.1", "127.0.0.3", "all 1.1.1.1" },
	    { "10.0.1.1", "127.0.0.4", "ten" },
	    { "10.1.5.5" }, { "10.1.2.200", "127.0.0.5", "deep" },
	    { "10.2.0.1", "127.0.0.7", "first" },
	    { "1.2.3.9", "127.0.0.2", NULL }, { "1.2.4.9", "127.0.0.3", "all 1.2.4.9" },
	    { "10.3.0.1", "127.0.0.6", "eighteen" },
	    { "10.3.0.129" }, { "10.3.0.200", "127.0.0.8", "sixty-four" },
	    { "10.3.64.1", "127.0.0.2", NULL }, { "10.3.127.255", "127.0.0.2", NULL },
	    { "10.3.128.0", "127.0.0.4", "ten" },
	    { "10.3.4.5", "127.0.0.9", "host" }, { "10.3.4.6", "127.0.0.6", "eighteen" } } },
	{ "manual: dnset wildcards (as rbldnsd 1.0 answers)", ZONE_DNSET,
	  ":2:Domain $ listed\n"
	  "example.com\n"
	  "*.wild.example\n"
	  ".both.example :3:both $\n"
	  "!ex.both.example\n"
	  "Upper.Example. :4\n",
	  { { "example.com", "127.0.0.2", "Domain example.com listed" },
	    { "EXAMPLE.COM", "127.0.0.2", "Domain example.com listed" },
	    { "example.com.", "127.0.0.2", "Domain example.com listed" },
	    { "a.example.com" }, { "com" },
	    { "a.wild.example", "127.0.0.2", "Domain wild.example listed" },
	    { "x.y.Wild.Example.", "127.0.0.2", "Domain wild.example listed" },
	    { "wild.example" },
	    { "both.example", "127.0.0.3", "both both.example" },
	    { "x.y.both.example", "127.0.0.3", "both both.example" },
	    { "ex.both.example" },
	    { "z.ex.both.example", "127.0.0.3", "both both.example" },
	    { "upper.example", "127.0.0.4", "Domain upper.example listed" },
	    { "a.upper.example" } } },
	{ "dnset: nearest wildcard parent decides, exclusions", ZONE_DNSET,
	  ".example.org :2:org\n"
	  "*.sub.example.org :3:sub\n"
	  "!*.clean.example.org\n"
	  "!exact.example.org\n"
	  "exact.example.org :5:listed and excluded\n"
	  "dup.example.net :6:first\n"
	  "dup.example.net :7:second\n"
	  "*.dup.example.net :8:wild\n",
	  { { "example.org", "127.0.0.2", "org" }, { "a.example.org", "127.0.0.2", "org" },
	    { "sub.example.org", "127.0.0.2", "org" }, { "a.sub.example.org", "127.0.0.3", "sub" },
	    { "clean.example.org", "127.0.0.2", "org" }, { "x.clean.example.org" },
	    { "a.b.clean.example.org" }, { "exact.example.org" },
	    { "a.exact.example.org", "127.0.0.2", "org" },
	    { "dup.example.net", "127.0.0.6", "first" },
	    { "x.dup.example.net", "127.0.0.8", "wild" },
	    { "example.net" }, { "" }, { "." }, { "bad name.example.org" } } },
	{ "dnset: names as rbldnsd reads them", ZONE_DNSET,
	  "a..b.example\n"
	  "*\n"
	  "under_score.example\n"
	  "xn--bcher-kva.example\n",
	  { { "a.b.example", "127.0.0.2", NULL }, { "a..b.example", "127.0.0.2", NULL },
	    { "*", "127.0.0.2", NULL }, { "x.under_score.example" },
	    { "under_score.example", "127.0.0.2", NULL },
	    { "XN--BCHER-KVA.example", "127.0.0.2", NULL } } },
	{ "CRLF line ends, control bytes in TXT", ZONE_IP4SET,
	  "1.2.3.4 :2:crlf\r\n"
	  "1.2.3.5 :2:tab\tand\x01" "ctl\n",
	  { { "1.2.3.4", "127.0.0.2", "crlf" }, { "1.2.3.5", "127.0.0.2", "tab and?ctl" } } },
};

static void table(void **state)
{
	struct warnings w;
	(void)state;

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct zone *z = load(cases[i].type, cases[i].text, &w);
		no_warnings(&w, cases[i].name);
		expect_all(z, cases[i].q, cases[i].name);
		zone_free(&z);
	}
}

struct badline {
	enum zone_type type;
	const char *line, *why;
};

static const struct badline bad_lines[] = {
	{ ZONE_IP4SET, "1.2.3.256", "octet is over 255" },
	{ ZONE_IP4SET, "1.2.3.4/33", "prefix length must be 0 to 32" },
	{ ZONE_IP4SET, "1.2.3.0/", "prefix length must be 0 to 32" },
	{ ZONE_IP4SET, "1.2.3.4/24", "bits set beyond the prefix length" },
	{ ZONE_IP4SET, "10", "a bare number" },
	{ ZONE_IP4SET, "10 :2:txt", "a bare number" },
	{ ZONE_IP4SET, "1.2.3.4-1.2.3.1", "the start is after the end" },
	{ ZONE_IP4SET, "1.2.3.9-5", "the start is after the end" },
	{ ZONE_IP4SET, "1.2.3.4x", "invalid address: 1.2.3.4x" },
	{ ZONE_IP4SET, "1.2.3.4.5", "invalid address" },
	{ ZONE_IP4SET, "0.0.0.0/0", "/0 is not allowed in ip4set" },
	{ ZONE_IP4SET, "1.2.3.", "a number was expected" },
	{ ZONE_IP4SET, "example.com", "a number was expected" },
	{ ZONE_IP4SET, "!1.2.3.x", "a number was expected" },
	{ ZONE_IP4SET, "1.2.3.4 :0:zero", "invalid A value" },
	{ ZONE_IP4SET, "1.2.3.4 :x", "invalid A value" },
	{ ZONE_IP4SET, "1.2.3.4 :256", "invalid A value" },
	{ ZONE_IP4SET, "1.2.3.4 :1.2.3.4.5", "unrecognized value after the A value" },
	{ ZONE_IP4SET, "1.2.3.4 :2 # comment", "unrecognized value after the A value" },
	{ ZONE_IP4SET, ":0:bad default", "invalid A value" },
	{ ZONE_IP4SET, ":", "invalid A value" },
	{ ZONE_IP4SET, "$FOO bar", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$SOA bad", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$SOA 1h ns.example hostmaster.example 1 2h 1h 1w", "invalid or unrecognized" },
	{ ZONE_IP4SET, "$NS 1h", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$NS 1x ns.example", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TTL 1x", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TTL 99999999999", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TTL 1h 2h", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TTL", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$1", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$12 two digits", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$MAXRANGE4 /33", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$MAXRANGE4 0", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$MAXRANGE4 -5", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TIMESTAMP 2020:13:01", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TIMESTAMP 2021:02:29", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TIMESTAMP 2020:01:01 +0", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$TIMESTAMP 2020:01:01 junk", "invalid or unrecognized special entry" },
	{ ZONE_IP4SET, "$DATASET ip4set x @", "invalid or unrecognized special entry" },
	{ ZONE_IP4TRIE, "1.2.3.4-5", "not a-b ranges" },
	{ ZONE_IP4TRIE, "1.2.3.4/24", "bits set beyond the prefix length" },
	{ ZONE_IP4TRIE, "10", "a bare number" },
	/* the manual's ip6trie lines: IPv6 is not read (never listed) */
	{ ZONE_IP4TRIE, "2001:db8::/32", "invalid address" },
	{ ZONE_IP4TRIE, "2001:21ab:def7:4242 :127.0.1.3: This one smells funny", "invalid address" },
	{ ZONE_IP4TRIE, "::1		       # localhost", "invalid A value" }, /* a default line */
	{ ZONE_IP4TRIE, "!2605:6001:42::bead   # exclusion", "invalid address" },
	{ ZONE_IP4TRIE, "1.2.3.0/24 :2 x", "unrecognized value after the A value" },
	{ ZONE_DNSET, "*.", "invalid domain name: empty" },
	{ ZONE_DNSET, ".", "invalid domain name: empty" },
	{ ZONE_DNSET, "!", "invalid domain name: empty" },
	{ ZONE_DNSET, "a\\065b.example", "backslash escapes are not supported" },
	{ ZONE_DNSET, "example.com :x", "invalid A value" },
	{ ZONE_DNSET, "example.com :2 y", "unrecognized value after the A value" },
};

static void expect_one_warning(const struct warnings *w, unsigned line, const char *why,
			       const char *where)
{
	char prefix[32];

	snprintf(prefix, sizeof(prefix), "t.zone:%u: ", line);
	if (w->n != 1)
		fail_msg("%s: %zu warnings, want 1 (%s)", where, w->n, w->n ? w->msg[0] : "-");
	if (strncmp(w->msg[0], prefix, strlen(prefix)) != 0 || strstr(w->msg[0], why) == NULL)
		fail_msg("%s: warning \"%s\", want \"%s...%s\"", where, w->msg[0], prefix, why);
}

static void bad_lines_skipped(void **state)
{
	struct warnings w;
	(void)state;

	for (size_t i = 0; i < N_ELEMENTS(bad_lines); i++) {
		const struct badline *b = &bad_lines[i];
		bool dn = b->type == ZONE_DNSET;
		char text[512];

		snprintf(text, sizeof(text), "# before\n%s\n%s\n%s\n",
			 dn ? "a.example" : "1.1.1.1", b->line, dn ? "b.example" : "2.2.2.2");
		struct zone *z = load(b->type, text, &w);
		expect_one_warning(&w, 3, b->why, b->line);
		assert_int_equal(zone_bad_lines(z), 1);
		assert_int_equal(zone_entries(z), 2);
		expect(z, &(struct q){ dn ? "a.example" : "1.1.1.1", "127.0.0.2", NULL }, b->line);
		expect(z, &(struct q){ dn ? "b.example" : "2.2.2.2", "127.0.0.2", NULL }, b->line);
		zone_free(&z);
	}
}

static void bad_names_and_lines(void **state)
{
	struct warnings w;
	char text[8192];
	char label[70], name[300];
	(void)state;

	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(text, sizeof(text), "%s.example\nok.example\n", label);
	struct zone *z = load(ZONE_DNSET, text, &w);
	expect_one_warning(&w, 1, "a label is longer than 63 bytes", "long label");
	label[63] = '\0';
	zone_free(&z);
	snprintf(text, sizeof(text), "%s.example\n", label);
	z = load(ZONE_DNSET, text, &w);
	no_warnings(&w, "63-byte label");
	snprintf(name, sizeof(name), "x.%s.EXAMPLE", label);
	expect(z, &(struct q){ name + 2, "127.0.0.2", NULL }, "63-byte label");
	expect(z, &(struct q){ name }, "63-byte label");
	zone_free(&z);

	/* 4 * 63 + 3 dots = 255 > 253 */
	snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label, label);
	snprintf(text, sizeof(text), "%s\n", name);
	z = load(ZONE_DNSET, text, &w);
	expect_one_warning(&w, 1, "longer than 253 bytes", "long name");
	expect(z, &(struct q){ name }, "long name");
	zone_free(&z);

	/* a line over ZONE_LINE_MAX, a NUL byte: reported, the rest loads */
	memset(text, 0, sizeof(text));
	memcpy(text, "1.1.1.1\n", 8);
	memset(text + 8, '#', ZONE_LINE_MAX + 1);
	memcpy(text + 8 + ZONE_LINE_MAX + 1, "\n2.2.2.2\n", 10);
	z = load(ZONE_IP4SET, text, &w);
	expect_one_warning(&w, 2, "line longer than 4096 bytes", "long line");
	expect(z, &(struct q){ "2.2.2.2", "127.0.0.2", NULL }, "long line");
	zone_free(&z);

	static const char nul[] = "1.1.1.1\n3.3.3.3 :2:a\0b\n2.2.2.2\n";
	const char *error;
	memset(&w, 0, sizeof(w));
	z = zone_load_data("t", ZONE_IP4SET, "t.zone", nul, sizeof(nul) - 1, collect, &w, &error);
	assert_non_null(z);
	expect_one_warning(&w, 2, "NUL byte", "NUL");
	expect(z, &(struct q){ "3.3.3.3" }, "NUL");
	expect(z, &(struct q){ "2.2.2.2", "127.0.0.2", NULL }, "NUL");
	zone_free(&z);

	/* the duplicate of an ip4trie prefix is reported on its own line */
	z = load(ZONE_IP4TRIE, "10.2.0.0/16 :7:first\n# x\n10.2.0.0/16 :8:second\n", &w);
	expect_one_warning(&w, 3, "duplicated entry for 10.2.0.0/16 (line 1 is used)", "dup");
	expect(z, &(struct q){ "10.2.3.4", "127.0.0.7", "first" }, "dup");
	zone_free(&z);
}

static void warnings_capped(void **state)
{
	struct warnings w;
	struct buf_like { char *p; size_t n; } t = { xmalloc(300 * 16), 0 };
	(void)state;

	for (int i = 0; i < 300; i++)
		t.n += (size_t)snprintf(t.p + t.n, 16, "bad%d\n", i);
	t.p[t.n] = '\0';
	struct zone *z = load(ZONE_IP4SET, t.p, &w);
	assert_int_equal(w.n, ZONE_WARN_MAX + 1);
	assert_string_equal(w.msg[ZONE_WARN_MAX], "t.zone: 200 more warnings not shown");
	assert_int_equal(zone_bad_lines(z), 300);
	zone_free(&z);
	free(t.p);
}

static void specials(void **state)
{
	struct warnings w;
	(void)state;

	/* valid specials load quietly; only the first $SOA/$NS count */
	struct zone *z = load(ZONE_IP4SET,
			      "$SOA 1h ns1.ex.com admin.ex.com 0 2h 2h 1w 1h\n"
			      "$SOA anything at all\n"
			      "$soa 0 ns1.ex.com. admin.ex.com. 4294967295 1W 1D 1H 60S\n"
			      "$NS 1w ns1.ex.com ns2.ex.com -ns3.ex.com\n"
			      "$NS junk here\n"
			      "$nameserver 0 ns1.ex.com\n"
			      "$TTL 35m\n"
			      "$TTL 0\n"
			      "$ttl 3600\n"
			      "$TIMESTAMP 2005:01:02\n"
			      "$TIMESTAMP 2005-01-02-03-04-05 0\n"
			      "$TIMESTAMP - -\n"
			      "$0 zero\n"
			      "1.2.3.4 $0\n", &w);
	no_warnings(&w, "specials");
	assert_int_equal(zone_expires(z), 0);
	expect(z, &(struct q){ "1.2.3.4", "127.0.0.2", "zero" }, "specials");
	zone_free(&z);
}

/* $MAXRANGE4: larger ranges are skipped; it can shrink, not grow */
static void maxrange(void **state)
{
	struct warnings w;
	(void)state;

	struct zone *z = load(ZONE_IP4SET,
		 "$MAXRANGE4 /16\n"
		 "1.12.0.0/15\n"
		 "1.13.0.0/16\n"
		 "$MAXRANGE4 /8\n"
		 "1.14.0.0/15\n"
		 "$MAXRANGE4 256\n"
		 "1.15.0.0-1.15.1.0\n"
		 "1.16.0.0/24\n", &w);
	assert_int_equal(w.n, 4);
	assert_non_null(strstr(w.msg[0], "t.zone:2: range of 131072 addresses is over $MAXRANGE4 (65536)"));
	assert_non_null(strstr(w.msg[1], "t.zone:4: $MAXRANGE4 cannot grow"));
	assert_non_null(strstr(w.msg[2], "t.zone:5: range of 131072"));
	assert_non_null(strstr(w.msg[3], "t.zone:7: range of 257"));
	assert_int_equal(zone_bad_lines(z), 3);
	expect(z, &(struct q){ "1.12.0.1" }, "maxrange");
	expect(z, &(struct q){ "1.13.0.1", "127.0.0.2", NULL }, "maxrange");
	expect(z, &(struct q){ "1.16.0.1", "127.0.0.2", NULL }, "maxrange");
	zone_free(&z);

	z = load(ZONE_IP4TRIE, "$MAXRANGE4 /24\n10.0.0.0/23\n10.0.2.0/24\n!10.0.2.0/25\n", &w);
	assert_int_equal(w.n, 1);
	expect(z, &(struct q){ "10.0.0.1" }, "maxrange trie");
	expect(z, &(struct q){ "10.0.2.1" }, "maxrange trie");
	expect(z, &(struct q){ "10.0.2.200", "127.0.0.2", NULL }, "maxrange trie");
	zone_free(&z);
}

/* an expired zone lists nothing; a future one does not load */
static void timestamp(void **state)
{
	struct warnings w;
	(void)state;

	struct zone *z = load(ZONE_IP4SET, "$TIMESTAMP 2001:01:01 +1d\n1.2.3.4\n", &w);
	no_warnings(&w, "expired");
	assert_int_equal(zone_expires(z), 978307200 + 86400);
	expect(z, &(struct q){ "1.2.3.4" }, "expired");
	zone_free(&z);
	z = load(ZONE_IP4SET, "$TIMESTAMP 2001:01:01 2999:12:31:23:59:59\n1.2.3.4\n", &w);
	expect(z, &(struct q){ "1.2.3.4", "127.0.0.2", NULL }, "expires later");
	zone_free(&z);

	const char *error = NULL;
	static const char future[] = "1.2.3.4\n$TIMESTAMP 2999:01:01\n5.6.7.8\n";
	z = zone_load_data("t", ZONE_IP4SET, "t.zone", future, sizeof(future) - 1, NULL, NULL,
			   &error);
	assert_null(z);
	assert_string_equal(error, "t.zone:2: $TIMESTAMP lies in the future: the data is not loaded");
}

/* a TXT over 255 bytes is cut (and said so) but loads */
static void long_txt(void **state)
{
	struct warnings w;
	struct zone *z;
	char text[1024], txt[400];
	(void)state;

	memset(txt, 'x', 300);
	txt[300] = '\0';
	snprintf(text, sizeof(text), "1.2.3.4 :2:%s\n1.2.3.5 $0$0\n$0 %s\n", txt, txt);
	z = load(ZONE_IP4SET, text, &w);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.msg[0], "t.zone:1: TXT longer than 255 bytes, cut"));
	assert_int_equal(zone_bad_lines(z), 0);
	struct zone_result r;
	assert_int_equal(zone_lookup_ipv4(z, 0x01020304, &r), 1);
	assert_int_equal(strlen(r.txt), ZONE_TXT_MAX);
	assert_int_equal(zone_lookup_ipv4(z, 0x01020305, &r), 1);
	assert_int_equal(strlen(r.txt), ZONE_TXT_MAX);
	zone_free(&z);
}

static void lookups_and_api(void **state)
{
	struct warnings w;
	struct net_addr a;
	struct zone_result r;
	enum zone_type t;
	(void)state;

	assert_int_equal(zone_type_parse("ip4set", &t), 0);
	assert_int_equal(t, ZONE_IP4SET);
	assert_int_equal(zone_type_parse("IP4Trie", &t), 0);
	assert_int_equal(t, ZONE_IP4TRIE);
	assert_int_equal(zone_type_parse("dnset", &t), 0);
	assert_int_equal(t, ZONE_DNSET);
	assert_int_equal(zone_type_parse("ip6trie", &t), -1);
	assert_int_equal(zone_type_parse("", &t), -1);
	assert_string_equal(zone_type_name(ZONE_IP4TRIE), "ip4trie");

	struct zone *z = load(ZONE_IP4SET, ":2:ip $\n192.0.2.0/24\n", &w);
	assert_string_equal(zone_name(z), "t");
	assert_int_equal(zone_get_type(z), ZONE_IP4SET);
	assert_true(zone_memory(z) > 0);
	/* IPv4, IPv4-mapped IPv6, IPv6 */
	assert_int_equal(net_ip_parse("192.0.2.7", &a), 0);
	assert_int_equal(zone_lookup_ip(z, &a, &r), 1);
	assert_string_equal(r.txt, "ip 192.0.2.7");
	assert_true(r.a == 0x7f000002);
	assert_int_equal(net_ip_parse("::ffff:192.0.2.8", &a), 0);
	assert_int_equal(zone_lookup_ip(z, &a, &r), 1);
	assert_string_equal(r.txt, "ip 192.0.2.8");
	assert_int_equal(net_ip_parse("2001:db8::1", &a), 0);
	assert_int_equal(zone_lookup_ip(z, &a, &r), 0);
	/* a name in an IP zone, an IP in a name zone */
	assert_int_equal(zone_lookup_name(z, "192.0.2.7", &r), 0);
	zone_free(&z);
	zone_free(&z);

	z = load(ZONE_DNSET, "192.0.2.7\n", &w);
	assert_int_equal(zone_lookup_ipv4(z, 0xc0000207, &r), 0);
	assert_int_equal(zone_lookup_name(z, "192.0.2.7", NULL), 1);
	zone_free(&z);

	/* empty zones */
	z = load(ZONE_IP4TRIE, "", &w);
	assert_int_equal(zone_entries(z), 0);
	assert_int_equal(zone_lookup_ipv4(z, 0, &r), 0);
	zone_free(&z);
	z = load(ZONE_DNSET, "# nothing\n", &w);
	assert_int_equal(zone_lookup_name(z, "example.com", &r), 0);
	zone_free(&z);
	assert_int_equal(zone_lookup_ipv4(NULL, 0, &r), 0);
}

static void files(void **state)
{
	char dir[] = "/tmp/test-zone-XXXXXX";
	char path[300];
	const char *error = NULL;
	struct warnings w;
	struct zone *z;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing", dir);
	z = zone_load("bl", ZONE_IP4SET, path, NULL, NULL, &error);
	assert_null(z);
	assert_non_null(strstr(error, "missing: cannot open: No such file or directory"));

	z = zone_load("bl", ZONE_IP4SET, dir, NULL, NULL, &error);
	assert_null(z);
	assert_non_null(strstr(error, "not a regular file"));

	/* lines across read chunks, a long line, no newline at the end */
	snprintf(path, sizeof(path), "%s/bl.ip4set", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(":3:listed $\n", f);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "10.%d.%d.%d\n", i >> 16, (i >> 8) & 255, i & 255);
	for (int i = 0; i < ZONE_LINE_MAX + 10; i++)
		fputc('#', f);
	fputs("\nbad\n1.2.3.4", f);
	fclose(f);
	memset(&w, 0, sizeof(w));
	z = zone_load("bl", ZONE_IP4SET, path, collect, &w, &error);
	if (z == NULL)
		fail_msg("%s", error);
	assert_int_equal(w.n, 2);
	assert_non_null(strstr(w.msg[0], "bl.ip4set:20002: line longer than 4096 bytes"));
	assert_non_null(strstr(w.msg[1], "bl.ip4set:20003: invalid address: a number was expected: bad"));
	assert_int_equal(zone_entries(z), 20001);
	for (int i = 0; i < 20000; i += 7)
		assert_int_equal(zone_lookup_ipv4(z, 0x0a000000u + (uint32_t)i, NULL), 1);
	assert_int_equal(zone_lookup_ipv4(z, 0x0a000000u + 20000, NULL), 0);
	struct zone_result r;
	assert_int_equal(zone_lookup_ipv4(z, 0x01020304, &r), 1);
	assert_string_equal(r.txt, "listed 1.2.3.4");
	assert_string_equal(r.a_text, "127.0.0.3");
	zone_free(&z);

	/* rbldnsd reads gzip files; ombu says so instead of a screen of bad lines */
	f = fopen(path, "w");
	fputs("\x1f\x8b\x08\x00 compressed", f);
	fclose(f);
	z = zone_load("bl", ZONE_IP4SET, path, NULL, NULL, &error);
	assert_null(z);
	assert_non_null(strstr(error, "bl.ip4set: the file is gzip-compressed; decompress it first"));
	z = zone_load_data("bl", ZONE_IP4SET, "x.gz", "\x1f\x8b\x08", 3, NULL, NULL, &error);
	assert_null(z);
	assert_string_equal(error, "x.gz: the file is gzip-compressed; decompress it first");
	unlink(path);
	rmdir(dir);
}

/* A direct reading of rbldnsd's rules, entry by entry, to compare the
 * range table with on random data. */
struct ref_entry {
	uint32_t lo, hi; /* ip4set: the range; ip4trie: the prefix */
	unsigned plen;
	int value;       /* -1: exclusion */
};

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) ^ (rnd_state << 13);
}

/* ip4set: the block of level plen that holds ip is one of the range's
 * blocks when it lies inside the range and its parent does not (rbldnsd
 * cuts a range into the largest whole octet-level blocks). */
static bool ref_set_block(const struct ref_entry *e, uint32_t ip, unsigned plen)
{
	uint32_t mask = ~0u << (32 - plen);
	uint64_t lo = ip & mask, hi = (uint64_t)lo + (~mask);

	if (lo < e->lo || hi > e->hi)
		return false;
	if (plen == 8)
		return true;
	uint32_t pmask = ~0u << (32 - (plen - 8));
	uint64_t plo = ip & pmask, phi = (uint64_t)plo + (~pmask);
	return !(plo >= e->lo && phi <= e->hi);
}

static int ref_lookup(enum zone_type type, const struct ref_entry *e, size_t n, uint32_t ip)
{
	if (type == ZONE_IP4SET) {
		for (unsigned plen = 32; plen >= 8; plen -= 8) {
			int first = -2;
			for (size_t i = 0; i < n; i++) {
				if (!ref_set_block(&e[i], ip, plen))
					continue;
				if (e[i].value < 0)
					return -1;
				if (first == -2)
					first = e[i].value;
			}
			if (first != -2)
				return first;
		}
		return -1;
	}
	int best = -1, best_plen = -1;
	for (size_t i = 0; i < n; i++) {
		if (ip >= e[i].lo && ip <= e[i].hi && (int)e[i].plen > best_plen) {
			best_plen = (int)e[i].plen;
			best = e[i].value;
		}
	}
	return best;
}

static void random_against_reference(void **state)
{
	enum { Q = 3000, BIG = 5000 };
	struct ref_entry *e = xmalloc(BIG * sizeof(*e));
	struct warnings w;
	char *text = xmalloc(BIG * 64);
	(void)state;

	/* the last two rounds are big enough for the top-16-bit index */
	for (int round = 0; round < 42; round++) {
		enum zone_type type = round % 2 ? ZONE_IP4TRIE : ZONE_IP4SET;
		int N = round < 40 ? 300 : BIG;
		/* 10.0.0.0/14 so that entries overlap; all of 10/8 for the big ones */
		uint32_t space = N == BIG ? 0xffffff : 0x3ffff;
		size_t len = 0, n = 0;

		rnd_state = (uint32_t)round * 7919u + 1;
		for (int i = 0; i < N; i++) {
			uint32_t a = 0x0a000000u | (rnd() & space);
			unsigned plen = (N == BIG ? 20 : 14) + rnd() % (N == BIG ? 13 : 19);
			bool excl = rnd() % 4 == 0;
			struct ref_entry *r = &e[n];
			char ip[16], ip2[16];

			if (type == ZONE_IP4SET && rnd() % 2) {
				uint32_t b = a + rnd() % 70000;
				if (b > (0x0a000000u | space))
					b = 0x0a000000u | space;
				r->lo = a;
				r->hi = b;
				snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
					 (a >> 8) & 255, a & 255);
				snprintf(ip2, sizeof(ip2), "%u.%u.%u.%u", b >> 24, (b >> 16) & 255,
					 (b >> 8) & 255, b & 255);
				len += (size_t)snprintf(text + len, 64, "%s%s-%s", excl ? "!" : "", ip, ip2);
			} else {
				a &= ~0u << (32 - plen);
				r->lo = a;
				r->hi = a | ~(~0u << (32 - plen));
				snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
					 (a >> 8) & 255, a & 255);
				len += (size_t)snprintf(text + len, 64, "%s%s/%u", excl ? "!" : "", ip, plen);
			}
			r->plen = plen;
			r->value = excl ? -1 : i;
			len += (size_t)snprintf(text + len, 64, excl ? "\n" : " :%d:v%d\n", i % 250 + 1, i);
			/* ip4trie: the second of two equal prefixes is dropped */
			bool dup = false;
			for (size_t j = 0; j < n && type == ZONE_IP4TRIE; j++)
				dup |= e[j].lo == r->lo && e[j].plen == r->plen;
			if (!dup)
				n++;
		}
		struct zone *z = load(type, text, &w);
		int listed = 0;
		if (type == ZONE_IP4SET)
			no_warnings(&w, "random");
		for (int i = 0; i < Q; i++) {
			uint32_t ip = (0x0a000000u | (rnd() & space)) + (i % 3 == 0 ? rnd() % 3 : 0);
			int want = ref_lookup(type, e, n, ip);
			struct zone_result r;
			int got = zone_lookup_ipv4(z, ip, &r);
			char txt[16];
			snprintf(txt, sizeof(txt), "v%d", want);
			if (got != (want >= 0) || (got && strcmp(r.txt, txt) != 0))
				fail_msg("round %d (%s): %08x: got %d %s, want %d", round,
					 zone_type_name(type), ip, got, got ? r.txt : "", want);
			listed += got;
		}
		/* the data must test both answers */
		if (listed < Q / 20 || listed > Q - Q / 20)
			fail_msg("round %d: %d of %d listed", round, listed, Q);
		if (N == BIG)
			assert_true(zone_memory(z) > 65536 * 4);
		zone_free(&z);
	}
	free(text);
	free(e);
}

static int ref_rec_cmp(const void *pa, const void *pb)
{
	const struct zone_ip4_rec *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* The in-place sort (introsort, and its heapsort fallback) on orders
 * that break naive quicksorts, against qsort(). */
static void sort_orders(void **state)
{
	enum { N = 5000 };
	struct zone_ip4_rec *orig = xmalloc(N * sizeof(*orig));
	struct zone_ip4_rec *a = xmalloc(N * sizeof(*a)), *b = xmalloc(N * sizeof(*b));
	(void)state;

	for (int pattern = 0; pattern < 6; pattern++) {
		for (uint32_t i = 0; i < N; i++) {
			uint32_t k = pattern == 0 ? i : pattern == 1 ? N - i :
				     pattern == 2 ? (i < N / 2 ? i : N - i) : /* organ pipe */
				     pattern == 3 ? i % 7 :                   /* many equal */
				     pattern == 4 ? 42 : rnd() % 1000;
			orig[i] = (struct zone_ip4_rec){ k << 8, i, N - i, (uint8_t)(24 + k % 3) };
		}
		for (unsigned depth = 0; depth <= 64; depth += 64) {
			memcpy(b, orig, N * sizeof(*b));
			zone_ip4_sort(b, N, ZONE_IP4TRIE, depth);
			memcpy(a, orig, N * sizeof(*a));
			qsort(a, N, sizeof(*a), ref_rec_cmp);
			for (uint32_t i = 0; i < N; i++)
				if (ref_rec_cmp(&a[i], &b[i]) != 0)
					fail_msg("pattern %d depth %u: differs at %u", pattern, depth, i);
		}
	}
	free(orig);
	free(a);
	free(b);
}

/* A loaded zone is shared by a worker's threads without locks. */
struct shared {
	const struct zone *ip, *dn;
	const int *want_ip, *want_dn;
	int bad;
};

static void *reader(void *arg)
{
	struct shared *sh = arg;
	struct zone_result r;
	char name[32];

	for (int round = 0; round < 20; round++) {
		for (uint32_t i = 0; i < 4096; i++) {
			uint32_t ip = 0x0a000000u | (i << 8) | (i & 255);
			if (zone_lookup_ipv4(sh->ip, ip, &r) != sh->want_ip[i] ||
			    (sh->want_ip[i] && atoi(r.txt) != (int)(i % 7)))
				__atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
			snprintf(name, sizeof(name), "h%u.d%u.example", i, i % 50);
			if (zone_lookup_name(sh->dn, name, &r) != sh->want_dn[i])
				__atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void threads_share_a_zone(void **state)
{
	static int want_ip[4096], want_dn[4096];
	struct warnings w;
	char *text = xmalloc(4096 * 48);
	size_t len = 0;
	pthread_t t[4];
	(void)state;

	for (uint32_t i = 0; i < 4096; i += 3)
		len += (size_t)snprintf(text + len, 48, "10.%u.%u.0/24 :2:%u\n", i >> 8, i & 255, i % 7);
	struct zone *ip = load(ZONE_IP4SET, text, &w);
	len = 0;
	for (uint32_t i = 0; i < 50; i += 2)
		len += (size_t)snprintf(text + len, 48, "*.d%u.example\n", i);
	struct zone *dn = load(ZONE_DNSET, text, &w);
	for (uint32_t i = 0; i < 4096; i++) {
		want_ip[i] = i % 3 == 0;
		want_dn[i] = i % 50 % 2 == 0;
	}
	struct shared sh = { ip, dn, want_ip, want_dn, 0 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, &sh), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(sh.bad, 0);
	zone_free(&ip);
	zone_free(&dn);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ip4set_manual_forms),
		cmocka_unit_test(table),
		cmocka_unit_test(bad_lines_skipped),
		cmocka_unit_test(bad_names_and_lines),
		cmocka_unit_test(warnings_capped),
		cmocka_unit_test(specials),
		cmocka_unit_test(maxrange),
		cmocka_unit_test(timestamp),
		cmocka_unit_test(long_txt),
		cmocka_unit_test(lookups_and_api),
		cmocka_unit_test(files),
		cmocka_unit_test(random_against_reference),
		cmocka_unit_test(sort_orders),
		cmocka_unit_test(threads_share_a_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
