/* MIME parts: Content-* interpretation, walking the tree, body text. */

#include "mime-private.h"

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <string.h>

static bool token_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL)
			return false;
	}
	return true;
}

static void set_default_type(struct mime_part *part, bool digest_child)
{
	part->type = digest_child ? "message" : "text";
	part->subtype = digest_child ? "rfc822" : "plain";
}

/* "type/subtype" as returned by mime_param_parse (lower-cased). */
static bool split_type(struct pool *pool, struct mime_part *part,
		       const char *token)
{
	const char *slash = strchr(token, '/');
	if (slash == NULL || !token_valid(token, (size_t)(slash - token)) ||
	    !token_valid(slash + 1, strlen(slash + 1)))
		return false;
	part->type = pool_strndup(pool, token, (size_t)(slash - token));
	part->subtype = pool_strdup(pool, slash + 1);
	return true;
}

void mime_part_init_content(struct pool *pool, struct mime_part *part,
			    bool digest_child)
{
	const struct mime_field *ct = mime_header_find(part, "Content-Type");
	const struct mime_field *cte =
		mime_header_find(part, "Content-Transfer-Encoding");
	const char *token = "";

	part->params = NULL;
	part->params_count = 0;
	if (ct != NULL) {
		mime_param_parse(pool, ct->value, ct->value_len, &token,
				 &part->params, &part->params_count);
	}
	if (ct == NULL || !split_type(pool, part, token))
		set_default_type(part, digest_child);
	part->encoding = cte == NULL ? MIME_ENCODING_7BIT :
		mime_decode_encoding(cte->value, cte->value_len);

	const struct mime_param *b = mime_part_param(part, "boundary");
	const struct mime_param *cs = mime_part_param(part, "charset");
	part->charset = cs != NULL && cs->value[0] != '\0' ? cs->value : NULL;
	part->boundary = NULL;
	part->flags &= ~(MIME_PART_FLAG_MULTIPART | MIME_PART_FLAG_TEXT);
	if (strcmp(part->type, "multipart") == 0) {
		if (b != NULL && b->value[0] != '\0' && !b->extended) {
			part->boundary = b->value;
			part->flags |= MIME_PART_FLAG_MULTIPART;
		} else {
			/* Nothing to split on: read it as text (mime4j) */
			part->flags |= MIME_PART_FLAG_BAD_MULTIPART;
			part->type = "text";
			part->subtype = "plain";
		}
	}
	if (strcmp(part->type, "text") == 0)
		part->flags |= MIME_PART_FLAG_TEXT;
}

const struct mime_param *mime_part_param(const struct mime_part *part,
					 const char *name)
{
	for (unsigned int i = 0; i < part->params_count; i++) {
		if (str_eq_icase(part->params[i].name, name))
			return &part->params[i];
	}
	return NULL;
}

bool mime_part_is_message(const struct mime_part *part)
{
	return part->parent == NULL ||
		(part->parent->flags & MIME_PART_FLAG_RFC822) != 0;
}

struct mime_part *mime_part_next(const struct mime_part *root,
				 const struct mime_part *part)
{
	if (part->children != NULL)
		return part->children;
	while (part != root && part != NULL) {
		if (part->next != NULL)
			return part->next;
		part = part->parent;
	}
	return NULL;
}

struct mime_part *mime_part_next_text(const struct mime_part *root,
				      const struct mime_part *prev)
{
	struct mime_part *p = prev == NULL ? (struct mime_part *)root :
		mime_part_next(root, prev);

	for (; p != NULL; p = mime_part_next(root, p)) {
		if (p->children == NULL && (p->flags & MIME_PART_FLAG_TEXT) != 0)
			return p;
	}
	return NULL;
}

unsigned int mime_part_count(const struct mime_part *root)
{
	unsigned int n = 0;
	for (const struct mime_part *p = root; p != NULL; p = mime_part_next(root, p))
		n++;
	return n;
}

int mime_part_decode(const struct mime_part *part, const void *msg,
		     size_t msg_size, struct buf *out)
{
	struct mime_decoder dec;
	uint64_t start = part->body_offset, size = part->body_size;

	if (start > msg_size)
		start = msg_size;
	if (size > msg_size - start)
		size = msg_size - start;
	mime_decode_init(&dec, part->encoding);
	if (mime_decode_feed(&dec, (const unsigned char *)msg + start,
			     (size_t)size, out) < 0)
		return 0;
	return mime_decode_finish(&dec, out) < 0 ? 0 : 1;
}

const char *mime_part_text(struct pool *pool, const struct mime_part *part,
			   const void *msg, size_t msg_size, size_t max_size,
			   size_t *len_r, bool *truncated_r)
{
	struct buf raw, text;
	int full;

	buf_init(&raw, max_size == 0 ? 1 : max_size);
	full = mime_part_decode(part, msg, msg_size, &raw);
	/* UTF-8 output of a single-byte charset or U+FFFD replacement is
	   at most three bytes per input byte; UTF-16 less. */
	buf_init_pool(&text, pool, 0);
	if (buf_reserve(&text, raw.len * 3 + 1) < 0)
		ombu_oom();
	(void)mime_charset_to_utf8(part->charset, raw.data == NULL ? "" : raw.data,
				   raw.len, &text);
	buf_free(&raw);
	if (len_r != NULL)
		*len_r = text.len;
	if (truncated_r != NULL)
		*truncated_r = full == 0;
	return text.data == NULL ? "" : text.data;
}
