#ifndef OMBU_THREADPOOL_H
#define OMBU_THREADPOOL_H

/*
 * A pool of worker threads for anything that may block: fsync, SQLite,
 * password hashing, clamd, database round trips.  `work` runs on a pool
 * thread; `done` then runs on the event loop's thread.  A job is never
 * cancelled: whoever submitted it keeps its context alive until `done`.
 */

#include <stddef.h>
#include <stdint.h>

struct ioloop;
struct threadpool;

typedef void threadpool_fn(void *ctx);

struct threadpool *threadpool_create(struct ioloop *loop, unsigned threads);
/* Waits for every submitted job (and runs their `done`), then frees. */
void threadpool_destroy(struct threadpool **pool);
void threadpool_submit(struct threadpool *pool, threadpool_fn *work,
		       threadpool_fn *done, void *ctx);
/* Jobs not yet finished (queued or running). */
size_t threadpool_pending(const struct threadpool *pool);

#endif
