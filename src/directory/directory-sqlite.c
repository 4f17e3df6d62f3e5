/* The SQLite driver: the embedded default, one file in the data dir. */

#include "directory-private.h"
#include "lib/config.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

struct sqlite_conn {
	sqlite3 *db;
	struct hash *stmts; /* sql text -> sqlite3_stmt */
	char error[256];
};

static void *sq_connect(const struct config *cfg, const char **error_r)
{
	static __thread char msg[512];
	const char *path = config_path_value(cfg, "directory", "path");
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(msg, sizeof(msg), "cannot open directory database %s: %s", path,
			 db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		*error_r = msg;
		return NULL;
	}
	sqlite3_busy_timeout(db, (int)config_ms(cfg, "directory", "busy_timeout"));
	char *err = NULL;
	/* Switching to WAL takes a lock the busy handler does not wait for
	 * when several processes open the database at once: retry. */
	uint64_t end = time_monotonic_us() + config_ms(cfg, "directory", "busy_timeout") * 1000;
	while ((rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
				      "PRAGMA foreign_keys=ON;", NULL, NULL, &err)) == SQLITE_BUSY &&
	       time_monotonic_us() < end) {
		sqlite3_free(err);
		err = NULL;
		usleep(10000);
	}
	if (rc != SQLITE_OK) {
		snprintf(msg, sizeof(msg), "cannot set up directory database %s: %s", path,
			 err != NULL ? err : "?");
		sqlite3_free(err);
		sqlite3_close(db);
		*error_r = msg;
		return NULL;
	}
	struct sqlite_conn *c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->stmts = hash_create(64);
	return c;
}

static void finalize_stmt(void *p)
{
	sqlite3_finalize(p);
}

static void sq_disconnect(void *h)
{
	struct sqlite_conn *c = h;
	hash_clear(c->stmts, finalize_stmt);
	hash_destroy(&c->stmts);
	sqlite3_close(c->db);
	free(c);
}

static enum dir_db_error classify(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT: return DIR_DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return DIR_DB_BUSY;
	default: return DIR_DB_FAILED;
	}
}

static int sq_query(void *h, const char *sql, const char *const *params, size_t n_params,
		    dir_row_fn *row_fn, void *ctx, enum dir_db_error *kind_r,
		    const char **error_r)
{
	struct sqlite_conn *c = h;
	size_t sql_len = strlen(sql);
	sqlite3_stmt *st = hash_get(c->stmts, sql, sql_len);
	int rc;
	if (st == NULL) {
		rc = sqlite3_prepare_v2(c->db, sql, (int)sql_len, &st, NULL);
		if (rc != SQLITE_OK) {
			snprintf(c->error, sizeof(c->error), "%s", sqlite3_errmsg(c->db));
			*kind_r = classify(rc);
			*error_r = c->error;
			return -1;
		}
		hash_put(c->stmts, sql, sql_len, st);
	}
	for (size_t i = 0; i < n_params; i++) {
		if (params[i] == NULL)
			sqlite3_bind_null(st, (int)i + 1);
		else
			sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_STATIC);
	}
	int ncols = sqlite3_column_count(st);
	const char *cols[32];
	if (ncols > 32)
		ncols = 32;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if (row_fn != NULL)
			row_fn(ctx, cols, (size_t)ncols);
	}
	int changes = sqlite3_changes(c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		snprintf(c->error, sizeof(c->error), "%s", sqlite3_errmsg(c->db));
		*kind_r = classify(rc);
		*error_r = c->error;
		return -1;
	}
	*kind_r = DIR_DB_OK;
	return ncols > 0 ? 0 : changes;
}

static int sq_exec_script(void *h, const char *sql, const char **error_r)
{
	struct sqlite_conn *c = h;
	char *err = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		snprintf(c->error, sizeof(c->error), "%s", err != NULL ? err : "?");
		sqlite3_free(err);
		*error_r = c->error;
		return -1;
	}
	return 0;
}

static const char *sq_token(const char *name)
{
	if (strcmp(name, "SERIAL") == 0)
		return "INTEGER PRIMARY KEY AUTOINCREMENT";
	if (strcmp(name, "TEXT") == 0)
		return "TEXT";
	if (strcmp(name, "BEGIN_WRITE") == 0)
		return "BEGIN IMMEDIATE";
	if (strcmp(name, "NOCASE") == 0)
		return "COLLATE NOCASE";
	return NULL;
}

const struct dir_driver dir_driver_sqlite = {
	.name = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.query = sq_query,
	.exec_script = sq_exec_script,
	.token = sq_token,
};
