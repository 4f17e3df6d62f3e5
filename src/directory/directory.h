#ifndef OMBU_DIRECTORY_H
#define OMBU_DIRECTORY_H

/*
 * The directory: the single source of truth for domains, users, aliases,
 * spam levels, white/black lists, address books and stores.
 *
 * Every call here may block (a database round trip, a password hash):
 * servers call it from their thread pool, never from the event loop.  A
 * `struct directory` is thread-safe; it keeps a small pool of driver
 * connections.
 *
 * Return values: 0 success / -1 failure with *error_r (a temporary
 * failure such as a database that is down, or a usage error for the
 * management calls, see each function); lookups return 1 found / 0 not
 * found / -1 error.  Strings in results are allocated from the caller's
 * pool.  Addresses are compared case-insensitively: they are stored
 * lower-cased.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"

struct pool;
struct directory;

/* [directory] and [auth] sections. */
extern const struct config_key directory_config_keys[];

struct dir_user {
	int64_t id;
	const char *address;   /* local@domain, lower case */
	const char *domain;
	const char *password;  /* crypt(3) hash; NULL = no password login */
	uint64_t quota;        /* bytes; 0 = unlimited */
	const char *level;     /* spam level name */
	double tag, cutoff;    /* that level's scores */
	const char *store;     /* store name; NULL = this node */
	const char *mailbox;   /* path of the mailbox under the store root */
	bool disabled;
	int64_t created;
};

struct dir_level {
	const char *name;
	double tag, cutoff;
};

struct dir_store {
	const char *name;
	const char *lmtp, *imap, *pop3; /* host:port or NULL */
};

/* Opens the directory the configuration names and brings its schema up
 * to date (migrations run inside a transaction). */
struct directory *directory_open(const struct config *cfg, const char **error_r);
void directory_close(struct directory **dir);
/* The directory of a worker process, opened on first use and shared by
 * its services.  NULL with *error_r when it cannot be opened. */
struct worker;
struct directory *directory_worker(struct worker *w, const char **error_r);

/* Schema version after migrations. */
int directory_schema_version(struct directory *dir);

/* --- recipients --- */

enum dir_target_kind { DIR_TARGET_LOCAL, DIR_TARGET_REMOTE };

struct dir_target {
	enum dir_target_kind kind;
	const char *address;     /* final address (local user or remote) */
	struct dir_user *user;   /* DIR_TARGET_LOCAL */
	const char *detail;      /* "+detail" part of the original, or NULL */
};

enum dir_resolve_status {
	DIR_RESOLVED,          /* targets[] holds at least one target */
	DIR_UNKNOWN_USER,      /* local domain, no such user or alias */
	DIR_NOT_LOCAL,         /* the domain is not one of ours */
};

struct dir_resolution {
	enum dir_resolve_status status;
	struct dir_target *targets;
	size_t n_targets;
};

/* Resolves a recipient address: aliases (recursively, to several targets
 * and to remote addresses, loops cut), users, `local+detail@domain`
 * sub-addressing (delimiter: directory.recipient_delimiter), catch-all
 * aliases "@domain".  Domains compare case-insensitively.  Disabled
 * users resolve as unknown.  -1 on a lookup failure (temporary). */
int dir_resolve(struct directory *dir, struct pool *pool, const char *address,
		struct dir_resolution *r, const char **error_r);

/* True when the domain (any case, no trailing dot) is local. */
int dir_domain_is_local(struct directory *dir, const char *domain, const char **error_r);

/* --- users --- */

int dir_user_lookup(struct directory *dir, struct pool *pool, const char *address,
		    struct dir_user **user_r, const char **error_r);
int dir_user_lookup_id(struct directory *dir, struct pool *pool, int64_t id,
		       struct dir_user **user_r, const char **error_r);

/* Authentication results. */
enum dir_auth_result {
	DIR_AUTH_OK,
	DIR_AUTH_FAILED,    /* unknown user, wrong password, disabled */
	DIR_AUTH_TEMPFAIL,  /* the directory could not be asked */
};

struct dir_auth_stats {
	uint64_t cache_hits, cache_misses, negative_hits, hashes;
};

/* Verifies a login.  A verified (address, stored hash, password) triple is
 * cached for auth.cache_ttl, so repeated logins cost a lookup and a
 * SHA-256 instead of a slow hash; the key includes the stored hash, so a
 * changed password is never accepted from the cache.  A failed triple is
 * cached for auth.negative_ttl.  The user name may be given in any case.
 * Throttling is separate (struct auth_throttle). */
enum dir_auth_result dir_authenticate(struct directory *dir, struct pool *pool,
				      const char *username, const char *password,
				      struct dir_user **user_r, const char **error_r);
void dir_auth_stats(struct directory *dir, struct dir_auth_stats *st);
/* The cache check alone, for a user record already looked up: 1 = cached
 * as good, 0 = not cached, -1 = cached as bad.  (Benchmarks, tests.) */
int dir_auth_cache_check(struct directory *dir, const struct dir_user *user,
			 const char *password);
/* Empties the credentials cache. */
void dir_auth_cache_flush(struct directory *dir);

/* --- passwords --- */

/* Hashes a new password with yescrypt; the result is malloc'd. */
int dir_password_hash(const char *password, char **hash_r, const char **error_r);
/* Constant-time verification against any crypt(3) hash libxcrypt knows
 * ($y$, $2b$, $6$, $5$, $1$, ...).  1 = match, 0 = no match. */
int dir_password_verify(const char *password, const char *hash);
/* True when the string looks like a hash we can verify. */
bool dir_password_hash_valid(const char *hash);

/* --- management (the `ombu` commands); errors are sentences a person
 * can act on --- */

int dir_domain_add(struct directory *dir, const char *name, const char **error_r);
int dir_domain_del(struct directory *dir, const char *name, const char **error_r);
/* Calls fn for each domain in name order. */
int dir_domain_list(struct directory *dir, void (*fn)(const char *name, void *ctx),
		    void *ctx, const char **error_r);

struct dir_user_settings {
	const char *password_hash; /* NULL = no password */
	uint64_t quota;
	bool quota_set;
	const char *level;         /* NULL = "normal" */
	const char *store;         /* NULL = this node */
};
int dir_user_add(struct directory *dir, const char *address,
		 const struct dir_user_settings *set, const char **error_r);
int dir_user_del(struct directory *dir, const char *address, const char **error_r);
/* key: password_hash, quota, level, store, state (active|disabled). */
int dir_user_set(struct directory *dir, const char *address, const char *key,
		 const char *value, const char **error_r);
int dir_user_list(struct directory *dir, struct pool *pool,
		  void (*fn)(const struct dir_user *u, void *ctx), void *ctx,
		  const char **error_r);

int dir_alias_add(struct directory *dir, const char *source, const char *target,
		  const char **error_r);
int dir_alias_del(struct directory *dir, const char *source, const char *target,
		  const char **error_r);
int dir_alias_list(struct directory *dir,
		   void (*fn)(const char *source, const char *target, void *ctx),
		   void *ctx, const char **error_r);

/* kind: "white" or "black"; pattern: user@dom, @dom or *.dom */
int dir_list_add(struct directory *dir, const char *address, const char *kind,
		 const char *pattern, const char **error_r);
int dir_list_del(struct directory *dir, const char *address, const char *kind,
		 const char *pattern, const char **error_r);
int dir_list_show(struct directory *dir, const char *address,
		  void (*fn)(const char *kind, const char *pattern, void *ctx),
		  void *ctx, const char **error_r);

int dir_contact_add(struct directory *dir, const char *address, const char *contact,
		    const char *name, const char **error_r);
int dir_contact_del(struct directory *dir, const char *address, const char *contact,
		    const char **error_r);
int dir_contact_list(struct directory *dir, const char *address,
		     void (*fn)(const char *contact, const char *name, void *ctx),
		     void *ctx, const char **error_r);

int dir_level_add(struct directory *dir, const char *name, double tag, double cutoff,
		  const char **error_r);
int dir_level_list(struct directory *dir,
		   void (*fn)(const struct dir_level *l, void *ctx), void *ctx,
		   const char **error_r);

int dir_store_add(struct directory *dir, const char *name, const char *lmtp,
		  const char *imap, const char *pop3, const char **error_r);
int dir_store_lookup(struct directory *dir, struct pool *pool, const char *name,
		     struct dir_store **store_r, const char **error_r);

/* The sender policy of one recipient: 1 white (or address book), 2 black,
 * 0 neither.  `sender` is the envelope or header From address. */
int dir_sender_policy(struct directory *dir, int64_t user_id, const char *sender,
		      const char **error_r);

/* --- validation shared with the CLI --- */

/* Lower-cases and checks "local@domain": local part of letters, digits
 * and . _ + - = (no leading/trailing/double dot), a valid domain name. */
int dir_address_normalize(const char *in, char *out, size_t outsize, const char **error_r);
int dir_domain_normalize(const char *in, char *out, size_t outsize, const char **error_r);

/* --- login throttling (in memory, per process; thread-safe) --- */

struct auth_throttle;

enum auth_throttle_verdict {
	AUTH_THROTTLE_OK,     /* go ahead (after *delay_ms_r, possibly 0) */
	AUTH_THROTTLE_REFUSE, /* refuse for now: temporary failure */
};

struct auth_throttle *auth_throttle_create(const struct config *cfg);
/* The throttle of a worker process, shared by its services. */
struct auth_throttle *auth_throttle_worker(struct worker *w);
void auth_throttle_destroy(struct auth_throttle **t);
enum auth_throttle_verdict auth_throttle_check(struct auth_throttle *t, const char *ip,
					       const char *user, uint64_t *delay_ms_r);
void auth_throttle_failure(struct auth_throttle *t, const char *ip, const char *user);
void auth_throttle_success(struct auth_throttle *t, const char *ip, const char *user);

#endif
