#include "directory-private.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/master.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIAS_MAX_DEPTH 8
#define ALIAS_MAX_TARGETS 1000

static const char *const drivers[] = { "sqlite", NULL };

static int check_delimiter(const char *v, const char **error_r)
{
	if (strlen(v) > 1 || (v[0] != '\0' && strchr("+-_=", v[0]) == NULL)) {
		*error_r = "one of + - _ = or empty";
		return -1;
	}
	return 0;
}

const struct config_key directory_config_keys[] = {
	{ "directory", "driver", CONFIG_ENUM, "sqlite", "directory database driver (postgresql and mysql are planned)", .enum_values = drivers },
	{ "directory", "path", CONFIG_PATH, "directory.sqlite", "SQLite database file" },
	{ "directory", "busy_timeout", CONFIG_DURATION, "5s", "how long to wait for a locked database", 0, 600000 },
	{ "directory", "connections", CONFIG_UINT, "8", "idle database connections kept per process", 1, 1024 },
	{ "directory", "recipient_delimiter", CONFIG_STRING, "+", "sub-addressing delimiter: user+detail@domain reaches user@domain", .validate = check_delimiter },
	{ "auth", "plaintext_without_tls", CONFIG_BOOL, "no", "allow LOGIN/USER/AUTH PLAIN before TLS" },
	{ "auth", "cache_ttl", CONFIG_DURATION, "5m", "how long a verified login is remembered (0 = no cache)", 0, 86400000 },
	{ "auth", "cache_size", CONFIG_UINT, "100000", "verified logins remembered per process", 0, 100000000 },
	{ "auth", "negative_ttl", CONFIG_DURATION, "30s", "how long a failed login is remembered", 0, 3600000 },
	{ "auth", "fail_window", CONFIG_DURATION, "10m", "failed logins are counted over this window", 1000, 86400000 },
	{ "auth", "fail_delay_after", CONFIG_UINT, "3", "failures (per IP or user) before answers are delayed", 0, 1000000 },
	{ "auth", "fail_delay", CONFIG_DURATION, "1s", "first delay; doubles with each further failure", 0, 600000 },
	{ "auth", "fail_delay_max", CONFIG_DURATION, "15s", "longest delay", 0, 600000 },
	{ "auth", "ip_block_after", CONFIG_UINT, "10", "failures from one IP before it is refused until the window ends", 1, 1000000 },
	{ "auth", "user_block_after", CONFIG_UINT, "30", "failures for one user (from any IP) before that user is refused until the window ends", 1, 1000000 },
	{ NULL }
};

/* ------------------------------------------------------------------ */
/* Connections                                                         */

struct dir_conn *dir_conn_get(struct directory *dir, const char **error_r)
{
	pthread_mutex_lock(&dir->lock);
	struct dir_conn *c = dir->idle;
	if (c != NULL) {
		dir->idle = c->next;
		dir->n_idle--;
	}
	pthread_mutex_unlock(&dir->lock);
	if (c != NULL)
		return c;
	void *h = dir->drv->connect(dir->cfg, error_r);
	if (h == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->handle = h;
	return c;
}

void dir_conn_put(struct directory *dir, struct dir_conn *c)
{
	pthread_mutex_lock(&dir->lock);
	if (dir->n_idle < dir->max_idle) {
		c->next = dir->idle;
		dir->idle = c;
		dir->n_idle++;
		c = NULL;
	}
	pthread_mutex_unlock(&dir->lock);
	if (c != NULL)
		dir_conn_discard(dir, c);
}

void dir_conn_discard(struct directory *dir, struct dir_conn *c)
{
	dir->drv->disconnect(c->handle);
	free(c);
}

struct directory *directory_open(const struct config *cfg, const char **error_r)
{
	struct directory *dir = xcalloc(1, sizeof(*dir));
	dir->cfg = cfg;
	dir->drv = &dir_driver_sqlite;
	dir->max_idle = config_uint(cfg, "directory", "connections");
	const char *delim = config_str(cfg, "directory", "recipient_delimiter");
	dir->delimiter = delim[0];
	pthread_mutex_init(&dir->lock, NULL);
	if (dir_migrate(dir, error_r) < 0) {
		directory_close(&dir);
		return NULL;
	}
	dir->cache = auth_cache_create(cfg);
	return dir;
}

void directory_close(struct directory **dp)
{
	struct directory *dir = *dp;
	if (dir == NULL)
		return;
	*dp = NULL;
	while (dir->idle != NULL) {
		struct dir_conn *c = dir->idle;
		dir->idle = c->next;
		dir_conn_discard(dir, c);
	}
	auth_cache_destroy(&dir->cache);
	pthread_mutex_destroy(&dir->lock);
	free(dir);
}

/* One statement on a pooled connection; retries once on a fresh
 * connection when the first attempt failed for a reason other than a
 * constraint (a stale PostgreSQL connection, say). */
static int run(struct directory *dir, const char *sql, const char *const *params,
	       size_t n, dir_row_fn *fn, void *ctx, enum dir_db_error *kind_r,
	       const char **error_r)
{
	enum dir_db_error kind = DIR_DB_OK;
	for (int attempt = 0; attempt < 2; attempt++) {
		struct dir_conn *c = dir_conn_get(dir, error_r);
		if (c == NULL) {
			kind = DIR_DB_FAILED;
			break;
		}
		int r = dir->drv->query(c->handle, sql, params, n, fn, ctx, &kind, error_r);
		if (r >= 0 || kind == DIR_DB_CONSTRAINT) {
			dir_conn_put(dir, c);
			if (kind_r != NULL)
				*kind_r = kind;
			return r;
		}
		if (attempt == 0 && kind != DIR_DB_BUSY)
			log_warn("directory.query_failed", "error=%s retry=yes", log_str(*error_r));
		dir_conn_discard(dir, c);
		if (kind == DIR_DB_BUSY)
			break;
	}
	if (kind_r != NULL)
		*kind_r = kind;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Validation                                                          */

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

int dir_domain_normalize(const char *in, char *out, size_t outsize, const char **error_r)
{
	size_t len = strlen(in);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253 || len >= outsize) {
		*error_r = "a domain name must be 1 to 253 characters";
		return -1;
	}
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = ascii_lower(in[i]);
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-') {
				*error_r = "empty label or label ending in '-' in domain name";
				return -1;
			}
			label = 0;
		} else if (!label_char(c) && (unsigned char)c < 0x80) {
			*error_r = "a domain name may hold letters, digits, '-' and '.'";
			return -1;
		} else if ((unsigned char)c >= 0x80) {
			*error_r = "write internationalised domain names in their xn-- (A-label) form";
			return -1;
		} else {
			if (label == 0 && c == '-') {
				*error_r = "a domain label may not start with '-'";
				return -1;
			}
			if (++label > 63) {
				*error_r = "a domain label is longer than 63 characters";
				return -1;
			}
		}
		out[i] = c;
	}
	if (label == 0 || out[len - 1] == '-') {
		*error_r = "a domain name may not end with '.' or '-'";
		return -1;
	}
	out[len] = '\0';
	return 0;
}

int dir_address_normalize(const char *in, char *out, size_t outsize, const char **error_r)
{
	const char *at = strrchr(in, '@');
	if (at == NULL || at == in) {
		*error_r = "expected an address such as user@example.org";
		return -1;
	}
	size_t ll = (size_t)(at - in);
	if (ll > 64) {
		*error_r = "the local part is longer than 64 characters";
		return -1;
	}
	if (ll + 2 > outsize) {
		*error_r = "address too long";
		return -1;
	}
	for (size_t i = 0; i < ll; i++) {
		char c = ascii_lower(in[i]);
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  strchr("._+-=", c) != NULL;
		if (!ok || (c == '.' && (i == 0 || i == ll - 1 || in[i - 1] == '.'))) {
			*error_r = "the local part may hold letters, digits and . _ + - = (no leading, trailing or double dot)";
			return -1;
		}
		out[i] = c;
	}
	out[ll] = '@';
	return dir_domain_normalize(at + 1, out + ll + 1, outsize - ll - 1, error_r);
}

/* ------------------------------------------------------------------ */
/* Users                                                               */

#define USER_COLUMNS \
	"u.id, u.address, d.name, u.password, u.quota_bytes, l.name, l.tag_score, " \
	"l.cutoff_score, s.name, u.mailbox, u.state, u.created "
#define USER_FROM \
	"FROM users u JOIN domains d ON d.id = u.domain_id " \
	"JOIN spam_levels l ON l.id = u.spam_level_id " \
	"LEFT JOIN stores s ON s.id = u.store_id "

struct user_rows {
	struct pool *pool;
	struct dir_user *user; /* last row */
	void (*fn)(const struct dir_user *u, void *ctx);
	void *ctx;
};

static int64_t to_i64(const char *s)
{
	int64_t v = 0;
	if (s != NULL)
		num_parse_i64(s, &v);
	return v;
}

static double to_double(const char *s)
{
	return s != NULL ? strtod(s, NULL) : 0.0;
}

static void user_row(void *ctx, const char *const *c, size_t n)
{
	struct user_rows *ur = ctx;
	if (n < 12)
		return;
	struct dir_user *u = POOL_NEW(ur->pool, struct dir_user);
	u->id = to_i64(c[0]);
	u->address = pool_strdup(ur->pool, c[1]);
	u->domain = pool_strdup(ur->pool, c[2]);
	u->password = c[3] != NULL && c[3][0] != '\0' ? pool_strdup(ur->pool, c[3]) : NULL;
	u->quota = (uint64_t)to_i64(c[4]);
	u->level = pool_strdup(ur->pool, c[5]);
	u->tag = to_double(c[6]);
	u->cutoff = to_double(c[7]);
	u->store = c[8] != NULL ? pool_strdup(ur->pool, c[8]) : NULL;
	u->mailbox = pool_strdup(ur->pool, c[9]);
	u->disabled = c[10] != NULL && strcmp(c[10], "active") != 0;
	u->created = to_i64(c[11]);
	ur->user = u;
	if (ur->fn != NULL)
		ur->fn(u, ur->ctx);
}

int dir_user_lookup(struct directory *dir, struct pool *pool, const char *address,
		    struct dir_user **user_r, const char **error_r)
{
	char norm[400];
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	struct user_rows ur = { .pool = pool };
	const char *params[] = { norm };
	if (run(dir, "SELECT " USER_COLUMNS USER_FROM "WHERE u.address = ?", params, 1,
		user_row, &ur, NULL, error_r) < 0)
		return -1;
	*user_r = ur.user;
	return ur.user != NULL ? 1 : 0;
}

int dir_user_lookup_id(struct directory *dir, struct pool *pool, int64_t id,
		       struct dir_user **user_r, const char **error_r)
{
	char ids[24];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	struct user_rows ur = { .pool = pool };
	const char *params[] = { ids };
	if (run(dir, "SELECT " USER_COLUMNS USER_FROM "WHERE u.id = ?", params, 1,
		user_row, &ur, NULL, error_r) < 0)
		return -1;
	*user_r = ur.user;
	return ur.user != NULL ? 1 : 0;
}

int dir_user_list(struct directory *dir, struct pool *pool,
		  void (*fn)(const struct dir_user *u, void *ctx), void *ctx,
		  const char **error_r)
{
	struct user_rows ur = { .pool = pool, .fn = fn, .ctx = ctx };
	return run(dir, "SELECT " USER_COLUMNS USER_FROM "ORDER BY d.name, u.address", NULL, 0,
		   user_row, &ur, NULL, error_r) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Resolution                                                          */

static void first_col(void *ctx, const char *const *c, size_t n)
{
	char **out = ctx;
	if (*out == NULL && n > 0 && c[0] != NULL)
		*out = xstrdup(c[0]);
}

int dir_domain_is_local(struct directory *dir, const char *domain, const char **error_r)
{
	char norm[256];
	if (dir_domain_normalize(domain, norm, sizeof(norm), error_r) < 0)
		return 0;
	char *found = NULL;
	const char *params[] = { norm };
	if (run(dir, "SELECT name FROM domains WHERE name = ?", params, 1, first_col, &found,
		NULL, error_r) < 0)
		return -1;
	bool local = found != NULL;
	free(found);
	return local ? 1 : 0;
}

struct str_list {
	char **v;
	size_t n;
};

static void str_list_row(void *ctx, const char *const *c, size_t n)
{
	struct str_list *l = ctx;
	if (n < 1 || c[0] == NULL || l->n >= ALIAS_MAX_TARGETS)
		return;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(char *));
	l->v[l->n++] = xstrdup(c[0]);
}

static void str_list_free(struct str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

struct resolve_ctx {
	struct directory *dir;
	struct pool *pool;
	struct dir_resolution *r;
	size_t cap;
	const char *detail;
	const char **error_r;
	/* addresses already expanded, to cut loops */
	char *seen[64];
	size_t n_seen;
};

static void add_target(struct resolve_ctx *rc, enum dir_target_kind kind, const char *addr,
		       struct dir_user *u)
{
	struct dir_resolution *r = rc->r;
	for (size_t i = 0; i < r->n_targets; i++) {
		if (strcmp(r->targets[i].address, addr) == 0)
			return; /* one copy per final recipient */
	}
	if (r->n_targets == rc->cap) {
		size_t ncap = rc->cap ? rc->cap * 2 : 4;
		r->targets = pool_realloc(rc->pool, r->targets, rc->cap * sizeof(*r->targets),
					  ncap * sizeof(*r->targets));
		rc->cap = ncap;
	}
	struct dir_target *t = &r->targets[r->n_targets++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->address = pool_strdup(rc->pool, addr);
	t->user = u;
	t->detail = rc->detail;
}

static int expand(struct resolve_ctx *rc, const char *addr, int depth);

/* Aliases of `key` (an address or "@domain"); 1 = found some. */
static int expand_aliases(struct resolve_ctx *rc, const char *key, int depth)
{
	struct str_list l = { 0 };
	const char *params[] = { key };
	if (run(rc->dir, "SELECT target FROM aliases WHERE source = ? ORDER BY id", params, 1,
		str_list_row, &l, NULL, rc->error_r) < 0)
		return -1;
	int ret = l.n > 0 ? 1 : 0;
	for (size_t i = 0; i < l.n && ret >= 0; i++) {
		if (expand(rc, l.v[i], depth + 1) < 0)
			ret = -1;
	}
	str_list_free(&l);
	return ret;
}

/* Expands one alias target.  An address in a local domain that resolves
 * to nothing is dropped (logged): an alias pointing at a deleted user
 * must not bounce mail for the alias's other targets. */
static int expand(struct resolve_ctx *rc, const char *addr, int depth)
{
	char norm[400];
	str_copy(norm, addr, sizeof(norm));
	str_lcase(norm);
	if (depth > ALIAS_MAX_DEPTH) {
		log_warn("directory.alias_depth", "address=%s", log_str(norm));
		return 0;
	}
	const char *at = strrchr(norm, '@');
	if (at == NULL)
		return 0;
	for (size_t i = 0; i < rc->n_seen; i++) {
		if (strcmp(rc->seen[i], norm) != 0)
			continue;
		/* Seen before: an alias that names itself ("alice -> alice,
		 * bob": keep a copy and forward) reaches the user; a pure
		 * alias loop ends here. */
		struct dir_user *u;
		int r = dir_user_lookup(rc->dir, rc->pool, norm, &u, rc->error_r);
		if (r < 0)
			return -1;
		if (r > 0 && !u->disabled)
			add_target(rc, DIR_TARGET_LOCAL, norm, u);
		return 0;
	}
	if (rc->n_seen < N_ELEMENTS(rc->seen))
		rc->seen[rc->n_seen++] = pool_strdup(rc->pool, norm);

	int local = dir_domain_is_local(rc->dir, at + 1, rc->error_r);
	if (local < 0)
		return -1;
	if (local == 0) {
		add_target(rc, DIR_TARGET_REMOTE, norm, NULL);
		return 0;
	}
	int r = expand_aliases(rc, norm, depth);
	if (r != 0)
		return r < 0 ? -1 : 0;
	struct dir_user *u;
	r = dir_user_lookup(rc->dir, rc->pool, norm, &u, rc->error_r);
	if (r < 0)
		return -1;
	if (r > 0 && !u->disabled) {
		add_target(rc, DIR_TARGET_LOCAL, norm, u);
		return 0;
	}
	if (depth > 0)
		log_warn("directory.alias_dangling", "target=%s", log_str(norm));
	return 0;
}

/* The base address without "+detail", or NULL when there is none. */
static char *strip_detail(struct pool *pool, char delim, const char *addr, const char **detail_r)
{
	if (delim == '\0')
		return NULL;
	const char *at = strrchr(addr, '@');
	const char *d = memchr(addr, delim, at != NULL ? (size_t)(at - addr) : 0);
	if (at == NULL || d == NULL || d == addr)
		return NULL;
	*detail_r = pool_strndup(pool, d + 1, (size_t)(at - d - 1));
	return pool_printf(pool, "%.*s%s", (int)(d - addr), addr, at);
}

int dir_resolve(struct directory *dir, struct pool *pool, const char *address,
		struct dir_resolution *r, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	struct resolve_ctx rc = { .dir = dir, .pool = pool, .r = r, .error_r = error_r };
	char norm[400];
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	const char *at = strrchr(norm, '@');
	if (at == NULL || at == norm) {
		r->status = DIR_UNKNOWN_USER;
		return 0;
	}
	int local = dir_domain_is_local(dir, at + 1, error_r);
	if (local < 0)
		return -1;
	if (local == 0) {
		r->status = DIR_NOT_LOCAL;
		return 0;
	}
	/* Exact address first (an alias or user may contain the delimiter),
	 * then without the detail, then the domain's catch-all. */
	if (expand(&rc, norm, 0) < 0)
		return -1;
	if (r->n_targets == 0) {
		const char *detail = NULL;
		char *base = strip_detail(pool, dir->delimiter, norm, &detail);
		if (base != NULL) {
			rc.detail = detail;
			rc.n_seen = 0;
			if (expand(&rc, base, 0) < 0)
				return -1;
		}
	}
	if (r->n_targets == 0) {
		rc.detail = NULL;
		rc.n_seen = 0;
		char *catchall = pool_printf(pool, "%s", at);
		if (expand_aliases(&rc, catchall, 0) < 0)
			return -1;
	}
	r->status = r->n_targets > 0 ? DIR_RESOLVED : DIR_UNKNOWN_USER;
	return 0;
}

static void *worker_dir_create(struct worker *w, const char **error_r)
{
	return directory_open(worker_config(w), error_r);
}

static void worker_dir_destroy(void *obj)
{
	struct directory *dir = obj;
	directory_close(&dir);
}

struct directory *directory_worker(struct worker *w, const char **error_r)
{
	return worker_shared(w, "directory", worker_dir_create, worker_dir_destroy, error_r);
}

static void *worker_throttle_create(struct worker *w, const char **error_r)
{
	(void)error_r;
	return auth_throttle_create(worker_config(w));
}

static void worker_throttle_destroy(void *obj)
{
	struct auth_throttle *t = obj;
	auth_throttle_destroy(&t);
}

struct auth_throttle *auth_throttle_worker(struct worker *w)
{
	const char *err;
	return worker_shared(w, "auth_throttle", worker_throttle_create, worker_throttle_destroy, &err);
}
