/*
 * src/proto SMTP codec: building replies (sanitizing, wrapping,
 * enhanced codes) and the incremental reply parser, fed whole, one byte
 * at a time and split at every position.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/smtp-proto.h"

#include <stdio.h>
#include <string.h>

static void reply_write_basic(void **state)
{
	(void)state;
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(smtp_reply_write(&b, 250, NULL, "OK"), 0);
	assert_string_equal(b.data, "250 OK\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 250, "2.1.0", "Sender OK"), 0);
	assert_string_equal(b.data, "250 2.1.0 Sender OK\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 354, NULL, "End data with <CR><LF>.<CR><LF>"), 0);
	assert_string_equal(b.data, "354 End data with <CR><LF>.<CR><LF>\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 250, NULL, ""), 0);
	assert_string_equal(b.data, "250\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 250, "2.0.0", ""), 0);
	assert_string_equal(b.data, "250 2.0.0\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_writef(&b, 550, "5.1.1", "<%s>: %s", "a@b", "unknown"), 0);
	assert_string_equal(b.data, "550 5.1.1 <a@b>: unknown\r\n");

	/* bad codes and enhanced codes append nothing */
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 199, NULL, "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 600, NULL, "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 260, NULL, "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 250, "5.1.1", "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 250, "2.1", "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 250, "2.1.", "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 250, "2.1.0 ", "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 250, "2.1234.0", "x"), -1);
	assert_int_equal(smtp_reply_write(&b, 250, "2.a.0", "x"), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(smtp_reply_write(&b, 250, "2.123.456", "x"), 0);
	buf_free(&b);
}

/* CR and LF from arguments never reach the wire. */
static void reply_write_sanitize(void **state)
{
	(void)state;
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(smtp_reply_writef(&b, 550, "5.1.1", "<%s> unknown",
					   "a@b>\r\n250 2.0.0 OK"), 0);
	assert_string_equal(b.data, "550 5.1.1 <a@b>  250 2.0.0 OK> unknown\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 250, NULL, "a\nb\rc\0d"), 0);
	assert_string_equal(b.data, "250 a b c\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 250, NULL, "t\x01\x1b[1m\x7f\tx"), 0);
	assert_string_equal(b.data, "250 t??[1m?\tx\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 250, NULL, "caf\xc3\xa9 \xc3 \xff"), 0);
	assert_string_equal(b.data, "250 caf\xc3\xa9 ? ?\r\n");
	buf_free(&b);
}

/* Splits a reply written by us into lines and checks the framing. */
static size_t check_lines(const struct buf *b, unsigned code, const char *prefix,
			  struct buf *joined)
{
	size_t n = 0, pos = 0;
	char head[8];

	while (pos < b->len) {
		const char *crlf = strstr(b->data + pos, "\r\n");
		assert_non_null(crlf);
		size_t len = (size_t)(crlf - (b->data + pos)) + 2;
		assert_true(len <= SMTP_REPLY_LINE_MAX);
		assert_null(memchr(b->data + pos, '\n', len - 1));
		assert_null(memchr(b->data + pos, '\r', len - 2));
		bool last = pos + len == b->len;
		snprintf(head, sizeof(head), "%u%c", code, last ? ' ' : '-');
		assert_memory_equal(b->data + pos, head, 4);
		assert_memory_equal(b->data + pos + 4, prefix, strlen(prefix));
		if (joined != NULL) {
			if (n > 0)
				buf_append_c(joined, ' ');
			buf_append(joined, b->data + pos + 4 + strlen(prefix),
				   len - 6 - strlen(prefix));
		}
		pos += len;
		n++;
	}
	return n;
}

static void reply_write_wrap(void **state)
{
	(void)state;
	struct buf b, text, joined;

	buf_init(&b, 0);
	buf_init(&text, 0);
	buf_init(&joined, 0);
	/* words: wrapped at spaces, nothing lost */
	for (int i = 0; i < 300; i++)
		buf_printf(&text, "%sword%d", i > 0 ? " " : "", i);
	assert_int_equal(smtp_reply_write(&b, 550, "5.7.1", text.data), 0);
	size_t n = check_lines(&b, 550, "5.7.1 ", &joined);
	assert_true(n >= 5);
	assert_string_equal(joined.data, text.data);

	/* one huge word: cut hard */
	buf_reset(&b);
	buf_reset(&text);
	buf_reset(&joined);
	for (int i = 0; i < 2000; i++)
		buf_append_c(&text, (char)('a' + i % 26));
	assert_int_equal(smtp_reply_write(&b, 250, NULL, text.data), 0);
	n = check_lines(&b, 250, "", NULL);
	assert_int_equal(n, 4);
	assert_int_equal(b.len, 2000 + n * 6);

	/* a multi-byte character is never split (the odd prefix puts a
	 * continuation byte at the hard cut) */
	buf_reset(&b);
	buf_reset(&text);
	buf_append_c(&text, 'x');
	for (int i = 0; i < 600; i++)
		buf_append_str(&text, "\xc3\xa9");
	assert_int_equal(smtp_reply_write(&b, 250, NULL, text.data), 0);
	assert_int_equal(check_lines(&b, 250, "", NULL), 3);
	for (size_t pos = 0; pos < b.len;) {
		const char *crlf = strstr(b.data + pos, "\r\n");
		size_t body = (size_t)(crlf - (b.data + pos)) - 4;
		unsigned char first = (unsigned char)b.data[pos + 4];
		unsigned char last = (unsigned char)b.data[pos + 4 + body - 1];
		assert_true((first & 0xc0) != 0x80);
		assert_true(last < 0xc0);
		pos += body + 6;
	}

	/* exactly at the limit: one line */
	buf_reset(&b);
	buf_reset(&text);
	for (int i = 0; i < SMTP_REPLY_LINE_MAX - 6; i++)
		buf_append_c(&text, 'x');
	assert_int_equal(smtp_reply_write(&b, 250, NULL, text.data), 0);
	assert_int_equal(check_lines(&b, 250, "", NULL), 1);
	buf_append_c(&text, 'x');
	buf_reset(&b);
	assert_int_equal(smtp_reply_write(&b, 250, NULL, text.data), 0);
	assert_int_equal(check_lines(&b, 250, "", NULL), 2);

	/* spaces at the wrap point are not carried to the next line */
	buf_reset(&b);
	buf_reset(&text);
	for (int i = 0; i < SMTP_REPLY_LINE_MAX - 8; i++)
		buf_append_c(&text, 'x');
	buf_append_str(&text, "      y");
	assert_int_equal(smtp_reply_write(&b, 250, NULL, text.data), 0);
	assert_int_equal(check_lines(&b, 250, "", NULL), 2);
	assert_non_null(strstr(b.data, "\r\n250 y\r\n"));
	buf_free(&b);
	buf_free(&text);
	buf_free(&joined);
}

static void reply_write_lines(void **state)
{
	(void)state;
	static const char *const ehlo[] = { "mx.example.com Hello", "PIPELINING", "SIZE 10240000",
					    "8BITMIME", "SMTPUTF8" };
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(smtp_reply_write_lines(&b, 250, NULL, ehlo, N_ELEMENTS(ehlo)), 0);
	assert_string_equal(b.data, "250-mx.example.com Hello\r\n250-PIPELINING\r\n"
				    "250-SIZE 10240000\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
	buf_reset(&b);
	static const char *const two[] = { "first", "second\r\n250 injected" };
	assert_int_equal(smtp_reply_write_lines(&b, 451, "4.3.0", two, 2), 0);
	assert_string_equal(b.data, "451-4.3.0 first\r\n451 4.3.0 second  250 injected\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write_lines(&b, 250, NULL, NULL, 0), 0);
	assert_string_equal(b.data, "250\r\n");

	/* a bounded output buffer: all or nothing */
	struct buf small;
	buf_init(&small, 30);
	buf_append_str(&small, "x");
	assert_int_equal(smtp_reply_write_lines(&small, 250, NULL, ehlo, N_ELEMENTS(ehlo)), -1);
	assert_string_equal(small.data, "x");
	buf_free(&small);

	/* errors from the parsers */
	struct smtp_error err;
	smtp_error_set(&err, SMTP_ERROR_BAD_RECIPIENT);
	buf_reset(&b);
	assert_int_equal(smtp_reply_write_error(&b, &err, true), 0);
	assert_string_equal(b.data, "553 5.1.3 Bad recipient address syntax\r\n");
	buf_reset(&b);
	assert_int_equal(smtp_reply_write_error(&b, &err, false), 0);
	assert_string_equal(b.data, "553 Bad recipient address syntax\r\n");
	/* every table entry makes a valid reply */
	for (unsigned id = 0; id < SMTP_ERROR_COUNT; id++) {
		smtp_error_set(&err, id);
		buf_reset(&b);
		assert_int_equal(smtp_reply_write_error(&b, &err, true), 0);
		assert_int_equal(err.id, id);
	}
	buf_free(&b);
}

/* ---- the parser ---- */

static const char *describe_reply(struct pool *pool, const struct smtp_reply *r)
{
	struct buf b;

	buf_init_pool(&b, pool, 0);
	buf_printf(&b, "%u", r->code);
	if (r->enhanced != NULL)
		buf_printf(&b, " [%s]", r->enhanced);
	for (size_t i = 0; i < r->n_lines; i++)
		buf_printf(&b, " |%s", r->lines[i]);
	if (r->bare_lf)
		buf_printf(&b, " (lf)");
	return buf_cstr(&b);
}

/* Parses everything in pieces ending at cuts[]; renders the replies
 * and errors as text. */
static const char *parse_all(struct pool *pool, const char *in, size_t len,
			     const size_t *cuts, size_t n_cuts)
{
	struct smtp_reply_parser_settings set = { .max_line = 40, .max_lines = 3 };
	struct smtp_reply_parser *p = smtp_reply_parser_create(pool, &set);
	struct buf ev;
	size_t start = 0;
	bool dead = false;

	buf_init_pool(&ev, pool, 0);
	for (size_t c = 0; c <= n_cuts && !dead; c++) {
		size_t end = c < n_cuts ? cuts[c] : len;
		while (start < end) {
			struct smtp_reply *r;
			const char *error;
			size_t used;
			int ret = smtp_reply_parser_feed(p, pool, in + start, end - start, &used,
							 &r, &error);
			assert_true(used <= end - start);
			start += used;
			if (ret == 1) {
				buf_printf(&ev, "{%s}", describe_reply(pool, r));
			} else if (ret < 0) {
				buf_printf(&ev, "{ERR %s}", error);
				dead = true;
				break;
			} else {
				assert_int_equal(start, end);
			}
		}
	}
	return buf_cstr(&ev);
}

static const struct {
	const char *in;
	const char *expect;
} reply_cases[] = {
	{ "220 mx.example.com ESMTP\r\n", "{220 |mx.example.com ESMTP}" },
	{ "250 2.1.0 Ok\r\n", "{250 [2.1.0] |Ok}" },
	{ "250-a\r\n250-b\r\n250 c\r\n", "{250 |a |b |c}" },
	{ "250-2.0.0 a\r\n250 2.0.0 b\r\n", "{250 [2.0.0] |a |b}" },
	{ "250\r\n", "{250 |}" },
	{ "250-\r\n250 \r\n", "{250 | |}" },
	{ "250 2.0.0\r\n", "{250 [2.0.0] |}" },
	{ "550 2.0.0 wrong class\r\n", "{550 |2.0.0 wrong class}" },
	{ "550 5.1.1x no\r\n", "{550 |5.1.1x no}" },
	{ "550 5.1.1234 no\r\n", "{550 |5.1.1234 no}" },
	{ "250 ok\n", "{250 |ok (lf)}" },
	{ "250 ok\r\n354 go\r\n", "{250 |ok}{354 |go}" },
	{ "221 bye\r\n250 ok", "{221 |bye}" },
	{ "250-a\r\n251 b\r\n", "{ERR Reply code differs between lines}" },
	{ "25 x\r\n", "{ERR Invalid reply line}" },
	{ "2500 x\r\n", "{ERR Invalid reply line}" },
	{ "199 x\r\n", "{ERR Invalid reply line}" },
	{ "600 x\r\n", "{ERR Invalid reply line}" },
	{ "260 x\r\n", "{ERR Invalid reply line}" },
	{ "2x0 x\r\n", "{ERR Invalid reply line}" },
	{ "\r\n", "{ERR Invalid reply line}" },
	{ "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", "{ERR Too many reply lines}" },
	/* max_line 40 includes the CRLF */
	{ "250 01234567890123456789012345678901234\r\n", "{ERR Reply line too long}" },
	{ "250 0123456789012345678901234567890123\r\n",
	  "{250 |0123456789012345678901234567890123}" },
	{ "250 01234567890123456789012345678901234\n",
	  "{250 |01234567890123456789012345678901234 (lf)}" },
	{ "250 ok\r\n250 012345678901234567890123456789012345678901234",
	  "{250 |ok}{ERR Reply line too long}" },
};

static void reply_parse(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);

	for (size_t i = 0; i < N_ELEMENTS(reply_cases); i++) {
		const char *in = reply_cases[i].in, *expect = reply_cases[i].expect;
		size_t len = strlen(in);
		const char *got = parse_all(pool, in, len, NULL, 0);
		if (strcmp(got, expect) != 0)
			fail_msg("case %zu: expected %s, got %s", i, expect, got);
		for (size_t cut = 0; cut <= len; cut++) {
			got = parse_all(pool, in, len, &cut, 1);
			if (strcmp(got, expect) != 0)
				fail_msg("case %zu cut %zu: expected %s, got %s", i, cut, expect,
					 got);
		}
		size_t *cuts = pool_alloc(pool, sizeof(size_t) * (len + 1));
		for (size_t k = 0; k < len; k++)
			cuts[k] = k + 1;
		got = parse_all(pool, in, len, cuts, len);
		if (strcmp(got, expect) != 0)
			fail_msg("case %zu bytewise: expected %s, got %s", i, expect, got);
		pool_clear(pool);
	}
	/* NUL is not expressible above */
	struct smtp_reply_parser *p = smtp_reply_parser_create(pool, NULL);
	struct smtp_reply *r;
	const char *error;
	size_t used;
	assert_int_equal(smtp_reply_parser_feed(p, pool, "250 a\0b\r\n", 9, &used, &r, &error),
			 -1);
	assert_string_equal(error, "NUL in reply");
	smtp_reply_parser_reset(p);
	assert_int_equal(smtp_reply_parser_feed(p, pool, "250 ok\r\n", 8, &used, &r, &error), 1);
	assert_string_equal(r->lines[0], "ok");
	pool_destroy(&pool);
}

/* What we write, we parse back. */
static void reply_round_trip(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	struct smtp_reply_parser *p = smtp_reply_parser_create(pool, NULL);
	struct buf b, text;
	struct smtp_reply *r;
	const char *error;
	size_t used;

	buf_init_pool(&b, pool, 0);
	buf_init_pool(&text, pool, 0);
	for (int i = 0; i < 200; i++)
		buf_printf(&text, "%sw%d", i > 0 ? " " : "", i);
	assert_int_equal(smtp_reply_write(&b, 452, "4.5.3", text.data), 0);
	assert_int_equal(smtp_reply_parser_feed(p, pool, b.data, b.len, &used, &r, &error), 1);
	assert_int_equal(used, b.len);
	assert_int_equal(r->code, 452);
	assert_string_equal(r->enhanced, "4.5.3");
	assert_true(r->n_lines > 1);
	struct buf joined;
	buf_init_pool(&joined, pool, 0);
	for (size_t i = 0; i < r->n_lines; i++)
		buf_printf(&joined, "%s%s", i > 0 ? " " : "", r->lines[i]);
	assert_string_equal(joined.data, text.data);
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reply_write_basic),
		cmocka_unit_test(reply_write_sanitize),
		cmocka_unit_test(reply_write_wrap),
		cmocka_unit_test(reply_write_lines),
		cmocka_unit_test(reply_parse),
		cmocka_unit_test(reply_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
