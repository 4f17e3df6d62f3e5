/* Management of the directory: what the `ombu` commands call.  Errors
 * are sentences that tell the operator what to do. */

#include "directory-private.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static __thread char errbuf[512];

static const char *errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *errf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

static int q(struct directory *dir, const char *sql, const char *const *params, size_t n,
	     dir_row_fn *fn, void *ctx, enum dir_db_error *kind_r, const char **error_r)
{
	enum dir_db_error kind = DIR_DB_OK;
	struct dir_conn *c = dir_conn_get(dir, error_r);
	if (c == NULL)
		return -1;
	int r = dir->drv->query(c->handle, sql, params, n, fn, ctx, &kind, error_r);
	if (r < 0 && kind != DIR_DB_CONSTRAINT)
		dir_conn_discard(dir, c);
	else
		dir_conn_put(dir, c);
	if (kind_r != NULL)
		*kind_r = kind;
	return r;
}

static void one_col(void *ctx, const char *const *c, size_t n)
{
	char **out = ctx;
	if (*out == NULL && n > 0 && c[0] != NULL)
		*out = xstrdup(c[0]);
}

/* The first column of the first row, malloc'd; NULL when no row. */
static int scalar(struct directory *dir, const char *sql, const char *const *params, size_t n,
		  char **out_r, const char **error_r)
{
	*out_r = NULL;
	return q(dir, sql, params, n, one_col, out_r, NULL, error_r) < 0 ? -1 : 0;
}

static void now_str(char *buf, size_t size)
{
	snprintf(buf, size, "%lld", (long long)time_now());
}

/* --- domains --- */

int dir_domain_add(struct directory *dir, const char *name, const char **error_r)
{
	char norm[256], now[24];
	if (dir_domain_normalize(name, norm, sizeof(norm), error_r) < 0)
		return -1;
	now_str(now, sizeof(now));
	const char *params[] = { norm, now };
	enum dir_db_error kind;
	if (q(dir, "INSERT INTO domains (name, created) VALUES (?, ?)", params, 2, NULL, NULL,
	      &kind, error_r) < 0) {
		if (kind == DIR_DB_CONSTRAINT)
			*error_r = errf("domain %s already exists", norm);
		return -1;
	}
	return 0;
}

int dir_domain_del(struct directory *dir, const char *name, const char **error_r)
{
	char norm[256];
	if (dir_domain_normalize(name, norm, sizeof(norm), error_r) < 0)
		return -1;
	const char *params[] = { norm };
	char *count = NULL;
	if (scalar(dir, "SELECT COUNT(*) FROM users u JOIN domains d ON d.id = u.domain_id "
			"WHERE d.name = ?", params, 1, &count, error_r) < 0)
		return -1;
	long n = count != NULL ? atol(count) : 0;
	free(count);
	if (n > 0) {
		*error_r = errf("domain %s still has %ld user%s; delete them first with 'ombu user del'",
				norm, n, n == 1 ? "" : "s");
		return -1;
	}
	int r = q(dir, "DELETE FROM domains WHERE name = ?", params, 1, NULL, NULL, NULL, error_r);
	if (r < 0)
		return -1;
	if (r == 0) {
		*error_r = errf("domain %s does not exist", norm);
		return -1;
	}
	return 0;
}

struct list_cb {
	void (*fn1)(const char *, void *);
	void (*fn2)(const char *, const char *, void *);
	void *ctx;
};

static void row1(void *ctx, const char *const *c, size_t n)
{
	struct list_cb *l = ctx;
	if (n >= 1)
		l->fn1(c[0] != NULL ? c[0] : "", l->ctx);
}

static void row2(void *ctx, const char *const *c, size_t n)
{
	struct list_cb *l = ctx;
	if (n >= 2)
		l->fn2(c[0] != NULL ? c[0] : "", c[1], l->ctx);
}

int dir_domain_list(struct directory *dir, void (*fn)(const char *name, void *ctx),
		    void *ctx, const char **error_r)
{
	struct list_cb l = { .fn1 = fn, .ctx = ctx };
	return q(dir, "SELECT name FROM domains ORDER BY name", NULL, 0, row1, &l, NULL,
		 error_r) < 0 ? -1 : 0;
}

/* --- users --- */

static int level_id(struct directory *dir, const char *level, char **id_r, const char **error_r)
{
	const char *params[] = { level };
	if (scalar(dir, "SELECT id FROM spam_levels WHERE name = ?", params, 1, id_r, error_r) < 0)
		return -1;
	if (*id_r == NULL) {
		*error_r = errf("spam level '%s' does not exist; see 'ombu level list'", level);
		return -1;
	}
	return 0;
}

static int store_id(struct directory *dir, const char *store, char **id_r, const char **error_r)
{
	const char *params[] = { store };
	if (scalar(dir, "SELECT id FROM stores WHERE name = ?", params, 1, id_r, error_r) < 0)
		return -1;
	if (*id_r == NULL) {
		*error_r = errf("store '%s' does not exist", store);
		return -1;
	}
	return 0;
}

static int user_exists(struct directory *dir, const char *norm, char **id_r, const char **error_r)
{
	const char *params[] = { norm };
	if (scalar(dir, "SELECT id FROM users WHERE address = ?", params, 1, id_r, error_r) < 0)
		return -1;
	if (*id_r == NULL) {
		*error_r = errf("user %s does not exist; see 'ombu user list'", norm);
		return -1;
	}
	return 0;
}

int dir_user_add(struct directory *dir, const char *address,
		 const struct dir_user_settings *set, const char **error_r)
{
	char norm[400];
	if (dir_address_normalize(address, norm, sizeof(norm), error_r) < 0)
		return -1;
	const char *at = strrchr(norm, '@');
	const char *dparams[] = { at + 1 };
	char *domid = NULL, *levid = NULL, *stid = NULL;
	int ret = -1;
	if (scalar(dir, "SELECT id FROM domains WHERE name = ?", dparams, 1, &domid, error_r) < 0)
		goto out;
	if (domid == NULL) {
		*error_r = errf("domain %s is not a local domain; add it with 'ombu domain add %s'",
				at + 1, at + 1);
		goto out;
	}
	if (level_id(dir, set->level != NULL ? set->level : "normal", &levid, error_r) < 0)
		goto out;
	if (set->store != NULL && store_id(dir, set->store, &stid, error_r) < 0)
		goto out;
	if (set->password_hash != NULL && !dir_password_hash_valid(set->password_hash)) {
		*error_r = "the password hash is not in a crypt(3) format ombu can verify";
		goto out;
	}
	char quota[24], now[24];
	snprintf(quota, sizeof(quota), "%llu",
		 (unsigned long long)(set->quota_set ? set->quota : 300ull * 1024 * 1024));
	now_str(now, sizeof(now));
	/* The mailbox path: domain/local, both validated above. */
	char *mailbox = xstrdup("");
	{
		struct buf b;
		buf_init(&b, 0);
		buf_printf(&b, "%s/%.*s", at + 1, (int)(at - norm), norm);
		free(mailbox);
		mailbox = buf_steal(&b, NULL);
	}
	const char *params[] = { norm, domid, set->password_hash, quota, levid, stid, mailbox, now };
	enum dir_db_error kind;
	int r = q(dir, "INSERT INTO users (address, domain_id, password, quota_bytes, spam_level_id, "
		       "store_id, mailbox, state, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?)",
		  params, 8, NULL, NULL, &kind, error_r);
	free(mailbox);
	if (r < 0) {
		if (kind == DIR_DB_CONSTRAINT)
			*error_r = errf("user %s already exists", norm);
		goto out;
	}
	ret = 0;
out:
	free(domid);
	free(levid);
	free(stid);
	return ret;
}

int dir_user_del(struct directory *dir, const char *address, const char **error_r)
{
	char norm[400];
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	const char *params[] = { norm };
	int r = q(dir, "DELETE FROM users WHERE address = ?", params, 1, NULL, NULL, NULL, error_r);
	if (r < 0)
		return -1;
	if (r == 0) {
		*error_r = errf("user %s does not exist; see 'ombu user list'", norm);
		return -1;
	}
	return 0;
}

int dir_user_set(struct directory *dir, const char *address, const char *key,
		 const char *value, const char **error_r)
{
	char norm[400];
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	char *uid = NULL, *ref = NULL;
	int ret = -1;
	if (user_exists(dir, norm, &uid, error_r) < 0)
		goto out;
	const char *sql;
	const char *v = value;
	char tmp[32];
	if (strcmp(key, "quota") == 0) {
		uint64_t bytes;
		if (num_parse_size(value, &bytes) < 0) {
			*error_r = "quota: expected a size such as 300M or 2G (0 = unlimited)";
			goto out;
		}
		snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)bytes);
		v = tmp;
		sql = "UPDATE users SET quota_bytes = ? WHERE id = ?";
	} else if (strcmp(key, "level") == 0) {
		if (level_id(dir, value, &ref, error_r) < 0)
			goto out;
		v = ref;
		sql = "UPDATE users SET spam_level_id = ? WHERE id = ?";
	} else if (strcmp(key, "store") == 0) {
		if (value[0] != '\0' && store_id(dir, value, &ref, error_r) < 0)
			goto out;
		v = ref;
		sql = "UPDATE users SET store_id = ? WHERE id = ?";
	} else if (strcmp(key, "state") == 0) {
		if (strcmp(value, "active") != 0 && strcmp(value, "disabled") != 0) {
			*error_r = "state: expected active or disabled";
			goto out;
		}
		sql = "UPDATE users SET state = ? WHERE id = ?";
	} else if (strcmp(key, "password_hash") == 0) {
		if (value[0] != '\0' && !dir_password_hash_valid(value)) {
			*error_r = "password_hash: not a crypt(3) hash ombu can verify ($y$, $2b$, $6$, $5$, $1$)";
			goto out;
		}
		v = value[0] != '\0' ? value : NULL;
		sql = "UPDATE users SET password = ? WHERE id = ?";
	} else {
		*error_r = errf("unknown setting '%s'; use quota, level, store, state or password_hash", key);
		goto out;
	}
	const char *params[] = { v, uid };
	if (q(dir, sql, params, 2, NULL, NULL, NULL, error_r) < 0)
		goto out;
	ret = 0;
out:
	free(uid);
	free(ref);
	return ret;
}

/* --- aliases --- */

static int alias_source_normalize(const char *in, char *out, size_t size, const char **error_r)
{
	if (in[0] == '@') {
		/* catch-all for a domain */
		out[0] = '@';
		return dir_domain_normalize(in + 1, out + 1, size - 1, error_r);
	}
	return dir_address_normalize(in, out, size, error_r);
}

/* Targets may be remote, so only their shape is checked. */
static int alias_target_normalize(const char *in, char *out, size_t size, const char **error_r)
{
	const char *at = strrchr(in, '@');
	if (at == NULL || at == in || strlen(in) >= size) {
		*error_r = "the target must be an address such as user@example.org";
		return -1;
	}
	for (const char *p = in; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' ||
		    *p == ',' || *p == '\\' || *p == ';' || *p == ':') {
			*error_r = "the target must be a plain address (no spaces, quotes or brackets)";
			return -1;
		}
	}
	size_t ll = (size_t)(at - in);
	memcpy(out, in, ll);
	out[ll] = '@';
	return dir_domain_normalize(at + 1, out + ll + 1, size - ll - 1, error_r) < 0 ? -1 :
	       (str_lcase(out), 0);
}

int dir_alias_add(struct directory *dir, const char *source, const char *target,
		  const char **error_r)
{
	char src[400], dst[400];
	if (alias_source_normalize(source, src, sizeof(src), error_r) < 0 ||
	    alias_target_normalize(target, dst, sizeof(dst), error_r) < 0)
		return -1;
	const char *sd = src[0] == '@' ? src + 1 : strrchr(src, '@') + 1;
	int local = dir_domain_is_local(dir, sd, error_r);
	if (local < 0)
		return -1;
	if (local == 0) {
		*error_r = errf("domain %s is not a local domain; add it with 'ombu domain add %s'",
				sd, sd);
		return -1;
	}
	const char *params[] = { src, dst };
	enum dir_db_error kind;
	if (q(dir, "INSERT INTO aliases (source, target) VALUES (?, ?)", params, 2, NULL, NULL,
	      &kind, error_r) < 0) {
		if (kind == DIR_DB_CONSTRAINT)
			*error_r = errf("alias %s -> %s already exists", src, dst);
		return -1;
	}
	return 0;
}

int dir_alias_del(struct directory *dir, const char *source, const char *target,
		  const char **error_r)
{
	char src[400], dst[400];
	str_copy(src, source, sizeof(src));
	str_copy(dst, target, sizeof(dst));
	str_lcase(src);
	str_lcase(dst);
	const char *params[] = { src, dst };
	int r = q(dir, "DELETE FROM aliases WHERE source = ? AND target = ?", params, 2, NULL,
		  NULL, NULL, error_r);
	if (r < 0)
		return -1;
	if (r == 0) {
		*error_r = errf("alias %s -> %s does not exist; see 'ombu alias list'", src, dst);
		return -1;
	}
	return 0;
}

int dir_alias_list(struct directory *dir,
		   void (*fn)(const char *source, const char *target, void *ctx), void *ctx,
		   const char **error_r)
{
	struct list_cb l = { .fn2 = fn, .ctx = ctx };
	return q(dir, "SELECT source, target FROM aliases ORDER BY source, target", NULL, 0,
		 row2, &l, NULL, error_r) < 0 ? -1 : 0;
}

/* --- white/black lists --- */

static int pattern_normalize(const char *in, char *out, size_t size, const char **error_r)
{
	const char *what = "a pattern is user@domain, @domain or *.domain";
	if (in[0] == '@')
		return dir_domain_normalize(in + 1, out + 1, size - 1, error_r) < 0 ? -1 :
		       (out[0] = '@', 0);
	if (in[0] == '*' && in[1] == '.') {
		out[0] = '*';
		out[1] = '.';
		return dir_domain_normalize(in + 2, out + 2, size - 2, error_r);
	}
	if (strchr(in, '@') == NULL) {
		*error_r = what;
		return -1;
	}
	return alias_target_normalize(in, out, size, error_r);
}

int dir_list_add(struct directory *dir, const char *address, const char *kind,
		 const char *pattern, const char **error_r)
{
	char norm[400], pat[400];
	char *uid = NULL;
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	if (strcmp(kind, "white") != 0 && strcmp(kind, "black") != 0) {
		*error_r = "the list is 'white' or 'black'";
		return -1;
	}
	if (pattern_normalize(pattern, pat, sizeof(pat), error_r) < 0)
		return -1;
	if (user_exists(dir, norm, &uid, error_r) < 0)
		return -1;
	const char *params[] = { uid, kind, pat };
	enum dir_db_error ek;
	int r = q(dir, "INSERT INTO lists (user_id, kind, pattern) VALUES (?, ?, ?)", params, 3,
		  NULL, NULL, &ek, error_r);
	free(uid);
	if (r < 0 && ek == DIR_DB_CONSTRAINT)
		*error_r = errf("%s is already on the %s list of %s", pat, kind, norm);
	return r < 0 ? -1 : 0;
}

int dir_list_del(struct directory *dir, const char *address, const char *kind,
		 const char *pattern, const char **error_r)
{
	char norm[400], pat[400];
	char *uid = NULL;
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	str_copy(pat, pattern, sizeof(pat));
	str_lcase(pat);
	if (user_exists(dir, norm, &uid, error_r) < 0)
		return -1;
	const char *params[] = { uid, kind, pat };
	int r = q(dir, "DELETE FROM lists WHERE user_id = ? AND kind = ? AND pattern = ?", params,
		  3, NULL, NULL, NULL, error_r);
	free(uid);
	if (r == 0) {
		*error_r = errf("%s is not on the %s list of %s", pat, kind, norm);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int dir_list_show(struct directory *dir, const char *address,
		  void (*fn)(const char *kind, const char *pattern, void *ctx), void *ctx,
		  const char **error_r)
{
	char norm[400];
	char *uid = NULL;
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	if (user_exists(dir, norm, &uid, error_r) < 0)
		return -1;
	const char *params[] = { uid };
	struct list_cb l = { .fn2 = fn, .ctx = ctx };
	int r = q(dir, "SELECT kind, pattern FROM lists WHERE user_id = ? ORDER BY kind DESC, pattern",
		  params, 1, row2, &l, NULL, error_r);
	free(uid);
	return r < 0 ? -1 : 0;
}

/* --- contacts --- */

int dir_contact_add(struct directory *dir, const char *address, const char *contact,
		    const char *name, const char **error_r)
{
	char norm[400], c[400];
	char *uid = NULL;
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	if (alias_target_normalize(contact, c, sizeof(c), error_r) < 0)
		return -1;
	if (user_exists(dir, norm, &uid, error_r) < 0)
		return -1;
	const char *params[] = { uid, c, name };
	enum dir_db_error ek;
	int r = q(dir, "INSERT INTO contacts (user_id, address, name) VALUES (?, ?, ?)", params, 3,
		  NULL, NULL, &ek, error_r);
	free(uid);
	if (r < 0 && ek == DIR_DB_CONSTRAINT)
		*error_r = errf("%s is already in the address book of %s", c, norm);
	return r < 0 ? -1 : 0;
}

int dir_contact_del(struct directory *dir, const char *address, const char *contact,
		    const char **error_r)
{
	char norm[400], c[400];
	char *uid = NULL;
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	str_copy(c, contact, sizeof(c));
	str_lcase(c);
	if (user_exists(dir, norm, &uid, error_r) < 0)
		return -1;
	const char *params[] = { uid, c };
	int r = q(dir, "DELETE FROM contacts WHERE user_id = ? AND address = ?", params, 2, NULL,
		  NULL, NULL, error_r);
	free(uid);
	if (r == 0) {
		*error_r = errf("%s is not in the address book of %s", c, norm);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int dir_contact_list(struct directory *dir, const char *address,
		     void (*fn)(const char *contact, const char *name, void *ctx), void *ctx,
		     const char **error_r)
{
	char norm[400];
	char *uid = NULL;
	str_copy(norm, address, sizeof(norm));
	str_lcase(norm);
	if (user_exists(dir, norm, &uid, error_r) < 0)
		return -1;
	const char *params[] = { uid };
	struct list_cb l = { .fn2 = fn, .ctx = ctx };
	int r = q(dir, "SELECT address, name FROM contacts WHERE user_id = ? ORDER BY address",
		  params, 1, row2, &l, NULL, error_r);
	free(uid);
	return r < 0 ? -1 : 0;
}

/* --- levels and stores --- */

int dir_level_add(struct directory *dir, const char *name, double tag, double cutoff,
		  const char **error_r)
{
	if (name[0] == '\0' || strlen(name) > 64 || strpbrk(name, " \t\r\n") != NULL) {
		*error_r = "a level name is a single word of at most 64 characters";
		return -1;
	}
	if (!(tag < cutoff)) {
		*error_r = "the tag score must be below the cutoff score";
		return -1;
	}
	char t[32], c[32];
	snprintf(t, sizeof(t), "%.17g", tag);
	snprintf(c, sizeof(c), "%.17g", cutoff);
	const char *params[] = { name, t, c };
	enum dir_db_error ek;
	if (q(dir, "INSERT INTO spam_levels (name, tag_score, cutoff_score) VALUES (?, ?, ?)",
	      params, 3, NULL, NULL, &ek, error_r) < 0) {
		if (ek == DIR_DB_CONSTRAINT)
			*error_r = errf("level %s already exists", name);
		return -1;
	}
	return 0;
}

struct level_cb {
	void (*fn)(const struct dir_level *l, void *ctx);
	void *ctx;
};

static void level_row(void *ctx, const char *const *c, size_t n)
{
	struct level_cb *lc = ctx;
	if (n < 3)
		return;
	struct dir_level l = { c[0], strtod(c[1], NULL), strtod(c[2], NULL) };
	lc->fn(&l, lc->ctx);
}

int dir_level_list(struct directory *dir, void (*fn)(const struct dir_level *l, void *ctx),
		   void *ctx, const char **error_r)
{
	struct level_cb lc = { fn, ctx };
	return q(dir, "SELECT name, tag_score, cutoff_score FROM spam_levels ORDER BY tag_score DESC, name",
		 NULL, 0, level_row, &lc, NULL, error_r) < 0 ? -1 : 0;
}

int dir_store_add(struct directory *dir, const char *name, const char *lmtp,
		  const char *imap, const char *pop3, const char **error_r)
{
	const char *params[] = { name, lmtp, imap, pop3 };
	enum dir_db_error ek;
	if (q(dir, "INSERT INTO stores (name, lmtp, imap, pop3) VALUES (?, ?, ?, ?)", params, 4,
	      NULL, NULL, &ek, error_r) < 0) {
		if (ek == DIR_DB_CONSTRAINT)
			*error_r = errf("store %s already exists", name);
		return -1;
	}
	return 0;
}

struct store_rows {
	struct pool *pool;
	struct dir_store *s;
};

static void store_row(void *ctx, const char *const *c, size_t n)
{
	struct store_rows *sr = ctx;
	if (n < 4)
		return;
	struct dir_store *s = POOL_NEW(sr->pool, struct dir_store);
	s->name = pool_strdup(sr->pool, c[0]);
	s->lmtp = pool_strdup(sr->pool, c[1]);
	s->imap = pool_strdup(sr->pool, c[2]);
	s->pop3 = pool_strdup(sr->pool, c[3]);
	sr->s = s;
}

int dir_store_lookup(struct directory *dir, struct pool *pool, const char *name,
		     struct dir_store **store_r, const char **error_r)
{
	struct store_rows sr = { pool, NULL };
	const char *params[] = { name };
	if (q(dir, "SELECT name, lmtp, imap, pop3 FROM stores WHERE name = ?", params, 1,
	      store_row, &sr, NULL, error_r) < 0)
		return -1;
	*store_r = sr.s;
	return sr.s != NULL ? 1 : 0;
}

/* --- sender policy --- */

struct policy_rows {
	const char *sender, *domain;
	int verdict; /* 1 white, 2 black */
	bool white, black;
};

static bool pattern_matches(const char *pattern, const char *sender, const char *domain)
{
	if (pattern[0] == '@')
		return strcmp(pattern + 1, domain) == 0;
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *suffix = pattern + 2;
		size_t dl = strlen(domain), sl = strlen(suffix);
		if (dl == sl)
			return strcmp(domain, suffix) == 0;
		return dl > sl && domain[dl - sl - 1] == '.' && strcmp(domain + dl - sl, suffix) == 0;
	}
	return strcmp(pattern, sender) == 0;
}

static void policy_row(void *ctx, const char *const *c, size_t n)
{
	struct policy_rows *pr = ctx;
	if (n < 2 || c[0] == NULL || c[1] == NULL)
		return;
	if (!pattern_matches(c[1], pr->sender, pr->domain))
		return;
	if (strcmp(c[0], "black") == 0)
		pr->black = true;
	else
		pr->white = true;
}

int dir_sender_policy(struct directory *dir, int64_t user_id, const char *sender,
		      const char **error_r)
{
	char s[400], uid[24];
	str_copy(s, sender, sizeof(s));
	str_lcase(s);
	const char *at = strrchr(s, '@');
	if (at == NULL || s[0] == '\0')
		return 0;
	snprintf(uid, sizeof(uid), "%lld", (long long)user_id);
	struct policy_rows pr = { .sender = s, .domain = at + 1 };
	const char *params[] = { uid };
	if (q(dir, "SELECT kind, pattern FROM lists WHERE user_id = ? UNION ALL "
		   "SELECT 'white', address FROM contacts WHERE user_id = ?",
	      (const char *const[]){ uid, uid }, 2, policy_row, &pr, NULL, error_r) < 0)
		return -1;
	(void)params;
	/* An explicit whitelist entry or a contact wins over a blacklist. */
	if (pr.white)
		return 1;
	return pr.black ? 2 : 0;
}
