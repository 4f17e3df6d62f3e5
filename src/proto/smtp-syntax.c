#include "smtp-syntax-private.h"

#include <string.h>

bool smtp_syntax_is_atext(int c)
{
	if (smtp_syntax_is_alnum(c))
		return true;
	return c != 0 && c < 128 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

size_t smtp_syntax_utf8_seq(const unsigned char *p, size_t len)
{
	unsigned c = p[0];
	size_t n;
	unsigned min;
	unsigned cp;

	if (c < 0xc2 || c > 0xf4)
		return 0; /* ASCII, continuation byte, overlong C0/C1, > U+10FFFF */
	if (c < 0xe0) {
		n = 2;
		min = 0x80;
		cp = c & 0x1f;
	} else if (c < 0xf0) {
		n = 3;
		min = 0x800;
		cp = c & 0x0f;
	} else {
		n = 4;
		min = 0x10000;
		cp = c & 0x07;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool smtp_syntax_utf8_valid(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t n = smtp_syntax_utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

bool smtp_syntax_has_8bit(const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x80)
			return true;
	}
	return false;
}
