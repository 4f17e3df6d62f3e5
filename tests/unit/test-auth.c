/* Authentication: hashes made by tools nobody here wrote verify (and
 * wrong passwords do not), the credentials cache, throttling. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "directory/directory.h"
#include "lib/config.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dbpath[256];
static struct config *cfg;
static struct directory *dir;
static struct pool *pool;

#define OK(call, ...) do { const char *e_ = NULL; \
	if (call(__VA_ARGS__, &e_) < 0) fail_msg(#call ": %s", e_); } while (0)

/* Runs a hashing tool; the password goes in on stdin, never argv. */
static char *tool_hash(const char *cmd, const char *password)
{
	char tmpf[128];
	snprintf(tmpf, sizeof(tmpf), "/tmp/ombu-test-auth-%d.pw", (int)getpid());
	FILE *f = fopen(tmpf, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", password);
	fclose(f);
	char full[512];
	snprintf(full, sizeof(full), "%s < %s", cmd, tmpf);
	FILE *p = popen(full, "r");
	assert_non_null(p);
	char out[512] = "";
	if (fgets(out, sizeof(out), p) == NULL)
		out[0] = '\0';
	int rc = pclose(p);
	unlink(tmpf);
	if (rc != 0 || out[0] == '\0')
		fail_msg("'%s' failed (is the whois package installed? scripts/bootstrap installs it)", cmd);
	out[strcspn(out, "\r\n")] = '\0';
	return xstrdup(out);
}

static void foreign_hashes(void **state)
{
	(void)state;
	static const struct { const char *cmd, *prefix; } tools[] = {
		{ "openssl passwd -1 -stdin", "$1$" },
		{ "openssl passwd -5 -stdin", "$5$" },
		{ "openssl passwd -6 -stdin", "$6$" },
		{ "mkpasswd -m yescrypt --stdin", "$y$" },
		{ "mkpasswd -m bcrypt --stdin", "$2b$" },
		{ "mkpasswd -m sha512crypt --stdin", "$6$" },
	};
	const char *pw = "Corr3ct horse battery st@ple";
	for (size_t i = 0; i < N_ELEMENTS(tools); i++) {
		char *h = tool_hash(tools[i].cmd, pw);
		if (!str_has_prefix(h, tools[i].prefix))
			fail_msg("%s produced %s", tools[i].cmd, h);
		assert_true(dir_password_hash_valid(h));
		if (dir_password_verify(pw, h) != 1)
			fail_msg("%s hash does not verify", tools[i].cmd);
		assert_int_equal(dir_password_verify("Corr3ct horse battery st@plE", h), 0);
		assert_int_equal(dir_password_verify("", h), 0);
		free(h);
	}
	assert_int_equal(dir_password_verify("x", "*"), 0);
	assert_int_equal(dir_password_verify("x", "!locked"), 0);
	assert_int_equal(dir_password_verify("x", ""), 0);
	assert_int_equal(dir_password_verify("x", NULL), 0);
	assert_false(dir_password_hash_valid("plain"));
	assert_false(dir_password_hash_valid("$6$"));
}

static void own_hashes(void **state)
{
	(void)state;
	char *h;
	const char *e;
	assert_int_equal(dir_password_hash("s3cret", &h, &e), 0);
	assert_true(str_has_prefix(h, "$y$"));
	assert_int_equal(dir_password_verify("s3cret", h), 1);
	assert_int_equal(dir_password_verify("s3cre", h), 0);
	char *h2;
	assert_int_equal(dir_password_hash("s3cret", &h2, &e), 0);
	assert_string_not_equal(h, h2); /* salted */
	free(h);
	free(h2);
}

static void set_password(const char *addr, const char *pw)
{
	char *h;
	const char *e;
	assert_int_equal(dir_password_hash(pw, &h, &e), 0);
	OK(dir_user_set, dir, addr, "password_hash", h);
	free(h);
}

static void cache(void **state)
{
	(void)state;
	const char *e = NULL;
	struct dir_user *u;
	struct dir_auth_stats st0, st;
	dir_auth_cache_flush(dir);
	set_password("alice@example.test", "first");
	dir_auth_stats(dir, &st0);
	assert_int_equal(dir_authenticate(dir, pool, "alice@example.test", "first", &u, &e), DIR_AUTH_OK);
	assert_string_equal(u->address, "alice@example.test");
	dir_auth_stats(dir, &st);
	assert_int_equal(st.hashes - st0.hashes, 1);
	/* warm: no hash, any case of the user name */
	assert_int_equal(dir_authenticate(dir, pool, "ALICE@example.test", "first", &u, &e), DIR_AUTH_OK);
	dir_auth_stats(dir, &st);
	assert_int_equal(st.hashes - st0.hashes, 1);
	assert_int_equal(st.cache_hits - st0.cache_hits, 1);
	assert_int_equal(dir_auth_cache_check(dir, u, "first"), 1);
	/* wrong password: a hash, then the negative cache */
	assert_int_equal(dir_authenticate(dir, pool, "alice@example.test", "wrong", &u, &e), DIR_AUTH_FAILED);
	assert_null(u);
	assert_int_equal(dir_authenticate(dir, pool, "alice@example.test", "wrong", &u, &e), DIR_AUTH_FAILED);
	dir_auth_stats(dir, &st);
	assert_int_equal(st.hashes - st0.hashes, 2);
	assert_int_equal(st.negative_hits - st0.negative_hits, 1);
	/* a changed password is never accepted from the cache */
	set_password("alice@example.test", "second");
	assert_int_equal(dir_authenticate(dir, pool, "alice@example.test", "first", &u, &e), DIR_AUTH_FAILED);
	assert_int_equal(dir_authenticate(dir, pool, "alice@example.test", "second", &u, &e), DIR_AUTH_OK);
	/* a disabled user is refused at once, cache or not */
	OK(dir_user_set, dir, "alice@example.test", "state", "disabled");
	assert_int_equal(dir_authenticate(dir, pool, "alice@example.test", "second", &u, &e), DIR_AUTH_FAILED);
	OK(dir_user_set, dir, "alice@example.test", "state", "active");
	assert_int_equal(dir_authenticate(dir, pool, "nobody@example.test", "x", &u, &e), DIR_AUTH_FAILED);
	assert_int_equal(dir_authenticate(dir, pool, "bob@example.test", "x", &u, &e), DIR_AUTH_FAILED); /* no password */
}

static void cache_expires(void **state)
{
	(void)state;
	/* a cache with a 1 s TTL: after it, the hash runs again */
	char ov[300];
	snprintf(ov, sizeof(ov), "directory.path=%s", dbpath);
	const char *ovs[] = { ov, "auth.cache_ttl=1s", "auth.cache_size=1" };
	char *err = NULL;
	struct config *c2 = config_load(NULL, "/tmp", ovs, 3, true, &err);
	assert_non_null(c2);
	const char *e;
	struct directory *d2 = directory_open(c2, &e);
	assert_non_null(d2);
	set_password("alice@example.test", "pw");
	set_password("carol@example.test", "pw2");
	struct dir_user *u;
	struct dir_auth_stats st;
	assert_int_equal(dir_authenticate(d2, pool, "alice@example.test", "pw", &u, &e), DIR_AUTH_OK);
	assert_int_equal(dir_authenticate(d2, pool, "alice@example.test", "pw", &u, &e), DIR_AUTH_OK);
	dir_auth_stats(d2, &st);
	assert_int_equal(st.hashes, 1);
	/* size 1: carol evicts alice */
	assert_int_equal(dir_authenticate(d2, pool, "carol@example.test", "pw2", &u, &e), DIR_AUTH_OK);
	assert_int_equal(dir_authenticate(d2, pool, "alice@example.test", "pw", &u, &e), DIR_AUTH_OK);
	dir_auth_stats(d2, &st);
	assert_int_equal(st.hashes, 3);
	usleep(1100000);
	assert_int_equal(dir_authenticate(d2, pool, "alice@example.test", "pw", &u, &e), DIR_AUTH_OK);
	dir_auth_stats(d2, &st);
	assert_int_equal(st.hashes, 4);
	directory_close(&d2);
	config_free(&c2);
}

static void throttling(void **state)
{
	(void)state;
	/* from the setup: delays after 3 failures (100 ms, doubling, max
	 * 400 ms), an IP refused after 10, a user after 30 */
	struct auth_throttle *t = auth_throttle_create(cfg);
	uint64_t d;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(auth_throttle_check(t, "192.0.2.1", "alice@example.test", &d), AUTH_THROTTLE_OK);
		assert_int_equal(d, 0);
		auth_throttle_failure(t, "192.0.2.1", "alice@example.test");
	}
	uint64_t expect[] = { 100, 200, 400, 400, 400, 400, 400 };
	for (int i = 0; i < 7; i++) {
		assert_int_equal(auth_throttle_check(t, "192.0.2.1", "Alice@example.test", &d), AUTH_THROTTLE_OK);
		assert_int_equal(d, expect[i]);
		auth_throttle_failure(t, "192.0.2.1", "alice@example.test");
	}
	/* 10 failures from this IP: refused, whoever it tries */
	assert_int_equal(auth_throttle_check(t, "192.0.2.1", "bob@example.test", &d), AUTH_THROTTLE_REFUSE);
	/* another IP is delayed for alice (user counter) but not refused */
	assert_int_equal(auth_throttle_check(t, "192.0.2.2", "alice@example.test", &d), AUTH_THROTTLE_OK);
	assert_true(d > 0);
	assert_int_equal(auth_throttle_check(t, "192.0.2.2", "bob@example.test", &d), AUTH_THROTTLE_OK);
	assert_int_equal(d, 0);
	/* a good login clears the user's count, not the IP's */
	auth_throttle_success(t, "192.0.2.2", "alice@example.test");
	assert_int_equal(auth_throttle_check(t, "192.0.2.2", "alice@example.test", &d), AUTH_THROTTLE_OK);
	assert_int_equal(d, 0);
	assert_int_equal(auth_throttle_check(t, "192.0.2.1", "alice@example.test", &d), AUTH_THROTTLE_REFUSE);
	/* a user attacked from many IPs is refused after 30 */
	char ip[32];
	for (int i = 0; i < 30; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		auth_throttle_failure(t, ip, "carol@example.test");
	}
	assert_int_equal(auth_throttle_check(t, "203.0.113.9", "carol@example.test", &d), AUTH_THROTTLE_REFUSE);
	auth_throttle_destroy(&t);
	assert_null(t);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dbpath, sizeof(dbpath), "/tmp/ombu-test-auth-%d.sqlite", (int)getpid());
	unlink(dbpath);
	char ov[300];
	snprintf(ov, sizeof(ov), "directory.path=%s", dbpath);
	const char *ovs[] = { ov, "auth.fail_delay=100ms", "auth.fail_delay_max=400ms" };
	char *err = NULL;
	cfg = config_load(NULL, "/tmp", ovs, 3, true, &err);
	assert_non_null(cfg);
	const char *e;
	dir = directory_open(cfg, &e);
	assert_non_null(dir);
	pool = pool_create("test", 0);
	OK(dir_domain_add, dir, "example.test");
	OK(dir_user_add, dir, "alice@example.test", &(struct dir_user_settings){ 0 });
	OK(dir_user_add, dir, "bob@example.test", &(struct dir_user_settings){ 0 });
	OK(dir_user_add, dir, "carol@example.test", &(struct dir_user_settings){ 0 });
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	directory_close(&dir);
	config_free(&cfg);
	pool_destroy(&pool);
	char p[300];
	unlink(dbpath);
	snprintf(p, sizeof(p), "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", dbpath);
	unlink(p);
	return 0;
}

int main(void)
{
	config_register(directory_config_keys);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(foreign_hashes),
		cmocka_unit_test(own_hashes),
		cmocka_unit_test(cache),
		cmocka_unit_test(cache_expires),
		cmocka_unit_test(throttling),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
