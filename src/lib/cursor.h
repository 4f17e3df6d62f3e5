#ifndef OMBU_CURSOR_H
#define OMBU_CURSOR_H

/*
 * A bounds-checked read cursor over a byte range.  Every accessor checks
 * the remaining length; running off the end returns false / -1 and never
 * reads outside [data, data+len).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cursor {
	const unsigned char *data;
	size_t len, pos;
};

static inline void cursor_init(struct cursor *c, const void *data, size_t len)
{
	c->data = data;
	c->len = len;
	c->pos = 0;
}

static inline size_t cursor_left(const struct cursor *c)
{
	return c->len - c->pos;
}
static inline bool cursor_eof(const struct cursor *c)
{
	return c->pos >= c->len;
}
static inline const unsigned char *cursor_ptr(const struct cursor *c)
{
	return c->data + c->pos;
}
/* Next byte or -1 at the end; does not advance. */
static inline int cursor_peek(const struct cursor *c)
{
	return c->pos < c->len ? c->data[c->pos] : -1;
}
/* Byte at pos+off or -1. */
static inline int cursor_peek_at(const struct cursor *c, size_t off)
{
	return off < c->len - c->pos ? c->data[c->pos + off] : -1;
}
/* Next byte or -1 at the end; advances. */
static inline int cursor_get(struct cursor *c)
{
	return c->pos < c->len ? c->data[c->pos++] : -1;
}
static inline bool cursor_skip(struct cursor *c, size_t n)
{
	if (n > c->len - c->pos)
		return false;
	c->pos += n;
	return true;
}
/* Takes n bytes: sets *p to them and advances. */
static inline bool cursor_take(struct cursor *c, size_t n, const unsigned char **p)
{
	if (n > c->len - c->pos)
		return false;
	*p = c->data + c->pos;
	c->pos += n;
	return true;
}

/* Consumes `ch` if it is next. */
bool cursor_accept(struct cursor *c, int ch);
/* Consumes the literal string if it is next (case-insensitive when icase). */
bool cursor_accept_str(struct cursor *c, const char *s, bool icase);
/* Advances past bytes for which pred() is true; returns how many. */
size_t cursor_span(struct cursor *c, bool (*pred)(int ch));
/* Finds byte ch from the current position; returns its offset from pos
 * or -1 when absent.  Does not advance. */
ptrdiff_t cursor_find(const struct cursor *c, int ch);
bool cursor_get_u8(struct cursor *c, uint8_t *v);
bool cursor_get_be16(struct cursor *c, uint16_t *v);
bool cursor_get_be32(struct cursor *c, uint32_t *v);

#endif
