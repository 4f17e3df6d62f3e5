/* src/store: folders, UIDs, flags, quota edges, name validation, blobs,
 * dedup, check, and a mailbox created by two writers at once. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "lib/ioloop.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[256];
static struct config *cfg;
static struct store *st;
static struct pool *pool;

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/ombu-test-store-%d", (int)getpid());
	char ov[300];
	snprintf(ov, sizeof(ov), "store.path=%s", root);
	const char *ovs[] = { ov, "store.pack_max=4k" };
	char *err = NULL;
	cfg = config_load(NULL, "/tmp", ovs, 2, true, &err);
	assert_non_null(cfg);
	const char *e;
	st = store_open(cfg, &e);
	if (st == NULL)
		fail_msg("%s", e);
	pool = pool_create("test", 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(&st);
	config_free(&cfg);
	pool_destroy(&pool);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	(void)!system(cmd);
	return 0;
}

static struct mailbox *open_mb(const char *owner)
{
	struct mailbox *mb;
	const char *e;
	if (store_mailbox_open(st, owner, true, &mb, &e) != STORE_OK)
		fail_msg("%s", e);
	return mb;
}

static uint32_t append(struct mailbox *mb, const char *folder, const char *text, uint64_t quota,
		       int expect)
{
	struct store_blob blob;
	const char *e;
	assert_int_equal(store_blob_put(st, text, strlen(text), &blob, &e), STORE_OK);
	struct store_append a = { .folder = folder, .quota = quota };
	uint32_t uid = 0;
	int r = mailbox_append(mb, &blob, &a, &uid, &e);
	if (r != expect)
		fail_msg("append: %d (%s), expected %d", r, r != STORE_OK ? e : "ok", expect);
	return uid;
}

static void names(void **state)
{
	(void)state;
	static const char *const good_owners[] = { "example.test/alice", "a.b/c+d", "x/y=z", "d/u_1" };
	static const char *const bad_owners[] = { "", "/abs", "a/../b", "..", "a/./b", "a//b", "a/",
						  "blobs/x", "tmp", "a b/c", "a/b\n", "a/b\\c" };
	for (size_t i = 0; i < N_ELEMENTS(good_owners); i++)
		assert_true(store_owner_path_valid(good_owners[i]));
	for (size_t i = 0; i < N_ELEMENTS(bad_owners); i++)
		if (store_owner_path_valid(bad_owners[i]))
			fail_msg("owner path '%s' accepted", bad_owners[i]);
	static const char *const good_folders[] = { "INBOX", "Sent", "a/b/c", "Caf\xc3\xa9", "with space" };
	static const char *const bad_folders[] = { "", "a//b", "/a", "a/", "..", "a/../b", "x\x01y",
						   "bad\xff", "a*", "b%" };
	for (size_t i = 0; i < N_ELEMENTS(good_folders); i++)
		assert_true(store_folder_name_valid(good_folders[i]));
	for (size_t i = 0; i < N_ELEMENTS(bad_folders); i++)
		if (store_folder_name_valid(bad_folders[i]))
			fail_msg("folder name '%s' accepted", bad_folders[i]);
	struct mailbox *mb;
	const char *e;
	assert_int_equal(store_mailbox_open(st, "../etc", true, &mb, &e), STORE_INVALID);
	assert_int_equal(store_mailbox_open(st, "none/such", false, &mb, &e), STORE_NOTFOUND);
}

static void folders_and_uids(void **state)
{
	(void)state;
	struct mailbox *mb = open_mb("example.test/f");
	struct store_folder *f;
	size_t n;
	const char *e;
	assert_int_equal(mailbox_folder_list(mb, pool, &f, &n, &e), STORE_OK);
	assert_int_equal(n, 6);
	assert_string_equal(f[0].name, "INBOX");
	bool junk = false;
	for (size_t i = 0; i < n; i++)
		junk = junk || (strcmp(f[i].name, "Spam") == 0 && strcmp(f[i].special_use, "\\Junk") == 0);
	assert_true(junk);
	assert_int_equal(append(mb, NULL, "Subject: 1\r\n\r\na\r\n", 0, STORE_OK), 1);
	assert_int_equal(append(mb, "inbox", "Subject: 2\r\n\r\nb\r\n", 0, STORE_OK), 2);
	assert_int_equal(append(mb, "Spam", "Subject: 3\r\n\r\nc\r\n", 0, STORE_OK), 1);
	append(mb, "NoSuch", "x", 0, STORE_NOTFOUND);
	struct store_folder in;
	assert_int_equal(mailbox_folder_get(mb, pool, "INBOX", &in, &e), STORE_OK);
	assert_int_equal(in.messages, 2);
	assert_int_equal(in.unseen, 2);
	assert_int_equal(in.uidnext, 3);
	uint64_t ms0 = in.highestmodseq;
	/* flags bump MODSEQ and the unseen counter */
	uint32_t uids[] = { 1, 2, 99 };
	assert_int_equal(mailbox_flags_update(mb, in.id, uids, 3, 1, STORE_FLAG_SEEN, &e), STORE_OK);
	assert_int_equal(mailbox_folder_get(mb, pool, "INBOX", &in, &e), STORE_OK);
	assert_int_equal(in.unseen, 0);
	assert_true(in.highestmodseq > ms0);
	assert_int_equal(mailbox_flags_update(mb, in.id, uids, 1, 0, STORE_FLAG_DELETED, &e), STORE_OK);
	assert_int_equal(mailbox_folder_get(mb, pool, "INBOX", &in, &e), STORE_OK);
	assert_int_equal(in.unseen, 1);
	assert_int_equal(in.deleted, 1);
	/* expunge: UIDs are never reused */
	assert_int_equal(mailbox_expunge(mb, in.id, uids, 1, &e), STORE_OK);
	assert_int_equal(append(mb, NULL, "Subject: 4\r\n\r\nd\r\n", 0, STORE_OK), 3);
	/* copy shares the body */
	uint32_t newuid;
	uint32_t two[] = { 2 };
	assert_int_equal(mailbox_copy(mb, in.id, two, 1, "Archive", &newuid, &e), STORE_OK);
	assert_int_equal(newuid, 1);
	/* create, rename (with children), delete */
	assert_int_equal(mailbox_folder_create(mb, "Work", NULL, &e), STORE_OK);
	assert_int_equal(mailbox_folder_create(mb, "Work/2026", NULL, &e), STORE_OK);
	assert_int_equal(mailbox_folder_create(mb, "Work", NULL, &e), STORE_EXISTS);
	assert_int_equal(mailbox_folder_create(mb, "bad//name", NULL, &e), STORE_INVALID);
	struct store_folder w;
	assert_int_equal(mailbox_folder_get(mb, pool, "Work", &w, &e), STORE_OK);
	uint32_t uv = w.uidvalidity;
	assert_int_equal(mailbox_folder_rename(mb, "Work", "Jobs", &e), STORE_OK);
	assert_int_equal(mailbox_folder_get(mb, pool, "Jobs/2026", &w, &e), STORE_OK);
	assert_int_equal(mailbox_folder_get(mb, pool, "Work", &w, &e), STORE_NOTFOUND);
	assert_int_equal(mailbox_folder_delete(mb, "Jobs", &e), STORE_OK);
	assert_int_equal(mailbox_folder_delete(mb, "INBOX", &e), STORE_INVALID);
	assert_int_equal(mailbox_folder_create(mb, "Jobs", NULL, &e), STORE_OK);
	assert_int_equal(mailbox_folder_get(mb, pool, "Jobs", &w, &e), STORE_OK);
	assert_true(w.uidvalidity != uv); /* a new folder, a new UIDVALIDITY */
	struct store_check_report r;
	assert_int_equal(mailbox_check(mb, &r, false, &e), STORE_OK);
	assert_int_equal(r.messages, 4);
	store_mailbox_close(&mb);
}

static void quota_edges(void **state)
{
	(void)state;
	struct mailbox *mb = open_mb("example.test/q");
	const char *m = "Subject: q\r\n\r\n0123456789\r\n"; /* 26 bytes */
	uint64_t len = strlen(m);
	append(mb, NULL, m, len * 2, STORE_OK);
	append(mb, NULL, m, len * 2, STORE_OK);  /* exactly at the limit */
	append(mb, NULL, m, len * 2, STORE_QUOTA); /* one byte over would not fit */
	append(mb, NULL, m, len * 3 - 1, STORE_QUOTA);
	append(mb, NULL, m, len * 3, STORE_OK);
	uint64_t used, msgs;
	const char *e;
	assert_int_equal(mailbox_quota(mb, &used, &msgs, &e), STORE_OK);
	assert_true(used == len * 3 && msgs == 3);
	append(mb, NULL, m, 0, STORE_OK); /* 0 = no limit */
	store_mailbox_close(&mb);
}

static void dedup_and_files(void **state)
{
	(void)state;
	/* pack_max is 4k here: a big random body becomes a file */
	struct buf big;
	buf_init(&big, 0);
	buf_append_str(&big, "Subject: big\r\n\r\n");
	unsigned char rnd[8000];
	random_bytes(rnd, sizeof(rnd));
	buf_append_hex(&big, rnd, sizeof(rnd));
	buf_append_str(&big, "\r\n");
	struct mailbox *a = open_mb("example.test/da"), *b = open_mb("example.test/db");
	append(a, NULL, big.data, 0, STORE_OK);
	append(b, NULL, big.data, 0, STORE_OK);
	struct store_blob blob;
	const char *e;
	assert_int_equal(store_blob_put(st, big.data, big.len, &blob, &e), STORE_OK);
	assert_true(blob.file);
	char path[600];
	snprintf(path, sizeof(path), "%s/blobs/%.2s/%s.zst", root, blob.id, blob.id);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_nlink, 3);
	struct store_check_report r;
	assert_int_equal(mailbox_check(b, &r, false, &e), STORE_OK);
	store_mailbox_close(&a);
	store_mailbox_close(&b);
	buf_free(&big);
	/* a too-big message is refused */
	char *huge = xcalloc(1, 60 * 1024 * 1024);
	memset(huge, 'x', 60 * 1024 * 1024 - 1);
	assert_int_equal(store_blob_put(st, huge, 60 * 1024 * 1024, &blob, &e), STORE_TOOBIG);
	free(huge);
}

static void *create_same(void *arg)
{
	/* each thread has its own store handle (its own SQLite connections),
	 * as two worker processes would */
	int *result = arg;
	const char *e;
	struct store *s2 = store_open(cfg, &e);
	struct mailbox *mb;
	*result = store_mailbox_open(s2, "example.test/race", true, &mb, &e);
	if (*result == STORE_OK) {
		struct store_folder f;
		struct pool *p = pool_create("t", 0);
		*result = mailbox_folder_get(mb, p, "INBOX", &f, &e);
		pool_destroy(&p);
		store_mailbox_close(&mb);
	}
	store_close(&s2);
	return NULL;
}

/* A bug found: two writers creating one mailbox at once; the second saw the
 * file and used it before the first had written the schema ("no such
 * table: folders"). */
static void mailbox_created_by_two_writers(void **state)
{
	(void)state;
	for (int round = 0; round < 20; round++) {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf %s/example.test/race", root);
		(void)!system(cmd);
		pthread_t t[4];
		int res[4];
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, create_same, &res[i]);
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			assert_int_equal(res[i], STORE_OK);
		}
	}
}

static void message_read_roundtrip(void **state)
{
	(void)state;
	struct mailbox *mb = open_mb("example.test/rt");
	const char *text = "Subject: rt\r\n\r\nline\r\n";
	struct store_blob blob;
	const char *e;
	assert_int_equal(store_blob_put(st, text, strlen(text), &blob, &e), STORE_OK);
	struct store_append a = { .prefix = "X-Pre: 1\r\n", .prefix_len = 10 };
	uint32_t uid;
	assert_int_equal(mailbox_append(mb, &blob, &a, &uid, &e), STORE_OK);
	struct store_folder f;
	assert_int_equal(mailbox_folder_get(mb, pool, "INBOX", &f, &e), STORE_OK);
	assert_true(f.bytes == strlen(text) + 10);
	store_mailbox_close(&mb);
}

struct notify_ctx {
	struct ioloop *loop;
	int hits;
	uint64_t at_us;
};

static void on_change(void *ctx)
{
	struct notify_ctx *nc = ctx;
	if (nc->hits++ == 0)
		nc->at_us = time_monotonic_us();
	ioloop_stop(nc->loop);
}

static void give_up(void *ctx)
{
	ioloop_stop(ctx);
}

/* A delivery by another process wakes a watcher within milliseconds
 * (what IMAP IDLE needs), without polling. */
static void change_notification(void **state)
{
	(void)state;
	struct mailbox *mb = open_mb("example.test/watched");
	struct ioloop *loop = ioloop_create();
	const char *e;
	struct store_watcher *w = store_watcher_create(loop, &e);
	assert_non_null(w);
	struct notify_ctx nc = { loop, 0, 0 };
	struct store_watch *sw = store_watch_add(w, mailbox_notify_path(mb), on_change, &nc, &e);
	assert_non_null(sw);
	struct store_watch *sw2 = store_watch_add(w, mailbox_notify_path(mb), on_change, &nc, &e);
	fflush(NULL);
	uint64_t t0 = time_monotonic_us();
	pid_t pid = fork();
	if (pid == 0) {
		const char *e2;
		struct store *s2 = store_open(cfg, &e2);
		struct mailbox *m2;
		store_mailbox_open(s2, "example.test/watched", true, &m2, &e2);
		struct store_blob blob;
		const char *text = "Subject: ping\r\n\r\nx\r\n";
		store_blob_put(s2, text, strlen(text), &blob, &e2);
		struct store_append a = { 0 };
		_exit(mailbox_append(m2, &blob, &a, NULL, &e2) == STORE_OK ? 0 : 1);
	}
	struct timer *t = timer_add(loop, 5000, false, give_up, loop);
	ioloop_run(loop);
	timer_remove(&t);
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(nc.hits >= 1);
	/* the fork and the append itself take most of this */
	assert_true(nc.at_us - t0 < 2000000);
	store_watch_remove(&sw);
	store_watch_remove(&sw2);
	store_watcher_destroy(&w);
	ioloop_destroy(&loop);
	store_mailbox_close(&mb);
}

/* --- IMAP support --- */

static struct store_folder folder(struct mailbox *mb, const char *name)
{
	struct store_folder f;
	const char *e;
	if (mailbox_folder_get(mb, pool, name, &f, &e) != STORE_OK)
		fail_msg("%s", e);
	return f;
}

static void imap_sync_and_recent(void **state)
{
	(void)state;
	struct mailbox *mb = open_mb("example.test/sync");
	const char *e;
	for (int i = 0; i < 3; i++)
		append(mb, NULL, "Subject: s\r\n\r\nx\r\n", 0, STORE_OK);
	struct store_folder in = folder(mb, "INBOX");
	assert_int_equal(in.recent, 3);
	/* a SELECT: everything is new, and \Recent goes to this session */
	struct store_sync s = { .folder_id = in.id, .uidnext = 1, .claim_recent = true };
	assert_int_equal(mailbox_sync(mb, pool, &s, &e), STORE_OK);
	assert_int_equal(s.n_new, 3);
	assert_int_equal(s.new_uids[2], 3);
	assert_int_equal(s.recent_lo, 1);
	assert_int_equal(s.recent_hi, 4);
	uint64_t ms = s.folder.highestmodseq;
	store_sync_free(&s);
	/* the next session sees none of them as recent */
	assert_int_equal(folder(mb, "INBOX").recent, 0);
	/* a flag change and an expunge and a delivery since */
	uint32_t one[] = { 1 }, two[] = { 2 };
	struct store_flags_op op = { .mode = 1, .flags = STORE_FLAG_DELETED, .keywords = "$Junk foo" };
	struct store_flags_result res[1];
	assert_int_equal(mailbox_flags_store(mb, pool, in.id, two, 1, &op, res, &e), STORE_OK);
	assert_int_equal(res[0].status, STORE_FLAGS_CHANGED);
	assert_string_equal(res[0].keywords, "$Junk foo");
	op = (struct store_flags_op){ .mode = 1, .flags = STORE_FLAG_SEEN };
	assert_int_equal(mailbox_flags_store(mb, pool, in.id, one, 1, &op, res, &e), STORE_OK);
	uint32_t *gone;
	size_t ngone;
	assert_int_equal(mailbox_expunge_deleted(mb, in.id, NULL, 0, &gone, &ngone, &e), STORE_OK);
	assert_int_equal(ngone, 1);
	assert_int_equal(gone[0], 2);
	free(gone);
	append(mb, NULL, "Subject: s\r\n\r\ny\r\n", 0, STORE_OK);
	s = (struct store_sync){ .folder_id = in.id, .uidnext = 4, .modseq = ms, .claim_recent = true };
	assert_int_equal(mailbox_sync(mb, pool, &s, &e), STORE_OK);
	assert_int_equal(s.n_new, 1);
	assert_int_equal(s.new_uids[0], 4);
	assert_int_equal(s.n_expunged, 1);
	assert_int_equal(s.expunged[0], 2);
	assert_int_equal(s.n_changed, 1);
	assert_int_equal(s.changed[0].uid, 1);
	assert_int_equal(s.changed[0].flags, STORE_FLAG_SEEN);
	assert_int_equal(s.recent_lo, 4);
	assert_string_equal(s.folder.keywords, "$Junk foo");
	store_sync_free(&s);
	/* CONDSTORE: UNCHANGEDSINCE below the message's MODSEQ fails it */
	struct store_change *ch;
	size_t nch;
	assert_int_equal(mailbox_changes(mb, pool, in.id, 0, 1, 10, &ch, &nch, &e), STORE_OK);
	assert_int_equal(nch, 3);
	op = (struct store_flags_op){ .mode = 0, .flags = 0, .keywords = "FOO bar", .conditional = true,
				      .unchangedsince = ch[0].modseq - 1 };
	assert_int_equal(mailbox_flags_store(mb, pool, in.id, one, 1, &op, res, &e), STORE_OK);
	assert_int_equal(res[0].status, STORE_FLAGS_MODIFIED);
	op.unchangedsince = ch[0].modseq;
	assert_int_equal(mailbox_flags_store(mb, pool, in.id, one, 1, &op, res, &e), STORE_OK);
	assert_int_equal(res[0].status, STORE_FLAGS_CHANGED);
	/* the folder's spelling of a keyword wins */
	assert_string_equal(res[0].keywords, "foo bar");
	assert_int_equal(mailbox_flags_store(mb, pool, in.id, one, 1, &op, res, &e), STORE_OK);
	assert_int_equal(res[0].status, STORE_FLAGS_MODIFIED);
	op.conditional = false;
	assert_int_equal(mailbox_flags_store(mb, pool, in.id, one, 1, &op, res, &e), STORE_OK);
	assert_int_equal(res[0].status, STORE_FLAGS_UNCHANGED);
	uint32_t *vanished;
	size_t nv;
	assert_int_equal(mailbox_expunged(mb, in.id, 0, 1, 100, &vanished, &nv, &e), STORE_OK);
	assert_int_equal(nv, 1);
	free(vanished);
	store_mailbox_close(&mb);
}

static int count_msg(const struct store_message *m, void *ctx)
{
	size_t *n = ctx;
	assert_non_null(m->cache.envelope);
	(*n)++;
	return 0;
}

static void imap_copy_move_query(void **state)
{
	(void)state;
	struct mailbox *mb = open_mb("example.test/copy");
	const char *e;
	const char *m = "Subject: c\r\n\r\n0123456789\r\n";
	uint64_t len = strlen(m);
	struct store_blob blob;
	assert_int_equal(store_blob_put(st, m, len, &blob, &e), STORE_OK);
	struct pool *cp = pool_create("c", 0);
	struct store_append a = { .keywords = "kw1" };
	store_cache_compute(cp, m, len, &a.cache);
	uint32_t uid;
	assert_int_equal(mailbox_append(mb, &blob, &a, &uid, &e), STORE_OK);
	assert_int_equal(mailbox_append(mb, &blob, &a, &uid, &e), STORE_OK);
	struct store_folder in = folder(mb, "INBOX");
	uint32_t uids[] = { 1, 2, 77 }, nu[3], uv;
	/* over quota: nothing copied */
	struct store_copy c = { .quota = len * 3 };
	assert_int_equal(mailbox_copy_ex(mb, in.id, uids, 3, "Archive", &c, nu, &uv, &e), STORE_QUOTA);
	assert_int_equal(folder(mb, "Archive").messages, 0);
	c.quota = len * 4;
	assert_int_equal(mailbox_copy_ex(mb, in.id, uids, 3, "Archive", &c, nu, &uv, &e), STORE_OK);
	assert_int_equal(nu[0], 1);
	assert_int_equal(nu[1], 2);
	assert_int_equal(nu[2], 0);
	assert_int_equal(uv, folder(mb, "Archive").uidvalidity);
	assert_string_equal(folder(mb, "Archive").keywords, "kw1");
	assert_int_equal(mailbox_copy_ex(mb, in.id, uids, 1, "Nope", &c, nu, &uv, &e), STORE_NOTFOUND);
	/* move: gone from the source, recorded as expunged */
	c = (struct store_copy){ .move = true, .quota = 1 };
	assert_int_equal(mailbox_copy_ex(mb, in.id, uids, 1, "Trash", &c, nu, &uv, &e), STORE_OK);
	in = folder(mb, "INBOX");
	assert_int_equal(in.messages, 1);
	assert_int_equal(folder(mb, "Trash").messages, 1);
	/* query with the cached columns, limited */
	size_t n = 0;
	struct store_query q = { .folder_id = folder(mb, "Archive").id, .uid_lo = 1, .uid_hi = 10,
				 .want = STORE_WANT_CACHE, .limit = 1 };
	assert_int_equal(mailbox_query(mb, pool, &q, count_msg, &n, &e), STORE_OK);
	assert_int_equal(n, 1);
	/* subscriptions outlive folders */
	assert_int_equal(mailbox_folder_create(mb, "Sub", NULL, &e), STORE_OK);
	assert_int_equal(mailbox_folder_subscribe(mb, "Sub", true, &e), STORE_OK);
	assert_int_equal(mailbox_folder_delete(mb, "Sub", &e), STORE_OK);
	const char **names;
	size_t nn;
	assert_int_equal(mailbox_subscriptions(mb, pool, &names, &nn, &e), STORE_OK);
	bool found = false;
	for (size_t i = 0; i < nn; i++)
		found = found || strcmp(names[i], "Sub") == 0;
	assert_true(found);
	assert_int_equal(mailbox_folder_subscribe(mb, "Sub", false, &e), STORE_OK);
	assert_int_equal(mailbox_folder_subscribe(mb, "Sub", true, &e), STORE_NOTFOUND);
	/* RENAME INBOX: the messages move, INBOX stays and is empty */
	assert_int_equal(mailbox_folder_rename(mb, "INBOX", "Old", &e), STORE_OK);
	assert_int_equal(folder(mb, "INBOX").messages, 0);
	assert_int_equal(folder(mb, "Old").messages, 1);
	struct store_check_report r;
	assert_int_equal(mailbox_check(mb, &r, false, &e), STORE_OK);
	pool_destroy(&cp);
	store_mailbox_close(&mb);
}

/* The IMAP cache goes into the index compressed (version 4) and comes
 * back field for field, through both readers; a field that was not
 * cached stays NULL, and a message without a cache has none. */
struct cache_case {
	struct store_cache c;
};

static const struct cache_case cache_cases[] = {
	{ { "(\"Mon, 2 Nov 2026 10:00:00 +0000\" \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL)",
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL)",
	    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"7BIT\" 5 1)",
	    "Subject: hi\r\nFrom: a@example.org\r\n" } },
	{ { "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)", "", "x", NULL } },
	{ { NULL, NULL, NULL, "Subject: only headers\r\n" } },
	{ { NULL, NULL, NULL, NULL } },
};

static void assert_str_or_null(const char *want, const char *got)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(want, got);
}

static void assert_cache(const struct store_cache *want, const struct store_cache *got)
{
	assert_str_or_null(want->envelope, got->envelope);
	assert_str_or_null(want->bodystructure, got->bodystructure);
	assert_str_or_null(want->body, got->body);
	assert_str_or_null(want->headers, got->headers);
}

struct cache_seen {
	size_t n;
	struct store_cache c[N_ELEMENTS(cache_cases)];
};

static int cache_seen(const struct store_message *m, void *ctx)
{
	struct cache_seen *seen = ctx;
	assert_true(seen->n < N_ELEMENTS(cache_cases));
	seen->c[seen->n++] = m->cache;
	return 0;
}

static void imap_cache_roundtrip(void **state)
{
	(void)state;
	struct mailbox *mb = open_mb("example.test/cache");
	const char *e;
	for (size_t i = 0; i < N_ELEMENTS(cache_cases); i++) {
		char text[64];
		snprintf(text, sizeof(text), "Subject: %zu\r\n\r\nbody\r\n", i);
		struct store_blob blob;
		assert_int_equal(store_blob_put(st, text, strlen(text), &blob, &e), STORE_OK);
		struct store_append a = { .cache = cache_cases[i].c };
		assert_int_equal(mailbox_append(mb, &blob, &a, NULL, &e), STORE_OK);
	}
	struct store_folder f;
	assert_int_equal(mailbox_folder_get(mb, pool, "INBOX", &f, &e), STORE_OK);
	struct cache_seen seen = { 0 };
	assert_int_equal(mailbox_messages(mb, pool, f.id, 1, UINT32_MAX, cache_seen, &seen, &e), STORE_OK);
	assert_int_equal(seen.n, N_ELEMENTS(cache_cases));
	for (size_t i = 0; i < N_ELEMENTS(cache_cases); i++)
		assert_cache(&cache_cases[i].c, &seen.c[i]);
	memset(&seen, 0, sizeof(seen));
	struct store_query q = { .folder_id = f.id, .uid_lo = 1, .uid_hi = UINT32_MAX,
				 .want = STORE_WANT_CACHE };
	assert_int_equal(mailbox_query(mb, pool, &q, cache_seen, &seen, &e), STORE_OK);
	assert_int_equal(seen.n, N_ELEMENTS(cache_cases));
	for (size_t i = 0; i < N_ELEMENTS(cache_cases); i++)
		assert_cache(&cache_cases[i].c, &seen.c[i]);
	store_mailbox_close(&mb);
}

int main(void)
{
	config_register(store_config_keys);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(folders_and_uids),
		cmocka_unit_test(quota_edges),
		cmocka_unit_test(dedup_and_files),
		cmocka_unit_test(mailbox_created_by_two_writers),
		cmocka_unit_test(message_read_roundtrip),
		cmocka_unit_test(change_notification),
		cmocka_unit_test(imap_sync_and_recent),
		cmocka_unit_test(imap_copy_move_query),
		cmocka_unit_test(imap_cache_roundtrip),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
