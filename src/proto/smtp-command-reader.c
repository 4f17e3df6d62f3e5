/*
 * Splits pipelined client input into command lines (RFC 2920).  It
 * stops after every line: what follows DATA's or BDAT's line is message
 * content, not commands, and must go to the data decoder instead.  The
 * decision for a line never depends on how the input was chunked.
 */

#include "smtp-syntax-private.h"

#include "lib/buf.h"
#include "lib/pool.h"

#include <string.h>

struct smtp_command_reader {
	struct buf line;
	size_t max_line;
	unsigned flags;
	/* discarding the rest of an overlong line, up to its LF */
	bool skipping;
};

struct smtp_command_reader *smtp_command_reader_create(struct pool *pool, size_t max_line,
						       unsigned flags)
{
	struct smtp_command_reader *r = POOL_NEW(pool, struct smtp_command_reader);

	buf_init_pool(&r->line, pool, 0);
	r->max_line = max_line > 2 ? max_line : 2;
	r->flags = flags;
	return r;
}

static int reader_fail(struct smtp_command_reader *r, enum smtp_error_id id,
		       struct smtp_error *err_r)
{
	buf_reset(&r->line);
	smtp_error_set(err_r, id);
	return -1;
}

int smtp_command_reader_read(struct smtp_command_reader *r, const void *data, size_t len,
			     size_t *consumed_r, const unsigned char **line_r, size_t *len_r,
			     struct smtp_error *err_r)
{
	const unsigned char *p = data, *lf;
	size_t pos = 0, take;

	*consumed_r = 0;
	if (r->skipping) {
		lf = memchr(p, '\n', len);
		if (lf == NULL) {
			*consumed_r = len;
			return 0;
		}
		pos = (size_t)(lf - p) + 1;
		r->skipping = false;
	}
	lf = memchr(p + pos, '\n', len - pos);
	take = lf != NULL ? (size_t)(lf - (p + pos)) + 1 : len - pos;
	if (r->line.len + take > r->max_line) {
		/* refuse as soon as the limit is passed, whatever comes next */
		*consumed_r = pos + take;
		r->skipping = lf == NULL;
		return reader_fail(r, SMTP_ERROR_LINE_TOO_LONG, err_r);
	}
	*consumed_r = pos + take;
	if (lf == NULL) {
		buf_append(&r->line, p + pos, take);
		return 0;
	}

	const unsigned char *line = p + pos;
	size_t line_len = take - 1;
	if (r->line.len > 0) {
		/* the line started in an earlier call */
		buf_append(&r->line, p + pos, take);
		line = (const unsigned char *)r->line.data;
		line_len = r->line.len - 1;
		r->line.len = 0; /* the data stays valid until the next call */
	}
	if (line_len > 0 && line[line_len - 1] == '\r') {
		line_len--;
	} else if ((r->flags & SMTP_PARSE_ALLOW_BARE_LF) == 0) {
		return reader_fail(r, SMTP_ERROR_LINE_BARE_LF, err_r);
	}
	*line_r = line;
	*len_r = line_len;
	return 1;
}

bool smtp_command_reader_pending(const struct smtp_command_reader *r)
{
	return r->line.len > 0 || r->skipping;
}

void smtp_command_reader_reset(struct smtp_command_reader *r)
{
	buf_reset(&r->line);
	r->skipping = false;
}
