#ifndef OMBU_DIRECTORY_PRIVATE_H
#define OMBU_DIRECTORY_PRIVATE_H

/*
 * The driver interface.  A driver runs one SQL statement at a time with
 * '?' placeholders bound as text (or NULL) and hands each result row to a
 * callback as text columns.  That small surface is all the directory
 * needs, and it maps directly onto SQLite, libpq and libmariadb, so a
 * PostgreSQL or MySQL driver adds one file and no change to callers.
 * Migrations are shared; dialect differences are named tokens.
 */

#include "directory.h"

#include <pthread.h>

enum dir_db_error {
	DIR_DB_OK,
	DIR_DB_CONSTRAINT, /* unique or foreign key violated */
	DIR_DB_BUSY,       /* locked / serialization failure: retry */
	DIR_DB_FAILED,
};

typedef void dir_row_fn(void *ctx, const char *const *cols, size_t n_cols);

struct dir_driver {
	const char *name;
	void *(*connect)(const struct config *cfg, const char **error_r);
	void (*disconnect)(void *conn);
	/* Returns the number of rows changed (>= 0) or -1 with *kind_r and
	 * *error_r (valid until the next call on this connection). */
	int (*query)(void *conn, const char *sql, const char *const *params,
		     size_t n_params, dir_row_fn *row_fn, void *ctx,
		     enum dir_db_error *kind_r, const char **error_r);
	/* Runs several statements (migrations). */
	int (*exec_script)(void *conn, const char *sql, const char **error_r);
	/* Replaces dialect tokens such as @SERIAL@ in a migration. */
	const char *(*token)(const char *name);
};

extern const struct dir_driver dir_driver_sqlite;

struct dir_conn {
	struct dir_conn *next;
	void *handle;
};

struct auth_cache;

struct directory {
	const struct dir_driver *drv;
	const struct config *cfg;
	pthread_mutex_t lock;
	struct dir_conn *idle;
	size_t n_idle, max_idle;
	char delimiter;
	struct auth_cache *cache;
};

/* Takes / returns a connection (connecting when none is idle). */
struct dir_conn *dir_conn_get(struct directory *dir, const char **error_r);
void dir_conn_put(struct directory *dir, struct dir_conn *c);
void dir_conn_discard(struct directory *dir, struct dir_conn *c);

int dir_migrate(struct directory *dir, const char **error_r);

struct auth_cache *auth_cache_create(const struct config *cfg);
void auth_cache_destroy(struct auth_cache **c);

#endif
