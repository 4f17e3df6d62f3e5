/*
 * The eval: tests.  sa_evals[] names every eval function the Debian rule
 * set calls: an implementation, or why there is none (a network test,
 * Bayes, a plugin ombu does not carry).
 */

#include <stdlib.h>
#include <string.h>

#include "filter/sa-private.h"
#include "lib/pool.h"
#include "lib/util.h"

const char *sa_arg(const struct sa_eval_call *c, unsigned i)
{
	return i < c->n_args ? c->args[i] : NULL;
}

double sa_arg_num(const struct sa_eval_call *c, unsigned i, double def)
{
	const char *a = sa_arg(c, i);
	return a != NULL && a[0] != '\0' ? strtod(a, NULL) : def;
}

#define NET(n) { n, NULL, NULL, "network" }
#define NOIMPL(n, why) { n, NULL, NULL, why }

const struct sa_eval_def sa_evals[] = {
	NET("check_rbl"), NET("check_rbl_sub"), NET("check_rbl_txt"), NET("check_uridnsbl"),
	NOIMPL("check_bayes", "Bayes"),
};

const size_t sa_n_evals = N_ELEMENTS(sa_evals);

int sa_eval_lookup(const char *name)
{
	for (size_t i = 0; i < sa_n_evals; i++)
		if (strcmp(sa_evals[i].name, name) == 0)
			return (int)i;
	return -1;
}

size_t sa_eval_supported(const char *const **names_r)
{
	static const char *names[256];
	static size_t n;
	if (n == 0) {
		for (size_t i = 0; i < sa_n_evals && n < N_ELEMENTS(names) - 1; i++)
			if (sa_evals[i].fn != NULL)
				names[n++] = sa_evals[i].name;
		names[n] = NULL;
	}
	*names_r = names;
	return n;
}

double sa_eval_uri_detail(struct sa_scan *s, const struct sa_rule *r)
{
	(void)s;
	(void)r;
	return 0;
}
