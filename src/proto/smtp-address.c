/*
 * SMTP paths and mailboxes: RFC 5321 section 4.1.2 with the RFC 6531
 * extension (UTF-8 in local parts and domains).  The parser is strict
 * about syntax and records everything unusual it accepted as a flag:
 * source routes, quoted local parts, '%' and '!' (the old relay
 * notations), literals, trailing dots.  The MX turns the flags into
 * policy; nothing here decides that an address is acceptable mail.
 */

#include "smtp-syntax-private.h"

#include "lib/buf.h"
#include "lib/cursor.h"
#include "lib/num.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <string.h>

#define SMTP_DOMAIN_MAX 255
#define SMTP_LABEL_MAX 63

struct address_parser {
	struct pool *pool;
	struct cursor cur;
	unsigned pflags;
	struct smtp_address *addr;
	const char *error;
};

/* ---- domains and literals ---- */

static int check_ipv4(const char *s, size_t len)
{
	unsigned parts = 0;
	size_t i = 0;

	while (parts < 4) {
		size_t start = i;
		uint64_t v;
		while (i < len && smtp_syntax_is_digit(s[i]))
			i++;
		if (i - start == 0 || i - start > 3 || num_parse_u64n(s + start, i - start, &v) < 0 ||
		    v > 255)
			return -1;
		parts++;
		if (parts < 4) {
			if (i >= len || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == len ? 0 : -1;
}

static int check_ipv6(const char *s, size_t len)
{
	char tmp[64];
	unsigned char addr[16];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!smtp_syntax_is_hex(s[i]) && s[i] != ':' && s[i] != '.')
			return -1;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, addr) == 1 ? 0 : -1;
}

/* General-address-literal: Standardized-tag ":" 1*dcontent. */
static int check_general_literal(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && smtp_syntax_is_keyword_char(s[i]))
		i++;
	if (i == 0 || i >= len || s[i] != ':' || s[i - 1] == '-' || s[0] == '-')
		return -1;
	if (++i == len)
		return -1;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\')
			return -1;
	}
	return 0;
}

static int check_literal(const char *s, size_t len)
{
	if (len < 3 || s[len - 1] != ']')
		return -1;
	s++;
	len -= 2;
	if (len > 5 && mem_eq_icase(s, "IPv6:", 5))
		return check_ipv6(s + 5, len - 5);
	if (smtp_syntax_is_digit(s[0]))
		return check_ipv4(s, len);
	return check_general_literal(s, len);
}

/* One label: Let-dig [Ldh-str], or a U-label when utf8. */
static int check_label(const unsigned char *s, size_t len, bool utf8, unsigned *flags)
{
	if (len == 0 || len > SMTP_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
		return -1;
	for (size_t i = 0; i < len;) {
		if (smtp_syntax_is_alnum(s[i]) || s[i] == '-') {
			i++;
			continue;
		}
		size_t n = s[i] >= 0x80 ? smtp_syntax_utf8_seq(s + i, len - i) : 0;
		if (n == 0)
			return -1;
		*flags |= SMTP_ADDRESS_F_UTF8;
		if (!utf8)
			return -1;
		i += n;
	}
	return 0;
}

int smtp_address_check_domain(const char *domain, size_t len, bool utf8, unsigned *flags_r)
{
	const unsigned char *s = (const unsigned char *)domain;
	unsigned flags = 0;
	int ret = 0;

	*flags_r = 0;
	if (len == 0)
		return -1;
	if (s[0] == '[') {
		*flags_r = SMTP_ADDRESS_F_LITERAL;
		return check_literal(domain, len);
	}
	if (s[len - 1] == '.') {
		flags |= SMTP_ADDRESS_F_TRAILING_DOT;
		len--;
	}
	if (len == 0 || len > SMTP_DOMAIN_MAX)
		ret = -1;
	if (memchr(s, '.', len) == NULL)
		flags |= SMTP_ADDRESS_F_DOTLESS;
	for (size_t start = 0; ret == 0 && start <= len;) {
		const unsigned char *dot = memchr(s + start, '.', len - start);
		size_t end = dot != NULL ? (size_t)(dot - s) : len;
		if (check_label(s + start, end - start, utf8, &flags) < 0)
			ret = -1;
		start = end + 1;
	}
	*flags_r = flags;
	return ret;
}

/* Scans a domain token at the cursor: a literal up to its ']', or a name
 * up to one of the stop characters.  Validates it and stores it. */
static int parse_domain(struct address_parser *p, const char *stops, const char **domain_r)
{
	struct cursor *c = &p->cur;
	size_t start = c->pos;
	unsigned flags;

	if (cursor_peek(c) == '[') {
		ptrdiff_t end = cursor_find(c, ']');
		if (end < 0) {
			p->error = "Unterminated address literal";
			return -1;
		}
		cursor_skip(c, (size_t)end + 1);
	} else {
		int ch;
		while ((ch = cursor_peek(c)) >= 0 && strchr(stops, ch) == NULL)
			c->pos++;
	}
	if (c->pos == start) {
		p->error = "Missing domain";
		return -1;
	}
	if (smtp_address_check_domain((const char *)c->data + start, c->pos - start,
				      true, &flags) < 0) {
		p->error = "Invalid domain";
		return -1;
	}
	p->addr->flags |= flags;
	*domain_r = pool_strndup(p->pool, (const char *)c->data + start, c->pos - start);
	return 0;
}

/* ---- local parts ---- */

static bool localpart_is_dot_atom(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s);

	if (len == 0 || u[0] == '.' || u[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len;) {
		if (u[i] == '.') {
			if (u[i + 1] == '.')
				return false;
			i++;
		} else if (smtp_syntax_is_atext(u[i])) {
			i++;
		} else {
			size_t n = u[i] >= 0x80 ? smtp_syntax_utf8_seq(u + i, len - i) : 0;
			if (n == 0)
				return false;
			i += n;
		}
	}
	return true;
}

static void localpart_flags(struct smtp_address *addr)
{
	const char *lp = addr->localpart;

	if (strchr(lp, '@') != NULL)
		addr->flags |= SMTP_ADDRESS_F_LOCAL_AT;
	if (strchr(lp, '%') != NULL)
		addr->flags |= SMTP_ADDRESS_F_LOCAL_PERCENT;
	if (strchr(lp, '!') != NULL)
		addr->flags |= SMTP_ADDRESS_F_LOCAL_BANG;
	if (!localpart_is_dot_atom(lp) && (addr->flags & SMTP_ADDRESS_F_BAD_DOTS) == 0)
		addr->flags |= SMTP_ADDRESS_F_NEEDS_QUOTES;
}

static int parse_quoted(struct address_parser *p)
{
	struct cursor *c = &p->cur;
	struct buf b;
	int ch;

	buf_init_pool(&b, p->pool, 0);
	c->pos++; /* '"' */
	while ((ch = cursor_peek(c)) != '"') {
		if (ch < 0) {
			p->error = "Unterminated quoted string";
			return -1;
		}
		if (ch == '\\') {
			int q = cursor_peek_at(c, 1);
			if (q < 32 || q > 126) {
				p->error = "Invalid quoted pair";
				return -1;
			}
			buf_append_c(&b, (char)q);
			c->pos += 2;
		} else if (smtp_syntax_is_qtext(ch)) {
			buf_append_c(&b, (char)ch);
			c->pos++;
		} else {
			size_t n = ch >= 0x80 ? smtp_syntax_utf8_seq(cursor_ptr(c), cursor_left(c)) : 0;
			if (n == 0) {
				p->error = "Invalid character in quoted string";
				return -1;
			}
			buf_append(&b, cursor_ptr(c), n);
			p->addr->flags |= SMTP_ADDRESS_F_UTF8;
			c->pos += n;
		}
	}
	c->pos++;
	p->addr->localpart = buf_cstr(&b);
	p->addr->flags |= SMTP_ADDRESS_F_QUOTED;
	return 0;
}

static int parse_dot_string(struct address_parser *p)
{
	struct cursor *c = &p->cur;
	size_t start = c->pos;
	bool bad_dots = false;
	int ch, prev = '.';

	while ((ch = cursor_peek(c)) >= 0) {
		if (ch == '.') {
			if (prev == '.')
				bad_dots = true;
			c->pos++;
		} else if (smtp_syntax_is_atext(ch)) {
			c->pos++;
		} else if (ch >= 0x80) {
			size_t n = smtp_syntax_utf8_seq(cursor_ptr(c), cursor_left(c));
			if (n == 0) {
				p->error = "Invalid UTF-8 in local part";
				return -1;
			}
			p->addr->flags |= SMTP_ADDRESS_F_UTF8;
			c->pos += n;
		} else {
			break;
		}
		prev = ch;
	}
	if (c->pos == start) {
		p->error = "Missing local part";
		return -1;
	}
	if (prev == '.')
		bad_dots = true;
	if (bad_dots) {
		if ((p->pflags & SMTP_ADDRESS_PARSE_BAD_LOCALPART) == 0) {
			p->error = "Invalid dots in local part";
			return -1;
		}
		p->addr->flags |= SMTP_ADDRESS_F_BAD_DOTS;
	}
	p->addr->localpart = pool_strndup(p->pool, (const char *)c->data + start, c->pos - start);
	return 0;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ), stopping at one
 * of `stops` after the domain.  With `postmaster`, a bare "Postmaster"
 * followed by '>' is accepted. */
static int parse_mailbox(struct address_parser *p, const char *stops, bool postmaster)
{
	struct cursor *c = &p->cur;
	int r = cursor_peek(c) == '"' ? parse_quoted(p) : parse_dot_string(p);

	if (r < 0)
		return -1;
	if (postmaster && cursor_peek(c) == '>' &&
	    (p->addr->flags & SMTP_ADDRESS_F_QUOTED) == 0 &&
	    str_eq_icase(p->addr->localpart, "postmaster")) {
		p->addr->flags |= SMTP_ADDRESS_F_POSTMASTER;
		return 0;
	}
	if (!cursor_accept(c, '@')) {
		p->error = cursor_eof(c) || strchr(stops, cursor_peek(c)) != NULL ?
				   "Missing domain" : "Invalid character in local part";
		return -1;
	}
	if (parse_domain(p, stops, &p->addr->domain) < 0)
		return -1;
	localpart_flags(p->addr);
	return 0;
}

/* A-d-l = At-domain *( "," At-domain ) ":" */
static int parse_route(struct address_parser *p)
{
	struct cursor *c = &p->cur;
	size_t start = c->pos;
	const char *domain;

	do {
		if (!cursor_accept(c, '@') || parse_domain(p, ",:>", &domain) < 0) {
			p->error = "Invalid source route";
			return -1;
		}
	} while (cursor_accept(c, ','));
	if (cursor_peek(c) != ':') {
		p->error = "Invalid source route";
		return -1;
	}
	/* the route's domains say nothing about the mailbox's */
	p->addr->flags &= ~(SMTP_ADDRESS_F_LITERAL | SMTP_ADDRESS_F_TRAILING_DOT |
			    SMTP_ADDRESS_F_DOTLESS);
	p->addr->route = pool_strndup(p->pool, (const char *)c->data + start, c->pos - start);
	p->addr->flags |= SMTP_ADDRESS_F_SOURCE_ROUTE;
	c->pos++;
	return 0;
}

static int parse_bracketed(struct address_parser *p)
{
	struct cursor *c = &p->cur;

	c->pos++; /* '<' */
	if (cursor_peek(c) == '>' ||
	    (cursor_peek(c) == '@' && cursor_peek_at(c, 1) == '>')) {
		if ((p->pflags & SMTP_ADDRESS_PARSE_ALLOW_NULL) == 0) {
			p->error = "Null path not allowed";
			return -1;
		}
		p->addr->flags |= SMTP_ADDRESS_F_NULL;
		if (cursor_accept(c, '@'))
			p->addr->flags |= SMTP_ADDRESS_F_AT_NULL;
		p->addr->localpart = "";
		c->pos++;
		return 0;
	}
	if (cursor_peek(c) == '@' && parse_route(p) < 0)
		return -1;
	if (parse_mailbox(p, ">", (p->pflags & SMTP_ADDRESS_PARSE_POSTMASTER) != 0 &&
				       p->addr->route == NULL) < 0)
		return -1;
	if (!cursor_accept(c, '>')) {
		p->error = "Missing '>'";
		return -1;
	}
	return 0;
}

static int address_finish(struct address_parser *p)
{
	if ((p->addr->flags & SMTP_ADDRESS_F_UTF8) != 0 &&
	    (p->pflags & SMTP_ADDRESS_PARSE_UTF8) == 0) {
		p->error = "Non-ASCII address";
		return -1;
	}
	return 0;
}

int smtp_address_parse_path(struct pool *pool, const void *data, size_t len,
			    unsigned parse_flags, struct smtp_address *addr_r,
			    size_t *used_r, const char **error_r)
{
	struct address_parser p = {
		.pool = pool, .pflags = parse_flags, .addr = addr_r, .error = NULL,
	};
	int r;

	memset(addr_r, 0, sizeof(*addr_r));
	cursor_init(&p.cur, data, len);
	if (cursor_peek(&p.cur) == '<') {
		r = parse_bracketed(&p);
	} else if ((parse_flags & SMTP_ADDRESS_PARSE_NO_BRACKETS) == 0) {
		p.error = cursor_eof(&p.cur) ? "Missing address" : "Missing '<'";
		r = -1;
	} else {
		addr_r->flags |= SMTP_ADDRESS_F_NO_BRACKETS;
		r = parse_mailbox(&p, " ", false);
	}
	if (r == 0)
		r = address_finish(&p);
	if (r < 0) {
		*error_r = p.error;
		return -1;
	}
	*used_r = p.cur.pos;
	return 0;
}

int smtp_address_parse(struct pool *pool, const char *str, unsigned parse_flags,
		       struct smtp_address *addr_r, const char **error_r)
{
	struct address_parser p = {
		.pool = pool, .pflags = parse_flags, .addr = addr_r, .error = NULL,
	};

	memset(addr_r, 0, sizeof(*addr_r));
	cursor_init(&p.cur, str, strlen(str));
	if (parse_mailbox(&p, "", false) < 0 || address_finish(&p) < 0) {
		*error_r = p.error;
		return -1;
	}
	if (!cursor_eof(&p.cur)) {
		*error_r = "Trailing characters after address";
		return -1;
	}
	return 0;
}

/* ---- helpers over parsed addresses ---- */

bool smtp_address_is_plain(const struct smtp_address *addr)
{
	return (addr->flags & SMTP_ADDRESS_F_NOT_PLAIN) == 0 &&
	       addr->domain != NULL && addr->localpart != NULL && addr->localpart[0] != '\0';
}

static size_t domain_len_nodot(const char *d)
{
	size_t len = strlen(d);
	return len > 1 && d[len - 1] == '.' && d[0] != '[' ? len - 1 : len;
}

void smtp_address_normalize(struct pool *pool, const struct smtp_address *addr,
			    struct smtp_address *norm_r)
{
	*norm_r = *addr;
	norm_r->route = NULL;
	norm_r->flags &= ~(SMTP_ADDRESS_F_SOURCE_ROUTE | SMTP_ADDRESS_F_TRAILING_DOT);
	if (addr->localpart != NULL && str_eq_icase(addr->localpart, "postmaster"))
		norm_r->localpart = "postmaster";
	if (addr->domain != NULL) {
		char *d = pool_strndup(pool, addr->domain, domain_len_nodot(addr->domain));
		str_lcase(d);
		norm_r->domain = d;
	}
}

static int cmp_icase(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = MIN(alen, blen);

	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)ascii_lower(a[i]);
		unsigned char y = (unsigned char)ascii_lower(b[i]);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return alen == blen ? 0 : (alen < blen ? -1 : 1);
}

int smtp_address_cmp(const struct smtp_address *a, const struct smtp_address *b,
		     bool icase_local)
{
	const char *la = a->localpart != NULL ? a->localpart : "";
	const char *lb = b->localpart != NULL ? b->localpart : "";
	bool pa = str_eq_icase(la, "postmaster"), pb = str_eq_icase(lb, "postmaster");
	int r;

	if (icase_local || (pa && pb))
		r = cmp_icase(la, strlen(la), lb, strlen(lb));
	else
		r = strcmp(la, lb);
	if (r != 0)
		return r < 0 ? -1 : 1;
	if (a->domain == NULL || b->domain == NULL)
		return a->domain == b->domain ? 0 : (a->domain == NULL ? -1 : 1);
	return cmp_icase(a->domain, domain_len_nodot(a->domain), b->domain,
			 domain_len_nodot(b->domain));
}

void smtp_address_write(struct buf *out, const struct smtp_address *addr)
{
	const char *lp = addr->localpart != NULL ? addr->localpart : "";

	if ((addr->flags & SMTP_ADDRESS_F_NULL) != 0)
		return;
	if (localpart_is_dot_atom(lp)) {
		buf_append_str(out, lp);
	} else {
		buf_append_c(out, '"');
		for (; *lp != '\0'; lp++) {
			if (*lp == '"' || *lp == '\\')
				buf_append_c(out, '\\');
			buf_append_c(out, *lp);
		}
		buf_append_c(out, '"');
	}
	if (addr->domain != NULL) {
		buf_append_c(out, '@');
		buf_append_str(out, addr->domain);
	}
}

void smtp_address_write_path(struct buf *out, const struct smtp_address *addr)
{
	buf_append_c(out, '<');
	smtp_address_write(out, addr);
	buf_append_c(out, '>');
}
