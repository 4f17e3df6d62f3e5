/*
 * src/proto SMTP codec: address helpers (split, normalize, compare,
 * write, "is plain") and the xtext helpers of ESMTP parameters.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/smtp-proto.h"

#include <string.h>

struct addr_case {
	const char *path;  /* with brackets */
	unsigned pflags;   /* SMTP_ADDRESS_PARSE_* */
	int ret;
	const char *local, *domain;
	unsigned flags;
	bool plain;
	const char *written; /* smtp_address_write_path() */
};

#define U SMTP_ADDRESS_PARSE_UTF8
#define NULLOK SMTP_ADDRESS_PARSE_ALLOW_NULL
#define PM SMTP_ADDRESS_PARSE_POSTMASTER

static const struct addr_case addr_cases[] = {
	{ "<user@example.com>", 0, 0, "user", "example.com", 0, true, "<user@example.com>" },
	{ "<User.Name+tag@Example.COM>", 0, 0, "User.Name+tag", "Example.COM", 0, true,
	  "<User.Name+tag@Example.COM>" },
	{ "<user@localhost>", 0, 0, "user", "localhost", SMTP_ADDRESS_F_DOTLESS, false,
	  "<user@localhost>" },
	/* the relay tricks, one flag each */
	{ "<user%other.example@local.example>", 0, 0, "user%other.example", "local.example",
	  SMTP_ADDRESS_F_LOCAL_PERCENT, false, "<user%other.example@local.example>" },
	{ "<other.example!user@local.example>", 0, 0, "other.example!user", "local.example",
	  SMTP_ADDRESS_F_LOCAL_BANG, false, "<other.example!user@local.example>" },
	{ "<@local.example:user@other.example>", 0, 0, "user", "other.example",
	  SMTP_ADDRESS_F_SOURCE_ROUTE, false, "<user@other.example>" },
	{ "<@a.example,@b.example:user@other.example>", 0, 0, "user", "other.example",
	  SMTP_ADDRESS_F_SOURCE_ROUTE, false, "<user@other.example>" },
	{ "<\"user@other.example\"@local.example>", 0, 0, "user@other.example",
	  "local.example",
	  SMTP_ADDRESS_F_QUOTED | SMTP_ADDRESS_F_NEEDS_QUOTES | SMTP_ADDRESS_F_LOCAL_AT, false,
	  "<\"user@other.example\"@local.example>" },
	{ "<user@local.example.>", 0, 0, "user", "local.example.",
	  SMTP_ADDRESS_F_TRAILING_DOT, false, "<user@local.example.>" },
	{ "<user@[192.0.2.1]>", 0, 0, "user", "[192.0.2.1]", SMTP_ADDRESS_F_LITERAL, false,
	  "<user@[192.0.2.1]>" },
	{ "<user@[IPv6:2001:db8::1]>", 0, 0, "user", "[IPv6:2001:db8::1]",
	  SMTP_ADDRESS_F_LITERAL, false, "<user@[IPv6:2001:db8::1]>" },
	/* a quoted local part that did not need quotes is still plain */
	{ "<\"user\"@local.example>", 0, 0, "user", "local.example", SMTP_ADDRESS_F_QUOTED,
	  true, "<user@local.example>" },
	{ "<\"a b\"@local.example>", 0, 0, "a b", "local.example",
	  SMTP_ADDRESS_F_QUOTED | SMTP_ADDRESS_F_NEEDS_QUOTES, false,
	  "<\"a b\"@local.example>" },
	{ "<\"a\\\"b\"@local.example>", 0, 0, "a\"b", "local.example",
	  SMTP_ADDRESS_F_QUOTED | SMTP_ADDRESS_F_NEEDS_QUOTES, false,
	  "<\"a\\\"b\"@local.example>" },
	{ "<\"a..b\"@local.example>", 0, 0, "a..b", "local.example",
	  SMTP_ADDRESS_F_QUOTED | SMTP_ADDRESS_F_NEEDS_QUOTES, false,
	  "<\"a..b\"@local.example>" },
	{ "<a..b@local.example>", SMTP_ADDRESS_PARSE_BAD_LOCALPART, 0, "a..b",
	  "local.example", SMTP_ADDRESS_F_BAD_DOTS, false, "<\"a..b\"@local.example>" },
	{ "<a..b@local.example>", 0, -1, NULL, NULL, 0, false, NULL },
	/* UTF-8 */
	{ "<j\xc3\xb6rg@b\xc3\xbc\x63her.example>", U, 0, "j\xc3\xb6rg",
	  "b\xc3\xbc\x63her.example", SMTP_ADDRESS_F_UTF8, true,
	  "<j\xc3\xb6rg@b\xc3\xbc\x63her.example>" },
	{ "<j\xc3\xb6rg@example.com>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@b\xc3\xbc\x63her.example>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<j\xc3rg@example.com>", U, -1, NULL, NULL, 0, false, NULL },
	{ "<user@xn--bcher-kva.example>", 0, 0, "user", "xn--bcher-kva.example", 0, true,
	  "<user@xn--bcher-kva.example>" },
	/* null and postmaster */
	{ "<>", NULLOK, 0, "", NULL, SMTP_ADDRESS_F_NULL, false, "<>" },
	{ "<@>", NULLOK, 0, "", NULL, SMTP_ADDRESS_F_NULL | SMTP_ADDRESS_F_AT_NULL, false,
	  "<>" },
	{ "<>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<Postmaster>", PM, 0, "Postmaster", NULL, SMTP_ADDRESS_F_POSTMASTER, false,
	  "<Postmaster>" },
	{ "<Postmaster>", 0, -1, NULL, NULL, 0, false, NULL },
	/* syntax */
	{ "user@example.com", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@example.com", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<@example.com>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@exa mple.com>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@example.com-.>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@[1.2.3.4.5]>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@[01.2.3.4]>", 0, 0, "user", "[01.2.3.4]", SMTP_ADDRESS_F_LITERAL, false,
	  "<user@[01.2.3.4]>" },
	{ "<user@[1.2.3.]>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@[1.2.3.4].>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@[tag:]>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@[-tag:x]>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@[IPv6:]>", 0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@"
	  "a234567890123456789012345678901234567890123456789012345678901234.example>",
	  0, -1, NULL, NULL, 0, false, NULL },
	{ "<user@"
	  "a23456789012345678901234567890123456789012345678901234567890123.example>",
	  0, 0, "user",
	  "a23456789012345678901234567890123456789012345678901234567890123.example", 0, true,
	  "<user@a23456789012345678901234567890123456789012345678901234567890123.example>" },
};

static void address_table(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);

	for (size_t i = 0; i < N_ELEMENTS(addr_cases); i++) {
		const struct addr_case *c = &addr_cases[i];
		struct smtp_address a;
		const char *error = NULL;
		size_t used = 0;
		int ret = smtp_address_parse_path(pool, c->path, strlen(c->path), c->pflags, &a,
						  &used, &error);
		if (ret != c->ret)
			fail_msg("case %zu %s: ret %d (%s)", i, c->path, ret, error);
		if (ret < 0) {
			assert_non_null(error);
			continue;
		}
		assert_int_equal(used, strlen(c->path));
		assert_string_equal(a.localpart, c->local);
		if (c->domain == NULL)
			assert_null(a.domain);
		else
			assert_string_equal(a.domain, c->domain);
		if (a.flags != c->flags)
			fail_msg("case %zu %s: flags %#x, expected %#x", i, c->path, a.flags,
				 c->flags);
		assert_int_equal(smtp_address_is_plain(&a), c->plain);
		struct buf b;
		buf_init_pool(&b, pool, 0);
		smtp_address_write_path(&b, &a);
		assert_string_equal(b.data, c->written);
		/* what we write parses back to the same address */
		struct smtp_address again;
		assert_int_equal(smtp_address_parse_path(pool, b.data, b.len,
							 c->pflags | NULLOK | PM |
							 SMTP_ADDRESS_PARSE_BAD_LOCALPART,
							 &again, &used, &error), 0);
		assert_int_equal(smtp_address_cmp(&a, &again, false), 0);
	}
	pool_destroy(&pool);
}

static void address_bare(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	struct smtp_address a;
	const char *error;

	assert_int_equal(smtp_address_parse(pool, "user@example.com", 0, &a, &error), 0);
	assert_string_equal(a.localpart, "user");
	assert_string_equal(a.domain, "example.com");
	assert_int_equal(smtp_address_parse(pool, "\"a b\"@example.com", 0, &a, &error), 0);
	assert_string_equal(a.localpart, "a b");
	assert_int_equal(smtp_address_parse(pool, "user@example.com>", 0, &a, &error), -1);
	assert_int_equal(smtp_address_parse(pool, "<user@example.com>", 0, &a, &error), -1);
	assert_int_equal(smtp_address_parse(pool, "user@example.com x", 0, &a, &error), -1);
	assert_int_equal(smtp_address_parse(pool, "user@[192.0.2.1]x", 0, &a, &error), -1);
	assert_string_equal(error, "Trailing characters after address");
	assert_int_equal(smtp_address_parse(pool, "\"a\x01b\"@example.com", 0, &a, &error), -1);
	assert_string_equal(error, "Invalid character in quoted string");
	assert_int_equal(smtp_address_parse(pool, "\"a\xc3\"@example.com", U, &a, &error), -1);
	assert_int_equal(smtp_address_parse(pool, "user", 0, &a, &error), -1);
	assert_string_equal(error, "Missing domain");
	assert_int_equal(smtp_address_parse(pool, "", 0, &a, &error), -1);
	assert_int_equal(smtp_address_parse(pool, "j\xc3\xb6rg@example.com", U, &a, &error), 0);
	assert_int_equal(smtp_address_parse(pool, "j\xc3\xb6rg@example.com", 0, &a, &error), -1);
	/* a path without brackets, as SMTP_PARSE_ALLOW_NO_BRACKETS uses it */
	size_t used;
	assert_int_equal(smtp_address_parse_path(pool, "a@b.example SIZE=1", 18,
						 SMTP_ADDRESS_PARSE_NO_BRACKETS, &a, &used,
						 &error), 0);
	assert_int_equal(used, 11);
	assert_int_equal(a.flags, SMTP_ADDRESS_F_NO_BRACKETS);
	assert_false(smtp_address_is_plain(&a));
	pool_destroy(&pool);
}

static void address_normalize_cmp(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	struct smtp_address a, b, n;
	const char *error;
	size_t used;

	const char *p = "<@r.example:User@Example.COM.>";
	assert_int_equal(smtp_address_parse_path(pool, p, strlen(p), 0, &a, &used, &error), 0);
	smtp_address_normalize(pool, &a, &n);
	assert_string_equal(n.localpart, "User");
	assert_string_equal(n.domain, "example.com");
	assert_null(n.route);
	assert_int_equal(n.flags, 0);
	assert_true(smtp_address_is_plain(&n));
	/* the original is untouched */
	assert_string_equal(a.domain, "Example.COM.");

	assert_int_equal(smtp_address_parse(pool, "User@example.com", 0, &b, &error), 0);
	assert_int_equal(smtp_address_cmp(&a, &b, false), 0);
	assert_int_equal(smtp_address_parse(pool, "user@example.com", 0, &b, &error), 0);
	assert_int_not_equal(smtp_address_cmp(&a, &b, false), 0);
	assert_int_equal(smtp_address_cmp(&a, &b, true), 0);
	assert_int_equal(smtp_address_parse(pool, "User@example.org", 0, &b, &error), 0);
	assert_true(smtp_address_cmp(&a, &b, false) < 0);
	assert_true(smtp_address_cmp(&b, &a, false) > 0);
	/* UTF-8 domains are left alone (no IDNA here), only ASCII folds */
	assert_int_equal(smtp_address_parse(pool, "u@B\xc3\x9c\x43HER.example", U, &a, &error),
			 0);
	smtp_address_normalize(pool, &a, &n);
	assert_string_equal(n.domain, "b\xc3\x9c\x63her.example");
	/* Postmaster is case-insensitive everywhere */
	p = "<POSTMASTER>";
	assert_int_equal(smtp_address_parse_path(pool, p, strlen(p), PM, &a, &used, &error), 0);
	p = "<postmaster>";
	assert_int_equal(smtp_address_parse_path(pool, p, strlen(p), PM, &b, &used, &error), 0);
	assert_int_equal(smtp_address_cmp(&a, &b, false), 0);
	smtp_address_normalize(pool, &a, &n);
	assert_string_equal(n.localpart, "postmaster");
	assert_null(n.domain);
	assert_int_equal(smtp_address_parse(pool, "user@example.com", 0, &b, &error), 0);
	assert_true(smtp_address_cmp(&a, &b, false) != 0);
	/* quoted and unquoted forms of the same local part are equal */
	assert_int_equal(smtp_address_parse(pool, "\"user\"@example.com", 0, &a, &error), 0);
	assert_int_equal(smtp_address_cmp(&a, &b, false), 0);
	pool_destroy(&pool);
}

static void domain_check(void **state)
{
	(void)state;
	static const struct {
		const char *domain;
		bool utf8;
		int ret;
		unsigned flags;
	} cases[] = {
		{ "example.com", false, 0, 0 },
		{ "EXAMPLE.com", false, 0, 0 },
		{ "a", false, 0, SMTP_ADDRESS_F_DOTLESS },
		{ "1.2.3.4", false, 0, 0 },
		{ "a-b.c", false, 0, 0 },
		{ "a--b.c", false, 0, 0 },
		{ "example.com.", false, 0, SMTP_ADDRESS_F_TRAILING_DOT },
		{ "a.", false, 0, SMTP_ADDRESS_F_TRAILING_DOT | SMTP_ADDRESS_F_DOTLESS },
		{ ".", false, -1, SMTP_ADDRESS_F_TRAILING_DOT | SMTP_ADDRESS_F_DOTLESS },
		{ "", false, -1, 0 },
		{ ".example.com", false, -1, 0 },
		{ "example..com", false, -1, 0 },
		{ "example.com..", false, -1, SMTP_ADDRESS_F_TRAILING_DOT },
		{ "ex_ample.com", false, -1, 0 },
		{ "-example.com", false, -1, 0 },
		{ "example-.com", false, -1, 0 },
		{ "b\xc3\xbc\x63her.example", true, 0, SMTP_ADDRESS_F_UTF8 },
		{ "b\xc3\xbc\x63her.example", false, -1, SMTP_ADDRESS_F_UTF8 },
		{ "b\xfc\x63her.example", true, -1, 0 },
		{ "[192.0.2.1]", false, 0, SMTP_ADDRESS_F_LITERAL },
		{ "[255.255.255.255]", false, 0, SMTP_ADDRESS_F_LITERAL },
		{ "[256.0.0.1]", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[1.2.3.4444]", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[1.2.3.-4]", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[IPv6:::1]", false, 0, SMTP_ADDRESS_F_LITERAL },
		{ "[IPv6:2001:db8::192.0.2.1]", false, 0, SMTP_ADDRESS_F_LITERAL },
		{ "[IPv6:2001:db8:0:0:0:0:0:0:1]", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[IPv6:fe80::1%eth0]", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[::1]", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[x-tag:abc]", false, 0, SMTP_ADDRESS_F_LITERAL },
		{ "[x-tag:a b]", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[192.0.2.1", false, -1, SMTP_ADDRESS_F_LITERAL },
		{ "[]", false, -1, SMTP_ADDRESS_F_LITERAL },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		unsigned flags;
		int ret = smtp_address_check_domain(cases[i].domain, strlen(cases[i].domain),
						    cases[i].utf8, &flags);
		if (ret != cases[i].ret || flags != cases[i].flags)
			fail_msg("case %zu %s: ret %d flags %#x", i, cases[i].domain, ret, flags);
	}
	/* 255 octets is the most a domain may have */
	char big[300];
	size_t n = 0;
	while (n + 4 <= 256) {
		memcpy(big + n, "abc.", 4);
		n += 4;
	}
	unsigned flags;
	assert_int_equal(smtp_address_check_domain(big, 255, false, &flags), 0);
	big[255] = 'x';
	assert_int_equal(smtp_address_check_domain(big, 256, false, &flags), -1);
}

static void xtext(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	const char *out;
	struct buf b;

	assert_int_equal(smtp_params_xtext_decode(pool, "abc", 3, &out), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(smtp_params_xtext_decode(pool, "", 0, &out), 0);
	assert_string_equal(out, "");
	assert_int_equal(smtp_params_xtext_decode(pool, "a+2Bb+3D", 8, &out), 0);
	assert_string_equal(out, "a+b=");
	assert_int_equal(smtp_params_xtext_decode(pool, "+2b", 3, &out), 0);
	assert_string_equal(out, "+");
	assert_int_equal(smtp_params_xtext_decode(pool, "a+2", 3, &out), -1);
	assert_int_equal(smtp_params_xtext_decode(pool, "a+", 2, &out), -1);
	assert_int_equal(smtp_params_xtext_decode(pool, "a+G0", 4, &out), -1);
	assert_int_equal(smtp_params_xtext_decode(pool, "a+00", 4, &out), -1);
	assert_int_equal(smtp_params_xtext_decode(pool, "a=b", 3, &out), -1);
	assert_int_equal(smtp_params_xtext_decode(pool, "a b", 3, &out), -1);
	assert_int_equal(smtp_params_xtext_decode(pool, "a\x7f", 2, &out), -1);
	assert_int_equal(smtp_params_xtext_decode(pool, "\xc3\xa9", 2, &out), -1);

	/* every byte but NUL survives encode + decode */
	unsigned char all[255];
	for (int i = 0; i < 255; i++)
		all[i] = (unsigned char)(i + 1);
	buf_init_pool(&b, pool, 0);
	smtp_params_xtext_encode(&b, all, sizeof(all));
	for (size_t i = 0; i < b.len; i++)
		assert_true(b.data[i] > 32 && b.data[i] < 127 && b.data[i] != '=');
	assert_int_equal(smtp_params_xtext_decode(pool, b.data, b.len, &out), 0);
	assert_memory_equal(out, all, sizeof(all));
	buf_reset(&b);
	smtp_params_xtext_encode(&b, "a+b=c d", 7);
	assert_string_equal(b.data, "a+2Bb+3Dc+20d");
	pool_destroy(&pool);
}

static void params_direct(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	struct smtp_parse_settings set = { .caps = SMTP_CAP_ALL };
	struct smtp_params p;
	struct smtp_error err;
	const char *s = "";

	assert_int_equal(smtp_params_parse(pool, &set, SMTP_PARAMS_MAIL, s, 0, &p, &err), 0);
	assert_int_equal(p.count, 0);
	s = "   ";
	assert_int_equal(smtp_params_parse(pool, &set, SMTP_PARAMS_MAIL, s, 3, &p, &err), 0);
	s = "SIZE=10 BODY=8BITMIME";
	assert_int_equal(smtp_params_parse(pool, NULL, SMTP_PARAMS_MAIL, s, strlen(s), &p, &err),
			 -1);
	assert_int_equal(err.id, SMTP_ERROR_PARAM_UNKNOWN);
	assert_int_equal(err.code, 555);
	assert_string_equal(err.enhanced, "5.5.4");
	assert_string_equal(err.text, "Unsupported parameter: SIZE");
	assert_int_equal(smtp_params_parse(pool, &set, SMTP_PARAMS_MAIL, s, strlen(s), &p, &err),
			 0);
	assert_int_equal(p.count, 2);
	assert_string_equal(p.list[1].keyword, "BODY");
	assert_string_equal(p.list[1].value, "8BITMIME");
	/* a length shorter than the string is honoured */
	assert_int_equal(smtp_params_parse(pool, &set, SMTP_PARAMS_MAIL, s, 7, &p, &err), 0);
	assert_int_equal(p.count, 1);
	assert_int_equal(p.size, 10);
	/* long keywords are cut in the reply text */
	s = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX=1";
	assert_int_equal(smtp_params_parse(pool, &set, SMTP_PARAMS_RCPT, s, strlen(s), &p, &err),
			 -1);
	assert_true(strlen(err.text) < 64);
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(address_table),
		cmocka_unit_test(address_bare),
		cmocka_unit_test(address_normalize_cmp),
		cmocka_unit_test(domain_check),
		cmocka_unit_test(xtext),
		cmocka_unit_test(params_direct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
