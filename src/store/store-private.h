#ifndef OMBU_STORE_PRIVATE_H
#define OMBU_STORE_PRIVATE_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>

#define STORE_PACK_SHARDS 16

struct pack_shard {
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *get, *put, *touch;
};

struct store_dicts {
	pthread_mutex_t lock;
	void *cdict;                /* ZSTD_CDict of the current dictionary */
	void *retired[8];           /* replaced ones, freed with the store */
	size_t n_retired;
	unsigned cur_id;
	long cur_mtime;
	uint64_t last_check_us;
	struct {
		unsigned id;
		void *ddict;        /* ZSTD_DDict */
	} dd[32];
	size_t n_dd;
	uint64_t plain_written, dict_after;
	bool training;
	pthread_t trainer;          /* dict_maybe_train's, joined by dict_wait */
	bool trainer_started;
};

struct store {
	char *root;
	uint64_t max_size, pack_max;
	int level, gc_level;
	uint64_t busy_ms;
	struct pack_shard packs[STORE_PACK_SHARDS];
	pthread_mutex_t cache_lock;
	struct hash *open;          /* owner -> struct mailbox */
	size_t cache_max;
	struct store_dicts dicts;
};

struct append_req {
	struct append_req *next;
	const struct store_blob *blob;
	const struct store_append *a;
	uint32_t uid;
	int result;
	bool done;
	char error[256];
};

struct mailbox {
	struct store *st;
	char *owner;
	char *dir;                  /* root/owner */
	char *notify_path;
	sqlite3 *db;
	struct hash *stmts;         /* sql -> prepared statement */
	pthread_mutex_t lock;
	/* group commit of appends (store-index.c) */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct append_req *q_head, *q_tail;
	bool committing;
	unsigned refs;
	uint64_t last_used_us;
};

/* blobs (store-blob.c) */
int blob_pack_open(struct store *st, const char **error_r);
void blob_pack_close(struct store *st);
/* Reads a blob's uncompressed content into out. */
int blob_read(struct store *st, struct mailbox *mb, const char *id, bool file,
	      uint64_t size, struct buf *out, const char **error_r);
/* Whether a blob of this size lives in a file (else in a pack). */
bool blob_is_file(struct store *st, const char *id);
/* Links a file blob into the owner (durably); no-op for packed blobs. */
int blob_link_owner(struct store *st, struct mailbox *mb, const char *id,
		    const char **error_r);
/* Drops the owner's link when no message of the owner refers to it. */
void blob_unlink_owner(struct store *st, struct mailbox *mb, const char *id);
void blob_path(const struct store *st, const char *dir, const char *id, char *out, size_t size);

/* dictionaries (store-dict.c) */
size_t dict_compress(struct store *st, const void *src, size_t len, void *dst, size_t cap,
		     bool *used_dict_r);
/* The same for an IMAP cache row: the bodies' dictionary knows header
 * text too, and a cache row does not count towards training it. */
size_t dict_compress_cache(struct store *st, const void *src, size_t len, void *dst, size_t cap);
size_t dict_decompress(struct store *st, const void *z, size_t zlen, void *dst, size_t size);
/* Starts training a dictionary in the background when enough bodies
 * went without one. */
void dict_maybe_train(struct store *st);
/* Waits for a training started by dict_maybe_train (before the packs
 * close). */
void dict_wait(struct store *st);
int dict_train(struct store *st, const char **error_r);
int dict_recompress(struct store *st, uint64_t *n_r, const char **error_r);
void dict_free(struct store *st);

/* the IMAP cache in an index row (store-cache.c) */
/* One zstd frame for the four fields, with the volume's dictionary: a
 * byte saying which fields are present, then each present one
 * NUL-terminated.  About 1 KB becomes about 300 bytes.  0 when packed
 * into out, 1 when there is no field to keep, -1 on error. */
int cache_pack(struct store *st, const struct store_cache *c, struct buf *out,
	       const char **error_r);
/* The fields of a packed cache into pool; NULL (an older message, or
 * corrupt) leaves them all NULL, which readers treat as "not cached". */
int cache_unpack(struct store *st, struct pool *pool, const void *z, size_t zlen,
		 struct store_cache *c);

/* helpers (store.c) */
/* Runs SQL, retrying while the database is busy (switching a new
 * database to WAL needs a lock that the busy handler does not wait for
 * when several processes open it at once). */
int sqlite_exec_retry(sqlite3 *db, const char *sql, uint64_t timeout_ms, char **err_r);
/* A busy handler that retries quickly (see store.c). */
void store_sqlite_busy(sqlite3 *db, uint64_t timeout_ms);
int fsync_dir(const char *path);
int mkdir_p(const char *path, unsigned mode);
const char *store_errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* index (store-index.c) */
int index_open(struct mailbox *mb, bool create, const char **error_r);
void index_close(struct mailbox *mb);
/* A cached prepared statement, reset and ready to bind. */
sqlite3_stmt *index_stmt(struct mailbox *mb, const char *sql, const char **error_r);
int index_exec(struct mailbox *mb, const char *sql, const char **error_r);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (when a transaction is open). */
int index_begin(struct mailbox *mb, const char **error_r);
int index_commit(struct mailbox *mb, const char **error_r);
void index_rollback(struct mailbox *mb);
int index_step_done(struct mailbox *mb, sqlite3_stmt *s, const char **error_r);
int64_t index_meta_get(struct mailbox *mb, const char *key, const char **error_r);
/* "inbox/x" -> "INBOX/x" (into tmp); other names unchanged. */
const char *index_canonical(struct pool *pool, const char *name, char *tmp, size_t size);
int index_folder_get_locked(struct mailbox *mb, struct pool *pool, const char *name,
			    struct store_folder *f_r, const char **error_r);
int index_bump_folder(struct mailbox *mb, int64_t folder_id, uint32_t uidnext, uint64_t modseq,
		      const char **error_r);
/* The columns index_folder_row() reads, in its order. */
#define FOLDER_COLS "id, name, special_use, uidvalidity, uidnext, highestmodseq, messages," \
	" unseen, deleted, bytes," \
	" EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = folders.name)," \
	" keywords, first_recent," \
	" (SELECT count(*) FROM messages m WHERE m.folder_id = folders.id" \
	"  AND m.uid >= folders.first_recent)"
/* The same without the \Recent count, which walks every message of a
 * folder no IMAP session has selected (all of them are recent): for the
 * delivery path and the other writers, which do not need it. */
#define FOLDER_COLS_NORECENT "id, name, special_use, uidvalidity, uidnext, highestmodseq," \
	" messages, unseen, deleted, bytes," \
	" EXISTS (SELECT 1 FROM subscriptions s WHERE s.name = folders.name)," \
	" keywords, first_recent, 0"
void index_folder_row(sqlite3_stmt *s, struct pool *pool, struct store_folder *f);

struct blob_ref {
	char id[65];
};
/* File blobs of the rows a DELETE ... RETURNING blob, blob_file yields
 * (malloc'd). */
struct blob_ref *index_collect_file_blobs(struct mailbox *mb, sqlite3_stmt *s, size_t *n_r);
/* After the commit: drops the owner's links nothing refers to any more. */
void index_release_blobs(struct mailbox *mb, struct blob_ref *refs, size_t n);
int index_folder_modseq(struct mailbox *mb, int64_t folder_id, uint64_t *modseq_r,
			const char **error_r);
/* Inside a transaction: removes the listed messages, records them as
 * expunged at modseq and bumps the folder's HIGHESTMODSEQ; file blobs
 * to release are added to *refs; the UIDs really removed go to
 * removed_uids (n entries, may be NULL). */
int index_expunge_locked(struct mailbox *mb, int64_t folder_id, const uint32_t *uids, size_t n,
			 uint64_t modseq, struct blob_ref **refs, size_t *nrefs, uint32_t *removed_uids,
			 size_t *removed_r, const char **error_r);

/* IMAP support (store-imap.c) */
/* Adds keywords (space-separated, may be NULL) that the folder has not
 * seen yet to its list, inside the caller's transaction. */
int index_folder_add_keywords(struct mailbox *mb, struct pool *pool, const struct store_folder *f,
			      const char *keywords, const char **error_r);

#endif
