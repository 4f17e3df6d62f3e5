/* Verification of an owner (`ombu store check`) and garbage collection
 * of blobs nobody refers to any more. */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/digest.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GC_GRACE_SECONDS 3600

struct check_ctx {
	struct mailbox *mb;
	struct store_check_report *r;
	struct hash *referenced; /* file blob ids of this owner */
	struct buf body;
};

static int check_message(const struct store_message *m, void *ctx)
{
	struct check_ctx *cc = ctx;
	const char *err;
	cc->r->messages++;
	cc->r->bytes += m->size;
	if (m->blob_file)
		hash_put(cc->referenced, m->blob, strlen(m->blob), (void *)1);
	buf_reset(&cc->body);
	if (blob_read(cc->mb->st, cc->mb, m->blob, m->blob_file, m->size - m->prefix_len,
		      &cc->body, &err) < 0) {
		log_error("store.check", "owner=%s uid=%u blob=%s error=%s", log_str(cc->mb->owner),
			  m->uid, m->blob, log_str(err));
		if (strstr(err, "missing") != NULL)
			cc->r->missing_blobs++;
		else
			cc->r->corrupt_blobs++;
		return 0;
	}
	unsigned char d[SHA256_SIZE];
	char hex[65];
	sha256_once(cc->body.data, cc->body.len, d);
	sha256_hex(d, hex);
	if (strcmp(hex, m->blob) != 0) {
		log_error("store.check", "owner=%s uid=%u blob=%s error=\"content does not match its hash\"",
			  log_str(cc->mb->owner), m->uid, m->blob);
		cc->r->corrupt_blobs++;
	}
	return 0;
}

/* Owner links no message refers to (left by a crash between link and
 * commit). */
static void scan_orphan_links(struct check_ctx *cc, bool repair)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/blobs", cc->mb->dir);
	DIR *top = opendir(dir);
	if (top == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(top)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char sub[4200];
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		DIR *d = opendir(sub);
		if (d == NULL)
			continue;
		struct dirent *fe;
		while ((fe = readdir(d)) != NULL) {
			size_t l = strlen(fe->d_name);
			if (l != 68 || strcmp(fe->d_name + 64, ".zst") != 0)
				continue;
			if (hash_get(cc->referenced, fe->d_name, 64) != NULL)
				continue;
			cc->r->orphan_links++;
			if (repair) {
				char path[4400];
				if (snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name) >= (int)sizeof(path))
					continue;
				unlink(path);
			}
		}
		closedir(d);
	}
	closedir(top);
}

static int sql_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(s);
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int mailbox_check(struct mailbox *mb, struct store_check_report *r, bool repair,
		  const char **error_r)
{
	memset(r, 0, sizeof(*r));
	struct pool *pool = pool_create("check", 0);
	struct store_folder *folders;
	size_t nf;
	int ret = mailbox_folder_list(mb, pool, &folders, &nf, error_r);
	struct check_ctx cc = { .mb = mb, .r = r, .referenced = hash_create(64) };
	buf_init(&cc.body, 0);
	for (size_t i = 0; i < nf && ret == STORE_OK; i++) {
		ret = mailbox_messages(mb, pool, folders[i].id, 0, UINT32_MAX, check_message, &cc,
				       error_r);
		pool_clear(pool);
		mailbox_folder_list(mb, pool, &folders, &nf, error_r);
	}
	if (ret == STORE_OK) {
		int64_t quota = 0, mismatched = 0;
		mailbox_lock(mb);
		if (sql_int(mb->db, "SELECT value FROM meta WHERE key = 'quota_used'", &quota) < 0 ||
		    sql_int(mb->db,
			    "SELECT COUNT(*) FROM folders f WHERE messages != (SELECT COUNT(*) FROM"
			    " messages m WHERE m.folder_id = f.id) OR bytes != (SELECT COALESCE(SUM(size),"
			    " 0) FROM messages m WHERE m.folder_id = f.id) OR unseen != (SELECT COUNT(*)"
			    " FROM messages m WHERE m.folder_id = f.id AND (m.flags & 1) = 0)",
			    &mismatched) < 0) {
			*error_r = store_errf("%s: %s", mb->owner, sqlite3_errmsg(mb->db));
			ret = STORE_FAIL;
		}
		r->quota_recorded = (uint64_t)quota;
		r->count_mismatches = (uint64_t)mismatched;
		if (ret == STORE_OK && repair && (mismatched > 0 || r->quota_recorded != r->bytes)) {
			char *err = NULL;
			sqlite3_exec(mb->db,
				     "BEGIN IMMEDIATE;"
				     "UPDATE folders SET messages = (SELECT COUNT(*) FROM messages m"
				     " WHERE m.folder_id = folders.id), bytes = (SELECT COALESCE(SUM(size), 0)"
				     " FROM messages m WHERE m.folder_id = folders.id), unseen = (SELECT"
				     " COUNT(*) FROM messages m WHERE m.folder_id = folders.id AND"
				     " (m.flags & 1) = 0), deleted = (SELECT COUNT(*) FROM messages m WHERE"
				     " m.folder_id = folders.id AND (m.flags & 8) != 0);"
				     "UPDATE meta SET value = (SELECT COALESCE(SUM(size), 0) FROM messages)"
				     " WHERE key = 'quota_used';"
				     "UPDATE meta SET value = (SELECT COUNT(*) FROM messages)"
				     " WHERE key = 'quota_messages';"
				     "COMMIT;", NULL, NULL, &err);
			sqlite3_free(err);
		}
		mailbox_unlock(mb);
		scan_orphan_links(&cc, repair);
	}
	buf_free(&cc.body);
	hash_destroy(&cc.referenced);
	pool_destroy(&pool);
	if (ret != STORE_OK)
		return ret;
	bool bad = r->missing_blobs || r->corrupt_blobs || r->count_mismatches ||
		   r->quota_recorded != r->bytes;
	return bad ? 1 : STORE_OK;
}

/* ------------------------------------------------------------------ */
/* Garbage collection                                                  */

/* Collects every blob id referenced by any owner under dir. */
static int mark_owners(struct store *st, const char *dir, int depth, struct hash *marked,
		       const char **error_r)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	if (access(path, F_OK) == 0) {
		sqlite3 *db;
		/* read-write: a WAL database cannot be opened read-only when
		 * its -wal file does not exist yet */
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
			*error_r = store_errf("cannot open %s", path);
			sqlite3_close(db);
			return -1;
		}
		sqlite3_busy_timeout(db, (int)st->busy_ms);
		sqlite3_stmt *s;
		int rc = sqlite3_prepare_v2(db, "SELECT DISTINCT blob FROM messages", -1, &s, NULL);
		while (rc != SQLITE_DONE && rc != SQLITE_ERROR && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(s, 0);
			hash_put(marked, id, strlen(id), (void *)1);
		}
		if (rc != SQLITE_DONE)
			*error_r = store_errf("cannot read %s: %s", path, sqlite3_errmsg(db));
		sqlite3_finalize(s);
		sqlite3_close(db);
		if (rc != SQLITE_DONE)
			return -1;
		return 0;
	}
	if (depth > 8)
		return 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || (depth == 0 && (strcmp(de->d_name, "blobs") == 0 ||
							    strcmp(de->d_name, "tmp") == 0)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		struct stat sb;
		if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			r = mark_owners(st, path, depth + 1, marked, error_r);
	}
	closedir(d);
	return r;
}

static void sweep_files(struct store *st, time_t cutoff, uint64_t *removed)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/blobs", st->root);
	DIR *top = opendir(dir);
	if (top == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(top)) != NULL) {
		if (strlen(de->d_name) != 2)
			continue;
		char sub[4200];
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		DIR *d = opendir(sub);
		if (d == NULL)
			continue;
		struct dirent *fe;
		while ((fe = readdir(d)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			char path[4400];
			if (snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name) >= (int)sizeof(path))
				continue;
			struct stat sb;
			/* one link left: the pool's own; nobody holds it */
			if (lstat(path, &sb) == 0 && sb.st_nlink == 1 && sb.st_mtime < cutoff &&
			    unlink(path) == 0)
				(*removed)++;
		}
		closedir(d);
	}
	closedir(top);
	snprintf(dir, sizeof(dir), "%s/tmp", st->root);
	DIR *t = opendir(dir);
	if (t == NULL)
		return;
	while ((de = readdir(t)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[4400];
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		struct stat sb;
		if (lstat(path, &sb) == 0 && sb.st_mtime < cutoff)
			unlink(path);
	}
	closedir(t);
}

static int sweep_packs(struct store *st, struct hash *marked, time_t cutoff,
		       uint64_t *removed, const char **error_r)
{
	for (int i = 0; i < STORE_PACK_SHARDS; i++) {
		struct pack_shard *p = &st->packs[i];
		char **dead = NULL;
		size_t nd = 0;
		pthread_mutex_lock(&p->lock);
		sqlite3_stmt *s;
		int rc = sqlite3_prepare_v2(p->db, "SELECT id, used FROM blobs", -1, &s, NULL);
		while (rc != SQLITE_DONE && rc != SQLITE_ERROR && (rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(s, 0);
			if (sqlite3_column_int64(s, 1) < cutoff &&
			    hash_get(marked, id, strlen(id)) == NULL) {
				dead = xrealloc(dead, (nd + 1) * sizeof(char *));
				dead[nd++] = xstrdup(id);
			}
		}
		sqlite3_finalize(s);
		for (size_t j = 0; j < nd && rc == SQLITE_DONE; j++) {
			/* "used" is checked again: a delivery may have reused it */
			sqlite3_stmt *del;
			if (sqlite3_prepare_v2(p->db, "DELETE FROM blobs WHERE id = ? AND used < ?", -1,
					       &del, NULL) != SQLITE_OK)
				break;
			sqlite3_bind_text(del, 1, dead[j], -1, SQLITE_STATIC);
			sqlite3_bind_int64(del, 2, cutoff);
			if (sqlite3_step(del) == SQLITE_DONE && sqlite3_changes(p->db) > 0)
				(*removed)++;
			sqlite3_finalize(del);
		}
		pthread_mutex_unlock(&p->lock);
		for (size_t j = 0; j < nd; j++)
			free(dead[j]);
		free(dead);
		if (rc != SQLITE_DONE) {
			*error_r = store_errf("cannot read pack %x", i);
			return -1;
		}
	}
	return 0;
}

int store_gc(struct store *st, uint64_t *removed_r, const char **error_r)
{
	/* Anything written in the last hour is left alone: a delivery may
	 * have put its blob and not yet committed the index entry. */
	time_t cutoff = time(NULL) - GC_GRACE_SECONDS;
	struct hash *marked = hash_create(1024);
	*removed_r = 0;
	int r = mark_owners(st, st->root, 0, marked, error_r);
	if (r == 0) {
		sweep_files(st, cutoff, removed_r);
		r = sweep_packs(st, marked, cutoff, removed_r, error_r);
	}
	/* bodies stored before the current dictionary existed */
	uint64_t recompressed = 0;
	if (r == 0 && dict_recompress(st, &recompressed, error_r) < 0)
		r = -1;
	if (recompressed > 0)
		log_info("store.recompressed", "bodies=%llu", (unsigned long long)recompressed);
	hash_destroy(&marked);
	return r < 0 ? STORE_FAIL : STORE_OK;
}
