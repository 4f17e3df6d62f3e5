/* The string forms of IMAP responses: atoms, quoted strings, literals. */

#include "imap-proto.h"
#include "lib/buf.h"

#include <string.h>

#define QUOTED_MAX 1024

static bool is_atom_safe(const char *s, size_t len)
{
	if (len == 0 || (len == 3 && strncasecmp(s, "NIL", 3) == 0))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' ||
		    c == '*' || c == '"' || c == '\\' || c == ']')
			return false;
	}
	return true;
}

static bool is_quotable(const char *s, size_t len, bool utf8)
{
	if (len > QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || c == '\r' || c == '\n')
			return false;
		if (c >= 0x80 && !utf8)
			return false;
	}
	return !utf8 || imap_utf8_valid(s, len);
}

void imap_write_literal(struct buf *out, const void *data, size_t len, bool literal8)
{
	buf_printf(out, "%s{%zu}\r\n", literal8 ? "~" : "", len);
	buf_append(out, data, len);
}

static void write_quoted(struct buf *out, const char *s, size_t len)
{
	buf_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append_c(out, '\\');
		buf_append_c(out, s[i]);
	}
	buf_append_c(out, '"');
}

void imap_write_string(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (is_quotable(s, len, utf8))
		write_quoted(out, s, len);
	else
		imap_write_literal(out, s, len, false);
}

void imap_write_nstring(struct buf *out, const char *s, size_t len, bool utf8)
{
	if (s == NULL)
		buf_append_str(out, "NIL");
	else
		imap_write_string(out, s, len, utf8);
}

void imap_write_astring(struct buf *out, const char *s, size_t len)
{
	if (is_atom_safe(s, len))
		buf_append(out, s, len);
	else
		imap_write_string(out, s, len, true);
}
