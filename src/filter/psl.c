#include "psl.h"
#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rule_kind { RULE_NORMAL = 1, RULE_WILDCARD = 2, RULE_EXCEPTION = 4 };

struct psl {
	/* suffix -> OR of rule kinds: "co.uk" normal, "bd" wildcard (for
	 * "*.bd"), "www.ck" exception (for "!www.ck") */
	struct hash *rules;
	struct hash *tlds;
};

struct psl *psl_load(const char *path, const char **error_r)
{
	static __thread char msg[300];
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(msg, sizeof(msg), "cannot read the public suffix list %s", path);
		*error_r = msg;
		return NULL;
	}
	struct psl *p = xcalloc(1, sizeof(*p));
	p->rules = hash_create(16384);
	p->tlds = hash_create(2048);
	char line[512];
	while (fgets(line, sizeof(line), f) != NULL) {
		str_trim(line);
		if (line[0] == '\0' || (line[0] == '/' && line[1] == '/'))
			continue;
		/* the list is UTF-8; only the first field counts */
		char *sp = strpbrk(line, " \t");
		if (sp != NULL)
			*sp = '\0';
		str_lcase(line);
		uintptr_t kind = RULE_NORMAL;
		const char *name = line;
		if (line[0] == '!') {
			kind = RULE_EXCEPTION;
			name = line + 1;
		} else if (line[0] == '*' && line[1] == '.') {
			kind = RULE_WILDCARD;
			name = line + 2;
		}
		uintptr_t old = (uintptr_t)hash_get_str(p->rules, name);
		hash_put(p->rules, name, strlen(name), (void *)(old | kind));
		const char *dot = strrchr(name, '.');
		const char *tld = dot != NULL ? dot + 1 : name;
		hash_put(p->tlds, tld, strlen(tld), (void *)1);
	}
	fclose(f);
	return p;
}

void psl_free(struct psl **pp)
{
	struct psl *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	hash_destroy(&p->rules);
	hash_destroy(&p->tlds);
	free(p);
}

bool psl_known_tld(const struct psl *p, const char *tld, size_t len)
{
	char t[64];
	if (len == 0 || len >= sizeof(t))
		return false;
	for (size_t i = 0; i < len; i++)
		t[i] = ascii_lower(tld[i]);
	t[len] = '\0';
	return hash_get_str(p->tlds, t) != NULL;
}

static uintptr_t kind_of(const struct psl *p, const char *suffix)
{
	return (uintptr_t)hash_get_str(p->rules, suffix);
}

bool psl_registered_domain(const struct psl *p, const char *host, char *out, size_t size)
{
	char h[256];
	size_t len = str_copy(h, host, sizeof(h));
	if (len == 0 || len >= sizeof(h))
		return false;
	if (h[len - 1] == '.')
		h[--len] = '\0';
	str_lcase(h);
	/* an IP address has no registered domain */
	if (strspn(h, "0123456789.") == len || strchr(h, ':') != NULL)
		return false;
	/* The longest matching rule decides (an exception beats a wildcard);
	 * the public suffix has `labels` labels, the registered domain one
	 * more.  Walk the suffixes from the whole name to the last label. */
	size_t labels = 1; /* the "*" default rule */
	size_t total = 1;
	for (const char *q = h; *q != '\0'; q++)
		if (*q == '.')
			total++;
	size_t n = total;
	for (const char *s = h; s != NULL; n--) {
		uintptr_t k = kind_of(p, s);
		if (k & RULE_EXCEPTION) {
			labels = n - 1;
			break;
		}
		if ((k & RULE_NORMAL) && n > labels)
			labels = n;
		/* "*.bd" matches "anything.bd": the suffix one label longer */
		if ((k & RULE_WILDCARD) && n + 1 > labels && total > n)
			labels = n + 1;
		const char *dot = strchr(s, '.');
		s = dot != NULL ? dot + 1 : NULL;
	}
	if (total <= labels)
		return false;
	/* keep labels + 1 labels from the right */
	const char *start = h + len;
	for (size_t k = 0; k < labels + 1; k++) {
		start--;
		while (start > h && start[-1] != '.')
			start--;
		if (k < labels && start > h)
			start--;
	}
	if (*start == '.')
		start++;
	str_copy(out, start, size);
	return true;
}
