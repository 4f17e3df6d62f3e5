/*
 * Incremental MIME parser.
 *
 * The input is cut into lines (LF-terminated; CR before LF is part of the
 * line break).  Only two things are ever buffered: the start of the
 * current line, long enough to tell whether it is a boundary delimiter of
 * an open multipart, and the header of the part being read (bounded).
 * Body bytes are counted, never kept, so memory does not grow with the
 * message.
 *
 * Open entities form a stack of frames, innermost on top.  A delimiter
 * line of frame k closes every frame above k; the line break before the
 * delimiter belongs to it (RFC 2046), so closed entities end there.  As
 * in mime4j, "--boundary" matches when followed by the end of the line,
 * white space (transport padding and junk after it are ignored) or "--";
 * as in Dovecot, the innermost multipart is tried first and the longest
 * matching boundary wins.
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

/* A position with the line counters it had, so that line counts and CRLF
   sizes of any range come from two positions. */
struct mime_pos {
	uint64_t offset, lf, bare_lf;
};

enum frame_state {
	FRAME_HEADER,
	FRAME_BODY,      /* leaf body */
	FRAME_PREAMBLE,  /* multipart before its first delimiter */
	FRAME_CHILDREN,  /* multipart with a child above it */
	FRAME_EPILOGUE,  /* multipart after its close delimiter */
};

struct mime_frame {
	struct mime_part *part;
	enum frame_state state;
	struct mime_pos header_start, body_start, epilogue_start, close_end;
	size_t boundary_len; /* 0: no active boundary */
	size_t header_kept;
	unsigned int fields_cap;
	struct mime_part *last_child;
	bool digest;         /* children default to message/rfc822 */
};

enum line_kind {
	LINE_UNDECIDED,
	LINE_NORMAL,
	LINE_DELIM,
};

struct mime_parser {
	struct pool *pool;
	struct mime_limits limits;
	unsigned int flags;
	struct mime_part *root;
	bool finished, frozen;

	struct mime_frame *frames;
	unsigned int nframes, frames_cap;
	unsigned int part_count;
	size_t headers_total;

	struct mime_pos pos; /* after the last byte consumed */
	int last_byte;
	bool last_lf_crlf;

	/* The current line */
	struct mime_pos line_start;
	unsigned int prev_eol; /* line break length of the previous line */
	enum line_kind line_kind;
	struct buf prefix;
	size_t prefix_need;
	/* Delimiter line being skipped: which frame, open or close */
	unsigned int delim_frame;
	bool delim_close;
	uint64_t delim_line;

	/* Header line and field being assembled */
	struct buf hline;
	uint64_t hline_len;
	struct buf field;
	uint64_t field_offset, field_size;
	bool field_active, field_truncated;
};

static void parser_line_end(struct mime_parser *p, unsigned int eol);

static void limits_apply(struct mime_limits *l, const struct mime_limits *set)
{
	l->max_depth = set != NULL && set->max_depth != 0 ?
		set->max_depth : MIME_DEFAULT_MAX_DEPTH;
	l->max_parts = set != NULL && set->max_parts != 0 ?
		set->max_parts : MIME_DEFAULT_MAX_PARTS;
	l->max_header_size = set != NULL && set->max_header_size != 0 ?
		set->max_header_size : MIME_DEFAULT_MAX_HEADER_SIZE;
	l->max_headers_total = set != NULL && set->max_headers_total != 0 ?
		set->max_headers_total : MIME_DEFAULT_MAX_HEADERS_TOTAL;
}

/* tail: the parent frame's last child (NULL when it has none yet) */
static struct mime_part *part_new(struct mime_parser *p,
				  struct mime_part *parent,
				  struct mime_part **tail)
{
	struct mime_part *part = POOL_NEW(p->pool, struct mime_part);
	part->parent = parent;
	part->depth = parent == NULL ? 0 : parent->depth + 1;
	p->part_count++;
	if (parent != NULL) {
		if (*tail == NULL)
			parent->children = part;
		else
			(*tail)->next = part;
		*tail = part;
		parent->children_count++;
	}
	return part;
}

static struct mime_frame *top(struct mime_parser *p)
{
	return &p->frames[p->nframes - 1];
}

static void update_prefix_need(struct mime_parser *p)
{
	size_t max = 0;
	bool any = false;

	if (!p->frozen) {
		for (unsigned int i = 0; i < p->nframes; i++) {
			if (p->frames[i].boundary_len > 0) {
				any = true;
				max = MAX(max, p->frames[i].boundary_len);
			}
		}
	}
	/* "--" + boundary + "--" or one byte of padding */
	p->prefix_need = any ? max + 4 : 0;
}

static struct mime_frame *frame_push(struct mime_parser *p,
				     struct mime_part *part)
{
	if (p->nframes == p->frames_cap) {
		unsigned int ncap = p->frames_cap * 2;
		p->frames = pool_realloc(p->pool, p->frames,
					 sizeof(*p->frames) * p->frames_cap,
					 sizeof(*p->frames) * ncap);
		p->frames_cap = ncap;
	}
	struct mime_frame *f = &p->frames[p->nframes++];
	memset(f, 0, sizeof(*f));
	f->part = part;
	f->state = FRAME_HEADER;
	f->header_start = p->pos;
	part->header_offset = p->pos.offset;
	return f;
}

struct mime_parser *mime_parser_create(struct pool *pool,
				       const struct mime_parser_settings *set)
{
	struct mime_parser *p = POOL_NEW(pool, struct mime_parser);
	p->pool = pool;
	limits_apply(&p->limits, set == NULL ? NULL : &set->limits);
	p->flags = set == NULL ? 0 : set->flags;
	p->last_byte = -1;
	p->frames_cap = 8;
	p->frames = POOL_NEW_ARRAY(pool, struct mime_frame, p->frames_cap);
	/* Scratch buffers are malloc-backed so that their growth is not
	   kept in the pool; mime_parser_destroy() frees them. */
	buf_init(&p->prefix, 0);
	buf_init(&p->hline, 0);
	buf_init(&p->field, 0);
	p->root = part_new(p, NULL, NULL);
	frame_push(p, p->root);
	p->line_start = p->pos;
	return p;
}

void mime_parser_destroy(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	buf_free(&p->prefix);
	buf_free(&p->hline);
	buf_free(&p->field);
}

/* Advances the position over bytes, counting LFs and bare LFs. */
static void count_bytes(struct mime_parser *p, const unsigned char *data,
			size_t n)
{
	const unsigned char *s = data, *end = data + n, *lf;

	while (s < end && (lf = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		int prev = lf > data ? lf[-1] : p->last_byte;
		p->pos.lf++;
		p->last_lf_crlf = prev == '\r';
		if (prev != '\r')
			p->pos.bare_lf++;
		s = lf + 1;
	}
	if (n > 0)
		p->last_byte = data[n - 1];
	p->pos.offset += n;
}

/* The position just before the line break that precedes the current
   line, but never before `start`. */
static struct mime_pos end_before_line(const struct mime_parser *p,
				       const struct mime_pos *start)
{
	struct mime_pos r = p->line_start;

	if (p->prev_eol > 0 && r.offset >= start->offset + p->prev_eol) {
		r.offset -= p->prev_eol;
		r.lf--;
		if (p->prev_eol == 1)
			r.bare_lf--;
	}
	if (r.offset < start->offset)
		r = *start;
	return r;
}

/*
 * Header fields
 */

static void field_store(struct mime_parser *p, struct mime_frame *f)
{
	struct mime_part *part = f->part;
	const unsigned char *raw = (const unsigned char *)p->field.data;
	size_t len = p->field.len, name_start, name_len, colon;

	if (p->field_truncated) {
		/* over twice max_header_size: never kept */
		part->flags |= MIME_PART_FLAG_HEADER_TRUNCATED;
		return;
	}
	/* The stored bytes end at the field's last line break */
	while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
		len--;
	if (!mime_header_parse_name(raw, len, &name_start, &name_len, &colon)) {
		part->flags |= MIME_PART_FLAG_BAD_HEADER_LINE;
		return;
	}
	if (memchr(raw, '\0', len) == NULL) {
		for (size_t i = 0; i < len; i++) {
			if (raw[i] >= 0x80) {
				part->flags |= MIME_PART_FLAG_8BIT_HEADER;
				break;
			}
		}
	}
	/* decide before allocating: dropped fields must cost nothing */
	char shortname[32];
	bool essential = false;
	if (name_len < sizeof(shortname)) {
		memcpy(shortname, raw + name_start, name_len);
		shortname[name_len] = '\0';
		essential = mime_header_is_essential(shortname);
	}
	size_t lim = p->limits.max_header_size;
	bool fits = f->header_kept + len <= lim ||
		(essential && f->header_kept + len <= 2 * lim);
	if (!fits || p->headers_total + len > p->limits.max_headers_total) {
		part->flags |= MIME_PART_FLAG_HEADER_TRUNCATED;
		return;
	}
	char *name = pool_strndup(p->pool, (const char *)raw + name_start, name_len);
	f->header_kept += len;
	p->headers_total += len;
	if (part->fields_count == f->fields_cap) {
		unsigned int ncap = f->fields_cap == 0 ? 8 : f->fields_cap * 2;
		part->fields = pool_realloc(p->pool, part->fields,
					    sizeof(*part->fields) * f->fields_cap,
					    sizeof(*part->fields) * ncap);
		f->fields_cap = ncap;
	}
	struct mime_field *fld = &part->fields[part->fields_count++];
	fld->name = name;
	fld->value = pool_strndup(p->pool, (const char *)raw + colon + 1,
				  len - colon - 1);
	fld->value_len = len - colon - 1;
	fld->offset = p->field_offset;
	fld->size = p->field_size;
}

static void field_finish(struct mime_parser *p, struct mime_frame *f)
{
	if (!p->field_active)
		return;
	field_store(p, f);
	p->field_active = false;
	buf_reset(&p->field);
}

static void field_append(struct mime_parser *p, const void *data, size_t len,
			 uint64_t real_len)
{
	size_t max = 2 * p->limits.max_header_size;

	p->field_size += real_len;
	if (p->field_truncated)
		return;
	if (len < real_len || p->field.len + len > max) {
		p->field_truncated = true;
		return;
	}
	buf_append(&p->field, data, len);
}

/* A header line is complete in p->hline.  Returns true when the header
   ended at this line in STARTS_BODY mode (the line is body). */
static bool header_line(struct mime_parser *p, struct mime_frame *f,
			unsigned int eol)
{
	const unsigned char *line = (const unsigned char *)p->hline.data;
	size_t len = p->hline.len;
	bool cont = len > 0 && (line[0] == ' ' || line[0] == '\t') &&
		(f->part->fields_count > 0 || p->field_active ||
		 p->line_start.offset > f->header_start.offset);

	if (cont && p->field_active) {
		field_append(p, line, len, p->hline_len);
		return false;
	}
	field_finish(p, f);
	if (cont) {
		/* continuation of a skipped (invalid) line */
		return false;
	}
	if ((p->flags & MIME_PARSER_FLAG_MALFORMED_HEADER_STARTS_BODY) != 0) {
		size_t a, b, c;
		size_t chk = len - (len >= eol ? eol : 0);
		if (!mime_header_parse_name(line, chk, &a, &b, &c))
			return true;
	}
	p->field_active = true;
	p->field_truncated = false;
	p->field_offset = p->line_start.offset;
	p->field_size = 0;
	field_append(p, line, len, p->hline_len);
	return false;
}

/*
 * Entering bodies
 */

static bool is_message_type(const struct mime_part *part)
{
	return strcmp(part->type, "message") == 0 &&
		(strcmp(part->subtype, "rfc822") == 0 ||
		 strcmp(part->subtype, "global") == 0);
}

static bool parent_is_digest(const struct mime_parser *p,
			     const struct mime_frame *f)
{
	return f > p->frames && f[-1].digest &&
		f[-1].part == f->part->parent;
}

static void header_done(struct mime_parser *p, struct mime_frame *f)
{
	field_finish(p, f);
	mime_part_init_content(p->pool, f->part, parent_is_digest(p, f));
}

/* The header of the top frame ended; the body starts at p->pos (or at
   the current line start in STARTS_BODY mode, given as body). */
static void body_start(struct mime_parser *p, const struct mime_pos *body)
{
	struct mime_frame *f = top(p);
	struct mime_part *part = f->part;

	header_done(p, f);
	part->header_size = body->offset - part->header_offset;
	part->body_offset = body->offset;
	f->body_start = *body;
	f->state = FRAME_BODY;

	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0) {
		if (part->depth >= p->limits.max_depth) {
			part->flags |= MIME_PART_FLAG_LIMIT_DEPTH;
			part->flags &= ~MIME_PART_FLAG_MULTIPART;
			return;
		}
		f->state = FRAME_PREAMBLE;
		f->boundary_len = strlen(part->boundary);
		f->digest = strcmp(part->subtype, "digest") == 0;
		update_prefix_need(p);
		return;
	}
	if (!is_message_type(part) ||
	    (part->encoding != MIME_ENCODING_7BIT &&
	     part->encoding != MIME_ENCODING_8BIT &&
	     part->encoding != MIME_ENCODING_BINARY))
		return;
	if (part->depth >= p->limits.max_depth) {
		part->flags |= MIME_PART_FLAG_LIMIT_DEPTH;
		return;
	}
	if (p->part_count >= p->limits.max_parts) {
		part->flags |= MIME_PART_FLAG_LIMIT_PARTS;
		return;
	}
	part->flags |= MIME_PART_FLAG_RFC822;
	struct mime_part *child = part_new(p, part, &f->last_child);
	struct mime_frame *cf = frame_push(p, child);
	cf->header_start = *body;
	child->header_offset = body->offset;
}

/*
 * Closing entities
 */

static void set_sizes(struct mime_part *part, const struct mime_frame *f,
		      const struct mime_pos *end)
{
	part->body_size = end->offset - part->body_offset;
	part->body_lines = end->lf - f->body_start.lf;
	part->body_vsize = part->body_size + (end->bare_lf - f->body_start.bare_lf);
	part->header_vsize = part->header_size +
		(f->body_start.bare_lf - f->header_start.bare_lf);
}

static void frame_close(struct mime_parser *p, struct mime_frame *f,
			const struct mime_pos *endp)
{
	struct mime_part *part = f->part;
	struct mime_pos end = *endp;

	/* An entity that starts right at the delimiter line (after a
	   blank line or a delimiter) gives its start back: the line break
	   before the delimiter is the delimiter's. */
	if (end.offset < f->header_start.offset) {
		f->header_start = end;
		part->header_offset = end.offset;
	}
	if (f->state == FRAME_HEADER) {
		/* the line break before a delimiter is not the field's */
		if (p->field_active && p->field_offset + p->field_size > end.offset)
			p->field_size = end.offset - p->field_offset;
		header_done(p, f);
		part->flags |= MIME_PART_FLAG_HEADER_UNTERMINATED;
		/* A multipart or message/rfc822 without a body is a leaf */
		part->flags &= ~MIME_PART_FLAG_MULTIPART;
		part->header_size = end.offset - part->header_offset;
		part->body_offset = end.offset;
		f->body_start = end;
	} else if (end.offset < f->body_start.offset) {
		/* the blank line ending the header was the delimiter's */
		part->flags |= MIME_PART_FLAG_HEADER_UNTERMINATED;
		part->header_size = end.offset - part->header_offset;
		part->body_offset = end.offset;
		f->body_start = end;
	}
	switch (f->state) {
	case FRAME_PREAMBLE:
		part->preamble_size = end.offset - part->body_offset;
		part->epilogue_offset = end.offset;
		part->flags |= MIME_PART_FLAG_NO_CLOSE;
		break;
	case FRAME_CHILDREN:
		part->epilogue_offset = end.offset;
		part->flags |= MIME_PART_FLAG_NO_CLOSE;
		break;
	case FRAME_EPILOGUE:
		if (part->epilogue_offset > end.offset)
			part->epilogue_offset = end.offset;
		part->epilogue_size = end.offset - part->epilogue_offset;
		break;
	default:
		break;
	}
	set_sizes(part, f, &end);
}

/* Closes frames above index k at the end of the line before the current
   one.  An entity cannot end before it starts, nor after its parent
   ends, so each frame ends at max(end, min(its start, parent's end)):
   one that starts on the delimiter line itself gives its start back. */
static void close_above(struct mime_parser *p, unsigned int k)
{
	struct mime_pos end = end_before_line(p, &p->frames[0].header_start);
	struct mime_pos parent_end = { UINT64_MAX, UINT64_MAX, UINT64_MAX };

	for (unsigned int i = k + 1; i < p->nframes; i++) {
		struct mime_frame *f = &p->frames[i];
		struct mime_pos e = f->header_start;
		if (parent_end.offset < e.offset)
			e = parent_end;
		if (e.offset < end.offset)
			e = end;
		f->close_end = e;
		parent_end = e;
	}
	while (p->nframes > k + 1) {
		struct mime_frame *f = top(p);
		struct mime_pos e = f->close_end;
		frame_close(p, f, &e);
		p->nframes--;
	}
	update_prefix_need(p);
}

/*
 * Delimiter lines
 */

/* Which open multipart's delimiter the line prefix is, or -1. */
static int delim_match(const struct mime_parser *p, const unsigned char *s,
		       size_t n, bool *close_r)
{
	int best = -1;
	size_t best_len = 0;

	if (n < 2 || s[0] != '-' || s[1] != '-')
		return -1;
	for (unsigned int i = p->nframes; i-- > 0;) {
		const struct mime_frame *f = &p->frames[i];
		size_t bl = f->boundary_len;
		if (bl == 0 || n - 2 < bl || bl <= best_len ||
		    memcmp(s + 2, f->part->boundary, bl) != 0)
			continue;
		const unsigned char *r = s + 2 + bl;
		size_t rn = n - 2 - bl;
		bool close = rn >= 2 && r[0] == '-' && r[1] == '-';
		if (!close && rn > 0 && r[0] != ' ' && r[0] != '\t' &&
		    r[0] != '\r' && r[0] != '\n')
			continue;
		best = (int)i;
		best_len = bl;
		*close_r = close;
	}
	return best;
}

static void delim_begin(struct mime_parser *p, unsigned int k, bool close)
{
	struct mime_frame *f;

	close_above(p, k);
	f = &p->frames[k];
	if (f->state == FRAME_PREAMBLE) {
		struct mime_pos end = end_before_line(p, &f->body_start);
		f->part->preamble_size = end.offset - f->part->body_offset;
	}
	f->state = FRAME_CHILDREN;
	p->delim_frame = k;
	p->delim_close = close;
	p->delim_line = p->line_start.offset;
	p->line_kind = LINE_DELIM;
}

/* The delimiter line ended (p->pos is the start of the next line). */
static void delim_end(struct mime_parser *p)
{
	struct mime_frame *f = &p->frames[p->delim_frame];
	bool close = p->delim_close;

	if (!close && p->part_count >= p->limits.max_parts) {
		/* Everything from here on is this multipart's epilogue */
		f->part->flags |= MIME_PART_FLAG_LIMIT_PARTS;
		p->frozen = true;
		close = true;
	}
	if (close) {
		f->state = FRAME_EPILOGUE;
		f->boundary_len = 0;
		f->epilogue_start = p->pos;
		f->part->epilogue_offset = p->pos.offset;
		update_prefix_need(p);
		return;
	}
	struct mime_part *child = part_new(p, f->part, &f->last_child);
	child->delim_offset = p->delim_line;
	frame_push(p, child);
}

/*
 * Lines
 */

static void header_bytes(struct mime_parser *p, const void *data, size_t n);

static void line_classify(struct mime_parser *p)
{
	const unsigned char *s = (const unsigned char *)p->prefix.data;
	size_t n = p->prefix.len;
	bool close = false;
	int k;

	k = p->prefix_need == 0 ? -1 : delim_match(p, s, n, &close);
	if (k >= 0) {
		delim_begin(p, (unsigned int)k, close);
		return;
	}
	p->line_kind = LINE_NORMAL;
	if (top(p)->state == FRAME_HEADER && n > 0)
		header_bytes(p, s, n);
}

static bool prefix_decidable(const struct mime_parser *p)
{
	const char *s = p->prefix.data;
	size_t n = p->prefix.len;

	if (p->prefix_need == 0)
		return true;
	if (n >= 1 && s[0] != '-')
		return true;
	if (n >= 2 && s[1] != '-')
		return true;
	return n >= p->prefix_need;
}

static void header_bytes(struct mime_parser *p, const void *data, size_t n)
{
	size_t room = 2 * p->limits.max_header_size + 2;

	p->hline_len += n;
	if (p->hline.len < room)
		buf_append(&p->hline, data, MIN(n, room - p->hline.len));
}

/* Consumes bytes of an undecided line into the prefix.  Returns how many
   were used. */
static size_t feed_prefix(struct mime_parser *p, const unsigned char *data,
			  size_t size)
{
	size_t n = 0;
	bool lf = false;

	while (n < size && !prefix_decidable(p)) {
		buf_append_c(&p->prefix, (char)data[n]);
		if (data[n++] == '\n') {
			lf = true;
			break;
		}
	}
	count_bytes(p, data, n);
	if (lf || prefix_decidable(p)) {
		line_classify(p);
		if (lf)
			parser_line_end(p, p->last_lf_crlf ? 2 : 1);
	}
	return n;
}

static void line_reset(struct mime_parser *p, unsigned int eol)
{
	p->prev_eol = eol;
	p->line_start = p->pos;
	p->line_kind = LINE_UNDECIDED;
	buf_reset(&p->prefix);
	buf_reset(&p->hline);
	p->hline_len = 0;
}

static void header_line_end(struct mime_parser *p, unsigned int eol)
{
	struct mime_frame *f = top(p);

	if (p->hline_len == eol && eol > 0) {
		/* the blank line */
		struct mime_pos body = p->pos;
		line_reset(p, eol);
		body_start(p, &body);
		return;
	}
	if (!header_line(p, f, eol)) {
		line_reset(p, eol);
		return;
	}
	/* STARTS_BODY: this line is the first line of the body */
	struct mime_pos body = p->line_start;
	f->part->flags |= MIME_PART_FLAG_HEADER_UNTERMINATED;
	body_start(p, &body);
	if (top(p)->state == FRAME_HEADER) {
		/* a message/rfc822 child: the line is its first header line */
		header_line_end(p, eol);
		return;
	}
	line_reset(p, eol);
}

static void parser_line_end(struct mime_parser *p, unsigned int eol)
{
	if (p->line_kind == LINE_DELIM) {
		line_reset(p, eol);
		delim_end(p);
		return;
	}
	if (top(p)->state == FRAME_HEADER) {
		header_line_end(p, eol);
		return;
	}
	line_reset(p, eol);
}

void mime_parser_feed(struct mime_parser *p, const void *data, size_t size)
{
	const unsigned char *s = data;

	if (p->finished)
		return;
	while (size > 0) {
		size_t n;
		if (p->line_kind == LINE_UNDECIDED) {
			n = feed_prefix(p, s, size);
			s += n;
			size -= n;
			continue;
		}
		const unsigned char *lf = memchr(s, '\n', size);
		n = lf == NULL ? size : (size_t)(lf - s) + 1;
		if (p->line_kind == LINE_NORMAL && top(p)->state == FRAME_HEADER)
			header_bytes(p, s, n);
		count_bytes(p, s, n);
		s += n;
		size -= n;
		if (lf != NULL)
			parser_line_end(p, p->last_lf_crlf ? 2 : 1);
	}
}

struct mime_part *mime_parser_finish(struct mime_parser *p)
{
	if (p->finished)
		return p->root;
	/* A last line without a line break */
	if (p->line_kind == LINE_UNDECIDED && p->prefix.len > 0)
		line_classify(p);
	if (p->pos.offset > p->line_start.offset ||
	    p->line_kind == LINE_DELIM) {
		if (p->line_kind == LINE_DELIM) {
			line_reset(p, 0);
			delim_end(p);
		} else if (top(p)->state == FRAME_HEADER) {
			struct mime_frame *f = top(p);
			if (header_line(p, f, 0)) {
				struct mime_pos body = p->line_start;
				f->part->flags |= MIME_PART_FLAG_HEADER_UNTERMINATED;
				body_start(p, &body);
				if (top(p)->state == FRAME_HEADER)
					(void)header_line(p, top(p), 0);
			}
		}
	}
	p->finished = true;
	while (p->nframes > 0) {
		struct mime_pos end = p->pos;
		frame_close(p, top(p), &end);
		p->nframes--;
	}
	return p->root;
}

struct mime_part *mime_parse(struct pool *pool, const void *msg, size_t size,
			     const struct mime_parser_settings *set)
{
	struct mime_parser *p = mime_parser_create(pool, set);
	mime_parser_feed(p, msg, size);
	struct mime_part *root = mime_parser_finish(p);
	mime_parser_destroy(&p);
	return root;
}
