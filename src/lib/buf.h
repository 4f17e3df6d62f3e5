#ifndef OMBU_BUF_H
#define OMBU_BUF_H

/*
 * The one counted, growable byte string.  Always NUL-terminated after
 * `len` bytes so that `data` can be handed to C string functions, but the
 * content itself may hold NULs.
 *
 * Memory comes from malloc (buf_init) or from a pool (buf_init_pool); a
 * pool-backed buffer is released with its pool, buf_free() is a no-op.
 * `max` (0 = unlimited) bounds the length: an append that would exceed it
 * fails with -1 and leaves the buffer unchanged, so that every buffer
 * filled from the network has a configured bound.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pool;

struct buf {
	char *data;
	size_t len, cap, max;
	struct pool *pool;
};

#define BUF_INIT { NULL, 0, 0, 0, NULL }

void buf_init(struct buf *b, size_t max);
void buf_init_pool(struct buf *b, struct pool *pool, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
/* Makes room for `extra` more bytes; -1 when over max. */
int buf_reserve(struct buf *b, size_t extra);

int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
/* One byte; inline, as parsers and renderers append byte by byte. */
static inline int buf_append_c(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap && (b->max == 0 || b->len + 1 <= b->max)) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append(b, &c, 1);
}
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_truncate(struct buf *b, size_t len);
/* Returns the content as a C string; "" when empty (never NULL). */
const char *buf_cstr(const struct buf *b);
/* Takes ownership of a malloc-backed buffer's data; b is left empty. */
char *buf_steal(struct buf *b, size_t *len_r);

/* Hex encoding of bytes, lower case. */
int buf_append_hex(struct buf *b, const void *data, size_t len);
/* One Unicode code point (below 0x110000) as UTF-8. */
int buf_append_utf8(struct buf *b, uint32_t cp);

#endif
