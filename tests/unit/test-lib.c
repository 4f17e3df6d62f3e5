/* src/lib: pools, buffers, the cursor, numbers, the hash table, logging. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/cursor.h"
#include "lib/digest.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pool_basics(void **state)
{
	(void)state;
	struct pool *p = pool_create("test", 64);
	char *a = pool_strdup(p, "hello");
	char *b = pool_printf(p, "%s-%d", a, 42);
	assert_string_equal(b, "hello-42");
	/* many allocations of varied sizes, all distinct and aligned */
	void *prev = NULL;
	for (int i = 0; i < 1000; i++) {
		unsigned char *x = pool_alloc(p, (size_t)(i % 97) + 1);
		assert_true(((uintptr_t)x & 15) == 0);
		for (int j = 0; j < i % 97 + 1; j++)
			assert_int_equal(x[j], 0);
		memset(x, 0xab, (size_t)(i % 97) + 1);
		assert_ptr_not_equal(x, prev);
		prev = x;
	}
	void *big = pool_alloc(p, 100000);
	memset(big, 1, 100000);
	assert_string_equal(a, "hello");
	size_t used = pool_used(p);
	assert_true(used > 100000);
	pool_clear(p);
	assert_int_equal(pool_used(p), 0);
	assert_string_equal(pool_strdup(p, "again"), "again");
	pool_destroy(&p);
	assert_null(p);
	pool_destroy(&p); /* idempotent */
}

/* pool_set_retain: pool_clear keeps blocks for the next job, which gets
   distinct, zeroed (pool_alloc) memory from them. */
static void pool_retain(void **state)
{
	(void)state;
	struct pool *p = pool_create("test", 64);
	pool_set_retain(p, 1024 * 1024);
	for (int round = 0; round < 3; round++) {
		unsigned char *big = pool_alloc(p, 300000);
		unsigned char *mid = pool_alloc(p, 5000);
		unsigned char *small[64];
		for (int i = 0; i < 64; i++) {
			small[i] = pool_alloc(p, 100);
			for (int j = 0; j < 100; j++)
				assert_int_equal(small[i][j], 0);
			memset(small[i], i + 1, 100);
		}
		for (int j = 0; j < 300000; j++)
			assert_int_equal(big[j], 0);
		memset(big, 0xee, 300000);
		memset(mid, 0xdd, 5000);
		for (int i = 0; i < 64; i++)
			for (int j = 0; j < 100; j++)
				assert_int_equal(small[i][j], i + 1);
		assert_int_equal(mid[4999], 0xdd);
		assert_int_equal(big[0], 0xee);
#ifndef OMBU_POOL_DEBUG_DEFAULT
		static unsigned char *first_big;
		if (getenv("OMBU_POOL_DEBUG") == NULL) {
			/* the same block again, not a new one */
			if (round == 0)
				first_big = big;
			else
				assert_ptr_equal(big, first_big);
		}
#endif
		pool_clear(p);
		assert_int_equal(pool_used(p), 0);
	}
	pool_destroy(&p);
}

static void pool_realloc_keeps_content(void **state)
{
	(void)state;
	struct pool *p = pool_create("test", 0);
	char *s = pool_strdup(p, "abc");
	char *t = pool_realloc(p, s, 4, 1000);
	assert_string_equal(t, "abc");
	pool_destroy(&p);
}

static void buf_limits(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(buf_append_str(&b, "12345"), 0);
	assert_int_equal(buf_printf(&b, "%d", 6789), 0);
	assert_int_equal(b.len, 9);
	assert_int_equal(buf_append_str(&b, "ab"), -1); /* over max: unchanged */
	assert_string_equal(buf_cstr(&b), "123456789");
	assert_int_equal(buf_append_c(&b, 'x'), 0);
	assert_int_equal(buf_append_c(&b, 'y'), -1);
	buf_consume(&b, 3);
	assert_string_equal(buf_cstr(&b), "456789x");
	buf_truncate(&b, 2);
	assert_string_equal(buf_cstr(&b), "45");
	assert_int_equal(buf_append(&b, "\0z", 2), 0);
	assert_int_equal(b.len, 4);
	assert_int_equal(b.data[2], '\0');
	buf_free(&b);

	struct pool *p = pool_create("buf", 0);
	buf_init_pool(&b, p, 0);
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%04d", i);
	assert_int_equal(b.len, 4000);
	assert_memory_equal(b.data + 3996, "0999", 4);
	buf_append_hex(&b, "\x01\xff", 2);
	assert_string_equal(b.data + 4000, "01ff");
	buf_free(&b);
	pool_destroy(&p);
}

static void cursor_bounds(void **state)
{
	(void)state;
	struct cursor c;
	const unsigned char data[] = { 'A', 'B', 0x01, 0x02, 0x03, 0x04, 0x05 };
	cursor_init(&c, data, sizeof(data));
	assert_true(cursor_accept(&c, 'A'));
	assert_false(cursor_accept(&c, 'A'));
	assert_true(cursor_accept_str(&c, "b", true));
	uint16_t v16;
	uint32_t v32;
	assert_true(cursor_get_be16(&c, &v16));
	assert_int_equal(v16, 0x0102);
	assert_false(cursor_get_be32(&c, &v32)); /* only 3 left */
	assert_int_equal(cursor_left(&c), 3);
	assert_int_equal(cursor_peek_at(&c, 2), 5);
	assert_int_equal(cursor_peek_at(&c, 3), -1);
	assert_false(cursor_skip(&c, 4));
	assert_true(cursor_skip(&c, 3));
	assert_true(cursor_eof(&c));
	assert_int_equal(cursor_get(&c), -1);
	assert_int_equal(cursor_peek(&c), -1);
	const unsigned char *p;
	assert_false(cursor_take(&c, 1, &p));
	cursor_init(&c, "key=value", 9);
	assert_int_equal(cursor_find(&c, '='), 3);
	assert_int_equal(cursor_find(&c, '#'), -1);
}

static void numbers(void **state)
{
	(void)state;
	static const struct { const char *in; int ok; uint64_t v; } u64[] = {
		{ "0", 0, 0 }, { "42", 0, 42 }, { "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 }, { "", -1, 0 }, { "-1", -1, 0 },
		{ "+1", -1, 0 }, { " 1", -1, 0 }, { "1 ", -1, 0 }, { "1a", -1, 0 },
		{ "0x10", -1, 0 }, { "99999999999999999999999", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(u64); i++) {
		uint64_t v = 7;
		assert_int_equal(num_parse_u64(u64[i].in, &v), u64[i].ok);
		if (u64[i].ok == 0)
			assert_true(v == u64[i].v);
		else
			assert_true(v == 7);
	}
	uint32_t v32;
	assert_int_equal(num_parse_u32("4294967295", &v32), 0);
	assert_int_equal(num_parse_u32("4294967296", &v32), -1);
	int64_t i64;
	assert_int_equal(num_parse_i64("-9223372036854775808", &i64), 0);
	assert_true(i64 == INT64_MIN);
	assert_int_equal(num_parse_i64("9223372036854775808", &i64), -1);

	static const struct { const char *in; int ok; uint64_t v; } sizes[] = {
		{ "300M", 0, 300ull << 20 }, { "1g", 0, 1ull << 30 }, { "512k", 0, 512 << 10 },
		{ "4096", 0, 4096 }, { "2GiB", 0, 2ull << 30 }, { "10MB", 0, 10ull << 20 },
		{ "1T", 0, 1ull << 40 }, { "M", -1, 0 }, { "1.5M", -1, 0 }, { "1X", -1, 0 },
		{ "99999999999999999T", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
		uint64_t v = 0;
		assert_int_equal(num_parse_size(sizes[i].in, &v), sizes[i].ok);
		if (sizes[i].ok == 0)
			assert_true(v == sizes[i].v);
	}
	static const struct { const char *in; int ok; uint64_t ms; } durs[] = {
		{ "30s", 0, 30000 }, { "5m", 0, 300000 }, { "2h", 0, 7200000 },
		{ "7d", 0, 604800000 }, { "250ms", 0, 250 }, { "10", 0, 10000 },
		{ "1w", -1, 0 }, { "s", -1, 0 }, { "-1s", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(durs); i++) {
		uint64_t v = 0;
		assert_int_equal(num_parse_duration_ms(durs[i].in, &v), durs[i].ok);
		if (durs[i].ok == 0)
			assert_true(v == durs[i].ms);
	}
	double d;
	assert_int_equal(num_parse_double("-1.5", &d), 0);
	assert_true(d == -1.5);
	assert_int_equal(num_parse_double("nan", &d), -1);
	assert_int_equal(num_parse_double("1e3", &d), -1);
	assert_int_equal(num_parse_double(".", &d), -1);
	bool b;
	assert_int_equal(num_parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(num_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(num_parse_bool("maybe", &b), -1);
	char s[32];
	num_format_size(300ull << 20, s, sizeof(s));
	assert_string_equal(s, "300M");
	num_format_size(1000, s, sizeof(s));
	assert_string_equal(s, "1000");
}

static void hash_table(void **state)
{
	(void)state;
	struct hash *h = hash_create(0);
	char key[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		assert_null(hash_put(h, key, strlen(key), (void *)(intptr_t)(i + 1)));
	}
	assert_int_equal(hash_count(h), 5000);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "key%d", i);
		assert_int_equal((intptr_t)hash_remove(h, key, strlen(key)), i + 1);
	}
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key%d", i);
		intptr_t v = (intptr_t)hash_get(h, key, strlen(key));
		assert_int_equal(v, i % 2 ? i + 1 : 0);
	}
	size_t it = 0, n = 0;
	while (hash_iter(h, &it, NULL, NULL, NULL))
		n++;
	assert_int_equal(n, 2500);
	assert_int_equal((intptr_t)hash_put(h, "key1", 4, (void *)7), 2);
	hash_destroy(&h);
	assert_null(h);
}

static void sanitize(void **state)
{
	(void)state;
	assert_string_equal(log_str("plain"), "plain");
	assert_string_equal(log_str("two words"), "\"two words\"");
	assert_string_equal(log_str("evil\r\nevent=fake"), "\"evil\\x0d\\x0aevent=fake\"");
	assert_string_equal(log_str("q\"uote"), "\"q\\\"uote\"");
	assert_string_equal(log_str(NULL), "-");
	assert_string_equal(log_str(""), "\"\"");
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *s = log_str(big);
	assert_true(strlen(s) < 420);
	assert_non_null(strstr(s, "..."));
}

static char captured[8192];
static void capture(const char *line, size_t len, void *ctx)
{
	(void)ctx;
	str_copy(captured, "", sizeof(captured));
	if (len < sizeof(captured)) {
		memcpy(captured, line, len);
		captured[len] = '\0';
	}
}

static void log_lines(void **state)
{
	(void)state;
	log_set_sink(capture, NULL);
	log_set_level(LOG_INFO);
	log_info("test.event", "helo=%s n=%d", log_str("bad\nname"), 3);
	assert_non_null(strstr(captured, " info "));
	assert_non_null(strstr(captured, "event=test.event helo=bad\\x0aname n=3\n"));
	/* a forgotten log_str() still cannot break the line */
	log_info("test.raw", "x=%s", "a\nb");
	assert_int_equal(strchr(captured, '\n') - captured, (long)strlen(captured) - 1);
	captured[0] = '\0';
	log_debug("test.debug", "n=1");
	assert_string_equal(captured, "");
	log_set_sink(NULL, NULL);
}

static void addresses(void **state)
{
	(void)state;
	struct net_addr a;
	const char *err;
	char s[64];
	assert_int_equal(net_addr_parse("127.0.0.1:2525", &a, &err), 0);
	net_addr_to_string(&a, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1:2525");
	assert_true(net_addr_is_loopback(&a));
	assert_int_equal(net_addr_parse("[::1]:143", &a, &err), 0);
	net_addr_to_string(&a, s, sizeof(s));
	assert_string_equal(s, "[::1]:143");
	assert_int_equal(net_addr_parse("*:25", &a, &err), 0);
	assert_int_equal(net_addr_parse("::1:25", &a, &err), -1);
	assert_int_equal(net_addr_parse("host:25", &a, &err), -1);
	assert_int_equal(net_addr_parse("1.2.3.4:65536", &a, &err), -1);
	assert_int_equal(net_addr_parse("1.2.3.4", &a, &err), -1);
	struct net_addr *list;
	size_t n;
	assert_int_equal(net_addr_parse_list("127.0.0.1:1, [::1]:2", &list, &n, &err), 0);
	assert_int_equal(n, 2);
	free(list);
	assert_int_equal(net_addr_parse_list("", &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
	uint32_t v4;
	assert_int_equal(net_ip_parse("::ffff:192.0.2.1", &a), 0);
	assert_int_equal(net_addr_ipv4(&a, &v4), 0);
	assert_true(v4 == 0xc0000201);
	net_addr_ip_string(&a, s, sizeof(s));
	assert_string_equal(s, "192.0.2.1");
}

static void digests(void **state)
{
	(void)state;
	unsigned char d[SHA256_SIZE];
	char hex[65];
	sha256_once("abc", 3, d);
	sha256_hex(d, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void strings(void **state)
{
	(void)state;
	char small[4];
	assert_int_equal(str_copy(small, "abcdef", sizeof(small)), 6);
	assert_string_equal(small, "abc");
	char s[8] = "ab";
	str_append(s, "cdefghij", sizeof(s));
	assert_string_equal(s, "abcdefg");
	char t[] = "  x y \t";
	assert_string_equal(str_trim(t), "x y");
	assert_true(str_eq_icase("HeLLo", "hello"));
	assert_false(str_eq_icase("hello", "hell"));
	assert_true(str_has_prefix_icase("MAIL FROM:", "mail"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pool_basics),
		cmocka_unit_test(pool_retain),
		cmocka_unit_test(pool_realloc_keeps_content),
		cmocka_unit_test(buf_limits),
		cmocka_unit_test(cursor_bounds),
		cmocka_unit_test(numbers),
		cmocka_unit_test(hash_table),
		cmocka_unit_test(sanitize),
		cmocka_unit_test(log_lines),
		cmocka_unit_test(addresses),
		cmocka_unit_test(digests),
		cmocka_unit_test(strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
