/* The store volume: configuration, owners and their cached handles,
 * name validation. */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/master.h"
#include "lib/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

const struct config_key store_config_keys[] = {
	{ "store", "path", CONFIG_PATH, "store", "the store volume: owners' indexes and the blob pool" },
	{ "store", "max_message_size", CONFIG_SIZE, "50M", "largest message the store accepts (the SIZE LMTP and SMTP advertise)", 1024, 1ull << 31 },
	{ "store", "compression_level", CONFIG_UINT, "3", "zstd level for message bodies", 1, 19 },
	{ "store", "gc_compression_level", CONFIG_UINT, "15", "zstd level `store gc` recompresses packed bodies at, once each, with the current dictionary (0 = leave the level alone)", 0, 19 },
	{ "store", "pack_max", CONFIG_SIZE, "64k", "compressed bodies up to this size share pack databases; larger ones are files", 0, 1ull << 30 },
	{ "store", "dict_after", CONFIG_UINT, "1000", "bodies stored before a zstd dictionary is trained from them (0 = never)", 0, 100000000 },
	{ "store", "open_mailboxes", CONFIG_UINT, "64", "mailbox indexes kept open per worker (LRU), about 200 KiB each; idle IMAP sessions do not hold one", 1, 100000 },
	{ "store", "busy_timeout", CONFIG_DURATION, "30s", "how long a writer waits for a locked index", 100, 600000 },
	{ NULL }
};

const char *store_errf(const char *fmt, ...)
{
	static __thread char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return msg;
}

/* SQLite's own busy handler sleeps 1, 2, 5, 10... ms between tries, far
 * longer than a commit takes here (an fsync is a fraction of a
 * millisecond): writers from two processes would spend most of their
 * time asleep.  This one starts at 50 us and doubles up to 2 ms. */
static int busy_wait(void *ctx, int n)
{
	uint64_t timeout_ms = (uint64_t)(uintptr_t)ctx;
	uint64_t slept_us = 0, d = 50;
	for (int i = 0; i < n; i++) {
		slept_us += d;
		if (d < 2000)
			d *= 2;
	}
	if (slept_us / 1000 >= timeout_ms)
		return 0;
	usleep((useconds_t)d);
	return 1;
}

void store_sqlite_busy(sqlite3 *db, uint64_t timeout_ms)
{
	sqlite3_busy_handler(db, busy_wait, (void *)(uintptr_t)timeout_ms);
}

int sqlite_exec_retry(sqlite3 *db, const char *sql, uint64_t timeout_ms, char **err_r)
{
	uint64_t end = time_monotonic_us() + timeout_ms * 1000;
	for (;;) {
		*err_r = NULL;
		int rc = sqlite3_exec(db, sql, NULL, NULL, err_r);
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			return rc;
		if (time_monotonic_us() > end)
			return rc;
		sqlite3_free(*err_r);
		usleep(10000);
	}
}

int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	if (str_copy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static bool owner_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '+' || c == '-' || c == '=' || c == '@';
}

bool store_owner_path_valid(const char *path)
{
	size_t len = strlen(path);
	if (len == 0 || len > 400 || path[0] == '/' || path[len - 1] == '/')
		return false;
	const char *comp = path;
	for (const char *p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t cl = (size_t)(p - comp);
			if (cl == 0 || (cl == 1 && comp[0] == '.') ||
			    (cl == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			/* reserved names at the top of the volume */
			if (comp == path && ((cl == 5 && memcmp(comp, "blobs", 5) == 0) ||
					     (cl == 3 && memcmp(comp, "tmp", 3) == 0)))
				return false;
			if (*p == '\0')
				break;
			comp = p + 1;
		} else if (!owner_char(*p)) {
			return false;
		}
	}
	return true;
}

static bool utf8_valid(const unsigned char *s)
{
	while (*s != '\0') {
		unsigned char c = *s;
		size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
			 : (c & 0xf8) == 0xf0 ? 3 : 9;
		if (n == 9 || (n == 1 && c < 0xc2))
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
		}
		s += n + 1;
	}
	return true;
}

bool store_folder_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 255 || !utf8_valid((const unsigned char *)name))
		return false;
	const char *comp = name;
	for (const char *p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t cl = (size_t)(p - comp);
			if (cl == 0 || (cl == 1 && comp[0] == '.') ||
			    (cl == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			if (*p == '\0')
				break;
			comp = p + 1;
		} else if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '*' || *p == '%') {
			return false;
		}
	}
	return true;
}

struct store *store_open(const struct config *cfg, const char **error_r)
{
	struct store *st = xcalloc(1, sizeof(*st));
	st->root = xstrdup(config_path_value(cfg, "store", "path"));
	st->max_size = config_size(cfg, "store", "max_message_size");
	st->pack_max = config_size(cfg, "store", "pack_max");
	st->level = (int)config_uint(cfg, "store", "compression_level");
	st->gc_level = (int)config_uint(cfg, "store", "gc_compression_level");
	st->cache_max = config_uint(cfg, "store", "open_mailboxes");
	st->busy_ms = config_ms(cfg, "store", "busy_timeout");
	pthread_mutex_init(&st->cache_lock, NULL);
	pthread_mutex_init(&st->dicts.lock, NULL);
	st->dicts.dict_after = config_uint(cfg, "store", "dict_after");
	st->open = hash_create(64);
	char path[4096];
	snprintf(path, sizeof(path), "%s/tmp", st->root);
	if (mkdir_p(path, 0750) < 0) {
		*error_r = store_errf("cannot create the store at %s: %s", st->root, strerror(errno));
		store_close(&st);
		return NULL;
	}
	if (blob_pack_open(st, error_r) < 0) {
		store_close(&st);
		return NULL;
	}
	return st;
}

static void mailbox_free(struct mailbox *mb)
{
	index_close(mb);
	pthread_mutex_destroy(&mb->lock);
	pthread_mutex_destroy(&mb->qlock);
	pthread_cond_destroy(&mb->qcond);
	free(mb->owner);
	free(mb->dir);
	free(mb->notify_path);
	free(mb);
}

void store_close(struct store **sp)
{
	struct store *st = *sp;
	if (st == NULL)
		return;
	*sp = NULL;
	size_t it = 0;
	void *v;
	while (hash_iter(st->open, &it, NULL, NULL, &v))
		mailbox_free(v);
	hash_destroy(&st->open);
	dict_wait(st);
	blob_pack_close(st);
	dict_free(st);
	pthread_mutex_destroy(&st->cache_lock);
	free(st->root);
	free(st);
}

const char *store_root(const struct store *st)
{
	return st->root;
}

uint64_t store_max_message_size(const struct store *st)
{
	return st->max_size;
}

/* Takes the least recently used idle handles above the cache size out of
 * the cache, into victims[] (at most max); the caller closes them after
 * dropping the cache lock.  Closing an index checkpoints it (writes and
 * fsyncs), which must not hold up every other thread's open. */
static size_t cache_trim(struct store *st, struct mailbox **victims, size_t max)
{
	size_t n = 0;
	while (n < max && hash_count(st->open) > st->cache_max) {
		size_t it = 0;
		const void *k;
		size_t kl;
		void *v;
		struct mailbox *oldest = NULL;
		while (hash_iter(st->open, &it, &k, &kl, &v)) {
			struct mailbox *mb = v;
			if (mb->refs == 0 && (oldest == NULL || mb->last_used_us < oldest->last_used_us))
				oldest = mb;
		}
		if (oldest == NULL)
			break;
		hash_remove(st->open, oldest->owner, strlen(oldest->owner));
		victims[n++] = oldest;
	}
	return n;
}

#define TRIM_MAX 8

static void free_victims(struct mailbox **victims, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mailbox_free(victims[i]);
}

int store_mailbox_open(struct store *st, const char *owner, bool create,
		       struct mailbox **mb_r, const char **error_r)
{
	if (!store_owner_path_valid(owner)) {
		*error_r = store_errf("invalid mailbox path '%s'", owner);
		return STORE_INVALID;
	}
	pthread_mutex_lock(&st->cache_lock);
	struct mailbox *mb = hash_get_str(st->open, owner);
	if (mb != NULL) {
		mb->refs++;
		pthread_mutex_unlock(&st->cache_lock);
		*mb_r = mb;
		return STORE_OK;
	}
	pthread_mutex_unlock(&st->cache_lock);

	mb = xcalloc(1, sizeof(*mb));
	mb->st = st;
	mb->owner = xstrdup(owner);
	pthread_mutex_init(&mb->lock, NULL);
	pthread_mutex_init(&mb->qlock, NULL);
	pthread_cond_init(&mb->qcond, NULL);
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s/%s", st->root, owner);
	mb->dir = buf_steal(&b, NULL);
	buf_printf(&b, "%s/notify", mb->dir);
	mb->notify_path = buf_steal(&b, NULL);
	int r = index_open(mb, create, error_r);
	if (r != STORE_OK) {
		mailbox_free(mb);
		return r;
	}
	pthread_mutex_lock(&st->cache_lock);
	struct mailbox *other = hash_get_str(st->open, owner);
	if (other != NULL) {
		/* another thread opened it meanwhile */
		other->refs++;
		pthread_mutex_unlock(&st->cache_lock);
		mailbox_free(mb);
		*mb_r = other;
		return STORE_OK;
	}
	mb->refs = 1;
	hash_put(st->open, owner, strlen(owner), mb);
	struct mailbox *victims[TRIM_MAX];
	size_t nv = cache_trim(st, victims, TRIM_MAX);
	pthread_mutex_unlock(&st->cache_lock);
	free_victims(victims, nv);
	*mb_r = mb;
	return STORE_OK;
}

void store_mailbox_close(struct mailbox **mbp)
{
	struct mailbox *mb = *mbp;
	if (mb == NULL)
		return;
	*mbp = NULL;
	struct store *st = mb->st;
	pthread_mutex_lock(&st->cache_lock);
	mb->refs--;
	mb->last_used_us = time_monotonic_us();
	struct mailbox *victims[TRIM_MAX];
	size_t nv = cache_trim(st, victims, TRIM_MAX);
	pthread_mutex_unlock(&st->cache_lock);
	free_victims(victims, nv);
}

void mailbox_lock(struct mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
}

void mailbox_unlock(struct mailbox *mb)
{
	pthread_mutex_unlock(&mb->lock);
}

const char *mailbox_owner(const struct mailbox *mb)
{
	return mb->owner;
}

const char *mailbox_notify_path(const struct mailbox *mb)
{
	return mb->notify_path;
}

void mailbox_notify(struct mailbox *mb)
{
	/* Touching the file raises IN_ATTRIB for every inotify watcher, in
	 * this process or another. */
	if (utimensat(AT_FDCWD, mb->notify_path, NULL, 0) < 0 && errno == ENOENT) {
		int fd = open(mb->notify_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
		if (fd >= 0)
			close(fd);
	}
}

static void *worker_store_create(struct worker *w, const char **error_r)
{
	return store_open(worker_config(w), error_r);
}

static void worker_store_destroy(void *obj)
{
	struct store *st = obj;
	store_close(&st);
}

struct store *store_worker(struct worker *w, const char **error_r)
{
	return worker_shared(w, "store", worker_store_create, worker_store_destroy, error_r);
}

void store_deliver_blob(struct store *st, const struct store_blob *blob,
			const struct store_cache *cache, struct store_delivery *d)
{
	const char *err;
	struct mailbox *mb;
	d->uid = 0;
	d->error[0] = '\0';
	d->result = store_mailbox_open(st, d->owner, true, &mb, &err);
	if (d->result != STORE_OK) {
		str_copy(d->error, err, sizeof(d->error));
		return;
	}
	struct store_append a = {
		.folder = d->folder,
		.prefix = d->prefix,
		.prefix_len = d->prefix_len,
		.quota = d->quota,
	};
	if (cache != NULL)
		a.cache = *cache;
	d->result = mailbox_append(mb, blob, &a, &d->uid, &err);
	if (d->result != STORE_OK)
		str_copy(d->error, err, sizeof(d->error));
	store_mailbox_close(&mb);
}

size_t store_deliver(struct store *st, const void *msg, size_t len,
		     const struct store_cache *cache, struct store_delivery *d, size_t n)
{
	struct store_blob blob;
	const char *err;
	size_t ok = 0;
	struct pool *pool = NULL;
	struct store_cache computed;
	if (cache == NULL) {
		pool = pool_create("cache", 4096);
		store_cache_compute(pool, msg, len, &computed);
		cache = &computed;
	}
	int r = store_blob_put(st, msg, len, &blob, &err);
	for (size_t i = 0; i < n; i++) {
		if (r != STORE_OK) {
			d[i].result = r;
			d[i].uid = 0;
			str_copy(d[i].error, err, sizeof(d[i].error));
			continue;
		}
		store_deliver_blob(st, &blob, cache, &d[i]);
		if (d[i].result == STORE_OK)
			ok++;
	}
	pool_destroy(&pool);
	return ok;
}

int mailbox_exclusive_lock(struct mailbox *mb, const char *name, int *fd_r, const char **error_r)
{
	char path[4200];
	for (const char *p = name; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			*error_r = "bad lock name";
			return STORE_INVALID;
		}
	}
	snprintf(path, sizeof(path), "%s/%s.lock", mb->dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		*error_r = store_errf("cannot open %s: %s", path, strerror(errno));
		return STORE_FAIL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		if (errno == EWOULDBLOCK) {
			*error_r = "the mailbox is in use";
			return STORE_EXISTS;
		}
		*error_r = store_errf("cannot lock %s: %s", path, strerror(errno));
		return STORE_FAIL;
	}
	*fd_r = fd;
	return STORE_OK;
}

void mailbox_exclusive_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
