/*
 * Robustness over hard and malformed mail from other parsers' test data
 * (MimeKit, GMime, nodemailer/mailparser, CPython's email package):
 * every file under shared/corpus/mime/ except mime4j (which has its own
 * oracle test) is parsed, must give the same tree in one shot and in
 * random chunks, must keep its tree small (the body is never kept), and
 * gets its BODYSTRUCTURE, ENVELOPE, every section and every text part
 * computed.  Nothing here may crash, and ASan/UBSan builds run it too.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mime/mime.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CORPUS_MIME OMBU_CORPUS_DIR "/mime"

static const char *const folders[] = {
	"mimekit", "gmime", "mailparser", "python-email",
};

/* What a parse may hold on to, beyond the header bytes it keeps. */
#define TREE_BYTES_PER_PART 1024

struct stats {
	unsigned int files, parts;
	uint64_t bytes;
};

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_steal(&b, len_r);
}

static void dump(struct buf *out, const struct mime_part *p)
{
	buf_printf(out, "[%s/%s %x %llu+%llu %llu+%llu %llu %u", p->type, p->subtype,
		   p->flags, (unsigned long long)p->header_offset,
		   (unsigned long long)p->header_size,
		   (unsigned long long)p->body_offset,
		   (unsigned long long)p->body_size,
		   (unsigned long long)p->body_lines, p->fields_count);
	for (const struct mime_part *c = p->children; c != NULL; c = c->next)
		dump(out, c);
	buf_append_c(out, ']');
}

static struct mime_part *parse_random(struct pool *pool, const char *msg,
				      size_t size, unsigned int seed)
{
	struct mime_parser *p = mime_parser_create(pool, NULL);
	for (size_t i = 0; i < size;) {
		seed = seed * 1103515245u + 12345u;
		size_t n = MIN(size - i, (size_t)(1 + (seed >> 16) % 4096));
		mime_parser_feed(p, msg + i, n);
		i += n;
	}
	struct mime_part *root = mime_parser_finish(p);
	mime_parser_destroy(&p);
	return root;
}

/* Section specs for every part: "1.2", "1.2.MIME", and HEADER/TEXT. */
static void exercise_sections(struct pool *pool, const struct mime_part *root,
			      const char *msg, size_t size)
{
	static const char *const suffixes[] = {
		"", ".MIME", ".HEADER", ".TEXT", ".HEADER.FIELDS (From Subject)",
	};
	struct buf out;
	buf_init(&out, 0);
	for (unsigned int i = 1; i <= root->children_count + 1 && i <= 50; i++) {
		for (size_t s = 0; s < N_ELEMENTS(suffixes); s++) {
			char spec[128];
			struct mime_section sec;
			const char *error;
			snprintf(spec, sizeof(spec), "%u%s", i, suffixes[s]);
			int r = mime_imap_section(pool, root, spec, &sec, &error);
			assert_true(r >= 0);
			if (r == 1) {
				assert_true(sec.offset + sec.size <= size);
				buf_reset(&out);
				mime_imap_section_data(&out, &sec, msg, size);
			}
		}
	}
	buf_free(&out);
}

static void exercise(struct pool *pool, const struct mime_part *root,
		     const char *msg, size_t size)
{
	struct buf out;
	buf_init(&out, 0);
	mime_imap_bodystructure(&out, root, MIME_IMAP_EXTENDED);
	assert_true(out.len > 0);
	buf_reset(&out);
	mime_imap_bodystructure(&out, root, MIME_IMAP_VIRTUAL_SIZES);
	buf_reset(&out);
	for (const struct mime_part *p = root; p != NULL; p = mime_part_next(root, p)) {
		assert_true(p->body_offset + p->body_size <= size);
		assert_true(p->header_offset + p->header_size == p->body_offset);
		if (mime_part_is_message(p)) {
			buf_reset(&out);
			mime_imap_envelope(&out, p);
			(void)mime_header_get_utf8(pool, p, "Subject");
			(void)mime_header_get_all_utf8(pool, p, "Received");
		}
	}
	for (const struct mime_part *t = mime_part_next_text(root, NULL); t != NULL;
	     t = mime_part_next_text(root, t)) {
		size_t len;
		const char *text = mime_part_text(pool, t, msg, size, 1024 * 1024, &len, NULL);
		assert_true(mime_charset_is_valid_utf8(text, len));
	}
	exercise_sections(pool, root, msg, size);
	buf_free(&out);
}

static void parse_file(const char *path, struct stats *st)
{
	size_t size;
	char *msg = read_file(path, &size);
	if (msg == NULL)
		fail_msg("cannot read %s", path);

	struct pool *pool = pool_create("corpus", 0);
	struct mime_part *root = mime_parse(pool, msg, size, NULL);
	size_t used = pool_used(pool);
	unsigned int parts = mime_part_count(root);
	size_t kept = 0;
	for (const struct mime_part *p = root; p != NULL; p = mime_part_next(root, p)) {
		for (unsigned int i = 0; i < p->fields_count; i++)
			kept += p->fields[i].size + strlen(p->fields[i].name) + 64;
	}
	/* bounded: structure and kept headers, never the bodies */
	if (used > 2 * kept + (size_t)parts * TREE_BYTES_PER_PART + 65536)
		fail_msg("%s: tree uses %zu bytes for %u parts", path, used, parts);

	struct buf a, b;
	buf_init(&a, 0);
	buf_init(&b, 0);
	dump(&a, root);
	dump(&b, parse_random(pool, msg, size, (unsigned int)size));
	if (strcmp(buf_cstr(&a), buf_cstr(&b)) != 0)
		fail_msg("%s: chunked parse differs", path);
	buf_free(&a);
	buf_free(&b);

	exercise(pool, root, msg, size);
	st->files++;
	st->parts += parts;
	st->bytes += size;
	pool_destroy(&pool);
	free(msg);
}

static void walk(const char *dir, struct stats *st)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		fail_msg("cannot open %s", dir);
	while ((de = readdir(d)) != NULL) {
		char path[2048];
		struct stat sb;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			walk(path, st);
		else if (S_ISREG(sb.st_mode))
			parse_file(path, st);
	}
	closedir(d);
}

static void corpus_walk(void **state)
{
	(void)state;
	struct stats st = { 0 };

	for (size_t i = 0; i < N_ELEMENTS(folders); i++) {
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/%s", CORPUS_MIME, folders[i]);
		walk(dir, &st);
	}
	printf("mime corpus: %u files, %u parts, %llu bytes parsed\n", st.files,
	       st.parts, (unsigned long long)st.bytes);
	assert_true(st.files > 100);
}

int main(void)
{
	struct stat st;
	if (stat(CORPUS_MIME, &st) != 0) {
		printf("SKIP: MIME corpus not found at %s (shared/corpus missing)\n",
		       CORPUS_MIME);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(corpus_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
