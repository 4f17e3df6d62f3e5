/*
 * The IMAP command parser: a byte-driven state machine (nginx's
 * ngx_mail_parse.c, Dovecot's imap-parser.c).  Every state survives the
 * end of the input, so the server can feed whatever the socket gave it,
 * down to one byte at a time.  Arguments are built in the command's pool.
 *
 * Leniency, on purpose: a bare LF ends a line, several spaces separate
 * arguments as one does, and an atom may hold a bracketed part with
 * spaces and parentheses ("BODY[HEADER.FIELDS (From To)]<0.100>"), as
 * FETCH needs.  An unmatched "[" simply runs to the end of the line.
 */

#include "imap-proto.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

enum state {
	ST_TAG,
	ST_NAME,
	ST_ARGS,      /* between arguments */
	ST_ATOM,
	ST_TILDE,     /* "~": literal8 or an atom */
	ST_QUOTED,
	ST_QUOTED_ESC,
	ST_LIT_SIZE,  /* inside {...} */
	ST_LIT_CLOSE, /* after '}', before the line break */
	ST_LIT_LF,    /* after the CR of the literal's line break */
	ST_LIT_WAIT,  /* announced; waiting for accept/refuse */
	ST_LIT_DATA,
	ST_EOL_LF,    /* after the CR ending the command */
	ST_SKIP,      /* after an error: to the end of the command */
	ST_SKIP_LIT,  /* dropping a non-synchronising literal while skipping */
	ST_DONE,
	ST_ERROR,
};

struct frame {
	struct imap_arg *items;
	unsigned int n, cap;
};

/* Literal detection while skipping: "{digits[+]}" right before a line
 * break. */
enum skip_lit {
	SK_NONE,
	SK_OPEN,    /* saw '{' and maybe digits */
	SK_PLUS,    /* saw '+' */
	SK_CLOSED,  /* saw '}' */
};

struct imap_parser {
	struct pool *pool;
	struct imap_parser_settings set;
	enum state state;
	struct buf tok;
	size_t line_len;
	unsigned int depth, bracket, n_args;
	struct frame *stack;
	/* literal */
	uint64_t lit_size, lit_left;
	bool lit_sync, lit_plus, lit8, lit_digits;
	char *lit_data;
	/* results */
	struct imap_command cmd;
	const char *error;
	bool fatal, started, ended_cr;
	/* skipping */
	enum skip_lit sk;
	uint64_t sk_size;
	bool sk_digits;
};

struct imap_parser *imap_parser_create(struct pool *pool, const struct imap_parser_settings *set)
{
	struct imap_parser *p = pool_alloc(pool, sizeof(*p));
	p->pool = pool;
	p->set = *set;
	if (p->set.max_line == 0)
		p->set.max_line = 65536;
	if (p->set.max_depth == 0)
		p->set.max_depth = 16;
	if (p->set.max_args == 0)
		p->set.max_args = 100000;
	imap_parser_reset(p);
	return p;
}

void imap_parser_reset(struct imap_parser *p)
{
	p->state = ST_TAG;
	buf_init_pool(&p->tok, p->pool, 0);
	p->line_len = 0;
	p->depth = p->bracket = p->n_args = 0;
	p->stack = pool_alloc(p->pool, sizeof(struct frame) * (p->set.max_depth + 1));
	p->lit_data = NULL;
	p->lit_size = p->lit_left = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
	p->error = NULL;
	p->fatal = p->started = false;
	p->sk = SK_NONE;
}

/* --- helpers --- */

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool is_atom_char(unsigned char c)
{
	/* lenient: 8-bit and the list wildcards and "]" are fine here */
	return !is_ctl(c) && c != ' ' && c != '(' && c != ')' && c != '"' && c != '{';
}

static bool is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' &&
	       c != '*' && c != '"' && c != '\\' && c != '+';
}

static void fail(struct imap_parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	p->state = ST_SKIP;
	p->sk = SK_NONE;
}

static void fail_now(struct imap_parser *p, const char *error, bool fatal)
{
	if (p->error == NULL)
		p->error = error;
	p->fatal = p->fatal || fatal;
	p->state = ST_ERROR;
}

static void add_arg(struct imap_parser *p, enum imap_arg_type type, const char *s, size_t len,
		    bool lit8)
{
	if (++p->n_args > p->set.max_args) {
		fail(p, "Too many arguments");
		return;
	}
	struct frame *f = &p->stack[p->depth];
	if (f->n == f->cap) {
		unsigned int ncap = f->cap ? f->cap * 2 : 8;
		f->items = pool_realloc(p->pool, f->items, f->cap * sizeof(*f->items),
					ncap * sizeof(*f->items));
		f->cap = ncap;
	}
	struct imap_arg *a = &f->items[f->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->literal8 = lit8;
	a->str = s;
	a->len = len;
}

static void finish_token(struct imap_parser *p, enum imap_arg_type type)
{
	char *s = pool_strndup(p->pool, p->tok.data != NULL ? p->tok.data : "", p->tok.len);
	add_arg(p, type, s, p->tok.len, false);
	buf_reset(&p->tok);
}

static void tok_add(struct imap_parser *p, unsigned char c)
{
	buf_append_c(&p->tok, (char)c);
}

/* The line (or the part after a literal) ended: a complete command when
 * no list is open. */
static void end_of_line(struct imap_parser *p)
{
	if (p->depth > 0) {
		fail_now(p, "Missing ')'", false);
		return;
	}
	struct frame *f = &p->stack[0];
	p->cmd.args = f->items;
	p->cmd.count = f->n;
	p->state = ST_DONE;
}

static void open_list(struct imap_parser *p)
{
	if (p->depth >= p->set.max_depth) {
		fail(p, "Too deep nesting of parentheses");
		return;
	}
	add_arg(p, IMAP_ARG_LIST, NULL, 0, false);
	if (p->state == ST_SKIP)
		return;
	p->depth++;
	memset(&p->stack[p->depth], 0, sizeof(struct frame));
}

static void close_list(struct imap_parser *p)
{
	if (p->depth == 0) {
		fail(p, "Unexpected ')'");
		return;
	}
	struct frame *f = &p->stack[p->depth];
	p->depth--;
	struct frame *parent = &p->stack[p->depth];
	struct imap_arg *a = &parent->items[parent->n - 1];
	a->list = f->items;
	a->count = f->n;
}

static void upcase_name(struct imap_parser *p)
{
	char *s = pool_strndup(p->pool, p->tok.data, p->tok.len);
	str_ucase(s);
	p->cmd.name = s;
	buf_reset(&p->tok);
}

/* --- skipping after an error --- */

static void skip_byte(struct imap_parser *p, unsigned char c)
{
	if (c == '\n') {
		if (p->sk == SK_CLOSED && p->sk_digits) {
			if (p->lit_plus) {
				p->lit_left = p->sk_size;
				p->line_len = 0;
				p->sk = SK_NONE;
				p->state = p->lit_left > 0 ? ST_SKIP_LIT : ST_SKIP;
				return;
			}
			/* a synchronising literal: the client waits for us */
		}
		p->state = ST_ERROR;
		return;
	}
	if (c == '\r' && p->sk == SK_CLOSED)
		return;
	switch (p->sk) {
	case SK_NONE:
		break;
	case SK_OPEN:
		if (c >= '0' && c <= '9' && p->sk_size < 1000000000000ull) {
			p->sk_size = p->sk_size * 10 + (c - '0');
			p->sk_digits = true;
			return;
		}
		if (c == '+') {
			p->sk = SK_PLUS;
			return;
		}
		if (c == '}') {
			p->sk = SK_CLOSED;
			p->lit_plus = false;
			return;
		}
		break;
	case SK_PLUS:
		if (c == '}') {
			p->sk = SK_CLOSED;
			p->lit_plus = true;
			return;
		}
		break;
	case SK_CLOSED:
		break;
	}
	p->sk = SK_NONE;
	if (c == '{') {
		p->sk = SK_OPEN;
		p->sk_size = 0;
		p->sk_digits = false;
	}
}

/* --- the machine --- */

static void lit_start(struct imap_parser *p, bool lit8)
{
	p->lit8 = lit8;
	p->lit_size = 0;
	p->lit_plus = false;
	p->lit_digits = false;
	p->state = ST_LIT_SIZE;
}

static void args_byte(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		return;
	case '\r':
		p->ended_cr = true;
		p->state = ST_EOL_LF;
		return;
	case '\n':
		end_of_line(p);
		return;
	case '(':
		open_list(p);
		return;
	case ')':
		close_list(p);
		return;
	case '"':
		buf_reset(&p->tok);
		p->state = ST_QUOTED;
		return;
	case '{':
		lit_start(p, false);
		return;
	case '~':
		p->state = ST_TILDE;
		return;
	default:
		if (!is_atom_char(c)) {
			fail(p, "Invalid characters in atom");
			return;
		}
		buf_reset(&p->tok);
		p->bracket = 0;
		p->state = ST_ATOM;
		tok_add(p, c);
		if (c == '[')
			p->bracket++;
		return;
	}
}

static void atom_byte(struct imap_parser *p, unsigned char c)
{
	if (c == '\r' || c == '\n') {
		finish_token(p, IMAP_ARG_ATOM);
		if (p->state == ST_ATOM) {
			p->state = ST_ARGS;
			args_byte(p, c);
		}
		return;
	}
	if (p->bracket > 0) {
		if (is_ctl(c)) {
			fail(p, "Invalid characters in atom");
			return;
		}
		if (c == '[')
			p->bracket++;
		else if (c == ']')
			p->bracket--;
		tok_add(p, c);
		return;
	}
	if (c == ' ' || c == '(' || c == ')') {
		finish_token(p, IMAP_ARG_ATOM);
		if (p->state == ST_ATOM) {
			p->state = ST_ARGS;
			args_byte(p, c);
		}
		return;
	}
	if (!is_atom_char(c) && c != '{') {
		fail(p, "Invalid characters in atom");
		return;
	}
	if (c == '[')
		p->bracket++;
	tok_add(p, c);
}

static void lit_size_byte(struct imap_parser *p, unsigned char c)
{
	if (c >= '0' && c <= '9' && !p->lit_plus) {
		if (p->lit_size > (UINT64_MAX - 9) / 10) {
			fail(p, "Literal size too large");
			return;
		}
		p->lit_size = p->lit_size * 10 + (c - '0');
		p->lit_digits = true;
		return;
	}
	if (c == '+' && p->lit_digits && !p->lit_plus) {
		p->lit_plus = true;
		return;
	}
	if (c == '}' && p->lit_digits) {
		p->state = ST_LIT_CLOSE;
		return;
	}
	fail(p, "Invalid literal size");
}

static void literal_announced(struct imap_parser *p)
{
	p->lit_sync = !p->lit_plus;
	p->line_len = 0;
	p->state = ST_LIT_WAIT;
}

static enum state step(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case ST_TAG:
		if (c == ' ' && p->tok.len > 0) {
			p->cmd.tag = pool_strndup(p->pool, p->tok.data, p->tok.len);
			buf_reset(&p->tok);
			p->state = ST_NAME;
		} else if (c == '\r' || c == '\n') {
			if (p->tok.len > 0)
				p->cmd.tag = pool_strndup(p->pool, p->tok.data, p->tok.len);
			fail_now(p, p->tok.len > 0 ? "Missing command" : "Empty command line", false);
			p->ended_cr = c == '\r';
			if (c == '\r')
				p->state = ST_SKIP;
		} else if (is_tag_char(c)) {
			tok_add(p, c);
		} else {
			fail(p, "Invalid tag");
		}
		break;
	case ST_NAME:
		if (c == ' ' || c == '\r' || c == '\n') {
			if (p->tok.len == 0) {
				if (c == ' ') {
					fail(p, "Missing command");
					break;
				}
				fail_now(p, "Missing command", false);
				if (c == '\r')
					p->state = ST_SKIP;
				break;
			}
			upcase_name(p);
			p->state = ST_ARGS;
			if (c != ' ')
				args_byte(p, c);
		} else if (is_atom_char(c) && c != '[' && c != ']' && c != '*' && c != '%') {
			tok_add(p, c);
		} else {
			fail(p, "Invalid command name");
		}
		break;
	case ST_ARGS:
		args_byte(p, c);
		break;
	case ST_ATOM:
		atom_byte(p, c);
		break;
	case ST_TILDE:
		if (c == '{') {
			lit_start(p, true);
		} else {
			buf_reset(&p->tok);
			tok_add(p, '~');
			p->bracket = 0;
			p->state = ST_ATOM;
			atom_byte(p, c);
		}
		break;
	case ST_QUOTED:
		if (c == '"') {
			finish_token(p, IMAP_ARG_STRING);
			if (p->state == ST_QUOTED)
				p->state = ST_ARGS;
		} else if (c == '\\') {
			p->state = ST_QUOTED_ESC;
		} else if (c == '\r' || c == '\n' || c == 0) {
			if (c == 0)
				fail(p, "NUL in quoted string");
			else {
				fail_now(p, "Missing '\"'", false);
				if (c == '\r')
					p->state = ST_SKIP;
			}
		} else {
			tok_add(p, c);
		}
		break;
	case ST_QUOTED_ESC:
		if (c == '"' || c == '\\') {
			tok_add(p, c);
			p->state = ST_QUOTED;
		} else if (c == '\r' || c == '\n') {
			fail_now(p, "Missing '\"'", false);
			if (c == '\r')
				p->state = ST_SKIP;
		} else {
			fail(p, "Invalid escape in quoted string");
		}
		break;
	case ST_LIT_SIZE:
		lit_size_byte(p, c);
		break;
	case ST_LIT_CLOSE:
		if (c == '\r')
			p->state = ST_LIT_LF;
		else if (c == '\n')
			literal_announced(p);
		else
			fail(p, "Missing line break after literal size");
		break;
	case ST_LIT_LF:
		if (c == '\n')
			literal_announced(p);
		else
			fail(p, "Missing line break after literal size");
		break;
	case ST_EOL_LF:
		if (c == '\n')
			end_of_line(p);
		else
			fail(p, "CR without LF");
		break;
	case ST_SKIP:
		skip_byte(p, c);
		break;
	case ST_LIT_WAIT:
	case ST_LIT_DATA:
	case ST_SKIP_LIT:
	case ST_DONE:
	case ST_ERROR:
		break;
	}
	return p->state;
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const void *data, size_t len,
					size_t *consumed_r)
{
	const unsigned char *d = data;
	size_t i = 0;
	enum imap_parse_result r = IMAP_PARSE_MORE;
	while (i < len) {
		if (p->state == ST_DONE || p->state == ST_ERROR || p->state == ST_LIT_WAIT)
			break;
		if (p->state == ST_LIT_DATA) {
			size_t n = (size_t)MIN((uint64_t)(len - i), p->lit_left);
			memcpy(p->lit_data + (p->lit_size - p->lit_left), d + i, n);
			p->lit_left -= n;
			i += n;
			if (p->lit_left == 0) {
				p->lit_data[p->lit_size] = '\0';
				p->state = ST_ARGS;
			}
			continue;
		}
		if (p->state == ST_SKIP_LIT) {
			size_t n = (size_t)MIN((uint64_t)(len - i), p->lit_left);
			p->lit_left -= n;
			i += n;
			if (p->lit_left == 0)
				p->state = ST_SKIP;
			continue;
		}
		unsigned char c = d[i++];
		p->started = true;
		if (c != '\n' && ++p->line_len > p->set.max_line) {
			fail_now(p, "Line too long", true);
			break;
		}
		step(p, c);
	}
	*consumed_r = i;
	switch (p->state) {
	case ST_DONE: r = IMAP_PARSE_DONE; break;
	case ST_ERROR: r = IMAP_PARSE_ERROR; break;
	case ST_LIT_WAIT: r = IMAP_PARSE_LITERAL; break;
	default: r = IMAP_PARSE_MORE; break;
	}
	return r;
}

void imap_parser_literal(const struct imap_parser *p, uint64_t *size_r, bool *sync_r,
			 bool *literal8_r)
{
	*size_r = p->lit_size;
	*sync_r = p->lit_sync;
	if (literal8_r != NULL)
		*literal8_r = p->lit8;
}

void imap_parser_literal_accept(struct imap_parser *p)
{
	if (p->state != ST_LIT_WAIT)
		return;
	p->lit_data = pool_alloc_nz(p->pool, (size_t)p->lit_size + 1);
	p->lit_left = p->lit_size;
	add_arg(p, IMAP_ARG_LITERAL, p->lit_data, (size_t)p->lit_size, p->lit8);
	if (p->state == ST_SKIP) {
		/* over max_args: the data comes anyway (the caller invited
		 * it); drop it */
		p->state = p->lit_left > 0 ? ST_SKIP_LIT : ST_SKIP;
		return;
	}
	p->state = p->lit_left > 0 ? ST_LIT_DATA : ST_ARGS;
	if (p->lit_left == 0)
		p->lit_data[0] = '\0';
}

void imap_parser_literal_refuse(struct imap_parser *p, const char *error)
{
	if (p->state != ST_LIT_WAIT)
		return;
	if (p->error == NULL)
		p->error = error;
	if (p->lit_sync) {
		p->state = ST_ERROR;
		return;
	}
	p->lit_left = p->lit_size;
	p->sk = SK_NONE;
	p->state = p->lit_left > 0 ? ST_SKIP_LIT : ST_SKIP;
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	return p->state == ST_DONE ? &p->cmd : NULL;
}

const char *imap_parser_error(const struct imap_parser *p, bool *fatal_r)
{
	if (fatal_r != NULL)
		*fatal_r = p->fatal;
	return p->error != NULL ? p->error : "Syntax error";
}

const char *imap_parser_tag(const struct imap_parser *p)
{
	return p->cmd.tag;
}

const char *imap_parser_name(const struct imap_parser *p)
{
	return p->cmd.name;
}

bool imap_parser_idle(const struct imap_parser *p)
{
	return !p->started;
}

/* --- arguments --- */

bool imap_arg_atom_is(const struct imap_arg *arg, const char *s)
{
	return arg != NULL && arg->type == IMAP_ARG_ATOM && str_eq_icase(arg->str, s);
}

bool imap_arg_is_nil(const struct imap_arg *arg)
{
	return imap_arg_atom_is(arg, "NIL");
}

bool imap_arg_astring(const struct imap_arg *arg, const char **s_r)
{
	if (arg == NULL || arg->type == IMAP_ARG_LIST)
		return false;
	*s_r = arg->str;
	return true;
}

bool imap_arg_string(const struct imap_arg *arg, const char **s_r)
{
	if (arg == NULL || (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL))
		return false;
	*s_r = arg->str;
	return true;
}

bool imap_arg_has_nul(const struct imap_arg *arg)
{
	return arg->type != IMAP_ARG_LIST && arg->str != NULL && memchr(arg->str, 0, arg->len) != NULL;
}

void imap_args_write(struct buf *out, const struct imap_arg *args, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		if (i > 0)
			buf_append_c(out, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
			buf_append(out, a->str, a->len);
			break;
		case IMAP_ARG_STRING:
			buf_append_c(out, '"');
			for (size_t k = 0; k < a->len; k++) {
				if (a->str[k] == '"' || a->str[k] == '\\')
					buf_append_c(out, '\\');
				buf_append_c(out, a->str[k]);
			}
			buf_append_c(out, '"');
			break;
		case IMAP_ARG_LITERAL:
			buf_printf(out, "%s{%zu}", a->literal8 ? "~" : "", a->len);
			break;
		case IMAP_ARG_LIST:
			buf_append_c(out, '(');
			imap_args_write(out, a->list, a->count);
			buf_append_c(out, ')');
			break;
		}
	}
}
