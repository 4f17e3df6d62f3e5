/* What IMAP clients fetch most, computed once at delivery (src/mime) and
 * kept in the message's row so that listing a folder never decompresses
 * a body. */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"

#include <string.h>

#define CACHED_HEADERS_MAX 8192

/* The header fields clients ask for when they list a folder. */
static const char *const cached_fields[] = {
	"from", "to", "cc", "bcc", "subject", "date", "message-id", "in-reply-to", "references",
	"reply-to", "sender", "content-type", "priority", "x-priority", "importance", "list-id",
	NULL
};

bool store_cache_has_field(const char *name)
{
	for (const char *const *f = cached_fields; *f != NULL; f++) {
		if (str_eq_icase(name, *f))
			return true;
	}
	return false;
}

void store_cache_compute(struct pool *pool, const void *msg, size_t len, struct store_cache *c)
{
	memset(c, 0, sizeof(*c));
	struct mime_part *root = mime_parse(pool, msg, len, NULL);
	struct buf b;
	buf_init_pool(&b, pool, 0);
	mime_imap_envelope(&b, root);
	c->envelope = buf_cstr(&b);
	buf_init_pool(&b, pool, 0);
	mime_imap_bodystructure(&b, root, MIME_IMAP_EXTENDED);
	c->bodystructure = buf_cstr(&b);
	buf_init_pool(&b, pool, 0);
	mime_imap_bodystructure(&b, root, 0);
	c->body = buf_cstr(&b);
	/* The raw lines of the listed fields, in message order; left out
	 * when the header did not fit the parser's limits or is huge. */
	if (root->flags & MIME_PART_FLAG_HEADER_TRUNCATED)
		return;
	buf_init_pool(&b, pool, CACHED_HEADERS_MAX);
	const unsigned char *m = msg;
	for (unsigned i = 0; i < root->fields_count; i++) {
		const struct mime_field *f = &root->fields[i];
		if (!store_cache_has_field(f->name) || f->offset + f->size > len)
			continue;
		if (buf_append(&b, m + f->offset, (size_t)f->size) < 0)
			return;
	}
	c->headers = buf_cstr(&b);
}
