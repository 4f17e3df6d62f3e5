/* src/directory: management calls, recipient resolution (aliases, remote
 * targets, +detail, catch-all, loops, case), sender policy. */

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

/* The call fails and its error names what is wrong. */
#define EXPECT_FAIL(contains, call, ...) do { const char *e_ = NULL; \
	if (call(__VA_ARGS__, &e_) != -1) fail_msg(#call " did not fail"); \
	if (e_ == NULL || strstr(e_, contains) == NULL) \
		fail_msg(#call ": got '%s', expected '%s'", e_ ? e_ : "(null)", contains); \
	} while (0)

static int setup(void **state)
{
	(void)state;
	snprintf(dbpath, sizeof(dbpath), "/tmp/ombu-test-dir-%d.sqlite", (int)getpid());
	unlink(dbpath);
	char ov[300];
	snprintf(ov, sizeof(ov), "directory.path=%s", dbpath);
	const char *ovs[] = { ov, "auth.fail_delay=100ms" };
	char *err = NULL;
	cfg = config_load(NULL, "/tmp", ovs, 2, true, &err);
	assert_non_null(cfg);
	const char *e;
	dir = directory_open(cfg, &e);
	if (dir == NULL)
		fail_msg("%s", e);
	pool = pool_create("test", 0);
	OK(dir_domain_add, dir, "Example.TEST");
	OK(dir_domain_add, dir, "other.test.");
	struct dir_user_settings set = { 0 };
	OK(dir_user_add, dir, "Alice@example.test", &set);
	OK(dir_user_add, dir, "bob@example.test", &set);
	set.level = "strict";
	set.quota = 1024;
	set.quota_set = true;
	OK(dir_user_add, dir, "carol@other.test", &set);
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

static void schema(void **state)
{
	(void)state;
	assert_int_equal(directory_schema_version(dir), 1);
	/* opening again does not migrate twice */
	const char *e;
	struct directory *d2 = directory_open(cfg, &e);
	assert_non_null(d2);
	assert_int_equal(directory_schema_version(d2), 1);
	directory_close(&d2);
}

static void domains(void **state)
{
	(void)state;
	const char *e = NULL;
	assert_int_equal(dir_domain_is_local(dir, "EXAMPLE.test", &e), 1);
	assert_int_equal(dir_domain_is_local(dir, "example.test.", &e), 1);
	assert_int_equal(dir_domain_is_local(dir, "example.org", &e), 0);
	EXPECT_FAIL("already exists", dir_domain_add, dir, "example.test");
	EXPECT_FAIL("empty label", dir_domain_add, dir, "bad..name");
	EXPECT_FAIL("start with '-'", dir_domain_add, dir, "-x.test");
	EXPECT_FAIL("letters, digits", dir_domain_add, dir, "a_b.test");
	EXPECT_FAIL("still has 2 users", dir_domain_del, dir, "example.test");
	EXPECT_FAIL("does not exist", dir_domain_del, dir, "nope.test");
	OK(dir_domain_add, dir, "gone.test");
	OK(dir_domain_del, dir, "GONE.test");
}

static void users(void **state)
{
	(void)state;
	const char *e = NULL;
	struct dir_user *u;
	assert_int_equal(dir_user_lookup(dir, pool, "ALICE@Example.Test", &u, &e), 1);
	assert_string_equal(u->address, "alice@example.test");
	assert_string_equal(u->domain, "example.test");
	assert_string_equal(u->level, "normal");
	assert_true(u->tag == 5.0 && u->cutoff == 15.0);
	assert_true(u->quota == 300ull * 1024 * 1024);
	assert_string_equal(u->mailbox, "example.test/alice");
	assert_null(u->password);
	assert_null(u->store);
	assert_int_equal(dir_user_lookup(dir, pool, "carol@other.test", &u, &e), 1);
	assert_string_equal(u->level, "strict");
	assert_true(u->quota == 1024);
	assert_int_equal(dir_user_lookup(dir, pool, "nobody@example.test", &u, &e), 0);

	struct dir_user_settings set = { 0 };
	EXPECT_FAIL("domain example.org is not a local domain; add it with 'ombu domain add example.org'", dir_user_add, dir, "x@example.org", &set);
	EXPECT_FAIL("already exists", dir_user_add, dir, "alice@example.test", &set);
	EXPECT_FAIL("double dot", dir_user_add, dir, "a..b@example.test", &set);
	EXPECT_FAIL("local part", dir_user_add, dir, "../x@example.test", &set);
	EXPECT_FAIL("local part", dir_user_add, dir, "a/b@example.test", &set);
	EXPECT_FAIL("expected an address", dir_user_add, dir, "noat", &set);
	set.level = "nosuch";
	EXPECT_FAIL("level 'nosuch' does not exist", dir_user_add, dir, "z@example.test", &set);
	set.level = NULL;
	set.password_hash = "plaintext";
	EXPECT_FAIL("crypt(3)", dir_user_add, dir, "z@example.test", &set);

	OK(dir_user_set, dir, "alice@example.test", "quota", "1G");
	OK(dir_user_set, dir, "alice@example.test", "level", "lenient");
	assert_int_equal(dir_user_lookup(dir, pool, "alice@example.test", &u, &e), 1);
	assert_true(u->quota == 1ull << 30);
	assert_string_equal(u->level, "lenient");
	EXPECT_FAIL("quota", dir_user_set, dir, "alice@example.test", "quota", "lots");
	EXPECT_FAIL("unknown setting", dir_user_set, dir, "alice@example.test", "colour", "red");
	EXPECT_FAIL("does not exist", dir_user_set, dir, "nobody@example.test", "quota", "1");
	OK(dir_user_set, dir, "alice@example.test", "level", "normal");

	OK(dir_user_add, dir, "temp@example.test", &(struct dir_user_settings){ 0 });
	OK(dir_user_set, dir, "temp@example.test", "state", "disabled");
	assert_int_equal(dir_user_lookup(dir, pool, "temp@example.test", &u, &e), 1);
	assert_true(u->disabled);
	struct dir_resolution r;
	OK(dir_resolve, dir, pool, "temp@example.test", &r);
	assert_int_equal(r.status, DIR_UNKNOWN_USER);
	OK(dir_user_del, dir, "temp@example.test");
	EXPECT_FAIL("does not exist", dir_user_del, dir, "temp@example.test");
}

static void expect_targets(const char *addr, enum dir_resolve_status st, const char *const *want)
{
	struct dir_resolution r;
	const char *e = NULL;
	if (dir_resolve(dir, pool, addr, &r, &e) < 0)
		fail_msg("resolve %s: %s", addr, e);
	if (r.status != st)
		fail_msg("resolve %s: status %d, expected %d", addr, r.status, st);
	size_t n = 0;
	for (; want != NULL && want[n] != NULL; n++) {
		bool found = false;
		for (size_t i = 0; i < r.n_targets; i++)
			found = found || strcmp(r.targets[i].address, want[n]) == 0;
		if (!found)
			fail_msg("resolve %s: %s missing", addr, want[n]);
	}
	if (n != r.n_targets)
		fail_msg("resolve %s: %zu targets, expected %zu", addr, r.n_targets, n);
}

#define T(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void resolution(void **state)
{
	(void)state;
	OK(dir_alias_add, dir, "postmaster@example.test", "alice@example.test");
	OK(dir_alias_add, dir, "team@example.test", "alice@example.test");
	OK(dir_alias_add, dir, "team@example.test", "Bob@Example.test");
	OK(dir_alias_add, dir, "team@example.test", "friend@remote.example");
	OK(dir_alias_add, dir, "nested@example.test", "team@example.test");
	OK(dir_alias_add, dir, "nested@example.test", "carol@other.test");
	OK(dir_alias_add, dir, "loop1@example.test", "loop2@example.test");
	OK(dir_alias_add, dir, "loop2@example.test", "loop1@example.test");
	OK(dir_alias_add, dir, "loop2@example.test", "bob@example.test");
	OK(dir_alias_add, dir, "keep@example.test", "bob@example.test");
	OK(dir_alias_add, dir, "bob@example.test", "bob@example.test");
	OK(dir_alias_add, dir, "bob@example.test", "backup@remote.example");
	OK(dir_alias_add, dir, "@other.test", "carol@other.test");
	OK(dir_alias_add, dir, "dangling@example.test", "deleted@example.test");
	OK(dir_alias_add, dir, "dangling@example.test", "alice@example.test");
	EXPECT_FAIL("not a local domain", dir_alias_add, dir, "x@example.org", "alice@example.test");
	EXPECT_FAIL("already exists", dir_alias_add, dir, "team@example.test", "alice@example.test");
	EXPECT_FAIL("plain address", dir_alias_add, dir, "a@example.test", "b c@x.test");

	expect_targets("alice@example.test", DIR_RESOLVED, T("alice@example.test"));
	expect_targets("ALICE@EXAMPLE.TEST", DIR_RESOLVED, T("alice@example.test"));
	expect_targets("alice+news@example.test", DIR_RESOLVED, T("alice@example.test"));
	expect_targets("postmaster@example.test", DIR_RESOLVED, T("alice@example.test"));
	/* bob's own alias (a copy to backup@) applies wherever bob is reached */
	expect_targets("team@example.test", DIR_RESOLVED,
		       T("alice@example.test", "bob@example.test", "friend@remote.example",
			 "backup@remote.example"));
	expect_targets("team+x@example.test", DIR_RESOLVED,
		       T("alice@example.test", "bob@example.test", "friend@remote.example",
			 "backup@remote.example"));
	expect_targets("nested@example.test", DIR_RESOLVED,
		       T("alice@example.test", "bob@example.test", "friend@remote.example",
			 "backup@remote.example", "carol@other.test"));
	/* self-alias keeps a local copy and forwards */
	expect_targets("bob@example.test", DIR_RESOLVED, T("bob@example.test", "backup@remote.example"));
	expect_targets("keep@example.test", DIR_RESOLVED, T("bob@example.test", "backup@remote.example"));
	/* a loop is cut, the real target survives */
	expect_targets("loop1@example.test", DIR_RESOLVED, T("bob@example.test", "backup@remote.example"));
	/* catch-all */
	expect_targets("anything@other.test", DIR_RESOLVED, T("carol@other.test"));
	expect_targets("dangling@example.test", DIR_RESOLVED, T("alice@example.test"));
	expect_targets("nobody@example.test", DIR_UNKNOWN_USER, NULL);
	expect_targets("+x@example.test", DIR_UNKNOWN_USER, NULL);
	expect_targets("someone@example.org", DIR_NOT_LOCAL, NULL);
	expect_targets("garbage", DIR_UNKNOWN_USER, NULL);

	struct dir_resolution r;
	OK(dir_resolve, dir, pool, "alice+news@example.test", &r);
	assert_string_equal(r.targets[0].detail, "news");
	assert_int_equal(r.targets[0].kind, DIR_TARGET_LOCAL);
	assert_string_equal(r.targets[0].user->address, "alice@example.test");

	OK(dir_alias_del, dir, "team@example.test", "friend@remote.example");
	OK(dir_alias_del, dir, "bob@example.test", "backup@remote.example");
	expect_targets("team@example.test", DIR_RESOLVED, T("alice@example.test", "bob@example.test"));
	EXPECT_FAIL("does not exist", dir_alias_del, dir, "team@example.test", "nobody@x.test");
}

static void lists_and_contacts(void **state)
{
	(void)state;
	const char *e;
	struct dir_user *u;
	assert_int_equal(dir_user_lookup(dir, pool, "alice@example.test", &u, &e), 1);
	OK(dir_list_add, dir, "alice@example.test", "black", "@spam.test");
	OK(dir_list_add, dir, "alice@example.test", "black", "*.evil.test");
	OK(dir_list_add, dir, "alice@example.test", "white", "friend@spam.test");
	OK(dir_contact_add, dir, "alice@example.test", "Pal@Mail.test", "A Pal");
	EXPECT_FAIL("white", dir_list_add, dir, "alice@example.test", "grey", "@x.test");
	EXPECT_FAIL("pattern", dir_list_add, dir, "alice@example.test", "black", "nodomain");
	EXPECT_FAIL("already", dir_list_add, dir, "alice@example.test", "black", "@spam.test");

	assert_int_equal(dir_sender_policy(dir, u->id, "x@spam.test", &e), 2);
	assert_int_equal(dir_sender_policy(dir, u->id, "X@SPAM.TEST", &e), 2);
	assert_int_equal(dir_sender_policy(dir, u->id, "friend@spam.test", &e), 1);
	assert_int_equal(dir_sender_policy(dir, u->id, "a@host.evil.test", &e), 2);
	assert_int_equal(dir_sender_policy(dir, u->id, "a@evil.test", &e), 2);
	assert_int_equal(dir_sender_policy(dir, u->id, "a@notevil.test", &e), 0);
	assert_int_equal(dir_sender_policy(dir, u->id, "pal@mail.test", &e), 1);
	assert_int_equal(dir_sender_policy(dir, u->id, "", &e), 0);
	OK(dir_list_del, dir, "alice@example.test", "black", "@spam.test");
	assert_int_equal(dir_sender_policy(dir, u->id, "x@spam.test", &e), 0);
	OK(dir_contact_del, dir, "alice@example.test", "pal@mail.test");
	assert_int_equal(dir_sender_policy(dir, u->id, "pal@mail.test", &e), 0);
}

static void levels(void **state)
{
	(void)state;
	const char *e;
	OK(dir_level_add, dir, "paranoid", 1.0, 4.0);
	EXPECT_FAIL("already exists", dir_level_add, dir, "paranoid", 1.0, 4.0);
	EXPECT_FAIL("below the cutoff", dir_level_add, dir, "upside", 5.0, 4.0);
	OK(dir_user_set, dir, "bob@example.test", "level", "paranoid");
	struct dir_user *u;
	assert_int_equal(dir_user_lookup(dir, pool, "bob@example.test", &u, &e), 1);
	assert_true(u->tag == 1.0 && u->cutoff == 4.0);
}

int main(void)
{
	config_register(directory_config_keys);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schema),
		cmocka_unit_test(domains),
		cmocka_unit_test(users),
		cmocka_unit_test(resolution),
		cmocka_unit_test(lists_and_contacts),
		cmocka_unit_test(levels),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
