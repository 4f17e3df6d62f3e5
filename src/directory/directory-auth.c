/* Passwords, the verified-credentials cache and login throttling. */

#include "directory-private.h"
#include "lib/config.h"
#include "lib/digest.h"
#include "lib/hash.h"
#include "lib/log.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Hashing                                                             */

int dir_password_hash(const char *password, char **hash_r, const char **error_r)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL) {
		*error_r = "cannot generate a yescrypt salt";
		return -1;
	}
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_rn(password, setting, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		free(cd);
		*error_r = "yescrypt hashing failed";
		return -1;
	}
	*hash_r = xstrdup(h);
	free(cd);
	return 0;
}

int dir_password_verify(const char *password, const char *hash)
{
	static __thread struct crypt_data *cd;
	if (hash == NULL || hash[0] == '\0' || hash[0] == '*' || hash[0] == '!')
		return 0;
	if (cd == NULL)
		cd = xcalloc(1, sizeof(*cd)); /* per thread, lives with it */
	const char *h = crypt_rn(password, hash, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*')
		return 0;
	size_t hl = strlen(h), sl = strlen(hash);
	return hl == sl && CRYPTO_memcmp(h, hash, hl) == 0 ? 1 : 0;
}

bool dir_password_hash_valid(const char *hash)
{
	static const char *const prefixes[] = { "$y$", "$gy$", "$7$", "$2b$", "$2a$", "$2y$",
						"$6$", "$5$", "$1$", NULL };
	if (hash == NULL)
		return false;
	bool known = false;
	for (const char *const *p = prefixes; *p != NULL; p++)
		known = known || str_has_prefix(hash, *p);
	if (!known)
		return false;
	/* A complete hash is a fixed point of its format: hashing anything
	 * with it as the setting gives a string of the same shape.  A bare
	 * setting such as "$6$" or a truncated hash does not. */
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_rn("probe", hash, cd, sizeof(*cd));
	const char *hd = h != NULL ? strrchr(h, '$') : NULL;
	const char *sd = strrchr(hash, '$');
	bool ok = h != NULL && h[0] != '*' && strlen(h) == strlen(hash) && hd != NULL &&
		  sd != NULL && hd - h == sd - hash && memcmp(h, hash, (size_t)(hd - h)) == 0;
	free(cd);
	return ok;
}

/* ------------------------------------------------------------------ */
/* The credentials cache                                               */

struct cache_entry {
	struct cache_entry *prev, *next; /* LRU, newest first */
	unsigned char key[SHA256_SIZE];
	uint64_t expires_us;
	bool good;
};

struct auth_cache {
	pthread_mutex_t lock;
	struct hash *entries;
	struct cache_entry *head, *tail;
	size_t count, max;
	uint64_t ttl_us, neg_ttl_us;
	struct dir_auth_stats stats;
};

struct auth_cache *auth_cache_create(const struct config *cfg)
{
	struct auth_cache *c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->entries = hash_create(1024);
	c->max = config_uint(cfg, "auth", "cache_size");
	c->ttl_us = config_ms(cfg, "auth", "cache_ttl") * 1000;
	c->neg_ttl_us = config_ms(cfg, "auth", "negative_ttl") * 1000;
	return c;
}

static void lru_unlink(struct auth_cache *c, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct auth_cache *c, struct cache_entry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void cache_clear_locked(struct auth_cache *c)
{
	hash_clear(c->entries, free);
	c->head = c->tail = NULL;
	c->count = 0;
}

void auth_cache_destroy(struct auth_cache **cp)
{
	struct auth_cache *c = *cp;
	if (c == NULL)
		return;
	*cp = NULL;
	cache_clear_locked(c);
	hash_destroy(&c->entries);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The key binds the user, the stored hash and the password: a changed
 * password (new stored hash) can never match an old entry, and the cache
 * never holds a password. */
static void cache_key(const struct dir_user *u, const char *password,
		      unsigned char out[SHA256_SIZE])
{
	struct sha256 sc;
	sha256_init(&sc);
	sha256_update(&sc, u->address, strlen(u->address) + 1);
	sha256_update(&sc, u->password, strlen(u->password) + 1);
	sha256_update(&sc, password, strlen(password));
	sha256_final(&sc, out);
}

static int cache_lookup(struct auth_cache *c, const unsigned char *key)
{
	int r = 0;
	pthread_mutex_lock(&c->lock);
	struct cache_entry *e = hash_get(c->entries, key, SHA256_SIZE);
	if (e != NULL) {
		if (e->expires_us <= time_monotonic_us()) {
			hash_remove(c->entries, key, SHA256_SIZE);
			lru_unlink(c, e);
			free(e);
			c->count--;
		} else {
			r = e->good ? 1 : -1;
			lru_unlink(c, e);
			lru_push(c, e);
		}
	}
	if (r > 0)
		c->stats.cache_hits++;
	else if (r < 0)
		c->stats.negative_hits++;
	else
		c->stats.cache_misses++;
	pthread_mutex_unlock(&c->lock);
	return r;
}

static void cache_store(struct auth_cache *c, const unsigned char *key, bool good)
{
	uint64_t ttl = good ? c->ttl_us : c->neg_ttl_us;
	if (ttl == 0 || c->max == 0)
		return;
	pthread_mutex_lock(&c->lock);
	struct cache_entry *e = hash_get(c->entries, key, SHA256_SIZE);
	if (e == NULL) {
		if (c->count >= c->max && c->tail != NULL) {
			struct cache_entry *old = c->tail;
			hash_remove(c->entries, old->key, SHA256_SIZE);
			lru_unlink(c, old);
			free(old);
			c->count--;
		}
		e = xcalloc(1, sizeof(*e));
		memcpy(e->key, key, SHA256_SIZE);
		hash_put(c->entries, e->key, SHA256_SIZE, e);
		c->count++;
	} else {
		lru_unlink(c, e);
	}
	lru_push(c, e);
	e->good = good;
	e->expires_us = time_monotonic_us() + ttl;
	pthread_mutex_unlock(&c->lock);
}

int dir_auth_cache_check(struct directory *dir, const struct dir_user *user,
			 const char *password)
{
	if (user->password == NULL)
		return -1;
	unsigned char key[SHA256_SIZE];
	cache_key(user, password, key);
	return cache_lookup(dir->cache, key);
}

void dir_auth_cache_flush(struct directory *dir)
{
	pthread_mutex_lock(&dir->cache->lock);
	cache_clear_locked(dir->cache);
	pthread_mutex_unlock(&dir->cache->lock);
}

void dir_auth_stats(struct directory *dir, struct dir_auth_stats *st)
{
	pthread_mutex_lock(&dir->cache->lock);
	*st = dir->cache->stats;
	pthread_mutex_unlock(&dir->cache->lock);
}

enum dir_auth_result dir_authenticate(struct directory *dir, struct pool *pool,
				      const char *username, const char *password,
				      struct dir_user **user_r, const char **error_r)
{
	struct dir_user *u = NULL;
	*user_r = NULL;
	if (strlen(username) > 320 || strlen(password) > 1024)
		return DIR_AUTH_FAILED;
	/* The user record is always read fresh: a disabled account or a
	 * changed password takes effect at once. */
	int r = dir_user_lookup(dir, pool, username, &u, error_r);
	if (r < 0)
		return DIR_AUTH_TEMPFAIL;
	if (r == 0 || u->disabled || u->password == NULL)
		return DIR_AUTH_FAILED;
	unsigned char key[SHA256_SIZE];
	cache_key(u, password, key);
	int cached = cache_lookup(dir->cache, key);
	if (cached < 0)
		return DIR_AUTH_FAILED;
	if (cached == 0) {
		bool ok = dir_password_verify(password, u->password) == 1;
		pthread_mutex_lock(&dir->cache->lock);
		dir->cache->stats.hashes++;
		pthread_mutex_unlock(&dir->cache->lock);
		cache_store(dir->cache, key, ok);
		if (!ok)
			return DIR_AUTH_FAILED;
	}
	*user_r = u;
	return DIR_AUTH_OK;
}

/* ------------------------------------------------------------------ */
/* Throttling                                                          */

struct fail_count {
	uint64_t window_start_us;
	uint32_t failures;
};

struct auth_throttle {
	pthread_mutex_t lock;
	struct hash *ips, *users;
	uint64_t window_us, delay_ms, delay_max_ms;
	uint64_t delay_after, ip_block, user_block;
	uint64_t last_sweep_us;
};

struct auth_throttle *auth_throttle_create(const struct config *cfg)
{
	struct auth_throttle *t = xcalloc(1, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->ips = hash_create(256);
	t->users = hash_create(256);
	t->window_us = config_ms(cfg, "auth", "fail_window") * 1000;
	t->delay_ms = config_ms(cfg, "auth", "fail_delay");
	t->delay_max_ms = config_ms(cfg, "auth", "fail_delay_max");
	t->delay_after = config_uint(cfg, "auth", "fail_delay_after");
	t->ip_block = config_uint(cfg, "auth", "ip_block_after");
	t->user_block = config_uint(cfg, "auth", "user_block_after");
	return t;
}

void auth_throttle_destroy(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	hash_clear(t->ips, free);
	hash_clear(t->users, free);
	hash_destroy(&t->ips);
	hash_destroy(&t->users);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static uint32_t current(struct hash *h, const char *key, uint64_t now, uint64_t window)
{
	struct fail_count *f = hash_get_str(h, key);
	if (f == NULL)
		return 0;
	if (now - f->window_start_us > window)
		return 0;
	return f->failures;
}

/* Drops expired counters now and then so the tables stay small. */
static void sweep(struct auth_throttle *t, uint64_t now)
{
	if (now - t->last_sweep_us < t->window_us)
		return;
	t->last_sweep_us = now;
	struct hash *tables[] = { t->ips, t->users };
	for (size_t i = 0; i < 2; i++) {
		size_t it = 0;
		const void *k;
		size_t kl;
		void *v;
		char **dead = NULL;
		size_t nd = 0;
		while (hash_iter(tables[i], &it, &k, &kl, &v)) {
			struct fail_count *f = v;
			if (now - f->window_start_us > t->window_us) {
				dead = xrealloc(dead, (nd + 1) * sizeof(char *));
				dead[nd++] = xstrndup(k, kl);
			}
		}
		for (size_t d = 0; d < nd; d++) {
			free(hash_remove(tables[i], dead[d], strlen(dead[d])));
			free(dead[d]);
		}
		free(dead);
	}
}

enum auth_throttle_verdict auth_throttle_check(struct auth_throttle *t, const char *ip,
					       const char *user, uint64_t *delay_ms_r)
{
	uint64_t now = time_monotonic_us();
	char lu[400];
	str_copy(lu, user != NULL ? user : "", sizeof(lu));
	str_lcase(lu);
	pthread_mutex_lock(&t->lock);
	uint32_t fi = current(t->ips, ip, now, t->window_us);
	uint32_t fu = lu[0] != '\0' ? current(t->users, lu, now, t->window_us) : 0;
	pthread_mutex_unlock(&t->lock);
	*delay_ms_r = 0;
	if (fi >= t->ip_block || fu >= t->user_block)
		return AUTH_THROTTLE_REFUSE;
	uint32_t f = MAX(fi, fu);
	if (f >= t->delay_after && t->delay_ms > 0) {
		uint32_t steps = f - (uint32_t)t->delay_after;
		uint64_t d = t->delay_ms;
		while (steps-- > 0 && d < t->delay_max_ms)
			d *= 2;
		*delay_ms_r = MIN(d, t->delay_max_ms);
	}
	return AUTH_THROTTLE_OK;
}

static void bump(struct hash *h, const char *key, uint64_t now, uint64_t window)
{
	struct fail_count *f = hash_get_str(h, key);
	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		hash_put(h, key, strlen(key), f);
	}
	if (f->failures == 0 || now - f->window_start_us > window) {
		f->window_start_us = now;
		f->failures = 0;
	}
	f->failures++;
}

void auth_throttle_failure(struct auth_throttle *t, const char *ip, const char *user)
{
	uint64_t now = time_monotonic_us();
	char lu[400];
	str_copy(lu, user != NULL ? user : "", sizeof(lu));
	str_lcase(lu);
	pthread_mutex_lock(&t->lock);
	sweep(t, now);
	bump(t->ips, ip, now, t->window_us);
	if (lu[0] != '\0')
		bump(t->users, lu, now, t->window_us);
	pthread_mutex_unlock(&t->lock);
}

void auth_throttle_success(struct auth_throttle *t, const char *ip, const char *user)
{
	/* A good login clears the user's counter but not the IP's: one
	 * valid account must not launder an attacker's address. */
	char lu[400];
	str_copy(lu, user != NULL ? user : "", sizeof(lu));
	str_lcase(lu);
	pthread_mutex_lock(&t->lock);
	free(hash_remove(t->users, lu, strlen(lu)));
	pthread_mutex_unlock(&t->lock);
	(void)ip;
}
