/*
 * src/pop3 maildrop: the snapshot taken at login, the exclusive lock,
 * UIDLs (kept ones preserved, derived ones stable and never colliding
 * with kept ones) and the UPDATE that expunges in one transaction.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/config.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "pop3/pop3-private.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[256];
static struct config *cfg;
static struct store *st;

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/ombu-test-pop3-%d", (int)getpid());
	char ov[300];
	snprintf(ov, sizeof(ov), "store.path=%s", root);
	const char *ovs[] = { ov };
	char *err = NULL;
	cfg = config_load(NULL, "/tmp", ovs, 1, true, &err);
	assert_non_null(cfg);
	const char *e;
	st = store_open(cfg, &e);
	if (st == NULL)
		fail_msg("%s", e);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(&st);
	config_free(&cfg);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	(void)!system(cmd);
	return 0;
}

static uint32_t append(const char *owner, const char *folder, const char *text, const char *uidl)
{
	struct mailbox *mb;
	const char *e;
	if (store_mailbox_open(st, owner, true, &mb, &e) != STORE_OK)
		fail_msg("%s", e);
	struct store_blob blob;
	assert_int_equal(store_blob_put(st, text, strlen(text), &blob, &e), STORE_OK);
	struct store_append a = { .folder = folder, .pop3_uidl = uidl };
	uint32_t uid = 0;
	if (mailbox_append(mb, &blob, &a, &uid, &e) != STORE_OK)
		fail_msg("append: %s", e);
	store_mailbox_close(&mb);
	return uid;
}

static void uidl_assignment(void **state)
{
	(void)state;
	struct pop3_maildrop md = { 0 };
	md.pool = pool_create("t", 0);
	md.uidvalidity = 1234;
	static const char *const kept[] = {
		NULL,              /* none kept: derived */
		"abc",             /* kept */
		"abc",             /* the same again: the first keeps it */
		"ombu.1234.7",     /* could be a derived one of this INBOX */
		"ombu.99.7",       /* from another ombu: cannot collide */
		"bad uid",         /* a space: not an RFC 1939 unique-id */
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", /* 71 */
		"trailing \t",     /* blanks after it on the header line */
		"",                /* empty */
		"ombu.1234.",      /* the reserved prefix alone */
	};
	static const char *const expect[] = {
		"ombu.1234.1", "abc", "ombu.1234.3", "ombu.1234.4", "ombu.99.7", "ombu.1234.6",
		"ombu.1234.7", "trailing", "ombu.1234.9", "ombu.1234.10",
	};
	md.n = N_ELEMENTS(kept);
	md.msgs = xcalloc(md.n, sizeof(*md.msgs));
	for (size_t i = 0; i < md.n; i++)
		md.msgs[i].uid = (uint32_t)i + 1;
	pop3_maildrop_assign_uidls(&md, kept);
	for (size_t i = 0; i < md.n; i++) {
		if (strcmp(md.msgs[i].uidl, expect[i]) != 0)
			fail_msg("message %zu: '%s', expected '%s'", i + 1, md.msgs[i].uidl, expect[i]);
		assert_true(pop3_uidl_valid(md.msgs[i].uidl, strlen(md.msgs[i].uidl)));
	}
	/* no two alike */
	for (size_t i = 0; i < md.n; i++)
		for (size_t k = i + 1; k < md.n; k++)
			assert_string_not_equal(md.msgs[i].uidl, md.msgs[k].uidl);
	free(md.msgs);
	pool_destroy(&md.pool);

	char d[64];
	pop3_uidl_derive(d, sizeof(d), 4294967295u, 4294967295u);
	assert_string_equal(d, "ombu.4294967295.4294967295");
	assert_true(pop3_uidl_valid(d, strlen(d)));
}

static void snapshot_lock_update(void **state)
{
	(void)state;
	const char *owner = "example.test/alice";
	const char *e = NULL;
	uint32_t u1 = append(owner, NULL, "Subject: 1\r\n\r\none\r\n", NULL);
	uint32_t u2 = append(owner, NULL, "Subject: 2\r\n\r\ntwo\r\n", "OLD-UIDL-2");
	append(owner, "Spam", "Subject: spam\r\n\r\nnot in INBOX\r\n", NULL);
	uint32_t u3 = append(owner, NULL, "Subject: 3\r\n\r\nthree\r\n", NULL);

	struct pop3_maildrop *md, *md2;
	assert_int_equal(pop3_maildrop_open(st, owner, &md, &e), POP3_OPEN_OK);
	assert_int_equal(md->n, 3);
	assert_int_equal(md->msgs[0].uid, u1);
	assert_int_equal(md->msgs[1].uid, u2);
	assert_int_equal(md->msgs[2].uid, u3);
	assert_int_equal(md->msgs[0].size, strlen("Subject: 1\r\n\r\none\r\n"));
	assert_int_equal(md->bytes, md->msgs[0].size + md->msgs[1].size + md->msgs[2].size);
	assert_string_equal(md->msgs[1].uidl, "OLD-UIDL-2");
	char d[64];
	pop3_uidl_derive(d, sizeof(d), md->uidvalidity, u1);
	assert_string_equal(md->msgs[0].uidl, d);
	assert_ptr_equal(pop3_maildrop_get(md, 0), NULL);
	assert_ptr_equal(pop3_maildrop_get(md, 4), NULL);
	assert_ptr_equal(pop3_maildrop_get(md, 2), &md->msgs[1]);

	/* a second session is kept out while the first holds the maildrop */
	assert_int_equal(pop3_maildrop_open(st, owner, &md2, &e), POP3_OPEN_IN_USE);
	assert_null(md2);

	/* mail that arrives during the session is not part of it */
	uint32_t u4 = append(owner, NULL, "Subject: 4\r\n\r\nlate\r\n", NULL);
	assert_int_equal(md->n, 3);

	/* UPDATE: the marked messages go, together */
	md->msgs[0].deleted = true;
	md->msgs[2].deleted = true;
	md->n_deleted = 2;
	assert_int_equal(pop3_maildrop_update(st, md, &e), 0);
	pop3_maildrop_free(&md);
	assert_null(md);

	assert_int_equal(pop3_maildrop_open(st, owner, &md, &e), POP3_OPEN_OK);
	assert_int_equal(md->n, 2);
	assert_int_equal(md->msgs[0].uid, u2);
	assert_int_equal(md->msgs[1].uid, u4);
	/* UIDLs do not move when others go */
	assert_string_equal(md->msgs[0].uidl, "OLD-UIDL-2");
	pop3_uidl_derive(d, sizeof(d), md->uidvalidity, u4);
	assert_string_equal(md->msgs[1].uidl, d);
	/* nothing marked: UPDATE does nothing */
	assert_int_equal(pop3_maildrop_update(st, md, &e), 0);
	pop3_maildrop_free(&md);

	/* a user who never got mail: the mailbox is created, empty */
	assert_int_equal(pop3_maildrop_open(st, "example.test/new", &md, &e), POP3_OPEN_OK);
	assert_int_equal(md->n, 0);
	assert_int_equal(md->bytes, 0);
	pop3_maildrop_free(&md);
	pop3_maildrop_free(&md); /* idempotent */
}

int main(void)
{
	config_register(store_config_keys);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uidl_assignment),
		cmocka_unit_test_setup_teardown(snapshot_lock_update, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
