#ifndef OMBU_POOL_H
#define OMBU_POOL_H

/*
 * Arena allocator: one pool per connection and one per transaction, freed
 * as a whole at the boundary.  Allocations are never freed one by one.
 *
 * Debug mode (OMBU_POOL_DEBUG=1 in the environment, or the sanitizer
 * build) turns every allocation into its own malloc() so that ASan and
 * valgrind see overflows and use-after-free that an arena would hide.
 *
 * Out of memory aborts: there is no sensible recovery in a mail daemon.
 */

#include <stdarg.h>
#include <stddef.h>

struct pool;

/* initial_size is a hint for the first block; 0 picks a default. */
struct pool *pool_create(const char *name, size_t initial_size);
void pool_destroy(struct pool **pool);
/* Frees everything allocated so far but keeps the first block. */
void pool_clear(struct pool *pool);
/* pool_clear() keeps up to bytes of the blocks it would free, for the
   allocations after it: for a pool cleared after each of many similar
   jobs (a scan per message), so that each job does not map, fault in and
   unmap its memory again.  0 (the default): nothing kept. */
void pool_set_retain(struct pool *pool, size_t bytes);

void *pool_alloc(struct pool *pool, size_t size);   /* zeroed */
void *pool_alloc_nz(struct pool *pool, size_t size); /* not zeroed */
/* Grows an allocation made from this pool (copying). */
void *pool_realloc(struct pool *pool, void *old, size_t old_size, size_t new_size);
char *pool_strdup(struct pool *pool, const char *s);
char *pool_strndup(struct pool *pool, const char *s, size_t len);
void *pool_memdup(struct pool *pool, const void *p, size_t len);
char *pool_printf(struct pool *pool, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *pool_vprintf(struct pool *pool, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Bytes handed out so far (for limits and statistics). */
size_t pool_used(const struct pool *pool);

#define POOL_NEW(pool, type) ((type *)pool_alloc((pool), sizeof(type)))
#define POOL_NEW_ARRAY(pool, type, n) \
	((type *)pool_alloc((pool), sizeof(type) * (n)))

#endif
