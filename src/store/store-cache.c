/* What IMAP clients fetch most, computed once at delivery (src/mime) and
 * kept in the message's row so that listing a folder never decompresses
 * a body.  The row holds it compressed (index version 4): about 1 KB of
 * ENVELOPE, BODYSTRUCTURE, BODY and header lines per message and per
 * owner was most of an index; decompressing it costs about a
 * microsecond a message. */

#include "store-private.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"

#include <string.h>
#include <zstd.h>

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

/* ------------------------------------------------------------------ */
/* In the index: one compressed column                                 */

/* Most rows are 600 bytes to 2 KB; the header lines stop at 8 KB. */
#define CACHE_PLAIN_MAX (4 * CACHED_HEADERS_MAX)

int cache_pack(struct store *st, const struct store_cache *c, struct buf *out,
	       const char **error_r)
{
	const char *fields[] = { c->envelope, c->bodystructure, c->body, c->headers };
	if (!fields[0] && !fields[1] && !fields[2] && !fields[3])
		return 1;
	struct buf plain;
	buf_init(&plain, 0);
	unsigned char present = 0;
	buf_append_c(&plain, '\0');
	for (unsigned i = 0; i < N_ELEMENTS(fields); i++) {
		if (fields[i] == NULL)
			continue;
		present |= (unsigned char)(1u << i);
		buf_append(&plain, fields[i], strlen(fields[i]) + 1);
	}
	plain.data[0] = (char)present;
	size_t bound = ZSTD_compressBound(plain.len);
	int r = -1;
	if (plain.len > CACHE_PLAIN_MAX) {
		*error_r = "the IMAP cache of this message is too big";
	} else if (buf_reserve(out, bound) < 0) {
		*error_r = "the IMAP cache does not fit the buffer";
	} else {
		size_t n = dict_compress_cache(st, plain.data, plain.len, out->data + out->len, bound);
		if (ZSTD_isError(n)) {
			*error_r = store_errf("cannot compress the IMAP cache: %s", ZSTD_getErrorName(n));
		} else {
			out->len += n;
			r = 0;
		}
	}
	buf_free(&plain);
	return r;
}

int cache_unpack(struct store *st, struct pool *pool, const void *z, size_t zlen,
		 struct store_cache *c)
{
	memset(c, 0, sizeof(*c));
	if (z == NULL || zlen == 0)
		return 0;
	unsigned long long size = ZSTD_getFrameContentSize(z, zlen);
	if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR || size == 0 ||
	    size > CACHE_PLAIN_MAX)
		return -1;
	char *plain = pool_alloc_nz(pool, (size_t)size + 1);
	size_t n = dict_decompress(st, z, zlen, plain, (size_t)size);
	if (ZSTD_isError(n) || n != size)
		return -1;
	plain[n] = '\0';
	const char **fields[] = { &c->envelope, &c->bodystructure, &c->body, &c->headers };
	unsigned char present = (unsigned char)plain[0];
	size_t off = 1;
	for (unsigned i = 0; i < N_ELEMENTS(fields); i++) {
		if ((present & (1u << i)) == 0)
			continue;
		if (off >= n) {
			memset(c, 0, sizeof(*c));
			return -1;
		}
		*fields[i] = plain + off;
		off += strlen(plain + off) + 1;
	}
	return 0;
}
