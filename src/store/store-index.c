/*
 * An owner's index: index.sqlite in WAL mode with synchronous=FULL, so a
 * commit is on disk when it returns.  Folder counters and the quota are
 * kept by triggers, inside the same transaction as the change itself.
 */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A message row carries the IMAP cache, so it is a rowid table: in a
 * WITHOUT ROWID table a row over about 1,000 bytes spills into an
 * overflow page of its own, and two thirds of the index were such
 * half-empty pages (version 3).  The cache is one zstd frame (see
 * store-cache.c): the four text columns it replaced were about 1 KB a
 * message and owner, two thirds of an index (version 4). */
#define MESSAGES_COLS \
	" folder_id INTEGER NOT NULL, uid INTEGER NOT NULL, modseq INTEGER NOT NULL," \
	" flags INTEGER NOT NULL DEFAULT 0, keywords TEXT, internal_date INTEGER NOT NULL," \
	" saved INTEGER NOT NULL, size INTEGER NOT NULL, blob TEXT NOT NULL," \
	" blob_file INTEGER NOT NULL, prefix BLOB, pop3_uidl TEXT, cache BLOB," \
	" PRIMARY KEY (folder_id, uid)"
/* The columns that versions 3 and 4 share. */
#define MESSAGES_BASE_NAMES \
	"folder_id, uid, modseq, flags, keywords, internal_date, saved, size, blob, blob_file," \
	" prefix, pop3_uidl"
/* Version 3's table, as the migration to version 3 made it. */
#define MESSAGES_COLS_V3 \
	" folder_id INTEGER NOT NULL, uid INTEGER NOT NULL, modseq INTEGER NOT NULL," \
	" flags INTEGER NOT NULL DEFAULT 0, keywords TEXT, internal_date INTEGER NOT NULL," \
	" saved INTEGER NOT NULL, size INTEGER NOT NULL, blob TEXT NOT NULL," \
	" blob_file INTEGER NOT NULL, prefix BLOB, pop3_uidl TEXT, envelope TEXT," \
	" bodystructure TEXT, body TEXT, headers TEXT," \
	" PRIMARY KEY (folder_id, uid)"
#define MESSAGES_V3_CACHE "envelope, bodystructure, body, headers"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta VALUES ('version', 1), ('quota_used', 0),"
	" ('quota_messages', 0), ('last_uidvalidity', 0);"
	"CREATE TABLE IF NOT EXISTS folders ("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, special_use TEXT,"
	" uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL DEFAULT 1,"
	" highestmodseq INTEGER NOT NULL DEFAULT 1, messages INTEGER NOT NULL DEFAULT 0,"
	" unseen INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0, subscribed INTEGER NOT NULL DEFAULT 1,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS messages (" MESSAGES_COLS ");"
	"CREATE INDEX IF NOT EXISTS messages_blob ON messages(blob);"
	"CREATE INDEX IF NOT EXISTS messages_modseq ON messages(folder_id, modseq);"
	"CREATE TABLE IF NOT EXISTS expunged (folder_id INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL, PRIMARY KEY (folder_id, uid)) WITHOUT ROWID;"
	"CREATE TRIGGER IF NOT EXISTS msg_ins AFTER INSERT ON messages BEGIN"
	" UPDATE folders SET messages = messages + 1, unseen = unseen + ((NEW.flags & 1) = 0),"
	"  deleted = deleted + ((NEW.flags & 8) != 0), bytes = bytes + NEW.size"
	"  WHERE id = NEW.folder_id;"
	" UPDATE meta SET value = value + NEW.size WHERE key = 'quota_used';"
	" UPDATE meta SET value = value + 1 WHERE key = 'quota_messages';"
	"END;"
	"CREATE TRIGGER IF NOT EXISTS msg_del AFTER DELETE ON messages BEGIN"
	" UPDATE folders SET messages = messages - 1, unseen = unseen - ((OLD.flags & 1) = 0),"
	"  deleted = deleted - ((OLD.flags & 8) != 0), bytes = bytes - OLD.size"
	"  WHERE id = OLD.folder_id;"
	" UPDATE meta SET value = value - OLD.size WHERE key = 'quota_used';"
	" UPDATE meta SET value = value - 1 WHERE key = 'quota_messages';"
	"END;"
	"CREATE TRIGGER IF NOT EXISTS msg_flags AFTER UPDATE OF flags ON messages BEGIN"
	" UPDATE folders SET unseen = unseen + ((NEW.flags & 1) = 0) - ((OLD.flags & 1) = 0),"
	"  deleted = deleted + ((NEW.flags & 8) != 0) - ((OLD.flags & 8) != 0)"
	"  WHERE id = NEW.folder_id;"
	"END;";

/* Version 2 (IMAP): the keywords a folder has seen (FLAGS and
 * PERMANENTFLAGS), the first UID no session has seen as \Recent yet,
 * subscriptions kept apart from folders (a subscription outlives its
 * folder, RFC 3501 6.3.6), and expunges found by MODSEQ for QRESYNC. */
static const char migrate_v2[] =
	"ALTER TABLE folders ADD COLUMN keywords TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE folders ADD COLUMN first_recent INTEGER NOT NULL DEFAULT 1;"
	"UPDATE folders SET first_recent = uidnext;"
	"CREATE TABLE IF NOT EXISTS subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO subscriptions SELECT name FROM folders WHERE subscribed = 1;"
	"CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder_id, modseq);"
	"UPDATE meta SET value = 2 WHERE key = 'version';";

/* Version 3: messages becomes a rowid table (see MESSAGES_COLS); the
 * indexes and triggers on it are made again by the schema. */
static const char migrate_v3[] =
	"DROP TABLE IF EXISTS messages_v3;"
	"CREATE TABLE messages_v3 (" MESSAGES_COLS_V3 ");"
	"INSERT INTO messages_v3 (" MESSAGES_BASE_NAMES ", " MESSAGES_V3_CACHE ") SELECT "
	MESSAGES_BASE_NAMES ", " MESSAGES_V3_CACHE " FROM messages;"
	"DROP TABLE messages;"
	"ALTER TABLE messages_v3 RENAME TO messages;"
	"UPDATE meta SET value = 3 WHERE key = 'version';";

/* Version 4: the four cache columns become one compressed one, packed
 * by ombu_cache_pack() (sql_cache_pack below); indexes and triggers are
 * made again by the schema. */
static const char migrate_v4[] =
	"DROP TABLE IF EXISTS messages_v4;"
	"CREATE TABLE messages_v4 (" MESSAGES_COLS ");"
	"INSERT INTO messages_v4 (" MESSAGES_BASE_NAMES ", cache) SELECT " MESSAGES_BASE_NAMES ","
	" ombu_cache_pack(" MESSAGES_V3_CACHE ") FROM messages;"
	"DROP TABLE messages;"
	"ALTER TABLE messages_v4 RENAME TO messages;"
	"UPDATE meta SET value = 4 WHERE key = 'version';";

#define INDEX_VERSION 4

static const struct {
	const char *name, *special_use;
} default_folders[] = {
	{ "INBOX", NULL }, { "Drafts", "\\Drafts" }, { "Sent", "\\Sent" },
	{ "Spam", "\\Junk" }, { "Trash", "\\Trash" }, { "Archive", "\\Archive" },
};

static void finalize(void *p)
{
	sqlite3_finalize(p);
}

void index_close(struct mailbox *mb)
{
	if (mb->stmts != NULL) {
		hash_clear(mb->stmts, finalize);
		hash_destroy(&mb->stmts);
	}
	if (mb->db != NULL)
		sqlite3_close(mb->db);
	mb->db = NULL;
}

/* A cached prepared statement, reset and ready to bind. */
sqlite3_stmt *index_stmt(struct mailbox *mb, const char *sql, const char **error_r)
{
	size_t len = strlen(sql);
	sqlite3_stmt *s = hash_get(mb->stmts, sql, len);
	if (s != NULL) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	if (sqlite3_prepare_v2(mb->db, sql, (int)len, &s, NULL) != SQLITE_OK) {
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return NULL;
	}
	hash_put(mb->stmts, sql, len, s);
	return s;
}

int index_exec(struct mailbox *mb, const char *sql, const char **error_r)
{
	char *err = NULL;
	if (sqlite_exec_retry(mb->db, sql, mb->st->busy_ms, &err) != SQLITE_OK) {
		*error_r = store_errf("%s: %s", mb->owner, err != NULL ? err : sqlite3_errmsg(mb->db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int index_begin(struct mailbox *mb, const char **error_r)
{
	return index_exec(mb, "BEGIN IMMEDIATE", error_r);
}

int index_commit(struct mailbox *mb, const char **error_r)
{
	return index_exec(mb, "COMMIT", error_r);
}

void index_rollback(struct mailbox *mb)
{
	const char *e;
	if (!sqlite3_get_autocommit(mb->db))
		index_exec(mb, "ROLLBACK", &e);
}

int index_step_done(struct mailbox *mb, sqlite3_stmt *s, const char **error_r)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
	return -1;
}

int64_t index_meta_get(struct mailbox *mb, const char *key, const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb, "SELECT value FROM meta WHERE key = ?", error_r);
	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	return v;
}

/* UIDVALIDITY: the creation time, but strictly increasing per owner so a
 * folder deleted and created again within a second gets a new one. */
static uint32_t next_uidvalidity(struct mailbox *mb, const char **error_r)
{
	int64_t last = index_meta_get(mb, "last_uidvalidity", error_r);
	int64_t v = time_now();
	if (v <= last)
		v = last + 1;
	sqlite3_stmt *s = index_stmt(mb, "UPDATE meta SET value = ? WHERE key = 'last_uidvalidity'", error_r);
	if (s == NULL)
		return 0;
	sqlite3_bind_int64(s, 1, v);
	if (index_step_done(mb, s, error_r) < 0)
		return 0;
	return (uint32_t)v;
}

/* "inbox" and "Inbox/sub" name INBOX: the one case-insensitive name. */
const char *index_canonical(struct pool *pool, const char *name, char *tmp, size_t size)
{
	(void)pool;
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/')) {
		snprintf(tmp, size, "INBOX%s", name + 5);
		return tmp;
	}
	return name;
}

static int create_folder_locked(struct mailbox *mb, const char *name, const char *special,
				const char **error_r)
{
	uint32_t uv = next_uidvalidity(mb, error_r);
	if (uv == 0)
		return STORE_FAIL;
	sqlite3_stmt *s = index_stmt(mb, "INSERT INTO folders (name, special_use, uidvalidity, created)"
				   " VALUES (?, ?, ?, ?)", error_r);
	if (s == NULL)
		return STORE_FAIL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (special != NULL)
		sqlite3_bind_text(s, 2, special, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uv);
	sqlite3_bind_int64(s, 4, time_now());
	int rc = sqlite3_step(s);
	if (rc == SQLITE_CONSTRAINT) {
		*error_r = store_errf("folder %s exists already", name);
		return STORE_EXISTS;
	}
	if (rc != SQLITE_DONE) {
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	return STORE_OK;
}

static bool has_schema(struct mailbox *mb)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(mb->db, "SELECT 1 FROM sqlite_master WHERE name = 'folders'", -1, &s,
			       NULL) != SQLITE_OK)
		return false;
	bool found = sqlite3_step(s) == SQLITE_ROW;
	sqlite3_finalize(s);
	return found;
}

/* ombu_cache_pack(envelope, bodystructure, body, headers): version 4's
 * cache column from version 3's four; NULL when there is nothing to
 * keep or it does not pack (the reader then computes it). */
static void sql_cache_pack(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct mailbox *mb = sqlite3_user_data(ctx);
	struct store_cache c = { 0 };
	const char **fields[] = { &c.envelope, &c.bodystructure, &c.body, &c.headers };
	for (int i = 0; i < argc && i < (int)N_ELEMENTS(fields); i++)
		if (sqlite3_value_type(argv[i]) != SQLITE_NULL)
			*fields[i] = (const char *)sqlite3_value_text(argv[i]);
	struct buf b;
	buf_init(&b, 0);
	const char *err;
	if (cache_pack(mb->st, &c, &b, &err) == 0)
		sqlite3_result_blob(ctx, b.data, (int)b.len, SQLITE_TRANSIENT);
	else
		sqlite3_result_null(ctx);
	buf_free(&b);
}

/* Brings an existing index up to INDEX_VERSION, under the write lock
 * and checked again there (another process may be migrating it). */
static int migrate(struct mailbox *mb, const char **error_r)
{
	const char *err = NULL;
	if (index_meta_get(mb, "version", &err) >= INDEX_VERSION && err == NULL)
		return STORE_OK;
	if (sqlite3_create_function(mb->db, "ombu_cache_pack", 4, SQLITE_UTF8, mb, sql_cache_pack,
				    NULL, NULL) != SQLITE_OK) {
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	if (index_begin(mb, error_r) < 0)
		return STORE_FAIL;
	err = NULL;
	int64_t v = index_meta_get(mb, "version", &err);
	int64_t from = v;
	if (err == NULL && v < 2 && index_exec(mb, migrate_v2, &err) < 0)
		v = -1;
	if (err == NULL && v >= 0 && v < 3 && index_exec(mb, migrate_v3, &err) < 0)
		v = -1;
	if (err == NULL && v >= 0 && v < 4 &&
	    (index_exec(mb, migrate_v4, &err) < 0 || index_exec(mb, schema, &err) < 0))
		v = -1;
	if (err != NULL || v < 0) {
		*error_r = err != NULL ? err : "migration failed";
		index_rollback(mb);
		return STORE_FAIL;
	}
	if (index_commit(mb, error_r) < 0) {
		index_rollback(mb);
		return STORE_FAIL;
	}
	/* the old table's pages go back to the file system (best effort:
	 * a reader elsewhere may hold the database; the next store gc
	 * tries again) */
	if (from < INDEX_VERSION && index_exec(mb, "VACUUM", &err) < 0)
		log_info("store.vacuum_later", "owner=%s error=%s", log_str(mb->owner), log_str(err));
	return STORE_OK;
}

int index_open(struct mailbox *mb, bool create, const char **error_r)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", mb->dir);
	bool exists = access(path, F_OK) == 0;
	if (!exists && !create) {
		*error_r = store_errf("mailbox %s does not exist", mb->owner);
		return STORE_NOTFOUND;
	}
	if (!exists) {
		if (mkdir_p(mb->dir, 0750) < 0) {
			*error_r = store_errf("cannot create %s: %s", mb->dir, strerror(errno));
			return STORE_FAIL;
		}
		/* every new directory entry up to the volume must survive a
		 * crash */
		char parent[4096];
		str_copy(parent, mb->dir, sizeof(parent));
		size_t rootlen = strlen(mb->st->root);
		char *slash;
		while ((slash = strrchr(parent, '/')) != NULL && (size_t)(slash - parent) >= rootlen) {
			*slash = '\0';
			fsync_dir(parent);
		}
	}
	if (sqlite3_open_v2(path, &mb->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*error_r = store_errf("cannot open %s: %s", path, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	mb->stmts = hash_create(32);
	store_sqlite_busy(mb->db, mb->st->busy_ms);
	/* The journal is checkpointed every 128 pages (512 KiB) and restarts
	 * from its beginning; it is cut back only above 1 MiB (a group
	 * commit may take it past the checkpoint size), so that
	 * after the first round a commit overwrites blocks the WAL already
	 * has.  An fdatasync that does not grow the file writes no inode:
	 * one I/O round trip instead of two, a third of a delivery's
	 * commit time.  The WAL goes away when the index is closed. */
	if (index_exec(mb, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     " PRAGMA wal_autocheckpoint=128; PRAGMA journal_size_limit=1048576;", error_r) < 0)
		return STORE_FAIL;
	if (has_schema(mb))
		return migrate(mb, error_r);
	if (!create) {
		*error_r = store_errf("mailbox %s does not exist", mb->owner);
		return STORE_NOTFOUND;
	}
	/* Created under the write lock, and checked again there: another
	 * process may be creating the same mailbox right now. */
	if (index_begin(mb, error_r) < 0)
		return STORE_FAIL;
	if (has_schema(mb)) {
		if (index_commit(mb, error_r) < 0)
			return STORE_FAIL;
		return migrate(mb, error_r);
	}
	if (index_exec(mb, schema, error_r) < 0) {
		index_rollback(mb);
		return STORE_FAIL;
	}
	for (size_t i = 0; i < N_ELEMENTS(default_folders); i++) {
		if (create_folder_locked(mb, default_folders[i].name,
					 default_folders[i].special_use, error_r) != STORE_OK) {
			index_rollback(mb);
			return STORE_FAIL;
		}
	}
	/* the schema is version 4's already: messages is a rowid table
	 * with one cache column */
	if (index_exec(mb, migrate_v2, error_r) < 0 ||
	    index_exec(mb, "UPDATE meta SET value = 4 WHERE key = 'version';", error_r) < 0) {
		index_rollback(mb);
		return STORE_FAIL;
	}
	if (index_commit(mb, error_r) < 0) {
		index_rollback(mb);
		return STORE_FAIL;
	}
	fsync_dir(mb->dir);
	return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Folders                                                             */

void index_folder_row(sqlite3_stmt *s, struct pool *pool, struct store_folder *f)
{
	f->id = sqlite3_column_int64(s, 0);
	f->name = pool_strdup(pool, (const char *)sqlite3_column_text(s, 1));
	const char *su = (const char *)sqlite3_column_text(s, 2);
	f->special_use = su != NULL ? pool_strdup(pool, su) : NULL;
	f->uidvalidity = (uint32_t)sqlite3_column_int64(s, 3);
	f->uidnext = (uint32_t)sqlite3_column_int64(s, 4);
	f->highestmodseq = (uint64_t)sqlite3_column_int64(s, 5);
	f->messages = (uint32_t)sqlite3_column_int64(s, 6);
	f->unseen = (uint32_t)sqlite3_column_int64(s, 7);
	f->deleted = (uint32_t)sqlite3_column_int64(s, 8);
	f->bytes = (uint64_t)sqlite3_column_int64(s, 9);
	f->subscribed = sqlite3_column_int(s, 10) != 0;
	const char *kw = (const char *)sqlite3_column_text(s, 11);
	f->keywords = pool_strdup(pool, kw != NULL ? kw : "");
	f->first_recent = (uint32_t)sqlite3_column_int64(s, 12);
	f->recent = (uint32_t)sqlite3_column_int64(s, 13);
}

int mailbox_folder_list(struct mailbox *mb, struct pool *pool,
			struct store_folder **folders_r, size_t *n_r, const char **error_r)
{
	mailbox_lock(mb);
	sqlite3_stmt *s = index_stmt(mb, "SELECT " FOLDER_COLS " FROM folders ORDER BY"
				   " name = 'INBOX' DESC, name", error_r);
	if (s == NULL) {
		mailbox_unlock(mb);
		return STORE_FAIL;
	}
	size_t n = 0, cap = 8;
	struct store_folder *f = POOL_NEW_ARRAY(pool, struct store_folder, cap);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			f = pool_realloc(pool, f, cap * sizeof(*f), cap * 2 * sizeof(*f));
			cap *= 2;
		}
		index_folder_row(s, pool, &f[n++]);
	}
	if (rc != SQLITE_DONE) {
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		mailbox_unlock(mb);
		return STORE_FAIL;
	}
	sqlite3_reset(s);
	mailbox_unlock(mb);
	*folders_r = f;
	*n_r = n;
	return STORE_OK;
}

static int folder_get(struct mailbox *mb, struct pool *pool, const char *name, bool recent,
		      struct store_folder *f_r, const char **error_r)
{
	char tmp[300];
	name = index_canonical(pool, name, tmp, sizeof(tmp));
	sqlite3_stmt *s = index_stmt(mb, recent ? "SELECT " FOLDER_COLS " FROM folders WHERE name = ?" :
				     "SELECT " FOLDER_COLS_NORECENT " FROM folders WHERE name = ?", error_r);
	if (s == NULL)
		return STORE_FAIL;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		index_folder_row(s, pool, f_r);
		sqlite3_reset(s);
		return STORE_OK;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		*error_r = store_errf("folder %s does not exist", name);
		return STORE_NOTFOUND;
	}
	*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
	return STORE_FAIL;
}

/* Without the recent count (f_r->recent = 0). */
int index_folder_get_locked(struct mailbox *mb, struct pool *pool, const char *name,
			     struct store_folder *f_r, const char **error_r)
{
	return folder_get(mb, pool, name, false, f_r, error_r);
}

int mailbox_folder_get(struct mailbox *mb, struct pool *pool, const char *name,
		       struct store_folder *f_r, const char **error_r)
{
	mailbox_lock(mb);
	int r = folder_get(mb, pool, name, true, f_r, error_r);
	mailbox_unlock(mb);
	return r;
}

int mailbox_folder_create(struct mailbox *mb, const char *name, const char *special_use,
			  const char **error_r)
{
	char tmp[300];
	if (!store_folder_name_valid(name)) {
		*error_r = "invalid folder name";
		return STORE_INVALID;
	}
	name = index_canonical(NULL, name, tmp, sizeof(tmp));
	mailbox_lock(mb);
	int r = STORE_FAIL;
	if (index_begin(mb, error_r) == 0) {
		r = create_folder_locked(mb, name, special_use, error_r);
		if (r == STORE_OK && index_commit(mb, error_r) < 0)
			r = STORE_FAIL;
		if (r != STORE_OK)
			index_rollback(mb);
	}
	mailbox_unlock(mb);
	if (r == STORE_OK)
		mailbox_notify(mb);
	return r;
}


/* Blob ids of file blobs that no message of the owner refers to any
 * more (after a delete in the current transaction). */
static int unreferenced_files(struct mailbox *mb, const struct blob_ref *cand, size_t n,
			      bool *gone, const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb, "SELECT 1 FROM messages WHERE blob = ? LIMIT 1", error_r);
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, cand[i].id, -1, SQLITE_STATIC);
		gone[i] = sqlite3_step(s) == SQLITE_DONE;
	}
	sqlite3_reset(s);
	return 0;
}

void index_release_blobs(struct mailbox *mb, struct blob_ref *refs, size_t n)
{
	if (n == 0)
		return;
	const char *err;
	bool *gone = xcalloc(n, sizeof(bool));
	mailbox_lock(mb);
	int r = unreferenced_files(mb, refs, n, gone, &err);
	mailbox_unlock(mb);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (gone[i])
			blob_unlink_owner(mb->st, mb, refs[i].id);
	}
	free(gone);
}

/* File blobs of the messages selected by `where` (bound by the caller's
 * binder), collected before they are deleted. */
struct blob_ref *index_collect_file_blobs(struct mailbox *mb, sqlite3_stmt *s, size_t *n_r)
{
	struct blob_ref *refs = NULL;
	size_t n = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_int(s, 1) == 0)
			continue;
		refs = xrealloc(refs, (n + 1) * sizeof(*refs));
		str_copy(refs[n].id, (const char *)sqlite3_column_text(s, 0), sizeof(refs[n].id));
		n++;
	}
	sqlite3_reset(s);
	*n_r = n;
	(void)mb;
	return refs;
}

int mailbox_folder_delete(struct mailbox *mb, const char *name, const char **error_r)
{
	char tmp[300];
	name = index_canonical(NULL, name, tmp, sizeof(tmp));
	if (strcmp(name, "INBOX") == 0) {
		*error_r = "INBOX cannot be deleted";
		return STORE_INVALID;
	}
	mailbox_lock(mb);
	struct pool *pool = pool_create("folder-delete", 0);
	struct store_folder f = { 0 };
	struct blob_ref *refs = NULL;
	size_t nrefs = 0;
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL : index_folder_get_locked(mb, pool, name, &f, error_r);
	if (r == STORE_OK) {
		sqlite3_stmt *s = index_stmt(mb, "SELECT blob, blob_file FROM messages WHERE folder_id = ?", error_r);
		if (s == NULL) {
			r = STORE_FAIL;
		} else {
			sqlite3_bind_int64(s, 1, f.id);
			refs = index_collect_file_blobs(mb, s, &nrefs);
		}
	}
	static const char *const dels[] = {
		"DELETE FROM messages WHERE folder_id = ?",
		"DELETE FROM expunged WHERE folder_id = ?",
		"DELETE FROM folders WHERE id = ?",
	};
	for (size_t i = 0; r == STORE_OK && i < N_ELEMENTS(dels); i++) {
		sqlite3_stmt *s = index_stmt(mb, dels[i], error_r);
		if (s == NULL) {
			r = STORE_FAIL;
			break;
		}
		sqlite3_bind_int64(s, 1, f.id);
		if (index_step_done(mb, s, error_r) < 0)
			r = STORE_FAIL;
	}
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	pool_destroy(&pool);
	if (r == STORE_OK) {
		index_release_blobs(mb, refs, nrefs);
		mailbox_notify(mb);
	}
	free(refs);
	return r;
}

/* RENAME INBOX (RFC 3501 6.3.5): every message moves to a new folder,
 * INBOX stays, empty, and its folders below it stay where they are. */
static int rename_inbox(struct mailbox *mb, const char *to, const char **error_r)
{
	mailbox_lock(mb);
	struct pool *pool = pool_create("rename-inbox", 0);
	struct store_folder in = { 0 }, nf = { 0 };
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL
		: index_folder_get_locked(mb, pool, "INBOX", &in, error_r);
	if (r == STORE_OK)
		r = create_folder_locked(mb, to, NULL, error_r);
	if (r == STORE_OK)
		r = index_folder_get_locked(mb, pool, to, &nf, error_r);
	uint64_t modseq = in.highestmodseq + 1;
	static const char *const sqls[] = {
		/* the messages' UIDs stay: the new folder has its own UIDVALIDITY */
		"UPDATE folders SET uidnext = ?2, highestmodseq = ?3, messages = ?4, unseen = ?5,"
		" deleted = ?6, bytes = ?7, keywords = ?8 WHERE id = ?1",
		"INSERT OR REPLACE INTO expunged (folder_id, uid, modseq)"
		" SELECT ?9, uid, ?3 FROM messages WHERE folder_id = ?9",
		"UPDATE messages SET folder_id = ?1 WHERE folder_id = ?9",
		"UPDATE folders SET messages = 0, unseen = 0, deleted = 0, bytes = 0,"
		" highestmodseq = ?3, first_recent = uidnext WHERE id = ?9",
	};
	for (size_t i = 0; r == STORE_OK && i < N_ELEMENTS(sqls); i++) {
		sqlite3_stmt *s = index_stmt(mb, sqls[i], error_r);
		if (s == NULL) {
			r = STORE_FAIL;
			break;
		}
		sqlite3_bind_int64(s, 1, nf.id);
		sqlite3_bind_int64(s, 2, in.uidnext);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)modseq);
		sqlite3_bind_int64(s, 4, in.messages);
		sqlite3_bind_int64(s, 5, in.unseen);
		sqlite3_bind_int64(s, 6, in.deleted);
		sqlite3_bind_int64(s, 7, (sqlite3_int64)in.bytes);
		sqlite3_bind_text(s, 8, in.keywords != NULL ? in.keywords : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 9, in.id);
		if (index_step_done(mb, s, error_r) < 0)
			r = STORE_FAIL;
	}
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	pool_destroy(&pool);
	if (r == STORE_OK)
		mailbox_notify(mb);
	return r;
}

int mailbox_folder_rename(struct mailbox *mb, const char *from, const char *to,
			  const char **error_r)
{
	char t1[300], t2[300];
	if (!store_folder_name_valid(to)) {
		*error_r = "invalid folder name";
		return STORE_INVALID;
	}
	from = index_canonical(NULL, from, t1, sizeof(t1));
	to = index_canonical(NULL, to, t2, sizeof(t2));
	if (strcmp(to, "INBOX") == 0 || str_has_prefix(to, "INBOX/")) {
		*error_r = "INBOX cannot be the target of a rename";
		return STORE_INVALID;
	}
	if (strcmp(from, "INBOX") == 0)
		return rename_inbox(mb, to, error_r);
	mailbox_lock(mb);
	int r = STORE_OK;
	if (index_begin(mb, error_r) < 0) {
		r = STORE_FAIL;
	} else {
		/* the folder and everything below it */
		sqlite3_stmt *s = index_stmt(mb, "UPDATE folders SET name = ? || substr(name, ?)"
					   " WHERE name = ? OR substr(name, 1, ?) = ?", error_r);
		if (s == NULL) {
			r = STORE_FAIL;
		} else {
			char prefix[300];
			if (snprintf(prefix, sizeof(prefix), "%s/", from) >= (int)sizeof(prefix))
				prefix[0] = '\0';
			sqlite3_bind_text(s, 1, to, -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 2, (int)strlen(from) + 1);
			sqlite3_bind_text(s, 3, from, -1, SQLITE_STATIC);
			sqlite3_bind_int(s, 4, (int)strlen(prefix));
			sqlite3_bind_text(s, 5, prefix, -1, SQLITE_TRANSIENT);
			int rc = sqlite3_step(s);
			if (rc == SQLITE_CONSTRAINT) {
				*error_r = store_errf("folder %s exists already", to);
				r = STORE_EXISTS;
			} else if (rc != SQLITE_DONE) {
				*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
				r = STORE_FAIL;
			} else if (sqlite3_changes(mb->db) == 0) {
				*error_r = store_errf("folder %s does not exist", from);
				r = STORE_NOTFOUND;
			}
		}
		if (r == STORE_OK && index_commit(mb, error_r) < 0)
			r = STORE_FAIL;
		if (r != STORE_OK)
			index_rollback(mb);
	}
	mailbox_unlock(mb);
	if (r == STORE_OK)
		mailbox_notify(mb);
	return r;
}

int mailbox_folder_subscribe(struct mailbox *mb, const char *name, bool on, const char **error_r)
{
	char tmp[300];
	name = index_canonical(NULL, name, tmp, sizeof(tmp));
	mailbox_lock(mb);
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL : STORE_OK;
	sqlite3_stmt *s = r == STORE_OK ? index_stmt(mb, "UPDATE folders SET subscribed = ? WHERE name = ?", error_r) : NULL;
	if (s == NULL)
		r = STORE_FAIL;
	bool exists = false;
	if (r == STORE_OK) {
		sqlite3_bind_int(s, 1, on ? 1 : 0);
		sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
		if (index_step_done(mb, s, error_r) < 0)
			r = STORE_FAIL;
		exists = sqlite3_changes(mb->db) > 0;
	}
	/* a subscription may outlive its folder: unsubscribing a deleted
	 * folder's name works, subscribing needs the folder */
	if (r == STORE_OK && on && !exists) {
		*error_r = store_errf("folder %s does not exist", name);
		r = STORE_NOTFOUND;
	}
	if (r == STORE_OK) {
		s = index_stmt(mb, on ? "INSERT OR IGNORE INTO subscriptions (name) VALUES (?)"
				      : "DELETE FROM subscriptions WHERE name = ?", error_r);
		if (s == NULL)
			r = STORE_FAIL;
		else {
			sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
			if (index_step_done(mb, s, error_r) < 0)
				r = STORE_FAIL;
			else if (!on && !exists && sqlite3_changes(mb->db) == 0) {
				*error_r = store_errf("folder %s is not subscribed", name);
				r = STORE_NOTFOUND;
			}
		}
	}
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	return r;
}

int mailbox_quota(struct mailbox *mb, uint64_t *used_r, uint64_t *messages_r,
		  const char **error_r)
{
	mailbox_lock(mb);
	*error_r = NULL;
	int64_t used = index_meta_get(mb, "quota_used", error_r);
	int64_t msgs = index_meta_get(mb, "quota_messages", error_r);
	mailbox_unlock(mb);
	if (used < 0 || msgs < 0 || *error_r != NULL)
		return STORE_FAIL;
	*used_r = (uint64_t)used;
	if (messages_r != NULL)
		*messages_r = (uint64_t)msgs;
	return STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Messages                                                            */

static int insert_message(struct mailbox *mb, const struct store_folder *f, uint32_t uid,
			  uint64_t modseq, const struct store_blob *blob,
			  const struct store_append *a, const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb,
		"INSERT INTO messages (folder_id, uid, modseq, flags, keywords, internal_date, saved,"
		" size, blob, blob_file, prefix, pop3_uidl, cache)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error_r);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, f->id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)modseq);
	sqlite3_bind_int64(s, 4, a->flags);
	if (a->keywords != NULL && a->keywords[0] != '\0')
		sqlite3_bind_text(s, 5, a->keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, a->internal_date != 0 ? a->internal_date : time_now());
	sqlite3_bind_int64(s, 7, time_now());
	sqlite3_bind_int64(s, 8, (sqlite3_int64)(blob->size + a->prefix_len));
	sqlite3_bind_text(s, 9, blob->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 10, blob->file ? 1 : 0);
	if (a->prefix_len > 0)
		sqlite3_bind_blob(s, 11, a->prefix, (int)a->prefix_len, SQLITE_STATIC);
	if (a->pop3_uidl != NULL)
		sqlite3_bind_text(s, 12, a->pop3_uidl, -1, SQLITE_STATIC);
	/* a cache that does not pack is left out: readers compute it */
	struct buf cache;
	buf_init(&cache, 0);
	const char *err;
	if (cache_pack(mb->st, &a->cache, &cache, &err) == 0)
		sqlite3_bind_blob(s, 13, cache.data, (int)cache.len, SQLITE_STATIC);
	int r = index_step_done(mb, s, error_r);
	sqlite3_clear_bindings(s);
	buf_free(&cache);
	return r;
}

int index_bump_folder(struct mailbox *mb, int64_t folder_id, uint32_t uidnext,
		       uint64_t modseq, const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb, "UPDATE folders SET uidnext = max(uidnext, ?),"
				   " highestmodseq = max(highestmodseq, ?) WHERE id = ?", error_r);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, uidnext);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)modseq);
	sqlite3_bind_int64(s, 3, folder_id);
	return index_step_done(mb, s, error_r);
}

/* One append inside the batch's transaction: checks, then inserts.
 * STORE_QUOTA and STORE_NOTFOUND leave the transaction untouched;
 * STORE_FAIL means the transaction must be rolled back. */
static int append_one(struct mailbox *mb, struct pool *pool, struct append_req *q)
{
	const struct store_append *a = q->a;
	uint64_t size = q->blob->size + a->prefix_len;
	struct store_folder f = { 0 };
	const char *err = NULL;
	int r = index_folder_get_locked(mb, pool, a->folder != NULL ? a->folder : "INBOX", &f, &err);
	if (r == STORE_OK && a->quota > 0) {
		int64_t used = index_meta_get(mb, "quota_used", &err);
		if (used < 0) {
			r = STORE_FAIL;
		} else if ((uint64_t)used + size > a->quota) {
			err = store_errf("mailbox %s is over quota (%llu + %llu > %llu bytes)", mb->owner,
					 (unsigned long long)used, (unsigned long long)size,
					 (unsigned long long)a->quota);
			r = STORE_QUOTA;
		}
	}
	uint32_t uid = f.uidnext;
	uint64_t modseq = f.highestmodseq + 1;
	if (r == STORE_OK && (insert_message(mb, &f, uid, modseq, q->blob, a, &err) < 0 ||
			      index_bump_folder(mb, f.id, uid + 1, modseq, &err) < 0 ||
			      index_folder_add_keywords(mb, pool, &f, a->keywords, &err) < 0))
		r = STORE_FAIL;
	q->result = r;
	q->uid = r == STORE_OK ? uid : 0;
	if (err != NULL)
		str_copy(q->error, err, sizeof(q->error));
	return r;
}

/* Commits a batch of appends in one transaction: one fsync for all. */
static void run_batch(struct mailbox *mb, struct append_req *batch)
{
	struct pool *pool = pool_create("append", 1024);
	const char *err = NULL;
	bool any = false, failed = false;
	mailbox_lock(mb);
	if (index_begin(mb, &err) < 0) {
		failed = true;
	} else {
		for (struct append_req *q = batch; q != NULL && !failed; q = q->next) {
			int r = append_one(mb, pool, q);
			if (r == STORE_FAIL) {
				failed = true;
				err = q->error;
			}
			any = any || r == STORE_OK;
			pool_clear(pool);
		}
		if (!failed && index_commit(mb, &err) < 0)
			failed = true;
		if (failed)
			index_rollback(mb);
	}
	mailbox_unlock(mb);
	pool_destroy(&pool);
	if (failed) {
		char why[256];
		str_copy(why, err != NULL ? err : "transaction failed", sizeof(why));
		for (struct append_req *q = batch; q != NULL; q = q->next) {
			q->result = STORE_FAIL;
			q->uid = 0;
			str_copy(q->error, why, sizeof(q->error));
		}
	} else if (any) {
		mailbox_notify(mb);
	}
}

int mailbox_append(struct mailbox *mb, const struct store_blob *blob,
		   const struct store_append *a, uint32_t *uid_r, const char **error_r)
{
	static __thread char errbuf[256];
	uint64_t size = blob->size + a->prefix_len;
	if (size > mb->st->max_size) {
		*error_r = "message too big";
		return STORE_TOOBIG;
	}
	if (blob->file && blob_link_owner(mb->st, mb, blob->id, error_r) < 0)
		return STORE_FAIL;
	/* Group commit: appends to this mailbox that arrive while a commit is
	 * running wait and are committed together by the next one.  Each is
	 * answered only after the commit that holds it. */
	struct append_req q = { .blob = blob, .a = a };
	pthread_mutex_lock(&mb->qlock);
	if (mb->q_tail != NULL)
		mb->q_tail->next = &q;
	else
		mb->q_head = &q;
	mb->q_tail = &q;
	while (!q.done) {
		if (mb->committing) {
			pthread_cond_wait(&mb->qcond, &mb->qlock);
			continue;
		}
		struct append_req *batch = mb->q_head;
		mb->q_head = mb->q_tail = NULL;
		mb->committing = true;
		pthread_mutex_unlock(&mb->qlock);
		run_batch(mb, batch);
		pthread_mutex_lock(&mb->qlock);
		for (struct append_req *b = batch; b != NULL; b = b->next)
			b->done = true;
		mb->committing = false;
		pthread_cond_broadcast(&mb->qcond);
	}
	pthread_mutex_unlock(&mb->qlock);
	if (q.result != STORE_OK) {
		str_copy(errbuf, q.error, sizeof(errbuf));
		*error_r = errbuf;
		return q.result;
	}
	if (uid_r != NULL)
		*uid_r = q.uid;
	return STORE_OK;
}

#define MSG_COLS "folder_id, uid, modseq, flags, keywords, internal_date, size, blob," \
	" blob_file, prefix, pop3_uidl, cache"

static const char *col_str(sqlite3_stmt *s, int i, struct pool *pool)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	return v != NULL ? pool_strdup(pool, v) : NULL;
}

static void message_row(struct store *st, sqlite3_stmt *s, struct pool *pool,
			struct store_message *m)
{
	m->folder_id = sqlite3_column_int64(s, 0);
	m->uid = (uint32_t)sqlite3_column_int64(s, 1);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 2);
	m->flags = (uint32_t)sqlite3_column_int64(s, 3);
	m->keywords = col_str(s, 4, pool);
	m->internal_date = sqlite3_column_int64(s, 5);
	m->size = (uint64_t)sqlite3_column_int64(s, 6);
	m->blob = col_str(s, 7, pool);
	m->blob_file = sqlite3_column_int(s, 8) != 0;
	m->prefix_len = (size_t)sqlite3_column_bytes(s, 9);
	m->prefix = m->prefix_len > 0 ? pool_memdup(pool, sqlite3_column_blob(s, 9), m->prefix_len) : NULL;
	m->pop3_uidl = col_str(s, 10, pool);
	cache_unpack(st, pool, sqlite3_column_blob(s, 11), (size_t)sqlite3_column_bytes(s, 11),
		     &m->cache);
}

int mailbox_messages(struct mailbox *mb, struct pool *pool, int64_t folder_id,
		     uint32_t uid_min, uint32_t uid_max,
		     int (*fn)(const struct store_message *m, void *ctx), void *ctx,
		     const char **error_r)
{
	/* The rows are read into memory first so that fn may call back into
	 * the store (read a body, say) without holding the statement. */
	mailbox_lock(mb);
	sqlite3_stmt *s = index_stmt(mb, "SELECT " MSG_COLS " FROM messages WHERE folder_id = ?"
				   " AND uid BETWEEN ? AND ? ORDER BY uid", error_r);
	if (s == NULL) {
		mailbox_unlock(mb);
		return STORE_FAIL;
	}
	sqlite3_bind_int64(s, 1, folder_id);
	sqlite3_bind_int64(s, 2, uid_min);
	sqlite3_bind_int64(s, 3, uid_max);
	size_t n = 0, cap = 64;
	struct store_message *ms = xmalloc(cap * sizeof(*ms));
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap *= 2;
			ms = xrealloc(ms, cap * sizeof(*ms));
		}
		message_row(mb->st, s, pool, &ms[n++]);
	}
	sqlite3_reset(s);
	mailbox_unlock(mb);
	if (rc != SQLITE_DONE) {
		free(ms);
		*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
		return STORE_FAIL;
	}
	int r = STORE_OK;
	for (size_t i = 0; i < n && r == STORE_OK; i++) {
		if (fn(&ms[i], ctx) < 0)
			r = STORE_FAIL;
	}
	free(ms);
	return r;
}

int mailbox_message_read(struct mailbox *mb, const struct store_message *m, struct buf *out,
			 const char **error_r)
{
	if (m->prefix_len > 0 && buf_append(out, m->prefix, m->prefix_len) < 0) {
		*error_r = "message does not fit the buffer";
		return STORE_FAIL;
	}
	return blob_read(mb->st, mb, m->blob, m->blob_file, m->size - m->prefix_len, out,
			 error_r) < 0 ? STORE_FAIL : STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Changes                                                             */

int index_folder_modseq(struct mailbox *mb, int64_t folder_id, uint64_t *modseq_r,
			 const char **error_r)
{
	sqlite3_stmt *s = index_stmt(mb, "SELECT highestmodseq FROM folders WHERE id = ?", error_r);
	if (s == NULL)
		return STORE_FAIL;
	sqlite3_bind_int64(s, 1, folder_id);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		*error_r = "folder does not exist";
		return STORE_NOTFOUND;
	}
	*modseq_r = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return STORE_OK;
}

int mailbox_flags_update(struct mailbox *mb, int64_t folder_id, const uint32_t *uids,
			 size_t n, int mode, uint32_t flags, const char **error_r)
{
	const char *sql = mode > 0 ? "UPDATE messages SET flags = flags | ?, modseq = ?"
				     " WHERE folder_id = ? AND uid = ? AND (flags | ?) != flags"
			: mode < 0 ? "UPDATE messages SET flags = flags & ~?, modseq = ?"
				     " WHERE folder_id = ? AND uid = ? AND (flags & ?) != 0"
				   : "UPDATE messages SET flags = ?, modseq = ?"
				     " WHERE folder_id = ? AND uid = ? AND flags != ?";
	mailbox_lock(mb);
	uint64_t modseq = 0;
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL : index_folder_modseq(mb, folder_id, &modseq, error_r);
	modseq++;
	bool changed = false;
	for (size_t i = 0; i < n && r == STORE_OK; i++) {
		sqlite3_stmt *s = index_stmt(mb, sql, error_r);
		if (s == NULL) {
			r = STORE_FAIL;
			break;
		}
		sqlite3_bind_int64(s, 1, flags);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)modseq);
		sqlite3_bind_int64(s, 3, folder_id);
		sqlite3_bind_int64(s, 4, uids[i]);
		sqlite3_bind_int64(s, 5, flags);
		if (index_step_done(mb, s, error_r) < 0)
			r = STORE_FAIL;
		else if (sqlite3_changes(mb->db) > 0)
			changed = true;
	}
	if (r == STORE_OK && changed && index_bump_folder(mb, folder_id, 0, modseq, error_r) < 0)
		r = STORE_FAIL;
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	if (r == STORE_OK && changed)
		mailbox_notify(mb);
	return r;
}

int index_expunge_locked(struct mailbox *mb, int64_t folder_id, const uint32_t *uids, size_t n,
			 uint64_t modseq, struct blob_ref **refs, size_t *nrefs, uint32_t *removed_uids,
			 size_t *removed_r, const char **error_r)
{
	size_t removed = 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = index_stmt(mb, "DELETE FROM messages WHERE folder_id = ? AND uid = ?"
					   " RETURNING blob, blob_file", error_r);
		if (s == NULL)
			return STORE_FAIL;
		sqlite3_bind_int64(s, 1, folder_id);
		sqlite3_bind_int64(s, 2, uids[i]);
		size_t got = 0;
		struct blob_ref *one = index_collect_file_blobs(mb, s, &got);
		if (sqlite3_changes(mb->db) == 0) {
			free(one);
			continue;
		}
		if (removed_uids != NULL)
			removed_uids[removed] = uids[i];
		removed++;
		if (got > 0) {
			*refs = xrealloc(*refs, (*nrefs + got) * sizeof(**refs));
			memcpy(&(*refs)[*nrefs], one, got * sizeof(**refs));
			*nrefs += got;
		}
		free(one);
		s = index_stmt(mb, "INSERT OR REPLACE INTO expunged (folder_id, uid, modseq) VALUES (?, ?, ?)",
			 error_r);
		if (s == NULL)
			return STORE_FAIL;
		sqlite3_bind_int64(s, 1, folder_id);
		sqlite3_bind_int64(s, 2, uids[i]);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)modseq);
		if (index_step_done(mb, s, error_r) < 0)
			return STORE_FAIL;
	}
	if (removed > 0 && index_bump_folder(mb, folder_id, 0, modseq, error_r) < 0)
		return STORE_FAIL;
	*removed_r = removed;
	return STORE_OK;
}

int mailbox_expunge(struct mailbox *mb, int64_t folder_id, const uint32_t *uids, size_t n,
		    const char **error_r)
{
	mailbox_lock(mb);
	uint64_t modseq = 0;
	struct blob_ref *refs = NULL;
	size_t nrefs = 0;
	int r = index_begin(mb, error_r) < 0 ? STORE_FAIL : index_folder_modseq(mb, folder_id, &modseq, error_r);
	modseq++;
	size_t removed = 0;
	if (r == STORE_OK)
		r = index_expunge_locked(mb, folder_id, uids, n, modseq, &refs, &nrefs, NULL, &removed,
					 error_r);
	if (r == STORE_OK && index_commit(mb, error_r) < 0)
		r = STORE_FAIL;
	if (r != STORE_OK)
		index_rollback(mb);
	mailbox_unlock(mb);
	if (r == STORE_OK) {
		index_release_blobs(mb, refs, nrefs);
		if (removed > 0)
			mailbox_notify(mb);
	}
	free(refs);
	return r;
}

int mailbox_copy(struct mailbox *mb, int64_t from_folder, const uint32_t *uids, size_t n,
		 const char *to_folder, uint32_t *new_uids_r, const char **error_r)
{
	static const struct store_copy plain = { .quota = 0, .move = false };
	return mailbox_copy_ex(mb, from_folder, uids, n, to_folder, &plain, new_uids_r, NULL, error_r);
}
