/*
 * IMAP views of the tree: ENVELOPE and BODY/BODYSTRUCTURE (RFC 3501
 * 7.4.2, RFC 9051 7.5.2).
 *
 * Conventions (Dovecot's, except where noted):
 *  - a value is a quoted string unless it has 8-bit bytes, CR/LF or is
 *    long, then a literal; header values are unfolded first (CR and LF
 *    removed) and NUL bytes dropped;
 *  - type, subtype and transfer encoding are upper-cased ("TEXT"
 *    "PLAIN" "7BIT", as in RFC 3501's examples; Dovecot keeps the case
 *    written in the message), parameters and everything else are written
 *    as in the message; a text part without charset is given ("charset"
 *    "us-ascii"), a missing transfer encoding is "7BIT";
 *  - an RFC 2231 parameter is written as name* "charset'lang'%xx..";
 *  - a multipart without parts gets one empty text/plain body;
 *  - ENVELOPE uses the first occurrence of each field; Sender and
 *    Reply-To fall back to From; address lists that hold no address are
 *    NIL; a message/rfc822 part that could not be parsed (encoded, or
 *    over a limit) is written as a basic body without envelope.
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>
#include <strings.h>

/* Longer strings are sent as literals */
#define MIME_IMAP_MAX_QUOTED 1024

static void append_string(struct buf *out, const char *s, size_t len)
{
	bool literal = len > MIME_IMAP_MAX_QUOTED;
	size_t nuls = 0;

	for (size_t i = 0; i < len && !literal; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80 || c == '\r' || c == '\n')
			literal = true;
	}
	for (size_t i = 0; i < len; i++)
		nuls += s[i] == '\0';
	if (literal) {
		buf_printf(out, "{%zu}\r\n", len - nuls);
		for (size_t i = 0; i < len; i++) {
			if (s[i] != '\0')
				buf_append_c(out, s[i]);
		}
		return;
	}
	buf_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append_c(out, '\\');
		if (s[i] != '\0')
			buf_append_c(out, s[i]);
	}
	buf_append_c(out, '"');
}

void mime_imap_append_nstring(struct buf *out, const char *str, size_t len)
{
	if (str == NULL)
		buf_append_str(out, "NIL");
	else
		append_string(out, str, len);
}

static void append_cstr(struct buf *out, const char *s)
{
	mime_imap_append_nstring(out, s, s == NULL ? 0 : strlen(s));
}

static void append_upper(struct buf *out, const char *s)
{
	size_t len = strlen(s);
	char tmp[128];

	if (len >= sizeof(tmp)) {
		append_string(out, s, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		tmp[i] = ascii_upper(s[i]);
	append_string(out, tmp, len);
}

/* Unfolded value of the first field, or NULL.  Lives in a small
   malloc'd buffer the caller frees with buf_free(). */
static const char *field_value(const struct mime_part *part, const char *name,
			       struct buf *tmp)
{
	const struct mime_field *f = mime_header_find(part, name);
	size_t a = 0, b;

	buf_reset(tmp);
	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < f->value_len; i++) {
		if (f->value[i] != '\r' && f->value[i] != '\n')
			buf_append_c(tmp, f->value[i]);
	}
	const char *s = buf_cstr(tmp);
	b = tmp->len;
	while (a < b && (s[a] == ' ' || s[a] == '\t'))
		a++;
	while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
		b--;
	buf_truncate(tmp, b);
	return buf_cstr(tmp) + a;
}

static void append_field(struct buf *out, const struct mime_part *part,
			 const char *name)
{
	struct buf tmp;

	buf_init(&tmp, 0);
	append_cstr(out, field_value(part, name, &tmp));
	buf_free(&tmp);
}

/*
 * ENVELOPE
 */

static void append_addresses(struct buf *out, const struct mime_address *a)
{
	if (a == NULL) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_c(out, '(');
	for (; a != NULL; a = a->next) {
		buf_append_c(out, '(');
		append_cstr(out, a->name);
		buf_append_c(out, ' ');
		append_cstr(out, a->route);
		buf_append_c(out, ' ');
		append_cstr(out, a->mailbox);
		buf_append_c(out, ' ');
		append_cstr(out, a->domain);
		buf_append_c(out, ')');
	}
	buf_append_c(out, ')');
}

static struct mime_address *field_addresses(struct pool *pool,
					    const struct mime_part *part,
					    const char *name)
{
	const struct mime_field *f = mime_header_find(part, name);
	return f == NULL ? NULL : mime_address_parse(pool, f->value, f->value_len);
}

void mime_imap_envelope(struct buf *out, const struct mime_part *part)
{
	struct pool *pool = pool_create("mime envelope", 1024);
	struct mime_address *from = field_addresses(pool, part, "From");
	struct mime_address *sender = field_addresses(pool, part, "Sender");
	struct mime_address *reply_to = field_addresses(pool, part, "Reply-To");

	buf_append_c(out, '(');
	append_field(out, part, "Date");
	buf_append_c(out, ' ');
	append_field(out, part, "Subject");
	buf_append_c(out, ' ');
	append_addresses(out, from);
	buf_append_c(out, ' ');
	append_addresses(out, sender != NULL ? sender : from);
	buf_append_c(out, ' ');
	append_addresses(out, reply_to != NULL ? reply_to : from);
	static const char *const lists[] = { "To", "Cc", "Bcc" };
	for (size_t i = 0; i < N_ELEMENTS(lists); i++) {
		buf_append_c(out, ' ');
		append_addresses(out, field_addresses(pool, part, lists[i]));
	}
	buf_append_c(out, ' ');
	append_field(out, part, "In-Reply-To");
	buf_append_c(out, ' ');
	append_field(out, part, "Message-ID");
	buf_append_c(out, ')');
	pool_destroy(&pool);
}

/*
 * BODY / BODYSTRUCTURE
 */

static void append_params(struct buf *out, const struct mime_param *params,
			  unsigned int count, bool default_charset)
{
	bool charset = false;

	if (count == 0 && !default_charset) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_c(out, '(');
	for (unsigned int i = 0; i < count; i++) {
		const struct mime_param *p = &params[i];
		if (i > 0)
			buf_append_c(out, ' ');
		charset = charset || strcmp(p->name, "charset") == 0;
		if (!p->extended) {
			append_cstr(out, p->name);
			buf_append_c(out, ' ');
			append_cstr(out, p->value);
			continue;
		}
		struct buf tmp;
		buf_init(&tmp, 0);
		buf_printf(&tmp, "%s*", p->name);
		append_string(out, tmp.data, tmp.len);
		buf_reset(&tmp);
		buf_printf(&tmp, "%s'%s'%s", p->charset == NULL ? "" : p->charset,
			   p->language == NULL ? "" : p->language, p->value);
		buf_append_c(out, ' ');
		append_string(out, tmp.data, tmp.len);
		buf_free(&tmp);
	}
	if (default_charset && !charset) {
		if (count > 0)
			buf_append_c(out, ' ');
		buf_append_str(out, "\"charset\" \"us-ascii\"");
	}
	buf_append_c(out, ')');
}

static void append_disposition(struct buf *out, const struct mime_part *part)
{
	const struct mime_field *f = mime_header_find(part, "Content-Disposition");
	struct pool *pool;
	const char *token;
	struct mime_param *params;
	unsigned int count;

	if (f == NULL) {
		buf_append_str(out, "NIL");
		return;
	}
	pool = pool_create("mime disposition", 512);
	mime_param_parse(pool, f->value, f->value_len, &token, &params, &count);
	if (token[0] == '\0') {
		buf_append_str(out, "NIL");
	} else {
		/* the token as written (mime_param_parse lower-cases it) */
		struct mime_rfc822 lex;
		struct buf tmp;
		buf_init(&tmp, 0);
		mime_rfc822_init(&lex, f->value, f->value_len, NULL);
		if (!mime_rfc822_skip_cfws(&lex) || !mime_rfc822_token(&lex, &tmp))
			buf_append_str(&tmp, token);
		buf_append_c(out, '(');
		append_string(out, tmp.data, tmp.len);
		buf_append_c(out, ' ');
		append_params(out, params, count, false);
		buf_append_c(out, ')');
		buf_free(&tmp);
	}
	pool_destroy(&pool);
}

static void append_language(struct buf *out, const struct mime_part *part)
{
	const struct mime_field *f = mime_header_find(part, "Content-Language");
	struct mime_rfc822 lex;
	struct buf tmp;
	unsigned int n = 0;

	if (f == NULL) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_init(&tmp, 0);
	mime_rfc822_init(&lex, f->value, f->value_len, NULL);
	while (mime_rfc822_skip_cfws(&lex)) {
		buf_reset(&tmp);
		if (!mime_rfc822_atom(&lex, &tmp, true))
			break;
		buf_append_str(out, n++ == 0 ? "(" : " ");
		append_string(out, tmp.data, tmp.len);
		if (!mime_rfc822_skip_cfws(&lex) || mime_rfc822_peek(&lex) != ',')
			break;
		lex.data++;
	}
	buf_append_str(out, n == 0 ? "NIL" : ")");
	buf_free(&tmp);
}

/* disposition language location (shared by both body kinds) */
static void append_ext_common(struct buf *out, const struct mime_part *part)
{
	buf_append_c(out, ' ');
	append_disposition(out, part);
	buf_append_c(out, ' ');
	append_language(out, part);
	buf_append_c(out, ' ');
	append_field(out, part, "Content-Location");
}

static void append_encoding(struct buf *out, const struct mime_part *part)
{
	const struct mime_field *f = mime_header_find(part, "Content-Transfer-Encoding");
	struct mime_rfc822 lex;
	struct buf tmp;

	buf_init(&tmp, 0);
	if (f != NULL) {
		mime_rfc822_init(&lex, f->value, f->value_len, NULL);
		if (mime_rfc822_skip_cfws(&lex))
			(void)mime_rfc822_token(&lex, &tmp);
	}
	append_upper(out, tmp.len == 0 ? "7bit" : buf_cstr(&tmp));
	buf_free(&tmp);
}

static void write_part(struct buf *out, const struct mime_part *part,
		       unsigned int flags);

static void write_multipart(struct buf *out, const struct mime_part *part,
			    unsigned int flags)
{
	bool ext = (flags & MIME_IMAP_EXTENDED) != 0;

	if (part->children == NULL) {
		buf_append_str(out, ext ?
			"(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)" :
			"(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0)");
	}
	for (const struct mime_part *c = part->children; c != NULL; c = c->next)
		write_part(out, c, flags);
	buf_append_c(out, ' ');
	append_upper(out, part->subtype);
	if (!ext)
		return;
	buf_append_c(out, ' ');
	append_params(out, part->params, part->params_count, false);
	append_ext_common(out, part);
}

static void write_single(struct buf *out, const struct mime_part *part,
			 unsigned int flags)
{
	bool text = (part->flags & MIME_PART_FLAG_TEXT) != 0;
	bool vsize = (flags & MIME_IMAP_VIRTUAL_SIZES) != 0;

	append_upper(out, part->type);
	buf_append_c(out, ' ');
	append_upper(out, part->subtype);
	buf_append_c(out, ' ');
	/* a broken multipart read as text/plain keeps no multipart params */
	if ((part->flags & MIME_PART_FLAG_BAD_MULTIPART) != 0)
		append_params(out, NULL, 0, true);
	else
		append_params(out, part->params, part->params_count, text);
	buf_append_c(out, ' ');
	append_field(out, part, "Content-ID");
	buf_append_c(out, ' ');
	append_field(out, part, "Content-Description");
	buf_append_c(out, ' ');
	append_encoding(out, part);
	buf_printf(out, " %llu", (unsigned long long)
		   (vsize ? part->body_vsize : part->body_size));
	if (text) {
		buf_printf(out, " %llu", (unsigned long long)part->body_lines);
	} else if ((part->flags & MIME_PART_FLAG_RFC822) != 0 &&
		   part->children != NULL) {
		buf_append_c(out, ' ');
		mime_imap_envelope(out, part->children);
		buf_append_c(out, ' ');
		mime_imap_bodystructure(out, part->children, flags);
		buf_printf(out, " %llu", (unsigned long long)part->body_lines);
	}
	if ((flags & MIME_IMAP_EXTENDED) == 0)
		return;
	buf_append_c(out, ' ');
	append_field(out, part, "Content-MD5");
	append_ext_common(out, part);
}

static void write_part(struct buf *out, const struct mime_part *part,
		       unsigned int flags)
{
	buf_append_c(out, '(');
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0)
		write_multipart(out, part, flags);
	else
		write_single(out, part, flags);
	buf_append_c(out, ')');
}

void mime_imap_bodystructure(struct buf *out, const struct mime_part *part,
			     unsigned int flags)
{
	write_part(out, part, flags);
}

/*
 * BODY[section]
 */

struct section_lexer {
	const char *s;
	const char *error;
};

static bool accept_word(struct section_lexer *lx, const char *word)
{
	size_t n = strlen(word);
	if (strncasecmp(lx->s, word, n) != 0)
		return false;
	lx->s += n;
	return true;
}

/* "(name name ...)": atoms or quoted strings */
static bool parse_field_names(struct pool *pool, struct section_lexer *lx,
			      struct mime_section *sec)
{
	const char **names = NULL;
	unsigned int n = 0, cap = 0;

	while (*lx->s == ' ')
		lx->s++;
	if (*lx->s++ != '(') {
		lx->error = "HEADER.FIELDS needs a list of field names";
		return false;
	}
	for (;;) {
		while (*lx->s == ' ')
			lx->s++;
		if (*lx->s == ')')
			break;
		struct buf name;
		buf_init_pool(&name, pool, 0);
		if (*lx->s == '"') {
			for (lx->s++; *lx->s != '"'; lx->s++) {
				if (*lx->s == '\\' && lx->s[1] != '\0')
					lx->s++;
				if (*lx->s == '\0') {
					lx->error = "unterminated field name";
					return false;
				}
				buf_append_c(&name, *lx->s);
			}
			lx->s++;
		} else {
			while (*lx->s != '\0' && *lx->s != ' ' && *lx->s != ')' &&
			       *lx->s != '(' && (unsigned char)*lx->s > ' ')
				buf_append_c(&name, *lx->s++);
		}
		if (name.len == 0) {
			lx->error = "invalid field name list";
			return false;
		}
		if (n + 1 >= cap) {
			unsigned int ncap = cap == 0 ? 8 : cap * 2;
			names = pool_realloc(pool, names, sizeof(*names) * cap,
					     sizeof(*names) * ncap);
			cap = ncap;
		}
		names[n++] = buf_cstr(&name);
	}
	lx->s++;
	if (n == 0) {
		lx->error = "empty field name list";
		return false;
	}
	names[n] = NULL;
	sec->fields = names;
	sec->fields_count = n;
	return true;
}

/* section-msgtext / MIME after the part numbers (or at the top). */
static bool parse_section_text(struct pool *pool, struct section_lexer *lx,
			       struct mime_section *sec, bool numbered)
{
	if (*lx->s == '\0') {
		sec->kind = MIME_SECTION_BODY;
		return true;
	}
	if (accept_word(lx, "HEADER.FIELDS.NOT")) {
		sec->kind = MIME_SECTION_HEADER_FIELDS_NOT;
		return parse_field_names(pool, lx, sec);
	}
	if (accept_word(lx, "HEADER.FIELDS")) {
		sec->kind = MIME_SECTION_HEADER_FIELDS;
		return parse_field_names(pool, lx, sec);
	}
	if (accept_word(lx, "HEADER")) {
		sec->kind = MIME_SECTION_HEADER;
		return true;
	}
	if (accept_word(lx, "TEXT")) {
		sec->kind = MIME_SECTION_TEXT;
		return true;
	}
	if (numbered && accept_word(lx, "MIME")) {
		sec->kind = MIME_SECTION_MIME;
		return true;
	}
	lx->error = "unknown section text";
	return false;
}

/* Follows one part number from part (RFC 3501 6.4.5). */
static const struct mime_part *follow(const struct mime_part *part,
				      unsigned long num, bool more, bool first)
{
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0) {
		part = part->children;
		for (; num > 1 && part != NULL; num--)
			part = part->next;
	} else if (num != 1 || (!first && !mime_part_is_message(part))) {
		/* a non-multipart message has only part 1, its body; a
		   leaf inside a multipart has no parts at all */
		return NULL;
	}
	if (part != NULL && more && (part->flags & MIME_PART_FLAG_RFC822) != 0)
		part = part->children; /* into the encapsulated message */
	return part;
}

static int resolve(const struct mime_part *part, bool numbered,
		   struct mime_section *sec, const char **error_r)
{
	const struct mime_part *src = part;

	sec->part = part;
	switch (sec->kind) {
	case MIME_SECTION_BODY:
		if (!numbered) {
			sec->offset = part->header_offset;
			sec->size = part->header_size + part->body_size;
		} else {
			sec->offset = part->body_offset;
			sec->size = part->body_size;
		}
		break;
	case MIME_SECTION_MIME:
		sec->offset = part->header_offset;
		sec->size = part->header_size;
		break;
	case MIME_SECTION_HEADER:
	case MIME_SECTION_HEADER_FIELDS:
	case MIME_SECTION_HEADER_FIELDS_NOT:
	case MIME_SECTION_TEXT:
		if (numbered) {
			/* only message/rfc822 parts have a message inside */
			if ((part->flags & MIME_PART_FLAG_RFC822) == 0 ||
			    part->children == NULL)
				return 0;
			src = part->children;
		}
		if (sec->kind == MIME_SECTION_TEXT) {
			sec->offset = src->body_offset;
			sec->size = src->body_size;
		} else {
			sec->offset = src->header_offset;
			sec->size = src->header_size;
		}
		break;
	}
	sec->source = src;
	(void)error_r;
	return 1;
}

int mime_imap_section(struct pool *pool, const struct mime_part *root,
		      const char *spec, struct mime_section *section_r,
		      const char **error_r)
{
	struct section_lexer lx = { .s = spec };
	const struct mime_part *part = root;
	bool numbered = false;

	memset(section_r, 0, sizeof(*section_r));
	while (*lx.s >= '0' && *lx.s <= '9') {
		unsigned long num = 0;
		if (*lx.s == '0') {
			*error_r = "section numbers start at 1";
			return -1;
		}
		while (*lx.s >= '0' && *lx.s <= '9') {
			if (num > 100000000UL) {
				*error_r = "section number too large";
				return -1;
			}
			num = num * 10 + (unsigned long)(*lx.s++ - '0');
		}
		bool more = lx.s[0] == '.' && lx.s[1] >= '0' && lx.s[1] <= '9';
		if (part != NULL)
			part = follow(part, num, more, !numbered);
		numbered = true;
		if (*lx.s == '.') {
			lx.s++;
			if (*lx.s == '\0') {
				*error_r = "section ends with a dot";
				return -1;
			}
		} else if (*lx.s != '\0') {
			*error_r = "invalid section";
			return -1;
		}
	}
	if (!parse_section_text(pool, &lx, section_r, numbered)) {
		*error_r = lx.error;
		return -1;
	}
	while (*lx.s == ' ')
		lx.s++;
	if (*lx.s != '\0') {
		*error_r = "trailing characters after section";
		return -1;
	}
	if (part == NULL)
		return 0;
	return resolve(part, numbered, section_r, error_r);
}

static bool name_listed(const char *name, size_t len, const char *const *names)
{
	for (; *names != NULL; names++) {
		if (strlen(*names) == len && mem_eq_icase(*names, name, len))
			return true;
	}
	return false;
}

/* Appends raw header lines with every line break made CRLF. */
static void append_crlf(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			buf_append_c(out, '\r');
		buf_append_c(out, s[i]);
	}
	if (len > 0 && s[len - 1] != '\n')
		buf_append_str(out, "\r\n");
}

void mime_imap_header_fields(struct buf *out, const void *header, size_t size,
			     const char *const *names, bool not_)
{
	const char *s = header, *end = s + size;

	while (s < end) {
		/* one field: its first line and the continuation lines */
		const char *f = s;
		do {
			const char *lf = memchr(s, '\n', (size_t)(end - s));
			s = lf == NULL ? end : lf + 1;
		} while (s < end && (*s == ' ' || *s == '\t'));
		size_t flen = (size_t)(s - f);
		if (flen == 0 || f[0] == '\n' || (f[0] == '\r' && flen <= 2 &&
						   (flen == 1 || f[1] == '\n')))
			break; /* the blank line */
		size_t a, n, colon;
		bool match = mime_header_parse_name((const unsigned char *)f, flen,
						    &a, &n, &colon) &&
			name_listed(f + a, n, names);
		if (match != not_)
			append_crlf(out, f, flen);
	}
	buf_append_str(out, "\r\n");
}

void mime_imap_section_data(struct buf *out, const struct mime_section *section,
			    const void *msg, size_t msg_size)
{
	uint64_t off = section->offset, size = section->size;

	if (off > msg_size)
		off = msg_size;
	if (size > msg_size - off)
		size = msg_size - off;
	const char *s = (const char *)msg + off;
	if (section->kind == MIME_SECTION_HEADER_FIELDS ||
	    section->kind == MIME_SECTION_HEADER_FIELDS_NOT) {
		mime_imap_header_fields(out, s, (size_t)size, section->fields,
					section->kind == MIME_SECTION_HEADER_FIELDS_NOT);
		return;
	}
	buf_append(out, s, (size_t)size);
}

void mime_imap_partial(uint64_t size, uint64_t origin, uint64_t count,
		       uint64_t *offset_r, uint64_t *len_r)
{
	if (origin >= size) {
		*offset_r = size;
		*len_r = 0;
		return;
	}
	*offset_r = origin;
	*len_r = MIN(count, size - origin);
}
