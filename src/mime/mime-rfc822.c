/* RFC 5322 lexical helpers: CFWS, atoms, quoted strings, phrases,
   domains.  Lenient: 8-bit bytes are atom text (RFC 6532), unterminated
   comments and quoted strings run to the end. */

#include "mime-private.h"

#include "lib/buf.h"

#include <string.h>

void mime_rfc822_init(struct mime_rfc822 *ctx, const void *data, size_t size,
		      struct buf *last_comment)
{
	ctx->data = data;
	ctx->end = ctx->data + size;
	ctx->last_comment = last_comment;
}

static bool is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void skip_comment(struct mime_rfc822 *ctx)
{
	unsigned int level = 1;

	if (ctx->last_comment != NULL)
		buf_reset(ctx->last_comment);
	ctx->data++;
	while (ctx->data < ctx->end) {
		unsigned char c = *ctx->data++;
		if (c == '\\' && ctx->data < ctx->end) {
			c = *ctx->data++;
		} else if (c == '(') {
			level++;
		} else if (c == ')') {
			if (--level == 0)
				return;
		} else if (c == '\r' || c == '\n') {
			continue;
		}
		if (ctx->last_comment != NULL)
			buf_append_c(ctx->last_comment, (char)c);
	}
}

bool mime_rfc822_skip_cfws(struct mime_rfc822 *ctx)
{
	while (ctx->data < ctx->end) {
		if (is_wsp(*ctx->data))
			ctx->data++;
		else if (*ctx->data == '(')
			skip_comment(ctx);
		else
			return true;
	}
	return false;
}

static bool is_atext(unsigned char c, bool dots)
{
	if (c >= 0x80)
		return true;
	if (c <= ' ' || c == 0x7f)
		return false;
	if (c == '.')
		return dots;
	return strchr("()<>[]:;@\\,\"", c) == NULL;
}

bool mime_rfc822_atom(struct mime_rfc822 *ctx, struct buf *out, bool dots)
{
	const unsigned char *start = ctx->data;

	while (ctx->data < ctx->end && is_atext(*ctx->data, dots))
		ctx->data++;
	if (ctx->data == start)
		return false;
	buf_append(out, start, (size_t)(ctx->data - start));
	return true;
}

bool mime_rfc822_token(struct mime_rfc822 *ctx, struct buf *out)
{
	const unsigned char *start = ctx->data;

	while (ctx->data < ctx->end) {
		unsigned char c = *ctx->data;
		if (c <= ' ' || c == 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			break;
		ctx->data++;
	}
	if (ctx->data == start)
		return false;
	buf_append(out, start, (size_t)(ctx->data - start));
	return true;
}

void mime_rfc822_quoted(struct mime_rfc822 *ctx, struct buf *out)
{
	ctx->data++; /* the opening quote */
	while (ctx->data < ctx->end) {
		unsigned char c = *ctx->data++;
		if (c == '"')
			return;
		if (c == '\\' && ctx->data < ctx->end)
			c = *ctx->data++;
		else if (c == '\r' || c == '\n')
			continue;
		buf_append_c(out, (char)c);
	}
}

bool mime_rfc822_phrase(struct mime_rfc822 *ctx, struct buf *out)
{
	bool any = false;

	for (;;) {
		if (!mime_rfc822_skip_cfws(ctx))
			break;
		int c = *ctx->data;
		size_t before = out->len;
		if (any)
			buf_append_c(out, ' ');
		if (c == '"') {
			mime_rfc822_quoted(ctx, out);
		} else if (!mime_rfc822_atom(ctx, out, true)) {
			buf_truncate(out, before);
			break;
		}
		any = true;
	}
	return any;
}

bool mime_rfc822_domain(struct mime_rfc822 *ctx, struct buf *out)
{
	if (!mime_rfc822_skip_cfws(ctx))
		return false;
	if (*ctx->data == '[') {
		const unsigned char *start = ctx->data;
		const unsigned char *close = memchr(start, ']',
						    (size_t)(ctx->end - start));
		ctx->data = close == NULL ? ctx->end : close + 1;
		buf_append(out, start, (size_t)(ctx->data - start));
		return true;
	}
	bool any = false;
	for (;;) {
		if (!mime_rfc822_atom(ctx, out, false))
			break;
		any = true;
		/* obs-domain: CFWS around dots */
		const unsigned char *save = ctx->data;
		if (!mime_rfc822_skip_cfws(ctx) || *ctx->data != '.') {
			ctx->data = save;
			break;
		}
		ctx->data++;
		buf_append_c(out, '.');
		if (!mime_rfc822_skip_cfws(ctx))
			break;
	}
	return any;
}
