/*
 * src/proto SMTP codec: the DATA decoder (dot-stuffing, the end of
 * data, the SMTP smuggling matrix, line and size limits) and BDAT
 * chunks.  Every case is fed in one piece, one byte at a time and split
 * in two at every position; all must agree.  A randomized comparison
 * against a deliberately naive reference decoder closes the gaps.
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

#define F_LF SMTP_DATA_F_BARE_LF
#define F_CR SMTP_DATA_F_BARE_CR
#define F_NUL SMTP_DATA_F_NUL
#define F_LONG SMTP_DATA_F_LONG_LINE
#define F_BIG SMTP_DATA_F_TOO_BIG
#define F_SMUG SMTP_DATA_F_SMUGGLING
#define F_8BIT SMTP_DATA_F_8BIT

struct run_result {
	struct buf out;
	int ret;          /* last feed result */
	size_t consumed;  /* total */
	unsigned flags;
	uint64_t size;
	unsigned sink_calls;
};

static int sink_append(void *ctx, const void *data, size_t len)
{
	struct run_result *r = ctx;

	assert_true(len > 0);
	r->sink_calls++;
	return buf_append(&r->out, data, len);
}

/* Feeds input in pieces ending at cuts[], stopping at the end of DATA. */
static void data_run(struct pool *pool, const struct smtp_data_settings *set,
		     const char *in, size_t len, const size_t *cuts, size_t n_cuts,
		     struct run_result *r)
{
	struct smtp_data_decoder *dec;
	size_t start = 0;

	memset(r, 0, sizeof(*r));
	buf_init_pool(&r->out, pool, 0);
	dec = smtp_data_decoder_create(pool, set, sink_append, r);
	for (size_t c = 0; c <= n_cuts && r->ret == 0; c++) {
		size_t end = c < n_cuts ? cuts[c] : len;
		size_t used;
		r->ret = smtp_data_decoder_feed(dec, in + start, end - start, &used);
		assert_true(used <= end - start);
		if (r->ret == 0)
			assert_int_equal(used, end - start);
		r->consumed += used;
		start = end;
	}
	r->flags = smtp_data_decoder_flags(dec);
	r->size = smtp_data_decoder_size(dec);
	assert_int_equal(smtp_data_decoder_raw_size(dec), r->consumed);
	assert_int_equal(smtp_data_decoder_finished(dec), r->ret == 1);
}

/* Runs one case every way and checks they agree; returns the one-shot. */
static void data_run_all(struct pool *pool, const struct smtp_data_settings *set,
			 const char *in, size_t len, struct run_result *whole)
{
	struct run_result r;
	size_t *cuts = pool_alloc(pool, sizeof(size_t) * (len + 1));

	data_run(pool, set, in, len, NULL, 0, whole);
	for (size_t k = 0; k < len; k++)
		cuts[k] = k + 1;
	data_run(pool, set, in, len, cuts, len, &r);
	assert_int_equal(r.ret, whole->ret);
	assert_int_equal(r.consumed, whole->consumed);
	assert_int_equal(r.flags, whole->flags);
	assert_int_equal(r.out.len, whole->out.len);
	assert_memory_equal(buf_cstr(&r.out), buf_cstr(&whole->out), r.out.len);
	for (size_t cut = 0; cut <= len; cut++) {
		data_run(pool, set, in, len, &cut, 1, &r);
		assert_int_equal(r.ret, whole->ret);
		assert_int_equal(r.consumed, whole->consumed);
		assert_int_equal(r.flags, whole->flags);
		assert_int_equal(r.out.len, whole->out.len);
		assert_memory_equal(buf_cstr(&r.out), buf_cstr(&whole->out), r.out.len);
	}
}

struct data_case {
	const char *name;
	const char *in;
	size_t max_line;
	uint64_t max_size;
	int ret;
	const char *out;
	unsigned flags;
	const char *rest; /* input left after the end */
};

static const struct data_case data_cases[] = {
	/* ending and stuffing */
	{ "empty message", ".\r\n", 0, 0, 1, "", 0, "" },
	{ "one line", "hello\r\n.\r\n", 0, 0, 1, "hello\r\n", 0, "" },
	{ "pipelined after the end", "a\r\n.\r\nQUIT\r\n", 0, 0, 1, "a\r\n", 0, "QUIT\r\n" },
	{ "stuffed dot", "..a\r\n.\r\n", 0, 0, 1, ".a\r\n", 0, "" },
	{ "stuffed lone dot", "a\r\n..\r\n.\r\n", 0, 0, 1, "a\r\n.\r\n", 0, "" },
	{ "three dots", "...\r\n.\r\n", 0, 0, 1, "..\r\n", 0, "" },
	{ "unstuffed dot text is deleted", ".a\r\n.\r\n", 0, 0, 1, "a\r\n", 0, "" },
	{ "dot inside a line", "a.\r\nb.c\r\n.\r\n", 0, 0, 1, "a.\r\nb.c\r\n", 0, "" },
	{ "empty lines", "\r\n\r\n.\r\n", 0, 0, 1, "\r\n\r\n", 0, "" },
	{ "dot-space is not the end", ". \r\n.\r\n", 0, 0, 1, " \r\n", 0, "" },
	{ "not yet", "a\r\n.\r", 0, 0, 0, "a\r\n", 0, NULL },
	{ "not yet 2", "a\r\n.", 0, 0, 0, "a\r\n", 0, NULL },
	{ "not yet 3", "a\r\n", 0, 0, 0, "a\r\n", 0, NULL },
	{ "not yet 4", "", 0, 0, 0, "", 0, NULL },
	{ "no end without CRLF before", "a.\r\n", 0, 0, 0, "a.\r\n", 0, NULL },
	/* SMTP smuggling: none of these ends the message, all are flagged */
	{ "LF.LF", "a\n.\nb\r\n.\r\n", 0, 0, 1, "a\n.\nb\r\n", F_LF | F_SMUG, "" },
	{ "LF.CRLF", "a\n.\r\nb\r\n.\r\n", 0, 0, 1, "a\n.\r\nb\r\n", F_LF | F_SMUG, "" },
	{ "CR.CR", "a\r.\rb\r\n.\r\n", 0, 0, 1, "a\r.\rb\r\n", F_CR | F_SMUG, "" },
	{ "CR.CRLF", "a\r.\r\nb\r\n.\r\n", 0, 0, 1, "a\r.\r\nb\r\n", F_CR | F_SMUG, "" },
	{ "CRLF.LF", "a\r\n.\nb\r\n.\r\n", 0, 0, 1, "a\r\n\nb\r\n", F_LF | F_SMUG, "" },
	{ "CRLF.CR", "a\r\n.\rb\r\n.\r\n", 0, 0, 1, "a\r\n\rb\r\n", F_CR | F_SMUG, "" },
	{ "LF.CR", "a\n.\rb\r\n.\r\n", 0, 0, 1, "a\n.\rb\r\n", F_LF | F_CR | F_SMUG, "" },
	{ "CR.LF", "a\r.\nb\r\n.\r\n", 0, 0, 1, "a\r.\nb\r\n", F_LF | F_CR | F_SMUG, "" },
	{ "CRLF.CRCRLF", "a\r\n.\r\r\nb\r\n.\r\n", 0, 0, 1, "a\r\n\r\r\nb\r\n", F_CR | F_SMUG,
	  "" },
	{ "LF.LF at the start", ".\nb\r\n.\r\n", 0, 0, 1, "\nb\r\n", F_LF | F_SMUG, "" },
	{ "CRLF.LF at the very end", "a\r\n.\n", 0, 0, 0, "a\r\n\n", F_LF | F_SMUG, NULL },
	{ "smuggled command", "x\r\n.\nMAIL FROM:<e@vil>\r\nRCPT TO:<v@ictim>\r\nDATA\r\n"
	  "evil\r\n.\r\n", 0, 0, 1,
	  "x\r\n\nMAIL FROM:<e@vil>\r\nRCPT TO:<v@ictim>\r\nDATA\r\nevil\r\n", F_LF | F_SMUG,
	  "" },
	{ "dot-dot after LF is not smuggling", "a\n..b\r\n.\r\n", 0, 0, 1, "a\n..b\r\n", F_LF,
	  "" },
	{ "bare LF only", "a\nb\r\n.\r\n", 0, 0, 1, "a\nb\r\n", F_LF, "" },
	{ "bare CR only", "a\rb\r\n.\r\n", 0, 0, 1, "a\rb\r\n", F_CR, "" },
	{ "CR CR LF", "a\r\r\n.\r\n", 0, 0, 1, "a\r\r\n", F_CR, "" },
	{ "NUL", "a\0b\r\n.\r\n", 0, 0, 1, "a\0b\r\n", F_NUL, "" },
	{ "8bit", "\xc3\xa9\r\n.\r\n", 0, 0, 1, "\xc3\xa9\r\n", F_8BIT, "" },
	/* line limit: counts the decoded line with its CRLF */
	{ "line at the limit", "12345678\r\n.\r\n", 10, 0, 1, "12345678\r\n", 0, "" },
	{ "line over the limit", "123456789\r\n.\r\n", 10, 0, 1, "123456789\r\n", F_LONG, "" },
	{ "stuffed dot not counted", "..2345678\r\n.\r\n", 10, 0, 1, ".2345678\r\n", 0, "" },
	{ "long line without end", "12345678901234567890\r\n.\r\n", 10, 0, 1,
	  "12345678901234567890\r\n", F_LONG, "" },
	{ "bare LF resets the count", "12345\n12345\r\n.\r\n", 10, 0, 1, "12345\n12345\r\n",
	  F_LF, "" },
	{ "bare CR does not", "12345\r1234\r\n.\r\n", 10, 0, 1, "12345\r1234\r\n",
	  F_CR | F_LONG, "" },
	/* size limit: stops appending, keeps consuming to the end */
	{ "at the size limit", "abc\r\n.\r\n", 0, 5, 1, "abc\r\n", 0, "" },
	{ "over the size limit", "abcdefg\r\n.\r\nQUIT\r\n", 0, 5, 1, "abcde", F_BIG,
	  "QUIT\r\n" },
	{ "size counts decoded bytes", "..\r\n.\r\n", 0, 3, 1, ".\r\n", 0, "" },
};

static void data_table(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);

	for (size_t i = 0; i < N_ELEMENTS(data_cases); i++) {
		const struct data_case *c = &data_cases[i];
		/* the cases are C strings except the one with a NUL */
		size_t len = strlen(c->in), olen = strlen(c->out);
		if (strcmp(c->name, "NUL") == 0) {
			len = 9;
			olen = 5;
		}
		struct smtp_data_settings set = { .max_line = c->max_line,
						  .max_size = c->max_size };
		struct run_result r;
		data_run_all(pool, &set, c->in, len, &r);
		if (r.ret != c->ret || r.flags != c->flags || r.out.len != olen ||
		    memcmp(buf_cstr(&r.out), c->out, olen) != 0)
			fail_msg("%s: ret %d flags %#x out \"%s\"", c->name, r.ret, r.flags,
				 buf_cstr(&r.out));
		if (c->rest != NULL)
			assert_string_equal(c->in + r.consumed, c->rest);
		else
			assert_int_equal(r.consumed, len);
		pool_clear(pool);
	}
	pool_destroy(&pool);
}

/* Every framing of a "." line between "a" and "b": only CRLF.CRLF ends
 * the data, everything else is flagged as smuggling. */
static void smuggling_matrix(void **state)
{
	(void)state;
	static const char *const breaks[] = { "\r\n", "\n", "\r" };
	struct pool *pool = pool_create("test", 0);
	char in[64];

	for (size_t i = 0; i < N_ELEMENTS(breaks); i++) {
		for (size_t j = 0; j < N_ELEMENTS(breaks); j++) {
			int n = snprintf(in, sizeof(in), "a%s.%sb\r\n.\r\n", breaks[i],
					 breaks[j]);
			struct run_result r;
			data_run_all(pool, NULL, in, (size_t)n, &r);
			assert_int_equal(r.ret, 1);
			if (i == 0 && j == 0) {
				/* the real end: "b" is the next command */
				assert_int_equal(r.consumed, 6);
				assert_int_equal(r.flags, 0);
				continue;
			}
			assert_int_equal(r.consumed, (size_t)n);
			assert_true((r.flags & F_SMUG) != 0);
			pool_clear(pool);
		}
	}
	pool_destroy(&pool);
}

/* ---- a naive reference: find "\r\n.\r\n", then unstuff line by line ---- */

static void reference(const char *in, size_t len, struct buf *out, size_t *consumed_r,
		      unsigned *flags_r)
{
	/* the data starts right after a CRLF */
	size_t end = (size_t)-1;
	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		end = 0;
	for (size_t i = 0; end == (size_t)-1 && i + 5 <= len; i++) {
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			end = i + 2;
	}
	assert_true(end != (size_t)-1);
	*consumed_r = end + 3;
	*flags_r = 0;
	for (size_t i = 0; i < end; i++) {
		bool line_start = i == 0 || (i >= 2 && in[i - 1] == '\n' && in[i - 2] == '\r');
		if (!(line_start && in[i] == '.'))
			buf_append_c(out, in[i]);
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			*flags_r |= F_LF;
		if (in[i] == '\r' && in[i + 1] != '\n')
			*flags_r |= F_CR;
		if (in[i] == '\0')
			*flags_r |= F_NUL;
	}
}

static void data_random_vs_reference(void **state)
{
	(void)state;
	static const char alphabet[] = { 'a', '.', '\r', '\n', '\r', '\n', '.', '\0' };
	struct pool *pool = pool_create("test", 0);
	uint32_t seed = 12345;
	char in[64];

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = 0;
		seed = seed * 1103515245 + 12345;
		size_t body = (seed >> 16) % 24;
		for (size_t k = 0; k < body; k++) {
			seed = seed * 1103515245 + 12345;
			in[n++] = alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		memcpy(in + n, "\r\n.\r\nX", 6);
		n += 6;

		struct buf ref;
		size_t ref_consumed;
		unsigned ref_flags;
		buf_init_pool(&ref, pool, 0);
		reference(in, n, &ref, &ref_consumed, &ref_flags);

		struct run_result r;
		seed = seed * 1103515245 + 12345;
		size_t cut = (seed >> 16) % (n + 1);
		data_run(pool, NULL, in, n, &cut, 1, &r);
		assert_int_equal(r.ret, 1);
		assert_int_equal(r.consumed, ref_consumed);
		assert_int_equal(r.out.len, ref.len);
		assert_memory_equal(buf_cstr(&r.out), buf_cstr(&ref), ref.len);
		assert_int_equal(r.flags & (F_LF | F_CR | F_NUL), ref_flags);
		/* a flagged-clean message never contains a dot line that
		 * another MTA could take for the end */
		if ((r.flags & (F_LF | F_CR)) == 0)
			assert_int_equal(r.flags & F_SMUG, 0);
		pool_clear(pool);
	}
	pool_destroy(&pool);
}

static void data_errors(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	struct smtp_data_settings set = { .max_line = 10, .max_size = 5 };
	struct smtp_error err;
	struct run_result r;
	static const char in[] = "a\n.\nb\0ccccccccccccccc\r\n.\r\n";
	size_t used;

	buf_init_pool(&r.out, pool, 0);
	struct smtp_data_decoder *dec = smtp_data_decoder_create(pool, &set, sink_append, &r);
	assert_false(smtp_data_decoder_error(dec, ~0u, &err));
	assert_int_equal(smtp_data_decoder_feed(dec, in, sizeof(in) - 1, &used), 1);
	assert_int_equal(used, sizeof(in) - 1);
	assert_int_equal(smtp_data_decoder_flags(dec), F_LF | F_SMUG | F_NUL | F_LONG | F_BIG);
	assert_true(smtp_data_decoder_error(dec, ~0u, &err));
	assert_int_equal(err.id, SMTP_ERROR_DATA_TOO_BIG);
	assert_int_equal(err.code, 552);
	assert_string_equal(err.enhanced, "5.3.4");
	assert_true(smtp_data_decoder_error(dec, ~0u & ~F_BIG, &err));
	assert_int_equal(err.id, SMTP_ERROR_DATA_SMUGGLING);
	assert_int_equal(err.code, 554);
	assert_true(smtp_data_decoder_error(dec, F_LF | F_NUL, &err));
	assert_int_equal(err.id, SMTP_ERROR_DATA_BARE_LF);
	assert_true(smtp_data_decoder_error(dec, F_NUL | F_LONG, &err));
	assert_int_equal(err.id, SMTP_ERROR_DATA_NUL);
	assert_true(smtp_data_decoder_error(dec, F_LONG, &err));
	assert_int_equal(err.id, SMTP_ERROR_DATA_LONG_LINE);
	assert_false(smtp_data_decoder_error(dec, F_CR | F_8BIT, &err));
	/* fed after the end */
	assert_int_equal(smtp_data_decoder_feed(dec, "x", 1, &used), -1);
	assert_int_equal(used, 0);
	/* chunk() is for BDAT only */
	assert_int_equal(smtp_data_decoder_chunk(dec, 1, true), -1);
	pool_destroy(&pool);
}

static int sink_fail(void *ctx, const void *data, size_t len)
{
	unsigned *calls = ctx;
	(*calls)++;
	return -1;
}

static void data_sink_failure(void **state)
{
	(void)state;
	struct pool *pool = pool_create("test", 0);
	unsigned calls = 0;
	size_t used;
	struct smtp_error err;
	struct smtp_data_decoder *dec = smtp_data_decoder_create(pool, NULL, sink_fail, &calls);

	assert_int_equal(smtp_data_decoder_feed(dec, "a\r\n..b\r\nc", 9, &used), 0);
	assert_int_equal(smtp_data_decoder_feed(dec, "\r\n.\r\n", 5, &used), 1);
	assert_int_equal(calls, 1); /* never called again */
	assert_int_equal(smtp_data_decoder_flags(dec), SMTP_DATA_F_SINK_FAILED);
	assert_true(smtp_data_decoder_error(dec, ~0u, &err));
	assert_int_equal(err.code, 451);
	assert_string_equal(err.enhanced, "4.3.0");
	assert_int_equal(smtp_data_decoder_size(dec), 10);
	pool_destroy(&pool);
}

/* ---- BDAT ---- */

struct bdat_chunk {
	const char *data;
	bool last;
};

static void bdat_run(struct pool *pool, enum smtp_data_mode mode, uint64_t max_size,
		     const struct bdat_chunk *chunks, size_t n, size_t piece,
		     struct run_result *r)
{
	struct smtp_data_settings set = { .mode = mode, .max_line = 10, .max_size = max_size };
	struct smtp_data_decoder *dec;

	memset(r, 0, sizeof(*r));
	buf_init_pool(&r->out, pool, 0);
	dec = smtp_data_decoder_create(pool, &set, sink_append, r);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(chunks[i].data);
		const char *p = chunks[i].data;
		/* the next command follows the chunk in the same input */
		char *in = pool_printf(pool, "%sRSET\r\n", p);
		size_t left = len + 6, used;
		assert_int_equal(smtp_data_decoder_chunk(dec, len, chunks[i].last), 0);
		assert_int_equal(smtp_data_decoder_chunk(dec, len, chunks[i].last), -1);
		int ret = len == 0 ? smtp_data_decoder_feed(dec, in, 0, &used) : 0;
		while (ret == 0) {
			size_t take = piece == 0 || piece > left ? left : piece;
			ret = smtp_data_decoder_feed(dec, in, take, &used);
			in += used;
			left -= used;
			r->consumed += used;
		}
		assert_int_equal(ret, 1);
		assert_string_equal(in, "RSET\r\n");
		assert_int_equal(smtp_data_decoder_finished(dec), chunks[i].last);
	}
	r->flags = smtp_data_decoder_flags(dec);
	r->size = smtp_data_decoder_size(dec);
	size_t used;
	assert_int_equal(smtp_data_decoder_feed(dec, "x", 1, &used), -1);
	assert_int_equal(smtp_data_decoder_chunk(dec, 1, true), -1);
}

static void bdat(void **state)
{
	(void)state;
	static const struct {
		struct bdat_chunk chunks[3];
		size_t n;
		enum smtp_data_mode mode;
		uint64_t max_size;
		const char *out;
		unsigned flags;
	} cases[] = {
		{ { { "hello\r\n", true } }, 1, SMTP_DATA_MODE_BDAT, 0, "hello\r\n", 0 },
		{ { { "", true } }, 1, SMTP_DATA_MODE_BDAT, 0, "", 0 },
		/* no stuffing, no terminator in BDAT */
		{ { { "..\r\n.\r\n", true } }, 1, SMTP_DATA_MODE_BDAT, 0, "..\r\n.\r\n", 0 },
		/* CRLF split across chunks is fine */
		{ { { "ab\r", false }, { "\ncd\r\n", true } }, 2, SMTP_DATA_MODE_BDAT, 0,
		  "ab\r\ncd\r\n", 0 },
		{ { { "ab\r", false }, { "", false }, { "\ncd\r\n", true } }, 3,
		  SMTP_DATA_MODE_BDAT, 0, "ab\r\ncd\r\n", 0 },
		{ { { "ab\r", true } }, 1, SMTP_DATA_MODE_BDAT, 0, "ab\r", F_CR },
		{ { { "a\nb\rc\r\n", true } }, 1, SMTP_DATA_MODE_BDAT, 0, "a\nb\rc\r\n",
		  F_LF | F_CR },
		{ { { "123456789\r\n", true } }, 1, SMTP_DATA_MODE_BDAT, 0, "123456789\r\n",
		  F_LONG },
		{ { { "12345", false }, { "6789\r\n", true } }, 2, SMTP_DATA_MODE_BDAT, 0,
		  "123456789\r\n", F_LONG },
		/* BINARYMIME: no checks at all */
		{ { { "a\nb\rc\r1234567890123\n", true } }, 1, SMTP_DATA_MODE_BDAT_BINARY, 0,
		  "a\nb\rc\r1234567890123\n", 0 },
		/* size over chunks */
		{ { { "abc", false }, { "def", true } }, 2, SMTP_DATA_MODE_BDAT, 4, "abcd",
		  F_BIG },
		{ { { "abc", false }, { "def", true } }, 2, SMTP_DATA_MODE_BDAT_BINARY, 6,
		  "abcdef", 0 },
	};
	struct pool *pool = pool_create("test", 0);

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		for (size_t piece = 0; piece < 4; piece++) {
			struct run_result r;
			bdat_run(pool, cases[i].mode, cases[i].max_size, cases[i].chunks,
				 cases[i].n, piece, &r);
			assert_int_equal(r.flags, cases[i].flags);
			assert_string_equal(buf_cstr(&r.out), cases[i].out);
			pool_clear(pool);
		}
	}
	pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(data_table),
		cmocka_unit_test(smuggling_matrix),
		cmocka_unit_test(data_random_vs_reference),
		cmocka_unit_test(data_errors),
		cmocka_unit_test(data_sink_failure),
		cmocka_unit_test(bdat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
