#include "cursor.h"
#include "util.h"

#include <string.h>

bool cursor_accept(struct cursor *c, int ch)
{
	if (cursor_peek(c) == ch) {
		c->pos++;
		return true;
	}
	return false;
}

bool cursor_accept_str(struct cursor *c, const char *s, bool icase)
{
	size_t n = strlen(s);
	if (n > cursor_left(c))
		return false;
	const void *p = c->data + c->pos;
	if (icase ? !mem_eq_icase(p, s, n) : memcmp(p, s, n) != 0)
		return false;
	c->pos += n;
	return true;
}

size_t cursor_span(struct cursor *c, bool (*pred)(int ch))
{
	size_t start = c->pos;
	while (c->pos < c->len && pred(c->data[c->pos]))
		c->pos++;
	return c->pos - start;
}

ptrdiff_t cursor_find(const struct cursor *c, int ch)
{
	const unsigned char *p = memchr(c->data + c->pos, ch, c->len - c->pos);
	return p == NULL ? -1 : p - (c->data + c->pos);
}

bool cursor_get_u8(struct cursor *c, uint8_t *v)
{
	if (cursor_left(c) < 1)
		return false;
	*v = c->data[c->pos++];
	return true;
}

bool cursor_get_be16(struct cursor *c, uint16_t *v)
{
	if (cursor_left(c) < 2)
		return false;
	*v = (uint16_t)((c->data[c->pos] << 8) | c->data[c->pos + 1]);
	c->pos += 2;
	return true;
}

bool cursor_get_be32(struct cursor *c, uint32_t *v)
{
	if (cursor_left(c) < 4)
		return false;
	const unsigned char *p = c->data + c->pos;
	*v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	     ((uint32_t)p[2] << 8) | p[3];
	c->pos += 4;
	return true;
}
