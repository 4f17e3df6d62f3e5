/*
 * libFuzzer target for the POP3 codec (src/proto/pop3-proto.h).
 *
 * Input: byte 0 picks the part, byte 1 its options, the rest is what the
 * peer sent (commands) or a message (the stuffer).  Besides crashes and
 * sanitizer reports, each branch checks invariants:
 *  - commands: the line reader gives the same lines and refusals however
 *    the input is chunked, never a line longer than its limit; a parsed
 *    command has the arguments its verb needs, and its numbers written
 *    back parse to the same command;
 *  - stuffing: whole, chunked and byte-by-byte output agree; the output
 *    ends in the one terminator CRLF.CRLF and holds no earlier one;
 *    un-stuffed, it is the message (plus the CRLF added when missing);
 *    a TOP response is a prefix of the RETR response.
 */

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/pop3-proto.h"

#include <stdint.h>
#include <stdio.h>
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
	if (*seed == 1)
		return pos + 1;
	*seed = *seed * 1103515245u + 12345u;
	size_t end = pos + ((*seed >> 16) % 16) + 1;
	return end < size ? end : size;
}

/* ---- commands ---- */

static void parse_one(struct pool *pool, const unsigned char *line, size_t len)
{
	struct pop3_command cmd;
	enum pop3_error err;

	if (pop3_command_parse(pool, line, len, &cmd, &err) < 0) {
		CHECK(err != POP3_ERROR_NONE && err < POP3_ERROR_COUNT);
		CHECK(pop3_error_text(err)[0] != '\0');
		return;
	}
	CHECK(cmd.verb != POP3_VERB_UNKNOWN && cmd.verb < POP3_VERB_COUNT);
	switch (cmd.verb) {
	case POP3_VERB_USER:
	case POP3_VERB_PASS:
		CHECK(cmd.arg != NULL && cmd.arg[0] != '\0');
		break;
	case POP3_VERB_APOP:
		CHECK(cmd.arg != NULL && cmd.arg2 != NULL);
		break;
	case POP3_VERB_RETR:
	case POP3_VERB_DELE:
	case POP3_VERB_TOP:
		CHECK(cmd.has_msg);
		break;
	case POP3_VERB_AUTH:
		CHECK(cmd.arg != NULL || cmd.arg2 == NULL);
		break;
	default:
		break;
	}
	if (cmd.verb != POP3_VERB_USER && cmd.verb != POP3_VERB_PASS && cmd.verb != POP3_VERB_APOP &&
	    cmd.verb != POP3_VERB_AUTH) {
		/* written back in the canonical form, it means the same */
		char again[128];
		int n = snprintf(again, sizeof(again), "%s", pop3_verb_name(cmd.verb));
		if (cmd.has_msg)
			n += snprintf(again + n, sizeof(again) - (size_t)n, " %llu", (unsigned long long)cmd.msg);
		if (cmd.verb == POP3_VERB_TOP)
			n += snprintf(again + n, sizeof(again) - (size_t)n, " %llu", (unsigned long long)cmd.lines);
		struct pop3_command cmd2;
		enum pop3_error err2;
		CHECK(pop3_command_parse(pool, (const unsigned char *)again, (size_t)n, &cmd2, &err2) == 0);
		CHECK(cmd2.verb == cmd.verb && cmd2.has_msg == cmd.has_msg && cmd2.msg == cmd.msg &&
		      cmd2.lines == cmd.lines);
	}
}

static void read_lines(struct pool *pool, size_t max, const uint8_t *data, size_t size,
		       uint32_t seed, bool parse, struct buf *events)
{
	struct pop3_line_reader *r = pop3_line_reader_create(pool, max);
	size_t pos = 0;

	while (pos < size) {
		size_t end = next_end(&seed, pos, size);
		while (pos < end) {
			const unsigned char *line;
			size_t used, len;
			enum pop3_error err;
			int ret = pop3_line_reader_read(r, data + pos, end - pos, &used, &line, &len, &err);
			CHECK(used <= end - pos && used > 0);
			CHECK(ret == 1 || used == end - pos || ret < 0);
			pos += used;
			if (ret < 0) {
				CHECK(err == POP3_ERROR_LINE_TOO_LONG);
				buf_append_str(events, "\x01E");
			} else if (ret == 1) {
				CHECK(len + 1 <= max);
				buf_append_c(events, '\x01');
				buf_append(events, line, len);
				if (parse)
					parse_one(pool, line, len);
			}
		}
	}
	if (pop3_line_reader_pending(r))
		buf_append_str(events, "\x01P");
}

static void fuzz_commands(struct pool *pool, uint8_t opt, const uint8_t *data, size_t size)
{
	size_t max = 8 + (size_t)(opt & 0x3f) * 4;
	struct buf a, b, c;

	parse_one(pool, data, size);
	buf_init_pool(&a, pool, 0);
	buf_init_pool(&b, pool, 0);
	buf_init_pool(&c, pool, 0);
	read_lines(pool, max, data, size, 0, true, &a);
	read_lines(pool, max, data, size, 1, false, &b);
	read_lines(pool, max, data, size, (uint32_t)size * 2654435761u + opt + 2, false, &c);
	CHECK(a.len == b.len && memcmp(buf_cstr(&a), buf_cstr(&b), a.len) == 0);
	CHECK(a.len == c.len && memcmp(buf_cstr(&a), buf_cstr(&c), a.len) == 0);
}

/* ---- stuffing ---- */

static void sink(void *ctx, const void *data, size_t len)
{
	CHECK(len > 0);
	buf_append(ctx, data, len);
}

static size_t stuff(const uint8_t *in, size_t len, bool top, uint64_t lines, uint32_t seed, struct buf *out)
{
	struct pop3_stuffer s;
	size_t pos = 0;

	pop3_stuffer_init(&s, top, lines);
	while (pos < len && !pop3_stuffer_done(&s)) {
		size_t end = next_end(&seed, pos, len);
		size_t used = pop3_stuffer_feed(&s, in + pos, end - pos, sink, out);
		CHECK(used <= end - pos);
		CHECK(used == end - pos || pop3_stuffer_done(&s));
		pos += used;
	}
	CHECK(top || pos == len);
	CHECK(s.consumed == pos);
	pop3_stuffer_finish(&s, sink, out);
	CHECK(s.written == out->len);
	return pos;
}

/* Checks the terminator and un-stuffs (a line is what ends at LF). */
static void unstuff(const struct buf *out, struct buf *msg)
{
	const char *p = out->data;
	size_t len = out->len;
	CHECK(len >= 3 && memcmp(p + len - 3, ".\r\n", 3) == 0);
	CHECK(len == 3 || (len >= 5 && memcmp(p + len - 5, "\r\n", 2) == 0));
	/* no earlier terminator */
	if (len > 3) {
		CHECK(memcmp(p, ".\r\n", 3) != 0);
		const char *t = memmem(p, len, "\r\n.\r\n", 5);
		CHECK(t != NULL && (size_t)(t - p) == len - 5);
	}
	size_t body = len - 3;
	bool bol = true;
	for (size_t i = 0; i < body; i++) {
		if (bol && p[i] == '.') {
			CHECK(i + 1 < body && p[i + 1] == '.');
			i++;
		}
		buf_append_c(msg, p[i]);
		bol = p[i] == '\n';
	}
}

static void fuzz_stuffer(struct pool *pool, uint8_t opt, const uint8_t *data, size_t size)
{
	struct buf whole, bytes, chunked, msg;
	uint32_t seed = (uint32_t)size * 2654435761u + opt + 2;

	buf_init_pool(&whole, pool, 0);
	buf_init_pool(&bytes, pool, 0);
	buf_init_pool(&chunked, pool, 0);
	buf_init_pool(&msg, pool, 0);
	stuff(data, size, false, 0, 0, &whole);
	stuff(data, size, false, 0, 1, &bytes);
	stuff(data, size, false, 0, seed, &chunked);
	CHECK(whole.len == bytes.len && memcmp(whole.data, bytes.data, whole.len) == 0);
	CHECK(whole.len == chunked.len && memcmp(whole.data, chunked.data, whole.len) == 0);
	unstuff(&whole, &msg);
	CHECK(msg.len >= size && (size == 0 || memcmp(msg.data, data, size) == 0));
	CHECK(msg.len == size || (msg.len == size + 2 && memcmp(msg.data + size, "\r\n", 2) == 0));

	/* TOP: the same bytes as RETR, cut after the head and n lines */
	uint64_t lines = opt & 0x7f;
	struct buf top, top1;
	buf_init_pool(&top, pool, 0);
	buf_init_pool(&top1, pool, 0);
	size_t cut = stuff(data, size, true, lines, 0, &top);
	CHECK(stuff(data, size, true, lines, 1, &top1) == cut);
	CHECK(top.len == top1.len && memcmp(top.data, top1.data, top.len) == 0);
	struct buf tmsg;
	buf_init_pool(&tmsg, pool, 0);
	unstuff(&top, &tmsg);
	/* the message part of TOP is the message up to the cut, and a CRLF
	 * when the cut did not end with one */
	CHECK(tmsg.len == cut || (tmsg.len == cut + 2 && memcmp(tmsg.data + cut, "\r\n", 2) == 0));
	CHECK(cut == 0 || memcmp(tmsg.data, data, cut) == 0);
	if (cut < size)
		CHECK(cut > 0 && data[cut - 1] == '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 8192)
		return 0;
	struct pool *pool = pool_create("fuzz", 0);
	uint8_t mode = data[0], opt = data[1];

	data += 2;
	size -= 2;
	if (mode % 2 == 0)
		fuzz_commands(pool, opt, data, size);
	else
		fuzz_stuffer(pool, opt, data, size);
	pool_destroy(&pool);
	return 0;
}
