/*
 * libFuzzer target for the IMAP command parser (src/proto/imap-proto.h)
 * and the small codecs beside it.
 *
 * Input: byte 0 picks the chunking (0: everything at once), byte 1 the
 * settings (line limit, nesting limit, literal policy); the rest is what
 * a client sent.  Checks, besides crashes and sanitizer reports:
 *  - the parser consumes at most what it is given, and never stalls
 *    (each feed either consumes or returns a result);
 *  - the commands and errors are the same whatever the chunking (the
 *    transcript of one-shot and chunked parses is compared);
 *  - every parsed command's arguments render and stay within their
 *    nesting limit, literals hold exactly their announced size;
 *  - sequence sets, dates and modified UTF-7 taken from the input round
 *    trip: a parsed set written back parses to the same set; UTF-8 made
 *    from mUTF-7 goes back to the same mUTF-7 and is valid UTF-8.
 */

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/imap-proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

static size_t next_end(uint32_t *seed, size_t pos, size_t size)
{
	if (*seed == 0)
		return size;
	*seed = *seed * 1103515245u + 12345u;
	size_t end = pos + ((*seed >> 16) % 16) + 1;
	return end < size ? end : size;
}

static unsigned int depth_of(const struct imap_arg *args, unsigned int count)
{
	unsigned int d = 0;
	for (unsigned int i = 0; i < count; i++) {
		if (args[i].type == IMAP_ARG_LIST) {
			unsigned int x = 1 + depth_of(args[i].list, args[i].count);
			if (x > d)
				d = x;
		} else {
			CHECK(args[i].str != NULL && args[i].str[args[i].len] == '\0');
		}
	}
	return d;
}

static void check_codecs(struct pool *pool, const struct imap_arg *args, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		if (a->type == IMAP_ARG_LIST) {
			check_codecs(pool, a->list, a->count);
			continue;
		}
		struct imap_seqset set;
		if (imap_seqset_parse(pool, a->str, &set) == 0) {
			imap_seqset_resolve(&set, 1000);
			struct buf b;
			buf_init_pool(&b, pool, 0);
			imap_seqset_write(&b, set.r, set.count);
			if (set.count > 0) {
				struct imap_seqset again;
				CHECK(imap_seqset_parse(pool, buf_cstr(&b), &again) == 0);
				imap_seqset_resolve(&again, 1000);
				CHECK(again.count == set.count);
				CHECK(memcmp(again.r, set.r, set.count * sizeof(*set.r)) == 0);
			}
		}
		time_t t;
		int tz;
		if (imap_datetime_parse(a->str, &t, &tz) == 0) {
			struct buf b;
			buf_init_pool(&b, pool, 0);
			imap_datetime_write(&b, t, tz);
		}
		(void)imap_date_parse(a->str, &t);
		struct buf u8, u7;
		buf_init_pool(&u8, pool, 0);
		buf_init_pool(&u7, pool, 0);
		if (imap_utf7_to_utf8(a->str, &u8) == 0) {
			CHECK(imap_utf8_valid(buf_cstr(&u8), u8.len));
			CHECK(imap_utf8_to_utf7(buf_cstr(&u8), &u7) == 0);
			CHECK(strcmp(buf_cstr(&u7), a->str) == 0);
		}
		struct buf w;
		buf_init_pool(&w, pool, 0);
		imap_write_astring(&w, a->str, a->len);
		imap_write_string(&w, a->str, a->len, true);
	}
}

/* Parses everything, writing what came out into the transcript. */
static void run(const uint8_t *data, size_t size, const struct imap_parser_settings *set,
		uint64_t lit_max, uint32_t seed, struct buf *log, bool codecs)
{
	struct pool *pool = pool_create("fuzz", 0);
	struct imap_parser *p = imap_parser_create(pool, set);
	size_t pos = 0, end = 0;
	unsigned int results = 0;
	while (pos < size && results < 1000) {
		if (end <= pos)
			end = next_end(&seed, pos, size);
		size_t used;
		enum imap_parse_result r = imap_parser_feed(p, data + pos, end - pos, &used);
		CHECK(used <= end - pos);
		pos += used;
		switch (r) {
		case IMAP_PARSE_MORE:
			CHECK(pos == end);
			break;
		case IMAP_PARSE_LITERAL: {
			uint64_t n;
			bool sync, lit8;
			imap_parser_literal(p, &n, &sync, &lit8);
			buf_printf(log, "L%llu%c%c;", (unsigned long long)n, sync ? 's' : 'n', lit8 ? '8' : '-');
			if (n <= lit_max)
				imap_parser_literal_accept(p);
			else
				imap_parser_literal_refuse(p, "refused");
			/* a refused synchronising literal ends the command now */
			if (imap_parser_feed(p, "", 0, &used) == IMAP_PARSE_ERROR) {
				buf_printf(log, "E%s;", imap_parser_error(p, NULL));
				imap_parser_reset(p);
				results++;
			}
			break;
		}
		case IMAP_PARSE_DONE: {
			const struct imap_command *c = imap_parser_command(p);
			CHECK(c != NULL && c->tag != NULL && c->name != NULL);
			CHECK(depth_of(c->args, c->count) <= set->max_depth);
			buf_printf(log, "C%s %s ", c->tag, c->name);
			imap_args_write(log, c->args, c->count);
			buf_append_c(log, ';');
			if (codecs)
				check_codecs(pool, c->args, c->count);
			pool_clear(pool);
			p = imap_parser_create(pool, set);
			results++;
			break;
		}
		case IMAP_PARSE_ERROR: {
			bool fatal;
			const char *e = imap_parser_error(p, &fatal);
			buf_printf(log, "E%s%s;", e, fatal ? "!" : "");
			if (fatal)
				pos = size;
			imap_parser_reset(p);
			results++;
			break;
		}
		}
	}
	pool_destroy(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint32_t seed = data[0];
	uint8_t s = data[1];
	struct imap_parser_settings set = {
		.max_line = (s & 1) ? 64 : 65536,
		.max_depth = (s & 2) ? 3 : 16,
		.max_args = (s & 4) ? 20 : 0,
	};
	uint64_t lit_max = (s & 8) ? 4 : 1 << 20;
	data += 2;
	size -= 2;
	struct buf whole, chunked;
	buf_init(&whole, 0);
	buf_init(&chunked, 0);
	run(data, size, &set, lit_max, 0, &whole, true);
	run(data, size, &set, lit_max, seed == 0 ? 1 : seed, &chunked, false);
	CHECK(whole.len == chunked.len && memcmp(whole.data, chunked.data, whole.len) == 0);
	buf_free(&whole);
	buf_free(&chunked);
	return 0;
}
