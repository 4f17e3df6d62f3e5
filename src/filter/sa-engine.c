/*
 * Loading an engine: the rule files in order, then what SpamAssassin
 * does in finish_parsing(): default scores (1.0, 0.01 for T_ rules,
 * negative for `nice`), ReplaceTags, meta compilation with
 * rules_matching(), eval arguments, and which rules can hit at all in
 * score set 0 (score not 0, not a network or Bayes test, supported).
 * Then the run lists, the header requests, the prefilters and the JIT.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter/sa-private.h"
#include "lib/buf.h"
#include "lib/hash.h"
#include "lib/pool.h"
#include "lib/util.h"

/* Debian 12's /etc/spamassassin/ *.pre with init.pre: what
   `spamassassin` loads there, and so what the parity run compares with. */
const char *const sa_default_plugins[] = {
	"URIDNSBL", "SPF", "Pyzor", "Razor2", "SpamCop", "AutoLearnThreshold",
	"WelcomeListSubject", "MIMEHeader", "ReplaceTags", "DKIM", "Check",
	"HTTPSMismatch", "URIDetail", "Bayes", "BodyEval", "DNSEval", "HTMLEval",
	"HeaderEval", "MIMEEval", "RelayEval", "URIEval", "WLBLEval", "VBounce",
	"ImageInfo", "FreeMail", "AskDNS", "HashBL", "DMARC", NULL,
};

bool sa_glob_match(const char *g, const char *s)
{
	/* * and ? only, case-sensitive (callers lower-case) */
	const char *star = NULL, *ss = NULL;
	while (*s != '\0') {
		if (*g == '?' || *g == *s) {
			g++;
			s++;
		} else if (*g == '*') {
			star = g++;
			ss = s;
		} else if (star != NULL) {
			g = star + 1;
			s = ++ss;
		} else {
			return false;
		}
	}
	while (*g == '*')
		g++;
	return *g == '\0';
}

const char *sa_tlds_re(const struct sa_engine *e, struct pool *pool)
{
	struct buf b;
	size_t it = 0;
	const void *k;
	size_t kl;
	void *v;
	buf_init_pool(&b, pool, 0);
	buf_append_str(&b, "(?<![a-zA-Z0-9-])(?:");
	bool first = true;
	while (hash_iter(e->tlds, &it, &k, &kl, &v)) {
		if (!first)
			buf_append_c(&b, '|');
		first = false;
		for (size_t i = 0; i < kl; i++) {
			char c = ((const char *)k)[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				buf_append_c(&b, '\\');
			buf_append_c(&b, c);
		}
	}
	if (first)
		buf_append_str(&b, "no_tlds_defined");
	buf_append_str(&b, ")(?!(?:[a-zA-Z0-9-]|\\.[a-zA-Z0-9]))");
	return buf_cstr(&b);
}

bool sa_is_tld(const struct sa_engine *e, const char *s, size_t len)
{
	char buf[64];
	if (len == 0 || len >= sizeof(buf))
		return false;
	for (size_t i = 0; i < len; i++)
		buf[i] = ascii_lower(s[i]);
	buf[len] = '\0';
	return hash_get(e->tlds, buf, len) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *data;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	/* errno set for the caller's message, whatever close() does */
	if (fstat(fd, &st) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*len_r = got;
	return data;
}

/* Every *.cf of dir, in C order.  -1 when dir cannot be opened. */
static int load_dir(struct sa_engine *e, const char *dir, size_t *nfiles_r)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	*nfiles_r = 0;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 4 || strcmp(de->d_name + l - 3, ".cf") != 0 || de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, sizeof(char *) * cap);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(char *), cmp_str); /* names is NULL when empty */
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		size_t len;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		char *text = read_file(path, &len);
		if (text == NULL) {
			e->cur_file = pool_strdup(e->pool, path); /* path dies with the loop */
			e->cur_line = 0;
			sa_warn(e, "cannot read: %s", strerror(errno));
		} else {
			sa_conf_parse(e, path, text, len);
			(*nfiles_r)++;
			free(text);
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

/* pack_eval_args(): 'quoted', "quoted" or bare [\d.:A-Za-z-]+ values
   separated by commas. */
static int eval_args(struct pool *pool, const char *args, char ***argv_r, unsigned *n_r)
{
	const char *p = args;
	char **v = NULL;
	unsigned n = 0;

	*argv_r = NULL;
	*n_r = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		char *val;
		if (*p == '\'' || *p == '"') {
			char q = *p++;
			/* (.*?) \1 followed by \s* (, | $): the shortest that works */
			const char *e = p;
			for (;;) {
				e = strchr(e, q);
				if (e == NULL)
					return -1;
				const char *t = e + 1;
				while (*t == ' ' || *t == '\t')
					t++;
				if (*t == ',' || *t == '\0')
					break;
				e++;
			}
			val = pool_strndup(pool, p, (size_t)(e - p));
			p = e + 1;
		} else {
			const char *s = p;
			while ((*p >= '0' && *p <= '9') || *p == '.' || *p == ':' || *p == '-' ||
			       (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
				p++;
			if (p == s)
				return -1;
			val = pool_strndup(pool, s, (size_t)(p - s));
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ',') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
		} else if (*p != '\0') {
			return -1;
		}
		v = pool_realloc(pool, v, sizeof(char *) * n, sizeof(char *) * (n + 1));
		v[n++] = val;
	}
	*argv_r = v;
	*n_r = n;
	return 0;
}

static void parse_tflags(struct sa_rule *r)
{
	const char *p = r->tflags_str;
	r->tflags = 0;
	r->maxhits = 0;
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *s = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		size_t l = (size_t)(p - s);
		if (l == 4 && strncmp(s, "nice", 4) == 0)
			r->tflags |= SA_TF_NICE;
		else if (l == 8 && strncmp(s, "multiple", 8) == 0)
			r->tflags |= SA_TF_MULTIPLE;
		else if (l == 3 && strncmp(s, "net", 3) == 0)
			r->tflags |= SA_TF_NET;
		else if (l == 5 && strncmp(s, "learn", 5) == 0)
			r->tflags |= SA_TF_LEARN;
		else if (l == 9 && strncmp(s, "nosubject", 9) == 0)
			r->tflags |= SA_TF_NOSUBJECT;
		else if (l == 8 && strncmp(s, "userconf", 8) == 0)
			r->tflags |= SA_TF_USERCONF;
		else if (l > 8 && strncmp(s, "maxhits=", 8) == 0)
			r->maxhits = (unsigned)strtoul(s + 8, NULL, 10);
	}
}

/* rules_matching(GLOB) -> ( R1+R2+... ) over every rule but self. */
static char *expand_rules_matching(struct sa_engine *e, const struct sa_rule *self,
				   const char *expr)
{
	struct buf b;
	const char *p = expr;
	buf_init_pool(&b, e->pool, 0);
	for (;;) {
		const char *f = strstr(p, "rules_matching(");
		if (f == NULL || (f > expr && (f[-1] == '_' || (f[-1] >= 'a' && f[-1] <= 'z') ||
					       (f[-1] >= 'A' && f[-1] <= 'Z') || (f[-1] >= '0' && f[-1] <= '9')))) {
			break;
		}
		const char *c = strchr(f, ')');
		if (c == NULL)
			break;
		char *glob = pool_strndup(e->pool, f + 15, (size_t)(c - f - 15));
		str_trim(glob);
		buf_append(&b, p, (size_t)(f - p));
		/* sorted names, as SpamAssassin joins them */
		char **names = NULL;
		size_t n = 0;
		for (size_t i = 0; i < e->n_rules; i++) {
			const struct sa_rule *r = e->rules[i];
			if (r == self || !sa_glob_match(glob, r->name))
				continue;
			names = pool_realloc(e->pool, names, sizeof(char *) * n, sizeof(char *) * (n + 1));
			names[n++] = (char *)r->name;
		}
		if (n > 0)
			qsort(names, n, sizeof(char *), cmp_str);
		buf_append_str(&b, " (");
		if (n == 0)
			buf_append_str(&b, "0");
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				buf_append_c(&b, '+');
			buf_append_str(&b, names[i]);
		}
		buf_append_str(&b, ") ");
		p = c + 1;
	}
	buf_append_str(&b, p);
	return (char *)buf_cstr(&b);
}

struct resolve_ctx {
	struct sa_engine *e;
	struct sa_rule *r;
	unsigned *deps;
	unsigned n_deps;
};

static void resolve_name(void *ctx, const char *name, unsigned *slot)
{
	struct resolve_ctx *rc = ctx;
	struct sa_rule *d = sa_rule_get(rc->e, name);
	*slot = d != NULL ? d->idx : ~0u;
	if (d != NULL) {
		rc->deps = pool_realloc(rc->e->pool, rc->deps, sizeof(unsigned) * rc->n_deps,
					sizeof(unsigned) * (rc->n_deps + 1));
		rc->deps[rc->n_deps++] = d->idx;
	}
}

static void add_unsupported(struct sa_engine *e, struct hash *groups,
			    const char *what, const char *why, const char *rule)
{
	struct sa_unsupported *u = hash_get_str(groups, what);
	if (u == NULL) {
		e->unsupported = pool_realloc(e->pool, e->unsupported,
					      sizeof(*e->unsupported) * e->n_unsupported,
					      sizeof(*e->unsupported) * (e->n_unsupported + 1));
		u = &e->unsupported[e->n_unsupported++];
		memset(u, 0, sizeof(*u));
		u->what = pool_strdup(e->pool, what);
		u->why = why;
		/* pointers move on realloc: index by position */
		hash_put(groups, what, strlen(what), (void *)(uintptr_t)e->n_unsupported);
	} else {
		u = &e->unsupported[(uintptr_t)u - 1];
	}
	const char **rules = (const char **)u->rules;
	rules = pool_realloc(e->pool, rules, sizeof(char *) * u->n_rules,
			     sizeof(char *) * (u->n_rules + 1));
	rules[u->n_rules++] = rule;
	u->rules = rules;
}

static int hreq_slot(struct sa_engine *e, const struct sa_rule *r, const char *name,
		     unsigned mods)
{
	for (size_t i = 0; i < e->n_hreqs; i++)
		if (e->hreqs[i].mods == mods && strcmp(e->hreqs[i].name, name) == 0)
			return (int)i;
	if (e->n_hreqs == e->cap_hreqs) {
		size_t nc = e->cap_hreqs ? e->cap_hreqs * 2 : 64;
		e->hreqs = pool_realloc(e->pool, e->hreqs, sizeof(*e->hreqs) * e->cap_hreqs,
					sizeof(*e->hreqs) * nc);
		e->cap_hreqs = nc;
	}
	struct sa_hreq *h = &e->hreqs[e->n_hreqs];
	memset(h, 0, sizeof(*h));
	h->name = name;
	h->mods = mods;
	static const char *const mod_names[] = {
		"raw", "addr", "name", "host", "domain", "ip", "revip", "first", "last",
	};
	struct buf b;
	buf_init_pool(&b, e->pool, 0);
	buf_append_str(&b, name);
	for (unsigned i = 0; i < N_ELEMENTS(mod_names); i++)
		if (mods & (1u << i)) {
			buf_append_c(&b, ':');
			buf_append_str(&b, mod_names[i]);
		}
	h->req = buf_cstr(&b);
	(void)r;
	return (int)e->n_hreqs++;
}

static void run_add(struct sa_engine *e, enum sa_type t, unsigned idx)
{
	e->run[t] = pool_realloc(e->pool, e->run[t], sizeof(unsigned) * e->n_run[t],
				 sizeof(unsigned) * (e->n_run[t] + 1));
	e->run[t][e->n_run[t]++] = idx;
}

/* Depth-first order of metas; cycles are excluded like SpamAssassin's
   "unsolved meta dependencies". */
static bool meta_visit(struct sa_engine *e, unsigned idx, uint8_t *state)
{
	struct sa_rule *r = e->rules[idx];
	if (state[idx] == 2)
		return true;
	/* on the path (a cycle), or excluded already: walking an excluded
	   meta again would only fail again, at quadratic cost */
	if (state[idx] == 1 || state[idx] == 3)
		return false;
	state[idx] = 1;
	for (unsigned i = 0; i < r->n_deps; i++) {
		struct sa_rule *d = e->rules[r->deps[i]];
		if (d->type == SA_T_META && d->enabled && !meta_visit(e, d->idx, state)) {
			state[idx] = 3;
			return false;
		}
	}
	state[idx] = 2;
	e->metas[e->n_metas++] = idx;
	return true;
}

/* A table of literals per header request with enough rules that look
   for literals in it: one scan of the value instead of a memmem per
   literal per rule (Subject alone has some hundred such rules). */
static void build_header_prefilters(struct sa_engine *e)
{
	size_t n = e->n_run[SA_T_HEADER];
	if (n == 0 || e->n_hreqs == 0)
		return;
	unsigned *count = xcalloc(e->n_hreqs, sizeof(unsigned));
	unsigned *rules = xmalloc(sizeof(unsigned) * n);
	for (size_t i = 0; i < n; i++) {
		const struct sa_rule *r = e->rules[e->run[SA_T_HEADER][i]];
		if (!r->exists && r->re.n_lits > 0)
			count[r->hslot]++;
	}
	e->pf_header = xcalloc(e->n_hreqs, sizeof(*e->pf_header));
	for (size_t slot = 0; slot < e->n_hreqs; slot++) {
		if (count[slot] < SA_HEADER_PF_MIN)
			continue;
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			const struct sa_rule *r = e->rules[e->run[SA_T_HEADER][i]];
			if (!r->exists && r->re.n_lits > 0 && (size_t)r->hslot == slot)
				rules[k++] = r->idx;
		}
		e->pf_header[slot] = sa_prefilter_build(e, rules, k, SA_PF_ALL);
	}
	free(rules);
	free(count);
}

static void finish(struct sa_engine *e)
{
	struct hash *groups = hash_create(64);

	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		double *sc = hash_get_str(e->scores, r->name);
		r->tflags_str = hash_get_str(e->tflags, r->name);
		parse_tflags(r);
		r->describe = hash_get_str(e->describes, r->name);
		int *pr = hash_get_str(e->priorities, r->name);
		r->priority = pr != NULL ? *pr : 0;
		if (sc != NULL) {
			r->score = *sc;
			r->has_score = true;
		} else {
			r->score = strncmp(r->name, "T_", 2) == 0 ? 0.01 : 1.0;
			if (r->tflags & SA_TF_NICE)
				r->score = -r->score;
		}
		/* ReplaceTags */
		if (r->re.code != NULL && hash_get_str(e->replace_rules, r->name) != NULL &&
		    r->type != SA_T_URI_DETAIL) {
			char *np = sa_replace_tags(e, e->pool, r->re.pat);
			if (strcmp(np, r->re.pat) != 0) {
				struct sa_re nre;
				const char *err;
				int rc = sa_re_compile(e->pool, np, r->re.mods, &nre, &err);
				if (rc < 0 && strstr(err, "too large") != NULL) {
					char *inl = np;
					np = sa_replace_tags_define(e, e->pool, r->re.pat);
					rc = sa_re_compile(e->pool, np, r->re.mods, &nre, &err);
					/* the literals of the inlined form still hold */
					if (rc == 0) {
						bool x = strchr(r->re.mods, 'x') != NULL;
						sa_re_literals(e->pool, x ? pool_printf(e->pool, "(?x)%s", inl) : inl,
							       true, &nre);
					}
				}
				if (rc < 0) {
					e->cur_file = r->file;
					sa_rule_warn(e, r, "regexp failed after replace_tags: %s", err);
				} else {
					sa_re_free(&r->re);
					r->re = nre;
				}
			}
		}
	}

	/* metas */
	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		if (r->type != SA_T_META)
			continue;
		const char *err;
		const char *expr = strstr(r->text, "rules_matching(") != NULL ?
				   expand_rules_matching(e, r, r->text) : r->text;
		r->meta = sa_meta_parse(e, r, expr, &err);
		if (r->meta == NULL) {
			sa_rule_warn(e, r, "invalid expression: %s", err);
			r->broken = true;
			continue;
		}
		struct resolve_ctx rc = { .e = e, .r = r };
		sa_meta_names(r->meta, resolve_name, &rc);
		r->deps = rc.deps;
		r->n_deps = rc.n_deps;
	}

	/* evals */
	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		if (r->type < SA_T_EVAL_HEAD || r->type > SA_T_EVAL_RBL)
			continue;
		const char *paren = strchr(r->text, '(');
		r->eval.name = pool_strndup(e->pool, r->text, (size_t)(paren - r->text));
		const char *args = paren + 1;
		size_t al = strlen(args);
		char *a = pool_strndup(e->pool, args, al > 0 ? al - 1 : 0);
		if (eval_args(e->pool, a, &r->eval.args, &r->eval.n_args) < 0) {
			sa_rule_warn(e, r, "syntax error for eval function: %s", r->text);
			r->broken = true;
			continue;
		}
		r->eval.fn = sa_eval_lookup(r->eval.name);
	}

	/* what can hit */
	size_t n_active = 0;
	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		r->enabled = false;
		if (r->broken) {
			r->off_why = "does not compile";
			continue;
		}
		if (r->score == 0.0) {
			r->off_why = "score 0";
			continue;
		}
		switch (r->type) {
		case SA_T_EMPTY:
			r->off_why = "no definition";
			continue;
		case SA_T_NETWORK:
			r->off_why = "network";
			add_unsupported(e, groups, pool_printf(e->pool, "rule type %s", r->hdr),
					"network", r->name);
			continue;
		case SA_T_EVAL_HEAD:
		case SA_T_EVAL_BODY:
		case SA_T_EVAL_RAWBODY:
		case SA_T_EVAL_FULL:
		case SA_T_EVAL_RBL: {
			if ((r->tflags & SA_TF_NET) || r->type == SA_T_EVAL_RBL) {
				r->off_why = "network";
				add_unsupported(e, groups, pool_printf(e->pool, "eval:%s", r->eval.name),
						"network", r->name);
				continue;
			}
			if (r->tflags & SA_TF_LEARN) {
				r->off_why = "Bayes";
				add_unsupported(e, groups, pool_printf(e->pool, "eval:%s", r->eval.name),
						"Bayes", r->name);
				continue;
			}
			if (r->eval.fn < 0 || sa_evals[r->eval.fn].fn == NULL) {
				const char *why = r->eval.fn < 0 ? "not implemented" :
						  sa_evals[r->eval.fn].why;
				r->off_why = why;
				add_unsupported(e, groups, pool_printf(e->pool, "eval:%s", r->eval.name),
						why, r->name);
				continue;
			}
			const struct sa_eval_def *d = &sa_evals[r->eval.fn];
			const char *err = NULL;
			if (d->prep != NULL && d->prep(e, r, &r->eval, &err) < 0) {
				sa_rule_warn(e, r, "eval %s: %s", r->eval.name, err ? err : "bad arguments");
				r->off_why = "bad eval arguments";
				continue;
			}
			break;
		}
		default:
			break;
		}
		r->enabled = true;
		n_active++;
	}

	/* run lists */
	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		if (!r->enabled)
			continue;
		if (r->re.code != NULL)
			(void)pcre2_jit_compile(r->re.code, PCRE2_JIT_COMPLETE);
		for (struct sa_uri_detail *d = r->ud; d != NULL; d = d->next)
			(void)pcre2_jit_compile(d->re.code, PCRE2_JIT_COMPLETE);
		if (r->type == SA_T_HEADER) {
			unsigned mods = r->hmods;
			const char *name = r->hdr;
			if (r->exists) {
				mods = 0;
			}
			r->hslot = hreq_slot(e, r, name, mods);
		}
		if (r->type != SA_T_META)
			run_add(e, r->type, r->idx);
	}
	e->metas = pool_alloc(e->pool, sizeof(unsigned) * (e->n_rules + 1));
	uint8_t *state = xcalloc(e->n_rules + 1, 1);
	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		if (r->type == SA_T_META && r->enabled && !meta_visit(e, r->idx, state)) {
			e->cur_file = r->file;
			sa_rule_warn(e, r, "excluded: unsolved meta dependencies (a cycle)");
		}
	}
	free(state);
	/* Body and rawbody sub-rules (never reported, worth 0 or 1; header
	   ones are cheap, and deferring them measured slower) wait until a
	   reported rule needs them: a scan settles the metas over ranges
	   first, and runs only those a reported outcome depends on. */
	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		r->defer = (r->type == SA_T_BODY || r->type == SA_T_RAWBODY) &&
			   strncmp(r->name, "__", 2) == 0 && !(r->tflags & SA_TF_MULTIPLE);
		/* a regex's size stands for its cost: the obfuscation-aware
		   and form-field rules run to kilobytes and cost up to a
		   hundred times more per byte than a plain one */
		size_t size = r->re.src != NULL ? strlen(r->re.src) : 0;
		r->defer_tier = size < 300 ? 0 : size < 1500 ? 1 : 2;
	}
	for (size_t i = 0; i < e->n_metas; i++) {
		struct sa_rule *r = e->rules[e->metas[i]];
		for (unsigned k = 0; k < r->n_deps && !r->may_defer; k++) {
			const struct sa_rule *d = e->rules[r->deps[k]];
			r->may_defer = d->defer || d->may_defer;
		}
	}
	/* each step's zero: what the meta is worth when nothing it names hit
	   (most metas, on most messages), which a scan does not evaluate */
	double *zeros = xcalloc(e->n_rules + 1, sizeof(double));
	e->steps = pool_alloc(e->pool, sizeof(*e->steps) * (e->n_metas + 1));
	size_t n_steps = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < e->n_metas; i++) {
			const struct sa_rule *r = e->rules[e->metas[i]];
			if (r->may_defer != (pass == 1))
				continue;
			struct sa_meta_step *st = &e->steps[n_steps++];
			st->meta = r->meta;
			st->deps = r->deps;
			st->n_deps = r->n_deps;
			st->idx = r->idx;
			st->zero = sa_meta_eval(r->meta, zeros);
			st->reported = strncmp(r->name, "__", 2) != 0;
		}
		if (pass == 0)
			e->n_fixed = n_steps;
	}
	free(zeros);
	e->n_active = n_active;

	/* FreeMail's address pattern ends in a known TLD */
	if (hash_count(e->freemail) > 0 || e->n_freemail_globs > 0) {
		char *p = pool_printf(e->pool,
			"(?=.{0,64}\\@)(?<![a-z0-9!#\\$%%&'*+\\/=?^_`{|}~-])"
			"([a-z0-9!#\\$%%&'*+\\/=?^_`{|}~-]+(?:\\.[a-z0-9!#\\$%%&'*+\\/=?^_`{|}~-]+)*\\@"
			"(?:[a-z0-9](?:[a-z0-9-]{0,59}[a-z0-9])?\\.){1,4}%s)", sa_tlds_re(e, e->pool));
		e->email_re = sa_re_internal(p, PCRE2_CASELESS);
	}
	/* a scan uses a prefilter only when its kind has rules to run (and
	   run[] is NULL when it has none) */
	static const enum sa_type pf_types[] = { SA_T_BODY, SA_T_RAWBODY, SA_T_FULL, SA_T_URI };
	struct sa_prefilter **pfs[] = { &e->pf_body, &e->pf_rawbody, &e->pf_full, &e->pf_uri };
	for (size_t i = 0; i < N_ELEMENTS(pf_types); i++)
		if (e->n_run[pf_types[i]] > 0)
			*pfs[i] = sa_prefilter_build(e, e->run[pf_types[i]], e->n_run[pf_types[i]],
						     pf_types[i] == SA_T_BODY ? SA_PF_MAIN : SA_PF_ALL);
	/* body lines are mostly ASCII: rules whose literals hold only
	   there, in the line or in its skeleton, get a prefilter of their
	   own for those lines */
	if (e->n_run[SA_T_BODY] > 0) {
		e->pf_body_ascii = sa_prefilter_build(e, e->run[SA_T_BODY], e->n_run[SA_T_BODY],
						      SA_PF_ASCII);
		e->pf_body_skel = sa_prefilter_build(e, e->run[SA_T_BODY], e->n_run[SA_T_BODY],
						     SA_PF_SKEL);
	}
	build_header_prefilters(e);
	hash_destroy(&groups);
}

/* The parsers of Received lines, addresses and the evals compile their
 * own regexes on first use (some 20 ms together); one scan of a small
 * message that reaches them moves that cost to load time, so that the
 * first message of a worker is not the slowest. */
static void warm_up(const struct sa_engine *e)
{
	static const char msg[] =
		"Received: from mail.example.org (mail.example.org [192.0.2.1])\r\n"
		"\tby mx.example.net (Postfix) with ESMTPS id 4A1B2C3D4E\r\n"
		"\tfor <a@example.net>; Thu, 26 Nov 2026 10:00:00 +0000\r\n"
		"From: \"A Sender\" <sender@example.org>\r\nTo: a@example.net\r\n"
		"Reply-To: other@example.com\r\nSubject: warm up\r\n"
		"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n"
		"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
		"<html><body><p>Hello <a href=\"http://www.example.com/x\">there</a></p></body></html>\r\n";
	struct pool *pool = pool_create("sa warm-up", 16384);
	struct sa_result r;
	(void)sa_engine_scan(e, pool, msg, sizeof(msg) - 1, NULL, false, &r);
	pool_destroy(&pool);
}

struct sa_engine *sa_engine_load(const char *sa_dir, const char *local_dir,
				 const char *const *plugins, sa_warn_fn *warn_fn,
				 void *ctx, const char **error_r)
{
	struct pool *pool = pool_create("sa-engine", 1024 * 1024);
	struct sa_engine *e = pool_alloc(pool, sizeof(*e));
	size_t nfiles = 0, nlocal = 0;

	e->pool = pool;
	e->warn_fn = warn_fn;
	e->warn_ctx = ctx;
	e->by_name = hash_create(4096);
	e->scores = hash_create(4096);
	e->describes = hash_create(4096);
	e->tflags = hash_create(1024);
	e->priorities = hash_create(64);
	e->replace_tag = hash_create(64);
	e->replace_pre = hash_create(16);
	e->replace_post = hash_create(16);
	e->replace_inter = hash_create(16);
	e->replace_rules = hash_create(256);
	e->tlds = hash_create(2048);
	e->tlds2 = hash_create(2048);
	e->tlds3 = hash_create(256);
	e->freemail = hash_create(1024);
	e->freemail_welcome = hash_create(16);
	e->url_shorteners = hash_create(512);
	e->enlist_uri_host = hash_create(16);
	e->plugins = hash_create(64);
	str_copy(e->replace_start, "<", sizeof(e->replace_start));
	str_copy(e->replace_end, ">", sizeof(e->replace_end));
	if (plugins == NULL)
		plugins = sa_default_plugins;
	for (size_t i = 0; plugins[i] != NULL; i++) {
		const char *p = plugins[i];
		if (strncmp(p, "Mail::SpamAssassin::Plugin::", 28) == 0)
			p += 28;
		hash_put(e->plugins, p, strlen(p), (void *)1);
	}

	int rc = load_dir(e, sa_dir, &nfiles);
	if (rc < 0 || nfiles == 0) {
		/* errno means something only when the folder did not open */
		static __thread char err[512];
		snprintf(err, sizeof(err), "cannot read rules from %s: %s", sa_dir,
			 rc < 0 ? strerror(errno) : "no .cf file");
		*error_r = err;
		sa_engine_free(&e);
		return NULL;
	}
	if (local_dir != NULL && local_dir[0] != '\0')
		(void)load_dir(e, local_dir, &nlocal); /* a missing folder is fine */
	finish(e);
	warm_up(e);
	return e;
}

static void free_hash_of_hashes(struct hash *h)
{
	size_t it = 0;
	const void *k;
	size_t kl;
	void *v;
	while (hash_iter(h, &it, &k, &kl, &v)) {
		struct hash *inner = v;
		hash_destroy(&inner);
	}
}

void sa_engine_free(struct sa_engine **ep)
{
	struct sa_engine *e = *ep;
	if (e == NULL)
		return;
	*ep = NULL;
	for (size_t i = 0; i < e->n_rules; i++) {
		struct sa_rule *r = e->rules[i];
		sa_re_free(&r->re);
		for (struct sa_uri_detail *d = r->ud; d != NULL; d = d->next)
			sa_re_free(&d->re);
		/* what an eval's prep compiled: a struct sa_re, for every eval
		   that keeps data (the regex arguments) */
		if (r->type >= SA_T_EVAL_HEAD && r->type <= SA_T_EVAL_RBL && r->eval.data != NULL)
			sa_re_free(r->eval.data);
	}
	for (size_t i = 0; i < e->n_redirectors; i++)
		pcre2_code_free(e->redirectors[i]);
	if (e->email_re != NULL)
		pcre2_code_free(e->email_re);
	sa_prefilter_free(&e->pf_body);
	sa_prefilter_free(&e->pf_body_ascii);
	sa_prefilter_free(&e->pf_body_skel);
	if (e->pf_header != NULL)
		for (size_t i = 0; i < e->n_hreqs; i++)
			sa_prefilter_free(&e->pf_header[i]);
	free(e->pf_header);
	sa_prefilter_free(&e->pf_rawbody);
	sa_prefilter_free(&e->pf_full);
	sa_prefilter_free(&e->pf_uri);
	if (e->enlist_uri_host != NULL)
		free_hash_of_hashes(e->enlist_uri_host);
	struct hash **hs[] = {
		&e->by_name, &e->scores, &e->describes, &e->tflags, &e->priorities,
		&e->replace_tag, &e->replace_pre, &e->replace_post, &e->replace_inter,
		&e->replace_rules, &e->tlds, &e->tlds2, &e->tlds3, &e->freemail,
		&e->freemail_welcome, &e->url_shorteners, &e->enlist_uri_host, &e->plugins,
	};
	for (size_t i = 0; i < N_ELEMENTS(hs); i++)
		if (*hs[i] != NULL)
			hash_destroy(hs[i]);
	struct pool *pool = e->pool;
	pool_destroy(&pool);
}

size_t sa_engine_rule_count(const struct sa_engine *e)
{
	return e->n_rules;
}

size_t sa_engine_active_count(const struct sa_engine *e)
{
	return e->n_active;
}

size_t sa_engine_unsupported(const struct sa_engine *e,
			     const struct sa_unsupported **list_r)
{
	*list_r = e->unsupported;
	return e->n_unsupported;
}
