/*
 * Incremental reply parser for the outbound client and for tests
 * (RFC 5321 section 4.2).  Lines are collected until one without '-'
 * after the code; every line of a reply must carry the same code.  LF
 * alone is accepted as a line end (servers that send it exist and the
 * client only reads), but recorded.
 */

#include "smtp-syntax-private.h"

#include "lib/buf.h"
#include "lib/pool.h"

#include <string.h>

#define SMTP_REPLY_LINES_DEFAULT 100

struct smtp_reply_parser {
	struct smtp_reply_parser_settings set;
	struct buf line;
	/* the reply being collected */
	struct smtp_reply *reply;
	size_t lines_alloc;
};

struct smtp_reply_parser *smtp_reply_parser_create(struct pool *pool,
						   const struct smtp_reply_parser_settings *set)
{
	struct smtp_reply_parser *p = POOL_NEW(pool, struct smtp_reply_parser);

	if (set != NULL)
		p->set = *set;
	if (p->set.max_line == 0)
		p->set.max_line = SMTP_REPLY_LINE_MAX * 2;
	if (p->set.max_lines == 0)
		p->set.max_lines = SMTP_REPLY_LINES_DEFAULT;
	buf_init_pool(&p->line, pool, 0);
	return p;
}

void smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	buf_reset(&p->line);
	p->reply = NULL;
	p->lines_alloc = 0;
}

/* Length of an enhanced code of class `cls` at the start of text
 * ("2.1.0 "), 0 when there is none. */
static size_t enhanced_len(const char *s, size_t len, char cls)
{
	size_t i = 2;

	if (len < 5 || s[0] != cls || s[1] != '.')
		return 0;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < len && i - start < 4 && smtp_syntax_is_digit(s[i]))
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0 && (i >= len || s[i++] != '.'))
			return 0;
	}
	return i == len || s[i] == ' ' ? i : 0;
}

static int reply_add_line(struct smtp_reply_parser *p, struct pool *pool, unsigned code,
			  const char *text, size_t len, const char **error_r)
{
	struct smtp_reply *r = p->reply;
	size_t elen = enhanced_len(text, len, (char)('0' + code / 100));

	if (r == NULL) {
		r = p->reply = POOL_NEW(pool, struct smtp_reply);
		r->code = code;
		if (elen > 0)
			r->enhanced = pool_strndup(pool, text, elen);
	} else if (r->code != code) {
		*error_r = "Reply code differs between lines";
		return -1;
	}
	if (r->n_lines == p->set.max_lines) {
		*error_r = "Too many reply lines";
		return -1;
	}
	if (r->n_lines == p->lines_alloc) {
		size_t n = p->lines_alloc == 0 ? 4 : p->lines_alloc * 2;
		r->lines = pool_realloc(pool, r->lines, p->lines_alloc * sizeof(*r->lines),
					n * sizeof(*r->lines));
		p->lines_alloc = n;
	}
	if (elen > 0) {
		text += elen;
		len -= elen;
		if (len > 0) {
			text++;
			len--;
		}
	}
	r->lines[r->n_lines++] = pool_strndup(pool, text, len);
	return 0;
}

/* One complete line (without its line end).  1 = last line of the
 * reply, 0 = more lines follow, -1 = malformed. */
static int reply_line(struct smtp_reply_parser *p, struct pool *pool, const char *s,
		      size_t len, const char **error_r)
{
	unsigned code;

	if (len < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    !smtp_syntax_is_digit(s[2]) || (len > 3 && s[3] != ' ' && s[3] != '-')) {
		*error_r = "Invalid reply line";
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		*error_r = "NUL in reply";
		return -1;
	}
	code = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 +
	       (unsigned)(s[2] - '0');
	if (reply_add_line(p, pool, code, len > 4 ? s + 4 : "", len > 4 ? len - 4 : 0,
			   error_r) < 0)
		return -1;
	return len == 3 || s[3] == ' ' ? 1 : 0;
}

int smtp_reply_parser_feed(struct smtp_reply_parser *p, struct pool *reply_pool,
			   const void *data, size_t len, size_t *consumed_r,
			   struct smtp_reply **reply_r, const char **error_r)
{
	const unsigned char *d = data;
	size_t pos = 0;

	while (pos < len) {
		const unsigned char *lf = memchr(d + pos, '\n', len - pos);
		size_t take = lf != NULL ? (size_t)(lf - (d + pos)) + 1 : len - pos;
		if (p->line.len + take > p->set.max_line) {
			*consumed_r = pos + take;
			*error_r = "Reply line too long";
			return -1;
		}
		buf_append(&p->line, d + pos, take);
		pos += take;
		if (lf == NULL)
			break;

		size_t llen = p->line.len - 1;
		bool bare_lf = llen == 0 || p->line.data[llen - 1] != '\r';
		if (!bare_lf)
			llen--;
		int r = reply_line(p, reply_pool, p->line.data, llen, error_r);
		buf_reset(&p->line);
		if (r < 0) {
			*consumed_r = pos;
			return -1;
		}
		p->reply->bare_lf |= bare_lf;
		if (r == 1) {
			*reply_r = p->reply;
			p->reply = NULL;
			p->lines_alloc = 0;
			*consumed_r = pos;
			return 1;
		}
	}
	*consumed_r = pos;
	return 0;
}
