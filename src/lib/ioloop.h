#ifndef OMBU_IOLOOP_H
#define OMBU_IOLOOP_H

/*
 * The event loop (libevent underneath; no server touches libevent
 * directly).  One loop per worker process, run on its main thread.
 * Timers and signal handlers run on the loop; nothing here blocks.
 */

#include <stdbool.h>
#include <stdint.h>

struct ioloop;
struct timer;

struct ioloop *ioloop_create(void);
void ioloop_destroy(struct ioloop **loop);
/* Runs until ioloop_stop(). */
void ioloop_run(struct ioloop *loop);
void ioloop_stop(struct ioloop *loop);

typedef void timer_cb(void *ctx);
/* Fires once after ms (repeat = false) or every ms. */
struct timer *timer_add(struct ioloop *loop, uint64_t ms, bool repeat, timer_cb *cb, void *ctx);
void timer_remove(struct timer **t);
/* Re-arms a timer to fire ms from now. */
void timer_reset(struct timer *t, uint64_t ms);

/* Calls cb on the loop as soon as possible (after the current callback). */
void ioloop_defer(struct ioloop *loop, timer_cb *cb, void *ctx);

/* Signal handler run on the loop (not in signal context). */
struct ioloop_signal;
struct ioloop_signal *ioloop_signal_add(struct ioloop *loop, int signo, timer_cb *cb, void *ctx);
void ioloop_signal_remove(struct ioloop_signal **s);

/* Watches a file descriptor for readability (level-triggered). */
struct io_watch;
struct io_watch *io_watch_add(struct ioloop *loop, int fd, timer_cb *cb, void *ctx);
void io_watch_remove(struct io_watch **w);

#endif
