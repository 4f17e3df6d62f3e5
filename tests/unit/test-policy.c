/* src/filter/policy: the table of ARCHITECTURE.md, and the headers. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "filter/policy.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <string.h>

static void table(void **state)
{
	(void)state;
	static const struct {
		double score, tag, cutoff;
		enum policy_list list;
		enum filter_action black, expect;
	} cases[] = {
		{ 0.0, 5, 15, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_INBOX },
		{ 4.99, 5, 15, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_INBOX },
		{ 5.0, 5, 15, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_FOLDER },
		{ 14.9, 5, 15, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_FOLDER },
		{ 15.0, 5, 15, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_DISCARD },
		{ 1000, 5, 15, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_DISCARD },
		{ -3, 5, 15, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_INBOX },
		/* lenient 8/25 and strict 3/10 file the same 7.0 differently */
		{ 7.0, 8, 25, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_INBOX },
		{ 7.0, 3, 10, POLICY_LIST_NONE, FILTER_DISCARD, FILTER_FOLDER },
		/* lists win over the score */
		{ 1000, 5, 15, POLICY_LIST_WHITE, FILTER_DISCARD, FILTER_INBOX },
		{ 0.0, 5, 15, POLICY_LIST_BLACK, FILTER_DISCARD, FILTER_DISCARD },
		{ 0.0, 5, 15, POLICY_LIST_BLACK, FILTER_FOLDER, FILTER_FOLDER },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++)
		assert_int_equal(policy_decide(cases[i].score, cases[i].tag, cases[i].cutoff,
					       cases[i].list, cases[i].black), cases[i].expect);
}

static void headers(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	policy_headers(&b, 7.34, 5.0, "BAYES_X,HTML_MESSAGE,MIME_HTML_ONLY");
	assert_string_equal(buf_cstr(&b),
			    "X-Spam-Score: 7.3\r\nX-Spam-Level: *******\r\n"
			    "X-Spam-Status: Yes, score=7.3 required=5.0 tests=BAYES_X,HTML_MESSAGE,\r\n"
			    "\tMIME_HTML_ONLY\r\n");
	buf_reset(&b);
	policy_headers(&b, -0.5, 5.0, "");
	assert_string_equal(buf_cstr(&b),
			    "X-Spam-Score: -0.5\r\nX-Spam-Level: \r\nX-Spam-Status: No, score=-0.5 required=5.0 tests=none\r\n");
	buf_reset(&b);
	policy_headers(&b, 1000, 3.0,
		       "GTUBE,RULE_NUMBER_ONE,RULE_NUMBER_TWO,RULE_NUMBER_THREE,RULE_NUMBER_FOUR,RULE_NUMBER_FIVE");
	/* folded, no line over 80 bytes, 50 stars at most */
	const char *s = buf_cstr(&b);
	assert_non_null(strstr(s, "\r\n\t"));
	for (const char *line = s; *line != '\0';) {
		const char *end = strstr(line, "\r\n");
		assert_true(end - line <= 80);
		line = end + 2;
	}
	assert_non_null(strstr(s, "X-Spam-Level: **************************************************\r\n"));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
