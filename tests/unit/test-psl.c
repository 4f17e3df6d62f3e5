/* src/filter/psl: registered domains from the real Public Suffix List. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "filter/psl.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void registered(void **state)
{
	(void)state;
	if (access(PSL_DEFAULT_PATH, R_OK) != 0) {
		printf("SKIP: %s missing (scripts/bootstrap installs publicsuffix)\n", PSL_DEFAULT_PATH);
		skip();
	}
	const char *e;
	struct psl *p = psl_load(PSL_DEFAULT_PATH, &e);
	assert_non_null(p);
	static const struct { const char *host, *want; } cases[] = {
		{ "www.example.com", "example.com" },
		{ "Example.COM.", "example.com" },
		{ "a.b.c.example.co.uk", "example.co.uk" },
		{ "example.co.uk", "example.co.uk" },
		{ "co.uk", NULL },
		{ "com", NULL },
		{ "shop.example.test", "example.test" },     /* unknown TLD: the * rule */
		{ "foo.bar.ck", "foo.bar.ck" },              /* *.ck */
		{ "www.ck", "www.ck" },                      /* !www.ck */
		{ "x.www.ck", "www.ck" },
		{ "192.0.2.1", NULL },
		{ "user.github.io", "user.github.io" },       /* private section */
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char out[256];
		bool ok = psl_registered_domain(p, cases[i].host, out, sizeof(out));
		if (cases[i].want == NULL) {
			if (ok)
				fail_msg("%s: got %s, expected none", cases[i].host, out);
		} else if (!ok || strcmp(out, cases[i].want) != 0) {
			fail_msg("%s: got %s, expected %s", cases[i].host, ok ? out : "(none)", cases[i].want);
		}
	}
	assert_true(psl_known_tld(p, "com", 3));
	assert_true(psl_known_tld(p, "UK", 2));
	assert_false(psl_known_tld(p, "notatld", 7));
	psl_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(registered) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
