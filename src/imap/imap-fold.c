/*
 * Case folding for SEARCH, SORT and THREAD (the i;unicode-casemap idea
 * of RFC 5051, reduced): ASCII letters to upper case, as the titlecase
 * map of RFC 5051 does (so that "[" and "_" sort after letters, as SORT
 * clients and Dovecot expect), and simple case folding of the Latin,
 * Greek and Cyrillic blocks, where mail in European languages lives;
 * other characters compare as they are.  Bytes that are not valid UTF-8
 * are kept.
 */

#include "imap-private.h"
#include "lib/buf.h"

#include <string.h>

static uint32_t fold_cp(uint32_t c)
{
	if (c < 0x80)
		return c >= 'a' && c <= 'z' ? c - 32 : c;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x130)
			return 'i';
		if (c == 0x178)
			return 0xff;
		if (c == 0x17f)
			return 's';
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return (c & 1) ? c + 1 : c;
		if (c == 0x131 || c == 0x138 || c == 0x149)
			return c;
		return (c & 1) ? c : c + 1;
	}
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 37;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 63;
	if (c == 0x3c2)
		return 0x3c3;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) || (c >= 0x4d0 && c <= 0x52f))
		return (c & 1) ? c : c + 1;
	if (c >= 0x4c1 && c <= 0x4ce)
		return (c & 1) ? c + 1 : c;
	return c;
}

void imap_fold(struct buf *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;
	if (buf_reserve(out, len) < 0)
		return;
	while (s < end) {
		/* runs of ASCII go fast */
		if (*s < 0x80) {
			char c = (char)*s++;
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 32);
			out->data[out->len++] = c;
			if (out->len + 4 >= out->cap && buf_reserve(out, (size_t)(end - s) + 4) < 0)
				return;
			continue;
		}
		uint32_t cp;
		size_t n;
		if ((*s & 0xe0) == 0xc0 && end - s >= 2 && (s[1] & 0xc0) == 0x80) {
			cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
			n = 2;
		} else if ((*s & 0xf0) == 0xe0 && end - s >= 3 && (s[1] & 0xc0) == 0x80 &&
			   (s[2] & 0xc0) == 0x80) {
			cp = ((uint32_t)(s[0] & 0x0f) << 12) | ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
			n = 3;
		} else {
			/* 4-byte and invalid sequences are copied as they are */
			out->data[out->len++] = (char)*s++;
			if (out->len + 4 >= out->cap && buf_reserve(out, (size_t)(end - s) + 4) < 0)
				return;
			continue;
		}
		s += n;
		out->data[out->len] = '\0';
		buf_append_utf8(out, fold_cp(cp));
		if (out->len + 4 >= out->cap && buf_reserve(out, (size_t)(end - s) + 4) < 0)
			return;
	}
	out->data[out->len] = '\0';
}

bool imap_fold_contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	if (needle_len == 0)
		return true;
	return memmem(hay, hay_len, needle, needle_len) != NULL;
}
