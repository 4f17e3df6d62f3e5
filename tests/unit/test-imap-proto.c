/* src/proto/imap-*: the command parser (every case whole, byte by byte
 * and in random chunks), sequence sets, dates, modified UTF-7 and
 * response strings. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"
#include "proto/imap-proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- parser --- */

struct pcase {
	const char *in;
	size_t len;          /* 0: strlen(in) */
	const char *expect;  /* "tag NAME args" rendered, or "ERR:message" */
	const char *tag;     /* for errors: the tag the server can answer */
	bool fatal;
	unsigned int literals; /* literals announced */
};

/* Literals up to 100 bytes are accepted, larger ones refused. */
#define LIT_MAX 100

static const struct pcase pcases[] = {
	{ "a NOOP\r\n", 0, "a NOOP", NULL, false, 0 },
	{ "a noop\n", 0, "a NOOP", NULL, false, 0 },
	{ "a1 LOGIN alice \"pw\\\"x\"\r\n", 0, "a1 LOGIN alice \"pw\\\"x\"", NULL, false, 0 },
	{ "t SELECT {5}\r\nINBOX\r\n", 0, "t SELECT {5}", NULL, false, 1 },
	{ "t SELECT {5+}\r\nINBOX\r\n", 0, "t SELECT {5}", NULL, false, 1 },
	{ "t APPEND x ~{3}\r\nabc\r\n", 0, "t APPEND x ~{3}", NULL, false, 1 },
	{ "t APPEND x (\\Seen) {0}\r\n\r\n", 0, "t APPEND x (\\Seen) {0}", NULL, false, 1 },
	{ "t APPEND x {1}\r\na {2+}\r\nbc\r\n", 0, "t APPEND x {1} {2}", NULL, false, 2 },
	{ "t FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.10>)\r\n", 0,
	  "t FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.10>)", NULL, false, 0 },
	{ "t FETCH 1 BODY[]\r\n", 0, "t FETCH 1 BODY[]", NULL, false, 0 },
	{ "t LIST \"\" ~foo\r\n", 0, "t LIST \"\" ~foo", NULL, false, 0 },
	{ "t LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*\r\n", 0,
	  "t LIST \"\" !#$&'+,-.0123456789:;<=>?@^_`|[}%*", NULL, false, 0 },
	{ "t SEARCH (OR (FROM a) (TO b)) NOT DELETED\r\n", 0,
	  "t SEARCH (OR (FROM a) (TO b)) NOT DELETED", NULL, false, 0 },
	{ "t STORE 1 +FLAGS.SILENT ()\r\n", 0, "t STORE 1 +FLAGS.SILENT ()", NULL, false, 0 },
	{ "t X (a)(b)\r\n", 0, "t X (a) (b)", NULL, false, 0 },
	{ "t X  a   b\r\n", 0, "t X a b", NULL, false, 0 },
	{ "t X \"\"\r\n", 0, "t X \"\"", NULL, false, 0 },
	{ "t X \"\xc3\xa4\"\r\n", 0, "t X \"\xc3\xa4\"", NULL, false, 0 },
	{ "t ID NIL\r\n", 0, "t ID NIL", NULL, false, 0 },
	/* errors */
	{ "\r\n", 0, "ERR:Empty command line", NULL, false, 0 },
	{ "abc\r\n", 0, "ERR:Missing command", "abc", false, 0 },
	{ "a+b NOOP\r\n", 0, "ERR:Invalid tag", NULL, false, 0 },
	{ "* NOOP\r\n", 0, "ERR:Invalid tag", NULL, false, 0 },
	{ "t X (a\r\n", 0, "ERR:Missing ')'", "t", false, 0 },
	{ "t X a)\r\n", 0, "ERR:Unexpected ')'", "t", false, 0 },
	{ "t X \"abc\r\n", 0, "ERR:Missing '\"'", "t", false, 0 },
	{ "t X \"a\\bc\"\r\n", 0, "ERR:Invalid escape in quoted string", "t", false, 0 },
	{ "t X {abc}\r\n", 0, "ERR:Invalid literal size", "t", false, 0 },
	{ "t X {3}x\r\n", 0, "ERR:Missing line break after literal size", "t", false, 0 },
	{ "t X ((((((((((((((((((x))))))))))))))))))\r\n", 0,
	  "ERR:Too deep nesting of parentheses", "t", false, 0 },
	/* a refused synchronising literal ends the command at once */
	{ "t APPEND x {1000}\r\n", 0, "ERR:too big", "t", false, 1 },
	/* a refused non-synchronising literal is read and dropped, with the
	 * rest of the command and its further literals */
	{ "t APPEND x {101+}\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789X"
	  " y {2+}\r\nab z\r\n", 0, "ERR:too big", "t", false, 1 },
	/* after an error, non-synchronising literals in the rest are skipped */
	{ "t X \"a\\q\" {3+}\r\nabc\r\n", 0, "ERR:Invalid escape in quoted string", "t", false, 0 },
	/* a NUL in a literal8 is data */
	{ "t APPEND x ~{3}\r\na\0b\r\n", 22, "t APPEND x ~{3}", NULL, false, 1 },
};

struct presult {
	enum imap_parse_result r;
	char text[512];
	const char *tag;
	bool fatal;
	unsigned int literals;
};

/* Feeds in chunks chosen by `mode`: 0 whole, 1 byte by byte, 2 random. */
static size_t run_parser(struct imap_parser *p, const char *in, size_t len, int mode,
			 struct presult *res, unsigned int *seed)
{
	size_t pos = 0;
	res->literals = 0;
	for (;;) {
		size_t chunk = len - pos;
		if (mode == 1 && chunk > 1)
			chunk = 1;
		else if (mode == 2 && chunk > 1)
			chunk = 1 + (size_t)rand_r(seed) % chunk;
		size_t used;
		enum imap_parse_result r = imap_parser_feed(p, in + pos, chunk, &used);
		pos += used;
		if (r == IMAP_PARSE_LITERAL) {
			uint64_t size;
			bool sync, l8;
			imap_parser_literal(p, &size, &sync, &l8);
			res->literals++;
			if (size <= LIT_MAX)
				imap_parser_literal_accept(p);
			else
				imap_parser_literal_refuse(p, "too big");
			continue;
		}
		if (r == IMAP_PARSE_MORE) {
			if (pos >= len) {
				res->r = r;
				return pos;
			}
			continue;
		}
		res->r = r;
		if (r == IMAP_PARSE_DONE) {
			const struct imap_command *c = imap_parser_command(p);
			struct buf b;
			buf_init(&b, 0);
			buf_printf(&b, "%s %s", c->tag, c->name);
			if (c->count > 0) {
				buf_append_c(&b, ' ');
				imap_args_write(&b, c->args, c->count);
			}
			str_copy(res->text, buf_cstr(&b), sizeof(res->text));
			buf_free(&b);
		} else {
			snprintf(res->text, sizeof(res->text), "ERR:%s", imap_parser_error(p, &res->fatal));
			res->tag = imap_parser_tag(p);
		}
		return pos;
	}
}

static void parser_cases(void **state)
{
	(void)state;
	unsigned int seed = 42;
	for (size_t i = 0; i < N_ELEMENTS(pcases); i++) {
		const struct pcase *c = &pcases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);
		for (int mode = 0; mode < 3; mode++) {
			for (int rep = 0; rep < (mode == 2 ? 20 : 1); rep++) {
				struct pool *pool = pool_create("t", 0);
				struct imap_parser_settings set = { .max_line = 1000, .max_depth = 16 };
				struct imap_parser *p = imap_parser_create(pool, &set);
				struct presult res = { 0 };
				size_t used = run_parser(p, c->in, len, mode, &res, &seed);
				if (strcmp(res.text, c->expect) != 0)
					fail_msg("case %zu mode %d: got '%s' want '%s'", i, mode, res.text,
						 c->expect);
				/* the whole command is consumed, nothing more */
				if (used != len)
					fail_msg("case %zu mode %d: consumed %zu of %zu", i, mode, used, len);
				if (strncmp(c->expect, "ERR:", 4) == 0) {
					if ((c->tag == NULL) != (res.tag == NULL) ||
					    (c->tag != NULL && strcmp(c->tag, res.tag) != 0))
						fail_msg("case %zu: tag %s", i, res.tag ? res.tag : "(null)");
					assert_int_equal(res.fatal, c->fatal);
				}
				assert_int_equal(res.literals, c->literals);
				pool_destroy(&pool);
			}
		}
	}
}

static void parser_literal_contents(void **state)
{
	(void)state;
	struct pool *pool = pool_create("t", 0);
	struct imap_parser *p = imap_parser_create(pool, &(struct imap_parser_settings){ 0 });
	const char in[] = "t APPEND box (\\Seen) \"1-Jan-2020 00:00:00 +0000\" {5}\r\nhello\r\n";
	struct presult res;
	unsigned int seed = 1;
	run_parser(p, in, sizeof(in) - 1, 1, &res, &seed);
	const struct imap_command *c = imap_parser_command(p);
	assert_non_null(c);
	assert_int_equal(c->count, 4);
	assert_int_equal(c->args[1].type, IMAP_ARG_LIST);
	assert_int_equal(c->args[1].count, 1);
	assert_string_equal(c->args[1].list[0].str, "\\Seen");
	assert_int_equal(c->args[2].type, IMAP_ARG_STRING);
	assert_int_equal(c->args[3].type, IMAP_ARG_LITERAL);
	assert_int_equal(c->args[3].len, 5);
	assert_memory_equal(c->args[3].str, "hello", 5);
	assert_true(imap_arg_atom_is(&c->args[0], "BOX"));
	pool_destroy(&pool);
}

static void parser_line_too_long(void **state)
{
	(void)state;
	struct pool *pool = pool_create("t", 0);
	struct imap_parser_settings set = { .max_line = 20 };
	struct imap_parser *p = imap_parser_create(pool, &set);
	const char in[] = "t X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
	size_t used;
	assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used), IMAP_PARSE_ERROR);
	bool fatal;
	assert_string_equal(imap_parser_error(p, &fatal), "Line too long");
	assert_true(fatal);
	/* a literal starts a new line: long content across literals is fine */
	imap_parser_reset(p);
	const char in2[] = "t X aaaaaaa {3}\r\nabc bbbbbbbbbbbbbbb\r\n";
	size_t pos = 0;
	enum imap_parse_result r;
	while ((r = imap_parser_feed(p, in2 + pos, sizeof(in2) - 1 - pos, &used)) == IMAP_PARSE_LITERAL) {
		pos += used;
		imap_parser_literal_accept(p);
	}
	assert_int_equal(r, IMAP_PARSE_DONE);
	/* several commands in one buffer: stops after the first */
	imap_parser_reset(p);
	const char two[] = "a NOOP\r\nb NOOP\r\n";
	assert_int_equal(imap_parser_feed(p, two, sizeof(two) - 1, &used), IMAP_PARSE_DONE);
	assert_int_equal(used, 8);
	assert_false(imap_parser_idle(p));
	pool_destroy(&pool);
}

/* --- sequence sets --- */

static void seqsets(void **state)
{
	(void)state;
	struct pool *pool = pool_create("t", 0);
	static const struct {
		const char *in;
		uint32_t max;
		const char *out; /* NULL = parse error */
	} cases[] = {
		{ "1", 10, "1" },
		{ "1:3,2:5", 10, "1:5" },
		{ "3:1", 10, "1:3" },
		{ "*", 10, "10" },
		{ "5:*", 3, "3:5" },
		{ "1,3,5:7,6", 10, "1,3,5:7" },
		{ "*:2", 4, "2:4" },
		{ "1:*", 0, "" },
		{ "0", 10, NULL },
		{ "1:0", 10, NULL },
		{ "", 10, NULL },
		{ "1,", 10, NULL },
		{ "a", 10, NULL },
		{ "4294967295", 10, "4294967295" },
		{ "4294967296", 10, NULL },
		{ "1:4294967295", 10, "1:4294967295" },
		{ "4294967294", 10, "4294967294" },
		{ "1:4294967294,2", 10, "1:4294967294" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct imap_seqset set;
		int r = imap_seqset_parse(pool, cases[i].in, &set);
		if (cases[i].out == NULL) {
			if (r != -1)
				fail_msg("%s parsed", cases[i].in);
			continue;
		}
		assert_int_equal(r, 0);
		imap_seqset_resolve(&set, cases[i].max);
		struct buf b;
		buf_init(&b, 0);
		imap_seqset_write(&b, set.r, set.count);
		if (strcmp(buf_cstr(&b), cases[i].out) != 0)
			fail_msg("%s -> %s", cases[i].in, buf_cstr(&b));
		buf_free(&b);
	}
	struct imap_seqset set;
	assert_int_equal(imap_seqset_parse(pool, "2:4,8", &set), 0);
	imap_seqset_resolve(&set, 10);
	assert_true(imap_seqset_contains(&set, 3));
	assert_true(imap_seqset_contains(&set, 8));
	assert_false(imap_seqset_contains(&set, 5));
	assert_false(imap_seqset_contains(&set, 1));
	uint32_t nums[] = { 1, 2, 3, 5, 7, 8 };
	struct buf b;
	buf_init(&b, 0);
	imap_numbers_write(&b, nums, 6);
	assert_string_equal(buf_cstr(&b), "1:3,5,7:8");
	buf_free(&b);
	pool_destroy(&pool);
}

/* --- dates --- */

static void dates(void **state)
{
	(void)state;
	time_t t;
	int tz;
	assert_int_equal(imap_date_parse("1-Feb-1994", &t), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(imap_date_parse("01-feb-1994", &t), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(imap_date_parse("30-Feb-1994", &t), -1);
	assert_int_equal(imap_date_parse("1-Foo-1994", &t), -1);
	assert_int_equal(imap_date_parse("1-Feb-94", &t), -1);
	assert_int_equal(imap_datetime_parse("17-Jul-1996 02:44:25 -0700", &t, &tz), 0);
	assert_int_equal(t, 837596665);
	assert_int_equal(tz, -420);
	assert_int_equal(imap_datetime_parse(" 7-Jul-1996 02:44:25 +0000", &t, &tz), 0);
	assert_int_equal(imap_datetime_parse("17-Jul-1996 02:44 -0700", &t, &tz), -1);
	assert_int_equal(imap_datetime_parse("17-Jul-1996 25:44:25 -0700", &t, &tz), -1);
	struct buf b;
	buf_init(&b, 0);
	imap_datetime_write(&b, 837596665, -420);
	assert_string_equal(buf_cstr(&b), "\"17-Jul-1996 02:44:25 -0700\"");
	buf_free(&b);
}

/* --- modified UTF-7 --- */

static void utf7(void **state)
{
	(void)state;
	static const struct {
		const char *utf7, *utf8;
	} ok[] = {
		{ "INBOX", "INBOX" },
		{ "p&AOQA5A-", "p\xc3\xa4\xc3\xa4" },
		{ "&-", "&" },
		{ "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
		{ "&2D3eAQ-", "\xf0\x9f\x98\x81" },
	};
	for (size_t i = 0; i < N_ELEMENTS(ok); i++) {
		struct buf b;
		buf_init(&b, 0);
		assert_int_equal(imap_utf7_to_utf8(ok[i].utf7, &b), 0);
		assert_string_equal(buf_cstr(&b), ok[i].utf8);
		buf_reset(&b);
		assert_int_equal(imap_utf8_to_utf7(ok[i].utf8, &b), 0);
		assert_string_equal(buf_cstr(&b), ok[i].utf7);
		buf_free(&b);
	}
	static const char *const bad[] = { "&", "&AOQ", "&AGE-", "&Jjo!-", "\x80", "&AOQ=-", "&2D0-",
					   "&AOQ-&AOQ-", "&AOQA5A" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct buf b;
		buf_init(&b, 0);
		if (imap_utf7_to_utf8(bad[i], &b) != -1)
			fail_msg("accepted %s", bad[i]);
		buf_free(&b);
	}
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(imap_utf8_to_utf7("\xc3", &b), -1);
	buf_free(&b);
}

static void strings(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	imap_write_astring(&b, "INBOX", 5);
	buf_append_c(&b, ' ');
	imap_write_astring(&b, "a b", 3);
	buf_append_c(&b, ' ');
	imap_write_astring(&b, "NIL", 3);
	buf_append_c(&b, ' ');
	imap_write_string(&b, "x\"y", 3, false);
	buf_append_c(&b, ' ');
	imap_write_string(&b, "a\r\nb", 4, false);
	buf_append_c(&b, ' ');
	imap_write_nstring(&b, NULL, 0, false);
	buf_append_c(&b, ' ');
	imap_write_string(&b, "\xc3\xa4", 2, true);
	buf_append_c(&b, ' ');
	imap_write_string(&b, "\xc3\xa4", 2, false);
	assert_string_equal(buf_cstr(&b), "INBOX \"a b\" \"NIL\" \"x\\\"y\" {4}\r\na\r\nb NIL \"\xc3\xa4\" {2}\r\n\xc3\xa4");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parser_cases),
		cmocka_unit_test(parser_literal_contents),
		cmocka_unit_test(parser_line_too_long),
		cmocka_unit_test(seqsets),
		cmocka_unit_test(dates),
		cmocka_unit_test(utf7),
		cmocka_unit_test(strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
