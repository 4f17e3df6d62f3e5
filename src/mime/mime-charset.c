/*
 * Charset conversion to UTF-8 with iconv, never failing on content.
 *
 * Policy (also in mime.h):
 *  - UTF-8 declared: kept, invalid sequences become U+FFFD.
 *  - US-ASCII, missing, or a name iconv does not know: kept when the
 *    bytes are valid UTF-8 (mislabelled UTF-8 is the common case),
 *    otherwise each byte is read as Windows-1252.
 *  - anything iconv knows: converted, invalid or truncated sequences
 *    become U+FFFD.
 * iconv descriptors are opened per call: no global state, thread-safe.
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/util.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

/* Windows-1252 0x80..0x9f; the five holes map to the C1 controls as
   ISO-8859-1 does. */
static const uint16_t cp1252_high[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* Names mail uses that iconv spells differently, or that are better
   read as their superset. */
static const struct {
	const char *alias, *name;
} charset_aliases[] = {
	{ "utf-8", "UTF-8" },
	{ "utf8", "UTF-8" },
	{ "ks_c_5601-1987", "CP949" },
	{ "ks_c_5601", "CP949" },
	{ "gb2312", "GB18030" },
	{ "gbk", "GB18030" },
	{ "x-gbk", "GB18030" },
	{ "iso-8859-8-i", "ISO-8859-8" },
	{ "x-sjis", "SHIFT_JIS" },
	{ "shift-jis", "SHIFT_JIS" },
	{ "x-euc-jp", "EUC-JP" },
	{ "iso-8859-1", "WINDOWS-1252" },
	{ "latin1", "WINDOWS-1252" },
	{ "tis-620", "CP874" },
	{ "x-mac-roman", "MACINTOSH" },
};

void mime_charset_append_cp(struct buf *out, uint32_t cp)
{
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	(void)buf_append_utf8(out, cp);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

bool mime_charset_is_valid_utf8(const void *data, size_t size)
{
	const unsigned char *s = data;
	size_t i = 0;

	while (i < size) {
		size_t n = utf8_seq(s + i, size - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static void append_cp1252(struct buf *out, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c < 0x80)
			buf_append_c(out, (char)c);
		else if (c < 0xA0)
			mime_charset_append_cp(out, cp1252_high[c - 0x80]);
		else
			mime_charset_append_cp(out, c);
	}
}

/* UTF-8 with invalid sequences replaced; returns false if any were. */
static bool append_utf8_replacing(struct buf *out, const unsigned char *s,
				  size_t size)
{
	bool exact = true;
	size_t i = 0;

	while (i < size) {
		size_t n = utf8_seq(s + i, size - i);
		if (n == 0) {
			mime_charset_append_cp(out, 0xFFFD);
			exact = false;
			i++;
			continue;
		}
		buf_append(out, s + i, n);
		i += n;
	}
	return exact;
}

void mime_charset_append_lenient(struct buf *out, const void *data, size_t size)
{
	if (mime_charset_is_valid_utf8(data, size))
		buf_append(out, data, size);
	else
		append_cp1252(out, data, size);
}

/* Normalised name for iconv into dst, or NULL when the charset should
   take the lenient path. */
static const char *charset_name(const char *charset, char *dst, size_t dstsize)
{
	size_t n = 0;

	if (charset == NULL)
		return NULL;
	while (*charset == ' ' || *charset == '"' || *charset == '\'')
		charset++;
	for (; *charset != '\0' && n + 1 < dstsize; charset++) {
		if (*charset == '"' || *charset == '\'' || *charset == ' ' ||
		    *charset == '*')
			break;
		dst[n++] = ascii_lower(*charset);
	}
	dst[n] = '\0';
	if (n == 0 || strcmp(dst, "us-ascii") == 0 || strcmp(dst, "ascii") == 0 ||
	    strcmp(dst, "ansi_x3.4-1968") == 0)
		return NULL;
	for (size_t i = 0; i < N_ELEMENTS(charset_aliases); i++) {
		if (strcmp(dst, charset_aliases[i].alias) == 0)
			return charset_aliases[i].name;
	}
	return dst;
}

bool mime_charset_is_known(const char *charset)
{
	char name[64];
	const char *n = charset_name(charset, name, sizeof(name));

	if (n == NULL)
		return charset != NULL;
	iconv_t cd = iconv_open("UTF-8", n);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

static int iconv_convert(iconv_t cd, const unsigned char *data, size_t size,
			 struct buf *out)
{
	char *in = (char *)data;
	size_t inleft = size;
	bool exact = true;
	char tmp[1024];

	while (inleft > 0) {
		char *o = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, &in, &inleft, &o, &oleft);
		if (buf_append(out, tmp, sizeof(tmp) - oleft) < 0)
			return -1;
		if (r != (size_t)-1)
			continue;
		if (errno == E2BIG)
			continue;
		/* EILSEQ or EINVAL (truncated at the end): one byte out */
		mime_charset_append_cp(out, 0xFFFD);
		exact = false;
		in++;
		inleft--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	char *o = tmp;
	size_t oleft = sizeof(tmp);
	iconv(cd, NULL, NULL, &o, &oleft);
	if (buf_append(out, tmp, sizeof(tmp) - oleft) < 0)
		return -1;
	return exact ? 1 : 0;
}

/* iconv's UTF-8 output is trusted no further than the validator: glibc
   lets code points above U+10FFFF through from some charsets. */
static int sanitize_tail(struct buf *out, size_t start, int ret)
{
	if (ret < 0 || mime_charset_is_valid_utf8(out->data + start, out->len - start))
		return ret;
	size_t n = out->len - start;
	char *copy = xmalloc(n);
	memcpy(copy, out->data + start, n);
	buf_truncate(out, start);
	(void)append_utf8_replacing(out, (const unsigned char *)copy, n);
	free(copy);
	return 0;
}

int mime_charset_to_utf8(const char *charset, const void *data, size_t size,
			 struct buf *out)
{
	char name[64];
	const char *n = charset_name(charset, name, sizeof(name));
	size_t start = out->len;
	int ret;

	if (n != NULL && strcmp(n, "UTF-8") == 0) {
		ret = append_utf8_replacing(out, data, size) ? 1 : 0;
	} else if (n == NULL) {
		ret = mime_charset_is_valid_utf8(data, size) ? 1 : 0;
		mime_charset_append_lenient(out, data, size);
	} else {
		iconv_t cd = iconv_open("UTF-8", n);
		if (cd == (iconv_t)-1) {
			ret = 0;
			mime_charset_append_lenient(out, data, size);
		} else {
			ret = iconv_convert(cd, data, size, out);
			iconv_close(cd);
			ret = sanitize_tail(out, start, ret);
		}
	}
	if (out->max != 0 && out->len == start && size > 0 && ret >= 0) {
		/* nothing fitted at all */
		return -1;
	}
	return ret;
}
