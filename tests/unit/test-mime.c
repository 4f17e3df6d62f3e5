/*
 * src/mime unit tests, table-driven.  Every parser case is also fed one
 * byte at a time and in random chunks, and must give the same tree as
 * the one-shot parse.  IMAP expectations come from RFC 3501 and from the
 * Dovecot and imaptest test data (adjusted to ombu's upper-casing of
 * type, subtype and encoding, see mime.h).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mime/mime.h"
#include "lib/buf.h"
#include "lib/pool.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pool *pool;

static int setup(void **state)
{
	(void)state;
	pool = pool_create("test-mime", 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pool_destroy(&pool);
	return 0;
}

/*
 * Helpers
 */

/* Everything the parser computes, as text, so trees can be compared. */
static void dump_part(struct buf *out, const struct mime_part *p)
{
	buf_printf(out, "[%s/%s f=%x d=%u h=%llu+%llu b=%llu+%llu l=%llu v=%llu/%llu "
		   "dl=%llu pre=%llu epi=%llu+%llu enc=%d",
		   p->type, p->subtype, p->flags, p->depth,
		   (unsigned long long)p->header_offset,
		   (unsigned long long)p->header_size,
		   (unsigned long long)p->body_offset,
		   (unsigned long long)p->body_size,
		   (unsigned long long)p->body_lines,
		   (unsigned long long)p->header_vsize,
		   (unsigned long long)p->body_vsize,
		   (unsigned long long)p->delim_offset,
		   (unsigned long long)p->preamble_size,
		   (unsigned long long)p->epilogue_offset,
		   (unsigned long long)p->epilogue_size, (int)p->encoding);
	for (unsigned int i = 0; i < p->fields_count; i++) {
		buf_printf(out, " {%s@%llu+%llu:%s}", p->fields[i].name,
			   (unsigned long long)p->fields[i].offset,
			   (unsigned long long)p->fields[i].size, p->fields[i].value);
	}
	for (unsigned int i = 0; i < p->params_count; i++)
		buf_printf(out, " %s=%s", p->params[i].name, p->params[i].value);
	for (const struct mime_part *c = p->children; c != NULL; c = c->next)
		dump_part(out, c);
	buf_append_c(out, ']');
}

static struct mime_part *parse_chunks(const char *msg, size_t len, size_t chunk,
				      const struct mime_parser_settings *set)
{
	struct mime_parser *p = mime_parser_create(pool, set);
	unsigned int seed = (unsigned int)len;

	for (size_t i = 0; i < len;) {
		size_t n = chunk;
		if (chunk == 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 13;
		}
		n = MIN(n, len - i);
		mime_parser_feed(p, msg + i, n);
		i += n;
	}
	struct mime_part *root = mime_parser_finish(p);
	mime_parser_destroy(&p);
	assert_null(p);
	return root;
}

/* Parses one-shot, byte by byte and in random chunks; asserts that all
   agree and returns the one-shot tree. */
static struct mime_part *parse_all_ways_set(const char *msg,
					    const struct mime_parser_settings *set)
{
	size_t len = strlen(msg);
	struct mime_part *root = parse_chunks(msg, len, len == 0 ? 1 : len, set);
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	dump_part(&a, root);
	for (size_t chunk = 0; chunk <= 2; chunk++) {
		buf_reset(&b);
		dump_part(&b, parse_chunks(msg, len, chunk, set));
		if (strcmp(buf_cstr(&a), buf_cstr(&b)) != 0)
			fail_msg("chunk %zu differs:\n%s\n%s", chunk, buf_cstr(&a),
				 buf_cstr(&b));
	}
	buf_free(&a);
	buf_free(&b);
	return root;
}

static struct mime_part *parse_all_ways(const char *msg)
{
	return parse_all_ways_set(msg, NULL);
}

static const char *body(const struct mime_part *p, const char *msg)
{
	return pool_strndup(pool, msg + p->body_offset, (size_t)p->body_size);
}

static const char *header(const struct mime_part *p, const char *msg)
{
	return pool_strndup(pool, msg + p->header_offset, (size_t)p->header_size);
}

/* "type/subtype(child,child)" */
static void sig(struct buf *out, const struct mime_part *p)
{
	buf_printf(out, "%s/%s", p->type, p->subtype);
	if (p->children == NULL)
		return;
	buf_append_c(out, '(');
	for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
		sig(out, c);
		if (c->next != NULL)
			buf_append_c(out, ',');
	}
	buf_append_c(out, ')');
}

static const char *tree_sig(const struct mime_part *p)
{
	struct buf out;
	buf_init_pool(&out, pool, 0);
	sig(&out, p);
	return buf_cstr(&out);
}

/*
 * Parser structure
 */

struct tree_case {
	const char *name, *msg, *sig;
	/* bodies of the parts in pre-order, "|"-separated; NULL: unchecked */
	const char *bodies;
	unsigned int root_flags_set;
};

static const struct tree_case tree_cases[] = {
	{ "plain", "Subject: x\r\n\r\nhello\r\n", "text/plain", "hello\r\n", 0 },
	{ "empty", "", "text/plain", "", MIME_PART_FLAG_HEADER_UNTERMINATED },
	{ "header only", "Subject: x\r\n", "text/plain", "",
	  MIME_PART_FLAG_HEADER_UNTERMINATED },
	{ "no header", "\r\nbody", "text/plain", "body", 0 },
	{ "multipart",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n"
	  "Content-Type: text/html\r\n\r\n<p>\r\n--b\r\n\r\ntwo\r\n--b--\r\nepi\r\n",
	  "multipart/mixed(text/html,text/plain)", "|<p>|two", 0 },
	{ "padding and junk after delimiters",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b \t \r\n\r\nx\r\n"
	  "--b junk\r\n\r\ny\r\n--b-- trailing junk\r\n",
	  "multipart/mixed(text/plain,text/plain)", "|x|y", 0 },
	{ "boundary prefix is not a delimiter",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b-1\r\n"
	  "--bx\r\n --b\r\n--b--\r\n",
	  "multipart/mixed(text/plain)", "|--b-1\r\n--bx\r\n --b", 0 },
	{ "missing close delimiter",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nlast\r\n",
	  "multipart/mixed(text/plain)", "|last\r\n", MIME_PART_FLAG_NO_CLOSE },
	{ "no delimiter at all",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\nAAA\r\n",
	  "multipart/mixed", "AAA\r\n", MIME_PART_FLAG_NO_CLOSE },
	{ "outer delimiter ends inner multipart",
	  "Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n"
	  "Content-Type: multipart/alternative; boundary=in\r\n\r\n--in\r\n\r\n"
	  "inner\r\n--out\r\n\r\nsecond\r\n--out--\r\n",
	  "multipart/mixed(multipart/alternative(text/plain),text/plain)",
	  NULL, 0 },
	{ "same boundary nested: innermost first",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n"
	  "--b--\r\n--b\r\n\r\ny\r\n--b--\r\n",
	  "multipart/mixed(multipart/mixed(text/plain),text/plain)", NULL, 0 },
	{ "LF only",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\na\n\n--b\n\nb\n--b--\n",
	  "multipart/mixed(text/plain,text/plain)", "|a\n|b", 0 },
	{ "message/rfc822",
	  "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n"
	  "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\nq\r\n--z--\r\n",
	  "message/rfc822(multipart/mixed(text/plain))", NULL, 0 },
	{ "base64 message/rfc822 stays a leaf",
	  "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "U3ViamVjdDogeA0KDQp5DQo=\r\n", "message/rfc822", NULL, 0 },
	{ "digest children default to message/rfc822",
	  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\n"
	  "From: a@b\r\n\r\nm1\r\n--d\r\nContent-Type: text/plain\r\n\r\nt\r\n--d--\r\n",
	  "multipart/digest(message/rfc822(text/plain),text/plain)", NULL, 0 },
	{ "multipart without boundary is text",
	  "Content-Type: multipart/mixed\r\n\r\n--x\r\n", "text/plain", "--x\r\n",
	  MIME_PART_FLAG_BAD_MULTIPART },
	{ "invalid content type is text/plain",
	  "Content-Type: garbage\r\n\r\nx", "text/plain", "x", 0 },
	{ "obsolete space before colon, continuation, bad line",
	  "Subject : a\r\n b\r\nnot a header\r\nX: y\r\n\r\nz", "text/plain", "z",
	  MIME_PART_FLAG_BAD_HEADER_LINE },
	{ "delimiter interrupts a header",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: y\r\n--b--\r\n",
	  "multipart/mixed(text/plain)", "|", 0 },
	{ "empty parts",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n--b--",
	  "multipart/mixed(text/plain,text/plain)", "||", 0 },
	{ "delimiter at end of input without line break",
	  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b",
	  "multipart/mixed(text/plain,text/plain)", "|x|", 0 },
};

static void test_tree_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(tree_cases); i++) {
		const struct tree_case *tc = &tree_cases[i];
		struct mime_part *root = parse_all_ways(tc->msg);
		if (strcmp(tree_sig(root), tc->sig) != 0)
			fail_msg("%s: tree %s, want %s", tc->name, tree_sig(root), tc->sig);
		if ((root->flags & tc->root_flags_set) != tc->root_flags_set)
			fail_msg("%s: root flags %x", tc->name, root->flags);
		if (tc->bodies == NULL)
			continue;
		struct buf got;
		buf_init_pool(&got, pool, 0);
		for (struct mime_part *p = root; p != NULL; p = mime_part_next(root, p)) {
			if (p != root)
				buf_append_c(&got, '|');
			if (p->children == NULL || p == root)
				buf_append_str(&got, p->children == NULL ? body(p, tc->msg) : "");
		}
		if (strcmp(buf_cstr(&got), tc->bodies) != 0)
			fail_msg("%s: bodies '%s', want '%s'", tc->name, buf_cstr(&got),
				 tc->bodies);
	}
}

static void test_offsets_and_counts(void **state)
{
	(void)state;
	const char *msg = "Content-Type: multipart/mixed; boundary=b\n\n"
		"pre\n--b\nContent-Type: text/plain\n\nl1\nl2\n\n--b--\nepi\n";
	struct mime_part *root = parse_all_ways(msg);
	struct mime_part *c = root->children;

	assert_string_equal(header(root, msg),
			    "Content-Type: multipart/mixed; boundary=b\n\n");
	assert_int_equal(root->preamble_size, 3);
	assert_string_equal(pool_strndup(pool, msg + root->epilogue_offset,
					 (size_t)root->epilogue_size), "epi\n");
	assert_string_equal(header(c, msg), "Content-Type: text/plain\n\n");
	assert_string_equal(body(c, msg), "l1\nl2\n");
	assert_int_equal(c->body_lines, 2);
	assert_int_equal(c->body_vsize, c->body_size + 2);
	assert_int_equal(c->header_vsize, c->header_size + 2);
	assert_int_equal(c->delim_offset, strstr(msg, "--b\n") - msg);
	assert_int_equal(root->header_offset + root->header_size + root->body_size,
			 strlen(msg));
}

static void test_depth_limit(void **state)
{
	(void)state;
	struct buf msg;
	buf_init_pool(&msg, pool, 0);
	for (int i = 0; i < 10; i++)
		buf_printf(&msg, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	buf_append_str(&msg, "\r\ndeep\r\n");
	struct mime_parser_settings set = { .limits = { .max_depth = 3 } };
	struct mime_part *root = parse_all_ways_set(buf_cstr(&msg), &set);
	struct mime_part *p = root;
	while (p->children != NULL)
		p = p->children;
	assert_int_equal(p->depth, 3);
	assert_true((p->flags & MIME_PART_FLAG_LIMIT_DEPTH) != 0);
	assert_false((p->flags & MIME_PART_FLAG_MULTIPART) != 0);
	/* the opaque leaf still holds everything below it */
	assert_non_null(strstr(body(p, buf_cstr(&msg)), "deep"));
}

static void test_parts_limit(void **state)
{
	(void)state;
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b\r\n\r\n4\r\n--b--\r\n";
	struct mime_parser_settings set = { .limits = { .max_parts = 3 } };
	struct mime_part *root = parse_all_ways_set(msg, &set);

	assert_int_equal(mime_part_count(root), 3);
	assert_true((root->flags & MIME_PART_FLAG_LIMIT_PARTS) != 0);
	/* the rest is the epilogue, to the end of the input */
	assert_int_equal(root->epilogue_offset + root->epilogue_size, strlen(msg));
	assert_string_equal(body(root->children->next, msg), "2");
}

static void test_header_limits(void **state)
{
	(void)state;
	struct buf msg;
	buf_init_pool(&msg, pool, 0);
	for (int i = 0; i < 200; i++)
		buf_printf(&msg, "Received: from host%d by relay%d with SMTP id %d\r\n", i, i, i);
	buf_append_str(&msg, "Content-Type: text/html; charset=utf-8\r\n\r\nbody");
	struct mime_parser_settings set = { .limits = { .max_header_size = 1024 } };
	struct mime_part *root = parse_all_ways_set(buf_cstr(&msg), &set);

	assert_true((root->flags & MIME_PART_FLAG_HEADER_TRUNCATED) != 0);
	assert_true(root->fields_count < 200);
	/* essential fields survive the soft limit */
	assert_string_equal(root->subtype, "html");
	assert_string_equal(root->charset, "utf-8");
	assert_string_equal(body(root, buf_cstr(&msg)), "body");

	/* fields past the limits cost no memory: 100,000 of them */
	buf_reset(&msg);
	for (int i = 0; i < 100000; i++)
		buf_append_str(&msg, "a:\r\n");
	buf_append_str(&msg, "\r\n");
	struct pool *p2 = pool_create("limits", 0);
	root = mime_parse(p2, msg.data, msg.len, &set);
	assert_true(pool_used(p2) < 64 * 1024);
	assert_int_equal(root->body_offset, msg.len);
	pool_destroy(&p2);
}

static void test_starts_body_mode(void **state)
{
	(void)state;
	const char *msg = "Subject: s\r\nbroken line\r\nX: y\r\n\r\nz";
	struct mime_parser_settings set = {
		.flags = MIME_PARSER_FLAG_MALFORMED_HEADER_STARTS_BODY,
	};
	struct mime_part *root = parse_all_ways_set(msg, &set);
	assert_int_equal(root->fields_count, 1);
	assert_string_equal(body(root, msg), "broken line\r\nX: y\r\n\r\nz");
	root = parse_all_ways(msg);
	assert_int_equal(root->fields_count, 2);
	assert_string_equal(body(root, msg), "z");
}

static void test_text_iteration(void **state)
{
	(void)state;
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"Content-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n--b\r\n"
		"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"iVBO\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nPGI+w6k8L2I+\r\n--b--\r\n";
	struct mime_part *root = parse_all_ways(msg);
	struct mime_part *t1 = mime_part_next_text(root, NULL);
	struct mime_part *t2 = mime_part_next_text(root, t1);
	size_t len;
	bool trunc;

	assert_non_null(t1);
	assert_non_null(t2);
	assert_null(mime_part_next_text(root, t2));
	assert_string_equal(mime_part_text(pool, t1, msg, strlen(msg), 1000, &len, &trunc),
			    "caf\xc3\xa9");
	assert_false(trunc);
	assert_string_equal(mime_part_text(pool, t2, msg, strlen(msg), 1000, NULL, NULL),
			    "<b>\xc3\xa9</b>");
	assert_string_equal(mime_part_text(pool, t2, msg, strlen(msg), 3, &len, &trunc),
			    "<b>");
	assert_true(trunc);
}

/*
 * Headers and RFC 2047
 */

static void test_header_lookup(void **state)
{
	(void)state;
	const char *msg = "Subject: =?utf-8?q?caf=C3=A9?=\r\n\tau lait\r\n"
		"received: a\r\nReceived: b\r\n\r\n";
	struct mime_part *root = parse_all_ways(msg);

	assert_string_equal(mime_header_get(pool, root, "subject"),
			    "=?utf-8?q?caf=C3=A9?=\tau lait");
	assert_string_equal(mime_header_get_utf8(pool, root, "SUBJECT"),
			    "caf\xc3\xa9\tau lait");
	assert_null(mime_header_get(pool, root, "X-None"));
	const char **all = mime_header_get_all(pool, root, "Received");
	assert_string_equal(all[0], "a");
	assert_string_equal(all[1], "b");
	assert_null(all[2]);
	all = mime_header_get_all_utf8(pool, root, "X-None");
	assert_null(all[0]);
	const struct mime_field *f = mime_header_find(root, "received");
	assert_string_equal(f->name, "received");
	f = mime_header_find_next(root, f, "RECEIVED");
	assert_string_equal(f->name, "Received");
	assert_null(mime_header_find_next(root, f, "received"));
}

static const struct {
	const char *in, *out;
} rfc2047_cases[] = {
	{ "=?iso-8859-1?q?this=20is=20some=20text?=", "this is some text" },
	{ "=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "\xc3\xa9\xc3\xa9" },
	{ "a =?utf-8?q?b?= c", "a b c" },
	{ "=?utf-8?q?a?=  \r\n =?utf-8?q?b?=", "ab" },
	{ "=?utf-8?q?a_b?=", "a b" },
	/* a character split across two words of the same charset */
	{ "=?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\xe2\x82\xac" },
	{ "=?iso-8859-1*fr?q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
	{ "=?x-unknown?q?caf=E9?=", "caf\xc3\xa9" },
	{ "Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e" },
	{ "Gr\xfc\xdf" "e", "Gr\xc3\xbc\xc3\x9f" "e" },
	{ "=?utf-8?B?w6k?=", "\xc3\xa9" },
	{ "Free=?utf-8?q?Money?=", "FreeMoney" },
	{ "=?koi8-r?B?89DJ08/LLmRvYw==?=", "\xd0\xa1\xd0\xbf\xd0\xb8\xd1\x81\xd0\xbe\xd0\xba.doc" },
	{ "=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c" },
	{ "=?utf-8?q?bad=ZZ?=", "bad=ZZ" },
	{ "=?utf-8?B?/w==?=", "\xef\xbf\xbd" },
	{ "  spaced  ", "spaced" },
};

static void test_rfc2047(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(rfc2047_cases); i++) {
		const char *in = rfc2047_cases[i].in;
		const char *got = mime_header_decode(pool, in, strlen(in));
		if (strcmp(got, rfc2047_cases[i].out) != 0)
			fail_msg("'%s' -> '%s', want '%s'", in, got, rfc2047_cases[i].out);
	}
	assert_string_equal(mime_header_unfold(pool, " a\r\n\tb \r\n", 9), "a\tb");
}

/*
 * Parameters, RFC 2231
 */

static const struct {
	const char *in, *token;
	const char *params; /* "name=utf8value;..." */
} param_cases[] = {
	{ "text/plain; charset=\"utf-8\"; format=flowed", "text/plain",
	  "charset=utf-8;format=flowed;" },
	{ "text/plain;; charset=us-ascii", "text/plain", "charset=us-ascii;" },
	{ "TEXT/Plain (comment); Charset=us-ascii (c2)", "text/plain",
	  "charset=us-ascii;" },
	{ "multipart/mixed; boundary=\"a b\\\"c\"", "multipart/mixed",
	  "boundary=a b\"c;" },
	{ "attachment; filename*=iso-8859-1'en'%A3%20rates.txt", "attachment",
	  "filename=\xc2\xa3 rates.txt;" },
	{ "attachment; filename*0=\"foo\"; filename*1=\"bar.txt\"", "attachment",
	  "filename=foobar.txt;" },
	{ "message/external-body; access-type=URL;\r\n"
	  " title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
	  " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"",
	  "message/external-body",
	  "access-type=URL;title=This is even more ***fun*** isn't it!;" },
	{ "a; name*1=\"b\"; name*0=\"a\"", "a", "name=ab;" },
	{ "a; name=\"=?utf-8?B?w6k=?=\"", "a", "name=\xc3\xa9;" },
	{ "a; name=plain; name*=utf-8''%C3%A9", "a", "name=\xc3\xa9;" },
	{ "a; novalue; x=1", "a", "x=1;" },
	{ "a; x=unquoted value with spaces ; y=2", "a",
	  "x=unquoted value with spaces;y=2;" },
	{ "", "", "" },
};

static void test_params(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(param_cases); i++) {
		const char *token;
		struct mime_param *params;
		unsigned int count;
		struct buf got;

		mime_param_parse(pool, param_cases[i].in, strlen(param_cases[i].in),
				 &token, &params, &count);
		buf_init_pool(&got, pool, 0);
		for (unsigned int k = 0; k < count; k++) {
			buf_printf(&got, "%s=%s;", params[k].name,
				   mime_param_value_utf8(pool, &params[k]));
		}
		if (strcmp(token, param_cases[i].token) != 0 ||
		    strcmp(buf_cstr(&got), param_cases[i].params) != 0)
			fail_msg("'%s': %s %s", param_cases[i].in, token, buf_cstr(&got));
	}
	/* the raw form BODYSTRUCTURE sends */
	const char *token;
	struct mime_param *params;
	unsigned int count;
	const char *v = "attachment; filename*0*=utf-8'de'%C3%A4; filename*1=\" b\"";
	mime_param_parse(pool, v, strlen(v), &token, &params, &count);
	assert_int_equal(count, 1);
	assert_true(params[0].extended);
	assert_string_equal(params[0].charset, "utf-8");
	assert_string_equal(params[0].language, "de");
	assert_string_equal(params[0].value, "%C3%A4%20b");
}

/*
 * Addresses
 */

static const char *render_addresses(const struct mime_address *a)
{
	struct buf out;
	buf_init_pool(&out, pool, 0);
	for (; a != NULL; a = a->next) {
		buf_printf(&out, "(%s %s %s %s)", a->name == NULL ? "NIL" : a->name,
			   a->route == NULL ? "NIL" : a->route,
			   a->mailbox == NULL ? "NIL" : a->mailbox,
			   a->domain == NULL ? "NIL" : a->domain);
	}
	return buf_cstr(&out);
}

static const struct {
	const char *in, *out;
} address_cases[] = {
	{ "user@domain", "(NIL NIL user domain)" },
	{ "Real Name <user@domain>", "(Real Name NIL user domain)" },
	{ "\"Quoted, Name\" <user@domain>, b@c", "(Quoted, Name NIL user domain)(NIL NIL b c)" },
	{ "user@domain (Real Name)", "(Real Name NIL user domain)" },
	{ "group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;",
	  "(NIL NIL group NIL)(NIL NIL g1 d1.org)(NIL NIL g2 d2.org)(NIL NIL NIL NIL)"
	  "(NIL NIL group2 NIL)(NIL NIL g3 d3.org)(NIL NIL NIL NIL)" },
	{ "group:;, group2: (foo) ;",
	  "(NIL NIL group NIL)(NIL NIL NIL NIL)(NIL NIL group2 NIL)(NIL NIL NIL NIL)" },
	{ "<@route:user@domain>", "(NIL @route user domain)" },
	{ "Name <@r1,@r2:user@domain>", "(Name @r1,@r2 user domain)" },
	{ "undisclosed-recipients:;", "(NIL NIL undisclosed-recipients NIL)(NIL NIL NIL NIL)" },
	{ "localrecipient", "(NIL NIL localrecipient MISSING_DOMAIN)" },
	{ "a@b, , c@d", "(NIL NIL a b)(NIL NIL c d)" },
	{ "=?utf-8?q?J=C3=B6rg?= <j@x>", "(=?utf-8?q?J=C3=B6rg?= NIL j x)" },
	{ "J\xc3\xb6rg <j@x>", "(J\xc3\xb6rg NIL j x)" },
	{ "Broken <user@", "(Broken NIL user SYNTAX_ERROR)" },
	{ "\"quoted local\"@x.org", "(NIL NIL quoted local x.org)" },
	{ "a . b @ x . org", "(NIL NIL a.b x.org)" },
	{ "<>", "(NIL NIL  )" },
	{ "user@[192.0.2.1]", "(NIL NIL user [192.0.2.1])" },
	{ "a@b junk, c@d", "(NIL NIL a b)(NIL NIL c d)" },
	{ "", "" },
	{ "  ", "" },
};

static void test_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(address_cases); i++) {
		const char *in = address_cases[i].in;
		const char *got = render_addresses(mime_address_parse(pool, in, strlen(in)));
		if (strcmp(got, address_cases[i].out) != 0)
			fail_msg("'%s' -> '%s', want '%s'", in, got, address_cases[i].out);
	}
}

/*
 * Dates
 */

static const struct {
	const char *in;
	long long t;
	int tz;
} date_cases[] = {
	{ "Thu, 20 Jun 1996 08:35:17 +0200", 835252517, 120 },
	{ "Wed, 11 Feb 98 11:51 CST", 887219460, -360 },
	{ "11 Apr 1996 01:10:30 -0500 (EST)", 829203030, -300 },
	{ "Wed Jun 19 18:12:02 1996", 835207922, 0 },
	{ "Mon, 1 Jan 2001 00:00:00 GMT", 978307200, 0 },
	{ "Mon,1-Jan-2001 01:30 +01:30", 978307200, 90 },
	{ "Fri, 31 Dec 49 23:59:59 UT", 2524607999LL, 0 },
	{ "1 January 1950 00:00:00 -0000", -631152000LL, 0 },
	{ "Fri, 31 Dec 1999 23:59:59 +0530 (IST)", 946664999, 330 },
	{ "Mon, 1 Jan 2001 00:00:00 A", 978307200, 0 },
	{ "  Mon, 1 Jan 101 00:00:00", 978307200, 0 },
};

static void test_dates(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(date_cases); i++) {
		time_t t;
		int tz;
		const char *in = date_cases[i].in;
		if (mime_date_parse(in, strlen(in), &t, &tz) < 0)
			fail_msg("'%s' did not parse", in);
		if ((long long)t != date_cases[i].t || tz != date_cases[i].tz)
			fail_msg("'%s' -> %lld %d", in, (long long)t, tz);
	}
	static const char *const bad[] = {
		"", "garbage", "32 Jan 2001 00:00:00", "1 Foo 2001 00:00:00",
		"1 Jan 2001 25:00:00", "Mon, 1 Jan",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		time_t t;
		int tz;
		if (mime_date_parse(bad[i], strlen(bad[i]), &t, &tz) == 0)
			fail_msg("'%s' parsed", bad[i]);
	}
}

/*
 * Transfer decoders
 */

static const struct {
	enum mime_encoding enc;
	const char *in, *out;
} decode_cases[] = {
	{ MIME_ENCODING_BASE64, "aGVsbG8gd29ybGQ=", "hello world" },
	{ MIME_ENCODING_BASE64, "aGVs\r\nbG8g\r\n d29y bGQ=\r\n", "hello world" },
	{ MIME_ENCODING_BASE64, "a!G@V#s$b%G^8=&", "hello" },
	{ MIME_ENCODING_BASE64, "aGk=aGk=", "hihi" },
	{ MIME_ENCODING_BASE64, "aGVsbG8", "hel" }, /* unpadded tail dropped */
	{ MIME_ENCODING_BASE64, "", "" },
	{ MIME_ENCODING_QP, "caf=E9 au lait", "caf\xe9 au lait" },
	{ MIME_ENCODING_QP, "soft=\r\nbreak", "softbreak" },
	{ MIME_ENCODING_QP, "soft=  \r\nbreak=\nlf", "softbreaklf" },
	{ MIME_ENCODING_QP, "lower=e9", "lower\xe9" },
	{ MIME_ENCODING_QP, "bad=ZZ =4 =", "bad=ZZ =4 " },
	{ MIME_ENCODING_QP, "trailing   \r\nspace\t\r\n", "trailing\r\nspace\r\n" },
	{ MIME_ENCODING_QP, "lf\nonly\n", "lf\r\nonly\r\n" },
	{ MIME_ENCODING_QP, "a = b", "a = b" },
	{ MIME_ENCODING_QP, "end=4", "end=4" },
	{ MIME_ENCODING_7BIT, "as\r\nis\n", "as\r\nis\n" },
	{ MIME_ENCODING_UNKNOWN, "begin 644 x\n", "begin 644 x\n" },
};

static const char *decode_chunked(enum mime_encoding enc, const char *in,
				  size_t chunk)
{
	struct mime_decoder dec;
	struct buf out;
	size_t len = strlen(in);

	buf_init_pool(&out, pool, 0);
	mime_decode_init(&dec, enc);
	for (size_t i = 0; i < len; i += chunk)
		assert_int_equal(mime_decode_feed(&dec, in + i, MIN(chunk, len - i), &out), 0);
	assert_int_equal(mime_decode_finish(&dec, &out), 0);
	return buf_cstr(&out);
}

static void test_decoders(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(decode_cases); i++) {
		const char *in = decode_cases[i].in;
		size_t len = strlen(in);
		const char *whole = decode_chunked(decode_cases[i].enc, in, len == 0 ? 1 : len);
		if (strcmp(whole, decode_cases[i].out) != 0)
			fail_msg("%d '%s' -> '%s'", decode_cases[i].enc, in, whole);
		for (size_t chunk = 1; chunk <= 3; chunk++) {
			const char *c = decode_chunked(decode_cases[i].enc, in, chunk);
			if (strcmp(c, whole) != 0)
				fail_msg("'%s' chunk %zu -> '%s'", in, chunk, c);
		}
	}
	static const struct {
		const char *in;
		enum mime_encoding enc;
	} names[] = {
		{ "base64", MIME_ENCODING_BASE64 }, { " BASE64 ", MIME_ENCODING_BASE64 },
		{ "Quoted-Printable", MIME_ENCODING_QP }, { "8bit", MIME_ENCODING_8BIT },
		{ "binary", MIME_ENCODING_BINARY }, { "", MIME_ENCODING_7BIT },
		{ "x-uuencode", MIME_ENCODING_UNKNOWN },
		{ "base64 (comment)", MIME_ENCODING_BASE64 },
	};
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		assert_int_equal(mime_decode_encoding(names[i].in, strlen(names[i].in)),
				 names[i].enc);
	}
	/* a bounded output buffer reports the cut */
	struct mime_decoder dec;
	struct buf out;
	buf_init(&out, 4);
	mime_decode_init(&dec, MIME_ENCODING_7BIT);
	assert_int_equal(mime_decode_feed(&dec, "123456", 6, &out), -1);
	buf_free(&out);
}

/*
 * Charsets
 */

static const struct {
	const char *charset, *in, *out;
	int exact;
} charset_cases[] = {
	{ "iso-8859-1", "caf\xe9", "caf\xc3\xa9", 1 },
	{ "ISO-8859-15", "\xa4", "\xe2\x82\xac", 1 },
	{ "windows-1252", "\x80", "\xe2\x82\xac", 1 },
	{ "koi8-r", "\xf3\xd0", "\xd0\xa1\xd0\xbf", 1 },
	{ "utf-8", "ok \xc3\xa9", "ok \xc3\xa9", 1 },
	{ "utf-8", "bad \xff!", "bad \xef\xbf\xbd!", 0 },
	{ "UTF8", "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd", 0 },
	{ "us-ascii", "caf\xc3\xa9", "caf\xc3\xa9", 1 },
	{ "us-ascii", "caf\xe9", "caf\xc3\xa9", 0 },
	{ NULL, "\x93quoted\x94", "\xe2\x80\x9cquoted\xe2\x80\x9d", 0 },
	{ "x-no-such-charset", "caf\xe9", "caf\xc3\xa9", 0 },
	{ "\"iso-8859-1\"", "\xe9", "\xc3\xa9", 1 },
	{ "shift_jis", "\x82\xa0", "\xe3\x81\x82", 1 },
	{ "gb2312", "\xc4\xe3", "\xe4\xbd\xa0", 1 },
	{ "iso-2022-jp", "\x1b$B$\"\x1b(B", "\xe3\x81\x82", 1 },
};

static void test_charsets(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(charset_cases); i++) {
		struct buf out;
		buf_init_pool(&out, pool, 0);
		const char *in = charset_cases[i].in;
		int r = mime_charset_to_utf8(charset_cases[i].charset, in, strlen(in), &out);
		if (strcmp(buf_cstr(&out), charset_cases[i].out) != 0 ||
		    r != charset_cases[i].exact)
			fail_msg("%s: '%s' (%d)", charset_cases[i].charset == NULL ?
				 "(null)" : charset_cases[i].charset, buf_cstr(&out), r);
		assert_true(mime_charset_is_valid_utf8(out.data, out.len));
	}
	assert_true(mime_charset_is_known("ISO-8859-2"));
	assert_false(mime_charset_is_known("x-no-such-charset"));
	assert_false(mime_charset_is_valid_utf8("\xc0\x80", 2)); /* overlong */
	assert_false(mime_charset_is_valid_utf8("\xed\xa0\x80", 3)); /* surrogate */
}

/*
 * IMAP: ENVELOPE, BODYSTRUCTURE, sections
 */

static const char *bodystructure(const struct mime_part *p, unsigned int flags)
{
	struct buf out;
	buf_init_pool(&out, pool, 0);
	mime_imap_bodystructure(&out, p, flags);
	return buf_cstr(&out);
}

static const char *envelope(const struct mime_part *p)
{
	struct buf out;
	buf_init_pool(&out, pool, 0);
	mime_imap_envelope(&out, p);
	return buf_cstr(&out);
}

/* Dovecot's src/lib-imap/test-imap-bodystructure.c message (LF only, so
   Dovecot's CRLF sizes are MIME_IMAP_VIRTUAL_SIZES here). */
static const char dovecot_msg[] =
	"From: user@domain.org\n"
	"Date: Sat, 24 Mar 2007 23:00:00 +0200\n"
	"Mime-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"foo\n"
	" bar\"\n"
	"\n"
	"Root MIME prologue\n"
	"\n"
	"--foo bar\n"
	"Content-Type: text/x-myown; charset=us-ascii; foo=\"quoted\\\"string\"\n"
	"Content-ID: <foo@example.com>\n"
	"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
	"Content-Disposition: inline; foo=bar\n"
	"Content-Description: hellodescription\n"
	"Content-Language: en, fi, se\n"
	"Content-Location: http://example.com/test.txt\n"
	"\n"
	"hello\n"
	"\n"
	"--foo bar\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: sub@domain.org\n"
	"To: sub-to1@domain.org, sub-to2@domain.org\n"
	"Date: Sun, 12 Aug 2012 12:34:56 +0300\n"
	"Subject: submsg\n"
	"Content-Type: multipart/alternative; boundary=\"sub1\"\n"
	"\n"
	"Sub MIME prologue\n"
	"--sub1\n"
	"Content-Type: text/html\n"
	"Content-Transfer-Encoding: 8bit\n"
	"\n"
	"<p>Hello world</p>\n"
	"\n"
	"--sub1\n"
	"Content-Type: text/plain\n"
	"Content-Transfer-Encoding: ?invalid\n"
	"\n"
	"Hello another world\n"
	"\n"
	"--sub1--\n"
	"Sub MIME epilogue\n"
	"\n"
	"--foo bar--\n"
	"Root MIME epilogue\n";

static const char dovecot_bodystructure[] =
	"((\"TEXT\" \"X-MYOWN\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") "
	"\"<foo@example.com>\" \"hellodescription\" \"7BIT\" 7 1 "
	"\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" (\"foo\" \"bar\")) "
	"(\"en\" \"fi\" \"se\") \"http://example.com/test.txt\")"
	"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 412 "
	"(\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" "
	"((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) "
	"((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub-to1\" \"domain.org\")"
	"(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) "
	"((\"TEXT\" \"HTML\" (\"charset\" \"us-ascii\") NIL NIL \"8BIT\" 20 1 NIL NIL NIL NIL)"
	"(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 21 1 NIL NIL NIL NIL) "
	"\"ALTERNATIVE\" (\"boundary\" \"sub1\") NIL NIL NIL) 21 NIL NIL NIL NIL) "
	"\"MIXED\" (\"boundary\" \"foo bar\") NIL NIL NIL)";

static const char dovecot_body[] =
	"((\"TEXT\" \"X-MYOWN\" (\"charset\" \"us-ascii\" \"foo\" \"quoted\\\"string\") "
	"\"<foo@example.com>\" \"hellodescription\" \"7BIT\" 7 1)"
	"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 412 "
	"(\"Sun, 12 Aug 2012 12:34:56 +0300\" \"submsg\" "
	"((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub\" \"domain.org\")) "
	"((NIL NIL \"sub\" \"domain.org\")) ((NIL NIL \"sub-to1\" \"domain.org\")"
	"(NIL NIL \"sub-to2\" \"domain.org\")) NIL NIL NIL NIL) "
	"((\"TEXT\" \"HTML\" (\"charset\" \"us-ascii\") NIL NIL \"8BIT\" 20 1)"
	"(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 21 1) "
	"\"ALTERNATIVE\") 21) \"MIXED\")";

static void test_bodystructure_dovecot(void **state)
{
	(void)state;
	struct mime_part *root = parse_all_ways(dovecot_msg);

	assert_string_equal(bodystructure(root, MIME_IMAP_EXTENDED | MIME_IMAP_VIRTUAL_SIZES),
			    dovecot_bodystructure);
	assert_string_equal(bodystructure(root, MIME_IMAP_VIRTUAL_SIZES), dovecot_body);
}

static const struct {
	const char *msg, *body, *bodystructure;
} bs_cases[] = {
	/* RFC 3501 7.4.2 defaults: text/plain without parameters */
	{ "Subject: x\r\n\r\nab\r\ncd\r\n",
	  "(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 8 2)",
	  "(\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 8 2 NIL NIL NIL NIL)" },
	/* imaptest fetch-bodystructure */
	{ "Mime-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"foo\r\n bar\"\r\n\r\n"
	  "--foo bar\r\nContent-Type: text/x-myown; charset=us-ascii\r\n\r\nhello\r\n\r\n"
	  "--foo bar--\r\n",
	  "((\"TEXT\" \"X-MYOWN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 7 1) \"MIXED\")",
	  NULL },
	{ "Content-Type: image/png; name=\"a \\\"b\\\".png\"\r\n"
	  "Content-Transfer-Encoding: BASE64\r\n"
	  "Content-Disposition: attachment;\r\n filename*=utf-8''%C3%A9.png\r\n\r\niVBO\r\n",
	  "(\"IMAGE\" \"PNG\" (\"name\" \"a \\\"b\\\".png\") NIL NIL \"BASE64\" 6)",
	  "(\"IMAGE\" \"PNG\" (\"name\" \"a \\\"b\\\".png\") NIL NIL \"BASE64\" 6 NIL "
	  "(\"attachment\" (\"filename*\" \"utf-8''%C3%A9.png\")) NIL NIL)" },
	/* 8-bit values go out as literals */
	{ "Content-Type: text/plain; charset=utf-8\r\n"
	  "Content-Description: caf\xc3\xa9\r\n\r\nx",
	  "(\"TEXT\" \"PLAIN\" (\"charset\" \"utf-8\") NIL {5}\r\ncaf\xc3\xa9 \"7BIT\" 1 0)",
	  NULL },
	/* a multipart without parts */
	{ "Content-Type: multipart/mixed; boundary=b\r\n\r\nnothing\r\n",
	  "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) \"MIXED\")",
	  "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL) "
	  "\"MIXED\" (\"boundary\" \"b\") NIL NIL NIL)" },
	/* an encoded message/rfc822 is a basic body */
	{ "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "U3ViamVjdDogeA0KDQp5DQo=\r\n",
	  "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"BASE64\" 26)", NULL },
	{ "Content-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nq",
	  "(\"APPLICATION\" \"X-THING\" NIL NIL NIL \"X-UUENCODE\" 1)", NULL },
};

static void test_bodystructure_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(bs_cases); i++) {
		struct mime_part *root = parse_all_ways(bs_cases[i].msg);
		const char *b = bodystructure(root, 0);
		if (strcmp(b, bs_cases[i].body) != 0)
			fail_msg("case %zu BODY:\n%s\nwant\n%s", i, b, bs_cases[i].body);
		if (bs_cases[i].bodystructure == NULL)
			continue;
		b = bodystructure(root, MIME_IMAP_EXTENDED);
		if (strcmp(b, bs_cases[i].bodystructure) != 0)
			fail_msg("case %zu BODYSTRUCTURE:\n%s\nwant\n%s", i, b,
				 bs_cases[i].bodystructure);
	}
}

/* imaptest src/tests/fetch-envelope */
static const struct {
	const char *hdr, *envelope;
} envelope_cases[] = {
	{ "Message-ID: <msg@id>\nIn-Reply-To: <reply@to.id>\n"
	  "Date: Thu, 15 Feb 2007 01:02:03 +0200\nSubject: subject header\n"
	  "From: From Real <fromuser@fromdomain.org>\nTo: To Real <touser@todomain.org>\n"
	  "Cc: Cc Real <ccuser@ccdomain.org>\nBcc: Bcc Real <bccuser@bccdomain.org>\n"
	  "Sender: Sender Real <senderuser@senderdomain.org>\n"
	  "Reply-To: ReplyTo Real <replytouser@replytodomain.org>\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" \"subject header\" "
	  "((\"From Real\" NIL \"fromuser\" \"fromdomain.org\")) "
	  "((\"Sender Real\" NIL \"senderuser\" \"senderdomain.org\")) "
	  "((\"ReplyTo Real\" NIL \"replytouser\" \"replytodomain.org\")) "
	  "((\"To Real\" NIL \"touser\" \"todomain.org\")) "
	  "((\"Cc Real\" NIL \"ccuser\" \"ccdomain.org\")) "
	  "((\"Bcc Real\" NIL \"bccuser\" \"bccdomain.org\")) \"<reply@to.id>\" \"<msg@id>\")" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((NIL NIL \"user\" \"domain\")) "
	  "((NIL NIL \"user\" \"domain\")) ((NIL NIL \"user\" \"domain\")) NIL NIL NIL NIL NIL)" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\n"
	  "To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\n"
	  "Cc: group:;, group2: (foo) ;\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "((NIL NIL \"group\" NIL)(NIL NIL \"g1\" \"d1.org\")(NIL NIL \"g2\" \"d2.org\")"
	  "(NIL NIL NIL NIL)(NIL NIL \"group2\" NIL)(NIL NIL \"g3\" \"d3.org\")(NIL NIL NIL NIL)) "
	  "((NIL NIL \"group\" NIL)(NIL NIL NIL NIL)(NIL NIL \"group2\" NIL)(NIL NIL NIL NIL)) "
	  "NIL NIL NIL)" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\n"
	  "Sender: \nReply-To: \n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "((\"Real Name\" NIL \"user\" \"domain\")) ((\"Real Name\" NIL \"user\" \"domain\")) "
	  "NIL NIL NIL NIL NIL)" },
	{ "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: <@route:user@domain>\n\nbody\n",
	  "(\"Thu, 15 Feb 2007 01:02:03 +0200\" NIL ((NIL \"@route\" \"user\" \"domain\")) "
	  "((NIL \"@route\" \"user\" \"domain\")) ((NIL \"@route\" \"user\" \"domain\")) "
	  "NIL NIL NIL NIL NIL)" },
	{ "Subject: =?utf-8?q?caf=C3=A9?=\r\n\t\"x\"\r\nFrom: J\xc3\xb6rg <j@x>\r\n\r\n",
	  "(NIL \"=?utf-8?q?caf=C3=A9?=\t\\\"x\\\"\" (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) "
	  "(({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) (({5}\r\nJ\xc3\xb6rg NIL \"j\" \"x\")) "
	  "NIL NIL NIL NIL NIL)" },
	{ "\r\n", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)" },
};

static void test_envelope(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(envelope_cases); i++) {
		struct mime_part *root = parse_all_ways(envelope_cases[i].hdr);
		const char *e = envelope(root);
		if (strcmp(e, envelope_cases[i].envelope) != 0)
			fail_msg("case %zu:\n%s\nwant\n%s", i, e, envelope_cases[i].envelope);
	}
}

/* imaptest src/tests/fetch-body-mime */
static const char section_msg[] =
	"From: user@domain.org\n"
	"Date: Sat, 24 Mar 2007 23:00:00 +0200\n"
	"Mime-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"foo\n bar\"\n"
	"\n"
	"Root MIME prologue\n"
	"\n"
	"--foo bar\n"
	"Content-Type: text/x-myown; charset=us-ascii\n"
	"\n"
	"hello\n"
	"\n"
	"--foo bar\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: sub@domain.org\n"
	"Date: Sun, 12 Aug 2012 12:34:56 +0300\n"
	"Subject: submsg\n"
	"Content-Type: multipart/alternative; boundary=\"sub1\"\n"
	"\n"
	"Sub MIME prologue\n"
	"--sub1\n"
	"Content-Type: text/html\n"
	"\n"
	"<p>Hello world</p>\n"
	"\n"
	"--sub1\n"
	"Content-Type: text/plain\n"
	"\n"
	"Hello another world\n"
	"\n"
	"--sub1--\n"
	"Sub MIME epilogue\n"
	"\n"
	"--foo bar--\n"
	"Root MIME epilogue\n";

static const struct {
	const char *spec, *data; /* data NULL: no such part */
} section_cases[] = {
	{ "1", "hello\n" },
	{ "1.MIME", "Content-Type: text/x-myown; charset=us-ascii\n\n" },
	{ "2.MIME", "Content-Type: message/rfc822\n\n" },
	{ "2.HEADER", "From: sub@domain.org\nDate: Sun, 12 Aug 2012 12:34:56 +0300\n"
	  "Subject: submsg\nContent-Type: multipart/alternative; boundary=\"sub1\"\n\n" },
	{ "2.HEADER.FIELDS (from subject X-foo)",
	  "From: sub@domain.org\r\nSubject: submsg\r\n\r\n" },
	{ "2.header.fields.not (from \"subject\" X-foo)",
	  "Date: Sun, 12 Aug 2012 12:34:56 +0300\r\n"
	  "Content-Type: multipart/alternative; boundary=\"sub1\"\r\n\r\n" },
	{ "2.TEXT", "Sub MIME prologue\n--sub1\nContent-Type: text/html\n\n"
	  "<p>Hello world</p>\n\n--sub1\nContent-Type: text/plain\n\n"
	  "Hello another world\n\n--sub1--\nSub MIME epilogue\n" },
	{ "2.1.MIME", "Content-Type: text/html\n\n" },
	{ "2.1", "<p>Hello world</p>\n" },
	{ "2.2", "Hello another world\n" },
	{ "2.2.MIME", "Content-Type: text/plain\n\n" },
	{ "HEADER.FIELDS (Mime-Version)", "Mime-Version: 1.0\r\n\r\n" },
	{ "HEADER.FIELDS (xyz)", "\r\n" },
	{ "3", NULL },
	{ "2.3", NULL },
	{ "1.HEADER", NULL },
	{ "1.1", NULL },
	{ "1.2", NULL },
};

static const char *section(const struct mime_part *root, const char *msg,
			   const char *spec, int *ret_r)
{
	struct mime_section sec;
	const char *error = NULL;
	struct buf out;

	*ret_r = mime_imap_section(pool, root, spec, &sec, &error);
	if (*ret_r <= 0)
		return error;
	buf_init_pool(&out, pool, 0);
	mime_imap_section_data(&out, &sec, msg, strlen(msg));
	return buf_cstr(&out);
}

static void test_sections(void **state)
{
	(void)state;
	struct mime_part *root = parse_all_ways(section_msg);
	int ret;

	for (size_t i = 0; i < N_ELEMENTS(section_cases); i++) {
		const char *got = section(root, section_msg, section_cases[i].spec, &ret);
		if (section_cases[i].data == NULL) {
			if (ret != 0)
				fail_msg("%s: %d", section_cases[i].spec, ret);
			continue;
		}
		if (ret != 1 || strcmp(got, section_cases[i].data) != 0)
			fail_msg("%s (%d):\n'%s'\nwant\n'%s'", section_cases[i].spec, ret,
				 got == NULL ? "(null)" : got, section_cases[i].data);
	}
	/* the whole message, its header and its text */
	assert_string_equal(section(root, section_msg, "", &ret), section_msg);
	assert_int_equal(strlen(section(root, section_msg, "HEADER", &ret)),
			 strstr(section_msg, "\n\n") + 2 - section_msg);
	assert_string_equal(section(root, section_msg, "TEXT", &ret),
			    strstr(section_msg, "\n\n") + 2);

	static const char *const bad[] = {
		"0", "1.", "MIME", "1.FOO", "1.HEADER.FIELDS", "1.HEADER.FIELDS ()",
		"HEADER.FIELDS (a", "1 2", "99999999999",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		(void)section(root, section_msg, bad[i], &ret);
		if (ret != -1)
			fail_msg("'%s' accepted", bad[i]);
	}
}

/* imaptest fetch-body-message-rfc822{,-x2,-mime}: a message/rfc822
   top-level body and a digest. */
static void test_sections_rfc822(void **state)
{
	(void)state;
	const char *msg =
		"From: user@domain.org\nMime-Version: 1.0\nContent-Type: message/rfc822\n\n"
		"From: sub@domain.org\nSubject: submsg\n"
		"Content-Type: multipart/digest; boundary=\"foo\"\n\nprologue\n\n"
		"--foo \n\nFrom: m1@example.com\nSubject: m1\n\nm1 body\n\n"
		"--foo \nX-Mime: m2 header\n\nFrom: m2@example.com\nSubject: m2\n\nm2 body\n\n"
		"--foo--\n\nepilogue\n";
	struct mime_part *root = parse_all_ways(msg);
	int ret;

	assert_string_equal(section(root, msg, "1", &ret), strstr(msg, "From: sub"));
	assert_string_equal(section(root, msg, "TEXT", &ret), strstr(msg, "From: sub"));
	assert_string_equal(section(root, msg, "1.HEADER", &ret),
			    "From: sub@domain.org\nSubject: submsg\n"
			    "Content-Type: multipart/digest; boundary=\"foo\"\n\n");
	assert_string_equal(section(root, msg, "1.1", &ret),
			    "From: m1@example.com\nSubject: m1\n\nm1 body\n");
	assert_string_equal(section(root, msg, "1.1.MIME", &ret), "\n");
	assert_string_equal(section(root, msg, "1.1.HEADER", &ret),
			    "From: m1@example.com\nSubject: m1\n\n");
	assert_string_equal(section(root, msg, "1.1.TEXT", &ret), "m1 body\n");
	assert_string_equal(section(root, msg, "1.2.MIME", &ret), "X-Mime: m2 header\n\n");
	assert_string_equal(section(root, msg, "1.2.TEXT", &ret), "m2 body\n");
	assert_string_equal(section(root, msg, "1.2.1", &ret), "m2 body\n");
	/* a single-part message: section 1 is its body */
	const char *plain = "Subject: x\r\n\r\nbody\r\n";
	root = parse_all_ways(plain);
	assert_string_equal(section(root, plain, "1", &ret), "body\r\n");
	assert_string_equal(section(root, plain, "1.MIME", &ret), "Subject: x\r\n\r\n");
	(void)section(root, plain, "2", &ret);
	assert_int_equal(ret, 0);
}

static void test_header_fields_and_partial(void **state)
{
	(void)state;
	const char *hdr = "From: a\r\nTo: b,\r\n c\nX-Y: z\r\nfrom: second\r\n\r\nbody: no\r\n";
	const char *const names[] = { "FROM", "to", NULL };
	struct buf out;
	uint64_t off, len;

	buf_init_pool(&out, pool, 0);
	mime_imap_header_fields(&out, hdr, strlen(hdr), names, false);
	assert_string_equal(buf_cstr(&out), "From: a\r\nTo: b,\r\n c\r\nfrom: second\r\n\r\n");
	buf_reset(&out);
	mime_imap_header_fields(&out, hdr, strlen(hdr), names, true);
	assert_string_equal(buf_cstr(&out), "X-Y: z\r\n\r\n");

	/* imaptest fetch-body: partial fetches */
	mime_imap_partial(8, 0, 3, &off, &len);
	assert_int_equal(off, 0);
	assert_int_equal(len, 3);
	mime_imap_partial(8, 5, 10, &off, &len);
	assert_int_equal(off, 5);
	assert_int_equal(len, 3);
	mime_imap_partial(8, 8, 1, &off, &len);
	assert_int_equal(len, 0);
	mime_imap_partial(8, 100, 1, &off, &len);
	assert_int_equal(off, 8);
	assert_int_equal(len, 0);
	mime_imap_partial(8, 3, UINT64_MAX, &off, &len);
	assert_int_equal(len, 5);
}

static void test_nstring(void **state)
{
	(void)state;
	struct buf out;
	buf_init_pool(&out, pool, 0);
	mime_imap_append_nstring(&out, NULL, 0);
	buf_append_c(&out, ' ');
	mime_imap_append_nstring(&out, "a\"b\\c", 5);
	buf_append_c(&out, ' ');
	mime_imap_append_nstring(&out, "x\r\ny", 4);
	buf_append_c(&out, ' ');
	mime_imap_append_nstring(&out, "n\0ul", 4);
	assert_memory_equal(out.data, "NIL \"a\\\"b\\\\c\" {4}\r\nx\r\ny \"nul\"", out.len);
}

/*
 * Regression tests for what the fuzzer found (named after the bug)
 */

/* A field longer than twice max_header_size kept no bytes, and its name
   was then looked for with memchr(NULL, ':', 0) (UBSan). */
static void test_overlong_field_null_memchr(void **state)
{
	(void)state;
	struct buf msg;
	buf_init_pool(&msg, pool, 0);
	buf_append_str(&msg, "X-Long: ");
	for (int i = 0; i < 100; i++)
		buf_append_str(&msg, "0123456789");
	buf_append_str(&msg, "\r\nSubject: s\r\n\r\nbody");
	struct mime_parser_settings set = { .limits = { .max_header_size = 16 } };
	struct mime_part *root = parse_all_ways_set(buf_cstr(&msg), &set);
	assert_true((root->flags & MIME_PART_FLAG_HEADER_TRUNCATED) != 0);
	assert_non_null(mime_header_find(root, "Subject"));
	assert_null(mime_header_find(root, "X-Long"));
}

/* "utf-8" (lower case) went through iconv, whose UTF-8 decoder lets
   F4 90..BF (above U+10FFFF) through: the text was not valid UTF-8. */
static void test_utf8_above_u10ffff(void **state)
{
	(void)state;
	static const char *const charsets[] = { "utf-8", "UTF-8", "Utf8", "utf-16le" };
	for (size_t i = 0; i < N_ELEMENTS(charsets); i++) {
		struct buf out;
		buf_init_pool(&out, pool, 0);
		(void)mime_charset_to_utf8(charsets[i], "a\xf4\xb6\xa6\x9c\xff\xfe", 7, &out);
		assert_true(mime_charset_is_valid_utf8(out.data, out.len));
	}
}

/* A header whose blank line is the line break before a delimiter: the
   part (and the message inside a digest part) ended after its parent. */
static void test_child_past_parent_after_blank_line(void **state)
{
	(void)state;
	static const char *const msgs[] = {
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"Content-Type: text/plain\r\n\r\n--b--\r\n",
		"Content-Type: multipart/digest; boundary=b\n\n--b\n\n"
		"Content-Type: text/plain\n\n--b\n\n--b--\n",
		"Content-Type: multipart/digest; boundary=b\n\n--b\n\n--b--\n",
	};
	for (size_t i = 0; i < N_ELEMENTS(msgs); i++) {
		struct mime_part *root = parse_all_ways(msgs[i]);
		for (struct mime_part *p = root; p != NULL; p = mime_part_next(root, p)) {
			assert_int_equal(p->header_offset + p->header_size, p->body_offset);
			if (p->parent == NULL)
				continue;
			assert_true(p->header_offset >= p->parent->body_offset);
			assert_true(p->body_offset + p->body_size <=
				    p->parent->body_offset + p->parent->body_size);
		}
	}
	struct mime_part *root = parse_all_ways(msgs[0]);
	assert_string_equal(header(root->children, msgs[0]), "Content-Type: text/plain\r\n");
	assert_int_equal(root->children->body_size, 0);
}

/* A header cut by a delimiter: the field's size counted the line break
   that belongs to the delimiter, so the field ran past the header. */
static void test_field_size_past_interrupted_header(void **state)
{
	(void)state;
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nX: header cut by\r\n--b--\r\n";
	struct mime_part *root = parse_all_ways(msg);
	struct mime_part *c = root->children;

	assert_int_equal(c->fields_count, 1);
	assert_true(c->fields[0].offset + c->fields[0].size <= c->body_offset);
	assert_int_equal(c->fields[0].size, strlen("X: header cut by"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_cases),
		cmocka_unit_test(test_offsets_and_counts),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_parts_limit),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_starts_body_mode),
		cmocka_unit_test(test_text_iteration),
		cmocka_unit_test(test_header_lookup),
		cmocka_unit_test(test_rfc2047),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_decoders),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_bodystructure_dovecot),
		cmocka_unit_test(test_bodystructure_cases),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_sections_rfc822),
		cmocka_unit_test(test_header_fields_and_partial),
		cmocka_unit_test(test_nstring),
		cmocka_unit_test(test_field_size_past_interrupted_header),
		cmocka_unit_test(test_child_past_parent_after_blank_line),
		cmocka_unit_test(test_utf8_above_u10ffff),
		cmocka_unit_test(test_overlong_field_null_memchr),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
