#ifndef OMBU_ANVIL_H
#define OMBU_ANVIL_H

/*
 * Counters shared by every worker process (Postfix's anvil, without the
 * extra process): concurrent connections, events per time window and
 * "until" deadlines, per key (a client IP, a user name).  The table lives
 * in anonymous shared memory that the master maps before it forks, so
 * limits hold across workers.  It has a fixed number of slots; when full,
 * the least recently used slot in the probe window is reused, so an
 * attacker spraying keys only forgets old counters, never grows memory.
 *
 * Every call takes a process-shared robust mutex: a worker that dies
 * holding it does not wedge the others.
 */

#include <stddef.h>
#include <stdint.h>

#define ANVIL_WINDOWS 4
#define ANVIL_UNTILS 2

struct anvil;

/* NULL with *error_r when the memory cannot be mapped. */
struct anvil *anvil_create(size_t slots, const char **error_r);
void anvil_destroy(struct anvil **a);

/* Concurrent connections: returns the count after the change. */
uint32_t anvil_connect(struct anvil *a, const char *key);
void anvil_disconnect(struct anvil *a, const char *key);
uint32_t anvil_connections(struct anvil *a, const char *key);

/* Adds n to counter `which` of key in fixed windows of window_ms, and
 * returns the count in the current window (n = 0 reads it). */
uint32_t anvil_count(struct anvil *a, const char *key, unsigned which, uint32_t n,
		     uint64_t window_ms);

/* A deadline per key (monotonic ms; 0 = none): blocks, passes. */
void anvil_set_until(struct anvil *a, const char *key, unsigned which, uint64_t until_ms);
uint64_t anvil_until(struct anvil *a, const char *key, unsigned which);

/* Milliseconds on the clock anvil deadlines use. */
uint64_t anvil_now_ms(void);

#endif
