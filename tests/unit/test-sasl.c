/* src/proto/sasl: base64 and PLAIN, with bad input. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/buf.h"
#include "lib/pool.h"
#include "proto/sasl.h"

#include <string.h>

static void base64(void **state)
{
	(void)state;
	struct pool *p = pool_create("t", 0);
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	for (size_t i = 0; i < 7; i++) {
		struct buf b;
		buf_init(&b, 0);
		sasl_base64_encode(&b, plain[i], strlen(plain[i]));
		assert_string_equal(buf_cstr(&b), enc[i]);
		buf_free(&b);
		char *out;
		size_t len;
		assert_int_equal(sasl_base64_decode(p, enc[i], strlen(enc[i]), &out, &len), 0);
		assert_int_equal(len, strlen(plain[i]));
		assert_memory_equal(out, plain[i], len);
	}
	static const char *const bad[] = { "Zg=", "Z===", "Zg=a", "Zm9v!", "Zg==Zg==", "====", "Zm9 " };
	for (size_t i = 0; i < 7; i++) {
		char *out;
		size_t len;
		assert_int_equal(sasl_base64_decode(p, bad[i], strlen(bad[i]), &out, &len), -1);
	}
	pool_destroy(&p);
}

static void plain(void **state)
{
	(void)state;
	struct pool *p = pool_create("t", 0);
	const char *u, *pw, *e;
	/* "\0alice@example.test\0secret" */
	assert_int_equal(sasl_plain_parse(p, "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=", 36, &u, &pw, &e), 0);
	assert_string_equal(u, "alice@example.test");
	assert_string_equal(pw, "secret");
	/* authzid equal to authcid is fine: "a\0a\0p" */
	assert_int_equal(sasl_plain_parse(p, "YQBhAHA=", 8, &u, &pw, &e), 0);
	/* acting as someone else: "b\0a\0p" */
	assert_int_equal(sasl_plain_parse(p, "YgBhAHA=", 8, &u, &pw, &e), -1);
	/* missing parts, extra NUL, empty user */
	assert_int_equal(sasl_plain_parse(p, "YWxpY2U=", 8, &u, &pw, &e), -1);
	assert_int_equal(sasl_plain_parse(p, "AGEAcAB4", 8, &u, &pw, &e), -1); /* "\0a\0p\0x" */
	assert_int_equal(sasl_plain_parse(p, "AGEAcHg=", 8, &u, &pw, &e), 0);  /* "\0a\0px" */
	assert_string_equal(pw, "px");
	assert_int_equal(sasl_plain_parse(p, "AABw", 4, &u, &pw, &e), -1);
	assert_int_equal(sasl_plain_parse(p, "not base64", 10, &u, &pw, &e), -1);
	assert_true(sasl_is_cancel("*", 1));
	assert_false(sasl_is_cancel("**", 2));
	assert_int_equal(sasl_mech_parse("plain"), SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_parse("LOGIN"), SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_parse("CRAM-MD5"), SASL_MECH_UNKNOWN);
	pool_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64),
		cmocka_unit_test(plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
