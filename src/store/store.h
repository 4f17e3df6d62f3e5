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
