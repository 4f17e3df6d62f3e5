/*
 * libFuzzer target for the MIME layer (src/mime/mime.h).
 *
 * Input: byte 0 picks the chunking seed, byte 1 the settings (small
 * limits, STARTS_BODY mode), the rest is the message.  Besides crashes
 * and sanitizer reports it checks invariants:
 *  - one-shot and chunked parses give the same tree;
 *  - every part's ranges lie inside the message and nest in their
 *    parent; header + body are contiguous; limits hold;
 *  - BODYSTRUCTURE/ENVELOPE build, sections resolve inside the message,
 *    decoded text is valid UTF-8, header decoding gives valid UTF-8.
 *
 * Seeds: tests/fuzz/seeds/mime/ (or the whole of shared/corpus/mime/).
 */

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "mime/mime.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static void dump(struct buf *out, const struct mime_part *p)
{
	buf_printf(out, "[%s/%s %x %llu %llu %llu %llu %llu %llu %llu %llu %llu %u",
		   p->type, p->subtype, p->flags,
		   (unsigned long long)p->header_offset,
		   (unsigned long long)p->header_size,
		   (unsigned long long)p->body_offset,
		   (unsigned long long)p->body_size,
		   (unsigned long long)p->body_lines,
		   (unsigned long long)p->body_vsize,
		   (unsigned long long)p->preamble_size,
		   (unsigned long long)p->epilogue_offset,
		   (unsigned long long)p->epilogue_size, p->fields_count);
	for (unsigned int i = 0; i < p->fields_count; i++)
		buf_printf(out, "{%s %llu}", p->fields[i].name,
			   (unsigned long long)p->fields[i].offset);
	for (const struct mime_part *c = p->children; c != NULL; c = c->next)
		dump(out, c);
	buf_append_c(out, ']');
}

static struct mime_part *parse(struct pool *pool, const uint8_t *msg,
			       size_t size, const struct mime_parser_settings *set,
			       uint32_t seed)
{
	struct mime_parser *p = mime_parser_create(pool, set);
	for (size_t i = 0; i < size;) {
		size_t n = size - i;
		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			n = MIN(n, (size_t)((seed >> 16) % 64) + 1);
		}
		mime_parser_feed(p, msg + i, n);
		i += n;
	}
	struct mime_part *root = mime_parser_finish(p);
	mime_parser_destroy(&p);
	return root;
}

static void check_tree(const struct mime_part *root, size_t size,
		       const struct mime_parser_settings *set)
{
	unsigned int n = 0;
	unsigned int max_parts = set->limits.max_parts != 0 ?
		set->limits.max_parts : MIME_DEFAULT_MAX_PARTS;

	for (const struct mime_part *p = root; p != NULL; p = mime_part_next(root, p)) {
		n++;
		CHECK(p->header_offset + p->header_size == p->body_offset);
		CHECK(p->body_offset + p->body_size <= size);
		CHECK(p->body_lines <= p->body_size);
		CHECK(p->body_vsize >= p->body_size);
		if (p->parent != NULL) {
			const struct mime_part *q = p->parent;
			CHECK(p->header_offset >= q->body_offset);
			CHECK(p->body_offset + p->body_size <= q->body_offset + q->body_size);
			CHECK(p->depth == q->depth + 1);
		}
		if (p->flags & MIME_PART_FLAG_MULTIPART) {
			CHECK(p->preamble_size <= p->body_size);
			CHECK(p->epilogue_offset + p->epilogue_size <=
			      p->body_offset + p->body_size);
		}
		for (unsigned int i = 0; i < p->fields_count; i++)
			CHECK(p->fields[i].offset + p->fields[i].size <= p->body_offset);
	}
	CHECK(n <= max_parts);
	CHECK(root->body_offset + root->body_size == size);
}

static void exercise(struct pool *pool, const struct mime_part *root,
		     const uint8_t *msg, size_t size)
{
	static const char *const specs[] = {
		"", "1", "2", "1.1", "1.2", "2.1", "1.1.1", "HEADER", "TEXT",
		"1.MIME", "2.MIME", "1.HEADER", "1.TEXT", "2.HEADER.FIELDS (From To)",
		"1.1.HEADER.FIELDS.NOT (Subject)", "HEADER.FIELDS (Content-Type)",
	};
	struct buf out;

	buf_init(&out, 0);
	mime_imap_bodystructure(&out, root, MIME_IMAP_EXTENDED);
	buf_reset(&out);
	mime_imap_bodystructure(&out, root, MIME_IMAP_VIRTUAL_SIZES);
	for (size_t i = 0; i < N_ELEMENTS(specs); i++) {
		struct mime_section sec;
		const char *error;
		int r = mime_imap_section(pool, root, specs[i], &sec, &error);
		CHECK(r >= 0);
		if (r == 1) {
			CHECK(sec.offset + sec.size <= size);
			buf_reset(&out);
			mime_imap_section_data(&out, &sec, msg, size);
		}
	}
	for (const struct mime_part *p = root; p != NULL; p = mime_part_next(root, p)) {
		if (mime_part_is_message(p)) {
			buf_reset(&out);
			mime_imap_envelope(&out, p);
			const char *s = mime_header_get_utf8(pool, p, "Subject");
			CHECK(s == NULL || mime_charset_is_valid_utf8(s, strlen(s)));
			const struct mime_field *d = mime_header_find(p, "Date");
			time_t t;
			int tz;
			if (d != NULL)
				(void)mime_date_parse(d->value, d->value_len, &t, &tz);
		}
		if (p->children == NULL) {
			size_t len;
			const char *text = mime_part_text(pool, p, msg, size, 4096, &len, NULL);
			CHECK(mime_charset_is_valid_utf8(text, len));
		}
		for (unsigned int i = 0; i < p->params_count; i++) {
			const char *v = mime_param_value_utf8(pool, &p->params[i]);
			CHECK(mime_charset_is_valid_utf8(v, strlen(v)));
		}
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_parser_settings set;

	if (size < 2)
		return 0;
	uint32_t seed = data[0] | 1u;
	uint8_t opts = data[1];
	data += 2;
	size -= 2;

	memset(&set, 0, sizeof(set));
	if (opts & 1) {
		set.limits.max_depth = 1 + (opts >> 5);
		set.limits.max_parts = 2 + ((opts >> 2) & 7);
		set.limits.max_header_size = 16 + (opts & 0xe0);
		set.limits.max_headers_total = 256;
	}
	if (opts & 2)
		set.flags |= MIME_PARSER_FLAG_MALFORMED_HEADER_STARTS_BODY;

	struct pool *pool = pool_create("fuzz-mime", 0);
	struct mime_part *root = parse(pool, data, size, &set, 0);
	struct mime_part *chunked = parse(pool, data, size, &set, seed);
	struct buf a, b;
	buf_init(&a, 0);
	buf_init(&b, 0);
	dump(&a, root);
	dump(&b, chunked);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	buf_free(&a);
	buf_free(&b);

	check_tree(root, size, &set);
	exercise(pool, root, data, size);
	pool_destroy(&pool);
	return 0;
}
