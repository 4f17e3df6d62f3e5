#ifndef OMBU_MASTER_H
#define OMBU_MASTER_H

/*
 * The process model of `ombu serve`.
 *
 * The master binds every enabled listener (as root when started as root),
 * loads the TLS key, drops to the unprivileged user and forks
 * `server.workers` workers that inherit the listening sockets.  Each
 * worker runs one event loop and one thread pool and serves every
 * service.  The master only supervises:
 *
 *  - a worker that dies is restarted, after a delay that doubles while it
 *    keeps dying young (1 s up to 60 s), and every death is logged;
 *  - SIGTERM / SIGINT: workers stop accepting and let their sessions end
 *    (each service finishes or refuses in-flight work) within
 *    `server.shutdown_timeout`; then the master exits 0;
 *  - SIGHUP: the configuration is read again.  If it is valid a new
 *    generation of workers starts with it and, once ready, the old
 *    generation stops accepting and drains its connections (bounded by
 *    `server.drain_timeout`): no connection is dropped by a reload.  An
 *    invalid configuration is logged and the old one kept.
 *
 * With server.workers = 0 the master serves in-process (debugging).
 */

#include <stdbool.h>
#include <stddef.h>

struct config;
struct config_key;
struct conn;
struct ioloop;
struct threadpool;
struct tls_ctx;
struct worker;

/* The [server] section: workers, user, threads, timeouts, TLS files. */
#include "config.h"
extern const struct config_key master_config_keys[];

struct anvil;

struct ioloop *worker_loop(struct worker *w);
/* Counters shared by all workers (lib/anvil.h). */
struct anvil *worker_anvil(struct worker *w);
struct threadpool *worker_pool(struct worker *w);
const struct config *worker_config(struct worker *w);
/* server.hostname, or the machine's name when it is not set. */
const char *worker_hostname(struct worker *w);
/* The server TLS context, or NULL when no certificate is configured. */
struct tls_ctx *worker_tls(struct worker *w);
/* True once the worker was told to stop or drain. */
bool worker_stopping(struct worker *w);
/* Per-service state registered by init(), for other services of the same
 * worker (for example the MX reaching the in-process store). */
void *worker_service_ctx(struct worker *w, const char *name);

/* A per-worker object shared by the services of a worker (the directory,
 * the store): created by `create` on first use, destroyed with `destroy`
 * after every service's deinit.  NULL with *error_r when create fails. */
void *worker_shared(struct worker *w, const char *name,
		    void *(*create)(struct worker *w, const char **error_r),
		    void (*destroy)(void *obj), const char **error_r);

struct service {
	/* The configuration section whose `listen` key holds the addresses
	 * ("mx", "imaps"); also the service's name in logs. */
	const char *name;
	bool implicit_tls;
	/* Called in each worker before it accepts; returns the service's
	 * context or NULL with *error_r (the worker then fails to start). */
	void *(*init)(struct worker *w, const char **error_r);
	/* A new connection; the service now owns it. */
	void (*accept)(void *sctx, struct conn *c);
	/* Stop: refuse new work, finish what is in flight, close idle
	 * sessions.  The worker exits once no connection is left. */
	void (*stop)(void *sctx);
	void (*deinit)(void *sctx);
};

/* Loads the configuration again for SIGHUP; NULL with *error_r. */
typedef struct config *master_reload_fn(void *ctx, char **error_r);

/* Runs until stopped; returns the process exit code. */
int master_run(const struct service *services, size_t n_services, struct config *cfg,
	       master_reload_fn *reload, void *reload_ctx);

/* Switches to `user` (and its groups) when running as root.  Returns 0
 * also when not root (nothing to do). */
int process_drop_privileges(const char *user, const char **error_r);

#endif
