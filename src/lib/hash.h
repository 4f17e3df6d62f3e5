#ifndef OMBU_HASH_H
#define OMBU_HASH_H

/*
 * A hash table keyed by byte strings, with keyed SipHash so that keys a
 * peer chooses (addresses, user names) cannot be made to collide.
 * Open addressing with linear probing and tombstone-free deletion
 * (backward shift).  The table copies keys; values are opaque pointers.
 * Not thread-safe: callers lock.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hash;

struct hash *hash_create(size_t initial);
void hash_destroy(struct hash **h);
/* Calls free_value (when not NULL) on every value, then empties. */
void hash_clear(struct hash *h, void (*free_value)(void *));

void *hash_get(const struct hash *h, const void *key, size_t klen);
/* Inserts or replaces; returns the previous value or NULL. */
void *hash_put(struct hash *h, const void *key, size_t klen, void *value);
/* Removes; returns the value or NULL. */
void *hash_remove(struct hash *h, const void *key, size_t klen);
size_t hash_count(const struct hash *h);

/* Iteration: start with *iter = 0; returns false at the end.  The table
 * must not change during iteration. */
bool hash_iter(const struct hash *h, size_t *iter, const void **key,
	       size_t *klen, void **value);

static inline void *hash_get_str(const struct hash *h, const char *k)
{
	return hash_get(h, k, __builtin_strlen(k));
}

/* SipHash-2-4 with a process-wide random key. */
uint64_t hash_bytes(const void *data, size_t len);

#endif
