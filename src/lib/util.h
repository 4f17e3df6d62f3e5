#ifndef OMBU_UTIL_H
#define OMBU_UTIL_H

/*
 * Small helpers every layer uses: checked allocation (abort on OOM),
 * bounded string copies, ASCII case helpers, time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define UNUSED __attribute__((unused))

/* An intrusive doubly linked list of items with prev and next fields,
 * its head a pointer to the first item (the servers' session lists). */
#define DLIST_PREPEND(head, item) \
	do { \
		(item)->prev = NULL; \
		(item)->next = (head); \
		if ((head) != NULL) \
			(head)->prev = (item); \
		(head) = (item); \
	} while (0)
#define DLIST_REMOVE(head, item) \
	do { \
		if ((item)->prev != NULL) \
			(item)->prev->next = (item)->next; \
		else \
			(head) = (item)->next; \
		if ((item)->next != NULL) \
			(item)->next->prev = (item)->prev; \
	} while (0)

__attribute__((noreturn)) void ombu_oom(void);
__attribute__((noreturn, format(printf, 1, 2))) void ombu_panic(const char *fmt, ...);

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Copies at most dstsize-1 bytes and always terminates (like strlcpy).
 * Returns strlen(src); truncation when the result >= dstsize. */
size_t str_copy(char *dst, const char *src, size_t dstsize);
/* Appends like strlcat. */
size_t str_append(char *dst, const char *src, size_t dstsize);

static inline char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}
static inline char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
}
void str_lcase(char *s);
void str_ucase(char *s);
bool str_eq_icase(const char *a, const char *b);
bool mem_eq_icase(const void *a, const void *b, size_t n);
/* "ab" prefix of "abc", case-insensitively when icase. */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_prefix_icase(const char *s, const char *prefix);
/* Trims ASCII white space at both ends, in place; returns s. */
char *str_trim(char *s);

/* Monotonic clock in microseconds, and wall clock in seconds. */
uint64_t time_monotonic_us(void);
int64_t time_now(void);

/* Fills buf with cryptographically random bytes (aborts on failure). */
void random_bytes(void *buf, size_t len);

#endif
