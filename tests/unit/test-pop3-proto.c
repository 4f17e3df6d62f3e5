/*
 * src/proto POP3 codec: the command parser, the pipelining line reader
 * and the dot-stuffing encoder of RETR and TOP.  Every parser case is a
 * line and the one-line description the parser must make of it (see
 * describe()), fed whole and one byte at a time through the reader.
 * Every stuffer case is checked whole, byte by byte, in random chunks and
 * against a naive reference.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/pop3-proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- commands ---- */

static void describe(struct buf *b, int r, const struct pop3_command *cmd, enum pop3_error err)
{
	if (r < 0) {
		buf_printf(b, "E:%s", pop3_error_name(err));
		return;
	}
	buf_append_str(b, pop3_verb_name(cmd->verb));
	if (cmd->has_msg)
		buf_printf(b, " msg=%llu", (unsigned long long)cmd->msg);
	if (cmd->verb == POP3_VERB_TOP)
		buf_printf(b, " lines=%llu", (unsigned long long)cmd->lines);
	if (cmd->arg != NULL)
		buf_printf(b, " arg=%s", cmd->arg);
	if (cmd->arg2 != NULL)
		buf_printf(b, " arg2=%s", cmd->arg2);
}

struct parse_case {
	const char *line;
	size_t len; /* 0: strlen */
	const char *expect;
};

static const struct parse_case parse_cases[] = {
	{ "STAT", 0, "STAT" },
	{ "stat", 0, "STAT" },
	{ "StAt", 0, "STAT" },
	{ "STAT ", 0, "STAT" },
	{ "STAT 1", 0, "E:args_extra" },
	{ "LIST", 0, "LIST" },
	{ "LIST 1", 0, "LIST msg=1" },
	{ "list  2  ", 0, "LIST msg=2" },
	{ "LIST 0", 0, "LIST msg=0" },
	{ "LIST 1 2", 0, "E:args_extra" },
	{ "LIST x", 0, "E:number" },
	{ "LIST -1", 0, "E:number" },
	{ "LIST +1", 0, "E:number" },
	{ "LIST 1x", 0, "E:number" },
	{ "LIST 18446744073709551615", 0, "LIST msg=18446744073709551615" },
	{ "LIST 18446744073709551616", 0, "E:number" },
	{ "RETR", 0, "E:args_missing" },
	{ "RETR ", 0, "E:args_missing" },
	{ "RETR 1", 0, "RETR msg=1" },
	{ "retr 42", 0, "RETR msg=42" },
	{ "RETR 1 2", 0, "E:args_extra" },
	{ "TOP 1 0", 0, "TOP msg=1 lines=0" },
	{ "top 3 10", 0, "TOP msg=3 lines=10" },
	{ "TOP 1", 0, "E:args_missing" },
	{ "TOP 1 2 3", 0, "E:args_extra" },
	{ "TOP 1 -2", 0, "E:number" },
	{ "DELE 3", 0, "DELE msg=3" },
	{ "DELE", 0, "E:args_missing" },
	{ "UIDL", 0, "UIDL" },
	{ "UIDL 5", 0, "UIDL msg=5" },
	{ "NOOP", 0, "NOOP" },
	{ "RSET", 0, "RSET" },
	{ "QUIT", 0, "QUIT" },
	{ "quit", 0, "QUIT" },
	{ "CAPA", 0, "CAPA" },
	{ "STLS", 0, "STLS" },
	{ "STLS now", 0, "E:args_extra" },
	{ "USER alice@example.test", 0, "USER arg=alice@example.test" },
	{ "user Alice@Example.TEST ", 0, "USER arg=Alice@Example.TEST" },
	{ "USER", 0, "E:args_missing" },
	{ "USER a b", 0, "E:args_extra" },
	{ "PASS secret", 0, "PASS arg=secret" },
	{ "PASS  two  spaces ", 0, "PASS arg= two  spaces " },
	{ "PASS \xc3\xa9t\xc3\xa9", 0, "PASS arg=\xc3\xa9t\xc3\xa9" },
	{ "PASS a\tb", 0, "PASS arg=a\tb" },
	{ "PASS", 0, "E:args_missing" },
	{ "PASS ", 0, "E:args_missing" },
	{ "APOP mrose c4c9334bac560ecc979e58001b3e22fb", 0,
	  "APOP arg=mrose arg2=c4c9334bac560ecc979e58001b3e22fb" },
	{ "APOP mrose", 0, "E:args_missing" },
	{ "AUTH", 0, "AUTH" },
	{ "AUTH PLAIN", 0, "AUTH arg=PLAIN" },
	{ "auth login", 0, "AUTH arg=login" },
	{ "AUTH PLAIN AGFsaWNlAHB3", 0, "AUTH arg=PLAIN arg2=AGFsaWNlAHB3" },
	{ "AUTH PLAIN =", 0, "AUTH arg=PLAIN arg2==" },
	{ "AUTH a b c", 0, "E:args_extra" },
	{ "", 0, "E:empty" },
	{ " STAT", 0, "E:unknown" },
	{ "STATS", 0, "E:unknown" },
	{ "ST", 0, "E:unknown" },
	{ "XTND XMIT", 0, "E:unknown" },
	{ "RETR\t1", 0, "E:unknown" },
	{ "STAT\x01", 0, "E:control" },
	{ "PASS a\x7f", 0, "E:control" },
	{ "STAT\0", 5, "E:control" },
	{ "PASS a\0b", 8, "E:control" },
	{ "RETR 1\r", 0, "E:control" },
};

static void parse_one(struct pool *pool, const unsigned char *line, size_t len, struct buf *out)
{
	struct pop3_command cmd;
	enum pop3_error err;
	int r = pop3_command_parse(pool, line, len, &cmd, &err);
	if (r < 0)
		assert_int_not_equal(err, POP3_ERROR_NONE);
	else
		assert_int_not_equal(cmd.verb, POP3_VERB_UNKNOWN);
	describe(out, r, &cmd, err);
}

static void commands(void **state)
{
	(void)state;
	struct pool *pool = pool_create("t", 0);
	for (size_t i = 0; i < N_ELEMENTS(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->line);
		struct buf whole, bytewise;
		buf_init(&whole, 0);
		buf_init(&bytewise, 0);
		parse_one(pool, (const unsigned char *)c->line, len, &whole);
		if (strcmp(buf_cstr(&whole), c->expect) != 0)
			fail_msg("case %zu '%s': got '%s', expected '%s'", i, c->line, buf_cstr(&whole), c->expect);
		/* the same line through the reader, one byte at a time, ended
		 * by CRLF; a line holding CR or LF itself is not a reader case */
		if (memchr(c->line, '\r', len) == NULL) {
			struct pop3_line_reader *r = pop3_line_reader_create(pool, 512);
			struct buf in;
			buf_init(&in, 0);
			buf_append(&in, c->line, len);
			buf_append_str(&in, "\r\n");
			int got = 0;
			for (size_t k = 0; k < in.len; k++) {
				const unsigned char *line;
				size_t used, llen;
				enum pop3_error err;
				int ret = pop3_line_reader_read(r, in.data + k, 1, &used, &line, &llen, &err);
				assert_int_equal(used, 1);
				assert_true(ret >= 0);
				if (ret == 1) {
					assert_int_equal(k, in.len - 1);
					parse_one(pool, line, llen, &bytewise);
					got++;
				}
			}
			assert_int_equal(got, 1);
			assert_string_equal(buf_cstr(&bytewise), c->expect);
			buf_free(&in);
		}
		buf_free(&whole);
		buf_free(&bytewise);
	}
	assert_string_equal(pop3_verb_name(POP3_VERB_UIDL), "UIDL");
	for (int e = 0; e < POP3_ERROR_COUNT; e++)
		assert_true(strlen(pop3_error_text((enum pop3_error)e)) > 0);
	pool_destroy(&pool);
}

/* ---- the line reader ---- */

/* Reads everything with chunks of `step` bytes (0 = all at once); the
 * lines joined by '|', refusals as "E|". */
static void read_all(struct pool *pool, size_t max, const char *in, size_t len, size_t step,
		     struct buf *events)
{
	struct pop3_line_reader *r = pop3_line_reader_create(pool, max);
	size_t pos = 0;
	while (pos < len) {
		size_t end = step == 0 ? len : MIN(pos + step, len);
		while (pos < end) {
			const unsigned char *line;
			size_t used, llen;
			enum pop3_error err;
			int ret = pop3_line_reader_read(r, in + pos, end - pos, &used, &line, &llen, &err);
			assert_true(used <= end - pos);
			assert_true(used > 0);
			pos += used;
			if (ret < 0) {
				assert_int_equal(err, POP3_ERROR_LINE_TOO_LONG);
				buf_append_str(events, "E|");
			} else if (ret == 1) {
				assert_true(llen + 1 <= max);
				buf_append(events, line, llen);
				buf_append_c(events, '|');
			}
		}
	}
	if (pop3_line_reader_pending(r))
		buf_append_str(events, "+pending");
}

static void reader(void **state)
{
	(void)state;
	struct pool *pool = pool_create("t", 0);
	static const struct {
		size_t max;
		const char *in, *expect;
	} cases[] = {
		{ 64, "STAT\r\nLIST\r\nQUIT\r\n", "STAT|LIST|QUIT|" },
		{ 64, "STAT\nLIST\r\n", "STAT|LIST|" },
		{ 64, "STAT\r\nLIS", "STAT|+pending" },
		{ 64, "\r\n\n", "||" },
		/* 10 with the CRLF is the limit */
		{ 10, "ABCDEFGH\r\nABCDEFGHI\r\nQUIT\r\n", "ABCDEFGH|E|QUIT|" },
		{ 10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\nQUIT\r\n", "E|QUIT|" },
		{ 10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "E|+pending" },
		{ 10, "ABCDEFGHI\nX\n", "ABCDEFGHI|X|" },
		{ 10, "A\rB\r\n", "A\rB|" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		size_t len = strlen(cases[i].in);
		size_t steps[] = { 0, 1, 2, 3, 7 };
		for (size_t k = 0; k < N_ELEMENTS(steps); k++) {
			struct buf ev;
			buf_init(&ev, 0);
			read_all(pool, cases[i].max, cases[i].in, len, steps[k], &ev);
			if (strcmp(buf_cstr(&ev), cases[i].expect) != 0)
				fail_msg("reader case %zu step %zu: got '%s', expected '%s'", i, steps[k],
					 buf_cstr(&ev), cases[i].expect);
			buf_free(&ev);
		}
	}
	/* reset forgets a partial line */
	struct pop3_line_reader *r = pop3_line_reader_create(pool, 64);
	const unsigned char *line;
	size_t used, llen;
	enum pop3_error err;
	assert_int_equal(pop3_line_reader_read(r, "USER x", 6, &used, &line, &llen, &err), 0);
	assert_true(pop3_line_reader_pending(r));
	pop3_line_reader_reset(r);
	assert_false(pop3_line_reader_pending(r));
	assert_int_equal(pop3_line_reader_read(r, "QUIT\r\n", 6, &used, &line, &llen, &err), 1);
	assert_int_equal(llen, 4);
	assert_memory_equal(line, "QUIT", 4);
	pool_destroy(&pool);
}

/* ---- dot-stuffing ---- */

static void sink(void *ctx, const void *data, size_t len)
{
	assert_true(len > 0);
	buf_append(ctx, data, len);
}

/* Stuffs with chunks decided by `seed` (0 = whole, 1 = byte by byte). */
static void stuff(const char *in, size_t len, bool top, uint64_t lines, uint32_t seed, struct buf *out)
{
	struct pop3_stuffer s;
	pop3_stuffer_init(&s, top, lines);
	size_t pos = 0;
	while (pos < len && !pop3_stuffer_done(&s)) {
		size_t n = len - pos;
		if (seed == 1) {
			n = 1;
		} else if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			n = MIN(n, (size_t)((seed >> 16) % 9) + 1);
		}
		size_t used = pop3_stuffer_feed(&s, in + pos, n, sink, out);
		assert_true(used <= n);
		if (used < n)
			assert_true(pop3_stuffer_done(&s));
		pos += used;
	}
	pop3_stuffer_finish(&s, sink, out);
	assert_int_equal(s.written, out->len);
}

/* The same, the naive way: line by line. */
static void stuff_reference(const char *in, size_t len, bool top, uint64_t lines, struct buf *out)
{
	size_t pos = 0;
	bool in_body = false;
	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t ll = lf != NULL ? (size_t)(lf - (in + pos)) + 1 : len - pos;
		if (in[pos] == '.')
			buf_append_c(out, '.');
		buf_append(out, in + pos, ll);
		bool ended = lf != NULL;
		bool empty = ended && (ll == 1 || (ll == 2 && in[pos] == '\r'));
		pos += ll;
		if (top && ended) {
			if (!in_body) {
				if (empty) {
					in_body = true;
					if (lines == 0)
						break;
				}
			} else if (--lines == 0) {
				break;
			}
		}
	}
	if (out->len > 0 && !(out->len >= 2 && memcmp(out->data + out->len - 2, "\r\n", 2) == 0))
		buf_append_str(out, "\r\n");
	buf_append_str(out, ".\r\n");
}

static void check_stuff(const char *in, size_t len, bool top, uint64_t lines, const char *expect)
{
	struct buf ref;
	buf_init(&ref, 0);
	stuff_reference(in, len, top, lines, &ref);
	if (expect != NULL && strcmp(buf_cstr(&ref), expect) != 0)
		fail_msg("reference for '%s': got '%s'", in, buf_cstr(&ref));
	uint32_t seeds[] = { 0, 1, 7, 12345, (uint32_t)len * 2654435761u + 3 };
	for (size_t k = 0; k < N_ELEMENTS(seeds); k++) {
		struct buf out;
		buf_init(&out, 0);
		stuff(in, len, top, lines, seeds[k], &out);
		if (out.len != ref.len || memcmp(out.data, ref.data, ref.len) != 0)
			fail_msg("stuffing '%s' (top=%d lines=%llu seed=%u): got '%s', expected '%s'", in, top,
				 (unsigned long long)lines, seeds[k], buf_cstr(&out), buf_cstr(&ref));
		buf_free(&out);
	}
	buf_free(&ref);
}

static void stuffer(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool top;
		uint64_t lines;
		const char *expect;
	} cases[] = {
		{ "", false, 0, ".\r\n" },
		{ "a\r\n", false, 0, "a\r\n.\r\n" },
		{ "a", false, 0, "a\r\n.\r\n" },
		{ ".", false, 0, "..\r\n.\r\n" },
		{ ".\r\n", false, 0, "..\r\n.\r\n" },
		{ "a\r\n.b\r\n..c\r\n", false, 0, "a\r\n..b\r\n...c\r\n.\r\n" },
		{ "a\r\n.", false, 0, "a\r\n..\r\n.\r\n" },
		{ "a.b\r\n c.\r\n", false, 0, "a.b\r\n c.\r\n.\r\n" },
		{ "x\n.y\n", false, 0, "x\n..y\n\r\n.\r\n" },
		{ "a\r\n\r\n.\r\n\r\n", false, 0, "a\r\n\r\n..\r\n\r\n.\r\n" },
		/* TOP */
		{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 0, "H: 1\r\nH: 2\r\n\r\n.\r\n" },
		{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 2, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n.\r\n" },
		{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 3, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n" },
		{ "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", true, 99, "H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n" },
		{ "H: 1\r\nH: 2\r\n", true, 0, "H: 1\r\nH: 2\r\n.\r\n" },
		{ "H: 1\r\nH: 2", true, 0, "H: 1\r\nH: 2\r\n.\r\n" },
		{ "\r\nbody\r\n", true, 0, "\r\n.\r\n" },
		{ "\r\nbody\r\n", true, 1, "\r\nbody\r\n.\r\n" },
		{ "H: 1\r\n\r\n.x\r\ny\r\n", true, 1, "H: 1\r\n\r\n..x\r\n.\r\n" },
		{ "H: 1\r\n\r\nb", true, 5, "H: 1\r\n\r\nb\r\n.\r\n" },
		{ "H: 1\r\n\r\n\r\n\r\nz\r\n", true, 2, "H: 1\r\n\r\n\r\n\r\n.\r\n" },
		{ "H: \r\r\n\r\nb\r\n", true, 0, "H: \r\r\n\r\n.\r\n" },
		{ "H\n\nb\nc\n", true, 1, "H\n\nb\n\r\n.\r\n" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++)
		check_stuff(cases[i].in, strlen(cases[i].in), cases[i].top, cases[i].lines, cases[i].expect);

	/* generated: every short string over the bytes that matter */
	static const char alphabet[] = { '.', '\r', '\n', 'a' };
	char in[12];
	uint32_t rnd = 1;
	for (int n = 0; n < 20000; n++) {
		rnd = rnd * 1103515245u + 12345u;
		size_t len = (rnd >> 16) % sizeof(in);
		for (size_t k = 0; k < len; k++) {
			rnd = rnd * 1103515245u + 12345u;
			in[k] = alphabet[(rnd >> 16) % 4];
		}
		check_stuff(in, len, false, 0, NULL);
		check_stuff(in, len, true, (rnd >> 8) % 4, NULL);
	}
}

/* A large message goes out in pieces no bigger than its lines allow
 * and is never copied whole by the encoder. */
static size_t pieces;

static void count_sink(void *ctx, const void *data, size_t len)
{
	(void)data;
	pieces++;
	*(size_t *)ctx += len;
}

static void stuffer_large(void **state)
{
	(void)state;
	size_t len = 78 * 100000; /* whole CRLF lines */
	char *msg = xmalloc(len);
	for (size_t i = 0; i < len; i++)
		msg[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (char)('a' + i % 26);
	struct pop3_stuffer s;
	size_t total = 0;
	pieces = 0;
	pop3_stuffer_init(&s, false, 0);
	for (size_t pos = 0; pos < len; pos += 65536)
		assert_int_equal(pop3_stuffer_feed(&s, msg + pos, MIN(65536, len - pos), count_sink, &total), MIN(65536, len - pos));
	pop3_stuffer_finish(&s, count_sink, &total);
	assert_int_equal(total, len + 3);
	/* no dots: one piece per chunk and the terminator */
	assert_int_equal(pieces, (len + 65535) / 65536 + 1);
	free(msg);
}

/* ---- unique ids ---- */

static void uidl_syntax(void **state)
{
	(void)state;
	assert_true(pop3_uidl_valid("a", 1));
	assert_true(pop3_uidl_valid("ombu.1.2", 8));
	assert_true(pop3_uidl_valid("!~", 2));
	char long70[71], long71[72];
	memset(long70, 'x', 70);
	long70[70] = '\0';
	memset(long71, 'x', 71);
	long71[71] = '\0';
	assert_true(pop3_uidl_valid(long70, 70));
	assert_false(pop3_uidl_valid(long71, 71));
	assert_false(pop3_uidl_valid("", 0));
	assert_false(pop3_uidl_valid("a b", 3));
	assert_false(pop3_uidl_valid("a\tb", 3));
	assert_false(pop3_uidl_valid("caf\xc3\xa9", 5));
	assert_false(pop3_uidl_valid("a\x7f", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands),
		cmocka_unit_test(reader),
		cmocka_unit_test(stuffer),
		cmocka_unit_test(stuffer_large),
		cmocka_unit_test(uidl_syntax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
