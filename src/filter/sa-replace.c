/*
 * The ReplaceTags plugin: rules named by `replace_rules` have their
 * <TAG> placeholders replaced by `replace_tag` values, with the
 * `<pre X>`, `<post X>` and `<inter X>` directives, exactly in the order
 * Plugin/ReplaceTags.pm applies them (up to five passes, since a
 * replacement may hold tags itself).
 */

#include <string.h>

#include "filter/sa-private.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"

/* Finds "<name X>" (start/end delimiters), removes it, returns X. */
static char *take_directive(struct pool *pool, char **re, const char *start,
			    const char *end, const char *word)
{
	size_t sl = strlen(start), el = strlen(end), wl = strlen(word);
	char *s = *re;
	for (char *p = s; (p = strstr(p, start)) != NULL; p++) {
		char *q = p + sl;
		if (strncmp(q, word, wl) != 0 || q[wl] != ' ')
			continue;
		char *v = q + wl + 1;
		if (*v == '\0')
			continue;
		char *e = strstr(v + 1, end);
		if (e == NULL || e == v)
			continue;
		char *val = pool_strndup(pool, v, (size_t)(e - v));
		struct buf b;
		buf_init_pool(&b, pool, 0);
		buf_append(&b, s, (size_t)(p - s));
		buf_append_str(&b, e + el);
		*re = (char *)buf_cstr(&b);
		return val;
	}
	return NULL;
}

/* Splits like Perl's split(/(<[^<>]+>)/, re): text, tag, text, tag...,
   trailing empty fields dropped. */
static size_t split_tags(struct pool *pool, const char *re, char ***out)
{
	size_t n = 0, cap = 8;
	char **v = pool_alloc(pool, sizeof(char *) * cap);
	const char *p = re, *seg = re;

	while (*p != '\0') {
		if (*p == '<') {
			const char *q = p + 1;
			while (*q != '\0' && *q != '<' && *q != '>')
				q++;
			if (*q == '>' && q > p + 1) {
				if (n + 2 >= cap) {
					v = pool_realloc(pool, v, sizeof(char *) * cap,
							 sizeof(char *) * cap * 2);
					cap *= 2;
				}
				v[n++] = pool_strndup(pool, seg, (size_t)(p - seg));
				v[n++] = pool_strndup(pool, p, (size_t)(q + 1 - p));
				p = seg = q + 1;
				continue;
			}
		}
		p++;
	}
	if (n + 1 >= cap)
		v = pool_realloc(pool, v, sizeof(char *) * cap, sizeof(char *) * (cap + 1));
	v[n++] = pool_strdup(pool, seg);
	while (n > 0 && v[n - 1][0] == '\0')
		n--;
	*out = v;
	return n;
}

/* First "<...>" of s with a non-empty name: position and name. */
static bool find_tag(struct pool *pool, const char *s, const char *start,
		     const char *end, char **name_r)
{
	size_t sl = strlen(start);
	const char *p = strstr(s, start);
	while (p != NULL) {
		const char *e = strstr(p + sl + 1, end);
		if (e != NULL && e > p + sl) {
			*name_r = pool_strndup(pool, p + sl, (size_t)(e - p - sl));
			return true;
		}
		p = strstr(p + 1, start);
	}
	return false;
}

static char *replace_all(struct pool *pool, const char *s, const char *from,
			 const char *to)
{
	struct buf b;
	size_t fl = strlen(from);
	buf_init_pool(&b, pool, 0);
	for (;;) {
		const char *f = strstr(s, from);
		if (f == NULL)
			break;
		buf_append(&b, s, (size_t)(f - s));
		buf_append_str(&b, to);
		s = f + fl;
	}
	buf_append_str(&b, s);
	return (char *)buf_cstr(&b);
}

/* Inserts `add` before (pre) or after (post) each <...> of s: the first
   one only for pre, every one for post, like the plugin's s{}{}/s{}{}g. */
static char *decorate(struct pool *pool, const char *s, const char *start,
		      const char *end, const char *add, bool post)
{
	struct buf b;
	size_t sl = strlen(start), el = strlen(end);
	bool done = false;
	buf_init_pool(&b, pool, 0);
	while (*s != '\0') {
		const char *p = strstr(s, start);
		const char *e = p != NULL ? strstr(p + sl + 1, end) : NULL;
		if (p == NULL || e == NULL || done) {
			buf_append_str(&b, s);
			break;
		}
		buf_append(&b, s, (size_t)(p - s));
		if (!post)
			buf_append_str(&b, add);
		buf_append(&b, p, (size_t)(e + el - p));
		if (post)
			buf_append_str(&b, add);
		else
			done = true;
		s = e + el;
	}
	return (char *)buf_cstr(&b);
}

char *sa_replace_tags(struct sa_engine *e, struct pool *pool, const char *pat)
{
	const char *start = e->replace_start, *end = e->replace_end;
	char *re = pool_strdup(pool, pat);
	bool again;
	int passes = 0;

	do {
		char *pre = take_directive(pool, &re, start, end, "pre");
		char *post = take_directive(pool, &re, start, end, "post");
		char *inter = take_directive(pool, &re, start, end, "inter");
		char **parts;
		size_t n = split_tags(pool, re, &parts);
		again = false;
		const char *prev = pre != NULL ? hash_get_str(e->replace_pre, pre) : NULL;
		const char *postv = post != NULL ? hash_get_str(e->replace_post, post) : NULL;
		const char *interv = inter != NULL ? hash_get_str(e->replace_inter, inter) : NULL;
		for (size_t i = 0; i < n; i++) {
			if (prev != NULL && prev[0] != '\0')
				parts[i] = decorate(pool, parts[i], start, end, prev, false);
			if (postv != NULL && postv[0] != '\0')
				parts[i] = decorate(pool, parts[i], start, end, postv, true);
			if (interv != NULL && interv[0] != '\0' && parts[i][0] == '\0')
				parts[i] = pool_strdup(pool, interv);
		}
		for (size_t i = 0; i < n; i++) {
			char *tag;
			if (!find_tag(pool, parts[i], start, end, &tag))
				continue;
			const char *rep = hash_get_str(e->replace_tag, tag);
			if (rep == NULL || rep[0] == '\0')
				continue;
			char *full = pool_printf(pool, "%s%s%s", start, tag, end);
			parts[i] = replace_all(pool, parts[i], full, rep);
			if (!again) {
				const char *lt = strchr(rep, '<');
				if (lt != NULL && strchr(lt + 2, '>') != NULL)
					again = true;
			}
		}
		struct buf b;
		buf_init_pool(&b, pool, 0);
		for (size_t i = 0; i < n; i++)
			buf_append_str(&b, parts[i]);
		re = (char *)buf_cstr(&b);
		passes++;
	} while (again && passes <= 5);
	return re;
}

/*
 * PCRE2 as Debian builds it (2-byte links) refuses compiled patterns
 * over 64 KiB, and a few obfuscation rules expand to 120 KiB once every
 * <X> is inlined.  For those the tags become subroutine calls, (?&T1),
 * to one (?(DEFINE)...) copy of each tag at the end: the same language,
 * since PCRE2 (10.30 on) backtracks into subroutine calls.
 */

struct tagdefs {
	struct pool *pool;
	const char *names[256];
	const char *values[256];
	size_t n;
};

static const char *tag_call(struct sa_engine *e, struct tagdefs *td, const char *tag,
			    const char *value);

/* Replaces every <TAG> of s that has a replacement by a call. */
static char *calls_in(struct sa_engine *e, struct tagdefs *td, const char *s)
{
	const char *start = e->replace_start, *end = e->replace_end;
	size_t sl = strlen(start), el = strlen(end);
	struct buf b;
	buf_init_pool(&b, td->pool, 0);
	while (*s != '\0') {
		const char *p = strstr(s, start);
		const char *q = p != NULL ? strstr(p + sl, end) : NULL;
		if (p == NULL || q == NULL) {
			buf_append_str(&b, s);
			break;
		}
		char *tag = pool_strndup(td->pool, p + sl, (size_t)(q - p - sl));
		const char *rep = hash_get_str(e->replace_tag, tag);
		buf_append(&b, s, (size_t)(p - s));
		if (rep != NULL && rep[0] != '\0' && strpbrk(tag, "<> ") == NULL) {
			const char *call = tag_call(e, td, tag, rep);
			buf_append_str(&b, call != NULL ? call : rep);
			s = q + el;
		} else {
			buf_append(&b, p, sl);
			s = p + sl;
		}
	}
	return (char *)buf_cstr(&b);
}

static const char *tag_call(struct sa_engine *e, struct tagdefs *td, const char *tag,
			    const char *value)
{
	for (size_t i = 0; i < td->n; i++)
		if (strcmp(td->names[i], tag) == 0)
			return pool_printf(td->pool, "(?&SAT%zu)", i);
	if (td->n == N_ELEMENTS(td->names))
		return NULL;
	size_t i = td->n++;
	td->names[i] = tag;
	td->values[i] = ""; /* a tag naming itself stays finite */
	td->values[i] = calls_in(e, td, value);
	return pool_printf(td->pool, "(?&SAT%zu)", i);
}

char *sa_replace_tags_define(struct sa_engine *e, struct pool *pool, const char *pat)
{
	const char *start = e->replace_start, *end = e->replace_end;
	struct tagdefs td = { .pool = pool };
	char *re = pool_strdup(pool, pat);

	/* the directives and the pre/post/inter decorations as the plugin
	   applies them, then calls instead of inline copies */
	char *pre = take_directive(pool, &re, start, end, "pre");
	char *post = take_directive(pool, &re, start, end, "post");
	char *inter = take_directive(pool, &re, start, end, "inter");
	char **parts;
	size_t n = split_tags(pool, re, &parts);
	const char *prev = pre != NULL ? hash_get_str(e->replace_pre, pre) : NULL;
	const char *postv = post != NULL ? hash_get_str(e->replace_post, post) : NULL;
	const char *interv = inter != NULL ? hash_get_str(e->replace_inter, inter) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (prev != NULL && prev[0] != '\0')
			parts[i] = decorate(pool, parts[i], start, end, prev, false);
		if (postv != NULL && postv[0] != '\0')
			parts[i] = decorate(pool, parts[i], start, end, postv, true);
		if (interv != NULL && interv[0] != '\0' && parts[i][0] == '\0')
			parts[i] = pool_strdup(pool, interv);
	}
	struct buf b;
	buf_init_pool(&b, pool, 0);
	for (size_t i = 0; i < n; i++)
		buf_append_str(&b, calls_in(e, &td, parts[i]));
	if (td.n > 0) {
		buf_append_str(&b, "(?(DEFINE)");
		for (size_t i = 0; i < td.n; i++)
			buf_printf(&b, "(?<SAT%zu>%s)", i, td.values[i]);
		buf_append_c(&b, ')');
	}
	return (char *)buf_cstr(&b);
}
