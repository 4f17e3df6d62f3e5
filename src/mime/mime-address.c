/*
 * RFC 5322 address lists: mailboxes, name-addr with display names,
 * groups, obsolete routes (<@a,@b:user@host>), and the comment after a
 * bare addr-spec as the name ("user@host (Real Name)").
 *
 * Broken input is recovered the way Dovecot's message-address.c does:
 * what parses is kept, a missing local part or domain is filled in with
 * MISSING_MAILBOX / MISSING_DOMAIN, a broken angle address gets domain
 * SYNTAX_ERROR (route INVALID_ROUTE), and parsing resumes at the next
 * comma.  Display names keep their encoded words (IMAP ENVELOPE wants
 * them raw); mime_header_decode() them for display.
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

/* A hostile header cannot produce more than this many addresses. */
#define MIME_ADDRESS_MAX 10000

struct addr_ctx {
	struct pool *pool;
	struct mime_rfc822 lex;
	struct buf str, comment;
	struct mime_address *first, *last, cur;
	unsigned int count;
};

static void add(struct addr_ctx *ctx)
{
	struct mime_address *a = pool_memdup(ctx->pool, &ctx->cur, sizeof(ctx->cur));

	a->next = NULL;
	memset(&ctx->cur, 0, sizeof(ctx->cur));
	if (ctx->first == NULL)
		ctx->first = a;
	else
		ctx->last->next = a;
	ctx->last = a;
	ctx->count++;
}

static const char *take(struct addr_ctx *ctx)
{
	return pool_strndup(ctx->pool, buf_cstr(&ctx->str), ctx->str.len);
}

static bool local_part(struct addr_ctx *ctx)
{
	bool any = false;

	buf_reset(&ctx->str);
	for (;;) {
		if (!mime_rfc822_skip_cfws(&ctx->lex))
			break;
		int c = mime_rfc822_peek(&ctx->lex);
		if (c == '"') {
			mime_rfc822_quoted(&ctx->lex, &ctx->str);
		} else if (!mime_rfc822_atom(&ctx->lex, &ctx->str, false)) {
			break;
		}
		any = true;
		const unsigned char *save = ctx->lex.data;
		if (!mime_rfc822_skip_cfws(&ctx->lex) ||
		    mime_rfc822_peek(&ctx->lex) != '.') {
			ctx->lex.data = save;
			break;
		}
		ctx->lex.data++;
		buf_append_c(&ctx->str, '.');
	}
	if (any)
		ctx->cur.mailbox = take(ctx);
	return any;
}

static bool domain(struct addr_ctx *ctx)
{
	buf_reset(&ctx->str);
	if (!mime_rfc822_domain(&ctx->lex, &ctx->str))
		return false;
	ctx->cur.domain = take(ctx);
	return true;
}

/* "<" [route ":"] local "@" domain ">": false when broken. */
static bool angle_addr(struct addr_ctx *ctx)
{
	ctx->lex.data++; /* '<' */
	if (!mime_rfc822_skip_cfws(&ctx->lex))
		return false;
	if (mime_rfc822_peek(&ctx->lex) == '@') {
		struct buf route;
		buf_init_pool(&route, ctx->pool, 0);
		while (mime_rfc822_peek(&ctx->lex) == '@') {
			ctx->lex.data++;
			if (route.len > 0)
				buf_append_c(&route, ',');
			buf_append_c(&route, '@');
			if (!mime_rfc822_domain(&ctx->lex, &route))
				break;
			while (mime_rfc822_skip_cfws(&ctx->lex) &&
			       mime_rfc822_peek(&ctx->lex) == ',')
				ctx->lex.data++;
		}
		if (mime_rfc822_peek(&ctx->lex) != ':') {
			ctx->cur.route = "INVALID_ROUTE";
			return false;
		}
		ctx->lex.data++;
		ctx->cur.route = buf_cstr(&route);
	}
	if (mime_rfc822_skip_cfws(&ctx->lex) && mime_rfc822_peek(&ctx->lex) == '>') {
		/* "<>": the null reverse path */
		ctx->lex.data++;
		ctx->cur.mailbox = "";
		ctx->cur.domain = "";
		return true;
	}
	if (!local_part(ctx))
		return false;
	if (mime_rfc822_skip_cfws(&ctx->lex) && mime_rfc822_peek(&ctx->lex) == '@') {
		ctx->lex.data++;
		if (!domain(ctx))
			return false;
	}
	if (!mime_rfc822_skip_cfws(&ctx->lex) || mime_rfc822_peek(&ctx->lex) != '>')
		return false;
	ctx->lex.data++;
	return true;
}

static void fill_missing(struct addr_ctx *ctx)
{
	if (ctx->cur.mailbox == NULL) {
		ctx->cur.mailbox = "MISSING_MAILBOX";
		ctx->cur.invalid = true;
	}
	if (ctx->cur.domain == NULL) {
		ctx->cur.domain = "MISSING_DOMAIN";
		ctx->cur.invalid = true;
	}
}

/* mailbox = name-addr / addr-spec */
static void mailbox(struct addr_ctx *ctx)
{
	const unsigned char *start = ctx->lex.data;

	buf_reset(&ctx->str);
	(void)mime_rfc822_phrase(&ctx->lex, &ctx->str);
	if (mime_rfc822_skip_cfws(&ctx->lex) && mime_rfc822_peek(&ctx->lex) == '<') {
		if (ctx->str.len > 0)
			ctx->cur.name = take(ctx);
		if (!angle_addr(ctx)) {
			ctx->cur.domain = "SYNTAX_ERROR";
			ctx->cur.invalid = true;
		}
		fill_missing(ctx);
		add(ctx);
		return;
	}
	/* addr-spec, with a trailing comment as the name */
	ctx->lex.data = start;
	buf_reset(&ctx->comment);
	ctx->lex.last_comment = &ctx->comment;
	if (local_part(ctx) && mime_rfc822_skip_cfws(&ctx->lex) &&
	    mime_rfc822_peek(&ctx->lex) == '@') {
		ctx->lex.data++;
		(void)domain(ctx);
	}
	(void)mime_rfc822_skip_cfws(&ctx->lex);
	ctx->lex.last_comment = NULL;
	if (ctx->comment.len > 0) {
		char *name = pool_strndup(ctx->pool, ctx->comment.data, ctx->comment.len);
		ctx->cur.name = str_trim(name);
	}
	fill_missing(ctx);
	add(ctx);
}

/* Skips to the next top-level ',' (or ';' in a group) after junk. */
static void skip_junk(struct addr_ctx *ctx, bool in_group)
{
	while (!mime_rfc822_eof(&ctx->lex)) {
		int c = mime_rfc822_peek(&ctx->lex);
		if (c == ',' || (in_group && c == ';'))
			return;
		if (c == '"') {
			buf_reset(&ctx->str);
			mime_rfc822_quoted(&ctx->lex, &ctx->str);
		} else if (c == '(') {
			(void)mime_rfc822_skip_cfws(&ctx->lex);
		} else {
			ctx->lex.data++;
		}
	}
}

static bool is_group(struct addr_ctx *ctx)
{
	const unsigned char *start = ctx->lex.data;
	bool group;

	buf_reset(&ctx->str);
	group = mime_rfc822_phrase(&ctx->lex, &ctx->str) &&
		mime_rfc822_skip_cfws(&ctx->lex) && mime_rfc822_peek(&ctx->lex) == ':';
	if (!group)
		ctx->lex.data = start;
	return group;
}

static void mailbox_list(struct addr_ctx *ctx, bool in_group)
{
	while (ctx->count < MIME_ADDRESS_MAX) {
		if (!mime_rfc822_skip_cfws(&ctx->lex))
			return;
		int c = mime_rfc822_peek(&ctx->lex);
		if (c == ',') {
			ctx->lex.data++; /* empty list element */
			continue;
		}
		if (in_group && c == ';')
			return;
		if (!in_group && is_group(ctx)) {
			ctx->lex.data++; /* ':' */
			ctx->cur.mailbox = take(ctx);
			add(ctx);
			mailbox_list(ctx, true);
			if (mime_rfc822_peek(&ctx->lex) == ';')
				ctx->lex.data++;
			add(ctx); /* group end */
			continue;
		}
		const unsigned char *before = ctx->lex.data;
		mailbox(ctx);
		if (!mime_rfc822_skip_cfws(&ctx->lex))
			return;
		c = mime_rfc822_peek(&ctx->lex);
		if (c != ',' && !(in_group && c == ';')) {
			ctx->last->invalid = true;
			skip_junk(ctx, in_group);
		}
		if (ctx->lex.data == before)
			ctx->lex.data++; /* never loop without progress */
	}
}

struct mime_address *mime_address_parse(struct pool *pool, const char *value,
					size_t len)
{
	struct addr_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.pool = pool;
	mime_rfc822_init(&ctx.lex, value, len, NULL);
	buf_init(&ctx.str, 0);
	buf_init(&ctx.comment, 0);
	mailbox_list(&ctx, false);
	buf_free(&ctx.str);
	buf_free(&ctx.comment);
	return ctx.first;
}
