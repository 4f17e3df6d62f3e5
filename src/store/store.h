#ifndef OMBU_STORE_H
#define OMBU_STORE_H

/*
 * The mailbox store.
 *
 * A store volume is a folder (store.path) holding one directory per
 * mailbox owner and a shared blob pool:
 *
 *   blobs/ab/<sha256>.zst      every message body once per volume
 *   <owner>/index.sqlite       folders, messages, flags, quota (WAL, FULL)
 *   <owner>/blobs/ab/<sha256>.zst   a hard link per blob the owner holds
 *   <owner>/notify             touched after every change (inotify)
 *
 * A message is stored once per volume however many local users receive
 * it: the link count of the pool file is the reference count, and a pool
 * file whose count drops to one is garbage (store_gc).
 *
 * Durability: a blob is written, fsynced and its directory fsynced before
 * the index transaction that refers to it commits; the commit comes
 * before any acknowledgement.  A crash at any point leaves either no
 * trace or an unreferenced blob that the GC removes.
 *
 * Threads: every call may block (fsync, SQLite) and runs on the thread
 * pool.  A `struct store` is thread-safe.  A `struct mailbox` is used by
 * one thread at a time (mailbox_lock/unlock serialise users that share a
 * cached handle); several processes may open the same owner at once
 * (SQLite locking).
 *
 * Errors: 0 / -1 with *error_r, or the store_result codes below where a
 * caller must tell a full mailbox from a broken disk.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"

struct buf;
struct pool;
struct store;
struct mailbox;

extern const struct config_key store_config_keys[];

enum store_result {
	STORE_OK = 0,
	STORE_FAIL = -1,     /* temporary: disk, database; retry later */
	STORE_QUOTA = -2,    /* the owner's quota would be exceeded */
	STORE_NOTFOUND = -3, /* no such folder or message */
	STORE_EXISTS = -4,   /* the folder exists already */
	STORE_INVALID = -5,  /* a bad name or argument */
	STORE_TOOBIG = -6,   /* over store.max_message_size */
};

/* System flags. */
#define STORE_FLAG_SEEN     0x01
#define STORE_FLAG_ANSWERED 0x02
#define STORE_FLAG_FLAGGED  0x04
#define STORE_FLAG_DELETED  0x08
#define STORE_FLAG_DRAFT    0x10

struct store *store_open(const struct config *cfg, const char **error_r);
void store_close(struct store **st);
/* The store of a worker process, opened on first use and shared by its
 * services. */
struct worker;
struct store *store_worker(struct worker *w, const char **error_r);
const char *store_root(const struct store *st);
uint64_t store_max_message_size(const struct store *st);

/* --- owners --- */

/* Validates a mailbox path ("example.test/alice"): relative, components
 * of letters, digits and . _ + - = @, no "." or ".." components, no
 * control characters.  Used before any name touches the file system. */
bool store_owner_path_valid(const char *path);
/* Folder names: UTF-8, '/' separates levels, no empty/"."/".." levels,
 * no control characters, at most 255 bytes; INBOX is case-insensitive. */
bool store_folder_name_valid(const char *name);

/* Opens (creating it and its default folders when `create`) an owner's
 * mailbox.  Handles are cached per store and shared: mailbox_close()
 * returns it to the cache. */
int store_mailbox_open(struct store *st, const char *owner, bool create,
		       struct mailbox **mb_r, const char **error_r);
void store_mailbox_close(struct mailbox **mb);
/* Serialises threads that use the same handle. */
void mailbox_lock(struct mailbox *mb);
void mailbox_unlock(struct mailbox *mb);
const char *mailbox_owner(const struct mailbox *mb);
/* Path of the file IDLE sessions watch with inotify. */
const char *mailbox_notify_path(const struct mailbox *mb);

/* --- folders --- */

struct store_folder {
	int64_t id;
	const char *name;
	const char *special_use;  /* "\Junk" or NULL */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	uint32_t messages, unseen, deleted;
	uint64_t bytes;           /* uncompressed */
	bool subscribed;
	const char *keywords;     /* keywords used in the folder, space-separated ("" none) */
	uint32_t first_recent;    /* UIDs from here on are \Recent for the next session that
				   * selects the folder read-write */
	uint32_t recent;          /* how many messages those are */
};

int mailbox_folder_list(struct mailbox *mb, struct pool *pool,
			struct store_folder **folders_r, size_t *n_r, const char **error_r);
/* STORE_OK, STORE_NOTFOUND or STORE_FAIL. */
int mailbox_folder_get(struct mailbox *mb, struct pool *pool, const char *name,
		       struct store_folder *f_r, const char **error_r);
int mailbox_folder_create(struct mailbox *mb, const char *name, const char *special_use,
			  const char **error_r);
/* Deletes the folder and its messages (not INBOX). */
int mailbox_folder_delete(struct mailbox *mb, const char *name, const char **error_r);
int mailbox_folder_rename(struct mailbox *mb, const char *from, const char *to,
			  const char **error_r);
int mailbox_folder_subscribe(struct mailbox *mb, const char *name, bool on,
			     const char **error_r);

/* Quota: bytes used (uncompressed, every folder) and the limit the
 * caller passed last (0 = none). */
int mailbox_quota(struct mailbox *mb, uint64_t *used_r, uint64_t *messages_r,
		  const char **error_r);

/* --- blobs and delivery --- */

struct store_blob {
	char id[65];      /* hex SHA-256 of the content */
	uint64_t size;    /* uncompressed */
	bool file;        /* a file in the pool (else in a pack) */
};

/* Writes a message body into the volume's pool (once: an existing blob
 * is reused), fsynced.  STORE_TOOBIG over store.max_message_size. */
int store_blob_put(struct store *st, const void *data, size_t size,
		   struct store_blob *blob_r, const char **error_r);

/* What IMAP caches per message, computed by the caller (src/mime). */
struct store_cache {
	const char *envelope;
	const char *bodystructure;
	const char *body;        /* BODY (non-extended) */
	const char *headers;     /* the most fetched header fields, raw */
};

/* Computes the cache of a message (ENVELOPE, BODYSTRUCTURE, BODY and
 * the most fetched header lines) into pool. */
void store_cache_compute(struct pool *pool, const void *msg, size_t len, struct store_cache *c);
/* True when the field (any case) is among the cached header lines, so
 * that BODY[HEADER.FIELDS (...)] and header SEARCH can skip the body. */
bool store_cache_has_field(const char *name);

struct store_append {
	const char *folder;        /* NULL = INBOX */
	const void *prefix;        /* per-recipient header lines put before the blob */
	size_t prefix_len;
	int64_t internal_date;     /* 0 = now */
	uint32_t flags;
	const char *keywords;      /* space-separated, or NULL */
	const char *pop3_uidl;     /* a UIDL kept from another server, or NULL */
	uint64_t quota;            /* the owner's limit in bytes; 0 = none */
	struct store_cache cache;
};

/* Links the blob into the owner and adds the message, all durably, in one
 * transaction that also checks the quota.  STORE_QUOTA when it would go
 * over; STORE_NOTFOUND for a missing folder. */
int mailbox_append(struct mailbox *mb, const struct store_blob *blob,
		   const struct store_append *a, uint32_t *uid_r, const char **error_r);

/* --- reading --- */

struct store_message {
	int64_t folder_id;
	uint32_t uid;
	uint64_t modseq;
	uint32_t flags;
	const char *keywords;
	int64_t internal_date;
	uint64_t size;             /* prefix + blob, uncompressed */
	const char *blob;
	bool blob_file;
	const void *prefix;
	size_t prefix_len;
	const char *pop3_uidl;     /* NULL: none kept */
	struct store_cache cache;
};

/* Calls fn for every message of the folder with uid in [uid_min,
 * uid_max], in UID order. */
int mailbox_messages(struct mailbox *mb, struct pool *pool, int64_t folder_id,
		     uint32_t uid_min, uint32_t uid_max,
		     int (*fn)(const struct store_message *m, void *ctx), void *ctx,
		     const char **error_r);
/* Appends the whole message (prefix and body) to out. */
int mailbox_message_read(struct mailbox *mb, const struct store_message *m,
			 struct buf *out, const char **error_r);

/* --- changes --- */

/* Sets (mode 1), clears (mode -1) or replaces (mode 0) flags on the
 * listed UIDs; bumps MODSEQ of the messages that changed. */
int mailbox_flags_update(struct mailbox *mb, int64_t folder_id, const uint32_t *uids,
			 size_t n, int mode, uint32_t flags, const char **error_r);
/* Removes the listed messages (recording them for QRESYNC) and releases
 * their blobs. */
int mailbox_expunge(struct mailbox *mb, int64_t folder_id, const uint32_t *uids, size_t n,
		    const char **error_r);
/* Copies messages to another folder (same owner): blobs are shared. */
int mailbox_copy(struct mailbox *mb, int64_t from_folder, const uint32_t *uids, size_t n,
		 const char *to_folder, uint32_t *new_uids_r, const char **error_r);

/* --- IMAP support --- */

/* A folder by its id; STORE_NOTFOUND when it was deleted. */
int mailbox_folder_get_id(struct mailbox *mb, struct pool *pool, int64_t id,
			  struct store_folder *f_r, const char **error_r);
/* Subscribed names in name order, also of folders that no longer exist
 * (RFC 3501 6.3.6).  Unsubscribing such a name with
 * mailbox_folder_subscribe() works; subscribing needs the folder. */
int mailbox_subscriptions(struct mailbox *mb, struct pool *pool, const char ***names_r,
			  size_t *n_r, const char **error_r);

/* A message's changeable state. */
struct store_change {
	uint32_t uid;
	uint32_t flags;
	uint64_t modseq;
	const char *keywords;     /* "" none */
};

/* What changed in a folder since a session looked at it last, read in
 * one transaction so that the parts agree. */
struct store_sync {
	/* in */
	int64_t folder_id;
	uint32_t uidnext;         /* UIDs from here on are new to the session */
	uint64_t modseq;          /* changes of known UIDs after this (0: none wanted) */
	bool claim_recent;        /* take the \Recent messages (read-write sessions) */
	/* out */
	struct store_folder folder;
	uint32_t *new_uids;       /* ascending, malloc'd (store_sync_free) */
	size_t n_new;
	uint32_t *expunged;       /* known UIDs expunged after modseq, ascending, malloc'd */
	size_t n_expunged;
	struct store_change *changed; /* known UIDs changed after modseq, ascending (pool) */
	size_t n_changed;
	uint32_t recent_lo, recent_hi; /* UIDs [lo, hi) became \Recent for this session */
};
/* STORE_NOTFOUND when the folder was deleted. */
int mailbox_sync(struct mailbox *mb, struct pool *pool, struct store_sync *s, const char **error_r);
void store_sync_free(struct store_sync *s);

/* Messages changed (flags or added) after modseq with UID in [lo, hi],
 * ascending (CONDSTORE/QRESYNC). */
int mailbox_changes(struct mailbox *mb, struct pool *pool, int64_t folder_id, uint64_t modseq,
		    uint32_t uid_lo, uint32_t uid_hi, struct store_change **ch_r, size_t *n_r,
		    const char **error_r);
/* UIDs in [lo, hi] expunged after modseq, ascending, malloc'd (VANISHED). */
int mailbox_expunged(struct mailbox *mb, int64_t folder_id, uint64_t modseq, uint32_t uid_lo,
		     uint32_t uid_hi, uint32_t **uids_r, size_t *n_r, const char **error_r);

/* Which columns mailbox_query() reads besides the cheap ones (uid,
 * modseq, flags, keywords, internal date, size). */
#define STORE_WANT_CACHE 0x1  /* envelope, bodystructure, body, headers */
#define STORE_WANT_BLOB 0x2   /* what mailbox_message_read() needs */

struct store_query {
	int64_t folder_id;
	uint32_t uid_lo, uid_hi;
	uint64_t changedsince;    /* only MODSEQ above this (0: all) */
	unsigned int want;
	size_t limit;             /* at most this many rows, lowest UIDs first (0: all) */
};
/* Calls fn for each message in UID order (rows are read first, so fn may
 * call the store).  fn returning -1 stops with STORE_FAIL. */
int mailbox_query(struct mailbox *mb, struct pool *pool, const struct store_query *q,
		  int (*fn)(const struct store_message *m, void *ctx), void *ctx,
		  const char **error_r);

/* STORE of flags and keywords. */
struct store_flags_op {
	int mode;                 /* 1 add, -1 remove, 0 replace */
	uint32_t flags;
	const char *keywords;     /* space-separated, NULL or "" for none */
	bool conditional;         /* UNCHANGEDSINCE given */
	uint64_t unchangedsince;
};

enum store_flags_status {
	STORE_FLAGS_CHANGED,
	STORE_FLAGS_UNCHANGED,    /* already so: MODSEQ kept */
	STORE_FLAGS_MODIFIED,     /* changed after UNCHANGEDSINCE: not touched */
	STORE_FLAGS_GONE,         /* expunged meanwhile */
};

struct store_flags_result {
	uint32_t uid;
	enum store_flags_status status;
	uint32_t flags;           /* the state after the operation */
	const char *keywords;
	uint64_t modseq;
};

/* Applies op to each UID atomically (one transaction, one new MODSEQ for
 * every message changed); res has n entries.  Keywords are compared
 * without case and kept in the spelling the folder saw first. */
int mailbox_flags_store(struct mailbox *mb, struct pool *pool, int64_t folder_id,
			const uint32_t *uids, size_t n, const struct store_flags_op *op,
			struct store_flags_result *res, const char **error_r);

/* EXPUNGE: removes the messages flagged \Deleted (only those among uids
 * when uids is not NULL: UID EXPUNGE).  *expunged_r: the UIDs removed,
 * ascending, malloc'd. */
int mailbox_expunge_deleted(struct mailbox *mb, int64_t folder_id, const uint32_t *uids, size_t n,
			    uint32_t **expunged_r, size_t *n_r, const char **error_r);

struct store_copy {
	uint64_t quota;           /* the owner's limit; 0 = none */
	bool move;                /* MOVE: expunge from the source in the same transaction */
};
/* COPY and MOVE within the owner; the target folder learns the
 * keywords.  new_uids_r[i] = 0 when uids[i] no longer exists;
 * *uidvalidity_r is the target's (COPYUID).  STORE_NOTFOUND for a
 * missing target, STORE_QUOTA when the copies would not fit. */
int mailbox_copy_ex(struct mailbox *mb, int64_t from_folder, const uint32_t *uids, size_t n,
		    const char *to_folder, const struct store_copy *c, uint32_t *new_uids_r,
		    uint32_t *uidvalidity_r, const char **error_r);

/* --- delivery of one message to several owners --- */

struct store_delivery {
	const char *owner;       /* mailbox path */
	const char *folder;      /* NULL = INBOX */
	uint64_t quota;          /* 0 = none */
	const void *prefix;      /* per-recipient header lines, or NULL */
	size_t prefix_len;
	/* results */
	int result;              /* STORE_OK, STORE_QUOTA, ... */
	char error[256];
	uint32_t uid;
};

/* Stores msg once and appends it for every owner (each durably, each
 * with its own result).  cache NULL: computed here.  Blocks: run on the
 * thread pool.  Returns the number of owners that got it. */
size_t store_deliver(struct store *st, const void *msg, size_t len,
		     const struct store_cache *cache, struct store_delivery *d, size_t n);
/* One owner's part of a delivery whose blob is already stored, so that a
 * caller can run the owners in parallel.  Fills d's results. */
void store_deliver_blob(struct store *st, const struct store_blob *blob,
			const struct store_cache *cache, struct store_delivery *d);

/* --- maintenance --- */

struct store_check_report {
	uint64_t messages, bytes, quota_recorded;
	uint64_t missing_blobs, corrupt_blobs, orphan_links, count_mismatches;
};

/* Verifies the owner: every message's blob is present and decompresses to
 * its recorded size and hash; the recorded quota equals the sum of sizes;
 * folder counters match.  Returns STORE_OK when consistent, 1 when not
 * (report filled), -1 on failure. */
int mailbox_check(struct mailbox *mb, struct store_check_report *r, bool repair,
		  const char **error_r);
/* Removes pool blobs nobody links to any more and owner links that no
 * message refers to. */
int store_gc(struct store *st, uint64_t *removed_r, const char **error_r);

/* Tells watchers of this owner that something changed. */
void mailbox_notify(struct mailbox *mb);

/* --- exclusive access (the POP3 maildrop lock, RFC 1939 8) --- */

/* Takes the mailbox's exclusive POP3 lock (flock on a file in its
 * directory, so it holds across processes and dies with the holder).
 * STORE_OK with *fd_r to keep until release, STORE_EXISTS when another
 * session holds it. */
int mailbox_exclusive_lock(struct mailbox *mb, const char *name, int *fd_r, const char **error_r);
void mailbox_exclusive_unlock(int *fd);

/* --- watching for changes (IMAP IDLE) --- */

/* One per event loop; watches run their callback on the loop when the
 * mailbox changes (a delivery, a flag change, an expunge), in this
 * process or any other, without polling. */
struct ioloop;
struct store_watcher;
struct store_watch;
typedef void store_watch_fn(void *ctx);
struct store_watcher *store_watcher_create(struct ioloop *loop, const char **error_r);
void store_watcher_destroy(struct store_watcher **w);
/* notify_path: mailbox_notify_path() of the mailbox. */
struct store_watch *store_watch_add(struct store_watcher *w, const char *notify_path,
				    store_watch_fn *fn, void *ctx, const char **error_r);
void store_watch_remove(struct store_watch **s);

#endif
