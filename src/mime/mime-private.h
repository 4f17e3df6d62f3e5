#ifndef OMBU_MIME_PRIVATE_H
#define OMBU_MIME_PRIVATE_H

/* Internals shared by the files of src/mime; not part of the API. */

#include "mime.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct pool;

/* mime-part.c: fills type/subtype/params/boundary/charset/encoding and
   the TEXT/MULTIPART flags from the part's Content-* fields.  digest_child:
   the default type is message/rfc822 (RFC 2046 5.1.5). */
void mime_part_init_content(struct pool *pool, struct mime_part *part,
			    bool digest_child);

/* mime-header.c */
/* Fields the structure or ENVELOPE needs: kept past the soft limit. */
bool mime_header_is_essential(const char *name);
/* Checks and extracts a field name from a raw header line: the bytes
   before the first colon, SP/HT trimmed, 0x21..0x7e only. */
bool mime_header_parse_name(const unsigned char *line, size_t len,
			    size_t *name_start_r, size_t *name_len_r,
			    size_t *colon_r);
/* Appends an unfolded, RFC 2047-decoded value to out as UTF-8. */
void mime_header_decode_append(struct buf *out, const char *value, size_t len);
/* 8-bit text (not an encoded word) appended as UTF-8: kept when valid
   UTF-8, else read as Windows-1252. */
void mime_charset_append_lenient(struct buf *out, const void *data, size_t size);
/* Appends one code point as UTF-8. */
void mime_charset_append_cp(struct buf *out, uint32_t cp);

/*
 * RFC 5322 lexical helpers (mime-rfc822.c)
 */

struct mime_rfc822 {
	const unsigned char *data, *end;
	/* When non-NULL, the text of comments skipped is stored here
	   (the last comment seen, for "addr (Name)"). */
	struct buf *last_comment;
};

void mime_rfc822_init(struct mime_rfc822 *ctx, const void *data, size_t size,
		      struct buf *last_comment);
static inline bool mime_rfc822_eof(const struct mime_rfc822 *ctx)
{
	return ctx->data >= ctx->end;
}
static inline int mime_rfc822_peek(const struct mime_rfc822 *ctx)
{
	return ctx->data < ctx->end ? *ctx->data : -1;
}
/* Skips white space, CR/LF and comments.  Returns false at the end. */
bool mime_rfc822_skip_cfws(struct mime_rfc822 *ctx);
/* atext run (RFC 5322 atext plus 8-bit bytes) appended to out; false if
   none.  With dots, '.' is accepted inside (dot-atom). */
bool mime_rfc822_atom(struct mime_rfc822 *ctx, struct buf *out, bool dots);
/* MIME token (RFC 2045) appended to out; false if none. */
bool mime_rfc822_token(struct mime_rfc822 *ctx, struct buf *out);
/* Quoted string at the cursor, unquoted into out (backslash escapes
   removed, folding removed).  Unterminated strings run to the end. */
void mime_rfc822_quoted(struct mime_rfc822 *ctx, struct buf *out);
/* phrase: words (atoms, quoted strings, dots) joined by one space. */
bool mime_rfc822_phrase(struct mime_rfc822 *ctx, struct buf *out);
/* domain: dot-atom or [literal]; lenient. */
bool mime_rfc822_domain(struct mime_rfc822 *ctx, struct buf *out);

#endif
