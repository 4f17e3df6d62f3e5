/*
 * Message bodies, content-addressed by SHA-256 and compressed with zstd.
 *
 * Small bodies (compressed size up to store.pack_max) live in sixteen
 * pack databases, blobs/pack-<first hex digit>.sqlite: a file per small
 * message would cost a whole file-system block (4 KiB) for a median
 * message of 1.5 KiB compressed.  Larger bodies are files,
 * blobs/ab/<id>.zst, hard-linked into every owner that holds them; their
 * link count is their reference count.  Packed blobs are reclaimed by
 * store_gc's mark and sweep over the owners' indexes.
 */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/digest.h"
#include "lib/log.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

static int shard_of(const char *id)
{
	char c = id[0];
	return c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 0;
}

/* The level a body was compressed at (0: unknown, a pack from before
 * the column), so that store gc recompresses each body once at
 * store.gc_compression_level.  Added to an older pack on open. */
static bool has_level_column(sqlite3 *db)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "SELECT level FROM blobs LIMIT 0", -1, &s, NULL) != SQLITE_OK)
		return false;
	sqlite3_finalize(s);
	return true;
}

static int add_level_column(struct store *st, sqlite3 *db, char **err_r)
{
	if (has_level_column(db))
		return 0;
	if (sqlite_exec_retry(db, "ALTER TABLE blobs ADD COLUMN level INTEGER NOT NULL DEFAULT 0",
			      st->busy_ms, err_r) == SQLITE_OK)
		return 0;
	/* another process added it meanwhile */
	if (has_level_column(db)) {
		sqlite3_free(*err_r);
		*err_r = NULL;
		return 0;
	}
	return -1;
}

int blob_pack_open(struct store *st, const char **error_r)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/blobs", st->root);
	if (mkdir_p(path, 0750) < 0) {
		*error_r = store_errf("cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < STORE_PACK_SHARDS; i++) {
		struct pack_shard *p = &st->packs[i];
		pthread_mutex_init(&p->lock, NULL);
		snprintf(path, sizeof(path), "%s/blobs/pack-%x.sqlite", st->root, i);
		if (sqlite3_open_v2(path, &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			*error_r = store_errf("cannot open %s: %s", path, sqlite3_errmsg(p->db));
			return -1;
		}
		store_sqlite_busy(p->db, st->busy_ms);
		char *err = NULL;
		if (sqlite_exec_retry(p->db,
				      /* Big pages so that a compressed body fits in its
				       * leaf beside others instead of spilling into
				       * half-empty overflow pages; a rowid table for the
				       * same reason (an index b-tree keeps only ~1 KB of a
				       * row in the leaf).  Only takes effect on a new file. */
				      "PRAGMA page_size=16384;"
				      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				      /* checkpointed every 64 pages (1 MiB) and kept
				       * at that size, so that a commit overwrites
				       * the WAL instead of growing it: see
				       * index_open() */
				      "PRAGMA wal_autocheckpoint=64; PRAGMA journal_size_limit=1572864;"
				      "CREATE TABLE IF NOT EXISTS blobs (id TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
				      " data BLOB NOT NULL, used INTEGER NOT NULL, level INTEGER NOT NULL DEFAULT 0);",
				      st->busy_ms, &err) != SQLITE_OK) {
			*error_r = store_errf("cannot set up %s: %s", path, err != NULL ? err : "?");
			sqlite3_free(err);
			return -1;
		}
		if (add_level_column(st, p->db, &err) < 0) {
			*error_r = store_errf("cannot set up %s: %s", path, err != NULL ? err : "?");
			sqlite3_free(err);
			return -1;
		}
		if (sqlite3_prepare_v2(p->db, "SELECT data, size FROM blobs WHERE id = ?", -1, &p->get, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(p->db, "INSERT INTO blobs (id, size, data, used, level) VALUES (?, ?, ?, ?, ?) "
				       "ON CONFLICT(id) DO UPDATE SET used = excluded.used", -1, &p->put, NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(p->db, "UPDATE blobs SET used = ? WHERE id = ?", -1, &p->touch, NULL) != SQLITE_OK) {
			*error_r = store_errf("cannot prepare %s: %s", path, sqlite3_errmsg(p->db));
			return -1;
		}
	}
	return 0;
}

void blob_pack_close(struct store *st)
{
	for (int i = 0; i < STORE_PACK_SHARDS; i++) {
		struct pack_shard *p = &st->packs[i];
		if (p->db == NULL)
			continue;
		sqlite3_finalize(p->get);
		sqlite3_finalize(p->put);
		sqlite3_finalize(p->touch);
		sqlite3_close(p->db);
		p->db = NULL;
		pthread_mutex_destroy(&p->lock);
	}
}

void blob_path(const struct store *st, const char *dir, const char *id, char *out, size_t size)
{
	snprintf(out, size, "%s/blobs/%.2s/%s.zst", dir != NULL ? dir : st->root, id, id);
}

/* A file blob exists for this id in the pool. */
static bool pool_file_exists(struct store *st, const char *id)
{
	char path[4096];
	blob_path(st, NULL, id, path, sizeof(path));
	return access(path, F_OK) == 0;
}

bool blob_is_file(struct store *st, const char *id)
{
	return pool_file_exists(st, id);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put_file(struct store *st, const char *id, const void *z, size_t zlen,
		    const char **error_r)
{
	char path[4096], dir[4096], tmp[4096];
	blob_path(st, NULL, id, path, sizeof(path));
	snprintf(dir, sizeof(dir), "%s/blobs/%.2s", st->root, id);
	if (access(path, F_OK) == 0) {
		/* Reused: freshen it so that the GC's grace period protects it
		 * until the caller has linked it. */
		utimensat(AT_FDCWD, path, NULL, 0);
		return 0;
	}
	if (mkdir_p(dir, 0750) < 0) {
		*error_r = store_errf("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	unsigned char rnd[8];
	random_bytes(rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s.%02x%02x%02x%02x%02x%02x%02x%02x", st->root, id,
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		*error_r = store_errf("cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, z, zlen) < 0 || fsync(fd) < 0) {
		*error_r = store_errf("cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	/* link() fails on EEXIST, so two writers of one blob never clash */
	if (link(tmp, path) < 0 && errno != EEXIST) {
		*error_r = store_errf("cannot link %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	unlink(tmp);
	if (fsync_dir(dir) < 0) {
		*error_r = store_errf("cannot fsync %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int put_pack(struct store *st, const char *id, uint64_t size, const void *z,
		    size_t zlen, const char **error_r)
{
	struct pack_shard *p = &st->packs[shard_of(id)];
	pthread_mutex_lock(&p->lock);
	sqlite3_bind_text(p->put, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p->put, 2, (sqlite3_int64)size);
	sqlite3_bind_blob(p->put, 3, z, (int)zlen, SQLITE_STATIC);
	sqlite3_bind_int64(p->put, 4, (sqlite3_int64)time_now());
	sqlite3_bind_int(p->put, 5, st->level);
	int rc = sqlite3_step(p->put);
	sqlite3_reset(p->put);
	sqlite3_clear_bindings(p->put);
	if (rc != SQLITE_DONE)
		*error_r = store_errf("cannot store blob %s: %s", id, sqlite3_errmsg(p->db));
	pthread_mutex_unlock(&p->lock);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_blob_put(struct store *st, const void *data, size_t size,
		   struct store_blob *blob_r, const char **error_r)
{
	if (size > st->max_size) {
		*error_r = store_errf("message of %zu bytes is over the limit of %llu", size,
				      (unsigned long long)st->max_size);
		return STORE_TOOBIG;
	}
	unsigned char digest[SHA256_SIZE];
	sha256_once(data, size, digest);
	sha256_hex(digest, blob_r->id);
	blob_r->size = size;
	size_t bound = ZSTD_compressBound(size);
	void *z = xmalloc(bound);
	bool with_dict;
	size_t zlen = dict_compress(st, data, size, z, bound, &with_dict);
	if (ZSTD_isError(zlen)) {
		free(z);
		*error_r = store_errf("compression failed: %s", ZSTD_getErrorName(zlen));
		return STORE_FAIL;
	}
	int r;
	blob_r->file = zlen > st->pack_max || pool_file_exists(st, blob_r->id);
	if (blob_r->file)
		r = put_file(st, blob_r->id, z, zlen, error_r);
	else
		r = put_pack(st, blob_r->id, size, z, zlen, error_r);
	free(z);
	if (r == 0 && !with_dict)
		dict_maybe_train(st);
	return r < 0 ? STORE_FAIL : STORE_OK;
}

int blob_link_owner(struct store *st, struct mailbox *mb, const char *id, const char **error_r)
{
	char src[4096], dst[4096], dir[4096];
	blob_path(st, NULL, id, src, sizeof(src));
	if (access(src, F_OK) < 0)
		return 0; /* packed */
	blob_path(st, mb->dir, id, dst, sizeof(dst));
	snprintf(dir, sizeof(dir), "%s/blobs/%.2s", mb->dir, id);
	if (mkdir_p(dir, 0750) < 0) {
		*error_r = store_errf("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (link(src, dst) < 0) {
		if (errno == EEXIST)
			return 0;
		*error_r = store_errf("cannot link %s: %s", dst, strerror(errno));
		return -1;
	}
	if (fsync_dir(dir) < 0) {
		*error_r = store_errf("cannot fsync %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

void blob_unlink_owner(struct store *st, struct mailbox *mb, const char *id)
{
	char dst[4096];
	blob_path(st, mb->dir, id, dst, sizeof(dst));
	if (unlink(dst) < 0 && errno != ENOENT)
		log_warn("store.unlink_failed", "path=%s error=%s", log_str(dst), log_str(strerror(errno)));
}

static int decompress(struct store *st, const void *z, size_t zlen, uint64_t size,
		      struct buf *out, const char *id, const char **error_r)
{
	if (buf_reserve(out, size) < 0) {
		*error_r = store_errf("blob %s of %llu bytes does not fit the buffer", id,
				      (unsigned long long)size);
		return -1;
	}
	size_t n = dict_decompress(st, z, zlen, out->data + out->len, size);
	if (ZSTD_isError(n) || n != size) {
		*error_r = store_errf("blob %s is corrupt (%s)", id,
				      ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
		return -1;
	}
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

static int read_file(const char *path, struct buf *z)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat stt;
	if (fstat(fd, &stt) < 0 || buf_reserve(z, (size_t)stt.st_size) < 0) {
		close(fd);
		return -1;
	}
	size_t off = 0;
	while (off < (size_t)stt.st_size) {
		ssize_t n = read(fd, z->data + off, (size_t)stt.st_size - off);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	z->len = off;
	close(fd);
	return 0;
}

int blob_read(struct store *st, struct mailbox *mb, const char *id, bool file,
	      uint64_t size, struct buf *out, const char **error_r)
{
	if (file) {
		char path[4096];
		struct buf z;
		buf_init(&z, 0);
		blob_path(st, mb != NULL ? mb->dir : NULL, id, path, sizeof(path));
		if (read_file(path, &z) < 0) {
			/* the owner's link is missing: fall back to the pool */
			blob_path(st, NULL, id, path, sizeof(path));
			if (read_file(path, &z) < 0) {
				buf_free(&z);
				*error_r = store_errf("blob %s is missing", id);
				return -1;
			}
		}
		int r = decompress(st, z.data, z.len, size, out, id, error_r);
		buf_free(&z);
		return r;
	}
	struct pack_shard *p = &st->packs[shard_of(id)];
	pthread_mutex_lock(&p->lock);
	sqlite3_bind_text(p->get, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(p->get);
	int r = -1;
	if (rc == SQLITE_ROW) {
		const void *z = sqlite3_column_blob(p->get, 0);
		size_t zlen = (size_t)sqlite3_column_bytes(p->get, 0);
		r = decompress(st, z, zlen, size, out, id, error_r);
	} else {
		*error_r = rc == SQLITE_DONE ? store_errf("blob %s is missing", id)
					     : store_errf("cannot read blob %s: %s", id, sqlite3_errmsg(p->db));
	}
	sqlite3_reset(p->get);
	sqlite3_clear_bindings(p->get);
	pthread_mutex_unlock(&p->lock);
	return r;
}
