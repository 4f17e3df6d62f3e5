/*
 * Versioned schema migrations, shared by every driver.  A migration is
 * applied once, inside a transaction, and recorded in schema_migrations.
 * Tokens @NAME@ are replaced by the driver's dialect (@SERIAL@ = an
 * auto-incrementing primary key).  Never edit a released migration; add
 * a new one.
 */

#include "directory-private.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct migration {
	int version;
	const char *what;
	const char *sql;
};

static const struct migration migrations[] = {
	{ 1, "domains, users, aliases, spam levels, lists, contacts, stores",
	  "CREATE TABLE domains ("
	  "  id @SERIAL@,"
	  "  name VARCHAR(255) NOT NULL UNIQUE,"
	  "  created BIGINT NOT NULL);"
	  "CREATE TABLE stores ("
	  "  id @SERIAL@,"
	  "  name VARCHAR(64) NOT NULL UNIQUE,"
	  "  lmtp VARCHAR(255), imap VARCHAR(255), pop3 VARCHAR(255));"
	  "CREATE TABLE spam_levels ("
	  "  id @SERIAL@,"
	  "  name VARCHAR(64) NOT NULL UNIQUE,"
	  "  tag_score REAL NOT NULL,"
	  "  cutoff_score REAL NOT NULL);"
	  "INSERT INTO spam_levels (name, tag_score, cutoff_score) VALUES ('lenient', 8.0, 25.0);"
	  "INSERT INTO spam_levels (name, tag_score, cutoff_score) VALUES ('normal', 5.0, 15.0);"
	  "INSERT INTO spam_levels (name, tag_score, cutoff_score) VALUES ('strict', 3.0, 10.0);"
	  "CREATE TABLE users ("
	  "  id @SERIAL@,"
	  "  address VARCHAR(320) NOT NULL UNIQUE,"
	  "  domain_id BIGINT NOT NULL REFERENCES domains(id),"
	  "  password VARCHAR(255),"
	  "  quota_bytes BIGINT NOT NULL,"
	  "  spam_level_id BIGINT NOT NULL REFERENCES spam_levels(id),"
	  "  store_id BIGINT REFERENCES stores(id),"
	  "  mailbox VARCHAR(400) NOT NULL,"
	  "  state VARCHAR(16) NOT NULL DEFAULT 'active',"
	  "  created BIGINT NOT NULL);"
	  "CREATE INDEX users_domain ON users(domain_id);"
	  "CREATE TABLE aliases ("
	  "  id @SERIAL@,"
	  "  source VARCHAR(320) NOT NULL,"
	  "  target VARCHAR(320) NOT NULL,"
	  "  UNIQUE (source, target));"
	  "CREATE TABLE lists ("
	  "  id @SERIAL@,"
	  "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  "  kind VARCHAR(8) NOT NULL,"
	  "  pattern VARCHAR(320) NOT NULL,"
	  "  UNIQUE (user_id, kind, pattern));"
	  "CREATE TABLE contacts ("
	  "  id @SERIAL@,"
	  "  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  "  address VARCHAR(320) NOT NULL,"
	  "  name VARCHAR(255),"
	  "  UNIQUE (user_id, address));" },
};

static char *expand_tokens(const struct dir_driver *drv, const char *sql)
{
	struct buf b;
	buf_init(&b, 0);
	const char *p = sql;
	while (*p != '\0') {
		const char *at = strchr(p, '@');
		if (at == NULL) {
			buf_append_str(&b, p);
			break;
		}
		const char *end = strchr(at + 1, '@');
		buf_append(&b, p, (size_t)(at - p));
		char name[32];
		size_t nl = end != NULL ? (size_t)(end - at - 1) : 0;
		const char *rep = NULL;
		if (end != NULL && nl < sizeof(name)) {
			memcpy(name, at + 1, nl);
			name[nl] = '\0';
			rep = drv->token(name);
		}
		if (rep == NULL) {
			buf_append_c(&b, '@');
			p = at + 1;
			continue;
		}
		buf_append_str(&b, rep);
		p = end + 1;
	}
	return buf_steal(&b, NULL);
}

static void version_row(void *ctx, const char *const *cols, size_t n)
{
	int *v = ctx;
	if (n > 0 && cols[0] != NULL)
		*v = atoi(cols[0]);
}

int dir_migrate(struct directory *dir, const char **error_r)
{
	struct dir_conn *c = dir_conn_get(dir, error_r);
	if (c == NULL)
		return -1;
	const struct dir_driver *drv = dir->drv;
	enum dir_db_error kind;
	int ret = -1;
	if (drv->exec_script(c->handle,
			     "CREATE TABLE IF NOT EXISTS schema_migrations ("
			     " version INTEGER NOT NULL PRIMARY KEY,"
			     " applied BIGINT NOT NULL)", error_r) < 0)
		goto out;
	for (size_t i = 0; i < N_ELEMENTS(migrations); i++) {
		const struct migration *m = &migrations[i];
		/* A write transaction from the start: several processes may
		 * open the directory at once and only one may migrate. */
		if (drv->exec_script(c->handle, drv->token("BEGIN_WRITE"), error_r) < 0)
			goto out;
		int current = 0;
		if (drv->query(c->handle, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
			       NULL, 0, version_row, &current, &kind, error_r) < 0) {
			drv->exec_script(c->handle, "ROLLBACK", error_r);
			goto out;
		}
		if (current >= m->version) {
			drv->exec_script(c->handle, "COMMIT", error_r);
			continue;
		}
		char *sql = expand_tokens(drv, m->sql);
		char ver[16], now[24];
		snprintf(ver, sizeof(ver), "%d", m->version);
		snprintf(now, sizeof(now), "%lld", (long long)time_now());
		const char *params[] = { ver, now };
		int r = drv->exec_script(c->handle, sql, error_r);
		free(sql);
		if (r == 0)
			r = drv->query(c->handle,
				       "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)",
				       params, 2, NULL, NULL, &kind, error_r);
		if (r < 0) {
			const char *e2;
			drv->exec_script(c->handle, "ROLLBACK", &e2);
			goto out;
		}
		if (drv->exec_script(c->handle, "COMMIT", error_r) < 0)
			goto out;
		log_info("directory.migrate", "version=%d what=%s", m->version, log_str(m->what));
	}
	ret = 0;
out:
	if (ret < 0)
		dir_conn_discard(dir, c);
	else
		dir_conn_put(dir, c);
	return ret;
}

int directory_schema_version(struct directory *dir)
{
	const char *err;
	struct dir_conn *c = dir_conn_get(dir, &err);
	if (c == NULL)
		return -1;
	int v = 0;
	enum dir_db_error kind;
	if (dir->drv->query(c->handle, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
			    NULL, 0, version_row, &v, &kind, &err) < 0)
		v = -1;
	dir_conn_put(dir, c);
	return v;
}
