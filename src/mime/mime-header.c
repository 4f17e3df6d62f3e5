/*
 * Header fields: lookup by name, unfolding, RFC 2047 encoded words.
 *
 * Encoded words are decoded leniently (as Dovecot and mime4j do): also
 * when glued to other text, with white space inside Q text, with a
 * "*language" suffix on the charset.  White space between two encoded
 * words disappears; the decoded bytes of adjacent words in the same
 * charset are joined before conversion, so a multibyte character split
 * across two words survives.  A malformed word stays as it is.
 */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

/* Longest charset name accepted inside an encoded word */
#define MIME_EW_MAX_CHARSET 64

static const char *const essential_headers[] = {
	"MIME-Version", "Date", "Subject", "From", "Sender", "Reply-To",
	"To", "Cc", "Bcc", "In-Reply-To", "Message-ID",
};

bool mime_header_is_essential(const char *name)
{
	if (str_has_prefix_icase(name, "Content-"))
		return true;
	for (size_t i = 0; i < N_ELEMENTS(essential_headers); i++) {
		if (str_eq_icase(name, essential_headers[i]))
			return true;
	}
	return false;
}

bool mime_header_parse_name(const unsigned char *line, size_t len,
			    size_t *name_start_r, size_t *name_len_r,
			    size_t *colon_r)
{
	const unsigned char *colon = len == 0 ? NULL : memchr(line, ':', len);
	size_t a = 0, b;

	if (colon == NULL)
		return false;
	b = (size_t)(colon - line);
	while (a < b && (line[a] == ' ' || line[a] == '\t'))
		a++;
	while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'))
		b--;
	if (a == b)
		return false;
	for (size_t i = a; i < b; i++) {
		if (line[i] < 0x21 || line[i] > 0x7e)
			return false;
	}
	*name_start_r = a;
	*name_len_r = b - a;
	*colon_r = (size_t)(colon - line);
	return true;
}

const struct mime_field *mime_header_find_next(const struct mime_part *part,
					       const struct mime_field *prev,
					       const char *name)
{
	unsigned int i = prev == NULL ? 0 : (unsigned int)(prev - part->fields) + 1;

	for (; i < part->fields_count; i++) {
		if (str_eq_icase(part->fields[i].name, name))
			return &part->fields[i];
	}
	return NULL;
}

const struct mime_field *mime_header_find(const struct mime_part *part,
					  const char *name)
{
	return mime_header_find_next(part, NULL, name);
}

char *mime_header_unfold(struct pool *pool, const char *value, size_t len)
{
	char *r = pool_alloc_nz(pool, len + 1);
	size_t n = 0, a = 0;

	while (a < len && (value[a] == ' ' || value[a] == '\t' ||
			   value[a] == '\r' || value[a] == '\n'))
		a++;
	for (size_t i = a; i < len; i++) {
		if (value[i] != '\r' && value[i] != '\n')
			r[n++] = value[i];
	}
	while (n > 0 && (r[n - 1] == ' ' || r[n - 1] == '\t'))
		n--;
	r[n] = '\0';
	return r;
}

/*
 * RFC 2047
 */

struct encoded_word {
	char charset[MIME_EW_MAX_CHARSET + 1];
	char enc;            /* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total_len;    /* from "=?" to "?=" */
};

static bool parse_encoded_word(const char *s, size_t len,
			       struct encoded_word *ew)
{
	size_t i = 2, c0;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return false;
	c0 = i;
	while (i < len && s[i] != '?') {
		if (s[i] <= ' ' || s[i] == '(' || s[i] == ')' || (unsigned char)s[i] >= 0x7f)
			return false;
		i++;
	}
	if (i == c0 || i - c0 > MIME_EW_MAX_CHARSET || i + 3 >= len)
		return false;
	memcpy(ew->charset, s + c0, i - c0);
	ew->charset[i - c0] = '\0';
	char *star = strchr(ew->charset, '*'); /* RFC 2231 language */
	if (star != NULL)
		*star = '\0';
	ew->enc = ascii_upper(s[i + 1]);
	if ((ew->enc != 'B' && ew->enc != 'Q') || s[i + 2] != '?')
		return false;
	i += 3;
	ew->text = s + i;
	for (; i + 1 < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			return false;
		if (s[i] == '?' && s[i + 1] == '=') {
			ew->text_len = (size_t)(s + i - ew->text);
			ew->total_len = i + 2;
			return true;
		}
	}
	return false;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower((char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void decode_word_bytes(const struct encoded_word *ew, struct buf *out)
{
	if (ew->enc == 'B') {
		struct mime_decoder dec;
		mime_decode_init(&dec, MIME_ENCODING_BASE64);
		(void)mime_decode_feed(&dec, ew->text, ew->text_len, out);
		/* senders often drop the padding of encoded words: pad */
		(void)mime_decode_feed(&dec, "==", 2, out);
		(void)mime_decode_finish(&dec, out);
		return;
	}
	for (size_t i = 0; i < ew->text_len; i++) {
		char c = ew->text[i];
		int h, l;
		if (c == '_') {
			buf_append_c(out, ' ');
		} else if (c == '=' && i + 2 < ew->text_len &&
			   (h = hexval(ew->text[i + 1])) >= 0 &&
			   (l = hexval(ew->text[i + 2])) >= 0) {
			buf_append_c(out, (char)(h * 16 + l));
			i += 2;
		} else {
			buf_append_c(out, c);
		}
	}
}

struct decode_ctx {
	struct buf *out;
	struct buf pending;   /* decoded bytes of adjacent words */
	char charset[MIME_EW_MAX_CHARSET + 1];
	size_t ws_start, ws_len; /* white space after the last word */
	bool after_word;
};

static void flush_pending(struct decode_ctx *ctx)
{
	if (ctx->pending.len > 0) {
		(void)mime_charset_to_utf8(ctx->charset, ctx->pending.data,
					   ctx->pending.len, ctx->out);
	}
	buf_reset(&ctx->pending);
}

void mime_header_decode_append(struct buf *out, const char *value, size_t len)
{
	struct decode_ctx ctx;
	size_t i = 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.out = out;
	buf_init(&ctx.pending, 0);
	while (i < len) {
		struct encoded_word ew;
		char c = value[i];
		if (c == '\r' || c == '\n') {
			i++;
			continue;
		}
		if (c == ' ' || c == '\t') {
			size_t j = i;
			while (j < len && (value[j] == ' ' || value[j] == '\t' ||
					   value[j] == '\r' || value[j] == '\n'))
				j++;
			if (!ctx.after_word) {
				for (size_t k = i; k < j; k++) {
					if (value[k] == ' ' || value[k] == '\t')
						buf_append_c(out, value[k]);
				}
			} else {
				ctx.ws_start = i;
				ctx.ws_len = j - i;
			}
			i = j;
			continue;
		}
		if (c == '=' && parse_encoded_word(value + i, len - i, &ew)) {
			if (!ctx.after_word || !str_eq_icase(ctx.charset, ew.charset)) {
				flush_pending(&ctx);
				str_copy(ctx.charset, ew.charset, sizeof(ctx.charset));
			}
			decode_word_bytes(&ew, &ctx.pending);
			ctx.after_word = true;
			ctx.ws_len = 0;
			i += ew.total_len;
			continue;
		}
		/* plain text up to the next white space or "=?" */
		flush_pending(&ctx);
		if (ctx.after_word) {
			for (size_t k = ctx.ws_start; k < ctx.ws_start + ctx.ws_len; k++) {
				if (value[k] == ' ' || value[k] == '\t')
					buf_append_c(out, value[k]);
			}
		}
		ctx.after_word = false;
		ctx.ws_len = 0;
		size_t j = i + 1;
		while (j < len && value[j] != ' ' && value[j] != '\t' &&
		       value[j] != '\r' && value[j] != '\n' &&
		       !(value[j] == '=' && j + 1 < len && value[j + 1] == '?'))
			j++;
		mime_charset_append_lenient(out, value + i, j - i);
		i = j;
	}
	flush_pending(&ctx);
	if (ctx.after_word) {
		for (size_t k = ctx.ws_start; k < ctx.ws_start + ctx.ws_len; k++) {
			if (value[k] == ' ' || value[k] == '\t')
				buf_append_c(out, value[k]);
		}
	}
	buf_free(&ctx.pending);
}

char *mime_header_decode(struct pool *pool, const char *value, size_t len)
{
	struct buf out;

	buf_init_pool(&out, pool, 0);
	mime_header_decode_append(&out, value, len);
	char *r = out.data == NULL ? pool_strdup(pool, "") : out.data;
	return str_trim(r);
}

/*
 * Lookup helpers
 */

const char *mime_header_get(struct pool *pool, const struct mime_part *part,
			    const char *name)
{
	const struct mime_field *f = mime_header_find(part, name);
	return f == NULL ? NULL : mime_header_unfold(pool, f->value, f->value_len);
}

const char *mime_header_get_utf8(struct pool *pool,
				 const struct mime_part *part, const char *name)
{
	const struct mime_field *f = mime_header_find(part, name);
	return f == NULL ? NULL : mime_header_decode(pool, f->value, f->value_len);
}

static const char **get_all(struct pool *pool, const struct mime_part *part,
			    const char *name, bool decode)
{
	unsigned int n = 0, i = 0;
	const struct mime_field *f;

	for (f = mime_header_find(part, name); f != NULL;
	     f = mime_header_find_next(part, f, name))
		n++;
	const char **r = POOL_NEW_ARRAY(pool, const char *, n + 1);
	for (f = mime_header_find(part, name); f != NULL;
	     f = mime_header_find_next(part, f, name)) {
		r[i++] = decode ? mime_header_decode(pool, f->value, f->value_len) :
			mime_header_unfold(pool, f->value, f->value_len);
	}
	r[i] = NULL;
	return r;
}

const char **mime_header_get_all(struct pool *pool,
				 const struct mime_part *part, const char *name)
{
	return get_all(pool, part, name, false);
}

const char **mime_header_get_all_utf8(struct pool *pool,
				      const struct mime_part *part,
				      const char *name)
{
	return get_all(pool, part, name, true);
}
