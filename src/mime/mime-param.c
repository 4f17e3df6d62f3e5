/*
 * Content-Type / Content-Disposition values: the leading token and the
 * parameters, with RFC 2231 continuations (name*0=, name*1*=) and
 * charset'language' prefixes reassembled.
 *
 * Lenient like mime4j: comments are dropped, white space inside an
 * unquoted value is collapsed, empty parameters (";;") are skipped, a
 * parameter without '=' is ignored.
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

/* Segments are sorted by number; more than this many are ignored so that
   a hostile header cannot make the sort quadratic in its size. */
#define MIME_PARAM_MAX_SEGMENTS 1000

struct segment {
	char *base;     /* name without the RFC 2231 suffix, lower-cased */
	char *value;
	int number;     /* -1: no section number */
	bool extended;  /* name ended with '*' */
};

/* Reads up to a delimiter in delims (or the end) the way mime4j's
   parseValue does: quoted strings unquoted, comments dropped, runs of
   white space outside quotes turned into one space, outer white space
   trimmed. */
static void read_value(struct mime_rfc822 *ctx, struct buf *out,
		       const char *delims)
{
	bool space = false;

	while (ctx->data < ctx->end) {
		unsigned char c = *ctx->data;
		if (strchr(delims, c) != NULL)
			break;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			ctx->data++;
			space = true;
			continue;
		}
		if (c == '(') {
			struct buf *save = ctx->last_comment;
			ctx->last_comment = NULL;
			mime_rfc822_skip_cfws(ctx);
			ctx->last_comment = save;
			continue;
		}
		if (space && out->len > 0)
			buf_append_c(out, ' ');
		space = false;
		if (c == '"') {
			mime_rfc822_quoted(ctx, out);
			continue;
		}
		while (ctx->data < ctx->end) {
			c = *ctx->data;
			if (strchr(delims, c) != NULL || c == ' ' || c == '\t' ||
			    c == '\r' || c == '\n' || c == '(' || c == '"')
				break;
			buf_append_c(out, (char)c);
			ctx->data++;
		}
	}
}

static void segment_name(struct pool *pool, const char *name,
			 struct segment *seg)
{
	size_t len = strlen(name);
	const char *star = strchr(name, '*');

	seg->number = -1;
	seg->extended = false;
	if (star == NULL) {
		seg->base = pool_strdup(pool, name);
		str_lcase(seg->base);
		return;
	}
	seg->base = pool_strndup(pool, name, (size_t)(star - name));
	str_lcase(seg->base);
	const char *s = star + 1;
	if (*s >= '0' && *s <= '9') {
		int n = 0;
		while (*s >= '0' && *s <= '9' && n < 100000)
			n = n * 10 + (*s++ - '0');
		seg->number = n;
		if (*s == '*') {
			seg->extended = true;
			s++;
		}
	} else {
		seg->extended = true;
	}
	if (*s != '\0' || (size_t)(s - name) != len) {
		/* not RFC 2231 after all: keep the name as written */
		seg->base = pool_strdup(pool, name);
		str_lcase(seg->base);
		seg->number = -1;
		seg->extended = false;
	}
}

static int segment_cmp(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;
	int r = strcmp(x->base, y->base);
	if (r != 0)
		return r;
	return x->number < y->number ? -1 : x->number > y->number;
}

static bool is_attr_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Joins the segments of one parameter into p. */
static void join_segments(struct pool *pool, struct segment *segs,
			  unsigned int n, struct mime_param *p)
{
	bool extended = false;
	struct buf v;

	for (unsigned int i = 0; i < n; i++)
		extended = extended || segs[i].extended;
	buf_init_pool(&v, pool, 0);
	p->name = segs[0].base;
	p->extended = extended;
	for (unsigned int i = 0; i < n; i++) {
		const char *s = segs[i].value;
		if (i == 0 && segs[i].extended) {
			const char *q1 = strchr(s, '\'');
			const char *q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');
			if (q2 != NULL) {
				p->charset = pool_strndup(pool, s, (size_t)(q1 - s));
				p->language = pool_strndup(pool, q1 + 1,
							   (size_t)(q2 - q1 - 1));
				s = q2 + 1;
			}
		}
		if (!extended || segs[i].extended) {
			buf_append_str(&v, s);
			continue;
		}
		/* a plain segment inside an extended value: encode it */
		for (; *s != '\0'; s++) {
			unsigned char c = (unsigned char)*s;
			if (is_attr_char(c))
				buf_append_c(&v, (char)c);
			else
				buf_printf(&v, "%%%02X", c);
		}
	}
	p->value = v.data == NULL ? "" : v.data;
}

/* Groups segments by base name in first-seen order of the names. */
static void assemble(struct pool *pool, struct segment *segs, unsigned int n,
		     struct mime_param **params_r, unsigned int *count_r)
{
	struct mime_param *params = POOL_NEW_ARRAY(pool, struct mime_param, n + 1);
	unsigned int count = 0;
	struct segment *sorted = pool_memdup(pool, segs, sizeof(*segs) * n);

	qsort(sorted, n, sizeof(*sorted), segment_cmp);
	for (unsigned int i = 0; i < n; i++) {
		bool seen = false;
		for (unsigned int j = 0; j < count; j++) {
			if (strcmp(params[j].name, segs[i].base) == 0)
				seen = true;
		}
		if (seen)
			continue;
		/* the run of this name in sorted order */
		unsigned int a = 0;
		while (strcmp(sorted[a].base, segs[i].base) != 0)
			a++;
		unsigned int b = a;
		while (b < n && strcmp(sorted[b].base, segs[i].base) == 0)
			b++;
		/* plain "name" and "name*" both present: the RFC 2231 one
		   carries the real value */
		unsigned int first = a, last = b;
		bool any_2231 = false;
		for (unsigned int k = a; k < b; k++)
			any_2231 = any_2231 || sorted[k].number >= 0 || sorted[k].extended;
		if (any_2231) {
			while (first < last && sorted[first].number < 0 &&
			       !sorted[first].extended)
				first++;
		} else {
			last = first + 1; /* duplicates: the first wins */
		}
		/* among continuations, drop duplicated section numbers */
		struct segment *run = POOL_NEW_ARRAY(pool, struct segment, last - first);
		unsigned int rn = 0;
		for (unsigned int k = first; k < last; k++) {
			if (rn > 0 && run[rn - 1].number == sorted[k].number)
				continue;
			run[rn++] = sorted[k];
		}
		join_segments(pool, run, rn, &params[count++]);
	}
	*params_r = params;
	*count_r = count;
}

void mime_param_parse(struct pool *pool, const char *value, size_t len,
		      const char **token_r, struct mime_param **params_r,
		      unsigned int *count_r)
{
	struct mime_rfc822 ctx;
	struct buf tok, name, val;
	struct segment *segs = NULL;
	unsigned int nsegs = 0, cap = 0;

	mime_rfc822_init(&ctx, value, len, NULL);
	buf_init_pool(&tok, pool, 0);
	read_value(&ctx, &tok, ";");
	/* "text / plain" -> "text/plain" */
	char *t = pool_strdup(pool, buf_cstr(&tok));
	char *w = t;
	for (char *r = t; *r != '\0'; r++) {
		if (*r != ' ')
			*w++ = ascii_lower(*r);
	}
	*w = '\0';
	*token_r = t;

	buf_init(&name, 0);
	buf_init(&val, 0);
	while (ctx.data < ctx.end) {
		ctx.data++; /* ';' */
		buf_reset(&name);
		buf_reset(&val);
		read_value(&ctx, &name, ";=");
		if (ctx.data >= ctx.end || *ctx.data != '=')
			continue;
		ctx.data++;
		read_value(&ctx, &val, ";");
		if (name.len == 0 || nsegs >= MIME_PARAM_MAX_SEGMENTS)
			continue;
		if (nsegs == cap) {
			unsigned int ncap = cap == 0 ? 8 : cap * 2;
			segs = pool_realloc(pool, segs, sizeof(*segs) * cap,
					    sizeof(*segs) * ncap);
			cap = ncap;
		}
		segment_name(pool, buf_cstr(&name), &segs[nsegs]);
		segs[nsegs].value = pool_strdup(pool, buf_cstr(&val));
		nsegs++;
	}
	buf_free(&name);
	buf_free(&val);
	if (nsegs == 0) {
		*params_r = NULL;
		*count_r = 0;
		return;
	}
	assemble(pool, segs, nsegs, params_r, count_r);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower((char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

const char *mime_param_value_utf8(struct pool *pool,
				  const struct mime_param *param)
{
	struct buf out;

	buf_init_pool(&out, pool, 0);
	if (!param->extended) {
		mime_header_decode_append(&out, param->value, strlen(param->value));
		return buf_cstr(&out);
	}
	struct buf raw;
	buf_init(&raw, 0);
	for (const char *s = param->value; *s != '\0'; s++) {
		int h, l;
		if (*s == '%' && (h = hexval(s[1])) >= 0 && (l = hexval(s[2])) >= 0) {
			buf_append_c(&raw, (char)(h * 16 + l));
			s += 2;
		} else {
			buf_append_c(&raw, *s);
		}
	}
	(void)mime_charset_to_utf8(param->charset, raw.data == NULL ? "" : raw.data,
				   raw.len, &out);
	buf_free(&raw);
	return buf_cstr(&out);
}
