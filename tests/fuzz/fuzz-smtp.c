/*
 * libFuzzer target for the SMTP codec (src/proto/smtp-proto.h).
 *
 * Input: byte 0 picks the parser, byte 1 the settings, the rest is
 * what the peer sent.  Besides crashes and sanitizer reports, each
 * branch checks invariants:
 *  - commands: the pipelining reader gives the same lines however the
 *    input is chunked; a parsed path written back parses to an equal
 *    address; every refusal makes a valid reply that parses back;
 *  - DATA/BDAT: one-shot and chunked decoding agree byte for byte, and
 *    DATA agrees with a naive reference decoder;
 *  - replies: one-shot and bytewise parsing agree; whatever text we
 *    build a reply from, it parses back with the same code and no line
 *    over 512 octets.
 */

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/smtp-proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			__builtin_trap(); \
	} while (0)

/* The end of the next chunk: all of it without a seed, else 1..16
 * bytes further as the seed (derived from the input) says. */
static size_t next_end(uint32_t *seed, size_t pos, size_t size)
{
	if (*seed == 0)
		return size;
	*seed = *seed * 1103515245u + 12345u;
	size_t end = pos + ((*seed >> 16) % 16) + 1;
	return end < size ? end : size;
}

/* ---- commands ---- */

static void check_reply_of(struct pool *pool, const struct smtp_error *err)
{
	struct buf out;
	struct smtp_reply *r;
	const char *error;
	size_t used;

	CHECK(err->code >= 400 && err->code <= 599);
	buf_init_pool(&out, pool, 0);
	CHECK(smtp_reply_write_error(&out, err, true) == 0);
	struct smtp_reply_parser *p = smtp_reply_parser_create(pool, NULL);
	CHECK(smtp_reply_parser_feed(p, pool, out.data, out.len, &used, &r, &error) == 1);
	CHECK(used == out.len && r->code == err->code);
	CHECK(r->enhanced != NULL && strcmp(r->enhanced, err->enhanced) == 0);
}

static void check_path_round_trip(struct pool *pool, const struct smtp_address *a)
{
	struct smtp_address again, n1, n2;
	const char *error;
	struct buf out;
	size_t used;

	buf_init_pool(&out, pool, 0);
	smtp_address_write_path(&out, a);
	CHECK(smtp_address_parse_path(pool, out.data, out.len,
				      SMTP_ADDRESS_PARSE_UTF8 | SMTP_ADDRESS_PARSE_ALLOW_NULL |
				      SMTP_ADDRESS_PARSE_POSTMASTER |
				      SMTP_ADDRESS_PARSE_BAD_LOCALPART,
				      &again, &used, &error) == 0);
	CHECK(used == out.len);
	CHECK(smtp_address_cmp(a, &again, false) == 0);
	CHECK(smtp_address_cmp(&again, a, false) == 0);
	smtp_address_normalize(pool, a, &n1);
	smtp_address_normalize(pool, &n1, &n2);
	CHECK(smtp_address_cmp(&n1, &n2, false) == 0);
	CHECK(smtp_address_cmp(a, &n1, false) == 0);
	if (smtp_address_is_plain(a))
		CHECK(a->domain != NULL && a->route == NULL);
}

static void parse_one(struct pool *pool, const struct smtp_parse_settings *set,
		      const unsigned char *line, size_t len)
{
	struct smtp_command cmd;
	struct smtp_error err;

	if (smtp_command_parse(pool, set, line, len, &cmd, &err) < 0) {
		check_reply_of(pool, &err);
		return;
	}
	CHECK(err.id == SMTP_ERROR_NONE);
	if (cmd.verb == SMTP_VERB_MAIL || cmd.verb == SMTP_VERB_RCPT)
		check_path_round_trip(pool, &cmd.path);
	if (cmd.verb == SMTP_VERB_UNKNOWN)
		__builtin_trap();
}

/* Reads all lines with the given chunking; returns them joined with a
 * marker so that two chunkings can be compared. */
static void read_lines(struct pool *pool, const struct smtp_parse_settings *set,
		       const uint8_t *data, size_t size, uint32_t seed, bool parse,
		       struct buf *events)
{
	struct smtp_command_reader *r = smtp_command_reader_create(pool, 64, set->flags);
	size_t pos = 0;

	while (pos < size) {
		size_t end = next_end(&seed, pos, size);
		while (pos < end) {
			const unsigned char *line;
			size_t used, len;
			struct smtp_error err;
			int ret = smtp_command_reader_read(r, data + pos, end - pos, &used, &line,
							   &len, &err);
			CHECK(used <= end - pos && (used > 0 || ret != 0));
			pos += used;
			if (ret < 0) {
				buf_printf(events, "E%d|", (int)err.id);
			} else if (ret == 1) {
				CHECK(len + 1 <= 64);
				buf_append(events, line, len);
				buf_append_str(events, "|");
				if (parse)
					parse_one(pool, set, line, len);
			}
		}
	}
}

static void fuzz_commands(struct pool *pool, uint8_t opt, const uint8_t *data, size_t size)
{
	struct smtp_parse_settings set = {
		.protocol = (opt & 1) != 0 ? SMTP_PROTOCOL_LMTP : SMTP_PROTOCOL_SMTP,
		.caps = (opt & 2) != 0 ? SMTP_CAP_ALL : SMTP_CAP_SIZE | SMTP_CAP_8BITMIME,
		.flags = (unsigned)(opt >> 2) & 0x1f,
	};
	struct buf a, b;

	/* the input as one line, as the engine would hand it over */
	parse_one(pool, &set, data, size);
	buf_init_pool(&a, pool, 0);
	buf_init_pool(&b, pool, 0);
	read_lines(pool, &set, data, size, 0, true, &a);
	read_lines(pool, &set, data, size, (uint32_t)size * 2654435761u + opt, false, &b);
	CHECK(a.len == b.len && memcmp(buf_cstr(&a), buf_cstr(&b), a.len) == 0);
}

/* ---- DATA and BDAT ---- */

struct sink {
	struct buf out;
};

static int sink_append(void *ctx, const void *data, size_t len)
{
	struct sink *s = ctx;
	CHECK(len > 0);
	return buf_append(&s->out, data, len);
}

struct data_result {
	struct sink sink;
	size_t consumed;
	int ret;
	unsigned flags;
};

static void data_run(struct pool *pool, const struct smtp_data_settings *set,
		     const uint8_t *data, size_t size, uint32_t seed, struct data_result *r)
{
	struct smtp_data_decoder *dec;
	size_t pos = 0;

	buf_init_pool(&r->sink.out, pool, 0);
	dec = smtp_data_decoder_create(pool, set, sink_append, &r->sink);
	r->ret = 0;
	if (set->mode != SMTP_DATA_MODE_DATA)
		CHECK(smtp_data_decoder_chunk(dec, size / 2, set->max_line != 0) == 0);
	while (pos < size && r->ret == 0) {
		size_t end = next_end(&seed, pos, size);
		size_t used;
		r->ret = smtp_data_decoder_feed(dec, data + pos, end - pos, &used);
		CHECK(r->ret >= 0 && used <= end - pos);
		CHECK(r->ret == 1 || used == end - pos);
		pos += used;
	}
	r->consumed = pos;
	r->flags = smtp_data_decoder_flags(dec);
	CHECK(smtp_data_decoder_raw_size(dec) == pos);
	if (set->max_size != 0)
		CHECK(r->sink.out.len <= set->max_size);
	CHECK(((r->flags & SMTP_DATA_F_TOO_BIG) != 0) ==
	      (smtp_data_decoder_size(dec) > r->sink.out.len));
}

/* DATA the naive way: the end is the first CRLF.CRLF (the data starts
 * after a CRLF), dots deleted at the start of every CRLF line. */
static void data_reference(const uint8_t *in, size_t len, struct buf *out, size_t *end_r)
{
	size_t end = (size_t)-1;

	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		end = 0;
	for (size_t i = 0; end == (size_t)-1 && i + 5 <= len; i++) {
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			end = i + 2;
	}
	*end_r = end;
	if (end == (size_t)-1)
		return;
	for (size_t i = 0; i < end; i++) {
		bool start = i == 0 || (i >= 2 && in[i - 1] == '\n' && in[i - 2] == '\r');
		if (!(start && in[i] == '.'))
			buf_append_c(out, (char)in[i]);
	}
}

static void fuzz_data(struct pool *pool, uint8_t opt, const uint8_t *data, size_t size)
{
	struct smtp_data_settings set = {
		.mode = (enum smtp_data_mode)((opt & 3) % 3),
		.max_line = (opt & 4) != 0 ? 16 : 0,
		.max_size = (opt & 8) != 0 ? 32 : 0,
	};
	struct data_result one, chunked;

	data_run(pool, &set, data, size, 0, &one);
	data_run(pool, &set, data, size, (uint32_t)opt * 2654435761u + (uint32_t)size, &chunked);
	CHECK(one.ret == chunked.ret && one.consumed == chunked.consumed);
	CHECK(one.flags == chunked.flags);
	CHECK(one.sink.out.len == chunked.sink.out.len);
	CHECK(memcmp(buf_cstr(&one.sink.out), buf_cstr(&chunked.sink.out), one.sink.out.len) == 0);

	if (set.mode == SMTP_DATA_MODE_DATA && set.max_size == 0) {
		struct buf ref;
		size_t end;
		buf_init_pool(&ref, pool, 0);
		data_reference(data, size, &ref, &end);
		if (end != (size_t)-1) {
			CHECK(one.ret == 1 && one.consumed == end + 3);
			CHECK(ref.len == one.sink.out.len &&
			      memcmp(buf_cstr(&ref), buf_cstr(&one.sink.out), ref.len) == 0);
		} else {
			CHECK(one.ret == 0 && one.consumed == size);
		}
	}
}

/* ---- replies ---- */

static void reply_parse_all(struct pool *pool, const uint8_t *data, size_t size, bool bytewise,
			    struct buf *events)
{
	struct smtp_reply_parser_settings s = { .max_line = 128, .max_lines = 8 };
	struct smtp_reply_parser *p = smtp_reply_parser_create(pool, &s);
	size_t pos = 0;

	while (pos < size) {
		size_t end = bytewise ? pos + 1 : size;
		while (pos < end) {
			struct smtp_reply *r;
			const char *error;
			size_t used;
			int ret = smtp_reply_parser_feed(p, pool, data + pos, end - pos, &used, &r,
							 &error);
			CHECK(used <= end - pos);
			pos += used;
			if (ret < 0) {
				buf_printf(events, "E:%s", error);
				return;
			}
			if (ret == 1) {
				CHECK(r->n_lines > 0);
				buf_printf(events, "%u/%s", r->code, r->enhanced ? r->enhanced : "");
				for (size_t i = 0; i < r->n_lines; i++)
					buf_printf(events, "|%s", r->lines[i]);
				buf_append_c(events, '\n');
			} else {
				CHECK(pos == end);
			}
		}
	}
}

static void fuzz_reply(struct pool *pool, uint8_t opt, const uint8_t *data, size_t size)
{
	struct buf a, b, out;

	buf_init_pool(&a, pool, 0);
	buf_init_pool(&b, pool, 0);
	reply_parse_all(pool, data, size, false, &a);
	reply_parse_all(pool, data, size, true, &b);
	CHECK(a.len == b.len && memcmp(buf_cstr(&a), buf_cstr(&b), a.len) == 0);

	/* building from arbitrary text */
	char *text = pool_strndup(pool, (const char *)data, size);
	unsigned code = 200 + (opt % 4) * 100 + (opt / 4 % 6) * 10 + opt % 10;
	code = code > 599 ? 599 : code;
	const char *enhanced = (opt & 0x80) != 0 ? NULL :
			       pool_printf(pool, "%u.7.%u", code / 100, opt % 3);
	buf_init_pool(&out, pool, 0);
	CHECK(smtp_reply_write(&out, code, enhanced, text) == 0);
	struct smtp_reply_parser *p = smtp_reply_parser_create(pool, NULL);
	struct smtp_reply *r;
	const char *error;
	size_t used;
	CHECK(smtp_reply_parser_feed(p, pool, out.data, out.len, &used, &r, &error) == 1);
	CHECK(used == out.len && r->code == code && !r->bare_lf);
	/* the text itself may start with something like an enhanced code */
	if (enhanced != NULL)
		CHECK(r->enhanced != NULL && strcmp(r->enhanced, enhanced) == 0);
	for (size_t i = 0; i + 1 < out.len; i++) {
		if (out.data[i] == '\r')
			CHECK(out.data[i + 1] == '\n');
		if (out.data[i + 1] == '\n')
			CHECK(out.data[i] == '\r');
	}
	for (size_t i = 0; i < r->n_lines; i++)
		CHECK(strlen(r->lines[i]) + 6 + (enhanced ? strlen(enhanced) + 1 : 0) <=
		      SMTP_REPLY_LINE_MAX);
}

/* ---- bare addresses ---- */

static void fuzz_address(struct pool *pool, uint8_t opt, const uint8_t *data, size_t size)
{
	struct smtp_address a;
	const char *error;
	size_t used;

	if (smtp_address_parse_path(pool, data, size, opt & 0x1f, &a, &used, &error) == 0) {
		CHECK(used <= size);
		check_path_round_trip(pool, &a);
	} else {
		CHECK(error != NULL);
	}
	unsigned flags;
	(void)smtp_address_check_domain((const char *)data, size, (opt & 0x20) != 0, &flags);
	const char *decoded;
	if (smtp_params_xtext_decode(pool, (const char *)data, size, &decoded) == 0) {
		struct buf enc;
		buf_init_pool(&enc, pool, 0);
		smtp_params_xtext_encode(&enc, decoded, strlen(decoded));
		const char *again;
		CHECK(smtp_params_xtext_decode(pool, enc.data != NULL ? enc.data : "", enc.len,
					       &again) == 0);
		CHECK(strcmp(again, decoded) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 4096)
		return 0;
	struct pool *pool = pool_create("fuzz", 0);
	uint8_t mode = data[0], opt = data[1];

	data += 2;
	size -= 2;
	switch (mode % 4) {
	case 0:
		fuzz_commands(pool, opt, data, size);
		break;
	case 1:
		fuzz_data(pool, opt, data, size);
		break;
	case 2:
		fuzz_reply(pool, opt, data, size);
		break;
	default:
		fuzz_address(pool, opt, data, size);
		break;
	}
	pool_destroy(&pool);
	return 0;
}
