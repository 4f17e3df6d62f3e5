#ifndef OMBU_SMTP_SYNTAX_PRIVATE_H
#define OMBU_SMTP_SYNTAX_PRIVATE_H

/*
 * Character classes and UTF-8 validation shared by the SMTP codec files
 * (RFC 5321 section 4.1.2, RFC 6531 section 3.3).  Private to src/proto.
 */

#include <stdbool.h>
#include <stddef.h>

#include "smtp-proto.h"

static inline bool smtp_syntax_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool smtp_syntax_is_digit(int c)
{
	return c >= '0' && c <= '9';
}
static inline bool smtp_syntax_is_alnum(int c)
{
	return smtp_syntax_is_alpha(c) || smtp_syntax_is_digit(c);
}
static inline bool smtp_syntax_is_hex(int c)
{
	return smtp_syntax_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/* RFC 5322 atext, ASCII part. */
bool smtp_syntax_is_atext(int c);
/* RFC 5321 qtextSMTP, ASCII part: %d32-33 / %d35-91 / %d93-126. */
static inline bool smtp_syntax_is_qtext(int c)
{
	return c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126);
}
/* RFC 3461 xchar: %d33-42 / %d44-60 / %d62-126. */
static inline bool smtp_syntax_is_xchar(int c)
{
	return c >= 33 && c <= 126 && c != '+' && c != '=';
}
/* esmtp-keyword characters after the first: ALPHA / DIGIT / "-". */
static inline bool smtp_syntax_is_keyword_char(int c)
{
	return smtp_syntax_is_alnum(c) || c == '-';
}

/* Length of the valid UTF-8 sequence (2..4 bytes) starting at p, or 0
 * when p does not start one (ASCII, overlong, surrogate, > U+10FFFF,
 * truncated). */
size_t smtp_syntax_utf8_seq(const unsigned char *p, size_t len);
/* True when the whole range is valid UTF-8 (ASCII included). */
bool smtp_syntax_utf8_valid(const void *data, size_t len);
/* True when the range holds a byte >= 0x80. */
bool smtp_syntax_has_8bit(const void *data, size_t len);

/* Fills err with the standard reply for id but a pool-allocated text
 * "<standard text>: <detail>" (detail must be safe to echo). */
void smtp_error_set_detail(struct smtp_error *err, struct pool *pool,
			   enum smtp_error_id id, const char *detail);

#endif
