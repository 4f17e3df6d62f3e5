/* POP3 command lines: the pipelining reader, the verb table and the
 * argument parser.  See pop3-proto.h. */

#include "pop3-proto.h"
#include "lib/buf.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static const struct {
	const char *name, *text;
} errors[POP3_ERROR_COUNT] = {
	[POP3_ERROR_NONE] = { "none", "OK" },
	[POP3_ERROR_LINE_TOO_LONG] = { "line_too_long", "Command line too long" },
	[POP3_ERROR_CONTROL] = { "control", "Control characters in the command line" },
	[POP3_ERROR_EMPTY] = { "empty", "Empty command" },
	[POP3_ERROR_UNKNOWN] = { "unknown", "Unknown command" },
	[POP3_ERROR_ARGS_MISSING] = { "args_missing", "Missing argument" },
	[POP3_ERROR_ARGS_EXTRA] = { "args_extra", "Too many arguments" },
	[POP3_ERROR_NUMBER] = { "number", "Invalid number" },
};

const char *pop3_error_text(enum pop3_error err)
{
	return (unsigned)err < POP3_ERROR_COUNT ? errors[err].text : "Error";
}

const char *pop3_error_name(enum pop3_error err)
{
	return (unsigned)err < POP3_ERROR_COUNT ? errors[err].name : "?";
}

/* ------------------------------------------------------------------ */
/* Verbs                                                               */

enum arg_shape {
	ARGS_NONE,      /* STAT */
	ARGS_MSG_OPT,   /* LIST [msg] */
	ARGS_MSG,       /* RETR msg */
	ARGS_MSG_LINES, /* TOP msg n */
	ARGS_WORD,      /* USER name */
	ARGS_REST,      /* PASS rest-of-line */
	ARGS_TWO,       /* APOP name digest */
	ARGS_AUTH,      /* AUTH [mech [initial]] */
};

static const struct verb_info {
	const char *name;
	enum arg_shape shape;
} verbs[POP3_VERB_COUNT] = {
	[POP3_VERB_UNKNOWN] = { "", ARGS_NONE },
	[POP3_VERB_USER] = { "USER", ARGS_WORD },
	[POP3_VERB_PASS] = { "PASS", ARGS_REST },
	[POP3_VERB_APOP] = { "APOP", ARGS_TWO },
	[POP3_VERB_AUTH] = { "AUTH", ARGS_AUTH },
	[POP3_VERB_STLS] = { "STLS", ARGS_NONE },
	[POP3_VERB_CAPA] = { "CAPA", ARGS_NONE },
	[POP3_VERB_STAT] = { "STAT", ARGS_NONE },
	[POP3_VERB_LIST] = { "LIST", ARGS_MSG_OPT },
	[POP3_VERB_RETR] = { "RETR", ARGS_MSG },
	[POP3_VERB_DELE] = { "DELE", ARGS_MSG },
	[POP3_VERB_NOOP] = { "NOOP", ARGS_NONE },
	[POP3_VERB_RSET] = { "RSET", ARGS_NONE },
	[POP3_VERB_QUIT] = { "QUIT", ARGS_NONE },
	[POP3_VERB_TOP] = { "TOP", ARGS_MSG_LINES },
	[POP3_VERB_UIDL] = { "UIDL", ARGS_MSG_OPT },
};

const char *pop3_verb_name(enum pop3_verb verb)
{
	return (unsigned)verb < POP3_VERB_COUNT ? verbs[verb].name : "";
}

static enum pop3_verb verb_lookup(const unsigned char *kw, size_t len)
{
	if (len < 3 || len > 4)
		return POP3_VERB_UNKNOWN;
	for (unsigned v = 1; v < POP3_VERB_COUNT; v++) {
		if (strlen(verbs[v].name) == len && mem_eq_icase(verbs[v].name, kw, len))
			return (enum pop3_verb)v;
	}
	return POP3_VERB_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

struct words {
	const unsigned char *w[3];
	size_t len[3];
	size_t n;
	bool more; /* a fourth word */
};

/* Splits on runs of spaces (a tab is not a separator: RFC 1939 says
 * SPACE, and a tab inside a name is the directory's to refuse). */
static void split(const unsigned char *p, size_t len, struct words *w)
{
	size_t i = 0;
	w->n = 0;
	w->more = false;
	for (;;) {
		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			return;
		if (w->n == 3) {
			w->more = true;
			return;
		}
		size_t start = i;
		while (i < len && p[i] != ' ')
			i++;
		w->w[w->n] = p + start;
		w->len[w->n] = i - start;
		w->n++;
	}
}

static int number(const unsigned char *p, size_t len, uint64_t *r)
{
	/* digits only: num_parse refuses signs and blanks, and overflow */
	return num_parse_u64n((const char *)p, len, r);
}

static int fail(enum pop3_error *err_r, enum pop3_error e)
{
	*err_r = e;
	return -1;
}

int pop3_command_parse(struct pool *pool, const unsigned char *line, size_t len,
		       struct pop3_command *cmd_r, enum pop3_error *err_r)
{
	memset(cmd_r, 0, sizeof(*cmd_r));
	*err_r = POP3_ERROR_NONE;
	for (size_t i = 0; i < len; i++) {
		if ((line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
			return fail(err_r, POP3_ERROR_CONTROL);
	}
	size_t kw = 0;
	while (kw < len && line[kw] != ' ')
		kw++;
	if (kw == 0)
		return fail(err_r, len == 0 ? POP3_ERROR_EMPTY : POP3_ERROR_UNKNOWN);
	cmd_r->verb = verb_lookup(line, kw);
	if (cmd_r->verb == POP3_VERB_UNKNOWN)
		return fail(err_r, POP3_ERROR_UNKNOWN);
	const unsigned char *rest = line + kw;
	size_t rlen = len - kw;

	if (verbs[cmd_r->verb].shape == ARGS_REST) {
		/* "PASS secret with spaces": one space, then all of it */
		if (rlen < 2)
			return fail(err_r, POP3_ERROR_ARGS_MISSING);
		cmd_r->arg = pool_strndup(pool, (const char *)rest + 1, rlen - 1);
		return 0;
	}
	struct words w;
	split(rest, rlen, &w);
	size_t min = 0, max = 0;
	switch (verbs[cmd_r->verb].shape) {
	case ARGS_NONE: break;
	case ARGS_MSG_OPT: max = 1; break;
	case ARGS_MSG: min = max = 1; break;
	case ARGS_MSG_LINES: min = max = 2; break;
	case ARGS_WORD: min = max = 1; break;
	case ARGS_TWO: min = max = 2; break;
	case ARGS_AUTH: max = 2; break;
	case ARGS_REST: break;
	}
	if (w.n < min)
		return fail(err_r, POP3_ERROR_ARGS_MISSING);
	if (w.n > max || w.more)
		return fail(err_r, POP3_ERROR_ARGS_EXTRA);
	switch (verbs[cmd_r->verb].shape) {
	case ARGS_MSG_OPT:
	case ARGS_MSG:
	case ARGS_MSG_LINES:
		if (w.n >= 1) {
			if (number(w.w[0], w.len[0], &cmd_r->msg) < 0)
				return fail(err_r, POP3_ERROR_NUMBER);
			cmd_r->has_msg = true;
		}
		if (w.n == 2 && number(w.w[1], w.len[1], &cmd_r->lines) < 0)
			return fail(err_r, POP3_ERROR_NUMBER);
		break;
	case ARGS_WORD:
	case ARGS_TWO:
	case ARGS_AUTH:
		if (w.n >= 1)
			cmd_r->arg = pool_strndup(pool, (const char *)w.w[0], w.len[0]);
		if (w.n >= 2)
			cmd_r->arg2 = pool_strndup(pool, (const char *)w.w[1], w.len[1]);
		break;
	default:
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The line reader                                                     */

struct pop3_line_reader {
	struct buf line;
	size_t max_line;
	bool skipping; /* discarding the rest of an overlong line */
};

struct pop3_line_reader *pop3_line_reader_create(struct pool *pool, size_t max_line)
{
	struct pop3_line_reader *r = POOL_NEW(pool, struct pop3_line_reader);
	buf_init_pool(&r->line, pool, 0);
	r->max_line = max_line > 2 ? max_line : 2;
	return r;
}

int pop3_line_reader_read(struct pop3_line_reader *r, const void *data, size_t len,
			  size_t *consumed_r, const unsigned char **line_r, size_t *len_r,
			  enum pop3_error *err_r)
{
	const unsigned char *p = data, *lf;
	size_t pos = 0;

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
	size_t take = lf != NULL ? (size_t)(lf - (p + pos)) + 1 : len - pos;
	*consumed_r = pos + take;
	if (r->line.len + take > r->max_line) {
		/* refused as soon as the limit is passed, whatever follows */
		r->skipping = lf == NULL;
		buf_reset(&r->line);
		*err_r = POP3_ERROR_LINE_TOO_LONG;
		return -1;
	}
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
		r->line.len = 0; /* the bytes stay valid until the next call */
	}
	if (line_len > 0 && line[line_len - 1] == '\r')
		line_len--;
	*line_r = line;
	*len_r = line_len;
	return 1;
}

bool pop3_line_reader_pending(const struct pop3_line_reader *r)
{
	return r->line.len > 0 || r->skipping;
}

void pop3_line_reader_reset(struct pop3_line_reader *r)
{
	buf_reset(&r->line);
	r->skipping = false;
}

/* ------------------------------------------------------------------ */
/* Unique ids                                                          */

bool pop3_uidl_valid(const char *s, size_t len)
{
	if (len == 0 || len > POP3_UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	}
	return true;
}
