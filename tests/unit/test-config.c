/* src/lib/config.c: good files, and every kind of bad line refused with
 * file:line and a reason. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/config.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const modes[] = { "fast", "safe", NULL };

static int even_only(const char *v, const char **error_r)
{
	if (strlen(v) % 2 != 0) {
		*error_r = "must have an even length";
		return -1;
	}
	return 0;
}

static const struct config_key keys[] = {
	{ "t", "name", CONFIG_STRING, "default", "a string" },
	{ "t", "flag", CONFIG_BOOL, "no", "a flag" },
	{ "t", "count", CONFIG_UINT, "5", "a bounded number", 1, 10 },
	{ "t", "big", CONFIG_UINT, "5", "an unbounded number" },
	{ "t", "size", CONFIG_SIZE, "300M", "a size" },
	{ "t", "wait", CONFIG_DURATION, "30s", "a duration" },
	{ "t", "score", CONFIG_DOUBLE, "5.0", "a decimal" },
	{ "t", "mode", CONFIG_ENUM, "safe", "a choice", .enum_values = modes },
	{ "t", "listen", CONFIG_LISTEN, "127.0.0.1:25", "addresses" },
	{ "t", "file", CONFIG_PATH, "rules", "a path" },
	{ "t", "even", CONFIG_STRING, "", "validated", .validate = even_only },
	{ "zone", "file", CONFIG_PATH, "", "zone file", .flags = CONFIG_NAMED },
	{ "zone", "score", CONFIG_DOUBLE, "1.0", "zone score", .flags = CONFIG_NAMED },
	{ NULL }
};

static char path[256];

static struct config *load_text(const char *text, const char *const *ov, size_t n, char **err)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	*err = NULL;
	return config_load(path, "/data", ov, n, false, err);
}

static void defaults_and_types(void **state)
{
	(void)state;
	char *err;
	struct config *c = load_text("# nothing\n", NULL, 0, &err);
	assert_non_null(c);
	assert_string_equal(config_str(c, "t", "name"), "default");
	assert_false(config_bool(c, "t", "flag"));
	assert_int_equal(config_uint(c, "t", "count"), 5);
	assert_true(config_size(c, "t", "size") == 300ull << 20);
	assert_int_equal(config_ms(c, "t", "wait"), 30000);
	assert_true(config_double(c, "t", "score") == 5.0);
	assert_string_equal(config_str(c, "t", "mode"), "safe");
	assert_string_equal(config_path_value(c, "t", "file"), "/data/rules");
	assert_false(config_is_set(c, "t", "name"));
	config_free(&c);

	c = load_text("[t]\n"
		      "name = hello world   # a comment after white space\n"
		      "flag = yes\n"
		      "count=10\n"
		      "  size = 2G\n"
		      "wait = 250ms\n"
		      "score = -1.5\n"
		      "mode = fast\n"
		      "listen = 127.0.0.1:1, [::1]:2\n"
		      "file = /abs/path\n"
		      "even = \"ab #cd\"\n"
		      "; semicolon comment\n"
		      "\n"
		      "[zone bl]\n"
		      "file = zones/bl.ip4set\n"
		      "score = 3.5\n"
		      "[zone other_1]\n"
		      "score = 2\n", NULL, 0, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_string_equal(config_str(c, "t", "name"), "hello world");
	assert_true(config_bool(c, "t", "flag"));
	assert_int_equal(config_uint(c, "t", "count"), 10);
	assert_true(config_size(c, "t", "size") == 2ull << 30);
	assert_int_equal(config_ms(c, "t", "wait"), 250);
	assert_true(config_double(c, "t", "score") == -1.5);
	assert_string_equal(config_str(c, "t", "listen"), "127.0.0.1:1, [::1]:2");
	assert_string_equal(config_path_value(c, "t", "file"), "/abs/path");
	assert_string_equal(config_str(c, "t", "even"), "ab #cd");
	assert_true(config_is_set(c, "t", "name"));
	const char *const *names;
	assert_int_equal(config_instances(c, "zone", &names), 2);
	assert_string_equal(names[0], "bl");
	assert_string_equal(names[1], "other_1");
	assert_string_equal(config_path_in(c, "zone", "bl", "file"), "/data/zones/bl.ip4set");
	assert_true(config_double_in(c, "zone", "bl", "score") == 3.5);
	assert_true(config_double_in(c, "zone", "other_1", "score") == 2.0);
	assert_string_equal(config_path_in(c, "zone", "other_1", "file"), "");
	config_free(&c);
}

static void overrides(void **state)
{
	(void)state;
	char *err;
	const char *ov[] = { "t.count=7", "t.name = spaced ", "zone.new.score=9.5" };
	struct config *c = load_text("[t]\ncount = 2\n", ov, 3, &err);
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(config_uint(c, "t", "count"), 7);
	assert_string_equal(config_str(c, "t", "name"), "spaced");
	assert_true(config_double_in(c, "zone", "new", "score") == 9.5);
	config_free(&c);

	static const struct { const char *ov, *expect; } bad[] = {
		{ "t.count=11", "--set t.count: bad value '11' for t.count: out of range (1..10)" },
		{ "t.nokey=1", "unknown key 'nokey' in section [t]" },
		{ "nosection.key=1", "unknown section [nosection]" },
		{ "t.count", "expected SECTION.KEY=VALUE" },
		{ "count=1", "expected SECTION.KEY=VALUE" },
		{ "zone.score=1", "expected zone.NAME.KEY=VALUE" },
		{ "zone.b@d.score=1", "bad section name" },
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		const char *one[] = { bad[i].ov };
		c = load_text("", one, 1, &err);
		assert_null(c);
		assert_non_null(err);
		if (strstr(err, bad[i].expect) == NULL)
			fail_msg("override %s: got '%s', expected '%s'", bad[i].ov, err, bad[i].expect);
		free(err);
	}
}

static void bad_lines(void **state)
{
	(void)state;
	static const struct { const char *text, *expect; } bad[] = {
		{ "[t]\nnokey = 1\n", ":2: unknown key 'nokey' in section [t]" },
		{ "\n\n[nosuch]\n", ":3: unknown section [nosuch]" },
		{ "name = x\n", ":1: 'name' outside of any section" },
		{ "[t]\ncount = 0\n", ":2: bad value '0' for t.count: out of range (1..10)" },
		{ "[t]\ncount = 1x\n", ":2: bad value '1x' for t.count: expected a whole number" },
		{ "[t]\nbig = -1\n", ":2: bad value '-1' for t.big: expected a whole number" },
		{ "[t]\nbig = 99999999999999999999999\n", ":2: bad value" },
		{ "[t]\nflag = maybe\n", ":2: bad value 'maybe' for t.flag: expected yes or no" },
		{ "[t]\nsize = 3Q\n", ":2: bad value '3Q' for t.size: expected a size" },
		{ "[t]\nwait = forever\n", ":2: bad value 'forever' for t.wait: expected a duration" },
		{ "[t]\nscore = 1e9\n", ":2: bad value '1e9' for t.score: expected a decimal number" },
		{ "[t]\nmode = turbo\n", ":2: bad value 'turbo' for t.mode: expected one of: fast safe" },
		{ "[t]\nlisten = localhost\n", ":2: bad value 'localhost' for t.listen: expected host:port" },
		{ "[t]\nlisten = 1.2.3.4:99999\n", ":2: bad value '1.2.3.4:99999' for t.listen: bad port number" },
		{ "[t]\neven = abc\n", ":2: bad value 'abc' for t.even: must have an even length" },
		{ "[t]\ncount = 2\ncount = 3\n", ":3: t.count is set twice" },
		{ "[t]\njunk line\n", ":2: syntax error" },
		{ "[t\n", ":1: syntax error: section header without ']'" },
		{ "[zone]\nscore = 1\n", ":1: section [zone] needs a name" },
		{ "[t extra]\n", ":1: section [t] takes no name" },
		{ "[zone a/b]\n", ":1: bad name 'a/b' for [zone]" },
		{ "[t]\n[empty_unknown]\n", ":2: unknown section [empty_unknown]" },
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		char *err;
		struct config *c = load_text(bad[i].text, NULL, 0, &err);
		assert_null(c);
		assert_non_null(err);
		assert_true(str_has_prefix(err, path));
		if (strstr(err, bad[i].expect) == NULL)
			fail_msg("case %zu: got '%s', expected '%s'", i, err, bad[i].expect);
		free(err);
	}
}

static void missing_file(void **state)
{
	(void)state;
	char *err = NULL;
	struct config *c = config_load("/nonexistent/ombu.conf", "/d", NULL, 0, false, &err);
	assert_null(c);
	assert_non_null(strstr(err, "cannot open"));
	free(err);
	c = config_load("/nonexistent/ombu.conf", "/d", NULL, 0, true, &err);
	assert_non_null(c);
	config_free(&c);
}

static void check_value(void **state)
{
	(void)state;
	const char *err;
	assert_int_equal(config_check_value(&keys[2], "3", &err), 0);
	assert_int_equal(config_check_value(&keys[2], "30", &err), -1);
}

int main(void)
{
	config_register(keys);
	snprintf(path, sizeof(path), "/tmp/ombu-test-config-%d.conf", (int)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_and_types),
		cmocka_unit_test(overrides),
		cmocka_unit_test(bad_lines),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(check_value),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return r;
}
