/* Dot-stuffing of RETR and TOP responses.  See pop3-proto.h. */

#include "pop3-proto.h"

#include <string.h>

void pop3_stuffer_init(struct pop3_stuffer *s, bool top, uint64_t body_lines)
{
	memset(s, 0, sizeof(*s));
	s->top = top;
	s->lines_left = body_lines;
	s->bol = true;
	/* a TOP with 0 lines ends at the empty line; with n, n lines later */
}

bool pop3_stuffer_done(const struct pop3_stuffer *s)
{
	return s->done;
}

static void emit(struct pop3_stuffer *s, const unsigned char *from, const unsigned char *to,
		 pop3_write_fn *out, void *ctx)
{
	if (to > from) {
		out(ctx, from, (size_t)(to - from));
		s->written += (uint64_t)(to - from);
	}
}

/* TOP: one more line ended; true when output must stop after it. */
static bool top_line_ended(struct pop3_stuffer *s, bool empty)
{
	if (!s->in_body) {
		if (!empty)
			return false;
		s->in_body = true;
		return s->lines_left == 0;
	}
	return --s->lines_left == 0;
}

size_t pop3_stuffer_feed(struct pop3_stuffer *s, const void *data, size_t len,
			 pop3_write_fn *out, void *ctx)
{
	const unsigned char *start = data, *p = start, *end = start + len, *seg = start;

	if (s->done || len == 0)
		return 0;
	while (p < end) {
		if (s->bol) {
			s->bol = false;
			if (*p == '.') {
				/* the original dot follows as part of the segment */
				emit(s, seg, p, out, ctx);
				out(ctx, ".", 1);
				s->written++;
				seg = p;
			}
		}
		const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			size_t n = (size_t)(end - p) + s->col;
			s->col = (uint8_t)(n > 2 ? 2 : n);
			p = end;
			break;
		}
		size_t n = (size_t)(lf - p) + s->col;
		unsigned char before = lf > p ? lf[-1] : p > start ? p[-1] : s->last[1];
		bool empty = n == 0 || (n == 1 && before == '\r');
		p = lf + 1;
		s->col = 0;
		s->bol = true;
		if (s->top && top_line_ended(s, empty)) {
			s->done = true;
			break;
		}
	}
	emit(s, seg, p, out, ctx);
	size_t used = (size_t)(p - start);
	if (used >= 2) {
		s->last[0] = p[-2];
		s->last[1] = p[-1];
	} else if (used == 1) {
		s->last[0] = s->last[1];
		s->last[1] = p[-1];
	}
	s->consumed += used;
	return used;
}

void pop3_stuffer_finish(struct pop3_stuffer *s, pop3_write_fn *out, void *ctx)
{
	/* The output ends as the input does (an inserted dot is always
	 * followed by the original one). */
	if (s->consumed > 0 && !(s->consumed >= 2 && s->last[0] == '\r' && s->last[1] == '\n')) {
		out(ctx, "\r\n", 2);
		s->written += 2;
	}
	out(ctx, ".\r\n", 3);
	s->written += 3;
	s->done = true;
}
